//! Ranking things best first, through one sort. A leaf module, like `rng`: the models (sampling,
//! candidate lists, beam search, question-answering spans) and the tokenizer (SentencePiece's
//! user-defined pieces) use it.
//!
//! A ranking sorts packed `u64` keys ([`key_desc`]): the score's rank, inverted, in the high 32
//! bits and a tie-breaker in the low 32 bits. The tie-breaker is the item's position when the
//! ranking must keep the order of equal scores (what a stable sort keeps), or a token id. Plain
//! integers compile the standard library's sort and selection once for every ranking, where each
//! `sort_by` closure compiled its own copy of the stable sort (about 3.5 KB of wasm each), and they
//! sort faster: a comparison reads nothing but the two keys.

/// `x`'s place in [`f32::total_cmp`]'s order: `f32_rank(a).cmp(&f32_rank(b)) == a.total_cmp(&b)`
/// (so -0.0 ranks just below 0.0, and a NaN with its sign bit set below -inf, one without above +inf).
pub fn f32_rank(x: f32) -> u32 {
    let bits = x.to_bits();
    // Negative numbers count down as their magnitude grows; non-negative ones sit above them all.
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

/// [`f32_rank`] for scores a corrupt checkpoint may have made NaN: a NaN ranks with -inf, last, so
/// it still has a place and never outranks a number.
pub fn score_rank(x: f32) -> u32 {
    f32_rank(if x.is_nan() { f32::NEG_INFINITY } else { x })
}

/// The key of an item of rank `rank`, whose equals are ordered by `tie`: ascending keys put the
/// highest rank first, and among equal ranks the smallest `tie`.
pub fn key_desc(rank: u32, tie: u32) -> u64 {
    (u64::from(!rank) << 32) | u64::from(tie)
}

/// The tie-breaker a key was made with (the item's position or id).
pub fn tie(key: u64) -> u32 {
    key as u32
}

/// Sort `keys` best first.
pub fn sort(keys: &mut [u64]) {
    keys.sort_unstable();
}

/// Sort `ids` ascending, through the same integer sort: a sort of `u32`s would compile a second
/// copy of it (about 4.5 KB of wasm) for lists of ids that are never long.
pub fn sort_ids(ids: &mut [u32]) {
    let mut wide: Vec<u64> = ids.iter().map(|&id| u64::from(id)).collect();
    wide.sort_unstable();
    ids.iter_mut().zip(wide).for_each(|(id, w)| *id = w as u32);
}

/// Keep the best `n` of `keys` (all of them when there are fewer), sorted best first. Keys are
/// distinct when their tie-breakers are, so this is exactly the first `n` of [`sort`]'s order.
pub fn keep_best(keys: &mut Vec<u64>, n: usize) {
    if n == 0 {
        keys.clear();
    } else if n < keys.len() {
        keys.select_nth_unstable(n - 1);
        keys.truncate(n);
    }
    keys.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_rank_orders_as_total_cmp() {
        let xs = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            1.0,
            -1.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-45,
            -1e-45,
            f32::MAX,
            f32::MIN,
            3.5,
            -3.5,
            f32::from_bits(0x7fff_ffff),
            f32::from_bits(0xffff_ffff),
        ];
        for a in xs {
            for b in xs {
                assert_eq!(f32_rank(a).cmp(&f32_rank(b)), a.total_cmp(&b), "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn sort_ids_sorts() {
        let mut ids = vec![7, u32::MAX, 0, 3, 7, 1 << 31];
        sort_ids(&mut ids);
        assert_eq!(ids, vec![0, 3, 7, 7, 1 << 31, u32::MAX]);
    }

    #[test]
    fn keys_sort_as_a_stable_descending_sort() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for n in 0..60usize {
            let scores: Vec<f32> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 7) as f32 - 3.0
                })
                .collect();
            let mut expected: Vec<usize> = (0..n).collect();
            expected.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
            let keys: Vec<u64> = scores.iter().enumerate().map(|(i, &s)| key_desc(f32_rank(s), i as u32)).collect();
            let mut all = keys.clone();
            sort(&mut all);
            assert_eq!(all.iter().map(|&k| tie(k) as usize).collect::<Vec<_>>(), expected);
            for best in [0, 1, 3, n / 2, n, n + 2] {
                let mut some = keys.clone();
                keep_best(&mut some, best);
                assert_eq!(some, all[..best.min(n)], "the best {best} of {n}");
            }
        }
    }
}

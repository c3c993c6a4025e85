//! Which heads do something recognisable: a score per layer and head for the attention patterns
//! interpretability work looks for first.
//!
//! Every score is a mean attention mass in [0, 1]: for each query row the weight the head puts on
//! the keys the pattern names, averaged over the rows where the pattern is defined. A pattern that
//! no row defines (no repeated token, a self-attention pattern asked of cross-attention, the next
//! token behind a causal mask) has no score (`None`), never a made-up 0.
//!
//! - [`Pattern::PreviousToken`]: weight on key `i - 1` from query `i` (self-attention, rows `i >= 1`).
//! - [`Pattern::NextToken`]: weight on key `i + 1` from query `i` (rows `i < T - 1`), for
//!   self-attention that can see later tokens: an encoder's. A decoder's causal mask hides key
//!   `i + 1` from query `i`, so there the weight is 0 by construction, not a choice the head made,
//!   and the pattern has no score. Bidirectional encoders often have such heads: Clark et al. (2019)
//!   found heads in BERT-base, mostly in its early layers, that attend heavily to the next token, as
//!   others do to the previous one.
//! - [`Pattern::FirstToken`]: weight on key 0, the first token, which many heads use as a "sink"
//!   when they have nothing to do (decoders above all: Xiao et al., 2023; BERT's heads park much of
//!   theirs on `[SEP]` and punctuation instead, Clark et al., 2019, which this score does not count)
//!   (self-attention: rows `i >= 1`, since a causal row 0 can only see key 0; cross-attention: every row).
//! - [`Pattern::SameToken`]: weight on earlier keys `j < i` holding the same token id as query `i`
//!   (rows whose token occurred before).
//! - [`Pattern::Induction`]: where the text repeats, weight on the key just after an earlier
//!   occurrence of query `i`'s token (keys `j + 1` with `ids[j] = ids[i]`, `j + 1 < i`): the head
//!   that lets a model continue a repeated sequence. Defined only on rows that have such an earlier
//!   occurrence.
//!
//! These two are scored only when at least [`MIN_REPEAT_ROWS`] rows define them: a sentence that says
//! "the" twice gives one such row, and a head that happens to look from the second "the" at the word
//! after the first is an anecdote, not a pattern (a translator's encoder head once read as an
//! "induction head" that way, from one cell of a map whose rows all looked at the same column).
//! - [`Pattern::Diagonal`]: cross-attention only, at least 2 queries: weight within
//!   `max(1, Tk/(2·Tq))` keys of the length-scaled diagonal (query `i` of `Tq` at key position
//!   `(i + 0.5)·Tk/Tq - 0.5`), how a translator aligns source and target words that come in the
//!   same order.
//!
//! Beside the scores, [`PatternScores::chance`] is each pattern's score for uniform attention of the
//! same shape and mask (1/n over the visible keys): a head is interesting when it beats chance,
//! and [`PatternScores::best_head`] picks the head that beats it by most (first-token sinks aside).

use crate::error::{Error, Result};

/// The patterns scored, in the order of [`PatternScores::scores`]' last axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    PreviousToken,
    NextToken,
    FirstToken,
    SameToken,
    Induction,
    Diagonal,
}

impl Pattern {
    pub const ALL: [Pattern; 6] = [Pattern::PreviousToken, Pattern::NextToken, Pattern::FirstToken, Pattern::SameToken, Pattern::Induction, Pattern::Diagonal];

    /// The name the CLI and the JS API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::PreviousToken => "previous-token",
            Pattern::NextToken => "next-token",
            Pattern::FirstToken => "first-token",
            Pattern::SameToken => "same-token",
            Pattern::Induction => "induction",
            Pattern::Diagonal => "diagonal",
        }
    }
}

/// How the maps were made: self-attention (keys are the queries' own tokens; `causal` when a
/// decoder's mask hides later keys) or cross-attention (queries: decoder tokens, keys: encoder's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    SelfAttention { causal: bool },
    Cross,
}

/// Scores of every head: `scores[(l * n_heads + h) * P + p]` for pattern `Pattern::ALL[p]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternScores {
    pub n_layers: usize,
    pub n_heads: usize,
    /// `[L][H][P]`
    pub scores: Vec<Option<f32>>,
    /// `[P]`: the score of uniform attention over the visible keys.
    pub chance: Vec<Option<f32>>,
}

/// The head [`PatternScores::best_head`] picks and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BestHead {
    pub layer: usize,
    pub head: usize,
    pub pattern: Pattern,
    pub score: f32,
    pub chance: f32,
}

impl PatternScores {
    pub fn get(&self, layer: usize, head: usize, pattern: Pattern) -> Option<f32> {
        let p = Pattern::ALL.iter().position(|&x| x == pattern)?;
        self.scores.get((layer * self.n_heads + head) * Pattern::ALL.len() + p).copied().flatten()
    }

    /// The head whose score beats chance by most, over every pattern except the first-token sink
    /// (a sink is what a head does when it has nothing to do, so it is the least telling). `None`
    /// when no head beats chance on any of them.
    pub fn best_head(&self) -> Option<BestHead> {
        let mut best: Option<(f32, BestHead)> = None;
        for layer in 0..self.n_layers {
            for head in 0..self.n_heads {
                for (p, &pattern) in Pattern::ALL.iter().enumerate() {
                    if pattern == Pattern::FirstToken {
                        continue;
                    }
                    let (Some(score), Some(chance)) = (self.scores[(layer * self.n_heads + head) * Pattern::ALL.len() + p], self.chance[p]) else {
                        continue;
                    };
                    let lift = score - chance;
                    if lift > 0.0 && best.is_none_or(|(b, _)| lift > b) {
                        best = Some((lift, BestHead { layer, head, pattern, score, chance }));
                    }
                }
            }
        }
        best.map(|(_, b)| b)
    }
}

/// Score every layer and head of `maps: [L][H][Tq][Tk]`. `query_ids` (`Tq`) and `key_ids` (`Tk`)
/// are the token ids of the rows and columns (the same ids twice for self-attention).
pub fn score_heads(maps: &[f32], shape: [usize; 4], kind: MapKind, query_ids: &[u32], key_ids: &[u32]) -> Result<PatternScores> {
    let [n_layers, n_heads, q_len, k_len] = shape;
    check_shape(maps.len(), shape)?;
    if query_ids.len() != q_len || key_ids.len() != k_len {
        return Err(Error::input(
            format!("the maps are {q_len} x {k_len} but {} query ids and {} key ids were given", query_ids.len(), key_ids.len()),
            "Pass one id per row (queries) and per column (keys)",
        ));
    }
    if let MapKind::SelfAttention { .. } = kind {
        if q_len != k_len {
            return Err(Error::input(format!("self-attention maps must be square, not {q_len} x {k_len}"), "Pass kind cross for cross-attention maps"));
        }
    }
    let block = q_len * k_len;
    let mut scores = Vec::with_capacity(n_layers * n_heads * Pattern::ALL.len());
    for map in maps.chunks_exact(block.max(1)).take(n_layers * n_heads) {
        scores.extend(Pattern::ALL.iter().map(|&p| score_map(map, q_len, k_len, kind, query_ids, key_ids, p)));
    }
    let uniform = uniform_map(q_len, k_len, kind);
    let chance = Pattern::ALL.iter().map(|&p| score_map(&uniform, q_len, k_len, kind, query_ids, key_ids, p)).collect();
    Ok(PatternScores { n_layers, n_heads, scores, chance })
}

pub(crate) fn check_shape(len: usize, shape: [usize; 4]) -> Result<()> {
    let want = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if want != Some(len) {
        return Err(Error::input(
            format!("the attention maps hold {len} values but their shape {shape:?} needs {}", want.map_or("more than fits in memory".into(), |n| n.to_string())),
            "Pass the tensor's data with its own shape [layers, heads, queries, keys]",
        ));
    }
    Ok(())
}

/// The fewest rows a repeat pattern (same token, induction) is averaged over before it gets a score.
pub const MIN_REPEAT_ROWS: usize = 3;

/// Uniform attention over the keys each query may see: `[Tq][Tk]`.
fn uniform_map(q_len: usize, k_len: usize, kind: MapKind) -> Vec<f32> {
    let mut map = vec![0.0; q_len * k_len];
    for i in 0..q_len {
        let visible = match kind {
            MapKind::SelfAttention { causal: true } => (i + 1).min(k_len),
            _ => k_len,
        };
        for v in &mut map[i * k_len..i * k_len + visible] {
            *v = 1.0 / visible as f32;
        }
    }
    map
}

/// One head's score for one pattern (see the module docs for each definition).
fn score_map(map: &[f32], q_len: usize, k_len: usize, kind: MapKind, query_ids: &[u32], key_ids: &[u32], pattern: Pattern) -> Option<f32> {
    let is_self = matches!(kind, MapKind::SelfAttention { .. });
    let row = |i: usize| &map[i * k_len..(i + 1) * k_len];
    let (mut total, mut rows) = (0.0f64, 0usize);
    let mut add = |mass: f64| {
        total += mass;
        rows += 1;
    };
    match pattern {
        Pattern::PreviousToken if is_self => (1..q_len).for_each(|i| add(row(i)[i - 1] as f64)),
        Pattern::NextToken if kind == MapKind::SelfAttention { causal: false } => (0..q_len.saturating_sub(1)).for_each(|i| add(row(i)[i + 1] as f64)),
        Pattern::FirstToken if k_len > 0 => (if is_self { 1 } else { 0 }..q_len).for_each(|i| add(row(i)[0] as f64)),
        Pattern::SameToken if is_self => {
            for i in 1..q_len {
                let earlier: Vec<usize> = (0..i).filter(|&j| key_ids[j] == query_ids[i]).collect();
                if !earlier.is_empty() {
                    add(earlier.iter().map(|&j| row(i)[j] as f64).sum());
                }
            }
        }
        Pattern::Induction if is_self => {
            for i in 2..q_len {
                let targets: Vec<usize> = (0..i - 1).filter(|&j| key_ids[j] == query_ids[i]).map(|j| j + 1).collect();
                if !targets.is_empty() {
                    add(targets.iter().map(|&j| row(i)[j] as f64).sum());
                }
            }
        }
        Pattern::Diagonal if !is_self && q_len > 1 && k_len > 0 => {
            let ratio = k_len as f64 / q_len as f64;
            let width = (ratio / 2.0).max(1.0);
            for i in 0..q_len {
                let centre = (i as f64 + 0.5) * ratio - 0.5;
                add((0..k_len).filter(|&j| (j as f64 - centre).abs() <= width).map(|j| row(i)[j] as f64).sum());
            }
        }
        _ => {}
    }
    let needed = if matches!(pattern, Pattern::SameToken | Pattern::Induction) { MIN_REPEAT_ROWS } else { 1 };
    (rows >= needed).then(|| (total / rows as f64).clamp(0.0, 1.0) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One-hot rows: `targets[i]` is the key query `i` puts all its weight on (`[Tq][Tk]`).
    fn one_hot(targets: &[usize], k_len: usize) -> Vec<f32> {
        let mut map = vec![0.0; targets.len() * k_len];
        for (i, &j) in targets.iter().enumerate() {
            map[i * k_len + j] = 1.0;
        }
        map
    }

    #[test]
    fn next_token_scores_an_encoder_head_that_reads_ahead() {
        // Five tokens, no repeats. Head 0 reads the next token, the last row (which has none) itself;
        // head 1 reads the previous token, row 0 itself; head 2 is uniform.
        let ids = [5u32, 6, 7, 8, 9];
        let next = one_hot(&[1, 2, 3, 4, 4], 5);
        let previous = one_hot(&[0, 0, 1, 2, 3], 5);
        let maps = [next, previous, vec![0.2; 25]].concat();
        let s = score_heads(&maps, [1, 3, 5, 5], MapKind::SelfAttention { causal: false }, &ids, &ids).unwrap();
        // Rows 0..=3 have a next token; the last row does not count, so reading itself costs nothing.
        assert_eq!(s.get(0, 0, Pattern::NextToken), Some(1.0));
        assert_eq!(s.get(0, 0, Pattern::PreviousToken), Some(0.0));
        // The previous-token head is the mirror image: 0 on the next token, 1 on the previous one.
        assert_eq!(s.get(0, 1, Pattern::NextToken), Some(0.0));
        assert_eq!(s.get(0, 1, Pattern::PreviousToken), Some(1.0));
        // Uniform over the 5 visible keys puts 1/5 on the next one: chance is 1/5, as for the previous token.
        let p = Pattern::ALL.iter().position(|&x| x == Pattern::NextToken).unwrap();
        assert!((s.chance[p].unwrap() - 0.2).abs() < 1e-6, "{:?}", s.chance);
        assert!((s.get(0, 2, Pattern::NextToken).unwrap() - 0.2).abs() < 1e-6);
        // Both heads beat chance by 0.8; the first found wins the tie, and it is named for the next token.
        let best = s.best_head().unwrap();
        assert_eq!((best.layer, best.head, best.pattern), (0, 0, Pattern::NextToken), "{best:?}");
        assert_eq!(Pattern::NextToken.as_str(), "next-token");
    }

    #[test]
    fn next_token_does_not_apply_behind_a_causal_mask_or_across_attention() {
        // A decoder's previous-token head: its next-token weight is 0 because the mask forbids it, so
        // the pattern is not scored at all (neither the head nor uniform attention).
        let ids = [5u32, 6, 7, 8];
        let causal = score_heads(&one_hot(&[0, 0, 1, 2], 4), [1, 1, 4, 4], MapKind::SelfAttention { causal: true }, &ids, &ids).unwrap();
        assert_eq!(causal.get(0, 0, Pattern::NextToken), None);
        let p = Pattern::ALL.iter().position(|&x| x == Pattern::NextToken).unwrap();
        assert_eq!(causal.chance[p], None);
        assert_eq!(causal.best_head().map(|b| b.pattern), Some(Pattern::PreviousToken));
        // Cross-attention keys are other tokens: there is no "next" of a query among them.
        let cross = score_heads(&one_hot(&[1, 2], 4), [1, 1, 2, 4], MapKind::Cross, &[7, 8], &ids).unwrap();
        assert_eq!(cross.get(0, 0, Pattern::NextToken), None);
        // A one-token text has no row with a next token.
        let one = score_heads(&[1.0], [1, 1, 1, 1], MapKind::SelfAttention { causal: false }, &[5], &[5]).unwrap();
        assert_eq!(one.get(0, 0, Pattern::NextToken), None);
    }
}

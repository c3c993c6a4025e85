//! What a forward pass hands back from its LM head: every row of logits (`[T][V]`, the numbers
//! Hugging Face returns), or only each row's k likeliest tokens.
//!
//! The page asks for the second: its predictions show a few candidates per position. Worked out a
//! block of rows at a time, `[T][V]` never exists whole: for 1024 tokens and GPT-2's 50,257 entries
//! that is 206 MB, and wasm memory, once grown, never shrinks. Every LM head Glassbox runs works
//! row by row (a final transform, a matrix product, a bias), so a block's rows are the same
//! numbers as the same rows of the whole.

use ndarray::{s, Array2, ArrayView2};

use super::generation::top_candidates;

/// Which logits a forward pass keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogitRows {
    /// Every row, `Outputs::logits: [T][V]`.
    #[default]
    All,
    /// Only the `k` likeliest tokens of each row, `Outputs::top_k` (0: none at all).
    TopK(usize),
}

/// The `k` likeliest tokens of each of `rows` positions, most likely first, with their softmax
/// probability over the whole vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct TopK {
    pub k: usize,
    pub ids: Vec<u32>,   // [T][k]
    pub probs: Vec<f32>, // [T][k]
}

/// At most this many logits exist at once while the top-k are worked out (16 MB of f32).
const BLOCK_LOGITS: usize = 1 << 22;

/// Run `head` (`[n][C]` -> `[n][V]`) over `hidden: [T][C]` a block of rows at a time and keep each
/// row's `k` likeliest tokens. `None` when the model has no LM head. `vocab` sizes the blocks.
pub(crate) fn top_k_by_blocks(
    hidden: ArrayView2<'_, f32>,
    k: usize,
    vocab: usize,
    head: impl Fn(ArrayView2<'_, f32>) -> Option<Array2<f32>>,
) -> Option<TopK> {
    top_k_in_blocks(hidden, k.min(vocab.max(1)), (BLOCK_LOGITS / vocab.max(1)).max(1), head)
}

/// `top_k_by_blocks` with `block` rows per call of `head`.
fn top_k_in_blocks(
    hidden: ArrayView2<'_, f32>,
    k: usize,
    block: usize,
    head: impl Fn(ArrayView2<'_, f32>) -> Option<Array2<f32>>,
) -> Option<TopK> {
    let t = hidden.nrows();
    if t == 0 {
        return head(hidden).map(|_| TopK { k, ids: Vec::new(), probs: Vec::new() });
    }
    let mut k = k;
    let (mut ids, mut probs) = (Vec::new(), Vec::new()); // [T][k], k known once the head has run
    for start in (0..t).step_by(block) {
        let logits = head(hidden.slice(s![start..(start + block).min(t), ..]))?; // [n][V]
        k = k.min(logits.ncols());
        for row in logits.rows() {
            let owned;
            let row: &[f32] = match row.as_slice() {
                Some(contiguous) => contiguous,
                None => {
                    owned = row.to_vec();
                    &owned
                }
            };
            for (id, p) in top_candidates(row, k) {
                ids.push(id);
                probs.push(p);
            }
        }
    }
    Some(TopK { k, ids, probs })
}

/// Keep what `rows` asks for of a head's output over `hidden: [T][C]`:
/// `(logits [T][V], top_k)`.
pub(crate) fn keep(
    rows: LogitRows,
    hidden: ArrayView2<'_, f32>,
    vocab: usize,
    head: impl Fn(ArrayView2<'_, f32>) -> Option<Array2<f32>>,
) -> (Option<Vec<f32>>, Option<TopK>) {
    match rows {
        LogitRows::All => (head(hidden).map(super::activations::into_flat), None),
        LogitRows::TopK(0) => (None, None),
        LogitRows::TopK(k) => (None, top_k_by_blocks(hidden, k, vocab, head)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A row-wise head like a real one: `[n][C]` -> `[n][V]`, each output mixing the row's inputs.
    fn head(rows: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        let vocab = 37;
        Some(Array2::from_shape_fn((rows.nrows(), vocab), |(i, v)| {
            rows.row(i).iter().enumerate().map(|(c, x)| x * ((v * 7 + c * 3) % 11) as f32 - 0.1 * v as f32).sum()
        }))
    }

    #[test]
    fn blocks_of_any_size_give_the_whole_logits_top_k() {
        let hidden = Array2::from_shape_fn((23, 5), |(t, c)| ((t * 13 + c * 5) % 17) as f32 / 8.0 - 1.0);
        let whole = head(hidden.view()).unwrap();
        let mut want = TopK { k: 6, ids: Vec::new(), probs: Vec::new() };
        for row in whole.rows() {
            for (id, p) in top_candidates(row.as_slice().unwrap(), 6) {
                want.ids.push(id);
                want.probs.push(p);
            }
        }
        for block in [1, 2, 5, 22, 23, 100] {
            assert_eq!(top_k_in_blocks(hidden.view(), 6, block, head), Some(want.clone()), "block of {block} rows");
        }
        // k beyond the vocabulary keeps every entry; no rows keeps none; no head gives none.
        assert_eq!(top_k_in_blocks(hidden.view(), 1000, 4, head).unwrap().k, 37);
        assert_eq!(top_k_in_blocks(hidden.slice(s![..0, ..]), 3, 4, head).unwrap().ids, Vec::<u32>::new());
        assert_eq!(top_k_in_blocks(hidden.view(), 3, 4, |_| None), None);
    }
}

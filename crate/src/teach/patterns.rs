//! Which heads do something recognisable: a score per layer and head for the attention patterns
//! interpretability work looks for first.
//!
//! Every score is a mean attention mass in [0, 1]: for each query row the weight the head puts on
//! the keys the pattern names, averaged over the rows where the pattern is defined. A pattern that
//! no row defines (no repeated token, or a self-attention pattern asked of cross-attention) has no
//! score (`None`), never a made-up 0.
//!
//! - [`Pattern::PreviousToken`]: weight on key `i - 1` from query `i` (self-attention, rows `i >= 1`).
//! - [`Pattern::FirstToken`]: weight on key 0, the first token, which many heads use as a "sink"
//!   when they have nothing to do (decoders above all: Xiao et al., 2023; BERT's heads park much of
//!   theirs on `[SEP]` and punctuation instead, Clark et al., 2019, which this score does not count)
//!   (self-attention: rows `i >= 1`, since a causal row 0 can only see key 0; cross-attention: every row).
//! - [`Pattern::SameToken`]: weight on earlier keys `j < i` holding the same token id as query `i`
//!   (rows whose token occurred before; none when no token repeats).
//! - [`Pattern::Induction`]: where the text repeats, weight on the key just after an earlier
//!   occurrence of query `i`'s token (keys `j + 1` with `ids[j] = ids[i]`, `j + 1 < i`): the head
//!   that lets a model continue a repeated sequence. Defined only on rows that have such an earlier
//!   occurrence, so a text without repeats gives no score.
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
    FirstToken,
    SameToken,
    Induction,
    Diagonal,
}

impl Pattern {
    pub const ALL: [Pattern; 5] = [Pattern::PreviousToken, Pattern::FirstToken, Pattern::SameToken, Pattern::Induction, Pattern::Diagonal];

    /// The name the CLI and the JS API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::PreviousToken => "previous-token",
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
    (rows > 0).then(|| (total / rows as f64).clamp(0.0, 1.0) as f32)
}

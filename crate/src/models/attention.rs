//! Scaled dot-product attention over many heads, with optional capture of what it computed.
//!
//! `scores[h][i][j] = scale · q_i · k_j (+ bias[h][i][j])`, masked to `-inf` where query `i`
//! may not see key `j`; `probs = softmax(scores)` row by row; `ctx_i = Σ_j probs[i][j] v_j`.
//! Capture is a real output (the page plots `probs`), but opt-in: a plain run allocates nothing for it.

use crate::kernels;

/// Which attention maps a forward pass should hand back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capture {
    pub probs: bool,  // post-softmax probabilities
    pub scores: bool, // pre-softmax scores (masked entries -inf)
}

impl Capture {
    pub const NONE: Capture = Capture { probs: false, scores: false };
    pub const PROBS: Capture = Capture { probs: true, scores: false };
    pub const ALL: Capture = Capture { probs: true, scores: true };
}

/// Attention maps for every layer and head of one attention kind: `data` is `[L][H][Tq][Tk]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionMaps {
    pub n_layers: usize,
    pub n_heads: usize,
    pub q_len: usize,
    pub k_len: usize,
    pub data: Vec<f32>,
}

impl AttentionMaps {
    pub fn new(n_layers: usize, n_heads: usize, q_len: usize, k_len: usize) -> Self {
        AttentionMaps { n_layers, n_heads, q_len, k_len, data: vec![0.0; n_layers * n_heads * q_len * k_len] }
    }
    pub fn shape(&self) -> [usize; 4] {
        [self.n_layers, self.n_heads, self.q_len, self.k_len]
    }
    /// `[H][Tq][Tk]` of one layer.
    pub fn layer(&self, l: usize) -> &[f32] {
        let n = self.n_heads * self.q_len * self.k_len;
        &self.data[l * n..(l + 1) * n]
    }
    pub fn layer_mut(&mut self, l: usize) -> &mut [f32] {
        let n = self.n_heads * self.q_len * self.k_len;
        &mut self.data[l * n..(l + 1) * n]
    }
    pub fn get(&self, l: usize, h: usize, i: usize, j: usize) -> f32 {
        self.data[((l * self.n_heads + h) * self.q_len + i) * self.k_len + j]
    }
}

/// Per-pass collectors for one attention kind, filled layer by layer.
#[derive(Debug, Default)]
pub struct Recorder {
    pub probs: Option<AttentionMaps>,
    pub scores: Option<AttentionMaps>,
}

impl Recorder {
    pub fn new(capture: Capture, n_layers: usize, n_heads: usize, q_len: usize, k_len: usize) -> Self {
        Recorder {
            probs: capture.probs.then(|| AttentionMaps::new(n_layers, n_heads, q_len, k_len)),
            scores: capture.scores.then(|| AttentionMaps::new(n_layers, n_heads, q_len, k_len)),
        }
    }
    /// The slices layer `l` writes into.
    pub fn layer(&mut self, l: usize) -> LayerSink<'_> {
        LayerSink { probs: self.probs.as_mut().map(|m| m.layer_mut(l)), scores: self.scores.as_mut().map(|m| m.layer_mut(l)) }
    }
}

/// Where one layer's `[H][Tq][Tk]` maps go, if anywhere.
#[derive(Default)]
pub struct LayerSink<'a> {
    pub probs: Option<&'a mut [f32]>,
    pub scores: Option<&'a mut [f32]>,
}

/// Who may look at whom.
#[derive(Debug, Clone, Copy)]
pub enum Mask {
    /// Every query sees every key (encoders, cross-attention).
    Full,
    /// Query `i` sits at absolute position `past + i` and sees keys `0..=past + i` (decoders).
    Causal { past: usize },
}

/// Multi-head attention for one layer.
///
/// `q: [Tq][H·D]`, `k, v: [Tk][H·D]`, `bias: [H][Tq][Tk]` (T5's relative positions), returns `ctx: [Tq][H·D]`.
#[allow(clippy::too_many_arguments)]
pub fn attend(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    q_len: usize,
    k_len: usize,
    n_heads: usize,
    d_head: usize,
    scale: f32,
    mask: Mask,
    bias: Option<&[f32]>,
    mut sink: LayerSink<'_>,
) -> Vec<f32> {
    let hd = n_heads * d_head;
    debug_assert_eq!(q.len(), q_len * hd);
    debug_assert_eq!(k.len(), k_len * hd);
    let mut ctx = vec![0.0; q_len * hd];
    let mut row = vec![0.0f32; k_len]; // one query's scores, then probs
    // Gather each head's keys and values contiguously ([Tk][D]) so scores are plain dots.
    let mut k_h = vec![0.0f32; k_len * d_head];
    let mut v_h = vec![0.0f32; k_len * d_head];
    for h in 0..n_heads {
        for j in 0..k_len {
            let src = j * hd + h * d_head;
            k_h[j * d_head..(j + 1) * d_head].copy_from_slice(&k[src..src + d_head]);
            v_h[j * d_head..(j + 1) * d_head].copy_from_slice(&v[src..src + d_head]);
        }
        for i in 0..q_len {
            let qi = &q[i * hd + h * d_head..i * hd + (h + 1) * d_head];
            let visible = match mask {
                Mask::Full => k_len,
                Mask::Causal { past } => (past + i + 1).min(k_len),
            };
            kernels::matmul_nk(qi, 1, d_head, &k_h[..visible * d_head], visible, &mut row[..visible]);
            for (j, s) in row[..visible].iter_mut().enumerate() {
                *s *= scale;
                if let Some(b) = bias {
                    *s += b[(h * q_len + i) * k_len + j];
                }
            }
            row[visible..].fill(f32::NEG_INFINITY);
            let at = (h * q_len + i) * k_len;
            if let Some(s) = sink.scores.as_deref_mut() {
                s[at..at + k_len].copy_from_slice(&row);
            }
            kernels::softmax(&mut row);
            if let Some(p) = sink.probs.as_deref_mut() {
                p[at..at + k_len].copy_from_slice(&row);
            }
            let out = &mut ctx[i * hd + h * d_head..i * hd + (h + 1) * d_head];
            for (j, &p) in row[..visible].iter().enumerate() {
                if p != 0.0 {
                    kernels::axpy(p, &v_h[j * d_head..(j + 1) * d_head], out);
                }
            }
        }
    }
    ctx
}

/// Keys and values of past positions for one attention layer: `[P][H·D]` each, appended per step.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    pub k: Vec<f32>,
    pub v: Vec<f32>,
}

impl KvCache {
    pub fn append(&mut self, k_new: &[f32], v_new: &[f32]) {
        self.k.extend_from_slice(k_new);
        self.v.extend_from_slice(v_new);
    }
    pub fn len(&self, hd: usize) -> usize {
        self.k.len() / hd
    }
}

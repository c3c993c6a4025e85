//! Scaled dot-product attention over many heads, with optional capture of what it computed.
//!
//! `scores[h][i][j] = scale · q_i · k_j (+ bias[h][i][j])`, masked to `-inf` where query `i`
//! may not see key `j`; `probs = softmax(scores)` row by row; `ctx_i = Σ_j probs[i][j] v_j`.
//! Capture is a real output (the page plots `probs`), but opt-in: a plain run allocates nothing for it.
//! So are the teaching extras a [`Recorder`] may carry: a step-by-step [`QkvTrace`] of one layer,
//! the stack's hidden states, and a head mask (HF's `head_mask`: multiplies a head's probs).

pub use super::capture::{AttentionKind, Capture, MapSelection, QkvRequest, HIDDEN_KEY};
use super::capture::{HiddenStates, Probe};
use super::layers::add_in_place;
use crate::kernels;

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

/// One attention layer's arithmetic for every head, as the forward pass computed it:
/// `scores = scale · q·kᵀ (+ bias) (+ key mask)`, `probs = softmax(scores) · head_mask`,
/// `ctx = probs · v`, `out = W_o · concat(ctx) (+ b_o)`. Flat row-major arrays, shapes beside.
#[derive(Debug, Clone, PartialEq)]
pub struct QkvTrace {
    pub kind: AttentionKind,
    pub layer: usize,
    pub n_heads: usize, // H
    /// Key/value heads (KV); query head `h` reads kv head `h / (H / KV)`. Equal to H except in
    /// grouped-query attention (Llama, Qwen2), where `k` and `v` below are already repeated per query head.
    pub n_kv_heads: usize,
    pub q_len: usize,   // Tq
    pub k_len: usize,   // Tk (past + new tokens for a decoder, S for cross-attention)
    pub d_head: usize,  // D
    pub d_model: usize, // C
    /// What the query projection reads: the layer input after its norm (pre-norm GPT-2 and T5),
    /// or the layer input itself (post-norm BERT, BART, Marian, whose norm ends the previous layer). [Tq][C]
    pub input: Vec<f32>,
    pub q: Vec<f32>, // [H][Tq][D]
    pub k: Vec<f32>, // [H][Tk][D] (cross-attention: projected from the encoder output)
    pub v: Vec<f32>, // [H][Tk][D]
    pub scale: f32,
    /// T5's relative position bias added to the scores: [H][Tq][Tk].
    pub bias: Option<Vec<f32>>,
    pub scores: Vec<f32>, // [H][Tq][Tk], causal entries -inf, hidden keys ≈ f32::MIN
    pub probs: Vec<f32>,  // [H][Tq][Tk], after the head mask
    pub ctx: Vec<f32>,    // [H][Tq][D]
    pub out: Vec<f32>,    // [Tq][C], the output projection's result (added to the residual)
}

impl QkvTrace {
    fn new(kind: AttentionKind, layer: usize) -> Self {
        QkvTrace {
            kind,
            layer,
            n_heads: 0,
            n_kv_heads: 0,
            q_len: 0,
            k_len: 0,
            d_head: 0,
            d_model: 0,
            input: Vec::new(),
            q: Vec::new(),
            k: Vec::new(),
            v: Vec::new(),
            scale: 1.0,
            bias: None,
            scores: Vec::new(),
            probs: Vec::new(),
            ctx: Vec::new(),
            out: Vec::new(),
        }
    }
}

/// `x: [T][H·D]` regrouped head-first: `[H][T][D]`.
fn split_heads(x: &[f32], rows: usize, n_heads: usize, d_head: usize) -> Vec<f32> {
    let hd = n_heads * d_head;
    let mut out = Vec::with_capacity(x.len());
    for h in 0..n_heads {
        for r in 0..rows {
            out.extend_from_slice(&x[r * hd + h * d_head..r * hd + (h + 1) * d_head]);
        }
    }
    out
}

/// Per-pass collectors for one attention kind, filled layer by layer, and the head mask that
/// kind runs with. The self-attention recorder of a stack also keeps that stack's hidden states.
#[derive(Debug, Default)]
pub struct Recorder {
    pub probs: Option<AttentionMaps>,
    pub scores: Option<AttentionMaps>,
    /// The requested layer's step-through, filled when that layer runs.
    pub trace: Option<QkvTrace>,
    head_mask: Option<Vec<f32>>, // [L][H]
    n_heads: usize,
    /// HF's `output_hidden_states`: the stack's input, then each layer's output. [L+1][T][C]
    hidden: Option<Vec<f32>>,
    hidden_len: usize, // T·C of one state
    /// The stack's layer that the maps' layer 0 is (a capture may keep only some layers).
    first_layer: usize,
}

impl Recorder {
    pub fn new(capture: Capture, n_layers: usize, n_heads: usize, q_len: usize, k_len: usize) -> Self {
        Recorder {
            probs: capture.probs.then(|| AttentionMaps::new(n_layers, n_heads, q_len, k_len)),
            scores: capture.scores.then(|| AttentionMaps::new(n_layers, n_heads, q_len, k_len)),
            n_heads,
            ..Default::default()
        }
    }
    /// Everything `probe` asks of attention `kind` (maps, trace, head mask, hidden states).
    pub fn probing(probe: &Probe, kind: AttentionKind, n_layers: usize, n_heads: usize, q_len: usize, k_len: usize) -> Self {
        let kept = probe.maps.layers(kind, n_layers);
        let capture = if kept.is_empty() { Capture::NONE } else { probe.capture };
        let mut rec = Recorder::new(capture, kept.len(), n_heads, q_len, k_len).with_head_mask(probe.interventions.head_mask.get(kind));
        rec.first_layer = kept.start;
        rec.trace = probe.qkv.filter(|r| r.kind == kind && r.layer < n_layers).map(|r| QkvTrace::new(kind, r.layer));
        rec.hidden = (probe.hidden_states && kind != AttentionKind::Cross).then(Vec::new);
        rec
    }
    /// Run this kind with `head_mask: [L][H]` (1 keeps a head, 0 ablates it).
    pub fn with_head_mask(mut self, head_mask: Option<&[f32]>) -> Self {
        self.head_mask = head_mask.map(<[f32]>::to_vec);
        self
    }
    /// The slices layer `l` writes into, and its heads' mask.
    pub fn layer(&mut self, l: usize) -> LayerSink<'_> {
        let h = self.n_heads;
        // Layer `l`'s place among the kept maps, if it is kept.
        let kept = |m: &AttentionMaps| l.checked_sub(self.first_layer).filter(|&i| i < m.n_layers);
        LayerSink {
            probs: self.probs.as_mut().and_then(|m| kept(m).map(|i| m.layer_mut(i))),
            scores: self.scores.as_mut().and_then(|m| kept(m).map(|i| m.layer_mut(i))),
            head_mask: self.head_mask.as_deref().map(|m| &m[l * h..(l + 1) * h]),
            trace: self.trace.as_mut().filter(|t| t.layer == l),
        }
    }
    /// Complete layer `l`'s trace (if it is the traced one) with what the query projection read
    /// (`input: [Tq][C]`) and the output projection's result (`out: [Tq][C]`).
    pub fn trace_io(&mut self, l: usize, input: &[f32], out: &[f32]) {
        if let Some(t) = self.trace.as_mut().filter(|t| t.layer == l) {
            t.d_model = input.len() / t.q_len.max(1);
            t.input = input.to_vec();
            t.out = out.to_vec();
        }
    }
    /// Layer `l` shares each key/value head among `n_kv_heads`-way groups of query heads (say so in its trace).
    pub fn kv_heads(&mut self, l: usize, n_kv_heads: usize) {
        if let Some(t) = self.trace.as_mut().filter(|t| t.layer == l) {
            t.n_kv_heads = n_kv_heads;
        }
    }
    /// Keep `x: [T][C]` as the next hidden state, if hidden states were asked for.
    pub fn hidden_state(&mut self, x: &[f32]) {
        if let Some(states) = self.hidden.as_mut() {
            states.extend_from_slice(x);
            self.hidden_len = x.len();
        }
    }
    /// The hidden states kept so far, `[L+1][T][C]` when the stack has run.
    pub fn take_hidden_states(&mut self, d_model: usize) -> Option<HiddenStates> {
        let data = self.hidden.take()?;
        let n_states = data.len() / self.hidden_len.max(1);
        Some(HiddenStates { n_states, seq_len: self.hidden_len / d_model.max(1), d_model, data })
    }
}

/// Where one layer's `[H][Tq][Tk]` maps go, if anywhere, and how its heads are scaled.
#[derive(Default)]
pub struct LayerSink<'a> {
    pub probs: Option<&'a mut [f32]>,
    pub scores: Option<&'a mut [f32]>,
    pub head_mask: Option<&'a [f32]>, // [H]
    pub trace: Option<&'a mut QkvTrace>,
}

/// Who may look at whom.
#[derive(Debug, Clone, Copy)]
pub enum Mask<'a> {
    /// Every query sees every key (encoders, cross-attention).
    Full,
    /// Query `i` sits at absolute position `past + i` and sees keys `0..=past + i` (decoders).
    Causal { past: usize },
    /// Every query sees every key, plus this additive mask `[Tk]`: 0 for a visible key,
    /// [`HIDDEN_KEY`] for a hidden one (HF's `attention_mask` after its conversion).
    Keys(&'a [f32]),
}


impl<'a> Mask<'a> {
    /// `Keys(additive)` when a source mask is given, else `Full`.
    pub fn keys_or_full(additive: Option<&'a [f32]>) -> Self {
        additive.map_or(Mask::Full, Mask::Keys)
    }
}

/// Multi-head attention for one layer.
///
/// `q: [Tq][H·D]`, `k, v: [Tk][H·D]`, `bias: [H][Tq][Tk]` (T5's relative positions), returns `ctx: [Tq][H·D]`.
/// A head mask in `sink` multiplies each head's probs after the softmax (HF's `head_mask`).
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
    mask: Mask<'_>,
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
    if let Some(t) = sink.trace.as_deref_mut() {
        (t.n_heads, t.q_len, t.k_len, t.d_head, t.scale) = (n_heads, q_len, k_len, d_head, scale);
        if t.n_kv_heads == 0 {
            t.n_kv_heads = n_heads;
        }
        t.bias = bias.map(<[f32]>::to_vec);
        t.scores = vec![0.0; n_heads * q_len * k_len];
        t.probs = vec![0.0; n_heads * q_len * k_len];
    }
    for h in 0..n_heads {
        let head_scale = sink.head_mask.map_or(1.0, |m| m[h]);
        for j in 0..k_len {
            let src = j * hd + h * d_head;
            k_h[j * d_head..(j + 1) * d_head].copy_from_slice(&k[src..src + d_head]);
            v_h[j * d_head..(j + 1) * d_head].copy_from_slice(&v[src..src + d_head]);
        }
        for i in 0..q_len {
            let qi = &q[i * hd + h * d_head..i * hd + (h + 1) * d_head];
            let visible = match mask {
                Mask::Full | Mask::Keys(_) => k_len,
                Mask::Causal { past } => (past + i + 1).min(k_len),
            };
            kernels::matmul_nk(qi, 1, d_head, &k_h[..visible * d_head], visible, &mut row[..visible]);
            for (j, s) in row[..visible].iter_mut().enumerate() {
                *s *= scale;
                if let Some(b) = bias {
                    *s += b[(h * q_len + i) * k_len + j];
                }
            }
            if let Mask::Keys(additive) = mask {
                add_in_place(&mut row, additive);
            }
            row[visible..].fill(f32::NEG_INFINITY);
            let at = (h * q_len + i) * k_len;
            if let Some(s) = sink.scores.as_deref_mut() {
                s[at..at + k_len].copy_from_slice(&row);
            }
            if let Some(t) = sink.trace.as_deref_mut() {
                t.scores[at..at + k_len].copy_from_slice(&row);
            }
            kernels::softmax(&mut row);
            if head_scale != 1.0 {
                row.iter_mut().for_each(|p| *p *= head_scale);
            }
            if let Some(p) = sink.probs.as_deref_mut() {
                p[at..at + k_len].copy_from_slice(&row);
            }
            if let Some(t) = sink.trace.as_deref_mut() {
                t.probs[at..at + k_len].copy_from_slice(&row);
            }
            let out = &mut ctx[i * hd + h * d_head..i * hd + (h + 1) * d_head];
            for (j, &p) in row[..visible].iter().enumerate() {
                if p != 0.0 {
                    kernels::axpy(p, &v_h[j * d_head..(j + 1) * d_head], out);
                }
            }
        }
    }
    if let Some(t) = sink.trace {
        t.q = split_heads(q, q_len, n_heads, d_head);
        t.k = split_heads(k, k_len, n_heads, d_head);
        t.v = split_heads(v, k_len, n_heads, d_head);
        t.ctx = split_heads(&ctx, q_len, n_heads, d_head);
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

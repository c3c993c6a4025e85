//! Scaled dot-product attention over many heads, with optional capture of what it computed.
//!
//! `scores[h][i][j] = scale · q_i · k_j (+ bias[h][i][j])`, masked to `-inf` where query `i`
//! may not see key `j`; `probs = softmax(scores)` row by row; `ctx_i = Σ_j probs[i][j] v_j`.
//! Capture is a real output (the page plots `probs`), but opt-in: a plain run allocates nothing for it.
//! So are the teaching extras a [`Recorder`] may carry: a step-by-step [`QkvTrace`] of one layer,
//! the stack's hidden states, and a head mask (HF's `head_mask`: multiplies a head's probs).

pub use super::capture::{AttentionKind, AttentionMaps, Capture, MapSelection, QkvRequest, HIDDEN_KEY};
use super::capture::{HiddenStates, Probe};
use super::layers::add_in_place;
use crate::kernels;
use ndarray::{s, Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut3, Axis};

/// One attention layer's arithmetic for every head, as the forward pass computed it:
/// `scores = scale · q·kᵀ (+ bias) (+ key mask)`, `probs = softmax(scores) · head_mask`,
/// `ctx = probs · v`, `out = W_o · concat(ctx) (+ b_o)`. Every array is head-first where heads
/// matter; the shape is in the array.
#[derive(Debug, Clone, PartialEq)]
pub struct QkvTrace {
    pub kind: AttentionKind,
    pub layer: usize,
    /// Key/value heads (KV); query head `h` reads kv head `h / (H / KV)`. Equal to H except in
    /// grouped-query attention (Llama, Qwen2), where `k` and `v` below are already repeated per query head.
    pub n_kv_heads: usize,
    /// What the query projection reads: the layer input after its norm (pre-norm GPT-2 and T5),
    /// or the layer input itself (post-norm BERT, BART, Marian, whose norm ends the previous layer).
    pub input: Array2<f32>, // [Tq][C]
    pub q: Array3<f32>, // [H][Tq][D]
    pub k: Array3<f32>, // [H][Tk][D] (cross-attention: projected from the encoder output)
    pub v: Array3<f32>, // [H][Tk][D]
    pub scale: f32,
    /// Gemma 2's `attn_logit_softcapping`: scores become `cap · tanh(score / cap)` after the scale.
    pub softcap: Option<f32>,
    /// T5's relative position bias added to the scores.
    pub bias: Option<Array3<f32>>, // [H][Tq][Tk]
    pub scores: Array3<f32>, // [H][Tq][Tk], causal entries -inf, hidden keys ≈ f32::MIN
    pub probs: Array3<f32>,  // [H][Tq][Tk], after the head mask
    pub ctx: Array3<f32>,    // [H][Tq][D]
    pub out: Array2<f32>,    // [Tq][C], the output projection's result (added to the residual)
}

impl QkvTrace {
    fn new(kind: AttentionKind, layer: usize) -> Self {
        let (none2, none3) = (Array2::zeros((0, 0)), Array3::zeros((0, 0, 0)));
        QkvTrace {
            kind,
            layer,
            n_kv_heads: 0,
            input: none2.clone(),
            q: none3.clone(),
            k: none3.clone(),
            v: none3.clone(),
            scale: 1.0,
            softcap: None,
            bias: None,
            scores: none3.clone(),
            probs: none3.clone(),
            ctx: none3,
            out: none2,
        }
    }
    /// H
    pub fn n_heads(&self) -> usize {
        self.q.dim().0
    }
    /// Tq
    pub fn q_len(&self) -> usize {
        self.q.dim().1
    }
    /// Tk (past + new tokens for a decoder, S for cross-attention)
    pub fn k_len(&self) -> usize {
        self.k.dim().1
    }
    /// D
    pub fn d_head(&self) -> usize {
        self.q.dim().2
    }
    /// C
    pub fn d_model(&self) -> usize {
        self.input.dim().1
    }
}

/// A projection's rows `[T][H·D]` seen split into heads: `[T][H][D]`.
fn by_head(x: ArrayView2<'_, f32>, n_heads: usize, d_head: usize) -> ArrayView3<'_, f32> {
    let rows = x.nrows();
    x.into_shape_with_order((rows, n_heads, d_head)).expect("attention inputs are [T][H·D], row-major")
}

/// `[T][H][D]` regrouped head-first, `[H][T][D]`, laid out row-major.
fn heads_first(x: ArrayView3<'_, f32>) -> Array3<f32> {
    x.permuted_axes([1, 0, 2]).as_standard_layout().into_owned()
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
    q_len: usize, // T
    /// HF's `output_hidden_states`: the stack's input, then each layer's output, each `[T][C]`.
    hidden: Option<Vec<f32>>,
    /// The stack's layer that the maps' layer 0 is (a capture may keep only some layers).
    first_layer: usize,
}

impl Recorder {
    /// An encoder-only family's outputs: the maps, scores, step-through and hidden states this recorder
    /// kept, and the final states `x: [T][C]`. The family adds its heads' results (logits, pooled, ...).
    pub fn encoder_outputs(mut self, x: Array2<f32>) -> super::Outputs {
        super::Outputs {
            encoder_hidden_states: self.take_hidden_states(x.ncols()),
            qkv: self.trace.take(),
            encoder_attentions: self.probs,
            encoder_scores: self.scores,
            last_hidden_state: super::activations::into_flat(x),
            ..Default::default()
        }
    }

    pub fn new(capture: Capture, n_layers: usize, n_heads: usize, q_len: usize, k_len: usize) -> Self {
        let maps = || AttentionMaps::zeros((n_layers, n_heads, q_len, k_len));
        Recorder { probs: capture.probs.then(maps), scores: capture.scores.then(maps), n_heads, q_len, ..Default::default() }
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
    /// The maps layer `l` writes into (`[H][Tq][Tk]` each), and its heads' mask.
    pub fn layer(&mut self, l: usize) -> LayerSink<'_> {
        let h = self.n_heads.max(1);
        // Layer `l`'s place among the kept maps, if it is kept.
        let first = self.first_layer;
        let kept = |m: &AttentionMaps| l.checked_sub(first).filter(|&i| i < m.len_of(Axis(0)));
        LayerSink {
            probs: self.probs.as_mut().and_then(|m| kept(m).map(|i| m.index_axis_mut(Axis(0), i))),
            scores: self.scores.as_mut().and_then(|m| kept(m).map(|i| m.index_axis_mut(Axis(0), i))),
            head_mask: self.head_mask.as_deref().and_then(|m| m.chunks_exact(h).nth(l)),
            trace: self.trace.as_mut().filter(|t| t.layer == l),
        }
    }
    /// Complete layer `l`'s trace (if it is the traced one) with what the query projection read
    /// (`input: [Tq][C]`) and the output projection's result (`out: [Tq][C]`).
    pub fn trace_io(&mut self, l: usize, input: &Array2<f32>, out: &Array2<f32>) {
        if let Some(t) = self.trace.as_mut().filter(|t| t.layer == l) {
            (t.input, t.out) = (input.clone(), out.clone());
        }
    }
    /// Layer `l` shares each key/value head among `n_kv_heads`-way groups of query heads (say so in its trace).
    pub fn kv_heads(&mut self, l: usize, n_kv_heads: usize) {
        if let Some(t) = self.trace.as_mut().filter(|t| t.layer == l) {
            t.n_kv_heads = n_kv_heads;
        }
    }
    /// Keep `x: [T][C]` as the next hidden state, if hidden states were asked for.
    pub fn hidden_state(&mut self, x: &Array2<f32>) {
        if let Some(states) = self.hidden.as_mut() {
            extend_rows(states, x.view());
        }
    }
    /// The hidden states kept so far, `[L+1][T][C]`, when the stack has run.
    pub fn take_hidden_states(&mut self, d_model: usize) -> Option<HiddenStates> {
        let data = self.hidden.take()?;
        let state = (self.q_len * d_model).max(1);
        HiddenStates::from_shape_vec((data.len() / state, self.q_len, d_model), data).ok()
    }
}

/// Where one layer's `[H][Tq][Tk]` maps go, if anywhere, and how its heads are scaled.
#[derive(Default)]
pub struct LayerSink<'a> {
    pub probs: Option<ArrayViewMut3<'a, f32>>,
    pub scores: Option<ArrayViewMut3<'a, f32>>,
    pub head_mask: Option<&'a [f32]>, // [H]
    pub trace: Option<&'a mut QkvTrace>,
}

/// Copy one query's row of scores or probs into `[H][Tq][Tk]` maps at head `h`, query `i`.
fn put_row(maps: Option<ArrayViewMut3<'_, f32>>, h: usize, i: usize, row: &[f32]) {
    let Some(mut m) = maps else { return };
    let (q_len, k_len) = (m.shape()[1], m.shape()[2]);
    // A plain copy into the row of a standard-layout map (the usual case: every capture is allocated
    // so); the ndarray slice-and-assign costs about 0.1 µs a call, about 1% of all-MiniLM-L6-v2 at
    // 128 tokens with its attention captured.
    match m.as_slice_mut() {
        Some(flat) if row.len() == k_len => flat[(h * q_len + i) * k_len..][..k_len].copy_from_slice(row),
        _ => m.slice_mut(s![h, i, ..]).assign(&ndarray::aview1(row)),
    }
}

/// Who may look at whom.
#[derive(Debug, Clone, Copy)]
pub enum Mask<'a> {
    /// Every query sees every key (encoders, cross-attention).
    Full,
    /// Query `i` sits at absolute position `past + i` and sees keys `0..=past + i` (decoders).
    Causal { past: usize },
    /// Causal, and only the last `window` of those keys, itself included: keys
    /// `past + i + 1 - window ..= past + i` (HF's sliding-window mask; Gemma 3's sliding layers).
    Sliding { past: usize, window: usize },
    /// Every query sees every key, plus this additive mask `[Tk]`: 0 for a visible key,
    /// [`HIDDEN_KEY`] for a hidden one (HF's `attention_mask` after its conversion).
    Keys(&'a [f32]),
    /// An encoder's band: query `i` sees keys `i - half ..= i + half` (ModernBERT's local layers,
    /// HF's bidirectional sliding-window mask), plus the additive key mask when given.
    Band { half: usize, keys: Option<&'a [f32]> },
}


impl<'a> Mask<'a> {
    /// `Keys(additive)` when a source mask is given, else `Full`.
    pub fn keys_or_full(additive: Option<&'a [f32]>) -> Self {
        additive.map_or(Mask::Full, Mask::Keys)
    }
}

/// Multi-head attention for one layer.
///
/// `q: [Tq][H·D]`, `k, v: [Tk][KV·D]` (row-major), `bias: [H][Tq][Tk]` (T5's relative positions),
/// returns `ctx: [Tq][H·D]`. With fewer key/value heads than query heads (grouped-query attention,
/// `KV` dividing `H`), query head `h` reads key/value head `h / (H / KV)`, as HF's `repeat_kv`
/// arranges, without repeating the cache. A head mask in `sink` multiplies each head's probs after
/// the softmax (HF's `head_mask`).
#[allow(clippy::too_many_arguments)]
pub fn attend(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    n_heads: usize,
    d_head: usize,
    scale: f32,
    mask: Mask<'_>,
    bias: Option<ArrayView3<'_, f32>>,
    sink: LayerSink<'_>,
) -> Array2<f32> {
    attend_capped(q, k, v, n_heads, d_head, scale, None, mask, bias, sink)
}

/// [`attend`] with Gemma 2's score cap: each scaled score `s` becomes `cap · tanh(s / cap)` before
/// the mask (HF's `attn_logit_softcapping`, in its order of operations).
#[allow(clippy::too_many_arguments)]
pub fn attend_capped(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    n_heads: usize,
    d_head: usize,
    scale: f32,
    softcap: Option<f32>,
    mask: Mask<'_>,
    bias: Option<ArrayView3<'_, f32>>,
    mut sink: LayerSink<'_>,
) -> Array2<f32> {
    let (q_len, k_len) = (q.nrows(), k.nrows());
    // Keys and values are read in place, row j of head h at `j·KV·D + (h / group)·D` (no gathered
    // copy per head; borrowed as they are when already row-major, which caches and projections are).
    let kvd = k.ncols();
    let group = (n_heads * d_head).checked_div(kvd).unwrap_or(1).max(1); // query heads per key/value head
    let (k_std, v_std, q_std) = (k.as_standard_layout(), v.as_standard_layout(), q.as_standard_layout());
    let (k_rows, v_rows) = (k_std.as_slice().unwrap_or(&[]), v_std.as_slice().unwrap_or(&[]));
    let q_rows = q_std.as_slice().expect("a standard-layout array is one slice"); // [Tq][H·D]
    let hd = n_heads * d_head;
    let mut ctx = Array2::<f32>::zeros((q_len, hd));
    let mut row = vec![0.0f32; k_len]; // one query's scores, then probs, for one head
    if let Some(t) = sink.trace.as_deref_mut() {
        t.scale = scale;
        t.softcap = softcap;
        if t.n_kv_heads == 0 {
            t.n_kv_heads = n_heads / group;
        }
        t.bias = bias.map(|b| b.to_owned());
        t.scores = Array3::zeros((n_heads, q_len, k_len));
        t.probs = Array3::zeros((n_heads, q_len, k_len));
    }
    let visible_keys = |i: usize| match mask {
        Mask::Full | Mask::Keys(_) => k_len,
        Mask::Causal { past } | Mask::Sliding { past, .. } => (past + i + 1).min(k_len),
        Mask::Band { half, .. } => i.saturating_add(half).saturating_add(1).min(k_len),
    };
    // Keys before this one have slid out of query `i`'s window: neither scored nor read (their
    // scores are -inf, their weights 0), so a sliding layer costs its window, not the whole text.
    let first_key = |i: usize| match mask {
        Mask::Sliding { past, window } => (past + i + 1).saturating_sub(window),
        Mask::Band { half, .. } => i.saturating_sub(half),
        _ => 0,
    };
    // Every query sees every key (an encoder, cross-attention): a whole text's scores are computed
    // into the rows of the kept probs map itself and turned into probs there, not copied in after.
    let same_keys = matches!(mask, Mask::Full | Mask::Keys(_));
    let mut probs_in_place = if q_len > ALL_HEADS_ROWS && same_keys { sink.probs.take_if(|m| m.is_standard_layout() && m.shape() == [n_heads, q_len, k_len]) } else { None };
    // One head's raw dot products of query `i` (in `row[first..visible]`) to probs, in place: scale,
    // cap, bias, mask, softmax, head mask, with the captured rows copied out on the way.
    let mut finish_row = |h: usize, i: usize, first: usize, visible: usize, row: &mut [f32]| {
        // The scale as a pass of its own in the kernels (SIMD; this crate is built for size, where
        // the loop stayed one scalar multiply per score: 1.5% of all-MiniLM-L6-v2 at 128 tokens
        // with the rest of this closure); each score still gets scale, then cap, then bias.
        kernels::scale(&mut row[first..visible], scale);
        if softcap.is_some() || bias.is_some() {
            // This query's bias row, taken once (indexing `[h, i, j]` per score was 1% of a
            // T5-small encoding).
            let bias_row = bias.as_ref().map(|b| b.index_axis(Axis(0), h).index_axis_move(Axis(0), i));
            for (j, s) in row.iter_mut().enumerate().take(visible).skip(first) {
                if let Some(cap) = softcap {
                    *s = super::layers::tanh(*s / cap) * cap;
                }
                if let Some(b) = &bias_row {
                    *s += b[j];
                }
            }
        }
        if let Mask::Keys(additive) | Mask::Band { keys: Some(additive), .. } = mask {
            add_in_place(row, additive);
        }
        row[visible..].fill(f32::NEG_INFINITY);
        row[..first].fill(f32::NEG_INFINITY);
        put_row(sink.scores.as_mut().map(|m| m.view_mut()), h, i, row);
        put_row(sink.trace.as_deref_mut().map(|t| t.scores.view_mut()), h, i, row);
        kernels::softmax(row);
        let head_scale = sink.head_mask.map_or(1.0, |m| m[h]);
        if head_scale != 1.0 {
            row.iter_mut().for_each(|p| *p *= head_scale);
        }
        put_row(sink.probs.as_mut().map(|m| m.view_mut()), h, i, row);
        put_row(sink.trace.as_deref_mut().map(|t| t.probs.view_mut()), h, i, row);
    };
    if q_len <= ALL_HEADS_ROWS {
        // Decoding: each key row and each value row read once, whole, for every head (the cache
        // streams from memory in order; per head it would be visited in strided 256-byte pieces).
        let mut probs = vec![0.0f32; n_heads * k_len]; // [H][seen]
        for i in 0..q_len {
            let visible = visible_keys(i);
            let first = first_key(i).min(visible);
            let seen = visible - first; // keys first..visible
            let (qi, probs) = (&q_rows[i * hd..(i + 1) * hd], &mut probs[..n_heads * seen]);
            kernels::dot_rows_heads(qi, n_heads, d_head, group, k_rows.get(first * kvd..).unwrap_or(&[]), kvd, seen, probs);
            for (h, head) in probs.chunks_exact_mut(seen.max(1)).enumerate().take(n_heads) {
                row[first..visible].copy_from_slice(&head[..seen]);
                finish_row(h, i, first, visible, &mut row);
                head.copy_from_slice(&row[first..visible]);
            }
            let out = ctx.row_mut(i).into_slice().expect("ctx is row-major");
            kernels::axpy_rows_heads(probs, seen, n_heads, d_head, group, v_rows.get(first * kvd..).unwrap_or(&[]), kvd, out);
        }
    } else {
        // A whole text: head by head, and within a head by blocks of queries, each block two
        // matrix products on the packed-panel kernels that project the layers: its scores
        // `Q_blk · K_hᵀ` over the keys some query of the block sees, then `P_blk · V_h` over the
        // same keys. Against a dot product per (query, key) and an axpy per (query, key), the
        // way decoding goes, all-MiniLM-L6-v2 with its attention captured runs x1.03 at 128 tokens
        // and x1.07 at 512 (`CAPTURE=1 TOKENS=128,512 node bench/minilm-ab.mjs`): the longer the
        // text, the larger attention's share. The sums come in another order than decoding's: the
        // same numbers up to rounding.
        let d = d_head;
        let mut head_keys = vec![0.0f32; k_len * d]; // [Tk][D], one key/value head
        let mut head_values = vec![0.0f32; k_len * d];
        let mut head_queries = vec![0.0f32; q_len * d]; // [Tq][D]
        let (mut key_panels, mut value_panels) = (Vec::new(), Vec::new()); // of keys `packed`
        let mut packed = (usize::MAX, 0, 0); // (kv head, first key, end) the panels hold
        let (mut scores, mut block_ctx) = (Vec::new(), Vec::new()); // [block][keys], [block][D]
        let zeros = vec![0.0f32; k_len.max(d).div_ceil(kernels::NR) * kernels::NR]; // the products' bias
        let mut copied = usize::MAX; // the key/value head now in the two buffers
        // Every query sees the same keys (an encoder, cross-attention): one block as long as its
        // scores stay within SCORE_BLOCK floats. Otherwise (causal, sliding, banded) a block's
        // keys are the widest of its queries', so short blocks compute few hidden scores.
        let block = if same_keys { (SCORE_BLOCK / k_len.max(1)).max(MASKED_QUERY_BLOCK) } else { MASKED_QUERY_BLOCK };
        for h in 0..n_heads {
            let kv_head = h / group;
            if kv_head != copied {
                copy_head(k_rows, kvd, kv_head * d, d, &mut head_keys);
                copy_head(v_rows, kvd, kv_head * d, d, &mut head_values);
                copied = kv_head;
            }
            copy_head(q_rows, hd, h * d, d, &mut head_queries);
            let mut i0 = 0;
            while i0 < q_len {
                let i1 = (i0 + block).min(q_len);
                let rows = i1 - i0;
                // The keys some query of the block sees (later queries see more of them).
                let lo = (i0..i1).map(|i| first_key(i).min(visible_keys(i))).min().unwrap_or(0);
                let hi = (i0..i1).map(visible_keys).max().unwrap_or(0).max(lo);
                let width = hi - lo;
                if packed != (kv_head, lo, hi) {
                    key_panels = kernels::pack_panels_of_rows(&head_keys[lo * d..hi * d], width, d);
                    value_panels = kernels::pack_panels(&head_values[lo * d..hi * d], width, d);
                    packed = (kv_head, lo, hi);
                }
                // Grown, never cleared: the products write every entry they hand back.
                if block_ctx.len() < rows * d {
                    block_ctx.resize(rows * d, 0.0);
                }
                let block_ctx = &mut block_ctx[..rows * d];
                let scores = match probs_in_place.as_mut().and_then(|m| m.as_slice_mut()) {
                    Some(map) => &mut map[(h * q_len + i0) * k_len..][..rows * k_len], // width == k_len
                    None => {
                        if scores.len() < rows * width {
                            scores.resize(rows * width, 0.0);
                        }
                        &mut scores[..rows * width]
                    }
                };
                kernels::gemm(&head_queries[i0 * d..i1 * d], rows, d, kernels::PanelRef::F32(&key_panels), width, &zeros, scores);
                for (r, block_row) in scores.chunks_exact_mut(width.max(1)).enumerate().take(rows) {
                    let i = i0 + r;
                    let visible = visible_keys(i);
                    let first = first_key(i).min(visible);
                    if width == k_len {
                        finish_row(h, i, first, visible, block_row);
                    } else {
                        row[lo..hi].copy_from_slice(block_row);
                        finish_row(h, i, first, visible, &mut row);
                        block_row.copy_from_slice(&row[lo..hi]);
                    }
                }
                kernels::gemm(scores, rows, width, kernels::PanelRef::F32(&value_panels), d, &zeros, block_ctx);
                for (r, out) in block_ctx.chunks_exact(d.max(1)).enumerate().take(rows) {
                    ctx.row_mut(i0 + r).into_slice().expect("ctx is row-major")[h * d..(h + 1) * d].copy_from_slice(out);
                }
                i0 = i1;
            }
        }
    }
    if let Some(t) = sink.trace {
        // Keys and values repeated per query head, so the step-through shows what each head read.
        let per_head = |x: ArrayView2<'_, f32>, group| heads_first(by_head(repeat_heads(x, d_head, group).view(), n_heads, d_head));
        (t.q, t.k, t.v, t.ctx) = (per_head(q, 1), per_head(k, group), per_head(v, group), per_head(ctx.view(), 1));
    }
    ctx
}

/// `dst: [T][D]` = the `D` floats at `at` of every row of `rows: [T][ld]` (one head's keys or
/// values, gathered so that they sit side by side).
fn copy_head(rows: &[f32], ld: usize, at: usize, d: usize, dst: &mut [f32]) {
    if d == 0 || ld < at + d {
        return;
    }
    for (dst, src) in dst.chunks_exact_mut(d).zip(rows.chunks(ld)) {
        dst.copy_from_slice(&src[at..at + d]);
    }
}

/// Queries at most this many per call take the all-heads path of [`attend`] (decoding steps);
/// longer runs go head by head, in blocks of [`QUERY_BLOCK`] queries. The two sum in different
/// orders: the same numbers up to rounding.
const ALL_HEADS_ROWS: usize = 4;

/// Queries per block of the head-by-head path when they see different keys (a causal, sliding or
/// banded mask): at most this many scores per query are computed and then hidden.
const MASKED_QUERY_BLOCK: usize = 64;

/// Scores per block of the head-by-head path when every query sees every key (1 MB): the whole
/// head's up to 512 keys; a longer text goes by blocks of fewer queries, so that what it holds
/// at a time stays bounded (a 4,096-token text: blocks of 64 queries).
const SCORE_BLOCK: usize = 1 << 18;

/// `x: [T][KV·D]` with each head repeated `group` times, `[T][KV·group·D]` (HF's `repeat_kv`), for
/// the step-through's per-query-head keys and values; `x` itself when `group` is 1.
fn repeat_heads(x: ArrayView2<'_, f32>, d: usize, group: usize) -> ndarray::CowArray<'_, f32, ndarray::Ix2> {
    if group <= 1 {
        return ndarray::CowArray::from(x);
    }
    let (rows, width) = x.dim();
    let std = x.as_standard_layout();
    let mut out = Vec::with_capacity(rows * width * group);
    for head in std.as_slice().expect("standard layout").chunks_exact(d.max(1)) {
        for _ in 0..group {
            out.extend_from_slice(head);
        }
    }
    ndarray::CowArray::from(Array2::from_shape_vec((rows, width * group), out).expect("whole rows"))
}

/// Append `rows` to a row-major buffer (one copy when they are contiguous, as activations are).
fn extend_rows(buffer: &mut Vec<f32>, rows: ArrayView2<'_, f32>) {
    match rows.as_slice() {
        Some(all) => buffer.extend_from_slice(all),
        None => buffer.extend(rows.iter()),
    }
}

/// Keys and values of past positions for one attention layer: `[P][W]` each (`W`: the key/value
/// heads' width, H·D or KV·D), one row per position, appended per step. Rows are kept in one
/// growing buffer each (amortised appends during generation) and handed out as views.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    k: Vec<f32>,
    v: Vec<f32>,
    width: usize,
    /// A forward pass over a whole text (no generation to come): the rows are let go once the
    /// layer has attended, so a long run holds one layer's keys and values, not every layer's.
    one_pass: bool,
}

impl KvCache {
    /// A cache for one forward pass: [`KvCache::layer_done`] frees it.
    pub fn one_pass() -> Self {
        KvCache { one_pass: true, ..Default::default() }
    }
    /// The layer has attended; a one-pass cache lets its rows go.
    pub fn layer_done(&mut self) {
        if self.one_pass {
            (self.k, self.v) = (Vec::new(), Vec::new());
        }
    }
    /// A cache holding `k, v: [P][W]` (cross-attention: the encoder output's, computed once).
    pub fn new(k: Array2<f32>, v: Array2<f32>) -> Self {
        let mut cache = KvCache::default();
        cache.append(k.view(), v.view());
        cache
    }
    /// Add the rows `k_new, v_new: [T][W]` after the positions already held.
    pub fn append(&mut self, k_new: ArrayView2<'_, f32>, v_new: ArrayView2<'_, f32>) {
        debug_assert!(self.k.is_empty() || self.width == k_new.ncols());
        self.width = k_new.ncols();
        extend_rows(&mut self.k, k_new);
        extend_rows(&mut self.v, v_new);
    }
    /// P, the positions held.
    pub fn len(&self) -> usize {
        self.k.len().checked_div(self.width).unwrap_or(0)
    }
    /// The keys, `[P][W]`.
    pub fn keys(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.len(), self.width), &self.k).expect("whole rows")
    }
    /// The values, `[P][W]`.
    pub fn values(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.len(), self.width), &self.v).expect("whole rows")
    }
}

#[cfg(test)]
mod tests {
    use super::{attend, attend_capped, Capture, KvCache, Mask, Recorder, HIDDEN_KEY};
    use ndarray::{Array2, Array3};

    /// Attention written out, one (head, query, key) at a time in f64: probs `[H][Tq][Tk]` and
    /// ctx `[Tq][H·D]`, query `i` at position `past + i`, seeing keys `first(i)..visible(i)`.
    #[allow(clippy::too_many_arguments)]
    fn by_hand(q: &Array2<f32>, k: &Array2<f32>, v: &Array2<f32>, heads: usize, d: usize, scale: f32, softcap: Option<f32>, keys: Option<&[f32]>, seen: impl Fn(usize) -> (usize, usize)) -> (Array3<f64>, Array2<f64>) {
        let (tq, tk, group) = (q.nrows(), k.nrows(), heads * d / k.ncols());
        let (mut probs, mut ctx) = (Array3::zeros((heads, tq, tk)), Array2::zeros((tq, heads * d)));
        for h in 0..heads {
            let kv = h / group;
            for i in 0..tq {
                let (first, visible) = seen(i);
                let mut row = vec![f64::NEG_INFINITY; tk];
                for (j, s) in row.iter_mut().enumerate().take(visible).skip(first) {
                    let mut dot = 0.0f64;
                    for e in 0..d {
                        dot += q[[i, h * d + e]] as f64 * k[[j, kv * d + e]] as f64;
                    }
                    *s = dot * scale as f64;
                    if let Some(cap) = softcap {
                        *s = (*s / cap as f64).tanh() * cap as f64;
                    }
                    *s += keys.map_or(0.0, |m| m[j] as f64);
                }
                let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = row.iter().map(|s| (s - max).exp()).sum();
                for j in 0..tk {
                    let p = if row[j] == f64::NEG_INFINITY { 0.0 } else { (row[j] - max).exp() / sum };
                    probs[[h, i, j]] = p;
                    for e in 0..d {
                        ctx[[i, h * d + e]] += p * v[[j, kv * d + e]] as f64;
                    }
                }
            }
        }
        (probs, ctx)
    }

    /// Every mask, long enough for several blocks of queries (each block its own keys when the
    /// mask varies) and short enough for the decoding path, grouped heads, a cap: the probs kept
    /// and the context match attention written out, within f32 rounding.
    #[test]
    fn attention_by_blocks_matches_attention_written_out_for_every_mask() {
        let (heads, kv_heads, d) = (4, 2, 8);
        let mut seed = 12345u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        };
        for (tq, past) in [(150, 0), (131, 40), (3, 200), (70, 0)] {
            let tk = past + tq;
            let q = Array2::from_shape_fn((tq, heads * d), |_| next());
            let k = Array2::from_shape_fn((tk, kv_heads * d), |_| next());
            let v = Array2::from_shape_fn((tk, kv_heads * d), |_| next());
            let keys: Vec<f32> = (0..tk).map(|j| if j % 7 == 3 { HIDDEN_KEY } else { 0.0 }).collect();
            type Seen = Box<dyn Fn(usize) -> (usize, usize)>; // query -> (first key, end of its keys)
            let masks: Vec<(&str, Mask, Seen)> = vec![
                ("full", Mask::Full, Box::new(move |_| (0, tk))),
                ("keys", Mask::Keys(&keys), Box::new(move |_| (0, tk))),
                ("causal", Mask::Causal { past }, Box::new(move |i| (0, past + i + 1))),
                ("sliding", Mask::Sliding { past, window: 37 }, Box::new(move |i| ((past + i + 1).saturating_sub(37), past + i + 1))),
                ("band", Mask::Band { half: 9, keys: None }, Box::new(move |i| (i.saturating_sub(9), (i + 10).min(tk)))),
            ];
            for (name, mask, seen) in masks {
                for softcap in [None, Some(2.5f32)] {
                    let additive = if let Mask::Keys(m) = mask { Some(m) } else { None };
                    let (want_probs, want_ctx) = by_hand(&q, &k, &v, heads, d, 0.3, softcap, additive, &seen);
                    let mut rec = Recorder::new(Capture::PROBS, 1, heads, tq, tk);
                    let ctx = if softcap.is_none() {
                        attend(q.view(), k.view(), v.view(), heads, d, 0.3, mask, None, rec.layer(0))
                    } else {
                        attend_capped(q.view(), k.view(), v.view(), heads, d, 0.3, softcap, mask, None, rec.layer(0))
                    };
                    let probs = rec.probs.expect("probs kept");
                    let what = format!("{name} mask, {tq} queries after {past}, cap {softcap:?}");
                    for ((h, i, j), &p) in want_probs.indexed_iter() {
                        assert!((probs[[0, h, i, j]] as f64 - p).abs() < 1e-5, "{what}: prob [{h}][{i}][{j}] {} against {p}", probs[[0, h, i, j]]);
                    }
                    for ((i, c), &x) in want_ctx.indexed_iter() {
                        assert!((ctx[[i, c]] as f64 - x).abs() < 1e-5, "{what}: ctx [{i}][{c}] {} against {x}", ctx[[i, c]]);
                    }
                }
            }
        }
    }

    #[test]
    fn a_one_pass_cache_lets_its_rows_go_and_a_generation_cache_keeps_them() {
        let rows = Array2::from_shape_fn((3, 4), |(t, w)| (t * 4 + w) as f32); // [T][W]
        let (mut pass, mut generation) = (KvCache::one_pass(), KvCache::default());
        for cache in [&mut pass, &mut generation] {
            cache.append(rows.view(), rows.view());
            assert_eq!(cache.keys(), rows.view());
            cache.layer_done();
        }
        assert_eq!((pass.len(), pass.k.capacity(), pass.v.capacity()), (0, 0, 0), "the one-pass rows are freed");
        assert_eq!((generation.keys(), generation.values()), (rows.view(), rows.view()), "generation keeps its past");
    }
}

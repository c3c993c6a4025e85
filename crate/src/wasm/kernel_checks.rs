//! Built only with the `checks` feature (pkg-checks/, `scripts/build-wasm.sh --with-checks`), never
//! into the shipped pkg/.
//!
//! wasm exports that run one kernel, either its SIMD128 version (`simd = true`) or its scalar twin,
//! on inputs given from JavaScript, so the Node tests can check SIMD == scalar in the real binary,
//! and a [`KernelBench`] that keeps its operands in wasm memory so the benchmarks time the kernels,
//! not the copies across the boundary.
//!
//! In a build without `+simd128` there is no SIMD version: `simd = true` runs the scalar code and
//! [`kernels_simd128`] says so.

use wasm_bindgen::prelude::*;

use crate::kernels::{limits, scalar, Layout, Linear, Storage, StoredMatrix};
#[cfg(target_feature = "simd128")]
use crate::kernels::simd128 as fast;
#[cfg(not(target_feature = "simd128"))]
use crate::kernels::scalar as fast;

/// Benchmarks only: rows per prefill register tile of the SIMD GEMM (4, 6 or 8; numbers do not change).
#[wasm_bindgen]
pub fn bench_set_prefill_rows(rows: usize) {
    #[cfg(target_feature = "simd128")]
    fast::set_prefill_rows(rows);
    #[cfg(not(target_feature = "simd128"))]
    let _ = rows;
}

/// Tests and benchmarks: decode wide (six streams of weights side by side) or narrow (two), as a
/// model's load chooses for the machine (`Model::calibrate_decoding`); numbers do not change.
#[wasm_bindgen]
pub fn bench_set_decode_wide(wide: bool) {
    crate::kernels::set_decode_wide(wide);
}

/// Whether decoding reads wide or narrow now (see [`bench_set_decode_wide`]).
#[wasm_bindgen]
pub fn bench_decode_wide() -> bool {
    crate::kernels::decode_wide()
}

/// Whether this binary was built with the SIMD128 kernels.
#[wasm_bindgen]
pub fn kernels_simd128() -> bool {
    cfg!(target_feature = "simd128")
}

fn check_len(what: &str, got: usize, want: usize) -> Result<(), JsError> {
    if got < want {
        return Err(JsError::new(&format!("{what} has {got} values but the shape needs {want}: pass a longer array or smaller dimensions")));
    }
    Ok(())
}

/// `Linear::forward` on `w: [N][K]` (nn.Linear layout) and optional `bias: [N]`: `[M][N]`.
#[wasm_bindgen]
pub fn check_linear(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<Vec<f32>>, simd: bool) -> Result<Vec<f32>, JsError> {
    check_len("x", x.len(), m * k)?;
    check_len("w", w.len(), n * k)?;
    if let Some(b) = &bias {
        check_len("bias", b.len(), n)?;
    }
    let layer = Linear::from_out_in(&w[..n * k], n, k, bias);
    let x = &x[..m * k];
    Ok(if simd { layer.forward(x, m) } else { layer.forward_scalar(x, m) })
}

/// `Linear::forward` with the weights kept in `storage` (`f32`, `f16`, `bf16`, `int8`), and the
/// weights as the layer sees them after widening (`[N][K]`) appended: `[M][N]` then `[N][K]`.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn check_linear_storage(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<Vec<f32>>, storage: &str, simd: bool) -> Result<Vec<f32>, JsError> {
    check_len("x", x.len(), m * k)?;
    check_len("w", w.len(), n * k)?;
    if let Some(b) = &bias {
        check_len("bias", b.len(), n)?;
    }
    let storage = parse_storage(storage)?;
    let layer = Linear::from_stored(StoredMatrix::F32(w[..n * k].to_vec()), Layout::OutIn, k, n, bias, Some(storage));
    let x = &x[..m * k];
    let mut out = if simd { layer.forward(x, m) } else { layer.forward_scalar(x, m) };
    for j in 0..n {
        for kk in 0..k {
            out.push(layer.weight(j, kk));
        }
    }
    Ok(out)
}

use super::parse_storage;

/// `matmul_kn` on unpacked `w: [K][N]`: `[M][N]`.
#[wasm_bindgen]
pub fn check_matmul_kn(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<Vec<f32>>, simd: bool) -> Result<Vec<f32>, JsError> {
    check_len("x", x.len(), m * k)?;
    check_len("w", w.len(), k * n)?;
    if let Some(b) = &bias {
        check_len("bias", b.len(), n)?;
    }
    let mut out = vec![0.0; m * n];
    if simd {
        fast::matmul_kn(x, m, k, w, n, bias.as_deref(), &mut out);
    } else {
        scalar::matmul_kn(x, m, k, w, n, bias.as_deref(), &mut out);
    }
    Ok(out)
}

/// `matmul_nk`, `w: [N][K]`: `[M][N]`.
#[wasm_bindgen]
pub fn check_matmul_nk(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, simd: bool) -> Result<Vec<f32>, JsError> {
    check_len("x", x.len(), m * k)?;
    check_len("w", w.len(), n * k)?;
    let mut out = vec![0.0; m * n];
    if simd {
        fast::matmul_nk(x, m, k, w, n, &mut out);
    } else {
        scalar::matmul_nk(x, m, k, w, n, &mut out);
    }
    Ok(out)
}

#[wasm_bindgen]
pub fn check_dot(a: &[f32], b: &[f32], simd: bool) -> f32 {
    if simd { fast::dot(a, b) } else { scalar::dot(a, b) }
}

/// `y + alpha * x`
#[wasm_bindgen]
pub fn check_axpy(alpha: f32, x: &[f32], mut y: Vec<f32>, simd: bool) -> Vec<f32> {
    if simd { fast::axpy(alpha, x, &mut y) } else { scalar::axpy(alpha, x, &mut y) }
    y
}

/// `out + Σ_j p[j] · v[j·ld..][..d]` (attention's weighted value rows).
#[wasm_bindgen]
pub fn check_axpy_rows(p: &[f32], v: &[f32], ld: usize, d: usize, mut out: Vec<f32>, simd: bool) -> Result<Vec<f32>, JsError> {
    if !p.is_empty() && (ld < d || v.len() < (p.len() - 1) * ld + d || out.len() < d) {
        return Err(JsError::new("check_axpy_rows: v needs (rows - 1)·ld + d values, ld >= d, out d values"));
    }
    if simd { fast::axpy_rows(p, v, ld, d, &mut out) } else { scalar::axpy_rows(p, v, ld, d, &mut out) }
    Ok(out)
}

/// `x[..k] · w[j·ld..][..k]` for `j < n` (attention's scores against keys in place).
#[wasm_bindgen]
pub fn check_dot_rows(x: &[f32], k: usize, w: &[f32], ld: usize, n: usize, simd: bool) -> Result<Vec<f32>, JsError> {
    if n > 0 && (ld < k || x.len() < k || w.len() < (n - 1) * ld + k) {
        return Err(JsError::new("check_dot_rows: w needs (n - 1)·ld + k values, ld >= k, x k values"));
    }
    let mut out = vec![0.0; n];
    if simd { fast::dot_rows(x, k, w, ld, n, &mut out) } else { scalar::dot_rows(x, k, w, ld, n, &mut out) }
    Ok(out)
}

/// Whether `n` rows of `ld` floats, holding `heads / group` heads of `d`, fit in `len` floats.
fn heads_fit(heads: usize, d: usize, group: usize, ld: usize, len: usize, n: usize) -> bool {
    group >= 1 && heads % group == 0 && ld >= heads / group * d && (n == 0 || len >= (n - 1) * ld + heads / group * d)
}

/// Every head's scores against `n` key rows in one pass (decoding's attention), `[H][n]`.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn check_dot_rows_heads(q: &[f32], heads: usize, d: usize, group: usize, keys: &[f32], ld: usize, n: usize, simd: bool) -> Result<Vec<f32>, JsError> {
    if !heads_fit(heads, d, group, ld, keys.len(), n) || q.len() < heads * d {
        return Err(JsError::new("check_dot_rows_heads: group must divide heads, keys hold n rows of ld >= heads/group·d, q heads·d values"));
    }
    let mut out = vec![0.0; heads * n];
    if simd { fast::dot_rows_heads(q, heads, d, group, keys, ld, n, &mut out) } else { scalar::dot_rows_heads(q, heads, d, group, keys, ld, n, &mut out) }
    Ok(out)
}

/// `out` plus every head's weighted value rows in one pass (decoding's attention), `[H][D]`.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn check_axpy_rows_heads(p: &[f32], n: usize, heads: usize, d: usize, group: usize, values: &[f32], ld: usize, mut out: Vec<f32>, simd: bool) -> Result<Vec<f32>, JsError> {
    if !heads_fit(heads, d, group, ld, values.len(), n) || p.len() < heads * n || out.len() < heads * d {
        return Err(JsError::new("check_axpy_rows_heads: group must divide heads, values hold n rows of ld >= heads/group·d, p heads·n and out heads·d values"));
    }
    if simd { fast::axpy_rows_heads(p, n, heads, d, group, values, ld, &mut out) } else { scalar::axpy_rows_heads(p, n, heads, d, group, values, ld, &mut out) }
    Ok(out)
}

#[wasm_bindgen]
pub fn check_softmax(mut row: Vec<f32>, simd: bool) -> Vec<f32> {
    if simd { fast::softmax(&mut row) } else { scalar::softmax(&mut row) }
    row
}

/// LayerNorm of every row of `x: [M][C]`, `C = gamma.length`.
#[wasm_bindgen]
pub fn check_layer_norm(mut x: Vec<f32>, gamma: &[f32], beta: &[f32], eps: f32, simd: bool) -> Result<Vec<f32>, JsError> {
    if beta.len() != gamma.len() {
        return Err(JsError::new(&format!("beta has {} values and gamma {}: pass one of each per feature", beta.len(), gamma.len())));
    }
    if simd { fast::layer_norm(&mut x, gamma, beta, eps) } else { scalar::layer_norm(&mut x, gamma, beta, eps) }
    Ok(x)
}

#[wasm_bindgen]
pub fn check_rms_norm(mut x: Vec<f32>, gamma: &[f32], eps: f32, simd: bool) -> Vec<f32> {
    if simd { fast::rms_norm(&mut x, gamma, eps) } else { scalar::rms_norm(&mut x, gamma, eps) }
    x
}

/// An element-wise activation by name: `gelu_erf`, `gelu_tanh`, `relu`, `silu`, or `exp`.
#[wasm_bindgen]
pub fn check_activation(name: &str, mut x: Vec<f32>, simd: bool) -> Result<Vec<f32>, JsError> {
    let f: fn(&mut [f32]) = match (name, simd) {
        ("gelu_erf", true) => fast::gelu_erf,
        ("gelu_erf", false) => scalar::gelu_erf,
        ("gelu_tanh", true) => fast::gelu_tanh,
        ("gelu_tanh", false) => scalar::gelu_tanh,
        ("relu", true) => fast::relu,
        ("relu", false) => scalar::relu,
        ("silu", true) => fast::silu,
        ("silu", false) => scalar::silu,
        ("exp", true) => fast::exp_in_place,
        ("exp", false) => scalar::exp_in_place,
        _ => return Err(JsError::new(&format!("no activation named '{name}': use gelu_erf, gelu_tanh, relu, silu or exp"))),
    };
    f(&mut x);
    Ok(x)
}

/// Operands of one kernel kept in wasm memory, for timing from JavaScript without copies.
#[wasm_bindgen]
pub struct KernelBench {
    kind: BenchKind,
    m: usize,
    k: usize,
    n: usize,
    x: Vec<f32>,   // [M][K]
    w: Vec<f32>,   // [N][K] for `nk`, else unused
    out: Vec<f32>, // [M][N]
    linear: Option<Linear>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

#[derive(Clone, Copy, PartialEq)]
enum BenchKind {
    Linear,
    Nk,
    Softmax,
    LayerNorm,
    GeluErf,
    GeluTanh,
    /// Whole-text attention (`models::attention::attend`, nothing captured): `M` queries and keys,
    /// `K` heads of `N` floats, every query seeing every key.
    Attention,
    /// The machine's SIMD128 multiply-add peak: independent f32x4 multiplies and adds.
    Peak,
    /// Streaming read bandwidth: a sum over `K` floats (bigger than the caches), as one stream
    /// (`M` = 1) or as two halves side by side (`M` = 2).
    Stream,
}

#[wasm_bindgen]
impl KernelBench {
    /// `kind`: `linear` (`[M][K] x [K][N]` through `Linear`, f32 weights; `linear:f16`,
    /// `linear:bf16`, `linear:int8` for the other storages), `nk` (`matmul_nk`), the row kernels
    /// `softmax`, `layer_norm`, `gelu_erf`, `gelu_tanh` on `M` rows of `K`, or the machine's limits:
    /// `peak` (`K` steps of 64 flops) and `stream` (sum of `K` floats; `M` = 2: its two halves
    /// read side by side). Operands are pseudo-random
    /// in [-1, 1).
    #[wasm_bindgen(constructor)]
    pub fn new(kind: &str, m: usize, k: usize, n: usize, seed: u32) -> Result<KernelBench, JsError> {
        let (kind, storage) = match kind.split_once(':') {
            Some(("linear", s)) => ("linear", parse_storage(s)?),
            _ => (kind, Storage::F32),
        };
        let kind = match kind {
            "peak" => BenchKind::Peak,
            "stream" => BenchKind::Stream,
            "linear" => BenchKind::Linear,
            "nk" => BenchKind::Nk,
            "softmax" => BenchKind::Softmax,
            "layer_norm" => BenchKind::LayerNorm,
            "gelu_erf" => BenchKind::GeluErf,
            "gelu_tanh" => BenchKind::GeluTanh,
            "attention" => BenchKind::Attention,
            other => return Err(JsError::new(&format!("no benchmark named '{other}': use linear[:f16|:bf16|:int8], nk, attention, softmax, layer_norm, gelu_erf, gelu_tanh, peak or stream"))),
        };
        let mut state = seed as u64 ^ 0x9e37_79b9_7f4a_7c15;
        let mut rand = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|_| {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                })
                .collect()
        };
        let x = match kind {
            BenchKind::Stream => rand(k),
            BenchKind::Peak => rand(8),
            BenchKind::Attention => rand(m * k * n),
            _ => rand(m * k),
        };
        let (w, linear, out_len) = match kind {
            BenchKind::Linear => (Vec::new(), Some(Linear::from_stored(StoredMatrix::F32(rand(n * k)), Layout::OutIn, k, n, Some(rand(n)), Some(storage))), m * n),
            BenchKind::Peak => (rand(256), None, 0),
            BenchKind::Stream => (Vec::new(), None, 0),
            BenchKind::Nk => (rand(n * k), None, m * n),
            BenchKind::Attention => (rand(2 * m * k * n), None, 0), // keys, then values
            _ => (Vec::new(), None, 0),
        };
        Ok(KernelBench { kind, m, k, n, x, w, out: vec![0.0; out_len], linear, gamma: if kind == BenchKind::LayerNorm { rand(k) } else { Vec::new() }, beta: if kind == BenchKind::LayerNorm { rand(k) } else { Vec::new() } })
    }

    /// Runs the kernel `reps` times (SIMD or scalar twin) and returns a checksum of the last output.
    pub fn run(&mut self, simd: bool, reps: u32) -> f32 {
        let (m, k, n) = (self.m, self.k, self.n);
        for _ in 0..reps {
            match self.kind {
                BenchKind::Linear => {
                    if let Some(l) = &self.linear {
                        if simd {
                            l.forward_into(&self.x, m, &mut self.out);
                        } else {
                            l.forward_scalar_into(&self.x, m, &mut self.out);
                        }
                    }
                }
                BenchKind::Peak => {
                    let v = limits::peak(&self.x, &self.w, k);
                    self.out = vec![v];
                }
                BenchKind::Stream => {
                    let v = limits::stream(&self.x, m);
                    self.out = vec![v];
                }
                BenchKind::Nk => {
                    if simd {
                        fast::matmul_nk(&self.x, m, k, &self.w, n, &mut self.out)
                    } else {
                        scalar::matmul_nk(&self.x, m, k, &self.w, n, &mut self.out)
                    }
                }
                BenchKind::Attention => {
                    // The build's own attention whether `simd` or not (there is no scalar twin of it):
                    // bench/kernels.mjs times it only against another build.
                    use crate::models::attention::{attend, Mask, Recorder};
                    let hd = k * n;
                    let view = |at: usize| ndarray::ArrayView2::from_shape((m, hd), &self.w[at..at + m * hd]).expect("m x hd floats");
                    let q = ndarray::ArrayView2::from_shape((m, hd), &self.x[..m * hd]).expect("m x hd floats");
                    let mut rec = Recorder::new(crate::models::Capture::NONE, 1, k, m, m);
                    let ctx = attend(q, view(0), view(m * hd), k, n, 1.0 / (n as f32).sqrt(), Mask::Full, None, rec.layer(0));
                    self.out = ctx.into_raw_vec_and_offset().0;
                }
                // Row kernels work in place: restart from the same input each time.
                BenchKind::Softmax | BenchKind::LayerNorm | BenchKind::GeluErf | BenchKind::GeluTanh => {
                    self.out.clear();
                    self.out.extend_from_slice(&self.x);
                    let o = &mut self.out;
                    match (self.kind, simd) {
                        (BenchKind::Softmax, true) => o.chunks_exact_mut(k.max(1)).for_each(fast::softmax),
                        (BenchKind::Softmax, false) => o.chunks_exact_mut(k.max(1)).for_each(scalar::softmax),
                        (BenchKind::LayerNorm, true) => fast::layer_norm(o, &self.gamma, &self.beta, 1e-5),
                        (BenchKind::LayerNorm, false) => scalar::layer_norm(o, &self.gamma, &self.beta, 1e-5),
                        (BenchKind::GeluErf, true) => fast::gelu_erf(o),
                        (BenchKind::GeluErf, false) => scalar::gelu_erf(o),
                        (BenchKind::GeluTanh, true) => fast::gelu_tanh(o),
                        _ => scalar::gelu_tanh(o),
                    }
                }
            }
        }
        if let BenchKind::Peak | BenchKind::Stream = self.kind {
            return self.out.first().copied().unwrap_or(0.0);
        }
        self.out.iter().step_by(97).sum()
    }

    /// Floating-point operations of one run (2·M·K·N for the products, M·K for row kernels).
    pub fn flops(&self) -> f64 {
        match self.kind {
            BenchKind::Linear | BenchKind::Nk => 2.0 * (self.m * self.k * self.n) as f64,
            BenchKind::Attention => 4.0 * (self.m * self.m * self.k * self.n) as f64,
            BenchKind::Peak => 64.0 * self.k as f64,
            BenchKind::Stream => self.k as f64,
            _ => (self.m * self.k) as f64,
        }
    }

    /// Bytes of weights one run reads (what bounds decoding), or of the rows for row kernels.
    pub fn bytes(&self) -> f64 {
        match self.kind {
            BenchKind::Linear => self.linear.as_ref().map_or(0, Linear::bytes) as f64,
            BenchKind::Nk => 4.0 * (self.k * self.n) as f64,
            BenchKind::Stream => 4.0 * self.k as f64,
            _ => 4.0 * (self.m * self.k) as f64,
        }
    }
}

/// A model loaded for the benchmarks (`bench/compare.mjs`): a full forward, or a prompt fed then
/// one token per step, timed from JavaScript. The weight storage is chosen by name (`""`: the
/// file's own; seeded random weights when `weights` is absent).
#[wasm_bindgen]
pub struct BenchModel {
    model: crate::models::Model,
    state: Option<crate::models::DecoderState>,
}

#[wasm_bindgen]
impl BenchModel {
    #[wasm_bindgen(constructor)]
    pub fn new(config: &[u8], weights: Option<Vec<u8>>, storage: &str, seed: u32) -> Result<BenchModel, JsError> {
        let storage = if storage.is_empty() { None } else { Some(parse_storage(storage)?) };
        let files = crate::loader::ModelFiles { config, weights: weights.as_deref(), ..Default::default() };
        let model = crate::models::Model::load_with(&files, Some(seed as u64), storage).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(BenchModel { model, state: None })
    }

    /// One forward pass over `ids` (encoder-decoder: the decoder sees its start token), attention
    /// probabilities captured or not. Returns the first output value (a checksum).
    pub fn forward(&self, ids: &[u32], capture: bool) -> Result<f32, JsError> {
        let capture = if capture { crate::models::Capture::PROBS } else { crate::models::Capture::NONE };
        let out = self.model.forward(&crate::models::Inputs { ids, type_ids: None, decoder_ids: None }, capture).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(out.last_hidden_state.first().copied().unwrap_or(0.0))
    }

    /// The last hidden state of a forward pass over `ids` (no capture): `[T][C]`, for checking a
    /// peer's output equal.
    pub fn hidden(&self, ids: &[u32]) -> Result<Vec<f32>, JsError> {
        let out = self.model.forward(&crate::models::Inputs { ids, type_ids: None, decoder_ids: None }, crate::models::Capture::NONE).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(out.last_hidden_state)
    }

    /// Start decoding: encode `source` (encoder-decoder) and feed `prompt` (may be empty).
    pub fn start(&mut self, source: &[u32], prompt: &[u32]) -> Result<(), JsError> {
        let mut state = self.model.start_decoding(source).map_err(|e| JsError::new(&e.to_string()))?;
        if !prompt.is_empty() {
            self.model.feed(&mut state, prompt, crate::models::Capture::NONE).map_err(|e| JsError::new(&e.to_string()))?;
        }
        self.state = Some(state);
        Ok(())
    }

    /// Feed one token; returns its first logit.
    pub fn step(&mut self, id: u32) -> Result<f32, JsError> {
        let state = self.state.as_mut().ok_or_else(|| JsError::new("call start() before step()"))?;
        let out = self.model.feed(state, &[id], crate::models::Capture::NONE).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(out.logits.first().copied().unwrap_or(0.0))
    }

    /// Parameters of the model (all weights, embeddings included).
    pub fn n_params(&self) -> f64 {
        self.model.info().n_params as f64
    }
}

/// Bytes of this instance's wasm memory (what the tab pays; it never shrinks).
#[wasm_bindgen]
pub fn bench_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) * 65536) as f64
}

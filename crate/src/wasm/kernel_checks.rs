//! wasm exports that run one kernel, either its SIMD128 version (`simd = true`) or its scalar twin,
//! on inputs given from JavaScript, so the Node tests can check SIMD == scalar in the real binary,
//! and a [`KernelBench`] that keeps its operands in wasm memory so the benchmarks time the kernels,
//! not the copies across the boundary.
//!
//! In a build without `+simd128` there is no SIMD version: `simd = true` runs the scalar code and
//! [`kernels_simd128`] says so.

use wasm_bindgen::prelude::*;

use crate::kernels::{scalar, Linear};
#[cfg(target_feature = "simd128")]
use crate::kernels::simd128 as fast;
#[cfg(not(target_feature = "simd128"))]
use crate::kernels::scalar as fast;

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
}

#[wasm_bindgen]
impl KernelBench {
    /// `kind`: `linear` (`[M][K] x [K][N]` through `Linear`), `nk` (`matmul_nk`), or the row kernels
    /// `softmax`, `layer_norm`, `gelu_erf`, `gelu_tanh` on `M` rows of `K`. Operands are
    /// pseudo-random in [-1, 1).
    #[wasm_bindgen(constructor)]
    pub fn new(kind: &str, m: usize, k: usize, n: usize, seed: u32) -> Result<KernelBench, JsError> {
        let kind = match kind {
            "linear" => BenchKind::Linear,
            "nk" => BenchKind::Nk,
            "softmax" => BenchKind::Softmax,
            "layer_norm" => BenchKind::LayerNorm,
            "gelu_erf" => BenchKind::GeluErf,
            "gelu_tanh" => BenchKind::GeluTanh,
            other => return Err(JsError::new(&format!("no benchmark named '{other}': use linear, nk, softmax, layer_norm, gelu_erf or gelu_tanh"))),
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
        let x = rand(m * k);
        let (w, linear, out_len) = match kind {
            BenchKind::Linear => (Vec::new(), Some(Linear::from_out_in(&rand(n * k), n, k, Some(rand(n)))), m * n),
            BenchKind::Nk => (rand(n * k), None, m * n),
            _ => (Vec::new(), None, 0),
        };
        Ok(KernelBench { kind, m, k, n, x, w, out: vec![0.0; out_len], linear, gamma: rand(k), beta: rand(k) })
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
                BenchKind::Nk => {
                    if simd {
                        fast::matmul_nk(&self.x, m, k, &self.w, n, &mut self.out)
                    } else {
                        scalar::matmul_nk(&self.x, m, k, &self.w, n, &mut self.out)
                    }
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
        self.out.iter().step_by(97).sum()
    }

    /// Floating-point operations of one run (2·M·K·N for the products, M·K for row kernels).
    pub fn flops(&self) -> f64 {
        match self.kind {
            BenchKind::Linear | BenchKind::Nk => 2.0 * (self.m * self.k * self.n) as f64,
            _ => (self.m * self.k) as f64,
        }
    }

    /// Bytes of weights one run reads (what bounds decoding), or of the rows for row kernels.
    pub fn bytes(&self) -> f64 {
        match self.kind {
            BenchKind::Linear | BenchKind::Nk => 4.0 * (self.k * self.n) as f64,
            _ => 4.0 * (self.m * self.k) as f64,
        }
    }
}

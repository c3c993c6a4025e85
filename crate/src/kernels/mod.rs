//! Math kernels on contiguous `&[f32]` buffers, row-major.
//!
//! Each kernel has a scalar twin in [`scalar`], which is the reference and the fallback.
//! On wasm32 built with `+simd128` the SIMD versions in `simd128` are selected at compile
//! time; everywhere else the scalar code runs. Tests check the two agree on awkward lengths.
//!
//! Shape legend: `M` rows of activations (tokens), `K` input features, `N` output features.

pub mod scalar;
#[cfg(test)]
mod tests;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd128 as active;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use scalar as active;

/// Width of a weight panel: the GEMM microkernel computes outputs 8 columns (two f32x4) at a time.
pub const NR: usize = 8;

/// Re-lay `w: [K][N]` as `ceil(N/NR)` panels `[K][NR]`, each contiguous and k-major, the last one
/// padded with zero columns: one panel row is the 8 weights one activation value multiplies.
pub fn pack_panels(w_kn: &[f32], k: usize, n: usize) -> Vec<f32> {
    let n_panels = n.div_ceil(NR);
    let mut panels = vec![0.0; n_panels * NR * k]; // [N/NR][K][NR]
    for p in 0..n_panels {
        let cols = NR.min(n - p * NR);
        for kk in 0..k {
            let dst = p * NR * k + kk * NR;
            panels[dst..dst + cols].copy_from_slice(&w_kn[kk * n + p * NR..kk * n + p * NR + cols]);
        }
    }
    panels
}

/// A linear layer `y = x W^T + b`, with `W` kept in the layout the matmul kernel wants.
///
/// Built once at load time from either checkpoint layout:
/// `nn.Linear` stores `W` as `[N][K]` (out, in); GPT-2's `Conv1D` stores it as `[K][N]`.
/// Both are re-packed into k-major panels of [`NR`] columns ([`pack_panels`]), with the bias
/// padded to the panel width so the kernel starts its accumulators from it.
#[derive(Debug, Clone)]
pub struct Linear {
    pub d_in: usize,  // K
    pub d_out: usize, // N
    panels: Vec<f32>, // [N/NR][K][NR]
    bias: Vec<f32>,   // [N rounded up to NR], zeros when the layer has no bias
    has_bias: bool,
}

impl Linear {
    /// From the `nn.Linear` layout `[N][K]`.
    pub fn from_out_in(w: &[f32], d_out: usize, d_in: usize, bias: Option<Vec<f32>>) -> Self {
        debug_assert_eq!(w.len(), d_out * d_in);
        let mut w_kn = vec![0.0; d_in * d_out];
        for n in 0..d_out {
            for k in 0..d_in {
                w_kn[k * d_out + n] = w[n * d_in + k];
            }
        }
        Self::from_in_out(w_kn, d_in, d_out, bias)
    }

    /// From the GPT-2 `Conv1D` layout `[K][N]`.
    pub fn from_in_out(w: Vec<f32>, d_in: usize, d_out: usize, bias: Option<Vec<f32>>) -> Self {
        debug_assert_eq!(w.len(), d_out * d_in);
        let panels = pack_panels(&w, d_in, d_out);
        let mut padded = vec![0.0; d_out.div_ceil(NR) * NR];
        if let Some(b) = &bias {
            padded[..d_out].copy_from_slice(&b[..d_out]);
        }
        Linear { d_in, d_out, panels, bias: padded, has_bias: bias.is_some() }
    }

    /// `x: [M][K]` -> `[M][N]`.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows * self.d_out];
        self.forward_into(x, rows, &mut out);
        out
    }

    /// `x: [M][K]` -> `out: [M][N]`, without allocating.
    pub fn forward_into(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        debug_assert_eq!(x.len(), rows * self.d_in);
        active::gemm_packed(x, rows, self.d_in, &self.panels, self.d_out, &self.bias, out);
    }

    /// The same product computed by the scalar twin (for SIMD == scalar checks and benchmarks).
    pub fn forward_scalar(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows * self.d_out];
        self.forward_scalar_into(x, rows, &mut out);
        out
    }

    pub fn forward_scalar_into(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        scalar::gemm_packed(x, rows, self.d_in, &self.panels, self.d_out, &self.bias, out);
    }

    pub fn has_bias(&self) -> bool {
        self.has_bias
    }

    /// Number of stored parameters (weights + bias), not counting panel padding.
    pub fn n_params(&self) -> usize {
        self.d_in * self.d_out + if self.has_bias { self.d_out } else { 0 }
    }
}

/// `out[M][N] = x[M][K] · w[K][N] (+ bias[N])`.
pub fn matmul_kn(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<&[f32]>, out: &mut [f32]) {
    active::matmul_kn(x, m, k, w, n, bias, out)
}

/// `out[M][N] = x[M][K] · w[N][K]^T`: rows of `w` are dotted with rows of `x`
/// (a tied LM head reads the embedding table this way, attention scores read K this way).
pub fn matmul_nk(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, out: &mut [f32]) {
    active::matmul_nk(x, m, k, w, n, out)
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    active::dot(a, b)
}

/// `y += alpha * x`
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    active::axpy(alpha, x, y)
}

/// Numerically stable softmax of one row, in place. `-inf` entries become exactly 0.
pub fn softmax(row: &mut [f32]) {
    active::softmax(row)
}

/// LayerNorm over each row of `x: [M][C]`, in place: `(x - mean) / sqrt(var + eps) * gamma + beta`.
pub fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    active::layer_norm(x, gamma, beta, eps)
}

/// RMSNorm (T5) over each row of `x: [M][C]`, in place: `x / sqrt(mean(x^2) + eps) * gamma`.
pub fn rms_norm(x: &mut [f32], gamma: &[f32], eps: f32) {
    active::rms_norm(x, gamma, eps)
}

/// GELU, exact erf form (BERT, BART, `gelu` in configs).
pub fn gelu_erf(x: &mut [f32]) {
    active::gelu_erf(x)
}

/// GELU, tanh approximation (GPT-2 `gelu_new`, T5 v1.1 `gelu_new`).
pub fn gelu_tanh(x: &mut [f32]) {
    active::gelu_tanh(x)
}

pub fn relu(x: &mut [f32]) {
    active::relu(x)
}

/// SiLU / swish: `x * sigmoid(x)` (Marian configs may name it).
pub fn silu(x: &mut [f32]) {
    active::silu(x)
}

//! Math kernels on contiguous `&[f32]` buffers, row-major.
//!
//! Each kernel has a scalar twin in [`scalar`], which is the reference and the fallback.
//! On wasm32 built with `+simd128` the SIMD versions in `simd128` are selected at compile
//! time; everywhere else the scalar code runs. Tests check the two agree on awkward lengths.
//!
//! Shape legend: `M` rows of activations (tokens), `K` input features, `N` output features.

pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd128 as active;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use scalar as active;

/// A linear layer `y = x W^T + b`, with `W` kept in the layout the matmul kernel wants.
///
/// Built once at load time from either checkpoint layout:
/// `nn.Linear` stores `W` as `[N][K]` (out, in); GPT-2's `Conv1D` stores it as `[K][N]`.
#[derive(Debug, Clone)]
pub struct Linear {
    pub d_in: usize,  // K
    pub d_out: usize, // N
    /// `[K][N]`, k-major, so one activation value scales one contiguous weight row.
    w_kn: Vec<f32>,
    bias: Option<Vec<f32>>, // [N]
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
        Linear { d_in, d_out, w_kn, bias }
    }

    /// From the GPT-2 `Conv1D` layout `[K][N]`.
    pub fn from_in_out(w: Vec<f32>, d_in: usize, d_out: usize, bias: Option<Vec<f32>>) -> Self {
        debug_assert_eq!(w.len(), d_out * d_in);
        Linear { d_in, d_out, w_kn: w, bias }
    }

    /// `x: [M][K]` -> `[M][N]`.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        debug_assert_eq!(x.len(), rows * self.d_in);
        let mut out = vec![0.0; rows * self.d_out];
        active::matmul_kn(x, rows, self.d_in, &self.w_kn, self.d_out, self.bias.as_deref(), &mut out);
        out
    }

    /// Row `n` of `W` in the `[N][K]` sense, i.e. the weights feeding output `n` (for tied heads and teaching views).
    pub fn weight_kn(&self) -> &[f32] {
        &self.w_kn
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
    for v in x {
        *v = v.max(0.0);
    }
}

/// SiLU / swish: `x * sigmoid(x)` (Marian configs may name it).
pub fn silu(x: &mut [f32]) {
    for v in x {
        *v /= 1.0 + (-*v).exp();
    }
}

//! Scalar reference kernels: the plain loops every faster kernel is tested against.

/// `out[M][N] = x[M][K] · w[K][N] (+ bias[N])`
pub fn matmul_kn(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<&[f32]>, out: &mut [f32]) {
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        match bias {
            Some(b) => row.copy_from_slice(b),
            None => row.fill(0.0),
        }
        let xi = &x[i * k..(i + 1) * k];
        for (kk, &a) in xi.iter().enumerate() {
            if a == 0.0 {
                continue;
            }
            axpy(a, &w[kk * n..(kk + 1) * n], row);
        }
    }
}

/// `out[M][N] = x[M][K] · w[N][K]^T`
pub fn matmul_nk(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, out: &mut [f32]) {
    for i in 0..m {
        let xi = &x[i * k..(i + 1) * k];
        for j in 0..n {
            out[i * n + j] = dot(xi, &w[j * k..(j + 1) * k]);
        }
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

pub fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        // Every key is masked: nothing to attend to. Emit zeros rather than NaN.
        row.fill(0.0);
        return;
    }
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

pub fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let c = gamma.len();
    for row in x.chunks_exact_mut(c) {
        let mean = row.iter().sum::<f32>() / c as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / c as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

pub fn rms_norm(x: &mut [f32], gamma: &[f32], eps: f32) {
    let c = gamma.len();
    for row in x.chunks_exact_mut(c) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / c as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for (v, g) in row.iter_mut().zip(gamma) {
            *v = *v * inv * g;
        }
    }
}

pub fn gelu_erf(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * (1.0 + erf(*v / std::f32::consts::SQRT_2));
    }
}

pub fn gelu_tanh(x: &mut [f32]) {
    const C: f32 = 0.797_884_6; // sqrt(2/pi)
    for v in x {
        let u = *v;
        *v = 0.5 * u * (1.0 + (C * (u + 0.044715 * u * u * u)).tanh());
    }
}

/// erf to ~1e-7 absolute: Abramowitz & Stegun 7.1.26 evaluated in f64.
pub fn erf(x: f32) -> f32 {
    let x = x as f64;
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    (sign * (1.0 - poly * (-a * a).exp())) as f32
}

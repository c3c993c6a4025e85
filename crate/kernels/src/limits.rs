//! Probes of the machine's limits, for the benchmarks' "% of peak" and "% of bandwidth"
//! (built with the kernels, at their optimisation level).

/// `steps` x 64 flops: 4 broadcast values times 2 vectors re-loaded from `w` (in L1) into 8
/// independent accumulators, a multiply and an add each: what a GEMM tile does with nothing
/// else in the way.
#[cfg(target_feature = "simd128")]
pub fn peak(x: &[f32], w: &[f32], steps: usize) -> f32 {
    use core::arch::wasm32::*;
    let xs: [v128; 4] = core::array::from_fn(|r| f32x4_splat(x.get(r).copied().unwrap_or(1.0)));
    let mut acc = [[f32x4_splat(0.0); 2]; 4];
    let lanes = w.len() / 8 * 8;
    if lanes == 0 {
        return 0.0;
    }
    let mut at = 0;
    for _ in 0..steps {
        // SAFETY: at + 8 <= lanes <= w.len().
        let (w0, w1) = unsafe { (v128_load(w.as_ptr().add(at) as *const v128), v128_load(w.as_ptr().add(at + 4) as *const v128)) };
        for r in 0..4 {
            acc[r][0] = f32x4_add(acc[r][0], f32x4_mul(xs[r], w0));
            acc[r][1] = f32x4_add(acc[r][1], f32x4_mul(xs[r], w1));
        }
        at += 8;
        if at == lanes {
            at = 0;
        }
    }
    let mut sum = f32x4_splat(0.0);
    for a in acc {
        sum = f32x4_add(sum, f32x4_add(a[0], a[1]));
    }
    f32x4_extract_lane::<0>(sum)
}

/// Sum of `x`, 8 f32x4 accumulators: every byte read once. `two_streams`: the two halves side by
/// side (4 accumulators each), as decoding reads its weights. With a multiply-add per load, two
/// streams pulled 38 GB/s where one pulled 32 (natively on this Zen 5); a bare sum pulls about the
/// same either way (here one stream measured 38.5, two 35.9), so the benchmarks' bound takes the
/// larger of the two.
#[cfg(target_feature = "simd128")]
pub fn stream(x: &[f32], two_streams: bool) -> f32 {
    use core::arch::wasm32::*;
    let mut acc = [f32x4_splat(0.0); 8];
    let rest = if two_streams {
        let half = x.len() / 32 * 16;
        let (a, b) = (x.as_ptr(), x[half..].as_ptr());
        let mut i = 0;
        while i < half {
            for q in 0..4 {
                // SAFETY: i + 16 <= half, and the second half holds at least `half` floats.
                unsafe {
                    acc[q] = f32x4_add(acc[q], v128_load(a.add(i + 4 * q) as *const v128));
                    acc[4 + q] = f32x4_add(acc[4 + q], v128_load(b.add(i + 4 * q) as *const v128));
                }
            }
            i += 16;
        }
        &x[2 * half..]
    } else {
        let whole = x.len() / 32 * 32;
        let mut i = 0;
        while i < whole {
            for (q, a) in acc.iter_mut().enumerate() {
                // SAFETY: i + 32 <= whole <= x.len().
                *a = f32x4_add(*a, unsafe { v128_load(x.as_ptr().add(i + 4 * q) as *const v128) });
            }
            i += 32;
        }
        &x[whole..]
    };
    let mut sum = f32x4_splat(0.0);
    for a in acc {
        sum = f32x4_add(sum, a);
    }
    f32x4_extract_lane::<0>(sum) + rest.iter().sum::<f32>()
}

#[cfg(not(target_feature = "simd128"))]
pub fn peak(x: &[f32], w: &[f32], steps: usize) -> f32 {
    let mut acc = [0.0f32; 32];
    let lanes = w.len() / 8 * 8;
    if lanes == 0 {
        return 0.0;
    }
    let mut at = 0;
    for _ in 0..steps {
        for r in 0..4 {
            for c in 0..8 {
                acc[r * 8 + c] += x.get(r).copied().unwrap_or(1.0) * w[at + c];
            }
        }
        at = (at + 8) % lanes;
    }
    acc.iter().sum()
}

#[cfg(not(target_feature = "simd128"))]
pub fn stream(x: &[f32], _two_streams: bool) -> f32 {
    x.iter().sum()
}

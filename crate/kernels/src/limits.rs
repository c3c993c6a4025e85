//! Probes of the machine's limits, for the benchmarks' "% of peak" and "% of bandwidth"
//! (built with the kernels, at their optimisation level).

/// `steps` x 64 flops: 4 broadcast values times 2 vectors re-loaded from `w` (in L1) into 8
/// independent accumulators, a multiply and an add each (one fused multiply-add in the relaxed-SIMD
/// build, as its kernels do them): what a GEMM tile does with nothing else in the way.
#[cfg(target_feature = "simd128")]
pub fn peak(x: &[f32], w: &[f32], steps: usize) -> f32 {
    use super::simd128::madd;
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
            acc[r][0] = madd(acc[r][0], xs[r], w0);
            acc[r][1] = madd(acc[r][1], xs[r], w1);
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

/// Sum of `x`, 8 f32x4 accumulators: every byte read once, as `streams` (1, 2 or 4) equal parts side by
/// side (8 / `streams` accumulators each), as decoding reads its weights. With a multiply-add per load,
/// two streams pulled 38 GB/s where one pulled 32 (natively on a Zen 5); on an Intel Xeon VM whose
/// prefetcher falls behind, more streams kept more misses in flight. The benchmarks' bound takes the
/// largest figure. Other counts read as one stream.
#[cfg(target_feature = "simd128")]
pub fn stream(x: &[f32], streams: usize) -> f32 {
    use core::arch::wasm32::*;
    let mut acc = [f32x4_splat(0.0); 8];
    let s = if streams == 2 || streams == 4 { streams } else { 1 };
    // Each part a whole number of 32-float steps of this loop (8 vectors over `s` parts).
    let step = 32 / s;
    let part = x.len() / 32 * 32 / s;
    let per = 8 / s;
    let mut i = 0;
    while i + step <= part {
        for p in 0..s {
            // SAFETY: p * part + i + step <= s * part <= x.len().
            let at = unsafe { x.as_ptr().add(p * part + i) };
            for q in 0..per {
                acc[p * per + q] = f32x4_add(acc[p * per + q], unsafe { v128_load(at.add(4 * q) as *const v128) });
            }
        }
        i += step;
    }
    let mut sum = f32x4_splat(0.0);
    for a in acc {
        sum = f32x4_add(sum, a);
    }
    f32x4_extract_lane::<0>(sum) + x[s * part..].iter().sum::<f32>()
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
pub fn stream(x: &[f32], _streams: usize) -> f32 {
    x.iter().sum()
}

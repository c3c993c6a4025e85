//! Scalar twins: the reference every SIMD128 kernel is tested against, and the native path.
//!
//! Each function does, per output value, the same f32 operations in the same order as its twin
//! in `simd128.rs`, so the two agree bit for bit (wasm reproduces the native CLI). Where the SIMD
//! kernel keeps 4 partial sums in the lanes of a vector, the twin keeps them in a `[f32; 4]` and
//! folds them the same way ([`fold4`]); leftovers past the last whole chunk are explicit tail loops.
//! The loops are written in fixed-width chunks with independent accumulators so that the native
//! compiler can vectorise them too.

use super::{decode_group_sets, int8, panel_row, PanelRef, DECODE_GROUPS, GROUP_PANELS, NR, SUM_BLOCK};

/// How the 4 lane partial sums of a reduction are combined: `(l0 + l2) + (l1 + l3)`,
/// which is what a SIMD "add the swapped halves, then add the two remaining lanes" gives.
#[inline(always)]
pub fn fold4(l: [f32; 4]) -> f32 {
    (l[0] + l[2]) + (l[1] + l[3])
}

// ---------------------------------------------------------------------------------------------
// Matrix products

/// `out[M][N] = x[M][K] · W + bias` with `W` packed in panels of any [`super::Storage`]: f32
/// panels directly ([`gemm_packed`]); 16-bit and int8 panels are widened one panel at a time
/// ([`PanelRef::widen_block`], the exact values the SIMD kernels widen to) and multiplied the same way.
pub fn gemm(x: &[f32], m: usize, k: usize, w: PanelRef, n: usize, bias: &[f32], out: &mut [f32]) {
    // Two separate functions: inlined into one, the compiler stopped vectorising the f32 tiles
    // (5x slower).
    match w {
        PanelRef::F32(panels) => gemm_packed(x, m, k, panels, n, bias, out),
        PanelRef::Int8 { q } => int8::gemm(x, m, k, int8::Int8Ref { q }, n, bias, out, int8::scalar_tile, int8::quantize_group),
        _ => gemm_widened(x, m, k, w, n, bias, out),
    }
}

fn gemm_widened(x: &[f32], m: usize, k: usize, w: PanelRef, n: usize, bias: &[f32], out: &mut [f32]) {
    gemm_widened_impl(x, m, k, w, n, bias, out, |panel, p, out| panel_rows_apart(x, m, k, panel, p, n, bias, out))
}

/// [`panel_rows`] as a function of its own: inlined into the widening loop, its tiles were not
/// vectorised.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn panel_rows_apart(x: &[f32], m: usize, k: usize, panel: &[f32], p: usize, n: usize, bias: &[f32], out: &mut [f32]) {
    panel_rows(x, m, k, panel, p, n, bias, out)
}

/// Decoding (M < 4): each panel row widened in registers as the SIMD kernel does (a 16-bit pair
/// read as one u32: the low half shifted up is column `l`, the high half masked is column `l + 4`),
/// 4 panels per pass (each output's sum is the SIMD kernel's, whichever panels it takes together);
/// prefill: each panel widened to f32 in turn, then `rows(panel, p, out)` multiplies every row by it.
/// Either way each output is `bias + Σ_k x[k]·w[k]` in k order, in runs of [`SUM_BLOCK`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemm_widened_impl(x: &[f32], m: usize, k: usize, w: PanelRef, n: usize, bias: &[f32], out: &mut [f32], rows: impl Fn(&[f32], usize, &mut [f32])) {
    let n_panels = n.div_ceil(NR);
    assert!(x.len() >= m * k && bias.len() >= n_panels * NR && out.len() >= m * n);
    if m < 4 {
        match w {
            PanelRef::BF16(h) => gemv_rows(x, m, k, n, bias, out, |p, kk| {
                let u = pairs(h, panel_row(k, n_panels, p, kk));
                let lo = u.map(|v| f32::from_bits(v << 16));
                let hi = u.map(|v| f32::from_bits(v & 0xFFFF_0000));
                [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]]
            }),
            PanelRef::F16 { bits: h, shift } => {
                // The weights times 2^-S (no re-bias multiply), `x · scales.x`, `bias / scales.sum`,
                // the sums times `scales.sum`: the SIMD kernel's order (see `simd128::Src::SCALED`).
                let scales = crate::F16Scales::for_shift(shift);
                let xs: Vec<f32> = x[..m * k].iter().map(|&v| v * scales.x).collect();
                let bs: Vec<f32> = bias[..n_panels * NR].iter().map(|&b| b * (1.0 / scales.sum)).collect();
                gemv_rows(&xs, m, k, n, &bs, out, |p, kk| {
                    let u = pairs(h, panel_row(k, n_panels, p, kk));
                    let lo = u.map(|v| f16_high_to_scaled_f32(v << 16));
                    let hi = u.map(f16_high_to_scaled_f32);
                    [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]]
                });
                out[..m * n].iter_mut().for_each(|v| *v *= scales.sum);
            }
            // Int8 has a product of its own (integer sums, the same for every M).
            PanelRef::Int8 { q } => int8::gemm(x, m, k, int8::Int8Ref { q }, n, bias, out, int8::scalar_tile, int8::quantize_group),
            PanelRef::F32(f) => gemv_rows(x, m, k, n, bias, out, |p, kk| f[panel_row(k, n_panels, p, kk)..][..NR].try_into().unwrap_or([0.0; NR])),
        }
        return;
    }
    let mut panel = vec![0.0f32; k * NR]; // [K][NR], one panel widened
    for p in 0..n_panels {
        w.widen_block(k, n, p, 0, k, &mut panel);
        rows(&panel, p, out);
    }
}

/// Four u32 made of the 16-bit pairs at `at..at + 8`: the low half holds column `l`, the high half
/// column `l + 4` ([`super::half_slot`]).
#[inline(always)]
fn pairs(h: &[u16], at: usize) -> [u32; 4] {
    let r = &h[at..at + 8];
    std::array::from_fn(|l| r[2 * l] as u32 | (r[2 * l + 1] as u32) << 16)
}

/// f16 panel bits ([`crate::f16_to_panel_bits`]) in the high half of `v` -> the weight times
/// 2^-(112 - shift) (as the SIMD kernel widens: shift the exponent and mantissa into place, drop the
/// sign copies; the scale, [`crate::F16Scales`], is left to the caller).
#[inline(always)]
pub(crate) fn f16_high_to_scaled_f32(v: u32) -> f32 {
    f32::from_bits(((v as i32 >> 3) as u32) & 0x8FFF_E000)
}

/// `out[i] = bias + x[i] · W` for each of the `m` rows, panel rows from `row(p, kk)` (widened),
/// 4 panels per pass.
#[inline(always)]
fn gemv_rows(x: &[f32], m: usize, k: usize, n: usize, bias: &[f32], out: &mut [f32], row: impl Fn(usize, usize) -> [f32; NR]) {
    let n_panels = n.div_ceil(NR);
    for i in 0..m {
        let xr = &x[i * k..(i + 1) * k];
        let o = &mut out[i * n..(i + 1) * n];
        let mut p = 0;
        while p < n_panels {
            let count = 4.min(n_panels - p);
            let mut total = [[0.0f32; NR]; 4];
            for (q, total_q) in total.iter_mut().enumerate().take(count) {
                total_q.copy_from_slice(&bias[(p + q) * NR..(p + q + 1) * NR]);
            }
            // Runs of SUM_BLOCK k (see `SUM_BLOCK`): the first from the bias, the others from zero.
            for (b, xb) in xr.chunks(SUM_BLOCK).enumerate() {
                let k0 = b * SUM_BLOCK;
                let mut acc = if b == 0 { total } else { [[0.0f32; NR]; 4] };
                if count == 4 {
                    for (kb, &a) in xb.iter().enumerate() {
                        for (q, acc_q) in acc.iter_mut().enumerate() {
                            let wr = row(p + q, k0 + kb);
                            for c in 0..NR {
                                acc_q[c] += a * wr[c];
                            }
                        }
                    }
                } else {
                    for (kb, &a) in xb.iter().enumerate() {
                        for (q, acc_q) in acc.iter_mut().enumerate().take(count) {
                            let wr = row(p + q, k0 + kb);
                            for c in 0..NR {
                                acc_q[c] += a * wr[c];
                            }
                        }
                    }
                }
                add_run(&mut total, &acc, b == 0);
            }
            let acc = total;
            for (q, acc_q) in acc.iter().enumerate().take(count) {
                let col = (p + q) * NR;
                let cols = NR.min(n - col);
                o[col..col + cols].copy_from_slice(&acc_q[..cols]);
            }
            p += count;
        }
    }
}

/// The natively compiled twins again, with AVX2 enabled so that the compiler's vectoriser uses
/// 256-bit registers. Multiplies and adds stay separate (no FMA contraction), so every output is
/// bit for bit what [`gemm`] and [`matmul_nk`] give. Callers check `is_x86_feature_detected!`.
#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    use super::*;
    use crate::panel_ld;

    /// # Safety
    /// The CPU must support AVX2.
    pub unsafe fn gemm(x: &[f32], m: usize, k: usize, w: PanelRef, n: usize, bias: &[f32], out: &mut [f32]) {
        match w {
            PanelRef::F32(panels) => gemm_packed(x, m, k, panels, n, bias, out),
            PanelRef::F16 { bits, shift } if m < 4 => gemv_half(x, m, k, bits, Some(crate::F16Scales::for_shift(shift)), n, bias, out),
            PanelRef::BF16(h) if m < 4 => gemv_half(x, m, k, h, None, n, bias, out),
            PanelRef::Int8 { q } => int8::avx2::gemm(x, m, k, int8::Int8Ref { q }, n, bias, out),
            _ => gemm_widened(x, m, k, w, n, bias, out),
        }
    }

    /// Decoding on 16-bit panels: [`gemv_rows`] with the row widened as [`pairs`] does (the low half
    /// of each u32 shifted up is column `l`, the high half masked is column `l + 4`; f16 through
    /// [`f16_high_to_f32`]'s shift, mask and re-bias), the 8 columns of a panel row in one register.
    /// Multiplies and adds stay separate: the same bits as the twin. The compiler does not vectorise
    /// the twin's widening closure, so this is written out (10x the twin's GB/s).
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemv_half(x: &[f32], m: usize, k: usize, h: &[u16], f16_scales: Option<crate::F16Scales>, n: usize, bias: &[f32], out: &mut [f32]) {
        use std::arch::x86_64::*;
        let n_panels = n.div_ceil(NR);
        assert!(h.len() >= n_panels * NR * k && x.len() >= m * k && bias.len() >= n_panels * NR && out.len() >= m * n);
        let high = _mm_set1_epi32(0xFFFF_0000u32 as i32);
        let f16_bits = _mm256_set1_epi32(0x8FFF_E000u32 as i32);
        // f16: the weights times 2^-S against `x · scales.x`, from `bias / scales.sum`, sums times
        // `scales.sum` (the twin's order).
        const GP: usize = GROUP_PANELS;
        let f16 = f16_scales.is_some();
        let (x_scale, sum_scale) = f16_scales.map_or((1.0, 1.0), |s| (s.x, s.sum));
        let bias_scale = 1.0 / sum_scale;
        let xs: Vec<f32> = x[..m * k].iter().map(|&v| if f16 { v * x_scale } else { v }).collect();
        // SAFETY (all loads below): the assert above bounds every panel row, bias and x read.
        let row = |at: usize| {
            let u = _mm_loadu_si128(h.as_ptr().add(at) as *const __m128i); // 8 x u16 = 4 pairs
            let bits = _mm256_set_m128i(_mm_and_si128(u, high), _mm_slli_epi32(u, 16)); // columns 0..8
            if f16 {
                _mm256_castsi256_ps(_mm256_and_si256(_mm256_srai_epi32(bits, 3), f16_bits))
            } else {
                _mm256_castsi256_ps(bits)
            }
        };
        // Decodes `count` (1..=GP·DECODE_GROUPS) panels `firsts[q]` (each group's panels side by side:
        // `firsts` are the panels of one group, then of the next group taken) against row `i`.
        let panels = |i: usize, firsts: &[usize], out: &mut [f32]| {
            let xr = &xs[i * k..(i + 1) * k];
            let count = firsts.len();
            let mut acc = [_mm256_setzero_ps(); GP * DECODE_GROUPS];
            let (mut base, mut ld) = ([0usize; GP * DECODE_GROUPS], [0usize; GP * DECODE_GROUPS]);
            for (q, a) in acc.iter_mut().enumerate().take(count) {
                *a = _mm256_loadu_ps(bias.as_ptr().add(firsts[q] * NR));
                if f16 {
                    *a = _mm256_mul_ps(*a, _mm256_set1_ps(bias_scale));
                }
                (base[q], ld[q]) = (panel_row(k, n_panels, firsts[q], 0), panel_ld(n_panels, firsts[q]));
            }
            // Runs of SUM_BLOCK k (see `SUM_BLOCK`): the first from the bias, the others from zero.
            let mut total = acc;
            for (b, xb) in xr.chunks(SUM_BLOCK).enumerate() {
                let k0 = b * SUM_BLOCK;
                if b > 0 {
                    acc = [_mm256_setzero_ps(); GP * DECODE_GROUPS];
                }
                if count == GP * DECODE_GROUPS {
                    for (kb, &a) in xb.iter().enumerate() {
                        let av = _mm256_set1_ps(a);
                        for (q, acc_q) in acc.iter_mut().enumerate() {
                            *acc_q = _mm256_add_ps(*acc_q, _mm256_mul_ps(av, row(base[q] + (k0 + kb) * ld[q])));
                        }
                    }
                } else {
                    for (kb, &a) in xb.iter().enumerate() {
                        let av = _mm256_set1_ps(a);
                        for (q, acc_q) in acc.iter_mut().enumerate().take(count) {
                            *acc_q = _mm256_add_ps(*acc_q, _mm256_mul_ps(av, row(base[q] + (k0 + kb) * ld[q])));
                        }
                    }
                }
                for (t, a) in total.iter_mut().zip(&acc) {
                    *t = if b == 0 { *a } else { _mm256_add_ps(*t, *a) };
                }
            }
            let acc = total;
            for (q, acc_q) in acc.iter().enumerate().take(count) {
                let mut lanes = [0.0f32; NR];
                _mm256_storeu_ps(lanes.as_mut_ptr(), if f16 { _mm256_mul_ps(*acc_q, _mm256_set1_ps(sum_scale)) } else { *acc_q });
                let col = firsts[q] * NR;
                let cols = NR.min(n - col);
                out[i * n + col..i * n + col + cols].copy_from_slice(&lanes[..cols]);
            }
        };
        let whole = n_panels / GP;
        for (groups, count) in decode_group_sets(whole, crate::decode_wide()) {
            let mut firsts = [0usize; GP * DECODE_GROUPS];
            for (s, &g) in groups[..count].iter().enumerate() {
                for q in 0..GP {
                    firsts[GP * s + q] = g * GP + q;
                }
            }
            for i in 0..m {
                panels(i, &firsts[..GP * count], out);
            }
        }
        for p in whole * GP..n_panels {
            for i in 0..m {
                panels(i, &[p], out);
            }
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline(never)]
    unsafe fn gemm_packed(x: &[f32], m: usize, k: usize, panels: &[f32], n: usize, bias: &[f32], out: &mut [f32]) {
        // SAFETY: the caller checked AVX2.
        gemm_packed_impl(x, m, k, panels, n, bias, out, |panel, p, out| unsafe { panel_rows_avx2(x, m, k, panel, p, n, bias, out) })
    }

    unsafe fn gemm_widened(x: &[f32], m: usize, k: usize, w: PanelRef, n: usize, bias: &[f32], out: &mut [f32]) {
        // SAFETY: the caller checked AVX2.
        gemm_widened_impl(x, m, k, w, n, bias, out, |panel, p, out| unsafe { panel_rows_avx2(x, m, k, panel, p, n, bias, out) })
    }

    #[target_feature(enable = "avx2")]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn panel_rows_avx2(x: &[f32], m: usize, k: usize, panel: &[f32], p: usize, n: usize, bias: &[f32], out: &mut [f32]) {
        panel_rows(x, m, k, panel, p, n, bias, out)
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_rows(x: &[f32], k: usize, w: &[f32], ld: usize, n: usize, out: &mut [f32]) {
        dot_rows_impl(x, k, w, ld, n, out)
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn dot_rows_heads(q: &[f32], n_heads: usize, d: usize, group: usize, keys: &[f32], ld: usize, n: usize, out: &mut [f32]) {
        dot_rows_heads_impl(q, n_heads, d, group, keys, ld, n, out)
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn matmul_nk(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, out: &mut [f32]) {
        matmul_nk_impl(x, m, k, w, n, out)
    }
}

/// `out[M][N] = x[M][K] · W (+ bias)` with `W` packed in f32 panels of [`NR`] columns (see
/// [`super::pack_panels`]) and `bias: [N rounded up to NR]` (zeros when the layer has none).
///
/// Every output is `bias + x[0]·w[0] + x[1]·w[1] + ...` accumulated in k order in runs of
/// [`SUM_BLOCK`], whatever the tiling, so M = 1 (decoding) and M > 1 (prefill) give the same numbers
/// for the same row.
pub fn gemm_packed(x: &[f32], m: usize, k: usize, panels: &[f32], n: usize, bias: &[f32], out: &mut [f32]) {
    gemm_packed_impl(x, m, k, panels, n, bias, out, |panel, p, out| panel_rows_apart(x, m, k, panel, p, n, bias, out))
}

/// `rows(panel, p, out)` multiplies every row by one gathered panel (a function of its own, so that
/// the compiler vectorises its tiles: see [`panel_rows_apart`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemm_packed_impl(x: &[f32], m: usize, k: usize, panels: &[f32], n: usize, bias: &[f32], out: &mut [f32], rows: impl Fn(&[f32], usize, &mut [f32])) {
    let n_panels = n.div_ceil(NR);
    assert!(x.len() >= m * k && panels.len() >= n_panels * NR * k && bias.len() >= n_panels * NR && out.len() >= m * n);
    let mut p = 0;
    if m < 4 {
        // Decoding: DECODE_GROUPS whole groups per pass, a share of a matrix apart (as many streams
        // as the SIMD kernel), DECODE_GROUPS·GROUP_PANELS·NR independent sums per activation; a
        // group's rows are `GROUP_PANELS·NR` apart.
        const GP: usize = GROUP_PANELS;
        let group = |g: usize| &panels[panel_row(k, n_panels, g * GP, 0)..];
        for (groups, count) in decode_group_sets(n_panels / GP, crate::decode_wide()) {
            for i in 0..m {
                let (xi, row) = (&x[i * k..(i + 1) * k], &mut out[i * n..(i + 1) * n]);
                if count == DECODE_GROUPS {
                    tile_panels::<DECODE_GROUPS, GP>(xi, k, groups.map(group), bias, row, groups.map(|g| g * GP));
                } else {
                    tile_panels::<1, GP>(xi, k, [group(groups[0])], bias, row, [groups[0] * GP]);
                }
            }
        }
        p = n_panels / GP * GP;
    }
    // Prefill (and the last group's odd panels): each panel gathered into a contiguous `[K][NR]`
    // (its rows sit a group's width apart), then every row times it.
    let mut panel = vec![0.0f32; k * NR];
    for p in p..n_panels {
        PanelRef::F32(panels).widen_block(k, n, p, 0, k, &mut panel);
        rows(&panel, p, out);
    }
}

/// Every row of `x` times panel `p` (`panel: [K][NR]`, f32): outputs `p·NR..` of each row.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn panel_rows(x: &[f32], m: usize, k: usize, panel: &[f32], p: usize, n: usize, bias: &[f32], out: &mut [f32]) {
    let b: &[f32; NR] = bias[p * NR..(p + 1) * NR].try_into().unwrap_or(&[0.0; NR]);
    let cols = NR.min(n - p * NR);
    let mut i = 0;
    while i + 4 <= m {
        tile_packed::<4>(&x[i * k..(i + 4) * k], k, panel, b, &mut out[i * n + p * NR..], n, cols);
        i += 4;
    }
    while i < m {
        tile_packed::<1>(&x[i * k..(i + 1) * k], k, panel, b, &mut out[i * n + p * NR..], n, cols);
        i += 1;
    }
}

/// One row of `x` times `G` whole groups of `P` panels, group `g` from panel `firsts[g]`
/// (`groups[g]: [K][P][NR]` from that group's row 0; `bias` and `out`, the row, from column 0).
#[inline(always)]
fn tile_panels<const G: usize, const P: usize>(x: &[f32], k: usize, groups: [&[f32]; G], bias: &[f32], out: &mut [f32], firsts: [usize; G]) {
    let mut total = [[[0.0f32; NR]; P]; G];
    for g in 0..G {
        for (q, total_q) in total[g].iter_mut().enumerate() {
            total_q.copy_from_slice(&bias[(firsts[g] + q) * NR..(firsts[g] + q + 1) * NR]);
        }
    }
    // Runs of SUM_BLOCK k (see `SUM_BLOCK`): the first from the bias, the others from zero.
    for (b, xb) in x[..k].chunks(SUM_BLOCK).enumerate() {
        let k0 = b * SUM_BLOCK;
        let mut acc = if b == 0 { total } else { [[[0.0f32; NR]; P]; G] };
        for (kb, &a) in xb.iter().enumerate() {
            let kk = k0 + kb;
            for g in 0..G {
                let rows = &groups[g][kk * P * NR..(kk + 1) * P * NR];
                for q in 0..P {
                    let w = &rows[q * NR..(q + 1) * NR];
                    for c in 0..NR {
                        acc[g][q][c] += a * w[c];
                    }
                }
            }
        }
        for g in 0..G {
            add_run(&mut total[g], &acc[g], b == 0);
        }
    }
    let acc = total;
    let n = out.len();
    for g in 0..G {
        for (q, acc_q) in acc[g].iter().enumerate() {
            let col = (firsts[g] + q) * NR;
            let cols = NR.min(n - col);
            out[col..col + cols].copy_from_slice(&acc_q[..cols]);
        }
    }
}

/// Adds one run's sums ([`SUM_BLOCK`]) to the totals; the first run's sums (which started from the
/// bias) become the totals as they are.
#[inline(always)]
fn add_run<const R: usize>(total: &mut [[f32; NR]; R], run: &[[f32; NR]; R], first: bool) {
    if first {
        *total = *run;
        return;
    }
    for (t, r) in total.iter_mut().zip(run) {
        for c in 0..NR {
            t[c] += r[c];
        }
    }
}

/// `R` rows of `x` times one panel: `R x NR` accumulators.
#[inline(always)]
fn tile_packed<const R: usize>(x: &[f32], k: usize, panel: &[f32], bias: &[f32; NR], out: &mut [f32], ld_out: usize, cols: usize) {
    let mut total = [*bias; R];
    // Runs of SUM_BLOCK k (see `SUM_BLOCK`): the first from the bias, the others from zero.
    for (b, run) in panel[..k * NR].chunks(SUM_BLOCK * NR).enumerate() {
        let k0 = b * SUM_BLOCK;
        let mut acc = if b == 0 { total } else { [[0.0f32; NR]; R] };
        for (kb, w) in run.chunks_exact(NR).enumerate() {
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let a = x[r * k + k0 + kb];
                for (c, &wc) in w.iter().enumerate() {
                    acc_r[c] += a * wc;
                }
            }
        }
        add_run(&mut total, &acc, b == 0);
    }
    let acc = total;
    for (r, acc_r) in acc.iter().enumerate() {
        out[r * ld_out..r * ld_out + cols].copy_from_slice(&acc_r[..cols]);
    }
}

/// `out[M][N] = x[M][K] · w[K][N] (+ bias[N])`, `w` unpacked, k-major.
pub fn matmul_kn(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<&[f32]>, out: &mut [f32]) {
    matmul_kn_with(x, m, k, w, n, bias, out, axpy)
}

/// [`matmul_kn`] with the `axpy` of one kernel set (this one's, or the SIMD twin's: the same bits).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_kn_with(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<&[f32]>, out: &mut [f32], axpy: impl Fn(f32, &[f32], &mut [f32])) {
    assert!(x.len() >= m * k && w.len() >= k * n && out.len() >= m * n && bias.is_none_or(|b| b.len() >= n));
    // Runs of `SUM_BLOCK` k, as the packed products sum (see `SUM_BLOCK`): the first into the row
    // (from the bias), each later one into `run` (from zero), then added to the row.
    let mut run = if k > SUM_BLOCK { vec![0.0f32; n] } else { Vec::new() };
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        match bias {
            Some(b) => row.copy_from_slice(&b[..n]),
            None => row.fill(0.0),
        }
        for (b, xb) in x[i * k..(i + 1) * k].chunks(SUM_BLOCK).enumerate() {
            let k0 = b * SUM_BLOCK;
            let sums: &mut [f32] = if b == 0 { row } else { &mut run };
            if b > 0 {
                sums.fill(0.0);
            }
            for (kb, &a) in xb.iter().enumerate() {
                axpy(a, &w[(k0 + kb) * n..(k0 + kb + 1) * n], sums);
            }
            if b > 0 {
                row.iter_mut().zip(&run).for_each(|(o, r)| *o += r);
            }
        }
    }
}

/// `out[M][N] = x[M][K] · w[N][K]^T`: each output is a [`dot8`] of a row of `x` and a row of `w`
/// when M = 1 (decoding: the SIMD kernel streams 4 rows of `w` at once, 2 vectors each), a
/// [`dot4`] when M > 1 (the SIMD prefill tiles keep 4 lane sums per output).
pub fn matmul_nk(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, out: &mut [f32]) {
    matmul_nk_impl(x, m, k, w, n, out)
}

#[inline(always)]
fn matmul_nk_impl(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, out: &mut [f32]) {
    assert!(x.len() >= m * k && w.len() >= n * k && out.len() >= m * n);
    if m == 1 {
        let xr = &x[..k];
        for (j, o) in out[..n].iter_mut().enumerate() {
            *o = dot8(xr, &w[j * k..(j + 1) * k]);
        }
        return;
    }
    // Prefill: 4 rows of `w` (kept in cache) against each row of `x`; the same `dot4` per output,
    // computed 16 lane sums at a time so the compiler can vectorise it.
    let whole = k / 4 * 4;
    let mut j = 0;
    while j + 4 <= n {
        let wj: [&[f32]; 4] = std::array::from_fn(|c| &w[(j + c) * k..(j + c + 1) * k]);
        for i in 0..m {
            let xi = &x[i * k..(i + 1) * k];
            let mut lanes = [[0.0f32; 4]; 4];
            for kk in (0..whole).step_by(4) {
                let xc = lane4(xi, kk);
                for (c, lanes_c) in lanes.iter_mut().enumerate() {
                    let wc = lane4(wj[c], kk);
                    for l in 0..4 {
                        lanes_c[l] += xc[l] * wc[l];
                    }
                }
            }
            for (c, lanes_c) in lanes.iter().enumerate() {
                let mut sum = fold4(*lanes_c);
                for kk in whole..k {
                    sum += xi[kk] * wj[c][kk];
                }
                out[i * n + j + c] = sum;
            }
        }
        j += 4;
    }
    for j in j..n {
        for i in 0..m {
            out[i * n + j] = dot4(&x[i * k..(i + 1) * k], &w[j * k..(j + 1) * k]);
        }
    }
}

/// `out[j] = dot8(x[..K], w[j·ld..][..K])` for `j < N` (see [`super::dot_rows`]).
pub fn dot_rows(x: &[f32], k: usize, w: &[f32], ld: usize, n: usize, out: &mut [f32]) {
    dot_rows_impl(x, k, w, ld, n, out)
}

#[inline(always)]
fn dot_rows_impl(x: &[f32], k: usize, w: &[f32], ld: usize, n: usize, out: &mut [f32]) {
    let xr = &x[..k];
    for (j, o) in out[..n].iter_mut().enumerate() {
        *o = dot8(xr, &w[j * ld..j * ld + k]);
    }
}

/// `v[at..at + 4]` as an array (one bounds check instead of four).
#[inline(always)]
fn lane4(v: &[f32], at: usize) -> [f32; 4] {
    let c = &v[at..at + 4];
    [c[0], c[1], c[2], c[3]]
}

/// Eight partial sums (two vectors of four lanes): `lanes[j]` sums the products at `k ≡ j (mod 8)`;
/// lane-wise `a0 + a1` folds them to four, [`fold4`] to one, then the tail (`K mod 8`) in order.
#[inline(always)]
pub fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let whole = len / 8 * 8;
    let mut lanes = [0.0f32; 8];
    for (ca, cb) in a[..whole].chunks_exact(8).zip(b[..whole].chunks_exact(8)) {
        for j in 0..8 {
            lanes[j] += ca[j] * cb[j];
        }
    }
    let mut sum = fold4(std::array::from_fn(|l| lanes[l] + lanes[4 + l]));
    for i in whole..len {
        sum += a[i] * b[i];
    }
    sum
}

/// Four partial sums: lane `l` sums the products at `k ≡ l (mod 4)`, [`fold4`], then the tail.
pub fn dot4(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let whole = len / 4 * 4;
    let mut lanes = [0.0f32; 4];
    for (ca, cb) in a[..whole].chunks_exact(4).zip(b[..whole].chunks_exact(4)) {
        for l in 0..4 {
            lanes[l] += ca[l] * cb[l];
        }
    }
    let mut sum = fold4(lanes);
    for i in whole..len {
        sum += a[i] * b[i];
    }
    sum
}

/// Sixteen partial sums, as the SIMD kernel's four accumulators of four lanes: `lanes[j]` sums the
/// products at `k ≡ j (mod 16)`; lane-wise `(a0 + a1) + (a2 + a3)` folds them to four, [`fold4`] to
/// one, then the tail (`K mod 16` products) is added in order.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let whole = len / 16 * 16;
    let mut lanes = [0.0f32; 16];
    for (ca, cb) in a[..whole].chunks_exact(16).zip(b[..whole].chunks_exact(16)) {
        for j in 0..16 {
            lanes[j] += ca[j] * cb[j];
        }
    }
    let mut sum = fold4(std::array::from_fn(|l| (lanes[l] + lanes[4 + l]) + (lanes[8 + l] + lanes[12 + l])));
    for i in whole..len {
        sum += a[i] * b[i];
    }
    sum
}

/// `y += alpha * x`
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// [`super::dot_rows_heads`]: row by row, every head of a row before the next row.
#[allow(clippy::too_many_arguments)]
pub fn dot_rows_heads(q: &[f32], n_heads: usize, d: usize, group: usize, keys: &[f32], ld: usize, n: usize, out: &mut [f32]) {
    dot_rows_heads_impl(q, n_heads, d, group, keys, ld, n, out)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn dot_rows_heads_impl(q: &[f32], n_heads: usize, d: usize, group: usize, keys: &[f32], ld: usize, n: usize, out: &mut [f32]) {
    for j in 0..n {
        let row = &keys[j * ld..];
        for h in 0..n_heads {
            let kv = h / group;
            out[h * n + j] = dot8(&q[h * d..(h + 1) * d], &row[kv * d..(kv + 1) * d]);
        }
    }
}

/// [`super::axpy_rows_heads`]: row by row, one [`axpy`] per head whose weight is not 0.
#[allow(clippy::too_many_arguments)]
pub fn axpy_rows_heads(p: &[f32], n: usize, n_heads: usize, d: usize, group: usize, values: &[f32], ld: usize, out: &mut [f32]) {
    for j in 0..n {
        let row = &values[j * ld..];
        for h in 0..n_heads {
            let (pj, kv) = (p[h * n + j], h / group);
            if pj != 0.0 {
                axpy(pj, &row[kv * d..(kv + 1) * d], &mut out[h * d..(h + 1) * d]);
            }
        }
    }
}

/// `out[..D] += Σ_j p[j] · v[j·ld..][..D]`, `j` in order, rows whose `p[j]` is 0 skipped: the same
/// numbers as one [`axpy`] per non-zero `p[j]` (see [`super::axpy_rows`]).
pub fn axpy_rows(p: &[f32], v: &[f32], ld: usize, d: usize, out: &mut [f32]) {
    let out = &mut out[..d];
    for (j, &pj) in p.iter().enumerate() {
        if pj != 0.0 {
            axpy(pj, &v[j * ld..j * ld + d], out);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// exp, and the row kernels built on it

pub(super) const EXP_LO: f32 = -87.3; // below: exp is 0 (keeps 2^n normal: n >= -126), and -inf masks become exactly 0
pub(super) const EXP_HI: f32 = 88.37; // above: +inf (up to here n <= 127, so 2^n · e^r stays finite)
pub(super) const LOG2_E: f32 = std::f32::consts::LOG2_E;
pub(super) const ROUND_MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer (ties to even)
pub(super) const LN2_HI: f32 = 0.693_359_4; // ln 2 split in two so that n · LN2_HI is exact for |n| <= 128
pub(super) const LN2_LO: f32 = -2.121_944_4e-4;
// e^r ≈ 1 + r + r²·(C2 + C3 r + C4 r² + C5 r³) on |r| <= ln2/2: our own minimax-in-relative-error
// fit (max relative error 1.1e-7 in exact arithmetic, 2e-7 evaluated in f32).
pub(super) const EXP_C2: f32 = 0.499_992_3;
pub(super) const EXP_C3: f32 = 0.166_671_14;
pub(super) const EXP_C4: f32 = 0.041_890_096;
pub(super) const EXP_C5: f32 = 0.008_312_506;

/// `e^x` to ~2e-7 relative, exactly 0 below -87.3 (so `-inf` gives 0), `+inf` above 88.37 (the
/// last 0.35 before f32 overflows is given up so that `2^n` always fits the exponent bits).
/// Range reduction `x = n ln2 + r`, a degree-5 polynomial for `e^r`, and `2^n` built in the exponent bits.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let xc = if x < EXP_LO { EXP_LO } else { x };
    let xc = if EXP_HI < xc { EXP_HI } else { xc };
    let t = xc * LOG2_E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let n_int = (t.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + r + r * r * (((EXP_C5 * r + EXP_C4) * r + EXP_C3) * r + EXP_C2);
    let scale = f32::from_bits((n_int.wrapping_add(127) << 23) as u32);
    let e = p * scale;
    if x < EXP_LO {
        0.0
    } else if EXP_HI < x {
        f32::INFINITY
    } else {
        e
    }
}

pub fn exp_in_place(x: &mut [f32]) {
    for v in x {
        *v = exp(*v);
    }
}

/// `row *= s`
pub fn scale_in_place(row: &mut [f32], s: f32) {
    row.iter_mut().for_each(|v| *v *= s);
}

/// Numerically stable softmax of one row, in place. `-inf` entries become exactly 0; a row with
/// nothing visible (all `-inf`) becomes all zeros rather than NaN.
pub fn softmax(row: &mut [f32]) {
    let whole = row.len() / 4 * 4;
    let mut lanes = [f32::NEG_INFINITY; 4];
    for c in row[..whole].chunks_exact(4) {
        for l in 0..4 {
            lanes[l] = if lanes[l] < c[l] { c[l] } else { lanes[l] };
        }
    }
    let mut max = lanes.into_iter().fold(f32::NEG_INFINITY, |m, v| if m < v { v } else { m });
    for &v in &row[whole..] {
        max = if max < v { v } else { max };
    }
    if max == f32::NEG_INFINITY {
        row.fill(0.0);
        return;
    }
    let mut lanes = [0.0f32; 4];
    for c in row[..whole].chunks_exact_mut(4) {
        for l in 0..4 {
            c[l] = exp(c[l] - max);
            lanes[l] += c[l];
        }
    }
    let mut sum = fold4(lanes);
    for v in &mut row[whole..] {
        *v = exp(*v - max);
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// Sum of a row, 4 lanes folded by [`fold4`], then the tail.
#[inline(always)]
fn sum_row(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let whole = row.len() / 4 * 4;
    let mut lanes = [0.0f32; 4];
    for c in row[..whole].chunks_exact(4) {
        for l in 0..4 {
            lanes[l] += f(c[l]);
        }
    }
    let mut sum = fold4(lanes);
    for &v in &row[whole..] {
        sum += f(v);
    }
    sum
}

/// Two-pass LayerNorm over each row of `x: [M][C]`, in place: mean, then the variance of the
/// deviations (no `E[x²] - E[x]²` cancellation), then `(x - mean) · inv · gamma + beta`.
pub fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let c = gamma.len();
    if c == 0 {
        return;
    }
    assert!(beta.len() == c);
    for row in x.chunks_exact_mut(c) {
        let mean = sum_row(row, |v| v) / c as f32;
        let var = sum_row(row, |v| (v - mean) * (v - mean)) / c as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// RMSNorm (T5) over each row of `x: [M][C]`, in place: `x · inv · gamma`, `inv = 1/sqrt(mean(x²) + eps)`.
pub fn rms_norm(x: &mut [f32], gamma: &[f32], eps: f32) {
    let c = gamma.len();
    if c == 0 {
        return;
    }
    for row in x.chunks_exact_mut(c) {
        let ms = sum_row(row, |v| v * v) / c as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        for (v, g) in row.iter_mut().zip(gamma) {
            *v = *v * inv * g;
        }
    }
}

// erfc(a) ≈ t·(A1 + t·(A2 + ... t·A5))·e^{-a²}, t = 1/(1 + P·a), a >= 0 (Abramowitz & Stegun 7.1.26,
// absolute error <= 1.5e-7).
pub(super) const ERF_P: f32 = 0.327_591_1;
pub(super) const ERF_A1: f32 = 0.254_829_6;
pub(super) const ERF_A2: f32 = -0.284_496_74;
pub(super) const ERF_A3: f32 = 1.421_413_7;
pub(super) const ERF_A4: f32 = -1.453_152_1;
pub(super) const ERF_A5: f32 = 1.061_405_4;

/// GELU, erf form: `0.5 v (1 + erf(v/√2))`. Written with `q = erfc(|v|/√2)` so negative inputs
/// compute `0.5 v q` directly instead of `1 - (1 - q)`, which would cancel.
#[inline(always)]
pub fn gelu_erf_one(v: f32) -> f32 {
    let a = v.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + ERF_P * a);
    let poly = t * (ERF_A1 + t * (ERF_A2 + t * (ERF_A3 + t * (ERF_A4 + t * ERF_A5))));
    let q = poly * exp(-(a * a));
    let half = 0.5 * v;
    if v >= 0.0 { half * (2.0 - q) } else { half * q }
}

pub fn gelu_erf(x: &mut [f32]) {
    for v in x {
        *v = gelu_erf_one(*v);
    }
}

pub(super) const GELU_C: f32 = 0.797_884_6; // sqrt(2/pi)
pub(super) const GELU_A: f32 = 0.044_715;

/// GELU, tanh form: `0.5 u (1 + tanh(z))`, `z = √(2/π)(u + 0.044715 u³)`, computed as the
/// identical `u / (1 + e^{-2z})` (one exp, no tanh).
#[inline(always)]
pub fn gelu_tanh_one(u: f32) -> f32 {
    let z = GELU_C * (u + GELU_A * u * u * u);
    u / (1.0 + exp(-2.0 * z))
}

pub fn gelu_tanh(x: &mut [f32]) {
    for v in x {
        *v = gelu_tanh_one(*v);
    }
}

pub fn relu(x: &mut [f32]) {
    for v in x {
        *v = if 0.0 < *v { *v } else { 0.0 };
    }
}

/// SiLU / swish: `x · sigmoid(x) = x / (1 + e^{-x})`.
pub fn silu(x: &mut [f32]) {
    for v in x {
        *v /= 1.0 + exp(-*v);
    }
}

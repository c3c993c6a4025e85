//! SIMD128 kernels for wasm32 built with `+simd128` (selected at compile time in `mod.rs`).
//!
//! Every function has a scalar twin of the same name and signature in `scalar.rs` that does, per
//! output, the same f32 operations in the same order, so the two agree bit for bit; the leftovers
//! past the last whole vector are handled by explicit tail loops that call the scalar code.
//! Baseline SIMD128 has no fused multiply-add, so `acc + a·b` is a multiply then an add, exactly
//! as the scalar code rounds it.
//!
//! Built with `+relaxed-simd` as well (`pkg/glassbox_relaxed_bg.wasm`, for the engines that have
//! it), [`madd`] is `f32x4.relaxed_madd`: one fused multiply-add where the machine has one, which
//! rounds once where the scalar twin rounds twice. That build agrees with the twin to rounding,
//! not bit for bit; the same sums in the same order otherwise. It exists because the register
//! tile's k step is 6 loads and 16 vector operations without it and 6 and 8 with it, and x86-64
//! cores issue about 6 operations a cycle: on a Zen 4, f32 GEMM at M = 128 went from 74-80% to
//! 90-96% of the multiply-add peak, which is the same fused or not there (`node bench/kernels.mjs
//! --only=GEMM --against=pkg-checks/glassbox_bg.wasm`: x1.14-1.25; 2026-12-07).
//!
//! Raw pointers are used inside the loops to keep bounds checks out of the hot code; every public
//! function checks the slice lengths it relies on before it touches memory.

#![allow(clippy::needless_range_loop)] // the tiles index several small arrays in lockstep

use core::arch::wasm32::*;

use super::scalar::{
    self, ERF_A1, ERF_A2, ERF_A3, ERF_A4, ERF_A5, ERF_P, EXP_C2, EXP_C3, EXP_C4, EXP_C5, EXP_HI, EXP_LO, GELU_A, GELU_C, LN2_HI,
    LN2_LO, LOG2_E, ROUND_MAGIC,
};
use super::{F16Scales, PanelRef, NR};

#[inline(always)]
unsafe fn load(p: *const f32) -> v128 {
    v128_load(p as *const v128)
}

#[inline(always)]
unsafe fn store(p: *mut f32, v: v128) {
    v128_store(p as *mut v128, v)
}

/// One f32 from memory broadcast to the four lanes.
#[inline(always)]
unsafe fn load_splat(p: *const f32) -> v128 {
    v128_load32_splat(p as *const u32)
}

/// `acc + a·b`, rounded twice like the scalar `acc += a * b` (also the peak probe's, `super::limits::peak`).
#[cfg(not(target_feature = "relaxed-simd"))]
#[inline(always)]
pub(crate) fn madd(acc: v128, a: v128, b: v128) -> v128 {
    f32x4_add(acc, f32x4_mul(a, b))
}

/// `acc + a·b` in one instruction where the machine has one (fused: rounded once).
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
pub(crate) fn madd(acc: v128, a: v128, b: v128) -> v128 {
    f32x4_relaxed_madd(a, b, acc)
}

/// Folds four accumulators at once: lane `c` of the result is `hsum(a[c])`.
#[inline(always)]
fn hsum4(a0: v128, a1: v128, a2: v128, a3: v128) -> v128 {
    let u = f32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a0, a1), i32x4_shuffle::<2, 6, 3, 7>(a0, a1));
    let v = f32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a2, a3), i32x4_shuffle::<2, 6, 3, 7>(a2, a3));
    f32x4_add(i32x4_shuffle::<0, 1, 4, 5>(u, v), i32x4_shuffle::<2, 3, 6, 7>(u, v))
}

/// `(l0 + l2) + (l1 + l3)`: the same fold as [`scalar::fold4`].
#[inline(always)]
fn hsum(v: v128) -> f32 {
    let s = f32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s)
}


// ---------------------------------------------------------------------------------------------
// GEMM / GEMV on packed panels

/// K-block for prefill: one block of two panels (512 rows of 2 x 8 floats = 32 KiB) stays in L1
/// (48 KiB on a Zen 5) while every row tile of `x` passes over it. Against 256 there: x1.02-1.06 at
/// M = 128 (x1.06 on GPT-2's MLP down, K = 3,072: half the partial-sum reloads); 1,024 measured
/// the same as 512 (`node bench/kernels.mjs --only="GEMM  M=128" --against=DIR`). On a Zen 4, whose
/// 32 KiB L1 the block fills, 256 measured the same as 512 (2026-12-07; in the relaxed-SIMD build too).
const KC: usize = 512;
/// The prefill register tile: `MR` rows of `x` by two panels (16 columns, `MV` = 4 vectors per
/// row), 8 accumulators. A k step loads 4 weight vectors and 2 broadcasts and keeps 8 + 4 + 1 + 1
/// vector values live, inside the 15 V8 allocates on x86-64 (xmm15 is its scratch). It runs as fast
/// as 4 rows by one panel (the same 6 loads and 16 arithmetic operations per step; `--rows=4`) and
/// pads less when M is not a multiple of 4 (5 rows cost 6, not 8). Six rows by one panel (20 live
/// values) spilled accumulators to the stack in every step.
const MR: usize = 2;
const MV: usize = 4;

/// Where one panel row of 8 weights comes from, widened to two f32x4 (columns 0..4, 4..8).
/// The widening gives exactly [`PanelRef::widen_block`]'s values.
trait Src: Copy {
    /// Whether [`Src::load8`] gives the weights times 2^-S (f16 without its re-bias multiply,
    /// [`Src::scales`]): decoding then multiplies `x · scales.x` by them, starts from
    /// `bias / scales.sum` and scales the sums by `scales.sum` once, the same products and sums as
    /// unscaled, one multiply per weight fewer.
    const SCALED: bool = false;
    /// The powers of two that undo [`Src::SCALED`] weights.
    fn scales(&self) -> F16Scales {
        F16Scales { widen: 1.0, x: 1.0, sum: 1.0 }
    }
    /// The same source moved to panel `p` (its row 0). SAFETY: `p < n_panels`.
    unsafe fn panel(self, p: usize) -> Self;
    /// Bytes per stored weight.
    const BYTES: usize;
    /// Where row `kk` of panel `p` starts (for [`touch`]). SAFETY: `p < n_panels`, `kk < K`.
    unsafe fn row_ptr(self, p: usize, kk: usize) -> *const u8;
    /// Row `kk` of panel `p` and the distance between its rows, when the panel can be multiplied
    /// where it is (f32); `None` when it must be widened first. SAFETY: `p < n_panels`, `kk < K`.
    #[inline(always)]
    unsafe fn in_place(self, _p: usize, _kk: usize) -> Option<(*const f32, usize)> {
        None
    }
    /// Row `kk` of the current panel. SAFETY: `kk < K`.
    #[inline(always)]
    unsafe fn load8(self, kk: usize) -> [v128; 2] {
        self.load8_q(kk, 0)
    }
    /// Row `kk` of the panel `q` after the current one (`q` a constant of the caller's unrolled
    /// loop). SAFETY: `kk < K`, that panel exists and shares the current one's group.
    unsafe fn load8_q(self, kk: usize, q: usize) -> [v128; 2];
    /// [`Src::load8_q`] for a row that is not the panel's first (`kk >= 1`): a source may then read
    /// the bytes just before the row (the row before's). The same values.
    #[inline(always)]
    unsafe fn load8_q_later(self, kk: usize, q: usize) -> [v128; 2] {
        self.load8_q(kk, q)
    }
}

/// f32 panels, interleaved by groups of [`super::GROUP_PANELS`] ([`super::panel_row`]) as the 16-bit ones.
#[derive(Clone, Copy)]
struct SrcF32 {
    base: *const f32, // the whole matrix
    w: *const f32,    // row 0 of the current panel
    k: usize,
    n_panels: usize,
    ld: usize, // floats between a panel's rows: its group's width x NR
}

impl SrcF32 {
    fn new(w: &[f32], k: usize, n: usize) -> Self {
        SrcF32 { base: w.as_ptr(), w: w.as_ptr(), k, n_panels: n.div_ceil(NR), ld: 0 }
    }
}

impl Src for SrcF32 {
    const BYTES: usize = 4;
    #[inline(always)]
    unsafe fn in_place(self, p: usize, kk: usize) -> Option<(*const f32, usize)> {
        Some((self.base.add(super::panel_row(self.k, self.n_panels, p, kk)), super::panel_ld(self.n_panels, p)))
    }
    #[inline(always)]
    unsafe fn panel(self, p: usize) -> Self {
        SrcF32 { w: self.base.add(super::panel_row(self.k, self.n_panels, p, 0)), ld: super::panel_ld(self.n_panels, p), ..self }
    }
    #[inline(always)]
    unsafe fn row_ptr(self, p: usize, kk: usize) -> *const u8 {
        self.base.add(super::panel_row(self.k, self.n_panels, p, kk)) as *const u8
    }
    #[inline(always)]
    unsafe fn load8_q(self, kk: usize, q: usize) -> [v128; 2] {
        let at = self.w.add(kk * self.ld + q * NR);
        [load(at), load(at.add(4))]
    }
}

/// 16-bit panels (`F16` true: f16, else bf16), in groups of [`super::GROUP_PANELS`] ([`super::panel_row`]):
/// a panel's rows sit `ld` = (panels in its group) x NR apart, the panels of a group `NR` apart.
/// Columns are stored `c0 c4 c1 c5 c2 c6 c3 c7` ([`super::half_slot`]): in each 32-bit lane, the
/// low half holds column `l`, the high half column `l + 4`.
#[derive(Clone, Copy)]
struct SrcHalf<const F16: bool> {
    base: *const u16, // the whole matrix
    w: *const u16,    // row 0 of the current panel
    k: usize,
    n_panels: usize,
    ld: usize,
    scales: F16Scales, // f16: of the matrix's shift (`super::f16_to_panel_bits`)
}

impl<const F16: bool> SrcHalf<F16> {
    fn new(w: &[u16], k: usize, n: usize, f16_shift: u16) -> Self {
        SrcHalf { base: w.as_ptr(), w: w.as_ptr(), k, n_panels: n.div_ceil(NR), ld: 0, scales: F16Scales::for_shift(f16_shift) }
    }
}

/// f16 panel bits ([`super::f16_to_panel_bits`]: exponent bias 15 + shift) in the high half of a
/// lane (low half ignored) -> the weight times 2^-(112 - shift): an arithmetic shift by 3 lines the
/// exponent and mantissa up with f32's (sign stays in bit 31) and the mask drops the sign copies and
/// the low bits; the f32 read from those bits has exponent bias 127. With shift 10 (every matrix
/// whose weights are below 64) it is never subnormal: with a subnormal operand, x86 multiplies take
/// a slow microcode path.
#[inline(always)]
fn f16_high_to_scaled_f32(v: v128) -> v128 {
    v128_and(i32x4_shr(v, 3), u32x4_splat(0x8FFF_E000))
}

impl<const F16: bool> Src for SrcHalf<F16> {
    const SCALED: bool = F16;
    const BYTES: usize = 2;
    fn scales(&self) -> F16Scales {
        self.scales
    }
    #[inline(always)]
    unsafe fn panel(self, p: usize) -> Self {
        SrcHalf { w: self.base.add(super::panel_row(self.k, self.n_panels, p, 0)), ld: super::panel_ld(self.n_panels, p), ..self }
    }
    #[inline(always)]
    unsafe fn row_ptr(self, p: usize, kk: usize) -> *const u8 {
        self.base.add(super::panel_row(self.k, self.n_panels, p, kk)) as *const u8
    }
    #[inline(always)]
    unsafe fn load8_q(self, kk: usize, q: usize) -> [v128; 2] {
        let v = v128_load(self.w.add(kk * self.ld + q * NR) as *const v128);
        if F16 {
            // The even columns shifted into the high halves (rows after the first: see `load8_q_later`).
            [f16_high_to_scaled_f32(i32x4_shl(v, 16)), f16_high_to_scaled_f32(v)]
        } else {
            // A bf16 is the high half of its f32.
            [i32x4_shl(v, 16), v128_and(v, u32x4_splat(0xFFFF_0000))]
        }
    }
    /// f16: the even columns are read again from 2 bytes earlier, which puts them in the high halves
    /// (the 2 bytes before come from the row before): a second load instead of a shift, one vector
    /// operation fewer per 8 weights, and decoding's limit on x86 is the vector ports, not the loads.
    /// Against the shift, GPT-2-small-shaped f16 decoding (`node bench/decode-ab.mjs`, two slots
    /// each, narrow, AMD EPYC 2026-12-07): 14.9/14.2 -> 13.6/13.4 ms/token; the 768 x 3,072 product
    /// in cache 20.2 -> 21.2 GB/s. (An earlier machine, reading six streams, measured it x0.97-0.99,
    /// perhaps because one such load in four straddles two cache lines.) The same bits.
    #[inline(always)]
    unsafe fn load8_q_later(self, kk: usize, q: usize) -> [v128; 2] {
        if !F16 {
            return self.load8_q(kk, q);
        }
        let at = self.w.add(kk * self.ld + q * NR);
        let (low_cols, high_cols) = (v128_load(at.sub(1) as *const v128), v128_load(at as *const v128));
        [f16_high_to_scaled_f32(low_cols), f16_high_to_scaled_f32(high_cols)]
    }
}

/// `out[M][N] = x[M][K] · W + bias` with `W` packed in panels of any storage ([`super::panel_row`]).
///
/// Prefill (M >= 4) widens one K-block of two panels into an f32 scratch block (f32 panels are used
/// in place), then runs a 2 x 16 register tile over every row: 8 f32x4 accumulators, one row of the
/// two panels (four vectors) loaded per k and multiplied by 2 broadcast activations. Decoding (M < 4)
/// streams the weights once, widening them in registers, six panels side by side (six streams, a
/// sixth of the matrix apart, [`STREAMS`]): 12 independent accumulators and no horizontal sum (each
/// lane is one output). Each output accumulates `bias + Σ_k x[k]·w[k]` in k order, in runs of
/// [`super::SUM_BLOCK`], either way, as the scalar twin does.
pub fn gemm(x: &[f32], m: usize, k: usize, w: PanelRef, n: usize, bias: &[f32], out: &mut [f32]) {
    let n_panels = n.div_ceil(NR);
    assert!(x.len() >= m * k && bias.len() >= n_panels * NR && out.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: `super::gemm` checked the panels hold `n_panels` x K x NR weights (and their scales);
    // the assert above bounds rows, bias and outputs.
    unsafe {
        if m < 4 {
            match w {
                PanelRef::F32(w) => gemv(&SrcF32::new(w, k, n), x, m, k, n, bias, out),
                PanelRef::BF16(w) => gemv(&SrcHalf::<false>::new(w, k, n, 0), x, m, k, n, bias, out),
                PanelRef::F16 { bits, shift } => gemv(&SrcHalf::<true>::new(bits, k, n, shift), x, m, k, n, bias, out),
                PanelRef::Int8 { q } => super::int8::simd128_gemm(x, m, k, super::int8::Int8Ref { q }, n, bias, out),
            }
            return;
        }
        match w {
            PanelRef::F32(w) => prefill(&SrcF32::new(w, k, n), x, m, k, n, bias, out),
            PanelRef::BF16(w) => prefill(&SrcHalf::<false>::new(w, k, n, 0), x, m, k, n, bias, out),
            PanelRef::F16 { bits, shift } => prefill(&SrcHalf::<true>::new(bits, k, n, shift), x, m, k, n, bias, out),
            PanelRef::Int8 { q } => super::int8::simd128_gemm(x, m, k, super::int8::Int8Ref { q }, n, bias, out),
        }
    }
}

/// Up to this many rows, prefill multiplies each panel's K in one block of up to [`SMALL_M_KC`]
/// (see [`prefill_rows`]).
const SMALL_M: usize = 32;
/// The K-block for few rows: whole up to 4,096 (every K of GPT-2, BERT and a 7B Llama's hidden
/// size), cut beyond, so that a panel's block (K x 16 floats) and the packed rows (M x K floats)
/// stay near the L2 cache's size instead of growing with K. Measured against whole K
/// (`node bench/kernels.mjs --only=K= --against=DIR`, one process): a 7B Llama's down projection
/// (K = 11,008) at 16 and 32 rows runs x1.00-1.03 cut at 4,096 on an idle machine (cut at 2,048:
/// x1.01-1.02 idle, x1.06-1.10 with the other core busy); cutting K = 3,072 at 2,048 cost 3%.
const SMALL_M_KC: usize = 4096;

/// Rows per prefill tile, for measuring the register tile: 2 (two panels wide, the default), or 4
/// or 8 (one panel wide, as before).
static PREFILL_ROWS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(MR);

/// Benchmarks only: the rows per prefill register tile (2 by 16 columns; 4 or 8 by 8 columns).
/// Numbers do not change: every output still adds its products in the same runs, in k order.
pub fn set_prefill_rows(rows: usize) {
    PREFILL_ROWS.store(rows, core::sync::atomic::Ordering::Relaxed);
}

std::thread_local! {
    /// [`prefill_rows`]' widened block and packed rows, kept from one product to the next: fresh
    /// zeroed buffers (320 KB a product at 128 rows) cost 1.6% of all-MiniLM-L6-v2 at 128 tokens
    /// in zeroing alone. Taken out for the product and put back after it.
    static PREFILL_SCRATCH: core::cell::RefCell<(Vec<f32>, Vec<f32>)> = const { core::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The most floats [`PREFILL_SCRATCH`] keeps (4 MB): a 2,048-token prompt's packed rows; a longer
/// one allocates its own and lets them go, so one long run does not hold its buffers for good.
const SCRATCH_KEPT: usize = 1 << 20;

/// Prefill: a 16-bit `src` widens each panel block into a scratch block; f32 panels are used in
/// place. SAFETY: as [`gemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn prefill<S: Src>(src: &S, x: &[f32], m: usize, k: usize, n: usize, bias: &[f32], out: &mut [f32]) {
    match PREFILL_ROWS.load(core::sync::atomic::Ordering::Relaxed) {
        #[cfg(feature = "tile-variants")]
        4 => prefill_rows::<S, 4, 2>(src, x, m, k, n, bias, out),
        #[cfg(feature = "tile-variants")]
        8 => prefill_rows::<S, 8, 2>(src, x, m, k, n, bias, out),
        _ => prefill_rows::<S, MR, MV>(src, x, m, k, n, bias, out),
    }
}

/// Per K-block: `x` packed as `[M/R][kc][R]` (each tile's R activations of one k side by side,
/// rows past M zero), then for each block of `V / 2` panels (one or two) every row tile runs
/// [`tile`]. Two panels `p`, `p + 1` are taken together (an odd last panel runs the one-panel tile):
/// f32 panels in place, the tile reading the second panel's row `second` floats after the first's;
/// 16-bit ones widened side by side into one scratch block (`second` = NR).
#[allow(clippy::too_many_arguments)]
unsafe fn prefill_rows<S: Src, const R: usize, const V: usize>(src: &S, x: &[f32], m: usize, k: usize, n: usize, bias: &[f32], out: &mut [f32]) {
    let n_panels = n.div_ceil(NR);
    let tiles = m.div_ceil(R);
    // Few rows (decoding a short prompt, a 16-token sentence): each panel is multiplied by few tiles,
    // so the weights stream from memory once and the time goes to bringing them in. One K-block
    // per panel then walks each group's weights in one contiguous run (the next group touched
    // whole), instead of a K-block of every group per pass.
    let kc_max = if m <= SMALL_M { SMALL_M_KC.min(k) } else { KC.min(k) };
    let (mut block, mut xp) = PREFILL_SCRATCH.with(|s| core::mem::take(&mut *s.borrow_mut()));
    // [kc][V/2 panels][NR], 16-bit sources only (f32 panels are read in place).
    block.resize(if src.in_place(0, 0).is_some() { 0 } else { kc_max * V / 2 * NR }, 0.0);
    xp.resize(tiles * R * kc_max, 0.0); // [tiles][kc][R], every entry read written first
    let mut k0 = 0;
    while k0 < k {
        let kc = kc_max.min(k - k0);
        for t in 0..tiles {
            if R == 2 && t * R + 1 < m {
                // Two whole rows: zipped four floats at a time (the loop below, one float per
                // step, was 1.5% of all-MiniLM-L6-v2 at 128 tokens).
                pack_two_rows(x.as_ptr().add(t * R * k + k0), k, kc, xp.as_mut_ptr().add(t * kc * R));
                continue;
            }
            for r in 0..R {
                let i = t * R + r;
                let dst = &mut xp[t * kc * R + r..];
                if i < m {
                    let row = &x[i * k + k0..i * k + k0 + kc];
                    for (kk, &v) in row.iter().enumerate() {
                        dst[kk * R] = v;
                    }
                } else {
                    for kk in 0..kc {
                        dst[kk * R] = 0.0;
                    }
                }
            }
        }
        let mut p = 0;
        while p < n_panels {
            let two = V == 4 && p + 1 < n_panels;
            let panels = if two { 2 } else { 1 };
            // The next step's panels touched ([`touch`]) before this step's arithmetic: their misses
            // overlap this step instead of stalling the first tile that reads them (all-MiniLM-L6-v2
            // at 16 tokens x1.26: its 42 MB of weights come from memory).
            for q in p + panels..n_panels.min(p + 2 * panels) {
                touch(src.row_ptr(q, k0), kc * super::panel_ld(n_panels, q) * S::BYTES);
            }
            // `w`: the first panel's rows, `ld` apart; the second panel's rows sit `second` floats
            // after the first's (in place: the next panel's; widened: beside them in the block).
            let (w, ld, second) = match src.in_place(p, k0) {
                // In place (f32, 4 bytes a weight): the next panel's row, counted in floats.
                Some((w, ld)) => (w, ld, if two { src.row_ptr(p + 1, k0).offset_from(src.row_ptr(p, k0)) as usize / S::BYTES } else { 0 }),
                None => {
                    for q in 0..panels {
                        widen(src, p + q, k0, kc, block.as_mut_ptr().add(q * NR), panels * NR);
                    }
                    (block.as_ptr() as *const f32, panels * NR, NR)
                }
            };
            let (col, bias_p) = (p * NR, bias.as_ptr().add(p * NR));
            // One pass per run of `SUM_BLOCK` k inside the block (see `super::SUM_BLOCK`).
            let mut s0 = 0;
            while s0 < kc {
                let run = (super::SUM_BLOCK - (k0 + s0) % super::SUM_BLOCK).min(kc - s0);
                let (xs, ws, first) = (xp.as_ptr().add(s0 * R), w.add(s0 * ld), k0 + s0 == 0);
                if two {
                    panel_pass::<R, 4>(xs, kc, m, ws, ld, second, run, bias_p, out.as_mut_ptr(), n, col, first);
                } else {
                    panel_pass::<R, 2>(xs, kc, m, ws, ld, 0, run, bias_p, out.as_mut_ptr(), n, col, first);
                }
                s0 += run;
            }
            p += panels;
        }
        k0 += kc;
    }
    if block.capacity() + xp.capacity() <= SCRATCH_KEPT {
        PREFILL_SCRATCH.with(|s| *s.borrow_mut() = (block, xp));
    }
}

/// Reads one byte per 256 of `bytes` bytes from `at` (every fourth 64-byte line; volatile: kept
/// although unused), so the lines are on their way into cache before the arithmetic that needs them.
/// Wasm has no prefetch: each read that misses holds up the instructions behind it until its line
/// arrives, and the hardware prefetcher brings the lines between. all-MiniLM-L6-v2 at 16 tokens with
/// attention captured, against every line (`CAPTURE=1 node bench/minilm-ab.mjs`, three runs): 12.00
/// -> 11.38, 12.29 -> 11.89 and 12.61 -> 12.32 ms; every eighth line and one per 4 KB page measured
/// between the two; 128 tokens unchanged.
#[inline(never)]
unsafe fn touch<T>(at: *const T, bytes: usize) {
    let at = at as *const u8;
    let mut i = 0;
    while i < bytes {
        core::ptr::read_volatile(at.add(i));
        i += 256;
    }
}

/// `dst: [kc][2]` = rows `x[..kc]` and `x[ld..ld + kc]` side by side, as [`prefill_rows`] packs
/// a tile of two rows. SAFETY: both rows hold `kc` floats, `dst` has room for `2·kc`.
#[inline(always)]
unsafe fn pack_two_rows(x: *const f32, ld: usize, kc: usize, dst: *mut f32) {
    let whole = kc / 4 * 4;
    let mut kk = 0;
    while kk < whole {
        let (a, b) = (load(x.add(kk)), load(x.add(ld + kk)));
        store(dst.add(2 * kk), i32x4_shuffle::<0, 4, 1, 5>(a, b));
        store(dst.add(2 * kk + 4), i32x4_shuffle::<2, 6, 3, 7>(a, b));
        kk += 4;
    }
    for kk in whole..kc {
        *dst.add(2 * kk) = *x.add(kk);
        *dst.add(2 * kk + 1) = *x.add(ld + kk);
    }
}

/// Rows `k0..k0+kc` of panel `p`, widened into `dst`, rows `ld` floats apart (`[kc][ld]`, the
/// panel's 8 columns first in each row).
#[inline(never)]
unsafe fn widen<S: Src>(src: &S, p: usize, k0: usize, kc: usize, dst: *mut f32, ld: usize) {
    let src = src.panel(p);
    for r in 0..kc {
        let [mut lo, mut hi] = src.load8(k0 + r);
        if S::SCALED {
            let widen = f32x4_splat(src.scales().widen);
            lo = f32x4_mul(lo, widen);
            hi = f32x4_mul(hi, widen);
        }
        store(dst.add(r * ld), lo);
        store(dst.add(r * ld + 4), hi);
    }
}

/// Every row tile of the packed `xp` against one run of `kc` rows of `V / 2` panels ([`tile`],
/// inlined); each tile's packed rows start `stride · R` floats after the previous tile's.
///
/// The tile loop is here, around the k loop, on purpose: V8 (TurboFan, Node 20) unrolls a wasm loop
/// `(depth + 1) · 50 / size` times (size in graph nodes, nesting depth in the function), so the k
/// loop is left alone at depth 0 and unrolled twice at depth 1, inside this loop: one stack check,
/// compare and branch per two steps (seen in `node --print-wasm-code`). With the tile loop in the
/// caller: x0.88 at M = 128 (49-51 against 55-58 GFLOP/s on MiniLM's, GPT-2's and 1024^3 shapes,
/// `node bench/kernels.mjs --only=GEMM --against=DIR`). Inlining the whole pass into `prefill_rows`
/// instead spilled the accumulators (x0.7).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn panel_pass<const R: usize, const V: usize>(xp: *const f32, stride: usize, m: usize, w: *const f32, ld: usize, second: usize, kc: usize, bias: *const f32, out: *mut f32, n: usize, col: usize, first: bool) {
    let mut t = 0;
    while t * R < m {
        tile::<R, V>(xp.add(t * stride * R), w, ld, second, kc, bias, out.add(t * R * n), n, col, R.min(m - t * R), first);
        t += 1;
    }
}

/// One row tile against one run of `kc` rows ([`super::SUM_BLOCK`]) of `V / 2` panels (`V` f32x4
/// per row: 2 for one panel, 4 for two side by side): `R x V` accumulators, started from the bias in
/// the first run (`first`, then stored) and from zero after it (then added to the totals in `out`);
/// per k, one row of the panels (`V` vectors: the first panel's row and, for two, the second's
/// `second` floats on; rows `ld` floats apart) and `R` broadcast activations from the packed tile
/// `xp: [kc][R]`. Only the first `rows` rows are real (read and written).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const R: usize, const V: usize>(xp: *const f32, w: *const f32, ld: usize, second: usize, kc: usize, bias: *const f32, out: *mut f32, n: usize, col: usize, rows: usize, first: bool) {
    let zero = f32x4_splat(0.0);
    let mut acc = [[zero; V]; R];
    // Constant trip counts (`0..R`, not `0..rows`): the accumulators must stay an array the
    // compiler can keep in registers, which an index known only at run time would prevent.
    let mut start = [zero; V];
    if first {
        for (v, s) in start.iter_mut().enumerate() {
            *s = load(bias.add(4 * v));
        }
    }
    for acc_r in acc.iter_mut() {
        *acc_r = start;
    }
    // One k step per iteration, on purpose: with the loop unrolled by hand, LLVM interleaves the
    // steps per accumulator (all weight rows of the unrolled steps live at once) and V8 spills the
    // accumulators to the stack in every iteration. V8 unrolls it itself (see [`panel_pass`]).
    let (mut wk, mut xk) = (w, xp);
    let end = w.add(kc * ld);
    while wk < end {
        let mut wv = [zero; V];
        for (v, w) in wv.iter_mut().enumerate() {
            // Vectors 0 and 1: the first panel's row; 2 and 3: the second panel's, `second` floats on.
            *w = load(wk.add(if v < 2 { 4 * v } else { second + 4 * (v - 2) }));
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let a = load_splat(xk.add(r));
            for v in 0..V {
                acc_r[v] = madd(acc_r[v], a, wv[v]);
            }
        }
        wk = wk.add(ld);
        xk = xk.add(R);
    }
    for (r, acc_r) in acc.iter().enumerate() {
        if r < rows {
            for h in 0..V / 2 {
                let mut sums = [acc_r[2 * h], acc_r[2 * h + 1]];
                if !first {
                    let total = load8_out(out.add(r * n), col + h * NR, n);
                    sums = [f32x4_add(total[0], sums[0]), f32x4_add(total[1], sums[1])];
                }
                store8_out(out.add(r * n), col + h * NR, n, sums);
            }
        }
    }
}

/// Decoding: each row of `x` times [`STREAMS`] groups of panels at a time, one from each share of the
/// matrix (48 outputs, 12 accumulators), or [`NARROW_STREAMS`] where the machine reads fewer streams
/// faster ([`super::decode_wide`]), the weights widened in registers. SAFETY: as [`gemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemv<S: Src>(src: &S, x: &[f32], m: usize, k: usize, n: usize, bias: &[f32], out: &mut [f32]) {
    let n_panels = n.div_ceil(NR);
    let scaled: Vec<f32>;
    let x = if S::SCALED {
        let up = src.scales().x;
        scaled = x[..m * k].iter().map(|&v| v * up).collect();
        &scaled[..]
    } else {
        x
    };
    const GP: usize = super::GROUP_PANELS;
    let whole = n_panels / GP; // whole groups; the panels past them (fewer than GP) at the end
    // Wide or narrow: the machine's choice ([`super::decode_wide`]).
    let streams = if super::decode_wide() { STREAMS } else { NARROW_STREAMS };
    let share = whole / streams;
    if streams == STREAMS {
        gemv_rows::<S, STREAMS>(src, x.as_ptr(), m, k, share, bias.as_ptr(), out.as_mut_ptr(), n);
    } else {
        gemv_rows::<S, NARROW_STREAMS>(src, x.as_ptr(), m, k, share, bias.as_ptr(), out.as_mut_ptr(), n);
    }
    for i in 0..m {
        let (xi, row) = (x.as_ptr().add(i * k), out.as_mut_ptr().add(i * n));
        // The order of `super::decode_group_sets`, written out here so that the sets' loop sits in
        // `gemv_rows` for V8's unroller: the groups past the sets alone, then the panels past the groups.
        for g in streams * share..whole {
            gemv_tile::<S, 1, GP>(src, xi, k, [g * GP], bias.as_ptr(), row, n);
        }
        for p in whole * GP..n_panels {
            gemv_tile::<S, 1, 1>(src, xi, k, [p], bias.as_ptr(), row, n);
        }
    }
}

/// Groups read side by side when decoding: six sequential streams through memory, a sixth of the
/// matrix apart ([`gemv_tile_body`] inlined, 12 accumulators; [`super::DECODE_GROUPS`] has the
/// measurements against four). One core keeps more cache-line misses
/// in flight over four streams than over two: where the hardware prefetcher does not run far ahead
/// (an Intel Xeon VM's, 2026-12-05), a step's misses are what the out-of-order window holds, and the
/// f16 kernel spends about three times f32's instructions per byte, so it held few: f16 decoded
/// slower than f32 there. Against two streams half a matrix apart, GPT-2-small-shaped decoding in one
/// process (`node bench/decode-ab.mjs`, interleaved): f16 23.4 -> 45.0 tokens/s, bf16 37.0 -> 45.7,
/// f32 29.3 -> 26.7 and, in a second run, 26.7 -> 26.1 (no gain: f32 was already near that machine's
/// 11-14 GB/s). Eight streams: f16 x0.90 and bf16 x1.04 against four (both with groups of two
/// panels, 32 accumulators; see [`super::GROUP_PANELS`] for one panel per group). (The same loop natively in C
/// with SSE: 4.9 GB/s as two streams, 9.6 as four, 12.0 as eight; with `prefetcht0` 1 KB ahead, which
/// wasm lacks, two streams reached 10.8.) Both loops are here, around the k loop, for V8's unroller
/// (see [`panel_pass`]).
const STREAMS: usize = super::DECODE_GROUPS;

/// Groups read side by side when decoding narrow ([`super::decode_wide`] false): two streams, half a
/// matrix apart. On the AMD EPYC where narrow wins, GPT-2-small-shaped decoding's matrix products
/// alone (`node bench/decode-gemvs.mjs`, the constant changed) took, in ms per token with one stream
/// and two: f32 20.3-20.8 and 19.6-21.5, f16 14.1-14.3 and 13.2-13.4, bf16 13.7 and 10.7-10.9; six: 25-26, 17, 15.
const NARROW_STREAMS: usize = 2;

#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn gemv_rows<S: Src, const G: usize>(src: &S, x: *const f32, m: usize, k: usize, share: usize, bias: *const f32, out: *mut f32, n: usize) {
    const GP: usize = super::GROUP_PANELS;
    for i in 0..m {
        for j in 0..share {
            gemv_tile_body::<S, G, GP>(src, x.add(i * k), k, core::array::from_fn(|s| (j + s * share) * GP), bias, out.add(i * n), n);
        }
    }
}

/// One row against `G` groups of `P` panels, group `g` from panel `firsts[g]` (the groups past the sets).
#[inline(never)]
unsafe fn gemv_tile<S: Src, const G: usize, const P: usize>(src: &S, x: *const f32, k: usize, firsts: [usize; G], bias: *const f32, row: *mut f32, n: usize) {
    gemv_tile_body::<S, G, P>(src, x, k, firsts, bias, row, n)
}

/// One row against `G` groups of `P` panels (group `g`: panels `firsts[g]..firsts[g] + P`, one
/// group's, so their rows sit side by side): `2 G P` accumulators, one output per lane.
#[inline(always)]
unsafe fn gemv_tile_body<S: Src, const G: usize, const P: usize>(src: &S, x: *const f32, k: usize, firsts: [usize; G], bias: *const f32, row: *mut f32, n: usize) {
    let mut acc = [[[f32x4_splat(0.0); 2]; P]; G];
    for g in 0..G {
        for q in 0..P {
            let col = (firsts[g] + q) * NR;
            acc[g][q] = [load(bias.add(col)), load(bias.add(col + 4))];
            if S::SCALED {
                let down = f32x4_splat(1.0 / src.scales().sum);
                acc[g][q] = [f32x4_mul(acc[g][q][0], down), f32x4_mul(acc[g][q][1], down)];
            }
        }
    }
    let srcs: [S; G] = core::array::from_fn(|g| src.panel(firsts[g]));
    let mut kk = 0;
    // Runs of SUM_BLOCK k (see `super::SUM_BLOCK`): each run's steps in a function of their own
    // ([`gemv_run`]); at the end of each run but the last, its sums go to the totals kept in the
    // output row ([`end_run`]) and the accumulators start again from zero. GPT-2-small-shaped
    // decoding, f16 against the build before the runs (`node bench/decode-ab.mjs`): x0.92 this way;
    // x0.82 with the run loop written around the k loop here, x0.91 with one k loop that calls
    // `end_run` on a branch (bf16 x0.93 that way, x1.0 this way).
    let mut run_end = super::SUM_BLOCK.min(k);
    loop {
        acc = gemv_run::<S, G, P>(acc, &srcs, x, kk, run_end);
        kk = run_end;
        if run_end >= k {
            break;
        }
        acc = end_run::<G, P>(acc, row, firsts, n, run_end > super::SUM_BLOCK);
        run_end = (run_end + super::SUM_BLOCK).min(k);
    }
    for g in 0..G {
        for q in 0..P {
            if k > super::SUM_BLOCK {
                let total = load8_out(row, (firsts[g] + q) * NR, n);
                acc[g][q] = [f32x4_add(total[0], acc[g][q][0]), f32x4_add(total[1], acc[g][q][1])];
            }
            if S::SCALED {
                let up = f32x4_splat(src.scales().sum);
                acc[g][q] = [f32x4_mul(acc[g][q][0], up), f32x4_mul(acc[g][q][1], up)];
            }
            store8_out(row, (firsts[g] + q) * NR, n, acc[g][q]);
        }
    }
}

/// Steps `kk0..kk1` of [`gemv_tile_body`]'s k loop, one k per iteration. Unrolled by
/// hand 4 times, LLVM gathered each accumulator's 4 steps together and the 4 live broadcasts
/// spilled (f32 x0.76 in cache with two groups).
#[inline(never)]
unsafe fn gemv_run<S: Src, const G: usize, const P: usize>(mut acc: [[[v128; 2]; P]; G], srcs: &[S; G], x: *const f32, kk0: usize, kk1: usize) -> [[[v128; 2]; P]; G] {
    // `later`: a row after the first, whose source may read the row before (`Src::load8_q_later`).
    let step = |acc: &mut [[[v128; 2]; P]; G], kk: usize, later: bool| {
        let a = load_splat(x.add(kk));
        for g in 0..G {
            for q in 0..P {
                let [w0, w1] = if later { srcs[g].load8_q_later(kk, q) } else { srcs[g].load8_q(kk, q) };
                acc[g][q][0] = madd(acc[g][q][0], a, w0);
                acc[g][q][1] = madd(acc[g][q][1], a, w1);
            }
        }
    };
    let mut kk = kk0;
    // Row 0 has no row before it (only f16 reads one: the other sources need no step apart).
    if S::SCALED && kk == 0 && kk1 > 0 {
        step(&mut acc, 0, false);
        kk = 1;
    }
    while kk < kk1 {
        step(&mut acc, kk, true);
        kk += 1;
    }
    acc
}

/// The end of a run of decoding's sums ([`super::SUM_BLOCK`]): the accumulators stored as the totals
/// in the output row (`add`: added to the totals there), in f16's scaled units when scaled; returns
/// them zeroed. Not inlined, so that the k loop around it stays small.
#[inline(never)]
unsafe fn end_run<const G: usize, const P: usize>(acc: [[[v128; 2]; P]; G], row: *mut f32, firsts: [usize; G], n: usize, add: bool) -> [[[v128; 2]; P]; G] {
    for g in 0..G {
        for q in 0..P {
            let col = (firsts[g] + q) * NR;
            let mut sums = acc[g][q];
            if add {
                let total = load8_out(row, col, n);
                sums = [f32x4_add(total[0], sums[0]), f32x4_add(total[1], sums[1])];
            }
            store8_out(row, col, n, sums);
        }
    }
    [[[f32x4_splat(0.0); 2]; P]; G]
}

/// Outputs `col..col+8` of a row of `N`; the last panel may hang past `N`, its extra lanes read as 0.
#[inline(always)]
unsafe fn load8_out(row: *const f32, col: usize, n: usize) -> [v128; 2] {
    let at = row.add(col);
    let cols = n - col;
    if cols >= NR {
        return [load(at), load(at.add(4))];
    }
    let mut tmp = [0.0f32; NR];
    core::ptr::copy_nonoverlapping(at, tmp.as_mut_ptr(), cols);
    [load(tmp.as_ptr()), load(tmp.as_ptr().add(4))]
}

#[inline(always)]
unsafe fn store8_out(row: *mut f32, col: usize, n: usize, v: [v128; 2]) {
    let at = row.add(col);
    let cols = n - col;
    if cols >= NR {
        store(at, v[0]);
        store(at.add(4), v[1]);
        return;
    }
    let mut tmp = [0.0f32; NR];
    store(tmp.as_mut_ptr(), v[0]);
    store(tmp.as_mut_ptr().add(4), v[1]);
    core::ptr::copy_nonoverlapping(tmp.as_ptr(), at, cols);
}

/// The f32-panel product the layers used before storages (kept for the benchmarks' history).
pub fn gemm_packed(x: &[f32], m: usize, k: usize, panels: &[f32], n: usize, bias: &[f32], out: &mut [f32]) {
    assert!(panels.len() >= n.div_ceil(NR) * NR * k);
    gemm(x, m, k, PanelRef::F32(panels), n, bias, out)
}

/// `out[M][N] = x[M][K] · w[K][N] (+ bias[N])`, `w` unpacked: one SIMD `axpy` per activation.
/// (Layers use [`gemm_packed`]; this serves one-off products.)
pub fn matmul_kn(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<&[f32]>, out: &mut [f32]) {
    super::scalar::matmul_kn_with(x, m, k, w, n, bias, out, axpy)
}

// ---------------------------------------------------------------------------------------------
// Rows of W dotted with rows of x

/// `out[M][N] = x[M][K] · w[N][K]^T` (tied LM heads, attention scores).
///
/// Decoding (M = 1: the LM head, attention scores) reads `w` row after row, one sequential stream,
/// each output a [`scalar::dot8`] (two accumulators): streaming 4 rows side by side measured half
/// as fast on the 50257-row LM head. Prefill (M > 1) tiles 2 rows of `x` against 4 rows of `w`
/// (those stay in L1 while every row of `x` passes), 8 accumulators of 4 lane sums each, so each
/// output sums `k ≡ l (mod 4)` in lane `l` ([`dot4`]'s order): the same numbers as a lone row up to
/// rounding, not bit for bit.
pub fn matmul_nk(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, out: &mut [f32]) {
    assert!(x.len() >= m * k && w.len() >= n * k && out.len() >= m * n);
    if m == 1 {
        let j = 0;
        // SAFETY: rows `j < n` of `w` and the row of `x` hold `k` floats each; `out` holds `n`.
        unsafe {
            for j in j..n {
                out[j] = dot8_raw(x.as_ptr(), w.as_ptr().add(j * k), k);
            }
        }
        return;
    }
    let t = Nk { x: x.as_ptr(), w: w.as_ptr(), out: out.as_mut_ptr(), k, n };
    let mut j = 0;
    // SAFETY: the asserts above bound every row of x (< m), row of w (< n) and k (< K).
    unsafe {
        while j + 4 <= n {
            let mut i = 0;
            while i + 2 <= m {
                t.tile::<2>(i, j);
                i += 2;
            }
            if i < m {
                t.tile::<1>(i, j);
            }
            j += 4;
        }
    }
    for j in j..n {
        for i in 0..m {
            out[i * n + j] = dot4(&x[i * k..(i + 1) * k], &w[j * k..(j + 1) * k]);
        }
    }
}

/// `out[j] = x[..K] · w[j·ld..][..K]` for `j < N`, each a [`scalar::dot8`] (as [`matmul_nk`] at M = 1).
pub fn dot_rows(x: &[f32], k: usize, w: &[f32], ld: usize, n: usize, out: &mut [f32]) {
    if n == 0 {
        return;
    }
    assert!(x.len() >= k && out.len() >= n && ld >= k && w.len() >= (n - 1) * ld + k);
    // SAFETY: row `j < n` of `w` starts at `j·ld` and holds `k` floats (the assert above).
    unsafe {
        let mut j = 0;
        // Four rows side by side: four independent streams of loads in flight (the rows sit `ld`
        // apart, often in memory rather than cache), each row's sum in [`dot8_raw`]'s order.
        while j + 4 <= n {
            let sums = dot8x4_raw(x.as_ptr(), w.as_ptr().add(j * ld), ld, k);
            out[j..j + 4].copy_from_slice(&sums);
            j += 4;
        }
        for j in j..n {
            out[j] = dot8_raw(x.as_ptr(), w.as_ptr().add(j * ld), k);
        }
    }
}

/// Four rows of [`dot8_raw`] (rows `ld` apart), the same operations per row in the same order.
/// SAFETY: `a` points at `len` floats, `b + r·ld` at `len` floats for `r < 4`.
#[inline(always)]
unsafe fn dot8x4_raw(a: *const f32, b: *const f32, ld: usize, len: usize) -> [f32; 4] {
    let whole = len / 8 * 8;
    let mut acc = [[f32x4_splat(0.0); 2]; 4];
    let mut i = 0;
    while i < whole {
        let (a0, a1) = (load(a.add(i)), load(a.add(i + 4)));
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let row = b.add(r * ld + i);
            acc_r[0] = madd(acc_r[0], a0, load(row));
            acc_r[1] = madd(acc_r[1], a1, load(row.add(4)));
        }
        i += 8;
    }
    // The four folds at once ([`hsum4`] folds each lane as [`hsum`] does): 6 vector operations
    // where four `hsum`s took 20 (all-MiniLM-L6-v2 at 128 tokens spends 5% of its time here).
    let folded = hsum4(f32x4_add(acc[0][0], acc[0][1]), f32x4_add(acc[1][0], acc[1][1]), f32x4_add(acc[2][0], acc[2][1]), f32x4_add(acc[3][0], acc[3][1]));
    let mut sums = [0.0f32; 4];
    store(sums.as_mut_ptr(), folded);
    for (r, sum) in sums.iter_mut().enumerate() {
        for i in whole..len {
            *sum += *a.add(i) * *b.add(r * ld + i);
        }
    }
    sums
}

struct Nk {
    x: *const f32,  // [M][K]
    w: *const f32,  // [N][K]
    out: *mut f32,  // [M][N]
    k: usize,
    n: usize,
}

impl Nk {
    /// Rows `i..i+R` of `x` against rows `j..j+4` of `w`: `R x 4` accumulators, each a [`dot4`].
    #[inline(always)]
    unsafe fn tile<const R: usize>(&self, i: usize, j: usize) {
        let k = self.k;
        let whole = k / 4 * 4;
        let zero = f32x4_splat(0.0);
        let mut acc = [[zero; 4]; R];
        let x = self.x.add(i * k);
        let w = self.w.add(j * k);
        let mut kk = 0;
        while kk < whole {
            let mut xv = [zero; R];
            for (r, xr) in xv.iter_mut().enumerate() {
                *xr = load(x.add(r * k + kk));
            }
            for c in 0..4 {
                let wv = load(w.add(c * k + kk));
                for r in 0..R {
                    acc[r][c] = madd(acc[r][c], xv[r], wv);
                }
            }
            kk += 4;
        }
        for (r, [a0, a1, a2, a3]) in acc.into_iter().enumerate() {
            let mut s = hsum4(a0, a1, a2, a3);
            for kk in whole..k {
                let wk = |c: usize| *w.add(c * k + kk);
                s = madd(s, load_splat(x.add(r * k + kk)), f32x4(wk(0), wk(1), wk(2), wk(3)));
            }
            store(self.out.add((i + r) * self.n + j), s);
        }
    }
}

/// One row of [`scalar::dot8`]. SAFETY: `a` and `b` point at `len` readable floats.
#[inline(always)]
unsafe fn dot8_raw(a: *const f32, b: *const f32, len: usize) -> f32 {
    let whole = len / 8 * 8;
    let mut acc = [f32x4_splat(0.0); 2];
    let mut i = 0;
    while i < whole {
        acc[0] = madd(acc[0], load(a.add(i)), load(b.add(i)));
        acc[1] = madd(acc[1], load(a.add(i + 4)), load(b.add(i + 4)));
        i += 8;
    }
    let mut sum = hsum(f32x4_add(acc[0], acc[1]));
    for i in whole..len {
        sum += *a.add(i) * *b.add(i);
    }
    sum
}

/// A dot product with 4 lane sums (`k ≡ l (mod 4)`), folded, then the tail in order: the
/// per-output order of the prefill tiles of [`matmul_nk`].
pub fn dot4(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let whole = len / 4 * 4;
    let mut acc = f32x4_splat(0.0);
    let mut i = 0;
    // SAFETY: i + 4 <= whole <= len of both slices.
    unsafe {
        while i < whole {
            acc = madd(acc, load(a.as_ptr().add(i)), load(b.as_ptr().add(i)));
            i += 4;
        }
    }
    let mut sum = hsum(acc);
    for i in whole..len {
        sum += a[i] * b[i];
    }
    sum
}

/// The fold of the 4 accumulators of a dot: lane-wise `(a0 + a1) + (a2 + a3)`, then `hsum`.
#[inline(always)]
fn fold16(a: [v128; 4]) -> f32 {
    hsum(f32x4_add(f32x4_add(a[0], a[1]), f32x4_add(a[2], a[3])))
}

/// See [`dot`]. SAFETY: `a` and `b` point at `len` readable floats.
#[inline(always)]
unsafe fn dot_raw(a: *const f32, b: *const f32, len: usize) -> f32 {
    let whole = len / 16 * 16;
    let mut acc = [f32x4_splat(0.0); 4];
    let mut i = 0;
    while i < whole {
        for (q, acc_q) in acc.iter_mut().enumerate() {
            *acc_q = madd(*acc_q, load(a.add(i + 4 * q)), load(b.add(i + 4 * q)));
        }
        i += 16;
    }
    let mut sum = fold16(acc);
    for i in whole..len {
        sum += *a.add(i) * *b.add(i);
    }
    sum
}

/// Four accumulators: lane `l` of accumulator `q` sums the products at `k ≡ 4q + l (mod 16)`;
/// they are folded by `fold16`, then the tail (`K mod 16` products) is added in order.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    // SAFETY: both slices hold at least `len` floats.
    unsafe { dot_raw(a.as_ptr(), b.as_ptr(), len) }
}

/// `out[..D] += Σ_j p[j] · v[j·ld..][..D]` ([`super::axpy_rows`]): 16 outputs at a time held in 4
/// accumulators over every row (one pass over the rows per 16 outputs), then the last `D mod 16`
/// outputs by [`axpy`]'s order, per element the same multiply and add in `j` order as the twin.
pub fn axpy_rows(p: &[f32], v: &[f32], ld: usize, d: usize, out: &mut [f32]) {
    let rows = p.len();
    if rows == 0 || d == 0 {
        return;
    }
    assert!(out.len() >= d && ld >= d && v.len() >= (rows - 1) * ld + d);
    let whole = d / 16 * 16;
    // SAFETY: row `j < rows` of `v` holds `d` floats from `j·ld` (the assert); `c + 16 <= whole <= d`.
    unsafe {
        let (vp, op) = (v.as_ptr(), out.as_mut_ptr());
        let mut c = 0;
        // 32 outputs per pass while they last (8 accumulators: half the passes over `p`, half
        // the loads, tests and broadcasts of each weight), then 16.
        while c + 32 <= whole {
            axpy_rows_cols::<8>(p, vp.add(c), ld, op.add(c));
            c += 32;
        }
        if c < whole {
            axpy_rows_cols::<4>(p, vp.add(c), ld, op.add(c));
        }
    }
    if whole < d {
        for (j, &pj) in p.iter().enumerate() {
            if pj != 0.0 {
                let row = &v[j * ld + whole..j * ld + d];
                for (o, &x) in out[whole..d].iter_mut().zip(row) {
                    *o += pj * x;
                }
            }
        }
    }
}

/// `out[..4V] += Σ_j p[j] · v[j·ld..][..4V]`, `V` accumulators held over every row.
/// SAFETY: row `j < p.len()` of `v` holds `4V` floats from `j·ld`; `out` holds `4V`.
#[inline(always)]
unsafe fn axpy_rows_cols<const V: usize>(p: &[f32], v: *const f32, ld: usize, out: *mut f32) {
    let mut acc = [f32x4_splat(0.0); V];
    for (q, acc_q) in acc.iter_mut().enumerate() {
        *acc_q = load(out.add(4 * q));
    }
    for (j, &pj) in p.iter().enumerate() {
        if pj != 0.0 {
            let a = f32x4_splat(pj);
            let row = v.add(j * ld);
            for (q, acc_q) in acc.iter_mut().enumerate() {
                *acc_q = madd(*acc_q, a, load(row.add(4 * q)));
            }
        }
    }
    for (q, acc_q) in acc.iter().enumerate() {
        store(out.add(4 * q), *acc_q);
    }
}

/// [`super::dot_rows_heads`]: each key row once, front to back, every head's [`dot8_raw`] in turn.
#[allow(clippy::too_many_arguments)]
pub fn dot_rows_heads(q: &[f32], n_heads: usize, d: usize, group: usize, keys: &[f32], ld: usize, n: usize, out: &mut [f32]) {
    // SAFETY: `super::dot_rows_heads` checked q (H·D), out (H·n) and that row `j < n` holds the
    // H / group heads of `d` floats from `j·ld`.
    unsafe {
        for j in 0..n {
            let row = keys.as_ptr().add(j * ld);
            for h in 0..n_heads {
                *out.get_unchecked_mut(h * n + j) = dot8_raw(q.as_ptr().add(h * d), row.add(h / group * d), d);
            }
        }
    }
}

/// [`super::axpy_rows_heads`]: each value row once; per head and element the multiply and add of
/// [`axpy`] (and of [`axpy_rows`]), in row order.
#[allow(clippy::too_many_arguments)]
pub fn axpy_rows_heads(p: &[f32], n: usize, n_heads: usize, d: usize, group: usize, values: &[f32], ld: usize, out: &mut [f32]) {
    let whole = d / 4 * 4;
    // SAFETY: as `dot_rows_heads`, with out (H·D) and p (H·n) checked by the caller.
    unsafe {
        for j in 0..n {
            let row = values.as_ptr().add(j * ld);
            for h in 0..n_heads {
                let pj = *p.get_unchecked(h * n + j);
                if pj == 0.0 {
                    continue;
                }
                let (src, dst) = (row.add(h / group * d), out.as_mut_ptr().add(h * d));
                let a = f32x4_splat(pj);
                let mut c = 0;
                while c < whole {
                    store(dst.add(c), madd(load(dst.add(c)), a, load(src.add(c))));
                    c += 4;
                }
                for c in whole..d {
                    *dst.add(c) += pj * *src.add(c);
                }
            }
        }
    }
}

/// `y += alpha * x`
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let len = x.len().min(y.len());
    let a = f32x4_splat(alpha);
    let mut i = 0;
    // SAFETY: i + 8 <= len and i + 4 <= len bound each access.
    unsafe {
        let (xp, yp) = (x.as_ptr(), y.as_mut_ptr());
        while i + 8 <= len {
            store(yp.add(i), madd(load(yp.add(i)), a, load(xp.add(i))));
            store(yp.add(i + 4), madd(load(yp.add(i + 4)), a, load(xp.add(i + 4))));
            i += 8;
        }
        while i + 4 <= len {
            store(yp.add(i), madd(load(yp.add(i)), a, load(xp.add(i))));
            i += 4;
        }
    }
    for i in i..len {
        y[i] += alpha * x[i];
    }
}

// ---------------------------------------------------------------------------------------------
// exp, and the row kernels built on it


/// Four lanes of [`scalar::exp`], operation for operation.
#[inline(always)]
fn exp4(x: v128) -> v128 {
    let xc = f32x4_pmax(x, f32x4_splat(EXP_LO)); // x < LO ? LO : x
    let xc = f32x4_pmin(xc, f32x4_splat(EXP_HI)); // HI < xc ? HI : xc
    let e = v128_bitselect(f32x4_splat(f32::INFINITY), exp4_core(xc), f32x4_lt(f32x4_splat(EXP_HI), x));
    v128_andnot(e, f32x4_lt(x, f32x4_splat(EXP_LO)))
}

/// [`exp4`] for `x <= 0` (or NaN), as softmax's `x - max` always is: the same bits there without
/// the upper clamp and the overflow select (both leave such a lane as it is). Five vector operations
/// and two constants fewer per four values; with two constants fewer V8 no longer spills the sum
/// to the stack on every step (all-MiniLM-L6-v2's softmax was 21% of its attention at 128 tokens).
#[inline(always)]
fn exp4_not_positive(x: v128) -> v128 {
    let xc = f32x4_pmax(x, f32x4_splat(EXP_LO)); // x < LO ? LO : x; never above 0 < HI
    v128_andnot(exp4_core(xc), f32x4_lt(x, f32x4_splat(EXP_LO)))
}

/// `2^n · p(r)` for a clamped `xc`: `n = round(xc · log2 e)`, `r = xc - n · ln 2` in two parts,
/// `p` the polynomial of [`scalar::exp`].
#[inline(always)]
fn exp4_core(xc: v128) -> v128 {
    let magic = f32x4_splat(ROUND_MAGIC);
    let t = f32x4_add(f32x4_mul(xc, f32x4_splat(LOG2_E)), magic);
    let n = f32x4_sub(t, magic);
    let n_int = i32x4_sub(t, magic); // the bit patterns: the integer sits in the low mantissa bits
    let r = f32x4_sub(f32x4_sub(xc, f32x4_mul(n, f32x4_splat(LN2_HI))), f32x4_mul(n, f32x4_splat(LN2_LO)));
    let mut q = f32x4_add(f32x4_mul(f32x4_splat(EXP_C5), r), f32x4_splat(EXP_C4));
    q = f32x4_add(f32x4_mul(q, r), f32x4_splat(EXP_C3));
    q = f32x4_add(f32x4_mul(q, r), f32x4_splat(EXP_C2));
    let p = f32x4_add(f32x4_add(f32x4_splat(1.0), r), f32x4_mul(f32x4_mul(r, r), q));
    let scale = i32x4_shl(i32x4_add(n_int, i32x4_splat(127)), 23);
    f32x4_mul(p, scale)
}

pub fn exp_in_place(x: &mut [f32]) {
    map(x, exp4, scalar::exp)
}

/// Softmax of one row in place: max, `exp(x - max)` and its sum, scale by `1/sum`.
/// `-inf` entries become exactly 0; an all-`-inf` row becomes zeros.
pub fn softmax(row: &mut [f32]) {
    let len = row.len();
    let whole = len / 4 * 4;
    let p = row.as_mut_ptr();
    let mut mv = f32x4_splat(f32::NEG_INFINITY);
    // SAFETY: every vector access is at i + 4 <= whole <= len.
    unsafe {
        let mut i = 0;
        while i < whole {
            mv = f32x4_pmax(mv, load(p.add(i)));
            i += 4;
        }
    }
    let lanes = [f32x4_extract_lane::<0>(mv), f32x4_extract_lane::<1>(mv), f32x4_extract_lane::<2>(mv), f32x4_extract_lane::<3>(mv)];
    let mut max = lanes.into_iter().fold(f32::NEG_INFINITY, |m, v| if m < v { v } else { m });
    for &v in &row[whole..] {
        max = if max < v { v } else { max };
    }
    if max == f32::NEG_INFINITY {
        row.fill(0.0);
        return;
    }
    let maxv = f32x4_splat(max);
    let mut sv = f32x4_splat(0.0);
    // SAFETY: as above.
    unsafe {
        let mut i = 0;
        while i < whole {
            let e = exp4_not_positive(f32x4_sub(load(p.add(i)), maxv));
            store(p.add(i), e);
            sv = f32x4_add(sv, e);
            i += 4;
        }
    }
    let mut sum = hsum(sv);
    for v in &mut row[whole..] {
        *v = scalar::exp(*v - max);
        sum += *v;
    }
    scale(row, 1.0 / sum);
}

/// `row *= s`, for the glassbox crate (built for size, where such a loop stays scalar).
pub fn scale_in_place(row: &mut [f32], s: f32) {
    scale(row, s)
}

/// `row *= s`
#[inline(always)]
fn scale(row: &mut [f32], s: f32) {
    let whole = row.len() / 4 * 4;
    let sv = f32x4_splat(s);
    let p = row.as_mut_ptr();
    // SAFETY: i + 4 <= whole <= len.
    unsafe {
        let mut i = 0;
        while i < whole {
            store(p.add(i), f32x4_mul(load(p.add(i)), sv));
            i += 4;
        }
    }
    for v in &mut row[whole..] {
        *v *= s;
    }
}

/// Like the scalar `sum_row`: `Σ f(v)` in 4 lanes, folded, then the tail.
#[inline(always)]
fn sum_row(row: &[f32], f4: impl Fn(v128) -> v128, f: impl Fn(f32) -> f32) -> f32 {
    let whole = row.len() / 4 * 4;
    let mut acc = f32x4_splat(0.0);
    let mut i = 0;
    // SAFETY: i + 4 <= whole <= len.
    unsafe {
        while i < whole {
            acc = f32x4_add(acc, f4(load(row.as_ptr().add(i))));
            i += 4;
        }
    }
    let mut sum = hsum(acc);
    for &v in &row[whole..] {
        sum += f(v);
    }
    sum
}

/// Two-pass LayerNorm over each row of `x: [M][C]`, in place.
pub fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let c = gamma.len();
    if c == 0 {
        return;
    }
    assert!(beta.len() == c);
    let whole = c / 4 * 4;
    for row in x.chunks_exact_mut(c) {
        let mean = sum_row(row, |v| v, |v| v) / c as f32;
        let mv = f32x4_splat(mean);
        let var = sum_row(
            row,
            |v| {
                let d = f32x4_sub(v, mv);
                f32x4_mul(d, d)
            },
            |v| (v - mean) * (v - mean),
        ) / c as f32;
        let inv = 1.0 / (var + eps).sqrt();
        let iv = f32x4_splat(inv);
        let p = row.as_mut_ptr();
        // SAFETY: i + 4 <= whole <= C = len of row, gamma and beta.
        unsafe {
            let mut i = 0;
            while i < whole {
                let y = f32x4_mul(f32x4_mul(f32x4_sub(load(p.add(i)), mv), iv), load(gamma.as_ptr().add(i)));
                store(p.add(i), f32x4_add(y, load(beta.as_ptr().add(i))));
                i += 4;
            }
        }
        for i in whole..c {
            row[i] = (row[i] - mean) * inv * gamma[i] + beta[i];
        }
    }
}

/// RMSNorm (T5) over each row of `x: [M][C]`, in place.
pub fn rms_norm(x: &mut [f32], gamma: &[f32], eps: f32) {
    let c = gamma.len();
    if c == 0 {
        return;
    }
    let whole = c / 4 * 4;
    for row in x.chunks_exact_mut(c) {
        let ms = sum_row(row, |v| f32x4_mul(v, v), |v| v * v) / c as f32;
        let inv = 1.0 / (ms + eps).sqrt();
        let iv = f32x4_splat(inv);
        let p = row.as_mut_ptr();
        // SAFETY: i + 4 <= whole <= C = len of row and gamma.
        unsafe {
            let mut i = 0;
            while i < whole {
                store(p.add(i), f32x4_mul(f32x4_mul(load(p.add(i)), iv), load(gamma.as_ptr().add(i))));
                i += 4;
            }
        }
        for i in whole..c {
            row[i] = row[i] * inv * gamma[i];
        }
    }
}

/// Applies `f4` to whole vectors of `x` and its scalar twin `f` to the tail, in place.
#[inline(always)]
fn map(x: &mut [f32], f4: impl Fn(v128) -> v128, f: impl Fn(f32) -> f32) {
    let whole = x.len() / 4 * 4;
    let p = x.as_mut_ptr();
    // SAFETY: i + 4 <= whole <= len.
    unsafe {
        let mut i = 0;
        while i < whole {
            store(p.add(i), f4(load(p.add(i))));
            i += 4;
        }
    }
    for v in &mut x[whole..] {
        *v = f(*v);
    }
}


/// GELU, erf form; see [`scalar::gelu_erf_one`] for the formula.
pub fn gelu_erf(x: &mut [f32]) {
    map(
        x,
        |v| {
            let a = f32x4_mul(f32x4_abs(v), f32x4_splat(core::f32::consts::FRAC_1_SQRT_2));
            let t = f32x4_div(f32x4_splat(1.0), f32x4_add(f32x4_splat(1.0), f32x4_mul(f32x4_splat(ERF_P), a)));
            let mut poly = f32x4_add(f32x4_splat(ERF_A4), f32x4_mul(t, f32x4_splat(ERF_A5)));
            poly = f32x4_add(f32x4_splat(ERF_A3), f32x4_mul(t, poly));
            poly = f32x4_add(f32x4_splat(ERF_A2), f32x4_mul(t, poly));
            poly = f32x4_add(f32x4_splat(ERF_A1), f32x4_mul(t, poly));
            poly = f32x4_mul(t, poly);
            let q = f32x4_mul(poly, exp4_not_positive(f32x4_neg(f32x4_mul(a, a))));
            let half = f32x4_mul(f32x4_splat(0.5), v);
            let pos = f32x4_mul(half, f32x4_sub(f32x4_splat(2.0), q));
            let neg = f32x4_mul(half, q);
            v128_bitselect(pos, neg, f32x4_ge(v, f32x4_splat(0.0)))
        },
        scalar::gelu_erf_one,
    )
}


/// GELU, tanh form as `u / (1 + e^{-2z})`; see [`scalar::gelu_tanh_one`].
pub fn gelu_tanh(x: &mut [f32]) {
    map(
        x,
        |u| {
            let cube = f32x4_mul(f32x4_mul(f32x4_mul(f32x4_splat(GELU_A), u), u), u);
            let z = f32x4_mul(f32x4_splat(GELU_C), f32x4_add(u, cube));
            f32x4_div(u, f32x4_add(f32x4_splat(1.0), exp4(f32x4_mul(f32x4_splat(-2.0), z))))
        },
        scalar::gelu_tanh_one,
    )
}

pub fn relu(x: &mut [f32]) {
    map(x, |v| f32x4_pmax(f32x4_splat(0.0), v), |v| if 0.0 < v { v } else { 0.0 })
}

/// SiLU / swish: `x / (1 + e^{-x})`.
pub fn silu(x: &mut [f32]) {
    map(x, |v| f32x4_div(v, f32x4_add(f32x4_splat(1.0), exp4(f32x4_neg(v)))), |v| v / (1.0 + scalar::exp(-v)))
}

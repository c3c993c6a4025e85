//! Math kernels on contiguous `&[f32]` buffers, row-major.
//!
//! Each kernel has a scalar twin in [`scalar`], which is the reference and the fallback.
//! On wasm32 built with `+simd128` the SIMD versions in `simd128` are selected at compile
//! time; everywhere else the scalar code runs (natively, the panel products also have an AVX2
//! path picked at run time, see `x86`). Tests check the versions agree on awkward lengths.
//!
//! Shape legend: `M` rows of activations (tokens), `K` input features, `N` output features.

pub mod int8;
pub mod limits;
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
/// Int8 weights share one f32 scale per group of this many consecutive `k` of one output column.
pub const INT8_GROUP: usize = 64;

/// How a [`Linear`] keeps its weights in memory. 16-bit and int8 weights stay that size and are
/// widened to f32 inside the kernels (products and sums are always f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    F32,
    F16,
    BF16,
    /// Symmetric int8 with one f32 scale per [`INT8_GROUP`] weights of an output column:
    /// `w = q · scale`, `scale = max|w| / 127` over the group; multiplied as integers against the
    /// activations quantised to int16 per group (see [`int8`]).
    Int8,
}

impl Storage {
    pub const ALL: [Storage; 4] = [Storage::F32, Storage::F16, Storage::BF16, Storage::Int8];

    /// `f32`, `f16`, `bf16` or `int8` (the CLI's `--weights` and the wasm load option).
    pub fn parse(name: &str) -> Option<Storage> {
        match name {
            "f32" => Some(Storage::F32),
            "f16" => Some(Storage::F16),
            "bf16" => Some(Storage::BF16),
            "int8" => Some(Storage::Int8),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Storage::F32 => "f32",
            Storage::F16 => "f16",
            Storage::BF16 => "bf16",
            Storage::Int8 => "int8",
        }
    }
}

/// A weight matrix as the checkpoint stores it: f32 values, or the raw bits of f16 / bf16, owned
/// or borrowed as little-endian bytes straight from the file (no copy while packing).
#[derive(Debug, Clone)]
pub enum StoredMatrix<'a> {
    F32(Vec<f32>),
    F16(Vec<u16>),
    BF16(Vec<u16>),
    /// Little-endian bytes of the file, 4 (F32Le) or 2 (F16Le, BF16Le) per value.
    F32Le(&'a [u8]),
    F16Le(&'a [u8]),
    BF16Le(&'a [u8]),
}

impl StoredMatrix<'_> {
    pub fn len(&self) -> usize {
        match self {
            StoredMatrix::F32(v) => v.len(),
            StoredMatrix::F16(v) | StoredMatrix::BF16(v) => v.len(),
            StoredMatrix::F32Le(b) => b.len() / 4,
            StoredMatrix::F16Le(b) | StoredMatrix::BF16Le(b) => b.len() / 2,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The storage that keeps these values exactly.
    pub fn storage(&self) -> Storage {
        match self {
            StoredMatrix::F32(_) | StoredMatrix::F32Le(_) => Storage::F32,
            StoredMatrix::F16(_) | StoredMatrix::F16Le(_) => Storage::F16,
            StoredMatrix::BF16(_) | StoredMatrix::BF16Le(_) => Storage::BF16,
        }
    }

    /// Raw 16-bit value `i` (f16 / bf16 bits; 0 for f32 matrices).
    #[inline(always)]
    pub fn bits(&self, i: usize) -> u16 {
        match self {
            StoredMatrix::F16(v) | StoredMatrix::BF16(v) => v[i],
            StoredMatrix::F16Le(b) | StoredMatrix::BF16Le(b) => u16::from_le_bytes([b[2 * i], b[2 * i + 1]]),
            StoredMatrix::F32(_) | StoredMatrix::F32Le(_) => 0,
        }
    }

    /// Value `i` as f32 (exact for every stored dtype).
    #[inline(always)]
    pub fn get(&self, i: usize) -> f32 {
        match self {
            StoredMatrix::F32(v) => v[i],
            StoredMatrix::F32Le(b) => f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]),
            StoredMatrix::F16(_) | StoredMatrix::F16Le(_) => f16_to_f32(self.bits(i)),
            StoredMatrix::BF16(_) | StoredMatrix::BF16Le(_) => bf16_to_f32(self.bits(i)),
        }
    }

    /// All values as f32.
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            StoredMatrix::F32(v) => v.clone(),
            _ => (0..self.len()).map(|i| self.get(i)).collect(),
        }
    }
}

#[inline(always)]
pub fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// f16 weights sit in their panels with the exponent field moved up by a shift chosen per matrix:
/// 10 (an f16 whose exponent bias is 25, not 15) unless a weight of 64 or more needs less. The
/// kernels widen a weight by a shift and a mask only (sign to bit 31, exponent and mantissa to bits
/// 13..28, f32's exponent bits 28..31 zero), which reads it as the weight times 2^-(112 - shift)
/// ([`F16Scales`]). With f16's own exponent (shift 0) every subnormal f16 would read as a subnormal
/// f32, and a multiply with a subnormal operand is slow on x86 (a microcode assist): at 0.2%
/// subnormal weights (GPT-2's init, std 0.02) decoding on f16 ran 1.4x slower than with them flushed
/// (`node bench/decode-ab.mjs`). With shift 10 none is subnormal; a smaller shift keeps the
/// smallest few subnormal. Exact for every finite f16 with `exponent + shift <= 30`; `None` otherwise.
pub fn f16_to_panel_bits(bits: u16, shift: u16) -> Option<u16> {
    let (sign, exp, mant) = (bits & 0x8000, (bits >> 10) & 0x1f, bits & 0x3ff);
    if exp == 31 || exp + shift > 30 {
        return None;
    }
    if exp != 0 {
        return Some(sign | (exp + shift) << 10 | mant);
    }
    if mant == 0 {
        return Some(sign); // ±0
    }
    // mant · 2^-24 with its leading bit at `lead` (0..=9): 2^(lead - 24) · 1.f, normal in the panel
    // when its exponent field lead - 24 + 15 + shift is at least 1.
    let lead = 15 - mant.leading_zeros() as u16;
    if lead + shift >= 10 {
        Some(sign | (lead + shift - 9) << 10 | (mant << (10 - lead)) & 0x3ff)
    } else {
        Some(sign | mant << shift) // still subnormal: (mant · 2^shift) · 2^-(24 + shift)
    }
}

/// The shift [`f16_to_panel_bits`] uses for a matrix whose largest f16 exponent field is
/// `max_exp`: 10, or less when a weight is 64 or more. `None` for a non-finite value (exponent 31).
pub fn f16_panel_shift(max_exp: u16) -> Option<u16> {
    (max_exp < 31).then(|| 10.min(30 - max_exp))
}

/// The powers of two that undo an f16 panel's shift: a weight read by shift and mask is the weight
/// times 2^-S (S = 112 - shift); prefill multiplies it by `widen` = 2^S, decoding multiplies the
/// activations times `x` by it, starts from `bias / sum` and multiplies the sums by `sum`
/// (`x · sum` = `widen`). Powers of two: the same products and sums as unscaled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct F16Scales {
    pub widen: f32,
    pub x: f32,
    pub sum: f32,
}

impl F16Scales {
    pub fn for_shift(shift: u16) -> Self {
        let pow2 = |e: u32| f32::from_bits((127 + e) << 23);
        let s = 112 - shift as u32;
        F16Scales { widen: pow2(s), x: pow2(s / 2), sum: pow2(s - s / 2) }
    }
}

/// The value of panel bits from [`f16_to_panel_bits`]: the kernels' widening (shift and mask, the
/// scalar twin's [`scalar::f16_high_to_scaled_f32`]), then the matrix's scale `widen`
/// ([`F16Scales`], computed once per matrix by the caller).
#[inline(always)]
pub fn panel_bits_to_f32(bits: u16, widen: f32) -> f32 {
    scalar::f16_high_to_scaled_f32((bits as u32) << 16) * widen
}

#[inline(always)]
pub fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// Where, inside one panel row of 8 16-bit weights, column `c` is kept: columns are interleaved
/// `c0 c4 c1 c5 c2 c6 c3 c7` so that one 128-bit load widens to columns 0..4 with a shift left by
/// 16 and to columns 4..8 with a mask of the high halves (one instruction each).
#[inline(always)]
pub const fn half_slot(c: usize) -> usize {
    if c < 4 { 2 * c } else { 2 * (c - 4) + 1 }
}

/// Every product over packed panels sums an output's K products in runs of this many `k`: each run
/// adds its products in k order into a sum of its own (the first run's starts from the bias, the
/// others from zero), and the runs' sums are added in order. One running sum over all of K loses
/// about twice the precision at K = 2,048: on a Llama-3.2-1B-shaped bf16 model the attention
/// weights were 1.0e-4 from a float64 run (transformers' float32 run: 4.7e-5), and 4.8e-5 with runs
/// of 256 (1.3e-4 with 512). Every kernel, SIMD or scalar, prefill or decoding, keeps the same runs,
/// so they all still agree bit for bit, and a product with K <= 256 is exactly what it was before.
pub const SUM_BLOCK: usize = 256;

/// Panels per group: a group's rows are interleaved ([`panel_row`]) and decoding reads its
/// [`GROUP_PANELS`] panels side by side. One: each panel is `[K][NR]`, a run of its own, and decoding
/// keeps 2 accumulators per stream. With groups of two (the layout before 2026-12-06), decoding's
/// four streams kept 16 accumulators, one more than V8 allocates, and spilled some every k step;
/// GPT-2-small-shaped decoding against that build, interleaved in one process (`node
/// bench/decode-ab.mjs`, three runs): f16 38.9 -> 43.0, 39.7 -> 41.3 and 39.7 -> 43.2 tokens/s
/// (x1.04-1.11), bf16 x1.05-1.06, f32 x1.04-1.07, int8 (its own layout) unchanged;
/// all-MiniLM-L6-v2 prefill with attention captured x1.05 at 16 tokens and x1.01 at 128 (`node
/// bench/minilm-ab.mjs`: prefill's 2 x 16 tile now reads its two panels from two pointers).
pub const GROUP_PANELS: usize = 1;

/// Groups of panels decoding reads side by side: [`DECODE_GROUPS`] sequential streams a sixth of the
/// matrix apart keep more cache-line misses in flight than two where the hardware prefetcher falls
/// behind (see `simd128::gemv`). Six against four, with one panel per group (12 accumulators against
/// 8), GPT-2-small-shaped decoding interleaved in one process (`node bench/decode-ab.mjs`, two runs):
/// f16 41.9 -> 43.9 and 41.4 -> 43.7 tokens/s, bf16 x1.02, f32 x0.99 and x0.98; eight: f16 x1.02.
pub const DECODE_GROUPS: usize = 6;

/// The groups decoding takes together, `whole` groups in all: sets of [`DECODE_GROUPS`] (`j`,
/// `j + share`, `j + 2·share`, ..., `share` = `whole / DECODE_GROUPS`), then each group past them
/// alone (`count` 1); every group alone when `wide` is false ([`decode_wide`]). Each output's sum runs
/// in k order whatever the sets, so they change no bits.
pub fn decode_group_sets(whole: usize, wide: bool) -> impl Iterator<Item = ([usize; DECODE_GROUPS], usize)> {
    let share = if wide { whole / DECODE_GROUPS } else { 0 };
    (0..share)
        .map(move |j| (core::array::from_fn(|s| j + s * share), DECODE_GROUPS))
        .chain((DECODE_GROUPS * share..whole).map(|g| ([g; DECODE_GROUPS], 1)))
}

/// Whether decoding reads [`DECODE_GROUPS`] streams of weights side by side (wide) or fewer (narrow: two in
/// the SIMD128 kernels, one in the native ones), in f32, f16 and bf16; in int8 (SIMD128), six tiles of two
/// streams each or one tile (`int8::simd128_gemm`). Which is faster depends on the machine's hardware
/// prefetcher, not on the model: on an Intel Xeon VM (2026-12-05) six streams decoded f16 twice as fast
/// as two, while on an AMD EPYC with 25 GB/s (2026-12-07, `node bench/decode-gemvs.mjs` with the
/// constant changed) six streams read the weights at 18 GB/s in f32 and one stream at 24 GB/s, and a
/// stream test there gave 24 GB/s for one or two streams and 14 for four. So the choice is measured on
/// the machine, in the storage of the model at hand (`glassbox::models::Model::calibrate_decoding`, when
/// a large model loads). Narrow until then: a model too small to be timed has weights in or near the
/// caches, where the wide kernels' extra registers (V8 spills some) cost more than their streams
/// give. A 6-layer, 384-wide GPT-2-shaped model on the AMD EPYC (2026-12-07, narrow against wide in
/// one process): f32 2.14/1.90 against 3.20/2.95 ms/token, f16 1.56/1.55 against 2.45/2.41, int8
/// 0.68/0.70 against 1.10/1.12.
static DECODE_WIDE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Whether decoding reads [`DECODE_GROUPS`] streams side by side (see [`DECODE_WIDE`]).
pub fn decode_wide() -> bool {
    DECODE_WIDE.load(core::sync::atomic::Ordering::Relaxed)
}

/// Sets how decoding reads its weights: [`DECODE_GROUPS`] streams (int8: tiles) side by side, or fewer.
/// Numbers do not change: every output adds its products in the same runs, in k order, either way.
pub fn set_decode_wide(wide: bool) {
    DECODE_WIDE.store(wide, core::sync::atomic::Ordering::Relaxed);
}

/// Where row `kk` of panel `p` (of `n_panels`, `K` rows each) starts, in any storage but int8.
/// Panels are interleaved by groups of [`GROUP_PANELS`] (`[K][GROUP_PANELS][NR]`, a last group of
/// fewer panels narrower), so a group is one sequential run that decoding walks with one pointer, and
/// consecutive groups follow each other: a stream that walks groups in order walks memory in order
/// (4 streams of neighbouring panels measured slower than one group of 4: the hardware prefetcher
/// restarts on every short stream; the f32 LM head x1.15). Decoding takes several streams far apart
/// at once: two long streams pull more from memory than one (f32 and bf16 decoding x1.11-1.17 against
/// one group of 4, `node bench/decode-ab.mjs f32:pkg f32:OLD bf16:pkg bf16:OLD`), and four more than
/// two where the prefetcher falls behind ([`decode_group_sets`]).
#[inline(always)]
pub const fn panel_row(k: usize, n_panels: usize, p: usize, kk: usize) -> usize {
    let first = p / GROUP_PANELS * GROUP_PANELS;
    let width = if n_panels - first < GROUP_PANELS { n_panels - first } else { GROUP_PANELS };
    first * NR * k + kk * width * NR + (p - first) * NR
}

/// The distance between consecutive rows of panel `p`: the width of its group times [`NR`].
#[inline(always)]
pub const fn panel_ld(n_panels: usize, p: usize) -> usize {
    let first = p / GROUP_PANELS * GROUP_PANELS;
    (if n_panels - first < GROUP_PANELS { n_panels - first } else { GROUP_PANELS }) * NR
}

/// Re-lay `w: [K][N]` as `ceil(N/NR)` panels `[K][NR]`, k-major, in groups of [`GROUP_PANELS`]
/// ([`panel_row`]), the last one padded with zero columns: one panel row is the 8 weights one
/// activation value multiplies.
pub fn pack_panels(w_kn: &[f32], k: usize, n: usize) -> Vec<f32> {
    pack_with(k, n, 0.0, |kk, col| w_kn[kk * n + col], |c| c, panel_row)
}

/// [`pack_panels`] of `rows_nk`'s transpose: the panels of a product `x · rows_nkᵀ` (one head's
/// attention scores against its keys, `[N][K]`).
pub fn pack_panels_of_rows(rows_nk: &[f32], n: usize, k: usize) -> Vec<f32> {
    pack_with(k, n, 0.0, |kk, col| rows_nk[col * k + kk], |c| c, panel_row)
}

/// Panels of `value(k, n)`, row `kk` of panel `p` at `row(K, n_panels, p, kk)`, column `c` of a
/// panel row at `slot(c)`.
fn pack_with<T: Copy>(k: usize, n: usize, zero: T, value: impl Fn(usize, usize) -> T, slot: impl Fn(usize) -> usize, row: fn(usize, usize, usize, usize) -> usize) -> Vec<T> {
    let n_panels = n.div_ceil(NR);
    let mut panels = vec![zero; n_panels * NR * k];
    for p in 0..n_panels {
        let cols = NR.min(n - p * NR);
        for kk in 0..k {
            let dst = row(k, n_panels, p, kk);
            for c in 0..cols {
                panels[dst + slot(c)] = value(kk, p * NR + c);
            }
        }
    }
    panels
}

/// Packed weights of a [`Linear`], in their storage.
#[derive(Debug, Clone)]
enum Panels {
    F32(Vec<f32>),  // panels [K][NR] in groups (`panel_row`)
    F16 { bits: Vec<u16>, shift: u16 }, // as BF16, each value re-encoded by `f16_to_panel_bits`
    BF16(Vec<u16>), // panels [K][NR] in groups (`panel_row`), columns at `half_slot`
    Int8 { q: Vec<i8> }, // tiles of 16 columns, their scales inside, see [`int8`]
}

/// A borrowed view of packed weights, what the kernels take.
#[derive(Clone, Copy)]
pub enum PanelRef<'a> {
    F32(&'a [f32]),
    /// [`f16_to_panel_bits`] values, all with the same `shift`.
    F16 { bits: &'a [u16], shift: u16 },
    BF16(&'a [u16]),
    /// Not panels: tiles of [`int8::TILE`] columns in two halves, each group's f32 scales after its
    /// weights in the first half (see [`int8`]).
    Int8 { q: &'a [i8] },
}

impl PanelRef<'_> {
    /// Panel `p` (of a matrix of `n` columns) rows `k0..k0+kc` widened to f32 into `dst: [kc][NR]`,
    /// columns in natural order. The reference widening: the SIMD kernels produce these exact values.
    pub fn widen_block(&self, k: usize, n: usize, p: usize, k0: usize, kc: usize, dst: &mut [f32]) {
        let n_panels = n.div_ceil(NR);
        match *self {
            PanelRef::F32(w) => {
                for r in 0..kc {
                    let at = panel_row(k, n_panels, p, k0 + r);
                    dst[r * NR..(r + 1) * NR].copy_from_slice(&w[at..at + NR]);
                }
            }
            PanelRef::F16 { bits: w, shift } => {
                let widen = F16Scales::for_shift(shift).widen;
                for r in 0..kc {
                    let at = panel_row(k, n_panels, p, k0 + r);
                    for c in 0..NR {
                        dst[r * NR + c] = panel_bits_to_f32(w[at + half_slot(c)], widen);
                    }
                }
            }
            PanelRef::BF16(w) => {
                for r in 0..kc {
                    let at = panel_row(k, n_panels, p, k0 + r);
                    for c in 0..NR {
                        dst[r * NR + c] = bf16_to_f32(w[at + half_slot(c)]);
                    }
                }
            }
            PanelRef::Int8 { q } => {
                let w = int8::Int8Ref { q };
                for r in 0..kc {
                    for c in 0..NR {
                        dst[r * NR + c] = w.weight(k, n, p * NR + c, k0 + r);
                    }
                }
            }
        }
    }

    fn len_ok(&self, k: usize, n: usize) -> bool {
        let want = n.div_ceil(NR) * NR * k;
        match *self {
            PanelRef::F32(w) => w.len() >= want,
            PanelRef::F16 { bits: w, .. } | PanelRef::BF16(w) => w.len() >= want,
            PanelRef::Int8 { q } => int8::Int8Ref { q }.len_ok(k, n),
        }
    }
}

/// Which checkpoint layout a weight matrix is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `nn.Linear`: `[N][K]` (out, in).
    OutIn,
    /// GPT-2 `Conv1D`: `[K][N]` (in, out).
    InOut,
}

/// A linear layer `y = x W^T + b`, with `W` kept in the layout the matmul kernel wants.
///
/// Built once at load time from either checkpoint layout:
/// `nn.Linear` stores `W` as `[N][K]` (out, in); GPT-2's `Conv1D` stores it as `[K][N]`.
/// Both are re-packed into k-major panels of [`NR`] columns ([`pack_panels`]) in the chosen
/// [`Storage`], with the bias (f32) padded to the panel width so the kernel starts its
/// accumulators from it.
#[derive(Debug, Clone)]
pub struct Linear {
    pub d_in: usize,  // K
    pub d_out: usize, // N
    panels: Panels,
    bias: Vec<f32>, // [N rounded up to NR], zeros when the layer has no bias
    has_bias: bool,
}

impl Linear {
    /// From the `nn.Linear` layout `[N][K]`, f32 storage.
    pub fn from_out_in(w: &[f32], d_out: usize, d_in: usize, bias: Option<Vec<f32>>) -> Self {
        debug_assert_eq!(w.len(), d_out * d_in);
        let panels = Panels::F32(pack_with(d_in, d_out, 0.0, |kk, col| w[col * d_in + kk], |c| c, panel_row));
        Self::with_panels(panels, d_in, d_out, bias)
    }

    /// From the GPT-2 `Conv1D` layout `[K][N]`, f32 storage.
    pub fn from_in_out(w: Vec<f32>, d_in: usize, d_out: usize, bias: Option<Vec<f32>>) -> Self {
        debug_assert_eq!(w.len(), d_out * d_in);
        let panels = Panels::F32(pack_panels(&w, d_in, d_out));
        drop(w);
        Self::with_panels(panels, d_in, d_out, bias)
    }

    /// From a matrix as the checkpoint stores it, kept in `storage` (`None`: the storage of the
    /// file, so f16 and bf16 stay 16-bit). An f16 matrix with a value that is not finite stays f32 (the
    /// SIMD widening assumes finite values); the others are re-encoded by [`f16_to_panel_bits`].
    pub fn from_stored(w: StoredMatrix<'_>, layout: Layout, d_in: usize, d_out: usize, bias: Option<Vec<f32>>, storage: Option<Storage>) -> Self {
        debug_assert_eq!(w.len(), d_out * d_in);
        let (k, n) = (d_in, d_out);
        let at = |kk: usize, col: usize| match layout {
            Layout::OutIn => col * k + kk,
            Layout::InOut => kk * n + col,
        };
        let mut storage = storage.unwrap_or(w.storage());
        let from = w.storage();
        let f16_bits = |i: usize| if from == Storage::F16 { w.bits(i) } else { half::f16::from_f32(w.get(i)).to_bits() };
        let mut shift = 0;
        if storage == Storage::F16 {
            let max_exp = if from == Storage::F16 {
                (0..w.len()).map(|i| (w.bits(i) >> 10) & 0x1f).max().unwrap_or(0)
            } else {
                // Rounding to f16 keeps the order, so the largest exponent is the largest value's
                // (one conversion, not one per weight); a NaN anywhere counts as exponent 31.
                let (max_abs, nan) = (0..w.len()).map(|i| w.get(i)).fold((0.0f32, false), |(m, nan), v| (m.max(v.abs()), nan || v.is_nan()));
                if nan { 31 } else { (half::f16::from_f32(max_abs).to_bits() >> 10) & 0x1f }
            };
            match f16_panel_shift(max_exp) {
                Some(s) => shift = s,
                None => storage = Storage::F32,
            }
        }
        let panels = match (storage, from) {
            (Storage::F32, _) => Panels::F32(pack_with(k, n, 0.0, |kk, col| w.get(at(kk, col)), |c| c, panel_row)),
            // Every value was checked above: `unwrap_or(0)` never takes its default.
            (Storage::F16, _) => Panels::F16 { bits: pack_with(k, n, 0, |kk, col| f16_to_panel_bits(f16_bits(at(kk, col)), shift).unwrap_or(0), half_slot, panel_row), shift },
            (Storage::BF16, Storage::BF16) => Panels::BF16(pack_with(k, n, 0, |kk, col| w.bits(at(kk, col)), half_slot, panel_row)),
            (Storage::BF16, _) => Panels::BF16(pack_with(k, n, 0, |kk, col| half::bf16::from_f32(w.get(at(kk, col))).to_bits(), half_slot, panel_row)),
            (Storage::Int8, _) => {
                Panels::Int8 { q: int8::pack(k, n, |kk, col| w.get(at(kk, col))) }
            }
        };
        drop(w);
        Self::with_panels(panels, d_in, d_out, bias)
    }

    /// [`Linear::from_stored`] for an `nn.Linear` matrix `[N][K]` read `rows` rows at a time (rounded up to
    /// a whole number of panel groups, which is also one of int8 tiles): `block(r0..r1)` gives rows `r0..r1` as `(r1 - r0) * K` values. Each block packs into whole
    /// panels, which are appended in order, so the result is bit for bit the whole matrix's packing while
    /// only one block ever exists in its file's form (a 50k-row token table is never held twice).
    /// `None` if a block fell back to f32 (f16 storage of values past its range): pack the whole matrix then.
    /// `block` is a trait object: one copy of this loop serves every caller (three were 4 KB of wasm).
    pub fn from_row_blocks<'s>(d_in: usize, d_out: usize, bias: Option<Vec<f32>>, storage: Storage, rows: usize, block: &mut dyn FnMut(std::ops::Range<usize>) -> StoredMatrix<'s>) -> Option<Self> {
        // Whole panel groups and whole int8 tiles: the larger of the two (each a multiple of the other).
        const ROWS: usize = if GROUP_PANELS * NR > int8::TILE { GROUP_PANELS * NR } else { int8::TILE };
        const _: () = assert!(ROWS % (GROUP_PANELS * NR) == 0 && ROWS % int8::TILE == 0);
        let rows = rows.div_ceil(ROWS).max(1) * ROWS;
        let (k, panels_len) = (d_in, d_out.div_ceil(NR) * NR * d_in);
        let mut panels = match storage {
            Storage::F32 => Panels::F32(Vec::with_capacity(panels_len)),
            Storage::F16 => Panels::F16 { bits: Vec::with_capacity(panels_len), shift: u16::MAX },
            Storage::BF16 => Panels::BF16(Vec::with_capacity(panels_len)),
            Storage::Int8 => Panels::Int8 { q: vec![0; int8::packed_len(k, d_out)] },
        };
        for r0 in (0..d_out).step_by(rows) {
            let r1 = d_out.min(r0 + rows);
            let part = Linear::from_stored(block(r0..r1), Layout::OutIn, k, r1 - r0, None, Some(storage));
            match (&mut panels, part.panels) {
                (Panels::F32(all), Panels::F32(p)) => all.extend_from_slice(&p),
                // Every block must share one f16 shift (the first block's): else pack the whole.
                (Panels::F16 { bits: all, shift }, Panels::F16 { bits: p, shift: s }) if r0 == 0 || *shift == s => {
                    all.extend_from_slice(&p);
                    *shift = s;
                }
                (Panels::BF16(all), Panels::BF16(p)) => all.extend_from_slice(&p),
                (Panels::Int8 { q }, Panels::Int8 { q: pq }) => {
                    // The block's two halves go to the two runs of the whole (see `int8`).
                    int8::put_block(q, int8::padded_k(k), d_out, r0 / int8::TILE, &pq);
                }
                _ => return None,
            }
        }
        Some(Self::with_panels(panels, d_in, d_out, bias))
    }

    fn with_panels(panels: Panels, d_in: usize, d_out: usize, bias: Option<Vec<f32>>) -> Self {
        let mut padded = vec![0.0; d_out.div_ceil(NR) * NR];
        if let Some(b) = &bias {
            padded[..d_out].copy_from_slice(&b[..d_out]);
        }
        Linear { d_in, d_out, panels, bias: padded, has_bias: bias.is_some() }
    }

    /// The storage the weights are kept in.
    pub fn storage(&self) -> Storage {
        match self.panels {
            Panels::F32(_) => Storage::F32,
            Panels::F16 { .. } => Storage::F16,
            Panels::BF16(_) => Storage::BF16,
            Panels::Int8 { .. } => Storage::Int8,
        }
    }

    /// Bytes the layer keeps (weights, scales and bias, panel padding included).
    pub fn bytes(&self) -> usize {
        let w = match &self.panels {
            Panels::F32(v) => 4 * v.len(),
            Panels::F16 { bits: v, .. } | Panels::BF16(v) => 2 * v.len(),
            Panels::Int8 { q } => q.len(),
        };
        w + 4 * self.bias.len()
    }

    /// The packed weights, for the kernels.
    pub fn panels(&self) -> PanelRef<'_> {
        match &self.panels {
            Panels::F32(v) => PanelRef::F32(v),
            Panels::F16 { bits, shift } => PanelRef::F16 { bits, shift: *shift },
            Panels::BF16(v) => PanelRef::BF16(v),
            Panels::Int8 { q } => PanelRef::Int8 { q },
        }
    }

    /// Weight `W[n][k]` as the kernels see it (after widening).
    pub fn weight(&self, n: usize, k: usize) -> f32 {
        let mut row = [0.0f32; NR];
        self.panels().widen_block(self.d_in, self.d_out, n / NR, k, 1, &mut row);
        row[n % NR]
    }

    /// Row `n` of `W` (`[N][K]`, i.e. the weights of output `n`), widened, into `dst: [K]`: a
    /// token's embedding when the layer is a tied embedding table / LM head.
    pub fn weight_row_into(&self, n: usize, dst: &mut [f32]) {
        let k = self.d_in;
        let (p, c) = (n / NR, n % NR);
        let dst = &mut dst[..k];
        match &self.panels {
            Panels::F32(w) => dst.iter_mut().enumerate().for_each(|(kk, d)| *d = w[panel_row(k, self.d_out.div_ceil(NR), p, kk) + c]),
            Panels::F16 { bits: w, shift } => {
                let widen = F16Scales::for_shift(*shift).widen;
                dst.iter_mut().enumerate().for_each(|(kk, d)| *d = panel_bits_to_f32(w[panel_row(k, self.d_out.div_ceil(NR), p, kk) + half_slot(c)], widen))
            }
            Panels::BF16(w) => dst.iter_mut().enumerate().for_each(|(kk, d)| *d = bf16_to_f32(w[panel_row(k, self.d_out.div_ceil(NR), p, kk) + half_slot(c)])),
            Panels::Int8 { q } => {
                let w = int8::Int8Ref { q };
                dst.iter_mut().enumerate().for_each(|(kk, d)| *d = w.weight(k, self.d_out, n, kk));
            }
        }
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
        gemm(x, rows, self.d_in, self.panels(), self.d_out, &self.bias, out);
    }

    /// The same product computed by the scalar twin (for SIMD == scalar checks and benchmarks).
    pub fn forward_scalar(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows * self.d_out];
        self.forward_scalar_into(x, rows, &mut out);
        out
    }

    pub fn forward_scalar_into(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        scalar::gemm(x, rows, self.d_in, self.panels(), self.d_out, &self.bias, out);
    }

    pub fn has_bias(&self) -> bool {
        self.has_bias
    }

    /// Number of stored parameters (weights + bias), not counting panel padding.
    pub fn n_params(&self) -> usize {
        self.d_in * self.d_out + if self.has_bias { self.d_out } else { 0 }
    }
}

/// `out[M][N] = x[M][K] · W + bias` on packed panels of any storage: the fastest path for this
/// build and machine (SIMD128 on wasm; natively the scalar twins, compiled a second time for AVX2
/// and picked at run time when the CPU has it — same operations, same bits).
pub fn gemm(x: &[f32], m: usize, k: usize, w: PanelRef, n: usize, bias: &[f32], out: &mut [f32]) {
    assert!(w.len_ok(k, n), "packed weights shorter than K x N");
    if let PanelRef::Int8 { q } = w {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { int8::avx2::gemm(x, m, k, int8::Int8Ref { q }, n, bias, out) };
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return int8::simd128_gemm(x, m, k, int8::Int8Ref { q }, n, bias, out);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        return int8::gemm(x, m, k, int8::Int8Ref { q }, n, bias, out, int8::scalar_tile, int8::quantize_group);
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { scalar::avx2::gemm(x, m, k, w, n, bias, out) };
    }
    active::gemm(x, m, k, w, n, bias, out)
}

/// `out[M][N] = x[M][K] · w[K][N] (+ bias[N])`.
pub fn matmul_kn(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: Option<&[f32]>, out: &mut [f32]) {
    active::matmul_kn(x, m, k, w, n, bias, out)
}

/// `out[M][N] = x[M][K] · w[N][K]^T`: rows of `w` are dotted with rows of `x`
/// (a tied LM head reads the embedding table this way, attention scores read K this way).
pub fn matmul_nk(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { scalar::avx2::matmul_nk(x, m, k, w, n, out) };
    }
    active::matmul_nk(x, m, k, w, n, out)
}

/// `out[j] = x[..K] · w[j·ld .. j·ld + K]` for `j < N`: rows of `w` that sit `ld` floats apart (one
/// head's keys inside `[T][H·D]` rows), each a [`scalar::dot8`] as in [`matmul_nk`] at M = 1, so
/// the same numbers as gathering the rows first, without the copy.
pub fn dot_rows(x: &[f32], k: usize, w: &[f32], ld: usize, n: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { scalar::avx2::dot_rows(x, k, w, ld, n, out) };
    }
    active::dot_rows(x, k, w, ld, n, out)
}

/// `x *= s`, element by element.
pub fn scale(x: &mut [f32], s: f32) {
    active::scale_in_place(x, s)
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    active::dot(a, b)
}

/// `y += alpha * x`
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    active::axpy(alpha, x, y)
}

/// `out[..D] += Σ_j p[j] · v[j·ld..][..D]` for `j < p.len()`, in `j` order, skipping `p[j] == 0`:
/// attention's weighted sum of value rows that sit `ld` floats apart (one head inside `[T][H·D]`
/// rows), the same numbers as an [`axpy`] per row, without a call per row.
pub fn axpy_rows(p: &[f32], v: &[f32], ld: usize, d: usize, out: &mut [f32]) {
    active::axpy_rows(p, v, ld, d, out)
}

/// One query's attention scores against `n` key rows, every head in one pass over the rows:
/// `out[h·n + j] = q[h·D..][..D] · keys[j·ld + (h / group)·D..][..D]` for `h < H`, `j < n`, where
/// `group` query heads share one key head (grouped-query attention; 1 for plain multi-head).
/// Each product is a [`scalar::dot8`], so the numbers are [`dot_rows`]' head by head. Reading each
/// key row whole and in order is what matters when decoding: the cache then streams from memory
/// instead of being visited once per head in strided 256-byte pieces.
#[allow(clippy::too_many_arguments)]
pub fn dot_rows_heads(q: &[f32], n_heads: usize, d: usize, group: usize, keys: &[f32], ld: usize, n: usize, out: &mut [f32]) {
    check_heads(n_heads, d, group, ld, keys.len(), n);
    assert!(q.len() >= n_heads * d && out.len() >= n_heads * n, "dot_rows_heads: q holds H·D values and out H·n");
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { scalar::avx2::dot_rows_heads(q, n_heads, d, group, keys, ld, n, out) };
    }
    active::dot_rows_heads(q, n_heads, d, group, keys, ld, n, out)
}

/// One query's attention output, every head in one pass over the value rows:
/// `out[h·D..][..D] += Σ_j p[h·n + j] · values[j·ld + (h / group)·D..][..D]`, `j` in order, terms
/// whose `p` is 0 skipped: per head the numbers of [`axpy_rows`], each value row read once.
#[allow(clippy::too_many_arguments)]
pub fn axpy_rows_heads(p: &[f32], n: usize, n_heads: usize, d: usize, group: usize, values: &[f32], ld: usize, out: &mut [f32]) {
    check_heads(n_heads, d, group, ld, values.len(), n);
    assert!(p.len() >= n_heads * n && out.len() >= n_heads * d, "axpy_rows_heads: p holds H·n values and out H·D");
    active::axpy_rows_heads(p, n, n_heads, d, group, values, ld, out)
}

/// The shapes [`dot_rows_heads`] and [`axpy_rows_heads`] rely on: `group` divides H, a row of `ld`
/// floats holds the H / group key/value heads, and `len` floats hold `n` rows.
fn check_heads(n_heads: usize, d: usize, group: usize, ld: usize, len: usize, n: usize) {
    assert!(group >= 1 && n_heads % group == 0, "attention: {n_heads} query heads cannot share key/value heads in groups of {group}");
    let width = n_heads / group * d;
    assert!(ld >= width && (n == 0 || len >= (n - 1) * ld + width), "attention: {n} rows of {width} floats, {ld} apart, do not fit in {len}");
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

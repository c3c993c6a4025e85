//! Int8 weights with one scale per group of [`INT8_GROUP`] along K, multiplied as integers.
//!
//! Decoding reads every weight once per token, so the fewer bytes and the fewer instructions per
//! weight, the faster. Widening each int8 weight to f32 and multiplying by its scale costs about
//! six SIMD instructions per four weights; here the activation row is quantised once per product
//! to int16 (its own scale per group, 15 bits against the weights' 7) and the weights meet it in
//! `i32x4.dot_i16x8_s`: 8 multiply-adds in one instruction, exact in i32, then one f32
//! multiply-add per group and output column:
//!
//! `out[n] = bias[n] + Σ_g f32(Σ_{k∈g} qx[k]·qw[k][n]) · (sw[g][n] · sx[g])`
//!
//! Layout (made by [`pack`], indexed by [`q_index`] and [`scale_index`]): tiles of [`TILE`] = 16
//! output columns, each cut in two halves: the first G/2 k of every group in the first half, the
//! last G/2 in the second (in each, the two k of a pair side by side for the 16 columns, then the
//! next pair); `Kp` = K rounded up to the group (zeros past K). In the first half each group's
//! weights are followed by its 16 scales (f32, little-endian, 0 for columns past N):
//! `[Kp/G]{[G/4][16][2] i8, [16] f32}` (576 bytes a group); the second half is `[Kp/G][G/4][16][2]`
//! i8. All the first halves come first, tile after tile, then all the second halves. A product
//! walks both runs at once, front to back, each step adding a pair of each half into the same
//! integer sums (exact, so the order does not matter): two sequential streams half a matrix apart.
//! The GPT-2 LM head (768 x 50,257) went from 29.0 to 31.9 GB/s against one stream (`node
//! bench/kernels.mjs --only=int8 --against=DIR`); a likely reason is that the hardware prefetcher
//! stops at each 4 KiB page and the other stream keeps memory busy meanwhile. The two halves of one
//! tile side by side (half a tile apart) measured x0.50: the streams must be far apart. The scales
//! ride in the first stream: kept in an array of their own they were a third stream, and decoding
//! read 10-12% faster without it (`node bench/decode-ab.mjs`, GPT-2-small shape).
//!
//! The same arithmetic for every M (decoding, prefill): a row alone gives what the batch gave it,
//! and the SIMD128 tile ([`simd128_tile`]) gives its scalar twin's ([`scalar_tile`]) bits, since
//! the integer sums are exact and the f32 operations per output are the same, in the same order.

use super::INT8_GROUP as G;

/// Output columns per tile: two 8-column halves, 16 i8 of a k pair each.
pub const TILE: usize = 16;
/// Pairs of k per group.
const PAIRS: usize = G / 2;
/// Pairs of k per group in each half of a tile.
const HALF_PAIRS: usize = PAIRS / 2;
/// Bytes of one group's weights in one half of a tile.
const HALF_GROUP_WEIGHTS: usize = HALF_PAIRS * 2 * TILE;
/// Bytes of one group's 16 f32 scales (after its weights in the first half).
const GROUP_SCALES: usize = 4 * TILE;
/// Bytes of one group in the first half of a tile: weights, then scales.
const FIRST_GROUP: usize = HALF_GROUP_WEIGHTS + GROUP_SCALES;
/// Largest |qx|: the activation's int16 range, symmetric.
const QX_MAX: f32 = 32767.0;
// A group's integer sum cannot overflow i32: G products of at most 127 · 32767.
const _: () = assert!(G % 4 == 0 && (G as u64) * 127 * 32767 < (1u64 << 31));

/// K rounded up to a whole number of groups.
pub fn padded_k(k: usize) -> usize {
    k.div_ceil(G) * G
}

/// Bytes the packing of a matrix of `n` columns and `k` rows takes (weights and scales).
pub fn packed_len(k: usize, n: usize) -> usize {
    n.div_ceil(TILE) * (padded_k(k) / G) * (FIRST_GROUP + HALF_GROUP_WEIGHTS)
}

/// Borrowed packed int8 weights with their scales (see the module's layout).
#[derive(Clone, Copy)]
pub struct Int8Ref<'a> {
    pub q: &'a [i8], // [2 halves][N/TILE tiles] ([`q_index`], [`scale_index`])
}

impl Int8Ref<'_> {
    pub fn len_ok(&self, k: usize, n: usize) -> bool {
        self.q.len() >= packed_len(k, n)
    }

    /// `W[col][kk]` of a matrix of `n` columns as the product sees it: `q · scale`.
    pub fn weight(&self, k: usize, n: usize, col: usize, kk: usize) -> f32 {
        let (kp, tiles) = (padded_k(k), n.div_ceil(TILE));
        self.q[q_index(kp, tiles, col, kk)] as f32 * scale_at(self.q, scale_index(kp, col, kk / G))
    }

    /// Tile `t`'s two halves (of a matrix of `tiles` tiles of `Kp` rows).
    fn halves(&self, kp: usize, tiles: usize, t: usize) -> (&[i8], &[i8]) {
        let groups = kp / G;
        let (first, second) = (groups * FIRST_GROUP, groups * HALF_GROUP_WEIGHTS);
        let half = tiles * first;
        (&self.q[t * first..(t + 1) * first], &self.q[half + t * second..half + (t + 1) * second])
    }
}

/// Where weight (`kk`, `col`) of a matrix of `tiles` tiles of `Kp` rows sits in `q`: the half of
/// its group it falls in (all first halves, then all second halves), its tile, its group, its pair
/// within the half, its column, its place in the pair.
#[inline(always)]
pub fn q_index(kp: usize, tiles: usize, col: usize, kk: usize) -> usize {
    let groups = kp / G;
    let (t, c) = (col / TILE, col % TILE);
    let (g, j) = (kk / G, kk % G / 2);
    let (h, jj) = (j / HALF_PAIRS, j % HALF_PAIRS);
    let in_group = jj * 2 * TILE + 2 * c + kk % 2;
    if h == 0 {
        (t * groups + g) * FIRST_GROUP + in_group
    } else {
        tiles * groups * FIRST_GROUP + (t * groups + g) * HALF_GROUP_WEIGHTS + in_group
    }
}

/// Where the scale of column `col`, group `g` starts in `q` (4 bytes, f32 little-endian): after
/// the group's weights in the first half of its tile.
#[inline(always)]
pub fn scale_index(kp: usize, col: usize, g: usize) -> usize {
    ((col / TILE) * (kp / G) + g) * FIRST_GROUP + HALF_GROUP_WEIGHTS + 4 * (col % TILE)
}

#[inline(always)]
fn scale_at(q: &[i8], at: usize) -> f32 {
    f32::from_le_bytes([q[at] as u8, q[at + 1] as u8, q[at + 2] as u8, q[at + 3] as u8])
}

fn put_scale(q: &mut [i8], at: usize, scale: f32) {
    for (d, b) in q[at..at + 4].iter_mut().zip(scale.to_le_bytes()) {
        *d = b as i8;
    }
}

/// Puts the packing of a block of output columns, a whole number of tiles from tile `t0`, into
/// `q`, the packing of all `n` columns: the block's first halves among the first halves, its
/// second halves among the second. Blocks put in this way, in any order, give the whole matrix's
/// packing.
pub fn put_block(q: &mut [i8], kp: usize, n: usize, t0: usize, part: &[i8]) {
    let groups = kp / G;
    let (first, second) = (groups * FIRST_GROUP, groups * HALF_GROUP_WEIGHTS);
    let block_tiles = part.len() / (first + second).max(1);
    let half = n.div_ceil(TILE) * first;
    assert!(q.len() == packed_len(kp, n) && part.len() == block_tiles * (first + second) && t0 * first + block_tiles * first <= half, "int8 block past its matrix");
    let (at_a, len_a) = (t0 * first, block_tiles * first);
    let (at_b, len_b) = (half + t0 * second, block_tiles * second);
    q[at_a..at_a + len_a].copy_from_slice(&part[..len_a]);
    q[at_b..at_b + len_b].copy_from_slice(&part[len_a..]);
}

/// Symmetric int8 of `value(k, n)`: per column and group, `scale = max|w| / 127`, `q = round(w / scale)`.
pub fn pack(k: usize, n: usize, value: impl Fn(usize, usize) -> f32) -> Vec<i8> {
    let (kp, tiles) = (padded_k(k), n.div_ceil(TILE));
    let groups = kp / G;
    let mut q = vec![0i8; packed_len(k, n)];
    for col in 0..n {
        for g in 0..groups {
            let ks = g * G..k.min((g + 1) * G);
            let max = ks.clone().map(|kk| value(kk, col).abs()).fold(0.0f32, f32::max);
            let scale = max / 127.0;
            put_scale(&mut q, scale_index(kp, col, g), scale);
            if scale > 0.0 && scale.is_finite() {
                for kk in ks {
                    q[q_index(kp, tiles, col, kk)] = (value(kk, col) / scale).round().clamp(-127.0, 127.0) as i8;
                }
            }
        }
    }
    q
}

/// Round to nearest, ties to even, for `|v| <= 2^22` (adding 1.5·2^23 leaves no fraction bits).
#[inline(always)]
fn round_even(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    (v + MAGIC) - MAGIC
}

/// The activation rows quantised per group: `qx: [M][Kp]` int16 (zeros past K) and `sx: [M][Kp/G]`
/// with `x ≈ qx · sx`, `sx = max|x| / 32767` over the group. A group holding an infinity or a NaN
/// gets `sx = NaN` (its outputs become NaN, as the f32 product's would be non-finite). Whole groups
/// go through `group` ([`quantize_group`] or its SIMD128 twin), the last partial one through
/// [`quantize_group`].
pub fn quantize_rows(x: &[f32], m: usize, k: usize, group: impl Fn(&[f32], &mut [i16]) -> f32) -> (Vec<i16>, Vec<f32>) {
    let kp = padded_k(k);
    let groups = kp / G;
    let mut qx = vec![0i16; m * kp];
    let mut sx = vec![0.0f32; m * groups];
    for i in 0..m {
        let row = &x[i * k..(i + 1) * k];
        for g in 0..groups {
            let part = &row[g * G..k.min((g + 1) * G)];
            let dst = &mut qx[i * kp + g * G..][..part.len()];
            sx[i * groups + g] = if part.len() == G { group(part, dst) } else { quantize_group(part, dst) };
        }
    }
    (qx, sx)
}

/// One group: `dst = round(part · 32767 / max|part|)`, returns the scale `max / 32767` (0 for an
/// all-zero group, NaN for one with a non-finite value, `dst` then left zero).
pub fn quantize_group(part: &[f32], dst: &mut [i16]) -> f32 {
    let mut max = 0.0f32;
    let mut finite = true;
    for &v in part {
        finite &= v.is_finite();
        // A compare, not `f32::max` (a call in wasm: its NaN rule differs from f32.max).
        let a = v.abs();
        max = if a > max { a } else { max };
    }
    if !finite {
        return f32::NAN;
    }
    if max == 0.0 {
        return 0.0;
    }
    let inv = QX_MAX / max;
    for (d, &v) in dst.iter_mut().zip(part) {
        *d = round_even(v * inv).clamp(-QX_MAX, QX_MAX) as i16;
    }
    max / QX_MAX
}

/// [`quantize_group`] on a whole group in SIMD128: the same max (order does not matter to a
/// max), the same finiteness test, and `nearest(v · inv)` is the scalar `round_even` for
/// `|v · inv| <= 2^22`: the same integers.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn quantize_group_simd128(part: &[f32], dst: &mut [i16]) -> f32 {
    use core::arch::wasm32::*;
    assert!(part.len() == G && dst.len() == G);
    // SAFETY: every access is at `c + 8 <= G`, the length of both slices (the assert).
    unsafe {
        let (src, out) = (part.as_ptr(), dst.as_mut_ptr());
        let ld = |c: usize| v128_load(src.add(c) as *const v128);
        let (mut max4, mut finite) = (f32x4_splat(0.0), i32x4_splat(-1));
        for c in (0..G).step_by(4) {
            let a = f32x4_abs(ld(c));
            finite = v128_and(finite, f32x4_lt(a, f32x4_splat(f32::INFINITY)));
            max4 = f32x4_pmax(max4, a);
        }
        if !i32x4_all_true(finite) {
            return f32::NAN;
        }
        let lanes = [f32x4_extract_lane::<0>(max4), f32x4_extract_lane::<1>(max4), f32x4_extract_lane::<2>(max4), f32x4_extract_lane::<3>(max4)];
        let max = lanes.into_iter().fold(0.0f32, |m, a| if a > m { a } else { m });
        if max == 0.0 {
            return 0.0;
        }
        let inv = f32x4_splat(QX_MAX / max);
        let (lo, hi) = (f32x4_splat(-QX_MAX), f32x4_splat(QX_MAX));
        let quantise = |v: v128| i32x4_trunc_sat_f32x4(f32x4_pmax(lo, f32x4_pmin(hi, f32x4_nearest(f32x4_mul(v, inv)))));
        for c in (0..G).step_by(8) {
            v128_store(out.add(c) as *mut v128, i16x8_narrow_i32x4(quantise(ld(c)), quantise(ld(c + 4))));
        }
        max / QX_MAX
    }
}

/// One row against one tile: `out[col..col+16] = bias + Σ_g f32(idot_g) · (sw_g · sx_g)`.
/// `qx: [Kp]`, `sx: [Kp/G]`, the tile's halves `qa: [Kp/G]{[G/4][16][2] i8, [16] f32}` and
/// `qb: [Kp/G][G/4][16][2]` (the first and last G/2 k of each group; the scales after each group's
/// weights in `qa`), `bias` and `out` from `col`, `cols` of them real (1..=16). The scalar twin of
/// the tile, and the native path (the compiler vectorises its integer sums).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn scalar_tile(qx: &[i16], sx: &[f32], qa: &[i8], qb: &[i8], bias: &[f32], out: &mut [f32], cols: usize) {
    let groups = sx.len();
    let mut acc = [0.0f32; TILE];
    acc[..cols].copy_from_slice(&bias[..cols]);
    for g in 0..groups {
        let mut dot = [0i32; TILE];
        let xg = &qx[g * G..(g + 1) * G];
        for j in 0..PAIRS {
            let (x0, x1) = (xg[2 * j] as i32, xg[2 * j + 1] as i32);
            let at = (j % HALF_PAIRS) * 2 * TILE;
            let w = if j < HALF_PAIRS { &qa[g * FIRST_GROUP + at..][..2 * TILE] } else { &qb[g * HALF_GROUP_WEIGHTS + at..][..2 * TILE] };
            for c in 0..TILE {
                dot[c] += w[2 * c] as i32 * x0 + w[2 * c + 1] as i32 * x1;
            }
        }
        let sxg = sx[g];
        let sw = g * FIRST_GROUP + HALF_GROUP_WEIGHTS;
        for c in 0..TILE {
            acc[c] += dot[c] as f32 * (scale_at(qa, sw + 4 * c) * sxg);
        }
    }
    out[..cols].copy_from_slice(&acc[..cols]);
}

/// The SIMD128 tile: per k pair, the two activations splatted as an i16 pair to every lane, 16
/// weights (8 bytes per 4 columns) sign-extended to i16 by the load, 4 `dot_i16x8_s` into 4 i32
/// accumulators; per group, 4 converts and f32 multiply-adds into 4 f32 accumulators. Eight live
/// accumulators: nothing to spill. Each iteration takes a pair from each half (`k` and `k + G/2`):
/// the two streams.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(clippy::too_many_arguments)]
pub fn simd128_tile(qx: &[i16], sx: &[f32], qa: &[i8], qb: &[i8], bias: &[f32], out: &mut [f32], cols: usize) {
    use core::arch::wasm32::*;
    let groups = sx.len();
    assert!(qx.len() >= groups * G && qa.len() >= groups * FIRST_GROUP && qb.len() >= groups * HALF_GROUP_WEIGHTS && bias.len() >= cols && out.len() >= cols && cols <= TILE);
    let mut b = [0.0f32; TILE];
    b[..cols].copy_from_slice(&bias[..cols]);
    // SAFETY: the assert bounds every group's G values of qx, its G/2 x 16 weights in each half
    // and its 16 scales after them in the first.
    unsafe {
        let ld = |p: *const f32| v128_load(p as *const v128);
        let mut acc = [ld(b.as_ptr()), ld(b.as_ptr().add(4)), ld(b.as_ptr().add(8)), ld(b.as_ptr().add(12))];
        let (mut xp, mut wa, mut wb) = (qx.as_ptr(), qa.as_ptr(), qb.as_ptr());
        for g in 0..groups {
            let zero = i32x4_splat(0);
            let mut dot = [zero; 4];
            let end = xp.add(G / 2);
            while xp < end {
                let x2 = v128_load32_splat(xp as *const u32);
                dot[0] = i32x4_add(dot[0], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wa), x2));
                dot[1] = i32x4_add(dot[1], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wa.add(8)), x2));
                dot[2] = i32x4_add(dot[2], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wa.add(16)), x2));
                dot[3] = i32x4_add(dot[3], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wa.add(24)), x2));
                let x2 = v128_load32_splat(xp.add(G / 2) as *const u32);
                dot[0] = i32x4_add(dot[0], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wb), x2));
                dot[1] = i32x4_add(dot[1], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wb.add(8)), x2));
                dot[2] = i32x4_add(dot[2], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wb.add(16)), x2));
                dot[3] = i32x4_add(dot[3], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wb.add(24)), x2));
                xp = xp.add(2);
                wa = wa.add(2 * TILE);
                wb = wb.add(2 * TILE);
            }
            xp = xp.add(G / 2);
            // `wa` now points at the group's scales (little-endian f32, as wasm loads them).
            let sxg = f32x4_splat(*sx.get_unchecked(g));
            for h in 0..4 {
                let scale = f32x4_mul(ld(wa.add(16 * h) as *const f32), sxg);
                acc[h] = f32x4_add(acc[h], f32x4_mul(f32x4_convert_i32x4(dot[h]), scale));
            }
            wa = wa.add(GROUP_SCALES);
        }
        if cols == TILE {
            for h in 0..4 {
                v128_store(out.as_mut_ptr().add(4 * h) as *mut v128, acc[h]);
            }
        } else {
            for h in 0..4 {
                v128_store(b.as_mut_ptr().add(4 * h) as *mut v128, acc[h]);
            }
            out[..cols].copy_from_slice(&b[..cols]);
        }
    }
}

/// [`gemm`] in SIMD128: one row through [`simd128_gemv`] when decoding reads wide
/// ([`super::decode_wide`]), else (narrow, and every M > 1) through the blocked driver with
/// [`simd128_tile`], one tile (two streams) at a time. The one entry every SIMD128 caller takes, so
/// the wasm holds one copy of each.
///
/// Narrow against wide on the AMD EPYC of 2026-12-07 (25 GB/s), GPT-2-small-shaped int8 decoding
/// interleaved in one process (`node bench/decode-ab.mjs`): 11.6-12.5 -> 6.3-7.3 ms/token (x1.6-1.9);
/// the 768 x 3,072 product in L3, 16 -> 28 GB/s. V8 keeps one tile's 8 accumulators and 3 pointers
/// in registers; six tiles' 24 accumulators and 12 pointers spill (372 x64 instructions, 154 of them
/// stack loads and stores, for the 48 `pmaddwd` of one step). An earlier machine decoded x1.3-1.4
/// faster wide than with one tile ([`simd128_gemv`]): the load measures which (`Model::calibrate_decoding`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
pub fn simd128_gemm(x: &[f32], m: usize, k: usize, w: Int8Ref, n: usize, bias: &[f32], out: &mut [f32]) {
    if m == 1 && super::decode_wide() {
        simd128_gemv(x, k, w, n, bias, out)
    } else {
        gemm(x, m, k, w, n, bias, out, simd128_tile, quantize_group_simd128)
    }
}

/// Decoding (one row) wide in SIMD128, [`TILES_AT_ONCE`] tiles at a time, a sixth of the matrix apart:
/// twelve sequential streams through memory (each tile's two halves) instead of two. One core keeps
/// more cache-line misses in flight over more streams where the hardware prefetcher does not run far
/// ahead (as for the f16 and f32 kernels' `simd128::STREAMS`). The activation pair is splatted once
/// for every tile. Each output is the same f32 operations as [`simd128_tile`]'s, in the same order,
/// so the bits are its (and the scalar twin's).
///
/// GPT-2-small shape, int8, `node bench/decode-ab.mjs` interleaved (ms/token, two slots each): one
/// tile 16.1 / 14.2, two 14.5 / 13.4, then in another run three 12.2 / 11.6, four 11.5 / 11.6, six
/// 11.5 / 11.1, eight 12.0 / 11.8. Four was kept while the wasm had no room for more; once panels
/// came in groups of one (the f16/f32 decoding kernels smaller), six against four, in three runs:
/// 12.44 -> 11.85, 12.39 -> 11.87 and 12.17 -> 12.02 ms/token, for 1.6 KB of wasm.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn simd128_gemv(x: &[f32], k: usize, w: Int8Ref, n: usize, bias: &[f32], out: &mut [f32]) {
    assert!(x.len() >= k && bias.len() >= n && out.len() >= n && w.len_ok(k, n), "int8 product: operands shorter than their shapes");
    if n == 0 {
        return;
    }
    let kp = padded_k(k);
    let tiles = n.div_ceil(TILE);
    let (qx, sx) = quantize_rows(x, 1, k, quantize_group_simd128);
    const T: usize = TILES_AT_ONCE;
    let part = tiles / T;
    // The tiles past T whole parts (fewer than T) go together, the last repeated in the empty slots
    // (the same outputs written again).
    let rest = (T * part < tiles).then(|| core::array::from_fn(|s| (T * part + s).min(tiles - 1)));
    let sets = (0..part).map(|t| core::array::from_fn(|s| t + s * part)).chain(rest);
    for set in sets {
        let cols = |t: usize| TILE.min(n - t * TILE);
        // SAFETY: every tile of `set` is a tile of the matrix (`len_ok`), of `kp / G` groups each.
        unsafe { tile_set::<T>(&qx, &sx, set.map(|t| w.halves(kp, tiles, t)), bias, out, set.map(|t| t * TILE), set.map(cols)) };
    }
}

/// Tiles one decoding step reads side by side (see [`simd128_gemv`]).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const TILES_AT_ONCE: usize = 6;

/// The tiles at columns `at[i]` (`cols[i]` real columns each, 1..=16) against one row:
/// [`simd128_tile`] `T` times, interleaved. `4 T` i32 accumulators live through the k loop (V8 spills
/// some at four tiles and more at six, and it still reads faster); the f32 sums wait in memory
/// between groups.
///
/// # Safety
/// Every tile's halves hold `sx.len()` groups.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_set<const T: usize>(qx: &[i16], sx: &[f32], halves: [(&[i8], &[i8]); T], bias: &[f32], out: &mut [f32], at: [usize; T], cols: [usize; T]) {
    use core::arch::wasm32::*;
    let groups = sx.len();
    assert!(qx.len() >= groups * G);
    for (qa, qb) in halves {
        assert!(qa.len() >= groups * FIRST_GROUP && qb.len() >= groups * HALF_GROUP_WEIGHTS);
    }
    let mut sums = [[0.0f32; TILE]; T];
    for i in 0..T {
        sums[i][..cols[i]].copy_from_slice(&bias[at[i]..at[i] + cols[i]]);
    }
    unsafe {
        let mut xp = qx.as_ptr();
        let mut wa: [*const i8; T] = halves.map(|h| h.0.as_ptr());
        let mut wb: [*const i8; T] = halves.map(|h| h.1.as_ptr());
        for g in 0..groups {
            let zero = i32x4_splat(0);
            let mut d = [[zero; 4]; T];
            let end = xp.add(G / 2);
            while xp < end {
                let xa = v128_load32_splat(xp as *const u32);
                let xb = v128_load32_splat(xp.add(G / 2) as *const u32);
                for h in 0..4 {
                    for i in 0..T {
                        d[i][h] = i32x4_add(d[i][h], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wa[i].add(8 * h)), xa));
                    }
                }
                for h in 0..4 {
                    for i in 0..T {
                        d[i][h] = i32x4_add(d[i][h], i32x4_dot_i16x8(i16x8_load_extend_i8x8(wb[i].add(8 * h)), xb));
                    }
                }
                xp = xp.add(2);
                for i in 0..T {
                    wa[i] = wa[i].add(2 * TILE);
                    wb[i] = wb[i].add(2 * TILE);
                }
            }
            xp = xp.add(G / 2);
            let sxg = f32x4_splat(*sx.get_unchecked(g));
            for i in 0..T {
                let s = sums[i].as_mut_ptr();
                for h in 0..4 {
                    let acc = s.add(4 * h) as *mut v128;
                    let scale = f32x4_mul(v128_load(wa[i].add(16 * h) as *const v128), sxg);
                    v128_store(acc, f32x4_add(v128_load(acc), f32x4_mul(f32x4_convert_i32x4(d[i][h]), scale)));
                }
                wa[i] = wa[i].add(GROUP_SCALES);
            }
        }
    }
    for i in 0..T {
        out[at[i]..at[i] + cols[i]].copy_from_slice(&sums[i][..cols[i]]);
    }
}

/// Bytes of weights a block of tiles may hold so that it stays in L2 while every row passes over it.
const BLOCK_BYTES: usize = 128 << 10;

/// `out[M][N] = x[M][K] · W + bias` on packed int8 weights, with `tile` ([`scalar_tile`] or
/// [`simd128_tile`]) doing one row x one tile and `group` ([`quantize_group`] or
/// [`quantize_group_simd128`]) quantising a whole group of activations. `bias: [N]` or longer. Tiles are taken a block at a
/// time and every row passes over the block: the weights come from memory once whatever M is.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    x: &[f32],
    m: usize,
    k: usize,
    w: Int8Ref,
    n: usize,
    bias: &[f32],
    out: &mut [f32],
    tile: impl Fn(&[i16], &[f32], &[i8], &[i8], &[f32], &mut [f32], usize),
    group: impl Fn(&[f32], &mut [i16]) -> f32,
) {
    assert!(x.len() >= m * k && bias.len() >= n && out.len() >= m * n && w.len_ok(k, n), "int8 product: operands shorter than their shapes");
    if m == 0 || n == 0 {
        return;
    }
    let kp = padded_k(k);
    let groups = kp / G;
    let tiles = n.div_ceil(TILE);
    let (qx, sx) = quantize_rows(x, m, k, group);
    let per_block = (BLOCK_BYTES / (kp * TILE).max(1)).max(1);
    for t0 in (0..tiles).step_by(per_block) {
        for i in 0..m {
            let (qx, sx) = (&qx[i * kp..(i + 1) * kp], &sx[i * groups..(i + 1) * groups]);
            let row = &mut out[i * n..(i + 1) * n];
            for t in t0..tiles.min(t0 + per_block) {
                let col = t * TILE;
                let cols = TILE.min(n - col);
                let (qa, qb) = w.halves(kp, tiles, t);
                tile(qx, sx, qa, qb, &bias[col..], &mut row[col..], cols);
            }
        }
    }
}

/// The driver compiled again with AVX2 and an AVX2 tile, picked at run time natively (the same
/// integer sums and the same f32 operations per output as [`scalar_tile`]: the same bits).
#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    use super::*;
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn gemm(x: &[f32], m: usize, k: usize, w: Int8Ref, n: usize, bias: &[f32], out: &mut [f32]) {
        // SAFETY: this function runs only where the CPU has AVX2.
        super::gemm(x, m, k, w, n, bias, out, |qx, sx, qa, qb, b, o, cols| unsafe { tile(qx, sx, qa, qb, b, o, cols) }, quantize_group)
    }

    /// [`scalar_tile`] in 256-bit registers: per k pair the two activations broadcast as an i16 pair,
    /// the 16 columns' weight pairs sign-extended to i16 as they load (two halves of 8 columns), two
    /// `vpmaddwd` into two i32 accumulators; per group, the f32 multiply-adds of the twin in its order.
    /// (The compiler left the twin's integer loop nearly scalar: 7 GB/s of weights.)
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(qx: &[i16], sx: &[f32], qa: &[i8], qb: &[i8], bias: &[f32], out: &mut [f32], cols: usize) {
        let groups = sx.len();
        assert!(qx.len() >= groups * G && qa.len() >= groups * FIRST_GROUP && qb.len() >= groups * HALF_GROUP_WEIGHTS && bias.len() >= cols && out.len() >= cols && cols <= TILE);
        let mut b = [0.0f32; TILE];
        b[..cols].copy_from_slice(&bias[..cols]);
        // SAFETY: the assert bounds every group's G values of qx, its G x 16 weights and 16 scales.
        unsafe {
            let mut acc = [_mm256_loadu_ps(b.as_ptr()), _mm256_loadu_ps(b.as_ptr().add(8))];
            let (mut xp, mut wa, mut wb) = (qx.as_ptr(), qa.as_ptr(), qb.as_ptr());
            for g in 0..groups {
                let mut dot = [_mm256_setzero_si256(); 2];
                let end = xp.add(G / 2);
                while xp < end {
                    // A pair from each half: `k` and `k + G/2` of the group.
                    for (w, x) in [(wa, xp), (wb, xp.add(G / 2))] {
                        let x2 = _mm256_set1_epi32((x as *const i32).read_unaligned());
                        let w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w as *const __m128i));
                        let w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w.add(16) as *const __m128i));
                        dot[0] = _mm256_add_epi32(dot[0], _mm256_madd_epi16(w0, x2));
                        dot[1] = _mm256_add_epi32(dot[1], _mm256_madd_epi16(w1, x2));
                    }
                    xp = xp.add(2);
                    wa = wa.add(2 * TILE);
                    wb = wb.add(2 * TILE);
                }
                xp = xp.add(G / 2);
                // `wa` now points at the group's scales (little-endian f32, as x86 loads them).
                let sxg = _mm256_set1_ps(*sx.get_unchecked(g));
                for (h, acc_h) in acc.iter_mut().enumerate() {
                    let scale = _mm256_mul_ps(_mm256_loadu_ps(wa.add(32 * h) as *const f32), sxg);
                    *acc_h = _mm256_add_ps(*acc_h, _mm256_mul_ps(_mm256_cvtepi32_ps(dot[h]), scale));
                }
                wa = wa.add(GROUP_SCALES);
            }
            _mm256_storeu_ps(b.as_mut_ptr(), acc[0]);
            _mm256_storeu_ps(b.as_mut_ptr().add(8), acc[1]);
            out[..cols].copy_from_slice(&b[..cols]);
        }
    }
}

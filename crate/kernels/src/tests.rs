//! Every kernel against a naive f64 reference on awkward lengths. Natively this exercises the
//! scalar twins (the native path); the SIMD128 versions are compared with them in the real wasm
//! binary by `tests/wasm/kernels.test.mjs`.

use super::*;

const LENGTHS: [usize; 8] = [0, 1, 3, 4, 15, 16, 17, 1023];
const ROWS: [usize; 7] = [1, 2, 3, 4, 5, 8, 17];
const DIMS: [usize; 9] = [1, 3, 8, 15, 16, 17, 50, 64, 100];
/// Unit roundoff of f32.
const U: f64 = 1.0 / (1u64 << 24) as f64;

struct Rng(u64);

impl Rng {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|_| self.next() * scale).collect()
    }
}

/// `|got - want| <= bound` for every element, with a message naming the case.
fn assert_close(case: &str, got: &[f32], want: &[f64], bound: impl Fn(usize) -> f64) {
    assert_eq!(got.len(), want.len(), "{case}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(err <= bound(i), "{case}: element {i} is {g}, reference {w}, error {err:e} > {:e}", bound(i));
    }
}

/// Reference `x[M][K] · w[K][N] + bias` and, per output, `Σ|x·w| + |b|` for the rounding bound.
fn reference_kn(x: &[f32], m: usize, k: usize, w_kn: &[f32], n: usize, bias: Option<&[f32]>) -> (Vec<f64>, Vec<f64>) {
    let mut out = vec![0.0; m * n];
    let mut mag = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let b = bias.map_or(0.0, |b| b[j] as f64);
            let (mut s, mut a) = (b, b.abs());
            for kk in 0..k {
                let p = x[i * k + kk] as f64 * w_kn[kk * n + j] as f64;
                s += p;
                a += p.abs();
            }
            out[i * n + j] = s;
            mag[i * n + j] = a;
        }
    }
    (out, mag)
}

/// A sum of `k` rounded products in f32 is within `(k + 1)·u·Σ|terms|` of the exact sum.
fn sum_bound(k: usize, mag: f64) -> f64 {
    (k as f64 + 2.0) * U * mag + 1e-30
}

fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = w[r * cols + c];
        }
    }
    t
}

#[test]
fn linear_matches_reference_on_awkward_shapes() {
    let mut rng = Rng(1);
    // 600 > the SIMD K-block (512), so the partial-sum reload path has a native counterpart in shape.
    for &k in DIMS.iter().chain(&[600]) {
        for &n in &DIMS {
            for &m in &ROWS {
                let x = rng.vec(m * k, 1.0);
                let w_nk = rng.vec(n * k, 1.0);
                let bias = rng.vec(n, 1.0);
                let w_kn = transpose(&w_nk, n, k);
                let (want, mag) = reference_kn(&x, m, k, &w_kn, n, Some(&bias));
                let case = format!("Linear m={m} k={k} n={n}");
                let a = Linear::from_out_in(&w_nk, n, k, Some(bias.clone())).forward(&x, m);
                assert_close(&case, &a, &want, |i| sum_bound(k, mag[i]));
                // Both checkpoint layouts give the same layer, bit for bit.
                let b = Linear::from_in_out(w_kn.clone(), k, n, Some(bias.clone())).forward(&x, m);
                assert_eq!(a, b, "{case}: from_out_in vs from_in_out");
                // The unpacked product accumulates in the same order.
                let mut c = vec![0.0; m * n];
                matmul_kn(&x, m, k, &w_kn, n, Some(&bias), &mut c);
                assert_eq!(a, c, "{case}: Linear vs matmul_kn");
            }
        }
    }
}

#[test]
fn linear_row_alone_equals_row_in_a_batch() {
    // Decoding one token (M = 1) must give exactly what the prefill gave that token.
    let mut rng = Rng(2);
    let (m, k, n) = (13, 300, 45);
    let x = rng.vec(m * k, 1.0);
    let layer = Linear::from_out_in(&rng.vec(n * k, 1.0), n, k, Some(rng.vec(n, 1.0)));
    let batch = layer.forward(&x, m);
    for i in 0..m {
        let alone = layer.forward(&x[i * k..(i + 1) * k], 1);
        assert_eq!(&batch[i * n..(i + 1) * n], &alone[..], "row {i}");
    }
}

#[test]
fn linear_without_bias_and_empty_shapes() {
    let mut rng = Rng(3);
    let (m, k, n) = (5, 17, 9);
    let x = rng.vec(m * k, 1.0);
    let w_nk = rng.vec(n * k, 1.0);
    let (want, mag) = reference_kn(&x, m, k, &transpose(&w_nk, n, k), n, None);
    let got = Linear::from_out_in(&w_nk, n, k, None).forward(&x, m);
    assert_close("no bias", &got, &want, |i| sum_bound(k, mag[i]));
    assert!(Linear::from_out_in(&w_nk, n, k, None).forward(&[], 0).is_empty());
    // K = 0: the output is the bias.
    let bias = rng.vec(n, 1.0);
    assert_eq!(Linear::from_out_in(&[], n, 0, Some(bias.clone())).forward(&[], 2), [bias.clone(), bias].concat());
}

#[test]
fn matmul_nk_matches_reference_on_awkward_shapes() {
    let mut rng = Rng(4);
    for &k in &DIMS {
        for &n in &DIMS {
            for &m in &ROWS {
                let x = rng.vec(m * k, 1.0);
                let w = rng.vec(n * k, 1.0);
                let (want, mag) = reference_kn(&x, m, k, &transpose(&w, n, k), n, None);
                let mut got = vec![0.0; m * n];
                matmul_nk(&x, m, k, &w, n, &mut got);
                assert_close(&format!("matmul_nk m={m} k={k} n={n}"), &got, &want, |i| sum_bound(k, mag[i]));
            }
        }
    }
}

#[test]
fn dot_and_axpy_on_awkward_lengths() {
    let mut rng = Rng(5);
    for &len in &LENGTHS {
        let a = rng.vec(len, 1.0);
        let b = rng.vec(len, 1.0);
        let want: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
        let mag: f64 = a.iter().zip(&b).map(|(&x, &y)| (x as f64 * y as f64).abs()).sum();
        assert_close(&format!("dot len={len}"), &[dot(&a, &b)], &[want], |_| sum_bound(len, mag));

        let mut y = b.clone();
        axpy(0.75, &a, &mut y);
        let want: Vec<f64> = a.iter().zip(&b).map(|(&x, &y)| y as f64 + 0.75 * x as f64).collect();
        assert_close(&format!("axpy len={len}"), &y, &want, |i| 3.0 * U * (b[i].abs() + a[i].abs()) as f64 + 1e-30);
    }
}

#[test]
fn exp_is_accurate_and_exact_at_the_edges() {
    let mut worst = 0.0f64;
    let mut v = -87.0f32;
    while v < 88.0 {
        let got = scalar::exp(v) as f64;
        let want = (v as f64).exp();
        worst = worst.max((got - want).abs() / want);
        v += 0.0137;
    }
    assert!(worst < 3e-7, "exp relative error {worst:e}");
    assert_eq!(scalar::exp(0.0), 1.0);
    assert_eq!(scalar::exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(scalar::exp(-200.0), 0.0);
    assert_eq!(scalar::exp(200.0), f32::INFINITY);
    assert!(scalar::exp(88.3).is_finite());
}

#[test]
fn softmax_matches_reference_and_masks_exactly() {
    let mut rng = Rng(6);
    for &len in &LENGTHS {
        let mut row = rng.vec(len, 8.0);
        // Mask every third entry, as causal / padding masks do.
        for (i, v) in row.iter_mut().enumerate() {
            if i % 3 == 2 {
                *v = f32::NEG_INFINITY;
            }
        }
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let e: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        let want: Vec<f64> = e.iter().map(|v| v / sum).collect();
        softmax(&mut row);
        assert_close(&format!("softmax len={len}"), &row, &want, |i| 1e-6 * want[i] + 1e-9);
        for (i, &p) in row.iter().enumerate() {
            if i % 3 == 2 {
                assert_eq!(p.to_bits(), 0, "softmax len={len}: masked entry {i} is {p}, not +0");
            }
        }
    }
    let mut all_masked = vec![f32::NEG_INFINITY; 17];
    softmax(&mut all_masked);
    assert!(all_masked.iter().all(|&p| p == 0.0));
}

#[test]
fn norms_match_reference() {
    let mut rng = Rng(7);
    for &c in &LENGTHS[1..] {
        let rows = 3;
        let x = rng.vec(rows * c, 4.0).iter().map(|v| v + 2.0).collect::<Vec<_>>(); // an offset mean, as real activations have
        let gamma = rng.vec(c, 1.0);
        let beta = rng.vec(c, 1.0);
        let eps = 1e-5;
        let mut ln = x.clone();
        layer_norm(&mut ln, &gamma, &beta, eps);
        let mut rms = x.clone();
        rms_norm(&mut rms, &gamma, eps);
        let (mut want_ln, mut want_rms) = (Vec::new(), Vec::new());
        for row in x.chunks(c) {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / c as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / c as f64;
            let ms = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / c as f64;
            for (j, &v) in row.iter().enumerate() {
                want_ln.push((v as f64 - mean) / (var + eps as f64).sqrt() * gamma[j] as f64 + beta[j] as f64);
                want_rms.push(v as f64 / (ms + eps as f64).sqrt() * gamma[j] as f64);
            }
        }
        assert_close(&format!("layer_norm C={c}"), &ln, &want_ln, |_| 2e-6);
        assert_close(&format!("rms_norm C={c}"), &rms, &want_rms, |_| 2e-6);
    }
}

/// erf in f64 from `erf(x) = 2/√π · e^{-x²} · Σ 2^n x^{2n+1} / (1·3·…·(2n+1))`: all terms positive,
/// so no cancellation at any x.
fn erf64(x: f64) -> f64 {
    let (mut term, mut sum, mut n) = (x, x, 0.0);
    while term.abs() > 1e-18 * sum.abs() {
        n += 1.0;
        term *= 2.0 * x * x / (2.0 * n + 1.0);
        sum += term;
    }
    2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp() * sum
}

#[test]
fn activations_match_reference() {
    let mut rng = Rng(8);
    for &len in &LENGTHS {
        let x = rng.vec(len, 6.0);
        let check = |name: &str, f: fn(&mut [f32]), reference: fn(f64) -> f64, tol: f64| {
            let mut got = x.clone();
            f(&mut got);
            let want: Vec<f64> = x.iter().map(|&v| reference(v as f64)).collect();
            assert_close(&format!("{name} len={len}"), &got, &want, |i| tol * (x[i].abs() as f64).max(1.0));
        };
        check("gelu_erf", gelu_erf, |v| 0.5 * v * (1.0 + erf64(v / 2f64.sqrt())), 3e-7);
        check("gelu_tanh", gelu_tanh, |v| 0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v * v * v)).tanh()), 5e-7);
        check("silu", silu, |v| v / (1.0 + (-v).exp()), 5e-7);
        check("relu", relu, |v| v.max(0.0), 0.0);
    }
    // The far tails stay finite and exact in the limit.
    let mut far = vec![-60.0f32, -1e30, 60.0, 1e30];
    gelu_erf(&mut far);
    assert_eq!(far, [0.0, 0.0, 60.0, 1e30]);
    let mut far = vec![-60.0f32, -1e30, 60.0, 1e30];
    gelu_tanh(&mut far);
    assert_eq!(far, [0.0, 0.0, 60.0, 1e30]);
}

#[test]
fn every_storage_matches_its_widened_weights_on_awkward_shapes() {
    // Each storage's product is the f32 product of the weights as the layer widens them, with the
    // same rounding bound; the widened weights are within the storage's own rounding of the input.
    let mut rng = Rng(9);
    for storage in Storage::ALL {
        for &k in DIMS.iter().chain(&[300]) {
            for &n in &[1, 3, 8, 17, 50, 64, 100, 130] {
                for &m in &[1, 3, 4, 7] {
                    let x = rng.vec(m * k, 1.0);
                    let w_nk = rng.vec(n * k, 1.0);
                    let bias = rng.vec(n, 1.0);
                    let layer = Linear::from_stored(StoredMatrix::F32(w_nk.clone()), Layout::OutIn, k, n, Some(bias.clone()), Some(storage));
                    assert_eq!(layer.storage(), storage);
                    let widened: Vec<f32> = (0..n * k).map(|i| layer.weight(i / k, i % k)).collect();
                    let rel = match storage {
                        Storage::F32 => 0.0,
                        Storage::F16 => 1.0 / 2048.0,
                        Storage::BF16 => 1.0 / 256.0,
                        Storage::Int8 => 1.0 / 254.0, // half a step of max|w| / 127 (max|w| <= 1)
                    };
                    for (i, (&a, &b)) in widened.iter().zip(&w_nk).enumerate() {
                        let bound = if storage == Storage::Int8 { rel } else { rel * b.abs() + 6e-8 }; // + f16 subnormal step
                        assert!((a - b).abs() <= bound + 1e-12, "{storage:?} k={k} n={n}: weight {i} is {a}, stored {b}");
                    }
                    let (want, mag) = reference_kn(&x, m, k, &transpose(&widened, n, k), n, Some(&bias));
                    let case = format!("{storage:?} m={m} k={k} n={n}");
                    let got = layer.forward(&x, m);
                    if storage == Storage::Int8 {
                        // The activations are quantised to int16 per group: each is off by at most
                        // half a step, max|x| / 65534 (max|x| <= 1), times its weight.
                        let w_abs: Vec<f64> = (0..n).map(|j| widened[j * k..(j + 1) * k].iter().map(|&v| v.abs() as f64).sum()).collect();
                        assert_close(&case, &got, &want, |i| sum_bound(k, mag[i]) + w_abs[i % n] / 65534.0);
                    } else {
                        assert_close(&case, &got, &want, |i| sum_bound(k, mag[i]));
                        // Same bits as the f32 layer built from the widened weights.
                        let f32_twin = Linear::from_out_in(&widened, n, k, Some(bias.clone())).forward(&x, m);
                        assert_eq!(got, f32_twin, "{case}: vs f32 layer of the widened weights");
                    }
                    // A row alone gives what the batch gave it.
                    for i in 0..m {
                        assert_eq!(&got[i * n..(i + 1) * n], &layer.forward(&x[i * k..(i + 1) * k], 1)[..], "{case}: row {i} alone");
                    }
                    assert_eq!(got, layer.forward_scalar(&x, m), "{case}: dispatch vs scalar twin");
                }
            }
        }
    }
}

#[test]
fn sixteen_bit_files_stay_sixteen_bit() {
    // f16 and bf16 stored values are kept exactly (subnormals included), in 2 bytes each.
    let vals = [0.0f32, -0.0, 1.0, -2.5, 6.1e-5, 3.0e-7, -65504.0, 0.333];
    let (n, k) = (3, vals.len());
    let w: Vec<f32> = (0..n * k).map(|i| vals[i % k] * if i / k == 1 { -1.0 } else { 1.0 }).collect();
    let f16: Vec<u16> = w.iter().map(|&v| half::f16::from_f32(v).to_bits()).collect();
    let bf16: Vec<u16> = w.iter().map(|&v| half::bf16::from_f32(v).to_bits()).collect();
    for (stored, widen) in [(StoredMatrix::F16(f16.clone()), f16.iter().map(|&b| f16_to_f32(b)).collect::<Vec<_>>()), (StoredMatrix::BF16(bf16.clone()), bf16.iter().map(|&b| bf16_to_f32(b)).collect())] {
        let want_storage = stored.storage();
        let layer = Linear::from_stored(stored, Layout::OutIn, k, n, None, None);
        assert_eq!(layer.storage(), want_storage);
        assert_eq!(layer.bytes(), 2 * NR * k + 4 * NR);
        for i in 0..n * k {
            assert_eq!(layer.weight(i / k, i % k).to_bits(), widen[i].to_bits(), "{want_storage:?} weight {i}");
        }
    }
    // An f16 layer with an infinity is kept as f32 (the SIMD widening assumes finite values); one
    // with a weight of 64 or more stays f16 with a smaller exponent shift, exact either way.
    let inf = Linear::from_stored(StoredMatrix::F16(vec![0x7c00, 0x3c00]), Layout::OutIn, 2, 1, None, None);
    assert_eq!((inf.storage(), inf.weight(0, 0)), (Storage::F32, f32::INFINITY));
    // f16 asked of f32 weights: past f16's range or NaN stays f32; 1000 takes shift 6 (its exponent field is 24).
    for (v, want) in [(1.0e6f32, Storage::F32), (f32::NAN, Storage::F32), (-1000.0, Storage::F16)] {
        let asked = Linear::from_stored(StoredMatrix::F32(vec![0.5, v, 1e-7]), Layout::OutIn, 3, 1, None, Some(Storage::F16));
        assert_eq!(asked.storage(), want, "{v}");
        if want == Storage::F16 {
            assert!(matches!(asked.panels(), PanelRef::F16 { shift: 6, .. }));
            assert_eq!((asked.weight(0, 1), asked.weight(0, 2)), (-1000.0, half::f16::from_f32(1e-7).to_f32()));
        }
    }
    for (big, shift) in [(0x53ffu16, 10u16), (0x5400, 9), (0xfbff, 0)] {
        let layer = Linear::from_stored(StoredMatrix::F16(vec![big, 0x0001, 0x0003]), Layout::OutIn, 3, 1, None, None);
        assert_eq!(layer.storage(), Storage::F16);
        assert!(matches!(layer.panels(), PanelRef::F16 { shift: s, .. } if s == shift), "{big:#06x}: shift {shift}");
        for (kk, bits) in [big, 0x0001, 0x0003].into_iter().enumerate() {
            assert_eq!(layer.weight(0, kk).to_bits(), f16_to_f32(bits).to_bits(), "{big:#06x}: weight {kk}");
        }
    }
}

#[test]
fn row_blocks_with_different_f16_shifts_ask_for_the_whole_packing() {
    // The second block holds a weight of 100 (shift 9), the first none (shift 10): the blocks cannot
    // be joined, so `from_row_blocks` says so and the whole packing takes one shift for all.
    let rows = (GROUP_PANELS * NR).max(crate::int8::TILE); // one block: whole panel groups and int8 tiles
    let (k, n) = (4, 2 * rows);
    let mut w = vec![0.5f32; n * k];
    w[rows * k + 1] = 100.0;
    assert!(Linear::from_row_blocks(k, n, None, Storage::F16, rows, &mut |r| StoredMatrix::F32(w[r.start * k..r.end * k].to_vec())).is_none());
    let whole = Linear::from_stored(StoredMatrix::F32(w.clone()), Layout::OutIn, k, n, None, Some(Storage::F16));
    assert!(matches!(whole.panels(), PanelRef::F16 { shift: 9, .. }));
    assert_eq!((whole.weight(rows, 1), whole.weight(0, 0)), (100.0, 0.5));
    // With the large weight in the first block, the second (shift 10) cannot follow either.
    let mut w2 = vec![0.5f32; n * k];
    w2[1] = 100.0;
    assert!(Linear::from_row_blocks(k, n, None, Storage::F16, rows, &mut |r| StoredMatrix::F32(w2[r.start * k..r.end * k].to_vec())).is_none());
}

#[test]
fn f16_panel_encoding_is_exact_and_never_subnormal_at_shift_10() {
    // Every finite f16 value whose exponent fits the shift survives the re-encoding bit for bit (±0
    // and the subnormals included), at every shift; the kernels' widening of it (shift and mask,
    // then the matrix's scale) gives it back; at shift 10 (every matrix below 64) the widened bits
    // are a normal f32 or zero: no subnormal operand ever reaches a multiply.
    for shift in 0..=10u16 {
        let widen = F16Scales::for_shift(shift).widen;
        for bits in 0..=u16::MAX {
            let exp = (bits >> 10) & 0x1f;
            match f16_to_panel_bits(bits, shift) {
                Some(p) => {
                    assert!(exp < 31 && exp + shift <= 30, "{bits:#06x} (exponent {exp}) re-encoded at shift {shift}");
                    assert_eq!(panel_bits_to_f32(p, widen).to_bits(), f16_to_f32(bits).to_bits(), "{bits:#06x} -> {p:#06x} at shift {shift}");
                    let read = scalar::f16_high_to_scaled_f32((p as u32) << 16);
                    assert_eq!((read * widen).to_bits(), f16_to_f32(bits).to_bits());
                    assert!(shift < 10 || read == 0.0 || read.is_normal(), "{bits:#06x}: widened to a subnormal {read:e}");
                }
                None => assert!(exp == 31 || exp + shift > 30, "{bits:#06x} (exponent {exp}) refused at shift {shift}"),
            }
        }
    }
    assert_eq!((f16_panel_shift(0), f16_panel_shift(20), f16_panel_shift(21), f16_panel_shift(30), f16_panel_shift(31)), (Some(10), Some(10), Some(9), Some(0), None));
    // The scales undo 2^-(112 - shift) exactly, x times sum being the whole.
    for shift in 0..=10u16 {
        let s = F16Scales::for_shift(shift);
        assert_eq!((s.x as f64) * (s.sum as f64), 2f64.powi(112 - shift as i32));
        assert_eq!(s.widen as f64, 2f64.powi(112 - shift as i32));
    }
}

#[test]
fn dot8_and_nk_decode_on_awkward_lengths() {
    let mut rng = Rng(10);
    for &k in &LENGTHS {
        for n in [1, 3, 4, 5, 9] {
            let x = rng.vec(k, 1.0);
            let w = rng.vec(n * k, 1.0);
            let mut got = vec![0.0; n];
            matmul_nk(&x, 1, k, &w, n, &mut got);
            for j in 0..n {
                assert_eq!(got[j], scalar::dot8(&x, &w[j * k..(j + 1) * k]), "nk k={k} n={n} j={j}");
            }
        }
    }
}

#[test]
fn sixteen_bit_decode_is_the_twin_bit_for_bit_at_the_edges_of_the_formats() {
    // Decoding (M < 4) on 16-bit panels has its own native path (AVX2 when the CPU has it): the same
    // bits as the scalar twin for subnormal, tiny, huge (a smaller exponent shift) and signed-zero
    // weights, on awkward shapes.
    let edges = [0x0001u16, 0x03ff, 0x0400, 0x53ff, 0xd3ff, 0x8000, 0x0000, 0x8001, 0x3c00, 0xbc00, 0x1234, 0x5078, 0x7bff, 0xfbff];
    let mut rng = Rng(21);
    for (storage, bits_of) in [(Storage::F16, 0usize), (Storage::BF16, 1)] {
        for &k in &[1usize, 2, 7, 33, 130] {
            for &n in &[1usize, 5, 8, 9, 31, 40] {
                let bits: Vec<u16> = (0..n * k).map(|i| if i % 3 == 0 { edges[i % edges.len()] } else { (rng.next().to_bits() >> 16) as u16 & if bits_of == 0 { 0xbfff } else { 0xffff } }).collect();
                let bits: Vec<u16> = bits.into_iter().map(|b| if storage == Storage::BF16 && b & 0x7f80 == 0x7f80 { b & 0xbfff } else { b }).collect();
                let w = if storage == Storage::F16 { StoredMatrix::F16(bits) } else { StoredMatrix::BF16(bits) };
                let layer = Linear::from_stored(w, Layout::OutIn, k, n, Some(rng.vec(n, 1.0)), None);
                assert_eq!(layer.storage(), storage);
                for m in 1..4 {
                    let x = rng.vec(m * k, 2.0);
                    let got = layer.forward(&x, m);
                    assert!(got.iter().all(|v| v.is_finite() || storage == Storage::BF16), "{storage:?} m={m} k={k} n={n}: {got:?}");
                    let want = layer.forward_scalar(&x, m);
                    assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{storage:?} m={m} k={k} n={n}");
                }
            }
        }
    }
}

#[test]
fn dot_rows_in_place_equals_the_gathered_rows() {
    // One head's keys read in place inside [T][H·D] rows give the numbers of the gathered [T][D]
    // rows through matmul_nk (decode), bit for bit.
    let mut rng = Rng(11);
    for &d in &[1usize, 7, 8, 16, 64, 67] {
        for &heads in &[1usize, 3] {
            for n in [0usize, 1, 5, 33] {
                let ld = d * heads;
                let rows = rng.vec(n * ld, 1.0);
                let x = rng.vec(d, 1.0);
                for h in 0..heads {
                    let gathered: Vec<f32> = (0..n).flat_map(|j| rows[j * ld + h * d..j * ld + h * d + d].to_vec()).collect();
                    let mut want = vec![0.0; n];
                    matmul_nk(&x, 1, d, &gathered, n, &mut want);
                    let mut got = vec![0.0; n];
                    dot_rows(&x, d, rows.get(h * d..).unwrap_or(&[]), ld, n, &mut got);
                    assert_eq!(got, want, "d={d} heads={heads} n={n} h={h}");
                    let mut twin = vec![0.0; n];
                    scalar::dot_rows(&x, d, rows.get(h * d..).unwrap_or(&[]), ld, n, &mut twin);
                    assert_eq!(twin, want, "scalar twin d={d} heads={heads} n={n} h={h}");
                }
            }
        }
    }
}

#[test]
fn int8_products_agree_with_the_twin_on_group_and_tile_tails() {
    // Group tails (K not a multiple of 32, or of 2), tile tails (N not a multiple of 16), every M;
    // the dispatched product (AVX2 natively when present) is the scalar twin's, bit for bit.
    let mut rng = Rng(31);
    for &k in &[0usize, 1, 2, 31, 32, 33, 63, 64, 65, 100] {
        for &n in &[1usize, 7, 15, 16, 17, 33] {
            let layer = Linear::from_stored(StoredMatrix::F32(rng.vec(n * k, 0.5)), Layout::OutIn, k, n, Some(rng.vec(n, 1.0)), Some(Storage::Int8));
            assert_eq!(layer.storage(), Storage::Int8);
            for m in [1usize, 2, 3, 4, 5] {
                let x = rng.vec(m * k, 3.0);
                let got = layer.forward(&x, m);
                let want = layer.forward_scalar(&x, m);
                assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "int8 m={m} k={k} n={n}");
                for i in 0..m {
                    assert_eq!(&got[i * n..(i + 1) * n], &layer.forward(&x[i * k..(i + 1) * k], 1)[..], "int8 m={m} k={k} n={n}: row {i} alone");
                }
            }
        }
    }
    // Zero activations give the bias; a non-finite activation makes its row's outputs NaN.
    let (k, n) = (40, 5);
    let bias = rng.vec(n, 1.0);
    let layer = Linear::from_stored(StoredMatrix::F32(rng.vec(n * k, 1.0)), Layout::OutIn, k, n, Some(bias.clone()), Some(Storage::Int8));
    assert_eq!(layer.forward(&vec![0.0; k], 1), bias);
    let mut x = rng.vec(2 * k, 1.0);
    x[k + 35] = f32::INFINITY;
    let out = layer.forward(&x, 2);
    assert!(out[..n].iter().all(|v| v.is_finite()) && out[n..].iter().all(|v| v.is_nan()), "{out:?}");
}

#[test]
fn int8_weights_keep_a_scale_per_group() {
    // A column whose first group is large and second small: the small group keeps its precision.
    let (g, k) = (INT8_GROUP, 2 * INT8_GROUP);
    let w: Vec<f32> = (0..k).map(|kk| if kk < g { 100.0 } else { 0.001 * (kk as f32 - g as f32 - 12.0) }).collect();
    let small_max = w[g..].iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let layer = Linear::from_stored(StoredMatrix::F32(w.clone()), Layout::OutIn, k, 1, None, Some(Storage::Int8));
    for (kk, &v) in w.iter().enumerate() {
        let step = if kk < g { 100.0 / 127.0 } else { small_max / 127.0 };
        assert!((layer.weight(0, kk) - v).abs() <= step / 2.0 + 1e-9, "k={kk}: {} vs {v}", layer.weight(0, kk));
    }
    assert_eq!(layer.bytes(), 16 * k + 4 * 16 * 2 + 4 * NR, "16 columns of int8 tiles, 2 groups of 16 scales, the bias");
}

#[test]
fn axpy_rows_is_one_axpy_per_nonzero_row() {
    let mut rng = Rng(41);
    for &d in &[0usize, 1, 3, 15, 16, 17, 64] {
        for rows in [0usize, 1, 4, 9] {
            let ld = d + 3;
            let v = rng.vec(rows.max(1) * ld, 1.0);
            let mut p = rng.vec(rows, 1.0);
            if rows > 2 {
                p[2] = 0.0;
            }
            let start = rng.vec(d, 1.0);
            let mut want = start.clone();
            for (j, &pj) in p.iter().enumerate() {
                if pj != 0.0 {
                    axpy(pj, &v[j * ld..j * ld + d], &mut want);
                }
            }
            let mut got = start.clone();
            axpy_rows(&p, &v, ld, d, &mut got);
            assert_eq!(got, want, "d={d} rows={rows}");
        }
    }
}

#[test]
fn every_head_in_one_pass_equals_one_head_at_a_time() {
    // Decoding reads each key and value row once for all heads; the numbers are those of the
    // per-head kernels (dot_rows, axpy_rows) bit for bit, with grouped-query heads sharing rows.
    let mut rng = Rng(43);
    for &d in &[1usize, 4, 7, 16, 64, 67] {
        for &(heads, group) in &[(1usize, 1usize), (3, 1), (4, 2), (6, 3), (4, 4)] {
            for n in [0usize, 1, 5, 33] {
                let kv = heads / group;
                let ld = kv * d + 2; // rows wider than their heads, as views into a wider buffer may be
                let keys = rng.vec(n.max(1) * ld, 1.0);
                let values = rng.vec(n.max(1) * ld, 1.0);
                let q = rng.vec(heads * d, 1.0);
                let mut p = rng.vec(heads * n, 1.0);
                if n > 2 {
                    p[2] = 0.0; // head 0 skips row 2
                }
                let mut scores = vec![0.0; heads * n];
                dot_rows_heads(&q, heads, d, group, &keys, ld, n, &mut scores);
                let mut twin = vec![0.0; heads * n];
                scalar::dot_rows_heads(&q, heads, d, group, &keys, ld, n, &mut twin);
                let start = rng.vec(heads * d, 1.0);
                let (mut ctx, mut ctx_twin) = (start.clone(), start.clone());
                axpy_rows_heads(&p, n, heads, d, group, &values, ld, &mut ctx);
                scalar::axpy_rows_heads(&p, n, heads, d, group, &values, ld, &mut ctx_twin);
                for h in 0..heads {
                    let at = h / group * d;
                    let mut want = vec![0.0; n];
                    dot_rows(&q[h * d..(h + 1) * d], d, keys.get(at..).unwrap_or(&[]), ld, n, &mut want);
                    assert_eq!(scores[h * n..(h + 1) * n], want[..], "scores d={d} heads={heads} group={group} n={n} h={h}");
                    assert_eq!(twin[h * n..(h + 1) * n], want[..], "scalar twin d={d} heads={heads} group={group} n={n} h={h}");
                    let mut out = start[h * d..(h + 1) * d].to_vec();
                    axpy_rows(&p[h * n..(h + 1) * n], values.get(at..).unwrap_or(&[]), ld, d, &mut out);
                    assert_eq!(ctx[h * d..(h + 1) * d], out[..], "ctx d={d} heads={heads} group={group} n={n} h={h}");
                    assert_eq!(ctx_twin[h * d..(h + 1) * d], out[..], "scalar ctx d={d} heads={heads} group={group} n={n} h={h}");
                }
            }
        }
    }
}

#[test]
fn packing_by_row_blocks_is_the_whole_packing_in_every_storage() {
    // A token table is packed a block of rows at a time (`Linear::from_row_blocks`); the result must
    // be the whole matrix's packing byte for byte, whatever the block size, in every storage
    // (int8 keeps each tile's two halves in two runs, so its blocks are joined, not appended).
    let mut rng = Rng(21);
    for storage in Storage::ALL {
        for &(k, n) in &[(3usize, 1usize), (64, 17), (100, 50), (130, 100)] {
            let w_nk = rng.vec(n * k, 1.0);
            let whole = Linear::from_stored(StoredMatrix::F32(w_nk.clone()), Layout::OutIn, k, n, None, Some(storage));
            for rows in [1, 16, 32, 48] {
                let blocks = Linear::from_row_blocks(k, n, None, storage, rows, &mut |r| StoredMatrix::F32(w_nk[r.start * k..r.end * k].to_vec())).expect("no f32 fallback");
                let case = format!("{storage:?} k={k} n={n} rows={rows}");
                match (whole.panels(), blocks.panels()) {
                    (PanelRef::F32(a), PanelRef::F32(b)) => assert_eq!(a, b, "{case}"),
                    (PanelRef::F16 { bits: a, shift: sa }, PanelRef::F16 { bits: b, shift: sb }) => assert_eq!((a, sa), (b, sb), "{case}"),
                    (PanelRef::BF16(a), PanelRef::BF16(b)) => assert_eq!(a, b, "{case}"),
                    (PanelRef::Int8 { q: a }, PanelRef::Int8 { q: b }) => {
                        assert_eq!(a, b, "{case}");
                    }
                    _ => panic!("{case}: storages differ"),
                }
            }
        }
    }
}

/// Products sum K in runs of `SUM_BLOCK` (each from zero, the first from the bias), not in one running
/// sum: after a 1, the 2^-25 terms (under half of 1's last bit) vanish one by one in a running sum but
/// add up inside each later run. Every storage but int8 (which sums integers) and both paths
/// (decoding one row, prefill of several) must keep them: 1 + 7·256·2^-25 exactly, at K = 2,048.
#[test]
fn products_sum_in_runs_of_sum_block() {
    assert_eq!(SUM_BLOCK, 256, "the expected sum below counts runs of 256");
    let k = 2048;
    let tiny = (-25f32).exp2();
    let mut row = vec![tiny; k];
    row[0] = 1.0;
    let want = 1.0 + 7.0 * 256.0 * tiny;
    assert_ne!(want, 1.0);
    for storage in [Storage::F32, Storage::F16, Storage::BF16] {
        // Two outputs, every weight 1 (exact in every storage); bias 0.
        let layer = Linear::from_stored(StoredMatrix::F32(vec![1.0; 2 * k]), Layout::OutIn, k, 2, Some(vec![0.0; 2]), Some(storage));
        for m in [1, 5, 40] {
            let x: Vec<f32> = (0..m).flat_map(|_| row.iter().copied()).collect();
            let out = layer.forward(&x, m);
            assert!(out.iter().all(|&v| v == want), "{storage:?} m={m}: {:?} (a running sum gives 1)", &out[..2]);
        }
    }
}

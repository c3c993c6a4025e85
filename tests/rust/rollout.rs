//! The teaching views' numbers on hand-made attention maps: pattern scores per head
//! (`glassbox::teach::patterns`), attention rollout and attention flow (`glassbox::teach::rollout`).
//! Every expected number is worked out by hand in the comments beside it.

use glassbox::teach::patterns::{score_heads, MapKind, Pattern};
use glassbox::teach::rollout::{cross_flow, cross_rollout, flow, residual_layers, rollout, EncoderDecoderMaps, FlowProblem, FLOW_PART_WORK, MAX_FLOW_WORK};

fn close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() < 1e-6, "{what}[{k}]: got {g}, want {w} (all: {got:?})");
    }
}

// ---- rollout and flow: 2 layers x 2 heads x 3 tokens, worked by hand ---------------------------
//
// Layer 1, both heads:  A1 = [[0,1,0],[1,0,0],[0,0,1]]  (tokens 0 and 1 swap, 2 reads itself)
//   mean of heads = A1;  Ã1 = 0.5·A1 + 0.5·I = [[.5,.5,0],[.5,.5,0],[0,0,1]]  (rows already sum to 1)
// Layer 2, head 0: every row reads token 2:  [[0,0,1],[0,0,1],[0,0,1]]
//          head 1: every row reads itself:   I
//   mean = [[.5,0,.5],[0,.5,.5],[0,0,1]];  Ã2 = 0.5·mean + 0.5·I = [[.75,0,.25],[0,.75,.25],[0,0,1]]
//
// Rollout R = Ã2 · Ã1:
//   row 0 = .75·[.5,.5,0] + .25·[0,0,1] = [.375,.375,.25]
//   row 1 = .75·[.5,.5,0] + .25·[0,0,1] = [.375,.375,.25]
//   row 2 = [0,0,1]
//
// Flow from output 0 (node (2,0)). Edges leaving it: to (1,0) capacity .75, to (1,2) capacity .25.
// From (1,0): to (0,0) .5 and (0,1) .5. From (1,2): to (0,2) 1.
//   to input 0: the only path is (2,0)→(1,0)→(0,0): min(.75, .5) = .5
//   to input 1: (2,0)→(1,0)→(0,1): min(.75, .5) = .5
//   to input 2: (2,0)→(1,2)→(0,2): min(.25, 1) = .25
// Rollout multiplies along the path (.75·.5 = .375) where flow takes the narrowest edge (.5).

fn two_layer_maps() -> (Vec<f32>, [usize; 4]) {
    let swap = [0., 1., 0., 1., 0., 0., 0., 0., 1.];
    let to_last = [0., 0., 1., 0., 0., 1., 0., 0., 1.];
    let identity = [1., 0., 0., 0., 1., 0., 0., 0., 1.];
    let data: Vec<f32> = [swap, swap, to_last, identity].concat();
    (data, [2, 2, 3, 3])
}

#[test]
fn residual_matrices_by_hand() {
    let (maps, shape) = two_layer_maps();
    let layers = residual_layers(&maps, shape).unwrap();
    close(&layers[..9], &[0.5, 0.5, 0., 0.5, 0.5, 0., 0., 0., 1.], "Ã1");
    close(&layers[9..], &[0.75, 0., 0.25, 0., 0.75, 0.25, 0., 0., 1.], "Ã2");
}

#[test]
fn rollout_by_hand() {
    let (maps, shape) = two_layer_maps();
    close(&rollout(&maps, shape).unwrap(), &[0.375, 0.375, 0.25, 0.375, 0.375, 0.25, 0., 0., 1.], "R");
}

#[test]
fn flow_by_hand() {
    let (maps, shape) = two_layer_maps();
    close(&flow(&maps, shape, 0).unwrap(), &[0.5, 0.5, 0.25], "flow from 0");
    // Output 2 reads only itself in both layers: all of its unit capacity reaches input 2.
    close(&flow(&maps, shape, 2).unwrap(), &[0., 0., 1.], "flow from 2");
}

// Flow adds parallel paths: 2 layers, 1 head, 2 tokens, every row uniform [.5,.5].
//   Ã = 0.5·[[.5,.5],[.5,.5]] + 0.5·I = [[.75,.25],[.25,.75]] in both layers.
//   Output 0 to input 0: paths via (1,0): min(.75,.75) = .75 and via (1,1): min(.25,.25) = .25;
//   they share no edge, so the flow is .75 + .25 = 1 (everything leaving (2,0) arrives).
//   Output 0 to input 1: via (1,0): min(.75,.25) = .25; via (1,1): min(.25,.75) = .25: total .5.
//   Rollout row 0 = .75·[.75,.25] + .25·[.25,.75] = [.625,.375].
#[test]
fn flow_adds_parallel_paths() {
    let maps = vec![0.5f32; 8];
    let shape = [2, 1, 2, 2];
    close(&flow(&maps, shape, 0).unwrap(), &[1.0, 0.5], "flow");
    close(&rollout(&maps, shape).unwrap()[..2], &[0.625, 0.375], "rollout row 0");
}

/// A small deterministic generator (no dependency): xorshift.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Random softmax-like maps `[L][H][T][T]`, causal (zero above the diagonal) when asked.
fn random_maps(rng: &mut Rng, shape: [usize; 4], causal: bool) -> Vec<f32> {
    let [l, h, t, _] = shape;
    let mut out = Vec::with_capacity(l * h * t * t);
    for _ in 0..l * h {
        for i in 0..t {
            let row: Vec<f32> = (0..t).map(|j| if causal && j > i { 0.0 } else { rng.next() + 0.01 }).collect();
            let sum: f32 = row.iter().sum();
            out.extend(row.iter().map(|x| x / sum));
        }
    }
    out
}

#[test]
fn rollout_rows_sum_to_one_and_causal_stays_causal() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for causal in [false, true] {
        let shape = [4, 3, 7, 7];
        let maps = random_maps(&mut rng, shape, causal);
        let r = rollout(&maps, shape).unwrap();
        for i in 0..7 {
            let row = &r[i * 7..(i + 1) * 7];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "row {i} sums to {}", row.iter().sum::<f32>());
            if causal {
                assert!(row[i + 1..].iter().all(|&x| x == 0.0), "causal rollout row {i} reaches later tokens: {row:?}");
            }
        }
    }
}

/// Max-flow = min-cut: for a small graph, enumerate every cut (which intermediate nodes stay on
/// the source's side) and check that the flow equals the cheapest, independently of the algorithm.
#[test]
fn flow_equals_brute_force_min_cut() {
    let mut rng = Rng(12345);
    for causal in [false, true] {
        for trial in 0..6 {
            let shape = [3, 2, 3, 3];
            let maps = random_maps(&mut rng, shape, causal);
            let layers = residual_layers(&maps, shape).unwrap();
            let (n_layers, t) = (3usize, 3usize);
            let cap = |l: usize, i: usize, j: usize| layers[(l * t + i) * t + j] as f64; // level l+1 pos i -> level l pos j
            for out in 0..t {
                let got = flow(&maps, shape, out).unwrap();
                for sink in 0..t {
                    // Intermediate levels 1..L-1: (L-1)·T nodes, each on the source side or not.
                    let bits = (n_layers - 1) * t;
                    let mut best = f64::INFINITY;
                    for mask in 0u32..(1 << bits) {
                        let on_source = |level: usize, pos: usize| {
                            if level == n_layers {
                                pos == out
                            } else if level == 0 {
                                pos != sink
                            } else {
                                mask >> ((level - 1) * t + pos) & 1 == 1
                            }
                        };
                        let mut cut = 0.0;
                        for l in 0..n_layers {
                            for i in 0..t {
                                for j in 0..t {
                                    if on_source(l + 1, i) && !on_source(l, j) {
                                        // Nodes of the top level other than `out` are not reached from the source:
                                        // count their edges only when they are on its side, which they are not.
                                        cut += cap(l, i, j);
                                    }
                                }
                            }
                        }
                        best = best.min(cut);
                    }
                    assert!((got[sink] as f64 - best).abs() < 1e-5, "causal {causal} trial {trial}: flow {out}->{sink} = {}, min cut {best}", got[sink]);
                    assert!(got[sink] <= 1.0 + 1e-6);
                    if causal && sink > out {
                        assert_eq!(got[sink], 0.0, "a causal decoder's flow reached a later token");
                    }
                }
            }
        }
    }
}

#[test]
fn flow_and_rollout_refuse_what_they_cannot_do() {
    // Cross-attention (not square).
    let err = rollout(&[0.5; 6], [1, 1, 3, 2]).unwrap_err().to_string();
    assert!(err.contains("self-attention") && err.contains("3 x 2"), "{err}");
    // Data that does not match the shape.
    let err = flow(&[0.5; 5], [1, 1, 2, 2], 0).unwrap_err().to_string();
    assert!(err.contains("shape"), "{err}");
    // An output token past the end.
    let err = flow(&[0.5; 4], [1, 1, 2, 2], 2).unwrap_err().to_string();
    assert!(err.contains("past the last"), "{err}");
    // Too large: named limit.
    let t = 200;
    let err = flow(&vec![1.0 / t as f32; 12 * t * t], [12, 1, t, t], 0).unwrap_err().to_string();
    assert!(err.contains("MAX_FLOW_WORK") && err.contains(&MAX_FLOW_WORK.to_string()), "{err}");
}

// ---- through cross-attention: an encoder-decoder, worked by hand ------------------------------------
//
// Encoder: 1 layer, 1 head, S = 2 source tokens; both read source token 1:
//   A_enc = [[0,1],[0,1]];  Ã_enc = 0.5·A_enc + 0.5·I = [[.5,.5],[0,1]];  R_enc = Ã_enc (one layer).
//   (Encoder output 0 is half source 0, half source 1; output 1 is all source 1.)
// Decoder: 1 layer, T = 2 target tokens.
//   Self-attention, 1 head, causal: token 1 reads token 0:  A_self = [[1,0],[1,0]];
//   Ã_self = 0.5·A_self + 0.5·I = [[1,0],[.5,.5]].
//   Cross-attention, 2 heads: head 0 = [[1,0],[0,1]] (aligned), head 1 = [[1,0],[1,0]] (all on source 0);
//   mean = [[1,0],[.5,.5]]; the sublayer keeps k = 0.5 of each position and reads C = 0.5·mean =
//   [[.5,0],[.25,.25]] from the encoder's outputs (0.5 + 0.5 = 1: nothing to renormalise).
//
// Rollout, D = [decoder inputs | encoder inputs], starting [I | 0]:
//   after self-attention:  D = Ã_self·[I | 0] = [[1,0 | 0,0], [.5,.5 | 0,0]]
//   after cross-attention: D ← 0.5·D + C·[0 | R_enc];
//     C·R_enc row 0 = .5·[.5,.5] + 0·[0,1]   = [.25,.25]
//     C·R_enc row 1 = .25·[.5,.5] + .25·[0,1] = [.125,.375]
//   row 0 = [.5, 0 | .25, .25];  row 1 = [.25, .25 | .125, .375]   (each sums to 1; the decoder side
//   holds 0.5^1 = .5 of both rows, the convention of one cross-attention sublayer)
//
// Flow from output 1 (the node after the cross-attention sublayer, position 1). Its edges: to itself
// after self-attention, capacity .5; to encoder outputs 0 and 1, .25 each.
//   to source 0: only through encoder output 0: min(.25, Ã_enc[0][0] = .5) = .25
//   to source 1: through encoder output 0: min(.25, .5) = .25, and through output 1: min(.25, 1) = .25:
//                disjoint paths, .5 in all
//   to target 0: through itself after self-attention (.5), then Ã_self[1][0] = .5: .5
//   to target 1: .5 then Ã_self[1][1] = .5: .5
//   flow = [.25, .5 | .5, .5] (encoder inputs first), where rollout has [.125, .375 | .25, .25].
// Flow from output 0: .5 to itself after self-attention, then all of it (Ã_self[0][0] = 1) to target
// 0; .5 to encoder output 0, split .5/.5 to both sources: [.5, .5 | .5, 0].

struct Ed {
    encoder: Vec<f32>,
    encoder_shape: [usize; 4],
    decoder: Vec<f32>,
    decoder_shape: [usize; 4],
    cross: Vec<f32>,
    cross_shape: [usize; 4],
}

impl Ed {
    fn maps(&self) -> EncoderDecoderMaps<'_> {
        EncoderDecoderMaps {
            encoder: &self.encoder,
            encoder_shape: self.encoder_shape,
            decoder: &self.decoder,
            decoder_shape: self.decoder_shape,
            cross: &self.cross,
            cross_shape: self.cross_shape,
        }
    }
}

fn hand_worked_encoder_decoder() -> Ed {
    Ed {
        encoder: vec![0., 1., 0., 1.],
        encoder_shape: [1, 1, 2, 2],
        decoder: vec![1., 0., 1., 0.],
        decoder_shape: [1, 1, 2, 2],
        cross: vec![1., 0., 0., 1., /* head 1 */ 1., 0., 1., 0.],
        cross_shape: [1, 2, 2, 2],
    }
}

#[test]
fn cross_rollout_by_hand() {
    let ed = hand_worked_encoder_decoder();
    let r = cross_rollout(&ed.maps()).unwrap();
    assert_eq!((r.source_len, r.target_len), (2, 2));
    close(&r.decoder, &[0.5, 0., 0.25, 0.25], "decoder inputs' shares");
    close(&r.encoder, &[0.25, 0.25, 0.125, 0.375], "encoder inputs' shares");
}

#[test]
fn cross_flow_by_hand() {
    let ed = hand_worked_encoder_decoder();
    close(&cross_flow(&ed.maps(), 1).unwrap(), &[0.25, 0.5, 0.5, 0.5], "flow from output 1");
    close(&cross_flow(&ed.maps(), 0).unwrap(), &[0.5, 0.5, 0.5, 0.], "flow from output 0");
}

/// Random maps for an encoder-decoder: `le` encoder layers of `s` tokens, `ld` decoder layers of `t`.
fn random_encoder_decoder(rng: &mut Rng, le: usize, ld: usize, heads: usize, s: usize, t: usize) -> Ed {
    let encoder = random_maps(rng, [le, heads, s, s], false);
    let decoder = random_maps(rng, [ld, heads, t, t], true);
    // Cross rows: softmax-like over the s encoder tokens.
    let mut cross = Vec::with_capacity(ld * heads * t * s);
    for _ in 0..ld * heads * t {
        let row: Vec<f32> = (0..s).map(|_| rng.next() + 0.01).collect();
        let sum: f32 = row.iter().sum();
        cross.extend(row.iter().map(|x| x / sum));
    }
    Ed { encoder, encoder_shape: [le, heads, s, s], decoder, decoder_shape: [ld, heads, t, t], cross, cross_shape: [ld, heads, t, s] }
}

/// Mean of the heads of layer `l` row `i` (`[L][H][Tq][Tk]`), in f64.
fn mean_row(maps: &[f32], shape: [usize; 4], l: usize, i: usize) -> Vec<f64> {
    let [_, h, tq, tk] = shape;
    (0..tk).map(|j| (0..h).map(|x| maps[((l * h + x) * tq + i) * tk + j] as f64).sum::<f64>() / h as f64).collect()
}

/// The whole encoder-decoder as one system of `N = S + T` positions (encoder positions first), each
/// sublayer an `N x N` matrix, multiplied in order as plain dense matrices: an independent
/// formulation of [`cross_rollout`] (no shared code, no block structure exploited).
/// Returns the sublayer matrices (for the flow check) and the product.
fn naive_system(ed: &Ed) -> (Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>) {
    let [le, _, s, _] = ed.encoder_shape;
    let [ld, _, t, _] = ed.decoder_shape;
    let n = s + t;
    let identity = || (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect::<Vec<f64>>()).collect::<Vec<_>>();
    let mut mats = Vec::new();
    // A self-attention sublayer over the `len` positions from `offset`: half the head-mean attention,
    // half the residual, each row normalised; every other position passes through.
    let self_attention = |maps: &[f32], shape: [usize; 4], l: usize, offset: usize, len: usize| {
        let mut m = identity();
        for i in 0..len {
            let a = mean_row(maps, shape, l, i);
            let row: Vec<f64> = (0..len).map(|j| 0.5 * a[j] + if i == j { 0.5 } else { 0.0 }).collect();
            let sum: f64 = row.iter().sum();
            for j in 0..len {
                m[offset + i][offset + j] = row[j] / sum;
            }
        }
        m
    };
    for l in 0..le {
        mats.push(self_attention(&ed.encoder, ed.encoder_shape, l, 0, s));
    }
    for l in 0..ld {
        mats.push(self_attention(&ed.decoder, ed.decoder_shape, l, s, t));
        let mut m = identity();
        for i in 0..t {
            let a = mean_row(&ed.cross, ed.cross_shape, l, i);
            let sum = 0.5 + 0.5 * a.iter().sum::<f64>();
            m[s + i][s + i] = 0.5 / sum;
            for j in 0..s {
                m[s + i][j] = 0.5 * a[j] / sum;
            }
        }
        mats.push(m);
    }
    let mut product = identity();
    for m in &mats {
        let next: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| (0..n).map(|k| m[i][k] * product[k][j]).sum()).collect()).collect();
        product = next;
    }
    (mats, product)
}

#[test]
fn cross_rollout_equals_the_naive_block_product() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for (le, ld, heads, s, t) in [(1, 1, 1, 2, 2), (2, 3, 2, 4, 3), (3, 2, 3, 5, 4), (0, 2, 1, 3, 2)] {
        let ed = random_encoder_decoder(&mut rng, le.max(1), ld, heads, s, t);
        let ed = if le == 0 { Ed { encoder: Vec::new(), encoder_shape: [0, heads, s, s], ..ed } } else { ed };
        let r = cross_rollout(&ed.maps()).unwrap();
        let (_, product) = naive_system(&ed);
        for i in 0..t {
            let row = &product[s + i];
            for j in 0..s {
                assert!((r.encoder[i * s + j] as f64 - row[j]).abs() < 1e-5, "{le}/{ld}: encoder share [{i}][{j}]");
            }
            for j in 0..t {
                assert!((r.decoder[i * t + j] as f64 - row[s + j]).abs() < 1e-5, "{le}/{ld}: decoder share [{i}][{j}]");
                if j > i {
                    assert_eq!(r.decoder[i * t + j], 0.0, "a causal decoder's rollout reached a later target token");
                }
            }
            let total: f32 = r.encoder[i * s..(i + 1) * s].iter().chain(&r.decoder[i * t..(i + 1) * t]).sum();
            assert!((total - 1.0).abs() < 1e-5, "row {i} sums to {total}");
            // Full rows: the decoder side keeps exactly 0.5^Ld (one half per cross-attention sublayer).
            let dec: f32 = r.decoder[i * t..(i + 1) * t].iter().sum();
            assert!((dec as f64 - 0.5f64.powi(ld as i32)).abs() < 1e-5, "decoder side {dec} after {ld} layers");
        }
    }
}

/// Max-flow = min-cut on the naive system's graph: a node per (sublayer level, position), an edge per
/// nonzero entry of each sublayer matrix (a position the sublayer does not touch has an edge of
/// capacity 1 to itself; never a bottleneck, as no flow exceeds 1). Every cut is enumerated.
#[test]
fn cross_flow_equals_brute_force_min_cut() {
    let mut rng = Rng(777);
    for trial in 0..3 {
        // 1 encoder layer of 2 tokens, 1 decoder layer of 2 tokens: levels 0..=3 of 4 positions.
        let ed = random_encoder_decoder(&mut rng, 1, 1, 2, 2, 2);
        let (mats, _) = naive_system(&ed);
        let (s, t) = (2usize, 2usize);
        let n = s + t;
        let levels = mats.len() + 1;
        for out in 0..t {
            let got = cross_flow(&ed.maps(), out).unwrap();
            for (k, &value) in got.iter().enumerate() {
                // Sink: encoder input k (k < s) or decoder input k - s, both at level 0.
                // Level 0, position k: the encoder's inputs are positions 0..S, the decoder's S..S+T.
                let sink = k;
                let source = (levels - 1) * n + s + out;
                let inner: Vec<usize> = (0..levels * n).filter(|&v| v != source && v != sink).collect();
                let mut best = f64::INFINITY;
                for mask in 0u32..(1 << inner.len()) {
                    let side = |v: usize| v == source || inner.iter().position(|&u| u == v).is_some_and(|p| mask >> p & 1 == 1);
                    let mut cut = 0.0;
                    for (l, m) in mats.iter().enumerate() {
                        for i in 0..n {
                            for j in 0..n {
                                let (from, to) = ((l + 1) * n + i, l * n + j);
                                if m[i][j] > 1e-12 && side(from) && !side(to) {
                                    cut += m[i][j];
                                }
                            }
                        }
                    }
                    best = best.min(cut);
                }
                assert!((value as f64 - best).abs() < 1e-5, "trial {trial}: flow {out} -> {k} = {value}, min cut {best}");
            }
        }
    }
}

#[test]
fn flow_parts_are_bounded_and_add_up_to_the_whole() {
    let mut rng = Rng(4242);
    let shape = [3, 2, 40, 40];
    let maps = random_maps(&mut rng, shape, false);
    let whole = flow(&maps, shape, 39).unwrap();
    let mut problem = FlowProblem::self_attention(&maps, shape, 39).unwrap();
    let (mut got, mut start, mut parts) = (Vec::new(), Some(0), 0);
    while let Some(at) = start {
        let (values, next) = problem.flow_part(at);
        // 3 layers x 40² = 4800 edges a sink: FLOW_PART_WORK / 4800 sinks a part.
        assert_eq!(values.len(), (FLOW_PART_WORK / 4800).min(40 - at));
        got.extend(values);
        start = next;
        parts += 1;
    }
    close(&got, &whole, "flow in parts");
    assert_eq!(parts, 40usize.div_ceil(FLOW_PART_WORK / 4800));
    // A graph heavier than one part still moves one sink a call.
    let shape = [12, 1, 128, 128];
    let maps = random_maps(&mut rng, shape, true);
    let mut problem = FlowProblem::self_attention(&maps, shape, 127).unwrap();
    let (values, next) = problem.flow_part(0);
    assert_eq!((values.len(), next), ((FLOW_PART_WORK / (12 * 128 * 128)).max(1), Some((FLOW_PART_WORK / (12 * 128 * 128)).max(1))));
    // The encoder-decoder graph: encoder inputs, then decoder inputs.
    let ed = hand_worked_encoder_decoder();
    let mut problem = FlowProblem::encoder_decoder(&ed.maps(), 1).unwrap();
    assert_eq!(problem.n_sinks(), 4);
    let (values, next) = problem.flow_part(0);
    assert_eq!(next, None);
    close(&values, &[0.25, 0.5, 0.5, 0.5], "one part");
}

#[test]
fn cross_rollout_refuses_maps_of_different_runs() {
    let mut ed = hand_worked_encoder_decoder();
    ed.cross_shape = [1, 1, 2, 4];
    ed.cross = vec![0.25; 8];
    let err = cross_rollout(&ed.maps()).unwrap_err().to_string();
    assert!(err.contains("2 x 4") && err.contains("encoder 2 tokens"), "{err}");
    let ed = hand_worked_encoder_decoder();
    let err = cross_flow(&ed.maps(), 2).unwrap_err().to_string();
    assert!(err.contains("past the last"), "{err}");
    // Too large: named limit.
    let (s, t) = (300, 10);
    let big = Ed {
        encoder: vec![1.0 / s as f32; 12 * s * s],
        encoder_shape: [12, 1, s, s],
        decoder: vec![0.1; 6 * t * t],
        decoder_shape: [6, 1, t, t],
        cross: vec![1.0 / s as f32; 6 * t * s],
        cross_shape: [6, 1, t, s],
    };
    let err = cross_flow(&big.maps(), 0).unwrap_err().to_string();
    assert!(err.contains("MAX_FLOW_WORK"), "{err}");
    assert!(cross_rollout(&big.maps()).is_ok(), "rollout has no size limit");
}

// ---- pattern scores on hand-made maps ------------------------------------------------------------

/// One-hot rows: `targets[i]` is the key query `i` puts all its weight on.
fn one_hot(targets: &[usize], k_len: usize) -> Vec<f32> {
    let mut m = vec![0.0; targets.len() * k_len];
    for (i, &j) in targets.iter().enumerate() {
        m[i * k_len + j] = 1.0;
    }
    m
}

#[test]
fn patterns_score_the_heads_built_for_them() {
    // Text "a b c a b c" (ids 1 2 3 1 2 3), causal, 1 layer, 4 heads:
    let ids = [1u32, 2, 3, 1, 2, 3];
    let previous = one_hot(&[0, 0, 1, 2, 3, 4], 6); // rows 1..5 on i-1: score 1
    let sink = one_hot(&[0, 0, 0, 0, 0, 0], 6); // rows 1..5 on key 0: score 1
    // Induction: row 3 ("a") reads 1 (the "b" after the first "a"), row 4 ("b") reads 2, row 5 reads 3;
    // rows 0..2 read themselves. Induction is defined on rows 3, 4, 5 (their token occurred before, not
    // just before): all three put 1 on the target, score 1.
    let induction = one_hot(&[0, 1, 2, 1, 2, 3], 6);
    // Same token: row 3 reads 0 (the earlier "a"), 4 reads 1, 5 reads 2: score 1 over rows 3..5.
    let same = one_hot(&[0, 1, 2, 0, 1, 2], 6);
    let maps = [previous, sink, induction, same].concat();
    let s = score_heads(&maps, [1, 4, 6, 6], MapKind::SelfAttention { causal: true }, &ids, &ids).unwrap();
    assert_eq!(s.get(0, 0, Pattern::PreviousToken), Some(1.0));
    assert_eq!(s.get(0, 1, Pattern::FirstToken), Some(1.0));
    assert_eq!(s.get(0, 2, Pattern::Induction), Some(1.0));
    assert_eq!(s.get(0, 3, Pattern::SameToken), Some(1.0));
    // The previous-token head: rows 1..5 put weight 1 on i-1; row 1's i-1 is key 0, so its first-token
    // score is (1 + 0 + 0 + 0 + 0) / 5 = 0.2.
    assert!((s.get(0, 0, Pattern::FirstToken).unwrap() - 0.2).abs() < 1e-6);
    // The induction head's previous-token score: rows 1 and 2 read themselves (0); rows 3, 4, 5 read
    // 1, 2, 3, none of them i-1: 0.
    assert_eq!(s.get(0, 2, Pattern::PreviousToken), Some(0.0));
    // Diagonal is a cross-attention pattern; the next token is behind the causal mask.
    assert_eq!(s.get(0, 0, Pattern::Diagonal), None);
    assert_eq!(s.get(0, 0, Pattern::NextToken), None);
    // Chance (uniform over j <= i): previous-token = mean over i = 1..5 of 1/(i+1) = (1/2+1/3+1/4+1/5+1/6)/5.
    let want = (0.5 + 1.0 / 3.0 + 0.25 + 0.2 + 1.0 / 6.0) / 5.0;
    let previous = Pattern::ALL.iter().position(|&p| p == Pattern::PreviousToken).unwrap();
    assert!((s.chance[previous].unwrap() - want as f32).abs() < 1e-6, "{:?}", s.chance);
    // The best head beats chance by most, and is not the sink: chance of previous-token is 0.29, of
    // induction (rows 3..5: 1/4, 1/5, 1/6) 0.206, of same-token the same 0.206: the induction and the
    // same-token heads (1 - 0.206) beat the previous-token head (1 - 0.29); the first found wins ties.
    let best = s.best_head().unwrap();
    assert_eq!((best.layer, best.head, best.pattern), (0, 2, Pattern::Induction), "{best:?}");
}

/// One repeated word ("the small dog sees the red house"): the second "the" looking at "small" is one cell, and
/// neither repeat pattern is scored on it, so no head is named an induction head for it; three repeats score.
#[test]
fn repeat_patterns_need_three_repeated_tokens() {
    // the small dog sees the red house: the second "the" (row 4) reads "small" (key 1), every other row "small" too.
    let ids = [1u32, 2, 3, 4, 1, 5, 6];
    let column = one_hot(&[1, 1, 1, 1, 1, 1, 1], 7);
    let s = score_heads(&column, [1, 1, 7, 7], MapKind::SelfAttention { causal: false }, &ids, &ids).unwrap();
    assert_eq!(s.get(0, 0, Pattern::Induction), None, "one repeated token: no induction score");
    assert_eq!(s.get(0, 0, Pattern::SameToken), None);
    assert_ne!(s.best_head().map(|b| b.pattern), Some(Pattern::Induction));
    // a b c a b c: rows 3, 4, 5 repeat (three rows), each reading the token after its earlier copy.
    let ids = [1u32, 2, 3, 1, 2, 3];
    let s = score_heads(&one_hot(&[0, 0, 1, 1, 2, 3], 6), [1, 1, 6, 6], MapKind::SelfAttention { causal: false }, &ids, &ids).unwrap();
    assert_eq!(s.get(0, 0, Pattern::Induction), Some(1.0));
    // Two repeats (a b c a b): still no score.
    let ids = [1u32, 2, 3, 1, 2];
    let s = score_heads(&one_hot(&[0, 0, 1, 1, 2], 5), [1, 1, 5, 5], MapKind::SelfAttention { causal: false }, &ids, &ids).unwrap();
    assert_eq!(s.get(0, 0, Pattern::Induction), None);
    assert_eq!(s.get(0, 0, Pattern::SameToken), None);
}

#[test]
fn induction_and_same_token_need_repeats() {
    let ids = [1u32, 2, 3, 4];
    let maps = one_hot(&[0, 0, 1, 2], 4);
    let s = score_heads(&maps, [1, 1, 4, 4], MapKind::SelfAttention { causal: false }, &ids, &ids).unwrap();
    assert_eq!(s.get(0, 0, Pattern::Induction), None, "no token repeats: induction is undefined");
    assert_eq!(s.get(0, 0, Pattern::SameToken), None);
    assert_eq!(s.get(0, 0, Pattern::PreviousToken), Some(1.0));
    let best = s.best_head().unwrap();
    assert_eq!(best.pattern, Pattern::PreviousToken);
    // Uniform over 4 keys: previous-token chance 1/4.
    assert!((best.chance - 0.25).abs() < 1e-6);
}

#[test]
fn diagonal_scores_cross_attention_alignment() {
    // 2 decoder tokens reading 4 encoder tokens: ratio 2, width max(1, 2/2) = 1; query 0's centre is
    // 0.5·2-0.5 = 0.5, keys within 1: 0, 1; query 1's centre 2.5: keys 2, 3.
    let aligned = [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5];
    let reversed = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0];
    let maps = [aligned, reversed].concat();
    let s = score_heads(&maps, [1, 2, 2, 4], MapKind::Cross, &[7, 8], &[1, 2, 3, 4]).unwrap();
    assert_eq!(s.get(0, 0, Pattern::Diagonal), Some(1.0));
    // reversed: row 0 puts 1 on key 3 (outside 0..=1): 0; row 1 puts 1 on key 0 (outside 2..=3): 0.
    assert_eq!(s.get(0, 1, Pattern::Diagonal), Some(0.0));
    assert_eq!(s.get(0, 1, Pattern::FirstToken), Some(0.5), "cross: every row counts; row 1 on key 0");
    assert_eq!(s.get(0, 0, Pattern::PreviousToken), None, "previous-token is a self-attention pattern");
    // Chance: uniform 1/4; each row has 2 of the 4 keys in its window: 0.5.
    let diagonal = Pattern::ALL.iter().position(|&p| p == Pattern::Diagonal).unwrap();
    assert!((s.chance[diagonal].unwrap() - 0.5).abs() < 1e-6);
    // One decoder token has no diagonal to follow.
    let one = score_heads(&[0.25; 4], [1, 1, 1, 4], MapKind::Cross, &[7], &[1, 2, 3, 4]).unwrap();
    assert_eq!(one.get(0, 0, Pattern::Diagonal), None);
}

#[test]
fn patterns_refuse_mismatched_ids() {
    let err = score_heads(&[1.0; 4], [1, 1, 2, 2], MapKind::SelfAttention { causal: false }, &[1], &[1, 2]).unwrap_err().to_string();
    assert!(err.contains("query ids"), "{err}");
}

// ---- the CLI's `inspect --views`: the numbers the browser tests compare the elements with ------------

/// `glassbox inspect --views` on the bundled models (one of each type) prints, per attention kind, the
/// scores of every head, the head they pick and (self-attention) rollout and flow, equal to the library's
/// on the attention it prints beside them.
#[test]
fn cli_views_are_the_library_numbers_on_the_printed_attention() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let text = "the cat sat on the mat . the cat sat";
    for model in ["glassbox-gpt2", "glassbox-bert", "glassbox-translator"] {
        let dir = root.join(model);
        // The translator with a decoder input of a few tokens, so its decoder and cross maps have rows to score.
        let mut args = vec!["inspect".to_owned(), dir.display().to_string(), "--text".into(), text.into(), "--views".into()];
        if model == "glassbox-translator" {
            args.extend(["--decoder-ids".to_owned(), "0,5,9,7".to_owned()]);
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox")).args(&args).output().expect("run glassbox");
        assert!(out.status.success(), "{model}: {}", String::from_utf8_lossy(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let case = &doc["cases"][0];
        let ids: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        let dec: Vec<u32> = case["decoder_ids"].as_array().map_or(ids.clone(), |a| a.iter().map(|v| v.as_u64().unwrap() as u32).collect());
        let mut seen = 0;
        for (kind, map_kind, q, k) in [
            ("encoder", MapKind::SelfAttention { causal: false }, &ids, &ids),
            ("decoder", MapKind::SelfAttention { causal: true }, &dec, &dec),
            ("cross", MapKind::Cross, &dec, &ids),
        ] {
            let maps = &case["attentions"][kind];
            if maps.is_null() {
                continue;
            }
            seen += 1;
            let l = maps.as_array().unwrap().len();
            let h = maps[0].as_array().unwrap().len();
            let (tq, tk) = (maps[0][0].as_array().unwrap().len(), maps[0][0][0].as_array().unwrap().len());
            let data: Vec<f32> = maps.as_array().unwrap().iter().flat_map(|layer| layer.as_array().unwrap().iter())
                .flat_map(|head| head.as_array().unwrap().iter()).flat_map(|row| row.as_array().unwrap().iter()).map(|x| x.as_f64().unwrap() as f32).collect();
            let shape = [l, h, tq, tk];
            let want = score_heads(&data, shape, map_kind, q, k).unwrap();
            let views = &case["views"][kind];
            for li in 0..l {
                for hi in 0..h {
                    for (p, pattern) in Pattern::ALL.iter().enumerate() {
                        let got = views["scores"][li][hi][p].as_f64();
                        let w = want.get(li, hi, *pattern);
                        assert_eq!(got.is_some(), w.is_some(), "{model} {kind} {li}/{hi} {}", pattern.as_str());
                        if let (Some(g), Some(w)) = (got, w) {
                            assert!((g - w as f64).abs() < 1e-5, "{model} {kind} {li}/{hi} {}: {g} vs {w}", pattern.as_str());
                        }
                    }
                }
            }
            match want.best_head() {
                Some(b) => {
                    assert_eq!(views["best"]["layer"], b.layer);
                    assert_eq!(views["best"]["head"], b.head);
                    assert_eq!(views["best"]["pattern"], b.pattern.as_str());
                }
                None => assert!(views["best"].is_null()),
            }
            if kind == "cross" {
                assert!(views.get("rollout").is_none(), "no rollout through cross-attention");
                continue;
            }
            let r = rollout(&data, shape).unwrap();
            for (i, row) in views["rollout"].as_array().unwrap().iter().enumerate() {
                for (j, v) in row.as_array().unwrap().iter().enumerate() {
                    assert!((v.as_f64().unwrap() - r[i * tq + j] as f64).abs() < 1e-6);
                }
            }
            let outputs = views["flow_outputs"].as_array().unwrap();
            assert_eq!(outputs.len(), tq, "every output of a short text");
            for (row, o) in views["flow"].as_array().unwrap().iter().zip(outputs) {
                let f = flow(&data, shape, o.as_u64().unwrap() as usize).unwrap();
                for (j, v) in row.as_array().unwrap().iter().enumerate() {
                    let v = v.as_f64().unwrap();
                    assert!((v - f[j] as f64).abs() < 1e-6 && v <= 1.0 + 1e-6);
                    if kind == "decoder" && j > o.as_u64().unwrap() as usize {
                        assert_eq!(v, 0.0, "{model}: decoder flow to a later token");
                    }
                }
            }
        }
        assert!(seen >= 1, "{model}: no attention printed");
        // An encoder-decoder: rollout and flow through cross-attention, the library's on the printed maps.
        let through = &case["views"]["through_cross"];
        if case["attentions"]["cross"].is_null() {
            assert!(through.is_null(), "{model}: through_cross without cross-attention");
            continue;
        }
        let parse = |kind: &str| {
            let m = &case["attentions"][kind];
            let dims = [m.as_array().unwrap().len(), m[0].as_array().unwrap().len(), m[0][0].as_array().unwrap().len(), m[0][0][0].as_array().unwrap().len()];
            let data: Vec<f32> = m.as_array().unwrap().iter().flat_map(|l| l.as_array().unwrap().iter()).flat_map(|h| h.as_array().unwrap().iter())
                .flat_map(|r| r.as_array().unwrap().iter()).map(|x| x.as_f64().unwrap() as f32).collect();
            (data, dims)
        };
        let ((e, es), (d, ds), (c, cs)) = (parse("encoder"), parse("decoder"), parse("cross"));
        let maps = EncoderDecoderMaps { encoder: &e, encoder_shape: es, decoder: &d, decoder_shape: ds, cross: &c, cross_shape: cs };
        let want = cross_rollout(&maps).unwrap();
        let (s, t) = (want.source_len, want.target_len);
        for i in 0..t {
            for j in 0..s {
                assert!((through["encoder_rollout"][i][j].as_f64().unwrap() - want.encoder[i * s + j] as f64).abs() < 1e-6);
            }
            for j in 0..t {
                assert!((through["decoder_rollout"][i][j].as_f64().unwrap() - want.decoder[i * t + j] as f64).abs() < 1e-6);
            }
        }
        for (row, o) in through["flow"].as_array().unwrap().iter().zip(through["flow_outputs"].as_array().unwrap()) {
            let f = cross_flow(&maps, o.as_u64().unwrap() as usize).unwrap();
            assert_eq!(row.as_array().unwrap().len(), s + t);
            for (j, v) in row.as_array().unwrap().iter().enumerate() {
                assert!((v.as_f64().unwrap() - f[j] as f64).abs() < 1e-6, "{model}: flow through cross [{o}][{j}]");
            }
        }
        assert_eq!(through["flow_outputs"].as_array().unwrap().len(), t, "every decoder token of a short output");
    }
}

/// The bundled BERT's clearest head, layer 2, head 4 (0-based 1, 3), reads the next token. Through the
/// CLI, as the page's numbers are checked: on texts with and without repeats, it is the head `--views`
/// picks, for the next-token pattern, and the pattern it beats uniform attention on by most is the
/// next token, which is what its thumbnail is labelled with (www/head-choice.js, bestPatternOf).
#[test]
fn bundled_bert_next_token_head_is_picked_as_next_token() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/glassbox-bert");
    let texts = ["The animal did not cross the street because it was too tired.", "the cat sat on the mat . the cat sat on the mat"];
    let mut args = vec!["inspect".to_owned(), dir.display().to_string(), "--views".into()];
    for text in texts {
        args.extend(["--text".to_owned(), text.to_owned()]);
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox")).args(&args).output().expect("run glassbox");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for (text, case) in texts.iter().zip(doc["cases"].as_array().unwrap()) {
        let views = &case["views"]["encoder"];
        let patterns: Vec<&str> = views["patterns"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        let best = &views["best"];
        assert_eq!((&best["layer"], &best["head"], &best["pattern"]), (&1.into(), &3.into(), &"next-token".into()), "{text}: {best}");
        // Most of its attention, far above uniform's 1/T.
        let (score, chance) = (best["score"].as_f64().unwrap(), best["chance"].as_f64().unwrap());
        assert!(score > 0.7 && chance < 0.1, "{text}: {score} vs uniform {chance}");
        // Its own label, first-token sink included: the pattern with the largest lift over uniform attention.
        let lifts: Vec<(f64, &str)> = patterns.iter().enumerate()
            .filter_map(|(p, name)| Some((views["scores"][1][3][p].as_f64()? - views["chance"][p].as_f64()?, *name)))
            .collect();
        let top = lifts.iter().copied().fold((f64::NEG_INFINITY, ""), |a, b| if b.0 > a.0 { b } else { a });
        assert_eq!(top.1, "next-token", "{text}: {lifts:?}");
    }
}

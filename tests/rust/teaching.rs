//! The core side of the page's teaching views, against Hugging Face and by property, on the model
//! fixtures (gpt2, bert, t5_tiny, bart_tiny, marian_tiny) and the references that
//! `scripts/fixtures/teaching.py` records in `tests/fixtures/teaching/<name>.json`.
//!
//! - `hf_*`: hidden states after every layer (HF's `output_hidden_states`), hidden source tokens
//!   (HF's `attention_mask`), ablated heads (HF's old `head_mask`, reproduced in 5.x by a hook),
//!   learned and sinusoidal position rows, T5's `_relative_position_bucket`;
//! - `qkv_*`: the traced layer's own numbers agree: q·kᵀ·scale (+ bias) = scores, softmax = probs,
//!   probs·v = ctx, and they equal the captured attention maps;
//! - `property_*`: an all-ones head mask changes nothing, an ablated head's ctx is zero, a hidden
//!   token's attention column is zero, the logit lens of the last state is the logits, interventions
//!   hold in cached decoding, Marian's sinusoid is the closed form, plain runs carry no extras;
//! - `bad_*`: probes a model cannot honour are refused with a message.

#[path = "support/mod.rs"]
mod support;

use glassbox::models::attention::HIDDEN_KEY;
use glassbox::models::t5::relative_bucket;
use glassbox::models::{AttentionKind, Capture, HeadMasks, Inputs, Interventions, Model, Outputs, Probe, QkvRequest, QkvTrace, Stack};
use glassbox::session::{InspectOptions, Session};
use ndarray::{s, Axis};
use serde_json::Value;
use std::path::Path;
use support::{assert_close, flat, ids, Folder};

const FIXTURES: [&str; 5] = ["gpt2", "bert", "t5_tiny", "bart_tiny", "marian_tiny"];
const ENCODERS: [&str; 4] = ["bert", "t5_tiny", "bart_tiny", "marian_tiny"];
const STATE_TOL: f64 = 5e-5;
const ATTENTION_TOL: f64 = 1e-5;
const ARITH_TOL: f64 = 1e-5;

fn load(name: &str) -> Model {
    Model::load(&Folder::fixture(name).files(), None).unwrap_or_else(|e| panic!("{name}: loading failed: {e}"))
}

fn teaching(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/teaching").join(format!("{name}.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run scripts/fixtures/teaching.py)", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture's source ids and decoder ids (`None` for one-stack models).
fn inputs(doc: &Value) -> (Vec<u32>, Option<Vec<u32>>) {
    (ids(&doc["input_ids"]), doc["decoder_ids"].as_array().map(|_| ids(&doc["decoder_ids"])))
}

fn run(model: &Model, doc: &Value, probe: &Probe) -> Outputs {
    let (src, dec) = inputs(doc);
    model.forward_probed(&Inputs { ids: &src, type_ids: None, decoder_ids: dec.as_deref() }, probe).unwrap_or_else(|e| panic!("forward failed: {e}"))
}

fn hidden_probe() -> Probe {
    Probe { hidden_states: true, ..Default::default() }
}

fn kinds(model: &Model) -> Vec<AttentionKind> {
    [AttentionKind::Encoder, AttentionKind::Decoder, AttentionKind::Cross].into_iter().filter(|&k| model.attention_dims(k).is_some()).collect()
}

fn head_masks_from(doc: &Value) -> HeadMasks {
    let get = |kind: &str| doc.get(kind).map(|m| flat(m).into_iter().map(|v| v as f32).collect::<Vec<f32>>());
    HeadMasks { encoder: get("encoder"), decoder: get("decoder"), cross: get("cross") }
}

fn logits(out: &Outputs) -> &[f32] {
    out.logits.as_deref().expect("logits")
}

// ---------------------------------------------------------------- against Hugging Face

#[test]
fn hf_hidden_states_after_every_layer() {
    for name in FIXTURES {
        let (model, doc) = (load(name), teaching(name));
        let out = run(&model, &doc, &hidden_probe());
        assert_close(&format!("{name} logits"), logits(&out), &flat(&doc["logits"]), STATE_TOL);
        for (stack, states) in doc["hidden_states"].as_object().unwrap() {
            let got = if stack == "encoder" { &out.encoder_hidden_states } else { &out.decoder_hidden_states };
            let got = got.as_ref().unwrap_or_else(|| panic!("{name}: no {stack} hidden states"));
            let want = states.as_array().unwrap();
            assert_eq!(got.dim().0, want.len(), "{name} {stack}: number of hidden states");
            for (i, w) in want.iter().enumerate() {
                assert_close(&format!("{name} {stack} hidden state {i}"), got.index_axis(Axis(0), i).as_slice().unwrap(), &flat(w), STATE_TOL);
            }
        }
    }
}

#[test]
fn hf_hidden_tokens() {
    for name in ENCODERS {
        let (model, doc) = (load(name), teaching(name));
        let masked = &doc["masked"];
        let token_mask: Vec<u8> = flat(&masked["attention_mask"]).iter().map(|&v| v as u8).collect();
        let probe = Probe { capture: Capture::PROBS, interventions: Interventions { token_mask: Some(token_mask), ..Default::default() }, ..Default::default() };
        let out = run(&model, &doc, &probe);
        let plain = run(&model, &doc, &Probe::default());
        let want = flat(&masked["logits"]);
        assert_close(&format!("{name} logits with a hidden token"), logits(&out), &want, STATE_TOL);
        assert_moved(name, "hiding a token", logits(&plain), &want);
        assert_close(&format!("{name} encoder attentions with a hidden token"), out.encoder_attentions.as_ref().unwrap().as_slice().unwrap(), &flat(&masked["encoder_attentions"]), ATTENTION_TOL);
        if let Some(cross) = masked.get("cross_attentions") {
            assert_close(&format!("{name} cross attentions with a hidden token"), out.cross_attentions.as_ref().unwrap().as_slice().unwrap(), &flat(cross), ATTENTION_TOL);
        }
    }
}

#[test]
fn hf_ablated_heads() {
    for name in FIXTURES {
        let (model, doc) = (load(name), teaching(name));
        let ablated = &doc["ablated"];
        let probe = Probe { interventions: Interventions { head_mask: head_masks_from(&ablated["head_mask"]), ..Default::default() }, ..Default::default() };
        let out = run(&model, &doc, &probe);
        let want = flat(&ablated["logits"]);
        assert_close(&format!("{name} logits with heads ablated"), logits(&out), &want, STATE_TOL);
        assert_moved(name, "ablating heads", logits(&run(&model, &doc, &Probe::default())), &want);
    }
}

/// The reference must differ from the plain run by much more than the tolerance, or the
/// comparison above proves nothing.
fn assert_moved(name: &str, what: &str, plain: &[f32], want: &[f64]) {
    let moved = plain.iter().zip(want).map(|(&p, &w)| (p as f64 - w).abs()).fold(0.0, f64::max);
    assert!(moved > 2.0 * STATE_TOL, "{name}: {what} moves the logits by only {moved:.2e}; the fixture cannot tell");
}

#[test]
fn hf_position_rows() {
    for name in ["gpt2", "bert", "bart_tiny", "marian_tiny"] {
        let (model, doc) = (load(name), teaching(name));
        let pos = &doc["positions"];
        let n = pos["rows"].as_array().unwrap().len();
        let stack = if name == "gpt2" { Stack::Decoder } else { Stack::Encoder };
        assert_close(&format!("{name} position rows"), &model.position_vectors(stack, n).unwrap(), &flat(&pos["rows"]), 1e-6);
        if let Some(dec) = pos.get("decoder_rows") {
            assert_close(&format!("{name} decoder position rows"), &model.position_vectors(Stack::Decoder, n).unwrap(), &flat(dec), 1e-6);
        }
    }
}

#[test]
fn hf_t5_relative_buckets() {
    let (model, doc) = (load("t5_tiny"), teaching("t5_tiny"));
    let pos = &doc["positions"];
    let rel: Vec<i64> = pos["relative_positions"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    for table in pos["tables"].as_array().unwrap() {
        let (nb, md, bi) = (table["num_buckets"].as_u64().unwrap() as usize, table["max_distance"].as_u64().unwrap() as usize, table["bidirectional"].as_bool().unwrap());
        let want: Vec<usize> = table["buckets"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        for (&r, &w) in rel.iter().zip(&want) {
            assert_eq!(relative_bucket(r, bi, nb, md), w, "bucket of distance {r} ({nb} buckets, max distance {md}, bidirectional {bi})");
        }
    }
    // The accessor gives the same buckets for the fixture's own settings, and the bias by head and bucket.
    for (stack, bidirectional) in [(Stack::Encoder, true), (Stack::Decoder, false)] {
        let rp = model.relative_positions(stack, 40).unwrap();
        assert_eq!((rp.distances.len(), rp.buckets.len(), rp.bidirectional), (79, 79, bidirectional));
        assert_eq!(rp.distances[0], -39);
        let table = pos["tables"].as_array().unwrap().iter().find(|t| t["bidirectional"].as_bool() == Some(bidirectional)).unwrap();
        for (&d, &b) in rp.distances.iter().zip(&rp.buckets) {
            let at = rel.iter().position(|&r| r == d).unwrap();
            assert_eq!(b as u64, table["buckets"][at].as_u64().unwrap(), "{stack:?} bucket of distance {d}");
        }
        assert_eq!(rp.bias.len(), rp.n_heads * rp.num_buckets);
    }
}

// ---------------------------------------------------------------- the Q/K/V step-through

/// Check one trace's arithmetic against itself: every step follows from the previous one.
fn check_trace_arithmetic(what: &str, t: &QkvTrace) {
    let (h, tq, tk, d) = (t.n_heads(), t.q_len(), t.k_len(), t.d_head());
    assert_eq!((t.k.dim(), t.v.dim(), t.ctx.dim()), ((h, tk, d), (h, tk, d), (h, tq, d)), "{what}: k/v/ctx shapes");
    assert_eq!((t.scores.dim(), t.probs.dim()), ((h, tq, tk), (h, tq, tk)), "{what}: scores/probs shapes");
    assert_eq!((t.input.nrows(), t.out.dim()), (tq, (tq, t.d_model())), "{what}: input/out shapes");
    for head in 0..h {
        for i in 0..tq {
            let (scores, probs) = (t.scores.slice(s![head, i, ..]), t.probs.slice(s![head, i, ..]));
            // scores = scale · q·k (+ bias), where the key is visible
            let q = t.q.slice(s![head, i, ..]);
            let mut want = Vec::new();
            let mut got = Vec::new();
            for j in 0..tk {
                if scores[j] == f32::NEG_INFINITY || scores[j] <= HIDDEN_KEY / 2.0 {
                    continue;
                }
                let k = t.k.slice(s![head, j, ..]);
                let dot: f64 = q.iter().zip(k).map(|(&a, &b)| a as f64 * b as f64).sum();
                want.push(dot * t.scale as f64 + t.bias.as_ref().map_or(0.0, |b| b[[head, i, j]] as f64));
                got.push(scores[j]);
            }
            assert_close(&format!("{what} head {head} query {i}: scale·q·k + bias = scores"), &got, &want, ARITH_TOL);
            // probs = softmax(scores) (no head mask in these runs)
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let e: Vec<f64> = scores.iter().map(|&s| (s as f64 - max).exp()).collect();
            let sum: f64 = e.iter().sum();
            let soft: Vec<f64> = e.iter().map(|v| v / sum).collect();
            assert_close(&format!("{what} head {head} query {i}: softmax(scores) = probs"), probs.as_slice().unwrap(), &soft, ARITH_TOL);
            // ctx = probs · v
            let ctx_want: Vec<f64> = (0..d).map(|c| (0..tk).map(|j| probs[j] as f64 * t.v[[head, j, c]] as f64).sum()).collect();
            assert_close(&format!("{what} head {head} query {i}: probs·v = ctx"), t.ctx.slice(s![head, i, ..]).as_slice().unwrap(), &ctx_want, ARITH_TOL);
        }
    }
}

#[test]
fn qkv_trace_arithmetic_every_kind_and_layer() {
    for name in FIXTURES {
        let (model, doc) = (load(name), teaching(name));
        for kind in kinds(&model) {
            let (layers, heads) = model.attention_dims(kind).unwrap();
            for layer in 0..layers {
                let probe = Probe { capture: Capture::ALL, qkv: Some(QkvRequest { kind, layer }), ..Default::default() };
                let out = run(&model, &doc, &probe);
                let t = out.qkv.as_ref().unwrap_or_else(|| panic!("{name} {kind:?} layer {layer}: no trace"));
                let what = format!("{name} {kind:?} layer {layer}");
                assert_eq!((t.kind, t.layer, t.n_heads()), (kind, layer, heads), "{what}: trace identity");
                check_trace_arithmetic(&what, t);
                // The trace's scores and probs are the captured maps of that layer.
                let (probs, scores) = match kind {
                    AttentionKind::Encoder => (&out.encoder_attentions, &out.encoder_scores),
                    AttentionKind::Decoder => (&out.decoder_attentions, &out.decoder_scores),
                    AttentionKind::Cross => (&out.cross_attentions, &out.cross_scores),
                };
                assert_eq!(probs.as_ref().unwrap().index_axis(Axis(0), layer), t.probs, "{what}: trace probs = captured probs");
                assert_eq!(scores.as_ref().unwrap().index_axis(Axis(0), layer), t.scores, "{what}: trace scores = captured scores");
                // T5 biases its self-attention scores by position; nobody else does.
                let biased = name == "t5_tiny" && kind != AttentionKind::Cross;
                assert_eq!(t.bias.is_some(), biased, "{what}: position bias present");
                assert_eq!(t.scale == 1.0, name == "t5_tiny", "{what}: scale {}", t.scale);
            }
        }
    }
}

#[test]
fn qkv_trace_input_is_the_layer_input() {
    // Post-norm models (BERT, BART, Marian): layer 0's query projection reads the embeddings output.
    for name in ["bert", "bart_tiny", "marian_tiny"] {
        let (model, doc) = (load(name), teaching(name));
        let probe = Probe { hidden_states: true, qkv: Some(QkvRequest { kind: AttentionKind::Encoder, layer: 1 }), ..Default::default() };
        let out = run(&model, &doc, &probe);
        let states = out.encoder_hidden_states.as_ref().unwrap();
        assert_eq!(out.qkv.as_ref().unwrap().input, states.index_axis(Axis(0), 1), "{name}: traced layer 1 reads hidden state 1");
    }
}

// ---------------------------------------------------------------- properties

#[test]
fn property_all_ones_head_mask_changes_nothing() {
    for name in FIXTURES {
        let (model, doc) = (load(name), teaching(name));
        let mut masks = HeadMasks::default();
        for kind in kinds(&model) {
            let (l, h) = model.attention_dims(kind).unwrap();
            let ones = Some(vec![1.0; l * h]);
            match kind {
                AttentionKind::Encoder => masks.encoder = ones,
                AttentionKind::Decoder => masks.decoder = ones,
                AttentionKind::Cross => masks.cross = ones,
            }
        }
        let probe = Probe { capture: Capture::PROBS, interventions: Interventions { head_mask: masks, ..Default::default() }, ..Default::default() };
        let (a, b) = (run(&model, &doc, &probe), run(&model, &doc, &Probe::from(Capture::PROBS)));
        assert_eq!(a.logits, b.logits, "{name}: an all-ones head mask changed the logits");
        assert_eq!(a.encoder_attentions, b.encoder_attentions, "{name}: ... or the attentions");
        assert_eq!(a.decoder_attentions, b.decoder_attentions, "{name}: ... or the attentions");
    }
}

#[test]
fn property_ablated_head_contributes_nothing() {
    for name in FIXTURES {
        let (model, doc) = (load(name), teaching(name));
        for kind in kinds(&model) {
            let (l, h) = model.attention_dims(kind).unwrap();
            let (layer, head) = (l - 1, 1 % h);
            let mut mask = vec![1.0; l * h];
            mask[layer * h + head] = 0.0;
            let mut masks = HeadMasks::default();
            match kind {
                AttentionKind::Encoder => masks.encoder = Some(mask),
                AttentionKind::Decoder => masks.decoder = Some(mask),
                AttentionKind::Cross => masks.cross = Some(mask),
            }
            let probe = Probe {
                qkv: Some(QkvRequest { kind, layer }),
                interventions: Interventions { head_mask: masks, ..Default::default() },
                ..Default::default()
            };
            let out = run(&model, &doc, &probe);
            let t = out.qkv.as_ref().unwrap();
            let what = format!("{name} {kind:?} layer {layer} head {head}");
            let of = |x: &ndarray::Array3<f32>, head: usize| x.index_axis(Axis(0), head).to_owned();
            assert!(of(&t.probs, head).iter().all(|&p| p == 0.0), "{what}: ablated probs not zero");
            assert!(of(&t.ctx, head).iter().all(|&c| c == 0.0), "{what}: ablated ctx not zero");
            let other = (head + 1) % h;
            assert!(of(&t.ctx, other).iter().any(|&c| c != 0.0), "{what}: another head's ctx is zero too");
            // Its scores are still there to look at.
            assert!(of(&t.scores, head).iter().any(|s| s.is_finite() && *s != 0.0), "{what}: scores lost");
        }
    }
}

#[test]
fn property_hidden_token_gets_no_attention() {
    for name in ENCODERS {
        let (model, doc) = (load(name), teaching(name));
        let (src, _) = inputs(&doc);
        let hidden = 1;
        let mut token_mask = vec![1u8; src.len()];
        token_mask[hidden] = 0;
        let probe = Probe { capture: Capture::ALL, interventions: Interventions { token_mask: Some(token_mask), ..Default::default() }, ..Default::default() };
        let out = run(&model, &doc, &probe);
        let mut maps = vec![("encoder", out.encoder_attentions.as_ref().unwrap())];
        maps.extend(out.cross_attentions.as_ref().map(|m| ("cross", m)));
        for (kind, m) in maps {
            let (l, h, tq, tk) = m.dim();
            assert_eq!(tk, src.len());
            for (layer, head, i) in (0..l).flat_map(|a| (0..h).flat_map(move |b| (0..tq).map(move |c| (a, b, c)))) {
                assert_eq!(m[[layer, head, i, hidden]], 0.0, "{name} {kind} layer {layer} head {head} query {i} still attends to the hidden token");
                let row: f32 = (0..tk).map(|j| m[[layer, head, i, j]]).sum();
                assert!((row - 1.0).abs() < 1e-5, "{name} {kind}: row sums to {row}");
            }
        }
        let scores = out.encoder_scores.as_ref().unwrap();
        assert!(scores[[0, 0, 0, hidden]] <= HIDDEN_KEY / 2.0, "{name}: the hidden key's score is not pushed to f32::MIN");
    }
}

#[test]
fn property_every_token_hidden_stays_finite() {
    // HF adds finfo.min, not -inf: with every key hidden a row is uniform, never NaN.
    let (model, doc) = (load("bert"), teaching("bert"));
    let (src, _) = inputs(&doc);
    let probe = Probe { capture: Capture::PROBS, interventions: Interventions { token_mask: Some(vec![0; src.len()]), ..Default::default() }, ..Default::default() };
    let out = run(&model, &doc, &probe);
    assert!(logits(&out).iter().all(|v| v.is_finite()));
    let p = out.encoder_attentions.unwrap()[[0, 0, 0, 0]];
    assert!((p - 1.0 / src.len() as f32).abs() < 1e-6, "uniform row expected, got {p}");
}

#[test]
fn property_logit_lens_of_the_last_state_is_the_logits() {
    for name in FIXTURES {
        let (model, doc) = (load(name), teaching(name));
        let out = run(&model, &doc, &hidden_probe());
        let n = if name == "bert" { out.encoder_hidden_states.as_ref() } else { out.decoder_hidden_states.as_ref() }.unwrap().dim().0;
        let last = model.logit_lens(&out, n - 1).unwrap();
        assert_eq!(&last[..], logits(&out), "{name}: the lens on the last state");
        let first = model.logit_lens(&out, 0).unwrap();
        assert_eq!(first.len(), last.len());
        assert_ne!(first, last, "{name}: the lens on the embeddings should differ");
        let top = model.logit_lens_top(&out, 3).unwrap();
        assert_eq!((top.n_states, top.k, top.ids.len()), (n, 3, n * top.seq_len * 3));
        // The lens's best guess at the last state is the model's argmax.
        let v = last.len() / top.seq_len;
        for (i, row) in last.chunks_exact(v).enumerate() {
            let best = glassbox::models::generation::argmax(row);
            assert_eq!(top.ids[((n - 1) * top.seq_len + i) * 3], best, "{name}: lens top-1 at position {i}");
        }
        assert!(model.logit_lens(&out, n).is_err());
    }
}

#[test]
fn property_interventions_hold_in_cached_decoding() {
    for name in FIXTURES {
        let (model, doc) = (load(name), teaching(name));
        let (src, dec) = inputs(&doc);
        let mut interventions = Interventions { head_mask: head_masks_from(&doc["ablated"]["head_mask"]), ..Default::default() };
        if name != "gpt2" {
            let mut token_mask = vec![1u8; src.len()];
            token_mask[2] = 0;
            interventions.token_mask = Some(token_mask);
        }
        if name == "bert" {
            continue; // encoder-only: nothing to decode
        }
        let probe = Probe { interventions: interventions.clone(), ..Default::default() };
        let full = run(&model, &doc, &probe);
        let (source, fed): (&[u32], Vec<u32>) = match &dec { Some(d) => (&src, d.clone()), None => (&[], src.clone()) };
        let mut state = model.start_decoding_with(source, &interventions).unwrap();
        let v = logits(&full).len() / fed.len();
        for (i, &tok) in fed.iter().enumerate() {
            let step = model.feed(&mut state, &[tok], Capture::NONE).unwrap();
            let want: Vec<f64> = logits(&full)[i * v..(i + 1) * v].iter().map(|&x| x as f64).collect();
            assert_close(&format!("{name}: cached step {i} with interventions"), &step.logits, &want, 1e-4);
        }
    }
}

#[test]
fn property_marian_sinusoid_is_the_closed_form() {
    let model = load("marian_tiny");
    let c = model.info().d_model;
    let n = 64;
    let got = model.position_vectors(Stack::Encoder, n).unwrap();
    let mut want = vec![0.0f64; n * c];
    for p in 0..n {
        for k in 0..c / 2 {
            let angle = p as f64 / 10000f64.powf(2.0 * k as f64 / c as f64);
            want[p * c + k] = angle.sin();
            want[p * c + c / 2 + k] = angle.cos();
        }
    }
    assert_close("marian sinusoids", &got, &want, 1e-6);
    assert_eq!(model.position_vectors(Stack::Decoder, n).unwrap(), got, "both stacks share the table");
    assert!(model.position_vectors(Stack::Encoder, n + 1).is_err());
}

#[test]
fn property_embeddings_plus_positions_are_the_first_hidden_state() {
    // GPT-2: x0 = wte[ids] + wpe[0..T]. Marian: x0 = √C · embed[ids] + sinusoid[0..T].
    for (name, stack) in [("gpt2", Stack::Decoder), ("marian_tiny", Stack::Encoder)] {
        let (model, doc) = (load(name), teaching(name));
        let (src, _) = inputs(&doc);
        let out = run(&model, &doc, &hidden_probe());
        let emb = model.token_embeddings(stack, &src).unwrap();
        let pos = model.position_vectors(stack, src.len()).unwrap();
        let want: Vec<f64> = emb.rows.iter().zip(&pos).map(|(&e, &p)| (e * emb.scale + p) as f64).collect();
        let states = if stack == Stack::Decoder { &out.decoder_hidden_states } else { &out.encoder_hidden_states };
        assert_close(&format!("{name}: embeddings + positions"), states.as_ref().unwrap().index_axis(Axis(0), 0).as_slice().unwrap(), &want, 1e-6);
    }
}

#[test]
fn property_plain_runs_carry_no_extras() {
    for name in FIXTURES {
        let (model, doc) = (load(name), teaching(name));
        let out = run(&model, &doc, &Probe::default());
        assert!(out.qkv.is_none() && out.encoder_hidden_states.is_none() && out.decoder_hidden_states.is_none(), "{name}");
        assert!(out.encoder_attentions.is_none() && out.decoder_attentions.is_none(), "{name}");
    }
}

// ---------------------------------------------------------------- bad probes

#[test]
fn bad_probes_are_refused_with_a_reason() {
    let gpt2 = load("gpt2");
    let doc = teaching("gpt2");
    let (src, _) = inputs(&doc);
    let fwd = |m: &Model, p: Probe| m.forward_probed(&Inputs { ids: &src, type_ids: None, decoder_ids: None }, &p).map(|_| ()).unwrap_err().to_string();
    let e = fwd(&gpt2, Probe { qkv: Some(QkvRequest { kind: AttentionKind::Decoder, layer: 9 }), ..Default::default() });
    assert!(e.contains("layer 9") && e.contains("layers 0 to 1") && e.contains("Pick a layer from 0 to 1"), "{e}");
    let e = fwd(&gpt2, Probe { qkv: Some(QkvRequest { kind: AttentionKind::Cross, layer: 0 }), ..Default::default() });
    assert!(e.contains("no cross attention"), "{e}");
    let e = fwd(&gpt2, Probe { interventions: Interventions { head_mask: HeadMasks { decoder: Some(vec![1.0; 5]), ..Default::default() }, ..Default::default() }, ..Default::default() });
    assert!(e.contains("5 values") && e.contains("2 layers × 4 heads"), "{e}");
    let e = fwd(&gpt2, Probe { interventions: Interventions { token_mask: Some(vec![1; src.len()]), ..Default::default() }, ..Default::default() });
    assert!(e.contains("decoder-only"), "{e}");
    let bert = load("bert");
    let e = fwd(&bert, Probe { interventions: Interventions { token_mask: Some(vec![1; 3]), ..Default::default() }, ..Default::default() });
    assert!(e.contains("3 entries") && e.contains(&format!("{} tokens", src.len())), "{e}");
    let e = fwd(&bert, Probe { interventions: Interventions { token_mask: Some(vec![2; src.len()]), ..Default::default() }, ..Default::default() });
    assert!(e.contains("contains 2"), "{e}");
    assert!(gpt2.position_vectors(Stack::Encoder, 3).unwrap_err().to_string().contains("no encoder stack"));
    assert!(load("t5_tiny").position_vectors(Stack::Encoder, 3).unwrap_err().to_string().contains("relative"));
    assert!(bert.relative_positions(Stack::Encoder, 3).is_err());
    assert!(gpt2.token_embeddings(Stack::Decoder, &[100_000]).is_err());
    let out = gpt2.forward(&Inputs { ids: &src, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap();
    assert!(gpt2.logit_lens(&out, 0).unwrap_err().to_string().contains("hidden_states"));
}

// ---------------------------------------------------------------- through the session

#[test]
fn session_inspect_with() {
    let folder = Folder::fixture("bert");
    let session = Session::load(&folder.files(), None).unwrap_or_else(|e| panic!("loading failed: {e}"));
    let text = "the cat sat";
    let n = session.encode(text).unwrap().ids.len();
    let mut token_mask = vec![1u8; n];
    token_mask[1] = 0;
    let opts = InspectOptions {
        hidden_states: true,
        qkv: Some(QkvRequest { kind: AttentionKind::Encoder, layer: 0 }),
        token_mask: Some(token_mask),
        ..Default::default()
    };
    let ins = session.inspect_with(text, &opts).unwrap();
    assert_eq!(ins.outputs.encoder_hidden_states.as_ref().unwrap().dim().0, 3);
    assert!(ins.outputs.qkv.is_some());
    let lens = session.logit_lens(&ins, 2).unwrap();
    assert_eq!(Some(lens), ins.outputs.logits);
}

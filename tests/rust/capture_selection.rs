//! Capturing only what a view asks for (`MapSelection`): the maps kept are exactly the full capture's
//! layers and kinds that were selected, the rest is not kept at all, and nothing else about the run
//! changes (hidden states, logits, a Q/K/V trace of a layer that is not kept). On the fixtures of every
//! attention layout: GPT-2 (decoder), BERT (encoder), T5 and BART (encoder, decoder, cross), Llama with
//! grouped-query attention.

#[path = "support/mod.rs"]
mod support;

use glassbox::models::capture::MapSelection;
use glassbox::models::{AttentionKind, AttentionMaps, Capture, QkvRequest};
use ndarray::Axis;
use glassbox::session::{InspectOptions, Session};
use support::Folder;

const FIXTURES: [&str; 5] = ["gpt2", "bert", "t5_tiny", "bart_tiny", "llama_gqa"];
const KINDS: [AttentionKind; 3] = [AttentionKind::Encoder, AttentionKind::Decoder, AttentionKind::Cross];

fn session(name: &str) -> Session {
    Session::load(&Folder::fixture(name).files(), None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn maps(out: &glassbox::models::Outputs, kind: AttentionKind, scores: bool) -> Option<&AttentionMaps> {
    match (kind, scores) {
        (AttentionKind::Encoder, false) => out.encoder_attentions.as_ref(),
        (AttentionKind::Decoder, false) => out.decoder_attentions.as_ref(),
        (AttentionKind::Cross, false) => out.cross_attentions.as_ref(),
        (AttentionKind::Encoder, true) => out.encoder_scores.as_ref(),
        (AttentionKind::Decoder, true) => out.decoder_scores.as_ref(),
        (AttentionKind::Cross, true) => out.cross_scores.as_ref(),
    }
}

#[test]
fn selected_maps_are_the_full_captures_layers_and_nothing_else_changes() {
    let text = "the cat sat on the mat";
    for name in FIXTURES {
        let s = session(name);
        let full = s.inspect_with(text, &InspectOptions { capture: Capture::ALL, hidden_states: true, ..Default::default() }).unwrap();
        let kinds: Vec<AttentionKind> = KINDS.into_iter().filter(|&k| s.model.attention_dims(k).is_some()).collect();
        let deepest = kinds.iter().map(|&k| s.model.attention_dims(k).unwrap().0).max().unwrap();
        // Every single layer, one kind at a time and all kinds; and a two-layer span reaching past the end.
        let mut cases: Vec<(Option<Vec<AttentionKind>>, std::ops::Range<usize>)> = Vec::new();
        for l in 0..deepest {
            cases.push((None, l..l + 1));
            for &k in &kinds {
                cases.push((Some(vec![k]), l..l + 1));
            }
        }
        cases.push((None, deepest - 1..deepest + 5));
        for (only, layers) in cases {
            let selection = MapSelection::new(only.as_deref(), Some(layers.clone()));
            // The Q/K/V trace of layer 0 is asked for too: it must not depend on which maps are kept.
            let qkv = Some(QkvRequest { kind: kinds[0], layer: 0 });
            let opts = InspectOptions { capture: Capture::ALL, maps: selection, hidden_states: true, qkv, ..Default::default() };
            let part = s.inspect_with(text, &opts).unwrap();
            let with_trace = s.inspect_with(text, &InspectOptions { capture: Capture::ALL, hidden_states: true, qkv, ..Default::default() }).unwrap();
            let at = format!("{name}, kinds {only:?}, layers {layers:?}");
            for &kind in &kinds {
                let n_layers = s.model.attention_dims(kind).unwrap().0;
                let kept = selection.layers(kind, n_layers);
                let wanted = only.as_ref().is_none_or(|ks| ks.contains(&kind));
                let expect: std::ops::Range<usize> = if wanted { layers.start.min(n_layers)..layers.end.min(n_layers) } else { 0..0 };
                assert_eq!(kept, expect, "{at}: {kind:?} keeps these layers");
                for scores in [false, true] {
                    let (f, p) = (maps(&full.outputs, kind, scores).unwrap(), maps(&part.outputs, kind, scores));
                    if kept.is_empty() {
                        assert!(p.is_none(), "{at}: {kind:?} (scores {scores}) is not kept at all");
                        continue;
                    }
                    let p = p.unwrap_or_else(|| panic!("{at}: {kind:?} (scores {scores}) is kept"));
                    let (_, h, tq, tk) = f.dim();
                    assert_eq!(p.dim(), (kept.len(), h, tq, tk), "{at}: {kind:?} shape");
                    for (i, l) in kept.clone().enumerate() {
                        assert_eq!(p.index_axis(Axis(0), i), f.index_axis(Axis(0), l), "{at}: {kind:?} (scores {scores}) kept layer {i} is layer {l}");
                    }
                }
            }
            assert_eq!(part.outputs.last_hidden_state, full.outputs.last_hidden_state, "{at}: last hidden state");
            assert_eq!(part.outputs.logits, full.outputs.logits, "{at}: logits");
            assert_eq!(part.outputs.encoder_hidden_states, full.outputs.encoder_hidden_states, "{at}: encoder hidden states");
            assert_eq!(part.outputs.decoder_hidden_states, full.outputs.decoder_hidden_states, "{at}: decoder hidden states");
            assert_eq!(part.outputs.qkv, with_trace.outputs.qkv, "{at}: the Q/K/V trace");
        }
    }
}

#[test]
fn the_default_selection_keeps_everything() {
    assert_eq!(MapSelection::default(), MapSelection::ALL);
    assert_eq!(MapSelection::new(None, None), MapSelection::ALL);
    for kind in KINDS {
        assert_eq!(MapSelection::ALL.layers(kind, 7), 0..7);
        assert_eq!(MapSelection::new(Some(&[]), None).layers(kind, 7), 0..0, "no kinds: nothing kept");
        assert_eq!(MapSelection::new(None, Some(9..12)).layers(kind, 7), 7..7, "layers past the stack: nothing kept");
    }
}

/// The page asks a run for a few candidates per position, not `[T][V]`: the forward pass keeps only each
/// row's k likeliest tokens (worked out a block of rows at a time), and they are exactly the full logits'.
#[test]
fn top_k_rows_are_the_full_logits_top_k_and_the_logits_are_not_kept() {
    use glassbox::models::generation::top_candidates;
    use glassbox::models::logits::LogitRows;
    let text = "the cat sat on the mat and the dog sat on the log";
    for name in FIXTURES.iter().chain(&["marian_tiny", "roberta", "qwen2", "flan_t5_tiny"]) {
        let s = session(name);
        let full = s.inspect_with(text, &InspectOptions::default()).unwrap();
        let logits = full.outputs.logits.as_ref().unwrap_or_else(|| panic!("{name}: no logits"));
        let rows = full.outputs.last_hidden_state.len() / s.info().d_model;
        let vocab = logits.len() / rows;
        for k in [1, 5, vocab + 3] {
            let part = s.inspect_with(text, &InspectOptions { logits: LogitRows::TopK(k), ..Default::default() }).unwrap();
            assert!(part.outputs.logits.is_none(), "{name}: [T][V] was kept");
            let top = part.outputs.top_k.as_ref().unwrap_or_else(|| panic!("{name}: no top-k"));
            assert_eq!(top.k, k.min(vocab), "{name}");
            let want: Vec<(u32, f32)> = logits.chunks_exact(vocab).flat_map(|row| top_candidates(row, k)).collect();
            let got: Vec<(u32, f32)> = top.ids.iter().copied().zip(top.probs.iter().copied()).collect();
            assert_eq!(got, want, "{name}, k = {k}");
            assert_eq!(part.outputs.last_hidden_state, full.outputs.last_hidden_state, "{name}: the pass itself changed");
        }
        let none = s.inspect_with(text, &InspectOptions { logits: LogitRows::TopK(0), ..Default::default() }).unwrap();
        assert!(none.outputs.logits.is_none() && none.outputs.top_k.is_none(), "{name}: topK 0 keeps nothing");
    }
}

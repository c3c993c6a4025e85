//! The Llama-style (llama, qwen2), DistilBERT and RoBERTa families against Hugging Face
//! `transformers` 5 on the fixtures of `scripts/fixtures/families.py`.
//!
//! Per fixture: the model fed HF's ids (attention 1e-4; every hidden state, last hidden state and
//! logits 1e-3), the tokenizer (ids, tokens, offsets exactly), text-to-numbers through `Session`,
//! and for the decoders greedy generation through the KV cache (ids equal to HF's `generate`).
//! Then what each family must refuse by name, and the teaching data (rotary angles, GQA sharing).

#[path = "support/mod.rs"]
mod support;

use glassbox::models::generation::{generate, GenerateOptions, Sampling};
use glassbox::models::{AttentionKind, Capture, Inputs, Kind, Model, Outputs, Positions, Probe, QkvRequest};
use glassbox::loader::ModelFiles;
use glassbox::session::Session;
use serde_json::Value;
use support::{assert_close, edited, flat, ids, load_error, pick_rows, reference, Folder};

const ATTENTION_TOL: f64 = 1e-4;
const STATE_TOL: f64 = 1e-3;

fn load_model(name: &str) -> Model {
    Model::load(&Folder::fixture(name).files(), None).unwrap_or_else(|e| panic!("[model] {name}: loading failed: {e}"))
}

fn cases(name: &str) -> Vec<Value> {
    reference(name)["cases"].as_array().expect("cases").clone()
}

/// Largest absolute difference (printed with `--nocapture`, for the figures in reports).
fn worst(got: &[f32], want: &[f64]) -> f64 {
    got.iter().zip(want).map(|(&g, &w)| (g as f64 - w).abs()).fold(0.0, f64::max)
}

fn compare_outputs(what: &str, model: &Model, out: &Outputs, case: &Value) {
    let info = model.info();
    let v = info.vocab_size;
    let (attention, states) = match info.kind {
        Kind::EncoderOnly => (out.encoder_attentions.as_ref(), out.encoder_hidden_states.as_ref()),
        _ => (out.decoder_attentions.as_ref(), out.decoder_hidden_states.as_ref()),
    };
    let attention = attention.unwrap_or_else(|| panic!("{what}: no attention was captured"));
    let t = case["input_ids"].as_array().unwrap().len();
    assert_eq!(attention.shape(), [info.n_layers, info.n_heads, t, t], "{what}: attention shape");
    assert_close(&format!("{what}: attentions"), attention.as_slice().unwrap(), &flat(&case["attentions"]), ATTENTION_TOL);
    let mut figures = format!("attention {:.1e}, last_hidden_state {:.1e}", worst(attention.as_slice().unwrap(), &flat(&case["attentions"])), worst(&out.last_hidden_state, &flat(&case["last_hidden_state"])));
    assert_close(&format!("{what}: last_hidden_state"), &out.last_hidden_state, &flat(&case["last_hidden_state"]), STATE_TOL);
    if let Some(want) = case.get("hidden_states") {
        let states = states.unwrap_or_else(|| panic!("{what}: no hidden states kept"));
        assert_eq!(states.dim().0, info.n_layers + 1, "{what}: number of hidden states");
        assert_close(&format!("{what}: hidden_states"), states.as_slice().unwrap(), &flat(want), STATE_TOL);
        figures += &format!(", hidden_states {:.1e}", worst(states.as_slice().unwrap(), &flat(want)));
    }
    if case["logits"].is_null() {
        assert!(out.logits.is_none(), "{what}: logits computed but the reference model has no LM head");
    } else {
        let logits = out.logits.as_ref().unwrap_or_else(|| panic!("{what}: no logits (LM head not loaded?)"));
        assert_eq!(logits.len(), t * v, "{what}: logits shape");
        let rows = ids(&case["logit_rows"]);
        assert_close(&format!("{what}: logits rows {rows:?}"), &pick_rows(logits, v, &rows), &flat(&case["logits"]), STATE_TOL);
        figures += &format!(", logits {:.1e}", worst(&pick_rows(logits, v, &rows), &flat(&case["logits"])));
    }
    eprintln!("{what}: max |diff| {figures}");
}

fn model_matches(name: &str) {
    let model = load_model(name);
    let probe = Probe { capture: Capture::PROBS, hidden_states: true, ..Default::default() };
    for (i, case) in cases(name).iter().enumerate() {
        let input_ids = ids(&case["input_ids"]);
        let type_ids = ids(&case["token_type_ids"]);
        let inputs = Inputs { ids: &input_ids, type_ids: Some(&type_ids), decoder_ids: None };
        let what = format!("[model] {name} case {i} ({:?})", case["text"].as_str().unwrap());
        let out = model.forward_probed(&inputs, &probe).unwrap_or_else(|e| panic!("{what}: forward failed: {e}"));
        compare_outputs(&what, &model, &out, case);
    }
}

fn generation_matches(name: &str) {
    let model = load_model(name);
    let mut checked = 0;
    for (i, case) in cases(name).iter().enumerate() {
        let Some(want) = case.get("generated_ids").filter(|g| !g.is_null()) else { continue };
        let prompt = ids(&case["input_ids"]);
        let want = ids(want);
        // HF ran with min_new_tokens = max_new_tokens: no end-of-text stop, and its min-length rule
        // sets the end-of-text score to -inf at every step, so greedy takes the best other token.
        let eos = model.info().eos_token_id;
        let got: Vec<u32> = if eos.is_some() {
            let mut state = model.start_decoding(&[]).expect("decoder state");
            let mut step = model.feed(&mut state, &prompt, Capture::NONE).unwrap_or_else(|e| panic!("[generation] {name} case {i}: {e}"));
            let mut got = Vec::new();
            for _ in 0..want.len() {
                let best = (0..step.logits.len()).filter(|&id| Some(id as u32) != eos).max_by(|&a, &b| step.logits[a].total_cmp(&step.logits[b])).unwrap() as u32;
                got.push(best);
                step = model.feed(&mut state, &[best], Capture::NONE).unwrap_or_else(|e| panic!("[generation] {name} case {i}: {e}"));
            }
            got
        } else {
            let opts = GenerateOptions { max_new_tokens: want.len(), sampling: Sampling::Greedy, eos_token_id: None, n_candidates: 0, capture: Capture::NONE };
            let state = model.start_decoding(&[]).expect("decoder state");
            generate(&model, state, &prompt, &opts, &mut |_| true).unwrap_or_else(|e| panic!("[generation] {name} case {i}: {e}")).iter().map(|t| t.id).collect()
        };
        assert_eq!(got, want, "[generation] {name} case {i}: greedy continuation differs from HF (min logit gap {})", case["generation_min_logit_gap"]);
        checked += 1;
    }
    assert!(checked > 0, "{name}: reference.json has no generation cases");
}

fn tokenizer_and_session_match(name: &str) {
    let folder = Folder::fixture(name);
    let session = Session::load(&folder.files(), None).unwrap_or_else(|e| panic!("[session] {name}: loading failed: {e}"));
    for (i, case) in cases(name).iter().enumerate() {
        if !case["pair"].is_null() {
            continue;
        }
        let text = case["text"].as_str().unwrap();
        let what = format!("[tokenizer] {name} case {i} ({text:?})");
        let enc = session.encode(text).unwrap_or_else(|e| panic!("{what}: {e}"));
        let want_tokens: Vec<String> = case["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
        assert_eq!(enc.tokens, want_tokens, "{what}: tokens");
        assert_eq!(enc.ids, ids(&case["input_ids"]), "{what}: ids");
        let want_offsets: Vec<(usize, usize)> =
            case["offsets"].as_array().unwrap().iter().map(|o| (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize)).collect();
        assert_eq!(enc.offsets, want_offsets, "{what}: offsets");
        let ins = session.inspect(text, None, Capture::PROBS).unwrap_or_else(|e| panic!("[session] {name} case {i}: {e}"));
        let probe_free = Outputs { decoder_hidden_states: None, encoder_hidden_states: None, ..ins.outputs };
        let mut case = case.clone();
        case.as_object_mut().unwrap().remove("hidden_states");
        compare_outputs(&format!("[session] {name} case {i}"), &session.model, &probe_free, &case);
    }
}

macro_rules! fixture_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn model_matches_hf_from_hf_ids() {
                super::model_matches(stringify!($name));
            }
            #[test]
            fn tokenizer_and_session_match_hf() {
                super::tokenizer_and_session_match(stringify!($name));
            }
        }
    )*};
}

fixture_tests!(deberta_v3, deberta_v2, deberta_c2p, llama_gqa, llama3_tied, llama3_tied_v4, qwen2, qwen2_window, qwen3, mistral, mistral_window, gemma, gemma2, gemma3, gemma3_v4, gemma3_vision, granite, olmo2, olmo3, smollm3, stablelm, stablelm_parallel, olmo, starcoder2, cohere, phi3, phi3_longrope, phi, modernbert, albert, camembert, gpt_neox, gpt_neo, gpt_neo_v4, opt, opt_v4, opt_350m, bloom, bloom_plain, xlm_roberta, mpnet, electra, electra_discriminator, distilbert, distilbert_sin, distilbert_v4, roberta, roberta_untied, roberta_v4);

#[test]
fn llama_gqa_greedy_generation_matches_hf() {
    generation_matches("llama_gqa");
}
#[test]
fn llama3_tied_greedy_generation_matches_hf() {
    generation_matches("llama3_tied");
}
#[test]
fn llama3_tied_v4_greedy_generation_matches_hf() {
    generation_matches("llama3_tied_v4");
}
#[test]
fn qwen2_greedy_generation_matches_hf() {
    generation_matches("qwen2");
}
#[test]
fn qwen3_greedy_generation_matches_hf() {
    generation_matches("qwen3");
}
#[test]
fn qwen2_window_greedy_generation_matches_hf() {
    generation_matches("qwen2_window");
}
#[test]
fn mistral_window_greedy_generation_matches_hf() {
    generation_matches("mistral_window");
}
#[test]
fn gemma_greedy_generation_matches_hf() {
    generation_matches("gemma");
}
#[test]
fn gemma2_greedy_generation_matches_hf() {
    generation_matches("gemma2");
}
#[test]
fn gemma3_greedy_generation_matches_hf() {
    generation_matches("gemma3");
}
#[test]
fn gemma3_v4_greedy_generation_matches_hf() {
    generation_matches("gemma3_v4");
}
#[test]
fn granite_greedy_generation_matches_hf() {
    generation_matches("granite");
}
#[test]
fn olmo2_greedy_generation_matches_hf() {
    generation_matches("olmo2");
}
#[test]
fn smollm3_greedy_generation_matches_hf() {
    generation_matches("smollm3");
}
#[test]
fn gpt_neox_greedy_generation_matches_hf() {
    generation_matches("gpt_neox");
}
#[test]
fn gpt_neo_greedy_generation_matches_hf() {
    generation_matches("gpt_neo");
}
#[test]
fn opt_greedy_generation_matches_hf() {
    generation_matches("opt");
}
#[test]
fn opt_v4_greedy_generation_matches_hf() {
    generation_matches("opt_v4");
}
#[test]
fn bloom_greedy_generation_matches_hf() {
    generation_matches("bloom");
}
#[test]
fn bloom_plain_greedy_generation_matches_hf() {
    generation_matches("bloom_plain");
}
#[test]
fn opt_350m_greedy_generation_matches_hf() {
    generation_matches("opt_350m");
}
#[test]
fn gpt_neo_v4_greedy_generation_matches_hf() {
    generation_matches("gpt_neo_v4");
}
#[test]
fn phi3_greedy_generation_matches_hf() {
    generation_matches("phi3");
}
#[test]
fn phi3_longrope_greedy_generation_matches_hf() {
    generation_matches("phi3_longrope");
}
#[test]
fn gemma3_vision_greedy_generation_matches_hf() {
    generation_matches("gemma3_vision");
}
#[test]
fn cohere_greedy_generation_matches_hf() {
    generation_matches("cohere");
}

#[test]
fn starcoder2_greedy_generation_matches_hf() {
    generation_matches("starcoder2");
}

#[test]
fn olmo_greedy_generation_matches_hf() {
    generation_matches("olmo");
}

#[test]
fn stablelm_greedy_generation_matches_hf() {
    generation_matches("stablelm");
}

#[test]
fn stablelm_parallel_greedy_generation_matches_hf() {
    generation_matches("stablelm_parallel");
}

#[test]
fn olmo3_greedy_generation_matches_hf() {
    generation_matches("olmo3");
}
#[test]
fn phi_greedy_generation_matches_hf() {
    generation_matches("phi");
}
#[test]
fn mistral_greedy_generation_matches_hf() {
    generation_matches("mistral");
}

/// The fixtures have the properties the tests rely on.
#[test]
fn fixtures_cover_what_they_claim() {
    let config = |name: &str| -> Value { serde_json::from_slice(&Folder::fixture(name).config).unwrap() };
    let names = |name: &str| -> Vec<String> {
        let bytes = Folder::fixture(name).weights.expect("weights");
        safetensors::SafeTensors::deserialize(&bytes).unwrap().names().into_iter().map(String::from).collect()
    };
    let gqa = config("llama_gqa");
    assert!(gqa["num_key_value_heads"].as_u64() < gqa["num_attention_heads"].as_u64());
    assert_ne!(gqa["head_dim"].as_u64().unwrap(), gqa["hidden_size"].as_u64().unwrap() / gqa["num_attention_heads"].as_u64().unwrap());
    assert_eq!(gqa["tie_word_embeddings"], false);
    assert!(names("llama_gqa").iter().any(|n| n == "lm_head.weight"));
    let tied = config("llama3_tied");
    assert_eq!(tied["rope_parameters"]["rope_type"], "llama3");
    assert_eq!(tied["num_key_value_heads"], 1);
    assert!(!names("llama3_tied").iter().any(|n| n == "lm_head.weight"), "transformers 5 does not store a tied head");
    let v4 = config("llama3_tied_v4");
    assert!(v4.get("rope_parameters").is_none() && v4["rope_scaling"]["type"] == "llama3" && v4["rope_theta"].is_number());
    assert!(names("llama3_tied_v4").iter().any(|n| n == "lm_head.weight"), "the transformers-4 copy stores the tied head");
    assert!(!names("distilbert").iter().any(|n| n == "vocab_projector.weight"));
    assert!(names("distilbert_v4").iter().any(|n| n == "vocab_projector.weight"));
    assert!(names("roberta").iter().any(|n| n == "lm_head.bias") && !names("roberta").iter().any(|n| n == "lm_head.decoder.weight"));
    let v4 = names("roberta_v4");
    assert!(v4.iter().any(|n| n == "lm_head.decoder.weight") && v4.iter().any(|n| n == "lm_head.decoder.bias") && !v4.iter().any(|n| n == "lm_head.bias"));
    assert_eq!(config("roberta_v4")["transformers_version"], "4.44.2");
    // Untied, HF adds the decoder's own bias, which differs from lm_head.bias here.
    let bytes = Folder::fixture("roberta_untied").weights.unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_ne!(st.tensor("lm_head.bias").unwrap().data(), st.tensor("lm_head.decoder.bias").unwrap().data());
    assert_eq!(config("roberta_untied")["tie_word_embeddings"], false);
    let qwen = config("qwen2");
    assert_eq!(qwen["model_type"], "qwen2");
    assert!(names("qwen2").iter().any(|n| n.ends_with("q_proj.bias")));
    assert!(!names("qwen2").iter().any(|n| n.ends_with("o_proj.bias")));
    let qwen3 = config("qwen3");
    assert_eq!(qwen3["attention_bias"], true);
    assert_ne!(qwen3["head_dim"].as_u64().unwrap(), qwen3["hidden_size"].as_u64().unwrap() / qwen3["num_attention_heads"].as_u64().unwrap());
    for tensor in ["q_norm.weight", "k_norm.weight", "o_proj.bias"] {
        assert!(names("qwen3").iter().any(|n| n.ends_with(tensor)), "qwen3 stores {tensor}");
    }
    let mistral = config("mistral");
    assert_eq!((mistral["num_key_value_heads"].as_u64(), mistral["sliding_window"].as_u64()), (Some(8), Some(4096)));
    assert!(!names("mistral").iter().any(|n| n.ends_with("bias")));
}

/// A null where transformers has a default only for a missing key (it fails on the null: checked with
/// transformers 5.24) is refused by name, not read as left out.
#[test]
fn nulls_transformers_fails_on_are_refused() {
    for (fixture, key) in [("stablelm", "layer_norm_eps"), ("cohere", "layer_norm_eps"), ("starcoder2", "norm_epsilon"), ("olmo", "head_dim"), ("cohere", "head_dim")] {
        let err = load_error(&edited(fixture, |c| {
            c.insert(key.into(), Value::Null);
        }));
        assert!(err.contains(key) && err.contains("is null"), "{fixture} {key}: {err}");
        // Left out, the same key takes its default and the model loads.
        Model::load(&edited(fixture, |c| {
            c.remove(key);
        }).files(), None)
        .unwrap_or_else(|e| panic!("{fixture} without {key}: {e}"));
    }
}

/// Keys a Qwen3 or Mistral config leaves out take their config classes' defaults, which are not
/// Llama's: Qwen3's head width is 128 (not hidden_size / heads) and its key/value heads 32;
/// Mistral's key/value heads are 8 and its window 4096 tokens, on every layer.
#[test]
fn qwen3_and_mistral_left_out_keys_take_their_defaults() {
    let err = load_error(&edited("qwen3", |c| {
        c.remove("head_dim");
    }));
    assert!(err.contains("implies [512, 64]"), "a Qwen3 config without head_dim means 128-wide heads (4 x 128 = 512): {err}");
    let err = load_error(&edited("qwen3", |c| {
        c.insert("head_dim".into(), Value::Null);
    }));
    assert!(err.contains("head_dim") && err.contains("null"), "{err}");
    let err = load_error(&edited("qwen3", |c| {
        c.remove("num_key_value_heads");
    }));
    assert!(err.contains("num_key_value_heads") && err.contains("32"), "{err}");

    // Mistral: the saved 8 and 4096 are its defaults, so taking them out changes nothing.
    let ids: Vec<u32> = (3..40).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap().forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("mistral"));
    let defaults = edited("mistral", |c| {
        c.remove("num_key_value_heads");
        c.remove("sliding_window");
        c.remove("max_position_embeddings");
    });
    assert_eq!(run(&defaults), plain);
    let Model::Llama(model) = Model::load(&defaults.files(), None).unwrap() else { unreachable!() };
    assert_eq!(model.sliding_layers(), (vec![0, 1], Some(4096)), "the window is every layer's");
    // Up to the window the numbers are those of no window; past it the oldest keys drop out
    // (exact against HF: the `mistral_window` fixture).
    let windowed = edited("mistral", |c| {
        c.insert("sliding_window".into(), serde_json::json!(16));
    });
    let logits = |folder: &Folder, n: usize| Model::load(&folder.files(), None).unwrap().forward(&Inputs { ids: &ids[..n], type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let v = load_model("mistral").info().vocab_size;
    assert_eq!(logits(&windowed, 16), logits(&Folder::fixture("mistral"), 16));
    let (past, full) = (logits(&windowed, 17), logits(&Folder::fixture("mistral"), 17));
    assert_eq!(past[..16 * v], full[..16 * v], "the first 16 positions see the same keys");
    assert_ne!(past[16 * v..], full[16 * v..], "the 17th no longer sees the first token");
}

/// The rotation's frequencies are HF's (`rotary_emb.inv_freq`), llama3 smoothing included, and
/// the page's angle table is position × frequency.
#[test]
fn rotary_frequencies_match_hf() {
    for name in ["llama_gqa", "llama3_tied", "llama3_tied_v4", "qwen2", "qwen3", "mistral"] {
        let model = load_model(name);
        assert_eq!(model.info().positions, Positions::Rotary, "{name}");
        let angles = model.rotary_angles(5).unwrap();
        let want = flat(&reference(if name == "llama3_tied_v4" { "llama3_tied" } else { name })["meta"]["inv_freq"]);
        let got: Vec<f32> = angles.inv_freq.clone();
        assert_close(&format!("{name}: inv_freq"), &got, &want, 1e-7);
        assert_eq!(angles.angles.len(), 5 * angles.n_pairs);
        for p in 0..5 {
            for i in 0..angles.n_pairs {
                assert_eq!(angles.angles[p * angles.n_pairs + i], p as f32 * angles.inv_freq[i]);
            }
        }
    }
    // The llama3 bands: some pairs kept, some divided by the factor, some blended.
    let scaled = load_model("llama3_tied").rotary_angles(1).unwrap();
    let plain = glassbox::models::rotary::Rotary::new(16, 10000.0, glassbox::models::rotary::RopeScaling::Default);
    let ratios: Vec<f32> = scaled.inv_freq.iter().zip(&plain.inv_freq).map(|(s, p)| p / s).collect();
    assert!((ratios[0] - 1.0).abs() < 1e-6, "fastest pair kept: {ratios:?}");
    assert!((ratios[7] - 8.0).abs() < 1e-4, "slowest pair divided by the factor: {ratios:?}");
    assert!(ratios.iter().any(|&r| r > 1.01 && r < 7.99), "a blended pair: {ratios:?}");
}

/// Grouped-query attention in the Q/K/V trace: query heads of one group read the same keys.
#[test]
fn qkv_trace_shows_which_kv_head_each_query_head_reads() {
    let model = load_model("llama_gqa");
    let ids = [1, 40, 41, 42, 43];
    let probe = Probe { qkv: Some(QkvRequest { kind: AttentionKind::Decoder, layer: 1 }), ..Default::default() };
    let out = model.forward_probed(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, &probe).unwrap();
    let trace = out.qkv.expect("trace");
    assert_eq!((trace.n_heads(), trace.n_kv_heads, trace.d_head()), (4, 2, 24));
    let head = |x: &ndarray::Array3<f32>, h: usize| x.index_axis(ndarray::Axis(0), h).to_owned();
    assert_eq!(head(&trace.k, 0), head(&trace.k, 1));
    assert_eq!(head(&trace.v, 2), head(&trace.v, 3));
    assert_ne!(head(&trace.k, 1), head(&trace.k, 2));
    assert_ne!(head(&trace.q, 0), head(&trace.q, 1));
}

/// q·k after rotation depends only on the offset: the same two vectors at (i, j) and (i+s, j+s).
#[test]
fn rotated_scores_depend_only_on_the_offset() {
    use glassbox::models::rotary::{RopeScaling, Rotary};
    for scaling in [RopeScaling::Default, RopeScaling::Llama3 { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 32.0 }] {
        let rope = Rotary::new(16, 10000.0, scaling);
        let q: Vec<f32> = (0..16).map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.3).collect();
        let k: Vec<f32> = (0..16).map(|i| ((i * 3 % 7) as f32 - 3.0) * 0.2).collect();
        let score = |qi: usize, kj: usize| {
            let (mut a, mut b) = (q.clone(), k.clone());
            rope.rotate(&mut a, 16, qi);
            rope.rotate(&mut b, 16, kj);
            a.iter().zip(&b).map(|(x, y)| x * y).sum::<f32>()
        };
        for (i, j, s) in [(5, 2, 10), (3, 3, 40), (9, 0, 17)] {
            assert!((score(i, j) - score(i + s, j + s)).abs() < 1e-4, "({i},{j}) vs shifted by {s}");
        }
        assert!((score(5, 2) - score(5, 4)).abs() > 1e-3, "a different offset gives a different score");
    }
}

/// Config keys that would change the numbers and are not implemented are refused by name.
#[test]
fn unsupported_config_keys_are_refused_by_name() {
    for ty in ["proportional", "ntk-by-parts"] {
        let msg = load_error(&edited("llama_gqa", |c| {
            c["rope_parameters"] = serde_json::json!({"rope_type": ty, "rope_theta": 500.0, "factor": 2.0});
        }));
        assert!(msg.contains("rope_type") && msg.contains(ty), "{ty}: {msg}");
        let msg = load_error(&edited("llama_gqa", |c| {
            c.remove("rope_parameters");
            c.insert("rope_scaling".into(), serde_json::json!({"type": ty, "factor": 2.0}));
        }));
        assert!(msg.contains("rope_scaling") && msg.contains(ty), "{ty} (4.x key): {msg}");
    }
    let msg = load_error(&edited("llama_gqa", |c| {
        c.insert("partial_rotary_factor".into(), serde_json::json!(0.5));
    }));
    assert!(msg.contains("partial_rotary_factor"), "{msg}");
    let msg = load_error(&edited("llama_gqa", |c| {
        c["hidden_act"] = serde_json::json!("gelu_10");
    }));
    assert!(msg.contains("hidden_act"), "{msg}");
    let msg = load_error(&edited("llama_gqa", |c| {
        c["num_key_value_heads"] = serde_json::json!(3);
    }));
    assert!(msg.contains("num_key_value_heads"), "{msg}");
    let msg = load_error(&edited("llama3_tied", |c| {
        c["rope_parameters"].as_object_mut().unwrap().remove("low_freq_factor");
    }));
    assert!(msg.contains("low_freq_factor"), "{msg}");
}

/// Keys that do not change the numbers are accepted, and rope_theta is honoured (changing it changes the output).
#[test]
fn harmless_keys_load_and_rope_theta_is_honoured() {
    let run = |folder: &Folder| {
        let model = Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}"));
        model.forward(&Inputs { ids: &[1, 50, 60, 70, 80, 90], type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().last_hidden_state
    };
    let plain = run(&Folder::fixture("llama_gqa"));
    assert_eq!(run(&edited("llama_gqa", |c| { c.insert("pretraining_tp".into(), serde_json::json!(2)); })), plain);
    // 4.x spelling of the same rotation.
    assert_eq!(
        run(&edited("llama_gqa", |c| {
            c.remove("rope_parameters");
            c.insert("rope_theta".into(), serde_json::json!(500.0));
            c.insert("rope_scaling".into(), Value::Null);
        })),
        plain
    );
    assert_ne!(run(&edited("llama_gqa", |c| { c["rope_parameters"]["rope_theta"] = serde_json::json!(10000.0); })), plain);
    // An empty rope_scaling object is falsy in HF's `rope_scaling or rope_parameters`: the saved
    // rope_parameters (theta 500 here, not the default 10000) still decide.
    assert_eq!(run(&edited("llama_gqa", |c| { c.insert("rope_scaling".into(), serde_json::json!({})); })), plain);
}

/// A llama config that carries `sliding_window` or `attention_chunk_size` (keys Llama does not
/// define): HF's forward pass attends to every key, its generation cache only to the last that
/// many, so the two agree up to the window. Glassbox runs up to it and refuses past it by name.
#[test]
fn llama_with_a_window_key_is_exact_up_to_it_and_refused_past_it() {
    let ids: Vec<u32> = (0..9).map(|i| 40 + i).collect();
    let plain = load_model("llama_gqa").forward(&Inputs { ids: &ids[..8], type_ids: None, decoder_ids: None }, Capture::NONE).unwrap();
    for key in ["sliding_window", "attention_chunk_size"] {
        let model = Model::load(&edited("llama_gqa", |c| { c.insert(key.into(), serde_json::json!(8)); }).files(), None).unwrap();
        let within = model.forward(&Inputs { ids: &ids[..8], type_ids: None, decoder_ids: None }, Capture::NONE).unwrap();
        assert_eq!(within.last_hidden_state, plain.last_hidden_state, "{key}: up to the window nothing changes");
        let err = model.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).expect_err("past the window").to_string();
        assert!(err.contains(key) && err.contains("window of 8"), "{key}: {err}");
        // Null is HF's None: no window.
        let none = Model::load(&edited("llama_gqa", |c| { c.insert(key.into(), Value::Null); }).files(), None).unwrap();
        assert!(none.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).is_ok(), "{key}: null");
    }
}

/// Qwen2's sliding window (exact against HF past it: the `qwen2_window` fixture) changes nothing
/// below the window and hides the oldest keys beyond it, on the sliding layers only. The layer kinds
/// come from `layer_types` when saved (transformers 5 saves them), else from max_window_layers.
#[test]
fn qwen2_sliding_layers_follow_the_config() {
    let ids: Vec<u32> = (5..15).collect();
    let run = |folder: &Folder, n: usize| {
        let probe = Probe { capture: Capture::PROBS, ..Default::default() };
        Model::load(&folder.files(), None).unwrap().forward_probed(&Inputs { ids: &ids[..n], type_ids: None, decoder_ids: None }, &probe).unwrap()
    };
    let folder = edited("qwen2", |c| {
        c.remove("layer_types");
        c["use_sliding_window"] = serde_json::json!(true);
        c["sliding_window"] = serde_json::json!(4);
        c["max_window_layers"] = serde_json::json!(1);
    });
    let plain = Folder::fixture("qwen2");
    assert_eq!(run(&folder, 4).last_hidden_state, run(&plain, 4).last_hidden_state, "up to the window nothing changes");
    let windowed = run(&folder, 10).decoder_attentions.unwrap();
    // Layer 0 (below max_window_layers) sees every earlier key; layers 1 and 2 the last 4.
    let visible = |layer: usize, query: usize| (0..10).filter(|&k| windowed[[layer, 0, query, k]] > 0.0).count();
    assert_eq!((visible(0, 9), visible(1, 9), visible(2, 9), visible(2, 3)), (10, 4, 4, 4));
    assert_ne!(run(&folder, 10).last_hidden_state, run(&plain, 10).last_hidden_state);
    // Saved layer kinds win, as in HF: all full here, so nothing slides.
    let saved = edited("qwen2", |c| {
        c["use_sliding_window"] = serde_json::json!(true);
        c["sliding_window"] = serde_json::json!(4);
    });
    assert_eq!(run(&saved, 10).last_hidden_state, run(&plain, 10).last_hidden_state);
}

/// Keys a Qwen2 config leaves out take Qwen2Config's defaults, which are not Llama's: a window of
/// 4096 when `use_sliding_window`, and 32 key/value heads (which this 4-head model cannot split
/// into, so it is refused by name as HF refuses it).
#[test]
fn qwen2_left_out_keys_take_qwen2_defaults() {
    let windowed = edited("qwen2", |c| {
        c.remove("layer_types");
        c.remove("sliding_window");
        c["use_sliding_window"] = serde_json::json!(true);
        c["max_window_layers"] = serde_json::json!(1);
        c["max_position_embeddings"] = serde_json::json!(8192);
    });
    let Model::Llama(model) = Model::load(&windowed.files(), None).unwrap() else { unreachable!() };
    assert_eq!(model.sliding_layers(), (vec![1, 2], Some(4096)));
    let err = load_error(&edited("qwen2", |c| {
        c.remove("num_key_value_heads");
    }));
    assert!(err.contains("num_key_value_heads") && err.contains("32"), "{err}");

    // With 64 query heads the left-out key loads as 32 key/value heads, and the model card says so;
    // an explicit null means one per query head (random weights: the shapes follow the config).
    let wide = |kv: Option<Value>| {
        let folder = edited("qwen2", |c| {
            c["num_attention_heads"] = serde_json::json!(64);
            c["hidden_size"] = serde_json::json!(128);
            match &kv {
                Some(v) => c["num_key_value_heads"] = v.clone(),
                None => drop(c.remove("num_key_value_heads")),
            }
        });
        let model = Model::load(&ModelFiles { weights: None, ..folder.files() }, Some(3)).expect("random weights");
        glassbox::card::BlockFacts::of(&model).n_kv_heads
    };
    assert_eq!(wide(None), 32, "left out: Qwen2Config's 32");
    assert_eq!(wide(Some(Value::Null)), 64, "null: the query heads");
    assert_eq!(wide(Some(serde_json::json!(8))), 8);
}

/// An untied checkpoint without its head has no logits and cannot generate, and says why.
#[test]
fn untied_without_lm_head_says_so() {
    let mut folder = Folder::fixture("llama_gqa");
    let bytes = folder.weights.take().unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView)> = st.tensors().into_iter().filter(|(n, _)| n != "lm_head.weight").collect();
    folder.weights = Some(safetensors::serialize(kept, None).unwrap());
    let model = Model::load(&folder.files(), None).unwrap();
    assert!(!model.info().has_lm_head);
    let out = model.forward(&Inputs { ids: &[1, 2, 3], type_ids: None, decoder_ids: None }, Capture::NONE).unwrap();
    assert!(out.logits.is_none());
    let err = model.start_decoding(&[]).unwrap_err().to_string();
    assert!(err.contains("lm_head"), "{err}");
}

/// RoBERTa: positions start after the pad id, 514 rows mean 512 tokens, and a literal pad token
/// reads the pad row without advancing the count (HF's `create_position_ids_from_input_ids`).
#[test]
fn roberta_positions_follow_the_pad_offset() {
    let model = load_model("roberta");
    let info = model.info();
    let cfg: Value = serde_json::from_slice(&Folder::fixture("roberta").config).unwrap();
    let pad = cfg["pad_token_id"].as_u64().unwrap() as usize;
    assert_eq!(info.max_positions, Some(cfg["max_position_embeddings"].as_u64().unwrap() as usize - pad - 1));
    let too_long = vec![5u32; info.max_positions.unwrap() + 1];
    let err = model.forward(&Inputs { ids: &too_long, type_ids: None, decoder_ids: None }, Capture::NONE).expect_err("refused").to_string();
    assert!(err.contains("positions"), "{err}");
    // The first position row is table row pad + 1.
    let bytes = Folder::fixture("roberta").weights.unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let table = st.tensor("roberta.embeddings.position_embeddings.weight").unwrap();
    let c = info.d_model;
    let row: Vec<f32> = table.data().chunks_exact(4).skip((pad + 1) * c).take(c).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    assert_eq!(model.position_vectors(glassbox::models::Stack::Encoder, 1).unwrap(), row);
    // A pad token in the middle reads the pad row, and the tokens after it keep counting from
    // where they were: token 60's embedding is the same with and without the pad before it.
    let probe = Probe { hidden_states: true, ..Default::default() };
    let embeddings = |ids: &[u32]| {
        let out = model.forward_probed(&Inputs { ids, type_ids: None, decoder_ids: None }, &probe).unwrap();
        out.encoder_hidden_states.unwrap().index_axis(ndarray::Axis(0), 0).iter().copied().collect::<Vec<f32>>()
    };
    let (with_pad, without) = (embeddings(&[0, 50, pad as u32, 60, 2]), embeddings(&[0, 50, 60, 2]));
    assert_eq!(&with_pad[3 * c..4 * c], &without[2 * c..3 * c]);
    // A config that leaves pad_token_id out takes RobertaConfig's 1 (as this fixture's); null is refused.
    assert_eq!(pad, 1);
    let left_out = Model::load(&edited("roberta", |c| {
        c.remove("pad_token_id");
    }).files(), None).expect("RobertaConfig's default pad id");
    let ids = [0u32, 50, 60, 2];
    let run = |m: &Model| m.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().last_hidden_state;
    assert_eq!(run(&left_out), run(&model));
    let err = load_error(&edited("roberta", |c| {
        c["pad_token_id"] = Value::Null;
    }));
    assert!(err.contains("pad_token_id"), "{err}");
}

/// The RoBERTa tokenizer: `<mask>` takes the space before it (lstrip), inside RoBERTa's template.
#[test]
fn roberta_tokenizer_mask_takes_the_space_before_it() {
    let folder = Folder::fixture("roberta");
    let session = Session::load(&folder.files(), None).unwrap();
    let enc = session.encode("The cat sat on the <mask>.").unwrap();
    let n = enc.tokens.len();
    assert_eq!(enc.tokens[0], "<s>");
    assert_eq!(enc.tokens[n - 1], "</s>");
    assert_eq!(enc.tokens[n - 4..n - 1], ["Ġthe", "<mask>", "."], "{:?}", enc.tokens);
}

/// BERT-family keys that change the computation and are not run are refused by name.
#[test]
fn bert_family_refusals() {
    let msg = load_error(&edited("roberta", |c| {
        c.insert("is_decoder".into(), Value::Bool(true));
    }));
    assert!(msg.contains("is_decoder"), "{msg}");
    let msg = load_error(&edited("bert_pooler", |c| {
        c.insert("is_decoder".into(), Value::Bool(true));
    }));
    assert!(msg.contains("is_decoder"), "{msg}");
    let msg = load_error(&edited("roberta", |c| {
        c.insert("add_cross_attention".into(), Value::Bool(true));
    }));
    assert!(msg.contains("add_cross_attention"), "{msg}");
    let msg = load_error(&edited("distilbert", |c| {
        c["activation"] = serde_json::json!("gelu_10");
    }));
    assert!(msg.contains("activation"), "{msg}");
    // Untied without a stored decoder: the message names the missing tensor.
    let msg = load_error(&edited("distilbert", |c| {
        c.insert("tie_word_embeddings".into(), Value::Bool(false));
    }));
    assert!(msg.contains("vocab_projector.weight"), "{msg}");
}

/// A tied BERT/RoBERTa/ALBERT/DeBERTa-v2 (legacy head) whose file stores both head biases with
/// different values: HF 5 leaves the pair untied (as for the weights) and the forward pass adds the
/// decoder's; equal, they tie.
#[test]
fn bert_tied_with_both_head_biases_stored_adds_the_decoder_s() {
    for (name, own, decoders) in [
        ("bert", "cls.predictions.bias", "cls.predictions.decoder.bias"),
        ("roberta", "lm_head.bias", "lm_head.decoder.bias"),
        ("albert", "predictions.bias", "predictions.decoder.bias"),
        ("deberta_v3", "cls.predictions.bias", "cls.predictions.decoder.bias"),
    ] {
        let ids = [0u32, 5, 6, 7, 2];
        let logits = |shift: f32| {
            let mut folder = Folder::fixture(name);
            let bytes = folder.weights.take().unwrap();
            let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
            let bias = st.tensor(own).unwrap();
            assert_eq!(bias.dtype(), safetensors::Dtype::F32, "{name}: the fixture stores f32");
            let shifted: Vec<u8> = bias.data().chunks(4).flat_map(|b| (f32::from_le_bytes(b.try_into().unwrap()) + shift).to_le_bytes()).collect();
            let mut views: Vec<(String, safetensors::tensor::TensorView)> = st.tensors();
            views.push((decoders.into(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, bias.shape().to_vec(), &shifted).unwrap()));
            folder.weights = Some(safetensors::serialize(views, None).unwrap());
            let model = Model::load(&folder.files(), None).unwrap();
            model.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap()
        };
        let (plain, equal, differs) = (load_model(name).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap(), logits(0.0), logits(1.0));
        assert_eq!(equal, plain, "{name}: an equal copy ties");
        let gap = differs.iter().zip(&plain).map(|(a, b)| a - b).fold(f32::INFINITY, f32::min);
        assert!((gap - 1.0).abs() < 1e-4, "{name}: the decoder's bias (+1) is added, smallest gap {gap}");
    }
}

/// DeBERTa-v2's legacy masked-LM head is tied as transformers 5 ties BERT's: untied in config.json,
/// the forward pass adds `cls.predictions.decoder.bias` (the head's own `bias` then goes unused), and
/// a tied config whose file stores a decoder that differs from the token table uses that decoder.
/// (Glassbox once always added the head's own bias and always tied a tied config: logits 0.3-1.9 off.)
#[test]
fn deberta_legacy_head_is_tied_as_transformers_5_ties_it() {
    let ids = [1u32, 5, 6, 7, 2];
    let logits = |tie: bool, edit: &dyn Fn(&[f32], &[f32]) -> Vec<(&'static str, Vec<f32>, Vec<usize>)>| {
        let mut folder = edited("deberta_v3", |c| {
            c.insert("tie_word_embeddings".into(), Value::Bool(tie));
        });
        let bytes = folder.weights.take().unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let floats = |name: &str| st.tensor(name).unwrap().data().chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect::<Vec<f32>>();
        let (table, bias) = (floats("deberta.embeddings.word_embeddings.weight"), floats("cls.predictions.bias"));
        let shape = st.tensor("deberta.embeddings.word_embeddings.weight").unwrap().shape().to_vec();
        let mut added: Vec<(&str, Vec<u8>, Vec<usize>)> = edit(&table, &bias)
            .into_iter()
            .map(|(n, v, sh)| (n, v.iter().flat_map(|x| x.to_le_bytes()).collect(), if sh.is_empty() { shape.clone() } else { sh }))
            .collect();
        let mut views: Vec<(String, safetensors::tensor::TensorView)> = st.tensors().into_iter().filter(|(n, _)| !added.iter().any(|(a, _, _)| a == n)).collect();
        for (n, data, sh) in added.iter_mut() {
            views.push((n.to_string(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, sh.clone(), data).unwrap()));
        }
        folder.weights = Some(safetensors::serialize(views, None).unwrap());
        Model::load(&folder.files(), None).unwrap().forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap()
    };
    let plain = load_model("deberta_v3").forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let v = plain.len() / ids.len();
    // Untied, as an HF-5 file of an untied head stores it: the decoder a copy of the table, its bias
    // the trained one, the head's own bias zeros.
    let untied = logits(false, &|table, bias| {
        vec![("cls.predictions.decoder.weight", table.to_vec(), vec![]), ("cls.predictions.decoder.bias", bias.to_vec(), vec![v]), ("cls.predictions.bias", vec![0.0; v], vec![v])]
    });
    let gap = untied.iter().zip(&plain).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(gap < 1e-5, "untied: the decoder's bias is added, not the head's zeros (largest gap {gap})");
    // Tied in config.json, but the file stores a decoder of twice the table: not tied.
    let doubled = logits(true, &|table, _| vec![("cls.predictions.decoder.weight", table.iter().map(|x| 2.0 * x).collect(), vec![])]);
    let gap = doubled.iter().zip(&plain).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(gap > 1e-2, "a stored decoder that differs from the table is used (largest gap {gap})");
}

/// transformers 5 renames GPT-NeoX's `embed_out` to `lm_head` as it loads, so a file that stores
/// the head as `lm_head.weight` is read as one with `embed_out.weight` (Glassbox once found no head
/// there: no logits untied, and a tied config ignored a stored head that differs from the table).
#[test]
fn gpt_neox_head_stored_as_lm_head_is_read() {
    let ids = [1u32, 5, 6, 7, 2];
    let mut folder = Folder::fixture("gpt_neox");
    let bytes = folder.weights.take().unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let views: Vec<(String, safetensors::tensor::TensorView)> = st.tensors().into_iter().map(|(n, v)| (if n == "embed_out.weight" { "lm_head.weight".to_string() } else { n }, v)).collect();
    assert!(views.iter().any(|(n, _)| n == "lm_head.weight"), "the fixture stores embed_out.weight");
    folder.weights = Some(safetensors::serialize(views, None).unwrap());
    let renamed = Model::load(&folder.files(), None).unwrap().forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits;
    let plain = load_model("gpt_neox").forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits;
    assert!(plain.is_some());
    assert_eq!(renamed, plain);
}

/// Old `gamma`/`beta` norm tensors: transformers renames them for modules named `LayerNorm` (BERT's)
/// and for no other, so a BERT file with them runs as with `weight`/`bias`, and a GPT-2 whose
/// `ln_f` has them is refused naming the tensor (HF would leave them unused, the norm at 1 and 0).
#[test]
fn old_gamma_beta_norms_only_under_layer_norm_names() {
    let renamed = |name: &str, from: &str| {
        let mut folder = Folder::fixture(name);
        let bytes = folder.weights.take().unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let views: Vec<(String, safetensors::tensor::TensorView)> = st
            .tensors()
            .into_iter()
            .map(|(n, v)| (n.replace(&format!("{from}.weight"), &format!("{from}.gamma")).replace(&format!("{from}.bias"), &format!("{from}.beta")), v))
            .collect();
        folder.weights = Some(safetensors::serialize(views, None).unwrap());
        Model::load(&folder.files(), None)
    };
    let ids = [0u32, 5, 6, 7, 2];
    let run = |m: &Model| m.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits;
    assert_eq!(run(&renamed("bert", "bert.embeddings.LayerNorm").unwrap()), run(&load_model("bert")));
    let err = renamed("gpt2", "transformer.ln_f").err().expect("refused").to_string();
    assert!(err.contains("ln_f.weight") && err.contains("ln_f.gamma"), "{err}");
}

/// A GPT-2 config without `n_positions` (or `n_ctx`) has GPT2Config's 1024 positions, so a file
/// whose table is another length is refused by its shape, naming the tensor.
#[test]
fn gpt2_left_out_positions_are_1024() {
    let folder = edited("gpt2", |c| {
        c.remove("n_positions");
        c.remove("n_ctx");
    });
    let random = Model::load(&ModelFiles { weights: None, ..folder.files() }, Some(1)).unwrap();
    assert_eq!(random.info().max_positions, Some(1024));
    let err = Model::load(&folder.files(), None).err().expect("a 1024-row table is expected").to_string();
    assert!(err.contains("wpe") && err.contains("1024"), "{err}");
}

/// DistilBERT's sinusoidal table: HF's values, and recomputed the same when a file leaves it out.
#[test]
fn distilbert_sinusoidal_table_is_hf_s() {
    let model = load_model("distilbert_sin");
    let c = model.info().d_model;
    let rows = model.position_vectors(glassbox::models::Stack::Encoder, 3).unwrap();
    assert!((rows[c] - 1f32.sin()).abs() < 1e-3 && (rows[c + 1] - 1f32.cos()).abs() < 1e-3);
    let mut folder = Folder::fixture("distilbert_sin");
    let bytes = folder.weights.take().unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView)> = st.tensors().into_iter().filter(|(n, _)| !n.contains("position_embeddings")).collect();
    folder.weights = Some(safetensors::serialize(kept, None).unwrap());
    let recomputed = Model::load(&folder.files(), None).unwrap();
    let again = recomputed.position_vectors(glassbox::models::Stack::Encoder, 3).unwrap();
    for (a, b) in rows.iter().zip(&again) {
        assert!((a - b).abs() < 1e-3, "stored (f16) {a} vs recomputed {b}");
    }
}

/// The logit lens of a Llama-style model: the final norm and head on any layer's state; on the
/// last state (already normed) it is the model's own logits.
#[test]
fn logit_lens_reads_every_layer_of_a_rotary_model() {
    let model = load_model("qwen2");
    let ids = [10u32, 20, 30, 40];
    let probe = Probe { hidden_states: true, ..Default::default() };
    let out = model.forward_probed(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, &probe).unwrap();
    let n = out.decoder_hidden_states.as_ref().unwrap().dim().0;
    assert_eq!(n, model.info().n_layers + 1);
    assert_eq!(model.logit_lens(&out, n - 1).unwrap(), out.logits.clone().unwrap());
    let first = model.logit_lens(&out, 1).unwrap();
    assert_eq!(first.len(), ids.len() * model.info().vocab_size);
    assert_ne!(Some(first), out.logits);
    let top = model.logit_lens_top(&out, 3).unwrap();
    assert_eq!((top.n_states, top.seq_len, top.k), (n, 4, 3));
}

/// The angle table is asked of rotary models only, within the position limit; rotary models have no
/// position vectors to add and say what to ask instead.
#[test]
fn rotary_angles_and_position_vectors_refuse_what_does_not_exist() {
    let gpt2 = Model::load(&Folder::fixture("gpt2").files(), None).unwrap();
    let err = gpt2.rotary_angles(4).expect_err("gpt2 has no rotation").to_string();
    assert!(err.contains("rotary"), "{err}");
    let llama = load_model("llama_gqa");
    let max = llama.info().max_positions.unwrap();
    assert!(llama.rotary_angles(max).is_ok());
    let err = llama.rotary_angles(max + 1).expect_err("beyond the limit").to_string();
    assert!(err.contains(&max.to_string()), "{err}");
    let err = llama.position_vectors(glassbox::models::Stack::Decoder, 4).expect_err("no vectors").to_string();
    assert!(err.contains("Ask for rotaryAngles instead"), "{err}");
}

/// A tied model whose file stores the table only under the head's name (`lm_head.weight`, as some
/// converters write it) loads as transformers 5 loads it: the table is the head. Checked against the
/// same model saved the usual way (logits bit for bit equal), for GPT-2 and the Llama family; untied,
/// the missing table is refused by name.
#[test]
fn a_tied_table_stored_only_as_the_head_is_the_table() {
    for (name, table) in [("gpt2", "transformer.wte.weight"), ("llama3_tied", "model.embed_tokens.weight")] {
        let usual = Folder::fixture(name);
        let bytes = usual.weights.clone().unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let renamed: Vec<(String, safetensors::tensor::TensorView)> = st
            .tensors()
            .into_iter()
            .filter(|(n, _)| n != "lm_head.weight")
            .map(|(n, t)| (if n == table { "lm_head.weight".to_string() } else { n }, t))
            .collect();
        assert!(renamed.iter().any(|(n, _)| n == "lm_head.weight"), "{name}: no {table} to rename");
        let mut head_only = Folder::fixture(name);
        head_only.weights = Some(safetensors::serialize(renamed, None).unwrap());
        let ids = [1u32, 5, 9, 2, 7];
        let run = |f: &Folder| Model::load(&f.files(), None).unwrap_or_else(|e| panic!("{name}: {e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap();
        let (want, got) = (run(&usual), run(&head_only));
        assert_eq!(got.logits.unwrap(), want.logits.unwrap(), "{name}: logits");

        let mut config: Value = serde_json::from_slice(&head_only.config).unwrap();
        config["tie_word_embeddings"] = Value::Bool(false);
        head_only.config = serde_json::to_vec(&config).unwrap();
        let short = table.rsplit_once("model.").or(table.split_once("transformer.")).map_or(table, |(_, t)| t);
        let err = Model::load(&head_only.files(), None).err().unwrap_or_else(|| panic!("{name} untied without its table loaded")).to_string();
        assert!(err.contains(short), "{name}: {err}");
    }
}

/// The model card says which blocks normalise each head's query and key (the page's facts and
/// block explanation read it): Qwen3 does, the other Llama-style families do not.
#[test]
fn the_card_names_qwen3_query_key_norm() {
    for (name, qk_norm) in [("qwen3", true), ("qwen2", false), ("mistral", false), ("llama_gqa", false)] {
        let facts = glassbox::card::BlockFacts::of(&load_model(name));
        assert_eq!(facts.qk_norm, qk_norm, "{name}");
        assert_eq!((facts.norm_placement, facts.norm_kind), ("pre", "RMSNorm"), "{name}");
    }
}

/// Window settings transformers cannot run are refused by name, and Mistral's
/// `attention_chunk_size` (no `sliding_window`) is the window of HF's generation cache, as for Llama:
/// exact up to it, refused past it.
#[test]
fn window_settings_transformers_cannot_run_are_refused() {
    let ids: Vec<u32> = (3..20).collect();
    let logits = |model: &Model, n: usize| model.forward(&Inputs { ids: &ids[..n], type_ids: None, decoder_ids: None }, Capture::NONE).map(|o| o.logits.unwrap());
    let chunked = Model::load(&edited("mistral", |c| {
        c.insert("sliding_window".into(), Value::Null);
        c.insert("attention_chunk_size".into(), serde_json::json!(4));
    }).files(), None).unwrap();
    assert_eq!(logits(&chunked, 4).unwrap(), logits(&load_model("mistral"), 4).unwrap());
    let err = logits(&chunked, 5).unwrap_err().to_string();
    assert!(err.contains("window of 4") && err.contains("attention_chunk_size"), "{err}");

    let cases: [(&str, Box<dyn Fn(&mut serde_json::Map<String, Value>)>, &str); 5] = [
        ("mistral", Box::new(|c| { c.insert("sliding_window".into(), serde_json::json!(0)); }), "sliding_window"),
        ("qwen3", Box::new(|c| { c.insert("use_sliding_window".into(), serde_json::json!(true)); c.insert("sliding_window".into(), serde_json::json!(0)); c.remove("layer_types"); }), "sliding_window"),
        ("qwen3", Box::new(|c| { c.insert("layer_types".into(), serde_json::json!(["sliding_attention", "full_attention"])); c.insert("use_sliding_window".into(), serde_json::json!(false)); }), "layer_types"),
        ("mistral", Box::new(|c| { c.insert("layer_types".into(), serde_json::json!(["full_attention", "full_attention"])); }), "Ministral"),
        ("qwen2", Box::new(|c| { c.insert("max_window_layers".into(), Value::Null); }), "max_window_layers"),
    ];
    for (name, edit, named) in cases {
        let err = load_error(&edited(name, edit));
        assert!(err.contains(named), "{name}: {err}");
    }
}

/// Gemma 3's rotations are HF's, one per layer type: the full layers' base with linear scaling,
/// the sliding layers' own base (`rope_local_base_freq` in the transformers-4 config).
#[test]
fn gemma3_rotations_per_layer_type_match_hf() {
    let meta = &reference("gemma3")["meta"]["inv_freq"];
    for name in ["gemma3", "gemma3_v4"] {
        let Model::Llama(model) = load_model(name) else { panic!("{name} loads as a Llama-style model") };
        assert_close(&format!("{name}: full layers' inv_freq"), &model.rotary.inv_freq, &flat(&meta["full_attention"]), 1e-7);
        let local = model.local_rotary.as_ref().expect("a rotation for the sliding layers");
        assert_close(&format!("{name}: sliding layers' inv_freq"), &local.inv_freq, &flat(&meta["sliding_attention"]), 1e-7);
        assert_eq!(model.rotary.scaling, glassbox::models::rotary::RopeScaling::Linear { factor: 2.0 }, "{name}");
    }
}

/// Keys a Gemma 3 config leaves out take Gemma3TextConfig's defaults: 256-wide heads, 4 key/value
/// heads, tied embeddings, a 4096-key window on five layers in six.
#[test]
fn gemma3_left_out_keys_take_their_defaults() {
    let err = load_error(&edited("gemma3", |c| {
        c.remove("head_dim");
    }));
    assert!(err.contains("implies [1024, 64]"), "a Gemma 3 config without head_dim means 256-wide heads (4 x 256): {err}");
    let err = load_error(&edited("gemma3", |c| {
        c.remove("num_key_value_heads");
    }));
    assert!(err.contains("implies [1536, 64]") || err.contains("[96, 64]"), "4 key/value heads of 24: {err}");
    // Tied when left out: the fixture stores no head, so it loads with logits only if tied.
    let untold = edited("gemma3", |c| {
        c.remove("tie_word_embeddings");
    });
    let ids: Vec<u32> = (2..30).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap().forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap();
    assert_eq!(run(&untold).logits, run(&Folder::fixture("gemma3")).logits);
    // Without layer_types, five layers in six slide (here 0, 1, 2 of 3), each with the window.
    let Model::Llama(model) = Model::load(&edited("gemma3", |c| {
        c.remove("layer_types");
        c.remove("sliding_window");
    }).files(), None).unwrap() else { unreachable!() };
    assert_eq!(model.sliding_layers(), (vec![0, 1, 2], Some(4096)));
}

/// What Gemma 3 cannot run, or what transformers refuses, is refused by name.
#[test]
fn gemma3_refusals_name_the_key() {
    let cases: Vec<(Box<dyn Fn(&mut serde_json::Map<String, Value>)>, &str)> = vec![
        (Box::new(|c| { c.insert("use_bidirectional_attention".into(), serde_json::json!(true)); }), "use_bidirectional_attention"),
        (Box::new(|c| { c.remove("layer_types"); c.insert("sliding_window_pattern".into(), serde_json::json!(0)); }), "sliding_window_pattern"),
        (Box::new(|c| { c.insert("rope_parameters".into(), serde_json::json!({"rope_type": "default", "rope_theta": 10000.0})); }), "rope_parameters"),
        (Box::new(|c| { c.insert("query_pre_attn_scalar".into(), serde_json::json!(0)); }), "query_pre_attn_scalar"),
        (Box::new(|c| { c.insert("final_logit_softcapping".into(), serde_json::json!(-1.0)); }), "final_logit_softcapping"),
        (Box::new(|c| { c.insert("sliding_window".into(), serde_json::json!(0)); }), "sliding_window"),
        (Box::new(|c| { c.insert("sliding_window".into(), Value::Null); }), "layer_types"),
        (Box::new(|c| { c.insert("hidden_activation".into(), serde_json::json!("gelu_10")); }), "hidden_activation"),
    ];
    for (edit, key) in cases {
        let err = load_error(&edited("gemma3", edit));
        assert!(err.contains(key), "expected a refusal naming {key}: {err}");
    }
    // The other families still refuse Gemma's keys.
    let err = load_error(&edited("llama_gqa", |c| {
        c.insert("query_pre_attn_scalar".into(), serde_json::json!(256));
    }));
    assert!(err.contains("query_pre_attn_scalar"), "{err}");
}

/// The card tells the page what Gemma 3 does differently: four norms per layer, the scaled
/// embeddings, the capped logits, the sliding layers and the activation it reads.
#[test]
fn the_card_names_gemma3s_differences() {
    let facts = glassbox::card::BlockFacts::of(&load_model("gemma3"));
    assert!(facts.qk_norm && facts.output_norms && facts.gated_ffn && facts.tied_embeddings);
    assert_eq!(facts.embedding_scale, 8.0);
    assert_eq!(facts.logit_softcap, Some(2.5));
    assert_eq!((facts.sliding_layers.clone(), facts.sliding_window), (vec![0, 2], Some(8)));
    assert_eq!(facts.activation, "gelu_pytorch_tanh");
    let llama = glassbox::card::BlockFacts::of(&load_model("llama_gqa"));
    assert!(!llama.output_norms && llama.logit_softcap.is_none() && llama.sliding_layers.is_empty());
    assert_eq!(llama.embedding_scale, 1.0);
}

/// XLM-RoBERTa's tokenizer class rebuilds the file's pipeline (the fixture's tokenizer.json is laid
/// out as XLM-R's converter writes it; the cases above pass only with the rebuild) and reads
/// tokenizer_config.json: `add_prefix_space` false drops the `▁` before words, and its template
/// takes `bos_token` and `eos_token` from the config. transformers 5.24's ids and offsets for each
/// edit are in the fixture's reference.json (`meta.config_variants`).
#[test]
fn xlm_roberta_tokenizer_config_edits_match_hf() {
    let variants = reference("xlm_roberta")["meta"]["config_variants"].as_array().expect("config_variants").clone();
    assert!(variants.len() >= 6);
    for v in variants {
        let mut folder = Folder::fixture("xlm_roberta");
        let mut cfg: Value = serde_json::from_slice(folder.tokenizer_config.as_ref().unwrap()).unwrap();
        for (key, value) in v["edit"].as_object().unwrap() {
            cfg[key] = value.clone();
        }
        folder.tokenizer_config = Some(serde_json::to_vec(&cfg).unwrap());
        let session = Session::load(&folder.files(), None).unwrap();
        let text = v["text"].as_str().unwrap();
        let enc = session.encode(text).unwrap();
        assert_eq!(enc.ids, ids(&v["input_ids"]), "{} on {text:?}", v["edit"]);
        let offsets: Vec<(usize, usize)> = v["offsets"].as_array().unwrap().iter().map(|o| (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize)).collect();
        assert_eq!(enc.offsets, offsets, "{} on {text:?}", v["edit"]);
    }
}

/// Gemma 2's caps are on when the config leaves them out (Gemma2Config: 50 on the scores, 30 on the
/// logits) and off when it says null; its layers alternate, sliding first; Gemma 1 leaves out 16
/// key/value heads, and neither caps nor slides.
#[test]
fn gemma1_and_gemma2_defaults() {
    let Model::Llama(m) = Model::load(&edited("gemma2", |c| {
        c.remove("attn_logit_softcapping");
        c.remove("final_logit_softcapping");
        c.remove("layer_types");
    }).files(), None).unwrap() else { unreachable!() };
    assert_eq!((m.score_cap(), m.logit_cap()), (Some(50.0), Some(30.0)));
    assert_eq!(m.sliding_layers(), (vec![0, 2], Some(8)));
    let Model::Llama(m) = Model::load(&edited("gemma2", |c| {
        c.insert("attn_logit_softcapping".into(), Value::Null);
        c.insert("final_logit_softcapping".into(), Value::Null);
    }).files(), None).unwrap() else { unreachable!() };
    assert_eq!((m.score_cap(), m.logit_cap()), (None, None));
    let err = load_error(&edited("gemma", |c| {
        c.remove("num_key_value_heads");
    }));
    assert!(err.contains("num_key_value_heads") && err.contains("is 16"), "GemmaConfig's 16 key/value heads: {err}");
    let Model::Llama(m) = load_model("gemma") else { unreachable!() };
    assert_eq!((m.score_cap(), m.logit_cap(), m.query_pre_attn_scalar(), m.has_output_norms()), (None, None, None, false));
    assert_eq!(m.activation_name(), "gelu_pytorch_tanh", "config.json says \"gelu\"; GemmaConfig runs (and the card names) the tanh GELU");
    for (name, key) in [("gemma", "final_logit_softcapping"), ("gemma", "query_pre_attn_scalar")] {
        let err = load_error(&edited(name, |c| {
            c.insert(key.into(), serde_json::json!(30.0));
        }));
        assert!(err.contains(key) && err.contains("gemma2"), "{err}");
    }
    let err = load_error(&edited("gemma2", |c| {
        c.insert("attn_logit_softcapping".into(), serde_json::json!(0.0));
    }));
    assert!(err.contains("attn_logit_softcapping"), "{err}");
}

/// Granite, OLMo 2 and SmolLM3: the fixtures carry what makes each differ from Llama, and the card
/// (what the page's facts and block view quote) names it.
#[test]
fn granite_olmo2_smollm3_fixtures_and_cards() {
    let config = |name: &str| -> Value { serde_json::from_slice(&Folder::fixture(name).config).unwrap() };
    let names = |name: &str| -> Vec<String> {
        let bytes = Folder::fixture(name).weights.expect("weights");
        safetensors::SafeTensors::deserialize(&bytes).unwrap().names().into_iter().map(String::from).collect()
    };
    let granite = config("granite");
    for key in ["embedding_multiplier", "residual_multiplier", "attention_multiplier", "logits_scaling"] {
        assert!(granite[key].as_f64().is_some_and(|m| m != 1.0), "granite's {key} is not 1");
    }
    let facts = glassbox::card::BlockFacts::of(&load_model("granite"));
    assert_eq!((facts.embedding_scale, facts.residual_scale, facts.score_scale, facts.logits_divisor), (3.0, 0.4, Some(0.09), Some(2.5)));
    assert_eq!(facts.norm_placement, "pre");

    let olmo = names("olmo2");
    assert!(!olmo.iter().any(|n| n.contains("input_layernorm")), "OLMo 2 has no input norms");
    assert!(olmo.iter().any(|n| n.ends_with("post_feedforward_layernorm.weight")));
    let facts = glassbox::card::BlockFacts::of(&load_model("olmo2"));
    assert_eq!((facts.norm_placement, facts.output_norms, facts.qk_norm, facts.qk_norm_per_head), ("output", true, true, false));
    assert_eq!((facts.residual_scale, facts.score_scale, facts.logits_divisor), (1.0, None, None));

    let smol = config("smollm3");
    assert_eq!(smol["no_rope_layers"], serde_json::json!([1, 0, 1, 0]));
    let facts = glassbox::card::BlockFacts::of(&load_model("smollm3"));
    assert_eq!(facts.unrotated_layers, vec![1, 3]);
    assert_eq!((facts.sliding_layers.clone(), facts.sliding_window), (vec![1, 3], Some(6)));
    assert!(facts.tied_embeddings && !facts.qk_norm);
    let llama = glassbox::card::BlockFacts::of(&load_model("llama_gqa"));
    assert!(llama.unrotated_layers.is_empty() && llama.score_scale.is_none() && llama.residual_scale == 1.0);
}

/// Keys these configs leave out take their classes' defaults, and each family's own keys change the
/// numbers (so a loader that ignored them would fail here, not only on the fixtures).
#[test]
fn granite_olmo2_smollm3_defaults_and_keys_that_bite() {
    let ids: Vec<u32> = (3..30).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    // Granite: every multiplier left out is 1, which is not what the fixture says.
    let plain = run(&Folder::fixture("granite"));
    for key in ["embedding_multiplier", "residual_multiplier", "attention_multiplier", "logits_scaling"] {
        assert_ne!(run(&edited("granite", |c| { c.remove(key); })), plain, "granite without {key}");
        let ones = edited("granite", |c| { c.insert(key.into(), serde_json::json!(1.0)); });
        assert_eq!(run(&edited("granite", |c| { c.remove(key); })), run(&ones), "{key} left out is 1");
    }
    // Granite's logits are the others divided by logits_scaling, exactly.
    let doubled = run(&edited("granite", |c| { c.insert("logits_scaling".into(), serde_json::json!(5.0)); }));
    for (a, b) in plain.iter().zip(&doubled) {
        assert!((a / 2.0 - b).abs() <= 1e-6 * a.abs().max(1.0), "logits_scaling 5 halves the logits of 2.5: {a} {b}");
    }
    // The same keys in a llama config are refused by name.
    let err = load_error(&edited("llama_gqa", |c| { c.insert("residual_multiplier".into(), serde_json::json!(0.5)); }));
    assert!(err.contains("residual_multiplier"), "{err}");
    for (key, value) in [("logits_scaling", serde_json::json!(0.0)), ("attention_multiplier", serde_json::json!(1e300))] {
        let err = load_error(&edited("granite", |c| { c.insert(key.into(), value.clone()); }));
        assert!(err.contains(key), "{err}");
    }

    // OLMo 2: rms_norm_eps left out is Olmo2Config's 1e-5 (the fixture saved it), not Llama's 1e-6.
    let plain = run(&Folder::fixture("olmo2"));
    assert_eq!(config_f64("olmo2", "rms_norm_eps"), 1e-5);
    assert_eq!(run(&edited("olmo2", |c| { c.remove("rms_norm_eps"); })), plain);
    assert_ne!(run(&edited("olmo2", |c| { c.insert("rms_norm_eps".into(), serde_json::json!(1e-6)); })), plain);

    // SmolLM3: no_rope_layers left out follows no_rope_layer_interval (2 here: the same layers);
    // both left out, every fourth layer; an all-rotating list changes the numbers.
    let plain = run(&Folder::fixture("smollm3"));
    assert_eq!(run(&edited("smollm3", |c| { c.remove("no_rope_layers"); c.remove("layer_types"); })), plain);
    assert_ne!(run(&edited("smollm3", |c| { c.insert("no_rope_layers".into(), serde_json::json!([1, 1, 1, 1])); c.remove("layer_types"); })), plain);
    // (Random weights: 4 key/value heads no longer fit the file's.)
    let mut defaults = edited("smollm3", |c| {
        c.remove("no_rope_layers");
        c.remove("no_rope_layer_interval");
        c.remove("layer_types");
        c.remove("num_key_value_heads");
        c.remove("rope_parameters");
    });
    defaults.weights = None;
    let Model::Llama(m) = Model::load(&defaults.files(), Some(7)).unwrap_or_else(|e| panic!("{e}")) else { unreachable!() };
    assert_eq!(m.unrotated_layers(), vec![3], "every fourth layer");
    assert_eq!(m.sliding_layers(), (vec![3], Some(6)), "the unrotated layers slide when use_sliding_window");
    assert_eq!(m.n_kv_heads, 4, "SmolLM3Config's 4 key/value heads");
    assert_eq!(m.rotary_angles(2).inv_freq[0], 1.0);
    assert!((m.rotary_angles(2).inv_freq[1] - 2e6f32.powf(-2.0 / 16.0)).abs() < 1e-9, "base 2,000,000 when the config gives none");
    for (edit, key) in [
        (serde_json::json!({"no_rope_layers": [1, 0]}), "no_rope_layers"),
        (serde_json::json!({"no_rope_layers": [1, "x", 1, 1]}), "no_rope_layers"),
        (serde_json::json!({"no_rope_layers": null, "no_rope_layer_interval": 0, "layer_types": null}), "no_rope_layer_interval"),
    ] {
        let err = load_error(&edited("smollm3", |c| {
            for (k, v) in edit.as_object().unwrap() {
                c.insert(k.clone(), v.clone());
            }
        }));
        assert!(err.contains(key), "{key}: {err}");
    }
}

/// Defaults of config classes whose values transformers 5 changed or gave their own: a Cohere config
/// without a rotary base turns at 500,000 (CohereConfig's `default_theta`), and a SmolLM3 config
/// without `tie_word_embeddings` ties its head (SmolLM3Config's default), as `AutoConfig` fills them in.
#[test]
fn cohere_base_and_smollm3_tie_left_out_take_their_classes_defaults() {
    let ids: Vec<u32> = (3..30).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits;
    let with_theta = |theta: f64| edited("cohere", |c| { c["rope_parameters"]["rope_theta"] = serde_json::json!(theta); });
    let left_out = run(&edited("cohere", |c| { c.remove("rope_parameters"); c.remove("rope_theta"); }));
    assert_eq!(left_out, run(&with_theta(500_000.0)), "a Cohere config with no base turns at 500,000");
    assert_ne!(left_out, run(&with_theta(10_000.0)), "not at the 10,000 of other families");
    // The fixture stores no lm_head: tied or untied is the difference between logits and none.
    let plain = run(&Folder::fixture("smollm3"));
    assert!(plain.is_some(), "the fixture ties its head");
    assert_eq!(run(&edited("smollm3", |c| { c.remove("tie_word_embeddings"); })), plain, "left out, SmolLM3 ties");
}

fn config_f64(name: &str, key: &str) -> f64 {
    let cfg: Value = serde_json::from_slice(&Folder::fixture(name).config).unwrap();
    cfg[key].as_f64().unwrap_or_else(|| panic!("{name}: {key}"))
}

/// ModernBERT: the fixture's band layers and card; keys left out take `ModernBertConfig`'s defaults
/// (the transformers-4 keys included), and each key that changes the numbers does.
#[test]
fn modernbert_keys_defaults_and_card() {
    let facts = glassbox::card::BlockFacts::of(&load_model("modernbert"));
    assert_eq!((facts.norm_placement, facts.norm_kind, facts.embedding_norm, facts.final_norm), ("pre", "LayerNorm", true, true));
    assert!(facts.gated_ffn && facts.tied_embeddings && facts.first_attention_unnormed);
    assert_eq!((facts.band_layers.clone(), facts.band_reach), (vec![1, 2], Some(4)));
    assert_eq!(facts.head_bias, Some(true));
    assert!(facts.sliding_layers.is_empty());

    let ids: Vec<u32> = (5..40).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap();
    let plain = run(&Folder::fixture("modernbert"));
    let logits = |o: &Outputs| o.logits.clone().unwrap();
    // The band bites; a band wider than the text is no band at all: with both rotations alike, it
    // is full attention.
    assert!(logits(&run(&edited("modernbert", |c| { c.insert("local_attention".into(), serde_json::json!(16)); }))) != logits(&plain), "local_attention");
    let wide = run(&edited("modernbert", |c| {
        c.insert("local_attention".into(), serde_json::json!(200));
        c["rope_parameters"]["sliding_attention"]["rope_theta"] = serde_json::json!(500.0);
    }));
    let full = run(&edited("modernbert", |c| { c.insert("layer_types".into(), serde_json::json!(["full_attention", "full_attention", "full_attention"])); }));
    assert!(logits(&wide) == logits(&full), "a band wider than the text is full attention");
    // transformers 4's keys: global_attn_every_n_layers for the layer types, global/local_rope_theta for the bases.
    let v4 = run(&edited("modernbert", |c| {
        c.remove("layer_types");
        c.remove("rope_parameters");
        c.insert("global_rope_theta".into(), serde_json::json!(500.0));
        c.insert("local_rope_theta".into(), serde_json::json!(100.0));
    }));
    assert!(logits(&v4) == logits(&plain), "transformers 4's keys read as 5's");
    // Left out, the bases are 160,000 and 10,000: other numbers.
    assert!(logits(&run(&edited("modernbert", |c| { c.remove("rope_parameters"); }))) != logits(&plain), "default bases");
    let Model::ModernBert(m) = load_model("modernbert") else { panic!("not a ModernBERT") };
    assert_eq!(m.rotary.inv_freq, flat(&reference("modernbert")["meta"]["inv_freq"]["full_attention"]).iter().map(|&x| x as f32).collect::<Vec<_>>());
    assert_eq!(m.local_rotary.inv_freq, flat(&reference("modernbert")["meta"]["inv_freq"]["sliding_attention"]).iter().map(|&x| x as f32).collect::<Vec<_>>());
    // The decoder's bias is read only with decoder_bias.
    assert!(logits(&run(&edited("modernbert", |c| { c.insert("decoder_bias".into(), serde_json::json!(false)); }))) != logits(&plain), "decoder_bias");
    // What transformers refuses, refused by name.
    for (edit, key) in [
        (serde_json::json!({"layer_types": ["full_attention"]}), "layer_types"),
        (serde_json::json!({"layer_types": ["full_attention", "chunked_attention", "full_attention"]}), "layer_types"),
        (serde_json::json!({"layer_types": null, "global_attn_every_n_layers": 0}), "global_attn_every_n_layers"),
        (serde_json::json!({"num_attention_heads": 5}), "num_attention_heads"),
        (serde_json::json!({"rope_parameters": {"rope_type": "default", "rope_theta": 500.0}}), "rope_parameters"),
        (serde_json::json!({"hidden_activation": "gelu_10"}), "hidden_activation"),
    ] {
        let err = load_error(&edited("modernbert", |c| {
            for (k, v) in edit.as_object().unwrap() {
                c.insert(k.clone(), v.clone());
            }
        }));
        assert!(err.contains(key), "{key}: {err}");
    }
    // A band of 0 or 1 (local_attention / 2 = 0) leaves each token itself alone, as HF's mask does.
    let alone = Model::load(&edited("modernbert", |c| { c.insert("local_attention".into(), serde_json::json!(1)); }).files(), None).unwrap();
    let out = alone.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::PROBS).unwrap();
    let maps = out.encoder_attentions.unwrap();
    let t = ids.len();
    for (h, i) in [(0, 0), (1, 7), (3, t - 1)] {
        assert_eq!(maps[[1, h, i, i]], 1.0, "band layer 2, head {h}, token {i} sees only itself");
    }
    // The logit lens of the last state is the head's logits; of an earlier state, the final norm first.
    let model = load_model("modernbert");
    let probe = Probe { hidden_states: true, ..Default::default() };
    let out = model.forward_probed(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, &probe).unwrap();
    let states = out.encoder_hidden_states.unwrap();
    let last = model.family().lens(states.index_axis(ndarray::Axis(0), 3), true).unwrap();
    assert!(last.as_slice().unwrap() == logits(&plain).as_slice(), "the lens of the last state is the logits");
}

/// ALBERT's tokenizer class rebuilds the file's pipeline and reads tokenizer_config.json's
/// `do_lower_case`, `keep_accents` and `add_prefix_space`, as transformers 5.24 does (its ids and
/// offsets for each edit are in the fixture's reference.json, `meta.config_variants`).
#[test]
fn albert_tokenizer_config_edits_match_hf() {
    tokenizer_config_edits_match_hf("albert", 8);
}

/// DebertaV2Tokenizer reads `do_lower_case`, `split_by_punct` and `add_prefix_space` (first, not
/// always, when false), as transformers 5.24 does.
#[test]
fn deberta_tokenizer_config_edits_match_hf() {
    tokenizer_config_edits_match_hf("deberta_v3", 6);
}

fn tokenizer_config_edits_match_hf(name: &str, at_least: usize) {
    let variants = reference(name)["meta"]["config_variants"].as_array().expect("config_variants").clone();
    assert!(variants.len() >= at_least);
    for v in variants {
        let mut folder = Folder::fixture(name);
        let mut cfg: Value = serde_json::from_slice(folder.tokenizer_config.as_ref().unwrap()).unwrap();
        for (key, value) in v["edit"].as_object().unwrap() {
            cfg[key] = value.clone();
        }
        folder.tokenizer_config = Some(serde_json::to_vec(&cfg).unwrap());
        let session = Session::load(&folder.files(), None).unwrap();
        let text = v["text"].as_str().unwrap();
        let enc = session.encode(text).unwrap();
        assert_eq!(enc.ids, ids(&v["input_ids"]), "{} on {text:?}", v["edit"]);
        let offsets: Vec<(usize, usize)> = v["offsets"].as_array().unwrap().iter().map(|o| (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize)).collect();
        assert_eq!(enc.offsets, offsets, "{} on {text:?}", v["edit"]);
    }
}

/// DeBERTa's log buckets against HF's `make_log_bucket_position` for every distance of a 1,024-token
/// text, at deberta-v3's settings (256 buckets over 512 positions) and three others, one of them a
/// config whose log scale runs backwards (16 buckets over 6 positions: far distances fold back).
#[test]
fn deberta_log_buckets_match_hf() {
    let meta = &reference("deberta_v3")["meta"]["log_buckets"];
    let first = meta["relative"][0].as_i64().unwrap();
    let settings = meta["buckets"].as_object().unwrap();
    assert_eq!(settings.len(), 4);
    for (key, want) in settings {
        let (b, m) = key.split_once(',').unwrap();
        let (b, m): (i64, i64) = (b.parse().unwrap(), m.parse().unwrap());
        let want: Vec<i64> = want.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        let got: Vec<i64> = (0..want.len() as i64).map(|n| glassbox::models::deberta::log_bucket(first + n, b, m)).collect();
        assert_eq!(got, want, "buckets {b} over {m} positions");
    }
}

/// A config whose log buckets end before they begin (`max_relative_positions` below half of
/// `position_buckets`) folds far distances back towards the middle of the table, as transformers
/// computes it: the rows a text reads are then not in order of distance, and the forward pass must
/// still project every row it reads (it once assumed the farthest distances read the end rows).
#[test]
fn deberta_buckets_that_fold_back_still_run() {
    let folder = edited("deberta_v3", |c| {
        c["position_buckets"] = serde_json::json!(16);
        c["max_relative_positions"] = serde_json::json!(6);
    });
    let model = Model::load(&ModelFiles { weights: None, ..folder.files() }, Some(3)).expect("random weights");
    let glassbox::models::Model::Deberta(m) = &model else { panic!("not DeBERTa") };
    let scheme = m.relative_scheme().unwrap();
    assert!(scheme.row(60, 0) < scheme.row(20, 0) && scheme.row(20, 0) < scheme.row(8, 0), "far distances fold back: {} {} {}", scheme.row(60, 0), scheme.row(20, 0), scheme.row(8, 0));
    let ids: Vec<u32> = (5..66).collect();
    let out = model.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::PROBS).expect("runs");
    let attention = out.encoder_attentions.expect("captured");
    let t = ids.len();
    for (n, row) in attention.as_slice().unwrap().chunks(t).enumerate() {
        let sum: f32 = row.iter().sum();
        assert!(row.iter().all(|w| w.is_finite()) && (sum - 1.0).abs() < 1e-4, "row {n}: sum {sum}");
    }
}

/// The card's parameter count is transformers' `model.parameters()` count for every fixture
/// (`tests/fixtures/models/param_counts.json`, written by `scripts/fixtures/param_counts.py`): frozen
/// sinusoidal tables count, buffers such as BART's `final_logits_bias` do not, an untied head counts.
#[test]
fn parameter_counts_match_hf_for_every_fixture() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models/param_counts.json");
    let counts: serde_json::Map<String, Value> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(counts.len() >= 70, "{} fixtures counted", counts.len());
    let wrong: Vec<String> = counts
        .iter()
        .filter_map(|(name, want)| {
            let got = load_model(name).info().n_params as u64;
            (got != want.as_u64().unwrap()).then(|| format!("{name}: {got} against transformers' {want}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The card's parameter count is transformers' `model.parameters()` count, for every DeBERTa shape and head.
#[test]
fn deberta_parameter_counts_match_hf() {
    for name in ["deberta_v3", "deberta_v2", "deberta_c2p", "deberta_nli", "deberta_ner", "deberta_qa"] {
        let want = reference(name)["meta"]["n_params"].as_u64().unwrap_or_else(|| panic!("{name}: no n_params in meta"));
        assert_eq!(load_model(name).info().n_params as u64, want, "{name}");
    }
}

/// A hidden token (the interventions' token mask) as transformers hides padding in DeBERTa: no query
/// reads it, its own row attends to every key alike, its embedding is zeroed (and, beside layer 0,
/// the convolution's row): every attention map and state equal to HF's with that attention mask.
#[test]
fn deberta_hidden_tokens_match_hf_attention_mask() {
    for name in ["deberta_v3", "deberta_v2", "deberta_c2p"] {
        let model = load_model(name);
        let masked = &reference(name)["meta"]["masked"];
        let case = &cases(name)[masked["case"].as_u64().unwrap() as usize];
        let token_mask: Vec<u8> = flat(&masked["attention_mask"]).iter().map(|&v| v as u8).collect();
        assert!(token_mask.contains(&0));
        let probe = Probe {
            capture: Capture::PROBS,
            interventions: glassbox::models::Interventions { token_mask: Some(token_mask), ..Default::default() },
            ..Default::default()
        };
        let (input_ids, type_ids) = (ids(&case["input_ids"]), ids(&case["token_type_ids"]));
        let out = model.forward_probed(&Inputs { ids: &input_ids, type_ids: Some(&type_ids), decoder_ids: None }, &probe).unwrap();
        let attention = out.encoder_attentions.unwrap();
        assert_close(&format!("{name}: attention with hidden tokens"), attention.as_slice().unwrap(), &flat(&masked["attentions"]), ATTENTION_TOL);
        assert_close(&format!("{name}: last_hidden_state with hidden tokens"), &out.last_hidden_state, &flat(&masked["last_hidden_state"]), STATE_TOL);
        // And it differs from the unmasked run, so the check above could fail.
        assert!(worst(&out.last_hidden_state, &flat(&case["last_hidden_state"])) > 1e-2, "{name}: hiding changed nothing");
    }
}

/// DeBERTa's card, its position parts doing work, the keys that change the numbers honoured, and
/// what transformers cannot run (or would run with a head of random numbers) refused by name.
#[test]
fn deberta_card_keys_and_refusals() {
    use glassbox::models::Model as M;
    let model = load_model("deberta_v3");
    assert_eq!(model.info().positions, Positions::Disentangled);
    assert_eq!(model.info().positions.as_str(), "disentangled");
    assert_eq!(model.info().max_positions, None, "no absolute table: the buckets take any length");
    let facts = glassbox::card::BlockFacts::of(&model);
    assert_eq!((facts.norm_placement, facts.embedding_norm, facts.tied_embeddings), ("post", true, true));
    let M::Deberta(m) = &model else { panic!("not DeBERTa") };
    assert_eq!(m.position_parts(), (true, true));
    let scheme = m.relative_scheme().unwrap();
    assert_eq!((scheme.span, scheme.buckets, scheme.max_distance), (8, 8, 64));
    assert_eq!((scheme.row(5, 5), scheme.row(9, 5), scheme.row(5, 9), scheme.row(63, 0), scheme.row(0, 63)), (8, 12, 4, 15, 1));
    // Asked for position vectors or a T5-style bias table, it says what it has instead.
    for err in [model.position_vectors(glassbox::models::Stack::Encoder, 4).err().unwrap(), model.relative_positions(glassbox::models::Stack::Encoder, 4).err().unwrap()] {
        assert!(err.to_string().contains("table of relative distances") && err.to_string().contains("block.disentangled"), "{err}");
    }
    assert_eq!(load_model("deberta_v2").info().max_positions, Some(64));
    assert_eq!(load_model("deberta_v2").position_vectors(glassbox::models::Stack::Encoder, 3).unwrap().len(), 3 * 64, "v2 style: its absolute table");
    assert_eq!(glassbox::card::BlockFacts::of(&load_model("deberta_c2p")).embedding_width, Some(32));

    let ids: Vec<u32> = (5..40).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("deberta_v3"));
    for edit in [
        serde_json::json!({"pos_att_type": "c2p"}),
        serde_json::json!({"pos_att_type": ["p2c"]}),
        serde_json::json!({"max_relative_positions": 32}),
        serde_json::json!({"norm_rel_ebd": "none"}),
        serde_json::json!({"relative_attention": false, "position_biased_input": false, "pos_att_type": null}),
    ] {
        let folder = edited("deberta_v3", |c| {
            for (k, v) in edit.as_object().unwrap() {
                c.insert(k.clone(), v.clone());
            }
        });
        if edit.get("relative_attention").is_some() {
            assert!(load_error(&folder).contains("position_biased_input"), "{edit}: a model that sees no order");
            continue;
        }
        assert!(run(&folder) != plain, "{edit} changed nothing");
    }
    for (name, edit, key) in [
        ("deberta_v3", serde_json::json!({"legacy": false}), "legacy"),
        ("deberta_v2", serde_json::json!({"legacy": true}), "legacy"),
        ("deberta_v2", serde_json::json!({"conv_groups": 2}), "conv_groups"),
        ("deberta_v2", serde_json::json!({"conv_kernel_size": 2}), "conv_kernel_size"),
        ("deberta_v2", serde_json::json!({"conv_act": "gelu_10"}), "conv_act"),
        ("deberta_v3", serde_json::json!({"position_buckets": 1}), "position_buckets"),
        ("deberta_v3", serde_json::json!({"max_relative_positions": 5}), "position_buckets"),
        ("deberta_v3", serde_json::json!({"attention_head_size": 8}), "attention_head_size"),
        ("deberta_v3", serde_json::json!({"pos_att_type": 3}), "pos_att_type"),
        ("deberta_v3", serde_json::json!({"hidden_act": "gelu_10"}), "hidden_act"),
        ("deberta_v3", serde_json::json!({"position_buckets": 16}), "rel_embeddings"),
        // null, which transformers 5 refuses (a typed field) or cannot build a model with.
        ("deberta_v3", serde_json::json!({"position_buckets": null}), "position_buckets"),
        ("deberta_v3", serde_json::json!({"relative_attention": null}), "relative_attention"),
        ("deberta_v3", serde_json::json!({"norm_rel_ebd": null}), "norm_rel_ebd"),
        ("deberta_v3", serde_json::json!({"embedding_size": null}), "embedding_size"),
    ] {
        let err = load_error(&edited(name, |c| {
            for (k, v) in edit.as_object().unwrap() {
                c.insert(k.clone(), v.clone());
            }
        }));
        assert!(err.contains(key), "{name} {edit}: {err}");
    }
    // null where transformers reads None as no value: share_att_key (false), pos_att_type (no terms).
    for (edit, parts) in [(serde_json::json!({"share_att_key": null}), None), (serde_json::json!({"pos_att_type": null}), Some((false, false)))] {
        let folder = edited("deberta_v3", |c| {
            for (k, v) in edit.as_object().unwrap() {
                c.insert(k.clone(), v.clone());
            }
        });
        match (Model::load(&folder.files(), None), parts) {
            (Ok(M::Deberta(m)), Some(p)) => assert_eq!(m.position_parts(), p, "{edit}"),
            // share_att_key null: own projections, which this file does not hold.
            (Err(e), None) => assert!(e.to_string().contains("pos_key_proj"), "{edit}: {e}"),
            (other, _) => panic!("{edit}: {:?}", other.err()),
        }
    }
    // Without architectures naming the masked-LM class, a file with the other head runs as a base model.
    let base = edited("deberta_v3", |c| {
        c.insert("legacy".into(), serde_json::json!(false));
        c.remove("architectures");
    });
    let base = Model::load(&base.files(), None).unwrap();
    assert!(!base.info().has_lm_head, "the encoder alone");
    // The untrained twin of each loads and runs.
    for name in ["deberta_v3", "deberta_v2", "deberta_c2p"] {
        let mut folder = Folder::fixture(name);
        folder.weights = None;
        let twin = Model::load(&folder.files(), Some(5)).unwrap_or_else(|e| panic!("{name} twin: {e}"));
        twin.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::PROBS).unwrap();
    }
}

/// ALBERT: six layers applied by one shared set of two, 32-wide embeddings; the card says so, the
/// sharing and the groups bite, and what transformers cannot run is refused by name.
#[test]
fn albert_card_sharing_and_refusals() {
    let model = load_model("albert");
    assert_eq!(model.info().n_layers, 6, "3 steps of a group of 2: six layers applied");
    let facts = glassbox::card::BlockFacts::of(&model);
    assert_eq!((facts.norm_placement, facts.embedding_norm, facts.tied_embeddings), ("post", true, true));
    assert_eq!(facts.embedding_width, Some(32));
    assert_eq!(facts.shared_layers, vec![0, 1, 0, 1, 0, 1]);
    // The position rows and token rows are the narrow ones.
    assert_eq!(model.position_vectors(glassbox::models::Stack::Encoder, 3).unwrap().len(), 3 * 32);
    assert_eq!(model.token_embeddings(glassbox::models::Stack::Encoder, &[5, 6]).unwrap().rows.len(), 2 * 32);

    let ids: Vec<u32> = (5..30).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("albert"));
    // HF's group of each step, in floats: 18 steps over 14 groups run group 6 (not 7) at step 9.
    let mut deep = edited("albert", |c| {
        c.insert("num_hidden_layers".into(), serde_json::json!(18));
        c.insert("num_hidden_groups".into(), serde_json::json!(14));
        c.insert("inner_group_num".into(), serde_json::json!(1));
    });
    deep.weights = None;
    let Model::Albert(deep) = Model::load(&deep.files(), Some(3)).unwrap() else { panic!("not ALBERT") };
    assert_eq!(deep.shared_layers()[9], 6);
    assert_eq!(deep.shared_layers().len(), 18);
    // One layer per step (inner_group_num 1) runs only the group's first layer: other numbers.
    assert!(run(&edited("albert", |c| { c.insert("inner_group_num".into(), serde_json::json!(1)); })) != plain, "inner_group_num");
    assert!(run(&edited("albert", |c| { c.insert("num_hidden_layers".into(), serde_json::json!(2)); })) != plain, "num_hidden_layers");
    for (edit, key) in [
        (serde_json::json!({"num_hidden_groups": 2}), "albert_layer_groups.1"),
        (serde_json::json!({"embedding_size": 0}), "embedding_size"),
        (serde_json::json!({"position_embedding_type": "relative_key"}), "position_embedding_type"),
        (serde_json::json!({"hidden_act": "gelu_10"}), "hidden_act"),
    ] {
        let err = load_error(&edited("albert", |c| {
            for (k, v) in edit.as_object().unwrap() {
                c.insert(k.clone(), v.clone());
            }
        }));
        assert!(err.contains(key), "{key}: {err}");
    }
}

/// GPT-NeoX: the card's facts, its rotation (HF's inv_freq over the turned dimensions), transformers
/// 4's `rotary_pct` / `rotary_emb_base` read as 5's keys, 0.25 of each head when left out, the
/// parallel and sequential blocks, and refusals by name.
#[test]
fn gpt_neox_keys_defaults_and_card() {
    let model = load_model("gpt_neox");
    let facts = glassbox::card::BlockFacts::of(&model);
    assert!(facts.parallel_residual && !facts.gated_ffn && !facts.tied_embeddings);
    assert_eq!((facts.norm_placement, facts.norm_kind, facts.rotary_dims, facts.d_head), ("pre", "LayerNorm", Some(8), 16));
    let angles = model.rotary_angles(3).unwrap();
    assert_eq!((angles.n_pairs, angles.d_head, angles.rotary_dims), (4, 16, 8));
    let want: Vec<f32> = flat(&reference("gpt_neox")["meta"]["inv_freq"]).iter().map(|&x| x as f32).collect();
    assert_eq!(angles.inv_freq, want, "HF's inv_freq");

    let ids: Vec<u32> = (3..40).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("gpt_neox"));
    let v4 = run(&edited("gpt_neox", |c| {
        c.remove("rope_parameters");
        c.insert("rotary_pct".into(), serde_json::json!(0.5));
        c.insert("rotary_emb_base".into(), serde_json::json!(1000));
    }));
    assert!(v4 == plain, "rotary_pct and rotary_emb_base read as partial_rotary_factor and rope_theta");
    let Model::GptNeoX(m) = Model::load(&edited("gpt_neox", |c| { c.remove("rope_parameters"); }).files(), None).unwrap() else { panic!("not GPT-NeoX") };
    assert_eq!((m.rotary.rotary_dims, m.rotary.theta), (4, 10_000.0), "left out: a quarter of each head, base 10,000");
    assert!(run(&edited("gpt_neox", |c| { c.insert("use_parallel_residual".into(), serde_json::json!(false)); })) != plain, "use_parallel_residual");
    assert!(run(&edited("gpt_neox", |c| { c["rope_parameters"]["partial_rotary_factor"] = serde_json::json!(1.0); })) != plain, "partial_rotary_factor");
    for (edit, key) in [
        (serde_json::json!({"rope_parameters": {"rope_type": "default", "rope_theta": 1000.0, "partial_rotary_factor": 0.1}}), "partial_rotary_factor"),
        (serde_json::json!({"num_attention_heads": 5}), "num_attention_heads"),
        (serde_json::json!({"hidden_act": "gelu_10"}), "hidden_act"),
    ] {
        let err = load_error(&edited("gpt_neox", |c| {
            for (k, v) in edit.as_object().unwrap() {
                c.insert(k.clone(), v.clone());
            }
        }));
        assert!(err.contains(key), "{key}: {err}");
    }
    // The Llama family still turns whole heads: a partial factor there is refused (transformers fails on it).
    let err = load_error(&edited("llama_gqa", |c| { c.insert("partial_rotary_factor".into(), serde_json::json!(0.5)); }));
    assert!(err.contains("partial_rotary_factor") && err.contains("whole heads"), "{err}");
}

/// Phi-3: fused projections, Phi-4-mini's partial rotation, and LongRoPE's two sets of factors,
/// its attention factor and the config class's defaults and renamings.
#[test]
fn phi3_keys_defaults_longrope_and_card() {
    let names = |name: &str| -> Vec<String> {
        let bytes = Folder::fixture(name).weights.expect("weights");
        safetensors::SafeTensors::deserialize(&bytes).unwrap().names().into_iter().map(String::from).collect()
    };
    for name in ["phi3", "phi3_longrope"] {
        let stored = names(name);
        assert!(stored.iter().any(|n| n.ends_with("self_attn.qkv_proj.weight")) && stored.iter().any(|n| n.ends_with("mlp.gate_up_proj.weight")), "{name}");
        assert!(!stored.iter().any(|n| n.ends_with("q_proj.weight") && !n.ends_with("qkv_proj.weight")), "{name}: fused only");
    }
    let model = load_model("phi3_longrope");
    let facts = glassbox::card::BlockFacts::of(&model);
    assert_eq!((facts.rotary_dims, facts.d_head, facts.n_kv_heads), (Some(12), 16, 1));
    // Up to the original length (16) the short factors turn the pairs; past it the long ones.
    let meta = &reference("phi3_longrope")["meta"];
    let short: Vec<f32> = flat(&meta["inv_freq"]).iter().map(|&x| x as f32).collect();
    let cfg: Value = serde_json::from_slice(&Folder::fixture("phi3_longrope").config).unwrap();
    let long_factor = flat(&cfg["rope_parameters"]["long_factor"]);
    let short_factor = flat(&cfg["rope_parameters"]["short_factor"]);
    assert_eq!(model.rotary_angles(16).unwrap().inv_freq, short, "HF's inv_freq (short factors)");
    let long = model.rotary_angles(17).unwrap().inv_freq;
    for i in 0..6 {
        let ratio = short[i] / long[i];
        assert!((ratio as f64 - long_factor[i] / short_factor[i]).abs() < 1e-5, "pair {i}: long/short {ratio}");
    }
    assert!((meta["attention_scaling"].as_f64().unwrap() - (1.0f64 + 4f64.ln() / 16f64.ln()).sqrt()).abs() < 1e-12, "64 / 16 positions");

    let ids: Vec<u32> = (3..40).collect();
    let run_n = |folder: &Folder, n: usize| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids[..n], type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let run = |folder: &Folder| run_n(folder, ids.len());
    let plain = run(&Folder::fixture("phi3_longrope"));
    let set = |key: &'static str, value: Value| move |c: &mut serde_json::Map<String, Value>| { c["rope_parameters"][key] = value.clone(); };
    // The long factors only matter once the text is longer than the original length.
    let long_as_short = edited("phi3_longrope", set("long_factor", cfg["rope_parameters"]["short_factor"].clone()));
    assert_eq!(run_n(&long_as_short, 16), run_n(&Folder::fixture("phi3_longrope"), 16));
    assert!(run(&long_as_short) != plain, "long_factor past 16 tokens");
    assert!(run_n(&edited("phi3_longrope", set("short_factor", cfg["rope_parameters"]["long_factor"].clone())), 16) != run_n(&Folder::fixture("phi3_longrope"), 16), "short_factor up to 16 tokens");
    assert!(run(&edited("phi3_longrope", set("attention_factor", serde_json::json!(1.0)))) != plain, "attention_factor");
    assert!(run(&edited("phi3_longrope", set("factor", serde_json::json!(2.0)))) != plain, "factor (sets the attention factor)");
    // "su" and "yarn" are the old names of longrope in Phi3Config; the top-level original length wins.
    for ty in ["su", "yarn"] {
        assert_eq!(run(&edited("phi3_longrope", set("rope_type", serde_json::json!(ty)))), plain, "{ty}");
    }
    assert_eq!(run(&edited("phi3_longrope", set("original_max_position_embeddings", serde_json::json!(32)))), plain, "the inner key loses");
    assert!(run(&edited("phi3_longrope", |c| { c.remove("original_max_position_embeddings"); })) != plain, "left out: 4096");
    assert!(run(&edited("phi3_longrope", |c| { c.remove("partial_rotary_factor"); c["rope_parameters"].as_object_mut().unwrap().remove("partial_rotary_factor"); c["rope_parameters"]["short_factor"] = serde_json::json!(vec![1.0; 8]); c["rope_parameters"]["long_factor"] = serde_json::json!(vec![1.0; 8]); })) != plain, "whole heads");
    for (edit, key) in [
        (serde_json::json!({"rope_type": "linear", "factor": 2.0}), "rope_type"),
        (serde_json::json!({"short_factor": [1.0, 1.0]}), "short_factor"),
        (serde_json::json!({"long_factor": [1.0, 1.0, 0.0, 1.0, 1.0, 1.0]}), "long_factor"),
        (serde_json::json!({"attention_factor": -1.0}), "attention_factor"),
    ] {
        let err = load_error(&edited("phi3_longrope", |c| {
            for (k, v) in edit.as_object().unwrap() {
                c["rope_parameters"][k] = v.clone();
            }
        }));
        assert!(err.contains(key), "{key}: {err}");
    }
    let err = load_error(&edited("phi3", |c| { c.insert("layer_types".into(), serde_json::json!(["full_attention", "full_attention"])); }));
    assert!(err.contains("layer_types"), "{err}");

    // Phi3Config's defaults: eps 1e-5, no window, ids 1 / 32000; the window covers every layer.
    let plain = run(&Folder::fixture("phi3"));
    assert_eq!(run(&edited("phi3", |c| { c.remove("rms_norm_eps"); })), plain);
    let Model::Llama(phi3) = load_model("phi3") else { panic!("not Llama-style") };
    assert_eq!(phi3.sliding_layers(), (vec![0, 1], Some(8)));
    let unwindowed = edited("phi3", |c| { c.remove("sliding_window"); });
    assert_eq!(run_n(&unwindowed, 8), run_n(&Folder::fixture("phi3"), 8));
    assert!(run(&unwindowed) != plain, "sliding_window");
    let defaults = Model::load(&edited("phi3", |c| { c.remove("eos_token_id"); c.remove("bos_token_id"); c.remove("pad_token_id"); }).files(), None).unwrap();
    let info = defaults.info();
    assert_eq!((info.bos_token_id, info.eos_token_id, info.pad_token_id), (Some(1), Some(32000), Some(32000)));

    // LongRoPE is not Phi-3's alone: transformers runs it for Llama too.
    let llama = edited("llama_gqa", |c| {
        c["rope_parameters"] = serde_json::json!({"rope_type": "longrope", "rope_theta": 500.0, "short_factor": vec![1.0; 12], "long_factor": vec![4.0; 12]});
        c.insert("original_max_position_embeddings".into(), serde_json::json!(8));
    });
    let n = |f: &Folder, k: usize| run_n(f, k);
    let base_folder = Folder::fixture("llama_gqa");
    let scaled_short = n(&llama, 8);
    let unscaled_short = n(&base_folder, 8);
    assert!(scaled_short != unscaled_short, "the attention factor (64 / 8 positions) scales even short texts");
}

/// Phi-3's generation, like HF's, runs the whole text again the first time it outgrows the original
/// length, so from then on every position is turned by LongRoPE's long factors: each step's logits
/// are those of a fresh forward pass over the text so far. (Kept caches would leave the first 16 keys
/// turned by the short factors, and the logits past the switch would differ.) The attention a step
/// reports keeps its shape, [L][H][1][P+1].
#[test]
fn phi3_generation_rebuilds_its_cache_where_the_long_factors_take_over() {
    let model = load_model("phi3_longrope");
    let v = model.info().vocab_size;
    let mut text: Vec<u32> = (3..15).collect(); // 12 tokens; the original length is 16
    let mut state = model.start_decoding(&[]).unwrap();
    let mut step = model.feed(&mut state, &text, Capture::NONE).unwrap();
    for _ in 0..8 {
        let full = model.forward(&Inputs { ids: &text, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
        let last = &full[(text.len() - 1) * v..];
        assert_close(&format!("step at {} tokens", text.len()), &step.logits, &last.iter().map(|&x| x as f64).collect::<Vec<_>>(), 1e-4);
        let next = (0..v).max_by(|&a, &b| step.logits[a].total_cmp(&step.logits[b])).unwrap() as u32;
        text.push(next);
        step = model.feed(&mut state, &[next], Capture::PROBS).unwrap();
        let maps = step.self_attentions.as_ref().unwrap();
        assert_eq!(maps.shape(), [2, 4, 1, text.len()], "the maps of the new token only, at {} tokens", text.len());
    }
    assert!(text.len() > 17, "the loop crossed the original length");
    // Without a Phi-3 (Llama with the same LongRoPE keeps its cache, as HF's Llama does), the step
    // after the switch differs from a fresh pass.
    let llama = edited("llama_gqa", |c| {
        c["rope_parameters"] = serde_json::json!({"rope_type": "longrope", "rope_theta": 500.0, "short_factor": vec![1.0; 12], "long_factor": vec![4.0; 12]});
        c.insert("original_max_position_embeddings".into(), serde_json::json!(8));
    });
    let llama = Model::load(&llama.files(), None).unwrap();
    let ids: Vec<u32> = (3..13).collect();
    let mut state = llama.start_decoding(&[]).unwrap();
    llama.feed(&mut state, &ids[..7], Capture::NONE).unwrap();
    let kept = llama.feed(&mut state, &ids[7..10], Capture::NONE).unwrap();
    let full = llama.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let lv = llama.info().vocab_size;
    let diff = kept.logits.iter().zip(&full[9 * lv..]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff > 1e-3, "llama keeps its short-turned keys: {diff}");
}

/// Phi: one norm for both branches, partial rotation (half of each head when no key says), q/k
/// LayerNorms only when `qk_layernorm`, PhiConfig's ids, and what the card says of it.
#[test]
fn phi_keys_defaults_and_card() {
    let model = load_model("phi");
    let facts = glassbox::card::BlockFacts::of(&model);
    assert!(facts.parallel_residual && facts.parallel_shared_norm && facts.qk_norm && facts.qk_norm_per_head && !facts.gated_ffn && !facts.tied_embeddings);
    assert_eq!((facts.norm_placement, facts.norm_kind, facts.rotary_dims, facts.d_head, facts.n_kv_heads, facts.head_bias), ("pre", "LayerNorm", Some(6), 16, 2, Some(true)));
    let neox = glassbox::card::BlockFacts::of(&load_model("gpt_neox"));
    assert!(neox.parallel_residual && !neox.parallel_shared_norm, "GPT-NeoX has a norm per branch");
    let angles = model.rotary_angles(3).unwrap();
    assert_eq!((angles.n_pairs, angles.rotary_dims), (3, 6));
    let want: Vec<f32> = flat(&reference("phi")["meta"]["inv_freq"]).iter().map(|&x| x as f32).collect();
    assert_eq!(angles.inv_freq, want, "HF's inv_freq");

    let ids: Vec<u32> = (3..40).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("phi"));
    // Left out everywhere, half of each head turns (PhiConfig's default), not all of it.
    let Model::Phi(m) = Model::load(&edited("phi", |c| { c["rope_parameters"].as_object_mut().unwrap().remove("partial_rotary_factor"); c.remove("partial_rotary_factor"); }).files(), None).unwrap() else { panic!("not Phi") };
    assert_eq!(m.rotary.rotary_dims, 8);
    assert!(run(&edited("phi", |c| { c["rope_parameters"]["partial_rotary_factor"] = serde_json::json!(1.0); c.remove("partial_rotary_factor"); })) != plain, "partial_rotary_factor");
    // qk_layernorm off: the stored norms go unused, as in HF.
    assert!(run(&edited("phi", |c| { c.insert("qk_layernorm".into(), serde_json::json!(false)); })) != plain, "qk_layernorm");
    // Tied in config.json but the file's head differs from the table: transformers 5 leaves it untied.
    assert!(run(&edited("phi", |c| { c.insert("tie_word_embeddings".into(), serde_json::json!(true)); })) == plain, "a stored head that differs stays");
    let defaults = Model::load(&edited("phi", |c| { c.remove("bos_token_id"); c.remove("eos_token_id"); }).files(), None).unwrap();
    assert_eq!((defaults.info().bos_token_id, defaults.info().eos_token_id), (Some(1), Some(2)), "PhiConfig's ids");
    for (key, value) in [("head_dim", serde_json::json!(8)), ("hidden_act", serde_json::json!("gelu_10")), ("num_key_value_heads", serde_json::json!(3))] {
        let err = load_error(&edited("phi", |c| { c.insert(key.into(), value.clone()); }));
        assert!(err.contains(key), "{key}: {err}");
    }
}

/// OLMo 3: OLMo 2's norms, every fourth layer full and the rest sliding, one rotation per layer
/// type (YaRN on the full layers here), Olmo3Config's defaults and its 4.x keys; YaRN and dynamic
/// NTK scaling in the flat rotary settings of the other families.
#[test]
fn olmo3_yarn_and_dynamic_ntk() {
    let model = load_model("olmo3");
    let Model::Llama(m) = &model else { panic!("not Llama-style") };
    assert_eq!(m.sliding_layers(), (vec![0, 1, 2], Some(6)));
    let facts = glassbox::card::BlockFacts::of(&model);
    assert_eq!((facts.norm_placement, facts.qk_norm, facts.qk_norm_per_head), ("output", true, false));
    // The rotations are HF's: YaRN's frequencies and attention factor on the full layers, the sliding layers' own base.
    let meta = &reference("olmo3")["meta"]["inv_freq"];
    let want = |key: &str| flat(&meta[key]).iter().map(|&x| x as f32).collect::<Vec<f32>>();
    assert_eq!(m.rotary.inv_freq, want("full_attention"), "YaRN's inv_freq");
    assert_eq!(m.local_rotary.as_ref().unwrap().inv_freq, want("sliding_attention"));
    let angles = model.rotary_angles(4).unwrap();
    assert_eq!(angles.scaling, "yarn");
    assert!((angles.attention_factor.unwrap() as f64 - meta["attention_scaling"].as_f64().unwrap()).abs() < 1e-6);

    let ids: Vec<u32> = (3..40).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("olmo3"));
    assert!(run(&edited("olmo3", |c| { c.remove("layer_types"); })) == plain, "left out: every fourth layer full");
    assert!(run(&edited("olmo3", |c| { c.remove("sliding_window"); })) != plain, "sliding_window (left out: 4096)");
    assert!(run(&edited("olmo3", |c| { c["rope_parameters"]["full_attention"] = serde_json::json!({"rope_type": "default", "rope_theta": 500000.0}); })) != plain, "YaRN");
    // HF reads `truncate` from the top of rope_parameters only: inside a type's settings it changes nothing.
    assert!(run(&edited("olmo3", |c| { c["rope_parameters"]["full_attention"]["truncate"] = serde_json::json!(false); })) == plain, "truncate inside a type");
    // transformers 4's keys: rope_theta and rope_scaling reach the full layers only; the sliding ones keep 500,000.
    let v4 = edited("olmo3", |c| {
        let rope = c.remove("rope_parameters").unwrap();
        let mut scaling = rope["full_attention"].clone();
        let theta = scaling.as_object_mut().unwrap().remove("rope_theta").unwrap();
        c.insert("rope_theta".into(), theta);
        c.insert("rope_scaling".into(), scaling);
    });
    let v5_same = edited("olmo3", |c| { c["rope_parameters"]["sliding_attention"]["rope_theta"] = serde_json::json!(500000.0); });
    assert!(run(&v4) == run(&v5_same) && run(&v4) != plain, "4.x keys: the sliding layers at 500,000");
    let defaults = Model::load(&edited("olmo3", |c| { c.remove("eos_token_id"); c.remove("pad_token_id"); c.remove("bos_token_id"); }).files(), None).unwrap();
    assert_eq!((defaults.info().bos_token_id, defaults.info().eos_token_id, defaults.info().pad_token_id), (None, Some(50279), Some(1)));

    // YaRN in a flat rope_parameters (llama): truncate is read there; the factor is required and positive.
    let yarn = |extra: serde_json::Value| {
        edited("llama_gqa", move |c| {
            let mut rope = serde_json::json!({"rope_type": "yarn", "rope_theta": 500.0, "factor": 4.0, "original_max_position_embeddings": 16});
            for (k, v) in extra.as_object().unwrap() {
                rope[k] = v.clone();
            }
            c["rope_parameters"] = rope;
        })
    };
    let yarn_plain = run(&yarn(serde_json::json!({})));
    assert!(yarn_plain != run(&Folder::fixture("llama_gqa")), "yarn");
    assert!(run(&yarn(serde_json::json!({"truncate": false}))) != yarn_plain, "truncate");
    assert!(run(&yarn(serde_json::json!({"beta_slow": 0.25}))) != yarn_plain, "beta_slow");
    assert!(run(&yarn(serde_json::json!({"attention_factor": 1.0}))) != yarn_plain, "attention_factor");
    assert!(run(&yarn(serde_json::json!({"mscale": 1.0, "mscale_all_dim": 1.0}))) != yarn_plain, "mscale (an attention factor of 1)");
    for (extra, key) in [(serde_json::json!({"factor": null}), "factor"), (serde_json::json!({"factor": -2.0}), "factor"), (serde_json::json!({"attention_factor": -1.0}), "attention_factor"), (serde_json::json!({"truncate": "no"}), "truncate")] {
        let err = load_error(&yarn(extra));
        assert!(err.contains(key), "{key}: {err}");
    }
    // Dynamic NTK only moves the base past max_position_embeddings, where Glassbox stops: within it, the default rotation.
    let dynamic = edited("llama_gqa", |c| { c["rope_parameters"] = serde_json::json!({"rope_type": "dynamic", "rope_theta": 500.0, "factor": 4.0}); });
    assert!(run(&dynamic) == run(&Folder::fixture("llama_gqa")), "dynamic within max_position_embeddings");
    assert_eq!(Model::load(&dynamic.files(), None).unwrap().rotary_angles(2).unwrap().scaling, "dynamic");
    let err = load_error(&edited("llama_gqa", |c| { c["rope_parameters"] = serde_json::json!({"rope_type": "dynamic", "rope_theta": 500.0}); }));
    assert!(err.contains("factor"), "{err}");
}

/// MPNet: positions counted from row 2 whatever the pad id, a relative bias that needs 32 buckets,
/// and the card's note of it (RoBERTa, with learned positions only, has none).
#[test]
fn mpnet_positions_bias_and_card() {
    let model = load_model("mpnet");
    assert!(glassbox::card::BlockFacts::of(&model).relative_bias);
    assert!(!glassbox::card::BlockFacts::of(&load_model("roberta")).relative_bias);
    assert_eq!((model.info().positions, model.info().max_positions), (Positions::Learned, Some(64)));
    let ids: Vec<u32> = (5..30).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("mpnet"));
    assert!(run(&edited("mpnet", |c| { c.insert("pad_token_id".into(), serde_json::json!(0)); })) == plain, "MPNet's position offset is fixed, not the pad id");
    assert!(run(&edited("mpnet", |c| { c.insert("hidden_act".into(), serde_json::json!("relu")); })) != plain, "hidden_act");
    let err = load_error(&edited("mpnet", |c| { c.insert("relative_attention_num_buckets".into(), serde_json::json!(16)); }));
    assert!(err.contains("relative_attention_num_buckets"), "{err}");
    // The positions view's data: MPNet's buckets (both directions, 32) and its bias per head, as the layers add it.
    let rel = model.relative_positions(glassbox::models::Stack::Encoder, 5).unwrap();
    assert_eq!((rel.num_buckets, rel.max_distance, rel.bidirectional, rel.n_heads, rel.bias.len()), (32, 128, true, 4, 4 * 32));
    assert_eq!(rel.buckets, vec![4, 3, 2, 1, 0, 17, 18, 19, 20], "distances -4..4: exact buckets, the keys after the query in the upper half");
    assert!(load_model("roberta").relative_positions(glassbox::models::Stack::Encoder, 5).is_err());
}

/// Gemma 3's multimodal checkpoints run their language model on text: the weights under
/// `language_model.model.`, the settings from `text_config`, no logit softcap (the conditional
/// model's head has none, though text_config asks for 2.5 here), the vision tower not read.
#[test]
fn gemma3_multimodal_checkpoints_run_their_language_model() {
    let model = load_model("gemma3_vision");
    assert_eq!((model.info().model_type.as_str(), model.info().n_layers), ("gemma3", 3));
    let Model::Llama(m) = &model else { panic!("not Llama-style") };
    assert_eq!(m.logit_cap(), None, "no softcap in Gemma3ForConditionalGeneration");
    let config: Value = serde_json::from_slice(&Folder::fixture("gemma3_vision").config).unwrap();
    assert_eq!(config["text_config"]["final_logit_softcapping"], 2.5);
    assert!(config["vision_config"].is_object());
    let err = load_error(&edited("gemma3_vision", |c| { c.insert("text_config".into(), serde_json::json!(7)); }));
    assert!(err.contains("text_config"), "{err}");
    // The same text settings as a text-only Gemma 3 keep their cap: the difference is the head's.
    let ids: Vec<u32> = (3..20).collect();
    let logits = |folder: &Folder| Model::load(&folder.files(), None).unwrap().forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let capped = edited("gemma3_vision", |c| { c["text_config"]["final_logit_softcapping"] = serde_json::json!(null); });
    assert!(logits(&capped) == logits(&Folder::fixture("gemma3_vision")), "text_config's cap is not applied either way");
}

/// The last case's (long text's) attention maps and logits, for comparing configs.
fn long_run(folder: &Folder, name: &str) -> (Vec<f32>, Vec<f32>) {
    let model = Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{name}: {e}"));
    let case = cases(name).pop().unwrap();
    let input_ids = ids(&case["input_ids"]);
    let out = model.forward_probed(&Inputs { ids: &input_ids, type_ids: None, decoder_ids: None }, &Probe { capture: Capture::PROBS, ..Default::default() }).unwrap();
    (out.decoder_attentions.expect("maps").iter().copied().collect(), out.logits.expect("logits"))
}

/// GPT-Neo's keys change the numbers as GPTNeoConfig reads them: `attention_types` decides which
/// layers are local, `window_size` how far back they see (256 when left out: past this fixture's 64
/// positions, so its local layers then see every key, as global ones do), and the scores are not
/// scaled. Impossible values are refused by name.
#[test]
fn gpt_neo_keys_defaults_and_refusals() {
    let facts = glassbox::card::BlockFacts::of(&load_model("gpt_neo"));
    assert_eq!((facts.sliding_layers.clone(), facts.sliding_window), (vec![1, 2], Some(6)));
    assert_eq!(facts.score_scale, Some(1.0), "GPT-Neo's scores are q·k as they are");
    assert_eq!((facts.norm_placement, facts.norm_kind, facts.ffn_width, facts.tied_embeddings), ("pre", "LayerNorm", 256, true));
    let gpt2 = glassbox::card::BlockFacts::of(&load_model("gpt2"));
    assert!(gpt2.sliding_layers.is_empty() && gpt2.score_scale.is_none());

    let (fixture_maps, fixture_logits) = long_run(&Folder::fixture("gpt_neo"), "gpt_neo");
    // As GPTNeoConfig writes it: both keys agree (the file's attention_layers would otherwise win).
    let all_global = edited("gpt_neo", |c| {
        c.insert("attention_types".into(), serde_json::json!([[["global"], 3]]));
        c.insert("attention_layers".into(), serde_json::json!(["global", "global", "global"]));
    });
    let (global_maps, global_logits) = long_run(&all_global, "gpt_neo");
    assert!(worst(&global_logits, &fixture_logits.iter().map(|&x| x as f64).collect::<Vec<_>>()) > 1e-2, "attention_types changes the logits");
    // Layer 0 is global either way: its maps agree; layer 1 differs.
    let per_layer = fixture_maps.len() / 3;
    assert_eq!(&global_maps[..per_layer], &fixture_maps[..per_layer]);
    assert_ne!(&global_maps[per_layer..2 * per_layer], &fixture_maps[per_layer..2 * per_layer]);
    let no_window = edited("gpt_neo", |c| {
        c.remove("window_size");
    });
    let (wide_maps, wide_logits) = long_run(&no_window, "gpt_neo");
    assert_eq!((wide_maps, wide_logits), (global_maps, global_logits), "window_size left out is 256: every key of 64 positions");
    let widened = edited("gpt_neo", |c| {
        c.insert("window_size".into(), 7.into());
    });
    assert_ne!(long_run(&widened, "gpt_neo").1, fixture_logits, "window_size is honoured");

    let refusals = [
        (serde_json::json!({"attention_types": [[["global", "local"], 2]]}), "attention_types"),
        (serde_json::json!({"attention_types": [[["global", "sparse"], 1], [["local"], 1]]}), "attention_types"),
        (serde_json::json!({"attention_types": [[["global"], 1_000_000_000_000u64]]}), "attention_types"),
        (serde_json::json!({"attention_types": null, "num_layers": 3}), "attention_types"), // the default describes 24 layers
        (serde_json::json!({"window_size": 0}), "window_size"),
    ];
    for (edit, key) in refusals {
        let folder = edited("gpt_neo", |c| {
            // The file's attention_layers would decide alone (transformers then checks only that list).
            c.remove("attention_layers");
            for (k, v) in edit.as_object().unwrap() {
                c.insert(k.clone(), v.clone());
            }
        });
        let err = load_error(&folder);
        assert!(err.contains(key), "{edit}: {err}");
    }
    // A window of 0 matters only to local layers: with none, the model loads as transformers runs it.
    let global_zero = edited("gpt_neo", |c| {
        c.insert("attention_types".into(), serde_json::json!([[["global"], 3]]));
        c.insert("attention_layers".into(), serde_json::json!(["global", "global", "global"]));
        c.insert("window_size".into(), 0.into());
    });
    assert_eq!(long_run(&global_zero, "gpt_neo").1, long_run(&all_global, "gpt_neo").1);
    let model = load_model("gpt_neo");
    assert_eq!((model.info().model_type.as_str(), model.info().max_positions, model.info().eos_token_id), ("gpt_neo", Some(64), Some(0)));
}

/// OPT's keys change the numbers as OPTConfig reads them; the card says how each block is built; the
/// logit lens at the last state gives the model's own logits, opt-350m's narrowing included; the
/// position vectors the page shows are the table's rows from 2 on; keys Glassbox does not run are
/// refused by name.
#[test]
fn opt_keys_card_lens_and_refusals() {
    let opt = glassbox::card::BlockFacts::of(&load_model("opt"));
    assert_eq!((opt.norm_placement, opt.final_norm, opt.activation.as_str(), opt.embedding_width, opt.tied_embeddings), ("pre", true, "relu", None, true));
    let small = glassbox::card::BlockFacts::of(&load_model("opt_350m"));
    assert_eq!((small.norm_placement, small.final_norm, small.embedding_width), ("post", false, Some(32)));

    for name in ["opt", "opt_350m"] {
        let model = load_model(name);
        let ids = ids(&cases(name)[1]["input_ids"]);
        let out = model.forward_probed(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, &Probe { hidden_states: true, ..Default::default() }).unwrap();
        let n = out.decoder_hidden_states.as_ref().unwrap().dim().0;
        assert_eq!(model.logit_lens(&out, n - 1).unwrap(), out.logits.clone().unwrap(), "{name}: the lens at the last state is the logits");
        assert_ne!(Some(model.logit_lens(&out, 1).unwrap()), out.logits, "{name}");
        let c = model.info().d_model;
        let rows = model.position_vectors(glassbox::models::Stack::Decoder, 3).unwrap_or_else(|e| panic!("{name}: {e}"));
        let table = safetensors::SafeTensors::deserialize(&Folder::fixture(name).weights.unwrap()).unwrap().tensor("model.decoder.embed_positions.weight").unwrap().data().to_vec();
        let row2: Vec<f32> = table[2 * c * 4..3 * c * 4].chunks(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert_eq!(&rows[..c], &row2[..], "{name}: position 0 reads row 2");
    }

    let (_, logits) = long_run(&Folder::fixture("opt"), "opt");
    for (key, value) in [("do_layer_norm_before", Value::Bool(false)), ("enable_bias", Value::Bool(false)), ("activation_function", "gelu".into())] {
        let folder = edited("opt", |c| {
            c.insert(key.into(), value.clone());
        });
        assert_ne!(long_run(&folder, "opt").1, logits, "{key} changes the logits");
    }
    let defaults = edited("opt", |c| {
        c.remove("activation_function"); // OPTConfig's relu, which the fixture uses
        c.remove("word_embed_proj_dim"); // hidden_size
        c.remove("do_layer_norm_before"); // true
    });
    assert_eq!(long_run(&defaults, "opt").1, logits);
    let missing_ffn = edited("opt", |c| {
        c.remove("ffn_dim"); // OPTConfig's 3072: the file's 128-wide layers no longer fit
    });
    assert!(load_error(&missing_ffn).contains("fc1"), "{}", load_error(&missing_ffn));
    for (key, value) in [("layer_norm_elementwise_affine", Value::Bool(false)), ("_remove_final_layer_norm", Value::Bool(true)), ("word_embed_proj_dim", Value::from(-3))] {
        let folder = edited("opt", |c| {
            c.insert(key.into(), value.clone());
        });
        let err = load_error(&folder);
        assert!(err.contains(key), "{key}: {err}");
    }
    let model = load_model("opt");
    assert_eq!((model.info().model_type.as_str(), model.info().bos_token_id, model.info().eos_token_id, model.info().pad_token_id), ("opt", Some(2), Some(2), Some(1)));
    // opt-350m's token rows are narrower than its position rows: each comes at its own width.
    let small = load_model("opt_350m");
    let tokens = small.token_embeddings(glassbox::models::Stack::Decoder, &[5, 6]).unwrap();
    assert_eq!((tokens.d_model, tokens.rows.len()), (32, 64));
    assert_eq!(small.position_vectors(glassbox::models::Stack::Decoder, 2).unwrap().len(), 2 * 64);
}

/// BLOOM's ALiBi slopes are HF's (`_get_alibi_slopes`: a geometric run for the largest power of two
/// of heads, every other power of the next run for the rest), its keys change the numbers as
/// BloomConfig reads them, and the card says how its positions and residuals work.
#[test]
fn bloom_slopes_keys_and_card() {
    use glassbox::models::bloom::alibi_slopes;
    let close = |got: Vec<f32>, want: &[f64]| {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((*g as f64 - w).abs() <= 1e-6 * w, "{got:?} vs {want:?}");
        }
    };
    close(alibi_slopes(4), &[0.25, 0.0625, 0.015625, 0.00390625]);
    close(alibi_slopes(8), &[0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625]);
    // 6 heads: four from 2^(-8/4) = 1/4, then 2^(-8/8) = 1/2 to the powers 1 and 3.
    close(alibi_slopes(6), &[0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125]);
    // 12 heads (bloom-1b7's 16 is a power of two): eight from 2^-1, then 2^-0.5 to the powers 1, 3, 5, 7.
    let r = 0.5f64.sqrt();
    close(alibi_slopes(12), &[0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625, r, r.powi(3), r.powi(5), r.powi(7)]);

    let facts = glassbox::card::BlockFacts::of(&load_model("bloom"));
    assert_eq!((facts.norm_placement, facts.embedding_norm, facts.final_norm, facts.residual_from_norm), ("pre", true, true, true));
    assert_eq!(facts.alibi_slopes.as_deref().map(<[f32]>::len), Some(6));
    assert!(!glassbox::card::BlockFacts::of(&load_model("bloom_plain")).residual_from_norm);
    let model = load_model("bloom");
    assert_eq!((model.info().positions, model.info().max_positions), (Positions::Alibi, None));
    assert!(model.position_vectors(glassbox::models::Stack::Decoder, 3).is_err(), "ALiBi has no position vectors");

    let (_, logits) = long_run(&Folder::fixture("bloom"), "bloom");
    let flipped = edited("bloom", |c| {
        c.insert("apply_residual_connection_post_layernorm".into(), false.into());
    });
    assert_ne!(long_run(&flipped, "bloom").1, logits, "apply_residual_connection_post_layernorm changes the logits");
    // Old configs name the width n_embed and the heads num_attention_heads; n_embed wins over hidden_size.
    let old_names = edited("bloom", |c| {
        let width = c.remove("hidden_size").unwrap();
        c.insert("n_embed".into(), width);
        c.insert("hidden_size".into(), 8.into());
        let heads = c.remove("n_head").unwrap();
        c.insert("num_attention_heads".into(), heads);
    });
    assert_eq!(long_run(&old_names, "bloom").1, logits);
    let odd = edited("bloom", |c| {
        c.insert("n_head".into(), 5.into());
    });
    assert!(load_error(&odd).contains("n_head"), "{}", load_error(&odd));
}

/// ELECTRA: the embeddings' width is `embedding_size` (ElectraConfig's 128 when left out), widened by
/// `embeddings_project`; the generator's head narrows back for the tied table; the discriminator loads
/// as an encoder without a masked-LM head; the card gives the narrow width.
#[test]
fn electra_widths_heads_and_card() {
    let generator = load_model("electra");
    assert!(generator.info().has_lm_head);
    assert_eq!(glassbox::card::BlockFacts::of(&generator).embedding_width, Some(32));
    let discriminator = load_model("electra_discriminator");
    assert!(!discriminator.info().has_lm_head, "the replaced-token head is not a masked-LM head");
    // The discriminator's head: one "replaced?" logit per token, as ElectraForPreTraining's.
    for (i, case) in cases("electra_discriminator").iter().enumerate() {
        let (input_ids, type_ids) = (ids(&case["input_ids"]), ids(&case["token_type_ids"]));
        let out = discriminator.forward_probed(&Inputs { ids: &input_ids, type_ids: Some(&type_ids), decoder_ids: None }, &Probe::default()).unwrap();
        let got = out.replaced_logits.unwrap_or_else(|| panic!("case {i}: no replaced-token logits"));
        assert_close(&format!("electra_discriminator case {i}: replaced logits"), &got, &flat(&case["replaced_logits"]), STATE_TOL);
    }
    let ids5 = [2u32, 10, 11, 3];
    let generated = generator.forward_probed(&Inputs { ids: &ids5, type_ids: None, decoder_ids: None }, &Probe::default()).unwrap();
    assert!(generated.replaced_logits.is_none(), "a generator has no replaced-token head");
    let left_out = edited("electra", |c| {
        c.remove("embedding_size");
    });
    let err = load_error(&left_out);
    assert!(err.contains("word_embeddings") && err.contains("128"), "a left-out embedding_size is 128, which this file's tables are not: {err}");
    let rows = generator.position_vectors(glassbox::models::Stack::Encoder, 2).unwrap();
    assert_eq!(rows.len(), 2 * 32, "position rows are the embeddings' width");
    let tokens = generator.token_embeddings(glassbox::models::Stack::Encoder, &[5, 6]).unwrap();
    assert_eq!((tokens.d_model, tokens.rows.len()), (32, 64));
    let bloom = load_model("bloom");
    let err = bloom.position_vectors(glassbox::models::Stack::Decoder, 2).unwrap_err().to_string();
    assert!(err.contains("ALiBi") && !err.contains("T5"), "{err}");
}

/// Config keys under which transformers computes something other than the checkpoint's model are
/// refused by name: BLOOM's slice-by-slice path (`slow_but_exact` with `pretraining_tp` > 1) leaves
/// out two biases, and an unshared Marian without its stacks' own tables would start them from
/// random numbers.
#[test]
fn configs_transformers_would_run_differently_are_refused_by_name() {
    let err = load_error(&edited("bloom", |c| {
        c.insert("pretraining_tp".into(), serde_json::json!(2));
        c.insert("slow_but_exact".into(), serde_json::json!(true));
    }));
    assert!(err.contains("slow_but_exact") && err.contains("biases"), "{err}");
    // pretraining_tp alone changes nothing (the fast path is the whole product).
    let fast = edited("bloom", |c| {
        c.insert("pretraining_tp".into(), serde_json::json!(2));
    });
    assert!(Model::load(&fast.files(), None).is_ok());
    let err = load_error(&edited("marian_tiny", |c| {
        c.insert("share_encoder_decoder_embeddings".into(), serde_json::json!(false));
    }));
    assert!(err.contains("encoder.embed_tokens.weight") && err.contains("share_encoder_decoder_embeddings"), "{err}");
}

/// GPTNeoConfig sets the file's own `attention_layers` over the list it computes from
/// `attention_types`, and each layer reads that list: when they disagree, the file's list decides
/// which layers are local (checked against the same kinds written as `attention_types`). A list of
/// the wrong length or with an unknown kind is refused by name, as transformers fails on it.
#[test]
fn gpt_neo_attention_layers_override_attention_types() {
    let ids: Vec<u32> = (1..40).collect();
    let logits = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let overridden = edited("gpt_neo", |c| {
        c.insert("attention_layers".into(), serde_json::json!(["local", "global", "global"]));
    });
    let same_by_types = edited("gpt_neo", |c| {
        c.insert("attention_types".into(), serde_json::json!([[["local"], 1], [["global"], 2]]));
        c.insert("attention_layers".into(), serde_json::json!(["local", "global", "global"]));
    });
    let plain = logits(&Folder::fixture("gpt_neo"));
    let (a, b) = (logits(&overridden), logits(&same_by_types));
    assert_eq!(a, b, "the file's attention_layers decide the kinds");
    // With the file's list, attention_types changes nothing, whatever it says (left out: GPTNeoConfig's
    // 24-layer default; too many layers; a kind GPT-Neo lacks): transformers checks only the list
    // (found by config_key_audit.py --drop-one, which saw the first refused).
    for types in [None, Some(serde_json::json!([[["global", "local"], 2]])), Some(serde_json::json!([[["global", "sparse"], 1], [["local"], 1]]))] {
        let folder = edited("gpt_neo", |c| match &types {
            None => drop(c.remove("attention_types")),
            Some(t) => drop(c.insert("attention_types".into(), t.clone())),
        });
        assert_eq!(logits(&folder), plain, "attention_layers alone decide the kinds ({types:?})");
    }
    assert!(a.iter().zip(&plain).any(|(x, y)| (x - y).abs() > 1e-4), "and they changed the model");
    for (list, word) in [(serde_json::json!(["local", "global"]), "names 2 layers"), (serde_json::json!(["local", "global", "sparse"]), "\"sparse\"")] {
        let err = load_error(&edited("gpt_neo", |c| {
            c.insert("attention_layers".into(), list.clone());
        }));
        assert!(err.contains("attention_layers") && err.contains(word), "{err}");
    }
}

// ---- Config keys transformers reads through its shared code (scripts/dev/config_key_audit.py) ----

/// `tests/fixtures/config_keys/reference.json` (scripts/fixtures/config_keys.py): a fixture of
/// tests/fixtures/models/ with its config.json edited, and transformers' logits on that folder.
fn config_key_case(name: &str) -> (Folder, Vec<Value>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/config_keys/reference.json");
    let all: Value = serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap();
    let case = &all["cases"][name];
    let folder = edited(case["fixture"].as_str().unwrap(), |c| {
        for key in case["remove"].as_array().unwrap() {
            c.remove(key.as_str().unwrap());
        }
        for (key, value) in case["set"].as_object().unwrap() {
            c.insert(key.clone(), value.clone());
        }
    });
    (folder, case["cases"].as_array().unwrap().clone())
}

/// The edited folder gives transformers' logits (a token classifier: its scores) on every input.
fn config_key_matches(name: &str) {
    let (folder, cases) = config_key_case(name);
    let model = Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{name}: loading failed: {e}"));
    for (i, case) in cases.iter().enumerate() {
        let input = ids(&case["input_ids"]);
        let decoder = case["decoder_ids"].as_array().map(|_| ids(&case["decoder_ids"]));
        let out = model.forward(&Inputs { ids: &input, type_ids: None, decoder_ids: decoder.as_deref() }, Capture::NONE).unwrap_or_else(|e| panic!("{name} case {i}: {e}"));
        let rows = ids(&case["logit_rows"]);
        let got = match &out.class_logits {
            Some(scores) => scores.clone(),
            None => pick_rows(out.logits.as_ref().expect("logits"), model.info().vocab_size, &rows),
        };
        assert_close(&format!("{name} case {i}: logits rows {rows:?}"), &got, &flat(&case["logits"]), STATE_TOL);
    }
}

/// `token_classification_bias: false`: the generic token head (Llama family) has no bias, and the one
/// stored in the file goes unread, as in HF.
#[test]
fn token_classification_bias_false_drops_the_token_heads_bias() {
    config_key_matches("qwen2_tagger_no_token_bias");
}

/// ModernBERT's `sliding_window` sets the band to twice itself (ModernBertConfig's setter), over
/// the file's `local_attention`; null is refused by name (transformers fails on it).
#[test]
fn modernbert_sliding_window_sets_the_band() {
    config_key_matches("modernbert_sliding_window");
    let err = load_error(&edited("modernbert", |c| {
        c.insert("sliding_window".into(), Value::Null);
    }));
    assert!(err.contains("sliding_window") && err.contains("null"), "{err}");
}

/// GPT-NeoX's rotary embedding reads a `head_dim` from config.json (no GPTNeoXConfig key): the
/// rotation's width and frequencies follow it, the heads keep `hidden_size / heads`. A rotation wider
/// than the head, on which transformers fails, is refused by name; so is a ModernBERT `head_dim` that
/// differs from its heads' width (transformers fails on any).
#[test]
fn rotary_head_dim_outside_the_config_class() {
    config_key_matches("gpt_neox_head_dim");
    let err = load_error(&edited("gpt_neox", |c| {
        c.insert("head_dim".into(), serde_json::json!(40));
    }));
    assert!(err.contains("head_dim") && err.contains("turns 20"), "{err}");
    let err = load_error(&edited("modernbert", |c| {
        c.insert("head_dim".into(), serde_json::json!(8));
    }));
    assert!(err.contains("head_dim"), "{err}");
    assert!(Model::load(&edited("modernbert", |c| {
        c.insert("head_dim".into(), serde_json::json!(16));
    }).files(), None).is_ok(), "a head_dim equal to the heads' width changes nothing");
}

/// A config class's `attribute_map`: a size written under its alias sets the key the loader reads,
/// and wins over that key when both are there (the fixtures carry a wrong head count beside it).
#[test]
fn config_aliases_are_read_as_their_keys() {
    for name in ["gpt2_aliases", "t5_aliases", "bart_aliases", "distilbert_aliases", "bloom_aliases", "gpt_neo_aliases"] {
        config_key_matches(name);
    }
}

/// `is_causal` false (or null, as Python reads it) makes transformers' causal mask bidirectional in
/// every decoder built on `create_causal_mask`: refused by name. GPT-Neo builds its own mask and
/// ignores the key, encoders never read it, and Gemma 3's image-and-text model reads only
/// `text_config`'s (checked against transformers: 2.0 apart on the logits; the outer key, 0).
#[test]
fn is_causal_false_is_refused_by_name() {
    for name in ["llama_gqa", "gpt2", "opt", "bloom", "gpt_neox", "phi", "phi3", "gemma3", "t5_tiny", "bart_tiny"] {
        for value in [Value::Bool(false), Value::Null, serde_json::json!(0)] {
            let err = load_error(&edited(name, |c| {
                c.insert("is_causal".into(), value.clone());
            }));
            assert!(err.contains("is_causal") && err.contains("is off"), "{name} ({value}): {err}");
        }
        let model = Model::load(&edited(name, |c| {
            c.insert("is_causal".into(), Value::Bool(true));
        }).files(), None);
        assert!(model.is_ok(), "{name}: is_causal true is the default");
    }
    for name in ["gpt_neo", "bert", "modernbert", "gemma3_vision"] {
        let model = Model::load(&edited(name, |c| {
            c.insert("is_causal".into(), Value::Bool(false));
        }).files(), None);
        assert!(model.is_ok(), "{name}: transformers does not read is_causal here");
    }
    // Gemma 3's image-and-text model reads its language model's key.
    let err = load_error(&edited("gemma3_vision", |c| {
        c["text_config"].as_object_mut().unwrap().insert("is_causal".into(), Value::Bool(false));
    }));
    assert!(err.contains("text_config.is_causal"), "{err}");
}

/// A window written into the config of a family that defines none still reaches transformers'
/// generation cache, which then drops keys its forward pass attends to: refused by name. A null
/// window is none, and loads.
#[test]
fn windows_in_families_without_them_are_refused_by_name() {
    for name in ["gpt2", "gpt_neo", "opt", "bloom", "gpt_neox", "phi", "t5_tiny", "bart_tiny"] {
        for (key, value) in [("sliding_window", serde_json::json!(4)), ("attention_chunk_size", serde_json::json!(4)), ("layer_types", serde_json::json!(["sliding_attention"]))] {
            let err = load_error(&edited(name, |c| {
                c.insert(key.into(), value.clone());
            }));
            assert!(err.contains(key), "{name}: {err}");
        }
        let model = Model::load(&edited(name, |c| {
            c.insert("sliding_window".into(), Value::Null);
        }).files(), None);
        assert!(model.is_ok(), "{name}: no window: {:?}", model.err().map(|e| e.to_string()));
    }
}

/// `per_layer_config` (transformers 5's per-layer settings) is refused by name in every family.
#[test]
fn per_layer_config_is_refused_by_name() {
    for name in ["llama_gqa", "gpt2", "bert", "t5_tiny"] {
        let err = load_error(&edited(name, |c| {
            c.insert("per_layer_config".into(), serde_json::json!({"0": {"intermediate_size": 8}}));
        }));
        assert!(err.contains("per_layer_config"), "{name}: {err}");
    }
}

/// `transformers_weights` (transformers 5 loads the file it names instead of model.safetensors) is
/// refused by name in every family unless it names the file Glassbox reads anyway.
#[test]
fn transformers_weights_naming_another_file_is_refused() {
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).info().n_params;
    for name in ["llama_gqa", "gpt2", "bert", "t5_tiny"] {
        let err = load_error(&edited(name, |c| {
            c.insert("transformers_weights".into(), serde_json::json!("finetuned.safetensors"));
        }));
        assert!(err.contains("transformers_weights") && err.contains("finetuned.safetensors"), "{name}: {err}");
        for same in [serde_json::json!("model.safetensors"), serde_json::Value::Null] {
            assert_eq!(run(&edited(name, |c| { c.insert("transformers_weights".into(), same.clone()); })), run(&Folder::fixture(name)));
        }
    }
}

/// StableLM: the fixtures hold what they claim, the card says it, the keys that change the numbers
/// bite, and those left out take StableLmConfig's defaults.
#[test]
fn stablelm_fixtures_cards_defaults_and_keys_that_bite() {
    let names = |name: &str| -> Vec<String> {
        let bytes = Folder::fixture(name).weights.expect("weights");
        safetensors::SafeTensors::deserialize(&bytes).unwrap().names().into_iter().map(String::from).collect()
    };
    let plain_names = names("stablelm");
    assert!(plain_names.iter().any(|n| n.ends_with("input_layernorm.bias")) && plain_names.iter().any(|n| n.ends_with("q_proj.bias")));
    assert!(!plain_names.iter().any(|n| n.ends_with("o_proj.bias") || n.contains("q_layernorm")));
    let parallel_names = names("stablelm_parallel");
    assert!(parallel_names.iter().any(|n| n.ends_with("self_attn.q_layernorm.norms.3.weight")));
    assert!(!parallel_names.iter().any(|n| n.contains("post_attention_layernorm") || n.ends_with("q_proj.bias")));

    let facts = glassbox::card::BlockFacts::of(&load_model("stablelm"));
    assert_eq!((facts.norm_kind, facts.norm_placement, facts.norm_learns), ("LayerNorm", "pre", Some("scale and shift")));
    assert_eq!((facts.rotary_dims, facts.d_head, facts.parallel_residual, facts.qk_norm), (Some(4), 16, false, false));
    assert!(facts.gated_ffn && !facts.tied_embeddings);
    let facts = glassbox::card::BlockFacts::of(&load_model("stablelm_parallel"));
    assert!(facts.parallel_residual && facts.parallel_shared_norm && facts.qk_norm && facts.qk_norm_per_head && facts.qk_norm_own_scales);
    assert_eq!((facts.rotary_dims, facts.tied_embeddings), (Some(8), true));
    let qwen3 = glassbox::card::BlockFacts::of(&load_model("qwen3"));
    assert!(qwen3.qk_norm_per_head && !qwen3.qk_norm_own_scales && qwen3.norm_learns.is_none());

    let ids: Vec<u32> = (3..30).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    // Left out, a quarter of each head turns (StableLmConfig's default): the fixture's own value.
    let plain = run(&Folder::fixture("stablelm"));
    assert_eq!(run(&edited("stablelm", |c| { c["rope_parameters"].as_object_mut().unwrap().remove("partial_rotary_factor"); })), plain);
    assert_ne!(run(&edited("stablelm", |c| { c["rope_parameters"]["partial_rotary_factor"] = serde_json::json!(0.5); })), plain);
    // layer_norm_eps left out is 1e-5 (the fixture's); the Llama key rms_norm_eps is not StableLM's.
    assert_eq!(run(&edited("stablelm", |c| { c.remove("layer_norm_eps"); })), plain);
    assert_eq!(run(&edited("stablelm", |c| { c.insert("rms_norm_eps".into(), serde_json::json!(0.5)); })), plain);
    assert_ne!(run(&edited("stablelm", |c| { c.insert("layer_norm_eps".into(), serde_json::json!(0.5)); })), plain);
    // Llama's bias keys are not read: StableLM's biases follow use_qkv_bias alone.
    assert_eq!(run(&edited("stablelm", |c| { c.insert("attention_bias".into(), serde_json::json!(false)); })), plain);
    assert_ne!(run(&edited("stablelm", |c| { c.insert("use_qkv_bias".into(), serde_json::json!(false)); })), plain); // stored biases unread, as in HF
    // The parallel block and the per-head norms change the numbers: the fixture run with either
    // switched off reads other tensors (refused as missing) or differs.
    let parallel = run(&Folder::fixture("stablelm_parallel"));
    let err = load_error(&edited("stablelm_parallel", |c| { c.insert("use_parallel_residual".into(), serde_json::json!(false)); }));
    assert!(err.contains("post_attention_layernorm"), "{err}");
    assert_ne!(run(&edited("stablelm_parallel", |c| { c.insert("qk_layernorm".into(), serde_json::json!(false)); })), parallel);
    // A head_dim other than hidden_size / heads, and an uneven split, are refused by name.
    for (key, value) in [("head_dim", serde_json::json!(8)), ("num_attention_heads", serde_json::json!(6))] {
        let err = load_error(&edited("stablelm", |c| { c.insert(key.into(), value.clone()); }));
        assert!(err.contains(key), "{err}");
    }
    assert!(load_error(&edited("stablelm", |c| { c.insert("sliding_window".into(), serde_json::json!(8)); })).contains("sliding_window"));
    // Special ids and key/value heads left out: StableLmConfig's bos/eos 0 and 32 key/value heads.
    let mut defaults = edited("stablelm", |c| { c.remove("bos_token_id"); c.remove("eos_token_id"); c.remove("num_key_value_heads"); c.insert("num_attention_heads".into(), serde_json::json!(32)); c.insert("hidden_size".into(), serde_json::json!(256)); });
    defaults.weights = None;
    let Model::Llama(m) = Model::load(&defaults.files(), Some(7)).unwrap_or_else(|e| panic!("{e}")) else { unreachable!() };
    assert_eq!((m.n_kv_heads, m.info.bos_token_id, m.info.eos_token_id, m.info.max_positions), (32, Some(0), Some(0), Some(64)));
}

/// OLMo 1: no norm weights in the file (its LayerNorms learn nothing), clip_qkv bites and is
/// refused when it is not a number, the card says both, and left-out keys take OlmoConfig's defaults.
#[test]
fn olmo_fixture_card_defaults_and_keys_that_bite() {
    let bytes = Folder::fixture("olmo").weights.expect("weights");
    let names: Vec<String> = safetensors::SafeTensors::deserialize(&bytes).unwrap().names().into_iter().map(String::from).collect();
    assert!(!names.iter().any(|n| n.contains("norm")), "OLMo 1 stores no norm weights: {names:?}");
    assert!(names.iter().any(|n| n.ends_with("o_proj.bias")), "attention_bias reaches o_proj");
    let facts = glassbox::card::BlockFacts::of(&load_model("olmo"));
    assert_eq!((facts.norm_kind, facts.norm_placement, facts.norm_learns, facts.clip_qkv), ("LayerNorm", "pre", Some("nothing"), Some(0.9)));
    assert!(!facts.qk_norm && !facts.parallel_residual && facts.rotary_dims.is_none());
    assert_eq!(glassbox::card::BlockFacts::of(&load_model("stablelm")).clip_qkv, None);

    let ids: Vec<u32> = (3..30).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("olmo"));
    assert_ne!(run(&edited("olmo", |c| { c.insert("clip_qkv".into(), Value::Null); })), plain, "clip_qkv bites on the fixture");
    assert_eq!(run(&edited("olmo", |c| { c.insert("clip_qkv".into(), serde_json::json!(1e9)); })),
        run(&edited("olmo", |c| { c.remove("clip_qkv"); })), "a bound nothing reaches is no clipping");
    // No key sets OLMo 1's norm epsilon (1e-5 always): rms_norm_eps and layer_norm_eps change nothing.
    for key in ["rms_norm_eps", "layer_norm_eps"] {
        assert_eq!(run(&edited("olmo", |c| { c.insert(key.into(), serde_json::json!(0.5)); })), plain, "{key}");
    }
    assert!(load_error(&edited("olmo", |c| { c.insert("clip_qkv".into(), serde_json::json!("8")); })).contains("clip_qkv"));
    assert!(load_error(&edited("olmo", |c| { c.insert("sliding_window".into(), serde_json::json!(8)); })).contains("sliding_window"));
    // Left out: OlmoConfig's query heads as key/value heads, no bos, eos 50279, pad 1, 2048 positions.
    let mut defaults = edited("olmo", |c| {
        for key in ["num_key_value_heads", "bos_token_id", "eos_token_id", "pad_token_id", "max_position_embeddings"] {
            c.remove(key);
        }
    });
    defaults.weights = None;
    let Model::Llama(m) = Model::load(&defaults.files(), Some(7)).unwrap_or_else(|e| panic!("{e}")) else { unreachable!() };
    assert_eq!((m.n_kv_heads, m.info.bos_token_id, m.info.eos_token_id, m.info.pad_token_id, m.info.max_positions), (4, None, Some(50279), Some(1), Some(2048)));
}

/// StarCoder2: an ungated MLP with biases, LayerNorms with biases, a window on every layer (masked
/// in the forward pass, as HF's sliding mask); the card says so; its keys bite and default as
/// Starcoder2Config's.
#[test]
fn starcoder2_fixture_card_defaults_and_keys_that_bite() {
    let bytes = Folder::fixture("starcoder2").weights.expect("weights");
    let names: Vec<String> = safetensors::SafeTensors::deserialize(&bytes).unwrap().names().into_iter().map(String::from).collect();
    for tensor in ["mlp.c_fc.bias", "mlp.c_proj.bias", "o_proj.bias", "input_layernorm.bias", "norm.bias"] {
        assert!(names.iter().any(|n| n.ends_with(tensor)), "starcoder2 stores {tensor}");
    }
    assert!(!names.iter().any(|n| n.contains("gate_proj") || n == "lm_head.weight"));
    let facts = glassbox::card::BlockFacts::of(&load_model("starcoder2"));
    assert_eq!((facts.norm_kind, facts.norm_learns, facts.gated_ffn, facts.activation.as_str()), ("LayerNorm", Some("scale and shift"), false, "gelu_pytorch_tanh"));
    assert_eq!((facts.sliding_layers.clone(), facts.sliding_window, facts.tied_embeddings), (vec![0, 1], Some(6), true));
    assert!(glassbox::card::BlockFacts::of(&load_model("llama_gqa")).gated_ffn);

    let ids: Vec<u32> = (3..30).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("starcoder2"));
    // The window masks in the forward pass: without it every key is seen (27 tokens > 6).
    assert_ne!(run(&edited("starcoder2", |c| { c.insert("sliding_window".into(), Value::Null); })), plain);
    // Left out: use_bias true, tied, the tanh GELU, norm_epsilon 1e-5 (the fixture's own values).
    assert_eq!(run(&edited("starcoder2", |c| { c.remove("use_bias"); c.remove("tie_word_embeddings"); c.remove("hidden_act"); c.remove("norm_epsilon"); })), plain);
    assert_ne!(run(&edited("starcoder2", |c| { c.insert("use_bias".into(), serde_json::json!(false)); })), plain, "use_bias false reads no bias");
    assert_ne!(run(&edited("starcoder2", |c| { c.insert("norm_epsilon".into(), serde_json::json!(0.5)); })), plain);
    assert_ne!(run(&edited("starcoder2", |c| { c.insert("hidden_act".into(), serde_json::json!("gelu")); })), plain);
    // Llama's keys are not StarCoder2's: rms_norm_eps and mlp_bias change nothing.
    assert_eq!(run(&edited("starcoder2", |c| { c.insert("rms_norm_eps".into(), serde_json::json!(0.5)); c.insert("mlp_bias".into(), serde_json::json!(false)); })), plain);
    for (key, value) in [("layer_types", serde_json::json!(["sliding_attention", "full_attention"])), ("sliding_window", serde_json::json!(0))] {
        assert!(load_error(&edited("starcoder2", |c| { c.insert(key.into(), value.clone()); })).contains(key), "{key}");
    }
    let mut defaults = edited("starcoder2", |c| {
        for key in ["num_key_value_heads", "bos_token_id", "eos_token_id", "pad_token_id", "max_position_embeddings", "sliding_window"] {
            c.remove(key);
        }
    });
    defaults.weights = None;
    let Model::Llama(m) = Model::load(&defaults.files(), Some(7)).unwrap_or_else(|e| panic!("{e}")) else { unreachable!() };
    assert_eq!((m.n_kv_heads, m.info.bos_token_id, m.info.eos_token_id, m.info.pad_token_id, m.info.max_positions), (2, Some(50256), Some(50256), None, Some(4096)));
    assert_eq!(m.sliding_layers(), (vec![], None), "no window unless given");
}

/// Cohere: the parallel block from one bias-free LayerNorm, interleaved rotary pairs, per-head q/k
/// norms with a scale per head, logits times logit_scale; the card says so; the keys bite and
/// default as CohereConfig's.
#[test]
fn cohere_fixture_card_defaults_and_keys_that_bite() {
    let facts = glassbox::card::BlockFacts::of(&load_model("cohere"));
    assert_eq!((facts.norm_kind, facts.norm_learns, facts.logit_scale, facts.rotary_interleaved), ("LayerNorm", Some("scale"), Some(0.25), true));
    assert!(facts.parallel_residual && facts.parallel_shared_norm && facts.qk_norm && facts.qk_norm_per_head && facts.qk_norm_own_scales && facts.tied_embeddings);
    assert!(!glassbox::card::BlockFacts::of(&load_model("llama_gqa")).rotary_interleaved);

    let ids: Vec<u32> = (3..30).collect();
    let run = |folder: &Folder| Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}")).forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().logits.unwrap();
    let plain = run(&Folder::fixture("cohere"));
    // logit_scale multiplies: left out it is 0.0625, a quarter of the fixture's 0.25.
    let default_scale = run(&edited("cohere", |c| { c.remove("logit_scale"); }));
    for (a, b) in plain.iter().zip(&default_scale) {
        assert!((a / 4.0 - b).abs() <= 1e-6 * a.abs().max(1.0), "{a} {b}");
    }
    assert!(load_error(&edited("cohere", |c| { c.insert("logit_scale".into(), Value::Null); })).contains("logit_scale"));
    assert_ne!(run(&edited("cohere", |c| { c.insert("use_qk_norm".into(), serde_json::json!(false)); })), plain);
    assert_ne!(run(&edited("cohere", |c| { c.insert("layer_norm_eps".into(), serde_json::json!(0.5)); })), plain);
    assert!(load_error(&edited("cohere", |c| { c.insert("sliding_window".into(), serde_json::json!(8)); })).contains("sliding_window"));
    assert!(load_error(&edited("cohere", |c| { c["rope_parameters"]["partial_rotary_factor"] = serde_json::json!(0.5); })).contains("partial_rotary_factor"));
    let mut defaults = edited("cohere", |c| {
        for key in ["num_key_value_heads", "bos_token_id", "eos_token_id", "pad_token_id", "max_position_embeddings", "tie_word_embeddings"] {
            c.remove(key);
        }
        c.insert("vocab_size".into(), serde_json::json!(255_100));
    });
    defaults.weights = None;
    let Model::Llama(m) = Model::load(&defaults.files(), Some(7)).unwrap_or_else(|e| panic!("{e}")) else { unreachable!() };
    assert_eq!((m.n_kv_heads, m.info.bos_token_id, m.info.eos_token_id, m.info.pad_token_id, m.info.max_positions), (4, Some(5), Some(255_001), Some(0), Some(8192)));
    assert!(m.head_is_embedding_table(), "tied when left out");
}

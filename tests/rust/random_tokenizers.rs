//! Pipelines that scripts/dev/random_tokenizers.py found cut differently from Hugging Face, kept as
//! regressions. Each folder under tests/fixtures/random_tokenizers (written by
//! scripts/fixtures/random_tokenizers.py) holds a tokenizer.json and transformers' reference.json:
//! the ids, tokens and character offsets to reproduce, or the words a refusal must contain.

use glassbox::tokenizer::Tokenizer;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/random_tokenizers").join(name)
}

fn load(name: &str) -> glassbox::error::Result<Tokenizer> {
    let read = |f: &str| std::fs::read(folder(name).join(f)).ok();
    let json = read("tokenizer.json").unwrap_or_else(|| panic!("missing {name}/tokenizer.json"));
    Tokenizer::for_model(&json, read("tokenizer_config.json").as_deref(), None, None)
}

fn reference(name: &str) -> Value {
    let bytes = std::fs::read(folder(name).join("reference.json")).expect("reference.json");
    serde_json::from_slice(&bytes).expect("reference.json is JSON")
}

/// Every case's ids, tokens and offsets against transformers'; all differences reported at once.
fn matches_hf(name: &str) {
    let tok = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let r = reference(name);
    let cases = r["cases"].as_array().expect("cases");
    assert!(!cases.is_empty(), "{name}: no cases");
    let mut failures = vec![];
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let want_ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).expect("ids");
        let want_tokens: Vec<String> = serde_json::from_value(case["tokens"].clone()).expect("tokens");
        let want_offsets: Vec<(usize, usize)> = serde_json::from_value(case["offsets"].clone()).expect("offsets");
        let want_types: Vec<u32> = serde_json::from_value(case["type_ids"].clone()).expect("type_ids");
        let pair = case["pair"].as_str();
        let got = match pair {
            Some(p) => tok.encode_pair(text, p, true),
            None => tok.encode(text, true),
        };
        match got {
            Err(e) => failures.push(format!("{text:?} {pair:?}: error {e}")),
            Ok(enc) if (&enc.ids, &enc.tokens, &enc.offsets, &enc.type_ids) != (&want_ids, &want_tokens, &want_offsets, &want_types) => failures.push(format!(
                "{text:?} {pair:?}\n   got  {:?} {:?} {:?}\n   want {want_tokens:?} {want_offsets:?} {want_types:?}",
                enc.tokens, enc.offsets, enc.type_ids
            )),
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "{name}: {} differences from Hugging Face:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn byte_fallback_offsets_past_the_text_convert_as_hf() {
    // The bytes of `##` and `</w>` become one-byte tokens, so a word's last offsets run past the
    // text; transformers turns such an end into start + 2 characters.
    matches_hf("byte_fallback_offsets_past_text");
    matches_hf("byte_fallback_prefix_suffix");
    matches_hf("byte_fallback_prefix_metaspace");
}

#[test]
fn word_class_inside_brackets_leaves_out_latin1_number_signs() {
    // Oniguruma: the bare `\w` takes ² ³ ¹ ¼ ½ ¾, `[\w]` does not and `[\W]`, `[^\w\s]` do.
    matches_hf("word_class_split");
    matches_hf("word_class_bracketed");
}

#[test]
fn empty_second_text_is_no_second_text() {
    // transformers tests `text_pair` for truth; a non-empty pair (a lone space included) still
    // goes through the pair template.
    matches_hf("empty_second_text");
}

#[test]
fn added_token_the_normalizer_erases_is_refused_by_name() {
    let name = "empty_normalized_added_token";
    let err = load(name).err().unwrap_or_else(|| panic!("{name}: loaded, but transformers cuts its text into single characters"));
    let message = err.to_string();
    let r = reference(name);
    for word in r["refusal_mentions"].as_array().expect("refusal_mentions") {
        let word = word.as_str().expect("a string");
        assert!(message.contains(word), "{name}: the refusal should mention {word:?}: {message}");
    }
    // What the refusal spares users: transformers' cut of a plain sentence is one token a character.
    let case = &r["cases"][0];
    let chars = case["text"].as_str().expect("text").chars().filter(|c| !c.is_whitespace()).count();
    assert!(case["ids"].as_array().expect("ids").len() >= chars, "the reference should show transformers' per-character cut");
}

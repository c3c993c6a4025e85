//! Folders with a slow tokenizer's files and no tokenizer.json (BERT's vocab.txt, GPT-2's and
//! RoBERTa's vocab.json + merges.txt): Glassbox's tokenizer equals what transformers 5 builds from
//! them (ids, token strings, decoded text, a pair), the CLI reads such a folder, and a class whose
//! pipeline Glassbox does not build from slow files is refused with how to save a tokenizer.json.
//! Fixtures: `scripts/fixtures/slow_tokenizers.py`.

use glassbox::tokenizer::slow::{tokenizer_json, SlowFiles};
use glassbox::tokenizer::Tokenizer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/slow_tokenizers").join(case)
}

fn read(case: &str, file: &str) -> Option<Vec<u8>> {
    std::fs::read(dir(case).join(file)).ok()
}

/// The case's slow files written out and loaded as the folder's model type and config make them.
fn load(case: &str, model_type: &str, config: Option<&[u8]>) -> glassbox::Result<Tokenizer> {
    let (txt, json, merges) = (read(case, "vocab.txt"), read(case, "vocab.json"), read(case, "merges.txt"));
    let written = tokenizer_json(&SlowFiles { vocab_txt: txt.as_deref(), vocab_json: json.as_deref(), merges_txt: merges.as_deref() })?;
    Tokenizer::for_model(&written, config, None, Some(model_type))
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

const CASES: [(&str, &str); 6] = [("bert", "bert"), ("bert_cased", "bert"), ("distilbert", "distilbert"), ("gpt2", "gpt2"), ("opt", "opt"), ("roberta", "roberta")];

#[test]
fn slow_files_tokenize_as_transformers_builds_them() {
    for (case, model_type) in CASES {
        let config = read(case, "tokenizer_config.json");
        let tok = load(case, model_type, config.as_deref()).unwrap_or_else(|e| panic!("{case}: {e}"));
        let reference: Value = serde_json::from_slice(&read(case, "reference.json").unwrap()).unwrap();
        for row in reference["encode"].as_array().unwrap() {
            let text = row["text"].as_str().unwrap();
            let enc = tok.encode(text, true).unwrap();
            assert_eq!(enc.ids, ids(&row["ids"]), "{case}: ids of {text:?}");
            let tokens: Vec<&str> = row["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
            assert_eq!(enc.tokens, tokens, "{case}: tokens of {text:?}");
            assert_eq!(tok.decode(&enc.ids, false).unwrap(), row["decoded"].as_str().unwrap(), "{case}: decode of {text:?}");
            assert_eq!(tok.decode(&enc.ids, true).unwrap(), row["decoded_skip"].as_str().unwrap(), "{case}: decode (skipping specials) of {text:?}");
        }
        let pair = &reference["pair"];
        let enc = tok.encode_pair(pair["text"].as_str().unwrap(), pair["pair"].as_str().unwrap(), true).unwrap();
        assert_eq!(enc.ids, ids(&pair["ids"]), "{case}: pair ids");
        if let Some(types) = pair["token_type_ids"].as_array() {
            assert_eq!(enc.type_ids, types.iter().map(|t| t.as_u64().unwrap() as u32).collect::<Vec<_>>(), "{case}: pair type ids");
        }
    }
}

#[test]
fn a_class_glassbox_does_not_build_from_slow_files_is_refused() {
    // vocab.txt under a class whose slow files are not a WordPiece vocabulary Glassbox rebuilds.
    let m = load("bert", "bert", Some(br#"{"tokenizer_class": "XLMRobertaTokenizer"}"#)).unwrap_err().to_string();
    assert!(m.contains("vocab.txt") && m.contains("XLMRobertaTokenizer") && m.contains("save_pretrained"), "{m}");
    // The generic class has no pipeline of its own: the file would run with none.
    let m = load("gpt2", "llama", None).unwrap_err().to_string();
    assert!(m.contains("vocab.json and merges.txt") && m.contains("save_pretrained"), "{m}");
    // A broken merges line, a bos the vocabulary lacks.
    let vocab = read("gpt2", "vocab.json").unwrap();
    let bad = tokenizer_json(&SlowFiles { vocab_txt: None, vocab_json: Some(&vocab), merges_txt: Some(b"#version: 0.2\na b\nc d e\n") });
    assert!(bad.unwrap_err().to_string().contains("merges.txt: line 3"));
    let empty = tokenizer_json(&SlowFiles { vocab_txt: None, vocab_json: Some(b"{}"), merges_txt: Some(b"") });
    assert!(empty.unwrap_err().to_string().contains("holds no tokens"));
    // A bos the vocabulary lacks is added as a new token, as transformers adds every named special
    // token, and the template puts it first.
    let tok = load("gpt2", "gpt2", Some(br#"{"add_bos_token": true, "bos_token": "<new>"}"#)).unwrap();
    let enc = tok.encode("The", true).unwrap();
    assert_eq!((enc.tokens[0].as_str(), enc.ids[0]), ("<new>", 600));
}

#[test]
fn the_cli_reads_a_folder_with_only_slow_files() {
    let text = "Hello, Wörld! Ça va? naïve café";
    for (case, _) in CASES {
        let out = Command::new(env!("CARGO_BIN_EXE_glassbox")).args(["tokenize", dir(case).to_str().unwrap(), "--text", text]).output().unwrap();
        assert!(out.status.success(), "{case}: {}", String::from_utf8_lossy(&out.stderr));
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        let reference: Value = serde_json::from_slice(&read(case, "reference.json").unwrap()).unwrap();
        let want = reference["encode"].as_array().unwrap().iter().find(|r| r["text"] == text).unwrap();
        assert_eq!(ids(&got["cases"][0]["ids"]), ids(&want["ids"]), "{case}: the CLI's ids");
    }
}

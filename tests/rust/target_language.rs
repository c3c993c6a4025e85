//! `--tgt-lang CODE`: the code's token forced first when generating, as transformers'
//! `generate(forced_bos_token_id=...)` does (how NLLB and mBART-50 are told their target language).
//! The references are transformers' greedy generations on the tiny BART and Marian fixtures
//! (scripts/fixtures/target_language.py -> tests/fixtures/target_language.json).

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox")).args(args).output().expect("run glassbox")
}

/// `inspect --generate 8` with and without `--tgt-lang`: the new ids, as transformers generated them.
#[test]
fn forced_target_language_matches_transformers() {
    let reference: Value = serde_json::from_slice(&std::fs::read(root().join("tests/fixtures/target_language.json")).unwrap()).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 6, "the reference holds too few cases");
    let mut forced = 0;
    for case in cases {
        let dir = root().join("tests/fixtures/models").join(case["model"].as_str().unwrap());
        let dir = dir.to_str().unwrap();
        let text = case["text"].as_str().unwrap();
        let mut args = vec!["inspect", dir, "--text", text, "--generate", "8"];
        if let Some(code) = case["tgt_lang"].as_str() {
            args.extend(["--tgt-lang", code]);
            forced += 1;
        }
        let out = glassbox(&args);
        assert!(out.status.success(), "glassbox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        let got: Vec<u64> = got["cases"][0]["generated_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        // transformers' sequence starts with the decoder start token, which is not generated.
        let want: Vec<u64> = case["generated_ids"].as_array().unwrap()[1..].iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(got, want, "{args:?}");
        if case["tgt_lang"].is_string() {
            let id = want[0];
            assert_ne!(Some(&id), cases.iter().find(|c| c["model"] == case["model"] && c["tgt_lang"].is_null()).map(|c| &c["generated_ids"][1]).and_then(Value::as_u64).as_ref(), "the forced token must differ from the unforced first token for the case to test anything");
        }
    }
    assert!(forced >= 4);
}

/// A code that is no token of the vocabulary is refused by name, with what to give instead.
#[test]
fn unknown_target_language_is_refused_by_name() {
    let dir = root().join("tests/fixtures/models/marian_tiny");
    let out = glassbox(&["generate", dir.to_str().unwrap(), "--text", "Hello", "--tgt-lang", "xx_Nowhere"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"xx_Nowhere\"") && err.contains("fra_Latn"), "{err}");
    // A command that does not generate does not take it.
    let out = glassbox(&["tokenize", dir.to_str().unwrap(), "--text", "Hello", "--tgt-lang", "fra_Latn"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tgt-lang"));
}

/// Whole translation folders (an NLLB-shaped M2M100 and an mBART-50-shaped mBART with their tokenizers,
/// scripts/fixtures/translation_models.py): for each source language (`--src-lang`) and target language
/// (`--tgt-lang`), the input ids and the greedy generation equal transformers' (its translation pipeline
/// passes the target's code as `forced_bos_token_id`).
#[test]
fn translation_models_take_source_and_target_languages_as_transformers_does() {
    for name in ["nllb_tiny", "mbart50_tiny", "m2m100_tiny"] {
        let dir = root().join("tests/fixtures/translation_models").join(name);
        let reference: Value = serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
        let cases = reference["cases"].as_array().unwrap();
        assert!(cases.len() >= 8, "{name}: too few cases");
        let dir = dir.to_str().unwrap();
        for case in cases {
            let (text, src) = (case["text"].as_str().unwrap(), case["src_lang"].as_str().unwrap());
            let mut args = vec!["inspect", dir, "--text", text, "--src-lang", src, "--generate", "8"];
            if let Some(tgt) = case["tgt_lang"].as_str() {
                args.extend(["--tgt-lang", tgt]);
            }
            let out = glassbox(&args);
            assert!(out.status.success(), "glassbox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            let got: Value = serde_json::from_slice(&out.stdout).unwrap();
            let got = &got["cases"][0];
            assert_eq!(got["ids"], case["input_ids"], "{name} {src}: input ids");
            assert_eq!(got["tokens"], case["tokens"], "{name} {src}: tokens");
            assert_eq!(got["generated_ids"], case["generated_ids"], "{args:?}");
        }
        // The source language's code is where the tokenizer puts it, and a code it lacks is refused with its codes.
        let out = glassbox(&["tokenize", dir, "--text", "Hello", "--src-lang", "xx_Nowhere"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("xx_Nowhere"));
    }
}

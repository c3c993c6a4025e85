//! The tokenizer classes of mBART, mBART-50, NLLB and Pegasus, whose transformers 5 `__init__`
//! rebuilds the pipeline around tokenizer.json's vocabulary: Glassbox against `AutoTokenizer`
//! (ids, tokens, offsets, decoded text, pairs) for each folder's own `src_lang` and others, NLLB
//! with and without `legacy_behaviour`, folders in transformers 4's form (whose file pipeline
//! transformers 5 ignores); and the refusals: a `src_lang` that is not a language code, NLLB
//! without its codes, M2M100Tokenizer over a tokenizer.json or a BPE model. Fixtures: `scripts/fixtures/translation_tokenizers.py`.

use glassbox::tokenizer::Tokenizer;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const FOLDERS: [&str; 9] = ["mbart", "mbart_hub", "mbart50", "mbart50_hub", "nllb", "nllb_legacy", "nllb_hub", "pegasus", "pegasus_offset10"];

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/translation_tokenizers").join(name)
}

fn read(name: &str, file: &str) -> Vec<u8> {
    std::fs::read(dir(name).join(file)).unwrap_or_else(|e| panic!("{name}/{file}: {e}"))
}

fn model_type(name: &str) -> String {
    let config: Value = serde_json::from_slice(&read(name, "config.json")).unwrap();
    config["model_type"].as_str().unwrap().to_string()
}

fn load_with(name: &str, tokenizer_config: &[u8], model_type: Option<&str>) -> glassbox::Result<Tokenizer> {
    Tokenizer::for_model(&read(name, "tokenizer.json"), Some(tokenizer_config), None, model_type)
}

fn load(name: &str) -> Tokenizer {
    load_with(name, &read(name, "tokenizer_config.json"), Some(&model_type(name))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn config_with(name: &str, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut config: Value = serde_json::from_slice(&read(name, "tokenizer_config.json")).unwrap();
    change(config.as_object_mut().unwrap());
    serde_json::to_vec(&config).unwrap()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

#[test]
fn each_class_tokenizes_and_decodes_as_auto_tokenizer_for_each_src_lang() {
    let mut checked = 0;
    for name in FOLDERS {
        let reference: Value = serde_json::from_slice(&read(name, "reference.json")).unwrap();
        for run in reference.as_array().unwrap() {
            let mut tok = load(name);
            if let Some(code) = run["src_lang"].as_str() {
                tok.set_src_lang(code).unwrap_or_else(|e| panic!("{name} {code}: {e}"));
            }
            let which = format!("{name} (src_lang {}, {})", run["src_lang"], run["class"]);
            for case in run["cases"].as_array().unwrap() {
                let text = case["text"].as_str().unwrap();
                let enc = tok.encode(text, true).unwrap();
                assert_eq!(enc.ids, u32s(&case["ids"]), "{which}: ids of {text:?}");
                let tokens: Vec<&str> = case["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
                assert_eq!(enc.tokens, tokens, "{which}: tokens of {text:?}");
                let offsets: Vec<(usize, usize)> = case["offsets"].as_array().unwrap().iter().map(|o| (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize)).collect();
                assert_eq!(enc.offsets, offsets, "{which}: offsets of {text:?}");
                assert_eq!(tok.decode(&enc.ids, false).unwrap(), case["decoded"].as_str().unwrap(), "{which}: decoded {text:?}");
                assert_eq!(tok.decode(&enc.ids, true).unwrap(), case["decoded_skip"].as_str().unwrap(), "{which}: decoded without specials {text:?}");
                checked += 1;
            }
            let pair = &run["pair"];
            let enc = tok.encode_pair(pair["text"].as_str().unwrap(), pair["pair"].as_str().unwrap(), true).unwrap();
            assert_eq!(enc.ids, u32s(&pair["ids"]), "{which}: pair");
        }
    }
    assert_eq!(checked, 20 * 20);
}

#[test]
fn language_codes_are_special_tokens_and_listed() {
    for (name, count, default) in [("mbart", 25, "en_XX"), ("mbart_hub", 25, "de_DE"), ("mbart50", 52, "en_XX"), ("nllb", 202, "eng_Latn"), ("nllb_hub", 202, "ron_Latn")] {
        let tok = load(name);
        assert_eq!(tok.language_codes().len(), count, "{name}");
        assert_eq!(tok.src_lang(), Some(default), "{name}");
        for code in tok.language_codes() {
            let id = tok.token_to_id(code).unwrap_or_else(|| panic!("{name}: {code} has no id"));
            assert!(tok.special_ids().contains(&id), "{name}: {code} is not special");
        }
    }
    assert!(load("pegasus").language_codes().is_empty() && load("pegasus").src_lang().is_none());
}

#[test]
fn a_src_lang_that_is_not_a_language_code_is_refused_with_the_codes() {
    let mut tok = load("mbart50");
    let e = tok.set_src_lang("eng_Latn").unwrap_err().to_string();
    // A few codes and how many there are (all 52 or 202 would make a message nobody reads).
    assert!(e.contains("\"eng_Latn\"") && e.contains("ar_AR") && e.contains("52 language codes") && e.contains("languageCodes"), "{e}");
    // The template is unchanged after a refusal.
    assert_eq!(tok.encode("", true).unwrap().tokens, ["en_XX", "</s>"]);
    let e = load("nllb").set_src_lang("en_XX").unwrap_err().to_string();
    assert!(e.contains("\"en_XX\"") && e.contains("ace_Arab") && e.contains("202 language codes") && !e.contains("zul_Latn"), "{e}");
    // A class without source languages.
    let e = load("pegasus").set_src_lang("en_XX").unwrap_err().to_string();
    assert!(e.contains("takes none"), "{e}");
    // The config's own src_lang, checked the same way.
    let config = config_with("mbart", |c| {
        c.insert("src_lang".into(), json!("fr_FR"));
    });
    let e = load_with("mbart", &config, Some("mbart")).unwrap_err().to_string();
    assert!(e.contains("\"fr_FR\"") && e.contains("fr_XX"), "{e}");
}

#[test]
fn nllb_without_its_codes_in_the_config_is_refused() {
    let config = config_with("nllb", |c| {
        c.remove("extra_special_tokens");
    });
    let e = load_with("nllb", &config, Some("m2m_100")).unwrap_err().to_string();
    assert!(e.contains("NllbTokenizer") && e.contains("extra_special_tokens"), "{e}");
}

#[test]
fn m2m100_tokenizer_over_a_tokenizer_json_or_a_bpe_model_is_refused_by_name() {
    // An m2m_100 folder naming no class loads as M2M100Tokenizer, which reads no tokenizer.json (its
    // own files are read: tests/rust/m2m100_files.rs).
    let config = config_with("nllb", |c| {
        c.remove("tokenizer_class");
    });
    let e = load_with("nllb", &config, Some("m2m_100")).unwrap_err().to_string();
    assert!(e.contains("M2M100Tokenizer") && e.contains("NllbTokenizer"), "{e}");
    // Its own files (sentencepiece.bpe.model + vocab.json, no tokenizer.json) with a SentencePiece BPE
    // model, which Glassbox does not run (fairseq's are unigram models), through the CLI.
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox")).arg("tokenize").arg(dir("m2m100_slow")).args(["--text", "hi"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("sentencepiece.bpe.model") && stderr.contains("BPE model"), "{stderr}");
}

#[test]
fn the_cli_takes_a_source_language() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_glassbox")).arg("tokenize").arg(dir("nllb")).args(args).output().unwrap();
    let out = run(&["--text", "hi", "--src-lang", "fra_Latn"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["cases"][0]["tokens"][0], "fra_Latn");
    let out = run(&["--text", "hi", "--src-lang", "xx"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("is not one of this tokenizer's"));
}

/// A `src_lang` that is not a string (a number, a list) is refused as no language code, not replaced by the default.
#[test]
fn a_src_lang_that_is_not_a_string_is_refused_by_name() {
    for value in [serde_json::json!(5), serde_json::json!(["eng_Latn"])] {
        let config = config_with("nllb", |c| {
            c.insert("src_lang".into(), value.clone());
        });
        let e = load_with("nllb", &config, Some("m2m_100")).unwrap_err().to_string();
        assert!(e.contains("source language") && e.contains(&value.to_string().replace('"', "\\\"")), "{value}: {e}");
    }
    // null is transformers' default (eng_Latn).
    let config = config_with("nllb", |c| {
        c.insert("src_lang".into(), Value::Null);
    });
    assert_eq!(load_with("nllb", &config, Some("m2m_100")).unwrap().src_lang(), Some("eng_Latn"));
}

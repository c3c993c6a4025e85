//! M2M100 folders as transformers saves them (sentencepiece.bpe.model, vocab.json; no tokenizer.json):
//! Glassbox's conversion against `M2M100Tokenizer` (ids, token strings, decoded text, pairs, per
//! `src_lang`), through the library and the CLI, and the refusals. The whole-model case (source and
//! target languages through `generate`) is in target_language.rs. Fixtures: `scripts/fixtures/m2m100_files.py`.

use glassbox::tokenizer::marian::m2m100_tokenizer_json;
use glassbox::tokenizer::Tokenizer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/m2m100_files").join(name)
}

fn read(folder: &Path, f: &str) -> Option<Vec<u8>> {
    std::fs::read(folder.join(f)).ok()
}

fn tokenizer(folder: &Path) -> glassbox::Result<Tokenizer> {
    let config = read(folder, "tokenizer_config.json");
    let json = m2m100_tokenizer_json(&read(folder, "sentencepiece.bpe.model").unwrap(), &read(folder, "vocab.json").unwrap(), config.as_deref())?;
    Tokenizer::for_model(&json, config.as_deref(), read(folder, "special_tokens_map.json").as_deref(), Some("m2m_100"))
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

#[test]
fn m2m100_folders_tokenize_and_decode_as_m2m100_tokenizer_does() {
    for name in ["m2m100", "m2m100_hub", "wmt21"] {
        let folder = dir(name);
        let mut tok = tokenizer(&folder).unwrap_or_else(|e| panic!("{name}: {e}"));
        let reference: Value = serde_json::from_slice(&read(&folder, "reference.json").unwrap()).unwrap();
        let own = tok.src_lang().unwrap().to_string();
        let mut cases = 0;
        for row in reference["encode"].as_array().unwrap() {
            tok.set_src_lang(row["src_lang"].as_str().unwrap_or(&own)).unwrap();
            let text = row["text"].as_str().unwrap();
            let enc = tok.encode(text, true).unwrap();
            assert_eq!(enc.ids, ids(&row["ids"]), "{name} {:?}: ids of {text:?}", row["src_lang"]);
            assert_eq!(enc.tokens, strings(&row["tokens"]), "{name}: tokens of {text:?}");
            for &(s, e) in &enc.offsets {
                assert!(s <= e && e <= text.chars().count(), "{name}: offsets {:?} of {text:?}", enc.offsets);
            }
            assert_eq!(tok.decode(&enc.ids, false).unwrap(), row["decoded"].as_str().unwrap(), "{name}: decode of {text:?}");
            assert_eq!(tok.decode(&enc.ids, true).unwrap(), row["decoded_skip"].as_str().unwrap(), "{name}: decode (skipping specials) of {text:?}");
            cases += 1;
        }
        assert!(cases >= 40, "{name}: {cases} cases");
        tok.set_src_lang(&own).unwrap();
        // Random ids: vocab.json's, the language tokens', the madeup words' and past them (read as <unk>).
        for row in reference["decode"].as_array().unwrap() {
            let ids = ids(&row["ids"]);
            assert_eq!(tok.decode(&ids, false).unwrap(), row["decoded"].as_str().unwrap(), "{name}: decode of {ids:?}");
            assert_eq!(tok.decode(&ids, true).unwrap(), row["decoded_skip"].as_str().unwrap(), "{name}: decode (skipping) of {ids:?}");
        }
        let pair = &reference["pair"];
        let enc = tok.encode_pair(pair["text"].as_str().unwrap(), pair["pair"].as_str().unwrap(), true).unwrap();
        assert_eq!(enc.ids, ids(&pair["ids"]), "{name}: pair");
    }
}

#[test]
fn language_codes_are_the_sets_codes_and_map_to_their_tokens() {
    let tok = tokenizer(&dir("m2m100")).unwrap();
    let codes = tok.language_codes();
    assert_eq!((codes.len(), codes[0].as_str(), codes[99].as_str()), (100, "af", "zu"));
    let vocab = serde_json::from_slice::<serde_json::Map<String, Value>>(&read(&dir("m2m100"), "vocab.json").unwrap()).unwrap().len() as u32;
    // Code i is `__code__`, id len(vocab.json) + i; a code is not a token, a token is not a code.
    assert_eq!(tok.language_id("af"), Some(vocab));
    assert_eq!(tok.language_id("fr"), Some(vocab + 24));
    assert_eq!(tok.token_to_id("__fr__"), Some(vocab + 24));
    assert_eq!(tok.id_to_token(vocab + 24), Some("__fr__"));
    assert_eq!(tok.language_id("__fr__"), None);
    assert_eq!(tok.language_id("xx"), None);
    assert_eq!(tok.src_lang(), Some("en"));
    // The madeup words get no ids in the tokenizer: they decode as unk_token's text.
    assert_eq!(tok.decode(&[vocab + 100, vocab + 107], false).unwrap(), "<unk><unk>");
    let wmt = tokenizer(&dir("wmt21")).unwrap();
    assert_eq!(wmt.language_codes().join(" "), "en ha is ja cs ru zh de");
    assert_eq!(wmt.src_lang(), Some("de"));
    let mut tok = tok;
    let e = tok.set_src_lang("fra_Latn").unwrap_err().to_string();
    assert!(e.contains("\"fra_Latn\"") && e.contains("af, am"), "{e}");
}

#[test]
fn the_cli_reads_an_m2m100_folder_with_src_lang() {
    let folder = dir("m2m100");
    let reference: Value = serde_json::from_slice(&read(&folder, "reference.json").unwrap()).unwrap();
    let row = reference["encode"].as_array().unwrap().iter().find(|r| r["src_lang"] == "fr" && r["text"] == "The cat sat on the mat.").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox")).arg("tokenize").arg(&folder).args(["--text", "The cat sat on the mat.", "--src-lang", "fr"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = if got["cases"].is_array() { got["cases"][0].clone() } else { got };
    assert_eq!(got["ids"], row["ids"]);
}

#[test]
fn unreadable_m2m100_files_are_refused_by_name() {
    let folder = dir("m2m100");
    let spm = read(&folder, "sentencepiece.bpe.model").unwrap();
    let vocab = read(&folder, "vocab.json").unwrap();
    // A SentencePiece BPE model (what the file's name says, though fairseq's are unigram) is refused by name.
    let bpe = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/translation_tokenizers/m2m100_slow"), "sentencepiece.bpe.model").unwrap();
    let e = m2m100_tokenizer_json(&bpe, &vocab, None).unwrap_err().to_string();
    assert!(e.contains("sentencepiece.bpe.model") && e.contains("BPE model"), "{e}");
    let e = m2m100_tokenizer_json(&spm[..spm.len() / 2], &vocab, None).unwrap_err().to_string();
    assert!(e.contains("sentencepiece.bpe.model"), "{e}");
    let e = m2m100_tokenizer_json(&spm, br#"{"a": 0}"#, None).unwrap_err().to_string();
    assert!(e.contains("vocab.json") && e.contains("<unk>"), "{e}");
    let e = m2m100_tokenizer_json(&spm, &vocab, Some(br#"{"language_codes": "flores"}"#)).unwrap_err().to_string();
    assert!(e.contains("language_codes") && e.contains("wmt21"), "{e}");
    // Special tokens that transformers would number over the language tokens' ids.
    let config = br#"{"tokenizer_class": "M2M100Tokenizer", "additional_special_tokens": ["<extra>", "__fr__"]}"#;
    let json = m2m100_tokenizer_json(&spm, &vocab, Some(config)).unwrap();
    let e = Tokenizer::for_model(&json, Some(config), None, Some("m2m_100")).unwrap_err().to_string();
    assert!(e.contains("\"<extra>\"") && e.contains("M2M100Tokenizer"), "{e}");
}

//! Marian folders as transformers saves them (source.spm, target.spm, vocab.json; no
//! tokenizer.json): Glassbox's conversion against `MarianTokenizer` (ids, token strings, decoded
//! text, pairs), the tiny opus-mt-shaped model through the CLI against `generate` and the forward
//! pass, and the files' hostile forms refused by name. Fixtures: `scripts/fixtures/marian_files.py`.

use glassbox::tokenizer::marian::{tokenizer_json, MarianFiles};
use glassbox::tokenizer::sentencepiece::{Spm, SpmFile};
use glassbox::tokenizer::Tokenizer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `tests/fixtures/marian_files/<name>`: `shared`, `separate` (tokenizers) or `model`.
fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/marian_files").join(name)
}

struct Files {
    source: Vec<u8>,
    target: Vec<u8>,
    vocab: Vec<u8>,
    target_vocab: Option<Vec<u8>>,
    config: Option<Vec<u8>>,
}

impl Files {
    fn read(folder: &Path) -> Files {
        let read = |f: &str| std::fs::read(folder.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        Files {
            source: read("source.spm"),
            target: read("target.spm"),
            vocab: read("vocab.json"),
            target_vocab: std::fs::read(folder.join("target_vocab.json")).ok(),
            config: std::fs::read(folder.join("tokenizer_config.json")).ok(),
        }
    }
    fn convert(&self) -> glassbox::Result<Vec<u8>> {
        tokenizer_json(&MarianFiles {
            source_spm: &self.source,
            target_spm: Some(&self.target),
            vocab: &self.vocab,
            target_vocab: self.target_vocab.as_deref(),
            tokenizer_config: self.config.as_deref(),
        })
    }
    fn tokenizer(&self) -> Tokenizer {
        Tokenizer::for_model(&self.convert().expect("convert"), self.config.as_deref(), None, Some("marian")).expect("load")
    }
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

#[test]
fn marian_folders_tokenize_and_decode_as_marian_tokenizer_does() {
    for name in ["shared", "separate"] {
        let folder = dir(name);
        let files = Files::read(&folder);
        let tok = files.tokenizer();
        let reference: Value = serde_json::from_slice(&std::fs::read(folder.join("reference.json")).unwrap()).unwrap();
        for row in reference["encode"].as_array().unwrap() {
            let text = row["text"].as_str().unwrap();
            let enc = tok.encode(text, true).unwrap();
            assert_eq!(enc.ids, ids(&row["ids"]), "{name}: ids of {text:?}");
            assert_eq!(enc.tokens, strings(&row["tokens"]), "{name}: tokens of {text:?}");
            // Offsets (characters) inside the text.
            for &(s, e) in &enc.offsets {
                assert!(s <= e && e <= text.chars().count(), "{name}: offsets {:?} of {text:?}", enc.offsets);
            }
            if let Some(decoded) = row.get("decoded") {
                assert_eq!(tok.decode(&enc.ids, false).unwrap(), decoded.as_str().unwrap(), "{name}: decode of {text:?}");
                assert_eq!(tok.decode(&enc.ids, true).unwrap(), row["decoded_skip"].as_str().unwrap(), "{name}: decode (skipping specials) of {text:?}");
            }
        }
        for row in reference["decode"].as_array().unwrap() {
            let ids = ids(&row["ids"]);
            assert_eq!(tok.decode(&ids, false).unwrap(), row["decoded"].as_str().unwrap(), "{name}: decode of {ids:?}");
            assert_eq!(tok.decode(&ids, true).unwrap(), row["decoded_skip"].as_str().unwrap(), "{name}: decode (skipping specials) of {ids:?}");
        }
        let pair = &reference["pair"];
        let enc = tok.encode_pair(pair["text"].as_str().unwrap(), pair["pair"].as_str().unwrap(), true).unwrap();
        assert_eq!(enc.ids, ids(&pair["ids"]), "{name}: a pair is ids_a + ids_b + </s>");
    }
}

#[test]
fn separate_vocabularies_name_outputs_from_the_target_side() {
    let files = Files::read(&dir("separate"));
    let tok = files.tokenizer();
    let source: Value = serde_json::from_slice(&files.vocab).unwrap();
    let target: Value = serde_json::from_slice(files.target_vocab.as_ref().unwrap()).unwrap();
    // An id whose strings differ between the two vocabularies.
    let (id, want_in, want_out) = (5u32..200)
        .find_map(|id| {
            let of = |v: &Value| v.as_object().unwrap().iter().find(|(_, i)| i.as_u64() == Some(id as u64)).map(|(t, _)| t.clone());
            let (s, t) = (of(&source)?, of(&target)?);
            (s != t).then_some((id, s, t))
        })
        .expect("an id the two vocabularies name differently");
    assert_eq!(tok.id_to_token(id), Some(want_in.as_str()), "inputs read vocab.json");
    assert_eq!(tok.output_token(id), Some(want_out.as_str()), "outputs read target_vocab.json");
}

fn glassbox(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox")).args(args).output().expect("run glassbox")
}

#[test]
fn an_opus_mt_shaped_folder_generates_as_transformers_does() {
    let folder = dir("model");
    let reference: Value = serde_json::from_slice(&std::fs::read(folder.join("reference.json")).unwrap()).unwrap();
    let path = folder.to_str().unwrap();
    let max = reference["max_new_tokens"].as_u64().unwrap().to_string();
    for run in reference["greedy"].as_array().unwrap() {
        let text = run["text"].as_str().unwrap();
        let out = glassbox(&["inspect", path, "--text", text, "--generate", &max]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        let case = &got["cases"][0];
        assert_eq!(ids(&case["ids"]), ids(&run["input_ids"]), "input ids of {text:?}");
        // transformers' sequences start with the decoder start token; Glassbox lists what it generated.
        assert_eq!(ids(&case["generated_ids"]), ids(&run["generated"])[1..].to_vec(), "greedy ids of {text:?}");
        assert_eq!(case["generated_text"], run["decoded"], "decoded text of {text:?}");
    }
    let forward = &reference["forward"];
    let decoder_ids: Vec<String> = ids(&forward["decoder_ids"]).iter().map(u32::to_string).collect();
    let out = glassbox(&["inspect", path, "--text", forward["text"].as_str().unwrap(), "--decoder-ids", &decoder_ids.join(",")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (want, have) = (forward["logits"].as_array().unwrap(), got["cases"][0]["logits"].as_array().unwrap());
    assert_eq!(want.len(), have.len(), "one row of logits per decoder token");
    let mut worst = 0f64;
    for (w, h) in want.iter().zip(have) {
        for (a, b) in w.as_array().unwrap().iter().zip(h.as_array().unwrap()) {
            worst = worst.max((a.as_f64().unwrap() - b.as_f64().unwrap()).abs());
        }
    }
    assert!(worst < 1e-3, "logits differ from transformers' by {worst}");
}

#[test]
fn hostile_marian_files_are_refused_by_name() {
    let good = Files::read(&dir("shared"));
    let message = |f: Files| f.convert().map(|_| ()).unwrap_err().to_string();

    for (what, source) in [("empty", vec![]), ("truncated", good.source[..good.source.len() / 2].to_vec()), ("text", b"{\"not\": \"protobuf\"}".to_vec())] {
        let m = message(Files { source, ..Files::read(&dir("shared")) });
        assert!(m.contains("source.spm"), "{what}: {m}");
    }
    // A SentencePiece BPE model (trainer_spec.model_type = 2, one piece "a").
    let bpe = vec![0x0a, 0x03, 0x0a, 0x01, b'a', 0x12, 0x02, 0x18, 0x02];
    let m = message(Files { target: bpe, ..Files::read(&dir("shared")) });
    assert!(m.contains("target.spm") && m.contains("BPE"), "{m}");
    // Pieces but no unknown piece.
    let no_unk = vec![0x0a, 0x03, 0x0a, 0x01, b'a'];
    let m = message(Files { target: no_unk, ..Files::read(&dir("shared")) });
    assert!(m.contains("target.spm") && m.contains("unknown piece"), "{m}");
    // A vocabulary without <unk>, and one that is not a map of ids.
    let m = message(Files { vocab: br#"{"</s>": 0, "a": 1}"#.to_vec(), ..Files::read(&dir("shared")) });
    assert!(m.contains("vocab.json") && m.contains("<unk>"), "{m}");
    let m = message(Files { vocab: br#"["a", "b"]"#.to_vec(), ..Files::read(&dir("shared")) });
    assert!(m.contains("vocab.json"), "{m}");
    let m = message(Files { vocab: br#"{"</s>": 0, "<unk>": 1, "a": 1}"#.to_vec(), ..Files::read(&dir("shared")) });
    assert!(m.starts_with("vocab.json: the vocab gives id 1 to two tokens"), "{m}");
    // Separate vocabularies without the target's.
    let separate = Files::read(&dir("separate"));
    let m = message(Files { target_vocab: None, ..separate });
    assert!(m.contains("target_vocab.json"), "{m}");
    // A corrupt file never panics, whatever byte is changed.
    for at in (0..good.source.len()).step_by(997) {
        let mut source = good.source.clone();
        source[at] ^= 0x5a;
        let files = Files { source, ..Files::read(&dir("shared")) };
        if let Ok(json) = files.convert() {
            if let Ok(tok) = Tokenizer::for_model(&json, files.config.as_deref(), None, Some("marian")) {
                let _ = tok.encode("Hello, wörld ﬁ 😀 >>fra<< x", true);
            }
        }
    }
}

#[test]
fn a_folder_missing_a_marian_file_is_named_by_the_cli() {
    let tmp = std::env::temp_dir().join(format!("glassbox-marian-missing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let from = dir("model");
    for f in ["config.json", "model.safetensors", "source.spm", "vocab.json", "tokenizer_config.json"] {
        std::fs::copy(from.join(f), tmp.join(f)).unwrap();
    }
    let out = glassbox(&["tokenize", tmp.to_str().unwrap(), "--text", "hi"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("target.spm"), "{err}");
    std::fs::copy(from.join("target.spm"), tmp.join("target.spm")).unwrap();
    let out = glassbox(&["tokenize", tmp.to_str().unwrap(), "--text", "The cat"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A vocabulary with ids past the model's table is named as vocab.json, the file the folder has.
    let mut vocab: serde_json::Map<String, Value> = serde_json::from_slice(&std::fs::read(from.join("vocab.json")).unwrap()).unwrap();
    vocab.insert("</s>".into(), Value::from(9999));
    std::fs::write(tmp.join("vocab.json"), serde_json::to_vec(&vocab).unwrap()).unwrap();
    let out = glassbox(&["info", tmp.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("vocab.json can produce ids up to 9999"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The normaliser's whitespace rules and the decoder's first-space rule, on a model file
/// written here: every combination of the three switches against what the library does.
#[test]
fn sentencepiece_spaces_follow_the_library() {
    let pieces = |extra: &[&str]| {
        let mut p: Vec<(String, f32, i32)> = vec![("<unk>".into(), 0.0, 2), ("</s>".into(), 0.0, 3)];
        for (i, s) in ["\u{2581}", "a", "b", "\u{2581}a", "\u{2581}b", " ", "ab"].iter().chain(extra).enumerate() {
            p.push((s.to_string(), -1.0 - i as f32 * 0.1, 1));
        }
        p
    };
    let spm = |dummy: bool, extra: bool, escape: bool| {
        Spm::new(SpmFile { pieces: pieces(&[]), precompiled_charsmap: None, add_dummy_prefix: dummy, remove_extra_whitespaces: extra, escape_whitespaces: escape, byte_fallback: false, unk_surface: " \u{2047} ".into() }).unwrap()
    };
    // (add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces) -> normalised "  a  b  ".
    for (switches, want) in [
        ((true, true, true), "\u{2581}a\u{2581}b"),
        ((false, true, true), "a\u{2581}b"),
        ((true, false, true), "\u{2581}\u{2581}\u{2581}a\u{2581}\u{2581}b\u{2581}\u{2581}"),
        ((true, true, false), " a b"),
    ] {
        let m = spm(switches.0, switches.1, switches.2);
        let (norm, orig) = m.normalize("  a  b  ").unwrap();
        assert_eq!(norm, want, "{switches:?}");
        assert_eq!(orig.len(), norm.len() + 1, "{switches:?}: one source byte per normalised byte, and the end");
    }
    let m = spm(true, true, true);
    assert_eq!(m.normalize("   ").unwrap().0, "", "only spaces");
    let cut: Vec<String> = m.encode(" ab  a").unwrap().into_iter().map(|p| p.piece).collect();
    assert_eq!(cut, ["\u{2581}a", "b", "\u{2581}a"]);
    // Unknown characters fuse into one piece; decoding writes a lacking piece as itself and the
    // unknown piece as the surface.
    let cut: Vec<(String, bool)> = m.encode("a😀😀b").unwrap().into_iter().map(|p| (p.piece, p.unk)).collect();
    assert_eq!(cut, [("\u{2581}a".to_string(), false), ("😀😀".to_string(), true), ("b".to_string(), false)]);
    assert_eq!(m.decode_pieces(&["\u{2581}a", "<unk>", "\u{2581}b", "</s>", "zz\u{2581}"]), "a \u{2047}  bzz\u{2581}");
}

/// A charsmap whose one rule turns "a" into 200 bytes: a short text is rewritten, a long one is
/// refused as it grows, before the memory is taken.
#[test]
fn a_charsmap_that_multiplies_the_text_is_refused() {
    // A double-array trie with one key, "a" (SentencePiece's layout: the root's child offset 1,
    // the node for "a" at 1 ^ 'a' with a leaf whose value, the rewrite's offset, is 0).
    let mut units = vec![0u32; 98];
    units[0] = 1 << 10;
    units[1 ^ b'a' as usize] = (1 << 10) | (1 << 8) | b'a' as u32;
    units[(1 ^ b'a' as usize) ^ 1] = 0;
    let mut map = ((units.len() * 4) as u32).to_le_bytes().to_vec();
    map.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    map.extend("x".repeat(200).bytes());
    map.push(0);
    let pieces = vec![("<unk>".to_string(), 0.0, 2), ("\u{2581}".to_string(), -1.0, 1), ("x".to_string(), -2.0, 1)];
    let spm = Spm::new(SpmFile { pieces, precompiled_charsmap: Some(map), add_dummy_prefix: true, remove_extra_whitespaces: true, escape_whitespaces: true, byte_fallback: false, unk_surface: " \u{2047} ".into() }).unwrap();
    assert_eq!(spm.normalize("ba").unwrap().0, format!("\u{2581}b{}", "x".repeat(200)), "the rule applies");
    let err = spm.encode(&"a".repeat(1000)).unwrap_err().to_string();
    assert!(err.contains("SentencePiece normaliser") && err.contains("1000 bytes"), "{err}");
}

/// The tokenizer view's trace says why a step is what it is: a language code is one token, and a
/// piece source.spm cuts but vocab.json lacks (the fixture leaves "▁The" out) is read as <unk>.
#[test]
fn the_trace_names_language_codes_and_pieces_the_vocabulary_lacks() {
    let tok = Files::read(&dir("shared")).tokenizer();
    let (enc, trace) = tok.encode_traced(">>fra<< The cat", true).unwrap();
    let glassbox::tokenizer::Steps::Unigram(path) = &trace.words[0].steps else { panic!("a Unigram trace: {:?}", trace.words[0].steps) };
    assert_eq!(path.path[0].piece, ">>fra<<");
    assert!(path.path[0].note.is_some_and(|n| n.contains("language code")), "{:?}", path.path[0]);
    let the = path.path.iter().find(|s| s.piece == "\u{2581}The").expect("the cut keeps ▁The whole");
    assert!(the.unk && the.note.is_some_and(|n| n.contains("not in vocab.json")), "{the:?}");
    assert_eq!(enc.tokens[1], "<unk>", "the model reads it as <unk>");
    let cat = path.path.iter().find(|s| s.piece == "\u{2581}cat").unwrap();
    assert!(!cat.unk && cat.note.is_none());
}

//! Everything a user can get wrong gets a clear error that names the culprit, never a panic.
//!
//! Each test breaks one thing in an otherwise good fixture folder and asserts on the message:
//! it must name the file, field, tensor or input at fault (and the messages end with a fix).

#[path = "support/mod.rs"]
mod support;

use glassbox::models::generation::Sampling;
use glassbox::models::{Capture, Inputs, Model};
use glassbox::session::Session;
use glassbox::tokenizer::Tokenizer;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use support::Folder;

/// The error of loading `folder` as a model (model only: no tokenizer involved).
fn model_error(folder: &Folder) -> String {
    match std::panic::catch_unwind(|| Model::load(&folder.files(), None)) {
        Ok(Ok(_)) => panic!("loading should have failed"),
        Ok(Err(e)) => e.to_string(),
        Err(_) => panic!("Model::load panicked instead of returning an error"),
    }
}

fn assert_mentions(err: &str, needles: &[&str]) {
    for n in needles {
        assert!(err.contains(n), "error should mention {n:?}: {err}");
    }
    assert!(!err.contains('\n'), "error should be one line: {err:?}");
}

/// One tensor of a safetensors file, owned, so tests can edit it and write a new file.
struct Owned {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

fn tensors(bytes: &[u8]) -> Vec<Owned> {
    let st = SafeTensors::deserialize(bytes).unwrap();
    let mut out: Vec<Owned> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| Owned { name, dtype: view.dtype(), shape: view.shape().to_vec(), data: view.data().to_vec() })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn write(tensors: &[Owned]) -> Vec<u8> {
    let views: Vec<(String, TensorView)> =
        tensors.iter().map(|t| (t.name.clone(), TensorView::new(t.dtype, t.shape.clone(), &t.data).unwrap())).collect();
    safetensors::serialize(views, None).unwrap()
}

/// A safetensors file from a raw header and data.
fn raw_safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn gpt2_with_weights(weights: Vec<u8>) -> Folder {
    let mut f = Folder::fixture("gpt2");
    f.weights = Some(weights);
    f
}

#[test]
fn empty_safetensors() {
    let err = model_error(&gpt2_with_weights(Vec::new()));
    assert_mentions(&err, &["model.safetensors", "empty"]);
}

#[test]
fn truncated_safetensors() {
    let good = Folder::fixture("gpt2").weights.unwrap();
    for cut in [3, 8, 100, good.len() / 2, good.len() - 1] {
        let err = model_error(&gpt2_with_weights(good[..cut].to_vec()));
        assert_mentions(&err, &["model.safetensors"]);
        assert!(err.contains("truncated") || err.contains("too short") || err.contains("fetch"), "cut at {cut}: {err}");
    }
}

#[test]
fn safetensors_header_whose_offsets_lie() {
    let cases = [
        // The header claims 16 bytes of data; only 8 follow.
        raw_safetensors(r#"{"wte.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, &[0; 8]),
        // Offsets that do not match the shape (8 bytes for 4 floats).
        raw_safetensors(r#"{"wte.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}}"#, &[0; 8]),
        // Offsets past the end of the buffer.
        raw_safetensors(r#"{"wte.weight":{"dtype":"F32","shape":[1],"data_offsets":[4000,4004]}}"#, &[0; 8]),
        // A header length far larger than the file.
        {
            let mut b = (1u64 << 40).to_le_bytes().to_vec();
            b.extend_from_slice(b"{}");
            b
        },
        // A header that is not JSON.
        raw_safetensors("{\"wte.weight\": nope", &[]),
    ];
    for (i, bytes) in cases.into_iter().enumerate() {
        let err = model_error(&gpt2_with_weights(bytes));
        assert_mentions(&err, &["model.safetensors"]);
        assert!(err.contains("not a valid safetensors file"), "case {i}: {err}");
    }
}

/// A file that is something else under the weights' name says what it is: a Git LFS pointer (a clone without
/// `git lfs`, the most common way to get one) or a web page (a link to the page about the file). Both were
/// "not a valid safetensors file (header too large)".
#[test]
fn safetensors_that_is_an_lfs_pointer_or_a_web_page_says_so() {
    let pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904\nsize 548105171\n";
    let err = model_error(&gpt2_with_weights(pointer.to_vec()));
    assert_mentions(&err, &["model.safetensors", "Git LFS pointer", "git lfs pull"]);
    for page in ["<!DOCTYPE html>\n<html><head><title>model.safetensors</title></head><body>...</body></html>", "\n  <html lang=\"en\"><body>Not found</body></html>"] {
        let err = model_error(&gpt2_with_weights(page.as_bytes().to_vec()));
        assert_mentions(&err, &["model.safetensors", "web page", "/resolve/"]);
    }
}

/// A size written under its config class's alias (GPT-2's `num_hidden_layers` for `n_layer`) is refused
/// under the name written in the file: the message named `n_layer`, which the file may give as 2.
#[test]
fn a_bad_value_under_an_alias_is_named_as_written() {
    let f = with_config("gpt2", |c| c.replacen('{', "{\"num_hidden_layers\": 1000000000, ", 1));
    let err = model_error(&f);
    assert!(err.starts_with("config.json field `num_hidden_layers`: is 1000000000"), "{err}");
    assert_mentions(&err, &["reads `num_hidden_layers` as its `n_layer`"]);
}

#[test]
fn missing_tensor_is_named() {
    let mut t = tensors(&Folder::fixture("gpt2").weights.unwrap());
    t.retain(|t| t.name != "transformer.h.1.mlp.c_fc.weight");
    let err = model_error(&gpt2_with_weights(write(&t)));
    assert_mentions(&err, &["h.1.mlp.c_fc.weight", "missing"]);
}

#[test]
fn wrong_shape_is_named_with_both_shapes() {
    let mut t = tensors(&Folder::fixture("gpt2").weights.unwrap());
    let ln = t.iter_mut().find(|t| t.name == "transformer.ln_f.weight").unwrap();
    ln.shape = vec![32];
    ln.data.truncate(32 * 4);
    let err = model_error(&gpt2_with_weights(write(&t)));
    assert_mentions(&err, &["transformer.ln_f.weight", "[32]", "[64]"]);

    // The same mistake made by the config: more positions than the checkpoint has.
    let mut f = Folder::fixture("gpt2");
    f.config = String::from_utf8(f.config).unwrap().replace("\"n_positions\": 64", "\"n_positions\": 128").into_bytes();
    let err = model_error(&f);
    assert_mentions(&err, &["wpe.weight", "[64, 64]", "[128, 64]"]);
}

#[test]
fn integer_weights_are_refused_by_name() {
    let mut t = tensors(&Folder::fixture("gpt2").weights.unwrap());
    let wte = t.iter_mut().find(|t| t.name == "transformer.wte.weight").unwrap();
    wte.dtype = Dtype::I32;
    let err = model_error(&gpt2_with_weights(write(&t)));
    assert_mentions(&err, &["transformer.wte.weight", "dtype"]);
}

#[test]
fn integer_position_ids_buffer_is_skipped() {
    // minilm_style carries `embeddings.position_ids` (int64), as sentence-transformers checkpoints do.
    Model::load(&Folder::fixture("minilm_style").files(), None).expect("position_ids must be ignored");
}

fn with_config(name: &str, edit: impl Fn(String) -> String) -> Folder {
    let mut f = Folder::fixture(name);
    f.config = edit(String::from_utf8(f.config).unwrap()).into_bytes();
    f
}

/// A config.json that is not one object, or that repeats a key, is named for what it is (a list at
/// the top used to read "expected a string at line 1 column 2"; a repeated key named the key before it).
#[test]
fn config_json_that_is_not_one_object_or_repeats_a_key() {
    for (body, what) in [("[1, 2, 3]", "a list"), ("\"gpt2\"", "a string"), ("42", "a single value")] {
        let err = model_error(&with_config("gpt2", |_| body.to_string()));
        assert_mentions(&err, &["config.json", "is not a JSON object", what]);
    }
    let err = model_error(&with_config("gpt2", |c| c.replacen('{', "{\"n_layer\": 3, ", 1)));
    assert_mentions(&err, &["config.json", "duplicate field `n_layer`"]);
    assert!(!err.contains("in field `"), "no other key is blamed: {err}");
}

/// tokenizer_config.json and special_tokens_map.json that are JSON but not objects (`[1]`, a string) are
/// refused by name, as generation_config.json is: they used to be read as if absent (transformers fails on them).
#[test]
fn tokenizer_side_files_that_are_not_objects_are_named() {
    let folder = Folder::fixture("gpt2");
    for (file, body) in [("tokenizer_config.json", "[1]"), ("special_tokens_map.json", "\"x\""), ("tokenizer_config.json", "42")] {
        let (config, map) = if file == "tokenizer_config.json" { (Some(body.as_bytes()), None) } else { (None, Some(body.as_bytes())) };
        let err = match glassbox::tokenizer::Tokenizer::from_bytes(&folder.tokenizer, config, map) {
            Ok(_) => panic!("{file} = {body} should be refused"),
            Err(e) => e.to_string(),
        };
        assert_mentions(&err, &[file, "not an object of settings"]);
    }
    // An object, or an empty file, is still read.
    glassbox::tokenizer::Tokenizer::from_bytes(&folder.tokenizer, Some(b"{}"), Some(b"  ")).expect("{} and an empty file are fine");
}

/// Another model's tokenizer is named before the weights are read: a 500 MB checkpoint takes seconds to check
/// and build, and the page's folder picker used to read it all first. Here the weights are not even a file
/// the loader could read, and the error is still the tokenizer's.
#[test]
fn another_models_tokenizer_is_named_before_the_weights_are_read() {
    let mut folder = Folder::fixture("gpt2");
    folder.weights = Some(b"not a safetensors file at all".to_vec());
    folder.generation_config = Some(br#"{"eos_token_id": 50256}"#.to_vec());
    let err = match glassbox::session::Session::load_with(&folder.files(), None, None) {
        Ok(_) => panic!("the load should fail"),
        Err(e) => e.to_string(),
    };
    assert_mentions(&err, &["tokenizer.json", "ends its text with token 50256", "another model's tokenizer"]);
}

/// A number no f64 holds (1e999) and Python's json.dumps spellings of inf and nan (`Infinity`, `-Infinity`, `NaN`,
/// not JSON) are named by their key (serde gives only a line and column), whichever family reads the file.
#[test]
fn config_infinite_or_nan_number_is_named_by_its_key() {
    for (fixture, key) in [("gpt2", "layer_norm_epsilon"), ("bert", "layer_norm_eps")] {
        for (value, said) in [("1e999", "too large"), ("-1e999", "too large"), ("Infinity", "`Infinity`"), ("-Infinity", "`-Infinity`"), ("NaN", "`NaN`")] {
            let err = model_error(&with_config(fixture, |c| {
                let at = c.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("{fixture} has {key}"));
                let end = at + c[at..].find([',', '\n', '}']).unwrap();
                format!("{}\"{key}\": {value}{}", &c[..at], &c[end..])
            }));
            assert_mentions(&err, &["config.json", &format!("in field `{key}`"), said, "finite number"]);
        }
    }
}

/// Half of a surrogate pair (`\ud83d` alone, as Python's json.dumps writes a string cut inside an emoji) is named
/// with its key and how to write it; serde alone says "unexpected end of hex escape". A whole pair is fine. An
/// escape JSON does not have (`\q`, `\uZZZZ`) says so and how to write a literal backslash.
#[test]
fn config_bad_escapes_are_named_with_the_fix() {
    for bad in ["\\ud83d", "\\ud83d\\u0041", "\\ude00"] {
        let err = model_error(&with_config("gpt2", |c| c.replacen('{', &format!("{{\"note\": \"cut {bad}\", "), 1)));
        assert_mentions(&err, &["config.json", "escape that is not a character", "in field `note`", "must be followed by"]);
    }
    // An escape JSON does not have at all (a Windows path or a regular expression with single backslashes):
    // serde says only "invalid escape".
    for bad in ["\\uZZZZ", "\\u12", "\\q", "C:\\models", "\\d+"] {
        let err = model_error(&with_config("gpt2", |c| c.replacen('{', &format!("{{\"note\": \"{bad}\", "), 1)));
        assert_mentions(&err, &["config.json", "backslash escape JSON does not have", "in field `note`", "Double every backslash"]);
    }
    let whole = with_config("gpt2", |c| c.replacen('{', "{\"note\": \"\\ud83d\\ude00\", ", 1));
    assert!(glassbox::session::Session::load_with(&whole.files(), None, None).is_ok(), "a whole surrogate pair is a character");
}

#[test]
fn unknown_model_type() {
    let err = model_error(&with_config("gpt2", |c| c.replace("\"model_type\": \"gpt2\"", "\"model_type\": \"falcon\"")));
    assert_mentions(&err, &["model_type", "falcon", "gpt2", "bert"]);
    let err = model_error(&with_config("gpt2", |c| c.replace("\"model_type\": \"gpt2\",", "")));
    assert_mentions(&err, &["model_type", "missing"]);
}

#[test]
fn malformed_config_json() {
    let cut = |c: String| c[..c.len() / 2].to_string();
    let err = model_error(&with_config("gpt2", cut));
    assert_mentions(&err, &["config.json", "truncated"]);
    let err = model_error(&with_config("gpt2", |_| String::new()));
    assert_mentions(&err, &["config.json", "empty"]);
    let err = model_error(&with_config("gpt2", |c| c.replace("\"n_embd\": 64,", "")));
    assert_mentions(&err, &["config.json", "n_embd"]);
    let err = model_error(&with_config("gpt2", |c| c.replace("\"n_layer\": 2", "\"n_layer\": \"two\"")));
    assert_mentions(&err, &["config.json", "n_layer"]);
    let err = model_error(&with_config("bert", |c| c.replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 5")));
    assert_mentions(&err, &["num_attention_heads"]);
    let err = model_error(&with_config("bert", |c| c.replace("\"model_type\": \"bert\",", "\"model_type\": \"bert\", \"position_embedding_type\": \"relative_key\",")));
    assert_mentions(&err, &["position_embedding_type", "relative_key"]);
    let err = model_error(&with_config("gpt2", |c| c.replace("\"activation_function\": \"gelu_new\"", "\"activation_function\": \"mish\"")));
    assert_mentions(&err, &["activation_function", "mish"]);
}

#[test]
fn unsupported_tokenizer_model_type() {
    let json = br#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null,"model":{"type":"CharLevel","vocab":{"a":0,"[UNK]":1},"unk_token":"[UNK]"}}"#;
    let err = Tokenizer::from_bytes(json, None, None).err().expect("CharLevel is not a tokenizer model we run").to_string();
    assert_mentions(&err, &["tokenizer.json", "CharLevel"]);
    let err = Tokenizer::from_bytes(b"{\"model\": ", None, None).err().expect("truncated").to_string();
    assert_mentions(&err, &["tokenizer.json"]);
}

fn load(name: &str) -> Model {
    Model::load(&Folder::fixture(name).files(), None).unwrap()
}

fn forward_error(model: &Model, ids: &[u32]) -> String {
    model.forward(&Inputs { ids, type_ids: None, decoder_ids: None }, Capture::PROBS).err().expect("forward should fail").to_string()
}

#[test]
fn ids_longer_than_the_positions() {
    for name in ["gpt2", "bert"] {
        let model = load(name);
        let err = forward_error(&model, &vec![5; 65]);
        assert_mentions(&err, &["65 tokens", "only 64", "positions"]);
    }
}

#[test]
fn ids_outside_the_vocabulary_and_empty_ids() {
    for name in ["gpt2", "bert"] {
        let model = load(name);
        let v = model.info().vocab_size as u32;
        assert_mentions(&forward_error(&model, &[1, v, 2]), &[&v.to_string(), "vocabulary"]);
        assert_mentions(&forward_error(&model, &[]), &["empty"]);
    }
    let model = load("bert");
    let types = [0, 2, 0];
    let err = model.forward(&Inputs { ids: &[1, 2, 3], type_ids: Some(&types), decoder_ids: None }, Capture::NONE).unwrap_err().to_string();
    assert_mentions(&err, &["token type 2"]);
}

#[test]
fn decoder_ids_outside_the_vocabulary() {
    let model = load("gpt2");
    let v = model.info().vocab_size as u32;
    let mut state = model.start_decoding(&[]).unwrap();
    model.feed(&mut state, &[1, 2], Capture::NONE).unwrap();
    let err = model.feed(&mut state, &[v + 7], Capture::NONE).unwrap_err().to_string();
    assert_mentions(&err, &[&(v + 7).to_string(), "vocabulary"]);
    // The failed step left the cache as it was.
    assert_eq!(state.fed, 2);
    model.feed(&mut state, &[3], Capture::NONE).unwrap();
    assert!(load("bert").start_decoding(&[]).is_err(), "an encoder-only model cannot decode");
}

#[test]
fn bad_sampling_options() {
    assert_mentions(&Sampling::new(-1.0, 0, 1.0, 0).unwrap_err().to_string(), &["temperature"]);
    assert_mentions(&Sampling::new(f32::NAN, 0, 1.0, 0).unwrap_err().to_string(), &["temperature"]);
    assert_mentions(&Sampling::new(1.0, 0, 0.0, 0).unwrap_err().to_string(), &["top-p", "above 0", "keep no token"]);
    assert_mentions(&Sampling::new(1.0, 0, 1.5, 0).unwrap_err().to_string(), &["top-p"]);
}

fn session(name: &str) -> Session {
    Session::load(&Folder::fixture(name).files(), None).unwrap_or_else(|e| panic!("[tokenizer/session] {name}: {e}"))
}

#[test]
fn text_longer_than_the_positions_says_so() {
    for name in ["gpt2", "bert"] {
        let s = session(name);
        let text = "the quick brown fox jumps over the lazy dog ".repeat(20);
        let err = s.inspect(&text, None, Capture::PROBS).err().expect("too long").to_string();
        assert_mentions(&err, &["positions for only 64", "Shorten the text to at most 64 tokens (by "]);
        // Past Glassbox's general cap too, the model's own limit is what is said (it named the cap).
        let huge = "the quick brown fox jumps over the lazy dog ".repeat(1500);
        let err = s.inspect(&huge, None, Capture::PROBS).err().expect("far too long").to_string();
        assert_mentions(&err, &["positions for only 64", "Shorten the text to at most 64 tokens"]);
        assert!(!err.contains("MAX_SEQUENCE"), "{err}");
    }
}

#[test]
fn empty_text() {
    let s = session("gpt2");
    let err = s.inspect("", None, Capture::PROBS).err().expect("no tokens").to_string();
    assert_mentions(&err, &["no tokens"]);
    // BERT adds [CLS] and [SEP] to empty text, as Hugging Face does; that is a valid input.
    let s = session("bert");
    let ins = s.inspect("", None, Capture::PROBS).expect("[CLS] [SEP]");
    assert_eq!(ins.encoding.ids.len(), 2);
}

#[test]
fn decoder_ids_for_a_model_without_a_decoder_input() {
    let s = session("gpt2");
    let err = s.inspect("Hello", Some(&[1, 2]), Capture::NONE).err().expect("decoder ids make no sense for GPT-2").to_string();
    assert_mentions(&err, &["decoder ids", "encoder-decoder"]);
}

// ---- crafted inputs: work sized by a file or a text is bounded before it starts ----------------------
//
// Each reproduces an attack from issue 12 and asserts the error names the limit. The time each took is
// printed (`cargo test --release --test bad_input crafted -- --nocapture`); with
// GLASSBOX_WRITE_CRAFTED=DIR the crafted folders are also written there, to time them with the CLI.

use glassbox::loader::limits::{MAX_ADDED_TOKENS, MAX_SEQUENCE, REGEX_BACKTRACK_LIMIT};
use serde_json::{json, Value};
use std::time::Instant;

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Run `f`, print how long it took, and return its error as text (it must fail, not panic).
fn timed_error<T>(what: &str, f: impl FnOnce() -> glassbox::Result<T>) -> String {
    let start = Instant::now();
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let ms = start.elapsed().as_secs_f64() * 1e3;
    println!("crafted input: {what}: {ms:.1} ms");
    match out {
        Ok(Ok(_)) => panic!("{what}: should have been refused"),
        Ok(Err(e)) => e.to_string(),
        Err(_) => panic!("{what}: panicked instead of returning an error"),
    }
}

/// The GPT-2 fixture folder with its tokenizer.json edited.
fn gpt2_with_tokenizer(edit: impl Fn(&mut Value)) -> Folder {
    let mut f = Folder::fixture("gpt2");
    let mut t = json_of(&f.tokenizer);
    edit(&mut t);
    f.tokenizer = serde_json::to_vec(&t).unwrap();
    f
}

/// Write `folder` under $GLASSBOX_WRITE_CRAFTED/<name>/ (with `text` in text.txt) when asked.
fn maybe_write(name: &str, folder: &Folder, text: &str) {
    let Some(root) = std::env::var_os("GLASSBOX_WRITE_CRAFTED") else { return };
    let dir = std::path::Path::new(&root).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), &folder.config).unwrap();
    if let Some(w) = &folder.weights {
        std::fs::write(dir.join("model.safetensors"), w).unwrap();
    }
    std::fs::write(dir.join("tokenizer.json"), &folder.tokenizer).unwrap();
    std::fs::write(dir.join("text.txt"), text).unwrap();
}

fn encode_error(folder: &Folder, text: &str, what: &str) -> String {
    timed_error(what, || {
        let tok = Tokenizer::from_bytes(&folder.tokenizer, None, None)?;
        tok.encode(text, true)
    })
}

#[test]
fn crafted_replace_normalizer_that_multiplies_the_text() {
    let big = "a".repeat(1 << 16);
    let text = "a".repeat(1000);
    // Once: 1,000 characters would become 65 MB; nested twice: 4 TB (the process used to abort).
    let once = gpt2_with_tokenizer(|t| t["normalizer"] = json!({"type": "Replace", "pattern": {"String": "a"}, "content": big}));
    maybe_write("replace-once", &once, &text);
    let err = encode_error(&once, &text, "Replace normaliser ×65536 on 1,000 chars");
    assert_mentions(&err, &["normalizer Replace", "1000 bytes", "32 times"]);
    let nested = gpt2_with_tokenizer(|t| {
        let r = json!({"type": "Replace", "pattern": {"String": "a"}, "content": "a".repeat(30)});
        t["normalizer"] = json!({"type": "Sequence", "normalizers": [r.clone(), r.clone(), r]});
    });
    maybe_write("replace-nested", &nested, &text);
    let err = encode_error(&nested, &text, "three nested Replace ×30 on 1,000 chars");
    assert_mentions(&err, &["normalizer", "limit"]);
    // Growth within the limit still works, with offsets pointing at the original characters.
    let tok = Tokenizer::from_bytes(&gpt2_with_tokenizer(|t| t["normalizer"] = json!({"type": "Replace", "pattern": {"String": "a"}, "content": "aa"})).tokenizer, None, None).unwrap();
    let enc = tok.encode("a b", false).unwrap();
    assert_eq!(enc.offsets.first().map(|o| o.0), Some(0));
}

#[test]
fn crafted_decoder_replace_that_multiplies_the_text() {
    let folder = gpt2_with_tokenizer(|t| t["decoder"] = json!({"type": "Replace", "pattern": {"String": "a"}, "content": "a".repeat(1 << 16)}));
    let tok = Tokenizer::from_bytes(&folder.tokenizer, None, None).unwrap();
    let ids = tok.encode(&"a".repeat(1000), false).unwrap().ids;
    let err = timed_error("Replace decoder ×65536", || tok.decode(&ids, false));
    assert_mentions(&err, &["decoder Replace", "limit"]);
}

#[test]
fn crafted_positions_times_width() {
    // n_positions 200000 with a tiny width passes every size check, then 60k tokens would need
    // [T][T] attention of 14 GB per head.
    let mut f = Folder::fixture("gpt2");
    let mut config = json_of(&f.config);
    config["n_positions"] = json!(200_000);
    config["n_embd"] = json!(8);
    config["n_head"] = json!(1);
    config["n_layer"] = json!(1);
    f.config = serde_json::to_vec(&config).unwrap();
    f.weights = None;
    let text = " a".repeat(60_000);
    maybe_write("positions-200000", &f, &text);
    let session = Session::load(&f.files(), Some(1)).expect("the config itself is fine");
    let err = timed_error("n_positions 200000, 60k tokens, inspect", || session.inspect(&text, None, Capture::PROBS));
    assert_mentions(&err, &["60000", &MAX_SEQUENCE.to_string(), "Shorten"]);
    let err = timed_error("n_positions 200000, 60k tokens, generate", || {
        session.generate(&text, &glassbox::models::generation::GenerateOptions { max_new_tokens: 1, sampling: Sampling::Greedy, eos_token_id: None, n_candidates: 0, capture: Capture::NONE }, &mut |_| true)
    });
    assert_mentions(&err, &[&MAX_SEQUENCE.to_string()]);
    // A generation cannot grow past the limit one token at a time either.
    let mut state = session.model.start_decoding(&[]).unwrap();
    session.model.feed(&mut state, &vec![1; MAX_SEQUENCE], Capture::NONE).unwrap();
    let err = session.model.feed(&mut state, &[1], Capture::NONE).err().expect("past the limit").to_string();
    assert_mentions(&err, &[&MAX_SEQUENCE.to_string()]);
}

#[test]
fn crafted_catastrophic_split_regex_is_an_error() {
    let text = format!("{} hello", "a".repeat(40));
    let split = gpt2_with_tokenizer(|t| {
        t["pre_tokenizer"] = json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "(a+)+(?=b)"}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]});
    });
    maybe_write("split-backtrack", &split, &text);
    let err = encode_error(&split, &text, "Split (a+)+(?=b) on 40 a's");
    // An error, never "no more matches" (which silently changed the tokenization).
    assert_mentions(&err, &["(a+)+(?=b)", "REGEX_BACKTRACK_LIMIT", &REGEX_BACKTRACK_LIMIT.to_string()]);
    let replace = gpt2_with_tokenizer(|t| t["normalizer"] = json!({"type": "Replace", "pattern": {"Regex": "(a+)+(?=b)"}, "content": "x"}));
    let err = encode_error(&replace, &text, "Replace (a+)+(?=b) on 40 a's");
    assert_mentions(&err, &["REGEX_BACKTRACK_LIMIT"]);
    // The same pattern on a text without the catastrophe still tokenizes.
    let tok = Tokenizer::from_bytes(&split.tokenizer, None, None).unwrap();
    assert!(!tok.encode("ab hello", false).unwrap().ids.is_empty());
}

#[test]
fn crafted_many_added_tokens_with_a_shared_prefix() {
    let n = 60_000;
    let folder = gpt2_with_tokenizer(|t| {
        let list = t["added_tokens"].as_array_mut().unwrap();
        for i in 0..n {
            list.push(json!({"id": 600 + i, "content": format!("<extra_token_{i}>"), "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}));
        }
    });
    // 50 KB of near misses and hits.
    let text: String = (0..2_500).map(|i| if i % 2 == 0 { format!("<extra_token_{} ", i * 7) } else { format!("<extra_token_{}>", i * 7) }).collect();
    maybe_write("added-60k", &folder, &text);
    let start = Instant::now();
    let tok = Tokenizer::from_bytes(&folder.tokenizer, None, None).unwrap();
    let loaded = start.elapsed();
    let enc = tok.encode(&text, false).unwrap();
    println!("crafted input: 60k added tokens: load {:.0} ms, encode {} bytes {:.0} ms", loaded.as_secs_f64() * 1e3, text.len(), (start.elapsed() - loaded).as_secs_f64() * 1e3);
    // Every complete `<extra_token_N>` is its own id (600 + N, the next free ids after the vocab).
    let hits: Vec<u32> = enc.ids.iter().copied().filter(|&id| id >= 600).collect();
    assert_eq!(hits.len(), 1_250);
    assert_eq!(hits[0], 600 + 7);
    assert_eq!(tok.id_to_token(600 + 7), Some("<extra_token_7>"));
    // Longest match wins among shared prefixes: `<extra_token_12>` is not `<extra_token_1>` + "2>".
    assert_eq!(tok.encode("<extra_token_12>", false).unwrap().ids, vec![612]);

    let too_many = gpt2_with_tokenizer(|t| {
        t["added_tokens"] = Value::Array((0..=MAX_ADDED_TOKENS).map(|i| json!({"content": format!("t{i}")})).collect());
    });
    let err = timed_error("more than MAX_ADDED_TOKENS added tokens", || Tokenizer::from_bytes(&too_many.tokenizer, None, None));
    assert_mentions(&err, &["added tokens", &MAX_ADDED_TOKENS.to_string()]);
}

#[test]
fn crafted_relative_positions_and_embeddings_are_capped() {
    let session = session("t5_tiny");
    let err = timed_error("relativePositions(2^32 - 1)", || session.relative_positions(glassbox::models::Stack::Encoder, u32::MAX as usize));
    assert_mentions(&err, &["4294967295", &MAX_SEQUENCE.to_string()]);
    assert!(session.relative_positions(glassbox::models::Stack::Encoder, 64).is_ok());
    let err = timed_error("tokenEmbeddings of 10^6 ids", || session.token_embeddings(glassbox::models::Stack::Encoder, &vec![1; 1_000_000]));
    assert_mentions(&err, &[&MAX_SEQUENCE.to_string()]);
}

// ---- weights and configs checked at load --------------------------------------------------------------

/// The GPT-2 fixture with one element of tensor `name` replaced by `value` (in the tensor's dtype).
fn gpt2_with_value(name: &str, index: usize, value: f32) -> Folder {
    let mut ts = tensors(&Folder::fixture("gpt2").weights.unwrap());
    let t = ts.iter_mut().find(|t| t.name.ends_with(name)).unwrap_or_else(|| panic!("{name} in the fixture"));
    match t.dtype {
        Dtype::F32 => t.data[index * 4..index * 4 + 4].copy_from_slice(&value.to_le_bytes()),
        Dtype::F16 => t.data[index * 2..index * 2 + 2].copy_from_slice(&half::f16::from_f32(value).to_le_bytes()),
        other => panic!("fixture dtype {other:?}"),
    }
    gpt2_with_weights(write(&ts))
}

#[test]
fn nan_and_infinite_weights_are_refused_by_name() {
    for (name, index, value) in [("ln_f.weight", 3, f32::NAN), ("h.1.ln_2.bias", 0, f32::INFINITY), ("wte.weight", 599 * 64 + 63, f32::NEG_INFINITY)] {
        let err = model_error(&gpt2_with_value(name, index, value));
        assert_mentions(&err, &[name, "NaN or infinite", &format!("element {index}")]);
    }
    // In f16 and bf16 too (the scan reads the stored bits).
    for dtype in [Dtype::F16, Dtype::BF16] {
        let mut ts = tensors(&Folder::fixture("gpt2").weights.unwrap());
        for t in &mut ts {
            let values: Vec<f32> = t.data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            t.data = values
                .iter()
                .enumerate()
                .flat_map(|(i, &v)| {
                    let v = if t.name.ends_with("ln_1.weight") && i == 5 { f32::NAN } else { v };
                    match dtype {
                        Dtype::F16 => half::f16::from_f32(v).to_le_bytes(),
                        _ => half::bf16::from_f32(v).to_le_bytes(),
                    }
                })
                .collect();
            t.dtype = dtype;
        }
        let err = model_error(&gpt2_with_weights(write(&ts)));
        assert_mentions(&err, &["ln_1.weight", "NaN", "element 5"]);
    }
}

/// Finite weights can still overflow: one weight of 3.4e38 in the first attention's projection makes
/// every output NaN (transformers gives NaN too). The forward pass and each generation step say so
/// instead of returning NaN maps or reading NaN scores as a choice.
#[test]
fn outputs_that_overflow_are_refused_by_name() {
    let folder = gpt2_with_value("h.0.attn.c_attn.weight", 0, 3.4e38);
    let model = Model::load(&folder.files(), None).expect("every weight is finite");
    let ids = [10u32, 20, 30];
    let err = model.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::PROBS).err().expect("NaN outputs refused").to_string();
    assert_mentions(&err, &["final hidden state", "NaN", "f32's range", "every weight is finite"]);
    let mut state = model.start_decoding(&[]).unwrap();
    let err = model.feed(&mut state, &ids, Capture::NONE).err().expect("NaN scores refused").to_string();
    assert_mentions(&err, &["next-token scores", "NaN"]);
}

/// The output head can overflow by itself: one row of an untied lm_head at 3e38 leaves the hidden
/// state finite and turns that token's score into ±inf or NaN (as in transformers), which JSON would
/// write as null. The pass says so, for every logit kept and for the page's top-k alike.
#[test]
fn scores_that_overflow_in_the_output_head_are_refused_by_name() {
    let mut f = Folder::fixture("llama_gqa");
    let mut ts = tensors(f.weights.as_ref().unwrap());
    let head = ts.iter_mut().find(|t| t.name == "lm_head.weight").expect("llama_gqa's own head");
    let width = head.shape[1];
    for i in 0..width {
        head.data[i * 4..i * 4 + 4].copy_from_slice(&3e38f32.to_le_bytes()); // row 0: token 0's score
    }
    f.weights = Some(write(&ts));
    let model = Model::load(&f.files(), None).expect("every weight is finite");
    let ids = [10u32, 20, 30];
    let inputs = Inputs { ids: &ids, type_ids: None, decoder_ids: None };
    let err = model.forward(&inputs, Capture::PROBS).err().expect("inf scores refused").to_string();
    assert_mentions(&err, &["scores (logits)", "at entry 0", "f32's range", "every weight is finite"]);
    let probe = glassbox::models::Probe { logits: glassbox::models::logits::LogitRows::TopK(5), ..glassbox::models::Probe::from(Capture::PROBS) };
    let err = model.forward_probed(&inputs, &probe).err().expect("NaN probabilities refused").to_string();
    assert_mentions(&err, &["token probabilities", "NaN"]);
}

#[test]
fn f64_weights_are_refused_with_a_fix() {
    let mut ts = tensors(&Folder::fixture("gpt2").weights.unwrap());
    let t = ts.iter_mut().find(|t| t.name.ends_with("ln_f.weight")).unwrap();
    t.data = t.data.chunks_exact(4).flat_map(|b| (f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64).to_le_bytes()).collect();
    t.dtype = Dtype::F64;
    let err = model_error(&gpt2_with_weights(write(&ts)));
    assert_mentions(&err, &["ln_f.weight", "F64", "only f32, f16 and bf16", "save_pretrained"]);
}

#[test]
fn impossible_config_values_are_refused_by_name() {
    for (field, value) in [("layer_norm_epsilon", json!(-1)), ("layer_norm_epsilon", json!("small")), ("n_embd", json!(0)), ("n_head", json!(-4)), ("vocab_size", json!(0))] {
        let f = with_config("gpt2", |c| {
            let mut v: Value = serde_json::from_str(&c).unwrap();
            v[field] = value.clone();
            v.to_string()
        });
        let err = model_error(&f);
        assert_mentions(&err, &[field]);
    }
    let f = with_config("bert", |c| {
        let mut v: Value = serde_json::from_str(&c).unwrap();
        v["layer_norm_eps"] = json!(-1e-12);
        v.to_string()
    });
    assert_mentions(&model_error(&f), &["layer_norm_eps", "≥ 0"]);
}

#[test]
fn duplicate_vocabulary_ids_are_refused_deterministically() {
    let mut messages = std::collections::BTreeSet::new();
    for _ in 0..5 {
        let folder = gpt2_with_tokenizer(|t| {
            let vocab = t["model"]["vocab"].as_object_mut().unwrap();
            vocab.insert("zzq".into(), json!(5));
            vocab.insert("qqz".into(), json!(7));
            vocab.insert("qqx".into(), json!(7));
        });
        let err = match Tokenizer::from_bytes(&folder.tokenizer, None, None) {
            Ok(_) => panic!("duplicate ids should be refused"),
            Err(e) => e.to_string(),
        };
        assert_mentions(&err, &["BPE vocab", "id 5", "zzq"]);
        messages.insert(err);
    }
    assert_eq!(messages.len(), 1, "the same message every run: {messages:?}");
    let bert = Folder::fixture("bert");
    let mut t = json_of(&bert.tokenizer);
    t["model"]["vocab"].as_object_mut().unwrap().insert("zzq".into(), json!(3));
    let err = Tokenizer::from_bytes(&serde_json::to_vec(&t).unwrap(), None, None).err().expect("refused").to_string();
    assert_mentions(&err, &["WordPiece vocab", "id 3"]);
}

#[test]
fn random_twin_too_large_is_refused_before_any_work() {
    let mut f = Folder::fixture("gpt2");
    let mut config = json_of(&f.config);
    // 2^24 × 64 = 2^30 parameters: drawing them took 49 s and 4 GB before being refused.
    config["vocab_size"] = json!(1 << 24);
    f.config = serde_json::to_vec(&config).unwrap();
    f.weights = None;
    let err = timed_error("random twin of 2^30 parameters", || Model::load(&f.files(), Some(1)));
    assert_mentions(&err, &["vocab_size", "random", "parameters"]);
}

#[test]
fn crafted_wordpiece_long_word_and_long_pieces() {
    use glassbox::loader::limits::MAX_PIECE_BYTES;
    let bert = Folder::fixture("bert");
    let base = json_of(&bert.tokenizer);
    // A vocabulary entry longer than the limit is refused by name.
    let mut t = base.clone();
    t["model"]["vocab"].as_object_mut().unwrap().insert("b".repeat(MAX_PIECE_BYTES + 1), json!(99_999));
    let err = timed_error("WordPiece entry over MAX_PIECE_BYTES", || Tokenizer::from_bytes(&serde_json::to_vec(&t).unwrap(), None, None));
    assert_mentions(&err, &["WordPiece vocab", "MAX_PIECE_BYTES", &MAX_PIECE_BYTES.to_string()]);
    // Entries of every length up to the limit, no word-length cap, and one 100 KB word: the greedy longest
    // match looks at most MAX_PIECE_BYTES ahead of each position, so this is linear in the word.
    let mut t = base;
    t["model"]["max_input_chars_per_word"] = json!(1_000_000_000u64);
    let vocab = t["model"]["vocab"].as_object_mut().unwrap();
    let next = vocab.len();
    for len in 2..=MAX_PIECE_BYTES {
        vocab.insert("b".repeat(len), json!(next + len));
    }
    let tok = Tokenizer::from_bytes(&serde_json::to_vec(&t).unwrap(), None, None).unwrap();
    let word = "a".repeat(100_000);
    let start = Instant::now();
    let enc = tok.encode(&word, false).unwrap();
    let (_, trace) = tok.encode_traced(&word, false).unwrap();
    println!("crafted input: WordPiece, entries of every length to MAX_PIECE_BYTES, one 100 KB word (plain + traced): {:.0} ms", start.elapsed().as_secs_f64() * 1e3);
    assert_eq!(enc.ids.len(), 100_000, "one piece per `a`");
    assert!(!trace.words.is_empty());
}

// ---- the same crafted inputs through the CLI: exit 1, one line naming the problem, bounded time --------------

/// Write `folder` to a fresh temporary directory (removed on drop).
struct TempFolder(std::path::PathBuf);

impl TempFolder {
    fn new(name: &str, folder: &Folder) -> Self {
        let dir = std::env::temp_dir().join(format!("glassbox-bad-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), &folder.config).unwrap();
        if let Some(w) = &folder.weights {
            std::fs::write(dir.join("model.safetensors"), w).unwrap();
        }
        std::fs::write(dir.join("tokenizer.json"), &folder.tokenizer).unwrap();
        // Without it a gpt2 folder loads as GPT2Tokenizer, which rebuilds (and so ignores) a crafted pipeline.
        if let Some(c) = &folder.tokenizer_config {
            std::fs::write(dir.join("tokenizer_config.json"), c).unwrap();
        }
        TempFolder(dir)
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run the CLI; it must fail with exit code 1 and one `error: …` line mentioning every needle.
fn cli_refuses(what: &str, args: &[&str], needles: &[&str]) {
    let start = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox")).args(args).output().unwrap();
    println!("crafted input (CLI): {what}: {:.0} ms", start.elapsed().as_secs_f64() * 1e3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: exit {:?}, stderr {stderr}", out.status);
    let line = stderr.trim();
    assert!(line.starts_with("error: ") && !line.contains('\n'), "{what}: {stderr:?}");
    assert_mentions(line, needles);
}

#[test]
fn crafted_inputs_through_the_cli() {
    let text = "a".repeat(1000);
    let replace = TempFolder::new("replace", &gpt2_with_tokenizer(|t| t["normalizer"] = json!({"type": "Replace", "pattern": {"String": "a"}, "content": "a".repeat(1 << 16)})));
    cli_refuses("Replace normaliser", &["tokenize", replace.0.to_str().unwrap(), "--text", &text], &["normalizer Replace", "limit"]);
    let split = TempFolder::new("split", &gpt2_with_tokenizer(|t| t["pre_tokenizer"] = json!({"type": "Split", "pattern": {"Regex": "(a+)+(?=b)"}, "behavior": "Isolated", "invert": false})));
    cli_refuses("catastrophic Split", &["tokenize", split.0.to_str().unwrap(), "--text", &"a".repeat(40)], &["REGEX_BACKTRACK_LIMIT"]);

    let mut wide = Folder::fixture("gpt2");
    let mut config = json_of(&wide.config);
    config["n_positions"] = json!(200_000);
    config["n_embd"] = json!(8);
    config["n_head"] = json!(1);
    wide.config = serde_json::to_vec(&config).unwrap();
    wide.weights = None;
    let wide = TempFolder::new("wide", &wide);
    cli_refuses("60k tokens, n_positions 200000", &["inspect", wide.0.to_str().unwrap(), "--random-weights", "1", "--text", &" a".repeat(60_000)], &["MAX_SEQUENCE"]);

    let nan = TempFolder::new("nan", &gpt2_with_value("ln_f.weight", 0, f32::NAN));
    cli_refuses("NaN in ln_f", &["inspect", nan.0.to_str().unwrap(), "--text", "hi"], &["ln_f.weight", "NaN"]);
    let eps = TempFolder::new("eps", &with_config("gpt2", |c| c.replace("\"layer_norm_epsilon\": 1e-05", "\"layer_norm_epsilon\": -1")));
    cli_refuses("negative epsilon", &["inspect", eps.0.to_str().unwrap(), "--text", "hi"], &["layer_norm_epsilon"]);
    let dup = TempFolder::new("dup", &gpt2_with_tokenizer(|t| {
        t["model"]["vocab"].as_object_mut().unwrap().insert("zzq".into(), json!(5));
    }));
    cli_refuses("duplicate vocab id", &["tokenize", dup.0.to_str().unwrap(), "--text", "hi"], &["id 5"]);
    let mut mismatched = Folder::fixture("bert");
    mismatched.weights = Folder::fixture("gpt2").weights;
    let mismatched = TempFolder::new("mismatched", &mismatched);
    cli_refuses("BERT config with GPT-2 weights", &["inspect", mismatched.0.to_str().unwrap(), "--text", "hi"], &["config.json"]);
    let mut empty = Folder::fixture("gpt2");
    empty.tokenizer = Vec::new();
    let empty = TempFolder::new("empty", &empty);
    cli_refuses("empty tokenizer.json", &["tokenize", empty.0.to_str().unwrap(), "--text", "hi"], &["tokenizer.json", "empty"]);
    let gpt2 = support::fixture_dir("gpt2");
    cli_refuses("over-long text", &["inspect", gpt2.to_str().unwrap(), "--text", &"word ".repeat(2000)], &["Shorten"]);
    cli_refuses("temperature not a number", &["generate", gpt2.to_str().unwrap(), "--text", "hi", "--temperature", "nan"], &["temperature"]);
    // Folders whose weights come in another form: the refusal names it and how to convert.
    let mut no_weights = Folder::fixture("gpt2");
    no_weights.weights = None;
    for (what, files, needles) in [
        // A sharded checkpoint is read (tests/rust/sharded.rs), but not without its index, nor with a broken one.
        ("shards without their index", &["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"][..], &["2 shard files", "not model.safetensors.index.json", "Copy"][..]),
        ("an index without weight_map", &["model.safetensors.index.json", "model-00001-of-00002.safetensors"], &["model.safetensors.index.json", "weight_map"]),
        ("PyTorch pickle", &["pytorch_model.bin", "training_args.bin"], &["pytorch_model.bin", "safetensors"]),
    ] {
        let folder = TempFolder::new(&what.replace(' ', "-"), &no_weights);
        for name in files {
            std::fs::write(folder.0.join(name), b"{}").unwrap();
        }
        cli_refuses(what, &["inspect", folder.0.to_str().unwrap(), "--text", "hi"], needles);
    }
    // A slow tokenizer's files where tokenizer.json should be.
    let slow = TempFolder::new("slow-tokenizer", &Folder::fixture("gpt2"));
    std::fs::remove_file(slow.0.join("tokenizer.json")).unwrap();
    std::fs::write(slow.0.join("vocab.txt"), "[UNK]\n").unwrap();
    cli_refuses("vocab.txt, no tokenizer.json", &["tokenize", slow.0.to_str().unwrap(), "--text", "hi"], &["tokenizer.json", "vocab.txt", "AutoTokenizer"]);
    let t5 = support::fixture_dir("t5_tiny");
    cli_refuses("decoder id out of range", &["inspect", t5.to_str().unwrap(), "--text", "hi", "--decoder-ids", "0,99999999"], &["99999999"]);
}

#[test]
fn crafted_outputs_too_large_are_refused_before_the_pass() {
    use glassbox::loader::limits::{MAX_CAPTURED, MAX_LOGITS};
    // A vocabulary of 2^22 with a width of 1: a small file, then 2,000 tokens would need 8 billion logits.
    let mut f = Folder::fixture("gpt2");
    let mut config = json_of(&f.config);
    config["vocab_size"] = json!(1 << 22);
    config["n_embd"] = json!(4);
    config["n_head"] = json!(1);
    config["n_layer"] = json!(1);
    config["n_positions"] = json!(4096);
    f.config = serde_json::to_vec(&config).unwrap();
    f.weights = None;
    let model = Model::load(&f.files(), Some(1)).unwrap();
    let ids = vec![1u32; 2000];
    let err = timed_error("2,000 tokens × 2^22 vocabulary", || model.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE));
    assert_mentions(&err, &["MAX_LOGITS", &format!("{MAX_LOGITS}").chars().take(3).collect::<String>()]);
    // 2,000 thin layers × 8 heads, 4,000 tokens, all attention kept: 256 billion values.
    let mut config = json_of(&Folder::fixture("gpt2").config);
    config["n_layer"] = json!(2000);
    config["n_embd"] = json!(8);
    config["n_head"] = json!(8);
    config["n_positions"] = json!(4096);
    f.config = serde_json::to_vec(&config).unwrap();
    let model = Model::load(&f.files(), Some(1)).unwrap();
    let ids = vec![1u32; 4000];
    let err = timed_error("2,000 layers × 8 heads × 4,000² attention kept", || model.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::ALL));
    assert_mentions(&err, &["MAX_CAPTURED", "Shorten", "of 2000 layers × 8 heads"]);
    let _ = MAX_CAPTURED;
}

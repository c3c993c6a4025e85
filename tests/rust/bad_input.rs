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

#[test]
fn unknown_model_type() {
    let err = model_error(&with_config("gpt2", |c| c.replace("\"model_type\": \"gpt2\"", "\"model_type\": \"mistral\"")));
    assert_mentions(&err, &["model_type", "mistral", "gpt2", "bert"]);
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
    assert_mentions(&Sampling::new(1.0, 0, 0.0, 0).unwrap_err().to_string(), &["top-p"]);
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
        assert_mentions(&err, &["positions for only 64", "Shorten"]);
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

//! The wasm boundary: the only place that knows about JavaScript.
//!
//! Long-lived state stays in Rust behind two opaque handles, [`WasmModel`] (a loaded
//! [`Session`]) and [`WasmGenerator`] (one generation, driven a token per call). Two kinds of
//! value cross:
//! - structured values (the model card, each call's options, tokenizer traces, result metadata)
//!   go through serde-wasm-bindgen: every call takes one typed options object whose unknown or
//!   mistyped keys are refused by name (`deny_unknown_fields`, with the key's path in the message);
//! - tensors stay flat typed arrays with their shape beside them (`{ data: Float32Array, shape }`),
//!   one copy each, never through serde (it would make plain arrays of numbers).
//!
//! Every fallible call returns `Result<_, JsError>` carrying the core's message. Attention maps
//! are also drawn here ([`draw_map`]: `crate::plot` into an `ImageData` on an `OffscreenCanvas`).
//! The Web Worker (`www/worker.js`) is the only caller in the page; `tests/wasm/api.test.mjs`
//! calls it directly from Node.

mod block;
mod capture;
#[cfg(feature = "checks")]
mod kernel_checks;
mod lens;
mod views;
mod learn;
mod load;
mod tokenizer;

use crate::card::ModelCard;
use crate::error::Error;
use crate::loader::ModelFiles;
use crate::models::beam::Hypothesis;
use crate::models::capture::MapSelection;
use crate::models::generation::{top_candidates, Generator, Sampling};
use crate::models::{AttentionKind, AttentionMaps, Capture, HeadMasks, Interventions, QkvTrace, Stack};
use crate::plot::{self, MapStyle, Mask, Palette};
use crate::models::logits::{LogitRows, TopK};
use crate::session::{DecodingPlan, GenerationRequest, InspectOptions as CoreInspectOptions, Inspection, Session};
use crate::tokenizer::Encoding;
use js_sys::{Float32Array, Object, Reflect, Uint32Array, Uint8Array};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use ndarray::{s, ArrayBase, Data, Dimension};

// ---------------------------------------------------------------------------------------------
// Panics: a last line of defence. The core returns errors for bad input; if a bug still panics,
// the hook keeps the message so the worker can report it instead of a bare "unreachable".

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Install the panic hook (idempotent). The worker calls it once after instantiating the module.
#[wasm_bindgen(js_name = installPanicHook)]
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
        }));
    });
}

/// The message of the panic that trapped the module, if one did. After a trap the instance must
/// not be used again: the worker starts a fresh one.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

#[derive(Serialize)]
struct BuildInfo {
    version: &'static str,
    simd128: bool,
    relaxed_simd: bool,
}

/// The crate version, whether this build's kernels use SIMD128, and whether they also use relaxed
/// SIMD's fused multiply-add (`glassbox_relaxed_bg.wasm`): `{ version, simd128, relaxed_simd }`.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> Result<JsValue, JsError> {
    to_js(&BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        simd128: cfg!(target_feature = "simd128"),
        relaxed_simd: cfg!(target_feature = "relaxed-simd"),
    })
}

/// The shard files a sharded checkpoint's model.safetensors.index.json names, each once, one per
/// line (a string rather than an array: less glue): what the page fetches or takes from the picked
/// files beside it. Refuses an index that is not one, or a name that is not a plain file name (a
/// path could point outside the folder).
#[wasm_bindgen(js_name = shardNames)]
pub fn shard_names(index: &[u8]) -> Result<String, JsError> {
    crate::loader::shard_names(index).map(|names| names.join("\n")).map_err(js_error)
}

/// What a folder whose file names are `names` (one per line: a string crosses the boundary with less
/// glue than an array) holds instead of `missing` (`model.safetensors`: shards, a PyTorch pickle,
/// TensorFlow or Flax weights, a PEFT adapter; `tokenizer.json`: a slow tokenizer's files), as
/// "problem. Fix", or `undefined` when nothing stands in for it. The CLI's refusals say the same.
#[wasm_bindgen(js_name = folderHint)]
pub fn folder_hint(names: &str, missing: &str) -> Option<String> {
    let names: Vec<&str> = names.lines().collect();
    crate::loader::stand_in_for(missing, &names).map(|h| format!("{}. {}", h.problem, h.fix))
}

/// The checks a load makes before it reads a weight (`Session::check_before_weights`: the family, the
/// tokenizer and generation settings, a tokenizer that belongs to another model; and config.json's
/// quantized checkpoints and impossible epsilons). The worker runs them on a folder URL's small files
/// before it downloads model.safetensors: a wrong file is named before hundreds of megabytes are fetched.
#[wasm_bindgen(js_name = checkBeforeWeights)]
pub fn check_before_weights(config: &[u8], tokenizer: &[u8], tokenizer_config: Option<Vec<u8>>, special_tokens_map: Option<Vec<u8>>, generation_config: Option<Vec<u8>>) -> Result<(), JsError> {
    let files = files_without_weights(config, tokenizer, &tokenizer_config, &special_tokens_map, &generation_config);
    Session::check_before_weights(&files).map_err(js_error)?;
    crate::loader::limits::check_values(config, true).map_err(js_error)
}

/// A model folder's small files as the core takes them; the weights cross the boundary apart (load.rs).
fn files_without_weights<'a>(
    config: &'a [u8],
    tokenizer: &'a [u8],
    tokenizer_config: &'a Option<Vec<u8>>,
    special_tokens_map: &'a Option<Vec<u8>>,
    generation_config: &'a Option<Vec<u8>>,
) -> ModelFiles<'a> {
    ModelFiles {
        config,
        weights: None,
        tokenizer,
        tokenizer_config: tokenizer_config.as_deref(),
        special_tokens_map: special_tokens_map.as_deref(),
        generation_config: generation_config.as_deref(),
    }
}

/// The tokenizer.json Glassbox makes of a Marian folder's files (`source.spm`, `target.spm`,
/// `vocab.json`; `target_vocab.json` when tokenizer_config.json says `separate_vocabs`), which
/// transformers keeps as a slow tokenizer with no tokenizer.json: the page converts a folder
/// without tokenizer.json that holds them, then loads it like any other. The CLI does the same.
/// Without `target_spm`: an M2M100 folder's `sentencepiece.bpe.model` as `source_spm`, and `vocab.json`.
#[wasm_bindgen(js_name = marianTokenizerJson)]
pub fn marian_tokenizer_json(source_spm: &[u8], target_spm: Option<Vec<u8>>, vocab: &[u8], target_vocab: Option<Vec<u8>>, tokenizer_config: Option<Vec<u8>>) -> Result<Vec<u8>, JsError> {
    let files = crate::tokenizer::marian::MarianFiles { source_spm, target_spm: target_spm.as_deref(), vocab, target_vocab: target_vocab.as_deref(), tokenizer_config: tokenizer_config.as_deref() };
    crate::tokenizer::marian::tokenizer_json(&files).map_err(js_error)
}

/// The tokenizer.json Glassbox writes of a folder's slow tokenizer files (BERT's `vocab.txt`, or
/// GPT-2's and RoBERTa's `vocab.json` and `merges.txt`): their vocabulary and merges, with no
/// pipeline; loading it then builds the pipeline as transformers 5 does, by the folder's tokenizer
/// class (a class that does not build one from them is refused with how to save a tokenizer.json).
#[wasm_bindgen(js_name = slowTokenizerJson)]
pub fn slow_tokenizer_json(vocab_txt: Option<Vec<u8>>, vocab_json: Option<Vec<u8>>, merges_txt: Option<Vec<u8>>) -> Result<Vec<u8>, JsError> {
    let files = crate::tokenizer::slow::SlowFiles { vocab_txt: vocab_txt.as_deref(), vocab_json: vocab_json.as_deref(), merges_txt: merges_txt.as_deref() };
    crate::tokenizer::slow::tokenizer_json(&files).map_err(js_error)
}

fn js_error(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Crossing: serde for structured values, typed arrays for tensors.

/// A structured value as a plain JS object (maps as objects, `None` as `null`, u64 as numbers).
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(unpassable)
}

/// [`to_js`]'s error, kept out of its generic body so that each type it passes does not carry a copy.
#[inline(never)]
fn unpassable(e: serde_wasm_bindgen::Error) -> JsError {
    JsError::new(&format!("a result could not be passed to JavaScript ({e}). This is a bug; please report it"))
}

/// A call's options object (`undefined`/`null`: every default). An unknown key or a value of the
/// wrong type is refused with the key's name, e.g. `inspect options: qkv.layer: invalid type: ...`.
///
/// The object is first read into a `serde_json::Value` (keys holding `undefined` or `null` left
/// out: in JS both mean "the default") and then deserialised: serde-wasm-bindgen's own
/// deserializer reads only a struct's declared keys, so it could not see a misspelt one.
fn options<T: DeserializeOwned + Default>(value: JsValue, call: &str) -> Result<T, JsError> {
    let read = std::cell::Cell::new(None);
    read_options(value, call, &|v| serde_json::from_value::<T>(v).map(|o| read.set(Some(o))))?;
    Ok(read.into_inner().unwrap_or_default())
}

/// [`options`] without its type: `read` deserialises a `Value` into the options struct (keeping
/// the result), so the conversion, the search for the key at fault and the message exist once in
/// the wasm rather than once per options struct (6.6 KB less).
#[inline(never)]
fn read_options(value: JsValue, call: &str, read: &dyn Fn(serde_json::Value) -> Result<(), serde_json::Error>) -> Result<(), JsError> {
    if value.is_undefined() || value.is_null() {
        return Ok(());
    }
    let fail = |at: String, problem: String| JsError::new(&format!("{call} options: {at}{problem}. Check the option's name and type in docs/js-api.md"));
    let json = json_of(&value, 0).map_err(|(path, problem)| fail(format!("{path}: "), problem))?.unwrap_or(serde_json::Value::Null);
    if !json.is_object() {
        return Err(fail(String::new(), "must be an object like { topK: 5 }".into()));
    }
    read(json.clone()).map_err(|e| {
        let problem = e.to_string();
        let error_of = |v: serde_json::Value| read(v).err().map(|e| e.to_string());
        let mut path = key_at_fault(&json, &problem, &error_of);
        if problem.starts_with("unknown field") {
            // The message names the key itself: point at the object holding it.
            path.pop();
        }
        let at = if path.is_empty() { String::new() } else { format!("{}: ", path.join(".")) };
        // serde also reads an object's keys from an array, in order, so `headMask: [1, 2]` was reported
        // as "invalid type: integer `1`, expected an array": say that the array is what is wrong, when
        // an object in its place is accepted (or lacks only its required keys).
        let value_at = path.iter().try_fold(&json, |v, key| v.get(key.as_str()));
        if value_at.is_some_and(serde_json::Value::is_array) && !path.is_empty() {
            let mut trial = json.clone();
            let slot = path.iter().fold(&mut trial, |v, key| &mut v[key.as_str()]);
            *slot = serde_json::Value::Object(Default::default());
            if error_of(trial).is_none_or(|e| e.starts_with("missing field")) {
                return fail(at, "is an array, where an object with named keys is expected".into());
            }
        }
        fail(at, in_js_words(&problem))
    })
}

/// serde's messages name Rust types ("expected u32", "expected struct QkvRequest", "a sequence"); a JS
/// caller knows numbers, arrays and objects.
fn in_js_words(problem: &str) -> String {
    // usize is 32 bits in wasm: 2^32 is refused as too large, which "0 or more" alone would not explain.
    const WHOLE_32: &str = "a whole number from 0 to 4294967295";
    let mut out = problem.to_string();
    for (rust, js) in [
        ("expected usize", WHOLE_32), ("expected u64", "a whole number of 0 or more"), ("expected u32", WHOLE_32),
        ("expected u16", "a whole number from 0 to 65535"), ("expected u8", "a whole number from 0 to 255"),
        ("expected i64", "a whole number"), ("expected i32", "a whole number"), ("expected f64", "a number"), ("expected f32", "a number"),
        ("expected a sequence", "an array"), ("expected a map", "an object"), ("expected a tuple of size 2", "an array of 2 numbers"),
    ] {
        out = out.replace(rust, &format!("expected {js}"));
    }
    // "expected struct QkvRequest" (and "struct variant ..."): the name is the crate's, not the caller's.
    if let Some(at) = out.find("expected struct ") {
        let end = out[at + 16..].find(|c: char| !c.is_alphanumeric() && c != '_').map_or(out.len(), |n| at + 16 + n);
        out.replace_range(at..end, "expected an object");
    }
    out
}

/// The path of the key an options error comes from (`["qkv", "layer"]`), found by taking keys out
/// one at a time, level by level: the key whose removal makes the error go away or change is at
/// fault (options default every key, so one taken out is no loss; a required nested key, whose
/// removal only gives its own "missing field", is at fault if it alone gives the error). This
/// costs a few deserialisations of a small object; a path-tracking deserializer
/// (serde_path_to_error) did the same in 50 KB of wasm.
fn key_at_fault(json: &serde_json::Value, problem: &str, error_of: &dyn Fn(serde_json::Value) -> Option<String>) -> Vec<String> {
    const MAX_KEYS: usize = 64; // a bigger object is hostile or a mistake: no path, same message
    let mut path: Vec<String> = Vec::new();
    loop {
        let mut at = json;
        for key in &path {
            at = &at[key.as_str()];
        }
        let Some(object) = at.as_object().filter(|o| o.len() <= MAX_KEYS) else { break };
        // The same object with its level of `path` edited.
        let edited = |edit: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
            let mut trial = json.clone();
            let mut holder = &mut trial;
            for k in &path {
                holder = &mut holder[k.as_str()];
            }
            if let Some(o) = holder.as_object_mut() {
                edit(o);
            }
            error_of(trial)
        };
        let culprit = object.keys().find(|key| match edited(&|o| drop(o.remove(key.as_str()))) {
            None => true,
            // A required key cannot be taken out: it is at fault if it alone gives the error.
            Some(e) if e.starts_with("missing field") => edited(&|o| o.retain(|k, _| k == key.as_str())).as_deref() == Some(problem),
            Some(e) => e != problem,
        });
        match culprit {
            Some(key) => path.push(key.clone()),
            None => break,
        }
    }
    path
}

/// A JS value as JSON, for [`options`]: typed arrays become arrays, whole numbers up to 2^53
/// integers, `NaN`/`Infinity` strings (so a numeric option refuses them by name). `Err` carries
/// the path of the offending key.
fn json_of(value: &JsValue, depth: usize) -> Result<Option<serde_json::Value>, (String, String)> {
    use serde_json::Value;
    const MAX_DEPTH: usize = 8;
    if depth > MAX_DEPTH {
        return Err((String::new(), format!("is nested more than {MAX_DEPTH} levels deep")));
    }
    let nested = |key: String, v: &JsValue| {
        json_of(v, depth + 1).map_err(|(p, m)| {
            let path = if p.is_empty() { key.clone() } else if p.starts_with('[') { format!("{key}{p}") } else { format!("{key}.{p}") };
            (path, m)
        })
    };
    Ok(Some(if value.is_undefined() || value.is_null() {
        return Ok(None);
    } else if let Some(b) = value.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = value.as_f64() {
        if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
            if n >= 0.0 { Value::from(n as u64) } else { Value::from(n as i64) }
        } else {
            serde_json::Number::from_f64(n).map_or_else(|| Value::String(format!("{n}")), Value::Number)
        }
    } else if let Some(s) = value.as_string() {
        Value::String(s)
    } else if js_sys::Array::is_array(value) || js_sys::ArrayBuffer::is_view(value) {
        let items = js_sys::Array::from(value);
        let mut out = Vec::with_capacity(items.length() as usize);
        for (i, item) in items.iter().enumerate() {
            out.push(nested(format!("[{i}]"), &item)?.unwrap_or(Value::Null));
        }
        Value::Array(out)
    } else if value.is_object() {
        let mut map = serde_json::Map::new();
        for entry in Object::entries(value.unchecked_ref()).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            let key = pair.get(0).as_string().unwrap_or_default();
            if let Some(v) = nested(key.clone(), &pair.get(1))? {
                map.insert(key, v);
            }
        }
        Value::Object(map)
    } else {
        return Err((String::new(), format!("is a {}, not a number, string, boolean, array or object", value.js_typeof().as_string().unwrap_or_default())));
    }))
}

/// A metadata object (through serde) with typed arrays added beside it (one copy each).
fn with_arrays<T: Serialize>(meta: &T, arrays: Vec<(&str, JsValue)>) -> Result<JsValue, JsError> {
    Ok(add_arrays(to_js(meta)?, arrays))
}

/// [`with_arrays`]' untyped half, once in the wasm rather than once per metadata type.
#[inline(never)]
fn add_arrays(o: JsValue, arrays: Vec<(&str, JsValue)>) -> JsValue {
    for (key, value) in arrays {
        // Setting a data property on a fresh plain object cannot fail.
        let _ = Reflect::set(&o, &JsValue::from_str(key), &value);
    }
    o
}

/// `{ data: Float32Array, shape: [...] }`
fn tensor(data: &[f32], dims: &[usize]) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"data".into(), &Float32Array::from(data));
    let shape: js_sys::Array = dims.iter().map(|&d| JsValue::from_f64(d as f64)).collect();
    let _ = Reflect::set(&o, &"shape".into(), &shape);
    o.into()
}

/// An array's elements in row-major order (a copy only when its layout is not).
fn row_major<S: Data<Elem = f32>, D: Dimension>(a: &ArrayBase<S, D>) -> Float32Array {
    let flat = a.as_standard_layout();
    Float32Array::from(flat.as_slice().unwrap_or_default())
}

/// `{ data: Float32Array, shape: [...] }`, the shape taken from the array.
fn array_tensor<S: Data<Elem = f32>, D: Dimension>(a: &ArrayBase<S, D>) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"data".into(), &row_major(a));
    let shape: js_sys::Array = a.shape().iter().map(|&d| JsValue::from_f64(d as f64)).collect();
    let _ = Reflect::set(&o, &"shape".into(), &shape);
    o.into()
}

/// `{ encoder?, decoder?, cross? }` from whichever maps are present.
fn attention_kinds(encoder: &Option<AttentionMaps>, decoder: &Option<AttentionMaps>, cross: &Option<AttentionMaps>) -> JsValue {
    let o = Object::new();
    for (key, maps) in [("encoder", encoder), ("decoder", decoder), ("cross", cross)] {
        if let Some(m) = maps {
            let _ = Reflect::set(&o, &key.into(), &array_tensor(m));
        }
    }
    o.into()
}

/// Only the last query row of `[L][H][Tq][Tk]`, as `[L][H][1][Tk]`: the attention of the
/// position whose logits chose the token (the first step feeds the whole prompt at once).
fn last_query_row<S: Data<Elem = f32>>(m: &ArrayBase<S, ndarray::Ix4>) -> JsValue {
    let tq = m.dim().2;
    array_tensor(&m.slice(s![.., .., tq.saturating_sub(1).., ..]))
}

/// Rust offsets count characters (Unicode scalar values); JS strings index UTF-16 code units.
/// `table[c]` is the code-unit index of character `c`, for `c` in `0..=n_chars`.
fn utf16_index_table(text: &str) -> Vec<u32> {
    let mut table = Vec::with_capacity(text.len() + 1);
    let mut at = 0u32;
    table.push(0);
    for ch in text.chars() {
        at += ch.len_utf16() as u32;
        table.push(at);
    }
    table
}

/// The strings and flags of an encoding (its ids and offsets are typed arrays beside them).
#[derive(Serialize)]
struct EncodingMeta<'a, T: Serialize> {
    tokens: &'a [String],
    /// The tokenizer's own account of its steps (`tokenize` with `trace: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<T>,
}

/// The weight storage called `name` (the load option `weights`, the benchmarks), or a message
/// naming the four.
fn parse_storage(name: &str) -> Result<crate::kernels::Storage, JsError> {
    crate::kernels::Storage::parse(name).ok_or_else(|| JsError::new(&format!("weights \"{name}\" is not a storage. Use \"f32\", \"f16\", \"bf16\" or \"int8\", or leave it out to keep the file's own")))
}

/// `{ ids: Uint32Array, tokens: string[], offsets: Uint32Array [T*2] (UTF-16), special: Uint8Array,
/// second?: Uint8Array, trace? }`; with a `pair`, `second` marks its tokens, whose offsets index it.
fn encoding_object<T: Serialize>(enc: &Encoding, text: &str, pair: Option<&str>, trace: Option<T>) -> Result<JsValue, JsError> {
    with_arrays(&EncodingMeta { tokens: &enc.tokens, trace }, encoding_arrays(enc, text, pair))
}

/// [`encoding_object`]'s typed arrays, apart from its generic trace so that one copy of this code builds them.
fn encoding_arrays(enc: &Encoding, text: &str, pair: Option<&str>) -> Vec<(&'static str, JsValue)> {
    let tables = [utf16_index_table(text), utf16_index_table(pair.unwrap_or_default())];
    let to_utf16 = |c: usize, second: bool| {
        let table = &tables[second as usize];
        table[c.min(table.len() - 1)]
    };
    let offsets: Vec<u32> = enc.offsets.iter().zip(enc.second.iter().chain(std::iter::repeat(&false))).flat_map(|(&(s, e), &second)| [to_utf16(s, second), to_utf16(e, second)]).collect();
    let special: Vec<u8> = enc.special.iter().map(|&s| s as u8).collect();
    let mut arrays = vec![
        ("ids", Uint32Array::from(&enc.ids[..]).into()),
        ("offsets", Uint32Array::from(&offsets[..]).into()),
        ("special", Uint8Array::from(&special[..]).into()),
    ];
    if pair.is_some() {
        let second: Vec<u8> = enc.second.iter().map(|&s| s as u8).collect();
        arrays.push(("second", Uint8Array::from(&second[..]).into()));
    }
    arrays
}

/// Tokens named by id (decoder inputs, candidates): their vocabulary strings and whether the
/// tokenizer marks them special (so the page never guesses from how a string looks).
struct IdTokens {
    tokens: Vec<String>,
    special: Vec<bool>,
}

impl IdTokens {
    fn of(session: &Session, ids: &[u32]) -> Self {
        let specials = session.tokenizer.special_ids();
        IdTokens {
            tokens: ids.iter().map(|&id| token_string(session, id)).collect(),
            special: ids.iter().map(|id| specials.binary_search(id).is_ok()).collect(),
        }
    }
}

#[derive(Serialize)]
struct TopKMeta {
    k: usize,
    tokens: Vec<String>,
    special: Vec<bool>,
}

/// `{ k, ids: Uint32Array [n*k], probs: Float32Array [n*k], tokens: string[n*k], special: boolean[n*k] }`:
/// the `k` most likely tokens of each of the `n` rows of `logits: [n][V]`, most likely first.
fn top_k_object(session: &Session, logits: &[f32], vocab: usize, k: usize) -> Result<JsValue, JsError> {
    let k = k.min(vocab);
    let mut top = TopK { k, ids: Vec::new(), probs: Vec::new() };
    for row in logits.chunks_exact(vocab.max(1)) {
        for (id, p) in top_candidates(row, k) {
            top.ids.push(id);
            top.probs.push(p);
        }
    }
    top_k_rows_object(session, &top)
}

/// `top_k_object`'s shape from rows the forward pass already reduced (`Outputs::top_k`).
fn top_k_rows_object(session: &Session, top: &TopK) -> Result<JsValue, JsError> {
    let named = IdTokens::of(session, &top.ids);
    with_arrays(
        &TopKMeta { k: top.k, tokens: named.tokens, special: named.special },
        vec![("ids", Uint32Array::from(&top.ids[..]).into()), ("probs", Float32Array::from(&top.probs[..]).into())],
    )
}

/// The vocabulary string of `id`, a model's output (a candidate, a generated or decoder token:
/// Marian's target vocabulary where it has its own); ids the tokenizer does not cover (padding
/// rows of a larger embedding table) show as `[id]`.
fn token_string(session: &Session, id: u32) -> String {
    session.tokenizer.output_token(id).map_or_else(|| format!("[{id}]"), str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// The options of each call (docs/js-api.md and www/glassbox.d.ts name the same keys).

/// `WasmModel.load` options.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LoadOptions {
    /// Build the architecture with seeded random weights (weights may then be `null`).
    random_seed: Option<u64>,
    /// The storage of the weight matrices in memory, as the CLI's `--weights`: `"f32"`, `"f16"`,
    /// `"bf16"` or `"int8"` (`None`: the file's own).
    weights: Option<String>,
    /// A translation tokenizer's source language (`src_lang`), as the CLI's `--src-lang`.
    src_lang: Option<String>,
}

/// `WasmModel.tokenize` options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
struct TokenizeOptions {
    add_special_tokens: bool,
    trace: bool,
    /// A second text joined by the pair template (no trace then).
    pair: Option<String>,
}

impl Default for TokenizeOptions {
    fn default() -> Self {
        TokenizeOptions { add_special_tokens: true, trace: false, pair: None }
    }
}

/// `WasmModel.run` options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
struct RunOptions {
    decoder_ids: Option<Vec<u32>>,
    /// A second text read with the first (encoder-only models: `[CLS] A [SEP] B [SEP]`).
    pair: Option<String>,
    scores: bool,
    top_k: u32,
    logits: bool,
    /// Which attention maps come back (default: every kind and layer); see `capture.rs`.
    attention: Option<capture::AttentionOption>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { decoder_ids: None, pair: None, scores: false, top_k: 10, logits: false, attention: None }
    }
}

/// Heads to ablate per attention kind, each `[L][H]` flat (1 keeps a head, 0 ablates it).
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct HeadMaskOption {
    encoder: Option<Vec<f32>>,
    decoder: Option<Vec<f32>>,
    cross: Option<Vec<f32>>,
}

impl From<HeadMaskOption> for HeadMasks {
    fn from(m: HeadMaskOption) -> Self {
        HeadMasks { encoder: m.encoder, decoder: m.decoder, cross: m.cross }
    }
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum KindOption {
    Encoder,
    Decoder,
    Cross,
}

impl From<KindOption> for AttentionKind {
    fn from(k: KindOption) -> Self {
        match k {
            KindOption::Encoder => AttentionKind::Encoder,
            KindOption::Decoder => AttentionKind::Decoder,
            KindOption::Cross => AttentionKind::Cross,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QkvOption {
    kind: KindOption,
    #[serde(default)]
    layer: usize,
}

/// `WasmModel.inspect` options: `run`'s plus the teaching extras.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
struct InspectOptions {
    decoder_ids: Option<Vec<u32>>,
    /// A second text read with the first (encoder-only models).
    pair: Option<String>,
    scores: bool,
    top_k: u32,
    /// One layer's Q/K/V arithmetic, every head.
    qkv: Option<QkvOption>,
    /// The `k` likeliest tokens at every hidden state and position (0: none).
    logit_lens: u32,
    head_mask: Option<HeadMaskOption>,
    /// One 1 (visible) or 0 (hidden) per source token, specials included.
    token_mask: Option<Vec<u8>>,
    /// Which attention maps come back (default: every kind and layer); see `capture.rs`.
    attention: Option<capture::AttentionOption>,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions { decoder_ids: None, pair: None, scores: false, top_k: 10, qkv: None, logit_lens: 0, head_mask: None, token_mask: None, attention: None }
    }
}

/// `WasmGenerator.create` options. The decoding options left out (`None`) take the model's
/// generation settings (generation_config.json, else config.json), then Glassbox's defaults,
/// through [`Session::plan`] as in the CLI.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
struct GenerateOptions {
    max_new_tokens: Option<u32>,
    /// 0: greedy; other values sample.
    temperature: Option<f32>,
    top_k: Option<u32>,
    top_p: Option<f32>,
    /// A whole number up to 2^53; the same seed gives the same tokens here and in the CLI.
    seed: u64,
    /// More than 1: beam search (HF's `num_beams`).
    num_beams: Option<u32>,
    length_penalty: Option<f64>,
    num_candidates: u32,
    capture_attention: bool,
    /// Which layers' (and kinds') step attention each token carries (default: all); see `capture.rs`.
    attention: Option<capture::AttentionOption>,
    head_mask: Option<HeadMaskOption>,
    token_mask: Option<Vec<u8>>,
    /// A language code forced as the first generated token (the CLI's `--tgt-lang`).
    target_language: Option<String>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_new_tokens: None,
            temperature: None,
            top_k: None,
            top_p: None,
            seed: 0,
            num_beams: None,
            length_penalty: None,
            num_candidates: 10,
            capture_attention: true,
            attention: None,
            head_mask: None,
            token_mask: None,
            target_language: None,
        }
    }
}

impl GenerateOptions {
    fn request(&self) -> GenerationRequest {
        GenerationRequest {
            max_new_tokens: self.max_new_tokens.map(|n| n as usize),
            temperature: self.temperature,
            top_k: self.top_k.map(|k| k as usize),
            top_p: self.top_p,
            seed: self.seed,
            num_beams: self.num_beams.map(|b| b as usize),
            length_penalty: self.length_penalty,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The model handle.

/// A loaded model and its tokenizer.
#[wasm_bindgen]
pub struct WasmModel {
    session: Session,
    /// Bytes of model.safetensors (`None` for a random-weight twin).
    weights_len: Option<usize>,
    /// The storage asked for at load (`None`: each matrix in its file's).
    storage: Option<crate::kernels::Storage>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    decoder_tokens: Option<Vec<String>>,
    /// Which decoder input tokens the tokenizer marks special.
    #[serde(skip_serializing_if = "Option::is_none")]
    decoder_special: Option<Vec<bool>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LensMeta {
    k: usize,
    n_states: usize,
    seq_len: usize,
    tokens: Vec<String>,
    special: Vec<bool>,
}

/// `{ kind, layer, nHeads, nKvHeads, qLen, kLen, dHead, dModel, scale }` of a Q/K/V trace (its arrays beside).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QkvMeta {
    kind: &'static str,
    layer: usize,
    n_heads: usize,
    /// Grouped-query attention: query head `h` reads key/value head `h / (nHeads / nKvHeads)`.
    n_kv_heads: usize,
    q_len: usize,
    k_len: usize,
    d_head: usize,
    d_model: usize,
    scale: f32,
    /// Gemma 2's score cap (`cap · tanh(score / cap)` after the scale), or null.
    softcap: Option<f32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RotaryMeta {
    n_positions: usize,
    n_pairs: usize,
    d_head: usize,
    /// The dimensions of each head that turn (the first `rotaryDims` of `dHead`).
    rotary_dims: usize,
    theta: f64,
    scaling: &'static str,
    /// LongRoPE and YaRN: the length first trained on, and the factor cosines and sines are
    /// multiplied by; LongRoPE: whether these positions use the long factors.
    #[serde(skip_serializing_if = "Option::is_none")]
    original_max_positions: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    long_factors: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attention_factor: Option<f32>,
    /// Cohere: pair `i` is dimensions `(2i, 2i+1)`; left out for the `(i, i + R/2)` of every other family.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    interleaved: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RelativeMeta {
    num_buckets: usize,
    max_distance: usize,
    bidirectional: bool,
    n_heads: usize,
}

#[wasm_bindgen]
impl WasmModel {
    /// Build a model from the bytes of a Hugging Face folder. `weights` (model.safetensors) is its
    /// bytes or a reader `{ size, read(offset, length) -> Uint8Array }` (the worker's, of a picked
    /// file); a sharded checkpoint is `{ index, shards }`: model.safetensors.index.json's bytes and
    /// an object from each shard's file name to its bytes or reader. It may be `null` when
    /// `options.randomSeed` is given: the architecture is then built with seeded random weights.
    /// `generation_config` (generation_config.json, optional) sets the generation rules (end
    /// tokens, forced and suppressed tokens) as in the CLI.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        config: &[u8],
        weights: JsValue,
        tokenizer: &[u8],
        tokenizer_config: Option<Vec<u8>>,
        special_tokens_map: Option<Vec<u8>>,
        generation_config: Option<Vec<u8>>,
        load_options: JsValue,
    ) -> Result<WasmModel, JsError> {
        let opts: LoadOptions = options(load_options, "load")?;
        // The file wins over the seed, as in `Model::load`.
        // model.safetensors stays in JavaScript (its bytes, or a reader of the picked file): read one
        // tensor at a time (load.rs).
        let weights = load::JsWeights::from_js(weights)?;
        let files = files_without_weights(config, tokenizer, &tokenizer_config, &special_tokens_map, &generation_config);
        let storage = opts.weights.as_deref().map(parse_storage).transpose()?;
        let mut session = Session::load_from(&files, weights.as_ref().map(load::JsWeights::source), opts.random_seed, storage).map_err(js_error)?;
        if let Some(code) = &opts.src_lang {
            session.tokenizer.set_src_lang(code).map_err(js_error)?;
        }
        Ok(WasmModel { session, weights_len: weights.as_ref().map(load::JsWeights::len), storage })
    }

    /// The model card: `ModelInfo` of `www/glassbox.d.ts`, the object `glassbox info` prints.
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&ModelCard { weights: self.storage.map(crate::kernels::Storage::name), ..ModelCard::new(&self.session, self.weights_len) })
    }

    /// Tokenize `text` (options `{ addSpecialTokens = true, trace = false, pair? }`):
    /// `{ ids, tokens, offsets (UTF-16, flat pairs), special, second?, trace? }`.
    pub fn tokenize(&self, text: &str, tokenize_options: JsValue) -> Result<JsValue, JsError> {
        let opts: TokenizeOptions = options(tokenize_options, "tokenize")?;
        let tok = &self.session.tokenizer;
        if let Some(pair) = opts.pair.as_deref() {
            let enc = tok.encode_pair(text, pair, opts.add_special_tokens).map_err(js_error)?;
            return encoding_object(&enc, text, Some(pair), None::<()>);
        }
        if !opts.trace {
            let enc = tok.encode(text, opts.add_special_tokens).map_err(js_error)?;
            return encoding_object(&enc, text, None, None::<()>);
        }
        let (enc, steps) = tok.encode_traced(text, opts.add_special_tokens).map_err(js_error)?;
        encoding_object(&enc, text, None, Some(steps))
    }

    /// One forward pass over `text` (options `{ decoderIds?, scores = false, topK = 10, logits = false }`).
    /// Returns `{ tokens, decoderIds?, decoderTokens?, decoderSpecial?, attentions, scores?, lastHiddenState, topK?, logits?, sentenceEmbedding? }`
    /// with `topK` flat (see `top_k_object`); `topK: 0` leaves it out.
    pub fn run(&self, text: &str, run_options: JsValue) -> Result<JsValue, JsError> {
        let opts: RunOptions = options(run_options, "run")?;
        let maps = capture::selection(opts.attention.as_ref(), &self.session)?;
        // The page wants a few candidates per position, not [T][V]: those are worked out a block of rows at a time.
        let logits = if opts.logits { LogitRows::All } else { LogitRows::TopK(opts.top_k as usize) };
        let core = CoreInspectOptions { decoder_ids: opts.decoder_ids, capture: Capture { probs: true, scores: opts.scores }, maps, logits, pair: opts.pair.clone(), ..Default::default() };
        let ins = self.session.inspect_with(text, &core).map_err(js_error)?;
        self.run_object(text, opts.pair.as_deref(), &ins, opts.scores, opts.top_k, opts.logits, maps)
    }

    /// `run` for the teaching views. Options: `run`'s (`decoderIds`, `scores`, `topK`) plus
    /// `qkv: { kind, layer }` (one layer's Q/K/V arithmetic), `logitLens: k` (the k likeliest
    /// tokens per hidden state and position), `headMask: { encoder?, decoder?, cross? }` (`[L][H]`,
    /// 1 keeps, 0 ablates) and `tokenMask` (`[S]`, 1 visible, 0 hidden). Returns the `run` object
    /// plus `qkv?` (see `qkv_object`), `lens? { k, nStates, seqLen, ids, probs, tokens, special }` and,
    /// with the lens, `residual? { nStates, seqLen, dModel, rms, change }` (see `block::residual_object`).
    pub fn inspect(&self, text: &str, inspect_options: JsValue) -> Result<JsValue, JsError> {
        // The same steps as `WasmInspection` (lens.rs), which the worker runs one hidden state at a time.
        let mut job = lens::WasmInspection::start(self, text, inspect_options)?;
        while job.step(self)? {}
        job.finish(self)
    }

    /// A translation tokenizer's source language from now on (`src_lang`: the code its template
    /// puts around the text); a code the tokenizer lacks is refused with the codes it has.
    #[wasm_bindgen(js_name = setSourceLanguage)]
    pub fn set_source_language(&mut self, code: &str) -> Result<(), JsError> {
        self.session.tokenizer.set_src_lang(code).map_err(js_error)
    }

    /// `[L, H]` of attention `kind` ("encoder", "decoder", "cross"), or `null` when the model has none.
    #[wasm_bindgen(js_name = attentionDims)]
    pub fn attention_dims(&self, kind: &str) -> Result<JsValue, JsError> {
        let kind = attention_kind(kind)?;
        to_js(&self.session.model.attention_dims(kind).map(|(l, h)| [l, h]))
    }

    /// What the model adds to the token embeddings at positions `0..n` of `stack`: `{ data, shape: [N, C] }`
    /// (C: the embeddings' width, ALBERT's `embedding_size`).
    #[wasm_bindgen(js_name = positionVectors)]
    pub fn position_vectors(&self, stack: &str, n: u32) -> Result<JsValue, JsError> {
        let rows = self.session.position_vectors(stack_named(stack)?, n as usize).map_err(js_error)?;
        let c = self.session.model.family().embedding_width();
        Ok(tensor(&rows, &[rows.len().checked_div(c).unwrap_or(0), c]))
    }

    /// T5's relative positions over `n` tokens of `stack`:
    /// `{ numBuckets, maxDistance, bidirectional, nHeads, distances: Int32Array [2N-1], buckets: Uint32Array [2N-1], bias: { data, shape: [H, buckets] } }`.
    #[wasm_bindgen(js_name = relativePositions)]
    pub fn relative_positions(&self, stack: &str, n: u32) -> Result<JsValue, JsError> {
        let r = self.session.relative_positions(stack_named(stack)?, n as usize).map_err(js_error)?;
        let distances: Vec<i32> = r.distances.iter().map(|&d| d as i32).collect();
        with_arrays(
            &RelativeMeta { num_buckets: r.num_buckets, max_distance: r.max_distance, bidirectional: r.bidirectional, n_heads: r.n_heads },
            vec![
                ("distances", js_sys::Int32Array::from(&distances[..]).into()),
                ("buckets", Uint32Array::from(&r.buckets[..]).into()),
                ("bias", tensor(&r.bias, &[r.n_heads, r.num_buckets])),
            ],
        )
    }

    /// A rotary model's (Llama, Qwen2) turn of each pair of head dimensions at positions `0..n`:
    /// `{ nPositions, nPairs, theta, scaling, invFreq: Float32Array [D/2], angles: { data, shape: [N, D/2] } }`
    /// (radians; pair `i` is dimensions `(i, i + D/2)`). Other models refuse by name.
    #[wasm_bindgen(js_name = rotaryAngles)]
    pub fn rotary_angles(&self, n: u32) -> Result<JsValue, JsError> {
        let r = self.session.model.rotary_angles(n as usize).map_err(js_error)?;
        with_arrays(
            &RotaryMeta {
                n_positions: r.n_positions, n_pairs: r.n_pairs, d_head: r.d_head, rotary_dims: r.rotary_dims, theta: r.theta, scaling: r.scaling,
                original_max_positions: r.original_max_positions,
                long_factors: r.long_factors,
                attention_factor: r.attention_factor,
                interleaved: r.interleaved,
            },
            vec![("invFreq", Float32Array::from(&r.inv_freq[..]).into()), ("angles", tensor(&r.angles, &[r.n_positions, r.n_pairs]))],
        )
    }

    /// Rows of `stack`'s token table for `ids`: `{ rows: { data, shape: [T, C] }, scale }`.
    #[wasm_bindgen(js_name = tokenEmbeddings)]
    pub fn token_embeddings(&self, stack: &str, ids: Vec<u32>) -> Result<JsValue, JsError> {
        let e = self.session.token_embeddings(stack_named(stack)?, &ids).map_err(js_error)?;
        #[derive(Serialize)]
        struct Scale {
            scale: f32,
        }
        with_arrays(&Scale { scale: e.scale }, vec![("rows", tensor(&e.rows, &[e.rows.len().checked_div(e.d_model).unwrap_or(0), e.d_model]))])
    }
}

impl WasmModel {
    /// The `run` result object of an inspection.
    fn run_object(&self, text: &str, pair: Option<&str>, ins: &Inspection, scores: bool, top_k: u32, logits: bool, maps: MapSelection) -> Result<JsValue, JsError> {
        let out = &ins.outputs;
        let decoder = ins.decoder_ids.as_ref().map(|ids| IdTokens::of(&self.session, ids));
        let (decoder_tokens, decoder_special) = decoder.map_or((None, None), |d| (Some(d.tokens), Some(d.special)));
        let mut arrays = vec![
            ("tokens", encoding_object(&ins.encoding, text, pair, None::<()>)?),
            ("attentions", attention_kinds(&out.encoder_attentions, &out.decoder_attentions, &out.cross_attentions)),
        ];
        capture::mark_first_layers(&arrays[1].1, maps, &self.session);
        if let Some(ids) = &ins.decoder_ids {
            arrays.push(("decoderIds", Uint32Array::from(&ids[..]).into()));
        }
        if scores {
            arrays.push(("scores", attention_kinds(&out.encoder_scores, &out.decoder_scores, &out.cross_scores)));
            capture::mark_first_layers(&arrays[arrays.len() - 1].1, maps, &self.session);
        }
        let c = self.session.model.last_state_width();
        let rows = out.last_hidden_state.len().checked_div(c).unwrap_or(0);
        arrays.push(("lastHiddenState", tensor(&out.last_hidden_state, &[rows, c])));
        if let Some(top) = &out.top_k {
            arrays.push(("topK", top_k_rows_object(&self.session, top)?));
        } else if let Some(l) = &out.logits {
            let v = self.session.model.decoder_vocab_size(); // Marian may have a separate decoder vocabulary
            if top_k > 0 {
                arrays.push(("topK", top_k_object(&self.session, l, v, top_k as usize)?));
            }
            if logits {
                arrays.push(("logits", tensor(l, &[l.len().checked_div(v).unwrap_or(0), v])));
            }
        }
        if let Some(scores) = &out.class_logits {
            arrays.push(("classLogits", Float32Array::from(&scores[..]).into()));
        }
        // A question-answering model's likeliest answers in the passage (the second text).
        if let Some((answers, probs)) = pair.and(self.session.answers(ins, 3)) {
            arrays.push(("answers", to_js(&answers)?));
            arrays.push(("answerStarts", Float32Array::from(&probs.starts[..]).into()));
            arrays.push(("answerEnds", Float32Array::from(&probs.ends[..]).into()));
        }
        if let Some(replaced) = &out.replaced_logits {
            arrays.push(("replacedLogits", Float32Array::from(&replaced[..]).into()));
        }
        if let Some(embedding) = self.session.sentence_embedding(ins) {
            arrays.push(("sentenceEmbedding", Float32Array::from(&embedding[..]).into()));
        }
        with_arrays(&RunMeta { decoder_tokens, decoder_special }, arrays)
    }
}

fn attention_kind(name: &str) -> Result<AttentionKind, JsError> {
    match name {
        "encoder" => Ok(AttentionKind::Encoder),
        "decoder" => Ok(AttentionKind::Decoder),
        "cross" => Ok(AttentionKind::Cross),
        other => Err(js_error(Error::input(format!("\"{other}\" is not an attention kind"), "Use \"encoder\", \"decoder\" or \"cross\""))),
    }
}

fn stack_named(name: &str) -> Result<Stack, JsError> {
    match name {
        "encoder" => Ok(Stack::Encoder),
        "decoder" => Ok(Stack::Decoder),
        other => Err(js_error(Error::input(format!("\"{other}\" is not a stack"), "Use \"encoder\" or \"decoder\""))),
    }
}

/// `{ kind, layer, nHeads, qLen, kLen, dHead, dModel, scale, softcap, input, q, k, v, bias?, scores, probs, ctx, out }`,
/// every array a flat `Float32Array` in the shapes of [`QkvTrace`] (`-inf` and `f32::MIN` survive).
fn qkv_object(t: &QkvTrace) -> Result<JsValue, JsError> {
    let meta = QkvMeta {
        kind: t.kind.as_str(),
        layer: t.layer,
        n_heads: t.n_heads(),
        n_kv_heads: t.n_kv_heads,
        q_len: t.q_len(),
        k_len: t.k_len(),
        d_head: t.d_head(),
        d_model: t.d_model(),
        scale: t.scale,
        softcap: t.softcap,
    };
    let mut arrays: Vec<(&str, JsValue)> = vec![("input", row_major(&t.input).into()), ("out", row_major(&t.out).into())];
    for (key, data) in [("q", &t.q), ("k", &t.k), ("v", &t.v), ("scores", &t.scores), ("probs", &t.probs), ("ctx", &t.ctx)] {
        arrays.push((key, row_major(data).into()));
    }
    if let Some(bias) = &t.bias {
        arrays.push(("bias", row_major(bias).into()));
    }
    with_arrays(&meta, arrays)
}

// ---------------------------------------------------------------------------------------------
// Drawing: attention maps rasterised by `crate::plot`, the rasteriser of the CLI's figures.

/// `#rgb`/`#rrggbb` colours of a map (the page reads them from its CSS custom properties).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PaletteOption {
    /// The 0, 0.25, 0.5, 0.75 and 1 stops.
    stops: [String; 5],
    masked: String,
    hatch: String,
    grid: String,
}

/// `rasterizeMap` / `drawMap` options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
struct MapOptions {
    rows: usize,
    cols: usize,
    /// Pixels a cell (a square block).
    cell_px: usize,
    /// One-pixel lines between cells (default: from 12 px a cell).
    grid_lines: Option<bool>,
    /// Spacing of the masked cells' hatching, in pixels.
    hatch_px: usize,
    /// A decoder's causal mask (key > query + cols - rows is masked).
    causal: bool,
    /// One byte per cell, non-zero masked (instead of `causal`).
    mask: Option<Vec<u8>>,
    /// Default: the page's light theme.
    palette: Option<PaletteOption>,
    /// Several maps of `[rows][cols]`, one after another in `values`, drawn as one grid image
    /// (e.g. every head of every layer): `maps` of them, `columns` to a row, `gapPx` apart.
    maps: usize,
    columns: Option<usize>,
    gap_px: usize,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            rows: 0,
            cols: 0,
            cell_px: 16,
            grid_lines: None,
            hatch_px: 10,
            causal: false,
            mask: None,
            palette: None,
            maps: 1,
            columns: None,
            gap_px: 4,
        }
    }
}

fn rasterize_with(values: &[f32], map_options: JsValue, call: &str) -> Result<plot::Image, JsError> {
    let opts: MapOptions = options(map_options, call)?;
    let palette = match &opts.palette {
        None => Palette::LIGHT,
        Some(p) => {
            let color = |s: &str, what: &str| plot::parse_hex(s, what).map_err(js_error);
            let mut stops = [[0u8; 3]; 5];
            for (i, s) in p.stops.iter().enumerate() {
                stops[i] = color(s, "palette.stops")?;
            }
            Palette { stops, masked: color(&p.masked, "palette.masked")?, hatch: color(&p.hatch, "palette.hatch")?, grid: color(&p.grid, "palette.grid")? }
        }
    };
    let mask = match (&opts.mask, opts.causal) {
        (Some(m), _) => Mask::Cells(m),
        (None, true) => Mask::Causal,
        (None, false) => Mask::None,
    };
    let style = MapStyle { cell_px: opts.cell_px, grid_lines: opts.grid_lines.unwrap_or(opts.cell_px >= 12), hatch_px: opts.hatch_px };
    if opts.maps == 1 {
        plot::rasterize(values, opts.rows, opts.cols, mask, style, &palette).map_err(js_error)
    } else {
        plot::grid(values, opts.maps, opts.columns.unwrap_or(opts.maps), opts.rows, opts.cols, mask, style, opts.gap_px, &palette).map_err(js_error)
    }
}

/// An attention map `[rows][cols]` as RGBA pixels, the bytes of the CLI's `glassbox plot`:
/// `{ width, height, rgba: Uint8ClampedArray }`. Options: `{ rows, cols, cellPx = 16, gridLines?,
/// hatchPx = 10, causal = false, mask?, palette?, maps = 1, columns = maps, gapPx = 4 }`.
#[wasm_bindgen(js_name = rasterizeMap)]
pub fn rasterize_map(values: &[f32], map_options: JsValue) -> Result<JsValue, JsError> {
    let img = rasterize_with(values, map_options, "rasterizeMap")?;
    #[derive(Serialize)]
    struct Size {
        width: usize,
        height: usize,
    }
    with_arrays(&Size { width: img.width, height: img.height }, vec![("rgba", js_sys::Uint8ClampedArray::from(&img.rgba[..]).into())])
}

/// `rasterizeMap` put on an `OffscreenCanvas` (the worker's own) and handed over as an
/// `ImageBitmap` the page draws with one `drawImage` (transferred, not copied).
#[wasm_bindgen(js_name = drawMap)]
pub fn draw_map(values: &[f32], map_options: JsValue) -> Result<web_sys::ImageBitmap, JsError> {
    let img = rasterize_with(values, map_options, "drawMap")?;
    let fail = |what: &str, e: JsValue| JsError::new(&format!("the map could not be drawn: {what} failed ({e:?}). This browser needs OffscreenCanvas in workers"));
    let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&img.rgba), img.width as u32, img.height as u32)
        .map_err(|e| fail("ImageData", e))?;
    let canvas = web_sys::OffscreenCanvas::new(img.width as u32, img.height as u32).map_err(|e| fail("OffscreenCanvas", e))?;
    let ctx: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(|e| fail("getContext", e))?
        .ok_or_else(|| JsError::new("the map could not be drawn: the OffscreenCanvas has no 2d context"))?
        .dyn_into()
        .map_err(|e| fail("getContext", e.into()))?;
    ctx.put_image_data(&data, 0.0, 0.0).map_err(|e| fail("putImageData", e))?;
    canvas.transfer_to_image_bitmap().map_err(|e| fail("transferToImageBitmap", e))
}

// ---------------------------------------------------------------------------------------------
// The generation handle.

/// One generation run, advanced a token per `next_token` call so the worker can stop between
/// steps. Holds its own decoder state; the model is passed in on every call.
#[wasm_bindgen]
pub struct WasmGenerator {
    mode: Mode,
    /// The tokenized input (prompt or source), for labelling attention keys.
    input: Encoding,
    input_text: String,
    /// What the decoder is fed before the first new token.
    prefix_ids: Vec<u32>,
    /// The ids that end a run (the model's generation settings, else config.json's eos).
    eos_token_ids: Vec<u32>,
    plan: DecodingPlan,
    /// The step attention handed out with each token (the `attention` option).
    maps: MapSelection,
}

/// How a run decodes: a token per step, or a finished beam search replayed token by token.
enum Mode {
    Stepwise(Generator),
    Beam {
        /// Best first.
        hypotheses: Vec<Hypothesis>,
        /// How many tokens of the best hypothesis were handed out by `next_token`.
        replayed: usize,
    },
}

/// The settings a run uses once the options and the model's settings are merged.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanMeta {
    /// `"greedy"`, `"sample"` or `"beam"`.
    decoding: &'static str,
    max_new_tokens: usize,
    num_beams: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    length_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
}

impl PlanMeta {
    fn of(plan: &DecodingPlan) -> Self {
        match plan {
            DecodingPlan::Beam(b) => PlanMeta {
                decoding: "beam",
                max_new_tokens: b.max_new_tokens,
                num_beams: b.num_beams,
                length_penalty: Some(b.length_penalty),
                temperature: None,
                top_k: None,
                top_p: None,
            },
            DecodingPlan::Stepwise(o) => match o.sampling {
                Sampling::Greedy => PlanMeta { decoding: "greedy", max_new_tokens: o.max_new_tokens, num_beams: 1, length_penalty: None, temperature: None, top_k: None, top_p: None },
                Sampling::Sample { temperature, top_k, top_p, .. } => PlanMeta {
                    decoding: "sample",
                    max_new_tokens: o.max_new_tokens,
                    num_beams: 1,
                    length_penalty: None,
                    temperature: Some(temperature),
                    top_k: Some(top_k),
                    top_p: Some(top_p),
                },
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartMeta {
    prefix_tokens: Vec<String>,
    prefix_special: Vec<bool>,
    plan: PlanMeta,
}

#[derive(Serialize)]
struct BeamMeta {
    /// The new tokens of this hypothesis (eos included when it ended there).
    ids: Vec<u32>,
    text: String,
    /// HF's `sequences_scores`: summed log-probability / new_tokens^length_penalty.
    score: f32,
}

#[derive(Serialize)]
struct TokenMeta {
    step: usize,
    id: u32,
    token: String,
    /// Whether the tokenizer marks this token special (e.g. `</s>`).
    special: bool,
    text: String,
    /// The token's probability; `None` (null) for beam search, whose tokens are replayed.
    prob: Option<f32>,
}

#[wasm_bindgen]
impl WasmGenerator {
    /// Start generating from `text`. Options (each left out takes the model's generation_config.json,
    /// then Glassbox's default): `{ maxNewTokens (20), temperature (0: greedy), topK (0: off),
    /// topP (1: off), seed = 0, numBeams (1), lengthPenalty (1), numCandidates = 10,
    /// captureAttention = true, headMask?, tokenMask?, targetLanguage? }` (the masks as in `WasmModel::inspect`,
    /// for every step). The merge is the CLI's ([`Session::plan`]). With more than one beam the
    /// whole beam search runs here; `next_token` then replays the best hypothesis a token at a time.
    pub fn create(model: &WasmModel, text: &str, generate_options: JsValue) -> Result<WasmGenerator, JsError> {
        let o: GenerateOptions = options(generate_options, "generate")?;
        if o.seed > 1 << 53 {
            return Err(js_error(Error::input(format!("seed {} is not a whole number from 0 to 2^53", o.seed), "Use a seed like 0, 1 or 42")));
        }
        let session = &model.session;
        let maps = capture::selection(o.attention.as_ref(), session)?;
        if o.attention.is_some() && !o.capture_attention {
            return Err(js_error(Error::input(
                "attention chooses the step attention to keep, but captureAttention is false",
                "Leave attention out, or pass captureAttention: true",
            )));
        }
        session.set_target_language(o.target_language.as_deref()).map_err(js_error)?;
        let plan = session.plan(text, &o.request()).map_err(js_error)?;
        let eos_token_ids = session.generation_rules(None).eos_token_ids;
        let interventions = Interventions { head_mask: o.head_mask.map(HeadMasks::from).unwrap_or_default(), token_mask: o.token_mask };
        match plan {
            DecodingPlan::Stepwise(mut opts) => {
                opts.n_candidates = o.num_candidates as usize;
                opts.capture = if o.capture_attention { Capture::PROBS } else { Capture::NONE };
                let (input, prefix_ids, generator) = session.generator_with(text, &opts, &interventions).map_err(js_error)?;
                Ok(WasmGenerator { mode: Mode::Stepwise(generator), input, input_text: text.to_owned(), prefix_ids, eos_token_ids, plan, maps })
            }
            DecodingPlan::Beam(opts) => {
                if interventions.head_mask != HeadMasks::default() || interventions.token_mask.is_some() {
                    return Err(js_error(Error::input(
                        format!("headMask and tokenMask apply to greedy and sampled runs, not to beam search ({} beams)", opts.num_beams),
                        "Pass numBeams: 1 to generate with ablated heads or hidden tokens, or leave the masks out",
                    )));
                }
                let run = session.beam_search(text, &opts).map_err(js_error)?;
                Ok(WasmGenerator {
                    mode: Mode::Beam { hypotheses: run.hypotheses, replayed: 0 },
                    input: run.input,
                    input_text: text.to_owned(),
                    prefix_ids: run.prefix_ids,
                    eos_token_ids,
                    plan,
                    maps,
                })
            }
        }
    }

    /// `{ input: Tokens-like (see `tokenize`), prefixIds: Uint32Array, prefixTokens: string[], prefixSpecial: boolean[],
    /// plan: { decoding: "greedy"|"sample"|"beam", maxNewTokens, numBeams, lengthPenalty?, temperature?, topK?, topP? } }`.
    pub fn start(&self, model: &WasmModel) -> Result<JsValue, JsError> {
        let named = IdTokens::of(&model.session, &self.prefix_ids);
        with_arrays(
            &StartMeta { prefix_tokens: named.tokens, prefix_special: named.special, plan: PlanMeta::of(&self.plan) },
            vec![("input", encoding_object(&self.input, &self.input_text, None, None::<()>)?), ("prefixIds", Uint32Array::from(&self.prefix_ids[..]).into())],
        )
    }

    /// The next token: `{ step, id, token, special, text, prob, candidates: { ids, probs, tokens, special },
    /// sampled: { ids, probs, tokens, special, support }, attentions? }` (`sampled`: the distribution drawn from),
    /// or `undefined` once finished. `text` is the decoded new text so far (prompt not included);
    /// `attentions.self` is `[L][H][1][P]`, `attentions.cross` `[L][H][1][S]`.
    #[wasm_bindgen(js_name = nextToken)]
    pub fn next_token(&mut self, model: &WasmModel) -> Result<JsValue, JsError> {
        let generator = match &mut self.mode {
            Mode::Stepwise(generator) => generator,
            Mode::Beam { hypotheses, replayed } => {
                let best = hypotheses.first().map(|h| h.ids.as_slice()).unwrap_or_default();
                let Some(&id) = best.get(*replayed) else {
                    return Ok(JsValue::UNDEFINED);
                };
                *replayed += 1;
                let meta = token_meta(&model.session, &best[..*replayed], None)?;
                // No candidates (the beams chose among many) and no attention (not captured).
                #[derive(Serialize)]
                struct NoNames {
                    tokens: [String; 0],
                    special: [bool; 0],
                }
                let candidates = with_arrays(
                    &NoNames { tokens: [], special: [] },
                    vec![("ids", Uint32Array::new_with_length(0).into()), ("probs", Float32Array::new_with_length(0).into())],
                )?;
                debug_assert_eq!(meta.id, id);
                return with_arrays(&meta, vec![("candidates", candidates)]);
            }
        };
        let Some(tok) = generator.next_token(&model.session.model).map_err(js_error)? else {
            return Ok(JsValue::UNDEFINED);
        };
        let meta = token_meta(&model.session, generator.produced(), Some(tok.prob))?;
        let ids: Vec<u32> = tok.candidates.iter().map(|&(id, _)| id).collect();
        let probs: Vec<f32> = tok.candidates.iter().map(|&(_, p)| p).collect();
        let named = IdTokens::of(&model.session, &ids);
        #[derive(Serialize)]
        struct Names {
            tokens: Vec<String>,
            special: Vec<bool>,
        }
        let candidates = with_arrays(
            &Names { tokens: named.tokens, special: named.special },
            vec![("ids", Uint32Array::from(&ids[..]).into()), ("probs", Float32Array::from(&probs[..]).into())],
        )?;
        // The distribution actually drawn from (after the rules, temperature, top-k, top-p).
        let sampled_ids: Vec<u32> = tok.sampled.iter().map(|&(id, _)| id).collect();
        let sampled_probs: Vec<f32> = tok.sampled.iter().map(|&(_, p)| p).collect();
        let sampled_named = IdTokens::of(&model.session, &sampled_ids);
        #[derive(Serialize)]
        struct Sampled {
            tokens: Vec<String>,
            special: Vec<bool>,
            support: usize,
        }
        let sampled = with_arrays(
            &Sampled { tokens: sampled_named.tokens, special: sampled_named.special, support: tok.sampled_support },
            vec![("ids", Uint32Array::from(&sampled_ids[..]).into()), ("probs", Float32Array::from(&sampled_probs[..]).into())],
        )?;
        let mut arrays = vec![("candidates", candidates), ("sampled", sampled)];
        if let Some(self_maps) = &tok.self_attentions {
            let att = Object::new();
            for (key, kind, maps) in [("self", AttentionKind::Decoder, Some(self_maps)), ("cross", AttentionKind::Cross, tok.cross_attentions.as_ref())] {
                let Some(maps) = maps else { continue };
                let kept = self.maps.layers(kind, maps.dim().0);
                if kept.is_empty() {
                    continue;
                }
                let first = kept.start;
                let tensor = last_query_row(&maps.slice(s![kept, .., .., ..]));
                if self.maps != MapSelection::ALL {
                    let _ = Reflect::set(&tensor, &"firstLayer".into(), &JsValue::from_f64(first as f64));
                }
                let _ = Reflect::set(&att, &key.into(), &tensor);
            }
            arrays.push(("attentions", att.into()));
        }
        with_arrays(&meta, arrays)
    }

    /// The new ids so far (beam search: of the best hypothesis, as far as replayed).
    pub fn ids(&self) -> Uint32Array {
        Uint32Array::from(self.produced())
    }

    /// Why generation ended: `"eos"`, `"max"`, or `""` while it can go on.
    #[wasm_bindgen(js_name = stoppedBy)]
    pub fn stopped_by(&self) -> String {
        let finished = match &self.mode {
            Mode::Stepwise(generator) => generator.is_finished(),
            Mode::Beam { hypotheses, replayed } => *replayed >= hypotheses.first().map_or(0, |h| h.ids.len()),
        };
        if !finished {
            return String::new();
        }
        let hit_eos = self.produced().last().is_some_and(|id| self.eos_token_ids.contains(id));
        (if hit_eos { "eos" } else { "max" }).to_owned()
    }

    /// Beam search's finished hypotheses, best first: `[{ ids, text, score }]` (`score`: HF's
    /// `sequences_scores`); `undefined` for greedy and sampled runs.
    pub fn beams(&self, model: &WasmModel) -> Result<JsValue, JsError> {
        let Mode::Beam { hypotheses, .. } = &self.mode else {
            return Ok(JsValue::UNDEFINED);
        };
        let beams = hypotheses
            .iter()
            .map(|h| Ok(BeamMeta { ids: h.ids.clone(), text: model.session.tokenizer.decode(&h.ids, true)?, score: h.score }))
            .collect::<crate::error::Result<Vec<_>>>()
            .map_err(js_error)?;
        to_js(&beams)
    }
}

impl WasmGenerator {
    fn produced(&self) -> &[u32] {
        match &self.mode {
            Mode::Stepwise(generator) => generator.produced(),
            Mode::Beam { hypotheses, replayed } => hypotheses.first().map_or(&[][..], |h| &h.ids[..*replayed]),
        }
    }
}

/// The event of the last token of `produced` (the new ids so far).
fn token_meta(session: &Session, produced: &[u32], prob: Option<f32>) -> Result<TokenMeta, JsError> {
    let id = *produced.last().ok_or_else(|| JsError::new("no token produced"))?;
    let text = session.tokenizer.decode(produced, true).map_err(js_error)?;
    let specials = session.tokenizer.special_ids();
    Ok(TokenMeta { step: produced.len() - 1, id, token: token_string(session, id), special: specials.binary_search(&id).is_ok(), text, prob })
}

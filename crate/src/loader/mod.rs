//! Turning the bytes of a Hugging Face model folder into a runnable model.
//!
//! No filesystem here: the CLI reads files, the browser hands over `ArrayBuffer`s.

pub mod folder;
pub mod limits;
pub mod shards;
pub mod tensor_file;
pub mod weights;

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

pub use folder::{other_tokenizer_files, other_weight_files, stand_in_for, FolderHint, MARIAN_FILES};
pub use shards::{shard_names, WeightSource};
pub use weights::Weights;

/// The files of a standard Hugging Face model folder, as bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct ModelFiles<'a> {
    pub config: &'a [u8],                     // config.json
    pub weights: Option<&'a [u8]>,            // model.safetensors (None: seeded random weights)
    pub tokenizer: &'a [u8],                  // tokenizer.json
    pub tokenizer_config: Option<&'a [u8]>,   // tokenizer_config.json
    pub special_tokens_map: Option<&'a [u8]>, // special_tokens_map.json
    /// generation_config.json: when present it alone decides the generation settings (else
    /// config.json's generation keys do), as in Hugging Face.
    pub generation_config: Option<&'a [u8]>,
}

/// Parse a JSON file, naming the file in the error.
pub fn parse_json<T: DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::file(file, "the file is empty", "Provide the file saved by `save_pretrained`"));
    }
    serde_json::from_slice(bytes).map_err(|e| json_error(file, bytes, e))
}

/// [`parse_json`]'s message, kept out of its generic body so that each type it parses does not
/// carry a copy (13 of them: 8 KB of wasm).
#[inline(never)]
fn json_error(file: &str, bytes: &[u8], e: serde_json::Error) -> Error {
    let fix = if e.is_eof() { "The file looks truncated; fetch it again" } else { "Check that this is the file saved by `save_pretrained`" };
    // Every file read here is one JSON object: a list or a number at the top says so plainly.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if e.is_data() && first.is_some_and(|b| b != b'{') {
        let what = match first {
            Some(b'[') => "a list",
            Some(b'"') => "a string",
            _ => "a single value",
        };
        return Error::file(file, format!("is not a JSON object: it holds {what} where `{{ ... }}` was expected"), fix);
    }
    // serde names a missing or repeated field itself, but a wrong value only by line and column.
    let said = e.to_string();
    // Numbers no f64 holds (1e999), and Python's json.dumps spellings of inf and nan (`Infinity`, `NaN`),
    // which are not JSON: serde calls both syntax errors and names no key.
    let out_of_range = said.starts_with("number out of range");
    let python_float = python_float_at(bytes, e.line(), e.column());
    let named = e.is_data() || out_of_range || python_float.is_some();
    let near = match key_before(bytes, e.line(), e.column()) {
        Some(key) if named && !said.contains("missing field") && !said.contains("duplicate field") => format!(" in field `{key}`"),
        _ => String::new(),
    };
    if let Some(word) = python_float {
        return Error::file(file, format!("holds `{word}`{near}, Python's spelling of an infinite or undefined float, which JSON has no \
            value for ({e})"), "Write a finite number there");
    }
    if out_of_range {
        return Error::file(file, format!("holds a number too large for a 64-bit float{near} ({e})"),
            "Write a finite number there (at most about 1.8e308)");
    }
    if let Some((problem, fix)) = bad_escape(&e) {
        return Error::file(file, format!("holds {problem}{} ({e})", key_before(bytes, e.line(), e.column()).map(|k| format!(" in field `{k}`")).unwrap_or_default()), fix);
    }
    Error::file(file, format!("not valid JSON or missing a required field{near} ({e})"), fix)
}

/// What is wrong with a backslash escape serde refused, and how to write it, or `None` for every other error.
/// Two kinds, which serde's words ("unexpected end of hex escape", "invalid escape") name neither of:
/// - a `\u` escape JSON has no character for: half of a surrogate pair (`\ud83d` alone, as Python's json.dumps
///   writes a string cut inside an emoji);
/// - an escape JSON does not have: `\q`, `\x41`, `\u` without four hex digits (`\uZZZZ`), most often a Windows
///   path or a regular expression pasted with single backslashes.
pub fn bad_escape(e: &serde_json::Error) -> Option<(&'static str, &'static str)> {
    let said = e.to_string();
    if said.contains("hex escape") || said.contains("surrogate") || said.contains("unicode code point") {
        return Some((
            "a \\u escape that is not a character",
            "Write the character itself, or a complete escape: \\uD800 to \\uDBFF must be followed by \\uDC00 to \\uDFFF (one emoji is two escapes)",
        ));
    }
    said.starts_with("invalid escape").then_some((
        "a backslash escape JSON does not have (JSON knows only \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\u followed by four hex digits)",
        "Double every backslash that is meant literally (a Windows path or a regular expression: \\\\d, C:\\\\models), or write \\u with four hex digits",
    ))
}

/// A config.json key whose three states mean different things: left out (the HF config class's
/// default applies), `null` (HF's `None`, often "derive it from another key"), or a value. serde's
/// `Option` folds the first two together; give the field `#[serde(default)]` to read all three.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Keyed<T> {
    #[default]
    Absent,
    Null,
    Given(T),
}

impl<T> Keyed<T> {
    /// The value; `absent` when the key is left out, `None` when it is `null`.
    pub fn or_when_absent(self, absent: Option<T>) -> Option<T> {
        match self {
            Keyed::Absent => absent,
            Keyed::Null => None,
            Keyed::Given(v) => Some(v),
        }
    }

    /// The value when given (left out and null alike: `None`).
    pub fn value(self) -> Option<T> {
        self.or_when_absent(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Keyed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // Only called when the key is present (a missing one takes `Default`, Absent).
        Ok(Option::<T>::deserialize(d)?.map_or(Keyed::Null, Keyed::Given))
    }
}

/// The byte offset of serde's `line:column` (both 1-based; the column counts bytes) in `bytes`: the
/// position just after the character serde stopped at.
fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = bytes.split_inclusive(|&b| b == b'\n').take(line.saturating_sub(1)).map(<[u8]>::len).sum();
    (line_start + column).min(bytes.len())
}

/// `Infinity`, `-Infinity` or `NaN` where serde stopped (its column points at the value's first letter,
/// after a minus sign if there is one).
fn python_float_at(bytes: &[u8], line: usize, column: usize) -> Option<&'static str> {
    let at = offset_of(bytes, line, column).checked_sub(1)?;
    let minus = at > 0 && bytes[at - 1] == b'-';
    let rest = &bytes[at..];
    if rest.starts_with(b"Infinity") {
        Some(if minus { "-Infinity" } else { "Infinity" })
    } else if rest.starts_with(b"NaN") {
        Some("NaN")
    } else {
        None
    }
}

/// The JSON object key closest before `line:column` (both 1-based), e.g. `n_layer` for the
/// error position inside `"n_layer": "two"`.
fn key_before(bytes: &[u8], line: usize, column: usize) -> Option<String> {
    let before = std::str::from_utf8(&bytes[..offset_of(bytes, line, column)]).ok()?;
    let colon = before.rfind("\":")?;
    let key_start = before[..colon].rfind('"')?;
    Some(before[key_start + 1..colon].to_string())
}

/// `model_type` values the model families accept (`models::Model::load_from` matches on them), for
/// error messages; it lives here so the loader can name them too.
pub const SUPPORTED_MODEL_TYPES: &str = "gpt2, gpt_neo, opt, bloom, gpt_neox, bert, roberta, xlm-roberta, camembert, distilbert, mpnet, electra, t5, mt5, bart, marian, mbart, pegasus, m2m_100, llama, qwen2, qwen3, mistral, gemma, gemma2, gemma3_text, gemma3, granite, olmo2, olmo3, smollm3, phi3, stablelm, olmo, starcoder2, cohere, phi, modernbert, albert, deberta-v2";

/// `model_type` from config.json, lower-cased.
pub fn model_type(config: &[u8]) -> Result<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        model_type: Option<String>,
    }
    let probe: Probe = parse_json("config.json", config)?;
    probe.model_type.map(|s| s.to_ascii_lowercase()).ok_or_else(|| {
        Error::config("model_type", "is missing", format!("Add \"model_type\": one of {SUPPORTED_MODEL_TYPES}"))
    })
}

/// A token id field that configs write as a number, `null`, or a list (the first one counts).
pub fn one_id<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u32>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    let first = match &v {
        serde_json::Value::Array(items) => items.first().cloned().unwrap_or(serde_json::Value::Null),
        other => other.clone(),
    };
    match first {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("token id {n} is not a non-negative integer"))),
        other => Err(serde::de::Error::custom(format!("expected a token id, found {other}"))),
    }
}

//! Turning the bytes of a Hugging Face model folder into a runnable model.
//!
//! No filesystem here: the CLI reads files, the browser hands over `ArrayBuffer`s.

pub mod weights;

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;

pub use weights::Weights;

/// The files of a standard Hugging Face model folder, as bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct ModelFiles<'a> {
    pub config: &'a [u8],                     // config.json
    pub weights: Option<&'a [u8]>,            // model.safetensors (None: seeded random weights)
    pub tokenizer: &'a [u8],                  // tokenizer.json
    pub tokenizer_config: Option<&'a [u8]>,   // tokenizer_config.json
    pub special_tokens_map: Option<&'a [u8]>, // special_tokens_map.json
}

/// Parse a JSON file, naming the file in the error.
pub fn parse_json<T: DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::file(file, "the file is empty", "Provide the file saved by `save_pretrained`"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let fix = if e.is_eof() { "The file looks truncated; fetch it again" } else { "Check that this is the file saved by `save_pretrained`" };
        Error::file(file, format!("not valid JSON or missing a required field ({e})"), fix)
    })
}

/// `model_type` from config.json, lower-cased.
pub fn model_type(config: &[u8]) -> Result<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        model_type: Option<String>,
    }
    let probe: Probe = parse_json("config.json", config)?;
    probe.model_type.map(|s| s.to_ascii_lowercase()).ok_or_else(|| {
        Error::config("model_type", "is missing", "Add \"model_type\": one of gpt2, bert, t5, bart, marian")
    })
}

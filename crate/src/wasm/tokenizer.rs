//! A tokenizer on its own, without a model: the page cuts the same text with real vocabularies
//! (GPT-2's byte-level BPE, BERT uncased's WordPiece; `scripts/make-real-tokenizers.mjs`) beside
//! the loaded model's. It answers `tokenize` exactly as [`super::WasmModel`] does, so the worker
//! keeps both behind the same handles.

use super::{encoding_object, js_error, options, to_js, TokenizeOptions};
use crate::tokenizer::Tokenizer;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct WasmTokenizer {
    tokenizer: Tokenizer,
}

/// `{ tokenizer: 'BPE' | 'WordPiece' | 'Unigram' | 'WordLevel', vocabSize }`: the keys a model card
/// gives for its tokenizer, so the page labels both alike.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenizerInfo {
    tokenizer: &'static str,
    vocab_size: usize,
}

#[wasm_bindgen]
impl WasmTokenizer {
    /// Build a tokenizer from tokenizer.json (and, when present, tokenizer_config.json and
    /// special_tokens_map.json), checked as a model's tokenizer is.
    pub fn load(tokenizer: &[u8], tokenizer_config: Option<Vec<u8>>, special_tokens_map: Option<Vec<u8>>) -> Result<WasmTokenizer, JsError> {
        let tokenizer = Tokenizer::from_bytes(tokenizer, tokenizer_config.as_deref(), special_tokens_map.as_deref()).map_err(js_error)?;
        Ok(WasmTokenizer { tokenizer })
    }

    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&TokenizerInfo { tokenizer: self.tokenizer.model_kind(), vocab_size: self.tokenizer.vocab_size() })
    }

    /// As `WasmModel.tokenize`: options `{ addSpecialTokens = true, trace = false, pair? }`,
    /// `{ ids, tokens, offsets (UTF-16, flat pairs), special, second?, trace? }`.
    pub fn tokenize(&self, text: &str, tokenize_options: JsValue) -> Result<JsValue, JsError> {
        let opts: TokenizeOptions = options(tokenize_options, "tokenize")?;
        if let Some(pair) = opts.pair.as_deref() {
            let enc = self.tokenizer.encode_pair(text, pair, opts.add_special_tokens).map_err(js_error)?;
            return encoding_object(&enc, text, Some(pair), None::<()>);
        }
        if !opts.trace {
            let enc = self.tokenizer.encode(text, opts.add_special_tokens).map_err(js_error)?;
            return encoding_object(&enc, text, None, None::<()>);
        }
        let (enc, steps) = self.tokenizer.encode_traced(text, opts.add_special_tokens).map_err(js_error)?;
        encoding_object(&enc, text, None, Some(steps))
    }
}

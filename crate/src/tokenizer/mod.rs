//! Tokenizers read from Hugging Face `tokenizer.json`, giving the same ids as the `tokenizers`
//! library, plus a trace of the steps for the page to show.
//!
//! (Stub API: the pipeline is being written; see issue 2 item 3.)

use crate::error::{Error, Result};
use serde::Serialize;

/// The result of encoding one text.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Encoding {
    pub ids: Vec<u32>,
    /// Vocabulary strings of `ids` (byte-level tokens as stored, e.g. `Ġthe`).
    pub tokens: Vec<String>,
    /// `(start, end)` in characters (Unicode scalar values) of the original text; `(0, 0)` for
    /// special tokens the post-processor added.
    pub offsets: Vec<(usize, usize)>,
    pub type_ids: Vec<u32>,
    /// `true` for special tokens (added by the template or typed as special-token text).
    pub special: Vec<bool>,
}

/// What each stage of the pipeline did, for teaching views.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trace {
    pub normalized: String,
}

/// Named special tokens, from tokenizer_config.json / special_tokens_map.json / the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpecialTokens {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub pad: Option<u32>,
    pub mask: Option<u32>,
    pub cls: Option<u32>,
    pub sep: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Tokenizer {
    _private: (),
}

impl Tokenizer {
    pub fn from_bytes(_tokenizer_json: &[u8], _tokenizer_config: Option<&[u8]>, _special_tokens_map: Option<&[u8]>) -> Result<Self> {
        Err(Error::tokenizer("not implemented yet", "wait for issue 2"))
    }
    pub fn encode(&self, _text: &str, _add_special_tokens: bool) -> Result<Encoding> {
        unimplemented!()
    }
    pub fn encode_traced(&self, _text: &str, _add_special_tokens: bool) -> Result<(Encoding, Trace)> {
        unimplemented!()
    }
    pub fn decode(&self, _ids: &[u32], _skip_special_tokens: bool) -> Result<String> {
        unimplemented!()
    }
    pub fn id_to_token(&self, _id: u32) -> Option<&str> {
        unimplemented!()
    }
    pub fn token_to_id(&self, _token: &str) -> Option<u32> {
        unimplemented!()
    }
    /// Size of the id space, added tokens included.
    pub fn vocab_size(&self) -> usize {
        unimplemented!()
    }
    pub fn special_tokens(&self) -> &SpecialTokens {
        unimplemented!()
    }
    /// `"BPE"`, `"WordPiece"` or `"Unigram"`.
    pub fn model_kind(&self) -> &'static str {
        unimplemented!()
    }
}

//! The model card: what the CLI's `glassbox info` prints and what JS sees as `model.info`.
//! One definition, serialised by serde_json natively and by serde-wasm-bindgen in the browser,
//! so the two front ends cannot drift (`tests/wasm/api.test.mjs` compares them).

use crate::models::ModelInfo;
use crate::session::Session;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCard<'a> {
    #[serde(flatten)]
    pub info: &'a ModelInfo,
    /// Bytes of model.safetensors (the f32 size for a random-weight twin).
    pub size_bytes: usize,
    /// `"BPE"`, `"WordPiece"`, `"Unigram"` or `"WordLevel"`.
    pub tokenizer: &'static str,
    /// The mask token's text, for masked-LM models (e.g. "[MASK]").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_token: Option<&'a str>,
}

impl<'a> ModelCard<'a> {
    /// `weights_len`: the size of model.safetensors, `None` for a random-weight twin.
    pub fn new(session: &'a Session, weights_len: Option<usize>) -> Self {
        let info = session.info();
        let tokenizer = &session.tokenizer;
        ModelCard {
            info,
            size_bytes: weights_len.unwrap_or(info.n_params * 4),
            tokenizer: tokenizer.model_kind(),
            mask_token: tokenizer.special_tokens().mask.and_then(|id| tokenizer.id_to_token(id)),
        }
    }
}

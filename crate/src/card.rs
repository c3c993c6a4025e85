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
    /// The defaults a generation starts from when an option is left out (from
    /// generation_config.json, else config.json's generation keys); front ends show them.
    pub generation: GenerationDefaults,
}

/// The model's own generation defaults. `None`: the file does not say (Glassbox then uses greedy,
/// one beam, 20 new tokens).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationDefaults {
    /// `"generation_config.json"` or `"config.json"`: where the values come from.
    pub source: &'static str,
    /// Whether generation_config.json was present (its values alone count then, as in HF).
    pub from_generation_config: bool,
    pub max_new_tokens: Option<usize>,
    pub max_length: Option<usize>,
    pub do_sample: bool,
    /// f64 of the f32's shortest decimal, so JS and the CLI's JSON show the file's number (0.7, not 0.699999988).
    pub temperature: Option<f64>,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
    pub num_beams: Option<usize>,
    pub length_penalty: Option<f64>,
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
            generation: GenerationDefaults::of(&session.generation),
        }
    }
}

impl GenerationDefaults {
    pub fn of(g: &crate::models::generation_config::GenerationConfig) -> Self {
        GenerationDefaults {
            source: g.source,
            from_generation_config: g.source == "generation_config.json",
            max_new_tokens: g.max_new_tokens,
            max_length: g.max_length,
            do_sample: g.do_sample,
            temperature: g.temperature.map(decimal),
            top_k: g.top_k,
            top_p: g.top_p.map(decimal),
            num_beams: g.num_beams,
            length_penalty: g.length_penalty,
        }
    }
}

/// An f32 as the f64 of its shortest decimal form.
fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

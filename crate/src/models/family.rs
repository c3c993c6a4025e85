//! What every model family provides, so that [`super::Model`] dispatches in one place
//! ([`super::Model::family`]) and everything else (checks, probes, generation) is written once.
//!
//! Adding a family: a file `models/<family>.rs` with its config, weights map and forward pass, an
//! `impl Family` for it and either `impl EncoderDecoder` (`seq2seq.rs`) or `impl DecoderOnly`
//! (`decoder_only.rs`), which give it [`Forward`]; a variant of [`super::Model`], one arm in `Model::family` and one in
//! `Model::load`. Nothing else needs to know.

use super::capture::{AttentionKind, Capture, Interventions, Probe, Stack};
use super::{DecoderState, Inputs, Kind, ModelInfo, Outputs, StepOutput};
use crate::error::{Error, Result};

/// How a family runs. Written once per shape of model, not per family: every
/// [`super::seq2seq::EncoderDecoder`] (T5, BART, Marian) and every
/// [`super::decoder_only::DecoderOnly`] (GPT-2, Llama) gets it from there; BERT writes its own.
pub trait Forward {
    /// One full forward pass over checked inputs (ids inside the vocabulary and position table).
    fn forward(&self, inputs: &Inputs, probe: &Probe) -> Result<Outputs>;

    /// A decoder ready to generate: decoder-only models start empty (the prompt is fed), an
    /// encoder-decoder encodes `source` once here. Encoder-only models cannot.
    fn start(&self, source: &[u32], interventions: &Interventions) -> Result<DecoderState>;

    /// Feed tokens at the next positions; the logits of the last one.
    fn feed(&self, state: &mut DecoderState, tokens: &[u32], capture: Capture) -> Result<StepOutput>;
}

pub trait Family: Forward {
    /// Facts about the loaded model.
    fn info(&self) -> &ModelInfo;

    /// Rows of the LM head (the length of each logits row, the range of decoder ids).
    fn decoder_vocab_size(&self) -> usize {
        self.info().vocab_size
    }

    /// `(layers, heads)` of attention `kind`, or `None` when the model has no such attention.
    fn attention_dims(&self, kind: AttentionKind) -> Option<(usize, usize)> {
        attention_dims(self.info(), kind)
    }

    /// The logit lens: logits `[T][V]` as if the stack feeding the head stopped at `x: [T][C]`
    /// (`last`: `x` is the final state, already normed).
    fn lens(&self, x: ndarray::ArrayView2<'_, f32>, last: bool) -> Result<ndarray::Array2<f32>>;

    /// What the embeddings add at positions `0..n` of `stack` (`[N][C]`), or `None` when the
    /// model adds no position vectors (T5). `n` is within the position table.
    fn position_rows(&self, stack: Stack, n: usize) -> Option<&[f32]>;

    /// `stack`'s token table `[V][C]`, its row count and the scale applied to its rows.
    fn token_table(&self, stack: Stack) -> (super::layers::TokenTable<'_>, usize, f32);

    /// The width of the token and position rows: the model width, except where the embeddings are
    /// narrower and a matrix widens them (ALBERT's and ELECTRA's `embedding_size`, opt-350m's
    /// `word_embed_proj_dim`).
    fn embedding_width(&self) -> usize {
        self.info().d_model
    }
}

/// The error for generating with an encoder-only model.
pub(crate) fn cannot_generate() -> Error {
    Error::input(
        "this is an encoder-only model; it reads text but does not generate it",
        "Pick a decoder-only (GPT-2, Llama, Qwen2) or encoder-decoder (T5, BART, Marian) model to generate",
    )
}

/// [`Forward`] for an encoder-only family, whose `$encode(&self, ids, type_ids, probe)` is the whole
/// forward pass; it cannot start or feed a decoder.
macro_rules! impl_encoder_forward {
    ($model:ty, $encode:path) => {
        impl crate::models::family::Forward for $model {
            fn forward(&self, inputs: &crate::models::Inputs, probe: &crate::models::Probe) -> crate::error::Result<crate::models::Outputs> {
                $encode(self, inputs.ids, inputs.type_ids, probe)
            }
            fn start(&self, _source: &[u32], _interventions: &crate::models::Interventions) -> crate::error::Result<crate::models::DecoderState> {
                Err(crate::models::family::cannot_generate())
            }
            fn feed(&self, _state: &mut crate::models::DecoderState, _tokens: &[u32], _capture: crate::models::Capture) -> crate::error::Result<crate::models::StepOutput> {
                Err(crate::models::family::cannot_generate())
            }
        }
    };
}
pub(crate) use impl_encoder_forward;

/// [`Family::attention_dims`] from the model's card: one copy, not one per family.
#[inline(never)]
fn attention_dims(i: &ModelInfo, kind: AttentionKind) -> Option<(usize, usize)> {
    match (i.kind, kind) {
        (Kind::EncoderOnly, AttentionKind::Encoder) | (Kind::DecoderOnly, AttentionKind::Decoder) => Some((i.n_layers, i.n_heads)),
        (Kind::EncoderDecoder, AttentionKind::Encoder) => Some((i.n_layers, i.n_heads)),
        (Kind::EncoderDecoder, _) => Some((i.n_decoder_layers, i.n_heads)),
        _ => None,
    }
}

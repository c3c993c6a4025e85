//! The encoder-decoder machinery T5, BART and Marian share, written once.
//!
//! A family says how to encode a source, how to run decoder tokens over a [`DecoderState`], and how
//! to turn decoder states into logits ([`EncoderDecoder`]); the skeleton here does the rest:
//!
//! ```text
//! forward(src, tgt):  enc = encode(src)                        # [S][C], once
//!                     state = { cross K/V of every decoder layer over enc, empty self-attention caches }
//!                     h = decode(state, tgt); logits = lm_logits(h)    # [T][C] -> [T][V]
//! start(src):         the same state, nothing decoded yet (generation)
//! feed(state, toks):  decode the new tokens at the next positions; logits of the last one
//! ```
//!
//! Attention capture and the teaching probes ride along in the [`Recorder`]s of each attention kind.

use super::attention::{AttentionKind, KvCache, Recorder};
use super::logits;
use super::family::Forward;
use super::{Capture, DecoderState, Family, Inputs, Interventions, ModelInfo, Outputs, Probe, StepOutput};
use super::activations::into_flat;
use crate::error::{Error, Result};
use ndarray::{s, Array2, ArrayView2};

/// What one encoder-decoder family computes; [`Forward`] follows ([`forward`], [`start`], [`feed`]).
pub trait EncoderDecoder: Family {
    fn d_model(&self) -> usize;
    fn encoder_shape(&self) -> (usize, usize); // (layers, heads)
    fn decoder_shape(&self) -> (usize, usize); // (layers, heads)
    /// The encoder: `src: [S]` -> `[S][C]`. `keys: [S]` hides source tokens (additive mask).
    fn encode(&self, src: &[u32], keys: Option<&[f32]>, rec: &mut Recorder) -> Result<Array2<f32>>;
    /// Cross-attention keys and values of every decoder layer over `enc: [S][C]`.
    fn cross_kv(&self, enc: ArrayView2<'_, f32>) -> Vec<KvCache>;
    /// The decoder: `tokens: [T]` at positions `state.fed..`, extending the caches -> `[T][C]`.
    fn decode(&self, state: &mut DecoderState, tokens: &[u32], self_rec: &mut Recorder, cross_rec: &mut Recorder) -> Result<Array2<f32>>;
    /// `h: [T][C]` -> logits `[T][V_dec]`.
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Array2<f32>;
    /// A sequence classifier's head (BART's), with the decoder start id that shifts the input into
    /// the decoder and the end-of-text id whose last occurrence it reads.
    fn classifier_head(&self) -> Option<(&super::classifier::ClassifierHead, u32, u32)> {
        None
    }
}

// The helpers below take the family as `&dyn EncoderDecoder`: one copy of each in the shipped wasm.
impl<M: EncoderDecoder> Forward for M {
    fn forward(&self, inputs: &Inputs, probe: &Probe) -> Result<Outputs> {
        // BartForSequenceClassification: the decoder reads the input shifted right by the start id, and
        // the head the decoder's state at the input's last `</s>`. Other decoder inputs run as given.
        let shifted = self.classifier_head().map(|(_, start, _)| shift_right(inputs.ids, start));
        let given = inputs.decoder_ids.filter(|ids| !ids.is_empty());
        let (Some((head, _, eos)), Some(shifted)) = (self.classifier_head(), shifted.filter(|s| given.is_none_or(|g| g == &s[..]))) else {
            return forward(self, inputs.ids, &decoder_ids_or_start(inputs, self.info())?, probe);
        };
        let at = inputs.ids.iter().rposition(|&id| id == eos).ok_or_else(|| {
            Error::input(format!("this classifier reads the decoder's state at the last end-of-text token (id {eos}), which the input lacks"), "Tokenize with the special tokens (add_special_tokens)")
        })?;
        let mut out = forward(self, inputs.ids, &shifted, probe)?;
        let c = self.d_model();
        let row = ndarray::ArrayView2::from_shape((1, c), &out.last_hidden_state[at * c..(at + 1) * c]).map_err(|e| Error::input(e.to_string(), "Report this"))?;
        out.class_logits = head.logits(row, None, None);
        Ok(out)
    }
    fn start(&self, source: &[u32], interventions: &Interventions) -> Result<DecoderState> {
        start(self, source, interventions)
    }
    fn feed(&self, state: &mut DecoderState, tokens: &[u32], capture: Capture) -> Result<StepOutput> {
        feed(self, state, tokens, capture)
    }
}

/// Decoder state over an encoded source: cross-attention keys and values computed once per layer.
fn state_for(m: &dyn EncoderDecoder, enc: Array2<f32>) -> DecoderState {
    let cross_kv = m.cross_kv(enc.view());
    let s = enc.nrows();
    DecoderState { self_kv: vec![KvCache::default(); cross_kv.len()], cross_kv, encoder_hidden: Some(into_flat(enc)), src_len: s, fed: 0, ..Default::default() }
}

/// Encode `ids` and run the decoder over all of `decoder_ids` at once.
pub(crate) fn forward(m: &dyn EncoderDecoder, ids: &[u32], decoder_ids: &[u32], probe: &Probe) -> Result<Outputs> {
    let (s, t) = (ids.len(), decoder_ids.len());
    let ((l_enc, h_enc), (l_dec, h_dec)) = (m.encoder_shape(), m.decoder_shape());
    let mut enc_rec = Recorder::probing(probe, AttentionKind::Encoder, l_enc, h_enc, s, s);
    let keys = probe.interventions.additive_token_mask();
    let enc = m.encode(ids, keys.as_deref(), &mut enc_rec)?; // [S][C]
    let mut state = state_for(m, enc);
    state.interventions = probe.interventions.clone();
    let mut self_rec = Recorder::probing(probe, AttentionKind::Decoder, l_dec, h_dec, t, t);
    let mut cross_rec = Recorder::probing(probe, AttentionKind::Cross, l_dec, h_dec, t, s);
    let hidden = m.decode(&mut state, decoder_ids, &mut self_rec, &mut cross_rec)?; // [T][C]
    let logits = logits::keep(probe.logits, hidden.view(), m.decoder_vocab_size(), |rows| Some(m.lm_logits(rows))); // [T][V] or top-k
    Ok(Outputs::encoder_decoder(enc_rec, self_rec, cross_rec, m.d_model(), into_flat(hidden), state.encoder_hidden.take(), logits))
}

/// Encode `source` once (with `interventions`' encoder head mask and token mask) and prepare the
/// decoder's caches.
pub(crate) fn start(m: &dyn EncoderDecoder, source: &[u32], interventions: &Interventions) -> Result<DecoderState> {
    let mut rec = Recorder::new(Capture::NONE, 0, m.encoder_shape().1, 0, 0).with_head_mask(interventions.head_mask.encoder.as_deref());
    let keys = interventions.additive_token_mask();
    let enc = m.encode(source, keys.as_deref(), &mut rec)?;
    Ok(state_for(m, enc))
}

/// Feed decoder tokens at the next positions; logits of the last one.
pub(crate) fn feed(m: &dyn EncoderDecoder, state: &mut DecoderState, tokens: &[u32], capture: Capture) -> Result<StepOutput> {
    let (t, past) = (tokens.len(), state.fed);
    let (l_dec, h_dec) = m.decoder_shape();
    let masks = &state.interventions.head_mask;
    let mut self_rec = Recorder::new(capture, l_dec, h_dec, t, past + t).with_head_mask(masks.decoder.as_deref());
    let mut cross_rec = Recorder::new(capture, l_dec, h_dec, t, state.src_len).with_head_mask(masks.cross.as_deref());
    let hidden = m.decode(state, tokens, &mut self_rec, &mut cross_rec)?; // [T][C]
    let last = hidden.slice(s![t.saturating_sub(1).., ..]); // [1][C]
    let logits = m.lm_logits(last);
    Ok(StepOutput { logits: into_flat(logits), self_attentions: self_rec.probs, cross_attentions: cross_rec.probs })
}

/// `ids` shifted one place right behind `start` (the last id drops out): what a BART classifier's
/// decoder reads (HF's `shift_tokens_right`).
pub(crate) fn shift_right(ids: &[u32], start: u32) -> Vec<u32> {
    std::iter::once(start).chain(ids[..ids.len().saturating_sub(1)].iter().copied()).collect()
}

/// A decoder state must come from [`start`] of a model with this many decoder layers.
pub(crate) fn check_state(state: &DecoderState, n_layers: usize) -> Result<()> {
    if state.encoder_hidden.is_none() || state.cross_kv.len() != n_layers || state.self_kv.len() != n_layers {
        return Err(Error::input(
            "this decoder state was not made by this encoder-decoder model",
            "Start decoding with the model's start(source) (Model::start_decoding) before feeding tokens",
        ));
    }
    Ok(())
}

/// The decoder input of a forward pass: the given ids, or the decoder start token.
pub(crate) fn decoder_ids_or_start(inputs: &Inputs, info: &ModelInfo) -> Result<Vec<u32>> {
    match inputs.decoder_ids {
        Some(ids) if !ids.is_empty() => Ok(ids.to_vec()),
        _ => info.decoder_start_token_id.map(|s| vec![s]).ok_or_else(|| {
            Error::config("decoder_start_token_id", "is missing and no decoder ids were given", "Add decoder_start_token_id to config.json or give the decoder ids (--decoder-ids, or the decoderIds option)")
        }),
    }
}

//! What GPT-2 and Llama/Qwen2 share, written once: a stack of causal blocks over a KV cache.
//!
//! A family says how to run token ids through its blocks at the next positions and how to turn the
//! final states into logits ([`DecoderOnly`]); a forward pass, starting and feeding a decoder
//! follow from that ([`forward`], [`start`], [`feed`]; each family gets its `impl Forward` from
//! [`impl_forward!`], since Rust allows one blanket `impl Forward` and `seq2seq` has it):
//!
//! ```text
//! forward(ids):        h = run(ids) over empty caches; logits = lm_logits(h)   # [T][C] -> [T][V]
//! start():             empty caches, one per layer
//! feed(state, toks):   h = run(toks) extending the caches; logits of the last row
//! ```

use super::attention::{AttentionKind, KvCache, Recorder};
use super::logits;
use super::{Capture, DecoderState, Family, Inputs, Outputs, Probe, StepOutput};
use crate::error::{Error, Result};
use super::activations::into_flat;
use ndarray::{s, Array2, ArrayView2};

/// `impl Forward for $family` through this module's [`forward`], [`start`] and [`feed`]: one line per
/// decoder-only family instead of the same three methods in each family's file. The three take the
/// family as `&dyn DecoderOnly`, so the shipped wasm holds one copy of each, not one per family.
macro_rules! impl_forward {
    ($family:ty) => {
        impl crate::models::family::Forward for $family {
            fn forward(&self, inputs: &crate::models::Inputs, probe: &crate::models::Probe) -> crate::error::Result<crate::models::Outputs> {
                crate::models::decoder_only::forward(self, inputs, probe)
            }
            fn start(&self, _source: &[u32], _interventions: &crate::models::Interventions) -> crate::error::Result<crate::models::DecoderState> {
                crate::models::decoder_only::start(self)
            }
            fn feed(&self, state: &mut crate::models::DecoderState, tokens: &[u32], capture: crate::models::Capture) -> crate::error::Result<crate::models::StepOutput> {
                crate::models::decoder_only::feed(self, state, tokens, capture)
            }
        }
    };
}
pub(crate) use impl_forward;

/// What one decoder-only family computes; [`forward`], [`start`] and [`feed`] follow.
pub trait DecoderOnly: Family {
    /// `(layers, heads)`.
    fn decoder_shape(&self) -> (usize, usize);
    /// `ids: [T]` at positions `past..past+T` (`past`: what `caches` hold) through every block,
    /// extending `caches`: the final hidden state after the last norm, `[T][C]`.
    fn run(&self, ids: &[u32], caches: &mut [KvCache], rec: &mut Recorder) -> Result<Array2<f32>>;
    /// `h: [T][C]` -> logits `[T][V]`, or `None` when the checkpoint has no LM head.
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Option<Array2<f32>>;
    /// A fine-tuned checkpoint's classification head (`*ForSequenceClassification`: `score` at the
    /// last token), if any.
    fn classifier_head(&self) -> Option<&super::classifier::ClassifierHead> {
        None
    }
    /// Why this checkpoint cannot generate, if it cannot.
    fn check_can_generate(&self) -> Result<()> {
        Ok(())
    }
    /// Whether generation throws its cache away before feeding `t` tokens after `past` and runs the
    /// whole text again, as Hugging Face's Phi-3 does once, the first time the text outgrows its
    /// original length (its LongRoPE then turns every position by the long factors, not only the new
    /// ones). Default: never.
    fn rebuilds_cache_at(&self, _past: usize, _t: usize) -> bool {
        false
    }
}

/// One forward pass over `inputs.ids` from empty caches.
pub fn forward(m: &dyn DecoderOnly, inputs: &Inputs, probe: &Probe) -> Result<Outputs> {
    let (ids, t) = (inputs.ids, inputs.ids.len());
    let (l, h) = m.decoder_shape();
    let mut caches = vec![KvCache::one_pass(); l]; // each layer's rows let go once it has attended
    let mut rec = Recorder::probing(probe, AttentionKind::Decoder, l, h, t, t);
    let hidden = m.run(ids, &mut caches, &mut rec)?; // [T][C]
    let (logits, top_k) = logits::keep(probe.logits, hidden.view(), m.info().vocab_size, |rows| m.lm_logits(rows));
    let class_logits = m.classifier_head().and_then(|head| head.decoder_logits(hidden.view(), ids, m.info().pad_token_id));
    Ok(Outputs {
        class_logits,
        decoder_hidden_states: rec.take_hidden_states(m.info().d_model),
        qkv: rec.trace.take(),
        decoder_attentions: rec.probs,
        decoder_scores: rec.scores,
        logits,
        top_k,
        last_hidden_state: into_flat(hidden),
        ..Default::default()
    })
}

/// A fresh decoder state (empty KV caches) for generation; the prompt is fed next.
pub fn start(m: &dyn DecoderOnly) -> Result<DecoderState> {
    m.check_can_generate()?;
    Ok(DecoderState { self_kv: vec![KvCache::default(); m.decoder_shape().0], ..Default::default() })
}

/// Feed tokens at the next positions, extending the KV cache; logits of the last one.
pub fn feed(m: &dyn DecoderOnly, state: &mut DecoderState, tokens: &[u32], capture: Capture) -> Result<StepOutput> {
    let (t, past) = (tokens.len(), state.fed);
    let (l, h) = m.decoder_shape();
    let rebuild = past > 0 && m.rebuilds_cache_at(past, t);
    // Rebuilding: every token so far runs again from empty caches, and the new tokens' rows of the
    // maps are kept ([L][H][T][P+T], as a step without a rebuild records them).
    let run_ids: Vec<u32> = if rebuild { state.fed_ids.iter().chain(tokens).copied().collect() } else { tokens.to_vec() };
    if rebuild {
        state.self_kv = vec![KvCache::default(); l];
    }
    let mut rec = Recorder::new(capture, l, h, run_ids.len(), past + t).with_head_mask(state.interventions.head_mask.decoder.as_deref());
    let hidden = m.run(&run_ids, &mut state.self_kv, &mut rec)?; // [T or P+T][C]
    state.fed += t;
    state.fed_ids.extend_from_slice(tokens);
    let rows = hidden.nrows();
    let last = hidden.slice(s![rows.saturating_sub(1).., ..]); // [1][C]
    let logits = m.lm_logits(last).ok_or_else(|| Error::input("this checkpoint has no LM head", "Load the ForCausalLM checkpoint"))?;
    let self_attentions = match rebuild {
        true => rec.probs.map(|maps| maps.slice(s![.., .., past.., ..]).to_owned()),
        false => rec.probs,
    };
    Ok(StepOutput { logits: into_flat(logits), self_attentions, cross_attentions: None })
}


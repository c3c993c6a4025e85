//! `inspect` in steps, so the worker can answer the user between them: the forward pass first, then
//! the logit lens a block of positions of one hidden state per call. A GPT-2-small's lens reads every
//! position through the 50,257-row output head at 13 states: about a second of work at 30 tokens, and
//! seconds per state at 1024, that a click should not wait behind. Each position's lens is its own
//! (the final norm and the head work row by row), so the blocks give the whole state's numbers.
//!
//!   const job = WasmInspection.start(model, text, options);   // the forward pass (and Q/K/V trace)
//!   while (job.step(model)) { /* other requests may run here */ }
//!   const result = job.finish(model);                         // what `model.inspect` returns

use super::{capture, js_error, options, qkv_object, with_arrays, IdTokens, InspectOptions, LensMeta, WasmModel};
use crate::models::generation::top_candidates;
use crate::models::{Capture, HeadMasks, Kind, QkvRequest};
use crate::models::logits::LogitRows;
use crate::session::{InspectOptions as CoreInspectOptions, Inspection};
use js_sys::{Float32Array, Reflect, Uint32Array};
use ndarray::Axis;
use wasm_bindgen::prelude::*;

/// Logits one lens step may compute (positions x vocabulary): 41 positions of GPT-2's 50,257-entry
/// head, a fraction of a second for a GPT-2-small; a small vocabulary takes a whole state at once.
const LENS_STEP_LOGITS: usize = 1 << 21;

/// One `inspect` call under way: its forward pass done, its lens filled state by state.
#[wasm_bindgen]
pub struct WasmInspection {
    inspection: Inspection,
    /// The `run` object (plus `qkv`), handed back by `finish`.
    object: JsValue,
    /// Lens candidates per position (0: no lens was asked for).
    k: usize,
    n_states: usize, // L + 1
    seq_len: usize,  // T
    next_state: usize,
    next_position: usize, // where the next step starts in `next_state`
    ids: Vec<u32>,   // [state][T][k], likeliest first
    probs: Vec<f32>, // [state][T][k]
}

#[wasm_bindgen]
impl WasmInspection {
    /// Start `model.inspect(text, options)` (the same options): the forward pass now, the lens by `step`.
    pub fn start(model: &WasmModel, text: &str, inspect_options: JsValue) -> Result<WasmInspection, JsError> {
        let opts: InspectOptions = options(inspect_options, "inspect")?;
        let maps = capture::selection(opts.attention.as_ref(), &model.session)?;
        let core = CoreInspectOptions {
            decoder_ids: opts.decoder_ids,
            capture: Capture { probs: true, scores: opts.scores },
            maps,
            hidden_states: opts.logit_lens > 0,
            qkv: opts.qkv.map(|q| QkvRequest { kind: q.kind.into(), layer: q.layer }),
            head_mask: opts.head_mask.map(HeadMasks::from).unwrap_or_default(),
            token_mask: opts.token_mask,
            logits: LogitRows::TopK(opts.top_k as usize),
            pair: opts.pair.clone(),
        };
        let inspection = model.session.inspect_with(text, &core).map_err(js_error)?;
        let object = model.run_object(text, opts.pair.as_deref(), &inspection, opts.scores, opts.top_k, false, maps)?;
        if let Some(trace) = &inspection.outputs.qkv {
            let _ = Reflect::set(&object, &"qkv".into(), &qkv_object(trace)?);
        }
        let k = (opts.logit_lens as usize).min(model.session.model.decoder_vocab_size());
        let states = match model.session.info().kind {
            Kind::EncoderOnly => inspection.outputs.encoder_hidden_states.as_ref(),
            _ => inspection.outputs.decoder_hidden_states.as_ref(),
        };
        let (n_states, seq_len) = states.map_or((0, 0), |s| (s.dim().0, s.dim().1)); // [L+1][T][C]
        if k > 0 && states.is_none() {
            // The core's own message (a model without hidden states to read).
            model.session.logit_lens_top(&inspection, k).map_err(js_error)?;
        }
        let cells = if k > 0 { n_states * seq_len * k } else { 0 };
        Ok(WasmInspection { inspection, object, k, n_states, seq_len, next_state: 0, next_position: 0, ids: Vec::with_capacity(cells), probs: Vec::with_capacity(cells) })
    }

    /// The lens at the next block of positions of a hidden state (at most [`LENS_STEP_LOGITS`] logits
    /// through the output head); false once none is left.
    pub fn step(&mut self, model: &WasmModel) -> Result<bool, JsError> {
        if self.k == 0 || self.next_state >= self.n_states {
            return Ok(false);
        }
        let outputs = &self.inspection.outputs;
        let states = match model.session.info().kind {
            Kind::EncoderOnly => outputs.encoder_hidden_states.as_ref(),
            _ => outputs.decoder_hidden_states.as_ref(),
        };
        let Some(states) = states else { return Ok(false) }; // [L+1][T][C]
        let family = model.session.model.family();
        let per_step = (LENS_STEP_LOGITS / family.decoder_vocab_size().max(1)).max(1);
        let (first, end) = (self.next_position, (self.next_position + per_step).min(self.seq_len));
        let state = states.index_axis(Axis(0), self.next_state); // [T][C]
        let last = self.next_state + 1 == self.n_states;
        let logits = family.lens(state.slice(ndarray::s![first..end, ..]), last).map_err(js_error)?; // [end - first][V]
        let logits = logits.as_standard_layout(); // row-major already: no copy
        for row in logits.as_slice().unwrap_or(&[]).chunks_exact(logits.ncols().max(1)) {
            for (id, p) in top_candidates(row, self.k) {
                self.ids.push(id);
                self.probs.push(p);
            }
        }
        self.next_position = end;
        if end >= self.seq_len {
            self.next_state += 1;
            self.next_position = 0;
        }
        Ok(self.next_state < self.n_states)
    }

    /// How many hidden states the lens reads (0 without a lens), and how many are done.
    #[wasm_bindgen(js_name = lensProgress)]
    pub fn lens_progress(&self) -> Vec<u32> {
        vec![if self.k > 0 { self.n_states as u32 } else { 0 }, self.next_state as u32]
    }

    /// What `model.inspect` returns: the `run` object, `qkv?`, and `lens?` once every state is done.
    pub fn finish(&mut self, model: &WasmModel) -> Result<JsValue, JsError> {
        while self.step(model)? {}
        if self.k > 0 {
            let named = IdTokens::of(&model.session, &self.ids);
            let meta = LensMeta { k: self.k, n_states: self.n_states, seq_len: self.seq_len, tokens: named.tokens, special: named.special };
            let lens = with_arrays(&meta, vec![("ids", Uint32Array::from(&self.ids[..]).into()), ("probs", Float32Array::from(&self.probs[..]).into())])?;
            let _ = Reflect::set(&self.object, &"lens".into(), &lens);
            // The residual stream's size per layer (the block view), from the hidden states the lens read.
            if let Some(residual) = super::block::residual_object(model.session.info().kind, &self.inspection.outputs) {
                let _ = Reflect::set(&self.object, &"residual".into(), &residual?);
            }
        }
        Ok(self.object.clone())
    }
}

//! The wasm boundary: the only place that knows about JavaScript.
//!
//! Long-lived state stays in Rust behind two opaque handles, [`WasmModel`] (a loaded
//! [`Session`]) and [`WasmGenerator`] (one generation, driven a token per call). What crosses
//! back is small: plain objects of numbers and strings, and flat typed arrays with their shape
//! beside them (`{ data: Float32Array, shape: [L, H, Tq, Tk] }`), one copy each, never nested
//! arrays. Every fallible call returns `Result<_, JsError>` carrying the core's message.
//!
//! The Web Worker (`www/worker.js`) is the only caller in the page; `tests/wasm/api.test.mjs`
//! calls it directly from Node.

mod kernel_checks;

use crate::error::Error;
use crate::loader::ModelFiles;
use crate::models::bert::sentence_embedding;
use crate::models::generation::{top_candidates, GenerateOptions, Generator, Sampling};
use crate::models::{AttentionKind, AttentionMaps, Capture, HeadMasks, Interventions, Kind, Positions, QkvRequest, QkvTrace, Stack};
use crate::session::{InspectOptions, Inspection, Session};
use crate::tokenizer::Encoding;
use js_sys::{Array, Float32Array, Object, Reflect, Uint32Array, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

// ---------------------------------------------------------------------------------------------
// Panics: a last line of defence. The core returns errors for bad input; if a bug still panics,
// the hook keeps the message so the worker can report it instead of a bare "unreachable".

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Install the panic hook (idempotent). The worker calls it once after instantiating the module.
#[wasm_bindgen(js_name = installPanicHook)]
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
        }));
    });
}

/// The message of the panic that trapped the module, if one did. After a trap the instance must
/// not be used again: the worker starts a fresh one.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// Panic on purpose: the trap the worker must recover from (the recovery test calls it; harmless to a
/// visitor, who can only crash their own instance).
#[wasm_bindgen(js_name = debugPanic)]
pub fn debug_panic() {
    panic!("debugPanic: a deliberate panic to test recovery");
}

/// The crate version and whether this build's kernels use SIMD128.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> JsValue {
    let o = Object::new();
    set(&o, "version", env!("CARGO_PKG_VERSION"));
    set(&o, "simd128", cfg!(target_feature = "simd128"));
    o.into()
}

fn js_error(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Small builders for JS values.

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a data property on a fresh plain object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

fn string_array<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Array {
    items.into_iter().map(|s| JsValue::from_str(s.as_ref())).collect()
}

fn shape_array(dims: &[usize]) -> Array {
    dims.iter().map(|&d| JsValue::from_f64(d as f64)).collect()
}

/// `{ data: Float32Array, shape: [...] }`
fn tensor(data: &[f32], dims: &[usize]) -> Object {
    let o = Object::new();
    set(&o, "data", Float32Array::from(data));
    set(&o, "shape", shape_array(dims));
    o
}

fn maps_tensor(m: &AttentionMaps) -> Object {
    tensor(&m.data, &m.shape())
}

/// `{ encoder?, decoder?, cross? }` from whichever maps are present.
fn attention_kinds(encoder: &Option<AttentionMaps>, decoder: &Option<AttentionMaps>, cross: &Option<AttentionMaps>) -> Object {
    let o = Object::new();
    for (key, maps) in [("encoder", encoder), ("decoder", decoder), ("cross", cross)] {
        if let Some(m) = maps {
            set(&o, key, maps_tensor(m));
        }
    }
    o
}

/// Only the last query row of `[L][H][Tq][Tk]`, as `[L][H][1][Tk]`: the attention of the
/// position whose logits chose the token (the first step feeds the whole prompt at once).
fn last_query_row(m: &AttentionMaps) -> Object {
    let (tq, tk) = (m.q_len, m.k_len);
    if tq <= 1 {
        return maps_tensor(m);
    }
    let mut rows = Vec::with_capacity(m.n_layers * m.n_heads * tk);
    for block in m.data.chunks_exact(tq * tk) {
        rows.extend_from_slice(&block[(tq - 1) * tk..]);
    }
    tensor(&rows, &[m.n_layers, m.n_heads, 1, tk])
}

/// Rust offsets count characters (Unicode scalar values); JS strings index UTF-16 code units.
/// `table[c]` is the code-unit index of character `c`, for `c` in `0..=n_chars`.
fn utf16_index_table(text: &str) -> Vec<u32> {
    let mut table = Vec::with_capacity(text.len() + 1);
    let mut at = 0u32;
    table.push(0);
    for ch in text.chars() {
        at += ch.len_utf16() as u32;
        table.push(at);
    }
    table
}

/// `{ ids: Uint32Array, tokens: string[], offsets: Uint32Array [T*2] (UTF-16), special: Uint8Array }`
fn encoding_object(enc: &Encoding, text: &str) -> Object {
    let table = utf16_index_table(text);
    let last = table.len() - 1;
    let to_utf16 = |c: usize| table[c.min(last)];
    let offsets: Vec<u32> = enc.offsets.iter().flat_map(|&(s, e)| [to_utf16(s), to_utf16(e)]).collect();
    let special: Vec<u8> = enc.special.iter().map(|&s| s as u8).collect();
    let o = Object::new();
    set(&o, "ids", Uint32Array::from(&enc.ids[..]));
    set(&o, "tokens", string_array(&enc.tokens));
    set(&o, "offsets", Uint32Array::from(&offsets[..]));
    set(&o, "special", Uint8Array::from(&special[..]));
    o
}

/// `{ k, ids: Uint32Array [n*k], probs: Float32Array [n*k], tokens: string[n*k] }`: the `k`
/// most likely tokens of each of the `n` rows of `logits: [n][V]`, most likely first.
fn top_k_object(session: &Session, logits: &[f32], vocab: usize, k: usize) -> Object {
    let k = k.min(vocab);
    let rows = logits.len().checked_div(vocab).unwrap_or(0);
    let (mut ids, mut probs, mut tokens) = (Vec::with_capacity(rows * k), Vec::with_capacity(rows * k), Vec::with_capacity(rows * k));
    for row in logits.chunks_exact(vocab.max(1)).take(rows) {
        for (id, p) in top_candidates(row, k) {
            ids.push(id);
            probs.push(p);
            tokens.push(token_string(session, id));
        }
    }
    let o = Object::new();
    set(&o, "k", k as f64);
    set(&o, "ids", Uint32Array::from(&ids[..]));
    set(&o, "probs", Float32Array::from(&probs[..]));
    set(&o, "tokens", string_array(&tokens));
    o
}

/// The vocabulary string of `id`; ids the tokenizer does not cover (padding rows of a larger
/// embedding table) show as `[id]`.
fn token_string(session: &Session, id: u32) -> String {
    session.tokenizer.id_to_token(id).map_or_else(|| format!("[{id}]"), str::to_owned)
}

/// A JS number that must be a whole number in `0..=2^53` (seeds), named in the error.
fn whole_number(value: f64, what: &str) -> Result<u64, JsError> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_992.0 {
        Ok(value as u64)
    } else {
        Err(js_error(Error::input(format!("{what} {value} is not a whole number from 0 to 2^53"), format!("Use a {what} like 0, 1 or 42"))))
    }
}

// ---------------------------------------------------------------------------------------------
// The model handle.

/// A loaded model and its tokenizer.
#[wasm_bindgen]
pub struct WasmModel {
    session: Session,
    /// Bytes of model.safetensors (0 for a random-weight twin, which reports its f32 size).
    size_bytes: usize,
}

#[wasm_bindgen]
impl WasmModel {
    /// Build a model from the bytes of a Hugging Face folder. `weights` may be `null` when
    /// `random_seed` is given: the architecture is then built with seeded random weights.
    pub fn load(
        config: &[u8],
        weights: Option<Vec<u8>>,
        tokenizer: &[u8],
        tokenizer_config: Option<Vec<u8>>,
        special_tokens_map: Option<Vec<u8>>,
        random_seed: Option<f64>,
    ) -> Result<WasmModel, JsError> {
        let seed = random_seed.map(|s| whole_number(s, "random seed")).transpose()?;
        // The file wins over the seed, as in `Model::load`.
        let files = ModelFiles {
            config,
            weights: weights.as_deref(),
            tokenizer,
            tokenizer_config: tokenizer_config.as_deref(),
            special_tokens_map: special_tokens_map.as_deref(),
        };
        let session = Session::load(&files, seed).map_err(js_error)?;
        let size_bytes = weights.as_ref().map_or(session.info().n_params * 4, Vec::len);
        Ok(WasmModel { session, size_bytes })
    }

    /// The model card: `ModelInfo` of `www/glassbox.d.ts` (plus the special ids the page needs).
    pub fn info(&self) -> JsValue {
        let i = self.session.info();
        let o = Object::new();
        set(&o, "modelType", i.model_type.as_str());
        set(&o, "kind", i.kind.as_str());
        let positions = match i.positions {
            Positions::Learned => "learned",
            Positions::Sinusoidal => "sinusoidal",
            Positions::Relative => "relative",
        };
        set(&o, "positions", positions);
        set(&o, "nLayers", i.n_layers as f64);
        set(&o, "nDecoderLayers", i.n_decoder_layers as f64);
        set(&o, "nHeads", i.n_heads as f64);
        set(&o, "dModel", i.d_model as f64);
        set(&o, "dFF", i.d_ff as f64);
        set(&o, "vocabSize", i.vocab_size as f64);
        set(&o, "maxPositions", i.max_positions.map_or(JsValue::NULL, |m| JsValue::from_f64(m as f64)));
        set(&o, "nParams", i.n_params as f64);
        set(&o, "sizeBytes", self.size_bytes as f64);
        set(&o, "tokenizer", self.session.tokenizer.model_kind());
        set(&o, "hasLmHead", i.has_lm_head);
        if let Some(mask) = self.session.tokenizer.special_tokens().mask.and_then(|id| self.session.tokenizer.id_to_token(id)) {
            set(&o, "maskToken", mask);
        }
        let id_or_null = |id: Option<u32>| id.map_or(JsValue::NULL, |v| JsValue::from_f64(v as f64));
        set(&o, "bosTokenId", id_or_null(i.bos_token_id));
        set(&o, "eosTokenId", id_or_null(i.eos_token_id));
        set(&o, "padTokenId", id_or_null(i.pad_token_id));
        set(&o, "decoderStartTokenId", id_or_null(i.decoder_start_token_id));
        o.into()
    }

    /// Tokenize `text`: `{ ids, tokens, offsets (UTF-16, flat pairs), special, trace? }`.
    /// `trace` is the tokenizer's own account of its steps (a JSON value).
    pub fn tokenize(&self, text: &str, add_special_tokens: bool, trace: bool) -> Result<JsValue, JsError> {
        let tok = &self.session.tokenizer;
        if !trace {
            let enc = tok.encode(text, add_special_tokens).map_err(js_error)?;
            return Ok(encoding_object(&enc, text).into());
        }
        let (enc, steps) = tok.encode_traced(text, add_special_tokens).map_err(js_error)?;
        let o = encoding_object(&enc, text);
        let json = serde_json::to_string(&steps).map_err(|e| JsError::new(&format!("the tokenizer trace could not be serialized ({e})")))?;
        set(&o, "trace", js_sys::JSON::parse(&json).map_err(|_| JsError::new("the tokenizer trace is not valid JSON"))?);
        Ok(o.into())
    }

    /// One forward pass over `text` (and `decoder_ids` for encoder-decoder models; default: the
    /// decoder start token). Returns
    /// `{ tokens, decoderIds?, decoderTokens?, attentions, scores?, lastHiddenState, topK?, logits?, sentenceEmbedding? }`
    /// with `topK` flat (see `top_k_object`); `top_k = 0` leaves it out.
    pub fn run(&self, text: &str, decoder_ids: Option<Vec<u32>>, scores: bool, top_k: u32, logits: bool) -> Result<JsValue, JsError> {
        let capture = Capture { probs: true, scores };
        let ins = self.session.inspect(text, decoder_ids.as_deref(), capture).map_err(js_error)?;
        Ok(self.run_object(text, &ins, scores, top_k, logits).into())
    }

    /// `run` for the teaching views: also one layer's Q/K/V arithmetic (`qkv_kind` "encoder",
    /// "decoder" or "cross", at `qkv_layer`), the logit lens (`lens_k` > 0: the `lens_k` likeliest
    /// tokens per hidden state and position), ablated heads (`head_mask_*`: `[L][H]`, 1 keeps,
    /// 0 ablates) and hidden source tokens (`token_mask`: `[S]`, 1 visible, 0 hidden). Returns the
    /// `run` object plus `qkv?` (see `qkv_object`) and `lens? { k, nStates, seqLen, ids, probs, tokens }`.
    #[allow(clippy::too_many_arguments)]
    pub fn inspect(
        &self,
        text: &str,
        decoder_ids: Option<Vec<u32>>,
        scores: bool,
        top_k: u32,
        qkv_kind: Option<String>,
        qkv_layer: u32,
        lens_k: u32,
        head_mask_encoder: Option<Vec<f32>>,
        head_mask_decoder: Option<Vec<f32>>,
        head_mask_cross: Option<Vec<f32>>,
        token_mask: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let qkv = qkv_kind.map(|k| attention_kind(&k).map(|kind| QkvRequest { kind, layer: qkv_layer as usize })).transpose()?;
        let opts = InspectOptions {
            decoder_ids,
            capture: Capture { probs: true, scores },
            hidden_states: lens_k > 0,
            qkv,
            head_mask: HeadMasks { encoder: head_mask_encoder, decoder: head_mask_decoder, cross: head_mask_cross },
            token_mask,
        };
        let ins = self.session.inspect_with(text, &opts).map_err(js_error)?;
        let o = self.run_object(text, &ins, scores, top_k, false);
        if let Some(trace) = &ins.outputs.qkv {
            set(&o, "qkv", qkv_object(trace));
        }
        if lens_k > 0 {
            let lens = self.session.logit_lens_top(&ins, lens_k as usize).map_err(js_error)?;
            let l = Object::new();
            set(&l, "k", lens.k as f64);
            set(&l, "nStates", lens.n_states as f64);
            set(&l, "seqLen", lens.seq_len as f64);
            set(&l, "ids", Uint32Array::from(&lens.ids[..]));
            set(&l, "probs", Float32Array::from(&lens.probs[..]));
            set(&l, "tokens", string_array(lens.ids.iter().map(|&id| token_string(&self.session, id))));
            set(&o, "lens", l);
        }
        Ok(o.into())
    }

    /// `[L, H]` of attention `kind` ("encoder", "decoder", "cross"), or `null` when the model has none.
    #[wasm_bindgen(js_name = attentionDims)]
    pub fn attention_dims(&self, kind: &str) -> Result<JsValue, JsError> {
        let kind = attention_kind(kind)?;
        Ok(self.session.model.attention_dims(kind).map_or(JsValue::NULL, |(l, h)| shape_array(&[l, h]).into()))
    }

    /// What the model adds to the token embeddings at positions `0..n` of `stack`: `{ data, shape: [N, C] }`.
    #[wasm_bindgen(js_name = positionVectors)]
    pub fn position_vectors(&self, stack: &str, n: u32) -> Result<JsValue, JsError> {
        let rows = self.session.position_vectors(stack_named(stack)?, n as usize).map_err(js_error)?;
        let c = self.session.info().d_model;
        Ok(tensor(&rows, &[rows.len().checked_div(c).unwrap_or(0), c]).into())
    }

    /// T5's relative positions over `n` tokens of `stack`:
    /// `{ numBuckets, maxDistance, bidirectional, nHeads, distances: Int32Array [2N-1], buckets: Uint32Array [2N-1], bias: { data, shape: [H, buckets] } }`.
    #[wasm_bindgen(js_name = relativePositions)]
    pub fn relative_positions(&self, stack: &str, n: u32) -> Result<JsValue, JsError> {
        let r = self.session.relative_positions(stack_named(stack)?, n as usize).map_err(js_error)?;
        let o = Object::new();
        set(&o, "numBuckets", r.num_buckets as f64);
        set(&o, "maxDistance", r.max_distance as f64);
        set(&o, "bidirectional", r.bidirectional);
        set(&o, "nHeads", r.n_heads as f64);
        let distances: Vec<i32> = r.distances.iter().map(|&d| d as i32).collect();
        set(&o, "distances", js_sys::Int32Array::from(&distances[..]));
        set(&o, "buckets", Uint32Array::from(&r.buckets[..]));
        set(&o, "bias", tensor(&r.bias, &[r.n_heads, r.num_buckets]));
        Ok(o.into())
    }

    /// Rows of `stack`'s token table for `ids`: `{ rows: { data, shape: [T, C] }, scale }`.
    #[wasm_bindgen(js_name = tokenEmbeddings)]
    pub fn token_embeddings(&self, stack: &str, ids: Vec<u32>) -> Result<JsValue, JsError> {
        let e = self.session.token_embeddings(stack_named(stack)?, &ids).map_err(js_error)?;
        let o = Object::new();
        set(&o, "rows", tensor(&e.rows, &[e.rows.len().checked_div(e.d_model).unwrap_or(0), e.d_model]));
        set(&o, "scale", e.scale as f64);
        Ok(o.into())
    }
}

impl WasmModel {
    /// The `run` result object of an inspection.
    fn run_object(&self, text: &str, ins: &Inspection, scores: bool, top_k: u32, logits: bool) -> Object {
        let info = self.session.info();
        let out = &ins.outputs;
        let o = Object::new();
        set(&o, "tokens", encoding_object(&ins.encoding, text));
        if let Some(ids) = &ins.decoder_ids {
            set(&o, "decoderIds", Uint32Array::from(&ids[..]));
            set(&o, "decoderTokens", string_array(ids.iter().map(|&id| token_string(&self.session, id))));
        }
        set(&o, "attentions", attention_kinds(&out.encoder_attentions, &out.decoder_attentions, &out.cross_attentions));
        if scores {
            set(&o, "scores", attention_kinds(&out.encoder_scores, &out.decoder_scores, &out.cross_scores));
        }
        let c = info.d_model;
        let rows = out.last_hidden_state.len().checked_div(c).unwrap_or(0);
        set(&o, "lastHiddenState", tensor(&out.last_hidden_state, &[rows, c]));
        if let Some(l) = &out.logits {
            let v = info.vocab_size;
            if top_k > 0 {
                set(&o, "topK", top_k_object(&self.session, l, v, top_k as usize));
            }
            if logits {
                set(&o, "logits", tensor(l, &[l.len().checked_div(v).unwrap_or(0), v]));
            }
        }
        if info.kind == Kind::EncoderOnly {
            set(&o, "sentenceEmbedding", Float32Array::from(&sentence_embedding(&out.last_hidden_state, c)[..]));
        }
        o
    }
}

fn attention_kind(name: &str) -> Result<AttentionKind, JsError> {
    match name {
        "encoder" => Ok(AttentionKind::Encoder),
        "decoder" => Ok(AttentionKind::Decoder),
        "cross" => Ok(AttentionKind::Cross),
        other => Err(js_error(Error::input(format!("\"{other}\" is not an attention kind"), "Use \"encoder\", \"decoder\" or \"cross\""))),
    }
}

fn stack_named(name: &str) -> Result<Stack, JsError> {
    match name {
        "encoder" => Ok(Stack::Encoder),
        "decoder" => Ok(Stack::Decoder),
        other => Err(js_error(Error::input(format!("\"{other}\" is not a stack"), "Use \"encoder\" or \"decoder\""))),
    }
}

/// `{ kind, layer, nHeads, qLen, kLen, dHead, dModel, scale, input, q, k, v, bias?, scores, probs, ctx, out }`,
/// every array a flat `Float32Array` in the shapes of [`QkvTrace`] (`-inf` and `f32::MIN` survive).
fn qkv_object(t: &QkvTrace) -> Object {
    let o = Object::new();
    set(&o, "kind", t.kind.as_str());
    set(&o, "layer", t.layer as f64);
    set(&o, "nHeads", t.n_heads as f64);
    set(&o, "qLen", t.q_len as f64);
    set(&o, "kLen", t.k_len as f64);
    set(&o, "dHead", t.d_head as f64);
    set(&o, "dModel", t.d_model as f64);
    set(&o, "scale", t.scale as f64);
    for (key, data) in [("input", &t.input), ("q", &t.q), ("k", &t.k), ("v", &t.v), ("scores", &t.scores), ("probs", &t.probs), ("ctx", &t.ctx), ("out", &t.out)] {
        set(&o, key, Float32Array::from(&data[..]));
    }
    if let Some(bias) = &t.bias {
        set(&o, "bias", Float32Array::from(&bias[..]));
    }
    o
}

// ---------------------------------------------------------------------------------------------
// The generation handle.

/// One generation run, advanced a token per `next_token` call so the worker can stop between
/// steps. Holds its own decoder state; the model is passed in on every call.
#[wasm_bindgen]
pub struct WasmGenerator {
    generator: Generator,
    /// The tokenized input (prompt or source), for labelling attention keys.
    input: Encoding,
    input_text: String,
    /// What the decoder is fed before the first new token.
    prefix_ids: Vec<u32>,
    eos_token_id: Option<u32>,
}

#[wasm_bindgen]
impl WasmGenerator {
    /// Start generating from `text`. `temperature = 0` is greedy; `top_k = 0` and `top_p = 1`
    /// switch those filters off; `n_candidates` top tokens are reported per step. `head_mask_*`
    /// (`[L][H]`) and `token_mask` (`[S]`, encoder-decoder) ablate heads and hide source tokens
    /// for every step, as in `WasmModel::inspect`.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        model: &WasmModel,
        text: &str,
        max_new_tokens: u32,
        temperature: f32,
        top_k: u32,
        top_p: f32,
        seed: f64,
        n_candidates: u32,
        capture_attention: bool,
        head_mask_encoder: Option<Vec<f32>>,
        head_mask_decoder: Option<Vec<f32>>,
        head_mask_cross: Option<Vec<f32>>,
        token_mask: Option<Vec<u8>>,
    ) -> Result<WasmGenerator, JsError> {
        let seed = whole_number(seed, "seed")?;
        let sampling = Sampling::new(temperature, top_k as usize, top_p, seed).map_err(js_error)?;
        let capture = if capture_attention { Capture::PROBS } else { Capture::NONE };
        let opts = GenerateOptions { max_new_tokens: max_new_tokens as usize, sampling, eos_token_id: None, n_candidates: n_candidates as usize, capture };
        let interventions = Interventions {
            head_mask: HeadMasks { encoder: head_mask_encoder, decoder: head_mask_decoder, cross: head_mask_cross },
            token_mask,
        };
        let (input, prefix_ids, generator) = model.session.generator_with(text, &opts, &interventions).map_err(js_error)?;
        Ok(WasmGenerator { generator, input, input_text: text.to_owned(), prefix_ids, eos_token_id: model.session.info().eos_token_id })
    }

    /// `{ input: Tokens-like (see `tokenize`), prefixIds: Uint32Array, prefixTokens: string[] }`.
    pub fn start(&self, model: &WasmModel) -> JsValue {
        let o = Object::new();
        set(&o, "input", encoding_object(&self.input, &self.input_text));
        set(&o, "prefixIds", Uint32Array::from(&self.prefix_ids[..]));
        set(&o, "prefixTokens", string_array(self.prefix_ids.iter().map(|&id| token_string(&model.session, id))));
        o.into()
    }

    /// The next token: `{ step, id, token, text, prob, candidates: { ids, probs, tokens }, attentions? }`,
    /// or `undefined` once finished. `text` is the decoded new text so far (prompt not included);
    /// `attentions.self` is `[L][H][1][P]`, `attentions.cross` `[L][H][1][S]`.
    #[wasm_bindgen(js_name = nextToken)]
    pub fn next_token(&mut self, model: &WasmModel) -> Result<JsValue, JsError> {
        let Some(tok) = self.generator.next_token(&model.session.model).map_err(js_error)? else {
            return Ok(JsValue::UNDEFINED);
        };
        let produced = self.generator.produced();
        let text = model.session.tokenizer.decode(produced, true).map_err(js_error)?;
        let o = Object::new();
        set(&o, "step", (produced.len() - 1) as f64);
        set(&o, "id", tok.id as f64);
        set(&o, "token", token_string(&model.session, tok.id));
        set(&o, "text", text);
        set(&o, "prob", tok.prob as f64);
        let ids: Vec<u32> = tok.candidates.iter().map(|&(id, _)| id).collect();
        let probs: Vec<f32> = tok.candidates.iter().map(|&(_, p)| p).collect();
        let cands = Object::new();
        set(&cands, "ids", Uint32Array::from(&ids[..]));
        set(&cands, "probs", Float32Array::from(&probs[..]));
        set(&cands, "tokens", string_array(ids.iter().map(|&id| token_string(&model.session, id))));
        set(&o, "candidates", cands);
        if let Some(self_maps) = &tok.self_attentions {
            let att = Object::new();
            set(&att, "self", last_query_row(self_maps));
            if let Some(cross) = &tok.cross_attentions {
                set(&att, "cross", last_query_row(cross));
            }
            set(&o, "attentions", att);
        }
        Ok(o.into())
    }

    /// The new ids so far.
    pub fn ids(&self) -> Uint32Array {
        Uint32Array::from(self.generator.produced())
    }

    /// Why generation ended: `"eos"`, `"max"`, or `""` while it can go on.
    #[wasm_bindgen(js_name = stoppedBy)]
    pub fn stopped_by(&self) -> String {
        if !self.generator.is_finished() {
            return String::new();
        }
        let hit_eos = self.eos_token_id.is_some() && self.generator.produced().last().copied() == self.eos_token_id;
        (if hit_eos { "eos" } else { "max" }).to_owned()
    }
}

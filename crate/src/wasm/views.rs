//! The views' numbers across the boundary (`crate::teach`): pattern scores of every head for
//! `<glassbox-model-view>` and the default head, attention rollout and flow for `<glassbox-rollout>`.
//!
//! Both are free functions of a captured tensor (no model handle): the worker runs them on the maps
//! a run returned. Options arrive through serde (unknown keys refused by name), the maps as a flat
//! `Float32Array` with their shape among the options, results as metadata plus typed arrays.

use super::{js_error, options, tensor, with_arrays, KindOption};
use crate::teach::patterns::{score_heads, MapKind, Pattern};
use crate::teach::rollout;
use js_sys::Float32Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// `attentionPatterns` options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PatternOptions {
    /// `[layers, heads, queries, keys]` of the maps.
    shape: [usize; 4],
    kind: KindOption,
    /// The token id of each row (query).
    query_ids: Vec<u32>,
    /// The token id of each column (key); self-attention: the query ids again (the default).
    #[serde(default)]
    key_ids: Option<Vec<u32>>,
}

impl Default for PatternOptions {
    fn default() -> Self {
        PatternOptions { shape: [0; 4], kind: KindOption::Encoder, query_ids: Vec::new(), key_ids: None }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BestMeta {
    layer: usize,
    head: usize,
    pattern: &'static str,
    score: f32,
    chance: f32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PatternMeta {
    n_layers: usize,
    n_heads: usize,
    patterns: Vec<&'static str>,
    /// Each pattern's score under uniform attention (null: undefined for these maps).
    chance: Vec<Option<f32>>,
    best: Option<BestMeta>,
}

fn map_kind(kind: KindOption) -> MapKind {
    match kind {
        KindOption::Encoder => MapKind::SelfAttention { causal: false },
        KindOption::Decoder => MapKind::SelfAttention { causal: true },
        KindOption::Cross => MapKind::Cross,
    }
}

/// Pattern scores of every layer and head of `values` (`[L][H][Tq][Tk]` flat). Options
/// `{ shape, kind: 'encoder'|'decoder'|'cross', queryIds, keyIds? }`. Returns `{ nLayers, nHeads,
/// patterns: string[P], chance: (number|null)[P], best: { layer, head, pattern, score, chance } | null,
/// scores: Float32Array [L*H*P] }` (NaN where a pattern is undefined).
#[wasm_bindgen(js_name = attentionPatterns)]
pub fn attention_patterns(values: &[f32], pattern_options: JsValue) -> Result<JsValue, JsError> {
    let o: PatternOptions = options(pattern_options, "attentionPatterns")?;
    let key_ids = o.key_ids.as_deref().unwrap_or(&o.query_ids);
    let s = score_heads(values, o.shape, map_kind(o.kind), &o.query_ids, key_ids).map_err(js_error)?;
    let scores: Vec<f32> = s.scores.iter().map(|x| x.unwrap_or(f32::NAN)).collect();
    let best = s.best_head().map(|b| BestMeta { layer: b.layer, head: b.head, pattern: b.pattern.as_str(), score: b.score, chance: b.chance });
    let meta = PatternMeta { n_layers: s.n_layers, n_heads: s.n_heads, patterns: Pattern::ALL.iter().map(|p| p.as_str()).collect(), chance: s.chance, best };
    with_arrays(&meta, vec![("scores", Float32Array::from(&scores[..]).into())])
}

/// `attentionRollout` options.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RolloutOptions {
    /// The shape of the (first) maps: one stack's self-attention, or the encoder's.
    shape: [usize; 4],
    /// Through cross-attention: the decoder's self-attention and the cross-attention maps follow the
    /// encoder's in `values`, with these shapes.
    #[serde(default)]
    decoder_shape: Option<[usize; 4]>,
    #[serde(default)]
    cross_shape: Option<[usize; 4]>,
    /// The output token whose attention flow is wanted (none: rollout only).
    #[serde(default)]
    flow_from: Option<usize>,
    /// Compute one bounded part of the flow, from this input token on (none: the whole flow at once).
    #[serde(default)]
    flow_start: Option<usize>,
    /// Whether to compute the rollout (a caller fetching the flow's later parts leaves it out).
    #[serde(default = "yes")]
    rollout: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RolloutMeta {
    flow_from: Option<usize>,
    /// The first input token of `flow` (0 unless a part was asked for).
    flow_start: usize,
    /// Where the next part starts (`null`: the flow is complete).
    flow_next: Option<usize>,
    /// How many input tokens the whole flow has (through cross-attention: the encoder's, then the decoder's).
    flow_inputs: Option<usize>,
}

/// Attention rollout (and flow from one output token) of self-attention maps `values`
/// (`[L][H][T][T]` flat), or through an encoder-decoder's cross-attention (`values` = encoder,
/// decoder and cross maps one after the other, with `decoderShape` and `crossShape`). Options
/// `{ shape, decoderShape?, crossShape?, flowFrom?, flowStart?, rollout? }`. Returns
/// `{ rollout?: { data, shape: [T, T] } }` for self-attention, `{ encoderRollout?: { data, shape: [T, S] },
/// decoderRollout?: { data, shape: [T, T] } }` through cross-attention, and `{ flowFrom, flowStart,
/// flowNext, flowInputs, flow?: Float32Array }`: the flow to input tokens `flowStart..` (all of them
/// unless `flowStart` asked for a part; through cross-attention, the encoder's inputs then the
/// decoder's). Mismatched maps and too-large flows are refused with a message.
#[wasm_bindgen(js_name = attentionRollout)]
pub fn attention_rollout(values: &[f32], rollout_options: JsValue) -> Result<JsValue, JsError> {
    let o: RolloutOptions = options(rollout_options, "attentionRollout")?;
    let mut arrays = Vec::new();
    // A later part of a flow started before: the graph built for the first part, if it is the same problem.
    let key = FlowKey::of(values, &o);
    let cached = match (o.flow_start, o.rollout) {
        (Some(start), false) if start > 0 => LAST_FLOW.with(|last| last.borrow_mut().take()).filter(|(k, _)| *k == key).map(|(_, p)| p),
        _ => None,
    };
    let mut problem = if let Some(p) = cached { Some(p) } else { match (o.decoder_shape, o.cross_shape) {
        (None, None) => {
            let t = o.shape[2];
            if o.rollout {
                arrays.push(("rollout", tensor(&rollout::rollout(values, o.shape).map_err(js_error)?, &[t, t])));
            }
            o.flow_from.map(|from| rollout::FlowProblem::self_attention(values, o.shape, from)).transpose().map_err(js_error)?
        }
        (Some(decoder_shape), Some(cross_shape)) => {
            let sizes = [o.shape, decoder_shape, cross_shape].map(|s| s.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX));
            let total = sizes.iter().try_fold(0usize, |a, &n| a.checked_add(n));
            if total != Some(values.len()) {
                return Err(JsError::new(&format!(
                    "attentionRollout: {} values, but the encoder, decoder and cross shapes need {} one after the other. Pass the three maps of one run concatenated",
                    values.len(),
                    total.map_or("more than fits in memory".into(), |n| n.to_string())
                )));
            }
            let (encoder, rest) = values.split_at(sizes[0]);
            let (decoder, cross) = rest.split_at(sizes[1]);
            let maps = rollout::EncoderDecoderMaps { encoder, encoder_shape: o.shape, decoder, decoder_shape, cross, cross_shape };
            if o.rollout {
                let r = rollout::cross_rollout(&maps).map_err(js_error)?;
                arrays.push(("encoderRollout", tensor(&r.encoder, &[r.target_len, r.source_len])));
                arrays.push(("decoderRollout", tensor(&r.decoder, &[r.target_len, r.target_len])));
            }
            o.flow_from.map(|from| rollout::FlowProblem::encoder_decoder(&maps, from)).transpose().map_err(js_error)?
        }
        _ => return Err(JsError::new("attentionRollout: decoderShape and crossShape go together (rollout through cross-attention needs both). Pass both, or neither")),
    } };
    let mut meta = RolloutMeta { flow_from: o.flow_from, flow_start: 0, flow_next: None, flow_inputs: problem.as_ref().map(|p| p.n_sinks()) };
    if let Some(p) = problem.as_mut() {
        let values = match o.flow_start {
            Some(start) => {
                let (values, next) = p.flow_part(start);
                meta.flow_start = start.min(p.n_sinks());
                meta.flow_next = next;
                values
            }
            None => (0..p.n_sinks()).map(|k| p.flow_to(k)).collect(),
        };
        arrays.push(("flow", Float32Array::from(&values[..]).into()));
    }
    // Keep the graph for the next part (building it costs about as much as a part).
    if let (Some(p), Some(_)) = (problem, meta.flow_next) {
        LAST_FLOW.with(|last| *last.borrow_mut() = Some((key, p)));
    }
    with_arrays(&meta, arrays)
}

thread_local! {
    /// The flow problem whose parts are being fetched (one at a time: a newer one replaces it).
    static LAST_FLOW: std::cell::RefCell<Option<(FlowKey, rollout::FlowProblem)>> = const { std::cell::RefCell::new(None) };
}

/// What identifies a flow problem: its shapes, output token and a fingerprint of the maps (FNV-1a of their bits).
#[derive(PartialEq)]
struct FlowKey {
    shapes: [[usize; 4]; 3],
    flow_from: Option<usize>,
    len: usize,
    fingerprint: u64,
}

impl FlowKey {
    fn of(values: &[f32], o: &RolloutOptions) -> Self {
        let fingerprint = values.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| (h ^ x.to_bits() as u64).wrapping_mul(0x0100_0000_01b3));
        FlowKey { shapes: [o.shape, o.decoder_shape.unwrap_or_default(), o.cross_shape.unwrap_or_default()], flow_from: o.flow_from, len: values.len(), fingerprint }
    }
}

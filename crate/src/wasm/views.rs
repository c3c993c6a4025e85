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
    shape: [usize; 4],
    /// The output token whose attention flow is wanted (none: rollout only).
    #[serde(default)]
    flow_from: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RolloutMeta {
    flow_from: Option<usize>,
}

/// Attention rollout (and flow from one output token) of self-attention maps `values`
/// (`[L][H][T][T]` flat). Options `{ shape, flowFrom? }`. Returns `{ rollout: { data, shape: [T, T] },
/// flowFrom, flow?: Float32Array [T] }`. Cross-attention and too-large flows are refused with a message.
#[wasm_bindgen(js_name = attentionRollout)]
pub fn attention_rollout(values: &[f32], rollout_options: JsValue) -> Result<JsValue, JsError> {
    let o: RolloutOptions = options(rollout_options, "attentionRollout")?;
    let t = o.shape[2];
    let r = rollout::rollout(values, o.shape).map_err(js_error)?;
    let mut arrays = vec![("rollout", tensor(&r, &[t, t]))];
    if let Some(from) = o.flow_from {
        let f = rollout::flow(values, o.shape, from).map_err(js_error)?;
        arrays.push(("flow", Float32Array::from(&f[..]).into()));
    }
    with_arrays(&RolloutMeta { flow_from: o.flow_from }, arrays)
}

//! Rotary position embeddings (RoPE), as Llama-style decoders use them.
//!
//! No position vector is added to the tokens. Instead each head's query and key are cut into
//! `D/2` pairs of dimensions and pair `i` of the vector at position `p` is turned by the angle
//! `p · θ_i`, where `θ_i = inv_freq[i]`. Turning both `q` (at `m`) and `k` (at `n`) leaves
//! `q·k` depending on `m - n` only, which is why the scores see relative offsets.
//!
//! Hugging Face pairs dimension `i` with dimension `i + D/2` (its `rotate_half`), not
//! neighbours `2i, 2i+1` as the RoFormer paper writes it; checkpoints are trained for the
//! first layout, so we follow it:
//!
//! ```text
//! inv_freq[i] = θ^(-2i/D)                                  i in 0..D/2
//! angle[p][i] = p · inv_freq[i]
//! x'[i]       = x[i] · cos(angle) - x[i + D/2] · sin(angle)
//! x'[i + D/2] = x[i + D/2] · cos(angle) + x[i] · sin(angle)
//! ```
//!
//! Reference semantics: `transformers/modeling_rope_utils.py` (`standardize_rope_params`,
//! `_compute_llama3_parameters`) and `models/llama/modeling_llama.py` (`rotate_half`,
//! `apply_rotary_pos_emb`). The config may say how through either generation's keys:
//! transformers 4.x writes `rope_theta` and `rope_scaling`, 5.x writes `rope_parameters`
//! (with `rope_theta` inside). `rope_scaling` wins over `rope_parameters`, as in HF.

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// How the base frequencies are changed for longer contexts.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// The original RoPE: `inv_freq[i] = θ^(-2i/D)`.
    Default,
    /// Every frequency divided by `factor` (positions read as if `factor` times closer; Gemma 3's
    /// full-attention layers from 4B up, some long-context Llama 2 fine-tunes).
    Linear { factor: f64 },
    /// Llama 3.1: low frequencies divided by `factor`, high ones kept, a smooth blend between.
    Llama3 { factor: f64, low_freq_factor: f64, high_freq_factor: f64, original_max_position_embeddings: f64 },
    /// LongRoPE (Phi-3 128k, Phi-3.5, Phi-4-mini): every pair's frequency divided by a factor of its
    /// own, `short_factor[i]` while the sequence fits the original length and `long_factor[i]` once it
    /// is longer, and every cosine and sine multiplied by `attention_factor`.
    LongRope { short_factor: Vec<f64>, long_factor: Vec<f64>, original_max_position_embeddings: usize, attention_factor: f64 },
    /// YaRN (OLMo 3, Qwen's long-context settings): pairs that turn many times within the original
    /// length keep their frequency, pairs that turn less than once are divided by `factor`, a linear
    /// ramp between (`beta_fast`, `beta_slow` rotations), and cosines and sines times `attention_factor`.
    Yarn { factor: f64, original_max_position_embeddings: f64, attention_factor: f64, beta_fast: f64, beta_slow: f64, truncate: bool },
    /// Dynamic NTK: the base grows once a text is longer than `max_position_embeddings`; within it
    /// (and Glassbox refuses longer texts) the rotation is the default one.
    Dynamic { factor: f64 },
}

impl RopeScaling {
    pub fn as_str(&self) -> &'static str {
        match self {
            RopeScaling::Default => "default",
            RopeScaling::Linear { .. } => "linear",
            RopeScaling::Llama3 { .. } => "llama3",
            RopeScaling::LongRope { .. } => "longrope",
            RopeScaling::Yarn { .. } => "yarn",
            RopeScaling::Dynamic { .. } => "dynamic",
        }
    }
}

/// The rotation every query and key of one model goes through.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotary {
    pub d_head: usize, // D
    /// R: the dimensions of each head that turn, the first R of D (GPT-NeoX's `partial_rotary_factor`;
    /// D for the others); the last D - R pass through unturned.
    pub rotary_dims: usize,
    pub theta: f64,    // rope_theta, the base
    pub scaling: RopeScaling,
    /// The angle one position step turns each pair by: `[R/2]` (LongRoPE: while the sequence is
    /// at most `original_max_position_embeddings` long).
    pub inv_freq: Vec<f32>,
    /// LongRoPE: the frequencies once the sequence is longer than that, `[R/2]`.
    long_inv_freq: Option<Vec<f32>>,
    /// What cosines and sines are multiplied by (LongRoPE's `attention_factor`; 1 for the others).
    attention_factor: f32,
    /// Pair `i` is dimensions `(2i, 2i+1)` (Cohere), not `(i, i + R/2)` (every other family).
    pub interleaved: bool,
}

/// The rotation angles of positions `0..n`: `angles[p][i] = p · inv_freq[i]`, radians.
#[derive(Debug, Clone, PartialEq)]
pub struct RotaryAngles {
    pub n_positions: usize, // N
    pub n_pairs: usize,     // R/2
    /// D, and R: the first R dimensions of each head turn, the rest do not.
    pub d_head: usize,
    pub rotary_dims: usize,
    pub theta: f64,
    pub scaling: &'static str,
    /// Pair `i` is dimensions `(i, i + R/2)` of a head.
    pub inv_freq: Vec<f32>, // [R/2]
    pub angles: Vec<f32>,   // [N][R/2]
    /// LongRoPE and YaRN: the length the model was first trained on (`original_max_position_embeddings`;
    /// LongRoPE's short factors serve texts up to it).
    pub original_max_positions: Option<usize>,
    /// LongRoPE: whether these N positions are past that length (the long factors in use).
    pub long_factors: Option<bool>,
    /// LongRoPE and YaRN: what every turned q and k is multiplied by.
    pub attention_factor: Option<f32>,
    /// Pair `i` is dimensions `(2i, 2i+1)` instead (Cohere).
    pub interleaved: bool,
}

impl Rotary {
    /// The rotation of one layer type, in a config that keeps one per type (Gemma 3, ModernBERT):
    /// `rope_parameters[layer_type]` as transformers 5 saves it, else the 4.x top-level base
    /// `theta_key`, else `default_theta`; a `rope_scaling` object beside it is merged in when
    /// `scaled` (as the config classes do for the layer types they scale). `family` names the
    /// model in the refusal of a single, untyped `rope_parameters`.
    pub fn for_layer_type(
        raw: &Map<String, Value>,
        d_head: usize,
        max_positions: usize,
        family: &str,
        (layer_type, theta_key, default_theta): (&str, &str, f64),
        scaled: bool,
    ) -> Result<Self> {
        let by_type = match raw.get("rope_parameters") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) if m.values().all(|v| v.is_object() || v.is_null()) => Some(m),
            Some(_) => {
                return Err(Error::config(
                    "rope_parameters",
                    format!("gives one rotation, but {family} reads one per layer type (full_attention, sliding_attention)"),
                    "Use the config.json saved with the weights",
                ))
            }
        };
        let mut p = match by_type.and_then(|m| m.get(layer_type)) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(), // rope_type "default"
        };
        if let (true, Some(Value::Object(extra))) = (scaled, raw.get("rope_scaling")) {
            for (key, value) in extra {
                p.insert(key.clone(), value.clone());
            }
        }
        // HF reads YaRN's `truncate` from the top of `rope_parameters`, which holds per-type objects
        // here: one inside a type's settings is never seen (truncation stays on).
        p.remove("truncate");
        if !p.contains_key("rope_theta") {
            p.insert("rope_theta".into(), raw.get(theta_key).filter(|v| !v.is_null()).cloned().unwrap_or(Value::from(default_theta)));
        }
        let mut cfg = Map::new();
        cfg.insert("rope_parameters".into(), Value::Object(p));
        Rotary::from_config(&cfg, d_head, max_positions)
    }

    /// Read the rotation from a Llama-style config.json object. `d_head` is the model's head width,
    /// `max_positions` its `max_position_embeddings` (llama3's default for the original length).
    pub fn from_config(cfg: &Map<String, Value>, d_head: usize, max_positions: usize) -> Result<Self> {
        Self::read(cfg, d_head, max_positions, false)
    }

    /// [`Rotary::from_config`] for a family that turns only part of each head (GPT-NeoX): its
    /// `partial_rotary_factor` is read, not refused.
    pub fn from_config_partial(cfg: &Map<String, Value>, d_head: usize, max_positions: usize) -> Result<Self> {
        Self::read(cfg, d_head, max_positions, true)
    }

    fn read(cfg: &Map<String, Value>, d_head: usize, max_positions: usize, partial_ok: bool) -> Result<Self> {
        if d_head == 0 || d_head % 2 != 0 {
            return Err(Error::config("head_dim", format!("is {d_head}, but rotary positions need an even head width"), "Use the config.json saved with the weights"));
        }
        // transformers 5.x reads `rope_scaling` first (4.x configs), then `rope_parameters`: Python's
        // `rope_scaling or rope_parameters`, so an empty `rope_scaling` object counts as left out.
        let scaling = non_null(cfg, "rope_scaling").filter(|v| !matches!(v, Value::Object(m) if m.is_empty()));
        let (params_key, params) = match (scaling, non_null(cfg, "rope_parameters")) {
            (Some(v), _) => ("rope_scaling", Some(v)),
            (None, Some(v)) => ("rope_parameters", Some(v)),
            (None, None) => ("rope_parameters", None),
        };
        let empty = Map::new();
        let params = match params {
            None => &empty,
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(Error::config(params_key, format!("is {other}, but it must be an object"), "Use the config.json saved with the weights"));
            }
        };
        if params.values().any(Value::is_object) {
            return Err(Error::config(
                params_key,
                "gives different rotary settings per layer type; Glassbox runs one rotation for every layer",
                "Use a checkpoint with a single rope_parameters object",
            ));
        }
        let number = |m: &Map<String, Value>, key: &str, field: &str| -> Result<Option<f64>> {
            match m.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_f64().filter(|x| x.is_finite()).map(Some).ok_or_else(|| {
                    Error::config(field, format!("is {v}, but it must be a number"), "Use the config.json saved with the weights")
                }),
            }
        };
        let theta = match number(params, "rope_theta", &format!("{params_key}.rope_theta"))? {
            Some(t) => t,
            None => number(cfg, "rope_theta", "rope_theta")?.unwrap_or(10_000.0),
        };
        if theta <= 1.0 {
            return Err(Error::config("rope_theta", format!("is {theta}, but the rotary base must be above 1"), "Use the config.json saved with the weights (usually 10000 or more)"));
        }
        let partial = match number(params, "partial_rotary_factor", &format!("{params_key}.partial_rotary_factor"))? {
            Some(p) => Some(p),
            None => number(cfg, "partial_rotary_factor", "partial_rotary_factor")?,
        };
        let rotary_dims = match partial.filter(|&p| p != 1.0) {
            None => d_head,
            Some(p) if !partial_ok => {
                return Err(Error::config(
                    "partial_rotary_factor",
                    format!("is {p}; this family rotates whole heads only"),
                    "Use a checkpoint without partial_rotary_factor (or with 1.0)",
                ))
            }
            Some(p) => {
                // As HF: int(head_size * partial_rotary_factor), an f64 product truncated.
                let dims = (d_head as f64 * p) as i64;
                if !(p > 0.0 && p <= 1.0) || dims < 2 || dims % 2 != 0 {
                    return Err(Error::config(
                        "partial_rotary_factor",
                        format!("is {p}, which turns {dims} of each head's {d_head} dimensions; the rotation needs an even number, at least 2"),
                        "Use the config.json saved with the weights (Pythia's is 0.25)",
                    ));
                }
                dims as usize
            }
        };
        let rope_type = params.get("rope_type").or_else(|| params.get("type")).and_then(Value::as_str).unwrap_or("default");
        let scaling = match rope_type {
            "default" => RopeScaling::Default,
            "linear" => {
                let key = format!("{params_key}.factor");
                match number(params, "factor", &key)? {
                    // transformers only warns below 1 (a compression); 0 or less would turn no pair or flip them.
                    Some(factor) if factor > 0.0 => RopeScaling::Linear { factor },
                    Some(factor) => return Err(Error::config(key, format!("is {factor}, but linear rope scaling divides the frequencies by it"), "Use the config.json saved with the weights (a factor such as 2 or 8)")),
                    None => return Err(Error::config(key, "is missing (linear rope scaling needs it)", "Use the config.json saved with the weights")),
                }
            }
            "llama3" => {
                let field = |k: &str| format!("{params_key}.{k}");
                let required = |k: &str| -> Result<f64> {
                    number(params, k, &field(k))?.ok_or_else(|| {
                        Error::config(field(k), "is missing (llama3 rope scaling needs factor, low_freq_factor, high_freq_factor)", "Use the config.json saved with the weights")
                    })
                };
                // HF gives a top-level `original_max_position_embeddings` priority over the one inside.
                let original = match number(cfg, "original_max_position_embeddings", "original_max_position_embeddings")? {
                    Some(o) => o,
                    None => number(params, "original_max_position_embeddings", &field("original_max_position_embeddings"))?.unwrap_or(max_positions as f64),
                };
                let (factor, low, high) = (required("factor")?, required("low_freq_factor")?, required("high_freq_factor")?);
                if factor <= 0.0 || low <= 0.0 || high <= low || original <= 0.0 {
                    return Err(Error::config(
                        field("factor"),
                        format!("llama3 scaling needs factor > 0 and 0 < low_freq_factor < high_freq_factor (got {factor}, {low}, {high})"),
                        "Use the config.json saved with the weights",
                    ));
                }
                RopeScaling::Llama3 { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: original }
            }
            "longrope" => {
                let field = |k: &str| format!("{params_key}.{k}");
                let pairs = rotary_dims / 2;
                let factors = |k: &str| -> Result<Vec<f64>> {
                    let bad = |why: String| Error::config(field(k), why, "Use the config.json saved with the weights");
                    let list = match params.get(k) {
                        Some(Value::Array(items)) => items,
                        None | Some(Value::Null) => return Err(bad("is missing (longrope scaling needs short_factor and long_factor)".into())),
                        Some(other) => return Err(bad(format!("is {other}, but it must be a list of numbers"))),
                    };
                    if list.len() != pairs {
                        return Err(bad(format!("has {} numbers, but longrope needs one per rotated pair: {pairs}", list.len())));
                    }
                    // A factor of 0 or less would give an infinite or backwards frequency (NaN scores).
                    list.iter()
                        .map(|v| v.as_f64().filter(|x| x.is_finite() && *x > 0.0).ok_or_else(|| bad(format!("holds {v}, but every factor must be a positive number"))))
                        .collect()
                };
                let (short_factor, long_factor) = (factors("short_factor")?, factors("long_factor")?);
                // As llama3: a top-level `original_max_position_embeddings` wins over the one inside.
                let original = match number(cfg, "original_max_position_embeddings", "original_max_position_embeddings")? {
                    Some(o) => o,
                    None => number(params, "original_max_position_embeddings", &field("original_max_position_embeddings"))?.unwrap_or(max_positions as f64),
                };
                if !(original >= 1.0 && original <= u32::MAX as f64) || original.fract() != 0.0 {
                    return Err(Error::config("original_max_position_embeddings", format!("is {original}, but it must be a whole number of positions, at least 1"), "Use the config.json saved with the weights"));
                }
                // HF: `factor` if given, else max_position_embeddings / original; the attention factor
                // if given, else sqrt(1 + ln(factor) / ln(original)) above 1.
                let factor = number(params, "factor", &field("factor"))?.unwrap_or(max_positions as f64 / original);
                let attention_factor = match number(params, "attention_factor", &field("attention_factor"))? {
                    Some(a) if a > 0.0 => a,
                    Some(a) => return Err(Error::config(field("attention_factor"), format!("is {a}, but cosines and sines are multiplied by it"), "Use the config.json saved with the weights, or leave it out")),
                    None if factor <= 1.0 => 1.0,
                    None if original <= 1.0 => return Err(Error::config("original_max_position_embeddings", "is 1, and longrope's attention factor divides by its logarithm", "Use the config.json saved with the weights")),
                    None => (1.0 + crate::math::ln(factor) / crate::math::ln(original)).sqrt(),
                };
                RopeScaling::LongRope { short_factor, long_factor, original_max_position_embeddings: original as usize, attention_factor }
            }
            "yarn" => {
                let field = |k: &str| format!("{params_key}.{k}");
                let factor = match number(params, "factor", &field("factor"))? {
                    // transformers only warns below 1; 0 or less would divide by nothing or turn pairs backwards.
                    Some(f) if f > 0.0 => f,
                    Some(f) => return Err(Error::config(field("factor"), format!("is {f}, but YaRN divides the slow pairs' frequencies by it"), "Use the config.json saved with the weights (a factor such as 4 or 8)")),
                    None => return Err(Error::config(field("factor"), "is missing (yarn rope scaling needs it)", "Use the config.json saved with the weights")),
                };
                let original = match number(cfg, "original_max_position_embeddings", "original_max_position_embeddings")? {
                    Some(o) => o,
                    None => number(params, "original_max_position_embeddings", &field("original_max_position_embeddings"))?.unwrap_or(max_positions as f64),
                };
                if !(original > 0.0) {
                    return Err(Error::config("original_max_position_embeddings", format!("is {original}, but it must be a positive length"), "Use the config.json saved with the weights"));
                }
                // HF's get_mscale: 0.1 · m · ln(s) + 1 above 1, else 1.
                let mscale = |scale: f64, m: f64| if scale <= 1.0 { 1.0 } else { 0.1 * m * crate::math::ln(scale) + 1.0 };
                let attention_factor = match number(params, "attention_factor", &field("attention_factor"))? {
                    Some(a) if a > 0.0 => a,
                    Some(a) => return Err(Error::config(field("attention_factor"), format!("is {a}, but cosines and sines are multiplied by it"), "Use the config.json saved with the weights, or leave it out")),
                    None => match (number(params, "mscale", &field("mscale"))?, number(params, "mscale_all_dim", &field("mscale_all_dim"))?) {
                        (Some(m), Some(all)) if m != 0.0 && all != 0.0 => mscale(factor, m) / mscale(factor, all),
                        _ => mscale(factor, 1.0),
                    },
                };
                // Python's `x or default`: a 0 (or absent) beta takes the default.
                let beta = |k: &str, default: f64| -> Result<f64> { Ok(number(params, k, &field(k))?.filter(|&b| b != 0.0).unwrap_or(default)) };
                let truncate = match params.get("truncate") {
                    None | Some(Value::Null) => true,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => return Err(Error::config(field("truncate"), format!("is {other}, but it must be true or false"), "Use the config.json saved with the weights")),
                };
                RopeScaling::Yarn { factor, original_max_position_embeddings: original, attention_factor, beta_fast: beta("beta_fast", 32.0)?, beta_slow: beta("beta_slow", 1.0)?, truncate }
            }
            "dynamic" => match number(params, "factor", &format!("{params_key}.factor"))? {
                Some(factor) if factor > 0.0 => RopeScaling::Dynamic { factor },
                Some(factor) => return Err(Error::config(format!("{params_key}.factor"), format!("is {factor}, but dynamic scaling needs a positive factor"), "Use the config.json saved with the weights")),
                None => return Err(Error::config(format!("{params_key}.factor"), "is missing (dynamic rope scaling needs it)", "Use the config.json saved with the weights")),
            },
            other => {
                return Err(Error::config(
                    format!("{params_key}.rope_type"),
                    format!("\"{other}\" rotary scaling is not supported"),
                    "Glassbox runs the \"default\", \"linear\", \"llama3\", \"longrope\", \"yarn\" and \"dynamic\" rotary positions; use a checkpoint with one of those",
                ))
            }
        };
        Ok(Rotary::partial(d_head, rotary_dims, theta, scaling))
    }

    pub fn new(d_head: usize, theta: f64, scaling: RopeScaling) -> Self {
        Self::partial(d_head, d_head, theta, scaling)
    }

    /// A rotation of the first `rotary_dims` (R, even) of each head's `d_head` dimensions.
    pub fn partial(d_head: usize, rotary_dims: usize, theta: f64, scaling: RopeScaling) -> Self {
        let half = rotary_dims / 2;
        // HF computes in f32: base ** (arange(0, R, 2).float() / R), then its reciprocal. The
        // power is taken in f64 and rounded once to f32 (see [`cos_sin`]'s angles).
        let base_power = |i: usize| crate::math::pow((theta as f32) as f64, ((2 * i) as f32 / rotary_dims as f32) as f64) as f32;
        let mut inv_freq: Vec<f32> = (0..half).map(|i| 1.0 / base_power(i)).collect();
        let (mut long_inv_freq, mut attention_factor) = (None, 1.0);
        if let RopeScaling::Yarn { factor, original_max_position_embeddings: original, attention_factor: a, beta_fast, beta_slow, truncate } = scaling {
            // HF's _compute_yarn_parameters: which pairs turn more than `beta_fast` times within the
            // original length (kept) or fewer than `beta_slow` times (divided by the factor), in f64;
            // the ramp and the blend in f32, as torch computes them.
            let dims = rotary_dims as f64;
            let correction = |rotations: f64| dims * crate::math::ln(original / (rotations * 2.0 * std::f64::consts::PI)) / (2.0 * crate::math::ln(theta));
            let (mut low, mut high) = (correction(beta_fast), correction(beta_slow));
            if truncate {
                (low, high) = (low.floor(), high.ceil());
            }
            let (low, mut high) = (low.max(0.0), high.min(dims - 1.0));
            if low == high {
                high += 0.001; // HF: prevents a division by zero
            }
            let (low32, span32) = (low as f32, (high - low) as f32);
            inv_freq = (0..half)
                .map(|i| {
                    let power = base_power(i);
                    let (extrapolated, interpolated) = (1.0 / power, 1.0 / (factor as f32 * power));
                    let ramp = ((i as f32 - low32) / span32).clamp(0.0, 1.0);
                    let keep = 1.0 - ramp; // how much of the original frequency the pair keeps
                    interpolated * (1.0 - keep) + extrapolated * keep
                })
                .collect();
            attention_factor = a as f32;
        }
        if let RopeScaling::LongRope { short_factor, long_factor, attention_factor: a, .. } = &scaling {
            // HF, in f32: 1 / (ext_factors · base^(2i/R)), with the short or the long factors.
            let scaled = |factors: &[f64]| -> Vec<f32> { (0..half).map(|i| 1.0 / (factors[i] as f32 * base_power(i))).collect() };
            inv_freq = scaled(short_factor);
            long_inv_freq = Some(scaled(long_factor));
            attention_factor = *a as f32;
        }
        if let RopeScaling::Linear { factor } = scaling {
            // HF: `inv_freq /= factor`, an f32 division.
            inv_freq.iter_mut().for_each(|f| *f /= factor as f32);
        }
        if let RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings: old } = scaling {
            let (low_wavelen, high_wavelen) = (old / low_freq_factor, old / high_freq_factor);
            for f in inv_freq.iter_mut() {
                let base = *f as f64;
                let wavelen = 2.0 * std::f64::consts::PI / base;
                *f = if wavelen < high_wavelen {
                    base // fast pairs (short wavelengths) keep their frequency
                } else if wavelen > low_wavelen {
                    base / factor // slow pairs are stretched to the longer context
                } else {
                    let smooth = (old / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                    (1.0 - smooth) * base / factor + smooth * base
                } as f32;
            }
        }
        Rotary { d_head, rotary_dims, theta, scaling, inv_freq, long_inv_freq, attention_factor, interleaved: false }
    }

    /// The cosines and sines of positions `first..first+T`: `[T][D/2]` each, computed once per
    /// forward pass and shared by the queries and keys of every layer.
    pub fn cos_sin(&self, first: usize, t: usize) -> CosSin {
        let inv_freq = self.frequencies(first + t);
        let half = inv_freq.len();
        let (mut cos, mut sin) = (Vec::with_capacity(t * half), Vec::with_capacity(t * half));
        let factor = self.attention_factor;
        for p in first..first + t {
            // As HF: the angle in f32 (`position.float() * inv_freq`), then its cosine and sine
            // (times LongRoPE's attention factor, `emb.cos() * attention_scaling`). Each taken in
            // f64 and rounded once to f32: the nearest f32 to the true value on every platform,
            // where f32 `cos` is the C library's natively and a port of musl's in the wasm, which
            // differ in the last bit now and then (the Llama fixtures' logits differed by up to 8.6e-6
            // between the page and the CLI).
            for &f in inv_freq {
                let angle = (p as f32 * f) as f64;
                let (c, s) = (crate::math::cos(angle) as f32, crate::math::sin(angle) as f32);
                cos.push(if factor == 1.0 { c } else { c * factor });
                sin.push(if factor == 1.0 { s } else { s * factor });
            }
        }
        CosSin { half, d_head: self.d_head, cos, sin, interleaved: self.interleaved }
    }

    /// The frequencies a forward pass over positions `0..seq_len` turns its new positions by:
    /// LongRoPE's long ones once `seq_len` is past the original length (HF decides per call on the
    /// largest position, so keys cached while the text was short keep their short rotation).
    pub fn frequencies(&self, seq_len: usize) -> &[f32] {
        match (&self.long_inv_freq, &self.scaling) {
            (Some(long), RopeScaling::LongRope { original_max_position_embeddings, .. }) if seq_len > *original_max_position_embeddings => long,
            _ => &self.inv_freq,
        }
    }

    /// Rotate `x: [T][W]` in place, where each row holds `W / D` heads of width `D` and row `t`
    /// sits at position `first + t`.
    pub fn rotate(&self, x: &mut [f32], width: usize, first: usize) {
        let t = x.len() / width.max(1);
        self.cos_sin(first, t).rotate(x, width);
    }
    /// The angle table of positions `0..n`, for the positions view.
    pub fn angles(&self, n: usize) -> RotaryAngles {
        let inv_freq = self.frequencies(n); // as a forward pass over n tokens turns them
        let half = inv_freq.len();
        let mut angles = Vec::with_capacity(n * half);
        for p in 0..n {
            angles.extend(inv_freq.iter().map(|&f| p as f32 * f));
        }
        let original_max_positions = match &self.scaling {
            RopeScaling::LongRope { original_max_position_embeddings: original, .. } => Some(*original),
            RopeScaling::Yarn { original_max_position_embeddings: original, .. } => Some(*original as usize),
            _ => None,
        };
        let long_factors = matches!(self.scaling, RopeScaling::LongRope { .. }).then(|| original_max_positions.is_some_and(|o| n > o));
        RotaryAngles {
            n_positions: n, n_pairs: half, d_head: self.d_head, rotary_dims: self.rotary_dims, theta: self.theta, scaling: self.scaling.as_str(),
            inv_freq: inv_freq.to_vec(), angles, original_max_positions, long_factors,
            attention_factor: matches!(self.scaling, RopeScaling::LongRope { .. } | RopeScaling::Yarn { .. }).then_some(self.attention_factor),
            interleaved: self.interleaved,
        }
    }
}

/// The cosines and sines of a run of positions (see [`Rotary::cos_sin`]).
#[derive(Debug, Clone)]
pub struct CosSin {
    half: usize,   // R/2
    d_head: usize, // D
    cos: Vec<f32>, // [T][D/2]
    sin: Vec<f32>, // [T][D/2]
    interleaved: bool,
}

impl CosSin {
    /// Rotate `x: [T][W]` in place (rows of `W / D` heads, row `t` at the run's `t`-th position):
    /// `x'[i] = x[i]·cos − x[i+R/2]·sin`, `x'[i+R/2] = x[i+R/2]·cos + x[i]·sin` for `i < R/2`;
    /// dimensions `R..D` of each head pass through.
    /// [`CosSin::rotate`] of every row of `x: [T][W]`.
    pub fn rotate_rows(&self, x: &mut ndarray::Array2<f32>) {
        let width = x.ncols();
        self.rotate(super::activations::flat_mut(x), width);
    }
    pub fn rotate(&self, x: &mut [f32], width: usize) {
        let half = self.half;
        if half == 0 {
            return;
        }
        for ((row, cos), sin) in x.chunks_exact_mut(width).zip(self.cos.chunks_exact(half)).zip(self.sin.chunks_exact(half)) {
            for head in row.chunks_exact_mut(self.d_head) {
                if self.interleaved {
                    // Cohere: each pair is two neighbouring dimensions.
                    for (i, pair) in head[..2 * half].chunks_exact_mut(2).enumerate() {
                        let (x1, x2) = (pair[0], pair[1]);
                        pair[0] = x1 * cos[i] - x2 * sin[i];
                        pair[1] = x2 * cos[i] + x1 * sin[i];
                    }
                    continue;
                }
                let (a, b) = head[..2 * half].split_at_mut(half);
                for i in 0..half {
                    let (x1, x2) = (a[i], b[i]);
                    a[i] = x1 * cos[i] - x2 * sin[i];
                    b[i] = x2 * cos[i] + x1 * sin[i];
                }
            }
        }
    }
}

fn non_null<'a>(cfg: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    cfg.get(key).filter(|v| !v.is_null())
}

//! ModernBERT (`ModernBertModel`, `ModernBertForMaskedLM`): an encoder rebuilt with what decoders
//! learned since BERT. Pre-norm LayerNorms (without biases by default), rotary positions instead of
//! a position table, a gated GELU feed-forward, no biases in the linear layers, and most layers
//! attending only to a band of neighbours on either side.
//!
//! Reference semantics: Hugging Face `transformers/models/modernbert/modeling_modernbert.py` (5.x).
//!
//! ```text
//! x = LN_emb(embed[ids])                                              # [T][C]
//! for each layer l:
//!     a = l == 0 ? x : LN_attn(x)          (layer 0 reads the embedding norm's output as it is)
//!     q, k, v = split(Wqkv a)                                         # [T][C] each
//!     q, k = rotate(q, k, positions)       (full layers: the global base; band layers: the local one)
//!     x = x + Wo · attn(q, k, v)           (band layers: key j is seen from query i when |i - j| <= local_attention / 2)
//!     u, g = split(Wi LN_mlp(x))                                      # [T][F] each
//!     x = x + Wo' (act(u) ⊙ g)
//! h = LN_final(x)
//! logits = decoder(LN_head(act(W_dense h)))      (decoder: the token table, tied, plus its bias)
//! ```
//!
//! Checkpoint names (`model.` before the encoder's names under the masked-LM head):
//!
//! | name                                     | shape |
//! |------------------------------------------|-------|
//! | `embeddings.tok_embeddings.weight`       | [V][C] |
//! | `embeddings.norm.{weight,bias}`          | [C] (bias: `norm_bias`) |
//! | `layers.{l}.attn_norm.{weight,bias}`     | [C], layers 1.. only |
//! | `layers.{l}.attn.Wqkv.{weight,bias}`     | [3C][C] (q rows, then k, then v), [3C] (`attention_bias`) |
//! | `layers.{l}.attn.Wo.{weight,bias}`       | [C][C], [C] |
//! | `layers.{l}.mlp_norm.{weight,bias}`      | [C] |
//! | `layers.{l}.mlp.Wi.{weight,bias}`        | [2F][C] (the input rows, then the gate's), [2F] (`mlp_bias`) |
//! | `layers.{l}.mlp.Wo.{weight,bias}`        | [C][F], [C] |
//! | `final_norm.{weight,bias}`               | [C] |
//! | `head.dense.{weight,bias}` (never prefixed) | [C][C], [C] (`classifier_bias`) |
//! | `head.norm.{weight,bias}`                | [C] |
//! | `decoder.weight`, `decoder.bias`         | [V][C] (only when untied), [V] (`decoder_bias`) |

use super::activations::{self, flat_mut};
use super::attention::{attend, AttentionKind, Mask, Recorder};
use super::capture::Probe;
use super::classifier::{self, ClassifierHead, ClassifierInfo, Pooling};
use super::layers::{linear, Activation, LayerNorm, MlmHead, TokenTable};
use super::rotary::{Rotary, RotaryAngles};
use super::{Kind, ModelInfo, Outputs, Positions};
use crate::error::{Error, Result};
use crate::kernels::Linear;
use crate::loader::{parse_json, Keyed, Weights};
use ndarray::{s, Array2, ArrayView2};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The fields of a ModernBERT config.json that change the computation (the rotary keys are read
/// from the raw object).
#[derive(Debug, Clone, Deserialize)]
pub struct ModernBertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default = "default_act")]
    pub hidden_activation: String,
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub norm_eps: f32,
    #[serde(default)]
    pub norm_bias: bool,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    #[serde(default = "yes")]
    pub decoder_bias: bool,
    #[serde(default)]
    pub classifier_bias: bool,
    #[serde(default = "default_act")]
    pub classifier_activation: String,
    /// What a sequence classifier reads: `"cls"` (the first token; ModernBertConfig's default) or `"mean"`.
    #[serde(default)]
    pub classifier_pooling: Option<String>,
    /// The whole band, both sides and the token itself counted as HF's config does: a key is seen
    /// when it is at most `local_attention / 2` positions away.
    #[serde(default = "default_local_attention")]
    pub local_attention: usize,
    /// Configs saved before `layer_types`: every n-th layer (from the first) attends to every key.
    #[serde(default)]
    pub global_attn_every_n_layers: Option<usize>,
    #[serde(default)]
    pub layer_types: Option<Vec<String>>,
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
    #[serde(default)]
    pub pad_token_id: Keyed<u32>,
    #[serde(default)]
    pub bos_token_id: Option<Value>,
    #[serde(default)]
    pub eos_token_id: Option<Value>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_max_positions() -> usize {
    8192
}
fn default_eps() -> f32 {
    1e-5
}
fn yes() -> bool {
    true
}
fn default_local_attention() -> usize {
    128
}

/// `ModernBertConfig.default_theta`: the full layers' base and the band layers' base.
const GLOBAL_ROPE_THETA: f64 = 160_000.0;
const LOCAL_ROPE_THETA: f64 = 10_000.0;
const DEFAULT_GLOBAL_EVERY: usize = 3;

struct Layer {
    /// None for layer 0, whose attention reads the embedding norm's output as it is.
    attn_norm: Option<LayerNorm>,
    wqkv: Linear, // C -> 3C
    wo: Linear,   // C -> C
    mlp_norm: LayerNorm,
    wi: Linear,     // C -> 2F
    mlp_out: Linear, // F -> C
    /// Keys farther than this from the query are not seen (`local_attention / 2`); None: all are.
    band: Option<usize>,
}

pub struct ModernBert {
    pub config: ModernBertConfig,
    pub info: ModelInfo,
    /// The rotation of the full-attention layers (`rope_parameters.full_attention`).
    pub rotary: Rotary,
    /// The rotation of the band layers (`rope_parameters.sliding_attention`).
    pub local_rotary: Rotary,
    embed: Linear, // [V][C] as a bias-free C -> V layer: the rows, and the tied decoder
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    final_norm: LayerNorm,
    head: Option<MlmHead>,
    activation: Activation,
    head_activation: Activation,
    /// A fine-tuned checkpoint's head (`ModernBertForSequenceClassification`,
    /// `ModernBertForTokenClassification`): `head` then `classifier`, instead of the masked-LM decoder.
    classifier: Option<ClassifierHead>,
}

/// A LayerNorm whose bias is stored only when `bias` (ModernBERT's `norm_bias`); without it the
/// shift is zero, which adds nothing.
fn norm(w: &Weights, name: &str, c: usize, eps: f32, bias: bool) -> Result<LayerNorm> {
    let gamma = w.get(&format!("{name}.weight"), &[c])?;
    let beta = if bias { w.get(&format!("{name}.bias"), &[c])? } else { vec![0.0; c] };
    Ok(LayerNorm { gamma, beta, eps })
}

impl ModernBert {
    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        let cfg: ModernBertConfig = parse_json("config.json", config_json)?;
        let raw: Map<String, Value> = parse_json("config.json", config_json)?;
        let (v, c, l, h, f) = (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size);
        if h == 0 || c % h != 0 {
            // ModernBertAttention raises on this.
            return Err(Error::config("num_attention_heads", format!("hidden_size {c} is not divisible by {h} heads"), "Use the config.json saved with the weights"));
        }
        let d = c / h;
        // The rotary embedding reads a `head_dim` from config.json (no ModernBertConfig key); one that
        // differs from the heads' width makes transformers fail.
        if raw.get("head_dim").and_then(Value::as_u64).is_some_and(|n| n > 0 && n as usize != d) {
            return Err(Error::config("head_dim", format!("differs from the heads' width {d} (hidden_size / num_attention_heads)"), "Remove head_dim"));
        }
        let activation = Activation::from_config("hidden_activation", &cfg.hidden_activation)?;
        let head_activation = Activation::from_config("classifier_activation", &cfg.classifier_activation)?;
        let types = layer_types(&cfg)?;
        // `sliding_window` is ModernBertConfig's other name for half the band: written into config.json it
        // sets `local_attention` to twice itself, over the file's own `local_attention`.
        let half = match raw.get("sliding_window") {
            None => cfg.local_attention / 2,
            Some(v) => v.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
                Error::config("sliding_window", format!("is {v}, but it must be a whole number of positions (half of local_attention)"), "Remove sliding_window and set local_attention, the band's whole width")
            })?,
        };
        let (rotary, local_rotary) = rotaries(&raw, d, cfg.max_position_embeddings)?;

        let w = weights.with_prefixes(&["model."]);
        let eps = cfg.norm_eps;
        let nb = cfg.norm_bias;
        let mut layers = Vec::with_capacity(l);
        for (i, ty) in types.iter().enumerate() {
            let n = format!("layers.{i}");
            layers.push(Layer {
                attn_norm: if i == 0 { None } else { Some(norm(&w, &format!("{n}.attn_norm"), c, eps, nb)?) },
                wqkv: linear(&w, &format!("{n}.attn.Wqkv"), c, 3 * c, cfg.attention_bias)?,
                wo: linear(&w, &format!("{n}.attn.Wo"), c, c, cfg.attention_bias)?,
                mlp_norm: norm(&w, &format!("{n}.mlp_norm"), c, eps, nb)?,
                wi: linear(&w, &format!("{n}.mlp.Wi"), c, 2 * f, cfg.mlp_bias)?,
                mlp_out: linear(&w, &format!("{n}.mlp.Wo"), f, c, cfg.mlp_bias)?,
                band: (ty == "sliding_attention").then_some(half),
            });
        }
        let tie = cfg.tie_word_embeddings.unwrap_or(true);
        let table = super::layers::tied_table_name(&w, "embeddings.tok_embeddings.weight", "decoder.weight", tie);
        let embed = super::layers::token_table_not_int8(&w, table, v, c)?;
        let emb_norm = norm(&w, "embeddings.norm", c, eps, nb)?;
        let final_norm = norm(&w, "final_norm", c, eps, nb)?;
        // A classifier's `head` feeds its `classifier`, not a decoder over the vocabulary.
        let classifier = match classifier::requested(config_json)? {
            Some(info) => {
                let pooling = match cfg.classifier_pooling.as_deref().unwrap_or("cls") {
                    "cls" => Pooling::First,
                    "mean" => Pooling::Mean,
                    other => return Err(Error::config("classifier_pooling", format!("is \"{other}\""), "ModernBERT pools with \"cls\" (the first token) or \"mean\"")),
                };
                let dense = linear(&w, "head.dense", c, c, cfg.classifier_bias)?;
                Some(ClassifierHead::modernbert(&w, info, (dense, head_activation), norm(&w, "head.norm", c, eps, nb)?, pooling, c)?)
            }
            None => None,
        };
        // The masked-LM head, when the checkpoint has one (a base ModernBertModel has not; a
        // classifier's file has `head` too, for its `classifier`, even when config.json does not say so).
        let head = if classifier.is_none() && ((w.contains("head.dense.weight") && !w.contains("classifier.weight")) || matches!(w, Weights::Random { .. })) {
            let tied = tie && !super::layers::stored_head_differs(&w, "decoder.weight", table, v, c)?;
            Some(MlmHead {
                dense: linear(&w, "head.dense", c, c, cfg.classifier_bias)?,
                ln: norm(&w, "head.norm", c, eps, nb)?,
                decoder: if tied { None } else { Some(super::layers::token_table_not_int8(&w, "decoder.weight", v, c)?) },
                bias: if cfg.decoder_bias { w.get("decoder.bias", &[v])? } else { vec![0.0; v] },
            })
        } else {
            None
        };
        let norm_params = if nb { 2 * c } else { c };
        let per_layer = 2 * norm_params + 3 * c * c + c * c + 2 * f * c + f * c
            + if cfg.attention_bias { 4 * c } else { 0 }
            + if cfg.mlp_bias { 2 * f + c } else { 0 };
        let head_params = head.as_ref().map_or(0, |hd| {
            c * c + if cfg.classifier_bias { c } else { 0 } + norm_params + hd.decoder.as_ref().map_or(0, Linear::n_params) + if cfg.decoder_bias { v } else { 0 }
        });
        // A classifier's `head.norm` has no bias without norm_bias (the head counts one vector of zeros).
        let classifier_params = classifier.as_ref().map_or(0, |h| h.n_params() - if nb { 0 } else { c });
        let n_params = v * c + 2 * norm_params + l * per_layer - norm_params + head_params + classifier_params;
        let id = |value: &Option<Value>| value.as_ref().and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok());
        let info = ModelInfo {
            model_type: "modernbert".into(),
            kind: Kind::EncoderOnly,
            positions: Positions::Rotary,
            n_layers: l,
            n_decoder_layers: 0,
            n_heads: h,
            d_model: c,
            d_ff: f,
            vocab_size: v,
            max_positions: Some(cfg.max_position_embeddings),
            n_params,
            has_lm_head: head.is_some(),
            bos_token_id: id(&cfg.bos_token_id),
            eos_token_id: id(&cfg.eos_token_id),
            pad_token_id: cfg.pad_token_id.value(),
            decoder_start_token_id: None,
        };
        Ok(ModernBert { config: cfg, info, rotary, local_rotary, embed, emb_norm, layers, final_norm, head, activation, head_activation, classifier })
    }

    /// The layers (0-based) that see only a band of neighbours, and how far the band reaches on
    /// each side (`local_attention / 2`).
    pub fn band_layers(&self) -> (Vec<usize>, Option<usize>) {
        let layers: Vec<usize> = self.layers.iter().enumerate().filter(|(_, l)| l.band.is_some()).map(|(i, _)| i).collect();
        (layers, self.layers.iter().find_map(|l| l.band))
    }

    /// The classification head the checkpoint carries, if any.
    pub fn classifier(&self) -> Option<&ClassifierInfo> {
        self.classifier.as_ref().map(|h| &h.info)
    }

    pub fn head_is_embedding_table(&self) -> bool {
        self.head.as_ref().map_or(self.config.tie_word_embeddings.unwrap_or(true), |h| h.decoder.is_none())
    }

    pub fn activation_name(&self) -> &str {
        &self.config.hidden_activation
    }

    /// The full layers' rotation angles of positions `0..n` (for the positions view).
    pub fn rotary_angles(&self, n: usize) -> RotaryAngles {
        self.rotary.angles(n)
    }

    pub(crate) fn token_table(&self) -> TokenTable<'_> {
        TokenTable::Packed(&self.embed)
    }

    /// The masked-LM head on a final state `x: [T][C]` (after the final norm): `[T][V]`.
    fn mlm_logits(&self, x: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        self.head.as_ref().map(|head| head.logits(x, &self.embed, self.head_activation))
    }

    /// Logits as if the encoder stopped at hidden state `x: [T][C]`: the final norm, then the
    /// head; the last state (`last`) has been through the norm already.
    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Option<Array2<f32>> {
        if last {
            return self.mlm_logits(x);
        }
        let mut normed = x.to_owned();
        self.final_norm.apply(flat_mut(&mut normed));
        self.mlm_logits(normed.view())
    }

    /// One pass over `ids` (ModernBERT has no token types: `_type_ids` is ignored, as HF's model takes none).
    pub fn forward(&self, ids: &[u32], _type_ids: Option<&[u32]>, probe: &Probe) -> Result<Outputs> {
        let (c, h, f) = (self.config.hidden_size, self.config.num_attention_heads, self.config.intermediate_size);
        let d = c / h;
        let t = ids.len();
        let mut x = activations::embed(&TokenTable::Packed(&self.embed), c, ids); // [T][C]
        self.emb_norm.apply(flat_mut(&mut x));
        let mut rec = Recorder::probing(probe, AttentionKind::Encoder, self.layers.len(), h, t, t);
        let keys = probe.interventions.additive_token_mask(); // [T], hidden tokens ≈ -inf
        let scale = 1.0 / (d as f32).sqrt();
        let (turn, local_turn) = (self.rotary.cos_sin(0, t), self.local_rotary.cos_sin(0, t));
        for (l, layer) in self.layers.iter().enumerate() {
            rec.hidden_state(&x);
            // x = x + Wo · attn(rope(q), rope(k), v),  q k v = split(Wqkv a),  a = LN_attn(x) (layer 0: x)
            let a = match &layer.attn_norm {
                Some(n) => activations::layer_norm(n, &x),
                None => x.clone(),
            };
            let qkv = activations::linear(&layer.wqkv, a.view()); // [T][3C]
            let mut q = qkv.slice(s![.., 0..c]).to_owned(); // [T][C]
            let mut k = qkv.slice(s![.., c..2 * c]).to_owned();
            let v = qkv.slice(s![.., 2 * c..3 * c]).to_owned();
            let turn = if layer.band.is_some() { &local_turn } else { &turn };
            turn.rotate_rows(&mut q);
            turn.rotate_rows(&mut k);
            let mask = match (layer.band, keys.as_deref()) {
                (Some(half), keys) => Mask::Band { half, keys },
                (None, keys) => Mask::keys_or_full(keys),
            };
            let ctx = attend(q.view(), k.view(), v.view(), h, d, scale, mask, None, rec.layer(l));
            let out = activations::linear(&layer.wo, ctx.view()); // [T][C]
            rec.trace_io(l, &a, &out);
            x += &out;
            // x = x + Wo' (act(u) ⊙ g),  u g = split(Wi LN_mlp(x))
            let m = activations::layer_norm(&layer.mlp_norm, &x);
            let ug = activations::linear(&layer.wi, m.view()); // [T][2F]
            let mut u = ug.slice(s![.., 0..f]).to_owned(); // [T][F]
            self.activation.apply(flat_mut(&mut u));
            u *= &ug.slice(s![.., f..2 * f]);
            x += &activations::linear(&layer.mlp_out, u.view());
        }
        self.final_norm.apply(flat_mut(&mut x));
        rec.hidden_state(&x);
        let (logits, top_k) = super::logits::keep(probe.logits, x.view(), self.info.vocab_size, |rows| self.mlm_logits(rows));
        let class_logits = self.classifier.as_ref().and_then(|head| head.logits(x.view(), None, keys.as_deref()));
        Ok(Outputs {
            logits,
            top_k,
            class_logits,
            ..rec.encoder_outputs(x)
        })
    }
}

/// Each layer's attention: `layer_types` when saved, else every `global_attn_every_n_layers`-th
/// layer from the first attends to every key (3 when left out) and the rest to a band.
fn layer_types(cfg: &ModernBertConfig) -> Result<Vec<String>> {
    let l = cfg.num_hidden_layers;
    let types = match &cfg.layer_types {
        Some(types) if types.len() != l => {
            return Err(Error::config("layer_types", format!("has {} entries for {l} layers", types.len()), "Use the config.json saved with the weights"))
        }
        Some(types) => types.clone(),
        None => {
            let every = cfg.global_attn_every_n_layers.unwrap_or(DEFAULT_GLOBAL_EVERY);
            if every == 0 {
                return Err(Error::config("global_attn_every_n_layers", "is 0, on which transformers fails", "Use the config.json saved with the weights (ModernBERT's is 3)"));
            }
            (0..l).map(|i| if i % every != 0 { "sliding_attention".into() } else { "full_attention".into() }).collect()
        }
    };
    if let Some(other) = types.iter().find(|t| !matches!(t.as_str(), "full_attention" | "sliding_attention")) {
        return Err(Error::config("layer_types", format!("contains \"{other}\""), "ModernBERT's layers are full_attention or sliding_attention"));
    }
    Ok(types)
}

/// The two rotations, as `ModernBertConfig` reads them: `rope_parameters` keyed by layer type
/// (transformers 5), or the older `global_rope_theta` / `local_rope_theta` (160,000 and 10,000
/// when left out), with a `rope_scaling` applying to both.
fn rotaries(raw: &Map<String, Value>, d_head: usize, max_positions: usize) -> Result<(Rotary, Rotary)> {
    let full = Rotary::for_layer_type(raw, d_head, max_positions, "ModernBERT", ("full_attention", "global_rope_theta", GLOBAL_ROPE_THETA), true)?;
    let band = Rotary::for_layer_type(raw, d_head, max_positions, "ModernBERT", ("sliding_attention", "local_rope_theta", LOCAL_ROPE_THETA), true)?;
    Ok((full, band))
}

super::family::impl_encoder_forward!(ModernBert, ModernBert::forward);

impl super::Family for ModernBert {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Result<Array2<f32>> {
        ModernBert::lens(self, x, last).ok_or_else(|| {
            Error::input("this ModernBERT checkpoint has no masked-LM head to read hidden states with", "Load the ModernBertForMaskedLM checkpoint, not the base model")
        })
    }
    fn position_rows(&self, _stack: super::Stack, _n: usize) -> Option<&[f32]> {
        None // rotary: see Model::rotary_angles
    }
    fn token_table(&self, _stack: super::Stack) -> (TokenTable<'_>, usize, f32) {
        (ModernBert::token_table(self), self.config.vocab_size, 1.0)
    }
}

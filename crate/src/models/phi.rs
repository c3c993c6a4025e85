//! Phi (`PhiForCausalLM`, `PhiModel`): Microsoft's phi-1, phi-1.5 and phi-2. One LayerNorm per
//! layer feeds attention and the MLP side by side, rotary positions turn only part of each head,
//! and every projection, the LM head included, has a bias.
//!
//! Reference semantics: Hugging Face `transformers/models/phi/modeling_phi.py` (5.x).
//!
//! ```text
//! x = embed[ids]                                                      # [T][C], no position vectors
//! for each layer:
//!     a = LN(x)                                   # one norm, read by both branches
//!     q = Wq a;  k = Wk a;  v = Wv a              # q [T][H·D], k v [T][KV·D], with biases
//!     (qk_layernorm) q, k = LN_q(q), LN_k(k) per head
//!     q, k = rotate the first R of each head's D dimensions (R = D · partial_rotary_factor, 0.5 by default)
//!     x = x + W_dense attn(q, k, v) + fc2(act(fc1 a))        (causal; grouped-query when KV < H)
//! logits = lm_head(LN_final(x))                   # its own matrix and a bias (the matrix tied when asked)
//! ```
//!
//! GPT-NeoX's parallel block (`gpt_neox.rs`) is the nearest relative: it has two norms, one per
//! branch, where Phi has one for both.
//!
//! Checkpoint names (`model.` before them under the causal-LM head):
//!
//! | name | shape |
//! |------|-------|
//! | `embed_tokens.weight` | [V][C] |
//! | `layers.{l}.input_layernorm.{weight,bias}` | [C] |
//! | `layers.{l}.self_attn.q_proj.{weight,bias}` | [H·D][C], [H·D] |
//! | `layers.{l}.self_attn.{k,v}_proj.{weight,bias}` | [KV·D][C], [KV·D] |
//! | `layers.{l}.self_attn.{q,k}_layernorm.{weight,bias}` | [D] (`qk_layernorm`) |
//! | `layers.{l}.self_attn.dense.{weight,bias}` | [C][H·D], [C] |
//! | `layers.{l}.mlp.fc1.*`, `layers.{l}.mlp.fc2.*` | [F][C], [F]; [C][F], [C] |
//! | `final_layernorm.{weight,bias}` | [C] |
//! | `lm_head.{weight,bias}` (never prefixed) | [V][C], [V] |

use super::activations::{self, flat_mut};
use super::attention::{attend, KvCache, Mask, Recorder};
use super::decoder_only::{self, DecoderOnly};
use super::layers::{add_in_place, linear, Activation, LayerNorm, TokenTable};
use super::rotary::{Rotary, RotaryAngles};
use super::{Kind, ModelInfo, Positions};
use crate::error::{Error, Result};
use crate::kernels::Linear;
use crate::loader::limits::MAX_DIM;
use crate::loader::{parse_json, Weights};
use ndarray::{Array2, ArrayView2};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The fields of a Phi config.json that change the computation (the rotary keys are read by
/// [`Rotary::from_config_partial`]).
#[derive(Debug, Clone, Deserialize)]
pub struct PhiConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    /// Left out or null: the query heads.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f32,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// A LayerNorm on each head's query and key, before the rotation.
    #[serde(default)]
    pub qk_layernorm: bool,
    #[serde(default)]
    pub bos_token_id: Option<Value>,
    #[serde(default)]
    pub eos_token_id: Option<Value>,
    #[serde(default)]
    pub pad_token_id: Option<Value>,
}

fn default_act() -> String {
    "gelu_new".into()
}
fn default_positions() -> usize {
    2048
}
fn default_eps() -> f32 {
    1e-5
}

/// PhiConfig's `partial_rotary_factor` when the config gives none: half of each head turns.
const DEFAULT_PARTIAL_ROTARY_FACTOR: f64 = 0.5;
/// PhiConfig's special ids when config.json leaves the keys out.
const DEFAULT_BOS: u32 = 1;
const DEFAULT_EOS: u32 = 2;

struct Block {
    ln: LayerNorm,    // [C], read by attention and the MLP alike
    q_proj: Linear,   // C -> H·D
    k_proj: Linear,   // C -> KV·D
    v_proj: Linear,   // C -> KV·D
    /// `qk_layernorm`: each head's query and key normalised (`[D]` each) before the rotation.
    qk_norm: Option<(LayerNorm, LayerNorm)>,
    dense: Linear,    // H·D -> C
    fc1: Linear,      // C -> F
    fc2: Linear,      // F -> C
}

pub struct Phi {
    pub config: PhiConfig,
    pub info: ModelInfo,
    pub rotary: Rotary,
    pub n_kv_heads: usize, // KV
    pub d_head: usize,     // D
    embed: Linear,         // [V][C] as a bias-free C -> V layer: the rows, and the head's matrix when tied
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    /// The LM head's own matrix (C -> V) when untied; `None` when tied or when the file has no head.
    lm_head: Option<Linear>,
    /// `lm_head.bias` `[V]`, present whenever there is a head.
    lm_bias: Option<Vec<f32>>,
    activation: Activation,
}

impl Phi {
    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        let cfg: PhiConfig = parse_json("config.json", config_json)?;
        let raw: Map<String, Value> = parse_json("config.json", config_json)?;
        let (v, c, l, h, f) = (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size);
        if h == 0 || c < h {
            return Err(Error::config("num_attention_heads", format!("is {h} for a hidden_size of {c}: each head needs at least one dimension"), "Use the config.json saved with the weights"));
        }
        let kv = cfg.num_key_value_heads.unwrap_or(h);
        if kv == 0 || h % kv != 0 {
            return Err(Error::config(
                "num_key_value_heads",
                format!("is {kv}, but the {h} query heads must split evenly into groups sharing one key/value head"),
                "Use the config.json saved with the weights",
            ));
        }
        // PhiAttention: `head_dim` if the config has one, else hidden_size // heads (rounded down).
        let d = match cfg.head_dim {
            Some(d) if d == 0 || d as u64 > MAX_DIM => return Err(Error::config("head_dim", format!("is {d}, outside 1 to {MAX_DIM}"), "Use the config.json saved with the weights")),
            Some(d) => d,
            None => c / h,
        };
        if cfg.qk_layernorm && d != c / h {
            // HF sizes those norms hidden_size // heads and fails on any other head width.
            return Err(Error::config("head_dim", format!("is {d}, but qk_layernorm normalises hidden_size / heads = {} numbers per head", c / h), "Use the config.json saved with the weights"));
        }
        let activation = Activation::from_config("hidden_act", &cfg.hidden_act)?;
        let rotary = Rotary::from_config_partial(&phi_rope_keys(&raw), d, cfg.max_position_embeddings)?;
        let w = weights.with_prefixes(&["model."]);
        let eps = cfg.layer_norm_eps;
        let blocks = (0..l)
            .map(|i| {
                let n = format!("layers.{i}");
                Ok(Block {
                    ln: LayerNorm::load(&w, &format!("{n}.input_layernorm"), c, eps)?,
                    q_proj: linear(&w, &format!("{n}.self_attn.q_proj"), c, h * d, true)?,
                    k_proj: linear(&w, &format!("{n}.self_attn.k_proj"), c, kv * d, true)?,
                    v_proj: linear(&w, &format!("{n}.self_attn.v_proj"), c, kv * d, true)?,
                    qk_norm: match cfg.qk_layernorm {
                        true => Some((LayerNorm::load(&w, &format!("{n}.self_attn.q_layernorm"), d, eps)?, LayerNorm::load(&w, &format!("{n}.self_attn.k_layernorm"), d, eps)?)),
                        false => None,
                    },
                    dense: linear(&w, &format!("{n}.self_attn.dense"), h * d, c, true)?,
                    fc1: linear(&w, &format!("{n}.mlp.fc1"), c, f, true)?,
                    fc2: linear(&w, &format!("{n}.mlp.fc2"), f, c, true)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let table = super::layers::tied_table_name(&w, "embed_tokens.weight", "lm_head.weight", cfg.tie_word_embeddings);
        let embed = super::layers::token_table(&w, table, v, c)?;
        let ln_f = LayerNorm::load(&w, "final_layernorm", c, eps)?;
        // Tied: the head's matrix is the table (unless the file stores one that differs, which HF 5
        // leaves untied); its bias is always its own. Untied and absent: a base PhiModel, no logits.
        let tied = cfg.tie_word_embeddings && !super::layers::stored_head_differs(&w, "lm_head.weight", table, v, c)?;
        let has_head = tied || w.contains("lm_head.weight") || matches!(w, Weights::Random { .. });
        let lm_head = match has_head && !tied {
            true => Some(super::layers::token_table(&w, "lm_head.weight", v, c)?),
            false => None,
        };
        let lm_bias = match has_head {
            true => Some(w.get("lm_head.bias", &[v])?),
            false => None,
        };
        let per_layer = 2 * c
            + (c * h * d + h * d)
            + 2 * (c * kv * d + kv * d)
            + if cfg.qk_layernorm { 4 * d } else { 0 }
            + (h * d * c + c)
            + (c * f + f)
            + (f * c + c);
        let n_params = v * c + 2 * c + l * per_layer + lm_head.as_ref().map_or(0, Linear::n_params) + lm_bias.as_ref().map_or(0, Vec::len);
        let id = |key: &str, value: &Option<Value>, default: Option<u32>| -> Result<Option<u32>> {
            match raw.contains_key(key) {
                true => super::llama::token_id(key, value),
                false => Ok(default),
            }
        };
        let info = ModelInfo {
            model_type: "phi".into(),
            kind: Kind::DecoderOnly,
            positions: Positions::Rotary,
            n_layers: l,
            n_decoder_layers: l,
            n_heads: h,
            d_model: c,
            d_ff: f,
            vocab_size: v,
            max_positions: Some(cfg.max_position_embeddings),
            n_params,
            has_lm_head: has_head,
            bos_token_id: id("bos_token_id", &cfg.bos_token_id, Some(DEFAULT_BOS))?,
            eos_token_id: id("eos_token_id", &cfg.eos_token_id, Some(DEFAULT_EOS))?,
            pad_token_id: id("pad_token_id", &cfg.pad_token_id, None)?,
            decoder_start_token_id: None,
        };
        Ok(Phi { config: cfg, info, rotary, n_kv_heads: kv, d_head: d, embed, blocks, ln_f, lm_head, lm_bias, activation })
    }

    pub fn head_is_embedding_table(&self) -> bool {
        if self.info.has_lm_head { self.lm_head.is_none() } else { self.config.tie_word_embeddings }
    }

    pub fn has_qk_norm(&self) -> bool {
        self.config.qk_layernorm
    }

    pub fn rotary_angles(&self, n: usize) -> RotaryAngles {
        self.rotary.angles(n)
    }

    /// Run `ids` at positions `past..past+T` through every layer, reading and extending `caches`.
    /// Returns the hidden state after the final norm: `[T][C]`.
    fn run(&self, ids: &[u32], caches: &mut [KvCache], recorder: &mut Recorder) -> Result<Array2<f32>> {
        let (c, h, kv, d) = (self.config.hidden_size, self.config.num_attention_heads, self.n_kv_heads, self.d_head);
        let t = ids.len();
        let past = caches.first().map_or(0, KvCache::len);
        if past + t > self.config.max_position_embeddings {
            return Err(Error::input(
                format!("the sequence would be {} tokens long but this model has positions for only {} (max_position_embeddings)", past + t, self.config.max_position_embeddings),
                "Shorten the prompt or generate fewer tokens",
            ));
        }
        let mut x = activations::embed(&TokenTable::Packed(&self.embed), c, ids); // [T][C]
        let turn = self.rotary.cos_sin(past, t);
        let scale = 1.0 / (d as f32).sqrt();
        for (l, (block, cache)) in self.blocks.iter().zip(caches.iter_mut()).enumerate() {
            recorder.hidden_state(&x);
            let a = activations::layer_norm(&block.ln, &x); // [T][C]
            let mut q = activations::linear(&block.q_proj, a.view()); // [T][H·D]
            let mut k = activations::linear(&block.k_proj, a.view()); // [T][KV·D]
            let v = activations::linear(&block.v_proj, a.view()); // [T][KV·D]
            if let Some((q_norm, k_norm)) = &block.qk_norm {
                q_norm.apply(flat_mut(&mut q)); // every D-wide head slice on its own
                k_norm.apply(flat_mut(&mut k));
            }
            turn.rotate_rows(&mut q);
            turn.rotate_rows(&mut k);
            cache.append(k.view(), v.view());
            recorder.kv_heads(l, kv);
            let ctx = attend(q.view(), cache.keys(), cache.values(), h, d, scale, Mask::Causal { past }, None, recorder.layer(l));
            cache.layer_done();
            let attn = activations::linear(&block.dense, ctx.view()); // [T][C]
            recorder.trace_io(l, &a, &attn);
            // HF: attn + mlp + residual, both branches from the same norm.
            let mut hidden = activations::linear(&block.fc1, a.view()); // [T][F]
            self.activation.apply(flat_mut(&mut hidden));
            let mut out = attn;
            out += &activations::linear(&block.fc2, hidden.view());
            out += &x;
            x = out;
        }
        self.ln_f.apply(flat_mut(&mut x));
        recorder.hidden_state(&x);
        Ok(x)
    }

    fn lm_logits(&self, x: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        let bias = self.lm_bias.as_ref()?;
        let mut logits = activations::linear(self.lm_head.as_ref().unwrap_or(&self.embed), x); // [T][V]
        for mut row in logits.rows_mut() {
            add_in_place(row.as_slice_mut().expect("standard layout"), bias);
        }
        Some(logits)
    }

    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Option<Array2<f32>> {
        if last {
            return self.lm_logits(x);
        }
        self.lm_logits(activations::layer_norm(&self.ln_f, &x.to_owned()).view())
    }
}

/// PhiConfig's rotary keys in the names [`Rotary`] reads: half of each head turns when neither the
/// top level nor `rope_parameters`/`rope_scaling` says how much.
fn phi_rope_keys(raw: &Map<String, Value>) -> Map<String, Value> {
    with_partial_default(raw, DEFAULT_PARTIAL_ROTARY_FACTOR)
}

/// `raw` with `partial_rotary_factor` set to the config class's `factor` when neither the top level
/// nor the rotary settings give one (Phi's 0.5, StableLM's 0.25).
pub(crate) fn with_partial_default(raw: &Map<String, Value>, factor: f64) -> Map<String, Value> {
    let mut cfg = raw.clone();
    let given = |m: &Map<String, Value>| m.get("partial_rotary_factor").is_some_and(|v| !v.is_null());
    let inside = ["rope_scaling", "rope_parameters"].iter().any(|key| matches!(raw.get(*key), Some(Value::Object(m)) if given(m)));
    if !given(raw) && !inside {
        cfg.insert("partial_rotary_factor".into(), Value::from(factor));
    }
    cfg
}

impl DecoderOnly for Phi {
    fn decoder_shape(&self) -> (usize, usize) {
        (self.config.num_hidden_layers, self.config.num_attention_heads)
    }
    fn run(&self, ids: &[u32], caches: &mut [KvCache], rec: &mut Recorder) -> Result<Array2<f32>> {
        Phi::run(self, ids, caches, rec)
    }
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        Phi::lm_logits(self, h)
    }
    fn check_can_generate(&self) -> Result<()> {
        if !self.info.has_lm_head {
            return Err(Error::input(
                "this checkpoint has no LM head (lm_head.weight) and tie_word_embeddings is false, so it cannot predict tokens",
                "Load the PhiForCausalLM checkpoint",
            ));
        }
        Ok(())
    }
}

decoder_only::impl_forward!(Phi);

impl super::Family for Phi {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Result<Array2<f32>> {
        Phi::lens(self, x, last).ok_or_else(|| Error::input("this checkpoint has no LM head to read hidden states with", "Load the PhiForCausalLM checkpoint (with lm_head.weight)"))
    }
    fn position_rows(&self, _stack: super::Stack, _n: usize) -> Option<&[f32]> {
        None // rotary: see Model::rotary_angles
    }
    fn token_table(&self, _stack: super::Stack) -> (TokenTable<'_>, usize, f32) {
        (TokenTable::Packed(&self.embed), self.config.vocab_size, 1.0)
    }
}

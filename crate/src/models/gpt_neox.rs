//! GPT-NeoX (`GPTNeoXForCausalLM`, `GPTNeoXModel`): EleutherAI's decoder, the network of the Pythia
//! suite (70M to 12B, trained on the same data in the same order: a favourite of interpretability
//! work). Pre-LayerNorm blocks with biases, rotary positions on only the first part of each head,
//! and, by default, attention and the MLP reading the same input side by side.
//!
//! Reference semantics: Hugging Face `transformers/models/gpt_neox/modeling_gpt_neox.py` (5.x).
//!
//! ```text
//! x = embed_in[ids]                                                   # [T][C], no position vectors
//! for each layer:
//!     q, k, v = split_per_head(W_qkv LN_1(x))      # the fused rows are [H][3][D]: head h's q, k, v together
//!     q, k = rotate the first R of each head's D dimensions (R = D · partial_rotary_factor)
//!     a = W_o attn(q, k, v)                                           (causal)
//!     parallel (use_parallel_residual):  x = x + a + mlp(LN_2(x))
//!     else:                              x = x + a;  x = x + mlp(LN_2(x))
//! logits = embed_out(LN_final(x))                  (embed_out: its own matrix unless tied)
//! ```
//!
//! Checkpoint names (`gpt_neox.` before the model's under the causal-LM head):
//!
//! | name | shape |
//! |------|-------|
//! | `embed_in.weight` | [V][C] |
//! | `layers.{l}.{input,post_attention}_layernorm.{weight,bias}` | [C] |
//! | `layers.{l}.attention.query_key_value.{weight,bias}` | [3C][C], [3C] (`attention_bias`) |
//! | `layers.{l}.attention.dense.{weight,bias}` | [C][C], [C] (`attention_bias`) |
//! | `layers.{l}.mlp.dense_h_to_4h.*`, `layers.{l}.mlp.dense_4h_to_h.*` | [F][C], [F]; [C][F], [C] |
//! | `final_layer_norm.{weight,bias}` | [C] |
//! | `embed_out.weight` (never prefixed; `lm_head.weight` read when it is absent, as HF 5 renames it) | [V][C] (unused when tied) |

use super::activations::{self, flat_mut};
use super::attention::{attend, KvCache, Mask, Recorder};
use super::decoder_only::{self, DecoderOnly};
use super::layers::{linear, Activation, LayerNorm, TokenTable};
use super::rotary::{Rotary, RotaryAngles};
use super::{Kind, ModelInfo, Positions};
use crate::error::{Error, Result};
use crate::kernels::Linear;
use crate::loader::{parse_json, Weights};
use ndarray::{Array2, ArrayView2};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The fields of a GPT-NeoX config.json that change the computation (the rotary keys are read by
/// [`Rotary::from_config_partial`], with GPT-NeoX's own names for them).
#[derive(Debug, Clone, Deserialize)]
pub struct GptNeoXConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f32,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default = "yes")]
    pub use_parallel_residual: bool,
    #[serde(default = "yes")]
    pub attention_bias: bool,
    #[serde(default)]
    pub bos_token_id: Option<Value>,
    #[serde(default)]
    pub eos_token_id: Option<Value>,
    #[serde(default)]
    pub pad_token_id: Option<Value>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_positions() -> usize {
    2048
}
fn default_eps() -> f32 {
    1e-5
}
fn yes() -> bool {
    true
}

/// GPTNeoXConfig's `rotary_pct` when neither it nor `partial_rotary_factor` is given.
const DEFAULT_ROTARY_PCT: f64 = 0.25;
const DEFAULT_ROTARY_BASE: f64 = 10_000.0;

/// A GPT-NeoX-style layer (BLOOM's too): two LayerNorms, q/k/v fused per head, an MLP of two matrices.
pub(crate) struct Block {
    pub ln_1: LayerNorm,
    pub qkv: Linear, // C -> 3C, rows [H][3][D]
    pub dense: Linear, // C -> C
    pub ln_2: LayerNorm,
    pub fc_in: Linear,  // C -> F
    pub fc_out: Linear, // F -> C
}

impl Block {
    /// Layer `n` (e.g. `layers.3`), its attention module called `attention` (GPT-NeoX: `attention`,
    /// BLOOM: `self_attention`): `input_layernorm`, `{attention}.query_key_value` and `.dense` (with
    /// biases when `attention_bias`), `post_attention_layernorm`, `mlp.dense_h_to_4h`, `mlp.dense_4h_to_h`.
    pub(crate) fn load(w: &Weights, n: &str, attention: &str, (c, f): (usize, usize), eps: f32, attention_bias: bool) -> Result<Self> {
        Ok(Block {
            ln_1: LayerNorm::load(w, &format!("{n}.input_layernorm"), c, eps)?,
            qkv: linear(w, &format!("{n}.{attention}.query_key_value"), c, 3 * c, attention_bias)?,
            dense: linear(w, &format!("{n}.{attention}.dense"), c, c, attention_bias)?,
            ln_2: LayerNorm::load(w, &format!("{n}.post_attention_layernorm"), c, eps)?,
            fc_in: linear(w, &format!("{n}.mlp.dense_h_to_4h"), c, f, true)?,
            fc_out: linear(w, &format!("{n}.mlp.dense_4h_to_h"), f, c, true)?,
        })
    }
}

pub struct GptNeoX {
    pub config: GptNeoXConfig,
    pub info: ModelInfo,
    pub rotary: Rotary,
    embed: Linear, // [V][C] as a bias-free C -> V layer: the rows, and the head when tied
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    embed_out: Option<Linear>, // C -> V when untied
    activation: Activation,
}

impl GptNeoX {
    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        let cfg: GptNeoXConfig = parse_json("config.json", config_json)?;
        let raw: Map<String, Value> = parse_json("config.json", config_json)?;
        let (v, c, l, h, f) = (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size);
        if h == 0 || c % h != 0 {
            // GPTNeoXConfig validates this.
            return Err(Error::config("num_attention_heads", format!("hidden_size {c} is not divisible by {h} heads"), "Use the config.json saved with the weights"));
        }
        let d = c / h;
        let activation = Activation::from_config("hidden_act", &cfg.hidden_act)?;
        // `head_dim` is no GPTNeoXConfig key, but the rotary embedding reads one from config.json
        // (`getattr(config, "head_dim", None) or hidden_size // heads`): the rotation's width and
        // frequencies follow it, while attention keeps heads `hidden_size / heads` wide.
        let rope_width = raw.get("head_dim").and_then(Value::as_u64).filter(|&n| n > 0).map_or(d, |n| n as usize);
        let mut rotary = Rotary::from_config_partial(&neox_rope_keys(&raw), rope_width, cfg.max_position_embeddings)?;
        if rotary.rotary_dims > d {
            // transformers fails: the rotation is wider than the head.
            return Err(Error::config("head_dim", format!("is {rope_width}, which turns {} dimensions of heads {d} wide", rotary.rotary_dims), "Remove head_dim: GPT-NeoX's heads are hidden_size / num_attention_heads wide"));
        }
        rotary.d_head = d;
        let w = weights.with_prefixes(&["gpt_neox."]);
        let eps = cfg.layer_norm_eps;
        let bias = cfg.attention_bias;
        let blocks = (0..l).map(|i| Block::load(&w, &format!("layers.{i}"), "attention", (c, f), eps, bias)).collect::<Result<Vec<_>>>()?;
        // transformers 5 renames `embed_out` to `lm_head` as it loads (its conversion mapping), so a
        // file may store the head under either name.
        let head = if !w.contains("embed_out.weight") && w.contains("lm_head.weight") { "lm_head.weight" } else { "embed_out.weight" };
        let table = super::layers::tied_table_name(&w, "embed_in.weight", head, cfg.tie_word_embeddings);
        let embed = super::layers::token_table(&w, table, v, c)?;
        let ln_f = LayerNorm::load(&w, "final_layer_norm", c, eps)?;
        let tied = cfg.tie_word_embeddings && !super::layers::stored_head_differs(&w, head, table, v, c)?;
        let embed_out = match tied {
            true => None,
            false if w.contains(head) || matches!(w, Weights::Random { .. }) => Some(super::layers::token_table(&w, head, v, c)?),
            false => None,
        };
        let has_head = tied || embed_out.is_some();
        let biases = if bias { 3 * c + c } else { 0 };
        let per_layer = 4 * c + 3 * c * c + c * c + biases + (c * f + f) + (f * c + c);
        let n_params = v * c + 2 * c + l * per_layer + embed_out.as_ref().map_or(0, Linear::n_params);
        let id = |value: &Option<Value>| match value {
            Some(Value::Array(items)) => items.first().and_then(Value::as_u64),
            Some(v) => v.as_u64(),
            None => None,
        }
        .and_then(|n| u32::try_from(n).ok());
        let info = ModelInfo {
            model_type: "gpt_neox".into(),
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
            bos_token_id: id(&cfg.bos_token_id),
            eos_token_id: id(&cfg.eos_token_id),
            pad_token_id: id(&cfg.pad_token_id),
            decoder_start_token_id: None,
        };
        Ok(GptNeoX { config: cfg, info, rotary, embed, blocks, ln_f, embed_out, activation })
    }

    pub fn head_is_embedding_table(&self) -> bool {
        if self.info.has_lm_head { self.embed_out.is_none() } else { self.config.tie_word_embeddings }
    }

    pub fn rotary_angles(&self, n: usize) -> RotaryAngles {
        self.rotary.angles(n)
    }

    /// Run `ids` at positions `past..past+T` through every layer, reading and extending `caches`.
    /// Returns the hidden state after the final norm: `[T][C]`.
    fn run(&self, ids: &[u32], caches: &mut [KvCache], recorder: &mut Recorder) -> Result<Array2<f32>> {
        let (c, h) = (self.config.hidden_size, self.config.num_attention_heads);
        let d = c / h;
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
            let a = activations::layer_norm(&block.ln_1, &x); // [T][C]
            let qkv = activations::linear(&block.qkv, a.view()); // [T][3C], per head [q | k | v]
            let (mut q, mut k, v) = split_per_head(&qkv, h, d); // [T][C] each
            turn.rotate_rows(&mut q);
            turn.rotate_rows(&mut k);
            cache.append(k.view(), v.view());
            let ctx = attend(q.view(), cache.keys(), cache.values(), h, d, scale, Mask::Causal { past }, None, recorder.layer(l));
            cache.layer_done();
            let attn = activations::linear(&block.dense, ctx.view()); // [T][C]
            recorder.trace_io(l, &a, &attn);
            if self.config.use_parallel_residual {
                // x = x + attn(LN_1 x) + mlp(LN_2 x), both from the same x, in HF's order: mlp + attn + x.
                let mut out = self.mlp(block, &activations::layer_norm(&block.ln_2, &x));
                out += &attn;
                out += &x;
                x = out;
            } else {
                // HF: a = attn + x, then mlp(LN_2 a) + a.
                let mut a = attn;
                a += &x;
                let mut out = self.mlp(block, &activations::layer_norm(&block.ln_2, &a));
                out += &a;
                x = out;
            }
        }
        self.ln_f.apply(flat_mut(&mut x));
        recorder.hidden_state(&x);
        Ok(x)
    }

    /// `W_out act(W_in m)`: `[T][C]` -> `[T][C]`.
    fn mlp(&self, block: &Block, m: &Array2<f32>) -> Array2<f32> {
        let mut hidden = activations::linear(&block.fc_in, m.view()); // [T][F]
        self.activation.apply(flat_mut(&mut hidden));
        activations::linear(&block.fc_out, hidden.view())
    }

    fn lm_logits(&self, x: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        if !self.info.has_lm_head {
            return None;
        }
        Some(activations::linear(self.embed_out.as_ref().unwrap_or(&self.embed), x))
    }

    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Option<Array2<f32>> {
        if last {
            return self.lm_logits(x);
        }
        self.lm_logits(activations::layer_norm(&self.ln_f, &x.to_owned()).view())
    }
}

/// GPT-NeoX's fused projection `[T][3C]`, whose columns are `[H][3][D]` (each head's q, k and v
/// side by side), as three `[T][C]` arrays with the heads in order.
pub(crate) fn split_per_head(qkv: &Array2<f32>, h: usize, d: usize) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
    let t = qkv.nrows();
    let c = h * d;
    let (mut q, mut k, mut v) = (Array2::zeros((t, c)), Array2::zeros((t, c)), Array2::zeros((t, c)));
    let rows = qkv.as_slice().expect("standard layout");
    for (i, row) in rows.chunks_exact(3 * c).enumerate() {
        for (head, part) in row.chunks_exact(3 * d).enumerate() {
            let at = head * d..(head + 1) * d;
            q.row_mut(i).as_slice_mut().expect("row-major")[at.clone()].copy_from_slice(&part[..d]);
            k.row_mut(i).as_slice_mut().expect("row-major")[at.clone()].copy_from_slice(&part[d..2 * d]);
            v.row_mut(i).as_slice_mut().expect("row-major")[at].copy_from_slice(&part[2 * d..]);
        }
    }
    (q, k, v)
}

/// GPTNeoXConfig's rotary keys in the names [`Rotary`] reads: transformers 5's `rope_parameters`
/// as they are; transformers 4's `rotary_emb_base` and `rotary_pct` (0.25 when left out, and
/// 10,000) filled in where it has none, as the config class does (`rope_scaling` wins over both).
fn neox_rope_keys(raw: &Map<String, Value>) -> Map<String, Value> {
    let mut params = match (raw.get("rope_scaling"), raw.get("rope_parameters")) {
        (Some(Value::Object(m)), _) if !m.is_empty() => m.clone(),
        (_, Some(Value::Object(m))) => m.clone(),
        _ => Map::new(),
    };
    let given = |key: &str| raw.get(key).filter(|v| !v.is_null()).cloned();
    if !params.contains_key("rope_theta") {
        params.insert("rope_theta".into(), given("rotary_emb_base").unwrap_or(Value::from(DEFAULT_ROTARY_BASE)));
    }
    if !params.contains_key("partial_rotary_factor") {
        params.insert("partial_rotary_factor".into(), given("rotary_pct").unwrap_or(Value::from(DEFAULT_ROTARY_PCT)));
    }
    let mut cfg = raw.clone();
    cfg.remove("rope_scaling");
    cfg.insert("rope_parameters".into(), Value::Object(params));
    cfg
}

impl DecoderOnly for GptNeoX {
    fn decoder_shape(&self) -> (usize, usize) {
        (self.config.num_hidden_layers, self.config.num_attention_heads)
    }
    fn run(&self, ids: &[u32], caches: &mut [KvCache], rec: &mut Recorder) -> Result<Array2<f32>> {
        GptNeoX::run(self, ids, caches, rec)
    }
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        GptNeoX::lm_logits(self, h)
    }
    fn check_can_generate(&self) -> Result<()> {
        if !self.info.has_lm_head {
            return Err(Error::input(
                "this checkpoint has no LM head (embed_out.weight) and tie_word_embeddings is false, so it cannot predict tokens",
                "Load the GPTNeoXForCausalLM checkpoint",
            ));
        }
        Ok(())
    }
}

decoder_only::impl_forward!(GptNeoX);

impl super::Family for GptNeoX {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Result<Array2<f32>> {
        GptNeoX::lens(self, x, last).ok_or_else(|| Error::input("this checkpoint has no LM head to read hidden states with", "Load the GPTNeoXForCausalLM checkpoint (with embed_out.weight)"))
    }
    fn position_rows(&self, _stack: super::Stack, _n: usize) -> Option<&[f32]> {
        None // rotary: see Model::rotary_angles
    }
    fn token_table(&self, _stack: super::Stack) -> (TokenTable<'_>, usize, f32) {
        (TokenTable::Packed(&self.embed), self.config.vocab_size, 1.0)
    }
}

//! BLOOM (`BloomForCausalLM`, `BloomModel`: bloom-560m to 176b, bloomz): a pre-LayerNorm decoder
//! with no position table at all. Positions come from ALiBi ("attention with linear biases"): each
//! head subtracts its own fixed slope times the distance from every score, so a key `n` tokens back
//! loses `m_h · n`.
//!
//! Reference semantics: Hugging Face `transformers/models/bloom/modeling_bloom.py`.
//!
//! ```text
//! x = LN_emb(word[ids])                                             # [T][C]
//! for each layer:
//!     a = LN_1(x);  q, k, v = split_per_head(W_qkv a)               # the fused rows are [H][3][D]
//!     score[h][i][j] = q_i·k_j / sqrt(D) - m_h · (i - j)            (causal)
//!     r = a if apply_residual_connection_post_layernorm else x
//!     x = r + W_o attn
//!     m = LN_2(x);  r = m if apply_residual_connection_post_layernorm else x
//!     x = r + W_out gelu_tanh(W_in m)
//! logits = LN_f(x) · wordᵀ                                          (tied)
//! ```
//!
//! HF adds `m_h · j` (the key's position) rather than `-m_h · (i - j)`: the two differ by `m_h · i`
//! in every score of row `i`, which the softmax cancels. Glassbox adds the distance form, the one
//! the ALiBi paper gives and the page explains, so the scores it shows are the paper's.
//!
//! Checkpoint names (`transformer.` before the model's under the causal-LM head):
//!
//! | name | shape |
//! |------|-------|
//! | `word_embeddings.weight` | [V][C] |
//! | `word_embeddings_layernorm.{weight,bias}` | [C] |
//! | `h.{l}.input_layernorm`, `h.{l}.post_attention_layernorm` | [C] |
//! | `h.{l}.self_attention.query_key_value.{weight,bias}` | [3C][C], [3C] |
//! | `h.{l}.self_attention.dense.{weight,bias}` | [C][C], [C] |
//! | `h.{l}.mlp.dense_h_to_4h.*`, `h.{l}.mlp.dense_4h_to_h.*` | [4C][C], [4C]; [C][4C], [C] |
//! | `ln_f.{weight,bias}` | [C] |
//! | `lm_head.weight` (never prefixed; tied: the word embeddings) | [V][C] |

use super::activations::{self, flat_mut};
use super::attention::{attend, KvCache, Mask, Recorder};
use super::decoder_only::{self, DecoderOnly};
use super::gpt_neox::{split_per_head, Block};
use super::layers::{Activation, LayerNorm, TokenTable};
use super::{Kind, ModelInfo, Positions};
use crate::error::{Error, Result};
use crate::kernels::Linear;
use crate::loader::{parse_json, Weights};
use ndarray::{Array2, Array3, ArrayView2};
use serde::Deserialize;

/// The keys of BLOOM's config.json that change the numbers. Sizes may come under either of two
/// names (BloomConfig's `attribute_map`, and `n_embed`, which old configs use and which wins over
/// `hidden_size`); left-out keys take BloomConfig's defaults.
#[derive(Debug, Clone, Deserialize)]
pub struct BloomConfig {
    #[serde(default = "default_vocab")]
    pub vocab_size: usize,
    #[serde(default)]
    hidden_size: Option<usize>,
    #[serde(default)]
    n_embed: Option<usize>,
    /// `num_hidden_layers` and `num_attention_heads` (BloomConfig's aliases) are written here by
    /// `models::shared_keys`, winning over these as in transformers.
    #[serde(default)]
    n_layer: Option<usize>,
    #[serde(default)]
    n_head: Option<usize>,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f32,
    #[serde(default)]
    pub apply_residual_connection_post_layernorm: bool,
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
    #[serde(default = "default_bos", deserialize_with = "crate::loader::one_id")]
    pub bos_token_id: Option<u32>,
    #[serde(default = "default_eos", deserialize_with = "crate::loader::one_id")]
    pub eos_token_id: Option<u32>,
    #[serde(default, deserialize_with = "crate::loader::one_id")]
    pub pad_token_id: Option<u32>,
    /// With `slow_but_exact`, transformers runs two matrices slice by slice (refused below).
    #[serde(default = "one")]
    pretraining_tp: u64,
    #[serde(default)]
    slow_but_exact: bool,
}

fn one() -> u64 {
    1
}

fn default_vocab() -> usize {
    250_880
}
fn default_eps() -> f32 {
    1e-5
}
fn yes() -> bool {
    true
}
fn default_bos() -> Option<u32> {
    Some(1)
}
fn default_eos() -> Option<u32> {
    Some(2)
}

impl BloomConfig {
    /// `(width, layers, heads)` as BloomConfig reads them (64, 2, 8 when left out).
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.n_embed.or(self.hidden_size).unwrap_or(64), self.n_layer.unwrap_or(2), self.n_head.unwrap_or(8))
    }
}

/// Each head's ALiBi slope, as HF's `_get_alibi_slopes` computes them (in f32): for the largest power
/// of two `P <= H` heads, `b^1, b^2, ..., b^P` with `b = 2^(-8/P)`; the remaining heads take every other
/// power of the next sequence (`B = 2^(-4/P)`: `B^1, B^3, ...`), so the slopes interleave.
pub fn alibi_slopes(heads: usize) -> Vec<f32> {
    if heads == 0 {
        return Vec::new();
    }
    let p = 1usize << heads.ilog2();
    let powers = |base: f64, exps: &mut dyn Iterator<Item = i32>| -> Vec<f32> { exps.map(|e| (base as f32).powi(e)).collect() };
    let mut slopes = powers(crate::math::pow(2.0, -crate::math::pow(2.0, -(crate::math::log2(p as f64) - 3.0))), &mut (1..=p as i32));
    if p != heads {
        let extra = (heads - p).min(p);
        slopes.extend(powers(crate::math::pow(2.0, -crate::math::pow(2.0, -(crate::math::log2(2.0 * p as f64) - 3.0))), &mut (1..2 * extra as i32).step_by(2)));
    }
    slopes
}

pub struct Bloom {
    pub config: BloomConfig,
    pub info: ModelInfo,
    /// One per head: what a score loses per token of distance.
    pub slopes: Vec<f32>,
    word: Linear, // [V][C] as a bias-free C -> V layer: the rows, and the head when tied
    emb_ln: LayerNorm,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Option<Linear>, // C -> V when stored apart from the table
}

impl Bloom {
    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        let cfg: BloomConfig = parse_json("config.json", config_json)?;
        let (v, (c, l, h)) = (cfg.vocab_size, cfg.sizes());
        if h == 0 || c % h != 0 {
            return Err(Error::config("n_head", format!("the width {c} is not divisible by {h} heads"), "Use the config.json saved with the weights"));
        }
        if cfg.slow_but_exact && cfg.pretraining_tp > 1 {
            return Err(Error::config(
                "slow_but_exact",
                format!("is true with pretraining_tp {}: transformers then multiplies the attention output and the second feed-forward matrix slice by slice and leaves out their biases, so its numbers are not this checkpoint's", cfg.pretraining_tp),
                "Set slow_but_exact to false, as every released BLOOM has it (the same products, biases included)",
            ));
        }
        let f = 4 * c; // BloomMLP: always four times the width
        let w = weights.with_prefixes(&["transformer."]);
        let eps = cfg.layer_norm_epsilon;
        // GPT-NeoX's layer under BLOOM's names (its attention module is `self_attention`, always biased).
        let blocks = (0..l).map(|i| Block::load(&w, &format!("h.{i}"), "self_attention", (c, f), eps, true)).collect::<Result<Vec<_>>>()?;
        let table = super::layers::tied_table_name(&w, "word_embeddings.weight", "lm_head.weight", cfg.tie_word_embeddings);
        let word = super::layers::token_table(&w, table, v, c)?;
        let emb_ln = LayerNorm::load(&w, "word_embeddings_layernorm", c, eps)?;
        let ln_f = LayerNorm::load(&w, "ln_f", c, eps)?;
        let lm_head = super::layers::head_of_its_own(&w, "lm_head.weight", table, v, c, cfg.tie_word_embeddings)?;
        let per_layer = 4 * c + (3 * c * c + 3 * c) + (c * c + c) + (c * f + f) + (f * c + c);
        let n_params = v * c + 4 * c + l * per_layer + lm_head.as_ref().map_or(0, |_| v * c);
        let info = ModelInfo {
            model_type: "bloom".into(),
            kind: Kind::DecoderOnly,
            positions: Positions::Alibi,
            n_layers: l,
            n_decoder_layers: l,
            n_heads: h,
            d_model: c,
            d_ff: f,
            vocab_size: v,
            max_positions: None, // no table to run out of: the penalty is defined at any distance
            n_params,
            has_lm_head: true,
            bos_token_id: cfg.bos_token_id,
            eos_token_id: cfg.eos_token_id,
            pad_token_id: cfg.pad_token_id,
            decoder_start_token_id: None,
        };
        Ok(Bloom { slopes: alibi_slopes(h), config: cfg, info, word, emb_ln, blocks, ln_f, lm_head })
    }

    pub fn head_is_embedding_table(&self) -> bool {
        self.lm_head.is_none()
    }

    /// The ALiBi bias of queries at positions `past..past+T` against keys `0..past+T`:
    /// `[H][T][past+T]`, `-m_h · (i - j)` where the key is not ahead of the query (the causal mask
    /// hides the rest).
    fn alibi(&self, past: usize, t: usize) -> Array3<f32> {
        let k_len = past + t;
        Array3::from_shape_fn((self.slopes.len(), t, k_len), |(h, i, j)| {
            let distance = (past + i).saturating_sub(j) as f32;
            -self.slopes[h] * distance
        })
    }

    /// Run `ids` at positions `past..past+T` through every layer, reading and extending `caches`.
    /// Returns the hidden state after `ln_f`: `[T][C]`.
    fn run(&self, ids: &[u32], caches: &mut [KvCache], recorder: &mut Recorder) -> Result<Array2<f32>> {
        let (c, _, h) = self.config.sizes();
        let d = c / h;
        let past = caches.first().map_or(0, KvCache::len);
        let mut x = activations::embed(&TokenTable::Packed(&self.word), c, ids); // [T][C]
        self.emb_ln.apply(flat_mut(&mut x));
        let bias = self.alibi(past, ids.len()); // [H][T][past+T]
        let scale = 1.0 / (d as f32).sqrt();
        let post = self.config.apply_residual_connection_post_layernorm;
        for (l, (block, cache)) in self.blocks.iter().zip(caches.iter_mut()).enumerate() {
            recorder.hidden_state(&x);
            let a = activations::layer_norm(&block.ln_1, &x); // [T][C]
            let qkv = activations::linear(&block.qkv, a.view()); // [T][3C], per head [q | k | v]
            let (q, k, v) = split_per_head(&qkv, h, d); // [T][C] each
            cache.append(k.view(), v.view());
            let ctx = attend(q.view(), cache.keys(), cache.values(), h, d, scale, Mask::Causal { past }, Some(bias.view()), recorder.layer(l));
            cache.layer_done();
            let mut attn = activations::linear(&block.dense, ctx.view()); // [T][C]
            recorder.trace_io(l, &a, &attn);
            attn += if post { &a } else { &x };
            let m = activations::layer_norm(&block.ln_2, &attn);
            let mut hidden = activations::linear(&block.fc_in, m.view()); // [T][4C]
            Activation::GeluTanh.apply(flat_mut(&mut hidden));
            let mut out = activations::linear(&block.fc_out, hidden.view());
            out += if post { &m } else { &attn };
            x = out;
        }
        self.ln_f.apply(flat_mut(&mut x));
        recorder.hidden_state(&x);
        Ok(x)
    }

    fn lm_logits(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        activations::linear(self.lm_head.as_ref().unwrap_or(&self.word), x)
    }

    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Array2<f32> {
        if last {
            return self.lm_logits(x);
        }
        self.lm_logits(activations::layer_norm(&self.ln_f, &x.to_owned()).view())
    }
}

impl DecoderOnly for Bloom {
    fn decoder_shape(&self) -> (usize, usize) {
        (self.info.n_layers, self.info.n_heads)
    }
    fn run(&self, ids: &[u32], caches: &mut [KvCache], rec: &mut Recorder) -> Result<Array2<f32>> {
        Bloom::run(self, ids, caches, rec)
    }
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        Some(Bloom::lm_logits(self, h))
    }
}

decoder_only::impl_forward!(Bloom);

impl super::Family for Bloom {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Result<Array2<f32>> {
        Ok(Bloom::lens(self, x, last))
    }
    fn position_rows(&self, _stack: super::Stack, _n: usize) -> Option<&[f32]> {
        None // ALiBi: a penalty on the scores, no vectors (see `Bloom::slopes`)
    }
    fn token_table(&self, _stack: super::Stack) -> (TokenTable<'_>, usize, f32) {
        (TokenTable::Packed(&self.word), self.config.vocab_size, 1.0)
    }
}

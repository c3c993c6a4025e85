//! GPT-2 (`GPT2LMHeadModel`): decoder-only, learned positions, pre-LayerNorm blocks,
//! tanh GELU, Conv1D weight layout, LM head tied to the token embeddings.
//!
//! Reference semantics: Hugging Face `transformers/models/gpt2/modeling_gpt2.py`.
//!
//! ```text
//! x = wte[ids] + wpe[positions]                      # [T][C]
//! for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
//! h = ln_f(x);  logits = h · wteᵀ                    # [T][V]
//! ```
//!
//! Checkpoint name map (optionally prefixed `transformer.`), shapes from config.json:
//!
//! | name                        | shape      | field        |
//! |-----------------------------|------------|--------------|
//! | `wte.weight`                | [V][C]     | `wte` (tied: `lm_head.weight` when only it is stored) |
//! | `wpe.weight`                | [P][C]     | `wpe`        |
//! | `h.{l}.ln_1.{weight,bias}`  | [C]        | `ln_1`       |
//! | `h.{l}.attn.c_attn.*`       | [C][3C], [3C] | `c_attn` (Conv1D: in × out) |
//! | `h.{l}.attn.c_proj.*`       | [C][C], [C] | `c_proj`    |
//! | `h.{l}.ln_2.{weight,bias}`  | [C]        | `ln_2`       |
//! | `h.{l}.mlp.c_fc.*`          | [C][F], [F] | `c_fc`      |
//! | `h.{l}.mlp.c_proj.*`        | [F][C], [C] | `mlp_proj`  |
//! | `ln_f.{weight,bias}`        | [C]        | `ln_f`       |
//! | `lm_head.weight` (optional) | [V][C]     | tied to `wte` when absent |

use super::activations::{self, flat_mut};
use super::attention::{attend, KvCache, Mask, Recorder};
use super::decoder_only::{self, DecoderOnly};
use super::layers::{Activation, LayerNorm, TokenTable};
use super::{Kind, ModelInfo, Positions};
use crate::error::{Error, Result};
use crate::kernels::{self, Linear};
use crate::loader::{parse_json, Weights};
use ndarray::{s, Array2, ArrayView2};
use serde::Deserialize;

/// The fields of GPT-2's config.json that change the computation.
#[derive(Debug, Clone, Deserialize)]
pub struct Gpt2Config {
    pub vocab_size: usize,
    /// Filled from `n_ctx` when absent. Not a serde alias: the original GPT-2 configs carry both
    /// keys, and an alias would reject them as a duplicate field. HF's GPT2Config reads
    /// `n_positions` and ignores `n_ctx`.
    #[serde(default)]
    pub n_positions: usize,
    #[serde(default)]
    n_ctx: Option<usize>,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    #[serde(default)]
    pub n_inner: Option<usize>,
    #[serde(default = "default_activation")]
    pub activation_function: String,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f32,
    #[serde(default = "yes")]
    pub scale_attn_weights: bool,
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    #[serde(default, deserialize_with = "crate::loader::one_id")]
    pub bos_token_id: Option<u32>,
    #[serde(default, deserialize_with = "crate::loader::one_id")]
    pub eos_token_id: Option<u32>,
    #[serde(default, deserialize_with = "crate::loader::one_id")]
    pub pad_token_id: Option<u32>,
    /// `false` means the checkpoint's own `lm_head.weight` (required then: HF would start a
    /// missing one from random numbers).
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
}

fn default_activation() -> String {
    "gelu_new".into()
}
fn default_eps() -> f32 {
    1e-5
}
fn yes() -> bool {
    true
}

struct Block {
    ln_1: LayerNorm,
    c_attn: Linear, // C -> 3C (q | k | v)
    c_proj: Linear, // C -> C
    ln_2: LayerNorm,
    c_fc: Linear,     // C -> F
    mlp_proj: Linear, // F -> C
}

pub struct Gpt2 {
    pub config: Gpt2Config,
    pub info: ModelInfo,
    wte: Linear, // [V][C] as a bias-free C -> V layer: embedding rows and the tied LM head
    wpe: Array2<f32>, // [P][C]
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Option<Linear>, // C -> V, only when stored untied
    activation: Activation,
}

/// `GPT2Config`'s `n_positions` when config.json leaves it (and `n_ctx`) out.
const GPT2_DEFAULT_POSITIONS: usize = 1024;

impl Gpt2 {
    /// Whether the output head is the input embedding table, as loaded (config.json's tie, unless
    /// the file stores a head of its own that differs from the table).
    pub fn head_is_embedding_table(&self) -> bool {
        self.lm_head.is_none()
    }

    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        let mut cfg: Gpt2Config = parse_json("config.json", config_json)?;
        if cfg.n_positions == 0 {
            // Left out: GPT2Config's 1024 (a table of another length is refused by its shape).
            cfg.n_positions = cfg.n_ctx.unwrap_or(GPT2_DEFAULT_POSITIONS);
        }
        let (v, p, c, l, h) = (cfg.vocab_size, cfg.n_positions, cfg.n_embd, cfg.n_layer, cfg.n_head);
        if h == 0 || c % h != 0 {
            return Err(Error::config("n_head", format!("n_embd {c} is not divisible by n_head {h}"), "Use the config.json saved with the weights"));
        }
        let f = cfg.n_inner.unwrap_or(4 * c);
        let activation = Activation::from_config("activation_function", &cfg.activation_function)?;
        let w = weights.with_prefixes(&["transformer."]);
        let eps = cfg.layer_norm_epsilon;
        let conv1d = |name: &str, d_in: usize, d_out: usize| -> Result<Linear> { super::layers::conv1d(&w, name, d_in, d_out) };
        let mut blocks = Vec::with_capacity(l);
        for i in 0..l {
            blocks.push(Block {
                ln_1: LayerNorm::load(&w, &format!("h.{i}.ln_1"), c, eps)?,
                c_attn: conv1d(&format!("h.{i}.attn.c_attn"), c, 3 * c)?,
                c_proj: conv1d(&format!("h.{i}.attn.c_proj"), c, c)?,
                ln_2: LayerNorm::load(&w, &format!("h.{i}.ln_2"), c, eps)?,
                c_fc: conv1d(&format!("h.{i}.mlp.c_fc"), c, f)?,
                mlp_proj: conv1d(&format!("h.{i}.mlp.c_proj"), f, c)?,
            });
        }
        let table = super::layers::tied_table_name(&w, "wte.weight", "lm_head.weight", cfg.tie_word_embeddings);
        let wte = super::layers::token_table(&w, table, v, c)?;
        let wpe = activations::rows_of(w.get("wpe.weight", &[p, c])?, p, c);
        let ln_f = LayerNorm::load(&w, "ln_f", c, eps)?;
        // A stored lm_head identical to wte is the usual tied case; keep a copy only if it differs.
        // Random twins are tied, as GPT2LMHeadModel always is (`tie_word_embeddings`).
        let random = matches!(w, Weights::Random { .. });
        if !cfg.tie_word_embeddings && !random && !w.contains("lm_head.weight") {
            return Err(Error::tensor(
                "lm_head.weight",
                "is missing while config.json says tie_word_embeddings: false (Hugging Face would start this head from random numbers)",
                "Add lm_head.weight to model.safetensors, or set tie_word_embeddings to true if the head is the token embedding table",
            ));
        }
        // A stored head equal to the table is the table; one that differs is a head of its own, tied
        // or not in config.json (as transformers 5 loads it).
        let lm_head = match super::layers::stored_head_differs(&w, "lm_head.weight", table, v, c)? {
            true => Some(kernels::Linear::from_stored(w.get_stored("lm_head.weight", &[v, c])?, kernels::Layout::OutIn, c, v, None, w.storage())),
            false => None,
        };
        let n_params = v * c + p * c + 2 * c + l * (4 * c + (c * 3 * c + 3 * c) + (c * c + c) + (c * f + f) + (f * c + c));
        let info = ModelInfo {
            model_type: "gpt2".into(),
            kind: Kind::DecoderOnly,
            positions: Positions::Learned,
            n_layers: l,
            n_decoder_layers: l,
            n_heads: h,
            d_model: c,
            d_ff: f,
            vocab_size: v,
            max_positions: Some(p),
            n_params,
            has_lm_head: true,
            bos_token_id: cfg.bos_token_id,
            eos_token_id: cfg.eos_token_id,
            pad_token_id: cfg.pad_token_id,
            decoder_start_token_id: None,
        };
        Ok(Gpt2 { config: cfg, info, wte, wpe, blocks, ln_f, lm_head, activation })
    }

    fn d_head(&self) -> usize {
        self.config.n_embd / self.config.n_head
    }

    /// Run `ids` at positions `past..past+T` through every block, reading and extending `caches`.
    /// Returns the final hidden state after `ln_f`: `[T][C]`.
    fn run(&self, ids: &[u32], caches: &mut [KvCache], recorder: &mut Recorder) -> Result<Array2<f32>> {
        let (c, h, dh) = (self.config.n_embd, self.config.n_head, self.d_head());
        let t = ids.len();
        let past = caches.first().map_or(0, KvCache::len);
        if past + t > self.config.n_positions {
            return Err(Error::input(
                format!("the sequence would be {} tokens long but GPT-2 here has positions for only {}", past + t, self.config.n_positions),
                "Shorten the prompt or generate fewer tokens",
            ));
        }
        // x = wte[ids] + wpe[past..past+T]                                   [T][C]
        let mut x = activations::embed(&TokenTable::Packed(&self.wte), c, ids);
        x += &self.wpe.slice(s![past..past + t, ..]);
        for (l, (block, kv)) in self.blocks.iter().zip(caches.iter_mut()).enumerate() {
            recorder.hidden_state(&x);
            // x = x + attn(ln_1(x))
            let a = activations::layer_norm(&block.ln_1, &x); // [T][C]
            let qkv = activations::linear(&block.c_attn, a.view()); // [T][3C] = q | k | v
            let part = |i: usize| qkv.slice(s![.., i * c..(i + 1) * c]).as_standard_layout().into_owned(); // [T][C]
            let q = part(0);
            kv.append(part(1).view(), part(2).view());
            let mut scale = if self.config.scale_attn_weights { 1.0 / (dh as f32).sqrt() } else { 1.0 };
            if self.config.scale_attn_by_inverse_layer_idx {
                scale /= (l + 1) as f32;
            }
            let ctx = attend(q.view(), kv.keys(), kv.values(), h, dh, scale, Mask::Causal { past }, None, recorder.layer(l));
            kv.layer_done();
            let out = activations::linear(&block.c_proj, ctx.view()); // [T][C]
            recorder.trace_io(l, &a, &out);
            x += &out;
            // x = x + mlp(ln_2(x))
            let m = activations::layer_norm(&block.ln_2, &x);
            let mut hidden = activations::linear(&block.c_fc, m.view()); // [T][F]
            self.activation.apply(flat_mut(&mut hidden));
            x += &activations::linear(&block.mlp_proj, hidden.view());
        }
        self.ln_f.apply(flat_mut(&mut x));
        recorder.hidden_state(&x);
        Ok(x)
    }

    /// `h: [T][C]` -> logits `[T][V]` through the (tied) LM head.
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Array2<f32> {
        activations::linear(self.lm_head.as_ref().unwrap_or(&self.wte), h)
    }

    /// Logits as if the model stopped at hidden state `x: [T][C]`: `ln_f` then the head; the
    /// last state (`last`) has been through `ln_f` already.
    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Array2<f32> {
        if last {
            return self.lm_logits(x);
        }
        self.lm_logits(activations::layer_norm(&self.ln_f, &x.to_owned()).view())
    }

    /// `wpe` rows of positions `0..n`: `[N][C]`.
    pub(crate) fn position_rows(&self, n: usize) -> &[f32] {
        &self.wpe.as_slice().expect("standard layout")[..n * self.config.n_embd]
    }

    pub(crate) fn token_table(&self) -> TokenTable<'_> {
        TokenTable::Packed(&self.wte)
    }
}

impl DecoderOnly for Gpt2 {
    fn decoder_shape(&self) -> (usize, usize) {
        (self.config.n_layer, self.config.n_head)
    }
    fn run(&self, ids: &[u32], caches: &mut [KvCache], rec: &mut Recorder) -> Result<Array2<f32>> {
        Gpt2::run(self, ids, caches, rec)
    }
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        Some(Gpt2::lm_logits(self, h))
    }
}

decoder_only::impl_forward!(Gpt2);

impl super::Family for Gpt2 {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Result<Array2<f32>> {
        Ok(Gpt2::lens(self, x, last))
    }
    fn position_rows(&self, _stack: super::Stack, n: usize) -> Option<&[f32]> {
        Some(Gpt2::position_rows(self, n))
    }
    fn token_table(&self, _stack: super::Stack) -> (super::layers::TokenTable<'_>, usize, f32) {
        (Gpt2::token_table(self), self.config.vocab_size, 1.0)
    }
}

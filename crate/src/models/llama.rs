//! Llama-style decoders (`LlamaForCausalLM`, `Qwen2ForCausalLM`, `Qwen3ForCausalLM`,
//! `MistralForCausalLM`, `GemmaForCausalLM`, `Gemma2ForCausalLM`, `Gemma3ForCausalLM`,
//! `GraniteForCausalLM`, `Olmo2ForCausalLM`, `SmolLM3ForCausalLM`, `StableLmForCausalLM`, `OlmoForCausalLM`, `Starcoder2ForCausalLM`, `CohereForCausalLM`; SmolLM 1-3, TinyLlama,
//! Qwen2/2.5, Qwen3, Mistral, Gemma 1-3's text models, Granite 3 and OLMo 2 are these):
//! decoder-only, rotary positions, RMSNorm blocks, gated (SwiGLU, GeGLU) feed-forward,
//! grouped-query attention.
//!
//! Reference semantics: Hugging Face
//! `transformers/models/{llama,qwen2,qwen3,mistral,gemma,gemma2,gemma3,granite,olmo,olmo2,smollm3,stablelm,starcoder2,cohere}/modeling_*.py` (5.x).
//!
//! ```text
//! x = embed[ids]                                                    # [T][C], no position vectors
//! for each layer:
//!     a = rms_1(x);  q = Wq a;  k = Wk a;  v = Wv a                 # q [T][H·D], k v [T][KV·D]
//!     q, k = rotate(q, k, positions)                                # see rotary.rs
//!     x = x + Wo · attn(q, k, v)      (query head h reads kv head h / (H/KV), causal)
//!     m = rms_2(x);  x = x + W_down (act(W_gate m) ⊙ W_up m)
//! h = rms_final(x);  logits = h · lm_headᵀ   (lm_head = embed when tie_word_embeddings)
//! ```
//!
//! Qwen2 is the same network with biases on q/k/v (never on o or the MLP) and an optional
//! sliding window on some layers. Qwen3 drops those biases (all four projections take
//! `attention_bias`, default false) and normalises each head's query and key with an RMSNorm of
//! its own (`q_norm`, `k_norm`, weights `[D]`) before the rotation. Mistral is Llama with a
//! sliding window on every layer (`sliding_window`, 4096 when left out; null: none) and no
//! biases at all.
//!
//! Gemma 3 (`gemma3_text`: gemma-3-270m, gemma-3-1b) changes more:
//!
//! ```text
//! x = embed[ids] · sqrt(C)
//! for each layer:
//!     a = rms_in(x);  q, k, v as above;  q = rms_q(q), k = rms_k(k) per head (as Qwen3)
//!     q, k = rotate(q, k, positions)      (sliding layers with their own base, rope_local_base_freq)
//!     x = x + rms_attn_out(Wo · attn(q, k, v))   (scores times query_pre_attn_scalar^-1/2;
//!                                                 sliding layers see the last `sliding_window` keys)
//!     m = rms_pre_ffn(x);  x = x + rms_ffn_out(W_down (gelu_tanh(W_gate m) ⊙ W_up m))
//! h = rms_final(x);  logits = cap · tanh(h · embedᵀ / cap)   (cap: final_logit_softcapping)
//! ```
//!
//! and every one of its RMSNorms scales by `1 + w` rather than `w` (weights stored around 0), which
//! Glassbox folds into the weights at load. Gemma 1 is Llama with those norms, the scaled embeddings
//! and GeGLU. Gemma 2 is Gemma 3 without the per-head q/k norms and the second rotation, with
//! windows on every other layer and a cap on the attention scores too (`attn_logit_softcapping`:
//! `cap · tanh(score / cap)` after the scale, before the mask).
//!
//! Three more change one thing each. Granite multiplies: the token rows by `embedding_multiplier`,
//! each step's output by `residual_multiplier` before it joins the stream, the scores by
//! `attention_multiplier` (instead of `D^-1/2`), and divides the logits by `logits_scaling`. OLMo 2
//! moves the norms to the outputs, `x = x + rms(Wo · attn(..))`, `x = x + rms(mlp(x))`, with no
//! norm on a step's input, and normalises the whole query and key projections (`[H·D]`, `[KV·D]`)
//! before splitting them into heads. SmolLM3 leaves some layers unrotated (`no_rope_layers`, else
//! every fourth): attention there sees no positions, only the causal mask.
//!
//! StableLM (`StableLmForCausalLM`) swaps every RMSNorm for a LayerNorm with a bias, turns only the
//! first quarter of each head (`partial_rotary_factor`), takes q/k/v biases from `use_qkv_bias`, and
//! may normalise each head's query and key with a bias-free LayerNorm of that head's own
//! (`qk_layernorm`) and run attention and the MLP side by side from one norm
//! (`use_parallel_residual`: `x = x + Wo · attn(..) + mlp(a)`, `a = LN(x)`). OLMo 1 (`OlmoForCausalLM`)
//! is Llama with LayerNorms that learn nothing (no tensors; eps 1e-5) and, with `clip_qkv`, q, k and v
//! clamped to `[-clip, clip]` straight after their projections. StarCoder2 (`Starcoder2ForCausalLM`)
//! has LayerNorms with biases, biases on every projection (`use_bias`), an ungated MLP
//! (`c_proj(act(c_fc m))`) and a window on every layer when `sliding_window` is set. Cohere
//! (`CohereForCausalLM`) always runs the parallel block from one LayerNorm that learns a scale and no
//! shift, rotates neighbouring dimensions together (pair `i` is `(2i, 2i+1)`), may normalise each
//! head's query and key with a scale of that head's own (`use_qk_norm`), and multiplies its logits
//! by `logit_scale`.
//!
//! Checkpoint names (with a `model.` prefix under a causal-LM head, bare in a base `LlamaModel`):
//!
//! | name                                   | shape         |
//! |----------------------------------------|---------------|
//! | `embed_tokens.weight`                  | [V][C] (tied: `lm_head.weight` when only it is stored) |
//! | `layers.{l}.input_layernorm.weight`    | [C] (not olmo2) |
//! | `layers.{l}.self_attn.q_proj.*`        | [H·D][C], [H·D] (bias: qwen2, or llama `attention_bias`) |
//! | `layers.{l}.self_attn.{k,v}_proj.*`    | [KV·D][C], [KV·D] |
//! | `layers.{l}.self_attn.o_proj.*`        | [C][H·D], [C] (bias: llama and qwen3 `attention_bias`) |
//! | `layers.{l}.self_attn.{q,k}_norm.weight` | [D] (qwen3, gemma3); [H·D], [KV·D] (olmo2) |
//! | `layers.{l}.self_attn.{q,k}_layernorm.norms.{h}.weight` | [D] per head (stablelm `qk_layernorm`) |
//! | `layers.{l}.self_attn.{q,k}_norm.weight` (cohere) | [H][D], [KV][D]: a row per head (`use_qk_norm`) |
//! | `layers.{l}.*_layernorm.bias`, `norm.bias` | [C] (stablelm) |
//! | `layers.{l}.post_attention_layernorm.weight` | [C] (gemma2/3, olmo2: the attention output's norm) |
//! | `layers.{l}.{pre,post}_feedforward_layernorm.weight` | [C] (gemma2/3: around the MLP; olmo2: post only) |
//! | `layers.{l}.mlp.{gate,up}_proj.*`      | [F][C], [F] (bias: llama `mlp_bias`) |
//! | `layers.{l}.mlp.down_proj.*`           | [C][F], [C]   |
//! | `layers.{l}.mlp.{c_fc,c_proj}.*`       | [F][C], [F]; [C][F], [C] (starcoder2, in place of gate/up/down) |
//! | `norm.weight`                          | [C]           |
//! | `lm_head.weight` (never prefixed)      | [V][C]; unused when tied and equal to the table (a differing one is kept, as in HF 5) |

use super::activations::{self, flat_mut};
use super::attention::{attend_capped, KvCache, Mask, Recorder};
use super::decoder_only::{self, DecoderOnly};
use super::layers::{linear, Activation, QkvProj, TokenTable};
use super::rotary::{Rotary, RotaryAngles};
use super::{Kind, ModelInfo, Positions};
use crate::error::{Error, Result};
use crate::kernels::{self, Linear};
use crate::loader::limits::MAX_DIM;
use crate::loader::{parse_json, Keyed, Weights};
use ndarray::{Array2, ArrayView2};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Which Llama-style family a checkpoint is: they differ in biases, Qwen3's per-head q/k norm,
/// where sliding windows apply, and the defaults of the keys a config leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Llama,
    Qwen2,
    Qwen3,
    Mistral,
    Gemma,
    Gemma2,
    Gemma3,
    Granite,
    Olmo2,
    Olmo3,
    SmolLm3,
    Phi3,
    StableLm,
    Olmo,
    Starcoder2,
    Cohere,
}

impl Flavour {
    pub fn model_type(self) -> &'static str {
        match self {
            Flavour::Llama => "llama",
            Flavour::Qwen2 => "qwen2",
            Flavour::Qwen3 => "qwen3",
            Flavour::Mistral => "mistral",
            Flavour::Gemma => "gemma",
            Flavour::Gemma2 => "gemma2",
            Flavour::Gemma3 => "gemma3_text",
            Flavour::Granite => "granite",
            Flavour::Olmo2 => "olmo2",
            Flavour::Olmo3 => "olmo3",
            Flavour::SmolLm3 => "smollm3",
            Flavour::Phi3 => "phi3",
            Flavour::StableLm => "stablelm",
            Flavour::Olmo => "olmo",
            Flavour::Starcoder2 => "starcoder2",
            Flavour::Cohere => "cohere",
        }
    }

    /// The families whose head width, when config.json leaves `head_dim` out, is
    /// `hidden_size // heads` rounded down (no divisibility check in their config classes).
    fn floors_head_width(self) -> bool {
        matches!(self, Flavour::Mistral | Flavour::Granite | Flavour::Olmo | Flavour::Olmo2 | Flavour::Olmo3 | Flavour::SmolLm3 | Flavour::Phi3 | Flavour::Starcoder2 | Flavour::Cohere)
    }

    /// OLMo 2 and 3: norms on each step's output only, and q/k norms over whole projections.
    fn is_olmo(self) -> bool {
        matches!(self, Flavour::Olmo2 | Flavour::Olmo3)
    }

    /// Gemma's traits, every generation: RMSNorms that scale by `1 + w`, embeddings times
    /// `sqrt(C)`, tied heads and 256-wide heads when the config leaves them out, GeGLU.
    fn is_gemma(self) -> bool {
        matches!(self, Flavour::Gemma | Flavour::Gemma2 | Flavour::Gemma3)
    }

    /// Gemma 2 and 3: a norm after attention and after the MLP too, and scores scaled by
    /// `query_pre_attn_scalar^-1/2`.
    fn has_output_norms(self) -> bool {
        matches!(self, Flavour::Gemma2 | Flavour::Gemma3)
    }

    /// Qwen2 and Qwen3 share their configs' window keys (`use_sliding_window`, `max_window_layers`).
    fn is_qwen(self) -> bool {
        matches!(self, Flavour::Qwen2 | Flavour::Qwen3)
    }

    /// What the families that normalise with LayerNorm (the mean taken away first) rather than
    /// RMSNorm store for their norms: a scale and a shift (StableLM, StarCoder2), a scale alone
    /// (Cohere), or nothing (OLMo 1). `None`: RMSNorm.
    fn layer_norm(self) -> Option<&'static str> {
        match self {
            Flavour::StableLm | Flavour::Starcoder2 => Some("scale and shift"),
            Flavour::Cohere => Some("scale"),
            Flavour::Olmo => Some("nothing"),
            _ => None,
        }
    }
}

/// The fields of a Llama, Qwen2, Qwen3, Mistral or Gemma config.json that change the computation
/// (the rotary keys are read by [`Rotary::from_config`]).
#[derive(Debug, Clone, Deserialize)]
pub struct LlamaConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Left out: the class's default (Qwen2's and Qwen3's 32, Mistral's 8); null: the query heads.
    #[serde(default)]
    pub num_key_value_heads: Keyed<usize>,
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Gemma 2 and 3 read their activation from this key (gelu_pytorch_tanh when left out), not `hidden_act`.
    #[serde(default)]
    pub hidden_activation: Option<String>,
    #[serde(default)]
    pub max_position_embeddings: Option<usize>,
    /// Left out: OLMo 2's 1e-5, the others' 1e-6 (see [`Llama::eps`]).
    #[serde(default)]
    pub rms_norm_eps: Option<f32>,
    /// Left out: tied for Gemma, untied for the others (their config classes' defaults).
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    // Qwen2's and Qwen3's sliding window: on for layers >= max_window_layers when use_sliding_window.
    #[serde(default)]
    pub use_sliding_window: bool,
    /// Left out: Qwen2Config's, Qwen3Config's and MistralConfig's 4096; null: no window.
    #[serde(default)]
    pub sliding_window: Keyed<usize>,
    #[serde(default)]
    pub max_window_layers: Option<usize>,
    #[serde(default)]
    pub layer_types: Option<Vec<String>>,
    /// Llama 4's chunked attention; in a llama config HF's generate reads it as a sliding window.
    #[serde(default)]
    pub attention_chunk_size: Option<usize>,
    #[serde(default)]
    pub bos_token_id: Option<Value>,
    #[serde(default)]
    pub eos_token_id: Option<Value>,
    #[serde(default)]
    pub pad_token_id: Option<Value>,
    /// Gemma 2 and 3: the attention scores are scaled by `query_pre_attn_scalar^-1/2`, not `head_dim^-1/2`.
    #[serde(default)]
    pub query_pre_attn_scalar: Option<f64>,
    /// Gemma 2 and 3: logits squashed into `(-cap, cap)` by `cap · tanh(logit / cap)` (left out:
    /// Gemma 2's 30, Gemma 3's none; null: none).
    #[serde(default)]
    pub final_logit_softcapping: Keyed<f64>,
    /// Gemma 2: scores squashed the same way (left out: 50; null: none).
    #[serde(default)]
    pub attn_logit_softcapping: Keyed<f64>,
    /// Gemma 3 configs saved before `layer_types`: every n-th layer attends to every key.
    #[serde(default)]
    pub sliding_window_pattern: Option<usize>,
    /// Granite: the token rows times this on the way in (left out: 1).
    #[serde(default)]
    pub embedding_multiplier: Option<f64>,
    /// Granite: what attention's and the MLP's outputs are multiplied by before they join the stream.
    #[serde(default)]
    pub residual_multiplier: Option<f64>,
    /// Granite: the scores' scale itself (left out: 1, not `head_dim^-1/2`).
    #[serde(default)]
    pub attention_multiplier: Option<f64>,
    /// Granite: the logits are divided by this.
    #[serde(default)]
    pub logits_scaling: Option<f64>,
    /// SmolLM3: per layer, whether it turns q and k (1) or uses no positions at all (0).
    #[serde(default)]
    pub no_rope_layers: Option<Vec<Value>>,
    /// SmolLM3 without `no_rope_layers`: every n-th layer has no rotation (left out: 4).
    #[serde(default)]
    pub no_rope_layer_interval: Option<usize>,
    /// StableLM: biases on the query, key and value projections (never on o or the MLP).
    #[serde(default)]
    pub use_qkv_bias: bool,
    /// StableLM: a LayerNorm per head on the queries and keys, each head with its own scale.
    #[serde(default)]
    pub qk_layernorm: bool,
    /// StableLM: attention and the MLP read the same normed input and join the stream together.
    #[serde(default)]
    pub use_parallel_residual: bool,
    /// StableLM's LayerNorm epsilon (left out: 1e-5).
    #[serde(default)]
    pub layer_norm_eps: Option<f32>,
    /// OLMo 1: the query, key and value projections are clamped to `[-clip, clip]`.
    #[serde(default)]
    pub clip_qkv: Option<f64>,
    /// StarCoder2: biases on every projection, attention's and the MLP's (left out: true).
    #[serde(default)]
    pub use_bias: Option<bool>,
    /// StarCoder2's LayerNorm epsilon (left out: 1e-5).
    #[serde(default)]
    pub norm_epsilon: Option<f32>,
    /// Cohere: a LayerNorm (a scale per head, no shift) on each head's query and key.
    #[serde(default)]
    pub use_qk_norm: bool,
    /// Cohere: the logits are multiplied by this (left out: 0.0625).
    #[serde(default)]
    pub logit_scale: Keyed<f64>,
}

fn default_act() -> String {
    "silu".into()
}

/// One norm's weights. Without a shift it is an RMSNorm (divide by the root mean square, scale);
/// with one, a LayerNorm (take the mean away, divide by the spread, scale, shift: StableLM).
/// The scale is the factor the norm multiplies by: Gemma's `1 + w` is added up at load.
struct Norm {
    scale: Vec<f32>,
    shift: Option<Vec<f32>>,
    /// How many numbers are normalised together: the whole scale, or one head's `D` when the scale
    /// holds a different one per head (StableLM's q/k norms), slice `i` taking head `i mod n`'s.
    width: usize,
}

impl Norm {
    fn apply(&self, x: &mut [f32], eps: f32) {
        let run = |x: &mut [f32], scale: &[f32], shift: Option<&[f32]>| match shift {
            Some(shift) => kernels::layer_norm(x, scale, shift, eps),
            None => kernels::rms_norm(x, scale, eps),
        };
        let (w, n) = (self.width, self.scale.len());
        if w == n {
            return run(x, &self.scale, self.shift.as_deref());
        }
        for (i, part) in x.chunks_exact_mut(w).enumerate() {
            let at = i % (n / w) * w..(i % (n / w) + 1) * w;
            run(part, &self.scale[at.clone()], self.shift.as_ref().map(|b| &b[at]));
        }
    }

    fn normed(&self, x: ArrayView2<'_, f32>, eps: f32) -> Array2<f32> {
        let mut y = x.to_owned();
        self.apply(flat_mut(&mut y), eps);
        y
    }
}

/// One layer's weights.
struct Block {
    /// The attention's input norm (`[C]`); OLMo 2 has none (its norms sit on the outputs).
    input_norm: Option<Norm>,
    qkv: QkvProj,
    o_proj: Linear,       // H·D -> C
    /// Gemma 2 and 3, OLMo 2: the attention's output is normalised before it joins the stream (`[C]`).
    attn_out_norm: Option<Norm>,
    /// The MLP's input norm (`[C]`: `post_attention_layernorm`; Gemma 2's and 3's
    /// `pre_feedforward_layernorm`); OLMo 2 has none, nor does a parallel block (StableLM's
    /// `use_parallel_residual`), whose MLP reads the attention's input.
    mlp_norm: Option<Norm>,
    gate_up: GateUp,
    down_proj: Linear,    // F -> C
    /// Gemma 2 and 3, OLMo 2: the MLP's output is normalised before it joins the stream (`[C]`).
    mlp_out_norm: Option<Norm>,
    /// Norms of the queries and keys, before the rotation: each head's alone (Qwen3, Gemma 3: `[D]`
    /// each; StableLM: a LayerNorm of its own per head), or the whole projection at once (OLMo 2:
    /// `[H·D]` and `[KV·D]`).
    qk_norm: Option<(Norm, Norm)>,
    /// Which earlier keys the layer's queries see.
    window: LayerWindow,
    /// How the layer's queries and keys learn their positions.
    turn: Turn,
}

/// A layer's gate and up projections: two matrices, or Phi-3's one; or StarCoder2's single
/// ungated one (`c_fc`), whose activation goes straight to the down projection.
enum GateUp {
    Separate { gate: Linear, up: Linear }, // C -> F each
    /// `gate_up_proj`: C -> 2F, the gate's rows, then the up projection's.
    Fused(Linear),
    /// `c_fc`: C -> F, `act(W m)` with no gate.
    Plain(Linear),
}

impl GateUp {
    /// `act(W_gate m) ⊙ W_up m`: `m: [T][C]` -> `[T][F]`.
    fn apply(&self, m: ArrayView2<'_, f32>, activation: Activation, f: usize) -> Array2<f32> {
        match self {
            GateUp::Separate { gate, up } => {
                let mut g = activations::linear(gate, m); // [T][F]
                activation.apply(flat_mut(&mut g));
                g *= &activations::linear(up, m);
                g
            }
            GateUp::Fused(gate_up) => {
                let both = activations::linear(gate_up, m); // [T][2F]
                let mut g = both.slice(ndarray::s![.., ..f]).to_owned();
                activation.apply(flat_mut(&mut g));
                // HF: up * act(gate); the product is the same either way round.
                g *= &both.slice(ndarray::s![.., f..]);
                g
            }
            GateUp::Plain(fc) => {
                let mut g = activations::linear(fc, m); // [T][F]
                activation.apply(flat_mut(&mut g));
                g
            }
        }
    }
}

/// Which rotation a layer applies to its queries and keys.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Turn {
    /// The model's rotation (`Llama::rotary`).
    Shared,
    /// Gemma 3's sliding layers: their own base (`Llama::local_rotary`).
    Local,
    /// SmolLM3's "NoPE" layers: none; attention there sees no positions, only the causal mask.
    None,
}

/// Which earlier keys one layer attends to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LayerWindow {
    /// All of them.
    Full,
    /// The last `n`, the query itself included (`sliding_attention` layers of Qwen2, Qwen3,
    /// Mistral, Gemma 2 and 3): masked in a forward pass and in generation alike, as HF's sliding mask
    /// and its sliding cache agree.
    Sliding(usize),
    /// A window only HF's generation cache applies (a llama or gemma config's `sliding_window` or
    /// `attention_chunk_size`, a mistral one's chunk): its forward pass attends to every key, so the
    /// two agree only up to `n` keys, and Glassbox refuses longer sequences.
    CacheOnly(usize),
}

pub struct Llama {
    /// A fine-tuned checkpoint's head (`LlamaForSequenceClassification`'s `score`, ...).
    classifier: Option<super::classifier::ClassifierHead>,
    pub flavour: Flavour,
    pub config: LlamaConfig,
    pub info: ModelInfo,
    /// The rotation of every layer (Gemma 3: of its full-attention layers).
    pub rotary: Rotary,
    /// Gemma 3: the rotation of its sliding layers (their own base, no scaling).
    pub local_rotary: Option<Rotary>,
    pub n_kv_heads: usize, // KV
    pub d_head: usize,     // D
    embed: Linear,         // [V][C] as a bias-free C -> V layer in the load's storage (int8 too): embedding rows and the tied LM head
    blocks: Vec<Block>,
    norm: Norm,                // [C]
    lm_head: Option<Linear>, // C -> V when untied
    has_head: bool,
    activation: Activation,
    activation_name: String,
    max_positions: usize,
    /// What the token rows are multiplied by on the way in: `sqrt(C)` for Gemma, else 1.
    embed_scale: f32,
    /// Gemma 2 and 3: the number whose inverse square root scales the scores (`query_pre_attn_scalar`).
    score_scalar: Option<f64>,
    /// Scores are `q·k` times this: `D^-1/2`, or `score_scalar^-1/2`.
    attn_scale: f32,
    /// Gemma 2's `attn_logit_softcapping`: scores become `cap · tanh(score / cap)`.
    score_cap: Option<f32>,
    /// Gemma 2's and 3's `final_logit_softcapping`.
    logit_cap: Option<f32>,
    /// The config key the layers' windows come from, for the refusal past them.
    window_key: &'static str,
    /// The norms' epsilon (`rms_norm_eps`, or the family's default).
    eps: f32,
    /// Granite's `residual_multiplier`: each step's output is multiplied by it before it joins the stream.
    residual_scale: f32,
    /// Granite's `logits_scaling`: the logits are divided by it.
    logits_divisor: Option<f32>,
    /// Phi-3's `original_max_position_embeddings` (4096 when left out): generation rebuilds its cache
    /// when the text first grows past it.
    phi3_original_positions: Option<usize>,
    /// StableLM's `use_parallel_residual`: the MLP reads the attention's normed input, and both
    /// outputs join the stream together.
    parallel: bool,
    /// OLMo 1's `clip_qkv`: q, k and v are clamped to `[-clip, clip]` straight after their projections.
    clip_qkv: Option<f32>,
    /// Cohere's `logit_scale`: the logits are multiplied by it.
    logit_scale: Option<f32>,
}

impl Llama {
    /// The classification head the checkpoint carries, if any.
    pub fn classifier(&self) -> Option<&super::classifier::ClassifierInfo> {
        self.classifier.as_ref().map(|h| &h.info)
    }

    /// Whether the output head is the input embedding table, as loaded (config.json's tie, unless
    /// the file stores a head of its own that differs from the table).
    pub fn head_is_embedding_table(&self) -> bool {
        // Without a head (a base model): what config.json would tie.
        if self.info.has_lm_head { self.lm_head.is_none() } else { self.tied_in_config() }
    }

    /// Whether each head's query and key are RMS-normalised before the rotation (Qwen3, Gemma 3).
    pub fn has_qk_norm(&self) -> bool {
        self.blocks.first().is_some_and(|b| b.qk_norm.is_some())
    }

    /// Whether attention's and the MLP's outputs are normalised before they join the stream (Gemma 2 and 3).
    pub fn has_output_norms(&self) -> bool {
        self.blocks.first().is_some_and(|b| b.mlp_out_norm.is_some())
    }

    /// The activation that runs, by its config name (`hidden_act`; Gemma 2's and 3's
    /// `hidden_activation`; Gemma 1's legacy "gelu" read as the tanh approximation, as HF does).
    pub fn activation_name(&self) -> &str {
        &self.activation_name
    }

    /// The layers that see only a window of recent keys (0-based), and the smallest such window.
    pub fn sliding_layers(&self) -> (Vec<usize>, Option<usize>) {
        let window = |b: &Block| match b.window {
            LayerWindow::Sliding(n) => Some(n),
            _ => None,
        };
        let layers: Vec<usize> = self.blocks.iter().enumerate().filter(|(_, b)| window(b).is_some()).map(|(i, _)| i).collect();
        (layers, self.blocks.iter().filter_map(window).min())
    }

    /// The factor token rows are multiplied by on the way in (Gemma: `sqrt(C)`).
    pub fn embed_scale(&self) -> f32 {
        self.embed_scale
    }

    /// Gemma 2's and 3's `query_pre_attn_scalar` (the scores are scaled by its inverse square root).
    pub fn query_pre_attn_scalar(&self) -> Option<f32> {
        self.score_scalar.map(|s| s as f32)
    }

    /// Gemma 2's and 3's `final_logit_softcapping`, if set.
    pub fn logit_cap(&self) -> Option<f32> {
        self.logit_cap
    }

    /// Gemma 2's `attn_logit_softcapping`, if set.
    pub fn score_cap(&self) -> Option<f32> {
        self.score_cap
    }

    /// Whether each step's input is normalised (false for OLMo 2, whose norms sit on the outputs only).
    pub fn has_input_norms(&self) -> bool {
        self.blocks.first().is_none_or(|b| b.input_norm.is_some())
    }

    /// Whether the q/k norms take each head alone (Qwen3, Gemma 3) rather than the whole
    /// projection at once (OLMo 2). Meaningful when [`Self::has_qk_norm`].
    pub fn qk_norm_per_head(&self) -> bool {
        !self.flavour.is_olmo()
    }

    /// Whether the norms are LayerNorms (StableLM) rather than RMSNorms.
    pub fn is_layer_norm(&self) -> bool {
        self.flavour.layer_norm().is_some()
    }

    /// What a LayerNorm family's block norms learn: a scale and a shift (StableLM, StarCoder2), a
    /// scale (Cohere), or nothing (OLMo 1). `None` for RMSNorm.
    pub fn norm_learns(&self) -> Option<&'static str> {
        self.flavour.layer_norm()
    }

    /// Whether the MLP is gated (`act(W_gate m) ⊙ W_up m`); StarCoder2's is not.
    pub fn gated_ffn(&self) -> bool {
        !self.blocks.first().is_some_and(|b| matches!(b.gate_up, GateUp::Plain(_)))
    }

    /// Cohere's `logit_scale`: what the logits are multiplied by.
    pub fn logit_scale(&self) -> Option<f32> {
        self.logit_scale
    }

    /// Whether each rotated pair is two neighbouring dimensions (Cohere).
    pub fn rotary_interleaved(&self) -> bool {
        self.rotary.interleaved
    }

    /// OLMo 1's `clip_qkv`: the bound q, k and v are clamped to.
    pub fn clip_qkv(&self) -> Option<f32> {
        self.clip_qkv
    }

    /// Whether attention and the MLP read one normed input and join the stream together (StableLM's
    /// `use_parallel_residual`).
    pub fn parallel_residual(&self) -> bool {
        self.parallel
    }

    /// Whether each head's q/k norm has a scale of its own (StableLM's `qk_layernorm`), rather than
    /// one that every head shares.
    pub fn qk_norm_own_scales(&self) -> bool {
        self.blocks.first().and_then(|b| b.qk_norm.as_ref()).is_some_and(|(q, _)| q.width < q.scale.len())
    }

    /// The layers (0-based) whose queries and keys are not rotated: SmolLM3's "NoPE" layers.
    pub fn unrotated_layers(&self) -> Vec<usize> {
        self.blocks.iter().enumerate().filter(|(_, b)| b.turn == Turn::None).map(|(i, _)| i).collect()
    }

    /// The factor the attention scores `q·k` are multiplied by, and whether the config sets it
    /// directly (Granite's `attention_multiplier`) rather than as `head_dim^-1/2` or Gemma's scalar.
    pub fn score_scale(&self) -> (f32, bool) {
        (self.attn_scale, self.flavour == Flavour::Granite)
    }

    /// Granite's `residual_multiplier` (1 for the others).
    pub fn residual_scale(&self) -> f32 {
        self.residual_scale
    }

    /// Granite's `logits_scaling`: what the logits are divided by.
    pub fn logits_divisor(&self) -> Option<f32> {
        self.logits_divisor
    }

    fn tied_in_config(&self) -> bool {
        tied_in_config(self.flavour, &self.config)
    }

    pub fn load(flavour: Flavour, config_json: &[u8], weights: Weights) -> Result<Self> {
        let cfg: LlamaConfig = parse_json("config.json", config_json)?;
        let raw: Map<String, Value> = parse_json("config.json", config_json)?;
        let (v, c, l, h, f) = (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size);
        if h == 0 {
            return Err(Error::config("num_attention_heads", "is 0", "Use the config.json saved with the weights"));
        }
        // Left out: Qwen2Config's default is 32 key/value heads (LlamaConfig's, the query heads); an
        // explicit null means the query heads in both.
        let kv = match (flavour, cfg.num_key_value_heads) {
            (Flavour::Qwen2 | Flavour::Qwen3, Keyed::Absent) => QWEN_DEFAULT_KV_HEADS,
            (Flavour::Mistral, Keyed::Absent) => MISTRAL_DEFAULT_KV_HEADS,
            (Flavour::Gemma, Keyed::Absent) => GEMMA_DEFAULT_KV_HEADS,
            (Flavour::Gemma2 | Flavour::Gemma3, Keyed::Absent) => GEMMA3_DEFAULT_KV_HEADS,
            (Flavour::SmolLm3, Keyed::Absent) => SMOLLM3_DEFAULT_KV_HEADS,
            (Flavour::StableLm, Keyed::Absent) => STABLELM_DEFAULT_KV_HEADS,
            (Flavour::Starcoder2, Keyed::Absent) => STARCODER2_DEFAULT_KV_HEADS,
            // CohereConfig: none given, the query heads.
            (_, keyed) => keyed.value().unwrap_or(h),
        };
        if kv == 0 || h % kv != 0 {
            return Err(Error::config(
                "num_key_value_heads",
                format!("is {kv}, but the {h} query heads must split evenly into groups sharing one key/value head"),
                "Use the config.json saved with the weights",
            ));
        }
        // HF's LlamaConfig, Gemma2Config and Gemma3TextConfig validate hidden_size % heads even when head_dim is given.
        if matches!(flavour, Flavour::Llama | Flavour::Gemma2 | Flavour::Gemma3 | Flavour::StableLm) && c % h != 0 {
            return Err(Error::config("num_attention_heads", format!("hidden_size {c} is not divisible by {h} heads"), "Use the config.json saved with the weights"));
        }
        let head_dim = match (flavour, raw.get("head_dim")) {
            // Qwen3Config's head width is its own key, 128 when left out (not hidden_size / heads);
            // an explicit null makes transformers fail.
            (Flavour::Qwen3, None) => Some(QWEN3_DEFAULT_HEAD_DIM),
            (Flavour::Qwen3, Some(Value::Null)) => {
                return Err(Error::config("head_dim", "is null, but Qwen3 takes the head width from it", "Set head_dim (Qwen3Config's default is 128)"))
            }
            (Flavour::Gemma | Flavour::Gemma2 | Flavour::Gemma3, None) => Some(GEMMA_DEFAULT_HEAD_DIM),
            // OLMo 1's and Cohere's attention read head_dim when the key is there at all: a null one
            // makes transformers fail where a missing one gives hidden_size / heads.
            (Flavour::Olmo | Flavour::Cohere, Some(Value::Null)) => {
                return Err(Error::config("head_dim", format!("is null, which {} cannot size its heads by", flavour.model_type()), "Remove head_dim (the heads are then hidden_size / heads wide)"))
            }
            // StableLM's attention is always hidden_size / heads wide, but its rotation would size
            // itself by a head_dim key: any other width leaves the two disagreeing.
            (Flavour::StableLm, Some(v)) if !v.is_null() && v.as_u64() != Some((c / h) as u64) => {
                return Err(Error::config("head_dim", format!("is {v}, but StableLM's heads are hidden_size / heads = {} wide", c / h), "Remove head_dim"))
            }
            (Flavour::StableLm, _) => None,
            _ => cfg.head_dim,
        };
        let d = match head_dim {
            Some(d) if d == 0 || d as u64 > MAX_DIM => {
                return Err(Error::config("head_dim", format!("is {d}, outside 1 to {MAX_DIM}"), "Use the config.json saved with the weights"))
            }
            Some(d) => d,
            None if c % h == 0 => c / h,
            // MistralConfig (and Granite's, OLMo 2's, SmolLM3's attention) round down
            // (hidden_size // heads); the projections then narrow the stream.
            None if flavour.floors_head_width() && c >= h => c / h,
            None => return Err(Error::config("num_attention_heads", format!("hidden_size {c} is not divisible by {h} heads"), "Add head_dim or use the config.json saved with the weights")),
        };
        let max_positions = cfg.max_position_embeddings.unwrap_or(match flavour {
            Flavour::Llama | Flavour::Granite | Flavour::Olmo | Flavour::Olmo2 | Flavour::Olmo3 => 2048,
            Flavour::Phi3 | Flavour::StableLm | Flavour::Starcoder2 => 4096,
            Flavour::Qwen2 | Flavour::Qwen3 | Flavour::SmolLm3 => 32768,
            Flavour::Mistral => 4096 * 32,
            Flavour::Gemma | Flavour::Gemma2 | Flavour::Cohere => 8192,
            Flavour::Gemma3 => 131_072,
        });
        let (rotary, local_rotary) = match flavour {
            Flavour::Gemma3 => {
                let (full, sliding) = gemma3_rotaries(&raw, d, max_positions)?;
                (full, Some(sliding))
            }
            Flavour::Olmo3 => {
                let (full, sliding) = olmo3_rotaries(&raw, d, max_positions)?;
                (full, Some(sliding))
            }
            // SmolLM3Config's base is 2,000,000 when the config gives none.
            Flavour::SmolLm3 => (Rotary::from_config(&with_default_theta(&raw, SMOLLM3_DEFAULT_ROPE_THETA), d, max_positions)?, None),
            // Phi-3 turns part of each head when asked (Phi-4-mini: 0.75) and may use LongRoPE.
            Flavour::Phi3 => (Rotary::from_config_partial(&phi3_rope_keys(&raw)?, d, max_positions)?, None),
            // StableLmConfig turns a quarter of each head unless told otherwise.
            Flavour::StableLm => (Rotary::from_config_partial(&super::phi::with_partial_default(&raw, STABLELM_DEFAULT_PARTIAL_ROTARY_FACTOR), d, max_positions)?, None),
            // Cohere turns neighbouring dimensions together: pair i is (2i, 2i+1). CohereConfig's base
            // is 500,000 when the config gives none (transformers 5; a 4.x config always wrote its own).
            Flavour::Cohere => {
                let mut rotary = Rotary::from_config(&with_default_theta(&raw, COHERE_DEFAULT_ROPE_THETA), d, max_positions)?;
                rotary.interleaved = true;
                (rotary, None)
            }
            _ => (Rotary::from_config(&raw, d, max_positions)?, None),
        };
        let (activation_key, activation_name) = match flavour {
            Flavour::Gemma2 | Flavour::Gemma3 => ("hidden_activation", cfg.hidden_activation.clone().unwrap_or_else(|| "gelu_pytorch_tanh".into())),
            // GemmaConfig reads `hidden_act` (the tanh GELU when left out) and turns the official
            // checkpoints' legacy "gelu" into the tanh approximation they were trained with.
            // Starcoder2Config's activation is the tanh GELU when the config gives none.
            Flavour::Starcoder2 if !raw.contains_key("hidden_act") => ("hidden_act", "gelu_pytorch_tanh".into()),
            Flavour::Gemma => match raw.get("hidden_act").and_then(Value::as_str) {
                None | Some("gelu") => ("hidden_act", "gelu_pytorch_tanh".into()),
                Some(name) => ("hidden_act", name.to_string()),
            },
            _ => ("hidden_act", cfg.hidden_act.clone()),
        };
        let activation = Activation::from_config(activation_key, &activation_name)?;
        refuse_unsupported(flavour, &raw)?;
        let score_scalar = flavour.has_output_norms().then(|| cfg.query_pre_attn_scalar.unwrap_or(GEMMA_DEFAULT_QUERY_PRE_ATTN_SCALAR));
        // Granite's four multipliers (GraniteConfig's default for each is 1, the attention's too).
        let multiplier = |key: &str, value: Option<f64>| -> Result<f32> {
            match value.unwrap_or(1.0) {
                m if m.is_finite() && (m as f32).is_finite() => Ok(m as f32),
                m => Err(Error::config(key, format!("is {m}, but it must be a finite number"), "Use the config.json saved with the weights")),
            }
        };
        let granite = flavour == Flavour::Granite;
        let (embed_multiplier, residual_scale) = match granite {
            true => (multiplier("embedding_multiplier", cfg.embedding_multiplier)?, multiplier("residual_multiplier", cfg.residual_multiplier)?),
            false => (1.0, 1.0),
        };
        let logits_divisor = match granite {
            true => match multiplier("logits_scaling", cfg.logits_scaling)? {
                0.0 => return Err(Error::config("logits_scaling", "is 0, and the logits are divided by it", "Use the config.json saved with the weights")),
                1.0 => None,
                s => Some(s),
            },
            false => None,
        };
        let attn_scale = match score_scalar {
            _ if granite => multiplier("attention_multiplier", cfg.attention_multiplier)?,
            Some(scalar) if !(scalar.is_finite() && scalar > 0.0) => {
                return Err(Error::config("query_pre_attn_scalar", format!("is {scalar}, but the scores are scaled by its inverse square root"), "Use the config.json saved with the weights (usually the head width, 256)"))
            }
            Some(scalar) => crate::math::pow(scalar, -0.5) as f32,
            None => 1.0 / (d as f32).sqrt(),
        };
        // Gemma 2's caps are on unless the config says null (Gemma2Config: 30 on the logits, 50 on
        // the scores); Gemma 3 caps the logits only when asked, and never its scores (transformers
        // 5's Gemma3Attention does not pass the key on).
        let cap = |key: &str, keyed: Keyed<f64>, gemma2_default: f64| -> Result<Option<f32>> {
            let cap = match (flavour, keyed) {
                (Flavour::Gemma2, Keyed::Absent) => Some(gemma2_default),
                (Flavour::Gemma2 | Flavour::Gemma3, keyed) => keyed.value(),
                _ => None,
            };
            match cap {
                Some(c) if !(c.is_finite() && c > 0.0) => Err(Error::config(key, format!("is {c}, but a cap must be a positive number"), "Use the config.json saved with the weights, or null for none")),
                c => Ok(c.map(|c| c as f32)),
            }
        };
        let logit_cap = cap("final_logit_softcapping", cfg.final_logit_softcapping, 30.0)?;
        let score_cap = match flavour {
            Flavour::Gemma2 => cap("attn_logit_softcapping", cfg.attn_logit_softcapping, 50.0)?,
            _ => None,
        };
        // Qwen2Config and Qwen3Config refuse a null here (left out, it is 28).
        if flavour.is_qwen() && raw.get("max_window_layers").is_some_and(Value::is_null) {
            return Err(Error::config("max_window_layers", "is null, which transformers refuses", "Set it to the number of layers that attend to every key (Qwen's default is 28)"));
        }
        let (windows, window_key) = sliding_windows(flavour, &cfg)?;

        let w = weights.with_prefixes(&["model."]);
        let (qkv_bias, o_bias, mlp_bias) = match flavour {
            Flavour::Llama | Flavour::Granite | Flavour::SmolLm3 => (cfg.attention_bias, cfg.attention_bias, cfg.mlp_bias),
            Flavour::Olmo | Flavour::Olmo2 | Flavour::Olmo3 => (cfg.attention_bias, cfg.attention_bias, false),
            Flavour::Qwen2 => (true, false, false),
            Flavour::Qwen3 | Flavour::Gemma | Flavour::Gemma2 | Flavour::Gemma3 | Flavour::Cohere => (cfg.attention_bias, cfg.attention_bias, false),
            Flavour::Mistral | Flavour::Phi3 => (false, false, false),
            Flavour::StableLm => (cfg.use_qkv_bias, false, false),
            Flavour::Starcoder2 => {
                let bias = cfg.use_bias.unwrap_or(true);
                (bias, bias, bias)
            }
        };
        let (gemma, output_norms, olmo2) = (flavour.is_gemma(), flavour.has_output_norms(), flavour.is_olmo());
        let phi3 = flavour == Flavour::Phi3;
        let no_rope = no_rope_layers(flavour, &cfg)?;
        let stablelm = flavour == Flavour::StableLm;
        let starcoder2 = flavour == Flavour::Starcoder2;
        let clip_qkv = match (flavour, cfg.clip_qkv) {
            (Flavour::Olmo, Some(clip)) if !(clip as f32).is_finite() => {
                return Err(Error::config("clip_qkv", format!("is {clip}, but it must be a finite number"), "Use the config.json saved with the weights, or null for no clipping"))
            }
            (Flavour::Olmo, clip) => clip.map(|c| c as f32),
            _ => None,
        };
        // Cohere's block is always parallel; StableLM's when asked.
        let parallel = (stablelm && cfg.use_parallel_residual) || flavour == Flavour::Cohere;
        let logit_scale = match (flavour, cfg.logit_scale) {
            (Flavour::Cohere, Keyed::Absent) => Some(COHERE_DEFAULT_LOGIT_SCALE),
            (Flavour::Cohere, Keyed::Given(x)) if (x as f32).is_finite() => Some(x as f32),
            (Flavour::Cohere, _) => {
                return Err(Error::config("logit_scale", "must be a finite number: Cohere multiplies its logits by it (transformers fails on null)", "Use the config.json saved with the weights (Cohere's default is 0.0625)"))
            }
            _ => None,
        };
        // Gemma's RMSNorm multiplies by (1 + w) (`1.0 + weight.float()` in HF): the same f32 sum, made once.
        let norm_of = |name: &str, width: usize| -> Result<Norm> {
            // OLMo 1's LayerNorms learn nothing: a scale of ones and a shift of zeros change no number.
            if flavour == Flavour::Olmo {
                return Ok(Norm { scale: vec![1.0; width], shift: Some(vec![0.0; width]), width });
            }
            let mut scale = w.get(&format!("{name}.weight"), &[width])?;
            if gemma {
                scale.iter_mut().for_each(|x| *x += 1.0);
            }
            let shift = match flavour.layer_norm() {
                Some("scale and shift") => Some(w.get(&format!("{name}.bias"), &[width])?),
                Some(_) => Some(vec![0.0; width]),
                None => None,
            };
            Ok(Norm { scale, shift, width })
        };
        // StableLM's q/k norms: one bias-free LayerNorm per head (`norms.{j}`), gathered head after head.
        let per_head_norm = |name: &str, heads: usize| -> Result<Norm> {
            let mut scale = Vec::with_capacity(heads * d);
            for j in 0..heads {
                scale.extend(w.get(&format!("{name}.norms.{j}.weight"), &[d])?);
            }
            Ok(Norm { scale, shift: Some(vec![0.0; heads * d]), width: d })
        };
        let norm = |name: &str| norm_of(name, c);
        let mut blocks = Vec::with_capacity(l);
        for (i, window) in windows.into_iter().enumerate() {
            let n = format!("layers.{i}");
            let ln = |name: &str| norm(&format!("{n}.{name}"));
            blocks.push(Block {
                input_norm: if olmo2 { None } else { Some(ln("input_layernorm")?) },
                qkv: match phi3 {
                    true => QkvProj::Fused(linear(&w, &format!("{n}.self_attn.qkv_proj"), c, (h + 2 * kv) * d, false)?),
                    false => QkvProj::Separate {
                        q: linear(&w, &format!("{n}.self_attn.q_proj"), c, h * d, qkv_bias)?,
                        k: linear(&w, &format!("{n}.self_attn.k_proj"), c, kv * d, qkv_bias)?,
                        v: linear(&w, &format!("{n}.self_attn.v_proj"), c, kv * d, qkv_bias)?,
                    },
                },
                o_proj: linear(&w, &format!("{n}.self_attn.o_proj"), h * d, c, o_bias)?,
                // Gemma 2 and 3 name their norms for where they sit: `post_attention_layernorm` is the
                // attention output's, `pre_feedforward_layernorm` the MLP input's.
                // OLMo 2 has only these two, on the outputs: `post_attention_layernorm` and
                // `post_feedforward_layernorm`.
                attn_out_norm: if output_norms || olmo2 { Some(ln("post_attention_layernorm")?) } else { None },
                mlp_norm: match (olmo2 || parallel, output_norms) {
                    (true, _) => None,
                    (false, true) => Some(ln("pre_feedforward_layernorm")?),
                    (false, false) => Some(ln("post_attention_layernorm")?),
                },
                gate_up: match (phi3, starcoder2) {
                    (true, _) => GateUp::Fused(linear(&w, &format!("{n}.mlp.gate_up_proj"), c, 2 * f, false)?),
                    (_, true) => GateUp::Plain(linear(&w, &format!("{n}.mlp.c_fc"), c, f, mlp_bias)?),
                    _ => GateUp::Separate {
                        gate: linear(&w, &format!("{n}.mlp.gate_proj"), c, f, mlp_bias)?,
                        up: linear(&w, &format!("{n}.mlp.up_proj"), c, f, mlp_bias)?,
                    },
                },
                down_proj: linear(&w, &format!("{n}.mlp.{}", if starcoder2 { "c_proj" } else { "down_proj" }), f, c, mlp_bias)?,
                mlp_out_norm: if output_norms || olmo2 { Some(ln("post_feedforward_layernorm")?) } else { None },
                qk_norm: match flavour {
                    Flavour::Qwen3 | Flavour::Gemma3 => Some((norm_of(&format!("{n}.self_attn.q_norm"), d)?, norm_of(&format!("{n}.self_attn.k_norm"), d)?)),
                    // OLMo 2 normalises the whole projection, all heads together, before splitting it.
                    Flavour::Olmo2 | Flavour::Olmo3 => Some((norm_of(&format!("{n}.self_attn.q_norm"), h * d)?, norm_of(&format!("{n}.self_attn.k_norm"), kv * d)?)),
                    Flavour::StableLm if cfg.qk_layernorm => Some((per_head_norm(&format!("{n}.self_attn.q_layernorm"), h)?, per_head_norm(&format!("{n}.self_attn.k_layernorm"), kv)?)),
                    // Cohere: one [H][D] scale, each head's row its own, no shift.
                    Flavour::Cohere if cfg.use_qk_norm => {
                        let own = |name: &str, heads: usize| -> Result<Norm> {
                            Ok(Norm { scale: w.get(&format!("{n}.self_attn.{name}.weight"), &[heads, d])?, shift: Some(vec![0.0; heads * d]), width: d })
                        };
                        Some((own("q_norm", h)?, own("k_norm", kv)?))
                    }
                    _ => None,
                },
                window,
                turn: match (flavour, window) {
                    (Flavour::Gemma3 | Flavour::Olmo3, LayerWindow::Sliding(_)) => Turn::Local,
                    _ if no_rope.get(i).copied().unwrap_or(false) => Turn::None,
                    _ => Turn::Shared,
                },
            });
        }
        // Packed like every other matrix, in the load's storage (a 16-bit file's table stays 16-bit,
        // int8 makes it int8 as GPT-2's): rows are widened when a token is embedded, and the tied head
        // streams it as one GEMV. Int8 tables matter here: a large vocabulary is a large share of a
        // small Llama-style model (Qwen2-0.5B: 136M of 494M parameters), and a table left 16-bit made
        // an int8 Qwen2-shaped model decode only 1.3-1.5x faster than f32. The int8 rows move the fixtures'
        // logits a little more (`tests/rust/int8_logits.rs`: qwen2 3.6% -> 4.7% of their spread, under
        // its 5%); on those tiny random models nearly all of that comes from the rows, not the head.
        let tie = tied_in_config(flavour, &cfg);
        let table = super::layers::tied_table_name(&w, "embed_tokens.weight", "lm_head.weight", tie);
        let embed = super::layers::token_table(&w, table, v, c)?;
        let final_norm = norm("norm")?;
        // Tied: the head is the embedding table, unless the file stores a head that differs from it
        // (transformers 5 leaves that pair untied). Untied: the head must be stored (a base
        // LlamaModel has none, and then there are no logits).
        let tied = tie && !super::layers::stored_head_differs(&w, "lm_head.weight", table, v, c)?;
        let (lm_head, has_head) = if tied {
            (None, true)
        } else {
            match w.contains("lm_head.weight") || matches!(w, Weights::Random { .. }) {
                true => (Some(super::layers::token_table(&w, "lm_head.weight", v, c)?), true),
                false => (None, false),
            }
        };
        // A norm's stored numbers: its scale, and its bias when it has one.
        let norm_params = match flavour.layer_norm() {
            Some("scale and shift") => 2 * c,
            Some("nothing") => 0,
            _ => c,
        };
        let per_layer = norm_params * if output_norms { 4 } else if parallel { 1 } else { 2 }
            + (c * h * d + if qkv_bias { h * d } else { 0 })
            + 2 * (c * kv * d + if qkv_bias { kv * d } else { 0 })
            + (h * d * c + if o_bias { c } else { 0 })
            + if starcoder2 { 2 * c * f } else { 3 * c * f }
            + if mlp_bias { if starcoder2 { f + c } else { 2 * f + c } } else { 0 }
            + match flavour {
                Flavour::Qwen3 | Flavour::Gemma3 => 2 * d,
                Flavour::Olmo2 | Flavour::Olmo3 => h * d + kv * d,
                Flavour::StableLm if cfg.qk_layernorm => h * d + kv * d,
                Flavour::Cohere if cfg.use_qk_norm => h * d + kv * d,
                _ => 0,
            };
        let n_params = v * c + norm_params + l * per_layer + lm_head.as_ref().map_or(0, Linear::n_params);
        let id = |field: &str, value: &Option<Value>| token_id(field, value);
        let mut info = ModelInfo {
            model_type: flavour.model_type().into(),
            kind: Kind::DecoderOnly,
            positions: Positions::Rotary,
            n_layers: l,
            n_decoder_layers: l,
            n_heads: h,
            d_model: c,
            d_ff: f,
            vocab_size: v,
            max_positions: Some(max_positions),
            n_params,
            has_lm_head: has_head,
            bos_token_id: class_default(flavour, &raw, "bos_token_id").unwrap_or(id("bos_token_id", &cfg.bos_token_id)?),
            eos_token_id: class_default(flavour, &raw, "eos_token_id").unwrap_or(id("eos_token_id", &cfg.eos_token_id)?),
            pad_token_id: class_default(flavour, &raw, "pad_token_id").unwrap_or(id("pad_token_id", &cfg.pad_token_id)?),
            decoder_start_token_id: None,
        };
        let embed_scale = if gemma { (c as f64).sqrt() as f32 } else { embed_multiplier };
        let phi3_original_positions = match phi3 {
            true => Some(match raw.get("original_max_position_embeddings") {
                None | Some(Value::Null) => PHI3_DEFAULT_ORIGINAL_POSITIONS as usize,
                Some(v) => v.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| {
                    Error::config("original_max_position_embeddings", format!("is {v}, but it must be a whole number of positions"), "Use the config.json saved with the weights")
                })?,
            }),
            false => None,
        };
        // StableLM's and Cohere's layer_norm_eps and StarCoder2's norm_epsilon have defaults only when
        // left out: transformers refuses or fails on a null one.
        for (key, family) in [("layer_norm_eps", Flavour::StableLm), ("layer_norm_eps", Flavour::Cohere), ("norm_epsilon", Flavour::Starcoder2)] {
            if flavour == family && raw.get(key).is_some_and(Value::is_null) {
                return Err(Error::config(key, format!("is null, but {}'s norms need an epsilon", flavour.model_type()), "Remove the key (the default is 1e-5) or give a small number"));
            }
        }
        let eps = match flavour {
            Flavour::StableLm | Flavour::Cohere => cfg.layer_norm_eps.unwrap_or(OLMO2_DEFAULT_EPS),
            // OLMo 1's norms always use 1e-5: no config key reaches them.
            Flavour::Olmo => OLMO2_DEFAULT_EPS,
            Flavour::Starcoder2 => cfg.norm_epsilon.unwrap_or(OLMO2_DEFAULT_EPS),
            _ => cfg.rms_norm_eps.unwrap_or(if olmo2 || phi3 { OLMO2_DEFAULT_EPS } else { DEFAULT_EPS }),
        };
        // A fine-tuned checkpoint's head: `score` (at the last token, or on every token).
        // `token_classification_bias` (the generic token head's, true when left out): a false one, as
        // Python reads it (false, null, 0), builds `score` without a bias, and a stored one goes unread.
        let token_bias = raw.get("token_classification_bias").is_none_or(|v| !(v.is_null() || *v == false || *v == 0));
        let classifier = match super::classifier::requested(config_json)? {
            Some(head) => Some(super::classifier::ClassifierHead::decoder(&w, head, "score", token_bias, c)?),
            None => None,
        };
        if let Some(head) = &classifier {
            info.n_params += head.n_params();
        }
        Ok(Llama {
            flavour, config: cfg, info, rotary, local_rotary, n_kv_heads: kv, d_head: d, embed, blocks, norm: final_norm, lm_head, has_head,
            activation, activation_name, max_positions, window_key, embed_scale, score_scalar, attn_scale, score_cap, logit_cap, eps,
            residual_scale, logits_divisor, phi3_original_positions, classifier, parallel, clip_qkv, logit_scale,
        })
    }

    /// Run `ids` at positions `past..past+T` through every layer, reading and extending `caches`
    /// (`[P][KV·D]` keys, rotated, and values). Returns the hidden state after the final norm: `[T][C]`.
    fn run(&self, ids: &[u32], caches: &mut [KvCache], recorder: &mut Recorder) -> Result<Array2<f32>> {
        let (c, h, kv_heads, d) = (self.config.hidden_size, self.config.num_attention_heads, self.n_kv_heads, self.d_head);
        let t = ids.len();
        let past = caches.first().map_or(0, KvCache::len);
        if past + t > self.max_positions {
            return Err(Error::input(
                format!("the sequence would be {} tokens long but this model has positions for only {} (max_position_embeddings)", past + t, self.max_positions),
                "Shorten the prompt or generate fewer tokens",
            ));
        }
        let cache_only = self.blocks.iter().filter_map(|b| match b.window {
            LayerWindow::CacheOnly(n) => Some(n),
            _ => None,
        });
        if let Some(w) = cache_only.min().filter(|&w| past + t > w) {
            return Err(Error::input(
                format!(
                    "the sequence would be {} tokens long, past the window of {w} keys ({}) that Hugging Face's generation cache keeps but its forward pass ignores",
                    past + t,
                    self.window_key
                ),
                format!("Keep prompt and generation within {w} tokens, where the two agree"),
            ));
        }
        let eps = self.eps;
        let mut x = activations::embed(&TokenTable::Packed(&self.embed), c, ids); // [T][C]
        if self.embed_scale != 1.0 {
            x *= self.embed_scale;
        }
        // Positions past..past+T, shared by every layer of one rotation.
        let turn = self.rotary.cos_sin(past, t);
        let local_turn = self.local_rotary.as_ref().map(|r| r.cos_sin(past, t));
        for (l, (block, cache)) in self.blocks.iter().zip(caches.iter_mut()).enumerate() {
            recorder.hidden_state(&x);
            // x = x + Wo · attn(rope(Wq a), rope(Wk a), Wv a),  a = rms_1(x)
            let a = match &block.input_norm {
                Some(norm) => norm.normed(x.view(), eps), // [T][C]
                None => x.clone(),                                  // OLMo 2: the stream itself
            };
            let (mut q, mut k, mut v) = block.qkv.apply(a.view(), h * d, kv_heads * d); // [T][H·D], [T][KV·D], [T][KV·D]
            if let Some(c) = self.clip_qkv {
                // OLMo 1, as torch's clamp(min=-c, max=c): the upper bound wins should they cross.
                for x in [&mut q, &mut k, &mut v] {
                    x.mapv_inplace(|z| z.max(-c).min(c));
                }
            }
            if let Some((q_norm, k_norm)) = &block.qk_norm {
                // Qwen3, Gemma 3: every D-wide head slice of q and k is RMS-normalised with its own
                // weights; OLMo 2's weights span the whole row, so each row is one slice.
                q_norm.apply(flat_mut(&mut q), eps);
                k_norm.apply(flat_mut(&mut k), eps);
            }
            let layer_turn = match (block.turn, &local_turn) {
                (Turn::Local, Some(local)) => Some(local),
                (Turn::None, _) => None,
                _ => Some(&turn),
            };
            if let Some(turn) = layer_turn {
                turn.rotate_rows(&mut q);
                turn.rotate_rows(&mut k);
            }
            cache.append(k.view(), v.view());
            // Grouped-query attention: every query head of a group reads its group's key/value head
            // (`attend` sees KV·D-wide rows and indexes them; the cache is not repeated).
            recorder.kv_heads(l, kv_heads);
            let mask = match block.window {
                LayerWindow::Sliding(window) => Mask::Sliding { past, window },
                _ => Mask::Causal { past },
            };
            let ctx = attend_capped(q.view(), cache.keys(), cache.values(), h, d, self.attn_scale, self.score_cap, mask, None, recorder.layer(l));
            cache.layer_done();
            let mut out = activations::linear(&block.o_proj, ctx.view()); // [T][C]
            recorder.trace_io(l, &a, &out);
            if let Some(norm) = &block.attn_out_norm {
                norm.apply(flat_mut(&mut out), eps);
            }
            if self.residual_scale != 1.0 {
                out *= self.residual_scale; // Granite
            }
            x += &out;
            // x = x + W_down (act(W_gate m) ⊙ W_up m),  m = rms_2(x)
            // (HF adds the parallel block's two outputs in this order too: stream + attention + MLP.)
            let m = match &block.mlp_norm {
                Some(norm) => norm.normed(x.view(), eps),
                None if self.parallel => a,
                None => x.clone(), // OLMo 2
            };
            let gate = block.gate_up.apply(m.view(), self.activation, self.config.intermediate_size); // [T][F]
            let mut down = activations::linear(&block.down_proj, gate.view()); // [T][C]
            if let Some(norm) = &block.mlp_out_norm {
                norm.apply(flat_mut(&mut down), eps);
            }
            if self.residual_scale != 1.0 {
                down *= self.residual_scale;
            }
            x += &down;
        }
        self.norm.apply(flat_mut(&mut x), eps);
        recorder.hidden_state(&x);
        Ok(x)
    }

    /// `h: [T][C]` -> logits `[T][V]`, or `None` for a base model without an LM head.
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        if !self.has_head {
            return None;
        }
        let mut logits = activations::linear(self.lm_head.as_ref().unwrap_or(&self.embed), h); // [T][V]
        if let Some(cap) = self.logit_cap {
            // Gemma 3: cap · tanh(logit / cap), in HF's order of operations.
            logits.mapv_inplace(|z| super::layers::tanh(z / cap) * cap);
        }
        if let Some(divisor) = self.logits_divisor {
            logits.mapv_inplace(|z| z / divisor); // Granite's logits_scaling
        }
        if let Some(scale) = self.logit_scale {
            logits *= scale; // Cohere's logit_scale
        }
        Some(logits)
    }

    /// Logits as if the model stopped at hidden state `x: [T][C]`: the final norm then the head;
    /// the last state (`last`) has been through the norm already.
    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Option<Array2<f32>> {
        if last {
            return self.lm_logits(x);
        }
        let normed = self.norm.normed(x, self.eps); // one copy, normalised in place
        self.lm_logits(normed.view())
    }

    pub(crate) fn token_table(&self) -> TokenTable<'_> {
        TokenTable::Packed(&self.embed)
    }

    /// The rotation angles of positions `0..n` (for the positions view).
    pub fn rotary_angles(&self, n: usize) -> RotaryAngles {
        self.rotary.angles(n)
    }
}

impl DecoderOnly for Llama {
    fn classifier_head(&self) -> Option<&super::classifier::ClassifierHead> {
        self.classifier.as_ref()
    }
    fn decoder_shape(&self) -> (usize, usize) {
        (self.config.num_hidden_layers, self.config.num_attention_heads)
    }
    fn run(&self, ids: &[u32], caches: &mut [KvCache], rec: &mut Recorder) -> Result<Array2<f32>> {
        Llama::run(self, ids, caches, rec)
    }
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        Llama::lm_logits(self, h)
    }
    /// Phi-3 (HF's `Phi3ForCausalLM.prepare_inputs_for_generation`): when the text first reaches
    /// `original_max_position_embeddings + 1` tokens with at most that many cached, the cache is
    /// dropped and the whole text runs again, so that LongRoPE's long factors turn every position.
    fn rebuilds_cache_at(&self, past: usize, t: usize) -> bool {
        match self.phi3_original_positions {
            Some(original) => past <= original && past + t > original,
            None => false,
        }
    }
    fn check_can_generate(&self) -> Result<()> {
        if !self.has_head {
            return Err(Error::input(
                "this checkpoint has no LM head (lm_head.weight) and tie_word_embeddings is false, so it cannot predict tokens",
                "Load the ForCausalLM checkpoint, or set tie_word_embeddings if the head is the embedding table",
            ));
        }
        Ok(())
    }
}

/// Gemma 3's multimodal checkpoints (`gemma3`, `Gemma3ForConditionalGeneration`: gemma-3-4b and
/// larger): the language model alone, for text. Its settings are `text_config` (Gemma3TextConfig's
/// defaults where it leaves keys out), its weights sit under `language_model.model.` (as transformers
/// saves them) or `model.language_model.`, and the vision tower and projector are not read. The
/// conditional model's head is the table unless the outer config unties it, and it applies no
/// `final_logit_softcapping` (HF's `Gemma3ForConditionalGeneration.forward` does not), whatever
/// `text_config` says. On text alone HF runs exactly this: a causal mask, no image features.
pub fn load_gemma3_multimodal(config_json: &[u8], weights: Weights) -> Result<Llama> {
    let outer: Map<String, Value> = parse_json("config.json", config_json)?;
    let mut text = match outer.get("text_config") {
        Some(Value::Object(m)) => m.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(other) => return Err(Error::config("text_config", format!("is {other}, but it must be an object"), "Use the config.json saved with the weights")),
    };
    if let Some(tie) = outer.get("tie_word_embeddings").filter(|v| !v.is_null()) {
        text.insert("tie_word_embeddings".into(), tie.clone());
    }
    text.insert("final_logit_softcapping".into(), Value::Null);
    // Gemma3TextConfig's sizes when text_config leaves them out (as a default Gemma3Config does).
    for (key, value) in [("vocab_size", 262_208u64), ("hidden_size", 2304), ("intermediate_size", 9216), ("num_hidden_layers", 26), ("num_attention_heads", 8)] {
        text.entry(key).or_insert(Value::from(value));
    }
    let bytes = serde_json::to_vec(&Value::Object(text)).map_err(|e| Error::config("text_config", e.to_string(), "Use the config.json saved with the weights"))?;
    let mut model = Llama::load(Flavour::Gemma3, &bytes, weights.with_prefixes(&["language_model.model.", "model.language_model.", "language_model."]))?;
    model.info.model_type = "gemma3".into();
    Ok(model)
}

/// config.json's `tie_word_embeddings`, or its config class's default when left out (Gemma's,
/// Starcoder2's, Cohere's and SmolLM3's tie).
fn tied_in_config(flavour: Flavour, cfg: &LlamaConfig) -> bool {
    cfg.tie_word_embeddings.unwrap_or(flavour.is_gemma() || matches!(flavour, Flavour::Starcoder2 | Flavour::Cohere | Flavour::SmolLm3))
}

/// Keys that would change the numbers and that Glassbox does not implement.
fn refuse_unsupported(flavour: Flavour, raw: &Map<String, Value>) -> Result<()> {
    // HF 5 drops `pretraining_tp` (4.x split the same matmuls into slices: the same numbers), so it
    // is accepted. Gemma 3 reads `query_pre_attn_scalar` and `final_logit_softcapping`; its
    // attention never applies `attn_logit_softcapping` (transformers 5's Gemma3Attention does not
    // pass it on: Gemma 2's key, kept in the config class), so that key changes nothing there.
    let gemma_keys = ["attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar"];
    for key in gemma_keys.into_iter().chain(["embedding_multiplier", "logits_scaling", "residual_multiplier", "attention_multiplier"]) {
        if (flavour.has_output_norms() && gemma_keys.contains(&key)) || (flavour == Flavour::Granite && !gemma_keys.contains(&key)) {
            continue;
        }
        if raw.get(key).is_some_and(|v| !v.is_null()) {
            let fix = if gemma_keys.contains(&key) { "Check model_type: a key of Gemma 2 (\"gemma2\") and Gemma 3 (\"gemma3_text\")" } else { "Check model_type: this config looks like another family's" };
            return Err(Error::config(key, format!("is not part of {} and would change the numbers", flavour.model_type()), fix));
        }
    }
    if flavour.is_gemma() && raw.get("use_bidirectional_attention").is_some_and(|v| v.as_bool() == Some(true)) {
        return Err(Error::config(
            "use_bidirectional_attention",
            "is true: every token attends to the tokens after it too (an embedding model such as EmbeddingGemma), which Glassbox does not run",
            "Use a causal Gemma checkpoint (gemma-3-270m, gemma-2-2b, ...)",
        ));
    }
    Ok(())
}

/// Gemma 3's two rotations: its full-attention layers' (`rope_theta`, 1,000,000 when left out,
/// with `rope_scaling`) and its sliding layers' (`rope_local_base_freq`, 10,000 when left out,
/// never scaled). transformers 5 saves both under `rope_parameters`, keyed by layer type; a
/// `rope_scaling` beside it still applies to the full layers, as `Gemma3TextConfig` merges it.
/// OLMo 3's two rotations, one per layer type, both with a base of 500,000 when the config gives
/// none. A transformers-4 top-level `rope_theta` and `rope_scaling` reach the full-attention
/// layers only (`Olmo3Config` hands the key to the first type it fills): the sliding layers keep
/// 500,000 and no scaling unless `rope_parameters.sliding_attention` says otherwise.
fn olmo3_rotaries(raw: &Map<String, Value>, d_head: usize, max_positions: usize) -> Result<(Rotary, Rotary)> {
    let full = Rotary::for_layer_type(raw, d_head, max_positions, "OLMo 3", ("full_attention", "rope_theta", OLMO3_DEFAULT_ROPE_THETA), true)?;
    // No top-level key reaches the sliding layers: "" names none.
    let sliding = Rotary::for_layer_type(raw, d_head, max_positions, "OLMo 3", ("sliding_attention", "", OLMO3_DEFAULT_ROPE_THETA), false)?;
    Ok((full, sliding))
}

fn gemma3_rotaries(raw: &Map<String, Value>, d_head: usize, max_positions: usize) -> Result<(Rotary, Rotary)> {
    let full = Rotary::for_layer_type(raw, d_head, max_positions, "Gemma 3", ("full_attention", "rope_theta", 1_000_000.0), true)?;
    let sliding = Rotary::for_layer_type(raw, d_head, max_positions, "Gemma 3", ("sliding_attention", "rope_local_base_freq", 10_000.0), false)?;
    Ok((full, sliding))
}

/// `Qwen2Config`'s, `Qwen3Config`'s and `MistralConfig`'s defaults for keys a config leaves out
/// (not for an explicit null).
const QWEN_DEFAULT_KV_HEADS: usize = 32;
const QWEN3_DEFAULT_HEAD_DIM: usize = 128;
const MISTRAL_DEFAULT_KV_HEADS: usize = 8;
const DEFAULT_SLIDING_WINDOW: usize = 4096;
const GEMMA_DEFAULT_KV_HEADS: usize = 16;
const GEMMA3_DEFAULT_KV_HEADS: usize = 4; // Gemma 2's too
const GEMMA_DEFAULT_HEAD_DIM: usize = 256;
const GEMMA_DEFAULT_QUERY_PRE_ATTN_SCALAR: f64 = 256.0;
/// Gemma 3 configs without `layer_types`: every sixth layer attends to every key, the rest slide.
const GEMMA3_DEFAULT_SLIDING_WINDOW_PATTERN: usize = 6;
const SMOLLM3_DEFAULT_KV_HEADS: usize = 4;
const SMOLLM3_DEFAULT_ROPE_THETA: f64 = 2_000_000.0;
/// CohereConfig's rotary base when config.json gives none (transformers 5's `default_theta`).
const COHERE_DEFAULT_ROPE_THETA: f64 = 500_000.0;
/// SmolLM3 without `no_rope_layers`: every fourth layer has no rotation.
const SMOLLM3_DEFAULT_NO_ROPE_INTERVAL: usize = 4;
const DEFAULT_EPS: f32 = 1e-6;
const OLMO2_DEFAULT_EPS: f32 = 1e-5; // Phi-3's too
const OLMO3_DEFAULT_ROPE_THETA: f64 = 500_000.0;
const OLMO3_DEFAULT_EOS: u32 = 50_279;
const OLMO3_DEFAULT_PAD: u32 = 1;
const PHI3_DEFAULT_BOS: u32 = 1;
const PHI3_DEFAULT_EOS: u32 = 32_000; // and pad
const PHI3_DEFAULT_ORIGINAL_POSITIONS: u64 = 4096;
const STABLELM_DEFAULT_KV_HEADS: usize = 32;
const STARCODER2_DEFAULT_KV_HEADS: usize = 2;
const COHERE_DEFAULT_LOGIT_SCALE: f32 = 0.0625;
const COHERE_DEFAULT_BOS: u32 = 5;
const COHERE_DEFAULT_EOS: u32 = 255_001;
/// Starcoder2Config's bos and eos when config.json leaves them out.
const STARCODER2_DEFAULT_SPECIAL: u32 = 50_256;
const STABLELM_DEFAULT_PARTIAL_ROTARY_FACTOR: f64 = 0.25;
/// StableLmConfig's bos and eos when config.json leaves them out.
const STABLELM_DEFAULT_SPECIAL: u32 = 0;

/// `raw` with `rope_theta` set to `theta` when neither it nor the rotary parameters give one.
fn with_default_theta(raw: &Map<String, Value>, theta: f64) -> Map<String, Value> {
    let given = |v: Option<&Value>| v.is_some_and(|v| !v.is_null());
    let in_params = ["rope_scaling", "rope_parameters"].iter().any(|key| given(raw.get(*key).and_then(|p| p.get("rope_theta"))));
    let mut raw = raw.clone();
    if !in_params && !given(raw.get("rope_theta")) {
        raw.insert("rope_theta".into(), Value::from(theta));
    }
    raw
}

/// SmolLM3's layers without a rotation ("NoPE"), one flag per layer: `no_rope_layers` (1: rotate,
/// 0: not; any number other than 0 counts as 1, as Python's truth does), else every
/// `no_rope_layer_interval`-th layer. Every layer of the other families rotates.
fn no_rope_layers(flavour: Flavour, cfg: &LlamaConfig) -> Result<Vec<bool>> {
    let l = cfg.num_hidden_layers;
    if flavour != Flavour::SmolLm3 {
        return Ok(vec![false; l]);
    }
    match &cfg.no_rope_layers {
        Some(flags) => {
            if flags.len() < l {
                return Err(Error::config("no_rope_layers", format!("has {} entries for {l} layers", flags.len()), "Use the config.json saved with the weights"));
            }
            flags[..l]
                .iter()
                .map(|f| match f {
                    Value::Bool(b) => Ok(!b),
                    Value::Number(n) if n.as_f64().is_some() => Ok(n.as_f64() == Some(0.0)),
                    other => Err(Error::config("no_rope_layers", format!("contains {other}, but each entry must be 1 (rotate) or 0 (no rotation)"), "Use the config.json saved with the weights")),
                })
                .collect()
        }
        None => match cfg.no_rope_layer_interval.unwrap_or(SMOLLM3_DEFAULT_NO_ROPE_INTERVAL) {
            0 => Err(Error::config("no_rope_layer_interval", "is 0, on which transformers fails (every n-th layer has no rotation)", "Use the config.json saved with the weights (SmolLM3's is 4)")),
            every => Ok((0..l).map(|i| (i + 1) % every == 0).collect()),
        },
    }
}

/// The attention window of each layer (`None`: full causal attention) and the config key it comes
/// from. Qwen2 and Qwen3, as their configs derive it: `layer_types` if given, else layers from
/// `max_window_layers` on slide when `use_sliding_window`. Mistral: every layer slides when
/// `sliding_window` is set (a mistral config with `layer_types` is Ministral to transformers, and
/// refused). Llama has no window, but a llama config that carries `sliding_window` or
/// `attention_chunk_size` makes HF's generation cache keep only that many keys in every layer
/// (`layer_types` if given: `cache_utils.get_layer_types_and_kwargs`); so does a mistral config
/// with `attention_chunk_size` and no window. Gemma 3: `layer_types`, else every
/// `sliding_window_pattern`-th layer (6th) attends to every key and the others slide (4096 keys
/// when `sliding_window` is left out). A window of 0, and a sliding layer without a window, make
/// transformers fail, and are refused by name.
fn sliding_windows(flavour: Flavour, cfg: &LlamaConfig) -> Result<(Vec<LayerWindow>, &'static str)> {
    let l = cfg.num_hidden_layers;
    let (sliding, chunked) = match flavour {
        Flavour::Gemma2 | Flavour::Gemma3 | Flavour::Olmo3 => (cfg.sliding_window.or_when_absent(Some(DEFAULT_SLIDING_WINDOW)), None),
        // Left out, the window is 4096; an explicit null means none.
        Flavour::Qwen2 | Flavour::Qwen3 => (if cfg.use_sliding_window { cfg.sliding_window.or_when_absent(Some(DEFAULT_SLIDING_WINDOW)) } else { None }, None),
        Flavour::Mistral => (cfg.sliding_window.or_when_absent(Some(DEFAULT_SLIDING_WINDOW)), cfg.attention_chunk_size),
        Flavour::Llama | Flavour::Gemma | Flavour::Granite | Flavour::Olmo2 => (cfg.sliding_window.value(), cfg.attention_chunk_size),
        // SmolLM3Config: no window unless given; its sliding layers are masked in the forward pass.
        Flavour::SmolLm3 => (cfg.sliding_window.value(), None),
        // Phi3Config and Starcoder2Config: no window unless given; then every layer slides, in the
        // forward mask and the cache.
        Flavour::Phi3 | Flavour::Starcoder2 => (cfg.sliding_window.value(), None),
        // StableLM and OLMo 1 have no window (shared_keys refuses the keys before this).
        Flavour::StableLm | Flavour::Olmo | Flavour::Cohere => (None, None),
    };
    // The families whose window only HF's generation cache applies (their forward pass has no sliding mask).
    let cache_only = matches!(flavour, Flavour::Llama | Flavour::Gemma | Flavour::Granite | Flavour::Olmo2);
    if matches!(flavour, Flavour::Phi3 | Flavour::Starcoder2) && cfg.layer_types.is_some() {
        return Err(Error::config(
            "layer_types",
            format!("is set, but {} has no per-layer attention types (its forward pass gives every layer the same mask)", flavour.model_type()),
            "Remove layer_types: sliding_window alone sets the window",
        ));
    }
    if flavour == Flavour::Mistral && cfg.layer_types.is_some() {
        return Err(Error::config(
            "layer_types",
            "is set, and transformers loads a mistral config with layer_types as Ministral (alternating attention), which Glassbox does not run",
            "Remove layer_types if every layer is the same, or use a model type Glassbox runs",
        ));
    }
    for (key, value) in [("sliding_window", sliding), ("attention_chunk_size", chunked)] {
        if value == Some(0) {
            return Err(Error::config(key, "is 0, a window of no keys, on which transformers fails", "Set the window the model was trained with, or null for none"));
        }
    }
    let types: Vec<&str> = match &cfg.layer_types {
        Some(types) => {
            if types.len() != l {
                return Err(Error::config("layer_types", format!("has {} entries for {l} layers", types.len()), "Use the config.json saved with the weights"));
            }
            types.iter().map(String::as_str).collect()
        }
        _ if flavour.is_qwen() => {
            let from = cfg.max_window_layers.unwrap_or(28);
            (0..l).map(|i| if sliding.is_some() && i >= from { "sliding_attention" } else { "full_attention" }).collect()
        }
        // Gemma2Config: every other layer slides, from the first.
        _ if flavour == Flavour::Gemma2 => (0..l).map(|i| if (i + 1) % 2 != 0 { "sliding_attention" } else { "full_attention" }).collect(),
        // SmolLM3Config: the layers without a rotation slide, when use_sliding_window and a window are set.
        _ if flavour == Flavour::SmolLm3 => {
            let no_rope = no_rope_layers(flavour, cfg)?;
            (0..l).map(|i| if cfg.use_sliding_window && sliding.is_some() && no_rope[i] { "sliding_attention" } else { "full_attention" }).collect()
        }
        // Olmo3Config: every fourth layer attends to every key, the rest slide.
        _ if flavour == Flavour::Olmo3 => (0..l).map(|i| if (i + 1) % 4 != 0 { "sliding_attention" } else { "full_attention" }).collect(),
        _ if flavour == Flavour::Gemma3 => {
            let every = cfg.sliding_window_pattern.unwrap_or(GEMMA3_DEFAULT_SLIDING_WINDOW_PATTERN);
            if every == 0 {
                return Err(Error::config("sliding_window_pattern", "is 0, on which transformers fails (every n-th layer attends to every key)", "Use the config.json saved with the weights (Gemma 3's is 6)"));
            }
            (0..l).map(|i| if (i + 1) % every != 0 { "sliding_attention" } else { "full_attention" }).collect()
        }
        _ => vec![if sliding.is_some() { "sliding_attention" } else if chunked.is_some() { "chunked_attention" } else { "full_attention" }; l],
    };
    let windows = types
        .iter()
        .map(|&ty| match ty {
            "full_attention" => Ok(LayerWindow::Full),
            // A llama config's window is its generation cache's only (LlamaModel's forward has no sliding mask).
            "sliding_attention" => sliding.map(if cache_only { LayerWindow::CacheOnly } else { LayerWindow::Sliding }).ok_or_else(|| {
                // transformers finds no window for the layer's mask and fails.
                Error::config("layer_types", "names sliding_attention layers, but the config gives them no window (sliding_window null, or use_sliding_window false)", "Set sliding_window and use_sliding_window, or make those layers full_attention")
            }),
            "chunked_attention" if cache_only || flavour == Flavour::Mistral => Ok(chunked.map_or(LayerWindow::Full, LayerWindow::CacheOnly)),
            other => Err(Error::config("layer_types", format!("contains \"{other}\""), "Glassbox runs full_attention and sliding_attention layers")),
        })
        .collect::<Result<Vec<_>>>()?;
    let key = if types.contains(&"chunked_attention") && !types.contains(&"sliding_attention") { "attention_chunk_size" } else { "sliding_window" };
    Ok((windows, key))
}

/// The config class's special ids when config.json leaves the key out: Phi3Config's bos 1, eos and
/// pad 32000 (the Phi-3 vocabulary's `<|endoftext|>`); Olmo3Config's eos 50279 and pad 1. `None`:
/// the key is there, or Glassbox reads the family's ids as given.
fn class_default(flavour: Flavour, raw: &Map<String, Value>, key: &str) -> Option<Option<u32>> {
    if raw.contains_key(key) {
        return None;
    }
    match (flavour, key) {
        (Flavour::Phi3, "bos_token_id") => Some(Some(PHI3_DEFAULT_BOS)),
        (Flavour::Phi3, _) => Some(Some(PHI3_DEFAULT_EOS)),
        // Olmo3Config: no bos, eos 50279, pad 1.
        (Flavour::Olmo3, "bos_token_id") => Some(None),
        (Flavour::Olmo3, "eos_token_id") => Some(Some(OLMO3_DEFAULT_EOS)),
        (Flavour::Olmo3, _) => Some(Some(OLMO3_DEFAULT_PAD)),
        // OlmoConfig: as Olmo3Config, no bos, eos 50279, pad 1.
        (Flavour::Olmo, "bos_token_id") => Some(None),
        (Flavour::Olmo, "eos_token_id") => Some(Some(OLMO3_DEFAULT_EOS)),
        (Flavour::Olmo, _) => Some(Some(OLMO3_DEFAULT_PAD)),
        // Starcoder2Config: bos and eos 50256, no pad.
        (Flavour::Starcoder2, "pad_token_id") => Some(None),
        (Flavour::Starcoder2, _) => Some(Some(STARCODER2_DEFAULT_SPECIAL)),
        // CohereConfig: bos 5, eos 255001, pad 0.
        (Flavour::Cohere, "bos_token_id") => Some(Some(COHERE_DEFAULT_BOS)),
        (Flavour::Cohere, "eos_token_id") => Some(Some(COHERE_DEFAULT_EOS)),
        (Flavour::Cohere, _) => Some(Some(0)),
        // StableLmConfig: bos and eos 0, no pad.
        (Flavour::StableLm, "pad_token_id") => Some(None),
        (Flavour::StableLm, _) => Some(Some(STABLELM_DEFAULT_SPECIAL)),
        _ => None,
    }
}

/// Phi3Config's rotary keys in the names [`Rotary`] reads: the old `"su"` and `"yarn"` types are
/// LongRoPE (the config class renames them), the original length is the top-level key or 4096 (the
/// class always has one, and it wins over one inside the rotary settings), and any other scaling
/// is refused, as Phi3Config refuses it.
fn phi3_rope_keys(raw: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut cfg = raw.clone();
    let key = match raw.get("rope_scaling") {
        Some(Value::Object(m)) if !m.is_empty() => "rope_scaling",
        _ => "rope_parameters",
    };
    if let Some(Value::Object(params)) = cfg.get_mut(key) {
        let named = params.get("rope_type").or_else(|| params.get("type")).and_then(Value::as_str).unwrap_or("default").to_string();
        match named.as_str() {
            "default" => {}
            "longrope" | "su" | "yarn" => {
                params.insert("rope_type".into(), Value::from("longrope"));
            }
            other => {
                return Err(Error::config(
                    format!("{key}.rope_type"),
                    format!("is \"{other}\", but Phi-3 runs only the default rotation or \"longrope\" (transformers refuses the rest)"),
                    "Use the config.json saved with the weights",
                ))
            }
        }
    }
    if raw.get("original_max_position_embeddings").is_none_or(Value::is_null) {
        cfg.insert("original_max_position_embeddings".into(), Value::from(PHI3_DEFAULT_ORIGINAL_POSITIONS));
    }
    Ok(cfg)
}

/// A special token id from config.json: a number, or a list whose first entry is taken (Llama 3
/// lists several end-of-text ids; generation stops at the first).
pub(crate) fn token_id(field: &str, value: &Option<Value>) -> Result<Option<u32>> {
    let bad = || Error::config(field, "must be a token id (a whole number) or a list of them", "Use the config.json saved with the weights");
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(bad),
        Some(Value::Array(items)) => match items.first() {
            None => Ok(None),
            Some(first) => token_id(field, &Some(first.clone())),
        },
        Some(_) => Err(bad()),
    }
}

decoder_only::impl_forward!(Llama);

impl super::Family for Llama {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Result<Array2<f32>> {
        Llama::lens(self, x, last).ok_or_else(|| {
            Error::input("this checkpoint has no LM head to read hidden states with", "Load the ForCausalLM checkpoint (with lm_head.weight or tied embeddings)")
        })
    }
    fn position_rows(&self, _stack: super::Stack, _n: usize) -> Option<&[f32]> {
        None // rotary: see Model::rotary_angles
    }
    fn token_table(&self, _stack: super::Stack) -> (super::layers::TokenTable<'_>, usize, f32) {
        (Llama::token_table(self), self.config.vocab_size, self.embed_scale)
    }
}

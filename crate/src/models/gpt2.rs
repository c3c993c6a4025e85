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
//!
//! **GPT-Neo** (`gpt_neo`: gpt-neo-125M to 2.7B, the TinyStories models) is GPT-2's block with three
//! differences, each from `modeling_gpt_neo.py`:
//! - q, k and v are three bias-free `nn.Linear`s (`h.{l}.attn.attention.{q,k,v}_proj`, `[C][C]`),
//!   the output `attn.attention.out_proj` (with bias), and the MLP's `c_fc`/`c_proj` are `nn.Linear`
//!   too (`[out][in]`, where GPT-2's Conv1D is `[in][out]`);
//! - the scores are `q·k` as they are: no `1/sqrt(d_head)`;
//! - `attention_types` (`[[["global", "local"], 12]]` by default: groups of layer kinds, each repeated)
//!   makes some layers "local": a query sees only the last `window_size` keys, itself included.
//!
//! **OPT** (`opt`: opt-125m to 66b, and opt-350m) is the same decoder under other names
//! (`model.decoder.layers.{l}.self_attn.{q,k,v,out}_proj`, `self_attn_layer_norm`, `fc1`, `fc2`,
//! `final_layer_norm`, `model.decoder.final_layer_norm`), with q/k/v biases (`enable_bias`), ReLU, and
//! a position table whose row `p + 2` holds position `p` (`OPTLearnedPositionalEmbedding`'s offset).
//! opt-350m differs twice: `do_layer_norm_before: false` puts each norm after its residual add
//! (`x = LN(x + attn(x))`, no final norm), and `word_embed_proj_dim` narrower than the model adds
//! `project_in` (embeddings widened before the first layer) and `project_out` (narrowed back for the
//! tied head). [`opt_as_gpt2`] reads its config.
//!
//! GPT-Neo's config.json names the sizes as BERT does (`hidden_size`, `num_layers`, `num_heads`,
//! `max_position_embeddings`); [`neo_as_gpt2`] renames them, with GPTNeoConfig's defaults.

use super::classifier::{self, ClassifierHead, ClassifierInfo};
use super::activations::{self, flat_mut};
use super::attention::{attend, KvCache, Mask, Recorder};
use super::decoder_only::{self, DecoderOnly};
use super::layers::{Activation, LayerNorm, QkvProj, TokenTable};
use super::{Kind, ModelInfo, Positions};
use crate::error::{Error, Result};
use crate::kernels::Linear;
use crate::loader::{parse_json, Weights};
use ndarray::{s, Array2, ArrayView2};
use serde::Deserialize;
use serde_json::{Map, Value};

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

/// GPT-Neo's sizes under GPT-2's names, with GPTNeoConfig's defaults for keys left out (the 1.3B
/// model's): `(GPT-Neo's key, GPT-2's, default)`.
const NEO_SIZES: [(&str, &str, u64); 5] = [
    ("vocab_size", "vocab_size", 50257),
    ("max_position_embeddings", "n_positions", 2048),
    ("hidden_size", "n_embd", 2048),
    ("num_layers", "n_layer", 24),
    ("num_heads", "n_head", 16),
];
/// GPTNeoConfig's `window_size` and its `bos_token_id`/`eos_token_id` when left out.
const NEO_WINDOW: u64 = 256;
const NEO_EOT: u64 = 50256;

/// GPT-Neo's config.json as GPT-2's: the sizes renamed ([`NEO_SIZES`]), `intermediate_size` as
/// `n_inner` (null: 4 x width), unscaled scores, and each layer's window from `attention_types`
/// (`None`: global). The sizes went through `loader::limits` under GPT-Neo's names before this.
fn neo_as_gpt2(config_json: &[u8]) -> Result<(Gpt2Config, Vec<Option<usize>>)> {
    let mut neo: Map<String, Value> = parse_json("config.json", config_json)?;
    let whole = |neo: &Map<String, Value>, key: &str, default: u64| -> Result<u64> {
        match neo.get(key) {
            None => Ok(default),
            Some(v) => v.as_u64().ok_or_else(|| Error::config(key, format!("is {v}, but it must be a whole number"), "Use the config.json saved with the weights")),
        }
    };
    let layers = whole(&neo, "num_layers", 24)? as usize;
    let window = whole(&neo, "window_size", NEO_WINDOW)? as usize;
    // GPTNeoConfig computes `attention_layers` from `attention_types`, then sets the file's own
    // `attention_layers` over it, checks only that list's length, and each layer reads it: with the
    // file's list, `attention_types` changes nothing (left out, its 24-layer default is not checked).
    let own_list = neo.get("attention_layers").filter(|v| !v.is_null());
    let mut windows = match own_list {
        Some(_) => vec![None; layers],
        None => neo_windows(neo.get("attention_types"), layers, window)?,
    };
    if let Some(list) = own_list {
        let bad = |what: String| Error::config("attention_layers", what, "Use the config.json saved with the weights: one \"global\" or \"local\" per layer");
        let kinds = list.as_array().ok_or_else(|| bad(format!("is {list}, not a list of layer kinds")))?;
        if kinds.len() != layers {
            return Err(bad(format!("names {} layers but num_layers is {layers}", kinds.len())));
        }
        for (slot, kind) in windows.iter_mut().zip(kinds) {
            *slot = match kind.as_str() {
                Some("global") => None,
                Some("local") => neo_local_window(window)?,
                _ => return Err(bad(format!("names a layer kind {kind}; GPT-Neo has only \"global\" and \"local\""))),
            };
        }
    }
    let mut gpt2 = Map::new();
    for (from, to, default) in NEO_SIZES {
        gpt2.insert(to.into(), neo.remove(from).unwrap_or(Value::from(default)));
    }
    gpt2.insert("n_inner".into(), neo.remove("intermediate_size").unwrap_or(Value::Null));
    gpt2.insert("scale_attn_weights".into(), Value::Bool(false));
    for id in ["bos_token_id", "eos_token_id"] {
        gpt2.insert(id.into(), neo.remove(id).unwrap_or(Value::from(NEO_EOT)));
    }
    // The keys both classes read alike (left out, GPT2Config's defaults are GPTNeoConfig's too).
    for key in ["activation_function", "layer_norm_epsilon", "pad_token_id", "tie_word_embeddings"] {
        if let Some(v) = neo.remove(key) {
            gpt2.insert(key.into(), v);
        }
    }
    let bytes = serde_json::to_vec(&Value::Object(gpt2)).map_err(|e| Error::config("config.json", e.to_string(), "Use the config.json saved with the weights"))?;
    Ok((parse_json("config.json", &bytes)?, windows))
}

/// Each layer's window from `attention_types`, groups of layer kinds and how often each group repeats
/// (`[[["global", "local"], 12]]` when left out or null): `Some(window)` for a local layer. A file's
/// own `attention_layers` then overrides it (see [`neo_as_gpt2`]).
fn neo_windows(types: Option<&Value>, layers: usize, window: usize) -> Result<Vec<Option<usize>>> {
    let bad = |what: String| Error::config("attention_types", what, "Use the config.json saved with the weights: groups like [[[\"global\", \"local\"], 12]] whose layers add up to num_layers");
    let local = || neo_local_window(window);
    let Some(groups) = types.filter(|v| !v.is_null()) else {
        // GPTNeoConfig's [[["global", "local"], 12]]: 24 layers, global first, then alternating.
        return match layers {
            24 => (0..24).map(|l| if l % 2 == 1 { local() } else { Ok(None) }).collect(),
            _ => Err(bad(format!("is left out, which means 24 layers (global and local, 12 times), but num_layers is {layers}"))),
        };
    };
    let mut windows = Vec::new();
    for group in groups.as_array().ok_or_else(|| bad(format!("is {groups}, not a list of groups")))? {
        let (kinds, repeat) = match group.as_array().map(Vec::as_slice) {
            Some([Value::Array(kinds), repeat]) if repeat.is_u64() => (kinds, repeat.as_u64().unwrap_or(0)),
            _ => return Err(bad(format!("has a group {group}, not [kinds, repeats]"))),
        };
        if (windows.len() as u64).saturating_add((kinds.len() as u64).saturating_mul(repeat)) > layers as u64 {
            return Err(bad(format!("describes more layers than num_layers ({layers})")));
        }
        for _ in 0..repeat {
            for kind in kinds {
                windows.push(match kind.as_str() {
                    Some("global") => None,
                    Some("local") => local()?,
                    _ => return Err(bad(format!("names a layer kind {kind}; GPT-Neo has only \"global\" and \"local\""))),
                });
            }
        }
    }
    if windows.len() != layers {
        return Err(bad(format!("describes {} layers but num_layers is {layers}", windows.len())));
    }
    Ok(windows)
}

/// A local layer's window; 0 is refused: the layer would see no key, not even its own.
fn neo_local_window(window: usize) -> Result<Option<usize>> {
    match window {
        0 => Err(Error::config("window_size", "is 0, and a local layer would see no key", "Use the config.json saved with the weights (gpt-neo uses 256)")),
        _ => Ok(Some(window)),
    }
}

/// OPT's sizes under GPT-2's names, with OPTConfig's defaults (opt-125m's) for keys left out.
const OPT_SIZES: [(&str, &str, u64); 5] = [
    ("vocab_size", "vocab_size", 50272),
    ("max_position_embeddings", "n_positions", 2048),
    ("hidden_size", "n_embd", 768),
    ("num_hidden_layers", "n_layer", 12),
    ("num_attention_heads", "n_head", 12),
];

/// The block's build beyond `Gpt2Config`: what OPT's keys set (OPTConfig's defaults in brackets);
/// GPT-2 and GPT-Neo use [`BlockShape::gpt2`].
struct BlockShape {
    /// `do_layer_norm_before` [true]: false (opt-350m) puts each norm after its residual add.
    norm_before: bool,
    /// `word_embed_proj_dim` [hidden_size]: the token table's width; narrower, it is widened by
    /// `project_in` before the first layer and the output narrowed by `project_out` for the head.
    embed_width: usize,
    /// `enable_bias` [true]: biases on q, k, v, out, fc1 and fc2 (GPT-Neo's q, k and v have none
    /// whatever this says).
    bias: bool,
}

impl BlockShape {
    /// Pre-norm, embeddings as wide as the model, biases: GPT-2's and GPT-Neo's block.
    fn gpt2(width: usize) -> Self {
        BlockShape { norm_before: true, embed_width: width, bias: true }
    }
}

/// OPT's config.json as GPT-2's plus [`BlockShape`]. Keys that change the numbers and that Glassbox does
/// not run are refused by name.
fn opt_as_gpt2(config_json: &[u8]) -> Result<(Gpt2Config, BlockShape)> {
    let mut opt: Map<String, Value> = parse_json("config.json", config_json)?;
    let flag = |opt: &Map<String, Value>, key: &str, default: bool| -> Result<bool> {
        match opt.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| Error::config(key, format!("is {v}, but it must be true or false"), "Use the config.json saved with the weights")),
        }
    };
    if !flag(&opt, "layer_norm_elementwise_affine", true)? {
        return Err(Error::config("layer_norm_elementwise_affine", "is false (LayerNorms without weights), which Glassbox does not run", "Use a checkpoint whose norms have weights (every released OPT)"));
    }
    let norm_before = flag(&opt, "do_layer_norm_before", true)?;
    if flag(&opt, "_remove_final_layer_norm", false)? && norm_before {
        return Err(Error::config("_remove_final_layer_norm", "is true (a pre-norm OPT without its final norm, an old conversion's setting), which Glassbox does not run", "Save the checkpoint again with transformers 5"));
    }
    let bias = flag(&opt, "enable_bias", true)?;
    let hidden = opt.get("hidden_size").and_then(Value::as_u64).unwrap_or(768);
    let embed_width = match opt.get("word_embed_proj_dim") {
        None | Some(Value::Null) => hidden,
        Some(v) => v.as_u64().filter(|&e| e > 0 && e <= crate::loader::limits::MAX_DIM).ok_or_else(|| Error::config("word_embed_proj_dim", format!("is {v}, but it must be a positive whole number"), "Use the config.json saved with the weights"))?,
    } as usize;
    let mut gpt2 = Map::new();
    for (from, to, default) in OPT_SIZES {
        gpt2.insert(to.into(), opt.remove(from).unwrap_or(Value::from(default)));
    }
    gpt2.insert("n_inner".into(), opt.remove("ffn_dim").unwrap_or(Value::from(3072)));
    gpt2.insert("activation_function".into(), opt.remove("activation_function").unwrap_or(Value::from("relu")));
    // nn.LayerNorm's own epsilon: OPTConfig has no key for it.
    gpt2.insert("layer_norm_epsilon".into(), Value::from(1e-5));
    for (id, default) in [("bos_token_id", 2), ("eos_token_id", 2), ("pad_token_id", 1)] {
        gpt2.insert(id.into(), opt.remove(id).unwrap_or(Value::from(default)));
    }
    if let Some(tie) = opt.remove("tie_word_embeddings") {
        gpt2.insert("tie_word_embeddings".into(), tie);
    }
    let bytes = serde_json::to_vec(&Value::Object(gpt2)).map_err(|e| Error::config("config.json", e.to_string(), "Use the config.json saved with the weights"))?;
    Ok((parse_json("config.json", &bytes)?, BlockShape { norm_before, embed_width, bias }))
}

/// Which checkpoint layout [`Gpt2::load_from`] reads.
#[derive(Clone, Copy, PartialEq)]
enum Flavour {
    Gpt2,
    Neo,
    Opt,
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
    qkv: QkvProj,   // C -> 3C: GPT-2's fused `c_attn` (q | k | v), GPT-Neo's three
    c_proj: Linear, // C -> C
    ln_2: LayerNorm,
    c_fc: Linear,     // C -> F
    mlp_proj: Linear, // F -> C
}

pub struct Gpt2 {
    pub config: Gpt2Config,
    pub info: ModelInfo,
    wte: Linear, // [V][E] as a bias-free E -> V layer: embedding rows and the tied LM head (E = C but in opt-350m)
    wpe: Array2<f32>, // [P + position_offset][C]
    blocks: Vec<Block>,
    ln_f: Option<LayerNorm>, // none after post-norm blocks
    lm_head: Option<Linear>, // C -> V, only when stored untied
    activation: Activation,
    /// Per layer, how many of the latest keys a query sees (GPT-Neo's local layers); `None`: all.
    windows: Vec<Option<usize>>,
    /// The row of `wpe` that position 0 reads (OPT: 2).
    position_offset: usize,
    /// Norms after the residual adds, `x = LN(x + f(x))`, and no final norm (opt-350m).
    post_norm: bool,
    /// OPT's `project_in` (E -> C) and `project_out` (C -> E) when its token table is narrower (E).
    project: Option<(Linear, Linear)>,
    /// A fine-tuned checkpoint's head (`GPT2ForSequenceClassification`'s `score`, ...).
    classifier: Option<ClassifierHead>,
}

/// `GPT2Config`'s `n_positions` when config.json leaves it (and `n_ctx`) out.
const GPT2_DEFAULT_POSITIONS: usize = 1024;

/// Checkpoint names of one layout (GPT-Neo's are GPT-2's but for the attention module).
struct Names {
    prefixes: &'static [&'static str],
    wte: &'static str,
    wpe: &'static str,
    layers: &'static str,
    attention: &'static str,
    ln_1: &'static str,
    ln_2: &'static str,
    c_fc: &'static str,
    mlp_proj: &'static str,
    ln_f: &'static str,
}

const GPT2_NAMES: Names = Names {
    prefixes: &["transformer."],
    wte: "wte.weight",
    wpe: "wpe.weight",
    layers: "h",
    attention: "attn.attention",
    ln_1: "ln_1",
    ln_2: "ln_2",
    c_fc: "mlp.c_fc",
    mlp_proj: "mlp.c_proj",
    ln_f: "ln_f",
};

const OPT_NAMES: Names = Names {
    prefixes: &["model.decoder.", "decoder."],
    wte: "embed_tokens.weight",
    wpe: "embed_positions.weight",
    layers: "layers",
    attention: "self_attn",
    ln_1: "self_attn_layer_norm",
    ln_2: "final_layer_norm",
    c_fc: "fc1",
    mlp_proj: "fc2",
    ln_f: "final_layer_norm",
};

/// OPT's position table keeps two rows before position 0's (`OPTLearnedPositionalEmbedding`).
const OPT_POSITION_OFFSET: usize = 2;

impl Gpt2 {
    /// The classification head the checkpoint carries, if any.
    pub fn classifier(&self) -> Option<&ClassifierInfo> {
        self.classifier.as_ref().map(|h| &h.info)
    }

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
        let windows = vec![None; cfg.n_layer];
        let shape = BlockShape::gpt2(cfg.n_embd);
        Self::load_from(cfg, windows, shape, weights, Flavour::Gpt2, classifier::requested(config_json)?)
    }

    /// GPT-Neo (`gpt_neo`): see the module notes.
    pub fn load_neo(config_json: &[u8], weights: Weights) -> Result<Self> {
        let (cfg, windows) = neo_as_gpt2(config_json)?;
        // Biased outputs and MLP; its q, k and v never are (`load_from`).
        let shape = BlockShape::gpt2(cfg.n_embd);
        Self::load_from(cfg, windows, shape, weights, Flavour::Neo, classifier::requested(config_json)?)
    }

    /// OPT (`opt`): see the module notes.
    pub fn load_opt(config_json: &[u8], weights: Weights) -> Result<Self> {
        let (cfg, shape) = opt_as_gpt2(config_json)?;
        let windows = vec![None; cfg.n_layer];
        Self::load_from(cfg, windows, shape, weights, Flavour::Opt, classifier::requested(config_json)?)
    }

    /// `head`: the classification head config.json names (`score`, or `classifier` on every token).
    fn load_from(cfg: Gpt2Config, windows: Vec<Option<usize>>, shape: BlockShape, weights: Weights, flavour: Flavour, head: Option<ClassifierInfo>) -> Result<Self> {
        let (v, p, c, l, h) = (cfg.vocab_size, cfg.n_positions, cfg.n_embd, cfg.n_layer, cfg.n_head);
        if h == 0 || c % h != 0 {
            return Err(Error::config("n_head", format!("n_embd {c} is not divisible by n_head {h}"), "Use the config.json saved with the weights"));
        }
        let f = cfg.n_inner.unwrap_or(4 * c);
        let activation = Activation::from_config("activation_function", &cfg.activation_function)?;
        let names = match flavour {
            Flavour::Opt => OPT_NAMES,
            _ => GPT2_NAMES,
        };
        let w = weights.with_prefixes(names.prefixes);
        let eps = cfg.layer_norm_epsilon;
        let conv1d = |name: &str, d_in: usize, d_out: usize| -> Result<Linear> { super::layers::conv1d(&w, name, d_in, d_out) };
        let mut blocks = Vec::with_capacity(l);
        // GPT-Neo's and OPT's layers are nn.Linear ([out][in]) where GPT-2's are Conv1D ([in][out]).
        let dense = |name: &str, d_in: usize, d_out: usize, bias: bool| -> Result<Linear> {
            match flavour {
                Flavour::Gpt2 => conv1d(name, d_in, d_out),
                _ => super::layers::linear(&w, name, d_in, d_out, bias),
            }
        };
        // GPT-Neo: no q/k/v biases, the rest biased; OPT: all or none (`enable_bias`).
        let qkv_biased = flavour == Flavour::Opt && shape.bias;
        for i in 0..l {
            let (qkv, c_proj) = match flavour {
                Flavour::Gpt2 => (QkvProj::Fused(conv1d(&format!("h.{i}.attn.c_attn"), c, 3 * c)?), conv1d(&format!("h.{i}.attn.c_proj"), c, c)?),
                _ => {
                    let a = format!("{}.{i}.{}", names.layers, names.attention);
                    let qkv = QkvProj::Separate {
                        q: dense(&format!("{a}.q_proj"), c, c, qkv_biased)?,
                        k: dense(&format!("{a}.k_proj"), c, c, qkv_biased)?,
                        v: dense(&format!("{a}.v_proj"), c, c, qkv_biased)?,
                    };
                    (qkv, dense(&format!("{a}.out_proj"), c, c, shape.bias)?)
                }
            };
            let n = |part: &str| format!("{}.{i}.{part}", names.layers);
            blocks.push(Block {
                ln_1: LayerNorm::load(&w, &n(names.ln_1), c, eps)?,
                qkv,
                c_proj,
                ln_2: LayerNorm::load(&w, &n(names.ln_2), c, eps)?,
                c_fc: dense(&n(names.c_fc), c, f, shape.bias)?,
                mlp_proj: dense(&n(names.mlp_proj), f, c, shape.bias)?,
            });
        }
        let e = shape.embed_width;
        let table = super::layers::tied_table_name(&w, names.wte, "lm_head.weight", cfg.tie_word_embeddings);
        let wte = super::layers::token_table(&w, table, v, e)?;
        let position_offset = if flavour == Flavour::Opt { OPT_POSITION_OFFSET } else { 0 };
        let rows = p.checked_add(position_offset).ok_or_else(|| Error::config("max_position_embeddings", "is too large", "Use the config.json saved with the weights"))?;
        let wpe = activations::rows_of(w.get(names.wpe, &[rows, c])?, rows, c);
        let ln_f = match shape.norm_before {
            true => Some(LayerNorm::load(&w, names.ln_f, c, eps)?),
            false => None,
        };
        let project = match e == c {
            true => None,
            false => Some((super::layers::linear(&w, "project_in", e, c, false)?, super::layers::linear(&w, "project_out", c, e, false)?)),
        };
        // A stored lm_head identical to wte is the usual tied case; a copy is kept only if it differs.
        // Random twins are tied, as GPT2LMHeadModel always is (`tie_word_embeddings`).
        let lm_head = super::layers::head_of_its_own(&w, "lm_head.weight", table, v, e, cfg.tie_word_embeddings)?;
        // `score` reads the final states, E wide for opt-350m (after `project_out`).
        let classifier = match head {
            Some(info) => Some(ClassifierHead::decoder(&w, info, "classifier", true, e)?),
            None => None,
        };
        let (qkv_bias, other_bias) = match flavour {
            Flavour::Gpt2 => (3 * c, 2 * c + f),
            Flavour::Neo => (0, 2 * c + f),
            Flavour::Opt => (usize::from(shape.bias) * 3 * c, usize::from(shape.bias) * (2 * c + f)),
        };
        let n_params = classifier.as_ref().map_or(0, ClassifierHead::n_params) + v * e + rows * c + if ln_f.is_some() { 2 * c } else { 0 } + if e == c { 0 } else { 2 * e * c }
            + l * (4 * c + 3 * c * c + qkv_bias + c * c + 2 * c * f + other_bias);
        let info = ModelInfo {
            model_type: match flavour {
                Flavour::Gpt2 => "gpt2",
                Flavour::Neo => "gpt_neo",
                Flavour::Opt => "opt",
            }
            .into(),
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
        Ok(Gpt2 { config: cfg, info, wte, wpe, blocks, ln_f, lm_head, activation, windows, position_offset, post_norm: !shape.norm_before, project, classifier })
    }

    fn d_head(&self) -> usize {
        self.config.n_embd / self.config.n_head
    }

    /// The local layers (GPT-Neo) and their window, for the card.
    pub(crate) fn sliding_layers(&self) -> (Vec<usize>, Option<usize>) {
        let layers: Vec<usize> = (0..self.windows.len()).filter(|&l| self.windows[l].is_some()).collect();
        let window = layers.first().and_then(|&l| self.windows[l]);
        (layers, window)
    }

    /// Run `ids` at positions `past..past+T` through every block, reading and extending `caches`.
    /// Returns the final hidden state after `ln_f`: `[T][C]`.
    fn run(&self, ids: &[u32], caches: &mut [KvCache], recorder: &mut Recorder) -> Result<Array2<f32>> {
        let (c, h, dh) = (self.config.n_embd, self.config.n_head, self.d_head());
        let t = ids.len();
        let past = caches.first().map_or(0, KvCache::len);
        if past + t > self.config.n_positions {
            return Err(Error::input(
                format!("the sequence would be {} tokens long but this model has positions for only {}", past + t, self.config.n_positions),
                "Shorten the prompt or generate fewer tokens",
            ));
        }
        // x = wte[ids] (widened by project_in) + wpe[offset + past..offset + past + T]    [T][C]
        let mut x = activations::embed(&TokenTable::Packed(&self.wte), self.wte.d_in, ids); // [T][E]
        if let Some((project_in, _)) = &self.project {
            x = activations::linear(project_in, x.view());
        }
        let at = self.position_offset + past;
        x += &self.wpe.slice(s![at..at + t, ..]);
        for (l, (block, kv)) in self.blocks.iter().zip(caches.iter_mut()).enumerate() {
            recorder.hidden_state(&x);
            // x = x + attn(ln_1(x)); post-norm: x = ln_1(x + attn(x))
            let normed;
            let a = if self.post_norm { &x } else { normed = activations::layer_norm(&block.ln_1, &x); &normed }; // [T][C]
            let (q, k, v) = block.qkv.apply(a.view(), c, c); // [T][C] each
            kv.append(k.view(), v.view());
            let mut scale = if self.config.scale_attn_weights { 1.0 / (dh as f32).sqrt() } else { 1.0 };
            if self.config.scale_attn_by_inverse_layer_idx {
                scale /= (l + 1) as f32;
            }
            let mask = match self.windows[l] {
                Some(window) => Mask::Sliding { past, window },
                None => Mask::Causal { past },
            };
            let ctx = attend(q.view(), kv.keys(), kv.values(), h, dh, scale, mask, None, recorder.layer(l));
            kv.layer_done();
            let out = activations::linear(&block.c_proj, ctx.view()); // [T][C]
            recorder.trace_io(l, a, &out);
            x += &out;
            if self.post_norm {
                block.ln_1.apply(flat_mut(&mut x));
            }
            // x = x + mlp(ln_2(x)); post-norm: x = ln_2(x + mlp(x))
            let normed;
            let m = if self.post_norm { &x } else { normed = activations::layer_norm(&block.ln_2, &x); &normed };
            let mut hidden = activations::linear(&block.c_fc, m.view()); // [T][F]
            self.activation.apply(flat_mut(&mut hidden));
            x += &activations::linear(&block.mlp_proj, hidden.view());
            if self.post_norm {
                block.ln_2.apply(flat_mut(&mut x));
            }
        }
        if let Some(ln_f) = &self.ln_f {
            ln_f.apply(flat_mut(&mut x));
        }
        // The last state kept is the model's width: opt-350m's narrowing for the head comes after it
        // (HF's last hidden state is the narrowed one; the fixture records project_out's input).
        recorder.hidden_state(&x);
        Ok(self.narrow(x))
    }

    /// opt-350m's `project_out` (`[T][C]` -> `[T][E]`) for the tied head; the others: `x` as it is.
    fn narrow(&self, x: Array2<f32>) -> Array2<f32> {
        match &self.project {
            Some((_, project_out)) => activations::linear(project_out, x.view()),
            None => x,
        }
    }

    /// `h: [T][C]` -> logits `[T][V]` through the (tied) LM head.
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Array2<f32> {
        activations::linear(self.lm_head.as_ref().unwrap_or(&self.wte), h)
    }

    /// Logits as if the model stopped at hidden state `x: [T][C]`: `ln_f`, opt-350m's `project_out`,
    /// then the head; the last state (`last`) has been through `ln_f` already.
    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Array2<f32> {
        let mut x = x.to_owned();
        if let (Some(ln_f), false) = (&self.ln_f, last) {
            ln_f.apply(flat_mut(&mut x));
        }
        self.lm_logits(self.narrow(x).view())
    }

    /// The position vectors of positions `0..n` (OPT's from row 2 on): `[N][C]`.
    pub(crate) fn position_rows(&self, n: usize) -> &[f32] {
        let c = self.config.n_embd;
        &self.wpe.as_slice().expect("standard layout")[self.position_offset * c..(self.position_offset + n) * c]
    }

    /// opt-350m: the token table's width when narrower than the model's.
    pub(crate) fn embedding_width(&self) -> Option<usize> {
        self.project.as_ref().map(|_| self.wte.d_in)
    }

    /// Each norm after its residual add, and no final norm (opt-350m).
    pub(crate) fn is_post_norm(&self) -> bool {
        self.post_norm
    }

    pub(crate) fn token_table(&self) -> TokenTable<'_> {
        TokenTable::Packed(&self.wte)
    }
}

impl DecoderOnly for Gpt2 {
    fn classifier_head(&self) -> Option<&ClassifierHead> {
        self.classifier.as_ref()
    }
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
    // `embedding_width` stays the model's: opt-350m's position rows are that wide (added after
    // `project_in`); its narrower token rows give their own width (`Model::token_embeddings`).
}

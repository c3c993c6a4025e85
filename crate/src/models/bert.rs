//! BERT (`BertModel`, `BertForMaskedLM`): encoder-only, learned absolute positions, token types,
//! post-LayerNorm blocks, erf GELU; optional pooler and masked-LM head. MiniLM-style checkpoints
//! (sentence-transformers) are plain `BertModel`s without a head.
//!
//! Reference semantics: Hugging Face `transformers/models/bert/modeling_bert.py`.
//!
//! ```text
//! x = LN(word[ids] + pos[0..T] + type[type_ids])         # [T][C]
//! for each layer:  x = LN(x + attn(x));  x = LN(x + ffn(x))
//! logits = LN(act(dense(x))) · wordᵀ + bias               # [T][V] (MLM head)
//! ```
//!
//! Checkpoint name map (the encoder may carry a `bert.` prefix; the head never does):
//!
//! | name                                                   | shape          |
//! |--------------------------------------------------------|----------------|
//! | `embeddings.word_embeddings.weight`                    | [V][C]         |
//! | `embeddings.position_embeddings.weight`                | [P][C]         |
//! | `embeddings.token_type_embeddings.weight`              | [types][C]     |
//! | `embeddings.LayerNorm.{weight,bias}`                   | [C]            |
//! | `encoder.layer.{l}.attention.self.{query,key,value}.*` | [C][C], [C]    |
//! | `encoder.layer.{l}.attention.output.dense.*`           | [C][C], [C]    |
//! | `encoder.layer.{l}.attention.output.LayerNorm.*`       | [C]            |
//! | `encoder.layer.{l}.intermediate.dense.*`               | [F][C], [F]    |
//! | `encoder.layer.{l}.output.dense.*`                     | [C][F], [C]    |
//! | `encoder.layer.{l}.output.LayerNorm.*`                 | [C]            |
//! | `pooler.dense.*` (optional)                            | [C][C], [C]    |
//! | `cls.predictions.transform.dense.*` (optional MLM head) | [C][C], [C]   |
//! | `cls.predictions.transform.LayerNorm.*`                | [C]            |
//! | `cls.predictions.decoder.weight` (tied to word embeddings when absent) | [V][C] |
//! | `cls.predictions.bias` (or `cls.predictions.decoder.bias`) | [V]        |
//!
//! `embeddings.position_ids` (an int64 buffer) is ignored.
//!
//! Two relatives run through the same code with their own names ([`Variant`]):
//! - **RoBERTa** (`roberta.` prefix): positions start at `pad_token_id + 1` and skip pad tokens
//!   (`position = pad + cumsum(id != pad)`, pad tokens sit at `pad`), so `max_position_embeddings`
//!   514 allows 512 tokens; its MLM head is `lm_head.{dense, layer_norm, decoder, bias}` and always
//!   uses erf GELU, whatever `hidden_act` says.
//! - **DistilBERT** (`distilbert.` prefix): no token types; `transformer.layer.{l}.attention.{q,k,v,out}_lin`,
//!   `sa_layer_norm`, `ffn.lin1`/`lin2`, `output_layer_norm`; norms fixed at eps 1e-12; the position
//!   table (learned, or sinusoidal with `sinusoidal_pos_embds`, recomputed when not stored); MLM head
//!   `vocab_transform`, `activation`, `vocab_layer_norm`, `vocab_projector`.
//!
//! The MLM decoder is the word embedding table when `tie_word_embeddings` (the default), as in HF,
//! unless the file stores a decoder that differs from it (HF 5 then leaves the pair untied and the
//! stored one scores); untied, the stored decoder weight is required. `is_decoder` (HF's causal
//! BertLMHeadModel) and `add_cross_attention` are refused by name.

use super::activations::{self, flat_mut, into_flat};
use super::attention::{attend, AttentionKind, Mask, Recorder};
use super::classifier::{self, ClassifierHead, ClassifierInfo, HeadAct, HeadNames, Task};
use super::layers::{add_in_place, linear, token_table_not_int8, Activation, LayerNorm, MlmHead, TokenTable};
use super::{Kind, ModelInfo, Outputs, Positions, Probe};
use crate::error::{Error, Result};
use crate::kernels::Linear;
use crate::loader::{parse_json, Keyed, Weights};
use ndarray::{s, Array2, Array3, ArrayView2, ArrayView3};
use serde::Deserialize;

/// `pad_token_id` when config.json leaves it out: `RobertaConfig`'s is 1 (its positions count
/// from it), `BertConfig`'s and `DistilBertConfig`'s 0 (it only names a padding row).
const ROBERTA_DEFAULT_PAD: u32 = 1;
const BERT_DEFAULT_PAD: u32 = 0;

/// Which checkpoint layout a BERT-like model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Bert,
    Roberta,
    /// XLM-RoBERTa (`xlm-roberta`): RoBERTa's network and names, a multilingual SentencePiece
    /// vocabulary (XLMRobertaConfig differs from RobertaConfig only in its default vocabulary size).
    XlmRoberta,
    /// CamemBERT (`camembert`): RoBERTa's network and names again (`CamembertConfig` has
    /// RoBERTa's defaults), with a French SentencePiece vocabulary.
    Camembert,
    DistilBert,
    /// MPNet (`mpnet`: all-mpnet-base-v2 and its kin): BERT's post-norm layers under other names, no
    /// token types, RoBERTa's position offset, and a learned bias per head and distance bucket that
    /// every layer adds to its scores (T5's buckets, computed once).
    MpNet,
    /// ELECTRA (`electra`: the electra-small/base/large discriminators and generators): BERT's
    /// network under `electra.`, with embeddings `embedding_size` wide (128 by default) widened by
    /// `embeddings_project` before the first layer when narrower than the model; the generator's
    /// masked-LM head (`generator_predictions`, `generator_lm_head`) narrows back to that width for
    /// the tied table; the discriminator's head (`discriminator_predictions`) scores each token for
    /// having been replaced.
    Electra,
}

impl Variant {
    pub fn model_type(self) -> &'static str {
        match self {
            Variant::Bert => "bert",
            Variant::Roberta => "roberta",
            Variant::XlmRoberta => "xlm-roberta",
            Variant::Camembert => "camembert",
            Variant::DistilBert => "distilbert",
            Variant::MpNet => "mpnet",
            Variant::Electra => "electra",
        }
    }

    /// RoBERTa's layout: positions counted from the padding id, `roberta.` names, erf-GELU head.
    pub fn is_roberta(self) -> bool {
        matches!(self, Variant::Roberta | Variant::XlmRoberta | Variant::Camembert)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_types")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f32,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
    /// Left out, null and given differ for RoBERTa (see `load_variant`).
    #[serde(default)]
    pub pad_token_id: Keyed<u32>,
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub is_decoder: bool,
    #[serde(default)]
    pub add_cross_attention: bool,
    /// MPNet: the rows of its relative position bias table (32 when left out).
    #[serde(default)]
    pub relative_attention_num_buckets: Option<usize>,
    /// ELECTRA: the width of the token, position and type rows (ElectraConfig's 128 when left out).
    #[serde(default)]
    pub embedding_size: Option<usize>,
}

/// DistilBERT's config.json, translated to [`BertConfig`] at load.
#[derive(Debug, Clone, Deserialize)]
struct DistilBertConfig {
    vocab_size: usize,
    dim: usize,
    n_layers: usize,
    n_heads: usize,
    hidden_dim: usize,
    #[serde(default = "default_act")]
    activation: String,
    max_position_embeddings: usize,
    #[serde(default)]
    sinusoidal_pos_embds: bool,
    #[serde(default)]
    pad_token_id: Keyed<u32>,
    #[serde(default = "yes")]
    tie_word_embeddings: bool,
}

fn yes() -> bool {
    true
}

fn default_act() -> String {
    "gelu".into()
}
fn default_types() -> usize {
    2
}
fn default_eps() -> f32 {
    1e-12
}

/// BERT's post-norm layer (RoBERTa's, DistilBERT's and ALBERT's too).
pub(crate) struct Layer {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub attn_out: Linear,
    pub attn_ln: LayerNorm,
    pub intermediate: Linear, // C -> F
    pub output: Linear,       // F -> C
    pub out_ln: LayerNorm,
}

impl Layer {
    /// Layer `l` on `x: [T][C]`: `a = LN(x + W_o attn(q, k, v))`, then `LN(a + W_2 act(W_1 a))`.
    /// `keys`: the additive key mask of hidden tokens, if any.
    /// `bias`: `[H][T][T]` added to the scaled scores (MPNet's relative position bias).
    pub(crate) fn apply(&self, x: &Array2<f32>, (h, dh): (usize, usize), keys: Option<&[f32]>, bias: Option<ArrayView3<'_, f32>>, act: Activation, rec: &mut Recorder, l: usize) -> Array2<f32> {
        let scale = 1.0 / (dh as f32).sqrt();
        let q = activations::linear(&self.query, x.view()); // [T][C]
        let k = activations::linear(&self.key, x.view());
        let v = activations::linear(&self.value, x.view());
        let ctx = attend(q.view(), k.view(), v.view(), h, dh, scale, Mask::keys_or_full(keys), bias, rec.layer(l));
        self.finish(x, ctx, act, rec, l)
    }

    /// The rest of layer `l` once attention has mixed the values (`ctx: [T][C]`, the heads side by
    /// side): project back, add and norm, then the feed-forward network, add and norm. DeBERTa's
    /// layers share it, with attention of their own.
    pub(crate) fn finish(&self, x: &Array2<f32>, ctx: Array2<f32>, act: Activation, rec: &mut Recorder, l: usize) -> Array2<f32> {
        let mut a = activations::linear(&self.attn_out, ctx.view()); // [T][C]
        rec.trace_io(l, x, &a);
        a += x;
        self.attn_ln.apply(flat_mut(&mut a));
        let mut inner = activations::linear(&self.intermediate, a.view()); // [T][F]
        act.apply(flat_mut(&mut inner));
        let mut o = activations::linear(&self.output, inner.view()); // [T][C]
        o += &a;
        self.out_ln.apply(flat_mut(&mut o));
        o
    }
}

pub struct Bert {
    pub variant: Variant,
    pub config: BertConfig,
    pub info: ModelInfo,
    word: Linear,    // [V][C] as a bias-free C -> V layer in the load's storage: embedding rows and the tied MLM decoder
    pos: Vec<f32>,   // [P][C]
    types: Option<Vec<f32>>, // [types][C]; DistilBERT has none
    emb_ln: LayerNorm,
    layers: Vec<Layer>,
    pooler: Option<Linear>,
    mlm: Option<MlmHead>,
    activation: Activation,
    /// The MLM head's own non-linearity (RoBERTa: always erf GELU).
    head_activation: Activation,
    /// Row of the position table that position 0 reads (RoBERTa: pad_token_id + 1).
    position_offset: usize,
    /// MPNet: the learned bias of each distance bucket for each head, `[32][H]`
    /// (`encoder.relative_attention_bias.weight`).
    relative_bias: Option<Vec<f32>>,
    /// ELECTRA's `embeddings_project`, E -> C, when its embeddings are narrower than the model.
    project: Option<Linear>,
    /// ELECTRA discriminators' head: `dense` (C -> C, then `hidden_act`) and `dense_prediction`
    /// (C -> 1), one "replaced?" logit per token.
    discriminator: Option<(Linear, Linear)>,
    /// A fine-tuned checkpoint's classification head (`*ForSequenceClassification`,
    /// `*ForTokenClassification`), as config.json's `architectures` names it.
    classifier: Option<ClassifierHead>,
}

/// Checkpoint names of one variant.
struct Names {
    prefix: &'static str,
    word: &'static str,
    pos: &'static str,
    types: Option<&'static str>,
    emb_ln: &'static str,
    query: &'static str,
    key: &'static str,
    value: &'static str,
    attn_out: &'static str,
    attn_ln: &'static str,
    intermediate: &'static str,
    output: &'static str,
    out_ln: &'static str,
    layer: &'static str,
    head_dense: &'static str,
    head_ln: &'static str,
    head_decoder: &'static str,
    head_bias: [&'static str; 2],
}

const BERT_NAMES: Names = Names {
    prefix: "bert.",
    word: "embeddings.word_embeddings.weight",
    pos: "embeddings.position_embeddings.weight",
    types: Some("embeddings.token_type_embeddings.weight"),
    emb_ln: "embeddings.LayerNorm",
    layer: "encoder.layer",
    query: "attention.self.query",
    key: "attention.self.key",
    value: "attention.self.value",
    attn_out: "attention.output.dense",
    attn_ln: "attention.output.LayerNorm",
    intermediate: "intermediate.dense",
    output: "output.dense",
    out_ln: "output.LayerNorm",
    head_dense: "cls.predictions.transform.dense",
    head_ln: "cls.predictions.transform.LayerNorm",
    head_decoder: "cls.predictions.decoder.weight",
    head_bias: ["cls.predictions.bias", "cls.predictions.decoder.bias"],
};

const ROBERTA_NAMES: Names = Names {
    prefix: "roberta.",
    head_dense: "lm_head.dense",
    head_ln: "lm_head.layer_norm",
    head_decoder: "lm_head.decoder.weight",
    head_bias: ["lm_head.bias", "lm_head.decoder.bias"],
    ..BERT_NAMES
};

const MPNET_NAMES: Names = Names {
    prefix: "mpnet.",
    types: None,
    query: "attention.attn.q",
    key: "attention.attn.k",
    value: "attention.attn.v",
    attn_out: "attention.attn.o",
    attn_ln: "attention.LayerNorm",
    ..ROBERTA_NAMES
};

/// MPNet's buckets: 32 of them, bidirectional, up to 128 positions apart (MPNetEncoder passes these
/// numbers, whatever `relative_attention_num_buckets` says; that key sizes the table).
const MPNET_BUCKETS: usize = 32;
const MPNET_MAX_DISTANCE: usize = 128;
/// `(buckets, max_distance)`, for the positions view.
pub(crate) const MPNET_RELATIVE_BUCKETS: (usize, usize) = (MPNET_BUCKETS, MPNET_MAX_DISTANCE);
/// MPNet counts positions from its padding id, 1 (fixed in MPNetEmbeddings, not read from the config).
const MPNET_PAD: u32 = 1;

const ELECTRA_NAMES: Names = Names {
    prefix: "electra.",
    head_dense: "generator_predictions.dense",
    head_ln: "generator_predictions.LayerNorm",
    head_decoder: "generator_lm_head.weight",
    head_bias: ["generator_lm_head.bias", "generator_lm_head.bias"],
    ..BERT_NAMES
};

/// ElectraConfig's `embedding_size` when left out.
const ELECTRA_EMBEDDING_SIZE: usize = 128;

const DISTILBERT_NAMES: Names = Names {
    prefix: "distilbert.",
    word: "embeddings.word_embeddings.weight",
    pos: "embeddings.position_embeddings.weight",
    types: None,
    emb_ln: "embeddings.LayerNorm",
    layer: "transformer.layer",
    query: "attention.q_lin",
    key: "attention.k_lin",
    value: "attention.v_lin",
    attn_out: "attention.out_lin",
    attn_ln: "sa_layer_norm",
    intermediate: "ffn.lin1",
    output: "ffn.lin2",
    out_ln: "output_layer_norm",
    head_dense: "vocab_transform",
    head_ln: "vocab_layer_norm",
    head_decoder: "vocab_projector.weight",
    head_bias: ["vocab_projector.bias", "vocab_projector.bias"],
};

/// Where each variant keeps its classification head. A sequence head reads the first token's
/// state through BERT's pooler (tanh), DistilBERT's `pre_classifier` (ReLU), ELECTRA's
/// `classifier.dense` (erf GELU) or RoBERTa's and MPNet's `classifier.dense` (tanh); a token
/// head is `classifier` alone in every variant.
fn classifier_names(variant: Variant, task: Task) -> HeadNames {
    let dense = match variant {
        Variant::Bert => None,
        Variant::DistilBert => Some(("pre_classifier", HeadAct::Act(Activation::Relu))),
        Variant::Electra => Some(("classifier.dense", HeadAct::Act(Activation::GeluErf))),
        Variant::Roberta | Variant::XlmRoberta | Variant::Camembert | Variant::MpNet => Some(("classifier.dense", HeadAct::Tanh)),
    };
    let out = match (task, dense) {
        (Task::Span, _) => "qa_outputs",
        (Task::Sequence, Some(_)) if variant != Variant::DistilBert => "classifier.out_proj",
        _ => "classifier",
    };
    HeadNames { dense, out, pooler: "pooler.dense.weight", out_bias: true }
}

/// DistilBERT's fixed table: `sin(p / 10000^(2⌊j/2⌋/C))` at even `j`, `cos` at odd `j`. `[P][C]`
fn sinusoidal_table(p: usize, c: usize) -> Vec<f32> {
    let mut table = vec![0.0f32; p * c];
    for pos in 0..p {
        for j in 0..c {
            let angle = pos as f64 / crate::math::pow(10000.0, (2 * (j / 2)) as f64 / c as f64);
            table[pos * c + j] = if j % 2 == 0 { crate::math::sin(angle) } else { crate::math::cos(angle) } as f32;
        }
    }
    table
}

impl Bert {
    /// Whether the output head is the input embedding table, as loaded (config.json's tie, unless
    /// the file stores a head of its own that differs from the table).
    pub fn head_is_embedding_table(&self) -> bool {
        // Without an MLM head (a base model): what config.json would tie.
        self.mlm.as_ref().map_or(self.config.tie_word_embeddings, |h| h.decoder.is_none())
    }

    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        Self::load_variant(Variant::Bert, config_json, weights)
    }

    pub fn load_variant(variant: Variant, config_json: &[u8], weights: Weights) -> Result<Self> {
        let mut sinusoidal = false;
        let cfg: BertConfig = match variant {
            Variant::DistilBert => {
                let d: DistilBertConfig = parse_json("config.json", config_json)?;
                // `loader::limits` knows BERT's size names; DistilBERT's are checked here.
                for (field, n) in [("dim", d.dim), ("n_layers", d.n_layers), ("n_heads", d.n_heads), ("hidden_dim", d.hidden_dim)] {
                    if n as u64 > crate::loader::limits::MAX_DIM {
                        return Err(Error::config(field, format!("is {n}, larger than any real model's"), "Use the config.json saved with the model"));
                    }
                }
                sinusoidal = d.sinusoidal_pos_embds;
                BertConfig {
                    vocab_size: d.vocab_size,
                    hidden_size: d.dim,
                    num_hidden_layers: d.n_layers,
                    num_attention_heads: d.n_heads,
                    intermediate_size: d.hidden_dim,
                    hidden_act: d.activation,
                    max_position_embeddings: d.max_position_embeddings,
                    type_vocab_size: 0,
                    layer_norm_eps: 1e-12,
                    position_embedding_type: None,
                    pad_token_id: d.pad_token_id,
                    tie_word_embeddings: d.tie_word_embeddings,
                    is_decoder: false,
                    add_cross_attention: false,
                    relative_attention_num_buckets: None,
                    embedding_size: None,
                }
            }
            _ => parse_json("config.json", config_json)?,
        };
        let mut cfg = cfg;
        // A config that leaves the pad id out takes its class's default, so a RoBERTa counts positions
        // from 1 as HF does; an explicit null stays null (RoBERTa refuses it below).
        let default_pad = if variant.is_roberta() { ROBERTA_DEFAULT_PAD } else { BERT_DEFAULT_PAD };
        cfg.pad_token_id = cfg.pad_token_id.or_when_absent(Some(default_pad)).map_or(Keyed::Null, Keyed::Given);
        if cfg.is_decoder {
            return Err(Error::config(
                "is_decoder",
                format!("is true: this {} runs causally as a language model (HF's ForCausalLM), which Glassbox does not run", variant.model_type()),
                "Use the checkpoint as an encoder (is_decoder false), or a decoder family such as GPT-2 or Llama",
            ));
        }
        if cfg.add_cross_attention {
            return Err(Error::config("add_cross_attention", "is true: encoder-decoder BERT layers are not supported", "Use a plain encoder checkpoint"));
        }
        let names = match variant {
            Variant::Bert => &BERT_NAMES,
            Variant::Roberta | Variant::XlmRoberta | Variant::Camembert => &ROBERTA_NAMES,
            Variant::DistilBert => &DISTILBERT_NAMES,
            Variant::MpNet => &MPNET_NAMES,
            Variant::Electra => &ELECTRA_NAMES,
        };
        if let Some(kind) = cfg.position_embedding_type.as_deref() {
            if kind != "absolute" {
                return Err(Error::config(
                    "position_embedding_type",
                    format!("\"{kind}\" positions are not supported"),
                    "Glassbox runs BERT with \"absolute\" (learned) positions",
                ));
            }
        }
        let (v, c, h, f, p) = (cfg.vocab_size, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size, cfg.max_position_embeddings);
        if h == 0 || c % h != 0 {
            return Err(Error::config("num_attention_heads", format!("hidden_size {c} is not divisible by {h} heads"), "Use the config.json saved with the weights"));
        }
        let activation = Activation::from_config(if variant == Variant::DistilBert { "activation" } else { "hidden_act" }, &cfg.hidden_act)?;
        // RoBERTa's, MPNet's and ELECTRA's generator heads use the erf GELU whatever hidden_act says.
        let head_activation = if variant.is_roberta() || matches!(variant, Variant::MpNet | Variant::Electra) { Activation::GeluErf } else { activation };
        // The embeddings' width: ELECTRA's embedding_size, the model's for the others.
        let e = match variant {
            Variant::Electra => cfg.embedding_size.unwrap_or(ELECTRA_EMBEDDING_SIZE),
            _ => c,
        };
        if e == 0 || e as u64 > crate::loader::limits::MAX_DIM {
            return Err(Error::config("embedding_size", format!("is {e}, but it must be a positive width"), "Use the config.json saved with the weights"));
        }
        let position_offset = match variant {
            Variant::Roberta | Variant::XlmRoberta | Variant::Camembert => {
                let pad = cfg.pad_token_id.value().ok_or_else(|| Error::config("pad_token_id", "is null; RoBERTa counts positions from it", "Set \"pad_token_id\": 1 (RoBERTa's), or leave the key out"))? as usize;
                if pad + 1 >= p {
                    return Err(Error::config("pad_token_id", format!("is {pad}, but RoBERTa positions start at pad_token_id + 1 and the table has {p} rows"), "Use the config.json saved with the weights"));
                }
                pad + 1
            }
            Variant::MpNet => {
                if MPNET_PAD as usize + 1 >= p {
                    return Err(Error::config("max_position_embeddings", format!("is {p}, but MPNet's positions start at row 2"), "Use the config.json saved with the weights"));
                }
                MPNET_PAD as usize + 1
            }
            _ => 0,
        };
        let w = weights.with_prefixes(&[names.prefix]);
        let eps = cfg.layer_norm_eps;
        let mut layers = Vec::new(); // grown per loaded layer: a config cannot reserve memory the file does not back
        for i in 0..cfg.num_hidden_layers {
            let n = format!("{}.{i}", names.layer);
            let at = |part: &str| format!("{n}.{part}");
            layers.push(Layer {
                query: linear(&w, &at(names.query), c, c, true)?,
                key: linear(&w, &at(names.key), c, c, true)?,
                value: linear(&w, &at(names.value), c, c, true)?,
                attn_out: linear(&w, &at(names.attn_out), c, c, true)?,
                attn_ln: LayerNorm::load(&w, &at(names.attn_ln), c, eps)?,
                intermediate: linear(&w, &at(names.intermediate), c, f, true)?,
                output: linear(&w, &at(names.output), f, c, true)?,
                out_ln: LayerNorm::load(&w, &at(names.out_ln), c, eps)?,
            });
        }
        let word = token_table_not_int8(&w, names.word, v, e)?;
        let random = matches!(w, Weights::Random { .. });
        let pos = match w.get_opt(names.pos, &[p, e])? {
            Some(table) if !(sinusoidal && random) => table,
            // HF fills DistilBERT's sinusoidal table at init; a file may leave it out.
            _ if sinusoidal && p.saturating_mul(c) <= crate::loader::limits::MAX_RANDOM_PARAMS => sinusoidal_table(p, c),
            _ => return Err(Error::tensor(names.pos, "missing from the checkpoint", "Check that config.json belongs to these weights and that the file is complete")),
        };
        let types = match names.types {
            Some(name) => Some(w.get(name, &[cfg.type_vocab_size, e])?),
            None => None,
        };
        let emb_ln = LayerNorm::load(&w, names.emb_ln, e, eps)?;
        let project = match e == c {
            true => None,
            false => Some(linear(&w, "embeddings_project", e, c, true)?),
        };
        let relative_bias = match variant {
            Variant::MpNet => {
                // `relative_attention_num_buckets` sizes the table; the encoder looks up the first 32 rows.
                let rows = cfg.relative_attention_num_buckets.unwrap_or(MPNET_BUCKETS);
                if rows < MPNET_BUCKETS {
                    return Err(Error::config(
                        "relative_attention_num_buckets",
                        format!("is {rows}, but MPNet's encoder looks up {MPNET_BUCKETS} distance buckets"),
                        "Use the config.json saved with the weights (MPNet's is 32)",
                    ));
                }
                let table = w.get("encoder.relative_attention_bias.weight", &[rows, h])?;
                Some(table[..MPNET_BUCKETS * h].to_vec())
            }
            _ => None,
        };
        let pooler = if !matches!(variant, Variant::DistilBert | Variant::Electra) && (w.contains("pooler.dense.weight") || (random && !class_drops_pooler(config_json))) {
            Some(linear(&w, "pooler.dense", c, c, true)?)
        } else {
            None
        };
        let mlm = if w.contains(&format!("{}.weight", names.head_dense)) || random {
            let [own, decoders] = names.head_bias;
            let (decoder, bias) = super::layers::tied_mlm_decoder(&w, [names.head_decoder, own, decoders], names.word, v, e, cfg.tie_word_embeddings)?;
            Some(MlmHead {
                dense: linear(&w, names.head_dense, c, e, true)?,
                ln: LayerNorm::load(&w, names.head_ln, e, eps)?,
                decoder,
                bias,
            })
        } else {
            None
        };
        let discriminator = match variant == Variant::Electra && w.contains("discriminator_predictions.dense.weight") {
            true => Some((linear(&w, "discriminator_predictions.dense", c, c, true)?, linear(&w, "discriminator_predictions.dense_prediction", c, 1, true)?)),
            false => None,
        };
        let classifier = match classifier::requested(config_json)? {
            Some(info) => {
                let names = classifier_names(variant, info.task);
                Some(ClassifierHead::load(&w, info, names, c, pooler.is_some())?)
            }
            None => None,
        };
        let per_layer = 4 * (c * c + c) + (c * f + f) + (f * c + c) + 4 * c;
        // As transformers counts `parameters()`: DistilBERT's sinusoidal table is a (frozen) parameter too, and an
        // untied decoder adds its weights and, untied by config, a bias of its own beside the head's.
        let n_params = classifier.as_ref().map_or(0, ClassifierHead::n_params) + (v + p + cfg.type_vocab_size) * e
            + 2 * e
            + project.as_ref().map_or(0, |_| e * c + c)
            + cfg.num_hidden_layers * per_layer
            + pooler.as_ref().map_or(0, |_| c * c + c)
            + mlm.as_ref().map_or(0, |m| c * e + 3 * e + v + m.decoder.as_ref().map_or(0, |_| v * e + if cfg.tie_word_embeddings { 0 } else { v }))
            + discriminator.as_ref().map_or(0, |_| c * c + 2 * c + 1);
        let info = ModelInfo {
            model_type: variant.model_type().into(),
            kind: Kind::EncoderOnly,
            positions: if sinusoidal { Positions::Sinusoidal } else { Positions::Learned },
            n_layers: cfg.num_hidden_layers,
            n_decoder_layers: 0,
            n_heads: h,
            d_model: c,
            d_ff: f,
            vocab_size: v,
            max_positions: Some(p - position_offset),
            n_params,
            has_lm_head: mlm.is_some(),
            bos_token_id: None,
            eos_token_id: None,
            pad_token_id: cfg.pad_token_id.value(),
            decoder_start_token_id: None,
        };
        Ok(Bert { variant, config: cfg, info, word, pos, types, emb_ln, layers, pooler, mlm, activation, head_activation, position_offset, relative_bias, project, discriminator, classifier })
    }

    /// The position rows added at positions `0..n` (of a text without pad tokens): `[N][E]` (E = C
    /// but for ELECTRA's narrower embeddings).
    pub(crate) fn position_rows(&self, n: usize) -> &[f32] {
        let e = self.embedding_width();
        &self.pos[self.position_offset * e..(self.position_offset + n) * e]
    }

    /// The width of the token, position and type rows: `embedding_size` for ELECTRA, else the model's.
    pub fn embedding_width(&self) -> usize {
        self.word.d_in
    }

    /// ELECTRA discriminators: whether the checkpoint scores each token for having been replaced.
    pub fn has_replaced_token_head(&self) -> bool {
        self.discriminator.is_some()
    }

    /// The classification head the checkpoint carries, if any.
    pub fn classifier(&self) -> Option<&ClassifierInfo> {
        self.classifier.as_ref().map(|h| &h.info)
    }

    /// ELECTRA's `embeddings_project`: whether its embeddings are widened before the first layer.
    pub fn has_embedding_projection(&self) -> bool {
        self.project.is_some()
    }

    /// The position table row of each token: `0..T`, or RoBERTa's `pad + cumsum(id != pad)`
    /// (pad tokens themselves read row `pad`). `[T]`
    fn position_ids(&self, ids: &[u32]) -> Vec<u32> {
        let pad = match self.variant {
            Variant::MpNet => Some(MPNET_PAD),
            _ => self.config.pad_token_id.value(),
        };
        match (self.variant, pad) {
            (Variant::Roberta | Variant::XlmRoberta | Variant::Camembert | Variant::MpNet, Some(pad)) => {
                let mut seen = 0;
                ids.iter()
                    .map(|&id| {
                        if id == pad {
                            pad
                        } else {
                            seen += 1;
                            pad + seen
                        }
                    })
                    .collect()
            }
            _ => (0..ids.len() as u32).collect(),
        }
    }

    pub(crate) fn token_table(&self) -> TokenTable<'_> {
        TokenTable::Packed(&self.word)
    }

    /// MPNet's position bias for `t` tokens: `bias[h][i][j] = table[bucket(j - i)][h]`, `[H][T][T]`.
    fn position_bias(&self, table: &[f32], t: usize) -> Array3<f32> {
        let h = self.config.num_attention_heads;
        Array3::from_shape_fn((h, t, t), |(head, i, j)| {
            table[super::t5::relative_bucket(j as i64 - i as i64, true, MPNET_BUCKETS, MPNET_MAX_DISTANCE) * h + head]
        })
    }

    /// Whether every layer adds a learned bias per head and distance bucket to its scores (MPNet).
    pub fn has_relative_bias(&self) -> bool {
        self.relative_bias.is_some()
    }

    /// MPNet's bias of each bucket for each head: `[32][H]`.
    pub(crate) fn relative_bias_table(&self) -> Option<&[f32]> {
        self.relative_bias.as_deref()
    }

    /// The masked-LM head on any hidden state `x: [T][C]` (BERT has no final norm): `[T][V]`.
    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        self.mlm_logits(x)
    }

    /// `x: [T][C]` -> `[T][V]` through the masked-LM head, if the checkpoint has one.
    fn mlm_logits(&self, x: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        self.mlm.as_ref().map(|head| head.logits(x, &self.word, self.head_activation))
    }

    pub fn forward(&self, ids: &[u32], type_ids: Option<&[u32]>, probe: &Probe) -> Result<Outputs> {
        let (c, h) = (self.config.hidden_size, self.config.num_attention_heads);
        let dh = c / h;
        let t = ids.len();
        // x = LN(word[ids] + pos[position_ids] + type[type_ids])    [T][E], widened to [T][C] (ELECTRA)
        let e = self.embedding_width();
        let mut x = activations::embed(&TokenTable::Packed(&self.word), e, ids);
        x += &activations::embed(&TokenTable::Rows(&self.pos), e, &self.position_ids(ids));
        if let Some(types) = &self.types {
            super::layers::add_token_types(&mut x, types, self.config.type_vocab_size, type_ids)?;
        }
        self.emb_ln.apply(flat_mut(&mut x));
        if let Some(project) = &self.project {
            x = activations::linear(project, x.view());
        }

        let mut rec = Recorder::probing(probe, AttentionKind::Encoder, self.layers.len(), h, t, t);
        let keys = probe.interventions.additive_token_mask(); // [T], hidden tokens ≈ -inf
        let bias = self.relative_bias.as_ref().map(|table| self.position_bias(table, t)); // [H][T][T], the same in every layer
        for (l, layer) in self.layers.iter().enumerate() {
            rec.hidden_state(&x);
            x = layer.apply(&x, (h, dh), keys.as_deref(), bias.as_ref().map(|b| b.view()), self.activation, &mut rec, l);
        }
        rec.hidden_state(&x);

        // The pooler reads the first token's state.
        let pooled = self.pooler.as_ref().filter(|_| t > 0).map(|p| {
            let mut y = activations::linear(p, x.slice(s![..1, ..])); // [1][C]
            y.mapv_inplace(super::layers::tanh);
            into_flat(y)
        });
        let (logits, top_k) = super::logits::keep(probe.logits, x.view(), self.info.vocab_size, |rows| self.mlm_logits(rows));
        // ELECTRA discriminator: `w_p · act(W_d x + b_d) + b_p`, one logit per token.
        let replaced_logits = self.discriminator.as_ref().map(|(dense, prediction)| {
            let mut hidden = activations::linear(dense, x.view()); // [T][C]
            self.activation.apply(flat_mut(&mut hidden));
            into_flat(activations::linear(prediction, hidden.view())) // [T][1]
        });
        let class_logits = self.classifier.as_ref().and_then(|head| head.logits(x.view(), pooled.as_deref(), keys.as_deref()));
        Ok(Outputs {
            logits,
            top_k,
            pooled,
            replaced_logits,
            class_logits,
            ..rec.encoder_outputs(x)
        })
    }
}

/// Mean of the token vectors `[T][C]`, L2-normalised: the sentence embedding of
/// sentence-transformers' mean-pooling models such as all-MiniLM-L6-v2.
pub fn sentence_embedding(hidden: &[f32], c: usize) -> Vec<f32> {
    let t = hidden.len() / c;
    let mut mean = vec![0.0f32; c];
    for row in hidden.chunks_exact(c) {
        add_in_place(&mut mean, row);
    }
    mean.iter_mut().for_each(|v| *v /= t.max(1) as f32);
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    mean.iter_mut().for_each(|v| *v /= norm);
    mean
}

super::family::impl_encoder_forward!(Bert, Bert::forward);

impl super::Family for Bert {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, _last: bool) -> Result<Array2<f32>> {
        Bert::lens(self, x).ok_or_else(|| {
            Error::input("this BERT checkpoint has no masked-LM head to read hidden states with", "Load the masked-LM checkpoint (BertForMaskedLM, RobertaForMaskedLM or DistilBertForMaskedLM), not the base model")
        })
    }
    fn position_rows(&self, _stack: super::Stack, n: usize) -> Option<&[f32]> {
        Some(Bert::position_rows(self, n))
    }
    fn token_table(&self, _stack: super::Stack) -> (super::layers::TokenTable<'_>, usize, f32) {
        (Bert::token_table(self), self.config.vocab_size, 1.0)
    }
    fn embedding_width(&self) -> usize {
        Bert::embedding_width(self)
    }
}

/// Whether transformers builds the checkpoint's class without the pooler (`add_pooling_layer=False`:
/// the masked-LM, tagging and span classes). A random-weight twin of such a model gets none either, so
/// its parameter count is the trained model's.
fn class_drops_pooler(config_json: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(cfg)) = serde_json::from_slice::<serde_json::Value>(config_json) else { return false };
    cfg.get("architectures").and_then(serde_json::Value::as_array).is_some_and(|classes| {
        classes.iter().filter_map(serde_json::Value::as_str).any(|c| ["ForMaskedLM", "ForTokenClassification", "ForQuestionAnswering"].iter().any(|s| c.ends_with(s)))
    })
}

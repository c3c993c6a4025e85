//! BART (`BartForConditionalGeneration`), Marian (`MarianMTModel`) and their pre-LayerNorm
//! relatives mBART (`MBartForConditionalGeneration`), Pegasus (`PegasusForConditionalGeneration`)
//! and M2M100 / NLLB (`M2M100ForConditionalGeneration`): the original encoder-decoder transformer
//! with biased projections and q scaled by D^-0.5. They differ in where the norms sit and how
//! positions enter:
//!
//! | model_type | norms | positions                                        | after the embeddings |
//! |------------|-------|--------------------------------------------------|----------------------|
//! | `bart`     | post  | learned table, row = position + 2 (HF's offset)  | `layernorm_embedding` |
//! | `marian`   | post  | sinusoids: `sin` in the first half of the vector, `cos` in the second | nothing |
//! | `mbart`    | pre   | as `bart`                                        | `layernorm_embedding` |
//! | `pegasus`  | pre   | as `marian`                                      | nothing |
//! | `m2m_100`  | pre   | fairseq sinusoids (see [`fairseq_sinusoids`]), row = pad + 1 + count of non-pad tokens so far; a pad token reads the zeroed row `pad` | nothing |
//!
//! Reference semantics: Hugging Face `modeling_bart.py`, `modeling_marian.py`, `modeling_mbart.py`,
//! `modeling_pegasus.py` and `modeling_m2m_100.py` (transformers 5.24).
//!
//! ```text
//! encoder:  x = embed[src]·scale + pos[0..S]   (BART, mBART: x = LN_emb(x))  # [S][C]
//!   post:   for each layer:  x = LN(x + attn(x));  x = LN(x + fc2(act(fc1(x))))
//!   pre:    for each layer:  x = x + attn(LN(x));  x = x + fc2(act(fc1(LN(x))));  then x = LN_enc(x)
//! decoder:  y = embed[tgt]·scale + pos[P..P+T] (BART, mBART: y = LN_emb(y))  # [T][C]
//!   post:   for each layer:  y = LN(y + self_attn(y))       (causal, KV cache)
//!                            y = LN(y + cross_attn(y, enc))
//!                            y = LN(y + fc2(act(fc1(y))))
//!   pre:    the same sublayers reading LN(y) and adding to y; then y = LN_dec(y)
//!           logits = y · headᵀ + final_logits_bias (M2M100 has none)          # [T][V]
//! ```
//!
//! M2M100's table grows in HF when a sequence needs rows past `max_position_embeddings` (its rows
//! are computed, never loaded, and a row's values do not depend on the table's size), so Glassbox
//! honours any position: the model has no position limit (`max_positions: None`) and runs, as for
//! every such model, at most `MAX_TOKENS_WITHOUT_POSITION_TABLE` tokens at once. Its config class
//! defaults differ from BART's: `scale_embedding` true, `activation_function` relu, `pad_token_id`
//! 1 (the positions read it; `null` is refused, HF cannot build its positions without it).
//!
//! `scale` is sqrt(d_model) when `scale_embedding` is true, else 1. HF's Marian ignores the
//! `normalize_before` / `normalize_embedding` keys some converted configs carry (every Marian
//! checkpoint is post-LN without an embedding norm), and so do we. With
//! `share_encoder_decoder_embeddings: false` Marian's decoder has its own table of
//! `decoder_vocab_size` rows, which the head shares; with `true`, `decoder_vocab_size` is ignored
//! (as in HF) and every table has `vocab_size` rows.
//!
//! Embeddings, as HF 5 loads them: each stack reads its own `{s}.embed_tokens.weight` when the
//! checkpoint stores it (transformers 5 writes all three tables of an untied model), else
//! `shared.weight` (the tied layout: transformers 4 and tied transformers 5 store only `shared`);
//! the head is the stored `lm_head.weight`, else `shared` (Marian without shared tables: the
//! decoder's table), as HF ties it. A missing `lm_head.weight`
//! with `tie_word_embeddings: false` is refused: Hugging Face would start that head from random
//! numbers. (A transformers 4 untied BART stores only `shared` and `lm_head`: its stacks read
//! `shared`, which is what transformers 4 ran; transformers 5 would start them from random numbers.)
//!
//! Decoder start: `decoder_start_token_id` from config.json; when absent, Marian uses its pad id
//! (what Marian was trained with) and the others their bos id (what HF's `generate` falls back to:
//! it reads the raw keys, not the config classes' defaults; checked for all five).
//!
//! Checkpoint name map (optionally prefixed `model.`; `{s}` is `encoder` or `decoder`):
//!
//! | name                                              | shape        |
//! |---------------------------------------------------|--------------|
//! | `shared.weight` (or `encoder.embed_tokens.weight`) | [V][C]      |
//! | `encoder.embed_tokens.weight` (defaults to shared) | [V][C]      |
//! | `decoder.embed_tokens.weight` (defaults to shared) | [V_dec][C]  |
//! | `{s}.embed_positions.weight` (BART, mBART)         | [P+2][C]    |
//! | `{s}.layernorm_embedding.{weight,bias}` (BART, mBART) | [C]      |
//! | `{s}.layers.{l}.self_attn.{q,k,v,out}_proj.{weight,bias}` | [C][C], [C] |
//! | `{s}.layers.{l}.self_attn_layer_norm.*`            | [C]         |
//! | `decoder.layers.{l}.encoder_attn.{q,k,v,out}_proj.*` | [C][C], [C] |
//! | `decoder.layers.{l}.encoder_attn_layer_norm.*`     | [C]         |
//! | `{s}.layers.{l}.fc1.*`                             | [F][C], [F] |
//! | `{s}.layers.{l}.fc2.*`                             | [C][F], [C] |
//! | `{s}.layers.{l}.final_layer_norm.*`                | [C]         |
//! | `{s}.layer_norm.{weight,bias}` (pre-LN only)       | [C]         |
//! | `lm_head.weight` (optional; tied to the decoder embeddings) | [V_dec][C] |
//! | `final_logits_bias` (optional; zeros; never read for M2M100) | [1][V_dec] |
//!
//! Marian and Pegasus checkpoints may also store `{s}.embed_positions.weight` `[P][C]`: read when
//! stored (as HF 5 loads it), else computed.

use super::attention::{attend, KvCache, Mask, Recorder};
use super::seq2seq::{check_state, EncoderDecoder};
use super::activations::{self, flat_mut, view_rows};
use super::layers::{add_in_place, linear, token_table_not_int8, Activation, LayerNorm, TokenTable};
use crate::loader::one_id;
use super::{DecoderState, Kind, ModelInfo, Positions};
use crate::error::{Error, Result};
use crate::kernels::Linear;
use crate::loader::{parse_json, Keyed, Weights};
use ndarray::{s, Array2, ArrayView2};
use serde::Deserialize;
use std::borrow::Cow;

/// The fields of config.json that change the computation (all five model types).
#[derive(Debug, Clone, Deserialize)]
pub struct BartConfig {
    pub model_type: String,
    pub vocab_size: usize,
    #[serde(default)]
    pub decoder_vocab_size: Option<usize>,
    pub d_model: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    pub encoder_attention_heads: usize,
    pub decoder_attention_heads: usize,
    pub encoder_ffn_dim: usize,
    pub decoder_ffn_dim: usize,
    /// Left out: the config class's default (`relu` for m2m_100, else `gelu`), filled in by `load`.
    #[serde(default)]
    pub activation_function: Option<String>,
    pub max_position_embeddings: usize,
    /// Null reads as false, as HF's `if config.scale_embedding` does; left out, the class's default
    /// (true for m2m_100, else false).
    #[serde(default)]
    pub scale_embedding: Keyed<bool>,
    #[serde(default = "yes")]
    pub share_encoder_decoder_embeddings: bool,
    /// `PAD_ABSENT` while parsing when the key is left out (`load` settles it: m2m_100's positions
    /// read the class default 1; the other families keep `None`, the raw key generation reads).
    #[serde(default = "pad_absent", deserialize_with = "one_id")]
    pub pad_token_id: Option<u32>,
    #[serde(default, deserialize_with = "one_id")]
    pub bos_token_id: Option<u32>,
    #[serde(default, deserialize_with = "one_id")]
    pub eos_token_id: Option<u32>,
    #[serde(default, deserialize_with = "one_id")]
    pub decoder_start_token_id: Option<u32>,
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
}

const PAD_ABSENT: u32 = u32::MAX;
fn pad_absent() -> Option<u32> {
    Some(PAD_ABSENT)
}
fn yes() -> bool {
    true
}

/// LayerNorm epsilon of `nn.LayerNorm`'s default, which both families use.
const LN_EPS: f32 = 1e-5;
/// BART's learned position table starts two rows in (a fairseq leftover kept by HF).
const BART_POSITION_OFFSET: usize = 2;

struct Attention {
    q: Linear, // C -> C
    k: Linear,
    v: Linear,
    out: Linear,
}

struct EncoderLayer {
    attn: Attention,
    attn_ln: LayerNorm,
    fc1: Linear, // C -> F
    fc2: Linear, // F -> C
    ffn_ln: LayerNorm,
}

struct DecoderLayer {
    self_attn: Attention,
    self_ln: LayerNorm,
    cross: Attention,
    cross_ln: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    ffn_ln: LayerNorm,
}

/// Where position vectors come from.
enum PositionTable {
    /// BART: `[P+2][C]` learned rows per stack, read at position + 2, then `layernorm_embedding`.
    Learned { enc: Vec<f32>, dec: Vec<f32>, enc_ln: LayerNorm, dec_ln: LayerNorm },
    /// Marian, Pegasus: a `[P][C]` table per stack, read at the position itself: the stored
    /// `embed_positions` when the file has them (HF 5 loads them like any weight; an f16 file's
    /// rounded sinusoids are what it adds), else sinusoids computed as HF initialises them.
    Sinusoidal { enc: Vec<f32>, dec: Vec<f32> },
    /// M2M100: one computed `[pad + 1 + N][C]` table for both stacks; the k-th non-pad token (from 1,
    /// counting the cached ones) reads row `pad + k`, a pad token row `pad` (zeros).
    Fairseq { rows: Vec<f32>, pad: usize },
}

pub struct Bart {
    pub config: BartConfig,
    pub info: ModelInfo,
    // Token tables as bias-free C -> V layers in the load's storage: embedding rows and the tied head.
    enc_embed: Linear, // [V][C]
    dec_embed: Option<Linear>, // [V_dec][C], only when not the same table as enc_embed
    positions: PositionTable,
    encoder: Vec<EncoderLayer>,
    decoder: Vec<DecoderLayer>,
    lm_head: Option<Linear>, // [V_dec][C], only when stored untied
    /// The final norms of the encoder and decoder stacks (`{s}.layer_norm`): present exactly when
    /// the blocks are pre-LN (mBART, Pegasus, M2M100).
    final_norms: Option<(LayerNorm, LayerNorm)>,
    final_logits_bias: Vec<f32>, // [V_dec]
    embed_scale: f32,
    activation: Activation,
    dec_vocab: usize, // V_dec
    /// `BartForSequenceClassification`'s head (`classification_head`: dense, tanh, out_proj), read at
    /// the decoder's state of the last `</s>`, the input shifted in as the decoder's input.
    classifier: Option<super::classifier::ClassifierHead>,
}

impl Bart {
    /// The classification head the checkpoint carries, if any.
    pub fn classifier(&self) -> Option<&super::classifier::ClassifierInfo> {
        self.classifier.as_ref().map(|h| &h.info)
    }

    /// What token rows are multiplied by before positions are added: sqrt(d_model) with `scale_embedding`, else 1.
    pub fn embed_scale(&self) -> f32 {
        self.embed_scale
    }

    /// Whether the output head is the input embedding table, as loaded (config.json's tie, unless
    /// the file stores a head of its own that differs from the table).
    pub fn head_is_embedding_table(&self) -> bool {
        self.lm_head.is_none()
    }

    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        let mut cfg: BartConfig = parse_json("config.json", config_json)?;
        let marian = cfg.model_type == "marian";
        let m2m = cfg.model_type == "m2m_100";
        let pre_ln = matches!(cfg.model_type.as_str(), "mbart" | "pegasus" | "m2m_100");
        // The config classes' defaults for keys left out (M2M100Config differs from BartConfig).
        if cfg.pad_token_id == Some(PAD_ABSENT) {
            cfg.pad_token_id = m2m.then_some(1);
        }
        let act_name = cfg.activation_function.get_or_insert_with(|| if m2m { "relu" } else { "gelu" }.into()).clone();
        let scale_embedding = cfg.scale_embedding.or_when_absent(Some(m2m)).unwrap_or(false);
        let (v, c, p) = (cfg.vocab_size, cfg.d_model, cfg.max_position_embeddings);
        let v_dec = if marian && !cfg.share_encoder_decoder_embeddings { cfg.decoder_vocab_size.unwrap_or(v) } else { v };
        for (field, heads) in [("encoder_attention_heads", cfg.encoder_attention_heads), ("decoder_attention_heads", cfg.decoder_attention_heads)] {
            if heads == 0 || c % heads != 0 {
                return Err(Error::config(field, format!("d_model {c} is not divisible by {heads} heads"), "Use the config.json saved with the weights"));
            }
        }
        let activation = Activation::from_config("activation_function", &act_name)?;
        let w = weights.with_prefixes(&["model."]);
        let attention = |prefix: &str| -> Result<Attention> {
            Ok(Attention {
                q: linear(&w, &format!("{prefix}.q_proj"), c, c, true)?,
                k: linear(&w, &format!("{prefix}.k_proj"), c, c, true)?,
                v: linear(&w, &format!("{prefix}.v_proj"), c, c, true)?,
                out: linear(&w, &format!("{prefix}.out_proj"), c, c, true)?,
            })
        };
        let ln = |name: &str| LayerNorm::load(&w, name, c, LN_EPS);
        let (f_enc, f_dec) = (cfg.encoder_ffn_dim, cfg.decoder_ffn_dim);
        let mut encoder = Vec::with_capacity(cfg.encoder_layers);
        for l in 0..cfg.encoder_layers {
            let p = format!("encoder.layers.{l}");
            encoder.push(EncoderLayer {
                attn: attention(&format!("{p}.self_attn"))?,
                attn_ln: ln(&format!("{p}.self_attn_layer_norm"))?,
                fc1: linear(&w, &format!("{p}.fc1"), c, f_enc, true)?,
                fc2: linear(&w, &format!("{p}.fc2"), f_enc, c, true)?,
                ffn_ln: ln(&format!("{p}.final_layer_norm"))?,
            });
        }
        let mut decoder = Vec::with_capacity(cfg.decoder_layers);
        for l in 0..cfg.decoder_layers {
            let p = format!("decoder.layers.{l}");
            decoder.push(DecoderLayer {
                self_attn: attention(&format!("{p}.self_attn"))?,
                self_ln: ln(&format!("{p}.self_attn_layer_norm"))?,
                cross: attention(&format!("{p}.encoder_attn"))?,
                cross_ln: ln(&format!("{p}.encoder_attn_layer_norm"))?,
                fc1: linear(&w, &format!("{p}.fc1"), c, f_dec, true)?,
                fc2: linear(&w, &format!("{p}.fc2"), f_dec, c, true)?,
                ffn_ln: ln(&format!("{p}.final_layer_norm"))?,
            });
        }
        // Each table as HF 5 loads it: the stack's own tensor when stored, else `shared`. Tables are
        // chosen by name, a table stored twice (bit for bit) is kept once, and each is packed in the
        // load's storage (a 16-bit file's tables stay 16-bit; rows are widened on lookup).
        let random = matches!(w, Weights::Random { .. });
        if marian && !cfg.share_encoder_decoder_embeddings && !random {
            // Unshared, each stack has a table of its own and nothing is tied to `shared`: HF would
            // start a missing one from random numbers (and warn that the checkpoint seems corrupted).
            for name in ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"] {
                if !w.contains(name) {
                    return Err(Error::tensor(
                        name,
                        "is missing while config.json says share_encoder_decoder_embeddings: false (Hugging Face would start this table from random numbers)",
                        "Add the stack's own table to model.safetensors, or set share_encoder_decoder_embeddings to true if both stacks read shared.weight",
                    ));
                }
            }
        }
        let shared = w.contains("shared.weight").then_some("shared.weight");
        let enc_name = match (w.contains("encoder.embed_tokens.weight"), shared) {
            (true, _) => "encoder.embed_tokens.weight",
            (false, Some(name)) => name,
            // Random twins: one seeded table, tied as a fresh HF model is.
            (false, None) if random => "shared.weight",
            (false, None) => {
                return Err(Error::tensor(
                    "shared.weight",
                    "missing from the checkpoint (nor is encoder.embed_tokens.weight there)",
                    "Check that the file is a complete checkpoint",
                ))
            }
        };
        let dec_name = if w.contains("decoder.embed_tokens.weight") || (v_dec != v && random) {
            Some("decoder.embed_tokens.weight")
        } else if v_dec != v {
            return Err(Error::tensor(
                "decoder.embed_tokens.weight",
                format!("is needed because decoder_vocab_size {v_dec} differs from vocab_size {v}"),
                "Check that config.json belongs to these weights",
            ));
        } else {
            // Tied layout: the decoder reads `shared` (which may differ from a stored encoder table).
            shared
        };
        // Two names hold one table when they are one tensor or equal bytes (random twins' names never do).
        let dec_name = match dec_name {
            Some(name) if w.same_values(name, enc_name)? => None,
            other => other,
        };
        let dec_table = dec_name.unwrap_or(enc_name);
        // HF ties a missing head to `shared` (BART, and Marian sharing its tables), else to the
        // decoder's own table; a stored head is used as it is.
        let shares_tables = !marian || cfg.share_encoder_decoder_embeddings;
        let head_name = if w.contains("lm_head.weight") {
            Some("lm_head.weight")
        } else if shares_tables {
            shared
        } else {
            None
        };
        let head_name = match head_name {
            Some(name) if w.same_values(name, dec_table)? => None,
            other => other,
        };
        let enc_embed = token_table_not_int8(&w, enc_name, v, c)?;
        let dec_embed = dec_name.map(|name| token_table_not_int8(&w, name, v_dec, c)).transpose()?;
        let lm_head = head_name.map(|name| token_table_not_int8(&w, name, v_dec, c)).transpose()?;
        if !cfg.tie_word_embeddings && !w.contains("lm_head.weight") && !matches!(w, Weights::Random { .. }) {
            return Err(Error::tensor(
                "lm_head.weight",
                "is missing while config.json says tie_word_embeddings: false (Hugging Face would start this head from random numbers)",
                "Add lm_head.weight to model.safetensors, or set tie_word_embeddings to true if the head is the decoder's embedding table",
            ));
        }
        // M2M100 has no `final_logits_bias` (HF leaves a stored one unread).
        let final_logits_bias = match w.get_opt("final_logits_bias", &[1, v_dec])? {
            Some(b) if w.contains("final_logits_bias") && !m2m => b,
            _ => vec![0.0; v_dec],
        };
        let final_norms = if pre_ln { Some((ln("encoder.layer_norm")?, ln("decoder.layer_norm")?)) } else { None };
        let positions = if m2m {
            let pad = cfg.pad_token_id.ok_or_else(|| {
                Error::config("pad_token_id", "is null, but M2M100's positions count from it", "Set it as saved with the model (1 for M2M100 and NLLB)")
            })? as usize;
            PositionTable::Fairseq { rows: fairseq_sinusoids(pad + 1 + p.max(super::MAX_TOKENS_WITHOUT_POSITION_TABLE), c, pad), pad }
        } else if marian || cfg.model_type == "pegasus" {
            let table = |name: &str| if w.contains(name) { w.get(name, &[p, c]) } else { Ok(sinusoids(p, c)) };
            PositionTable::Sinusoidal { enc: table("encoder.embed_positions.weight")?, dec: table("decoder.embed_positions.weight")? }
        } else {
            let rows = p + BART_POSITION_OFFSET;
            PositionTable::Learned {
                enc: w.get("encoder.embed_positions.weight", &[rows, c])?,
                dec: w.get("decoder.embed_positions.weight", &[rows, c])?,
                enc_ln: ln("encoder.layernorm_embedding")?,
                dec_ln: ln("decoder.layernorm_embedding")?,
            }
        };
        let attn_params = 4 * (c * c + c);
        // transformers 5 keeps a stored `shared` that no stack or head reads (an untied model with its
        // own tables) as a parameter of its own.
        let mut shared_unread = false;
        if let Some(s) = shared {
            shared_unread = true;
            for name in [Some(enc_name), dec_name, head_name].into_iter().flatten() {
                if w.same_values(s, name)? {
                    shared_unread = false;
                    break;
                }
            }
        }
        let n_params = v * c
            + dec_embed.as_ref().map_or(0, Linear::n_params)
            + lm_head.as_ref().map_or(0, Linear::n_params)
            // As transformers counts `parameters()`: `final_logits_bias` is a buffer, not counted; Marian's
            // sinusoidal tables are (frozen) parameters, counted.
            + match &positions {
                PositionTable::Sinusoidal { .. } => 2 * p * c,
                PositionTable::Fairseq { .. } => 0, // a buffer, not a parameter
                PositionTable::Learned { .. } => 2 * (p + BART_POSITION_OFFSET) * c + 4 * c,
            }
            + if pre_ln { 4 * c } else { 0 }
            + if shared_unread { v * c } else { 0 }
            + cfg.encoder_layers * (attn_params + 2 * c * f_enc + f_enc + c + 4 * c)
            + cfg.decoder_layers * (2 * attn_params + 2 * c * f_dec + f_dec + c + 6 * c);
        // Absent from config.json: BART starts from its bos id, as transformers 5's `generate` does (it
        // reads the raw keys, not BartConfig's class default of 2, which only its label shifting uses;
        // checked: bos 7 and no decoder_start_token_id generate from 7); Marian from its pad id (what
        // Marian trains with; HF's generate would refuse a Marian config with neither key).
        let decoder_start_token_id = cfg.decoder_start_token_id.or(if marian { cfg.pad_token_id } else { cfg.bos_token_id });
        let classifier = match super::classifier::requested(config_json)? {
            // mBART's class shifts its input differently (the last token wraps round): not read.
            Some(head) if head.task == super::classifier::Task::Sequence && cfg.model_type == "bart" => {
                let names = super::classifier::HeadNames {
                    dense: Some(("classification_head.dense", super::classifier::HeadAct::Tanh)),
                    out: "classification_head.out_proj",
                    pooler: "",
                    out_bias: true,
                };
                let mut head = super::classifier::ClassifierHead::load(&w, head, names, c, true)?;
                head.info.reads = super::classifier::Reads::Last;
                Some(head)
            }
            Some(head) => {
                return Err(Error::config(
                    "architectures",
                    format!("names {}: Glassbox reads BART's sequence classification head only", head.architecture),
                    "Use a BartForSequenceClassification or BartForConditionalGeneration checkpoint, or remove the class from \"architectures\"",
                ))
            }
            None => None,
        };
        let n_params = n_params + classifier.as_ref().map_or(0, super::classifier::ClassifierHead::n_params);
        let info = ModelInfo {
            model_type: cfg.model_type.clone(),
            kind: Kind::EncoderDecoder,
            positions: if matches!(positions, PositionTable::Learned { .. }) { Positions::Learned } else { Positions::Sinusoidal },
            n_layers: cfg.encoder_layers,
            n_decoder_layers: cfg.decoder_layers,
            n_heads: cfg.encoder_attention_heads,
            d_model: c,
            d_ff: f_enc,
            vocab_size: v,
            max_positions: (!m2m).then_some(p),
            n_params,
            has_lm_head: true,
            bos_token_id: cfg.bos_token_id,
            eos_token_id: cfg.eos_token_id,
            pad_token_id: cfg.pad_token_id,
            decoder_start_token_id,
        };
        let embed_scale = if scale_embedding { (c as f32).sqrt() } else { 1.0 };
        Ok(Bart { config: cfg, info, enc_embed, dec_embed, positions, encoder, decoder, lm_head, final_norms, final_logits_bias, embed_scale, activation, dec_vocab: v_dec, classifier })
    }

    fn d_head_enc(&self) -> usize {
        self.config.d_model / self.config.encoder_attention_heads
    }
    fn d_head_dec(&self) -> usize {
        self.config.d_model / self.config.decoder_attention_heads
    }

    /// `embed[ids]·scale + pos[past..past+T]` (then `layernorm_embedding`): `[T][C]`.
    fn embed(&self, table: &Linear, ids: &[u32], past: usize, decoder: bool) -> Result<Array2<f32>> {
        let (c, t, p) = (self.config.d_model, ids.len(), self.config.max_position_embeddings);
        // M2M100 computes rows for any position (checked below against the rows it keeps).
        if past + t > p && !matches!(self.positions, PositionTable::Fairseq { .. }) {
            let side = if decoder { "decoder" } else { "source" };
            return Err(Error::input(
                format!("the {side} would be {} tokens long but this model has positions for only {p}", past + t),
                if decoder { "Generate fewer tokens or give fewer decoder ids" } else { "Shorten the text" },
            ));
        }
        let mut x = activations::embed(&TokenTable::Packed(table), c, ids); // [T][C]
        if self.embed_scale != 1.0 {
            x *= self.embed_scale;
        }
        match &self.positions {
            PositionTable::Sinusoidal { enc, dec } => x += &view_rows(if decoder { dec } else { enc }, c).slice(s![past..past + t, ..]),
            PositionTable::Learned { enc, dec, enc_ln, dec_ln } => {
                let (rows, norm_ln) = if decoder { (dec, dec_ln) } else { (enc, enc_ln) };
                let at = past + BART_POSITION_OFFSET;
                x += &view_rows(rows, c).slice(s![at..at + t, ..]);
                norm(norm_ln, &mut x);
            }
            PositionTable::Fairseq { rows, pad } => {
                // fairseq's make_positions: only non-pad tokens advance the count, which goes on
                // from the cached tokens (pads included, as HF adds its cache length).
                let mut seen = past;
                for (row, &id) in flat_mut(&mut x).chunks_exact_mut(c).zip(ids) {
                    let at = if id as usize == *pad { *pad } else { seen += 1; pad + seen };
                    // Rows reach past every length the session lets through; a longer decode is refused.
                    let pos = rows.get(at * c..(at + 1) * c).ok_or_else(|| Error::input("too many tokens for this model", "Shorten the text"))?;
                    add_in_place(row, pos);
                }
            }
        }
        Ok(x)
    }

    /// What a sublayer reads: `LN(x)` in a pre-LN block, `x` itself in a post-LN one.
    fn sublayer_input<'a>(&self, x: &'a Array2<f32>, ln: &LayerNorm) -> Cow<'a, Array2<f32>> {
        if self.final_norms.is_none() {
            return Cow::Borrowed(x);
        }
        let mut a = x.clone();
        norm(ln, &mut a);
        Cow::Owned(a)
    }

    /// After the residual sum `x`: a post-LN block norms the stream itself.
    fn after_residual(&self, x: &mut Array2<f32>, ln: &LayerNorm) {
        if self.final_norms.is_none() {
            norm(ln, x);
        }
    }

    /// `x: [T][C]` -> `fc2(act(fc1 x))`: `[T][C]`.
    fn ffn(&self, fc1: &Linear, fc2: &Linear, x: &Array2<f32>) -> Array2<f32> {
        let mut hidden = activations::linear(fc1, x.view()); // [T][F]
        self.activation.apply(flat_mut(&mut hidden));
        activations::linear(fc2, hidden.view())
    }

    /// The encoder: `src: [S]` -> `[S][C]`. `keys: [S]` hides source tokens (see [`Mask::Keys`]).
    fn run_encoder(&self, src: &[u32], keys: Option<&[f32]>, rec: &mut Recorder) -> Result<Array2<f32>> {
        let (h, d) = (self.config.encoder_attention_heads, self.d_head_enc());
        let scale = crate::math::pow(d as f64, -0.5) as f32; // HF: head_dim ** -0.5, a Python float
        let mut x = self.embed(&self.enc_embed, src, 0, false)?; // [S][C]
        for (l, layer) in self.encoder.iter().enumerate() {
            rec.hidden_state(&x);
            // x = LN(x + attn(x)), or pre-LN x = x + attn(LN(x))
            let a = self.sublayer_input(&x, &layer.attn_ln); // [S][C]
            let (q, k, v) = (activations::linear(&layer.attn.q, a.view()), activations::linear(&layer.attn.k, a.view()), activations::linear(&layer.attn.v, a.view()));
            let ctx = attend(q.view(), k.view(), v.view(), h, d, scale, Mask::keys_or_full(keys), None, rec.layer(l));
            let out = activations::linear(&layer.attn.out, ctx.view()); // [S][C]
            rec.trace_io(l, &a, &out);
            x += &out;
            self.after_residual(&mut x, &layer.attn_ln);
            // x = LN(x + ffn(x)), or pre-LN x = x + ffn(LN(x))
            let f = self.ffn(&layer.fc1, &layer.fc2, &self.sublayer_input(&x, &layer.ffn_ln));
            x += &f;
            self.after_residual(&mut x, &layer.ffn_ln);
        }
        if let Some((enc_ln, _)) = &self.final_norms {
            norm(enc_ln, &mut x);
        }
        rec.hidden_state(&x);
        Ok(x)
    }

    /// The decoder: `tokens: [T]` at positions `fed..fed+T`, extending the caches. Returns `[T][C]`.
    fn run_decoder(&self, state: &mut DecoderState, tokens: &[u32], self_rec: &mut Recorder, cross_rec: &mut Recorder) -> Result<Array2<f32>> {
        check_state(state, self.decoder.len())?;
        if let Some(&bad) = tokens.iter().find(|&&id| id as usize >= self.dec_vocab) {
            return Err(Error::input(
                format!("decoder id {bad} is outside the decoder's vocabulary (0..{})", self.dec_vocab),
                "Use ids below decoder_vocab_size from config.json",
            ));
        }
        let (h, d, t) = (self.config.decoder_attention_heads, self.d_head_dec(), tokens.len());
        let past = state.fed;
        let scale = crate::math::pow(d as f64, -0.5) as f32; // HF: head_dim ** -0.5, a Python float
        let src_keys = state.interventions.additive_token_mask(); // [S], hidden source tokens
        let mut y = self.embed(self.dec_embed.as_ref().unwrap_or(&self.enc_embed), tokens, past, true)?; // [T][C]
        for (l, layer) in self.decoder.iter().enumerate() {
            self_rec.hidden_state(&y);
            // y = LN(y + self_attn(y)) (pre-LN: y + self_attn(LN(y))), causal over the cache
            let a = self.sublayer_input(&y, &layer.self_ln); // [T][C]
            let (q, k, v) = (activations::linear(&layer.self_attn.q, a.view()), activations::linear(&layer.self_attn.k, a.view()), activations::linear(&layer.self_attn.v, a.view()));
            let kv = &mut state.self_kv[l];
            kv.append(k.view(), v.view());
            let ctx = attend(q.view(), kv.keys(), kv.values(), h, d, scale, Mask::Causal { past }, None, self_rec.layer(l));
            let out = activations::linear(&layer.self_attn.out, ctx.view()); // [T][C]
            self_rec.trace_io(l, &a, &out);
            y += &out;
            self.after_residual(&mut y, &layer.self_ln);
            // y = LN(y + cross_attn(y, enc)) (pre-LN: y + cross_attn(LN(y), enc))
            let a = self.sublayer_input(&y, &layer.cross_ln);
            let q = activations::linear(&layer.cross.q, a.view());
            let kv = &state.cross_kv[l];
            let ctx = attend(q.view(), kv.keys(), kv.values(), h, d, scale, Mask::keys_or_full(src_keys.as_deref()), None, cross_rec.layer(l));
            let out = activations::linear(&layer.cross.out, ctx.view());
            cross_rec.trace_io(l, &a, &out);
            y += &out;
            self.after_residual(&mut y, &layer.cross_ln);
            // y = LN(y + ffn(y)) (pre-LN: y + ffn(LN(y)))
            let f = self.ffn(&layer.fc1, &layer.fc2, &self.sublayer_input(&y, &layer.ffn_ln));
            y += &f;
            self.after_residual(&mut y, &layer.ffn_ln);
        }
        if let Some((_, dec_ln)) = &self.final_norms {
            norm(dec_ln, &mut y);
        }
        self_rec.hidden_state(&y);
        state.fed += t;
        Ok(y)
    }

    /// `h: [T][C]` -> logits `[T][V_dec]` (head + `final_logits_bias`).
    fn logits(&self, h: ArrayView2<'_, f32>) -> Array2<f32> {
        let head = self.lm_head.as_ref().or(self.dec_embed.as_ref()).unwrap_or(&self.enc_embed);
        let mut logits = activations::linear(head, h);
        for mut row in logits.rows_mut() {
            add_in_place(row.as_slice_mut().expect("standard layout"), &self.final_logits_bias);
        }
        logits
    }

    /// Logits as if the decoder stopped at hidden state `x: [T][C]`: post-LN, the head alone;
    /// pre-LN, the decoder's final norm first (which the `last` state has had already).
    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Array2<f32> {
        match &self.final_norms {
            Some((_, dec_ln)) if !last => {
                let mut normed = x.to_owned();
                norm(dec_ln, &mut normed);
                self.logits(normed.view())
            }
            _ => self.logits(x),
        }
    }

    /// Whether the blocks norm before each sublayer (and each stack ends in a final norm), and
    /// whether the embeddings are normed (`layernorm_embedding`): for the model card.
    pub fn norms(&self) -> (bool, bool) {
        (self.final_norms.is_some(), matches!(self.positions, PositionTable::Learned { .. }))
    }

    /// What the embeddings add at positions `0..n` of a stack: `[N][C]` (learned rows read at
    /// position + 2, or the sinusoids; M2M100's from row pad + 1, as a text without pads reads them).
    pub(crate) fn position_rows(&self, decoder: bool, n: usize) -> &[f32] {
        let c = self.config.d_model;
        match &self.positions {
            PositionTable::Fairseq { rows, pad } => &rows[(pad + 1) * c..(pad + 1 + n) * c],
            PositionTable::Sinusoidal { enc, dec } => &(if decoder { dec } else { enc })[..n * c],
            PositionTable::Learned { enc, dec, .. } => {
                let rows = if decoder { dec } else { enc };
                &rows[BART_POSITION_OFFSET * c..(BART_POSITION_OFFSET + n) * c]
            }
        }
    }

    /// A stack's token table, its vocabulary size and the scale applied to its rows.
    pub(crate) fn token_table(&self, decoder: bool) -> (TokenTable<'_>, usize, f32) {
        match (&self.dec_embed, decoder) {
            (Some(table), true) => (TokenTable::Packed(table), self.dec_vocab, self.embed_scale),
            _ => (TokenTable::Packed(&self.enc_embed), self.config.vocab_size, self.embed_scale),
        }
    }
}

impl EncoderDecoder for Bart {
    fn d_model(&self) -> usize {
        self.config.d_model
    }
    fn encoder_shape(&self) -> (usize, usize) {
        (self.encoder.len(), self.config.encoder_attention_heads)
    }
    fn decoder_shape(&self) -> (usize, usize) {
        (self.decoder.len(), self.config.decoder_attention_heads)
    }
    fn encode(&self, src: &[u32], keys: Option<&[f32]>, rec: &mut Recorder) -> Result<Array2<f32>> {
        self.run_encoder(src, keys, rec)
    }
    fn cross_kv(&self, enc: ArrayView2<'_, f32>) -> Vec<KvCache> {
        self.decoder.iter().map(|l| KvCache::new(activations::linear(&l.cross.k, enc), activations::linear(&l.cross.v, enc))).collect()
    }
    fn decode(&self, state: &mut DecoderState, tokens: &[u32], self_rec: &mut Recorder, cross_rec: &mut Recorder) -> Result<Array2<f32>> {
        self.run_decoder(state, tokens, self_rec, cross_rec)
    }
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Array2<f32> {
        self.logits(h)
    }
    fn classifier_head(&self) -> Option<(&super::classifier::ClassifierHead, u32, u32)> {
        // BartConfig's decoder_start_token_id (2 when left out) shifts the labels in; `</s>` ends the text.
        let eos = self.config.eos_token_id.unwrap_or(BART_DEFAULT_EOS);
        self.classifier.as_ref().map(|h| (h, self.config.decoder_start_token_id.unwrap_or(BART_DEFAULT_DECODER_START), eos))
    }
}

/// `x: [T][C]` normed in place; one copy of the norm's code for every call (wasm size).
#[inline(never)]
fn norm(ln: &LayerNorm, x: &mut Array2<f32>) {
    ln.apply(flat_mut(x));
}

/// BartConfig's `eos_token_id` and `decoder_start_token_id` when config.json leaves them out.
const BART_DEFAULT_EOS: u32 = 2;
const BART_DEFAULT_DECODER_START: u32 = 2;

/// Marian's position table `[P][C]`: for position `p` and `k < C/2` (rounded up),
/// `row[k] = sin(p / 10000^(2k/C))` and `row[C/2 + k] = cos(p / 10000^(2k/C))`: the sines fill
/// the first half, the cosines the second (not interleaved as in the paper). Computed in f64 as HF
/// does with numpy, then rounded to f32.
pub fn sinusoids(n_positions: usize, c: usize) -> Vec<f32> {
    let half = c.div_ceil(2);
    let mut table = vec![0.0f32; n_positions * c];
    for pos in 0..n_positions {
        let row = &mut table[pos * c..(pos + 1) * c];
        for k in 0..half {
            // Column 2k of the interleaved layout: its sine goes to slot k.
            let angle = pos as f64 / crate::math::pow(10000.0, (2 * k) as f64 / c as f64);
            row[k] = crate::math::sin(angle) as f32;
        }
        for k in 0..c - half {
            // Column 2k+1 shares the frequency of column 2k: its cosine goes to slot half + k.
            let angle = pos as f64 / crate::math::pow(10000.0, (2 * k) as f64 / c as f64);
            row[half + k] = crate::math::cos(angle) as f32;
        }
    }
    table
}

/// M2M100's (fairseq's) position table `[N][C]`: `half = C/2` frequencies
/// `f_k = exp(-k·ln(10000)/(half-1))`, `row[k] = sin(p·f_k)`, `row[half + k] = cos(p·f_k)` (a zero
/// last column when C is odd), and row `pad` all zeros. A row depends only on its position, so a
/// longer table extends a shorter one (HF regrows its table so). Rounded to f32 step by step, as
/// torch computes it.
pub fn fairseq_sinusoids(n_rows: usize, c: usize, pad: usize) -> Vec<f32> {
    let half = c / 2;
    let step = -(crate::math::ln(10000.0) / (half as f64 - 1.0)) as f32;
    let mut table = vec![0.0f32; n_rows * c];
    for (pos, row) in table.chunks_exact_mut(c).enumerate().filter(|&(pos, _)| pos != pad) {
        let (sines, cosines) = row.split_at_mut(half); // cosines: C - half >= half slots
        for (k, (sin, cos)) in sines.iter_mut().zip(cosines).enumerate() {
            // Each step's f32 result, through f64 functions (the wasm has no f32 ones to spare).
            let angle = (pos as f32 * crate::math::exp((k as f32 * step) as f64) as f32) as f64;
            (*sin, *cos) = (crate::math::sin(angle) as f32, crate::math::cos(angle) as f32);
        }
    }
    table
}

impl super::Family for Bart {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn decoder_vocab_size(&self) -> usize {
        self.dec_vocab
    }
    fn attention_dims(&self, kind: super::AttentionKind) -> Option<(usize, usize)> {
        let c = &self.config;
        Some(match kind {
            super::AttentionKind::Encoder => (c.encoder_layers, c.encoder_attention_heads),
            _ => (c.decoder_layers, c.decoder_attention_heads),
        })
    }
    fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Result<Array2<f32>> {
        Ok(Bart::lens(self, x, last))
    }
    fn position_rows(&self, stack: super::Stack, n: usize) -> Option<&[f32]> {
        Some(Bart::position_rows(self, stack == super::Stack::Decoder, n))
    }
    fn token_table(&self, stack: super::Stack) -> (super::layers::TokenTable<'_>, usize, f32) {
        Bart::token_table(self, stack == super::Stack::Decoder)
    }
}

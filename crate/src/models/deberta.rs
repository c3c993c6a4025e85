//! DeBERTa-v2 and v3 (`model_type` `deberta-v2`: `DebertaV2Model`, `DebertaV2ForMaskedLM` and the
//! classification heads): BERT's post-norm layers with *disentangled* attention. Each token has
//! one vector for what it says (the content) and the model keeps a second table for where it sits
//! relative to another token (`rel_embeddings`, one row per relative distance or distance bucket).
//! A score then has three parts: content to content (BERT's `q·k`), content to position (the
//! query's content against the key's relative position, "c2p") and position to content (the key's
//! content against the query's relative position, "p2c"), and the sum is scaled by
//! `sqrt(head_dim · (1 + number of position parts))`.
//!
//! Reference semantics: Hugging Face `transformers/models/deberta_v2/modeling_deberta_v2.py` (5.x).
//!
//! ```text
//! e = LN_emb(proj(word[ids] (+ pos[0..T] if position_biased_input) (+ type[type_ids])))  # [T][C]
//! r = LN_rel(rel_embeddings)                      # [2S][C], rows for distances -S..S-1 (norm_rel_ebd)
//! idx(i, j) = clamp(bucket(i - j) + S, 0, 2S - 1)  # bucket: log buckets past S/2 (position_buckets)
//! per layer, per head (pk = W_k r + b_k, pq = W_q r + b_q when share_att_key; else pos_*_proj):
//!     score[i][j] = (q_i·k_j + q_i·pk[idx(i,j)] + k_j·pq[idx(i,j)]) / sqrt(D · (1 + parts))
//!     a = LN(x + W_o softmax(score) v);   x = LN(a + W_2 act(W_1 a))
//!     (after layer 0 only, with conv_kernel_size: x = LN(x + act(conv1d(e))), deberta-v2-xlarge)
//! logits = LN(act(dense(x))) · wordᵀ + bias        # [T][V]: cls.predictions (legacy) or lm_predictions.lm_head
//! ```
//!
//! Checkpoint names (`deberta.` before the encoder's under a head):
//!
//! | name | shape |
//! |------|-------|
//! | `embeddings.word_embeddings.weight` | [V][E] |
//! | `embeddings.position_embeddings.weight` (position_biased_input) | [P][E] |
//! | `embeddings.token_type_embeddings.weight` (type_vocab_size > 0) | [types][E] |
//! | `embeddings.embed_proj.weight` (E != C) | [C][E] |
//! | `embeddings.LayerNorm.*` | [C] |
//! | `encoder.rel_embeddings.weight` (relative_attention) | [2S][C] |
//! | `encoder.LayerNorm.*` (norm_rel_ebd "layer_norm") | [C] |
//! | `encoder.layer.{l}.attention.self.{query,key,value}_proj.*` | [C][C], [C] |
//! | `encoder.layer.{l}.attention.self.pos_{key,query}_proj.*` (not share_att_key) | [C][C], [C] |
//! | `encoder.layer.{l}.attention.output.{dense,LayerNorm}.*`, `intermediate.dense.*`, `output.{dense,LayerNorm}.*` | as BERT's |
//! | `encoder.conv.conv.{weight,bias}`, `encoder.conv.LayerNorm.*` (conv_kernel_size) | [C][C][K], [C] |
//! | `cls.predictions.transform.{dense,LayerNorm}.*`, `cls.predictions.bias` (legacy head) | [E][C], [E]; [V] |
//! | `lm_predictions.lm_head.{dense,LayerNorm}.*`, `lm_predictions.lm_head.bias` (legacy false) | [C][C], [C]; [V] |
//! | `pooler.dense.*`, `classifier.*` / `qa_outputs.*` (fine-tuned heads) | [C][C]; [L][C] |
//!
//! A hidden token (the interventions' token mask) is hidden as transformers hides a padded one: its
//! embedding is zeroed, no query reads it, and its own row attends to every key alike.

use super::activations::{self, flat_mut, into_flat};
use super::attention::{attend, AttentionKind, Mask, Recorder};
use super::bert::Layer;
use super::classifier::{self, ClassifierHead, ClassifierInfo, HeadAct, HeadNames, Task};
use super::layers::{linear, token_table_not_int8, Activation, LayerNorm, MlmHead, TokenTable};
use super::{Kind, ModelInfo, Outputs, Positions, Probe};
use crate::error::{Error, Result};
use crate::kernels::{self, Linear};
use crate::loader::{parse_json, Weights};
use ndarray::{Array2, Array3, ArrayView2};

/// The keys of a `DebertaV2Config` that change the numbers (defaults as the class's).
#[derive(Debug, Clone)]
pub struct DebertaConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f32,
    pub relative_attention: bool,
    pub max_relative_positions: i64,
    pub position_buckets: i64,
    pub position_biased_input: bool,
    pub share_att_key: bool,
    pub embedding_size: usize,
    pub legacy: bool,
    pub tie_word_embeddings: bool,
    pub pad_token_id: Option<u32>,
}

/// config.json's keys read through serde_json's `Value`: a derived parser of two dozen keys cost
/// 7 KB of the shipped wasm. Left out, a key takes the class's default; `null` is refused by name, as
/// transformers 5 refuses it (its typed fields fail validation, the others fail building the model).
struct Keys(serde_json::Map<String, serde_json::Value>);

impl Keys {
    /// The key's value; `None` when left out, an error when `null`.
    fn get(&self, key: &str) -> Result<Option<&serde_json::Value>> {
        match self.0.get(key) {
            Some(serde_json::Value::Null) => Err(Error::config(key, "is null, which transformers cannot build a DeBERTa with", "Give it a value, or leave the key out for the default")),
            other => Ok(other),
        }
    }

    #[inline(never)]
    fn int(&self, key: &str, default: Option<i64>) -> Result<i64> {
        match self.get(key)? {
            None => default.ok_or_else(|| Error::config(key, "is missing", "Use the config.json saved with the weights")),
            Some(v) => v.as_i64().ok_or_else(|| Error::config(key, format!("is {v}, not a whole number"), "Use the config.json saved with the weights")),
        }
    }

    /// A size: a whole number from 0 to the loader's limit.
    #[inline(never)]
    fn size(&self, key: &str, default: Option<i64>) -> Result<usize> {
        let n = self.int(key, default)?;
        usize::try_from(n).ok().filter(|&n| n as u64 <= crate::loader::limits::MAX_DIM).ok_or_else(|| Error::config(key, format!("is {n}, not a size a model can have"), "Use the config.json saved with the weights"))
    }

    #[inline(never)]
    fn flag(&self, key: &str, default: bool) -> Result<bool> {
        self.get(key)?.map_or(Ok(default), |v| v.as_bool().ok_or_else(|| Error::config(key, format!("is {v}, not true or false"), "Use true or false")))
    }

    #[inline(never)]
    fn text(&self, key: &str, default: &str) -> Result<String> {
        match self.get(key)? {
            None => Ok(default.into()),
            Some(v) => v.as_str().map(str::to_string).ok_or_else(|| Error::config(key, format!("is {v}, not a name"), "Use the config.json saved with the weights")),
        }
    }

    /// A `|`-separated list of names, lower-cased, as the config class splits it (`pos_att_type`
    /// may also be a list).
    #[inline(never)]
    fn names(&self, key: &str) -> Result<Vec<String>> {
        Ok(match self.get(key)? {
            None => Vec::new(),
            Some(serde_json::Value::String(s)) => s.to_ascii_lowercase().split('|').map(|p| p.trim().to_string()).collect(),
            Some(serde_json::Value::Array(items)) => items.iter().filter_map(|p| p.as_str().map(str::to_string)).collect(),
            Some(other) => return Err(Error::config(key, format!("is {other}, neither a string nor a list"), "Use a string such as \"p2c|c2p\" or a list such as [\"p2c\", \"c2p\"]")),
        })
    }
}

/// How relative distances reach the table: `S` rows each side, and the log buckets past `S/2`
/// when `position_buckets` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelativeScheme {
    /// S: the table has 2S rows, for distances -S..S-1 (after bucketing), clamped at both ends.
    pub span: i64,
    /// `position_buckets` (0: distances used as they are).
    pub buckets: i64,
    /// `max_relative_positions` (or `max_position_embeddings` when below 1): where the log buckets end.
    pub max_distance: i64,
}

impl RelativeScheme {
    /// The table row a query at `i` reads for a key at `j`: HF's `build_relative_position`, then the clamp.
    pub fn row(&self, i: usize, j: usize) -> usize {
        let d = i as i64 - j as i64;
        let r = if self.buckets > 0 { log_bucket(d, self.buckets, self.max_distance) } else { d };
        (r + self.span).clamp(0, 2 * self.span - 1) as usize
    }
}

/// HF's `make_log_bucket_position`: distances under `bucket_size / 2` stay as they are, farther ones
/// share buckets on a log scale that reaches `bucket_size / 2 - 1` more at `max_position`. Computed
/// in f32 as torch computes it, so every boundary falls where it does there.
pub fn log_bucket(d: i64, bucket_size: i64, max_position: i64) -> i64 {
    let mid = bucket_size / 2;
    let abs = if d < mid && d > -mid { mid - 1 } else { d.abs() };
    if abs <= mid {
        return d;
    }
    // torch: the Python quotient (a double) becomes an f32 tensor; `abs / mid` divides in f32.
    let reach = ((max_position - 1) as f64 / mid as f64) as f32;
    let log_pos = (crate::math::lnf(abs as f32 / mid as f32) / crate::math::lnf(reach) * (mid - 1) as f32).ceil() + mid as f32;
    log_pos as i64 * d.signum()
}

/// One layer's projections of the relative table into keys and queries.
enum PositionProjections {
    /// share_att_key: the layer's own `key_proj` and `query_proj` (deberta-v3).
    Shared,
    /// `pos_key_proj` (c2p) and `pos_query_proj` (p2c), each present when its part is.
    Own { key: Option<Linear>, query: Option<Linear> },
}

/// deberta-v2-xlarge's convolution beside layer 0: `LN(x + act(conv1d(e)))`, hidden rows zeroed.
/// Only the command-line tool runs it: the checkpoints that have it (deberta-v2-xlarge and xxlarge,
/// 0.9 and 1.5 billion parameters) are beyond a browser tab, and the page's wasm has no bytes to spare.
#[cfg(not(target_arch = "wasm32"))]
struct Conv {
    /// The kernel regrouped by tap: `[K][C][C]`, tap `u` reading the embedding `u - (K-1)/2` rows away.
    taps: Vec<f32>,
    k: usize,
    bias: Vec<f32>, // [C]
    act: HeadAct,
    ln: LayerNorm,
}

#[cfg(not(target_arch = "wasm32"))]
impl Conv {
    fn load(keys: &Keys, w: &Weights, k: usize, c: usize, eps: f32) -> Result<Self> {
        if keys.size("conv_groups", Some(1))? != 1 {
            return Err(Error::config("conv_groups", "is not 1; Glassbox runs DeBERTa's convolution with one group (deberta-v2-xlarge's)", "Use a checkpoint with conv_groups 1"));
        }
        if k % 2 == 0 || k > 64 {
            return Err(Error::config("conv_kernel_size", format!("is {k}; an even kernel makes transformers' convolution one row short, and real ones are 3 wide"), "Use the config.json saved with the weights"));
        }
        let act = match keys.text("conv_act", "tanh")?.as_str() {
            "tanh" => HeadAct::Tanh,
            other => HeadAct::Act(Activation::from_config("conv_act", other)?),
        };
        let weight = w.get("encoder.conv.conv.weight", &[c, c, k])?; // [out][in][tap]
        // Regrouped by tap, `[K][out][in]`: each tap one matrix whose rows are dotted with the embeddings.
        let taps = (0..k).flat_map(|u| weight.iter().skip(u).step_by(k).copied().collect::<Vec<_>>()).collect();
        Ok(Conv { taps, k, bias: w.get("encoder.conv.conv.bias", &[c])?, act, ln: LayerNorm::load(w, "encoder.conv.LayerNorm", c, eps)? })
    }

    /// `e`: the embeddings `[T][C]` (the conv's input), `x`: layer 0's output `[T][C]`; `visible[t]`.
    fn apply(&self, e: &Array2<f32>, x: &Array2<f32>, visible: &[bool]) -> Array2<f32> {
        let (t, c) = e.dim();
        let e = e.as_standard_layout();
        let e = e.as_slice().expect("standard layout");
        let pad = (self.k - 1) / 2;
        let mut out = vec![0.0f32; t * c];
        for (row, o) in out.chunks_exact_mut(c).enumerate() {
            for u in 0..self.k {
                // Output row `row` reads input row `row + u - pad` (zeros outside the text).
                let Some(from) = (row + u).checked_sub(pad).filter(|&f| f < t) else { continue };
                let input = &e[from * c..(from + 1) * c];
                for (v, w) in o.iter_mut().zip(self.taps[u * c * c..(u + 1) * c * c].chunks_exact(c)) {
                    *v += kernels::dot(w, input);
                }
            }
        }
        for (o, &keep) in out.chunks_exact_mut(c).zip(visible) {
            match keep {
                true => kernels::axpy(1.0, &self.bias, o),
                false => o.fill(0.0),
            }
        }
        self.act.apply(&mut out);
        let mut out = Array2::from_shape_vec((t, c), out).expect("[T][C]");
        out += x;
        self.ln.apply(flat_mut(&mut out));
        zero_hidden_rows(&mut out, visible);
        out
    }
}

/// In the browser: a checkpoint with the convolution is refused by name (see the native `Conv`).
#[cfg(target_arch = "wasm32")]
enum Conv {}

#[cfg(target_arch = "wasm32")]
impl Conv {
    fn load(_: &Keys, _: &Weights, _: usize, _: usize, _: f32) -> Result<Self> {
        Err(Error::config(
            "conv_kernel_size",
            "is set: deberta-v2-xlarge's convolution beside the first layer runs in Glassbox's command-line tool, not in the browser",
            "Run this checkpoint with the glassbox CLI (its 0.9 billion or more parameters are beyond a browser tab)",
        ))
    }

    fn apply(&self, _: &Array2<f32>, _: &Array2<f32>, _: &[bool]) -> Array2<f32> {
        match *self {}
    }
}

fn zero_hidden_rows(x: &mut Array2<f32>, visible: &[bool]) {
    for (mut row, _) in x.rows_mut().into_iter().zip(visible).filter(|(_, &v)| !v) {
        row.fill(0.0);
    }
}

pub struct Deberta {
    pub config: DebertaConfig,
    pub info: ModelInfo,
    word: Linear,             // [V][E]: embedding rows and the tied masked-LM decoder
    pos: Option<Vec<f32>>,    // [P][E] (position_biased_input)
    types: Option<Vec<f32>>,  // [types][E]
    embed_proj: Option<Linear>, // E -> C
    emb_ln: LayerNorm,
    layers: Vec<Layer>,
    /// Per layer, how the relative table becomes keys and queries (relative_attention only).
    position_projections: Vec<PositionProjections>,
    /// The relative table, normed once when norm_rel_ebd asks: `[2S][C]`.
    relative: Option<(Vec<f32>, RelativeScheme)>,
    c2p: bool,
    p2c: bool,
    conv: Option<Conv>,
    mlm: Option<MlmHead>,
    activation: Activation,
    classifier: Option<ClassifierHead>,
}

impl Deberta {
    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        let keys = match parse_json::<serde_json::Value>("config.json", config_json)? {
            serde_json::Value::Object(map) => Keys(map),
            _ => return Err(Error::file("config.json", "is not a JSON object", "Use the config.json saved with the model")),
        };
        let hidden_size = keys.size("hidden_size", None)?;
        let cfg = DebertaConfig {
            vocab_size: keys.size("vocab_size", None)?,
            hidden_size,
            num_hidden_layers: keys.size("num_hidden_layers", None)?,
            num_attention_heads: keys.size("num_attention_heads", None)?,
            intermediate_size: keys.size("intermediate_size", None)?,
            hidden_act: keys.text("hidden_act", "gelu")?,
            max_position_embeddings: keys.size("max_position_embeddings", Some(512))?,
            type_vocab_size: keys.size("type_vocab_size", Some(0))?,
            // (loader::limits::check_values has refused an epsilon that is not a finite number ≥ 0.)
            layer_norm_eps: keys.get("layer_norm_eps")?.and_then(serde_json::Value::as_f64).unwrap_or(1e-7) as f32,
            relative_attention: keys.flag("relative_attention", false)?,
            max_relative_positions: keys.int("max_relative_positions", Some(-1))?,
            position_buckets: keys.int("position_buckets", Some(-1))?,
            position_biased_input: keys.flag("position_biased_input", true)?,
            // Not a declared field: `null` reaches the model as None, which it reads as false.
            share_att_key: keys.0.get("share_att_key").is_some_and(|v| !v.is_null()) && keys.flag("share_att_key", false)?,
            embedding_size: keys.size("embedding_size", Some(hidden_size as i64))?,
            legacy: keys.flag("legacy", true)?,
            tie_word_embeddings: keys.flag("tie_word_embeddings", true)?,
            pad_token_id: match keys.0.get("pad_token_id") {
                None => Some(0),
                Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()),
            },
        };
        let (v, c, h, f) = (cfg.vocab_size, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size);
        if h == 0 || c % h != 0 {
            return Err(Error::config("num_attention_heads", format!("hidden_size {c} is not divisible by {h} heads"), "Use the config.json saved with the weights"));
        }
        if keys.get("attention_head_size")?.is_some() && keys.size("attention_head_size", None)? * h != c {
            return Err(Error::config("attention_head_size", format!("times {h} heads is not hidden_size {c}, which the attention output layer reads"), "Remove the key, or use the config.json saved with the weights"));
        }
        let activation = Activation::from_config("hidden_act", &cfg.hidden_act)?;
        // (`null` is no terms: the config class reads None as none.)
        let parts = if keys.0.get("pos_att_type").is_some_and(serde_json::Value::is_null) { Vec::new() } else { keys.names("pos_att_type")? };
        let (c2p, p2c) = (parts.iter().any(|p| p == "c2p"), parts.iter().any(|p| p == "p2c"));
        let e = cfg.embedding_size;
        if e == 0 {
            return Err(Error::config("embedding_size", "is 0, but it must be a positive width", "Use the config.json saved with the weights"));
        }
        let w = weights.with_prefixes(&["deberta."]);
        let random = matches!(w, Weights::Random { .. });
        let eps = cfg.layer_norm_eps;

        // The relative table and how distances reach it.
        let mut relative_params = 0; // the table, and its norm when norm_rel_ebd asks
        let relative = match cfg.relative_attention {
            false => None,
            true => {
                let max_distance = if cfg.max_relative_positions < 1 { cfg.max_position_embeddings as i64 } else { cfg.max_relative_positions };
                let buckets = cfg.position_buckets.max(0);
                if buckets > 0 && (buckets < 2 || max_distance - 1 == buckets / 2) {
                    return Err(Error::config(
                        "position_buckets",
                        format!("is {buckets} with relative distances up to {max_distance}: the log buckets would divide by zero"),
                        "Use the config.json saved with the weights (deberta-v3: 256 buckets over 512 positions)",
                    ));
                }
                let span = if buckets > 0 { buckets } else { max_distance };
                if span as u64 > crate::loader::limits::MAX_DIM {
                    return Err(Error::config("max_relative_positions", format!("makes a relative table of {} rows, larger than any real model's", 2 * span), "Use the config.json saved with the weights"));
                }
                let rows = 2 * span as usize;
                let mut table = w.get("encoder.rel_embeddings.weight", &[rows, c])?;
                let normed = keys.names("norm_rel_ebd")?.iter().any(|n| n == "layer_norm");
                if normed {
                    LayerNorm::load(&w, "encoder.LayerNorm", c, eps)?.apply(&mut table);
                }
                relative_params = table.len() + if normed { 2 * c } else { 0 };
                Some((table, RelativeScheme { span, buckets, max_distance }))
            }
        };

        let mut layers = Vec::new(); // grown per loaded layer: a config cannot reserve memory the file does not back
        let mut position_projections = Vec::new();
        for i in 0..cfg.num_hidden_layers {
            let at = |part: &str| format!("encoder.layer.{i}.{part}");
            layers.push(Layer {
                query: linear(&w, &at("attention.self.query_proj"), c, c, true)?,
                key: linear(&w, &at("attention.self.key_proj"), c, c, true)?,
                value: linear(&w, &at("attention.self.value_proj"), c, c, true)?,
                attn_out: linear(&w, &at("attention.output.dense"), c, c, true)?,
                attn_ln: LayerNorm::load(&w, &at("attention.output.LayerNorm"), c, eps)?,
                intermediate: linear(&w, &at("intermediate.dense"), c, f, true)?,
                output: linear(&w, &at("output.dense"), f, c, true)?,
                out_ln: LayerNorm::load(&w, &at("output.LayerNorm"), c, eps)?,
            });
            if relative.is_some() {
                position_projections.push(match cfg.share_att_key {
                    true => PositionProjections::Shared,
                    false => PositionProjections::Own {
                        key: if c2p { Some(linear(&w, &at("attention.self.pos_key_proj"), c, c, true)?) } else { None },
                        query: if p2c { Some(linear(&w, &at("attention.self.pos_query_proj"), c, c, true)?) } else { None },
                    },
                });
            }
        }

        let word = token_table_not_int8(&w, "embeddings.word_embeddings.weight", v, e)?;
        let p = cfg.max_position_embeddings;
        let pos = match cfg.position_biased_input {
            true => Some(w.get("embeddings.position_embeddings.weight", &[p, e])?),
            false => None,
        };
        let types = match cfg.type_vocab_size {
            0 => None,
            n => Some(w.get("embeddings.token_type_embeddings.weight", &[n, e])?),
        };
        let embed_proj = if e != c { Some(linear(&w, "embeddings.embed_proj", e, c, false)?) } else { None };
        let emb_ln = LayerNorm::load(&w, "embeddings.LayerNorm", c, eps)?;

        let conv = match keys.size("conv_kernel_size", Some(0))? {
            0 => None,
            k => Some(Conv::load(&keys, &w, k, c, eps)?),
        };

        // The masked-LM head: the legacy one (`cls.predictions`, HF's default) or the original one.
        let (dense, ln, bias) = match cfg.legacy {
            true => ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias"),
            false => ("lm_predictions.lm_head.dense", "lm_predictions.lm_head.LayerNorm", "lm_predictions.lm_head.bias"),
        };
        let mlm = match w.contains(&format!("{dense}.weight")) || (random && classifier::requested(config_json)?.is_none()) {
            false => None,
            true => {
                if !cfg.legacy && e != c {
                    return Err(Error::config("legacy", format!("is false: the original head multiplies {c}-wide states by the {e}-wide token table"), "Use the config.json saved with the weights (legacy true reads cls.predictions)"));
                }
                // The legacy head is BERT's, tied as transformers 5 ties BERT's; the original head
                // always multiplies by the token table and adds its one bias.
                let (decoder, bias) = match cfg.legacy {
                    true => super::layers::tied_mlm_decoder(&w, ["cls.predictions.decoder.weight", "cls.predictions.bias", "cls.predictions.decoder.bias"], "embeddings.word_embeddings.weight", v, e, cfg.tie_word_embeddings)?,
                    false => (None, w.get(bias, &[v])?),
                };
                let head_width = if cfg.legacy { e } else { c };
                Some(MlmHead { dense: linear(&w, dense, c, head_width, true)?, ln: LayerNorm::load(&w, ln, head_width, eps)?, decoder, bias })
            }
        };
        // Only a checkpoint that says it is a DebertaV2ForMaskedLM: a base model (DebertaModel, or no
        // architectures) runs its encoder as transformers' AutoModel does, whatever else the file holds.
        let masked_lm = keys.0.get("architectures").and_then(serde_json::Value::as_array).is_some_and(|a| a.iter().any(|c| c.as_str().is_some_and(|c| c.ends_with("ForMaskedLM"))));
        if mlm.is_none() && !random && masked_lm {
            let other = if cfg.legacy { "lm_predictions.lm_head.dense.weight" } else { "cls.predictions.transform.dense.weight" };
            if w.contains(other) {
                return Err(Error::config(
                    "legacy",
                    format!("is {}, so transformers reads the masked-LM head from {dense}, but this file stores it as {other} (transformers would start that head from random numbers)", cfg.legacy),
                    format!("Set \"legacy\": {} in config.json to read the head the file holds", !cfg.legacy),
                ));
            }
        }

        let classifier = match classifier::requested(config_json)? {
            Some(info) => {
                if info.task == Task::Sequence && keys.size("pooler_hidden_size", Some(c as i64))? != c {
                    return Err(Error::config("pooler_hidden_size", format!("differs from hidden_size {c}; the pooler reads the first token's {c} numbers"), "Use the config.json saved with the weights"));
                }
                let pooler_act = HeadAct::Act(Activation::from_config("pooler_hidden_act", &keys.text("pooler_hidden_act", "gelu")?)?);
                let out = if info.task == Task::Span { "qa_outputs" } else { "classifier" };
                Some(ClassifierHead::load(&w, info, HeadNames { dense: Some(("pooler.dense", pooler_act)), out, pooler: "pooler.dense.weight", out_bias: true }, c, false)?)
            }
            None => None,
        };

        let own_position_layers = position_projections.iter().map(|p| matches!(p, PositionProjections::Own { .. }) as usize * (c2p as usize + p2c as usize)).sum::<usize>();
        let n_params = (v + pos.as_ref().map_or(0, |_| p) + cfg.type_vocab_size) * e
            + embed_proj.as_ref().map_or(0, |_| e * c)
            + 2 * c
            + relative_params
            + cfg.num_hidden_layers * (4 * (c * c + c) + (c * f + f) + (f * c + c) + 4 * c)
            + own_position_layers * (c * c + c)
            + if conv.is_some() { keys.size("conv_kernel_size", Some(0))? * c * c + 3 * c } else { 0 }
            + mlm.as_ref().map_or(0, |m| m.dense.d_out * (c + 3) + v)
            + classifier.as_ref().map_or(0, ClassifierHead::n_params);
        let info = ModelInfo {
            model_type: "deberta-v2".into(),
            kind: Kind::EncoderOnly,
            positions: if relative.is_some() { Positions::Disentangled } else { Positions::Learned },
            n_layers: cfg.num_hidden_layers,
            n_decoder_layers: 0,
            n_heads: h,
            d_model: c,
            d_ff: f,
            vocab_size: v,
            // Without a position table the relative buckets take any length (the tokenizer's
            // model_max_length, 512 for deberta-v3, is a training length, not a limit of the network).
            max_positions: pos.as_ref().map(|_| p),
            n_params,
            has_lm_head: mlm.is_some(),
            bos_token_id: None,
            eos_token_id: None,
            pad_token_id: cfg.pad_token_id,
            decoder_start_token_id: None,
        };
        if relative.is_none() && pos.is_none() {
            return Err(Error::config("position_biased_input", "is false and relative_attention is off: the model would see no word order at all", "Use the config.json saved with the weights"));
        }
        Ok(Deberta { config: cfg, info, word, pos, types, embed_proj, emb_ln, layers, position_projections, relative, c2p, p2c, conv, mlm, activation, classifier })
    }

    /// The width of the token, position and type rows (`embedding_size`, else the model's).
    pub fn embedding_width(&self) -> usize {
        self.word.d_in
    }

    pub fn classifier(&self) -> Option<&ClassifierInfo> {
        self.classifier.as_ref().map(|h| &h.info)
    }

    pub fn head_is_embedding_table(&self) -> bool {
        self.mlm.as_ref().map_or(self.config.tie_word_embeddings, |h| h.decoder.is_none())
    }

    /// The relative scheme, when the attention has position parts.
    pub fn relative_scheme(&self) -> Option<RelativeScheme> {
        self.relative.as_ref().map(|(_, s)| *s)
    }

    /// Which position parts the scores have: `(content→position, position→content)`.
    pub fn position_parts(&self) -> (bool, bool) {
        (self.c2p, self.p2c)
    }

    /// Whether an absolute position table is added to the tokens too (position_biased_input).
    pub fn adds_position_table(&self) -> bool {
        self.pos.is_some()
    }

    /// Whether deberta-v2-xlarge's convolution runs beside the first layer.
    pub fn has_conv(&self) -> bool {
        self.conv.is_some()
    }

    /// `sqrt(D · (1 + parts))`'s inverse: the parts are counted whether or not relative attention is on, as HF does.
    fn score_scale(&self) -> f32 {
        let d = (self.config.hidden_size / self.config.num_attention_heads) as f32;
        1.0 / (d * (1 + self.c2p as usize + self.p2c as usize) as f32).sqrt()
    }

    fn mlm_logits(&self, x: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        self.mlm.as_ref().map(|head| head.logits(x, &self.word, self.activation))
    }

    /// Which rows of the relative table a text of `t` tokens reads, the same in every layer: the lowest
    /// and highest, and for each distance `i - j`, at index `i - j + T - 1`, its row counted from the
    /// lowest. The rows usually grow with the distance, but not always: with `max_relative_positions`
    /// below half of `position_buckets` the log scale runs backwards and far distances fold back
    /// towards the middle of the table (transformers runs such a config, so Glassbox does too).
    fn distance_rows(&self, t: usize) -> Option<(usize, usize, Vec<usize>)> {
        let (_, scheme) = self.relative.as_ref().filter(|_| self.c2p || self.p2c)?;
        let rows: Vec<usize> = (0..2 * t - 1).map(|n| if n < t { scheme.row(0, t - 1 - n) } else { scheme.row(n + 1 - t, 0) }).collect();
        let (lo, hi) = (*rows.iter().min()?, *rows.iter().max()?);
        Some((lo, hi, rows.into_iter().map(|r| r - lo).collect()))
    }

    /// Layer `l`'s position parts plus the hidden-token mask, scaled as the content scores are: `[H][T][T]`.
    /// `q`, `k`: the layer's queries and keys `[T][C]`; `rows`: [`Self::distance_rows`]. `None` when nothing is added.
    fn score_bias(&self, l: usize, q: &Array2<f32>, k: &Array2<f32>, rows: Option<&(usize, usize, Vec<usize>)>, visible: &[bool], scale: f32) -> Option<Array3<f32>> {
        let t = q.nrows();
        let (h, c) = (self.config.num_attention_heads, self.config.hidden_size);
        let dh = c / h;
        let hidden = visible.iter().any(|v| !v);
        if rows.is_none() && !hidden {
            return None;
        }
        let mut bias = vec![0.0f32; h * t * t]; // [H][T][T]
        if let (Some((table, _)), Some((lo, hi, row_of))) = (&self.relative, rows) {
            // Only the rows distances in this text reach are projected.
            let (lo, hi) = (*lo, *hi);
            let used = ArrayView2::from_shape((hi + 1 - lo, c), &table[lo * c..(hi + 1) * c]).expect("rows of [2S][C]");
            let layer = &self.layers[l];
            let (key_proj, query_proj) = match &self.position_projections[l] {
                PositionProjections::Shared => (self.c2p.then_some(&layer.key), self.p2c.then_some(&layer.query)),
                PositionProjections::Own { key, query } => (key.as_ref(), query.as_ref()),
            };
            let pk = key_proj.map(|p| into_flat(activations::linear(p, used))); // [R][C]
            let pq = query_proj.map(|p| into_flat(activations::linear(p, used)));
            let (qs, ks) = (q.as_slice().expect("standard layout"), k.as_slice().expect("standard layout"));
            // Head `head`'s part of row `r` of `[rows][C]`.
            let head_of = |r: usize, head: usize| r * c + head * dh..r * c + (head + 1) * dh;
            for (n, out) in bias.iter_mut().enumerate() {
                let (head, i, j) = (n / (t * t), n / t % t, n % t);
                let r = row_of[i + t - 1 - j];
                let content_to_position = pk.as_deref().map_or(0.0, |pk| kernels::dot(&qs[head_of(i, head)], &pk[head_of(r, head)]));
                let position_to_content = pq.as_deref().map_or(0.0, |pq| kernels::dot(&ks[head_of(j, head)], &pq[head_of(r, head)]));
                *out = (content_to_position + position_to_content) * scale;
            }
        }
        if hidden {
            // transformers fills the score of a pair with a hidden side by the lowest f32 (replacing it):
            // adding the lowest f32 to a score of ordinary size gives the same number.
            for (n, b) in bias.iter_mut().enumerate() {
                if !(visible[n / t % t] && visible[n % t]) {
                    *b = f32::MIN;
                }
            }
        }
        Some(Array3::from_shape_vec((h, t, t), bias).expect("[H][T][T]"))
    }

    pub fn forward(&self, ids: &[u32], type_ids: Option<&[u32]>, probe: &Probe) -> Result<Outputs> {
        let (c, h) = (self.config.hidden_size, self.config.num_attention_heads);
        let dh = c / h;
        let t = ids.len();
        let e = self.embedding_width();
        let keys = probe.interventions.additive_token_mask(); // [T], hidden tokens ≈ -inf
        let visible: Vec<bool> = match &keys {
            Some(mask) => mask.iter().map(|&m| m == 0.0).collect(),
            None => vec![true; t],
        };
        // x = LN(proj(word[ids] + pos[0..T] + type[type_ids])), hidden tokens zeroed   [T][C]
        let mut x = activations::embed(&TokenTable::Packed(&self.word), e, ids);
        if let Some(pos) = &self.pos {
            x += &activations::embed(&TokenTable::Rows(pos), e, &(0..t as u32).collect::<Vec<_>>());
        }
        if let Some(types) = &self.types {
            super::layers::add_token_types(&mut x, types, self.config.type_vocab_size, type_ids)?;
        }
        if let Some(proj) = &self.embed_proj {
            x = activations::linear(proj, x.view());
        }
        self.emb_ln.apply(flat_mut(&mut x));
        zero_hidden_rows(&mut x, &visible);
        let embedded = self.conv.as_ref().map(|_| x.clone());

        let scale = self.score_scale();
        let rows = self.distance_rows(t); // the same in every layer
        let mut rec = Recorder::probing(probe, AttentionKind::Encoder, self.layers.len(), h, t, t);
        for (l, layer) in self.layers.iter().enumerate() {
            rec.hidden_state(&x);
            let q = activations::linear(&layer.query, x.view()); // [T][C]
            let k = activations::linear(&layer.key, x.view());
            let v = activations::linear(&layer.value, x.view());
            let bias = self.score_bias(l, &q, &k, rows.as_ref(), &visible, scale);
            let ctx = attend(q.view(), k.view(), v.view(), h, dh, scale, Mask::Full, bias.as_ref().map(|b| b.view()), rec.layer(l));
            x = layer.finish(&x, ctx, self.activation, &mut rec, l);
            if let (0, Some(conv), Some(embedded)) = (l, &self.conv, &embedded) {
                x = conv.apply(embedded, &x, &visible);
            }
        }
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

super::family::impl_encoder_forward!(Deberta, Deberta::forward);

impl super::Family for Deberta {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, _last: bool) -> Result<Array2<f32>> {
        self.mlm_logits(x).ok_or_else(|| {
            Error::input("this DeBERTa checkpoint has no masked-LM head to read hidden states with", "Load a DebertaV2ForMaskedLM checkpoint, not the base model or a classifier")
        })
    }
    fn position_rows(&self, _stack: super::Stack, n: usize) -> Option<&[f32]> {
        self.pos.as_deref().map(|p| &p[..n * self.embedding_width()])
    }
    fn token_table(&self, _stack: super::Stack) -> (TokenTable<'_>, usize, f32) {
        (TokenTable::Packed(&self.word), self.config.vocab_size, 1.0)
    }
    fn embedding_width(&self) -> usize {
        Deberta::embedding_width(self)
    }
}

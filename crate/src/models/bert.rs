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

use super::attention::{attend, AttentionKind, Mask, Recorder};
use super::layers::{add_in_place, gather_rows, linear, Activation, LayerNorm};
use super::{Kind, ModelInfo, Outputs, Positions, Probe};
use crate::error::{Error, Result};
use crate::kernels::{self, Linear};
use crate::loader::{parse_json, Weights};
use serde::Deserialize;

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
    #[serde(default)]
    pub pad_token_id: Option<u32>,
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

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_ln: LayerNorm,
    intermediate: Linear, // C -> F
    output: Linear,       // F -> C
    out_ln: LayerNorm,
}

struct MlmHead {
    dense: Linear,
    ln: LayerNorm,
    decoder: Option<Vec<f32>>, // [V][C] when not tied to the word embeddings
    bias: Vec<f32>,            // [V]
}

pub struct Bert {
    pub config: BertConfig,
    pub info: ModelInfo,
    word: Vec<f32>,  // [V][C]
    pos: Vec<f32>,   // [P][C]
    types: Vec<f32>, // [types][C]
    emb_ln: LayerNorm,
    layers: Vec<Layer>,
    pooler: Option<Linear>,
    mlm: Option<MlmHead>,
    activation: Activation,
}

impl Bert {
    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        let cfg: BertConfig = parse_json("config.json", config_json)?;
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
        let activation = Activation::from_config("hidden_act", &cfg.hidden_act)?;
        let w = weights.with_prefixes(&["bert."]);
        let eps = cfg.layer_norm_eps;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let n = format!("encoder.layer.{i}");
            layers.push(Layer {
                query: linear(&w, &format!("{n}.attention.self.query"), c, c, true)?,
                key: linear(&w, &format!("{n}.attention.self.key"), c, c, true)?,
                value: linear(&w, &format!("{n}.attention.self.value"), c, c, true)?,
                attn_out: linear(&w, &format!("{n}.attention.output.dense"), c, c, true)?,
                attn_ln: LayerNorm::load(&w, &format!("{n}.attention.output.LayerNorm"), c, eps)?,
                intermediate: linear(&w, &format!("{n}.intermediate.dense"), c, f, true)?,
                output: linear(&w, &format!("{n}.output.dense"), f, c, true)?,
                out_ln: LayerNorm::load(&w, &format!("{n}.output.LayerNorm"), c, eps)?,
            });
        }
        let word = w.get("embeddings.word_embeddings.weight", &[v, c])?;
        let pos = w.get("embeddings.position_embeddings.weight", &[p, c])?;
        let types = w.get("embeddings.token_type_embeddings.weight", &[cfg.type_vocab_size, c])?;
        let emb_ln = LayerNorm::load(&w, "embeddings.LayerNorm", c, eps)?;
        let random = matches!(w, Weights::Random { .. });
        let pooler = if w.contains("pooler.dense.weight") || random { Some(linear(&w, "pooler.dense", c, c, true)?) } else { None };
        let mlm = if w.contains("cls.predictions.transform.dense.weight") || random {
            let decoder = match w.get_opt("cls.predictions.decoder.weight", &[v, c])? {
                Some(d) if d != word && !random => Some(d),
                _ => None,
            };
            let bias = match w.get_opt("cls.predictions.bias", &[v])? {
                Some(b) => b,
                None => w.get("cls.predictions.decoder.bias", &[v])?,
            };
            Some(MlmHead {
                dense: linear(&w, "cls.predictions.transform.dense", c, c, true)?,
                ln: LayerNorm::load(&w, "cls.predictions.transform.LayerNorm", c, eps)?,
                decoder,
                bias,
            })
        } else {
            None
        };
        let per_layer = 4 * (c * c + c) + (c * f + f) + (f * c + c) + 4 * c;
        let n_params = (v + p + cfg.type_vocab_size) * c
            + 2 * c
            + cfg.num_hidden_layers * per_layer
            + pooler.as_ref().map_or(0, |_| c * c + c)
            + mlm.as_ref().map_or(0, |_| c * c + 3 * c + v);
        let info = ModelInfo {
            model_type: "bert".into(),
            kind: Kind::EncoderOnly,
            positions: Positions::Learned,
            n_layers: cfg.num_hidden_layers,
            n_decoder_layers: 0,
            n_heads: h,
            d_model: c,
            d_ff: f,
            vocab_size: v,
            max_positions: Some(p),
            n_params,
            has_lm_head: mlm.is_some(),
            bos_token_id: None,
            eos_token_id: None,
            pad_token_id: cfg.pad_token_id,
            decoder_start_token_id: None,
        };
        Ok(Bert { config: cfg, info, word, pos, types, emb_ln, layers, pooler, mlm, activation })
    }

    /// `pos` rows of positions `0..n`: `[N][C]`.
    pub(crate) fn position_rows(&self, n: usize) -> &[f32] {
        &self.pos[..n * self.config.hidden_size]
    }

    pub(crate) fn token_table(&self) -> &[f32] {
        &self.word
    }

    /// The masked-LM head on any hidden state `x: [T][C]` (BERT has no final norm): `[T][V]`.
    pub(crate) fn lens(&self, x: &[f32], t: usize) -> Option<Vec<f32>> {
        self.mlm_logits(x, t)
    }

    fn mlm_logits(&self, x: &[f32], t: usize) -> Option<Vec<f32>> {
        let c = self.config.hidden_size;
        self.mlm.as_ref().map(|head| {
            let mut z = head.dense.forward(x, t);
            self.activation.apply(&mut z);
            head.ln.apply(&mut z);
            let vsize = self.config.vocab_size;
            let mut logits = vec![0.0; t * vsize];
            kernels::matmul_nk(&z, t, c, head.decoder.as_deref().unwrap_or(&self.word), vsize, &mut logits);
            for row in logits.chunks_exact_mut(vsize) {
                add_in_place(row, &head.bias);
            }
            logits
        })
    }

    pub fn forward(&self, ids: &[u32], type_ids: Option<&[u32]>, probe: &Probe) -> Result<Outputs> {
        let (c, h) = (self.config.hidden_size, self.config.num_attention_heads);
        let dh = c / h;
        let t = ids.len();
        // x = LN(word[ids] + pos[0..T] + type[type_ids])                         [T][C]
        let mut x = gather_rows(&self.word, c, ids);
        add_in_place(&mut x, &self.pos[..t * c]);
        let zeros = vec![0u32; t];
        let type_ids = type_ids.unwrap_or(&zeros);
        if let Some(&bad) = type_ids.iter().find(|&&ty| ty as usize >= self.config.type_vocab_size) {
            return Err(Error::input(format!("token type {bad} is out of range (type_vocab_size {})", self.config.type_vocab_size), "Use token types 0 or 1"));
        }
        add_in_place(&mut x, &gather_rows(&self.types, c, type_ids));
        self.emb_ln.apply(&mut x);

        let mut rec = Recorder::probing(probe, AttentionKind::Encoder, self.layers.len(), h, t, t);
        let keys = probe.interventions.additive_token_mask(); // [T], hidden tokens ≈ -inf
        let scale = 1.0 / (dh as f32).sqrt();
        for (l, layer) in self.layers.iter().enumerate() {
            rec.hidden_state(&x);
            // x = LN(x + Wo · attn(q, k, v))
            let q = layer.query.forward(&x, t);
            let k = layer.key.forward(&x, t);
            let v = layer.value.forward(&x, t);
            let ctx = attend(&q, &k, &v, t, t, h, dh, scale, Mask::keys_or_full(keys.as_deref()), None, rec.layer(l));
            let mut a = layer.attn_out.forward(&ctx, t);
            rec.trace_io(l, &x, &a);
            add_in_place(&mut a, &x);
            layer.attn_ln.apply(&mut a);
            x = a;
            // x = LN(x + W2 · act(W1 · x))
            let mut inner = layer.intermediate.forward(&x, t); // [T][F]
            self.activation.apply(&mut inner);
            let mut o = layer.output.forward(&inner, t);
            add_in_place(&mut o, &x);
            layer.out_ln.apply(&mut o);
            x = o;
        }
        rec.hidden_state(&x);

        let pooled = self.pooler.as_ref().map(|p| {
            let mut y = p.forward(&x[..c], 1);
            y.iter_mut().for_each(|v| *v = v.tanh());
            y
        });
        let logits = self.mlm_logits(&x, t);
        Ok(Outputs {
            encoder_hidden_states: rec.take_hidden_states(c),
            qkv: rec.trace.take(),
            encoder_attentions: rec.probs,
            encoder_scores: rec.scores,
            last_hidden_state: x,
            logits,
            pooled,
            ..Default::default()
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

impl super::Family for Bert {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn forward(&self, inputs: &super::Inputs, probe: &Probe) -> Result<Outputs> {
        Bert::forward(self, inputs.ids, inputs.type_ids, probe)
    }
    fn start(&self, _source: &[u32], _interventions: &super::Interventions) -> Result<super::DecoderState> {
        Err(super::family::cannot_generate())
    }
    fn feed(&self, _state: &mut super::DecoderState, _tokens: &[u32], _capture: super::Capture) -> Result<super::StepOutput> {
        Err(super::family::cannot_generate())
    }
    fn lens(&self, x: &[f32], t: usize, _last: bool) -> Result<Vec<f32>> {
        Bert::lens(self, x, t).ok_or_else(|| {
            Error::input("this BERT checkpoint has no masked-LM head to read hidden states with", "Load a BertForMaskedLM checkpoint (with cls.predictions.*)")
        })
    }
    fn position_rows(&self, _stack: super::Stack, n: usize) -> Option<&[f32]> {
        Some(Bert::position_rows(self, n))
    }
    fn token_table(&self, _stack: super::Stack) -> (&[f32], usize, f32) {
        (Bert::token_table(self), self.config.vocab_size, 1.0)
    }
}

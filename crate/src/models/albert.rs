//! ALBERT (`AlbertModel`, `AlbertForMaskedLM`): BERT with two savings. The token, position and
//! type tables are narrow (`embedding_size` E, 128 in the released models) and one matrix widens
//! them to the model width C; and the layers share their weights: `num_hidden_groups` sets of
//! `inner_group_num` layers serve all `num_hidden_layers` steps (the released models: one set of
//! one layer, used 12 or 24 times).
//!
//! Reference semantics: Hugging Face `transformers/models/albert/modeling_albert.py` (5.x).
//!
//! ```text
//! e = LN_emb(word[ids] + pos[0..T] + type[type_ids])          # [T][E]
//! x = W_in e + b_in                                            # [T][C]
//! for i in 0..num_hidden_layers:
//!     for each layer of group  i / (num_hidden_layers / num_hidden_groups):   (BERT's post-norm layer)
//!         a = LN_attn(x + W_o attn(x))
//!         x = LN_full(a + W_2 act(W_1 a))
//! logits = decoder(LN_head(act(W_dense x)))  + bias    (decoder: the word table, [V][E], tied)
//! ```
//!
//! Checkpoint names (`albert.` before the encoder's under the masked-LM head):
//!
//! | name | shape |
//! |------|-------|
//! | `embeddings.{word,position,token_type}_embeddings.weight` | [V][E], [P][E], [types][E] |
//! | `embeddings.LayerNorm.{weight,bias}` | [E] |
//! | `encoder.embedding_hidden_mapping_in.{weight,bias}` | [C][E], [C] |
//! | `encoder.albert_layer_groups.{g}.albert_layers.{j}.attention.{query,key,value,dense}.*` | [C][C], [C] |
//! | `encoder.albert_layer_groups.{g}.albert_layers.{j}.attention.LayerNorm.*` | [C] |
//! | `encoder.albert_layer_groups.{g}.albert_layers.{j}.{ffn,ffn_output}.*` | [F][C], [F]; [C][F], [C] |
//! | `encoder.albert_layer_groups.{g}.albert_layers.{j}.full_layer_layer_norm.*` | [C] |
//! | `pooler.{weight,bias}` | [C][C], [C] (`AlbertModel`) |
//! | `predictions.{dense,LayerNorm}.*`, `predictions.bias` (never prefixed) | [E][C], [E]; [E]; [V] |
//! | `predictions.decoder.weight` | [V][E], only when untied |

use super::activations::{self, flat_mut, into_flat};
use super::attention::{AttentionKind, Recorder};
use super::capture::Probe;
use super::bert::Layer;
use super::classifier::{self, ClassifierHead, ClassifierInfo, HeadNames};
use super::layers::{linear, token_table_not_int8, Activation, LayerNorm, MlmHead, TokenTable};
use super::{Kind, ModelInfo, Outputs, Positions};
use crate::error::{Error, Result};
use crate::kernels::Linear;
use crate::loader::limits::MAX_DIM;
use crate::loader::{parse_json, Keyed, Weights};
use ndarray::{s, Array2, ArrayView2};
use serde::Deserialize;

/// The fields of an ALBERT config.json that change the computation.
#[derive(Debug, Clone, Deserialize)]
pub struct AlbertConfig {
    pub vocab_size: usize,
    #[serde(default = "default_embedding_size")]
    pub embedding_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    #[serde(default = "one")]
    pub num_hidden_groups: usize,
    #[serde(default = "one")]
    pub inner_group_num: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_types")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f32,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
    #[serde(default = "yes")]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub pad_token_id: Keyed<u32>,
}

fn default_embedding_size() -> usize {
    128
}
fn one() -> usize {
    1
}
fn default_act() -> String {
    "gelu_new".into()
}
fn default_positions() -> usize {
    512
}
fn default_types() -> usize {
    2
}
fn default_eps() -> f32 {
    1e-12
}
fn yes() -> bool {
    true
}

pub struct Albert {
    pub config: AlbertConfig,
    pub info: ModelInfo,
    word: Linear,        // [V][E] as a bias-free E -> V layer: the rows, and the tied decoder
    pos: Vec<f32>,       // [P][E]
    types: Vec<f32>,     // [types][E]
    emb_ln: LayerNorm,   // [E]
    mapping_in: Linear,  // E -> C
    /// `groups[g][j]`: layer `j` of group `g`, shared by every step that runs the group.
    groups: Vec<Vec<Layer>>,
    pooler: Option<Linear>,
    mlm: Option<MlmHead>,
    activation: Activation,
    /// A fine-tuned checkpoint's head (`AlbertForSequenceClassification`: the pooler, then
    /// `classifier`; `AlbertForTokenClassification`: `classifier` on every token).
    classifier: Option<ClassifierHead>,
}

impl Albert {
    pub fn load(config_json: &[u8], weights: Weights) -> Result<Self> {
        let cfg: AlbertConfig = parse_json("config.json", config_json)?;
        let (v, e, c, h, f) = (cfg.vocab_size, cfg.embedding_size, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size);
        let (l, groups, inner) = (cfg.num_hidden_layers, cfg.num_hidden_groups, cfg.inner_group_num);
        for (field, n) in [("embedding_size", e), ("num_hidden_groups", groups), ("inner_group_num", inner)] {
            if n == 0 || n as u64 > MAX_DIM {
                return Err(Error::config(field, format!("is {n}, outside 1 to {MAX_DIM}"), "Use the config.json saved with the weights"));
            }
        }
        if h == 0 || c % h != 0 {
            return Err(Error::config("num_attention_heads", format!("hidden_size {c} is not divisible by {h} heads"), "Use the config.json saved with the weights"));
        }
        if let Some(kind) = cfg.position_embedding_type.as_deref().filter(|k| *k != "absolute") {
            return Err(Error::config("position_embedding_type", format!("is \"{kind}\"; Glassbox runs ALBERT's absolute position table"), "Use a checkpoint with absolute positions"));
        }
        let activation = Activation::from_config("hidden_act", &cfg.hidden_act)?;
        let eps = cfg.layer_norm_eps;
        let random = matches!(weights, Weights::Random { .. });
        let w = weights.with_prefixes(&["albert."]);
        let p = cfg.max_position_embeddings;
        let word = token_table_not_int8(&w, "embeddings.word_embeddings.weight", v, e)?;
        let pos = w.get("embeddings.position_embeddings.weight", &[p, e])?;
        let types = w.get("embeddings.token_type_embeddings.weight", &[cfg.type_vocab_size, e])?;
        let emb_ln = LayerNorm::load(&w, "embeddings.LayerNorm", e, eps)?;
        let mapping_in = linear(&w, "encoder.embedding_hidden_mapping_in", e, c, true)?;
        let groups = (0..groups)
            .map(|g| {
                (0..inner)
                    .map(|j| {
                        let n = format!("encoder.albert_layer_groups.{g}.albert_layers.{j}");
                        // An `AlbertLayer` is BERT's post-norm layer under other names.
                        Ok(Layer {
                            query: linear(&w, &format!("{n}.attention.query"), c, c, true)?,
                            key: linear(&w, &format!("{n}.attention.key"), c, c, true)?,
                            value: linear(&w, &format!("{n}.attention.value"), c, c, true)?,
                            attn_out: linear(&w, &format!("{n}.attention.dense"), c, c, true)?,
                            attn_ln: LayerNorm::load(&w, &format!("{n}.attention.LayerNorm"), c, eps)?,
                            intermediate: linear(&w, &format!("{n}.ffn"), c, f, true)?,
                            output: linear(&w, &format!("{n}.ffn_output"), f, c, true)?,
                            out_ln: LayerNorm::load(&w, &format!("{n}.full_layer_layer_norm"), c, eps)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let pooler = if w.contains("pooler.weight") || random { Some(linear(&w, "pooler", c, c, true)?) } else { None };
        let mlm = if w.contains("predictions.dense.weight") || random {
            let (decoder, bias) = super::layers::tied_mlm_decoder(&w, ["predictions.decoder.weight", "predictions.bias", "predictions.decoder.bias"], "embeddings.word_embeddings.weight", v, e, cfg.tie_word_embeddings)?;
            Some(MlmHead {
                dense: linear(&w, "predictions.dense", c, e, true)?,
                ln: LayerNorm::load(&w, "predictions.LayerNorm", e, eps)?,
                decoder,
                bias,
            })
        } else {
            None
        };
        let classifier = match classifier::requested(config_json)? {
            Some(info) => {
                let out = if info.task == super::classifier::Task::Span { "qa_outputs" } else { "classifier" };
                Some(ClassifierHead::load(&w, info, HeadNames { dense: None, out, pooler: "pooler.weight", out_bias: true }, c, pooler.is_some())?)
            }
            None => None,
        };
        let per_layer = 4 * (c * c + c) + (c * f + f) + (f * c + c) + 4 * c;
        let n_params = classifier.as_ref().map_or(0, ClassifierHead::n_params) + (v + p + cfg.type_vocab_size) * e + 2 * e + (e * c + c) + groups.len() * inner * per_layer
            + pooler.as_ref().map_or(0, |_| c * c + c)
            + mlm.as_ref().map_or(0, |m| c * e + e + 2 * e + v + m.decoder.as_ref().map_or(0, Linear::n_params));
        let info = ModelInfo {
            model_type: "albert".into(),
            kind: Kind::EncoderOnly,
            positions: Positions::Learned,
            // Every layer applied counts, shared or not: HF returns one attention map and one
            // hidden state for each.
            n_layers: l * inner,
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
            pad_token_id: cfg.pad_token_id.value(),
            decoder_start_token_id: None,
        };
        Ok(Albert { config: cfg, info, word, pos, types, emb_ln, mapping_in, groups, pooler, mlm, activation, classifier })
    }

    /// The weights each applied layer runs, in order: `(group, layer in group)`. With more groups
    /// than layers some groups never run (HF loads them all the same).
    fn schedule(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (l, g) = (self.config.num_hidden_layers, self.config.num_hidden_groups);
        // HF's `int(i / (num_hidden_layers / num_hidden_groups))` in Python floats, rounding included:
        // 18 layers in 14 groups run group 6 at step 9 there, where exact arithmetic says 7.
        (0..l).flat_map(move |i| {
            let group = ((i as f64 / (l as f64 / g as f64)) as usize).min(g - 1);
            (0..self.config.inner_group_num).map(move |j| (group, j))
        })
    }

    /// Which set of shared weights each applied layer uses (0-based), for the card.
    pub fn shared_layers(&self) -> Vec<usize> {
        let inner = self.config.inner_group_num;
        self.schedule().map(|(g, j)| g * inner + j).collect()
    }

    /// The classification head the checkpoint carries, if any.
    pub fn classifier(&self) -> Option<&ClassifierInfo> {
        self.classifier.as_ref().map(|h| &h.info)
    }

    pub fn head_is_embedding_table(&self) -> bool {
        self.mlm.as_ref().map_or(self.config.tie_word_embeddings, |m| m.decoder.is_none())
    }

    /// The position rows added at positions `0..n`: `[N][E]` (E-wide, before the widening).
    pub(crate) fn position_rows(&self, n: usize) -> &[f32] {
        &self.pos[..n * self.config.embedding_size]
    }

    pub(crate) fn token_table(&self) -> TokenTable<'_> {
        TokenTable::Packed(&self.word)
    }

    /// The masked-LM head on any hidden state `x: [T][C]` (ALBERT has no final norm): `[T][V]`.
    fn mlm_logits(&self, x: ArrayView2<'_, f32>) -> Option<Array2<f32>> {
        self.mlm.as_ref().map(|head| head.logits(x, &self.word, self.activation))
    }

    pub fn forward(&self, ids: &[u32], type_ids: Option<&[u32]>, probe: &Probe) -> Result<Outputs> {
        let (e, c, h) = (self.config.embedding_size, self.config.hidden_size, self.config.num_attention_heads);
        let dh = c / h;
        let t = ids.len();
        // e = LN(word[ids] + type[type_ids] + pos[0..T])     [T][E]
        let mut emb = activations::embed(&TokenTable::Packed(&self.word), e, ids);
        super::layers::add_token_types(&mut emb, &self.types, self.config.type_vocab_size, type_ids)?;
        emb += &activations::view_rows(self.position_rows(t), e);
        self.emb_ln.apply(flat_mut(&mut emb));
        let mut x = activations::linear(&self.mapping_in, emb.view()); // [T][C]

        let mut rec = Recorder::probing(probe, AttentionKind::Encoder, self.info.n_layers, h, t, t);
        let keys = probe.interventions.additive_token_mask(); // [T], hidden tokens ≈ -inf
        for (l, (g, j)) in self.schedule().enumerate() {
            rec.hidden_state(&x);
            x = self.groups[g][j].apply(&x, (h, dh), keys.as_deref(), None, self.activation, &mut rec, l);
        }
        rec.hidden_state(&x);
        let pooled = self.pooler.as_ref().filter(|_| t > 0).map(|p| {
            let mut y = activations::linear(p, x.slice(s![..1, ..])); // [1][C]
            y.mapv_inplace(super::layers::tanh);
            into_flat(y)
        });
        let (logits, top_k) = super::logits::keep(probe.logits, x.view(), self.info.vocab_size, |rows| self.mlm_logits(rows));
        let class_logits = self.classifier.as_ref().and_then(|head| head.logits(x.view(), pooled.as_deref(), keys.as_deref()));
        Ok(Outputs {
            logits,
            top_k,
            pooled,
            class_logits,
            ..rec.encoder_outputs(x)
        })
    }
}

super::family::impl_encoder_forward!(Albert, Albert::forward);

impl super::Family for Albert {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, _last: bool) -> Result<Array2<f32>> {
        self.mlm_logits(x).ok_or_else(|| Error::input("this ALBERT checkpoint has no masked-LM head to read hidden states with", "Load the AlbertForMaskedLM checkpoint, not the base model"))
    }
    fn position_rows(&self, _stack: super::Stack, n: usize) -> Option<&[f32]> {
        Some(Albert::position_rows(self, n))
    }
    fn token_table(&self, _stack: super::Stack) -> (TokenTable<'_>, usize, f32) {
        (Albert::token_table(self), self.config.vocab_size, 1.0)
    }
    fn embedding_width(&self) -> usize {
        self.config.embedding_size
    }
}

//! T5 (`T5ForConditionalGeneration`): encoder-decoder with RMSNorm, pre-norm blocks, unscaled
//! attention and relative position buckets. One file serves v1.0 (ReLU FFN, LM head tied to
//! `shared`, decoder output scaled by d_model^-0.5) and v1.1 / flan-T5 (`gated-gelu` FFN, untied
//! `lm_head`, no scaling); config.json alone decides which.
//!
//! Reference semantics: Hugging Face `transformers/models/t5/modeling_t5.py` (`T5Attention`,
//! `T5LayerNorm`, `T5DenseGatedActDense`, `T5ForConditionalGeneration.forward`).
//!
//! ```text
//! encoder:  x = shared[src]                                               # [S][C]
//!           for each block:  x = x + attn(rms_1(x), bias_bi);  x = x + ffn(rms_2(x))
//!           enc = rms_final(x)
//! decoder:  y = shared[tgt]                                               # [T][C]
//!           for each block:  y = y + self_attn(rms_1(y), bias_causal)   (causal, KV cache)
//!                            y = y + cross_attn(rms_2(y), enc)           (no position bias)
//!                            y = y + ffn(rms_3(y))
//!           h = rms_final(y)                          # last_hidden_state
//!           logits = (tied ? h·C^-0.5 : h) · headᵀ   # [T][V]
//! ```
//!
//! Attention is `softmax(q·kᵀ + bias)` with no 1/sqrt(D) factor (T5 folds it into the
//! initialisation). `bias[h][i][j] = table[bucket(j - i)][h]`, where `table` is the
//! `relative_attention_bias` of the *first* block of each stack, reused by every block. The
//! encoder's buckets are bidirectional; the decoder's are causal and use the absolute position
//! of the query, so a cached step at position P uses row P of the bias.
//!
//! Config: `scale_decoder_outputs` (written by transformers 5) decides the d_model^-0.5 scaling;
//! without it `tie_word_embeddings` (default true) does, as transformers 4 configs meant it.
//! transformers 5 always writes `tie_word_embeddings: true`, even for v1.1 / flan, so the key alone
//! is not enough. mT5 (`model_type` "mt5") never scales, and its `feed_forward_proj` defaults to
//! "gated-gelu" (T5's to "relu"), as `MT5Config` has them. Each stack reads its own `{s}.embed_tokens.weight` when the checkpoint stores
//! one, else `shared`; the head is the stored `lm_head.weight`, else `shared` (HF 5 unties any
//! stored tensor that differs from `shared`).
//! `feed_forward_proj` is `act` or `gated-act` (`gated-gelu` means tanh GELU, for history's sake);
//! stored `dense_act_fn` / `is_gated_act` keys override what it implies, as in HF.
//! A config without `decoder_start_token_id` starts the decoder with the pad id (0 by default),
//! which is what T5 was trained with.
//!
//! Checkpoint name map (`{s}` is `encoder` or `decoder`; `A` = H·D = `num_heads · d_kv`):
//!
//! | name                                                        | shape        |
//! |-------------------------------------------------------------|--------------|
//! | `shared.weight` (or `encoder.embed_tokens.weight`)          | [V][C]       |
//! | `{s}.embed_tokens.weight` (optional; defaults to `shared`)  | [V][C]       |
//! | `{s}.block.0.layer.0.SelfAttention.relative_attention_bias.weight` | [buckets][H] |
//! | `{s}.block.{l}.layer.0.SelfAttention.{q,k,v}.weight`        | [A][C]       |
//! | `{s}.block.{l}.layer.0.SelfAttention.o.weight`              | [C][A]       |
//! | `{s}.block.{l}.layer.0.layer_norm.weight`                   | [C]          |
//! | `decoder.block.{l}.layer.1.EncDecAttention.{q,k,v,o}.weight`| as above     |
//! | `decoder.block.{l}.layer.1.layer_norm.weight`               | [C]          |
//! | `{s}.block.{l}.layer.{1 enc, 2 dec}.DenseReluDense.wi.weight` (or `wi_0`, `wi_1`) | [F][C] |
//! | `{s}.block.{l}.layer.{1,2}.DenseReluDense.wo.weight`        | [C][F]       |
//! | `{s}.block.{l}.layer.{1,2}.layer_norm.weight`               | [C]          |
//! | `{s}.final_layer_norm.weight`                               | [C]          |
//! | `lm_head.weight` (optional)                                 | [V][C]       |

use super::attention::{attend, KvCache, Mask, Recorder};
use super::seq2seq::{check_state, EncoderDecoder};
use super::activations::{self, flat_mut};
use super::layers::{token_table_not_int8, Activation, TokenTable};
use super::{DecoderState, Kind, ModelInfo, Positions};
use crate::error::{Error, Result};
use crate::kernels::{self, Linear};
use crate::loader::{one_id, parse_json, Keyed, Weights};
use serde::Deserialize;
use ndarray::{Array2, Array3, ArrayView2};

/// The fields of T5's config.json that change the computation.
#[derive(Debug, Clone, Deserialize)]
pub struct T5Config {
    /// "t5" or "mt5": mT5 has its own defaults and never scales the decoder's output.
    #[serde(default = "default_model_type")]
    pub model_type: String,
    pub vocab_size: usize,
    pub d_model: usize,
    pub d_kv: usize,
    pub d_ff: usize,
    pub num_layers: usize,
    #[serde(default)]
    pub num_decoder_layers: Option<usize>,
    pub num_heads: usize,
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    #[serde(default = "default_max_distance")]
    pub relative_attention_max_distance: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f32,
    /// Absent: "relu" for T5 (`T5Config`), "gated-gelu" for mT5 (`MT5Config`); see [`T5Config::ffn`].
    #[serde(default)]
    pub feed_forward_proj: Option<String>,
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
    #[serde(default = "default_pad", deserialize_with = "one_id")]
    pub pad_token_id: Option<u32>,
    #[serde(default = "default_eos", deserialize_with = "one_id")]
    pub eos_token_id: Option<u32>,
    #[serde(default, deserialize_with = "one_id")]
    pub decoder_start_token_id: Option<u32>,
    /// transformers 5 writes whether the decoder output is scaled by d_model^-0.5 here (and
    /// always `tie_word_embeddings: true`); when present it decides, as in HF, where a stored null
    /// is kept as `None` and scales nothing.
    #[serde(default)]
    pub scale_decoder_outputs: Keyed<bool>,
    /// Derived from `feed_forward_proj` by HF, but a value stored in config.json wins there too.
    #[serde(default)]
    pub dense_act_fn: Option<String>,
    /// Null is HF's None, which builds the ungated feed-forward (so a gated file's `wi` is missing).
    #[serde(default)]
    pub is_gated_act: Keyed<bool>,
}

fn default_buckets() -> usize {
    32
}
fn default_max_distance() -> usize {
    128
}
fn default_eps() -> f32 {
    1e-6
}
fn default_model_type() -> String {
    "t5".into()
}

impl T5Config {
    fn mt5(&self) -> bool {
        self.model_type == "mt5"
    }

    /// `feed_forward_proj`, or its default for the family.
    fn ffn(&self) -> &str {
        self.feed_forward_proj.as_deref().unwrap_or(if self.mt5() { "gated-gelu" } else { "relu" })
    }

    /// (gated, activation name) as HF derives them from `feed_forward_proj` ("gated-gelu" means
    /// tanh GELU), stored `is_gated_act` / `dense_act_fn` winning. Err when `feed_forward_proj` is
    /// not ACT or gated-ACT.
    pub fn ffn_activation(&self) -> Result<(bool, String)> {
        let (derived_gated, derived_act) = match self.ffn().split_once('-') {
            Some(("gated", act)) => (true, if act == "gelu" { "gelu_new" } else { act }),
            Some(_) => {
                return Err(Error::config(
                    "feed_forward_proj",
                    format!("\"{}\" is not of the form ACT or gated-ACT", self.ffn()),
                    "Use e.g. \"relu\" (T5 v1.0) or \"gated-gelu\" (T5 v1.1, flan-T5)",
                ))
            }
            None => (false, self.ffn()),
        };
        Ok((self.is_gated_act.or_when_absent(Some(derived_gated)).unwrap_or(false), self.dense_act_fn.clone().unwrap_or_else(|| derived_act.to_string())))
    }
}
fn default_pad() -> Option<u32> {
    Some(0)
}
fn default_eos() -> Option<u32> {
    Some(1)
}

/// Multi-head attention without biases: `C -> A` projections, `A -> C` output.
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
}

/// The feed-forward block: `wo(act(wi x))` or, gated, `wo(act(wi_0 x) * wi_1 x)`.
struct FeedForward {
    wi: Linear,           // C -> F (wi_0 when gated)
    wi_1: Option<Linear>, // C -> F, gated variants only
    wo: Linear,           // F -> C
    act: Activation,
}

struct EncoderBlock {
    ln_attn: Vec<f32>, // [C]
    attn: Attention,
    ln_ff: Vec<f32>, // [C]
    ff: FeedForward,
}

struct DecoderBlock {
    ln_self: Vec<f32>, // [C]
    self_attn: Attention,
    ln_cross: Vec<f32>, // [C]
    cross: Attention,
    ln_ff: Vec<f32>, // [C]
    ff: FeedForward,
}

pub struct T5 {
    pub config: T5Config,
    pub info: ModelInfo,
    // Token tables as bias-free C -> V layers in the load's storage (rows widened on lookup; the
    // tied head streams `shared` as one GEMV).
    shared: Linear, // [V][C]
    enc_embed: Option<Linear>, // [V][C], only when stored apart from `shared`
    dec_embed: Option<Linear>, // [V][C], only when stored apart from `shared`
    enc_bias: Vec<f32>, // [buckets][H]
    encoder: Vec<EncoderBlock>,
    enc_final: Vec<f32>, // [C]
    dec_bias: Vec<f32>, // [buckets][H]
    decoder: Vec<DecoderBlock>,
    dec_final: Vec<f32>, // [C]
    lm_head: Option<Linear>, // [V][C], only when stored untied
    /// v1.0 multiplies the decoder output by d_model^-0.5 before the head.
    scale_output: bool,
}

impl T5 {
    /// Whether the output head is the input embedding table, as loaded (config.json's tie, unless
    /// the file stores a head of its own that differs from the table).
    pub fn head_is_embedding_table(&self) -> bool {
        self.lm_head.is_none()
    }

    pub fn load(config_json: &[u8], w: Weights) -> Result<Self> {
        let cfg: T5Config = parse_json("config.json", config_json)?;
        let (v, c, h, dk, f) = (cfg.vocab_size, cfg.d_model, cfg.num_heads, cfg.d_kv, cfg.d_ff);
        let (l_enc, l_dec) = (cfg.num_layers, cfg.num_decoder_layers.unwrap_or(cfg.num_layers));
        let buckets = cfg.relative_attention_num_buckets;
        if h == 0 || dk == 0 || c == 0 {
            return Err(Error::config("num_heads", "num_heads, d_kv and d_model must all be positive", "Use the config.json saved with the weights"));
        }
        if buckets < 4 {
            return Err(Error::config(
                "relative_attention_num_buckets",
                format!("is {buckets}; T5 needs at least 4 buckets (two directions, exact and logarithmic)"),
                "Use the config.json saved with the weights",
            ));
        }
        let max_distance = cfg.relative_attention_max_distance;
        if max_distance <= buckets / 2 {
            // The logarithmic buckets start at buckets/2 (causal): a shorter max distance divides by
            // log(<= 1), and Hugging Face then fails with an index error or picks negative buckets.
            return Err(Error::config(
                "relative_attention_max_distance",
                format!("is {max_distance}, not above half of relative_attention_num_buckets ({buckets}), so the logarithmic buckets are undefined"),
                format!("Use a max distance above {} (T5 uses 128 with 32 buckets)", buckets / 2),
            ));
        }
        let (gated, act_name) = cfg.ffn_activation()?;
        let act = Activation::from_config(if cfg.dense_act_fn.is_some() { "dense_act_fn" } else { "feed_forward_proj" }, &act_name)?;
        let a = h * dk;
        let lin = |name: &str, d_in: usize, d_out: usize| -> Result<Linear> { super::layers::linear_no_bias(&w, name, d_in, d_out) };
        let attention = |prefix: &str| -> Result<Attention> {
            Ok(Attention { q: lin(&format!("{prefix}.q"), c, a)?, k: lin(&format!("{prefix}.k"), c, a)?, v: lin(&format!("{prefix}.v"), c, a)?, o: lin(&format!("{prefix}.o"), a, c)? })
        };
        let feed_forward = |prefix: &str| -> Result<FeedForward> {
            let (wi, wi_1) = if gated {
                (lin(&format!("{prefix}.wi_0"), c, f)?, Some(lin(&format!("{prefix}.wi_1"), c, f)?))
            } else {
                (lin(&format!("{prefix}.wi"), c, f)?, None)
            };
            Ok(FeedForward { wi, wi_1, wo: lin(&format!("{prefix}.wo"), f, c)?, act })
        };
        let norm = |name: &str| w.get(&format!("{name}.weight"), &[c]);

        let mut encoder = Vec::with_capacity(l_enc);
        for l in 0..l_enc {
            let p = format!("encoder.block.{l}.layer");
            encoder.push(EncoderBlock {
                ln_attn: norm(&format!("{p}.0.layer_norm"))?,
                attn: attention(&format!("{p}.0.SelfAttention"))?,
                ln_ff: norm(&format!("{p}.1.layer_norm"))?,
                ff: feed_forward(&format!("{p}.1.DenseReluDense"))?,
            });
        }
        let mut decoder = Vec::with_capacity(l_dec);
        for l in 0..l_dec {
            let p = format!("decoder.block.{l}.layer");
            decoder.push(DecoderBlock {
                ln_self: norm(&format!("{p}.0.layer_norm"))?,
                self_attn: attention(&format!("{p}.0.SelfAttention"))?,
                ln_cross: norm(&format!("{p}.1.layer_norm"))?,
                cross: attention(&format!("{p}.1.EncDecAttention"))?,
                ln_ff: norm(&format!("{p}.2.layer_norm"))?,
                ff: feed_forward(&format!("{p}.2.DenseReluDense"))?,
            });
        }
        let rel = "layer.0.SelfAttention.relative_attention_bias.weight";
        let enc_bias = w.get(&format!("encoder.block.0.{rel}"), &[buckets, h])?;
        let dec_bias = w.get(&format!("decoder.block.0.{rel}"), &[buckets, h])?;
        // `shared` (random twins draw it by that name), else the encoder's table.
        let shared_name = if w.contains("shared.weight") || matches!(w, Weights::Random { .. }) {
            "shared.weight"
        } else if w.contains("encoder.embed_tokens.weight") {
            "encoder.embed_tokens.weight"
        } else {
            return Err(Error::tensor("shared.weight", "missing from the checkpoint (nor is encoder.embed_tokens.weight there)", "Check that the file is a complete T5 checkpoint"));
        };
        let shared = token_table_not_int8(&w, shared_name, v, c)?;
        // Each stack's own table when stored and different from `shared` (HF 5 leaves it untied).
        let own_table = |name: &str| -> Result<Option<Linear>> {
            match w.contains(name) && !w.same_values(name, shared_name)? {
                true => token_table_not_int8(&w, name, v, c).map(Some),
                false => Ok(None),
            }
        };
        let enc_embed = own_table("encoder.embed_tokens.weight")?;
        let dec_embed = own_table("decoder.embed_tokens.weight")?;
        let lm_head = own_table("lm_head.weight")?;
        // mT5 never scales (transformers 5's MT5 has no such step, and 4.x's only with a tie that
        // mT5 checkpoints did not have); 5.x writes `tie_word_embeddings: true` for every mT5.
        let scale_output = !cfg.mt5() && cfg.scale_decoder_outputs.or_when_absent(Some(cfg.tie_word_embeddings != Some(false))).unwrap_or(false);
        let enc_final = norm("encoder.final_layer_norm")?;
        let dec_final = norm("decoder.final_layer_norm")?;

        let attn_params = 4 * c * a;
        let ff_params = c * f * if gated { 3 } else { 2 };
        let n_params = v * c
            + enc_embed.as_ref().map_or(0, Linear::n_params)
            + dec_embed.as_ref().map_or(0, Linear::n_params)
            + 2 * buckets * h
            + l_enc * (attn_params + ff_params + 2 * c)
            + l_dec * (2 * attn_params + ff_params + 3 * c)
            + 2 * c
            + lm_head.as_ref().map_or(0, Linear::n_params);
        let info = ModelInfo {
            model_type: cfg.model_type.clone(),
            kind: Kind::EncoderDecoder,
            positions: Positions::Relative,
            n_layers: l_enc,
            n_decoder_layers: l_dec,
            n_heads: h,
            d_model: c,
            d_ff: f,
            vocab_size: v,
            max_positions: None,
            n_params,
            has_lm_head: true,
            bos_token_id: None,
            eos_token_id: cfg.eos_token_id,
            pad_token_id: cfg.pad_token_id,
            // HF: "In T5 it is usually set to the pad_token_id".
            decoder_start_token_id: cfg.decoder_start_token_id.or(cfg.pad_token_id),
        };
        Ok(T5 { scale_output, config: cfg, info, shared, enc_embed, dec_embed, enc_bias, encoder, enc_final, dec_bias, decoder, dec_final, lm_head })
    }

    fn n_heads(&self) -> usize {
        self.config.num_heads
    }

    fn rms(&self, x: &Array2<f32>, gamma: &[f32]) -> Array2<f32> {
        activations::rms_norm(x, gamma, self.config.layer_norm_epsilon)
    }

    /// `bias: [H][Tq][Tk]` for queries at absolute positions `past..past+Tq` and keys `0..Tk`,
    /// from `table: [buckets][H]`.
    fn position_bias(&self, table: &[f32], q_len: usize, k_len: usize, past: usize, bidirectional: bool) -> Array3<f32> {
        let h = self.n_heads();
        let (buckets, max_distance) = (self.config.relative_attention_num_buckets, self.config.relative_attention_max_distance);
        let table = ArrayView2::from_shape((buckets, h), table).expect("loaded as [buckets][H]");
        let bucket = Array2::from_shape_fn((q_len, k_len), |(i, j)| relative_bucket(j as i64 - (past + i) as i64, bidirectional, buckets, max_distance));
        Array3::from_shape_fn((h, q_len, k_len), |(head, i, j)| table[[bucket[[i, j]], head]])
    }

    /// The encoder: `src: [S]` ids -> `[S][C]` after the final norm. `keys: [S]` hides source
    /// tokens (additive mask, see [`Mask::Keys`]).
    fn run_encoder(&self, src: &[u32], keys: Option<&[f32]>, rec: &mut Recorder) -> Array2<f32> {
        let (c, h, dk, s) = (self.config.d_model, self.n_heads(), self.config.d_kv, src.len());
        let bias = self.position_bias(&self.enc_bias, s, s, 0, true);
        let mut x = activations::embed(&self.token_table(false), c, src); // [S][C]
        for (l, b) in self.encoder.iter().enumerate() {
            rec.hidden_state(&x);
            // x = x + attn(rms_1(x))
            let a = self.rms(&x, &b.ln_attn);
            let (q, k, v) = (activations::linear(&b.attn.q, a.view()), activations::linear(&b.attn.k, a.view()), activations::linear(&b.attn.v, a.view()));
            let ctx = attend(q.view(), k.view(), v.view(), h, dk, 1.0, Mask::keys_or_full(keys), Some(bias.view()), rec.layer(l));
            let out = activations::linear(&b.attn.o, ctx.view()); // [S][C]
            rec.trace_io(l, &a, &out);
            x += &out;
            // x = x + ffn(rms_2(x))
            let m = self.rms(&x, &b.ln_ff);
            x += &b.ff.forward(&m);
        }
        kernels::rms_norm(flat_mut(&mut x), &self.enc_final, self.config.layer_norm_epsilon);
        rec.hidden_state(&x);
        x
    }

    /// The decoder: `tokens: [T]` at positions `fed..fed+T`, extending the caches. Returns `[T][C]`
    /// after the final norm (before any output scaling).
    fn run_decoder(&self, state: &mut DecoderState, tokens: &[u32], self_rec: &mut Recorder, cross_rec: &mut Recorder) -> Result<Array2<f32>> {
        let (c, h, dk, t) = (self.config.d_model, self.n_heads(), self.config.d_kv, tokens.len());
        check_state(state, self.decoder.len())?;
        let past = state.fed;
        let bias = self.position_bias(&self.dec_bias, t, past + t, past, false);
        let src_keys = state.interventions.additive_token_mask(); // [S], hidden source tokens
        let mut y = activations::embed(&self.token_table(true), c, tokens); // [T][C]
        for (l, b) in self.decoder.iter().enumerate() {
            self_rec.hidden_state(&y);
            // y = y + self_attn(rms_1(y)), causal over the cache
            let a = self.rms(&y, &b.ln_self);
            let (q, k, v) = (activations::linear(&b.self_attn.q, a.view()), activations::linear(&b.self_attn.k, a.view()), activations::linear(&b.self_attn.v, a.view()));
            let kv = &mut state.self_kv[l];
            kv.append(k.view(), v.view());
            let ctx = attend(q.view(), kv.keys(), kv.values(), h, dk, 1.0, Mask::Causal { past }, Some(bias.view()), self_rec.layer(l));
            let out = activations::linear(&b.self_attn.o, ctx.view()); // [T][C]
            self_rec.trace_io(l, &a, &out);
            y += &out;
            // y = y + cross_attn(rms_2(y), enc): no position bias
            let a = self.rms(&y, &b.ln_cross);
            let q = activations::linear(&b.cross.q, a.view());
            let kv = &state.cross_kv[l];
            let ctx = attend(q.view(), kv.keys(), kv.values(), h, dk, 1.0, Mask::keys_or_full(src_keys.as_deref()), None, cross_rec.layer(l));
            let out = activations::linear(&b.cross.o, ctx.view());
            cross_rec.trace_io(l, &a, &out);
            y += &out;
            // y = y + ffn(rms_3(y))
            let m = self.rms(&y, &b.ln_ff);
            y += &b.ff.forward(&m);
        }
        kernels::rms_norm(flat_mut(&mut y), &self.dec_final, self.config.layer_norm_epsilon);
        self_rec.hidden_state(&y);
        state.fed += t;
        Ok(y)
    }

    /// `h: [T][C]` -> logits `[T][V]` (T5 v1.0 scales `h` by `1/√C` first: tied embeddings).
    fn logits(&self, h: ArrayView2<'_, f32>) -> Array2<f32> {
        let c = self.config.d_model;
        let h = if self.scale_output {
            let k = crate::math::pow(c as f64, -0.5) as f32; // HF: model_dim ** -0.5, a Python float
            h.mapv(|x| x * k)
        } else {
            h.as_standard_layout().into_owned()
        };
        activations::linear(self.lm_head.as_ref().unwrap_or(&self.shared), h.view())
    }

    /// Logits as if the decoder stopped at hidden state `x: [T][C]`: the final norm (which the
    /// `last` state has had already), then the head.
    pub(crate) fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Array2<f32> {
        if last {
            self.logits(x)
        } else {
            self.logits(self.rms(&x.to_owned(), &self.dec_final).view())
        }
    }

    /// The learned `relative_attention_bias` of the encoder or decoder stack: `[buckets][H]`.
    pub(crate) fn relative_bias_table(&self, decoder: bool) -> &[f32] {
        if decoder {
            &self.dec_bias
        } else {
            &self.enc_bias
        }
    }

    /// The token table the encoder (or decoder) reads: `[V][C]`.
    pub(crate) fn token_table(&self, decoder: bool) -> TokenTable<'_> {
        let own = if decoder { &self.dec_embed } else { &self.enc_embed };
        TokenTable::Packed(own.as_ref().unwrap_or(&self.shared))
    }
}

impl EncoderDecoder for T5 {
    fn d_model(&self) -> usize {
        self.config.d_model
    }
    fn encoder_shape(&self) -> (usize, usize) {
        (self.encoder.len(), self.n_heads())
    }
    fn decoder_shape(&self) -> (usize, usize) {
        (self.decoder.len(), self.n_heads())
    }
    fn encode(&self, src: &[u32], keys: Option<&[f32]>, rec: &mut Recorder) -> Result<Array2<f32>> {
        Ok(self.run_encoder(src, keys, rec))
    }
    fn cross_kv(&self, enc: ArrayView2<'_, f32>) -> Vec<KvCache> {
        self.decoder.iter().map(|b| KvCache::new(activations::linear(&b.cross.k, enc), activations::linear(&b.cross.v, enc))).collect()
    }
    fn decode(&self, state: &mut DecoderState, tokens: &[u32], self_rec: &mut Recorder, cross_rec: &mut Recorder) -> Result<Array2<f32>> {
        self.run_decoder(state, tokens, self_rec, cross_rec)
    }
    fn lm_logits(&self, h: ArrayView2<'_, f32>) -> Array2<f32> {
        self.logits(h)
    }
}

impl FeedForward {
    /// `x: [T][C]` -> `[T][C]`: `wo(act(wi x))`, or `wo(act(wi x) ⊙ wi_1 x)` when gated.
    fn forward(&self, x: &Array2<f32>) -> Array2<f32> {
        let mut hidden = activations::linear(&self.wi, x.view()); // [T][F]
        self.act.apply(flat_mut(&mut hidden));
        if let Some(wi_1) = &self.wi_1 {
            hidden *= &activations::linear(wi_1, x.view());
        }
        activations::linear(&self.wo, hidden.view())
    }
}

/// T5's bucket for `rel = key position - query position` (Mesh TensorFlow's scheme): half the
/// buckets hold exact small distances, the rest grow logarithmically up to `max_distance`, and
/// a bidirectional table spends one half on each direction. Computed in f32 like HF.
pub fn relative_bucket(rel: i64, bidirectional: bool, num_buckets: usize, max_distance: usize) -> usize {
    let mut n_buckets = num_buckets as i64;
    let mut bucket = 0i64;
    let n = if bidirectional {
        n_buckets /= 2;
        if rel > 0 {
            bucket += n_buckets;
        }
        rel.abs()
    } else {
        (-rel).max(0)
    };
    let max_exact = n_buckets / 2;
    if n < max_exact {
        return (bucket + n) as usize;
    }
    let log_ratio = crate::math::lnf((n as f32) / (max_exact as f32)) / (crate::math::ln(max_distance as f64 / max_exact as f64) as f32);
    let large = max_exact.saturating_add((log_ratio * (n_buckets - max_exact) as f32) as i64);
    (bucket + large.clamp(max_exact, n_buckets - 1)) as usize
}

impl super::Family for T5 {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn lens(&self, x: ArrayView2<'_, f32>, last: bool) -> Result<Array2<f32>> {
        Ok(T5::lens(self, x, last))
    }
    fn position_rows(&self, _stack: super::Stack, _n: usize) -> Option<&[f32]> {
        None // relative positions: see Model::relative_positions
    }
    fn token_table(&self, stack: super::Stack) -> (super::layers::TokenTable<'_>, usize, f32) {
        (T5::token_table(self, stack == super::Stack::Decoder), self.config.vocab_size, 1.0)
    }
}

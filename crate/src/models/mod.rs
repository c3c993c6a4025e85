//! The transformer families, one file each, and what they share.
//!
//! Vocabulary used in every model file (translated from checkpoint names once, at load):
//! `d_model (C)`, `n_heads (H)`, `d_head (D)`, `n_layers (L)`, `d_ff (F)`, `vocab_size (V)`,
//! `seq_len (T)`, `src_len (S)`, `past_len (P)`. In a forward pass: `x`, `q k v`, `scores`
//! (pre-softmax), `probs` (post-softmax, what the page plots), `ctx`, `logits`.

pub mod activations;
pub mod albert;
pub mod attention;
pub mod bart;
pub mod beam;
pub mod bert;
pub mod capture;
pub mod classifier;
pub mod decoder_only;
pub mod family;
pub mod generation;
pub mod generation_config;
pub mod gpt2;
pub mod gpt_neox;
pub mod bloom;
pub mod layers;
pub mod llama;
pub mod logits;
pub mod modernbert;
pub mod deberta;
pub mod phi;
pub mod probe;
pub mod rotary;
pub mod seq2seq;
pub mod t5;

use crate::error::{Error, Result};
use crate::loader::{self, ModelFiles, Weights};
pub use attention::{AttentionKind, Capture, QkvRequest, QkvTrace};
pub use capture::AttentionMaps;
pub use family::{Family, Forward};
pub use probe::{HeadMasks, HiddenStates, Interventions, Probe, Stack};

/// `attribute_map` of the config classes that have one: a key written under the alias (left) sets
/// the key the loaders read (right), and wins over it when both are there, as in transformers.
const CONFIG_ALIASES: &[(&str, &[(&str, &str)])] = &[
    ("gpt2", &[("hidden_size", "n_embd"), ("max_position_embeddings", "n_positions"), ("num_attention_heads", "n_head"), ("num_hidden_layers", "n_layer")]),
    ("gpt_neo", &[("num_attention_heads", "num_heads"), ("num_hidden_layers", "num_layers")]),
    ("bloom", &[("num_hidden_layers", "n_layer"), ("num_attention_heads", "n_head")]),
    ("distilbert", &[("hidden_size", "dim"), ("num_attention_heads", "n_heads"), ("num_hidden_layers", "n_layers")]),
    ("t5", T5_ALIASES),
    ("mt5", T5_ALIASES),
    ("bart", BART_ALIASES),
    ("marian", BART_ALIASES),
    ("mbart", BART_ALIASES),
    ("pegasus", BART_ALIASES),
    ("m2m_100", BART_ALIASES),
];
const T5_ALIASES: &[(&str, &str)] = &[("hidden_size", "d_model"), ("num_attention_heads", "num_heads"), ("num_hidden_layers", "num_layers"), ("head_dim", "d_kv")];
/// BART and its relatives: the aliases reach the encoder only (the decoder keeps its own keys).
const BART_ALIASES: &[(&str, &str)] = &[("num_attention_heads", "encoder_attention_heads"), ("hidden_size", "d_model"), ("num_hidden_layers", "encoder_layers")];

/// The encoders: their masks are bidirectional whatever `is_causal` says, and they generate nothing.
const ENCODERS: &[&str] = &["bert", "roberta", "xlm-roberta", "camembert", "distilbert", "mpnet", "electra", "modernbert", "albert", "deberta-v2"];

/// The decoders whose config classes define attention windows (llama.rs reads them).
const WINDOWED: &[&str] = &["llama", "qwen2", "qwen3", "mistral", "gemma", "gemma2", "gemma3_text", "gemma3", "granite", "olmo2", "olmo3", "smollm3", "phi3", "starcoder2"];

/// Config keys that transformers reads for every family in its shared code (masks, the generation
/// cache, `attribute_map`), which the families' own loaders do not see: an alias is written under
/// the name the loader reads (the returned config.json, when there was one), and what Glassbox does
/// not run is refused by name.
///
/// * `is_causal` false (null, 0: Python's falsy) turns `create_causal_mask` bidirectional in every
///   decoder but GPT-Neo, which builds its own mask.
/// * `sliding_window`, `attention_chunk_size`, `layer_types` in a decoder whose config class has no
///   window still reach the generation cache, which then keeps only that many keys while the
///   forward pass sees them all.
/// * `per_layer_config`: transformers 5's settings per layer.
fn shared_keys(model_type: &str, config: &[u8]) -> Result<Option<Vec<u8>>> {
    use serde_json::Value;
    let mut cfg: serde_json::Map<String, Value> = loader::parse_json("config.json", config)?;
    let decoder = !ENCODERS.contains(&model_type);
    // Gemma 3's image-and-text checkpoints mask their language model by `text_config`'s key.
    let (inner, field) = match model_type {
        "gemma3" => (cfg.get("text_config").and_then(Value::as_object), "text_config.is_causal"),
        _ => (Some(&cfg), "is_causal"),
    };
    let causal_off = inner.and_then(|c| c.get("is_causal")).is_some_and(|v| v.is_null() || *v == false || *v == 0);
    if causal_off && decoder && model_type != "gpt_neo" {
        return Err(Error::config(field, "is off: transformers then lets each token of this decoder see later tokens too", "Remove it (or set it to true): Glassbox runs decoders causally"));
    }
    // transformers 5 loads the weights file this key names instead of model.safetensors: a folder
    // that relies on it would run other weights here.
    if let Some(named) = cfg.get("transformers_weights").filter(|v| !v.is_null()) {
        if !matches!(named.as_str(), Some("model.safetensors" | "model.safetensors.index.json")) {
            return Err(Error::config(
                "transformers_weights",
                format!("names {named} as the weights file: transformers then loads that file, and Glassbox reads model.safetensors (or its sharded index)"),
                "Rename that file to model.safetensors and remove transformers_weights",
            ));
        }
    }
    if cfg.get("per_layer_config").is_some_and(|v| !v.is_null()) {
        return Err(Error::config("per_layer_config", "is set: Glassbox runs every layer with the config's own settings", "Remove per_layer_config"));
    }
    for key in ["sliding_window", "attention_chunk_size", "layer_types"] {
        let window = cfg.get(key).is_some_and(|v| !v.is_null() && !v.as_array().is_some_and(|a| a.iter().all(|t| t == "full_attention")));
        if window && decoder && !WINDOWED.contains(&model_type) {
            return Err(Error::config(key, "is set, but this family has no attention window: only transformers' generation cache would apply it", "Remove it"));
        }
    }
    let aliases = CONFIG_ALIASES.iter().find(|(t, _)| *t == model_type).map_or(&[][..], |(_, a)| a);
    if !aliases.iter().any(|(alias, _)| cfg.contains_key(*alias)) {
        return Ok(None);
    }
    for (alias, key) in aliases {
        // The alias stays in the map: no loader reads it.
        if let Some(v) = cfg.get(*alias).cloned() {
            // T5Config fills `num_decoder_layers` from `num_layers` before the alias is applied.
            if *alias == "num_hidden_layers" && model_type.ends_with("t5") && cfg.get("num_decoder_layers").is_none_or(Value::is_null) {
                let before = cfg.get("num_layers").cloned().unwrap_or_else(|| (if model_type == "t5" { 6 } else { 8 }).into());
                cfg.insert("num_decoder_layers".into(), before);
            }
            cfg.insert((*key).into(), v);
        }
    }
    serde_json::to_vec(&cfg).map(Some).map_err(|e| Error::config("config.json", e.to_string(), "Use the config.json saved with the weights"))
}

/// `e`, naming the key the file wrote when the field at fault was set through an alias.
#[inline(never)]
fn named_as_written(e: Error, written: &[(&'static str, &'static str)]) -> Error {
    match e {
        Error::Config { field, problem, fix } => match written.iter().find(|(_, key)| *key == field) {
            Some((alias, key)) => Error::config(*alias, format!("{problem} (this family reads `{alias}` as its `{key}`)"), fix),
            None => Error::Config { field, problem, fix },
        },
        other => other,
    }
}

/// The aliases of `model_type`'s config class written in `config` (alias, the key it sets).
fn aliases_written(model_type: &str, config: &[u8]) -> Vec<(&'static str, &'static str)> {
    let Ok(serde_json::Value::Object(cfg)) = serde_json::from_slice::<serde_json::Value>(config) else { return Vec::new() };
    let aliases = CONFIG_ALIASES.iter().find(|(t, _)| *t == model_type).map_or(&[][..], |(_, a)| a);
    aliases.iter().copied().filter(|(alias, _)| cfg.get(*alias).is_some_and(|v| !v.is_null())).collect()
}

/// The three ways a transformer is put together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    EncoderOnly,
    DecoderOnly,
    EncoderDecoder,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EncoderOnly => "encoder-only",
            Kind::DecoderOnly => "decoder-only",
            Kind::EncoderDecoder => "encoder-decoder",
        }
    }
}

/// How a model knows where each token sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Positions {
    Learned,    // GPT-2, BERT, BART: a trained table of position vectors
    Sinusoidal, // Marian: fixed sines and cosines, as in the original transformer
    Relative,   // T5: a learned bias per (head, bucketed distance) added to the scores
    Rotary,     // Llama, Qwen2: queries and keys turned by a position-dependent angle (rotary.rs)
    Alibi,      // BLOOM: each head subtracts a fixed slope times the distance from its scores (bloom.rs)
    /// DeBERTa: a table of relative-distance vectors that each head projects into keys and queries;
    /// scores gain content-to-position and position-to-content terms (deberta.rs)
    Disentangled,
}

impl Positions {
    /// The name the model card, the CLI and the page use.
    pub fn as_str(self) -> &'static str {
        match self {
            Positions::Learned => "learned",
            Positions::Sinusoidal => "sinusoidal",
            Positions::Relative => "relative",
            Positions::Rotary => "rotary",
            Positions::Alibi => "alibi",
            Positions::Disentangled => "disentangled",
        }
    }
}

/// Facts about a loaded model, for the page's model card and for validation. Serialised in
/// camelCase, the same object for the CLI's `info` and the JS `model.info` (see `crate::card`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub model_type: String,
    pub kind: Kind,
    pub positions: Positions,
    pub n_layers: usize,         // encoder layers (or decoder layers for decoder-only)
    pub n_decoder_layers: usize, // 0 for encoder-only
    pub n_heads: usize,
    pub d_model: usize,
    #[serde(rename = "dFF")]
    pub d_ff: usize,
    pub vocab_size: usize,
    /// Longest input the position scheme allows (`None`: no hard limit, e.g. T5).
    pub max_positions: Option<usize>,
    pub n_params: usize,
    pub has_lm_head: bool,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<u32>,
    pub pad_token_id: Option<u32>,
    pub decoder_start_token_id: Option<u32>,
}

/// What one forward pass is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub ids: &'a [u32],                  // [T] (the source for encoder-decoder models)
    pub type_ids: Option<&'a [u32]>,     // [T] BERT token types; zeros when absent
    pub decoder_ids: Option<&'a [u32]>,  // [T_dec] encoder-decoder only
}

/// Everything a forward pass can report. Matrices are row-major with their shape beside them.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub encoder_attentions: Option<AttentionMaps>, // [L][H][S][S]
    pub decoder_attentions: Option<AttentionMaps>, // [L][H][T][T], causal
    pub cross_attentions: Option<AttentionMaps>,   // [L][H][T][S]
    pub encoder_scores: Option<AttentionMaps>,     // pre-softmax, masked entries -inf
    pub decoder_scores: Option<AttentionMaps>,
    pub cross_scores: Option<AttentionMaps>,
    /// The final state that feeds the LM head: [T][C] (decoder side for encoder-decoder models).
    pub last_hidden_state: Vec<f32>,
    pub encoder_last_hidden_state: Option<Vec<f32>>, // [S][C]
    pub logits: Option<Vec<f32>>,                    // [T][V], when the probe keeps every row
    /// Each row's k likeliest tokens, when the probe asks for those instead of `logits`.
    pub top_k: Option<logits::TopK>,
    /// BERT pooler output (tanh(W h_[CLS] + b)) when the checkpoint has a pooler: [C].
    pub pooled: Option<Vec<f32>>,
    /// ELECTRA discriminators: each token's logit for "this token was replaced" (its probability
    /// is the sigmoid): [T].
    pub replaced_logits: Option<Vec<f32>>,
    /// A classification head's scores (before softmax or sigmoid): `[L]` for a sequence head,
    /// `[T][L]` for a token head ([`classifier::ClassifierInfo`] says which, and the labels).
    pub class_logits: Option<Vec<f32>>,
    /// HF's `output_hidden_states` per stack (BERT: encoder; GPT-2: decoder), when probed: [L+1][T][C].
    pub encoder_hidden_states: Option<HiddenStates>,
    pub decoder_hidden_states: Option<HiddenStates>,
    /// The probed layer's Q/K/V step-through.
    pub qkv: Option<QkvTrace>,
}

impl Outputs {
    /// Gather one encoder-decoder pass (T5, BART, Marian) from its three recorders.
    /// `hidden: [T][C]` (decoder), `encoder_hidden: [S][C]`, `logits: [T][V]`.
    pub(crate) fn encoder_decoder(
        mut enc: attention::Recorder,
        mut dec: attention::Recorder,
        mut cross: attention::Recorder,
        d_model: usize,
        hidden: Vec<f32>,
        encoder_hidden: Option<Vec<f32>>,
        (logits, top_k): (Option<Vec<f32>>, Option<logits::TopK>),
    ) -> Self {
        Outputs {
            encoder_hidden_states: enc.take_hidden_states(d_model),
            decoder_hidden_states: dec.take_hidden_states(d_model),
            qkv: enc.trace.take().or(dec.trace.take()).or(cross.trace.take()),
            encoder_attentions: enc.probs,
            decoder_attentions: dec.probs,
            cross_attentions: cross.probs,
            encoder_scores: enc.scores,
            decoder_scores: dec.scores,
            cross_scores: cross.scores,
            last_hidden_state: hidden,
            encoder_last_hidden_state: encoder_hidden,
            logits,
            top_k,
            pooled: None,
            replaced_logits: None,
            class_logits: None,
        }
    }
}

/// One step of incremental decoding: the logits of the last fed position and, if asked,
/// the attention that position used.
#[derive(Debug, Clone, Default)]
pub struct StepOutput {
    pub logits: Vec<f32>,                      // [V]
    pub self_attentions: Option<AttentionMaps>, // [L][H][t_new][P + t_new]
    pub cross_attentions: Option<AttentionMaps>, // [L][H][t_new][S]
}

/// Everything a decoder carries from one step to the next: the KV cache of every self-attention
/// layer and, for encoder-decoder models, the encoded source and its cross-attention keys/values
/// (computed once per source). Owned and cloneable, so a page can keep it between calls and beam
/// search can fork it.
#[derive(Debug, Clone, Default)]
pub struct DecoderState {
    pub self_kv: Vec<attention::KvCache>,  // [L] x ([P][H*D] keys, values)
    pub cross_kv: Vec<attention::KvCache>, // [L] x ([S][H*D] keys, values), encoder-decoder only
    pub encoder_hidden: Option<Vec<f32>>,  // [S][C], encoder-decoder only
    pub src_len: usize,                    // S
    /// Tokens fed so far (P).
    pub fed: usize,
    /// Decoder-only: those tokens, for a family whose generation recomputes its cache from the start
    /// at some step (Phi-3 when the text first outgrows its original length: [`decoder_only::DecoderOnly::rebuilds_cache_at`]).
    pub fed_ids: Vec<u32>,
    /// Head masks and the source's token mask every step runs with.
    pub interventions: Interventions,
}

/// A loaded model of any supported family.
pub enum Model {
    Gpt2(gpt2::Gpt2),
    Bert(bert::Bert), // BERT, RoBERTa and DistilBERT share one implementation
    T5(t5::T5),
    Bart(bart::Bart), // BART, Marian, mBART, Pegasus and M2M100 share one implementation
    Llama(llama::Llama), // Llama and Qwen2 share one implementation
    ModernBert(modernbert::ModernBert),
    Albert(albert::Albert),
    Deberta(deberta::Deberta),
    GptNeoX(gpt_neox::GptNeoX),
    Phi(phi::Phi),
    Bloom(bloom::Bloom),
}

pub use crate::loader::SUPPORTED_MODEL_TYPES;

impl Model {
    /// Build a model from config.json and model.safetensors bytes (or seeded random weights
    /// when `files.weights` is `None` and a seed is given).
    pub fn load(files: &ModelFiles, random_seed: Option<u64>) -> Result<Model> {
        Self::load_with(files, random_seed, None)
    }

    /// [`Model::load`] with the weight storage of the linear layers chosen (`None`: the file's own
    /// dtype, so f16 and bf16 checkpoints stay 16-bit in memory).
    pub fn load_with(files: &ModelFiles, random_seed: Option<u64>, storage: Option<crate::kernels::Storage>) -> Result<Model> {
        Self::load_from(files, files.weights.map(|bytes| loader::tensor_file::FileBytes::Memory(bytes).into()), random_seed, storage)
    }

    /// [`Model::load_with`] with the weights given apart from `files` (whose `weights` is then
    /// ignored): model.safetensors or the shards of a sharded checkpoint, in memory or held
    /// elsewhere and read one tensor at a time (the CLI, the page's worker).
    pub fn load_from(files: &ModelFiles, weight_file: Option<loader::WeightSource>, random_seed: Option<u64>, storage: Option<crate::kernels::Storage>) -> Result<Model> {
        Self::load_reporting(files, weight_file, random_seed, storage, &mut Vec::new())
    }

    /// [`Model::load_from`], setting `unused` to the checkpoint's tensors the model never read
    /// ([`loader::weights::UnusedTensors`]).
    pub fn load_reporting(files: &ModelFiles, weight_file: Option<loader::WeightSource>, random_seed: Option<u64>, storage: Option<crate::kernels::Storage>, unused: &mut Vec<String>) -> Result<Model> {
        let model_type = loader::model_type(files.config)?;
        let renamed = shared_keys(&model_type, files.config)?;
        // A value written under an alias is read under the family's own key: a message about it names the key
        // the user wrote (`num_hidden_layers`, not GPT-2's `n_layer`, which may say something else in the file).
        let written = aliases_written(&model_type, files.config);
        let files = &ModelFiles { config: renamed.as_deref().unwrap_or(files.config), ..*files };
        let mut tracker = None;
        let model = Self::load_renamed(&model_type, files, weight_file, random_seed, storage, &mut tracker).map_err(|e| named_as_written(e, &written))?;
        *unused = tracker.map(|t| t.list()).unwrap_or_default();
        model.calibrate_decoding();
        Ok(model)
    }

    /// Decoding reads wide only when its timing at load is under this share of narrow's. Narrow is the
    /// default and the faster on the machines where wide does not pay (AMD EPYC: x1.5 on small models);
    /// where wide pays it won by x1.3-1.4 (an Intel VM: wide at 0.71-0.77 of narrow's time). A few
    /// milliseconds timed on a busy machine move by more than the two differ on a machine where they
    /// are close, and the token table the load times streams from memory either way, where the two
    /// differ less than on the layers: at 0.95, a GPT-2-small-shaped int8 model loaded wide in one
    /// `node bench/compare.mjs` run of 2026-12-07 (105 tok/s against 160-174 narrow), and an f32 one in
    /// another (38.6 tok/s against 53-59 narrow; one load in about fifteen that day).
    pub const WIDE_IF_UNDER: f64 = 0.85;

    /// A model that generates, with a token table too large for the caches (int8: for the L2 caches):
    /// decoding reads its weights from memory, and whether it reads them fastest as six streams side by
    /// side or as fewer is the machine's (see [`crate::kernels::set_decode_wide`]). Measured here on that table, in its storage:
    /// one row times the table, wide and narrow in turn (which goes first alternating), a warm-up
    /// round and four timed ones (a small table's product repeated to 64 MiB; about 100 ms for a
    /// 124M model's f32 table, against seconds of loading); wide is kept only if its least time is
    /// under [`Self::WIDE_IF_UNDER`] of narrow's. Smaller models keep the choice made before. Returns the
    /// least milliseconds of one product wide and narrow, if measured.
    #[inline(never)]
    pub fn calibrate_decoding(&self) -> Option<(f64, f64)> {
        /// Past the last-level cache of the machines we measured on (32 MiB: a table read in order
        /// through it from one end to the other finds nothing left of the last pass).
        const FROM_MEMORY: usize = 36 << 20;
        /// Int8 from past the L2 caches: whether its kernel reads one tile or six at a time is about
        /// V8 spilling six tiles' accumulators as much as about streams, which shows in the last-level
        /// cache too (the 768 x 3,072 product in L3 on the AMD EPYC: 16 GB/s wide, 28 narrow), and
        /// many int8 models' tables are under 36 MiB (SmolLM-135M's 28 MiB, GPT-2 small's 39.1).
        const INT8_PAST_L2: usize = 8 << 20;
        let stack = match self.info().kind {
            Kind::EncoderOnly => return None, // nothing to decode
            Kind::EncoderDecoder => Stack::Decoder,
            Kind::DecoderOnly => Stack::Encoder,
        };
        let (layers::TokenTable::Packed(table), _, _) = self.family().token_table(stack) else { return None };
        let int8 = table.storage() == crate::kernels::Storage::Int8;
        if table.bytes() < if int8 { INT8_PAST_L2 } else { FROM_MEMORY } {
            return None;
        }
        // Each timing reads at least 64 MiB (the product repeated): a browser may round
        // `performance.now()` to 0.1 ms (Chrome without cross-origin isolation) or 1 ms (Firefox),
        // against 0.4 ms for one product through an 8 MiB table.
        let reps = (64usize << 20).div_ceil(table.bytes()).max(1);
        let (x, mut out) = (vec![0.5f32; table.d_in], vec![0.0f32; table.d_out]);
        let mut best = [f64::INFINITY; 2]; // [wide, narrow]
        for round in 0..5 {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                crate::kernels::set_decode_wide(i == 0);
                let t0 = now_ms();
                for _ in 0..reps {
                    table.forward_into(&x, 1, &mut out);
                }
                if round > 0 {
                    best[i] = best[i].min((now_ms() - t0) / reps as f64);
                }
            }
        }
        crate::kernels::set_decode_wide(best[0] < Self::WIDE_IF_UNDER * best[1]);
        Some((best[0], best[1]))
    }

    /// [`Model::load_from`] with `files.config` as the family reads it (aliases set under their keys). Not
    /// inlined: inside `load_from`, with the error mapping around it, it cost the shipped wasm 10 KB.
    #[inline(never)]
    fn load_renamed(model_type: &str, files: &ModelFiles, weight_file: Option<loader::WeightSource>, random_seed: Option<u64>, storage: Option<crate::kernels::Storage>, tracker: &mut Option<loader::weights::UnusedTensors>) -> Result<Model> {
        let weights_len = weight_file.as_ref().map(loader::WeightSource::len);
        let weights = match (weight_file, random_seed) {
            (Some(loader::WeightSource::File(bytes)), _) => Weights::from_file(bytes)?,
            (Some(loader::WeightSource::Shards { index, shards }), _) => Weights::from_shards(index, shards)?,
            (None, Some(seed)) => Weights::random(seed),
            (None, None) => {
                return Err(Error::file("model.safetensors", "was not provided", "Add model.safetensors to the model folder"))
            }
        };
        let weights = weights.with_storage(storage);
        loader::limits::check_sizes(files.config, weights_len)?;
        loader::limits::check_values(files.config, weights_len.is_some())?;
        *tracker = Some(weights.tracker());
        match model_type {
            "gpt2" => Ok(Model::Gpt2(gpt2::Gpt2::load(files.config, weights)?)),
            "gpt_neo" => Ok(Model::Gpt2(gpt2::Gpt2::load_neo(files.config, weights)?)),
            "opt" => Ok(Model::Gpt2(gpt2::Gpt2::load_opt(files.config, weights)?)),
            "bert" => Ok(Model::Bert(bert::Bert::load(files.config, weights)?)),
            "roberta" => Ok(Model::Bert(bert::Bert::load_variant(bert::Variant::Roberta, files.config, weights)?)),
            "xlm-roberta" => Ok(Model::Bert(bert::Bert::load_variant(bert::Variant::XlmRoberta, files.config, weights)?)),
            "camembert" => Ok(Model::Bert(bert::Bert::load_variant(bert::Variant::Camembert, files.config, weights)?)),
            "distilbert" => Ok(Model::Bert(bert::Bert::load_variant(bert::Variant::DistilBert, files.config, weights)?)),
            "mpnet" => Ok(Model::Bert(bert::Bert::load_variant(bert::Variant::MpNet, files.config, weights)?)),
            "electra" => Ok(Model::Bert(bert::Bert::load_variant(bert::Variant::Electra, files.config, weights)?)),
            "t5" | "mt5" => Ok(Model::T5(t5::T5::load(files.config, weights)?)),
            "bart" | "marian" | "mbart" | "pegasus" | "m2m_100" => Ok(Model::Bart(bart::Bart::load(files.config, weights)?)),
            "llama" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Llama, files.config, weights)?)),
            "qwen2" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Qwen2, files.config, weights)?)),
            "qwen3" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Qwen3, files.config, weights)?)),
            "mistral" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Mistral, files.config, weights)?)),
            "gemma" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Gemma, files.config, weights)?)),
            "gemma2" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Gemma2, files.config, weights)?)),
            "gemma3_text" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Gemma3, files.config, weights)?)),
            "granite" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Granite, files.config, weights)?)),
            "olmo2" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Olmo2, files.config, weights)?)),
            "olmo3" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Olmo3, files.config, weights)?)),
            "gemma3" => Ok(Model::Llama(llama::load_gemma3_multimodal(files.config, weights)?)),
            "smollm3" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::SmolLm3, files.config, weights)?)),
            "phi3" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Phi3, files.config, weights)?)),
            "stablelm" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::StableLm, files.config, weights)?)),
            "olmo" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Olmo, files.config, weights)?)),
            "starcoder2" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Starcoder2, files.config, weights)?)),
            "cohere" => Ok(Model::Llama(llama::Llama::load(llama::Flavour::Cohere, files.config, weights)?)),
            "modernbert" => Ok(Model::ModernBert(modernbert::ModernBert::load(files.config, weights)?)),
            "albert" => Ok(Model::Albert(albert::Albert::load(files.config, weights)?)),
            "deberta-v2" => Ok(Model::Deberta(deberta::Deberta::load(files.config, weights)?)),
            "gpt_neox" => Ok(Model::GptNeoX(gpt_neox::GptNeoX::load(files.config, weights)?)),
            "bloom" => Ok(Model::Bloom(bloom::Bloom::load(files.config, weights)?)),
            "phi" => Ok(Model::Phi(phi::Phi::load(files.config, weights)?)),
            other => Err(Error::config(
                "model_type",
                format!("\"{other}\" is not supported"),
                format!("Glassbox runs these families: {SUPPORTED_MODEL_TYPES}"),
            )),
        }
    }

    /// The one place that knows which families exist: everything else goes through [`Family`].
    pub fn family(&self) -> &dyn Family {
        match self {
            Model::Gpt2(m) => m,
            Model::Bert(m) => m,
            Model::T5(m) => m,
            Model::Bart(m) => m,
            Model::Llama(m) => m,
            Model::ModernBert(m) => m,
            Model::Albert(m) => m,
            Model::Deberta(m) => m,
            Model::GptNeoX(m) => m,
            Model::Bloom(m) => m,
            Model::Phi(m) => m,
        }
    }

    pub fn info(&self) -> &ModelInfo {
        self.family().info()
    }

    /// The decoder input of an encoder-decoder sequence classifier (BART's: the input shifted right),
    /// when the checkpoint is one.
    pub fn classifier_decoder_input(&self, ids: &[u32]) -> Option<Vec<u32>> {
        match self {
            Model::Bart(m) => seq2seq::EncoderDecoder::classifier_head(m).map(|(_, start, _)| seq2seq::shift_right(ids, start)),
            _ => None,
        }
    }

    /// The classification head the checkpoint carries (the encoder families that read one).
    pub fn classifier(&self) -> Option<&classifier::ClassifierInfo> {
        match self {
            Model::Bert(m) => m.classifier(),
            Model::Albert(m) => m.classifier(),
            Model::Deberta(m) => m.classifier(),
            Model::ModernBert(m) => m.classifier(),
            Model::Gpt2(m) => m.classifier(),
            Model::Llama(m) => m.classifier(),
            Model::Bart(m) => m.classifier(),
            _ => None,
        }
    }

    /// The width of `Outputs::last_hidden_state`'s rows: `d_model`, but opt-350m's narrower output
    /// (`project_out`, for its tied head).
    pub fn last_state_width(&self) -> usize {
        match self {
            Model::Gpt2(m) => m.embedding_width(),
            _ => None,
        }
        .unwrap_or(self.info().d_model)
    }

    pub fn kind(&self) -> Kind {
        self.info().kind
    }

    /// One full forward pass. Checks ids against the vocabulary and the position limit.
    pub fn forward(&self, inputs: &Inputs, capture: Capture) -> Result<Outputs> {
        self.forward_probed(inputs, &Probe::from(capture))
    }

    /// One full forward pass that also shows and changes what `probe` asks (see [`probe`]).
    pub fn forward_probed(&self, inputs: &Inputs, probe: &Probe) -> Result<Outputs> {
        let info = self.info();
        check_ids("input ids", inputs.ids, info)?;
        if let Some(dec) = inputs.decoder_ids {
            check_ids_below("decoder ids", dec, self.decoder_vocab_size(), info)?;
        }
        self.check_probe(probe, inputs.ids.len())?;
        let dec_len = inputs.decoder_ids.map_or(1, <[u32]>::len);
        check_output_sizes(info, inputs.ids.len(), dec_len, probe)?;
        let out = self.family().forward(inputs, probe)?;
        check_finite("final hidden state", &out.last_hidden_state)?;
        // The output head can overflow on its own (one huge row of lm_head): JSON would carry the
        // inf as null and the page would rank NaN probabilities.
        if let Some(logits) = &out.logits {
            check_finite("scores (logits)", logits)?;
        }
        if let Some(top) = &out.top_k {
            check_finite("token probabilities", &top.probs)?;
        }
        Ok(out)
    }

    /// A decoder ready to generate. Decoder-only: nothing fed yet (feed the prompt).
    /// Encoder-decoder: `source` is encoded once here; feed the decoder start token first.
    pub fn start_decoding(&self, source: &[u32]) -> Result<DecoderState> {
        self.start_decoding_with(source, &Interventions::default())
    }

    /// [`Model::start_decoding`], with heads ablated or source tokens hidden for the whole run.
    pub fn start_decoding_with(&self, source: &[u32], interventions: &Interventions) -> Result<DecoderState> {
        let info = self.info();
        if !interventions.is_none() {
            self.check_interventions(interventions, source.len())?;
        }
        if info.kind == Kind::EncoderDecoder {
            check_ids("input ids", source, info)?;
        }
        let mut state = self.family().start(source, interventions)?;
        state.interventions = interventions.clone();
        Ok(state)
    }
}

impl Model {
    /// Feed `tokens` (the prompt or decoder start first, then one token per step) and get the
    /// logits of the last one, plus the attention it used if `capture` asks.
    pub fn feed(&self, state: &mut DecoderState, tokens: &[u32], capture: Capture) -> Result<StepOutput> {
        check_ids_below("token ids", tokens, self.decoder_vocab_size(), self.info())?;
        loader::limits::check_sequence("decoded tokens", state.fed.saturating_add(tokens.len()))?;
        let step = self.family().feed(state, tokens, capture)?;
        check_finite("next-token scores", &step.logits)?;
        Ok(step)
    }
}

/// The weights are checked for NaN and infinity when they load, but finite weights can still
/// overflow (a weight of 1e38 times an activation of 10): the outputs would be NaN, which the page
/// would draw as empty maps and generation would read as a choice. Say so instead.
fn check_finite(what: &str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(at) => Err(Error::input(
            format!("the model's {what} holds {} at entry {at}: a sum or product inside the model passed f32's range of ±3.4e38, although every weight is finite", values[at]),
            "Check the checkpoint's weights for values far larger than the others (transformers gives NaN on the same file)",
        )),
    }
}

impl Model {
    /// Length of each row of `logits` (and the range of decoder ids): the LM head's vocabulary.
    /// It differs from `info().vocab_size` only for Marian with `decoder_vocab_size` and
    /// `share_encoder_decoder_embeddings: false`.
    pub fn decoder_vocab_size(&self) -> usize {
        self.family().decoder_vocab_size()
    }
}

/// Every id must index the embedding table and the sequence must fit the position table.
pub fn check_ids(what: &str, ids: &[u32], info: &ModelInfo) -> Result<()> {
    check_ids_below(what, ids, info.vocab_size, info)
}

/// [`check_ids`] against a table of `vocab` rows (the decoder's, for decoder ids).
fn check_ids_below(what: &str, ids: &[u32], vocab: usize, info: &ModelInfo) -> Result<()> {
    if ids.is_empty() {
        return Err(Error::input(format!("the {what} are empty"), "Type some text (or give at least one id)"));
    }
    // The model's own limit first, whatever the length: a text of 50,000 tokens for a model of 128
    // positions is told about the 128 (and how far over it is), not about Glassbox's general cap.
    let n = ids.len();
    let shorten = |max: usize| match what.starts_with("decoder") {
        // The decoder's ids are given, not typed: the text is not what is too long.
        true => format!("Give at most {max} decoder ids ({} fewer)", n - max),
        false => format!("Shorten the text to at most {max} tokens (by {})", n - max),
    };
    if let Some(max) = info.max_positions.filter(|&max| n > max && max <= loader::limits::MAX_SEQUENCE) {
        return Err(Error::input(format!("the {what} are {n} tokens long but this model has positions for only {max}"), shorten(max)));
    }
    if info.max_positions.is_none() && n > MAX_TOKENS_WITHOUT_POSITION_TABLE {
        return Err(Error::input(
            format!("the {what} are {n} tokens long; Glassbox runs at most {MAX_TOKENS_WITHOUT_POSITION_TABLE} at once with this model"),
            format!("{} (attention maps grow with the square of the length)", shorten(MAX_TOKENS_WITHOUT_POSITION_TABLE)),
        ));
    }
    loader::limits::check_sequence(what, n)?;
    if let Some(&bad) = ids.iter().find(|&&id| id as usize >= vocab) {
        return Err(Error::input(
            format!("{what} contain {bad}, outside the vocabulary (ids 0 to {})", vocab.saturating_sub(1)),
            if vocab == info.vocab_size { "Use ids below vocab_size from config.json" } else { "Use ids below decoder_vocab_size from config.json" },
        ));
    }
    // (A table longer than MAX_SEQUENCE refuses nothing check_sequence has not refused already.)
    Ok(())
}

/// Refuse a forward pass whose outputs alone would exceed [`loader::limits::MAX_LOGITS`] or [`loader::limits::MAX_CAPTURED`], before it runs:
/// a crafted config (10,000 thin layers, a vocabulary of 16 million) passes every size check, then asks for
/// terabytes of attention maps or logits.
fn check_output_sizes(info: &ModelInfo, src_len: usize, dec_len: usize, probe: &Probe) -> Result<()> {
    let (capture, hidden_states) = (probe.capture, probe.hidden_states);
    use loader::limits::{human, MAX_CAPTURED, MAX_LOGITS};
    let (s, d, h) = (src_len as u128, dec_len as u128, info.n_heads as u128);
    let out_len = if info.kind == Kind::EncoderDecoder { d } else { s };
    // Top-k rows are worked out a block at a time (models/logits.rs): only whole logits count.
    let whole = probe.logits == logits::LogitRows::All;
    let logits = if info.has_lm_head && whole { out_len * info.vocab_size as u128 } else { 0 };
    if logits > MAX_LOGITS {
        return Err(Error::input(
            format!("{} tokens × a vocabulary of {} would make {} logits, more than the limit of {} (MAX_LOGITS)", out_len as u64, info.vocab_size, human(logits), human(MAX_LOGITS)),
            "Shorten the text",
        ));
    }
    let per_map = u128::from(capture.probs) + u128::from(capture.scores);
    let maps = match info.kind {
        Kind::EncoderOnly => info.n_layers as u128 * s * s,
        Kind::DecoderOnly => info.n_layers as u128 * s * s,
        Kind::EncoderDecoder => info.n_layers as u128 * s * s + info.n_decoder_layers as u128 * (d * d + d * s),
    };
    // Hidden states after every layer (`[L+1][T][C]` per stack), kept for the logit lens.
    let hidden = if hidden_states {
        // A decoder-only model's card repeats its layers as `n_decoder_layers`: one stack, counted once.
        (info.n_layers as u128 + 1) * s * info.d_model as u128 + if info.kind == Kind::EncoderDecoder { (info.n_decoder_layers as u128 + 1) * d * info.d_model as u128 } else { 0 }
    } else {
        0
    };
    let captured = per_map * h * maps + hidden;
    if captured > MAX_CAPTURED {
        return Err(Error::input(
            format!("keeping the attention of {} layers × {} heads for {} tokens would take {} values, more than the limit of {} (MAX_CAPTURED)",
                info.n_layers + if info.kind == Kind::EncoderDecoder { info.n_decoder_layers } else { 0 }, info.n_heads, src_len.max(dec_len), human(captured), human(MAX_CAPTURED)),
            "Shorten the text, or run without keeping the attention maps",
        ));
    }
    Ok(())
}

/// A length cap for models with no position table (T5's relative positions have no limit):
/// attention maps grow as T², and an unbounded input could exhaust memory (a trap in wasm).
pub const MAX_TOKENS_WITHOUT_POSITION_TABLE: usize = 1024;
// check_ids_below names this limit before Glassbox's general one: it must be the smaller.
const _: () = assert!(MAX_TOKENS_WITHOUT_POSITION_TABLE <= loader::limits::MAX_SEQUENCE);

/// Milliseconds from an arbitrary start, for timing inside a load: `performance.now()` of the page,
/// worker or Node (every one Glassbox runs in has it).
#[cfg(target_arch = "wasm32")]
fn now_ms() -> f64 {
    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = performance, js_name = now)]
        fn performance_now() -> f64;
    }
    performance_now()
}

#[cfg(not(target_arch = "wasm32"))]
fn now_ms() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1e3
}

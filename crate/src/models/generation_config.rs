//! `generation_config.json`: how a model wants to be generated from, read as Hugging Face does.
//!
//! transformers 5 keeps generation settings only in `generation_config.json`; older folders (and
//! transformers 4 conversions such as BART and Marian) carry them in config.json. HF's rule, which
//! we follow: when `generation_config.json` is present it alone counts; otherwise the generation
//! keys of config.json are read (`GenerationConfig.from_model_config`). A key set to `null` counts
//! as absent.
//!
//! Two kinds of settings come out of it:
//! - **defaults** a front end uses when the user did not choose (`max_new_tokens`, sampling or
//!   greedy, `num_beams`, `length_penalty`, `early_stopping`): explicit options always win;
//! - **rules** every step obeys ([`GenerationRules`]: repetition penalty, banned n-grams and words,
//!   minimum lengths, forced first/last tokens, the eos ids), which are part of the model.
//!
//! Keys that would change the output and that Glassbox does not implement are refused by name
//! (see [`REFUSED`]) when a run would use them, so a run never silently differs from
//! `model.generate`; the model still loads, and every forward pass and view works. The table of
//! keys is in docs/config-keys.md.

use super::beam::{BeamOptions, EarlyStopping, GenerationRules};
use super::generation::Sampling;
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// What a model folder says about generation. `None` / empty: the file does not say.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenerationConfig {
    /// Which file the settings came from (for messages): `generation_config.json` or `config.json`.
    pub source: &'static str,
    /// Whole length (prompt or decoder start + new tokens).
    pub max_length: Option<usize>,
    pub max_new_tokens: Option<usize>,
    pub min_length: usize,
    pub min_new_tokens: usize,
    pub do_sample: bool,
    pub temperature: Option<f32>,
    pub top_k: Option<usize>,
    pub top_p: Option<f32>,
    pub num_beams: Option<usize>,
    pub length_penalty: Option<f64>,
    pub early_stopping: Option<EarlyStopping>,
    pub num_return_sequences: Option<usize>,
    pub no_repeat_ngram_size: usize,
    pub repetition_penalty: f32,
    pub bad_words_ids: Vec<Vec<u32>>,
    pub forced_bos_token_id: Option<u32>,
    pub forced_eos_token_id: Vec<u32>,
    pub eos_token_id: Vec<u32>,
    pub pad_token_id: Option<u32>,
    pub bos_token_id: Option<u32>,
    pub decoder_start_token_id: Option<u32>,
    /// Keys of [`REFUSED`] the file sets to a value that is not neutral, in alphabetical order:
    /// [`GenerationConfig::refuse_unsupported`] refuses the first one a run would use.
    pub unsupported: Vec<(&'static str, Value)>,
}

/// HF's default `top_k` when sampling (`GenerationConfig.top_k = 50`).
pub const HF_DEFAULT_TOP_K: usize = 50;
/// New tokens when nothing sets a length: 20, as transformers 5 makes when `max_length` is its
/// default (it adds the prompt's length, capped at max_position_embeddings).
pub const DEFAULT_MAX_NEW_TOKENS: usize = 20;

/// Generation keys that change the output and are not implemented, with the value that means
/// "off" in HF (a key at that value is accepted).
pub const REFUSED: &[(&str, Off)] = &[
    ("typical_p", Off::Number(1.0)),
    ("epsilon_cutoff", Off::Number(0.0)),
    ("eta_cutoff", Off::Number(0.0)),
    ("min_p", Off::Null),
    ("top_h", Off::Null),
    ("diversity_penalty", Off::Number(0.0)),
    ("num_beam_groups", Off::Number(1.0)),
    ("penalty_alpha", Off::Null),
    ("encoder_repetition_penalty", Off::Number(1.0)),
    ("encoder_no_repeat_ngram_size", Off::Number(0.0)),
    ("suppress_tokens", Off::Null),
    ("begin_suppress_tokens", Off::Null),
    ("sequence_bias", Off::Null),
    ("exponential_decay_length_penalty", Off::Null),
    ("renormalize_logits", Off::False),
    ("constraints", Off::Null),
    ("force_words_ids", Off::Null),
    ("forced_decoder_ids", Off::Null),
    ("guidance_scale", Off::Number(1.0)),
    ("watermarking_config", Off::Null),
    ("dola_layers", Off::Null),
    ("stop_strings", Off::Null),
    ("max_time", Off::Null),
    ("remove_invalid_values", Off::False),
    ("token_healing", Off::False),
];

/// Refused keys that act only when sampling: HF adds these logits warpers under `do_sample` alone.
const SAMPLING_ONLY: &[&str] = &["typical_p", "epsilon_cutoff", "eta_cutoff", "min_p", "top_h"];
/// A refused key that acts only in group beam search (several beams): HF ignores it otherwise.
const BEAMS_ONLY: &[&str] = &["diversity_penalty"];

/// The value of a refused key that leaves HF's output unchanged.
#[derive(Debug, Clone, Copy)]
pub enum Off {
    Null,
    False,
    Number(f64),
}

impl Off {
    fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (_, Value::Null) => true,
            (Off::False, Value::Bool(false)) => true,
            (Off::Number(x), Value::Number(n)) => n.as_f64() == Some(x),
            (Off::Null, Value::Array(items)) => items.is_empty(),
            _ => false,
        }
    }
}

impl GenerationConfig {
    /// Read the settings of a model folder: `generation_config` (the file's bytes) when given,
    /// else the generation keys of `config`.
    pub fn from_files(config: &[u8], generation_config: Option<&[u8]>) -> Result<Self> {
        match generation_config {
            Some(bytes) => Self::parse("generation_config.json", bytes),
            None => Self::parse("config.json", config),
        }
    }

    fn parse(source: &'static str, bytes: &[u8]) -> Result<Self> {
        let value: Value = crate::loader::parse_json(source, bytes)?;
        let Value::Object(map) = value else {
            return Err(Error::file(source, "is not a JSON object", "Use the file saved by `save_pretrained`"));
        };
        // Kept, not refused: a run that never reads them must not be blocked (`refuse_unsupported`).
        let unsupported = map.iter().filter_map(|(key, v)| REFUSED.iter().find(|(k, off)| k == key && !off.accepts(v)).map(|(k, _)| (*k, v.clone()))).collect();
        let f = Fields { source, map: &map };
        let early_stopping = match map.get("early_stopping") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(false)) => Some(EarlyStopping::Heuristic),
            Some(Value::Bool(true)) => Some(EarlyStopping::Always),
            Some(Value::String(s)) if s == "never" => Some(EarlyStopping::Never),
            Some(other) => return Err(f.bad("early_stopping", other, "Use true, false or \"never\"")),
        };
        let cfg = GenerationConfig {
            source,
            max_length: f.count("max_length")?,
            max_new_tokens: f.count("max_new_tokens")?,
            // HF: a `min_new_tokens` (0 included) replaces `min_length` (prefix + min_new_tokens).
            min_length: if f.count("min_new_tokens")?.is_some() { 0 } else { f.count("min_length")?.unwrap_or(0) },
            min_new_tokens: f.count("min_new_tokens")?.unwrap_or(0),
            do_sample: f.flag("do_sample")?.unwrap_or(false),
            temperature: f.number("temperature")?.map(|x| x as f32),
            top_k: f.count("top_k")?,
            top_p: f.number("top_p")?.map(|x| x as f32),
            num_beams: f.count("num_beams")?,
            length_penalty: f.number("length_penalty")?,
            early_stopping,
            num_return_sequences: f.count("num_return_sequences")?,
            no_repeat_ngram_size: f.count("no_repeat_ngram_size")?.unwrap_or(0),
            repetition_penalty: f.number("repetition_penalty")?.unwrap_or(1.0) as f32,
            bad_words_ids: f.id_lists("bad_words_ids")?,
            forced_bos_token_id: f.ids("forced_bos_token_id")?.first().copied(),
            forced_eos_token_id: f.ids("forced_eos_token_id")?,
            eos_token_id: f.ids("eos_token_id")?,
            pad_token_id: f.ids("pad_token_id")?.first().copied(),
            bos_token_id: f.ids("bos_token_id")?.first().copied(),
            decoder_start_token_id: f.ids("decoder_start_token_id")?.first().copied(),
            unsupported,
        };
        if !(cfg.repetition_penalty > 0.0 && cfg.repetition_penalty.is_finite()) {
            return Err(Error::file(source, format!("`repetition_penalty` is {}", cfg.repetition_penalty), "Use a positive repetition_penalty (1.0 switches it off)"));
        }
        if cfg.num_beams == Some(0) {
            return Err(Error::file(source, "`num_beams` is 0", "Use num_beams of 1 (greedy or sampling) or more (beam search)"));
        }
        // `do_sample` with several beams (beam sampling, which Glassbox does not implement) loads:
        // the model can still be inspected, and a run that names one beam or temperature 0 decodes.
        // `Session::plan` refuses it when nothing overrides it.
        Ok(cfg)
    }

    /// Refuses, by name, the first unsupported key ([`REFUSED`]) that a run sampling or not, with
    /// `num_beams` beams, would use: sampling's filters only when sampling, the beam groups'
    /// diversity only with several beams (as transformers 5 ignores them otherwise), the others always.
    pub fn refuse_unsupported(&self, sampling: bool, num_beams: usize) -> Result<()> {
        let acts = |key: &str| match (SAMPLING_ONLY.contains(&key), BEAMS_ONLY.contains(&key)) {
            (true, _) => sampling,
            (_, true) => num_beams > 1,
            _ => true,
        };
        match self.unsupported.iter().find(|(key, _)| acts(key)) {
            None => Ok(()),
            Some((key, v)) => {
                let when = match (SAMPLING_ONLY.contains(key), BEAMS_ONLY.contains(key)) {
                    (true, _) => ", or decode greedily (temperature 0), which does not read it",
                    (_, true) => ", or decode with one beam, which does not read it",
                    _ => "",
                };
                Err(Error::file(
                    self.source,
                    format!("`{key}` is {v}, which changes what is generated and Glassbox does not implement it"),
                    format!("Remove `{key}` (or set it to its neutral value) to generate with this model here{when}. Every view of a single pass works as it is"),
                ))
            }
        }
    }

    /// How many new tokens a run may make after `prefix_len` tokens: `explicit` when given, else
    /// `max_new_tokens`, else `max_length - prefix_len`, else [`DEFAULT_MAX_NEW_TOKENS`].
    pub fn max_new_tokens(&self, explicit: Option<usize>, prefix_len: usize) -> usize {
        explicit.or(self.max_new_tokens).or(self.max_length.map(|m| m.saturating_sub(prefix_len))).unwrap_or(DEFAULT_MAX_NEW_TOKENS)
    }

    /// The sampling the file asks for (greedy unless `do_sample`), with HF's defaults for what it
    /// leaves out (temperature 1, top-k 50, top-p 1).
    pub fn sampling(&self, seed: u64) -> Result<Sampling> {
        if !self.do_sample {
            return Ok(Sampling::Greedy);
        }
        Sampling::new(self.temperature.unwrap_or(1.0), self.top_k.unwrap_or(HF_DEFAULT_TOP_K), self.top_p.unwrap_or(1.0), seed)
    }

    /// Beam settings from the file (width 1 when it says nothing).
    pub fn beam_options(&self, max_new_tokens: usize) -> BeamOptions {
        let mut opts = BeamOptions::new(self.num_beams.unwrap_or(1), max_new_tokens);
        opts.length_penalty = self.length_penalty.unwrap_or(1.0);
        opts.early_stopping = self.early_stopping.unwrap_or_default();
        opts
    }

    /// The rules every step obeys. `eos_override`: an explicit eos id replaces the file's list.
    pub fn rules(&self, eos_override: Option<u32>) -> GenerationRules {
        GenerationRules {
            forced_bos_token_id: self.forced_bos_token_id,
            forced_eos_token_id: self.forced_eos_token_id.clone(),
            no_repeat_ngram_size: self.no_repeat_ngram_size,
            bad_words_ids: self.bad_words_ids.iter().filter(|w| !w.is_empty()).cloned().collect(),
            min_length: self.min_length,
            min_new_tokens: self.min_new_tokens,
            repetition_penalty: self.repetition_penalty,
            eos_token_ids: eos_override.map_or_else(|| self.eos_token_id.clone(), |e| vec![e]),
        }
    }
}

/// Typed access to one JSON object's keys, naming the key and file in errors.
struct Fields<'a> {
    source: &'static str,
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }
    fn bad(&self, key: &str, v: &Value, fix: &str) -> Error {
        Error::file(self.source, format!("`{key}` is {v}, which is not a valid value"), fix)
    }
    fn count(&self, key: &str) -> Result<Option<usize>> {
        self.get(key)
            .map(|v| v.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| self.bad(key, v, "Use a whole number of 0 or more")))
            .transpose()
    }
    fn number(&self, key: &str) -> Result<Option<f64>> {
        self.get(key).map(|v| v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| self.bad(key, v, "Use a number"))).transpose()
    }
    fn flag(&self, key: &str) -> Result<Option<bool>> {
        self.get(key).map(|v| v.as_bool().ok_or_else(|| self.bad(key, v, "Use true or false"))).transpose()
    }
    fn id(&self, key: &str, v: &Value) -> Result<u32> {
        v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| self.bad(key, v, "Use token ids (whole numbers of 0 or more)"))
    }
    /// A token id or a list of them.
    fn ids(&self, key: &str) -> Result<Vec<u32>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(|v| self.id(key, v)).collect(),
            Some(v) => Ok(vec![self.id(key, v)?]),
        }
    }
    /// A list of token id lists.
    fn id_lists(&self, key: &str) -> Result<Vec<Vec<u32>>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(lists)) => lists
                .iter()
                .map(|l| match l {
                    Value::Array(items) => items.iter().map(|v| self.id(key, v)).collect(),
                    other => Err(self.bad(key, other, "Use a list of token id lists, e.g. [[5], [7, 8]]")),
                })
                .collect(),
            Some(v) => Err(self.bad(key, v, "Use a list of token id lists, e.g. [[5], [7, 8]]")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_config_json_wins_over_config_json() {
        let config = br#"{"no_repeat_ngram_size": 3, "eos_token_id": 2}"#;
        let gen = br#"{"repetition_penalty": 1.3, "eos_token_id": [2, 5], "max_length": 9}"#;
        let g = GenerationConfig::from_files(config, Some(gen)).unwrap();
        assert_eq!((g.no_repeat_ngram_size, g.repetition_penalty, g.eos_token_id.clone(), g.max_length), (0, 1.3, vec![2, 5], Some(9)));
        let legacy = GenerationConfig::from_files(config, None).unwrap();
        assert_eq!((legacy.no_repeat_ngram_size, legacy.eos_token_id), (3, vec![2]));
    }

    #[test]
    fn unsupported_keys_are_refused_by_name_when_they_act_and_neutral_values_pass() {
        let g = GenerationConfig::from_files(b"{}", Some(br#"{"typical_p": 0.9}"#)).unwrap();
        let err = g.refuse_unsupported(true, 1).unwrap_err().to_string();
        assert!(err.contains("generation_config.json") && err.contains("typical_p") && err.contains("greedily"), "{err}");
        g.refuse_unsupported(false, 1).expect("HF reads typical_p only when sampling");
        g.refuse_unsupported(false, 4).expect("nor with beams");
        let g = GenerationConfig::from_files(br#"{"suppress_tokens": [1, 2]}"#, None).unwrap();
        let err = g.refuse_unsupported(false, 1).unwrap_err().to_string();
        assert!(err.contains("suppress_tokens"), "{err}");
        let g = GenerationConfig::from_files(b"{}", Some(br#"{"diversity_penalty": 0.5}"#)).unwrap();
        g.refuse_unsupported(true, 1).expect("diversity acts between beam groups only");
        assert!(g.refuse_unsupported(false, 4).unwrap_err().to_string().contains("diversity_penalty"));
        let neutral = GenerationConfig::from_files(b"{}", Some(br#"{"typical_p": 1.0, "suppress_tokens": null, "renormalize_logits": false}"#)).unwrap();
        assert!(neutral.unsupported.is_empty() && neutral.refuse_unsupported(true, 4).is_ok());
        // Beam sampling is refused when a run would use it (Session::plan), not at load.
        let both = GenerationConfig::from_files(b"{}", Some(br#"{"do_sample": true, "num_beams": 4}"#)).unwrap();
        assert!(both.do_sample && both.num_beams == Some(4));
    }

    #[test]
    fn lengths_and_explicit_overrides() {
        let g = GenerationConfig::from_files(b"{}", Some(br#"{"max_length": 12}"#)).unwrap();
        assert_eq!(g.max_new_tokens(None, 5), 7);
        assert_eq!(g.max_new_tokens(Some(3), 5), 3);
        let g = GenerationConfig::from_files(b"{}", Some(br#"{"max_length": 12, "max_new_tokens": 4}"#)).unwrap();
        assert_eq!(g.max_new_tokens(None, 5), 4);
        assert_eq!(GenerationConfig::default().max_new_tokens(None, 5), DEFAULT_MAX_NEW_TOKENS);
        let s = GenerationConfig::from_files(b"{}", Some(br#"{"do_sample": true, "temperature": 0.7}"#)).unwrap().sampling(3).unwrap();
        assert_eq!(s, Sampling::Sample { temperature: 0.7, top_k: HF_DEFAULT_TOP_K, top_p: 1.0, seed: 3 });
    }

    /// A `min_new_tokens` in the settings (0 included) replaces `min_length`, as in HF.
    #[test]
    fn min_new_tokens_replaces_min_length() {
        let both = GenerationConfig::from_files(b"{}", Some(br#"{"min_length": 10, "min_new_tokens": 1}"#)).unwrap();
        assert_eq!((both.min_length, both.min_new_tokens), (0, 1));
        let zero = GenerationConfig::from_files(b"{}", Some(br#"{"min_length": 10, "min_new_tokens": 0}"#)).unwrap();
        assert_eq!((zero.min_length, zero.min_new_tokens), (0, 0));
        let alone = GenerationConfig::from_files(b"{}", Some(br#"{"min_length": 10}"#)).unwrap();
        assert_eq!(alone.min_length, 10);
        let err = GenerationConfig::from_files(b"{}", Some(br#"{"remove_invalid_values": true}"#)).unwrap().refuse_unsupported(false, 1).unwrap_err().to_string();
        assert!(err.contains("remove_invalid_values"), "{err}");
    }
}

//! What transformers 5 changes on top of tokenizer.json when `AutoTokenizer` loads a folder.
//!
//! tokenizer.json alone is what the `tokenizers` library runs. `AutoTokenizer` also reads
//! tokenizer_config.json (and special_tokens_map.json, which wins where both name a role), and
//! that changes ids and decoded text in four ways, each followed here:
//!
//! - **Named tokens are special.** Every token a config names (`bos_token` ... `mask_token`, any
//!   other `*_token` such as `image_token`, and `extra_special_tokens`, formerly
//!   `additional_special_tokens`) becomes a special added token. One that tokenizer.json already
//!   adds keeps its flags and is marked special; one it does not is added (`normalized: false`),
//!   taking its vocabulary id or the next free one. So `hello</s>` splits off `</s>` even when
//!   `</s>` is only a vocabulary entry, and a ChatML `<|im_end|>` named as `eos_token` is skipped
//!   by `decode(.., skip_special_tokens=True)` even when it was added as an ordinary token.
//! - **`added_tokens_decoder`** entries replace tokenizer.json's flags (`special`, `lstrip`,
//!   `rstrip`, `normalized`, `single_word`) for the same token.
//! - **`split_special_tokens: true`** tokenizes special-token text typed by the user as ordinary
//!   text (the template's own special tokens are still added).
//! - **The tokenizer class.** `AutoTokenizer` picks a class from `tokenizer_class` and config.json's
//!   `model_type`; most classes rebuild the pipeline around tokenizer.json's vocabulary, and two
//!   rebuilds differ from what transformers 4 saved:
//!
//!   **`LlamaTokenizer`** (or `LlamaTokenizerFast`) keeps only the vocabulary,
//!   merges, added tokens and post-processor of tokenizer.json and rebuilds the rest the way
//!   transformers 5's Llama tokenizer does: no normalizer, a Metaspace pre-tokenizer that puts `▁`
//!   before the first word only (`legacy: true`: before every piece between added tokens;
//!   `add_prefix_space: false`: never), and a byte-fallback BPE. Files saved by transformers 4
//!   for Llama 2, Mistral or TinyLlama carry an older pipeline (a `Prepend("▁")` normalizer) that
//!   transformers 5 no longer runs: with it, ` hi` and text right after a special token tokenize
//!   differently.
//!
//!   **`T5Tokenizer`** keeps the vocabulary and the Precompiled normaliser, splits on whitespace
//!   before its Metaspace (so a word's offsets no longer take in the space before it), always ends
//!   with `eos_token`, and adds `<extra_id_N>` tokens when the config lists no extra tokens.
//!
//! Other classes' rebuilds give the pipeline their converters wrote into tokenizer.json, so the
//! file is followed as it is for them.

use super::json::AddedTokenJson;
use super::pre_tokenizer::PrependScheme;
use crate::error::{Error, Result};
use serde_json::Value;

/// The roles transformers names first, in its order (new tokens take ids in this order).
const ROLES: [&str; 7] = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

/// The config as transformers 5 reads it. special_tokens_map.json counts only when
/// tokenizer_config.json has no `added_tokens_decoder` (transformers 5 reads the map as a legacy
/// fallback), and then it wins over tokenizer_config.json where both name a role.
pub struct TransformersConfig<'a> {
    config: Option<&'a Value>,
    map: Option<&'a Value>,
    /// config.json's `model_type`, when the tokenizer belongs to a model: it changes which class
    /// `AutoTokenizer` picks.
    model_type: Option<&'a str>,
}

/// The tokenizer class transformers 5 registers for a model type (`TOKENIZER_MAPPING_NAMES`), for
/// Glassbox's families and the Llama-like decoders that use the generic class.
const REGISTERED_CLASSES: &[(&str, &str)] = &[
    ("gpt2", "GPT2Tokenizer"), ("bert", "BertTokenizer"), ("roberta", "RobertaTokenizer"), ("distilbert", "BertTokenizer"),
    ("t5", "T5Tokenizer"), ("mt5", "T5Tokenizer"), ("bart", "RobertaTokenizer"), ("marian", "MarianTokenizer"), ("qwen2", "Qwen2Tokenizer"),
    ("mistral", GENERIC), ("mixtral", GENERIC), ("ministral", GENERIC), ("ministral3", GENERIC), ("mistral3", GENERIC), ("phi3", GENERIC),
    ("phimoe", GENERIC), ("granite", GENERIC), ("granitemoe", GENERIC), ("stablelm", GENERIC), ("olmo2", GENERIC), ("olmo3", GENERIC),
    ("internlm2", GENERIC), ("internlm3", GENERIC), ("nemotron", GENERIC), ("persimmon", GENERIC), ("jamba", GENERIC), ("umt5", GENERIC),
];
const GENERIC: &str = "TokenizersBackend";

fn is_generic(class: &str) -> bool {
    matches!(class, "TokenizersBackend" | "PreTrainedTokenizer" | "PythonBackend")
}

/// A pipeline transformers 5 builds in place of tokenizer.json's (see the module comment).
pub enum ClassRebuild {
    Llama(LlamaRebuild),
    T5,
}

/// transformers 5's `LlamaTokenizer` pipeline around tokenizer.json's vocabulary and merges: no
/// normaliser, `Metaspace("▁", prepend_scheme, split: false)`, byte-fallback BPE without an unk
/// token, and a decoder that undoes it (stripping the leading space when one was prepended).
pub struct LlamaRebuild {
    pub prepend_scheme: PrependScheme,
    pub strip_leading_space: bool,
}

impl<'a> TransformersConfig<'a> {
    pub fn new(config: Option<&'a Value>, map: Option<&'a Value>, model_type: Option<&'a str>) -> Self {
        let has_decoder = config.is_some_and(|c| c.get("added_tokens_decoder").is_some_and(|d| !d.is_null()));
        TransformersConfig { config, map: if has_decoder { None } else { map }, model_type }
    }

    /// The files that name special tokens, the one that wins first.
    pub fn sources(&self) -> impl Iterator<Item = &'a Value> {
        [self.map, self.config].into_iter().flatten()
    }

    /// The value of `key`, from the file that wins.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.sources().find_map(|c| c.get(key).filter(|v| !v.is_null()))
    }

    fn flag(&self, key: &str) -> Result<Option<bool>> {
        match self.config.and_then(|c| c.get(key)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Error::file(
                "tokenizer_config.json",
                format!("`{key}` is {other}, not true or false"),
                format!("Set `{key}` to true or false (or remove it for transformers' default)"),
            )),
        }
    }

    /// `split_special_tokens`: special-token text in the input is tokenized as ordinary text.
    pub fn split_special_tokens(&self) -> Result<bool> {
        Ok(self.flag("split_special_tokens")?.unwrap_or(false))
    }

    /// `clean_up_tokenization_spaces`, and whether it also applies to BPE models (transformers
    /// skips it for them unless the long-named key forces it).
    pub fn clean_up_spaces(&self) -> Result<(bool, bool)> {
        let clean = self.flag("clean_up_tokenization_spaces")?.unwrap_or(false);
        let for_bpe = self.flag("clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output")?.unwrap_or(false);
        Ok((clean, for_bpe))
    }

    /// The class `AutoTokenizer` loads, as transformers 5 resolves it (`None`: the generic one,
    /// which runs tokenizer.json as it is). The config's `tokenizer_class` wins, except where the
    /// model type registers another class: then the generic one (Mistral, Phi-3, ...), or the
    /// registered one for types transformers knows to carry a wrong class (Qwen2). A byte-level
    /// tokenizer.json (Llama 3 style; transformers looks for `"ByteLevel"` in the text) under
    /// `LlamaTokenizer` is loaded as it is.
    fn resolved_class(&self, file_text: &[u8]) -> Option<&'a str> {
        let named = self.config.and_then(|c| c.get("tokenizer_class")).and_then(Value::as_str);
        let named = named.map(|c| c.strip_suffix("Fast").unwrap_or(c));
        let registered = self.model_type.and_then(|t| REGISTERED_CLASSES.iter().find(|(k, _)| *k == t)).map(|(_, c)| *c);
        let wrong_on_hub = self.model_type == Some("qwen2");
        if named == Some("LlamaTokenizer") && !wrong_on_hub {
            let byte_level = file_text.windows(b"\"ByteLevel\"".len()).any(|w| w == b"\"ByteLevel\"");
            if byte_level {
                return None;
            }
        }
        let class = match (named, registered) {
            (Some(named), Some(registered)) if named != registered => {
                if is_generic(registered) {
                    return None;
                }
                if wrong_on_hub { registered } else { named }
            }
            (Some(named), _) => named,
            (None, registered) => registered?,
        };
        (!is_generic(class)).then_some(class)
    }

    /// The pipeline transformers 5 builds in place of tokenizer.json's, if it does for this
    /// tokenizer's class and differently from what the file says; `model_kind` is the file's.
    pub fn class_rebuild(&self, file_text: &[u8], model_kind: &str) -> Result<Option<ClassRebuild>> {
        let Some(class @ ("LlamaTokenizer" | "T5Tokenizer")) = self.resolved_class(file_text) else {
            return Ok(None);
        };
        let wanted = if class == "T5Tokenizer" { "Unigram" } else { "BPE" };
        if model_kind != wanted {
            return Err(Error::tokenizer(
                format!("transformers 5 loads this tokenizer as `{class}` (tokenizer_class in tokenizer_config.json, or the model's type), which rebuilds a {wanted} model, but tokenizer.json holds a {model_kind} model"),
                "Set `tokenizer_class` to `TokenizersBackend` in tokenizer_config.json so tokenizer.json is used as it is",
            ));
        }
        if class == "T5Tokenizer" {
            return Ok(Some(ClassRebuild::T5));
        }
        let add_prefix_space = self.flag("add_prefix_space")?.unwrap_or(true);
        let legacy = self.flag("legacy")?.unwrap_or(false);
        let prepend_scheme = match (add_prefix_space, legacy) {
            (false, _) => PrependScheme::Never,
            (true, false) => PrependScheme::First,
            (true, true) => PrependScheme::Always,
        };
        Ok(Some(ClassRebuild::Llama(LlamaRebuild { prepend_scheme, strip_leading_space: add_prefix_space })))
    }

    /// The eos token's text as the config names it (T5's template ends with it).
    pub fn eos_token(&self) -> Option<&'a str> {
        let v = self.get("eos_token")?;
        v.as_str().or_else(|| v.get("content").and_then(Value::as_str))
    }

    /// tokenizer.json's added tokens followed by what transformers 5 adds or changes after
    /// loading it, in its order. A later entry for the same content replaces the earlier one's
    /// flags (and, as in `tokenizers`, a token once special stays special).
    ///
    /// transformers re-adds the config's `added_tokens_decoder` if it has one, else tokenizer.json's
    /// own added tokens; each of those a config names becomes special. Then each named or extra
    /// token that is not an added token yet is added.
    ///
    /// `t5` adds T5Tokenizer's sentinels: `<extra_id_0>` ... up to `extra_ids` (default 100) when
    /// the config has no `extra_special_tokens` and its `additional_special_tokens` hold none.
    pub fn added_tokens(&self, from_file: &[AddedTokenJson], t5: bool) -> Result<Vec<AddedTokenJson>> {
        let mut re_added: Vec<AddedTokenJson> = match self.config.and_then(|c| c.get("added_tokens_decoder")).filter(|d| !d.is_null()) {
            None => from_file.to_vec(),
            Some(Value::Object(decoder)) => {
                let mut tokens = Vec::with_capacity(decoder.len());
                for (index, v) in decoder {
                    let token = token_from_value(v, false).filter(|_| v.is_object()).ok_or_else(|| {
                        Error::file(
                            "tokenizer_config.json",
                            format!("added_tokens_decoder entry {index:?} is {}, not a token with a `content` string", short(v)),
                            "Give each entry a `content` (transformers writes them so), or remove the key",
                        )
                    })?;
                    tokens.push((index.len(), token));
                }
                // In id order, as transformers adds them: the map's keys come sorted as text, and
                // numbers without leading zeros sort as text within one length.
                let longest = tokens.iter().map(|(len, _)| *len).max().unwrap_or(0);
                (1..=longest).flat_map(|len| tokens.iter().filter(move |(l, _)| *l == len).map(|(_, t)| t.clone())).collect()
            }
            Some(other) => {
                return Err(Error::file(
                    "tokenizer_config.json",
                    format!("`added_tokens_decoder` is {}, not a map from ids to tokens", short(other)),
                    "Remove the key (tokenizer.json's added tokens are used) or re-save the tokenizer",
                ))
            }
        };

        // Named tokens: the roles and any other `*_token` key; extra tokens are special too but
        // not "named" (an extra one that is already added keeps its flags).
        let mut named: Vec<&Value> = ROLES.iter().filter_map(|k| self.get(k)).collect();
        let mut other_keys: Vec<&String> = Vec::new();
        for key in self.sources().filter_map(Value::as_object).flat_map(|o| o.keys()) {
            if key.ends_with("_token") && !ROLES.contains(&key.as_str()) && !other_keys.contains(&key) {
                other_keys.push(key);
            }
        }
        named.extend(other_keys.into_iter().filter_map(|k| self.get(k)).filter(|v| is_token_value(v)));
        let mut extra: Vec<&Value> = match self.get("extra_special_tokens").or_else(|| self.get("additional_special_tokens")) {
            None => vec![],
            Some(Value::Array(items)) => items.iter().collect(),
            // transformers 5 also takes a map of named extra tokens ({"image_token": "<image>"}).
            Some(Value::Object(items)) => {
                named.extend(items.values());
                vec![]
            }
            Some(other) => {
                return Err(Error::file(
                    "tokenizer_config.json",
                    format!("`extra_special_tokens` is {}, not a list of tokens", short(other)),
                    "Make it a list of token strings, or remove it",
                ))
            }
        };
        let sentinels: Vec<Value> = if t5 && self.get("extra_special_tokens").is_none() && !extra.iter().any(|v| v.as_str().is_some_and(|s| s.contains("<extra_id_"))) {
            let count = self.config.and_then(|c| c.get("extra_ids")).and_then(Value::as_u64).unwrap_or(100).min(crate::loader::limits::MAX_ADDED_TOKENS as u64);
            (0..count).map(|i| Value::String(format!("<extra_id_{i}>"))).collect()
        } else {
            vec![]
        };
        extra.extend(&sentinels);
        // What counts as added is fixed before the loop: two names for one new token both add it,
        // and the later one's flags win.
        let known: std::collections::HashSet<String> = from_file.iter().chain(&re_added).map(|t| t.content.clone()).collect();
        let mut new_tokens = Vec::new();
        let mut named_contents = Vec::with_capacity(named.len());
        for v in named.iter().chain(&extra) {
            let Some(token) = token_from_value(v, true) else {
                return Err(Error::file(
                    "tokenizer_config.json",
                    format!("a special token is {}, not a token string", short(v)),
                    "Name tokens as strings (or objects with a `content` string), or remove the entry",
                ));
            };
            let is_named = !extra.iter().any(|e| std::ptr::eq(*e, *v));
            if is_named {
                named_contents.push(token.content.clone());
            }
            if !token.content.is_empty() && !known.contains(&token.content) {
                new_tokens.push(token);
            }
        }
        re_added.extend(new_tokens);
        for t in &mut re_added {
            if named_contents.contains(&t.content) {
                t.special = true;
            }
        }
        let mut list = from_file.to_vec();
        list.extend(re_added.into_iter().filter(|t| !t.content.is_empty()));
        Ok(list)
    }
}

/// A string, or an object with a string `content` (an `AddedToken` as transformers saves it).
fn is_token_value(v: &Value) -> bool {
    v.is_string() || v.get("content").is_some_and(Value::is_string)
}

/// A token named in a config: a plain string is special and `normalized: false`; an object
/// gives its own flags (`special` defaulting to `special_by_default`, `normalized` to the
/// opposite of `special`, as transformers' `AddedToken` does). `None` if it is neither.
fn token_from_value(v: &Value, special_by_default: bool) -> Option<AddedTokenJson> {
    match v {
        Value::String(s) => Some(AddedTokenJson { content: s.clone(), single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }),
        Value::Object(o) => {
            let content = o.get("content").and_then(Value::as_str)?;
            let flag = |k: &str, default: bool| o.get(k).and_then(Value::as_bool).unwrap_or(default);
            let special = flag("special", special_by_default);
            Some(AddedTokenJson {
                content: content.to_string(),
                single_word: flag("single_word", false),
                lstrip: flag("lstrip", false),
                rstrip: flag("rstrip", false),
                normalized: flag("normalized", !special),
                special,
            })
        }
        _ => None,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 40 { s } else { format!("{}...", s.chars().take(40).collect::<String>()) }
}

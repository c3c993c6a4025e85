//! The shape of `tokenizer.json` (as written by Hugging Face `tokenizers`), read with serde.
//!
//! Each pipeline component is kept as a raw JSON value here and turned into our own type by
//! its stage's `from_json`, so an unsupported `type` gets an error naming it and listing what
//! we do support, rather than serde's generic "unknown variant".

use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct TokenizerJson {
    #[serde(default)]
    pub added_tokens: Vec<AddedTokenJson>,
    #[serde(default)]
    pub normalizer: Option<Value>,
    #[serde(default)]
    pub pre_tokenizer: Option<Value>,
    pub model: Value,
    #[serde(default)]
    pub post_processor: Option<Value>,
    #[serde(default)]
    pub decoder: Option<Value>,
    /// Set by [`super::slow::tokenizer_json`] (the slow files it was written from): the folder's
    /// tokenizer class must then supply the whole pipeline, as transformers builds it from them.
    #[serde(default)]
    pub slow_files: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AddedTokenJson {
    // `id` is not read: as in HF, ids come from the model's vocabulary or the next free slot.
    pub content: String,
    #[serde(default)]
    pub single_word: bool,
    #[serde(default)]
    pub lstrip: bool,
    #[serde(default)]
    pub rstrip: bool,
    #[serde(default = "yes")]
    pub normalized: bool,
    #[serde(default)]
    pub special: bool,
}

fn yes() -> bool {
    true
}

pub fn parse(bytes: &[u8]) -> Result<TokenizerJson> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::file("tokenizer.json", "is empty", "Pass the tokenizer.json saved with the model (tokenizer.save_pretrained writes it)"));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        Error::file(
            "tokenizer.json",
            format!("is not a valid tokenizer file ({e})"),
            "Pass the tokenizer.json written by Hugging Face `tokenizers` (it needs at least a `model` object)",
        )
    })
}

/// The `type` field of a component, or an error naming where it is missing.
pub fn type_of<'a>(v: &'a Value, section: &str) -> Result<&'a str> {
    v.get("type").and_then(Value::as_str).ok_or_else(|| {
        Error::tokenizer(format!("the `{section}` object has no `type` field"), "Re-save the tokenizer with a recent `tokenizers` release")
    })
}

/// Deserialize one component's fields into `T`, naming the component on failure.
pub fn fields<T: serde::de::DeserializeOwned>(v: &Value, section: &str, kind: &str) -> Result<T> {
    T::deserialize(v).map_err(|e| {
        Error::tokenizer(format!("{section} `{kind}` has unexpected fields ({e})"), "Re-save the tokenizer with a recent `tokenizers` release")
    })
}

/// Like [`fields`], but consuming the value so large vocabularies are moved rather than copied.
pub fn fields_owned<T: serde::de::DeserializeOwned>(v: Value, section: &str, kind: &str) -> Result<T> {
    serde_json::from_value(v).map_err(|e| {
        Error::tokenizer(format!("{section} `{kind}` has unexpected fields ({e})"), "Re-save the tokenizer with a recent `tokenizers` release")
    })
}

pub fn unsupported(section: &str, kind: &str, supported: &str) -> Error {
    Error::tokenizer(
        format!("{section} type `{kind}` is not supported"),
        format!("Supported {section} types: {supported}"),
    )
}

/// A list of components inside a `Sequence`.
pub fn list<'a>(v: &'a Value, key: &str, section: &str) -> Result<&'a Vec<Value>> {
    v.get(key).and_then(Value::as_array).ok_or_else(|| {
        Error::tokenizer(format!("{section} `Sequence` has no `{key}` list"), "Re-save the tokenizer with a recent `tokenizers` release")
    })
}

/// A `{"String": ..}` or `{"Regex": ..}` pattern (Split, Replace).
#[derive(Debug, Clone, Deserialize)]
pub enum PatternJson {
    String(String),
    Regex(String),
}

/// Build the regex of a pattern; plain strings are matched literally.
pub fn compile_pattern(p: &PatternJson, section: &str) -> Result<super::pattern::Pattern> {
    use super::pattern::{Pattern, PatternError};
    let source = match p {
        PatternJson::String(s) => return Ok(Pattern::literal(s)),
        PatternJson::Regex(r) => r,
    };
    Pattern::new(source).map_err(|e| match e {
        PatternError::UnicodeClass(class) => Error::tokenizer(
            format!("{section} pattern `{source}` uses the Unicode class `{class}`, which Glassbox does not carry"),
            "Use general categories (\\p{L}, \\p{N}, \\p{Lu}, ...), \\s, \\w, \\d; scripts, ages and boolean properties are not built in",
        ),
        PatternError::Syntax(why) => Error::tokenizer(
            format!("{section} pattern `{source}` is not a regex we can compile ({why})"),
            "Use the syntax tokenizer patterns use: classes, \\p{..} general categories, groups, (?i:...), quantifiers, anchors, lookaround",
        ),
    })
}

/// id -> token of a vocabulary object, refusing two tokens with one id: which of them an id decodes to
/// would depend on hash order (Hugging Face's own reverse map has the same ambiguity), so a
/// vocabulary with duplicate ids is refused rather than resolved differently from run to run.
pub fn reverse_vocab(vocab: &std::collections::HashMap<String, u32>, model: &str) -> Result<std::collections::HashMap<u32, String>> {
    let mut by_id: std::collections::HashMap<u32, String> = std::collections::HashMap::with_capacity(vocab.len());
    let mut clash: Option<(u32, String, String)> = None;
    for (token, &id) in vocab {
        if let Some(other) = by_id.insert(id, token.clone()) {
            let (a, b) = if other < *token { (other, token.clone()) } else { (token.clone(), other) };
            // The smallest clashing id, so the message is the same on every run.
            if clash.as_ref().is_none_or(|(c, _, _)| id < *c) {
                clash = Some((id, a, b));
            }
        }
    }
    match clash {
        None => Ok(by_id),
        Some((id, a, b)) => Err(Error::tokenizer(
            format!("{model} vocab gives id {id} to two tokens, {a:?} and {b:?}, so decoding {id} would be ambiguous"),
            "Give every token of the vocab its own id (re-save the tokenizer with `tokenizers`)",
        )),
    }
}

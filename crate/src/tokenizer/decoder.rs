//! Decoders: turn vocabulary strings back into text (undo byte-level chars, `##`, `▁`, byte
//! tokens). Each works on the whole list of token strings, like HF's `decode_chain`.

use super::json::{self, PatternJson};
use super::normalized::regex_matches;
use super::pre_tokenizer::{char_to_byte, PrependScheme};
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

const SUPPORTED: &str = "ByteLevel, WordPiece, Metaspace, BPEDecoder, ByteFallback, Fuse, Strip, Replace, CTC, Sequence";

#[derive(Debug, Clone)]
pub enum Decoder {
    ByteLevel,
    WordPiece { prefix: String, cleanup: bool },
    Metaspace { replacement: char, prepend_scheme: PrependScheme },
    Bpe { suffix: String },
    ByteFallback,
    Fuse,
    Strip { content: char, start: usize, stop: usize },
    Replace { pattern: super::pattern::Pattern, content: String },
    Ctc { pad_token: String, word_delimiter_token: String, cleanup: bool },
    Sequence(Vec<Decoder>),
}

impl Decoder {
    pub fn from_json(v: &Value) -> Result<Self> {
        let kind = json::type_of(v, "decoder")?;
        let s = |key: &str, default: &str| v.get(key).and_then(Value::as_str).unwrap_or(default).to_string();
        let f = |key: &str, default: bool| v.get(key).and_then(Value::as_bool).unwrap_or(default);
        let c = |key: &str, default: char| {
            let text = s(key, "");
            let mut it = text.chars();
            match (it.next(), it.next()) {
                (None, _) => Ok(default),
                (Some(ch), None) => Ok(ch),
                _ => Err(Error::tokenizer(format!("decoder `{kind}` field `{key}` must be one character, got {text:?}"), "Fix the decoder in tokenizer.json")),
            }
        };
        Ok(match kind {
            "ByteLevel" => Decoder::ByteLevel,
            "WordPiece" => Decoder::WordPiece { prefix: s("prefix", "##"), cleanup: f("cleanup", true) },
            "Metaspace" => {
                let mut prepend_scheme = match v.get("prepend_scheme").and_then(Value::as_str) {
                    Some("first") => PrependScheme::First,
                    Some("never") => PrependScheme::Never,
                    _ => PrependScheme::Always,
                };
                if v.get("add_prefix_space").and_then(Value::as_bool) == Some(false) {
                    prepend_scheme = PrependScheme::Never;
                }
                Decoder::Metaspace { replacement: c("replacement", '▁')?, prepend_scheme }
            }
            "BPEDecoder" => Decoder::Bpe { suffix: s("suffix", "</w>") },
            "ByteFallback" => Decoder::ByteFallback,
            "Fuse" => Decoder::Fuse,
            "Strip" => {
                let n = |key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0) as usize;
                Decoder::Strip { content: c("content", ' ')?, start: n("start"), stop: n("stop") }
            }
            "Replace" => {
                #[derive(Deserialize)]
                struct R {
                    pattern: PatternJson,
                    content: String,
                }
                let r: R = json::fields(v, "decoder", kind)?;
                Decoder::Replace { pattern: json::compile_pattern(&r.pattern, "decoder Replace")?, content: r.content }
            }
            "CTC" => Decoder::Ctc { pad_token: s("pad_token", "<pad>"), word_delimiter_token: s("word_delimiter_token", "|"), cleanup: f("cleanup", true) },
            "Sequence" => {
                let items = json::list(v, "decoders", "decoder")?;
                Decoder::Sequence(items.iter().map(Decoder::from_json).collect::<Result<_>>()?)
            }
            other => return Err(json::unsupported("decoder", other, SUPPORTED)),
        })
    }

    pub fn decode(&self, tokens: Vec<String>) -> Result<String> {
        Ok(self.decode_chain(tokens)?.concat())
    }

    fn decode_chain(&self, tokens: Vec<String>) -> Result<Vec<String>> {
        Ok(match self {
            Decoder::ByteLevel => {
                let mut bytes = Vec::new();
                for t in &tokens {
                    let mapped: Option<Vec<u8>> = t.chars().map(char_to_byte).collect();
                    match mapped {
                        Some(b) => bytes.extend(b),
                        // A token that is not byte-level text (an added token) is kept as is.
                        None => bytes.extend(t.as_bytes()),
                    }
                }
                vec![String::from_utf8_lossy(&bytes).into_owned()]
            }
            Decoder::WordPiece { prefix, cleanup } => tokens
                .into_iter()
                .enumerate()
                .map(|(i, t)| {
                    let t = if i == 0 {
                        t
                    } else if let Some(rest) = t.strip_prefix(prefix.as_str()) {
                        rest.to_string()
                    } else {
                        format!(" {t}")
                    };
                    if *cleanup {
                        cleanup_wordpiece(&t)
                    } else {
                        t
                    }
                })
                .collect(),
            Decoder::Metaspace { replacement, prepend_scheme } => tokens
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    t.chars()
                        .filter_map(|ch| {
                            if ch == *replacement {
                                if i == 0 && *prepend_scheme != PrependScheme::Never {
                                    None
                                } else {
                                    Some(' ')
                                }
                            } else {
                                Some(ch)
                            }
                        })
                        .collect()
                })
                .collect(),
            Decoder::Bpe { suffix } => {
                let n = tokens.len();
                tokens.into_iter().enumerate().map(|(i, t)| t.replace(suffix.as_str(), if i + 1 == n { "" } else { " " })).collect()
            }
            Decoder::ByteFallback => {
                let mut out = Vec::with_capacity(tokens.len());
                let mut pending: Vec<u8> = vec![];
                let flush = |pending: &mut Vec<u8>, out: &mut Vec<String>| {
                    if pending.is_empty() {
                        return;
                    }
                    match String::from_utf8(pending.clone()) {
                        Ok(s) => out.push(s),
                        Err(_) => out.extend(std::iter::repeat_n("\u{fffd}".to_string(), pending.len())),
                    }
                    pending.clear();
                };
                for t in tokens {
                    match super::byte_piece(&t) {
                        Some(b) => pending.push(b),
                        None => {
                            flush(&mut pending, &mut out);
                            out.push(t);
                        }
                    }
                }
                flush(&mut pending, &mut out);
                out
            }
            Decoder::Fuse => vec![tokens.concat()],
            Decoder::Strip { content, start, stop } => tokens
                .into_iter()
                .map(|t| {
                    let chars: Vec<char> = t.chars().collect();
                    let mut a = 0;
                    for (i, ch) in chars.iter().enumerate().take(*start) {
                        if ch != content {
                            break;
                        }
                        a = i + 1;
                    }
                    let mut b = chars.len();
                    for i in 0..(*stop).min(chars.len()) {
                        let idx = chars.len() - i - 1;
                        if chars[idx] != *content {
                            break;
                        }
                        b = idx;
                    }
                    if a >= b {
                        String::new()
                    } else {
                        chars[a..b].iter().collect()
                    }
                })
                .collect(),
            Decoder::Replace { pattern, content } => tokens
                .into_iter()
                .map(|t| {
                    let matches = regex_matches(&t, pattern)?;
                    let grown: usize = matches.iter().map(|&((s, e), m)| if m { content.len() } else { e - s }).sum();
                    crate::loader::limits::check_growth("the decoder Replace", t.len(), grown)?;
                    let mut out = String::with_capacity(grown);
                    for ((s, e), m) in matches {
                        if m {
                            out.push_str(content);
                        } else {
                            out.push_str(&t[s..e]);
                        }
                    }
                    Ok(out)
                })
                .collect::<Result<_>>()?,
            Decoder::Ctc { pad_token, word_delimiter_token, cleanup } => {
                let mut out = vec![];
                let mut last: Option<String> = None;
                for t in tokens {
                    if last.as_ref() == Some(&t) {
                        continue;
                    }
                    last = Some(t.clone());
                    let mut r = t.replace(pad_token.as_str(), "");
                    if *cleanup {
                        r = cleanup_wordpiece(&r).replace(word_delimiter_token.as_str(), " ");
                    }
                    if !r.is_empty() {
                        out.push(r);
                    }
                }
                out
            }
            Decoder::Sequence(items) => items.iter().try_fold(tokens, |t, d| d.decode_chain(t))?,
        })
    }
}

/// The WordPiece decoder's clean-up of spaces before punctuation and contractions.
fn cleanup_wordpiece(s: &str) -> String {
    s.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" do not", " don't")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

/// transformers' `clean_up_tokenization` (applied after decoding when tokenizer_config.json
/// sets `clean_up_tokenization_spaces`).
pub fn clean_up_tokenization(s: &str) -> String {
    s.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

//! Normalisers: rewrite the text before it is split (clean-up, Unicode forms, case, accents,
//! SentencePiece's precompiled character map).

use super::charsmap::CharsMap;
use super::json::{self, PatternJson};
use super::normalized::{regex_matches, NormalizedString};
use super::pre_tokenizer::BYTES_CHAR;
use crate::error::Result;
use crate::loader::limits;
use serde::Deserialize;
use serde_json::Value;
use super::unicode::hf_lists;
use unicode_segmentation::UnicodeSegmentation;

const SUPPORTED: &str = "BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Replace, Prepend, Precompiled, Nmt, ByteLevel, Sequence";

#[derive(Debug, Clone)]
pub enum Normalizer {
    Bert { clean_text: bool, handle_chinese_chars: bool, strip_accents: bool, lowercase: bool },
    Nfc,
    Nfd,
    Nfkc,
    Nfkd,
    Lowercase,
    StripAccents,
    Strip { left: bool, right: bool },
    Replace { pattern: super::pattern::Pattern, content: String },
    Prepend(String),
    /// SentencePiece's normalisation rules, compiled into a character map.
    Precompiled(Box<CharsMap>),
    Nmt,
    ByteLevel,
    Sequence(Vec<Normalizer>),
}

impl Normalizer {
    pub fn from_json(v: &Value) -> Result<Self> {
        let kind = json::type_of(v, "normalizer")?;
        let f = |key: &str, default: bool| v.get(key).and_then(Value::as_bool).unwrap_or(default);
        Ok(match kind {
            "BertNormalizer" => {
                let lowercase = f("lowercase", true);
                Normalizer::Bert {
                    clean_text: f("clean_text", true),
                    handle_chinese_chars: f("handle_chinese_chars", true),
                    // `null` means: strip accents exactly when lowercasing (as BERT uncased does).
                    strip_accents: v.get("strip_accents").and_then(Value::as_bool).unwrap_or(lowercase),
                    lowercase,
                }
            }
            "NFC" => Normalizer::Nfc,
            "NFD" => Normalizer::Nfd,
            "NFKC" => Normalizer::Nfkc,
            "NFKD" => Normalizer::Nfkd,
            "Lowercase" => Normalizer::Lowercase,
            "StripAccents" => Normalizer::StripAccents,
            "Nmt" => Normalizer::Nmt,
            "ByteLevel" => Normalizer::ByteLevel,
            "Strip" => Normalizer::Strip { left: f("strip_left", true), right: f("strip_right", true) },
            "Replace" => {
                #[derive(Deserialize)]
                struct R {
                    pattern: PatternJson,
                    content: String,
                }
                let r: R = json::fields(v, "normalizer", kind)?;
                Normalizer::Replace { pattern: json::compile_pattern(&r.pattern, "normalizer Replace")?, content: r.content }
            }
            "Prepend" => {
                #[derive(Deserialize)]
                struct P {
                    prepend: String,
                }
                Normalizer::Prepend(json::fields::<P>(v, "normalizer", kind)?.prepend)
            }
            "Precompiled" => {
                #[derive(Deserialize)]
                struct P {
                    precompiled_charsmap: Option<String>,
                }
                let p: P = json::fields(v, "normalizer", kind)?;
                match p.precompiled_charsmap {
                    // An empty map normalises nothing (some converted tokenizers carry one).
                    None => Normalizer::Sequence(vec![]),
                    Some(s) if s.is_empty() => Normalizer::Sequence(vec![]),
                    Some(s) => Normalizer::Precompiled(Box::new(CharsMap::from_base64(&s)?)),
                }
            }
            "Sequence" => {
                let items = json::list(v, "normalizers", "normalizer")?;
                Normalizer::Sequence(items.iter().map(Normalizer::from_json).collect::<Result<_>>()?)
            }
            other => return Err(json::unsupported("normalizer", other, SUPPORTED)),
        })
    }

    /// Normalise `s` in place. Every step that can grow the text is checked against
    /// [`limits::max_normalized_len`] of the piece's original text, before it allocates when the
    /// growth is known in advance (Replace, Prepend) and after the step otherwise.
    pub fn normalize(&self, s: &mut NormalizedString) -> Result<()> {
        self.normalize_step(s)?;
        limits::check_growth("the normalizer", s.original_len(), s.len())
    }

    fn normalize_step(&self, s: &mut NormalizedString) -> Result<()> {
        match self {
            Normalizer::Bert { clean_text, handle_chinese_chars, strip_accents, lowercase } => {
                if *clean_text {
                    s.filter(|c| !(c == '\0' || c == '\u{fffd}' || bert_is_control(c)));
                    s.map(|c| if bert_is_whitespace(c) { ' ' } else { c });
                }
                if *handle_chinese_chars {
                    let mut t = Vec::with_capacity(s.len());
                    for c in s.get().chars() {
                        if is_chinese_char(c) {
                            t.extend([(' ', 0), (c, 1), (' ', 1)]);
                        } else {
                            t.push((c, 0));
                        }
                    }
                    s.transform(&t, 0);
                }
                if *strip_accents {
                    s.nfd();
                    s.filter(|c| !hf_lists::is_mark_nonspacing(c));
                }
                if *lowercase {
                    s.lowercase();
                }
            }
            Normalizer::Nfc => s.nfc(),
            Normalizer::Nfd => s.nfd(),
            Normalizer::Nfkc => s.nfkc(),
            Normalizer::Nfkd => s.nfkd(),
            Normalizer::Lowercase => s.lowercase(),
            Normalizer::StripAccents => s.filter(|c| !unicode_normalization_alignments::char::is_combining_mark(c)),
            Normalizer::Strip { left, right } => s.strip(*left, *right),
            Normalizer::Replace { pattern, content } => {
                let m = regex_matches(s.get(), pattern)?;
                let grown: usize = m.iter().map(|&((a, b), hit)| if hit { content.len() } else { b - a }).sum();
                limits::check_growth("the normalizer Replace", s.original_len(), grown)?;
                s.replace(&m, content);
            }
            Normalizer::Prepend(p) => {
                if !s.is_empty() {
                    limits::check_growth("the normalizer Prepend", s.original_len(), s.len().saturating_add(p.len()))?;
                    s.prepend(p);
                }
            }
            Normalizer::Precompiled(map) => precompiled(map, s)?,
            Normalizer::Nmt => {
                s.filter(|c| !matches!(c as u32, 0x1..=0x8 | 0xB | 0xE..=0x1F | 0x7F | 0x8F | 0x9F));
                s.map(|c| match c as u32 {
                    0x9 | 0xA | 0xC | 0xD | 0x1680 | 0x200B..=0x200F | 0x2028 | 0x2029 | 0x2581 | 0xFEFF | 0xFFFD => ' ',
                    _ => c,
                });
            }
            Normalizer::ByteLevel => {
                if !s.is_empty() {
                    let t: Vec<(char, isize)> = s
                        .get()
                        .chars()
                        .flat_map(|c| {
                            let mut buf = [0u8; 4];
                            let bytes = c.encode_utf8(&mut buf).as_bytes().to_vec();
                            bytes.into_iter().enumerate().map(|(i, b)| (BYTES_CHAR[b as usize], isize::from(i > 0)))
                        })
                        .collect();
                    s.transform(&t, 0);
                }
            }
            Normalizer::Sequence(items) => {
                for n in items {
                    n.normalize(s)?;
                }
            }
        }
        Ok(())
    }

    /// Normalise a standalone string (used for added tokens marked `normalized`).
    pub fn normalize_str(&self, text: &str) -> Result<String> {
        let mut s = NormalizedString::new(text);
        self.normalize(&mut s)?;
        Ok(s.get().to_string())
    }
}

/// Apply SentencePiece's character map grapheme by grapheme, as HF does: a whole grapheme of
/// fewer than 6 bytes is looked up first, then each of its chars.
fn precompiled(map: &CharsMap, s: &mut NormalizedString) -> Result<()> {
    let mut t: Vec<(char, isize)> = Vec::with_capacity(s.len());
    let mut modified = false;
    // A crafted map can rewrite one character into megabytes: the growth is checked as the text is built.
    let max_chars = limits::max_normalized_len(s.original_len());
    for grapheme in s.get().graphemes(true) {
        if t.len() > max_chars {
            return limits::check_growth("the normalizer Precompiled", s.original_len(), t.len());
        }
        if grapheme.len() < 6 {
            if let Some(norm) = map.transform(grapheme) {
                modified = true;
                replace_part(&mut t, grapheme, norm);
                continue;
            }
        }
        for (i, c) in grapheme.char_indices() {
            let part = &grapheme[i..i + c.len_utf8()];
            match map.transform(part) {
                Some(norm) => {
                    modified = true;
                    replace_part(&mut t, part, norm);
                }
                None => t.push((c, 0)),
            }
        }
    }
    if modified {
        s.transform(&t, 0);
    }
    Ok(())
}

/// Changes for replacing `old` by `new`: extra chars are insertions, missing ones are removals
/// charged to the last char written.
fn replace_part(t: &mut Vec<(char, isize)>, old: &str, new: &str) {
    let diff = new.chars().count() as isize - old.chars().count() as isize;
    t.extend(new.chars().map(|c| (c, 0)));
    if diff > 0 {
        for x in t.iter_mut().rev().take(diff as usize) {
            x.1 = 1;
        }
    } else if diff < 0 {
        if let Some(x) = t.last_mut() {
            x.1 += diff;
        }
    }
}

fn bert_is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn bert_is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && hf_lists::is_other(c)
}

fn is_chinese_char(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B920..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

//! Pre-tokenisers: cut the normalised text into words that the model tokenises one by one.

use super::json::{self, PatternJson};
use super::normalized::{char_matches, invert, regex_matches, Matches, NormalizedString, SplitBehavior};
use super::Piece;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;
use super::unicode::{general_category, hf_lists, Category};

/// HF's Whitespace pre-tokenizer, `\w+|[^\w\s]+`, is compiled by Rust's regex crate, whose `\w` is
/// Unicode's, where patterns in tokenizer.json go through Oniguruma (our `\w`, see
/// `pattern::is_word_char`): Unicode's takes ZWNJ and ZWJ and leaves out Latin-1's number signs
/// `² ³ ¹ ¼ ½ ¾`, so the pattern spells that difference out.
const WHITESPACE_PATTERN: &str = "(?:[^\\W\u{b2}\u{b3}\u{b9}\u{bc}-\u{be}]|[\u{200c}\u{200d}])+|(?:[^\\w\\s\u{200c}\u{200d}]|[\u{b2}\u{b3}\u{b9}\u{bc}-\u{be}])+";

const SUPPORTED: &str = "ByteLevel, BertPreTokenizer, Whitespace, WhitespaceSplit, Metaspace, Split, Punctuation, Digits, CharDelimiterSplit, Sequence";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrependScheme {
    First,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub enum PreTokenizer {
    /// GPT-2's byte-level split: optional prefix space, GPT-2's regex, bytes mapped to printable chars.
    ByteLevel { add_prefix_space: bool, use_regex: bool },
    Bert,
    Whitespace(super::pattern::Pattern),
    WhitespaceSplit,
    Metaspace { replacement: char, prepend_scheme: PrependScheme, split: bool },
    Split { pattern: super::pattern::Pattern, behavior: SplitBehavior, invert: bool },
    Punctuation(SplitBehavior),
    Digits { individual_digits: bool },
    Delimiter(char),
    Sequence(Vec<PreTokenizer>),
}

fn behavior(v: &Value, default: SplitBehavior) -> Result<SplitBehavior> {
    match v.get("behavior").and_then(Value::as_str) {
        None => Ok(default),
        Some(name) => SplitBehavior::parse(name).ok_or_else(|| {
            Error::tokenizer(
                format!("pre_tokenizer split behavior `{name}` is unknown"),
                "Use one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous",
            )
        }),
    }
}

impl PreTokenizer {
    pub fn from_json(v: &Value) -> Result<Self> {
        let kind = json::type_of(v, "pre_tokenizer")?;
        let f = |key: &str, default: bool| v.get(key).and_then(Value::as_bool).unwrap_or(default);
        Ok(match kind {
            "ByteLevel" => PreTokenizer::ByteLevel { add_prefix_space: f("add_prefix_space", true), use_regex: f("use_regex", true) },
            "BertPreTokenizer" => PreTokenizer::Bert,
            "Whitespace" => PreTokenizer::Whitespace(super::pattern::Pattern::new(WHITESPACE_PATTERN).map_err(|e| Error::tokenizer(format!("{e:?}"), ""))?),
            "WhitespaceSplit" => PreTokenizer::WhitespaceSplit,
            "Metaspace" => {
                let replacement = one_char(v, "replacement", '▁')?;
                let mut prepend_scheme = match v.get("prepend_scheme").and_then(Value::as_str) {
                    None | Some("always") => PrependScheme::Always,
                    Some("first") => PrependScheme::First,
                    Some("never") => PrependScheme::Never,
                    Some(other) => {
                        return Err(Error::tokenizer(format!("Metaspace prepend_scheme `{other}` is unknown"), "Use first, always or never"))
                    }
                };
                if v.get("add_prefix_space").and_then(Value::as_bool) == Some(false) {
                    prepend_scheme = PrependScheme::Never;
                }
                PreTokenizer::Metaspace { replacement, prepend_scheme, split: f("split", true) }
            }
            "Split" => {
                #[derive(Deserialize)]
                struct S {
                    pattern: PatternJson,
                }
                let s: S = json::fields(v, "pre_tokenizer", kind)?;
                PreTokenizer::Split {
                    pattern: json::compile_pattern(&s.pattern, "pre_tokenizer Split")?,
                    behavior: behavior(v, SplitBehavior::Removed)?,
                    invert: f("invert", false),
                }
            }
            "Punctuation" => PreTokenizer::Punctuation(behavior(v, SplitBehavior::Isolated)?),
            "Digits" => PreTokenizer::Digits { individual_digits: f("individual_digits", false) },
            "CharDelimiterSplit" => PreTokenizer::Delimiter(one_char(v, "delimiter", ' ')?),
            "Sequence" => {
                let items = json::list(v, "pretokenizers", "pre_tokenizer")?;
                PreTokenizer::Sequence(items.iter().map(PreTokenizer::from_json).collect::<Result<_>>()?)
            }
            other => return Err(json::unsupported("pre_tokenizer", other, SUPPORTED)),
        })
    }

    pub fn pre_tokenize(&self, pieces: &mut Vec<Piece>) -> Result<()> {
        match self {
            PreTokenizer::ByteLevel { add_prefix_space, use_regex } => {
                split_pieces(pieces, |mut s| {
                    if *add_prefix_space && !s.get().starts_with(' ') {
                        s.prepend(" ");
                    }
                    if *use_regex {
                        let m = gpt2_matches(s.get());
                        s.split(m, SplitBehavior::Isolated)
                    } else {
                        vec![s]
                    }
                });
                for p in pieces.iter_mut().filter(|p| p.tokens.is_none()) {
                    to_byte_chars(&mut p.text);
                }
            }
            PreTokenizer::Bert => {
                split_pieces(pieces, |s| s.split(char_matches(s.get(), char::is_whitespace), SplitBehavior::Removed));
                split_pieces(pieces, |s| s.split(char_matches(s.get(), is_punctuation), SplitBehavior::Isolated));
            }
            PreTokenizer::Whitespace(re) => {
                try_split_pieces(pieces, |s| Ok(s.split(invert(regex_matches(s.get(), re)?), SplitBehavior::Removed)))?;
            }
            PreTokenizer::WhitespaceSplit => {
                split_pieces(pieces, |s| s.split(char_matches(s.get(), char::is_whitespace), SplitBehavior::Removed));
            }
            PreTokenizer::Metaspace { replacement, prepend_scheme, split } => {
                let rep = replacement.to_string();
                split_pieces(pieces, |mut s| {
                    let m = char_matches(s.get(), |c| c == ' ');
                    s.replace(&m, &rep);
                    let prepend = match prepend_scheme {
                        PrependScheme::Always => true,
                        PrependScheme::First => s.offsets_original().0 == 0,
                        PrependScheme::Never => false,
                    };
                    if prepend && !s.get().starts_with(*replacement) {
                        s.prepend(&rep);
                    }
                    if *split {
                        let m = char_matches(s.get(), |c| c == *replacement);
                        s.split(m, SplitBehavior::MergedWithNext)
                    } else {
                        vec![s]
                    }
                });
            }
            PreTokenizer::Split { pattern, behavior, invert: inv } => {
                try_split_pieces(pieces, |s| {
                    let m: Matches = regex_matches(s.get(), pattern)?;
                    Ok(s.split(if *inv { invert(m) } else { m }, *behavior))
                })?;
            }
            PreTokenizer::Punctuation(b) => split_pieces(pieces, |s| s.split(char_matches(s.get(), is_punctuation), *b)),
            PreTokenizer::Digits { individual_digits } => {
                let b = if *individual_digits { SplitBehavior::Isolated } else { SplitBehavior::Contiguous };
                split_pieces(pieces, |s| s.split(char_matches(s.get(), char::is_numeric), b));
            }
            PreTokenizer::Delimiter(d) => split_pieces(pieces, |s| s.split(char_matches(s.get(), |c| c == *d), SplitBehavior::Removed)),
            PreTokenizer::Sequence(items) => {
                for p in items {
                    p.pre_tokenize(pieces)?;
                }
            }
        }
        Ok(())
    }
}

fn one_char(v: &Value, key: &str, default: char) -> Result<char> {
    match v.get(key).and_then(Value::as_str) {
        None => Ok(default),
        Some(s) => {
            let mut it = s.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(Error::tokenizer(format!("`{key}` must be a single character, got {s:?}"), "Fix the pre_tokenizer in tokenizer.json")),
            }
        }
    }
}

/// Replace each untokenised piece by what `f` cuts it into, dropping empty pieces.
/// [`split_pieces`] with a split that can fail (a regex out of backtracking steps).
pub fn try_split_pieces(pieces: &mut Vec<Piece>, mut f: impl FnMut(NormalizedString) -> Result<Vec<NormalizedString>>) -> Result<()> {
    let old = std::mem::take(pieces);
    for p in old {
        if p.tokens.is_some() {
            pieces.push(p);
            continue;
        }
        pieces.extend(f(p.text)?.into_iter().filter(|s| !s.is_empty()).map(|text| Piece { text, tokens: None }));
    }
    Ok(())
}

pub fn split_pieces(pieces: &mut Vec<Piece>, mut f: impl FnMut(NormalizedString) -> Vec<NormalizedString>) {
    let old = std::mem::take(pieces);
    for p in old {
        if p.tokens.is_some() {
            pieces.push(p);
            continue;
        }
        pieces.extend(f(p.text).into_iter().filter(|s| !s.is_empty()).map(|text| Piece { text, tokens: None }));
    }
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || hf_lists::is_punctuation(c)
}

/// Map every byte of the UTF-8 text to its printable stand-in, keeping offsets per original char.
fn to_byte_chars(s: &mut NormalizedString) {
    let mut t = Vec::with_capacity(s.len());
    for c in s.get().chars() {
        let mut buf = [0u8; 4];
        for (i, b) in c.encode_utf8(&mut buf).bytes().enumerate() {
            t.push((BYTES_CHAR[b as usize], isize::from(i > 0)));
        }
    }
    s.transform(&t, 0);
}

/// GPT-2's byte -> printable char table: printable Latin-1 bytes stand for themselves, the
/// others are moved to U+0100 and up, in byte order.
pub static BYTES_CHAR: [char; 256] = bytes_char();

const fn is_printable_byte(b: u32) -> bool {
    (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

const fn bytes_char() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut n = 0;
    let mut b = 0;
    while b < 256 {
        let code = if is_printable_byte(b) {
            b
        } else {
            n += 1;
            255 + n
        };
        table[b as usize] = match char::from_u32(code) {
            Some(c) => c,
            None => '\0',
        };
        b += 1;
    }
    table
}

/// Inverse of [`BYTES_CHAR`].
pub fn char_to_byte(c: char) -> Option<u8> {
    let code = c as u32;
    if code < 256 && is_printable_byte(code) {
        return Some(code as u8);
    }
    if (256..256 + 68).contains(&code) {
        // The (code - 256)-th byte that is not printable.
        let mut n = 0;
        for b in 0..256u32 {
            if !is_printable_byte(b) {
                if n == code - 256 {
                    return Some(b as u8);
                }
                n += 1;
            }
        }
    }
    None
}

fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    matches!(
        general_category(c),
        Category::UppercaseLetter
            | Category::LowercaseLetter
            | Category::TitlecaseLetter
            | Category::ModifierLetter
            | Category::OtherLetter
    )
}

/// GPT-2's pre-tokenisation regex, written out by hand (it is the hot path of every byte-level
/// BPE tokenizer):
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
pub fn gpt2_matches(text: &str) -> Matches {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Letter,
        Number,
        Space,
        Other,
    }
    let class = |c: char| {
        if is_letter(c) {
            Class::Letter
        } else if c.is_numeric() {
            Class::Number
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    let byte_at = |i: usize| if i < n { chars[i].0 } else { text.len() };
    let run = |from: usize, k: Class| {
        let mut j = from;
        while j < n && class(chars[j].1) == k {
            j += 1;
        }
        j
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < n {
        let rest = &text[chars[i].0..];
        let mut end = None;
        if let Some(after) = rest.strip_prefix('\'') {
            for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] {
                if after.starts_with(suffix) {
                    end = Some(i + 1 + suffix.len());
                    break;
                }
            }
        }
        if end.is_none() {
            // ` ?X+` for the three classes: a single leading U+0020 may join the run.
            let start = if chars[i].1 == ' ' && i + 1 < n && class(chars[i + 1].1) != Class::Space { i + 1 } else { i };
            let k = class(chars[start].1);
            if k != Class::Space {
                end = Some(run(start, k));
            }
        }
        if end.is_none() {
            // `\s+(?!\S)` keeps the last space for the next word unless the run ends the text;
            // a single space before a word falls through to `\s+`.
            let j = run(i, Class::Space);
            end = Some(if j == n || j - i == 1 { j } else { j - 1 });
        }
        let e = end.unwrap_or(i + 1).max(i + 1);
        found.push((byte_at(i), byte_at(e)));
        i = e;
    }
    super::normalized::cover(text, found)
}

//! Added tokens (special tokens such as `[CLS]`, `<|endoftext|>`, `</s>`, and user-added words).
//!
//! They are cut out of the text before the model sees it: tokens with `normalized: false` are
//! found in the raw text, the rest in each remaining piece after normalisation. Matching is
//! leftmost-longest and non-overlapping, with `single_word`, `lstrip` and `rstrip` applied as
//! HF's `AddedVocabulary` does. Special tokens typed as text become their ids (HF's default).

use super::json::AddedTokenJson;
use super::normalized::NormalizedString;
use super::normalizer::Normalizer;
use super::{Piece, Token};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct AddedToken {
    pub id: u32,
    pub content: String,
    pub single_word: bool,
    pub lstrip: bool,
    pub rstrip: bool,
    pub normalized: bool,
    pub special: bool,
}

#[derive(Debug, Clone, Default)]
pub struct AddedVocab {
    by_id: HashMap<u32, AddedToken>,
    by_content: HashMap<String, u32>,
    /// Contents of special tokens (skipped by `decode(.., skip_special_tokens)`).
    special: HashSet<String>,
    /// The normalised form of `normalized` tokens whose form changes (what HF's decode shows).
    normalized_form: HashMap<u32, String>,
    /// Patterns matched in the raw text, by first byte, longest first.
    raw: Matcher,
    /// Patterns matched in normalised pieces.
    normalized: Matcher,
}

#[derive(Debug, Clone, Default)]
struct Matcher {
    by_first_byte: HashMap<u8, Vec<(String, u32)>>,
}

impl Matcher {
    fn add(&mut self, pattern: &str, id: u32) {
        if let Some(&b) = pattern.as_bytes().first() {
            let list = self.by_first_byte.entry(b).or_default();
            list.push((pattern.to_string(), id));
            list.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        }
    }

    fn is_empty(&self) -> bool {
        self.by_first_byte.is_empty()
    }

    /// The leftmost-longest match starting at or after `from`.
    fn find(&self, text: &str, from: usize) -> Option<(usize, usize, u32)> {
        let bytes = text.as_bytes();
        for p in from..bytes.len() {
            if !text.is_char_boundary(p) {
                continue;
            }
            if let Some(list) = self.by_first_byte.get(&bytes[p]) {
                for (pat, id) in list {
                    if bytes[p..].starts_with(pat.as_bytes()) {
                        return Some((p, p + pat.len(), *id));
                    }
                }
            }
        }
        None
    }
}

/// Does the text start (or end) with a regex `\w` char? (Unicode word: alphabetic, marks,
/// decimal digits, connector punctuation, joiners.)
fn is_word_char(c: char) -> bool {
    use unicode_categories::UnicodeCategories;
    c.is_alphabetic() || c.is_mark() || c.is_number_decimal_digit() || c.is_punctuation_connector() || matches!(c, '\u{200c}' | '\u{200d}')
}

impl AddedVocab {
    /// Register the tokens of tokenizer.json in order. As in HF, a token already in the model's
    /// vocabulary keeps that id; a new one takes the next free id after the model's.
    pub fn new(list: &[AddedTokenJson], model_id: impl Fn(&str) -> Option<u32>, model_size: usize, normalizer: Option<&Normalizer>) -> Self {
        let mut v = AddedVocab::default();
        for t in list {
            if t.content.is_empty() {
                continue;
            }
            let next_free = v.by_id.keys().max().map_or(model_size as u32, |&m| if m as usize >= model_size || model_size == 0 { m.saturating_add(1) } else { model_size as u32 });
            let id = v.by_content.get(&t.content).copied().or_else(|| model_id(&t.content)).unwrap_or(next_free);
            if t.normalized {
                if let Some(n) = normalizer {
                    let form = n.normalize_str(&t.content);
                    if form != t.content {
                        v.normalized_form.insert(id, form);
                    }
                }
            }
            v.by_content.insert(t.content.clone(), id);
            if t.special {
                v.special.insert(t.content.clone());
            }
            v.by_id.insert(
                id,
                AddedToken { id, content: t.content.clone(), single_word: t.single_word, lstrip: t.lstrip, rstrip: t.rstrip, normalized: t.normalized, special: t.special },
            );
        }
        for (id, t) in &v.by_id {
            if t.normalized {
                let pattern = v.normalized_form.get(id).cloned().unwrap_or_else(|| t.content.clone());
                v.normalized.add(&pattern, *id);
            } else {
                v.raw.add(&t.content, *id);
            }
        }
        v
    }

    pub fn id_of(&self, content: &str) -> Option<u32> {
        self.by_content.get(content).copied()
    }

    pub fn get(&self, id: u32) -> Option<&AddedToken> {
        self.by_id.get(&id)
    }

    /// The string HF's decode uses for this id (normalised form when it differs).
    pub fn decode_form(&self, id: u32) -> Option<&str> {
        let t = self.by_id.get(&id)?;
        Some(self.normalized_form.get(&id).map_or(t.content.as_str(), String::as_str))
    }

    pub fn is_special(&self, content: &str) -> bool {
        self.special.contains(content)
    }

    pub fn tokens(&self) -> impl Iterator<Item = &AddedToken> {
        self.by_id.values()
    }

    /// Matched byte ranges (with their ids) of `text`, covering it whole.
    fn find_matches(&self, text: &str, m: &Matcher) -> Vec<(Option<u32>, (usize, usize))> {
        if text.is_empty() {
            return vec![(None, (0, 0))];
        }
        if m.is_empty() {
            return vec![(None, (0, text.len()))];
        }
        let mut out = vec![];
        let mut done = 0; // end of the last accepted split
        let mut search = 0; // where the next search starts (after any match, accepted or not)
        while let Some((s, e, id)) = m.find(text, search) {
            search = e;
            let Some(tok) = self.by_id.get(&id) else { continue };
            let (mut start, mut stop) = (s, e);
            if tok.single_word {
                let before_ok = start == 0 || !text[..start].chars().next_back().is_some_and(is_word_char);
                let after_ok = stop == text.len() || !text[stop..].chars().next().is_some_and(is_word_char);
                if !(before_ok && after_ok) {
                    continue;
                }
            }
            if tok.lstrip {
                let trimmed = text[..start].trim_end_matches(char::is_whitespace).len();
                start = trimmed.max(done);
            }
            if tok.rstrip {
                stop += text[stop..].len() - text[stop..].trim_start_matches(char::is_whitespace).len();
            }
            if done < start {
                out.push((None, (done, start)));
            }
            out.push((Some(id), (start, stop)));
            done = stop;
            search = search.max(stop);
        }
        if done != text.len() {
            out.push((None, (done, text.len())));
        }
        out
    }

    fn split(&self, s: NormalizedString, m: &Matcher) -> Vec<Piece> {
        self.find_matches(s.get(), m)
            .into_iter()
            .filter_map(|(id, (a, b))| {
                let slice = s.slice(a, b)?;
                let tokens = id.map(|id| {
                    let value = slice.get().to_string();
                    let len = value.len();
                    vec![Token { id, value, offsets: (0, len) }]
                });
                Some(Piece { text: slice, tokens })
            })
            .filter(|p| !p.text.is_empty())
            .collect()
    }

    /// Cut added tokens out of `text`, normalising what lies between them.
    pub fn extract_and_normalize(&self, normalizer: Option<&Normalizer>, text: &str) -> Vec<Piece> {
        let first = self.split(NormalizedString::new(text), &self.raw);
        let mut out = Vec::with_capacity(first.len());
        for p in first {
            if p.tokens.is_some() {
                out.push(p);
                continue;
            }
            let mut s = p.text;
            if let Some(n) = normalizer {
                n.normalize(&mut s);
            }
            out.extend(self.split(s, &self.normalized));
        }
        out
    }
}

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
use crate::error::{Error, Result};
use crate::rank;
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
    /// transformers' `split_special_tokens`: special tokens typed in the text are found but
    /// left as ordinary text.
    pub split_special_tokens: bool,
    /// Ids of tokens only the config files add (transformers' named specials or T5 sentinels that
    /// tokenizer.json lacks): a model whose table stops short of them still loads.
    from_config: HashSet<u32>,
}

/// The added tokens' patterns as a byte trie: finding the longest pattern at a position walks at
/// most the longest pattern's bytes, however many patterns share a prefix (60k tokens named
/// `<extra_id_N>` would otherwise be compared one by one at every `<` of the text).
#[derive(Debug, Clone, Default)]
struct Matcher {
    nodes: Vec<TrieNode>, // nodes[0] is the root once anything is added
}

#[derive(Debug, Clone, Default)]
struct TrieNode {
    next: Vec<(u8, u32)>, // sorted by byte
    id: Option<u32>,      // a pattern ends here
}

impl Matcher {
    /// Add a pattern; the first id given for a pattern keeps it.
    fn add(&mut self, pattern: &str, id: u32) {
        if pattern.is_empty() {
            return;
        }
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut at = 0usize;
        for &b in pattern.as_bytes() {
            at = match self.nodes[at].next.binary_search_by_key(&b, |&(k, _)| k) {
                Ok(i) => self.nodes[at].next[i].1 as usize,
                Err(i) => {
                    let child = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    self.nodes[at].next.insert(i, (b, child as u32));
                    child
                }
            };
        }
        self.nodes[at].id.get_or_insert(id);
    }

    fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The longest pattern starting at byte `p`: (end, id).
    fn longest_at(&self, bytes: &[u8], p: usize) -> Option<(usize, u32)> {
        let mut at = 0usize;
        let mut best = None;
        for (i, b) in bytes[p..].iter().enumerate() {
            let node = &self.nodes[at];
            let Ok(k) = node.next.binary_search_by_key(b, |&(k, _)| k) else { break };
            at = node.next[k].1 as usize;
            if let Some(id) = self.nodes[at].id {
                best = Some((p + i + 1, id));
            }
        }
        best
    }

    /// The leftmost-longest match starting at or after `from`.
    fn find(&self, text: &str, from: usize) -> Option<(usize, usize, u32)> {
        if self.nodes.is_empty() {
            return None;
        }
        let bytes = text.as_bytes();
        (from..bytes.len()).filter(|&p| text.is_char_boundary(p)).find_map(|p| self.longest_at(bytes, p).map(|(end, id)| (p, end, id)))
    }
}

/// Does the text start (or end) with a regex `\w` char? (Unicode word: alphabetic, marks,
/// decimal digits, connector punctuation, joiners.)
fn is_word_char(c: char) -> bool {
    use super::unicode::hf_lists;
    c.is_alphabetic() || hf_lists::is_mark(c) || hf_lists::is_number_decimal_digit(c) || hf_lists::is_punctuation_connector(c) || matches!(c, '\u{200c}' | '\u{200d}')
}

impl AddedVocab {
    /// Register the tokens of tokenizer.json in order. As in HF, a token already in the model's
    /// vocabulary keeps that id; a new one takes the next free id after the model's.
    /// The first `from_file` entries are tokenizer.json's own.
    pub fn new(list: &[AddedTokenJson], from_file: usize, model_id: impl Fn(&str) -> Option<u32>, model_size: usize, normalizer: Option<&Normalizer>) -> Result<Self> {
        let limit = crate::loader::limits::MAX_ADDED_TOKENS;
        if list.len() > limit {
            return Err(Error::tokenizer(
                match list.len().saturating_sub(from_file) {
                    0 => format!("tokenizer.json has {} added tokens, more than the limit of {limit} (MAX_ADDED_TOKENS)", list.len()),
                    by_config => format!("tokenizer.json and its config files name {} added tokens ({by_config} of them in tokenizer_config.json or special_tokens_map.json), more than the limit of {limit} (MAX_ADDED_TOKENS)", list.len()),
                },
                "Use the tokenizer.json saved with the model; real ones add at most a few thousand tokens",
            ));
        }
        let mut v = AddedVocab::default();
        // The largest id handed out so far, kept as we go (a max over all ids per token is quadratic).
        let mut max_id: Option<u32> = None;
        for (index, t) in list.iter().enumerate() {
            if t.content.is_empty() {
                continue;
            }
            let next_free = max_id.map_or(model_size as u32, |m| if m as usize >= model_size || model_size == 0 { m.saturating_add(1) } else { model_size as u32 });
            let known = v.by_content.get(&t.content).copied().or_else(|| model_id(&t.content));
            let id = known.unwrap_or(next_free);
            if known.is_none() && index >= from_file {
                v.from_config.insert(id);
            }
            // A later entry for the same token replaces the earlier one's flags.
            v.normalized_form.remove(&id);
            if t.normalized {
                if let Some(n) = normalizer {
                    let form = n.normalize_str(&t.content)?;
                    // HF would search for the empty string, which matches between every two
                    // characters and cuts the whole text into single characters.
                    if form.is_empty() {
                        return Err(Error::tokenizer(
                            format!("added token {:?} is `normalized` and the normalizer turns it into nothing", t.content),
                            "Set its `normalized` to false in tokenizer.json (transformers would cut the text into single characters around it)",
                        ));
                    }
                    if form != t.content {
                        v.normalized_form.insert(id, form);
                    }
                }
            }
            v.by_content.insert(t.content.clone(), id);
            if t.special {
                v.special.insert(t.content.clone());
            }
            if v.by_id.insert(
                id,
                AddedToken { id, content: t.content.clone(), single_word: t.single_word, lstrip: t.lstrip, rstrip: t.rstrip, normalized: t.normalized, special: t.special },
            ).is_none() {
                max_id = Some(max_id.map_or(id, |m| m.max(id)));
            }
        }
        // In id order, so that two tokens with one pattern always resolve to the same id.
        let mut ids: Vec<u32> = v.by_id.keys().copied().collect();
        rank::sort_ids(&mut ids);
        for id in ids {
            let t = &v.by_id[&id];
            if t.normalized {
                let pattern = v.normalized_form.get(&id).cloned().unwrap_or_else(|| t.content.clone());
                v.normalized.add(&pattern, id);
            } else {
                v.raw.add(&t.content, id);
            }
        }
        Ok(v)
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

    /// Was this id added by the config files alone (see `from_config`)?
    pub fn from_config(&self, id: u32) -> bool {
        self.from_config.contains(&id)
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
            if self.split_special_tokens && self.special.contains(&tok.content) {
                continue;
            }
            let (mut start, mut stop) = (s, e);
            if tok.single_word {
                let before_ok = start == 0 || !text[..start].chars().next_back().is_some_and(is_word_char);
                let after_ok = stop == text.len() || !text[stop..].chars().next().is_some_and(is_word_char);
                if !(before_ok && after_ok) {
                    continue;
                }
            }
            if tok.lstrip {
                // Only the gap since the last split can be stripped (and only it is scanned); a match
                // that starts inside the last one's stripped whitespace starts where that ended.
                start = if start < done { done } else { done + text[done..start].trim_end_matches(char::is_whitespace).len() };
            }
            if tok.rstrip {
                stop += text[stop..].len() - text[stop..].trim_start_matches(char::is_whitespace).len();
            }
            if done < start {
                out.push((None, (done, start)));
            }
            // A match that starts inside the whitespace an `rstrip` token took is still a match: HF
            // finds every match first and strips afterwards, so the whitespace counts for both.
            out.push((Some(id), (start, stop)));
            done = stop;
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
    pub fn extract_and_normalize(&self, normalizer: Option<&Normalizer>, text: &str) -> Result<Vec<Piece>> {
        let first = self.split(NormalizedString::new(text), &self.raw);
        let mut out = Vec::with_capacity(first.len());
        for p in first {
            if p.tokens.is_some() {
                out.push(p);
                continue;
            }
            let mut s = p.text;
            if let Some(n) = normalizer {
                n.normalize(&mut s)?;
            }
            out.extend(self.split(s, &self.normalized));
        }
        Ok(out)
    }
}

//! Unigram (SentencePiece): every vocabulary piece has a log-probability score; a word is cut
//! along the path through the lattice of matching pieces whose scores sum highest (Viterbi).
//! Characters no piece covers become the unknown piece, scored `min_score - 10` as HF does,
//! and consecutive unknowns are fused into one.

use super::json;
use super::{Token, WordCache};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// HF's penalty below the lowest piece score for an unknown character.
const UNK_PENALTY: f64 = 10.0;

/// One piece of the chosen segmentation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnigramStep {
    pub piece: String,
    pub score: f64,
    pub unk: bool,
    /// Why the step is what it is, where the score alone does not say (Marian: a language code,
    /// a piece the SentencePiece model has but vocab.json lacks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnigramTrace {
    pub path: Vec<UnigramStep>,
    /// Sum of the scores along the path (what Viterbi maximised).
    pub total_score: f64,
}

#[derive(Debug, Clone)]
pub struct Unigram {
    pub pieces: Vec<(String, f64)>,
    pub piece_ids: HashMap<String, u32>,
    unk_id: Option<u32>,
    byte_fallback: bool,
    min_score: f64,
    /// Longest piece in bytes: no lattice edge is longer.
    max_piece_len: usize,
    cache: WordCache<Vec<String>>,
}

#[derive(Deserialize)]
struct UnigramJson {
    vocab: Vec<(String, f64)>,
    #[serde(default)]
    unk_id: Option<usize>,
    #[serde(default)]
    byte_fallback: bool,
}

impl Unigram {
    /// The options transformers 5's `T5Tokenizer` and `XLMRobertaTokenizer` give the Unigram they
    /// build around a file's pieces: the unknown piece at a fixed id (T5's `<unk>` is 2, XLM-R's 3,
    /// after `<s> <pad> </s>`; none in a vocabulary too small to hold it), no byte fallback.
    pub fn use_class_options(&mut self, unk_id: u32) {
        self.unk_id = (self.pieces.len() > unk_id as usize).then_some(unk_id);
        self.byte_fallback = false;
        self.cache = WordCache::default();
    }

    /// The id of `piece` when the vocabulary holds it with exactly `score` (how DebertaV2Tokenizer
    /// finds its unknown piece).
    pub fn id_with_score(&self, piece: &str, score: f64) -> Option<u32> {
        let id = *self.piece_ids.get(piece)?;
        (self.pieces.get(id as usize)?.1 == score).then_some(id)
    }

    pub fn from_json(v: Value) -> Result<Self> {
        let j: UnigramJson = json::fields_owned(v, "model", "Unigram")?;
        if let Some(u) = j.unk_id {
            if u >= j.vocab.len() {
                return Err(Error::tokenizer(format!("Unigram unk_id {u} is outside the vocabulary of {} pieces", j.vocab.len()), "Fix `unk_id` in tokenizer.json"));
            }
        }
        let mut piece_ids = HashMap::with_capacity(j.vocab.len());
        let mut min_score = f64::INFINITY;
        let mut max_piece_len = 0;
        for (i, (p, s)) in j.vocab.iter().enumerate() {
            crate::loader::limits::check_piece("Unigram", p)?;
            piece_ids.insert(p.clone(), i as u32);
            min_score = min_score.min(*s);
            max_piece_len = max_piece_len.max(p.len());
        }
        Ok(Unigram { pieces: j.vocab, piece_ids, unk_id: j.unk_id.map(|u| u as u32), byte_fallback: j.byte_fallback, min_score, max_piece_len, cache: WordCache::default() })
    }

    pub fn unk_id(&self) -> Option<u32> {
        self.unk_id
    }

    pub fn tokenize(&self, word: &str) -> Result<Vec<Token>> {
        if word.is_empty() {
            return Ok(vec![]);
        }
        let parts = match self.cache.get(word) {
            Some(p) => p,
            None => {
                let p = self.best_path(word, None)?;
                self.cache.put(word, &p);
                p
            }
        };
        self.to_tokens(parts)
    }

    pub fn tokenize_traced(&self, word: &str) -> Result<(Vec<Token>, UnigramTrace)> {
        let mut trace = UnigramTrace { path: vec![], total_score: 0.0 };
        if word.is_empty() {
            return Ok((vec![], trace));
        }
        let parts = self.best_path(word, Some(&mut trace))?;
        Ok((self.to_tokens(parts)?, trace))
    }

    fn to_tokens(&self, parts: Vec<String>) -> Result<Vec<Token>> {
        let mut tokens = Vec::with_capacity(parts.len());
        let mut offset = 0;
        for part in parts {
            let span = (offset, offset + part.len());
            offset += part.len();
            if let Some(&id) = self.piece_ids.get(&part) {
                tokens.push(Token { id, value: part, offsets: span });
                continue;
            }
            if self.byte_fallback {
                let bytes: Option<Vec<Token>> = part
                    .bytes()
                    .map(|b| {
                        let name = format!("<0x{b:02X}>");
                        self.piece_ids.get(&name).map(|&id| Token { id, value: name, offsets: span })
                    })
                    .collect();
                if let Some(bytes) = bytes {
                    tokens.extend(bytes);
                    continue;
                }
            }
            let id = self.unk_id.ok_or_else(|| {
                Error::tokenizer("Unigram met a character no piece covers, and the model has no unk_id", "Set `unk_id` in tokenizer.json")
            })?;
            tokens.push(Token { id, value: part, offsets: span });
        }
        Ok(tokens)
    }

    /// Viterbi over the lattice. Ties keep the first candidate found: earlier starts, and at one
    /// start shorter pieces, win (the order of HF's trie search).
    fn best_path(&self, word: &str, trace: Option<&mut UnigramTrace>) -> Result<Vec<String>> {
        #[derive(Clone, Copy)]
        struct Best {
            score: f64,
            start: Option<usize>,
            id: u32,
        }
        let n = word.len();
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![Best { score: 0.0, start: None, id: 0 }; n + 1];
        let mut start = 0;
        while start < n {
            let here = best[start].score;
            let char_len = word[start..].chars().next().map_or(1, char::len_utf8);
            let mut single_char_piece = false;
            let limit = (start + self.max_piece_len).min(n);
            let mut end = start + char_len;
            while end <= limit {
                if let Some(&id) = self.piece_ids.get(&word[start..end]) {
                    let cand = here + self.pieces[id as usize].1;
                    let node = &mut best[end];
                    if node.start.is_none() || cand > node.score {
                        *node = Best { score: cand, start: Some(start), id };
                    }
                    if end - start == char_len {
                        single_char_piece = true;
                    }
                }
                end += word[end..].chars().next().map_or(1, char::len_utf8);
            }
            if !single_char_piece {
                let unk_id = self.unk_id.ok_or_else(|| {
                    Error::tokenizer("Unigram met a character no piece covers, and the model has no unk_id", "Set `unk_id` in tokenizer.json")
                })?;
                let cand = here + unk_score;
                let node = &mut best[start + char_len];
                if node.start.is_none() || cand > node.score {
                    *node = Best { score: cand, start: Some(start), id: unk_id };
                }
            }
            start += char_len;
        }

        // Walk back from the end; runs of unknown pieces become one part.
        let mut spans: Vec<(usize, usize, u32)> = vec![];
        let mut end = n;
        while end > 0 {
            let node = best[end];
            let s = node.start.unwrap_or(0);
            spans.push((s, end, node.id));
            end = s;
        }
        spans.reverse();
        let mut parts: Vec<String> = vec![];
        let mut steps: Vec<UnigramStep> = vec![];
        let mut prev_unk = false;
        for (s, e, id) in spans {
            let is_unk = Some(id) == self.unk_id;
            let score = if is_unk && self.piece_ids.get(&word[s..e]) != Some(&id) { unk_score } else { self.pieces[id as usize].1 };
            if is_unk && prev_unk {
                if let Some(last) = parts.last_mut() {
                    last.push_str(&word[s..e]);
                }
                if let Some(last) = steps.last_mut() {
                    last.piece.push_str(&word[s..e]);
                    last.score += score;
                }
            } else {
                parts.push(word[s..e].to_string());
                steps.push(UnigramStep { piece: word[s..e].to_string(), score, unk: is_unk, note: None });
            }
            prev_unk = is_unk;
        }
        if let Some(t) = trace {
            t.total_score = best[n].score;
            t.path = steps;
        }
        Ok(parts)
    }
}

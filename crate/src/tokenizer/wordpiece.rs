//! WordPiece (BERT): greedily take the longest vocabulary entry from the start of the word,
//! continue with `##`-prefixed entries; a word that cannot be covered becomes `[UNK]` whole.

use super::json;
use super::Token;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// One longest-match attempt: the candidate looked up and whether the vocabulary had it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordPieceAttempt {
    pub candidate: String,
    pub found: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordPieceTrace {
    /// Attempts in the order they were made (longest first at each start).
    pub attempts: Vec<WordPieceAttempt>,
    /// Why the whole word became the unknown token, if it did.
    pub unk_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WordPiece {
    pub vocab: HashMap<String, u32>,
    pub vocab_r: HashMap<u32, String>,
    unk_token: String,
    prefix: String,
    max_input_chars_per_word: usize,
    /// Bytes of the longest vocabulary entry: no candidate longer than it is looked up.
    max_piece_bytes: usize,
}

#[derive(Deserialize)]
struct WordPieceJson {
    vocab: HashMap<String, u32>,
    #[serde(default = "default_unk")]
    unk_token: String,
    #[serde(default = "default_prefix")]
    continuing_subword_prefix: String,
    #[serde(default = "default_max")]
    max_input_chars_per_word: usize,
}

fn default_unk() -> String {
    "[UNK]".into()
}
fn default_prefix() -> String {
    "##".into()
}
fn default_max() -> usize {
    100
}

impl WordPiece {
    /// The options transformers 5's `BertTokenizer` gives the WordPiece it builds around a file's
    /// vocabulary: its unknown token, `##`, and words up to 100 characters.
    pub fn use_bert_options(&mut self, unk_token: String) {
        self.unk_token = unk_token;
        self.prefix = "##".into();
        self.max_input_chars_per_word = 100;
    }

    pub fn from_json(v: Value) -> Result<Self> {
        let j: WordPieceJson = json::fields_owned(v, "model", "WordPiece")?;
        let vocab_r = super::json::reverse_vocab(&j.vocab, "WordPiece")?;
        let mut max_piece_bytes = 0;
        for piece in j.vocab.keys() {
            crate::loader::limits::check_piece("WordPiece", piece)?;
            max_piece_bytes = max_piece_bytes.max(piece.len());
        }
        Ok(WordPiece {
            vocab: j.vocab,
            vocab_r,
            unk_token: j.unk_token,
            prefix: j.continuing_subword_prefix,
            max_input_chars_per_word: j.max_input_chars_per_word,
            max_piece_bytes,
        })
    }

    pub fn unk_token(&self) -> &str {
        &self.unk_token
    }

    fn unk(&self, word: &str) -> Result<Vec<Token>> {
        let id = *self.vocab.get(&self.unk_token).ok_or_else(|| {
            Error::tokenizer(format!("WordPiece unk_token `{}` is not in the vocabulary", self.unk_token), "Add it to the vocab or fix `unk_token` in tokenizer.json")
        })?;
        Ok(vec![Token { id, value: self.unk_token.clone(), offsets: (0, word.len()) }])
    }

    pub fn tokenize(&self, word: &str) -> Result<Vec<Token>> {
        self.run(word, None)
    }

    pub fn tokenize_traced(&self, word: &str) -> Result<(Vec<Token>, WordPieceTrace)> {
        let mut trace = WordPieceTrace { attempts: vec![], unk_reason: None };
        let tokens = self.run(word, Some(&mut trace))?;
        Ok((tokens, trace))
    }

    fn run(&self, word: &str, mut trace: Option<&mut WordPieceTrace>) -> Result<Vec<Token>> {
        if word.chars().count() > self.max_input_chars_per_word {
            if let Some(t) = trace {
                t.unk_reason = Some(format!("longer than max_input_chars_per_word ({})", self.max_input_chars_per_word));
            }
            return self.unk(word);
        }
        let mut tokens = vec![];
        let mut start = 0;
        let mut candidate = String::with_capacity(word.len() + self.prefix.len());
        while start < word.len() {
            // Longest first, but never longer than the longest entry (the rest cannot match): the work per
            // start is bounded by the vocabulary, not by the word.
            let mut end = word.len().min(start + self.max_piece_bytes);
            while !word.is_char_boundary(end) {
                end -= 1;
            }
            let mut found = None;
            while start < end {
                candidate.clear();
                if start > 0 {
                    candidate.push_str(&self.prefix);
                }
                candidate.push_str(&word[start..end]);
                let hit = self.vocab.get(&candidate).copied();
                if let Some(t) = trace.as_deref_mut().filter(|t| t.attempts.len() < crate::loader::limits::TRACE_ATTEMPTS_MAX) {
                    t.attempts.push(WordPieceAttempt { candidate: candidate.clone(), found: hit.is_some() });
                }
                if let Some(id) = hit {
                    found = Some(Token { id, value: candidate.clone(), offsets: (start, end) });
                    break;
                }
                // Shorten by the last char of the candidate (HF measures the char on the candidate).
                end -= candidate.chars().last().map_or(1, char::len_utf8);
            }
            match found {
                Some(t) => {
                    start = t.offsets.1;
                    tokens.push(t);
                }
                None => {
                    if let Some(t) = trace {
                        t.unk_reason = Some(format!("no vocabulary entry matches at byte {start}"));
                    }
                    return self.unk(word);
                }
            }
        }
        Ok(tokens)
    }
}

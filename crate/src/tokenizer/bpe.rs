//! Byte-pair encoding: start from single characters and repeatedly merge the adjacent pair
//! with the lowest merge rank (HF's tie-break: the leftmost such pair).

use super::json;
use super::{Token, WordCache};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// One merge the algorithm applied to a word, for the page's step-by-step view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BpeMerge {
    pub pair: (String, String),
    /// Position of the rule in the merges list (lower merges first).
    pub rank: u32,
    /// The word's parts after this merge; left empty for words of more than
    /// [`TRACE_PARTS_MAX`] symbols, where a snapshot per merge would grow as the square of the
    /// length (100k characters of one word would need billions of strings).
    pub parts: Vec<String>,
}

/// Longest word (in initial symbols) whose trace keeps the parts after every merge.
pub const TRACE_PARTS_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BpeTrace {
    /// The word's parts before any merge (characters, or byte tokens / unk).
    pub initial: Vec<String>,
    pub merges: Vec<BpeMerge>,
}

#[derive(Debug, Clone)]
pub struct Bpe {
    pub vocab: HashMap<String, u32>,
    pub vocab_r: HashMap<u32, String>,
    /// (left id, right id) -> (rank, merged id)
    merges: HashMap<(u32, u32), (u32, u32)>,
    unk_token: Option<String>,
    continuing_subword_prefix: Option<String>,
    end_of_word_suffix: Option<String>,
    fuse_unk: bool,
    byte_fallback: bool,
    ignore_merges: bool,
    cache: WordCache<Vec<(u32, usize)>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum MergesJson {
    Strings(Vec<String>),
    Pairs(Vec<(String, String)>),
}

#[derive(Deserialize)]
struct BpeJson {
    vocab: HashMap<String, u32>,
    merges: Option<MergesJson>,
    #[serde(default)]
    unk_token: Option<String>,
    #[serde(default)]
    continuing_subword_prefix: Option<String>,
    #[serde(default)]
    end_of_word_suffix: Option<String>,
    #[serde(default)]
    fuse_unk: bool,
    #[serde(default)]
    byte_fallback: bool,
    #[serde(default)]
    ignore_merges: bool,
    #[serde(default)]
    dropout: Option<f32>,
}

/// `merges` must be all `"a b"` strings or all `[a, b]` pairs; serde's untagged enum would only
/// say "data did not match any variant", so find the first entry that breaks the pattern.
fn check_merges_shape(v: &Value) -> Result<()> {
    let Some(list) = v.get("merges").filter(|m| !m.is_null()) else { return Ok(()) };
    let Some(items) = list.as_array() else {
        return Err(Error::tokenizer(format!("BPE `merges` is {}, not a list", kind_of(list)), "Give `merges` as a list of \"a b\" strings or [a, b] pairs"));
    };
    let is_pair = |m: &Value| m.as_array().is_some_and(|p| p.len() == 2 && p.iter().all(Value::is_string));
    let strings = items.first().is_none_or(Value::is_string);
    match items.iter().position(|m| if strings { !m.is_string() } else { !is_pair(m) }) {
        None => Ok(()),
        Some(i) => Err(Error::tokenizer(
            format!("BPE merge #{} is {}, but the merges before it are {}", i + 1, kind_of(&items[i]), if strings { "\"a b\" strings" } else { "[a, b] pairs of strings" }),
            "Give every merge in the same form: \"a b\" or [\"a\", \"b\"]",
        )),
    }
}

/// A short description of a JSON value for messages: its kind, or the value if it is short.
fn kind_of(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 30 {
        text
    } else {
        match v {
            Value::Array(_) => "a long list".into(),
            Value::Object(_) => "an object".into(),
            _ => "a long value".into(),
        }
    }
}

#[derive(Clone, Copy)]
struct Symbol {
    id: u32,
    prev: isize,
    next: isize,
    /// Bytes of the word this symbol covers; 0 once merged into its left neighbour.
    len: usize,
}

impl Bpe {
    pub fn from_json(v: Value) -> Result<Self> {
        check_merges_shape(&v)?;
        let j: BpeJson = json::fields_owned(v, "model", "BPE")?;
        if j.dropout.is_some_and(|d| d > 0.0) {
            return Err(Error::tokenizer("BPE dropout is random and would not give repeatable ids", "Set `dropout` to null in tokenizer.json"));
        }
        let pairs: Vec<(String, String)> = match j.merges {
            None => vec![],
            Some(MergesJson::Pairs(p)) => p,
            Some(MergesJson::Strings(lines)) => {
                let mut out = Vec::with_capacity(lines.len());
                for (i, line) in lines.iter().filter(|l| !l.starts_with("#version")).enumerate() {
                    let mut parts = line.split(' ');
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(a), Some(b), None) => out.push((a.to_string(), b.to_string())),
                        _ => {
                            return Err(Error::tokenizer(
                                format!("BPE merge #{} {line:?} is not two tokens separated by one space", i + 1),
                                "Fix the `merges` list of tokenizer.json",
                            ))
                        }
                    }
                }
                out
            }
        };
        let prefix_len = j.continuing_subword_prefix.as_ref().map_or(0, String::len);
        let missing = |t: &str| Error::tokenizer(format!("BPE merge uses `{t}`, which is not in the vocabulary"), "Use a tokenizer.json whose merges and vocab belong together");
        let mut merges = HashMap::with_capacity(pairs.len());
        let mut merged = String::new();
        for (rank, (a, b)) in pairs.iter().enumerate() {
            let a_id = *j.vocab.get(a).ok_or_else(|| missing(a))?;
            let b_id = *j.vocab.get(b).ok_or_else(|| missing(b))?;
            // The merged token drops the right part's continuing-subword prefix.
            let tail = b.get(prefix_len..).ok_or_else(|| missing(b))?;
            merged.clear();
            merged.push_str(a);
            merged.push_str(tail);
            let new_id = *j.vocab.get(merged.as_str()).ok_or_else(|| missing(&merged))?;
            merges.insert((a_id, b_id), (rank as u32, new_id));
        }
        let vocab_r = super::json::reverse_vocab(&j.vocab, "BPE")?;
        Ok(Bpe {
            vocab: j.vocab,
            vocab_r,
            merges,
            unk_token: j.unk_token,
            continuing_subword_prefix: j.continuing_subword_prefix,
            end_of_word_suffix: j.end_of_word_suffix,
            fuse_unk: j.fuse_unk,
            byte_fallback: j.byte_fallback,
            ignore_merges: j.ignore_merges,
            cache: WordCache::default(),
        })
    }

    /// The options transformers 5's `LlamaTokenizer` gives the BPE it builds around a file's
    /// vocabulary and merges, whatever the file said: byte fallback, unknowns fused, no unk token
    /// (an unknown piece without byte tokens is dropped), no prefix or suffix.
    pub fn use_llama_options(&mut self) {
        self.fuse_unk = true;
        self.byte_fallback = true;
        self.unk_token = None;
        self.continuing_subword_prefix = None;
        self.end_of_word_suffix = None;
        self.ignore_merges = false;
        self.cache = WordCache::default();
    }

    /// The options transformers 5's `GemmaTokenizer` gives its BPE: Llama's, with an unk token
    /// (the config's `unk_token`, `<unk>` by default) that must then be in the vocabulary.
    /// `NllbTokenizer`'s are the same without byte fallback.
    pub fn use_gemma_options(&mut self, unk: String, byte_fallback: bool) {
        self.use_llama_options();
        self.unk_token = Some(unk);
        self.byte_fallback = byte_fallback;
    }

    /// The options transformers 5's `Qwen2Tokenizer` and `GPT2Tokenizer` give their BPE: no unk
    /// token, no fusing, no byte fallback (byte-level pieces cover every input), no prefix or suffix.
    pub fn use_byte_level_options(&mut self) {
        self.use_llama_options();
        self.fuse_unk = false;
        self.byte_fallback = false;
    }

    pub fn unk_token(&self) -> Option<&str> {
        self.unk_token.as_deref()
    }

    pub fn tokenize(&self, word: &str) -> Result<Vec<Token>> {
        if word.is_empty() {
            return Ok(vec![]);
        }
        if self.ignore_merges {
            if let Some(&id) = self.vocab.get(word) {
                return Ok(vec![Token { id, value: word.to_string(), offsets: (0, word.len()) }]);
            }
        }
        let parts = match self.cache.get(word) {
            Some(p) => p,
            None => {
                let p = self.merge_word(word, None)?;
                self.cache.put(word, &p);
                p
            }
        };
        Ok(self.to_tokens(&parts))
    }

    pub fn tokenize_traced(&self, word: &str) -> Result<(Vec<Token>, BpeTrace)> {
        let mut trace = BpeTrace { initial: vec![], merges: vec![] };
        if self.ignore_merges {
            if let Some(&id) = self.vocab.get(word) {
                trace.initial.push(word.to_string());
                return Ok((vec![Token { id, value: word.to_string(), offsets: (0, word.len()) }], trace));
            }
        }
        let parts = self.merge_word(word, Some(&mut trace))?;
        Ok((self.to_tokens(&parts), trace))
    }

    fn to_tokens(&self, parts: &[(u32, usize)]) -> Vec<Token> {
        let mut pos = 0;
        parts
            .iter()
            .map(|&(id, len)| {
                let t = Token { id, value: self.vocab_r.get(&id).cloned().unwrap_or_default(), offsets: (pos, pos + len) };
                pos += len;
                t
            })
            .collect()
    }

    fn piece_name(&self, id: u32) -> String {
        self.vocab_r.get(&id).cloned().unwrap_or_default()
    }

    /// The word's final parts as (id, byte length).
    fn merge_word(&self, word: &str, mut trace: Option<&mut BpeTrace>) -> Result<Vec<(u32, usize)>> {
        let mut symbols: Vec<Symbol> = Vec::with_capacity(word.len());
        let push = |symbols: &mut Vec<Symbol>, id: u32, len: usize| {
            let i = symbols.len() as isize;
            if let Some(last) = symbols.last_mut() {
                last.next = i;
            }
            symbols.push(Symbol { id, prev: i - 1, next: -1, len });
        };
        let mut unk: Option<(u32, usize)> = None;
        let mut chars = word.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let is_last = chars.peek().is_none();
            let byte_len = c.len_utf8();
            let mut piece = String::with_capacity(byte_len + 8);
            if i > 0 {
                if let Some(p) = &self.continuing_subword_prefix {
                    piece.push_str(p);
                }
            }
            piece.push(c);
            if is_last {
                if let Some(s) = &self.end_of_word_suffix {
                    piece.push_str(s);
                }
            }
            if let Some(&id) = self.vocab.get(&piece) {
                if let Some((uid, ulen)) = unk.take() {
                    push(&mut symbols, uid, ulen);
                }
                push(&mut symbols, id, byte_len);
                continue;
            }
            if self.byte_fallback {
                let ids: Option<Vec<u32>> = piece.bytes().map(|b| self.vocab.get(&format!("<0x{b:02X}>")).copied()).collect();
                if let Some(ids) = ids {
                    for id in ids {
                        push(&mut symbols, id, 1);
                    }
                    continue;
                }
            }
            if let Some(unk_token) = &self.unk_token {
                let unk_id = *self.vocab.get(unk_token).ok_or_else(|| {
                    Error::tokenizer(format!("BPE unk_token `{unk_token}` is not in the vocabulary"), "Add it to the vocab or fix `unk_token` in tokenizer.json")
                })?;
                unk = match unk {
                    Some((uid, ulen)) if self.fuse_unk => Some((uid, ulen + byte_len)),
                    Some((uid, ulen)) => {
                        push(&mut symbols, uid, ulen);
                        Some((unk_id, byte_len))
                    }
                    None => Some((unk_id, byte_len)),
                };
            }
            // With no unk token the character is dropped, as HF does.
        }
        if let Some((uid, ulen)) = unk {
            push(&mut symbols, uid, ulen);
        }
        if let Some(t) = trace.as_deref_mut() {
            t.initial = symbols.iter().map(|s| self.piece_name(s.id)).collect();
        }

        // Min-heap on (rank, position): the lowest rank first, the leftmost among equals.
        let mut queue: BinaryHeap<Reverse<(u32, usize, u32)>> = BinaryHeap::with_capacity(symbols.len());
        for (pos, w) in symbols.windows(2).enumerate() {
            if let Some(&(rank, new_id)) = self.merges.get(&(w[0].id, w[1].id)) {
                queue.push(Reverse((rank, pos, new_id)));
            }
        }
        while let Some(Reverse((rank, pos, new_id))) = queue.pop() {
            let cur = symbols[pos];
            if cur.len == 0 || cur.next == -1 {
                continue;
            }
            let next_pos = cur.next as usize;
            let right = symbols[next_pos];
            // Skip entries made stale by an earlier merge.
            match self.merges.get(&(cur.id, right.id)) {
                Some(&(_, id)) if id == new_id => {}
                _ => continue,
            }
            if let Some(t) = trace.as_deref_mut() {
                t.merges.push(BpeMerge { pair: (self.piece_name(cur.id), self.piece_name(right.id)), rank, parts: vec![] });
            }
            symbols[pos] = Symbol { id: new_id, prev: cur.prev, next: right.next, len: cur.len + right.len };
            symbols[next_pos].len = 0;
            if right.next >= 0 && (right.next as usize) < symbols.len() {
                symbols[right.next as usize].prev = pos as isize;
            }
            let merged = symbols[pos];
            if merged.prev >= 0 {
                let p = merged.prev as usize;
                if let Some(&(r, id)) = self.merges.get(&(symbols[p].id, merged.id)) {
                    queue.push(Reverse((r, p, id)));
                }
            }
            if merged.next >= 0 && (merged.next as usize) < symbols.len() {
                if let Some(&(r, id)) = self.merges.get(&(merged.id, symbols[merged.next as usize].id)) {
                    queue.push(Reverse((r, pos, id)));
                }
            }
            if let Some(t) = trace.as_deref_mut().filter(|_| symbols.len() <= TRACE_PARTS_MAX) {
                let parts = symbols.iter().filter(|s| s.len > 0).map(|s| self.piece_name(s.id)).collect();
                if let Some(last) = t.merges.last_mut() {
                    last.parts = parts;
                }
            }
        }
        Ok(symbols.into_iter().filter(|s| s.len > 0).map(|s| (s.id, s.len)).collect())
    }
}

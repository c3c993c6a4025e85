//! A SentencePiece model file (`.spm`, `.model`: a protobuf `ModelProto`) run as the
//! `sentencepiece` library runs it, for the tokenizers transformers keeps only in their slow
//! (Python) form, Marian's above all ([`super::marian`]).
//!
//! Reference semantics: google/sentencepiece `normalizer.cc` (`Normalize`, `NormalizePrefix`),
//! `unigram_model.cc` (`EncodeOptimized`), `sentencepiece_processor.cc`
//! (`PopulateSentencePieceText`, `Decode`). Where this differs from Hugging Face `tokenizers`'
//! Unigram ([`super::unigram`]), it is on purpose, because the slow tokenizer calls the library:
//! the charsmap rewrites the longest rule at each position (not per grapheme), scores add up in
//! f32, control pieces (`</s>`) never match text, and spaces are handled in the normaliser, not
//! by a pre-tokenizer.
//!
//! ```text
//! text -> normalise: longest charsmap rule (else the character), leading / repeated / trailing
//!                    spaces dropped, "▁" before the text and for every space     (norm -> orig offsets)
//!      -> Viterbi over the pieces that match (f32 scores; an uncovered character is <unk>,
//!         scored min - 10; user-defined pieces always win)
//!      -> runs of <unk> fused (or, with byte fallback, each <unk> spelled as <0xXX> pieces)
//! ```
//!
//! The protobuf is read once, by [`SpmFile::from_proto`], into a plain form that serialises to
//! JSON: the converted tokenizer.json carries it, so the CLI and the page pass one file on.

use super::charsmap::CharsMap;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What `sentencepiece` writes as the piece of a space.
pub const SPACE: &str = "\u{2581}";
/// The library's penalty below the lowest piece score for an uncovered character.
const UNK_PENALTY: f32 = 10.0;

// The fields of sentencepiece_model.proto that change how text is cut (field numbers as there).
#[derive(Clone, PartialEq, prost::Message)]
struct ModelProto {
    #[prost(message, repeated, tag = "1")]
    pieces: Vec<PieceProto>,
    #[prost(message, optional, tag = "2")]
    trainer_spec: Option<TrainerSpec>,
    #[prost(message, optional, tag = "3")]
    normalizer_spec: Option<NormalizerSpec>,
    #[prost(message, optional, tag = "5")]
    denormalizer_spec: Option<NormalizerSpec>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PieceProto {
    #[prost(string, optional, tag = "1")]
    piece: Option<String>,
    #[prost(float, optional, tag = "2")]
    score: Option<f32>,
    #[prost(int32, optional, tag = "3")]
    kind: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TrainerSpec {
    #[prost(int32, optional, tag = "3")]
    model_type: Option<i32>,
    #[prost(bool, optional, tag = "24")]
    treat_whitespace_as_suffix: Option<bool>,
    #[prost(bool, optional, tag = "35")]
    byte_fallback: Option<bool>,
    #[prost(string, optional, tag = "44")]
    unk_surface: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct NormalizerSpec {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    precompiled_charsmap: Option<Vec<u8>>,
    #[prost(bool, optional, tag = "3")]
    add_dummy_prefix: Option<bool>,
    #[prost(bool, optional, tag = "4")]
    remove_extra_whitespaces: Option<bool>,
    #[prost(bool, optional, tag = "5")]
    escape_whitespaces: Option<bool>,
}

/// A piece's type, as the file numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl Kind {
    fn of(code: i32) -> Option<Kind> {
        Some(match code {
            1 => Kind::Normal,
            2 => Kind::Unknown,
            3 => Kind::Control,
            4 => Kind::UserDefined,
            5 => Kind::Unused,
            6 => Kind::Byte,
            _ => return None,
        })
    }
}

/// A model file in plain form: what the converted tokenizer.json stores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpmFile {
    /// `[piece, score, type]`, the type as the file numbers it (1 normal, 2 unknown, 3 control,
    /// 4 user-defined, 5 unused, 6 byte).
    pub pieces: Vec<(String, f32, i32)>,
    /// The normaliser's rules (base64, as tokenizer.json's `Precompiled` holds them); none for
    /// the `identity` normaliser.
    pub precompiled_charsmap: Option<String>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
    pub byte_fallback: bool,
    /// What an `<unk>` piece decodes to (the library's default: " ⁇ ").
    pub unk_surface: String,
}

impl SpmFile {
    /// Read `bytes`, a SentencePiece model file named `file` in messages. Only unigram models
    /// (every Marian model) are read; the others are refused by name.
    pub fn from_proto(file: &str, bytes: &[u8]) -> Result<SpmFile> {
        let bad = |problem: String| Error::file(file, problem, "Use the SentencePiece model saved with the checkpoint (save_pretrained copies it)");
        let proto = <ModelProto as prost::Message>::decode(bytes).map_err(|e| bad(format!("is not a SentencePiece model file ({e})")))?;
        if proto.pieces.is_empty() {
            return Err(bad("holds no pieces".into()));
        }
        let trainer = proto.trainer_spec.unwrap_or_default();
        let model_type = trainer.model_type.unwrap_or(1);
        if model_type != 1 {
            let name = match model_type {
                2 => "BPE",
                3 => "word",
                4 => "char",
                _ => "unknown",
            };
            return Err(Error::file(file, format!("is a SentencePiece {name} model; Glassbox reads SentencePiece unigram models here (Marian's)"), "Save the tokenizer with a tokenizer.json (AutoTokenizer.from_pretrained(folder).save_pretrained(folder)) and load that"));
        }
        if trainer.treat_whitespace_as_suffix.unwrap_or(false) {
            return Err(Error::file(file, "puts the space piece after words (treat_whitespace_as_suffix), which Glassbox does not read", "Use a model trained with spaces before words (the default)"));
        }
        if proto.denormalizer_spec.as_ref().and_then(|d| d.precompiled_charsmap.as_ref()).is_some_and(|m| !m.is_empty()) {
            return Err(Error::file(file, "has decoding rules (a denormalizer), which Glassbox does not read", "Use a model without denormalisation rules"));
        }
        let mut pieces = Vec::with_capacity(proto.pieces.len());
        for (i, p) in proto.pieces.into_iter().enumerate() {
            let piece = p.piece.unwrap_or_default();
            if piece.is_empty() {
                return Err(bad(format!("piece {i} is empty")));
            }
            crate::loader::limits::check_piece("SentencePiece", &piece)?;
            let kind = p.kind.unwrap_or(1);
            if Kind::of(kind).is_none() {
                return Err(bad(format!("piece {i} ({piece:?}) has type {kind}, which SentencePiece does not define")));
            }
            let score = p.score.unwrap_or(0.0);
            if !score.is_finite() {
                return Err(bad(format!("piece {i} ({piece:?}) has the score {score}, not a finite number")));
            }
            pieces.push((piece, score, kind));
        }
        let spec = proto.normalizer_spec.unwrap_or_default();
        let charsmap = spec.precompiled_charsmap.filter(|m| !m.is_empty()).map(|m| super::charsmap::encode_base64(&m));
        let file_form = SpmFile {
            pieces,
            precompiled_charsmap: charsmap,
            add_dummy_prefix: spec.add_dummy_prefix.unwrap_or(true),
            remove_extra_whitespaces: spec.remove_extra_whitespaces.unwrap_or(true),
            escape_whitespaces: spec.escape_whitespaces.unwrap_or(true),
            byte_fallback: trainer.byte_fallback.unwrap_or(false),
            unk_surface: trainer.unk_surface.unwrap_or_else(|| " \u{2047} ".into()),
        };
        // Checked now, so a bad file is named by its own name rather than as tokenizer.json later.
        Spm::new(file_form.clone()).map_err(|e| bad(e.to_string()))?;
        Ok(file_form)
    }
}

/// One piece of an encoding: the piece's text, its id in the model file, where it sits in the
/// original text (bytes), its score and whether it is the unknown piece.
#[derive(Debug, Clone)]
pub struct SpmPiece {
    pub piece: String,
    pub id: u32,
    pub span: (usize, usize),
    pub score: f32,
    pub unk: bool,
}

/// A model file ready to run.
#[derive(Debug, Clone)]
pub struct Spm {
    file: SpmFile,
    kinds: Vec<Kind>,
    /// Pieces text can match (normal, user-defined, unused), and every other piece by name (for
    /// decoding, the library's `PieceToId`).
    matchable: HashMap<String, u32>,
    reserved: HashMap<String, u32>,
    /// User-defined pieces, longest first: the normaliser leaves them as they are.
    user_defined: Vec<String>,
    max_piece_len: usize,
    min_score: f32,
    max_score: f32,
    unk_id: u32,
    charsmap: Option<CharsMap>,
}

impl Spm {
    pub fn new(file: SpmFile) -> Result<Spm> {
        let mut kinds = Vec::with_capacity(file.pieces.len());
        let (mut matchable, mut reserved) = (HashMap::new(), HashMap::new());
        let (mut min_score, mut max_score) = (f32::MAX, f32::MIN_POSITIVE);
        let (mut unk_id, mut user_defined, mut max_piece_len) = (None, Vec::new(), 0);
        for (i, (piece, score, code)) in file.pieces.iter().enumerate() {
            let kind = Kind::of(*code).ok_or_else(|| Error::tokenizer(format!("SentencePiece piece {i} has type {code}"), "Convert the tokenizer again"))?;
            kinds.push(kind);
            let map = if matches!(kind, Kind::Normal | Kind::UserDefined | Kind::Unused) { &mut matchable } else { &mut reserved };
            if map.insert(piece.clone(), i as u32).is_some() {
                return Err(Error::tokenizer(format!("the SentencePiece model holds the piece {piece:?} twice"), "Use the model file saved with the checkpoint"));
            }
            match kind {
                Kind::Normal => {
                    min_score = min_score.min(*score);
                    max_score = max_score.max(*score);
                }
                Kind::Unknown => unk_id = Some(i as u32),
                Kind::UserDefined => user_defined.push(piece.clone()),
                _ => {}
            }
            max_piece_len = max_piece_len.max(piece.len());
        }
        let unk_id = unk_id.ok_or_else(|| Error::tokenizer("the SentencePiece model has no unknown piece (type 2)", "Use the model file saved with the checkpoint"))?;
        user_defined.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let charsmap = file.precompiled_charsmap.as_deref().map(CharsMap::from_base64).transpose()?;
        Ok(Spm { file, kinds, matchable, reserved, user_defined, max_piece_len, min_score, max_score, unk_id, charsmap })
    }

    pub fn piece(&self, id: u32) -> Option<&str> {
        self.file.pieces.get(id as usize).map(|p| p.0.as_str())
    }

    /// The library's `PieceToId`: any piece by name, else the unknown piece.
    fn piece_to_id(&self, piece: &str) -> u32 {
        self.matchable.get(piece).or_else(|| self.reserved.get(piece)).copied().unwrap_or(self.unk_id)
    }

    /// What the normaliser does with the start of `rest`: (what it writes, bytes consumed).
    fn normalize_prefix<'a>(&'a self, rest: &'a str) -> (&'a str, usize) {
        if let Some(p) = self.user_defined.iter().find(|p| rest.starts_with(p.as_str())) {
            return (&rest[..p.len()], p.len());
        }
        if let Some((len, rewrite)) = self.charsmap.as_ref().and_then(|m| m.longest_prefix(rest.as_bytes())) {
            // A rule that ends inside a character (a corrupt map) is not taken.
            if rest.is_char_boundary(len) {
                return (rewrite, len);
            }
        }
        let len = rest.chars().next().map_or(rest.len(), char::len_utf8);
        (&rest[..len], len)
    }

    /// The normalised text and, for each of its bytes and one past the end, the byte of `text`
    /// it came from (the library's `norm_to_orig`).
    pub fn normalize(&self, text: &str) -> (String, Vec<usize>) {
        let f = &self.file;
        let mut out: Vec<u8> = Vec::with_capacity(text.len() + 3);
        let mut orig: Vec<usize> = Vec::with_capacity(text.len() + 4);
        let (mut rest, mut consumed) = (text, 0usize);
        if f.remove_extra_whitespaces {
            loop {
                let (written, len) = self.normalize_prefix(rest);
                if rest.is_empty() || written != " " {
                    break;
                }
                rest = &rest[len..];
                consumed += len;
            }
        }
        if rest.is_empty() {
            return (String::new(), vec![consumed]);
        }
        let space: &[u8] = if f.escape_whitespaces { SPACE.as_bytes() } else { b" " };
        if f.add_dummy_prefix {
            out.extend_from_slice(space);
            orig.extend(std::iter::repeat_n(consumed, space.len()));
        }
        let mut prev_space = f.remove_extra_whitespaces;
        while !rest.is_empty() {
            let (written, len) = self.normalize_prefix(rest);
            let mut written = written.as_bytes();
            while prev_space && written.first() == Some(&b' ') {
                written = &written[1..];
            }
            if !written.is_empty() {
                for &b in written {
                    if b == b' ' {
                        out.extend_from_slice(space);
                        orig.extend(std::iter::repeat_n(consumed, space.len()));
                    } else {
                        out.push(b);
                        orig.push(consumed);
                    }
                }
                prev_space = written.last() == Some(&b' ');
            }
            consumed += len;
            rest = &rest[len..];
            if !f.remove_extra_whitespaces {
                prev_space = false;
            }
        }
        if f.remove_extra_whitespaces {
            while out.ends_with(space) {
                let keep = out.len() - space.len();
                consumed = orig[keep];
                out.truncate(keep);
                orig.truncate(keep);
            }
        }
        orig.push(consumed);
        // Only whole characters were written (rules are UTF-8 strings; spaces are single bytes).
        (String::from_utf8(out).unwrap_or_default(), orig)
    }

    /// `text` cut into pieces, as `SentencePieceProcessor.encode(text, out_type=str)` cuts it.
    pub fn encode(&self, text: &str) -> Vec<SpmPiece> {
        let (norm, orig) = self.normalize(text);
        let n = norm.len();
        if n == 0 {
            return Vec::new();
        }
        #[derive(Clone, Copy)]
        struct Best {
            score: f32,
            start: Option<usize>,
            id: u32,
        }
        let unk_score = self.min_score - UNK_PENALTY;
        let mut best = vec![Best { score: 0.0, start: None, id: 0 }; n + 1];
        let mut start = 0;
        while start < n {
            let here = best[start].score;
            let char_len = norm[start..].chars().next().map_or(1, char::len_utf8);
            let mut single = false;
            let limit = (start + self.max_piece_len).min(n);
            let mut end = start + char_len;
            while end <= limit {
                if let Some(&id) = self.matchable.get(&norm[start..end]) {
                    let kind = self.kinds[id as usize];
                    if kind != Kind::Unused {
                        let length = (end - start) as f32;
                        let score = if kind == Kind::UserDefined { length * self.max_score - 0.1 } else { self.file.pieces[id as usize].1 };
                        let cand = here + score;
                        let node = &mut best[end];
                        if node.start.is_none() || cand > node.score {
                            *node = Best { score: cand, start: Some(start), id };
                        }
                        single |= end - start == char_len;
                    }
                }
                end += norm[end..].chars().next().map_or(1, char::len_utf8);
            }
            if !single {
                let cand = here + unk_score;
                let node = &mut best[start + char_len];
                if node.start.is_none() || cand > node.score {
                    *node = Best { score: cand, start: Some(start), id: self.unk_id };
                }
            }
            start += char_len;
        }
        let mut path = Vec::new();
        let mut end = n;
        while end > 0 {
            let node = best[end];
            let s = node.start.unwrap_or(0);
            path.push((s, end, node.id));
            end = s;
        }
        path.reverse();

        let mut out: Vec<SpmPiece> = Vec::with_capacity(path.len());
        let mut prev_unk = false;
        for (s, e, id) in path {
            let unk = id == self.unk_id;
            let span = (orig[s], orig[e]);
            let score = if unk { unk_score } else if self.kinds[id as usize] == Kind::UserDefined { (e - s) as f32 * self.max_score - 0.1 } else { self.file.pieces[id as usize].1 };
            if unk && self.file.byte_fallback {
                for b in norm[s..e].bytes() {
                    let name = format!("<0x{b:02X}>");
                    let id = self.piece_to_id(&name);
                    out.push(SpmPiece { piece: name, id, span, score, unk: id == self.unk_id });
                }
            } else if unk && prev_unk {
                if let Some(last) = out.last_mut() {
                    last.piece.push_str(&norm[s..e]);
                    last.span.1 = span.1;
                    last.score += score;
                }
            } else {
                out.push(SpmPiece { piece: norm[s..e].to_string(), id, span, score, unk });
            }
            prev_unk = unk;
        }
        out
    }

    /// `SentencePieceProcessor.decode_pieces(pieces)`: controls vanish, `<unk>` reads as the
    /// model's unknown surface, a piece the model lacks as itself, byte pieces as their bytes,
    /// "▁" as a space, and the first piece's leading space is dropped.
    pub fn decode_pieces(&self, pieces: &[&str]) -> String {
        let f = &self.file;
        let mut text = String::new();
        let mut bytes: Vec<u8> = Vec::new();
        let (mut expect_bos_space, mut bos_space_seen) = (true, false);
        for &piece in pieces {
            let id = self.piece_to_id(piece);
            let kind = self.kinds[id as usize];
            if kind == Kind::Byte {
                bytes.push(byte_of(piece).unwrap_or(0));
                continue;
            }
            push_bytes(&mut text, &mut bytes);
            if bos_space_seen || !text.is_empty() {
                expect_bos_space = false;
            }
            bos_space_seen = false;
            match kind {
                Kind::Control => {}
                Kind::Unknown if self.piece(id) == Some(piece) => text.push_str(&f.unk_surface),
                Kind::Unknown => text.push_str(piece),
                _ => {
                    let mut p = piece;
                    if expect_bos_space && (f.add_dummy_prefix || f.remove_extra_whitespaces) {
                        if let Some(stripped) = p.strip_prefix(SPACE) {
                            p = stripped;
                            bos_space_seen = !f.remove_extra_whitespaces;
                        }
                    }
                    text.push_str(&p.replace(SPACE, " "));
                }
            }
        }
        push_bytes(&mut text, &mut bytes);
        text
    }
}

/// The byte of a `<0xXX>` piece.
fn byte_of(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    (hex.len() == 2).then(|| u8::from_str_radix(hex, 16).ok()).flatten()
}

/// Byte pieces as text, as the library writes them: each invalid byte becomes U+FFFD.
fn push_bytes(text: &mut String, bytes: &mut Vec<u8>) {
    let mut at = 0;
    while at < bytes.len() {
        let len = match bytes[at] {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 0,
        };
        match bytes.get(at..at + len.max(1)).and_then(|b| std::str::from_utf8(b).ok()).filter(|_| len > 0) {
            Some(s) => {
                text.push_str(s);
                at += len;
            }
            None => {
                text.push('\u{FFFD}');
                at += 1;
            }
        }
    }
    bytes.clear();
}

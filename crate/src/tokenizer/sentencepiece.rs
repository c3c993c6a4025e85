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
//! The converted tokenizer.json carries the model files themselves (base64); [`SpmFile::from_proto`]
//! reads one, [`Spm::new`] makes it ready to run.

use super::charsmap::CharsMap;
use crate::error::{Error, Result};
use crate::loader::limits;
use crate::rank;
use std::collections::HashMap;

/// What `sentencepiece` writes as the piece of a space.
pub const SPACE: &str = "\u{2581}";
/// The library's penalty below the lowest piece score for an uncovered character.
const UNK_PENALTY: f32 = 10.0;

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

/// What a model file says about cutting text: its pieces and the normaliser's and trainer's
/// settings that change the result.
#[derive(Debug, Clone)]
pub struct SpmFile {
    /// `(piece, score, type)`, the type as the file numbers it (1 normal, 2 unknown, 3 control,
    /// 4 user-defined, 5 unused, 6 byte).
    pub pieces: Vec<(String, f32, i32)>,
    /// The normaliser's rules (`precompiled_charsmap`); none for the `identity` normaliser.
    pub precompiled_charsmap: Option<Vec<u8>>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
    pub byte_fallback: bool,
    /// What an `<unk>` piece decodes to (the library's default: " ⁇ ").
    pub unk_surface: String,
}

// Protobuf's wire format, read for the few fields of sentencepiece_model.proto that change how
// text is cut (field numbers as there). Written here rather than taken from a protobuf crate:
// reading 14 fields is 70 lines, and the crate cost 20 KB of the shipped wasm.

/// One field's value on the wire.
enum Wire<'a> {
    Varint(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
    Fixed64,
}

/// The fields of one message, in order: `(number, value)`, or `Err` with what is wrong.
fn fields(mut bytes: &[u8]) -> impl Iterator<Item = std::result::Result<(u64, Wire<'_>), &'static str>> {
    fn varint(bytes: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = bytes.split_first()?;
            *bytes = rest;
            value |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Some(value);
            }
        }
        None
    }
    fn take<'a>(bytes: &mut &'a [u8], n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok().filter(|&n| n <= bytes.len())?;
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Some(head)
    }
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let field = (|| {
            let key = varint(&mut bytes).ok_or("a field key runs past the end")?;
            let value = match key & 7 {
                0 => Wire::Varint(varint(&mut bytes).ok_or("a number runs past the end")?),
                1 => take(&mut bytes, 8).map(|_| Wire::Fixed64).ok_or("a field runs past the end")?,
                2 => {
                    let len = varint(&mut bytes).ok_or("a length runs past the end")?;
                    Wire::Bytes(take(&mut bytes, len).ok_or("a field is longer than the file")?)
                }
                5 => take(&mut bytes, 4).map(|b| Wire::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))).ok_or("a field runs past the end")?,
                _ => return Err("a field has a wire type protobuf does not use here"),
            };
            Ok((key >> 3, value))
        })();
        if field.is_err() {
            bytes = &[]; // one error, then the end
        }
        Some(field)
    })
}

impl SpmFile {
    /// Read `bytes`, a SentencePiece model file named `file` in messages. Only unigram models
    /// (every Marian model) are read; the others are refused by name.
    pub fn from_proto(file: &str, bytes: &[u8]) -> Result<SpmFile> {
        let bad = |problem: String| Error::file(file, problem, "Use the SentencePiece model saved with the checkpoint (save_pretrained copies it)");
        let not_spm = |why: &str| bad(format!("is not a SentencePiece model file ({why})"));
        let mut spm = SpmFile { pieces: Vec::new(), precompiled_charsmap: None, add_dummy_prefix: true, remove_extra_whitespaces: true, escape_whitespaces: true, byte_fallback: false, unk_surface: " \u{2047} ".into() };
        let (mut model_type, mut suffix, mut denormalizer) = (1, false, false);
        let text = |b: &[u8]| std::str::from_utf8(b).map(str::to_string).map_err(|_| not_spm("a piece is not UTF-8"));
        for field in fields(bytes) {
            match field.map_err(not_spm)? {
                (1, Wire::Bytes(piece)) => {
                    let (mut name, mut score, mut kind) = (String::new(), 0f32, 1i32);
                    for f in fields(piece) {
                        match f.map_err(not_spm)? {
                            (1, Wire::Bytes(b)) => name = text(b)?,
                            (2, Wire::Fixed32(bits)) => score = f32::from_bits(bits),
                            (3, Wire::Varint(v)) => kind = v as i32,
                            _ => {}
                        }
                    }
                    spm.pieces.push((name, score, kind));
                }
                (2, Wire::Bytes(trainer)) => {
                    for f in fields(trainer) {
                        match f.map_err(not_spm)? {
                            (3, Wire::Varint(v)) => model_type = v,
                            (24, Wire::Varint(v)) => suffix = v != 0,
                            (35, Wire::Varint(v)) => spm.byte_fallback = v != 0,
                            (44, Wire::Bytes(b)) => spm.unk_surface = text(b)?,
                            _ => {}
                        }
                    }
                }
                (3, Wire::Bytes(normalizer)) => {
                    for f in fields(normalizer) {
                        match f.map_err(not_spm)? {
                            (2, Wire::Bytes(b)) => spm.precompiled_charsmap = Some(b.to_vec()).filter(|m| !m.is_empty()),
                            (3, Wire::Varint(v)) => spm.add_dummy_prefix = v != 0,
                            (4, Wire::Varint(v)) => spm.remove_extra_whitespaces = v != 0,
                            (5, Wire::Varint(v)) => spm.escape_whitespaces = v != 0,
                            _ => {}
                        }
                    }
                }
                (5, Wire::Bytes(d)) => {
                    for f in fields(d) {
                        if let (2, Wire::Bytes(b)) = f.map_err(not_spm)? {
                            denormalizer = !b.is_empty();
                        }
                    }
                }
                _ => {}
            }
        }
        if spm.pieces.is_empty() {
            return Err(bad("holds no pieces".into()));
        }
        if model_type != 1 {
            let name = match model_type {
                2 => "BPE",
                3 => "word",
                4 => "char",
                _ => "unknown",
            };
            return Err(Error::file(file, format!("is a SentencePiece {name} model; Glassbox reads SentencePiece unigram models here (Marian's, M2M100's)"), "Load a folder with a tokenizer.json, which AutoTokenizer.from_pretrained(folder).save_pretrained(folder) writes where transformers has a fast tokenizer"));
        }
        if suffix {
            return Err(Error::file(file, "puts the space piece after words (treat_whitespace_as_suffix), which Glassbox does not read", "Use a model trained with spaces before words (the default)"));
        }
        if spm.unk_surface.len() > limits::MAX_PIECE_BYTES {
            return Err(bad(format!("has an unknown-piece surface of {} bytes, longer than any piece may be ({})", spm.unk_surface.len(), limits::MAX_PIECE_BYTES)));
        }
        if denormalizer {
            return Err(Error::file(file, "has decoding rules (a denormalizer), which Glassbox does not read", "Use a model without denormalisation rules"));
        }
        // Each piece is checked by `Spm::new`, which every path takes.
        Ok(spm)
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
    /// [`SpmFile::from_proto`] then [`Spm::new`], every problem named by `file`.
    pub fn from_proto(file: &str, bytes: &[u8]) -> Result<Spm> {
        Spm::new(SpmFile::from_proto(file, bytes)?).map_err(|e| match e {
            Error::Tokenizer { problem, fix } => Error::file(file, problem, fix),
            other => other,
        })
    }

    pub fn new(file: SpmFile) -> Result<Spm> {
        let mut kinds = Vec::with_capacity(file.pieces.len());
        let (mut matchable, mut reserved) = (HashMap::new(), HashMap::new());
        let (mut min_score, mut max_score) = (f32::MAX, f32::MIN_POSITIVE);
        let (mut unk_id, mut user_defined, mut max_piece_len) = (None, Vec::new(), 0);
        let bad = |problem: String| Error::tokenizer(problem, "Use the SentencePiece model saved with the checkpoint");
        for (i, (piece, score, code)) in file.pieces.iter().enumerate() {
            if piece.is_empty() {
                return Err(bad(format!("piece {i} is empty")));
            }
            limits::check_piece("SentencePiece", piece)?;
            if !score.is_finite() {
                return Err(bad(format!("piece {i} ({piece:?}) has the score {score}, not a finite number")));
            }
            let kind = Kind::of(*code).ok_or_else(|| bad(format!("piece {i} ({piece:?}) has type {code}, which SentencePiece does not define")))?;
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
        // Longest first, pieces of one length in the file's order.
        let mut keys: Vec<u64> = user_defined.iter().enumerate().map(|(i, p)| rank::key_desc(p.len() as u32, i as u32)).collect();
        rank::sort(&mut keys);
        let user_defined: Vec<String> = keys.into_iter().map(|k| std::mem::take(&mut user_defined[rank::tie(k) as usize])).collect();
        let charsmap = file.precompiled_charsmap.as_deref().map(CharsMap::from_bytes).transpose()?;
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
    /// it came from (the library's `norm_to_orig`). A map whose rules would grow the text past
    /// [`limits::max_normalized_len`] is refused as it grows, before the memory is taken.
    pub fn normalize(&self, text: &str) -> Result<(String, Vec<usize>)> {
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
            return Ok((String::new(), vec![consumed]));
        }
        let max = limits::max_normalized_len(text.len());
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
                if out.len() > max {
                    limits::check_growth("the SentencePiece normaliser", text.len(), out.len())?;
                }
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
        Ok((String::from_utf8(out).unwrap_or_default(), orig))
    }

    /// `text` cut into pieces, as `SentencePieceProcessor.encode(text, out_type=str)` cuts it.
    /// The lattice walk has the shape of `unigram::Unigram::best_path` (HF's), kept apart on
    /// purpose: scores here add up in f32, user-defined pieces get the library's bonus and unused
    /// ones are skipped, and either change there would move HF's ids.
    pub fn encode(&self, text: &str) -> Result<Vec<SpmPiece>> {
        let (norm, orig) = self.normalize(text)?;
        let n = norm.len();
        if n == 0 {
            return Ok(Vec::new());
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
        Ok(out)
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
                bytes.push(super::byte_piece(piece).unwrap_or(0));
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

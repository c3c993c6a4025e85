//! Marian's tokenizer (transformers' `MarianTokenizer`), which exists only in slow (Python) form:
//! an opus-mt folder holds `source.spm`, `target.spm` and `vocab.json` (with separate
//! vocabularies also `target_vocab.json`), never a tokenizer.json.
//!
//! Reference semantics: `transformers/models/marian/tokenization_marian.py` over the
//! `sentencepiece` library ([`super::sentencepiece`]).
//!
//! ```text
//! encode: text -> special tokens cut out (</s>, <unk>, <pad>, as added tokens)
//!              -> each other stretch: a leading ">>xx<<" language code is one token, the rest
//!                 is cut by source.spm
//!              -> each piece's id from vocab.json (a piece it lacks is <unk>) -> ids + [</s>]
//! decode: ids -> strings from vocab.json (target_vocab.json with separate vocabularies; an id
//!              it lacks: the SentencePiece model's own piece)
//!              -> each run between special tokens decoded by source.spm (shared vocabulary)
//!                 or target.spm (separate), special tokens written as they are plus a space,
//!                 "▁" -> " ", and the ends trimmed
//! ```
//!
//! [`tokenizer_json`] turns the folder's files into one tokenizer.json of Glassbox's own (model
//! `type` "MarianSentencePiece", the SentencePiece models in plain form), so the CLI, the wasm
//! boundary and the page pass Marian's tokenizer on like any other.
//!
//! **M2M100** (`M2M100Tokenizer`, facebook/m2m100_418M and _1.2B) is slow-only too and runs the same
//! way: one `sentencepiece.bpe.model` (a unigram model, whatever the name says) and `vocab.json`.
//! [`m2m100_tokenizer_json`] writes the same model section with no `target_spm` and the
//! `language_codes` set ("m2m100": 100 codes, "wmt21": 8). Where it differs from Marian:
//!
//! ```text
//! ids:    vocab.json (a piece it lacks is <unk>); then the set's language tokens "__xx__",
//!         code i at len(vocab.json) + i. num_madeup_words (8) gives no ids: the model's table
//!         is that much larger, and the tokenizer reads those ids (like any id past its own) as
//!         unk_token's text
//! encode: no ">>xx<<" rule; "__fr__" typed in the text is cut by the SentencePiece model unless
//!         the config lists it as a special token (then its id above)
//! template: [__src_lang__] ids </s> (pairs: [__src_lang__] a b </s>); src_lang defaults to "en"
//! decode: special tokens written as they are, with no space after them
//! ```

use super::charsmap::{decode_base64, encode_base64};
use super::sentencepiece::{Spm, SPACE};
use super::transformers_config::TransformersConfig;
use super::unigram::{UnigramStep, UnigramTrace};
use super::{json, Token};
use crate::error::{Error, Result};
use crate::loader::parse_json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// The files of a Marian tokenizer, as `MarianTokenizer.save_pretrained` writes them (or M2M100's).
pub struct MarianFiles<'a> {
    /// `sentencepiece.bpe.model` for M2M100.
    pub source_spm: &'a [u8],
    /// `None`: an M2M100 folder's files.
    pub target_spm: Option<&'a [u8]>,
    pub vocab: &'a [u8],
    /// `target_vocab.json`: read only when tokenizer_config.json says `separate_vocabs`.
    pub target_vocab: Option<&'a [u8]>,
    pub tokenizer_config: Option<&'a [u8]>,
}

pub use crate::loader::MARIAN_FILES;

/// The model section of the converted tokenizer.json: the two SentencePiece model files as
/// they are (base64) and the vocabularies.
#[derive(Serialize, Deserialize)]
struct MarianJson {
    #[serde(rename = "type")]
    kind: String,
    source_spm: String,
    /// Empty for M2M100: one model does both (plain strings: an `Option` costs the wasm more).
    #[serde(default)]
    target_spm: String,
    vocab: HashMap<String, u32>,
    #[serde(default)]
    target_vocab: Option<HashMap<String, u32>>,
    unk_token: String,
    /// M2M100's `language_codes`, which marks the file as M2M100's (empty for Marian).
    #[serde(default)]
    language_codes: String,
}

/// The converted tokenizer.json: the model section alone (loading it supplies MarianTokenizer's
/// special tokens and template, `Tokenizer::for_model`).
#[derive(Serialize)]
struct ConvertedJson {
    glassbox: &'static str,
    model: MarianJson,
}

/// One tokenizer.json (Glassbox's form, see the module doc) from a Marian folder's files, or an
/// M2M100 folder's (`target_spm` `None`).
pub fn tokenizer_json(files: &MarianFiles) -> Result<Vec<u8>> {
    let config: Option<Value> = files.tokenizer_config.map(|b| parse_json("tokenizer_config.json", b)).transpose()?;
    let m2m100 = files.target_spm.is_none();
    // The roles as `Tokenizer::for_model` reads them for this class (its defaults included).
    let mut transformers = TransformersConfig::new(config.as_ref(), None, None);
    transformers.set_class(if m2m100 { "M2M100Tokenizer" } else { "MarianTokenizer" });
    let separate = !m2m100 && transformers.flag("separate_vocabs")?.unwrap_or(false);
    let mut language_codes = String::new();
    if m2m100 {
        language_codes = config.as_ref().and_then(|c| c.get("language_codes")).and_then(Value::as_str).unwrap_or("m2m100").into();
        m2m100_codes(&language_codes)?;
    }
    let vocab: HashMap<String, u32> = parse_json("vocab.json", files.vocab)?;
    let target_vocab: Option<HashMap<String, u32>> = match (separate, files.target_vocab) {
        (false, _) => None,
        (true, Some(bytes)) => Some(parse_json("target_vocab.json", bytes)?),
        (true, None) => {
            return Err(Error::file("target_vocab.json", "is missing, and tokenizer_config.json says the vocabularies are separate (`separate_vocabs`)", "Add the target_vocab.json saved with the checkpoint"))
        }
    };
    // MarianTokenizer and M2M100Tokenizer fail without it (`self.encoder[self.unk_token]`); the eos
    // they append is checked where the template is made (`Tokenizer::for_model`).
    let unk = transformers.role_text("unk_token").unwrap_or_else(|| "<unk>".into());
    if !vocab.contains_key(&unk) {
        return Err(Error::file("vocab.json", format!("has no entry for the unk_token {unk:?}"), "Use the vocab.json saved with the checkpoint, or name a token it holds in tokenizer_config.json"));
    }
    // Read now so that a bad file is named by its own name, not later as tokenizer.json.
    for (name, table) in [("vocab.json", Some(&vocab)), ("target_vocab.json", target_vocab.as_ref())] {
        if let Some(Err(Error::Tokenizer { problem, .. })) = table.map(|t| json::reverse_vocab(t, "the")) {
            return Err(Error::file(name, problem, "Use the vocabulary saved with the checkpoint: every entry has its own id"));
        }
    }
    Spm::from_proto(if m2m100 { M2M100_FILES[0] } else { "source.spm" }, files.source_spm)?;
    files.target_spm.map(|t| Spm::from_proto("target.spm", t)).transpose()?;
    let file = ConvertedJson {
        glassbox: "Converted by Glassbox from MarianTokenizer's or M2M100Tokenizer's files, which have no tokenizer.json form",
        model: MarianJson {
            kind: "MarianSentencePiece".into(),
            source_spm: encode_base64(files.source_spm),
            target_spm: files.target_spm.map(encode_base64).unwrap_or_default(),
            vocab,
            target_vocab,
            unk_token: unk,
            language_codes,
        },
    };
    serde_json::to_vec(&file).map_err(|e| Error::tokenizer(format!("the converted tokenizer could not be written ({e})"), "Report this with the folder's files"))
}

/// The files M2M100Tokenizer reads in place of tokenizer.json.
pub const M2M100_FILES: [&str; 2] = ["sentencepiece.bpe.model", "vocab.json"];

/// [`tokenizer_json`] of an M2M100 folder's `sentencepiece.bpe.model`, `vocab.json` and
/// tokenizer_config.json (see the module doc).
pub fn m2m100_tokenizer_json(spm: &[u8], vocab: &[u8], tokenizer_config: Option<&[u8]>) -> Result<Vec<u8>> {
    tokenizer_json(&MarianFiles { source_spm: spm, target_spm: None, vocab, target_vocab: None, tokenizer_config })
}

/// transformers' `FAIRSEQ_LANGUAGE_CODES` for M2M100Tokenizer's `language_codes`.
const M2M100_CODES: &str = "af am ar ast az ba be bg bn br bs ca ceb cs cy da de el en es et fa ff fi fr fy ga gd gl gu ha he hi hr ht hu hy id ig ilo is it ja jv ka kk km kn ko lb lg ln lo lt lv mg mk ml mn mr ms my ne nl no ns oc or pa pl ps pt ro ru sd si sk sl so sq sr ss su sv sw ta th tl tn tr uk ur uz vi wo xh yi yo zh zu";
const WMT21_CODES: &str = "en ha is ja cs ru zh de";

/// The codes of one of M2M100Tokenizer's `language_codes` sets, in id order.
pub fn m2m100_codes(set: &str) -> Result<Vec<String>> {
    let codes = match set {
        "m2m100" => M2M100_CODES,
        "wmt21" => WMT21_CODES,
        _ => return Err(Error::file("tokenizer_config.json", format!("`language_codes` is {set:?}; M2M100Tokenizer knows \"m2m100\" and \"wmt21\""), "Set it as saved with the checkpoint")),
    };
    Ok(codes.split(' ').map(String::from).collect())
}

/// A Marian tokenizer, ready to run.
#[derive(Debug, Clone)]
pub struct Marian {
    source: Spm,
    target: Spm,
    vocab: HashMap<String, u32>,
    vocab_r: HashMap<u32, String>,
    /// target_vocab.json reversed (separate vocabularies): what decoding reads.
    target_vocab_r: Option<HashMap<u32, String>>,
    unk_token: String,
    unk: u32,
    /// M2M100's language tokens `__code__` (none for Marian): the i-th is id `vocab.len() + i`.
    langs: Vec<String>,
}

impl Marian {
    pub fn from_json(v: Value) -> Result<Marian> {
        let j: MarianJson = json::fields_owned(v, "model", "MarianSentencePiece")?;
        let unk = *j.vocab.get(&j.unk_token).ok_or_else(|| Error::tokenizer(format!("the Marian vocabulary has no entry for its unknown token {:?}", j.unk_token), "Convert the Marian folder again"))?;
        let vocab_r = json::reverse_vocab(&j.vocab, "MarianSentencePiece")?;
        let target_vocab_r = j.target_vocab.as_ref().map(|t| json::reverse_vocab(t, "MarianSentencePiece")).transpose()?;
        let spm = |name: &str, text: &str| {
            let bytes = decode_base64(text).ok_or_else(|| Error::tokenizer(format!("the Marian model's {name} is not valid base64"), "Convert the Marian folder again"))?;
            Spm::from_proto(name, &bytes)
        };
        let source = spm("source.spm", &j.source_spm)?;
        let target = match j.target_spm.as_str() {
            "" => source.clone(),
            t => spm("target.spm", t)?,
        };
        let codes = match j.language_codes.as_str() {
            "" => vec![],
            set => m2m100_codes(set)?,
        };
        let langs = codes.iter().map(|c| format!("__{c}__")).collect();
        Ok(Marian { source, target, vocab: j.vocab, vocab_r, target_vocab_r, unk_token: j.unk_token, unk, langs })
    }

    /// M2M100's (true) or Marian's (false).
    pub fn is_m2m100(&self) -> bool {
        !self.langs.is_empty()
    }

    /// M2M100's language codes, in id order (none for Marian).
    pub fn codes(&self) -> Vec<String> {
        self.langs.iter().map(|t| t[2..t.len() - 2].to_string()).collect()
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        // M2M100 looks its language tokens up first.
        let lang = self.langs.iter().position(|t| t == token);
        lang.map(|i| (self.vocab.len() + i) as u32).or_else(|| self.vocab.get(token).copied())
    }

    /// The input side's string of `id` (vocab.json, or M2M100's language token).
    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.lang_token(id).or_else(|| self.vocab_r.get(&id).map(String::as_str))
    }

    fn lang_token(&self, id: u32) -> Option<&str> {
        self.langs.get((id as usize).checked_sub(self.vocab.len())?).map(String::as_str)
    }

    /// The string decoding reads for `id`: the target vocabulary's with separate vocabularies,
    /// else vocab.json's; an id neither holds is the decoding model's own piece
    /// (`_convert_id_to_token`; transformers fails on ids past that too).
    /// M2M100 reads an id it lacks as `unk_token` (madeup words included).
    pub fn output_token(&self, id: u32) -> Option<&str> {
        if self.is_m2m100() {
            return Some(self.id_to_token(id).unwrap_or(&self.unk_token));
        }
        let (vocab_r, spm) = self.decoding_side();
        vocab_r.get(&id).map(String::as_str).or_else(|| spm.piece(id))
    }

    fn decoding_side(&self) -> (&HashMap<u32, String>, &Spm) {
        match &self.target_vocab_r {
            Some(t) => (t, &self.target),
            None => (&self.vocab_r, &self.source),
        }
    }

    pub fn size(&self) -> usize {
        self.vocab.len() + self.langs.len()
    }

    pub fn max_id(&self) -> Option<u32> {
        let langs = (self.size() as u32).checked_sub(1).filter(|_| self.is_m2m100());
        self.vocab_r.keys().max().copied().max(langs)
    }

    pub fn unk_token(&self) -> &str {
        &self.unk_token
    }

    /// One stretch of text between special tokens, as `MarianTokenizer._tokenize` and
    /// `_convert_token_to_id` give it; offsets are bytes of `text`.
    pub(crate) fn tokenize_traced(&self, text: &str) -> Result<(Vec<Token>, UnigramTrace)> {
        let mut tokens = Vec::new();
        let mut trace = UnigramTrace { path: Vec::new(), total_score: 0.0 };
        let id_of = |piece: &str| self.token_to_id(piece).unwrap_or(self.unk);
        // `remove_language_code`: ">>fr<<" at the start is a token of its own (an unknown code is <unk>).
        let mut skip = 0;
        if text.starts_with(">>") && !self.is_m2m100() {
            if let Some(end) = text.find("<<") {
                let code = &text[..end + 2];
                tokens.push(Token { id: id_of(code), value: code.to_string(), offsets: (0, code.len()) });
                let known = self.vocab.contains_key(code);
                let note = if known { "a language code: one token of its own, not cut" } else { "a language code vocab.json lacks: <unk>" };
                trace.path.push(UnigramStep { piece: code.to_string(), score: 0.0, unk: !known, note: Some(note) });
                skip = code.len();
            }
        }
        for p in self.source.encode(&text[skip..])? {
            let id = id_of(&p.piece);
            trace.total_score += p.score as f64;
            // A piece source.spm cuts but vocab.json lacks is <unk> for the model, though the cut chose it.
            let note = (!p.unk && id == self.unk && p.piece != self.unk_token).then_some("in source.spm, not in vocab.json: read as <unk>");
            trace.path.push(UnigramStep { piece: p.piece.clone(), score: p.score as f64, unk: p.unk || id == self.unk, note });
            tokens.push(Token { id, value: p.piece, offsets: (p.span.0 + skip, p.span.1 + skip) });
        }
        Ok((tokens, trace))
    }

    /// `MarianTokenizer.decode`: `skip(id)` says which ids to leave out (the special ones when
    /// asked), `is_special(text)` which strings are special tokens (written as they are).
    pub fn decode(&self, ids: &[u32], skip: impl Fn(u32) -> bool, is_special: impl Fn(&str) -> bool) -> String {
        let (_, spm) = self.decoding_side();
        let mut out = String::new();
        let mut run: Vec<&str> = Vec::new();
        for &id in ids {
            if skip(id) {
                continue;
            }
            let Some(token) = self.output_token(id) else { continue };
            if is_special(token) {
                out.push_str(&spm.decode_pieces(&run));
                out.push_str(token);
                if !self.is_m2m100() {
                    out.push(' ');
                }
                run.clear();
            } else {
                run.push(token);
            }
        }
        out.push_str(&spm.decode_pieces(&run));
        // Python's str.strip(): Unicode white space and the four separators U+001C..U+001F.
        out.replace(SPACE, " ").trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)).to_string()
    }
}

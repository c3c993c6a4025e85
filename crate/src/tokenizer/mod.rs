//! Tokenizers read from Hugging Face `tokenizer.json`, giving the same ids, tokens and character
//! offsets as the `tokenizers` library (what `tokenizer(text, return_offsets_mapping=True)`
//! returns in Python), plus a trace of the steps for the page to show.
//!
//! The pipeline, one file per stage:
//!
//! ```text
//! text ─ added_tokens (cut out [CLS], </s>, ...) ─ normalizer ─ pre_tokenizer (words)
//!      ─ model: bpe | wordpiece | unigram (ids per word) ─ post_processor (specials) ─ Encoding
//! ids  ─ decoder ─ text
//! ```
//!
//! `normalized.rs` holds the string type that carries every byte's original position through
//! the rewriting stages, so offsets point into the user's text. Padding and truncation that a
//! tokenizer.json switches on are deliberately not applied: callers see every token.

mod added_tokens;
mod bpe;
mod charsmap;
mod decoder;
mod json;
pub mod marian;
mod normalized;
mod normalizer;
pub mod pattern;
mod post_processor;
mod pre_tokenizer;
pub mod sentencepiece;
pub mod slow;
mod transformers_config;
mod unigram;
pub mod unicode;
mod wordpiece;

pub use bpe::{BpeMerge, BpeTrace};
pub use unigram::{UnigramStep, UnigramTrace};
pub use wordpiece::{WordPieceAttempt, WordPieceTrace};

use crate::error::{Error, Result};
use crate::rank;
use added_tokens::AddedVocab;
use decoder::Decoder;
use normalized::NormalizedString;
use normalizer::Normalizer;
use post_processor::PostProcessor;
use pre_tokenizer::PreTokenizer;
use pre_tokenizer::PrependScheme;
use transformers_config::{ClassRebuild, TransformersConfig, Translator};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// The result of encoding one text.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Encoding {
    pub ids: Vec<u32>,
    /// Vocabulary strings of `ids` (byte-level tokens as stored, e.g. `Ġthe`).
    pub tokens: Vec<String>,
    /// `(start, end)` in characters (Unicode scalar values) of the original text; `(0, 0)` for
    /// special tokens the post-processor added.
    pub offsets: Vec<(usize, usize)>,
    pub type_ids: Vec<u32>,
    /// `true` for special tokens (added by the template or typed as special-token text).
    pub special: Vec<bool>,
    /// `true` for the tokens of a pair's second text (their offsets index that text).
    pub second: Vec<bool>,
}

/// What each stage of the pipeline did, for teaching views.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trace {
    /// The text after normalisation (added tokens left as typed), pieces joined.
    pub normalized: String,
    /// The pre-tokens (words) in order, each with what the model did to it.
    pub words: Vec<WordTrace>,
}

/// One pre-token and how the model cut it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordTrace {
    /// The word as the model saw it (normalised; byte-level chars for GPT-2 style tokenizers).
    pub text: String,
    /// Character offsets of the word in the original text.
    pub offsets: (usize, usize),
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
    pub steps: Steps,
}

/// The model's steps on one word.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "algorithm")]
pub enum Steps {
    /// An added / special token, matched as a whole before the model ran.
    AddedToken,
    Bpe(BpeTrace),
    WordPiece(WordPieceTrace),
    Unigram(UnigramTrace),
    WordLevel,
}

/// Named special tokens, from tokenizer_config.json / special_tokens_map.json / the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpecialTokens {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub pad: Option<u32>,
    pub mask: Option<u32>,
    pub cls: Option<u32>,
    pub sep: Option<u32>,
}

/// A token the model produced for one piece: byte offsets are into the piece's normalized text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub id: u32,
    pub value: String,
    pub offsets: (usize, usize),
}

/// A stretch of text on its way through the pipeline; `tokens` is set once it is tokenised
/// (added tokens are, from the start).
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub text: NormalizedString,
    pub tokens: Option<Vec<Token>>,
}

/// A bounded memo of word -> model output: real text repeats words a lot, and a BPE merge loop
/// is the costly step. Behind a mutex so the tokenizer stays `Sync`; a busy lock just skips it.
pub(crate) struct WordCache<T> {
    map: Mutex<HashMap<String, T>>,
}

const CACHE_WORDS: usize = 10_000;
const CACHE_WORD_BYTES: usize = 256;

impl<T: Clone> WordCache<T> {
    fn get(&self, word: &str) -> Option<T> {
        self.map.try_lock().ok()?.get(word).cloned()
    }
    fn put(&self, word: &str, value: &T) {
        if word.len() >= CACHE_WORD_BYTES {
            return;
        }
        if let Ok(mut m) = self.map.try_lock() {
            if m.len() < CACHE_WORDS {
                m.insert(word.to_string(), value.clone());
            }
        }
    }
}

impl<T> Default for WordCache<T> {
    fn default() -> Self {
        WordCache { map: Mutex::new(HashMap::new()) }
    }
}

impl<T> Clone for WordCache<T> {
    fn clone(&self) -> Self {
        WordCache::default()
    }
}

impl<T> std::fmt::Debug for WordCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WordCache")
    }
}

#[derive(Debug, Clone)]
enum Model {
    Bpe(bpe::Bpe),
    WordPiece(wordpiece::WordPiece),
    Unigram(unigram::Unigram),
    WordLevel { vocab: HashMap<String, u32>, vocab_r: HashMap<u32, String>, unk_token: String },
    /// Marian's slow tokenizer, converted from its folder's files ([`marian::tokenizer_json`]).
    Marian(Box<marian::Marian>),
}

impl Model {
    fn from_json(v: Value) -> Result<Self> {
        // Old files leave out the model's `type`; tell the kinds apart by their fields.
        let kind = match v.get("type").and_then(Value::as_str) {
            Some(k) => k.to_string(),
            None if v.get("merges").is_some() => "BPE".into(),
            None if v.get("continuing_subword_prefix").is_some() || v.get("max_input_chars_per_word").is_some() => "WordPiece".into(),
            None if v.get("vocab").is_some_and(Value::is_array) => "Unigram".into(),
            None => "WordLevel".into(),
        };
        Ok(match kind.as_str() {
            "BPE" => Model::Bpe(bpe::Bpe::from_json(v)?),
            "WordPiece" => Model::WordPiece(wordpiece::WordPiece::from_json(v)?),
            "Unigram" => Model::Unigram(unigram::Unigram::from_json(v)?),
            "MarianSentencePiece" => Model::Marian(Box::new(marian::Marian::from_json(v)?)),
            "WordLevel" => {
                #[derive(serde::Deserialize)]
                struct W {
                    vocab: HashMap<String, u32>,
                    #[serde(default)]
                    unk_token: String,
                }
                let w: W = json::fields_owned(v, "model", "WordLevel")?;
                let vocab_r = json::reverse_vocab(&w.vocab, "WordLevel")?;
                Model::WordLevel { vocab: w.vocab, vocab_r, unk_token: w.unk_token }
            }
            other => return Err(json::unsupported("model", other, "BPE, WordPiece, Unigram, WordLevel")),
        })
    }

    fn kind(&self) -> &'static str {
        match self {
            Model::Bpe(_) => "BPE",
            Model::WordPiece(_) => "WordPiece",
            Model::Unigram(_) => "Unigram",
            Model::WordLevel { .. } => "WordLevel",
            // A SentencePiece unigram model: the page's Unigram views (the lattice's path) apply.
            Model::Marian(_) => "Unigram",
        }
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        match self {
            Model::Bpe(m) => m.vocab.get(token).copied(),
            Model::WordPiece(m) => m.vocab.get(token).copied(),
            Model::Unigram(m) => m.piece_ids.get(token).copied(),
            Model::WordLevel { vocab, .. } => vocab.get(token).copied(),
            Model::Marian(m) => m.token_to_id(token),
        }
    }

    fn id_to_token(&self, id: u32) -> Option<&str> {
        match self {
            Model::Bpe(m) => m.vocab_r.get(&id).map(String::as_str),
            Model::WordPiece(m) => m.vocab_r.get(&id).map(String::as_str),
            Model::Unigram(m) => m.pieces.get(id as usize).map(|p| p.0.as_str()),
            Model::WordLevel { vocab_r, .. } => vocab_r.get(&id).map(String::as_str),
            Model::Marian(m) => m.id_to_token(id),
        }
    }

    fn size(&self) -> usize {
        match self {
            Model::Bpe(m) => m.vocab.len(),
            Model::WordPiece(m) => m.vocab.len(),
            Model::Unigram(m) => m.pieces.len(),
            Model::WordLevel { vocab, .. } => vocab.len(),
            Model::Marian(m) => m.size(),
        }
    }

    fn max_id(&self) -> Option<u32> {
        match self {
            Model::Bpe(m) => m.vocab_r.keys().max().copied(),
            Model::WordPiece(m) => m.vocab_r.keys().max().copied(),
            Model::Unigram(m) => m.pieces.len().checked_sub(1).map(|n| n as u32),
            Model::WordLevel { vocab_r, .. } => vocab_r.keys().max().copied(),
            Model::Marian(m) => m.max_id(),
        }
    }

    fn unk_token(&self) -> Option<&str> {
        match self {
            Model::Bpe(m) => m.unk_token(),
            Model::WordPiece(m) => Some(m.unk_token()),
            Model::Unigram(m) => m.unk_id().and_then(|id| self.id_to_token(id)),
            Model::WordLevel { unk_token, .. } => Some(unk_token.as_str()),
            Model::Marian(m) => Some(m.unk_token()),
        }
    }

    fn tokenize(&self, word: &str) -> Result<Vec<Token>> {
        match self {
            Model::Bpe(m) => m.tokenize(word),
            Model::WordPiece(m) => m.tokenize(word),
            Model::Unigram(m) => m.tokenize(word),
            Model::WordLevel { vocab, unk_token, .. } => word_level(vocab, unk_token, word),
            Model::Marian(m) => Ok(m.tokenize_traced(word)?.0),
        }
    }

    fn tokenize_traced(&self, word: &str) -> Result<(Vec<Token>, Steps)> {
        Ok(match self {
            Model::Bpe(m) => {
                let (t, s) = m.tokenize_traced(word)?;
                (t, Steps::Bpe(s))
            }
            Model::WordPiece(m) => {
                let (t, s) = m.tokenize_traced(word)?;
                (t, Steps::WordPiece(s))
            }
            Model::Unigram(m) => {
                let (t, s) = m.tokenize_traced(word)?;
                (t, Steps::Unigram(s))
            }
            Model::WordLevel { vocab, unk_token, .. } => (word_level(vocab, unk_token, word)?, Steps::WordLevel),
            Model::Marian(m) => {
                let (t, s) = m.tokenize_traced(word)?;
                (t, Steps::Unigram(s))
            }
        })
    }
}

fn word_level(vocab: &HashMap<String, u32>, unk: &str, word: &str) -> Result<Vec<Token>> {
    let id = vocab.get(word).or_else(|| vocab.get(unk)).copied().ok_or_else(|| {
        Error::tokenizer(format!("WordLevel has no entry for {word:?} and its unk_token `{unk}` is not in the vocabulary"), "Add the unk token to the vocab")
    })?;
    let value = if vocab.contains_key(word) { word.to_string() } else { unk.to_string() };
    Ok(vec![Token { id, value, offsets: (0, word.len()) }])
}

#[derive(Debug, Clone)]
pub struct Tokenizer {
    model: Model,
    normalizer: Option<Normalizer>,
    pre_tokenizer: Option<PreTokenizer>,
    post_processor: Option<PostProcessor>,
    decoder: Option<Decoder>,
    added: AddedVocab,
    special: SpecialTokens,
    /// transformers' `clean_up_tokenization_spaces` (tokenizer_config.json), applied after
    /// decoding; off for BPE models unless the config forces it, as in transformers.
    clean_up_spaces: bool,
    /// Whether transformers' tokenizer hands the model `token_type_ids` (`model_input_names`): when
    /// it does not, the model reads a pair's second text as type 0 too, and so does Glassbox.
    type_ids: bool,
    /// A translation tokenizer's source languages, which set its template.
    languages: Option<Languages>,
}

/// MBart's, MBart-50's, NLLB's and M2M100's source languages: the codes `src_lang` may name, the one in use,
/// whether its code starts the template (else it ends it, after `eos`).
#[derive(Debug, Clone)]
struct Languages {
    codes: Vec<String>,
    src_lang: String,
    code_first: bool,
    eos: (String, u32),
    /// M2M100's codes stand for the tokens `__code__`; the others' codes are tokens.
    m2m100: bool,
}

/// transformers numbers the special tokens a config adds beyond vocab.json from `len(vocab)` on,
/// in order; M2M100Tokenizer puts its language tokens there too. Glassbox gives each language token
/// its own id, so a list that numbers them apart (another token first, a language missing) is refused.
fn m2m100_numbering(added: &[json::AddedTokenJson], marian: &marian::Marian) -> Result<()> {
    let n = marian.codes().len();
    let base = marian.size() - n;
    // The next language expected; one listed again keeps its id.
    let mut next = 0;
    for t in added {
        let lang = marian.token_to_id(&t.content).map(|id| id as usize).filter(|&id| id >= base).map(|id| id - base);
        match lang {
            Some(i) if i == next => next += 1,
            Some(i) if i < next => {}
            None if next == n || marian.token_to_id(&t.content).is_some() => {}
            _ => return Err(Error::file("tokenizer_config.json", format!("lists the special token {:?} where M2M100Tokenizer numbers it over a language token's id", t.content), "List the language tokens first and in order, or none")),
        }
    }
    Ok(())
}

impl Tokenizer {
    /// The tokenizer of tokenizer.json with its two optional config files, as `AutoTokenizer`
    /// loads a folder without config.json.
    pub fn from_bytes(tokenizer_json: &[u8], tokenizer_config: Option<&[u8]>, special_tokens_map: Option<&[u8]>) -> Result<Self> {
        Self::for_model(tokenizer_json, tokenizer_config, special_tokens_map, None)
    }

    /// [`Tokenizer::from_bytes`] for a model of config.json's `model_type`, which changes how
    /// transformers reads some tokenizers (see [`TransformersConfig`]).
    pub fn for_model(tokenizer_json: &[u8], tokenizer_config: Option<&[u8]>, special_tokens_map: Option<&[u8]>, model_type: Option<&str>) -> Result<Self> {
        let config = optional_json(tokenizer_config, "tokenizer_config.json")?;
        let map = optional_json(special_tokens_map, "special_tokens_map.json")?;
        let mut transformers = TransformersConfig::new(config.as_ref(), map.as_ref(), model_type);
        transformers.resolve_class(tokenizer_json);
        let j = json::parse(tokenizer_json)?;
        let model_kind = json::type_of(&j.model, "model")?.to_string();
        if model_kind == "MarianSentencePiece" {
            transformers.set_class(if j.model.get("language_codes").and_then(Value::as_str).is_some_and(|c| !c.is_empty()) { "M2M100Tokenizer" } else { "MarianTokenizer" });
        }
        let rebuild = match &j.slow_files {
            None => transformers.class_rebuild(&model_kind)?,
            // A slow tokenizer's files: only a class that builds the whole pipeline from them will do.
            Some(files) => match transformers.class_rebuild(&model_kind).ok().flatten() {
                Some(r @ (ClassRebuild::Bert { .. } | ClassRebuild::MpNet { .. })) if model_kind == "WordPiece" => Some(r),
                Some(r @ (ClassRebuild::Gpt2 { .. } | ClassRebuild::Roberta { .. })) if model_kind == "BPE" => Some(r),
                _ => return Err(slow::unbuildable(files, transformers.class_name())),
            },
        };
        let mut model = Model::from_json(j.model)?;
        let (normalizer, pre_tokenizer, decoder) = match &rebuild {
            None => (
                component(j.normalizer.as_ref()).map(Normalizer::from_json).transpose()?,
                component(j.pre_tokenizer.as_ref()).map(PreTokenizer::from_json).transpose()?,
                component(j.decoder.as_ref()).map(Decoder::from_json).transpose()?,
            ),
            Some(class) => class_pipeline(class, component(j.normalizer.as_ref()), &mut model)?,
        };
        let mut post_processor = component(j.post_processor.as_ref()).map(PostProcessor::from_json).transpose()?;
        let added_list = transformers.added_tokens(&j.added_tokens)?;
        let mut added = AddedVocab::new(&added_list, j.added_tokens.len(), |t| model.token_to_id(t), model.size(), normalizer.as_ref())?;
        added.split_special_tokens = transformers.split_special_tokens()?;
        let (clean, clean_bpe_too) = transformers.clean_up_spaces()?;
        let clean_up_spaces = clean && (clean_bpe_too || !matches!(model, Model::Bpe(_)));
        // Some classes set their own template, from role tokens only known once tokens are added.
        let mut languages = None;
        match (&rebuild, &mut model) {
            (Some(ClassRebuild::Bert { .. }), Model::WordPiece(wordpiece)) => {
                // BertTokenizer's WordPiece takes its unknown token from the config (default [UNK]),
                // and its template is `[CLS] $A [SEP]` (ids 2 and 3 when the roles are missing).
                wordpiece.use_bert_options(transformers.role_text("unk_token").unwrap_or_else(|| "[UNK]".into()));
                let id_of = |key: &str, fallback: u32| {
                    let text = transformers.role_text(key).unwrap_or_default();
                    let id = added.id_of(&text).or_else(|| wordpiece.vocab.get(&text).copied()).unwrap_or(fallback);
                    (text, id)
                };
                post_processor = Some(PostProcessor::Bert { cls: id_of("cls_token", 2), sep: id_of("sep_token", 3) });
            }
            (Some(ClassRebuild::MpNet { .. }), Model::WordPiece(wordpiece)) => {
                // MPNetTokenizer: WordPiece with its unknown token ([UNK] by default), RobertaProcessing's
                // template from its roles, trimming offsets.
                wordpiece.use_bert_options(transformers.role_text("unk_token").unwrap_or_else(|| "[UNK]".into()));
                // HF falls back to ids 0 and 2 when a role's token is not in the vocabulary.
                let id_of = |key: &str, fallback: u32| {
                    let text = transformers.role_text(key).unwrap_or_default();
                    let id = added.id_of(&text).or_else(|| wordpiece.vocab.get(&text).copied()).unwrap_or(fallback);
                    (text, id)
                };
                post_processor = Some(PostProcessor::Roberta { cls: id_of("cls_token", 0), sep: id_of("sep_token", 2), trim_offsets: true, add_prefix_space: false });
            }
            (Some(ClassRebuild::Roberta { add_prefix_space, trim_offsets }), model) => {
                // RobertaTokenizer's template, from its cls and sep roles.
                let [cls, sep] = template_roles(&transformers, &added, model, "RobertaTokenizer", ["cls_token", "sep_token"])?;
                post_processor = Some(PostProcessor::Roberta { cls, sep, trim_offsets: *trim_offsets, add_prefix_space: *add_prefix_space });
            }
            (Some(ClassRebuild::Albert { .. } | ClassRebuild::DebertaV2 { .. }), model) => {
                // AlbertTokenizer's template: `[CLS] $A [SEP]` (pairs `$B [SEP]` with type 1), from its roles.
                let [cls, sep] = template_roles(&transformers, &added, model, "AlbertTokenizer", ["cls_token", "sep_token"])?;
                post_processor = Some(PostProcessor::Bert { cls, sep });
            }
            (Some(ClassRebuild::XlmRoberta { .. } | ClassRebuild::Camembert { .. }), model) => {
                // XLMRobertaTokenizer's template: `bos_token $A eos_token`, whatever the file's.
                let [bos, eos] = template_roles(&transformers, &added, model, "XLMRobertaTokenizer", ["bos_token", "eos_token"])?;
                post_processor = Some(PostProcessor::wrapped(bos, eos));
            }
            (Some(ClassRebuild::Gpt2 { .. }), model) if j.slow_files.is_some() => {
                // GPT2Tokenizer built from slow files has no template, so transformers' `update_post_processor`
                // makes one: bos and eos only when add_bos_token / add_eos_token ask for them.
                let (add_bos, add_eos) = (transformers.flag("add_bos_token")?.unwrap_or(false), transformers.flag("add_eos_token")?.unwrap_or(false));
                let role = |key: &str| -> Result<(String, u32)> {
                    let text = transformers.role_text(key).unwrap_or_else(|| "<|endoftext|>".into());
                    let id = added.id_of(&text).or_else(|| model.token_to_id(&text)).ok_or_else(|| {
                        Error::file("vocab.json", format!("has no entry for the {key} {text:?} that add_{} adds", &key[..3]), "Name a token vocab.json holds in tokenizer_config.json")
                    })?;
                    Ok((text, id))
                };
                post_processor = Some(PostProcessor::around(add_bos.then(|| role("bos_token")).transpose()?, add_eos.then(|| role("eos_token")).transpose()?));
            }
            (Some(ClassRebuild::GptNeoX { add_bos, add_eos, .. }), model) => {
                // GPTNeoXTokenizer's `update_post_processor`: the bos and eos tokens it is asked to add, else none.
                let role = |key: &str| transformers.role_text(key).and_then(|t| Some((t.clone(), added.id_of(&t).or_else(|| model.token_to_id(&t))?)));
                post_processor = Some(PostProcessor::around(add_bos.then(|| role("bos_token")).flatten(), add_eos.then(|| role("eos_token")).flatten()));
            }
            (_, Model::Marian(marian)) => {
                // MarianTokenizer: ids + [eos], a pair ids_a + ids_b + [eos] (its eos must be in vocab.json).
                let eos = transformers.role_text("eos_token").unwrap_or_else(|| "</s>".into());
                let id = added.id_of(&eos).or_else(|| marian.token_to_id(&eos)).ok_or_else(|| {
                    Error::file("vocab.json", format!("has no entry for the eos_token {eos:?}"), "Use the vocab.json saved with the checkpoint, or name a token it holds in tokenizer_config.json")
                })?;
                post_processor = Some(PostProcessor::eos_after_all(&eos, id));
                if marian.is_m2m100() {
                    // M2M100Tokenizer: `__src_lang__ $A </s>`, the code's token after vocab.json's ids.
                    m2m100_numbering(&added_list, marian)?;
                    languages = Some((Languages { codes: marian.codes(), src_lang: String::new(), code_first: true, eos: (eos, id), m2m100: true }, transformers.src_lang("en")));
                }
            }
            (Some(ClassRebuild::Translation { class, .. }), model) => {
                // Pegasus: `$A </s>`; the others place their source language's code by `src_lang` (below).
                let eos = transformers.role_text("eos_token").unwrap_or_default();
                let id = added.id_of(&eos).or_else(|| model.token_to_id(&eos)).ok_or_else(|| {
                    Error::tokenizer(format!("the eos_token {eos:?} is not in the vocabulary, and its template ends with it"), "Name a token tokenizer.json holds as `eos_token`")
                })?;
                post_processor = Some(PostProcessor::framed(&[], &[(eos.clone(), id)]));
                if let Some((codes, src_lang)) = transformers.languages()? {
                    let code_first = matches!(class, Translator::MBart50 | Translator::Nllb { legacy: false });
                    languages = Some((Languages { codes, src_lang: String::new(), code_first, eos: (eos, id), m2m100: false }, src_lang));
                }
            }
            (Some(ClassRebuild::T5), model) => {
                // T5Tokenizer ends every sequence with its eos token, whatever the file's template.
                let eos = transformers.role_text("eos_token");
                post_processor = eos.and_then(|eos| Some(PostProcessor::eos_after_each(&eos, added.id_of(&eos).or_else(|| model.token_to_id(&eos))?)));
            }
            _ => {}
        }
        let type_ids = transformers.emits_type_ids();
        let mut tok = Tokenizer { model, normalizer, pre_tokenizer, post_processor, decoder, added, special: SpecialTokens::default(), clean_up_spaces, type_ids, languages: None };
        tok.special = tok.find_special_tokens(&transformers);
        if let Some((languages, src_lang)) = languages {
            tok.languages = Some(languages);
            tok.set_src_lang(&src_lang)?;
        }
        Ok(tok)
    }

    /// Each role from special_tokens_map.json, else tokenizer_config.json (as transformers reads
    /// them, see [`TransformersConfig`]), else the model and
    /// post-processor, else a conventional name present in the vocabulary.
    fn find_special_tokens(&self, transformers: &TransformersConfig) -> SpecialTokens {
        let named = |key: &str| -> Option<u32> {
            for source in transformers.sources() {
                let v = source.get(key)?;
                let name = v.as_str().or_else(|| v.get("content").and_then(Value::as_str));
                if let Some(id) = name.and_then(|n| self.token_to_id(n)) {
                    return Some(id);
                }
            }
            // The loaded class's default for the role (Llama's `</s>`, ...).
            transformers.role_text(key).and_then(|n| self.token_to_id(&n))
        };
        let conventional = |names: &[&str]| names.iter().find_map(|n| self.token_to_id(n));
        let (cls_pp, sep_pp) = match self.post_processor.as_ref().and_then(PostProcessor::cls_sep) {
            Some((c, s)) => (Some(c), Some(s)),
            None => (None, None),
        };
        SpecialTokens {
            bos: named("bos_token").or_else(|| conventional(&["<s>", "<|endoftext|>", "<bos>", "<|begin_of_text|>"])),
            eos: named("eos_token").or_else(|| conventional(&["</s>", "<|endoftext|>", "<eos>", "<|end_of_text|>"])),
            unk: named("unk_token").or_else(|| self.model.unk_token().and_then(|u| self.token_to_id(u))),
            pad: named("pad_token").or_else(|| conventional(&["<pad>", "[PAD]"])),
            mask: named("mask_token").or_else(|| conventional(&["[MASK]", "<mask>"])),
            cls: named("cls_token").or(cls_pp).or_else(|| conventional(&["[CLS]"])),
            sep: named("sep_token").or(sep_pp).or_else(|| conventional(&["[SEP]"])),
        }
    }

    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Encoding> {
        Ok(self.run(text, add_special_tokens, false)?.0)
    }

    /// Two texts as one input (`tokenizer(text, text_pair)`): each tokenized on its own, then
    /// joined by the post-processor's pair template (`[CLS] A [SEP] B [SEP]`, `<s> A </s></s> B </s>`).
    /// The second text's tokens are marked `second`, with offsets into that text; their type id is
    /// 1 unless the template says otherwise. An empty second text is no second text, as in
    /// transformers (it tests `text_pair` for truth, so `tokenizer(text, "")` is `tokenizer(text)`).
    pub fn encode_pair(&self, text: &str, pair: &str, add_special_tokens: bool) -> Result<Encoding> {
        if pair.is_empty() {
            return self.encode(text, add_special_tokens);
        }
        let (a, _) = self.tokenize_text(text, false)?;
        let (mut b, _) = self.tokenize_text(pair, false)?;
        b.type_ids.iter_mut().for_each(|t| *t = 1);
        b.second.iter_mut().for_each(|s| *s = true);
        let enc = match &self.post_processor {
            Some(pp) => pp.process_pair(a, b, add_special_tokens)?,
            None => post_processor::PostProcessor::Sequence(Vec::new()).process_pair(a, b, add_special_tokens)?,
        };
        Ok(self.vocabulary_strings(enc))
    }

    pub fn encode_traced(&self, text: &str, add_special_tokens: bool) -> Result<(Encoding, Trace)> {
        let (enc, trace) = self.run(text, add_special_tokens, true)?;
        Ok((enc, trace.unwrap_or_default()))
    }

    fn run(&self, text: &str, add_special_tokens: bool, traced: bool) -> Result<(Encoding, Option<Trace>)> {
        let (mut enc, trace) = self.tokenize_text(text, traced)?;
        if let Some(pp) = &self.post_processor {
            enc = pp.process(enc, add_special_tokens);
        }
        Ok((self.vocabulary_strings(enc), trace))
    }

    /// Report vocabulary strings (HF's `convert_ids_to_tokens`), not the raw text an unknown piece
    /// or an added token covered; type ids only where transformers' tokenizer gives the model any.
    fn vocabulary_strings(&self, mut enc: Encoding) -> Encoding {
        if !self.type_ids {
            enc.type_ids.iter_mut().for_each(|t| *t = 0);
        }
        for (tok, &id) in enc.tokens.iter_mut().zip(&enc.ids) {
            if let Some(s) = self.id_to_token(id) {
                if s != tok {
                    *tok = s.to_string();
                }
            }
        }
        enc
    }

    /// One text through the normalizer, pre-tokenizer and model, before the post-processor.
    fn tokenize_text(&self, text: &str, traced: bool) -> Result<(Encoding, Option<Trace>)> {
        let mut pieces = self.added.extract_and_normalize(self.normalizer.as_ref(), text)?;
        let normalized = if traced { pieces.iter().map(|p| p.text.get()).collect::<String>() } else { String::new() };
        if let Some(p) = &self.pre_tokenizer {
            p.pre_tokenize(&mut pieces)?;
        }

        let chars = CharIndex::new(text);
        let mut words = Vec::new();
        let mut enc = Encoding::default();
        for piece in &mut pieces {
            let (tokens, steps) = match piece.tokens.take() {
                Some(t) => (t, Steps::AddedToken),
                None if traced => self.model.tokenize_traced(piece.text.get())?,
                None => (self.model.tokenize(piece.text.get())?, Steps::WordLevel),
            };
            for t in &tokens {
                let bytes = piece.text.original_range(t.offsets.0, t.offsets.1).unwrap_or(t.offsets);
                enc.ids.push(t.id);
                enc.tokens.push(t.value.clone());
                enc.offsets.push(chars.convert(bytes));
                enc.type_ids.push(0);
                enc.special.push(matches!(steps, Steps::AddedToken) && self.added.get(t.id).is_some_and(|a| a.special));
                enc.second.push(false);
            }
            if traced {
                let span = piece.text.offsets_original();
                words.push(WordTrace {
                    text: piece.text.get().to_string(),
                    offsets: chars.convert(span),
                    ids: tokens.iter().map(|t| t.id).collect(),
                    tokens: tokens.iter().map(|t| self.id_to_token(t.id).unwrap_or(&t.value).to_string()).collect(),
                    steps,
                });
            }
        }

        Ok((enc, traced.then_some(Trace { normalized, words })))
    }

    /// Set the source language of a translation tokenizer (MBart's, MBart-50's, NLLB's, M2M100's `src_lang`):
    /// its code goes before the text or after `</s>`, as the class places it. `code` must be one of
    /// [`Tokenizer::language_codes`].
    pub fn set_src_lang(&mut self, code: &str) -> Result<()> {
        let id = self.language_id(code);
        let Some(l) = &mut self.languages else {
            return Err(Error::input(format!("a source language ({code:?}) was given, but this tokenizer takes none"), "Leave it out: only MBart, MBart-50, NLLB and M2M100 tokenizers have one"));
        };
        let Some(id) = id else {
            // NLLB has 202 codes: name a few and say where the rest are listed.
            return Err(Error::input(
                format!("the source language {code:?} is not one of this tokenizer's {} language codes ({}, ...)", l.codes.len(), l.codes[..l.codes.len().min(12)].join(", ")),
                "Give one of its codes as `src_lang` (`glassbox info` lists them as languageCodes)",
            ));
        };
        let lang = (lang_token(l, code), id);
        self.post_processor = Some(if l.code_first { PostProcessor::framed(&[lang], &[l.eos.clone()]) } else { PostProcessor::framed(&[], &[l.eos.clone(), lang]) });
        l.src_lang = code.to_string();
        Ok(())
    }

    /// The token id of a translation tokenizer's language `code` (M2M100: `__code__`'s, the
    /// others: the code's own); `None` for a code it does not list.
    pub fn language_id(&self, code: &str) -> Option<u32> {
        let l = self.languages.as_ref().filter(|l| l.codes.iter().any(|c| c == code))?;
        self.token_to_id(&lang_token(l, code))
    }

    /// A translation tokenizer's source-language codes (empty for other tokenizers).
    pub fn language_codes(&self) -> &[String] {
        self.languages.as_ref().map_or(&[], |l| &l.codes)
    }

    /// The source language in use ([`Tokenizer::set_src_lang`]), for translation tokenizers.
    pub fn src_lang(&self) -> Option<&str> {
        self.languages.as_ref().map(|l| l.src_lang.as_str())
    }

    /// Whether transformers' tokenizer gives the model `token_type_ids` (else every type id is 0).
    pub fn gives_type_ids(&self) -> bool {
        self.type_ids
    }

    /// Text of `ids` as HF decodes it: unknown ids are skipped, special tokens too when asked.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        if let Model::Marian(m) = &self.model {
            let skip = |id: u32| skip_special_tokens && self.added.get(id).is_some_and(|a| a.special);
            let text = m.decode(ids, skip, |t| self.added.is_special(t));
            return Ok(if self.clean_up_spaces { decoder::clean_up_tokenization(&text) } else { text });
        }
        let tokens: Vec<String> = ids
            .iter()
            .filter_map(|&id| {
                let t = self.added.decode_form(id).or_else(|| self.model.id_to_token(id))?;
                // As in `tokenizers`, by the string decode uses: a `normalized` special token whose
                // normalised form differs ([NEW] shown as [new]) is not found among the specials.
                let skip = skip_special_tokens && self.added.decode_form(id).is_some_and(|form| self.added.is_special(form));
                (!skip).then(|| t.to_string())
            })
            .collect();
        let text = match &self.decoder {
            Some(d) => d.decode(tokens)?,
            None => tokens.join(" "),
        };
        Ok(if self.clean_up_spaces { decoder::clean_up_tokenization(&text) } else { text })
    }

    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.added.decode_form(id).or_else(|| self.model.id_to_token(id))
    }

    /// Whether token `id` is a byte-fallback piece (`<0xE2>`): decoded together with the bytes
    /// around it, so a later byte can change the text the earlier ones made.
    pub fn is_byte_piece(&self, id: u32) -> bool {
        self.id_to_token(id).and_then(byte_piece).is_some()
    }

    /// The file the vocabulary came from, for messages: a Marian folder's `vocab.json`, else `tokenizer.json`.
    pub fn vocabulary_file(&self) -> &'static str {
        if matches!(self.model, Model::Marian(_)) {
            "vocab.json"
        } else {
            "tokenizer.json"
        }
    }

    /// The string of `id` as a model's output (a generated token, a next-token candidate): the
    /// same as [`Tokenizer::id_to_token`] except for a Marian tokenizer with separate
    /// vocabularies, whose outputs are target-vocabulary ids.
    pub fn output_token(&self, id: u32) -> Option<&str> {
        match &self.model {
            Model::Marian(m) => self.added.decode_form(id).or_else(|| m.output_token(id)),
            _ => self.id_to_token(id),
        }
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.added.id_of(token).or_else(|| self.model.token_to_id(token))
    }

    /// Size of the id space, added tokens included (at least the largest id + 1).
    pub fn vocab_size(&self) -> usize {
        self.size_counting(|_| true)
    }

    /// [`Tokenizer::vocab_size`] without the tokens only the config files add (transformers'
    /// named specials or T5 sentinels that tokenizer.json lacks): what a model's embedding table
    /// must hold. Typing one of those gives an id the model refuses by name at run time, where
    /// transformers would fail in the embedding lookup.
    pub fn vocab_size_of_tokenizer_json(&self) -> usize {
        self.size_counting(|t| !self.added.from_config(t.id))
    }

    fn size_counting(&self, counted: impl Fn(&added_tokens::AddedToken) -> bool) -> usize {
        let added = || self.added.tokens().filter(|t| counted(t));
        let new_added = added().filter(|t| self.model.token_to_id(&t.content).is_none()).count();
        let max_id = added().map(|t| t.id).chain(self.model.max_id()).max();
        (self.model.size() + new_added).max(max_id.map_or(0, |m| m as usize + 1))
    }

    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.special
    }

    /// `"BPE"`, `"WordPiece"`, `"Unigram"` or `"WordLevel"`.
    pub fn model_kind(&self) -> &'static str {
        self.model.kind()
    }

    /// Ids of every added token marked special (the ones `decode(.., true)` leaves out).
    pub fn special_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.added.tokens().filter(|t| t.special).map(|t| t.id).collect();
        rank::sort_ids(&mut ids);
        ids
    }
}

/// The token that stands for a language `code`.
fn lang_token(l: &Languages, code: &str) -> String {
    if l.m2m100 { format!("__{code}__") } else { code.to_string() }
}

/// A pipeline component, treating JSON `null` as absent.
fn component(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// transformers 5's Qwen2Tokenizer pre-tokenizer pattern (contractions, letters with one leading
/// non-letter, single digits, punctuation runs, newlines, spaces).
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The two role tokens a class builds its template from, with their ids (the config's named tokens
/// are added by then), or an error naming the class and the roles it needs.
fn template_roles(transformers: &TransformersConfig, added: &AddedVocab, model: &Model, class: &str, keys: [&str; 2]) -> Result<[(String, u32); 2]> {
    let role = |key: &str| {
        let text = transformers.role_text(key)?;
        let id = added.id_of(&text).or_else(|| model.token_to_id(&text))?;
        Some((text, id))
    };
    match (role(keys[0]), role(keys[1])) {
        (Some(first), Some(second)) => Ok([first, second]),
        _ => Err(Error::tokenizer(
            format!("transformers 5 loads this tokenizer as `{class}`, whose template needs `{}` and `{}`, but the config sets one of them to null", keys[0], keys[1]),
            "Name both tokens in tokenizer_config.json, or set `tokenizer_class` to `TokenizersBackend` to use tokenizer.json's template",
        )),
    }
}

/// tokenizer.json's Precompiled normaliser (SentencePiece's own rules), alone or within a
/// Sequence: what the SentencePiece classes keep of the file's normaliser.
fn file_precompiled(file_normalizer: Option<&Value>) -> Result<Option<Normalizer>> {
    Ok(match file_normalizer {
        Some(n) if json::type_of(n, "normalizer")? == "Precompiled" => Some(Normalizer::from_json(n)?),
        Some(n) => match n.get("normalizers").and_then(Value::as_array).and_then(|all| all.iter().find(|m| m.get("type").and_then(Value::as_str) == Some("Precompiled"))) {
            Some(p) => Some(Normalizer::from_json(p)?),
            None => None,
        },
        None => None,
    })
}

/// The normaliser, pre-tokenizer and decoder transformers 5's tokenizer class builds in place of
/// tokenizer.json's (see `transformers_config.rs`), setting the model's options as it does;
/// `file_normalizer` is tokenizer.json's (T5 and XLM-R keep its Precompiled part).
fn class_pipeline(class: &ClassRebuild, file_normalizer: Option<&Value>, model: &mut Model) -> Result<(Option<Normalizer>, Option<PreTokenizer>, Option<Decoder>)> {
    Ok(match class {
        ClassRebuild::Llama(llama) => {
            if let Model::Bpe(bpe) = model {
                bpe.use_llama_options();
            }
            let mut decoders = vec![
                Decoder::Replace { pattern: pattern::Pattern::literal("▁"), content: " ".into() },
                Decoder::ByteFallback,
                Decoder::Fuse,
            ];
            if llama.strip_leading_space {
                decoders.push(Decoder::Strip { content: ' ', start: 1, stop: 0 });
            }
            let metaspace = PreTokenizer::Metaspace { replacement: '▁', prepend_scheme: llama.prepend_scheme, split: false };
            (None, Some(metaspace), Some(Decoder::Sequence(decoders)))
        }
        ClassRebuild::Albert { lowercase, keep_accents, add_prefix_space } => {
            if let Model::Unigram(unigram) = model {
                unigram.use_class_options(1);
            }
            let quotes = |from: &str| Normalizer::Replace { pattern: pattern::Pattern::literal(from), content: "\"".into() };
            let mut rules = vec![quotes("``"), quotes("''")];
            if !keep_accents {
                rules.extend([Normalizer::Nfkd, Normalizer::StripAccents]);
            }
            if *lowercase {
                rules.push(Normalizer::Lowercase);
            }
            rules.extend(file_precompiled(file_normalizer)?);
            let prepend_scheme = if *add_prefix_space { PrependScheme::Always } else { PrependScheme::Never };
            let words = PreTokenizer::Sequence(vec![PreTokenizer::WhitespaceSplit, PreTokenizer::Metaspace { replacement: '▁', prepend_scheme, split: true }]);
            (Some(Normalizer::Sequence(rules)), Some(words), Some(Decoder::Metaspace { replacement: '▁', prepend_scheme }))
        }
        ClassRebuild::DebertaV2 { lowercase, split_by_punct, add_prefix_space, unk, unk_id } => {
            // The class looks its unknown piece up (with score 0, as a converted vocabulary has it).
            let unk_id = match model {
                Model::Unigram(unigram) => unigram.id_with_score(unk, 0.0).unwrap_or(*unk_id),
                _ => *unk_id,
            };
            if let Model::Unigram(unigram) = model {
                unigram.use_class_options(unk_id);
            }
            let mut rules = Vec::new();
            if *lowercase {
                rules.push(Normalizer::Lowercase);
            }
            let spaces = pattern::Pattern::new(r"\s{2,}|[\n\r\t]").map_err(|e| Error::tokenizer(format!("DebertaV2Tokenizer's whitespace rule: {e:?}"), "Report this"))?;
            rules.extend([Normalizer::Replace { pattern: spaces, content: " ".into() }, Normalizer::Nfc, Normalizer::Strip { left: false, right: true }]);
            let prepend_scheme = if *add_prefix_space { PrependScheme::Always } else { PrependScheme::First };
            let mut words = Vec::new();
            if *split_by_punct {
                words.push(PreTokenizer::Punctuation(normalized::SplitBehavior::Isolated));
            }
            words.push(PreTokenizer::Metaspace { replacement: '▁', prepend_scheme, split: true });
            (Some(Normalizer::Sequence(rules)), Some(PreTokenizer::Sequence(words)), Some(Decoder::Metaspace { replacement: '▁', prepend_scheme }))
        }
        ClassRebuild::T5 | ClassRebuild::XlmRoberta { .. } | ClassRebuild::Camembert { .. } => {
            let scheme = |add_prefix_space: bool| if add_prefix_space { PrependScheme::Always } else { PrependScheme::Never };
            let (unk_id, prepend_scheme) = match class {
                ClassRebuild::XlmRoberta { add_prefix_space } => (3, scheme(*add_prefix_space)),
                // CamembertTokenizer looks its unknown token up in the vocabulary (the first piece when absent).
                ClassRebuild::Camembert { add_prefix_space, unk } => (model.token_to_id(unk).unwrap_or(0), scheme(*add_prefix_space)),
                _ => (2, PrependScheme::Always),
            };
            if let Model::Unigram(unigram) = model {
                unigram.use_class_options(unk_id);
            }
            // Only the file's Precompiled normaliser stays (SentencePiece's own rules).
            let normalizer = file_precompiled(file_normalizer)?;
            let words = PreTokenizer::Sequence(vec![PreTokenizer::WhitespaceSplit, PreTokenizer::Metaspace { replacement: '▁', prepend_scheme, split: true }]);
            (normalizer, Some(words), Some(Decoder::Metaspace { replacement: '▁', prepend_scheme }))
        }
        ClassRebuild::Translation { class, unk } => {
            let unk_id = match class {
                // PegasusTokenizer looks for `(unk_token, 0.0)` from id 1 on (transformers fails without one).
                Translator::Pegasus => match model {
                    Model::Unigram(unigram) => unigram.id_with_score(unk, 0.0).filter(|&id| id > 0).ok_or_else(|| {
                        Error::tokenizer(format!("PegasusTokenizer needs its unk_token {unk:?} in tokenizer.json's vocabulary with score 0, after the first entry"), "Use the tokenizer.json saved with the checkpoint")
                    })?,
                    _ => 0,
                },
                _ => 3,
            };
            match model {
                Model::Unigram(unigram) => unigram.use_class_options(unk_id),
                Model::Bpe(bpe) => bpe.use_gemma_options(unk.clone(), false),
                _ => {}
            }
            if *class == Translator::MBart50 && !transformers_config::mbart_codes(52).any(|c| model.token_to_id(c).is_some()) {
                // MBart50Tokenizer would reorder such a vocabulary (a SentencePiece model's) as its converter does.
                return Err(Error::tokenizer("tokenizer.json's vocabulary holds none of MBart-50's language codes, which MBart50Tokenizer then rebuilds in another order", "Re-save the tokenizer with transformers 5 (save_pretrained) and load that folder"));
            }
            let collapse = Normalizer::Replace { pattern: pattern::Pattern::new(" {2,}").map_err(|e| Error::tokenizer(format!("a space rule: {e:?}"), "Report this"))?, content: " ".into() };
            let precompiled = file_precompiled(file_normalizer)?;
            let normalizer = match (class, precompiled) {
                (Translator::MBart, _) | (Translator::Nllb { .. }, None) => None,
                (Translator::Pegasus, None) => Some(vec![Normalizer::Replace { pattern: pattern::Pattern::literal("\n"), content: " ".into() }, collapse]),
                (_, precompiled) => Some(precompiled.into_iter().chain([collapse]).collect()),
            };
            let metaspace = PreTokenizer::Metaspace { replacement: '▁', prepend_scheme: PrependScheme::Always, split: true };
            let words = if *class == Translator::MBart { PreTokenizer::Sequence(vec![PreTokenizer::WhitespaceSplit, metaspace]) } else { metaspace };
            (normalizer.map(Normalizer::Sequence), Some(words), Some(Decoder::Metaspace { replacement: '▁', prepend_scheme: PrependScheme::Always }))
        }
        ClassRebuild::Gemma { unk } => {
            if let Model::Bpe(bpe) = model {
                bpe.use_gemma_options(unk.clone(), true);
            }
            let space = || pattern::Pattern::literal(" ");
            let words = PreTokenizer::Split { pattern: space(), behavior: normalized::SplitBehavior::MergedWithPrevious, invert: false };
            let decoder = Decoder::Sequence(vec![Decoder::Replace { pattern: pattern::Pattern::literal("▁"), content: " ".into() }, Decoder::ByteFallback, Decoder::Fuse]);
            (Some(Normalizer::Replace { pattern: space(), content: "▁".into() }), Some(words), Some(decoder))
        }
        ClassRebuild::Qwen2 { add_prefix_space } => {
            if let Model::Bpe(bpe) = model {
                bpe.use_byte_level_options();
            }
            let pattern = pattern::Pattern::new(QWEN2_SPLIT).map_err(|e| Error::tokenizer(format!("Qwen2's split pattern does not compile ({e:?})"), "This is a bug; please report it"))?;
            let words = PreTokenizer::Sequence(vec![
                PreTokenizer::Split { pattern, behavior: normalized::SplitBehavior::Isolated, invert: false },
                PreTokenizer::ByteLevel { add_prefix_space: *add_prefix_space, use_regex: false },
            ]);
            (Some(Normalizer::Nfc), Some(words), Some(Decoder::ByteLevel))
        }
        ClassRebuild::GptNeoX { add_prefix_space, .. } => {
            if let Model::Bpe(bpe) = model {
                bpe.use_byte_level_options();
            }
            (Some(Normalizer::Nfc), Some(PreTokenizer::ByteLevel { add_prefix_space: *add_prefix_space, use_regex: true }), Some(Decoder::ByteLevel))
        }
        ClassRebuild::Gpt2 { add_prefix_space } | ClassRebuild::Roberta { add_prefix_space, .. } => {
            if let Model::Bpe(bpe) = model {
                bpe.use_byte_level_options();
            }
            (None, Some(PreTokenizer::ByteLevel { add_prefix_space: *add_prefix_space, use_regex: true }), Some(Decoder::ByteLevel))
        }
        ClassRebuild::Bert { lowercase, strip_accents, chinese_chars } | ClassRebuild::MpNet { lowercase, strip_accents, chinese_chars } => {
            let normalizer = Normalizer::Bert { clean_text: true, handle_chinese_chars: *chinese_chars, strip_accents: *strip_accents, lowercase: *lowercase };
            (Some(normalizer), Some(PreTokenizer::Bert), Some(Decoder::WordPiece { prefix: "##".into(), cleanup: true }))
        }
    })
}

fn optional_json(bytes: Option<&[u8]>, file: &str) -> Result<Option<Value>> {
    match bytes {
        None => Ok(None),
        Some(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Some(b) => match serde_json::from_slice(b) {
            Ok(v @ Value::Object(_)) => Ok(Some(v)),
            // `[1]` or `"x"`: valid JSON with no setting in it, which transformers cannot read either.
            Ok(_) => Err(Error::file(file, "is JSON but not an object of settings ({ \"key\": value, ... })", "Fix or remove the file; it is optional")),
            Err(e) => Err(Error::file(file, format!("is not valid JSON ({e})"), "Fix or remove the file; it is optional")),
        },
    }
}

/// Byte offsets of the original text -> character offsets, the way Python's `tokenizers`
/// converts them: an end past the last byte maps to one past the char of the byte before it, and
/// when that byte is past the text too (a byte-fallback token's offsets can run beyond its word),
/// to the start plus two.
struct CharIndex {
    /// Char index of the char each byte belongs to.
    of_byte: Vec<usize>,
}

impl CharIndex {
    fn new(text: &str) -> Self {
        let mut of_byte = Vec::with_capacity(text.len());
        for (i, c) in text.chars().enumerate() {
            of_byte.extend(std::iter::repeat_n(i, c.len_utf8()));
        }
        CharIndex { of_byte }
    }

    fn convert(&self, (s, e): (usize, usize)) -> (usize, usize) {
        let Some(&cs) = self.of_byte.get(s) else { return (s, e) };
        let ce = match self.of_byte.get(e) {
            Some(&c) => c,
            None => e.checked_sub(1).and_then(|b| self.of_byte.get(b)).map_or(cs + 2, |&c| c + 1),
        };
        (cs, ce)
    }
}

/// The byte of a byte-fallback piece `<0xXX>` (two hex digits), as `tokenizers` reads it.
pub(crate) fn byte_piece(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    (hex.len() == 2).then(|| u8::from_str_radix(hex, 16).ok()).flatten()
}

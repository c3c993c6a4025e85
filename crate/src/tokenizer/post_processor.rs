//! Post-processors: add the model's special tokens around the sequence (`[CLS] .. [SEP]`,
//! `<s> .. </s>`, `.. </s>`) and, for byte-level tokenizers, trim spaces out of offsets.

use super::json;
use super::pre_tokenizer::BYTES_CHAR;
use super::Encoding;
use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

const SUPPORTED: &str = "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence";

#[derive(Debug, Clone)]
pub enum TemplatePiece {
    /// The input sequence, with its type id.
    Sequence(u32),
    /// A special token by name, with its type id.
    Special(String, u32),
}

#[derive(Debug, Clone)]
pub enum PostProcessor {
    Template { single: Vec<TemplatePiece>, specials: HashMap<String, (Vec<u32>, Vec<String>)> },
    Bert { cls: (String, u32), sep: (String, u32) },
    Roberta { cls: (String, u32), sep: (String, u32), trim_offsets: bool, add_prefix_space: bool },
    ByteLevel { trim_offsets: bool, add_prefix_space: bool },
    Sequence(Vec<PostProcessor>),
}

#[derive(Deserialize)]
enum PieceJson {
    Sequence { id: String, type_id: u32 },
    SpecialToken { id: String, type_id: u32 },
}

#[derive(Deserialize)]
struct SpecialJson {
    ids: Vec<u32>,
    tokens: Vec<String>,
}

#[derive(Deserialize)]
struct TemplateJson {
    single: Vec<PieceJson>,
    #[serde(default)]
    special_tokens: HashMap<String, SpecialJson>,
}

#[derive(Deserialize)]
struct ClsSepJson {
    sep: (String, u32),
    cls: (String, u32),
}

impl PostProcessor {
    /// `$A eos` (pairs: `$A eos $B eos`), the template transformers' T5Tokenizer sets.
    pub fn eos_after_each(eos: &str, id: u32) -> Self {
        let single = vec![TemplatePiece::Sequence(0), TemplatePiece::Special(eos.to_string(), 0)];
        let specials = HashMap::from([(eos.to_string(), (vec![id], vec![eos.to_string()]))]);
        PostProcessor::Template { single, specials }
    }

    /// `[bos] $A [eos]`, each when given (none: the text alone), as transformers'
    /// `update_post_processor` builds it from `add_bos_token` / `add_eos_token`.
    pub fn around(bos: Option<(String, u32)>, eos: Option<(String, u32)>) -> Self {
        let mut single = Vec::new();
        let mut specials = HashMap::new();
        if let Some((text, id)) = &bos {
            single.push(TemplatePiece::Special(text.clone(), 0));
            specials.insert(text.clone(), (vec![*id], vec![text.clone()]));
        }
        single.push(TemplatePiece::Sequence(0));
        if let Some((text, id)) = &eos {
            single.push(TemplatePiece::Special(text.clone(), 0));
            specials.insert(text.clone(), (vec![*id], vec![text.clone()]));
        }
        PostProcessor::Template { single, specials }
    }

    /// `bos $A eos`, the template transformers' XLMRobertaTokenizer sets.
    pub fn wrapped((bos, bos_id): (String, u32), (eos, eos_id): (String, u32)) -> Self {
        let single = vec![TemplatePiece::Special(bos.clone(), 0), TemplatePiece::Sequence(0), TemplatePiece::Special(eos.clone(), 0)];
        let specials = HashMap::from([(bos.clone(), (vec![bos_id], vec![bos])), (eos.clone(), (vec![eos_id], vec![eos]))]);
        PostProcessor::Template { single, specials }
    }

    pub fn from_json(v: &Value) -> Result<Self> {
        let kind = json::type_of(v, "post_processor")?;
        let f = |key: &str, default: bool| v.get(key).and_then(Value::as_bool).unwrap_or(default);
        Ok(match kind {
            "TemplateProcessing" => {
                let t: TemplateJson = json::fields(v, "post_processor", kind)?;
                let mut single = vec![];
                for p in t.single {
                    single.push(match p {
                        PieceJson::Sequence { id, type_id } => {
                            if id != "A" {
                                return Err(Error::tokenizer(format!("TemplateProcessing `single` refers to sequence {id}"), "A single-sequence template can only use $A"));
                            }
                            TemplatePiece::Sequence(type_id)
                        }
                        PieceJson::SpecialToken { id, type_id } => {
                            if !t.special_tokens.contains_key(&id) {
                                return Err(Error::tokenizer(format!("TemplateProcessing uses `{id}` but does not list it in special_tokens"), "Add it to the template's special_tokens"));
                            }
                            TemplatePiece::Special(id, type_id)
                        }
                    });
                }
                let specials = t.special_tokens.into_iter().map(|(k, s)| (k, (s.ids, s.tokens))).collect();
                PostProcessor::Template { single, specials }
            }
            "BertProcessing" => {
                let j: ClsSepJson = json::fields(v, "post_processor", kind)?;
                PostProcessor::Bert { cls: j.cls, sep: j.sep }
            }
            "RobertaProcessing" => {
                let j: ClsSepJson = json::fields(v, "post_processor", kind)?;
                PostProcessor::Roberta { cls: j.cls, sep: j.sep, trim_offsets: f("trim_offsets", true), add_prefix_space: f("add_prefix_space", true) }
            }
            "ByteLevel" => PostProcessor::ByteLevel { trim_offsets: f("trim_offsets", true), add_prefix_space: f("add_prefix_space", true) },
            "Sequence" => {
                let items = json::list(v, "processors", "post_processor")?;
                PostProcessor::Sequence(items.iter().map(PostProcessor::from_json).collect::<Result<_>>()?)
            }
            other => return Err(json::unsupported("post_processor", other, SUPPORTED)),
        })
    }

    /// The special tokens this processor adds, by role, for `SpecialTokens` fallbacks.
    pub fn cls_sep(&self) -> Option<(u32, u32)> {
        match self {
            PostProcessor::Bert { cls, sep } | PostProcessor::Roberta { cls, sep, .. } => Some((cls.1, sep.1)),
            PostProcessor::Sequence(items) => items.iter().find_map(PostProcessor::cls_sep),
            _ => None,
        }
    }

    pub fn process(&self, enc: Encoding, add_special_tokens: bool) -> Encoding {
        match self {
            PostProcessor::ByteLevel { trim_offsets, add_prefix_space } => {
                let mut enc = enc;
                if *trim_offsets {
                    trim_byte_level_offsets(&mut enc, *add_prefix_space);
                }
                enc
            }
            PostProcessor::Bert { cls, sep } => {
                if add_special_tokens {
                    wrap(enc, cls, sep)
                } else {
                    enc
                }
            }
            PostProcessor::Roberta { cls, sep, trim_offsets, add_prefix_space } => {
                let mut enc = enc;
                if *trim_offsets {
                    trim_byte_level_offsets(&mut enc, *add_prefix_space);
                }
                enc.type_ids.iter_mut().for_each(|t| *t = 0);
                if add_special_tokens {
                    wrap(enc, cls, sep)
                } else {
                    enc
                }
            }
            PostProcessor::Template { single, specials } => {
                let mut out = Encoding::default();
                for piece in single {
                    match piece {
                        TemplatePiece::Sequence(type_id) => {
                            out.ids.extend(&enc.ids);
                            out.tokens.extend(enc.tokens.iter().cloned());
                            out.offsets.extend(&enc.offsets);
                            out.type_ids.extend(std::iter::repeat_n(*type_id, enc.ids.len()));
                            out.special.extend(&enc.special);
                        }
                        TemplatePiece::Special(name, type_id) => {
                            if !add_special_tokens {
                                continue;
                            }
                            if let Some((ids, tokens)) = specials.get(name) {
                                for (i, &id) in ids.iter().enumerate() {
                                    out.ids.push(id);
                                    out.tokens.push(tokens.get(i).cloned().unwrap_or_default());
                                    out.offsets.push((0, 0));
                                    out.type_ids.push(*type_id);
                                    out.special.push(true);
                                }
                            }
                        }
                    }
                }
                out
            }
            PostProcessor::Sequence(items) => items.iter().fold(enc, |e, p| p.process(e, add_special_tokens)),
        }
    }
}

fn wrap(enc: Encoding, cls: &(String, u32), sep: &(String, u32)) -> Encoding {
    let n = enc.ids.len();
    let mut out = Encoding::default();
    out.ids.push(cls.1);
    out.ids.extend(enc.ids);
    out.ids.push(sep.1);
    out.tokens.push(cls.0.clone());
    out.tokens.extend(enc.tokens);
    out.tokens.push(sep.0.clone());
    out.offsets.push((0, 0));
    out.offsets.extend(enc.offsets);
    out.offsets.push((0, 0));
    out.type_ids = vec![0; n + 2];
    out.special.push(true);
    out.special.extend(enc.special);
    out.special.push(true);
    out
}

/// Move offsets past the leading / before the trailing spaces a byte-level token carries
/// (`Ġ` or real whitespace), so `Ġhello` points at `hello`. The prefix space that
/// `add_prefix_space` invented for the first word is left alone (HF's `process_offsets`).
fn trim_byte_level_offsets(enc: &mut Encoding, add_prefix_space: bool) {
    let space = BYTES_CHAR[b' ' as usize];
    let is_space = |c: &char| *c == space || c.is_whitespace();
    for (i, (token, off)) in enc.tokens.iter().zip(enc.offsets.iter_mut()).enumerate() {
        let mut lead = token.chars().take_while(is_space).count();
        let trail = token.chars().rev().take_while(is_space).count();
        if lead == 0 && trail == 0 {
            continue;
        }
        if lead > 0 {
            let is_first = i == 0 || off.0 == 0;
            if is_first && add_prefix_space && lead == 1 {
                lead = 0;
            }
            off.0 = (off.0 + lead).min(off.1);
        }
        if trail > 0 && off.1 >= trail {
            off.1 = (off.1 - trail).max(off.0);
        }
    }
}

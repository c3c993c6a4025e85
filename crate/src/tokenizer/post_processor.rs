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
    /// An input sequence (`second`: `$B`, the second text of a pair), with its type id.
    Sequence { second: bool, type_id: u32 },
    /// A special token by name, with its type id.
    Special(String, u32),
}

#[derive(Debug, Clone)]
pub enum PostProcessor {
    /// `pair`: the template for two texts (`None` when the file gives none).
    Template { single: Vec<TemplatePiece>, pair: Option<Vec<TemplatePiece>>, specials: HashMap<String, (Vec<u32>, Vec<String>)> },
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
    pair: Option<Vec<PieceJson>>,
    #[serde(default)]
    special_tokens: HashMap<String, SpecialJson>,
}

#[derive(Deserialize)]
struct ClsSepJson {
    sep: (String, u32),
    cls: (String, u32),
}

/// `$A` and `$B` as the templates transformers builds write them (type id 0).
const A: TemplatePiece = TemplatePiece::Sequence { second: false, type_id: 0 };
const B0: TemplatePiece = TemplatePiece::Sequence { second: true, type_id: 0 };

impl PostProcessor {
    /// `$A eos` (pairs: `$A $B eos`, one type): MarianTokenizer's `build_inputs_with_special_tokens`.
    pub fn eos_after_all(eos: &str, id: u32) -> Self {
        Self::framed(&[], &[(eos.to_string(), id)])
    }

    /// `prefix $A suffix` (pairs: `prefix $A $B suffix`, one type): the templates of Marian,
    /// Pegasus and the translation tokenizers that place a language code (`en_XX $A </s>`).
    pub fn framed(prefix: &[(String, u32)], suffix: &[(String, u32)]) -> Self {
        let special = |t: &[(String, u32)]| t.iter().map(|(name, _)| TemplatePiece::Special(name.clone(), 0)).collect::<Vec<_>>();
        let specials = prefix.iter().chain(suffix).map(|(name, id)| (name.clone(), (vec![*id], vec![name.clone()]))).collect();
        let single = [special(prefix), vec![A], special(suffix)].concat();
        let pair = [special(prefix), vec![A, B0], special(suffix)].concat();
        PostProcessor::Template { single, pair: Some(pair), specials }
    }

    /// `$A eos` (pairs: `$A eos $B eos`), the template transformers' T5Tokenizer sets.
    pub fn eos_after_each(eos: &str, id: u32) -> Self {
        let end = || TemplatePiece::Special(eos.to_string(), 0);
        let single = vec![A, end()];
        let pair = vec![A, end(), B0, end()];
        let specials = HashMap::from([(eos.to_string(), (vec![id], vec![eos.to_string()]))]);
        PostProcessor::Template { single, pair: Some(pair), specials }
    }

    /// `[bos] $A [eos]`, each when given (none: the text alone), as transformers'
    /// `update_post_processor` builds it from `add_bos_token` / `add_eos_token`.
    /// Pairs: `[bos] $A [eos] [bos] $B [eos]`, the second half with type id 1.
    pub fn around(bos: Option<(String, u32)>, eos: Option<(String, u32)>) -> Self {
        let mut specials = HashMap::new();
        let mut half = |text: TemplatePiece, type_id: u32| {
            let mut pieces = Vec::new();
            if let Some((name, id)) = &bos {
                pieces.push(TemplatePiece::Special(name.clone(), type_id));
                specials.insert(name.clone(), (vec![*id], vec![name.clone()]));
            }
            pieces.push(text);
            if let Some((name, id)) = &eos {
                pieces.push(TemplatePiece::Special(name.clone(), type_id));
                specials.insert(name.clone(), (vec![*id], vec![name.clone()]));
            }
            pieces
        };
        let single = half(A, 0);
        let pair = [single.clone(), half(TemplatePiece::Sequence { second: true, type_id: 1 }, 1)].concat();
        PostProcessor::Template { single, pair: Some(pair), specials }
    }

    /// `bos $A eos` (pairs: `bos $A eos eos $B eos`), the template transformers' XLMRobertaTokenizer sets.
    pub fn wrapped((bos, bos_id): (String, u32), (eos, eos_id): (String, u32)) -> Self {
        let (start, end) = (|| TemplatePiece::Special(bos.clone(), 0), || TemplatePiece::Special(eos.clone(), 0));
        let single = vec![start(), A, end()];
        let pair = vec![start(), A, end(), end(), B0, end()];
        let specials = HashMap::from([(bos.clone(), (vec![bos_id], vec![bos.clone()])), (eos.clone(), (vec![eos_id], vec![eos.clone()]))]);
        PostProcessor::Template { single, pair: Some(pair), specials }
    }

    pub fn from_json(v: &Value) -> Result<Self> {
        let kind = json::type_of(v, "post_processor")?;
        let f = |key: &str, default: bool| v.get(key).and_then(Value::as_bool).unwrap_or(default);
        Ok(match kind {
            "TemplateProcessing" => {
                let t: TemplateJson = json::fields(v, "post_processor", kind)?;
                let pieces = |template: Vec<PieceJson>, which: &str, names: &[&str]| -> Result<Vec<TemplatePiece>> {
                    let mut out = vec![];
                    for p in template {
                        out.push(match p {
                            PieceJson::Sequence { id, type_id } => {
                                if !names.contains(&id.as_str()) {
                                    return Err(Error::tokenizer(format!("TemplateProcessing `{which}` refers to sequence {id}"), format!("A `{which}` template can only use {}", names.iter().map(|n| format!("${n}")).collect::<Vec<_>>().join(" and "))));
                                }
                                TemplatePiece::Sequence { second: id == "B", type_id }
                            }
                            PieceJson::SpecialToken { id, type_id } => {
                                if !t.special_tokens.contains_key(&id) {
                                    return Err(Error::tokenizer(format!("TemplateProcessing uses `{id}` but does not list it in special_tokens"), "Add it to the template's special_tokens"));
                                }
                                TemplatePiece::Special(id, type_id)
                            }
                        });
                    }
                    Ok(out)
                };
                let single = pieces(t.single, "single", &["A"])?;
                let pair = match t.pair {
                    Some(pair) => Some(pieces(pair, "pair", &["A", "B"])?),
                    None => None,
                };
                let specials = t.special_tokens.into_iter().map(|(k, s)| (k, (s.ids, s.tokens))).collect();
                PostProcessor::Template { single, pair, specials }
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
            PostProcessor::Template { single, specials, .. } => fill_template(single, specials, [&enc, &Encoding::default()], add_special_tokens),
            PostProcessor::Sequence(items) => items.iter().fold(enc, |e, p| p.process(e, add_special_tokens)),
        }
    }
}

/// `$A` and `$B` (an empty encoding for `$B` in a single text's template) in `template`, with the
/// specials when asked.
fn fill_template(template: &[TemplatePiece], specials: &HashMap<String, (Vec<u32>, Vec<String>)>, texts: [&Encoding; 2], add_special_tokens: bool) -> Encoding {
    let mut out = Encoding::default();
    for piece in template {
        match piece {
            TemplatePiece::Sequence { second, type_id } => {
                let enc = texts[*second as usize];
                out.ids.extend(&enc.ids);
                out.tokens.extend(enc.tokens.iter().cloned());
                out.offsets.extend(&enc.offsets);
                out.type_ids.extend(std::iter::repeat_n(*type_id, enc.ids.len()));
                out.special.extend(&enc.special);
                out.second.extend(&enc.second);
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
                        out.second.push(false);
                    }
                }
            }
        }
    }
    out
}

/// Two encodings one after the other (`b` with type id `b_type`).
fn concat(mut a: Encoding, b: Encoding, b_type: Option<u32>) -> Encoding {
    let n = b.ids.len();
    a.ids.extend(b.ids);
    a.tokens.extend(b.tokens);
    a.offsets.extend(b.offsets);
    match b_type {
        Some(t) => a.type_ids.extend(std::iter::repeat_n(t, n)),
        None => a.type_ids.extend(b.type_ids),
    }
    a.special.extend(b.special);
    a.second.extend(b.second);
    a
}

/// A special token of a pair's template (`cls`, `sep`), with its type id.
fn special(enc: &mut Encoding, (token, id): &(String, u32), type_id: u32) {
    enc.ids.push(*id);
    enc.tokens.push(token.clone());
    enc.offsets.push((0, 0));
    enc.type_ids.push(type_id);
    enc.special.push(true);
    enc.second.push(false);
}

impl PostProcessor {
    /// Two texts: `a`'s and `b`'s encodings (`b`'s tokens marked `second`, offsets into its own
    /// text) through the processor as `tokenizers` runs a pair: processors that trim offsets trim
    /// each text; the one that adds specials joins them with its pair template.
    pub fn process_pair(&self, a: Encoding, b: Encoding, add_special_tokens: bool) -> Result<Encoding> {
        let mut parts = self.process_parts(vec![a, b], add_special_tokens)?;
        let mut joined = parts.remove(0);
        for more in parts {
            joined = concat(joined, more, None);
        }
        Ok(joined)
    }

    /// `tokenizers`' `process_encodings`: each processor takes the list of encodings and gives one
    /// back (joined, for those with templates).
    fn process_parts(&self, mut parts: Vec<Encoding>, add: bool) -> Result<Vec<Encoding>> {
        if parts.len() == 1 {
            return Ok(vec![self.process(parts.remove(0), add)]);
        }
        let b = parts.pop().unwrap_or_default();
        let a = parts.pop().unwrap_or_default();
        Ok(match self {
            PostProcessor::ByteLevel { trim_offsets, add_prefix_space } => {
                let (mut a, mut b) = (a, b);
                if *trim_offsets {
                    trim_byte_level_offsets(&mut a, *add_prefix_space);
                    trim_byte_level_offsets(&mut b, *add_prefix_space);
                }
                vec![a, b]
            }
            PostProcessor::Sequence(items) => {
                let mut parts = vec![a, b];
                for p in items {
                    parts = p.process_parts(parts, add)?;
                }
                parts
            }
            // `[CLS] A [SEP] B [SEP]`, the second text and its `[SEP]` with type id 1.
            PostProcessor::Bert { cls, sep } => {
                if !add {
                    return Ok(vec![concat(a, b, Some(1))]);
                }
                let mut out = Encoding::default();
                special(&mut out, cls, 0);
                out = concat(out, a, Some(0));
                special(&mut out, sep, 0);
                out = concat(out, b, Some(1));
                special(&mut out, sep, 1);
                vec![out]
            }
            // `<s> A </s></s> B </s>`, every type id 0.
            PostProcessor::Roberta { cls, sep, trim_offsets, add_prefix_space } => {
                let (mut a, mut b) = (a, b);
                if *trim_offsets {
                    trim_byte_level_offsets(&mut a, *add_prefix_space);
                    trim_byte_level_offsets(&mut b, *add_prefix_space);
                }
                if !add {
                    return Ok(vec![concat(concat(Encoding::default(), a, Some(0)), b, Some(0))]);
                }
                let mut out = Encoding::default();
                special(&mut out, cls, 0);
                out = concat(out, a, Some(0));
                special(&mut out, sep, 0);
                special(&mut out, sep, 0);
                out = concat(out, b, Some(0));
                special(&mut out, sep, 0);
                vec![out]
            }
            PostProcessor::Template { pair, specials, .. } => {
                let pair = pair.as_ref().ok_or_else(|| Error::tokenizer("this tokenizer's template has no `pair` form, so it cannot join two texts", "Use one text, or a tokenizer.json whose TemplateProcessing gives `pair`"))?;
                vec![fill_template(pair, specials, [&a, &b], add)]
            }
        })
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
    out.second = vec![false; n + 2];
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

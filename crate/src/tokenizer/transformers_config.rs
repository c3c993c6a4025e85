//! What transformers 5 changes on top of tokenizer.json when `AutoTokenizer` loads a folder.
//!
//! tokenizer.json alone is what the `tokenizers` library runs. `AutoTokenizer` also reads
//! tokenizer_config.json, special_tokens_map.json (see [`TransformersConfig`] for which wins) and
//! config.json's `model_type`, and that changes ids and decoded text in four ways, each followed
//! here:
//!
//! - **Named tokens are special.** Every token a config names (`bos_token` ... `mask_token`, any
//!   other `*_token` such as `image_token`, and `extra_special_tokens`, formerly
//!   `additional_special_tokens`) becomes a special added token. One that tokenizer.json already
//!   adds keeps its flags and is marked special; one it does not is added (`normalized: false`),
//!   taking its vocabulary id or the next free one. So `hello</s>` splits off `</s>` even when
//!   `</s>` is only a vocabulary entry, and a ChatML `<|im_end|>` named as `eos_token` is skipped
//!   by `decode(.., skip_special_tokens=True)` even when it was added as an ordinary token.
//! - **`added_tokens_decoder`** entries replace tokenizer.json's flags (`special`, `lstrip`,
//!   `rstrip`, `normalized`, `single_word`) for the same token.
//! - **`split_special_tokens: true`** tokenizes special-token text typed by the user as ordinary
//!   text (the template's own special tokens are still added).
//! - **The tokenizer class.** `AutoTokenizer` picks a class from `tokenizer_class` and config.json's
//!   `model_type`; most classes rebuild the pipeline around tokenizer.json's vocabulary. Glassbox
//!   rebuilds as six of them do (Llama, T5, Qwen2, GPT-2, RoBERTa, BERT); two of those differ even from
//!   the files transformers 4 saved for their own class:
//!
//!   **`LlamaTokenizer`** (or `LlamaTokenizerFast`) keeps only the vocabulary,
//!   merges, added tokens and post-processor of tokenizer.json and rebuilds the rest the way
//!   transformers 5's Llama tokenizer does: no normalizer, a Metaspace pre-tokenizer that puts `▁`
//!   before the first word only (`legacy: true`: before every piece between added tokens;
//!   `add_prefix_space: false`: never), and a byte-fallback BPE. Files saved by transformers 4
//!   for Llama 2, TinyLlama or Vicuna carry an older pipeline (a `Prepend("▁")` normalizer) that
//!   transformers 5 no longer runs: with it, ` hi` and text right after a special token tokenize
//!   differently.
//!
//!   **`T5Tokenizer`** keeps the vocabulary and the Precompiled normaliser, splits on whitespace
//!   before its Metaspace (so a word's offsets no longer take in the space before it), always ends
//!   with `eos_token`, and adds `<extra_id_N>` tokens when the config lists no extra tokens.
//!
//!   **`Qwen2Tokenizer`** (every `qwen2` model, whatever class its config names),
//!   **`GPT2Tokenizer`** and **`RobertaTokenizer`** (also `BartTokenizer`, and every `roberta` or
//!   `bart` folder naming no class) put their own byte-level pipeline around the vocabulary and
//!   merges: the same as their own files, different for a file of another style saved under their
//!   name (RoBERTa's also sets its `<s> $A </s>` template and `add_prefix_space`, default false).
//!
//!   **`BertTokenizer`** (also `DistilBertTokenizer`, and every `bert` or `distilbert` folder
//!   naming no class) builds BERT's
//!   normaliser from `do_lower_case` (default true), so a cased tokenizer.json in a folder without
//!   tokenizer_config.json is lowercased.
//!
//!   **`XLMRobertaTokenizer`** (every `xlm-roberta` folder naming no class) rebuilds as
//!   `T5Tokenizer` does, with `<unk>` at id 3, `add_prefix_space`, and its `<s> $A </s>` template;
//!   **`GemmaTokenizer`** (every `gemma3_text` folder naming no class) puts Gemma's `▁` pipeline
//!   and byte-fallback BPE around the vocabulary and merges, keeping the file's template.
//!
//!   **`MBartTokenizer`**, **`MBart50Tokenizer`**, **`NllbTokenizer`** (NLLB checkpoints, model type
//!   `m2m_100`) and **`PegasusTokenizer`** each put their own Metaspace pipeline and template around
//!   the vocabulary ([`Translator`] lists the rules): MBart drops the file's normaliser entirely,
//!   the others keep only its Precompiled rules; the template places the `src_lang` code
//!   (`Tokenizer::set_src_lang` changes it, as transformers' `src_lang` setter does).
//!   `M2M100Tokenizer` (every `m2m_100` folder naming no class) is slow-only: Glassbox runs its
//!   `sentencepiece.bpe.model` and `vocab.json` (`marian::m2m100_tokenizer_json`) and refuses it
//!   over a tokenizer.json.
//!
//! Other classes' rebuilds (Marian, ...) give the pipeline their converters wrote
//! into tokenizer.json, so the file is followed as it is for them.

use super::json::AddedTokenJson;
use super::pre_tokenizer::PrependScheme;
use crate::error::{Error, Result};
use serde_json::Value;

/// The roles transformers names first, in its order (new tokens take ids in this order).
const ROLES: [&str; 7] = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

/// The config as transformers 5 reads it. special_tokens_map.json counts only when
/// tokenizer_config.json has no `added_tokens_decoder` (transformers 5 reads the map as a legacy
/// fallback), and then it wins over tokenizer_config.json where both name a role.
pub struct TransformersConfig<'a> {
    config: Option<&'a Value>,
    map: Option<&'a Value>,
    /// config.json's `model_type`, when the tokenizer belongs to a model: it changes which class
    /// `AutoTokenizer` picks.
    model_type: Option<&'a str>,
    /// The class `AutoTokenizer` loads (`None`: the generic one), once [`Self::resolve_class`] ran.
    class: Option<&'a str>,
}

/// The tokenizer class transformers 5 registers for a model type (`TOKENIZER_MAPPING_NAMES`), for
/// Glassbox's families and the Llama-like decoders that use the generic class.
const REGISTERED_CLASSES: &[(&str, &str)] = &[
    ("gpt2", "GPT2Tokenizer"), ("gpt_neo", "GPT2Tokenizer"), ("opt", "GPT2Tokenizer"), ("bert", "BertTokenizer"), ("roberta", "RobertaTokenizer"), ("distilbert", "BertTokenizer"), ("electra", "BertTokenizer"),
    ("t5", "T5Tokenizer"), ("mt5", "T5Tokenizer"), ("bart", "RobertaTokenizer"), ("marian", "MarianTokenizer"), ("qwen3", "Qwen2Tokenizer"),
    ("gemma", "GemmaTokenizer"), ("gemma2", "GemmaTokenizer"), ("gemma3_text", "GemmaTokenizer"), ("gemma3", "GemmaTokenizer"), ("xlm-roberta", "XLMRobertaTokenizer"),
    ("albert", "AlbertTokenizer"), ("camembert", "CamembertTokenizer"), ("gpt_neox", "GPTNeoXTokenizer"), ("mpnet", "MPNetTokenizer"), ("deberta-v2", "DebertaV2Tokenizer"),
    ("mbart", "MBartTokenizer"), ("pegasus", "PegasusTokenizer"), ("m2m_100", "M2M100Tokenizer"), ("nllb-moe", "NllbTokenizer"),
    ("mistral", GENERIC), ("mixtral", GENERIC), ("ministral", GENERIC), ("ministral3", GENERIC), ("mistral3", GENERIC),
    ("granite", GENERIC), ("granitemoe", GENERIC), ("stablelm", GENERIC), ("olmo2", GENERIC), ("olmo3", GENERIC), ("persimmon", GENERIC), ("umt5", GENERIC),
];

/// transformers 5's `MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS` with the class it registers for each:
/// for these model types the registered class wins over the one a config names (most are the generic
/// class, so a `RobertaTokenizer` named in a `modernbert` folder still runs tokenizer.json as it is).
const INCORRECT_HUB_CLASS: &[(&str, &str)] = &[
    ("qwen2", "Qwen2Tokenizer"), ("hyperclovax_vision_v2", "GPT2Tokenizer"), ("siglip2", "Siglip2Tokenizer"),
    ("qwen3_5", "Qwen3_5Tokenizer"), ("qwen3_5_moe", "Qwen3_5Tokenizer"), ("qwen3_5_moe_text", "Qwen3_5Tokenizer"), ("qwen4_exp", "Qwen3_5Tokenizer"),
    ("arctic", GENERIC), ("camembertv2-base", GENERIC), ("chatlm", GENERIC), ("cohere_asr", GENERIC), ("ernie4_5", GENERIC),
    ("ernie4_5_moe", GENERIC), ("fuyu", GENERIC), ("h2ovl_chat", GENERIC), ("hyperclovax", GENERIC), ("hyperclovax_vlm", GENERIC),
    ("internlm2", GENERIC), ("internlm3", GENERIC), ("iquestcoder", GENERIC), ("jamba", GENERIC), ("llava", GENERIC), ("llava_next", GENERIC),
    ("minicpm3", GENERIC), ("minicpmv", GENERIC), ("minimax_m2", GENERIC), ("modernbert", GENERIC), ("modernbert-decoder", GENERIC),
    ("molmo", GENERIC), ("molmo2", GENERIC), ("nemotron", GENERIC), ("nvfp4", GENERIC), ("opencua", GENERIC), ("openvla", GENERIC),
    ("paddleocr_vl", GENERIC), ("phi3", GENERIC), ("phi3_v", GENERIC), ("phimoe", GENERIC), ("smolvlm", GENERIC), ("step3_vl", GENERIC),
    ("vipllava", GENERIC),
];
const GENERIC: &str = "TokenizersBackend";

fn is_generic(class: &str) -> bool {
    matches!(class, "TokenizersBackend" | "PreTrainedTokenizer" | "PythonBackend")
}

/// The roles each rebuilt class names when the config does not (its `__init__` defaults).
const LLAMA_ROLES: &[(&str, &str)] = &[("bos_token", "<s>"), ("eos_token", "</s>"), ("unk_token", "<unk>")];
const XLM_ROBERTA_ROLES: &[(&str, &str)] = &[("bos_token", "<s>"), ("eos_token", "</s>"), ("sep_token", "</s>"), ("cls_token", "<s>"), ("unk_token", "<unk>"), ("pad_token", "<pad>"), ("mask_token", "<mask>")];
const ALBERT_ROLES: &[(&str, &str)] = &[("bos_token", "[CLS]"), ("eos_token", "[SEP]"), ("unk_token", "<unk>"), ("sep_token", "[SEP]"), ("pad_token", "<pad>"), ("cls_token", "[CLS]"), ("mask_token", "[MASK]")];
const DEBERTA_V2_ROLES: &[(&str, &str)] = &[("bos_token", "[CLS]"), ("eos_token", "[SEP]"), ("unk_token", "[UNK]"), ("sep_token", "[SEP]"), ("pad_token", "[PAD]"), ("cls_token", "[CLS]"), ("mask_token", "[MASK]")];
const GEMMA_ROLES: &[(&str, &str)] = &[("bos_token", "<bos>"), ("eos_token", "<eos>"), ("unk_token", "<unk>"), ("pad_token", "<pad>"), ("mask_token", "<mask>")];
const T5_ROLES: &[(&str, &str)] = &[("eos_token", "</s>"), ("unk_token", "<unk>"), ("pad_token", "<pad>")];
const QWEN2_ROLES: &[(&str, &str)] = &[("eos_token", "<|endoftext|>"), ("unk_token", "<|endoftext|>"), ("pad_token", "<|endoftext|>")];
const MPNET_ROLES: &[(&str, &str)] = &[
    ("bos_token", "<s>"), ("eos_token", "</s>"), ("sep_token", "</s>"), ("cls_token", "<s>"),
    ("unk_token", "[UNK]"), ("pad_token", "<pad>"), ("mask_token", "<mask>"),
];
const BERT_ROLES: &[(&str, &str)] = &[("unk_token", "[UNK]"), ("sep_token", "[SEP]"), ("pad_token", "[PAD]"), ("cls_token", "[CLS]"), ("mask_token", "[MASK]")];
const GPT_NEOX_ROLES: &[(&str, &str)] = &[("bos_token", "<|endoftext|>"), ("eos_token", "<|endoftext|>"), ("unk_token", "<|endoftext|>"), ("pad_token", "<|padding|>")];
const GPT2_ROLES: &[(&str, &str)] = &[("bos_token", "<|endoftext|>"), ("eos_token", "<|endoftext|>"), ("unk_token", "<|endoftext|>")];
const PEGASUS_ROLES: &[(&str, &str)] = &[("eos_token", "</s>"), ("unk_token", "<unk>"), ("pad_token", "<pad>"), ("mask_token", "<mask_2>")];
const MARIAN_ROLES: &[(&str, &str)] = &[("eos_token", "</s>"), ("unk_token", "<unk>"), ("pad_token", "<pad>")];
const M2M100_ROLES: &[(&str, &str)] = &[("bos_token", "<s>"), ("eos_token", "</s>"), ("sep_token", "</s>"), ("unk_token", "<unk>"), ("pad_token", "<pad>")];
const ROBERTA_ROLES: &[(&str, &str)] = &[
    ("bos_token", "<s>"), ("eos_token", "</s>"), ("sep_token", "</s>"), ("cls_token", "<s>"),
    ("unk_token", "<unk>"), ("pad_token", "<pad>"), ("mask_token", "<mask>"),
];

/// Classes transformers 5 keeps under a second name: the same class (`BartTokenizer`) or a
/// subclass that changes no default (`DistilBertTokenizer`).
fn canonical_class(name: &str) -> &str {
    match name {
        "BartTokenizer" => "RobertaTokenizer",
        "DistilBertTokenizer" | "ElectraTokenizer" => "BertTokenizer",
        other => other,
    }
}

/// A pipeline transformers 5 builds in place of tokenizer.json's (see the module comment).
pub enum ClassRebuild {
    Llama(LlamaRebuild),
    T5,
    /// Qwen2Tokenizer: NFC, Qwen's split pattern, byte-level BPE; `add_prefix_space` (default false).
    Qwen2 { add_prefix_space: bool },
    /// GPT2Tokenizer: GPT-2's byte-level split and BPE, no normaliser; `add_prefix_space` (default false).
    Gpt2 { add_prefix_space: bool },
    /// RobertaTokenizer: GPT-2's pipeline and RoBERTa's template `<s> $A </s>` (`cls_token`,
    /// `sep_token`), which trims the spaces out of offsets unless `trim_offsets` is false.
    Roberta { add_prefix_space: bool, trim_offsets: bool },
    /// XLMRobertaTokenizer: T5's rebuild of a SentencePiece Unigram (the file's Precompiled
    /// normaliser only, whitespace split, then Metaspace: `▁` before each word, or none when
    /// `add_prefix_space` is false), `<unk>` at id 3, and its `<s> $A </s>` template.
    XlmRoberta { add_prefix_space: bool },
    /// CamembertTokenizer: XLM-R's rebuild, with `<unk>` wherever the vocabulary holds `unk_token`.
    Camembert { add_prefix_space: bool, unk: String },
    /// GemmaTokenizer: every space becomes `▁` (a Replace normaliser), a split after each space,
    /// byte-fallback BPE with unknowns fused into `unk`, and the decoder that undoes it; the file's
    /// template stays.
    Gemma { unk: String },
    /// BertTokenizer: BERT's normaliser from `do_lower_case` (default true), `strip_accents`
    /// (default: as lowercasing) and `tokenize_chinese_chars` (default true); `[CLS] $A [SEP]`.
    Bert { lowercase: bool, strip_accents: bool, chinese_chars: bool },
    /// MPNetTokenizer: BertTokenizer's pipeline (the same three options, `[UNK]` by default) with
    /// RoBERTa's template from its `cls_token` and `sep_token` (`<s> $A </s>`, offsets trimmed).
    MpNet { lowercase: bool, strip_accents: bool, chinese_chars: bool },
    /// AlbertTokenizer: a SentencePiece Unigram (`<unk>` at id 1) behind its own normaliser
    /// (`` and '' to ", NFKD and accents stripped unless `keep_accents`, lower case when
    /// `do_lower_case`, then the file's Precompiled rules), whitespace split then Metaspace
    /// (`add_prefix_space`), and `[CLS] $A [SEP]`.
    Albert { lowercase: bool, keep_accents: bool, add_prefix_space: bool },
    /// DebertaV2Tokenizer: a SentencePiece Unigram (the unknown piece looked up, else `unk_id`, else 1)
    /// behind a normaliser of its own, not the file's (lower case when `do_lower_case`; runs of
    /// whitespace, tabs and newlines to one space; NFC; trailing spaces stripped; no Precompiled
    /// rules), punctuation split off when `split_by_punct`, Metaspace (`add_prefix_space`: always,
    /// else first), and `[CLS] $A [SEP]` (pairs `$B [SEP]` with type 1).
    DebertaV2 { lowercase: bool, split_by_punct: bool, add_prefix_space: bool, unk: String, unk_id: u32 },
    /// GPTNeoXTokenizer: NFC, GPT-2's byte-level split and BPE (`add_prefix_space`, default false),
    /// and a template of `bos_token` and `eos_token` only when `add_bos_token` / `add_eos_token`
    /// (both false by default: then nothing is added and offsets keep their spaces).
    GptNeoX { add_prefix_space: bool, add_bos: bool, add_eos: bool },
    /// MBartTokenizer, MBart50Tokenizer, NllbTokenizer, PegasusTokenizer (see [`Translator`]): a
    /// Metaspace (`▁` before each word) and its decoder around tokenizer.json's vocabulary; `unk` is
    /// `unk_token` (NLLB's BPE takes it, Pegasus looks its id up).
    Translation { class: Translator, unk: String },
}

/// What each translation class builds (transformers 5's `__init__`):
///
/// - **MBart**: no normaliser (not even the file's Precompiled rules), a whitespace split, a
///   Unigram with `<unk>` at id 3; template `$A </s> src_lang` (default `en_XX`).
/// - **MBart50**: the file's Precompiled rules then runs of spaces to one, a Unigram with `<unk>`
///   at 3; template `src_lang $A </s>` (default `en_XX`).
/// - **Nllb**: the file's Precompiled rules then runs of spaces to one (no normaliser when the file
///   has no Precompiled rules), a BPE fusing unknowns into `unk_token`; template `src_lang $A </s>`,
///   or `$A </s> src_lang` when `legacy_behaviour` (default `eng_Latn`).
/// - **Pegasus**: the file's Precompiled rules (else newlines to spaces) then runs of spaces to one,
///   a Unigram whose unknown is the first `unk_token` scored 0 after id 0; template `$A </s>`.
///
/// Pairs put `$B` right after `$A`. Language codes are special tokens (MBart's 25 and MBart-50's
/// 52 are built in; NLLB's are the config's extra tokens); `src_lang` must be one of them.
#[derive(Clone, Copy, PartialEq)]
pub enum Translator {
    MBart,
    MBart50,
    Nllb { legacy: bool },
    Pegasus,
}

/// MBart-50's language codes, five characters each; MBart's are the first 25.
const MBART50_CODES: &str = "ar_ARcs_CZde_DEen_XXes_XXet_EEfi_FIfr_XXgu_INhi_INit_ITja_XXkk_KZko_KRlt_LTlv_LVmy_MMne_NPnl_XXro_ROru_RUsi_LKtr_TRvi_VNzh_CNaf_ZAaz_AZbn_INfa_IRhe_ILhr_HRid_IDka_GEkm_KHmk_MKml_INmn_MNmr_INpl_PLps_AFpt_XXsv_SEsw_KEta_INte_INth_THtl_XXuk_UAur_PKxh_ZAgl_ESsl_SI";

/// The first `n` of [`MBART50_CODES`].
pub fn mbart_codes(n: usize) -> impl Iterator<Item = &'static str> {
    (0..n).map(|i| &MBART50_CODES[i * 5..i * 5 + 5])
}

/// transformers 5's `LlamaTokenizer` pipeline around tokenizer.json's vocabulary and merges: no
/// normaliser, `Metaspace("▁", prepend_scheme, split: false)`, byte-fallback BPE without an unk
/// token, and a decoder that undoes it (stripping the leading space when one was prepended).
pub struct LlamaRebuild {
    pub prepend_scheme: PrependScheme,
    pub strip_leading_space: bool,
}

impl<'a> TransformersConfig<'a> {
    pub fn new(config: Option<&'a Value>, map: Option<&'a Value>, model_type: Option<&'a str>) -> Self {
        let has_decoder = config.is_some_and(|c| c.get("added_tokens_decoder").is_some_and(|d| !d.is_null()));
        TransformersConfig { config, map: if has_decoder { None } else { map }, model_type, class: None }
    }

    /// Settle the class `AutoTokenizer` loads for this tokenizer.json (see [`Self::resolved_class`]).
    pub fn resolve_class(&mut self, file_text: &[u8]) {
        self.class = self.resolved_class(file_text);
    }

    /// The files that name special tokens, the one that wins first.
    pub fn sources(&self) -> impl Iterator<Item = &'a Value> {
        [self.map, self.config].into_iter().flatten()
    }

    /// The file whose `key` counts (special_tokens_map.json wins where it is read), for messages.
    fn file_of(&self, key: &str) -> &'static str {
        if self.map.is_some_and(|m| m.get(key).is_some_and(|v| !v.is_null())) {
            "special_tokens_map.json"
        } else {
            "tokenizer_config.json"
        }
    }

    /// The value of `key`, from the file that wins.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.sources().find_map(|c| c.get(key).filter(|v| !v.is_null()))
    }

    /// A role's token (`eos_token`, ...): the config's, else the loaded class's default (Llama's
    /// `</s>`, Qwen2's `<|endoftext|>`, ...); a role the config sets to `null` has none.
    pub fn role(&self, key: &str) -> Option<Value> {
        if let Some(v) = self.sources().find_map(|c| c.get(key)) {
            return (!v.is_null()).then(|| v.clone());
        }
        let defaults = match self.class {
            Some("LlamaTokenizer") => LLAMA_ROLES,
            Some("GemmaTokenizer") => GEMMA_ROLES,
            Some("XLMRobertaTokenizer" | "MBartTokenizer" | "NllbTokenizer") => XLM_ROBERTA_ROLES,
            // MBart50Tokenizer names no bos_token.
            Some("MBart50Tokenizer") => &XLM_ROBERTA_ROLES[1..],
            Some("PegasusTokenizer") => PEGASUS_ROLES,
            Some("AlbertTokenizer") => ALBERT_ROLES,
            Some("DebertaV2Tokenizer") => DEBERTA_V2_ROLES,
            Some("CamembertTokenizer") => XLM_ROBERTA_ROLES,
            Some("T5Tokenizer") => T5_ROLES,
            Some("Qwen2Tokenizer") => QWEN2_ROLES,
            Some("GPTNeoXTokenizer") => GPT_NEOX_ROLES,
            Some("GPT2Tokenizer") => GPT2_ROLES,
            Some("BertTokenizer") => BERT_ROLES,
            Some("MPNetTokenizer") => MPNET_ROLES,
            Some("RobertaTokenizer") => ROBERTA_ROLES,
            Some("MarianTokenizer") => MARIAN_ROLES,
            Some("M2M100Tokenizer") => M2M100_ROLES,
            _ => &[],
        };
        defaults.iter().find(|(k, _)| *k == key).map(|(_, v)| Value::String(v.to_string()))
    }

    /// [`Self::flag`] for a key a class hands on as a bool, where null makes transformers fail.
    fn flag_not_null(&self, key: &str, class: &str) -> Result<Option<bool>> {
        if self.config.and_then(|c| c.get(key)).is_some_and(Value::is_null) {
            return Err(Error::file("tokenizer_config.json", format!("`{key}` is null, which transformers' {class} cannot take"), format!("Set `{key}` to true or false, or remove it")));
        }
        self.flag(key)
    }

    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>> {
        match self.config.and_then(|c| c.get(key)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Error::file(
                "tokenizer_config.json",
                format!("`{key}` is {}, not true or false", short(other)),
                format!("Set `{key}` to true or false (or remove it for transformers' default)"),
            )),
        }
    }

    /// `split_special_tokens`: special-token text in the input is tokenized as ordinary text.
    pub fn split_special_tokens(&self) -> Result<bool> {
        Ok(self.flag("split_special_tokens")?.unwrap_or(false))
    }

    /// `clean_up_tokenization_spaces`, and whether it also applies to BPE models (transformers
    /// skips it for them unless the long-named key forces it).
    pub fn clean_up_spaces(&self) -> Result<(bool, bool)> {
        let clean = self.flag("clean_up_tokenization_spaces")?.unwrap_or(false);
        let for_bpe = self.flag("clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output")?.unwrap_or(false);
        Ok((clean, for_bpe))
    }

    /// The class `AutoTokenizer` loads, as transformers 5 resolves it (`None`: the generic one,
    /// which runs tokenizer.json as it is). The config's `tokenizer_class` wins, except where the
    /// model type registers another class: then the generic one (Mistral, Phi-3, ...), or the
    /// registered one for types transformers knows to carry a wrong class (Qwen2, ModernBERT, ...). A byte-level
    /// tokenizer.json (Llama 3 style; transformers looks for `"ByteLevel"` in the text) under
    /// `LlamaTokenizer` is loaded as it is.
    fn resolved_class(&self, file_text: &[u8]) -> Option<&'a str> {
        let named = self.config.and_then(|c| c.get("tokenizer_class")).and_then(Value::as_str);
        let named = named.map(|c| canonical_class(c.strip_suffix("Fast").unwrap_or(c)));
        let find = |table: &[(&'static str, &'static str)]| self.model_type.and_then(|t| table.iter().find(|(k, _)| *k == t)).map(|(_, c)| *c);
        let hub_override = find(INCORRECT_HUB_CLASS);
        let wrong_on_hub = hub_override.is_some();
        let registered = hub_override.or_else(|| find(REGISTERED_CLASSES));
        if named == Some("LlamaTokenizer") && !wrong_on_hub {
            let byte_level = file_text.windows(b"\"ByteLevel\"".len()).any(|w| w == b"\"ByteLevel\"");
            if byte_level {
                return None;
            }
        }
        let class = match (named, registered) {
            (Some(named), Some(registered)) if named != registered => {
                if is_generic(registered) {
                    return None;
                }
                if wrong_on_hub { registered } else { named }
            }
            (Some(named), _) => named,
            (None, registered) => registered?,
        };
        (!is_generic(class)).then_some(class)
    }

    /// Whether the tokenizer's output carries `token_type_ids`, as transformers 5 decides it: the
    /// config's `model_input_names`, else the class's (BERT's and ELECTRA's tokenizers, DeBERTa-v2's;
    /// not ALBERT's, RoBERTa's or the generic one). Without them a model reads every token as type 0.
    pub fn emits_type_ids(&self) -> bool {
        if let Some(names) = self.config.and_then(|c| c.get("model_input_names")).and_then(Value::as_array) {
            return names.iter().any(|n| n.as_str() == Some("token_type_ids"));
        }
        matches!(self.class, Some("BertTokenizer" | "ElectraTokenizer" | "DebertaV2Tokenizer"))
    }

    /// The pipeline transformers 5 builds in place of tokenizer.json's, if it does for this
    /// tokenizer's class and differently from what the file says; `model_kind` is the file's.
    pub fn class_rebuild(&self, model_kind: &str) -> Result<Option<ClassRebuild>> {
        if self.class == Some("M2M100Tokenizer") && model_kind != "MarianSentencePiece" {
            return Err(Error::tokenizer(
                "transformers 5 loads this tokenizer as `M2M100Tokenizer` (the model type m2m_100, or tokenizer_class), a slow-only class that reads sentencepiece.bpe.model and vocab.json, not tokenizer.json",
                "Load a folder with those two files and no tokenizer.json; for an NLLB checkpoint set `tokenizer_class` to `NllbTokenizer` in tokenizer_config.json",
            ));
        }
        let Some(class @ ("MBartTokenizer" | "MBart50Tokenizer" | "NllbTokenizer" | "PegasusTokenizer" | "LlamaTokenizer" | "T5Tokenizer" | "XLMRobertaTokenizer" | "CamembertTokenizer" | "AlbertTokenizer" | "GemmaTokenizer" | "Qwen2Tokenizer" | "GPT2Tokenizer" | "GPTNeoXTokenizer" | "RobertaTokenizer" | "BertTokenizer" | "MPNetTokenizer" | "DebertaV2Tokenizer")) = self.class else {
            return Ok(None);
        };
        let wanted = match class {
            "T5Tokenizer" | "XLMRobertaTokenizer" | "CamembertTokenizer" | "AlbertTokenizer" | "DebertaV2Tokenizer" | "MBartTokenizer" | "MBart50Tokenizer" | "PegasusTokenizer" => "Unigram",
            "BertTokenizer" | "MPNetTokenizer" => "WordPiece",
            _ => "BPE",
        };
        if model_kind != wanted {
            return Err(Error::tokenizer(
                format!("transformers 5 loads this tokenizer as `{class}` (tokenizer_class in tokenizer_config.json, or the model's type), which rebuilds a {wanted} model, but tokenizer.json holds a {model_kind} model"),
                "Set `tokenizer_class` to `TokenizersBackend` in tokenizer_config.json so tokenizer.json is used as it is",
            ));
        }
        let translator = match class {
            "MBartTokenizer" => Some(Translator::MBart),
            "MBart50Tokenizer" => Some(Translator::MBart50),
            "NllbTokenizer" => Some(Translator::Nllb { legacy: self.flag("legacy_behaviour")?.unwrap_or(false) }),
            "PegasusTokenizer" => Some(Translator::Pegasus),
            _ => None,
        };
        if let Some(class) = translator {
            return Ok(Some(ClassRebuild::Translation { class, unk: self.role_text("unk_token").unwrap_or_else(|| "<unk>".into()) }));
        }
        if class == "T5Tokenizer" {
            return Ok(Some(ClassRebuild::T5));
        }
        if class == "GemmaTokenizer" {
            return Ok(Some(ClassRebuild::Gemma { unk: self.role_text("unk_token").unwrap_or_else(|| "<unk>".into()) }));
        }
        if class == "XLMRobertaTokenizer" {
            return Ok(Some(ClassRebuild::XlmRoberta { add_prefix_space: self.flag_not_null("add_prefix_space", class)?.unwrap_or(true) }));
        }
        if class == "CamembertTokenizer" {
            return Ok(Some(ClassRebuild::Camembert {
                add_prefix_space: self.flag_not_null("add_prefix_space", class)?.unwrap_or(true),
                unk: self.role_text("unk_token").unwrap_or_else(|| "<unk>".into()),
            }));
        }
        if class == "AlbertTokenizer" {
            return Ok(Some(ClassRebuild::Albert {
                lowercase: self.flag("do_lower_case")?.unwrap_or(true),
                keep_accents: self.flag("keep_accents")?.unwrap_or(false),
                add_prefix_space: self.flag_not_null("add_prefix_space", class)?.unwrap_or(true),
            }));
        }
        if class == "DebertaV2Tokenizer" {
            let unk_id = match self.config.and_then(|c| c.get("unk_id")) {
                None | Some(Value::Null) => 1,
                Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                    Error::file("tokenizer_config.json", format!("`unk_id` is {v}, not a token id"), "Set `unk_id` to the id of the unknown token, or remove it")
                })?,
            };
            return Ok(Some(ClassRebuild::DebertaV2 {
                lowercase: self.flag("do_lower_case")?.unwrap_or(false),
                split_by_punct: self.flag("split_by_punct")?.unwrap_or(false),
                add_prefix_space: self.flag("add_prefix_space")?.unwrap_or(true),
                unk: self.role_text("unk_token").unwrap_or_else(|| "[UNK]".into()),
                unk_id,
            }));
        }
        if class == "Qwen2Tokenizer" {
            return Ok(Some(ClassRebuild::Qwen2 { add_prefix_space: self.flag("add_prefix_space")?.unwrap_or(false) }));
        }
        if class == "GPTNeoXTokenizer" {
            return Ok(Some(ClassRebuild::GptNeoX {
                add_prefix_space: self.flag("add_prefix_space")?.unwrap_or(false),
                add_bos: self.flag("add_bos_token")?.unwrap_or(false),
                add_eos: self.flag("add_eos_token")?.unwrap_or(false),
            }));
        }
        if class == "GPT2Tokenizer" {
            return Ok(Some(ClassRebuild::Gpt2 { add_prefix_space: self.flag("add_prefix_space")?.unwrap_or(false) }));
        }
        if class == "RobertaTokenizer" {
            // RobertaTokenizer passes both to the tokenizers library, which takes no null.
            let add_prefix_space = self.flag_not_null("add_prefix_space", class)?.unwrap_or(false);
            return Ok(Some(ClassRebuild::Roberta { add_prefix_space, trim_offsets: self.flag_not_null("trim_offsets", class)?.unwrap_or(true) }));
        }
        if class == "MPNetTokenizer" {
            let lowercase = self.flag("do_lower_case")?.unwrap_or(true);
            let strip_accents = self.flag("strip_accents")?.unwrap_or(lowercase);
            return Ok(Some(ClassRebuild::MpNet { lowercase, strip_accents, chinese_chars: self.flag("tokenize_chinese_chars")?.unwrap_or(true) }));
        }
        if class == "BertTokenizer" {
            let lowercase = self.flag("do_lower_case")?.unwrap_or(true);
            let strip_accents = self.flag("strip_accents")?.unwrap_or(lowercase);
            return Ok(Some(ClassRebuild::Bert { lowercase, strip_accents, chinese_chars: self.flag("tokenize_chinese_chars")?.unwrap_or(true) }));
        }
        let add_prefix_space = self.flag("add_prefix_space")?.unwrap_or(true);
        let legacy = self.flag("legacy")?.unwrap_or(false);
        let prepend_scheme = match (add_prefix_space, legacy) {
            (false, _) => PrependScheme::Never,
            (true, false) => PrependScheme::First,
            (true, true) => PrependScheme::Always,
        };
        Ok(Some(ClassRebuild::Llama(LlamaRebuild { prepend_scheme, strip_leading_space: add_prefix_space })))
    }

    /// The source languages of a translation class (MBart's, MBart-50's, NLLB's; `None` for any
    /// other) and the one `src_lang` names (default `en_XX`, NLLB `eng_Latn`).
    pub fn languages(&self) -> Result<Option<(Vec<String>, String)>> {
        let (codes, default): (Vec<String>, _) = match self.class {
            Some("MBartTokenizer") => (mbart_codes(25).map(String::from).collect(), "en_XX"),
            Some("MBart50Tokenizer") => (mbart_codes(52).map(String::from).collect(), "en_XX"),
            // NllbTokenizer's codes are its extra tokens; without any it takes 202 built-in ones Glassbox does not carry.
            Some("NllbTokenizer") => match self.get("extra_special_tokens").or_else(|| self.get("additional_special_tokens")).and_then(Value::as_array) {
                Some(items) => (items.iter().filter_map(|v| token_from_value(v, true)).map(|t| t.content).collect(), "eng_Latn"),
                None => {
                    return Err(Error::file(
                        "tokenizer_config.json",
                        "lists no language codes (`extra_special_tokens`), so transformers' NllbTokenizer would take its built-in ones, which Glassbox does not carry",
                        "Re-save the tokenizer with transformers (save_pretrained writes the codes), or list them",
                    ))
                }
            },
            _ => return Ok(None),
        };
        Ok(Some((codes, self.src_lang(default))))
    }

    /// The config's `src_lang`, else the class's `default`. A value that is not a string is kept as
    /// its JSON text, so that it is refused by name as no language code (rather than quietly replaced).
    pub fn src_lang(&self, default: &str) -> String {
        match self.config.and_then(|c| c.get("src_lang")) {
            None | Some(Value::Null) => default.to_string(),
            Some(Value::String(code)) => code.clone(),
            Some(other) => other.to_string(),
        }
    }

    /// The class is `class` whatever the configs say: a tokenizer.json Glassbox wrote of Marian's
    /// files can only be a MarianTokenizer's.
    pub fn set_class(&mut self, class: &'a str) {
        self.class = Some(class);
    }

    /// The class `AutoTokenizer` loads, once [`Self::resolve_class`] ran (`None`: the generic one).
    pub fn class_name(&self) -> Option<&'a str> {
        self.class
    }

    /// The text of a role's token (T5's template ends with `eos_token`).
    pub fn role_text(&self, key: &str) -> Option<String> {
        let v = self.role(key)?;
        v.as_str().or_else(|| v.get("content").and_then(Value::as_str)).map(str::to_string)
    }

    /// tokenizer.json's added tokens followed by what transformers 5 adds or changes after
    /// loading it, in its order. A later entry for the same content replaces the earlier one's
    /// flags (and, as in `tokenizers`, a token once special stays special).
    ///
    /// transformers re-adds the config's `added_tokens_decoder` if it has one, else tokenizer.json's
    /// own added tokens; each of those a config names becomes special. Then each named or extra
    /// token that is not an added token yet is added.
    ///
    /// T5Tokenizer adds its sentinels: `<extra_id_0>` ... up to `extra_ids` (default 100) when the
    /// config has no `extra_special_tokens` and its `additional_special_tokens` hold none.
    pub fn added_tokens(&self, from_file: &[AddedTokenJson]) -> Result<Vec<AddedTokenJson>> {
        let mut re_added: Vec<AddedTokenJson> = match self.config.and_then(|c| c.get("added_tokens_decoder")).filter(|d| !d.is_null()) {
            None => from_file.to_vec(),
            Some(Value::Object(decoder)) => {
                let mut tokens = Vec::with_capacity(decoder.len());
                for (index, v) in decoder {
                    let token = token_from_value(v, false).filter(|_| v.is_object()).ok_or_else(|| {
                        Error::file(
                            "tokenizer_config.json",
                            format!("added_tokens_decoder entry {index:?} is {}, not a token with a `content` string", short(v)),
                            "Give each entry a `content` (transformers writes them so), or remove the key",
                        )
                    })?;
                    // A u64 has at most 20 digits: longer keys are not ids (transformers would fail on
                    // them) and all go last, which also bounds the loop below.
                    tokens.push((index.len().min(21), token));
                }
                // In id order, as transformers adds them: the map's keys come sorted as text, and
                // numbers without leading zeros sort as text within one length.
                let longest = tokens.iter().map(|(len, _)| *len).max().unwrap_or(0);
                (1..=longest).flat_map(|len| tokens.iter().filter(move |(l, _)| *l == len).map(|(_, t)| t.clone())).collect()
            }
            Some(other) => {
                return Err(Error::file(
                    "tokenizer_config.json",
                    format!("`added_tokens_decoder` is {}, not a map from ids to tokens", short(other)),
                    "Remove the key (tokenizer.json's added tokens are used) or re-save the tokenizer",
                ))
            }
        };

        // Named tokens: the roles and any other `*_token` key; extra tokens are special too but
        // not "named" (an extra one that is already added keeps its flags).
        let mut named: Vec<Value> = ROLES.iter().filter_map(|k| self.role(k)).collect();
        let mut seen = std::collections::HashSet::new();
        for key in self.sources().filter_map(Value::as_object).flat_map(|o| o.keys()) {
            if key.ends_with("_token") && !ROLES.contains(&key.as_str()) && seen.insert(key) {
                named.extend(self.get(key).filter(|v| is_token_value(v)).cloned());
            }
        }
        let mut extra: Vec<Value> = match self.get("extra_special_tokens").or_else(|| self.get("additional_special_tokens")) {
            // A class's own extra tokens, when the config lists none: MBart's language codes,
            // Pegasus's `mask_token_sent` and `<unk_2>` up to `<unk_{offset - 1}>` (offset 103).
            None if self.class == Some("MBartTokenizer") => mbart_codes(25).map(Value::from).collect(),
            None if self.class == Some("PegasusTokenizer") => {
                let offset = self.config.and_then(|c| c.get("offset")).and_then(Value::as_u64).unwrap_or(103).min(crate::loader::limits::MAX_ADDED_TOKENS as u64);
                let sent = match self.config.and_then(|c| c.get("mask_token_sent")) {
                    None => Some(Value::from("<mask_1>")),
                    Some(v) => (!v.is_null()).then(|| v.clone()),
                };
                sent.into_iter().chain((2..offset).map(|i| Value::String(format!("<unk_{i}>")))).collect()
            }
            None => vec![],
            Some(Value::Array(items)) => items.clone(),
            // transformers 5 also takes a map of named extra tokens ({"image_token": "<image>"}).
            Some(Value::Object(items)) => {
                named.extend(items.values().cloned());
                vec![]
            }
            Some(other) => {
                let key = if self.get("extra_special_tokens").is_some() { "extra_special_tokens" } else { "additional_special_tokens" };
                return Err(Error::file(
                    self.file_of(key),
                    format!("`{key}` is {}, not a list of tokens", short(other)),
                    "Make it a list of token strings, or remove it",
                ));
            }
        };
        // MBart50Tokenizer's language codes follow whatever extra tokens the config lists.
        if self.class == Some("MBart50Tokenizer") {
            let listed: Vec<String> = extra.iter().filter_map(|v| token_from_value(v, true)).map(|t| t.content).collect();
            extra.extend(mbart_codes(52).filter(|c| !listed.iter().any(|l| l == c)).map(Value::from));
        }
        // T5Tokenizer's sentinels, when the config lists no extra tokens of its own.
        if self.class == Some("T5Tokenizer") && self.get("extra_special_tokens").is_none() && !extra.iter().any(|v| v.as_str().is_some_and(|s| s.contains("<extra_id_"))) {
            let count = self.config.and_then(|c| c.get("extra_ids")).and_then(Value::as_u64).unwrap_or(100).min(crate::loader::limits::MAX_ADDED_TOKENS as u64);
            extra.extend((0..count).map(|i| Value::String(format!("<extra_id_{i}>"))));
        }
        // The key and file a bad value came from, found only for the message.
        let where_is = |v: &Value| -> (&'static str, String) {
            for (file, source) in [("special_tokens_map.json", self.map), ("tokenizer_config.json", self.config)] {
                let Some(obj) = source.and_then(Value::as_object) else { continue };
                for (key, value) in obj {
                    let inside = value.as_array().is_some_and(|a| a.contains(v)) || value.as_object().is_some_and(|o| o.values().any(|x| x == v));
                    if value == v || inside {
                        return (file, format!("`{key}`"));
                    }
                }
            }
            ("tokenizer_config.json", "a special token".into())
        };
        let as_token = |v: &Value| {
            token_from_value(v, true).ok_or_else(|| {
                let (file, key) = where_is(v);
                Error::file(
                    file,
                    format!("{key} is {}, not a token string", short(v)),
                    "Name tokens as strings (or objects with a `content` string), or remove the entry",
                )
            })
        };
        let named: Vec<AddedTokenJson> = named.iter().map(as_token).collect::<Result<_>>()?;
        let extra: Vec<AddedTokenJson> = extra.iter().map(as_token).collect::<Result<_>>()?;
        // What counts as added is fixed before the loop: two names for one new token both add it,
        // and the later one's flags win.
        let known: std::collections::HashSet<&str> = from_file.iter().chain(&re_added).map(|t| t.content.as_str()).collect();
        let new_tokens: Vec<AddedTokenJson> = named.iter().chain(&extra).filter(|t| !t.content.is_empty() && !known.contains(t.content.as_str())).cloned().collect();
        drop(known);
        re_added.extend(new_tokens);
        let named_contents: std::collections::HashSet<&str> = named.iter().map(|t| t.content.as_str()).collect();
        for t in &mut re_added {
            if named_contents.contains(t.content.as_str()) {
                t.special = true;
            }
        }
        // Qwen2Tokenizer ends by adding every special token again as a plain special token (no
        // stripping, not normalised), which replaces the flags they had.
        if self.class == Some("Qwen2Tokenizer") {
            for t in named.iter().chain(&extra) {
                re_added.push(AddedTokenJson { content: t.content.clone(), single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
            }
        }
        // Re-adding a token with the flags it already has changes nothing: leave those out, so the
        // list (and the MAX_ADDED_TOKENS limit) counts each token once.
        let mut current: std::collections::HashMap<String, AddedTokenJson> = from_file.iter().map(|t| (t.content.clone(), t.clone())).collect();
        let mut list = from_file.to_vec();
        for t in re_added {
            if t.content.is_empty() || current.get(&t.content).is_some_and(|old| same_flags(old, &t)) {
                continue;
            }
            current.insert(t.content.clone(), t.clone());
            list.push(t);
        }
        Ok(list)
    }
}

fn same_flags(a: &AddedTokenJson, b: &AddedTokenJson) -> bool {
    (a.special, a.lstrip, a.rstrip, a.normalized, a.single_word) == (b.special, b.lstrip, b.rstrip, b.normalized, b.single_word)
}

/// A string, or an object with a string `content` (an `AddedToken` as transformers saves it).
fn is_token_value(v: &Value) -> bool {
    v.is_string() || v.get("content").is_some_and(Value::is_string)
}

/// A token named in a config: a plain string is special and `normalized: false`; an object
/// gives its own flags (`special` defaulting to `special_by_default`, `normalized` to the
/// opposite of `special`, as transformers' `AddedToken` does). `None` if it is neither.
fn token_from_value(v: &Value, special_by_default: bool) -> Option<AddedTokenJson> {
    match v {
        Value::String(s) => Some(AddedTokenJson { content: s.clone(), single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }),
        Value::Object(o) => {
            let content = o.get("content").and_then(Value::as_str)?;
            let flag = |k: &str, default: bool| o.get(k).and_then(Value::as_bool).unwrap_or(default);
            let special = flag("special", special_by_default);
            Some(AddedTokenJson {
                content: content.to_string(),
                single_word: flag("single_word", false),
                lstrip: flag("lstrip", false),
                rstrip: flag("rstrip", false),
                normalized: flag("normalized", !special),
                special,
            })
        }
        _ => None,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 40 { s } else { format!("{}...", s.chars().take(40).collect::<String>()) }
}

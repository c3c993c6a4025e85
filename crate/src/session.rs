//! A model and its tokenizer, loaded together: the API that the CLI and the wasm boundary share.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::loader::ModelFiles;
use crate::models::capture::MapSelection;
use crate::models::logits::LogitRows;
use crate::models::beam::{beam_search_with, BeamOptions, GenerationRules, Hypothesis};
use crate::models::generation::{generate_with, GenerateOptions, GeneratedToken, Generator, Sampling};
use crate::models::generation_config::GenerationConfig;
use crate::models::probe::{LensTop, RelativePositions, TokenEmbeddings};
use crate::models::{Capture, DecoderState, HeadMasks, Inputs, Interventions, Kind, Model, ModelInfo, Outputs, Probe, QkvRequest, Stack};
use crate::tokenizer::{Encoding, Tokenizer};

pub struct Session {
    pub model: Model,
    pub tokenizer: Tokenizer,
    /// The model's generation settings (generation_config.json, or config.json's generation keys).
    pub generation: GenerationConfig,
    /// The token the caller forces first in the runs that follow, in place of the settings'
    /// `forced_bos_token_id`: what transformers' `generate(forced_bos_token_id=...)` does, and how a
    /// many-to-many translation model (NLLB, mBART-50) is told its target language. 0: none, else
    /// id + 1. Atomic so that a session stays `Sync` while each run may set it.
    target_language: AtomicU64,
    /// The checkpoint's tensors the model never read (see [`crate::loader::weights::UnusedTensors`]):
    /// front ends say so, as transformers warns of unused weights.
    pub unused_tensors: Vec<String>,
}

/// What a front end chose for one generation run; `None` takes the model's generation settings
/// ([`Session::generation`]), then Glassbox's defaults. See [`Session::plan`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GenerationRequest {
    pub max_new_tokens: Option<usize>,
    /// 0 means greedy; any other value samples. `top_k` / `top_p` alone do not switch sampling on
    /// (as in HF, where they need `do_sample`).
    pub temperature: Option<f32>,
    pub top_k: Option<usize>,
    pub top_p: Option<f32>,
    pub seed: u64,
    pub num_beams: Option<usize>,
    pub length_penalty: Option<f64>,
}

/// How a run will decode, once the request and the model's settings are merged.
#[derive(Debug, Clone, Copy)]
pub enum DecodingPlan {
    /// Greedy or sampled, one token at a time.
    Stepwise(GenerateOptions),
    Beam(BeamOptions),
}

/// One text through the model: what the CLI's `inspect` prints and the page plots.
pub struct Inspection {
    pub encoding: Encoding,
    /// The decoder's input (encoder-decoder models only).
    pub decoder_ids: Option<Vec<u32>>,
    pub outputs: Outputs,
}

/// The most candidate labels [`Session::zero_shot`] takes (one run each).
pub const MAX_ZERO_SHOT_LABELS: usize = 64;

/// transformers' zero-shot pipeline's hypothesis template.
pub const ZERO_SHOT_TEMPLATE: &str = "This example is {}.";

/// The longest text [`Session::token_effects`] takes (it runs the model once per token).
pub const MAX_EFFECT_TOKENS: usize = 256;

/// [`Session::token_effects`]: the verdict (label index and its probability, or a regression
/// head's score) and, per token (`[T]`), how much hiding it lowers that (negative: raises it; 0 for
/// special tokens, which stay visible).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenEffects {
    pub label: usize,
    pub verdict: f32,
    pub effects: Vec<f32>,
}

/// What [`Session::inspect_with`] should show and change. `Default` is a plain run.
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    /// The decoder's input (encoder-decoder models; default: the decoder start token).
    pub decoder_ids: Option<Vec<u32>>,
    /// Attention maps of every layer and head (probs and/or scores).
    pub capture: Capture,
    /// Which of those maps are kept (default: all).
    pub maps: MapSelection,
    /// Hidden states after every layer (`Outputs::{encoder,decoder}_hidden_states`, `[L+1][T][C]`).
    pub hidden_states: bool,
    /// One layer's Q/K/V step-through (`Outputs::qkv`).
    pub qkv: Option<QkvRequest>,
    /// Heads to ablate, per attention kind: `[L][H]`, 1 keeps a head, 0 ablates it.
    pub head_mask: HeadMasks,
    /// Source tokens to hide (HF `attention_mask`): `[S]`, one entry per token of the encoded text,
    /// special tokens included; 1 visible, 0 hidden. Encoders and encoder-decoders only.
    pub token_mask: Option<Vec<u8>>,
    /// Every row of logits (default), or only each row's k likeliest tokens (`Outputs::top_k`).
    pub logits: LogitRows,
    /// A second text read together with the first (`tokenizer(text, text_pair)`: `[CLS] A [SEP] B
    /// [SEP]`), for encoder-only models: sentence pairs for NLI heads, cross-encoders, BERT's segments.
    pub pair: Option<String>,
}

impl InspectOptions {
    fn probe(&self) -> Probe {
        Probe {
            capture: self.capture,
            maps: self.maps,
            hidden_states: self.hidden_states,
            qkv: self.qkv,
            interventions: Interventions { head_mask: self.head_mask.clone(), token_mask: self.token_mask.clone() },
            logits: self.logits,
        }
    }
}

/// A finished (or stopped) generation.
pub struct Generation {
    /// What was fed before the first new token: the prompt (decoder-only) or the decoder start.
    pub prefix_ids: Vec<u32>,
    /// The encoded source (encoder-decoder) or the prompt (decoder-only).
    pub input: Encoding,
    pub tokens: Vec<GeneratedToken>,
}

/// A finished beam search.
pub struct BeamGeneration {
    pub prefix_ids: Vec<u32>,
    pub input: Encoding,
    /// Best first; ids are the new tokens (eos included when a hypothesis ended there).
    pub hypotheses: Vec<Hypothesis>,
}

impl Generation {
    pub fn ids(&self) -> Vec<u32> {
        self.tokens.iter().map(|t| t.id).collect()
    }
}

impl Session {
    /// Load from the bytes of a model folder. With `random_seed` and no weights, the
    /// architecture is built with seeded random weights (the "untrained twin").
    pub fn load(files: &ModelFiles, random_seed: Option<u64>) -> Result<Self> {
        Self::load_with(files, random_seed, None)
    }

    /// [`Session::load`] with the storage of the linear layers' weights chosen: `None` keeps the
    /// file's dtype (f16/bf16 stay 16-bit), or `Storage::{F32, F16, BF16, Int8}`.
    pub fn load_with(files: &ModelFiles, random_seed: Option<u64>, storage: Option<crate::kernels::Storage>) -> Result<Self> {
        Self::load_from(files, files.weights.map(|bytes| crate::loader::tensor_file::FileBytes::Memory(bytes).into()), random_seed, storage)
    }

    /// What a load checks before it reads a weight: config.json names a family, the tokenizer and the
    /// generation settings parse, and the tokenizer has the token this model ends its text with. The page
    /// runs it before downloading model.safetensors: a tokenizer that belongs to another model is named
    /// before a 500 MB download, not after.
    pub fn check_before_weights(files: &ModelFiles) -> Result<(Tokenizer, GenerationConfig)> {
        let model_type = crate::loader::model_type(files.config)?;
        let tokenizer = Tokenizer::for_model(files.tokenizer, files.tokenizer_config, files.special_tokens_map, Some(&model_type))?;
        let tv = tokenizer.vocab_size_of_tokenizer_json();
        let generation = GenerationConfig::from_files(files.config, files.generation_config)?;
        // Another model's tokenizer often fits under vocab_size (BERT's 30,522 entries beside GPT-2's 50,257)
        // but has no entry for the token this model ends its text with: named here, before a run shows
        // tokens that mean nothing to the model.
        if let Some(&eos) = generation.eos_token_id.iter().find(|&&id| id as usize >= tv) {
            return Err(Error::file(
                tokenizer.vocabulary_file(),
                format!(
                    "it has {tv} tokens (ids 0 to {}), but this model ends its text with token {eos} ({}'s eos_token_id), so it is another model's tokenizer",
                    tv.saturating_sub(1),
                    generation.source
                ),
                format!("Use the {} that belongs to this model", tokenizer.vocabulary_file()),
            ));
        }
        Ok((tokenizer, generation))
    }

    /// [`Session::load_with`] with the weights given apart from `files` (see [`Model::load_from`]).
    pub fn load_from(files: &ModelFiles, weight_file: Option<crate::loader::WeightSource>, random_seed: Option<u64>, storage: Option<crate::kernels::Storage>) -> Result<Self> {
        let (tokenizer, generation) = Self::check_before_weights(files)?;
        let tv = tokenizer.vocab_size_of_tokenizer_json();
        let mut unused_tensors = Vec::new();
        let model = Model::load_reporting(files, weight_file, random_seed, storage, &mut unused_tensors)?;
        let mv = model.info().vocab_size;
        if tv > mv {
            return Err(Error::config(
                "vocab_size",
                format!("is {mv} but {} can produce ids up to {}", tokenizer.vocabulary_file(), tv - 1),
                format!("Use the {} that belongs to this model", tokenizer.vocabulary_file()),
            ));
        }
        Ok(Session { model, tokenizer, generation, target_language: AtomicU64::new(0), unused_tensors })
    }

    /// Merge `request` with the model's generation settings: explicit choices win, then the
    /// settings, then HF's defaults (greedy, one beam, length penalty 1) and 20 new tokens.
    pub fn plan(&self, text: &str, request: &GenerationRequest) -> Result<DecodingPlan> {
        let g = &self.generation;
        let prefix_len = match self.info().kind {
            Kind::DecoderOnly => self.encode(text)?.ids.len().max(1),
            _ => 1, // the decoder start token
        };
        // A settings file that bounds the whole length (max_length, no max_new_tokens) and a prompt
        // that already fills it: HF's generate refuses rather than make nothing.
        if let (None, None, Some(max_length)) = (request.max_new_tokens, g.max_new_tokens, g.max_length) {
            if prefix_len >= max_length {
                return Err(Error::input(
                    format!("the prompt is {prefix_len} tokens long, and the model's generation settings end every sequence at max_length {max_length} tokens, so nothing is left to generate"),
                    "Ask for a number of new tokens (--max-new-tokens N, or the page's length setting), or shorten the prompt",
                ));
            }
        }
        let max_new_tokens = g.max_new_tokens(request.max_new_tokens, prefix_len);
        // Sampling when asked for (a temperature; 0 means greedy) or when the file says `do_sample`.
        // The file's filters apply unless overridden, with HF's top-k of 50 when none is given (HF's
        // GenerationConfig default, whoever asked for sampling).
        // HF refuses a file that samples at temperature 0 (its temperature warper needs T > 0); a
        // temperature given for the run decides instead (0 there means greedy).
        if request.temperature.is_none() && g.do_sample && g.temperature.is_some_and(|t| t <= 0.0) {
            return Err(Error::input(
                format!("the model's settings ({}) sample (do_sample) at temperature {}, which Hugging Face refuses", g.source, g.temperature.unwrap_or(0.0)),
                "Give a temperature for the run (--temperature; 0 is greedy), or set do_sample to false in the file",
            ));
        }
        let sampling = if request.temperature.is_some() || g.do_sample {
            let temperature = request.temperature.or(g.temperature).unwrap_or(1.0);
            let top_k = request.top_k.or(g.top_k).unwrap_or(crate::models::generation_config::HF_DEFAULT_TOP_K);
            Sampling::new(temperature, top_k, request.top_p.or(g.top_p).unwrap_or(1.0), request.seed)?
        } else {
            Sampling::Greedy
        };
        if request.num_beams == Some(0) {
            return Err(Error::input("the number of beams is 0", "Use 1 beam (greedy or sampling) or more (beam search)"));
        }
        let num_beams = request.num_beams.or(g.num_beams).unwrap_or(1);
        g.refuse_unsupported(sampling != Sampling::Greedy, num_beams)?;
        if num_beams > 1 {
            if sampling != Sampling::Greedy {
                let why = if request.temperature.is_some() { "a temperature above 0" } else { "the model's do_sample" };
                return Err(Error::input(
                    format!("{num_beams} beams with sampling ({why}) is beam sampling, which Glassbox does not implement"),
                    "Use --num-beams 1 (numBeams: 1) to sample, or --temperature 0 (temperature: 0) for beam search",
                ));
            }
            let mut opts = g.beam_options(max_new_tokens);
            opts.num_beams = num_beams;
            // Every finished hypothesis comes back, best first (HF's num_return_sequences=num_beams): what the
            // text is made of is the best one, and a caller can show the others beside it.
            opts.num_return_sequences = num_beams;
            if let Some(lp) = request.length_penalty {
                opts.length_penalty = lp;
            }
            return Ok(DecodingPlan::Beam(opts));
        }
        Ok(DecodingPlan::Stepwise(GenerateOptions { max_new_tokens, sampling, eos_token_id: None, n_candidates: 0, capture: Capture::NONE }))
    }

    /// The rules every step of a run obeys (an explicit eos id replaces the settings' list). The
    /// settings are generation_config.json, else config.json's keys, as transformers 5 reads them: a
    /// generation_config.json without an eos id never stops at one, whatever config.json says
    /// (checked at development time: HF generated config.json's eos id and went on).
    pub fn generation_rules(&self, eos_override: Option<u32>) -> GenerationRules {
        let mut rules = self.generation.rules(eos_override);
        let forced = self.target_language.load(Ordering::Relaxed);
        if forced > 0 {
            rules.forced_bos_token_id = Some((forced - 1) as u32);
        }
        rules
    }

    /// Force `code`'s token as the first generated one from now on (a language code such as
    /// `fra_Latn`, `fr_XX` or M2M100's `fr`: the target language of a many-to-many translation model), or go back
    /// to the model's settings with `None`. The code must be a language code of the tokenizer or one of its tokens.
    pub fn set_target_language(&self, code: Option<&str>) -> Result<()> {
        let id = match code {
            None => None,
            Some(code) => {
                // A translation tokenizer's code (M2M100's `fr` is `__fr__`), else a token as it is.
                let id = self.tokenizer.language_id(code).or_else(|| self.tokenizer.token_to_id(code)).filter(|&id| (id as usize) < self.model.decoder_vocab_size());
                Some(id.ok_or_else(|| {
                    Error::input(
                        format!("the target language {code:?} is not a token of this model's vocabulary"),
                        "Give a language code exactly as the tokenizer spells it (NLLB: fra_Latn; mBART-50: fr_XX; M2M100: fr), or leave the target language out",
                    )
                })?)
            }
        };
        self.target_language.store(id.map_or(0, |id| id as u64 + 1), Ordering::Relaxed);
        Ok(())
    }

    pub fn info(&self) -> &ModelInfo {
        self.model.info()
    }

    /// Tokenize with the special tokens the model expects (as HF's `tokenizer(text)` does).
    pub fn encode(&self, text: &str) -> Result<Encoding> {
        self.tokenizer.encode(text, true)
    }

    /// Tokenize and run one forward pass.
    pub fn inspect(&self, text: &str, decoder_ids: Option<&[u32]>, capture: Capture) -> Result<Inspection> {
        self.inspect_with(text, &InspectOptions { decoder_ids: decoder_ids.map(<[u32]>::to_vec), capture, ..Default::default() })
    }

    /// Tokenize and run one forward pass that also shows and changes what `opts` asks: hidden
    /// states, a Q/K/V trace, ablated heads, hidden tokens. See docs/core-teaching-api.md.
    pub fn inspect_with(&self, text: &str, opts: &InspectOptions) -> Result<Inspection> {
        let decoder_ids = opts.decoder_ids.as_deref();
        let encoding = match opts.pair.as_deref() {
            Some(pair) => {
                // Encoders, and an encoder-decoder sequence classifier (BART's NLI heads).
                if self.info().kind != Kind::EncoderOnly && !(self.info().kind == Kind::EncoderDecoder && self.model.classifier().is_some()) {
                    return Err(Error::input(
                        format!("a second text was given, but this is a{} {} model; Glassbox reads text pairs with encoder-only models (BERT's [CLS] A [SEP] B [SEP])", if self.info().kind == Kind::EncoderDecoder { "n" } else { "" }, self.info().kind.as_str()),
                        "Leave out the second text, or join the two texts into one",
                    ));
                }
                self.tokenizer.encode_pair(text, pair, true)?
            }
            None => self.encode(text)?,
        };
        if encoding.ids.is_empty() {
            return Err(Error::input("the text gives no tokens", "Type some text"));
        }
        let info = self.info();
        if info.kind != Kind::EncoderDecoder && decoder_ids.is_some_and(|ids| !ids.is_empty()) {
            return Err(Error::input(
                format!("decoder ids were given but this is {} {} model; only encoder-decoder models read them",
                    if info.kind == Kind::EncoderOnly { "an" } else { "a" }, info.kind.as_str()),
                "Leave out the decoder ids (--decoder-ids, or the decoderIds option) for this model",
            ));
        }
        let decoder_ids = match info.kind {
            Kind::EncoderDecoder => Some(match decoder_ids {
                Some(ids) if !ids.is_empty() => ids.to_vec(),
                // A BART classifier's decoder reads the input shifted right.
                _ if self.model.classifier().is_some() => self.model.classifier_decoder_input(&encoding.ids).unwrap_or_default(),
                _ => vec![info.decoder_start_token_id.ok_or_else(|| {
                    Error::config("decoder_start_token_id", "is missing", "Add decoder_start_token_id to config.json or pass decoder ids")
                })?],
            }),
            _ => None,
        };
        let type_ids = (info.kind == Kind::EncoderOnly).then_some(encoding.type_ids.as_slice());
        let outputs = self.model.forward_probed(&Inputs { ids: &encoding.ids, type_ids, decoder_ids: decoder_ids.as_deref() }, &opts.probe())?;
        Ok(Inspection { encoding, decoder_ids, outputs })
    }

    /// How much each token holds up a text classifier's verdict ("which words decided it?"): the
    /// verdict's probability with every token visible, less the same with that one token hidden (HF's
    /// attention mask), one forward pass per token. A regression head's raw score stands in for the
    /// probability. Encoder classifiers only (a decoder cannot hide a token); at most
    /// [`MAX_EFFECT_TOKENS`] tokens.
    pub fn token_effects(&self, text: &str, pair: Option<&str>) -> Result<TokenEffects> {
        use crate::models::classifier::{Scoring, Task};
        let head = match self.model.classifier() {
            Some(h) if h.task == Task::Sequence && self.info().kind == Kind::EncoderOnly => h.clone(),
            _ => {
                return Err(Error::input(
                    "token effects are for text classifiers of encoder models (a *ForSequenceClassification BERT, RoBERTa, ...)",
                    "Load such a classifier, or use the interventions to hide tokens by hand",
                ))
            }
        };
        let quiet = |token_mask: Option<Vec<u8>>| InspectOptions { pair: pair.map(str::to_string), token_mask, logits: LogitRows::TopK(0), ..Default::default() };
        let base = self.inspect_with(text, &quiet(None))?;
        let n = base.encoding.ids.len();
        if n > MAX_EFFECT_TOKENS {
            return Err(Error::input(
                format!("the text is {n} tokens long; token effects run the model once per token, up to {MAX_EFFECT_TOKENS}"),
                "Shorten the text",
            ));
        }
        let logits = base.outputs.class_logits.clone().unwrap_or_default();
        let label = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b])).unwrap_or(0);
        let score = |z: &[f32]| -> f32 {
            match head.scoring {
                Scoring::Softmax => {
                    let mut p = z.to_vec();
                    crate::kernels::softmax(&mut p);
                    p[label]
                }
                Scoring::Sigmoid => (1.0 / (1.0 + crate::math::exp(-(z[label] as f64)))) as f32, // one rounding on every platform
                Scoring::None => z[label],
            }
        };
        let verdict = score(&logits);
        let mut effects = vec![0.0; n];
        for i in (0..n).filter(|&i| !base.encoding.special[i]) {
            let mut mask = vec![1u8; n];
            mask[i] = 0;
            let hidden = self.inspect_with(text, &quiet(Some(mask)))?;
            effects[i] = verdict - score(hidden.outputs.class_logits.as_deref().unwrap_or(&logits));
        }
        Ok(TokenEffects { label, verdict, effects })
    }

    /// Zero-shot classification with an NLI classifier (transformers' zero-shot pipeline): each
    /// candidate label becomes a hypothesis (`template` with the label for its `{}`, "This example is
    /// {}." in HF) read as the second text after `text`; a label scores the entailment logits'
    /// softmax over the labels, or with `multi_label` (and for one label) the softmax of its own
    /// entailment and contradiction logits. One run per label, scores in the labels' order.
    pub fn zero_shot(&self, text: &str, labels: &[String], template: &str, multi_label: bool) -> Result<Vec<f32>> {
        let head = match self.model.classifier() {
            Some(h) if h.task == crate::models::classifier::Task::Sequence => h.clone(),
            _ => return Err(Error::input("zero-shot classification needs an NLI classifier (a *ForSequenceClassification trained on entailment)", "Load an NLI model such as bart-large-mnli or an MNLI-tuned RoBERTa")),
        };
        // HF's rule: the first label whose name starts with "entail"; contradiction is the first label,
        // or the last when entailment is the first.
        let entail = head.labels.iter().position(|l| l.to_lowercase().starts_with("entail")).ok_or_else(|| {
            Error::config("id2label", format!("names no entailment label ({})", head.labels.join(", ")), "Zero-shot classification needs an NLI model whose labels include \"entailment\"")
        })?;
        let contra = if entail == 0 { head.labels.len() - 1 } else { 0 };
        if labels.is_empty() || labels.len() > MAX_ZERO_SHOT_LABELS || labels.iter().any(|l| l.trim().is_empty()) {
            return Err(Error::input(format!("zero-shot classification takes 1 to {MAX_ZERO_SHOT_LABELS} candidate labels, none empty"), "Give candidate labels such as sport, politics, cooking"));
        }
        if !template.contains("{}") {
            return Err(Error::input(format!("the hypothesis template {template:?} has no {{}} for the label"), "Use a template such as \"This example is {}.\""));
        }
        let mut entailment = Vec::with_capacity(labels.len());
        for label in labels {
            let opts = InspectOptions { pair: Some(template.replacen("{}", label, 1)), logits: LogitRows::TopK(0), ..Default::default() };
            let z = self.inspect_with(text, &opts)?.outputs.class_logits.unwrap_or_default();
            let (e, c) = (z.get(entail).copied().unwrap_or(0.0), z.get(contra).copied().unwrap_or(0.0));
            entailment.push((e, c));
        }
        Ok(if multi_label || labels.len() == 1 {
            entailment.iter().map(|&(e, c)| (1.0 / (1.0 + crate::math::exp((c - e) as f64))) as f32).collect()
        } else {
            let mut scores: Vec<f32> = entailment.iter().map(|p| p.0).collect();
            crate::kernels::softmax(&mut scores);
            scores
        })
    }

    /// A question-answering model's `k` likeliest answers, best first, when the inspection read a
    /// question and a passage (the second text): spans of the passage's tokens, by the rule of
    /// [`crate::models::classifier::best_spans`], and every token's start and end probability. Both
    /// front ends read them here.
    pub fn answers(&self, inspection: &Inspection, k: usize) -> Option<(Vec<crate::models::classifier::Span>, crate::models::classifier::SpanProbabilities)> {
        let head = self.model.classifier()?;
        if head.task != crate::models::classifier::Task::Span {
            return None;
        }
        let logits = inspection.outputs.class_logits.as_ref()?;
        let enc = &inspection.encoding;
        let passage: Vec<bool> = enc.second.iter().zip(&enc.special).map(|(&second, &special)| second && !special).collect();
        if !passage.contains(&true) {
            return None;
        }
        // The pipeline keeps the [CLS] token in the softmax (some models score "no answer" there).
        let cls = self.tokenizer.special_tokens().cls.and_then(|id| enc.ids.iter().position(|&i| i == id));
        let spans = crate::models::classifier::best_spans(logits, &passage, cls, k);
        Some((spans, crate::models::classifier::span_probabilities(logits, &passage, cls)))
    }

    /// The sentence embedding of an encoder-only model's inspection (mean-pooled over every token,
    /// L2-normalised, `[C]`), or `None` for models that do not embed sentences. Both front ends read
    /// it here, so the CLI's `sentence_embedding` and the JS `sentenceEmbedding` are one computation.
    pub fn sentence_embedding(&self, inspection: &Inspection) -> Option<Vec<f32>> {
        let info = self.info();
        (info.kind == Kind::EncoderOnly).then(|| crate::models::bert::sentence_embedding(&inspection.outputs.last_hidden_state, info.d_model))
    }

    /// The logit lens at hidden state `layer` (0 = embeddings, L = last) of an inspection run
    /// with `hidden_states: true`: `[T][V]` logits as if the model stopped there.
    pub fn logit_lens(&self, inspection: &Inspection, layer: usize) -> Result<Vec<f32>> {
        self.model.logit_lens(&inspection.outputs, layer)
    }

    /// The logit lens at every hidden state, reduced to the `k` likeliest tokens per position.
    pub fn logit_lens_top(&self, inspection: &Inspection, k: usize) -> Result<LensTop> {
        self.model.logit_lens_top(&inspection.outputs, k)
    }

    /// What the model adds to the token embeddings at positions `0..n` of `stack`: `[N][C]`
    /// (learned rows, or Marian's sinusoids). T5 has none (see [`Session::relative_positions`]).
    pub fn position_vectors(&self, stack: Stack, n: usize) -> Result<Vec<f32>> {
        self.model.position_vectors(stack, n)
    }

    /// T5's bucket of every relative distance `-(n-1)..=n-1` and its learned bias per head and bucket.
    pub fn relative_positions(&self, stack: Stack, n: usize) -> Result<RelativePositions> {
        self.model.relative_positions(stack, n)
    }

    /// Rows of `stack`'s token embedding table for `ids`: `[T][C]`.
    pub fn token_embeddings(&self, stack: Stack, ids: &[u32]) -> Result<TokenEmbeddings> {
        self.model.token_embeddings(stack, ids)
    }

    /// Generate from a prompt (decoder-only) or translate/transform a source (encoder-decoder).
    pub fn generate(&self, text: &str, opts: &GenerateOptions, on_token: &mut dyn FnMut(&GeneratedToken) -> bool) -> Result<Generation> {
        self.generate_with(text, opts, &Interventions::default(), on_token)
    }

    /// [`Session::generate`] with heads ablated (every step) or source tokens hidden
    /// (encoder-decoder models; the token mask has one entry per source token).
    pub fn generate_with(
        &self,
        text: &str,
        opts: &GenerateOptions,
        interventions: &Interventions,
        on_token: &mut dyn FnMut(&GeneratedToken) -> bool,
    ) -> Result<Generation> {
        let info = self.info().clone();
        let input = self.encode(text)?;
        let (state, prefix_ids) = self.prepare_generation(&info, &input, interventions)?;
        let mut opts = *opts;
        self.fit_options(&info, &prefix_ids, &mut opts)?;
        let rules = self.generation_rules(opts.eos_token_id);
        let tokens = generate_with(&self.model, state, &prefix_ids, &opts, &rules, on_token)?;
        Ok(Generation { prefix_ids, input, tokens })
    }

    /// Beam search from `text` (HF's `generate(num_beams=..)`): the best hypotheses, best first.
    /// eos comes from the config when `opts` has none; the length stays inside the position table.
    pub fn beam_search(&self, text: &str, opts: &BeamOptions) -> Result<BeamGeneration> {
        let info = self.info().clone();
        let input = self.encode(text)?;
        let (state, prefix_ids) = self.prepare_generation(&info, &input, &Interventions::default())?;
        let mut opts = *opts;
        let mut fit = GenerateOptions {
            max_new_tokens: opts.max_new_tokens,
            sampling: Sampling::Greedy,
            eos_token_id: opts.eos_token_id,
            n_candidates: 0,
            capture: Capture::NONE,
        };
        self.fit_options(&info, &prefix_ids, &mut fit)?;
        opts.max_new_tokens = fit.max_new_tokens;
        let rules = self.generation_rules(opts.eos_token_id);
        let hypotheses = beam_search_with(&self.model, state, &prefix_ids, &opts, &rules)?;
        Ok(BeamGeneration { prefix_ids, input, hypotheses })
    }

    /// A stepwise generator for `text` (the wasm boundary drives it one token per call).
    pub fn generator(&self, text: &str, opts: &GenerateOptions) -> Result<(Encoding, Vec<u32>, Generator)> {
        self.generator_with(text, opts, &Interventions::default())
    }

    /// [`Session::generator`] with heads ablated or source tokens hidden for the whole run.
    pub fn generator_with(&self, text: &str, opts: &GenerateOptions, interventions: &Interventions) -> Result<(Encoding, Vec<u32>, Generator)> {
        let info = self.info().clone();
        let input = self.encode(text)?;
        let (state, prefix_ids) = self.prepare_generation(&info, &input, interventions)?;
        let mut opts = *opts;
        self.fit_options(&info, &prefix_ids, &mut opts)?;
        let generator = Generator::new(state, &prefix_ids, opts)?.with_rules(self.generation_rules(opts.eos_token_id));
        Ok((input, prefix_ids, generator))
    }

    /// Keep the run inside the position table; a prefix that leaves no room for one new token is
    /// an error naming the limit (rather than a run that silently makes nothing).
    fn fit_options(&self, info: &ModelInfo, prefix_ids: &[u32], opts: &mut GenerateOptions) -> Result<()> {
        let (max, what) = match info.max_positions {
            Some(max) => (max, "this model has positions for only"),
            None => (crate::models::MAX_TOKENS_WITHOUT_POSITION_TABLE, "Glassbox runs this model on at most"),
        };
        // Decoder-only: prompt and new tokens share the position table.
        let used = if info.kind == Kind::DecoderOnly { prefix_ids.len() } else { 1 };
        if opts.max_new_tokens > 0 && used >= max {
            return Err(Error::input(
                format!("the prompt is {used} tokens long and {what} {max} tokens, which leaves no room to generate"),
                format!("Shorten the prompt to at most {} tokens", max.saturating_sub(1)),
            ));
        }
        opts.max_new_tokens = opts.max_new_tokens.min(max - used.min(max));
        Ok(())
    }

    /// The decoder state and the ids to feed first.
    fn prepare_generation(&self, info: &ModelInfo, input: &Encoding, interventions: &Interventions) -> Result<(DecoderState, Vec<u32>)> {
        Ok(match info.kind {
            Kind::EncoderOnly => {
                return Err(Error::input(
                    "this is an encoder-only model; it reads text but does not write it",
                    "Pick a decoder-only or encoder-decoder model to generate",
                ))
            }
            Kind::DecoderOnly => {
                let mut prompt = input.ids.clone();
                if prompt.is_empty() {
                    // Nothing typed: start from the generation settings' beginning-of-text token, as
                    // HF's generate does (GPT-2 was trained that way); without one, HF refuses too.
                    prompt.extend(self.generation.bos_token_id);
                }
                if prompt.is_empty() {
                    return Err(Error::input("the prompt is empty, and the model's generation settings name no bos_token_id to start from", "Type a prompt"));
                }
                (self.model.start_decoding_with(&[], interventions)?, prompt)
            }
            Kind::EncoderDecoder => {
                if input.ids.is_empty() {
                    return Err(Error::input("the source text is empty", "Type a sentence to transform"));
                }
                // As transformers 5's generate: the settings' decoder start, else the settings' bos
                // (from generation_config.json when there is one), else the model's default.
                let start = self.generation.decoder_start_token_id.or(self.generation.bos_token_id).or(info.decoder_start_token_id).ok_or_else(|| {
                    Error::config("decoder_start_token_id", "is missing", "Add decoder_start_token_id to config.json")
                })?;
                (self.model.start_decoding_with(&input.ids, interventions)?, vec![start])
            }
        })
    }
}

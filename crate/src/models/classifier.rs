//! Classification heads: what a fine-tuned encoder answers instead of filling in words. A
//! sentiment model (`DistilBertForSequenceClassification`) scores the whole text for each of its
//! labels; a named-entity tagger (`BertForTokenClassification`) scores every token.
//!
//! Reference semantics: the `*ForSequenceClassification` and `*ForTokenClassification` classes of
//! Hugging Face `transformers`, and its text-classification pipeline for turning scores into
//! probabilities.
//!
//! ```text
//! sequence:  h = x[0]                        # the first token's state ([CLS], <s>)   [C]
//!            h = pooler(h) | act(dense(h))   # BERT, ALBERT: their pooler (tanh); the others: the head's own layer
//!            logits = out(h)                 # [L]
//! token:     logits = out(x)                 # [T][L]
//! ```
//!
//! Which head a checkpoint carries is read from config.json's `architectures` (the class that saved
//! it: HF loads whichever class the user asks for, so the file alone cannot say); the labels from
//! `id2label` (else `num_labels`, else HF's two `LABEL_0`, `LABEL_1`); how scores become
//! probabilities from `problem_type` as the pipeline decides it (softmax over the labels; a sigmoid
//! each for multi-label heads and heads with one label; the raw value for regression).

use super::activations::{self, flat_mut, into_flat};
use super::layers::{linear, Activation, LayerNorm};
use crate::error::{Error, Result};
use crate::kernels::Linear;
use crate::loader::Weights;
use crate::rank;
use ndarray::{s, Array2, ArrayView2};
use serde::Serialize;
use serde_json::Value;

/// What a head scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// One score per label for the whole text: `[L]`.
    Sequence,
    /// One score per label for every token: `[T][L]`.
    Token,
    /// Extractive question answering (`*ForQuestionAnswering`): for every token, a score for the
    /// answer starting there and one for it ending there, `[T][2]`; the answer is the span of the
    /// second text (the passage) with the likeliest start and end ([`best_spans`]).
    Span,
}

/// How a score becomes what the user reads (the text-classification pipeline's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scoring {
    /// Probabilities over the labels that add up to 1 (one label is right).
    Softmax,
    /// A probability per label on its own (any number may apply; or a single yes/no label).
    Sigmoid,
    /// The raw number (`problem_type` "regression": a score, not a probability).
    None,
}

/// The card's account of a classification head.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierInfo {
    pub task: Task,
    /// The class that saved the checkpoint, as config.json's `architectures` names it.
    pub architecture: String,
    /// One name per output, in order (`id2label`).
    pub labels: Vec<String>,
    pub scoring: Scoring,
    /// What the head reads (set when the head loads).
    pub reads: Reads,
}

/// What a head reads from the last layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Reads {
    /// The model's pooler output: tanh of a matrix times the first token's state (BERT, ALBERT).
    Pooler,
    /// The first token's state, through the head's own layer.
    First,
    /// The mean of the tokens' states, through the head's own layer (ModernBERT's "mean").
    Mean,
    /// Every token's state (token classifiers).
    EachToken,
    /// The last token's state, the only one a decoder lets see the whole text (GPT-2's and the
    /// Llama family's `score`; the last token that is not padding).
    Last,
}

/// More labels than this is not a classifier anyone trained (the largest label sets in use, such as
/// ImageNet's 21k classes, stay below it); it bounds what a crafted config can ask for.
const MAX_LABELS: usize = 100_000;

/// The classification head config.json describes, if its `architectures` names one.
pub fn requested(config_json: &[u8]) -> Result<Option<ClassifierInfo>> {
    // Read from serde_json's `Value`, whose code the loader already carries (a struct of our own
    // would add its own deserializer to the wasm).
    let Ok(Value::Object(cfg)) = serde_json::from_slice::<Value>(config_json) else {
        return Ok(None); // the family's own parse has reported what is wrong with the file
    };
    let key = |name: &str| cfg.get(name).filter(|v| !v.is_null());
    let Some((architecture, task)) = key("architectures").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).find_map(|a| {
        if a.ends_with("ForSequenceClassification") {
            Some((a.to_string(), Task::Sequence))
        } else if a.ends_with("ForTokenClassification") {
            Some((a.to_string(), Task::Token))
        } else if a.ends_with("ForQuestionAnswering") {
            Some((a.to_string(), Task::Span))
        } else {
            None
        }
    }) else {
        return Ok(None);
    };
    let num_labels = match key("num_labels") {
        None => None,
        Some(n) => Some(n.as_u64().ok_or_else(|| Error::config("num_labels", format!("is {n}, not a count"), "Give the number of labels, or leave the key out"))?.min(usize::MAX as u64) as usize),
    };
    let id2label = match key("id2label") {
        None => None,
        Some(map) => Some(map.as_object().ok_or_else(|| Error::config("id2label", "is not a map from label numbers to names", "Give it as {\"0\": \"NEGATIVE\", \"1\": \"POSITIVE\"}"))?),
    };
    let problem_type = match key("problem_type") {
        None => None,
        Some(v) => Some(v.as_str().ok_or_else(|| Error::config("problem_type", format!("is {v}, not a name"), "Leave it out or name the problem in quotes"))?),
    };
    let labels = match (id2label, num_labels) {
        // A question-answering head scores a start and an end, whatever the label map says.
        _ if task == Task::Span => vec!["start".into(), "end".into()],
        (Some(map), _) => {
            // Keys are the output numbers, written as strings: "0", "1", ... each once.
            let gaps = || Error::config("id2label", "does not number its labels 0, 1, 2, ... without gaps", "Number the labels 0 to (labels - 1) as transformers saves them");
            let mut by_id: Vec<Option<String>> = vec![None; map.len()];
            for (key, name) in map {
                let id: usize = key.trim().parse().map_err(|_| {
                    Error::config("id2label", format!("has the key \"{key}\", which is not a label number"), "Number the labels 0, 1, 2, ... as transformers saves them")
                })?;
                let name = name.as_str().ok_or_else(|| Error::config("id2label", format!("names label {id} with {name}, not a string"), "Give each label a name in quotes"))?;
                match by_id.get_mut(id) {
                    Some(slot @ None) => *slot = Some(name.to_string()),
                    _ => return Err(gaps()),
                }
            }
            by_id.into_iter().collect::<Option<Vec<_>>>().ok_or_else(gaps)?
        }
        (None, Some(n)) => {
            if n == 0 || n > MAX_LABELS {
                return Err(Error::config("num_labels", format!("is {n}"), format!("A classifier has 1 to {MAX_LABELS} labels: use the config.json saved with the model")));
            }
            (0..n).map(|i| format!("LABEL_{i}")).collect()
        }
        (None, None) => vec!["LABEL_0".into(), "LABEL_1".into()],
    };
    if labels.is_empty() || labels.len() > MAX_LABELS {
        return Err(Error::config("id2label", format!("gives {} labels", labels.len()), format!("A classifier has 1 to {MAX_LABELS} labels: use the config.json saved with the model")));
    }
    if let Some(n) = num_labels {
        if task == Task::Span && n != 2 {
            return Err(Error::config("num_labels", format!("is {n}, but a question-answering head scores 2 things per token (a start and an end)"), "Use the config.json saved with the model"));
        }
        if id2label.is_some() && task != Task::Span && n != labels.len() {
            return Err(Error::config("num_labels", format!("is {n}, but id2label names {} labels", labels.len()), "Use the config.json saved with the model (transformers counts the labels of id2label)"));
        }
    }
    if let Some(kind) = problem_type {
        if !matches!(kind, "regression" | "single_label_classification" | "multi_label_classification") {
            return Err(Error::config(
                "problem_type",
                format!("is \"{kind}\""),
                "transformers knows \"regression\", \"single_label_classification\" and \"multi_label_classification\"",
            ));
        }
    }
    let scoring = match (task, problem_type) {
        // The token-classification pipeline always takes a softmax over each token's labels.
        (Task::Token, _) => Scoring::Softmax,
        (_, Some("regression")) => Scoring::None,
        (_, Some("multi_label_classification")) => Scoring::Sigmoid,
        _ if labels.len() == 1 => Scoring::Sigmoid,
        _ => Scoring::Softmax,
    };
    let reads = if task == Task::Sequence { Reads::First } else { Reads::EachToken };
    Ok(Some(ClassifierInfo { task, architecture, labels, scoring, reads }))
}

/// The non-linearity between a sequence head's dense layer and its output layer.
#[derive(Debug, Clone, Copy)]
pub enum HeadAct {
    /// RoBERTa, XLM-R, CamemBERT, MPNet (and the BERT pooler).
    Tanh,
    /// DistilBERT's ReLU, ELECTRA's erf GELU.
    Act(Activation),
}

impl HeadAct {
    pub(crate) fn apply(self, x: &mut [f32]) {
        match self {
            HeadAct::Tanh => x.iter_mut().for_each(|v| *v = super::layers::tanh(*v)),
            HeadAct::Act(a) => a.apply(x),
        }
    }
}

/// Where a family keeps its head's weights (checkpoint names, never prefixed).
pub struct HeadNames {
    /// Sequence heads' own layer before the output: `(name, non-linearity)`; `None` where the
    /// model's pooler does that job (BERT, ALBERT).
    pub dense: Option<(&'static str, HeadAct)>,
    /// The layer that gives one score per label: C -> L.
    pub out: &'static str,
    /// The model's pooler weight that a sequence head without `dense` reads (for the message when
    /// it is missing).
    pub pooler: &'static str,
    /// Whether `out` has a bias (decoders' `score` has none).
    pub out_bias: bool,
}

/// Which vector a sequence head reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The first token's state ([CLS], <s>).
    First,
    /// The mean of the visible tokens' states (ModernBERT's `classifier_pooling: "mean"`).
    Mean,
}

/// A loaded classification head.
pub struct ClassifierHead {
    pub info: ClassifierInfo,
    dense: Option<(Linear, HeadAct)>, // C -> C
    /// ModernBERT: a LayerNorm after `dense`, and `dense` (with it) applied to every token of a token head.
    norm: Option<LayerNorm>,
    pooling: Pooling,
    out: Linear, // C -> L
}

impl ClassifierHead {
    /// `names` for the task in `info`; `c` the model's width; `has_pooler`: whether the model loaded
    /// its pooler.
    pub fn load(w: &Weights, mut info: ClassifierInfo, names: HeadNames, c: usize, has_pooler: bool) -> Result<Self> {
        let l = info.labels.len();
        if info.task == Task::Sequence && names.dense.is_none() {
            info.reads = Reads::Pooler;
        }
        let out_weight = format!("{}.weight", names.out);
        if !w.contains(&out_weight) && !matches!(w, Weights::Random { .. }) {
            return Err(Error::tensor(
                &out_weight,
                format!("is missing, but config.json says a {} saved this checkpoint", info.architecture),
                "Check that config.json belongs to these weights; to look at the encoder alone, remove the classification class from \"architectures\"",
            ));
        }
        if info.task == Task::Sequence && names.dense.is_none() && !has_pooler {
            return Err(Error::tensor(
                names.pooler,
                format!("is missing, but a {} reads the pooler's output", info.architecture),
                "Use the complete checkpoint (the pooler is saved with every sequence classifier of this family)",
            ));
        }
        let dense = match (info.task, names.dense) {
            (Task::Sequence, Some((name, act))) => Some((linear(w, name, c, c, true)?, act)),
            _ => None,
        };
        if let Some(shape) = w.shape_of(&out_weight) {
            if shape.len() == 2 && shape[0] != l && shape[1] == c {
                return Err(Error::tensor(&out_weight, format!("scores {} labels, but config.json names {l} (id2label)", shape[0]), "Use the config.json saved with these weights"));
            }
        }
        let out = linear(w, names.out, c, l, names.out_bias)?;
        Ok(ClassifierHead { info, dense, norm: None, pooling: Pooling::First, out })
    }

    /// A decoder's head (GPT-2 family, Llama family): `score` (no bias) read at the last token that
    /// is not padding, or on every token (`*ForTokenClassification`: `token_head`, with a bias when
    /// `token_bias`). `c`: the width of the decoder's final states.
    pub fn decoder(w: &Weights, info: ClassifierInfo, token_head: &'static str, token_bias: bool, c: usize) -> Result<Self> {
        let names = match info.task {
            Task::Sequence => HeadNames { dense: None, out: "score", pooler: "", out_bias: false },
            Task::Token => HeadNames { dense: None, out: token_head, pooler: "", out_bias: token_bias },
            Task::Span => {
                return Err(Error::config(
                    "architectures",
                    format!("names {}: Glassbox answers questions with encoder models only", info.architecture),
                    "Use an encoder question-answering checkpoint (BERT, RoBERTa, DistilBERT, ...), or remove the class from \"architectures\" to look at the decoder alone",
                ))
            }
        };
        // `has_pooler` true: a decoder's sequence head reads a row the caller picks, not a pooler.
        let mut head = ClassifierHead::load(w, info, names, c, true)?;
        if head.info.task == Task::Sequence {
            head.info.reads = Reads::Last;
        }
        Ok(head)
    }

    /// A decoder's scores from its final states `x: [T][C]`: `[L]` at the last token whose id is not
    /// `pad` (HF's rule; every token padding: the first), or `[T][L]` for a token head.
    pub fn decoder_logits(&self, x: ArrayView2<'_, f32>, ids: &[u32], pad: Option<u32>) -> Option<Vec<f32>> {
        if x.nrows() == 0 {
            return None;
        }
        match self.info.task {
            Task::Sequence => {
                let at = ids.iter().rposition(|&id| Some(id) != pad).unwrap_or(0).min(x.nrows() - 1);
                Some(into_flat(activations::linear(&self.out, x.slice(s![at..at + 1, ..]))))
            }
            _ => Some(into_flat(activations::linear(&self.out, x))),
        }
    }

    /// ModernBERT's heads: `pooling` (sequence), then `head` (`dense`, its activation, `norm`) on the
    /// pooled vector or on every token, then `classifier`.
    pub fn modernbert(w: &Weights, info: ClassifierInfo, dense: (Linear, Activation), norm: LayerNorm, pooling: Pooling, c: usize) -> Result<Self> {
        let mut head = ClassifierHead::load(w, info, HeadNames { dense: None, out: "classifier", pooler: "head.dense.weight", out_bias: true }, c, true)?;
        head.dense = Some((dense.0, HeadAct::Act(dense.1)));
        head.norm = Some(norm);
        head.pooling = pooling;
        if head.info.task == Task::Sequence {
            head.info.reads = if pooling == Pooling::Mean { Reads::Mean } else { Reads::First };
        }
        Ok(head)
    }

    pub fn n_params(&self) -> usize {
        self.dense.as_ref().map_or(0, |(d, _)| d.n_params()) + self.norm.as_ref().map_or(0, |n| n.gamma.len() + n.beta.len()) + self.out.n_params()
    }

    /// `dense`, its non-linearity and the norm, on every row of `x: [N][C]`.
    fn transform(&self, dense: &Linear, act: HeadAct, x: ArrayView2<'_, f32>) -> Array2<f32> {
        let mut y = activations::linear(dense, x);
        act.apply(flat_mut(&mut y));
        if let Some(norm) = &self.norm {
            norm.apply(flat_mut(&mut y));
        }
        y
    }

    /// The head's scores: `[L]` (sequence) or `[T][L]` (token). `x: [T][C]`, the last layer's
    /// states; `pooled: [C]`, the pooler's output, which sequence heads without a layer of their own
    /// read; `hidden: [T]`, the additive mask of hidden tokens (a mean leaves them out, as HF's
    /// attention mask does). `None` for an empty text.
    pub fn logits(&self, x: ArrayView2<'_, f32>, pooled: Option<&[f32]>, hidden: Option<&[f32]>) -> Option<Vec<f32>> {
        let t = x.nrows();
        if t == 0 {
            return None;
        }
        let rows: Array2<f32> = match (self.info.task, &self.dense) {
            (Task::Token | Task::Span, Some((dense, act))) if self.norm.is_some() => self.transform(dense, *act, x),
            (Task::Token | Task::Span, _) => x.to_owned(),
            (Task::Sequence, dense) => {
                let pooled_rows: Array2<f32> = match (self.pooling, dense) {
                    (Pooling::Mean, _) => {
                        let visible: Vec<usize> = (0..t).filter(|&i| hidden.is_none_or(|m| m[i] > -1.0)).collect();
                        let mut mean = Array2::<f32>::zeros((1, x.ncols()));
                        for &i in &visible {
                            mean.row_mut(0).scaled_add(1.0, &x.row(i));
                        }
                        mean /= visible.len().max(1) as f32;
                        mean
                    }
                    (Pooling::First, Some(_)) => x.slice(s![..1, ..]).to_owned(),
                    (Pooling::First, None) => Array2::from_shape_vec((1, pooled?.len()), pooled?.to_vec()).ok()?,
                };
                match dense {
                    Some((dense, act)) => self.transform(dense, *act, pooled_rows.view()), // [1][C]
                    None => pooled_rows,
                }
            }
        };
        Some(into_flat(activations::linear(&self.out, rows.view()))) // [1][L] or [T][L]
    }
}

/// Each token's probability of starting and of ending the answer (`[T]` each; 0 outside the
/// passage and `keep_in_softmax`), the softmaxes [`best_spans`] multiplies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanProbabilities {
    pub starts: Vec<f32>,
    pub ends: Vec<f32>,
}

/// [`SpanProbabilities`] of `logits: [T][2]` over the tokens of `passage` and `keep_in_softmax`.
pub fn span_probabilities(logits: &[f32], passage: &[bool], keep_in_softmax: Option<usize>) -> SpanProbabilities {
    let t = passage.len().min(logits.len() / 2);
    let counted = |i: usize| passage[i] || keep_in_softmax == Some(i);
    // The attention softmax: masked (-inf) entries come out exactly 0.
    let probs = |column: usize| -> Vec<f32> {
        let mut row: Vec<f32> = (0..t).map(|i| if counted(i) { logits[2 * i + column] } else { f32::NEG_INFINITY }).collect();
        crate::kernels::softmax(&mut row);
        row
    };
    SpanProbabilities { starts: probs(0), ends: probs(1) }
}

/// One answer of a question-answering head: tokens `start..=end`, and `score`, the product of the
/// start's and the end's probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub score: f32,
}

/// The longest answer, in tokens, that [`best_spans`] considers (the question-answering pipeline's
/// `max_answer_len`).
pub const MAX_ANSWER_TOKENS: usize = 15;

/// The `k` likeliest answers of a question-answering head, best first, by the rule of transformers
/// 4's question-answering pipeline: start and end probabilities are softmaxes over the passage's
/// tokens and `keep_in_softmax` (the `[CLS]` token, which some models score for "no answer"), an
/// answer lies inside the passage, ends at or after its start and spans at most
/// [`MAX_ANSWER_TOKENS`], and scores the product of its two probabilities.
/// `logits: [T][2]` (start, end); `passage[i]`: token `i` may be part of an answer.
pub fn best_spans(logits: &[f32], passage: &[bool], keep_in_softmax: Option<usize>, k: usize) -> Vec<Span> {
    let t = passage.len().min(logits.len() / 2);
    let SpanProbabilities { starts, ends } = span_probabilities(logits, passage, keep_in_softmax);
    let mut spans = Vec::new();
    for s in (0..t).filter(|&i| passage[i]) {
        for e in (s..t.min(s + MAX_ANSWER_TOKENS)).filter(|&i| passage[i]) {
            spans.push(Span { start: s, end: e, score: starts[s] * ends[e] });
        }
    }
    // Best first by `total_cmp`, equal scores in the order above (as a stable sort keeps them).
    let mut keys: Vec<u64> = spans.iter().enumerate().map(|(i, s)| rank::key_desc(rank::f32_rank(s.score), i as u32)).collect();
    rank::keep_best(&mut keys, k);
    keys.into_iter().map(|key| spans[rank::tie(key) as usize]).collect()
}

//! Choosing the next token, and the generation loop shared by every decoder.
//!
//! Sampling follows Hugging Face's warper order: temperature, then top-k, then top-p.
//! The random generator is our own ([`crate::rng::Rng`], SplitMix64) so the same seed gives the
//! same tokens on every platform, natively and in the browser.

use super::beam::GenerationRules;
use super::{Capture, DecoderState, Model};
use crate::error::{Error, Result};
use crate::models::AttentionMaps;

pub use crate::rng::Rng;

/// How to pick each next token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// Always the most likely token.
    Greedy,
    /// Draw from the tempered, truncated distribution.
    Sample { temperature: f32, top_k: usize, top_p: f32, seed: u64 },
}

impl Sampling {
    /// Validate user-supplied settings. `top_k = 0` and `top_p = 1` switch those filters off;
    /// temperature 0 means greedy.
    pub fn new(temperature: f32, top_k: usize, top_p: f32, seed: u64) -> Result<Sampling> {
        if !temperature.is_finite() || temperature < 0.0 {
            return Err(Error::input(format!("temperature {temperature} is not allowed"), "Use a temperature of 0 (greedy) or more, e.g. 0.8"));
        }
        if !(top_p > 0.0 && top_p <= 1.0) {
            return Err(Error::input(format!("top-p {top_p} is outside (0, 1]"), "Use a top-p between 0 and 1, e.g. 0.9 (1 switches it off)"));
        }
        if temperature == 0.0 {
            return Ok(Sampling::Greedy);
        }
        Ok(Sampling::Sample { temperature, top_k, top_p, seed })
    }
}

/// The `n` most likely tokens under plain softmax of `logits`, most likely first: `(id, probability)`.
pub fn top_candidates(logits: &[f32], n: usize) -> Vec<(u32, f32)> {
    let probs = softmax_f64(logits, 1.0);
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    let n = n.min(idx.len());
    if n == 0 {
        return Vec::new();
    }
    idx.select_nth_unstable_by(n - 1, |&a, &b| cmp_desc(logits[a], logits[b], a, b));
    idx.truncate(n);
    idx.sort_by(|&a, &b| cmp_desc(logits[a], logits[b], a, b));
    idx.into_iter().map(|i| (i as u32, probs[i] as f32)).collect()
}

/// Larger logit first; ties broken by the smaller id (as `argmax` does). NaN ranks last: the
/// order must be total, or `sort_by` may panic on logits a corrupt checkpoint made NaN.
fn cmp_desc(la: f32, lb: f32, a: usize, b: usize) -> std::cmp::Ordering {
    let key = |x: f32| if x.is_nan() { f32::NEG_INFINITY } else { x };
    key(lb).total_cmp(&key(la)).then(a.cmp(&b))
}

fn softmax_f64(logits: &[f32], temperature: f64) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let mut p: Vec<f64> = logits.iter().map(|&l| ((l as f64 - max) / temperature).exp()).collect();
    let sum: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= sum);
    p
}

/// Index of the largest logit (first one on ties, like `torch.argmax`).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// Pick the next token from `logits: [V]`.
pub fn choose(logits: &[f32], sampling: Sampling, rng: &mut Rng) -> u32 {
    let Sampling::Sample { temperature, top_k, top_p, .. } = sampling else {
        return argmax(logits);
    };
    // Candidates sorted by logit, most likely first.
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| cmp_desc(logits[a], logits[b], a, b));
    if top_k > 0 && top_k < order.len() {
        order.truncate(top_k);
    }
    let kept: Vec<f32> = order.iter().map(|&i| logits[i]).collect();
    let probs = softmax_f64(&kept, temperature as f64);
    // top-p: keep the smallest prefix whose mass reaches top_p (always at least one token).
    let mut keep = probs.len();
    if top_p < 1.0 {
        let mut cum = 0.0;
        for (n, p) in probs.iter().enumerate() {
            cum += p;
            if cum >= top_p as f64 {
                keep = n + 1;
                break;
            }
        }
    }
    let mass: f64 = probs[..keep].iter().sum();
    let mut r = rng.uniform() * mass;
    for (n, p) in probs[..keep].iter().enumerate() {
        r -= p;
        if r < 0.0 {
            return order[n] as u32;
        }
    }
    order[keep - 1] as u32
}

/// One produced token, with what the page shows beside it.
#[derive(Debug, Clone)]
pub struct GeneratedToken {
    pub id: u32,
    /// Probability of `id` under the plain (untempered) softmax.
    pub prob: f32,
    /// The most likely candidates at this step: `(id, probability)`.
    pub candidates: Vec<(u32, f32)>,
    /// Attention of the step that chose this token (the query is the last fed position).
    pub self_attentions: Option<AttentionMaps>,
    pub cross_attentions: Option<AttentionMaps>,
}

/// Settings of one generation run.
#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    pub sampling: Sampling,
    pub eos_token_id: Option<u32>,
    /// How many candidates to report per step (0: none).
    pub n_candidates: usize,
    pub capture: Capture,
}

/// Generation one token at a time. Owns everything it carries between steps, so a caller (the
/// wasm boundary, a Web Worker) can hold it across calls and stop whenever it likes.
#[derive(Debug, Clone)]
pub struct Generator {
    state: DecoderState,
    opts: GenerateOptions,
    rng: Rng,
    /// What to feed next: the whole prefix at first, then the last chosen token.
    pending: Vec<u32>,
    /// The prompt or decoder start, for config rules that look at the whole sequence.
    prefix: Vec<u32>,
    produced: Vec<u32>,
    finished: bool,
    /// What the model's generation settings apply to every step (none unless [`Generator::with_rules`]).
    rules: GenerationRules,
}

impl Generator {
    /// `prefix`: the prompt (decoder-only) or the decoder start token (encoder-decoder).
    pub fn new(state: DecoderState, prefix: &[u32], opts: GenerateOptions) -> Result<Self> {
        if prefix.is_empty() {
            return Err(Error::input("nothing to continue from", "Type a prompt"));
        }
        let seed = match opts.sampling {
            Sampling::Sample { seed, .. } => seed,
            Sampling::Greedy => 0,
        };
        Ok(Generator { state, opts, rng: Rng::new(seed), pending: prefix.to_vec(), prefix: prefix.to_vec(), produced: Vec::new(), finished: opts.max_new_tokens == 0, rules: GenerationRules::NONE })
    }

    /// Obey `rules` at every step (the model's generation settings). The run ends at
    /// `opts.eos_token_id` when given, else at any of `rules.eos_token_ids`.
    pub fn with_rules(mut self, rules: GenerationRules) -> Self {
        self.rules = rules;
        self
    }

    fn is_eos(&self, id: u32) -> bool {
        match self.opts.eos_token_id {
            Some(eos) => id == eos,
            None => self.rules.is_eos(id),
        }
    }

    /// The ids produced so far (new tokens only).
    pub fn produced(&self) -> &[u32] {
        &self.produced
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Produce the next token, or `None` once eos or the token limit was reached.
    pub fn next_token(&mut self, model: &Model) -> Result<Option<GeneratedToken>> {
        if self.finished {
            return Ok(None);
        }
        let mut step = model.feed(&mut self.state, &self.pending, self.opts.capture)?;
        if !self.rules.is_empty() {
            let history: Vec<u32> = self.prefix.iter().chain(&self.produced).copied().collect();
            let max_length = self.prefix.len().saturating_add(self.opts.max_new_tokens);
            self.rules.apply(&mut step.logits, &history, self.prefix.len(), max_length);
        }
        let id = choose(&step.logits, self.opts.sampling, &mut self.rng);
        let candidates = top_candidates(&step.logits, self.opts.n_candidates.max(1));
        let prob = match candidates.first() {
            Some(&(best, p)) if best == id => p,
            _ => softmax_f64(&step.logits, 1.0)[id as usize] as f32,
        };
        self.produced.push(id);
        self.pending = vec![id];
        self.finished = self.is_eos(id) || self.produced.len() >= self.opts.max_new_tokens;
        Ok(Some(GeneratedToken {
            id,
            prob,
            candidates: if self.opts.n_candidates == 0 { Vec::new() } else { candidates },
            self_attentions: step.self_attentions.take(),
            cross_attentions: step.cross_attentions.take(),
        }))
    }
}

/// Run a [`Generator`] to the end, with no generation rules (see [`generate_with`]). `on_token`
/// sees each token as it is made and returns `false` to stop early.
pub fn generate(
    model: &Model,
    state: DecoderState,
    prefix: &[u32],
    opts: &GenerateOptions,
    on_token: &mut dyn FnMut(&GeneratedToken) -> bool,
) -> Result<Vec<GeneratedToken>> {
    generate_with(model, state, prefix, opts, &GenerationRules::NONE, on_token)
}

/// [`generate`] under the model's generation `rules` (what [`crate::session::Session`] passes).
pub fn generate_with(
    model: &Model,
    state: DecoderState,
    prefix: &[u32],
    opts: &GenerateOptions,
    rules: &GenerationRules,
    on_token: &mut dyn FnMut(&GeneratedToken) -> bool,
) -> Result<Vec<GeneratedToken>> {
    let mut generator = Generator::new(state, prefix, *opts)?.with_rules(rules.clone());
    let mut out = Vec::new();
    while let Some(token) = generator.next_token(model)? {
        let go_on = on_token(&token);
        out.push(token);
        if !go_on {
            break;
        }
    }
    Ok(out)
}

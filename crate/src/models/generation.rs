//! Choosing the next token, and the generation loop shared by every decoder.
//!
//! Sampling follows Hugging Face's warper order: temperature, then top-k, then top-p.
//! The random generator is our own ([`crate::rng::Rng`], SplitMix64) so the same seed gives the
//! same tokens on every platform, natively and in the browser.

use super::beam::GenerationRules;
use super::{Capture, DecoderState, Model};
use crate::error::{Error, Result};
use crate::models::AttentionMaps;
use crate::rank;

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
            return Err(Error::input(format!("top-p {top_p} is outside the range above 0 and up to 1 (0 would keep no token to sample from)"), "Use a top-p above 0 and at most 1, e.g. 0.9 (1 switches it off)"));
        }
        if temperature == 0.0 {
            return Ok(Sampling::Greedy);
        }
        Ok(Sampling::Sample { temperature, top_k, top_p, seed })
    }
}

/// The `n` most likely tokens under plain softmax of `logits`, most likely first: `(id, probability)`.
pub fn top_candidates(logits: &[f32], n: usize) -> Vec<(u32, f32)> {
    if n == 0 {
        return Vec::new();
    }
    let probs = softmax_f64(logits, 1.0);
    // Ties: the smaller id first (as `argmax` does).
    let mut keys: Vec<u64> = logits.iter().enumerate().map(|(i, &l)| rank::key_desc(rank::score_rank(l), i as u32)).collect();
    rank::keep_best(&mut keys, n);
    keys.into_iter().map(rank::tie).map(|i| (i, probs[i as usize] as f32)).collect()
}

fn softmax_f64(logits: &[f32], temperature: f64) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let mut p: Vec<f64> = logits.iter().map(|&l| crate::math::exp((l as f64 - max) / temperature)).collect();
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

/// What sampling draws from at one step: the vocabulary sorted by logit (`order`), the tempered
/// softmax over what top-k left (`probs`, same order), and how many of those top-p keeps (`keep`,
/// whose summed probability is `mass`). Tokens past `keep` have probability 0.
struct SamplingDistribution {
    order: Vec<usize>,
    probs: Vec<f64>,
    keep: usize,
    mass: f64,
}

impl SamplingDistribution {
    /// Temperature, then top-k, then top-p, as Hugging Face's warpers do.
    fn new(logits: &[f32], temperature: f32, top_k: usize, top_p: f32) -> Self {
        // Candidates sorted by logit, most likely first; among equal logits the larger id first, so
        // that top-p drops the smaller one, as HF's stable ascending sort does.
        // (The key's tie-breaker is `!id`: ascending, that is the larger id first.)
        let mut keys: Vec<u64> = logits.iter().enumerate().map(|(i, &l)| rank::key_desc(rank::score_rank(l), !(i as u32))).collect();
        rank::sort(&mut keys);
        let mut order: Vec<usize> = keys.into_iter().map(|k| !rank::tie(k) as usize).collect();
        if top_k > 0 && top_k < order.len() {
            // HF keeps every token whose logit reaches the k-th largest: ties at the cut stay.
            let kth = logits[order[top_k - 1]];
            let keep = top_k + order[top_k..].iter().take_while(|&&i| logits[i] >= kth).count();
            order.truncate(keep);
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
        SamplingDistribution { order, probs, keep, mass }
    }

    fn draw(&self, rng: &mut Rng) -> u32 {
        let mut r = rng.uniform() * self.mass;
        for (n, p) in self.probs[..self.keep].iter().enumerate() {
            r -= p;
            if r < 0.0 {
                return self.order[n] as u32;
            }
        }
        self.order[self.keep - 1] as u32
    }

    /// The `n` likeliest tokens of the distribution drawn from, renormalised over what was kept,
    /// with `chosen` added when it is not among them: `(id, probability)`, likeliest first.
    fn report(&self, n: usize, chosen: u32) -> Vec<(u32, f32)> {
        let p = |i: usize| (self.probs[i] / self.mass) as f32;
        let mut out: Vec<(u32, f32)> = (0..n.min(self.keep)).map(|i| (self.order[i] as u32, p(i))).collect();
        if !out.iter().any(|&(id, _)| id == chosen) {
            if let Some(i) = self.order[..self.keep].iter().position(|&o| o as u32 == chosen) {
                out.push((chosen, p(i)));
            }
        }
        out
    }
}

/// Pick the next token from `logits: [V]`.
pub fn choose(logits: &[f32], sampling: Sampling, rng: &mut Rng) -> u32 {
    let Sampling::Sample { temperature, top_k, top_p, .. } = sampling else {
        return argmax(logits);
    };
    SamplingDistribution::new(logits, temperature, top_k, top_p).draw(rng)
}

/// One produced token, with what the page shows beside it.
#[derive(Debug, Clone)]
pub struct GeneratedToken {
    pub id: u32,
    /// Probability of `id` under the plain (untempered) softmax of the model's logits.
    pub prob: f32,
    /// The most likely candidates at this step under the model's own softmax (temperature 1, before
    /// the generation rules, temperature, top-k and top-p): `(id, probability)`.
    pub candidates: Vec<(u32, f32)>,
    /// The distribution the token was actually drawn from (after the generation rules, temperature,
    /// top-k and top-p, renormalised), its likeliest first and always holding `id`; greedy: `id`
    /// alone at 1. Empty when no candidates were asked for.
    pub sampled: Vec<(u32, f32)>,
    /// How many tokens the drawn-from distribution gives a non-zero probability (0 when not reported).
    pub sampled_support: usize,
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
        let report = self.opts.n_candidates > 0;
        // The model's own distribution, before any rule changes the logits (kept only when shown).
        let raw = if report && !self.rules.is_empty() { Some(step.logits.clone()) } else { None };
        if !self.rules.is_empty() {
            let history: Vec<u32> = self.prefix.iter().chain(&self.produced).copied().collect();
            let max_length = self.prefix.len().saturating_add(self.opts.max_new_tokens);
            self.rules.apply(&mut step.logits, &history, self.prefix.len(), max_length);
        }
        let (id, sampled, sampled_support) = match self.opts.sampling {
            Sampling::Greedy => {
                let id = argmax(&step.logits);
                (id, if report { vec![(id, 1.0)] } else { Vec::new() }, usize::from(report))
            }
            Sampling::Sample { temperature, top_k, top_p, .. } => {
                let dist = SamplingDistribution::new(&step.logits, temperature, top_k, top_p);
                let id = dist.draw(&mut self.rng);
                if report {
                    let support = dist.probs[..dist.keep].iter().filter(|&&p| p > 0.0).count();
                    (id, dist.report(self.opts.n_candidates, id), support)
                } else {
                    (id, Vec::new(), 0)
                }
            }
        };
        let model_logits = raw.as_deref().unwrap_or(&step.logits);
        let candidates = top_candidates(model_logits, self.opts.n_candidates.max(1));
        let prob = match candidates.first() {
            Some(&(best, p)) if best == id => p,
            _ => softmax_f64(model_logits, 1.0)[id as usize] as f32,
        };
        self.produced.push(id);
        self.pending = vec![id];
        self.finished = self.is_eos(id) || self.produced.len() >= self.opts.max_new_tokens;
        Ok(Some(GeneratedToken {
            id,
            prob,
            candidates: if self.opts.n_candidates == 0 { Vec::new() } else { candidates },
            sampled,
            sampled_support,
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

#[cfg(test)]
mod tests {
    use super::SamplingDistribution;

    /// The ids a distribution can draw, in its order.
    fn kept(d: &SamplingDistribution) -> Vec<usize> {
        let mut ids = d.order[..d.keep].to_vec();
        ids.sort_unstable();
        ids
    }

    /// HF's top-k keeps every token whose logit reaches the k-th largest (ties at the cut stay), and
    /// its top-p, sorting ascending and stably, drops the smaller id of a tie first.
    #[test]
    fn ties_at_the_cut_follow_hf() {
        let d = SamplingDistribution::new(&[1.0, 1.0, 1.0, 0.0], 1.0, 2, 1.0);
        assert_eq!(kept(&d), vec![0, 1, 2], "top-k 2 keeps the three tied tokens");
        assert!(d.probs[..d.keep].iter().all(|&p| (p / d.mass - 1.0 / 3.0).abs() < 1e-12));
        assert_eq!(kept(&SamplingDistribution::new(&[0.0, 0.0], 1.0, 0, 0.5)), vec![1], "top-p 0.5 of a tie keeps the larger id");
        assert_eq!(kept(&SamplingDistribution::new(&[2.0, 1.0, 1.0, 1.0], 1.0, 0, 0.6)), vec![0, 3]);
    }
}

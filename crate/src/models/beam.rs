//! Beam search over [`Model::feed`], with Hugging Face's definitions so the same settings pick
//! the same sequences as `model.generate(num_beams=.., length_penalty=..)`.
//!
//! Reference semantics: `transformers/generation/utils.py` (`_beam_search` and its helpers,
//! transformers 5.x). One step, with `K = num_beams`:
//!
//! 1. Every running beam is fed its last token; `score(beam + v) = score(beam) + log_softmax(logits)[v]`.
//! 2. The best `2K` continuations over all beams are kept (2K so that K survive even if K end here).
//! 3. A continuation *ends* if it is eos or reaches `max_new_tokens`. Of the best K continuations,
//!    those that end become finished hypotheses with score `sum_logprobs / len^length_penalty`,
//!    where `len` counts the new tokens, eos included (the decoder start / prompt is not counted).
//!    The K best finished hypotheses are kept.
//! 4. The K best continuations that did not end are the next running beams.
//! 5. Stop when every one of the K finished slots is filled and (`early_stopping`):
//!    `Heuristic` (HF's `False`, the default): the best running beam, scored at its current length,
//!    can no longer beat the worst finished one; `Always` (`True`): at once; `Never`: as
//!    `Heuristic` but scoring the running beam at `max_new_tokens` when `length_penalty > 0`.
//!    Also stop when no continuation can go on (all hit the length limit).
//!
//! The scores pass through the [`GenerationRules`] of the model's config.json after the
//! log-softmax, as HF's logits processors do. Scores are f32 like HF's; each beam owns its [`DecoderState`] (forked by cloning), so beams
//! that share a parent share nothing afterwards.

use super::{Capture, DecoderState, Model};
use crate::error::{Error, Result};
use crate::rank;

/// Each beam owns a copy of the decoder state; more than this is a typo, not a search.
pub const MAX_BEAMS: usize = 256;

/// HF's "this can never be chosen" score.
const NEVER: f32 = -1.0e9;

/// When beam search may stop before `max_new_tokens` (HF's `early_stopping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EarlyStopping {
    /// `early_stopping=False` (HF's default): stop when the best running beam cannot improve on
    /// the finished ones at its current length.
    #[default]
    Heuristic,
    /// `early_stopping=True`: stop as soon as `num_beams` hypotheses are finished.
    Always,
    /// `early_stopping="never"`: the canonical criterion (best possible score at the maximum length).
    Never,
}

/// Settings of one beam search.
#[derive(Debug, Clone, Copy)]
pub struct BeamOptions {
    pub num_beams: usize,
    /// Exponent of the length normalisation: > 0 favours longer sequences, < 0 shorter ones.
    /// f64 because HF computes `len ** length_penalty` in Python floats.
    pub length_penalty: f64,
    pub early_stopping: EarlyStopping,
    pub max_new_tokens: usize,
    pub eos_token_id: Option<u32>,
    /// How many hypotheses to return, best first (at most `num_beams`).
    pub num_return_sequences: usize,
}

impl BeamOptions {
    /// HF's defaults for everything but the width and the length.
    pub fn new(num_beams: usize, max_new_tokens: usize) -> Self {
        BeamOptions { num_beams, length_penalty: 1.0, early_stopping: EarlyStopping::Heuristic, max_new_tokens, eos_token_id: None, num_return_sequences: 1 }
    }

    fn validate(&self) -> Result<()> {
        if self.num_beams == 0 || self.num_beams > MAX_BEAMS {
            return Err(Error::input(format!("{} beams were asked for", self.num_beams), format!("Use between 1 beam (greedy search) and {MAX_BEAMS}, e.g. 4 (--num-beams 4, or numBeams: 4)")));
        }
        if !self.length_penalty.is_finite() {
            return Err(Error::input(format!("length penalty {} is not a finite number", self.length_penalty), "Use a finite length penalty, e.g. 1.0"));
        }
        if self.num_return_sequences == 0 || self.num_return_sequences > self.num_beams {
            return Err(Error::input(
                format!("{} sequences were asked for from {} beams", self.num_return_sequences, self.num_beams),
                "Ask for between 1 and num_beams sequences",
            ));
        }
        Ok(())
    }
}

/// One finished sequence: the new tokens (eos included when it ended there) and its
/// length-normalised log-probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    pub ids: Vec<u32>,
    pub score: f32,
}

struct Beam {
    ids: Vec<u32>, // new tokens so far
    score: f32,    // summed log-probabilities
    state: DecoderState,
    pending: Vec<u32>, // what to feed next
}

/// A candidate continuation: parent beam, token, summed log-probability.
#[derive(Clone, Copy)]
struct Candidate {
    parent: usize,
    token: u32,
    score: f32,
}

/// A slot of the finished list (HF keeps exactly `num_beams`, empty ones at -1e9).
#[derive(Clone, Default)]
struct Slot {
    ids: Vec<u32>,
    score: f32,
    finished: bool,
}

/// Beam search from `state` (fresh from [`Model::start_decoding`]) and `prefix` (the decoder start
/// token, or a decoder-only prompt), with no generation rules (see [`beam_search_with`]). Returns up
/// to `num_return_sequences` hypotheses, best first.
pub fn beam_search(model: &Model, state: DecoderState, prefix: &[u32], opts: &BeamOptions) -> Result<Vec<Hypothesis>> {
    beam_search_with(model, state, prefix, opts, &GenerationRules::NONE)
}

/// [`beam_search`] under the model's generation `rules` (what [`crate::session::Session`] passes).
/// The sequence ends at `opts.eos_token_id` when given, else at any of `rules.eos_token_ids`.
pub fn beam_search_with(model: &Model, state: DecoderState, prefix: &[u32], opts: &BeamOptions, rules: &GenerationRules) -> Result<Vec<Hypothesis>> {
    opts.validate()?;
    if prefix.is_empty() {
        return Err(Error::input("nothing to continue from", "Give a prompt or the decoder start token"));
    }
    let k = opts.num_beams;
    if opts.max_new_tokens == 0 {
        return Ok(vec![Hypothesis { ids: Vec::new(), score: 0.0 }]);
    }
    let eos_ids: Vec<u32> = opts.eos_token_id.map_or_else(|| rules.eos_token_ids.clone(), |e| vec![e]);
    let keep = 2.max(1 + eos_ids.len()) * k; // HF: max(2, 1 + number of eos ids) * num_beams
    let lp = opts.length_penalty;
    let normalise = |score: f32, len: usize| score / (crate::math::pow(len as f64, lp) as f32);
    let max_length = prefix.len().saturating_add(opts.max_new_tokens);

    // At the start HF has K copies of the prefix with all but the first at -1e9; one beam is the same.
    let mut running = vec![Beam { ids: Vec::new(), score: 0.0, state, pending: prefix.to_vec() }];
    let mut slots = vec![Slot { ids: Vec::new(), score: NEVER, finished: false }; k];
    let mut improvable = true;

    for step in 0..opts.max_new_tokens {
        // 1. Score every continuation of every running beam: beam b's token t at b·V + t.
        let mut scores: Vec<f32> = Vec::new();
        let mut vocab = 0;
        for beam in running.iter_mut() {
            let out = model.feed(&mut beam.state, &beam.pending, Capture::NONE)?;
            let mut log_probs = log_softmax(&out.logits);
            if !rules.is_empty() {
                let history: Vec<u32> = prefix.iter().chain(&beam.ids).copied().collect();
                rules.apply(&mut log_probs, &history, prefix.len(), max_length);
            }
            vocab = log_probs.len(); // the model's: the same for every beam
            scores.extend(log_probs.into_iter().map(|lp| beam.score + lp));
        }
        // 2. The best 2K, best first (ties: the earlier beam and smaller id, as a stable top-k).
        let candidates: Vec<Candidate> = best(&scores, keep).into_iter().map(|i| Candidate { parent: i / vocab, token: (i % vocab) as u32, score: scores[i] }).collect();
        drop(scores);
        let generated = step + 1; // new tokens in each candidate
        let ends: Vec<bool> = candidates.iter().map(|c| eos_ids.contains(&c.token) || generated >= opts.max_new_tokens).collect();

        // 3. Finished hypotheses: the top K candidates that end, merged with the slots.
        let all_full = slots.iter().all(|s| s.finished) && opts.early_stopping == EarlyStopping::Always;
        let mut merged: Vec<Slot> = slots.clone();
        for (i, c) in candidates.iter().enumerate() {
            let mut score = normalise(c.score, generated);
            let counts = i < k && ends[i];
            if all_full {
                score += NEVER;
            }
            if !improvable {
                score += NEVER;
            }
            if !counts {
                score += NEVER;
            }
            let mut ids = running[c.parent].ids.clone();
            ids.push(c.token);
            merged.push(Slot { ids, score, finished: counts });
        }
        let scores: Vec<f32> = merged.iter().map(|s| s.score).collect();
        slots = best(&scores, k).into_iter().map(|i| std::mem::take(&mut merged[i])).collect();

        // 4. The next running beams: the best K continuations, those that ended pushed to the back.
        let scores: Vec<f32> = candidates.iter().zip(&ends).map(|(c, &e)| c.score + if e { NEVER } else { 0.0 }).collect();
        let mut next = Vec::with_capacity(k);
        for i in best(&scores, k) {
            let (c, score) = (candidates[i], scores[i]);
            let parent = &running[c.parent];
            let mut ids = parent.ids.clone();
            ids.push(c.token);
            next.push(Beam { ids, score, state: parent.state.clone(), pending: vec![c.token] });
        }
        running = next;

        // 5. Can anything still change?
        let best_len = if opts.early_stopping == EarlyStopping::Never && lp > 0.0 { opts.max_new_tokens } else { generated };
        let best_running = running.first().map_or(NEVER, |b| normalise(b.score, best_len));
        let all_finished = slots.iter().all(|s| s.finished);
        let worst_finished = slots.iter().map(|s| s.score).fold(f32::INFINITY, f32::min);
        improvable = improvable && best_running > if all_finished { worst_finished } else { NEVER };
        let exists_open = !(all_finished && opts.early_stopping == EarlyStopping::Always);
        let can_continue = !ends.iter().all(|&e| e);
        if !(improvable && exists_open && can_continue) {
            break;
        }
    }
    Ok(slots.into_iter().filter(|s| s.finished).take(opts.num_return_sequences).map(|s| Hypothesis { ids: s.ids, score: s.score }).collect())
}

/// The positions of the best `n` of `scores`, best first; equal scores keep their order (as HF's
/// stable top-k does), and -0.0 ties with 0.0. A NaN score (NaN logits) ranks with -inf.
/// Positions fit the key's 32 bits: at most [`MAX_BEAMS`] (2^8) beams of a vocabulary of at most
/// 2^24 (`loader::limits::MAX_DIM`).
fn best(scores: &[f32], n: usize) -> Vec<usize> {
    debug_assert!(u32::try_from(scores.len()).is_ok());
    let score_rank = |s: f32| rank::score_rank(s + 0.0); // -0.0 + 0.0 is 0.0: the two tie here
    let mut keys: Vec<u64> = scores.iter().enumerate().map(|(i, &s)| rank::key_desc(score_rank(s), i as u32)).collect();
    rank::keep_best(&mut keys, n);
    keys.into_iter().map(|k| rank::tie(k) as usize).collect()
}

/// `log_softmax(logits)` with the normaliser summed in f64.
fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| crate::math::exp((l - max) as f64)).sum();
    let log_z = max as f64 + crate::math::ln(sum);
    logits.iter().map(|&l| (l as f64 - log_z) as f32).collect()
}

/// What Hugging Face's `generate` applies to every step's scores because the model's generation
/// settings say so (`generation_config.json`, or config.json's generation keys; see
/// [`super::generation_config`]): real checkpoints carry these, and greedy or beam output only
/// matches HF's with them. Shared by greedy/sampled generation and beam search.
///
/// Applied in HF's order: `repetition_penalty`, then bans (`no_repeat_ngram_size`,
/// `bad_words_ids`, `min_length`, `min_new_tokens`), then forcing (`forced_bos_token_id` at the
/// first new token, `forced_eos_token_id` at the last allowed one), which leaves the forced tokens
/// at 0 and every other at -inf.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationRules {
    pub forced_bos_token_id: Option<u32>,
    pub forced_eos_token_id: Vec<u32>,
    pub no_repeat_ngram_size: usize,
    /// Each entry: a token sequence that must never be produced.
    pub bad_words_ids: Vec<Vec<u32>>,
    /// eos is banned while the sequence (prefix included) is shorter than this.
    pub min_length: usize,
    /// eos is banned while fewer than this many new tokens were made.
    pub min_new_tokens: usize,
    /// HF's `repetition_penalty` (1: off): a seen token's score is divided by it when positive,
    /// multiplied when negative.
    pub repetition_penalty: f32,
    /// The ids that end a sequence.
    pub eos_token_ids: Vec<u32>,
}

impl GenerationRules {
    pub const NONE: GenerationRules = GenerationRules {
        forced_bos_token_id: None,
        forced_eos_token_id: Vec::new(),
        no_repeat_ngram_size: 0,
        bad_words_ids: Vec::new(),
        min_length: 0,
        min_new_tokens: 0,
        repetition_penalty: 1.0,
        eos_token_ids: Vec::new(),
    };

    /// True when no rule changes any score (the eos ids alone change nothing).
    pub fn is_empty(&self) -> bool {
        self.forced_bos_token_id.is_none()
            && self.forced_eos_token_id.is_empty()
            && self.no_repeat_ngram_size == 0
            && self.bad_words_ids.is_empty()
            && self.min_length == 0
            && self.min_new_tokens == 0
            && self.repetition_penalty == 1.0
    }

    pub fn is_eos(&self, id: u32) -> bool {
        self.eos_token_ids.contains(&id)
    }

    /// Adjust `scores: [V]` for the next token after `history` (the `prefix_len` tokens of the
    /// prompt or decoder start, then the new tokens so far), in a run whose whole length (prefix +
    /// new tokens) may reach `max_length`.
    pub fn apply(&self, scores: &mut [f32], history: &[u32], prefix_len: usize, max_length: usize) {
        let cur_len = history.len();
        if self.repetition_penalty != 1.0 {
            let mut seen = history.to_vec();
            rank::sort_ids(&mut seen);
            seen.dedup();
            for id in seen {
                if let Some(s) = scores.get_mut(id as usize) {
                    *s = if *s < 0.0 { *s * self.repetition_penalty } else { *s / self.repetition_penalty };
                }
            }
        }
        let mut ban = |id: u32| {
            if let Some(s) = scores.get_mut(id as usize) {
                *s = f32::NEG_INFINITY;
            }
        };
        let n = self.no_repeat_ngram_size;
        if n > 0 && cur_len + 1 >= n {
            // Any earlier n-gram whose first n-1 tokens equal the last n-1 tokens bans its last token.
            let tail = &history[cur_len + 1 - n..];
            for start in 0..(cur_len + 1).saturating_sub(n) {
                if &history[start..start + n - 1] == tail {
                    ban(history[start + n - 1]);
                }
            }
        }
        for word in &self.bad_words_ids {
            // HF drops a bad word that is a lone eos id (eos stays reachable).
            if word.len() == 1 && self.is_eos(word[0]) {
                continue;
            }
            if let Some((&last, head)) = word.split_last() {
                if history.ends_with(head) {
                    ban(last);
                }
            }
        }
        if cur_len < self.min_length || cur_len.saturating_sub(prefix_len) < self.min_new_tokens {
            self.eos_token_ids.iter().for_each(|&eos| ban(eos));
        }
        // HF runs the forced-bos processor, then the forced-eos one: when both are due (a run of one
        // new token after a one-token prefix), eos wins.
        let forced: &[u32] = if cur_len + 1 == max_length && !self.forced_eos_token_id.is_empty() {
            &self.forced_eos_token_id
        } else if cur_len == 1 && self.forced_bos_token_id.is_some() {
            self.forced_bos_token_id.as_slice()
        } else {
            &[]
        };
        if forced.iter().any(|&id| (id as usize) < scores.len()) {
            scores.fill(f32::NEG_INFINITY);
            for &id in forced {
                if let Some(s) = scores.get_mut(id as usize) {
                    *s = 0.0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{best, GenerationRules};

    /// `best` is the stable descending sort by `partial_cmp` it replaced: equal scores (-0.0 and 0.0
    /// among them) keep their order; NaN goes with -inf.
    #[test]
    fn best_is_a_stable_descending_top_k() {
        let scores = [-1.0, 0.0, -0.0, f32::NEG_INFINITY, 0.0, -1.0, f32::NAN, -0.0, 2.0];
        assert_eq!(best(&scores, 20), vec![8, 1, 2, 4, 7, 0, 5, 3, 6]);
        assert_eq!(best(&scores, 3), vec![8, 1, 2]);
        let mut stable: Vec<usize> = (0..scores.len() - 3).collect(); // (no NaN, no -inf)
        stable.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap());
        assert_eq!(best(&scores[..scores.len() - 3], 6), stable);
    }

    /// When forced bos and forced eos fall due on the same step (one new token after a one-token
    /// prefix), HF's forced-eos processor runs last and wins.
    #[test]
    fn forced_eos_wins_over_forced_bos_on_the_same_step() {
        let rules = GenerationRules { forced_bos_token_id: Some(7), forced_eos_token_id: vec![9], ..GenerationRules::default() };
        let mut scores = vec![0.0f32; 12];
        rules.apply(&mut scores, &[3], 1, 2);
        assert_eq!((0..12).filter(|&i| scores[i].is_finite()).collect::<Vec<_>>(), vec![9]);
        let mut scores = vec![0.0f32; 12];
        rules.apply(&mut scores, &[3], 1, 5);
        assert_eq!((0..12).filter(|&i| scores[i].is_finite()).collect::<Vec<_>>(), vec![7], "bos alone at the first step");
    }
}

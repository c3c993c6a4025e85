//! The teaching views' side of the core: what a forward pass can be asked to show beyond
//! attention maps (hidden states after every layer, one layer's Q/K/V arithmetic), what it can be
//! asked to change (ablate heads, hide source tokens), and the numbers behind positions and
//! embeddings. Everything is opt-in: a [`Probe`] that asks for nothing costs a plain run nothing.
//!
//! Semantics follow Hugging Face: `output_hidden_states`, `head_mask` (multiplies a head's
//! attention probabilities; removed from transformers 5.x, kept here), `attention_mask` (an
//! additive `finfo.min` on hidden keys, applied to encoder self-attention and cross-attention).

use super::attention::{AttentionKind, QkvRequest, HIDDEN_KEY};
use super::generation::top_candidates;
use super::{Capture, Model, Outputs, Positions};
use crate::error::{Error, Result};

/// What one forward pass should show and change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probe {
    /// Attention maps of every layer and head (probs, scores).
    pub capture: Capture,
    /// HF's `output_hidden_states`, for the encoder and decoder stacks.
    pub hidden_states: bool,
    /// One layer's Q/K/V step-through.
    pub qkv: Option<QkvRequest>,
    pub interventions: Interventions,
}

impl From<Capture> for Probe {
    fn from(capture: Capture) -> Self {
        Probe { capture, ..Default::default() }
    }
}

/// Changes to the computation, for "what if" views. Also kept in a [`super::DecoderState`] so
/// that generation runs with them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interventions {
    pub head_mask: HeadMasks,
    /// HF's `attention_mask` over the source tokens: 1 = visible, 0 = hidden. `[S]`.
    /// Encoders only (BERT, and the encoder of T5/BART/Marian, whose cross-attention then cannot
    /// see the hidden tokens either). A hidden token still has its own row of outputs.
    pub token_mask: Option<Vec<u8>>,
}

impl Interventions {
    pub fn is_none(&self) -> bool {
        self.head_mask.encoder.is_none() && self.head_mask.decoder.is_none() && self.head_mask.cross.is_none() && self.token_mask.is_none()
    }
    /// The token mask in the additive form attention adds to its scores: `[S]`.
    pub(crate) fn additive_token_mask(&self) -> Option<Vec<f32>> {
        self.token_mask.as_ref().map(|m| m.iter().map(|&keep| if keep == 0 { HIDDEN_KEY } else { 0.0 }).collect())
    }
}

/// A head mask per attention kind, each `[L][H]` flat: 1 keeps a head, 0 ablates it (values in
/// between scale it). `None` leaves every head of that kind as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeadMasks {
    pub encoder: Option<Vec<f32>>,
    pub decoder: Option<Vec<f32>>,
    pub cross: Option<Vec<f32>>,
}

impl HeadMasks {
    pub fn get(&self, kind: AttentionKind) -> Option<&[f32]> {
        match kind {
            AttentionKind::Encoder => self.encoder.as_deref(),
            AttentionKind::Decoder => self.decoder.as_deref(),
            AttentionKind::Cross => self.cross.as_deref(),
        }
    }
}

/// The residual stream of one stack: `data` is `[L+1][T][C]`: the embeddings output (what the
/// first layer reads), then each layer's output. As in HF, the last entry is after the stack's
/// final norm when it has one (GPT-2's `ln_f`, T5's `final_layer_norm`), so it equals
/// `last_hidden_state`.
#[derive(Debug, Clone, PartialEq)]
pub struct HiddenStates {
    pub n_states: usize, // L + 1
    pub seq_len: usize,  // T
    pub d_model: usize,  // C
    pub data: Vec<f32>,
}

impl HiddenStates {
    /// `[T][C]` after layer `i` (0: the embeddings output).
    pub fn state(&self, i: usize) -> &[f32] {
        let n = self.seq_len * self.d_model;
        &self.data[i * n..(i + 1) * n]
    }
}

/// The two stacks a model may have. GPT-2's blocks are a decoder stack; BERT's an encoder stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    Encoder,
    Decoder,
}

impl Stack {
    pub fn as_str(self) -> &'static str {
        match self {
            Stack::Encoder => "encoder",
            Stack::Decoder => "decoder",
        }
    }
}

/// Rows of a token embedding table.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEmbeddings {
    pub d_model: usize,   // C
    pub rows: Vec<f32>,   // [T][C], as stored
    /// What the model multiplies them by before adding positions (√C for Marian and BART with
    /// `scale_embedding`; 1 otherwise).
    pub scale: f32,
}

/// T5's relative positions: the bucket of each distance and the learned bias of each bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct RelativePositions {
    pub num_buckets: usize,
    pub max_distance: usize,
    /// Encoder buckets split into two directions; the decoder's only look back.
    pub bidirectional: bool,
    /// `key position - query position`, from `-(N-1)` to `N-1`. `[2N-1]`
    pub distances: Vec<i64>,
    /// The bucket of each distance. `[2N-1]`
    pub buckets: Vec<u32>,
    pub n_heads: usize,
    /// What each head adds to a score whose distance falls in each bucket: `[H][buckets]`.
    pub bias: Vec<f32>,
}

/// The logit lens's best guesses: for every hidden state and position, the `k` likeliest tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct LensTop {
    pub n_states: usize, // L + 1
    pub seq_len: usize,  // T
    pub k: usize,
    pub ids: Vec<u32>,   // [L+1][T][k], likeliest first
    pub probs: Vec<f32>, // [L+1][T][k], softmax over the whole vocabulary
}

/// The most cells [`Model::rotary_angles`] returns (positions × pairs).
pub const MAX_ANGLE_CELLS: usize = 1 << 22;

impl Model {
    /// `(layers, heads)` of attention `kind`, or `None` when the model has no such attention.
    pub fn attention_dims(&self, kind: AttentionKind) -> Option<(usize, usize)> {
        let info = self.info();
        match (self, kind) {
            (Model::Gpt2(_) | Model::Llama(_), AttentionKind::Decoder) => Some((info.n_layers, info.n_heads)),
            (Model::Bert(_), AttentionKind::Encoder) => Some((info.n_layers, info.n_heads)),
            (Model::T5(_), AttentionKind::Encoder) => Some((info.n_layers, info.n_heads)),
            (Model::T5(_), _) => Some((info.n_decoder_layers, info.n_heads)),
            (Model::Bart(m), AttentionKind::Encoder) => Some((m.config.encoder_layers, m.config.encoder_attention_heads)),
            (Model::Bart(m), _) => Some((m.config.decoder_layers, m.config.decoder_attention_heads)),
            _ => None,
        }
    }

    /// Reject a probe the model cannot honour, naming what is wrong. `src_len` is the length of
    /// the (source) input.
    pub fn check_probe(&self, probe: &Probe, src_len: usize) -> Result<()> {
        if let Some(req) = probe.qkv {
            let (layers, _) = self.attention_dims(req.kind).ok_or_else(|| self.no_such_kind(req.kind))?;
            if req.layer >= layers {
                return Err(Error::input(
                    format!("layer {} was asked for but {} attention has layers 0..{layers}", req.layer, req.kind.as_str()),
                    format!("Pick a layer below {layers}"),
                ));
            }
        }
        self.check_interventions(&probe.interventions, src_len)
    }

    /// Reject head masks of the wrong shape and token masks a model cannot apply.
    pub fn check_interventions(&self, iv: &Interventions, src_len: usize) -> Result<()> {
        for kind in [AttentionKind::Encoder, AttentionKind::Decoder, AttentionKind::Cross] {
            let Some(mask) = iv.head_mask.get(kind) else { continue };
            let (layers, heads) = self.attention_dims(kind).ok_or_else(|| self.no_such_kind(kind))?;
            if mask.len() != layers * heads {
                return Err(Error::input(
                    format!("the {} head mask has {} values but this model has {layers} layers × {heads} heads", kind.as_str(), mask.len()),
                    format!("Give {} values, layer by layer (1 keeps a head, 0 ablates it)", layers * heads),
                ));
            }
            if mask.iter().any(|v| !v.is_finite()) {
                return Err(Error::input(format!("the {} head mask has a value that is not a number", kind.as_str()), "Use 1 to keep a head and 0 to ablate it"));
            }
        }
        if let Some(mask) = &iv.token_mask {
            if matches!(self, Model::Gpt2(_) | Model::Llama(_)) {
                return Err(Error::input(
                    "token masking hides source tokens from an encoder, and this is a decoder-only model",
                    "Pick an encoder (BERT) or encoder-decoder (T5, BART, Marian) model to hide tokens",
                ));
            }
            if mask.len() != src_len {
                return Err(Error::input(
                    format!("the token mask has {} entries but the input has {src_len} tokens", mask.len()),
                    "Give one entry per token, special tokens included (1 visible, 0 hidden)",
                ));
            }
            if let Some(bad) = mask.iter().find(|&&m| m > 1) {
                return Err(Error::input(format!("the token mask contains {bad}"), "Use 1 for a visible token and 0 for a hidden one"));
            }
        }
        Ok(())
    }

    fn no_such_kind(&self, kind: AttentionKind) -> Error {
        Error::input(
            format!("this {} model has no {} attention", self.kind().as_str(), kind.as_str()),
            match self {
                Model::Gpt2(_) => "GPT-2's attention is the decoder kind",
                Model::Llama(_) => "A Llama-style model's attention is the decoder kind",
                Model::Bert(_) => "BERT's attention is the encoder kind",
                _ => "Pick encoder, decoder or cross",
            },
        )
    }

    /// The logit lens: the final norm and LM head applied to hidden state `layer` of the stack
    /// that feeds the head (the decoder's; BERT: the encoder's, through its MLM head), as if
    /// the model stopped there. `[T][V]`. The last state equals the model's own logits.
    pub fn logit_lens(&self, outputs: &Outputs, layer: usize) -> Result<Vec<f32>> {
        let states = self.lens_states(outputs)?;
        if layer >= states.n_states {
            return Err(Error::input(format!("hidden state {layer} was asked for but there are {} (0..{})", states.n_states, states.n_states), "Pick a smaller layer"));
        }
        let (t, last) = (states.seq_len, layer + 1 == states.n_states);
        let x = states.state(layer);
        Ok(match self {
            Model::Gpt2(m) => m.lens(x, t, last),
            Model::Bert(m) => m.lens(x, t).ok_or_else(|| {
                Error::input("this BERT checkpoint has no masked-LM head to read hidden states with", "Load a BertForMaskedLM checkpoint (with cls.predictions.*)")
            })?,
            Model::T5(m) => m.lens(x, t, last),
            Model::Bart(m) => m.lens(x, t),
            Model::Llama(m) => m.lens(x, t, last).ok_or_else(|| {
                Error::input("this checkpoint has no LM head to read hidden states with", "Load the ForCausalLM checkpoint (with lm_head.weight or tied embeddings)")
            })?,
        })
    }

    /// The logit lens for every hidden state, reduced to the `k` likeliest tokens per position.
    pub fn logit_lens_top(&self, outputs: &Outputs, k: usize) -> Result<LensTop> {
        let states = self.lens_states(outputs)?;
        let (n, t) = (states.n_states, states.seq_len);
        let k = k.min(self.decoder_vocab_size());
        let (mut ids, mut probs) = (Vec::with_capacity(n * t * k), Vec::with_capacity(n * t * k));
        for layer in 0..n {
            let logits = self.logit_lens(outputs, layer)?;
            let v = logits.len() / t.max(1);
            for row in logits.chunks_exact(v) {
                for (id, p) in top_candidates(row, k) {
                    ids.push(id);
                    probs.push(p);
                }
            }
        }
        Ok(LensTop { n_states: n, seq_len: t, k, ids, probs })
    }

    fn lens_states<'o>(&self, outputs: &'o Outputs) -> Result<&'o HiddenStates> {
        let states = match self {
            Model::Bert(_) => outputs.encoder_hidden_states.as_ref(),
            _ => outputs.decoder_hidden_states.as_ref(),
        };
        states.ok_or_else(|| Error::input("the logit lens reads hidden states, and this run kept none", "Run with hidden_states: true"))
    }

    /// The position vectors the model adds to its token embeddings at positions `0..n` of
    /// `stack`: `[N][C]`. Learned rows (GPT-2, BERT; BART's rows start at table row 2) or
    /// Marian's sinusoids. T5 has none: see [`Model::relative_positions`].
    pub fn position_vectors(&self, stack: Stack, n: usize) -> Result<Vec<f32>> {
        self.check_stack(stack)?;
        let max = match self.info().max_positions {
            Some(max) => max,
            None => {
                return Err(Error::input(
                    "T5 adds no position vectors; it biases attention scores by relative distance",
                    "Ask for relative_positions instead",
                ))
            }
        };
        if n > max {
            return Err(Error::input(format!("{n} positions were asked for but this model has {max}"), format!("Ask for at most {max}")));
        }
        Ok(match self {
            Model::Gpt2(m) => m.position_rows(n).to_vec(),
            Model::Bert(m) => m.position_rows(n).to_vec(),
            Model::Bart(m) => m.position_rows(stack == Stack::Decoder, n).to_vec(),
            Model::T5(_) => unreachable!("T5 has no max_positions"),
            Model::Llama(_) => {
                return Err(Error::input(
                    "a rotary model adds no position vectors; it turns each query and key by an angle that grows with the position",
                    "Ask for rotary_angles instead",
                ))
            }
        })
    }

    /// T5's relative position scheme for `stack` over distances `-(n-1)..=n-1`.
    pub fn relative_positions(&self, stack: Stack, n: usize) -> Result<RelativePositions> {
        let Model::T5(m) = self else {
            return Err(Error::input(
                format!("{} positions are not relative; only T5's are", self.info().model_type),
                "Ask for position_vectors instead",
            ));
        };
        let bidirectional = stack == Stack::Encoder;
        let (num_buckets, max_distance) = (m.config.relative_attention_num_buckets, m.config.relative_attention_max_distance);
        let n = n.max(1) as i64;
        let distances: Vec<i64> = (-(n - 1)..n).collect();
        let buckets = distances.iter().map(|&d| super::t5::relative_bucket(d, bidirectional, num_buckets, max_distance) as u32).collect();
        let table = m.relative_bias_table(stack == Stack::Decoder); // [buckets][H]
        let h = m.config.num_heads;
        let bias = (0..h).flat_map(|head| (0..num_buckets).map(move |b| table[b * h + head])).collect();
        Ok(RelativePositions { num_buckets, max_distance, bidirectional, distances, buckets, n_heads: h, bias })
    }

    /// Rows of `stack`'s token embedding table for `ids`. `[T][C]`
    pub fn token_embeddings(&self, stack: Stack, ids: &[u32]) -> Result<TokenEmbeddings> {
        use super::layers::TokenTable;
        self.check_stack(stack)?;
        let (table, vocab, scale) = match self {
            Model::Gpt2(m) => (m.token_table(), m.config.vocab_size, 1.0),
            Model::Bert(m) => (TokenTable::Rows(m.token_table()), m.config.vocab_size, 1.0),
            Model::T5(m) => (TokenTable::Rows(m.token_table(stack == Stack::Decoder)), m.config.vocab_size, 1.0),
            Model::Llama(m) => (TokenTable::Rows(m.token_table()), m.config.vocab_size, 1.0),
            Model::Bart(m) => {
                let (table, vocab, scale) = m.token_table(stack == Stack::Decoder);
                (TokenTable::Rows(table), vocab, scale)
            }
        };
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(Error::input(format!("token id {bad} is outside the vocabulary (0..{vocab})"), "Use ids below vocab_size"));
        }
        let c = self.info().d_model;
        Ok(TokenEmbeddings { d_model: c, rows: table.gather(c, ids), scale })
    }

    fn check_stack(&self, stack: Stack) -> Result<()> {
        let ok = match self {
            Model::Gpt2(_) | Model::Llama(_) => stack == Stack::Decoder,
            Model::Bert(_) => stack == Stack::Encoder,
            Model::T5(_) | Model::Bart(_) => true,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::input(
                format!("this {} model has no {} stack", self.kind().as_str(), stack.as_str()),
                if matches!(self, Model::Gpt2(_) | Model::Llama(_)) { "A decoder-only model's blocks are the decoder stack" } else { "BERT's layers are the encoder stack" },
            ))
        }
    }

    /// A rotary model's rotation angles for positions `0..n`: `[N][D/2]` (see [`super::rotary`]).
    pub fn rotary_angles(&self, n: usize) -> Result<super::rotary::RotaryAngles> {
        let Model::Llama(m) = self else {
            return Err(Error::input(
                format!("{} positions are not rotary; only Llama-style models' are", self.info().model_type),
                "Ask for position_vectors or relative_positions instead",
            ));
        };
        let max = self.info().max_positions.unwrap_or(n);
        if n > max {
            return Err(Error::input(format!("{n} positions were asked for but this model has {max}"), format!("Ask for at most {max}")));
        }
        // A table for the page, not a tensor of the model: keep it small whatever the config says.
        let cells = n.saturating_mul(m.rotary.inv_freq.len());
        if cells > MAX_ANGLE_CELLS {
            return Err(Error::input(format!("{n} positions × {} pairs is more than the {MAX_ANGLE_CELLS} angles one table may hold", m.rotary.inv_freq.len()), "Ask for fewer positions"));
        }
        Ok(m.rotary_angles(n))
    }

    /// How positions enter the model (for choosing between the two accessors above).
    pub fn position_scheme(&self) -> Positions {
        self.info().positions
    }
}

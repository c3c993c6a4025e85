//! The teaching views' side of the core: what a forward pass can be asked to show beyond
//! attention maps (hidden states after every layer, one layer's Q/K/V arithmetic), what it can be
//! asked to change (ablate heads, hide source tokens), and the numbers behind positions and
//! embeddings. Everything is opt-in: a [`Probe`] that asks for nothing costs a plain run nothing.
//!
//! Semantics follow Hugging Face: `output_hidden_states`, `head_mask` (multiplies a head's
//! attention probabilities; removed from transformers 5.x, kept here), `attention_mask` (an
//! additive `finfo.min` on hidden keys, applied to encoder self-attention and cross-attention).

pub use super::capture::{HeadMasks, HiddenStates, Interventions, Probe, Stack};
use super::capture::AttentionKind;
use super::generation::top_candidates;
use super::layers::TokenTable;
use super::{Kind, Model, Outputs, Positions};
use crate::error::{Error, Result};
use ndarray::Axis;

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
        self.family().attention_dims(kind)
    }

    /// Reject a probe the model cannot honour, naming what is wrong. `src_len` is the length of
    /// the (source) input.
    pub fn check_probe(&self, probe: &Probe, src_len: usize) -> Result<()> {
        if let Some(req) = probe.qkv {
            let (layers, _) = self.attention_dims(req.kind).ok_or_else(|| self.no_such_kind(req.kind))?;
            if req.layer >= layers {
                return Err(Error::input(
                    format!("layer {} was asked for but {} attention has layers 0 to {}", req.layer, req.kind.as_str(), layers.saturating_sub(1)),
                    format!("Pick a layer from 0 to {}", layers.saturating_sub(1)),
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
            if self.kind() == Kind::DecoderOnly {
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
            match self.kind() {
                Kind::DecoderOnly => "A decoder-only model's attention is the decoder kind",
                Kind::EncoderOnly => "An encoder-only model's attention is the encoder kind",
                Kind::EncoderDecoder => "Pick encoder, decoder or cross",
            },
        )
    }

    /// The logit lens: the final norm and LM head applied to hidden state `layer` of the stack
    /// that feeds the head (the decoder's; BERT: the encoder's, through its MLM head), as if
    /// the model stopped there. `[T][V]`. The last state equals the model's own logits.
    pub fn logit_lens(&self, outputs: &Outputs, layer: usize) -> Result<Vec<f32>> {
        let states = self.lens_states(outputs)?;
        let n_states = states.dim().0;
        if layer >= n_states {
            return Err(Error::input(format!("hidden state {layer} was asked for but there are {n_states} (0 to {})", n_states.saturating_sub(1)), format!("Pick a hidden state from 0 to {}", n_states.saturating_sub(1))));
        }
        let logits = self.family().lens(states.index_axis(Axis(0), layer), layer + 1 == n_states)?; // [T][V]
        Ok(super::activations::into_flat(logits))
    }

    /// The logit lens for every hidden state, reduced to the `k` likeliest tokens per position.
    pub fn logit_lens_top(&self, outputs: &Outputs, k: usize) -> Result<LensTop> {
        let states = self.lens_states(outputs)?;
        let (n, t, _) = states.dim();
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
        let states = match self.kind() {
            Kind::EncoderOnly => outputs.encoder_hidden_states.as_ref(),
            _ => outputs.decoder_hidden_states.as_ref(),
        };
        states.ok_or_else(|| Error::input("the logit lens reads hidden states, and this run kept none", "Run with hidden_states: true"))
    }

    /// The position vectors the model adds to its token embeddings at positions `0..n` of
    /// `stack`: `[N][C]`. Learned rows (GPT-2, BERT; BART's rows start at table row 2) or
    /// Marian's sinusoids. T5 has none: see [`Model::relative_positions`].
    pub fn position_vectors(&self, stack: Stack, n: usize) -> Result<Vec<f32>> {
        self.check_stack(stack)?;
        let max = match (self.info().max_positions, self.info().positions) {
            (Some(max), _) => max,
            (None, Positions::Alibi) => {
                return Err(Error::input(
                    "an ALiBi model adds no position vectors; each head lowers its scores by a fixed slope times the distance",
                    "Read the slopes from the model card (block.alibiSlopes)",
                ))
            }
            (None, Positions::Disentangled) => return Err(disentangled_has_no_bias_table()),
            // M2M100: computed rows for any position, as many as Glassbox runs at once.
            (None, Positions::Sinusoidal) => super::MAX_TOKENS_WITHOUT_POSITION_TABLE,
            (None, _) => {
                return Err(Error::input(
                    "T5 adds no position vectors; it biases attention scores by relative distance",
                    "Ask for relativePositions instead",
                ))
            }
        };
        if n > max {
            return Err(Error::input(format!("{n} positions were asked for but this model has {max}"), format!("Ask for at most {max}")));
        }
        self.family().position_rows(stack, n).map(<[f32]>::to_vec).ok_or_else(|| match self.info().positions {
            Positions::Rotary => Error::input(
                "a rotary model adds no position vectors; it turns each query and key by an angle that grows with the position",
                "Ask for rotaryAngles instead",
            ),
            _ => Error::input(format!("{} adds no position vectors", self.info().model_type), "Ask for relativePositions instead"),
        })
    }

    /// T5's relative position scheme for `stack` over distances `-(n-1)..=n-1`, or MPNet's (its
    /// encoder's bias, added on top of its learned positions).
    pub fn relative_positions(&self, stack: Stack, n: usize) -> Result<RelativePositions> {
        let (table, num_buckets, max_distance, h, bidirectional) = match self {
            Model::T5(m) => (
                m.relative_bias_table(stack == Stack::Decoder), // [buckets][H]
                m.config.relative_attention_num_buckets,
                m.config.relative_attention_max_distance,
                m.config.num_heads,
                stack == Stack::Encoder,
            ),
            Model::Bert(m) if m.relative_bias_table().is_some() => {
                self.check_stack(stack)?;
                let (buckets, distance) = super::bert::MPNET_RELATIVE_BUCKETS;
                (m.relative_bias_table().unwrap_or_default(), buckets, distance, m.config.num_attention_heads, true)
            }
            Model::Deberta(_) => return Err(disentangled_has_no_bias_table()),
            _ => {
                return Err(Error::input(
                    format!("{} positions are not relative; only T5's are (and MPNet adds a relative bias to its learned ones)", self.info().model_type),
                    "Ask for positionVectors instead",
                ))
            }
        };
        crate::loader::limits::check_sequence("relative positions asked for", n)?;
        let n = n.max(1) as i64;
        let distances: Vec<i64> = (-(n - 1)..n).collect();
        let buckets = distances.iter().map(|&d| super::t5::relative_bucket(d, bidirectional, num_buckets, max_distance) as u32).collect();
        let bias = (0..h).flat_map(|head| (0..num_buckets).map(move |b| table[b * h + head])).collect();
        Ok(RelativePositions { num_buckets, max_distance, bidirectional, distances, buckets, n_heads: h, bias })
    }

    /// Rows of `stack`'s token embedding table for `ids`. `[T][C]`
    pub fn token_embeddings(&self, stack: Stack, ids: &[u32]) -> Result<TokenEmbeddings> {
        self.check_stack(stack)?;
        crate::loader::limits::check_sequence("token embeddings asked for", ids.len())?;
        let (table, vocab, scale) = self.family().token_table(stack);
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(Error::input(format!("token id {bad} is outside the vocabulary (ids 0 to {})", vocab.saturating_sub(1)), format!("Use ids below {vocab} (vocab_size)")));
        }
        // A packed table knows its rows' width (opt-350m's are narrower than its position rows).
        let c = match &table {
            TokenTable::Packed(t) => t.d_in,
            TokenTable::Rows(_) => self.family().embedding_width(),
        };
        Ok(TokenEmbeddings { d_model: c, rows: table.gather(c, ids), scale })
    }

    fn check_stack(&self, stack: Stack) -> Result<()> {
        let ok = match self.kind() {
            Kind::DecoderOnly => stack == Stack::Decoder,
            Kind::EncoderOnly => stack == Stack::Encoder,
            Kind::EncoderDecoder => true,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::input(
                format!("this {} model has no {} stack", self.kind().as_str(), stack.as_str()),
                if self.kind() == Kind::DecoderOnly { "A decoder-only model's blocks are the decoder stack" } else { "An encoder-only model's layers are the encoder stack" },
            ))
        }
    }

    /// A rotary model's rotation angles for positions `0..n`: `[N][D/2]` (see [`super::rotary`]).
    pub fn rotary_angles(&self, n: usize) -> Result<super::rotary::RotaryAngles> {
        let rotary = match self {
            Model::Llama(m) => &m.rotary,
            Model::ModernBert(m) => &m.rotary,
            Model::GptNeoX(m) => &m.rotary,
            Model::Phi(m) => &m.rotary,
            _ => {
                return Err(Error::input(
                    format!("{} positions are not rotary; the Llama family's, GPT-NeoX's, Phi's and ModernBERT's are", self.info().model_type),
                    "Ask for positionVectors or relativePositions instead",
                ))
            }
        };
        let max = self.info().max_positions.unwrap_or(n);
        if n > max {
            return Err(Error::input(format!("{n} positions were asked for but this model has {max}"), format!("Ask for at most {max}")));
        }
        // A table for the page, not a tensor of the model: keep it small whatever the config says.
        let cells = n.saturating_mul(rotary.inv_freq.len());
        if cells > MAX_ANGLE_CELLS {
            return Err(Error::input(format!("{n} positions × {} pairs is more than the {MAX_ANGLE_CELLS} angles one table may hold", rotary.inv_freq.len()), "Ask for fewer positions"));
        }
        Ok(rotary.angles(n))
    }

    /// How positions enter the model (for choosing between the two accessors above).
    pub fn position_scheme(&self) -> Positions {
        self.info().positions
    }
}

/// DeBERTa's answer to both position questions: its tokens get no position vectors (deberta-v3), and its
/// relative positions are vectors each layer projects, not a bias per head and bucket.
fn disentangled_has_no_bias_table() -> Error {
    Error::input(
        "DeBERTa adds no position vectors to its tokens and has no bias per head and distance: each layer turns a learned table of relative distances into position keys and queries",
        "Read the table's scheme from the model card (block.disentangled); the attention maps and the Q/K/V trace show what it does",
    )
}

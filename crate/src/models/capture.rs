//! What a forward pass is asked to show and change, and the plain records it hands back: the
//! vocabulary shared by the attention code ([`super::attention`]), every model family and the
//! teaching views ([`super::probe`]). A leaf: it depends on nothing else in `models`, so attention
//! and probing no longer import each other.
//!
//! Tensors whose shape matters are `ndarray` arrays, so the shape travels with the data.

use ndarray::{Array3, Array4};

/// Which attention maps a forward pass should hand back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capture {
    pub probs: bool,  // post-softmax probabilities
    pub scores: bool, // pre-softmax scores (masked entries -inf)
}

impl Capture {
    pub const NONE: Capture = Capture { probs: false, scores: false };
    pub const PROBS: Capture = Capture { probs: true, scores: false };
    pub const ALL: Capture = Capture { probs: true, scores: true };
}

/// Which attention maps a capture keeps: every kind and layer (the default), or fewer. A view shows
/// one layer at a time, and at 1024 tokens the maps of all twelve layers of a GPT-2-small are 600 MB,
/// so the page asks for the layers it shows. Only the keeping is selected: every layer still computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapSelection {
    /// Kinds kept, one bit each (see [`MapSelection::bit`]).
    kinds: u8,
    /// Layers kept: `first..end`; an `end` past the stack's depth means "to its last layer".
    first: usize,
    end: usize,
}

impl Default for MapSelection {
    fn default() -> Self {
        MapSelection::ALL
    }
}

impl MapSelection {
    pub const ALL: MapSelection = MapSelection { kinds: 0b111, first: 0, end: usize::MAX };

    /// Keep `kinds` (all when `None`) at `layers` (all when `None`).
    pub fn new(kinds: Option<&[AttentionKind]>, layers: Option<std::ops::Range<usize>>) -> Self {
        let kinds = kinds.map_or(0b111, |ks| ks.iter().fold(0, |bits, &k| bits | Self::bit(k)));
        let layers = layers.unwrap_or(0..usize::MAX);
        MapSelection { kinds, first: layers.start, end: layers.end }
    }

    fn bit(kind: AttentionKind) -> u8 {
        match kind {
            AttentionKind::Encoder => 1,
            AttentionKind::Decoder => 2,
            AttentionKind::Cross => 4,
        }
    }

    /// The layers of attention `kind` (a stack `n_layers` deep) whose maps are kept; empty when none.
    pub fn layers(&self, kind: AttentionKind, n_layers: usize) -> std::ops::Range<usize> {
        if self.kinds & Self::bit(kind) == 0 {
            return 0..0;
        }
        let end = self.end.min(n_layers);
        self.first.min(end)..end
    }
}

/// The three kinds of attention: an encoder's self-attention, a decoder's causal self-attention
/// (GPT-2's only kind), and an encoder-decoder's cross-attention (decoder queries, encoder keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionKind {
    Encoder,
    Decoder,
    Cross,
}

impl AttentionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttentionKind::Encoder => "encoder",
            AttentionKind::Decoder => "decoder",
            AttentionKind::Cross => "cross",
        }
    }
}

/// Which attention layer to trace step by step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QkvRequest {
    pub kind: AttentionKind,
    pub layer: usize,
}

/// What HF adds to the score of a key that `attention_mask` hides: the most negative f32
/// (`torch.finfo(float32).min`), not -inf, so a row with every key hidden stays uniform, not NaN.
pub const HIDDEN_KEY: f32 = f32::MIN;

/// What one forward pass should show and change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probe {
    /// Attention maps of every layer and head (probs, scores).
    pub capture: Capture,
    /// Which of those maps are kept (default: all).
    pub maps: MapSelection,
    /// HF's `output_hidden_states`, for the encoder and decoder stacks.
    pub hidden_states: bool,
    /// One layer's Q/K/V step-through.
    pub qkv: Option<QkvRequest>,
    pub interventions: Interventions,
    /// Every row of logits (default), or only each row's k likeliest tokens.
    pub logits: super::logits::LogitRows,
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

/// Attention maps for every layer and head of one attention kind: `[L][H][Tq][Tk]`
/// (`maps[[l, h, i, j]]`: how much query `i` of head `h` in layer `l` attends to key `j`).
pub type AttentionMaps = Array4<f32>;

/// The residual stream of one stack: `[L+1][T][C]`: the embeddings output (what the first layer
/// reads), then each layer's output. As in HF, the last entry is after the stack's final norm when
/// it has one (GPT-2's `ln_f`, T5's `final_layer_norm`), so it equals `last_hidden_state`.
pub type HiddenStates = Array3<f32>;

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

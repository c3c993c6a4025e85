//! Glassbox: a transformer playground that runs in the browser (wasm) and on the command line.
//!
//! The core takes bytes in and gives typed results out: no threads, no filesystem.
//!
//! - [`tokenizer`]: tokenizer.json pipelines (byte-level BPE, WordPiece, Unigram) that report their steps
//! - [`models`]: GPT-2, BERT, T5, BART / Marian, with attention capture and generation
//! - [`kernels`]: the math, scalar reference + SIMD128 twins
//! - [`loader`]: config.json / model.safetensors parsing with shape checks
//! - [`session`]: a model and its tokenizer loaded together, the API the CLI and the wasm boundary share
//! - [`card`]: the model card both front ends print
//! - [`plot`]: attention maps rasterised to RGBA (the page's pixels, the CLI's PNG figures)
//! - [`teach`]: numbers the teaching views derive (attention patterns, rollout and flow) and small models
//!   trained for them (an RNN and an LSTM with BPTT, logistic regression)
//!
//! ## Layers
//!
//! Imports run one way, bottom to top, with no cycles (`tests/rust/layering.rs` checks every
//! `crate::` path):
//!
//! ```text
//! wasm (the JS boundary)      main.rs (the CLI)
//!          \                  /
//!  card  session  plot  teach   one API for both front ends: load, inspect, generate, embed;
//!                                 the rasteriser; what the teaching views derive
//!            |
//!          models              families, attention + capture, generation
//!          /    \
//!  tokenizer    loader         tokenizer.json pipelines; config / safetensors parsing, limits
//!          \    /
//!          kernels             the math on contiguous &[f32]
//!   (math, error, rank, rng: leaves any layer may use; math: the transcendental functions
//!    whose bits must not depend on the build)
//! ```
//!
//! Tensors whose shape matters (attention maps `[L][H][Tq][Tk]`, hidden states `[L+1][T][C]`,
//! the Q/K/V trace) are [`ndarray`] arrays; kernels take their contiguous slices.

pub mod card;
pub mod error;
pub mod kernels;
pub mod loader;
pub mod math;
pub mod models;
pub mod plot;
pub mod rank;
pub mod rng;
pub mod session;
pub mod teach;
pub mod tokenizer;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};

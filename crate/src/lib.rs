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

pub mod card;
pub mod error;
pub mod kernels;
pub mod loader;
pub mod models;
pub mod plot;
pub mod rng;
pub mod session;
pub mod teach;
pub mod tokenizer;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};

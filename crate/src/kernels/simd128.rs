//! SIMD128 kernels (wasm32 with `+simd128`). Being written; anything not defined here falls back to scalar.

pub use super::scalar::*;

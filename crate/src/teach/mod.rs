//! Teaching computations drawn by the page's views: numbers derived from a model's captured
//! activations (or small models trained here), never new model code.
//!
//! - [`patterns`]: a score per layer and head for the attention patterns people look for
//! - [`rollout`]: attention rollout and attention flow through the layers (Abnar and Zuidema, 2020)

pub mod patterns;
pub mod rollout;

//! The math kernels live in their own crate (`crate/kernels`, `glassbox-kernels`) so the shipped
//! wasm builds them at opt-level 3 while the rest of Glassbox is optimised for size; this module
//! keeps the path `glassbox::kernels::*` the models and tests use.

pub use glassbox_kernels::*;

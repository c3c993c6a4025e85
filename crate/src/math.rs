//! The transcendental functions whose last bit must not depend on the build: the seeded normals
//! ([`crate::rng`], random weights and the RNN's start) and the RNN trainer ([`crate::teach::rnn`]),
//! whose exploding-gradient runs magnify a one-bit difference into another accuracy.
//!
//! In wasm, Rust's standard library computes `f64::ln` and the rest with its own port of musl's
//! libm (compiler-builtins); natively it calls the platform's (glibc), which differs in the last
//! bit for a few percent of inputs. The native build therefore calls the `libm` crate, the same
//! code, and the wasm build keeps the standard library's copy (no second copy shipped).
//! `tests/wasm/learn.test.mjs` holds the two builds to the same bits.

#[cfg(target_arch = "wasm32")]
mod imp {
    pub fn ln(x: f64) -> f64 {
        x.ln()
    }
    pub fn exp(x: f64) -> f64 {
        x.exp()
    }
    pub fn tanh(x: f64) -> f64 {
        x.tanh()
    }
    pub fn cos(x: f64) -> f64 {
        x.cos()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub use libm::{cos, exp, log as ln, tanh};
}

pub use imp::{cos, exp, ln, tanh};

//! The transcendental functions whose last bit must not depend on the build: everything outside the
//! kernels that the page and the CLI must agree on bit for bit. The seeded normals
//! ([`crate::rng`]: random weights, the RNN's start), the RNN trainer ([`crate::teach::rnn`]), whose
//! exploding-gradient runs magnify a one-bit difference into another accuracy, position tables
//! (sinusoids, rotary angles, relative-position buckets), sampling and beam scores, soft caps.
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
    pub fn sin(x: f64) -> f64 {
        x.sin()
    }
    pub fn pow(x: f64, y: f64) -> f64 {
        x.powf(y)
    }
    pub fn log2(x: f64) -> f64 {
        x.log2()
    }
    pub fn lnf(x: f32) -> f32 {
        x.ln()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub use libm::{cos, exp, log as ln, log2, logf as lnf, pow, sin, tanh};
}

pub use imp::{cos, exp, ln, lnf, log2, pow, sin, tanh};

//! Native decode (M = 1) throughput per weight storage, the dispatched kernel (AVX2 when the CPU has
//! it) against the plain scalar twin, in GB/s of weights read:
//!
//!   cargo run --release -p glassbox-kernels --example native_gemv
//!
//! Prints figures; asserts nothing. Min of 7 runs after warm-up.

use glassbox_kernels::{Layout, Linear, Storage, StoredMatrix};
use std::time::Instant;

fn main() {
    for (k, n, what) in [(768, 3072, "GPT-2 ffn up"), (768, 50257, "GPT-2 LM head")] {
        let mut s = 1u64;
        let w: Vec<f32> = (0..n * k)
            .map(|_| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1
            })
            .collect();
        let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.37).sin()).collect();
        for storage in Storage::ALL {
            let layer = Linear::from_stored(StoredMatrix::F32(w.clone()), Layout::OutIn, k, n, None, Some(storage));
            let bytes = layer.bytes() as f64;
            let mut out = vec![0.0; n];
            let time = |f: &mut dyn FnMut()| {
                for _ in 0..3 {
                    f();
                }
                (0..7).map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64()
                }).fold(f64::INFINITY, f64::min)
            };
            let fast = time(&mut || layer.forward_into(&x, 1, &mut out));
            let twin = time(&mut || layer.forward_scalar_into(&x, 1, &mut out));
            println!("{what:14} K={k} N={n:5} {:5}  dispatched {:6.1} GB/s   scalar twin {:6.1} GB/s", storage.name(), bytes / fast / 1e9, bytes / twin / 1e9);
        }
    }
}

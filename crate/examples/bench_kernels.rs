//! Native kernel benchmarks: the path the CLI and the tests run (the scalar twins, auto-vectorised,
//! compiled a second time with AVX2 and picked at run time when the CPU has it).
//!
//!   cargo run --release --example bench_kernels [-- --quick]
//!
//! Prints min and median ms over several samples after a warm-up, with GFLOP/s for products and
//! GB/s of weights for decoding (M = 1). For reference it also times the plain row-by-row `axpy`
//! product on the unpacked `[K][N]` weights (`matmul_kn`), which is what `Linear` did before its
//! weights were packed into panels. CPU time of the thread on Linux; compare ratios.

use std::hint::black_box;
#[cfg(not(target_os = "linux"))]
use std::time::Instant;

use glassbox::kernels::{self, Layout, Linear, Storage, StoredMatrix};

fn random(len: usize, seed: &mut u64) -> Vec<f32> {
    (0..len)
        .map(|_| {
            *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Seconds of CPU time this thread has used (wall time elsewhere): on a shared machine the wall
/// clock mostly measures the queue.
#[cfg(target_os = "linux")]
fn now() -> f64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: clock_gettime writes one timespec (two 64-bit fields on 64-bit Linux) into `ts`.
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.sec as f64 + ts.nsec as f64 * 1e-9
}

#[cfg(not(target_os = "linux"))]
fn now() -> f64 {
    use std::sync::OnceLock;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Min and median ms of `samples` timed batches of `f` (each batch long enough to time).
fn time(samples: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..3 {
        f();
    }
    let t = now();
    f();
    let once = now() - t;
    let reps = ((0.02 / once.max(1e-7)).ceil() as usize).max(1);
    let mut ms: Vec<f64> = (0..samples)
        .map(|_| {
            let t = now();
            for _ in 0..reps {
                f();
            }
            (now() - t) * 1e3 / reps as f64
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[0], ms[ms.len() / 2])
}

fn report(name: &str, (min, median): (f64, f64), figure: String) {
    println!("{name:<48} {min:>10.3} {median:>10.3}   {figure}");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let samples = if quick { 3 } else { 7 };
    let mut seed = 7u64;
    println!("{:<48} {:>10} {:>10}   figure (at min)", "native kernels (scalar twins)", "min ms", "median ms");

    let gemms: &[(usize, usize, usize)] =
        if quick { &[(1, 384, 384), (16, 384, 384), (128, 384, 384)] } else { &[(1, 384, 384), (16, 384, 384), (128, 384, 384), (128, 384, 1536), (1024, 1024, 1024), (1, 768, 3072), (1, 3072, 768), (1, 1024, 1024)] };
    for &(m, k, n) in gemms {
        let x = random(m * k, &mut seed);
        let w_kn = random(k * n, &mut seed);
        let bias = random(n, &mut seed);
        let layer = Linear::from_in_out(w_kn.clone(), k, n, Some(bias.clone()));
        let mut out = vec![0.0; m * n];
        let flops = 2.0 * (m * k * n) as f64;
        let figure = |ms: f64| {
            if m == 1 { format!("{:6.1} GB/s", 4.0 * (k * n) as f64 / ms / 1e6) } else { format!("{:6.1} GFLOP/s", flops / ms / 1e6) }
        };
        let t = time(samples, || layer.forward_into(black_box(&x), m, black_box(&mut out)));
        report(&format!("Linear (packed)     M={m} K={k} N={n}"), t, figure(t.0));
        let panels = kernels::pack_panels(&w_kn, k, n);
        let mut padded_bias = bias.clone();
        padded_bias.resize(n.div_ceil(kernels::NR) * kernels::NR, 0.0);
        let t = time(samples, || kernels::scalar::gemm_packed(black_box(&x), m, k, &panels, n, &padded_bias, black_box(&mut out)));
        report(&format!("scalar::gemm_packed (no AVX2) M={m} K={k} N={n}"), t, figure(t.0));
        let t = time(samples, || kernels::matmul_kn(black_box(&x), m, k, &w_kn, n, Some(&bias), black_box(&mut out)));
        report(&format!("matmul_kn (unpacked) M={m} K={k} N={n}"), t, figure(t.0));
    }

    println!("avx2 detected: {}", cfg!(target_arch = "x86_64") && {
        #[cfg(target_arch = "x86_64")]
        { std::is_x86_feature_detected!("avx2") }
        #[cfg(not(target_arch = "x86_64"))]
        { false }
    });
    for storage in Storage::ALL {
        for &(m, k, n) in &[(1, 768, 3072), (128, 384, 384)] {
            let x = random(m * k, &mut seed);
            let layer = Linear::from_stored(StoredMatrix::F32(random(k * n, &mut seed)), Layout::OutIn, k, n, Some(random(n, &mut seed)), Some(storage));
            let mut out = vec![0.0; m * n];
            let t = time(samples, || layer.forward_into(black_box(&x), m, black_box(&mut out)));
            let figure = if m == 1 { format!("{:6.1} GB/s", layer.bytes() as f64 / t.0 / 1e6) } else { format!("{:6.1} GFLOP/s", 2.0 * (m * k * n) as f64 / t.0 / 1e6) };
            report(&format!("Linear {} M={m} K={k} N={n}", storage.name()), t, figure);
        }
    }

    let nks: &[(usize, usize, usize)] = if quick { &[(1, 768, 8192)] } else { &[(1, 768, 50257), (128, 768, 8192), (1, 64, 128)] };
    for &(m, k, n) in nks {
        let x = random(m * k, &mut seed);
        let w = random(n * k, &mut seed);
        let mut out = vec![0.0; m * n];
        let t = time(samples, || kernels::matmul_nk(black_box(&x), m, k, &w, n, black_box(&mut out)));
        let figure = if m == 1 { format!("{:6.1} GB/s", 4.0 * (k * n) as f64 / t.0 / 1e6) } else { format!("{:6.1} GFLOP/s", 2.0 * (m * k * n) as f64 / t.0 / 1e6) };
        report(&format!("matmul_nk M={m} K={k} N={n}"), t, figure);
    }

    let (rows, c) = (128, 768);
    let x = random(rows * c, &mut seed);
    let gamma = random(c, &mut seed);
    let beta = random(c, &mut seed);
    let mut y = x.clone();
    let per_elem = |ms: f64, len: usize| format!("{:6.0} M/s", len as f64 / ms / 1e3);
    let t = time(samples, || {
        y.copy_from_slice(&x);
        y.chunks_exact_mut(128).for_each(kernels::softmax);
    });
    report("softmax rows of 128 (x768)", t, per_elem(t.0, rows * c));
    let t = time(samples, || {
        y.copy_from_slice(&x);
        kernels::layer_norm(&mut y, &gamma, &beta, 1e-5);
    });
    report("layer_norm 128 x 768", t, per_elem(t.0, rows * c));
    let big = random(128 * 3072, &mut seed);
    let mut z = big.clone();
    for (name, f) in [("gelu_erf", kernels::gelu_erf as fn(&mut [f32])), ("gelu_tanh", kernels::gelu_tanh)] {
        let t = time(samples, || {
            z.copy_from_slice(&big);
            f(&mut z);
        });
        report(&format!("{name} 128 x 3072"), t, per_elem(t.0, big.len()));
    }
}

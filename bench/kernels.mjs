// Kernel benchmarks in Node: the SIMD128 kernels and their scalar twins, side by side in one run.
//
//   scripts/build-wasm.sh --with-checks && node bench/kernels.mjs [--quick] [--wall] [--only=SUBSTRING]
//       [--build=relaxed|simd128] [--against=DIR|FILE.wasm]
//
// `--build=`: which of pkg-checks/'s two builds is "this" one (bench/wasm-build.mjs; relaxed SIMD by default).
// `--against=DIR` times a second build (DIR holds its glassbox.js and glassbox_bg.wasm, e.g. a copy
// of pkg-checks/ from before a change; or a .wasm file beside its glue, e.g. pkg-checks/glassbox_bg.wasm for the
// SIMD128 build against the relaxed one) instead of the scalar twins: this build's SIMD kernels and the other
// build's, interleaved A B A B in one process, the ratio printed as the speed-up.
//
// Operands live in wasm memory (`KernelBench`), so the timings are the kernels', not copies across
// the boundary. Each case is warmed up (>= 10 calls: V8 tiers up from Liftoff to TurboFan), then
// SIMD and scalar samples are interleaved (A B A B) and the min and median are printed with
// GFLOP/s (products) or GB/s of weights read (decoding, M = 1) and the SIMD / scalar speed-up.
// A benchmark prints figures; it asserts nothing. Compare ratios: the machine is shared.

import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chosenBuild, relaunchForBuild, loadBuild } from './wasm-build.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// pkg-checks/: the shipped kernels plus the checks and KernelBench (scripts/build-wasm.sh --with-checks), in the
// build --build= names (bench/wasm-build.mjs; relaxed SIMD by default).
const BUILD = chosenBuild(process.argv, join(ROOT, 'pkg-checks'));
relaunchForBuild(BUILD);
const { api: glassbox } = await loadBuild(join(ROOT, 'pkg-checks'), BUILD, 'this');

const againstArg = process.argv.find((a) => a.startsWith('--against='));
let other = null;
if (againstArg) {
  // A folder (its glassbox_bg.wasm: the SIMD128 build) or a .wasm file, e.g. pkg-checks/glassbox_bg.wasm.
  other = (await loadBuild(againstArg.slice(10), 'simd128', 'other')).api;
}

const quick = process.argv.includes('--quick');
const rowsArg = process.argv.find((a) => a.startsWith('--rows='));
if (rowsArg) {
  glassbox.bench_set_prefill_rows(Number(rowsArg.slice(7)));
  other?.bench_set_prefill_rows?.(Number(rowsArg.slice(7)));
}
const only = (process.argv.find((a) => a.startsWith('--only=')) || '').slice(7);
const SAMPLES = Number((process.argv.find((a) => a.startsWith('--samples=')) || '').slice(10)) || (quick ? 3 : 7);
const WARMUP_CALLS = 10;
const MIN_SAMPLE_MS = quick ? 5 : 20;

// [name, kind, M, K, N, what the figure is]
const CASES = [
  ['peak  independent f32x4 mul+add', 'peak', 1, 1 << 22, 0, 'gflops'],
  ['stream sum of 64 MiB            ', 'stream', 1, 1 << 24, 0, 'gbs'],
  ['stream sum of 64 MiB, two halves side by side', 'stream', 2, 1 << 24, 0, 'gbs'],
  ['GEMM  M=1    K=N=384 ', 'linear', 1, 384, 384, 'gbs'],
  ['GEMM  M=16   K=N=384 ', 'linear', 16, 384, 384, 'gflops'],
  ['GEMM  M=128  K=N=384 ', 'linear', 128, 384, 384, 'gflops'],
  ['GEMM  M=128  K=384 N=1536', 'linear', 128, 384, 1536, 'gflops'],
  ['GEMM  M=128  K=384 N=49152 (72 MB: from memory, not cache)', 'linear', 128, 384, 49152, 'gflops'],
  ['GEMM  1024^3         ', 'linear', 1024, 1024, 1024, 'gflops'],
  // Long K at many rows (GPT-2's MLP down in a 128-token prefill): K-blocks and partial sums.
  ['GEMM  M=128  K=3072 N=768', 'linear', 128, 3072, 768, 'gflops'],
  ['GEMM  M=128  K=768 N=768', 'linear', 128, 768, 768, 'gflops'],
  // A short prompt through long-K projections (GPT-2's MLP down, a 7B Llama's): prefill with few
  // rows takes each panel's whole K in one block, and these show whether that still pays at K = 11,008.
  ['GEMM  M=16   K=3072 N=768', 'linear', 16, 3072, 768, 'gflops'],
  // MiniLM's FFN at 16 tokens, its weights in cache and from memory (72 MB, past this machine's
  // share of the last-level cache): how much of a short sentence's time is waiting for weights.
  ['GEMM  M=16   K=384 N=1536', 'linear', 16, 384, 1536, 'gflops'],
  ['GEMM  M=16   K=384 N=49152 (72 MB: from memory, not cache)', 'linear', 16, 384, 49152, 'gflops'],
  ['GEMM  bf16 M=16 K=11008 N=4096', 'linear:bf16', 16, 11008, 4096, 'gflops'],
  ['GEMM  bf16 M=32 K=11008 N=4096', 'linear:bf16', 32, 11008, 4096, 'gflops'],
  ['GEMV  M=1 K=768 N=3072', 'linear', 1, 768, 3072, 'gbs'],
  ['GEMV  M=1 K=3072 N=768', 'linear', 1, 3072, 768, 'gbs'],
  ['GEMV  M=1 K=N=1024   ', 'linear', 1, 1024, 1024, 'gbs'],
  ['GEMV  bf16 M=1 K=768 N=3072', 'linear:bf16', 1, 768, 3072, 'gbs'],
  ['GEMV  f16  M=1 K=768 N=3072', 'linear:f16', 1, 768, 3072, 'gbs'],
  ['GEMV  int8 M=1 K=768 N=3072', 'linear:int8', 1, 768, 3072, 'gbs'],
  ['GEMV  f32  M=1 K=768 N=50257 (LM head as a Linear)', 'linear', 1, 768, 50257, 'gbs'],
  ['GEMV  bf16 M=1 K=768 N=50257', 'linear:bf16', 1, 768, 50257, 'gbs'],
  ['GEMV  f16  M=1 K=768 N=50257', 'linear:f16', 1, 768, 50257, 'gbs'],
  ['GEMV  int8 M=1 K=768 N=50257', 'linear:int8', 1, 768, 50257, 'gbs'],
  ['GEMM  bf16 M=128 K=N=384', 'linear:bf16', 128, 384, 384, 'gflops'],
  ['GEMM  int8 M=128 K=N=384', 'linear:int8', 128, 384, 384, 'gflops'],
  ['nk    M=1 K=768 N=50257 (GPT-2 tied LM head, decode)', 'nk', 1, 768, 50257, 'gbs'],
  ['nk    M=128 K=768 N=8192 (LM head, prefill)', 'nk', 128, 768, 8192, 'gflops'],
  ['nk    M=1 K=64 N=128 (attention scores)', 'nk', 1, 64, 128, 'gflops'],
  // Whole-text attention (scores, softmax, weighted values; nothing captured): M tokens, K heads of N.
  ['attention 128 tokens, 12 heads of 32 (MiniLM)', 'attention', 128, 12, 32, 'gflops'],
  ['attention 512 tokens, 12 heads of 64 (BERT-base, GPT-2)', 'attention', 512, 12, 64, 'gflops'],
  ['softmax   128 rows x 128', 'softmax', 128, 128, 0, 'melems'],
  ['layer_norm 128 rows x 768', 'layer_norm', 128, 768, 0, 'melems'],
  ['gelu_erf  128 x 3072   ', 'gelu_erf', 128, 3072, 0, 'melems'],
  ['gelu_tanh 128 x 3072   ', 'gelu_tanh', 128, 3072, 0, 'melems'],
];

// CPU time of this process (user + system) rather than wall time: on a machine shared with other
// jobs, wall time mostly measures the queue. `--wall` switches to wall time.
const useWall = process.argv.includes('--wall');
// `path` is 'simd', 'scalar' or (with --against) 'other': the other build's SIMD kernels.
function timeCall(bench, path, reps) {
  const run = () => (path === 'other' ? bench.other.run(true, reps) : bench.run(path === 'simd', reps));
  if (useWall) {
    const t0 = performance.now();
    run();
    return (performance.now() - t0) / reps;
  }
  const c0 = process.cpuUsage();
  run();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e3 / reps;
}

function figure(kind, bench, ms) {
  const s = ms / 1e3;
  if (kind === 'gflops') return `${(bench.flops() / s / 1e9).toFixed(1).padStart(6)} GFLOP/s`;
  if (kind === 'gbs') return `${(bench.bytes() / s / 1e9).toFixed(1).padStart(6)} GB/s   `;
  return `${(bench.flops() / s / 1e6).toFixed(0).padStart(6)} M/s    `;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`glassbox kernels, ${BUILD === 'relaxed' ? 'relaxed-SIMD' : 'SIMD128'} build (${glassbox.kernels_simd128() ? 'SIMD on' : 'scalar only'})${other ? `, against ${againstArg.slice(10)}` : ''}; ${SAMPLES} samples each after ${WARMUP_CALLS} warm-up calls; ${useWall ? 'wall' : 'CPU'} time; Node ${process.version}`);
console.log('case'.padEnd(52), 'path    ', 'min ms'.padStart(9), 'median ms'.padStart(10), '  figure (at min)     speed-up');
for (const [name, kind, m, k, n, unit] of CASES) {
  if (quick && m * k * Math.max(n, 1) > 2e8 && !['peak', 'stream'].includes(kind)) continue;
  if (only && !name.includes(only)) continue;
  // Attention runs the build's own kernels whatever the path: it has no scalar twin to compare with.
  if (kind === 'attention' && !other) {
    console.log(name.padEnd(52), 'skipped: one build has no scalar attention to set beside it (use --against=DIR)');
    continue;
  }
  const bench = new glassbox.KernelBench(kind, m, k, n, 7);
  const second = other ? 'other' : 'scalar';
  if (other) bench.other = new other.KernelBench(kind, m, k, n, 7);
  for (let i = 0; i < WARMUP_CALLS; i++) {
    timeCall(bench, 'simd', 1);
    timeCall(bench, second, 1);
  }
  // Repeat cheap kernels inside one sample so timer resolution does not matter.
  const once = Math.min(timeCall(bench, 'simd', 1), timeCall(bench, second, 1));
  const reps = Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(once, 1e-3)));
  const times = { simd: [], [second]: [] };
  for (let s = 0; s < SAMPLES; s++) {
    times.simd.push(timeCall(bench, 'simd', reps));
    times[second].push(timeCall(bench, second, reps));
  }
  const best = { simd: Math.min(...times.simd), [second]: Math.min(...times[second]) };
  for (const path of ['simd', second]) {
    const speedup = path === 'simd' ? `x${(best[second] / best.simd).toFixed(2)}` : '';
    console.log(
      (path === 'simd' ? name : '').padEnd(52),
      path.padEnd(8),
      best[path].toFixed(3).padStart(9),
      median(times[path]).toFixed(3).padStart(10),
      ' ',
      figure(unit, bench, best[path]),
      speedup,
    );
  }
  if (other) bench.other.free();
  bench.free();
}

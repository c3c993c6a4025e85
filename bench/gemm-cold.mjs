// One GEMM shape with its weights cold (40 matrices used in turn, about 100 MB: none is in the core's caches
// when its turn comes) against the same product with one matrix used again and again (hot), for several builds
// side by side. What this shows: the price of bringing the weights in, which a forward pass on a few tokens pays
// in full (all-MiniLM-L6-v2 at 16 tokens reads 42 MB of f32 weights once).
//
//   node bench/gemm-cold.mjs DIR [DIR ...]        (each DIR: a build with the benchmark handles, e.g. pkg-checks/
//                                                  after scripts/build-wasm.sh --with-checks, or a copy of it)
//   SHAPE=16,1536,384 node bench/gemm-cold.mjs DIR (M,K,N; default 16,384,1536, MiniLM's feed-forward up)
//
// Prints GFLOP/s, best of 15 rounds, builds interleaved. 2026-12-07 on this machine's kind: 16x384x1536 cold
// 29-30, hot 38-40; the same with prefill's `touch` left out, or with the next panels read one byte per k step
// inside the tile loop instead, their pages touched two steps ahead, or the steps taken from four far-apart parts
// of the matrix in turn (four prefetch streams, not one): within 2% of each other (noise).
// Asserts nothing.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error('usage: node bench/gemm-cold.mjs DIR [DIR ...] (each with glassbox.js and glassbox_bg.wasm, built --with-checks)');
  process.exit(1);
}
const [M, K, N] = (process.env.SHAPE || '16,384,1536').split(',').map(Number);
const MATRICES = 40;
const builds = [];
for (const d of dirs) {
  // The query string makes each DIR its own module instance, even when one is listed twice.
  const g = await import(`${pathToFileURL(join(resolve(d), 'glassbox.js')).href}?${builds.length}`);
  g.initSync({ module: readFileSync(join(resolve(d), 'glassbox_bg.wasm')) });
  builds.push({ d, many: Array.from({ length: MATRICES }, (_, i) => new g.KernelBench('linear', M, K, N, i + 1)) });
}
const flops = builds[0].many[0].flops();
const time = (f) => { const t = performance.now(); f(); return performance.now() - t; };
for (let w = 0; w < 3; w++) for (const b of builds) { for (const kb of b.many) kb.run(true, 1); b.many[0].run(true, 50); }
const best = builds.map(() => ({ cold: Infinity, hot: Infinity }));
for (let s = 0; s < 15; s++) {
  builds.forEach((b, i) => {
    best[i].cold = Math.min(best[i].cold, time(() => { for (const kb of b.many) kb.run(true, 1); }) / MATRICES);
    best[i].hot = Math.min(best[i].hot, time(() => b.many[0].run(true, 40)) / 40);
  });
}
const gf = (ms) => (flops / ms / 1e6).toFixed(1);
builds.forEach((b, i) => console.log(`${b.d}  M=${M} K=${K} N=${N}: cold ${gf(best[i].cold)} GFLOP/s, hot ${gf(best[i].hot)} GFLOP/s`));

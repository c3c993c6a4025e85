// The GEMVs of one GPT-2-small decoding step alone, in decode order (12 layers x 4 matrices, then the
// 768 x 50,257 LM head), per storage, each its own weights (so they stream from memory as in a real
// step), timed with nothing else between them. Beside `bench/decode-ab.mjs` it tells the matrix
// products' share of a token from the rest. Weights are uniform in [-1, 1) (`KernelBench`), not the
// model's init: a difference between the two can come from the values (as f16's subnormal weights did).
//
//   node bench/decode-gemvs.mjs [DIR]     (DIR holds glassbox.js and glassbox_bg.wasm; default pkg-checks/, from scripts/build-wasm.sh --with-checks)
import { readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = resolve(process.argv[2] || join(dirname(fileURLToPath(import.meta.url)), '..', 'pkg-checks'));
const g = await import(pathToFileURL(join(dir, 'glassbox.js')).href);
g.initSync({ module: readFileSync(join(dir, 'glassbox_bg.wasm')) });
const shapes = [[768, 2304], [768, 768], [768, 3072], [3072, 768]]; // [K, N]: qkv, attention out, MLP up, MLP down
const models = {};
for (const st of ['f32', 'f16', 'bf16', 'int8']) {
  const mats = [];
  for (let l = 0; l < 12; l++) for (const [k, n] of shapes) mats.push({ k, n, b: new g.KernelBench(st === 'f32' ? 'linear' : `linear:${st}`, 1, k, n, l * 10 + n) });
  mats.push({ k: 768, n: 50257, b: new g.KernelBench(st === 'f32' ? 'linear' : `linear:${st}`, 1, 768, 50257, 99) });
  for (const m of mats) m.b.run(true, 3); // warm-up: V8 tiers up
  models[st] = mats;
}
// Rounds interleave the storages; the least wall time of a whole step is kept with its split by shape.
const best = {};
for (let round = 0; round < 8; round++) {
  for (const [st, mats] of Object.entries(models)) {
    const byShape = {};
    const t0 = performance.now();
    for (const m of mats) {
      const a = performance.now();
      m.b.run(true, 1);
      const key = `${m.k}x${m.n}`;
      byShape[key] = (byShape[key] || 0) + performance.now() - a;
    }
    const total = performance.now() - t0;
    if (!best[st] || total < best[st].total) best[st] = { total, byShape };
  }
}
for (const [st, r] of Object.entries(best)) {
  console.log(`${st.padEnd(5)} ${r.total.toFixed(2).padStart(6)} ms  ${Object.entries(r.byShape).map(([k, v]) => `${k} ${v.toFixed(2)}`).join('  ')}`);
}

// all-MiniLM-L6-v2 forward passes of several builds of Glassbox, interleaved in one process (A B A B), so a
// kernel change is judged by a ratio measured side by side on a shared machine.
//
//   node bench/minilm-ab.mjs DIR [DIR ...]      (each DIR holds a build's glassbox.js and glassbox_bg.wasm,
//                                                e.g. pkg-checks/ and a copy of it from before a change:
//                                                builds with the benchmark handles, scripts/build-wasm.sh --with-checks)
//
// Prints, at 16 and 128 tokens (TOKENS=16,128,512 in the environment for others), the minimum CPU milliseconds of 20 forward passes per build (SAMPLES=N for
// more) after at least 3 s of warm-up (no attention captured; CAPTURE=1 in the environment captures it, as
// the page does). The first build listed reads slower in its slot whatever it is (20 against 15 ms at 16
// tokens for the same build listed twice), so list a throwaway build first. Needs models/extra/all-minilm-l6-v2 (scripts/fetch-minilm.sh). Asserts nothing.

import { readFileSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const modelDir = join(ROOT, 'models', 'extra', 'all-minilm-l6-v2');
if (!existsSync(join(modelDir, 'model.safetensors'))) {
  console.error(`${modelDir} is missing: run scripts/fetch-minilm.sh first`);
  process.exit(1);
}
const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: node bench/minilm-ab.mjs DIR [DIR ...] (each with glassbox.js and glassbox_bg.wasm)');
  process.exit(1);
}
const cpuMs = (f) => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e3;
};

const CAPTURE = process.env.CAPTURE === '1';
const SAMPLES = Number(process.env.SAMPLES) || 20;
const runs = [];
for (const d of dirs) {
  // The query string makes each DIR its own module instance, even when one is listed twice.
  const glassbox = await import(`${pathToFileURL(join(resolve(d), 'glassbox.js')).href}?${runs.length}`);
  glassbox.initSync({ module: readFileSync(join(resolve(d), 'glassbox_bg.wasm')) });
  const model = new glassbox.BenchModel(readFileSync(join(modelDir, 'config.json')), readFileSync(join(modelDir, 'model.safetensors')), '', 0);
  runs.push({ d, model });
}
for (const tokens of (process.env.TOKENS || '16,128').split(",").map(Number)) {
  // Arbitrary ids inside the vocabulary, between [CLS] and [SEP].
  const ids = Uint32Array.from({ length: tokens }, (_, i) => ((i * 7919 + 104729) % 20000) + 1000);
  ids[0] = 101;
  ids[tokens - 1] = 102;
  const best = runs.map(() => Infinity);
  // At least 3 s of warm-up (and ten passes each): with fewer, the first builds listed were still on V8's
  // baseline code for part of their samples (25 against 13 ms at 16 tokens).
  const warm = performance.now();
  for (let i = 0; i < 10 || performance.now() - warm < 3000; i++) runs.forEach((r) => r.model.forward(ids, CAPTURE));
  for (let s = 0; s < SAMPLES; s++) runs.forEach((r, i) => { best[i] = Math.min(best[i], cpuMs(() => r.model.forward(ids, CAPTURE))); });
  console.log(`${tokens} tokens:`, runs.map((r, i) => `${r.d} ${best[i].toFixed(2)} ms`).join('   '));
}

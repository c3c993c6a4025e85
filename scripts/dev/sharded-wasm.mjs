// Development only (not run by any test):
//   node scripts/dev/sharded-wasm.mjs ONE_FILE_DIR SHARDED_DIR   (e.g. the folders scripts/dev/real_size_files.py --shard-size makes)
// A real-size sharded folder through the wasm with readers (as the page's worker hands picked shards over),
// against the same model from its one file (also through readers).
import { readFileSync, openSync, readSync, fstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
const [one, sharded] = process.argv.slice(2);
const g = await import(new URL('../../pkg/glassbox.js', import.meta.url).href);
await g.default({ module_or_path: readFileSync(new URL('../../pkg/glassbox_bg.wasm', import.meta.url)) });
const reader = (path) => {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  return { size, read: (offset, length) => { const b = new Uint8Array(length); readSync(fd, b, 0, length, offset); return b; } };
};
const load = (dir, weights) => g.WasmModel.load(readFileSync(join(dir, 'config.json')), weights, readFileSync(join(dir, 'tokenizer.json')), null, null, null, {});
const text = 'The quick brown fox jumps over the lazy dog, and then it runs away.';
let t = performance.now();
const a = load(one, reader(join(one, 'model.safetensors')));
const ta = performance.now() - t;
const la = a.run(text, { logits: true, topK: 0 }).logits;
a.free();
const index = new Uint8Array(readFileSync(join(sharded, 'model.safetensors.index.json')));
const shards = Object.fromEntries(readdirSync(sharded).filter((n) => /^model-.*\.safetensors$/.test(n)).map((n) => [n, reader(join(sharded, n))]));
t = performance.now();
const b = load(sharded, { index, shards });
const tb = performance.now() - t;
const lb = b.run(text, { logits: true, topK: 0 }).logits;
const da = la.data ?? la, db = lb.data ?? lb;
let same = da.length === db.length && da.every((v, i) => Object.is(v, db[i]));
console.log(`one file: ${(ta / 1000).toFixed(1)} s; ${Object.keys(shards).length} shards: ${(tb / 1000).toFixed(1)} s; logits ${same ? 'identical' : 'DIFFER'} (${da.length} values); rss ${(process.memoryUsage().rss / 1e9).toFixed(2)} GB; card sizeBytes ${b.info().sizeBytes}`);

// Tokenizer loading and tokenizing in several builds of Glassbox, interleaved in one process (A B A B), so a
// build setting (the wasm profile's opt-level, say) is judged by a ratio measured side by side.
//
//   node bench/tokenize-ab.mjs DIR [DIR ...]      (each DIR holds a build's glassbox.js and glassbox_bg.wasm,
//                                                  e.g. pkg/ and a copy of pkg/ from before a change)
//
// For the real GPT-2 and BERT-uncased tokenizers (models/tokenizers, made by scripts/make-real-tokenizers.mjs)
// prints the least wall-clock milliseconds of 6 rounds: loading tokenizer.json, and tokenizing the GPT-2 model
// card's held-out text repeated 8 times (about 60,000 characters). Asserts nothing.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const dirs = process.argv.slice(2).map((d) => resolve(d));
if (dirs.length === 0) {
  console.error('usage: node bench/tokenize-ab.mjs DIR [DIR ...] (each with glassbox.js and glassbox_bg.wasm)');
  process.exit(1);
}
const files = {
  'GPT-2': join(ROOT, 'models', 'tokenizers', 'gpt2', 'tokenizer.json'),
  'BERT uncased': join(ROOT, 'models', 'tokenizers', 'bert-base-uncased', 'tokenizer.json'),
};
for (const f of Object.values(files)) {
  if (!existsSync(f)) {
    console.error(`${f} is missing: run node scripts/make-real-tokenizers.mjs first`);
    process.exit(1);
  }
}
const text = readFileSync(join(ROOT, 'models', 'glassbox-gpt2', 'heldout.txt'), 'utf8').repeat(8);

const builds = [];
for (const dir of dirs) {
  const glassbox = await import(join(dir, 'glassbox.js'));
  glassbox.initSync({ module: readFileSync(join(dir, 'glassbox_bg.wasm')) });
  builds.push(glassbox);
}
const bytes = Object.fromEntries(Object.entries(files).map(([name, f]) => [name, readFileSync(f)]));
const best = dirs.map(() => Object.fromEntries(Object.keys(files).flatMap((n) => [[`${n} load`, Infinity], [`${n} tokenize`, Infinity]])));
for (let round = 0; round < 6; round++) {
  builds.forEach((glassbox, i) => {
    for (const [name, json] of Object.entries(bytes)) {
      let t = performance.now();
      const tokenizer = glassbox.WasmTokenizer.load(json);
      best[i][`${name} load`] = Math.min(best[i][`${name} load`], performance.now() - t);
      t = performance.now();
      tokenizer.tokenize(text, undefined);
      best[i][`${name} tokenize`] = Math.min(best[i][`${name} tokenize`], performance.now() - t);
      tokenizer.free();
    }
  });
}
console.log(`least ms of 6 rounds; tokenize = ${text.length.toLocaleString('en')} characters`);
dirs.forEach((dir, i) => {
  console.log(dir);
  for (const [what, ms] of Object.entries(best[i])) {
    const ratio = i > 0 ? `  x${(ms / best[0][what]).toFixed(2)} of the first` : '';
    console.log(`  ${what.padEnd(22)} ${ms.toFixed(1).padStart(8)} ms${ratio}`);
  }
});

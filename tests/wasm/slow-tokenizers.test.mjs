// Folders with a slow tokenizer's files and no tokenizer.json (BERT's vocab.txt, GPT-2's and RoBERTa's vocab.json and
// merges.txt), through the page's path: the worker finds them, the engine builds the tokenizer as transformers 5
// does (slowTokenizerJson), and the ids equal transformers' (tests/fixtures/slow_tokenizers, written by
// scripts/fixtures/slow_tokenizers.py). From files and from a served folder, with a model whose vocabulary the
// slow files hold (the bert and gpt2 fixtures' weights).
//
//   scripts/build-wasm.sh && node --test tests/wasm/slow-tokenizers.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SLOW = join(ROOT, 'tests', 'fixtures', 'slow_tokenizers');
const MODELS = join(ROOT, 'tests', 'fixtures', 'models');
// (slow case, the model fixture whose weights go with its vocabulary, the slow files)
const CASES = [['bert', 'bert', ['vocab.txt']], ['gpt2', 'gpt2', ['vocab.json', 'merges.txt']]];

let gb;
let server;
let served;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg', 'glassbox.js')), 'pkg/ is missing: build it with scripts/build-wasm.sh');
  const { Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href);
  gb = await Glassbox.create({ worker: new NodeWorker() });
  served = mkdtempSync(join(tmpdir(), 'glassbox-slow-'));
  for (const [slow, model, names] of CASES) {
    mkdirSync(join(served, slow));
    for (const f of ['config.json', 'model.safetensors']) cpSync(join(MODELS, model, f), join(served, slow, f));
    for (const f of names) cpSync(join(SLOW, slow, f), join(served, slow, f));
  }
  const { createGlassboxServer } = await import(pathToFileURL(join(ROOT, 'scripts', 'serve.mjs')).href);
  server = createGlassboxServer({ modelsDir: served });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(() => {
  gb?.terminate();
  server?.close();
  if (served) rmSync(served, { recursive: true, force: true });
});

async function check(model, slow, how) {
  const reference = JSON.parse(readFileSync(join(SLOW, slow, 'reference.json'), 'utf8'));
  for (const row of reference.encode) {
    const tokens = await model.tokenize(row.text);
    assert.deepEqual(Array.from(tokens.ids), row.ids, `${slow} (${how}): ids of ${JSON.stringify(row.text)}`);
    assert.deepEqual(tokens.tokens, row.tokens, `${slow} (${how}): tokens of ${JSON.stringify(row.text)}`);
  }
}

test('a picked folder with a slow tokenizer\'s files tokenizes as transformers does', async () => {
  for (const [slow, model, names] of CASES) {
    const files = {};
    for (const f of ['config.json', 'model.safetensors']) files[`folder/${f}`] = new Blob([readFileSync(join(MODELS, model, f))]);
    for (const f of names) files[`folder/${f}`] = new Blob([readFileSync(join(SLOW, slow, f))]);
    const loaded = await gb.loadModel({ files });
    await check(loaded, slow, 'files');
    const run = await loaded.run('The quick brown fox.');
    assert.ok(run.tokens.ids.length > 0);
    await loaded.free();
  }
});

test('a served folder with a slow tokenizer\'s files loads with its index and without one', async () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const index = await (await fetch(`${base}/models/index.json`)).json();
  for (const [slow] of CASES) {
    const entry = index.models.find((m) => m.name === slow);
    const listed = await gb.loadModel({ baseUrl: `${base}/${entry.path}`, files: entry.files });
    await check(listed, slow, 'URL with index');
    await listed.free();
    const bare = await gb.loadModel({ baseUrl: `${base}/${entry.path}` });
    await check(bare, slow, 'URL without index');
    await bare.free();
  }
});

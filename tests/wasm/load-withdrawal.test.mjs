// Loads from a folder URL that should stop early: a load withdrawn by its AbortSignal (the page withdraws the
// load its user replaced) stops downloading and builds nothing, and a folder whose small files are wrong is
// refused before its weights are downloaded at all.
//
//   scripts/build-wasm.sh && node --test tests/wasm/load-withdrawal.test.mjs
//
// The folders are served by a server of this test's own that logs each request and how much of each body it
// sent, and sends model.safetensors slowly, so "stopped downloading" is something the server saw.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'models');
const CHUNK = 4096;          // model.safetensors goes out this many bytes at a time…
const CHUNK_EVERY_MS = 20;   // …this often: a fixture of ~100 KB takes about half a second

const gpt2 = readdirSync(FIXTURES).find((n) => {
  try {
    return JSON.parse(readFileSync(join(FIXTURES, n, 'config.json'), 'utf8')).model_type === 'gpt2';
  } catch {
    return false;
  }
});
const folderFiles = (name) => Object.fromEntries(['config.json', 'tokenizer.json', 'model.safetensors']
  .map((f) => [f, readFileSync(join(FIXTURES, name, f))]));

// name -> { file -> bytes }; each request is logged as { path, sent, closedEarly }.
const folders = new Map();
const requests = [];
let server;
let base;
let gb;

before(async () => {
  assert.ok(gpt2, 'no GPT-2 reference fixture');
  const original = folderFiles(gpt2);
  folders.set('whole', original);
  // Another model's tokenizer by its eos: the folder's generation settings end text with a token this tokenizer
  // lacks (GPT-2's 50256 beside a tiny vocabulary), as a BERT tokenizer beside a GPT-2's weights does.
  folders.set('other-tokenizer', { ...original, 'generation_config.json': Buffer.from('{"eos_token_id": 50256}') });
  folders.set('broken-tokenizer', { ...original, 'tokenizer.json': Buffer.from('{"model": {"type": "BPE", "vocab": ') });
  const quantized = JSON.parse(original['config.json']);
  quantized.quantization_config = { quant_method: 'gptq', bits: 4 };
  folders.set('quantized', { ...original, 'config.json': Buffer.from(JSON.stringify(quantized)) });

  server = createServer((req, res) => {
    const [, folder, file] = decodeURIComponent(new URL(req.url, 'http://x').pathname).split('/');
    const bytes = folders.get(folder)?.[file];
    const entry = { path: `${folder}/${file}`, sent: 0, closedEarly: false };
    requests.push(entry);
    if (!bytes) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
    if (file !== 'model.safetensors') {
      entry.sent = bytes.length;
      res.end(bytes);
      return;
    }
    const timer = setInterval(() => {
      const next = bytes.subarray(entry.sent, entry.sent + CHUNK);
      entry.sent += next.length;
      if (entry.sent >= bytes.length) {
        clearInterval(timer);
        res.end(next);
      } else {
        res.write(next);
      }
    }, CHUNK_EVERY_MS);
    res.on('close', () => {
      clearInterval(timer);
      if (entry.sent < bytes.length) entry.closedEarly = true;
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  const { Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href);
  gb = await Glassbox.create({ worker: new NodeWorker() });
});

after(() => {
  gb?.terminate();
  server?.close();
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('a withdrawn load stops its download, rejects with the signal\'s reason and leaves the worker working', async () => {
  const size = folders.get('whole')['model.safetensors'].length;
  assert.ok(size > 20 * CHUNK, `the fixture's weights (${size} bytes) are large enough to withdraw a load mid-download`);
  const withdrawal = new AbortController();
  let weightsSeen = 0;
  const loading = gb.loadModel({ baseUrl: `${base}/whole/` }, {
    signal: withdrawal.signal,
    onProgress: (p) => {
      if (p.file === 'model.safetensors' && p.loaded > 0 && ++weightsSeen === 1) withdrawal.abort();
    },
  });
  await assert.rejects(loading, (err) => err.name === 'AbortError');
  assert.equal(weightsSeen >= 1, true, 'the weights had started to arrive');
  // The server sees the connection go before the file was sent.
  const download = requests.findLast((r) => r.path === 'whole/model.safetensors');
  for (let i = 0; i < 100 && !download.closedEarly && download.sent < size; i++) await sleep(20);
  assert.ok(download.closedEarly, `the download was cut off (${download.sent} of ${size} bytes sent)`);

  // A reason given to abort() is what the load rejects with.
  const reasoned = new AbortController();
  reasoned.abort(new Error('the reader picked another model'));
  await assert.rejects(gb.loadModel({ baseUrl: `${base}/whole/` }, { signal: reasoned.signal }), /the reader picked another model/);

  // The worker goes on: the same folder loads whole and runs.
  const model = await gb.loadModel({ baseUrl: `${base}/whole/` }, { signal: new AbortController().signal });
  const run = await model.run('Hello world');
  assert.ok(run.tokens.ids.length > 0);
  await model.free();
});

test('a signal that is not an AbortSignal is named', async () => {
  await assert.rejects(gb.loadModel({ baseUrl: `${base}/whole/` }, { signal: { aborted: false } }), /load options: signal: must be an AbortSignal/);
});

test('another model\'s tokenizer, a broken tokenizer and a quantized config are refused before the weights are downloaded', async () => {
  const cases = [
    ['other-tokenizer', /tokenizer\.json: .*ends its text with token 50256.*another model's tokenizer/],
    ['broken-tokenizer', /tokenizer\.json/],
    ['quantized', /quantization_config.*gptq, 4 bits/],
  ];
  for (const [folder, message] of cases) {
    await assert.rejects(gb.loadModel({ baseUrl: `${base}/${folder}/` }), message, folder);
    assert.ok(requests.some((r) => r.path === `${folder}/config.json`), `${folder}: config.json was asked for`);
    assert.ok(!requests.some((r) => r.path === `${folder}/model.safetensors`), `${folder}: model.safetensors was never asked for`);
  }
});

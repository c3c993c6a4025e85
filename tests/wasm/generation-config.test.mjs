// generation_config.json through the wasm boundary and the JS API (issue 10, part 2):
//
//   scripts/build-wasm.sh && node --test tests/wasm/generation-config.test.mjs
//
// For every checkpoint fixture that carries a generation_config.json (tests/fixtures/checkpoints/, written by
// scripts/fixtures/checkpoints.py and the config sampler from transformers), `generate` with no decoding options
// takes the file's settings (greedy or beam search, lengths, penalties, forced and banned tokens) and gives
// exactly the ids Hugging Face's `model.generate` stored in reference.json, and the text of the native
// `glassbox generate`. Options given override the file as the CLI's flags do; an unknown key is refused by
// name; beam search reaches JS as replayed tokens plus every hypothesis with its score.
//
// The CLI is `target/debug/glassbox` (built here with cargo unless GLASSBOX_BIN names one).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHECKPOINTS = join(ROOT, 'tests', 'fixtures', 'checkpoints');
const PKG = join(ROOT, 'pkg', 'glassbox.js');
const FOLDER_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

// Every checkpoint fixture with a generation_config.json and HF's generate ids (some fixtures test only the
// forward pass: their reference.json has no generate ids to compare with).
const hasGenerateIds = (n) => JSON.parse(readFileSync(join(CHECKPOINTS, n, 'reference.json'), 'utf8')).cases.some((c) => c.generate);
const WITH_GENERATION_CONFIG = (existsSync(CHECKPOINTS) ? readdirSync(CHECKPOINTS) : [])
  .filter((n) => existsSync(join(CHECKPOINTS, n, 'generation_config.json')) && existsSync(join(CHECKPOINTS, n, 'reference.json')))
  .filter(hasGenerateIds)
  .sort();

let cliBin = process.env.GLASSBOX_BIN;
let wasm;

before(async () => {
  assert.ok(existsSync(PKG), 'pkg/glassbox.js is missing. Build the wasm first: scripts/build-wasm.sh');
  if (!cliBin) {
    const built = spawnSync('cargo', ['build', '-q', '--bin', 'glassbox'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
    assert.equal(built.status, 0, 'cargo build --bin glassbox failed');
    cliBin = join(ROOT, 'target', 'debug', 'glassbox');
  }
  wasm = await import(pathToFileURL(PKG).href);
  await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  wasm.installPanicHook();
});

/// The CLI's stdout; a failure fails the test with the command and its message (never a skip).
function native(args) {
  const r = spawnSync(cliBin, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `the native CLI failed on \`glassbox ${args.join(' ')}\`: ${r.stderr.trim()}`);
  return r.stdout;
}

function readFolder(dir) {
  const read = (name) => (existsSync(join(dir, name)) ? new Uint8Array(readFileSync(join(dir, name))) : null);
  return Object.fromEntries(FOLDER_FILES.map((n) => [n, read(n)]));
}

/// The folder's weights as the engine takes them: model.safetensors, or a sharded checkpoint's `{ index, shards }`.
function weightsOf(dir, f) {
  if (f['model.safetensors']) return f['model.safetensors'];
  const index = new Uint8Array(readFileSync(join(dir, 'model.safetensors.index.json')));
  const names = wasm.shardNames(index).split('\n');
  return { index, shards: Object.fromEntries(names.map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))])) };
}

function load(name) {
  const dir = join(CHECKPOINTS, name);
  const f = readFolder(dir);
  return wasm.WasmModel.load(f['config.json'], weightsOf(dir, f), f['tokenizer.json'], f['tokenizer_config.json'],
    f['special_tokens_map.json'], f['generation_config.json'], {});
}

/// Drive a WasmGenerator to the end: its plan, the streamed tokens, the ids, and the beams (beam search).
function generateAll(model, text, options) {
  const gen = wasm.WasmGenerator.create(model, text, options);
  try {
    const { plan } = gen.start(model);
    const tokens = [];
    for (let t = gen.nextToken(model); t !== undefined; t = gen.nextToken(model)) tokens.push(t);
    return { plan, tokens, ids: Array.from(gen.ids()), text: tokens.at(-1)?.text ?? '', stoppedBy: gen.stoppedBy(), beams: gen.beams(model) };
  } finally {
    gen.free();
  }
}

function errorOf(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(!(err instanceof WebAssembly.RuntimeError), `the wasm trapped: ${err.message} (${wasm.lastPanic()})`);
    return err.message;
  }
  return assert.fail('expected the call to throw');
}

/// What `glassbox generate` prints for a run whose new text is `text`.
function cliOutput(kind, prompt, text) {
  return `${kind === 'decoder-only' ? prompt : ''}${text}\n`;
}

describe('generation_config.json through the wasm boundary', () => {
  test('the checkpoint fixtures with a generation_config.json are present', () => {
    assert.ok(WITH_GENERATION_CONFIG.length >= 6, `found ${WITH_GENERATION_CONFIG.join(', ')}`);
    for (const family of ['gpt2', 't5', 'bart', 'marian']) {
      assert.ok(WITH_GENERATION_CONFIG.some((n) => n.includes(family)), `a ${family} fixture with generation_config.json`);
    }
  });

  for (const name of WITH_GENERATION_CONFIG) {
    test(`${name}: generate with the file's settings equals HF's model.generate and the CLI`, () => {
      const dir = join(CHECKPOINTS, name);
      const file = JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'));
      const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
      const model = load(name);
      try {
        const info = model.info();
        assert.equal(info.generation.fromGenerationConfig, true);
        assert.equal(info.generation.numBeams, file.num_beams ?? null, 'the card shows the file\'s num_beams');
        assert.deepEqual(info.generation, JSON.parse(native(['info', dir])).generation, 'the card equals the CLI\'s info');
        const cases = reference.cases.filter((c) => c.generate);
        assert.ok(cases.length > 0, `${name}: reference.json has HF generate ids`);
        for (const c of cases) {
          const max = c.generate.max_new_tokens;
          const got = generateAll(model, c.text, max == null ? undefined : { maxNewTokens: max });
          const beam = (file.num_beams ?? 1) > 1;
          assert.equal(got.plan.decoding, beam ? 'beam' : 'greedy', `${name}: the file's decoding`);
          assert.deepEqual(got.ids, c.generate.ids, `${name} "${c.text}": ids equal HF's model.generate`);
          assert.deepEqual(got.tokens.map((t) => t.id), got.ids, 'every token was streamed');
          const args = ['generate', dir, '--text', c.text, ...(max == null ? [] : ['--max-new-tokens', String(max)])];
          assert.equal(cliOutput(info.kind, c.text, got.text), native(args), `${name} "${c.text}": text equals glassbox generate`);
          if (beam) {
            assert.equal(got.plan.numBeams, file.num_beams);
            assert.equal(got.plan.lengthPenalty, file.length_penalty ?? 1);
            assert.equal(got.beams.length, file.num_beams, 'every finished hypothesis, one per beam');
            assert.equal(new Set(got.beams.map((b) => b.ids.join(','))).size, got.beams.length, 'no hypothesis twice');
            assert.deepEqual(got.beams[0].ids, got.ids, 'the best hypothesis is what was streamed');
            assert.equal(got.beams[0].text, got.text);
            for (let i = 1; i < got.beams.length; i++) assert.ok(got.beams[i - 1].score >= got.beams[i].score, 'best first');
            assert.ok(got.tokens.every((t) => t.prob === null && t.candidates.ids.length === 0), 'replayed tokens carry no probabilities');
          } else {
            assert.equal(got.beams, undefined);
            assert.ok(got.tokens.every((t) => typeof t.prob === 'number'));
          }
        }
      } finally {
        model.free();
      }
    });
  }

  test('explicit options override the file, as the CLI flags do', () => {
    const name = 'gpt2_beam_untied'; // num_beams 3, length_penalty 1.2, max_length 34, early_stopping "never"
    const dir = join(CHECKPOINTS, name);
    assert.ok(WITH_GENERATION_CONFIG.includes(name), `${name} is a fixture`);
    const text = 'Hello world, this is a test.';
    const model = load(name);
    try {
      // One beam and a length: greedy, the CLI's `inspect --generate 4 --num-beams 1`.
      const greedy = generateAll(model, text, { numBeams: 1, maxNewTokens: 4 });
      assert.deepEqual(greedy.plan, { decoding: 'greedy', maxNewTokens: 4, numBeams: 1 });
      const nativeGreedy = JSON.parse(native(['inspect', dir, '--text', text, '--generate', '4', '--num-beams', '1'])).cases[0];
      assert.deepEqual(greedy.ids, nativeGreedy.generated_ids);
      // Another width and length penalty: the file's other settings stay (max_length, early stopping).
      for (const [opts, flags] of [[{ numBeams: 2 }, ['--num-beams', '2']], [{ lengthPenalty: -1.5 }, ['--length-penalty', '-1.5']]]) {
        const got = generateAll(model, text, opts);
        assert.equal(got.plan.decoding, 'beam');
        assert.equal(got.plan.numBeams, opts.numBeams ?? 3);
        assert.equal(got.plan.lengthPenalty, opts.lengthPenalty ?? 1.2);
        assert.equal(cliOutput('decoder-only', text, got.text), native(['generate', dir, '--text', text, ...flags]), JSON.stringify(opts));
      }
      const fileDefault = generateAll(model, text);
      assert.notDeepEqual(generateAll(model, text, { numBeams: 1 }).ids, fileDefault.ids, 'numBeams: 1 changes this fixture\'s output');
      // Sampling given explicitly wins over the file's beams only with one beam.
      const sampled = generateAll(model, text, { numBeams: 1, temperature: 0.9, topK: 20, seed: 5, maxNewTokens: 6 });
      assert.equal(sampled.plan.decoding, 'sample');
      assert.equal(cliOutput('decoder-only', text, sampled.text),
        native(['generate', dir, '--text', text, '--num-beams', '1', '--temperature', '0.9', '--top-k', '20', '--seed', '5', '--max-new-tokens', '6']));
      assert.match(errorOf(() => wasm.WasmGenerator.create(model, text, { temperature: 0.7 })), /beam sampling/);
      assert.match(errorOf(() => wasm.WasmGenerator.create(model, text, { numBeams: 0 })), /beams is 0/);
      assert.match(errorOf(() => wasm.WasmGenerator.create(model, text, { headMask: { decoder: new Array(4 * 2).fill(1) } })), /headMask and tokenMask apply to greedy/);
      // Unknown and mistyped keys are refused by name.
      assert.match(errorOf(() => wasm.WasmGenerator.create(model, text, { numBeam: 2 })), /generate options: unknown field `numBeam`/);
      assert.match(errorOf(() => wasm.WasmGenerator.create(model, text, { lengthPenalty: 'long' })), /lengthPenalty/);
      assert.match(errorOf(() => wasm.WasmGenerator.create(model, text, { numBeams: 1.5 })), /numBeams/);
      assert.equal(wasm.lastPanic(), undefined, 'nothing panicked');
    } finally {
      model.free();
    }

    // A greedy file: its max_new_tokens (12) is the default, an explicit maxNewTokens wins.
    const greedyModel = load('gpt2_generation_config');
    try {
      assert.equal(generateAll(greedyModel, text).plan.maxNewTokens, 12);
      const short = generateAll(greedyModel, text, { maxNewTokens: 5 });
      const nativeShort = JSON.parse(native(['inspect', join(CHECKPOINTS, 'gpt2_generation_config'), '--text', text, '--generate', '5'])).cases[0];
      assert.deepEqual(short.ids, nativeShort.generated_ids);
      assert.ok(short.ids.length <= 5);
    } finally {
      greedyModel.free();
    }
  });
});


describe('generation_config.json through the JS API (worker)', () => {
  let gb;
  after(() => gb?.terminate());

  test('beam search from the file: replayed tokens, then every hypothesis; overrides and refusals', async () => {
    const { Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href);
    gb = await Glassbox.create({ worker: new NodeWorker() });
    const name = 'bart_untied_v5'; // num_beams 3, length_penalty 0.7, forced bos/eos, no_repeat_ngram_size 2
    const dir = join(CHECKPOINTS, name);
    const bytes = readFolder(dir);
    const files = Object.fromEntries(Object.entries(bytes).filter(([, v]) => v).map(([n, v]) => [n, new Blob([v])]));
    const model = await gb.loadModel({ files });
    assert.equal(model.info.generation.numBeams, 3);
    assert.equal(model.info.generation.lengthPenalty, 0.7);
    const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')).cases[0];
    const streamed = [];
    const handle = model.generate(reference.text, { onToken: (t) => streamed.push(t) });
    const started = await handle.started;
    assert.deepEqual(started.plan, { decoding: 'beam', maxNewTokens: 10, numBeams: 3, lengthPenalty: 0.7 });
    const done = await handle.done;
    assert.deepEqual(done.ids, reference.generate.ids, 'HF\'s model.generate ids');
    assert.deepEqual(streamed.map((t) => t.id), done.ids);
    assert.ok(streamed.every((t) => t.prob === null && t.candidates.length === 0 && t.attentions === undefined));
    assert.equal(done.text, streamed.at(-1).text);
    assert.equal(done.stoppedBy, 'eos');
    assert.deepEqual(done.beams[0].ids, done.ids);
    assert.equal(typeof done.beams[0].score, 'number');
    assert.equal(`${done.text}\n`, native(['generate', dir, '--text', reference.text]));

    const greedy = await model.generate(reference.text, { numBeams: 1, maxNewTokens: 3 }).done;
    assert.equal(greedy.beams, undefined);
    assert.ok(greedy.ids.length <= 3);
    await assert.rejects(model.generate(reference.text, { numbeams: 2 }).done, /unknown field `numbeams`/);
    await model.free();
  });
});

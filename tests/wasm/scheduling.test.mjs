// Doing first what the user asked for, and keeping only what a view shows, in Node:
// 1. the wasm directly: the `attention` option of run/inspect keeps exactly the full capture's selected layers
//    (with `firstLayer`), refuses an empty selection by name, and so does generate's for each token's step
//    attention; `WasmInspection` gives inspect's result with its
//    logit lens computed a block of positions of one hidden state per step;
// 2. the worker (www/worker.js in a Node worker thread, through www/glassbox.js): user requests run before
//    queued background ones, a background request waits while a generation runs, a newer request of a lane
//    replaces a queued older one, `dropBackground` withdraws queued background work, `cancel` a queued
//    request, and a user request (a tokenize, a generation) waits for one lens step of a background inspection,
//    not the whole lens;
// 3. tokens reach the API in batches (one worker message per frame's worth) with onToken still called once per
//    token, in order, and cancel() inside a batch dropping the rest.
//
//   scripts/build-wasm.sh && node --test tests/wasm/scheduling.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = join(ROOT, 'pkg', 'glassbox.js');
const GPT2 = join(ROOT, 'tests', 'fixtures', 'models', 'gpt2');
const BART = join(ROOT, 'tests', 'fixtures', 'models', 'bart_tiny');
const TEXT = 'The quick brown fox jumps over the lazy dog and keeps running';

const read = (dir, name) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name)) : null);
const files = (dir) => Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']
  .filter((n) => existsSync(join(dir, n))).map((n) => [n, new Uint8Array(readFileSync(join(dir, n))).buffer]));

let wasm;

before(async () => {
  assert.ok(existsSync(PKG), 'pkg/glassbox.js is missing. Build the wasm first: scripts/build-wasm.sh');
  wasm = await import(pathToFileURL(PKG).href);
  await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  wasm.installPanicHook();
});

function loadDirect(dir) {
  return wasm.WasmModel.load(read(dir, 'config.json'), read(dir, 'model.safetensors'), read(dir, 'tokenizer.json'),
    read(dir, 'tokenizer_config.json'), read(dir, 'special_tokens_map.json'), read(dir, 'generation_config.json'), {});
}

/** `[H][Tq][Tk]` of layer `l` of a map tensor `{ data, shape: [L, H, Tq, Tk] }`. */
function layerOf(t, l) {
  const n = t.shape[1] * t.shape[2] * t.shape[3];
  return Array.from(t.data.subarray(l * n, (l + 1) * n));
}

describe('the attention option keeps only the selected maps', () => {
  for (const dir of [GPT2, BART]) {
    test(`${dir.split('/').pop()}: each single layer is the full capture's, marked with firstLayer`, () => {
      const m = loadDirect(dir);
      const full = m.run(TEXT, { scores: true });
      const kinds = Object.keys(full.attentions);
      const L = Math.max(...kinds.map((k) => full.attentions[k].shape[0]));
      for (let l = 0; l < L; l++) {
        const part = m.run(TEXT, { scores: true, attention: { layers: [l, l + 1] } });
        for (const k of kinds) {
          for (const which of ['attentions', 'scores']) {
            const t = part[which][k];
            assert.equal(t.firstLayer, l, `${k} ${which}: firstLayer`);
            assert.deepEqual(t.shape, [1, ...full[which][k].shape.slice(1)]);
            assert.deepEqual(layerOf(t, 0), layerOf(full[which][k], l), `${k} ${which} layer ${l}`);
          }
        }
        assert.deepEqual(Array.from(part.lastHiddenState.data), Array.from(full.lastHiddenState.data), 'the run itself is unchanged');
      }
      const one = m.run(TEXT, { attention: { kinds: [kinds.at(-1)] } });
      assert.deepEqual(Object.keys(one.attentions), [kinds.at(-1)], 'only the kind asked for');
      assert.equal(one.attentions[kinds.at(-1)].firstLayer, 0);
      assert.equal(full.attentions[kinds[0]].firstLayer, undefined, 'a full capture has no firstLayer');
      assert.throws(() => m.run(TEXT, { attention: { layers: [2, 2] } }), /attention\.layers \[2, 2\] keeps no layer/);
      assert.throws(() => m.run(TEXT, { attention: { layers: [L, L + 1] } }), /keeps no layer of this model's/);
      assert.throws(() => m.run(TEXT, { attention: { layer: 1 } }), /unknown field `layer`/);
      assert.throws(() => m.inspect(TEXT, { attention: { kinds: ['self'] } }), /attention\.kinds/);
      // Kinds the model lacks alone would bring back no map: refused by name, with the kinds it has.
      const missing = kinds.includes('encoder') ? null : 'encoder';
      if (missing) {
        assert.throws(() => m.run(TEXT, { attention: { kinds: [missing] } }), /attention\.kinds asks for encoder attention, which this decoder-only model does not have\. Ask for decoder/);
        assert.deepEqual(Object.keys(m.run(TEXT, { attention: { kinds: ['encoder', 'decoder'] } }).attentions), ['decoder'], 'a kind it has beside one it lacks is kept');
      }
      m.free();
    });
  }
});

describe('the attention option of generate keeps only the selected step layers', () => {
  for (const dir of [GPT2, BART]) {
    test(`${dir.split('/').pop()}: each token's rows are the full capture's at that layer, marked with firstLayer`, () => {
      const m = loadDirect(dir);
      const tokens = (opts) => {
        const g = wasm.WasmGenerator.create(m, TEXT, { maxNewTokens: 6, temperature: 0, ...opts });
        const out = [];
        for (let t = g.nextToken(m); t !== undefined; t = g.nextToken(m)) out.push(t);
        g.free();
        return out;
      };
      const full = tokens({});
      const kinds = Object.keys(full[0].attentions);
      const L = full[0].attentions.self.shape[0];
      const part = tokens({ attention: { layers: [L - 1, L] } });
      assert.deepEqual(part.map((t) => t.id), full.map((t) => t.id), 'the same tokens');
      part.forEach((t, i) => {
        assert.deepEqual(Object.keys(t.attentions), kinds);
        for (const k of kinds) {
          const want = full[i].attentions[k];
          assert.equal(t.attentions[k].firstLayer, L - 1, `${k}: firstLayer`);
          assert.deepEqual(t.attentions[k].shape, [1, ...want.shape.slice(1)]);
          assert.deepEqual(layerOf(t.attentions[k], 0), layerOf(want, L - 1), `step ${i} ${k}`);
        }
        assert.deepEqual(Array.from(t.candidates.ids), Array.from(full[i].candidates.ids), 'the candidates are unchanged');
      });
      assert.equal(full[0].attentions.self.firstLayer, undefined, 'every layer: no firstLayer');
      assert.throws(() => tokens({ attention: { layers: [0, 1] }, captureAttention: false }), /captureAttention is false/);
      assert.throws(() => tokens({ attention: { layers: [L, L + 1] } }), /keeps no layer/);
      m.free();
    });
  }
});

describe('WasmInspection: the logit lens in steps', () => {
  test('gpt2: as many steps as states, and the same result as inspect', () => {
    const m = loadDirect(GPT2);
    const opts = { topK: 3, logitLens: 3, qkv: { kind: 'decoder', layer: 1 } };
    const whole = m.inspect(TEXT, opts);
    const job = wasm.WasmInspection.start(m, TEXT, opts);
    assert.deepEqual(Array.from(job.lensProgress()), [whole.lens.nStates, 0]);
    let steps = 1;
    while (job.step(m)) steps += 1;
    assert.equal(steps, whole.lens.nStates, 'one step per hidden state');
    assert.deepEqual(Array.from(job.lensProgress()), [whole.lens.nStates, whole.lens.nStates]);
    const stepped = job.finish(m);
    job.free();
    assert.deepEqual(Array.from(stepped.lens.ids), Array.from(whole.lens.ids));
    assert.deepEqual(Array.from(stepped.lens.probs), Array.from(whole.lens.probs));
    assert.deepEqual(stepped.lens.tokens, whole.lens.tokens);
    assert.deepEqual(Array.from(stepped.qkv.q), Array.from(whole.qkv.q));
    const plain = wasm.WasmInspection.start(m, TEXT, { topK: 3 });
    assert.equal(plain.step(m), false, 'no lens: nothing to step');
    assert.equal(plain.finish(m).lens, undefined);
    plain.free();
    m.free();
  });

  test('gpt2-mini (50,257-entry head): a long text\'s state is read in blocks of positions, with inspect\'s numbers', async () => {
    const { makeShapedModel } = await import(pathToFileURL(join(ROOT, 'scripts', 'dev', 'make-shaped-model.mjs')).href);
    const dir = makeShapedModel({ shape: 'gpt2-mini', dtype: 'f16', seed: 1, out: join(ROOT, 'tests', 'artifacts', 'shaped', 'gpt2-mini-f16') }).dir;
    const m = loadDirect(dir);
    const text = Array.from({ length: 6 }, () => TEXT).join(' ');
    const whole = m.inspect(text, { logitLens: 3 });
    const { nStates, seqLen } = whole.lens;
    const perStep = Math.floor((1 << 21) / 50257); // crate/src/wasm/lens.rs LENS_STEP_LOGITS over the vocabulary
    assert.ok(seqLen > perStep, `the text is longer than one block (${seqLen} positions)`);
    const job = wasm.WasmInspection.start(m, text, { logitLens: 3 });
    let steps = 1;
    while (job.step(m)) steps += 1;
    assert.equal(steps, nStates * Math.ceil(seqLen / perStep), 'one step per block of positions of each state');
    const stepped = job.finish(m).lens;
    job.free();
    assert.deepEqual(Array.from(stepped.ids), Array.from(whole.lens.ids), 'the same tokens at every state and position');
    const probs = Array.from(whole.lens.probs);
    assert.ok(Array.from(stepped.probs).every((p, i) => Math.abs(p - probs[i]) <= 1e-6), 'the same probabilities');
    m.free();
  });
});


describe('the worker does the user\'s requests first', () => {
  let gb;
  let model;
  let mini; // GPT-2's real vocabulary on a tiny body: a lens step reads 50,257 rows per position (tens of ms)
  const long = TEXT; // the longest text the gpt2 fixture takes (64 positions)

  before(async () => {
    const { Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href);
    const { makeShapedModel } = await import(pathToFileURL(join(ROOT, 'scripts', 'dev', 'make-shaped-model.mjs')).href);
    const miniDir = makeShapedModel({ shape: 'gpt2-mini', dtype: 'f16', seed: 1, out: join(ROOT, 'tests', 'artifacts', 'shaped', 'gpt2-mini-f16') }).dir;
    gb = await Glassbox.create({ worker: new NodeWorker() });
    model = await gb.loadModel({ files: files(GPT2) });
    mini = await gb.loadModel({ files: files(miniDir) });
  });

  after(() => gb?.terminate());

  /**
   * Send `requests()` while a generation is between its steps (it keeps the worker's queue busy with user
   * work, so they all arrive before any of them can start); resolves with the generation's result.
   */
  function duringGeneration(requests) {
    let sent = false;
    const gen = mini.generate('The fox', { maxNewTokens: 40, temperature: 0, onToken: () => {
      if (!sent) { sent = true; requests(); }
    } });
    return gen.done.then((done) => {
      assert.equal(done.ids.length, 40, 'the generation ran all its steps');
      return done;
    });
  }

  /** Settle order of named promises. */
  async function order(named) {
    const seen = [];
    await Promise.allSettled(Object.entries(named).map(([name, p]) => p.then(() => seen.push(name), () => seen.push(`${name}!`))));
    return seen;
  }

  test('user requests go before background ones queued ahead of them; background waits for the generation', async () => {
    const bg = model.scheduled({ priority: 'background' });
    let named;
    let tokensAtBackground = null;
    const gen = duringGeneration(() => {
      named = { b1: bg.inspect(long).then(() => { tokensAtBackground ??= 'after'; }), b2: bg.tokenize(long), user: model.tokenize('hello') };
      for (const q of Object.values(named)) q.catch(() => {});
    });
    const userFirst = (async () => { await gen; tokensAtBackground ??= 'generation done first'; })();
    await userFirst;
    const seen = await order(named);
    assert.deepEqual(seen, ['user', 'b1', 'b2']);
    assert.equal(tokensAtBackground, 'generation done first', 'the background requests waited for the whole generation');
  });

  test('a newer request of a lane replaces the queued one; dropBackground and cancel withdraw queued ones', async () => {
    const lane = model.scheduled({ priority: 'background', lane: 'teaching' });
    const p = {};
    await duringGeneration(() => {
      p.first = lane.inspect(long);
      p.second = lane.inspect('The fox');        // replaces the first, still queued
      p.tokenize = lane.tokenize('The fox');     // another request type: its own lane
      p.other = model.scheduled({ priority: 'background', lane: 'views' }).inspect('The fox');
      p.dropped = model.scheduled({ priority: 'background', lane: 'teaching-extra' }).inspect('The fox');
      gb.dropBackground('teaching-');             // withdraws lanes starting "teaching-" only
      for (const q of Object.values(p)) q.catch(() => {});   // judged below, after the generation
    });
    await assert.rejects(p.first, /^Error: superseded/);
    await assert.rejects(p.dropped, /^Error: cancelled/);
    assert.ok((await p.second).tokens.ids.length > 0);
    assert.ok((await p.tokenize).ids.length > 0);
    assert.ok((await p.other).tokens.ids.length > 0);
  });

  test('a user request waits for one lens step of a background inspection, not the whole lens', async () => {
    const text = Array.from({ length: 6 }, () => TEXT).join(' ');
    const seen = [];
    const lens = mini.scheduled({ priority: 'background' }).inspect(text, { logitLens: 3 }).then((r) => { seen.push('lens'); return r; });
    // Sent while the inspection's forward pass runs (tens of ms): it goes before the lens steps.
    const user = mini.tokenize('hello').then(() => seen.push('user'));
    const [r] = await Promise.all([lens, user]);
    assert.deepEqual(seen, ['user', 'lens'], 'the tokenize ran between the inspection\'s steps');
    const direct = await mini.inspect(text, { logitLens: 3 });
    assert.deepEqual(r.logitLens.top.map((s) => s.map((c) => c[0].id)), direct.logitLens.top.map((s) => s.map((c) => c[0].id)));
    // Withdrawn between its steps, it rejects and frees its job; the worker carries on.
    const withdrawn = mini.scheduled({ priority: 'background', lane: 'lens' }).inspect(text, { logitLens: 3 });
    await mini.tokenize('x');   // sent during the forward pass, answered before the first lens step
    gb.dropBackground('lens');
    await assert.rejects(withdrawn, /^Error: cancelled/);
    assert.ok((await mini.tokenize(TEXT)).ids.length > 0);
  });

  test('a generation asked for during a long background inspection starts before the inspection ends', async () => {
    // The click's bound is an order, not a time: its first token arrives while the background lens (every
    // hidden state through the 50,257-row head) still has states to read, and the lens is whole afterwards.
    const text = Array.from({ length: 6 }, () => TEXT).join(' ');
    const seen = [];
    const lens = mini.scheduled({ priority: 'background' }).inspect(text, { logitLens: 3 }).then((r) => { seen.push('lens'); return r; });
    let first = true;
    const gen = mini.generate('The fox', { maxNewTokens: 4, temperature: 0, onToken: () => {
      if (first) seen.push('first token');
      first = false;
    } });
    const [r, done] = await Promise.all([lens, gen.done]);
    assert.deepEqual(seen, ['first token', 'lens'], 'the generation started between the inspection\'s steps');
    assert.equal(done.ids.length, 4);
    assert.equal(r.logitLens.nStates, r.logitLens.top.length, 'the lens read every state');
  });
});

describe('tokens stream in batches with the per-token callback of the API', () => {
  let gb;
  let model;

  before(async () => {
    const { Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href);
    gb = await Glassbox.create({ worker: new NodeWorker() });
    model = await gb.loadModel({ files: files(GPT2) });
  });

  after(() => gb?.terminate());

  test('onToken once per token, in order, the same tokens as the engine decodes one at a time', async () => {
    const direct = loadDirect(GPT2);
    const generator = wasm.WasmGenerator.create(direct, 'The fox', { maxNewTokens: 40, temperature: 0 });
    const expected = [];
    for (let t = generator.nextToken(direct); t !== undefined; t = generator.nextToken(direct)) expected.push({ step: t.step, id: t.id, text: t.text });
    generator.free();
    direct.free();
    // Which calls share a task (a batch): a call still in the task of the one before it.
    let inTask = false;
    let sharedTask = 0;
    const seen = [];
    const done = await model.generate('The fox', { maxNewTokens: 40, temperature: 0, onToken: (t) => {
      if (inTask) sharedTask += 1;
      inTask = true;
      setImmediate(() => { inTask = false; });
      seen.push({ step: t.step, id: t.id, text: t.text });
    } }).done;
    assert.deepEqual(seen, expected, 'every token once, in order, as decoded');
    assert.deepEqual(Array.from(done.ids), expected.map((t) => t.id));
    assert.equal(done.text, expected.at(-1).text);
    console.log(`# ${seen.length} tokens, ${seen.length - sharedTask} deliveries`);
  });

  test('cancel() inside a batch: the rest of the batch is dropped and done reports what was delivered', async () => {
    const seen = [];
    const handle = model.generate('The fox', { maxNewTokens: 40, temperature: 0, onToken: (t) => {
      seen.push(t.id);
      if (seen.length === 3) handle.cancel();
    } });
    const done = await handle.done;
    assert.equal(seen.length, 3, 'no token after cancel()');
    assert.equal(done.stoppedBy, 'cancel');
    assert.deepEqual(Array.from(done.ids), seen);
    // The worker carries on: a new generation runs whole.
    const again = await model.generate('The fox', { maxNewTokens: 5, temperature: 0 }).done;
    assert.equal(again.ids.length, 5);
    assert.equal(again.stoppedBy, 'max');
  });
});

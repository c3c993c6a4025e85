// The views' numbers across the wasm boundary (crate/src/wasm/views.rs), in Node: the same hand-worked
// 2-layer example as tests/rust/rollout.rs, the results' shapes and types, and bad options refused by name.
//
//   scripts/build-wasm.sh && node --test tests/wasm/views.test.mjs

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let wasm;

before(async () => {
  wasm = await import(pathToFileURL(join(ROOT, 'pkg', 'glassbox.js')).href);
  await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
});

// Layer 1, both heads: tokens 0 and 1 swap, 2 reads itself; layer 2: head 0 reads token 2, head 1 itself.
// Worked in tests/rust/rollout.rs: rollout row 0 = [.375, .375, .25], flow from 0 = [.5, .5, .25].
const swap = [0, 1, 0, 1, 0, 0, 0, 0, 1];
const toLast = [0, 0, 1, 0, 0, 1, 0, 0, 1];
const identity = [1, 0, 0, 0, 1, 0, 0, 0, 1];
const maps = Float32Array.from([...swap, ...swap, ...toLast, ...identity]);

const near = (got, want, what) => want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-6, `${what}[${i}]: ${got[i]} vs ${w}`));

test('attentionRollout: the hand-worked example, rollout and flow', () => {
  const r = wasm.attentionRollout(maps, { shape: [2, 2, 3, 3], flowFrom: 0 });
  assert.deepEqual(r.rollout.shape, [3, 3]);
  assert.ok(r.rollout.data instanceof Float32Array && r.flow instanceof Float32Array);
  near(r.rollout.data, [0.375, 0.375, 0.25, 0.375, 0.375, 0.25, 0, 0, 1], 'rollout');
  near(r.flow, [0.5, 0.5, 0.25], 'flow');
  assert.equal(r.flowFrom, 0);
  assert.equal(wasm.attentionRollout(maps, { shape: [2, 2, 3, 3] }).flow, undefined, 'no flowFrom: rollout only');
});

test('attentionRollout through cross-attention: the hand-worked encoder-decoder of tests/rust/rollout.rs', () => {
  // Encoder [1,1,2,2] both read token 1; decoder [1,1,2,2] token 1 reads token 0; cross [1,2,2,2] aligned + all on 0.
  const values = Float32Array.from([0, 1, 0, 1, /* decoder */ 1, 0, 1, 0, /* cross */ 1, 0, 0, 1, 1, 0, 1, 0]);
  const options = { shape: [1, 1, 2, 2], decoderShape: [1, 1, 2, 2], crossShape: [1, 2, 2, 2] };
  const r = wasm.attentionRollout(values, { ...options, flowFrom: 1 });
  assert.deepEqual(r.encoderRollout.shape, [2, 2]);
  near(r.encoderRollout.data, [0.25, 0.25, 0.125, 0.375], 'encoder inputs');
  near(r.decoderRollout.data, [0.5, 0, 0.25, 0.25], 'decoder inputs');
  near(r.flow, [0.25, 0.5, 0.5, 0.5], 'flow: encoder inputs, then decoder inputs');
  assert.equal(r.flowInputs, 4);
  assert.throws(() => wasm.attentionRollout(values, { shape: [1, 1, 2, 2], decoderShape: [1, 1, 2, 2] }), /decoderShape and crossShape go together/);
  assert.throws(() => wasm.attentionRollout(values.subarray(1), options), /15 values, but the encoder, decoder and cross shapes need 16/);
});

test('attentionRollout flow in parts: bounded, resumable, the same numbers as in one call', () => {
  // 12 layers x 1 head x 64 tokens of random softmax-like rows: FLOW_PART_WORK (2^19) / (12 x 64²) = 10 inputs a part.
  const [L, T] = [12, 64];
  const data = new Float32Array(L * T * T);
  let s = 5;
  for (let m = 0; m < L * T; m++) {
    let sum = 0;
    for (let j = 0; j < T; j++) { s = (s * 1103515245 + 12345) % 2147483648; data[m * T + j] = 0.01 + s / 2147483648; sum += data[m * T + j]; }
    for (let j = 0; j < T; j++) data[m * T + j] /= sum;
  }
  const shape = [L, 1, T, T];
  const whole = wasm.attentionRollout(data, { shape, flowFrom: T - 1 });
  assert.equal(whole.flowNext, null);
  const got = new Float32Array(T);
  let part = wasm.attentionRollout(data, { shape, flowFrom: T - 1, flowStart: 0 });
  assert.ok(part.rollout, 'the first part brings the rollout');
  let parts = 0;
  for (;;) {
    parts += 1;
    assert.equal(part.flow.length, Math.min(10, T - part.flowStart));
    got.set(part.flow, part.flowStart);
    if (part.flowNext === null) break;
    part = wasm.attentionRollout(data, { shape, flowFrom: T - 1, flowStart: part.flowNext, rollout: false });
    assert.equal(part.rollout, undefined);
  }
  assert.equal(parts, 7);
  near(got, Array.from(whole.flow), 'parts');
  // Other maps of the same shape between parts: the graph kept for the first maps is not reused for them.
  const other = data.map((v, k) => (k % T === 0 ? v + 0.5 : v));
  wasm.attentionRollout(data, { shape, flowFrom: T - 1, flowStart: 0 });
  const a = wasm.attentionRollout(other, { shape, flowFrom: T - 1, flowStart: 10, rollout: false });
  const b = wasm.attentionRollout(other, { shape, flowFrom: T - 1 });
  near(a.flow, Array.from(b.flow.subarray(10, 20)), 'a part of other maps');
});

test('attentionPatterns: scores, chance and the picked head', () => {
  const ids = [1, 2, 3];
  const p = wasm.attentionPatterns(maps, { shape: [2, 2, 3, 3], kind: 'encoder', queryIds: ids });
  assert.deepEqual(p.patterns, ['previous-token', 'next-token', 'first-token', 'same-token', 'induction', 'diagonal']);
  assert.equal(p.scores.length, 2 * 2 * 6);
  // Layer 1, head 1 (swap): rows 1, 2 put 1 and 0 on their previous token: 0.5; rows 0, 1 put 1 and 0 on their
  // next token: 0.5. No repeats: same-token and induction NaN; diagonal is for cross-attention.
  assert.equal(p.scores[0], 0.5);
  assert.equal(p.scores[1], 0.5);
  assert.ok(Number.isNaN(p.scores[3]) && Number.isNaN(p.scores[4]) && Number.isNaN(p.scores[5]));
  // Layer 2, head 1 (every row reads token 2): row 1's next token is 2, row 0's is not: 0.5.
  assert.equal(p.scores[(1 * 2 + 0) * 6 + 1], 0.5);
  // Uniform over 3 keys: 1/3 on the previous token, on the next one, on the first.
  near(p.chance.slice(0, 3), [1 / 3, 1 / 3, 1 / 3], 'chance');
  assert.deepEqual(p.chance.slice(3), [null, null, null]);
  // Both heads of layer 1 (on the previous and on the next token) and layer 2, head 1 (on the next token) beat
  // chance by the same 0.5 - 1/3: the first found wins.
  assert.equal(p.best.pattern, 'previous-token');
  assert.deepEqual([p.best.layer, p.best.head], [0, 0]);
});

test('attentionPatterns: the next token is not scored behind a causal mask', () => {
  // A decoder's previous-token head over 3 tokens (row 0 can only read itself).
  const previous = Float32Array.from([1, 0, 0, 1, 0, 0, 0, 1, 0]);
  const p = wasm.attentionPatterns(previous, { shape: [1, 1, 3, 3], kind: 'decoder', queryIds: [1, 2, 3] });
  const next = p.patterns.indexOf('next-token');
  assert.ok(Number.isNaN(p.scores[next]), 'no score for the head');
  assert.equal(p.chance[next], null, 'nor for uniform attention');
  assert.equal(p.scores[p.patterns.indexOf('previous-token')], 1);
  // The same map read as an encoder's: row 0 reads itself, row 1 reads key 0: nothing on the next token.
  const e = wasm.attentionPatterns(previous, { shape: [1, 1, 3, 3], kind: 'encoder', queryIds: [1, 2, 3] });
  assert.equal(e.scores[next], 0);
});

test('bad options and shapes are refused by name', () => {
  assert.throws(() => wasm.attentionRollout(maps, { shape: [2, 2, 3, 3], flowfrom: 1 }), /attentionRollout options: unknown field `flowfrom`/);
  assert.throws(() => wasm.attentionPatterns(maps, { shape: [2, 2, 3, 3], kind: 'sideways', queryIds: [1, 2, 3] }), /kind/);
  assert.throws(() => wasm.attentionRollout(maps, { shape: [2, 2, 3, 4] }), /shape/);
  assert.throws(() => wasm.attentionRollout(new Float32Array(12), { shape: [1, 1, 3, 4] }), /self-attention/);
  assert.throws(() => wasm.attentionRollout(maps, { shape: [2, 2, 3, 3], flowFrom: 3 }), /past the last/);
  assert.throws(() => wasm.attentionPatterns(maps, { shape: [2, 2, 3, 3], kind: 'encoder', queryIds: [1] }), /query ids/);
});

// When no head stands out, each view says what it shows instead (www/head-choice.js): the page's map the mean of
// the heads, the head view every head, the model view its outline on layer 1, head 1.
test('the "no head stands out" sentence names what the view shows', async () => {
  const { describeChoice } = await import(pathToFileURL(join(ROOT, 'www', 'head-choice.js')).href);
  assert.match(describeChoice(null), /^No head beats uniform attention .*, so the map shows the mean of the heads\.$/);
  assert.match(describeChoice(null, 'every head is shown'), /, so every head is shown\.$/);
  assert.doesNotMatch(describeChoice(null, 'every head is shown'), /mean of the heads/);
  const best = { layer: 1, head: 3, pattern: 'previous-token', score: 0.8123, chance: 0.1 };
  assert.equal(describeChoice(best, 'unused'), 'Opened on layer 2, head 4, the head whose pattern stands out most for this text: previous token: '
    + 'each token after the first puts on average 0.81 of its attention on the token just before it (uniform attention would give 0.10).');
});

// The teaching views' rotary and grouped-query arithmetic (www/views/positions.js, qkv.js),
// checked with a real model's frequencies: HF's inv_freq of the llama3 fixture (llama3 smoothing
// included), as tests/rust/families.rs checks Glassbox's own against it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rotateAt, dot, offsetScores } from '../../www/views/positions.js';
import { kvGroups } from '../../www/views/qkv.js';

const reference = (name) => JSON.parse(readFileSync(new URL(`../fixtures/models/${name}/reference.json`, import.meta.url), 'utf8'));
const invFreq = reference('llama3_tied').meta.inv_freq;   // [D/2], D = 16
const D = 2 * invFreq.length;
const q = Float64Array.from({ length: D }, (_, d) => Math.sin(1.3 * d) + 0.2);
const k = Float64Array.from({ length: D }, (_, d) => Math.cos(0.7 * d) - 0.1);

test('turning back undoes turning, and a turn keeps the length', () => {
  const turned = rotateAt(q, invFreq, 17);
  const back = rotateAt(turned, invFreq, -17);
  q.forEach((x, d) => assert.ok(Math.abs(x - back[d]) < 1e-12));
  assert.ok(Math.abs(dot(turned, turned) - dot(q, q)) < 1e-9);
  // HF's rotate_half layout: pair 0 is dims 0 and D/2, turned by one position's angle.
  const e0 = new Float64Array(D);
  e0[0] = 1;
  const one = rotateAt(e0, invFreq, 1);
  assert.ok(Math.abs(one[0] - Math.cos(invFreq[0])) < 1e-12 && Math.abs(one[D / 2] - Math.sin(invFreq[0])) < 1e-12);
});

test('q·k depends only on the offset, and the demonstration says so', () => {
  const pair = { q: rotateAt(q, invFreq, 9), k: rotateAt(k, invFreq, 4), qPos: 9, kPos: 4 };
  const { shifted, other } = offsetScores(pair, invFreq, [0, 1, 4, 10, 25], 64);
  assert.equal(shifted.length, 5);
  const base = dot(pair.q, pair.k);
  for (const r of shifted) {
    assert.equal(r.qPos - r.kPos, 5);
    assert.ok(Math.abs(r.score - base) < 1e-9, `${r.qPos},${r.kPos}: ${r.score} vs ${base}`);
  }
  assert.ok(other.length > 0);
  for (const r of other) {
    assert.notEqual(r.qPos - r.kPos, 5);
    assert.ok(Math.abs(r.score - base) > 1e-6, `offset ${r.qPos - r.kPos} should score differently`);
  }
});

test('grouped-query attention: which key/value head each query head reads', () => {
  assert.deepEqual(kvGroups(4, 2), { group: 2, kvOf: [0, 0, 1, 1], groups: [[0, 1], [2, 3]] });
  assert.deepEqual(kvGroups(4, 1).kvOf, [0, 0, 0, 0]);
  assert.deepEqual(kvGroups(3, 3).groups, [[0], [1], [2]]);
});

test('Cohere’s interleaved layout: pair 0 is dims 0 and 1, turning back undoes it, and q·k still depends only on the offset', () => {
  const e0 = new Float64Array(D);
  e0[0] = 1;
  const one = rotateAt(e0, invFreq, 1, true);
  assert.ok(Math.abs(one[0] - Math.cos(invFreq[0])) < 1e-12 && Math.abs(one[1] - Math.sin(invFreq[0])) < 1e-12);
  assert.equal(one[D / 2], 0, 'the half layout’s partner is not touched');
  const turned = rotateAt(q, invFreq, 11, true);
  rotateAt(turned, invFreq, -11, true).forEach((x, d) => assert.ok(Math.abs(x - q[d]) < 1e-12));
  const pair = { q: rotateAt(q, invFreq, 9, true), k: rotateAt(k, invFreq, 4, true), qPos: 9, kPos: 4 };
  const { shifted } = offsetScores(pair, invFreq, [0, 1, 4, 10], 64, true);
  for (const r of shifted) assert.ok(Math.abs(r.score - dot(pair.q, pair.k)) < 1e-9);
  // The other layout's raw vectors differ: un-turning with it recovers a different q.
  assert.ok(rotateAt(pair.q, invFreq, -9).some((x, d) => Math.abs(x - q[d]) > 1e-6));
});

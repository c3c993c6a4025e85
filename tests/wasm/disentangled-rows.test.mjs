// The positions view's DeBERTa strip (www/views/positions.js `disentangledRows`): the table row of every
// distance, against transformers' own `make_log_bucket_position` (recorded by scripts/fixtures/families.py
// in deberta_v3's reference.json for every distance of a 1,024-token text, at deberta-v3's settings and three
// others), and the clamp without buckets.
//
//   node --test tests/wasm/disentangled-rows.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { disentangledRows } from '../../www/views/positions.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const meta = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/models/deberta_v3/reference.json'), 'utf8')).meta.log_buckets;

test('every distance reads the row transformers gives it, at each bucket setting stored (one of them folds far distances back)', () => {
  const [first, last] = meta.relative;
  const n = last; // distances -n..n
  assert.equal(first, -n);
  for (const [key, want] of Object.entries(meta.buckets)) {
    const [buckets, maxDistance] = key.split(',').map(Number);
    const span = buckets;
    const got = disentangledRows([span, buckets, maxDistance, 1, 1], n);
    assert.deepEqual(got.distances.slice(0, 3), [-n, -n + 1, -n + 2]);
    // HF's bucket is of query − key; the strip's distance is key − query. Row = clamp(bucket + S).
    const rows = got.distances.map((d) => Math.min(Math.max(want[-d - first] + span, 0), 2 * span - 1));
    assert.deepEqual(got.buckets, rows, `buckets ${buckets} over ${maxDistance}`);
    assert.equal(got.numBuckets, 2 * span);
    assert.ok(new Set(got.buckets).size > buckets, 'near distances have rows of their own');
  }
});

test('without buckets, distances are clamped to the table', () => {
  const got = disentangledRows([6, 0, 6, 1, 1], 10);
  // key − query = δ reads row clamp(−δ + 6) of 12.
  assert.deepEqual(got.buckets, got.distances.map((d) => Math.min(Math.max(-d + 6, 0), 11)));
  assert.equal(got.buckets[0], 11, 'far to the left: the last row');
  assert.equal(got.buckets.at(-1), 0, 'far to the right: the first row');
});

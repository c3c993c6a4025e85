// The line under a finished generation (www/views/generated.js: generationStatus), shared by the page and the
// <glassbox-generation> widget: how the run ended, and what to do when a model ended before writing anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generationStatus } from '../../www/views/generated.js';

test('a run that wrote tokens says how it ended', () => {
  assert.equal(generationStatus({ ids: [11, 12, 0], stoppedBy: 'eos' }, 'decoder-only'), 'Stopped at the end-of-sequence token.');
  assert.equal(generationStatus({ ids: [11, 12, 13], stoppedBy: 'max' }, 'decoder-only'), 'Stopped after 3 tokens (the maximum).');
  assert.equal(generationStatus({ ids: [11], stoppedBy: 'cancel' }, 'encoder-decoder'), 'Stopped.');
  assert.equal(generationStatus({ ids: [], stoppedBy: undefined }, 'decoder-only'), '');
});

test('a decoder that ends at once is told why and given a text to try', () => {
  const line = generationStatus({ ids: [0], stoppedBy: 'eos' }, 'decoder-only');
  assert.match(line, /^Stopped at once: the likeliest first token was the end-of-sequence token/);
  assert.match(line, /Once upon a time/);
  // A translator's empty output is not about where the text stops.
  const empty = generationStatus({ ids: [1], stoppedBy: 'eos' }, 'encoder-decoder');
  assert.match(empty, /^Stopped at once: .*the output is empty\.$/);
  assert.doesNotMatch(empty, /Once upon a time/);
  // Two tokens, the second the end: it wrote one, so the plain line.
  assert.equal(generationStatus({ ids: [5, 0], stoppedBy: 'eos' }, 'decoder-only'), 'Stopped at the end-of-sequence token.');
});

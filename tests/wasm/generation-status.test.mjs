// The lines under a finished generation (www/views/generated.js): how the run ended (generationStatus, shared by
// the page and the <glassbox-generation> widget; what to do when a model ended before writing anything) and how fast
// it decoded (decodeRate, the page's tokens/s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRate, generationStatus } from '../../www/views/generated.js';

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
  // "The likeliest" holds for greedy decoding only: a sampled end token may not be, and beam search picks
  // a sequence by its score.
  const drawn = generationStatus({ ids: [0], stoppedBy: 'eos' }, 'decoder-only', { temperature: 0.8 });
  assert.match(drawn, /^Stopped at once: the first token drawn was the end-of-sequence token/);
  assert.doesNotMatch(drawn, /likeliest first/);
  const beam = generationStatus({ ids: [0], stoppedBy: 'eos', beams: [{ ids: [0], score: -0.1 }] }, 'encoder-decoder', { temperature: 0, numBeams: 4 });
  assert.match(beam, /^Stopped at once: of the sequences beam search kept, the best scoring is the end-of-sequence token alone/);
  assert.match(generationStatus({ ids: [0], stoppedBy: 'eos' }, 'decoder-only', { temperature: 0 }), /the likeliest first token/);
  // Two tokens, the second the end: it wrote one, so the plain line.
  assert.equal(generationStatus({ ids: [5, 0], stoppedBy: 'eos' }, 'decoder-only'), 'Stopped at the end-of-sequence token.');
});

test('decoding speed comes from the worker\'s stamps, not from when the tokens reached the page', () => {
  // Four tokens decoded 1 ms apart after the first: 3 tokens in 3 ms, however they were batched on the way.
  const steps = [{ ms: 40 }, { ms: 41 }, { ms: 42 }, { ms: 43 }];
  assert.equal(decodeRate(steps, { stoppedBy: 'max' }), 1000);
  assert.equal(decodeRate([{ ms: 10 }, { ms: 110 }], {}), 10);
  // Nothing to time: one token, no stamps, stamps that do not advance, or a beam search's replay.
  assert.equal(decodeRate([{ ms: 5 }], {}), undefined);
  assert.equal(decodeRate([{}, {}], {}), undefined);
  assert.equal(decodeRate([{ ms: 5 }, { ms: 5 }], {}), undefined);
  assert.equal(decodeRate(steps, { beams: [{ ids: [1], score: -1 }] }), undefined);
});

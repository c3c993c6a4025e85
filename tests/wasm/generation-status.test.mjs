// The lines under a finished generation (www/views/generated.js): how the run ended (generationStatus, shared by
// the page and the <glassbox-generation> widget; what to do when a model ended before writing anything) and how fast
// it decoded (decodeRate, the page's tokens/s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRate, generationStatus, repeatedPhrase, repetitionNote } from '../../www/views/generated.js';

test('a run that wrote tokens says how it ended', () => {
  assert.equal(generationStatus({ ids: [11, 12, 0], stoppedBy: 'eos' }, 'decoder-only'), 'Stopped at the end-of-sequence token.');
  assert.equal(generationStatus({ ids: [11, 12, 13], stoppedBy: 'max' }, 'decoder-only'), 'Stopped after 3 tokens (the maximum).');
  assert.equal(generationStatus({ ids: [11, 12, 13], stoppedBy: 'max' }, 'decoder-only', { maxNewTokens: 3 }), 'Stopped after 3 tokens (the maximum).');
  // The core fits a request to the position table: three of twenty is not "the maximum".
  assert.equal(generationStatus({ ids: [11, 12, 13], stoppedBy: 'max' }, 'decoder-only', { maxNewTokens: 20 }),
    'Stopped after 3 tokens, short of the 20 asked for: the text reached the longest this model runs (its position limit).');
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

test('an output that goes round in circles is told which phrase comes back, and why', () => {
  // The prompt's words count too ("said" ends it): the commonest run is "said i said".
  assert.deepEqual(repeatedPhrase('My mother said', ' I said I said I said I said'), { phrase: 'said I said', count: 4 });
  assert.deepEqual(repeatedPhrase('The old man', ' is a man who is a man who'), { phrase: 'is a man', count: 2 });
  // Words are runs of letters: hyphens and case do not hide a loop (the phrase is shown as first written);
  // overlapping runs count.
  assert.deepEqual(repeatedPhrase('In the', ' new-And-and-and-and-and'), { phrase: 'And and and', count: 3 });
  // The prompt's own repeats are the reader's: only a recurrence the model wrote counts.
  assert.equal(repeatedPhrase('one two three one two three', ' and then it ended.'), null);
  assert.deepEqual(repeatedPhrase('one two three', ' one two three.'), { phrase: 'one two three', count: 2 });
  assert.equal(repeatedPhrase('Once upon a time', ' there was a little girl who lived in a village.'), null);
  assert.equal(repeatedPhrase('', ''), null);
  // The most frequent phrase wins; the earliest on a tie.
  assert.equal(repeatedPhrase('', 'a b c a b c x y z x y z x y z').phrase, 'x y z');

  const greedy = repetitionNote('My mother said', ' I said I said I said I said', { sampling: { temperature: 0 } });
  assert.match(greedy, /^The text goes round in circles: “said I said” comes 4 times\. Greedy decoding always takes the likeliest token/);
  const sampled = repetitionNote('My mother said', ' I said I said I said', { sampling: { temperature: 0.8 } });
  assert.equal(sampled, 'The text repeats itself: “said I said” comes 3 times.');
  assert.match(repetitionNote('', 'le chat le chat le chat', { beams: true }), /^The text repeats itself: .*Beam search keeps the likeliest whole sequences/);
  assert.equal(repetitionNote('Once upon a time', ' there was a girl.', {}), '');
});

test('a top-k at or above the vocabulary is sent as the vocabulary, as transformers takes the smaller of the two', async () => {
  const { topKWithin } = await import('../../www/views/sampling.js');
  assert.equal(topKWithin(2 ** 32, 17000), 17000);
  assert.equal(topKWithin(17001, 17000), 17000);
  assert.equal(topKWithin(40, 17000), 40);
  assert.equal(topKWithin(0, 17000), 0);
});

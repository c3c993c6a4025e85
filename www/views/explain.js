// Short explanations tied to what is on screen: the model's type, its position scheme and the attention
// kind being shown. Our own words, kept brief; the tutorial page goes deeper.

const KIND = {
  'encoder-only': 'An encoder reads the whole text at once: every token may look at every other, before and after ' +
    'it. What comes out is one vector per token, a meaning in context, used to classify or compare text; ' +
    'it does not write new text.',
  'decoder-only': 'A decoder writes text one token at a time, predicting the next token from the ones before it. ' +
    'To learn that honestly it is never allowed to look ahead: each token attends only to itself and earlier tokens.',
  'encoder-decoder': 'An encoder-decoder first reads the whole input with its encoder, then a decoder writes the ' +
    'output token by token, looking back at its own output and, through cross-attention, at the encoded input. ' +
    'This is the shape of translation and summarising models.',
};

const POSITIONS = {
  learned: 'Attention alone ignores word order, so this model adds a learned position vector to each token.',
  sinusoidal: 'Attention alone ignores word order, so this model adds fixed sine and cosine waves of different ' +
    'frequencies to each token: each position gets its own pattern.',
  relative: 'Attention alone ignores word order; this model instead adds a learned bias to each attention score ' +
    'that depends on how far apart the two tokens are.',
};

export const ATTENTION_KINDS = {
  encoder: {
    label: 'Encoder',
    title: 'Encoder self-attention',
    explain: 'Encoder self-attention: rows are the tokens asking (queries), columns the tokens they look at (keys). ' +
      'Nothing is hidden; each row sums to 1.',
  },
  decoder: {
    label: 'Decoder',
    title: 'Decoder self-attention',
    explain: 'Decoder self-attention: a row is one token choosing what to look at among itself and the tokens before ' +
      'it. A decoder learns to predict the next token, so it must never peek at it: the causal mask removes every ' +
      'later token before the softmax, which is why the upper triangle holds no weights at all.',
  },
  cross: {
    label: 'Cross',
    title: 'Cross-attention',
    explain: 'Cross-attention: rows are decoder tokens (what is being written), columns are encoder tokens (the ' +
      'input). This is where a translation model looks up the source.',
  },
};

export const CAUSAL_NOTE = 'Hatched = masked: a decoder cannot see tokens that come after the one it is reading.';

const LAYER = 'Each layer is attention followed by a small feed-forward network that works on every token by itself; ' +
  'layer normalisation keeps the numbers in a steady range between the two.';

export function modelExplanation(info) {
  if (!info) return '';
  return [KIND[info.kind], POSITIONS[info.positions], LAYER].filter(Boolean).join(' ');
}

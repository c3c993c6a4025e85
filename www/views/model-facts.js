// The model's facts, read from ModelInfo: what kind of transformer it is, how big, how its blocks are built.

import { activationName } from './explain.js';

// The storage chosen at load (`loadModel(…, { weights })`), as the facts list names it.
const WEIGHT_NAMES = { f32: 'f32 (4 bytes a weight)', f16: 'f16 (2 bytes)', bf16: 'bf16 (2 bytes)', int8: 'int8, a scale per 64 (about 1 byte)' };

const KIND_NAMES = { 'encoder-only': 'encoder-only', 'decoder-only': 'decoder-only', 'encoder-decoder': 'encoder-decoder' };
const POSITION_NAMES = { learned: 'learned table', sinusoidal: 'sinusoidal (fixed)', relative: 'relative buckets', rotary: 'rotary (q and k turned)' };

export function formatCount(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** Layer numbers (0-based in, 1-based out) as ranges: [0, 1, 2, 4] -> "1–3, 5". */
export function layerRanges(layers) {
  const parts = [];
  for (let i = 0; i < layers.length; i++) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j] + 1) j++;
    parts.push(j > i ? `${layers[i] + 1}–${layers[j] + 1}` : String(layers[i] + 1));
    i = j;
  }
  return parts.join(', ');
}

/** Which layers see only a window of recent tokens (info.block.slidingLayers), in words; '' when none does. */
export function windowFact(info) {
  const b = info.block;
  // A window as long as the position table never hides a key.
  if (!b?.slidingLayers?.length || !b.slidingWindow || (info.maxPositions && b.slidingWindow >= info.maxPositions)) return '';
  const n = b.slidingLayers.length;
  const all = n === info.nLayers;
  const layers = all ? 'every layer' : `layers ${layerRanges(b.slidingLayers)} (${n} of ${info.nLayers})`;
  return `${layers} ${all ? 'sees' : 'see'} only the last ${b.slidingWindow} tokens, itself included` +
    (all ? '' : `; the other ${info.nLayers - n} ${info.nLayers - n === 1 ? 'sees' : 'see'} every earlier token`);
}

export function formatBytes(n) {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} kB`;
  return `${n} B`;
}

/**
 * @param {HTMLDListElement} dl
 * @param {object|null} info  ModelInfo
 * @param {string} name       what the user picked (bundled name, folder or URL)
 */
export function renderModelFacts(dl, info, name) {
  dl.replaceChildren();
  if (!info) {
    const none = document.createElement('p');
    none.className = 'placeholder';
    none.textContent = 'No model loaded yet.';
    dl.append(none);
    return;
  }
  const windowed = windowFact(info);
  const layers = info.kind === 'encoder-decoder'
    ? `${info.nLayers} encoder + ${info.nDecoderLayers} decoder`
    : String(info.nLayers);
  const rows = [
    ['Model', name],
    ['Type', `${info.modelType} · ${KIND_NAMES[info.kind] ?? info.kind}`],
    ['Layers', layers],
    ['Heads per layer', String(info.nHeads)],
    ['Width (d_model)', String(info.dModel)],
    ['Feed-forward (d_ff)', info.block
      ? `${info.dFF} (${+(info.dFF / info.dModel).toFixed(2)}× d_model), ${activationName(info.block.activation)}${info.block.gatedFfn ? ', gated' : ''}`
      : String(info.dFF)],
    ...(info.block ? [['Normalisation', `${info.block.normPlacement}-norm, ${info.block.normKind}` +
      `${info.block.outputNorms ? '; attention’s and the feed-forward’s outputs normalised too (four norms a layer)' : ''}` +
      `${info.block.qkNorm ? '; each head’s query and key normalised too' : ''}`]] : []),
    ...(info.block && info.block.embeddingScale !== 1
      ? [['Token embeddings', `multiplied by √${info.dModel} ≈ ${info.block.embeddingScale.toFixed(2)} on the way in`]] : []),
    ...(info.block && info.hasLmHead ? [['Output head', (info.block.tiedEmbeddings ? 'tied to the input embeddings' : 'its own matrix (untied)') +
      (info.block.logitSoftcap ? `; logits squashed into ±${info.block.logitSoftcap} (cap · tanh(logit / cap))` : '')]] : []),
    ...(windowed ? [['Attention window', windowed]] : []),
    ...(info.block?.scoreSoftcap ? [['Attention scores', `squashed into ±${info.block.scoreSoftcap} (cap · tanh(score / cap)) before the softmax`]] : []),
    ['Parameters', formatCount(info.nParams)],
    ['Size', formatBytes(info.sizeBytes)],
    ...(info.weights ? [['Weights in memory', WEIGHT_NAMES[info.weights] ?? info.weights]] : []),
    ['Positions', POSITION_NAMES[info.positions] ?? info.positions],
    ['Tokenizer', `${info.tokenizer}, ${formatCount(info.vocabSize)} tokens`],
    ['Longest input', info.maxPositions ? `${info.maxPositions} tokens` : 'no fixed limit'],
  ];
  for (const [k, v] of rows) {
    const div = document.createElement('div');
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = v;
    div.append(dt, dd);
    dl.append(div);
  }
}

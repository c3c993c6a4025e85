// The model's facts, read from ModelInfo: what kind of transformer it is, how big, how its blocks are built.

import { activationName } from './explain.js';

// The storage chosen at load (`loadModel(…, { weights })`), as the facts list names it.
const WEIGHT_NAMES = { f32: 'f32 (4 bytes a weight)', f16: 'f16 (2 bytes)', bf16: 'bf16 (2 bytes)', int8: 'int8, a scale per 64 (about 1 byte)' };

const KIND_NAMES = { 'encoder-only': 'encoder-only', 'decoder-only': 'decoder-only', 'encoder-decoder': 'encoder-decoder' };
const POSITION_NAMES = { learned: 'learned table', sinusoidal: 'sinusoidal (fixed)', relative: 'relative buckets', rotary: 'rotary (q and k turned)', alibi: 'ALiBi (each score lowered by a slope times the distance)', disentangled: 'disentangled (a learned table of relative distances, kept apart from the tokens)' };

/** DeBERTa's table and terms in a few words: `[S, buckets, maxDistance, c2p, p2c]` from the card. */
function disentangledFacts(info) {
  const [span, buckets, maxDistance, c2p, p2c] = info.block.disentangled;
  const terms = [c2p && 'content-to-position', p2c && 'position-to-content'].filter(Boolean).join(' and ') || 'no';
  const rows = buckets > 0 ? `${2 * span} rows, exact up to ${Math.floor(buckets / 2)} tokens apart, log buckets to ${maxDistance}` : `${2 * span} rows, clamped beyond ${span - 1} tokens apart`;
  return `: ${rows}; ${terms} terms in every score${info.maxPositions ? '; plus a learned absolute table' : ''}`;
}

/** A count with its unit, joined by a no-break space so a narrow cell never puts "k" on a line of its own. */
export function formatCount(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}\u00a0B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)}\u00a0M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}\u00a0k`;
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

/** After the layer count: how many sets of weights the layers share (ALBERT), or ''. */
function sharedFact(info) {
  const sets = new Set(info.block?.sharedLayers ?? []).size;
  if (!sets) return '';
  return sets === 1 ? ', all running one shared set of weights' : `, sharing ${sets} sets of weights (each run ${info.nLayers / sets} times)`;
}

/** The Normalisation row: where the norms sit, which kind, and the extra q/k norms. */
function normalisationFact(b) {
  if (b.parallelResidual) {
    return `pre-norm, ${b.normKind}; attention and the feed-forward network side by side, ${b.parallelSharedNorm ? 'reading through one shared norm' : 'each with its own norm'}` +
      `${b.qkNorm ? `; each head’s query and key normalised too${ownScales(b)}` : ''}`;
  }
  const where = b.normPlacement === 'output'
    ? 'on each step’s output only (no norm on what a step reads; two a layer)'
    : `${b.normPlacement}-norm`;
  return `${where}, ${b.normKind}` +
    `${b.outputNorms && b.normPlacement !== 'output' ? '; attention’s and the feed-forward’s outputs normalised too (four norms a layer)' : ''}` +
    `${b.qkNorm ? (b.qkNormPerHead ? `; each head’s query and key normalised too${ownScales(b)}` : '; the queries and the keys normalised too, all heads at once') : ''}`;
}

/** StableLM's per-head q/k norms each learn their own scale (the others' heads share one). */
function ownScales(b) {
  return b.qkNormOwnScales ? ', each head with a scale of its own' : '';
}

/** The Token embeddings row: √d_model (Gemma, BART's scale_embedding) or a number the config gives (Granite). */
function embeddingScaleFact(info) {
  const s = info.block.embeddingScale;
  const root = Math.sqrt(info.dModel);
  return Math.abs(s - root) <= 1e-4 * root
    ? `multiplied by √${info.dModel} ≈ ${s.toFixed(2)} on the way in`
    : `multiplied by ${fmtNumber(s)} on the way in (embedding_multiplier)`;
}

/** A config number, short: 12, 0.22, 0.0078125. */
function fmtNumber(x) {
  return String(+x.toPrecision(6));
}

/** Which layers see only a window of recent tokens (info.block.slidingLayers), in words; '' when none does. */
export function windowFact(info) {
  const b = info.block;
  if (b?.bandLayers?.length && b.bandReach && !(info.maxPositions && b.bandReach >= info.maxPositions)) {
    const n = b.bandLayers.length;
    const all = n === info.nLayers;
    const layers = all ? 'every layer' : `layers ${layerRanges(b.bandLayers)} (${n} of ${info.nLayers})`;
    return `${layers} ${all ? 'sees' : 'see'} only the tokens at most ${b.bandReach} positions away, before or after` +
      (all ? '' : `; the other ${info.nLayers - n} ${info.nLayers - n === 1 ? 'sees' : 'see'} every token`);
  }
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
    ['Layers', layers + sharedFact(info)],
    ['Heads per layer', String(info.nHeads)],
    ['Width (d_model)', String(info.dModel)],
    ['Feed-forward (d_ff)', info.block
      ? `${info.dFF} (${+(info.dFF / info.dModel).toFixed(2)}× d_model), ${activationName(info.block.activation)}${info.block.gatedFfn ? ', gated' : ''}`
      : String(info.dFF)],
    ...(info.block ? [['Normalisation', normalisationFact(info.block)]] : []),
    ...(info.block && info.block.embeddingScale !== 1 ? [['Token embeddings', embeddingScaleFact(info)]] : []),
    ...(info.block?.embeddingWidth ? [['Embedding width', info.modelType === 'opt'
      ? `${info.block.embeddingWidth}, widened to ${info.dModel} by one matrix before the first layer and narrowed back by another after the last, for the tied output head (word_embed_proj_dim)`
      : `${info.block.embeddingWidth}, widened to ${info.dModel} by one matrix before the first layer (embedding_size)`]] : []),
    ...(info.block?.residualScale != null && info.block.residualScale !== 1
      ? [['Residual stream', `each step’s output multiplied by ${fmtNumber(info.block.residualScale)} before it is added (residual_multiplier)`]] : []),
    ...(info.block && info.hasLmHead ? [['Output head', (info.block.tiedEmbeddings ? 'tied to the input embeddings' : 'its own matrix (untied)') +
      (info.block.logitSoftcap ? `; logits squashed into ±${info.block.logitSoftcap} (cap · tanh(logit / cap))` : '') +
      (info.block.logitsDivisor ? `; logits divided by ${fmtNumber(info.block.logitsDivisor)} (logits_scaling)` : '') +
      (info.block.logitScale != null ? `; logits multiplied by ${fmtNumber(info.block.logitScale)} (logit_scale)` : '')]] : []),
    ...(info.classifier ? [['Classification head', classifierFact(info.classifier)]] : []),
    ...(windowed ? [['Attention window', windowed]] : []),
    ...(info.block?.scoreScale != null ? [['Attention scores', info.block.scoreScale === 1
      ? `q·k as it is, not divided by √d_k = ${fmtNumber(Math.sqrt(info.block.dHead))}: the model was trained without that factor`
      : `q·k times ${fmtNumber(info.block.scoreScale)}, a number the config sets (attention_multiplier), not 1/√d_k = ${fmtNumber(1 / Math.sqrt(info.block.dHead))}`]] : []),
    ...(info.block?.clipQkv != null ? [['Queries, keys, values', `clamped to ±${fmtNumber(info.block.clipQkv)} straight after their projections (clip_qkv)`]] : []),
    ...(info.block?.scoreSoftcap ? [['Attention scores', `squashed into ±${info.block.scoreSoftcap} (cap · tanh(score / cap)) before the softmax`]] : []),
    // transformers counts Marian's sinusoid tables among the parameters (frozen), and so does the card.
    ['Parameters', formatCount(info.nParams) + (info.modelType === 'marian' && info.positions === 'sinusoidal'
      ? ', as transformers counts them: the fixed sinusoid position tables included, which are computed, not learned' : '')],
    ['Size', formatBytes(info.sizeBytes)],
    ...(info.weights ? [['Weights in memory', WEIGHT_NAMES[info.weights] ?? info.weights]] : []),
    ['Positions', (POSITION_NAMES[info.positions] ?? info.positions) +
      (info.positions === 'rotary' && info.block?.rotaryDims ? `, on the first ${info.block.rotaryDims} of each head’s ${info.block.dHead} dimensions` : '') +
      (info.block?.rotaryInterleaved ? ', turning neighbouring dimensions together (pair i is dimensions 2i and 2i + 1)' : '') +
      (info.block?.relativeBias ? ', plus a learned bias per head for each distance bucket between two tokens (one bucket per distance nearby, wider log-spaced buckets further out; the same in every layer)' : '') +
      (info.block?.disentangled ? disentangledFacts(info) : '') +
      (info.positions === 'rotary' && info.block?.unrotatedLayers?.length
      ? `, except layers ${layerRanges(info.block.unrotatedLayers)} (${info.block.unrotatedLayers.length} of ${info.nLayers}), which turn nothing and see no positions (“NoPE”)` : '')],
    ['Tokenizer', `${info.tokenizer}; ${formatCount(info.vocabSize)} ids in the embedding table (vocab_size)`],
    ['Longest input', info.maxPositions ? `${info.maxPositions} tokens` : 'no fixed limit'],
    ...(info.unusedTensors?.length ? [['Weights not used', unusedFact([...info.unusedTensors].sort())]] : []),
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

/**
 * Tensors of the file the model never read: a config.json that is not these weights' (fewer layers than the
 * file holds) would otherwise run a different network in silence; with the right config they are a part
 * this model does not build (a pretraining head, a vision tower).
 */
function unusedFact(names) {
  const shown = names.slice(0, 4).join(', ') + (names.length > 4 ? `, … (${names.length} in all)` : '');
  return `${names.length === 1 ? '1 tensor' : `${names.length} tensors`} of the file ${names.length === 1 ? 'is' : 'are'} not read by the ` +
    `model as config.json describes it: ${shown}. Check that config.json belongs to these weights (a smaller num_hidden_layers, ` +
    'say); if it does, they belong to a part this model does not use here, such as a pretraining head or a vision tower.';
}

/** What a fine-tuned classifier's head answers, its labels and how its scores are read. */
function classifierFact(head) {
  const n = head.labels.length;
  const names = head.labels.slice(0, 8).join(', ') + (n > 8 ? `, … (${n} in all)` : '');
  if (head.task === 'span') return `extractive question answering: a start and an end score for every token, the answer the likeliest span of the passage (the second text); ${head.architecture}`;
  const what = head.task === 'token' ? `a label for every token, one of ${n}` : n === 1 ? 'one score for the whole text' : `one of ${n} labels for the whole text`;
  const read = { softmax: 'a softmax over the labels', sigmoid: 'a sigmoid per label', none: 'the raw score (regression)' }[head.scoring] ?? head.scoring;
  return `${what} (${names}); ${read}; ${head.architecture}`;
}

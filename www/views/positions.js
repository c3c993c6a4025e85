// Positions: how the model knows word order. Learned tables (GPT-2, BERT, BART) and Marian's
// sinusoids are drawn as a heat image (positions × dimensions) plus a few dimensions as curves;
// T5's relative positions as the bucket of every distance and what each head adds per bucket;
// rotary positions (Llama, Qwen2) as the angle each pair of head dimensions is turned by at each
// position, and a demonstration that q·k after the turn depends only on the offset.
// Data: model.positionVectors(stack, n) -> { data, shape: [N, C] },
// model.relativePositions(stack, n), and for rotary models model.rotaryAngles(n) ->
// { nPositions, nPairs, theta, scaling: 'default'|'linear'|'llama3'|'longrope'|'yarn'|'dynamic', invFreq: Float32Array [D/2],
//   originalMaxPositions, attentionFactor (LongRoPE, YaRN), longFactors (LongRoPE),
//   angles: { data: Float32Array, shape: [N, D/2] } }   (radians; pair i = head dims (i, i + D/2)).

import { divergingColour, maxAbsOf, fmt, vectorStrip, stripLegend } from './vector-strip.js';
import { scrollRegion } from './scroll-region.js';

// Layout, in CSS pixels.
const IMAGE_MAX_WIDTH = 340;
const ROW_PX = 4;                 // height of one position in the heat image
const CURVE_HEIGHT = 110;
const CURVE_PAD = 4;
const CURVE_COLOURS = ['#2c66ad', '#d6336c', '#2f9e44', '#e8890c'];
const BUCKET_CELL = 22;

export const POSITION_EXPLANATIONS = {
  learned: 'Learned positions: the model has a table with one trained vector per position and adds position p’s vector to the token at position p. ' +
    'Nothing forces a pattern; whatever structure you see was learned from data.',
  sinusoidal: 'Sinusoidal positions: no table is trained. Each dimension is a sine or a cosine of the position; each sine has a ' +
    'cosine partner of the same wavelength, and the wavelengths run from fast waves to slow ones, so every position gets a unique, ' +
    'smoothly changing pattern.',
  rotary: 'Rotary positions: nothing is added to the tokens. Inside every head, the query and the key are cut into pairs of ' +
    'numbers and each pair is turned like a clock hand by an angle that grows with the position: fast for the first pairs, slow for ' +
    'the last. Turning both q and k means their dot product only sees the difference of the two turns, so positions reach the ' +
    'score only through how far apart the two tokens are, not through where they stand; the rest of the score is what q and k hold.',
  alibi: 'ALiBi (attention with linear biases): nothing is added to the tokens, and nothing about positions is learned. Every ' +
    'attention score is lowered by a fixed amount that grows in a straight line with the distance: a key n tokens back loses ' +
    'n times the head’s slope. Each head has its own slope, fixed before training (a geometric sequence; when the number of heads is not a power of two, ' +
    'the heads past the largest power of two take a second sequence whose slopes fall between the first’s), so steep heads attend ' +
    'close by and gentle ones can reach far back. Apart from the causal mask (a decoder sees only earlier tokens), the penalty is ' +
    'all the model knows of word order.',
  disentangled: 'Disentangled positions (DeBERTa): the tokens carry what they say, and where they are is kept apart, in a learned ' +
    'table with one vector for each relative distance (far distances share rows). Each layer turns those vectors into position keys and queries (with the ' +
    'projections it uses for the tokens, or with two of their own), and in every head each attention score can add two terms to ' +
    'the usual query·key: the query’s content against the key’s ' +
    'distance from it (content-to-position), and the key’s content against that same distance, its table row projected as a ' +
    'query (position-to-content). With both, the sum is divided by √(3·d) ' +
    'instead of √d, as there are three dot products (√(2·d) with only one of the two).',
  relative: 'Relative positions: nothing is added to the tokens. Instead each self-attention score gets a learned bias (a number added, positive or negative) that depends only on ' +
    'where the key sits relative to the query: how far, and in the encoder on which side (grouped into buckets: exact for near ' +
    'words, coarser for far ones). The encoder and the decoder learn a table each; cross-attention, where the decoder reads ' +
    'the encoder, gets no position bias.',
};

/** Which of DeBERTa's two position terms this checkpoint uses (pos_att_type), from the card's `[S, buckets, maxDistance, c2p, p2c]`. */
function termsNote(view) {
  const d = view.positions === 'disentangled' ? view.disentangled : null;
  if (!d) return '';
  const names = [d[3] && 'content-to-position', d[4] && 'position-to-content'].filter(Boolean);
  return names.length === 2 ? ' This checkpoint uses both terms.'
    : names.length === 1 ? ` This checkpoint uses only ${names[0]}, so its scores are divided by √(2·d).`
      : ' This checkpoint adds neither term, so its scores see no positions from the table.';
}

/** What bounds the positions a model can take, from its card (`view.maxPositions`). */
function limitNote(view) {
  const n = view.maxPositions;
  if (view.positions === 'sinusoidal') {
    return n
      ? ` The formula gives a pattern for any position, but this model’s limit is ${n} tokens (max_position_embeddings): ` +
        'positions it never saw in training would be new to it.'
      : ' The formula gives a pattern for any position, and this model computes its waves for whatever length it is given, ' +
        'so it has no fixed limit; positions far past the lengths it was trained on would still be new to it.';
  }
  if (view.positions === 'learned') return n ? ` The table covers ${n} positions, so the longest input is ${n} tokens.` : '';
  if (view.positions === 'rotary') return n ? ` The angle is defined for any position; this model was configured for up to ${n} tokens.` : '';
  if (view.positions === 'relative') return ' Far distances share a bucket, so there is no table to run out of: T5 has no fixed input limit.';
  if (view.positions === 'disentangled') return n
    ? ` This checkpoint also adds a learned vector per absolute position to the tokens, so its longest input is ${n} tokens.`
    : ' Far distances share the table’s first and last rows, so there is no table to run out of and no fixed input limit.';
  if (view.positions === 'alibi') return ' The penalty is defined at any distance, so there is no table to run out of and no fixed input limit; ' +
    'texts much longer than the ones it was trained on still meet distances it has never seen.';
  return '';
}

/** Dimensions worth plotting as curves: for sinusoids a fast, a medium and a slow sine plus the first cosine
 * (`interleaved`: sin on even dimensions, cos on odd, as DistilBERT and the original paper; else Marian's halves). */
export function curveDims(positions, C, interleaved = false) {
  const even = (d) => d - (d % 2);
  if (positions === 'sinusoidal' && interleaved) return [0, even(Math.floor(C / 8)), even(Math.floor(C / 4)), 1];
  if (positions === 'sinusoidal') return [0, Math.floor(C / 8), Math.floor(C / 4), Math.floor(C / 2)];
  return [0, 1, 2, 3].filter((d) => d < C);
}

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {'learned'|'sinusoidal'|'relative'|'rotary'} view.positions
 * @param {{data: Float32Array, shape: [number, number]}} [view.table]    learned / sinusoidal
 * @param {object} [view.relative]                                        T5
 * @param {object} [view.rotary]     model.rotaryAngles(n) (Llama, Qwen2)
 * @param {object} [view.pair]       a real query/key pair for the offset demonstration, as the model
 *   computed them (already turned): { q, k: Float32Array [D], qPos, kPos, qLabel, kLabel, head, layer }
 *   (e.g. from a decoder Q/K/V trace: q[head][qPos], k[head][kPos]). Without it the demonstration
 *   uses a fixed example pair, and says so.
 */
export function renderPositions(root, view) {
  root.replaceChildren();
  const layout = view.positions !== 'sinusoidal' ? ''
    : view.modelType === 'distilbert'
      ? ' This model interleaves them as the original transformer paper does: sines on even dimensions, cosines on odd ones.'
      : ' This model puts all the sines in the first half of the dimensions and the cosines in the second, each half running from fast to slow.';
  root.append(el('p', 'explain', POSITION_EXPLANATIONS[view.positions] + layout + termsNote(view) + limitNote(view)));
  const readout = el('p', 'readout', 'Hover the picture to read a value.');
  readout.setAttribute('aria-live', 'polite');
  if (view.table) {
    const [N, C] = view.table.shape;
    root.append(el('p', 'curve-axes', `Rows ↓: positions 0 to ${N - 1} (top = 0). Columns →: the ${C} dimensions of a position vector.`),
      heatImage(view.table.data, N, C, readout), stripLegend([{ name: 'position vectors', maxAbs: maxAbsOf(view.table.data) }]), readout);
    const interleaved = view.modelType === 'distilbert';
    const dims = curveDims(view.positions, C, interleaved);
    const curveMax = maxAbsOf(...dims.map((d) => Array.from({ length: N }, (_, p) => view.table.data[p * C + d])));
    root.append(curves(view.table.data, N, C, dims),
      el('p', 'curve-axes', `Curves: horizontal axis, position 0 (left) to ${N - 1} (right); vertical axis, the dimension’s value ` +
        `from −${fmt(curveMax, 3)} (bottom) to +${fmt(curveMax, 3)} (top); the grey line is 0.`));
    const key = el('p', 'muted curve-key');
    dims.forEach((d, i) => {
      const sw = el('span', 'curve-swatch');
      sw.style.background = CURVE_COLOURS[i];
      const sin = interleaved ? d % 2 === 0 : d < C / 2;
      key.append(sw, ` dim ${d}${view.positions === 'sinusoidal' ? (sin ? ' (sin)' : ' (cos)') : ''}  `);
    });
    root.append(key);
    if (view.relative) {
      // MPNet: besides the table, every layer adds a learned bias per head and distance bucket.
      const biasReadout = el('p', 'readout', 'Hover the buckets or the bias to read a value.');
      biasReadout.setAttribute('aria-live', 'polite');
      root.append(el('p', 'explain', 'This model also adds a learned bias to every attention score that depends only on where the key sits ' +
        'relative to the query (how far, and on which side; distances grouped into buckets, exact for near ones and coarser further out). ' +
        'The table below is the same in every layer: the vectors above say where a token is, the bias says how far apart two tokens are.'),
      bucketStrip(view.relative, biasReadout), biasReadout, biasImage(view.relative, biasReadout),
      stripLegend([{ name: 'bias', maxAbs: maxAbsOf(view.relative.bias.data) }], 'A positive bias raises the score (more attention), a negative one lowers it.', 'head and bucket'));
    }
  } else if (view.relative) {
    root.append(bucketStrip(view.relative, readout), readout, biasImage(view.relative, readout),
      stripLegend([{ name: 'bias', maxAbs: maxAbsOf(view.relative.bias.data) }], 'A positive bias raises the score (more attention), a negative one lowers it.', 'head and bucket'));
  } else if (view.alibi) {
    root.append(alibiTable(view.alibi));
  } else if (view.rotary) {
    const [N, P] = view.rotary.angles.shape;
    root.append(el('p', 'curve-axes', `Rows ↓: positions 0 to ${N - 1} (top = 0). Columns →: the ${P} pairs of head dimensions, fastest ` +
      'first. Colour: where the pair’s clock hand points (the hue goes once round the colour wheel per full turn).'),
    angleImage(view.rotary, readout), readout, angleKey(view.rotary, view.modelType, view.unrotatedLayers), offsetDemo(view.rotary, view.pair));
  }
  if (view.disentangled) {
    const rowReadout = el('p', 'readout', 'Hover the strip to read a distance and its row.');
    rowReadout.setAttribute('aria-live', 'polite');
    const [span, buckets] = view.disentangled;
    root.append(el('p', 'explain', buckets > 0
      ? `Which row of the relative table each distance reads: every distance up to ${Math.floor(buckets / 2)} has a row of its own, farther ones share rows on a logarithmic scale (the table has ${2 * span} rows).`
      : `Which row of the relative table each distance reads: one row per distance up to ${span - 1}, and the first or last row for anything farther (the table has ${2 * span} rows).`),
    bucketStrip(disentangledRows(view.disentangled, DISENTANGLED_SHOWN), rowReadout), rowReadout);
  }
}

const DISENTANGLED_SHOWN = 40;

/** DeBERTa's table row for each distance (key − query) from −n to n, as transformers computes it
 *  (`make_log_bucket_position` in f32, then the clamp to the table): the bucketStrip's data. */
export function disentangledRows([span, buckets, maxDistance], n) {
  const f = Math.fround;
  const bucket = (d) => {
    if (buckets <= 0) return d;
    const mid = Math.floor(buckets / 2);
    const abs = d < mid && d > -mid ? mid - 1 : Math.abs(d);
    if (abs <= mid) return d;
    const logPos = Math.ceil(f(f(f(Math.log(f(abs / mid))) / f(Math.log(f((maxDistance - 1) / mid)))) * (mid - 1))) + mid;
    return logPos * Math.sign(d);
  };
  const distances = Array.from({ length: 2 * n + 1 }, (_, i) => i - n);
  // transformers' distance is query − key; the strip's is key − query.
  const rows = distances.map((d) => Math.min(Math.max(bucket(-d) + span, 0), 2 * span - 1));
  return { distances, buckets: rows, numBuckets: 2 * span, bidirectional: true };
}

// ----------------------------------------------------------------------------------------------
// Rotary positions. The layout is Hugging Face's (`rotate_half`): pair i of a head of width D is
// dimensions (i, i + D/2), turned by angle p · invFreq[i] at position p; Cohere's (`interleaved`)
// pairs neighbours instead, dimensions (2i, 2i + 1).

/** `x` (one head, [D]) turned by `angle(i)` per pair: x'[i] = x[i]cos − x[i+R/2]sin, x'[i+R/2] = x[i+R/2]cos + x[i]sin
 *  for the first R = 2·half dimensions (all of them unless the model turns only part of a head); the rest pass through.
 *  `interleaved`: the pair is (2i, 2i + 1) instead. */
export function rotatePairs(x, angle, half = x.length / 2, interleaved = false) {
  const out = Float64Array.from(x);
  for (let i = 0; i < half; i++) {
    const a = angle(i);
    const c = Math.cos(a);
    const s = Math.sin(a);
    const [m, n] = interleaved ? [2 * i, 2 * i + 1] : [i, i + half];
    out[m] = x[m] * c - x[n] * s;
    out[n] = x[n] * c + x[m] * s;
  }
  return out;
}

/** `x` turned as at `position` (negative positions turn back). */
export function rotateAt(x, invFreq, position, interleaved = false) {
  return rotatePairs(x, (i) => position * invFreq[i], invFreq.length, interleaved);
}

export function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The offset demonstration: un-turn the model's q (at qPos) and k (at kPos), then turn them as if
 * they sat at (qPos + s, kPos + s) for each shift s: every score equals the one at shift 0, while
 * the same vectors at a different offset score differently.
 * @returns {{ shifted: Array<{qPos, kPos, score}>, other: Array<{qPos, kPos, score}>, raw: {q, k} }}
 */
export function offsetScores({ q, k, qPos, kPos }, invFreq, shifts, maxPos, interleaved = false) {
  const turn = (x, p) => rotateAt(x, invFreq, p, interleaved);
  const raw = { q: turn(q, -qPos), k: turn(k, -kPos) };
  const score = (i, j) => ({ qPos: i, kPos: j, score: dot(turn(raw.q, i), turn(raw.k, j)) });
  const shifted = shifts.filter((s) => qPos + s >= 0 && kPos + s >= 0 && Math.max(qPos, kPos) + s < maxPos).map((s) => score(qPos + s, kPos + s));
  const offsets = [0, 1, 3, 8].map((d) => d + Math.abs(qPos - kPos)).filter((d, i, all) => all.indexOf(d) === i);
  const other = offsets.filter((d) => d !== qPos - kPos && d < maxPos).slice(0, 3).map((d) => score(d, 0));
  return { shifted, other, raw };
}

function angleImage(rot, readout) {
  const [N, P] = rot.angles.shape;
  const cell = Math.max(3, Math.floor(IMAGE_MAX_WIDTH / P));
  const canvas = sized(cell * P, ROW_PX * N);
  canvas.classList.add('position-image');
  canvas.setAttribute('aria-label', `Rotation angles: ${N} positions (rows, top = 0) by ${P} pairs of head dimensions (columns), as a colour wheel`);
  const ctx = canvas.getContext('2d');
  for (let p = 0; p < N; p++) {
    for (let i = 0; i < P; i++) {
      const a = rot.angles.data[p * P + i];
      const turn = ((a / (2 * Math.PI)) % 1 + 1) % 1;   // where the clock hand points, 0..1 of a turn
      ctx.fillStyle = `hsl(${Math.round(turn * 360)}, 60%, 62%)`;
      ctx.fillRect(i * cell, p * ROW_PX, cell, ROW_PX);
    }
  }
  canvas.addEventListener('pointermove', (e) => {
    const i = Math.floor(e.offsetX / cell);
    const p = Math.floor(e.offsetY / ROW_PX);
    if (i >= 0 && i < P && p >= 0 && p < N) {
      const a = rot.angles.data[p * P + i];
      readout.textContent = `position ${p}, pair ${i} (dims ${rot.interleaved ? `${2 * i} and ${2 * i + 1}` : `${i} and ${i + P}`}): turned by ${fmt(a, 5)} rad = ${fmt((a * 180) / Math.PI, 5)}°` +
        ` (${fmt(rot.invFreq[i], 4)} rad per position, a full turn every ${fmt((2 * Math.PI) / rot.invFreq[i], 4)} positions)`;
    }
  });
  const wrap = el('figure', 'position-figure');
  wrap.append(canvas, el('figcaption', 'muted',
    `rows: positions 0–${N - 1} · columns: the ${P} pairs of the ${2 * P} dimensions it turns` +
    `${rot.dHead > 2 * P ? ` (of each head’s ${rot.dHead}; the other ${rot.dHead - 2 * P} are not turned)` : ' (all of each head’s)'}` +
    ' · colour: the angle, one turn of the colour wheel per full turn'));
  return wrap;
}

/** What LongRoPE's and YaRN's attention factor does, or '' when it is 1. */
function attentionFactorNote(rot, method) {
  const a = rot.attentionFactor;
  if (!a || a === 1) return '';
  return `The turned dimensions of every query and key are also multiplied by ${fmt(a, 4)} (the attention factor), so their part of each score grows ${fmt(a ** 2, 4)} times and attention gets a little sharper, at every length; ${method} uses it to keep attention from spreading thin over long texts.`;
}

function angleKey(rot, modelType, unrotated = []) {
  const P = rot.nPairs;
  const turns = (i) => (2 * Math.PI) / rot.invFreq[i];
  // Linear scaling divides every pair's angle by one factor; pair 0's unscaled angle is 1 radian a position.
  const factor = rot.scaling === 'linear' ? 1 / rot.invFreq[0] : 1;
  const longrope = rot.scaling === 'longrope';
  const text = `Base θ = ${fmt(rot.theta, 6)}: pair i turns by θ^(−2i/${2 * P})${factor !== 1 ? ` / ${fmt(factor, 4)}` : ''}${longrope ? ' / fᵢ' : ''} radians per position, so pair 0 turns fully every ` +
    `${fmt(turns(0), 3)} positions and pair ${P - 1} every ${fmt(turns(P - 1), 4)}.` +
    (rot.scaling === 'llama3' ? ' This model uses Llama 3 scaling: the slow pairs were slowed further (divided by a factor) so that longer texts fit, the fast ones kept, and the ones between blended.' : '') +
    (longrope ? ` This model uses LongRoPE: every pair has a divisor fᵢ of its own, found by a search after training so that long texts still read well. ` +
      `One set (short_factor) serves texts of up to ${rot.originalMaxPositions} tokens, another (long_factor) longer ones; these ${rot.nPositions} positions use the ${rot.longFactors ? 'long' : 'short'} set. ` +
      attentionFactorNote(rot, 'LongRoPE') : '') +
    (rot.scaling === 'yarn' ? ` This model uses YaRN scaling: pairs that turn many times within the ${rot.originalMaxPositions} positions it was first trained on keep their speed, pairs that turn less than about once in that span are slowed by a factor (so that a longer text still looks familiar to them), and the pairs between are blended. ` +
      attentionFactorNote(rot, 'YaRN') : '') +
    (rot.scaling === 'dynamic' ? ' The config asks for dynamic NTK scaling, which would raise the base for texts longer than the model’s positions; within them (all Glassbox runs) the turn is the plain one shown here.' : '') +
    (factor !== 1 ? ` This model uses linear scaling: every pair turns ${fmt(factor, 4)} times more slowly than the base alone would make it, so that positions ${fmt(factor, 4)} times further apart look as close as the base intended.` : '') +
    (modelType === 'gemma3_text' || modelType === 'gemma3' ? ' This is the rotation of Gemma 3’s full-attention layers; its sliding-window layers turn q and k with a base of their own (rope_local_base_freq) and no scaling.' : '') +
    (modelType === 'olmo3' ? ' This is the rotation of OLMo 3’s full-attention layers; its sliding-window layers turn q and k with a rotation of their own (rope_parameters.sliding_attention).' : '') +
    (modelType === 'modernbert' ? ' This is the rotation of ModernBERT’s layers that see every token; its band layers turn q and k with a base of their own (rope_parameters.sliding_attention, 10,000 by default).' : '') +
    (rot.interleaved ? ' This model pairs neighbouring dimensions: pair i is dimensions 2i and 2i + 1 of each head (most models pair dimension i with i + D/2); the angles are the same either way.' : '') +
    (unrotated.length ? ` Layers ${unrotated.map((l) => l + 1).join(', ')} do not use it: they turn nothing, so their attention sees no positions (“NoPE” layers).` : '') +
    (rot.rotaryDims && rot.dHead && rot.rotaryDims < rot.dHead
      ? ` Only the first ${rot.rotaryDims} of each head’s ${rot.dHead} dimensions turn (${P} pairs); the other ${rot.dHead - rot.rotaryDims} carry no position, so that part of every score compares the two tokens by content alone.` : '');
  return el('p', 'muted rotary-key', text);
}

function offsetDemo(rot, pair) {
  const P = rot.nPairs;
  const D = 2 * P;
  const maxPos = rot.angles.shape[0];
  const real = Boolean(pair);
  if (!pair) {
    // A fixed example pair, when no run of the model is at hand.
    const q = Float64Array.from({ length: D }, (_, d) => Math.sin(1.7 * d + 0.3));
    const k = Float64Array.from({ length: D }, (_, d) => Math.cos(0.9 * d + 1.1));
    pair = { q: rotateAt(q, rot.invFreq, 5, rot.interleaved), k: rotateAt(k, rot.invFreq, 2, rot.interleaved), qPos: 5, kPos: 2, qLabel: 'q', kLabel: 'k' };
  }
  const { shifted, other } = offsetScores(pair, rot.invFreq, [0, 1, 4, 10, 25], maxPos, !!rot.interleaved);
  const box = el('div', 'rotary-demo');
  box.append(el('h4', '', 'Why the score only sees the offset'));
  box.append(el('p', 'explain', real
    ? `The model's own query of “${pair.qLabel}” (position ${pair.qPos}) and key of “${pair.kLabel}” (position ${pair.kPos}) in layer ${pair.layer + 1}, head ${pair.head + 1}. ` +
      'Turned back to position 0 and then turned again as if both words had moved along by the same amount, they give the same score:'
    : 'An example query and key. Moved along by the same amount, they give the same score:'));
  const table = el('table', 'rotary-table');
  table.append(el('caption', 'visually-hidden', 'q·k at shifted positions'));
  const head = el('tr');
  for (const c of ['query at', 'key at', 'offset', 'q·k']) head.append(el('th', '', c));
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  const row = (r, cls) => {
    const tr = el('tr', cls);
    tr.append(el('td', 'num', String(r.qPos)), el('td', 'num', String(r.kPos)), el('td', 'num', String(r.qPos - r.kPos)), el('td', 'num', fmt(r.score, 6)));
    tbody.append(tr);
  };
  shifted.forEach((r) => row(r, 'same-offset'));
  other.forEach((r) => row(r, 'other-offset'));
  table.append(thead, tbody);
  box.append(table, el('p', 'muted',
    `The first ${shifted.length} rows keep the offset ${pair.qPos - pair.kPos} and share one score; the last ${other.length} change the offset and the score changes. ` +
    'Each pair of dimensions contributes |q pair|·|k pair|·cos(the angle between them); turning the query by its position’s angle and the key by its own ' +
    'changes that angle by (query position − key position) × the pair’s speed, so only the offset enters the score.'));
  return box;
}

function heatImage(data, N, C, readout) {
  const cell = Math.max(1, Math.floor(IMAGE_MAX_WIDTH / C));
  const width = cell * C;
  const height = ROW_PX * N;
  const canvas = sized(width, height);
  canvas.classList.add('position-image');
  canvas.setAttribute('aria-label', `Position vectors: ${N} positions (rows, top = 0) by ${C} dimensions (columns)`);
  const ctx = canvas.getContext('2d');
  const maxAbs = maxAbsOf(data);
  for (let p = 0; p < N; p++) {
    for (let d = 0; d < C; d++) {
      ctx.fillStyle = divergingColour(data[p * C + d], maxAbs);
      ctx.fillRect(d * cell, p * ROW_PX, cell, ROW_PX);
    }
  }
  canvas.addEventListener('pointermove', (e) => {
    const d = Math.floor(e.offsetX / cell);
    const p = Math.floor(e.offsetY / ROW_PX);
    if (d >= 0 && d < C && p >= 0 && p < N) readout.textContent = `position ${p}, dim ${d}: ${fmt(data[p * C + d], 6)}`;
  });
  const wrap = el('figure', 'position-figure');
  wrap.append(canvas, el('figcaption', 'muted', `rows: positions 0–${N - 1} (top to bottom) · columns: the ${C} dimensions · blue > 0 > orange`));
  return wrap;
}

function curves(data, N, C, dims) {
  const width = IMAGE_MAX_WIDTH;
  const canvas = sized(width, CURVE_HEIGHT);
  canvas.classList.add('position-curves');
  canvas.setAttribute('aria-label', `Values of dimensions ${dims.join(', ')} against position`);
  const ctx = canvas.getContext('2d');
  let max = 0;
  for (const d of dims) for (let p = 0; p < N; p++) max = Math.max(max, Math.abs(data[p * C + d]));
  max = max || 1;
  const x = (p) => CURVE_PAD + (p / Math.max(1, N - 1)) * (width - 2 * CURVE_PAD);
  const y = (v) => CURVE_HEIGHT / 2 - (v / max) * (CURVE_HEIGHT / 2 - CURVE_PAD);
  ctx.strokeStyle = '#c5cad3';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, y(0));
  ctx.lineTo(width, y(0));
  ctx.stroke();
  dims.forEach((d, i) => {
    ctx.strokeStyle = CURVE_COLOURS[i];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (let p = 0; p < N; p++) {
      const v = data[p * C + d];
      if (p === 0) ctx.moveTo(x(p), y(v));
      else ctx.lineTo(x(p), y(v));
    }
    ctx.stroke();
  });
  return canvas;
}

function bucketStrip(rel, readout) {
  const n = rel.distances.length;
  const wrap = el('div', 'bucket-strip');
  wrap.append(el('h4', '', `Distance (key − query) → bucket (${rel.numBuckets} buckets${rel.bidirectional ? ', half per direction' : ', looking back only'})`));
  const canvas = sized(n * BUCKET_CELL, BUCKET_CELL * 2);
  canvas.setAttribute('aria-label', `Buckets of distances ${rel.distances[0]} to ${rel.distances[n - 1]}`);
  const ctx = canvas.getContext('2d');
  ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (let i = 0; i < n; i++) {
    const b = rel.buckets[i];
    const t = b / Math.max(1, rel.numBuckets - 1);
    ctx.fillStyle = `hsl(${210 - 180 * t}, 55%, 80%)`;
    ctx.fillRect(i * BUCKET_CELL, 0, BUCKET_CELL - 1, BUCKET_CELL * 2);
    ctx.fillStyle = '#1d2330';
    ctx.fillText(String(rel.distances[i]), i * BUCKET_CELL + BUCKET_CELL / 2, BUCKET_CELL / 2);
    ctx.fillText(String(b), i * BUCKET_CELL + BUCKET_CELL / 2, BUCKET_CELL * 1.5);
  }
  const show = (i) => { readout.textContent = `distance ${rel.distances[i]} → bucket ${rel.buckets[i]}`; };
  canvas.addEventListener('pointermove', (e) => {
    const i = Math.floor(e.offsetX / BUCKET_CELL);
    if (i >= 0 && i < n) show(i);
  });
  // By keyboard too (and so the scrolling strip can take focus): the arrow keys step through the distances.
  canvas.tabIndex = 0;
  let at = Math.floor(n / 2);
  canvas.addEventListener('focus', () => show(at));
  canvas.addEventListener('keydown', (e) => {
    const step = { ArrowLeft: -1, ArrowRight: 1, Home: -n, End: n }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    at = Math.min(n - 1, Math.max(0, at + step));
    show(at);
  });
  const scroller = el('div', 'heatmap-scroll');
  scroller.append(canvas);
  wrap.append(scroller, el('p', 'muted', 'top: distance · bottom: bucket'));
  return wrap;
}

function biasImage(rel, readout) {
  const [H, B] = rel.bias.shape;
  const cell = Math.max(4, Math.floor(IMAGE_MAX_WIDTH / B));
  const rowPx = 14;
  const canvas = sized(cell * B, rowPx * H);
  canvas.setAttribute('aria-label', `What each of the ${H} heads adds to a score, per bucket`);
  const ctx = canvas.getContext('2d');
  const maxAbs = maxAbsOf(rel.bias.data);
  for (let h = 0; h < H; h++) {
    for (let b = 0; b < B; b++) {
      ctx.fillStyle = divergingColour(rel.bias.data[h * B + b], maxAbs);
      ctx.fillRect(b * cell, h * rowPx, cell, rowPx - 1);
    }
  }
  canvas.addEventListener('pointermove', (e) => {
    const b = Math.floor(e.offsetX / cell);
    const h = Math.floor(e.offsetY / rowPx);
    if (b >= 0 && b < B && h >= 0 && h < H) readout.textContent = `head ${h + 1}, bucket ${b}: adds ${fmt(rel.bias.data[h * B + b], 6)}`;
  });
  const wrap = el('figure', 'position-figure');
  wrap.append(canvas, el('figcaption', 'muted', `rows: heads 1–${H} · columns: buckets 0–${B - 1} · the bias each head adds to a score`));
  return wrap;
}

/**
 * "The dog chased the cat" vs "The cat chased the dog": the same tokens (same embedding rows) at
 * different positions.
 * @param {HTMLElement} root
 * @param {Array<{text: string, labels: string[], ids: number[]}>} sentences   two tokenized sentences
 * @param {'learned'|'sinusoidal'|'relative'} positions
 * @param {object} [vectors]   { tokenRows: [T][C] of sentence a, scale, table: [N][C] position rows }: the
 *                             model's real vectors, to show one moved word's embedding staying put
 */
export function renderOrderDemo(root, sentences, positions, vectors) {
  root.replaceChildren();
  const [a, b] = sentences;
  const same = [...a.ids].sort((x, y) => x - y).join() === [...b.ids].sort((x, y) => x - y).join();
  for (const s of sentences) {
    const row = el('div', 'order-row');
    row.append(el('span', 'order-text', s.text));
    const chips = el('span', 'tokens order-chips');
    s.labels.forEach((label, i) => {
      const c = el('span', 'chip order-chip');
      c.append(label, el('sub', '', String(i)));
      chips.append(c);
    });
    row.append(chips);
    root.append(row);
  }
  const how = positions === 'relative'
    ? 'the attention scores get different distance biases'
    : positions === 'disentangled'
      ? 'the attention scores get different position terms (each pair of tokens is a different distance apart)'
    : positions === 'alibi'
      ? 'the attention scores get different distance penalties'
    : positions === 'rotary'
      ? 'each query and key is turned by a different angle'
      : 'a different position vector is added to each word';
  if (vectors && same) root.append(movedWord(a, b, vectors));
  root.append(el('p', 'explain', same
    ? `Both sentences have exactly the same tokens, so the same embedding rows. Without positions the model would see the same bag of vectors; the only difference is where each token sits, so ${how}.`
    : `The two sentences tokenize differently here; still, words that appear in both differ only in their position, so ${how}.`));
}

/** Each head's ALiBi slope and what it takes off a score at a few distances (the penalty is the slope times the distance). */
export function alibiTable(slopes) {
  const distances = [1, 4, 16, 64];
  const table = el('table', 'qkv-table alibi-table');
  table.append(el('caption', '', 'What each head subtracts from a score, by how many tokens back the key is'));
  const head = el('tr');
  for (const h of ['head', 'slope', ...distances.map((d) => `${d} back`)]) head.append(el('th', '', h));
  table.append(el('thead'));
  table.tHead.append(head);
  const body = el('tbody');
  slopes.forEach((m, h) => {
    const tr = el('tr');
    tr.append(el('th', '', String(h + 1)), el('td', 'num', fmt(m, 4)), ...distances.map((d) => el('td', 'num', `−${fmt(m * d, 3)}`)));
    body.append(tr);
  });
  table.append(body);
  const steep = slopes.indexOf(Math.max(...slopes));
  const gentle = slopes.indexOf(Math.min(...slopes));
  const wrap = el('div', 'alibi');
  // Scrolls sideways on its own on a narrow screen, as the Q/K/V tables do.
  const scroller = scrollRegion(table, 'ALiBi slopes and what they take off a score');
  wrap.append(scroller, el('p', 'explain', `Head ${steep + 1} is the steepest: a key 16 tokens back has ${fmt(16 * slopes[steep], 3)} taken ` +
    `off its score, so this head is pushed hard towards nearby words; head ${gentle + 1} takes off only ${fmt(16 * slopes[gentle], 3)} there and can ` +
    'still attend far back. Every layer uses the same slopes.'));
  return wrap;
}

/** The first token whose position differs between the two sentences: same token row, different position row. */
function movedWord(a, b, { tokenRows, scale, table }) {
  const C = table.shape[1];
  const i = a.ids.findIndex((id, k) => b.ids[k] !== id);
  const j = b.ids.indexOf(a.ids[i]);
  const box = el('div', 'moved-word');
  if (i < 0 || j < 0) return box;
  const tok = tokenRows.data.subarray(i * C, (i + 1) * C);
  const readout = el('p', 'readout', 'Hover a strip to read its numbers.');
  const hover = (what) => (k, v) => { readout.textContent = k < 0 ? 'Hover a strip to read its numbers.' : `${what}[${k}] = ${fmt(v, 6)}`; };
  const maxAbs = maxAbsOf(Array.from(tok, (x) => x * scale), table.data);
  for (const [sentence, p] of [[a, i], [b, j]]) {
    const pos = table.data.subarray(p * C, (p + 1) * C);
    const line = el('div', 'qkv-vector');
    line.append(el('span', 'qkv-name', `“${a.labels[i]}” in “${sentence.text}”`),
      vectorStrip(Array.from(tok, (x) => x * scale), { maxAbs, label: `token row of ${a.labels[i]}`, onHover: hover('token row') }),
      el('span', '', '+'),
      vectorStrip(pos, { maxAbs, label: `position ${p} row`, onHover: hover(`position ${p}`) }),
      el('span', 'muted', `position ${p}`));
    box.append(line);
  }
  box.append(stripLegend([{ name: 'token and position rows', maxAbs }]), readout,
    el('p', 'muted', `The token row of “${a.labels[i]}” is identical in both sentences; only the position row added to it differs.`));
  return box;
}

function sized(width, height) {
  const canvas = document.createElement('canvas');
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(width * dpr));
  canvas.height = Math.max(1, Math.round(height * dpr));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.setAttribute('role', 'img');
  canvas.getContext('2d').scale(dpr, dpr);
  return canvas;
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

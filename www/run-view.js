// From a run to what a view draws: one module for the page (app.js), the teaching views and every
// widget, so they cannot drift. It turns the JS API's results (glassbox.d.ts) into labelled
// matrices; `views/` only draw what it gives them.
//
//   const scheme = await labelSchemeOf(model);            // how the vocabulary writes text
//   const map = attentionMap(run, info, { kind, layer, head: 'mean', scheme });
//   renderHeatmap(root, { ...map, raster });              // views/heatmap.js
//
// Labels follow the vocabulary's own scheme (byte-level `Ġthe` shown as `·the`, SentencePiece `▁la`
// as `·la`, WordPiece `##ing` kept), and whether a token is special comes from Rust (the tokenizer
// knows its special ids), never from how the string looks.

import { tokenLabel, vocabScheme } from './views/token-text.js';
import { ATTENTION_KINDS, bandNote, causalNote } from './views/explain.js';

/** How `model`'s vocabulary writes text ('byte-level' or 'plain'): how its tokenizer writes a space. */
export async function labelSchemeOf(model) {
  const probe = await model.tokenize(' ', { addSpecialTokens: false }).catch(() => ({ tokens: [] }));
  return vocabScheme(probe.tokens);
}

/** `{ labels, special }` for vocabulary strings and their special flags (missing flags: not special). */
export function tokenLabels(tokens, special, scheme) {
  const flags = Array.from(tokens ?? [], (_, i) => Boolean(special?.[i]));
  return { labels: Array.from(tokens ?? [], (t, i) => tokenLabel(t, scheme, flags[i])), special: flags };
}

/** The labels of a run's input (the encoder's, or a decoder-only model's prompt). */
export function inputLabels(run, scheme) {
  return tokenLabels(run.tokens.tokens, run.tokens.special, scheme);
}

/** The labels of an encoder-decoder run's decoder input (the input's for other models). */
export function decoderLabels(run, scheme) {
  if (!run.decoderTokens) return inputLabels(run, scheme);
  return tokenLabels(run.decoderTokens, run.decoderSpecial, scheme);
}

/** Rows and columns of an attention kind: queries and keys. */
export function axesOf(run, kind, scheme) {
  const input = inputLabels(run, scheme);
  const dec = decoderLabels(run, scheme);
  return { rows: kind === 'encoder' ? input : dec, cols: kind === 'decoder' ? dec : input };
}

/** One head's `[Tq][Tk]` matrix, or (`head = 'mean'`) the mean over heads, out of `[L][H][Tq][Tk]`. */
export function headMatrix(tensor, at, head) {
  const [, H, Tq, Tk] = tensor.shape;
  const size = Tq * Tk;
  const layer = at - (tensor.firstLayer ?? 0);   // a run may keep only some layers (its `attention` option)
  if (head !== 'mean') {
    const start = (layer * H + Number(head)) * size;
    return tensor.data.subarray(start, start + size);
  }
  const out = new Float32Array(size);
  for (let h = 0; h < H; h++) {
    const start = (layer * H + h) * size;
    for (let i = 0; i < size; i++) out[i] += tensor.data[start + i];
  }
  for (let i = 0; i < size; i++) out[i] /= H;
  return out;
}

const range = (n) => Array.from({ length: n }, (_, i) => i);

/** Labels of the right length, or indices when they do not fit the matrix. */
function fit(axis, n) {
  return axis.labels.length === n ? axis : { labels: range(n).map(String), special: range(n).map(() => false) };
}

/**
 * The heatmap of one attention kind, layer and head (or 'mean') of a run, labelled:
 * `{ values, nRows, nCols, rowLabels, colLabels, rowSpecial, colSpecial, causal, window, maskNote, title }`.
 * `window`: the layer's attention window (explain.js `windowOf`), 0 for none: a decoder's sliding window, or an
 * encoder's band reach (the map's `band`).
 */
export function attentionMap(run, { kind, layer, head, scheme, title, window = 0 }) {
  const tensor = run.attentions[kind];
  const [, , Tq, Tk] = tensor.shape;
  const { rows, cols } = axesOf(run, kind, scheme);
  const r = startMarked(run, kind, fit(rows, Tq), 'rows');
  const c = startMarked(run, kind, fit(cols, Tk), 'cols');
  const causal = kind === 'decoder';
  const headName = head === 'mean' ? 'mean of heads' : `head ${Number(head) + 1}`;
  return {
    values: headMatrix(tensor, layer, head),
    nRows: Tq, nCols: Tk,
    rowLabels: r.labels, colLabels: c.labels, rowSpecial: r.special, colSpecial: c.special,
    rowTitle: ATTENTION_KINDS[kind].rowTitle, colTitle: ATTENTION_KINDS[kind].colTitle,
    causal,
    window: causal ? window : 0,
    band: kind === 'encoder' ? window : 0,
    maskNote: causal ? causalNote(window) : kind === 'encoder' ? bandNote(window) : '',
    title: title ?? `${ATTENTION_KINDS[kind].title}, layer ${layer + 1}, ${headName}`,
  };
}

/**
 * An encoder-decoder's decoder side starts with the decoder start token (Marian's is its padding
 * token, BART's its eos or bos, T5's its pad): label it so, wherever the decoder's tokens are an axis.
 */
function startMarked(run, kind, axis, which) {
  const decoderAxis = run.decoderTokens && (which === 'rows' ? kind !== 'encoder' : kind === 'decoder');
  if (!decoderAxis || !axis.labels.length) return axis;
  return { labels: [`${axis.labels[0]} (start)`, ...axis.labels.slice(1)], special: axis.special };
}

/** One generation step's attention of one layer: a row per head and their mean, `[H + 1][P]`. */
export function stepRows(tensor, layer) {
  const [, H, , P] = tensor.shape;
  const values = new Float32Array((H + 1) * P);
  const l = layer - (tensor.firstLayer ?? 0); // a generation that kept only some layers counts from its first
  for (let h = 0; h < H; h++) {
    const row = tensor.data.subarray((l * H + h) * P, (l * H + h + 1) * P);
    values.set(row, h * P);
    for (let k = 0; k < P; k++) values[H * P + k] += row[k] / H;
  }
  return values;
}

/**
 * The keys generation step `s` attended to, labelled. `gen`: `{ prefixTokens?, prefixSpecial?, input?, steps }`
 * (`input`: the encoded prompt or source, `Tokens`; `steps`: the generated tokens so far).
 * Self-attention: what the decoder was fed first, then the tokens generated before step `s`;
 * cross-attention: the encoded source.
 */
export function stepKeyLabels(gen, { kind, s, nKeys, modelKind, scheme }) {
  let axis;
  if (kind === 'self' && gen.prefixTokens) {
    axis = tokenLabels(gen.prefixTokens, gen.prefixSpecial, scheme);
  } else if (kind === 'cross' || modelKind === 'decoder-only') {
    axis = gen.input ? tokenLabels(gen.input.tokens, gen.input.special, scheme) : { labels: [], special: [] };
  } else {
    const n = Math.max(0, nKeys - s);
    axis = { labels: range(n).map(() => '‹start›'), special: range(n).map(() => true) };
  }
  if (kind === 'self') {
    for (let i = 0; i < s; i++) {
      axis.labels.push(tokenLabel(gen.steps[i].token, scheme, Boolean(gen.steps[i].special)));
      axis.special.push(Boolean(gen.steps[i].special));
    }
  }
  if (axis.labels.length !== nKeys) axis = { labels: range(nKeys).map((k) => `#${k}`), special: range(nKeys).map(() => false) };
  return axis;
}

/** The heatmap of generation step `s` (`gen.steps[s]`), attention `kind` ('self' | 'cross'), `layer`. */
export function stepMap(gen, { s, kind, layer, modelKind, scheme }) {
  const tensor = gen.steps[s].attentions[kind];
  const [, H, , P] = tensor.shape;
  const keys = stepKeyLabels(gen, { kind, s, nKeys: P, modelKind, scheme });
  return {
    values: stepRows(tensor, layer), nRows: H + 1, nCols: P,
    rowLabels: [...range(H).map((h) => `head ${h + 1}`), 'mean'],
    colLabels: keys.labels, colSpecial: keys.special,
    title: `Step ${s + 1}, ${kind === 'self' ? 'self-attention' : 'cross-attention'}, layer ${layer + 1}: one row per head`,
    rowAxis: '', colAxis: 'key',
  };
}

/**
 * The page's colours as the rasteriser takes them (`palette` of `Glassbox.drawMap`), read from the CSS
 * custom properties of `root` (www/style.css; the widgets set the same properties on their host).
 */
export function paletteOf(root) {
  const cs = getComputedStyle(root);
  const get = (name, fallback) => cs.getPropertyValue(name).trim() || fallback;
  return {
    stops: [0, 1, 2, 3, 4].map((i) => get(`--gb-heat-${i}`, ['#f4f8fd', '#c3d7ee', '#6fa3d6', '#2c66ad', '#0b2e66'][i])),
    masked: get('--gb-masked', '#eceef1'),
    hatch: get('--gb-hatch', '#c5cad3'),
    grid: get('--gb-bg', '#f6f7f9'),
  };
}

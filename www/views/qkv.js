// The Q/K/V step-through of one head in one layer, for one query token, with the model's own
// numbers: the query vector, every key vector, their dot products, the scale (and T5's position
// bias), the scores, the softmax weights, the value vectors and their weighted sum.
//
// Data: the `qkv` trace of `model.inspect(text, { qkv: { kind, layer } })` (flat Float32Arrays:
// q [H][Tq][D], k and v [H][Tk][D], scores/probs/bias [H][Tq][Tk], ctx [H][Tq][D]).
// Grouped-query attention (Llama, Qwen2): `nKvHeads` (KV) < `nHeads` (H); query head h reads
// key/value head ⌊h / (H/KV)⌋, and the trace's k and v are already repeated per query head.

import { vectorStrip, maxAbsOf, fmt, stripLegend } from './vector-strip.js';
import { truncate } from './token-text.js';
import { scrollRegion } from './scroll-region.js';

const LABEL_CHARS = 12;
const HIDDEN_SCORE = -1e30;   // scores below this are a hidden key (HF's finfo.min), not a real score

/**
 * Why the scores are scaled as they are, for this model's scale and head width `D` (= d_k); `scalar`: the
 * model's own divisor under the root (Gemma 3's query_pre_attn_scalar), when it sets one.
 */
export function scaleWhy(scale, D, scalar = null, set = false, terms = 1) {
  if (terms > 1) {
    // DeBERTa: q·k and the position terms are each a dot product of d_k numbers, and all of them are divided by one root.
    return ` (the scale is 1/√(${terms}·d_k): this score adds ${terms} dot products of d_k = ${D} numbers each (q·k and ` +
      `${terms === 3 ? 'the two position terms' : 'one position term'}); with independent numbers of mean 0 and variance 1 their ` +
      `sum would have variance ${terms}·${D}, so DeBERTa divides by √${terms * D} to keep the scores near unit variance and the ` +
      'softmax from saturating onto a single key)';
  }
  if (scale === 1) {
    return ' (this model does not scale the scores: it was trained without the 1/√d_k factor, so its weights learned to give scores ' +
      'of the size its softmax works with; T5 folds the factor into how its weights were initialised, GPT-Neo simply leaves it out)';
  }
  if (set) {
    return ` (the scale is this model’s attention_multiplier, a number its config gives outright instead of 1/√d_k = ${fmt(1 / Math.sqrt(D), 4)}: ` +
      'the model was trained with it, so its weights expect it)';
  }
  const why = `d_k = ${D} being the width of one head: if q and k held independent numbers of mean 0 and variance 1, their dot product, a sum of ` +
    `${D} products, would have variance ${D}; dividing by √${D} keeps the scores near unit variance, so the softmax does not ` +
    'saturate onto a single key';
  const extra = 1 / (scale * Math.sqrt(D));
  if (scalar && scalar !== D) {
    return ` (the scale is 1/√${scalar}: this model’s config sets the number under the root, query_pre_attn_scalar = ${scalar}, ` +
      `where most models take the head width d_k = ${D}. Why scores are scaled at all: a dot product of many independent ` +
      'numbers of mean 0 and variance 1 has a variance as large as their count, and scores that large would make the ' +
      'softmax put nearly all the weight on a single key)';
  }
  return Math.abs(extra - 1) < 1e-4
    ? ` (the scale is 1/√d_k, ${why})`
    : ` (the scale is 1/√d_k divided further by ${fmt(extra, 4)}, as this model’s config asks (as GPT-2’s scale_attn_by_inverse_layer_idx does); ${why})`;
}

/** DeBERTa's position terms in words, from the card's `[S, buckets, maxDistance, c2p, p2c]`. */
function disentangledTerms(d) {
  return [d[3] && 'the query’s content against the key’s distance', d[4] && 'the key’s content against that distance'].filter(Boolean).join(', plus ');
}

/**
 * What the Q/K/V view needs from the model card beyond the trace (the page and the widget pass the same).
 * @param {object} info  model.info
 * @param {object} trace the Q/K/V trace (its kind and layer)
 */
export function qkvModelFacts(info, trace) {
  const b = info?.block ?? {};
  return {
    rotary: info?.positions === 'rotary',
    unrotated: trace.kind === 'decoder' && !!b.unrotatedLayers?.includes(trace.layer),
    qkNorm: !!b.qkNorm, qkNormPerHead: b.qkNormPerHead !== false, qkNormKind: b.normKind, qkNormOwnScales: !!b.qkNormOwnScales,
    scoreScalar: b.queryPreAttnScalar ?? null, scoreSet: b.scoreScale != null,
    rotaryDims: b.rotaryDims ?? null, clipQkv: b.clipQkv ?? null,
    disentangled: trace.kind === 'encoder' ? b.disentangled ?? null : null,
  };
}

/** The numbers of one head and query row, out of a trace. */
export function qkvRow(trace, head, query) {
  const { qLen: Tq, kLen: Tk, dHead: D } = trace;
  const qAt = (head * Tq + query) * D;
  const q = trace.q.subarray(qAt, qAt + D);
  const rowAt = (head * Tq + query) * Tk;
  const keys = [];
  for (let j = 0; j < Tk; j++) {
    const kAt = (head * Tk + j) * D;
    const k = trace.k.subarray(kAt, kAt + D);
    const v = trace.v.subarray(kAt, kAt + D);
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[d] * k[d];
    const score = trace.scores[rowAt + j];
    keys.push({
      k, v, dot,
      bias: trace.bias ? trace.bias[rowAt + j] : 0,
      score,
      weight: trace.probs[rowAt + j],
      // −∞: in a decoder, a later key (causal) or an earlier one that slid out of the layer's window; in an
      // encoder (never causal), a key outside the layer's band, on either side.
      blocked: score === -Infinity ? (trace.kind === 'decoder' && j > query + (Tk - Tq) ? 'future' : 'window')
        : score < HIDDEN_SCORE ? 'hidden' : null,
    });
  }
  const ctx = trace.ctx.subarray(qAt, qAt + D);
  return { q, keys, ctx };
}

/**
 * Which key/value head each query head reads: `groups[g]` lists the query heads sharing kv head g.
 * @returns {{ group: number, kvOf: number[], groups: number[][] }}
 */
export function kvGroups(nHeads, nKvHeads) {
  const kv = nKvHeads > 0 && nHeads % nKvHeads === 0 ? nKvHeads : nHeads;
  const group = nHeads / kv;
  const kvOf = Array.from({ length: nHeads }, (_, h) => Math.floor(h / group));
  const groups = Array.from({ length: kv }, (_, g) => Array.from({ length: group }, (_, i) => g * group + i));
  return { group, kvOf, groups };
}

/** The grouped-query picture: every query head under the key/value head it reads, `head` highlighted. */
function kvSharing(trace, head) {
  const H = trace.nHeads;
  const { group, kvOf, groups } = kvGroups(H, trace.nKvHeads);
  const box = el('div', 'qkv-gqa');
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', 'Which key/value head each query head reads');
  const mine = kvOf[head];
  box.append(el('p', 'explain',
    `Grouped-query attention: this model has ${H} query heads but only ${groups.length} key/value head${groups.length > 1 ? 's' : ''}. ` +
    `Each group of ${group} query heads reads the same keys and values: they are computed once per group, so the cache of ` +
    `past keys and values that generation keeps (to avoid recomputing them at every new token) is ${group}× smaller; the query heads still differ, so their attention differs. ` +
    `Head ${head + 1} reads key/value head ${mine + 1}, shared with ${groups[mine].filter((h) => h !== head).map((h) => `head ${h + 1}`).join(', ') || 'no other head'}.`));
  const row = el('div', 'qkv-gqa-groups');
  groups.forEach((members, g) => {
    const col = el('div', `qkv-gqa-group${g === mine ? ' current' : ''}`);
    col.append(el('span', 'qkv-gqa-kv', `K/V ${g + 1}`));
    const qs = el('span', 'qkv-gqa-queries');
    for (const h of members) {
      const chip = el('span', `chip qkv-gqa-q${h === head ? ' current' : ''}`, `Q ${h + 1}`);
      if (h === head) chip.setAttribute('aria-current', 'true');
      qs.append(chip);
    }
    col.append(qs);
    row.append(col);
  });
  box.append(row);
  return box;
}

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {object} view.trace         the qkv trace
 * @param {number} view.head
 * @param {number} view.query
 * @param {string[]} view.queryLabels  one per query row
 * @param {string[]} view.keyLabels    one per key
 * @param {(q: number) => void} view.onQuery
 * @param {boolean} [view.rotary]     the model turns q and k by position (info.positions === 'rotary')
 * @param {boolean} [view.qkNorm]     each head's q and k are RMS-normalised first (info.block.qkNorm: Qwen3, Gemma 3)
 * @param {number} [view.scoreScalar] the number whose inverse root scales the scores, when the model sets its own
 *                                    (info.block.queryPreAttnScalar: Gemma 3)
 * @param {boolean} [view.unrotated]  this layer turns nothing although the model is rotary (SmolLM3's "NoPE" layers)
 * @param {boolean} [view.qkNormPerHead] the q/k norm takes each head alone (false: all heads at once, OLMo 2)
 * @param {string} [view.qkNormKind]   which norm that is per head: 'RMSNorm' (Qwen3, Gemma 3) or 'LayerNorm' (Phi's qk_layernorm)
 * @param {boolean} [view.qkNormOwnScales] each head's q/k norm has a scale of its own (StableLM's qk_layernorm)
 * @param {number} [view.clipQkv]     the bound q, k and v are clamped to after their projections (OLMo 1's clip_qkv)
 * @param {number} [view.rotaryDims] how many of each head's numbers turn, when not all (info.block.rotaryDims: GPT-NeoX)
 * @param {boolean} [view.scoreSet]   the config sets the scale outright (info.block.scoreScale: Granite)
 */
export function renderQkv(root, view) {
  // DeBERTa's scores: q·k plus one or two position terms ([S, buckets, maxDistance, c2p, p2c] from the card).
  const terms = view.disentangled ? 1 + view.disentangled[3] + view.disentangled[4] : 1;
  const { trace, head, query, queryLabels, keyLabels } = view;
  root.replaceChildren();
  const row = qkvRow(trace, head, query);
  const D = trace.dHead;

  const readout = el('p', 'readout qkv-readout', 'Hover a strip to read its numbers.');
  readout.setAttribute('aria-live', 'polite');
  const hover = (what) => (i, v) => {
    readout.textContent = i < 0 ? 'Hover a strip to read its numbers.' : `${what}[${i}] = ${fmt(v, 6)}`;
  };

  // The query picker: one button per query token; arrows move between them.
  const picker = el('div', 'qkv-queries');
  picker.setAttribute('role', 'radiogroup');
  picker.setAttribute('aria-label', 'Query token');
  queryLabels.forEach((label, i) => {
    const b = el('button', 'chip qkv-query', truncate(label, LABEL_CHARS));
    b.type = 'button';
    b.setAttribute('role', 'radio');
    b.setAttribute('aria-checked', String(i === query));
    b.tabIndex = i === query ? 0 : -1;
    b.dataset.index = String(i);
    b.title = label;
    b.addEventListener('click', () => view.onQuery(i));
    b.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
      if (!step) return;
      e.preventDefault();
      const next = (i + step + queryLabels.length) % queryLabels.length;
      view.onQuery(next);
      root.querySelector(`.qkv-query[data-index="${next}"]`)?.focus();
    });
    picker.append(b);
  });

  const qScale = maxAbsOf(row.q);
  const kScale = maxAbsOf(...row.keys.map((k) => k.k));
  const vScale = maxAbsOf(...row.keys.map((k) => k.v), row.ctx);
  const qLabel = queryLabels[query];
  const qLine = el('div', 'qkv-vector');
  qLine.append(el('span', 'qkv-name', `q of “${truncate(qLabel, LABEL_CHARS)}”`),
    vectorStrip(row.q, { maxAbs: qScale, label: `query vector of ${qLabel}`, onHover: hover(`q of “${qLabel}”`), keyboard: true }));

  const turned = view.rotary && !view.unrotated
    ? `turned by their positions' rotary angles${view.rotaryDims && view.rotaryDims < D ? ` (their first ${view.rotaryDims} of ${D} numbers)` : ''}` : '';
  const normed = view.qkNorm ? (view.qkNormPerHead === false ? 'normalised (one RMSNorm over all heads’ queries, one over all keys)'
    : `normalised head by head (${view.qkNormKind ?? 'RMSNorm'}${view.qkNormOwnScales ? ', each head with its own scale' : ''})`) : '';
  const clipped = view.clipQkv != null ? `clamped to ±${fmt(view.clipQkv)} (clip_qkv, v too)` : '';
  const rotaryNote = (normed || turned || clipped ? ` (q and k here are already ${[clipped, normed, turned].filter(Boolean).join(' and ')})` : '') +
    (view.rotary && view.unrotated ? ' (this layer does not turn q and k: it sees no positions, only the mask)' : '');
  const scaled = `q·k${rotaryNote} × ${fmt(trace.scale)}`;
  const scaleText = `score = ${trace.softcap ? `${fmt(trace.softcap)} · tanh(${scaled} / ${fmt(trace.softcap)})` : scaled}` +
    `${trace.kind === 'cross' || !trace.bias ? '' : terms > 1 ? ' + position terms' : ' + position bias'}`;
  const formula = el('p', 'qkv-formula',
    `${scaleText}${scaleWhy(trace.scale, D, trace.kind === 'decoder' ? view.scoreScalar : null, !!view.scoreSet, terms)}` +
    (terms > 1 ? `; the position terms (the table’s row for each key’s distance, projected: ${disentangledTerms(view.disentangled)}) are scaled the same way` : '') +
    `${trace.softcap ? `, then capped: tanh keeps every score between −${fmt(trace.softcap)} and ${fmt(trace.softcap)} (this model’s attn_logit_softcapping)` : ''}; ` +
    'weight = softmax(scores) over the keys; output = Σ weight × v.');

  const table = el('table', 'qkv-table');
  const caption = el('caption', 'visually-hidden', `Keys for the query ${qLabel}, head ${head + 1}`);
  const thead = el('thead');
  const hr = el('tr');
  const cols = ['key', 'k', 'q·k', ...(trace.bias ? [terms > 1 ? 'position terms' : 'bias'] : []), 'score', 'weight', 'v'];
  for (const c of cols) hr.append(el('th', '', c));
  thead.append(hr);
  const tbody = el('tbody');
  row.keys.forEach((key, j) => {
    const tr = el('tr', key.blocked ? 'blocked' : '');
    tr.dataset.key = String(j);
    const label = keyLabels[j] ?? String(j);
    tr.append(el('th', 'qkv-key', truncate(label, LABEL_CHARS)));
    const kCell = el('td');
    kCell.append(vectorStrip(key.k, { maxAbs: kScale, label: `key vector of ${label}`, onHover: hover(`k of “${label}”`) }));
    tr.append(kCell, el('td', 'num', fmt(key.dot)));
    if (trace.bias) tr.append(el('td', 'num', key.blocked ? '' : fmt(key.bias)));
    tr.append(el('td', 'num', key.blocked === 'future' || key.blocked === 'window' ? 'masked' : key.blocked === 'hidden' ? 'hidden' : fmt(key.score)));
    const wCell = el('td', 'qkv-weight');
    const bar = el('span', 'qkv-bar');
    bar.style.width = `${Math.max(0, Math.min(1, key.weight)) * 100}%`;
    const track = el('span', 'qkv-track');
    track.append(bar);
    wCell.append(track, el('span', 'num', `${(key.weight * 100).toFixed(1)}%`));
    wCell.title = `weight ${fmt(key.weight, 6)}`;
    const vCell = el('td');
    vCell.append(vectorStrip(key.v, { maxAbs: vScale, label: `value vector of ${label}`, onHover: hover(`v of “${label}”`) }));
    tr.append(wCell, vCell);
    tbody.append(tr);
  });
  table.append(caption, thead, tbody);
  const scroller = scrollRegion(table, 'keys, weights and values of the chosen query');

  const ctxLine = el('div', 'qkv-vector');
  ctxLine.append(el('span', 'qkv-name', 'output = Σ weight × v'),
    vectorStrip(row.ctx, { maxAbs: vScale, label: `weighted sum of the values for ${qLabel}`, onHover: hover('output'), keyboard: true }));
  const windowed = row.keys.some((k) => k.blocked === 'window');
  const inWindow = row.keys.filter((k) => k.blocked !== 'window' && k.blocked !== 'future').length;
  const blockedNote = windowed && trace.kind !== 'decoder'
    ? el('p', 'muted', '“masked”: this layer is local: a token sees only the tokens within a fixed distance of it, before or ' +
      `after (a band; here ${inWindow} keys, the token itself included); the other scores are −∞ and their weight is exactly 0.`)
    : windowed
    ? el('p', 'muted', `“masked”: a decoder may not look at later tokens, and this layer looks only at the last ${inWindow} ` +
      '(a sliding window, the token itself included); the other scores are −∞ and their weight is exactly 0.')
    : row.keys.some((k) => k.blocked === 'future')
      ? el('p', 'muted', '“masked”: a decoder may not look at later tokens, so those scores are −∞ and their weight is exactly 0.')
    : row.keys.some((k) => k.blocked === 'hidden')
      ? el('p', 'muted', '“hidden”: you hid this token; its score gets a huge negative number added, so its weight is 0.')
      : null;
  const legend = stripLegend([{ name: 'q', maxAbs: qScale }, { name: 'k', maxAbs: kScale }, { name: 'v and output', maxAbs: vScale }],
    `Each strip is one vector of d_k = ${D} numbers; strips of one kind share a scale, so they compare.`);
  root.append(picker, legend, qLine, formula, scroller, ctxLine, readout);
  if (trace.nKvHeads && trace.nKvHeads < trace.nHeads) root.append(kvSharing(trace, head));
  if (blockedNote) root.append(blockedNote);
  root.dataset.head = String(head);
  root.dataset.query = String(query);
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

// One generation step, honestly: the model's own next-token probabilities (softmax at temperature
// 1) beside the distribution the token was actually drawn from (after the model's generation rules,
// temperature, top-k and top-p, renormalised), with the chosen token always shown.
//
// Data: a generated token of `model.generate` (glassbox.d.ts `GeneratedToken`): `candidates` (the
// model's top tokens, temperature 1, before any processing), `sampled` (the drawn-from distribution's
// top tokens, always holding the chosen one; greedy: the chosen one at 1) and `sampledSupport` (how
// many tokens that distribution gives a non-zero probability).

import { tokenLabel, truncate } from './token-text.js';
import { scrollRegion } from './scroll-region.js';

const LABEL_CHARS = 16;

/**
 * Top-k as the engine takes it: a k at or above the vocabulary keeps every token, as transformers' top-k filter
 * does (it takes the smaller of the two), so it is sent as the vocabulary's size (the engine refuses a k past
 * 32 bits, which a reader can type).
 */
export function topKWithin(topK, vocabSize) {
  return topK > vocabSize ? vocabSize : topK;
}

/** What the settings do, in words (T, k, p as the run used them). */
export function settingsSentence({ temperature, topK, topP }, vocabSize) {
  const parts = [];
  if (temperature === 0) {
    parts.push('T = 0 is greedy: the likeliest token is taken, so it gets probability 1 and every other 0 (top-k and top-p then change nothing)');
  } else {
    parts.push(temperature === 1
      ? 'T = 1 keeps the model’s probabilities as they are'
      : `T = ${temperature} divides every logit by ${temperature} before the softmax, which ${temperature < 1 ? 'sharpens' : 'flattens'} the distribution`);
    parts.push(topK === 0 ? 'k = 0 switches top-k off (no cut)' : `top-k ${topK} keeps only the ${topK} likeliest tokens`);
    parts.push(topP === 1 ? 'p = 1 switches top-p off (no cut)' : `top-p ${topP} then keeps the smallest set of likeliest tokens whose probabilities (after temperature and top-k) add up to at least ${topP}`);
  }
  return `${parts.join('; ')}. The kept tokens’ probabilities are rescaled to add up to 1 (out of a vocabulary of ${vocabSize.toLocaleString('en')}).`;
}

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {object|null} view.step       a generated token (null: nothing yet)
 * @param {{temperature: number, topK: number, topP: number}} view.settings   the run's settings
 * @param {number} view.vocabSize
 * @param {string} view.scheme          how the vocabulary writes text (token-text.js)
 */
export function renderSampling(root, { step, settings, vocabSize, scheme }) {
  root.replaceChildren();
  if (!step?.candidates?.length) {
    if (step) root.append(el('p', 'muted', 'Beam search keeps whole sequences, not one draw per step: no per-step distribution to show.'));
    return;
  }
  const sampled = step.sampled ?? [];
  const sampledById = new Map(sampled.map((c) => [c.id, c.prob]));
  const complete = step.sampledSupport != null && step.sampledSupport <= sampled.length;
  // Rows: the model's likeliest first, then any token of the sampled list not among them (the chosen one included).
  const rows = [...step.candidates];
  for (const c of sampled) if (!rows.some((r) => r.id === c.id)) rows.push({ ...c, prob: null, extra: true });

  const table = el('table', 'sampling-table');
  table.append(el('caption', 'visually-hidden', 'Next-token probabilities: the model’s softmax and the distribution sampled from'));
  const head = el('tr');
  head.append(el('th', '', 'token'), el('th', '', 'model (T = 1)'), el('th', '', 'sampled from'));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (const r of rows) {
    const chosen = r.id === step.id;
    // Rows past the model's list (a sampled token it did not rank in its top few) are marked apart.
    const tr = el('tr', `${r.extra ? 'candidate-extra' : 'candidate'}${chosen ? ' chosen' : ''}`);
    tr.dataset.id = String(r.id);
    const label = tokenLabel(r.token, scheme, Boolean(r.special));
    const th = el('th', 'cand-token', truncate(label, LABEL_CHARS) + (chosen ? ' ✓' : ''));
    th.scope = 'row';
    th.title = `${JSON.stringify(r.token)} · id ${r.id}${chosen ? ' · chosen' : ''}`;
    const sampledProb = sampledById.has(r.id) ? sampledById.get(r.id) : complete ? 0 : null;
    tr.append(th, barCell(r.prob, 'raw', below(step.candidates)), barCell(sampledProb, 'sampled', below(sampled)));
    body.append(tr);
  }
  table.append(thead, body);
  const scroller = scrollRegion(table, 'next-token candidates before and after sampling');
  const support = step.sampledSupport;
  const kept = support ? ` Here ${support.toLocaleString('en')} token${support === 1 ? '' : 's'} could be drawn.` : '';
  root.append(scroller,
    el('p', 'explain sampling-note', `${settingsSentence(settings, vocabSize)}${kept} ✓ marks the token that was chosen. ` +
      'Any rule the model’s generation settings impose (a repetition penalty, banned words or repeats, end tokens) is ' +
      'applied before temperature; the left column is the model’s softmax before all of that.'));
  root.dataset.step = String(step.step ?? '');
}

/** What a token missing from a list is known to be: under the smallest probability listed. */
function below(list) {
  const min = Math.min(...list.map((c) => c.prob));
  return Number.isFinite(min) ? `under ${(min * 100).toFixed(1)}%` : '—';
}

function barCell(prob, kind, missing) {
  const td = el('td', `cand-cell cand-${kind}`);
  if (prob === null || prob === undefined) {
    td.append(el('span', 'cand-prob muted', missing));
    return td;
  }
  const track = el('span', 'cand-track');
  const bar = el('span', 'cand-bar');
  bar.style.width = `${Math.max(0, Math.min(1, prob)) * 100}%`;
  track.append(bar);
  td.append(track, el('span', 'cand-prob', `${(prob * 100).toFixed(1)}%`));
  td.dataset.prob = String(prob);
  return td;
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

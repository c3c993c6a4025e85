// The residual stream through the logit lens: after every layer, what the final norm and the LM head
// pick when applied to that layer's vector (a rough reading: the head was trained on the last layer only). A table,
// rows = hidden states (embeddings first, last layer last), columns = positions; each cell the
// top token, shaded by its probability.
// Data: `logitLens` of model.inspect(text, { logitLens: k }) -> { nStates, seqLen, k, top[state][pos] }.

import { tokenLabel, truncate } from './token-text.js';
import { scrollRegion } from './scroll-region.js';

const LABEL_CHARS = 10;

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {object} view.lens            { nStates, seqLen, top }
 * @param {string[]} view.columnLabels  the tokens at each position
 * @param {string} view.scheme
 * @param {string} view.note            what a cell predicts (next token / the word here)
 * @param {ArrayLike<number>} [view.columnIds]  the token id at each position (to see the embeddings row echo them)
 * @param {boolean} [view.tied]         the output head is the input embedding table (info.block.tiedEmbeddings)
 * @param {boolean} [view.masked]       a masked-LM's lens: each cell guesses the token at its position, not the next one
 */
export function renderLogitLens(root, view) {
  const { lens, columnLabels, scheme } = view;
  root.replaceChildren();
  root.append(el('p', 'explain', view.note));
  const table = el('table', 'lens-table');
  table.append(el('caption', 'visually-hidden', 'Top prediction after each layer (rows) at each position (columns)'));
  const head = el('tr');
  head.append(el('th', '', ''));
  columnLabels.forEach((l) => head.append(el('th', 'lens-col', truncate(l, LABEL_CHARS))));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (let s = lens.nStates - 1; s >= 0; s--) {
    const tr = el('tr');
    tr.dataset.state = String(s);
    tr.append(el('th', 'lens-row', s === 0 ? 'embeddings' : `after layer ${s}`));
    for (let t = 0; t < lens.seqLen; t++) {
      const best = lens.top[s][t][0];
      const text = tokenLabel(best.token, scheme);
      const td = el('td', 'lens-cell', truncate(text, LABEL_CHARS));
      td.style.setProperty('--p', String(best.prob));
      td.title = lens.top[s][t].map((c) => `${tokenLabel(c.token, scheme)} ${(c.prob * 100).toFixed(1)}%`).join(' · ');
      td.dataset.id = String(best.id);
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(thead, body);
  const scroller = scrollRegion(table, `logit lens: each layer’s likeliest ${view.masked ? 'token at' : 'next token after'} each position`);
  root.append(scroller, lensLegend(), el('p', 'muted', embeddingsNote(view) +
    'Hover a cell for its runners-up. The top row is the model’s real output.'));
}

/** The shading's key: a cell's colour is the probability of its top token, 0 to 100 %. */
function lensLegend() {
  const box = el('div', 'lens-legend');
  box.append(el('span', '', 'Shading = probability of the cell’s top token:'));
  const bar = el('span', 'lens-legend-bar');
  bar.setAttribute('aria-hidden', 'true');
  for (const p of [0, 0.25, 0.5, 0.75, 1]) {
    const sw = el('span', 'lens-cell');
    sw.style.setProperty('--p', String(p));
    bar.append(sw);
  }
  box.append(el('span', '', '0%'), bar, el('span', '', '100%'));
  return box;
}

/**
 * Why the embeddings row is not a prediction. With tied embeddings the head ends in the input table, so
 * a token's own embedding can score high against itself; how often it does depends on what the head does
 * first (GPT-2's final norm keeps the echo; BERT's dense layer, GELU and norm mostly break it), so the
 * echo is counted on the rows shown and the note claims only what the count says.
 */
function embeddingsNote(view) {
  const { lens, columnIds } = view;
  if (!columnIds || columnIds.length !== lens.seqLen) return '';
  let echoes = 0;
  for (let t = 0; t < lens.seqLen; t++) if (lens.top[0][t][0].id === Number(columnIds[t])) echoes++;
  const counted = `At ${echoes} of ${lens.seqLen} positions the embeddings row’s top token is the input token itself`;
  return view.tied
    ? 'The embeddings row is not a prediction: it is the output head reading each token’s own embedding, and this model’s ' +
      'head ends in its input embedding table (tied embeddings), so a token can score high against itself. ' +
      `${counted}${echoes ? ': there the colour shows that echo, not confidence' : ''}. `
    : `${counted}. This model’s output head is not its embedding table (untied), so the embeddings row is the head reading raw embeddings. `;
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

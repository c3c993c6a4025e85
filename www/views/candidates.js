// The next-token candidates at one generation step: a bar per token, on a 0..1 (0 to 100 %) scale.

import { tokenLabel, truncate } from './token-text.js';

// Layout.
const CANDIDATE_LABEL_CHARS = 16;   // longer token labels are cut with an ellipsis
const PERCENT_DIGITS = 1;

/**
 * @param {HTMLElement} root
 * @param {Array<{id: number, token: string, prob: number}>} candidates  best first
 * @param {number|null} chosenId  the token that was picked at this step
 * @param {string} scheme  how the vocabulary writes text (vocabScheme in token-text.js)
 */
export function renderCandidates(root, candidates, chosenId, scheme) {
  root.replaceChildren();
  if (!candidates?.length) return;
  const list = document.createElement('ol');
  list.className = 'candidate-list';
  for (const c of candidates) {
    const li = document.createElement('li');
    li.className = 'candidate' + (c.id === chosenId ? ' chosen' : '');
    const label = document.createElement('span');
    label.className = 'cand-token';
    const text = tokenLabel(c.token, scheme, Boolean(c.special));
    label.textContent = truncate(text, CANDIDATE_LABEL_CHARS);
    label.title = `${JSON.stringify(c.token)} · id ${c.id}`;
    const track = document.createElement('span');
    track.className = 'cand-track';
    const bar = document.createElement('span');
    bar.className = 'cand-bar';
    bar.style.width = `${Math.max(0, Math.min(1, c.prob)) * 100}%`;
    track.append(bar);
    const value = document.createElement('span');
    value.className = 'cand-prob';
    value.textContent = `${(c.prob * 100).toFixed(PERCENT_DIGITS)}%`;
    li.append(label, track, value);
    li.setAttribute('aria-label', `${JSON.stringify(text)}: ${(c.prob * 100).toFixed(PERCENT_DIGITS)} percent` +
      (c.id === chosenId ? ' (chosen)' : ''));
    list.append(li);
  }
  root.append(list);
}

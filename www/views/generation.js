// The generation views: the stream of generated tokens (selectable), and the bar chart of the
// next-token candidates at the selected step.

import { tokenLabel } from './token-text.js';
import { installRoving, focusItem } from './roving.js';

// Layout.
const CANDIDATE_LABEL_CHARS = 16;
const PERCENT_DIGITS = 1;

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {string} view.prompt       shown before the generated tokens (decoder-only), or '' for encoder-decoder
 * @param {Array<{token: string, id: number, text: string}>} view.steps  one per generated token (GeneratedToken)
 * @param {number|null} view.selected
 * @param {string} view.tokenizer    ModelInfo.tokenizer
 * @param {string} view.status       a short line under the stream ("Generating…", "Stopped: end of text")
 * @param {(step: number) => void} view.onSelect
 */
export function renderGenerated(root, view) {
  let stream = root.querySelector('.stream');
  let status = root.querySelector('.gen-status');
  let prompt, list;
  if (!stream) {
    // The prompt sits beside the list of generated tokens, outside it: only tokens are options.
    stream = document.createElement('div');
    stream.className = 'stream';
    prompt = document.createElement('span');
    prompt.className = 'prompt';
    list = document.createElement('span');
    list.className = 'gen-list';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', 'Generated tokens');
    stream.append(prompt, list);
    status = document.createElement('p');
    status.className = 'gen-status muted';
    status.setAttribute('role', 'status');
    root.append(stream, status);
    installRoving(list, { onActivate: (i) => root._onSelect?.(i) });
    list.addEventListener('click', (e) => {
      const item = e.target.closest('[data-index]');
      if (item) root._onSelect?.(Number(item.dataset.index));
    });
  }
  prompt = stream.querySelector('.prompt');
  list = stream.querySelector('.gen-list');
  root._onSelect = view.onSelect;
  const active = list.getRootNode().activeElement;  // the document, or a widget's shadow root
  const focusedIndex = list.contains(active) ? Number(active.dataset?.index) : null;
  prompt.textContent = view.prompt ?? '';
  prompt.hidden = !view.prompt;
  list.replaceChildren();
  view.steps.forEach((step, i) => {
    const b = document.createElement('span');
    b.className = 'gen-token' + (i === view.selected ? ' selected' : '');
    b.setAttribute('role', 'option');
    b.setAttribute('aria-selected', String(i === view.selected));
    b.dataset.index = String(i);
    b.dataset.id = String(step.id);
    b.textContent = tokenLabel(step.token, view.tokenizer);
    b.title = `step ${i + 1} · id ${step.id} · p = ${step.prob.toFixed(4)}`;
    b.setAttribute('aria-label', `step ${i + 1}: ${JSON.stringify(step.token)}, probability ${step.prob.toFixed(3)}`);
    list.append(b);
  });
  const stop = view.selected ?? Math.max(0, view.steps.length - 1);
  focusItem(list, Number.isInteger(focusedIndex) ? focusedIndex : stop, Number.isInteger(focusedIndex));
  status.textContent = view.status ?? '';
}

/**
 * @param {HTMLElement} root
 * @param {Array<{id: number, token: string, prob: number}>} candidates  best first
 * @param {number|null} chosenId  the token that was picked at this step
 * @param {string} tokenizer
 */
export function renderCandidates(root, candidates, chosenId, tokenizer) {
  root.replaceChildren();
  if (!candidates?.length) return;
  const list = document.createElement('ol');
  list.className = 'candidate-list';
  for (const c of candidates) {
    const li = document.createElement('li');
    li.className = 'candidate' + (c.id === chosenId ? ' chosen' : '');
    const label = document.createElement('span');
    label.className = 'cand-token';
    const text = tokenLabel(c.token, tokenizer);
    label.textContent = Array.from(text).length > CANDIDATE_LABEL_CHARS
      ? Array.from(text).slice(0, CANDIDATE_LABEL_CHARS - 1).join('') + '…' : text;
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

// The stream of generated tokens: the prompt, then one selectable chip per token as it arrives.

import { tokenLabel } from './token-text.js';
import { installRoving, focusItem, activeIn } from './roving.js';

/** The newest onSelect of each root (the listeners are installed once, the callback changes). */
const onSelectOf = new WeakMap();

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {string} view.prompt       shown before the generated tokens: the prompt, or the source and an arrow
 * @param {Array<{token: string, id: number, text: string}>} view.steps  one per generated token (GeneratedToken)
 * @param {number|null} view.selected
 * @param {string} view.scheme       how the vocabulary writes text (vocabScheme in token-text.js)
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
    // Selection follows focus, as in a listbox: arrowing through the tokens shows each one's step.
    installRoving(list, { onActivate: (i) => onSelectOf.get(root)?.(i), onFocusItem: (i) => { if (i !== null) onSelectOf.get(root)?.(i); } });
    list.addEventListener('click', (e) => {
      const item = e.target.closest('[data-index]');
      if (item) onSelectOf.get(root)?.(Number(item.dataset.index));
    });
  }
  prompt = stream.querySelector('.prompt');
  list = stream.querySelector('.gen-list');
  onSelectOf.set(root, view.onSelect);
  const active = activeIn(list);
  const focusedIndex = active && list.contains(active) ? Number(active.dataset?.index) : null;
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
    b.textContent = tokenLabel(step.token, view.scheme, Boolean(step.special));
    // Beam search replays its best hypothesis: its tokens have no single-step probability (prob null).
    const hasProb = typeof step.prob === 'number';
    b.title = `step ${i + 1} · id ${step.id}` + (hasProb ? ` · p = ${step.prob.toFixed(4)}` : ' · beam search');
    b.setAttribute('aria-label', `step ${i + 1}: ${JSON.stringify(step.token)}` + (hasProb ? `, probability ${step.prob.toFixed(3)}` : ''));
    list.append(b);
  });
  const stop = view.selected ?? Math.max(0, view.steps.length - 1);
  focusItem(list, Number.isInteger(focusedIndex) ? focusedIndex : stop, Number.isInteger(focusedIndex));
  status.textContent = view.status ?? '';
}

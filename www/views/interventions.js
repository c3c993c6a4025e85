// Interventions: switch attention heads off (a head mask) and hide input tokens (a token mask),
// then see what changes. A grid of toggle buttons per attention kind (rows = layers, columns =
// heads), a chip per source token, and a reset.

import { truncate } from './token-text.js';

const LABEL_CHARS = 12;
const KIND_TITLES = { encoder: 'Encoder heads', decoder: 'Decoder heads (masked self-attention)', cross: 'Cross-attention heads' };

/** True when nothing is ablated or hidden. */
export function isPristine(headMask, tokenMask) {
  const anyOff = (m) => m && Array.from(m).some((x) => x !== 1);
  return !Object.values(headMask).some(anyOff) && !anyOff(tokenMask);
}

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {Record<string, [number, number]>} view.dims   [L, H] per attention kind the model has
 * @param {Record<string, number[]>} view.headMask        [L*H] per kind, 1 on, 0 off
 * @param {string[]|null} view.tokenLabels                source tokens (null: the model cannot hide tokens)
 * @param {number[]|null} view.tokenMask
 * @param {(kind: string, index: number) => void} view.onHead
 * @param {(index: number) => void} view.onToken
 * @param {() => void} view.onReset
 */
export function renderInterventions(root, view) {
  const focused = root.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
  root.replaceChildren();
  root.append(el('p', 'muted', 'Press a head to switch it off (×): its attention weights become 0, so it adds nothing. Press again to switch it back on.'));
  for (const [kind, [L, H]] of Object.entries(view.dims)) {
    const box = el('div', 'ablation');
    const id = `ablate-${kind}`;
    box.append(el('h4', '', KIND_TITLES[kind]));
    const grid = el('div', 'head-grid');
    grid.id = id;
    // Columns give way down to 20 px, so 12 heads fit a phone's 390 px (they overflowed it at 28).
    grid.style.gridTemplateColumns = `auto repeat(${H}, minmax(20px, 1fr))`;
    grid.setAttribute('role', 'group');
    grid.setAttribute('aria-label', `${KIND_TITLES[kind]}: press a head to switch it off or on`);
    grid.append(el('span', ''));
    for (let h = 0; h < H; h++) grid.append(el('span', 'grid-head', `H${h + 1}`));
    for (let l = 0; l < L; l++) {
      grid.append(el('span', 'grid-layer', `L${l + 1}`));
      for (let h = 0; h < H; h++) {
        const i = l * H + h;
        const off = view.headMask[kind][i] === 0;
        const b = el('button', `head-toggle${off ? ' off' : ''}`, off ? '×' : '');
        b.type = 'button';
        b.setAttribute('aria-pressed', String(off));
        b.setAttribute('aria-label', `Switch off layer ${l + 1} head ${h + 1}`);
        b.dataset.kind = kind;
        b.dataset.layer = String(l);
        b.dataset.head = String(h);
        b.dataset.focusKey = `${kind}:${i}`;
        b.addEventListener('click', () => view.onHead(kind, i));
        grid.append(b);
      }
    }
    box.append(grid);
    root.append(box);
  }
  if (!view.tokenLabels) {
    root.append(el('p', 'muted', 'Hiding tokens is offered here for models that read their input with an encoder. A decoder-only ' +
      'model does take an attention mask too (the padding mask, combined with its causal mask, so padded batches work), ' +
      'but this page does not hide its tokens; switch heads off instead.'));
  } else {
    const box = el('div', 'token-hiding');
    box.append(el('h4', '', 'Hide tokens from attention'));
    box.append(el('p', 'muted', 'This is the padding mask at work: when texts of different lengths run as one batch, the short ones ' +
      'are filled with padding tokens, and the mask adds a huge negative number to every score of a padding key, so after the ' +
      'softmax each query gives it weight 0. Hiding a token applies that mask to a real one, in every layer and head.'));
    const chips = el('div', 'tokens');
    chips.setAttribute('role', 'group');
    chips.setAttribute('aria-label', 'Press a token to hide it from every query');
    view.tokenLabels.forEach((label, i) => {
      const hidden = view.tokenMask?.[i] === 0;
      const b = el('button', `chip hide-toggle${hidden ? ' hidden-token' : ''}`, truncate(label, LABEL_CHARS));
      b.type = 'button';
      b.setAttribute('aria-pressed', String(hidden));
      b.setAttribute('aria-label', `Hide ${label}`);
      b.dataset.index = String(i);
      b.dataset.focusKey = `token:${i}`;
      b.addEventListener('click', () => view.onToken(i));
      chips.append(b);
    });
    box.append(chips);
    root.append(box);
  }
  const reset = el('button', 'secondary intervention-reset', 'Reset');
  reset.type = 'button';
  reset.dataset.focusKey = 'reset';
  reset.disabled = isPristine(view.headMask, view.tokenMask);
  reset.addEventListener('click', view.onReset);
  root.append(reset);
  if (focused) root.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

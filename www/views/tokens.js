// The tokens view: one chip per token (its text above, its id below). Hovering or focusing a chip reports
// the chip's span of the text (UTF-16 offsets) so the text view can highlight it.

import { tokenLabel, tokenText } from './token-text.js';
import { installRoving, focusItem } from './roving.js';

/** The newest onHighlight of each root (the listeners are installed once, the callback changes). */
const onHighlightOf = new WeakMap();

// Layout.
const MAX_CHIPS = 1000;   // a very long text shows its first chips and a count of the rest

/**
 * @param {HTMLElement} root        the chip container (role=listbox)
 * @param {object} tokens           Tokens from the JS API: ids, tokens, offsets, special
 * @param {object} opts
 * @param {string} opts.scheme      how the vocabulary writes text (vocabScheme in token-text.js)
 * @param {(span: [number, number] | null) => void} opts.onHighlight  called with the hovered/focused chip's span
 */
export function renderTokens(root, tokens, { scheme, onHighlight }) {
  const first = !onHighlightOf.has(root);
  onHighlightOf.set(root, onHighlight);
  if (first) {
    const report = (span) => onHighlightOf.get(root)?.(span);
    installRoving(root, { onFocusItem: (i) => report(i === null ? null : spanOf(root, i)) });
    root.addEventListener('pointerover', (e) => {
      const chip = e.target.closest('[data-index]');
      if (chip) report(spanOf(root, Number(chip.dataset.index)));
    });
    root.addEventListener('pointerleave', () => report(null));
  }
  root.replaceChildren();
  const total = tokens ? tokens.ids.length : 0;
  const n = Math.min(total, MAX_CHIPS);
  for (let i = 0; i < n; i++) {
    const special = Boolean(tokens.special[i]);
    // A pair's second text: its offsets index that text, not the one the chips highlight.
    const second = Boolean(tokens.second?.[i]);
    const [start, end] = second ? [0, 0] : tokens.offsets[i] ?? [0, 0];
    const chip = document.createElement('span');
    chip.className = special ? 'chip special' : second ? 'chip second' : 'chip';
    chip.setAttribute('role', 'option');
    chip.dataset.index = String(i);
    chip.dataset.start = String(start);
    chip.dataset.end = String(end);
    chip.tabIndex = i === 0 ? 0 : -1;
    const text = tokenText(tokens.tokens[i], scheme, special);
    chip.title = `${JSON.stringify(tokens.tokens[i])} · id ${tokens.ids[i]}` +
      (special ? ' · special token' : second ? ` · second text, characters ${tokens.offsets[i][0]}–${tokens.offsets[i][1]}` : ` · characters ${start}–${end}`);
    // The accessible name comes from the chip's own text (WCAG label-in-name: what is seen is what is said),
    // with hidden words between the parts: "special token [CLS], id 2". The decoded text, quoted so a leading
    // space is heard, is the description.
    const piece = document.createElement('span');
    piece.className = 'piece';
    piece.textContent = tokenLabel(tokens.tokens[i], scheme, special);
    const id = document.createElement('span');
    id.className = 'id';
    id.textContent = String(tokens.ids[i]);
    const said = (words) => {
      const s = document.createElement('span');
      s.className = 'visually-hidden';
      s.textContent = words;
      return s;
    };
    if (special) chip.append(said('special token '));
    chip.append(piece, said(', id '), id);
    chip.setAttribute('aria-description', JSON.stringify(text));
    root.append(chip);
  }
  if (total > n) {
    const more = document.createElement('span');
    more.className = 'more muted';
    more.textContent = `… and ${total - n} more tokens`;
    root.append(more);
  }
  focusItem(root, 0, false);
}

function spanOf(root, index) {
  const chip = root.querySelector(`[data-index="${index}"]`);
  if (!chip) return null;
  const start = Number(chip.dataset.start), end = Number(chip.dataset.end);
  return end > start ? [start, end] : null;
}

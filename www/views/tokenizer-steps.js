// The tokenizer's own steps, from `model.tokenize(text, { trace: true })`: pick a word and see
// BPE's merges one by one, WordPiece's longest-match attempts, or Unigram's chosen pieces with
// their scores; below, the same text through the other tokenizers side by side.

import { tokenLabel, truncate } from './token-text.js';

const LABEL_CHARS = 14;
const ALGORITHM_NOTES = {
  Bpe: 'BPE starts from single characters (in a byte-level BPE such as GPT-2’s, bytes shown as characters) and ' +
    'repeatedly glues the adjacent pair whose merge rule was learned earliest (lowest rank), until no learned rule applies.',
  WordPiece: 'WordPiece takes the longest start of the word that is in the vocabulary, then does the same with the rest ' +
    '(continuations are written “##…”). Each line is one lookup.',
  Unigram: 'Unigram gives every vocabulary piece a score (a log-probability) and picks the cut of the word whose pieces add up to ' +
    'the highest total.',
  AddedToken: 'An added token (often a special one), matched whole before the tokenizer’s algorithm runs.',
  WordLevel: 'A whole-word vocabulary: the word is looked up as it is.',
};

const states = new WeakMap();   // root -> { word }

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {string} view.text
 * @param {string} view.name                     the model whose tokenizer traced
 * @param {string} view.kind                     'BPE' | 'WordPiece' | 'Unigram'
 * @param {object} view.tokens                   tokenize(text, {trace: true})
 * @param {string} view.scheme
 * @param {number} [view.vocabSize]             how many tokens that tokenizer knows
 * @param {Array<{name: string, kind: string, vocabSize?: number, tokens: object}>} view.others   other tokenizers
 */
export function renderTokenizerSteps(root, view) {
  const st = states.get(root) ?? { word: 0 };
  states.set(root, st);
  const words = view.tokens.trace?.words ?? [];
  if (st.word >= words.length) st.word = 0;
  root.replaceChildren();
  if (!words.length) {
    root.append(el('p', 'placeholder', 'Type some text to see how it is cut.'));
  } else {
    const picker = el('div', 'tokens word-picker');
    picker.setAttribute('role', 'radiogroup');
    picker.setAttribute('aria-label', 'Word to trace');
    words.forEach((w, i) => {
      const b = el('button', 'chip word-choice', truncate(tokenLabel(w.text, view.scheme), LABEL_CHARS));
      b.type = 'button';
      b.setAttribute('role', 'radio');
      b.setAttribute('aria-checked', String(i === st.word));
      b.tabIndex = i === st.word ? 0 : -1;
      b.dataset.index = String(i);
      const choose = (j) => {
        st.word = j;
        renderTokenizerSteps(root, view);
        root.querySelector(`.word-choice[data-index="${j}"]`)?.focus();
      };
      b.addEventListener('click', () => choose(i));
      b.addEventListener('keydown', (e) => {
        const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
        if (!step) return;
        e.preventDefault();
        choose((i + step + words.length) % words.length);
      });
      picker.append(b);
    });
    root.append(el('h4', '', `${view.name} (${view.kind})`), picker);
    root.append(wordSteps(words[st.word], view.scheme));
  }
  if (view.others?.length) {
    root.append(el('h4', '', 'The same text through other tokenizers'));
    const grid = el('div', 'tokenizer-compare');
    // Each column says how large its vocabulary is: a learner sees why a 1,000-piece vocabulary cuts words into
    // letters that a 50,000-entry one keeps whole.
    for (const o of [{ name: view.name, kind: view.kind, vocabSize: view.vocabSize, tokens: view.tokens }, ...view.others]) {
      const col = el('div', 'tokenizer-column');
      col.dataset.name = o.name;
      if (o.tokens.error) {
        col.append(el('strong', '', o.name), el('p', 'error', o.tokens.error));
      } else {
        const n = o.tokens.tokens.length;
        const size = o.vocabSize ? ` from a vocabulary of ${o.vocabSize.toLocaleString('en')}` : '';
        col.append(el('strong', '', `${o.name}`), el('span', 'muted', ` ${o.kind}, ${n} token${n === 1 ? '' : 's'}${size}`));
        const chips = el('div', 'tokens');
        o.tokens.tokens.forEach((t, i) => {
          const c = el('span', `chip${o.tokens.special[i] ? ' special' : ''}`, truncate(tokenLabel(t, o.kind === 'BPE' ? 'byte-level' : 'plain', o.tokens.special[i]), LABEL_CHARS));
          c.title = `${JSON.stringify(t)} · id ${o.tokens.ids[i]}`;
          chips.append(c);
        });
        col.append(chips);
      }
      grid.append(col);
    }
    root.append(grid);
  }
}

function wordSteps(word, scheme) {
  const box = el('div', 'word-steps');
  const steps = word.steps ?? {};
  const algorithm = steps.algorithm ?? 'WordLevel';
  box.dataset.algorithm = algorithm;
  box.append(el('p', 'explain', ALGORITHM_NOTES[algorithm] ?? ''));
  const list = el('ol', 'step-list');
  const show = (t) => tokenLabel(t, scheme);
  if (algorithm === 'Bpe') {
    if (steps.initial.length === 1 && [...steps.initial[0]].length > 1 && !steps.merges.length) {
      // Starting from one piece of several characters: the tokenizer looked the whole word up first (ignore_merges).
      box.append(el('p', 'muted', 'This tokenizer first looks the whole word up in its vocabulary (ignore_merges, as Llama 3’s ' +
        'does); the word is there, so no merge runs.'));
    }
    list.append(partsRow('start', steps.initial.map(show), -1));
    for (const m of steps.merges) {
      const merged = m.pair[0] + m.pair[1];
      const at = m.parts.indexOf(merged);
      list.append(partsRow(`${show(m.pair[0])} + ${show(m.pair[1])} (rule ${m.rank})`, m.parts.map(show), at));
    }
  } else if (algorithm === 'WordPiece') {
    for (const a of steps.attempts) {
      const li = el('li', a.found ? 'found' : 'missed');
      li.append(el('span', 'step-mark', a.found ? '✓' : '✗'), el('code', '', a.candidate),
        el('span', 'muted', a.found ? ' in the vocabulary: taken' : ' not in the vocabulary'));
      list.append(li);
    }
    if (steps.unk_reason) list.append(el('li', 'missed', steps.unk_reason));
  } else if (algorithm === 'Unigram') {
    for (const s of steps.path) {
      const li = el('li', s.unk ? 'missed' : 'found');
      // A note (Marian's language codes, pieces its vocabulary lacks) says more than "unknown".
      const why = s.note ? ` (${s.note})` : s.unk ? ' (unknown)' : '';
      li.append(el('code', '', show(s.piece)), el('span', 'muted', `${s.note?.startsWith('a language code') ? '' : ` score ${s.score.toFixed(3)}`}${why}`));
      list.append(li);
    }
    list.append(el('li', 'total', `total ${steps.total_score.toFixed(3)}: the best of all the ways to cut “${show(word.text)}”`));
  }
  box.append(list);
  const result = el('p', 'muted', `Result: ${word.tokens.map((t) => show(t)).join(' | ')}  (${word.ids.length === 1 ? 'id' : 'ids'} ${word.ids.join(', ')})`);
  box.append(result);
  return box;
}

function partsRow(what, parts, highlight) {
  const li = el('li', 'bpe-step');
  li.append(el('span', 'step-what', what));
  const chips = el('span', 'tokens');
  parts.forEach((p, i) => chips.append(el('span', `chip${i === highlight ? ' merged' : ''}`, p)));
  li.append(chips);
  return li;
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

// The stream of generated tokens: the prompt, then one selectable chip per token as it arrives.

import { tokenLabel } from './token-text.js';
import { installRoving, activeIn } from './roving.js';

/** The newest onSelect of each root (the listeners are installed once, the callback changes). */
const onSelectOf = new WeakMap();

/**
 * The line under a finished generation: why it stopped. `res` is the API's result ({ ids, stoppedBy, beams? }, the
 * ids generated, an end-of-sequence token included); `kind` the model's ('decoder-only', 'encoder-decoder');
 * `sampling` the settings it ran with (a temperature above 0 draws tokens at random; `maxNewTokens` the length asked for).
 * A model that ends at once has written nothing to look at, so the line says why and what to do instead. Why
 * depends on how the token was chosen: only greedy decoding takes the likeliest; sampling can draw the end token
 * when it is not, and beam search can prefer a sequence that ends at once to longer ones.
 */
export function generationStatus(res, kind, sampling = {}) {
  const n = res.ids.length;
  switch (res.stoppedBy) {
    case 'eos': {
      if (n > 1) return 'Stopped at the end-of-sequence token.';
      if (res.beams) {
        return 'Stopped at once: of the sequences beam search kept, the best scoring is the end-of-sequence token alone, '
          + 'so the output is empty.';
      }
      if (sampling.temperature > 0) {
        return 'Stopped at once: the first token drawn was the end-of-sequence token, so the output is empty. Sampling '
          + 'can draw it even when it is not the likeliest: run again, or lower the temperature.';
      }
      return kind === 'decoder-only'
        ? 'Stopped at once: the likeliest first token was the end-of-sequence token, so the model took the text as '
          + 'finished (a text that ends with a full stop often is). Give it one that stops in the middle of a sentence, '
          + 'such as "Once upon a time".'
        : 'Stopped at once: the likeliest first token was the end-of-sequence token, so the output is empty.';
    }
    case 'max':
      // Fewer than were asked for, without an end token: the sequence ran into the longest this model
      // runs (its position table; the core fits the request to it rather than fail).
      if (sampling.maxNewTokens > n) {
        return `Stopped after ${n} tokens, short of the ${sampling.maxNewTokens} asked for: the text reached the longest this `
          + 'model runs (its position limit).';
      }
      return `Stopped after ${n} tokens (the maximum).`;
    case 'cancel': return 'Stopped.';
    default: return '';
  }
}

/**
 * A phrase the output goes round in circles on: the run of three words (letters, case ignored) that occurs most often
 * (at least twice, overlapping occurrences counted: "and and and and" holds two; the earliest on a tie), counted over the prompt and the new
 * text (`prompt` empty for an encoder-decoder, whose input is another text), and only when it comes back in the new
 * text: a prompt that repeats itself is the reader's doing. The bundled GPT-2's card counts loops the same way.
 * Returns `{ phrase, count }` (the phrase as first written) or null.
 */
export function repeatedPhrase(prompt, generated) {
  const words = (s) => String(s ?? '').match(/\p{L}+/gu) ?? [];
  const before = words(prompt).length;
  const all = [...words(prompt), ...words(generated)];
  const runs = new Map();   // phrase in lower case -> { count, inNew, shown: its first occurrence as written }
  for (let i = 0; i + 3 <= all.length; i++) {
    const shown = all.slice(i, i + 3).join(' ');
    const phrase = shown.toLowerCase();
    const run = runs.get(phrase);
    if (!run) {
      runs.set(phrase, { count: 1, inNew: false, shown });
    } else {
      run.count += 1;
      // A recurrence whose last word the model wrote.
      if (i + 2 >= before) run.inNew = true;
    }
  }
  let best = null;
  for (const run of runs.values()) {
    if (run.count >= 2 && run.inNew && (!best || run.count > best.count)) best = { phrase: run.shown, count: run.count };
  }
  return best;
}

/**
 * The sentence a looping output gets (empty when it does not loop): the phrase, how often, and why the way the
 * tokens were chosen lets it happen. `sampling` as for `generationStatus`; `beams` whether beam search ran.
 */
export function repetitionNote(prompt, generated, { sampling = {}, beams = false } = {}) {
  const found = repeatedPhrase(prompt, generated);
  if (!found) return '';
  const said = `“${found.phrase}” comes ${found.count} times.`;
  if (beams) {
    return `The text repeats itself: ${said} Beam search keeps the likeliest whole sequences, and a phrase that has come `
      + 'back once is likely to come back again.';
  }
  if (sampling.temperature > 0) return `The text repeats itself: ${said}`;
  return `The text goes round in circles: ${said} Greedy decoding always takes the likeliest token, and once a phrase `
    + 'has come back, the likeliest next token tends to be the one that followed it last time. A temperature above 0 '
    + 'lets it break out.';
}

/**
 * Decoding speed in tokens per second, from the worker's stamps (each token's `ms`, when it was decoded):
 * the tokens after the first over the time between the first and the last. The first token's wait (the
 * prompt's forward pass) is a figure of its own. Not the times tokens reached the page: a fast model's
 * come a frame's worth at a time, so those say how often the page was told, not how fast the model wrote
 * (the bundled GPT-2's 7 tokens, the first alone and the rest together, read as 30,000 tokens/s).
 * Undefined with fewer than two stamped tokens, and for beam search, whose best hypothesis is replayed
 * after the whole search.
 */
export function decodeRate(steps, res) {
  if (res?.beams || steps.length < 2) return undefined;
  const [first, last] = [steps[0].ms, steps[steps.length - 1].ms];
  if (typeof first !== 'number' || typeof last !== 'number' || !(last > first)) return undefined;
  return ((steps.length - 1) * 1000) / (last - first);
}

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
  if (prompt.textContent !== (view.prompt ?? '')) prompt.textContent = view.prompt ?? '';
  prompt.hidden = !view.prompt;
  // Tokens stream in: the chips already shown stay, only the new ones are made (a long generation would
  // otherwise rebuild hundreds of chips every frame). Another generation's steps start the list again.
  let drawn = drawnOf.get(list);
  if (!drawn || drawn.steps !== view.steps || drawn.count > view.steps.length || drawn.scheme !== view.scheme) {
    list.replaceChildren();
    drawn = { steps: view.steps, scheme: view.scheme, count: 0, selected: null };
    drawnOf.set(list, drawn);
  }
  const chips = list.children;
  for (let i = drawn.count; i < view.steps.length; i++) {
    list.append(chip(view.steps[i], i, view.scheme));
  }
  drawn.count = view.steps.length;
  if (drawn.selected !== view.selected) {
    markSelected(chips[drawn.selected], false);
    drawn.selected = view.selected;
  }
  markSelected(chips[view.selected], true);
  // One tab stop (roving.js): the focused chip, else the selected one, else the last.
  const stop = Number.isInteger(focusedIndex) ? focusedIndex : view.selected ?? Math.max(0, view.steps.length - 1);
  for (const b of list.querySelectorAll('[tabindex="0"]')) if (b !== chips[stop]) b.tabIndex = -1;
  if (chips[stop]) {
    chips[stop].tabIndex = 0;
    if (Number.isInteger(focusedIndex) && active !== chips[stop]) chips[stop].focus();
  }
  if (status.textContent !== (view.status ?? '')) status.textContent = view.status ?? '';
}

/** What each list shows now: `{ steps, scheme, count, selected }` (the steps array is the generation's own). */
const drawnOf = new WeakMap();

function chip(step, i, scheme) {
  const b = document.createElement('span');
  b.className = 'gen-token';
  b.setAttribute('role', 'option');
  b.setAttribute('aria-selected', 'false');
  b.tabIndex = -1;
  b.dataset.index = String(i);
  b.dataset.id = String(step.id);
  if (typeof step.ms === 'number') b.dataset.ms = step.ms.toFixed(3); // when the worker decoded it (decodeRate)
  b.textContent = tokenLabel(step.token, scheme, Boolean(step.special));
  // Beam search replays its best hypothesis: its tokens have no single-step probability (prob null).
  const hasProb = typeof step.prob === 'number';
  b.title = `step ${i + 1} · id ${step.id}` + (hasProb ? ` · p = ${step.prob.toFixed(4)}` : ' · beam search');
  b.setAttribute('aria-label', `step ${i + 1}: ${JSON.stringify(step.token)}` + (hasProb ? `, probability ${step.prob.toFixed(3)}` : ''));
  return b;
}

function markSelected(b, selected) {
  if (!b) return;
  b.classList.toggle('selected', selected);
  b.setAttribute('aria-selected', String(selected));
}

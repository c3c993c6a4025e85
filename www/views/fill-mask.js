// What the model predicts: for a masked-LM encoder (BERT), the likeliest words at every mask
// token; for a decoder-only model, the next token after the last one; for an encoder-decoder,
// the greedy output. When interventions are active, each prediction is shown beside the one
// without them ("was ...").

import { tokenLabel, truncate } from './token-text.js';

const LABEL_CHARS = 16;
const SHOWN = 5;   // bars per prediction

/** Indices of the mask tokens in a run's input. */
export function maskPositions(tokens, maskToken) {
  if (!maskToken) return [];
  return tokens.tokens.flatMap((t, i) => (t === maskToken ? [i] : []));
}

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {object} view.info        model.info
 * @param {object} view.result      the inspect result (with interventions)
 * @param {object} [view.baseline]  the same run without interventions (omit when there are none)
 * @param {string} view.scheme
 * @param {{text: string, baseline?: string}} [view.output]  encoder-decoder: greedy outputs
 */
export function renderPredictions(root, view) {
  const { info, result, baseline, scheme } = view;
  root.replaceChildren();
  if (!info.hasLmHead) {
    if (result.replacedLogits) {
      root.append(...replacedView(result, scheme, baseline));
      return;
    }
    root.append(p('placeholder', 'This checkpoint has no language-model head, so it makes no word predictions.'));
    return;
  }
  if (info.kind === 'encoder-decoder') {
    const out = view.output;
    root.append(p('explain', 'The decoder writes the output one token at a time, each time taking the likeliest token (greedy).'));
    const line = p('prediction-output', '');
    line.append(el('strong', '', 'Output: '), el('span', 'pred-text', out?.text ?? '…'));
    root.append(line);
    if (out && out.baseline !== undefined && out.baseline !== out.text) {
      root.append(p('pred-was', `Without your changes: ${out.baseline}`));
    }
    return;
  }
  const groups = [];
  if (info.kind === 'encoder-only') {
    const at = maskPositions(result.tokens, info.maskToken);
    if (!at.length) {
      root.append(p('placeholder', `Put ${info.maskToken ?? 'a mask token'} in your text (for example “The dog chased the ` +
        `${info.maskToken ?? '[MASK]'}.”) and run the model: it will guess the hidden word from both sides.`));
      return;
    }
    root.append(p('explain', 'A masked-language model was trained to guess hidden words from the words on both sides.'));
    at.forEach((pos, n) => groups.push({ pos, title: `${info.maskToken}${at.length > 1 ? ` ${n + 1}` : ''} (token ${pos + 1})` }));
  } else {
    const pos = result.tokens.ids.length - 1;
    const last = tokenLabel(result.tokens.tokens[pos], scheme, result.tokens.special[pos]);
    root.append(p('explain', 'A decoder predicts the next token from the ones before it: here, what comes after the last one.'));
    groups.push({ pos, title: `Next token after “${truncate(last, LABEL_CHARS)}”` });
  }
  for (const g of groups) {
    const box = el('div', 'prediction');
    box.dataset.position = String(g.pos);
    box.append(el('h4', '', g.title));
    const now = result.topK?.[g.pos] ?? [];
    const before = baseline?.topK?.[g.pos];
    const list = el('ol', 'candidate-list');
    for (const c of now.slice(0, SHOWN)) {
      const li = el('li', 'candidate');
      li.dataset.id = String(c.id);
      const text = tokenLabel(c.token, scheme);
      const label = el('span', 'cand-token', truncate(text, LABEL_CHARS));
      label.title = `${JSON.stringify(c.token)} · id ${c.id}`;
      const track = el('span', 'cand-track');
      const bar = el('span', 'cand-bar');
      bar.style.width = `${Math.max(0, Math.min(1, c.prob)) * 100}%`;
      track.append(bar);
      const value = el('span', 'cand-prob', `${(c.prob * 100).toFixed(1)}%`);
      li.append(label, track, value);
      li.setAttribute('aria-label', `${JSON.stringify(text)}: ${(c.prob * 100).toFixed(1)} percent`);
      list.append(li);
    }
    box.append(list);
    if (before?.length && before[0].id !== now[0]?.id) {
      box.append(p('pred-was', `Without your changes the top guess was “${tokenLabel(before[0].token, scheme)}” ` +
        `(${(before[0].prob * 100).toFixed(1)}%).`));
    } else if (before?.length && now.length) {
      const delta = (now[0].prob - before[0].prob) * 100;
      // Always say what the change did, even when it did little: "nothing happened" is a result too.
      box.append(p('pred-was', Math.abs(delta) >= 0.05
        ? `Same top guess; its probability moved ${delta > 0 ? '+' : '−'}${Math.abs(delta).toFixed(1)} points.`
        : 'Same top guess; its probability barely moved (under 0.05 points).'));
    }
    root.append(box);
  }
}

/** An ELECTRA discriminator's verdict on every token: the probability that it was swapped in (sigmoid of its logit). */
export function replacedProbabilities(logits) {
  return Array.from(logits, (z) => 1 / (1 + Math.exp(-z)));
}

function replacedView(result, scheme, baseline) {
  const probs = replacedProbabilities(result.replacedLogits);
  const before = baseline?.replacedLogits ? replacedProbabilities(baseline.replacedLogits) : null;
  const list = el('ol', 'tokens replaced-tokens');
  list.setAttribute('aria-label', 'Each token with the probability that it was replaced');
  probs.forEach((prob, i) => {
    const label = truncate(tokenLabel(result.tokens.tokens[i], scheme, result.tokens.special[i]), LABEL_CHARS);
    const chip = el('li', 'chip replaced-chip');
    chip.dataset.prob = String(prob);
    // Opaque, from white to a mid rose as the probability grows, under dark text in either colour scheme
    // (contrast above 4.5:1 at the darkest shade).
    const a = 0.6 * prob;
    const mix = (c) => Math.round(255 - (255 - c) * a);
    chip.style.background = `rgb(${mix(214)}, ${mix(51)}, ${mix(108)})`;
    chip.append(el('span', 'replaced-token', label), el('span', 'replaced-prob', ` ${(100 * prob).toFixed(0)}%` +
      (before && Math.abs(before[i] - prob) >= 0.005 ? ` (was ${(100 * before[i]).toFixed(0)}%)` : '')));
    list.append(chip);
  });
  return [p('explain', 'This is an ELECTRA discriminator. It was trained beside a small generator that replaced some words of ' +
    'each text with plausible others; for every token it says how likely it is that the token was replaced, reading the whole ' +
    'text in both directions. Swap a word for one that does not fit and run again: in a trained discriminator its percentage rises.'), list];
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

function p(className, text) {
  return el('p', className, text);
}

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
 * @param {string} [view.pair]      the second text the run read (a question-answering model's passage)
 * @param {() => Promise<{label: number, verdict: number, effects: Float32Array}>} [view.tokenEffects]
 *   a text classifier's "which words decided it?" (one run per token), offered behind a button
 * @param {(labels: string[], template: string) => Promise<Float32Array>} [view.zeroShot]
 *   an NLI classifier's zero-shot scores for candidate labels (one run per label), offered as a small form
 */
export function renderPredictions(root, view) {
  const { info, result, baseline, scheme } = view;
  root.replaceChildren();
  if (info.classifier?.task === 'span') {
    root.append(...answerView(info.classifier, result, view.pair, baseline, scheme));
    return;
  }
  if (info.classifier && result.classLogits) {
    root.append(...(info.classifier.task === 'token'
      ? tagView(info.classifier, result, scheme, baseline)
      : verdictView(info.classifier, result, baseline, view.tokenEffects, scheme, view.zeroShot, info.kind)));
    return;
  }
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
    chip.style.background = tint(ROSE, 0.6 * prob);
    chip.append(el('span', 'replaced-token', label), el('span', 'replaced-prob', ` ${(100 * prob).toFixed(0)}%` +
      (before && Math.abs(before[i] - prob) >= 0.005 ? ` (was ${(100 * before[i]).toFixed(0)}%)` : '')));
    list.append(chip);
  });
  return [p('explain', 'This is an ELECTRA discriminator. It was trained beside a small generator that replaced some words of ' +
    'each text with plausible others; for every token it says how likely it is that the token was replaced, reading the whole ' +
    'text in both directions. Swap a word for one that does not fit and run again: in a trained discriminator its percentage rises.'), list];
}

/**
 * A classification head's scores as the user reads them, by the card's rule (transformers' pipeline):
 * `softmax` over the labels (of each token, for a token head), a `sigmoid` per label, or `none` (a
 * regression head's raw value). `logits`: `[L]`, or `[T][L]` row-major for a token head.
 */
export function classScores(logits, labels, scoring) {
  const z = Array.from(logits);
  if (scoring === 'sigmoid') return z.map((v) => 1 / (1 + Math.exp(-v)));
  if (scoring !== 'softmax') return z;
  const out = [];
  for (let at = 0; at < z.length; at += labels) {
    const row = z.slice(at, at + labels);
    const top = Math.max(...row);
    const e = row.map((v) => Math.exp(v - top));
    const sum = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / sum));
  }
  return out;
}

const SHOWN_LABELS = 12;

const SCORING_TEXT = {
  softmax: 'Its probabilities add up to 100%: it picks one label.',
  sigmoid: 'Each label gets a probability of its own (a sigmoid of its score), so several may apply at once, or none.',
  none: 'It was trained to predict a number (a regression head), so the value below is a score, not a probability.',
};

function pct(x) {
  return `${(100 * x).toFixed(1)}%`;
}

/** A sequence classifier: every label with its probability (or score), likeliest first. */
function verdictView(head, result, baseline, tokenEffects, scheme, zeroShot, kind) {
  const n = head.labels.length;
  const now = classScores(result.classLogits, n, head.scoring);
  const before = baseline?.classLogits ? classScores(baseline.classLogits, n, head.scoring) : null;
  const raw = head.scoring === 'none';
  const show = (x) => (raw ? x.toFixed(3) : pct(x));
  const task = raw ? 'to give a whole text a score'
    : n === 1 ? `to say whether a whole text is “${head.labels[0]}”` : `to sort whole texts into ${n} labels`;
  // The heads after the pooler or the average are small networks (BERT's one matrix after its pooler; RoBERTa's,
  // DeBERTa's, DistilBERT's a dense layer with its activation, then the scores; ModernBERT's a norm too).
  const reads = head.reads === 'mean'
    ? 'the average of every token’s final vector, through a small network of its own'
    : head.reads === 'last' && kind === 'encoder-decoder'
      ? 'the decoder’s final vector at the closing </s>: every decoder position sees the whole encoded text through ' +
        'cross-attention, but the decoder reads its own copy of the text left to right, so only that last position has seen all of it'
    : head.reads === 'last'
      ? 'the final vector of the last token: in a decoder each token sees only the ones before it, so only the last has seen the whole text'
    : head.reads === 'pooler'
      ? 'the final vector of the first token through the pooler (a matrix, then tanh); attention has mixed information from the whole text into that vector'
      : 'the final vector of the first token through a small network of its own (usually a dense layer with its activation, then ' +
        'one score per label); attention has mixed information from the whole text into that vector';
  const scoring = head.scoring === 'sigmoid' && n === 1
    ? 'A sigmoid turns its score into a probability: above 50% means yes.'
    : SCORING_TEXT[head.scoring] ?? '';
  const explain = p('explain', `This model was fine-tuned ${task} (${head.architecture}). A small head reads ${reads}. ${scoring}`);
  const order = now.map((v, i) => i).sort((a, b) => now[b] - now[a]);
  const top = order[0];
  const verdict = p('prediction-output', '');
  verdict.append(el('strong', '', raw ? 'Score: ' : 'Verdict: '), el('span', 'pred-text', `${head.labels[top]} (${show(now[top])})`));
  const box = el('div', 'prediction class-verdict');
  const list = el('ol', 'candidate-list');
  for (const i of order.slice(0, SHOWN_LABELS)) {
    const li = el('li', `candidate${i === top ? ' chosen' : ''}`);
    li.dataset.label = head.labels[i];
    const label = el('span', 'cand-token', truncate(head.labels[i], LABEL_CHARS));
    label.title = head.labels[i];
    const track = el('span', 'cand-track');
    const bar = el('span', 'cand-bar');
    bar.style.width = `${raw ? 0 : Math.max(0, Math.min(1, now[i])) * 100}%`;
    track.append(bar);
    li.append(label, track, el('span', 'cand-prob', show(now[i])));
    li.setAttribute('aria-label', `${head.labels[i]}: ${raw ? show(now[i]) : `${(100 * now[i]).toFixed(1)} percent`}`);
    list.append(li);
  }
  box.append(list);
  if (order.length > SHOWN_LABELS) box.append(p('pred-was', `${order.length - SHOWN_LABELS} less likely labels not shown.`));
  if (before) {
    const was = before.map((v, i) => i).sort((a, b) => before[b] - before[a])[0];
    box.append(p('pred-was', was !== top
      ? `Without your changes: ${head.labels[was]} (${show(before[was])}).`
      : Math.abs(now[top] - before[top]) >= 0.0005
        ? `Same verdict; ${raw ? 'its score' : 'its probability'} moved from ${show(before[top])} to ${show(now[top])}.`
        : 'Same verdict; it barely moved.'));
  }
  const nli = head.labels.some((l) => l.toLowerCase().startsWith('entail'));
  return [explain, verdict, box, ...(tokenEffects ? [effectsView(head, result, tokenEffects, scheme)] : []),
    ...(zeroShot && nli ? [zeroShotView(zeroShot)] : [])];
}

/** The zero-shot pipeline's idea: an entailment model as a classifier for labels it never saw in training. */
function zeroShotView(zeroShot) {
  const root = el('div', 'zero-shot');
  root.append(el('h4', '', 'Zero-shot classification'), p('explain', 'An entailment model can sort a text into labels it was never ' +
    'trained on: each label goes into a hypothesis (“This example is sport.”), the model reads your text with each one as the ' +
    'second text, and the labels whose hypotheses it finds most entailed win (a softmax of the entailment scores over the labels).'));
  const field = (id, label, value) => {
    const wrap = el('div', 'pair-row');
    const l = el('label', '', label);
    l.htmlFor = id;
    const input = el('input', '');
    input.id = id;
    input.type = 'text';
    input.value = value;
    input.spellcheck = false;
    wrap.append(l, input);
    return [wrap, input];
  };
  const [labelsRow, labels] = field('zero-shot-labels', 'Candidate labels, separated by commas', 'sport, politics, science, cooking');
  const [templateRow, template] = field('zero-shot-template', 'Hypothesis ({} stands for the label)', 'This example is {}.');
  const button = el('button', 'secondary', 'Score the labels');
  button.type = 'button';
  const status = el('p', 'muted', '');
  status.setAttribute('role', 'status');
  const out = el('div', '');
  button.addEventListener('click', async () => {
    const names = labels.value.split(',').map((s) => s.trim()).filter(Boolean);
    button.disabled = true;
    status.textContent = `Running the model once for each of the ${names.length} labels…`;
    try {
      const scores = await zeroShot(names, template.value);
      status.textContent = '';
      const order = names.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
      const list = el('ol', 'candidate-list zero-shot-scores');
      for (const i of order) {
        const li = el('li', `candidate${i === order[0] ? ' chosen' : ''}`);
        li.dataset.label = names[i];
        const track = el('span', 'cand-track');
        const bar = el('span', 'cand-bar');
        bar.style.width = `${Math.max(0, Math.min(1, scores[i])) * 100}%`;
        track.append(bar);
        li.append(el('span', 'cand-token', truncate(names[i], LABEL_CHARS)), track, el('span', 'cand-prob', pct(scores[i])));
        li.setAttribute('aria-label', `${names[i]}: ${(100 * scores[i]).toFixed(1)} percent`);
        list.append(li);
      }
      out.replaceChildren(list);
    } catch (err) {
      status.textContent = `Could not score them: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  root.append(labelsRow, templateRow, button, status, out);
  return root;
}

/** "Which words decided it?": a button that hides each token in turn and shows how far the verdict falls. */
function effectsView(head, result, tokenEffects, scheme) {
  const root = el('div', 'token-effects');
  const button = el('button', 'secondary', 'Which words decided it?');
  button.type = 'button';
  const status = el('p', 'muted', '');
  status.setAttribute('role', 'status');
  const out = el('div', '');
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = `Running the model again once for each of the ${result.tokens.ids.length} tokens, each time with that token hidden…`;
    try {
      const e = await tokenEffects();
      status.textContent = '';
      out.replaceChildren(...effectChips(head, result, e, scheme));
    } catch (err) {
      status.textContent = `Could not work it out: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  root.append(button, status, out);
  return root;
}

function effectChips(head, result, e, scheme) {
  const raw = head.scoring === 'none';
  const unit = raw ? '' : ' points';
  const scale = Math.max(1e-6, ...Array.from(e.effects, Math.abs));
  const list = el('ol', 'tokens effect-tokens');
  list.setAttribute('aria-label', `How much hiding each token changes ${raw ? 'the score' : `the probability of ${head.labels[e.label]}`}`);
  Array.from(e.effects).forEach((d, i) => {
    if (result.tokens.special[i]) return;
    const chip = el('li', 'chip effect-chip');
    chip.dataset.index = String(i);
    chip.dataset.effect = String(d);
    // Green where the token holds the verdict up, rose where it pulls it down.
    chip.style.background = tint(d >= 0 ? GREEN : ROSE, 0.55 * Math.min(1, Math.abs(d) / scale));
    const shown = raw ? Math.abs(d).toFixed(3) : Math.abs(100 * d).toFixed(1);
    chip.append(el('span', 'replaced-token', truncate(tokenLabel(result.tokens.tokens[i], scheme, false), LABEL_CHARS)),
      el('span', 'replaced-prob', ` ${d >= 0 ? '+' : '−'}${shown}${unit}`));
    list.append(chip);
  });
  const what = raw ? 'its score' : `“${head.labels[e.label]}” (${pct(e.verdict)})`;
  return [p('explain', `Each token hidden in turn (as the interventions hide them): how much ${what} falls without it. ` +
    'Green tokens hold the verdict up, rose ones pull against it. This shows what the model relies on for this text, ' +
    'not why: hiding a word also changes what every other word attends to.'), list];
}

/** The kinds of name the common tagging data sets use (CoNLL-2003, OntoNotes), for the explanation. */
const ENTITY_KINDS = { PER: 'a person', ORG: 'an organisation', LOC: 'a place', MISC: 'another name', GPE: 'a country or city', DATE: 'a date' };

/** A span's text in the passage, from its tokens' offsets (UTF-16, into `pair`). */
function spanText(result, pair, span) {
  const from = result.tokens.offsets[span.start]?.[0] ?? 0;
  const to = result.tokens.offsets[span.end]?.[1] ?? from;
  return (pair ?? '').slice(from, to);
}

/** An extractive question-answering model: the span of the passage it points at, and the runners-up. */
function answerView(head, result, pair, baseline, scheme) {
  const explain = p('explain', `This model was fine-tuned for extractive question answering (${head.architecture}): it does not ` +
    'write an answer, it points at one in the passage. For every token it scores how likely the answer starts there and how ' +
    'likely it ends there; the answer is the span of the passage whose start and end probabilities multiply to the most ' +
    '(at most 15 tokens, the end not before the start).');
  if (!result.answers?.length || pair === undefined) {
    return [explain, p('placeholder', 'Type the question as your text and the passage as the second text, then run the model.')];
  }
  const [best] = result.answers;
  const verdict = p('prediction-output', '');
  verdict.append(el('strong', '', 'Answer: '), el('span', 'pred-text', `“${spanText(result, pair, best)}” (${pct(best.score)})`));
  const box = el('div', 'prediction answer-spans');
  const list = el('ol', 'candidate-list');
  result.answers.forEach((a, i) => {
    const text = spanText(result, pair, a);
    const li = el('li', `candidate${i === 0 ? ' chosen' : ''}`);
    li.dataset.start = String(a.start);
    li.dataset.end = String(a.end);
    const label = el('span', 'cand-token', truncate(text, 2 * LABEL_CHARS));
    label.title = `${text} · tokens ${a.start + 1} to ${a.end + 1}`;
    const track = el('span', 'cand-track');
    const bar = el('span', 'cand-bar');
    bar.style.width = `${Math.max(0, Math.min(1, a.score / best.score)) * 100}%`;
    track.append(bar);
    li.append(label, track, el('span', 'cand-prob', pct(a.score)));
    li.setAttribute('aria-label', `${JSON.stringify(text)}: ${(100 * a.score).toFixed(1)} percent`);
    list.append(li);
  });
  box.append(list);
  const was = baseline?.answers?.[0];
  if (was && (was.start !== best.start || was.end !== best.end)) {
    box.append(p('pred-was', `Without your changes: “${spanText(baseline, pair, was)}” (${pct(was.score)}).`));
  }
  return [explain, verdict, box, ...(result.answerStarts ? startEndView(result, scheme) : [])];
}

/** Every passage token with its probability of starting and of ending the answer (shaded by the larger). */
function startEndView(result, scheme) {
  const list = el('ol', 'tokens span-tokens');
  list.setAttribute('aria-label', 'Each token of the passage with the probability that the answer starts and ends there');
  result.tokens.ids.forEach((id, i) => {
    if (!result.tokens.second?.[i] || result.tokens.special[i]) return;
    const [start, end] = [result.answerStarts[i], result.answerEnds[i]];
    const chip = el('li', 'chip span-chip');
    chip.dataset.index = String(i);
    chip.dataset.start = String(start);
    chip.dataset.end = String(end);
    chip.style.background = tint(ROSE, 0.6 * Math.max(start, end));
    chip.append(el('span', 'replaced-token', truncate(tokenLabel(result.tokens.tokens[i], scheme, false), LABEL_CHARS)),
      el('span', 'replaced-prob', ` starts ${(100 * start).toFixed(0)}% · ends ${(100 * end).toFixed(0)}%`));
    list.append(chip);
  });
  return [p('explain', 'Where the model thinks the answer starts and ends, token by token (each a softmax over the passage):'), list];
}

/** Labels such as B-PER / I-PER / O: a named-entity tagger's "begins", "inside", "outside". */
function isBio(labels) {
  return labels.includes('O') && labels.some((l) => /^[BI]-/.test(l));
}

/** A token classifier: every token with its likeliest label; tokens outside every label ("O") stay plain. */
function tagView(head, result, scheme, baseline) {
  const n = head.labels.length;
  const probs = classScores(result.classLogits, n, 'softmax');
  const before = baseline?.classLogits ? classScores(baseline.classLogits, n, 'softmax') : null;
  const best = (ps, t) => {
    let k = 0;
    for (let j = 1; j < n; j++) if (ps[t * n + j] > ps[t * n + k]) k = j;
    return k;
  };
  const list = el('ol', 'tokens tag-tokens');
  list.setAttribute('aria-label', 'Each token with the label the model gives it');
  const t = result.tokens.ids.length;
  for (let i = 0; i < t; i++) {
    const chip = el('li', 'chip tag-chip');
    const text = truncate(tokenLabel(result.tokens.tokens[i], scheme, result.tokens.special[i]), LABEL_CHARS);
    const k = best(probs, i);
    const outside = head.labels[k] === 'O';
    chip.dataset.label = head.labels[k];
    if (!outside) chip.classList.add('tagged');
    const was = before ? best(before, i) : k;
    chip.append(el('span', 'tag-token', text), el('span', 'tag-label', ` ${head.labels[k]} ${(100 * probs[i * n + k]).toFixed(0)}%` +
      (was !== k ? ` (was ${head.labels[was]})` : '')));
    list.append(chip);
  }
  const kinds = [...new Set(head.labels.filter((l) => /^[BI]-/.test(l)).map((l) => l.slice(2)))]
    .filter((k) => ENTITY_KINDS[k]).map((k) => `${k} ${ENTITY_KINDS[k]}`);
  const bio = isBio(head.labels)
    ? ' Its labels follow the BIO scheme: B- marks the first token of a name, I- a token inside one, and O a token outside every name; ' +
      `what follows the dash is the kind of name${kinds.length ? ` (here ${kinds.join(', ')})` : ''}.`
    : '';
  return [p('explain', `This model was fine-tuned to label every token (${head.architecture}): a small head turns each token’s final vector ` +
    `into a score for each of its ${n} labels, and a softmax makes them probabilities.${bio} Each token shows its likeliest label.`), list];
}

const ROSE = [214, 51, 108];
const GREEN = [46, 160, 67];

/**
 * An opaque background from white (`a` = 0) towards `rgb` (`a` = 0.6 at most), under the chips' dark text in
 * either colour scheme (contrast above 4.5:1 at the darkest shade).
 */
function tint([r, g, b], a) {
  const mix = (c) => Math.round(255 - (255 - c) * a);
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
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

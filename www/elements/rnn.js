// <glassbox-rnn>: an RNN, an LSTM and a one-head attention model learning to recall the first symbol of a
// sequence, trained in the shared worker (crate/src/teach/rnn.rs, forward and backpropagation through time by
// hand). It plots the gradient reaching each time step (log scale), the accuracy while training, and on
// request the accuracy as the sequence grows.
//
//   <glassbox-rnn cell="all" length="20" weight-scale="0.5" seed="1" autorun></glassbox-rnn>
//
// Attributes: cell = rnn | lstm | attention | all (default all), length (N, default 20), weight-scale (the
// singular values of the recurrent matrix at the start, of each of its four gate blocks for the LSTM; default
// 0.5), clip (gradient-norm clipping; absent =
// off), optimizer = adam | sgd, steps (per model, default 200), seed (default 1), autorun (train on sight),
// hide, theme. The numbers are those of `glassbox rnn` with the same options.

import { LazyElement, asSentence, define, h, numberAttr, sharedGlassbox, widgetSheets } from './base.js';

const CELLS = ['rnn', 'lstm', 'attention'];
const CELL_NAMES = { rnn: 'RNN', lstm: 'LSTM', attention: 'Attention' };
const CHUNK = 20;                     // steps per request: the tab stays responsive and shows progress
const SWEEP_LENGTHS = [5, 10, 20, 40];
const SWEEP_STEPS = 150;
const PLOT = { width: 360, height: 180, left: 46, right: 10, top: 10, bottom: 30 };

const RNN_CSS = `
.gb-rnn-plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; margin-top: 8px; }
.gb-rnn-plots figure { margin: 0; }
.gb-rnn-plots figcaption { font-size: 13px; color: var(--gb-muted); }
.gb-rnn-plots svg { width: 100%; height: auto; display: block; }
svg .axis { stroke: var(--gb-border); fill: none; }
svg .tick { fill: var(--gb-muted); font-size: 11px; }
svg .rnn { stroke: #d1495b; fill: #d1495b; }
svg .lstm { stroke: #2e86ab; fill: #2e86ab; }
svg .attention { stroke: #3c9d5d; fill: #3c9d5d; }
svg path.line { fill: none; stroke-width: 2; }
.key { display: inline-block; width: 0.9em; height: 0.9em; border-radius: 2px; margin: 0 0.25em 0 0.6em; vertical-align: -0.1em; }
.key.rnn { background: #d1495b; } .key.lstm { background: #2e86ab; } .key.attention { background: #3c9d5d; }
.gb-rnn-text p { margin: 0.4em 0; }
.gb-rnn-summary { font-variant-numeric: tabular-nums; }
`;

let rnnSheet = null;
function rnnSheets() {
  if (!rnnSheet) {
    rnnSheet = new CSSStyleSheet();
    rnnSheet.replaceSync(RNN_CSS);
  }
  return widgetSheets().then((list) => [...list, rnnSheet]);
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 0.01 && a < 1000 ? v.toPrecision(2) : v.toExponential(1);
}

/**
 * A line chart in SVG: `series` = [{ cell, points: [[x, y]] }]; `log` draws y on a log10 scale.
 */
function lineChart(svgTitle, series, { log = false, xLabel, yLabel, yMin, yMax, xTicks } = {}) {
  const { width, height, left, right, top, bottom } = PLOT;
  const ys = series.flatMap((se) => se.points.map((p) => p[1])).filter((v) => Number.isFinite(v) && (!log || v > 0));
  const xs = series.flatMap((se) => se.points.map((p) => p[0]));
  const ty = (v) => (log ? Math.log10(v) : v);
  let lo = yMin ?? (ys.length ? Math.min(...ys.map(ty)) : 0);
  let hi = yMax ?? (ys.length ? Math.max(...ys.map(ty)) : 1);
  if (log) { lo = Math.floor(lo); hi = Math.ceil(hi); }
  if (hi <= lo) hi = lo + 1;
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs) : 1;
  const px = (x) => left + ((x - x0) / Math.max(1e-9, x1 - x0)) * (width - left - right);
  const py = (v) => top + (1 - (ty(v) - lo) / (hi - lo)) * (height - top - bottom);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': svgTitle });
  svg.append(s('path', { class: 'axis', d: `M${left},${top}V${height - bottom}H${width - right}` }));
  const yTicks = log ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i).filter((_, i, a) => a.length <= 7 || i % Math.ceil(a.length / 6) === 0)
    : [lo, (lo + hi) / 2, hi];
  for (const t of yTicks) {
    const y = top + (1 - (t - lo) / (hi - lo)) * (height - top - bottom);
    svg.append(s('text', { class: 'tick', x: left - 4, y: y + 4, 'text-anchor': 'end' }, log ? `1e${t}` : fmt(t)));
  }
  for (const t of xTicks ?? [x0, x1]) svg.append(s('text', { class: 'tick', x: px(t), y: height - bottom + 14, 'text-anchor': 'middle' }, String(t)));
  svg.append(s('text', { class: 'tick', x: (left + width - right) / 2, y: height - 2, 'text-anchor': 'middle' }, xLabel));
  svg.append(s('text', { class: 'tick', x: 10, y: top + (height - top - bottom) / 2, transform: `rotate(-90 10 ${top + (height - top - bottom) / 2})`, 'text-anchor': 'middle' }, yLabel));
  for (const se of series) {
    const pts = se.points.filter((p) => Number.isFinite(p[1]) && (!log || p[1] > 0));
    if (!pts.length) continue;
    svg.append(s('path', { class: `line ${se.cell}`, d: pts.map((p, i) => `${i ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join('') }));
    if (pts.length < 8) for (const p of pts) svg.append(s('circle', { class: se.cell, cx: px(p[0]), cy: py(p[1]), r: 3 }));
  }
  return svg;
}

/** A `cell` attribute that names no cell draws nothing: say so instead. */
function checkCell(options) {
  if (!options.cells.length) throw new Error(`cell="${options.cell}" is not a cell. Use rnn, lstm, attention or all`);
}

class GlassboxRnn extends LazyElement {
  static observedAttributes = ['cell', 'length', 'weight-scale', 'clip', 'optimizer', 'steps', 'seed', 'hide'];

  constructor() {
    super();
    this._run = 0;          // bumped to abandon a training run in progress
    /** What was measured: `{ [cell]: { curve: [{ step, loss, accuracy }], initial, latest, info } }` and `sweep`. */
    this.results = {};
    this.sweep = null;
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this._run += 1;   // abandon a training run in progress
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (!this._built || oldValue === newValue) return;
    this._syncControls();
    if (this._awake) this._reset();
  }

  get options() {
    const cell = this.getAttribute('cell') ?? 'all';
    const clip = numberAttr(this, 'clip', null);
    return {
      cells: cell === 'all' ? CELLS : CELLS.filter((c) => c === cell),
      cell,
      length: Math.round(numberAttr(this, 'length', 20)),
      weightScale: numberAttr(this, 'weight-scale', 0.5),
      clip: clip !== null && clip > 0 ? clip : null,
      optimizer: this.getAttribute('optimizer') === 'sgd' ? 'sgd' : 'adam',
      steps: Math.max(1, Math.round(numberAttr(this, 'steps', 200))),
      seed: Math.max(0, Math.round(numberAttr(this, 'seed', 1))),
    };
  }

  _hidden(name) {
    const hide = (this.getAttribute('hide') ?? '').split(/[\s,]+/).filter(Boolean);
    return hide.includes(name) || hide.includes('all');
  }

  _build() {
    this._built = true;
    rnnSheets().then((list) => { this.shadowRoot.adoptedStyleSheets = list; });
    const id = (n) => `gbrnn-${n}-${Math.random().toString(36).slice(2, 8)}`;
    const field = (control, label, input, narrow = true) => {
      input.id = id(control);
      return h('div', { class: `field compact${narrow ? ' narrow' : ''}`, dataset: { control } }, h('label', { for: input.id }, label), input);
    };
    this.ui = {};
    this.ui.cell = h('select', {}, ...[['all', 'All three'], ...CELLS.map((c) => [c, CELL_NAMES[c]])].map(([v, t]) => h('option', { value: v }, t)));
    this.ui.length = h('input', { type: 'number', min: '1', max: '200', step: '1' });
    this.ui.scale = h('input', { type: 'number', min: '0.05', max: '10', step: '0.1' });
    this.ui.clip = h('input', { type: 'number', min: '0', max: '1000', step: '0.5', placeholder: 'off' });
    this.ui.seed = h('input', { type: 'number', min: '0', step: '1' });
    this.ui.train = h('button', { type: 'button', class: 'primary', dataset: { action: 'train' } }, 'Train');
    this.ui.sweep = h('button', { type: 'button', dataset: { action: 'sweep' } }, 'Accuracy as N grows');
    const controls = h('div', { class: 'gb-controls', dataset: { control: 'controls' } },
      field('cell', 'Model', this.ui.cell, false), field('length', 'Length N', this.ui.length),
      field('weight-scale', 'Weight scale', this.ui.scale), field('clip', 'Clip norm', this.ui.clip),
      field('seed', 'Seed', this.ui.seed), h('div', { class: 'button-row' }, this.ui.train, this.ui.sweep));
    const bind = (input, attr) => input.addEventListener('change', () => {
      const v = input.value.trim();
      if (v === '') this.removeAttribute(attr); else this.setAttribute(attr, v);
    });
    bind(this.ui.cell, 'cell');
    bind(this.ui.length, 'length');
    bind(this.ui.scale, 'weight-scale');
    bind(this.ui.clip, 'clip');
    bind(this.ui.seed, 'seed');
    this.ui.train.addEventListener('click', () => this.train());
    this.ui.sweep.addEventListener('click', () => this.runSweep());
    this.ui.status = h('p', { class: 'gb-status placeholder', 'aria-live': 'polite' });
    this.ui.error = h('p', { class: 'error', role: 'alert', hidden: true });
    this.ui.legend = h('p', { class: 'muted', dataset: { control: 'legend' } });
    const figure = (control, caption) => {
      const box = h('div');
      const f = h('figure', { dataset: { control } }, h('figcaption', {}, caption), box);
      return { f, box };
    };
    this.ui.norms = figure('norms', 'Gradient reaching each time step, ‖dL/dh_t‖ (attention: its embedding e_t; log scale)');
    this.ui.curve = figure('curve', 'Accuracy on a fixed set of fresh random sequences while training');
    this.ui.sweepFig = figure('sweep', 'Accuracy after training, as N grows');
    this.ui.summary = h('div', { class: 'gb-rnn-summary', 'aria-live': 'polite' });
    this.ui.text = h('div', { class: 'gb-rnn-text', dataset: { control: 'explain' } },
      h('p', {}, 'The task: the first symbol of a sequence is one of 4, the other N − 1 are distractors; after the last step the model must name the first. Chance is 1 in 4.'),
      h('p', {}, 'Going back one step, an RNN multiplies its gradient by the recurrent weight matrix (transposed) and by the slope of tanh, which is at most 1. '
        + 'When the matrix\'s largest singular value times that slope stays below 1, the gradient shrinks at every step and the first symbol gets almost none (vanishing); '
        + 'a larger weight scale can make it grow instead (exploding). Clipping the gradient\'s norm tames an explosion; it cannot bring back a vanished gradient.'),
      h('p', {}, 'The LSTM keeps a memory cell updated by addition, c_t = f ⊙ c_(t−1) + i ⊙ g, where f (the forget gate) says how much '
        + 'of the old cell to keep, g is new content made from the input and the hidden state, i (the input gate) how much of it to '
        + 'add, and ⊙ multiplies number by number. Going back along the cell itself (c_t to c_(t−1), not through the gates), the gradient is multiplied only by f, '
        + 'so when f stays near 1 the first symbol\'s information and its gradient cross many steps.'),
      h('p', {}, 'Attention reaches every earlier step in one step: the last step\'s query scores all keys, so the path from the output to step 1 does not grow with N.'));
    this.ui.plots = h('div', { class: 'gb-rnn-plots' }, this.ui.norms.f, this.ui.curve.f, this.ui.sweepFig.f);
    this.ui.root = h('div', { class: 'gb-widget', part: 'widget' },
      h('div', { class: 'gb-head', part: 'head' }, h('span', { class: 'gb-model' }, 'RNN, LSTM and attention: remember the first symbol')),
      controls, this.ui.status, this.ui.error, this.ui.legend, this.ui.summary, this.ui.plots, this.ui.text);
    this.shadowRoot.append(this.ui.root);
    this._syncControls();
    this._setStatus('waiting', 'Scroll here to train.');
  }

  _syncControls() {
    const o = this.options;
    this.ui.cell.value = o.cell === 'all' || CELLS.includes(o.cell) ? o.cell : 'all';
    this.ui.length.value = String(o.length);
    this.ui.scale.value = String(o.weightScale);
    this.ui.clip.value = o.clip === null ? '' : String(o.clip);
    this.ui.seed.value = String(o.seed);
    for (const node of this.shadowRoot.querySelectorAll('[data-control]')) node.hidden = this._hidden(node.dataset.control);
  }

  _wake() {
    if (this._awake) return;
    this._awake = true;
    this._reset();
  }

  /** Options changed: show the untrained models' gradients; train when autorun is set. */
  _reset() {
    this.results = {};
    if (this.hasAttribute('autorun')) this.train();
    else this._measureInitial();
  }

  async _measureInitial() {
    const run = ++this._run;
    this._busy(false);
    try {
      this._clearError();
      checkCell(this.options);
      this._setStatus('running', 'Measuring the untrained models…');
      const gb = await sharedGlassbox();
      for (const cell of this.options.cells) {
        const trainer = await gb.createTrainer(this._trainerOptions(cell, this.options.length));
        const initial = await trainer.evaluate();
        await trainer.free();
        if (run !== this._run) return;
        this.results[cell] = { info: trainer.info, initial, latest: initial, curve: [{ step: 0, loss: initial.loss, accuracy: initial.accuracy }] };
      }
      this._draw();
      this._setStatus('ready', 'Untrained: press Train.');
      this.dispatchEvent(new CustomEvent('glassbox-ready', { bubbles: true, composed: true }));
    } catch (err) {
      if (run === this._run) this._fail(err);
    }
  }

  _trainerOptions(cell, length) {
    const o = this.options;
    const opts = { cell, length, weightScale: o.weightScale, optimizer: o.optimizer, seed: o.seed };
    if (o.clip !== null) opts.clip = o.clip;
    return opts;
  }

  /** Train every shown model for `steps` steps, a chunk at a time, round robin. */
  async train() {
    const run = ++this._run;
    const o = this.options;
    this.results = {};
    try {
      this._clearError();
      checkCell(o);
      this._busy(true);
      const gb = await sharedGlassbox();
      const trainers = [];
      try {
        // A newer run (the attributes changed again: a lesson's step sets several) owns `results` from its start:
        // this one writes nothing after that, or its model would be drawn, untrained, beside the newer one's.
        for (const cell of o.cells) {
          const trainer = await gb.createTrainer(this._trainerOptions(cell, o.length));
          trainers.push([cell, trainer]);
          const initial = await trainer.evaluate();
          if (run !== this._run) return;
          this.results[cell] = { info: trainer.info, initial, latest: initial, curve: [{ step: 0, loss: initial.loss, accuracy: initial.accuracy }] };
        }
        for (let done = 0; done < o.steps;) {
          const n = Math.min(CHUNK, o.steps - done);
          for (const [cell, trainer] of trainers) {
            const stepped = await trainer.step(n);
            const e = await trainer.evaluate();
            if (run !== this._run) return;
            const r = this.results[cell];
            r.clipped = (r.clipped ?? 0) + stepped.clipped;
            r.largestGradNorm = Math.max(r.largestGradNorm ?? 0, ...stepped.gradNorm);
            r.latest = e;
            r.curve.push({ step: e.step, loss: e.loss, accuracy: e.accuracy });
          }
          done += n;
          this._setStatus('training', `Training… step ${done} of ${o.steps}`);
          this._draw();
        }
        for (const [cell, trainer] of trainers) {
          const info = await trainer.describe();
          if (run !== this._run) return;
          this.results[cell].info = info;
        }
      } finally {
        for (const [, trainer] of trainers) trainer.free().catch(() => {});
      }
      if (run !== this._run) return;
      this._draw();
      this._setStatus('ready', `Trained ${o.steps} steps.`);
      this.dispatchEvent(new CustomEvent('glassbox-ready', { bubbles: true, composed: true }));
    } catch (err) {
      if (run === this._run) this._fail(err);
    } finally {
      if (run === this._run) this._busy(false);
    }
  }

  /** Train each shown model at N = 5, 10, 20, 40 and plot the final accuracy. */
  async runSweep() {
    const run = ++this._run;
    const o = this.options;
    this.sweep = { lengths: SWEEP_LENGTHS, steps: SWEEP_STEPS, accuracy: {} };
    try {
      this._clearError();
      this._busy(true);
      const gb = await sharedGlassbox();
      for (const length of SWEEP_LENGTHS) {
        for (const cell of o.cells) {
          const trainer = await gb.createTrainer(this._trainerOptions(cell, length));
          for (let done = 0; done < SWEEP_STEPS; done += CHUNK) {
            await trainer.step(Math.min(CHUNK, SWEEP_STEPS - done));
            if (run !== this._run) { trainer.free().catch(() => {}); return; }
            this._setStatus('training', `Accuracy as N grows: N = ${length}, ${CELL_NAMES[cell]}, step ${Math.min(done + CHUNK, SWEEP_STEPS)} of ${SWEEP_STEPS}`);
          }
          const e = await trainer.evaluate();
          trainer.free().catch(() => {});
          if (run !== this._run) return;
          (this.sweep.accuracy[cell] ??= []).push(e.accuracy);
          this._draw();
        }
      }
      if (run !== this._run) return;
      this._setStatus('ready', `Each model trained ${SWEEP_STEPS} steps at every length.`);
      this.dispatchEvent(new CustomEvent('glassbox-ready', { bubbles: true, composed: true }));
    } catch (err) {
      if (run === this._run) this._fail(err);
    } finally {
      if (run === this._run) this._busy(false);
    }
  }

  _busy(on) {
    this.ui.train.disabled = on;
    this.ui.sweep.disabled = on;
  }

  _fail(err) {
    const message = err instanceof Error ? err.message : String(err);
    this.ui.error.textContent = asSentence(message);
    this.ui.error.hidden = false;
    this._setStatus('error', '');
    this.dispatchEvent(new CustomEvent('glassbox-error', { bubbles: true, composed: true, detail: { message } }));
  }

  _clearError() {
    this.ui.error.hidden = true;
    this.ui.error.textContent = '';
  }

  _draw() {
    const o = this.options;
    const cells = Object.keys(this.results);
    this.ui.legend.replaceChildren('Lines:', ...cells.flatMap((c) => [h('span', { class: `key ${c}`, 'aria-hidden': 'true' }), CELL_NAMES[c]]));
    const normSeries = cells.map((cell) => ({ cell, points: Array.from(this.results[cell].latest.stepNorms, (v, t) => [t + 1, v]) }));
    const ticks = [1, Math.max(1, Math.round(o.length / 2)), o.length].filter((v, i, a) => a.indexOf(v) === i);
    const describe = (cell) => {
      const n = this.results[cell].latest.stepNorms;
      return `${CELL_NAMES[cell]}: ${fmt(n[0])} at step 1, ${fmt(n[n.length - 1])} at step ${n.length}`;
    };
    this.ui.norms.box.replaceChildren(lineChart(`Gradient norm per time step, log scale. ${cells.map(describe).join('; ')}.`, normSeries,
      { log: true, xLabel: 'time step t', yLabel: '‖dL/dh_t‖', xTicks: ticks }));
    const curveSeries = cells.map((cell) => ({ cell, points: this.results[cell].curve.map((p) => [p.step, p.accuracy]) }));
    const accText = cells.map((cell) => `${CELL_NAMES[cell]} ${Math.round(100 * this.results[cell].latest.accuracy)}%`).join(', ');
    this.ui.curve.box.replaceChildren(lineChart(`Held-out accuracy while training: ${accText}.`, curveSeries,
      { xLabel: 'training step', yLabel: 'accuracy', yMin: 0, yMax: 1 }));
    if (this.sweep) {
      const sweepSeries = Object.entries(this.sweep.accuracy).map(([cell, accs]) => ({ cell, points: accs.map((a, i) => [this.sweep.lengths[i], a]) }));
      const text = sweepSeries.map((se) => `${CELL_NAMES[se.cell]}: ${se.points.map(([n, a]) => `N ${n} ${Math.round(100 * a)}%`).join(', ')}`).join('; ');
      this.ui.sweepFig.box.replaceChildren(lineChart(`Accuracy after ${this.sweep.steps} steps as N grows. ${text}.`, sweepSeries,
        { xLabel: 'sequence length N', yLabel: 'accuracy', yMin: 0, yMax: 1, xTicks: this.sweep.lengths }));
    } else {
      this.ui.sweepFig.box.replaceChildren(h('p', { class: 'muted' }, 'Press “Accuracy as N grows” to train each model at N = 5, 10, 20 and 40.'));
    }
    const lines = cells.map((cell) => {
      const r = this.results[cell];
      const n = r.latest.stepNorms;
      const sigma = r.info?.recurrentSingularValue;
      return h('p', { dataset: { cell } }, h('span', { class: `key ${cell}`, 'aria-hidden': 'true' }),
        `${CELL_NAMES[cell]}: accuracy ${(100 * r.latest.accuracy).toFixed(1)}% after ${r.latest.step} steps; `
        + `the gradient reaching step 1 is ${fmt(n[0] / n[n.length - 1])} times the one reaching step ${n.length}`
        + (sigma != null ? `; largest singular value of the recurrent matrix ${fmt(sigma)}`
          + (cell === 'lstm' ? ' (its four gate blocks stacked, each of which starts with singular values equal to the weight scale)' : '') : '')
        + (r.largestGradNorm !== undefined ? `; largest gradient norm ${fmt(r.largestGradNorm)}` : '')
        + (o.clip !== null && r.clipped !== undefined ? `, ${r.clipped} of ${r.latest.step} steps clipped to ${o.clip}` : '') + '.');
    });
    this.ui.summary.replaceChildren(...lines);
  }
}

define('glassbox-rnn', GlassboxRnn);

export { GlassboxRnn };

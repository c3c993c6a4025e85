// <glassbox-rollout>: where an output token's information came from, three ways side by side: the last layer's
// raw attention (mean of its heads), attention rollout and attention flow (Abnar and Zuidema, 2020), computed in
// Rust (crate/src/teach/rollout.rs) from the same run. The raw map shows one layer; rollout and flow follow the
// mixing through every layer down to the input tokens, with the residual connection counted.
//
//   <glassbox-rollout model="glassbox-bert" text="The cat sat on the mat." output="3"></glassbox-rollout>
//
// Attributes: the common ones, kind (encoder or decoder: rollout follows one stack's self-attention) and
// output (the output token, counted from 1; default: the last). Cross-attention links two sequences, so there
// is no rollout through it: the element says so and shows the encoder's and decoder's.

import { define, h, numberAttr, range, widgetSheets } from './base.js';
import { ViewElement, VIEW_ATTRIBUTES } from './view-element.js';
import { renderSelect } from '../views/controls.js';
import { axesOf, headMatrix } from '../run-view.js';
import { renderHeatmap } from '../views/heatmap.js';

const sheet = new CSSStyleSheet();
sheet.replaceSync(`
.ro-table { border-collapse: collapse; width: 100%; font-size: 13px; table-layout: fixed; }
.ro-table th, .ro-table td { padding: 2px 4px; text-align: left; border-bottom: 1px solid var(--gb-border); }
.ro-table th:first-child { width: 28%; }
.ro-table td { font-variant-numeric: tabular-nums; }
.ro-bar { display: block; height: 8px; border-radius: 2px; background: var(--gb-accent); margin-top: 2px; }
.ro-tok { font-family: var(--gb-mono, monospace); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ro-tok.special { color: var(--gb-muted); }
.ro-out { font-weight: 600; }
.ro-note { font-size: 13px; color: var(--gb-muted); margin: 6px 0 0; }
.ro-maps h3 { font-size: 14px; margin: 12px 0 4px; }
${range(101).map((p) => `.ro-bar[data-w="${p}"] { width: ${p}%; }`).join('\n')}
`);

class GlassboxRollout extends ViewElement {
  static observedAttributes = [...VIEW_ATTRIBUTES, 'output'];

  buildControls() {
    widgetSheets().then((list) => { this.shadowRoot.adoptedStyleSheets = [...list, sheet]; });
    this._kindControl();
    this.ui.output = this._field('output', 'Output token', h('select'));
    this.ui.output.addEventListener('change', () => this.setAttribute('output', String(Number(this.ui.output.value) + 1)));
    this.ui.table = h('table', { class: 'ro-table' });
    this.ui.note = h('p', { class: 'ro-note', dataset: { control: 'explain' } });
    // The whole matrices, every output token at once: one layer's attention beside the rollout through all layers.
    this.ui.rawMap = h('div', { class: 'heatmap' });
    this.ui.rolloutMap = h('div', { class: 'heatmap' });
    this.ui.maps = h('div', { class: 'ro-maps', dataset: { control: 'maps' } },
      h('h3', {}, 'Last layer, mean of the heads'), this.ui.rawMap, h('h3', {}, 'Rollout through every layer'), this.ui.rolloutMap);
    this.ui.body.append(this.ui.table, this.ui.note, this.ui.maps);
  }

  /** Rollout follows layers and heads as a whole: layer and head focus do not move it, the kind does. */
  _follow(e) {
    const d = e.detail ?? {};
    if (e.target !== this && (d.kind === 'encoder' || d.kind === 'decoder') && this._sameRun(d)) this.setAttribute('kind', d.kind);
  }

  async show(src, isCurrent) {
    const { run, info, scheme, glassbox } = src;
    const { kind } = this._kindOf(run, info, ['encoder', 'decoder']);
    if (!kind) throw new Error('this run has no self-attention to follow');
    const tensor = run.attentions[kind];
    const [L, , T] = tensor.shape;
    const output = Math.min(T - 1, Math.max(0, numberAttr(this, 'output', T) - 1));
    const { rows, cols } = axesOf(run, kind, scheme);
    renderSelect(this.ui.output, range(T).map((i) => ({ value: String(i), label: `${i + 1}: ${rows.labels[i] ?? i}` })), String(output));
    let result;
    let flowError = '';
    try {
      result = await glassbox.attentionRollout(tensor, { flowFrom: output });
    } catch (err) {
      // Flow has a size limit (named in the message); rollout has none.
      flowError = err.message;
      result = await glassbox.attentionRollout(tensor, {});
    }
    if (!isCurrent()) return;
    const raw = headMatrix(tensor, L - 1, 'mean').subarray(output * T, (output + 1) * T);
    const rollout = result.rollout.data.subarray(output * T, (output + 1) * T);
    const flow = result.flow ?? null;
    this.shown = { kind, output, raw: Array.from(raw), rollout: Array.from(rollout), flow: flow && Array.from(flow) };
    const raster = (values, options) => glassbox.drawMap(values, options);
    const labels = { nRows: T, nCols: T, rowLabels: rows.labels, colLabels: cols.labels, rowSpecial: rows.special, colSpecial: cols.special,
      causal: kind === 'decoder', raster };
    renderHeatmap(this.ui.rawMap, { ...labels, values: headMatrix(tensor, L - 1, 'mean'), title: `Layer ${L} of the ${kind}, mean of the heads`,
      colAxis: 'input token' });
    renderHeatmap(this.ui.rolloutMap, { ...labels, values: result.rollout.data, title: `Attention rollout of the ${kind} through its ${L} layers`,
      rowAxis: 'output token', colAxis: 'input token' });
    const cell = (v) => (v === null ? h('td', {}, '—') : h('td', {}, v.toFixed(3),
      h('span', { class: 'ro-bar', dataset: { w: String(Math.round(Math.max(0, Math.min(1, v)) * 100)) }, 'aria-hidden': 'true' })));
    const head = h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'input token'),
      h('th', { scope: 'col' }, `last layer (${L})`), h('th', { scope: 'col' }, 'rollout'), h('th', { scope: 'col' }, 'flow')));
    const body = h('tbody', {}, ...range(T).map((j) => h('tr', {},
      h('th', { scope: 'row', class: `ro-tok${cols.special?.[j] ? ' special' : ''}${j === output ? ' ro-out' : ''}` }, `${j + 1} ${cols.labels[j] ?? j}`),
      cell(raw[j]), cell(rollout[j]), cell(flow ? flow[j] : null))));
    this.ui.table.replaceChildren(h('caption', { class: 'visually-hidden' },
      `Where output token ${output + 1} (${rows.labels[output]}) gets its information, ${kind} self-attention`), head, body);
    this.ui.note.textContent = `Last layer: the mean of layer ${L}'s heads for token ${output + 1}, one layer only. Rollout: each `
      + 'layer\'s heads averaged, half of each position kept for itself (the residual connection), rows rescaled to 1, and '
      + 'the layers multiplied: the input tokens\' shares, adding up to 1. Flow: the most that can pass from this output '
      + 'to each input token through the layers when each weight is a pipe\'s capacity; each value is at most 1 and they '
      + `are computed one input at a time, so they do not add up to 1.${kind === 'decoder' ? ' In a decoder every path runs to earlier tokens, so later ones get 0.' : ''}`
      + (info.kind === 'encoder-decoder' ? ' Cross-attention links the two sequences, so rollout follows the encoder or the decoder alone.' : '')
      + (flowError ? ` Flow is not shown: ${flowError}` : '');
  }
}

define('glassbox-rollout', GlassboxRollout);

export { GlassboxRollout };

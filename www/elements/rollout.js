// <glassbox-rollout>: where an output token's information came from, three ways side by side: the last layer's
// raw attention (mean of its heads), attention rollout and attention flow (Abnar and Zuidema, 2020), computed in
// Rust (crate/src/teach/rollout.rs) from the same run. The raw map shows one layer; rollout and flow follow the
// mixing through every layer down to the input tokens, with the residual connection counted.
//
//   <glassbox-rollout model="glassbox-bert" text="The cat sat on the mat." output="3"></glassbox-rollout>
//
// Attributes: the common ones, kind and output (the output token, counted from 1; default: the last).
// kind="encoder" or "decoder" follows one stack's self-attention; kind="cross" (the default for an
// encoder-decoder) follows a decoder token back through the decoder's self-attention and cross-attention
// into the encoder's rollout, to the encoder's input tokens (and the decoder's own).
//
// Flow is a maximum flow per input token: it is computed a few input tokens per worker request
// (flowStart/flowNext), so the page's other requests run in between; above the core's size limit it is
// left out and the element says so.

import { COMMON_ATTRIBUTES, define, h, numberAttr, range, widgetSheets } from './base.js';
import { ViewElement } from './view-element.js';

/** What <glassbox-rollout> reads: the model and text, the attention kind and the output token. */
const ROLLOUT_ATTRIBUTES = [...COMMON_ATTRIBUTES, 'kind', 'output'];
import { renderSelect } from '../views/controls.js';
import { axesOf, headMatrix } from '../run-view.js';
import { renderHeatmap } from '../views/heatmap.js';

const sheet = new CSSStyleSheet();
sheet.replaceSync(`
.ro-table { border-collapse: collapse; width: 100%; font-size: 13px; table-layout: fixed; }
.ro-table th, .ro-table td { padding: 2px 4px; text-align: left; border-bottom: 1px solid var(--gb-border); }
.ro-table th:first-child { width: 28%; }
.ro-table td { font-variant-numeric: tabular-nums; }
.ro-table caption { text-align: left; font-weight: 600; font-size: 13px; padding: 8px 0 2px; }
.ro-bar { display: block; height: 8px; border-radius: 2px; background: var(--gb-accent); margin-top: 2px; }
.ro-tok { font-family: var(--gb-mono, monospace); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ro-tok.special { color: var(--gb-muted); }
.ro-out { font-weight: 600; }
.ro-note { font-size: 13px; color: var(--gb-muted); margin: 6px 0 0; }
.ro-maps h3 { font-size: 14px; margin: 12px 0 4px; }
${range(101).map((p) => `.ro-bar[data-w="${p}"] { width: ${p}%; }`).join('\n')}
`);

const KIND_LABELS = { encoder: 'Encoder self-attention', decoder: 'Decoder self-attention', cross: 'Through cross-attention' };

class GlassboxRollout extends ViewElement {
  // Not `layer` or `head`: rollout and flow take every layer and the mean of the heads (a lesson that sets
  // them on this element is refused by name rather than quietly ignored).
  static observedAttributes = ROLLOUT_ATTRIBUTES;

  buildControls() {
    widgetSheets().then((list) => { this.shadowRoot.adoptedStyleSheets = [...list, sheet]; });
    this._kindControl();
    this.ui.output = this._field('output', 'Output token', h('select'));
    this.ui.output.addEventListener('change', () => this.setAttribute('output', String(Number(this.ui.output.value) + 1)));
    this.ui.tables = h('div', { class: 'ro-tables' });
    this.ui.progress = h('p', { class: 'ro-note ro-progress', 'aria-live': 'polite' });
    this.ui.note = h('p', { class: 'ro-note', dataset: { control: 'explain' } });
    // The whole matrices, every output token at once: one layer's attention beside the rollout through all layers.
    this.ui.rawTitle = h('h3');
    this.ui.rolloutTitle = h('h3');
    this.ui.rawMap = h('div', { class: 'heatmap' });
    this.ui.rolloutMap = h('div', { class: 'heatmap' });
    this.ui.maps = h('div', { class: 'ro-maps', dataset: { control: 'maps' } }, this.ui.rawTitle, this.ui.rawMap, this.ui.rolloutTitle, this.ui.rolloutMap);
    this.ui.body.append(this.ui.tables, this.ui.progress, this.ui.note, this.ui.maps);
  }

  /** Rollout follows layers and heads as a whole: layer and head focus do not move it, the kind does. */
  _follow(e) {
    const d = e.detail ?? {};
    if (e.target !== this && ['encoder', 'decoder', 'cross'].includes(d.kind) && this._sameRun(d)) this.setAttribute('kind', d.kind);
  }

  async show(src, isCurrent) {
    const { run, info } = src;
    const crossable = run.attentions.encoder && run.attentions.decoder && run.attentions.cross;
    const { kind } = this._kindOf(run, info, crossable ? ['encoder', 'decoder', 'cross'] : ['encoder', 'decoder']);
    if (!kind) throw new Error('this run has no self-attention to follow');
    if (this.ui.kind) {
      for (const option of this.ui.kind.options) option.textContent = KIND_LABELS[option.value] ?? option.textContent;
    }
    this.ui.progress.textContent = '';
    return kind === 'cross' ? this._showCross(src, isCurrent) : this._showSelf(src, kind, isCurrent);
  }

  /** The output token (0-based) and the output select, over `labels`. */
  _output(labels, T) {
    const output = Math.min(T - 1, Math.max(0, numberAttr(this, 'output', T) - 1));
    // An output token the text does not have: named in the widget's note, not clamped in silence.
    const raw = this.getAttribute('output')?.trim();
    const asked = raw && Number.isFinite(Number(raw)) ? Number(raw) : null;
    this._setNotes('view', asked !== null && asked !== output + 1
      ? [`output="${raw}": output tokens count from 1 and this text has ${T}, so token ${output + 1} is shown.`] : []);
    renderSelect(this.ui.output, range(T).map((i) => ({ value: String(i), label: `${i + 1}: ${labels[i] ?? i}` })), String(output));
    return output;
  }

  /**
   * The flow from `output`, a part per worker request (crate/src/teach/rollout.rs FlowProblem::flow_part), so
   * other requests run in between; `onPart(values so far, done, of)` after each. Returns the values, or
   * `{ error }` when the core refuses the size (its message names the limit), or null when no longer current.
   */
  async _flowInParts(glassbox, values, options, first, isCurrent, onPart) {
    let result = first;
    const flow = new Float32Array(first.flowInputs ?? 0);
    let parts = 0;
    for (;;) {
      flow.set(result.flow, result.flowStart);
      parts += 1;
      const done = result.flowNext ?? flow.length;
      onPart(flow, done, flow.length, parts);
      if (result.flowNext == null) return { flow, parts };
      if (!isCurrent()) return null;
      // Later parts as background work: every request of the reader's (a run, a generation step) goes first.
      result = await glassbox.attentionRollout(values, { ...options, rollout: false, flowStart: result.flowNext, priority: 'background' });
    }
  }

  /** The first request: rollout and the flow's first part, or rollout alone when flow is refused. */
  async _first(glassbox, values, options, output) {
    try {
      return { result: await glassbox.attentionRollout(values, { ...options, flowFrom: output, flowStart: 0 }), flowError: '' };
    } catch (err) {
      // Flow has a size limit (named in the message); rollout has none.
      return { result: await glassbox.attentionRollout(values, options), flowError: err.message };
    }
  }

  _progress(done, of, parts) {
    if (done < of) this.ui.progress.textContent = `Computing the flow: ${done} of ${of} input tokens (a few at a time, so the page stays responsive)…`;
    else this.ui.progress.textContent = parts > 1 ? `Flow computed in ${parts} parts of a few input tokens each, so the page stayed responsive.` : '';
  }

  async _showSelf(src, kind, isCurrent) {
    const { run, info, scheme, glassbox } = src;
    const tensor = run.attentions[kind];
    const [L, , T] = tensor.shape;
    const { rows, cols } = axesOf(run, kind, scheme);
    const output = this._output(rows.labels, T);
    const options = { shape: tensor.shape };
    const { result, flowError } = await this._first(glassbox, tensor.data, options, output);
    if (!isCurrent()) return;
    const raw = headMatrix(tensor, L - 1, 'mean').subarray(output * T, (output + 1) * T);
    const rollout = result.rollout.data.subarray(output * T, (output + 1) * T);
    this.shown = { kind, output, raw: Array.from(raw), rollout: Array.from(rollout), flow: null, flowError };
    const raster = (values, opts) => glassbox.drawMap(values, opts);
    const labels = { nRows: T, nCols: T, rowLabels: rows.labels, colLabels: cols.labels, rowSpecial: rows.special, colSpecial: cols.special,
      causal: kind === 'decoder', raster };
    this.ui.rawTitle.textContent = 'Last layer, mean of the heads';
    this.ui.rolloutTitle.textContent = 'Rollout through every layer';
    renderHeatmap(this.ui.rawMap, { ...labels, values: headMatrix(tensor, L - 1, 'mean'), title: `Layer ${L} of the ${kind}, mean of the heads`,
      colAxis: 'input token' });
    renderHeatmap(this.ui.rolloutMap, { ...labels, values: result.rollout.data, title: `Attention rollout of the ${kind} through its ${L} layers`,
      rowAxis: 'output token', colAxis: 'input token', quantity: 'rollout share (each row adds up to 1)', shares: true });
    const table = (flow) => tokenTable(`Where output token ${output + 1} (${rows.labels[output]}) gets its information, estimated from ${kind} self-attention alone`,
      cols, range(T), [`last layer (${L})`, 'rollout', 'flow'], [raw, rollout, flow], output, !flowError);
    this.ui.tables.replaceChildren(table(null));
    this.ui.note.textContent = `Last layer: the mean of layer ${L}'s heads for token ${output + 1}, one layer only. Rollout: each `
      + 'layer\'s heads averaged, half of each position kept for itself (the residual connection), rows rescaled to 1, and '
      + 'the layers multiplied: an estimate of each input token\'s share, adding up to 1, that assumes information mixes only as '
      + 'the attention weights say (the values, the feed-forward layers and the norms are left out). Flow: the most that can pass from this output '
      + 'to each input token through the same layers (heads averaged, half kept for the residual) when each of their weights is a pipe\'s capacity; each value is at most 1 and they '
      + `are computed one input at a time, so they do not add up to 1.${kind === 'decoder' ? ' In a decoder every path runs to earlier tokens, so later ones get 0.' : ''}`
      + (info.kind === 'encoder-decoder' ? ' Pick "Through cross-attention" to follow a decoder token into the encoder.' : '');
    if (flowError) {
      // The size limit, said where it cannot be hidden (the note above is hide="explain"-able).
      this.ui.progress.textContent = `Flow is not shown: ${flowError}`;
      return;
    }
    const flow = await this._flowInParts(glassbox, tensor.data, { ...options, flowFrom: output }, result, isCurrent, (values, done, of, parts) => {
      this._progress(done, of, parts);
      if (done === of) this.ui.tables.replaceChildren(table(values));
    });
    if (flow && isCurrent()) this.shown = { ...this.shown, flow: Array.from(flow.flow), flowParts: flow.parts };
  }

  /**
   * An encoder-decoder's output token followed back through the decoder's self-attention and cross-attention
   * into the encoder's rollout (crate/src/teach/rollout.rs cross_rollout and cross_flow).
   */
  async _showCross(src, isCurrent) {
    const { run, scheme, glassbox } = src;
    const { encoder, decoder, cross } = run.attentions;
    const [Le, , S] = encoder.shape;
    const [Ld, , T] = decoder.shape;
    const { rows, cols } = axesOf(run, 'cross', scheme);
    const output = this._output(rows.labels, T);
    // The three maps one after the other, as the core takes them.
    const values = new Float32Array(encoder.data.length + decoder.data.length + cross.data.length);
    values.set(encoder.data, 0);
    values.set(decoder.data, encoder.data.length);
    values.set(cross.data, encoder.data.length + decoder.data.length);
    const options = { shape: encoder.shape, decoderShape: decoder.shape, crossShape: cross.shape };
    const { result, flowError } = await this._first(glassbox, values, options, output);
    if (!isCurrent()) return;
    const rawAll = headMatrix(cross, Ld - 1, 'mean');
    const raw = rawAll.subarray(output * S, (output + 1) * S);
    const encRow = result.encoderRollout.data.subarray(output * S, (output + 1) * S);
    const decRow = result.decoderRollout.data.subarray(output * T, (output + 1) * T);
    const encoderSide = encRow.reduce((a, b) => a + b, 0);
    const decoderSide = decRow.reduce((a, b) => a + b, 0);
    const encShare = Array.from(encRow, (v) => (encoderSide > 0 ? v / encoderSide : 0));
    // Each row of the encoder side rescaled to 1, to set beside the cross-attention map (rows of 1 too).
    const encMap = new Float32Array(T * S);
    for (let i = 0; i < T; i++) {
      let sum = 0;
      for (let j = 0; j < S; j++) sum += result.encoderRollout.data[i * S + j];
      for (let j = 0; j < S; j++) encMap[i * S + j] = sum > 0 ? result.encoderRollout.data[i * S + j] / sum : 0;
    }
    this.shown = { kind: 'cross', output, raw: Array.from(raw), rollout: encShare, encoderRollout: Array.from(encRow),
      decoderRollout: Array.from(decRow), encoderSide, decoderSide, flow: null, decoderFlow: null, flowError };
    const raster = (v, opts) => glassbox.drawMap(v, opts);
    const labels = { nRows: T, nCols: S, rowLabels: rows.labels, colLabels: cols.labels, rowSpecial: rows.special, colSpecial: cols.special, raster };
    this.ui.rawTitle.textContent = 'Last decoder layer\'s cross-attention, mean of the heads';
    this.ui.rolloutTitle.textContent = 'Rollout through cross-attention: the encoder\'s input tokens, each row rescaled to 1';
    renderHeatmap(this.ui.rawMap, { ...labels, values: rawAll, title: `Cross-attention of decoder layer ${Ld}, mean of the heads`,
      rowAxis: 'decoder token', colAxis: 'encoder token' });
    renderHeatmap(this.ui.rolloutMap, { ...labels, values: encMap, title: `Rollout through ${Ld} decoder and ${Le} encoder layers, encoder side`,
      rowAxis: 'decoder output token', colAxis: 'encoder input token', quantity: 'rollout share (each row rescaled to 1)', shares: true });
    const dec = axesOf(run, 'decoder', scheme).cols;
    const what = `output token ${output + 1} (${rows.labels[output]})`;
    const tables = (flow) => [
      tokenTable(`Encoder input tokens: where ${what} gets its information, estimated from attention alone`, cols, range(S),
        [`cross-attention (layer ${Ld})`, 'rollout (of the encoder side)', 'flow'], [raw, encShare, flow && flow.subarray(0, S)], -1, !flowError),
      tokenTable(`Decoder input tokens: the share ${what} keeps from the decoder's own tokens`, dec, range(T),
        ['rollout (of the whole)', 'flow'], [decRow, flow && flow.subarray(S, S + T)], output, !flowError),
    ];
    this.ui.tables.replaceChildren(...tables(null));
    const f = (x) => x.toFixed(3);
    this.ui.note.textContent = `What is composed: first the encoder's own rollout (each of its ${Le} layers' heads averaged, half of each `
      + 'position kept for itself for the residual connection, rows rescaled to 1, the layers multiplied), which says what each encoder '
      + `output position is made of. Then each decoder position starts as its own token, and each of the ${Ld} decoder layers applies, `
      + 'in order, its self-attention the same way (heads averaged, half kept, rows rescaled to 1) and its cross-attention: half of the '
      + 'position kept, half read from the encoder\'s outputs with the mean of the cross-attention heads as the weights, each encoder '
      + 'output standing for its row of the encoder\'s rollout. '
      + `What reaches ${what} is then shared between the encoder's input tokens (${f(encoderSide)} here) and the decoder's own input `
      + `tokens (${f(decoderSide)}); with half kept at every cross-attention the decoder's side is 0.5 to the power ${Ld}, a convention of `
      + 'the method rather than a measurement, so the first table shows the encoder side rescaled to 1 (the cross-attention column is one '
      + 'layer\'s weights, which add up to 1 too). Flow: the most that can pass from this output to each input token through the same '
      + 'layers when each weight is a pipe\'s capacity (each value at most 1; computed one input at a time, so they do not add up to 1).';
    if (flowError) {
      // The size limit, said where it cannot be hidden (the note above is hide="explain"-able).
      this.ui.progress.textContent = `Flow is not shown: ${flowError}`;
      return;
    }
    const flow = await this._flowInParts(glassbox, values, { ...options, flowFrom: output }, result, isCurrent, (v, done, of, parts) => {
      this._progress(done, of, parts);
      if (done === of) this.ui.tables.replaceChildren(...tables(v));
    });
    if (flow && isCurrent()) {
      this.shown = { ...this.shown, flow: Array.from(flow.flow.subarray(0, S)), decoderFlow: Array.from(flow.flow.subarray(S)), flowParts: flow.parts };
    }
  }

  linkState() {
    const output = this.hasAttribute('output') ? numberAttr(this, 'output', 1) : undefined;
    return { ...super.linkState(), rolloutKind: this.getAttribute('kind') || undefined, rolloutOutput: output };
  }
}

/** A table of input tokens (`axis` labels at `indices`) with one column of values per heading (null: "…"). */
function tokenTable(caption, axis, indices, headings, columns, marked, pending = true) {
  const cell = (v) => (v == null ? h('td', {}, pending ? '…' : '—') : h('td', {}, v.toFixed(3),
    h('span', { class: 'ro-bar', dataset: { w: String(Math.round(Math.max(0, Math.min(1, v)) * 100)) }, 'aria-hidden': 'true' })));
  const head = h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'input token'), ...headings.map((x) => h('th', { scope: 'col' }, x))));
  const body = h('tbody', {}, ...indices.map((j, k) => h('tr', {},
    h('th', { scope: 'row', class: `ro-tok${axis.special?.[j] ? ' special' : ''}${j === marked ? ' ro-out' : ''}` }, `${j + 1} ${axis.labels[j] ?? j}`),
    ...columns.map((col) => cell(col ? col[k] : null)))));
  return h('table', { class: 'ro-table' }, h('caption', {}, caption), head, body);
}

define('glassbox-rollout', GlassboxRollout);

export { GlassboxRollout };

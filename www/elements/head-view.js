// <glassbox-head-view>: one layer's attention as lines between two columns of tokens (the queries on the
// left, the keys on the right), a line's opacity its weight, a colour per head; heads toggled on and off;
// hover or focus a token to see only where it looks (left) or what looks at it (right). For cross-attention
// the left column is the decoder's tokens and the right the encoder's.
//
//   <glassbox-head-view model="glassbox-gpt2" text="The cat sat on the mat" layer="2" head="1,3"></glassbox-head-view>
//
// Attributes: the common ones (model, text, hide, readonly, random-seed, theme, eager), kind, layer (from 1),
// head ("all", one head or a comma list, from 1). Without layer and head it opens on the head the pattern
// scores pick (see ../head-choice.js) and says why.

import { define, h, range, widgetSheets } from './base.js';
import { ViewElement, VIEW_ATTRIBUTES, HEAD_COLOURS } from './view-element.js';
import { renderSelect } from '../views/controls.js';
import { axesOf, headMatrix } from '../run-view.js';
import { describeChoice } from '../head-choice.js';

const ROW_PX = 24;          // one token per row, in both columns
const MIN_WEIGHT = 0.01;    // lines lighter than this are not drawn (invisible anyway)
const TOP_N = 3;            // tokens named in the read-out

const sheet = new CSSStyleSheet();
sheet.replaceSync(`
.hv { display: grid; grid-template-columns: minmax(0, 1fr) minmax(60px, 1.2fr) minmax(0, 1fr); align-items: start; }
.hv ol { list-style: none; margin: 0; padding: 0; min-width: 0; }
.hv li { height: ${ROW_PX}px; }
.hv button.tok { all: unset; box-sizing: border-box; display: block; width: 100%; height: ${ROW_PX}px; padding: 0 6px;
  font: 13px/${ROW_PX}px var(--gb-mono, monospace); white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  cursor: pointer; border-radius: 4px; color: var(--gb-text); }
.hv .left button.tok { text-align: right; }
.hv button.tok:hover, .hv button.tok[aria-pressed="true"] { background: var(--gb-accent-soft, #dbe7f7); }
.hv button.tok:focus-visible { outline: 2px solid var(--gb-accent); outline-offset: -2px; }
.hv button.tok.special { color: var(--gb-muted); }
.hv button.tok.marked { outline: 2px dashed var(--gb-accent); outline-offset: -2px; font-weight: 600; }
.hv canvas { width: 100%; display: block; }
.hv-heads { display: flex; flex-wrap: wrap; gap: 2px 10px; border: 0; margin: 0; padding: 0; }
.hv-heads legend { font-size: 13px; color: var(--gb-muted); padding: 0; margin-bottom: 2px; }
.hv-heads label { display: inline-flex; align-items: center; gap: 4px; font-size: 13px; min-height: 24px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; }
${HEAD_COLOURS.map((c, i) => `.swatch[data-head="${i}"] { background: ${c}; }`).join('\n')}
.hv-readout { min-height: 1.5em; font-size: 14px; margin: 6px 0 0; }
.hv-why { font-size: 13px; color: var(--gb-muted); margin: 4px 0 6px; }
.hv-cols { display: grid; grid-template-columns: 1fr 1fr; font-size: 12px; color: var(--gb-muted); margin-bottom: 2px; }
.hv-cols span:last-child { text-align: right; }
`);

class GlassboxHeadView extends ViewElement {
  static observedAttributes = VIEW_ATTRIBUTES;

  buildControls() {
    widgetSheets().then((list) => { this.shadowRoot.adoptedStyleSheets = [...list, sheet]; });
    this._kindControl();
    this.ui.layer = this._field('layer', 'Layer', h('select'));
    this.ui.layer.addEventListener('change', () => this.setAttribute('layer', String(Number(this.ui.layer.value) + 1)));
    this.ui.heads = h('fieldset', { class: 'hv-heads', dataset: { control: 'head' } }, h('legend', {}, 'Heads shown'));
    this.ui.controls.append(this.ui.heads);
    this.ui.why = h('p', { class: 'hv-why', dataset: { control: 'explain' } });
    this.ui.cols = h('div', { class: 'hv-cols', 'aria-hidden': 'true' }, h('span', {}, 'query (looks)'), h('span', {}, 'key (is looked at)'));
    this.ui.left = h('ol', { class: 'left', 'aria-label': 'Queries' });
    this.ui.right = h('ol', { class: 'right', 'aria-label': 'Keys' });
    this.ui.canvas = h('canvas', { 'aria-hidden': 'true' });
    this.ui.grid = h('div', { class: 'hv' }, this.ui.left, this.ui.canvas, this.ui.right);
    this.ui.readout = h('p', { class: 'hv-readout', 'aria-live': 'polite' });
    this.ui.body.append(this.ui.why, this.ui.cols, this.ui.grid, this.ui.readout);
    this._focus = null; // { side: 'left'|'right', index }
    // Repaint when the column's width changes (not when painting changed its height).
    new ResizeObserver(() => requestAnimationFrame(() => {
      if (this.ui.canvas.clientWidth !== this._paintedWidth) this._paint();
    })).observe(this.ui.canvas);
  }

  /** Heads to draw (0-based) from the `head` attribute: "all", "3" or "1,3". */
  _headsOf(H, picked) {
    const raw = (this.getAttribute('head') ?? '').trim();
    if (raw === '' ) return picked === null ? range(H) : [picked];
    if (raw === 'all' || raw === 'mean') return range(H);
    const list = raw.split(/[\s,]+/).map(Number).filter((n) => Number.isInteger(n) && n >= 1 && n <= H).map((n) => n - 1);
    return list.length ? [...new Set(list)] : range(H);
  }

  async show(src, isCurrent) {
    const { run, info, scheme } = src;
    const { kind } = this._kindOf(run, info);
    const { layer, head, pick, L, H } = await this._headOf(src, kind);
    if (!isCurrent()) return;
    const heads = this._headsOf(H, pick && !pick.none ? head : null);
    renderSelect(this.ui.layer, range(L).map((l) => ({ value: String(l), label: `${l + 1} of ${L}` })), String(layer));
    this._renderHeadToggles(H, heads);
    this.ui.why.textContent = pick ? describeChoice(pick.none ? null : { ...pick, layer, head }, 'every head is shown') : '';
    const tensor = run.attentions[kind];
    const [, , Tq, Tk] = tensor.shape;
    const { rows, cols } = axesOf(run, kind, scheme);
    this._view = { kind, layer, heads, Tq, Tk, maps: range(H).map((x) => headMatrix(tensor, layer, x)), rows, cols };
    if (this._focus && this._focus.index >= (this._focus.side === 'left' ? Tq : Tk)) this._focus = null;
    this._renderTokens(this.ui.left, rows, Tq, 'left');
    this._renderTokens(this.ui.right, cols, Tk, 'right');
    this.shown = { kind, layer, heads, nQueries: Tq, nKeys: Tk, rowLabels: [...rows.labels], colLabels: [...cols.labels] };
    this._paint();
    this._readout();
  }

  _renderHeadToggles(H, heads) {
    const legend = this.ui.heads.querySelector('legend');
    this.ui.heads.replaceChildren(legend, ...range(H).map((x) => {
      const box = h('input', { type: 'checkbox', checked: heads.includes(x), dataset: { head: String(x) } });
      box.addEventListener('change', () => {
        const on = Array.from(this.ui.heads.querySelectorAll('input:checked'), (b) => Number(b.dataset.head) + 1);
        this.setAttribute('head', on.length === H ? 'all' : on.length ? on.join(',') : String(x + 1));
      });
      return h('label', {}, box, h('span', { class: 'swatch', dataset: { head: String(x % HEAD_COLOURS.length) } }), `${x + 1}`);
    }));
  }

  _renderTokens(list, axis, n, side) {
    list.replaceChildren(...range(n).map((i) => {
      const label = axis.labels[i] ?? String(i);
      const b = h('button', { type: 'button', class: `tok${axis.special?.[i] ? ' special' : ''}`, dataset: { index: String(i), side },
        'aria-pressed': String(this._focus?.side === side && this._focus.index === i) }, label);
      b.setAttribute('aria-label', `${label} (${side === 'left' ? 'query' : 'key'} ${i + 1} of ${n})`);
      const on = () => this._setFocus({ side, index: i });
      b.addEventListener('mouseenter', on);
      b.addEventListener('focus', on);
      b.addEventListener('click', () => this._setFocus(this._focus?.side === side && this._focus.index === i && b.getAttribute('aria-pressed') === 'true' ? null : { side, index: i }, true));
      b.addEventListener('keydown', (e) => {
        const step = { ArrowDown: 1, ArrowUp: -1, Home: -n, End: n }[e.key];
        if (step) {
          e.preventDefault();
          list.children[Math.max(0, Math.min(n - 1, i + step))]?.querySelector('button')?.focus();
        } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
          e.preventDefault();
          const other = side === 'left' ? this.ui.right : this.ui.left;
          other.children[Math.min(i, other.children.length - 1)]?.querySelector('button')?.focus();
        } else if (e.key === 'Escape') {
          this._setFocus(null, true);
        }
      });
      return h('li', {}, b);
    }));
  }

  _setFocus(focus, pin = false) {
    this._focus = focus;
    this._pinned = pin && focus !== null;
    for (const b of this.ui.grid.querySelectorAll('button.tok')) {
      b.setAttribute('aria-pressed', String(Boolean(focus) && b.dataset.side === focus.side && Number(b.dataset.index) === focus.index));
    }
    this._paint();
    this._readout();
  }

  /**
   * Point at one cell (a lesson's highlight): pin the focus on query `r` so only its lines show, and mark key `c`
   * (both 0-based). Returns the cell's weight, the mean over the shown heads (as in the read-out).
   */
  highlightCell(r, c) {
    this._setFocus({ side: 'left', index: r }, true);
    for (const b of this.ui.right.querySelectorAll('button.tok')) b.classList.toggle('marked', Number(b.dataset.index) === c);
    return this.cellWeight(r, c);
  }

  /** The weight query `r` gives key `c`, the mean over the shown heads. */
  cellWeight(r, c) {
    const v = this._view;
    return v ? v.heads.reduce((sum, x) => sum + v.maps[x][r * v.Tk + c], 0) / v.heads.length : NaN;
  }

  /** The mean over the shown heads of what the focused token gives or gets: `[n]`. */
  focusWeights() {
    const v = this._view;
    const f = this._focus;
    if (!v || !f) return null;
    const n = f.side === 'left' ? v.Tk : v.Tq;
    const out = new Float32Array(n);
    for (const x of v.heads) {
      for (let j = 0; j < n; j++) out[j] += (f.side === 'left' ? v.maps[x][f.index * v.Tk + j] : v.maps[x][j * v.Tk + f.index]) / v.heads.length;
    }
    return out;
  }

  _readout() {
    const v = this._view;
    const w = this.focusWeights();
    if (!v) return;
    if (!w) {
      this.ui.readout.textContent = 'Hover or focus a token (Tab, then the arrow keys) to see only its lines.';
      return;
    }
    const f = this._focus;
    const own = (f.side === 'left' ? v.rows : v.cols).labels[f.index];
    const other = f.side === 'left' ? v.cols : v.rows;
    const top = range(w.length).sort((a, b) => w[b] - w[a]).slice(0, TOP_N).filter((j) => w[j] > 0);
    const heads = v.heads.length === 1 ? `head ${v.heads[0] + 1}` : `the mean of heads ${v.heads.map((x) => x + 1).join(', ')}`;
    const list = top.map((j) => `${other.labels[j]} (${j + 1}) ${w[j].toFixed(2)}`).join(', ');
    this.ui.readout.textContent = f.side === 'left'
      ? `${own} (query ${f.index + 1}) looks most at: ${list} — ${heads}, layer ${v.layer + 1}.`
      : `${own} (key ${f.index + 1}) is looked at most by: ${list} — ${heads}, layer ${v.layer + 1}.`;
  }

  _paint() {
    const v = this._view;
    const canvas = this.ui.canvas;
    if (!v) return;
    const rows = Math.max(v.Tq, v.Tk);
    const dpr = globalThis.devicePixelRatio || 1;
    const cssW = Math.max(40, canvas.clientWidth || 120);
    this._paintedWidth = canvas.clientWidth;
    canvas.height = Math.round(rows * ROW_PX * dpr);
    canvas.width = Math.round(cssW * dpr);
    canvas.style.height = `${rows * ROW_PX}px`; // CSSOM, allowed under the page's style-src 'self'
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, rows * ROW_PX);
    ctx.lineWidth = 2;
    const f = this._focus;
    for (const x of v.heads) {
      ctx.strokeStyle = HEAD_COLOURS[x % HEAD_COLOURS.length];
      const m = v.maps[x];
      for (let i = 0; i < v.Tq; i++) {
        if (f?.side === 'left' && f.index !== i) continue;
        for (let j = 0; j < v.Tk; j++) {
          if (f?.side === 'right' && f.index !== j) continue;
          const a = m[i * v.Tk + j];
          if (!(a >= MIN_WEIGHT)) continue;
          ctx.globalAlpha = Math.min(1, a);
          ctx.beginPath();
          ctx.moveTo(0, (i + 0.5) * ROW_PX);
          ctx.lineTo(cssW, (j + 0.5) * ROW_PX);
          ctx.stroke();
        }
      }
    }
    ctx.globalAlpha = 1;
  }
}

define('glassbox-head-view', GlassboxHeadView);

export { GlassboxHeadView };

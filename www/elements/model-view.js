// <glassbox-model-view>: every layer x head of one attention kind as thumbnails (a row per layer), each labelled
// with the pattern it shows most (previous token, next token in an encoder, first token / sink, same token,
// induction, diagonal alignment; crate/src/teach/patterns.rs), so the interesting heads can be found at a glance.
// Click a thumbnail (or move to it with the arrow keys and press Enter) to focus that layer and head in the other
// views: a bubbling, composed `glassbox-focus` event { kind, layer, head, model, text } (counted from 1).
//
//   <glassbox-model-view model="glassbox-bert" text="The cat sat on the mat. The cat sat."></glassbox-model-view>
//
// The thumbnails are rasterised in the worker in one call (crate/src/plot's grid, the pixels of
// `glassbox plot --head all`) and cut apart with drawImage, so 12 x 12 heads at 128 tokens stay quick.

import { define, h, range, widgetSheets } from './base.js';
import { ViewElement, VIEW_ATTRIBUTES } from './view-element.js';
import { paletteOf } from '../run-view.js';
import { PATTERN_NAMES, bestPatternOf, describeChoice, notScoredFor, notScoredHere, scoreOf } from '../head-choice.js';

const THUMB_PX = 64;  // a thumbnail's side in bitmap pixels at most (cells are whole pixels, at least 1)

const SHORT = { 'previous-token': 'prev', 'next-token': 'next', 'first-token': 'first', 'same-token': 'same', induction: 'induct', diagonal: 'diag' };

const sheet = new CSSStyleSheet();
sheet.replaceSync(`
/* Positioned, so the thumbnails' visually-hidden labels (position: absolute) are clipped with them: taking the page
   as their box, a 12-head model's last labels widened a 390 px page to 755. */
.mv-scroll { overflow-x: auto; padding: 2px; position: relative; }
.mv-row { display: grid; grid-auto-flow: column; grid-auto-columns: minmax(52px, 1fr); gap: 4px; align-items: start; margin-bottom: 4px; }
.mv-row-label { font-size: 12px; color: var(--gb-muted); align-self: center; writing-mode: horizontal-tb; }
.mv-thumb { all: unset; box-sizing: border-box; display: flex; flex-direction: column; align-items: stretch; cursor: pointer;
  border: 2px solid transparent; border-radius: 4px; padding: 1px; min-width: 0; }
.mv-thumb canvas { width: 100%; height: auto; image-rendering: pixelated; display: block; }
/* A narrow thumbnail (a phone) wraps its label onto two lines rather than clipping its score ("same 0.4" for 0.48). */
.mv-thumb span { font-size: 11px; line-height: 1.3; text-align: center; color: var(--gb-text); overflow-wrap: anywhere; }
.mv-thumb[aria-pressed="true"] { border-color: var(--gb-accent); }
.mv-thumb:focus-visible { outline: 2px solid var(--gb-accent); outline-offset: 1px; }
.mv-thumb.marked { outline: 2px dashed var(--gb-accent); outline-offset: 1px; }
.mv-why, .mv-note { font-size: 13px; color: var(--gb-muted); margin: 4px 0 6px; }
.mv-detail { font-size: 14px; margin: 8px 0 0; }
.mv-detail dl { display: grid; grid-template-columns: max-content auto; gap: 0 12px; margin: 4px 0 0; }
.mv-detail dt { color: var(--gb-muted); }
.mv-detail dd { margin: 0; font-variant-numeric: tabular-nums; }
`);

class GlassboxModelView extends ViewElement {
  static observedAttributes = VIEW_ATTRIBUTES;

  buildControls() {
    widgetSheets().then((list) => { this.shadowRoot.adoptedStyleSheets = [...list, sheet]; });
    this._kindControl();
    this.ui.why = h('p', { class: 'mv-why', dataset: { control: 'explain' } });
    this.ui.grid = h('div', { class: 'mv-scroll', role: 'group', 'aria-label': 'Every head of every layer' });
    this.ui.note = h('p', { class: 'mv-note', dataset: { control: 'explain' } },
      'A row per layer, a thumbnail per head: the stronger a cell\'s colour, the more attention (0 to 1). Under each, the pattern it beats '
      + 'uniform attention on by the most and its score, the mean attention it puts where that pattern looks; “none” when it beats '
      + 'uniform attention on none of the patterns scored (it may still follow one they leave out, such as resting on '
      + '[SEP] or on punctuation, as many heads of Google\'s BERT-base do). Arrow keys move, Enter focuses a head in the other views.');
    this.ui.detail = h('div', { class: 'mv-detail', 'aria-live': 'polite' });
    this.ui.body.append(this.ui.why, this.ui.grid, this.ui.note, this.ui.detail);
  }

  async show(src, isCurrent) {
    const { run, info, glassbox } = src;
    const { kind } = this._kindOf(run, info);
    const t0 = performance.now();
    const { layer, head, scores, pick, L, H } = await this._headOf(src, kind);
    const tPatterns = performance.now();
    if (!isCurrent()) return;
    const tensor = run.attentions[kind];
    const [, , Tq, Tk] = tensor.shape;
    // The bitmap is redrawn only when the run, kind or palette changes; a new selection only moves the outline.
    const palette = paletteOf(this.ui.root);
    const key = `${kind}\u0000${JSON.stringify(palette)}`;
    if (this._drawn?.run !== run || this._drawn.key !== key) {
      const cellPx = Math.max(1, Math.floor(THUMB_PX / Math.max(Tq, Tk)));
      const bitmap = await glassbox.drawMap(tensor.data, { rows: Tq, cols: Tk, cellPx, gridLines: false, causal: kind === 'decoder',
        palette, maps: L * H, columns: H, gapPx: 0 });
      if (!isCurrent()) return;
      const tRaster = performance.now();
      this._buildGrid({ bitmap, L, H, w: Tk * cellPx, hgt: Tq * cellPx, kind, scores });
      this._drawn = { run, key };
      const tEnd = performance.now();
      // What the thumbnails cost: scoring the heads, rasterising them in the worker (the maps copied there and the
      // bitmap back), and cutting the bitmap into one canvas per head.
      this.timing = { patternsMs: tPatterns - t0, rasterMs: tRaster - tPatterns, gridMs: tEnd - tRaster, drawMs: tEnd - tPatterns,
        layers: L, heads: H, tokens: Tk };
    }
    // head="all" or "mean" (the page showing the mean of the heads): a layer but no one head is selected.
    const wholeLayer = ['all', 'mean'].includes((this.getAttribute('head') ?? '').trim());
    this._select(kind, layer, wholeLayer ? -1 : head, scores);
    // With no head standing out, the grid still outlines one: say which (it shows no mean of the heads).
    this.ui.why.textContent = pick ? describeChoice(pick.none ? null : scores.best, 'no head is picked out: the outline starts on layer 1, head 1') : '';
    this.shown = { kind, layer, head, nLayers: L, nHeads: H };
  }

  _buildGrid({ bitmap, L, H, w, hgt, kind, scores }) {
    const rows = [];
    this._thumbs = [];
    for (let l = 0; l < L; l++) {
      const row = h('div', { class: 'mv-row' }, h('span', { class: 'mv-row-label', 'aria-hidden': 'true' }, `L${l + 1}`));
      for (let x = 0; x < H; x++) {
        const canvas = h('canvas', { width: w, height: hgt, 'aria-hidden': 'true' });
        const ctx = canvas.getContext('2d');
        if (!bitmap.rgba) ctx.drawImage(bitmap, x * w, l * hgt, w, hgt, 0, 0, w, hgt);
        else ctx.putImageData(new ImageData(bitmap.rgba, bitmap.width, bitmap.height), -x * w, -l * hgt, x * w, l * hgt, w, hgt);
        const best = bestPatternOf(scores, l, x);
        // A head that beats uniform attention on no pattern is not named after the one it falls least short of
        // (a clear next-token head once read "first 0.00").
        const beats = best && best.score > best.chance;
        const label = beats ? `${SHORT[best.pattern]} ${best.score.toFixed(2)}` : best ? 'none' : '—';
        // The accessible name starts with the visible label and spells it out.
        const spoken = ` (layer ${l + 1}, head ${x + 1}: ${beats ? `${PATTERN_NAMES[best.pattern]}, uniform attention ${best.chance.toFixed(2)}`
          : best ? 'no scored pattern above uniform attention' : 'no pattern scored'})`;
        const thumb = h('button', { type: 'button', class: 'mv-thumb', tabindex: '-1', 'aria-pressed': 'false', dataset: { layer: String(l), head: String(x) } },
          canvas, h('span', {}, label, h('span', { class: 'visually-hidden' }, spoken)));
        thumb.addEventListener('click', () => this._activate(kind, l, x));
        thumb.addEventListener('keydown', (e) => this._key(e, l, x, L, H, kind));
        row.append(thumb);
        this._thumbs.push(thumb);
      }
      rows.push(row);
    }
    this.ui.grid.replaceChildren(...rows);
    bitmap.close?.();
  }

  /**
   * Mark heads (a lesson's highlight, `[{ layer, head }]` 0-based) with a dashed outline. Returns, for each, the
   * pattern it beats uniform attention on most and its score (null: none beaten; `scored` false: no pattern
   * scored), or null for a head the model does not have.
   */
  highlightHeads(heads) {
    const H = this.scores?.nHeads ?? 0;
    const L = this.scores?.nLayers ?? 0;
    const wanted = new Set(heads.filter(({ layer, head }) => layer < L && head < H).map(({ layer, head }) => layer * H + head));
    (this._thumbs ?? []).forEach((t, i) => t.classList.toggle('marked', wanted.has(i)));
    return heads.map(({ layer, head }) => {
      if (layer >= L || head >= H) return null;
      const best = bestPatternOf(this.scores, layer, head);
      const beats = best && best.score > best.chance;
      return { layer, head, pattern: beats ? PATTERN_NAMES[best.pattern] : null, score: beats ? best.score : null, scored: Boolean(best) };
    });
  }

  _key(e, l, x, L, H, kind) {
    const moves = { ArrowRight: [0, 1], ArrowLeft: [0, -1], ArrowDown: [1, 0], ArrowUp: [-1, 0] };
    if (moves[e.key]) {
      e.preventDefault();
      const nl = Math.max(0, Math.min(L - 1, l + moves[e.key][0]));
      const nx = Math.max(0, Math.min(H - 1, x + moves[e.key][1]));
      const next = this._thumbs[nl * H + nx];
      for (const t of this._thumbs) t.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
    // Enter and Space click the button: _activate runs from the click.
  }

  _activate(kind, layer, head) {
    this.setAttribute('kind', kind);
    this.setAttribute('layer', String(layer + 1));
    this.setAttribute('head', String(head + 1));
    this._announce(kind, layer, head);
  }

  _select(kind, layer, head, scores) {
    const H = scores.nHeads;
    // One tab stop in the grid: the selected head (or the layer's first when none is).
    const stop = layer * H + Math.max(0, head);
    const keepFocus = this._thumbs.includes(this.shadowRoot.activeElement);
    this._thumbs.forEach((t, i) => {
      t.setAttribute('aria-pressed', String(head >= 0 && i === stop));
      if (!keepFocus) t.tabIndex = i === stop ? 0 : -1;
    });
    if (head < 0) {
      this.ui.detail.replaceChildren(h('strong', {}, `Layer ${layer + 1}`), ': the mean of its heads is shown. Pick a head to see its scores.');
      return;
    }
    const items = scores.patterns.map((p, k) => {
      const v = scoreOf(scores, layer, head, p);
      const chance = scores.chance[k];
      return [h('dt', {}, PATTERN_NAMES[p]), h('dd', { dataset: { pattern: p } },
        v !== null ? `${v.toFixed(3)} (uniform ${chance.toFixed(3)})` : notScoredFor(p, kind) ?? notScoredHere(p))];
    }).flat();
    this.ui.detail.replaceChildren(h('strong', {}, `Layer ${layer + 1}, head ${head + 1}`), h('dl', {}, ...items));
  }
}

define('glassbox-model-view', GlassboxModelView);

export { GlassboxModelView };

// The attention heatmap: one matrix of probabilities drawn on a canvas at the screen's real pixel
// density, rows = queries, columns = keys, a 0..1 colour scale with its legend, masked cells hatched,
// and a read-out of the exact value under the pointer or the keyboard cursor.
//
// The cells themselves are not drawn here: `view.raster` (Glassbox.drawMap) rasterises them in the
// worker with the wasm's crate/src/plot (the same pixels as `glassbox plot`), one block of whole
// device pixels per cell, and this file places the bitmap and adds the axes, labels, legend,
// cursor and read-outs. The canvas carries `data-painted="false"` until the cells have arrived.

import { truncate } from './token-text.js';
import { activeIn } from './roving.js';

// Layout, in CSS pixels.
const CELL_MAX = 34;          // cells never grow past this, however few tokens
const CELL_MIN = 16;          // below this the map scrolls sideways instead of shrinking
const FONT_PX = 12;
const LABEL_GAP = 6;          // between a label and the grid
const LABEL_MAX_CHARS = 14;   // longer token labels are cut with an ellipsis
const EDGE_PAD = 4;           // around the whole drawing
const HATCH_STEP = 5;         // half the spacing of the masked-cell hatching
const MAX_BACKING_PIXELS = 16e6; // long inputs draw smaller cells (then a lower density) rather than exhaust a phone's memory
const LABEL_PITCH = FONT_PX + 2; // cells smaller than this label every k-th token, so labels never overlap
const LEGEND_WIDTH = 180;
const LEGEND_HEIGHT = 10;
const LEGEND_TICKS = [0, 0.25, 0.5, 0.75, 1];
const FONT = `${FONT_PX}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
const FONT_BOLD = `600 ${FONT}`;

/** Per-root interaction state (cursor, the last matrix drawn, its layout). */
const states = new WeakMap();
let contrastIds = 0;

/**
 * The largest weight a viewer can see: masked cells and forced rows (1 by construction, they say
 * nothing about the model) left out; 1 for an empty map.
 */
export function visibleMax(view) {
  let m = 0;
  for (let r = 0; r < view.nRows; r++) {
    if (isForcedRow(view, r)) continue;
    for (let c = 0; c < view.nCols; c++) {
      const v = view.values[r * view.nCols + c];
      if (!isMasked(view, r, c) && v > m) m = v;
    }
  }
  return m > 0 ? m : 1;
}

/** Whether row `r` of a causal map has a single visible key (its weight is 1 by construction). */
export function isForcedRow(view, r) {
  return Boolean(view.causal) && (r + (view.nCols - view.nRows) === 0 || view.window === 1);
}

/** The top of the colour scale: 1, or the largest visible weight when the colours are stretched. */
function scaleTop(st) {
  return st.contrast.checked && st.view ? visibleMax(st.view) : 1;
}

/**
 * Draw `view` into `root` (a container; the canvas, read-out and legend are created on first use).
 *
 * @param {HTMLElement} root
 * @param {object} view
 * @param {Float32Array|number[]} view.values  row-major [nRows][nCols], each row a probability distribution
 * @param {number} view.nRows
 * @param {number} view.nCols
 * @param {string[]} view.rowLabels
 * @param {string[]} view.colLabels
 * @param {boolean[]} [view.rowSpecial]        special tokens get muted labels
 * @param {boolean[]} [view.colSpecial]
 * @param {boolean} [view.causal]             a decoder's causal mask: key c is masked for query r when c > r + (nCols - nRows)
 * @param {number} [view.window]               with `causal`, a sliding window: keys more than window - 1 before the query are masked too
 * @param {number} [view.band]                 an encoder's band: keys more than `band` positions from the query, either side, are masked
 * @param {string} [view.maskNote]             one line explaining the mask (shown with the legend)
 * @param {(values: Float32Array, options: object) => Promise<ImageBitmap|{width: number, height: number, rgba: Uint8ClampedArray}>} view.raster
 *        draws the cells (Glassbox.drawMap: options { rows, cols, cellPx, gridLines, hatchPx, causal, palette })
 * @param {string} view.title                  accessible name, e.g. "Decoder self-attention, layer 1, head 2"
 * @param {string} [view.rowAxis]              word for a row (default "query"; '' when the labels name themselves)
 * @param {string} [view.colAxis]              word for a column ("key")
 * @param {string} [view.rowTitle]             the rows' axis title (default: from rowAxis; "one row per head" when '')
 * @param {string} [view.colTitle]             the columns' axis title (default: from colAxis)
 * @param {string} [view.quantity]             what a cell holds, named on the colour scale (default "attention weight";
 *                                            a rollout map: "rollout share")
 * @param {boolean} [view.shares]              the cells are shares of where a row's information came from (rollout), not
 *                                            attention weights over keys: the scale's 1/n marker then reads "even share"
 *
 * Below the map, "Stretch the colours" (off by default) divides every weight by the largest one shown,
 * so a pale map becomes readable; the scale then reads 0..that maximum. Either way the scale marks the
 * uniform weight 1/n (n keys: what a row would hold if it looked everywhere equally; with `shares`, the even
 * share 1/n of a row that drew on all n columns equally), and on a causal
 * map the first row, whose single visible key must get weight 1, is marked * as forced.
 */
export function renderHeatmap(root, view) {
  const st = setup(root);
  st.view = view;
  if (st.cursor && (st.cursor.r >= view.nRows || st.cursor.c >= view.nCols)) st.cursor = null;
  root.dataset.rows = String(view.nRows);
  root.dataset.cols = String(view.nCols);
  st.canvas.setAttribute('aria-label', `${view.title}. ${view.nRows} rows by ${view.nCols} columns. ` +
    'Use the arrow keys to read single values.');
  st.maskNote.textContent = view.maskNote ?? '';
  st.maskNote.hidden = !view.maskNote;
  const rowTitle = view.rowTitle ?? (view.rowAxis === '' ? 'one row per head, then their mean' : view.rowAxis ?? 'query');
  st.axes.textContent = `Rows ↓: ${rowTitle}. Columns →: ${view.colTitle ?? view.colAxis ?? 'key'}.`;
  st.legendMasked.hidden = !view.causal;
  drawBase(root);
  draw(root);
  drawLegend(root);
  updateReadout(root);
}

/** The matrix currently drawn in `root`, with its labels (lessons read it to name a highlighted cell's weight). */
export function heatmapData(root) {
  const st = states.get(root);
  return st?.view ?? null;
}

function setup(root) {
  let st = states.get(root);
  if (st) return st;
  root.replaceChildren();
  const scroller = el('div', 'heatmap-scroll');
  const canvas = el('canvas', 'heatmap-canvas');
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'application');
  canvas.setAttribute('aria-roledescription', 'heatmap');
  const readout = el('p', 'readout');
  readout.setAttribute('aria-live', 'polite');
  readout.id = `${root.id || 'heatmap'}-readout`;
  canvas.setAttribute('aria-describedby', readout.id);
  scroller.append(canvas);

  const axes = el('p', 'heatmap-axes');
  const legend = el('div', 'legend');
  const scale = el('div', 'legend-scale');
  const legendTitle = el('span', 'legend-title');
  legendTitle.textContent = 'attention weight';
  const legendCanvas = el('canvas', 'legend-canvas');
  legendCanvas.setAttribute('aria-hidden', 'true');
  const ticks = el('div', 'legend-ticks');
  ticks.style.width = `${LEGEND_WIDTH}px`;
  const tickLabels = LEGEND_TICKS.map((t) => {
    const tick = el('span');
    tick.textContent = String(t);
    tick.style.left = `${t * 100}%`;
    ticks.append(tick);
    return tick;
  });
  // The uniform weight 1/n: where a row that looked everywhere equally would sit on the scale.
  const uniform = el('span', 'legend-uniform');
  const bar = el('div', 'legend-bar');
  bar.append(legendCanvas, ticks, uniform);
  scale.append(legendTitle, bar);
  const contrastId = `heatmap-contrast-${++contrastIds}`;
  const contrastBox = el('span', 'legend-contrast');
  const contrast = el('input');
  contrast.type = 'checkbox';
  contrast.id = contrastId;
  const contrastLabel = el('label');
  contrastLabel.htmlFor = contrastId;
  contrastLabel.textContent = 'Stretch the colours to the largest value shown';
  contrastBox.append(contrast, contrastLabel);
  const legendMasked = el('span', 'legend-masked');
  const swatch = el('span', 'swatch-masked');
  swatch.setAttribute('aria-hidden', 'true');
  legendMasked.append(swatch, ' masked');
  legend.append(scale, legendMasked, contrastBox);
  const maskNote = el('p', 'mask-note');
  // A map wider than its box (a long text on a phone) scrolls: said in words, or its hidden columns pass for blank.
  const scrollHint = el('p', 'scroll-hint');
  scrollHint.hidden = true;

  root.append(axes, scroller, scrollHint, readout, legend, maskNote);
  st = { canvas, scroller, scrollHint, readout, legendCanvas, legendMasked, maskNote, axes, tickLabels, uniform, legendTitle, contrast,
    view: null, cursor: null, layout: null, base: null, frame: null, dpr: 1, colors: null, paintSeq: 0, legendSeq: 0 };
  states.set(root, st);
  contrast.addEventListener('change', () => {
    if (!st.view) return;
    drawBase(root);
    drawLegend(root);
  });

  canvas.addEventListener('pointermove', (e) => {
    const cell = cellAt(st, e);
    if (!cell) return;
    if (!st.cursor || st.cursor.r !== cell.r || st.cursor.c !== cell.c) {
      st.cursor = cell;
      draw(root);
      updateReadout(root);
    }
  });
  canvas.addEventListener('pointerleave', (e) => {
    // A tap on a touch screen ends with a leave; keep its read-out until the next tap.
    if (activeIn(canvas) === canvas || e.pointerType !== 'mouse') return;
    st.cursor = null;
    draw(root);
    updateReadout(root);
  });
  canvas.addEventListener('pointerdown', (e) => {
    const cell = cellAt(st, e);
    if (!cell) return;
    st.cursor = cell;
    draw(root);
    updateReadout(root);
  });
  canvas.addEventListener('focus', () => {
    if (!st.cursor && st.view) st.cursor = { r: 0, c: 0 };
    draw(root);
    updateReadout(root);
  });
  canvas.addEventListener('blur', () => draw(root));
  canvas.addEventListener('keydown', (e) => {
    if (!st.view) return;
    const { nRows, nCols } = st.view;
    const cur = st.cursor ?? { r: 0, c: 0 };
    let { r, c } = cur;
    switch (e.key) {
      case 'ArrowUp': r = Math.max(0, r - 1); break;
      case 'ArrowDown': r = Math.min(nRows - 1, r + 1); break;
      case 'ArrowLeft': c = Math.max(0, c - 1); break;
      case 'ArrowRight': c = Math.min(nCols - 1, c + 1); break;
      case 'Home': c = 0; break;
      case 'End': c = nCols - 1; break;
      case 'PageUp': r = 0; break;
      case 'PageDown': r = nRows - 1; break;
      case 'Escape': st.cursor = null; draw(root); updateReadout(root); return;
      default: return;
    }
    e.preventDefault();
    st.cursor = { r, c };
    draw(root);
    updateReadout(root);
    scrollCellIntoView(st);
  });
  // Redraw on resize and when the colour scheme flips.
  // The cell size follows the width; a change of height is the canvas itself growing.
  let lastWidth = 0;
  new ResizeObserver(([entry]) => {
    const width = Math.round(entry.contentRect.width);
    if (width === lastWidth) return;
    lastWidth = width;
    if (st.view) { drawBase(root); draw(root); }
  }).observe(root);
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (st.view) { drawBase(root); draw(root); drawLegend(root); }
  });
  return st;
}

function el(tag, className) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  return e;
}

/** Colours come from CSS custom properties so the page and the widgets can theme them. */
function palette(root) {
  const cs = getComputedStyle(root);
  const get = (name, fallback) => cs.getPropertyValue(name).trim() || fallback;
  return {
    // What the rasteriser needs (crate/src/plot: the 0..1 scale, masked cells, the lines between cells).
    raster: {
      stops: [0, 1, 2, 3, 4].map((i) => get(`--gb-heat-${i}`, ['#f4f8fd', '#c3d7ee', '#6fa3d6', '#2c66ad', '#0b2e66'][i])),
      masked: get('--gb-masked', '#eceef1'),
      hatch: get('--gb-hatch', '#c5cad3'),
      grid: get('--gb-bg', '#f6f7f9'),
    },
    text: get('--gb-text', '#222'),
    muted: get('--gb-muted', '#777'),
    cursor: get('--gb-cursor', '#d6336c'),
  };
}

/** Whether key `c` is hidden from query `r`: a later key (a decoder's causal mask; the rasteriser's rule), or one
 *  that slid out of the layer's window. */
function isMasked(view, r, c) {
  return isLater(view, r, c) || isOutsideWindow(view, r, c) || isOutsideBand(view, r, c);
}

function isOutsideBand(view, r, c) {
  return view.band > 0 && Math.abs(c - r) > view.band;
}

function isLater(view, r, c) {
  return Boolean(view.causal) && c > r + (view.nCols - view.nRows);
}

function isOutsideWindow(view, r, c) {
  return Boolean(view.causal) && view.window > 0 && c <= r + (view.nCols - view.nRows) - view.window;
}

/** One byte per cell, non-zero masked: the rasteriser's cell mask for a windowed map. */
function windowMask(view) {
  const cells = new Uint8Array(view.nRows * view.nCols);
  for (let r = 0; r < view.nRows; r++) {
    for (let c = 0; c < view.nCols; c++) cells[r * view.nCols + c] = isMasked(view, r, c) ? 1 : 0;
  }
  return cells;
}

function measureLabels(ctx, labels) {
  ctx.font = FONT_BOLD;
  let w = 0;
  for (const l of labels) w = Math.max(w, ctx.measureText(l).width);
  return Math.ceil(w);
}

function computeLayout(st, ctx) {
  const { view } = st;
  const rowLabels = view.rowLabels.map((l, r) => truncate(l, LABEL_MAX_CHARS) + (isForcedRow(view, r) ? ' *' : ''));
  const colLabels = view.colLabels.map((l) => truncate(l, LABEL_MAX_CHARS));
  const rowLabelW = measureLabels(ctx, rowLabels) + LABEL_GAP;
  const colLabelH = measureLabels(ctx, colLabels) + LABEL_GAP;
  const available = Math.max(0, st.scroller.clientWidth - rowLabelW - 2 * EDGE_PAD);
  let cssCell = Math.max(CELL_MIN, Math.min(CELL_MAX, Math.floor(available / Math.max(1, view.nCols))));
  const x0 = EDGE_PAD + rowLabelW;
  const y0 = EDGE_PAD + colLabelH;
  // A long input (hundreds of tokens) at CELL_MIN would need more than MAX_BACKING_PIXELS even at one device
  // pixel per CSS pixel, and drawing it at a lower density blurs every label into grey. Smaller cells keep the
  // drawing sharp instead, down to one pixel; only past that does the density drop (drawBase).
  const fits = (cell) => (x0 + cell * view.nCols + EDGE_PAD) * (y0 + cell * view.nRows + EDGE_PAD) <= MAX_BACKING_PIXELS;
  while (cssCell > 1 && !fits(cssCell)) cssCell--;
  // Labels need LABEL_PITCH pixels: in smaller cells every labelEvery-th token is labelled (0, k, 2k, …), and
  // the cursor's labels and readout name any token.
  const labelEvery = Math.ceil(LABEL_PITCH / cssCell);
  return {
    rowLabels, colLabels, cssCell, x0, y0, labelEvery,
    width: x0 + cssCell * view.nCols + EDGE_PAD,
    height: y0 + cssCell * view.nRows + EDGE_PAD,
  };
}

/**
 * Snap the grid to device pixels: each cell a block of `cellPx` whole pixels from a whole-pixel
 * origin, so the rasterised bitmap is placed 1:1 (no resampling) and `cell` (CSS px) follows it.
 */
function snapToDevice(layout, dpr, nRows, nCols) {
  // Round down when the density was lowered to cap the backing store, so the map still fits it.
  const cellPx = Math.max(1, dpr >= 1 ? Math.round(layout.cssCell * dpr) : Math.floor(layout.cssCell * dpr));
  const originX = Math.round(layout.x0 * dpr);
  const originY = Math.round(layout.y0 * dpr);
  const cell = cellPx / dpr;
  const x0 = originX / dpr;
  const y0 = originY / dpr;
  return { ...layout, cellPx, originX, originY, cell, x0, y0,
    width: Math.max(layout.width, x0 + cell * nCols + EDGE_PAD), height: Math.max(layout.height, y0 + cell * nRows + EDGE_PAD) };
}

/**
 * Draw the labels once into an offscreen canvas (the base) and ask the worker for the cells; pointer
 * and keyboard moves then only copy the base and draw the cursor, so long inputs stay smooth.
 */
function drawBase(root) {
  const st = states.get(root);
  const { canvas, view } = st;
  if (!view) return;
  const cssLayout = computeLayout(st, canvas.getContext('2d'));
  const dpr = Math.min(window.devicePixelRatio || 1, Math.sqrt(MAX_BACKING_PIXELS / (cssLayout.width * cssLayout.height)));
  const layout = snapToDevice(cssLayout, dpr, view.nRows, view.nCols);
  // The next picture is built aside and shown whole once its cells arrive, so switching layer or
  // head never flashes an empty grid.
  const frame = { view, layout, dpr, colors: palette(root), base: document.createElement('canvas') };
  frame.base.width = Math.round(layout.width * dpr);
  frame.base.height = Math.round(layout.height * dpr);
  const b = frame.base.getContext('2d');
  b.setTransform(dpr, 0, 0, dpr, 0, 0);
  for (let r = 0; r < view.nRows; r += layout.labelEvery) rowLabel(b, frame, r, false);
  for (let c = 0; c < view.nCols; c += layout.labelEvery) colLabel(b, frame, c, false);
  paintCells(root, st, frame);
}

function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/** Show a finished frame: the canvas takes its size, the pointer and the cursor its layout. */
function showFrame(root, st, frame) {
  const { canvas } = st;
  Object.assign(st, { frame, layout: frame.layout, dpr: frame.dpr, colors: frame.colors, base: frame.base });
  canvas.style.width = `${frame.layout.width}px`;
  canvas.style.height = `${frame.layout.height}px`;
  canvas.width = frame.base.width;
  canvas.height = frame.base.height;
  draw(root);
  sayIfScrolled(st);
}

/** Under a map wider than its box: how many of its columns are in view and how to reach the rest. */
function sayIfScrolled(st) {
  const { layout, scroller, view, scrollHint } = st;
  const box = scroller.clientWidth;
  const cut = box > 0 && layout.width > box + 1;
  scrollHint.hidden = !cut;
  scrollHint.dataset.inView = cut ? String(Math.max(0, Math.floor((box - layout.x0) / layout.cell))) : String(view.nCols);
  if (cut) {
    const cols = `${view.colAxis || 'key'}s`;
    scrollHint.textContent = `${scrollHint.dataset.inView} of the ${view.nCols} ${cols} fit in view: scroll the map sideways (or `
      + 'move along a row with the arrow keys) to see the rest.';
  }
  if (layout.labelEvery > 1) {
    scrollHint.hidden = false;
    scrollHint.textContent = `${cut ? `${scrollHint.textContent} ` : ''}The cells are ${layout.cell} pixel${layout.cell === 1 ? '' : 's'} wide, `
      + `so every ${ordinal(layout.labelEvery)} token is labelled: point at a cell (or move with the arrow keys) to name its two tokens.`;
  }
}

/** The cells, rasterised in the worker, placed pixel for pixel at the grid's origin. */
function paintCells(root, st, frame) {
  const { view, layout, dpr, colors } = frame;
  const b = frame.base.getContext('2d');
  const seq = ++st.paintSeq;
  st.canvas.dataset.painted = 'false';
  const done = () => {
    showFrame(root, st, frame);
    // Where the cells are, in canvas pixels (what a figure made by `glassbox plot --cell N` must equal).
    Object.assign(st.canvas.dataset, { painted: 'true', cellPx: String(layout.cellPx), originX: String(layout.originX),
      originY: String(layout.originY) });
  };
  if (!view.nRows || !view.nCols) {
    done();
    return;
  }
  const options = {
    rows: view.nRows, cols: view.nCols, cellPx: layout.cellPx,
    // Thin gaps between cells in the background colour keep single cells readable.
    gridLines: layout.cellPx >= 12,
    hatchPx: Math.max(2, Math.round(2 * HATCH_STEP * dpr)),
    causal: Boolean(view.causal),
    ...((view.causal && view.window > 0) || view.band > 0 ? { mask: windowMask(view) } : {}),
    palette: colors.raster,
  };
  const top = scaleTop(st);
  const values = top === 1 ? Float32Array.from(view.values) : Float32Array.from(view.values, (v) => Math.min(1, v / top));
  st.canvas.dataset.scaleTop = String(top);
  Promise.resolve(view.raster(values, options)).then((image) => {
    if (seq !== st.paintSeq || st.view !== view) {
      image?.close?.();
      return;
    }
    b.save();
    b.setTransform(1, 0, 0, 1, 0, 0);
    if (image.rgba) b.putImageData(new ImageData(image.rgba, image.width, image.height), layout.originX, layout.originY);
    else {
      b.drawImage(image, layout.originX, layout.originY);
      image.close?.();
    }
    b.restore();
    done();
  }, (err) => {
    if (seq !== st.paintSeq) return;
    st.canvas.dataset.painted = 'error';
    st.readout.textContent = `The map could not be drawn (${err.message}).`;
  });
}

/** Row labels (queries), right-aligned against the grid. `frame`: `{ layout, view, colors }`. */
function rowLabel(ctx, frame, r, active) {
  const { layout, view, colors } = frame;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  ctx.font = active ? FONT_BOLD : FONT;
  ctx.fillStyle = active ? colors.cursor : view.rowSpecial?.[r] ? colors.muted : colors.text;
  ctx.fillText(layout.rowLabels[r], layout.x0 - LABEL_GAP, layout.y0 + r * layout.cell + layout.cell / 2);
}

/** Column labels (keys), written upwards above the grid. */
function colLabel(ctx, frame, c, active) {
  const { layout, view, colors } = frame;
  ctx.save();
  ctx.translate(layout.x0 + c * layout.cell + layout.cell / 2, layout.y0 - LABEL_GAP);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.font = active ? FONT_BOLD : FONT;
  ctx.fillStyle = active ? colors.cursor : view.colSpecial?.[c] ? colors.muted : colors.text;
  ctx.fillText(layout.colLabels[c], 0, 0);
  ctx.restore();
}

/** The base, plus the cursor: its cell outlined, its row and column labels highlighted. */
function draw(root) {
  const st = states.get(root);
  // Nothing to show before the first frame's cells have arrived.
  if (!st.view || !st.base) return;
  const { canvas, layout, dpr, cursor } = st;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(st.base, 0, 0);
  // A cursor outside the shown frame (a bigger map still on its way) waits for it.
  if (!cursor || cursor.r >= st.frame.view.nRows || cursor.c >= st.frame.view.nCols) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const { cell, x0, y0 } = layout;
  // Clear the two labels before writing them again in the cursor colour (in cells smaller than a label, the
  // strip a label needs: the neighbours' labels give way while the cursor is there).
  const strip = Math.max(cell, LABEL_PITCH);
  ctx.clearRect(0, y0 + cursor.r * cell + cell / 2 - strip / 2, x0 - 1, strip);
  ctx.clearRect(x0 + cursor.c * cell + cell / 2 - strip / 2, 0, strip, y0 - 1);
  rowLabel(ctx, st.frame, cursor.r, true);
  colLabel(ctx, st.frame, cursor.c, true);
  ctx.strokeStyle = st.colors.cursor;
  ctx.lineWidth = 2;
  ctx.strokeRect(x0 + cursor.c * cell + 1, y0 + cursor.r * cell + 1, cell - 2, cell - 2);
}

/** The colour scale, drawn by the same rasteriser as the cells (one row of 0..1, stretched). */
function drawLegend(root) {
  const st = states.get(root);
  const top = scaleTop(st);
  const digits = top === 1 ? 2 : 3;
  st.tickLabels.forEach((tick, i) => { tick.textContent = top === 1 ? String(LEGEND_TICKS[i]) : fmtWeight(LEGEND_TICKS[i] * top, digits); });
  const quantity = st.view.quantity ?? 'attention weight';
  st.legendTitle.textContent = top === 1 ? quantity : `${quantity} (stretched: darkest = ${fmtWeight(top, 3)}, the largest shown)`;
  const banded = st.view.band > 0 && 2 * st.view.band + 1 < st.view.nCols;
  const windowed = (st.view.causal && st.view.window > 0 && st.view.window < st.view.nCols) || banded;
  const n = banded ? 2 * st.view.band + 1 : windowed ? st.view.window : st.view.nCols;
  if (n > 0) {
    const u = 1 / n;
    // A causal row r sees only r keys: the marker's 1/n is the last row's, which the label says (each row has its own).
    const lastRow = st.view.causal && !windowed ? ' (last row)' : '';
    st.uniform.hidden = false;
    st.uniform.style.left = `${Math.min(1, u / top) * 100}%`;
    if (st.view.shares) {
      // Rollout: a row's cells are shares of where its information came from, adding up to 1 over the columns.
      const cols = `${st.view.colAxis || 'column'}s`;
      st.uniform.textContent = `▲ 1/${n} even share${lastRow}`;
      st.uniform.title = `Even share 1/${n} = ${fmtWeight(u, 3)}: a row that drew on all ${n} ${cols} equally` +
        (st.view.causal ? ` (the last row; a causal row r draws only on the first r ${cols}, even share 1/r)` : '');
    } else {
      st.uniform.textContent = `▲ 1/${n} uniform${lastRow}`;
      st.uniform.title = `Uniform weight 1/${n} = ${fmtWeight(u, 3)}: a row that looked at all ${n} keys equally` +
        (windowed ? ` (a row of this ${banded ? 'banded' : 'windowed'} layer sees at most ${n} keys)`
          : st.view.causal ? ' (the last row; a causal row r sees r keys, uniform 1/r)' : '');
    }
    st.uniform.dataset.value = String(u);
  } else {
    st.uniform.hidden = true;
  }
  const c = st.legendCanvas;
  const dpr = window.devicePixelRatio || 1;
  const options = { rows: 1, cols: LEGEND_WIDTH, cellPx: 1, gridLines: false, palette: palette(root).raster };
  // The ramp depends only on the colours and the pixel density: a map redrawn with new values (a generation's
  // step map follows every token) keeps the ramp it has instead of asking the worker for the same one again.
  const key = `${dpr} ${JSON.stringify(options.palette)}`;
  if (st.legendKey === key) return;
  st.legendKey = key;
  c.style.width = `${LEGEND_WIDTH}px`;
  c.style.height = `${LEGEND_HEIGHT}px`;
  c.width = Math.round(LEGEND_WIDTH * dpr);
  c.height = Math.round(LEGEND_HEIGHT * dpr);
  const steps = Float32Array.from({ length: LEGEND_WIDTH }, (_, x) => x / (LEGEND_WIDTH - 1));
  const seq = ++st.legendSeq;
  Promise.resolve(st.view.raster(steps, options)).then((image) => {
    if (seq !== st.legendSeq) {
      image?.close?.();
      return;
    }
    const ctx = c.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    const source = image.rgba ? imageDataCanvas(image) : image;
    ctx.drawImage(source, 0, 0, c.width, c.height);
    image.close?.();
  }, () => { if (seq === st.legendSeq) st.legendKey = null; });
}

function fmtWeight(x, digits) {
  return Number(x.toFixed(digits)).toString();
}

function imageDataCanvas(image) {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d').putImageData(new ImageData(image.rgba, image.width, image.height), 0, 0);
  return canvas;
}

function cellAt(st, e) {
  const { layout, view } = st;
  if (!layout || !view) return null;
  const rect = st.canvas.getBoundingClientRect();
  const x = e.clientX - rect.left - layout.x0, y = e.clientY - rect.top - layout.y0;
  const c = Math.floor(x / layout.cell), r = Math.floor(y / layout.cell);
  if (r < 0 || c < 0 || r >= view.nRows || c >= view.nCols) return null;
  return { r, c };
}

function scrollCellIntoView(st) {
  const { layout, cursor, scroller } = st;
  if (!layout || !cursor) return;
  const left = layout.x0 + cursor.c * layout.cell;
  if (left < scroller.scrollLeft + layout.x0) scroller.scrollLeft = Math.max(0, left - layout.x0);
  else if (left + layout.cell > scroller.scrollLeft + scroller.clientWidth) scroller.scrollLeft = left + layout.cell - scroller.clientWidth;
}

function updateReadout(root) {
  const st = states.get(root);
  const { view, cursor, readout } = st;
  if (!view || !cursor) {
    readout.textContent = 'Point at a cell (or focus the map and use the arrow keys) to read its value.';
    readout.classList.add('hint');
    delete readout.dataset.value;
    return;
  }
  readout.classList.remove('hint');
  const { r, c } = cursor;
  const rowWord = view.rowAxis ?? 'query';
  const colWord = view.colAxis ?? 'key';
  // An empty rowAxis means the row labels name themselves ("head 3").
  const row = rowWord ? `${rowWord} ${JSON.stringify(view.rowLabels[r])}` : view.rowLabels[r];
  const col = `${colWord} ${JSON.stringify(view.colLabels[c])}`;
  if (isOutsideBand(view, r, c)) {
    readout.textContent = `${row} → ${col}: masked (more than ${view.band} tokens away: outside this layer’s band)`;
    readout.dataset.value = 'masked';
  } else if (isOutsideWindow(view, r, c)) {
    readout.textContent = `${row} → ${col}: masked (more than ${view.window - 1} tokens back: outside this layer’s window)`;
    readout.dataset.value = 'masked';
  } else if (isMasked(view, r, c)) {
    readout.textContent = `${row} → ${col}: masked (a later token, not visible when this one is processed)`;
    readout.dataset.value = 'masked';
  } else {
    const v = view.values[r * view.nCols + c];
    readout.textContent = `${row} → ${col}: ${v.toFixed(4)}` +
      (isForcedRow(view, r) ? (view.shares
        ? ` (forced: the only ${colWord} this row can draw on, so its share is 1 by construction)`
        : ' (forced: the only key this row may see, so its weight is 1 by construction)') : '');
    readout.dataset.value = String(v);
  }
  readout.dataset.row = String(r);
  readout.dataset.col = String(c);
}

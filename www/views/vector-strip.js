// A vector drawn as one strip of cells (a heat strip) on a canvas at the screen's real pixel
// density: blue for positive entries, orange for negative, white-ish for zero, all on one
// symmetric scale so strips drawn with the same `maxAbs` compare. Hovering a cell reports its
// index and exact value through `onHover`.

// Layout, in CSS pixels.
const CELL_MAX = 8;        // widest cell
const CELL_MIN = 2;        // narrowest cell (long vectors)
const STRIP_MAX_WIDTH = 160;
const STRIP_HEIGHT = 14;
const POSITIVE = [44, 102, 173];   // rgb at +maxAbs
const NEGATIVE = [214, 110, 30];   // rgb at -maxAbs
const ZERO = [246, 247, 249];

/** The colour of `value` on a symmetric scale -maxAbs..maxAbs. */
export function divergingColour(value, maxAbs) {
  const t = maxAbs > 0 ? Math.max(-1, Math.min(1, value / maxAbs)) : 0;
  const end = t >= 0 ? POSITIVE : NEGATIVE;
  const a = Math.abs(t);
  const mix = (i) => Math.round(ZERO[i] + (end[i] - ZERO[i]) * a);
  return `rgb(${mix(0)},${mix(1)},${mix(2)})`;
}

/** The largest |x| in any of the arrays (1 when all are zero, so the scale stays defined). */
export function maxAbsOf(...arrays) {
  let m = 0;
  for (const a of arrays) for (const x of a) if (Number.isFinite(x) && Math.abs(x) > m) m = Math.abs(x);
  return m || 1;
}

/**
 * A canvas showing `values` as a heat strip.
 * @param {ArrayLike<number>} values
 * @param {object} opts
 * @param {number} opts.maxAbs              the value drawn at full colour
 * @param {string} opts.label               accessible name, e.g. "key vector of 'dog'"
 * @param {(i: number, v: number) => void} [opts.onHover]   a cell under the pointer (i = -1: left)
 * @param {boolean} [opts.keyboard]   focusable; the arrow keys step through the cells (reported through onHover)
 */
export function vectorStrip(values, { maxAbs, label, onHover, keyboard = false }) {
  const n = values.length;
  const cell = Math.max(CELL_MIN, Math.min(CELL_MAX, Math.floor(STRIP_MAX_WIDTH / Math.max(1, n))));
  const width = cell * n;
  const canvas = document.createElement('canvas');
  canvas.className = 'vector-strip';
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(width * dpr));
  canvas.height = Math.round(STRIP_HEIGHT * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${STRIP_HEIGHT}px`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${label}: ${n} numbers`);
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  for (let i = 0; i < n; i++) {
    ctx.fillStyle = divergingColour(values[i], maxAbs);
    ctx.fillRect(i * cell, 0, cell, STRIP_HEIGHT);
  }
  if (onHover) {
    canvas.addEventListener('pointermove', (e) => {
      // By position across the drawn width (inside the border): a style sheet may draw the strip narrower than its
      // cells (a phone).
      const x = e.clientX - canvas.getBoundingClientRect().left - canvas.clientLeft;
      const i = Math.max(0, Math.min(n - 1, Math.floor((x / (canvas.clientWidth || width)) * n)));
      if (i >= 0 && i < n) onHover(i, values[i]);
    });
    canvas.addEventListener('pointerleave', () => onHover(-1, NaN));
  }
  if (onHover && keyboard) {
    let at = -1;
    canvas.tabIndex = 0;
    canvas.setAttribute('aria-label', `${label}: ${n} numbers. Use the left and right arrow keys to read them`);
    canvas.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1, Home: -n, End: n }[e.key];
      if (!step) return;
      e.preventDefault();
      at = Math.max(0, Math.min(n - 1, at + step));
      onHover(at, values[at]);
    });
  }
  return canvas;
}

/** Format a number for the read-outs: 4 significant digits, with a sign when asked. */
export function fmt(x, digits = 4) {
  if (x === -Infinity) return '−∞';
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(2).replace('-', '−');
  return Number(x.toPrecision(digits)).toString().replace('-', '−');
}

/**
 * The key to a set of heat strips: the colour scale from −max (orange) through 0 (pale) to +max
 * (blue), and each group's own max. `scales`: `[{ name, maxAbs }]` (e.g. q, k, v).
 */
export function stripLegend(scales, note = '', unit = 'dimension') {
  const box = document.createElement('div');
  box.className = 'vector-legend';
  const ramp = vectorStrip(Float32Array.from({ length: 21 }, (_, i) => (i - 10) / 10), { maxAbs: 1, label: 'colour scale from minus the largest value to plus it' });
  ramp.setAttribute('aria-hidden', 'true');
  ramp.className = 'vector-legend-ramp';   // a key, not one of the vectors shown
  const left = document.createElement('span');
  left.textContent = '−max';
  const right = document.createElement('span');
  right.textContent = '0 (pale) … +max';
  const maxes = document.createElement('span');
  maxes.className = 'vector-legend-max';
  maxes.textContent = `One cell per ${unit}; orange negative, blue positive. max: ${scales.map((s) => `${s.name} ${fmt(s.maxAbs, 3)}`).join(', ')}.` +
    (note ? ` ${note}` : '');
  box.append(left, ramp, right, maxes);
  return box;
}

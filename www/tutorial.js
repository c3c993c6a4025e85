// The tutorial's own small figures; the lessons (lessons/*.json, played by <glassbox-lesson>) drive everything else.
//   1. one neuron learning AND by gradient descent;
//   2. a gradient sent back through repeated products with a weight matrix;
//   6. the sinusoidal position encoding in Marian's layout, at the translator's width, and the position facts;
//   7. the bundled models' blocks (widths, feed-forward share, where the norm sits), read from the models.

import { sharedModel } from './glassbox-widgets.js';

// ---- 1. one neuron ----------------------------------------------------------------------------------

const AND_DATA = [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 1]]; // x1, x2, target
const LEARNING_RATE = 1;
const START_WEIGHTS = { w1: -0.5, w2: 0.3, b: 0 };
const neuron = { ...START_WEIGHTS, steps: 0 };

const sigmoid = (z) => 1 / (1 + Math.exp(-z));

/** Mean cross-entropy over the four examples and its gradient with respect to w1, w2, b. */
function lossAndGradient({ w1, w2, b }) {
  let loss = 0;
  const grad = { w1: 0, w2: 0, b: 0 };
  for (const [x1, x2, t] of AND_DATA) {
    const y = sigmoid(w1 * x1 + w2 * x2 + b);
    loss -= t * Math.log(y) + (1 - t) * Math.log(1 - y);
    const dz = y - t; // d(loss)/d(sum) for a sigmoid with cross-entropy
    grad.w1 += dz * x1;
    grad.w2 += dz * x2;
    grad.b += dz;
  }
  const n = AND_DATA.length;
  return { loss: loss / n, grad: { w1: grad.w1 / n, w2: grad.w2 / n, b: grad.b / n } };
}

function neuronSteps(k) {
  for (let i = 0; i < k; i++) {
    const { grad } = lossAndGradient(neuron);
    for (const key of ['w1', 'w2', 'b']) neuron[key] -= LEARNING_RATE * grad[key];
    neuron.steps += 1;
  }
  drawNeuron();
}

function drawNeuron() {
  const body = document.querySelector('#neuron-table tbody');
  body.replaceChildren(...AND_DATA.map(([x1, x2, t]) => {
    const tr = document.createElement('tr');
    for (const v of [x1, x2, t, sigmoid(neuron.w1 * x1 + neuron.w2 * x2 + neuron.b).toFixed(3)]) {
      tr.append(Object.assign(document.createElement('td'), { textContent: String(v) }));
    }
    return tr;
  }));
  const { loss, grad } = lossAndGradient(neuron);
  const f = (v) => (v >= 0 ? ' ' : '') + v.toFixed(3);
  document.getElementById('neuron-state').textContent = `After ${neuron.steps} step${neuron.steps === 1 ? '' : 's'}: `
    + `weights w₁ = ${f(neuron.w1)}, w₂ = ${f(neuron.w2)}, bias b = ${f(neuron.b)}; loss ${loss.toFixed(4)}; `
    + `gradient (${f(grad.w1)}, ${f(grad.w2)}, ${f(grad.b)}). Each step subtracts ${LEARNING_RATE} × the gradient.`;
}

// ---- 2. a gradient through repeated matrix products ------------------------------------------------

const MATRIX_SIZE = 8;
const GRADIENT_SHOWN = [1, 5, 10, 20, 30];

/** A fixed pseudo-random generator (mulberry32), so every reader sees the same matrix. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random orthogonal matrix [n][n] (Gram-Schmidt on Gaussian columns): it turns vectors without stretching them. */
function orthogonal(n, seed) {
  const rand = random(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const cols = [];
  for (let j = 0; j < n; j++) {
    let v = Array.from({ length: n }, gauss);
    for (const u of cols) {
      const d = v.reduce((s, x, i) => s + x * u[i], 0);
      v = v.map((x, i) => x - d * u[i]);
    }
    const norm = Math.hypot(...v);
    cols.push(v.map((x) => x / norm));
  }
  return cols;
}

// W = scale · Q · diag(1 ± 0.3): a matrix whose stretch per step lies between 0.7 and 1.3 times the scale.
const BASE_MATRIX = (() => {
  const q = orthogonal(MATRIX_SIZE, 7);
  const stretch = Array.from({ length: MATRIX_SIZE }, (_, i) => 0.7 + (0.6 * i) / (MATRIX_SIZE - 1));
  return q.map((col, j) => col.map((x) => x * stretch[j]));
})();

function gradientNorms(scale) {
  let g = Array.from({ length: MATRIX_SIZE }, (_, i) => (i === 0 ? 1 : 0)); // |g| = 1 at the last step
  const norms = [];
  for (let step = 1; step <= Math.max(...GRADIENT_SHOWN); step++) {
    // One step back: g ← scale · Wᵀ g (W stored by columns, so Wᵀ g takes dot products with the columns).
    g = BASE_MATRIX.map((col) => scale * col.reduce((s, x, i) => s + x * g[i], 0));
    norms[step] = Math.hypot(...g);
  }
  return norms;
}

function drawGradient() {
  const input = document.getElementById('gradient-scale');
  const scale = Number(input.value);
  document.getElementById('gradient-scale-out').textContent = scale.toFixed(2);
  const norms = gradientNorms(scale);
  const bars = document.getElementById('gradient-bars');
  bars.replaceChildren(...GRADIENT_SHOWN.map((steps) => {
    const value = norms[steps];
    const row = document.createElement('div');
    row.className = 'bar-row';
    const label = Object.assign(document.createElement('span'), { textContent: `${steps} step${steps === 1 ? '' : 's'} back` });
    const track = Object.assign(document.createElement('span'), { className: 'bar-track' });
    const bar = Object.assign(document.createElement('span'), { className: value > 1 ? 'bar-fill over' : 'bar-fill' });
    // A log scale from 1e-3 to 1e3, so both fading and blowing up are visible.
    bar.style.width = `${Math.min(100, Math.max(0, ((Math.log10(value) + 3) / 6) * 100))}%`;
    track.append(bar);
    const num = Object.assign(document.createElement('span'), { className: 'bar-value',
      textContent: value < 1e-3 || value > 1e3 ? value.toExponential(1) : value.toPrecision(3) });
    row.append(label, track, num);
    return row;
  }));
  const last = GRADIENT_SHOWN.at(-1);
  bars.setAttribute('aria-label', `Length of the gradient, starting at 1: ${GRADIENT_SHOWN.map((s) => `${s} steps back ${norms[s].toPrecision(3)}`).join(', ')}`);
  bars.dataset.last = String(norms[last]);
}

// ---- 6. positions -----------------------------------------------------------------------------------

const WAVE_POSITIONS = 64;         // enough for one wavelength of the middle frequencies; the slow ones barely move

/**
 * Dimension `i` of Marian's sinusoidal encoding at position `pos` for width `d`: sines in the first half, cosines
 * in the second, dimension k and d/2 + k sharing the frequency 1 / 10000^(2k/d) (Hugging Face's
 * MarianSinusoidalPositionalEmbedding; the original paper interleaves them instead).
 */
function sinusoid(pos, i, d) {
  const half = d / 2;
  const k = i < half ? i : i - half;
  const angle = pos / 10000 ** ((2 * k) / d);
  return i < half ? Math.sin(angle) : Math.cos(angle);
}

/** Three fast-to-slow sines and the cosines of the fastest and a middle one. */
function waveDimensions(d) {
  const half = d / 2;
  return [0, Math.round(half / 8), Math.round(half / 4), Math.round(half / 2), half, half + Math.round(half / 4)];
}

function wavelength(i, d) {
  const k = i < d / 2 ? i : i - d / 2;
  return 2 * Math.PI * 10000 ** ((2 * k) / d);
}

function drawWaves(d, positions = WAVE_POSITIONS) {
  const canvas = document.getElementById('sinusoid');
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 720;
  const height = 240;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const cs = getComputedStyle(document.documentElement);
  const colors = ['--wave-0', '--wave-1', '--wave-2', '--wave-3'].map((v) => cs.getPropertyValue(v).trim() || '#2c66ad');
  const pad = { left: 40, right: 24, top: 10, bottom: 40 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const x = (p) => pad.left + (p / (positions - 1)) * w;
  const y = (v) => pad.top + (1 - (v + 1) / 2) * h;
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = cs.getPropertyValue('--rule').trim() || '#ccc';
  ctx.fillStyle = cs.getPropertyValue('--muted').trim() || '#777';
  ctx.font = '12px system-ui, sans-serif';
  ctx.lineWidth = 1;
  for (const v of [-1, 0, 1]) {
    ctx.beginPath();
    ctx.moveTo(pad.left, y(v));
    ctx.lineTo(pad.left + w, y(v));
    ctx.stroke();
    ctx.fillText(String(v), 14, y(v) + 4);
  }
  // Round positions a quarter apart (0, 16, 32, 48 of 64), then the last one.
  const step = Math.max(1, Math.round((positions - 1) / 32) * 8);
  const ticks = [];
  for (let p = 0; p < positions - 1 - step / 2; p += step) ticks.push(p);
  ticks.push(positions - 1);
  for (const p of ticks) ctx.fillText(String(p), x(p) - 6, height - 22);
  canvas.dataset.ticks = ticks.join(',');
  ctx.fillText('position →', pad.left + w / 2 - 30, height - 6);
  ctx.save();
  ctx.translate(10, pad.top + h / 2 + 14);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('value', 0, 0);
  ctx.restore();
  const dims = waveDimensions(d);
  const frequencyOf = (dim) => (dim < d / 2 ? dim : dim - d / 2);
  const frequencies = [...new Set(dims.map(frequencyOf))];
  dims.forEach((dim) => {
    ctx.strokeStyle = colors[frequencies.indexOf(frequencyOf(dim)) % colors.length];
    ctx.setLineDash(dim >= d / 2 ? [5, 4] : []);
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let p = 0; p <= positions - 1; p += 0.25) {
      const v = sinusoid(p, dim, d);
      if (p === 0) ctx.moveTo(x(p), y(v));
      else ctx.lineTo(x(p), y(v));
    }
    ctx.stroke();
  });
  ctx.setLineDash([]);
  // How much of its wavelength the slowest sine drawn covers between position 0 and the last one shown.
  const slowestShare = () => {
    const longest = Math.max(...dims.filter((i) => i < d / 2).map((i) => wavelength(i, d)));
    const share = (positions - 1) / longest;
    return share >= 1 ? 'more than one whole' : `${Math.round(share * 100)}%`;
  };
  const describeDim = (i) => `${i} (${i < d / 2 ? 'sine' : 'cosine'}, wavelength ${Math.round(wavelength(i, d)).toLocaleString('en')})`;
  document.getElementById('sinusoid-caption').textContent = `Positions 0 to ${positions - 1} along the bottom. `
    + `Dimensions ${dims.map(describeDim).join(', ')} of ${d}; solid lines are sines, dashed cosines, one colour per `
    + `frequency. The first sines swing fast, the later ones slowly (the slowest drawn covers ${slowestShare()} of its wavelength `
    + `over these positions); each cosine in the second half shares its frequency with the sine ${d / 2} dimensions before it.`;
  canvas.dataset.dimensions = dims.join(',');
}

/** The position facts of the two models with position tables or formulas; returns the translator's width. */
async function positionFacts() {
  const box = document.getElementById('position-facts');
  const rows = [];
  let translator = null;
  for (const [spec, label] of [['@marian', 'The translator (Marian)'], ['@gpt2', 'The GPT-2 model']]) {
    try {
      const { model, name } = await sharedModel(spec, null, null); // the card only: holds nothing
      const { positions, maxPositions, dModel } = model.info;
      if (spec === '@marian') translator = { dModel, maxPositions };
      const how = positions === 'learned'
        ? `a learned table of ${maxPositions} position vectors, so it reads at most ${maxPositions} tokens`
        : positions === 'sinusoidal'
          ? `fixed sinusoids; the formula works for any position, but the model is configured for at most ${maxPositions} tokens, and Glassbox refuses longer inputs`
          : `${positions} positions, at most ${maxPositions} tokens`;
      rows.push(Object.assign(document.createElement('p'), {
        textContent: `${label}, ${name}: ${how}; each position vector has ${dModel} numbers.`,
      }));
      rows.at(-1).dataset.model = spec.slice(1);
      rows.at(-1).dataset.maxPositions = String(maxPositions);
    } catch (err) {
      rows.push(Object.assign(document.createElement('p'), { textContent: `${label}: not available here (${err.message}).` }));
    }
  }
  box.replaceChildren(...rows);
  return translator;
}

// ---- 7. the blocks --------------------------------------------------------------------------------

/** Where each family puts its layer norm (Hugging Face's implementations). */
const NORM_PLACEMENT = {
  gpt2: 'pre-LN (LayerNorm before attention and before the feed-forward network, one more at the end)',
  llama: 'pre-LN with RMSNorm',
  qwen2: 'pre-LN with RMSNorm',
  t5: 'pre-LN with RMSNorm',
  bert: 'post-LN (LayerNorm after each residual addition, one more on the embeddings)',
  marian: 'post-LN (LayerNorm after each residual addition)',
  bart: 'post-LN (LayerNorm after each residual addition, one more on the embeddings)',
};

async function blockFacts() {
  const body = document.querySelector('#block-facts tbody');
  const rows = [];
  for (const spec of ['@gpt2', '@bert', '@marian']) {
    try {
      const { model, name } = await sharedModel(spec, null, null); // the card only: holds nothing
      const { dModel, dFF, modelType } = model.info;
      // Weights of one encoder-style block: Q, K, V and the output projection (4 d² when the heads fill the width
      // and every head has its own keys and values), then the feed-forward matrices (2 d·F); biases and norms are
      // a rounding error.
      // The model card says how its blocks are built (info.block) where this Glassbox reports it; a gated
      // feed-forward network (Llama, T5 v1.1) has three matrices, and grouped-query attention has fewer key and
      // value heads than query heads.
      const block = model.info.block;
      const heads = model.info.nHeads;
      const qWidth = block?.dHead && heads ? block.dHead * heads : dModel;
      const kvWidth = block?.dHead && block?.nKvHeads ? block.dHead * block.nKvHeads : qWidth;
      const attention = 2 * dModel * qWidth + 2 * dModel * kvWidth;
      const ffn = (block?.gatedFfn ? 3 : 2) * dModel * dFF;
      const norm = block ? `${block.normPlacement}-LN with ${block.normKind}${block.embeddingNorm ? ', one more on the embeddings' : ''}`
        + `${block.finalNorm ? ', one more at the end' : ''}${block.parallelResidual ? ', attention and feed-forward in parallel' : ''}`
        : NORM_PLACEMENT[modelType] ?? 'see the model card';
      const cells = [name, dModel.toLocaleString('en'), `${dFF.toLocaleString('en')} (${+(dFF / dModel).toFixed(2)} × the width)`,
        `${Math.round((100 * ffn) / (attention + ffn))}%`, norm];
      const tr = document.createElement('tr');
      tr.dataset.model = spec.slice(1);
      tr.dataset.dModel = String(dModel);
      tr.dataset.dFf = String(dFF);
      for (const [i, c] of cells.entries()) tr.append(Object.assign(document.createElement(i === 0 ? 'th' : 'td'), { textContent: c }));
      tr.firstChild.scope = 'row';
      rows.push(tr);
    } catch (err) {
      const tr = document.createElement('tr');
      tr.append(Object.assign(document.createElement('td'), { colSpan: 5, textContent: `${spec.slice(1)}: not available here (${err.message}).` }));
      rows.push(tr);
    }
  }
  body.replaceChildren(...rows);
}

// ---- wiring -----------------------------------------------------------------------------------------

document.getElementById('neuron-step').addEventListener('click', () => neuronSteps(1));
document.getElementById('neuron-train').addEventListener('click', () => neuronSteps(100));
document.getElementById('neuron-reset').addEventListener('click', () => {
  Object.assign(neuron, START_WEIGHTS, { steps: 0 });
  drawNeuron();
});
drawNeuron();
document.getElementById('gradient-scale').addEventListener('input', drawGradient);
drawGradient();
const FALLBACK_WIDTH = 512; // the original transformer's d_model, until the translator has loaded
drawWaves(FALLBACK_WIDTH);

/** Run `work` once, when `section` comes near the screen (these facts load models). */
function whenNear(section, work) {
  const io = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    io.disconnect();
    work();
  }, { rootMargin: '300px' });
  io.observe(section);
}

whenNear(document.getElementById('positions'), async () => {
  const translator = await positionFacts();
  const d = translator?.dModel ?? FALLBACK_WIDTH;
  const n = Math.min(translator?.maxPositions ?? WAVE_POSITIONS, WAVE_POSITIONS);
  drawWaves(d, n);
  addEventListener('resize', () => drawWaves(d, n));
});
whenNear(document.getElementById('block'), blockFacts);

// The tutorial's own small figures (the widgets draw everything else): the vanishing-gradient bars and the
// sinusoidal position waves for the translator's real width, plus the position facts of the bundled models.

import { sharedModel } from './glassbox-widgets.js';

const GRADIENT_STEPS = 30;          // how many steps back the signal travels
const GRADIENT_SHOWN = [1, 5, 10, 20, 30];
const WAVE_POSITIONS = 64;          // positions drawn along the x axis
const WAVE_DIMENSIONS = [0, 1, 4, 5, 12, 13];   // pairs of (sin, cos) at three frequencies
const FALLBACK_WIDTH = 512;         // the original transformer's d_model, if no translator is bundled

// ---- 1. vanishing and exploding gradients ---------------------------------------------------------

function drawGradient() {
  const input = document.getElementById('gradient-factor');
  const out = document.getElementById('gradient-factor-out');
  const bars = document.getElementById('gradient-bars');
  const factor = Number(input.value);
  out.textContent = factor.toFixed(2);
  bars.replaceChildren();
  for (const steps of GRADIENT_SHOWN) {
    const value = factor ** steps;
    const row = document.createElement('div');
    row.className = 'bar-row';
    const label = document.createElement('span');
    label.textContent = `${steps} step${steps === 1 ? '' : 's'} back`;
    const track = document.createElement('span');
    track.className = 'bar-track';
    const bar = document.createElement('span');
    bar.className = value > 1 ? 'bar-fill over' : 'bar-fill';
    // A log scale from 1e-3 to 1e3, so both fading and blowing up are visible.
    bar.style.width = `${Math.min(100, Math.max(0, (Math.log10(value) + 3) / 6 * 100))}%`;
    track.append(bar);
    const num = document.createElement('span');
    num.className = 'bar-value';
    num.textContent = value < 1e-3 || value > 1e3 ? value.toExponential(1) : value.toPrecision(3);
    row.append(label, track, num);
    bars.append(row);
  }
  bars.setAttribute('aria-label', `After ${GRADIENT_STEPS} steps the signal is multiplied by ${(factor ** GRADIENT_STEPS).toPrecision(3)}`);
}

// ---- 5. positions -----------------------------------------------------------------------------------

/** Value of dimension `i` of the sinusoidal encoding at position `pos` for width `d` (sin on even, cos on odd). */
function sinusoid(pos, i, d) {
  const angle = pos / 10000 ** ((2 * Math.floor(i / 2)) / d);
  return i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
}

function drawWaves(d) {
  const canvas = document.getElementById('sinusoid');
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 720;
  const height = 220;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const cs = getComputedStyle(document.documentElement);
  const colors = ['--wave-0', '--wave-1', '--wave-2'].map((v) => cs.getPropertyValue(v).trim() || '#2c66ad');
  const pad = { left: 34, right: 10, top: 10, bottom: 26 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const x = (p) => pad.left + (p / (WAVE_POSITIONS - 1)) * w;
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
    ctx.fillText(String(v), 8, y(v) + 4);
  }
  for (const p of [0, 16, 32, 48, 63]) ctx.fillText(String(p), x(p) - 6, height - 8);
  WAVE_DIMENSIONS.forEach((dim, k) => {
    ctx.strokeStyle = colors[Math.floor(k / 2) % colors.length];
    ctx.setLineDash(dim % 2 ? [5, 4] : []);
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let p = 0; p < WAVE_POSITIONS; p += 0.25) {
      const v = sinusoid(p, dim, d);
      if (p === 0) ctx.moveTo(x(p), y(v));
      else ctx.lineTo(x(p), y(v));
    }
    ctx.stroke();
  });
  ctx.setLineDash([]);
  document.getElementById('sinusoid-caption').textContent = `Position 0 to ${WAVE_POSITIONS - 1} along the bottom. `
    + `Dimensions ${WAVE_DIMENSIONS.join(', ')} of ${d} (solid: sine, dashed: cosine). The low dimensions swing `
    + 'fast, the high ones slowly: together they give each position its own pattern.';
}

async function positionFacts() {
  const box = document.getElementById('position-facts');
  const rows = [];
  let width = FALLBACK_WIDTH;
  for (const [spec, label] of [['@marian', 'The translator (Marian)'], ['@gpt2', 'The GPT-2 model']]) {
    try {
      const { model, name } = await sharedModel(spec);
      const { positions, maxPositions, dModel } = model.info;
      if (spec === '@marian') width = dModel;
      const limit = positions === 'learned'
        ? `a learned table of ${maxPositions} positions, so it reads at most ${maxPositions} tokens`
        : positions === 'sinusoidal' ? 'fixed sine and cosine waves, computed for any position' : `${positions} positions`;
      rows.push(`${label}, ${name}: ${limit}; each position vector has ${dModel} numbers.`);
    } catch (err) {
      rows.push(`${label}: not available here (${err.message}).`);
    }
  }
  box.replaceChildren(...rows.map((r) => Object.assign(document.createElement('p'), { textContent: r })));
  return width;
}

// ---- wiring -----------------------------------------------------------------------------------------

document.getElementById('gradient-factor').addEventListener('input', drawGradient);
drawGradient();
drawWaves(FALLBACK_WIDTH);

// The position facts load two models: wait until the reader gets near that section.
const section = document.getElementById('positions');
const io = new IntersectionObserver(async (entries) => {
  if (!entries.some((e) => e.isIntersecting)) return;
  io.disconnect();
  const width = await positionFacts();
  drawWaves(width);
  addEventListener('resize', () => drawWaves(width));
}, { rootMargin: '300px' });
io.observe(section);

// One road from a run to a picture, in headless Chromium:
// - the widgets label tokens exactly as the page does, for a byte-level BPE (glassbox-gpt2), a WordPiece
//   (glassbox-bert) and a Unigram (glassbox-translator) vocabulary;
// - the page's attention canvas and the CLI's `glassbox plot` PNG agree pixel for pixel on the map;
// - a 1024 x 1024 map and a grid of every head of a 12 x 12 model draw without freezing the page
//   (the figures are printed as test diagnostics; nothing here is a timed assertion).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  openPage as openSetup, closePage, newWatchedPage, pickModel, waitPainted, CLI, pressRun, readHeatmap,
  showAttention,
} from './helpers.mjs';

const WAIT = { timeout: 120000 };
const TEXTS = {
  'glassbox-gpt2': 'The cat sat on the mat, then   the dog.',
  'glassbox-bert': 'The dog chased the [MASK] across the park.',
  'glassbox-translator': 'the small dog sees the red car',
};
const setup = {};

before(async () => {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`cargo build\` first (tests/browser/run.mjs does it)`);
  Object.assign(setup, await openSetup({ openPage: false }));
  for (const name of Object.keys(TEXTS)) {
    assert.ok(setup.models.models.some((m) => m.name === name), `the bundled model ${name} is missing from models/`);
  }
  setup.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-draw-'));
});

after(async () => {
  await closePage(setup);
  if (setup.tmp) fs.rmSync(setup.tmp, { recursive: true, force: true });
});

async function openPage() {
  const { context, page, watch } = await newWatchedPage(setup.browser.browser);
  await page.goto(setup.server.url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, WAIT);
  return { context, page, watch };
}

async function typeAndRun(page, text) {
  await page.fill('#text-input', text);
  assert.equal(await pressRun(page, WAIT.timeout), '', `running "${text}"`);
}

describe('labels: every widget as the page', () => {
  it('tokens and attention widgets show the page\'s labels for BPE, WordPiece and Unigram', async () => {
    const { context, page } = await openPage();
    const want = {};
    for (const [name, text] of Object.entries(TEXTS)) {
      await pickModel(page, name);
      await typeAndRun(page, text);
      const kind = name === 'glassbox-gpt2' ? 'decoder' : 'encoder';
      const chips = await page.$$eval('#tokens .chip .piece', (els) => els.map((e) => e.textContent));
      const map = await showAttention(page, kind, 0, 'mean');
      want[name] = { kind, chips, rows: map.rowLabels, cols: map.colLabels };
    }
    // The leading-space marker of each scheme is drawn the page's way, never raw.
    assert.ok(want['glassbox-gpt2'].chips.some((c) => c.startsWith('·')), `byte-level spaces as ·: ${want['glassbox-gpt2'].chips}`);
    assert.ok(!want['glassbox-gpt2'].chips.some((c) => c.includes('Ġ')), 'no raw Ġ on the page');
    assert.ok(want['glassbox-bert'].chips.includes('[CLS]'), 'WordPiece specials kept');
    assert.ok(!want['glassbox-translator'].chips.some((c) => c.includes('▁')), 'no raw ▁ on the page');

    const widgets = Object.entries(TEXTS).map(([name, text]) => `
      <glassbox-tokens id="t-${name}" model="${name}" text="${text}"></glassbox-tokens>
      <glassbox-attention id="a-${name}" model="${name}" text="${text}" kind="${want[name].kind}" layer="1" head="mean"></glassbox-attention>`).join('');
    await context.route('**/__labels-host.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: `<!doctype html>
<html><head><meta charset="utf-8"><title>labels</title><script type="module" src="/glassbox-widgets.js"></script></head>
<body>${widgets}</body></html>` }));
    const host = await context.newPage();
    await host.goto(`${setup.server.url}__labels-host.html`);
    const all = Object.keys(TEXTS).flatMap((n) => [`#t-${n}`, `#a-${n}`]).join(', ');
    await host.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((e) => e.dataset.status === 'ready'), all, WAIT);
    for (const name of Object.keys(TEXTS)) {
      const chips = await host.$$eval(`#t-${name} .chip .piece`, (els) => els.map((e) => e.textContent));
      assert.deepEqual(chips, want[name].chips, `${name}: <glassbox-tokens> chips`);
      await waitPainted(host, `#a-${name} canvas.heatmap-canvas`);
      // Read with the widget map's own keyboard read-out, as on the page (the selector pierces the shadow root).
      const shown = await readHeatmap(host, `#a-${name} .heatmap`);
      assert.equal(shown.nCols, want[name].cols.length, `${name}: <glassbox-attention> columns`);
      assert.deepEqual(shown.colLabels, want[name].cols, `${name}: <glassbox-attention> key labels`);
      assert.deepEqual(shown.rowLabels, want[name].rows, `${name}: <glassbox-attention> query labels`);
    }
    await context.close();
  });
});

describe('pixels: the page and the CLI draw the same map', () => {
  it('the page\'s canvas equals `glassbox plot` for one head and for the mean of heads', async () => {
    const { context, page } = await openPage();
    const model = setup.models.models.find((m) => m.name === 'glassbox-gpt2');
    await pickModel(page, model.name);
    const text = TEXTS['glassbox-gpt2'];
    await typeAndRun(page, text);
    for (const [layer, head] of [[1, 0], [0, 'mean']]) {
      await showAttention(page, 'decoder', layer, head);
      const canvas = await waitPainted(page, '#heatmap canvas.heatmap-canvas');
      const { cellPx, originX, originY } = await canvas.evaluate((c) => ({ ...c.dataset }));
      const out = path.join(setup.tmp, `plot-${layer}-${head}.png`);
      // The page's selects hold indexes from 0; the CLI counts layers and heads from 1, as the page shows them.
      const cli = spawnSync(CLI, ['plot', model.dir, '--text', text, '--kind', 'decoder', '--layer', String(layer + 1),
        '--head', head === 'mean' ? 'mean' : String(head + 1), '--cell', cellPx, '--out', out], { encoding: 'utf8' });
      assert.equal(cli.status, 0, `glassbox plot failed: ${cli.stderr}`);
      const { width, height } = JSON.parse(cli.stdout);
      const png = `data:image/png;base64,${fs.readFileSync(out).toString('base64')}`;
      const diff = await canvas.evaluate(async (c, { png, x, y, width, height }) => {
        const img = new Image();
        img.src = png;
        await img.decode();
        const ref = new OffscreenCanvas(width, height).getContext('2d');
        ref.drawImage(img, 0, 0);
        const want = ref.getImageData(0, 0, width, height).data;
        const got = c.getContext('2d').getImageData(x, y, width, height).data;
        let differing = 0;
        let first = null;
        for (let i = 0; i < want.length; i += 4) {
          if (want[i] !== got[i] || want[i + 1] !== got[i + 1] || want[i + 2] !== got[i + 2] || want[i + 3] !== got[i + 3]) {
            differing++;
            first ??= { x: (i / 4) % width, y: Math.floor(i / 4 / width), want: [...want.slice(i, i + 4)], got: [...got.slice(i, i + 4)] };
          }
        }
        return { differing, first, pixels: want.length / 4 };
      }, { png, x: Number(originX), y: Number(originY), width, height });
      assert.ok(diff.pixels > 1000, `the map has ${diff.pixels} pixels`);
      assert.equal(diff.differing, 0, `layer ${layer} head ${head}: ${diff.differing} of ${diff.pixels} pixels differ, first ${JSON.stringify(diff.first)}`);
    }
    await context.close();
  });
});

describe('drawing speed (figures, not assertions)', () => {
  it('a 1024 x 1024 map and every head of a 12 x 12 model draw without freezing the page', async (t) => {
    const { context, page } = await openPage();
    const figures = await page.evaluate(async () => {
      const { Glassbox } = await import('/glassbox.js');
      const { renderHeatmap } = await import('/views/heatmap.js');
      const gb = await Glassbox.create();
      const longTasks = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push(e.duration); })
        .observe({ type: 'longtask', buffered: false });
      // Heartbeat: the longest gap between animation frames while drawing (a frozen page has long gaps).
      let last = performance.now();
      let worstGap = 0;
      let beating = true;
      const beat = () => {
        const now = performance.now();
        worstGap = Math.max(worstGap, now - last);
        last = now;
        if (beating) requestAnimationFrame(beat);
      };
      requestAnimationFrame(beat);
      const painted = (root) => new Promise((resolve) => {
        const c = root.querySelector('canvas.heatmap-canvas');
        const check = () => (c.dataset.painted === 'false' ? requestAnimationFrame(check) : resolve(c.dataset.painted));
        check();
      });
      const random = (n, rows, cols) => {
        const v = new Float32Array(n);
        for (let i = 0; i < n; i++) v[i] = Math.random() ** 4;
        return v;
      };
      const raster = (values, options) => gb.drawMap(values, options);
      const host = document.createElement('div');
      host.style.width = '1100px';
      document.body.append(host);

      // 1. One 1024 x 1024 map through the page's heatmap view.
      const n = 1024;
      const big = document.createElement('div');
      big.className = 'heatmap';
      host.append(big);
      const labels = Array.from({ length: n }, (_, i) => `t${i}`);
      let t0 = performance.now();
      renderHeatmap(big, { values: random(n * n), nRows: n, nCols: n, rowLabels: labels, colLabels: labels, causal: true,
        title: 'big', raster });
      const syncMs = performance.now() - t0;
      const bigState = await painted(big);
      const bigMs = performance.now() - t0;
      const bigCanvas = big.querySelector('canvas.heatmap-canvas');
      // The worker's own share: rasterise + put on its OffscreenCanvas + hand over (no page drawing).
      t0 = performance.now();
      const bitmap = await gb.drawMap(random(n * n), { rows: n, cols: n, cellPx: Number(bigCanvas.dataset.cellPx), causal: true });
      const workerMs = performance.now() - t0;
      bitmap.close?.();
      const bigLong = [...longTasks];
      longTasks.length = 0;

      // 2. A grid of every head of a 12 x 12 model (144 maps of 24 x 24 tokens), each a heatmap view.
      const T = 24;
      const grid = document.createElement('div');
      grid.style.display = 'grid';
      grid.style.gridTemplateColumns = 'repeat(12, 1fr)';
      host.append(grid);
      const small = Array.from({ length: T }, (_, i) => `w${i}`);
      const roots = [];
      t0 = performance.now();
      for (let h = 0; h < 144; h++) {
        const root = document.createElement('div');
        root.className = 'heatmap';
        grid.append(root);
        roots.push(root);
        renderHeatmap(root, { values: random(T * T), nRows: T, nCols: T, rowLabels: small, colLabels: small, causal: true,
          title: `head ${h}`, raster });
      }
      const gridSyncMs = performance.now() - t0;
      const gridStates = await Promise.all(roots.map(painted));
      const gridMs = performance.now() - t0;
      const gridLong = [...longTasks];
      longTasks.length = 0;

      // 3. The same 144 maps as one bitmap (drawMap with maps/columns), placed with one drawImage.
      const heads = random(144 * T * T);
      t0 = performance.now();
      const sheet = await gb.drawMap(heads, { rows: T, cols: T, cellPx: 6, causal: true, maps: 144, columns: 12, gapPx: 6 });
      const one = document.createElement('canvas');
      one.width = sheet.width;
      one.height = sheet.height;
      one.getContext('2d').drawImage(sheet, 0, 0);
      const sheetMs = performance.now() - t0;
      const sheetLong = [...longTasks];
      beating = false;
      gb.terminate();
      const sum = (a) => Math.round(a.reduce((s, x) => s + x, 0));
      return {
        big: { cells: n * n, canvas: `${bigCanvas.width}x${bigCanvas.height}`, cellPx: Number(bigCanvas.dataset.cellPx),
          state: bigState, mainThreadSyncMs: Math.round(syncMs), untilPaintedMs: Math.round(bigMs), workerRoundTripMs: Math.round(workerMs),
          longTasks: bigLong.length, longTaskMs: sum(bigLong), longestTaskMs: Math.round(Math.max(0, ...bigLong)) },
        grid: { maps: 144, tokens: T, states: [...new Set(gridStates)], mainThreadSyncMs: Math.round(gridSyncMs),
          untilPaintedMs: Math.round(gridMs), longTasks: gridLong.length, longTaskMs: sum(gridLong),
          longestTaskMs: Math.round(Math.max(0, ...gridLong)) },
        sheet: { maps: 144, tokens: T, bitmap: `${one.width}x${one.height}`, untilDrawnMs: Math.round(sheetMs),
          longTasks: sheetLong.length, longestTaskMs: Math.round(Math.max(0, ...sheetLong)) },
        worstFrameGapMs: Math.round(worstGap),
      };
    });
    t.diagnostic(`drawing figures: ${JSON.stringify(figures)}`);
    console.log(`# drawing figures: ${JSON.stringify(figures)}`);
    assert.equal(figures.big.state, 'true', 'the 1024 x 1024 map was drawn');
    assert.deepEqual(figures.grid.states, ['true'], 'every head of the grid was drawn');
    await context.close();
  });
});

describe('long inputs: a sharp map with thinned labels', () => {
  it('hundreds of tokens draw smaller cells at full density, label every k-th token and say so', async () => {
    const { context, page } = await openPage();
    const drawn = await page.evaluate(async () => {
      const { Glassbox } = await import('/glassbox.js');
      const { renderHeatmap } = await import('/views/heatmap.js');
      const gb = await Glassbox.create();
      const host = document.createElement('div');
      host.style.width = '900px';
      document.body.append(host);
      const draw = async (n) => {
        const root = document.createElement('div');
        root.className = 'heatmap';
        host.append(root);
        const labels = Array.from({ length: n }, (_, i) => `w${i}`);
        const values = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000);
        renderHeatmap(root, { values, nRows: n, nCols: n, rowLabels: labels, colLabels: labels, title: `${n} tokens`,
          raster: (v, o) => gb.drawMap(v, o) });
        const canvas = root.querySelector('canvas.heatmap-canvas');
        while (canvas.dataset.painted !== 'true') await new Promise((r) => requestAnimationFrame(r));
        const hint = root.querySelector('.scroll-hint');
        return { n, density: canvas.width / parseFloat(canvas.style.width), cellPx: Number(canvas.dataset.cellPx),
          backing: canvas.width * canvas.height, hint: hint.hidden ? '' : hint.textContent };
      };
      const out = [await draw(40), await draw(600), await draw(980)];
      gb.terminate();
      return out;
    });
    const [short, ...long] = drawn;
    assert.ok(!/labelled/.test(short.hint), `40 tokens label every token: ${short.hint}`);
    for (const d of long) {
      // Before: the cells stayed 16 px and the whole canvas was drawn at a quarter density (labels a grey blur).
      assert.ok(d.density >= 1, `${d.n} tokens: drawn at ${d.density.toFixed(2)} device pixels per CSS pixel`);
      assert.ok(d.backing <= 16e6, `${d.n} tokens: backing store ${d.backing} pixels stays in the budget`);
      assert.ok(d.cellPx >= 2 && d.cellPx < 16, `${d.n} tokens: cells of ${d.cellPx} px`);
      const every = Math.ceil(14 / d.cellPx);
      assert.match(d.hint, new RegExp(`every ${every}(st|nd|rd|th) token is labelled: point at a cell`), `${d.n} tokens`);
    }
    await context.close();
  });
});

// <glassbox-rnn> and <glassbox-transfer> used as a reader would, in headless Chromium: driven by keyboard,
// their numbers checked against the native CLI (`glassbox rnn`, `glassbox transfer`: the same Rust, compiled
// natively), axe-clean, and usable at 390 px.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, launchBrowser, newWatchedPage, foreignRequests, modelsUnderTest, axeViolations, CLI, ROOT } from './helpers.mjs';

const WAIT = { timeout: 180000 };
const setup = {};

before(async () => {
  setup.models = await modelsUnderTest();
  setup.bert = setup.models.models.find((m) => m.name === 'glassbox-bert');
  assert.ok(setup.bert, 'the bundled glassbox-bert is needed');
  setup.server = await startServer(setup.models.root);
  setup.browser = await launchBrowser();
});

after(async () => {
  await setup.browser?.close();
  await setup.server?.stop();
});

function cli(args) {
  const out = spawnSync(CLI, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (out.status !== 0) throw new Error(`glassbox ${args.join(' ')} failed (${out.status}): ${out.stderr}`);
  return JSON.parse(out.stdout);
}

async function hostPage(context, name, body) {
  await context.route(`**/${name}`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>learn</title><meta name="viewport" content="width=device-width">
<script type="module" src="/glassbox-widgets.js"></script></head><body><main>${body}</main></body></html>` }));
  return `${setup.server.url}${name}`;
}

const ready = (page, sel) => page.waitForFunction((s) => ['ready', 'error'].includes(document.querySelector(s)?.dataset.status), sel, WAIT);

function assertRelClose(a, b, tol, what) {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(Math.abs(b[i]), 1e-30), `${what}[${i}]: page ${a[i]}, CLI ${b[i]}`);
  }
}

describe('<glassbox-rnn>', () => {
  it('draws only the models its latest attributes name when several change at once (a lesson step sets several)', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = await hostPage(context, '__rnn-steps.html',
      '<glassbox-rnn id="r" cell="rnn" length="12" weight-scale="3" clip="1" optimizer="sgd" steps="20" seed="1" autorun></glassbox-rnn>');
    await page.goto(url);
    await ready(page, '#r');
    await page.waitForFunction(() => document.querySelector('#r').results.rnn?.latest.step === 20, null, WAIT);
    // The tutorial's move from its clipping step to its LSTM step: the old settings go first, then the new cell.
    await page.$eval('#r', (e) => {
      e.removeAttribute('clip');
      e.removeAttribute('optimizer');
      e.removeAttribute('weight-scale');
      e.setAttribute('cell', 'lstm');
    });
    await page.waitForFunction(() => {
      const e = document.querySelector('#r');
      return e.dataset.status === 'ready' && e.results.lstm?.latest.step === 20;
    }, null, WAIT);
    // Let any training the earlier attribute changes started finish too.
    await page.waitForTimeout(1500);
    const shown = await page.$eval('#r', (e) => ({
      results: Object.keys(e.results),
      summary: [...e.shadowRoot.querySelectorAll('.gb-rnn-summary [data-cell]')].map((p) => p.dataset.cell),
      lines: e.shadowRoot.querySelectorAll('figure[data-control="norms"] path.line').length,
    }));
    assert.deepEqual(shown, { results: ['lstm'], summary: ['lstm'], lines: 1 }, 'no untrained RNN left beside the LSTM');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('shows the gradient reaching each step and trains by keyboard, with the CLI\'s numbers', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = await hostPage(context, '__rnn.html',
      '<glassbox-rnn id="r" cell="all" length="12" weight-scale="0.5" steps="60" seed="3"></glassbox-rnn>');
    await page.goto(url);
    await ready(page, '#r');
    const status = await page.$eval('#r', (e) => [e.dataset.status, e.shadowRoot.querySelector('.error').textContent]);
    assert.deepEqual(status, ['ready', '']);
    // Untrained: the gradient per step, as `glassbox rnn --steps 0` measures it.
    const initial = await page.$eval('#r', (e) => Object.fromEntries(Object.entries(e.results).map(([c, r]) => [c, Array.from(r.initial.stepNorms)])));
    assert.deepEqual(Object.keys(initial).sort(), ['attention', 'lstm', 'rnn']);
    for (const cell of ['rnn', 'lstm', 'attention']) {
      const ref = cli(['rnn', '--cell', cell, '--length', '12', '--weight-scale', '0.5', '--seed', '3', '--steps', '0']).evaluations[0].stepNorms;
      assertRelClose(initial[cell], ref, 1e-5, `${cell} step norms`);
    }
    // Vanishing with weight scale 0.5: the RNN's first step gets far less than the LSTM's.
    assert.ok(initial.rnn[0] / initial.rnn[11] < 0.01 * (initial.lstm[0] / initial.lstm[11]));
    const paths = await page.$eval('#r', (e) => e.shadowRoot.querySelectorAll('figure[data-control="norms"] path.line').length);
    assert.equal(paths, 3, 'one gradient line per model');

    // Keyboard: Tab from the seed box to Train, Enter.
    await page.focus('#r input[type="number"] >> nth=3');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.querySelector('#r').shadowRoot.activeElement?.dataset.action), 'train');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => {
      const e = document.querySelector('#r');
      return e.dataset.status === 'ready' && e.results.rnn?.latest.step === 60;
    }, null, WAIT);
    const trained = await page.$eval('#r', (e) => Object.fromEntries(Object.entries(e.results).map(([c, r]) => [c, { accuracy: r.latest.accuracy, loss: r.latest.loss, curve: r.curve.length }])));
    for (const cell of ['rnn', 'lstm', 'attention']) {
      const ref = cli(['rnn', '--cell', cell, '--length', '12', '--weight-scale', '0.5', '--seed', '3', '--steps', '60']).evaluations.at(-1);
      assert.ok(Math.abs(trained[cell].accuracy - ref.accuracy) <= 0.01, `${cell}: page accuracy ${trained[cell].accuracy}, CLI ${ref.accuracy}`);
      assert.ok(Math.abs(trained[cell].loss - ref.loss) <= 1e-3 * Math.max(1, ref.loss), `${cell}: page loss ${trained[cell].loss}, CLI ${ref.loss}`);
      assert.equal(trained[cell].curve, 1 + 60 / 20, `${cell}: a point per chunk of 20 steps`);
    }
    const summary = await page.$eval('#r', (e) => e.shadowRoot.querySelector('.gb-rnn-summary').textContent);
    assert.match(summary, /LSTM: accuracy/);
    // The LSTM's cell update names every symbol it uses (f, i, g and ⊙ were once left to the reader).
    const prose = await page.$eval('#r', (e) => e.shadowRoot.querySelector('.gb-rnn-text').textContent);
    assert.match(prose, /c_t = f ⊙ c_\(t−1\) \+ i ⊙ g, where f \(the forget gate\)[^.]*g is new content[^.]*i \(the input gate\)[^.]*⊙ multiplies/);

    // A control changes the attribute (state in attributes) and the view follows.
    await page.fill('#r input[type="number"] >> nth=0', '8');
    await page.keyboard.press('Tab');
    assert.equal(await page.$eval('#r', (e) => e.getAttribute('length')), '8');
    await page.waitForFunction(() => document.querySelector('#r').results.rnn?.initial.stepNorms.length === 8, null, WAIT);

    const axe = await axeViolations(page, ['#r']);
    assert.deepEqual(axe.serious, [], axe.serious.join('\n'));
    assert.deepEqual(foreignRequests(watch.requests), []);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('plots the accuracy as N grows, as the CLI trains it, at 390 px', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser, { viewport: { width: 390, height: 800 } });
    const url = await hostPage(context, '__rnn-sweep.html', '<glassbox-rnn id="s" cell="attention" weight-scale="1" seed="2"></glassbox-rnn>');
    await page.goto(url);
    await ready(page, '#s');
    await page.click('#s button[data-action="sweep"]');
    await page.waitForFunction(() => {
      const e = document.querySelector('#s');
      return e.dataset.status === 'ready' && e.sweep?.accuracy.attention?.length === 4;
    }, null, WAIT);
    const sweep = await page.$eval('#s', (e) => ({ lengths: e.sweep.lengths, steps: e.sweep.steps, acc: e.sweep.accuracy.attention }));
    sweep.lengths.forEach((n, i) => {
      const ref = cli(['rnn', '--cell', 'attention', '--length', String(n), '--weight-scale', '1', '--seed', '2', '--steps', String(sweep.steps)]).evaluations.at(-1);
      assert.ok(Math.abs(sweep.acc[i] - ref.accuracy) <= 0.01, `N ${n}: page ${sweep.acc[i]}, CLI ${ref.accuracy}`);
    });
    const overflow = await page.$eval('#s', (e) => e.shadowRoot.querySelector('.gb-widget').scrollWidth - e.shadowRoot.querySelector('.gb-widget').clientWidth);
    assert.ok(overflow <= 1, `the widget is ${overflow} px wider than a 390 px screen`);
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 390), true, 'no sideways scrolling at 390 px');
    const axe = await axeViolations(page, ['#s']);
    assert.deepEqual(axe.serious, [], axe.serious.join('\n'));
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('<glassbox-transfer>', () => {
  it('compares the pretrained model with its random twin and fits the classifier as the CLI does', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = await hostPage(context, '__transfer.html', '<glassbox-transfer id="t" random-seed="7"></glassbox-transfer>');
    await page.goto(url);
    await ready(page, '#t');
    assert.equal(await page.$eval('#t', (e) => e.shadowRoot.querySelector('.error').textContent), '');
    const fit = await page.$eval('#t', (e) => ({
      pre: { acc: e.fit.pretrained.testAccuracy, train: e.fit.pretrained.trainAccuracy, pred: Array.from(e.fit.pretrained.testPredictions) },
      rnd: { acc: e.fit.random.testAccuracy, train: e.fit.random.trainAccuracy, pred: Array.from(e.fit.random.testPredictions) },
    }));
    const data = path.join(ROOT, 'www/data/transfer-sentences.json');
    const pre = cli(['transfer', setup.bert.dir, '--data', data]);
    const rnd = cli(['transfer', setup.bert.dir, '--data', data, '--random-weights', '7']);
    assert.deepEqual(fit.pre.pred, pre.testPredictions, 'pretrained predictions as the CLI');
    assert.deepEqual(fit.rnd.pred, rnd.testPredictions, 'random-twin predictions as the CLI');
    assert.equal(fit.pre.acc, pre.testAccuracy);
    assert.equal(fit.rnd.acc, rnd.testAccuracy);
    assert.ok(fit.pre.acc >= fit.rnd.acc + 0.2, `pretrained ${fit.pre.acc} vs random ${fit.rnd.acc}`);
    // The table shows the same figures.
    const cells = await page.$$eval('#t td[data-held-out]', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(cells, [`${Math.round(100 * pre.testAccuracy)}%`, `${Math.round(100 * rnd.testAccuracy)}%`]);
    // Both sides drew an attention map and predictions for the [MASK].
    for (const side of ['pretrained', 'random']) {
      const [maps, candidates] = await page.$eval('#t', (e, s) => [`[data-side="${s}"] canvas`, `[data-side="${s}"] li.candidate`]
        .map((sel) => e.shadowRoot.querySelectorAll(sel).length), side);
      assert.ok(maps >= 1 && candidates >= 5, `${side}: ${maps} maps, ${candidates} candidates`);
    }
    // Typing a new sentence (keyboard) re-runs both sides; the fit is kept.
    const before = await page.$eval('#t', (e) => e.shadowRoot.querySelector('[data-side="pretrained"] .predictions').textContent);
    await page.focus('#t textarea');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('The teacher opened the [MASK] and smiled.');
    await page.waitForFunction((b) => {
      const e = document.querySelector('#t');
      return e.dataset.status === 'ready' && e.shadowRoot.querySelector('[data-side="pretrained"] .predictions').textContent !== b;
    }, before, WAIT);
    const axe = await axeViolations(page, ['#t']);
    assert.deepEqual(axe.serious, [], axe.serious.join('\n'));
    assert.deepEqual(foreignRequests(watch.requests), []);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

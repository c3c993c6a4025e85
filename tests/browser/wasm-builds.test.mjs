// Which wasm build the page runs. Chromium has relaxed SIMD (the tests ask the engine), so the worker loads
// pkg/glassbox_relaxed_bg.wasm (the kernels' multiply-adds fused) and never fetches glassbox_bg.wasm (an engine without
// relaxed SIMD: the other way round); where the relaxed file cannot be had (a copy of
// pkg/ without it: here the server answers 404), the worker falls back to the SIMD128 build and the page works the
// same. Both builds' attention maps equal the native CLI's (which equal transformers') within 1e-5.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/wasm-builds.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPage, closePage, newWatchedPage, cliInspect, engineHasRelaxedSimd, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/gpt2');
const TEXT = 'The dog chased the cat across the garden';
const setup = {};

before(async () => {
  Object.assign(setup, await openPage({ extraModels: { 'zz-builds-gpt2': FIXTURE }, openPage: false }));
});

after(() => closePage(setup));

/** The page with the server's relaxed build refused or not; its own worker started, then the API's run of the fixture. */
async function runOnPage({ refuseRelaxed }) {
  const { context, page, watch } = await newWatchedPage(setup.browser.browser);
  if (refuseRelaxed) await context.route('**/pkg/glassbox_relaxed_bg.wasm', (route) => route.fulfill({ status: 404, body: 'not here' }));
  await page.goto(setup.server.url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
  const relaxedEngine = await engineHasRelaxedSimd(page);
  const got = await page.evaluate(async (text) => {
    const { Glassbox } = await import('./glassbox.js');
    const gb = await Glassbox.create();
    const model = await gb.loadModel({ baseUrl: 'models/zz-builds-gpt2/', files: ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'] });
    const run = await model.run(text);
    const out = { build: gb.build, shape: run.attentions.decoder.shape, data: Array.from(run.attentions.decoder.data) };
    gb.terminate();
    return out;
  }, TEXT);
  await context.close();
  return { ...got, relaxedEngine, requests: watch.requests, errors: watch.errors };
}

function assertCliAttention(got) {
  const want = cliInspect(FIXTURE, TEXT).attentions.decoder; // [L][H][T][T]
  const [L, H, T] = got.shape;
  assert.deepEqual([want.length, want[0].length, want[0][0].length], [L, H, T]);
  let worst = 0;
  for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) {
    worst = Math.max(worst, Math.abs(got.data[((l * H + h) * T + i) * T + j] - want[l][h][i][j]));
  }
  assert.ok(worst <= 1e-5, `attention differs from the CLI's by ${worst}`);
}

describe('the wasm build the page runs', () => {
  it('the build the engine can run (Chromium 156: relaxed SIMD), never the other file, and the CLI\'s attention', async () => {
    const got = await runOnPage({ refuseRelaxed: false });
    const [want, other] = got.relaxedEngine ? ['/pkg/glassbox_relaxed_bg.wasm', '/pkg/glassbox_bg.wasm'] : ['/pkg/glassbox_bg.wasm', '/pkg/glassbox_relaxed_bg.wasm'];
    assert.deepEqual([got.build.simd128, got.build.relaxed_simd], [true, got.relaxedEngine]);
    const wasm = got.requests.filter((u) => u.endsWith('.wasm')).map((u) => new URL(u).pathname);
    assert.ok(wasm.includes(want), `wasm requests: ${wasm}`);
    assert.ok(!wasm.includes(other), `the other build was fetched too: ${wasm}`);
    assert.deepEqual(got.errors, []);
    assertCliAttention(got);
  });

  it('without the relaxed file: the SIMD128 build, the page ready, the same attention', async () => {
    const got = await runOnPage({ refuseRelaxed: true });
    assert.deepEqual([got.build.simd128, got.build.relaxed_simd], [true, false]);
    const wasm = got.requests.filter((u) => u.endsWith('.wasm')).map((u) => new URL(u).pathname);
    assert.ok(wasm.includes('/pkg/glassbox_bg.wasm'), `wasm requests: ${wasm}`);
    // The refused file is the only failure (the 404 itself and the browser's console line about it).
    assert.deepEqual(got.errors.filter((e) => !e.includes('glassbox_relaxed_bg.wasm') && !/404/.test(e)), []);
    assertCliAttention(got);
  });
});

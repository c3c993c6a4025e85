// The npm packages, as an author would meet them: scripts/package.mjs builds and packs `glassbox` and
// `glassbox-models`; a fresh Vite project installs the two tarballs offline (no registry), takes its files from
// docs/widgets.md's npm examples as written, runs `vite build` (the root's vite, a devDependency), and its dist/
// is served by a plain static server. In Chromium the widgets draw and the JS API runs, with no request beyond
// that server; the tokens widget cuts its text with GPT-2's real tokenizer from glassbox-models too (the docs
// import it; models/tokenizers/ is written by scripts/setup.sh). Prints how long each step took (the CI cost).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchBrowser, newWatchedPage, freePort, ROOT } from './helpers.mjs';
import { docExamples, docExample } from '../package/doc-examples.mjs';
import { serveStatic } from '../package/static-server.mjs';

const WAIT = { timeout: 120000 };
const VITE = path.join(ROOT, 'node_modules/vite/bin/vite.js');
const setup = { timings: {} };
const REAL = path.join(ROOT, 'models/tokenizers');
// GPT-2's real cut of the docs' text (glassbox tokenize models/tokenizers/gpt2 --text "Hello world, said the tokenizer.").
const GPT2_CUT = ['Hello', 'Ġworld', ',', 'Ġsaid', 'Ġthe', 'Ġtoken', 'izer', '.'];

/** The raw tokens of one column of a <glassbox-tokens>'s real-tokenizer comparison, once it has chips. */
async function widgetColumn(page, name) {
  await page.waitForFunction((n) => document.querySelector('glassbox-tokens')?.shadowRoot
    ?.querySelectorAll(`.tokenizer-column[data-name="${n}"] .chip`).length > 0, name, WAIT);
  return page.$eval('glassbox-tokens', (el, n) => {
    const col = el.shadowRoot.querySelector(`.tokenizer-column[data-name="${n}"]`);
    return {
      tokens: [...col.querySelectorAll('.chip')].map((c) => JSON.parse(c.title.split(' · ')[0])),
      heading: col.querySelector('.tokenizer-heading').textContent,
      licence: el.shadowRoot.querySelector('.tokenizer-credit a')?.href ?? null,
      text: el.shadowRoot.textContent,
    };
  }, name);
}

function run(what, cmd, args, cwd) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  setup.timings[what] = Math.round(performance.now() - t0);
  assert.equal(r.status, 0, `${what} failed (${cmd} ${args.join(' ')}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  assert.ok(fs.existsSync(VITE), 'vite is missing: run npm ci (it is a devDependency of the root package.json)');
  setup.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-package-'));
  process.once('exit', () => fs.rmSync(setup.tmp, { recursive: true, force: true }));

  // 1. Build and pack (npm pack) both packages.
  const t0 = performance.now();
  const { buildPackages } = await import(pathToFileURL(path.join(ROOT, 'scripts/package.mjs')).href);
  setup.built = await buildPackages({ out: path.join(setup.tmp, 'npm'), models: path.join(ROOT, 'models'), pack: true });
  setup.timings['package.mjs + npm pack'] = Math.round(performance.now() - t0);
  assert.deepEqual(setup.built.models.tokenizers, ['bert-base-uncased', 'gpt2'],
    'glassbox-models carries the real tokenizers (models/tokenizers/ is made by scripts/setup.sh --minilm)');

  // 2. A fresh Vite project from the docs' examples.
  const site = path.join(setup.tmp, 'site');
  fs.mkdirSync(path.join(site, 'src'), { recursive: true });
  const docs = docExamples(path.join(ROOT, 'docs/widgets.md'));
  setup.docs = docs;
  fs.writeFileSync(path.join(site, 'package.json'), `${JSON.stringify({ name: 'my-blog', private: true, type: 'module' }, null, 2)}\n`);
  fs.writeFileSync(path.join(site, 'index.html'), docExample(docs, 'npm-html').code);
  fs.writeFileSync(path.join(site, 'src/main.js'), docExample(docs, 'npm-main').code);
  fs.writeFileSync(path.join(site, 'src/api.js'), docExample(docs, 'npm-api').code);
  // A second page for the API example (the test's own; the docs show the module only).
  fs.writeFileSync(path.join(site, 'api.html'), '<!doctype html>\n<title>API</title>\n<script type="module" src="/src/api.js"></script>\n');
  // A site has an icon (Vite's dev server answers 404 for a missing one, which would be a console error).
  fs.mkdirSync(path.join(site, 'public'));
  fs.writeFileSync(path.join(site, 'public/favicon.ico'), '');
  fs.writeFileSync(path.join(site, 'vite.config.js'),
    "export default { build: { rollupOptions: { input: { main: 'index.html', api: 'api.html' } } } };\n");
  const install = docExample(docs, 'npm-install').code;
  for (const name of ['glassbox', 'glassbox-models']) assert.match(install, new RegExp(`npm install ${name}\\b`));

  // 3. Install the tarballs offline (as `npm install glassbox glassbox-models` would from the registry).
  run('npm install (offline, tarballs)', 'npm', ['install', '--offline', '--no-audit', '--no-fund', '--cache', path.join(setup.tmp, 'npm-cache'),
    setup.built.core.tarball.file, setup.built.models.tarball.file], site);
  // 4. Build with the root's vite.
  setup.buildLog = run('vite build', process.execPath, [VITE, 'build', '--logLevel', 'warn'], site);
  setup.site = site;
  setup.server = await serveStatic(path.join(site, 'dist'));
  setup.browser = await launchBrowser();
});

after(async () => {
  if (setup.dev && setup.dev.exitCode === null) {
    const exited = new Promise((resolve) => setup.dev.once('exit', resolve));
    setup.dev.kill();
    await exited;
  }
  await setup.browser?.close();
  await setup.server?.stop();
  const { core, models } = setup.built ?? {};
  if (core?.tarball) {
    const mb = (n) => (n / 1048576).toFixed(2);
    console.log(`# package sizes: glassbox ${mb(core.tarball.bytes)} MB packed / ${mb(core.tarball.unpacked)} MB unpacked; `
      + `glassbox-models ${mb(models.tarball.bytes)} MB packed / ${mb(models.tarball.unpacked)} MB unpacked`);
  }
  console.log(`# package test timings (ms): ${JSON.stringify(setup.timings)}`);
});

describe('the npm packages in a fresh Vite project', () => {
  it('the core package is small and holds the API, the elements, their types, the worker and the wasm; the models are apart', () => {
    const core = path.join(setup.site, 'node_modules/glassbox');
    const pkg = JSON.parse(fs.readFileSync(path.join(core, 'package.json'), 'utf8'));
    assert.equal(pkg.exports['.'].default, './lib/glassbox.js');
    assert.equal(pkg.exports['./elements'].default, './lib/glassbox-widgets.js');
    for (const f of ['lib/glassbox.d.ts', 'lib/elements.d.ts', 'lib/worker.js', 'lib/style.css', 'lib/elements/base.js', 'pkg/glassbox_bg.wasm', 'README.md']) {
      assert.ok(fs.existsSync(path.join(core, f)), `glassbox has ${f}`);
    }
    // Every element file of www/elements/ is in the package, and declared for TypeScript.
    const dts = fs.readFileSync(path.join(core, 'lib/elements.d.ts'), 'utf8');
    for (const f of fs.readdirSync(path.join(ROOT, 'www/elements'))) assert.ok(fs.existsSync(path.join(core, 'lib/elements', f)), `elements/${f}`);
    for (const m of fs.readFileSync(path.join(ROOT, 'www/glassbox-widgets.js'), 'utf8').matchAll(/define\('(glassbox-[a-z-]+)'/g)) {
      assert.ok(dts.includes(`'${m[1]}': GlassboxWidget`), `elements.d.ts declares <${m[1]}>`);
    }
    const files = fs.readdirSync(core, { recursive: true });
    assert.ok(!files.some((f) => f.endsWith('.safetensors')), 'no model weights in the core package');
    assert.equal(pkg.dependencies, undefined, 'the core depends on nothing (glassbox-models is optional)');
    assert.ok(setup.built.core.tarball.bytes < 1.5 * 1048576, `core tarball ${setup.built.core.tarball.bytes} B`);
    assert.match(fs.readFileSync(path.join(core, 'README.md'), 'utf8'), /npm publish/, 'the README says how to publish');
  });

  it('the TypeScript declarations parse (syntax, with the oxc parser that ships with vite)', async () => {
    const { transformWithOxc } = await import(pathToFileURL(path.join(ROOT, 'node_modules/vite/dist/node/index.js')).href);
    const modules = path.join(setup.site, 'node_modules');
    for (const f of ['glassbox/lib/glassbox.d.ts', 'glassbox/lib/elements.d.ts', 'glassbox-models/index.d.ts', 'glassbox-models/model.d.ts',
      'glassbox-models/tokenizer.d.ts', 'glassbox-models/tokenizers/index.d.ts']) {
      await transformWithOxc(fs.readFileSync(path.join(modules, f), 'utf8'), f, { lang: 'ts' });
    }
    const models = JSON.parse(fs.readFileSync(path.join(modules, 'glassbox-models/package.json'), 'utf8'));
    assert.equal(models.exports['./glassbox-gpt2'].types, './model.d.ts');
    assert.equal(models.exports['./tokenizers/gpt2'].types, './tokenizer.d.ts');
    assert.match(fs.readFileSync(path.join(modules, 'glassbox/lib/elements.d.ts'), 'utf8'), /tokenizers\?: PackagedTokenizer\[\]/);
  });

  it('vite build copies the worker, the wasm, the stylesheet and the model files', () => {
    const assets = fs.readdirSync(path.join(setup.site, 'dist/assets'));
    for (const re of [/^worker-.*\.js$/, /^glassbox_bg-.*\.wasm$/, /^glassbox-.*\.js$/, /^style-.*\.css$/, /\.safetensors$/]) {
      assert.ok(assets.some((f) => re.test(f)), `dist/assets has ${re}: ${assets.join(', ')}`);
    }
    assert.doesNotMatch(setup.buildLog, /doesn't exist at build time/, 'every new URL(…, import.meta.url) resolved');
    // The docs import one model: only its weights are copied (the others stay in node_modules).
    const weights = assets.filter((f) => f.endsWith('.safetensors'));
    assert.equal(weights.length, 1, `one model's weights in dist/: ${weights}`);
    // And one real tokenizer: GPT-2's tokenizer.json and its licence, not BERT uncased's.
    const same = (file) => {
      const want = fs.readFileSync(file);
      return assets.filter((f) => fs.statSync(path.join(setup.site, 'dist/assets', f)).size === want.length
        && fs.readFileSync(path.join(setup.site, 'dist/assets', f)).equals(want));
    };
    assert.equal(same(path.join(REAL, 'gpt2/tokenizer.json')).length, 1, 'GPT-2\'s real tokenizer.json is in dist/assets');
    // Its LICENSE.md travels with it: an asset, or (Vite, under 4 kB) inlined as a data: URL in the code.
    const licence = fs.readFileSync(path.join(REAL, 'gpt2/LICENSE.md'));
    assert.ok(same(path.join(REAL, 'gpt2/LICENSE.md')).length === 1 || assets.some((f) => f.endsWith('.js')
      && fs.readFileSync(path.join(setup.site, 'dist/assets', f), 'utf8').includes(licence.toString('base64'))), 'GPT-2\'s LICENSE.md is in dist/');
    assert.deepEqual(same(path.join(REAL, 'bert-base-uncased/tokenizer.json')), [], 'BERT uncased\'s is not imported, so not copied');
    const bytes = fs.readdirSync(path.join(setup.site, 'dist'), { recursive: true })
      .map((f) => path.join(setup.site, 'dist', f)).filter((f) => fs.statSync(f).isFile()).reduce((n, f) => n + fs.statSync(f).size, 0);
    console.log(`# the built site: ${(bytes / 1048576).toFixed(2)} MB in dist/ (${assets.length} assets)`);
  });

  it('the built site: the widgets draw and the API runs, from its own origin only', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await page.goto(setup.server.url);
    await page.waitForFunction(() => [...document.querySelectorAll('glassbox-tokens, glassbox-attention')]
      .every((e) => e.dataset.status === 'ready' || e.dataset.status === 'error'), null, WAIT);
    const errors = await page.$$eval('glassbox-tokens, glassbox-attention', (els) => els.map((e) => e.shadowRoot.querySelector('.error')?.textContent).filter(Boolean));
    assert.deepEqual(errors, []);
    const pieces = await page.$eval('glassbox-tokens', (el) => [...el.shadowRoot.querySelectorAll('.chip .piece')].map((p) => p.textContent));
    assert.ok(pieces.includes('·world'), `token chips in the page's labels: ${JSON.stringify(pieces)}`);
    // tokenizer="gpt2": the same text cut by GPT-2's real tokenizer from glassbox-models, credited with its licence.
    const real = await widgetColumn(page, 'gpt2');
    assert.deepEqual(real.tokens, GPT2_CUT);
    assert.match(real.heading, /50,257 entries/);
    // The author offered GPT-2's alone: no note tells the reader BERT uncased's is "not installed".
    assert.doesNotMatch(real.text, /not installed/);
    // The map was drawn (the wasm's raster in the worker) and reads out a value.
    await page.waitForFunction(() => document.querySelector('glassbox-attention').shadowRoot.querySelector('canvas[role="application"]')?.dataset.painted === 'true', null, WAIT);
    const cell = await page.$eval('glassbox-attention', (el) => {
      const canvas = el.shadowRoot.querySelector('canvas[role="application"]');
      canvas.focus();
      return Number(el.shadowRoot.querySelector(`#${canvas.getAttribute('aria-describedby')}`).dataset.value);
    });
    assert.ok(cell > 0 && cell <= 1, `an attention weight: ${cell}`);
    // No Glassbox page comes with the package: no "Open in Glassbox" link to the author's own index.html.
    assert.equal(await page.$eval('glassbox-tokens', (el) => el.shadowRoot.querySelector('[data-control="open"]').hidden), true);
    // The packaged stylesheet reached the shadow roots.
    const styled = await page.$eval('glassbox-tokens', (el) => el.shadowRoot.adoptedStyleSheets[0]?.cssRules.length ?? 0);
    assert.ok(styled > 50, `the widget's stylesheet has the page's rules (${styled})`);

    // A reader follows "Credits and licence" (a page, even where the bundler inlined the file as a data: URL).
    assert.match(real.licence, /^(blob:|http)/);
    await Promise.all([page.waitForURL(real.licence, WAIT),
      page.$eval('glassbox-tokens', (el) => el.shadowRoot.querySelector('.tokenizer-credit a').click())]);
    assert.match(await page.textContent('body'), /Software Copyright \(c\) 2019 OpenAI/);

    const said = [];
    page.on('console', async (msg) => { if (msg.text().startsWith('attention')) said.push(await msg.args()[1].jsonValue()); });
    await page.goto(`${setup.server.url}api.html`);
    const deadline = Date.now() + 90000;
    while (!said.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const [shape] = said;
    assert.ok(Array.isArray(shape) && shape.length === 4, `the API example printed the attention shape: ${JSON.stringify(said)}`);
    assert.ok(shape[0] >= 1 && shape[1] >= 1 && shape[2] === shape[3] && shape[2] >= 3, `[L, H, T, T]: ${shape}`);

    const origin = new URL(setup.server.url).origin;
    const foreign = watch.requests.filter((u) => !u.startsWith('blob:') && !u.startsWith('data:') && new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], 'only the site itself is contacted');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('the Vite dev server (`vite`, no configuration) serves the same site', async () => {
    const port = await freePort();
    const t0 = performance.now();
    setup.dev = spawn(process.execPath, [VITE, '--port', String(port), '--strictPort', '--host', '127.0.0.1'], { cwd: setup.site, stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + 30000;
    for (;;) {
      assert.equal(setup.dev.exitCode, null, 'vite (dev) exited');
      if (await fetch(url).then((r) => r.ok, () => false)) break;
      assert.ok(Date.now() < deadline, 'vite (dev) did not answer within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await page.goto(url);
    await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('glassbox-tokens')?.dataset.status), null, WAIT);
    const shown = await page.$eval('glassbox-tokens', (el) => ({ error: el.shadowRoot.querySelector('.error')?.textContent,
      pieces: [...el.shadowRoot.querySelectorAll('.chip .piece')].map((p) => p.textContent) }));
    assert.ok(shown.pieces.includes('·world'), `the dev server's widget: ${JSON.stringify(shown)}`);
    assert.deepEqual((await widgetColumn(page, 'gpt2')).tokens, GPT2_CUT);
    assert.deepEqual(watch.errors, []);
    setup.timings['vite dev: first widget'] = Math.round(performance.now() - t0);
    await context.close();
  });
});

// The widget gallery (www/widgets.html), as a tutorial author meets it: every widget renders live on a bundled
// model; each Copy button puts the markup on the clipboard, and that markup, pasted into a blank page that loads the
// widget script with the copied script tag, draws the same widget; every link on it (and to it, from the page and the
// tutorial) leads somewhere; axe finds no serious or critical violation at 1280 and 390 px; no request leaves the
// origin; the offline folder carries it under its policy and the service worker caches it, and the single file (which
// has no gallery) hides the page's link to it. The gallery covers every element docs/widgets.md lists, and each
// table names every attribute its element reacts to.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  openPage, closePage, newWatchedPage, foreignRequests, canvasInk, axeViolations, ROOT,
} from './helpers.mjs';
import { bundleOffline } from '../../scripts/bundle-offline.mjs';
import { CSP } from '../../scripts/serve.mjs';
import { serveStatic } from '../package/static-server.mjs';

const WAIT = { timeout: 120000 };
const REAL = path.join(ROOT, 'models/tokenizers');
const BUNDLED = ['glassbox-gpt2', 'glassbox-bert', 'glassbox-translator'];
const setup = {};

before(async () => {
  Object.assign(setup, await openPage({ openPage: false }));
  const names = setup.models.models.filter((m) => m.bundled).map((m) => m.name);
  for (const name of BUNDLED) assert.ok(names.includes(name), `the gallery shows the bundled ${name}: models/${name} is missing`);
  assert.ok(fs.existsSync(path.join(REAL, 'gpt2', 'tokenizer.json')),
    'models/tokenizers/gpt2 is missing (the tokens example cuts with it). Run scripts/setup.sh --minilm');
  // The real tokenizers beside the models under test, where the server looks for them (a link: nothing is copied).
  fs.symlinkSync(REAL, path.join(setup.models.root, 'tokenizers'), 'dir');
  const { context, page, watch } = await newWatchedPage(setup.browser.browser, { viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: setup.server.url });
  Object.assign(setup, { context, page, watch });
  await page.goto(`${setup.server.url}widgets.html`);
});

after(() => closePage(setup));

/** Serve `html` at /<name> on the test server's origin (the rest of the site is the real server). */
async function hostPage(context, name, html) {
  await context.route(`**/${name}`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
  return `${setup.server.url}${name}`;
}

/**
 * What a widget shows, as text: its shadow root's words (labels, values, captions, read-outs), its canvases and
 * plots counted, and the same for the widgets inside it (a lesson's). Pixel sizes are left out: they follow the width
 * of the column the widget sits in.
 */
function signatureIn(page, selector) {
  return page.$eval(selector, (root) => {
    const one = (el) => ({
      tag: el.localName,
      status: el.dataset.status,
      text: (el.shadowRoot?.textContent ?? '').replace(/\s+/g, ' ').trim(),
      canvases: el.shadowRoot?.querySelectorAll('canvas').length ?? 0,
      plots: el.shadowRoot?.querySelectorAll('svg path.line').length ?? 0,
      inner: [...el.children].filter((c) => c.localName.startsWith('glassbox-')).map(one),
    });
    return one(root);
  });
}

/** Wait until the widget (and any widget inside it) is ready and what it shows has stopped changing. */
async function settled(page, selector) {
  await page.$eval(selector, (e) => e.scrollIntoView());
  await page.waitForFunction((sel) => {
    const el = document.querySelector(sel);
    const all = [el, ...el.querySelectorAll('*')].filter((e) => e.localName.startsWith('glassbox-'));
    return all.every((e) => e.dataset.status === 'ready' || e.dataset.status === 'error')
      && (el.localName !== 'glassbox-generation' || el.generated);
  }, selector, WAIT);
  let before = JSON.stringify(await signatureIn(page, selector));
  for (let i = 0; i < 40; i++) {
    await page.waitForTimeout(400);
    const now = JSON.stringify(await signatureIn(page, selector));
    if (now === before) return JSON.parse(now);
    before = now;
  }
  assert.fail(`${selector} kept changing: ${before.slice(0, 400)}`);
}

/** What must be on screen for each widget, read from its shadow root (`sel` pierces open shadow roots). */
const DRAWN = {
  'glassbox-tokens': async (page, sel) => {
    // The model's own chips (the first .tokens; each real tokenizer's column has its own).
    const chips = await page.$eval(sel, (e) => e.shadowRoot.querySelector('.tokens').querySelectorAll('.chip').length);
    assert.equal(chips, 13, 'the bundled GPT-2 cuts the example into 13 tokens (glassbox tokenize)');
    const real = await page.$eval(sel, (e) => e.shadowRoot.querySelectorAll('.tokenizer-column[data-name="gpt2"] .chip').length);
    assert.ok(real > 0, 'GPT-2\'s real tokenizer cut the same text beside it');
  },
  'glassbox-attention': async (page, sel) => {
    const shown = await page.$eval(sel, (e) => e.shown);
    assert.equal(shown.kind, 'cross');
    const ink = await canvasInk(page, `${sel} canvas.heatmap-canvas`);
    assert.ok(ink.inked > 1000 && ink.colours > 3, `the map is drawn (${JSON.stringify(ink)})`);
  },
  'glassbox-generation': async (page, sel) => {
    const g = await page.$eval(sel, (e) => ({ ids: e.generated.ids.length, chips: e.shadowRoot.querySelectorAll('.gen-token').length }));
    assert.ok(g.ids >= 1 && g.ids <= 16, `it wrote 1 to 16 tokens (${g.ids})`);
    assert.equal(g.chips, g.ids, 'one chip per written token');
    const ink = await canvasInk(page, `${sel} canvas.heatmap-canvas`);
    assert.ok(ink.colours > 3, 'the attention of the selected token is drawn');
  },
  'glassbox-predictions': async (page, sel) => {
    const n = await page.$eval(sel, (e) => e.shadowRoot.querySelectorAll('.candidate-list .candidate').length);
    assert.ok(n >= 5, `candidates for the mask (${n})`);
  },
  'glassbox-qkv': async (page, sel) => {
    const rows = await page.$eval(sel, (e) => e.shadowRoot.querySelectorAll('.qkv-table tbody tr').length);
    assert.equal(rows, 8, 'a row per key: [CLS] the dog chased the cat . [SEP]');
  },
  'glassbox-model-view': async (page, sel) => {
    const thumbs = await page.$eval(sel, (e) => e.shadowRoot.querySelectorAll('.mv-thumb canvas').length);
    assert.equal(thumbs, 16, 'the bundled BERT\'s 4 layers x 4 heads');
    const ink = await canvasInk(page, `${sel} .mv-thumb canvas`);
    assert.ok(ink.inked > 0, 'a thumbnail is drawn');
  },
  'glassbox-head-view': async (page, sel) => {
    const tokens = await page.$eval(sel, (e) => e.shadowRoot.querySelectorAll('.hv ol.left button.tok').length);
    assert.equal(tokens, 11, 'the text\'s 11 tokens');
    const ink = await canvasInk(page, `${sel} .hv canvas`);
    assert.ok(ink.inked > 100, `lines are drawn (${JSON.stringify(ink)})`);
  },
  'glassbox-rollout': async (page, sel) => {
    const shown = await page.$eval(sel, (e) => e.shown);
    assert.equal(shown.output, 10, 'the last token, tired');
    assert.ok(Math.abs(shown.rollout.reduce((a, b) => a + b, 0) - 1) < 1e-3, 'the rollout shares add up to 1');
    assert.equal(shown.flow?.length, 11, 'the flow is computed for every input token');
    const ink = await canvasInk(page, `${sel} .ro-maps canvas.heatmap-canvas`);
    assert.ok(ink.inked > 1000, 'the maps are drawn');
  },
  'glassbox-rnn': async (page, sel) => {
    const lines = await page.$eval(sel, (e) => e.shadowRoot.querySelectorAll('svg path.line').length);
    assert.ok(lines >= 3, `the three untrained models' gradients are plotted (${lines} lines)`);
  },
  'glassbox-transfer': async (page, sel) => {
    const held = await page.$eval(sel, (e) => [...e.shadowRoot.querySelectorAll('[data-held-out]')].map((c) => c.textContent));
    assert.equal(held.length, 2, 'held-out accuracy for the pretrained model and its twin');
    for (const v of held) assert.match(v, /^\d+%$/);
  },
  'glassbox-lesson': async (page, sel) => {
    const inner = await page.$eval(sel, (e) => [...e.children].map((c) => c.localName));
    assert.deepEqual(inner, ['glassbox-attention'], 'the first step of lessons/attention.json shows one attention map');
    const ink = await canvasInk(page, `${sel} glassbox-attention canvas.heatmap-canvas`);
    assert.ok(ink.inked > 1000, 'its map is drawn');
  },
};

/** The gallery's widget sections: `{ id, tag, codeId }`, in page order. */
function sections(page) {
  return page.$$eval('main section.gallery-widget', (list) => list.map((s) => ({
    id: s.id, tag: s.querySelector('.gallery-live')?.firstElementChild?.localName, codeId: s.querySelector('.gallery-live')?.dataset.example,
  })));
}

describe('the widget gallery', () => {
  it('shows every element docs/widgets.md lists, live, with no request beyond its origin', async () => {
    const { page, watch } = setup;
    const list = await sections(page);
    const docs = fs.readFileSync(path.join(ROOT, 'docs/widgets.md'), 'utf8');
    const documented = [...new Set([...docs.matchAll(/^\| `<(glassbox-[a-z-]+)>` \|/gm)].map((m) => m[1]))];
    assert.ok(documented.length >= 10, `the docs' element table: ${documented}`);
    assert.deepEqual(list.map((s) => s.tag).sort(), [...Object.keys(DRAWN)].sort(), 'one section per widget');
    for (const tag of documented) assert.ok(list.some((s) => s.tag === tag), `the gallery shows ${tag}, which docs/widgets.md lists`);
    for (const s of list) {
      assert.equal(s.id, s.tag, 'each section is named after its element (widgets.html#glassbox-tokens)');
      const sel = `#${s.id} .gallery-live > ${s.tag}`;
      const shown = await settled(page, sel);
      const error = await page.$eval(sel, (e) => e.shadowRoot.querySelector('.error:not([hidden])')?.textContent ?? null);
      assert.equal(error, null, `${s.tag} showed an error`);
      assert.ok(shown.text.length > 40, `${s.tag} shows something`);
      await DRAWN[s.tag](page, sel);
      setup.shown ??= {};
      setup.shown[s.tag] = shown;
    }
    assert.deepEqual(foreignRequests(watch.requests), [], 'no request left the origin');
    assert.deepEqual(watch.errors, [], 'no failed request or console error');
  });

  it('names, in each table, every attribute its element reacts to', async () => {
    const { page } = setup;
    const rows = await page.$$eval('main section.gallery-widget', (list) => list.map((s) => ({
      tag: s.id,
      observed: customElements.get(s.id)?.observedAttributes ?? [],
      listed: [...s.querySelectorAll('.gallery-attrs tbody th code')].map((c) => c.textContent),
    })));
    const shared = await page.$$eval('#common .gallery-attrs tbody th code', (cs) => cs.map((c) => c.textContent));
    const docs = fs.readFileSync(path.join(ROOT, 'docs/widgets.md'), 'utf8');
    for (const { tag, observed, listed } of rows) {
      // The model widgets take the shared attributes (their own table says so); the others list all they take.
      const takesShared = observed.includes('model') && observed.includes('pair');
      for (const a of observed) {
        assert.ok(listed.includes(a) || (takesShared && shared.includes(a)), `${tag}'s table leaves out ${a}, which the element observes`);
        assert.match(docs, new RegExp(`\`${a}[\`=]`), `docs/widgets.md names ${a} (${tag})`);
      }
    }
  });

  it('copies each snippet, which pasted into a blank page draws the same widget', async () => {
    const { page, context } = setup;
    await page.$eval('button.copy[data-copy="script-code"]', (b) => b.scrollIntoView());
    await page.click('button.copy[data-copy="script-code"]');
    const scriptTag = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(scriptTag, `<script type="module" src="${setup.server.url}glassbox-widgets.js"></script>`, 'the script tag names this server');
    for (const s of await sections(page)) {
      const button = `#${s.id} button.copy`;
      await page.$eval(button, (b) => b.scrollIntoView());
      await page.click(button);
      await page.waitForFunction((sel) => document.querySelector(sel).parentElement.querySelector('.copy-status').textContent === 'Copied.', button);
      const snippet = await page.evaluate(() => navigator.clipboard.readText());
      assert.equal(snippet, await page.$eval(`#${s.codeId}`, (c) => c.textContent), `${s.tag}: the clipboard holds the code shown`);
      assert.match(snippet, new RegExp(`^<${s.tag}[ >][\\s\\S]*</${s.tag}>$`), `${s.tag}: one element`);

      const blank = await context.newPage();
      try {
        const url = await hostPage(context, `__pasted-${s.id}.html`, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pasted</title>
${scriptTag}
</head><body>
${snippet}
</body></html>`);
        await blank.goto(url);
        const sel = `body > ${s.tag}`;
        const pasted = await settled(blank, sel);
        assert.deepEqual(pasted, setup.shown[s.tag], `${s.tag}: the pasted widget shows what the gallery's shows`);
        await DRAWN[s.tag](blank, sel);
      } finally {
        await blank.close();
      }
    }
  });

  it('has links that lead somewhere, and is linked from the page and the tutorial', async () => {
    const { page, context } = setup;
    const links = await page.$$eval('a[href]', (as) => as.map((a) => ({ href: a.href, raw: a.getAttribute('href') })));
    assert.ok(links.length > 20);
    for (const { href, raw } of links) {
      const url = new URL(href);
      assert.equal(url.origin, new URL(setup.server.url).origin, `${raw} stays on this origin`);
      if (raw.startsWith('#')) {
        assert.ok(await page.$(raw), `${raw}: the gallery has that section`);
      } else {
        const res = await page.request.get(href);
        assert.equal(res.status(), 200, `${raw} answers`);
      }
    }
    const toc = await page.$$eval('nav[aria-label="Widgets"] a', (as) => as.map((a) => a.getAttribute('href').slice(1)));
    const ids = await page.$$eval('main section.gallery-widget, #common', (ss) => ss.map((s) => s.id));
    assert.deepEqual(toc.sort(), ids.sort(), 'the list at the top leads to every section');

    // From the page's header (beside the tutorial link) and the tutorial, by a click.
    const other = await context.newPage();
    try {
      await other.goto(setup.server.url);
      await other.click('#tutorial-link a[href="widgets.html"]');
      await other.waitForURL(/\/widgets\.html$/);
      assert.equal(await other.textContent('h1'), 'Widget gallery');
      await other.goto(`${setup.server.url}tutorial.html`);
      assert.equal(await other.locator('a[href="widgets.html"]').count(), 2, 'the tutorial links to it at its top and its foot');
      await other.click('header a[href="widgets.html"]');
      await other.waitForURL(/\/widgets\.html$/);
      assert.equal(await other.textContent('h1'), 'Widget gallery');
    } finally {
      await other.close();
    }
  });

  it('has no serious or critical axe violation at 1280 and 390 px, light and dark, and fits a phone', async () => {
    const { page } = setup;
    const found = [];
    for (const [width, scheme] of [[1280, 'light'], [1280, 'dark'], [390, 'light']]) {
      await page.setViewportSize({ width, height: width > 500 ? 900 : 844 });
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(500);
      const r = await axeViolations(page);
      found.push(...r.serious.map((v) => `${width} px ${scheme}: ${v}`));
      if (width === 390) {
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(wide <= 390, `nothing scrolls the page sideways at 390 px (${wide} px wide)`);
      }
    }
    assert.deepEqual(found, [], 'axe: no serious or critical violation');
  });

  it('comes with the offline folder, under its policy, and the service worker caches it; the single file hides the link', async () => {
    const sw = fs.readFileSync(path.join(ROOT, 'www/sw.js'), 'utf8');
    for (const f of ['widgets.html', 'gallery.js', 'gallery.css']) assert.ok(sw.includes(`'${f}'`), `www/sw.js caches ${f}`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-gallery-'));
    const out = path.join(tmp, 'glassbox');
    let server;
    try {
      const single = path.join(tmp, 'glassbox.html');
      await bundleOffline({ out, single, models: setup.models.root });
      const html = fs.readFileSync(path.join(out, 'widgets.html'), 'utf8');
      const policy = CSP.document.split(';').map((d) => d.trim()).filter((d) => !d.startsWith('frame-ancestors')).join('; ');
      assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${policy}">`), 'widgets.html carries the pages\' policy');
      const shell = fs.readFileSync(path.join(out, 'sw.js'), 'utf8');
      for (const f of ['widgets.html', 'gallery.js', 'gallery.css']) assert.ok(shell.includes(`"${f}"`), `the folder's service worker caches ${f}`);
      // Served as any static host would, under that policy: a widget made from its markup draws.
      server = await serveStatic(out);
      const { context, page, watch } = await newWatchedPage(setup.browser.browser);
      try {
        await page.goto(`${server.url}widgets.html#glassbox-qkv`);
        const sel = '#glassbox-qkv glassbox-qkv';
        await settled(page, sel);
        await DRAWN['glassbox-qkv'](page, sel);
        assert.deepEqual(foreignRequests(watch.requests), []);
        assert.deepEqual(watch.errors.filter((e) => !/favicon/.test(e)), [], 'no console error (a policy violation is one)');
        // The single file (opened from disk) carries the page only: its header offers no gallery to follow.
        await page.goto(pathToFileURL(single).href);
        await page.waitForFunction(() => document.getElementById('tutorial-link')?.hidden === true, null, WAIT);
        assert.equal(await page.locator('a[href="widgets.html"]').count(), 1, 'the link is in the header');
        assert.equal(await page.locator('a[href="widgets.html"]').isVisible(), false, 'and hidden there');
      } finally {
        await context.close();
      }
    } finally {
      await server?.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

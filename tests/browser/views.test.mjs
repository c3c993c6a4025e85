// The views no other tool has, used as a reader would in headless Chromium: <glassbox-model-view> (every head as a
// thumbnail with its pattern score), <glassbox-head-view> (lines between two token columns) and <glassbox-rollout>
// (last-layer attention, rollout and flow side by side), for the three model types and every attention kind, by
// mouse and keyboard, at desktop and 390 px, with their numbers checked against the CLI (`glassbox inspect --views`)
// or recomputed here from the raw attention; the default head of <glassbox-attention> and of the page is the one
// the pattern scores pick, and the page says why.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  openPage, closePage, newWatchedPage, foreignRequests, cliInspect, axeViolations, waitIdle, pickModel, typingSettled,
} from './helpers.mjs';

const WAIT = { timeout: 60000 };
const TEXT = 'the cat sat on the mat . the cat sat on the mat';
const setup = {};

before(async () => {
  Object.assign(setup, await openPage({ openPage: false }));
  setup.byKind = Object.fromEntries(['decoder-only', 'encoder-only', 'encoder-decoder']
    .map((k) => [k, setup.models.models.find((m) => m.kind === k)]));
  for (const [k, m] of Object.entries(setup.byKind)) assert.ok(m, `a ${k} model is needed`);
});

after(() => closePage(setup));

async function hostPage(context, name, body) {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>views</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script type="module" src="/glassbox-widgets.js"></script></head><body><main>${body}</main></body></html>`;
  await context.route(`**/${name}`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
  return `${setup.server.url}${name}`;
}

async function waitReady(page, selector) {
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)]
    .every((e) => e.dataset.status === 'ready' || e.dataset.status === 'error'), selector, WAIT);
  const errors = await page.$$eval(selector, (els) => els.map((e) => `${e.id}: ${e.shadowRoot.querySelector('.error')?.textContent}`)
    .filter((m) => !m.endsWith(': ') && !m.endsWith(': undefined')));
  assert.deepEqual(errors, [], 'an element showed an error');
}

/** The CLI's `--views` for the run an element shows (the decoder input it used, for encoder-decoders). */
async function cliViews(page, selector, model) {
  const decoderIds = await page.$eval(selector, (e) => (e.run?.decoderIds ? Array.from(e.run.decoderIds) : null));
  return cliInspect(model.dir, TEXT, ['--views', ...(decoderIds ? ['--decoder-ids', decoderIds.join(',')] : [])]);
}

const close = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** The mean over heads `heads` of row `i` of layer `l`, from the CLI's `[L][H][Tq][Tk]` attentions. */
function meanRow(maps, l, heads, i) {
  const n = maps[l][0][i].length;
  return Array.from({ length: n }, (_, j) => heads.reduce((s, x) => s + maps[l][x][i][j], 0) / heads.length);
}

for (const kindName of ['encoder-only', 'decoder-only', 'encoder-decoder']) {
  describe(`views of a ${kindName} model`, () => {
    it('model view, head view, rollout and attention agree with the CLI and follow each other, by mouse and keyboard', async () => {
      const model = setup.byKind[kindName];
      const { context, page, watch } = await newWatchedPage(setup.browser.browser);
      const attrs = `model="${model.name}" text="${TEXT}" eager`;
      const url = await hostPage(context, `__views-${kindName}.html`, `
        <glassbox-model-view id="mv" ${attrs}></glassbox-model-view>
        <glassbox-head-view id="hv" ${attrs}></glassbox-head-view>
        <glassbox-attention id="at" ${attrs}></glassbox-attention>
        <glassbox-rollout id="ro" ${attrs}></glassbox-rollout>`);
      await page.goto(url);
      await waitReady(page, '#mv, #hv, #at, #ro');
      const kind = await page.$eval('#mv', (e) => e.shown.kind);
      assert.equal(kind, { 'encoder-only': 'encoder', 'decoder-only': 'decoder', 'encoder-decoder': 'cross' }[kindName]);
      const cli = await cliViews(page, '#mv', model);
      const views = cli.views[kind];
      const maps = cli.attentions[kind];
      const [L, H] = [maps.length, maps[0].length];

      // Every head is a thumbnail; the scores are the CLI's; the default head is the CLI's pick.
      const mv = await page.$eval('#mv', (e) => ({ shown: e.shown, scores: Array.from(e.scores.scores, (v) => (Number.isNaN(v) ? null : v)),
        patterns: e.scores.patterns, best: e.scores.best, thumbs: e.shadowRoot.querySelectorAll('.mv-thumb').length,
        why: e.shadowRoot.querySelector('.mv-why').textContent, detail: e.shadowRoot.querySelector('.mv-detail').textContent }));
      assert.equal(mv.thumbs, L * H);
      assert.deepEqual(mv.patterns, views.patterns);
      const P = views.patterns.length;
      for (let l = 0; l < L; l++) {
        for (let x = 0; x < H; x++) {
          for (let p = 0; p < P; p++) {
            const want = views.scores[l][x][p];
            const got = mv.scores[(l * H + x) * P + p];
            if (want === null) assert.equal(got, null, `layer ${l} head ${x} ${views.patterns[p]}: undefined in the CLI`);
            else close(got, want, 1e-4, `layer ${l} head ${x} ${views.patterns[p]}`);
          }
        }
      }
      // Each thumbnail is named after the pattern the head beats uniform attention on by most, and only when it beats
      // it ("none" otherwise: before the next-token pattern, BERT's next-token head read "first 0.00", the pattern
      // it fell least short of).
      const labels = await page.$eval('#mv', (e) => [...e.shadowRoot.querySelectorAll('.mv-thumb')]
        .map((t) => ({ l: Number(t.dataset.layer), x: Number(t.dataset.head), label: t.querySelector('span').firstChild.textContent })));
      const SHORT = { prev: 'previous-token', next: 'next-token', first: 'first-token', same: 'same-token', induct: 'induction', diag: 'diagonal' };
      assert.deepEqual(Object.values(SHORT).sort(), [...views.patterns].sort(), 'every pattern the CLI scores has a label here');
      for (const { l, x, label } of labels) {
        const lift = (p) => (views.scores[l][x][p] !== null && views.chance[p] !== null ? views.scores[l][x][p] - views.chance[p] : null);
        const above = views.patterns.filter((_, p) => lift(p) > 0);
        if (label === 'none') {
          assert.deepEqual(above, [], `layer ${l} head ${x} is labelled none but beats uniform attention on ${above}`);
        } else if (label !== '—') {
          const [short, score] = label.split(' ');
          const p = views.patterns.indexOf(SHORT[short]);
          assert.ok(above.includes(SHORT[short]), `layer ${l} head ${x} "${label}": ${SHORT[short]} is above uniform attention`);
          // By most: no other pattern beats uniform attention by more (a near tie may go either way in f32).
          const most = Math.max(...views.patterns.map((_, q) => lift(q) ?? -Infinity));
          assert.ok(lift(p) >= most - 1e-5, `layer ${l} head ${x} "${label}": another pattern beats uniform attention by ${most}`);
          close(Number(score), views.scores[l][x][p], 0.006, `layer ${l} head ${x} label`);
        }
      }
      if (kind === 'encoder' && model.name === 'glassbox-bert') {
        // The bundled BERT's clearest head, layer 2, head 4, reads the next token: labelled so, and picked.
        const label = labels.find((t) => t.l === 1 && t.x === 3).label;
        assert.match(label, /^next 0\.[89]\d$/, `layer 2, head 4 of glassbox-bert: ${label}`);
        assert.deepEqual([views.best.layer, views.best.head, views.best.pattern], [1, 3, 'next-token']);
        assert.match(mv.why, /next token: each token before the last puts on average 0\.[89]\d of its attention on the token just after it/);
      }
      if (views.best) {
        assert.deepEqual([mv.shown.layer, mv.shown.head], [views.best.layer, views.best.head], 'the model view opens on the CLI\'s pick');
        assert.match(mv.why, new RegExp(`layer ${views.best.layer + 1}, head ${views.best.head + 1}`));
        // Issue 17.2: <glassbox-attention> without layer/head opens on the same head and says why.
        const at = await page.$eval('#at', (e) => ({ shown: e.shown, why: e.shadowRoot.querySelector('[data-why]').textContent }));
        assert.deepEqual([at.shown.kind, at.shown.layer, at.shown.head], [kind, views.best.layer, views.best.head]);
        assert.match(at.why, /pattern stands out most/);
        // The score in words: an average over the rows the pattern speaks of, with the CLI's number.
        assert.ok(at.why.includes(`puts on average ${views.best.score.toFixed(2)} of its attention`), at.why);
        assert.ok(at.why.includes(`(uniform attention would give ${views.best.chance.toFixed(2)})`), at.why);
        assert.ok(at.why.includes(views.best.score.toFixed(2)), at.why);
      }
      // The detail panel shows the selected head's scores (3 decimals).
      const sel = views.scores[mv.shown.layer][mv.shown.head];
      for (let p = 0; p < P; p++) if (sel[p] !== null) assert.ok(mv.detail.includes(sel[p].toFixed(3)), `${views.patterns[p]} ${sel[p]} in ${mv.detail}`);
      // A pattern the kind of attention rules out is said to be, not blamed on the text.
      const ruledOut = { encoder: ['cross-attention only'], decoder: ['its mask hides the next token', 'cross-attention only'],
        cross: ['self-attention only'] }[kind];
      for (const why of ruledOut) assert.ok(mv.detail.includes(why), `"${why}" in ${mv.detail}`);

      // Click a thumbnail: the other views follow.
      const [tl, th] = [L - 1, H > 1 ? 1 : 0];
      await page.locator(`#mv .mv-thumb[data-layer="${tl}"][data-head="${th}"]`).click();
      await page.waitForFunction(([l, x]) => {
        const hv = document.querySelector('#hv').shown;
        const at = document.querySelector('#at').shown;
        return hv?.layer === l && hv.heads.length === 1 && hv.heads[0] === x && at?.layer === l && at.head === x;
      }, [tl, th], WAIT);
      assert.equal(await page.$eval('#mv', (e) => e.getAttribute('layer')), String(tl + 1), 'state in attributes');

      // Keyboard: the selected thumbnail is the one tab stop; an arrow key and Enter move the focus.
      await page.locator(`#mv .mv-thumb[data-layer="${tl}"][data-head="${th}"]`).focus();
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Enter');
      const ul = Math.max(0, tl - 1);
      await page.waitForFunction(([l, x]) => document.querySelector('#hv').shown?.layer === l
        && document.querySelector('#hv').shown.heads[0] === x, [ul, th], WAIT);

      // Head view: focus a query token by keyboard; the read-out numbers are the raw attention's.
      await page.locator('#hv .left button.tok').first().focus();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      const hv = await page.$eval('#hv', (e) => ({ shown: e.shown, w: Array.from(e.focusWeights()), readout: e.shadowRoot.querySelector('.hv-readout').textContent }));
      const q = Math.min(2, hv.shown.nQueries - 1);
      const want = meanRow(maps, ul, [th], q);
      assert.ok(Math.max(...want.map((v, j) => Math.abs(v - hv.w[j]))) < 1e-4, `head view row ${q}: ${hv.w} vs ${want}`);
      assert.match(hv.readout, new RegExp(`query ${q + 1}\\)`));
      // Cross-attention: the left column is the decoder's tokens, the right the encoder's.
      if (kind === 'cross') {
        assert.equal(hv.shown.nQueries, cli.decoder_ids.length);
        assert.equal(hv.shown.nKeys, cli.ids.length);
      }
      // Mouse: hover a key on the right column; the view shows what looks at it.
      await page.locator('#hv .right button.tok').nth(1).hover();
      assert.match(await page.$eval('#hv', (e) => e.shadowRoot.querySelector('.hv-readout').textContent), /key 2\)/);

      // Rollout: an encoder-decoder's default is through cross-attention, numbers from the CLI's through_cross.
      const ro = await page.$eval('#ro', (e) => e.shown);
      if (kind === 'cross') {
        assert.equal(ro.kind, 'cross');
        const tc = cli.views.through_cross;
        const [S, T] = [tc.encoder_rollout[0].length, tc.decoder_rollout.length];
        assert.equal(ro.output, T - 1, 'the last decoder token by default');
        const maxDiff = (a, b) => Math.max(...a.map((v, j) => Math.abs(v - b[j])));
        assert.ok(maxDiff(tc.encoder_rollout[ro.output], ro.encoderRollout) < 1e-4, 'encoder inputs\' shares');
        assert.ok(maxDiff(tc.decoder_rollout[ro.output], ro.decoderRollout) < 1e-4, 'decoder inputs\' shares');
        close(ro.encoderSide + ro.decoderSide, 1, 1e-4, 'both sides add up to 1');
        const Ld = cli.attentions.decoder.length;
        close(ro.decoderSide, 0.5 ** Ld, 1e-4, 'the decoder side is 0.5^Ld');
        close(ro.rollout.reduce((a, b) => a + b, 0), 1, 1e-4, 'the encoder side rescaled to 1');
        const flowRow = tc.flow[tc.flow_outputs.indexOf(ro.output)];
        assert.equal(flowRow.length, S + T);
        assert.ok(maxDiff(flowRow, [...ro.flow, ...ro.decoderFlow]) < 1e-4, `flow through cross: ${ro.flow} ${ro.decoderFlow} vs ${flowRow}`);
        const cross = cli.attentions.cross;
        const raw = meanRow(cross, Ld - 1, Array.from({ length: cross[0].length }, (_, x) => x), ro.output);
        assert.ok(maxDiff(raw, ro.raw) < 1e-4, 'the last decoder layer\'s cross-attention');
        // The drawn rollout map: each decoder token's encoder side, rescaled to 1.
        const drawn = await page.$eval('#ro', async (e) => {
          const { heatmapData } = await import('/views/heatmap.js');
          return Array.from(heatmapData(e.shadowRoot.querySelectorAll('.ro-maps .heatmap')[1]).values);
        });
        const want = tc.encoder_rollout.flatMap((row) => { const sum = row.reduce((a, b) => a + b, 0); return row.map((v) => v / sum); });
        assert.ok(maxDiff(want, drawn) < 1e-4, 'the rollout heatmap through cross-attention');
        const note = await page.$eval('#ro', (e) => e.shadowRoot.querySelector('[data-control="explain"]').textContent);
        assert.match(note, /What is composed: first the encoder's own rollout/);
        assert.equal(await page.$eval('#ro', (e) => e.shadowRoot.querySelectorAll('.ro-maps .legend-title')[1].textContent),
          'rollout share (each row rescaled to 1)', 'the cross rollout map\'s colour scale names rollout shares');
        assert.match(note, new RegExp(`each of the ${Ld} decoder layers applies, in order, its self-attention`));
        // Another decoder token and then the encoder's own rollout, by keyboard.
        await page.locator('#ro select').nth(1).focus();
        await page.keyboard.press('Home');
        await page.waitForFunction(() => document.querySelector('#ro').shown?.output === 0 && document.querySelector('#ro').dataset.status === 'ready', null, WAIT);
        const ro0 = await page.$eval('#ro', (e) => e.shown);
        assert.ok(maxDiff(tc.encoder_rollout[0], ro0.encoderRollout) < 1e-4, 'decoder token 1');
        assert.ok(ro0.decoderFlow.slice(1).every((v) => v === 0), `the start token's flow reaches no later decoder token: ${ro0.decoderFlow}`);
        await page.locator('#ro select').first().focus();
        await page.keyboard.press('Home');
        await page.waitForFunction(() => document.querySelector('#ro').shown?.kind === 'encoder' && document.querySelector('#ro').dataset.status === 'ready', null, WAIT);
        await page.locator('#ro select').nth(1).focus();
        await page.keyboard.press('End');
        await page.waitForFunction(() => document.querySelector('#ro').shown?.output === document.querySelector('#ro').shown?.raw.length - 1
          && document.querySelector('#ro').dataset.status === 'ready', null, WAIT);
      }
      const ros = await page.$eval('#ro', (e) => e.shown);
      const selfKind = kind === 'cross' ? 'encoder' : kind;
      assert.equal(ros.kind, selfKind);
      const rv = cli.views[selfKind];
      const T = rv.rollout.length;
      assert.equal(ros.output, T - 1, 'the last token by default');
      assert.ok(Math.max(...rv.rollout[ros.output].map((v, j) => Math.abs(v - ros.rollout[j]))) < 1e-4, 'rollout row');
      const flowRow = rv.flow[rv.flow_outputs.indexOf(ros.output)];
      assert.ok(Math.max(...flowRow.map((v, j) => Math.abs(v - ros.flow[j]))) < 1e-4, `flow: ${ros.flow} vs ${flowRow}`);
      const selfMaps = cli.attentions[selfKind];
      const raw = meanRow(selfMaps, selfMaps.length - 1, Array.from({ length: selfMaps[0].length }, (_, x) => x), ros.output);
      assert.ok(Math.max(...raw.map((v, j) => Math.abs(v - ros.raw[j]))) < 1e-4, 'last-layer attention');
      close(ros.rollout.reduce((a, b) => a + b, 0), 1, 1e-4, 'rollout row sums to 1');
      // The whole rollout matrix is drawn beside the last layer's map.
      const drawn = await page.$eval('#ro', async (e) => {
        const { heatmapData } = await import('/views/heatmap.js');
        const maps = e.shadowRoot.querySelectorAll('.ro-maps .heatmap');
        return Array.from(maps, (m) => Array.from(heatmapData(m).values));
      });
      assert.ok(Math.max(...rv.rollout.flat().map((v, k) => Math.abs(v - drawn[1][k]))) < 1e-4, 'the rollout heatmap is the CLI\'s');
      // Each map's colour scale names what its cells hold: attention weights beside rollout shares (not "attention weight" twice).
      await page.waitForFunction(() => document.querySelector('#ro').shadowRoot.querySelectorAll('.ro-maps .legend-title')[1]?.textContent.startsWith('rollout share'), null, WAIT);
      const legends = await page.$eval('#ro', (e) => Array.from(e.shadowRoot.querySelectorAll('.ro-maps .legend-title'), (t) => t.textContent));
      assert.deepEqual(legends, ['attention weight', 'rollout share (each row adds up to 1)']);
      // The 1/n marker follows: keys and a uniform weight on the attention map, input tokens and an even share on the rollout.
      const marks = await page.$eval('#ro', (e) => Array.from(e.shadowRoot.querySelectorAll('.ro-maps .legend-uniform'), (m) => [m.textContent, m.title]));
      // A decoder's row r sees r keys: the 1/T marker is its last row's, and says so.
      const lastRow = selfKind === 'decoder' ? ' (last row)' : '';
      assert.equal(marks[0][0], `▲ 1/${T} uniform${lastRow}`);
      assert.match(marks[0][1], new RegExp(`looked at all ${T} keys equally`));
      assert.equal(marks[1][0], `▲ 1/${T} even share${lastRow}`);
      assert.match(marks[1][1], new RegExp(`^Even share 1/${T} = [0-9.]+: a row that drew on all ${T} input tokens equally`));
      assert.doesNotMatch(marks[1][1], /weight|keys/, `the rollout marker speaks of shares, not attention: ${marks[1][1]}`);
      // Flow's capacities are the same residual-counted, head-averaged layers as rollout's, not the raw weights.
      const selfNote = await page.$eval('#ro', (e) => e.shadowRoot.querySelector('[data-control="explain"]').textContent);
      assert.match(selfNote, /through the same layers \(heads averaged, half kept for the residual\) when each of their weights is a pipe's capacity/);
      // Pick another output token with the keyboard.
      await page.locator('#ro select').nth(1).focus();
      await page.keyboard.press('Home');
      await page.waitForFunction(() => document.querySelector('#ro').shown?.output === 0 && document.querySelector('#ro').dataset.status === 'ready', null, WAIT);
      const ro0 = await page.$eval('#ro', (e) => e.shown);
      assert.ok(Math.max(...rv.rollout[0].map((v, j) => Math.abs(v - ro0.rollout[j]))) < 1e-4, 'rollout row of token 1');
      if (selfKind === 'decoder') {
        assert.ok(ro0.flow.slice(1).every((v) => v === 0), `a decoder's first token gets flow only from itself: ${ro0.flow}`);
        assert.ok(ro0.rollout.slice(1).every((v) => v === 0));
      }

      const axe = await axeViolations(page);
      assert.deepEqual(axe.serious, [], 'axe: no serious or critical violations');
      assert.deepEqual(foreignRequests(watch.requests), []);
      assert.deepEqual(watch.errors, []);
      await context.close();
    });
  });
}

describe('views at 390 px', () => {
  it('fit a phone, work by keyboard and stay axe clean', async () => {
    const model = setup.byKind['encoder-decoder'];
    const { context, page, watch } = await newWatchedPage(setup.browser.browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const attrs = `model="${model.name}" text="${TEXT}" eager`;
    const url = await hostPage(context, '__views-phone.html', `
      <glassbox-model-view id="mv" ${attrs}></glassbox-model-view>
      <glassbox-head-view id="hv" ${attrs} kind="cross" layer="1" head="all"></glassbox-head-view>
      <glassbox-rollout id="ro" ${attrs} kind="decoder"></glassbox-rollout>
      <glassbox-rollout id="rc" ${attrs}></glassbox-rollout>`);
    await page.goto(url);
    await waitReady(page, '#mv, #hv, #ro, #rc');
    assert.equal(await page.$eval('#rc', (e) => e.shown.kind), 'cross', 'an encoder-decoder\'s rollout goes through cross-attention');
    const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth,
      els: [...document.querySelectorAll('#mv, #hv, #ro, #rc')].map((e) => e.getBoundingClientRect().right) }));
    assert.ok(widths.doc <= 390, `the page scrolls sideways: ${widths.doc}px`);
    assert.ok(widths.els.every((r) => r <= 390), `an element overflows: ${widths.els}`);
    // Head view, every head of layer 1 shown; explicit attributes: no pick, no reason line.
    const hv = await page.$eval('#hv', (e) => ({ shown: e.shown, why: e.shadowRoot.querySelector('.hv-why').textContent }));
    assert.equal(hv.shown.kind, 'cross');
    assert.equal(hv.shown.heads.length, await page.$eval('#mv', (e) => e.shown.nHeads));
    assert.equal(hv.why, '');
    // Toggle a head off by keyboard.
    await page.locator('#hv .hv-heads input').first().focus();
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelector('#hv').getAttribute('head') !== 'all', null, WAIT);
    await page.waitForFunction(() => !document.querySelector('#hv').shown.heads.includes(0), null, WAIT);
    assert.equal(await page.$eval('#ro', (e) => e.shown.kind), 'decoder');
    const axe = await axeViolations(page);
    assert.deepEqual(axe.serious, [], 'axe at 390 px');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('the model view at BERT-base size', () => {
  it('draws 12 x 12 heads at 128 tokens (the draw time is printed)', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = await hostPage(context, '__views-big.html', '<glassbox-model-view id="big" eager></glassbox-model-view>');
    await page.goto(url);
    const timing = await page.evaluate(async () => {
      const { sharedGlassbox } = await import('/elements/base.js');
      const [L, H, T] = [12, 12, 128];
      // Softmax rows of a seeded pseudo-random score: a head that mostly reads the previous token, with noise.
      let s = 7;
      const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
      const data = new Float32Array(L * H * T * T);
      for (let m = 0; m < L * H; m++) {
        for (let i = 0; i < T; i++) {
          let sum = 0;
          for (let j = 0; j < T; j++) { const v = Math.exp(4 * rand() + (j === i - 1 ? 3 : 0)); data[(m * T + i) * T + j] = v; sum += v; }
          for (let j = 0; j < T; j++) data[(m * T + i) * T + j] /= sum;
        }
      }
      const ids = Uint32Array.from({ length: T }, (_, i) => i % 17);
      const el = document.querySelector('#big');
      el.source = { run: { tokens: { ids, tokens: Array.from(ids, String), special: [] }, attentions: { encoder: { data, shape: [L, H, T, T] } } },
        info: { kind: 'encoder-only' }, scheme: 'plain', glassbox: await sharedGlassbox(), name: 'synthetic' };
      await new Promise((resolve) => { const wait = () => (el.dataset.status === 'ready' ? resolve() : setTimeout(wait, 20)); wait(); });
      const thumbs = el.shadowRoot.querySelectorAll('.mv-thumb canvas');
      const c = thumbs[thumbs.length - 1].getContext('2d').getImageData(0, 0, T, T).data;
      let inked = 0;
      for (let i = 3; i < c.length; i += 4) if (c[i] > 0) inked++;
      return { ...el.timing, thumbs: thumbs.length, inked, best: el.scores.best };
    });
    assert.equal(timing.thumbs, 144);
    assert.ok(timing.inked > 0.9 * 128 * 128, 'the last thumbnail is drawn');
    assert.equal(timing.best.pattern, 'previous-token', 'the planted previous-token heads are found');
    console.log(`# model view, 12 x 12 heads at 128 tokens: pattern scores ${timing.patternsMs.toFixed(0)} ms, `
      + `thumbnails drawn in ${timing.drawMs.toFixed(0)} ms (worker raster ${timing.rasterMs.toFixed(0)} ms, `
      + `canvases ${timing.gridMs.toFixed(0)} ms)`);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('attention flow at the size limit', () => {
  it('is computed in parts, and a request sent meanwhile is answered before the flow ends', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = await hostPage(context, '__views-flow.html', '<glassbox-rollout id="big" eager></glassbox-rollout>');
    await page.goto(url);
    const got = await page.evaluate(async () => {
      const { sharedGlassbox } = await import('/elements/base.js');
      const gb = await sharedGlassbox();
      // 12 layers of 128 tokens (MAX_FLOW_WORK's size), one head of seeded softmax rows.
      const [L, H, T] = [12, 1, 128];
      let s = 11;
      const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
      const data = new Float32Array(L * H * T * T);
      for (let m = 0; m < L * H * T; m++) {
        let sum = 0;
        for (let j = 0; j < T; j++) { const v = Math.exp(3 * rand()); data[m * T + j] = v; sum += v; }
        for (let j = 0; j < T; j++) data[m * T + j] /= sum;
      }
      const ids = Uint32Array.from({ length: T }, (_, i) => i % 13);
      const el = document.querySelector('#big');
      const started = performance.now();
      el.source = { run: { tokens: { ids, tokens: Array.from(ids, String), special: [] }, attentions: { encoder: { data, shape: [L, H, T, T] } } },
        info: { kind: 'encoder-only' }, scheme: 'plain', glassbox: gb, name: 'synthetic' };
      const progress = () => el.shadowRoot.querySelector('.ro-progress').textContent;
      await new Promise((resolve) => { const wait = () => (progress().startsWith('Computing the flow') ? resolve() : setTimeout(wait, 5)); wait(); });
      // A request of the reader's, sent while the flow is being computed.
      await gb.drawMap(new Float32Array(16).fill(0.25), { rows: 4, cols: 4, cellPx: 2 });
      const statusWhenAnswered = el.dataset.status;
      await new Promise((resolve) => { const wait = () => (el.dataset.status === 'ready' ? resolve() : setTimeout(wait, 20)); wait(); });
      const flowMs = performance.now() - started;
      const clock = performance.now();
      const whole = await gb.attentionRollout({ data, shape: [L, H, T, T] }, { flowFrom: T - 1 });
      const wholeMs = performance.now() - clock;
      const got0 = { flow: el.shown.flow, parts: el.shown.flowParts };
      const done = progress();
      // Past the limit (136 tokens): rollout still, flow left out, and the element says why where hide="explain" cannot hide it.
      const T2 = 136;
      const big = new Float32Array(L * T2 * T2).fill(1 / T2);
      const ids2 = Uint32Array.from({ length: T2 }, (_, i) => i % 13);
      el.setAttribute('hide', 'explain');
      el.source = { run: { tokens: { ids: ids2, tokens: Array.from(ids2, String), special: [] }, attentions: { encoder: { data: big, shape: [L, H, T2, T2] } } },
        info: { kind: 'encoder-only' }, scheme: 'plain', glassbox: gb, name: 'synthetic' };
      const deadline = Date.now() + 60000;
      await new Promise((resolve, reject) => {
        const wait = () => (el.dataset.status === 'ready' && el.shown.raw.length === T2 ? resolve()
          : Date.now() > deadline ? reject(new Error(`past the limit: ${el.dataset.status} ${el.shown?.raw.length} ${progress()} ${el.shadowRoot.querySelector('.error')?.textContent}`))
            : setTimeout(wait, 20));
        wait();
      });
      const limit = { progress: progress(), visible: el.shadowRoot.querySelector('.ro-progress').checkVisibility(), flow: el.shown.flow,
        rollout: el.shown.rollout.length };
      return { statusWhenAnswered, parts: el.shown.flowParts ?? null, flow: got0.flow, whole: Array.from(whole.flow), flowMs, wholeMs, done, limit };
    });
    assert.equal(got.statusWhenAnswered, 'running', 'the other request was answered while the flow was still being computed');
    assert.match(got.done, /^Flow computed in (\d+) parts/);
    got.parts = Number(got.done.match(/in (\d+) parts/)[1]);
    assert.ok(got.parts > 1, `flow in ${got.parts} parts`);
    assert.match(got.limit.progress, /^Flow is not shown: attention flow over 12 layers of 136 tokens is too large .*MAX_FLOW_WORK/);
    assert.ok(got.limit.visible, 'the limit is said on screen, hide="explain" or not');
    assert.equal(got.limit.flow, null);
    assert.equal(got.limit.rollout, 136, 'rollout has no limit');
    assert.equal(got.flow.length, 128);
    assert.ok(Math.max(...got.whole.map((v, j) => Math.abs(v - got.flow[j]))) < 1e-6, 'the parts are the whole flow');
    console.log(`# attention flow, 12 layers x 128 tokens, one output: ${got.parts} parts, ${got.flowMs.toFixed(0)} ms to the element's ready `
      + `(rollout, parts and drawing); one whole call holds the worker ${got.wholeMs.toFixed(0)} ms`);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

/** A watched page of the app with `model` picked and TEXT run: where the page tests start. */
async function pageAfterRun(model) {
  const opened = await newWatchedPage(setup.browser.browser);
  const { page } = opened;
  await page.goto(setup.server.url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, WAIT);
  await pickModel(page, model.name);
  await page.fill('#text-input', TEXT);
  await typingSettled(page);
  await page.click('#run-button');
  await waitIdle(page);
  return opened;
}

describe('the page', () => {
  it('opens on the head the pattern scores pick, says why, and composes the model and head views', async () => {
    const model = setup.byKind['encoder-only'];
    const { page, context, watch } = await pageAfterRun(model);
    const cli = cliInspect(model.dir, TEXT, ['--views']);
    const best = cli.views.encoder.best;
    assert.ok(best, 'the bundled encoder has a head that beats chance on this text');
    // The map shown names its layer and head (from 0) in its data attributes.
    const mapShows = (p, layer, head) => p.waitForFunction(([l, h]) => {
      const map = document.querySelector('#heatmap');
      return !map.hidden && map.dataset.layer === l && map.dataset.head === h;
    }, [String(layer), String(head)], WAIT);
    await mapShows(page, best.layer, best.head)
      .catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await page.evaluate(() => ({ map: { ...document.querySelector('#heatmap').dataset }, why: document.querySelector("#head-why").textContent, hash: location.hash })))} want ${JSON.stringify(best)}`); });
    assert.match(await page.textContent('#head-why'), new RegExp(`layer ${best.layer + 1}, head ${best.head + 1}`));
    await page.waitForFunction(() => document.querySelector('#model-view').dataset.status === 'ready', null, WAIT);
    const thumbs = await page.$$eval('#model-view', (els) => els[0].shadowRoot.querySelectorAll('.mv-thumb').length);
    assert.equal(thumbs, cli.attentions.encoder.length * cli.attentions.encoder[0].length);
    // A thumbnail focuses the page's map; the URL follows.
    await page.locator('#model-view .mv-thumb[data-layer="0"][data-head="0"]').click();
    await mapShows(page, 0, 0);
    assert.equal(await page.$eval('#head-why', (e) => e.textContent), '', 'no reason once the reader chose');
    // Layer 1 is the default, which a link leaves out; the head is named.
    await page.waitForFunction(() => /(^|&|#)head=1(&|$)/.test(location.hash) && !/layer=/.test(location.hash), null, WAIT);
    await page.waitForFunction(() => document.querySelector('#head-view').shown?.layer === 0, null, WAIT);
    const axe = await axeViolations(page, ['#attention-section']);
    assert.deepEqual(axe.serious, [], 'axe on the attention section');

    // A link that names a layer and head opens there, not on the pick.
    const named = `${setup.server.url}#model=${encodeURIComponent(model.name)}&text=${encodeURIComponent(TEXT)}&layer=2&head=3`;
    const other = await context.newPage();
    await other.goto(named);
    await other.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    const shown = await other.$eval('#heatmap', (map) => ({ hidden: map.hidden, layer: map.dataset.layer, head: map.dataset.head }));
    assert.deepEqual(shown, { hidden: false, layer: '1', head: '2' }, 'the link\'s layer and head win');
    assert.equal(await other.textContent('#head-why'), '');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
  it('has the rollout view near the attention map, lazy, with its kind and output token in the URL', async () => {
    const model = setup.byKind['encoder-only'];
    const { page, context, watch } = await pageAfterRun(model);
    await page.waitForFunction(() => document.querySelector('#model-view').dataset.status === 'ready', null, WAIT);
    // Lazy: the view waits off screen until it is scrolled to.
    const before = await page.$eval('#rollout-view', (e) => ({ status: e.dataset.status, top: e.getBoundingClientRect().top, h: innerHeight }));
    if (before.top > before.h + 400) assert.equal(before.status, 'waiting', 'off screen, the rollout waits');
    await page.locator('#rollout-view').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelector('#rollout-view').dataset.status === 'ready', null, WAIT);
    const cli = cliInspect(model.dir, TEXT, ['--views']);
    const T = cli.views.encoder.rollout.length;
    let shown = await page.$eval('#rollout-view', (e) => e.shown);
    assert.equal(shown.output, T - 1);
    assert.ok(Math.max(...cli.views.encoder.rollout[T - 1].map((v, j) => Math.abs(v - shown.rollout[j]))) < 1e-4, 'the page\'s rollout is the CLI\'s');
    // Keyboard: output token 3; the URL follows.
    await page.locator('#rollout-view select').nth(1).focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.querySelector('#rollout-view').shown?.output === 2 && document.querySelector('#rollout-view').dataset.status === 'ready', null, WAIT);
    await page.waitForFunction(() => /(^|&|#)rollout-output=3(&|$)/.test(location.hash), null, WAIT);
    shown = await page.$eval('#rollout-view', (e) => e.shown);
    const flowRow = cli.views.encoder.flow[cli.views.encoder.flow_outputs.indexOf(2)];
    assert.ok(Math.max(...flowRow.map((v, j) => Math.abs(v - shown.flow[j]))) < 1e-4, 'the page\'s flow is the CLI\'s');
    const axe = await axeViolations(page, ['#rollout-section']);
    assert.deepEqual(axe.serious, [], 'axe on the rollout section');

    // A link naming the rollout's output token opens there.
    const link = `${setup.server.url}#model=${encodeURIComponent(model.name)}&text=${encodeURIComponent(TEXT)}&rollout-output=4`;
    const other = await context.newPage();
    await other.goto(link);
    await other.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    assert.equal(await other.$eval('#rollout-view', (e) => e.getAttribute('output')), '4');
    await other.locator('#rollout-view').scrollIntoViewIfNeeded();
    await other.waitForFunction(() => document.querySelector('#rollout-view').shown?.output === 3 && document.querySelector('#rollout-view').dataset.status === 'ready', null, WAIT);
    assert.match(other.url(), /rollout-output=4/);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

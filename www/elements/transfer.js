// <glassbox-transfer>: why pretrained models matter. The same sentence through a bundled model and its
// random-weight twin side by side (last layer's attention, mean of the heads, and the predictions), then a tiny
// classifier (logistic regression, crate/src/teach/logreg.rs) fitted in the page on about 20 labelled sentences
// over the frozen mean-pooled sentence embeddings of each, scored on held-out sentences.
//
//   <glassbox-transfer model="glassbox-bert" random-seed="7" text="The program crashed when the [MASK] was full."></glassbox-transfer>
//
// Attributes: model (default glassbox-bert; the classifier needs an encoder-only model), random-seed (the twin's
// seed, default 7), text, data (the labelled sentences, default data/transfer-sentences.json beside the page
// files), hide, theme, eager. `glassbox transfer DIR --data FILE [--random-weights SEED]` gives the same figures.

import { renderHeatmap } from '../views/heatmap.js';
import { renderPredictions } from '../views/fill-mask.js';
import { renderTextHighlight } from '../views/text-highlight.js';
import { attentionMap } from '../run-view.js';
import { windowOf } from '../views/explain.js';
import { HERE, LazyElement, TEXT_DELAY_MS, asSentence, define, fetchExplained, h, numberAttr, raster, releaseModel, sharedGlassbox, sharedModel, sharedRun, widgetSheets } from './base.js';

const DEFAULT_MODEL = 'glassbox-bert';
const DEFAULT_TEXT = 'The program crashed when the [MASK] was full.';
const DEFAULT_SEED = 7;

const TRANSFER_CSS = `
.gb-transfer-sides { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; }
.gb-transfer-sides h3, .gb-transfer-fit h3 { font-size: 14px; margin: 0.4em 0; }
.gb-transfer-fit table { border-collapse: collapse; margin: 0.4em 0; font-variant-numeric: tabular-nums; }
.gb-transfer-fit th, .gb-transfer-fit td { border-bottom: 1px solid var(--gb-border); padding: 3px 10px 3px 0; text-align: left; }
.gb-transfer-fit details { margin-top: 0.4em; }
.gb-transfer-fit li.wrong { color: var(--gb-error-text); }
`;

let transferSheet = null;
function transferSheets() {
  if (!transferSheet) {
    transferSheet = new CSSStyleSheet();
    transferSheet.replaceSync(TRANSFER_CSS);
  }
  return widgetSheets().then((list) => [...list, transferSheet]);
}

const datasets = new Map(); // url -> Promise<data>
function loadData(url) {
  if (!datasets.has(url)) {
    const p = fetchExplained(url, 'the labelled sentences').then((res) => {
      if (!res.ok) throw new Error(`the labelled sentences (${url}) answered ${res.status}. Check the data attribute`);
      return res.json();
    }).then(checkData);
    p.catch(() => datasets.delete(url));
    datasets.set(url, p);
  }
  return datasets.get(url);
}

function checkData(d) {
  const ok = (list) => Array.isArray(list) && list.every((s) => typeof s?.text === 'string' && Number.isInteger(s?.label));
  if (!d || !Array.isArray(d.classes) || d.classes.length < 2 || !ok(d.train) || !ok(d.test) || !d.train.length) {
    throw new Error('the labelled sentences must be { classes: [..], train: [{ text, label }], test: [{ text, label }] }. See www/data/transfer-sentences.json');
  }
  return d;
}

/** Frozen sentence embeddings of `sentences` by one model: `[N][C]` flat. */
async function embed(entry, sentences) {
  const rows = [];
  for (const s of sentences) {
    const r = await sharedRun(entry, s.text);
    if (!r.sentenceEmbedding) throw new Error(`${entry.name} gives no sentence embedding. The classifier needs an encoder-only model such as glassbox-bert`);
    rows.push(r.sentenceEmbedding);
  }
  const dims = rows[0].length;
  const flat = new Float32Array(rows.length * dims);
  rows.forEach((row, i) => flat.set(row, i * dims));
  return { flat, dims };
}

class GlassboxTransfer extends LazyElement {
  static observedAttributes = ['model', 'random-seed', 'text', 'data', 'hide'];

  constructor() {
    super();
    this._seq = 0;
    this._held = []; // the models shown now (base.js's sharedModel holds): the pretrained one and its random twin
    this._text = null;
    this._fitKey = null;
    /** `{ pretrained: { trainAccuracy, testAccuracy, testPredictions }, random: {...}, classes, test }` once fitted. */
    this.fit = null;
  }

  get text() {
    return this._text ?? this.getAttribute('text') ?? DEFAULT_TEXT;
  }

  get modelSpec() {
    return this.getAttribute('model') || DEFAULT_MODEL;
  }

  get seed() {
    return Math.max(0, Math.round(numberAttr(this, 'random-seed', DEFAULT_SEED)));
  }

  get dataUrl() {
    const d = this.getAttribute('data');
    return d ? new URL(d, document.baseURI).href : new URL('data/transfer-sentences.json', HERE).href;
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (!this._built || oldValue === newValue) return;
    if (name === 'text') this._text = null;
    this._chrome();
    if (this._awake) this._update();
  }

  _hidden(name) {
    const hide = (this.getAttribute('hide') ?? '').split(/[\s,]+/).filter(Boolean);
    return hide.includes(name) || hide.includes('all');
  }

  _build() {
    this._built = true;
    transferSheets().then((list) => { this.shadowRoot.adoptedStyleSheets = list; });
    this.ui = {};
    this.ui.title = h('span', { class: 'gb-model' }, 'Pretrained vs random weights');
    this.ui.textArea = h('textarea', { rows: 2, spellcheck: false, 'aria-label': 'Text' });
    this.ui.backdrop = h('div', { class: 'text-backdrop', 'aria-hidden': 'true' });
    this.ui.textWrap = h('div', { class: 'text-wrap', dataset: { control: 'text' } }, this.ui.backdrop, this.ui.textArea);
    this.ui.textArea.addEventListener('input', () => {
      this._text = this.ui.textArea.value;
      renderTextHighlight(this.ui.backdrop, this._text, null);
      clearTimeout(this._timer);
      this._timer = setTimeout(() => this._update(), TEXT_DELAY_MS);
    });
    this.ui.status = h('p', { class: 'gb-status placeholder', 'aria-live': 'polite' });
    this.ui.error = h('p', { class: 'error', role: 'alert', hidden: true });
    const side = (key, heading) => {
      const head = h('h3', {}, heading);
      const map = h('div', { class: 'heatmap-wrap' });
      const preds = h('div', { class: 'predictions' });
      const box = h('section', { dataset: { side: key }, 'aria-label': heading }, head, map, preds);
      return { box, head, map, preds };
    };
    this.ui.pre = side('pretrained', 'Pretrained');
    this.ui.rnd = side('random', 'Random weights');
    this.ui.sides = h('div', { class: 'gb-transfer-sides', dataset: { control: 'compare' } }, this.ui.pre.box, this.ui.rnd.box);
    this.ui.fitText = h('p', {});
    this.ui.table = h('div', {});
    this.ui.list = h('div', {});
    this.ui.fit = h('section', { class: 'gb-transfer-fit', dataset: { control: 'classifier' }, 'aria-label': 'A classifier on frozen features' },
      h('h3', {}, 'A tiny classifier on frozen features'), this.ui.fitText, this.ui.table, this.ui.list,
      h('p', { class: 'muted' }, 'A linear classifier (like this logistic regression) on top of a pretrained encoder whose weights stay frozen is '
        + 'called a linear probe; any classifier trained on frozen features is feature extraction. Fine-tuning goes further and trains the encoder\'s own weights together with the classifier. The random twin has the same architecture and the same '
        + 'classifier: only what pretraining put into the weights differs.'));
    this.ui.root = h('div', { class: 'gb-widget', part: 'widget' },
      h('div', { class: 'gb-head', part: 'head' }, this.ui.title), this.ui.textWrap, this.ui.status, this.ui.error, this.ui.sides, this.ui.fit);
    this.shadowRoot.append(this.ui.root);
    this._chrome();
    this._setStatus('waiting', 'Scroll here to load the models.');
  }

  _chrome() {
    if (this.ui.textArea.value !== this.text) {
      this.ui.textArea.value = this.text;
      renderTextHighlight(this.ui.backdrop, this.text, null);
    }
    this.ui.textArea.readOnly = this.hasAttribute('readonly');
    for (const node of this.shadowRoot.querySelectorAll('[data-control]')) node.hidden = this._hidden(node.dataset.control);
  }

  _wake() {
    if (this._awake) return;
    this._awake = true;
    this._update();
  }

  async _update() {
    const seq = ++this._seq;
    const current = () => seq === this._seq;
    try {
      this.ui.error.hidden = true;
      this._setStatus('loading', 'Loading the model and its random twin…');
      // Each update holds the two models it asked for; the pair shown before is given back once a newer one arrives.
      const asked = await Promise.allSettled([sharedModel(this.modelSpec, null, this), sharedModel(this.modelSpec, this.seed, this)]);
      const failed = asked.find((r) => r.status === 'rejected');
      if (failed || !current()) {
        for (const r of asked) if (r.status === 'fulfilled') releaseModel(r.value, this);
        if (failed) throw failed.reason;
        return;
      }
      const [pre, rnd] = asked.map((r) => r.value);
      for (const entry of this._held) releaseModel(entry, this);
      this._held = [pre, rnd];
      this.ui.title.textContent = `${pre.name}: pretrained vs random weights (seed ${this.seed})`;
      this.ui.rnd.head.textContent = `Random weights (seed ${this.seed})`;
      const text = this.text;
      const [preRun, rndRun] = await Promise.all([sharedRun(pre, text), sharedRun(rnd, text)]);
      if (!current()) return;
      this._drawSide(this.ui.pre, pre, preRun);
      this._drawSide(this.ui.rnd, rnd, rndRun);
      const key = `${pre.key}\u0000${rnd.key}\u0000${this.dataUrl}`;
      if (this._fitKey !== key) {
        this._setStatus('running', 'Embedding the labelled sentences with both models and fitting the classifiers…');
        const fit = await this._fit(pre, rnd);
        if (!current()) return;
        this.fit = fit;
        this._fitKey = key;
        this._drawFit();
      }
      this._setStatus('ready', '');
      this.dispatchEvent(new CustomEvent('glassbox-ready', { bubbles: true, composed: true }));
    } catch (err) {
      if (!current()) return;
      const message = err instanceof Error ? err.message : String(err);
      this.ui.error.textContent = asSentence(message);
      this.ui.error.hidden = false;
      this._setStatus('error', '');
      this.dispatchEvent(new CustomEvent('glassbox-error', { bubbles: true, composed: true, detail: { message } }));
    }
  }

  _drawSide(side, entry, run) {
    const { info } = entry.model;
    const kind = run.attentions.encoder ? 'encoder' : 'decoder';
    const L = run.attentions[kind].shape[0];
    const who = side === this.ui.pre ? 'pretrained' : 'random weights';
    renderHeatmap(side.map, { ...attentionMap(run, { kind, layer: L - 1, head: 'mean', scheme: entry.scheme, window: windowOf(info, kind, L - 1),
      title: `Attention, ${who}, last layer (${L}), mean of heads` }), raster });
    renderPredictions(side.preds, { info, result: run, scheme: entry.scheme });
  }

  async _fit(pre, rnd) {
    const data = await loadData(this.dataUrl);
    const gb = await sharedGlassbox();
    const classes = data.classes.length;
    const one = async (entry) => {
      const train = await embed(entry, data.train);
      const test = await embed(entry, data.test);
      return gb.fitLogistic({
        dims: train.dims, classes,
        trainFeatures: train.flat, trainLabels: data.train.map((s) => s.label),
        testFeatures: test.flat, testLabels: data.test.map((s) => s.label),
      });
    };
    return { classes: data.classes, task: data.task, train: data.train, test: data.test, pretrained: await one(pre), random: await one(rnd) };
  }

  _drawFit() {
    const f = this.fit;
    const pct = (v) => `${Math.round(100 * v)}%`;
    this.ui.fitText.textContent = `${f.task ?? ''} A logistic regression is fitted on ${f.train.length} labelled sentences (${f.classes.join(' / ')}) `
      + `over each model's mean-pooled sentence embedding, which stays frozen, and tested on ${f.test.length} sentences it has not seen.`;
    const row = (name, r) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, pct(r.trainAccuracy)), h('td', { dataset: { heldOut: '' } }, pct(r.testAccuracy)));
    this.ui.table.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Features from'), h('th', { scope: 'col' }, 'Training accuracy'), h('th', { scope: 'col' }, 'Held-out accuracy'))),
      h('tbody', {}, row('Pretrained encoder', f.pretrained), row(`Random twin (seed ${this.seed})`, f.random))));
    const list = (r) => h('ul', {}, ...f.test.map((s, i) => {
      const said = r.testPredictions[i];
      return h('li', { class: said === s.label ? 'right' : 'wrong' }, `${s.text} → ${f.classes[said]}${said === s.label ? '' : ` (is ${f.classes[s.label]})`}`);
    }));
    this.ui.list.replaceChildren(
      h('details', {}, h('summary', {}, 'Held-out sentences, pretrained features'), list(f.pretrained)),
      h('details', {}, h('summary', {}, 'Held-out sentences, random features'), list(f.random)));
  }
}

define('glassbox-transfer', GlassboxTransfer);

export { GlassboxTransfer };

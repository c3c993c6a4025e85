// Glassbox widgets: custom elements a tutorial author drops into any page with one module script.
//
//   <script type="module" src="https://example.org/glassbox/glassbox-widgets.js"></script>
//   <glassbox-tokens model="glassbox-gpt2" text="Tokenizers split words."></glassbox-tokens>
//   <glassbox-attention model="@gpt2" text="The cat sat on the mat" layer="2" head="3"></glassbox-attention>
//   <glassbox-generation model="glassbox-gpt2" text="Once upon a time" temperature="0.8" seed="42"></glassbox-generation>
//
// Every widget on a page shares one Web Worker (one Glassbox) and each model is loaded once, however many
// widgets show it. A widget starts its work only when it scrolls into view. Each lives in a shadow root:
// the host page's styles do not reach inside and ours do not leak out; the look is set through the
// --gb-* custom properties (light and dark built in). The drawing is done by the page's own views
// (./views/*.js), so a widget shows exactly what the page shows. Guide: docs/widgets.md.

// The shared machinery is in ./elements/base.js; elements added later live in ./elements/<name>.js and are
// imported at the bottom of this file, so this one script still defines every element.

import { renderTokens } from './views/tokens.js';
import { mountRealTokenizer } from './elements/tokens-real.js';
import { renderTextHighlight } from './views/text-highlight.js';
import { renderHeatmap } from './views/heatmap.js';
import { renderGenerated, generationStatus, repetitionNote } from './views/generated.js';
import { renderSampling, topKWithin } from './views/sampling.js';
import { renderSegmented, renderSelect } from './views/controls.js';
import { ATTENTION_KINDS, attentionExplanation, windowOf } from './views/explain.js';
import { attentionMap, axesOf, stepMap } from './run-view.js';
import { renderQkv, qkvModelFacts } from './views/qkv.js';
import { renderPredictions } from './views/fill-mask.js';
import { describeChoice, scorePatterns } from './head-choice.js';
import {
  COMMON_ATTRIBUTES,
  GlassboxElement,
  N_CANDIDATES,
  define,
  glassbox,
  h,
  numberAttr,
  range,
  raster,
  sharedGlassbox,
  sharedRun,
  sharedTranslationRun,
  stats,
  translationLinkState,
} from './elements/base.js';

export { configure, stats, sharedGlassbox, bundledModels, sharedModel, releaseModel } from './elements/base.js';

class GlassboxTokens extends GlassboxElement {
  static observedAttributes = [...COMMON_ATTRIBUTES, 'special-tokens', 'tokenizer'];

  buildControls() {
    this.ui.tokens = h('div', { class: 'tokens', role: 'listbox', 'aria-label': 'Tokens', 'aria-orientation': 'horizontal' });
    this.ui.count = h('p', { class: 'muted', dataset: { control: 'count' } });
    // tokenizer="gpt2" | "bert-base-uncased": the same text through that real tokenizer, side by side.
    this.ui.compare = h('div', { class: 'real-tokenizers', hidden: true });
    this.ui.body.append(this.ui.tokens, this.ui.count, this.ui.compare);
    this._compare = mountRealTokenizer(this, this.ui.compare);
    this.ui.controls.dataset.unavailable = 'true';
  }

  async update(entry, isCurrent) {
    const text = this.text;
    const addSpecialTokens = this.getAttribute('special-tokens') !== 'false';
    const tokens = await entry.model.tokenize(text, { addSpecialTokens });
    if (!isCurrent()) return;
    const { tokenizer, vocabSize, tokenizerVocabSize: known } = entry.model.info;
    renderTokens(this.ui.tokens, tokens, {
      scheme: entry.scheme,
      onHighlight: (span) => {
        renderTextHighlight(this.ui.backdrop, this.text, this.text === text ? span : null);
        this.ui.backdrop.scrollTop = this.ui.textArea.scrollTop;
      },
    });
    const n = tokens.ids.length;
    // The tokenizer's own count; vocabSize is config.json's (the embedding table's rows), which may exceed what
    // the tokenizer can produce (T5: 32,128 rows for 32,100 pieces; Qwen2 pads its table too).
    const rows = known === vocabSize ? '' : ` (the model's embedding table has ${vocabSize.toLocaleString('en')} rows)`;
    this.ui.count.textContent = `${n} token${n === 1 ? '' : 's'} from a ${tokenizer} tokenizer of ${known.toLocaleString('en')} tokens${rows}.`;
    this.tokens = tokens;
    await this._compare.update(entry, tokens, text);
  }

  linkState() {
    return { ...super.linkState(), view: 'tokens', tokenizer: this.getAttribute('tokenizer') ?? '' };
  }
}

// ---- <glassbox-attention> -----------------------------------------------------------------------

/** The attention map of one layer and head (or the mean of the heads), for any attention kind. */
class GlassboxAttention extends GlassboxElement {
  static observedAttributes = [...COMMON_ATTRIBUTES, 'layer', 'head', 'kind'];

  buildControls() {
    this.ui.kind = h('fieldset', { class: 'segmented', dataset: { control: 'kind' } },
      h('legend', { class: 'visually-hidden' }, 'Which attention'));
    this.ui.controls.append(this.ui.kind);
    this.ui.layer = this._field('layer', 'Layer', h('select'));
    this.ui.head = this._field('head', 'Head', h('select'));
    this.ui.heatmap = h('div', { class: 'heatmap', id: `${this._uid}-heatmap` });
    this.ui.explain = h('p', { class: 'explain', dataset: { control: 'explain' } });
    this.ui.why = h('p', { class: 'explain', dataset: { control: 'explain', why: '' } });
    this.ui.body.append(this.ui.why, this.ui.heatmap, this.ui.explain);
    // <glassbox-model-view> (and the other views) focus a layer and head of the same model and text.
    document.addEventListener('glassbox-focus', (e) => {
      const d = e.detail ?? {};
      if (d.run || d.model !== (this.getAttribute('model') ?? '') || d.text !== this.text) return;
      this._choice = { kind: d.kind, layer: d.layer - 1, head: d.head - 1 };
      this._redraw();
    });
    // The reader's choices override the attributes until the author changes them.
    this._choice = {};
    this.ui.layer.addEventListener('change', () => { this._choice.layer = Number(this.ui.layer.value); this._redraw(); });
    this.ui.head.addEventListener('change', () => {
      const v = this.ui.head.value;
      this._choice.head = v === 'mean' ? 'mean' : Number(v);
      this._redraw();
    });
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (name === 'layer' || name === 'head' || name === 'kind') delete this._choice?.[name];
    super.attributeChangedCallback(name, oldValue, newValue);
  }

  /** Layer (0-based) from the 1-based attribute or the reader's choice. */
  get layer() {
    return this._choice?.layer ?? Math.max(0, numberAttr(this, 'layer', 1) - 1);
  }

  /** Head: 'mean' or a 0-based index (the attribute is 1-based). */
  get head() {
    if (this._choice?.head !== undefined) return this._choice.head;
    const raw = (this.getAttribute('head') ?? 'mean').trim();
    return raw === 'mean' || raw === '' ? 'mean' : Math.max(0, numberAttr(this, 'head', 1) - 1);
  }

  get kind() {
    return this._choice?.kind ?? this.getAttribute('kind') ?? '';
  }

  linkState() {
    const head = this.head;
    return { ...super.linkState(), view: 'attention', kind: this.kind || undefined, layer: this.layer + 1,
      head: head === 'mean' ? 'mean' : head + 1, ...translationLinkState(this._result, this.shown?.kind ?? this.kind) };
  }

  async update(entry, isCurrent) {
    const text = this.text;
    const { info } = entry.model;
    const wantsDecoder = info.kind === 'encoder-decoder' && this.kind !== 'encoder' && this.kind !== '';
    const result = await (info.kind === 'encoder-decoder' && (wantsDecoder || this.kind === '')
      ? sharedTranslationRun(entry, text) : sharedRun(entry, text, null, this.pair));
    // Without a layer and head named, open on the head the pattern scores pick (head-choice.js).
    const gb = await sharedGlassbox();
    const kinds = ['encoder', 'decoder', 'cross'].filter((k) => result.attentions[k]);
    const scores = await Promise.all(kinds.map((k) => scorePatterns(gb, result, k).catch(() => null)));
    if (!isCurrent()) return;
    this._result = result;
    this._resultInfo = info;
    this._scores = Object.fromEntries(kinds.map((k, i) => [k, scores[i]]));
    this._redraw();
  }

  _redraw() {
    const r = this._result;
    const info = this._resultInfo;
    if (!r) return;
    const kinds = ['encoder', 'decoder', 'cross'].filter((k) => r.attentions[k]);
    let kind = this.kind;
    if (!kinds.includes(kind)) kind = info.kind === 'encoder-decoder' ? 'cross' : kinds[0];
    if (!kinds.includes(kind)) kind = kinds[0];
    renderSegmented(this.ui.kind, `${this._uid}-kind`, kinds.map((k) => ({ value: k, label: ATTENTION_KINDS[k].label })),
      kind, (v) => { this._choice.kind = v; this._redraw(); });
    this.ui.kind.dataset.unavailable = String(kinds.length < 2);
    const tensor = r.attentions[kind];
    const [L, H, Tq, Tk] = tensor.shape;
    const picked = this._picked(kind);
    const layer = Math.min(L - 1, picked?.layer ?? this.layer);
    let head = picked ? picked.head : this.head;
    if (head !== 'mean' && head >= H) head = H - 1;
    this._setNotes('view', this._rangeNotes(kinds, kind, L, H, layer, head));
    renderSelect(this.ui.layer, range(L).map((l) => ({ value: String(l), label: `${l + 1} of ${L}` })), String(layer));
    renderSelect(this.ui.head, [{ value: 'mean', label: 'mean of heads' },
      ...range(H).map((i) => ({ value: String(i), label: `${i + 1} of ${H}` }))], String(head));
    this._applyChrome();

    const window = windowOf(info, kind, layer);
    renderHeatmap(this.ui.heatmap, { ...attentionMap(r, { kind, layer, head, scheme: this._entry.scheme, window }), raster });
    Object.assign(this.ui.heatmap.dataset, { kind, layer: String(layer), head: String(head) });
    this.shown = { kind, layer, head, nRows: Tq, nCols: Tk };
    this.ui.explain.textContent = attentionExplanation(kind, { window });
    this.ui.why.textContent = picked !== undefined ? describeChoice(picked) : '';
  }

  /**
   * The author's kind, layer or head attribute when the model has no such one: what is shown instead, and why.
   * (The reader's own choices come from the menus and are always valid.)
   */
  _rangeNotes(kinds, kind, L, H, layer, head) {
    const notes = [];
    const raw = (name) => (this._choice[name] === undefined ? this.getAttribute(name)?.trim() : undefined);
    const wanted = raw('kind');
    if (wanted && wanted !== kind) {
      const has = kinds.join(' and ');
      notes.push(['encoder', 'decoder', 'cross'].includes(wanted)
        ? `kind="${wanted}": this model has no ${wanted} attention (it has ${has}), so ${kind} is shown.`
        : `kind="${wanted}" is not a kind (encoder, decoder or cross); this model has ${has}, so ${kind} is shown.`);
    }
    const n = (name) => { const v = raw(name); return v && Number.isFinite(Number(v)) ? Number(v) : null; };
    const wantedLayer = n('layer');
    if (wantedLayer !== null && wantedLayer !== layer + 1) {
      notes.push(`layer="${raw('layer')}": layers count from 1 and the ${kind} attention has ${L}, so layer ${layer + 1} is shown.`);
    }
    const wantedHead = n('head');
    if (wantedHead !== null && head !== 'mean' && wantedHead !== head + 1) {
      notes.push(`head="${raw('head')}": heads count from 1 and each layer has ${H}, so head ${head + 1} is shown.`);
    }
    return notes;
  }

  /**
   * The head the pattern scores pick for `kind` when neither the attributes nor the reader named a layer or head:
   * `{ layer, head, pattern, score, chance }`, null (no head beats uniform attention: the mean is shown), or
   * undefined (a layer or head was named).
   */
  _picked(kind) {
    const named = this.hasAttribute('layer') || this.hasAttribute('head') || this._choice.layer !== undefined || this._choice.head !== undefined;
    if (named || !this._scores?.[kind]) return undefined;
    return this._scores[kind].best;
  }
}

// ---- <glassbox-generation> ----------------------------------------------------------------------

/** Writing token by token: temperature, top-k, top-p and seed; the candidates at each step. */
class GlassboxGeneration extends GlassboxElement {
  // `tgt-lang`: a translation model's target language (NLLB's fra_Latn, mBART-50's fr_XX, M2M100's fr), forced as
  // the first token the decoder writes (after its start token) in each run. The source language is the model's own (widgets share loaded models).
  static observedAttributes = [...COMMON_ATTRIBUTES, 'temperature', 'top-k', 'top-p', 'seed', 'max-tokens', 'autorun', 'tgt-lang'];

  buildControls() {
    const num = (control, label, attrs) => this._field(control, label, h('input', { type: 'number', ...attrs }), true);
    this.ui.temperature = num('temperature', 'Temperature', { min: '0', max: '5', step: '0.1' });
    this.ui.topK = num('top-k', 'Top-k', { min: '0', step: '1' });
    this.ui.topP = num('top-p', 'Top-p', { min: '0', max: '1', step: '0.05' });
    this.ui.seed = num('seed', 'Seed', { min: '0', step: '1' });
    this.ui.maxTokens = num('max-tokens', 'Tokens', { min: '1', max: '200', step: '1' });
    this.ui.generate = h('button', { type: 'button', class: 'primary' }, 'Generate');
    this.ui.stop = h('button', { type: 'button', class: 'secondary' }, 'Stop');
    this.ui.controls.append(h('div', { class: 'button-row', dataset: { control: 'buttons' } }, this.ui.generate, this.ui.stop));
    this.ui.generated = h('div', { class: 'generated' });
    this.ui.candidates = h('div', { class: 'candidates' });
    // The attention the selected token was produced with: one row per head (and their mean), for one layer.
    this.ui.stepKind = h('fieldset', { class: 'segmented' }, h('legend', { class: 'visually-hidden' }, 'Which attention of this step'));
    this.ui.stepLayer = h('select', { id: `${this._uid}-step-layer` });
    this.ui.stepHeatmap = h('div', { class: 'heatmap', id: `${this._uid}-step-heatmap` });
    this.ui.stepPlaceholder = h('p', { class: 'placeholder' }, 'Select a generated token.');
    this.ui.stepControls = h('div', { class: 'attention-controls' }, this.ui.stepKind,
      h('div', { class: 'field compact' }, h('label', { for: this.ui.stepLayer.id }, 'Layer'), this.ui.stepLayer));
    this.ui.body.append(this.ui.generated, h('div', { class: 'generation-views' },
      h('div', { dataset: { control: 'candidates' } }, h('h3', {}, 'Next-token probabilities'), this.ui.candidates),
      h('div', { dataset: { control: 'step-attention' } }, h('h3', {}, 'Attention that produced it'),
        this.ui.stepControls, this.ui.stepHeatmap, this.ui.stepPlaceholder)));
    this._step = { kind: 'self', layer: 0 };
    this.ui.stepLayer.addEventListener('change', () => { this._step.layer = Number(this.ui.stepLayer.value); this._render(); });
    this.ui.generate.addEventListener('click', () => this._generate());
    for (const input of [this.ui.temperature, this.ui.topK, this.ui.topP, this.ui.seed, this.ui.maxTokens]) {
      input.addEventListener('input', () => this._noteSampling());
    }
    this.ui.stop.addEventListener('click', () => this._gen?.handle?.cancel());
    this.ui.stop.dataset.busy = 'true';
    this.ui.stop.disabled = true;
    this._syncInputs();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (['temperature', 'top-k', 'top-p', 'seed', 'max-tokens'].includes(name)) this._syncInputs();
    super.attributeChangedCallback(name, oldValue, newValue);
  }

  _syncInputs() {
    if (!this.ui) return;
    this.ui.temperature.value = String(numberAttr(this, 'temperature', 0));
    this.ui.topK.value = String(numberAttr(this, 'top-k', 0));
    this.ui.topP.value = String(numberAttr(this, 'top-p', 1));
    this.ui.seed.value = String(numberAttr(this, 'seed', 42));
    this.ui.maxTokens.value = String(numberAttr(this, 'max-tokens', 12));
    this._noteSampling();
  }

  /** The sampling settings from the inputs (the reader may have changed them). */
  sampling() {
    return this._readSampling().values;
  }

  /**
   * The sampling settings the inputs give, and a note for each input whose value cannot be used as it stands
   * (top-p 7, a negative seed, 2.5 tokens): what is used instead is said, not silently put in its place.
   */
  _readSampling() {
    const notes = [];
    const read = (input, label, fallback, { max = Infinity, whole = false } = {}) => {
      const raw = input.value.trim();
      const v = Number(raw);
      if (raw === '' || !Number.isFinite(v)) return fallback;
      if (v < 0) {
        notes.push(`${label} ${raw} is below 0, so ${fallback} is used.`);
        return fallback;
      }
      let used = v;
      if (whole && !Number.isInteger(used)) used = Math.floor(used);
      if (used > max) used = max;
      if (used !== v) notes.push(`${label} ${raw} ${v > max ? `is past ${max}` : 'is not a whole number'}, so ${used} is used.`);
      return used;
    };
    // In the order the inputs are shown, so the notes read in that order too.
    const temperature = read(this.ui.temperature, 'Temperature', 0);
    const topK = read(this.ui.topK, 'Top-k', 0, { whole: true });
    const topP = read(this.ui.topP, 'Top-p', 1, { max: 1 });
    const seed = read(this.ui.seed, 'Seed', 42, { whole: true });
    const maxNewTokens = read(this.ui.maxTokens, 'Tokens', 12, { max: 200, whole: true });
    const values = {
      temperature, topK, topP, seed,
      maxNewTokens: maxNewTokens === 0 ? 1 : maxNewTokens,
      // The widget has no Beams control: one beam always, or a model whose generation_config.json asks for beams
      // would turn temperature 0 into a beam search (no per-step probabilities to show).
      numBeams: 1,
    };
    if (maxNewTokens === 0) notes.push('Tokens 0 writes nothing, so 1 is used.');
    return { values, notes };
  }

  /** Say which inputs cannot be used as they stand (on every change, and when the attributes set them). */
  _noteSampling() {
    if (this.ui) this._setNotes('view', this._readSampling().notes);
  }

  linkState() {
    const s = this.ui ? this.sampling() : {};
    return { ...super.linkState(), view: 'generate', temperature: s.temperature, topK: s.topK, topP: s.topP,
      seed: s.seed, maxTokens: s.maxNewTokens, generate: true, ...(this.getAttribute('tgt-lang') ? { tgtLang: this.getAttribute('tgt-lang') } : {}) };
  }

  async update(entry, isCurrent) {
    const { info } = entry.model;
    if (info.kind === 'encoder-only' || !info.hasLmHead) {
      throw new Error(`${entry.name} is an ${info.kind} model without a next-token head: it reads text but does not `
        + 'write it. Use a decoder-only or encoder-decoder model here');
    }
    if (!isCurrent()) return;
    this._gen?.handle?.cancel();
    this._gen = null;
    this._render();
    if (this.hasAttribute('autorun')) await this._generate();
  }

  async _generate() {
    const entry = this._entry;
    if (!entry || this._gen?.running) return;
    this._clearError();
    const text = this.text;
    const { info } = entry.model;
    const sampling = this.sampling();
    sampling.topK = topKWithin(sampling.topK, info.vocabSize);
    // `entry`: the model that writes it, kept for drawing its steps after the widget's model attribute changes.
    const gen = { steps: [], selected: null, running: true, status: 'Generating…', entry,
      prompt: info.kind === 'decoder-only' ? text : '', handle: null, input: null, prefixTokens: null, sampling };
    this._gen = gen;
    this._busy(true);
    this._render();
    stats.generations += 1;
    const target = this.getAttribute('tgt-lang');
    gen.handle = entry.model.generate(text, {
      ...sampling, numCandidates: N_CANDIDATES, captureAttention: !this._hidden('step-attention'),
      ...(target ? { targetLanguage: target } : {}),
      onToken: (t) => {
        if (this._gen !== gen) return;
        gen.steps.push(t);
        gen.selected = gen.steps.length - 1;
        // Tokens come a frame's worth at a time: draw once per frame, not once per token.
        if (gen.renderPending) return;
        gen.renderPending = true;
        requestAnimationFrame(() => { gen.renderPending = false; if (this._gen === gen) this._render(); });
      },
    });
    // What was fed before the first new token: the keys' labels in the step maps.
    gen.handle.started?.then((s) => {
      gen.input = s.input ?? null;
      gen.prefixTokens = s.prefixTokens ?? null;
      gen.prefixSpecial = s.prefixSpecial ?? null;
      if (this._gen === gen) this._render();
    }, () => {});
    try {
      const res = await gen.handle.done;
      gen.status = generationStatus(res, info.kind, sampling);
      const loop = repetitionNote(info.kind === 'decoder-only' ? text : '', gen.steps.at(-1)?.text ?? '', { sampling, beams: Boolean(res.beams) });
      if (loop) gen.status = `${gen.status} ${loop}`;
      gen.result = res;
      this.generated = res;
    } catch (err) {
      gen.status = '';
      if (this._gen === gen) this._showError(err);
    } finally {
      gen.running = false;
      if (this._gen === gen) {
        this._busy(false);
        this._render();
        this.dispatchEvent(new CustomEvent('glassbox-generated', { bubbles: true, composed: true, detail: gen.result }));
      }
    }
  }

  _busy(on) {
    this.dataset.status = on ? 'generating' : 'ready';
    this.ui.generate.dataset.busy = on ? 'true' : '';
    this.ui.generate.disabled = on || this._readonly;
    this.ui.stop.dataset.busy = on ? '' : 'true';
    this.ui.stop.disabled = !on;
  }

  _render() {
    const gen = this._gen;
    const scheme = gen?.entry.scheme ?? this._entry?.scheme ?? 'plain';
    const steps = gen?.steps ?? [];
    renderGenerated(this.ui.generated, {
      prompt: gen?.prompt ?? '', steps, selected: gen?.selected ?? null, scheme, status: gen?.status ?? '',
      onSelect: (i) => { if (gen?.steps[i]) { gen.selected = i; this._render(); } },
    });
    const step = gen ? steps[gen.selected] : null;
    renderSampling(this.ui.candidates, { step, settings: gen?.sampling, vocabSize: this._entry?.model.info.vocabSize ?? 0, scheme });
    this._renderStep(step, gen?.selected ?? 0);
  }

  /** As on the page: for the selected step, one row per head (and the mean) over the keys it could see. */
  _renderStep(step, s) {
    const att = step?.attentions;
    const show = Boolean(att);
    this.ui.stepControls.hidden = !show;
    this.ui.stepHeatmap.hidden = !show;
    this.ui.stepPlaceholder.hidden = show;
    if (!show) return;
    const kinds = att.cross ? ['self', 'cross'] : ['self'];
    if (!kinds.includes(this._step.kind)) this._step.kind = 'self';
    renderSegmented(this.ui.stepKind, `${this._uid}-step-kind`, kinds.map((k) => ({ value: k, label: k === 'self' ? 'Self' : 'Cross' })),
      this._step.kind, (v) => { this._step.kind = v; this._render(); });
    const tensor = att[this._step.kind];
    const [L] = tensor.shape;
    const layer = Math.min(L - 1, this._step.layer);
    renderSelect(this.ui.stepLayer, range(L).map((l) => ({ value: String(l), label: `${l + 1} of ${L}` })), String(layer));
    const { entry } = this._gen;
    const view = stepMap(this._gen, { s, kind: this._step.kind, layer, modelKind: entry.model.info.kind, scheme: entry.scheme });
    renderHeatmap(this.ui.stepHeatmap, { ...view, raster: stepRaster });
  }
}

/**
 * The step map follows a generation's tokens: its cells come back as pixels (rasterizeMap) rather than an
 * ImageBitmap, whose OffscreenCanvas costs the worker several times the rasterising itself, between the
 * generation's batches.
 */
async function stepRaster(values, options) {
  return (await sharedGlassbox()).rasterizeMap(values, options);
}

// ---- <glassbox-qkv> and <glassbox-predictions> (the page's teaching views) -------------------------

/**
 * One head's query/key/value arithmetic for one query token, with the model's numbers:
 * `<glassbox-qkv model="glassbox-bert" text="The dog chased the [MASK]." kind="encoder" layer="2" head="1" query="5">`
 * (layer, head and query 1-based; kind: encoder, decoder or cross).
 */
class GlassboxQkv extends GlassboxElement {
  static observedAttributes = [...COMMON_ATTRIBUTES, 'kind', 'layer', 'head', 'query'];

  buildControls() {
    this.ui.kind = this._field('kind', 'Attention', h('select'));
    this.ui.layer = this._field('layer', 'Layer', h('select'));
    this.ui.head = this._field('head', 'Head', h('select'));
    this.ui.qkv = h('div', { class: 'qkv' });
    this.ui.body.append(this.ui.qkv);
    this._choice = {};
    this.ui.kind.addEventListener('change', () => { this._choice.kind = this.ui.kind.value; this._queueUpdate(); });
    this.ui.layer.addEventListener('change', () => { this._choice.layer = Number(this.ui.layer.value); this._queueUpdate(); });
    this.ui.head.addEventListener('change', () => { this._choice.head = Number(this.ui.head.value); this._redraw(); });
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (['kind', 'layer', 'head', 'query'].includes(name)) delete this._choice?.[name];
    super.attributeChangedCallback(name, oldValue, newValue);
  }

  async update(entry, isCurrent) {
    const text = this.text;
    const { model } = entry;
    const dims = {};
    for (const k of ['encoder', 'decoder', 'cross']) {
      const d = await model.attentionDims(k);
      if (d) dims[k] = d;
    }
    const kinds = Object.keys(dims);
    const wanted = this._choice.kind ?? this.getAttribute('kind') ?? '';
    const kind = renderSelect(this.ui.kind, kinds.map((k) => ({ value: k, label: ATTENTION_KINDS[k]?.label ?? k })), kinds.includes(wanted) ? wanted : kinds[0]);
    const [L, H] = dims[kind];
    const layer = renderSelect(this.ui.layer, range(L).map((l) => ({ value: String(l), label: `${l + 1} of ${L}` })),
      String(this._choice.layer ?? Math.min(L - 1, Math.max(0, numberAttr(this, 'layer', 1) - 1))));
    renderSelect(this.ui.head, range(H).map((x) => ({ value: String(x), label: `${x + 1} of ${H}` })),
      String(this._choice.head ?? Math.min(H - 1, Math.max(0, numberAttr(this, 'head', 1) - 1))));
    // The author's kind, layer or head that the model lacks: named, with what is shown instead.
    this._fixedNotes = [];
    const asked = (name) => (this._choice[name] === undefined ? this.getAttribute(name)?.trim() || null : null);
    if (asked('kind') && asked('kind') !== kind) this._fixedNotes.push(`kind="${asked('kind')}": this model has ${kinds.join(' and ')} attention, so ${kind} is shown.`);
    for (const [name, n, shown] of [['layer', L, Number(layer) + 1], ['head', H, Number(this.ui.head.value) + 1]]) {
      const v = Number(asked(name));
      if (asked(name) && Number.isFinite(v) && v !== shown) this._fixedNotes.push(`${name}="${asked(name)}": ${name}s count from 1 and there are ${n}, so ${name} ${shown} is shown.`);
    }
    const info = model.info;
    let decoderIds;
    if (info.kind === 'encoder-decoder') decoderIds = (await sharedTranslationRun(entry, text)).decoderIds;
    const r = await model.inspect(text, { topK: 0, qkv: { kind, layer: Number(layer) }, decoderIds });
    if (!isCurrent()) return;
    const { rows, cols } = axesOf(r, kind, entry.scheme);
    this._view = { trace: r.qkv, ...qkvModelFacts(info, r.qkv), queryLabels: rows.labels, keyLabels: cols.labels };
    this._redraw();
  }

  _redraw() {
    if (!this._view) return;
    const { trace } = this._view;
    const query = Math.min(trace.qLen - 1, this._choice.query ?? Math.max(0, numberAttr(this, 'query', 1) - 1));
    const askedQuery = this._choice.query === undefined ? this.getAttribute('query')?.trim() : null;
    this._setNotes('view', [...(this._fixedNotes ?? []), ...(askedQuery && Number.isFinite(Number(askedQuery)) && Number(askedQuery) !== query + 1
      ? [`query="${askedQuery}": query tokens count from 1 and this text has ${trace.qLen}, so token ${query + 1} is shown.`] : [])]);
    renderQkv(this.ui.qkv, { ...this._view, head: Number(this.ui.head.value), query,
      onQuery: (q) => { this._choice.query = q; this._redraw(); } });
  }
}

/**
 * What the model predicts: the likeliest words at every mask token (masked-LM encoders), the next
 * token (decoders), or the greedy output (encoder-decoders):
 * `<glassbox-predictions model="glassbox-bert" text="The dog chased the [MASK]."></glassbox-predictions>`
 */
class GlassboxPredictions extends GlassboxElement {
  static observedAttributes = [...COMMON_ATTRIBUTES];

  buildControls() {
    this.ui.predictions = h('div', { class: 'predictions' });
    this.ui.body.append(this.ui.predictions);
    this.ui.controls.dataset.unavailable = 'true';
  }

  async update(entry, isCurrent) {
    const text = this.text;
    const { info } = entry.model;
    let output;
    if (info.kind === 'encoder-decoder' && info.hasLmHead) {
      // One beam whatever the model's generation config asks: the output is described as greedy.
      const g = await entry.model.generate(text, { maxNewTokens: 40, temperature: 0, numBeams: 1, numCandidates: 1, captureAttention: false }).done;
      output = { text: g.text };
    }
    const result = await sharedRun(entry, text, null, this.pair);
    if (!isCurrent()) return;
    renderPredictions(this.ui.predictions, { info, result, scheme: entry.scheme, output, pair: this.pair });
  }
}

define('glassbox-tokens', GlassboxTokens);
define('glassbox-attention', GlassboxAttention);
define('glassbox-generation', GlassboxGeneration);
define('glassbox-qkv', GlassboxQkv);
define('glassbox-predictions', GlassboxPredictions);

export { GlassboxTokens, GlassboxAttention, GlassboxGeneration, GlassboxQkv, GlassboxPredictions };
import './elements/lesson.js';
import './elements/head-view.js';
import './elements/model-view.js';
import './elements/rollout.js';
import './elements/rnn.js';
import './elements/transfer.js';

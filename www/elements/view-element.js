// What <glassbox-head-view>, <glassbox-model-view> and <glassbox-rollout> share: a run to show (from the
// `model` and `text` attributes through the shared worker, or handed over by a page that already has one:
// `el.source = { run, info, scheme, glassbox, name }`), the attention kind, layer and head in attributes
// (counted from 1, as everywhere), the head picked by the pattern scores when no attribute names one, and
// the `glassbox-focus` event that keeps several views on the same layer and head.
//
// glassbox-focus: a bubbling, composed CustomEvent whose detail is { kind, layer, head, model, text }
// (layer and head counted from 1, like the attributes). Every view of the same model and text follows it;
// the page listens to it too.

import { COMMON_ATTRIBUTES, GlassboxElement, h, numberAttr, observer, sharedGlassbox, sharedRun, sharedTranslationRun, translationLinkState } from './base.js';
import { ATTENTION_KINDS } from '../views/explain.js';
import { renderSelect } from '../views/controls.js';
import { scorePatterns } from '../head-choice.js';

export const VIEW_ATTRIBUTES = [...COMMON_ATTRIBUTES, 'kind', 'layer', 'head'];

export class ViewElement extends GlassboxElement {
  constructor() {
    super();
    this._source = null;
    this._onFocus = (e) => this._follow(e);
  }

  connectedCallback() {
    super.connectedCallback();
    document.addEventListener('glassbox-focus', this._onFocus);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    document.removeEventListener('glassbox-focus', this._onFocus);
  }

  /**
   * Page mode: show this run instead of loading `model` (`{ run, info, scheme, glassbox, name }`). An `eager`
   * view draws at once; any other waits until it is scrolled into view (the lazy start of every widget).
   */
  set source(src) {
    this._source = src ?? null;
    if (this.hasAttribute('eager') || !observer) this._wake();
    else if (!this._awake && this.ui) this._setStatus('waiting', 'Scroll here to compute this view.');
    this._queueUpdate();
  }

  get source() {
    return this._source;
  }

  _queueUpdate() {
    const src = this._source;
    if (!src && !this.hasAttribute('model')) {
      // On the page, before its first run hands one over.
      this._setStatus('waiting', 'Run the model to see this view.');
      return;
    }
    if (!src) return super._queueUpdate();
    const src0 = src;
    if (!this._awake || this._updateQueued) return;
    this._updateQueued = true;
    queueMicrotask(async () => {
      this._updateQueued = false;
      const seq = ++this._seq;
      // The source now: a newer one may have been handed over after this update was queued.
      const src = this._source ?? src0;
      try {
        this._clearError();
        this.ui.model.textContent = `${src.name ?? ''} · ${src.info.kind}`;
        this._setStatus('running', '');
        this.run = src.run;
        await this.show(src, () => seq === this._seq);
        if (seq !== this._seq) return;
        this._setStatus('ready', '');
        this.dispatchEvent(new CustomEvent('glassbox-ready', { bubbles: true, composed: true }));
      } catch (err) {
        if (seq === this._seq) this._showError(err);
      }
    });
  }

  async update(entry, isCurrent) {
    const { info } = entry.model;
    const run = await (info.kind === 'encoder-decoder' ? sharedTranslationRun(entry, this.text) : sharedRun(entry, this.text, null, this.pair));
    const glassbox = await sharedGlassbox();
    if (!isCurrent()) return;
    /** The run shown (the JS API's RunResult). */
    this.run = run;
    await this.show({ run, info, scheme: entry.scheme, glassbox, name: entry.name }, isCurrent);
    // The "Open in Glassbox" link now knows the run (a translation's decoder and cross maps need the page to generate).
    if (isCurrent()) this._applyChrome();
  }

  /** Subclasses draw `src` here. */
  async show() {}

  /** A kind select in the controls (built by subclasses that want one). */
  _kindControl() {
    this.ui.kind = this._field('kind', 'Attention', h('select'));
    this.ui.kind.addEventListener('change', () => this.setAttribute('kind', this.ui.kind.value));
  }

  /** The kinds `run` has, and the one to show: the attribute's, else the model's natural one. */
  _kindOf(run, info, allowed = ['encoder', 'decoder', 'cross']) {
    const kinds = allowed.filter((k) => run.attentions[k]);
    const wanted = this.getAttribute('kind') ?? '';
    const natural = info.kind === 'encoder-decoder' && kinds.includes('cross') ? 'cross' : kinds[0];
    const kind = kinds.includes(wanted) ? wanted : natural;
    if (this.ui.kind) {
      renderSelect(this.ui.kind, kinds.map((k) => ({ value: k, label: ATTENTION_KINDS[k]?.label ?? k })), kind);
      this.ui.kind.closest('[data-control]').dataset.unavailable = String(kinds.length < 2);
    }
    return { kind, kinds };
  }

  /**
   * Layer and head (0-based) to show: the attributes' (counted from 1), else the head the pattern scores
   * pick (crate/src/teach/patterns.rs). `pick` says why (null when the attributes named it).
   */
  async _headOf(src, kind) {
    const [L, H] = src.run.attentions[kind].shape;
    const scores = await scorePatterns(src.glassbox, src.run, kind);
    const named = this.hasAttribute('layer') || this.hasAttribute('head');
    let layer = Math.min(L - 1, Math.max(0, numberAttr(this, 'layer', 1) - 1));
    let head = Math.min(H - 1, Math.max(0, numberAttr(this, 'head', 1) - 1));
    let pick = null;
    if (!named) {
      pick = scores.best ?? { none: true };
      if (scores.best) ({ layer, head } = scores.best);
    }
    /** The pattern scores of the kind shown (PatternScores of glassbox.d.ts). */
    this.scores = scores;
    return { layer, head, scores, pick, L, H };
  }

  /** Tell the other views (and the page) to show this layer and head (0-based here, 1-based in the event). */
  _announce(kind, layer, head) {
    this.dispatchEvent(new CustomEvent('glassbox-focus', {
      bubbles: true, composed: true,
      detail: { kind, layer: layer + 1, head: head + 1, model: this.getAttribute('model') ?? '', text: this.text, run: this._source?.run ?? null },
    }));
  }

  /** Follow another view's focus when it shows the same model and text (or, on the page, the same run). */
  _follow(e) {
    const d = e.detail ?? {};
    if (e.target === this || !this._sameRun(d)) return;
    if (d.kind) this.setAttribute('kind', d.kind);
    if (d.layer) this.setAttribute('layer', String(d.layer));
    if (d.head) this.setAttribute('head', String(d.head));
  }

  /** Whether a glassbox-focus detail is about what this view shows. */
  _sameRun(d) {
    return this._source ? d.run === this._source.run
      : !d.run && d.model === (this.getAttribute('model') ?? '') && d.text === this.text;
  }

  linkState() {
    return { ...super.linkState(), view: 'attention', kind: this.getAttribute('kind') || undefined,
      layer: numberAttr(this, 'layer', 1), head: this.hasAttribute('head') ? numberAttr(this, 'head', 1) : 'mean',
      ...translationLinkState(this.run, this.shown?.kind ?? this.getAttribute('kind')) };
  }
}

/** One colour per head, distinguishable and dark enough for lines on a light panel (and light enough on dark). */
export const HEAD_COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2',
  '#7f7f7f', '#bcbd22', '#393b79', '#ad494a', '#637939', '#843c39', '#5254a3', '#6b6ecf'];

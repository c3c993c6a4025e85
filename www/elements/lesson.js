// <glassbox-lesson src="lessons/attention.json">: plays a lesson written as data (docs/lessons.md), one step at a
// time. Each step shows a caption and drives one widget (or two side by side) by setting its attributes; the widgets
// are created inside the lesson, as light-DOM children, so they are ordinary Glassbox elements. The step is kept in
// the page's URL hash (`#attention=3`) and restored from it. A lesson file is checked when it loads: a problem
// (malformed JSON, a wrong field, an unknown element, a missing model, a layer or head out of range) is one plain
// sentence that names the step and the field.

import { define, farObserver, fetchExplained, observer, releaseModel, sharedModel, widgetSheets, h } from './base.js';
import { heatmapData } from '../views/heatmap.js';

// ---- the format --------------------------------------------------------------------------------------

/** Keys allowed at the top of a lesson file. */
const LESSON_KEYS = ['title', 'model', 'text', 'element', 'steps'];

/**
 * What a step may set, and the attribute it becomes. Everything but `caption`, `highlight`, `beside` and
 * `attributes` carries over to the following steps until a step changes it.
 */
const STEP_FIELDS = {
  element: null,
  model: 'model',
  text: 'text',
  randomSeed: 'random-seed',
  layer: 'layer',
  head: 'head',
  kind: 'kind',
  query: 'query',
  temperature: 'temperature',
  topK: 'top-k',
  topP: 'top-p',
  seed: 'seed',
  maxTokens: 'max-tokens',
};
const STEP_KEYS = ['caption', 'highlight', 'beside', 'attributes', ...Object.keys(STEP_FIELDS)];

const MODEL_ATTRIBUTES = ['model', 'text', 'random-seed'];
const VIEW_ATTRIBUTES = [...MODEL_ATTRIBUTES, 'layer', 'head', 'kind'];

/**
 * The elements a lesson may drive and the attributes each takes (beyond `hide`, `readonly`, `theme`, `eager`).
 * Some ship in later Glassbox versions; a lesson naming one the page does not define says so at that step.
 */
const ELEMENTS = {
  'glassbox-tokens': [...MODEL_ATTRIBUTES, 'special-tokens'],
  'glassbox-attention': VIEW_ATTRIBUTES,
  'glassbox-qkv': [...VIEW_ATTRIBUTES, 'query'],
  'glassbox-generation': [...MODEL_ATTRIBUTES, 'temperature', 'top-k', 'top-p', 'seed', 'max-tokens', 'autorun'],
  'glassbox-predictions': MODEL_ATTRIBUTES,
  'glassbox-head-view': VIEW_ATTRIBUTES,
  'glassbox-model-view': VIEW_ATTRIBUTES,
  'glassbox-rollout': [...MODEL_ATTRIBUTES, 'kind', 'output'],   // every layer, the heads' mean: no layer or head
  'glassbox-rnn': ['cell', 'length', 'weight-scale', 'clip', 'seed', 'autorun'],
  'glassbox-transfer': MODEL_ATTRIBUTES,
};
const ANY_ELEMENT_ATTRIBUTES = ['hide', 'readonly', 'theme', 'eager'];
/** Elements that can highlight a cell `{ query, key }`: the heatmap's cursor, or the head view's lines of one query. */
const MAP_ELEMENTS = ['glassbox-attention', 'glassbox-head-view'];
/** Elements that highlight a head `{ layer, head }`: the model view's thumbnail. */
const HEAD_ELEMENTS = ['glassbox-model-view'];
const wholeFrom1 = (v) => Number.isSafeInteger(v) && v >= 1; // 1e300 is an integer to JS, but no count
const isCell = (c) => Object.keys(c).every((k) => k === 'query' || k === 'key')
  && ['query', 'key'].every((k) => wholeFrom1(c[k]) || (typeof c[k] === 'string' && c[k].trim()));
const isHead = (c) => Object.keys(c).every((k) => k === 'layer' || k === 'head') && wholeFrom1(c.layer) && wholeFrom1(c.head);

/** Numbers a caption may quote from the step's model: `{vocabSize}`. Each is read from the model's info. */
/** The head width as the model has it (T5's d_kv, a Llama's head_dim need not be d_model / heads). */
const headWidth = (m) => m.info.block?.dHead ?? m.info.dModel / m.info.nHeads;

const FACTS = {
  name: (m) => m.name,
  modelType: (m) => m.info.modelType,
  kind: (m) => m.info.kind,
  tokenizer: (m) => m.info.tokenizer,
  positions: (m) => m.info.positions,
  vocabSize: (m) => m.info.vocabSize,
  dModel: (m) => m.info.dModel,
  dFF: (m) => m.info.dFF,
  ffnRatio: (m) => Math.round((m.info.dFF / m.info.dModel) * 100) / 100,
  nHeads: (m) => m.info.nHeads,
  dHead: (m) => headWidth(m),
  sqrtDHead: (m) => Math.round(Math.sqrt(headWidth(m)) * 100) / 100,
  nLayers: (m) => m.info.nLayers,
  nDecoderLayers: (m) => m.info.nDecoderLayers,
  maxPositions: (m) => m.info.maxPositions,
  nParams: (m) => m.info.nParams,
};

const HEAD_KINDS = ['encoder', 'decoder', 'cross'];

/** A lesson file that cannot be played: `where` names the step and field ("step 3, layer"). */
class LessonError extends Error {
  constructor(where, message) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'LessonError';
  }
}

/** The tag an element name means: "attention" and "glassbox-attention" are the same. */
function tagOf(name) {
  return name.startsWith('glassbox-') ? name : `glassbox-${name}`;
}

function describe(value) {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'number' ? String(value) : Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value;
}

/** The option a misspelt word most likely meant: at most two letters off (edit distance), or none. */
function closest(word, options) {
  const distance = (a, b) => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row;
    }
    return prev[b.length];
  };
  const lower = word.toLowerCase();
  const scored = options.map((o) => [distance(lower, o.toLowerCase()), o]).sort((x, y) => x[0] - y[0]);
  return scored.length && scored[0][0] <= Math.min(2, Math.floor(lower.length / 2)) ? scored[0][1] : undefined;
}

/** Check a step's one field; `where` names it for the message. */
function checkField(where, key, value) {
  const number = (v, lo, hi) => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;
  switch (key) {
    case 'caption':
      if (typeof value !== 'string' || !value.trim()) throw new LessonError(where, 'a caption is text (a non-empty string)');
      for (const [, name] of value.matchAll(/\{([^}]*)\}/g)) {
        if (!Object.hasOwn(FACTS, name)) { // not `in`: {constructor} would pass
          throw new LessonError(where, `the caption quotes {${name}}, which is not a model fact. Use one of: `
            + `${Object.keys(FACTS).map((f) => `{${f}}`).join(', ')}`);
        }
      }
      return;
    case 'element': {
      if (typeof value !== 'string' || !value) throw new LessonError(where, `an element is a name like "attention", not ${describe(value)}`);
      const tag = tagOf(value);
      // A lesson inside a lesson's step would play lessons inside lessons, without end if it is itself.
      if (tag === 'glassbox-lesson') {
        throw new LessonError(where, 'a step cannot show a lesson (it would play lessons inside lessons). '
          + 'Link to the other lesson from a caption instead');
      }
      if (!Object.hasOwn(ELEMENTS, tag) && !customElements.get(tag)) {
        const names = Object.keys(ELEMENTS).map((t) => t.slice('glassbox-'.length));
        const near = closest(value.replace(/^glassbox-/, ''), names);
        throw new LessonError(where, `there is no element "${value}"${near ? ` (did you mean "${near}"?)` : ''}. `
          + `Use one of: ${names.join(', ')}`);
      }
      return;
    }
    case 'model': case 'text':
      if (typeof value !== 'string' || !value.trim()) throw new LessonError(where, `${key} is text (a non-empty string), not ${describe(value)}`);
      return;
    case 'randomSeed':
      if (value !== null && !(Number.isSafeInteger(value) && value >= 0)) {
        throw new LessonError(where, 'randomSeed is a whole number from 0 to 2^53 − 1 (the random twin\'s seed), or null for the trained weights');
      }
      return;
    case 'layer': case 'query': case 'maxTokens':
      if (!wholeFrom1(value)) throw new LessonError(where, `${key} is a whole number counted from 1, not ${describe(value)}`);
      return;
    case 'head':
      if (value !== 'mean' && !wholeFrom1(value)) throw new LessonError(where, `head is a whole number counted from 1, or "mean", not ${describe(value)}`);
      return;
    case 'kind':
      if (!HEAD_KINDS.includes(value)) throw new LessonError(where, `kind is "encoder", "decoder" or "cross", not ${describe(value)}`);
      return;
    case 'temperature':
      if (!number(value, 0, 5)) throw new LessonError(where, 'temperature is a number from 0 (always the likeliest token) to 5');
      return;
    case 'topK': case 'seed':
      // Safe integers only: 1e300 is a whole number to JS, but not one a seed or a count can be.
      if (!(Number.isSafeInteger(value) && value >= 0)) throw new LessonError(where, `${key} is a whole number from 0 to 2^53 − 1${key === 'topK' ? ' (0 = off)' : ''}, not ${describe(value)}`);
      return;
    case 'topP':
      if (!number(value, 0, 1) || value === 0) throw new LessonError(where, 'topP is a number above 0 and at most 1 (1 = off)');
      return;
    case 'highlight': {
      const cells = Array.isArray(value) ? value : [value];
      if (!cells.length) throw new LessonError(where, 'highlight is a cell { "query": …, "key": … } (or a head { "layer": …, "head": … }), or a list of them');
      for (const cell of cells) {
        const ok = cell && typeof cell === 'object' && !Array.isArray(cell) && (isCell(cell) || isHead(cell));
        if (!ok) {
          throw new LessonError(where, 'a highlighted cell is { "query": …, "key": … }, each a token\'s text ("it") or its place counted from 1; '
            + 'on the model view, a highlighted head is { "layer": …, "head": … }, each counted from 1');
        }
      }
      return;
    }
    case 'attributes':
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new LessonError(where, 'attributes is an object of attribute names and values');
      for (const [name, v] of Object.entries(value)) {
        if (!['string', 'number', 'boolean'].includes(typeof v) && v !== null) {
          throw new LessonError(`${where}.${name}`, 'an attribute value is text, a number, true (present) or false/null (absent)');
        }
      }
      return;
    default:
      return;
  }
}

/**
 * Check a parsed lesson and return it in a normal form: `{ title, steps: [{ caption, state, highlight, beside,
 * attributes }] }`, where each step's `state` is what it shows (the lesson's defaults, then every step's changes
 * up to this one). Throws a LessonError naming the step and field.
 */
export function parseLesson(data) {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new LessonError('', 'a lesson file is one JSON object with "title" and "steps"');
  }
  for (const key of Object.keys(data)) {
    if (!LESSON_KEYS.includes(key)) {
      throw new LessonError(`"${key}"`, `not a lesson field. A lesson has: ${LESSON_KEYS.join(', ')} (settings belong in a step)`);
    }
  }
  if (typeof data.title !== 'string' || !data.title.trim()) throw new LessonError('title', 'the lesson needs a title (text)');
  for (const key of ['model', 'text', 'element']) if (key in data) checkField(key, key, data[key]);
  if (!Array.isArray(data.steps) || data.steps.length === 0) {
    throw new LessonError('steps', 'the lesson needs a list of steps, at least one');
  }
  let state = { element: data.element ?? 'attention', model: data.model, text: data.text };
  const steps = data.steps.map((step, i) => {
    const where = `step ${i + 1}`;
    if (!step || typeof step !== 'object' || Array.isArray(step)) throw new LessonError(where, 'a step is an object with at least a caption');
    for (const key of Object.keys(step)) {
      if (!STEP_KEYS.includes(key)) {
        const near = closest(key, STEP_KEYS);
        throw new LessonError(`${where}, "${key}"`, `not a step field${near ? ` (did you mean "${near}"?)` : ''}. A step may set: ${STEP_KEYS.join(', ')}`);
      }
    }
    if (!('caption' in step)) throw new LessonError(where, 'every step needs a caption');
    for (const [key, value] of Object.entries(step)) {
      if (key === 'beside') continue;
      checkField(`${where}, ${key}`, key, value);
    }
    state = { ...state };
    for (const key of Object.keys(STEP_FIELDS)) if (key in step) state[key] = step[key];
    const tag = tagOf(state.element);
    checkAttributes(where, tag, step, step.attributes);
    if (step.highlight) {
      const cells = [step.highlight].flat();
      if (MAP_ELEMENTS.includes(tag) && !cells.every(isCell)) {
        throw new LessonError(`${where}, highlight`, `on "${state.element}" a highlight is a cell { "query": …, "key": … } (a head { "layer": …, "head": … } is for "model-view")`);
      }
      if (HEAD_ELEMENTS.includes(tag) && !cells.every(isHead)) {
        throw new LessonError(`${where}, highlight`, `on "${state.element}" a highlight is a head { "layer": …, "head": … }, each counted from 1`);
      }
      if (!MAP_ELEMENTS.includes(tag) && !HEAD_ELEMENTS.includes(tag)) {
        throw new LessonError(`${where}, highlight`, `only ${[...MAP_ELEMENTS, ...HEAD_ELEMENTS].map((t) => `"${t.slice(9)}"`).join(', ')} can highlight; this step shows "${state.element}"`);
      }
    }
    const quoted = [...step.caption.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]);
    if (quoted.length && !state.model) {
      throw new LessonError(`${where}, caption`, `the caption quotes {${quoted[0]}}, but no model is set by this step or before it. Set "model"`);
    }
    if (takesOf(tag)?.includes('model') && !state.model) {
      throw new LessonError(where, `"${state.element}" needs a model: set "model" on the lesson or on this step (for example "@gpt2")`);
    }
    let beside = null;
    if ('beside' in step) {
      const b = step.beside;
      if (!b || typeof b !== 'object' || Array.isArray(b)) throw new LessonError(`${where}, beside`, 'beside is an object of the settings that differ in the second copy');
      for (const [key, value] of Object.entries(b)) {
        if (!(key in STEP_FIELDS) && key !== 'attributes') {
          throw new LessonError(`${where}, beside.${key}`, `not a setting. beside may set: ${[...Object.keys(STEP_FIELDS), 'attributes'].join(', ')}`);
        }
        checkField(`${where}, beside.${key}`, key, value);
      }
      const besideTag = tagOf(b.element ?? state.element);
      checkAttributes(`${where}, beside`, besideTag, b, b.attributes);
      beside = { state: { ...state, ...Object.fromEntries(Object.entries(b).filter(([k]) => k in STEP_FIELDS)) }, attributes: b.attributes ?? {} };
    }
    return { caption: step.caption, state, highlight: step.highlight ? [step.highlight].flat() : [], beside, attributes: step.attributes ?? {} };
  });
  return { title: data.title, steps };
}

/**
 * The attributes an element takes: those listed above and, once the element is defined, those it observes
 * (so a newer element's new attributes work at once). Null for an element of the host page that observes none.
 */
function takesOf(tag) {
  const observed = customElements.get(tag)?.observedAttributes ?? [];
  if (!ELEMENTS[tag] && !observed.length) return null;
  return [...new Set([...(ELEMENTS[tag] ?? []), ...observed])];
}

/** A step may set only what its element takes (the free `attributes` too). */
function checkAttributes(where, tag, step, attributes = {}) {
  const takes = takesOf(tag);
  if (!takes) return; // an element defined by the host page: its attributes are its own business
  for (const [key, attr] of Object.entries(STEP_FIELDS)) {
    if (attr && key in step && !takes.includes(attr)) {
      throw new LessonError(`${where}, ${key}`, `<${tag}> has no ${attr} attribute. It takes: ${takes.join(', ')}`);
    }
  }
  for (const name of Object.keys(attributes)) {
    if (!takes.includes(name) && !ANY_ELEMENT_ATTRIBUTES.includes(name)) {
      throw new LessonError(`${where}, attributes.${name}`, `<${tag}> has no ${name} attribute. It takes: ${[...takes, ...ANY_ELEMENT_ATTRIBUTES].join(', ')}`);
    }
  }
}

/** The attributes a step's element gets (null = remove). */
function attributesFor(tag, state, extra) {
  const takes = takesOf(tag) ?? Object.values(STEP_FIELDS).filter(Boolean);
  const out = {};
  for (const [key, attr] of Object.entries(STEP_FIELDS)) {
    if (!attr || !takes.includes(attr)) continue;
    const v = state[key];
    out[attr] = v === undefined || v === null ? null : String(v);
  }
  for (const [name, v] of Object.entries(extra)) out[name] = v === false || v === null ? null : v === true ? '' : String(v);
  return out;
}

// ---- model checks (when the lesson first comes into view) -----------------------------------------------

/**
 * Load each model a step names and check its layer and head against it. Returns the first problem, or null.
 * `holder` (the lesson element) holds each model (base.js's sharedModel), so the steps ahead do not load again;
 * `held` collects them, for the holder to give back when it plays another lesson.
 */
async function checkModels(lesson, holder, held) {
  for (const [i, step] of lesson.steps.entries()) {
    for (const [part, { state }] of [['', step], [', beside', step.beside]].filter(([, s]) => s)) {
      const tag = tagOf(state.element);
      if (!takesOf(tag)?.includes('model')) continue;
      const where = `step ${i + 1}${part}`;
      let entry;
      try {
        entry = await sharedModel(state.model, null, holder);
        held.push(entry);
      } catch (err) {
        return new LessonError(`${where}, model`, `"${state.model}" cannot be loaded: ${err.message}`);
      }
      const { info } = entry.model;
      if (takesOf(tag).includes('layer')) {
        const kind = state.kind ?? (info.kind === 'encoder-decoder' ? 'cross' : info.kind === 'encoder-only' ? 'encoder' : 'decoder');
        const kinds = info.kind === 'encoder-decoder' ? HEAD_KINDS : info.kind === 'encoder-only' ? ['encoder'] : ['decoder'];
        if (state.kind && !kinds.includes(state.kind)) {
          return new LessonError(`${where}, kind`, `${entry.name} is ${info.kind} and has no ${state.kind} attention. It has: ${kinds.join(', ')}`);
        }
        const nLayers = info.kind === 'encoder-decoder' && kind !== 'encoder' ? info.nDecoderLayers : info.nLayers;
        if (state.layer !== undefined && state.layer > nLayers) {
          return new LessonError(`${where}, layer`, `layer ${state.layer} is out of range: ${entry.name} has ${nLayers} ${kind} layers (counted from 1)`);
        }
        if (state.head !== undefined && state.head !== 'mean' && state.head > info.nHeads) {
          return new LessonError(`${where}, head`, `head ${state.head} is out of range: ${entry.name} has ${info.nHeads} heads per layer (counted from 1)`);
        }
        // The model view's highlighted heads.
        for (const cell of part ? [] : step.highlight.filter(isHead)) {
          if (cell.layer > nLayers) {
            return new LessonError(`${where}, highlight`, `layer ${cell.layer} is out of range: ${entry.name} has ${nLayers} ${kind} layers (counted from 1)`);
          }
          if (cell.head > info.nHeads) {
            return new LessonError(`${where}, highlight`, `head ${cell.head} is out of range: ${entry.name} has ${info.nHeads} heads per layer (counted from 1)`);
          }
        }
      }
    }
  }
  return null;
}

// ---- captions: plain text with **strong**, *emphasis*, `code` and {facts} -----------------------------

/** Caption text to DOM nodes; never HTML. Blank lines separate paragraphs. */
function renderCaption(text) {
  return text.split(/\n\s*\n/).map((para) => {
    const p = document.createElement('p');
    const pattern = /(\*\*([^*]+)\*\*)|(\*([^*]+)\*)|(`([^`]+)`)|(\{([A-Za-z]+)\})/g;
    let last = 0;
    for (const m of para.matchAll(pattern)) {
      p.append(para.slice(last, m.index));
      if (m[2] !== undefined) p.append(h('strong', {}, m[2]));
      else if (m[4] !== undefined) p.append(h('em', {}, m[4]));
      else if (m[6] !== undefined) p.append(h('code', {}, m[6]));
      else p.append(h('span', { class: 'fact', dataset: { fact: m[8] } }, '…'));
      last = m.index + m[0].length;
    }
    p.append(para.slice(last));
    return p;
  });
}

function formatFact(v) {
  return typeof v === 'number' ? v.toLocaleString('en') : String(v);
}

// ---- the step in the URL hash ----------------------------------------------------------------------

function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

// ---- the element -------------------------------------------------------------------------------------

const LESSON_CSS = `
:host { display: block; margin: 1.4em 0; }
.lesson { background: var(--gb-panel); border: 1px solid var(--gb-border); border-radius: var(--gb-radius);
  padding: 14px 16px; color: var(--gb-text); font: 15px/1.55 var(--gb-font); }
.lesson-title { margin: 0 0 4px; font-size: 1.05em; }
.lesson-counter { margin: 0; color: var(--gb-muted); font-size: 13px; }
.lesson-caption { margin: 8px 0 10px; font-size: 16px; }
.lesson-caption p { margin: 0 0 0.6em; max-width: 46em; }
.lesson-caption code { font: 0.92em var(--gb-mono); background: var(--gb-chip); padding: 0 3px; border-radius: 3px; }
.lesson-notice { margin: 8px 0; padding: 8px 10px; border-left: 3px solid var(--gb-accent); background: var(--gb-accent-soft); }
.lesson-notice:empty, .lesson-highlight:empty { display: none; }
.lesson-highlight { margin: 4px 0 8px; color: var(--gb-muted); font-size: 14px; }
.stage { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr)); gap: 0 14px; }
::slotted(*) { min-width: 0; }
.lesson-nav { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; margin-top: 8px; }
.lesson-nav button { font: inherit; min-height: 36px; padding: 4px 14px; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--gb-accent); background: var(--gb-panel); color: var(--gb-accent); }
.lesson-nav button.next { background: var(--gb-accent); color: var(--gb-accent-text); }
.lesson-nav button:disabled { opacity: 0.55; cursor: default; }
.lesson-nav button:focus-visible { outline: 3px solid var(--gb-focus); outline-offset: 2px; }
.lesson-nav .keys { color: var(--gb-muted); font-size: 13px; }
.error { white-space: pre-wrap; }
`;

let lessonSheet = null;

function lessonSheets() {
  if (!lessonSheet) {
    lessonSheet = new CSSStyleSheet();
    lessonSheet.replaceSync(LESSON_CSS);
  }
  return widgetSheets().then((list) => [...list, lessonSheet]);
}

let lessonCount = 0;

class GlassboxLesson extends HTMLElement {
  static observedAttributes = ['src', 'step'];

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this._uid = `gbl${++lessonCount}`;
    this.lesson = null;        // the parsed lesson
    this.stepIndex = 0;        // from 0
    this._widgets = new Map(); // "tag#slot" -> element, reused across steps (detached when not shown)
    this._heldModels = []; // the models its steps show, held while this lesson plays (checkModels)
    this._awake = false;
    this._loadSeq = 0;
    this._modelError = null;
    this._onHash = () => this._fromHash();
  }

  connectedCallback() {
    if (!this.ui) this._build();
    addEventListener('hashchange', this._onHash);
    if (!this.lesson && !this._loading) this._load();
    if (!this._awake) {
      if (this.hasAttribute('eager') || !observer) this._wake();
      else observer.observe(this);
    } else {
      farObserver?.observe(this);   // back in the page: near or far, the observer says at once
    }
  }

  disconnectedCallback() {
    removeEventListener('hashchange', this._onHash);
    observer?.unobserve(this);
    farObserver?.unobserve(this);
    this._setNear(false);
  }

  /**
   * Scrolled far away (or out of the page): give back the models of its steps, as a widget does (base.js,
   * FAR_MARGIN); near again, ask for them anew.
   */
  _setNear(near) {
    if (!near) {
      this._holdModels([]);
      this._farAway = true;   // a check under way gives back what it finds once it has filled the captions
    } else if (this._farAway) {
      this._farAway = false;
      if (this.lesson) this._checkModels();
    }
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this.ui) return;
    if (name === 'src') this._load();
    if (name === 'step' && this.lesson) this.go(Number(newValue) - 1, { fromAttribute: true });
  }

  /** The name of this lesson's step in the URL hash: its id, or its file's name ("attention"). */
  get hashKey() {
    if (this.id) return this.id;
    const src = this.getAttribute('src') ?? '';
    return src.split('/').pop().replace(/\.[^.]*$/, '') || 'lesson';
  }

  /** The step shown, counted from 1. */
  get step() {
    return this.stepIndex + 1;
  }

  next() { this.go(this.stepIndex + 1); }

  previous() { this.go(this.stepIndex - 1); }

  _build() {
    lessonSheets().then((list) => { this.shadowRoot.adoptedStyleSheets = list; });
    const ui = {};
    ui.title = h('h3', { class: 'lesson-title', id: `${this._uid}-title` }, 'Lesson');
    ui.counter = h('p', { class: 'lesson-counter', 'aria-live': 'polite' }, '');
    // The caption is announced when the step changes, so a screen-reader user hears the new step's text.
    ui.caption = h('div', { class: 'lesson-caption', 'aria-live': 'polite' });
    ui.highlight = h('p', { class: 'lesson-highlight' });
    ui.notice = h('p', { class: 'lesson-notice', role: 'status' });
    ui.error = h('p', { class: 'error', role: 'alert', hidden: true });
    ui.prev = h('button', { type: 'button', class: 'prev' }, '← Previous');
    ui.next = h('button', { type: 'button', class: 'next' }, 'Next →');
    ui.keys = h('span', { class: 'keys' }, 'or the ← and → keys');
    ui.nav = h('div', { class: 'lesson-nav', role: 'group', 'aria-label': 'Lesson steps' }, ui.prev, ui.next, ui.keys);
    ui.stage = h('div', { class: 'stage' }, h('slot'));
    ui.root = h('section', { class: 'lesson', part: 'lesson', 'aria-labelledby': ui.title.id },
      ui.title, ui.counter, ui.error, ui.caption, ui.highlight, ui.notice, ui.stage, ui.nav);
    this.shadowRoot.append(ui.root);
    this.ui = ui;
    // At either end the pressed button is disabled; the focus moves to the other one instead of being lost.
    ui.prev.addEventListener('click', () => { this.previous(); if (ui.prev.disabled) ui.next.focus(); });
    ui.next.addEventListener('click', () => { this.next(); if (ui.next.disabled) ui.prev.focus(); });
    // Arrow keys step through the lesson from its buttons and caption (inside a widget they belong to the widget).
    ui.root.addEventListener('keydown', (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const from = e.composedPath()[0];
      if (from !== ui.prev && from !== ui.next && from !== ui.root) return;
      const to = { ArrowRight: this.stepIndex + 1, ArrowLeft: this.stepIndex - 1, Home: 0, End: Infinity }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      this.go(to);
      (this.stepIndex === 0 ? ui.next : this.stepIndex === this.lesson.steps.length - 1 ? ui.prev : from).focus();
    });
    this.dataset.status = 'loading';
  }

  async _load() {
    const seq = ++this._loadSeq;
    this._loading = true;
    const src = this.getAttribute('src');
    try {
      if (!src) throw new LessonError('', 'this lesson has no src. Add src="lessons/NAME.json"');
      const url = new URL(src, document.baseURI);
      let res;
      try {
        res = await fetchExplained(url, `the lesson ${src}`);
      } catch (err) {
        throw new LessonError('', err.message);
      }
      if (!res.ok) throw new LessonError('', `${src} answered ${res.status}: check the src path`);
      const raw = (await res.text()).replace(/^\uFEFF/, ''); // some editors start a UTF-8 file with a BOM
      let data;
      try {
        data = JSON.parse(raw);
      } catch (err) {
        throw new LessonError('', `${src} is not valid JSON (${err.message}). Check the commas and quotes near that place`);
      }
      if (seq !== this._loadSeq) return;
      this.lesson = parseLesson(data);
      this._modelError = null;
      this.ui.title.textContent = this.lesson.title;
      const fromHash = Number(hashParams().get(this.hashKey));
      const fromAttr = Number(this.getAttribute('step'));
      const start = Number.isInteger(fromHash) && fromHash >= 1 ? fromHash : Number.isInteger(fromAttr) && fromAttr >= 1 ? fromAttr : 1;
      this._show(Math.min(start, this.lesson.steps.length) - 1, false);
      // A shared link to a step ("tutorial.html#attention=3") opens at that lesson, not at the top of the page.
      const linked = [...hashParams()].find(([, v]) => Number(v) >= 1)?.[0];
      if (start === fromHash && linked === this.hashKey) requestAnimationFrame(() => this.scrollIntoView({ block: 'start' }));
      if (this._awake) this._checkModels();
    } catch (err) {
      if (seq !== this._loadSeq) return;
      this._fail(err);
    } finally {
      if (seq === this._loadSeq) this._loading = false;
    }
  }

  _wake() {
    if (this._awake) return;
    this._awake = true;
    farObserver?.observe(this);
    if (this.lesson) this._checkModels();
  }

  async _checkModels() {
    const lesson = this.lesson;
    const held = [];
    const problem = await checkModels(lesson, this, held);
    if (lesson !== this.lesson) {
      for (const entry of held) releaseModel(entry, this);
      return;
    }
    this._holdModels(this._farAway ? [] : held);
    if (this._farAway) for (const entry of held) releaseModel(entry, this);
    this._modelError = problem;
    if (problem) this._fail(problem, false);
    this._fillFacts();
  }

  /** Hold `held` (entries already held for this lesson) from now on, giving back the ones held before. */
  _holdModels(held) {
    for (const entry of this._heldModels) releaseModel(entry, this);
    this._heldModels = held;
  }

  _fail(err, blocking = true) {
    const message = err instanceof Error ? err.message : String(err);
    this.ui.error.textContent = `This lesson cannot be played as written: ${message}.`;
    this.ui.error.hidden = false;
    this.dataset.status = 'error';
    if (blocking) {
      this.ui.title.textContent = this.lesson?.title ?? 'Lesson';
      this.ui.counter.textContent = '';
      this.ui.caption.replaceChildren();
      this.ui.nav.hidden = true;
      for (const w of this._widgets.values()) w.remove();
    }
    this.dispatchEvent(new CustomEvent('glassbox-error', { bubbles: true, composed: true, detail: { message } }));
  }

  /** Show step `index` (from 0; clamped). */
  go(index, { fromAttribute = false } = {}) {
    if (!this.lesson) return;
    const n = this.lesson.steps.length;
    const to = Math.max(0, Math.min(n - 1, Number.isFinite(index) ? index : n - 1));
    if (to === this.stepIndex && this._shownOnce) return;
    this._show(to, true);
    if (!fromAttribute && this.hasAttribute('step')) this.setAttribute('step', String(to + 1));
  }

  _fromHash() {
    if (!this.lesson) return;
    const k = Number(hashParams().get(this.hashKey));
    if (Number.isInteger(k) && k >= 1 && k - 1 !== this.stepIndex) this._show(Math.min(k, this.lesson.steps.length) - 1, false);
  }

  _writeHash() {
    const params = hashParams();
    params.set(this.hashKey, String(this.step));
    // Other lessons' steps stay; a section link already in the hash ("#positions") stays as a bare key.
    const hash = params.toString().replace(/=(&|$)/g, '$1');
    history.replaceState(history.state, '', `${location.pathname}${location.search}#${hash}`);
  }

  _show(index, writeHash) {
    const { steps } = this.lesson;
    this.stepIndex = index;
    this._shownOnce = true;
    const step = steps[index];
    const ui = this.ui;
    ui.nav.hidden = false;
    if (!this._modelError) ui.error.hidden = true;
    ui.counter.textContent = `Step ${index + 1} of ${steps.length}`;
    ui.caption.replaceChildren(...renderCaption(step.caption));
    ui.prev.disabled = index === 0;
    ui.next.disabled = index === steps.length - 1;
    ui.highlight.textContent = '';
    // The widgets of this step: the main one and, maybe, a second copy beside it.
    const wanted = [{ state: step.state, attributes: step.attributes, slot: 0 }];
    if (step.beside) wanted.push({ state: step.beside.state, attributes: step.beside.attributes, slot: 1 });
    const shown = [];
    const missing = [];
    for (const { state, attributes, slot } of wanted) {
      const tag = tagOf(state.element);
      if (!customElements.get(tag)) {
        missing.push(tag);
        customElements.whenDefined(tag).then(() => { if (this.lesson?.steps[this.stepIndex] === step) this._show(this.stepIndex, false); });
        continue;
      }
      const key = `${tag}#${slot}`;
      let el = this._widgets.get(key);
      if (!el) {
        el = document.createElement(tag);
        el.dataset.lessonWidget = String(slot);
        this._widgets.set(key, el);
      }
      const attrs = attributesFor(tag, state, attributes);
      // A step's free attributes last one step: drop those the previous step set and this one does not.
      for (const name of el._lessonExtra ?? []) if (!(name in attrs)) el.removeAttribute(name);
      let changed = false;
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null) {
          if (el.hasAttribute(name)) { el.removeAttribute(name); changed = true; }
        } else if (el.getAttribute(name) !== value) {
          el.setAttribute(name, value);
          changed = true;
        }
      }
      el._lessonChanged = changed;
      el._lessonExtra = Object.keys(attributes);
      shown.push(el);
    }
    for (const el of this._widgets.values()) if (!shown.includes(el)) el.remove();
    shown.forEach((el, i) => {
      const managed = [...this.children].filter((c) => c.dataset.lessonWidget !== undefined);
      if (managed[i] !== el) this.insertBefore(el, managed[i] ?? null);
    });
    ui.notice.textContent = missing.length
      ? `This step shows ${missing.map((t) => `<${t}>`).join(' and ')}, which this page does not define. It comes with a `
        + 'newer glassbox-widgets.js; the rest of the lesson works without it.'
      : '';
    if (step.highlight.length) this._highlight(shown[0], step.highlight);
    this._fillFacts();
    if (writeHash) this._writeHash();
    if (!this._modelError) this.dataset.status = 'ready';
    this.dataset.step = String(index + 1);
    this.dispatchEvent(new CustomEvent('glassbox-lesson-step', { bubbles: true, composed: true,
      detail: { step: index + 1, of: steps.length, elements: shown.map((e) => e.localName), missing } }));
  }

  /** Quote the step's model facts in the caption ({vocabSize} and the like). */
  async _fillFacts() {
    const spans = [...this.ui.caption.querySelectorAll('[data-fact]')];
    if (!spans.length || !this._awake) return;
    const step = this.lesson.steps[this.stepIndex];
    const caption = this.ui.caption.firstChild;
    try {
      const entry = await sharedModel(step.state.model, null, null); // read once: holds nothing
      if (this.ui.caption.firstChild !== caption) return;
      const model = { name: entry.name, info: entry.model.info };
      for (const span of spans) span.textContent = formatFact(FACTS[span.dataset.fact](model));
      this.ui.caption.dataset.facts = 'ready';
    } catch (err) {
      for (const span of spans) span.textContent = '(unknown: the model did not load)';
    }
  }

  /**
   * Put the map's cursor on the first highlighted cell, as the arrow keys would, so its row and column labels
   * light up and the read-out under the map gives its exact value; name the cells under the caption.
   */
  async _highlight(el, cells) {
    const step = this.lesson.steps[this.stepIndex];
    await waitReady(el, el._lessonChanged);
    if (this.lesson.steps[this.stepIndex] !== step) return;
    if (el.localName === 'glassbox-model-view') return this._highlightHeads(el, cells);
    if (el.localName === 'glassbox-head-view') return this._highlightLines(el, cells);
    const canvas = el.shadowRoot?.querySelector('canvas.heatmap-canvas');
    const map = el.shadowRoot?.querySelector('.heatmap');
    const view = map && heatmapData(map);
    if (!canvas || !view) return;
    const find = findToken;
    const found = [];
    for (const cell of cells) {
      const r = find(cell.query, view.rowLabels);
      const c = find(cell.key, view.colLabels);
      if (r < 0 || c < 0) {
        const which = r < 0 ? `query ${JSON.stringify(cell.query)}` : `key ${JSON.stringify(cell.key)}`;
        this.ui.highlight.textContent = `The highlighted cell's ${which} is not among this map's tokens (${(r < 0 ? view.rowLabels : view.colLabels).join(' ')}).`;
        return;
      }
      found.push({ r, c, value: view.values[r * view.nCols + c] });
    }
    const [first] = found;
    const key = (name) => canvas.dispatchEvent(new KeyboardEvent('keydown', { key: name, bubbles: true }));
    key('PageUp');
    key('Home');
    for (let i = 0; i < first.r; i++) key('ArrowDown');
    for (let i = 0; i < first.c; i++) key('ArrowRight');
    el.dataset.highlight = `${first.r + 1},${first.c + 1}`;
    this.ui.highlight.textContent = `Look at ${found.map(({ r, c, value }) => `row ${JSON.stringify(view.rowLabels[r])}, `
      + `column ${JSON.stringify(view.colLabels[c])} (${value.toFixed(2)})`).join('; ')}.`;
  }

  /** The head view: only the first cell's query's lines, its key marked; the caption line names each cell's weight. */
  _highlightLines(el, cells) {
    const view = el.shown;
    if (!view?.rowLabels) return;
    const found = [];
    for (const cell of cells) {
      const r = findToken(cell.query, view.rowLabels);
      const c = findToken(cell.key, view.colLabels);
      if (r < 0 || c < 0) {
        const which = r < 0 ? `query ${JSON.stringify(cell.query)}` : `key ${JSON.stringify(cell.key)}`;
        this.ui.highlight.textContent = `The highlighted cell's ${which} is not among this view's tokens (${(r < 0 ? view.rowLabels : view.colLabels).join(' ')}).`;
        return;
      }
      found.push({ r, c });
    }
    el.highlightCell(found[0].r, found[0].c);
    el.dataset.highlight = `${found[0].r + 1},${found[0].c + 1}`;
    const heads = view.heads.length === 1 ? `head ${view.heads[0] + 1}` : 'the mean of the heads shown';
    this.ui.highlight.textContent = `Look at the line from ${found.map(({ r, c }) => `${JSON.stringify(view.rowLabels[r])} to `
      + `${JSON.stringify(view.colLabels[c])} (${el.cellWeight(r, c).toFixed(2)})`).join('; ')}, ${heads} of layer ${view.layer + 1}.`;
  }

  /** The model view: the heads' thumbnails outlined; the caption line names the pattern each shows most. */
  _highlightHeads(el, cells) {
    const described = el.highlightHeads(cells.map(({ layer, head }) => ({ layer: layer - 1, head: head - 1 })));
    const missing = described.findIndex((d) => d === null);
    if (missing >= 0) {
      const { layer, head } = cells[missing];
      this.ui.highlight.textContent = `This model has no layer ${layer}, head ${head} (${el.shown?.nLayers} layers of ${el.shown?.nHeads} heads).`;
      return;
    }
    el.dataset.highlight = cells.map(({ layer, head }) => `${layer},${head}`).join(' ');
    this.ui.highlight.textContent = `Look at ${described.map((d) => `layer ${d.layer + 1}, head ${d.head + 1}`
      + (d.pattern ? ` (${d.pattern}, ${d.score.toFixed(2)})` : d.scored ? ' (above uniform attention on no scored pattern)' : ' (no pattern scored)')).join('; ')}.`;
  }
}

/** A highlighted cell's side, a token's text (the first match, without the space marker) or its place from 1: the index or -1. */
function findToken(want, names) {
  if (typeof want === 'number') return want <= names.length ? want - 1 : -1;
  const clean = (s) => s.replace(/^[·Ġ▁\s]+|^##/g, '').trim().toLowerCase();
  return names.findIndex((n) => clean(n) === want.trim().toLowerCase());
}

/** Resolve when a widget has drawn (its `glassbox-ready`); at once if it has and nothing changed since. */
function waitReady(el, changed) {
  return new Promise((resolve) => {
    const drawn = el.localName !== 'glassbox-attention' || el.shadowRoot?.querySelector('canvas.heatmap-canvas');
    if (!changed && el.dataset.status === 'ready' && drawn) return resolve();
    el.addEventListener('glassbox-ready', () => resolve(), { once: true });
  });
}

define('glassbox-lesson', GlassboxLesson);

export { GlassboxLesson, LessonError, ELEMENTS, FACTS };

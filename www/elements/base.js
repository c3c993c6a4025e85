// What every Glassbox element shares: the one worker, model and run caches, lazy start, the shadow-root
// styles and the GlassboxElement base class. Each element lives in its own file beside this one (or in
// ../glassbox-widgets.js for the first five) and registers itself with `define`.
//
// Every widget on a page shares one Web Worker (one Glassbox) and each model is loaded once, however many
// widgets show it. A widget starts its work only when it scrolls into view. Each lives in a shadow root:
// the host page's styles do not reach inside and ours do not leak out; the look is set through the
// --gb-* custom properties (light and dark built in). The drawing is done by the page's own views
// (../views/*.js), so a widget shows exactly what the page shows. Guide: docs/widgets.md.

import { Glassbox } from '../glassbox.js';
import { renderTextHighlight } from '../views/text-highlight.js';
import { labelSchemeOf } from '../run-view.js';
import { pageLink, findModel, DEFAULTS } from '../url-state.js';

const HERE = new URL(/* @vite-ignore */ '../', import.meta.url); // the Glassbox folder (www/); not a file for bundlers to copy
const LAZY_MARGIN = '300px';       // start loading a little before the widget is on screen
const TEXT_DELAY_MS = 300;         // re-run this long after the reader stops typing
const N_CANDIDATES = 10;           // bars in the next-token chart
const TRANSLATION_EXTRA = 10;      // an encoder-decoder translates up to 2 * source tokens + this

// ---- configuration ------------------------------------------------------------------------------

const config = {
  /** Where bundled model names are looked up: `${modelsBase}index.json` and `${modelsBase}<name>/`. */
  modelsBase: new URL('models/', HERE).href,
  /** The page's stylesheet; its component rules and palette are reused inside every shadow root. (A literal
   * `new URL(…, import.meta.url)`, so bundlers copy the file.) */
  styleUrl: new URL('../style.css', import.meta.url).href,
  /** The Glassbox page, for "Open in Glassbox" links (null: no links). */
  pageUrl: new URL('index.html', HERE).href,
  /** Options for Glassbox.create (workerUrl, pkgUrl, wasm). */
  createOptions: {},
  /** Bundled models given as a list (the glassbox-models package's `models`), used instead of `${modelsBase}index.json`. */
  models: null,
  /** Real tokenizers given as a list (glassbox-models' `tokenizers`), for `<glassbox-tokens tokenizer="gpt2">`. */
  tokenizers: null,
  /**
   * Bytes of weights (model.safetensors' size) the models no widget shows may keep loaded, in case they are shown
   * again: the bundled models (a few MB each) stay, a 500 MB checkpoint scrolled far away is freed.
   */
  idleModelBytes: 64 << 20,
};

/**
 * Change where models, the stylesheet or the page live, before the first widget loads.
 * `configure({ modelsBase: '/static/glassbox/models/' })`.
 */
export function configure(options = {}) {
  for (const key of ['modelsBase', 'styleUrl', 'pageUrl']) {
    if (options[key]) config[key] = new URL(options[key], document.baseURI).href;
  }
  if (options.pageUrl === null) config.pageUrl = null;
  if (options.createOptions) config.createOptions = { ...options.createOptions };
  if (options.models) {
    if (!Array.isArray(options.models)) throw new Error('configure({ models }) takes a list, e.g. the glassbox-models package\'s `models`');
    config.models = options.models;
    modelIndex = null;
  }
  if (options.tokenizers) {
    if (!Array.isArray(options.tokenizers)) throw new Error('configure({ tokenizers }) takes a list, e.g. the glassbox-models package\'s `tokenizers`');
    config.tokenizers = options.tokenizers;
  }
  if (options.idleModelBytes !== undefined) {
    const n = options.idleModelBytes;
    if (!(Number.isFinite(n) && n >= 0)) throw new Error(`configure({ idleModelBytes }) takes a number of bytes, 0 or more, not ${String(n)}`);
    config.idleModelBytes = n;
    freeIdleModels();
  }
}

// ---- the shared runtime: one worker, one load per model, one run per (model, text) ----------------

/** What the widgets on this page have asked of the engine (read by the tests and handy when debugging). */
export const stats = {
  glassboxes: 0, loads: [], runs: 0, generations: 0, frees: 0,
  /** Models loaded in the worker now (not yet freed). */
  get modelsLoaded() { return models.size; },
  /** Of those, the ones a widget holds (shows, or will again when scrolled back near). */
  get modelsHeld() {
    return [...models.values()].filter((slot) => [...slot.holders].some((ref) => ref.deref() !== undefined)).length;
  },
};

let glassbox = null;      // Promise<Glassbox>
let modelIndex = null;    // Promise<Array<{name, path, kind, modelType, title}>>
/**
 * Loaded models by key: `{ entry: Promise<{ model, name, key, scheme }>, holders: Set<WeakRef>, used }`. A widget
 * holds the model it shows (sharedModel with a holder, releaseModel); a model nobody holds stays loaded for a while, in case it
 * is asked for again (a widget switching back), and is freed in the worker beyond IDLE_MODELS_KEPT, the least
 * recently used first, and beyond config.idleModelBytes of weights. Without the bound, a widget whose random-seed
 * changed 300 times held 300 models until the engine ran out of memory. Holders are weak references, so a widget
 * dropped from the page holds nothing, and a widget scrolled far off screen gives its hold back (FAR_MARGIN).
 */
const models = new Map();
const IDLE_MODELS_KEPT = 2;
/** The holder of a model asked for without one: never released, never collected. */
const FOR_GOOD = Object.freeze({ holder: 'the page' });
let modelClock = 0;
const runs = new Map();   // key + text -> Promise<RunResult>, the most recently used last
/**
 * Runs kept at most: each holds its attention maps in JS, and a reader who types keeps making new ones (without a
 * bound, one widget shown 200 texts held 145 MB of JS heap). The least recently used go first.
 */
const RUNS_KEPT = 48;

/** The cached run of `key`, now the most recently used; undefined when none. */
function recentRun(key) {
  const run = runs.get(key);
  if (run) {
    runs.delete(key);
    runs.set(key, run);
  }
  return run;
}

/** Keep `run` under `key`, dropping the least recently used beyond RUNS_KEPT (and a failed one at once). */
function keepRun(key, run) {
  run.catch(() => { if (runs.get(key) === run) runs.delete(key); });
  runs.set(key, run);
  while (runs.size > RUNS_KEPT) runs.delete(runs.keys().next().value);
}

// ---- why a fetch failed ---------------------------------------------------------------------------

/** Addresses this document's Content-Security-Policy refused (a refused fetch only says "Failed to fetch"). */
const refusedByPolicy = new Set();
document.addEventListener('securitypolicyviolation', (e) => {
  // Only what the policy enforced on a fetch: a report-only policy blocks nothing.
  if (e.disposition === 'enforce' && e.effectiveDirective === 'connect-src' && e.blockedURI) refusedByPolicy.add(e.blockedURI);
});

/**
 * `fetch(url)`, whose failure before any answer names the likely cause: the browser's own message is "Failed
 * to fetch" whether the server is down, refuses other sites (CORS) or the page's Content-Security-Policy forbids
 * the address. `what` names the file for the message ("the lesson lessons/x.json").
 */
export async function fetchExplained(url, what) {
  const href = new URL(url, document.baseURI).href;
  try {
    return await fetch(href);
  } catch (err) {
    // The policy's report is an event queued beside the rejection: let it arrive.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const { origin } = new URL(href);
    if (refusedByPolicy.has(href) || refusedByPolicy.has(origin)) {
      throw new Error(`${what} could not be fetched from ${href}: this page's Content-Security-Policy does not allow `
        + `fetching from ${origin}. Serve it from this page's own site, or add ${origin} to the policy's connect-src`);
    }
    const elsewhere = origin !== location.origin;
    throw new Error(`${what} could not be fetched from ${href} (${err.message}). `
      + (elsewhere
        ? `Check the address and that the server is up; ${origin} must also let other sites read its files (CORS), `
          + 'and this page\'s Content-Security-Policy must allow it (connect-src)'
        : 'Check the address and that the server is running'));
  }
}

/** The one Glassbox (worker + wasm) every widget on the page uses. */
export function sharedGlassbox() {
  if (!glassbox) {
    stats.glassboxes += 1;
    // From another origin too: Glassbox.create starts the worker through a same-origin blob (glassbox.js).
    glassbox = Glassbox.create({ ...config.createOptions });
    glassbox.catch(() => { glassbox = null; });
  }
  return glassbox;
}

/** The bundled models' index (models/index.json beside the widgets, or configure({ modelsBase })). */
export function bundledModels() {
  if (!modelIndex && config.models) modelIndex = Promise.resolve(config.models);
  if (!modelIndex) {
    const url = new URL('index.json', config.modelsBase).href;
    modelIndex = fetchExplained(url, 'the list of bundled models').then((res) => {
      if (!res.ok) {
        throw new Error(`the list of bundled models (${url}) answered ${res.status}. Name the model by its folder URL, `
          + 'or install glassbox-models and call configure({ models })');
      }
      return res.json();
    }).then((body) => (Array.isArray(body) ? body : body.models ?? []));
    modelIndex.catch(() => { modelIndex = null; });
  }
  return modelIndex;
}

/**
 * Where a `model` attribute points: a bundled model's name ("glassbox-gpt2"), the first bundled model of a type or
 * kind ("@gpt2", "@marian", "@decoder-only"), or a folder URL ("./my-model/", "https://…/bert/"; anything
 * with a slash), resolved against the host page.
 */
async function modelFolder(spec) {
  if (!spec) throw new Error('this widget has no model. Add model="…" (a bundled model\'s name or a folder URL)');
  if (spec.includes('/')) {
    let url = null;
    try {
      url = new URL(spec, document.baseURI);
    } catch {
      // left null: said below
    }
    // http(s), or a file beside a page opened from a file (as the embed allows: embed.js's modelPolicy).
    const fetchable = url && (/^https?:$/.test(url.protocol) || (url.protocol === 'file:' && location.protocol === 'file:'));
    if (!fetchable) {
      throw new Error(`model="${spec}" is not a folder address Glassbox can fetch. Use a bundled model's name, or the `
        + 'http(s) address of a folder holding config.json, model.safetensors and tokenizer.json');
    }
    return { url: url.href.endsWith('/') ? url.href : `${url.href}/`, name: spec };
  }
  let list;
  try {
    list = await bundledModels();
  } catch (err) {
    if (spec.startsWith('@')) throw err;
    list = null;
  }
  const hit = list ? findModel(list, spec) : undefined;
  if (list && !hit) {
    throw new Error(`there is no bundled model ${spec.startsWith('@') ? `of type "${spec.slice(1)}"` : `called "${spec}"`}. `
      + `Use one of: ${list.map((m) => m.name).join(', ') || '(none)'}, "@" and a model type or kind, or a folder URL`);
  }
  if (hit?.files && !Array.isArray(hit.files)) {
    // A packaged model (glassbox-models): one URL per file, wherever the bundler put them.
    return { url: hit.files['config.json'], name: hit.title ?? hit.name, urls: hit.files };
  }
  const path = hit?.path ?? `${encodeURIComponent(spec)}/`;
  // index.json paths start with "models/" (relative to the page that serves them); keep only the folder part.
  const rel = path.replace(/^models\//, '');
  return {
    url: new URL(rel.endsWith('/') ? rel : `${rel}/`, config.modelsBase).href,
    name: hit?.title ?? hit?.name ?? spec,
    files: Array.isArray(hit?.files) ? hit.files : null,   // the index lists them: no requests for absent optional files
  };
}

/**
 * The model a widget shows, loaded once per page (keyed by its folder, so "gpt2" and "@gpt2" share a load).
 * `randomSeed` gives the untrained twin (same architecture, seeded random weights): a separate model.
 * `holder` (a widget) holds it from the moment it asks: it calls releaseModel when it no longer shows it, or
 * when it asked for another meanwhile. Left out, the page holds it for good (a script's own use); null holds
 * nothing (a caption reading `model.info` once), so the model may be freed when idle.
 */
export async function sharedModel(spec, randomSeed = null, holder = FOR_GOOD) {
  const folder = await modelFolder(spec);
  const key = `${folder.url}\u0000${randomSeed ?? ''}`;
  let slot = models.get(key);
  if (!slot) {
    const entry = (async () => {
      const gb = await sharedGlassbox();
      stats.loads.push({ model: spec, url: folder.url, randomSeed });
      const opts = randomSeed === null ? {} : { randomSeed };
      const source = folder.urls ? { files: await fetchFiles(folder.urls) }
        : folder.files ? { baseUrl: folder.url, files: folder.files } : { baseUrl: folder.url };
      const model = await gb.loadModel(source, opts);
      // How the vocabulary writes text, for labels: the page's rule (run-view.js), found once per model.
      const scheme = await labelSchemeOf(model);
      return { model, name: folder.name, key, scheme };
    })();
    slot = { entry, holders: new Set(), used: 0, settled: false, bytes: 0 };
    models.set(key, slot);
    entry.then(({ model }) => { slot.settled = true; slot.bytes = model.info.sizeBytes ?? 0; freeIdleModels(); },
      () => { if (models.get(key) === slot) models.delete(key); });
  }
  slot.used = ++modelClock;
  if (holder) slot.holders.add(new WeakRef(holder));
  return slot.entry;
}

/** `holder` gives back one hold of `entry`'s model: once nobody holds it, it may be freed (freeIdleModels). */
export function releaseModel(entry, holder) {
  const slot = entry && models.get(entry.key);
  if (!slot) return;
  // One reference per sharedModel call: a widget that asked twice (A, then B, then A again) still holds A.
  for (const ref of slot.holders) {
    if (ref.deref() === holder) {
      slot.holders.delete(ref);
      break;
    }
  }
  freeIdleModels();
}

/** Free, in the worker, the idle models beyond IDLE_MODELS_KEPT (least recently asked for first) and their runs. */
function freeIdleModels() {
  const idle = [];
  for (const [key, slot] of models) {
    for (const ref of slot.holders) if (ref.deref() === undefined) slot.holders.delete(ref);
    if (slot.settled && slot.holders.size === 0) idle.push([key, slot]);
  }
  // Kept: the ones used last, while they number at most IDLE_MODELS_KEPT and weigh at most config.idleModelBytes.
  idle.sort((a, b) => b[1].used - a[1].used);
  let kept = 0;
  let keptBytes = 0;
  const freed = idle.filter(([, slot]) => {
    if (kept < IDLE_MODELS_KEPT && keptBytes + slot.bytes <= config.idleModelBytes) {
      kept += 1;
      keptBytes += slot.bytes;
      return false;
    }
    return true;
  });
  for (const [key, slot] of freed) {
    models.delete(key);
    stats.frees += 1;
    for (const runKey of [...runs.keys()]) if (runKey.startsWith(`${key}\u0000`)) runs.delete(runKey);
    slot.entry.then(({ model }) => model.free()).catch(() => {});
  }
}

/** A packaged model's files as Blobs (kept by the JS API, so an interrupted worker can load them again). */
async function fetchFiles(urls) {
  const entries = await Promise.all(Object.entries(urls).map(async ([name, url]) => {
    const res = await fetchExplained(url, `${name} of the model`);
    if (!res.ok) throw new Error(`${name} of the model (${url}) answered ${res.status}`);
    return [name, await res.blob()];
  }));
  return Object.fromEntries(entries);
}

/** One forward pass per (model, text, decoder input, second text), shared by the widgets that show it. */
function sharedRun(entry, text, decoderIds = null, pair = undefined) {
  const key = `${entry.key}\u0000${text}\u0000${decoderIds ? decoderIds.join(',') : ''}\u0000${pair ?? ''}`;
  let run = recentRun(key);
  if (!run) {
    stats.runs += 1;
    const options = decoderIds ? { decoderIds, topK: N_CANDIDATES } : { topK: N_CANDIDATES };
    if (pair !== undefined) options.pair = pair;
    run = entry.model.run(text, options);
    keepRun(key, run);
  }
  return run;
}

/**
 * For an encoder-decoder: the greedy output, fed back as the decoder input, so the decoder and cross
 * maps show the whole translation rather than the start token alone.
 */
/** What a generating link leaves out: nothing of the sampling (see _applyChrome). */
const GENERATING_BASELINE = { ...DEFAULTS, temperature: null, topK: null, topP: null, numBeams: null };

/**
 * What a page link adds for a view of an encoder-decoder's decoder or cross-attention (`kind`): the view drew them
 * over its own greedy translation (sharedTranslationRun), and the page shows them only after generating. Generating
 * greedily, with one beam and as many tokens, gives the page the same output, so it shows the same map.
 */
function translationLinkState(run, kind) {
  const ids = run?.decoderIds;
  if (!ids || ids.length < 2 || kind === 'encoder' || !run.attentions?.cross) return {};
  return { generate: true, temperature: 0, numBeams: 1, maxTokens: ids.length - 1 };
}

function sharedTranslationRun(entry, text) {
  const key = `${entry.key}\u0000${text}\u0000translation`;
  let run = recentRun(key);
  if (!run) {
    run = (async () => {
      const first = await sharedRun(entry, text);
      const start = first.decoderIds?.[0];
      if (start === undefined) return first;
      stats.generations += 1;
      const maxNewTokens = 2 * first.tokens.ids.length + TRANSLATION_EXTRA;
      // Greedy, one beam, whatever the model's generation config asks.
      const { ids } = await entry.model.generate(text, { maxNewTokens, temperature: 0, numBeams: 1, numCandidates: 1, captureAttention: false }).done;
      return ids.length ? sharedRun(entry, text, [start, ...ids]) : first;
    })();
    keepRun(key, run);
  }
  return run;
}

// ---- styles -------------------------------------------------------------------------------------

/** Rules of our own, on top of the page's component styles. */
const WIDGET_CSS = `
:host { display: block; margin: 1.2em 0; color: var(--gb-text); font: 15px/1.5 var(--gb-font); text-align: left; }
:host([hidden]) { display: none; }
.gb-widget { background: var(--gb-panel); border: 1px solid var(--gb-border); border-radius: var(--gb-radius);
  padding: 12px 14px 14px; }
.gb-head { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 4px 12px;
  margin-bottom: 8px; font-size: 13px; color: var(--gb-muted); }
.gb-head a { color: var(--gb-accent); }
.gb-model { font-weight: 600; }
.gb-controls { display: flex; flex-wrap: wrap; align-items: end; gap: 8px 12px; margin-bottom: 8px; }
.gb-controls .field { margin: 0; min-width: 110px; }
.gb-controls .field.narrow { min-width: 0; width: 6.5em; }
.gb-controls .button-row { margin: 0; }
.text-wrap { margin-bottom: 8px; }
.text-wrap textarea, .text-backdrop { font-size: 15px; padding: 7px 10px; }
.tokens { margin-top: 6px; }
.gb-status { margin: 6px 0; }
.gb-status:empty { display: none; }
.generation-views { margin-top: 8px; }
.gb-widget.readonly .text-wrap textarea { resize: none; }
`;

/** Turn the page's stylesheet into one that works in a shadow root: its :root palette becomes :host's. */
function shadowCss(pageCss) {
  const light = /:root\s*\{([^}]*)\}/.exec(pageCss)?.[1] ?? '';
  const dark = /@media\s*\(prefers-color-scheme:\s*dark\)\s*\{\s*:root\s*\{([^}]*)\}/.exec(pageCss)?.[1] ?? '';
  return `${pageCss.replace(/:root\b/g, ':host')}
:host([theme="light"]) { ${light} color-scheme: light; }
:host([theme="dark"]) { ${dark} color-scheme: dark; }
${WIDGET_CSS}`;
}

let sheets = null; // Promise<CSSStyleSheet[]>, shared by every shadow root

/** The text of this document's copy of the Glassbox stylesheet (linked from styleUrl or inlined), or ''. */
function documentCss() {
  for (const sheet of Array.from(document.styleSheets)) {
    if (sheet.href && sheet.href !== config.styleUrl) continue;
    let text = '';
    try {
      text = Array.from(sheet.cssRules, (r) => r.cssText).join('\n');
    } catch { continue; /* another origin's sheet */ }
    if (text.includes('--gb-panel')) return text;
  }
  return '';
}

function widgetSheets() {
  if (!sheets) {
    sheets = (async () => {
      // On a Glassbox page (index.html, its single-file edition, the tutorial) the stylesheet is already here.
      let css = documentCss();
      try {
        if (!css) {
          const res = await fetch(config.styleUrl);
          if (res.ok) css = await res.text();
        }
      } catch { /* the widget still works, plainly styled */ }
      const sheet = new CSSStyleSheet();
      await sheet.replace(shadowCss(css));
      return [sheet];
    })();
  }
  return sheets;
}

// ---- lazy start ---------------------------------------------------------------------------------

const observer = typeof IntersectionObserver === 'function'
  ? new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (e.isIntersecting) {
        observer.unobserve(e.target);
        e.target._wake();
      }
    }
  }, { rootMargin: LAZY_MARGIN })
  : null;

/**
 * A widget farther than this from the screen gives its model back (releaseModel), so a tutorial that shows several
 * large models in turn does not keep all of them loaded (config.idleModelBytes decides what stays); scrolled back
 * near, it asks for the model again and draws as before.
 */
const FAR_MARGIN = '400% 0px';
const farObserver = typeof IntersectionObserver === 'function'
  ? new IntersectionObserver((entries) => { for (const e of entries) e.target._setNear(e.isIntersecting); }, { rootMargin: FAR_MARGIN })
  : null;

// ---- small DOM helpers --------------------------------------------------------------------------

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

/** Rasterise a map's cells in the shared worker (crate/src/plot, the page's and the CLI's pixels). */
async function raster(values, options) {
  return (await sharedGlassbox()).drawMap(values, options);
}

/**
 * An error message shown as a sentence: its first letter capitalised only when its first word is a plain word
 * ("the text …" -> "The text …"), never when it is a file or a model name ("config.json: …", "glassbox-bert is …"),
 * which would no longer be the name the reader has to type.
 */
function asSentence(message) {
  const first = message.match(/^[^\s:,;]*/)[0];
  return /^[a-z]+$/.test(first) ? message.charAt(0).toUpperCase() + message.slice(1) : message;
}

/** A number attribute, or `fallback` when it is absent or not a number. */
function numberAttr(el, name, fallback) {
  const raw = el.getAttribute(name);
  if (raw === null || raw.trim() === '') return fallback;
  const v = Number(raw);
  return Number.isFinite(v) ? v : fallback;
}

let widgetCount = 0;

// ---- the base element ---------------------------------------------------------------------------

const COMMON_ATTRIBUTES = ['model', 'text', 'pair', 'hide', 'readonly', 'random-seed'];
/** The attributes read as numbers, by whichever element observes them. */
const NUMBER_ATTRIBUTES = ['random-seed', 'layer', 'head', 'query', 'output', 'temperature', 'top-k', 'top-p', 'seed', 'max-tokens'];

/**
 * What every element shares, models or not: a shadow root, built once when first connected (`_build`), and the
 * lazy start (`_wake`, called once the element nears the screen through the one observer, at once with `eager`);
 * the status in `data-status` and the status line `this.ui.status`.
 */
class LazyElement extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this._awake = false;
    this._built = false;
  }

  connectedCallback() {
    if (!this._built) this._build();
    if (this._awake) return;
    if (this.hasAttribute('eager') || !observer) this._wake();
    else observer.observe(this);
  }

  disconnectedCallback() {
    observer?.unobserve(this);
  }

  _setStatus(status, message) {
    this.dataset.status = status;
    this.ui.status.textContent = message;
  }
}

/**
 * What every widget that runs a model shares (beyond LazyElement): the model, the text box, hide flags and
 * read-only mode, errors. Subclasses build their controls and draw.
 */
class GlassboxElement extends LazyElement {
  constructor() {
    super();
    this._seq = 0;
    this._text = null;          // the reader's edit; null = the text attribute
    this._textTimer = 0;
    this._updateQueued = false;
    this._entry = null;
    this._uid = `gbw${++widgetCount}`;
  }

  connectedCallback() {
    super.connectedCallback();
    if (this._awake) farObserver?.observe(this);  // back in the page: near or far, the observer says at once
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    farObserver?.unobserve(this);
    this._setNear(false);
  }

  /**
   * Far from the screen (or out of the page): give the model back once the widget is at rest (drawn or failed; an
   * update or a generation under way ends first, so an eager widget far down the page still draws). Near again:
   * ask for it anew (the same load while some widget or the idle cache keeps it) and draw.
   */
  _setNear(near) {
    this._far = !near;
    if (!near) {
      this._giveBackIfFar();
    } else if (this._gaveBack) {
      this._gaveBack = false;
      this._queueUpdate();
    }
  }

  /** Far away and at rest: give the model back (when the widget goes far, and when an update ends). */
  _giveBackIfFar() {
    if (!this._far || !this._entry || this._updateQueued || !['ready', 'error'].includes(this.dataset.status)) return;
    this._showEntry(null);
    this._gaveBack = true;
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this._built) return;
    if (name === 'text') this._text = null;
    if (name === 'model' || name === 'random-seed') this._showEntry(null);
    this._applyChrome();
    this._queueUpdate();
  }

  /** An encoder's second text (the `pair` attribute: sentence pairs, a question's passage), or undefined. */
  get pair() {
    return this.getAttribute('pair') || undefined;
  }

  /** The text being shown (the reader's edit, else the text attribute). */
  get text() {
    return this._text ?? this.getAttribute('text') ?? '';
  }

  set text(value) {
    this.setAttribute('text', String(value));
  }

  /** Draw again with the current attributes (after the widget has woken). */
  refresh() {
    this._queueUpdate();
  }

  /** This widget as HTML an author can paste (the custom-element form). */
  embedCode() {
    const attrs = Array.from(this.attributes).filter((a) => !a.name.startsWith('data-') && a.name !== 'style')
      .map((a) => (a.value === '' ? ` ${a.name}` : ` ${a.name}="${a.value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`)).join('');
    const tag = this.localName;
    return `<${tag}${attrs}></${tag}>`;
  }

  _hidden(name) {
    const hide = (this.getAttribute('hide') ?? '').split(/[\s,]+/).filter(Boolean);
    return hide.includes(name) || hide.includes('all');
  }

  get _readonly() {
    return this.hasAttribute('readonly');
  }

  _build() {
    this._built = true;
    this.shadowRoot.innerHTML = '';
    widgetSheets().then((list) => { this.shadowRoot.adoptedStyleSheets = list; });
    this.ui = {};
    this.ui.model = h('span', { class: 'gb-model', dataset: { control: 'model' } });
    this.ui.open = h('a', { target: '_blank', rel: 'noopener', dataset: { control: 'open' } }, 'Open in Glassbox');
    this.ui.header = h('div', { class: 'gb-head', part: 'head' }, this.ui.model, this.ui.open);
    this.ui.textArea = h('textarea', { rows: 2, spellcheck: false, 'aria-label': 'Text' });
    this.ui.backdrop = h('div', { class: 'text-backdrop', 'aria-hidden': 'true' });
    this.ui.textWrap = h('div', { class: 'text-wrap', dataset: { control: 'text' } }, this.ui.backdrop, this.ui.textArea);
    this.ui.controls = h('div', { class: 'gb-controls', dataset: { control: 'controls' } });
    this.ui.status = h('p', { class: 'gb-status placeholder', 'aria-live': 'polite' });
    this.ui.error = h('p', { class: 'error', role: 'alert', hidden: true });
    // An attribute the widget could not use as written (layer="abc", a layer the model lacks): said, not guessed at.
    this.ui.attrNote = h('p', { class: 'explain gb-note', role: 'status', hidden: true });
    this._notes = { attributes: [], view: [] };
    this.ui.body = h('div', { class: 'gb-body' });
    this.ui.root = h('div', { class: 'gb-widget', part: 'widget' },
      this.ui.header, this.ui.textWrap, this.ui.controls, this.ui.status, this.ui.error, this.ui.attrNote, this.ui.body);
    this.shadowRoot.append(this.ui.root);

    this.ui.textArea.addEventListener('input', () => {
      this._text = this.ui.textArea.value;
      renderTextHighlight(this.ui.backdrop, this._text, null);
      clearTimeout(this._textTimer);
      this._textTimer = setTimeout(() => this._queueUpdate(), TEXT_DELAY_MS);
    });
    this.ui.textArea.addEventListener('scroll', () => { this.ui.backdrop.scrollTop = this.ui.textArea.scrollTop; });
    this.buildControls();
    this._setStatus('waiting', 'Scroll here to load the model.');
    this._applyChrome();
  }

  /** Text box, hide flags, read-only: cheap, applied at once on every attribute change. */
  _applyChrome() {
    const { textArea, backdrop } = this.ui;
    if (textArea.value !== this.text) {
      textArea.value = this.text;
      renderTextHighlight(backdrop, this.text, null);
    }
    textArea.readOnly = this._readonly;
    this.ui.root.classList.toggle('readonly', this._readonly);
    for (const node of this.shadowRoot.querySelectorAll('[data-control]')) {
      node.hidden = this._hidden(node.dataset.control) || node.dataset.unavailable === 'true';
    }
    // Read-only: the reader cannot change the settings, but may still press Generate.
    for (const input of this.ui.controls.querySelectorAll('input, select')) {
      if (this._readonly) input.setAttribute('disabled', '');
      else if (!input.dataset.busy) input.removeAttribute('disabled');
    }
    if (config.pageUrl) {
      const state = this.linkState();
      // A link that generates names every sampling setting, even one at the page's default: the page otherwise
      // starts from the model's own generation_config.json (sampling, beams), not the widget's settings.
      this.ui.open.href = pageLink(config.pageUrl, state, state.generate ? GENERATING_BASELINE : DEFAULTS);
    }
    // The page has no random-weights twins: a link would show the trained model instead.
    this.ui.open.hidden = this._hidden('open') || this.hasAttribute('random-seed') || !config.pageUrl;
  }

  /**
   * Number attributes this element reads whose value is not a number (temperature="0,8", layer="two"): each is
   * named, with what is used instead, rather than silently replaced by the default.
   */
  _numberNotes() {
    const observed = this.constructor.observedAttributes ?? [];
    const notes = [];
    for (const name of NUMBER_ATTRIBUTES.filter((n) => observed.includes(n))) {
      const raw = this.getAttribute(name);
      if (raw === null || raw.trim() === '' || Number.isFinite(Number(raw))) continue;
      // head="mean" (and the head view's "all" or a list "1,3") are words the attribute takes.
      if (name === 'head' && /^(mean|all|\d+(\s*,\s*\d+)*)$/.test(raw.trim())) continue;
      const instead = name === 'random-seed' ? 'the random weights use seed 0' : 'its default is used';
      notes.push(`${name}="${raw}" is not a number, so ${instead}${name === 'temperature' || name === 'top-p' ? ' (write decimals with a point: 0.8)' : ''}.`);
    }
    return notes;
  }

  /** Show the notes about attributes (`which`: 'attributes' from the base, 'view' from the element's own checks). */
  _setNotes(which, notes) {
    this._notes[which] = notes;
    const all = [...this._notes.attributes, ...this._notes.view];
    this.ui.attrNote.textContent = all.join(' ');
    this.ui.attrNote.hidden = all.length === 0;
  }

  _wake() {
    if (this._awake) return;
    this._awake = true;
    farObserver?.observe(this);
    this._queueUpdate();
  }

  _queueUpdate() {
    if (!this._awake || this._updateQueued) return;
    this._updateQueued = true;
    queueMicrotask(async () => {
      this._updateQueued = false;
      const seq = ++this._seq;
      try {
        this._clearError();
        this._setNotes('attributes', this._numberNotes());
        if (!this._entry) {
          this._setStatus('loading', 'Loading the model…');
          const randomSeed = this.hasAttribute('random-seed') ? numberAttr(this, 'random-seed', 0) : null;
          const entry = await sharedModel(this.getAttribute('model') ?? '', randomSeed, this);
          // A newer update (another model asked for meanwhile) owns `_entry`: a slow load that
          // finishes late must not replace the model it already chose.
          if (seq !== this._seq) {
            releaseModel(entry, this);
            return;
          }
          this._showEntry(entry);
        }
        const { info } = this._entry.model;
        this.ui.model.textContent = `${this._entry.name}${this.hasAttribute('random-seed') ? ' (random weights)' : ''} · ${info.kind}`;
        this._setStatus('running', '');
        await this.update(this._entry, () => seq === this._seq);
        if (seq !== this._seq) return;
        if (this.dataset.status !== 'generating') this._setStatus('ready', '');
        this.dispatchEvent(new CustomEvent('glassbox-ready', { bubbles: true, composed: true }));
      } catch (err) {
        if (seq !== this._seq) return;
        this._showError(err);
      }
      this._giveBackIfFar();
    });
  }

  /** Show `entry`'s model from now on (null: none yet), releasing the one shown before. */
  _showEntry(entry) {
    if (this._entry && this._entry !== entry) releaseModel(this._entry, this);
    this._entry = entry;
  }

  _showError(err) {
    const message = err instanceof Error ? err.message : String(err);
    this.ui.error.textContent = message ? asSentence(message) : 'Something went wrong.';
    this.ui.error.hidden = false;
    this._setStatus('error', '');
    this.dispatchEvent(new CustomEvent('glassbox-error', { bubbles: true, composed: true, detail: { message } }));
  }

  _clearError() {
    this.ui.error.hidden = true;
    this.ui.error.textContent = '';
  }

  /** A labelled <select> or <input> in the controls row, tagged for hide="…". */
  _field(control, label, input, narrow = false) {
    const id = `${this._uid}-${control}`;
    input.id = id;
    const field = h('div', { class: `field compact${narrow ? ' narrow' : ''}`, dataset: { control } },
      h('label', { for: id }, label), input);
    this.ui.controls.append(field);
    return input;
  }

  /** The page state that reproduces this widget (for "Open in Glassbox"). */
  linkState() {
    return { model: this.getAttribute('model') ?? '', text: this.text, ...(this.pair === undefined ? {} : { pair: this.pair }) };
  }

  // Subclasses: buildControls() once; update(entry, isCurrent) to fetch data and draw.
  buildControls() {}

  async update() {}
}

// ---- <glassbox-tokens> --------------------------------------------------------------------------

/** The text cut into tokens: one chip per token (its text and id); hover a chip to see its span. */
/** Register an element (once, even if this module is loaded twice under different URLs). */
export function define(name, cls) {
  if (!customElements.get(name)) customElements.define(name, cls);
}

export {
  COMMON_ATTRIBUTES,
  farObserver,
  GlassboxElement,
  HERE,
  LazyElement,
  LAZY_MARGIN,
  N_CANDIDATES,
  TEXT_DELAY_MS,
  TRANSLATION_EXTRA,
  WIDGET_CSS,
  asSentence,
  config,
  glassbox,
  h,
  modelFolder,
  modelIndex,
  models,
  numberAttr,
  observer,
  range,
  raster,
  runs,
  shadowCss,
  sharedRun,
  sharedTranslationRun,
  translationLinkState,
  sheets,
  widgetCount,
  widgetSheets,
};

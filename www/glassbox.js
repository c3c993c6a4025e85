// Glassbox's JavaScript API for the main thread. The wasm runs in a module Web Worker
// (worker.js); this module only sends requests and shapes the replies, so the page never blocks.
// Types: glassbox.d.ts. Guide: docs/js-api.md.
//
//   const gb = await Glassbox.create();
//   const model = await gb.loadModel({ baseUrl: 'models/glassbox-gpt2/' }, { onProgress: console.log });
//   const run = await model.run('The cat sat');
//   run.attentions.decoder.shape; // [L, H, T, T]

const here = import.meta.url;

/// Resolve a URL against the page (or this module where there is no page, e.g. Node).
function resolveUrl(url) {
  return new URL(url, globalThis.location?.href ?? here).href;
}

let crossOriginShim = null; // blob: URL of the module that imports worker.js from its own origin

/**
 * Start the worker (`workerUrl`, else worker.js beside this module). The last line is the literal
 * `new Worker(new URL('./worker.js', import.meta.url))` that bundlers (Vite, webpack) look for to bundle the
 * worker with its wasm. Browsers start a worker only from the page's own origin: when this module was loaded
 * from another one (a blog using a Glassbox server's script), a same-origin blob imports the worker module,
 * which then fetches the wasm and the models from its own server (that server sends CORS headers).
 */
function startWorker(opts) {
  if (opts.workerUrl) return new Worker(resolveUrl(opts.workerUrl), { type: 'module' });
  const pageOrigin = globalThis.location?.origin;
  if (pageOrigin && pageOrigin !== 'null' && new URL(here).origin !== pageOrigin) {
    crossOriginShim ??= URL.createObjectURL(new Blob([`import ${JSON.stringify(new URL('./worker.js', here).href)};\n`],
      { type: 'text/javascript' }));
    return new Worker(crossOriginShim, { type: 'module' });
  }
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
}

/**
 * The options read here rather than by Rust (which refuses an unknown key by name): the same rule, so a misspelt
 * `wieghts`, an `onToken` that is not a function or a `priority` of 5 is named at the call instead of being ignored
 * or failing later. `types`: key -> [test, what it must be] for the values read here (Rust checks its own).
 */
function checkOptions(call, opts, known, callbacks = [], types = {}) {
  if (opts === undefined || opts === null) return;
  const fail = (problem) => new Error(`${call} options: ${problem}. Check the option's name and type in docs/js-api.md`);
  if (typeof opts !== 'object' || Array.isArray(opts)) throw fail(`must be an object like { ${known[0]}: … }, not ${Array.isArray(opts) ? 'an array' : typeof opts}`);
  const unknown = Object.keys(opts).find((key) => !known.includes(key));
  if (unknown !== undefined) throw fail(`unknown field \`${unknown}\`, expected one of ${known.map((k) => `\`${k}\``).join(', ')}`);
  const notCallable = callbacks.find((key) => opts[key] != null && typeof opts[key] !== 'function');
  if (notCallable !== undefined) throw fail(`${notCallable}: must be a function, not ${typeof opts[notCallable]}`);
  for (const [key, [ok, what]] of Object.entries(types)) {
    if (opts[key] !== undefined && !ok(opts[key])) throw fail(`${key}: must be ${what}, not ${shown(opts[key])}`);
  }
}

/** A value as a message names it: strings quoted, objects by kind. */
function shown(v) {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v !== 'object') return `${typeof v} ${String(v)}`;
  const kind = v.constructor && v.constructor !== Object ? v.constructor.name : 'object';
  return `${/^[aeiou]/i.test(kind) ? 'an' : 'a'} ${kind}`;
}

const isUrl = [(v) => (typeof v === 'string' && v.length > 0) || v instanceof URL, 'a URL (a string or URL object)'];
/** The wasm as `create` takes it: a URL, its bytes, or a compiled module. */
const isWasm = [(v) => isUrl[0](v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v) || v instanceof WebAssembly.Module,
  'a URL, the bytes of glassbox_bg.wasm (ArrayBuffer or Uint8Array) or a WebAssembly.Module'];
const isWorker = [(v) => v !== null && typeof v === 'object' && typeof v.postMessage === 'function', 'a Worker (an object with postMessage)'];
const isSignal = [(v) => v !== null && typeof v === 'object' && typeof v.throwIfAborted === 'function' && typeof v.addEventListener === 'function',
  'an AbortSignal (AbortController\'s signal)'];
const isPriority = [(v) => v === 'user' || v === 'background', '"user" or "background"'];

export class Glassbox {
  /**
   * Start the worker and the wasm. Options: `workerUrl` (default: worker.js beside this module),
   * `pkgUrl` (wasm-bindgen's glassbox.js; default: ../pkg/glassbox.js beside the worker),
   * `wasm` (URL, bytes or WebAssembly.Module of glassbox_bg.wasm or glassbox_relaxed_bg.wasm; default: beside
   * pkgUrl, the relaxed-SIMD build where the engine has relaxed SIMD, else glassbox_bg.wasm),
   * `worker` (an already created Worker-like object; mainly for tests).
   */
  static async create(opts = {}) {
    checkOptions('create', opts, ['workerUrl', 'pkgUrl', 'wasm', 'worker'], [], { workerUrl: isUrl, pkgUrl: isUrl, wasm: isWasm, worker: isWorker });
    opts ??= {};
    const worker = opts.worker ?? startWorker(opts);
    const gb = new Glassbox(worker);
    const wasm = typeof opts.wasm === 'string' || opts.wasm instanceof URL ? resolveUrl(opts.wasm) : opts.wasm;
    gb._restart = { opts, wasm };
    try {
      gb.build = await gb._request({ type: 'init', pkgUrl: opts.pkgUrl ? resolveUrl(opts.pkgUrl) : undefined, wasm });
    } catch (err) {
      gb.terminate();
      throw err;
    }
    return gb;
  }

  constructor(worker) {
    this._worker = worker;
    this._nextId = 1;
    this._pending = new Map(); // id -> { resolve, reject, onProgress?, onStarted?, onToken? }
    this._closed = null;
    this._restart = null;       // how `interrupt` starts a new worker: { opts, wasm } of `create`
    this._reloadable = new Map(); // handle -> load message of a model from a folder URL or File/Blob handles
    this._stale = new Map();      // handle -> null, or the load under way: held models a replaced worker lacks yet
    /** `{ version, simd128, relaxed_simd }` of the wasm build, set by `create`. */
    this.build = null;
    this._listen(worker);
  }

  _listen(worker) {
    worker.addEventListener('message', (event) => { if (worker === this._worker) this._receive(event.data); });
    worker.addEventListener('error', (event) => {
      event.preventDefault?.();
      this._failAll(`the Glassbox worker stopped (${event.message ?? 'it could not be started'}). Reload the page`);
    });
    worker.addEventListener('messageerror', () => this._failAll('a reply from the Glassbox worker could not be read. Reload the page'));
  }

  /**
   * Load a model from a folder URL (`{ baseUrl, files? }`; `files` lists the names present, as
   * /models/index.json gives them, so absent optional files are not requested) or from files
   * (`{ files: { 'config.json': Blob, ... } }`).
   * ArrayBuffers in `files` (and typed arrays spanning their whole buffer) are transferred to the worker:
   * they become detached here, so the page keeps no second copy of the weights.
   * `randomSeed` builds the architecture with seeded random weights and skips model.safetensors.
   * `weights` ('f32' | 'f16' | 'bf16' | 'int8') keeps the weight matrices in that storage in memory (default:
   * each in its file's): 'bf16', 'f16' or 'int8' shrink an f32 model to a half or about a quarter, and decode faster.
   * `srcLang` sets a translation tokenizer's source language (see `Model.setSourceLanguage`).
   * `signal` (an AbortSignal) withdraws the load: its downloads stop, nothing is built, and the promise rejects
   * with the signal's reason (a DOMException named AbortError unless one was given). A build already under way (one
   * synchronous step in the worker, which also reads a picked model.safetensors) runs to its end, and the model is
   * then freed. For a page whose user cancels a load or picks another model mid-load.
   */
  async loadModel(source, opts = {}) {
    checkOptions('load', opts, ['onProgress', 'randomSeed', 'weights', 'srcLang', 'signal'], ['onProgress'], { signal: isSignal });
    opts ??= {};
    const { signal } = opts;
    signal?.throwIfAborted();
    let message;
    const transfer = [];
    if (source && typeof source.baseUrl === 'string') {
      message = { baseUrl: resolveUrl(source.baseUrl), present: Array.isArray(source.files) ? source.files.map(String) : undefined };
    } else if (source && source.files && typeof source.files === 'object' && !Array.isArray(source.files)) {
      // Moved, not copied: once the worker has the weights the page holds no second copy of them. A typed
      // array moves its buffer only when it spans all of it (a view into a larger or pooled buffer is copied).
      for (const value of Object.values(source.files)) {
        const whole = ArrayBuffer.isView(value) && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
        const buffer = value instanceof ArrayBuffer ? value : whole && value.buffer instanceof ArrayBuffer ? value.buffer : null;
        if (buffer && !transfer.includes(buffer)) transfer.push(buffer);
      }
      message = { files: source.files };
    } else {
      throw new Error('the model source must be { baseUrl: "models/name/" } or { files: { "config.json": file, ... } }. '
        + 'Pass a folder URL or the chosen files');
    }
    let id = null;
    const withdraw = () => this._post({ type: 'cancel', target: id });
    const loaded = await this._request({ type: 'load', source: message, randomSeed: opts.randomSeed, weights: opts.weights, srcLang: opts.srcLang },
      { onProgress: opts.onProgress, onId: (sent) => { id = sent; signal?.addEventListener('abort', withdraw, { once: true }); } }, transfer)
      .catch((err) => { signal?.throwIfAborted(); throw err; })
      .finally(() => signal?.removeEventListener('abort', withdraw));
    if (signal?.aborted) {
      // The cancel came after the build had begun (it runs to its end): nothing keeps the model, so it goes.
      this._request({ type: 'free', handle: loaded.handle }).catch(() => {});
      signal.throwIfAborted();
    }
    // Files are kept as File/Blob handles (not bytes) so a replaced worker can read them again; ArrayBuffers were
    // transferred away and cannot be.
    const blobsOnly = message.files && typeof Blob !== 'undefined' && Object.values(message.files).every((v) => v instanceof Blob);
    if (message.baseUrl || blobsOnly) this._reloadable.set(loaded.handle, { type: 'load', source: message, randomSeed: opts.randomSeed, weights: opts.weights, srcLang: opts.srcLang, handle: loaded.handle });
    return new Model(this, loaded.handle, loaded.info);
  }

  /**
   * Load a tokenizer alone from a folder URL holding tokenizer.json (`{ baseUrl, files? }`, `files` as in
   * loadModel), e.g. the real GPT-2 and BERT uncased tokenizers in models/tokenizers/ (/models/index.json lists
   * them under `tokenizers`), or from its files (`{ files: { 'tokenizer.json': Blob, ... } }`, Blobs or bytes, as
   * the glassbox-models package and the single-file page give them). It can only tokenize: see `Tokenizer`.
   * `priority: 'background'` queues the load behind the user's requests (building a large vocabulary keeps the
   * worker busy for a moment).
   */
  async loadTokenizer(source, opts = {}) {
    checkOptions('loadTokenizer', opts, ['priority'], [], { priority: isPriority });
    const { priority } = opts ?? {};
    let message;
    if (source && typeof source.baseUrl === 'string') {
      message = { baseUrl: resolveUrl(source.baseUrl), present: Array.isArray(source.files) ? source.files.map(String) : undefined };
    } else if (source && source.files && typeof source.files === 'object' && !Array.isArray(source.files)) {
      message = { files: source.files };   // copied to the worker (a tokenizer is small next to weights)
    } else {
      throw new Error('the tokenizer source must be { baseUrl: "models/tokenizers/gpt2/" } or { files: { "tokenizer.json": blob } }. '
        + 'Pass the URL of a folder holding tokenizer.json, or the file itself');
    }
    const loaded = await this._request({ type: 'loadTokenizer', source: message, priority });
    this._reloadable.set(loaded.handle, { type: 'loadTokenizer', source: message, handle: loaded.handle });
    return new Tokenizer(this, loaded.handle, loaded.info);
  }

  /**
   * Stop whatever the worker is computing. A tokenize or run inside the wasm cannot be interrupted from
   * inside, so the worker is replaced: every pending request rejects with a message saying so, a new worker
   * starts, and the models loaded from a folder URL or from File/Blob objects are loaded again under the same
   * handles (their Model objects keep working; models given as ArrayBuffers must be opened again). A request
   * made meanwhile waits for its model. `{ lazy: true }` loads each model again only when it is next used (or
   * never, if it is freed first): for a page that replaces the worker to stop a load it no longer wants, and
   * should not wait for the model it is about to replace.
   */
  async interrupt(options = {}) {
    checkOptions('interrupt', options, ['lazy'], [], { lazy: [(v) => typeof v === 'boolean', 'true or false'] });
    if (!this._restart || this._restart.opts.worker) {
      throw new Error('this Glassbox was given its worker, so it cannot start a new one. Create it with workerUrl instead');
    }
    const { opts, wasm } = this._restart;
    const old = this._worker;
    this._worker = startWorker(opts);
    old.terminate();
    for (const pending of this._pending.values()) pending.reject(new Error('stopped: the computation was interrupted'));
    this._pending.clear();
    this._listen(this._worker);
    // Every held model is missing from the new worker until loaded there again (`_loadedFirst`).
    this._stale = new Map([...this._reloadable.keys()].map((handle) => [handle, null]));
    await this._request({ type: 'init', pkgUrl: opts.pkgUrl ? resolveUrl(opts.pkgUrl) : undefined, wasm });
    if (options?.lazy) return;
    for (const handle of [...this._stale.keys()]) await this._loadedFirst(handle);
  }

  /**
   * For a request about model `handle`: null when the worker has it; else the promise of loading it again in the
   * replaced worker (one load however many requests wait for it; a failed one is tried again by the next request).
   */
  _loadedFirst(handle) {
    if (!this._stale.has(handle)) return null;
    let load = this._stale.get(handle);
    if (!load) {
      const stale = this._stale;
      load = this._request(this._reloadable.get(handle)).then(
        () => { if (stale.get(handle) === load) stale.delete(handle); },
        (err) => { if (stale.get(handle) === load) stale.set(handle, null); throw err; });
      stale.set(handle, load);
    }
    return load;
  }

  /**
   * Draw an attention map `[rows][cols]` in the worker with the wasm's rasteriser (the CLI's
   * `glassbox plot` pixels): resolves to an ImageBitmap (or `{ width, height, rgba }` where the
   * worker has no OffscreenCanvas). Options: `{ rows, cols, cellPx, gridLines?, hatchPx?, causal?,
   * mask?, palette? }` (see glassbox.d.ts). `values` is copied, not transferred.
   */
  drawMap(values, options) {
    return this._request({ type: 'drawMap', values, options });
  }

  /** The map's RGBA pixels: `{ width, height, rgba: Uint8ClampedArray }` (for figures and tests). */
  rasterizeMap(values, options) {
    return this._request({ type: 'rasterizeMap', values, options });
  }

  /**
   * Withdraw the background requests still queued in the worker (of lanes starting with `lane`, or all):
   * each rejects with a message starting "cancelled". For when the input they were for has changed.
   */
  dropBackground(lane) {
    this._post({ type: 'dropQueued', lane: lane == null ? undefined : String(lane) });
  }

  /** `{ wasmBytes }`: the size of the engine's WebAssembly memory now (it grows and never shrinks). */
  memory() {
    return this._request({ type: 'memory' });
  }

  /**
   * Pattern scores of every layer and head of attention maps (`{ data, shape }` from a run, or
   * `data` with `options.shape`): `{ nLayers, nHeads, patterns, chance, best, scores: Float32Array [L*H*P] }`
   * (NaN where a pattern is undefined). Options: `{ kind: 'encoder'|'decoder'|'cross', queryIds, keyIds? }`.
   */
  attentionPatterns(maps, options) {
    return this._request({ type: 'attentionPatterns', values: maps.data ?? maps, options: { shape: maps.shape, ...options, queryIds: Array.from(options.queryIds ?? []), ...(options.keyIds ? { keyIds: Array.from(options.keyIds) } : {}) } });
  }

  /**
   * Attention rollout `{ data, shape: [T, T] }` of self-attention maps and, with `flowFrom: i`, the
   * attention flow from output token `i` to each input token (`flow: Float32Array [T]`). Through an
   * encoder-decoder's cross-attention: `maps` the encoder's, decoder's and cross maps' data one after the
   * other, `options.shape` the encoder's, with `decoderShape` and `crossShape`; the result has
   * `encoderRollout` [T][S] and `decoderRollout` [T][T], and the flow runs over the S encoder inputs then
   * the T decoder inputs. `flowStart: k` computes one bounded part of the flow from input k on (`flowNext`:
   * where the next starts, null when done); `rollout: false` skips the rollout; `priority`, `lane` as for
   * `Model.scheduled`.
   */
  attentionRollout(maps, options = {}) {
    // priority/lane schedule the request in the worker (a view's flow parts run as 'background').
    const { priority, lane, ...rest } = options;
    // The rest are Rust's to check; the priority is read here (a rejection, as Rust's would be).
    try {
      checkOptions('attentionRollout', { priority }, ['priority'], [], { priority: isPriority });
    } catch (err) {
      return Promise.reject(err);
    }
    return this._request({ type: 'attentionRollout', values: maps.data ?? maps, options: { shape: maps.shape, ...rest }, priority, lane });
  }

  /**
   * A small RNN, LSTM or one-head attention model learning to recall the first symbol of a sequence (the model
   * of <glassbox-rnn>), trained in the worker a few steps per call. Options: `{ cell: 'rnn'|'lstm'|'attention',
   * length, symbols, hidden, weightScale, clip?, optimizer: 'adam'|'sgd', learningRate, batch, evalSize, seed }`.
   */
  async createTrainer(options = {}) {
    const { handle, info } = await this._request({ type: 'trainerCreate', options });
    return new Trainer(this, handle, info);
  }

  /**
   * Multinomial logistic regression with L2 on fixed features: `{ dims, classes, trainFeatures, trainLabels,
   * testFeatures?, testLabels?, l2?, iterations? }` -> `{ trainAccuracy, testAccuracy, testPredictions, testProbabilities }`.
   */
  fitLogistic(options) {
    return this._request({ type: 'fitLogistic', options });
  }

  /** Stop the worker; pending requests reject and every model is gone. */
  terminate() {
    this._worker.terminate();
    this._failAll('Glassbox was terminated. Create a new one with Glassbox.create()');
  }

  // -- the message protocol --------------------------------------------------------------------

  _request(message, handlers = {}, transfer = []) {
    if (this._closed) return Promise.reject(new Error(this._closed));
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, ...handlers });
      try {
        this._worker.postMessage({ ...message, id }, transfer);
      } catch (err) {
        this._pending.delete(id);
        reject(new Error(`the request could not be sent to the worker (${err.message}). Pass strings, numbers, Blobs or ArrayBuffers`));
      }
      handlers.onId?.(id);
    });
  }

  _post(message) {
    if (!this._closed) this._worker.postMessage(message);
  }

  _receive(msg) {
    const pending = msg && this._pending.get(msg.id);
    if (!pending) return;
    switch (msg.type) {
      case 'progress':
        callBack(pending.onProgress, { loaded: msg.loaded, total: msg.total, file: msg.file, ...(msg.stage ? { stage: msg.stage } : {}) });
        break;
      case 'started':
        pending.onStarted?.(msg.value);
        break;
      case 'tokens':
        // A batch (what the worker decoded in about a frame): one call per token, in order.
        for (const token of msg.value) pending.onToken?.(token);
        break;
      case 'result':
        this._pending.delete(msg.id);
        pending.resolve(msg.value);
        break;
      case 'error':
        this._pending.delete(msg.id);
        pending.reject(new Error(msg.message));
        break;
      default:
        break;
    }
  }

  _failAll(message) {
    this._closed = message;
    for (const pending of this._pending.values()) pending.reject(new Error(message));
    this._pending.clear();
  }
}

/// A user callback must not break the protocol: its exceptions are reported, not propagated.
function callBack(fn, value) {
  if (!fn) return;
  try {
    fn(value);
  } catch (err) {
    setTimeout(() => { throw err; });
  }
}

/**
 * Something loaded in the worker under a handle (a model, a tokenizer): its requests carry the handle and,
 * for a `scheduled` view, a priority and lane; `free` releases it.
 */
class WorkerHandle {
  constructor(glassbox, handle, info, what, loader) {
    this._gb = glassbox;
    this._handle = handle;
    this._freed = false;
    this._freedMessage = `this ${what} was freed. Load it again with ${loader}`;
    this.info = info;
  }

  /**
   * The same object, its requests scheduled in the worker as `priority` ('background' or 'user'): every
   * queued user request runs before any background one, and a background request waits while a generation
   * runs. With `lane`, a newer request of the same type in that lane replaces an older one still queued
   * (the older rejects with a message starting "superseded"). The page gives its off-screen views a
   * background model, so a click never waits behind them.
   */
  scheduled({ priority = 'background', lane } = {}) {
    if (priority !== 'background' && priority !== 'user') {
      throw new Error(`priority "${priority}" is neither "user" nor "background". Pass one of those`);
    }
    const view = Object.create(this);
    view._schedule = { priority, lane: lane == null ? null : String(lane) };
    return view;
  }

  /** Release its memory in the worker. Later calls reject. */
  async free() {
    if (this._freed) return;
    this._freed = true;
    const gb = this._gb;
    gb._reloadable.delete(this._handle);
    // Not in a replaced worker yet (interrupt's lazy reload): nothing to free there, unless its load is under way.
    const load = gb._stale.get(this._handle);
    if (gb._stale.delete(this._handle) && !load) return;
    await load?.catch(() => {});
    await gb._request({ type: 'free', handle: this._handle });
  }

  _request(message, handlers) {
    if (this._freed) return Promise.reject(new Error(this._freedMessage));
    const s = this._schedule;
    const scheduling = s ? { priority: s.priority, lane: s.lane === null ? undefined : `${s.lane}:${message.type}` } : {};
    const send = () => this._gb._request({ ...message, ...scheduling, handle: this._handle }, handlers);
    const load = this._gb._loadedFirst(this._handle);
    return load ? load.then(send) : send();
  }
}

/** A model loaded in the worker. Create with `Glassbox.loadModel`. */
export class Model extends WorkerHandle {
  constructor(glassbox, handle, info) {
    /** The model card (see ModelInfo in glassbox.d.ts): `this.info`. */
    super(glassbox, handle, info, 'model', 'loadModel');
  }

  /** Tokenize: ids, vocabulary strings, UTF-16 offsets into `text`, special flags, optional trace. */
  async tokenize(text, opts = {}) {
    return toTokens(await this._request({ type: 'tokenize', text, options: opts }));
  }

  /** One forward pass: attention of every kind, last hidden state, top-k, sentence embedding. */
  async run(text, opts = {}) {
    return toRunResult(await this._request({ type: 'run', text, options: plainIds(opts) }));
  }

  /**
   * `run` for the teaching views. Options as `run` (`decoderIds`, `scores`, `topK`) plus
   * `qkv: { kind: 'encoder'|'decoder'|'cross', layer }` (one layer's Q/K/V arithmetic, every head),
   * `logitLens: k` (the k likeliest tokens at every hidden state and position),
   * `headMask: { encoder?, decoder?, cross? }` (`[L][H]` flat, 1 keeps a head, 0 ablates it) and
   * `tokenMask` (one 1/0 per source token, specials included: 0 hides it from every query).
   */
  /**
   * Zero-shot classification with an NLI classifier (transformers' zero-shot pipeline; the CLI's `inspect
   * --zero-shot` is the same rule in Rust, Session::zero_shot): each candidate label goes into `template`'s `{}`
   * and is read as the second text; a label scores the softmax of the entailment logits over the labels, or with
   * `multiLabel` (and for one label) its entailment against contradiction. One run per label; scores in the
   * labels' order. Composed here from `run`, so the shipped wasm carries no second copy of the rule.
   */
  async zeroShot(text, { labels, template = 'This example is {}.', multiLabel = false } = {}) {
    const head = this.info.classifier;
    const entail = head?.task === 'sequence' ? head.labels.findIndex((l) => l.toLowerCase().startsWith('entail')) : -1;
    if (entail < 0) {
      throw new Error('zero-shot classification needs an NLI classifier whose labels include "entailment". Load an NLI model such as bart-large-mnli');
    }
    if (!Array.isArray(labels) || !labels.length || labels.length > 64 || labels.some((l) => typeof l !== 'string' || !l.trim())) {
      throw new Error('zero-shot classification takes 1 to 64 candidate labels, none empty. Give labels such as ["sport", "politics"]');
    }
    if (typeof template !== 'string' || !template.includes('{}')) {
      throw new Error(`the hypothesis template ${JSON.stringify(template)} has no {} for the label. Use e.g. "This example is {}."`);
    }
    const contra = entail === 0 ? head.labels.length - 1 : 0;
    const pairs = [];
    // Only the class logits are read: keep one layer of the model's own first kind of attention.
    const kinds = [this.info.kind === 'decoder-only' ? 'decoder' : 'encoder'];
    for (const label of labels) {
      const r = await this.run(text, { pair: template.replace('{}', label), topK: 0, attention: { kinds, layers: [0, 1] } });
      pairs.push([r.classLogits[entail], r.classLogits[contra]]);
    }
    if (multiLabel || labels.length === 1) return Float32Array.from(pairs, ([e, c]) => 1 / (1 + Math.exp(c - e)));
    const top = Math.max(...pairs.map((p) => p[0]));
    const ex = pairs.map((p) => Math.exp(p[0] - top));
    const sum = ex.reduce((a, b) => a + b, 0);
    return Float32Array.from(ex, (v) => v / sum);
  }

  /**
   * A text classifier's "which words decided it?": `{ label, verdict, effects: Float32Array [T] }`, how much
   * hiding each token (`inspect`'s `tokenMask`) lowers the verdict's probability (a regression head: its score);
   * 0 for special tokens. One run per token, at most 256 (the CLI's `inspect --token-effects`, Session::token_effects,
   * is the same rule in Rust). Options `{ pair? }`.
   */
  async tokenEffects(text, { pair } = {}) {
    const head = this.info.classifier;
    if (head?.task !== 'sequence' || this.info.kind !== 'encoder-only') {
      throw new Error('token effects are for text classifiers of encoder models (a *ForSequenceClassification BERT, RoBERTa, ...). Load such a classifier, or use the interventions to hide tokens by hand');
    }
    const quiet = { topK: 0, attention: { kinds: ['encoder'], layers: [0, 1] }, ...(pair === undefined ? {} : { pair }) };
    const base = await this.inspect(text, quiet);
    const n = base.tokens.ids.length;
    if (n > 256) throw new Error(`the text is ${n} tokens long; token effects run the model once per token, up to 256. Shorten the text`);
    const z0 = Array.from(base.classLogits);
    const label = z0.indexOf(Math.max(...z0));
    const score = (z) => {
      if (head.scoring === 'sigmoid') return 1 / (1 + Math.exp(-z[label]));
      if (head.scoring !== 'softmax') return z[label];
      const top = Math.max(...z);
      const sum = z.reduce((a, v) => a + Math.exp(v - top), 0);
      return Math.exp(z[label] - top) / sum;
    };
    const verdict = score(z0);
    const effects = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (base.tokens.special[i]) continue;
      const tokenMask = new Array(n).fill(1);
      tokenMask[i] = 0;
      const hidden = await this.inspect(text, { ...quiet, tokenMask });
      effects[i] = verdict - score(Array.from(hidden.classLogits));
    }
    return { label, verdict, effects };
  }

  async inspect(text, opts = {}) {
    const raw = await this._request({ type: 'inspect', text, options: plainIds(opts) });
    const result = toRunResult(raw);
    if (raw.qkv) result.qkv = raw.qkv;
    if (raw.lens) result.logitLens = toLens(raw.lens);
    if (raw.residual) result.residual = raw.residual;
    return result;
  }

  /**
   * A translation tokenizer's source language from now on (`info.languageCodes` lists them; mBART puts the code after
   * the text, mBART-50 and NLLB before it). Resolves to the updated model card, which is also `this.info`.
   */
  async setSourceLanguage(code) {
    const info = await this._request({ type: 'setSourceLanguage', code: String(code) });
    // The card lives on the model itself, not on a scheduled view of it (`scheduled` makes those).
    let model = this;
    while (Object.prototype.hasOwnProperty.call(model, '_schedule')) model = Object.getPrototypeOf(model);
    model.info = info;
    const load = this._gb._reloadable.get(this._handle);
    if (load) load.srcLang = String(code);
    return info;
  }

  /** `[L, H]` of an attention kind ('encoder' | 'decoder' | 'cross'), or null when the model has none. */
  attentionDims(kind) {
    return this._request({ type: 'attentionDims', kind });
  }

  /** What the model adds to token embeddings at positions 0..n-1 of a stack: `{ data, shape: [N, C] }` (T5: an error). */
  positionVectors(stack, n) {
    return this._request({ type: 'positionVectors', stack, n });
  }

  /** T5's relative position buckets and per-head bias for n tokens of a stack. */
  relativePositions(stack, n) {
    return this._request({ type: 'relativePositions', stack, n });
  }

  /** Rotary models (Llama, Qwen2): how far each pair of head dimensions is turned at positions 0..n-1. */
  rotaryAngles(n) {
    return this._request({ type: 'rotaryAngles', n });
  }

  /** Rows of a stack's token table: `{ rows: { data, shape: [T, C] }, scale }`. */
  tokenEmbeddings(stack, ids) {
    return this._request({ type: 'tokenEmbeddings', stack, ids: Array.from(ids) });
  }

  /**
   * Generate token by token. `onToken` is called once per token, in order, as tokens arrive (a fast model's
   * come about a frame's worth at a time, several calls in one task); `cancel()` stops at the next step.
   * Options left out take the model's generation settings (`info.generation`, from
   * generation_config.json); options given override them. `numBeams > 1` runs beam search: the
   * whole search runs first, then the best hypothesis arrives as token events (`prob: null`, no
   * candidates or attention) and `done` resolves with `beams` (every hypothesis, best first).
   */
  generate(text, opts = {}) {
    try {
      checkOptions('generate', opts === null ? undefined : { onToken: opts?.onToken }, ['onToken'], ['onToken']);
    } catch (err) {
      // The handle's promises carry the error, as every other failure of a generation does.
      // Marked handled as the working path's are: a caller may await either one.
      const failed = Promise.reject(err);
      const started = Promise.reject(err);
      failed.catch(() => {});
      started.catch(() => {});
      return { done: failed, started, cancel: () => {} };
    }
    const { onToken, ...options } = opts ?? {};
    let id = null;
    let cancelled = false;
    let resolveStarted;
    let rejectStarted;
    const started = new Promise((resolve, reject) => { resolveStarted = resolve; rejectStarted = reject; });
    started.catch(() => {});
    // What the caller was handed before cancel(): the worker may take a step or two before the cancel
    // reaches it (messages and timers race in every host), so tokens after cancel() are dropped here and
    // `done` reports what the caller saw: a cancel before the first token always ends with no tokens.
    const delivered = [];
    let deliveredText = '';
    const done = this._request({ type: 'generate', text, options }, {
      onId: (requestId) => { id = requestId; },
      onStarted: (value) => resolveStarted({
        input: toTokens(value.input), prefixIds: value.prefixIds, prefixTokens: value.prefixTokens, prefixSpecial: value.prefixSpecial,
        plan: value.plan,
      }),
      onToken: (value) => {
        if (cancelled) return;
        delivered.push(value.id);
        deliveredText = value.text;
        callBack(onToken, toGeneratedToken(value));
      },
    }).then((result) => (cancelled && Array.isArray(result?.ids) && result.ids.length > delivered.length
      ? { ...result, ids: delivered.slice(), text: deliveredText, stoppedBy: 'cancel' }
      : result));
    done.then(() => rejectStarted(new Error('the generation ended before it started')), (err) => rejectStarted(err));
    return {
      done,
      started,
      cancel: () => {
        if (cancelled || id === null) return;
        cancelled = true;
        this._gb._post({ type: 'cancel', target: id });
      },
    };
  }
}

/** A tokenizer without a model, loaded in the worker. Create with `Glassbox.loadTokenizer`. */
export class Tokenizer extends WorkerHandle {
  constructor(glassbox, handle, info) {
    /** `{ tokenizer: 'BPE' | 'WordPiece' | 'Unigram' | 'WordLevel', vocabSize }`: `this.info`. */
    super(glassbox, handle, info, 'tokenizer', 'loadTokenizer');
  }

  /** As `Model.tokenize`: ids, vocabulary strings, UTF-16 offsets into `text`, special flags, optional trace. */
  async tokenize(text, opts = {}) {
    return toTokens(await this._request({ type: 'tokenize', text, options: opts }));
  }
}

/** A model in training in the worker. Create with `Glassbox.createTrainer`. */
export class Trainer {
  constructor(glassbox, handle, info) {
    this._gb = glassbox;
    this._handle = handle;
    /** `{ cell, length, parameters, recurrentSingularValue, steps }` at creation. */
    this.info = info;
  }

  /** `n` more steps: `{ step, clipped, skipped, loss, accuracy, gradNorm }` (Float32Array [n] each). */
  step(n = 1) {
    return this._gb._request({ type: 'trainerStep', trainer: this._handle, n });
  }

  /** On fixed evaluation sequences: `{ step, loss, accuracy, stepNorms }` (stepNorms[t]: gradient reaching step t + 1). */
  evaluate() {
    return this._gb._request({ type: 'trainerEvaluate', trainer: this._handle });
  }

  /** `{ cell, length, parameters, recurrentSingularValue, steps }` now. */
  describe() {
    return this._gb._request({ type: 'trainerInfo', trainer: this._handle });
  }

  /** Release it in the worker. */
  free() {
    return this._gb._request({ type: 'trainerFree', trainer: this._handle });
  }
}

// -- shaping replies: flat typed arrays from the worker into the documented types --------------

/// Options as the wasm reads them (each key checked there by name); `decoderIds` may be any
/// array-like of numbers.
function plainIds(opts) {
  return opts.decoderIds == null || Array.isArray(opts.decoderIds) || ArrayBuffer.isView(opts.decoderIds)
    ? opts : { ...opts, decoderIds: Array.from(opts.decoderIds) };
}

function toTokens(raw) {
  const offsets = new Array(raw.ids.length);
  for (let i = 0; i < offsets.length; i++) offsets[i] = [raw.offsets[2 * i], raw.offsets[2 * i + 1]];
  const tokens = { ids: raw.ids, tokens: raw.tokens, offsets, special: Array.from(raw.special, Boolean) };
  if (raw.trace !== undefined) tokens.trace = raw.trace;
  // A text pair: which tokens are the second text's (their offsets index that text).
  if (raw.second !== undefined) tokens.second = Array.from(raw.second, Boolean);
  return tokens;
}

/// `{ k, ids, probs, tokens }` flat over positions -> one array of candidates per position.
function toCandidateRows(flat) {
  const rows = [];
  const k = flat.k;
  for (let at = 0; at < flat.ids.length; at += k) {
    const row = [];
    for (let j = at; j < at + k; j++) row.push({ id: flat.ids[j], token: flat.tokens[j], prob: flat.probs[j], special: flat.special[j] });
    rows.push(row);
  }
  return rows;
}

function toRunResult(raw) {
  const result = { tokens: toTokens(raw.tokens), attentions: raw.attentions, lastHiddenState: raw.lastHiddenState };
  if (raw.decoderIds) {
    result.decoderIds = raw.decoderIds;
    result.decoderTokens = raw.decoderTokens;
    result.decoderSpecial = raw.decoderSpecial;
  }
  if (raw.scores) result.scores = raw.scores;
  if (raw.topK) result.topK = toCandidateRows(raw.topK);
  if (raw.logits) result.logits = raw.logits;
  if (raw.sentenceEmbedding) result.sentenceEmbedding = raw.sentenceEmbedding;
  if (raw.replacedLogits) result.replacedLogits = raw.replacedLogits;
  if (raw.classLogits) result.classLogits = raw.classLogits;
  if (raw.answers) {
    result.answers = raw.answers;
    result.answerStarts = raw.answerStarts;
    result.answerEnds = raw.answerEnds;
  }
  return result;
}

/// `{ k, nStates, seqLen, ids, probs, tokens }` flat -> `{ nStates, seqLen, k, top[state][pos] }`.
function toLens(raw) {
  const rows = toCandidateRows(raw);
  const top = [];
  for (let s = 0; s < raw.nStates; s++) top.push(rows.slice(s * raw.seqLen, (s + 1) * raw.seqLen));
  return { nStates: raw.nStates, seqLen: raw.seqLen, k: raw.k, top };
}

function toGeneratedToken(raw) {
  const c = raw.candidates;
  const token = {
    step: raw.step,
    id: raw.id,
    token: raw.token,
    special: raw.special,
    text: raw.text,
    prob: raw.prob,
    candidates: Array.from(c.ids, (id, j) => ({ id, token: c.tokens[j], prob: c.probs[j], special: c.special[j] })),
    ms: raw.ms, // when the worker decoded it, in ms since generate() reached the worker
  };
  // The distribution the token was drawn from (after the rules, temperature, top-k and top-p); absent for beams.
  const d = raw.sampled;
  if (d) {
    token.sampled = Array.from(d.ids, (id, j) => ({ id, token: d.tokens[j], prob: d.probs[j], special: d.special[j] }));
    token.sampledSupport = d.support;
  }
  if (raw.attentions) token.attentions = raw.attentions;
  return token;
}

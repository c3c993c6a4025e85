// The Glassbox Web Worker: owns the wasm module and every loaded model.
//
// Protocol (see docs/js-api.md): requests are `{ id, type, ... }`; replies carry the same id and
// one of `type: 'progress' | 'started' | 'tokens' | 'result' | 'error'`. Every typed array in a
// reply is transferred, never copied. A request never kills the worker: failures become
// `error` replies with the core's message.
//
// Requests:
//   init      { pkgUrl?, wasm? }                      -> result { version, simd128, relaxed_simd }
//   load      { source: { baseUrl, present? } | { files }, randomSeed?, weights? }
//                                                     -> progress*, result { handle, info }
//   loadTokenizer { source: { baseUrl, present? } | { files } }   -> result { handle, info: { tokenizer, vocabSize } } (a tokenizer
//             alone, e.g. models/tokenizers/gpt2/: only tokenize and free take its handle; scheduled like tokenize)
//   tokenize  { handle, text, options: { addSpecialTokens?, trace? } } -> result (raw tokens, see glassbox.js)
//   run       { handle, text, options: { decoderIds?, scores?, topK?, logits? } } -> result (raw run result)
//   inspect   { handle, text, options: { decoderIds?, scores?, topK?, qkv?: { kind, layer }, logitLens?,
//               headMask?: { encoder?, decoder?, cross? }, tokenMask? } } -> result (raw run result + qkv? + lens?)
//   drawMap   { values: Float32Array, options: { rows, cols, cellPx, gridLines?, hatchPx?, causal?, mask?, palette? } }
//                                                     -> result ImageBitmap (transferred), or { width, height, rgba }
//                                                        where the worker has no OffscreenCanvas
//   rasterizeMap { values, options }                  -> result { width, height, rgba: Uint8ClampedArray }
//   attentionPatterns { values, options: { shape, kind, queryIds, keyIds? } } -> result (scores of every head)
//   attentionRollout  { values, options: { shape, decoderShape?, crossShape?, flowFrom?, flowStart?, rollout? } }
//                     -> result { rollout? | encoderRollout?+decoderRollout?, flowFrom, flowStart, flowNext, flowInputs, flow? }
//   attentionDims     { handle, kind }                 -> result [L, H] | null
//   positionVectors   { handle, stack, n }             -> result { data, shape: [N, C] }
//   relativePositions { handle, stack, n }             -> result (T5 buckets and bias)
//   tokenEmbeddings   { handle, stack, ids }           -> result { rows: { data, shape }, scale }
//   rotaryAngles      { handle, n }                    -> result { nPositions, nPairs, theta, scaling, invFreq, angles }
//   generate  { handle, text, options }               -> started { ..., plan }, tokens*, result { ids, text, stoppedBy, beams? }
//             (`tokens`: an array of tokens in order, about a frame's worth each, the first token alone;
//              options left out take the model's generation_config.json; numBeams > 1 runs the whole
//              beam search before `started`, then replays the best hypothesis as tokens)
//
// Every request that computes (tokenize, run, inspect, generate, drawMap, ...) may also carry
// `priority: 'user' | 'background'` (default 'user') and `lane` (a string): see "Scheduling" below.
//   dropQueued { lane? }                             (no reply; queued background requests end with a "cancelled" error)
//
// Options objects go to the wasm as they are: Rust (serde) fills the defaults and refuses unknown
// or mistyped keys by name, so this file checks nothing the core checks.
//   trainerCreate { options } -> result { handle, info }; trainerStep { trainer, n } -> result (metrics);
//   trainerEvaluate / trainerInfo / trainerFree { trainer }; fitLogistic { options } -> result (see glassbox.js)
//   cancel    { target }                              (no reply; the generation `target` ends with 'cancel', a queued
//                                                      request or a load `target` with a "cancelled" error: a load
//                                                      stops its downloads and reads and builds nothing)
//   free      { handle }                              -> result null
//   memory    {}                                      -> result { wasmBytes } (the engine's linear memory now: it only grows)

const REQUIRED = ['config.json', 'tokenizer.json'];
const OPTIONAL = ['tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];
// A Marian folder as transformers saves it: no tokenizer.json, these instead (target_vocab.json only with
// separate vocabularies). The engine makes a tokenizer.json of them (marianTokenizerJson), as the CLI does.
const MARIAN = ['source.spm', 'target.spm', 'vocab.json'];
const MARIAN_OPTIONAL = ['target_vocab.json'];
// An M2M100 folder (facebook/m2m100_418M): M2M100Tokenizer's files, made into a tokenizer.json by marianTokenizerJson
// with no target.spm.
const M2M100 = ['sentencepiece.bpe.model', 'vocab.json'];
// A slow tokenizer's files (older checkpoints): BERT's vocab.txt, or GPT-2's and RoBERTa's vocab.json and merges.txt.
// The engine builds the tokenizer of them as transformers does, by the folder's class (slowTokenizerJson).
const SLOW = ['vocab.txt', 'vocab.json', 'merges.txt'];
const WEIGHTS = 'model.safetensors';
// A sharded checkpoint (save_pretrained over its max_shard_size): the index names the shard holding each tensor.
const INDEX = 'model.safetensors.index.json';
const PROGRESS_INTERVAL_MS = 100;

// Whether this engine has relaxed SIMD: a 35-byte module whose one function is an f32x4.relaxed_madd. Where it does,
// the worker loads glassbox_relaxed_bg.wasm, the same code with fused multiply-adds in the kernels (prefill about
// 1.15-1.25x faster); elsewhere, or when that file cannot be loaded, glassbox_bg.wasm (baseline SIMD128).
const RELAXED_SIMD = (() => {
  try {
    return WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 123, 1, 123, 3, 2, 1, 0,
      10, 13, 1, 11, 0, 32, 0, 32, 0, 32, 0, 253, 133, 2, 11]));
  } catch {
    return false;
  }
})();
/** The wasm binaries to try in order: the relaxed-SIMD build first where the engine has it. `undefined` is the
 * glue's own default (glassbox_bg.wasm beside it). */
function wasmChoices(relaxed, simd128) {
  return RELAXED_SIMD && relaxed !== undefined ? [relaxed, simd128] : [simd128];
}
// All three as literal `new URL(…, import.meta.url)`, so a bundler (Vite, webpack) copies the glue and both wasm
// builds with the worker.
let pkgSpec = {
  pkgUrl: new URL('../pkg/glassbox.js', import.meta.url).href,
  wasm: wasmChoices(new URL('../pkg/glassbox_relaxed_bg.wasm', import.meta.url).href, new URL('../pkg/glassbox_bg.wasm', import.meta.url).href),
};
let engine = null; // Promise of the imported wasm-bindgen module, initialised
let engineCount = 0; // bumped after a crash so the next import is a fresh instance
let wasmMemory = null; // the engine's WebAssembly.Memory, for `memory`
const models = new Map(); // handle -> { model: WasmModel, engine }
// How to load each model again after a trap replaced the engine: { source, randomSeed }. Folders fetched from a
// URL (fetched again, mostly from the HTTP cache) and files given as File/Blob handles (read again: a Blob is a
// handle, not a copy); bytes handed over as ArrayBuffers are not kept twice in memory, so those are not reloadable.
const reloadable = new Map();
const generations = new Map(); // request id -> { handle, cancelled }
const loads = new Map(); // request id of a load under way -> AbortController (`cancel` aborts its downloads and reads)
let nextHandle = 1;

self.addEventListener('message', (event) => {
  const msg = event.data;
  if (!msg || typeof msg !== 'object') return;
  if (msg.type === 'cancel') {
    const job = generations.get(msg.target);
    if (job) job.cancelled = true;
    loads.get(msg.target)?.abort();
    // A generation withdrawn before its first step ends as a cancelled one does; other requests reject.
    dropQueued((queued) => queued.msg.id === msg.target, 'cancelled: the request was withdrawn before it ran',
      (queued) => (queued.msg.type === 'generate' ? { ids: [], text: '', stoppedBy: 'cancel' } : undefined));
    return;
  }
  if (msg.type === 'dropQueued') {
    dropQueued((queued) => queued.priority === BACKGROUND && (msg.lane == null || String(queued.lane).startsWith(String(msg.lane))),
      'cancelled: the input changed before this background request ran');
    return;
  }
  if (SCHEDULED.has(msg.type)) schedule(msg);
  else handle(msg);
});

async function handle(msg) {
  const { id } = msg;
  try {
    if (msg.type !== 'free' && !models.has(msg.handle) && reloadable.has(msg.handle)) await reload(msg.handle);
    const value = await dispatch(msg);
    post({ id, type: 'result', value });
  } catch (err) {
    post({ id, type: 'error', message: await describe(err) });
  }
}

// ---------------------------------------------------------------------------------------------
// Scheduling: the wasm computes one thing at a time, so the order is what the user feels. Requests
// that compute wait in one queue and run one at a time: every `user` request (the default: the
// page's run, generate, a slider, a map to draw) before any `background` one (views off screen
// or waiting to be looked at), oldest first within a priority. A generation is a chain of
// steps, each queued behind the user requests that arrived meanwhile, and background work waits
// until it ends. A request with a `lane` replaces a queued (not yet started) request of the same
// lane, which gets an error reply starting "superseded"; `cancel` withdraws a queued request,
// `dropQueued { lane? }` the background ones (of lanes starting with `lane`).
// Loading, freeing and starting the engine are not queued (they wait on the network).

const SCHEDULED = new Set(['tokenize', 'run', 'inspect', 'drawMap', 'rasterizeMap', 'attentionDims', 'positionVectors',
  'relativePositions', 'rotaryAngles', 'tokenEmbeddings', 'attentionPatterns', 'attentionRollout', 'generate',
  'loadTokenizer']);   // building a 50k-entry BPE is a long synchronous stretch: a background one waits its turn
const USER = 0;
const BACKGROUND = 1;
const queue = []; // { msg, priority, lane, order, run: () => Promise<void>, timerTurn }
let queueOrder = 0;
let pumping = false;

function schedule(msg) {
  const priority = msg.priority === 'background' ? BACKGROUND : USER;
  const lane = typeof msg.lane === 'string' ? msg.lane : null;
  if (lane !== null) dropQueued((queued) => queued.lane === lane, 'superseded: a newer request of the same kind replaced it before it ran');
  const generate = msg.type === 'generate';
  const lensSteps = msg.type === 'inspect' && Number(msg.options?.logitLens) > 0;
  const run = generate ? () => startGeneration(msg, priority) : lensSteps ? () => startInspection(msg, priority, lane) : () => handle(msg);
  // A `cancel` sent right after `generate` must win: the first step waits for a timer turn.
  enqueue({ msg, priority, lane, run, timerTurn: generate });
}

function enqueue(job) {
  queue.push({ ...job, order: queueOrder++ });
  pump();
}

/// Forget every queued request `which` selects and reply: with `result(job)` when it gives one, else with
/// an error (an inspection between its lens steps too; a generation between steps is stopped by its
/// `cancelled` flag instead).
function dropQueued(which, message, result = () => undefined) {
  for (let i = queue.length - 1; i >= 0; i--) {
    const job = queue[i];
    if ((!job.step || job.stop) && which(job)) {
      queue.splice(i, 1);
      job.stop?.();
      const value = result(job);
      post(value === undefined ? { id: job.msg.id, type: 'error', message } : { id: job.msg.id, type: 'result', value });
    }
  }
}

/// The next job: the lowest priority number, then the oldest.
function takeNext() {
  let best = 0;
  for (let i = 1; i < queue.length; i++) {
    const a = queue[i];
    const b = queue[best];
    if (a.priority < b.priority || (a.priority === b.priority && a.order < b.order)) best = i;
  }
  return queue.splice(best, 1)[0];
}

async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    while (queue.length) {
      const job = takeNext();
      await job.run();
      // Let requests that arrived meanwhile (a cancel, the user's click) into the queue before choosing again.
      await yieldToEventLoop(Boolean(job.timerTurn));
    }
  } finally {
    pumping = false;
  }
}

function dispatch(msg) {
  switch (msg.type) {
    case 'init': return init(msg);
    case 'load': return load(msg);
    case 'loadTokenizer': return loadTokenizer(msg);
    case 'tokenize': return modelFor(msg.handle).model.tokenize(text(msg.text), msg.options);
    case 'run': return modelFor(msg.handle).model.run(text(msg.text), msg.options);
    case 'inspect': return modelFor(msg.handle).model.inspect(text(msg.text), msg.options);
    case 'drawMap': return drawMap(msg);
    case 'rasterizeMap': return getEngine().then((api) => api.rasterizeMap(floats(msg.values), msg.options));
    case 'attentionPatterns': return getEngine().then((api) => api.attentionPatterns(floats(msg.values), msg.options));
    case 'attentionRollout': return getEngine().then((api) => api.attentionRollout(floats(msg.values), msg.options));
    case 'attentionDims': return modelFor(msg.handle).model.attentionDims(String(msg.kind));
    case 'setSourceLanguage': {
      const entry = modelFor(msg.handle);
      entry.model.setSourceLanguage(String(msg.code));
      // A model loaded again (a fresh engine) keeps the chosen language.
      if (reloadable.has(msg.handle)) reloadable.get(msg.handle).srcLang = String(msg.code);
      return entry.model.info();
    }
    case 'positionVectors': return modelFor(msg.handle).model.positionVectors(String(msg.stack), wholeNumber(msg.n, 'n', 'Ask for e.g. 32 positions'));
    case 'relativePositions': return modelFor(msg.handle).model.relativePositions(String(msg.stack), wholeNumber(msg.n, 'n', 'Ask for e.g. 32 positions'));
    case 'rotaryAngles': return modelFor(msg.handle).model.rotaryAngles(wholeNumber(msg.n, 'n', 'Ask for e.g. 32 positions'));
    case 'tokenEmbeddings': return modelFor(msg.handle).model.tokenEmbeddings(String(msg.stack), tokenIds(msg.ids, 'ids'));
    case 'free': return free(msg.handle);
    case 'memory': return getEngine().then(() => ({ wasmBytes: wasmMemory?.buffer.byteLength ?? 0 }));
    case 'trainerCreate': case 'trainerStep': case 'trainerEvaluate': case 'trainerInfo': case 'trainerFree': case 'fitLogistic':
      return learn(msg);
    default: throw new Error(`unknown request type "${msg.type}". Use init, load, loadTokenizer, tokenize, run, inspect, setSourceLanguage, attentionDims, `
      + 'positionVectors, relativePositions, rotaryAngles, tokenEmbeddings, drawMap, rasterizeMap, attentionPatterns, '
      + 'attentionRollout, generate, cancel, free, memory, trainerCreate, trainerStep, trainerEvaluate, trainerInfo, trainerFree or fitLogistic');
  }
}

// ---------------------------------------------------------------------------------------------
// Replies

function post(reply) {
  self.postMessage(reply, transferables(reply));
}

/// Buffers of typed arrays that own their whole buffer (ours are fresh copies out of wasm memory).
function transferables(value, out = [], depth = 0) {
  if (value == null || typeof value !== 'object' || depth > 6) return out;
  if (typeof ImageBitmap !== 'undefined' && value instanceof ImageBitmap) {
    out.push(value);
    return out;
  }
  if (ArrayBuffer.isView(value)) {
    const { buffer } = value;
    if (value.byteOffset === 0 && value.byteLength === buffer.byteLength && !out.includes(buffer)) out.push(buffer);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    if (v !== null && typeof v === 'object') transferables(v, out, depth + 1);
  }
  return out;
}

/// The message for an error reply. A wasm trap means a bug (the core returns errors for bad
/// input): report the panic, drop the broken instance and every model in it.
async function describe(err) {
  if (err instanceof WebAssembly.RuntimeError) {
    let panic = null;
    try {
      const api = await engine;
      panic = api?.lastPanic?.();
    } catch { /* the instance is broken; the trap itself is the message */ }
    restartEngine();
    return `Glassbox hit an internal error (${panic ?? err.message}). This is a bug; please report it. `
      + 'The engine was restarted: the models you had are loaded again by your next request';
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

function restartEngine() {
  engine = null;
  engineCount += 1;
  models.clear();
  for (const job of generations.values()) job.cancelled = true;
}

// ---------------------------------------------------------------------------------------------
// The wasm module

function init(msg) {
  if (msg.pkgUrl) {
    // Its own wasm, beside it, unless given.
    const pkgUrl = String(msg.pkgUrl);
    let relaxed;
    try {
      relaxed = new URL('glassbox_relaxed_bg.wasm', pkgUrl).href;
    } catch {
      relaxed = undefined; // a pkgUrl no relative URL resolves against (a data: URL): the glue's default only
    }
    pkgSpec = { pkgUrl, wasm: wasmChoices(relaxed, undefined) };
  }
  if (msg.wasm !== undefined) pkgSpec = { ...pkgSpec, wasm: [msg.wasm] };
  return getEngine().then((api) => api.buildInfo());
}

function getEngine() {
  if (!engine) {
    // A fragment makes a fresh module instance after a crash (the module map is keyed by URL).
    const url = engineCount === 0 ? pkgSpec.pkgUrl : `${pkgSpec.pkgUrl}#restart-${engineCount}`;
    engine = (async () => {
      let api;
      try {
        api = await import(url);
      } catch (err) {
        throw new Error(`the wasm module could not be loaded from ${pkgSpec.pkgUrl} (${err.message}). `
          + 'Build it with scripts/build-wasm.sh, or pass pkgUrl to Glassbox.create');
      }
      // The relaxed-SIMD build first where the engine has it; a failure there (a copy of pkg/ without that file)
      // falls back to the SIMD128 build, whose failure is the one reported.
      let failure = null;
      for (const wasm of pkgSpec.wasm) {
        try {
          const exports = await api.default(wasm === undefined ? undefined : { module_or_path: wasm });
          wasmMemory = exports?.memory ?? null;
          failure = null;
          break;
        } catch (err) {
          failure = err;
        }
      }
      if (failure) {
        throw new Error(`the wasm binary next to ${pkgSpec.pkgUrl} could not be started (${failure.message}). `
          + 'Rebuild it with scripts/build-wasm.sh; the browser needs WebAssembly SIMD (any browser since 2021)');
      }
      api.installPanicHook();
      return api;
    })();
    engine.catch(() => { engine = null; });
  }
  return engine;
}

// ---------------------------------------------------------------------------------------------
// Loading

async function load(msg) {
  const loading = new AbortController();
  loads.set(msg.id, loading);
  try {
    return await loadModel(msg, loading.signal);
  } catch (err) {
    // What stopped a withdrawn load (an aborted fetch, a read refused mid-file) is not the news: the cancel is.
    if (loading.signal.aborted) throw new Error(CANCELLED_LOAD);
    throw err;
  } finally {
    loads.delete(msg.id);
  }
}

const CANCELLED_LOAD = 'cancelled: the load was withdrawn before it finished (nothing more is downloaded or built)';

/// `signal`: aborted by a `cancel` of this load. Downloads and stream reads stop at once and the model is not
/// built. The build (WasmModel.load, which also reads a picked model.safetensors range by range) is one
/// synchronous call: no message reaches the worker during it, so a cancel sent then takes effect when it ends.
async function loadModel(msg, signal) {
  const { source } = msg;
  const randomSeed = msg.randomSeed == null ? undefined : msg.randomSeed;
  const weights = msg.weights == null ? undefined : msg.weights;
  const srcLang = msg.srcLang == null ? undefined : String(msg.srcLang);
  const needWeights = randomSeed === undefined;
  const progress = (p) => post({ id: msg.id, type: 'progress', ...p });
  let bytes;
  if (source && typeof source.baseUrl === 'string') {
    bytes = await fetchFolder(source.baseUrl, source.present, needWeights, progress, signal);
  } else if (source && source.files && typeof source.files === 'object') {
    bytes = await readFiles(source.files, needWeights, progress, signal);
  } else {
    throw new Error('the model source is neither { baseUrl } nor { files }. '
      + 'Pass the URL of a model folder, or the files config.json, model.safetensors and tokenizer.json');
  }
  const api = await getEngine();
  signal.throwIfAborted();
  const model = api.WasmModel.load(
    bytes['config.json'],
    needWeights ? bytes[WEIGHTS] : null,
    bytes['tokenizer.json'],
    bytes['tokenizer_config.json'] ?? null,
    bytes['special_tokens_map.json'] ?? null,
    bytes['generation_config.json'] ?? null,
    { randomSeed, weights, srcLang },
  );
  // A replaced worker (Glassbox.interrupt) loads the models again under the handles the page holds.
  const handle = Number.isInteger(msg.handle) && !models.has(msg.handle) ? msg.handle : nextHandle++;
  nextHandle = Math.max(nextHandle, handle + 1);
  models.set(handle, { model, engine: api });
  if (source.baseUrl !== undefined || onlyBlobs(source.files)) reloadable.set(handle, { source, randomSeed, weights, srcLang });
  return { handle, info: model.info() };
}

/// True when every file is a File/Blob handle, which can be read again without keeping a copy.
function onlyBlobs(files) {
  return Boolean(files) && typeof Blob !== 'undefined' && Object.values(files).every((v) => v instanceof Blob);
}

/** What to check when a fetch got no answer at all (the browser says only "Failed to fetch"). */
const UNREACHABLE_FIX = 'Check the address, that the server is running, that it lets other sites read its files (CORS), and that '
  + 'the Content-Security-Policy of the page allows fetching from it (connect-src)';

/// `present`: the folder's file names when known (from /models/index.json), so absent optional
/// files are not requested (each 404 is a console error in browsers).
/// `signal` (optional) aborts the downloads.
async function fetchFolder(baseUrl, present, needWeights, progress, signal) {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const get = async (name, required) => {
    if (!required && Array.isArray(present) && !present.includes(name)) return null;
    const url = new URL(name, base).href;
    let response;
    try {
      response = await fetch(url, { signal });
    } catch (err) {
      signal?.throwIfAborted();
      if (!required) return null;
      throw new Error(`${name}: could not be downloaded from ${url} (${err.message}). ${UNREACHABLE_FIX}`);
    }
    if (!response.ok) {
      if (!required) return null;
      // A shard is asked for because model.safetensors.index.json names it: the folder lacks it, not the basics.
      const fix = name.endsWith('.safetensors') && name !== 'model.safetensors'
        ? 'model.safetensors.index.json names this file: put it beside the index, or fix the index'
        : 'Check the model folder URL: it must hold config.json, model.safetensors and tokenizer.json';
      throw new Error(`${name}: the server answered ${response.status} ${response.statusText} for ${url}. ${fix}`);
    }
    const length = Number(response.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : null;
    if (!response.body) return new Uint8Array(await response.arrayBuffer());
    return readStream(response.body, total, name, progress, signal);
  };
  // The small files first, so a bad config fails before a large download. tokenizer.json is asked for as optional
  // (`get` skips it when the index lists the folder without it); without it, the files that stand in for it.
  const small = await Promise.all([get('config.json', true), get('tokenizer.json', false), ...OPTIONAL.map((n) => get(n, false))]);
  const bytes = Object.fromEntries([...REQUIRED, ...OPTIONAL].map((n, i) => [n, small[i]]));
  if (!bytes['tokenizer.json']) {
    const source = await get('source.spm', false);
    let spm;
    if (source) {
      const files = { 'source.spm': source };
      for (const name of MARIAN.slice(1)) files[name] = await get(name, true);
      for (const name of MARIAN_OPTIONAL) files[name] = await get(name, false);
      bytes['tokenizer.json'] = await marianTokenizer(files, bytes['tokenizer_config.json']);
    } else if ((spm = await get(M2M100[0], false))) {
      bytes['tokenizer.json'] = await m2m100Tokenizer(spm, await get(M2M100[1], true), bytes['tokenizer_config.json']);
    } else {
      const files = {};
      for (const name of SLOW) files[name] = await get(name, false);
      if (!files['vocab.txt'] && !(files['vocab.json'] && files['merges.txt'])) await get('tokenizer.json', true); // throws, naming tokenizer.json and the server's answer
      bytes['tokenizer.json'] = await slowTokenizer(files);
    }
  }
  checkJson(bytes);
  if (needWeights) {
    // The tokenizer, the generation settings and config.json's values are checked before the weights are
    // downloaded: another model's tokenizer is named before hundreds of megabytes are fetched, not after.
    (await getEngine()).checkBeforeWeights(bytes['config.json'], bytes['tokenizer.json'], bytes['tokenizer_config.json'] ?? null,
      bytes['special_tokens_map.json'] ?? null, bytes['generation_config.json'] ?? null);
    // model.safetensors, else the shards of a sharded checkpoint's index (transformers prefers the one file too).
    let missing = null;
    const single = Array.isArray(present) && !present.includes(WEIGHTS) ? null : await get(WEIGHTS, true).catch((err) => { missing = err; return null; });
    const index = single ? null : await get(INDEX, false);
    if (single) bytes[WEIGHTS] = single;
    else if (index) bytes[WEIGHTS] = await shardedWeights(index, (name) => get(name, true));
    else {
      // The folder's listing (from /models/index.json) may show the weights in another form: name it.
      if (Array.isArray(present)) await refuseStandIn(present, WEIGHTS);
      throw missing ?? new Error(`${WEIGHTS}: the folder has neither it nor ${INDEX}. Check the model folder URL`);
    }
  }
  return bytes;
}

/// A sharded checkpoint as the engine takes it, `{ index, shards: { name: bytes or reader } }`: each shard the
/// index names `open`ed by its name (null when it is not there: the engine then names it). The names come
/// from the engine, which refuses any that is not a plain file name (a path could reach outside the folder).
async function shardedWeights(index, open) {
  const names = (await getEngine()).shardNames(index).split('\n');
  const shards = {};
  for (const name of names) {
    const file = await open(name);
    if (file != null) shards[name] = file;
  }
  return { index, shards };
}

async function readFiles(files, needWeights, progress, signal) {
  // Keys may be paths (a dropped folder, `webkitRelativePath`): match on the file name.
  const byName = new Map();
  const keyOf = new Map(); // file name -> the key it came from, to name two keys for one file
  for (const [key, value] of Object.entries(files)) {
    if (value == null) continue; // as absent
    const name = key.split(/[\\/]/).pop();
    // Two keys for one file (a folder inside the folder, "../config.json"): which one is meant is not for us to guess.
    if (keyOf.has(name)) {
      throw new Error(`${name}: two of the given files are called that ("${keyOf.get(name)}" and "${key}"). `
        + 'Give one file of each name: the model folder\'s own files, without its subfolders');
    }
    byName.set(name, value);
    keyOf.set(name, key);
  }
  const read = async (name, required) => {
    const value = byName.get(name);
    if (value == null) {
      if (!required) return null;
      throw new Error(`${name}: is missing from the chosen files. `
        + 'Pick the whole model folder: config.json, model.safetensors and tokenizer.json');
    }
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (typeof Blob !== 'undefined' && value instanceof Blob) {
      return typeof value.stream === 'function'
        ? readStream(value.stream(), value.size, name, progress, signal)
        : new Uint8Array(await value.arrayBuffer());
    }
    throw new Error(`${name}: is neither a Blob nor an ArrayBuffer. Pass the File from the file picker or its bytes`);
  };
  const bytes = {};
  const noTokenizer = !byName.has('tokenizer.json');
  const marian = noTokenizer && MARIAN.every((n) => byName.has(n));
  const m2m100 = noTokenizer && !marian && !byName.has('merges.txt') && M2M100.every((n) => byName.has(n));
  const slow = noTokenizer && !marian && !m2m100 && (byName.has('vocab.txt') || (byName.has('vocab.json') && byName.has('merges.txt')));
  if (noTokenizer && !marian && !m2m100 && !slow) await refuseStandIn([...byName.keys()], 'tokenizer.json');
  const standIn = marian || m2m100 || slow; // what replaces tokenizer.json
  for (const name of [...REQUIRED, ...OPTIONAL]) bytes[name] = await read(name, REQUIRED.includes(name) && !(standIn && name === 'tokenizer.json'));
  if (marian) {
    const files = {};
    for (const name of [...MARIAN, ...MARIAN_OPTIONAL]) files[name] = await read(name, MARIAN.includes(name));
    bytes['tokenizer.json'] = await marianTokenizer(files, bytes['tokenizer_config.json']);
  } else if (m2m100) {
    bytes['tokenizer.json'] = await m2m100Tokenizer(await read(M2M100[0], true), await read(M2M100[1], true), bytes['tokenizer_config.json']);
  } else if (slow) {
    const files = {};
    for (const name of SLOW) files[name] = await read(name, false);
    bytes['tokenizer.json'] = await slowTokenizer(files);
  }
  checkJson(bytes);
  const sharded = !byName.has(WEIGHTS) && byName.has(INDEX);
  if (needWeights && !byName.has(WEIGHTS) && !sharded) await refuseStandIn([...byName.keys()], WEIGHTS);
  // A picked file is read a range at a time as the engine asks; bytes already in memory are handed over.
  const weightFile = (name) => {
    const picked = byName.get(name);
    if (picked == null) return null;
    return typeof FileReaderSync === 'function' && typeof Blob !== 'undefined' && picked instanceof Blob
      ? blobReader(picked, progress, name)
      : read(name, true);
  };
  if (needWeights) bytes[WEIGHTS] = sharded ? await shardedWeights(await read(INDEX, true), weightFile) : (await weightFile(WEIGHTS)) ?? await read(WEIGHTS, true);
  return bytes;
}

/// model.safetensors (or a shard, `name`) picked from disk, handed to the engine as a reader `{ size, read(offset, length) }` that
/// reads a range when the engine asks (FileReaderSync, which only workers have): the tab never holds the whole
/// file in JavaScript beside the packed weights (a 2.5 GB checkpoint costs its weights, not twice that). The
/// engine reads the file twice: once straight through, checking that every value is finite, then tensor by
/// tensor as it builds the layers; progress says which (`stage`: 'checking', then 'building').
function blobReader(blob, progress, name = WEIGHTS) {
  const sync = new FileReaderSync();
  const size = blob.size;
  // The checking pass asks for 1 MB at a time, and small tensors are small: one FileReaderSync call per
  // request doubled the load of a 249 MB file. Requests are served from a window read ahead instead.
  const WINDOW = 32 << 20;
  let window = new Uint8Array(0);
  let windowAt = 0;
  const fetchRange = (offset, length) => {
    if (offset >= windowAt && offset + length <= windowAt + window.length) {
      return window.subarray(offset - windowAt, offset - windowAt + length);
    }
    if (length >= WINDOW) return new Uint8Array(sync.readAsArrayBuffer(blob.slice(offset, offset + length)));
    window = new Uint8Array(sync.readAsArrayBuffer(blob.slice(offset, Math.min(size, offset + WINDOW))));
    windowAt = offset;
    return window.subarray(0, Math.min(length, window.length));
  };
  let checked = 0; // how far the first pass has read
  let built = 0; // bytes read after it
  let lastReport = 0;
  const report = (force) => {
    const now = Date.now();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    progress(checked < size
      ? { loaded: checked, total: size, file: name, stage: 'checking' }
      : { loaded: Math.min(built, size), total: size, file: name, stage: 'building' });
  };
  report(true);
  return {
    size,
    read(offset, length) {
      const bytes = fetchRange(offset, length);
      if (checked < size) checked = Math.max(checked, offset + bytes.length);
      else built += bytes.length;
      report(false);
      return bytes;
    },
  };
}

/// The tokenizer.json the engine writes of a folder's slow tokenizer files (`files`: name -> bytes); loading it with
/// the folder's configs builds the pipeline by the tokenizer class, as transformers does.
async function slowTokenizer(files) {
  const api = await getEngine();
  return api.slowTokenizerJson(files['vocab.txt'] ?? undefined, files['vocab.json'] ?? undefined, files['merges.txt'] ?? undefined);
}

/// The tokenizer.json the engine makes of a Marian folder's files (`files`: name -> bytes).
async function marianTokenizer(files, tokenizerConfig) {
  const api = await getEngine();
  return api.marianTokenizerJson(files['source.spm'], files['target.spm'], files['vocab.json'], files['target_vocab.json'] ?? undefined,
    tokenizerConfig ?? undefined);
}

/// The tokenizer.json the engine makes of an M2M100 folder's SentencePiece model and vocab.json.
async function m2m100Tokenizer(spm, vocab, tokenizerConfig) {
  const api = await getEngine();
  return api.marianTokenizerJson(spm, undefined, vocab, undefined, tokenizerConfig ?? undefined);
}

/// A folder without `missing` (model.safetensors or tokenizer.json) that holds it in another form
/// (shards, a PyTorch pickle, TensorFlow or Flax, a PEFT adapter; a slow tokenizer's files): refused
/// with what it holds and how to convert it, in the CLI's words. Returns when `names` show nothing of
/// the kind (the plain "missing" applies).
async function refuseStandIn(names, missing) {
  const hint = (await getEngine()).folderHint(names.join('\n'), missing);
  if (hint) throw new Error(`${missing}: ${hint}`);
}

/// A cheap early look at config.json: an HTML error page served with status 200 (a wrong URL on
/// some hosts) otherwise costs a full weights download before the core reports it.
function checkJson(bytes) {
  const head = bytes['config.json'].subarray(0, 64);
  const first = String.fromCharCode(...head).trimStart()[0];
  if (first === '<') {
    throw new Error('config.json: the server sent a web page instead of the JSON file. '
      + 'Check the model folder URL (it must point at the folder holding config.json)');
  }
}

/// Read a byte stream whole, reporting progress; `total` may be null or wrong (compressed transfer).
async function readStream(stream, total, file, progress, signal) {
  const reader = stream.getReader();
  let buffer = total ? new Uint8Array(total) : null;
  const chunks = [];
  let loaded = 0;
  let lastReport = 0;
  const report = (force) => {
    const now = Date.now();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    progress({ loaded, total: total !== null && loaded <= total ? total : null, file });
  };
  report(true);
  for (;;) {
    if (signal?.aborted) {
      reader.cancel().catch(() => {});
      signal.throwIfAborted();
    }
    const { done, value } = await reader.read();
    if (done) break;
    if (buffer && loaded + value.length <= buffer.length) {
      buffer.set(value, loaded);
    } else {
      if (buffer) {
        chunks.push(buffer.subarray(0, loaded));
        buffer = null;
      }
      chunks.push(value);
    }
    loaded += value.length;
    report(false);
  }
  report(true);
  if (buffer) return loaded === buffer.length ? buffer : buffer.subarray(0, loaded);
  const whole = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    whole.set(c, at);
    at += c.length;
  }
  return whole;
}

// ---------------------------------------------------------------------------------------------
// Using a model

/// The model of `handle` loaded again into the fresh engine, under the same handle.
async function reload(handle) {
  if (reloadable.get(handle).tokenizerOnly) return reloadTokenizer(handle);
  const { source, randomSeed, weights, srcLang } = reloadable.get(handle);
  const needWeights = randomSeed === undefined;
  const bytes = source.baseUrl !== undefined
    ? await fetchFolder(source.baseUrl, source.present, needWeights, () => {})
    : await readFiles(source.files, needWeights, () => {});
  const api = await getEngine();
  const model = api.WasmModel.load(bytes['config.json'], needWeights ? bytes[WEIGHTS] : null, bytes['tokenizer.json'],
    bytes['tokenizer_config.json'] ?? null, bytes['special_tokens_map.json'] ?? null, bytes['generation_config.json'] ?? null, { randomSeed, weights, srcLang });
  models.set(handle, { model, engine: api });
}

// ---------------------------------------------------------------------------------------------
// A tokenizer alone (no config.json, no weights): tokenizer.json and its optional configs from a folder URL or
// from files (Blobs or bytes: the npm package's and the single-file page's).
// It is kept among the models so `tokenize` and `free` need nothing new.

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

async function loadTokenizer(msg) {
  const source = msg.source;
  const files = source?.files && typeof source.files === 'object' ? source.files : null;
  if (!source || (typeof source.baseUrl !== 'string' && !files)) {
    throw new Error('the tokenizer source is neither { baseUrl } nor { files }. Pass the URL of a folder holding tokenizer.json, or the file');
  }
  const handle = Number.isInteger(msg.handle) && !models.has(msg.handle) ? msg.handle : nextHandle++;
  nextHandle = Math.max(nextHandle, handle + 1);
  reloadable.set(handle, { source, tokenizerOnly: true });
  try {
    await reloadTokenizer(handle);
  } catch (err) {
    reloadable.delete(handle);
    throw err;
  }
  return { handle, info: models.get(handle).model.info() };
}

async function reloadTokenizer(handle) {
  const source = reloadable.get(handle).source;
  const bytes = source.files ? await readTokenizerFiles(source.files) : await fetchTokenizerFolder(source);
  const api = await getEngine();
  const tokenizer = api.WasmTokenizer.load(bytes['tokenizer.json'], bytes['tokenizer_config.json'], bytes['special_tokens_map.json']);
  models.set(handle, { model: tokenizer, engine: api });
}

/// tokenizer.json and its optional configs from a folder URL (`present`: the names the index lists).
async function fetchTokenizerFolder({ baseUrl, present }) {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const bytes = {};
  for (const name of TOKENIZER_FILES) {
    const required = name === 'tokenizer.json';
    bytes[name] = null;
    if (!required && Array.isArray(present) && !present.includes(name)) continue;
    const url = new URL(name, base).href;
    const response = await fetch(url).catch((err) => {
      if (required) {
        throw new Error(`tokenizer.json: could not be downloaded from ${url} (${err.message}). ${UNREACHABLE_FIX}`);
      }
      return null;
    });
    if (response?.ok) bytes[name] = new Uint8Array(await response.arrayBuffer());
    else if (required) {
      throw new Error(`tokenizer.json: the server answered ${response.status} ${response.statusText} for ${url}. `
        + 'Check the tokenizer folder URL (scripts/make-real-tokenizers.mjs makes models/tokenizers/)');
    }
  }
  return bytes;
}

/// tokenizer.json and its optional configs from `{ name: Blob | ArrayBuffer | typed array }` (other names are ignored).
async function readTokenizerFiles(files) {
  const bytes = {};
  for (const name of TOKENIZER_FILES) {
    const value = files[name];
    if (value == null) {
      if (name === 'tokenizer.json') throw new Error('tokenizer.json: is missing from the given files. Pass { files: { "tokenizer.json": blob } }');
      bytes[name] = null;
    } else if (value instanceof ArrayBuffer) bytes[name] = new Uint8Array(value);
    else if (ArrayBuffer.isView(value)) bytes[name] = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    else if (typeof Blob !== 'undefined' && value instanceof Blob) bytes[name] = new Uint8Array(await value.arrayBuffer());
    else throw new Error(`${name}: is neither a Blob nor an ArrayBuffer. Pass the file or its bytes`);
  }
  return bytes;
}

function modelFor(handle) {
  const entry = models.get(handle);
  if (!entry) throw new Error(`no model with handle ${handle}: it was freed or never loaded. Load the model again`);
  return entry;
}

function text(value) {
  if (typeof value !== 'string') throw new Error(`the text must be a string, not ${value === null ? 'null' : typeof value}. Pass the text to read`);
  return value;
}

function wholeNumber(value, name, fix) {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`${name} ${value} is not a whole number from 0 to 4294967295. ${fix}`);
  }
  return value;
}

function tokenIds(value, name) {
  const ids = Array.from(value ?? [], Number);
  if (!ids.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
    throw new Error(`${name} must be token ids (whole numbers from 0), not [${Array.from(value).slice(0, 8).join(', ')}]. `
      + 'Pass ids from the model\'s vocabulary');
  }
  return Uint32Array.from(ids);
}

function floats(values) {
  if (values instanceof Float32Array) return values;
  if (values == null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new Error('the map values must be a Float32Array (row-major, one number per cell). Pass the map\'s values');
  }
  return Float32Array.from(values, Number);
}

/// An attention map drawn by the wasm (crate/src/plot) onto this worker's OffscreenCanvas, handed
/// back as an ImageBitmap; where workers have no OffscreenCanvas, the RGBA pixels instead.
async function drawMap(msg) {
  const api = await getEngine();
  const values = floats(msg.values);
  const options = msg.options;
  if (typeof OffscreenCanvas === 'undefined') return api.rasterizeMap(values, options);
  return api.drawMap(values, options);
}

function free(handle) {
  reloadable.delete(handle);
  const entry = models.get(handle);
  if (!entry) return null;
  models.delete(handle);
  for (const job of generations.values()) if (job.handle === handle) job.cancelled = true;
  entry.model.free();
  return null;
}

// A macrotask boundary between jobs (a generation's batches among them), so a `cancel` (or any other
// request) that arrived meanwhile is handled. A MessageChannel round trip is fast, but some hosts drain
// one port before another (Node's worker threads starve the parent's port), so at least every few
// milliseconds, and always before a generation's first step (a `cancel` sent right after `generate`
// must win), the turn goes through a timer instead (Node's setImmediate runs after the port messages
// that have arrived; elsewhere setTimeout). Browsers clamp a timeout set from inside a timer's task to
// 4 ms ("nested" timers): with a job per token that was most of a small model's token, and 4 ms of a
// large one's, so the timeout is set from a message task, where it is not nested.
const TIMER_TURN_MS = 8;
const tick = new MessageChannel();
const ticking = [];
let lastTimerTurn = 0;
tick.port1.onmessage = () => ticking.shift()?.();
const messageTurn = (resolve) => {
  ticking.push(resolve);
  tick.port2.postMessage(null);
};
const timerTurn = typeof setImmediate === 'function'
  ? (resolve) => setImmediate(resolve)
  : (resolve) => messageTurn(() => setTimeout(resolve, 0));
function yieldToEventLoop(first = false) {
  const now = Date.now();
  if (first || now - lastTimerTurn >= TIMER_TURN_MS) {
    lastTimerTurn = now;
    return new Promise(timerTurn);
  }
  return new Promise(messageTurn);
}

/// The first job of an inspection with a logit lens: the forward pass. The lens follows a block of
/// positions of one hidden state per job (crate/src/wasm/lens.rs), so a user request waits for one block
/// at most (a fraction of a second through GPT-2's head), not the whole lens.
async function startInspection(msg, priority, lane) {
  let job = null;
  try {
    if (!models.has(msg.handle) && reloadable.has(msg.handle)) await reload(msg.handle);
    const entry = modelFor(msg.handle);
    job = entry.engine.WasmInspection.start(entry.model, text(msg.text), msg.options);
    queueInspectionStep(msg, priority, lane, entry, job);
  } catch (err) {
    freeQuietly(job);
    post({ id: msg.id, type: 'error', message: await describe(err) });
  }
}

function queueInspectionStep(msg, priority, lane, entry, job) {
  enqueue({ msg, priority, lane, step: true, stop: () => freeQuietly(job), run: () => inspectionStep(msg, priority, lane, entry, job) });
}

async function inspectionStep(msg, priority, lane, entry, job) {
  try {
    if (models.get(msg.handle) !== entry) throw new Error(`no model with handle ${msg.handle}: it was freed or replaced. Load the model again`);
    if (job.step(entry.model)) {
      queueInspectionStep(msg, priority, lane, entry, job);
      return;
    }
    post({ id: msg.id, type: 'result', value: job.finish(entry.model) });
  } catch (err) {
    post({ id: msg.id, type: 'error', message: await describe(err) });
  }
  freeQuietly(job);
}

function freeQuietly(wasmObject) {
  try { wasmObject?.free(); } catch { /* freed already, or its engine crashed and was replaced */ }
}

// A generation decodes in batches: one job decodes tokens until about a frame's worth of time has gone
// (BATCH_MS, judged by the last step's time so a batch does not overrun it by a whole slow step), then
// posts them in one `tokens` message and queues its next batch behind the user requests that arrived
// meanwhile. A small model's tokens (a millisecond each) reach the page a frame's worth at a time, one
// message and one scheduler turn per batch instead of per token; a large model's (tens of ms each) go one
// per batch, as soon as each is decoded. The first token always goes alone, at once.
const BATCH_MS = 16;

/// The first job of a generation: the generator and its prompt's forward pass; the batches are queued
/// one at a time after it, each behind the user requests that arrived meanwhile.
async function startGeneration(msg, priority) {
  let generator = null;
  const gen = { handle: msg.handle, cancelled: false };
  // Each token is stamped with the worker's time since this request began (`ms`): tokens reach the page a
  // frame's worth at a time, so the times they arrive there say nothing about how fast they were decoded.
  const startedAt = performance.now();
  try {
    if (!models.has(msg.handle) && reloadable.has(msg.handle)) await reload(msg.handle);
    const entry = modelFor(msg.handle);
    generator = entry.engine.WasmGenerator.create(entry.model, text(msg.text), msg.options);
    generations.set(msg.id, gen);
    post({ id: msg.id, type: 'started', value: generator.start(entry.model) });
    const run = { msg, priority, entry, generator, gen, sent: 0, text: '', stepMs: 0, startedAt };
    enqueue({ msg, priority, lane: null, step: true, run: () => generationBatch(run) });
  } catch (err) {
    generations.delete(msg.id);
    try { generator?.free(); } catch { /* its engine crashed and was replaced */ }
    post({ id: msg.id, type: 'error', message: await describe(err) });
  }
}

/// Tokens until the batch's time is up (or the first token), posted together; then the next batch
/// queued, or the result posted.
async function generationBatch(run) {
  const { msg, priority, entry, generator, gen } = run;
  const batch = [];
  const started = performance.now();
  let stoppedBy;
  try {
    for (;;) {
      if (gen.cancelled || models.get(msg.handle) !== entry) {
        stoppedBy = 'cancel';
        break;
      }
      const before = performance.now();
      const token = generator.nextToken(entry.model);
      const now = performance.now();
      if (token === undefined) {
        stoppedBy = generator.stoppedBy() || 'max';
        break;
      }
      token.ms = now - run.startedAt;
      batch.push(token);
      run.text = token.text;
      run.stepMs = now - before;
      if (run.sent + batch.length === 1 || now - started + run.stepMs >= BATCH_MS) break;
    }
    if (batch.length) {
      run.sent += batch.length;
      post({ id: msg.id, type: 'tokens', value: batch });
    }
    if (stoppedBy === undefined) {
      enqueue({ msg, priority, lane: null, step: true, run: () => generationBatch(run) });
      return;
    }
    const result = { ids: Array.from(generator.ids()), text: run.text, stoppedBy };
    // Beam search ran whole in `create`; its tokens were replayed as events, the hypotheses come here.
    const beams = generator.beams(entry.model);
    if (beams !== undefined) result.beams = beams;
    post({ id: msg.id, type: 'result', value: result });
  } catch (err) {
    // Tokens decoded before the failure still reach the caller, in order, before the error.
    if (batch.length) post({ id: msg.id, type: 'tokens', value: batch });
    post({ id: msg.id, type: 'error', message: await describe(err) });
  }
  generations.delete(msg.id);
  try { generator.free(); } catch { /* its engine crashed and was replaced */ }
}

// ---------------------------------------------------------------------------------------------
// The teaching models (crate/src/teach): trainers of <glassbox-rnn>, the classifier of <glassbox-transfer>

const trainers = new Map(); // handle -> { trainer: WasmTrainer, engine }
let nextTrainer = 1;

async function learn(msg) {
  const api = await getEngine();
  if (msg.type === 'fitLogistic') return api.fitLogistic(msg.options);
  if (msg.type === 'trainerCreate') {
    const trainer = api.WasmTrainer.create(msg.options);
    const handle = nextTrainer++;
    trainers.set(handle, { trainer, engine: api });
    return { handle, info: trainer.info() };
  }
  const entry = trainers.get(msg.trainer);
  if (!entry || entry.engine !== api) {
    trainers.delete(msg.trainer);
    if (msg.type === 'trainerFree') return null;
    throw new Error(`no trainer ${msg.trainer}: it was freed or the engine restarted. Create it again`);
  }
  switch (msg.type) {
    case 'trainerStep': return entry.trainer.step(wholeNumber(msg.n, 'n', 'Ask for a few steps, e.g. 20'));
    case 'trainerEvaluate': return entry.trainer.evaluate();
    case 'trainerInfo': return entry.trainer.info();
    default:
      trainers.delete(msg.trainer);
      entry.trainer.free();
      return null;
  }
}

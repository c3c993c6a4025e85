// The Glassbox page: wires the controls to the JS API (glassbox.js, which talks to the worker) and hands
// data to the views in ./views/. The main thread only owns the DOM; every model call is a promise.

import { Glassbox } from './glassbox.js';
import { renderModelFacts } from './views/model-facts.js';
import { renderTokens } from './views/tokens.js';
import { mountTokenizerCompare, realTokenizers } from './views/tokenizer-compare.js';
import { HIGHLIGHT_MAX_CHARS, renderTextHighlight } from './views/text-highlight.js';
import { renderHeatmap } from './views/heatmap.js';
import { attentionMap, labelSchemeOf, stepMap } from './run-view.js';
import { renderGenerated, generationStatus, repetitionNote, decodeRate } from './views/generated.js';
import { renderSampling, topKWithin } from './views/sampling.js';
import { renderSegmented, renderSelect } from './views/controls.js';
import { ATTENTION_KINDS, attentionExplanation, modelExplanation, windowOf } from './views/explain.js';
import { charCount, decodeState, findModel, LINK_TEXT_MAX, tooLongForLink } from './url-state.js';
import { mountTeaching } from './views/teaching.js';
import { describeChoice, scorePatterns } from './head-choice.js';
import './elements/model-view.js';
import './elements/head-view.js';
import './elements/rollout.js';

const TOKENIZE_DELAY_MS = 150;   // re-tokenize this long after the last keystroke
const INTERRUPT_AFTER_MS = 300;  // a call still running after this long gets a Stop control
const RUNNING_NOTE_AFTER_MS = 500;   // a run still going after this long says so, with the seconds it has taken
const N_CANDIDATES = 10;         // bars in the next-token chart
const MAX_NEW_TOKENS = 1000;     // the most new tokens the Max tokens control asks for (index.html's max says the same)
const MODEL_INDEX_URL = 'models/index.json';
const REQUIRED_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'];
const MODEL_FILES = [...REQUIRED_FILES, 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];
const TEXT_KEY = 'glassbox:text';  // the user's text survives a reload of the tab
// The teaching sections of a model this large, or after a run this slow, wait until they are scrolled into view;
// smaller models compute them at once (as background work), so they are ready when the reader gets there.
const DEFER_TEACHING_PARAMS = 50e6;
const DEFER_TEACHING_RUN_MS = 1000;
const MAP_BUDGET_BYTES = 64 << 20;   // a run keeps every layer's attention up to this; a longer input only the shown layer

// A bundled model that cannot read the page's example sentence gets one it can (models/<name>/README.md says what
// each was trained on), and a line under the text saying what it knows. Keyed by the bundled folder's name.
const SUITED = {
  'glassbox-translator': {
    text: 'The small red car sees the dog.',
    note: 'This translator learned a small made-up English (123 nouns, 46 adjectives, 37 verbs, 8 prepositions, '
      + 'the, a, an, this, these, my and that) and its French-like translation, nothing else. A word it never saw is cut into smaller '
      + 'pieces, mostly single letters, and what it writes for such a text is nonsense. Try “the red car sees the small white dogs.”: '
      + 'most adjectives follow their noun in the translation (la voiture rouge), but a few, such as big and small, come before '
      + 'it (les petits chiens blancs), so the cross-attention map leaves its diagonal there.',
  },
};

const $ = (id) => document.getElementById(id);
const ui = {
  modelSelect: $('model-select'), weightsSelect: $('weights-select'), folderInput: $('folder-input'), filesInput: $('files-input'),
  dropZone: $('drop-zone'), urlForm: $('url-form'), urlInput: $('url-input'),
  progress: $('load-progress'), progressBar: $('load-bar'), progressStatus: $('load-status'),
  cancelLoadButton: $('cancel-load'), loadNote: $('load-note'),
  modelError: $('model-error'), facts: $('model-facts'), modelExplain: $('model-explain'), vocabNote: $('vocab-note'),
  text: $('text-input'), textHint: $('text-hint'), textSizeNote: $('text-size-note'), pairRow: $('pair-row'), pair: $('pair-input'), languageRow: $('language-row'), srcLang: $('src-lang'),
  tgtLang: $('tgt-lang'), languageNote: $('language-note'), backdrop: $('text-backdrop'), runButton: $('run-button'), tokenCount: $('token-count'),
  runError: $('run-error'), tokens: $('tokens'), realTokenizers: $('real-tokenizers'),
  attentionControls: $('attention-controls'), kindSwitch: $('kind-switch'), layerSelect: $('layer-select'), headSelect: $('head-select'),
  attentionPlaceholder: $('attention-placeholder'), heatmap: $('heatmap'), kindExplain: $('kind-explain'),
  generateUnavailable: $('generate-unavailable'), generateBody: $('generate-body'), samplingForm: $('sampling-form'),
  temperature: $('temperature'), topK: $('top-k'), topP: $('top-p'), seed: $('seed'), maxTokens: $('max-tokens'),
  numBeams: $('num-beams'), generationSource: $('generation-source'),
  generateButton: $('generate-button'), stopButton: $('stop-button'), generateError: $('generate-error'),
  generated: $('generated'), candidates: $('candidates'),
  stepControls: $('step-controls'), stepKindSwitch: $('step-kind-switch'), stepLayerSelect: $('step-layer-select'),
  stepHeatmap: $('step-heatmap'), stepPlaceholder: $('step-placeholder'),
  teaching: $('teaching'),
  headWhy: $('head-why'), modelView: $('model-view'), headView: $('head-view'), rolloutView: $('rollout-view'),
  wholeRunViews: $('whole-run-views'), wholeRunNote: $('whole-run-note'),
  interruptButton: $('interrupt-button'), runStatus: $('run-status'), runProgress: $('run-progress'), figures: $('perf-figures'),
};

const state = {
  gb: null,
  bundled: [],            // [{name, path, kind, url}]
  model: null,            // Model from the JS API
  modelName: '',
  scheme: 'plain',        // how the vocabulary writes text: 'byte-level' or 'plain' (see views/token-text.js)
  loadedIndex: null,      // the bundled entry that is loaded (null: the user's own folder, files or URL)
  source: null,           // what the loaded model came from, when it can be read again (another weight storage)
  loadSeq: 0,             // the newest load wins; older ones are withdrawn (loadAbort) or freed when they finish
  loadAbort: null,        // AbortController of the load under way: a newer load withdraws it (its downloads stop)
  loadBuilding: false,    // the load under way is building the model (one synchronous call in the worker)
  loadRestarted: false,   // its Cancel replaced the worker to stop that build
  loading: false,
  pendingLoad: null,      // {source, name, bundledIndex} of the load under way, when it can be read again
  running: false,
  runningNote: null, runningTimer: 0,   // the Run row's "Running … N s so far" (an element) while a slow run lasts
  tokens: null, tokensText: null, tokenizeSeq: 0, tokenizeTimer: 0, tokenizeFailed: false,
  result: null, resultText: null,
  kind: 'encoder', layer: '0', head: 'mean',
  picks: null, headPicked: false,   // the head the pattern scores pick per kind; whether the reader chose one
  decoderStartId: null,   // learned from the first encoder-decoder run
  decoderIds: null, decoderIdsFor: null,   // the last generated output, fed back as decoder input
  gen: null,              // {handle, steps, selected, running, prompt, input, prefixTokens, prefixSpecial, status}
  stepKind: 'self', stepLayer: '0',
  inFlight: 0, inFlightTimer: 0,  // tokenize/run calls waiting on the worker (the Stop control shows for slow ones)
  interrupting: false,    // Stop was pressed: the worker is being replaced and the model reloaded
  figures: {},            // what this machine does with the loaded model: { loadMs, firstPlotMs, firstTokenMs, tokensPerS, nTokens }
  lastRunMs: 0,           // how long the last run took in the worker (decides whether off-screen views wait)
};

// ---- small helpers -------------------------------------------------------------------------------

function showError(el, err) {
  const message = err instanceof Error ? err.message : String(err);
  el.textContent = message || 'Something went wrong (no message was given).';
  el.hidden = false;
}

function clearError(el) {
  el.hidden = true;
  el.textContent = '';
}

function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

function setStatus() {
  // While Stop or Cancel restarts the engine, the model is being loaded again in the new worker: a request sent
  // before that ends would find no model there, so Run and Generate wait.
  const s = state.loading || state.interrupting ? 'loading' : state.gen?.running ? 'generating' : state.running ? 'running' : 'idle';
  document.body.dataset.status = s;
  const info = state.model?.info;
  const canGenerate = Boolean(info && info.kind !== 'encoder-only' && info.hasLmHead);
  ui.runButton.disabled = !state.model || state.running || Boolean(state.gen?.running) || state.interrupting;
  ui.generateButton.disabled = !canGenerate || state.running || Boolean(state.gen?.running) || state.interrupting;
  ui.stopButton.disabled = !state.gen?.running;
  ui.modelSelect.disabled = state.bundled.length === 0 && !state.model;
}

// ---- stopping a long call ------------------------------------------------------------------------

/** A call the user may want to stop: after INTERRUPT_AFTER_MS still waiting, the Stop control appears. */
async function tracked(promise) {
  if (state.inFlight++ === 0) {
    clearTimeout(state.inFlightTimer);
    state.inFlightTimer = setTimeout(() => { if (state.inFlight > 0 && !state.interrupting) ui.interruptButton.hidden = false; },
      INTERRUPT_AFTER_MS);
  }
  try {
    return await promise;
  } finally {
    if (--state.inFlight === 0) {
      clearTimeout(state.inFlightTimer);
      if (!state.interrupting) ui.interruptButton.hidden = true;
    }
  }
}

/**
 * Stop a call that runs too long. A synchronous tokenize or run inside the wasm cannot be interrupted, so
 * Glassbox replaces the worker and loads the model again under the same handle; the text stays as it is.
 */
async function interruptCall() {
  if (state.interrupting || !state.gb) return;
  ui.interruptButton.disabled = true;
  ui.runStatus.textContent = 'Stopping: restarting the engine and loading the model again…';
  try {
    await restartEngine();
    ui.runStatus.textContent = `Stopped. The engine was restarted and ${state.modelName || 'the model'} loaded again; your text is unchanged.`;
  } catch (e) {
    ui.runStatus.textContent = '';
    showError(ui.runError, `The computation could not be stopped cleanly (${e.message}). Reload the page.`);
  } finally {
    ui.interruptButton.disabled = false;
    ui.text.focus();
  }
}

/**
 * Replace the worker, the one way to end a synchronous call inside the wasm (a run, a build); the JS API loads the
 * models it held again in the new one. Meanwhile the page reports `loading` and Run and Generate wait: a request
 * sent before the reload ends would find no model there. Rejects when the new engine could not start.
 */
async function restartEngine() {
  state.interrupting = true;
  setStatus();
  stopGeneration();
  try {
    await state.gb.interrupt();
  } finally {
    state.interrupting = false;
    state.inFlight = 0;
    clearTimeout(state.inFlightTimer);
    ui.interruptButton.hidden = true;
    setStatus();
    if (state.model) tokenizeNow();
  }
}

// ---- models --------------------------------------------------------------------------------------

async function loadIndex() {
  try {
    const res = await fetch(MODEL_INDEX_URL);
    if (!res.ok) throw new Error(`${MODEL_INDEX_URL} answered ${res.status}`);
    const body = await res.json();
    const list = Array.isArray(body) ? body : body.models ?? [];
    const indexUrl = new URL(MODEL_INDEX_URL, document.baseURI);
    state.bundled = list.map((m) => ({ ...m, url: modelUrl(m.path ?? m.name, indexUrl) }));
    tokenizerCompare.setChoices(realTokenizers(body));
  } catch (e) {
    state.bundled = [];
    showError(ui.modelError, `No bundled models were found (${e.message}). Open a model folder instead.`);
  }
  renderPicker();
  setStatus();
}

/** A model's folder URL. Paths starting with "models/" or "/" are relative to the page, others to the index. */
function modelUrl(path, indexUrl) {
  const base = path.startsWith('models/') ? document.baseURI : indexUrl;
  const url = new URL(path, base).href;
  return url.endsWith('/') ? url : url + '/';
}

/** The index lists each folder's files, so absent optional files are never requested (no 404s). */
function bundledSource(m) {
  return Array.isArray(m.files) ? { baseUrl: m.url, files: m.files } : { baseUrl: m.url };
}

/** The picker shows the model that is loaded, also after a failed load or one of the user's own. */
function renderPicker() {
  const options = state.bundled.map((m, i) => ({ value: String(i), label: `${m.title ?? m.name} (${m.kind})` }));
  if (state.model && state.loadedIndex === null) options.push({ value: 'own', label: `${state.modelName} (your model)` });
  if (!options.length) options.push({ value: '', label: 'No bundled models' });
  renderSelect(ui.modelSelect, options, state.model ? String(state.loadedIndex ?? 'own') : '0');
}

/** Blobs and URLs can be read again (another weight storage); transferred ArrayBuffers cannot. */
function readableAgain(source) {
  return typeof source.baseUrl === 'string' || Object.values(source.files ?? {}).every((v) => typeof Blob !== 'undefined' && v instanceof Blob);
}

async function loadModel(source, name, bundledIndex = null) {
  const seq = ++state.loadSeq;
  // The load this one replaces stops downloading now, instead of finishing for nothing. One that is already
  // building is one synchronous call in the worker, which only replacing the worker stops: the engine restarts
  // without loading the model shown before (it is loaded again if it is used again, e.g. when this load fails).
  const replacedBuild = state.loading && state.loadBuilding && !state.interrupting;
  state.loadAbort?.abort();
  if (replacedBuild) {
    state.loadBuilding = false;
    try {
      await state.gb.interrupt({ lazy: true });
    } catch (e) {
      if (seq === state.loadSeq) showError(ui.modelError, `The engine could not be restarted (${e.message}). Reload the page.`);
      return;
    }
    if (seq !== state.loadSeq) return;
  }
  const withdrawal = new AbortController();
  state.loadAbort = withdrawal;
  // What a change of weight storage during this load loads again: this model, not the one it replaces.
  state.pendingLoad = readableAgain(source) ? { source, name, bundledIndex } : null;
  const startedAt = performance.now();
  stopGeneration();
  state.loading = true;
  setStatus();
  clearError(ui.modelError);
  ui.loadNote.textContent = '';
  ui.cancelLoadButton.disabled = false;
  ui.cancelLoadButton.textContent = 'Cancel';
  ui.cancelLoadButton.setAttribute('aria-label', 'Cancel loading the model');
  state.loadBuilding = false;
  state.loadRestarted = false;
  ui.progress.hidden = false;
  ui.progressBar.removeAttribute('value');
  ui.progressStatus.textContent = `Loading ${name}…`;
  try {
    const model = await state.gb.loadModel(source, {
      weights: ui.weightsSelect.value || undefined,
      signal: withdrawal.signal,
      onProgress: ({ loaded, total, file, stage }) => {
        if (seq !== state.loadSeq) return;
        if (total) {
          ui.progressBar.max = total;
          ui.progressBar.value = loaded;
        } else {
          ui.progressBar.removeAttribute('value');
        }
        // A picked file is read as the engine asks: first straight through, checking every value, then tensor
        // by tensor into the layers (`stage`). A download or a file read whole has no stage.
        const doing = { checking: ', checking every value', building: ', building the model in memory' }[stage] ?? '';
        // The weights are the last download: model.safetensors, or the last shard of a sharded checkpoint.
        const lastShard = /-(\d+)-of-\1\.safetensors$/.test(file ?? '');
        const done = !stage && total && loaded >= total && (file === 'model.safetensors' || lastShard);
        // From here the worker is inside one synchronous call (reading a picked file as it builds, or building
        // from downloaded bytes): only replacing the worker stops it (cancelLoad).
        state.loadBuilding = Boolean(stage || done);
        ui.progressStatus.textContent = done ? `${file}: ${mb(loaded)} read; building the model in memory…`
          : `${file}: ${mb(loaded)}${total ? ` of ${mb(total)} (${Math.floor((100 * loaded) / total)}%)` : ''}${doing}`;
      },
    });
    if (seq !== state.loadSeq) {
      model.free();
      return;
    }
    const scheme = await labelSchemeOf(model);
    if (seq !== state.loadSeq) {
      model.free();
      return;
    }
    const old = state.model;
    state.model = model;
    state.scheme = scheme;
    state.modelName = name;
    state.loadedIndex = bundledIndex;
    state.source = readableAgain(source) ? source : null;
    state.pendingLoad = null;
    old?.free().catch(() => {});
    state.figures = { loadMs: performance.now() - startedAt };
    onModelChanged();
  } catch (e) {
    if (seq !== state.loadSeq) return;
    // Cancelled by its reader (the Cancel button): no error, and the model shown before is still there.
    if (withdrawal.signal.aborted) {
      const restarted = state.loadRestarted ? ' (the engine was restarted to stop the build)' : '';
      ui.loadNote.textContent = `Loading ${name} was cancelled${restarted}${state.model ? `; ${state.modelName} is still loaded` : ''}.`;
    } else {
      showError(ui.modelError, e);
    }
  } finally {
    if (seq === state.loadSeq) {
      state.loadAbort = null;
      state.pendingLoad = null;
      state.loading = false;
      ui.progress.hidden = true;
      renderPicker();
      setStatus();
    }
  }
}

/**
 * The Cancel button beside a load's progress: downloads stop at once. A build under way is one synchronous call in
 * the worker, which no message reaches until it ends (tens of seconds for a checkpoint of gigabytes): the worker is
 * replaced instead, and the model shown before is loaded again in the new one (from its URL or its files).
 */
async function cancelLoad() {
  const withdrawal = state.loadAbort;
  if (!withdrawal || withdrawal.signal.aborted) return;
  withdrawal.abort(new DOMException('the reader cancelled the load', 'AbortError'));
  // The button is disabled while the load winds down, which would drop a keyboard user's focus on the page's body.
  if (document.activeElement === ui.cancelLoadButton && !ui.modelSelect.disabled) ui.modelSelect.focus();
  ui.cancelLoadButton.disabled = true;
  ui.cancelLoadButton.textContent = 'Cancelling…';
  ui.cancelLoadButton.setAttribute('aria-label', 'Cancelling the load');
  if (!state.loadBuilding || state.interrupting || !state.gb) return;
  state.loadRestarted = true;
  await restartEngine().catch((e) => showError(ui.modelError, `The load could not be cancelled cleanly (${e.message}). Reload the page.`));
}

function mb(n) {
  return `${(n / (1 << 20)).toFixed(1)} MB`;
}

/** The second text of a pair, when the model reads pairs (encoders) and one is typed; else undefined. */
function currentPair() {
  return !ui.pairRow.hidden && ui.pair.value.trim() !== '' ? ui.pair.value : undefined;
}

/**
 * A many-to-many translation model (mBART, mBART-50, NLLB) reads a code that names the input's language, put
 * around the text by its tokenizer, and writes in the language whose code is forced as its first token.
 */
function applyLanguages(info) {
  const codes = info.languageCodes ?? [];
  ui.languageRow.hidden = codes.length === 0;
  const options = (select, list) => select.replaceChildren(...list.map(([value, label]) => Object.assign(document.createElement('option'), { value, textContent: label })));
  options(ui.srcLang, codes.map((c) => [c, c]));
  ui.srcLang.value = info.srcLang ?? codes[0] ?? '';
  ui.srcLang.dataset.default = ui.srcLang.value;
  options(ui.tgtLang, [['', 'the model’s own choice'], ...codes.map((c) => [c, c])]);
  ui.tgtLang.value = '';
  ui.languageNote.textContent = codes.length === 0 ? '' : `This tokenizer knows ${codes.length} language codes. It adds the `
    + 'source language’s code to the input (see the tokens). When generating, the target language’s code is forced as the '
    + 'first token the decoder writes, right after its start token, which tells a many-to-many translation model the '
    + 'language to write in (Hugging Face’s forced_bos_token_id).';
}

async function changeSourceLanguage() {
  const model = state.model;
  if (!model) return;
  clearError(ui.runError);
  try {
    await model.setSourceLanguage(ui.srcLang.value);
  } catch (err) {
    ui.srcLang.value = model.info.srcLang ?? '';
    showError(ui.runError, err);
    return;
  }
  if (state.model === model) run();
}

function onModelChanged() {
  const info = state.model.info;
  applyLanguages(info);
  // Encoders read pairs, and so does an encoder-decoder fine-tuned as a classifier (BART's NLI heads).
  ui.pairRow.hidden = !(info.kind === 'encoder-only' || (info.kind === 'encoder-decoder' && info.classifier));
  renderModelFacts(ui.facts, info, state.modelName);
  ui.modelExplain.textContent = modelExplanation(info);
  // config.json's vocab_size: the embedding table's rows, which may exceed the tokenizer's entries (padded tables).
  ui.vocabNote.textContent = ` (this model’s embedding table has ${info.vocabSize.toLocaleString('en')} rows, one per id)`;
  state.result = null;
  state.resultText = null;
  state.decoderStartId = null;
  state.decoderIds = null;
  state.gen = null;
  state.kind = info.kind === 'decoder-only' ? 'decoder' : 'encoder';
  state.layer = '0';
  state.head = 'mean';
  state.picks = null;
  state.headPicked = false;
  renderAttention();
  renderGeneration();
  teaching?.setModel(teachingModel(state.model), state.scheme);
  renderFigures();
  const canGenerate = info.kind !== 'encoder-only' && info.hasLmHead;
  ui.generateUnavailable.hidden = canGenerate;
  ui.generateUnavailable.textContent = canGenerate ? '' : info.kind === 'encoder-only'
    ? 'This is an encoder-only model: it turns text into vectors but does not write text. Pick a decoder-only or ' +
      'encoder-decoder model to generate.'
    : 'This model has no language-model head, so it cannot pick a next token.';
  ui.generateBody.hidden = !canGenerate;
  applyGenerationDefaults(info);
  suitText();
  setStatus();
  tokenizeNow();
}

/**
 * The page's example sentence (or another bundled model's) gives way to one the loaded bundled model can read;
 * a text the reader typed or a link brought is never replaced.
 */
function suitText() {
  const suited = state.loadedIndex === null ? undefined : SUITED[state.modelName];
  ui.textHint.textContent = suited?.note ?? '';
  ui.textHint.hidden = !suited;
  const current = ui.text.value;
  const untouched = current === ui.text.defaultValue || Object.values(SUITED).some((m) => m.text === current);
  const wanted = suited?.text ?? ui.text.defaultValue;
  if (!untouched || current === wanted) return;
  ui.text.value = wanted;
  // As if typed: kept for a reload, drawn behind the text, written into the page's link.
  ui.text.dispatchEvent(new Event('input', { bubbles: true }));
}

function filesToSource(files) {
  const record = {};
  let folder = '';
  // A picked folder lists its subfolders' files too (sentence-transformers' 1_Pooling/config.json): the folder's
  // own file of each name is the model's, whatever order the browser lists them in.
  const depth = (f) => (f.webkitRelativePath ? f.webkitRelativePath.split('/').length : 1);
  files = [...files].sort((a, b) => depth(a) - depth(b));
  for (const f of files) {
    if (MODEL_FILES.includes(f.name)) record[f.name] ??= f;
    if (!folder && f.webkitRelativePath) folder = f.webkitRelativePath.split('/')[0];
  }
  const missing = REQUIRED_FILES.filter((n) => !record[n]);
  const others = [...files].filter((f) => !MODEL_FILES.includes(f.name));
  if (missing.length && !missing.includes('config.json') && others.length) {
    // Files of other names may stand in for a missing one (a sharded checkpoint's index and shards,
    // read as one file; a PyTorch pickle, a slow tokenizer's files ...): the worker reads them or its
    // engine says how to convert them, or that the file is missing.
    for (const f of others) record[f.name] ??= f;
  } else if (missing.length) {
    throw new Error(`Missing ${missing.join(', ')}. A model folder needs config.json, model.safetensors and ` +
      'tokenizer.json (tokenizer_config.json and special_tokens_map.json are optional).');
  }
  return { source: { files: record }, name: folder || 'your files' };
}

function loadFiles(files) {
  try {
    const { source, name } = filesToSource(files);
    loadModel(source, name);
  } catch (e) {
    showError(ui.modelError, e);
  }
}

/** Files dropped on the page: loose files, or a folder (read one level deep). */
async function droppedFiles(dataTransfer) {
  const entries = Array.from(dataTransfer.items ?? []).map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  const dir = entries.find((e) => e.isDirectory);
  if (!dir) return Array.from(dataTransfer.files);
  const children = await new Promise((resolve, reject) => dir.createReader().readEntries(resolve, reject));
  return Promise.all(children.filter((e) => e.isFile).map((e) => new Promise((resolve, reject) => e.file(resolve, reject))));
}

// ---- text and tokens -----------------------------------------------------------------------------

function scheduleTokenize() {
  clearTimeout(state.tokenizeTimer);
  state.tokenizeTimer = setTimeout(tokenizeNow, TOKENIZE_DELAY_MS);
}

async function tokenizeNow() {
  const model = state.model;
  if (!model) return;
  const text = ui.text.value;
  const pair = currentPair();
  const seq = ++state.tokenizeSeq;
  try {
    // A newer keystroke's tokenization replaces one still queued in the worker (it rejects as superseded).
    const tokens = await tracked(model.scheduled({ priority: 'user', lane: 'typing' }).tokenize(text, pair === undefined ? {} : { pair }));
    if (seq !== state.tokenizeSeq || model !== state.model) return;
    showTokens(tokens, text, pair);
    // Clear only a tokenizer error; a failed run's message stays until the next run.
    if (state.tokenizeFailed) clearError(ui.runError);
    state.tokenizeFailed = false;
  } catch (e) {
    if (state.interrupting) return;   // the Stop control reports what happened
    if (seq === state.tokenizeSeq) {
      showError(ui.runError, e);
      state.tokenizeFailed = true;
    }
  }
  updateStaleNote();
}

function showTokens(tokens, text, pair) {
  state.tokens = tokens;
  state.tokensText = text;
  ui.tokens.classList.toggle('stale', text !== ui.text.value || pair !== currentPair());
  renderTokens(ui.tokens, tokens, { scheme: state.scheme, onHighlight: highlightSpan });
  const n = tokens.ids.length;
  // Said before Run fails: the model's longest input (the facts' "Longest input"), with what to do.
  const longest = state.model.info.maxPositions;
  const over = Boolean(longest) && n > longest;
  ui.tokenCount.textContent = `${n} token${n === 1 ? '' : 's'}`
    + (over ? `: more than the ${longest} this model reads at once. Shorten the text by ${n - longest} tokens to run it.` : '');
  ui.tokenCount.classList.toggle('over', over);
  tokenizerCompare.update({ info: state.model.info, tokens, scheme: state.scheme }, text);
}

/**
 * Keep the text for a reload of this tab, and say what a very long text does not get: a link or embed code
 * (url-state.js's LINK_TEXT_MAX), the hovered token's mark in the text box (HIGHLIGHT_MAX_CHARS), a copy kept
 * across a reload (the browser's storage has a quota of a few megabytes). Nothing of the text itself is lost.
 */
function saveText() {
  const text = ui.text.value;
  let overQuota = false;
  try {
    sessionStorage.setItem(TEXT_KEY, text);
  } catch (err) {
    // Over the storage's quota (a size problem, said below); storage switched off is not one, and stays unsaid.
    overQuota = err?.name === 'QuotaExceededError';
    try { sessionStorage.removeItem(TEXT_KEY); } catch { /* storage off */ }
  }
  const lacks = [];
  // Counted as a reader counts characters (code points), only when a limit may be passed.
  if (tooLongForLink(text)) lacks.push('links leave it out, and there is no embed code for it (they carry at most '
    + `${LINK_TEXT_MAX.toLocaleString('en')} characters)`);
  if (text.length > HIGHLIGHT_MAX_CHARS) lacks.push('the text box does not mark the token under the pointer in a text this long');
  if (overQuota) lacks.push('it is too long for this tab to keep if the page reloads (the browser\'s storage is full): keep a copy elsewhere');
  const note = lacks.length ? `This text is ${charCount(text).toLocaleString('en')} characters: ${lacks.join('; ')}.` : '';
  if (ui.textSizeNote.textContent !== note) ui.textSizeNote.textContent = note;
  ui.textSizeNote.hidden = !note;
}

function highlightSpan(span) {
  const text = ui.text.value;
  renderTextHighlight(ui.backdrop, text, state.tokensText === text ? span : null);
  ui.backdrop.scrollTop = ui.text.scrollTop;
}

// ---- run and attention ---------------------------------------------------------------------------

async function run() {
  const model = state.model;
  if (!model || state.running) return;
  const text = ui.text.value;
  const pair = currentPair();
  state.running = true;
  setStatus();
  clearError(ui.runError);
  ui.runStatus.textContent = '';
  state.tokenizeFailed = false;
  // The run brings its own tokens: a pending or in-flight tokenization would only draw them again.
  clearTimeout(state.tokenizeTimer);
  state.tokenizeSeq++;
  try {
    const opts = { topK: N_CANDIDATES, attention: shownLayerOnly(text) };
    if (pair !== undefined) opts.pair = pair;
    if (model.info.kind === 'encoder-decoder' && state.decoderIdsFor === text && state.decoderIds) {
      opts.decoderIds = state.decoderIds;
    }
    const startedAt = performance.now();
    sayRunning(model, text, pair, startedAt);
    const result = await tracked(model.run(text, opts));
    if (model !== state.model) return;
    state.lastRunMs = performance.now() - startedAt;
    // Open on the head that shows something for this text, unless the reader chose one (head-choice.js). The
    // scores need every layer: a long input that kept only the shown layer (shownLayerOnly) opens where it is.
    const kinds = ['encoder', 'decoder', 'cross'].filter((k) => result.attentions[k] && result.attentions[k].firstLayer === undefined);
    const scored = await Promise.all(kinds.map((k) => scorePatterns(state.gb, result, k).catch(() => null)));
    state.picks = Object.fromEntries(kinds.map((k, i) => [k, scored[i]?.best ?? null]));
    state.result = result;
    state.resultText = text;
    state.resultPair = pair;
    if (result.decoderIds?.length && !opts.decoderIds) state.decoderStartId = result.decoderIds[0];
    showTokens(result.tokens, text, pair);
    renderAttention();
    if (state.figures.firstPlotMs === undefined) {
      const figures = state.figures;
      whenPainted(ui.heatmap).then((ok) => { if (ok && figures === state.figures) { figures.firstPlotMs = performance.now() - startedAt; renderFigures(); } });
    }
    teachingGate.newInput(model.info.nParams >= DEFER_TEACHING_PARAMS || state.lastRunMs >= DEFER_TEACHING_RUN_MS);
    teaching?.update(text, pair);
  } catch (e) {
    if (state.interrupting) return;   // the Stop control reports what happened and tokenizes again
    showError(ui.runError, e);
    tokenizeNow();   // the tokens of the text are still worth showing (e.g. to see why it is too long)
  } finally {
    state.running = false;
    clearRunningNote();
    setStatus();
  }
}

/**
 * A run of a real-size model over a long text takes seconds, and the wasm cannot report from inside it: beside
 * the Run button (in its row, so nothing below moves) a note says what is running and counts the seconds, so the
 * page does not look stuck.
 */
function sayRunning(model, text, pair, startedAt) {
  clearRunningNote();
  const n = state.tokensText === text && state.tokens ? state.tokens.ids.length : null;
  // Short, so that it fits beside the Run button at most widths (the model is named in the facts above).
  const what = `${n === null ? 'the text' : `${n.toLocaleString('en')} token${n === 1 ? '' : 's'}`}${pair === undefined ? '' : ' and the second text'}`;
  // The note is a live region: the sentence is announced once; the seconds, which change every second,
  // are shown but kept from screen readers (aria-hidden), which would otherwise read each one out.
  const note = document.createElement('span');
  const seconds = Object.assign(document.createElement('span'), { className: 'running-seconds' });
  seconds.setAttribute('aria-hidden', 'true');
  note.append(`Running on ${what}…`, seconds);
  const tick = () => {
    if (!state.running || state.model !== model || state.interrupting) return;
    if (!ui.runProgress.contains(note)) ui.runProgress.replaceChildren(note);
    const elapsed = Math.floor((performance.now() - startedAt) / 1000);
    seconds.textContent = elapsed >= 1 ? ` ${elapsed} s so far` : '';
    state.runningTimer = setTimeout(tick, 1000 - ((performance.now() - startedAt) % 1000));
  };
  state.runningNote = note;
  state.runningTimer = setTimeout(tick, RUNNING_NOTE_AFTER_MS);
}

/** Take the running note away. */
function clearRunningNote() {
  clearTimeout(state.runningTimer);
  if (state.runningNote && ui.runProgress.contains(state.runningNote)) ui.runProgress.replaceChildren();
  state.runningNote = null;
}

function updateStaleNote() {
  const stale = state.result && (state.resultText !== ui.text.value || state.resultPair !== currentPair());
  if (!state.result) {
    ui.attentionPlaceholder.textContent = 'Run the model to see where each token looks.';
    ui.attentionPlaceholder.hidden = false;
  } else {
    ui.attentionPlaceholder.textContent = 'The text has changed: run the model again to update the map.';
    ui.attentionPlaceholder.hidden = !stale;
  }
}

/** Rasterise a map's cells in the worker (crate/src/plot, the pixels of `glassbox plot`). */
const raster = (values, options) => state.gb.drawMap(values, options);
// The step map follows a generation's tokens: its cells come back as pixels the page puts on its canvas. An
// ImageBitmap (drawMap) costs the worker several times the rasterising itself (the OffscreenCanvas), and the
// worker is decoding.
const stepRaster = (values, options) => state.gb.rasterizeMap(values, options);

function renderAttention() {
  const r = state.result;
  updateStaleNote();
  if (!r || !state.model) {
    ui.heatmap.hidden = true;
    ui.kindSwitch.hidden = true;
    // The previous model's kinds: none is chosen now, so a link made before the next run names no kind
    // this model may lack (page-share.js reads the checked one).
    for (const input of ui.kindSwitch.querySelectorAll('input')) input.checked = false;
    renderSelect(ui.layerSelect, [], '');
    renderSelect(ui.headSelect, [], '');
    ui.layerSelect.disabled = ui.headSelect.disabled = true;
    ui.attentionControls.hidden = true;
    ui.kindExplain.textContent = '';
    // The views of every head (and the sentence on the head picked) were the previous run's, maybe another model's.
    ui.headWhy.textContent = '';
    ui.wholeRunViews.hidden = true;
    ui.wholeRunNote.hidden = true;
    return;
  }
  const kinds = ['encoder', 'decoder', 'cross'].filter((k) => r.attentions[k]);
  if (!kinds.includes(state.kind)) state.kind = kinds[0];
  renderSegmented(ui.kindSwitch, 'attention-kind', kinds.map((k) => ({ value: k, label: ATTENTION_KINDS[k].label })),
    state.kind, (v) => { state.kind = v; renderAttention(); });
  const tensor = r.attentions[state.kind];
  const [, H, Tq] = tensor.shape;
  const L = tensor.firstLayer === undefined ? tensor.shape[0] : layersOf(state.kind);
  const pick = state.headPicked ? undefined : state.picks?.[state.kind];
  if (pick !== undefined) [state.layer, state.head] = pick ? [String(pick.layer), String(pick.head)] : ['0', 'mean'];
  ui.headWhy.textContent = pick !== undefined ? describeChoice(pick) : '';
  ui.layerSelect.disabled = ui.headSelect.disabled = false;
  ui.attentionControls.hidden = false;
  state.layer = renderSelect(ui.layerSelect, range(L).map((l) => ({ value: String(l), label: `${l + 1} of ${L}` })), state.layer);
  state.head = renderSelect(ui.headSelect, [{ value: 'mean', label: 'mean of heads' },
    ...range(H).map((h) => ({ value: String(h), label: `${h + 1} of ${H}` }))], state.head);
  const layer = Number(state.layer);
  const encDec = state.model.info.kind === 'encoder-decoder';
  if (!holdsLayer(tensor, layer)) {
    captureLayer(layer);
    return;
  }
  ui.heatmap.hidden = false;
  const window = windowOf(state.model.info, state.kind, layer);
  renderHeatmap(ui.heatmap, { ...attentionMap(r, { kind: state.kind, layer, head: state.head, scheme: state.scheme, window }), raster });
  ui.heatmap.dataset.kind = state.kind;
  ui.heatmap.dataset.layer = String(layer);
  ui.heatmap.dataset.head = state.head;
  let explain = attentionExplanation(state.kind, { startLabel: encDec ? r.decoderTokens?.[0] : undefined, window });
  if (encDec && state.kind !== 'encoder') {
    explain += Tq > 1
      ? ' The decoder input here is the start token followed by the generated output.'
      : ' The decoder has only its start token so far: generate below to see it attend over its own output.';
  }
  ui.kindExplain.textContent = explain;
  // The element views of the same run, on the same kind, layer and head. They read every layer: a long input
  // that kept only the shown one (shownLayerOnly) hides them.
  const whole = Object.values(r.attentions).every((t) => t.firstLayer === undefined);
  ui.wholeRunViews.hidden = !whole;
  ui.wholeRunNote.hidden = whole;
  ui.wholeRunNote.textContent = whole ? '' : wholeRunNote(r);
  for (const view of [ui.modelView, ui.headView]) {
    view.hidden = !whole;
    if (!whole) continue;
    view.setAttribute('kind', state.kind);
    view.setAttribute('layer', String(layer + 1));
    view.setAttribute('head', state.head === 'mean' ? 'all' : String(Number(state.head) + 1));
    if (view.source?.run !== r) view.source = { run: r, info: state.model.info, scheme: state.scheme, glassbox: state.gb, name: state.modelName };
  }
  // Rollout follows the whole run (its kind and output token are its own, kept in the URL by page-share.js);
  // it computes when scrolled into view.
  ui.rolloutView.hidden = !whole;
  if (whole && ui.rolloutView.source?.run !== r) {
    ui.rolloutView.source = { run: r, info: state.model.info, scheme: state.scheme, glassbox: state.gb, name: state.modelName };
  }
}

// ---- a long input keeps only the attention on screen ----------------------------------------------

/** Why the views of every head and the flow through the layers are missing for a long input, and how to see them. */
function wholeRunNote(r) {
  const info = state.model.info;
  const stacks = info.kind === 'encoder-decoder' ? 3 : 1;
  const most = Math.floor(Math.sqrt(MAP_BUDGET_BYTES / (stacks * info.nLayers * info.nHeads * 4)));
  const n = r.tokens?.ids?.length ?? 0;
  return `Every head at once, one layer as lines and the flow through the layers read the maps of every layer. For this `
    + `input (${n} tokens) those would pass ${MAP_BUDGET_BYTES >> 20} MB, so the run kept only the layer shown above and they are `
    + `left out. Shorten the text to about ${most} tokens to see them.`;
}

function layersOf(kind) {
  const info = state.model.info;
  return kind === 'encoder' || info.kind !== 'encoder-decoder' ? info.nLayers : info.nDecoderLayers;
}

/**
 * The run's `attention` option: undefined (every layer, so switching layers is instant) unless the maps of
 * every layer and head would pass MAP_BUDGET_BYTES (a real-size model and a long text: 600 MB for a
 * GPT-2-small at 1024 tokens); then only the shown layer, and another layer is computed when it is chosen.
 */
function shownLayerOnly(text) {
  const info = state.model.info;
  const n = state.tokensText === text && state.tokens ? state.tokens.ids.length : Math.ceil(text.length / 2);
  const stacks = info.kind === 'encoder-decoder' ? 3 : 1;
  const bytes = stacks * info.nLayers * info.nHeads * n * n * 4;
  if (bytes <= MAP_BUDGET_BYTES) return undefined;
  const layer = Number(state.layer) || 0;
  return { layers: [layer, layer + 1] };
}

function holdsLayer(tensor, layer) {
  const first = tensor.firstLayer ?? 0;
  return layer >= first && layer < first + tensor.shape[0];
}

/** Run again keeping only `layer`'s maps, for a result that holds other layers; then draw. */
async function captureLayer(layer) {
  const r = state.result;
  const model = state.model;
  if (state.capturing === `${layer}` || !r) return;
  state.capturing = `${layer}`;
  ui.heatmap.hidden = true;
  ui.attentionPlaceholder.textContent = `Computing the attention of layer ${layer + 1}…`;
  ui.attentionPlaceholder.hidden = false;
  try {
    const opts = { topK: 0, attention: { layers: [layer, layer + 1] } };
    if (r.decoderIds && model.info.kind === 'encoder-decoder') opts.decoderIds = Array.from(r.decoderIds);
    const extra = await tracked(model.run(state.resultText, opts));
    if (state.result !== r || state.model !== model) return;
    Object.assign(r.attentions, extra.attentions);
  } catch (e) {
    if (!state.interrupting && state.result === r) showError(ui.runError, e);
    return;
  } finally {
    if (state.capturing === `${layer}`) state.capturing = null;
  }
  if (Number(state.layer) === layer) renderAttention();
}

// ---- generation ----------------------------------------------------------------------------------

function readSampling() {
  const num = (input, name, { min, max, integer }) => {
    const v = Number(input.value);
    if (input.value.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || (max !== undefined && v > max)) {
      input.focus();
      throw new Error(`${name} must be ${integer ? 'a whole number' : 'a number'} ${max !== undefined ? `from ${min} to ${max}` : `of at least ${min}`}.`);
    }
    return v;
  };
  const sampling = {
    temperature: num(ui.temperature, 'Temperature', { min: 0, max: 100 }),
    topK: num(ui.topK, 'Top-k', { min: 0, integer: true }),
    topP: num(ui.topP, 'Top-p', { min: 0, max: 1 }),
    seed: num(ui.seed, 'Seed', { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }),
    // Empty: the model's max_length decides (it counts the prompt, so the page cannot turn it into a number).
    maxNewTokens: ui.maxTokens.value.trim() === '' && ui.maxTokens.defaultValue === ''
      ? undefined : num(ui.maxTokens, 'Max tokens', { min: 1, max: MAX_NEW_TOKENS, integer: true }),
    numBeams: num(ui.numBeams, 'Beams', { min: 1, max: 16, integer: true }),
  };
  if (sampling.topP === 0 && sampling.temperature > 0) {
    // The core refuses it too, but in words that do not say 0 itself is the problem.
    ui.topP.focus();
    throw new Error('Top-p 0 would keep no token to sample from: use a top-p above 0 and at most 1 (1 switches it off).');
  }
  if (sampling.numBeams > 1 && sampling.temperature > 0) {
    ui.numBeams.focus();
    throw new Error('Glassbox runs beam search without sampling (beam sampling, both together, is not implemented): set '
      + 'Temperature to 0 to use more than one beam, or Beams to 1 to sample.');
  }
  return sampling;
}

/**
 * The generation controls start from the model's own settings (generation_config.json, else config.json's
 * generation keys), as the CLI and the JS API do when an option is left out. They become the controls'
 * default values too, so a shared link only names what the user changed.
 */
function applyGenerationDefaults(info) {
  const g = info.generation ?? {};
  const sample = Boolean(g.doSample);
  const onlyMaxLength = g.maxNewTokens == null && g.maxLength != null;
  // An encoder-decoder's max_length counts the decoder start token; a prompt's length is not known here.
  const ownMax = g.maxNewTokens ?? (onlyMaxLength && info.kind === 'encoder-decoder' ? Math.max(1, g.maxLength - 1) : null);
  // A model may ask for more than the control takes (max_new_tokens 2048): start at the control's most.
  const maxTokens = ownMax === null ? null : Math.min(ownMax, MAX_NEW_TOKENS);
  const values = {
    temperature: sample ? (g.temperature ?? 1) : 0,
    topK: g.topK ?? (sample ? 50 : 0),
    topP: g.topP ?? 1,
    maxTokens: maxTokens ?? (onlyMaxLength ? '' : 20),
    numBeams: g.numBeams ?? 1,
  };
  for (const [key, value] of Object.entries(values)) {
    ui[key].defaultValue = String(value);
    ui[key].value = String(value);
  }
  ui.maxTokens.placeholder = onlyMaxLength && maxTokens === null ? `max_length ${g.maxLength}` : '';
  const said = [];
  if (g.numBeams != null && g.numBeams > 1) {
    said.push(`beam search with ${g.numBeams} beams` + (g.lengthPenalty != null ? ` (length penalty ${g.lengthPenalty})` : ''));
  } else if (sample) {
    said.push(`sampling (temperature ${values.temperature}, top-k ${values.topK}, top-p ${values.topP})`);
  } else if (g.fromGenerationConfig) {
    said.push('greedy decoding');
  }
  if (ownMax !== null && ownMax > MAX_NEW_TOKENS) said.push(`up to ${ownMax} new tokens (this page writes at most ${MAX_NEW_TOKENS} at a time)`);
  else if (g.maxNewTokens != null) said.push(`up to ${g.maxNewTokens} new tokens`);
  else if (g.maxLength != null) said.push(`up to ${g.maxLength} tokens in all (max_length, counting the ${info.kind === 'decoder-only' ? 'prompt' : 'start token'})`);
  const parts = said;
  const file = g.fromGenerationConfig ? 'generation_config.json' : 'config.json (its generation keys)';
  ui.generationSource.hidden = parts.length === 0;
  ui.generationSource.textContent = parts.length === 0 ? ''
    : `These settings start from the model's ${file}: ${parts.join(', ')}. Change any of them to override it; `
      + 'its rules (end tokens, banned words and repeats) always apply.';
}

async function generate() {
  const model = state.model;
  if (!model || state.gen?.running) return;
  clearError(ui.generateError);
  let sampling;
  try {
    sampling = readSampling();
  } catch (e) {
    showError(ui.generateError, e);
    return;
  }
  const text = ui.text.value;
  const info = model.info;
  sampling.topK = topKWithin(sampling.topK, info.vocabSize);
  const startedAt = performance.now();
  let firstArrival;      // when the first token reached the page: the wait the user sees
  const previous = state.gen;   // shown again if this run fails before its first token
  const gen = { handle: null, steps: [], selected: null, follow: true, running: true, status: 'Generating…',
    // A decoder continues the prompt; an encoder-decoder writes a new text from the source.
    text, prompt: info.kind === 'decoder-only' ? text : `${text} →`, input: null, prefixTokens: null, prefixSpecial: null,
    sampling };
  state.gen = gen;
  setStatus();
  renderGeneration();
  gen.handle = model.generate(text, {
    ...sampling, numCandidates: N_CANDIDATES, captureAttention: true, attention: stepLayerOnly(text, sampling),
    ...(!ui.languageRow.hidden && ui.tgtLang.value ? { targetLanguage: ui.tgtLang.value } : {}),
    onToken: (t) => {
      if (state.gen !== gen) return;
      firstArrival ??= performance.now();
      gen.steps.push(t);
      if (gen.follow) gen.selected = gen.steps.length - 1;
      scheduleGenerationRender(gen);
    },
  });
  // The keys each step attends to are labelled with what the decoder was fed first (the prompt or the
  // start token) and the encoded input; an API without `started` gets the input from the tokenizer.
  const labels = gen.handle.started
    ? gen.handle.started.then((s) => {
      gen.prefixTokens = s.prefixTokens ?? null;
      gen.prefixSpecial = s.prefixSpecial ?? null;
      gen.input = s.input ?? null;
    })
    : model.tokenize(text).then((t) => { gen.input = t; });
  labels.then(() => { if (state.gen === gen) renderGeneration(); }, () => {});
  try {
    const res = await gen.handle.done;
    if (state.gen === gen && res.stoppedBy !== 'cancel') generationFigures(firstArrival - startedAt, gen.steps, res);
    gen.status = generationStatus(res, info.kind, gen.sampling);
    if (res.beams) gen.status = `${beamSummary(res.beams)} ${gen.status}`;
    // A loop is worth a sentence: what repeats, and why the way tokens were chosen let it.
    const loop = repetitionNote(info.kind === 'decoder-only' ? text : '', gen.steps.at(-1)?.text ?? '', { sampling: gen.sampling, beams: Boolean(res.beams) });
    if (loop) gen.status = `${gen.status} ${loop}`;
    if (state.gen === gen && info.kind === 'encoder-decoder' && res.ids.length) {
      await feedBackTranslation(model, text, res.ids);
    }
  } catch (e) {
    gen.status = '';
    if (state.gen === gen) {
      showError(ui.generateError, e);
      // Nothing was written: the last output stays on screen beside the message instead of a bare prompt.
      if (!gen.steps.length && previous) state.gen = previous;
    }
  } finally {
    gen.running = false;
    setStatus();
    if (state.gen === gen) renderGeneration();
  }
}

/** How many of beam search's other finished sequences the status line quotes (up to 16 beams may finish). */
const OTHER_BEAMS_QUOTED = 4;

/** Beam search's finished sequences in a sentence or two: the best one's score and the runners-up, quoted. */
function beamSummary(beams) {
  const score = (b) => b.score.toFixed(3);
  const n = beams.length;
  let said = `Beam search kept ${n} finished sequence${n === 1 ? '' : 's'}; this is the best (score ${score(beams[0])}: `
    + 'its summed log-probability divided by n^p, n its new tokens\' count and p the length penalty).';
  const others = beams.slice(1, 1 + OTHER_BEAMS_QUOTED).map((b) => `“${b.text.trim()}” (${score(b)})`);
  if (others.length) {
    const more = n - 1 - others.length;
    said += ` The other${n === 2 ? '' : ` ${n - 1}`}: ${others.join(', ')}${more > 0 ? ` and ${more} more` : ''}.`;
  }
  return said;
}

/**
 * The generation's `attention` option: undefined (every layer of every step, so the step view switches layers at
 * once) unless those rows would pass MAP_BUDGET_BYTES over the whole generation (a real-size model writing
 * hundreds of tokens); then each token brings only the step layer shown when Generate was pressed.
 */
function stepLayerOnly(text, sampling) {
  const info = state.model.info;
  const prompt = state.tokensText === text && state.tokens ? state.tokens.ids.length : Math.ceil(text.length / 2);
  const steps = sampling.maxNewTokens ?? 1000;
  const keys = steps * prompt + (steps * (steps + 1)) / 2;   // every step's row spans all keys fed so far
  const layers = info.kind === 'encoder-decoder' ? 2 * info.nDecoderLayers : info.nLayers;
  if (layers * info.nHeads * keys * 4 <= MAP_BUDGET_BYTES) return undefined;
  const layer = Number(state.stepLayer) || 0;
  return { layers: [layer, layer + 1] };
}

/** After an encoder-decoder generates, show the attention over the whole output in the main map. */
async function feedBackTranslation(model, text, ids) {
  if (state.decoderStartId === null) {
    const first = await model.run(text, { topK: 0 });
    state.decoderStartId = first.decoderIds?.[0] ?? null;
    if (state.decoderStartId === null) return;
  }
  state.decoderIds = [state.decoderStartId, ...ids];
  state.decoderIdsFor = text;
  if (state.model === model && ui.text.value === text) await run();
}

/** Tokens can arrive faster than the screen refreshes: draw at most once per frame. */
function scheduleGenerationRender(gen) {
  if (gen.renderPending) return;
  gen.renderPending = true;
  requestAnimationFrame(() => {
    gen.renderPending = false;
    if (state.gen !== gen) return;
    renderGeneration();
  });
}

function stopGeneration() {
  const gen = state.gen;
  if (!gen?.running) return;
  gen.handle?.cancel();
  // A step runs to its end once begun, and the first one reads the whole prompt: seconds, for a long prompt on a
  // real-size model. The generation stops right after it, before any token is written. Beam search is one step:
  // the whole search runs before its first token is shown.
  const read = state.model?.info.kind === 'decoder-only' ? 'the prompt' : 'the input';
  gen.status = gen.steps.length ? 'Stopping…'
    : gen.sampling?.numBeams > 1 ? 'Stopping once the beam search ends (it runs as one step, which cannot be cut short)…'
      : `Stopping as soon as the model has read ${read} (a step cannot be cut short)…`;
  renderGeneration();
}

function selectStep(i) {
  const gen = state.gen;
  if (!gen || !gen.steps[i] || gen.selected === i) return;
  gen.selected = i;
  gen.follow = i === gen.steps.length - 1 && gen.running;
  renderGeneration();
}

function renderGeneration() {
  const gen = state.gen;
  const scheme = state.scheme;
  if (!gen) {
    ui.generated.replaceChildren();
    ui.candidates.replaceChildren();
    ui.stepHeatmap.hidden = true;
    ui.stepControls.hidden = true;
    ui.stepPlaceholder.hidden = false;
    renderSelect(ui.stepLayerSelect, [], '');
    ui.stepLayerSelect.disabled = true;
    return;
  }
  renderGenerated(ui.generated, { prompt: gen.prompt, steps: gen.steps, selected: gen.selected, scheme,
    status: gen.status, onSelect: selectStep });
  const step = gen.steps[gen.selected];
  renderSampling(ui.candidates, { step, settings: gen.sampling, vocabSize: state.model.info.vocabSize, scheme });
  if (gen.running && gen.follow && gen.steps.length > 1) followStepAttention(gen);
  else {
    clearTimeout(gen.stepMapTimer);
    gen.stepMapTimer = null;
    gen.stepMapAt = performance.now();
    renderStepAttention(step, gen.selected);
  }
}

/**
 * While tokens stream in, the step map follows the newest token at most every STEP_MAP_FOLLOW_MS: its cells are
 * drawn by the worker, between the generation's batches, so a map per frame would cost a small model a tenth of
 * its decoding. A token picked by hand, and the last one when the generation ends, are drawn at once.
 */
const STEP_MAP_FOLLOW_MS = 200;
function followStepAttention(gen) {
  if (gen.stepMapTimer) return;
  const wait = (gen.stepMapAt ?? 0) + STEP_MAP_FOLLOW_MS - performance.now();
  const draw = () => {
    gen.stepMapTimer = null;
    if (state.gen !== gen) return;
    gen.stepMapAt = performance.now();
    renderStepAttention(gen.steps[gen.selected], gen.selected);
  };
  if (wait <= 0) draw();
  else gen.stepMapTimer = setTimeout(draw, wait);
}

/** The attention a generated token was produced with: one row per head (and their mean), for one layer. */
function renderStepAttention(step, s) {
  const att = step?.attentions;
  if (!att) {
    ui.stepHeatmap.hidden = true;
    ui.stepControls.hidden = true;
    ui.stepPlaceholder.hidden = false;
    ui.stepPlaceholder.textContent = step ? 'No attention was captured for this step.' : 'Select a generated token.';
    ui.stepLayerSelect.disabled = true;
    return;
  }
  const kinds = att.cross ? ['self', 'cross'] : ['self'];
  if (!kinds.includes(state.stepKind)) state.stepKind = 'self';
  renderSegmented(ui.stepKindSwitch, 'step-kind', kinds.map((k) => ({ value: k, label: k === 'self' ? 'Self' : 'Cross' })),
    state.stepKind, (v) => { state.stepKind = v; renderGeneration(); });
  const tensor = att[state.stepKind];
  const first = tensor.firstLayer ?? 0;
  const L = tensor.firstLayer === undefined ? tensor.shape[0] : stepLayerCount(state.stepKind);
  ui.stepLayerSelect.disabled = false;
  state.stepLayer = renderSelect(ui.stepLayerSelect, range(L).map((l) => ({ value: String(l), label: `${l + 1} of ${L}` })), state.stepLayer);
  const layer = Number(state.stepLayer);
  if (layer < first || layer >= first + tensor.shape[0]) {
    ui.stepHeatmap.hidden = true;
    ui.stepControls.hidden = false;
    ui.stepPlaceholder.hidden = false;
    ui.stepPlaceholder.textContent = `This long generation kept only layer ${first + 1}'s attention for each step (every `
      + `layer's would pass ${MAP_BUDGET_BYTES >> 20} MB). Pick layer ${first + 1}, or generate again with this layer chosen.`;
    return;
  }
  ui.stepPlaceholder.hidden = true;
  ui.stepControls.hidden = false;
  ui.stepHeatmap.hidden = false;
  const view = stepMap(state.gen, { s, kind: state.stepKind, layer, modelKind: state.model.info.kind, scheme: state.scheme });
  renderHeatmap(ui.stepHeatmap, { ...view, raster: stepRaster });
}

/** How many layers a generation's step attention of `kind` ('self' | 'cross') has. */
function stepLayerCount(kind) {
  const info = state.model.info;
  return info.kind === 'encoder-decoder' ? info.nDecoderLayers : info.nLayers;
}

// ---- what this machine does: load time, first plot, tokens/s -------------------------------------

/** Resolves true once the heatmap's cells are on its canvas (false if that takes more than ~10 s of frames). */
function whenPainted(box, frames = 600) {
  return new Promise((resolve) => {
    const look = (left) => {
      const painted = box.querySelector('canvas[data-painted]')?.dataset.painted;
      if (painted === 'true' || painted === 'error' || left === 0) resolve(painted === 'true');
      else requestAnimationFrame(() => look(left - 1));
    };
    look(frames);
  });
}

/** The wait for the first token (Generate to its arrival on the page) and the decoding speed after it (decodeRate). */
function generationFigures(firstTokenMs, steps, res) {
  if (!steps.length) return;
  state.figures.firstTokenMs = firstTokenMs;
  state.figures.nTokens = steps.length;
  state.figures.tokensPerS = decodeRate(steps, res);
  renderFigures();
}

/** One short line under the model's facts; the numbers are also data attributes (ms, tokens/s). */
function renderFigures() {
  const box = ui.figures;
  if (!box) return;
  const f = state.figures;
  const secs = (ms) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
  const parts = [];
  if (f.loadMs !== undefined) parts.push(`loaded in ${secs(f.loadMs)}`);
  if (f.firstPlotMs !== undefined) parts.push(`first attention map ${secs(f.firstPlotMs)} after Run`);
  if (f.firstTokenMs !== undefined) parts.push(`first token after ${secs(f.firstTokenMs)}`);
  if (f.tokensPerS !== undefined) parts.push(`${f.tokensPerS.toFixed(1)} tokens/s`);
  // Which wasm build ran: the worker takes the one with fused multiply-adds where the browser has relaxed SIMD.
  const build = state.gb?.build;
  const engine = !build ? '' : build.relaxed_simd ? ' (WebAssembly SIMD with fused multiply-adds)' : ' (WebAssembly SIMD)';
  box.textContent = parts.length ? `On this machine${engine}: ${parts.join(' · ')}.` : '';
  box.hidden = parts.length === 0;
  if (build) box.dataset.wasmBuild = build.relaxed_simd ? 'relaxed-simd' : 'simd128';
  for (const [key, attr] of [['loadMs', 'loadMs'], ['firstPlotMs', 'firstPlotMs'], ['firstTokenMs', 'firstTokenMs'], ['tokensPerS', 'tokensPerS']]) {
    if (f[key] === undefined) delete box.dataset[attr];
    else box.dataset[attr] = String(Math.round(f[key] * 100) / 100);
  }
}

// ---- the teaching sections wait until they are looked at -----------------------------------------

/**
 * The teaching sections (predictions, Q/K/V, the logit lens over every layer, ...) cost several forward
 * passes per run. Their requests go to the worker as background work (after anything the user asks for, and
 * not while a generation runs), and for a real-size model (or a slow run) they are not even sent until the
 * sections are scrolled into view; a newer run's requests then replace the older ones still waiting.
 */
const teachingGate = {
  visible: false,
  eager: true,        // a small model and a quick run: no reason to wait
  waiting: [],        // resolvers of requests held until the sections are in view
  open() {
    return this.visible || this.eager ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  },
  newInput(defer) {
    this.eager = !defer;
    // What the teaching sections asked for an older input and the worker has not started yet is dropped.
    state.gb?.dropBackground('teaching');
    this.release();
  },
  setVisible(visible) {
    this.visible = visible;
    this.release();
  },
  release() {
    if (!this.visible && !this.eager) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  },
};

function watchTeaching() {
  if (!ui.teaching || typeof IntersectionObserver === 'undefined') {
    teachingGate.setVisible(true);
    return;
  }
  new IntersectionObserver((entries) => teachingGate.setVisible(entries.some((e) => e.isIntersecting)), { rootMargin: '200px 0px' })
    .observe(ui.teaching);
}

/** The model as the teaching sections use it: background requests, held by the gate; inspects in one lane. */
function teachingModel(model) {
  const background = model.scheduled({ priority: 'background', lane: 'teaching' });
  const plain = model.scheduled({ priority: 'background' });
  const held = (fn) => async (...args) => {
    await teachingGate.open();
    return fn(...args);
  };
  return new Proxy(plain, {
    get(target, prop) {
      if (prop === 'inspect') return held((...args) => background.inspect(...args));
      if (prop === 'tokenize') return held((...args) => plain.tokenize(...args));
      if (prop === 'generate') {
        return (text, opts) => {
          let inner = null;
          let cancelled = false;
          const go = teachingGate.open().then(() => {
            if (cancelled) throw new Error('cancelled: the generation was stopped before it started');
            inner = plain.generate(text, opts);
            return inner;
          });
          const started = go.then((h) => h.started);
          const done = go.then((h) => h.done);
          started.catch(() => {});
          return { started, done, cancel: () => { cancelled = true; inner?.cancel(); } };
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

// ---- wiring --------------------------------------------------------------------------------------

function wire() {
  ui.weightsSelect.addEventListener('change', () => {
    // During a load, the model being loaded is loaded again in the new storage (it used to be dropped for the
    // model it was replacing); otherwise the model shown.
    const again = state.loading && state.pendingLoad ? state.pendingLoad
      : state.model && state.source ? { source: state.source, name: state.modelName, bundledIndex: state.loadedIndex } : null;
    if (again) loadModel(again.source, again.name, again.bundledIndex);
  });
  ui.modelSelect.addEventListener('change', () => {
    const i = Number(ui.modelSelect.value);
    const m = state.bundled[i];
    if (m) loadModel(bundledSource(m), m.name, i);
  });
  ui.folderInput.addEventListener('change', () => { loadFiles(ui.folderInput.files); ui.folderInput.value = ''; });
  ui.filesInput.addEventListener('change', () => { loadFiles(ui.filesInput.files); ui.filesInput.value = ''; });
  ui.urlForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const raw = ui.urlInput.value.trim();
    if (!raw) {
      showError(ui.modelError, 'Type the address of a folder holding config.json, model.safetensors and tokenizer.json.');
      return;
    }
    let url;
    try {
      url = new URL(raw, document.baseURI);
    } catch {
      showError(ui.modelError, `"${raw}" is not an address. Type something like https://example.org/my-model/.`);
      return;
    }
    // javascript:, data:, blob: and file: name no folder the page can read files from.
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      showError(ui.modelError, `A model folder's address starts with http:// or https://, not ${url.protocol} `
        + '(for a folder on this computer, use "Open a model folder…"). Type something like https://example.org/my-model/.');
      return;
    }
    const href = url.href;
    loadModel({ baseUrl: href.endsWith('/') ? href : href + '/' }, raw);
  });
  // Drops anywhere on the page load the model; the drop zone shows where.
  const prevent = (e) => { e.preventDefault(); };
  document.addEventListener('dragover', (e) => { prevent(e); ui.dropZone.classList.add('dragging'); });
  document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) ui.dropZone.classList.remove('dragging'); });
  document.addEventListener('drop', async (e) => {
    prevent(e);
    ui.dropZone.classList.remove('dragging');
    try {
      loadFiles(await droppedFiles(e.dataTransfer));
    } catch (err) {
      showError(ui.modelError, err);
    }
  });

  ui.text.addEventListener('input', () => {
    ui.tokens.classList.add('stale');
    saveText();
    highlightSpan(null);
    scheduleTokenize();
    updateStaleNote();
  });
  ui.pair.addEventListener('input', () => {
    ui.tokens.classList.add('stale');
    scheduleTokenize();
    updateStaleNote();
  });
  ui.pair.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); run(); }
  });
  ui.text.addEventListener('scroll', () => { ui.backdrop.scrollTop = ui.text.scrollTop; });
  ui.text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });
  ui.runButton.addEventListener('click', run);
  ui.srcLang.addEventListener('change', changeSourceLanguage);
  ui.layerSelect.addEventListener('change', () => { state.layer = ui.layerSelect.value; state.headPicked = true; renderAttention(); });
  ui.headSelect.addEventListener('change', () => { state.head = ui.headSelect.value; state.headPicked = true; renderAttention(); });
  // A thumbnail of the model view (or another element view of this run) focuses a layer and head here.
  document.addEventListener('glassbox-focus', (e) => {
    const d = e.detail ?? {};
    if (!state.result || d.run !== state.result) return;
    Object.assign(state, { kind: d.kind, layer: String(d.layer - 1), head: String(d.head - 1), headPicked: true });
    renderAttention();
  });

  ui.samplingForm.addEventListener('submit', (e) => { e.preventDefault(); generate(); });
  ui.stopButton.addEventListener('click', stopGeneration);
  ui.cancelLoadButton.addEventListener('click', cancelLoad);
  ui.interruptButton.addEventListener('click', interruptCall);
  ui.stepLayerSelect.addEventListener('change', () => { state.stepLayer = ui.stepLayerSelect.value; renderGeneration(); });
}

// The same text through GPT-2's or BERT uncased's real tokenizer, beside the model's (models/tokenizers/).
const tokenizerCompare = mountTokenizerCompare(ui.realTokenizers, { glassbox: () => state.gb, idPrefix: 'page', onHighlight: highlightSpan });

// The teaching sections (predictions, interventions, Q/K/V, positions, logit lens, tokenizer steps).
const teaching = ui.teaching
  ? mountTeaching(ui.teaching, { glassbox: () => state.gb, bundled: () => state.bundled, modelName: () => state.modelName,
    realTokenizers: () => tokenizerCompare.choices })
  : null;

async function main() {
  // The single-file edition (opened from disk) carries the page only: no tutorial to link to.
  if (location.protocol === 'file:') $('tutorial-link').hidden = true;
  wire();
  watchTeaching();
  try {
    const saved = sessionStorage.getItem(TEXT_KEY);
    if (saved !== null) {
      ui.text.value = saved;
      saveText(); // its size note
    }
  } catch { /* no storage: keep the example sentence */ }
  renderModelFacts(ui.facts, null, '');
  renderAttention();
  renderGeneration();
  setStatus();
  try {
    state.gb = await Glassbox.create();
  } catch (e) {
    showError(ui.modelError, e);
    return;
  }
  await loadIndex();
  // A shared link (url-state.js) names its model: load that one first rather than loading two.
  const first = findModel(state.bundled, decodeState(location.hash).model) ?? state.bundled[0];
  if (first) await loadModel(bundledSource(first), first.name, state.bundled.indexOf(first));
  document.body.dataset.ready = 'true';
}

main();

// The teaching sections of the page, below attention and generation: what the model predicts,
// interventions (ablate heads, hide tokens), the Q/K/V step-through, positions, the logit lens
// and the tokenizer's steps. One coordinator owns their state and makes one `model.inspect` call
// per change; the views in this folder only draw.
//
//   const teaching = mountTeaching(document.getElementById('teaching'),
//     { glassbox: () => gb, bundled: () => bundledEntries, modelName: () => name });
//   teaching.setModel(model, scheme);     // after a load
//   teaching.update(text);                // after a run

import { renderSelect } from './controls.js';
import { renderHeatmap } from './heatmap.js';
import { CAUSAL_NOTE } from './explain.js';
import { decoderLabels, headMatrix, inputLabels } from '../run-view.js';
import { tokenLabel } from './token-text.js';
import { renderPredictions } from './fill-mask.js';
import { renderInterventions, isPristine } from './interventions.js';
import { renderQkv, qkvRow } from './qkv.js';
import { renderPositions, renderOrderDemo } from './positions.js';
import { renderLogitLens } from './residual.js';
import { renderTokenizerSteps } from './tokenizer-steps.js';

const TOP_K = 10;
const LENS_K = 3;
const POSITIONS_SHOWN = 48;             // rows of the position image
const RELATIVE_SPAN = 12;               // T5: distances -(n-1)..n-1
const MAX_OUTPUT_TOKENS = 30;           // encoder-decoder: greedy output length
const ORDER_SENTENCES = ['The dog chased the cat', 'The cat chased the dog'];
const KIND_LABELS = { encoder: 'Encoder self-attention', decoder: 'Decoder self-attention', cross: 'Cross-attention' };

const SECTIONS = [
  { id: 'predict', title: 'Predictions and interventions',
    intro: 'What the model predicts from your text. Then switch attention heads off or hide tokens and watch the prediction and the ' +
      'attention change: a quick way to find which parts of the network matter for this sentence.' },
  { id: 'qkv', title: 'Inside one head: query, key, value',
    intro: 'Every token sends out a query (what it is looking for) and shows a key (what it has to offer) and a value (what it hands over ' +
      'if chosen). The query is compared with each key by a dot product; a softmax turns the scores into weights; the head’s output for ' +
      'the token is the weighted mix of the values. These are the model’s own numbers.' },
  { id: 'positions', title: 'Positions: how word order gets in',
    intro: 'Attention alone treats the input as a bag of tokens. Each architecture injects order differently.' },
  { id: 'lens', title: 'Layer by layer: the logit lens',
    intro: 'Each layer adds to a running vector per token (the residual stream). Reading that vector with the model’s own output head ' +
      'after every layer shows how the prediction forms.' },
  { id: 'tokenizer', title: 'How the tokenizer cut your text',
    intro: 'The tokenizer’s own steps for each word, and the same sentence through other tokenizers.' },
];

export function mountTeaching(root, opts = {}) {
  const ui = {};
  const sec = {};   // section id -> { section, body, error }
  root.replaceChildren();
  for (const s of SECTIONS) {
    const section = el('section', 'panel teaching-panel');
    section.id = `${s.id}-section`;
    section.setAttribute('aria-labelledby', `${s.id}-heading`);
    const head = el('div', 'panel-head');
    const h2 = el('h2', '', s.title);
    h2.id = `${s.id}-heading`;
    head.append(h2);
    const body = el('div', 'panel-body');
    body.append(el('p', 'explain', s.intro));
    const error = el('p', 'error');
    error.setAttribute('role', 'alert');
    error.hidden = true;
    body.append(error);
    section.append(head, body);
    root.append(section);
    sec[s.id] = { section, body, error };
  }
  // Predictions + interventions.
  ui.predictions = el('div', 'predictions');
  ui.predictions.id = 'predictions';
  ui.interventions = el('div', 'interventions');
  ui.interventions.id = 'interventions';
  const two = el('div', 'two-col');
  two.append(ui.predictions, ui.interventions);
  ui.liveTitle = el('h3', '');
  ui.liveMap = el('div', 'heatmap');
  ui.liveMap.id = 'intervention-heatmap';
  sec.predict.body.append(two, ui.liveTitle, ui.liveMap);
  // Q/K/V controls + view.
  const controls = el('div', 'attention-controls qkv-controls');
  ui.qkvKind = select(controls, 'qkv-kind', 'Attention');
  ui.qkvLayer = select(controls, 'qkv-layer', 'Layer');
  ui.qkvHead = select(controls, 'qkv-head', 'Head');
  ui.qkv = el('div', 'qkv');
  ui.qkv.id = 'qkv';
  sec.qkv.body.append(controls, ui.qkv);
  // Positions, lens, tokenizer.
  ui.positionsView = el('div', 'positions');
  ui.positionsView.id = 'positions';
  ui.order = el('div', 'order-demo');
  ui.order.id = 'order-demo';
  sec.positions.body.append(ui.positionsView, el('h3', '', 'Same words, different order'), ui.order);
  ui.lensView = el('div', 'lens');
  ui.lensView.id = 'logit-lens';
  sec.lens.body.append(ui.lensView);
  ui.tokenizerView = el('div', 'tokenizer-steps');
  ui.tokenizerView.id = 'tokenizer-steps';
  sec.tokenizer.body.append(ui.tokenizerView);

  const st = {
    model: null, scheme: 'plain', text: null, seq: 0, modelSeq: 0, ready: Promise.resolve(),
    dims: {}, headMask: {}, tokenMask: null,
    kind: 'encoder', layer: 0, head: 0, query: 0,
    result: null, baseline: null, baselineFor: null, output: null, outputBaseline: null,
  };
  const otherModels = new Map();   // bundled model name -> Promise<Model> (random-weight twins: only the tokenizer is used)

  /** The other bundled models' tokenizers, loaded once as random-weight twins (no weights are downloaded). */
  async function otherTokenizers() {
    const gb = opts.glassbox?.();
    const current = opts.modelName?.();
    const list = (opts.bundled?.() ?? []).filter((m) => m.name !== current);
    const out = [];
    for (const m of list) {
      if (!otherModels.has(m.name)) {
        const source = Array.isArray(m.files) ? { baseUrl: m.url, files: m.files } : { baseUrl: m.url };
        otherModels.set(m.name, gb.loadModel(source, { randomSeed: 1 }));
      }
      try {
        out.push({ name: m.name, model: await otherModels.get(m.name) });
      } catch {
        otherModels.delete(m.name);
      }
    }
    return out;
  }

  const placeholder = (box, text) => box.replaceChildren(el('p', 'placeholder', text));

  function showError(id, err) {
    const e = sec[id].error;
    if (!err) { e.hidden = true; e.textContent = ''; return; }
    e.textContent = err instanceof Error ? err.message : String(err);
    e.hidden = false;
  }

  function setModel(model, scheme) {
    st.model = model;
    st.scheme = scheme;
    st.text = null;
    st.result = st.baseline = st.output = st.outputBaseline = null;
    st.baselineFor = null;
    st.tokenMask = null;
    st.dims = {};
    st.headMask = {};
    const modelSeq = ++st.modelSeq;
    ++st.seq;
    for (const id of SECTIONS.map((s) => s.id)) showError(id, null);
    for (const box of [ui.predictions, ui.interventions, ui.qkv, ui.lensView, ui.tokenizerView]) placeholder(box, 'Run the model to see this.');
    sec.lens.section.hidden = !model.info.hasLmHead;
    // Runs wait for the model's attention shapes (refresh awaits st.ready).
    st.ready = (async () => {
      const dims = {};
      for (const kind of ['encoder', 'decoder', 'cross']) {
        const d = await model.attentionDims(kind).catch(() => null);
        if (d) dims[kind] = d;
      }
      if (modelSeq !== st.modelSeq) return;
      st.dims = dims;
      st.headMask = Object.fromEntries(Object.entries(dims).map(([k, [L, H]]) => [k, new Array(L * H).fill(1)]));
      st.kind = Object.keys(dims)[0] ?? 'encoder';
      st.layer = 0;
      st.head = 0;
      st.query = 0;
    })();
    renderPositionsSection(modelSeq);
  }

  async function renderPositionsSection(seq) {
    const model = st.model;
    const info = model.info;
    const stack = info.kind === 'decoder-only' ? 'decoder' : 'encoder';
    try {
      const view = { positions: info.positions };
      if (info.positions === 'relative') {
        view.relative = await model.relativePositions(stack, RELATIVE_SPAN);
      } else {
        const n = Math.min(POSITIONS_SHOWN, info.maxPositions ?? POSITIONS_SHOWN);
        view.table = await model.positionVectors(stack, n);
      }
      const sentences = [];
      for (const text of ORDER_SENTENCES) {
        const t = await model.tokenize(text);   // with the specials: the positions are the ones the model uses
        sentences.push({ text, ids: Array.from(t.ids), labels: t.tokens.map((tok, i) => tokenLabel(tok, st.scheme, t.special[i])) });
      }
      let vectors;
      if (view.table && sentences[0].ids.length <= view.table.shape[0]) {
        const emb = await model.tokenEmbeddings(stack, sentences[0].ids);
        vectors = { tokenRows: emb.rows, scale: emb.scale, table: view.table };
      }
      if (seq !== st.modelSeq) return;
      renderPositions(ui.positionsView, view);
      renderOrderDemo(ui.order, sentences, info.positions, vectors);
      showError('positions', null);
    } catch (e) {
      if (seq === st.modelSeq) showError('positions', e);
    }
  }

  function update(text) {
    st.text = text;
    refresh();
  }

  function activeMasks() {
    const headMask = {};
    for (const [k, m] of Object.entries(st.headMask)) if (m.some((x) => x !== 1)) headMask[k] = m;
    const tokenMask = st.tokenMask?.some((x) => x !== 1) ? st.tokenMask : undefined;
    return { headMask: Object.keys(headMask).length ? headMask : undefined, tokenMask };
  }

  async function greedy(model, text, masks) {
    const handle = model.generate(text, { maxNewTokens: MAX_OUTPUT_TOKENS, temperature: 0, numCandidates: 1,
      captureAttention: false, ...masks });
    const started = await handle.started;
    const done = await handle.done;
    return { text: done.text, decoderIds: [...started.prefixIds, ...done.ids] };
  }

  async function refresh() {
    const model = st.model;
    const text = st.text;
    if (!model || text === null) return;
    const seq = ++st.seq;
    await st.ready;
    if (seq !== st.seq) return;
    const info = model.info;
    const masks = activeMasks();
    const pristine = !masks.headMask && !masks.tokenMask;
    document.body.dataset.teaching = 'busy';
    try {
      let output = null;
      if (info.kind === 'encoder-decoder' && info.hasLmHead) {
        output = await greedy(model, text, masks);
        if (pristine || st.baselineFor !== text || !st.outputBaseline) {
          st.outputBaseline = pristine ? output : await greedy(model, text, {});
        }
      }
      const opts = {
        topK: TOP_K, scores: false,
        qkv: st.dims[st.kind] ? { kind: st.kind, layer: Math.min(st.layer, st.dims[st.kind][0] - 1) } : undefined,
        logitLens: info.hasLmHead ? LENS_K : 0,
        ...masks,
      };
      if (output) opts.decoderIds = output.decoderIds;
      const result = await model.inspect(text, opts);
      let baseline = null;
      if (!pristine) {
        if (st.baselineFor !== text || !st.baseline) st.baseline = await model.inspect(text, { topK: TOP_K, decoderIds: opts.decoderIds });
        baseline = st.baseline;
      } else {
        st.baseline = result;
      }
      if (seq !== st.seq) return;
      st.baselineFor = text;
      st.result = result;
      st.output = output;
      const nTokens = result.tokens.ids.length;
      if (!st.tokenMask || st.tokenMask.length !== nTokens) st.tokenMask = info.kind === 'decoder-only' ? null : new Array(nTokens).fill(1);
      showError('predict', null);
      showError('qkv', null);
      showError('lens', null);
      renderAll(baseline);
      window.__glassboxTeaching.renders = (window.__glassboxTeaching.renders ?? 0) + 1;
    } catch (e) {
      if (seq === st.seq) {
        showError('predict', e);
        showError('qkv', e);
      }
    } finally {
      if (seq === st.seq) document.body.dataset.teaching = 'idle';
    }
    if (seq === st.seq) renderTokenizer(seq);
  }

  function labels() {
    const r = st.result;
    // Labels as everywhere else (run-view.js): the vocabulary's scheme, special flags from Rust.
    const input = inputLabels(r, st.scheme).labels;
    const dec = decoderLabels(r, st.scheme).labels;
    return { input, dec };
  }

  function renderAll(baseline) {
    const r = st.result;
    const info = st.model.info;
    renderPredictions(ui.predictions, {
      info, result: r, baseline, scheme: st.scheme,
      output: st.output ? { text: st.output.text, baseline: baseline ? st.outputBaseline?.text : undefined } : undefined,
    });
    const { input, dec } = labels();
    renderInterventions(ui.interventions, {
      dims: st.dims, headMask: st.headMask,
      tokenLabels: info.kind === 'decoder-only' ? null : input, tokenMask: st.tokenMask,
      onHead: (kind, i) => { st.headMask[kind][i] = st.headMask[kind][i] === 0 ? 1 : 0; refresh(); },
      onToken: (i) => { st.tokenMask[i] = st.tokenMask[i] === 0 ? 1 : 0; refresh(); },
      onReset: () => {
        for (const m of Object.values(st.headMask)) m.fill(1);
        st.tokenMask?.fill(1);
        refresh();
      },
    });
    renderQkvSection(input, dec);
    renderLiveMap(input, dec);
    if (r.logitLens) {
      const cols = info.kind === 'encoder-only' ? input : dec;
      renderLogitLens(ui.lensView, {
        lens: r.logitLens, columnLabels: cols, scheme: st.scheme,
        note: info.kind === 'encoder-only'
          ? 'Each cell: the word this masked-LM would guess at that position if it stopped after that layer.'
          : 'Each cell: the token the model would predict next after that position, if it stopped after that layer.',
      });
    }
  }

  /** The attention of the step-through's layer and head, as the interventions left it. */
  function renderLiveMap(input, dec) {
    const a = st.result.attentions[st.kind];
    if (!a) return;
    const [, H, Tq, Tk] = a.shape;
    const layer = Math.min(st.layer, a.shape[0] - 1);
    const head = Math.min(st.head, H - 1);
    const rows = st.kind === 'encoder' ? input : dec;
    const cols = st.kind === 'decoder' ? dec : input;
    const title = `${KIND_LABELS[st.kind]}, layer ${layer + 1}, head ${head + 1}`;
    ui.liveTitle.textContent = `Attention now: ${title.toLowerCase()} (change it in the Q/K/V section below)`;
    renderHeatmap(ui.liveMap, {
      values: headMatrix(a, layer, head), nRows: Tq, nCols: Tk,
      rowLabels: rows.length === Tq ? rows : range(Tq).map(String),
      colLabels: cols.length === Tk ? cols : range(Tk).map(String),
      causal: st.kind === 'decoder',
      maskNote: st.kind === 'decoder' ? CAUSAL_NOTE : '',
      title,
      raster: (values, options) => opts.glassbox().drawMap(values, options),
    });
  }

  function renderQkvSection(input, dec) {
    const kinds = Object.keys(st.dims);
    st.kind = renderSelect(ui.qkvKind, kinds.map((k) => ({ value: k, label: KIND_LABELS[k] })), st.kind);
    const [L, H] = st.dims[st.kind];
    st.layer = Number(renderSelect(ui.qkvLayer, range(L).map((l) => ({ value: String(l), label: `${l + 1} of ${L}` })), String(st.layer)));
    st.head = Number(renderSelect(ui.qkvHead, range(H).map((h) => ({ value: String(h), label: `${h + 1} of ${H}` })), String(st.head)));
    const trace = st.result.qkv;
    if (!trace) return;
    const queryLabels = trace.kind === 'encoder' ? input : dec;
    const keyLabels = trace.kind === 'decoder' ? dec : input;
    st.query = Math.min(st.query, trace.qLen - 1);
    renderQkv(ui.qkv, {
      trace, head: st.head, query: st.query,
      queryLabels: queryLabels.length === trace.qLen ? queryLabels : range(trace.qLen).map(String),
      keyLabels: keyLabels.length === trace.kLen ? keyLabels : range(trace.kLen).map(String),
      onQuery: (q) => { st.query = q; renderQkvSection(input, dec); },
    });
  }

  async function renderTokenizer(seq) {
    try {
      const others = await otherTokenizers();
      const traced = await st.model.tokenize(st.text, { trace: true });
      const side = [];
      for (const o of others) {
        const t = await o.model.tokenize(st.text).catch((e) => ({ error: e.message }));
        side.push({ name: o.name, kind: o.model.info.tokenizer, tokens: t });
      }
      if (seq !== st.seq) return;
      renderTokenizerSteps(ui.tokenizerView, {
        text: st.text, kind: st.model.info.tokenizer, tokens: traced, scheme: st.scheme, others: side,
        name: opts.modelName?.() ?? 'this model',
      });
      showError('tokenizer', null);
    } catch (e) {
      if (seq === st.seq) showError('tokenizer', e);
    }
  }

  const onSelect = (sel, key) => sel.addEventListener('change', () => {
    st[key] = key === 'kind' ? sel.value : Number(sel.value);
    if (key === 'kind' || key === 'layer') refresh();
    else if (st.result) {
      const { input, dec } = labels();
      renderQkvSection(input, dec);
      renderLiveMap(input, dec);
    }
  });
  onSelect(ui.qkvKind, 'kind');
  onSelect(ui.qkvLayer, 'layer');
  onSelect(ui.qkvHead, 'head');

  // A read-only window for the browser tests.
  window.__glassboxTeaching = {
    state: () => ({ kind: st.kind, layer: st.layer, head: st.head, query: st.query,
      headMask: structuredClone(st.headMask), tokenMask: st.tokenMask && [...st.tokenMask] }),
    qkvRow: () => {
      const t = st.result?.qkv;
      if (!t) return null;
      const row = qkvRow(t, st.head, st.query);
      return { scale: t.scale, q: Array.from(row.q), weights: row.keys.map((k) => k.weight), dots: row.keys.map((k) => k.dot),
        scores: row.keys.map((k) => k.score), bias: row.keys.map((k) => k.bias), blocked: row.keys.map((k) => k.blocked) };
    },
    attentionRow: (kind, layer, head, query) => {
      const a = st.result?.attentions?.[kind];
      if (!a) return null;
      const [, H, Tq, Tk] = a.shape;
      const at = ((layer * H + head) * Tq + query) * Tk;
      return Array.from(a.data.subarray(at, at + Tk));
    },
    topK: () => st.result?.topK?.map((row) => row.map((c) => ({ id: c.id, token: c.token, prob: c.prob }))) ?? null,
    output: () => st.output?.text ?? null,
    lens: () => st.result?.logitLens ? st.result.logitLens.top.map((s) => s.map((c) => c[0].id)) : null,
  };

  return { setModel, update, get state() { return st; }, isPristine: () => isPristine(st.headMask, st.tokenMask) };
}

function select(parent, id, label) {
  const field = el('div', 'field compact');
  const l = el('label', '', label);
  l.htmlFor = id;
  const s = el('select');
  s.id = id;
  field.append(l, s);
  parent.append(field);
  return s;
}

function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

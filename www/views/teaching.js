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
import { ATTENTION_KINDS, bandNote, causalNote, windowOf } from './explain.js';
import { decoderLabels, headMatrix, inputLabels } from '../run-view.js';
import { tokenLabel } from './token-text.js';
import { renderPredictions } from './fill-mask.js';
import { renderInterventions, isPristine } from './interventions.js';
import { renderQkv, qkvModelFacts } from './qkv.js';
import { renderPositions, renderOrderDemo } from './positions.js';
import { renderLogitLens } from './residual.js';
import { renderTokenizerSteps } from './tokenizer-steps.js';
import { loadRealTokenizer, realWho } from './tokenizer-compare.js';
import { renderBlock } from './block.js';

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
    intro: 'Every token sends out a query (what it is looking for) and shows a key (what it has to offer) and a value (what it hands over, ' +
      'in proportion to the weight it gets). The query is compared with each key by a dot product (usually scaled; the formula below gives this model’s own score); a softmax turns the scores into weights; the head’s output for ' +
      'the token is the weighted mix of the values. Every head of the layer does this at once; their outputs are concatenated and ' +
      'one more matrix (the output projection) turns them back into a vector of the model’s width, which is added to the residual ' +
      'stream. These are the model’s own numbers.' },
  { id: 'block', title: 'Inside one layer: residual stream, norm, feed-forward',
    intro: 'A layer is more than attention. Here is how the loaded model wires its layers, how the heads’ outputs are put back ' +
      'together, what the feed-forward network is, and how each layer changes the running vector of a token. The layer and the ' +
      'token whose heads are put together follow the Q/K/V section above; the residual stream has a token choice of its own.' },
  { id: 'positions', title: 'Positions: how word order gets in',
    intro: 'Attention by itself has no notion of order: shuffle the tokens and, without position information, each one gets the same ' +
      'output as before (a decoder’s causal mask is the only exception: from it a model can work out how many tokens come before it). Each architecture ' +
      'brings order in differently.' },
  { id: 'lens', title: 'Layer by layer: the logit lens',
    intro: 'Each layer adds its attention and feed-forward results to a running vector per token, the residual stream (post-norm models ' +
      'such as BERT and Marian also normalise it after each addition). Reading that vector after every layer with the model’s own final ' +
      'norm (if it has one) and output head gives a rough view of how the prediction takes shape. The head was trained on the ' +
      'last layer’s vectors only, so read the early rows with care: they are often noise, and the lens reads some models far better than others.' },
  { id: 'tokenizer', title: 'How the tokenizer cut your text',
    intro: 'The tokenizer’s own steps for each word, and the same sentence through other tokenizers (with GPT-2’s and BERT’s ' +
      'real ones when this server has them).' },
];

/**
 * What the teaching sections show and change, in one owner with no DOM: the model, the text, the
 * interventions (heads ablated, tokens hidden), the Q/K/V selection, the last results, and the
 * sequence numbers that let a late reply see it is stale. `mountTeaching` draws from it.
 */
export class TeachingState {
  constructor() {
    this.model = null;
    this.scheme = 'plain';
    this.text = null;
    this.seq = 0;            // bumped by every refresh: an older reply is dropped
    this.modelSeq = 0;       // bumped by every model change
    this.ready = Promise.resolve();
    this.clearModel();
  }

  /** Forget everything tied to the previous model. */
  clearModel() {
    this.text = null;
    this.dims = {};          // kind -> [L, H]
    this.headMask = {};      // kind -> [L*H] of 1 (kept) / 0 (ablated)
    this.tokenMask = null;   // [S] of 1 (visible) / 0 (hidden); null for decoder-only models
    this.kind = 'encoder';
    this.layer = 0;
    this.head = 0;
    this.query = 0;
    this.queryChosen = false;   // the reader picked a query token (until then a decoder opens on its last)
    this.result = null;
    this.baseline = null;
    this.baselineFor = null;
    this.output = null;
    this.outputBaseline = null;
    this.blockPosition = null; // the block view's residual-stream token
    this.positions = null;   // the positions view's data (rotary: redrawn with the model's q and k after a run)
  }

  /** A new model: reset, then learn its attention shapes (`ready` resolves once they are known). */
  setModel(model, scheme) {
    this.model = model;
    this.scheme = scheme;
    this.clearModel();
    const modelSeq = ++this.modelSeq;
    ++this.seq;
    this.ready = (async () => {
      const dims = {};
      for (const kind of ['encoder', 'decoder', 'cross']) {
        const d = await model.attentionDims(kind).catch(() => null);
        if (d) dims[kind] = d;
      }
      if (modelSeq !== this.modelSeq) return;
      this.dims = dims;
      this.headMask = Object.fromEntries(Object.entries(dims).map(([k, [L, H]]) => [k, new Array(L * H).fill(1)]));
      this.kind = Object.keys(dims)[0] ?? 'encoder';
    })();
    return modelSeq;
  }

  toggleHead(kind, i) { this.headMask[kind][i] = this.headMask[kind][i] === 0 ? 1 : 0; }

  toggleToken(i) { this.tokenMask[i] = this.tokenMask[i] === 0 ? 1 : 0; }

  resetInterventions() {
    for (const m of Object.values(this.headMask)) m.fill(1);
    this.tokenMask?.fill(1);
  }

  /** The interventions in effect, as `inspect` / `generate` options (absent when nothing is changed). */
  activeMasks() {
    const headMask = {};
    for (const [k, m] of Object.entries(this.headMask)) if (m.some((x) => x !== 1)) headMask[k] = m;
    const tokenMask = this.tokenMask?.some((x) => x !== 1) ? this.tokenMask : undefined;
    return { headMask: Object.keys(headMask).length ? headMask : undefined, tokenMask };
  }

  /** The options of the one `inspect` call a refresh makes. */
  inspectOptions(info, masks, decoderIds) {
    const dims = this.dims[this.kind];
    const layer = dims ? Math.min(this.layer, dims[0] - 1) : 0;
    const opts = {
      topK: TOP_K,
      qkv: dims ? { kind: this.kind, layer } : undefined,
      // Only the map the live view draws (a change of kind or layer refreshes): every layer of every kind of a
      // real-size model at 1,000 tokens is over 600 MB, kept in the worker and copied to the page.
      attention: dims ? { kinds: [this.kind], layers: [layer, layer + 1] } : undefined,
      logitLens: info.hasLmHead ? LENS_K : 0,
      ...masks,
    };
    if (decoderIds) opts.decoderIds = decoderIds;
    return opts;
  }

  /** Keep a refresh's results; a new input length resets the hidden tokens. */
  accept(text, result, output) {
    this.baselineFor = text;
    this.result = result;
    this.output = output;
    const n = result.tokens.ids.length;
    if (!this.tokenMask || this.tokenMask.length !== n) this.tokenMask = this.model.info.kind === 'decoder-only' ? null : new Array(n).fill(1);
  }

  /** Q/K/V selection: 'kind', 'layer', 'head' or 'query'. */
  select(key, value) {
    this[key] = key === 'kind' ? value : Number(value);
  }
}

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
  ui.blockView = el('div', 'block-view');
  ui.blockView.id = 'block-view';
  sec.block.body.append(ui.blockView);
  ui.lensView = el('div', 'lens');
  ui.lensView.id = 'logit-lens';
  sec.lens.body.append(ui.lensView);
  ui.tokenizerView = el('div', 'tokenizer-steps');
  ui.tokenizerView.id = 'tokenizer-steps';
  sec.tokenizer.body.append(ui.tokenizerView);

  const st = new TeachingState();
  // Listed model name -> Promise<Tokenizer>: the tokenizer files alone. (A random-weight twin of each model, as
  // before, built every listed model's weights in the worker: 620 MB and seconds of blocked worker for a
  // GPT-2-small folder in models/extra/, with nothing asked for.)
  const otherModels = new Map();

  /** The other bundled models' tokenizers, loaded once as random-weight twins (no weights are downloaded). */
  async function otherTokenizers() {
    const gb = opts.glassbox?.();
    const current = opts.modelName?.();
    const list = (opts.bundled?.() ?? []).filter((m) => m.name !== current);
    const out = [];
    for (const m of list) {
      if (!otherModels.has(m.name)) {
        const source = Array.isArray(m.files) ? { baseUrl: m.url, files: m.files } : { baseUrl: m.url };
        otherModels.set(m.name, gb.loadTokenizer(source, { priority: 'background' }));
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
    // Runs wait for the model's attention shapes (refresh awaits st.ready).
    const modelSeq = st.setModel(model, scheme);
    // A run still going for the previous model is dropped (setModel moved `seq` on) and will never say
    // it ended: the sections are idle until the next run starts, not busy forever.
    document.body.dataset.teaching = 'idle';
    for (const id of SECTIONS.map((s) => s.id)) showError(id, null);
    for (const box of [ui.predictions, ui.interventions, ui.qkv, ui.blockView, ui.lensView, ui.tokenizerView]) placeholder(box, 'Run the model to see this.');
    // The live map and its title were the previous model's (an encoder's "encoder self-attention" over a GPT-2).
    // (Hidden, not emptied: renderHeatmap keeps its canvas in the box and draws the next map there.)
    ui.liveTitle.textContent = '';
    ui.liveMap.hidden = true;
    sec.lens.section.hidden = !model.info.hasLmHead;
    renderPositionsSection(modelSeq);
  }

  async function renderPositionsSection(seq) {
    const model = st.model;
    const info = model.info;
    const stack = info.kind === 'decoder-only' ? 'decoder' : 'encoder';
    try {
      const view = { positions: info.positions, maxPositions: info.maxPositions, modelType: info.modelType, unrotatedLayers: info.block?.unrotatedLayers ?? [] };
      if (info.positions === 'relative') {
        view.relative = await model.relativePositions(stack, RELATIVE_SPAN);
      } else if (info.positions === 'alibi') {
        view.alibi = info.block?.alibiSlopes ?? [];
      } else if (info.positions === 'disentangled') {
        view.disentangled = info.block?.disentangled;
        // deberta-v2 style: an absolute table added to the tokens too.
        if (info.maxPositions) view.table = await model.positionVectors(stack, Math.min(POSITIONS_SHOWN, info.maxPositions));
      } else if (info.positions === 'rotary') {
        view.rotary = await model.rotaryAngles(Math.min(POSITIONS_SHOWN, info.maxPositions ?? POSITIONS_SHOWN));
      } else {
        const n = Math.min(POSITIONS_SHOWN, info.maxPositions ?? POSITIONS_SHOWN);
        view.table = await model.positionVectors(stack, n);
        // MPNet: a learned distance bias on top of the table.
        if (info.block?.relativeBias) view.relative = await model.relativePositions(stack, RELATIVE_SPAN);
      }
      const sentences = [];
      for (const text of ORDER_SENTENCES) {
        const t = await model.tokenize(text);   // with the specials: the positions are the ones the model uses
        sentences.push({ text, ids: Array.from(t.ids), labels: t.tokens.map((tok, i) => tokenLabel(tok, st.scheme, t.special[i])) });
      }
      let vectors;
      if (view.table && sentences[0].ids.length <= view.table.shape[0]) {
        const emb = await model.tokenEmbeddings(stack, sentences[0].ids);
        // Only where a token row and a position row are added as they are (not opt-350m's, whose token rows are
        // widened first).
        if (emb.rows.shape[1] === view.table.shape[1]) vectors = { tokenRows: emb.rows, scale: emb.scale, table: view.table };
      }
      if (seq !== st.modelSeq) return;
      st.positions = view;
      renderPositions(ui.positionsView, { ...view, pair: rotaryPair() });
      renderOrderDemo(ui.order, sentences, info.positions, vectors);
      showError('positions', null);
    } catch (e) {
      if (seq === st.modelSeq) showError('positions', e);
    }
  }

  function update(text, pair) {
    st.text = text;
    st.pair = pair;
    refresh();
  }

  async function greedy(model, text, masks) {
    // One beam, whatever the model's generation config asks (many translators ask for 4): the section says
    // "greedy", and head and token masks apply to greedy decoding.
    const handle = model.generate(text, { maxNewTokens: MAX_OUTPUT_TOKENS, temperature: 0, numBeams: 1, numCandidates: 1,
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
    const masks = st.activeMasks();
    const pristine = !masks.headMask && !masks.tokenMask;
    document.body.dataset.teaching = 'busy';
    try {
      let output = null;
      // A BART classifier's decoder reads the input itself (shifted): no greedy output to feed it.
      if (info.kind === 'encoder-decoder' && info.hasLmHead && !info.classifier) {
        output = await greedy(model, text, masks);
        if (pristine || st.baselineFor !== text || !st.outputBaseline) {
          st.outputBaseline = pristine ? output : await greedy(model, text, {});
        }
      }
      const opts = st.inspectOptions(info, masks, output?.decoderIds);
      // A text pair (encoders): every view reads the same two texts as the main run.
      const pair = st.pair;
      if (pair !== undefined) opts.pair = pair;
      const result = await model.inspect(text, opts);
      let baseline = null;
      if (!pristine) {
        if (st.baselineFor !== text || st.baselinePair !== pair || !st.baseline) {
          st.baseline = await model.inspect(text, { topK: TOP_K, decoderIds: opts.decoderIds, attention: opts.attention, ...(pair === undefined ? {} : { pair }) });
          st.baselinePair = pair;
        }
        baseline = st.baseline;
      } else {
        st.baseline = result;
      }
      if (seq !== st.seq) return;
      st.accept(text, result, output);
      showError('predict', null);
      showError('qkv', null);
      showError('lens', null);
      renderAll(baseline);
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
    const pairOption = st.pair === undefined ? {} : { pair: st.pair };
    const [text, model] = [st.text, st.model];
    renderPredictions(ui.predictions, {
      info, result: r, baseline, scheme: st.scheme, pair: st.pair,
      tokenEffects: info.classifier?.task === 'sequence' && info.kind === 'encoder-only' ? () => model.tokenEffects(text, pairOption) : undefined,
      zeroShot: info.classifier?.task === 'sequence' ? (labels, template) => model.zeroShot(text, { labels, template }) : undefined,
      output: st.output ? { text: st.output.text, baseline: baseline ? st.outputBaseline?.text : undefined } : undefined,
    });
    const { input, dec } = labels();
    renderInterventions(ui.interventions, {
      dims: st.dims, headMask: st.headMask,
      tokenLabels: info.kind === 'decoder-only' ? null : input, tokenMask: st.tokenMask,
      onHead: (kind, i) => { st.toggleHead(kind, i); refresh(); },
      onToken: (i) => { st.toggleToken(i); refresh(); },
      onReset: () => { st.resetInterventions(); refresh(); },
    });
    renderQkvSection(input, dec);
    renderLiveMap(input, dec);
    if (st.positions?.rotary) renderPositions(ui.positionsView, { ...st.positions, pair: rotaryPair(dec) });
    renderBlockSection(input, dec);
    if (r.logitLens) {
      const cols = info.kind === 'encoder-only' ? input : dec;
      renderLogitLens(ui.lensView, {
        lens: r.logitLens, columnLabels: cols, scheme: st.scheme,
        columnIds: info.kind === 'encoder-decoder' ? r.decoderIds : r.tokens.ids, tied: info.block?.tiedEmbeddings,
        masked: info.kind === 'encoder-only',
        note: info.kind === 'encoder-only'
          ? 'Each cell: the token the masked-LM head picks when applied to that layer’s vector at that position.'
          : 'Each cell: the next token the output head picks when applied to that layer’s vector at that position.',
      });
    }
  }

  /** The block view: the Q/K/V section's layer and query token, the residual stream of the lens's stack. */
  function renderBlockSection(input, dec) {
    const r = st.result;
    const info = st.model.info;
    const trace = r.qkv ?? null;
    const queryLabels = trace?.kind === 'encoder' ? input : dec;
    const residualLabels = info.kind === 'encoder-only' ? input : dec;
    if (st.blockPosition === null || st.blockPosition >= (r.residual?.seqLen ?? 0)) st.blockPosition = Math.max(0, (r.residual?.seqLen ?? 1) - 1);
    renderBlock(ui.blockView, {
      info, trace, query: st.query, queryLabels,
      residual: r.residual ?? null, residualLabels, position: st.blockPosition,
      onPosition: (p) => { st.blockPosition = p; renderBlockSection(input, dec); ui.blockView.querySelector('#block-position')?.focus(); },
    });
  }

  /** The attention of the step-through's layer and head, as the interventions left it. */
  function renderLiveMap(input, dec) {
    const a = st.result.attentions[st.kind];
    if (!a) return;
    const [held, H, Tq, Tk] = a.shape;
    // The run keeps the chosen layer's maps only (inspectOptions): `firstLayer` says which.
    const first = a.firstLayer ?? 0;
    const layer = Math.min(st.layer, first + held - 1);
    if (layer < first) return;
    const head = Math.min(st.head, H - 1);
    const rows = st.kind === 'encoder' ? input : dec;
    const cols = st.kind === 'decoder' ? dec : input;
    const title = `${KIND_LABELS[st.kind]}, layer ${layer + 1}, head ${head + 1}`;
    ui.liveTitle.textContent = `Attention now: ${title.toLowerCase()} (change it in the Q/K/V section below)`;
    ui.liveMap.hidden = false;
    renderHeatmap(ui.liveMap, {
      values: headMatrix(a, layer, head), nRows: Tq, nCols: Tk,
      rowLabels: rows.length === Tq ? rows : range(Tq).map(String),
      colLabels: cols.length === Tk ? cols : range(Tk).map(String),
      causal: st.kind === 'decoder',
      window: st.kind === 'decoder' ? windowOf(st.model.info, st.kind, layer) : 0,
      band: st.kind === 'encoder' ? windowOf(st.model.info, st.kind, layer) : 0,
      maskNote: st.kind === 'decoder' ? causalNote(windowOf(st.model.info, st.kind, layer))
        : st.kind === 'encoder' ? bandNote(windowOf(st.model.info, st.kind, layer)) : '',
      rowTitle: ATTENTION_KINDS[st.kind].rowTitle, colTitle: ATTENTION_KINDS[st.kind].colTitle,
      title,
      raster: (values, options) => opts.glassbox().drawMap(values, options),
    });
  }

  /**
   * The offset demonstration's real pair: the step-through's head in its decoder layer, the last
   * token's query and the key two tokens back, as the model turned them (null before a run).
   */
  function rotaryPair(dec = null) {
    const t = st.result?.qkv;
    if (!t || t.kind !== 'decoder' || t.qLen !== t.kLen || t.qLen < 1) return null;
    // Gemma 3's and OLMo 3's sliding layers turn with a rotation of their own, not the one the positions view shows.
    if (['gemma3_text', 'gemma3', 'olmo3'].includes(st.model.info.modelType) && st.model.info.block?.slidingLayers?.includes(t.layer)) return null;
    // SmolLM3's "NoPE" layers turn nothing: their q and k show no rotation to demonstrate.
    if (st.model.info.block?.unrotatedLayers?.includes(t.layer)) return null;
    const D = t.dHead;
    const head = Math.min(st.head, t.nHeads - 1);
    const qPos = t.qLen - 1;
    const kPos = Math.max(0, qPos - 2);
    const at = (pos) => (head * t.qLen + pos) * D;   // q [H][Tq][D], k [H][Tk][D], Tq = Tk here
    const label = (pos) => (dec && dec.length === t.qLen ? dec[pos] : String(pos));
    return {
      q: t.q.subarray(at(qPos), at(qPos) + D), k: t.k.subarray(at(kPos), at(kPos) + D),
      qPos, kPos, qLabel: label(qPos), kLabel: label(kPos), head, layer: t.layer,
    };
  }

  function renderQkvSection(input, dec) {
    const kinds = Object.keys(st.dims);
    st.select('kind', renderSelect(ui.qkvKind, kinds.map((k) => ({ value: k, label: KIND_LABELS[k] })), st.kind));
    const [L, H] = st.dims[st.kind];
    st.select('layer', renderSelect(ui.qkvLayer, range(L).map((l) => ({ value: String(l), label: `${l + 1} of ${L}` })), String(st.layer)));
    st.select('head', renderSelect(ui.qkvHead, range(H).map((h) => ({ value: String(h), label: `${h + 1} of ${H}` })), String(st.head)));
    const trace = st.result.qkv;
    if (!trace) return;
    const queryLabels = trace.kind === 'encoder' ? input : dec;
    const keyLabels = trace.kind === 'decoder' ? dec : input;
    // A decoder's first query sees only itself (weight 1 by construction): open on the last, which sees them all.
    if (!st.queryChosen && trace.kind === 'decoder') st.query = trace.qLen - 1;
    st.select('query', Math.min(st.query, trace.qLen - 1));
    renderQkv(ui.qkv, {
      trace, head: st.head, query: st.query, ...qkvModelFacts(st.model.info, trace),
      queryLabels: queryLabels.length === trace.qLen ? queryLabels : range(trace.qLen).map(String),
      keyLabels: keyLabels.length === trace.kLen ? keyLabels : range(trace.kLen).map(String),
      onQuery: (q) => { st.select('query', q); st.queryChosen = true; renderQkvSection(input, dec); renderBlockSection(input, dec); },
    });
  }

  async function renderTokenizer(seq) {
    try {
      const others = await otherTokenizers();
      const traced = await st.model.tokenize(st.text, { trace: true });
      const side = [];
      for (const o of others) {
        const t = await o.model.scheduled({ priority: 'background' }).tokenize(st.text).catch((e) => ({ error: e.message }));
        side.push({ name: o.name, kind: o.model.info.tokenizer, vocabSize: o.model.info.vocabSize, tokens: t });
      }
      // The real GPT-2 and BERT uncased tokenizers (models/tokenizers/), when the server has them.
      for (const entry of opts.realTokenizers?.() ?? []) {
        const real = await loadRealTokenizer(opts.glassbox?.(), entry, undefined, 'background').catch(() => null);
        if (!real) continue;
        const t = await real.scheduled({ priority: 'background' }).tokenize(st.text).catch((e) => ({ error: e.message }));
        side.push({ name: `${realWho(entry)} (real)`, kind: real.info.tokenizer, vocabSize: real.info.vocabSize, tokens: t });
      }
      if (seq !== st.seq) return;
      renderTokenizerSteps(ui.tokenizerView, {
        text: st.text, kind: st.model.info.tokenizer, vocabSize: st.model.info.tokenizerVocabSize, tokens: traced, scheme: st.scheme, others: side,
        name: opts.modelName?.() ?? 'this model',
      });
      showError('tokenizer', null);
    } catch (e) {
      if (seq === st.seq) showError('tokenizer', e);
    }
  }

  const onSelect = (sel, key) => sel.addEventListener('change', () => {
    st.select(key, sel.value);
    if (key === 'kind' || key === 'layer') refresh();
    else if (st.result) {
      const { input, dec } = labels();
      renderQkvSection(input, dec);
      renderLiveMap(input, dec);
      if (st.positions?.rotary) renderPositions(ui.positionsView, { ...st.positions, pair: rotaryPair(dec) });
    }
  });
  onSelect(ui.qkvKind, 'kind');
  onSelect(ui.qkvLayer, 'layer');
  onSelect(ui.qkvHead, 'head');

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

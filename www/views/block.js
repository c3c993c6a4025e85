// One transformer block with the loaded model's own numbers: how it is wired (pre- or post-norm,
// which norm), how the heads' outputs are concatenated and projected back, the feed-forward network
// (its width, its activation, one token at a time), and the residual stream's size after every layer.
//
// Data: `info` (the model card: info.block from crate/src/card.rs), the `qkv` trace of
// `model.inspect(text, { qkv })` (ctx [H][Tq][D], out [Tq][C], input [Tq][C]) and `residual` of
// `model.inspect(text, { logitLens })` ({ nStates, seqLen, dModel, rms [L+1][T], change [L+1][T] }).

import { activationName, ffnSentence, layerWeights, normPhrase, residualScaled } from './explain.js';
import { vectorStrip, maxAbsOf, fmt, stripLegend } from './vector-strip.js';
import { truncate } from './token-text.js';
import { scrollRegion } from './scroll-region.js';

const LABEL_CHARS = 12;

/** The steps of one layer of the loaded model, as formulas, in order. */
export function blockSteps(info, stack) {
  const b = info.block;
  const norm = b.normKind === 'RMSNorm' ? 'RMSNorm' : 'LayerNorm';
  const crossToo = stack === 'decoder' && info.kind === 'encoder-decoder';
  const subs = [[stack === 'decoder' ? 'masked (causal) self-attention' : 'self-attention', 'SelfAttention']];
  if (crossToo) subs.push(['cross-attention, reading the encoder’s output', 'CrossAttention']);
  subs.push(['feed-forward network', 'FFN']);
  // Granite multiplies each step's output by its residual_multiplier before adding it.
  const times = residualScaled(b) ? `${fmt(b.residualScale)} · ` : '';
  if (b.parallelResidual && subs.length === 2) {
    // GPT-NeoX's use_parallel_residual: one step, attention and the FFN reading the same x (Phi: through one shared norm).
    const formula = b.parallelSharedNorm
      ? `x ← x + ${times}${subs[0][1]}(a) + ${times}${subs[1][1]}(a),  a = ${norm}(x)`
      : `x ← x + ${times}${subs[0][1]}(${norm}₁(x)) + ${times}${subs[1][1]}(${norm}₂(x))`;
    return [{ name: `${subs[0][0]} and ${subs[1][0]}, side by side`, formula }];
  }
  const steps = subs.map(([name, f]) => ({
    name,
    formula: b.normPlacement === 'post' ? `x ← ${norm}(x + ${f}(x))`
      : b.normPlacement === 'output' ? `x ← x + ${times}${norm}(${f}(x))`
        : b.outputNorms ? `x ← x + ${times}${norm}(${f}(${norm}(x)))`
          // BLOOM's apply_residual_connection_post_layernorm: the residual is the normed input.
          : b.residualFromNorm ? `a = ${norm}(x);  x ← a + ${times}${f}(a)` : `x ← x + ${times}${f}(${norm}(x))`,
  }));
  return steps;
}

/**
 * @param {HTMLElement} root
 * @param {object} view
 * @param {object} view.info            the model card
 * @param {object|null} view.trace      the Q/K/V trace (its layer; null before a run)
 * @param {number} view.query           the token whose numbers are shown (a query row of the trace)
 * @param {string[]} view.queryLabels
 * @param {object|null} view.residual   { nStates, seqLen, rms, change } (null: no LM head / not asked)
 * @param {string[]} view.residualLabels the tokens of the residual's positions
 * @param {number} view.position        the residual position shown
 * @param {(p: number) => void} view.onPosition
 */
export function renderBlock(root, view) {
  const { info, trace } = view;
  const b = info.block;
  root.replaceChildren();
  if (!b) return;
  const stack = info.kind === 'encoder-only' ? 'encoder' : 'decoder';

  // 1. The wiring.
  root.append(el('h3', '', 'How this model’s layers are wired'));
  root.append(el('p', 'explain', `This ${info.modelType} model ${normPhrase(b, info.modelType)}. One ${stack} layer:`));
  const list = el('ol', 'block-diagram');
  for (const s of blockSteps(info, stack)) {
    const li = el('li', 'block-step');
    li.append(el('strong', '', s.name), el('code', '', s.formula));
    list.append(li);
  }
  root.append(list);
  if (info.kind === 'encoder-decoder') {
    root.append(el('p', 'muted', 'That is a decoder layer. An encoder layer is the same without the cross-attention step, and its ' +
      'self-attention sees every token.'));
  }
  root.append(el('p', 'muted', b.parallelResidual
    ? 'Parallel: attention and the feed-forward network do not take turns. Both read the same x, ' +
      (b.parallelSharedNorm ? 'through one norm they share, ' : 'each through a norm of its own, ') + 'and ' +
      'both results are added in one step, so the feed-forward network of a layer never sees what that layer’s attention just wrote ' +
      '(the next layer does). The two can run at the same time, which made large models faster to train.' +
      (b.finalNorm ? ` After the last layer one more ${b.normKind} is applied before the output head.` : '')
    : b.normPlacement === 'output'
    ? 'Norms on the outputs only: each step reads the stream x as it is, with no norm in front, and its result is normalised before it ' +
      'is added, so the size of what a step adds is set by that norm’s learned scale, whatever the step computed, while x itself is ' +
      'never rescaled. Like pre-norm, that leaves a clean path from the embeddings to the output.' +
      (b.finalNorm ? ` After the last layer one more ${b.normKind} is applied before the output head.` : '')
    : b.residualFromNorm
    ? 'Pre-norm, with a twist: each step reads a normalised copy a of the stream, and its result is added to that copy, not to the ' +
      'stream it came from (apply_residual_connection_post_layernorm), so the stream is rescaled by the norm at every step, much as in ' +
      'post-norm, and no path from the embeddings to the output skips the norms.' +
      (b.finalNorm ? ` After the last layer one more ${b.normKind} is applied before the output head.` : '')
    : b.normPlacement === 'pre'
    ? 'Pre-norm: the stream x itself is never normalised inside the block, only the copy each step reads; what a step returns is added ' +
      (b.outputNorms ? 'to x after a norm of its own, so the size of what a step adds is set by that norm’s learned scale, whatever the step computed. '
        : 'to x unchanged. ') +
      'That keeps a clean path from the embeddings to the output, which helps deep pre-norm models train stably.' +
      (b.finalNorm ? ` After the last layer one more ${b.normKind} is applied before the output head.` : '')
    : 'Post-norm (the original transformer’s order): each step’s result is added to the stream and the sum is normalised, so the ' +
      'stream is rescaled after every step.'));

  // 2. Heads: concatenated and projected back.
  if (trace && trace.out && trace.ctx) {
    const H = trace.nHeads;
    const D = trace.dHead;
    const C = trace.dModel ?? info.dModel;
    const q = Math.min(view.query, trace.qLen - 1);
    const label = view.queryLabels[q] ?? String(q);
    root.append(el('h3', '', `The heads, put back together (layer ${trace.layer + 1}, token “${truncate(label, LABEL_CHARS)}”)`));
    root.append(el('p', 'explain', `Each of the ${H} heads returns ${D} numbers for this token (its weighted mix of values). They are ` +
      `concatenated into one vector of ${H} × ${D} = ${H * D} numbers, and the output matrix W_O (${H * D} × ${C}) projects it back to the ` +
      `model width, ${C}. That result${b.outputNorms ? ', after one more RMSNorm (this model normalises each step’s output),' : ''}` +
      `${residualScaled(b) ? `${b.outputNorms ? '' : ','} times ${fmt(b.residualScale)} (residual_multiplier),` : ''} is what attention adds to the residual stream.`));
    const heads = [];
    for (let h = 0; h < H; h++) {
      const at = (h * trace.qLen + q) * D;
      heads.push(trace.ctx.subarray(at, at + D));
    }
    const out = trace.out.subarray(q * C, (q + 1) * C);
    const headScale = maxAbsOf(...heads);
    const outScale = maxAbsOf(out);
    const grid = el('div', 'block-heads');
    heads.forEach((v, h) => {
      const line = el('div', 'qkv-vector');
      line.append(el('span', 'qkv-name', `head ${h + 1}`), vectorStrip(v, { maxAbs: headScale, label: `output of head ${h + 1}` }));
      grid.append(line);
    });
    const concat = new Float32Array(H * D);
    heads.forEach((v, h) => concat.set(v, h * D));
    const cLine = el('div', 'qkv-vector');
    cLine.append(el('span', 'qkv-name', `concatenated (${H * D})`), vectorStrip(concat, { maxAbs: headScale, label: 'the heads’ outputs concatenated' }));
    const oLine = el('div', 'qkv-vector');
    oLine.append(el('span', 'qkv-name', `× W_O → (${C})`), vectorStrip(out, { maxAbs: outScale, label: 'the projected attention output' }));
    root.append(stripLegend([{ name: 'heads', maxAbs: headScale }, { name: 'projected', maxAbs: outScale }]), grid, cLine, oLine);
  }

  // 3. The feed-forward network.
  // The layer drawn above: a decoder layer of an encoder-decoder has cross-attention too.
  const w = layerWeights(info, { crossAttention: info.kind === 'encoder-decoder' });
  const share = w.share;
  root.append(el('h3', '', 'The feed-forward network'));
  const ffn = el('p', 'explain', `${ffnSentence(info)} In one ${stack} layer of this model the feed-forward matrices hold ` +
    `${w.ffn.toLocaleString('en')} weights and the attention matrices ${w.attention.toLocaleString('en')}` +
    `${info.kind === 'encoder-decoder' ? ' (self-attention and cross-attention)' : ''}.`);
  ffn.dataset.ffnWidth = String(b.ffnWidth);
  ffn.dataset.activation = b.activation;
  ffn.dataset.share = String(share);
  root.append(ffn, el('p', 'muted', `Activation: ${activationName(b.activation)}${b.gatedFfn ? ', gated' : ''}. ` +
    'Attention is the only place tokens exchange information; the feed-forward network then works on each token’s vector by itself, ' +
    'with the same weights at every position.'));

  // 4. The residual stream, layer by layer.
  const r = view.residual;
  if (r && r.seqLen > 0) {
    // An encoder-decoder's stream here is the decoder's (the lens's stack), whatever stack the Q/K/V section shows.
    root.append(el('h3', '', info.kind === 'encoder-decoder' ? 'The decoder’s residual stream, layer by layer' : 'The residual stream, layer by layer'));
    const p = Math.min(view.position, r.seqLen - 1);
    const field = el('div', 'field compact narrow');
    const lab = el('label', '', 'Token');
    lab.htmlFor = 'block-position';
    const sel = el('select');
    sel.id = 'block-position';
    view.residualLabels.forEach((l, i) => {
      const o = el('option', '', `${i + 1}: ${truncate(l, LABEL_CHARS)}`);
      o.value = String(i);
      o.selected = i === p;
      sel.append(o);
    });
    sel.addEventListener('change', () => view.onPosition(Number(sel.value)));
    field.append(lab, sel);
    root.append(el('p', 'explain', 'Each row is the token’s vector after one more layer: its size (root mean square of its ' +
      `${r.dModel} numbers) and how much that layer changed it (the root mean square of the difference).` +
      (b.residualFromNorm
        ? ' In this model each step adds its result to a normalised copy of the stream, so the size is reset at every step and then grows by what the step adds.'
        : b.normPlacement === 'post'
        ? ` In this post-norm model every layer ends with a norm, so the size is reset each time (to a level set by the norm’s learned scale${b.normKind === 'LayerNorm' ? ' and shift' : ''}): the change is where the work shows.`
        : ` In this ${b.normPlacement === 'output' ? 'model, whose norms sit on each step’s output,' : 'pre-norm model'} layers only add to the stream, so its size is free to grow.`) +
      (b.finalNorm ? ' The last row is taken after the final norm (the vector the output head reads), so its size and change ' +
        'include that norm’s rescaling.' : '')), field);
    const table = el('table', 'residual-table');
    table.append(el('caption', 'visually-hidden', 'Size of the residual stream after each layer'));
    const hr = el('tr');
    hr.append(el('th', '', 'state'), el('th', '', 'size (RMS)'), el('th', '', 'changed by (RMS)'));
    const thead = el('thead');
    thead.append(hr);
    const tbody = el('tbody');
    for (let s = 0; s < r.nStates; s++) {
      const tr = el('tr');
      tr.dataset.state = String(s);
      tr.append(el('th', '', s === 0 ? 'embeddings' : `after layer ${s}`), el('td', '', fmt(r.rms[s * r.seqLen + p], 4)),
        el('td', '', s === 0 ? '—' : fmt(r.change[s * r.seqLen + p], 4)));
      tbody.append(tr);
    }
    table.append(thead, tbody);
    root.append(scrollRegion(table, 'the residual stream’s size after each layer'));
  }
  root.dataset.norm = b.normPlacement;
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

// Short explanations tied to what is on screen: the model's type, its position scheme, how its
// blocks are built and the attention kind being shown. Our own words, kept brief; the tutorial page
// goes deeper. Every number and every model-dependent claim comes from the loaded model's card
// (`info`, including `info.block`: crate/src/card.rs), so the text stays true for every family.

import { fmt } from './vector-strip.js';

const KIND = {
  'encoder-only': 'An encoder reads the whole text at once: every token may look at every other, before and after ' +
    'it. What comes out is one vector per token, a meaning in context, used to classify or compare text or, ' +
    'through a masked-LM head such as BERT’s, to guess a hidden token; it does not write new text.',
  'decoder-only': 'A decoder writes text one token at a time, predicting the next token from the ones before it. ' +
    'It is trained on every position of a text at once, so it must never see the token it is asked to predict: ' +
    'each token attends only to itself and earlier tokens.',
  'encoder-decoder': 'An encoder-decoder first reads the whole input with its encoder, then a decoder writes the ' +
    'output token by token, looking back at its own output and, through cross-attention, at the encoded input. ' +
    'This is the shape of translation and summarising models.',
};

// How attention alone stands towards word order: blind in an encoder; a decoder's causal mask is the one
// thing that tells a token which tokens came before it (a model can learn to count from it).
const ORDER_BLIND = {
  'encoder-only': 'Attention alone ignores word order',
  'encoder-decoder': 'Attention alone ignores word order (apart from the hint in the decoder’s causal mask)',
  'decoder-only': 'Attention alone sees word order only indirectly, through the causal mask (each token sees only itself and the tokens before it, from which a model can learn roughly where it stands)',
};

const POSITIONS = {
  learned: (blind) => `${blind}, so this model adds a learned position vector (one trained row per ` +
    'position) to each token’s embedding.',
  sinusoidal: (blind) => `${blind}, so this model adds fixed sine and cosine waves of different ` +
    'frequencies to each token’s embedding: each position gets its own pattern, and nothing about it is trained.',
  relative: (blind) => `${blind}; this model adds nothing to the embeddings and instead adds a ` +
    'learned bias to each self-attention score that depends on how far the key is from the query (and, in an ' +
    'encoder, on which side), with distances grouped into buckets; an encoder and a decoder each learn their own, and ' +
    'cross-attention gets none.',
  rotary: (blind) => `${blind}; this model adds nothing to the embeddings and instead, inside every head, turns ` +
    'each pair of numbers of the query and of the key by an angle proportional to the token’s position, each pair at its own ' +
    'speed (rotary positions), so positions enter a query·key product only through how far apart the two tokens are, not where they stand ' +
    '(the product still depends on what the two vectors hold, and the softmax on which keys a token can see).',
  alibi: (blind) => `${blind}; this model adds nothing to the embeddings and learns nothing for positions: ` +
    'each head lowers every attention score by a fixed slope times how many tokens back the key is (ALiBi, attention with ' +
    'linear biases), so of two keys that match the query equally well the nearer one gets more weight, and each head has its own slope, some looking close by, some far.',
  disentangled: (blind) => `${blind}; this model keeps where tokens are apart from what they say: a ` +
    'separate learned table holds one vector per relative distance (far distances share rows), and each attention score adds position terms to the ' +
    'usual query·key (disentangled attention).',
};

/** A config.json activation name in words. */
export function activationName(name) {
  const known = {
    gelu: 'GELU', gelu_new: 'GELU (tanh approximation)', gelu_pytorch_tanh: 'GELU (tanh approximation)',
    gelu_fast: 'GELU (tanh approximation)', relu: 'ReLU', silu: 'SiLU', swish: 'SiLU',
  };
  return known[name] ?? name;
}

/** How the loaded model normalises, as a verb phrase ("normalises …"; pre-norm, post-norm or on the
 * outputs only, LayerNorm vs RMSNorm), with Granite's residual scale where it has one. */
export function normPhrase(block, modelType = '') {
  if (!block) return '';
  const norm = block.normKind === 'RMSNorm'
    ? 'RMSNorm (divides a vector by its root mean square, then scales it)'
    : modelType === 'modernbert'
      // ModernBERT's norm_bias (false by default) decides whether its LayerNorms learn a shift.
      ? 'LayerNorm (subtracts a vector’s mean, divides by its spread, then scales it; a learned shift too only if the config’s norm_bias is set, off by default)'
      // OLMo 1's LayerNorms store no weights at all, Cohere's a scale without a shift.
      : block.normLearns === 'nothing'
        ? 'LayerNorm (subtracts a vector’s mean and divides by its spread; it learns no scale and no shift)'
        : block.normLearns === 'scale'
          ? 'LayerNorm (subtracts a vector’s mean, divides by its spread, then scales it; it learns no shift)'
          : 'LayerNorm (subtracts a vector’s mean, divides by its spread, then scales and shifts)';
  const scaled = residualScaled(block) ? `, times ${fmt(block.residualScale)} (this model’s residual_multiplier),` : '';
  const added = block.outputNorms
    ? `normalises the step’s result once more before adding it${scaled} to the unnormalised stream (four norms a layer: before and after attention, before and after the feed-forward network)`
    : block.residualFromNorm
      ? `adds the step’s result${scaled} to the normalised input, not to the stream it came from (apply_residual_connection_post_layernorm)`
      : `adds the step’s result${scaled} to the unnormalised stream`;
  // StableLM's q/k LayerNorms: one per head, each with a scale of its own and no shift.
  const qkWeights = block.qkNormOwnScales ? 'with a learned scale of its own for every head and no shift'
    : `with one learned scale${block.normKind === 'LayerNorm' ? ' and shift' : ''} that all heads share`;
  const qk = !block.qkNorm ? ''
    : block.qkNormPerHead
      ? `; inside attention, each head’s query and key are normalised on their own (${block.normKind === 'LayerNorm' ? 'a LayerNorm' : 'an RMSNorm'} over ` +
        `the head’s numbers, ${qkWeights}) before the rotation, which stops the attention scores from growing too large in training`
      : '; inside attention, the queries of all heads together, and the keys of all heads together, get one RMSNorm each before they are split into heads and rotated, which keeps the attention scores from growing too large in training';
  const last = (block.finalNorm ? '; one last norm follows the final layer' : '') + clipPhrase(block);
  if (block.normPlacement === 'output') {
    return `does not normalise what a step reads: each step works on the stream as it is, and its result is normalised with ${norm} ` +
      `before it is added${scaled} to the stream (two norms a layer: after attention and after the feed-forward network)${last}${qk}`;
  }
  if (block.parallelResidual) {
    return `runs attention and the feed-forward network side by side: ${block.parallelSharedNorm ? `both read the same stream through one shared ${norm}` : `each reads the same stream through a ${norm} of its own`} ` +
      `(pre-norm), and both results are added to the unnormalised stream at once${last}${qk}`;
  }
  const first = block.firstAttentionUnnormed ? ' (the first layer’s attention step skips its norm: it reads the embeddings, already normalised)' : '';
  const embeddings = block.embeddingNorm && block.normPlacement === 'pre' ? '; the embeddings are normalised too before the first layer' : '';
  return block.normPlacement === 'pre'
    ? `normalises the input of each step (pre-norm) with ${norm}${first}, and ${added}${embeddings}${last}${qk}`
    : `normalises after each step, once the step’s result has been added to the stream (post-norm), with ${norm}` +
      `${block.embeddingNorm ? '; the embeddings are normalised too before the first layer' : ''}`;
}

/** OLMo 1's clip_qkv: every query, key and value clamped right after its projection. */
export function clipPhrase(block) {
  return block?.clipQkv != null
    ? `; inside attention, every number of each query, key and value is clamped to ±${fmt(block.clipQkv)} (this model’s clip_qkv) as soon as it is computed`
    : '';
}

/** Whether each step's output is scaled before it joins the stream (Granite's residual_multiplier). */
export function residualScaled(block) {
  return block?.residualScale != null && block.residualScale !== 1;
}

/**
 * Weights of one layer's attention (W_Q, W_K, W_V, W_O) and feed-forward matrices, biases aside,
 * from the card (grouped-query attention has narrower W_K and W_V). `crossAttention`: the layer
 * also has a second attention block (a decoder layer of an encoder-decoder), as large as the first.
 */
export function layerWeights(info, { crossAttention = false } = {}) {
  const b = info.block;
  const C = info.dModel;
  const D = b.dHead ?? C / info.nHeads;
  const KV = b.nKvHeads ?? info.nHeads;
  const attention = (crossAttention ? 2 : 1) * (C * info.nHeads * D + 2 * C * KV * D + info.nHeads * D * C);
  const ffn = (b.gatedFfn ? 3 : 2) * C * b.ffnWidth;
  return { attention, ffn, share: Math.round((100 * ffn) / (ffn + attention)) };
}

// What a tied output head does around its dot product with the embedding table, by family (as the
// Rust heads compute it: bert.rs mlm_logits, t5.rs, bart.rs).
const BERT_TRANSFORM = '(first sent through a dense layer, its activation and a LayerNorm of its own) ';
const TIED_HEAD_BEFORE = { t5: '(first scaled by 1/√d_model) ', bert: BERT_TRANSFORM, roberta: BERT_TRANSFORM,
  'xlm-roberta': BERT_TRANSFORM, camembert: BERT_TRANSFORM, distilbert: BERT_TRANSFORM, modernbert: BERT_TRANSFORM, albert: BERT_TRANSFORM,
  mpnet: BERT_TRANSFORM, electra: BERT_TRANSFORM, 'deberta-v2': BERT_TRANSFORM };
const TIED_HEAD_AFTER = {
  bert: ', plus a bias per token', roberta: ', plus a bias per token', albert: ', plus a bias per token', 'xlm-roberta': ', plus a bias per token', camembert: ', plus a bias per token', distilbert: ', plus a bias per token',
  mpnet: ', plus a bias per token', electra: ', plus a bias per token', 'deberta-v2': ', plus a bias per token',
  bart: ', plus a bias per token (final_logits_bias)', marian: ', plus a bias per token (final_logits_bias)',
  mbart: ', plus a bias per token (final_logits_bias)', pegasus: ', plus a bias per token (final_logits_bias)',
};

/** The feed-forward network of the loaded model, in one sentence. */
export function ffnSentence(info) {
  const b = info.block;
  if (!b) return '';
  const ratio = b.ffnWidth / info.dModel;
  const times = Number.isInteger(ratio) ? `${ratio}×` : `${ratio.toFixed(2)}×`;
  const act = activationName(b.activation);
  const shape = b.gatedFfn
    ? `a gated network: two matrices widen the vector from ${info.dModel} to ${b.ffnWidth} numbers (${times}), ${act} of ` +
      `one multiplies the other number by number, and a third matrix brings it back to ${info.dModel}`
    : `two matrices: the first widens the vector from ${info.dModel} to ${b.ffnWidth} numbers (${times}), ${act} bends ` +
      `each number, the second brings it back to ${info.dModel}`;
  const { share } = layerWeights(info);
  const holds = info.kind === 'encoder-decoder'
    ? `holds ${share}% of an encoder layer’s weights and ${layerWeights(info, { crossAttention: true }).share}% of a decoder ` +
      'layer’s (whose cross-attention is a second set of attention matrices; attention holds the rest; biases and norms aside)'
    : `holds ${share}% of a layer’s weights (${share > 50 ? 'most of them' : 'attention holds the rest'}; biases and norms aside)`;
  return `The feed-forward network is ${shape}. It works on each token alone, ${holds}, and its activation is the non-linear ` +
    'step that lets it compute more than a linear function of the token’s vector.';
}

export const ATTENTION_KINDS = {
  encoder: {
    label: 'Encoder',
    title: 'Encoder self-attention',
    rowTitle: 'query token',
    colTitle: 'key token',
    explain: 'Encoder self-attention: each row is a token asking (its query), each column a token it may look at ' +
      '(its key); each row sums to 1. Every token sees every other here because one text runs alone: when texts of ' +
      'different lengths share a batch, the short ones are filled with padding tokens and a padding mask gives them ' +
      'weight 0 (hiding a token below does the same to a real one).',
  },
  decoder: {
    label: 'Decoder',
    title: 'Decoder self-attention',
    rowTitle: 'query token (fed in)',
    colTitle: 'key token (itself and earlier)',
    explain: 'Decoder self-attention: a row is one token choosing what to look at among itself and the tokens before ' +
      'it. A decoder learns to predict the next token, so it must never peek at it: the causal mask removes every ' +
      'later token before the softmax, which is why the upper triangle holds no weights at all. The first row has ' +
      'a single key, itself, so its weight is 1 by construction, whatever the model learned. (With padded batches ' +
      'a padding mask is combined with the causal one, hiding the filler tokens as well.)',
  },
  cross: {
    label: 'Cross',
    title: 'Cross-attention',
    rowTitle: 'decoder token (fed in)',
    colTitle: 'encoder token (the input)',
    explain: 'Cross-attention: each row is a token fed into the decoder, looking at the encoded input (columns) in ' +
      'order to write the next output token. The first row is the decoder start token, which begins every output; ' +
      'the second row is the first token written, used to write the second, and so on. This is where a translation ' +
      'model looks up the source.',
  },
};

export const CAUSAL_NOTE = 'Hatched = masked: a decoder cannot see tokens that come after the one it is reading. ' +
  'Row marked * (the first): its only key is itself, so its weight is 1 by construction, not a learned choice.';

/** The mask note of a decoder map; `window` > 0: the layer sees only that many recent keys (a sliding window). */
export function causalNote(window = 0) {
  if (!(window > 0)) return CAUSAL_NOTE;
  return `Hatched = masked: a decoder cannot see tokens that come after the one it is reading, and this layer cannot see ` +
    `tokens more than ${window - 1} back either (a sliding window of ${window} keys, itself included). ` +
    'Row marked * (the first): its only key is itself, so its weight is 1 by construction, not a learned choice.';
}

/** Which attention window layer `layer` (0-based) of `kind` has in the loaded model, or 0 for none: a decoder's
 *  sliding window (its size, the query included), or an encoder's band (how far it reaches on each side:
 *  ModernBERT's local layers). */
export function windowOf(info, kind, layer) {
  const b = info?.block;
  if (kind === 'encoder' && info.kind === 'encoder-only') return b?.bandLayers?.includes(layer) ? b.bandReach ?? 0 : 0;
  return kind === 'decoder' && info.kind === 'decoder-only' && b?.slidingLayers?.includes(layer) ? b.slidingWindow ?? 0 : 0;
}

/** The mask note of an encoder map whose layer sees a band of `reach` tokens either side (0: no mask, no note). */
export function bandNote(reach = 0) {
  if (!(reach > 0)) return '';
  return `Hatched = masked: this layer sees only tokens at most ${reach} positions away, before or after (a band of ` +
    `${2 * reach + 1} keys, itself included).`;
}

/** The explanation under the attention map, for `kind` and the loaded model (its start token named; `window`: the shown layer's). */
export function attentionExplanation(kind, { startLabel, window = 0 } = {}) {
  let text = ATTENTION_KINDS[kind].explain;
  if (kind === 'cross' && startLabel) text = text.replace('the decoder start token', `the decoder start token (${startLabel})`);
  if (kind === 'encoder' && window > 0) {
    // The base text's "every token sees every other" holds for full layers only.
    text = text.replace('Every token sees every other here because one text runs alone', 'No padding is masked here because one text runs alone');
    text += ` This layer sees only a band: each token attends to the tokens at most ${window} positions away on either side, ` +
      'so on a longer text the far ones drop out of view (the diagonal band in the map). What lies further away still arrives ' +
      'through the layers that see every token, and through stacking: each band layer reaches one more band further.';
  }
  if (kind === 'decoder' && window > 0) {
    text += ` This layer also slides: each token sees only the last ${window} tokens, itself included, so on a text longer ` +
      'than that the oldest tokens drop out of view (the band in the map). Information from further back still arrives through ' +
      'the layers without a window, if the model has any, and through stacking: each windowed layer reaches one more window back.';
  }
  return text;
}

/** Rotary models whose config leaves some layers unrotated (SmolLM3's "NoPE" layers): which, and what that means. */
export function unrotatedNote(info) {
  const layers = info?.positions === 'rotary' ? info.block?.unrotatedLayers ?? [] : [];
  if (!layers.length) return '';
  const names = layers.map((l) => l + 1).join(', ');
  return ` Not every layer, though: ${layers.length === 1 ? `layer ${names} turns` : `layers ${names} turn`} nothing, so attention there ` +
    'sees no positions at all, only the causal mask (a “NoPE” layer); what it knows of order comes from what the rotated layers ' +
    'wrote into the stream, and from the mask itself.';
}

/** MPNet: a learned distance bias on top of the position table. */
/** DeBERTa: which position terms its scores add, and how far its table reaches, from the card. */
export function disentangledNote(info) {
  const d = info?.block?.disentangled;
  if (!d) return '';
  const [span, buckets, maxDistance, c2p, p2c] = d;
  const terms = [c2p && 'the query’s content against the key’s distance from it (content-to-position)',
    p2c && 'the key’s content against that same distance, its table row projected as a query (position-to-content)'].filter(Boolean);
  const reach = buckets > 0
    ? ` Distances up to ${Math.floor(buckets / 2)} each have their own row; farther ones share rows on a logarithmic scale that reaches ${maxDistance}, and beyond that all share the table’s first or last row, so the table sets no length limit.`
    : ` Each distance up to ${span - 1} has its own row; farther ones share the table’s first or last row.`;
  const absolute = info.maxPositions
    ? ` Unlike deberta-v3, this checkpoint also adds a learned vector per absolute position to the tokens (${info.maxPositions} of them), which bounds its input.`
    : ' The tokens themselves carry no position.';
  return (terms.length ? ` The terms: ${terms.join('; and ')}.` : ' This checkpoint adds no position term to the scores.') + reach + absolute;
}

function relativeBiasNote(info) {
  if (!info.block?.relativeBias) return '';
  return ' On top of that, every attention score gets a learned bias that depends on how far, and in which direction, ' +
    'the key is from the query (distances grouped into buckets, one bias per head), the same table in every layer.';
}

/** Rotary models that turn only part of each head (GPT-NeoX's partial_rotary_factor): how much, in words. */
export function partialRotaryNote(info) {
  const b = info?.block;
  if (info?.positions !== 'rotary' || !b?.rotaryDims || !b.dHead || b.rotaryDims >= b.dHead) return '';
  return ` Only the first ${b.rotaryDims} of each head’s ${b.dHead} dimensions are turned, though; the other ${b.dHead - b.rotaryDims} ` +
    'carry no position, so part of every score compares two tokens by content alone, wherever they are.';
}

/** ALBERT's two savings, in words: narrow embeddings widened by one matrix, and layers that share their weights. */
export function sharingNote(info) {
  const b = info?.block;
  if (!b) return '';
  // Which rows are narrow: ALBERT's and ELECTRA's position rows are as narrow as their token rows (and are added
  // before the widening); opt-350m's position rows are full width, added after it; a DeBERTa without absolute
  // positions has token rows only.
  const withPositions = info.modelType !== 'opt' && (info.positions === 'learned' || (info.positions === 'disentangled' && info.maxPositions));
  const narrow = !b.embeddingWidth ? ''
    : info.modelType === 'opt'
      ? ` Its token vectors are only ${b.embeddingWidth} numbers wide; one matrix widens them to ${info.dModel} before the position vectors ` +
        `(${info.dModel} wide) are added, and another narrows the final vectors back to ${b.embeddingWidth} for the output head (word_embed_proj_dim).`
      : ` Its token${withPositions ? ' and position' : ''} vectors are only ${b.embeddingWidth} numbers wide; one matrix widens them to ${info.dModel} before the first layer.`;
  const sets = new Set(b.sharedLayers ?? []).size;
  const shared = sets
    ? ` Its layers share their weights: ${sets === 1 ? 'one set of weights is' : `${sets} sets of weights are`} run ${info.nLayers / sets} ` +
      `time${info.nLayers / sets === 1 ? '' : 's'} each, so the model holds far fewer parameters than its depth suggests, and every layer is ` +
      'the same function applied again to what the previous one produced.'
    : '';
  return narrow + shared;
}

/** The model section's paragraph: its type, positions and how its layers are built, from `info`. */
export function modelExplanation(info) {
  if (!info) return '';
  const b = info.block;
  const layers = info.kind === 'encoder-decoder'
    ? `${info.nLayers} encoder and ${info.nDecoderLayers} decoder layers`
    : `${info.nLayers} layers`;
  const cross = info.kind === 'encoder-decoder' ? ' (a decoder layer also adds cross-attention to the encoded input)' : '';
  const layer = `It has ${layers}. A running vector per token, the residual stream, passes through them, and each layer ` +
    `adds two results to it: attention, which mixes information between tokens, and a feed-forward network${cross}` +
    (b ? `; it ${normPhrase(b, info.modelType)}.` : '.');
  const head = b && info.hasLmHead
    ? (b.tiedEmbeddings
      ? ' Its output head reuses the input embedding table (tied embeddings): a token’s score is the dot product of the final vector ' +
        `${info.modelType === 'opt' && b.embeddingWidth ? `(first narrowed back to ${b.embeddingWidth} numbers, as above) ` : TIED_HEAD_BEFORE[info.modelType] ?? ''}with that token’s embedding` +
        `${b.headBias != null ? (b.headBias ? ', plus a bias per token' : '') : TIED_HEAD_AFTER[info.modelType] ?? ''}.`
      : ` Its output head is a matrix of its own${b.headBias ? ' with a bias per token' : ''}, not the input embedding table (untied embeddings).`) +
      (b.logitSoftcap ? ` Each score is then squashed into ±${b.logitSoftcap} (cap · tanh(score / cap)), which keeps any one from ` +
        'running away while leaving their order unchanged.' : '') +
      (b.logitsDivisor ? ` The scores are then divided by ${fmt(b.logitsDivisor)} (this model’s logits_scaling), which changes how sure ` +
        'the probabilities look but not which token comes first.' : '') +
      (b.logitScale != null ? ` The scores are then multiplied by ${fmt(b.logitScale)} (this model’s logit_scale), which changes how sure ` +
        'the probabilities look but not which token comes first.' : '')
    : '';
  const classifier = info.classifier
    ? (info.classifier.task === 'span'
      ? ' It was fine-tuned for extractive question answering: one small layer gives every token a score for the answer starting there and one for it ending there, and the answer is the likeliest span of the passage.'
      : info.classifier.task === 'token'
      ? ' It was fine-tuned as a token classifier: one small layer turns each token’s final vector into a score for each of its labels.'
      : ` It was fine-tuned as a text classifier: a small head turns ${{ mean: 'the average of the tokens’ final vectors', last: 'the last token’s final vector' }[info.classifier.reads] ?? 'the first token’s final vector'} into a score for each of its labels.`)
    : '';
  // "every token may look at every other" holds for an encoder's full layers only (ModernBERT's local layers see a band).
  const banded = info.kind === 'encoder-only' && b?.bandLayers?.length && b.bandReach && !(info.maxPositions && b.bandReach >= info.maxPositions)
    ? ` In this model, though, ${b.bandLayers.length === info.nLayers ? 'every layer sees' : `${b.bandLayers.length} of its ${info.nLayers} layers see`} ` +
      `only the tokens at most ${b.bandReach} positions away.`
    : '';
  return [KIND[info.kind] + banded, (POSITIONS[info.positions]?.(ORDER_BLIND[info.kind] ?? ORDER_BLIND['encoder-only']) ?? '') + unrotatedNote(info) + partialRotaryNote(info) + relativeBiasNote(info) + disentangledNote(info), layer + sharingNote(info), ffnSentence(info) + head + classifier].filter(Boolean).join(' ');
}

// The Glassbox state as a URL hash, and the two embed codes built from it. Pure functions (no DOM), shared by
// the page (page-share.js), the widgets (their "Open in Glassbox" link) and the iframe embed page.
//
//   #model=gpt2&text=The+cat+sat&view=attention&kind=decoder&layer=2&head=3
//   #model=gpt2&text=Once+upon&view=generate&temperature=0.8&top-k=40&top-p=0.95&seed=7&max-tokens=20&generate=1
//   #model=bart&text=Hello&view=generate&beams=4                        (beam search with 4 beams)
//   #model=nllb&text=Hello&view=generate&src-lang=eng_Latn&tgt-lang=fra_Latn   (a translation model's languages)
//   #model=my-nli&text=A+dog+runs.&pair=An+animal+moves.                  (an encoder's second text: sentence pairs, a passage)
//   #model=marian&text=Hello&rollout-kind=cross&rollout-output=3        (the rollout view's kind and output token)
//   #model=gpt2&text=The+quick+brown+fox&view=tokens&tokenizer=bert-base-uncased   (also cut by a real tokenizer)
//   …&embed=1&model_hide=1&sampling_hide=1      (embed mode without the page chrome; hidden controls)
//
// The names are the widget attribute names. Layers and heads count from 1 as the page shows them;
// head=mean is the mean of the heads. `generate=1` runs the generation when the link is opened: with a
// seed, the same text comes out.
// The page leaves out the generation settings that equal the model's own (its generation_config.json) and
// replays a link without them onto the model's values.

/**
 * The longest text a link or an embed code carries, in characters. Longer ones are left out (the page says so):
 * browsers and the places links are pasted cut long addresses, and writing a 10 MB address on every keystroke
 * froze the page for seconds. 10,000 characters is more than any bundled model reads at once.
 */
export const LINK_TEXT_MAX = 10_000;

/** Characters as a reader counts them: code points (an emoji is one, not JS's two UTF-16 units). */
export function charCount(text) {
  let pairs = 0;
  for (const _ of text.matchAll(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)) pairs += 1;
  return text.length - pairs;
}

/** Whether `text` is longer than a link or an embed code carries (counted only when it might be). */
export function tooLongForLink(text) {
  return text.length > LINK_TEXT_MAX && charCount(text) > LINK_TEXT_MAX;
}

/** Settings and their defaults; a default is left out of the link to keep it short (model, text and view never are). */
export const DEFAULTS = Object.freeze({
  model: '', text: '', pair: '', view: 'attention', kind: '', layer: 1, head: 'mean',
  temperature: 0, topK: 0, topP: 1, seed: 42, maxTokens: 20, numBeams: 1, generate: false, embed: false, tokenizer: '',
  rolloutKind: '', rolloutOutput: 0, srcLang: '', tgtLang: '',
});

/** Hash key for each state field (same spelling as the widget attributes). */
export const KEYS = {
  model: 'model', text: 'text', pair: 'pair', view: 'view', kind: 'kind', layer: 'layer', head: 'head', temperature: 'temperature',
  topK: 'top-k', topP: 'top-p', seed: 'seed', maxTokens: 'max-tokens', numBeams: 'beams', generate: 'generate', embed: 'embed',
  tokenizer: 'tokenizer',
  // <glassbox-rollout> on the page: its attention kind and output token (from 1; 0 = the last).
  rolloutKind: 'rollout-kind', rolloutOutput: 'rollout-output',
  // A translation model's source and target language codes (left out: the tokenizer's own src_lang, the model's choice).
  srcLang: 'src-lang', tgtLang: 'tgt-lang',
};

export const VIEWS = ['tokens', 'attention', 'generate'];
export const KINDS = ['encoder', 'decoder', 'cross'];

/** The controls that `<name>_hide=1` can hide (the page maps them onto its elements; widgets take hide="…"). */
export const HIDEABLE = ['model', 'text', 'run', 'tokens', 'attention', 'generate', 'kind', 'layer', 'head', 'sampling',
  'temperature', 'top-k', 'top-p', 'seed', 'max-tokens', 'beams', 'explain', 'share'];

export const NUMBER_FIELDS = ['temperature', 'topK', 'topP', 'seed', 'maxTokens', 'numBeams'];

/**
 * Parse a hash ("#a=1&b=2" or "a=1&b=2") into a full state; malformed values fall back to defaults, and
 * `state.unread` says which (`{ field, text }`, the text as "temperature=hot (not a number of 0 or more)"), so the
 * page can tell the reader rather than drop them silently. (Layers, heads and kinds are checked against the model by the page.)
 */
export function decodeState(hash) {
  const params = new URLSearchParams(String(hash ?? '').replace(/^#/, ''));
  const state = { ...DEFAULTS, hide: [], unread: [] };
  const get = (field) => params.get(KEYS[field]);
  if (get('model') !== null) state.model = get('model');
  if (get('text') !== null) state.text = get('text');
  // An encoder's second text (sentence pairs, a question's passage).
  if (get('pair') !== null) state.pair = get('pair');
  if (VIEWS.includes(get('view'))) state.view = get('view');
  else if (get('view') !== null) state.unread.push({ field: 'view', text: `view=${get('view')} (not ${VIEWS.join(', ').replace(/, (?=[^,]*$)/, ' or ')})` });
  if (KINDS.includes(get('kind'))) state.kind = get('kind');
  const layer = Number(get('layer'));
  if (Number.isInteger(layer) && layer >= 1) state.layer = layer;
  if (KINDS.includes(get('rolloutKind'))) state.rolloutKind = get('rolloutKind');
  else if (get('rolloutKind')) state.unread.push({ field: 'rolloutKind', text: `${KEYS.rolloutKind}=${get('rolloutKind')} (not encoder, decoder or cross)` });
  const output = Number(get('rolloutOutput'));
  if (Number.isSafeInteger(output) && output >= 0) state.rolloutOutput = output;
  else if (get('rolloutOutput')) state.unread.push({ field: 'rolloutOutput', text: `${KEYS.rolloutOutput}=${get('rolloutOutput')} (not a token number, or 0 for the last)` });
  const head = get('head');
  if (head !== null && Number.isInteger(Number(head)) && Number(head) >= 1) state.head = Number(head);
  for (const field of NUMBER_FIELDS) {
    const raw = get(field);
    const v = Number(raw);
    if (raw === null || raw.trim() === '') continue;
    if (Number.isFinite(v) && v >= 0 && (field !== 'numBeams' || (Number.isInteger(v) && v >= 1))) state[field] = v;
    else state.unread.push({ field, text: `${KEYS[field]}=${raw} (${field === 'numBeams' ? 'not a whole number of 1 or more' : 'not a number of 0 or more'})` });
  }
  // Language codes look like eng_Latn, fr_XX or __fr__; anything else is not one.
  for (const field of ['srcLang', 'tgtLang']) {
    if (/^[A-Za-z0-9_-]{1,32}$/.test(get(field) ?? '')) state[field] = get(field);
    else if (get(field)) state.unread.push({ field, text: `${KEYS[field]}=${get(field)} (not a language code such as eng_Latn or fr_XX)` });
  }
  // The real tokenizer the text is also cut with (models/tokenizers/<name>/): a folder name.
  if (/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(get('tokenizer') ?? '')) state.tokenizer = get('tokenizer');
  else if (get('tokenizer')) state.unread.push({ field: 'tokenizer', text: `${KEYS.tokenizer}=${get('tokenizer')} (not a tokenizer's folder name)` });
  state.generate = flag(get('generate'));
  state.embed = flag(get('embed'));
  for (const name of HIDEABLE) if (flag(params.get(`${name}_hide`))) state.hide.push(name);
  for (const name of (params.get('hide') ?? '').split(/[\s,]+/)) {
    if (HIDEABLE.includes(name) && !state.hide.includes(name)) state.hide.push(name);
  }
  return state;
}

function flag(value) {
  return value === '1' || value === 'true' || value === '';
}

/**
 * A state (partial is fine) as a hash without the "#"; defaults are left out, the order is fixed. `baseline`: the
 * values to leave out (the page passes the controls' starting values, which come from the model's
 * generation_config.json, so a link names only what the user changed and replays onto the same model's values).
 */
export function encodeState(state, baseline = DEFAULTS) {
  const params = new URLSearchParams();
  for (const [field, key] of Object.entries(KEYS)) {
    const v = state[field];
    if (v === undefined || v === null) continue;
    if (field === 'model' || field === 'text' || field === 'view') {
      params.set(key, String(v));
    } else if (field === 'generate' || field === 'embed') {
      if (v) params.set(key, '1');
    } else if (v !== baseline[field] && v !== '') {
      params.set(key, String(v));
    }
  }
  for (const name of state.hide ?? []) params.set(`${name}_hide`, '1');
  return params.toString();
}

/**
 * The entry of a models/index.json list that `spec` names: a model's name, or "@" and a model type or kind
 * ("@gpt2", "@encoder-decoder") for the first such model. Undefined when there is none.
 */
export function findModel(list, spec) {
  if (!spec) return undefined;
  if (!spec.startsWith('@')) return list.find((m) => m.name === spec);
  const wanted = spec.slice(1);
  return list.find((m) => m.modelType === wanted) ?? list.find((m) => m.kind === wanted);
}

/** A link to the page (`pageUrl`, e.g. ".../index.html") showing `state`. */
export function pageLink(pageUrl, state, baseline = DEFAULTS) {
  return `${String(pageUrl).split('#')[0]}#${encodeState(state, baseline)}`;
}

const WIDGET_OF_VIEW = { tokens: 'glassbox-tokens', attention: 'glassbox-attention', generate: 'glassbox-generation' };

function attr(name, value) {
  return ` ${name}="${String(value).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`;
}

/**
 * The custom-element embed code for `state`: the module script (from `baseUrl`, the folder holding
 * glassbox-widgets.js) and one widget tag with the same settings.
 */
export function widgetEmbedCode(baseUrl, state) {
  const s = { ...DEFAULTS, ...state };
  const tag = WIDGET_OF_VIEW[s.view] ?? WIDGET_OF_VIEW.attention;
  let attrs = attr('model', s.model) + attr('text', s.text);
  if (s.view === 'attention') {
    if (s.kind) attrs += attr('kind', s.kind);
    attrs += attr('layer', s.layer) + attr('head', s.head);
  } else if (s.view === 'generate') {
    attrs += attr('temperature', s.temperature) + attr('top-k', s.topK) + attr('top-p', s.topP) + attr('seed', s.seed)
      + attr('max-tokens', s.maxTokens ?? DEFAULTS.maxTokens);
    if (s.tgtLang) attrs += attr('tgt-lang', s.tgtLang);
    if (s.generate) attrs += ' autorun';
  }
  if (s.view === 'tokens' && s.tokenizer) attrs += attr('tokenizer', s.tokenizer);
  const hide = (s.hide ?? []).filter((n) => n !== 'model');
  if (hide.length) attrs += attr('hide', hide.join(','));
  const script = new URL('glassbox-widgets.js', baseUrl).href;
  return `<script type="module" src="${script}"></script>\n<${tag}${attrs}></${tag}>`;
}

/**
 * The iframe embed code for `state`: embed.html (beside the page) with the state in its hash. `origin`: the host
 * page's origin, the only one the embed then obeys and answers (`origin=`; without it, only its own origin).
 */
export function iframeEmbedCode(baseUrl, state, { height = 560, baseline = DEFAULTS, origin = null } = {}) {
  const extra = origin ? `&${new URLSearchParams({ origin })}` : '';
  const src = `${new URL('embed.html', baseUrl).href}#${encodeState(state, baseline)}${extra}`;
  const title = `Glassbox: ${state.view === 'generate' ? 'generation' : state.view ?? 'attention'}`;
  return `<iframe src="${src.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}" title="${title}" width="100%" height="${height}" `
    + 'style="border: 0" loading="lazy"></iframe>';
}

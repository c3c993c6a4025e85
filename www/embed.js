// The iframe embed page (embed.html): one widget built from the URL hash, driven by the host page through
// postMessage. Replies go to the window that asked (or the parent, for "ready").

import './glassbox-widgets.js';
import { decodeState } from './url-state.js';

const TAGS = { tokens: 'glassbox-tokens', attention: 'glassbox-attention', generate: 'glassbox-generation' };
const ALLOWED_ATTRIBUTES = ['text', 'layer', 'head', 'kind', 'temperature', 'top-k', 'top-p', 'seed', 'max-tokens', 'hide',
  'readonly', 'theme', 'random-seed', 'model'];

let widget = null;
let ready = false;

function build() {
  const state = decodeState(location.hash);
  const el = document.createElement(TAGS[state.view] ?? TAGS.attention);
  el.setAttribute('eager', '');
  el.setAttribute('model', state.model);
  el.setAttribute('text', state.text);
  if (state.view === 'attention') {
    if (state.kind) el.setAttribute('kind', state.kind);
    el.setAttribute('layer', String(state.layer));
    el.setAttribute('head', String(state.head));
  } else if (state.view === 'generate') {
    el.setAttribute('temperature', String(state.temperature));
    el.setAttribute('top-k', String(state.topK));
    el.setAttribute('top-p', String(state.topP));
    el.setAttribute('seed', String(state.seed));
    el.setAttribute('max-tokens', String(state.maxTokens));
    if (state.generate) el.setAttribute('autorun', '');
  }
  const hide = state.hide.filter((n) => n !== 'share');
  if (hide.length) el.setAttribute('hide', hide.join(','));
  const params = new URLSearchParams(location.hash.slice(1));
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
      const drawn = nextDraw();
      for (const [name, value] of Object.entries(msg.attributes ?? {})) {
        if (!ALLOWED_ATTRIBUTES.includes(name)) throw new Error(`"${name}" cannot be set. Use one of ${ALLOWED_ATTRIBUTES.join(', ')}`);
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
  const reply = (body) => event.source?.postMessage({ ...body, id: msg.id ?? null }, event.origin === 'null' ? '*' : event.origin);
  try {
    if (!ready) await new Promise((resolve) => widget.addEventListener('glassbox-ready', resolve, { once: true }));
    await handle(msg);
    reply({ type: 'glassbox:ack', ok: true, state: snapshot() });
  } catch (err) {
    reply({ type: 'glassbox:ack', ok: false, error: err.message });
  }
});

widget = build();
document.body.append(widget);
widget.addEventListener('glassbox-ready', () => {
  if (ready) return;
  ready = true;
  document.body.dataset.ready = 'true';
  if (window.parent !== window) window.parent.postMessage({ type: 'glassbox:ready', state: snapshot() }, '*');
});
widget.addEventListener('glassbox-error', (e) => {
  if (!ready && window.parent !== window) window.parent.postMessage({ type: 'glassbox:error', message: e.detail.message }, '*');
});
// A new state in the hash is a new embed.
window.addEventListener('hashchange', () => location.reload());

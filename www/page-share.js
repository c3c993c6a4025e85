// The page's state in the URL hash, hide flags, embed mode, and the "Copy link" / "Copy embed code" buttons.
//
// It works through the page's own controls (it selects, types and clicks as a person would), so app.js stays
// unaware of it: opening a link replays the settings onto the page; any change the reader makes is written
// back into the hash (history.replaceState, so the back button is not flooded). Formats: url-state.js.

import { decodeState, encodeState, pageLink, widgetEmbedCode, iframeEmbedCode, findModel, charCount, tooLongForLink, DEFAULTS, KEYS, LINK_TEXT_MAX, NUMBER_FIELDS } from './url-state.js';

const WRITE_DELAY_MS = 250;
const WAIT_TIMEOUT_MS = 120000;
const MODEL_INDEX_URL = 'models/index.json';

/** Which page elements each `<name>_hide=1` flag hides. */
const HIDE_SELECTORS = {
  model: ['#model-section'],
  text: ['#text-section .text-wrap', '#text-hint', '#text-size-note'],
  run: ['#run-button'],
  tokens: ['#tokens', '#token-count'],
  attention: ['#attention-section'],
  generate: ['#generate-section'],
  kind: ['#kind-switch'],
  layer: ['.field:has(> #layer-select)'],
  head: ['.field:has(> #head-select)'],
  sampling: ['#sampling-form .field'],
  temperature: ['.field:has(> #temperature)'],
  'top-k': ['.field:has(> #top-k)'],
  'top-p': ['.field:has(> #top-p)'],
  seed: ['.field:has(> #seed)'],
  'max-tokens': ['.field:has(> #max-tokens)'],
  beams: ['.field:has(> #num-beams)'],
  explain: ['.explain'],
  share: ['#share-bar'],
};
const SECTION_OF_VIEW = { tokens: '#text-section', attention: '#attention-section', generate: '#generate-section' };

const $ = (sel) => document.querySelector(sel);
// `pendingHash`: a link that arrived while another was being replayed; it is replayed next, alone.
const share = { index: [], view: DEFAULTS.view, generate: false, applying: false, pendingHash: null, writeTimer: 0, viewer: decodeState('') };

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Stops a replay a newer link has replaced (thrown between its steps; the newer one is replayed next). */
class Superseded extends Error {}

function stopIfSuperseded() {
  if (share.pendingHash !== null) throw new Superseded('a newer link arrived');
}

/** Wait until `predicate` holds; while a link is replayed, a newer link stops the wait (`Superseded`). */
async function waitFor(predicate, what, { supersedable = true } = {}) {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (!predicate()) {
    if (supersedable && share.applying) stopIfSuperseded();
    if (!$('#model-error')?.hidden && document.body.dataset.ready !== 'true') throw new Error($('#model-error').textContent);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(30);
  }
}

const idle = () => document.body.dataset.status === 'idle';

// ---- viewer settings: hide flags and embed mode (applied at once, before any model loads) -----------------

// A constructed stylesheet, not a <style> element: the page's Content-Security-Policy (style-src 'self') blocks
// inline styles but allows adopted sheets.
let chromeSheet = null;

function applyChrome(state) {
  if (!chromeSheet) {
    chromeSheet = new CSSStyleSheet();
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, chromeSheet];
  }
  const rules = [];
  for (const name of state.hide) rules.push(...(HIDE_SELECTORS[name] ?? []));
  if (state.embed) {
    rules.push('.page-header', '.page-footer', '.skip-link', '#model-section');
    for (const [view, sel] of Object.entries(SECTION_OF_VIEW)) if (view !== state.view && sel !== '#text-section') rules.push(sel);
  }
  chromeSheet.replaceSync(rules.length ? `${rules.join(',\n')} { display: none !important; }` : '');
  document.documentElement.classList.toggle('gb-embed', state.embed);
  share.viewer = { embed: state.embed, hide: state.hide };
}

// ---- reading the page ----------------------------------------------------------------------------------

/** The page's current state, read from its controls. */
export function currentState() {
  const model = share.index[Number($('#model-select')?.value)]?.name ?? '';
  const head = $('#head-select')?.value;
  const num = (sel, fallback) => {
    const v = Number($(sel)?.value);
    return $(sel)?.value !== '' && Number.isFinite(v) ? v : fallback;
  };
  const text = $('#text-input')?.value ?? '';
  return {
    model,
    text: tooLongForLink(text) ? undefined : text, // left out of the link (app.js's size note says so)
    pair: $('#pair-row')?.hidden === false ? $('#pair-input')?.value ?? '' : '',
    view: share.view,
    kind: $('#kind-switch input:checked')?.value ?? '',
    layer: $('#layer-select')?.value ? Number($('#layer-select').value) + 1 : DEFAULTS.layer,
    head: head && head !== 'mean' ? Number(head) + 1 : 'mean',
    temperature: num('#temperature', DEFAULTS.temperature),
    topK: num('#top-k', DEFAULTS.topK),
    topP: num('#top-p', DEFAULTS.topP),
    seed: num('#seed', DEFAULTS.seed),
    maxTokens: $('#max-tokens')?.value === '' ? null : num('#max-tokens', DEFAULTS.maxTokens),
    numBeams: num('#num-beams', DEFAULTS.numBeams),
    generate: share.generate,
    rolloutKind: $('#rollout-view')?.getAttribute('kind') ?? '',
    rolloutOutput: Number($('#rollout-view')?.getAttribute('output')) || 0,
    embed: share.viewer.embed,
    hide: share.viewer.hide,
    tokenizer: $('#real-tokenizers input:checked')?.value ?? '',
    srcLang: $('#language-row')?.hidden === false ? $('#src-lang')?.value ?? '' : '',
    tgtLang: $('#language-row')?.hidden === false ? $('#tgt-lang')?.value ?? '' : '',
  };
}

/** The control of each generation setting. */
const CONTROL_OF = { temperature: '#temperature', topK: '#top-k', topP: '#top-p', seed: '#seed', maxTokens: '#max-tokens', numBeams: '#num-beams' };

/** The values a link leaves out: the controls' starting values (the model's generation_config.json, else the defaults). */
function baseline() {
  const base = { ...DEFAULTS };
  for (const field of NUMBER_FIELDS) {
    const el = $(CONTROL_OF[field]);
    if (!el) continue;
    base[field] = el.defaultValue === '' ? null : Number(el.defaultValue);
  }
  // The tokenizer's own source language is what a link without one gets.
  base.srcLang = $('#src-lang')?.dataset.default ?? '';
  return base;
}

function scheduleWrite() {
  if (share.applying) return;
  clearTimeout(share.writeTimer);
  share.writeTimer = setTimeout(writeHash, WRITE_DELAY_MS);
}

function writeHash() {
  if (share.applying) return;
  const hash = `#${encodeState(currentState(), baseline())}`;
  if (hash !== location.hash) history.replaceState(history.state, '', hash);
  renderShare();
}

// ---- replaying a link onto the page ---------------------------------------------------------------------

function setValue(sel, value) {
  const el = $(sel);
  if (!el || String(value) === el.value) return;
  el.value = String(value);
  el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input', { bubbles: true }));
}

async function applyState(state) {
  share.applying = true;
  share.failed = false;
  // A note from the link replayed before does not speak for this one.
  showNote('');
  share.notes = [];    // whole sentences about the link (a model this copy lacks)
  share.missed = [];   // what the link asks for that the page cannot show, said by focusAttention
  try {
    applyChrome(state);
    await waitFor(() => document.body.dataset.ready === 'true', 'the page to load');
    const index = share.index.indexOf(findModel(share.index, state.model));
    if (state.model && index < 0) {
      share.notes.push(`The link names a model "${state.model}" that this copy of Glassbox does not have; showing another.`);
      showNote(share.notes.join(' '));
    }
    if (index >= 0 && $('#model-select').value !== String(index)) {
      setValue('#model-select', index);
      await sleep(0);
      await waitFor(idle, 'the model to load');
    }
    if (state.text !== '' || new URLSearchParams(location.hash.slice(1)).has('text')) setValue('#text-input', state.text);
    // A translation model's languages (codes the model lacks are not offered, so they are left as they are).
    if ($('#language-row')?.hidden === false) {
      if (state.srcLang && $(`#src-lang option[value="${CSS.escape(state.srcLang)}"]`)) {
        setValue('#src-lang', state.srcLang);
        await sleep(0);
        await waitFor(idle, 'the source language');
      } else if (state.srcLang) {
        share.missed.push(`source language ${state.srcLang} (this model has no such code)`);
      }
      if ($(`#tgt-lang option[value="${CSS.escape(state.tgtLang)}"]`)) setValue('#tgt-lang', state.tgtLang);
      else if (state.tgtLang) share.missed.push(`target language ${state.tgtLang} (this model has no such code)`);
    }
    if (state.pair !== '' || new URLSearchParams(location.hash.slice(1)).has(KEYS.pair)) setValue('#pair-input', state.pair);
    const tokenizerChoice = $(`#real-tokenizers input[value="${CSS.escape(state.tokenizer)}"]`);
    tokenizerChoice?.click();
    if (state.tokenizer && !tokenizerChoice) share.missed.push(`the ${state.tokenizer} tokenizer (this server has none by that name)`);
    // A setting the link leaves out takes the control's starting value: the model's own (generation_config.json).
    const named = new URLSearchParams(location.hash.slice(1));
    for (const field of NUMBER_FIELDS) {
      const el = $(CONTROL_OF[field]);
      const unread = state.unread.some((u) => u.field === field);
      if (el) setValue(CONTROL_OF[field], named.has(KEYS[field]) && !unread ? state[field] : el.defaultValue);
    }
    share.view = state.view;
    share.generate = state.generate;
    if (!$('#run-button').disabled) {
      $('#run-button').click();
      await sleep(0);
      await waitFor(idle, 'the run');
      focusAttention(state);
    } else {
      const said = linkNotes();
      if (state.unread.length) said.push(unreadNote(state));
      if (said.length) showNote(said.join(' '));
    }
    if (state.generate && !$('#generate-button').disabled) {
      $('#generate-button').click();
      await sleep(0);
      await waitFor(idle, 'the generation');
      // An encoder-decoder re-runs with its output after generating: the controls were drawn again.
      focusAttention(state);
    }
    applyRollout(state);
    const section = $(SECTION_OF_VIEW[state.view]);
    if (section && state.view !== 'attention' && !state.embed) section.scrollIntoView({ block: 'start' });
  } catch (err) {
    if (err instanceof Superseded) {
      // A newer link replaces this one: stop what this one started (a long generation) before replaying it.
      if (document.body.dataset.status === 'generating') $('#stop-button')?.click();
      await waitFor(idle, 'the stopped generation', { supersedable: false }).catch(() => {});
    } else {
      // The page could not start (its own error is on screen): leave the link as it was.
      share.failed = true;
      showNote(`This link could not be replayed (${err.message}).`);
    }
  } finally {
    share.applying = false;
    const next = share.pendingHash;
    share.pendingHash = null;
    if (next !== null) {
      // A newer link came while this one was replayed (the replay reads the link's own keys from the
      // address): put it back in the address and replay it whole, so no setting of the two mixes.
      history.replaceState(history.state, '', next);
      applyState(decodeState(next));
    } else {
      document.documentElement.dataset.stateApplied = 'true';
      if (!share.failed) writeHash();
    }
  }
}

function focusAttention(state) {
  const named = new URLSearchParams(location.hash.slice(1));
  // What the link asks for that this model or the page cannot show: said under the share bar, not dropped silently.
  const missed = [];
  const asked = (key) => named.get(KEYS[key]);
  if (asked('kind') !== null && asked('kind') !== state.kind) missed.push(`kind=${asked('kind')} (not encoder, decoder or cross)`);
  if (state.kind) {
    const radio = $(`#kind-switch input[value="${state.kind}"]`);
    if (radio && !radio.checked) radio.click();
    if (!radio && $('#kind-switch input')) missed.push(`${state.kind} attention (this model has none)`);
  }
  // A link that names no layer or head leaves the one the page picked by the pattern scores (head-choice.js).
  if (named.has(KEYS.layer) || named.has(KEYS.head)) {
    const layers = $('#layer-select').options.length;
    if (named.has(KEYS.layer) && String(state.layer) !== asked('layer')) missed.push(`layer=${asked('layer')} (not a layer number)`);
    else if (state.layer > layers) missed.push(`layer ${state.layer} (this map has ${layers})`);
    else setValue('#layer-select', state.layer - 1);
    const heads = [...$('#head-select').options].filter((o) => o.value !== 'mean').length;
    if (named.has(KEYS.head) && asked('head') !== 'mean' && String(state.head) !== asked('head')) missed.push(`head=${asked('head')} (not a head number or mean)`);
    else if (state.head !== 'mean' && state.head > heads) missed.push(`head ${state.head} (each layer has ${heads})`);
    else setValue('#head-select', state.head === 'mean' ? 'mean' : state.head - 1);
  }
  const notes = linkNotes();
  if (missed.length) notes.push(`The link asks for ${missed.join(', ')}; the attention map shows what the page picked instead.`);
  // Settings the link wrote in a form no control takes (temperature=hot, beams=0): the controls keep their own.
  if (state.unread.length) notes.push(unreadNote(state));
  if (notes.length) showNote(notes.join(' '));
}

/** What `applyState` found the link asks for and the page lacks (a model, a tokenizer, a language), as sentences. */
function linkNotes() {
  const notes = [...(share.notes ?? [])];
  if (share.missed?.length) notes.push(`The link asks for ${share.missed.join(', ')}, which the page cannot show.`);
  return notes;
}

/** The link's settings written in a form the page cannot take (temperature=hot, beams=0, view=graph): it keeps its own. */
function unreadNote(state) {
  const n = state.unread.length;
  return `The link's ${state.unread.map((u) => u.text).join(', ')} could not be used; the page keeps its own ${n === 1 ? 'value' : 'values'}.`;
}

/** The rollout view's kind and output token, as the link names them (else the view's own defaults). */
function applyRollout(state) {
  const view = $('#rollout-view');
  if (!view) return;
  if (state.rolloutKind) view.setAttribute('kind', state.rolloutKind);
  else view.removeAttribute('kind');
  if (state.rolloutOutput) view.setAttribute('output', String(state.rolloutOutput));
  else view.removeAttribute('output');
}

// ---- the share bar ---------------------------------------------------------------------------------------

function baseUrl() {
  return new URL('./', location.href).href;
}

function buildShareBar() {
  const bar = document.createElement('div');
  bar.id = 'share-bar';
  bar.className = 'button-row share-bar';
  bar.innerHTML = `
    <button type="button" class="secondary" id="copy-link">Copy link</button>
    <button type="button" class="secondary" id="copy-embed" aria-expanded="false" aria-controls="embed-codes">Copy embed code</button>
    <span id="share-status" class="muted" role="status"></span>
    <div id="embed-codes" class="embed-codes" hidden>
      <label for="embed-widget">Custom element (paste into any page)</label>
      <textarea id="embed-widget" rows="3" readonly spellcheck="false"></textarea>
      <button type="button" class="secondary" data-copy="embed-widget">Copy</button>
      <label for="embed-origin">Your site's address, if it will drive the iframe with postMessage (optional)</label>
      <input id="embed-origin" type="url" placeholder="https://blog.example" spellcheck="false" autocomplete="url">
      <label for="embed-iframe">Or an iframe</label>
      <textarea id="embed-iframe" rows="3" readonly spellcheck="false"></textarea>
      <button type="button" class="secondary" data-copy="embed-iframe">Copy</button>
    </div>`;
  (document.querySelector('.page-header') ?? document.body).append(bar);
  $('#copy-link').addEventListener('click', () => { writeHash(); copy(location.href, `Link copied.${textLeftOut()}`); });
  $('#copy-embed').addEventListener('click', () => {
    writeHash();
    const codes = $('#embed-codes');
    codes.hidden = false;
    $('#copy-embed').setAttribute('aria-expanded', 'true');
    if (textTooLongForLink()) {
      // An embed shows its own text: without one it would show nothing worth embedding.
      $('#share-status').textContent = `No embed code: the text is ${charCount($('#text-input').value).toLocaleString('en')} characters, `
        + `more than an embed code carries (${LINK_TEXT_MAX.toLocaleString('en')}). Shorten the text to make one.`;
      return;
    }
    copy($('#embed-widget').value, 'Embed code copied (the custom-element form; the iframe form is below).');
  });
  $('#embed-origin').addEventListener('input', renderShare);
  bar.addEventListener('click', (e) => {
    const target = e.target.closest('[data-copy]');
    if (target) copy($(`#${target.dataset.copy}`).value, 'Copied.');
  });
}

function textTooLongForLink() {
  return tooLongForLink($('#text-input')?.value ?? '');
}

/** What a copied link lacks: the text, when it is longer than LINK_TEXT_MAX ('' otherwise). */
function textLeftOut() {
  if (!textTooLongForLink()) return '';
  const n = charCount($('#text-input').value);
  return ` It leaves the text out: ${n.toLocaleString('en')} characters is more than a link carries (${LINK_TEXT_MAX.toLocaleString('en')}); `
    + 'whoever opens it sees the model and the view, and pastes the text themselves.';
}

function renderShare() {
  if (!$('#embed-widget')) return;
  const state = { ...currentState(), embed: false };
  const none = textTooLongForLink();
  $('#embed-widget').value = none ? '' : widgetEmbedCode(baseUrl(), state);
  $('#embed-iframe').value = none ? '' : iframeEmbedCode(baseUrl(), state, { baseline: baseline(), origin: hostOrigin() });
  for (const id of ['#embed-widget', '#embed-iframe']) {
    $(id).placeholder = none ? `The text is longer than an embed code carries (${LINK_TEXT_MAX.toLocaleString('en')} characters): shorten it to make one.` : '';
  }
}

/** The origin the author typed (`origin=` of the iframe: the page allowed to command it), or null. */
function hostOrigin() {
  const raw = $('#embed-origin')?.value.trim();
  if (!raw) return null;
  try {
    const { origin } = new URL(raw);
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

async function copy(text, message) {
  const status = $('#share-status');
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = message;
  } catch {
    // No clipboard permission (e.g. a file:// page): leave the text selected for Ctrl-C.
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { /* not allowed */ }
    area.remove();
    status.textContent = ok ? message : 'Copying is not allowed here: select the text and press Ctrl-C.';
  }
}

function showNote(message) {
  const status = $('#share-status');
  if (status) status.textContent = message;
}

// ---- wiring ---------------------------------------------------------------------------------------------

async function loadIndex() {
  try {
    const res = await fetch(MODEL_INDEX_URL);
    const body = await res.json();
    share.index = Array.isArray(body) ? body : body.models ?? [];
  } catch {
    share.index = [];
  }
}

function wire() {
  // Which view the reader is working in decides the embed code's widget.
  document.addEventListener('click', (e) => {
    if (share.applying) return;
    if (e.target.closest?.('#run-button')) share.view = 'attention';
    if (e.target.closest?.('#generate-button')) { share.view = 'generate'; share.generate = true; }
    scheduleWrite();
  }, true);
  document.addEventListener('input', (e) => {
    if (share.applying) return;
    if (e.target.id === 'text-input') share.generate = false;
    scheduleWrite();
  }, true);
  document.addEventListener('change', (e) => {
    if (share.applying) return;
    if (e.target.id === 'model-select') share.generate = false;
    if (e.target.closest?.('#real-tokenizers')) share.view = 'tokens';
    scheduleWrite();
  }, true);
  // Runs and generations redraw the controls; write once the page is idle again.
  new MutationObserver(() => { if (idle()) scheduleWrite(); })
    .observe(document.body, { attributes: true, attributeFilter: ['data-status'] });
  // The rollout view's own controls set its attributes (inside its shadow root: no change event reaches here).
  const rollout = $('#rollout-view');
  if (rollout) new MutationObserver(scheduleWrite).observe(rollout, { attributes: true, attributeFilter: ['kind', 'output'] });
  window.addEventListener('hashchange', () => {
    if (share.applying) {
      share.pendingHash = location.hash; // the latest link wins; the one being replayed finishes first
      return;
    }
    if (`#${encodeState(currentState(), baseline())}` !== location.hash) applyState(decodeState(location.hash));
  });
}

async function main() {
  applyChrome(decodeState(location.hash));
  buildShareBar();
  // Replaying from here on: a link that arrives while the index loads waits its turn (wire's hashchange) and
  // the one in the address when the index has come is replayed, so two replays never run side by side.
  share.applying = true;
  wire();
  await loadIndex();
  share.pendingHash = null; // whatever came meanwhile is in the address: replayed now, once
  await applyState(decodeState(location.hash));
}

main();

export { pageLink };

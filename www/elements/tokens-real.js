// <glassbox-tokens tokenizer="gpt2">: the widget's side of views/tokenizer-compare.js. The real tokenizers are
// the folders models/tokenizers/<name>/ beside the bundled models (scripts/setup.sh writes them); the models
// index lists them under `tokenizers`, and without an index the two known names are tried where they would be.
// A site built with the npm packages names them instead: configure({ tokenizers }) with glassbox-models' modules.

import { config, sharedGlassbox } from './base.js';
import { mountTokenizerCompare, realTokenizers } from '../views/tokenizer-compare.js';

const KNOWN_NAMES = ['gpt2', 'bert-base-uncased'];

let listed = null;   // Promise<Array<{ name, path, title?, files? }>>, paths relative to config.modelsBase
let listedFor = null;   // the configure({ tokenizers }) list `listed` was made from

/**
 * The real tokenizers: those given to configure({ tokenizers }), else from index.json when it lists them, else
 * the known names.
 */
function tokenizerChoices() {
  if (config.tokenizers && listedFor !== config.tokenizers) {
    listedFor = config.tokenizers;
    listed = Promise.resolve(realTokenizers({ tokenizers: config.tokenizers }));
  }
  if (!listed) {
    const fallback = KNOWN_NAMES.map((name) => ({ name, path: `tokenizers/${name}/`, files: ['tokenizer.json'] }));
    listed = config.models
      ? Promise.resolve(fallback)
      : fetch(new URL('index.json', config.modelsBase).href)
        .then((res) => (res.ok ? res.json() : {}))
        .then((body) => {
          // index.json paths start with "models/" (relative to the page that serves them), as the models' do.
          const found = realTokenizers(body).map((t) => ({ ...t, path: t.path.replace(/^models\//, '') }));
          return found.length ? found : fallback;
        }, () => fallback);
  }
  return listed;
}

/**
 * The comparison inside one <glassbox-tokens>: `update(entry, tokens, text)` after the model's chips are drawn.
 * The reader's choice goes back into the `tokenizer` attribute (state lives in attributes).
 */
export function mountRealTokenizer(element, root) {
  const compare = mountTokenizerCompare(root, {
    glassbox: sharedGlassbox,
    idPrefix: element._uid,
    base: config.modelsBase,
    onChange: (name) => element.setAttribute('tokenizer', name ?? ''),
  });
  return {
    async update(entry, tokens, text) {
      root.hidden = !element.hasAttribute('tokenizer');
      element._setNotes?.('view', []);
      if (root.hidden) return;
      const choices = await tokenizerChoices();
      compare.setChoices(choices);
      const wanted = element.getAttribute('tokenizer') || null;
      // A name this site has no tokenizer for: said, with the names it has, rather than showing none chosen.
      if (wanted && !choices.some((c) => c.name === wanted)) {
        element._setNotes?.('view', [`tokenizer="${wanted}" is not one of the real tokenizers here (${choices.map((c) => c.name).join(', ')}), so none is chosen.`]);
      }
      compare.choose(wanted);
      compare.update({ info: entry.model.info, tokens, scheme: entry.scheme }, text);
    },
  };
}

// What /models/index.json lists: the model folders and the real tokenizers' folders under a models directory.
// One listing for every writer of that index: scripts/serve.mjs answers it live, scripts/bundle-offline.mjs writes
// it as a static file (and inlines it in the single HTML file), scripts/package.mjs packages the same folders.

import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT_MODELS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'models');

/** The real tokenizers the page knows (www/views/tokenizer-compare.js) and the command that writes them. */
export const REAL_TOKENIZERS = ['gpt2', 'bert-base-uncased'];
export const MAKE_REAL_TOKENIZERS = 'node scripts/make-real-tokenizers.mjs';

/// Which architecture family a config.json describes.
/// Every model_type the crate runs (SUPPORTED_MODEL_TYPES in crate/src/loader/mod.rs; tests/wasm/model-index.test.mjs
/// holds the two lists equal).
export const KIND_OF = {
  gpt2: 'decoder-only', gpt_neo: 'decoder-only', opt: 'decoder-only', bloom: 'decoder-only', gpt_neox: 'decoder-only', llama: 'decoder-only', qwen2: 'decoder-only', qwen3: 'decoder-only', mistral: 'decoder-only',
  gemma: 'decoder-only', gemma2: 'decoder-only', gemma3_text: 'decoder-only', gemma3: 'decoder-only',
  granite: 'decoder-only', olmo2: 'decoder-only', olmo3: 'decoder-only', smollm3: 'decoder-only', phi3: 'decoder-only', stablelm: 'decoder-only', olmo: 'decoder-only', starcoder2: 'decoder-only', cohere: 'decoder-only', phi: 'decoder-only',
  bert: 'encoder-only', electra: 'encoder-only', roberta: 'encoder-only', modernbert: 'encoder-only', albert: 'encoder-only', 'xlm-roberta': 'encoder-only', camembert: 'encoder-only', distilbert: 'encoder-only', mpnet: 'encoder-only', 'deberta-v2': 'encoder-only',
  t5: 'encoder-decoder', mt5: 'encoder-decoder', bart: 'encoder-decoder', marian: 'encoder-decoder', mbart: 'encoder-decoder',
  pegasus: 'encoder-decoder', m2m_100: 'encoder-decoder',
};

function kindOf(config) {
  if (config.is_encoder_decoder === true) return 'encoder-decoder';
  return KIND_OF[String(config.model_type ?? '').toLowerCase()] ?? 'unknown';
}

/// The first Markdown heading of a README (after any YAML front matter), or null.
function readmeTitle(text) {
  const body = text.startsWith('---') ? text.slice(text.indexOf('\n---', 3) + 4) : text;
  const heading = body.split('\n').find((line) => /^#\s+\S/.test(line));
  return heading ? heading.replace(/^#\s+/, '').trim() : null;
}

/**
 * The model folders under `modelsDir` (and `modelsDir/extra`): those holding a config.json.
 * `path` is relative to the page (`models/<name>/`); `files` lists the names in the folder:
 * `loadModel({ baseUrl: path, files })` then requests only files that exist.
 */
export async function listModels(modelsDir, urlPrefix = 'models/') {
  const found = [];
  for (const [sub, extra] of [['', false], ['extra', true]]) {
    let entries;
    try {
      entries = await readdir(join(modelsDir, sub), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
      if (!extra && entry.name === 'extra') continue;
      const folder = join(modelsDir, sub, entry.name);
      let config;
      try {
        config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'));
      } catch {
        continue;
      }
      let title = null;
      try {
        title = readmeTitle(await readFile(join(folder, 'README.md'), 'utf8'));
      } catch { /* no README */ }
      const files = (await readdir(folder)).filter((f) => !f.startsWith('.')).sort();
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      found.push({
        name: entry.name,
        path: `${urlPrefix}${rel.split('/').map(encodeURIComponent).join('/')}/`,
        kind: kindOf(config),
        modelType: config.model_type ?? null,
        title,
        extra,
        files,
      });
    }
  }
  return found;
}

/**
 * The tokenizer-only folders under `modelsDir/tokenizers` (the real GPT-2 and BERT uncased tokenizers that
 * scripts/make-real-tokenizers.mjs writes): those holding a tokenizer.json, as `{ name, path, title, files }`
 * for `loadTokenizer({ baseUrl: path, files })`.
 */
export async function listTokenizers(modelsDir, urlPrefix = 'models/') {
  const found = [];
  let entries;
  try {
    entries = await readdir(join(modelsDir, 'tokenizers'), { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const folder = join(modelsDir, 'tokenizers', entry.name);
    // A folder, or a link to one (a link to a file has no listing).
    const files = entry.isDirectory() || entry.isSymbolicLink()
      ? await readdir(folder).then((names) => names.filter((f) => !f.startsWith('.')).sort(), () => []) : [];
    if (!files.includes('tokenizer.json')) continue;
    const title = await readFile(join(folder, 'README.md'), 'utf8').then(readmeTitle, () => null);
    found.push({ name: entry.name, path: `${urlPrefix}tokenizers/${encodeURIComponent(entry.name)}/`, title, files });
  }
  return found;
}

/** The index the page reads: `{ models, tokenizers }`, paths relative to the page (`models/…`). */
export async function modelsIndex(modelsDir, urlPrefix = 'models/') {
  return { models: await listModels(modelsDir, urlPrefix), tokenizers: await listTokenizers(modelsDir, urlPrefix) };
}

/**
 * One line for a tool's output when some of the real tokenizers are not under `modelsDir/tokenizers/` (null when
 * none is missing): which, and the command that makes them. `found`: listTokenizers' answer.
 */
export function missingTokenizersNote(found, modelsDir) {
  const missing = REAL_TOKENIZERS.filter((name) => !found.some((t) => t.name === name));
  if (!missing.length) return null;
  return `the real tokenizer${missing.length > 1 ? 's' : ''} ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not in `
    + `${join(modelsDir, 'tokenizers')}/, so the page will say ${missing.length > 1 ? 'they are' : 'it is'} not installed. `
    + `Make ${missing.length > 1 ? 'them' : 'it'} with ${MAKE_REAL_TOKENIZERS}${resolve(modelsDir) === DEFAULT_MODELS ? '' : ` --out ${join(modelsDir, 'tokenizers')}`} `
    + "(BERT uncased's needs scripts/setup.sh --minilm first), then run this again";
}

#!/usr/bin/env node
// The npm packages, built from www/ and pkg/ (nothing is published from here; the README says how):
//
//   glassbox          the JS API (`import { Glassbox } from 'glassbox'`), the elements (`import 'glassbox/elements'`),
//                     their TypeScript declarations, the worker, the views, the stylesheet and the wasm
//   glassbox-models   optional: the bundled models, each file a `new URL(…, import.meta.url)` so bundlers copy it,
//                     and the real GPT-2 and BERT uncased tokenizers (glassbox-models/tokenizers/<name>) when
//                     models/tokenizers/ holds them (node scripts/make-real-tokenizers.mjs writes them)
//
//   node scripts/package.mjs                 # dist/npm/glassbox/, dist/npm/glassbox-models/ and their .tgz (npm pack)
//   node scripts/package.mjs --out DIR --models DIR --no-pack
//
// The files keep www/'s layout under lib/ (worker.js finds the wasm glue at ../pkg/), so the package runs the very
// code the page runs. Needs the wasm build (scripts/build-wasm.sh).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listModels, listTokenizers, missingTokenizersNote } from './model-index.mjs';
import { PKG, PKG_FILES, pkgFiles } from './wasm-files.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WWW = path.join(ROOT, 'www');
// The modules the package starts from; everything they import comes along, and the whole elements/ folder.
const ENTRIES = ['glassbox.js', 'glassbox-widgets.js', 'worker.js'];
const EXTRA = ['style.css', 'glassbox.d.ts'];
const MODEL_FILES = ['config.json', 'tokenizer.json', 'model.safetensors', 'tokenizer_config.json', 'special_tokens_map.json',
  'generation_config.json'];
// A real tokenizer's files a page loads (loadTokenizer({ files })), and what travels with them: its credits
// (LICENSE.md, linked from the widget) and its README.md (in the package only).
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
const TOKENIZER_EXTRAS = ['LICENSE.md', 'README.md'];

function die(message) {
  throw new Error(`package: ${message}`);
}

function parseArgs(argv) {
  const opts = { out: path.join(ROOT, 'dist/npm'), models: path.join(ROOT, 'models'), pack: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return path.resolve(argv[++i]);
    };
    if (a === '--out') opts.out = value();
    else if (a === '--models') opts.models = value();
    else if (a === '--no-pack') opts.pack = false;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/package.mjs [--out DIR] [--models DIR] [--no-pack]');
      process.exit(0);
    } else die(`unknown option ${a}. Use --out DIR, --models DIR or --no-pack`);
  }
  return opts;
}

/** `file` (relative to www/) and every module it imports, transitively (static `import … from './x.js'`). */
function moduleGraph(entries) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    const full = path.join(WWW, file);
    if (!fs.existsSync(full)) die(`www/${file} is imported but does not exist`);
    seen.add(file);
    const src = fs.readFileSync(full, 'utf8');
    for (const m of src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm)) {
      const spec = m[1] ?? m[2];
      const dep = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (dep.startsWith('..')) continue; // ../pkg/: copied whole below
      visit(dep);
    }
  };
  entries.forEach(visit);
  return [...seen].sort();
}

/** The custom elements the files define: [tag, class name]. */
function definedElements(files) {
  const out = [];
  for (const f of files) {
    for (const m of fs.readFileSync(path.join(WWW, f), 'utf8').matchAll(/\bdefine\(\s*'(glassbox-[a-z0-9-]+)'\s*,\s*(\w+)/g)) {
      out.push([m[1], m[2]]);
    }
  }
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

function writeJson(file, value) {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

// ---- glassbox -------------------------------------------------------------------------------------

function elementsDts(elements) {
  // The element classes glassbox-widgets.js exports by name (others are reached through customElements.get).
  const widgets = fs.readFileSync(path.join(WWW, 'glassbox-widgets.js'), 'utf8');
  const exported = new Set([...widgets.matchAll(/^export\s*\{([^}]*)\}\s*;?\s*$/gm)].flatMap((m) => m[1].split(',').map((n) => n.trim())));
  return `// The Glassbox custom elements (import 'glassbox/elements'). Written by scripts/package.mjs. Guide: docs/widgets.md.
import type { Glassbox, Model, Tokens } from './glassbox.js';

/** What every Glassbox element has (attributes: model, text, pair, hide, readonly, random-seed, theme, eager). */
export interface GlassboxWidget extends HTMLElement {
  /** The text shown (the reader's edit, else the text attribute). */
  text: string;
  /** An encoder's second text (the pair attribute), read by the attention, predictions and view elements. */
  readonly pair: string | undefined;
  /** Draw again with the current attributes. */
  refresh(): void;
  /** This element as HTML an author can paste. */
  embedCode(): string;
  /** The page state that reproduces this widget (for "Open in Glassbox"). */
  linkState(): Record<string, unknown>;
  /** The tokens widget's last tokenization. */
  tokens?: Tokens;
  /** The attention widget's map: layer and head from 0. */
  shown?: { kind: string; layer: number; head: number | 'mean'; nRows: number; nCols: number };
  /** The generation widget's last result. */
  generated?: { ids: ArrayLike<number>; text: string; stoppedBy?: string };
}

/** A real tokenizer as the glassbox-models package gives it (glassbox-models/tokenizers/<name>): one URL per file. */
export interface PackagedTokenizer {
  name: 'gpt2' | 'bert-base-uncased' | string;
  title: string | null;
  files: Record<string, string>;
}

/** A bundled model as the glassbox-models package lists it: one URL per file. */
export interface PackagedModel {
  name: string;
  kind: 'decoder-only' | 'encoder-only' | 'encoder-decoder' | string;
  modelType: string | null;
  title: string | null;
  files: Record<string, string>;
}

export interface ConfigureOptions {
  /** Where bundled model names are looked up (\`\${modelsBase}index.json\`, \`\${modelsBase}<name>/\`). */
  modelsBase?: string;
  /** The bundled models as a list (glassbox-models' \`models\`), instead of modelsBase. */
  models?: PackagedModel[];
  /** The real tokenizers \`<glassbox-tokens tokenizer="…">\` offers (glassbox-models/tokenizers/<name>), instead of modelsBase. */
  tokenizers?: PackagedTokenizer[];
  /** The stylesheet reused in every shadow root. */
  styleUrl?: string;
  /** The Glassbox page, for the "Open in Glassbox" links (off in the npm package until set; null turns them off). */
  pageUrl?: string | null;
  /** Options for Glassbox.create (workerUrl, pkgUrl, wasm). */
  createOptions?: Record<string, unknown>;
}

/** Change where models, the stylesheet or the page live, before the first widget loads. */
export declare function configure(options: ConfigureOptions): void;
/** What the widgets on this page have asked of the engine. */
export declare const stats: { glassboxes: number; loads: Array<{ model: string; url: string; randomSeed: number | null }>; runs: number; generations: number; frees: number; readonly modelsLoaded: number };
/** The one Glassbox (worker + wasm) every widget on the page uses. */
export declare function sharedGlassbox(): Promise<Glassbox>;
/** The bundled models' list. */
export declare function bundledModels(): Promise<Array<{ name: string; kind: string; modelType: string | null; title: string | null }>>;
/**
 * The model a widget shows, loaded once per page: the same Model object the widgets use. Held for \`holder\` (kept
 * weakly) until releaseModel; left out, held for good; null, not held (it may be freed once no widget shows it).
 */
export declare function sharedModel(spec: string, randomSeed?: number | null, holder?: object | null): Promise<{ model: Model; name: string; key: string }>;
/** Give back one hold of \`entry\`'s model: models nobody holds are freed beyond the two used last. */
export declare function releaseModel(entry: { key: string }, holder: object): void;

${elements.filter(([, cls]) => exported.has(cls)).map(([, cls]) => `export declare const ${cls}: { new (): GlassboxWidget; prototype: GlassboxWidget };`).join('\n')}

declare global {
  interface HTMLElementTagNameMap {
${elements.map(([tag]) => `    '${tag}': GlassboxWidget;`).join('\n')}
  }
}
`;
}

function coreReadme(version, elements) {
  return fs.readFileSync(path.join(ROOT, 'scripts/package-readme.md'), 'utf8')
    .replaceAll('{{version}}', version)
    .replaceAll('{{elements}}', elements.map(([tag]) => `\`<${tag}>\``).join(', '));
}

function writeCore(dir, version) {
  fs.rmSync(dir, { recursive: true, force: true });
  const lib = path.join(dir, 'lib');
  const elementFiles = fs.readdirSync(path.join(WWW, 'elements')).filter((f) => f.endsWith('.js')).map((f) => `elements/${f}`);
  const modules = moduleGraph([...ENTRIES, ...elementFiles]);
  for (const f of [...modules, ...EXTRA]) copy(path.join(WWW, f), path.join(lib, f));
  // The one line the package changes: no Glassbox page lies beside its files, so the widgets' "Open in Glassbox"
  // links are off until the site names one (configure({ pageUrl })).
  const base = path.join(lib, 'elements/base.js');
  const pageUrl = "pageUrl: new URL('index.html', HERE).href,";
  const baseJs = fs.readFileSync(base, 'utf8');
  if (!baseJs.includes(pageUrl)) die(`www/elements/base.js no longer contains ${JSON.stringify(pageUrl)}; update scripts/package.mjs`);
  fs.writeFileSync(base, baseJs.replace(pageUrl, 'pageUrl: null, // npm package: configure({ pageUrl }) turns the links on'));
  for (const f of pkgFiles()) copy(path.join(PKG, f), path.join(dir, 'pkg', f));
  // Data files elements fetch at run time beside the page's files (www/data/), when there are any.
  if (fs.existsSync(path.join(WWW, 'data'))) fs.cpSync(path.join(WWW, 'data'), path.join(lib, 'data'), { recursive: true });
  const elements = definedElements(modules);
  if (!elements.length) die('no element is defined (define(\'glassbox-…\', Class)) in www/');
  fs.writeFileSync(path.join(lib, 'elements.d.ts'), elementsDts(elements));
  writeJson(path.join(dir, 'package.json'), {
    name: 'glassbox',
    version,
    description: 'Look inside transformer models in the browser: custom elements and a JS API over a wasm engine',
    type: 'module',
    license: 'MIT OR Apache-2.0',
    keywords: ['transformer', 'attention', 'wasm', 'web-components', 'visualization', 'teaching'],
    exports: {
      '.': { types: './lib/glassbox.d.ts', default: './lib/glassbox.js' },
      './elements': { types: './lib/elements.d.ts', default: './lib/glassbox-widgets.js' },
      './style.css': './lib/style.css',
      './package.json': './package.json',
    },
    types: './lib/glassbox.d.ts',
    files: ['lib/', 'pkg/', 'README.md'],
    // The elements register themselves when imported; the worker and the wasm are reached through
    // `new URL('…', import.meta.url)`, which bundlers follow.
    sideEffects: ['./lib/glassbox-widgets.js', './lib/elements/*.js'],
  });
  fs.writeFileSync(path.join(dir, 'README.md'), coreReadme(version, elements));
  return { modules: modules.length, elements: elements.map(([t]) => t) };
}

// ---- glassbox-models ------------------------------------------------------------------------------

async function writeModels(dir, version, modelsDir) {
  fs.rmSync(dir, { recursive: true, force: true });
  const list = (await listModels(modelsDir)).filter((m) => !m.extra && m.kind !== 'unknown');
  if (!list.length) die(`no model folders (with a config.json) under ${modelsDir}`);
  const entries = [];
  for (const m of list) {
    const files = MODEL_FILES.filter((f) => fs.existsSync(path.join(modelsDir, m.name, f)));
    for (const need of ['config.json', 'tokenizer.json', 'model.safetensors']) {
      if (!files.includes(need)) die(`${path.join(modelsDir, m.name)} has no ${need}`);
    }
    for (const f of files) copy(path.join(modelsDir, m.name, f), path.join(dir, 'models', m.name, f));
    entries.push({ ...m, files });
  }
  // Each model is a module of its own (`glassbox-models/<name>`), with one literal `new URL('./…', import.meta.url)`
  // per file: a bundler copies exactly the files of the models a site imports.
  for (const m of entries) {
    fs.writeFileSync(path.join(dir, 'models', m.name, 'index.js'), `// ${m.title ?? m.name}: written by scripts/package.mjs.
import { fetchFiles } from '../../fetch-files.js';

const files = {
${m.files.map((f) => `  ${JSON.stringify(f)}: new URL(${JSON.stringify(`./${f}`)}, import.meta.url).href,`).join('\n')}
};

export default {
  name: ${JSON.stringify(m.name)}, kind: ${JSON.stringify(m.kind)}, modelType: ${JSON.stringify(m.modelType)}, title: ${JSON.stringify(m.title)},
  files,
  /** The files as Blobs, for Glassbox's loadModel({ files }). */
  blobs: () => fetchFiles(${JSON.stringify(m.name)}, files),
};
`);
  }
  const tokenizers = await writeTokenizers(dir, modelsDir);
  fs.writeFileSync(path.join(dir, 'fetch-files.js'), `// Written by scripts/package.mjs.
/** \`{ file name: URL }\` of the model \`name\` as \`{ file name: Blob }\`. */
export async function fetchFiles(name, files) {
  const pairs = await Promise.all(Object.entries(files).map(async ([file, url]) => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(\`\${file} of \${name} (\${url}) answered \${res.status}\`);
    return [file, await res.blob()];
  }));
  return Object.fromEntries(pairs);
}
`);
  const js = `// The models bundled with Glassbox, as files a bundler copies. Written by scripts/package.mjs.
//
//   import { configure } from 'glassbox/elements';
//   import gpt2 from 'glassbox-models/glassbox-gpt2';   // one model (only its files are copied)
//   import { models } from 'glassbox-models';           // or all of them
//   configure({ models: [gpt2] });                      // <glassbox-tokens model="glassbox-gpt2"> now finds it
//
//   import { Glassbox } from 'glassbox';
//   const model = await (await Glassbox.create()).loadModel({ files: await gpt2.blobs() });

import { fetchFiles } from './fetch-files.js';
${entries.map((m, i) => `import m${i} from './models/${m.name}/index.js';`).join('\n')}

export const models = [${entries.map((_, i) => `m${i}`).join(', ')}];

/**
 * The files of a bundled model as Blobs, for Glassbox's loadModel({ files }): \`model\` is one of \`models\` (or a
 * per-model import), or its name, or "@" and a type or kind.
 */
export async function modelFiles(model) {
  let entry = model;
  if (typeof model === 'string') {
    const wanted = model.replace(/^@/, '');
    entry = models.find((m) => m.name === model) ?? (model.startsWith('@')
      ? models.find((m) => m.modelType === wanted) ?? models.find((m) => m.kind === wanted) : undefined);
    if (!entry) throw new Error(\`there is no bundled model "\${model}". Use one of: \${models.map((m) => m.name).join(', ')}\`);
  }
  return fetchFiles(entry.name, entry.files);
}
`;
  fs.writeFileSync(path.join(dir, 'index.js'), js);
  fs.writeFileSync(path.join(dir, 'index.d.ts'), `// Written by scripts/package.mjs.
export interface PackagedModel {
  name: string;
  kind: string;
  modelType: string | null;
  title: string | null;
  /** file name -> URL */
  files: Record<string, string>;
  /** The files as Blobs, for Glassbox's loadModel({ files }). */
  blobs(): Promise<Record<string, Blob>>;
}
/** The bundled models: ${entries.map((m) => m.name).join(', ')}. */
export declare const models: PackagedModel[];
/** A bundled model's files as Blobs, for \`glassbox.loadModel({ files })\`: a model entry, or its name. */
export declare function modelFiles(model: PackagedModel | string): Promise<Record<string, Blob>>;
`);
  fs.writeFileSync(path.join(dir, 'model.d.ts'), `// One bundled model (glassbox-models/<name>). Written by scripts/package.mjs.
import type { PackagedModel } from './index.js';
declare const model: PackagedModel;
export default model;
`);
  writeJson(path.join(dir, 'package.json'), {
    name: 'glassbox-models',
    version,
    description: 'The small models bundled with Glassbox (optional; the glassbox package runs models from any URL too)',
    type: 'module',
    license: 'MIT OR Apache-2.0',
    exports: {
      '.': { types: './index.d.ts', default: './index.js' },
      ...Object.fromEntries(entries.map((m) => [`./${m.name}`, { types: './model.d.ts', default: `./models/${m.name}/index.js` }])),
      ...(tokenizers.list.length ? { './tokenizers': { types: './tokenizers/index.d.ts', default: './tokenizers/index.js' } } : {}),
      ...Object.fromEntries(tokenizers.list.map((t) => [`./tokenizers/${t.name}`, { types: './tokenizer.d.ts', default: `./tokenizers/${t.name}/index.js` }])),
      './package.json': './package.json',
    },
    types: './index.d.ts',
    files: ['index.js', 'index.d.ts', 'model.d.ts', 'fetch-files.js', 'models/', 'README.md',
      ...(tokenizers.list.length ? ['tokenizer.d.ts', 'tokenizers/'] : [])],
    sideEffects: false,
  });
  fs.writeFileSync(path.join(dir, 'README.md'), `# glassbox-models ${version}

The small models Glassbox bundles (${entries.map((m) => `\`${m.name}\` (${m.kind})`).join(', ')}), packaged so a bundler
copies their files. Optional: the \`glassbox\` package runs any model named by a folder URL or passed as bytes.

\`\`\`js
import { configure } from 'glassbox/elements';
import gpt2 from 'glassbox-models/glassbox-gpt2';   // one model: only its files are copied into your site
import { models } from 'glassbox-models';           // or all of them
configure({ models: [gpt2] });   // <glassbox-attention model="glassbox-gpt2"> or model="@gpt2" now finds it
\`\`\`

\`\`\`js
import { Glassbox } from 'glassbox';
import gpt2 from 'glassbox-models/glassbox-gpt2';
const gb = await Glassbox.create();
const model = await gb.loadModel({ files: await gpt2.blobs() });   // or modelFiles('glassbox-gpt2') from 'glassbox-models'
\`\`\`

Each model folder keeps its licence and training notes in the Glassbox repository (\`models/<name>/README.md\`).
${tokenizers.list.length ? `
## The real tokenizers

${tokenizers.list.map((t) => `\`glassbox-models/tokenizers/${t.name}\` (${t.title ?? t.name})`).join(' and ')}: the same text cut by a
full-size vocabulary beside a bundled model's small one. Each folder holds its \`LICENSE.md\` (whose vocabulary it is,
under which licence); the widget links to it.

\`\`\`js
import { configure } from 'glassbox/elements';
import gpt2Tokenizer from 'glassbox-models/tokenizers/gpt2';   // only its files are copied
configure({ tokenizers: [gpt2Tokenizer] });   // <glassbox-tokens model="…" tokenizer="gpt2"> now finds it
\`\`\`

\`\`\`js
import { Glassbox } from 'glassbox';
import gpt2Tokenizer from 'glassbox-models/tokenizers/gpt2';
const tokenizer = await (await Glassbox.create()).loadTokenizer({ files: await gpt2Tokenizer.blobs() });
(await tokenizer.tokenize('The quick brown fox')).tokens;   // ['The', 'Ġquick', 'Ġbrown', 'Ġfox']
\`\`\`
` : ''}`);
  return { models: entries.map((m) => m.name), tokenizers: tokenizers.list.map((t) => t.name), missingTokenizers: tokenizers.missing };
}

/**
 * The real tokenizers under `modelsDir/tokenizers/` as modules of their own (`glassbox-models/tokenizers/<name>`,
 * one literal `new URL('./…', import.meta.url)` per file, like the models) and their list
 * (`glassbox-models/tokenizers`, apart from the package's index so importing the models copies no tokenizer).
 * `missing`: a line saying which known ones are absent and how to make them (null when none is).
 */
async function writeTokenizers(dir, modelsDir) {
  const found = await listTokenizers(modelsDir);
  const list = found.map((t) => ({ ...t, files: t.files.filter((f) => TOKENIZER_FILES.includes(f) || TOKENIZER_EXTRAS.includes(f)) }));
  for (const t of list) {
    for (const f of t.files) copy(path.join(modelsDir, 'tokenizers', t.name, f), path.join(dir, 'tokenizers', t.name, f));
    const urls = t.files.filter((f) => f !== 'README.md');   // the README is for people reading the package
    fs.writeFileSync(path.join(dir, 'tokenizers', t.name, 'index.js'), `// ${t.title ?? t.name}: a real tokenizer, written by scripts/package.mjs.
// Credits and licence: LICENSE.md beside this file.
import { fetchFiles } from '../../fetch-files.js';

const files = {
${urls.map((f) => `  ${JSON.stringify(f)}: new URL(${JSON.stringify(`./${f}`)}, import.meta.url).href,`).join('\n')}
};

export default {
  name: ${JSON.stringify(t.name)}, title: ${JSON.stringify(t.title)},
  files,
  /** tokenizer.json (and its configs) as Blobs, for Glassbox's loadTokenizer({ files }). */
  blobs: () => fetchFiles(${JSON.stringify(t.name)}, {
${urls.filter((f) => TOKENIZER_FILES.includes(f)).map((f) => `    ${JSON.stringify(f)}: files[${JSON.stringify(f)}],`).join('\n')}
  }),
};
`);
  }
  if (list.length) {
    fs.writeFileSync(path.join(dir, 'tokenizers', 'index.js'), `// The real tokenizers, as files a bundler copies. Written by scripts/package.mjs.
//
//   import { configure } from 'glassbox/elements';
//   import { tokenizers } from 'glassbox-models/tokenizers';   // all of them (or one: glassbox-models/tokenizers/gpt2)
//   configure({ tokenizers });                                 // <glassbox-tokens tokenizer="gpt2"> now finds it

${list.map((t, i) => `import t${i} from './${t.name}/index.js';`).join('\n')}

export const tokenizers = [${list.map((_, i) => `t${i}`).join(', ')}];
`);
    fs.writeFileSync(path.join(dir, 'tokenizers', 'index.d.ts'), `// Written by scripts/package.mjs.
import type { PackagedTokenizer } from '../tokenizer.js';
/** The real tokenizers: ${list.map((t) => t.name).join(', ')}. */
export declare const tokenizers: PackagedTokenizer[];
`);
    fs.writeFileSync(path.join(dir, 'tokenizer.d.ts'), `// One real tokenizer (glassbox-models/tokenizers/<name>). Written by scripts/package.mjs.
export interface PackagedTokenizer {
  name: string;
  title: string | null;
  /** file name -> URL (tokenizer.json, LICENSE.md) */
  files: Record<string, string>;
  /** tokenizer.json (and its configs) as Blobs, for Glassbox's loadTokenizer({ files }). */
  blobs(): Promise<Record<string, Blob>>;
}
declare const tokenizer: PackagedTokenizer;
export default tokenizer;
`);
  }
  return { list, missing: missingTokenizersNote(found, modelsDir) };
}

// ---- main -----------------------------------------------------------------------------------------

function pack(dir, out) {
  const r = spawnSync('npm', ['pack', '--pack-destination', out, '--json'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) die(`npm pack failed in ${dir}:\n${r.stderr}`);
  const [info] = JSON.parse(r.stdout);
  return { file: path.join(out, info.filename), bytes: info.size, unpacked: info.unpackedSize, files: info.entryCount };
}

export async function buildPackages(opts) {
  for (const f of PKG_FILES) {
    if (!fs.existsSync(path.join(PKG, f))) die(`pkg/${f} is missing. Build the wasm first: scripts/build-wasm.sh`);
  }
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  fs.mkdirSync(opts.out, { recursive: true });
  for (const f of fs.readdirSync(opts.out)) if (f.endsWith('.tgz')) fs.rmSync(path.join(opts.out, f));
  const core = { dir: path.join(opts.out, 'glassbox'), ...writeCore(path.join(opts.out, 'glassbox'), version) };
  const models = { dir: path.join(opts.out, 'glassbox-models'), ...(await writeModels(path.join(opts.out, 'glassbox-models'), version, opts.models)) };
  if (opts.pack) {
    core.tarball = pack(core.dir, opts.out);
    models.tarball = pack(models.dir, opts.out);
  }
  return { version, core, models };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  let r;
  try {
    r = await buildPackages(parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
  const mb = (n) => `${(n / 1048576).toFixed(2)} MB`;
  const rel = (p) => path.relative(process.cwd(), p) || '.';
  console.log(`package: glassbox ${r.version}: ${rel(r.core.dir)} (${r.core.modules} modules; elements ${r.core.elements.join(', ')})`);
  console.log(`package: glassbox-models ${r.version}: ${rel(r.models.dir)} (${r.models.models.join(', ')}; `
    + `real tokenizers: ${r.models.tokenizers.join(', ') || 'none'})`);
  if (r.models.missingTokenizers) console.log(`package: note: ${r.models.missingTokenizers}`);
  for (const p of [r.core, r.models]) {
    if (p.tarball) console.log(`  ${rel(p.tarball.file)}: ${mb(p.tarball.bytes)} packed, ${mb(p.tarball.unpacked)} unpacked, ${p.tarball.files} files`);
  }
}

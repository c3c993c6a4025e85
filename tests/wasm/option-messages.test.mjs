// What the JS API says about mistaken options, as a page author would meet them: the message names the key and
// what it should be in JavaScript's words (a number, an array, an object), never a Rust type (u32, usize,
// "struct QkvRequest"); the options glassbox.js reads itself (create, loadModel, loadTokenizer, generate's
// onToken) are checked by the same rule instead of being ignored or failing later inside a callback.
//
//   scripts/build-wasm.sh && node --test tests/wasm/option-messages.test.mjs

import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FOLDER = join(ROOT, 'models', 'glassbox-gpt2');
const FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const RUST_TYPES = /\b(u8|u16|u32|u64|usize|i32|i64|f32|f64)\b|expected struct|a sequence|Option::|unwrap/;

let Glassbox;
let gb;
let model;

const files = (names = FILES) => Object.fromEntries(names.filter((n) => existsSync(join(FOLDER, n))).map((n) => {
  const b = readFileSync(join(FOLDER, n));
  return [n, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)];
}));

/** The message `promise` rejects with (it must reject). */
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err.message;
  }
  assert.fail('should have been refused');
}

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg', 'glassbox.js')), 'pkg/ is missing. Build the wasm first: scripts/build-wasm.sh');
  ({ Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href));
  gb = await Glassbox.create({ worker: new NodeWorker() });
  model = await gb.loadModel({ files: files() });
});

after(() => gb?.terminate());

test('a value of the wrong type is described in JavaScript words, not Rust types', async () => {
  const cases = [
    [() => model.run('hi', { topK: 'five' }), /^run options: topK: invalid type: string "five", expected a whole number from 0 to 4294967295\. Check/],
    [() => model.run('hi', { topK: -1 }), /^run options: topK: invalid value: integer `-1`, expected a whole number from 0 to 4294967295\./],
    // Too large for 32 bits: the message gives the bound ("0 or more" did not say why 2^32 was refused).
    [() => model.generate('hi', { temperature: 1, topK: 2 ** 32 }).done, /^generate options: topK: invalid value: integer `4294967296`, expected a whole number from 0 to 4294967295\./],
    [() => model.inspect('hi', { qkv: { kind: 'decoder', layer: -1 } }), /^inspect options: qkv\.layer: .*expected a whole number from 0 to 4294967295\./],
    [() => model.inspect('hi', { qkv: 5 }), /^inspect options: qkv: invalid type: integer `5`, expected an object\./],
    [() => model.run('hi', { attention: { kinds: 'decoder' } }), /^run options: attention\.kinds: invalid type: string "decoder", expected an array\./],
    [() => model.generate('hi', { temperature: '0.8' }).done, /^generate options: temperature: invalid type: string "0\.8", expected a number\./],
    [() => model.generate('hi', { seed: 1.5 }).done, /^generate options: seed: .*expected a whole number of 0 or more\./],
    [() => gb.createTrainer({ learningRate: 'fast' }), /^createTrainer options: learningRate: invalid type: string "fast", expected a number\./],
  ];
  for (const [call, want] of cases) {
    const message = await rejection(call());
    assert.match(message, want);
    assert.doesNotMatch(message, RUST_TYPES, `a Rust type name in: ${message}`);
  }
  // Ranges are written as a reader says them, not as Rust's 1..=200.
  const length = await rejection(gb.createTrainer({ length: 500 }));
  // Named in words, not by the CLI's flag (--length), which a widget's reader never typed.
  assert.equal(length, 'the length 500 is outside 1 to 200. Choose a value from 1 to 200');
  assert.equal(await rejection(gb.createTrainer({ weightScale: 500 })), 'the weight scale 500 is not a number above 0 and at most 100. Choose a value such as 1');
  const fit = await rejection(gb.fitLogistic({ dims: 2, classes: 2, trainFeatures: [1, 2, 3], trainLabels: [0] }));
  assert.match(fit, /^3 feature values were given, but 1 labels of 2 dimensions each need 2\. /);
  // A decoder-only model takes no decoder ids: "a decoder-only model" (it said "an"), and the JS option is named.
  const ids = await rejection(model.run('hi', { decoderIds: [1, 2] }));
  assert.match(ids, /this is a decoder-only model; only encoder-decoder models read them\. Leave out the decoder ids \(--decoder-ids, or the decoderIds option\)/);
});

test('the options glassbox.js reads itself are refused by name as well', async () => {
  // A misspelt key used to be ignored: the model loaded in its file's storage, the worker started from the default URL.
  assert.equal(await rejection(gb.loadModel({ files: files() }, { wieghts: 'bf16' })),
    'load options: unknown field `wieghts`, expected one of `onProgress`, `randomSeed`, `weights`, `srcLang`, `signal`. '
    + "Check the option's name and type in docs/js-api.md");
  assert.match(await rejection(gb.loadModel({ files: files() }, { onProgress: 'console.log' })),
    /^load options: onProgress: must be a function, not string\./);
  const spare = new NodeWorker();
  assert.match(await rejection(Glassbox.create({ workerURL: 'worker.js', worker: spare })),
    /^create options: unknown field `workerURL`, expected one of `workerUrl`, `pkgUrl`, `wasm`, `worker`\./);
  spare.terminate();
  assert.match(await rejection(gb.loadTokenizer({ files: files(['tokenizer.json']) }, { prio: 'background' })),
    /^loadTokenizer options: unknown field `prio`, expected one of `priority`\./);
  // Values read here are checked too: a priority of 5 was queued as 'user', a pkgUrl of 5 fetched the URL "5".
  assert.match(await rejection(gb.loadTokenizer({ files: files(['tokenizer.json']) }, { priority: 5 })),
    /^loadTokenizer options: priority: must be "user" or "background", not number 5\./);
  assert.match(await rejection(gb.attentionRollout({ data: new Float32Array(4), shape: [2, 2] }, { priority: 'urgent' })),
    /^attentionRollout options: priority: must be "user" or "background", not "urgent"\./);
  const spare2 = new NodeWorker();
  try {
    assert.match(await rejection(Glassbox.create({ pkgUrl: 5, worker: spare2 })),
      /^create options: pkgUrl: must be a URL \(a string or URL object\), not number 5\./);
    assert.match(await rejection(Glassbox.create({ wasm: { bytes: 1 }, worker: spare2 })),
      /^create options: wasm: must be a URL, the bytes of glassbox_bg\.wasm .*, not an object\./);
    assert.match(await rejection(Glassbox.create({ worker: 'worker.js' })),
      /^create options: worker: must be a Worker \(an object with postMessage\), not "worker\.js"\./);
  } finally {
    spare2.terminate();   // a failed assertion must not leave the worker holding the process open
  }
  // An onToken that is not a function rejected nothing and threw "fn is not a function" from a timer, later.
  const handle = model.generate('hi', { maxNewTokens: 2, onToken: 5 });
  assert.match(await rejection(handle.done), /^generate options: onToken: must be a function, not number\./);
  assert.match(await rejection(handle.started), /onToken: must be a function/);
  // null options are the defaults, and the engine still works after all of the above.
  const again = await gb.loadModel({ files: files() }, null);
  const tokens = [];
  const res = await again.generate('hi', { maxNewTokens: 2, onToken: (t) => tokens.push(t.id) }).done;
  assert.deepEqual(res.ids, tokens);
});

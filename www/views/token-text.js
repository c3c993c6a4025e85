// How a vocabulary string is shown to a person: the bytes it stands for, with whitespace made visible.
// Byte-level BPE (GPT-2, BART) stores every byte as a printable character; SentencePiece marks a word
// start with "▁"; WordPiece marks a word continuation with "##" (kept: it tells the reader something).

const VISIBLE = { ' ': '·', '\n': '↵', '\t': '⇥', '\r': '␍', '\u00a0': '⍽' };

/** Byte-level BPE's alphabet, inverted: printable character -> the byte it encodes. */
const BYTE_OF_CHAR = (() => {
  const map = new Map();
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map.set(String.fromCodePoint(printable ? b : 256 + shifted++), b);
  }
  return map;
})();

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A byte that is not text on its own, written as ⟨E2⟩. */
const hexByte = (b) => `⟨${b.toString(16).toUpperCase().padStart(2, '0')}⟩`;

/**
 * Control characters (other than the whitespace drawn by visibleWhitespace) as hex, so they are never invisible;
 * and the invisible formatting characters as their code points (⟨U+202E⟩): the bidirectional marks, embeddings,
 * overrides and isolates, which would otherwise reorder the text drawn after them (a token's label beside
 * another's, a read-out), the zero-width space and the byte-order mark. The joiners (U+200C, U+200D) stay: they
 * shape emoji and scripts.
 */
function showControls(s) {
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, (c) => hexByte(c.charCodeAt(0)))
    .replace(/[\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g,
      (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

/** Whitespace drawn as visible marks, so " the" and "the" look different. */
export function visibleWhitespace(s) {
  return s.replace(/[ \n\t\r\u00a0]/g, (c) => VISIBLE[c]);
}

function decodeByteLevel(token) {
  const bytes = [];
  for (const ch of token) {
    const b = BYTE_OF_CHAR.get(ch);
    if (b === undefined) return null;
    bytes.push(b);
  }
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    // Part of a multi-byte character whose rest is in the next token: show the raw bytes.
    return bytes.map((b) => (b < 0x80 ? String.fromCharCode(b) : hexByte(b))).join('');
  }
}

/**
 * How a model's vocabulary writes text: 'byte-level' (GPT-2, BART: every byte a printable character) or
 * 'plain' (WordPiece, SentencePiece: the characters themselves). Found by how the tokenizer writes a space.
 */
export function vocabScheme(spaceTokens) {
  return spaceTokens.some((t) => t.includes('Ġ')) ? 'byte-level' : 'plain';
}

/**
 * The text a vocabulary entry stands for, under `scheme` (see vocabScheme).
 * Special tokens ("[CLS]", "</s>") are returned unchanged.
 */
export function tokenText(token, scheme, special = false) {
  if (token == null) return '';
  if (special) return token;
  if (token.includes('▁')) return token.replace(/▁/g, ' ');
  if (scheme === 'byte-level') {
    const decoded = decodeByteLevel(token);
    if (decoded !== null) return decoded;
  }
  return token;
}

/** Short label for a chip or an axis: decoded text with visible whitespace. */
export function tokenLabel(token, scheme, special = false) {
  const text = tokenText(token, scheme, special);
  if (special) return text;
  // A piece that is only spaces (SentencePiece's lone "▁" before a word it spells otherwise, GPT-2's
  // runs of spaces): "·" alone would read as a full stop, so these are drawn as open boxes.
  if (/^ +$/.test(text)) return '␣'.repeat(text.length);
  return showControls(visibleWhitespace(text)) || '∅';
}

/** A label cut to `max` characters with an ellipsis. */
export function truncate(label, max) {
  const chars = Array.from(label);
  return chars.length <= max ? label : chars.slice(0, max - 1).join('') + '…';
}

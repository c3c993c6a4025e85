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

/** Control characters (other than the whitespace drawn by visibleWhitespace) as hex, so they are never invisible. */
function showControls(s) {
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, (c) => hexByte(c.charCodeAt(0)));
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
    // Not whole UTF-8. With a shifted character (code >= 256) it is surely byte-level: part of a multi-byte
    // character whose rest is in the next token, so show the raw bytes. Otherwise it is plain text.
    if (!Array.from(token).some((ch) => ch.codePointAt(0) >= 256)) return null;
    return bytes.map((b) => (b < 0x80 ? String.fromCharCode(b) : hexByte(b))).join('');
  }
}

/**
 * The text a vocabulary entry stands for. `tokenizer` is ModelInfo.tokenizer ('BPE' | 'WordPiece' | 'Unigram').
 * Special tokens ("[CLS]", "</s>") are returned unchanged.
 */
export function tokenText(token, tokenizer, special = false) {
  if (token == null) return '';
  if (special) return token;
  if (token.includes('▁')) return token.replace(/▁/g, ' ');
  if (tokenizer === 'BPE') {
    const decoded = decodeByteLevel(token);
    if (decoded !== null) return decoded;
  }
  return token;
}

/** Short label for a chip or an axis: decoded text with visible whitespace. */
export function tokenLabel(token, tokenizer, special = false) {
  const text = tokenText(token, tokenizer, special);
  return special ? text : showControls(visibleWhitespace(text)) || '∅';
}

/** A label cut to `max` characters with an ellipsis. */
export function truncate(label, max) {
  const chars = Array.from(label);
  return chars.length <= max ? label : chars.slice(0, max - 1).join('') + '…';
}

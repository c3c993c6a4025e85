// The text box's highlight: a backdrop behind the (transparent) textarea holding the same text, with the
// span of the hovered or focused token marked. Offsets are UTF-16 code units, as JS strings index.

/**
 * Texts longer than this get no highlight: laying the backdrop's copy out again costs about 0.3 ms per
 * thousand characters (3 s for 10 MB, on every hover), and the model reads only the start of such a text.
 */
export const HIGHLIGHT_MAX_CHARS = 200_000;

/**
 * The backdrop behind the textarea: the same text, transparent, with the highlighted span marked.
 * It must wrap exactly like the textarea (same font, padding, width; see .text-backdrop in style.css).
 * With no span the copy would be invisible, so the backdrop stays empty: typing does not lay the text out twice.
 */
export function renderTextHighlight(backdrop, text, span) {
  backdrop.replaceChildren();
  if (!span || text.length > HIGHLIGHT_MAX_CHARS) return;
  const [start, end] = span;
  const mark = document.createElement('mark');
  mark.textContent = text.slice(start, end);
  backdrop.append(text.slice(0, start), mark, text.slice(end) + '\n');
}

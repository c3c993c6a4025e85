// The text box's highlight: a backdrop behind the (transparent) textarea holding the same text, with the
// span of the hovered or focused token marked. Offsets are UTF-16 code units, as JS strings index.

/**
 * The backdrop behind the textarea: the same text, transparent, with the highlighted span marked.
 * It must wrap exactly like the textarea (same font, padding, width; see .text-backdrop in style.css).
 */
export function renderTextHighlight(backdrop, text, span) {
  backdrop.replaceChildren();
  if (!span) {
    backdrop.append(text + '\n');
    return;
  }
  const [start, end] = span;
  const mark = document.createElement('mark');
  mark.textContent = text.slice(start, end);
  backdrop.append(text.slice(0, start), mark, text.slice(end) + '\n');
}

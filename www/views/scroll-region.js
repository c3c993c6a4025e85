// A box that scrolls a wide table sideways (the lens grid, the Q/K/V rows, the candidates, ...). While its
// content is wider than the box, the box joins the tab order and is named as a region, so a keyboard user can
// reach it and scroll it with the arrow keys (WCAG 2.1.1; axe's scrollable-region-focusable); while it fits, it
// is a plain box and adds no tab stop.

/**
 * @param {Node} content  what scrolls (a table)
 * @param {string} label  the region's name for assistive technology ("logit lens table", ...)
 * @returns {HTMLDivElement}
 */
export function scrollRegion(content, label) {
  const box = document.createElement('div');
  box.className = 'qkv-scroll';
  box.append(content);
  const update = () => {
    if (box.scrollWidth > box.clientWidth + 1) {
      box.tabIndex = 0;
      box.setAttribute('role', 'region');
      box.setAttribute('aria-label', label);
    } else {
      box.removeAttribute('tabindex');
      box.removeAttribute('role');
      box.removeAttribute('aria-label');
    }
  };
  // Layout decides: the box's width changes with the window, its content with the run.
  if (typeof ResizeObserver === 'function') {
    const watch = new ResizeObserver(update);
    watch.observe(box);
    watch.observe(content);
  }
  return box;
}

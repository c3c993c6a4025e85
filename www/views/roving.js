// One tab stop for a row of items (chips, generated tokens); the arrow keys move between them.
// Installed once per container; items are the container's children carrying `data-index`.

const installed = new WeakSet();

/** The focused element as seen from `el`'s tree (the page, or a widget's shadow root). */
export function activeIn(el) {
  return el.getRootNode().activeElement ?? null;
}

export function installRoving(container, { onFocusItem, onActivate } = {}) {
  if (installed.has(container)) return;
  installed.add(container);
  const items = () => Array.from(container.querySelectorAll('[data-index]'));
  container.addEventListener('keydown', (e) => {
    const list = items();
    const at = list.indexOf(e.target.closest?.('[data-index]'));
    if (at < 0) return;
    let next = at;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = Math.min(list.length - 1, at + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = Math.max(0, at - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = list.length - 1;
    else if ((e.key === 'Enter' || e.key === ' ') && onActivate) {
      e.preventDefault();
      onActivate(Number(list[at].dataset.index));
      return;
    } else return;
    e.preventDefault();
    focusItem(container, next);
  });
  container.addEventListener('focusin', (e) => {
    const item = e.target.closest('[data-index]');
    if (item && onFocusItem) onFocusItem(Number(item.dataset.index));
  });
  container.addEventListener('focusout', (e) => {
    if (!container.contains(e.relatedTarget) && onFocusItem) onFocusItem(null);
  });
}

/** Make item `index` the one tab stop (and focus it). */
export function focusItem(container, index, focus = true) {
  const list = Array.from(container.querySelectorAll('[data-index]'));
  list.forEach((el, i) => { el.tabIndex = i === index ? 0 : -1; });
  if (focus && list[index]) list[index].focus();
}

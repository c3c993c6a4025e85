// Small control builders shared by the views: a segmented switch made of radio buttons (keyboard
// behaviour for free) and a select filled from a list.

/**
 * @param {HTMLFieldSetElement} fieldset  keeps its <legend>
 * @param {string} name                   radio group name (unique in the page)
 * @param {Array<{value: string, label: string}>} options
 * @param {string} selected
 * @param {(value: string) => void} onChange
 */
export function renderSegmented(fieldset, name, options, selected, onChange) {
  fieldset.querySelectorAll('label').forEach((l) => l.remove());
  fieldset.onchange = (e) => { if (e.target.name === name) onChange(e.target.value); };
  for (const o of options) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = name;
    input.value = o.value;
    input.checked = o.value === selected;
    const span = document.createElement('span');
    span.textContent = o.label;
    label.append(input, span);
    fieldset.append(label);
  }
  fieldset.hidden = options.length < 2;
}

/** Replace a select's options; keeps `value` when it is still offered. */
export function renderSelect(select, options, value) {
  select.replaceChildren(...options.map((o) => new Option(o.label, o.value)));
  const values = options.map((o) => o.value);
  select.value = values.includes(String(value)) ? String(value) : values[0] ?? '';
  return select.value;
}

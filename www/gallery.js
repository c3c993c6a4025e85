// The widget gallery (widgets.html): each example's live widget is made from the markup in the code block under it,
// so what a reader copies is exactly what runs above it. The Copy buttons put a code block's text on the clipboard
// (or, where the browser refuses, select it for Ctrl-C / Cmd-C).

/** The script tag's address: this server's own copy of the widgets, so the copied tag works from another page. */
function fillScriptAddress() {
  const code = document.getElementById('script-code');
  if (!code || !location.protocol.startsWith('http')) return;
  const src = new URL('glassbox-widgets.js', location.href).href;
  code.textContent = `<script type="module" src="${src}"></script>`;
}

/** Each `.gallery-live[data-example]` gets the elements its code block describes. */
function mountExamples() {
  for (const live of document.querySelectorAll('.gallery-live[data-example]')) {
    const code = document.getElementById(live.dataset.example);
    if (!code) continue;
    const template = document.createElement('template');
    template.innerHTML = code.textContent;
    live.replaceChildren(template.content);
  }
}

function selectText(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

async function copy(button) {
  const code = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector('.copy-status');
  if (!code) return;
  try {
    await navigator.clipboard.writeText(code.textContent);
    status.textContent = 'Copied.';
  } catch {
    selectText(code);
    status.textContent = 'The browser did not allow copying: the markup is selected, press Ctrl-C (Cmd-C on a Mac).';
  }
  clearTimeout(button._statusTimer);
  button._statusTimer = setTimeout(() => { status.textContent = ''; }, 4000);
}

fillScriptAddress();
mountExamples();
for (const button of document.querySelectorAll('button.copy[data-copy]')) {
  button.addEventListener('click', () => copy(button));
}

// The copy-paste examples of a Markdown guide: each fenced code block right after a `<!-- example: NAME -->`
// line, as written, with only the placeholder addresses replaced. The browser tests run them (docs/widgets.md).

import fs from 'node:fs';

/**
 * `[{ name, lang, code }]` for every marked block of `file`. `replace` maps placeholder strings to the test's own
 * (longest first, so "https://your.site/glassbox" wins over "https://your.site").
 */
export function docExamples(file, replace = {}) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  const re = /^<!-- example: ([\w-]+) -->\n```(\w*)\n([\s\S]*?)^```$/gm;
  const keys = Object.keys(replace).sort((a, b) => b.length - a.length);
  for (const m of text.matchAll(re)) {
    let code = m[3];
    for (const k of keys) code = code.split(k).join(replace[k]);
    out.push({ name: m[1], lang: m[2], code });
  }
  return out;
}

/** The example called `name`, or an error naming the file and the marker to add. */
export function docExample(examples, name, file = 'docs/widgets.md') {
  const hit = examples.find((e) => e.name === name);
  if (!hit) throw new Error(`${file} has no example marked <!-- example: ${name} --> followed by a fenced block`);
  return hit;
}

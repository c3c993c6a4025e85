// How long one keystroke takes in the page's text box holding a very long text, in headless Chromium: the time from
// a key press to the next frame, three presses, after the text is set. Serve the page first (scripts/serve.sh, or
// `PORT=8093 node scripts/serve.mjs`), then:
//
//   node bench/long-text-typing.mjs [URL] [CHARACTERS]        (default http://127.0.0.1:8080/ and 10,000,000)
//
// Also prints the same measure for a bare <textarea> with that text, the browser's own cost, and the size note
// the page shows. 2026-12-07: 10 MB text, 8.9-9.7 s per key before 325f9d2 (a copy of the text laid out behind the
// box and the whole text written into the address on every keystroke), 0.56-0.80 s after; the bare textarea
// 0.40-0.47 s. Asserts nothing.

import { chromium } from 'playwright-core';

const url = process.argv[2] ?? 'http://127.0.0.1:8080/';
const size = Number(process.argv[3] ?? 10_000_000);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });

async function keystrokes(page, selector) {
  await page.evaluate(([sel, n]) => {
    const box = document.querySelector(sel);
    const words = 'the quick brown fox jumps over the lazy dog ';
    box.value = words.repeat(Math.ceil(n / words.length)).slice(0, n);
    box.dispatchEvent(new Event('input', { bubbles: true }));
  }, [selector, size]);
  await page.focus(selector);
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await page.keyboard.type('x');
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
    times.push(Math.round(performance.now() - t));
  }
  return times;
}

const page = await browser.newPage();
await page.goto(url);
await page.waitForFunction(() => document.body.dataset.status === 'idle', null, { timeout: 120000 });
const pageTimes = await keystrokes(page, '#text-input');
const note = await page.$eval('#text-size-note', (e) => (e.hidden ? '(none)' : e.textContent));
const bare = await browser.newPage();
await bare.setContent('<textarea id="t" rows="10" cols="80" spellcheck="false"></textarea>');
const bareTimes = await keystrokes(bare, '#t');
console.log(`${size.toLocaleString('en')} characters: the page ${pageTimes.join(', ')} ms per key; a bare textarea ${bareTimes.join(', ')} ms`);
console.log(`size note: ${note}`);
await browser.close();

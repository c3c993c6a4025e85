import { launchBrowser, newWatchedPage, waitIdle, canvasInk, foreignRequests } from './helpers.mjs';
const url = 'http://127.0.0.1:8099/';
const { browser, close } = await launchBrowser();
const { page, context, watch } = await newWatchedPage(browser, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
await page.goto(url);
await page.waitForFunction(() => document.body.dataset.ready === 'true');
const seen = [];
for (let i = 0; i < 8; i++) { await page.keyboard.press('Tab'); seen.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName)); }
console.log(seen.join(' → '));
await page.keyboard.press('Enter');
await waitIdle(page);
const order = [];
for (let i = 0; i < 12; i++) { await page.keyboard.press('Tab'); order.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className)); }
console.log(order.join(' → '));
console.log(await page.evaluate(() => document.documentElement.scrollWidth - innerWidth));
console.log(await canvasInk(page, '#heatmap canvas'));
console.log(await page.$eval('#heatmap canvas', (c) => c.width / c.getBoundingClientRect().width));
await page.setInputFiles('#files-input', [{ name: 'config.json', mimeType: 'application/json', buffer: Buffer.from('{}') }, { name: 'tokenizer.json', mimeType: 'application/json', buffer: Buffer.from('{}') }, { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('abc') }]);
await waitIdle(page); await page.waitForTimeout(300);
console.log('error:', await page.$eval('#model-error', (e) => e.hidden ? '' : e.textContent));
console.log(watch.errors, foreignRequests(watch.requests), watch.requests.length);
await context.close(); await close();

import { launchBrowser, newWatchedPage, waitIdle, startServer, modelsUnderTest, pickModel } from './helpers.mjs';
const m = modelsUnderTest(); const srv = await startServer(m.root);
const { browser, close } = await launchBrowser();
const { page, context, watch } = await newWatchedPage(browser); page.on('console', (m) => console.log('page:', m.text())); page.on('worker', (w) => w.on('console', (m) => console.log('worker:', m.text())));
await page.goto(srv.url);
await page.waitForFunction(() => document.body.dataset.ready === 'true');
await pickModel(page, process.argv[2] ?? 'gpt2');
await page.fill('#max-tokens', '200');
await page.fill('#temperature', '1');
await page.evaluate(() => {
  const observer = new MutationObserver(() => {
    if (document.querySelector('#generated .gen-token')) { observer.disconnect(); window.__clickAt = performance.now(); window.__disabled = document.querySelector('#stop-button').disabled; document.querySelector('#stop-button').click(); }
  });
  observer.observe(document.querySelector('#generated'), { childList: true, subtree: true });
});
await page.click('#generate-button');
await page.waitForTimeout(3000);
const ev = await page.evaluate(() => window.__glassbox.events());
const t0 = ev.find(e => e.type==='token')?.at;
console.log(await page.evaluate(() => window.__disabled)); console.log(ev.filter(e=>e.type!=='loaded').map(e => `${e.type} ${(e.at - t0).toFixed(1)}`).join('\n'), 'click', (await page.evaluate(() => window.__clickAt)) - t0);
await context.close(); await close(); await srv.stop();

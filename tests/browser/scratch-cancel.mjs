import { launchBrowser, newWatchedPage, startServer, modelsUnderTest } from './helpers.mjs';
const m = modelsUnderTest(); const srv = await startServer(m.root);
const { browser, close } = await launchBrowser();
const { page, context, watch } = await newWatchedPage(browser);
page.on('console', (msg) => console.log('page:', msg.text()));
await page.goto(srv.url + 'index.html');
const r = await page.evaluate(async () => {
  const { Glassbox } = await import('/glassbox.js');
  const gb = await Glassbox.create();
  const model = await gb.loadModel({ baseUrl: 'models/gpt2/' , files: ['config.json','model.safetensors','tokenizer.json','tokenizer_config.json']});
  let h; const steps = [];
  h = model.generate('Once upon', { maxNewTokens: 50, temperature: 1, onToken: (t) => { steps.push(t.step); if (t.step === 0) h.cancel(); } });
  const d = await h.done;
  return { steps, stoppedBy: d.stoppedBy };
});
console.log(r);
await context.close(); await close(); await srv.stop();

// Runs www/worker.js inside a Node worker thread, for tests: the few browser globals the worker
// uses (self, addEventListener, postMessage, fetch of file: URLs for the wasm) mapped onto Node.
import { parentPort, workerData } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';

const networkFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (url.protocol !== 'file:') return networkFetch(input, init);
  const type = url.pathname.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
  return new Response(await readFile(url), { headers: { 'Content-Type': type } });
};
globalThis.self = globalThis;
self.addEventListener = (type, listener) => {
  if (type === 'message') parentPort.on('message', (data) => listener({ data }));
};
self.postMessage = (message, transfer) => parentPort.postMessage(message, transfer);

await import(workerData.workerUrl);

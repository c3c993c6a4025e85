// A Node worker thread dressed as a Web Worker, so glassbox.js drives www/worker.js in Node exactly as the
// page does (each NodeWorker: its own thread and wasm instance). Used by the tests of the JS API.

import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export class NodeWorker {
  constructor() {
    this.thread = new Worker(new URL('./worker-shim.mjs', import.meta.url), {
      workerData: { workerUrl: pathToFileURL(join(ROOT, 'www', 'worker.js')).href },
    });
  }
  postMessage(message, transfer) {
    this.thread.postMessage(message, transfer);
  }
  addEventListener(type, listener) {
    if (type === 'message') this.thread.on('message', (data) => listener({ data }));
    if (type === 'error') this.thread.on('error', (err) => listener({ message: err.message }));
    if (type === 'messageerror') this.thread.on('messageerror', (err) => listener({ message: String(err) }));
  }
  terminate() {
    this.thread.terminate();
  }
}

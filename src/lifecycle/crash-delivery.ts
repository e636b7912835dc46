// Sends the last export requests of a crashing process while the process is still inside Node's
// uncaught-exception path. That path is synchronous: after the 'uncaughtExceptionMonitor'
// listeners return, Node prints the error (its source line, caret and stack, computed from where
// the error was thrown) and exits. Letting the error go there untouched is the only way the crash
// reads exactly as it would without otelkit; rethrowing it later, after an asynchronous flush,
// made Node point at otelkit's bundle. So the requests are sent by a worker thread, with its own
// event loop, while this thread waits on an Atomics flag, within the shutdown bound.
import type { OtlpRequest } from '../export/pending-requests';

// The worker: plain node:http(s), one POST a request, all at once; the flag says when every one has
// an answer or an error. It writes nothing (its output would go through the waiting thread).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.flag);
const deadline = Date.now() + workerData.timeoutMs;
let left = workerData.requests.length;
const settled = () => {
  if (--left > 0) return;
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
};
if (left === 0) { left = 1; settled(); }
for (const r of workerData.requests) {
  let done = false;
  const once = () => { if (!done) { done = true; settled(); } };
  try {
    const url = new URL(r.url);
    const client = require(url.protocol === 'https:' ? 'node:https' : 'node:http');
    let body = Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
    const headers = { ...r.headers };
    if (r.gzip) { body = require('node:zlib').gzipSync(body); headers['Content-Encoding'] = 'gzip'; }
    headers['Content-Length'] = String(body.length);
    const req = client.request(url, { method: 'POST', headers, timeout: Math.max(1, deadline - Date.now()) }, (res) => {
      res.on('data', () => {});
      res.on('end', once);
      res.on('error', once);
    });
    req.on('timeout', () => { req.destroy(); once(); });
    req.on('error', once);
    req.end(body);
  } catch {
    once();
  }
}
`;

/**
 * Sends the requests and returns when each has an answer, or after `timeoutMs`. Blocks the
 * calling thread: only for a process about to exit. Never throws.
 */
export function deliverBeforeExit(requests: OtlpRequest[], timeoutMs: number): void {
  if (requests.length === 0 || timeoutMs <= 0) return;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { requests, flag: flag.buffer, timeoutMs },
      // No preload in the worker (otelkit's, from the command line or NODE_OPTIONS).
      execArgv: [],
      stdout: true,
      stderr: true,
    });
    worker.on('error', () => {});
    Atomics.wait(flag, 0, 0, timeoutMs);
    void worker.terminate();
  } catch {
    // No worker threads (or no memory for one): the crash goes on without the last export.
  }
}

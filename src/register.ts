// The preload: `node --require otelkit/register app.js` (and, through register.mjs,
// `node --import otelkit/register app.js`). Starts the SDK before the application loads.
// Worker threads inherit preloads; only the main thread runs the SDK.
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  try {
    // Loaded only now so that a worker thread pays nothing.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('./main') as typeof import('./main')).start({ esm: true });
  } catch (err) {
    // start() never throws; this is a broken installation. The application runs regardless.
    process.stderr.write(`otelkit: could not load (${err instanceof Error ? err.message : String(err)}); the application runs uninstrumented\n`);
  }
}

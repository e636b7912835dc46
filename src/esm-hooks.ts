// Registers the import-in-the-middle loader so ESM imports of instrumented modules can be
// patched. It must happen in the preload, before the application's first import; the loader
// runs on its own thread, so it is registered only when the application is ESM (config.entryIsEsm).
import { pathToFileURL } from 'node:url';
import * as nodeModule from 'node:module';
import { reportOnce } from './diag';

export function registerEsmLoader(include: string[]): boolean {
  const register = (nodeModule as { register?: (specifier: string, parentURL: string, options?: unknown) => void }).register;
  if (typeof register !== 'function') {
    reportOnce('esm-register', `module.register is not available in Node ${process.version}; ESM imports are not instrumented (Node 20.6 or newer is needed)`);
    return false;
  }
  try {
    register('import-in-the-middle/hook.mjs', pathToFileURL(__filename).href, { data: { include } });
    return true;
  } catch (err) {
    reportOnce('esm-register', 'registering the ESM loader hook failed; ESM imports are not instrumented', err);
    return false;
  }
}

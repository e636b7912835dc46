// Registers the import-in-the-middle loader so ESM imports of instrumented modules can be
// patched. It must happen in the preload, before the application's first import; the loader
// runs on its own thread, so it is registered only when the application is ESM.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as nodeModule from 'node:module';
import { reportOnce } from './diag';

/** Whether the entry script will be loaded as an ES module. */
export function entryIsEsm(mainScript: string | undefined): boolean {
  if (!mainScript) return true; // -e, REPL, stdin: unknown, so be safe
  const ext = path.extname(mainScript);
  if (ext === '.mjs' || ext === '.mts') return true;
  if (ext === '.cjs' || ext === '.cts') return false;
  let dir = path.dirname(path.resolve(mainScript));
  for (let i = 0; i < 30; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { type?: unknown };
      return pkg.type === 'module';
    } catch {
      // keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
  return false;
}

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

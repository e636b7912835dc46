// The application's side of the configuration: the directory its packages resolve from, its
// package.json (service name and version defaults) and whether its entry script is an ES module.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadContext } from './types';

export function entryDir(ctx: LoadContext): string {
  return ctx.mainScript ? path.dirname(path.resolve(ctx.mainScript)) : (ctx.cwd ?? process.cwd());
}

/** The application's package.json (name, version, module type), found upwards from its entry script. */
export function findAppPackage(ctx: LoadContext): { name?: string; version?: string; type?: string; dir?: string } {
  let dir = entryDir(ctx);
  for (let i = 0; i < 20; i++) {
    const file = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown; type?: unknown };
      return {
        name: typeof pkg.name === 'string' && pkg.name ? pkg.name : undefined,
        version: typeof pkg.version === 'string' && pkg.version ? pkg.version : undefined,
        type: typeof pkg.type === 'string' ? pkg.type : undefined,
        dir,
      };
    } catch {
      // no (readable) package.json here: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return {};
}

/** Whether the entry script loads as an ES module (which decides whether the ESM loader hook is needed). */
export function entryIsEsm(mainScript: string | undefined, pkgType: string | undefined): boolean {
  if (!mainScript) return true; // -e, REPL, stdin: unknown, so be safe
  const ext = path.extname(mainScript);
  if (ext === '.mjs' || ext === '.mts') return true;
  if (ext === '.cjs' || ext === '.cts') return false;
  return pkgType === 'module';
}

// Which instrumented packages an ES module application would load as real ES modules.
//
// An `import` of a CommonJS package still runs it through the CommonJS loader, where the
// require hooks see it (esm-hooks.ts bridges that load). Only a package whose `import` entry is
// ES module code of its own needs the import-in-the-middle loader (on Node 20 and older 22/24 a
// thread of its own, about 10 MiB of RSS; in-thread hooks on newer lines, esm-hooks.ts). An ES
// module entry that only re-exports the package's CommonJS build (pg and pg-pool ship one)
// counts as CommonJS: the build it imports is what gets patched.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface PackageJson {
  type?: unknown;
  main?: unknown;
  exports?: unknown;
}

// Node 20's conditions for `import`, in the order a package's own keys are matched against.
const IMPORT_CONDITIONS = new Set(['node', 'import', 'module-sync', 'default']);

function readJson(file: string): PackageJson | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The installed package directory that Node's resolution from `fromDir` would find. */
function findPackageDir(name: string, fromDir: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (fs.statSync(path.join(candidate, 'package.json'), { throwIfNoEntry: false })?.isFile()) return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function conditionalTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = conditionalTarget(v);
      if (t !== undefined) return t;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, v] of Object.entries(value)) {
    if (!IMPORT_CONDITIONS.has(key)) continue;
    const t = conditionalTarget(v);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** The file an `import` of the package's root loads, relative to its directory. */
function importEntry(pkg: PackageJson, dir: string): string | undefined {
  const { exports } = pkg;
  if (exports !== undefined && exports !== null) {
    const isSubpathMap = typeof exports === 'object' && !Array.isArray(exports) && Object.keys(exports).some((k) => k.startsWith('.'));
    return conditionalTarget(isSubpathMap ? (exports as Record<string, unknown>)['.'] : exports);
  }
  const main = typeof pkg.main === 'string' && pkg.main !== '' ? pkg.main : 'index.js';
  for (const candidate of [main, `${main}.js`, path.join(main, 'index.js')]) {
    if (fs.statSync(path.join(dir, candidate), { throwIfNoEntry: false })?.isFile()) return candidate;
  }
  return undefined;
}

/** The `type` of the nearest package.json at or above `file`, not looking above `root`. */
function moduleType(file: string, root: string): unknown {
  let dir = path.dirname(file);
  for (;;) {
    const pkg = readJson(path.join(dir, 'package.json'));
    if (pkg) return pkg.type;
    if (dir === root || dir.length <= root.length) return undefined;
    dir = path.dirname(dir);
  }
}

function isEsmFile(file: string, root: string): boolean {
  const ext = path.extname(file);
  if (ext === '.mjs') return true;
  if (ext === '.cjs' || ext === '.json' || ext === '.node') return false;
  return moduleType(file, root) === 'module';
}

const IMPORT_SPECIFIER = /\b(?:from|import)\s*['"]([^'"]+)['"]/g;

/** An ES module entry whose every import is a relative CommonJS file of the same package. */
function reExportsCommonJs(file: string, root: string): boolean {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  if (source.includes('import(')) return false;
  const specifiers = [...source.matchAll(IMPORT_SPECIFIER)].map((m) => m[1]);
  return specifiers.length > 0 && specifiers.every((s) => {
    if (!s.startsWith('./') && !s.startsWith('../')) return false;
    const target = path.resolve(path.dirname(file), s);
    return target.startsWith(root + path.sep) && fs.statSync(target, { throwIfNoEntry: false })?.isFile() === true && !isEsmFile(target, root);
  });
}

/**
 * The first of `names` (package names) that is installed where the application would find it
 * and loads as ES module code under `import`; undefined when all of them load as CommonJS or are
 * not installed.
 */
export function firstEsmPackage(names: readonly string[], fromDir: string): string | undefined {
  for (const name of names) {
    const dir = findPackageDir(name, fromDir);
    if (!dir) continue;
    const pkg = readJson(path.join(dir, 'package.json'));
    if (!pkg) continue;
    const entry = importEntry(pkg, dir);
    if (entry === undefined) continue;
    const file = path.resolve(dir, entry);
    if (isEsmFile(file, dir) && !reExportsCommonJs(file, dir)) return name;
  }
  return undefined;
}

// Loads the bundle with a V8 code cache. Node 20 has no module compile cache (22.1 added one),
// and compiling the bundle's functions is most of what is left of otelkit's start-up: the
// cache, written once after the first start, roughly halves it. The cache lives in a
// directory only this user can write; V8 rejects a cache that does not match the source, and
// any failure falls back to plain compilation.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import Module = require('node:module'); // eslint-disable-line @typescript-eslint/no-require-imports -- the Module class (wrap, _nodeModulePaths)

interface Pending {
  script: vm.Script;
  file: string;
}
let pending: Pending | undefined;

function cacheFileFor(file: string, stat: fs.Stats): string | undefined {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = path.join(os.tmpdir(), `otelkit-code-cache-${uid}`);
  try {
    // Made once; every later start only reads its status.
    let d = fs.statSync(dir, { throwIfNoEntry: false });
    if (!d) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      d = fs.statSync(dir);
    }
    // Someone else's directory (or one others can write) could hold a planted cache.
    if (d.uid !== uid || (d.mode & 0o022) !== 0) return undefined;
  } catch {
    return undefined;
  }
  const key = `${process.version}-${process.arch}-${stat.size}-${Math.trunc(stat.mtimeMs)}-${file}`.replace(/[^a-zA-Z0-9.-]/g, '_');
  return path.join(dir, `${key}.bin`);
}

type ModuleInternals = typeof Module & {
  wrap(src: string): string;
  _nodeModulePaths(dir: string): string[];
};

/** Requires `file` (a CommonJS bundle) through a cached compilation; undefined if it is missing. */
export function requireWithCodeCache(file: string, parent: NodeJS.Module): unknown {
  let source: string;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const cached = require.cache[file];
  if (cached) return cached.exports;
  const M = Module as ModuleInternals;
  const cacheFile = cacheFileFor(file, stat);
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      // first start: no cache yet
    }
  }
  const script = new vm.Script(M.wrap(source), { filename: file, cachedData });
  const mod = new Module(file, parent);
  mod.filename = file;
  mod.paths = M._nodeModulePaths(path.dirname(file));
  // Registered before running, as require does, so that the bundle's own requires of itself
  // and of main.js see one instance.
  require.cache[file] = mod;
  const fn = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: NodeJS.Module, f: string, d: string) => void;
  const req = ((id: string) => mod.require(id)) as NodeJS.Require;
  req.resolve = ((request: string, options?: { paths?: string[] }) =>
    (Module as unknown as { _resolveFilename(r: string, p: NodeJS.Module, m: boolean, o?: unknown): string })._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  req.cache = require.cache;
  req.main = require.main;
  fn.call(mod.exports, mod.exports, req, mod, file, path.dirname(file));
  mod.loaded = true;
  if (cacheFile && (!cachedData || script.cachedDataRejected)) pending = { script, file: cacheFile };
  return mod.exports;
}

/**
 * Writes the code cache if this process compiled the bundle without one. Called after start()
 * so that the functions start-up ran are in the cache too.
 */
export function persistCodeCache(): void {
  const p = pending;
  pending = undefined;
  if (!p) return;
  try {
    const tmp = `${p.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, p.script.createCachedData(), { mode: 0o600 });
    fs.renameSync(tmp, p.file);
  } catch {
    // a read-only or full temp directory only costs the next start its speed-up
  }
}

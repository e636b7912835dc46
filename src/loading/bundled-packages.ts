// One copy of the OpenTelemetry packages that otelkit's bundle carries and that every upstream
// instrumentation (and the OTLP exporters' bundles) requires again from node_modules: the API,
// core and the logs API. Loaded twice, a package costs its sources (V8 keeps them on the heap),
// its module objects and its compiled code a second time: about 0.45 MB of live heap for the
// three with the http and express instrumentations loaded, measured after a full collection. A
// busy service's old generation grows to about four times its live size between full
// collections, so that is about 2 MiB of RSS under load.
//
// Here the installed files those requires resolve to are entered into require's cache as the
// bundle's modules, when they are the versions the bundle was built from and nothing loaded them
// yet. A tsc-only build runs on the installed packages themselves and has nothing to share.
//
// The semantic conventions' stable entry, required by most instrumentations, is shared as the
// constants the installed OpenTelemetry packages read (scripts/bundle.mjs lists them at build
// time): its 400 KB of sources and 660 exports were about 0.45 MB of live heap, and 1 to 3 MiB of
// RSS on the express hello world under load. Any other name is read from the installed entry,
// loaded then; only enumerating its exports (Object.keys) shows the subset alone.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the Module class, to build cache entries
import Module = require('node:module');
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '@opentelemetry/api';
import * as apiLogs from '@opentelemetry/api-logs';
import * as core from '@opentelemetry/core';

/** Set by scripts/bundle.mjs: each shared package's version in the bundle. */
declare const __OTELKIT_BUNDLED_VERSIONS__: Readonly<Record<string, string>> | undefined;
/** Set by scripts/bundle.mjs: the semantic conventions' constants the installed packages read. */
declare const __OTELKIT_SEMCONV__: { version: string; esModule: boolean; constants: Readonly<Record<string, string | number>> } | undefined;

/** A shared package: its name, and its version and exports in the bundle. */
export interface SharedPackage {
  name: string;
  version: string;
  /** The exports, or a builder given the installed entry (for exports that fall back to it). */
  exports: object | ((entry: string) => object);
  /** Whether the installed CommonJS build marks itself __esModule (default true). */
  esModule?: boolean;
}

const SEMCONV = '@opentelemetry/semantic-conventions';

function bundledPackages(): SharedPackage[] {
  if (typeof __OTELKIT_BUNDLED_VERSIONS__ === 'undefined') return [];
  const v = __OTELKIT_BUNDLED_VERSIONS__;
  const packages: SharedPackage[] = [
    { name: '@opentelemetry/api', version: v['@opentelemetry/api'], exports: api },
    { name: '@opentelemetry/core', version: v['@opentelemetry/core'], exports: core },
    { name: '@opentelemetry/api-logs', version: v['@opentelemetry/api-logs'], exports: apiLogs },
  ];
  if (typeof __OTELKIT_SEMCONV__ !== 'undefined') {
    const s = __OTELKIT_SEMCONV__;
    packages.push({ name: SEMCONV, version: s.version, esModule: s.esModule, exports: (entry) => withInstalledFallback(s.constants, () => loadUncached(entry)) });
  }
  return packages;
}

/** Loads a CommonJS file as a module of its own, past the require cache entry shared here. */
function loadUncached(entry: string): Record<PropertyKey, unknown> {
  const m = new (Module as unknown as ModuleCtor)(entry, null);
  m.filename = entry;
  m.paths = nodeModulePaths(entry);
  (m as unknown as { load(file: string): void }).load(entry);
  return m.exports as Record<PropertyKey, unknown>;
}

/**
 * An exports object holding `own` as its own properties, in front of a prototype that answers
 * every other name from the installed package, loaded on the first such read. Reads of the own
 * names are plain property loads: the fallback is never on the instrumentations' hot paths.
 */
export function withInstalledFallback(own: Readonly<Record<string, unknown>>, load: () => Record<PropertyKey, unknown>): object {
  let installed: Record<PropertyKey, unknown> | undefined;
  const real = (): Record<PropertyKey, unknown> => (installed ??= load());
  const fallback = new Proxy(Object.create(null) as object, {
    get: (_target, key) => real()[key],
    has: (_target, key) => key in real(),
  });
  return Object.assign(Object.create(fallback) as object, own);
}

function installedVersion(entry: string, name: string): string | undefined {
  // The package's directory is the last node_modules/<name> on the entry's path.
  const marker = `${path.sep}node_modules${path.sep}${name.split('/').join(path.sep)}${path.sep}`;
  const at = entry.lastIndexOf(marker);
  if (at === -1) return undefined;
  const pkg = JSON.parse(fs.readFileSync(entry.slice(0, at + marker.length) + 'package.json', 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : undefined;
}

type ModuleCtor = new (id: string, parent?: NodeJS.Module | null) => NodeJS.Module;

function nodeModulePaths(entry: string): string[] {
  return (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(entry));
}

/**
 * Enters `packages` into require's cache at the files `resolve` finds for them. Returns the names
 * shared; a package already loaded, of another version or not installed keeps its own copy.
 */
export function sharePackages(packages: readonly SharedPackage[], resolve: (name: string) => string): string[] {
  const shared: string[] = [];
  for (const p of packages) {
    let entry: string;
    try {
      entry = resolve(p.name);
      if (require.cache[entry] !== undefined || installedVersion(entry, p.name) !== p.version) continue;
    } catch {
      continue;
    }
    const exports = typeof p.exports === 'function' ? p.exports(entry) : p.exports;
    const m = new (Module as unknown as ModuleCtor)(entry, null);
    m.filename = entry;
    m.loaded = true;
    m.paths = nodeModulePaths(entry);
    // As the installed CommonJS build marks itself, for the requirers' interop helpers.
    if ((p.esModule ?? true) && !Object.prototype.hasOwnProperty.call(exports, '__esModule')) Object.defineProperty(exports, '__esModule', { value: true });
    m.exports = exports;
    require.cache[entry] = m;
    shared.push(p.name);
  }
  return shared;
}

/** Shares the bundle's packages with what resolves them from otelkit's own directory. */
export function shareBundledPackages(): string[] {
  return sharePackages(bundledPackages(), (name) => require.resolve(name));
}

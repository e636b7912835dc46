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
// (The semantic conventions, required by most instrumentations, are not shared: the main bundle
// carries only the constants it uses, and a bundle of the whole entry measured no smaller than
// the installed one.)
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the Module class, to build cache entries
import Module = require('node:module');
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '@opentelemetry/api';
import * as apiLogs from '@opentelemetry/api-logs';
import * as core from '@opentelemetry/core';

/** Set by scripts/bundle.mjs: each shared package's version in the bundle. */
declare const __OTELKIT_BUNDLED_VERSIONS__: Readonly<Record<string, string>> | undefined;

/** A shared package: its name, and its version and exports in the bundle. */
export interface SharedPackage {
  name: string;
  version: string;
  exports: object;
}

function bundledPackages(): SharedPackage[] {
  if (typeof __OTELKIT_BUNDLED_VERSIONS__ === 'undefined') return [];
  const v = __OTELKIT_BUNDLED_VERSIONS__;
  return [
    { name: '@opentelemetry/api', version: v['@opentelemetry/api'], exports: api },
    { name: '@opentelemetry/core', version: v['@opentelemetry/core'], exports: core },
    { name: '@opentelemetry/api-logs', version: v['@opentelemetry/api-logs'], exports: apiLogs },
  ];
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
    const m = new (Module as unknown as ModuleCtor)(entry, null);
    m.filename = entry;
    m.loaded = true;
    m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(entry));
    // As the installed CommonJS build marks itself, for the requirers' interop helpers.
    if (!('__esModule' in p.exports)) Object.defineProperty(p.exports, '__esModule', { value: true });
    m.exports = p.exports;
    require.cache[entry] = m;
    shared.push(p.name);
  }
  return shared;
}

/** Shares the bundle's packages with what resolves them from otelkit's own directory. */
export function shareBundledPackages(): string[] {
  return sharePackages(bundledPackages(), (name) => require.resolve(name));
}

// How an ES module application's imports reach the instrumentations. Both ways must be in
// place in the preload, before the application's first import.
//
// - The bridge (the default): Node's ESM loader runs an imported CommonJS package through
//   Module._load(filename) with no parent, which require hooks never see. The bridge sends those
//   loads of instrumented packages through Module.prototype.require, so the lazy trigger and
//   require-in-the-middle patch them as they patch a require. No thread, no loader.
// - The import-in-the-middle loader: needed only when an instrumented package loads as ES module
//   code of its own (esm-packages.ts). Where Node's synchronous module.registerHooks can run it
//   (import-in-the-middle's supportsSyncHooks: 22.22.3+, 24.11.1+, 25.1+, 26+) its hooks run in
//   the application's thread. Elsewhere (Node 20, older 22 and 24) module.register runs it on a
//   thread of its own: about 10 MiB of RSS and a slower start.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the Module class itself, whose _load we wrap
import Module = require('node:module');
import { pathToFileURL } from 'node:url';
import * as path from 'node:path';
import { reportOnce } from '../diag';

/** Where the loader's hooks run: in the application's thread, or on a loader thread. */
export type EsmLoaderThread = 'in-thread' | 'loader-thread';

interface RegisterHooksEntry {
  register(options: { include: string[] }): void;
}

/**
 * Whether import-in-the-middle's synchronous hooks can run here. Its predicate is an ES module
 * without imports; it is only required where module.registerHooks exists (22.15+, 23.5+), where
 * require() of an ES module is supported and silent, so Node 20 never loads ES module code here.
 */
function syncHooksSupported(): boolean {
  if (typeof (Module as { registerHooks?: unknown }).registerHooks !== 'function') return false;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the preload is synchronous: require(esm)
    const entry = require('import-in-the-middle/supports-sync-hooks.mjs') as { supportsSyncHooks?: () => boolean };
    return typeof entry.supportsSyncHooks === 'function' && entry.supportsSyncHooks();
  } catch {
    return false;
  }
}

/**
 * Registers the import-in-the-middle loader for the modules in `include`: in-thread where
 * supported, else on a loader thread. Returns where it runs, or undefined when it could not be
 * registered (reported once).
 */
export function registerEsmLoader(include: string[]): EsmLoaderThread | undefined {
  if (syncHooksSupported()) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the preload is synchronous: require(esm)
      const entry = require('import-in-the-middle/register-hooks.mjs') as RegisterHooksEntry;
      entry.register({ include: [...include] });
      return 'in-thread';
    } catch (err) {
      // Not registered (its registration is the last thing it does): the loader thread still can be.
      reportOnce('esm-register-hooks', 'registering the in-thread ESM hooks failed; the loader thread is used instead', err);
    }
  }
  const register = (Module as { register?: (specifier: string, parentURL: string, options?: unknown) => void }).register;
  if (typeof register !== 'function') {
    reportOnce('esm-register', `module.register is not available in Node ${process.version}; ESM imports of ES module packages are not instrumented (Node 20.6 or newer is needed)`);
    return undefined;
  }
  try {
    register('import-in-the-middle/hook.mjs', pathToFileURL(__filename).href, { data: { include } });
    return 'loader-thread';
  } catch (err) {
    reportOnce('esm-register', 'registering the ESM loader hook failed; ESM imports of ES module packages are not instrumented', err);
    return undefined;
  }
}

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** The package a file under node_modules belongs to: `name` or `@scope/name`. */
export function packageOfFile(filename: string): string | undefined {
  const at = filename.lastIndexOf(NODE_MODULES);
  if (at === -1) return undefined;
  const rest = filename.slice(at + NODE_MODULES.length);
  const parts = rest.split(path.sep);
  if (parts.length < 2) return undefined;
  if (parts[0].startsWith('@')) return parts.length > 2 ? `${parts[0]}/${parts[1]}` : undefined;
  return parts[0];
}

interface ModuleInternals {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _cache: Record<string, { exports: unknown; loaded: boolean } | undefined>;
  prototype: { require(this: unknown, id: string): unknown };
}

/**
 * Sends the ESM loader's loads of CommonJS files of `packages` through the require chain.
 * `beforeLoad` runs first with the package name (it enables the package's instrumentation).
 * Returns a require through the current chain, from the bridge's own parent module.
 */
export function bridgeEsmImports(packages: ReadonlySet<string>, beforeLoad: (pkg: string) => void, fromDir: string): (id: string) => unknown {
  const M = Module as unknown as ModuleInternals;
  // The parent the bridged requires are made from; an absolute request resolves the same from anywhere.
  const parent = new Module(path.join(fromDir, '[otelkit-esm-bridge]'));
  const load = M._load;
  M._load = function otelkitEsmBridge(this: unknown, request: string, from: unknown, isMain: boolean) {
    // Only the ESM loader calls with no parent at all (undefined; the CommonJS entry gets null).
    if (from !== undefined || isMain || typeof request !== 'string' || !path.isAbsolute(request)) {
      return load.call(this, request, from, isMain);
    }
    const pkg = packageOfFile(request);
    if (pkg === undefined || !packages.has(pkg)) return load.call(this, request, from, isMain);
    try {
      beforeLoad(pkg);
    } catch (err) {
      reportOnce(`esm-bridge:${pkg}`, `instrumenting ${pkg} for ESM imports failed`, err);
    }
    // The ESM loader made this module object and will read what it exports. Loading it would
    // snapshot its exports inside Node before the instrumentation has patched them; an
    // instrumentation that replaces a package's exports (pino's) would be lost. So a fresh module
    // is loaded through require, and the loader's module is handed what require returned.
    const esmModule = M._cache[request];
    if (esmModule?.loaded === false) delete M._cache[request];
    const exports = M.prototype.require.call(parent, request);
    if (esmModule?.loaded === false) {
      esmModule.exports = exports;
      esmModule.loaded = true;
    }
    return exports;
  };
  return (id) => M.prototype.require.call(parent, id);
}

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type BuiltinId = 'node:http' | 'node:https';

interface ResolveHooks {
  registerHooks?: (hooks: {
    resolve: (specifier: string, context: unknown, nextResolve: (specifier: string, context?: unknown) => unknown) => unknown;
  }) => { deregister?: () => void } | undefined;
}

/**
 * ESM imports of node:http and node:https are seen by no require hook. Their request() and get()
 * are replaced by stubs, copied into the modules' ESM namespaces, that call `instrument` for each
 * stubbed module once, on the first call (it loads and patches the http instrumentation, about
 * 30 ms that a process making no outgoing request never pays), and then call what the module
 * exports by then: the instrumentation's wrapper.
 *
 * Before the instrumentation patches a module, the stubs give way to Node's functions, so that
 * the wrapper wraps Node's function and not a stub (a stub inside a wrapper could not tell a call
 * from its wrapper from a call through a reference the application kept: it would run the
 * wrapper twice, two client spans). The returned function does that when the instrumentation is
 * enabled by another route (a CommonJS require of http); the first call of a stub does it too.
 *
 * node:http is loaded by otelkit anyway (its servers) and is stubbed now. node:https brings tls
 * and crypto, milliseconds and megabytes no process that never imports it should pay: where Node
 * has in-thread resolve hooks (`module.registerHooks`, 22.15 and 23.5 on), it is stubbed when the
 * application first resolves it (import, import(), require) or asks process.getBuiltinModule for
 * it; once the instrumentation is on, it is patched at that moment instead. Without those hooks
 * (Node 20) it is loaded and stubbed now.
 */
export function instrumentOnFirstRequest(instrument: (id: BuiltinId) => void): () => void {
  const M = Module as unknown as ModuleInternals;
  const stubbed: BuiltinId[] = [];
  const stubs: { exports: Record<string, unknown>; name: string; original: unknown; replacement: unknown }[] = [];
  let enabled = false;
  // A stub forwarding to the wrapper must not be re-entered by it if the wrapper was installed
  // over a stub after all (by code other than the instrumentation's own patch).
  let entered = false;

  const instrumentNow = (id: BuiltinId): void => {
    try {
      instrument(id);
    } catch (err) {
      reportOnce('esm-http', 'instrumenting node:http for ESM imports failed', err);
    }
    // Into the ESM namespaces, unless a module's patch is still to come (node:https resolved
    // while the instrumentation is being enabled for node:http): syncing now would put Node's
    // function where the stub forwards to the wrapper.
    if (!stubs.some((st) => st.exports[st.name] === st.original)) Module.syncBuiltinESMExports();
  };
  /** The instrumentation is being enabled: Node's functions back in the exports, once. */
  const onEnabled = (): void => {
    if (enabled) return;
    enabled = true;
    // The ESM namespaces keep the stubs until the instrumentation's patch is synced into them;
    // meanwhile the stubs forward to the wrappers.
    for (const st of stubs) if (st.exports[st.name] === st.replacement) st.exports[st.name] = st.original;
  };

  const stub = (id: BuiltinId): void => {
    if (enabled) {
      instrumentNow(id);
      return;
    }
    stubbed.push(id);
    // Module._load, not require: the require hooks must not see these modules before the
    // instrumentation is enabled, or require-in-the-middle would remember them as unpatched.
    const exports = M._load(id, null, false) as Record<string, unknown>;
    for (const name of ['request', 'get']) {
      const original = exports[name];
      if (typeof original !== 'function') continue;
      const replacement = function (this: unknown, ...args: unknown[]): unknown {
        if (!enabled) {
          onEnabled();
          for (const each of stubbed) instrumentNow(each);
        }
        const current = exports[name];
        if (entered || current === replacement || typeof current !== 'function') return (original as Fn).apply(this, args);
        entered = true;
        try {
          return (current as Fn).apply(this, args);
        } finally {
          entered = false;
        }
      };
      Object.defineProperty(replacement, 'name', { value: (original as Fn).name });
      exports[name] = replacement;
      stubs.push({ exports, name, original, replacement });
    }
    Module.syncBuiltinESMExports();
  };

  stub('node:http');
  if (!stubHttpsOnFirstResolve(() => stub('node:https'))) stub('node:https');
  return onEnabled;
}

/** Calls `onFirst` once, before node:https is first handed to anybody; false if Node cannot tell. */
function stubHttpsOnFirstResolve(onFirst: () => void): boolean {
  const registerHooks = (Module as unknown as ResolveHooks).registerHooks;
  if (typeof registerHooks !== 'function') return false;
  let done = false;
  let handle: { deregister?: () => void } | undefined;
  const proc = process as { getBuiltinModule?: (id: string) => unknown };
  const originalGetBuiltinModule = proc.getBuiltinModule;
  const first = (): void => {
    if (done) return;
    done = true;
    if (proc.getBuiltinModule === lazyGetBuiltinModule) proc.getBuiltinModule = originalGetBuiltinModule;
    // Not from inside the resolution that is running.
    queueMicrotask(() => handle?.deregister?.());
    onFirst();
  };
  const lazyGetBuiltinModule = function getBuiltinModule(this: unknown, id: string): unknown {
    if (id === 'https' || id === 'node:https') first();
    return (originalGetBuiltinModule as (id: string) => unknown).call(this, id);
  };
  try {
    handle = registerHooks({
      resolve(specifier, context, nextResolve) {
        if (!done && (specifier === 'https' || specifier === 'node:https')) {
          try {
            first();
          } catch (err) {
            reportOnce('esm-http', 'instrumenting node:https for ESM imports failed', err);
          }
        }
        return nextResolve(specifier, context);
      },
    });
  } catch (err) {
    reportOnce('esm-https-hook', 'module.registerHooks failed; node:https is stubbed at start', err);
    return false;
  }
  if (typeof originalGetBuiltinModule === 'function') proc.getBuiltinModule = lazyGetBuiltinModule;
  return true;
}

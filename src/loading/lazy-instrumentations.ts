// The auto-instrumentation set, loaded lazily: an instrumentation's package is required only
// when the application first loads a module it instruments. Loading all ~40 packages eagerly,
// as auto-instrumentations-node does, is most of the official register's start-up cost.
//
// How: a cheap wrapper around Module.prototype.require (outermost, so it runs before
// require-in-the-middle) enables the instrumentation just before the target module loads,
// so its own hooks see that load, including the package's internal files. For an ES module
// application, either the bridge (esm-hooks.ts) sends the ESM loader's loads of CommonJS
// packages through that same require chain, or, when an instrumented package is ES module
// code, an import-in-the-middle hook on the same names does the same and replays the
// instrumentation's hook for the module that triggered it (IITM does not call hooks added
// during its dispatch).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the Module class itself, whose prototype.require we wrap
import Module = require('node:module');
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Instrumentation, InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { Config } from '../config/types';
import { emit, reportOnce } from '../diag';
import { FastifyRoutesInstrumentation } from '../instrument/fastify-routes';
import { bridgeEsmImports, instrumentOnFirstRequest } from './esm-hooks';

export interface InstrumentationSpec {
  /** Short name, as OTEL_NODE_ENABLED_INSTRUMENTATIONS spells it. */
  name: string;
  pkg: string;
  cls: string;
  /** Module names whose first load triggers the instrumentation; empty = enable at start. */
  modules: string[];
  /** otelkit's own instrumentation (part of the bundle), instead of pkg's export cls. */
  own?: () => InstrumentationClass;
}

type InstrumentationClass = new (c?: InstrumentationConfig) => Instrumentation;

const spec = (name: string, cls: string, modules: string[] = [name]): InstrumentationSpec => ({
  name,
  pkg: `@opentelemetry/instrumentation-${name}`,
  cls,
  modules,
});

export const INSTRUMENTATIONS: readonly InstrumentationSpec[] = [
  spec('amqplib', 'AmqplibInstrumentation'),
  spec('aws-lambda', 'AwsLambdaInstrumentation', []),
  spec('aws-sdk', 'AwsInstrumentation', ['@aws-sdk/middleware-stack', '@smithy/middleware-stack', '@smithy/core', '@aws-sdk/smithy-client', '@smithy/smithy-client']),
  spec('bunyan', 'BunyanInstrumentation'),
  spec('cassandra-driver', 'CassandraDriverInstrumentation'),
  spec('connect', 'ConnectInstrumentation'),
  spec('cucumber', 'CucumberInstrumentation', ['@cucumber/cucumber']),
  spec('dataloader', 'DataloaderInstrumentation'),
  spec('dns', 'DnsInstrumentation', ['dns', 'dns/promises']),
  spec('express', 'ExpressInstrumentation'),
  // otelkit's own: upstream's is @fastify/otel, outside the auto-instrumentation set (see the module).
  { name: 'fastify', pkg: 'otelkit', cls: 'FastifyRoutesInstrumentation', modules: ['fastify'], own: () => FastifyRoutesInstrumentation },
  spec('fs', 'FsInstrumentation', ['fs', 'fs/promises']),
  spec('generic-pool', 'GenericPoolInstrumentation'),
  spec('graphql', 'GraphQLInstrumentation'),
  spec('grpc', 'GrpcInstrumentation', ['@grpc/grpc-js']),
  spec('hapi', 'HapiInstrumentation', ['@hapi/hapi']),
  spec('http', 'HttpInstrumentation', ['http', 'https']),
  spec('ioredis', 'IORedisInstrumentation'),
  spec('kafkajs', 'KafkaJsInstrumentation'),
  spec('knex', 'KnexInstrumentation'),
  spec('koa', 'KoaInstrumentation'),
  spec('lru-memoizer', 'LruMemoizerInstrumentation'),
  spec('memcached', 'MemcachedInstrumentation'),
  spec('mongodb', 'MongoDBInstrumentation'),
  spec('mongoose', 'MongooseInstrumentation'),
  spec('mysql', 'MySQLInstrumentation'),
  spec('mysql2', 'MySQL2Instrumentation'),
  spec('nestjs-core', 'NestInstrumentation', ['@nestjs/core']),
  spec('net', 'NetInstrumentation'),
  spec('openai', 'OpenAIInstrumentation'),
  spec('oracledb', 'OracleInstrumentation'),
  spec('pg', 'PgInstrumentation', ['pg', 'pg-pool']),
  spec('pino', 'PinoInstrumentation'),
  spec('redis', 'RedisInstrumentation', ['redis', '@redis/client', '@node-redis/client']),
  spec('restify', 'RestifyInstrumentation'),
  spec('router', 'RouterInstrumentation'),
  // runtime-node feeds the runtime metrics; it is enabled by the metrics module, not here.
  spec('socket.io', 'SocketIoInstrumentation'),
  spec('tedious', 'TediousInstrumentation'),
  // undici reports through diagnostics_channel; its trigger is the undici package or the
  // first call of the global fetch (Node's bundled undici), see wrapGlobalFetch.
  spec('undici', 'UndiciInstrumentation', ['undici']),
  spec('winston', 'WinstonInstrumentation'),
];

/** Off unless named in OTEL_NODE_ENABLED_INSTRUMENTATIONS: fs is noisy and slow, aws-lambda only fits Lambda. */
const OFF_BY_DEFAULT = new Set(['fs', 'aws-lambda']);

export function selectInstrumentations(cfg: Config['instrumentations']): InstrumentationSpec[] {
  return INSTRUMENTATIONS.filter((s) => {
    if (cfg.disabled.includes(s.name)) return false;
    if (cfg.enabled) return cfg.enabled.includes(s.name);
    return !OFF_BY_DEFAULT.has(s.name);
  });
}

/** Module names the ESM loader must wrap so the lazy hooks see ESM imports of them. */
export function esmHookTargets(specs: readonly InstrumentationSpec[]): string[] {
  return specs.flatMap((s) => s.modules);
}

/** The packages (not built-in modules) among the instrumentations' trigger modules. */
export function targetPackages(specs: readonly InstrumentationSpec[]): string[] {
  const names = new Set<string>();
  for (const m of esmHookTargets(specs)) {
    const pkg = packageName(m);
    if (pkg !== undefined && !Module.isBuiltin(m)) names.add(pkg);
  }
  return [...names];
}

/**
 * How ES module imports reach the instrumentations: not at all (a CommonJS application), the
 * require bridge (for the instrumented packages, from the directory the application resolves
 * them from), or the import-in-the-middle loader.
 */
export type EsmHooks = { kind: 'none' } | { kind: 'bridge'; fromDir: string; packages: readonly string[] } | { kind: 'loader' };

export type ConfigFor = (name: string) => InstrumentationConfig | undefined;

interface ModuleDefinitionLike {
  name: string;
}
/** The parts of InstrumentationBase the ESM replay uses; they are not in its public typings. */
interface InstrumentationInternals {
  _modules?: ModuleDefinitionLike[];
  _onRequire?(module: ModuleDefinitionLike, exports: unknown, name: string, baseDir?: string): unknown;
}

const active = new Map<string, Instrumentation>();

export type AfterActivate = (name: string, instrumentation: Instrumentation) => void;

function activate(s: InstrumentationSpec, configFor: ConfigFor, after?: AfterActivate): Instrumentation | undefined {
  const existing = active.get(s.name);
  if (existing) return existing;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Cls = s.own ? s.own() : (require(s.pkg) as Record<string, InstrumentationClass>)[s.cls];
    // Constructed enabled, which hooks it in: some instrumentations (undici) read
    // config.enabled on every event and do nothing when it says false.
    const inst = new Cls({ ...configFor(s.name), enabled: true });
    active.set(s.name, inst);
    after?.(s.name, inst);
    emit('debug', `instrumentation ${s.name} enabled`);
    return inst;
  } catch (err) {
    reportOnce(`instrumentation:${s.name}`, `instrumentation ${s.name} could not be loaded; ${s.modules.join(', ') || s.name} runs uninstrumented`, err);
    return undefined;
  }
}

function packageName(id: string): string | undefined {
  const c = id.charCodeAt(0);
  if (c === 46 /* . */ || c === 47 /* / */) return undefined;
  if (id.startsWith('node:')) id = id.slice(5);
  const slash = id.indexOf('/');
  if (slash === -1) return id;
  if (id.charCodeAt(0) === 64 /* @ */) {
    const second = id.indexOf('/', slash + 1);
    return second === -1 ? id : id.slice(0, second);
  }
  return id.slice(0, slash);
}

/** The `name` of the package.json in each directory looked at (null: none), read once per directory. */
const packageNames = new Map<string, string | null>();

function packageNameIn(dir: string): string | null {
  let name = packageNames.get(dir);
  if (name !== undefined) return name;
  name = null;
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const n = (parsed as { name?: unknown } | null)?.name;
    if (typeof n === 'string') name = n;
  } catch {
    // no package.json there, or not one that names a package
  }
  packageNames.set(dir, name);
  return name;
}

/**
 * The pending package a path id loads, for a framework loaded by file path
 * (`require(require.resolve('express'))`, `require('./vendor/express')`, a workspace copy):
 * require-in-the-middle names a module by the package directory it is in, so its hooks patch
 * such loads once the instrumentation is on. Only a directory named like a pending package is
 * checked, by the name in its package.json (read once per directory): most path requires (a
 * package's own files) cost a split and a few map lookups.
 */
export function packageAtPath(id: string, fromDir: string | undefined, isPending: (name: string) => boolean): string | undefined {
  const segments = id.split('/');
  for (let i = 0; i < segments.length; i++) {
    let name = segments[i];
    if (name.charCodeAt(0) === 64 /* @ */ && i + 1 < segments.length) name = `${name}/${segments[i + 1]}`;
    if (!isPending(name) || Module.isBuiltin(name)) continue;
    const end = i + (name.includes('/') ? 2 : 1);
    const rel = segments.slice(0, end).join('/');
    const dir = path.isAbsolute(rel) ? rel : fromDir === undefined ? undefined : path.resolve(fromDir, rel);
    if (dir === undefined) return undefined;
    const found = packageNameIn(dir);
    if (found !== null && isPending(found)) return found;
  }
  return undefined;
}

const isPathId = (id: string): boolean => {
  const c = id.charCodeAt(0);
  return c === 46 /* . */ || c === 47 /* / */;
};

/**
 * Enables instrumentations lazily. Those without trigger modules start now. Returns the names
 * enabled right away.
 */
export function installLazyInstrumentations(specs: readonly InstrumentationSpec[], configFor: ConfigFor, after?: AfterActivate, esm: EsmHooks = { kind: 'none' }): string[] {
  const pending = new Map<string, InstrumentationSpec>();
  const now: string[] = [];
  for (const s of specs) {
    if (s.modules.length === 0) {
      if (activate(s, configFor, after)) now.push(s.name);
      continue;
    }
    for (const m of s.modules) {
      pending.set(m, s);
      const pkg = packageName(m);
      if (pkg && pkg !== m) pending.set(pkg, s);
    }
  }
  if (pending.size === 0) return now;

  let beforeHttpPatch: (() => void) | undefined;
  const trigger = (id: string): boolean => {
    let s = pending.get(id);
    if (!s) {
      const pkg = packageName(id);
      if (pkg === undefined) return false;
      s = pending.get(pkg);
      if (!s) return false;
    }
    for (const m of s.modules) {
      pending.delete(m);
      const pkg = packageName(m);
      if (pkg) pending.delete(pkg);
    }
    // The ESM stubs of node:http(s) give way before the instrumentation patches the modules.
    if (s.name === 'http') beforeHttpPatch?.();
    activate(s, configFor, after);
    return true;
  };

  // Enabling the first instrumentation creates require-in-the-middle's hook, which wraps
  // Module.prototype.require; wrapping after that keeps ours outermost, so ours runs first.
  const ModuleProto = (Module as unknown as { prototype: { require: (id: string) => unknown } }).prototype;
  const next = ModuleProto.require;
  const isPending = (name: string): boolean => pending.has(name);
  const triggerByPath = (id: string, from: unknown): boolean => {
    const pkg = packageAtPath(id, (from as { path?: string } | null)?.path, isPending);
    return pkg !== undefined && trigger(pkg);
  };
  ModuleProto.require = function otelkitLazyRequire(this: unknown, id: string) {
    if (pending.size !== 0 && typeof id === 'string' && (isPathId(id) ? triggerByPath(id, this) : trigger(id))) {
      // The instrumentation may have just installed require-in-the-middle outside of us:
      // go through the current chain so its hook sees this load.
      return ModuleProto.require === otelkitLazyRequire ? next.call(this, id) : ModuleProto.require.call(this, id);
    }
    return next.call(this, id);
  };

  if (pending.has('undici')) wrapGlobalFetch(() => pending.has('undici') && trigger('undici'));
  if (esm.kind === 'loader') installEsmTrigger(pending, trigger, specs);
  if (esm.kind === 'bridge') {
    const requireFromBridge = bridgeEsmImports(new Set(esm.packages), (pkg) => {
      if (pending.has(pkg)) trigger(pkg);
    }, esm.fromDir);
    // ESM imports of built-in modules are seen by no hook. node:http and node:https get stubs
    // that instrument them on the first outgoing request. dns, net and fs stay lazy, as in a
    // CommonJS application, where only a package requiring them turns them on (eagerly, every
    // listen() would start a trace of its own dns.lookup).
    if (specs.some((s) => s.name === 'http')) {
      beforeHttpPatch = instrumentOnFirstRequest((id) => {
        // Through the require chain: the lazy trigger enables the instrumentation, then
        // require-in-the-middle patches the module (once; later calls are cache hits).
        requireFromBridge(id.slice('node:'.length));
      });
    }
  }
  return now;
}

/**
 * A built-in imported as an ES module after its instrumentation was enabled by a require (express
 * requires http): Node's ES module namespace of a built-in is its own copy of the exports, taken
 * when the application's imports were linked, and require-in-the-middle's patch of the exports
 * did not reach it. The instrumentation will not patch a second time (instrumentation-http
 * guards against it), so the namespace takes the patched functions from the exports
 * (`default`), as Module.syncBuiltinESMExports() does for Node's own namespace.
 */
function syncBuiltinNamespace(namespace: unknown): void {
  const ns = namespace as Record<string, unknown>;
  const cjs = ns.default as Record<string, unknown> | undefined;
  if (cjs === null || typeof cjs !== 'object') return;
  for (const key of Object.keys(ns)) {
    if (key !== 'default' && Object.prototype.hasOwnProperty.call(cjs, key) && cjs[key] !== ns[key]) ns[key] = cjs[key];
  }
  Module.syncBuiltinESMExports();
}

/** Enables the undici instrumentation on the first fetch(), before the request is created. */
function wrapGlobalFetch(onFirstCall: () => void): void {
  const original = globalThis.fetch;
  if (typeof original !== 'function') return;
  type Fetch = typeof globalThis.fetch;
  const lazyFetch = function fetch(this: unknown, ...args: Parameters<Fetch>): ReturnType<Fetch> {
    if (globalThis.fetch === lazyFetch) globalThis.fetch = original;
    onFirstCall();
    return original.apply(this, args);
  };
  globalThis.fetch = lazyFetch;
}

function installEsmTrigger(
  pending: Map<string, InstrumentationSpec>,
  trigger: (id: string) => boolean,
  specs: readonly InstrumentationSpec[],
): void {
  let Hook: new (modules: string[], opts: { internals: boolean }, fn: (exports: unknown, name: string, baseDir?: string) => unknown) => unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Hook = (require('import-in-the-middle') as { Hook: typeof Hook }).Hook;
  } catch (err) {
    reportOnce('iitm', 'import-in-the-middle could not be loaded; ESM imports are not instrumented', err);
    return;
  }
  const names = [...new Set(specs.flatMap((s) => s.modules))];
  new Hook(names, { internals: false }, (exports, name, baseDir) => {
    if (!baseDir && path.isAbsolute(name)) return exports;
    const s = pending.get(name);
    if (!s) {
      if (baseDir === undefined && Module.isBuiltin(name) && specs.some((spec) => spec.modules.includes(name) && active.has(spec.name))) {
        syncBuiltinNamespace(exports);
      }
      return exports;
    }
    if (!trigger(name)) return exports;
    // The instrumentation's own ESM hook was added during this dispatch and will not be
    // called for this module: call its patching for it now.
    const inst = active.get(s.name) as unknown as InstrumentationInternals | undefined;
    if (!inst?._onRequire || !inst._modules) return exports;
    let out: unknown = exports;
    for (const def of inst._modules) {
      if (def.name === name) out = inst._onRequire(def, out, name, baseDir);
    }
    return out;
  });
}

// Access to the context manager otelkit installed, for the per-request hot path: active() and
// with() go to the manager itself rather than through the ContextAPI facade, which looks the
// manager up in the global registry on every call; enterContext() reaches the manager's
// AsyncLocalStorage, whose enterWith the manager does not expose. Falls back to the API when
// otelkit's manager is not the global one.
import { AsyncResource } from 'node:async_hooks';
import { context, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

interface Storage {
  getStore(): Context | undefined;
  enterWith(store: Context): void;
}

let manager: Pick<ContextManager, 'active' | 'with'> = context;
let storage: Storage | undefined;
let enteredEndsWithCallback: boolean | undefined;

/** Called by the composition with the manager it registered globally. */
export function useContextManager(m: ContextManager): void {
  manager = m;
  // AsyncLocalStorageContextManager keeps its storage in this (TypeScript-private) field.
  const s = (m as unknown as { _asyncLocalStorage?: Partial<Storage> })._asyncLocalStorage;
  storage = typeof s?.getStore === 'function' && typeof s.enterWith === 'function' ? (s as Storage) : undefined;
  enteredEndsWithCallback = undefined;
}

// Straight getStore()/run() on the storage measured no faster than the manager's methods, on
// Node 20, 22 and 24 (bench/context.bench.mjs, 2026-12-05): the manager is one call deeper only.
export function activeContext(): Context {
  return manager.active();
}

export function withContext<R>(ctx: Context, fn: () => R): R {
  return manager.with(ctx, fn);
}

/**
 * Makes ctx the active context for the rest of the current execution and for everything the
 * current async resource runs later, without restoring the previous one (AsyncLocalStorage's
 * enterWith). False, and nothing done, when otelkit's manager is not the global one.
 */
export function enterContext(ctx: Context): boolean {
  if (storage === undefined) return false;
  storage.enterWith(ctx);
  return true;
}

const PROBE_KEY = Symbol('otelkit.context-probe');

/**
 * Whether a context entered (enterContext) in a callback of an async resource is gone again in
 * that resource's later callbacks. With AsyncLocalStorage on async hooks (Node 20 and 22) it
 * stays: the store is kept on the resource. With AsyncLocalStorage on AsyncContextFrame (the
 * default from Node 24) it is gone: every callback starts from the frame captured when its
 * resource was created. Probed once on a resource of its own; false when enterContext does nothing.
 */
export function enteredContextEndsWithCallback(): boolean {
  const s = storage;
  if (s === undefined) return false;
  if (enteredEndsWithCallback === undefined) {
    const probe = new LinkedContext(ROOT_CONTEXT, PROBE_KEY, true);
    const resource = new AsyncResource('otelkit.context-probe');
    resource.runInAsyncScope(() => s.enterWith(probe));
    enteredEndsWithCallback = resource.runInAsyncScope(() => s.getStore()) !== probe;
  }
  return enteredEndsWithCallback;
}

// The keys the API and core use (createContextKey is Symbol.for, so these are the same symbols).
export const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');
export const RPC_METADATA_KEY = Symbol.for('OpenTelemetry SDK Context Key RPC_METADATA');

/**
 * A context that adds one value to its parent without copying the parent's values, as the
 * API's BaseContext does on every setValue. Lookups walk the chain, a few links deep per request.
 */
export class LinkedContext implements Context {
  constructor(
    private readonly parent: Context,
    private readonly key: symbol,
    private readonly value: unknown,
  ) {}

  getValue(key: symbol): unknown {
    return key === this.key ? this.value : this.parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new LinkedContext(this, key, value);
  }

  deleteValue(key: symbol): Context {
    // A deleted key reads as undefined, which is what BaseContext's deletion looks like.
    return new LinkedContext(this, key, undefined);
  }
}

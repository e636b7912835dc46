// Direct access to the context manager otelkit installed, for the per-request hot path: the
// ContextAPI facade looks the manager up in the global registry and copies the arguments on
// every call, and in the bundle each `api.context` access also goes through a getter. Falls back
// to the API when otelkit's manager is not the global one.
import { context, type Context, type ContextManager } from '@opentelemetry/api';

let manager: Pick<ContextManager, 'active' | 'with'> = context;

/** Called by the composition with the manager it registered globally. */
export function useContextManager(m: ContextManager): void {
  manager = m;
}

export function activeContext(): Context {
  return manager.active();
}

export function withContext<R>(ctx: Context, fn: () => R): R {
  return manager.with(ctx, fn);
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

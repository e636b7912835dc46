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

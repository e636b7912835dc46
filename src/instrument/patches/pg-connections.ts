// pg connections opened outside a request. With requireParentSpan (otelkit's default) the pg
// instrumentation makes no span for a query or connect without a parent, but the socket the
// connect opens still went through the net and dns instrumentations, which made root
// `tcp.connect` and `dns.lookup` spans: orphans of a trace that was deliberately not started.
// Here such a connect runs with tracing suppressed; its callback and promise keep the caller's
// context. OTELKIT_PG_REQUIRE_PARENT_SPAN=false gives upstream's behaviour back (root pg spans).
import { context, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { activeContext } from '../../trace/context-access';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

interface PgConnectInternals {
  _getClientConnectPatch(): (original: Fn) => Fn;
}

export function connectsOutsideRequestsUntraced(instrumentation: Instrumentation): void {
  const inst = instrumentation as unknown as PgConnectInternals;
  const makeConnect = inst._getClientConnectPatch;
  if (typeof makeConnect !== 'function') return;
  // Upstream builds the patch from this factory when pg is loaded, after this.
  inst._getClientConnectPatch = () => {
    const patch = makeConnect.call(inst);
    return (original: Fn): Fn => {
      const traced = patch(original);
      return function connect(this: unknown, callback?: unknown): unknown {
        const caller = activeContext();
        if (trace.getSpan(caller) !== undefined) return traced.call(this, callback);
        const cb = typeof callback === 'function' ? context.bind(caller, callback as Fn) : callback;
        return context.with(suppressTracing(caller), () => traced.call(this, cb));
      };
    };
  };
}

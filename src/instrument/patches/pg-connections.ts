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
import { upstreamHas } from './upstream-members';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

interface PgConnectInternals {
  _getClientConnectPatch(): (original: Fn) => Fn;
}

/**
 * Applied before pg loads. False (said once on stderr) when the member is gone: upstream's
 * connect patch stays (orphan tcp.connect / dns.lookup roots come back).
 */
export function connectsOutsideRequestsUntraced(instrumentation: Instrumentation): boolean {
  const inst = instrumentation as unknown as PgConnectInternals;
  if (!upstreamHas('pg-connections', '@opentelemetry/instrumentation-pg', inst, ['_getClientConnectPatch'])) return false;
  const makeConnect = inst._getClientConnectPatch;
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
  return true;
}

// pg connections opened outside a request. With requireParentSpan (otelkit's default) the pg
// instrumentation makes no span for a query or connect without a parent, but the socket the
// connect opens still went through the net and dns instrumentations, which made root
// `tcp.connect` and `dns.lookup` spans: orphans of a trace that was deliberately not started.
// Here such a connect runs with tracing suppressed; its callback and promise keep the caller's
// context. Upstream's requireParentSpan also skips such a query's db.client.operation.duration,
// which would leave a worker's or a start-up's queries out of the metric: here a query outside
// any span is run as an unsampled one is (sampled-parents-only.ts): counted, no span.
// OTELKIT_PG_REQUIRE_PARENT_SPAN=false gives upstream's behaviour back (root pg spans).
import { context, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { activeContext } from '../../trace/context-access';
import { untracedQuery, type PgClient, type PgInternals } from './sampled-parents-only';
import { upstreamHas } from './upstream-members';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

interface PgConnectInternals extends PgInternals {
  _getClientConnectPatch(): (original: Fn) => Fn;
}

/**
 * Applied before pg loads. False (said once on stderr) when a member is gone: upstream's patches
 * stay (orphan tcp.connect / dns.lookup roots come back, queries outside a request are not counted).
 */
export function connectsOutsideRequestsUntraced(instrumentation: Instrumentation): boolean {
  const inst = instrumentation as unknown as PgConnectInternals;
  if (!upstreamHas('pg-connections', '@opentelemetry/instrumentation-pg', inst, ['_getClientConnectPatch', '_getClientQueryPatch', 'recordOperationDuration'])) return false;
  queriesOutsideRequestsCounted(inst);
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

function queriesOutsideRequestsCounted(inst: PgConnectInternals): void {
  const makeQuery = inst._getClientQueryPatch;
  inst._getClientQueryPatch = () => {
    const patch = makeQuery.call(inst);
    return (original: Fn): Fn => {
      const traced = patch(original);
      return function query(this: unknown): unknown {
        // eslint-disable-next-line prefer-rest-params -- forwarded to pg, possibly with a wrapped callback
        const args = Array.prototype.slice.call(arguments) as unknown[];
        return trace.getSpan(activeContext()) === undefined ? untracedQuery(inst, original, this as PgClient, args) : traced.apply(this, args);
      };
    };
  };
}

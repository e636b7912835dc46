// Client instrumentations that do their span work only for sampled parents. The redis and
// ioredis instrumentations build every command's attributes (the connection's, the serialised
// statement), start a span, enter a context and chain a promise before the sampler is asked;
// under a parent-based sampler, a command inside an unsampled request gets a non-recording span
// from all that. Here such a command calls the client directly. Nothing observable changes:
// nothing was recorded or exported for it, and a database command propagates no context.
// Instrumentations that also record metrics (pg's operation duration) are left alone, since
// metrics count every operation, sampled or not.
import { trace, TraceFlags } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { activeContext } from './fast-context';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** True when the active span exists and is not sampled: a parent-based sampler drops its children. */
function parentUnsampled(): boolean {
  const span = trace.getSpan(activeContext());
  return span !== undefined && (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0;
}

interface RedisInternals {
  _traceClientCommand(original: Fn, self: unknown, args: IArguments, commandArgs: unknown): unknown;
}
interface IORedisInternals {
  _traceSendCommand(original: Fn, moduleVersion: unknown): Fn;
}

/**
 * Applies the shortcut to the instrumentations that have one. Only valid when the sampler drops
 * the children of unsampled parents (parentbased_* and always_off): the caller checks.
 */
export function sampledParentsOnly(name: string, instrumentation: Instrumentation): void {
  if (name === 'redis') {
    // The package's class delegates node-redis v4/v5 to an inner instrumentation.
    const inst = (instrumentation as unknown as { instrumentationV4_V5?: RedisInternals }).instrumentationV4_V5;
    if (inst === undefined) return;
    const traced = inst._traceClientCommand;
    if (typeof traced !== 'function') return;
    inst._traceClientCommand = function (this: RedisInternals, original, self, args, commandArgs) {
      if (parentUnsampled()) return original.apply(self, args as unknown as unknown[]);
      return traced.call(this, original, self, args, commandArgs);
    };
  } else if (name === 'ioredis') {
    const inst = instrumentation as unknown as IORedisInternals;
    const wrap = inst._traceSendCommand;
    if (typeof wrap !== 'function') return;
    inst._traceSendCommand = function (this: IORedisInternals, original, moduleVersion) {
      const tracedSend = wrap.call(this, original, moduleVersion);
      return function sendCommand(this: unknown): unknown {
        // eslint-disable-next-line prefer-rest-params -- forwarded untouched to ioredis
        const args = arguments as unknown as unknown[];
        return parentUnsampled() ? original.apply(this, args) : tracedSend.apply(this, args);
      };
    };
  }
}

// Client instrumentations that do their span work only for sampled parents. The redis, ioredis
// and pg instrumentations build every command's attributes (the connection's, the serialised
// statement), start a span, enter a context and chain a promise before the sampler is asked;
// under a parent-based sampler, a command inside an unsampled request gets a non-recording span
// from all that. Here such a command calls the client directly. Nothing observable changes:
// nothing was recorded or exported for it, and a database command propagates no context. What
// does not depend on sampling stays: pg's db.client.operation.duration counts every query, with
// upstream's attributes, through upstream's own recording method, and callbacks still run in the
// caller's context.
import { context, trace, TraceFlags, type Attributes } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { activeContext } from '../../trace/context-access';
import { redisCommandSpans, type RedisV4V5Internals } from './redis-commands';
import { upstreamHas } from './upstream-members';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** True when the active span exists and is not sampled: a parent-based sampler drops its children. */
function parentUnsampled(): boolean {
  const span = trace.getSpan(activeContext());
  return span !== undefined && (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0;
}

interface RedisInternals extends RedisV4V5Internals {
  _traceClientCommand(original: Fn, self: unknown, args: IArguments, commandArgs: unknown): unknown;
}
interface IORedisInternals {
  _traceSendCommand(original: Fn, moduleVersion: unknown): Fn;
}

/**
 * Applies the shortcut to the instrumentations that have one. Only valid when the sampler drops
 * the children of unsampled parents (parentbased_* and always_off): the caller checks. A patch
 * whose upstream members are gone is not applied (said once on stderr): upstream's path stays.
 */
export function sampledParentsOnly(name: string, instrumentation: Instrumentation): void {
  if (name === 'redis') {
    // The package's class delegates node-redis v4/v5 to an inner instrumentation.
    const outer = instrumentation as unknown as { instrumentationV4_V5?: RedisInternals };
    if (!upstreamHas('redis-sampled-parents', '@opentelemetry/instrumentation-redis', outer, [], ['instrumentationV4_V5'])) return;
    const inst = outer.instrumentationV4_V5 as RedisInternals;
    if (!upstreamHas('redis-sampled-parents', '@opentelemetry/instrumentation-redis (instrumentationV4_V5)', inst, ['_traceClientCommand'])) return;
    const traced = inst._traceClientCommand;
    inst._traceClientCommand = function (this: RedisInternals, original, self, args, commandArgs) {
      if (parentUnsampled()) return original.apply(self, args as unknown as unknown[]);
      return traced.call(this, original, self, args, commandArgs);
    };
    // A client's own commands inside sampled requests skip upstream's layers (redis-commands.ts).
    redisCommandSpans(inst);
  } else if (name === 'pg') {
    bypassPg(instrumentation as unknown as PgInternals);
  } else if (name === 'ioredis') {
    const inst = instrumentation as unknown as IORedisInternals;
    if (!upstreamHas('ioredis-sampled-parents', '@opentelemetry/instrumentation-ioredis', inst, ['_traceSendCommand'])) return;
    const wrap = inst._traceSendCommand;
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

export interface PgInternals {
  _getClientQueryPatch(): (original: Fn) => Fn;
  _getPoolConnectPatch(): (original: Fn) => Fn;
  _setPoolConnectEventListeners(pool: unknown): void;
  recordOperationDuration(attributes: Attributes, startTime: ReturnType<typeof hrTime>): void;
}

export interface PgClient {
  database?: string;
  connectionParameters?: { host?: string; port?: number };
}

/** Upstream's operation name: the statement's first word, upper-cased, without a trailing ';'. */
function operationName(text: string): string {
  const trimmed = text.trim();
  const space = trimmed.indexOf(' ');
  const word = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase();
  return word.endsWith(';') ? word.slice(0, -1) : word;
}

/**
 * Client.prototype.query under an unsampled parent (or, pg-connections.ts, outside any span):
 * the query and its duration metric, as upstream records it (same attributes; error.type from a
 * callback error's code), without the span.
 */
export function untracedQuery(plugin: PgInternals, original: Fn, client: PgClient, args: unknown[]): unknown {
  const start = hrTime();
  const first = args[0] as { text?: unknown; callback?: unknown } | string | null | undefined;
  const text = typeof first === 'string' ? first : typeof first?.text === 'string' ? first.text : undefined;
  const attributes: Attributes = {
    'db.system.name': 'postgresql',
    'db.namespace': client.database,
    'server.port': client.connectionParameters?.port,
    'server.address': client.connectionParameters?.host,
  };
  if (text) attributes['db.operation.name'] = operationName(text);
  const record = (): void => plugin.recordOperationDuration(attributes, start);
  const done = (callback: Fn): Fn =>
    context.bind(activeContext(), function (this: unknown, err: unknown, res: unknown): unknown {
      if (err && Object.prototype.hasOwnProperty.call(err, 'code')) attributes['error.type'] = (err as { code: string }).code;
      record();
      return callback.call(this, err, res);
    });
  const last = args.length - 1;
  if (typeof args[last] === 'function') args[last] = done(args[last] as Fn);
  else if (typeof first === 'object' && first !== null && text !== undefined && typeof first.callback === 'function') first.callback = done(first.callback as Fn);
  const result = original.apply(client, args);
  if (!(result instanceof Promise)) return result;
  return result.then(
    (value: unknown) => {
      record();
      return value;
    },
    (err: unknown) => {
      record();
      throw err;
    },
  );
}

function bypassPg(inst: PgInternals): void {
  if (!upstreamHas('pg-sampled-parents', '@opentelemetry/instrumentation-pg', inst, ['_getClientQueryPatch', '_getPoolConnectPatch', '_setPoolConnectEventListeners', 'recordOperationDuration'])) return;
  const makeQuery = inst._getClientQueryPatch;
  const makeConnect = inst._getPoolConnectPatch;
  // Upstream builds each patch from these factories when pg (or pg-pool) is loaded, after this.
  inst._getClientQueryPatch = () => {
    const patch = makeQuery.call(inst);
    return (original: Fn): Fn => {
      const traced = patch(original);
      return function query(this: unknown): unknown {
        // eslint-disable-next-line prefer-rest-params -- forwarded to pg, possibly with a wrapped callback
        const args = Array.prototype.slice.call(arguments) as unknown[];
        return parentUnsampled() ? untracedQuery(inst, original, this as PgClient, args) : traced.apply(this, args);
      };
    };
  };
  inst._getPoolConnectPatch = () => {
    const patch = makeConnect.call(inst);
    return (original: Fn): Fn => {
      const traced = patch(original);
      return function connect(this: unknown, callback?: unknown): unknown {
        if (!parentUnsampled()) return traced.call(this, callback);
        // The pool's connection metrics come from listeners upstream adds on the first connect.
        inst._setPoolConnectEventListeners(this);
        // A waiting connect is answered from another request's release: keep the caller's context.
        return original.call(this, typeof callback === 'function' ? context.bind(activeContext(), callback as Fn) : callback);
      };
    };
  };
}

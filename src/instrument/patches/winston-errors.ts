// The application's own winston loggers, for error tracking: a record at level error that
// carries an Error (logger.error(err), logger.error('msg', err), { err } or { error } fields)
// is reported to error tracking as otelkit's logger reports its own, and the record the OTel
// transport exports gets what error tracking adds (the group and, when it stands as the error's
// exception record, the event name `exception`). The transport is @opentelemetry/winston-transport's
// OpenTelemetryTransportV3, which the winston instrumentation adds to the application's loggers;
// its log() is wrapped, and nothing the application's other transports see changes.
import { createRequire } from 'node:module';
import { context, type Context } from '@opentelemetry/api';
import type { LogRecord } from '@opentelemetry/api-logs';
import type { LoggedErrorHook } from '../../logs/logging-state';
import { reportPatchNotApplied, upstreamHas } from './upstream-members';

const LEVEL = Symbol.for('level');
const SPLAT = Symbol.for('splat');
// Where the winston instrumentation keeps the context of the log call on the record.
const OTEL_CONTEXT = Symbol.for('opentelemetry.js.contrib.winston.context');
const kWrapped = Symbol('otelkit.winston.errors');

type Info = Record<string | symbol, unknown>;

/** The Error a winston record carries, if any. */
export function errorOf(info: Info): Error | undefined {
  if (info instanceof Error) return info;
  if (info.message instanceof Error) return info.message;
  if (info.err instanceof Error) return info.err;
  if (info.error instanceof Error) return info.error;
  const splat = info[SPLAT];
  if (Array.isArray(splat)) for (const v of splat) if (v instanceof Error) return v;
  return undefined;
}

interface TransportLike {
  _logger?: { emit(record: LogRecord): void };
  log(info: Info, callback?: () => void): unknown;
}

type TransportClass = { prototype: TransportLike & { [kWrapped]?: true } };

/** Wraps OpenTelemetryTransportV3.prototype.log (the copy the winston instrumentation loads). */
export function trackWinstonErrors(onError: LoggedErrorHook, instrumentationPackage = '@opentelemetry/instrumentation-winston'): boolean {
  const req = createRequire(require.resolve(instrumentationPackage));
  const { OpenTelemetryTransportV3 } = req('@opentelemetry/winston-transport') as { OpenTelemetryTransportV3?: TransportClass };
  return trackTransportErrors(OpenTelemetryTransportV3, onError);
}

/**
 * The wrap itself, on the given transport class. False (said once on stderr) when the class or
 * its log() is gone: records go on as upstream emits them, not tracked. A transport instance
 * without `_logger` (set by upstream's constructor) is said once too, and logs as upstream's.
 */
export function trackTransportErrors(Transport: TransportClass | undefined, onError: LoggedErrorHook): boolean {
  const proto = Transport?.prototype;
  if (proto?.[kWrapped]) return false;
  if (!upstreamHas('winston-errors', '@opentelemetry/winston-transport OpenTelemetryTransportV3.prototype', proto, ['log'])) return false;
  const target = proto as TransportLike & { [kWrapped]?: true };
  const original = target.log;
  target.log = function otelkitWinstonLog(this: TransportLike, info: Info, callback?: () => void): unknown {
    const err = info !== null && typeof info === 'object' && info[LEVEL] === 'error' ? errorOf(info) : undefined;
    const logger = this._logger;
    if (err === undefined) return original.call(this, info, callback);
    if (typeof logger?.emit !== 'function') {
      reportPatchNotApplied('winston-errors', '@opentelemetry/winston-transport OpenTelemetryTransportV3 has no _logger');
      return original.call(this, info, callback);
    }
    const tracked = onError(err, (info[OTEL_CONTEXT] as Context | undefined) ?? context.active(), 'winston');
    if (tracked === undefined) return original.call(this, info, callback);
    // The transport emits synchronously in log(); its logger is swapped for that call only.
    this._logger = {
      emit(record: LogRecord): void {
        logger.emit({
          ...record,
          attributes: { ...record.attributes, ...(tracked.attributes as LogRecord['attributes']) },
          ...(tracked.exception ? { eventName: 'exception' } : {}),
        });
      },
    };
    try {
      return original.call(this, info, callback);
    } finally {
      this._logger = logger;
    }
  };
  Object.defineProperty(target, kWrapped, { value: true });
  return true;
}

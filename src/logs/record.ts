// One log record, from a level method's arguments to every output: parsed as winston parses
// them, normalised, redacted ONCE, then written to stdout, the rotated file, the OTel logs API
// (with the context captured at the call) and the application's own winston transports.
import { context, trace, type Context, type SpanContext } from '@opentelemetry/api';
import { logs, type Logger as OtelLogger, type LogAttributes } from '@opentelemetry/api-logs';
import { format } from 'node:util';
import type { LogLevel } from '../config/types';
import { OWN_SCOPE_VERSION } from '../redact/log-record-processor';
import { exceptionAttributes, serializeError, type SerializedError } from './serialize-error';
import { jsonLine, normalizeFields, prettyLine, type LineParts } from './format';
import { LEVEL_VALUES, SEVERITY } from './levels';
import type { OtelkitLogger } from './logger';
import { cache, redactor, state, warnOnce, type LogRedactor, type WinstonModule } from './logging-state';
import { writeOut } from './stdout-sink';

/** A record otelkit's logger made: already redacted, normalised and correlated. */
export interface OwnLogRecord {
  loggerName: string;
  timeMs: number;
  severityNumber: number;
  severityText: string;
  body: string;
  attributes: LogAttributes;
  spanContext: SpanContext | undefined;
  /** `exception` when the record is an error's exception record (error tracking). */
  eventName?: string;
}

const RESERVED = new Set(['timestamp', 'level', 'logger', 'message', 'service.name', 'trace_id', 'span_id', 'error']);
export const LEVEL_SYMBOL = Symbol.for('level');

function namePart(l: OtelkitLogger): string {
  if (l._okPartGen !== state.generation) {
    let p = ',"logger":' + JSON.stringify(l._okName);
    if (state.serviceName !== undefined) p += ',"service.name":' + JSON.stringify(state.serviceName);
    // Stored on the object that owns the name (the root logger), so children share it.
    const owner = rootOf(l);
    owner._okPart = p;
    owner._okPartGen = state.generation;
    return p;
  }
  return l._okPart;
}

function rootOf(l: OtelkitLogger): OtelkitLogger {
  return cache.get(l._okName) ?? l;
}

function otelLogger(l: OtelkitLogger): OtelLogger {
  if (l._okOtelGen !== state.generation || l._okOtel === undefined) {
    const owner = rootOf(l);
    // Scope = logger name, so a backend can filter by it as well as by the logger.name attribute.
    // The scope version marks records as already redacted (see redact/log-record-processor.ts).
    owner._okOtel = logs.getLogger(l._okName, OWN_SCOPE_VERSION);
    owner._okOtelGen = state.generation;
    return owner._okOtel;
  }
  return l._okOtel;
}

/** Normalised + redacted metadata, reserved keys moved aside so the JSON line has no duplicates. */
export function prepareFields(meta: object, r: LogRedactor): Record<string, unknown> | undefined {
  const n = normalizeFields(meta);
  if (n === undefined) return undefined;
  const red = r.redactValue(n);
  let renamed: Record<string, unknown> | undefined;
  for (const k in red) {
    if (RESERVED.has(k)) {
      renamed ??= { ...red };
      delete renamed[k];
      renamed[`_${k}`] = red[k];
    }
  }
  return renamed ?? red;
}

export function mergeFields(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return { ...a, ...b };
}

function primaryError(meta: Record<string, unknown>): { error: Error; key: string } | undefined {
  if (meta.err instanceof Error) return { error: meta.err, key: 'err' };
  if (meta.error instanceof Error) return { error: meta.error, key: 'error' };
  return undefined;
}

function without(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k) && !keys.includes(k)) copy[k] = o[k];
  return copy;
}

/**
 * The record path for everything at or above the level. Arguments follow winston:
 * (message), (message, meta), (Error), (message, Error), (infoObject), (message, ...splat).
 */
export function record(l: OtelkitLogger, level: LogLevel, argc: number, a0: unknown, a1: unknown, rest: readonly unknown[] | undefined): OtelkitLogger {
  if (l.silent) return l;
  const r = redactor();
  let message: string;
  let meta: Record<string, unknown> | undefined;
  let error: Error | undefined;

  if (typeof a0 === 'string') {
    message = a0;
  } else if (a0 instanceof Error) {
    error = a0;
    message = a0.message;
  } else if (a0 !== null && typeof a0 === 'object') {
    // An info object: { message, ...fields }.
    const o = a0 as Record<string, unknown>;
    const m = o.message;
    if (m instanceof Error) {
      error = m;
      message = m.message;
    } else {
      message = m === undefined ? '' : typeof m === 'string' ? m : format(m);
    }
    meta = without(o, ['message', 'level']);
  } else {
    message = argc === 0 ? '' : String(a0);
  }

  if (argc === 2) {
    if (a1 instanceof Error) {
      if (error === undefined) error = a1;
      else meta = { ...meta, error: a1 };
    } else if (a1 !== null && typeof a1 === 'object') {
      meta = meta === undefined ? (a1 as Record<string, unknown>) : { ...meta, ...(a1 as Record<string, unknown>) };
    } else if (a1 !== undefined) {
      message = format(message, a1);
    }
  } else if (argc > 2) {
    // (message, ...splat): a trailing plain object is metadata, the first Error the error, the
    // rest interpolated into the message like console.log does.
    const splat = [a1, ...(rest ?? [])];
    const last = splat[splat.length - 1];
    if (last !== null && typeof last === 'object' && !(last instanceof Error)) {
      splat.pop();
      meta = meta === undefined ? (last as Record<string, unknown>) : { ...meta, ...(last as Record<string, unknown>) };
    }
    const ei = splat.findIndex((v) => v instanceof Error);
    if (ei !== -1 && error === undefined) error = splat.splice(ei, 1)[0] as Error;
    if (splat.length > 0) message = format(message, ...splat);
  }

  if (meta !== undefined && error === undefined) {
    const pe = primaryError(meta);
    if (pe !== undefined) {
      error = pe.error;
      meta = without(meta, [pe.key]);
    }
  }

  const timeMs = Date.now();
  const ctx: Context = context.active();
  const sc = trace.getSpanContext(ctx);
  const traced = sc !== undefined && trace.isSpanContextValid(sc);

  message = r.redactString(message);
  let fields = meta === undefined ? undefined : prepareFields(meta, r);
  if (l.defaultMeta) fields = mergeFields(prepareFields(l.defaultMeta as object, r), fields);
  fields = mergeFields(l._okChild, fields);
  const err: SerializedError | undefined = error === undefined ? undefined : r.redactValue(serializeError(error));
  // Error tracking sees every log.error with an Error, exported or not (it counts them).
  const tracked = error !== undefined && level === 'error' && state.onError !== undefined ? state.onError(error, ctx) : undefined;

  const parts: LineParts = {
    timeMs,
    level,
    namePart: namePart(l),
    loggerName: l._okName,
    message,
    traceId: traced ? sc.traceId : undefined,
    spanId: traced ? sc.spanId : undefined,
    error: err,
    fields,
  };

  let json: string | undefined;
  try {
    const line = state.pretty ? prettyLine(parts) : (json = jsonLine(parts));
    writeOut(line);
    if (state.file !== undefined && LEVEL_VALUES[level] <= state.fileLevel) state.file.write(json ?? jsonLine(parts));
  } catch (e) {
    warnOnce('stdout', 'log output failed; records are being dropped', e);
  }

  if (state.bridge) {
    try {
      const attributes: Record<string, unknown> = { 'logger.name': l._okName };
      if (fields !== undefined) for (const k in fields) attributes[k] = fields[k];
      if (err !== undefined) exceptionAttributes(err, attributes);
      if (tracked !== undefined) for (const k in tracked.attributes) attributes[k] = tracked.attributes[k];
      const eventName = tracked?.exception ? 'exception' : undefined;
      if (state.sink !== undefined) {
        state.sink({
          loggerName: l._okName,
          timeMs,
          severityNumber: SEVERITY[level],
          severityText: level,
          body: message,
          // normalised above: plain, acyclic AnyValue data, which is what LogAttributes holds
          attributes: attributes as LogAttributes,
          spanContext: traced ? sc : undefined,
          eventName,
        });
      } else otelLogger(l).emit({
        timestamp: timeMs,
        severityNumber: SEVERITY[level],
        severityText: level,
        body: message,
        // normalised above: plain, acyclic AnyValue data, which is what LogAttributes holds
        attributes: attributes as LogAttributes,
        context: ctx,
        eventName,
      });
    } catch (e) {
      warnOnce('bridge', 'OTLP log bridge failed; records are not exported', e);
    }
  }

  if (l._okPiped) {
    // The application added winston transports of its own: they get the same (redacted) record.
    const info: Record<string | symbol, unknown> = { ...fields, level, message, [LEVEL_SYMBOL]: level };
    if (traced) {
      info.trace_id = sc.traceId;
      info.span_id = sc.spanId;
    }
    if (err !== undefined) info.error = err;
    // winston's own write (the Transform's), not our override
    const streamWrite = (state.winston as WinstonModule).Logger.prototype.write as (this: unknown, chunk: unknown) => boolean;
    streamWrite.call(l, info);
  }
  return l;
}

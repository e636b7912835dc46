// The production logger: winston's API, a fast pipeline underneath.
//
// getLogger() returns a real winston Logger (a subclass of winston.Logger), but its level methods
// do not go through winston's stream/format machinery. A record below the logger's level returns
// after one number comparison (no allocation). A record at or above it is parsed, normalised,
// redacted ONCE, then handed to every output from that single result: a hand-assembled JSON (or
// pretty) line on stdout, the rotated file, and the OTel logs API with the context captured at the
// call, so trace/span ids are those of the span active when the application logged.
//
// Exactly once on OTLP: our loggers emit to the OTel logs API themselves, and their add() refuses
// OpenTelemetryTransportV3. @opentelemetry/instrumentation-winston patches Logger.prototype
// .configure to push that transport into `options.transports` (which configure then add()s) and
// Logger.prototype.write to inject trace fields; our subclass overrides write() and add(), so
// neither patch ever touches our records. Loggers the application makes with winston.createLogger
// are untouched by all this: the instrumentation (configured by winstonInstrumentationConfig)
// correlates and bridges them, one record each.
import { context, trace, type Context, type SpanContext } from '@opentelemetry/api';
import { logs, type Logger as OtelLogger, type LogAttributes } from '@opentelemetry/api-logs';
import type { WinstonInstrumentationConfig } from '@opentelemetry/instrumentation-winston';
import type * as Winston from 'winston';
import * as fs from 'node:fs';
import { format } from 'node:util';
import type { LoggingConfig, LogLevel } from '../config/types';
import { emit as diagEmit } from '../diag';
import { createRedactor, type Redactor } from '../redact/redactor';
import { OWN_SCOPE_VERSION } from '../redact/log-record-processor';
import { installConsoleCapture, uninstallConsoleCapture } from './console-capture';
import { exceptionAttributes, serializeError, type SerializedError } from './serialize-error';
import { RotatingFileSink } from './file-sink';
import { jsonLine, normalizeFields, prettyLine, type LineParts } from './format';
import { LEVEL_NAMES, LEVEL_VALUES, SEVERITY, isLogLevel, levelFor } from './levels';

/** A record otelkit's logger made: already redacted, normalised and correlated. */
export interface OwnLogRecord {
  loggerName: string;
  timeMs: number;
  severityNumber: number;
  severityText: string;
  body: string;
  attributes: LogAttributes;
  spanContext: SpanContext | undefined;
}

export interface LoggingDeps {
  serviceName: string;
  redactor: Redactor;
  /**
   * Where bridged records go, bypassing the logs SDK's per-record validation (our records are
   * plain, redacted data already); without it they go through the global logs API.
   */
  sink?: (record: OwnLogRecord) => void;
  /** Where stdout lines go; tests inject a stream. */
  stdout?: NodeJS.WritableStream;
}

type LogRedactor = Pick<Redactor, 'redactString' | 'redactValue'>;

interface State {
  cfg: LoggingConfig;
  initialized: boolean;
  serviceName: string | undefined;
  redactor: LogRedactor | undefined;
  out: NodeJS.WritableStream | undefined;
  pretty: boolean;
  file: RotatingFileSink | undefined;
  /** LEVEL_VALUES of the file's minimum level; -1 without a file. */
  fileLevel: number;
  bridge: boolean;
  sink: ((record: OwnLogRecord) => void) | undefined;
  /** Bumped by init/reset so per-logger caches (name part, OTel logger) refresh. */
  generation: number;
}

// Before initLogging: info, JSON, redaction on, no file, no bridge (nothing is configured yet).
const DEFAULT_CONFIG: LoggingConfig = { level: 'info', levels: [], format: 'json', captureConsole: false, bridge: false };

const state: State = {
  cfg: DEFAULT_CONFIG,
  initialized: false,
  serviceName: undefined,
  redactor: undefined,
  out: undefined,
  pretty: false,
  file: undefined,
  fileLevel: -1,
  bridge: false,
  sink: undefined,
  generation: 0,
};

const RESERVED = new Set(['timestamp', 'level', 'logger', 'message', 'service.name', 'trace_id', 'span_id', 'error']);
const LEVEL_SYMBOL = Symbol.for('level');

/** The fields our subclass keeps on each logger (children see the parent's through the prototype). */
interface OkFields {
  _okName: string;
  /** LEVEL_VALUES threshold: a record passes when its value <= _okLv. */
  _okLv: number;
  /** The application set the level itself: initLogging must not override it. */
  _okLvSet: boolean;
  _okPart: string;
  _okPartGen: number;
  _okOtel: OtelLogger | undefined;
  _okOtelGen: number;
  /** Normalised, redacted metadata of child(): merged into every record. */
  _okChild: Record<string, unknown> | undefined;
  /** Transports the application add()ed: records also go through winston's own pipeline then. */
  _okPiped: boolean;
}

export type OtelkitLogger = Winston.Logger & OkFields;
type WinstonModule = typeof Winston;
type TransportStream = Parameters<Winston.Logger['add']>[0];

let W: WinstonModule | undefined;
let LoggerClass: (new (opts?: Winston.LoggerOptions) => OtelkitLogger) | undefined;
const cache = new Map<string, OtelkitLogger>();

function redactor(): LogRedactor {
  // Redaction is on by default (spec); before initLogging hands us the configured redactor, use
  // the built-in rules.
  return (state.redactor ??= createRedactor({ enabled: true, extraKeys: [] }));
}

function out(): NodeJS.WritableStream {
  return state.out ?? process.stdout;
}

// When stdout is a file or /dev/null, process.stdout is a SyncWriteStream: every write is already
// a synchronous fs.writeSync(1). Calling that directly skips the Writable machinery with the same
// ordering and durability. Pipes and TTYs (non-blocking fds) keep going through the stream, and so
// does a process.stdout.write that someone replaced (test runners capture output that way).
let directFd: 'unknown' | 'yes' | 'no' = 'unknown';
let stdoutWrite: unknown;
function writeOut(line: string): void {
  if (state.out !== undefined) {
    state.out.write(line);
    return;
  }
  if (directFd === 'unknown') {
    stdoutWrite = process.stdout.write;
    directFd = 'no';
    try {
      const st = fs.fstatSync(1);
      if ((st.isFile() || st.isCharacterDevice()) && !process.stdout.isTTY) directFd = 'yes';
    } catch {
      // no fd 1: the stream decides
    }
  }
  if (directFd === 'yes' && process.stdout.write === stdoutWrite) fs.writeSync(1, line);
  else process.stdout.write(line);
}

function isOtelTransport(t: unknown): boolean {
  // By constructor name: the application may have its own copy of @opentelemetry/winston-transport.
  const ctor = (t as { constructor?: { name?: unknown } } | null)?.constructor;
  return ctor?.name === 'OpenTelemetryTransportV3';
}

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
    // The scope version marks records as already redacted (see log-record-processor.ts).
    owner._okOtel = logs.getLogger(l._okName, OWN_SCOPE_VERSION);
    owner._okOtelGen = state.generation;
    return owner._okOtel;
  }
  return l._okOtel;
}

function warnOnce(key: string, message: string, err?: unknown): void {
  if (warned.has(key)) return;
  warned.add(key);
  const e = err instanceof Error ? { type: err.name, message: err.message, ...('code' in err ? { code: (err as { code: unknown }).code } : {}) } : err;
  diagEmit('warn', message, e === undefined ? undefined : { error: e });
}
const warned = new Set<string>();

/** Normalised + redacted metadata, reserved keys moved aside so the JSON line has no duplicates. */
function prepareFields(meta: object, r: LogRedactor): Record<string, unknown> | undefined {
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

function mergeFields(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
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
function record(l: OtelkitLogger, level: LogLevel, argc: number, a0: unknown, a1: unknown, rest: readonly unknown[] | undefined): OtelkitLogger {
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
        });
      } else otelLogger(l).emit({
        timestamp: timeMs,
        severityNumber: SEVERITY[level],
        severityText: level,
        body: message,
        // normalised above: plain, acyclic AnyValue data, which is what LogAttributes holds
        attributes: attributes as LogAttributes,
        context: ctx,
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
    const streamWrite = (W as WinstonModule).Logger.prototype.write as (this: unknown, chunk: unknown) => boolean;
    streamWrite.call(l, info);
  }
  return l;
}

function makeLevelMethod(level: LogLevel): (this: OtelkitLogger, a0?: unknown, a1?: unknown, ...rest: unknown[]) => OtelkitLogger {
  const lv = LEVEL_VALUES[level];
  return function (this: OtelkitLogger, a0?: unknown, a1?: unknown, ...rest: unknown[]): OtelkitLogger {
    // The whole cost of a disabled level: one comparison, before any argument is looked at.
    if (lv > this._okLv) return this;
    return record(this, level, rest.length > 0 ? 2 + rest.length : arguments.length, a0, a1, rest.length > 0 ? rest : undefined);
  };
}

function defineLoggerClass(w: WinstonModule): new (opts?: Winston.LoggerOptions) => OtelkitLogger {
  class Logger extends w.Logger {
    override add(transport: TransportStream): this {
      if (isOtelTransport(transport)) return this;
      super.add(transport);
      (this as unknown as OkFields)._okPiped = true;
      return this;
    }

    override remove(transport: TransportStream): this {
      super.remove(transport);
      (this as unknown as OkFields)._okPiped = this.transports.length > 0;
      return this;
    }

    override clear(): this {
      super.clear();
      (this as unknown as OkFields)._okPiped = false;
      return this;
    }

    override child(meta: object): this {
      const parent = this as unknown as OtelkitLogger;
      const c = Object.create(parent) as OtelkitLogger;
      // Redacted once here, not on every record of the child.
      c._okChild = mergeFields(parent._okChild, meta !== null && typeof meta === 'object' ? prepareFields(meta, redactor()) : undefined);
      return c as unknown as this;
    }

    override isLevelEnabled(level: string): boolean {
      return isLogLevel(level) && LEVEL_VALUES[level] <= (this as unknown as OkFields)._okLv;
    }

    override write(info: unknown): boolean {
      // winston's own helpers (profile, startTimer) and direct write(info) calls end up here.
      const o = info as Record<string | symbol, unknown> | null;
      if (o === null || typeof o !== 'object') return true;
      const lvl = o[LEVEL_SYMBOL] ?? o.level;
      const level = isLogLevel(lvl) ? lvl : 'info';
      const self = this as unknown as OtelkitLogger;
      if (LEVEL_VALUES[level] <= self._okLv) record(self, level, 1, o, undefined, undefined);
      return true;
    }
  }
  const proto = Logger.prototype as unknown as Record<string, unknown>;
  for (const level of LEVEL_NAMES) {
    proto[level] = makeLevelMethod(level);
    const cap = level[0].toUpperCase() + level.slice(1);
    proto[`is${cap}Enabled`] = function (this: OtelkitLogger): boolean {
      return LEVEL_VALUES[level] <= this._okLv;
    };
  }
  proto.log = function (this: OtelkitLogger, level: unknown, ...args: unknown[]): OtelkitLogger {
    if (level !== null && typeof level === 'object') {
      this.write(level);
      return this;
    }
    const lvl: LogLevel = isLogLevel(level) ? level : 'info';
    if (LEVEL_VALUES[lvl] > this._okLv) return this;
    return record(this, lvl, args.length, args[0], args[1], args.length > 2 ? args.slice(2) : undefined);
  };
  // winston's configure() assigns `this.level`; the accessor keeps the numeric threshold in step.
  Object.defineProperty(proto, 'level', {
    configurable: true,
    get(this: OkFields): string {
      return LEVEL_NAMES[this._okLv] ?? 'info';
    },
    set(this: OkFields, v: unknown) {
      if (!isLogLevel(v)) return;
      this._okLv = LEVEL_VALUES[v];
      this._okLvSet = true;
    },
  });
  return Logger as unknown as new (opts?: Winston.LoggerOptions) => OtelkitLogger;
}

function loadWinston(): new (opts?: Winston.LoggerOptions) => OtelkitLogger {
  if (LoggerClass === undefined) {
    // Loaded on first use, not at import: the SDK enables the winston instrumentation when winston
    // is first required, and otelkit's preload must not be the one that loads it too early.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    W = require('winston') as WinstonModule;
    LoggerClass = defineLoggerClass(W);
  }
  return LoggerClass;
}

function applyConfig(l: OtelkitLogger): void {
  if (!l._okLvSet) l._okLv = LEVEL_VALUES[levelFor(l._okName, state.cfg)];
}

/**
 * The logger for `name` (default: the service name, 'app' before initLogging), cached per name.
 * Usable before initLogging (info, JSON to stdout, redaction on); picks up the configuration
 * when initLogging runs.
 */
export function getLogger(name?: string): OtelkitLogger {
  const n = name ?? state.serviceName ?? 'app';
  let l = cache.get(n);
  if (l !== undefined) return l;
  const Ctor = loadWinston();
  l = new Ctor({ levels: W!.config.npm.levels, exitOnError: false });
  l._okName = n;
  l._okLvSet = false;
  l._okPartGen = -1;
  l._okOtelGen = -1;
  l._okOtel = undefined;
  l._okChild = undefined;
  l._okPiped = l._okPiped === true;
  applyConfig(l);
  cache.set(n, l);
  return l;
}

/** Applies the configuration. Idempotent: only the first call counts (see resetLogging for tests). */
export function initLogging(cfg: LoggingConfig, deps: LoggingDeps): void {
  if (state.initialized) return;
  state.initialized = true;
  state.cfg = cfg;
  state.serviceName = deps.serviceName;
  state.redactor = deps.redactor;
  state.out = deps.stdout;
  state.pretty = cfg.format === 'pretty';
  state.bridge = cfg.bridge;
  state.sink = deps.sink;
  state.generation++;
  if (cfg.file !== undefined) {
    const sink = new RotatingFileSink({
      path: cfg.file.path,
      maxSizeBytes: cfg.file.maxSizeBytes,
      maxFiles: cfg.file.maxFiles,
      onError: (message, err) => warnOnce('file', message, err),
    });
    if (sink.alive) {
      state.file = sink;
      state.fileLevel = LEVEL_VALUES[cfg.file.level];
    }
  }
  for (const l of cache.values()) applyConfig(l);
  // Resolved on the first console call, so capture alone does not load winston during start-up
  // (before the SDK has hooked it for the application's own loggers).
  if (cfg.captureConsole) {
    installConsoleCapture({
      info: (m) => getLogger('console').info(m),
      warn: (m) => getLogger('console').warn(m),
      error: (m) => getLogger('console').error(m),
      debug: (m) => getLogger('console').debug(m),
    }, console, (v) => redactor().redactValue(v));
  }
}

/** Writes out what is batched for the file and waits (bounded) for stdout to drain. */
export async function flushLogging(timeoutMs = 2000): Promise<void> {
  state.file?.flush();
  const o = out() as NodeJS.WritableStream & { writableNeedDrain?: boolean };
  if (o.writableNeedDrain) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(t);
        o.removeListener('drain', done);
        resolve();
      }
      o.once('drain', done);
    });
  }
}

/** For tests: back to the state before initLogging (loggers forgotten, file closed, console restored). */
export function resetLogging(): void {
  uninstallConsoleCapture();
  state.file?.close();
  state.file = undefined;
  state.fileLevel = -1;
  state.cfg = DEFAULT_CONFIG;
  state.initialized = false;
  state.serviceName = undefined;
  state.redactor = undefined;
  state.out = undefined;
  state.pretty = false;
  state.bridge = false;
  state.sink = undefined;
  state.generation++;
  directFd = 'unknown';
  cache.clear();
  warned.clear();
}

/**
 * Configuration for @opentelemetry/instrumentation-winston, which bridges and correlates the
 * loggers the application creates itself. Ours are immune to its patches (see the top of this
 * file), so every record reaches OTLP exactly once either way.
 */
export function winstonInstrumentationConfig(cfg: LoggingConfig): WinstonInstrumentationConfig {
  return {
    disableLogSending: !cfg.bridge,
    disableLogCorrelation: false,
  };
}

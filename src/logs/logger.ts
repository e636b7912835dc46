// The production logger: winston's API, a fast pipeline underneath.
//
// getLogger() returns a real winston Logger (a subclass of winston.Logger), but its level methods
// do not go through winston's stream/format machinery. A record below the logger's level returns
// after one number comparison (no allocation). A record at or above it is parsed, normalised,
// redacted ONCE, then handed to every output from that single result: a hand-assembled JSON (or
// pretty) line on stdout, the rotated file, and the OTel logs API with the context captured at the
// call, so trace/span ids are those of the span active when the application logged (record.ts).
//
// Exactly once on OTLP: our loggers emit to the OTel logs API themselves, and their add() refuses
// OpenTelemetryTransportV3 (upstream's configure() patch would push it into `options.transports`
// where otelkit's own patch cannot take records from winston: instrument/patches/winston-loggers.ts,
// which also skips our loggers). The instrumentation patches Logger.prototype.write to inject
// trace fields; our subclass overrides write() and add(), so no patch touches our records. Loggers
// the application makes with winston.createLogger are untouched by all this: the instrumentation
// (configured by winston-instrumentation-config.ts) correlates and bridges them, one record each.
import type { Logger as OtelLogger } from '@opentelemetry/api-logs';
import type * as Winston from 'winston';
import type { LogLevel } from '../config/types';
import { LEVEL_NAMES, LEVEL_VALUES, isLogLevel, levelFor } from './levels';
import { cache, redactor, state, type WinstonModule } from './logging-state';
import { LEVEL_SYMBOL, mergeFields, prepareFields, record } from './record';

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
type TransportStream = Parameters<Winston.Logger['add']>[0];

let LoggerClass: (new (opts?: Winston.LoggerOptions) => OtelkitLogger) | undefined;

/** Whether a winston logger is one of otelkit's (they emit to OTLP themselves). */
export function isOtelkitLogger(logger: unknown): boolean {
  return LoggerClass !== undefined && logger instanceof LoggerClass;
}

function isOtelTransport(t: unknown): boolean {
  // By constructor name: the application may have its own copy of @opentelemetry/winston-transport.
  const ctor = (t as { constructor?: { name?: unknown } } | null)?.constructor;
  return ctor?.name === 'OpenTelemetryTransportV3';
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
    state.winston = require('winston') as WinstonModule;
    LoggerClass = defineLoggerClass(state.winston);
  }
  return LoggerClass;
}

/** The level the configuration gives this logger's name, unless the application set one itself. */
export function applyConfig(l: OtelkitLogger): void {
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
  l = new Ctor({ levels: state.winston!.config.npm.levels, exitOnError: false });
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

// The application's own winston loggers under the winston instrumentation: bridged to OTLP and
// correlated as upstream does it, without the changes upstream makes to the loggers themselves.
// Upstream's configure() patch pushes an OpenTelemetryTransportV3 into the options' transports:
// into the application's own array, into logger.transports, and into a logger made without
// transports, which then no longer warns that it has none. Its write() patch stores the active
// context on each record as an enumerable symbol property, which assert.deepStrictEqual,
// Object.assign and spreads see. Here configure() is left alone; the context goes on the record
// as a non-enumerable property; and each formatted record reaches an OpenTelemetryTransportV3
// that is not piped to the logger: taken from the logger's push() while its _transform runs,
// filtered as winston-transport filters for a piped transport (no level of its own, so the
// logger's; exception records skipped), then handed to the transport's log(), which emits
// exactly what the piped one would.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- createRequire, to load what the instrumentation loads
import Module = require('node:module');
import { context } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { reportPatchNotApplied, upstreamHas } from './upstream-members';

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Info = Record<string | symbol, unknown>;

/** The winston instrumentation's members used here; they are not in its public typings. */
interface WinstonInternals {
  getConfig(): { disableLogSending?: boolean; disableLogCorrelation?: boolean; severityMapping?: unknown; logSeverity?: unknown };
  _getPatchedWrite(): (original: Fn) => Fn;
  _getPatchedConfigure(): (original: Fn) => Fn;
  _handleLogCorrelation(record: Info): unknown;
}

/** The parts of a winston Logger read here. */
interface WinstonLogger {
  level?: string;
  levels?: Record<string, number>;
  push(chunk: unknown, encoding?: BufferEncoding): boolean;
}

interface OtelTransport {
  log(info: unknown, callback: () => void): void;
}

/** The key upstream's write() patch and OpenTelemetryTransportV3 share for a record's context. */
const CONTEXT = Symbol.for('opentelemetry.js.contrib.winston.context');
/** triple-beam's LEVEL, the record's level as the logger and transports read it. */
const LEVEL = Symbol.for('level');

const noop = (): void => undefined;

/** OpenTelemetryTransportV3, from where the instrumentation itself would load it. */
function transportClass(): (new (options: object) => OtelTransport) | undefined {
  try {
    const fromInstrumentation = Module.createRequire(require.resolve('@opentelemetry/instrumentation-winston'));
    const cls = (fromInstrumentation('@opentelemetry/winston-transport') as { OpenTelemetryTransportV3?: unknown }).OpenTelemetryTransportV3;
    return typeof cls === 'function' ? (cls as new (options: object) => OtelTransport) : undefined;
  } catch {
    return undefined;
  }
}

function setContext(record: Info, value: unknown): void {
  Object.defineProperty(record, CONTEXT, { value, writable: true, configurable: true, enumerable: false });
}

/**
 * Applies the above to the instrumentation before winston loads (upstream builds its patches of
 * Logger.prototype when winston's logger.js is loaded). `isOwnLogger` tells otelkit's loggers,
 * which emit their records themselves. False (said once on stderr) when a member is gone:
 * upstream's patches stay as they are.
 */
export function winstonLeavesLoggersAlone(instrumentation: Instrumentation, isOwnLogger: (logger: unknown) => boolean): boolean {
  const inst = instrumentation as unknown as WinstonInternals;
  if (!upstreamHas('winston-loggers', '@opentelemetry/instrumentation-winston', inst, ['getConfig', '_getPatchedWrite', '_getPatchedConfigure', '_handleLogCorrelation'])) return false;
  const sending = inst.getConfig().disableLogSending !== true;
  const Transport = sending ? transportClass() : undefined;
  if (sending && Transport === undefined) {
    reportPatchNotApplied('winston-loggers', '@opentelemetry/winston-transport not found from @opentelemetry/instrumentation-winston');
    return false;
  }

  inst._getPatchedWrite = () => (original: Fn): Fn =>
    function write(this: unknown, ...args: unknown[]): unknown {
      const record = args[0];
      if (record !== null && typeof record === 'object') {
        setContext(record as Info, context.active());
        inst._handleLogCorrelation(record as Info);
      }
      return original.apply(this, args);
    };

  if (!sending || Transport === undefined) {
    inst._getPatchedConfigure = () => (original: Fn): Fn =>
      function configure(this: unknown, ...args: unknown[]): unknown {
        return original.apply(this, args);
      };
    return true;
  }

  let transport: OtelTransport | undefined;
  // The logger whose _transform is running, and the record it was given.
  let transforming: { logger: unknown; raw: unknown } | undefined;
  const tapped = new WeakSet<object>();

  const deliver = (logger: WinstonLogger, info: unknown, raw: unknown): void => {
    if (info === null || typeof info !== 'object' || isOwnLogger(logger)) return;
    const record = info as Info;
    if (record.exception === true) return;
    const levels = logger.levels ?? {};
    const level = logger.level;
    const recordLevel = record[LEVEL];
    if (level && !(levels[level] >= levels[typeof recordLevel === 'string' ? recordLevel : ''])) return;
    // A format may have returned a new object: the context travels with the record it was given.
    if (record[CONTEXT] === undefined && raw !== null && typeof raw === 'object' && (raw as Info)[CONTEXT] !== undefined) setContext(record, (raw as Info)[CONTEXT]);
    transport ??= new Transport({});
    transport.log(record, noop);
  };

  /**
   * Wraps _transform and push of winston's Logger.prototype, once, found from a logger. False
   * when this winston has no such prototype (the application's winston is not pinned by us).
   */
  const tap = (logger: object): boolean => {
    let proto: object | null = Object.getPrototypeOf(logger) as object | null;
    while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, '_transform')) proto = Object.getPrototypeOf(proto) as object | null;
    if (proto === null) return false;
    const p = proto as { _transform: unknown; push: unknown };
    if (typeof p._transform !== 'function' || typeof p.push !== 'function') return false;
    if (tapped.has(proto)) return true;
    tapped.add(proto);
    const transform = p._transform as Fn;
    const push = p.push as WinstonLogger['push'];
    p._transform = function _transform(this: unknown, info: unknown, ...rest: unknown[]): unknown {
      const outer = transforming;
      transforming = { logger: this, raw: info };
      try {
        return transform.call(this, info, ...rest);
      } finally {
        transforming = outer;
      }
    };
    p.push = function (this: WinstonLogger, chunk: unknown, encoding?: BufferEncoding): boolean {
      const t = transforming;
      if (t !== undefined && t.logger === this) {
        transforming = undefined;
        try {
          deliver(this, chunk, t.raw);
        } catch {
          // the bridge never breaks the application's logging
        }
      }
      return push.call(this, chunk, encoding);
    };
    return true;
  };

  const upstreamConfigure = inst._getPatchedConfigure;
  inst._getPatchedConfigure = () => (original: Fn): Fn => {
    // Where the records cannot be taken from the logger, upstream's way stays: its transport.
    const withTransport = upstreamConfigure.call(inst)(original);
    return function configure(this: unknown, ...args: unknown[]): unknown {
      if (this !== null && typeof this === 'object' && tap(this)) return original.apply(this, args);
      reportPatchNotApplied('winston-records', "the application's winston Logger has no _transform and push of its own, so its records go through upstream's transport");
      return withTransport.apply(this, args);
    };
  };
  return true;
}

// Level arithmetic shared by the logger, the file sink and console capture. winston's npm levels:
// a lower number is more severe; a record passes when its value <= the threshold.
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { LoggingConfig, LogLevel } from '../config/types';

export const LEVEL_NAMES: readonly LogLevel[] = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];

export const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = {
  error: 0,
  warn: 1,
  info: 2,
  http: 3,
  verbose: 4,
  debug: 5,
  silly: 6,
};

// Same mapping as @opentelemetry/winston-transport, so records from the application's own
// winston loggers (bridged by the instrumentation) and from ours sort the same in a backend.
export const SEVERITY: Readonly<Record<LogLevel, SeverityNumber>> = {
  error: SeverityNumber.ERROR,
  warn: SeverityNumber.WARN,
  info: SeverityNumber.INFO,
  http: SeverityNumber.DEBUG3,
  verbose: SeverityNumber.DEBUG2,
  debug: SeverityNumber.DEBUG,
  silly: SeverityNumber.TRACE,
};

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(LEVEL_VALUES, v);
}

/**
 * The level of a named logger: the longest override whose name is the logger's name or a dotted
 * ancestor of it (`db` covers `db` and `db.pool`, not `dbx`), else the default level.
 */
export function levelFor(name: string, cfg: Pick<LoggingConfig, 'level' | 'levels'>): LogLevel {
  let best: { name: string; level: LogLevel } | undefined;
  for (const o of cfg.levels) {
    if (name === o.name || (name.startsWith(o.name) && name.charCodeAt(o.name.length) === 46 /* . */)) {
      if (!best || o.name.length > best.name.length) best = o;
    }
  }
  return best ? best.level : cfg.level;
}

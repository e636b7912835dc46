// otelkit's own voice on stderr: JSON lines, one per event, never thrown into the application.
// Upstream is silent when OTEL_LOG_LEVEL is unset, which hides every export error; we default
// to warn and rate-limit the repetitive failures instead.
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import type { DiagLevelName } from './config';

const LEVELS: Record<DiagLevelName, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

let threshold: DiagLogLevel = DiagLogLevel.WARN;
let write: (line: string) => void = (line) => {
  try {
    process.stderr.write(line);
  } catch {
    // stderr closed: nowhere left to report to
  }
};

function describe(arg: unknown): unknown {
  if (arg instanceof Error) return { type: arg.name, message: arg.message, ...(hasCode(arg) ? { code: arg.code } : {}) };
  return arg;
}

function hasCode(e: Error): e is Error & { code: unknown } {
  return 'code' in e;
}

export function emit(level: 'error' | 'warn' | 'info' | 'debug' | 'verbose', msg: string, fields?: Record<string, unknown>): void {
  const rank = { error: DiagLogLevel.ERROR, warn: DiagLogLevel.WARN, info: DiagLogLevel.INFO, debug: DiagLogLevel.DEBUG, verbose: DiagLogLevel.VERBOSE }[level];
  if (rank > threshold) return;
  let line: string;
  try {
    line = JSON.stringify({ time: new Date().toISOString(), level, name: 'otelkit', msg, ...fields }) + '\n';
  } catch {
    line = JSON.stringify({ time: new Date().toISOString(), level, name: 'otelkit', msg }) + '\n';
  }
  write(line);
}

/** Routes the OTel API's diag channel (SDK, exporters, instrumentations) to our JSON lines. */
function diagLogger(): DiagLogger {
  const at = (level: 'error' | 'warn' | 'info' | 'debug' | 'verbose') => (message: string, ...args: unknown[]) => {
    emit(level, message, args.length ? { args: args.map(describe) } : undefined);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), verbose: at('verbose') };
}

export function setupDiag(level: DiagLevelName, sink?: (line: string) => void): void {
  threshold = LEVELS[level];
  if (sink) write = sink;
  diag.setLogger(diagLogger(), { logLevel: threshold, suppressOverrideMessage: true });
}

const reported = new Set<string>();

/** A failure inside otelkit: said once per key, then silence; the application goes on. */
export function reportOnce(key: string, msg: string, err?: unknown): void {
  if (reported.has(key)) return;
  reported.add(key);
  emit('error', msg, err === undefined ? undefined : { error: describe(err) });
}

/** Runs fn; any throw is reported once under key and swallowed. */
export function guard<T>(key: string, what: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    reportOnce(key, `${what} failed; continuing without it`, err);
    return undefined;
  }
}

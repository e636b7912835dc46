// otelkit's own voice on stderr: JSON lines, one per event, never thrown into the application.
// Upstream is silent when OTEL_LOG_LEVEL is unset, which hides every export error; we default
// to warn and rate-limit the repetitive failures instead.
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import type { DiagLevelName } from './config/types';

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

// Upstream repeats the same complaint for every failed batch; one line per message a minute
// is enough, with the count of what was held back.
const REPEAT_INTERVAL_MS = 60_000;
const lastSaid = new Map<string, { at: number; held: number }>();

function rateLimited(key: string): number | undefined {
  const now = Date.now();
  const seen = lastSaid.get(key);
  if (seen && now - seen.at < REPEAT_INTERVAL_MS) {
    seen.held++;
    return undefined;
  }
  if (lastSaid.size > 500) lastSaid.clear();
  lastSaid.set(key, { at: now, held: 0 });
  return seen?.held ?? 0;
}

// The metrics reader gives up on a slow export with its own error line while the exporter is
// still retrying; the exporter's outcome is reported (rate-limited) by export-health, so the
// reader's line is only debug detail.
const REPORTED_ELSEWHERE = /^PeriodicExportingMetricReader: metrics export (timed out|failed|threw)/;

/** Routes the OTel API's diag channel (SDK, exporters, instrumentations) to our JSON lines. */
function diagLogger(): DiagLogger {
  const at = (level: 'error' | 'warn' | 'info' | 'debug' | 'verbose') => (message: string, ...args: unknown[]) => {
    if ((level === 'error' || level === 'warn') && REPORTED_ELSEWHERE.test(message)) level = 'debug';
    if (level === 'error' || level === 'warn') {
      const held = rateLimited(`${level}:${message}`);
      if (held === undefined) return;
      if (held > 0) args = [...args, { repeated: held }];
    }
    emit(level, message, args.length ? { args: args.map(describe) } : undefined);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), verbose: at('verbose') };
}

export function setupDiag(level: DiagLevelName, sink?: (line: string) => void): void {
  threshold = LEVELS[level];
  if (sink) write = sink;
  diag.setLogger(diagLogger(), { logLevel: threshold, suppressOverrideMessage: true });
}

/**
 * The SDK's global error handler: failures of exports otelkit already reported (rate-limited,
 * in export-health) are dropped; anything else is said at most once a minute per message.
 */
export function handleSdkError(err: unknown, alreadyReported: (err: unknown) => boolean): void {
  if (alreadyReported(err)) return;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : 'SDK error';
  const held = rateLimited(`sdk:${message}`);
  if (held === undefined) return;
  emit('warn', `OpenTelemetry SDK: ${message}`, { error: describe(err), ...(held ? { repeated: held } : {}) });
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

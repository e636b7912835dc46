// The logging lifecycle: initLogging applies the configuration (once) to the state every logger
// reads, flushLogging drains the file and stdout before exit, resetLogging (tests) undoes both.
import type { LoggingConfig } from '../config/types';
import type { Redactor } from '../redact/redactor';
import { installConsoleCapture, uninstallConsoleCapture } from './console-capture';
import { RotatingFileSink } from './file-sink';
import { LEVEL_VALUES } from './levels';
import { applyConfig, getLogger } from './logger';
import { DEFAULT_CONFIG, cache, redactor, state, warnOnce, warned, type LoggedErrorHook } from './logging-state';
import type { OwnLogRecord } from './record';
import { out, resetStdoutSink } from './stdout-sink';

export interface LoggingDeps {
  serviceName: string;
  redactor: Redactor;
  /**
   * Where bridged records go, bypassing the logs SDK's per-record validation (our records are
   * plain, redacted data already); without it they go through the global logs API.
   */
  sink?: (record: OwnLogRecord) => void;
  /** Error tracking: called for each record at level error that carries an Error. */
  onError?: LoggedErrorHook;
  /** Where stdout lines go; tests inject a stream. */
  stdout?: NodeJS.WritableStream;
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
  state.onError = deps.onError;
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
  state.onError = undefined;
  state.generation++;
  resetStdoutSink();
  cache.clear();
  warned.clear();
}

// Signals, crashes and exit: flush every signal within a bound, then behave as Node would
// have without us (a crash: Node itself prints and exits, see onUncaught). A SIGTERM listener disables Node's default exit, so when the application
// has no handler of its own we exit ourselves (128 + signal number) after the flush.
import { constants } from 'node:os';
import { emit } from '../diag';
import type { OtlpRequest } from '../export/pending-requests';
import { deliverBeforeExit } from './crash-delivery';

export interface ShutdownHooks {
  timeoutMs: number;
  /** Readiness goes to 503 the moment shutdown begins. */
  onShutdownStart(): void;
  /** Flush everything; `final`: the process is done, the application may yet go on. */
  flush(options?: { final?: boolean }): Promise<void>;
  /** Flush and stop the SDK (the process is about to end). */
  shutdown(): Promise<void>;
  /** Whether anything was recorded since the last flush. */
  hasPending(): boolean;
  /** The one place an uncaught error is handled (crash.ts); `fatal`: nobody else handles it. */
  recordUncaught(error: unknown, origin: string, fatal: boolean): void;
  /** What is queued for export, as requests, taken off the queues (for a crash). */
  takePending(): OtlpRequest[];
}

/** Resolves when p settles or after ms, whichever is first; never rejects. */
export function bounded(p: Promise<unknown>, ms: number, what: string): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      emit('warn', `${what} did not finish within ${ms} ms; giving up on the rest`);
      resolve();
    }, ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        emit('warn', `${what} failed`, { error: err instanceof Error ? err.message : String(err) });
        resolve();
      },
    );
  });
}

let installed = false;
let shuttingDown = false;

export function installShutdownHandlers(hooks: ShutdownHooks): void {
  if (installed) return;
  installed = true;

  const onSignal = (signal: NodeJS.Signals) => {
    const appHandles = process.listenerCount(signal) > 1;
    if (shuttingDown) {
      // A second Ctrl-C while flushing: the operator wants out now.
      if (!appHandles) process.exit(128 + (constants.signals[signal] ?? 15));
      return;
    }
    shuttingDown = true;
    hooks.onShutdownStart();
    const work = appHandles ? hooks.flush() : hooks.shutdown();
    void bounded(work, hooks.timeoutMs, `flush on ${signal}`).then(() => {
      if (!appHandles) process.exit(128 + (constants.signals[signal] ?? 15));
    });
  };

  // A monitor, not an 'uncaughtException' listener: it sees the error and changes nothing of what
  // Node does next. Node exits on an uncaught exception (or an unhandled rejection in its default
  // mode) only when nobody listens for 'uncaughtException' nor set a capture callback; then it
  // prints the error from where it was thrown and exits 1 as soon as the monitors return. So a
  // fatal error is recorded and the last exports sent before returning, synchronously
  // (crash-delivery.ts), and the crash reads exactly as it would without otelkit.
  let crashing = false;
  const onUncaught = (err: unknown, origin: string) => {
    const fatal = process.listenerCount('uncaughtException') === 0 && !process.hasUncaughtExceptionCaptureCallback();
    try {
      hooks.recordUncaught(err, origin, fatal);
    } catch {
      // recording must never mask the application's own error
    }
    if (!fatal) {
      void bounded(hooks.flush(), hooks.timeoutMs, 'flush after uncaught exception');
      return;
    }
    if (crashing) return;
    crashing = true;
    shuttingDown = true;
    try {
      hooks.onShutdownStart();
      deliverBeforeExit(hooks.takePending(), hooks.timeoutMs);
    } catch {
      // the crash goes on as Node's, whatever happened here
    }
  };

  let flushingBeforeExit = false;
  const onBeforeExit = () => {
    // beforeExit fires again after our async flush empties the loop: flush only new data.
    if (flushingBeforeExit || shuttingDown || !hooks.hasPending()) return;
    flushingBeforeExit = true;
    void bounded(hooks.flush({ final: true }), hooks.timeoutMs, 'flush before exit').then(() => {
      flushingBeforeExit = false;
    });
  };

  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('uncaughtExceptionMonitor', onUncaught);
  process.on('beforeExit', onBeforeExit);
}

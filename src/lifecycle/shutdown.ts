// Signals, crashes and exit: flush every signal within a bound, then behave as Node would
// have without us. A SIGTERM listener disables Node's default exit, so when the application
// has no handler of its own we exit ourselves (128 + signal number) after the flush.
import { constants } from 'node:os';
import { emit } from '../diag';

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
  recordCrash(error: unknown, origin: string): void;
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

  let crashing = false;
  const onUncaught = (err: unknown, origin: string) => {
    // Node exits on an uncaught exception only when nobody else listens for it.
    const appHandles = process.listenerCount('uncaughtException') > 1;
    try {
      hooks.recordCrash(err, origin);
    } catch {
      // recording must never mask the application's own error
    }
    if (appHandles) {
      void bounded(hooks.flush(), hooks.timeoutMs, 'flush after uncaught exception');
      return;
    }
    if (crashing) return;
    crashing = true;
    shuttingDown = true;
    hooks.onShutdownStart();
    void bounded(hooks.shutdown(), hooks.timeoutMs, 'flush after crash').then(() => {
      // Give the error back to Node, now with no listener: it prints the stack its own way
      // and exits with code 1, exactly as it would have without otelkit.
      process.removeListener('uncaughtException', onUncaught);
      process.nextTick(() => {
        throw err;
      });
    });
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
  process.on('uncaughtException', onUncaught);
  process.on('beforeExit', onBeforeExit);
}

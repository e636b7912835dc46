// The running SDK, once compose.ts has built it: its providers and admin server, and the two
// things done with them afterwards, flush() and shutdown() (the public API's, the signal and
// crash handlers').
import type { Server } from 'node:http';
import type { TracerProvider } from '@opentelemetry/sdk-trace';
import type { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Config } from '../config/types';
import { flushLogging } from '../logs/setup';
import { health } from '../health/instance';
import { clearPendingWork } from './pending-work';
import { bounded } from './shutdown';
import { setFinishing } from '../export/retrying-transport';
import { abandonExports } from '../export/exporters';

export interface RunningSdk {
  config: Config;
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
  loggerProvider: LoggerProvider;
  admin?: Server;
  stopped: boolean;
}

let running: RunningSdk | undefined;

export function isRunning(): boolean {
  return running !== undefined;
}

export function setRunning(sdk: RunningSdk): void {
  running = sdk;
}

/**
 * Holds the event loop while `work` runs, for `ms` at most. Exports never keep the process alive
 * by themselves (their sockets and timers are unreferenced), so that a process that is done exits;
 * an explicit flush is what may keep it, within the shutdown bound.
 */
function holdWhile(work: Promise<unknown>, ms: number, onExpire: () => void = () => {}): void {
  const timer = setTimeout(onExpire, ms);
  const release = (): void => clearTimeout(timer);
  work.then(release, release);
}

/**
 * Flushes every signal; the SDK keeps running. `final`: the process is done (beforeExit), so a
 * failed export is not retried (an unreachable collector must not keep a finished process).
 */
export async function flush(options: { final?: boolean } = {}): Promise<void> {
  const r = running;
  if (!r || r.stopped) return;
  clearPendingWork();
  if (options.final) setFinishing(true);
  const work = Promise.allSettled([
    flushLogging(r.config.shutdownTimeoutMs),
    r.loggerProvider.forceFlush(),
    r.tracerProvider.forceFlush(),
    r.meterProvider.forceFlush(),
  ]);
  // The last flush that runs out of time lets go of what is still under way.
  holdWhile(work, r.config.shutdownTimeoutMs, options.final ? abandonExports : undefined);
  await work;
  // The application may go on after its beforeExit: retries resume.
  if (options.final) setFinishing(false);
}

/** Flushes and stops the SDK, bounded by OTELKIT_SHUTDOWN_TIMEOUT_MS. Safe to call twice. */
export async function shutdown(): Promise<void> {
  const r = running;
  if (!r || r.stopped) return;
  r.stopped = true;
  health.markShuttingDown();
  clearPendingWork();
  // The process is ending: one attempt each, within the bound.
  setFinishing(true);
  const work = (async () => {
    await flushLogging(r.config.shutdownTimeoutMs).catch(() => {});
    await Promise.allSettled([r.tracerProvider.shutdown(), r.loggerProvider.shutdown(), r.meterProvider.shutdown()]);
    r.admin?.close();
  })();
  await bounded(work, r.config.shutdownTimeoutMs, 'otelkit shutdown');
  abandonExports();
}

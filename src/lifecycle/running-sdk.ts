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

/** Flushes every signal; the SDK keeps running. */
export async function flush(): Promise<void> {
  const r = running;
  if (!r || r.stopped) return;
  clearPendingWork();
  await Promise.allSettled([
    flushLogging(r.config.shutdownTimeoutMs),
    r.loggerProvider.forceFlush(),
    r.tracerProvider.forceFlush(),
    r.meterProvider.forceFlush(),
  ]);
}

/** Flushes and stops the SDK, bounded by OTELKIT_SHUTDOWN_TIMEOUT_MS. Safe to call twice. */
export async function shutdown(): Promise<void> {
  const r = running;
  if (!r || r.stopped) return;
  r.stopped = true;
  health.markShuttingDown();
  clearPendingWork();
  const work = (async () => {
    await flushLogging(r.config.shutdownTimeoutMs).catch(() => {});
    await Promise.allSettled([r.tracerProvider.shutdown(), r.loggerProvider.shutdown(), r.meterProvider.shutdown()]);
    r.admin?.close();
  })();
  await bounded(work, r.config.shutdownTimeoutMs, 'otelkit shutdown');
}

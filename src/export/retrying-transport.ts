// The retry policy of the OTLP/HTTP exports, as upstream's: which answers are retryable
// (429/502/503/504, network errors, Retry-After honoured) and its schedule around a transport
// (5 retries, backoff from 1 s by 1.5x up to 5 s with 20% jitter, within the export's timeout),
// except that no retry keeps a finished process alive.
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';

const RETRYABLE_NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH']);

export function retryableStatus(code: number): boolean {
  return code === 429 || code === 502 || code === 503 || code === 504;
}

/** Retry-After in milliseconds, as upstream reads it: seconds, or an HTTP date. */
export function retryAfterMillis(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number.parseInt(value, 10);
  if (Number.isInteger(seconds)) return seconds > 0 ? seconds * 1000 : -1;
  const delay = new Date(value).getTime() - Date.now();
  return delay >= 0 ? delay : 0;
}

export function networkFailure(error: Error): ExportResponse {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && RETRYABLE_NETWORK_ERRORS.has(code) ? { status: 'retryable', error } : { status: 'failure', error };
}

// Whether the process is finishing: its last flush (beforeExit), a shutdown or a crash. Then a
// failed attempt is final: a process that is done exits instead of waiting out backoffs for a
// collector that is not there. Retries resume when the application goes on after all.
// The state lives on globalThis: the main bundle (where the lifecycle sets it) and the exporters'
// bundle (where the transports read it) each carry a copy of this module.
interface FinishingState {
  on: boolean;
  sleepers: Set<() => void>;
}
const STATE_KEY = Symbol.for('otelkit.export.finishing');
const holder = globalThis as typeof globalThis & { [STATE_KEY]?: FinishingState };
const state: FinishingState = (holder[STATE_KEY] ??= { on: false, sleepers: new Set() });
const sleepers = state.sleepers;

/** The lifecycle says when the process is finishing; backoffs under way end at once. */
export function setFinishing(on: boolean): void {
  state.on = on;
  if (on) for (const wake of [...sleepers]) wake();
}

/**
 * A backoff wait that never keeps the process alive by itself (an explicit flush holds the event
 * loop for its bound, lifecycle/keep-alive.ts) and ends early when the process starts finishing.
 */
function waitBackoff(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      sleepers.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    timer.unref();
    sleepers.add(wake);
  });
}

const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF = 1000;
const MAX_BACKOFF = 5000;
const BACKOFF_MULTIPLIER = 1.5;
const JITTER = 0.2;

/** Upstream's retry schedule around a transport (its RetryingTransport is not exported). */
export class RetryingTransport implements IExporterTransport {
  constructor(private readonly transport: IExporterTransport) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    let result = await this.transport.send(data, timeoutMillis);
    let attempts = MAX_ATTEMPTS;
    let nextBackoff = INITIAL_BACKOFF;
    while (result.status === 'retryable' && attempts > 0 && !state.on) {
      attempts--;
      const backoff = Math.max(Math.min(nextBackoff * (1 + (Math.random() * 2 * JITTER - JITTER)), MAX_BACKOFF), 0);
      nextBackoff *= BACKOFF_MULTIPLIER;
      const retryIn = result.retryInMillis ?? backoff;
      const remaining = deadline - Date.now();
      if (retryIn > remaining) return result;
      await waitBackoff(retryIn);
      if (state.on) return result;
      result = await this.transport.send(data, deadline - Date.now());
    }
    return result;
  }

  shutdown(): void {
    this.transport.shutdown();
  }
}

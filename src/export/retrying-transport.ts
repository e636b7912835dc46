// The retry policy of the OTLP/HTTP exports, as upstream's: which answers are retryable
// (429/502/503/504, network errors, Retry-After honoured) and its schedule around a transport
// (5 retries, backoff from 1 s by 1.5x up to 5 s with 20% jitter, within the export's timeout).
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
    while (result.status === 'retryable' && attempts > 0) {
      attempts--;
      const backoff = Math.max(Math.min(nextBackoff * (1 + (Math.random() * 2 * JITTER - JITTER)), MAX_BACKOFF), 0);
      nextBackoff *= BACKOFF_MULTIPLIER;
      const retryIn = result.retryInMillis ?? backoff;
      const remaining = deadline - Date.now();
      if (retryIn > remaining) return result;
      await new Promise((r) => setTimeout(r, retryIn));
      result = await this.transport.send(data, deadline - Date.now());
    }
    return result;
  }

  shutdown(): void {
    this.transport.shutdown();
  }
}

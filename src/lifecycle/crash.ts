// What a crash leaves behind before the process goes: the exception on the active span (marked
// as an error) and an error record in otelkit's log. shutdown.ts calls it for an uncaught
// exception (an unhandled rejection arrives as one, with its origin), then flushes.
import { trace, type Span } from '@opentelemetry/api';
import { getLogger } from '../logs/logger';
import { noteCrash } from '../errors/capture';

export function recordCrash(error: unknown, origin: string): void {
  const span: Span | undefined = trace.getActiveSpan();
  const err = error instanceof Error ? error : new Error(String(error));
  if (span) {
    span.recordException(err);
    span.setStatus({ code: 2, message: err.message });
  }
  noteCrash(err, origin);
  getLogger('otelkit').error(origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception', err);
}

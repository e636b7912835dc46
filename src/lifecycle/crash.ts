// What an uncaught error leaves behind: the exception on the active span (marked as an error) and
// an error record. shutdown.ts calls recordUncaught, the one place where "an uncaught error was
// seen" is handled, for an uncaught exception and an unhandled rejection (origin
// 'unhandledRejection'), before Node decides what happens to the process.
//
// `fatal`: nobody else handles it, the process is about to end. The record then goes to otelkit's
// structured log (stdout, the log file) and to OTLP. When the application handles the error
// itself, its process goes on and its stdout is its own (it may carry data or a protocol): the
// record goes to OTLP only.
import { trace, type Span } from '@opentelemetry/api';
import { getLogger } from '../logs/logger';
import { captureUncaught, noteCrash } from '../errors/capture';

export function recordUncaught(error: unknown, origin: string, fatal: boolean): void {
  const span: Span | undefined = trace.getActiveSpan();
  const err = error instanceof Error ? error : new Error(String(error));
  if (span) {
    span.recordException(err);
    span.setStatus({ code: 2, message: err.message });
  }
  const message = origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception';
  if (fatal) {
    // The log line becomes the error's exception record (errors/capture.ts), marked with its origin.
    noteCrash(err, origin);
    getLogger('otelkit').error(message, err);
    return;
  }
  captureUncaught(err, origin);
}

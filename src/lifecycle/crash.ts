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
import { logs, SeverityNumber, type LogAttributes } from '@opentelemetry/api-logs';
import { getLogger } from '../logs/logger';
import { exceptionAttributes, serializeError } from '../logs/serialize-error';

export function recordUncaught(error: unknown, origin: string, fatal: boolean): void {
  const span: Span | undefined = trace.getActiveSpan();
  const err = error instanceof Error ? error : new Error(String(error));
  if (span) {
    span.recordException(err);
    span.setStatus({ code: 2, message: err.message });
  }
  const message = origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception';
  if (fatal) {
    getLogger('otelkit').error(message, err);
    return;
  }
  // Through the logs API: the redacting processor redacts it like any record not of otelkit's loggers.
  const attributes: Record<string, unknown> = { 'logger.name': 'otelkit' };
  exceptionAttributes(serializeError(err), attributes);
  logs.getLogger('otelkit').emit({
    severityNumber: SeverityNumber.ERROR,
    severityText: 'error',
    body: message,
    // serialised: plain strings and numbers, which is what LogAttributes holds
    attributes: attributes as LogAttributes,
  });
}

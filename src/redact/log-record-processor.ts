// Redacts log records that did not come through otelkit's logger (the application's own
// winston loggers bridged by the instrumentation, pino, bunyan, direct API use) before any
// exporter sees them. otelkit's logger redacts once, before its transports, and marks its
// records with its scope version so they are not scanned twice on the hot path.
import type { Context } from '@opentelemetry/api';
import type { AnyValue } from '@opentelemetry/api-logs';
import type { LogRecordProcessor, SdkLogRecord } from '@opentelemetry/sdk-logs';
import type { Redactor } from './redactor';
import { VERSION } from '../version';

export const OWN_SCOPE_VERSION = `otelkit-${VERSION}`;

export class RedactingLogRecordProcessor implements LogRecordProcessor {
  constructor(private readonly redactor: Redactor) {}

  onEmit(record: SdkLogRecord, _context?: Context): void {
    if (!this.redactor.enabled || record.instrumentationScope.version === OWN_SCOPE_VERSION) return;
    const body = record.body;
    if (body !== undefined && body !== null) {
      const clean = typeof body === 'string' ? this.redactor.redactString(body) : this.redactor.redactValue(body);
      if (clean !== body) record.setBody(clean);
    }
    const attrs = record.attributes as Record<string, unknown>;
    const cleanAttrs = this.redactor.redactAttributes(attrs);
    if (cleanAttrs !== attrs) {
      for (const [k, v] of Object.entries(cleanAttrs)) {
        if (v !== attrs[k]) record.setAttribute(k, v as AnyValue);
      }
    }
  }

  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

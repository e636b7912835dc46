// Hands otelkit's own log records straight to the batch processor as readable records. The logs
// SDK's Logger.emit builds a mutable record, validates every attribute (a WeakSet per value)
// and copies it; for records the logger has already normalised and redacted that is a second
// pass of the same work, and it was the larger half of the bridge's cost per record.
import type { HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor, ReadableLogRecord, SdkLogRecord } from '@opentelemetry/sdk-logs';
import type { OwnLogRecord } from './record';
import { OWN_SCOPE_VERSION } from '../redact/log-record-processor';

function hrTime(ms: number): HrTime {
  const s = Math.trunc(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

export function ownRecordSink(resource: Resource, processor: LogRecordProcessor): (r: OwnLogRecord) => void {
  const scopes = new Map<string, InstrumentationScope>();
  return (r) => {
    let scope = scopes.get(r.loggerName);
    if (!scope) {
      scope = { name: r.loggerName, version: OWN_SCOPE_VERSION };
      if (scopes.size < 1000) scopes.set(r.loggerName, scope);
    }
    const time = hrTime(r.timeMs);
    const record: ReadableLogRecord = {
      hrTime: time,
      hrTimeObserved: time,
      spanContext: r.spanContext,
      severityText: r.severityText,
      severityNumber: r.severityNumber,
      body: r.body,
      attributes: r.attributes,
      droppedAttributesCount: 0,
      resource,
      instrumentationScope: scope,
      eventName: r.eventName,
    };
    // The batch processor only queues what it is given; it never writes to the record.
    processor.onEmit(record as SdkLogRecord);
  };
}

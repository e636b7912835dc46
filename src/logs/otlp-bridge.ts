// Hands otelkit's own log records straight to the batch processor as readable records. The logs
// SDK's Logger.emit builds a mutable record, validates every attribute (a WeakSet per value)
// and copies it; for records the logger has already normalised and redacted that is a second
// pass of the same work, and it was the larger half of the bridge's cost per record. What it does
// keep of the SDK's record is the attribute limits (OTEL_LOGRECORD_ATTRIBUTE_*_LIMIT), applied as
// the SDK's addAttribute does: the first attributes kept up to the count, the rest counted as
// dropped, strings (also inside arrays and maps) cut to the length.
import type { HrTime } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor, ReadableLogRecord, SdkLogRecord } from '@opentelemetry/sdk-logs';
import type { AttributeLimits } from '../config/types';
import type { OwnLogRecord } from './record';
import { OWN_SCOPE_VERSION } from '../redact/log-record-processor';

function hrTime(ms: number): HrTime {
  const s = Math.trunc(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

// The logs SDK's defaults (LoggerProvider), when a limit is not configured.
const DEFAULT_COUNT_LIMIT = 128;

type Value = ReadableLogRecord['attributes'][string];

/** The SDK's truncateToSize. */
function truncated(value: Value, limit: number): Value {
  if (typeof value === 'string') return value.length <= limit ? value : value.substring(0, limit);
  if (value === null || value === undefined || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((v: Value) => truncated(v, limit));
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(value)) out[k] = truncated(v, limit);
  return out;
}

/** Whether a value holds a string longer than the limit anywhere. */
function tooLong(value: Value, limit: number): boolean {
  if (typeof value === 'string') return value.length > limit;
  if (value === null || value === undefined || typeof value !== 'object' || value instanceof Uint8Array) return false;
  if (Array.isArray(value)) return value.some((v: Value) => tooLong(v, limit));
  return Object.values(value).some((v) => tooLong(v, limit));
}

/**
 * The attributes within the limits and how many were dropped; the record's own object when it
 * is within them already (the usual case: no copy).
 */
export function limitAttributes(attributes: ReadableLogRecord['attributes'], countLimit: number, lengthLimit: number): [ReadableLogRecord['attributes'], number] {
  let count = 0;
  let over = false;
  for (const k in attributes) {
    if (++count > countLimit || (lengthLimit !== Infinity && tooLong(attributes[k], lengthLimit))) over = true;
  }
  if (!over) return [attributes, 0];
  const kept: ReadableLogRecord['attributes'] = {};
  let n = 0;
  for (const k in attributes) {
    if (n === countLimit) break;
    kept[k] = lengthLimit === Infinity ? attributes[k] : truncated(attributes[k], lengthLimit);
    n++;
  }
  return [kept, Math.max(0, count - countLimit)];
}

export function ownRecordSink(resource: Resource, processor: LogRecordProcessor, limits: AttributeLimits = {}): (r: OwnLogRecord) => void {
  const countLimit = limits.attributeCountLimit ?? DEFAULT_COUNT_LIMIT;
  const lengthLimit = limits.attributeValueLengthLimit ?? Infinity;
  const scopes = new Map<string, InstrumentationScope>();
  return (r) => {
    let scope = scopes.get(r.loggerName);
    if (!scope) {
      scope = { name: r.loggerName, version: OWN_SCOPE_VERSION };
      if (scopes.size < 1000) scopes.set(r.loggerName, scope);
    }
    const time = hrTime(r.timeMs);
    const [attributes, dropped] = limitAttributes(r.attributes, countLimit, lengthLimit);
    const record: ReadableLogRecord = {
      hrTime: time,
      hrTimeObserved: time,
      spanContext: r.spanContext,
      severityText: r.severityText,
      severityNumber: r.severityNumber,
      body: r.body,
      attributes,
      droppedAttributesCount: dropped,
      resource,
      instrumentationScope: scope,
      eventName: r.eventName,
    };
    // The batch processor only queues what it is given; it never writes to the record.
    processor.onEmit(record as SdkLogRecord);
  };
}

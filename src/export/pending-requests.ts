// What is queued for export, as ready-made OTLP/HTTP requests: for a crash, when the process ends
// before an export could run (lifecycle/crash-delivery.ts sends them from a worker thread while
// the main thread waits). The two HTTP protocols: spans the encoding processor holds as bytes (or
// the SDK's batch processor holds, for http/json), log records the SDK's batch processor holds.
// gRPC and the console exporter: nothing (their queues are lost at a crash).
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { OtlpConfig } from '../config/types';
import { VERSION } from '../version';
import { EncodingSpanProcessor } from './encoding-span-processor';
import { encodeJsonSpansNow, encodeLogsNow } from './exporters';

export interface OtlpRequest {
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  gzip: boolean;
}

function request(cfg: OtlpConfig, body: Uint8Array): OtlpRequest {
  const contentType = cfg.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
  return {
    url: cfg.endpoint,
    headers: { ...cfg.headers, 'Content-Type': contentType, 'User-Agent': `otelkit/${VERSION}` },
    body,
    gzip: cfg.compression === 'gzip',
  };
}

/** The items of a private queue of an SDK batch processor, taken off it; none without the field. */
function takeQueue<T>(processor: object, field: '_finishedSpans' | '_finishedLogRecords'): T[] {
  const queue = (processor as Record<string, unknown>)[field];
  return Array.isArray(queue) ? (queue.splice(0) as T[]) : [];
}

export function pendingSpanRequests(processor: SpanProcessor | undefined, exporter: string, cfg: OtlpConfig): OtlpRequest[] {
  if (processor instanceof EncodingSpanProcessor) return processor.takeEncoded().map((batch) => request(cfg, batch.bytes));
  if (processor === undefined || exporter !== 'otlp' || cfg.protocol !== 'http/json') return [];
  // The SDK's BatchSpanProcessor queue (`_finishedSpans`, private; sdk-trace 2.12.0).
  const spans = takeQueue<ReadableSpan>(processor, '_finishedSpans');
  const body = spans.length === 0 ? undefined : encodeJsonSpansNow(spans);
  return body === undefined ? [] : [request(cfg, body)];
}

/** The SDK's BatchLogRecordProcessor queue (`_finishedLogRecords`, private; sdk-logs 0.223.0). */
export function pendingLogRequests(processor: LogRecordProcessor | undefined, exporter: string, cfg: OtlpConfig): OtlpRequest[] {
  if (processor === undefined || exporter !== 'otlp' || cfg.protocol === 'grpc') return [];
  const records = takeQueue<ReadableLogRecord>(processor, '_finishedLogRecords');
  const body = records.length === 0 ? undefined : encodeLogsNow(cfg.protocol, records);
  return body === undefined ? [] : [request(cfg, body)];
}

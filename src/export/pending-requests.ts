// What is queued for export, as ready-made OTLP/HTTP requests: for a crash, when the process ends
// before an export could run (lifecycle/crash-delivery.ts sends them from a worker thread while
// the main thread waits). The default protocol, http/protobuf, only: spans the encoding processor
// holds as bytes, log records the SDK's batch processor holds. Other protocols: none (their queues
// are lost at a crash, as before otelkit sent them asynchronously).
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { OtlpConfig } from '../config/types';
import { VERSION } from '../version';
import { EncodingSpanProcessor } from './encoding-span-processor';
import { encodeProtobufLogs } from './exporters';

export interface OtlpRequest {
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  gzip: boolean;
}

function request(cfg: OtlpConfig, body: Uint8Array): OtlpRequest {
  return {
    url: cfg.endpoint,
    headers: { ...cfg.headers, 'Content-Type': 'application/x-protobuf', 'User-Agent': `otelkit/${VERSION}` },
    body,
    gzip: cfg.compression === 'gzip',
  };
}

export function pendingSpanRequests(processor: SpanProcessor | undefined, cfg: OtlpConfig): OtlpRequest[] {
  if (!(processor instanceof EncodingSpanProcessor)) return [];
  return processor.takeEncoded().map((batch) => request(cfg, batch.bytes));
}

/**
 * Reads the queue of the SDK's BatchLogRecordProcessor (`_finishedLogRecords`, private; sdk-logs
 * 0.223.0) and empties it. A processor without that field gives nothing.
 */
export function pendingLogRequests(processor: LogRecordProcessor | undefined, exporter: string, cfg: OtlpConfig): OtlpRequest[] {
  if (processor === undefined || exporter !== 'otlp' || cfg.protocol !== 'http/protobuf') return [];
  const queue = (processor as unknown as { _finishedLogRecords?: ReadableLogRecord[] })._finishedLogRecords;
  if (!Array.isArray(queue) || queue.length === 0) return [];
  const body = encodeProtobufLogs(queue.splice(0));
  return body === undefined ? [] : [request(cfg, body)];
}

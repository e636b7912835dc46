// The OTLP/HTTP JSON exporters (OTEL_EXPORTER_OTLP_PROTOCOL=http/json). A module of its own so that
// scripts/bundle.mjs makes it a bundle of its own (dist/otlp-json.bundle.js), which exporters.ts
// loads on the first export, as otlp-proto-exporters.ts: required as packages, the exporters would
// bring their own copies of the SDK packages the main bundle already holds.
export { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
export { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
export { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';

import { JsonLogsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** Log records as an OTLP/HTTP JSON request body, as the log exporter sends them. */
export function encodeLogs(records: ReadableLogRecord[]): Uint8Array | undefined {
  return JsonLogsSerializer.serializeRequest(records);
}

/** Spans as an OTLP/HTTP JSON request body, as the trace exporter sends them. */
export function encodeSpans(spans: ReadableSpan[]): Uint8Array | undefined {
  return JsonTraceSerializer.serializeRequest(spans);
}

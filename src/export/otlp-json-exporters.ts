// The OTLP/HTTP JSON exporters (OTEL_EXPORTER_OTLP_PROTOCOL=http/json). A module of its own so that
// scripts/bundle.mjs makes it a bundle of its own (dist/otlp-json.bundle.js), which exporters.ts
// loads on the first export, as otlp-proto-exporters.ts: required as packages, the exporters would
// bring their own copies of the SDK packages the main bundle already holds. Upstream's exporters
// rebuilt on their export delegate with options from the configuration alone (otlp-http-options.ts).
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { AggregationTemporalityPreference, OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer, LogsExporterMetricsHelper, MetricsExporterMetricsHelper, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { otlpHttpOptions, type ExporterOptions } from './otlp-http-options';

const JSON_TYPE = 'application/json';

export class OTLPTraceExporter extends OTLPExporterBase<ReadableSpan[]> {
  constructor(options: ExporterOptions) {
    super(createOtlpHttpExportDelegate(otlpHttpOptions(options, JSON_TYPE), JsonTraceSerializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper, undefined));
  }
}

export class OTLPLogExporter extends OTLPExporterBase<ReadableLogRecord[]> {
  constructor(options: ExporterOptions) {
    super(createOtlpHttpExportDelegate(otlpHttpOptions(options, JSON_TYPE), JsonLogsSerializer, 'otlp_http_log_exporter', LogsExporterMetricsHelper, undefined));
  }
}

/** Its temporality is the reader's (exporters.ts metricExporter); given here so that nothing reads the environment. */
export class OTLPMetricExporter extends OTLPMetricExporterBase {
  constructor(options: ExporterOptions) {
    super(
      createOtlpHttpExportDelegate<ResourceMetrics, unknown>(otlpHttpOptions(options, JSON_TYPE), JsonMetricsSerializer, 'otlp_http_metric_exporter', MetricsExporterMetricsHelper, undefined),
      { temporalityPreference: AggregationTemporalityPreference.CUMULATIVE },
    );
  }
}

/** Log records as an OTLP/HTTP JSON request body, as the log exporter sends them. */
export function encodeLogs(records: ReadableLogRecord[]): Uint8Array | undefined {
  return JsonLogsSerializer.serializeRequest(records);
}

/** Spans as an OTLP/HTTP JSON request body, as the trace exporter sends them. */
export function encodeSpans(spans: ReadableSpan[]): Uint8Array | undefined {
  return JsonTraceSerializer.serializeRequest(spans);
}

// The OTLP/HTTP protobuf exporters (the default protocol), bundled into a file of their own that
// exporters.ts loads on the first export. Required as packages, they bring their own copies of
// the SDK packages the main bundle already holds (~130 modules, ~20 MiB of heap); bundled and
// tree-shaken, only what they use.
import { createOtlpNetworkExportDelegate, OTLPExporterBase, type IOtlpExportDelegate } from '@opentelemetry/otlp-exporter-base';
import { createOtlpHttpExportDelegate, createOtlpHttpExporterMetrics } from '@opentelemetry/otlp-exporter-base/node-http';
import { AggregationTemporalityPreference, OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  LogsExporterMetricsHelper, MetricsExporterMetricsHelper, ProtobufLogsSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer,
  TraceExporterMetricsHelper, type IExporterMetricsHelper, type ISerializer,
} from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { RawHttpTransport } from './otlp-http-transport';
import { RetryingTransport } from './retrying-transport';
import { otlpHttpOptions, type ExporterOptions } from './otlp-http-options';
import type { EncodedSpans } from './encoding-span-processor';

const PROTOBUF_TYPE = 'application/x-protobuf';

/**
 * Upstream's export delegate for a signal, sending through otelkit's own HTTP/1.1 transport when
 * the endpoint is http: (otlp-http-transport.ts), through upstream's node:http one otherwise
 * (https: needs its TLS and agent options).
 */
function exportDelegate<T>(
  config: ExporterOptions,
  serializer: ISerializer<T, unknown>,
  componentType: string,
  helper: IExporterMetricsHelper<T>,
): IOtlpExportDelegate<T> {
  // From the configuration alone: upstream's convertLegacyHttpOptions would read process.env too.
  const options = otlpHttpOptions(config, PROTOBUF_TYPE);
  // No meter provider, as for the upstream exporters otelkit creates: no exporter metrics.
  if (new URL(options.url).protocol !== 'http:') return createOtlpHttpExportDelegate(options, serializer, componentType, helper, undefined);
  const transport = new RetryingTransport(new RawHttpTransport({
    url: options.url,
    headers: options.headers,
    compression: options.compression === 'gzip' ? 'gzip' : 'none',
    userAgent: options.userAgent,
  }));
  return createOtlpNetworkExportDelegate(options, serializer, createOtlpHttpExporterMetrics(componentType, helper, options.url, undefined), transport);
}

/** Log records as an OTLP/HTTP protobuf request body, as the log exporter sends them. */
export function encodeLogs(records: ReadableLogRecord[]): Uint8Array | undefined {
  return ProtobufLogsSerializer.serializeRequest(records);
}

/** The OTLP/HTTP protobuf log exporter, as upstream's OTLPLogExporter but on exportDelegate. */
export class OTLPLogExporter extends OTLPExporterBase<ReadableLogRecord[]> {
  constructor(config: ExporterOptions) {
    super(exportDelegate(config, ProtobufLogsSerializer, 'otlp_http_log_exporter', LogsExporterMetricsHelper));
  }
}

/** Upstream's OTLPTraceExporter (http/protobuf) on exportDelegate, for spans another processor batches. */
export class OTLPTraceExporter extends OTLPExporterBase<ReadableSpan[]> {
  constructor(config: ExporterOptions) {
    super(exportDelegate(config, ProtobufTraceSerializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper));
  }
}

/**
 * Upstream's OTLPMetricExporter (http/protobuf) on upstream's node:http delegate, with options
 * from the configuration alone. Its temporality is the reader's (exporters.ts metricExporter);
 * given here so that nothing reads the environment.
 */
export class OTLPMetricExporter extends OTLPMetricExporterBase {
  constructor(config: ExporterOptions) {
    super(
      createOtlpHttpExportDelegate<ResourceMetrics, unknown>(otlpHttpOptions(config, PROTOBUF_TYPE), ProtobufMetricsSerializer, 'otlp_http_metric_exporter', MetricsExporterMetricsHelper, undefined),
      { temporalityPreference: AggregationTemporalityPreference.CUMULATIVE },
    );
  }
}

/**
 * The trace exporter for spans that encoding-span-processor.ts has already encoded: upstream's export delegate
 * (timeout, retries with backoff, concurrency limit, partial-success responses) with the bytes
 * passed through instead of serialised again.
 */
export function createEncodedTraceExporter(config: ExporterOptions): OTLPExporterBase<EncodedSpans> {
  const passThrough: ISerializer<EncodedSpans, ReturnType<typeof ProtobufTraceSerializer.deserializeResponse>> = {
    serializeRequest: (batch) => batch.bytes,
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
  const helper: IExporterMetricsHelper<EncodedSpans> = { name: 'span', countItems: (batch) => batch.count };
  return new OTLPExporterBase(exportDelegate(config, passThrough, 'otlp_http_span_exporter', helper));
}

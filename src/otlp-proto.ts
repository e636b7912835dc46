// The OTLP/HTTP protobuf exporters (the default protocol), bundled into a file of their own that
// exporters.ts loads on the first export. Required as packages, they bring their own copies of
// the SDK packages the main bundle already holds (~130 modules, ~20 MiB of heap); bundled and
// tree-shaken, only what they use.
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, type IExporterMetricsHelper, type ISerializer } from '@opentelemetry/otlp-transformer';
import type { OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base';
import type { EncodedSpans } from './span-queue';

export { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
export { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
export { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';

/**
 * The trace exporter for spans that span-queue.ts has already encoded: upstream's HTTP transport
 * (headers, compression, timeout, retries with backoff, concurrency limit, partial-success
 * responses) with the bytes passed through instead of serialised again.
 */
export function createEncodedTraceExporter(config: OTLPExporterNodeConfigBase): OTLPExporterBase<EncodedSpans> {
  const passThrough: ISerializer<EncodedSpans, ReturnType<typeof ProtobufTraceSerializer.deserializeResponse>> = {
    serializeRequest: (batch) => batch.bytes,
    deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
  };
  const helper: IExporterMetricsHelper<EncodedSpans> = { name: 'span', countItems: (batch) => batch.count };
  return new OTLPExporterBase(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
      passThrough,
      'otlp_http_span_exporter',
      helper,
      // No meter provider, as for the upstream exporters otelkit creates: no exporter metrics.
      undefined,
    ),
  );
}

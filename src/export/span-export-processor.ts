// The span processor that exports, chosen by the configured trace exporter: spans encoded as they
// end for OTLP/HTTP protobuf (the default), the SDK's batch processor with its drops counted for
// any other exporter, none for OTEL_TRACES_EXPORTER=none. Both take the OTEL_BSP_* settings.
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Config } from '../config/types';
import { encodedSpanExporter, spanExporter } from './exporters';
import { EncodingSpanProcessor } from './encoding-span-processor';
import { CountingBatchSpanProcessor } from './counting-batch-span-processor';

export function spanExportProcessor(traces: Config['traces'], meterProvider: MeterProvider): SpanProcessor | undefined {
  const batch = traces.batch;
  if (traces.exporter === 'otlp' && traces.otlp.protocol === 'http/protobuf') {
    // The default export: spans encoded as they end (encoding-span-processor.ts).
    return new EncodingSpanProcessor({
      exporter: encodedSpanExporter(traces.otlp),
      maxQueueSize: batch.maxQueueSize,
      maxExportBatchSize: batch.maxExportBatchSize,
      exportTimeoutMillis: batch.exportTimeoutMs,
      scheduledDelayMillis: batch.scheduleDelayMs,
      meter: meterProvider.getMeter('@opentelemetry/sdk-trace'),
    });
  }
  if (traces.exporter !== 'none') {
    return new CountingBatchSpanProcessor({
      exporter: spanExporter(traces.exporter, traces.otlp),
      maxQueueSize: batch.maxQueueSize,
      maxExportBatchSize: batch.maxExportBatchSize,
      exportTimeoutMillis: batch.exportTimeoutMs,
      scheduledDelayMillis: batch.scheduleDelayMs,
      selfObsMeterProvider: meterProvider,
    });
  }
  return undefined;
}

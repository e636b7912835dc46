// The OTLP/HTTP JSON exporters, bundled and loaded like otlp-proto.ts.
export { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
export { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
export { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';

// The OTLP/HTTP protobuf exporters (the default protocol), bundled into a file of their own that
// exporters.ts loads on the first export. Required as packages, they bring their own copies of
// the SDK packages the main bundle already holds (~130 modules, ~20 MiB of heap); bundled and
// tree-shaken, only what they use.
export { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
export { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
export { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';

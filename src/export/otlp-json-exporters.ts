// The OTLP/HTTP JSON exporters (OTEL_EXPORTER_OTLP_PROTOCOL=http/json). A module of its own so that
// scripts/bundle.mjs makes it a bundle of its own (dist/otlp-json.bundle.js), which exporters.ts
// loads on the first export, as otlp-proto-exporters.ts: required as packages, the exporters would
// bring their own copies of the SDK packages the main bundle already holds.
export { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
export { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
export { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';

// The OTLP/gRPC exporters, with options from otelkit's configuration alone. Upstream's exporter
// classes merge their options with what they read from process.env (convertLegacyOtlpGrpcOptions):
// headers from the environment were sent beside those given to start({ env }). These are the
// same exporters (upstream's gRPC export delegate, serialisers, service paths) built from the
// validated OtlpConfig. The gRPC machinery comes from the optional package's own dependency
// (otlp-grpc-exporter-base, resolved beside the installed exporter package), so that this module,
// loaded by exporters.ts on the first export, needs nothing a default install lacks.
import { createRequire } from 'node:module';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import type * as GrpcBase from '@opentelemetry/otlp-grpc-exporter-base';
import { AggregationTemporalityPreference, OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  LogsExporterMetricsHelper, MetricsExporterMetricsHelper, ProtobufLogsSerializer, ProtobufMetricsSerializer, ProtobufTraceSerializer,
  TraceExporterMetricsHelper,
} from '@opentelemetry/otlp-transformer';
import type { OtlpConfig, Signal } from '../config/types';
import { GRPC_PACKAGES } from './grpc-packages';
import { readPem } from './otlp-http-options';

type GrpcBaseModule = typeof GrpcBase;
type Options = Parameters<GrpcBaseModule['createOtlpGrpcExportDelegate']>[0];

/** Upstream's concurrency limit of exports in flight (getSharedConfigurationDefaults). */
const CONCURRENCY_LIMIT = 30;

/** The package's service name and method path per signal, as the upstream exporters give them. */
const SERVICE: Record<Signal, [name: string, path: string, componentType: string]> = {
  traces: ['TraceExportService', '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'otlp_grpc_span_exporter'],
  metrics: ['MetricsExportService', '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', 'otlp_grpc_metric_exporter'],
  logs: ['LogsExportService', '/opentelemetry.proto.collector.logs.v1.LogsService/Export', 'otlp_grpc_log_exporter'],
};

function grpcBase(signal: Signal): GrpcBaseModule {
  const fromPackage = createRequire(require.resolve(GRPC_PACKAGES[signal]));
  return fromPackage('@opentelemetry/otlp-grpc-exporter-base') as GrpcBaseModule;
}

/** Upstream's defaults for a URL: its host and port as the address; plain http is insecure, https takes the configured certificates. */
function options(base: GrpcBaseModule, cfg: OtlpConfig): Options {
  const url = new URL(cfg.endpoint);
  const tls = cfg.tlsFiles;
  const credentials = url.protocol === 'http:'
    ? base.createInsecureCredentials()
    : base.createSslCredentials(
        readPem(tls.certificate, 'Failed to read root certificate file'),
        readPem(tls.clientKey, 'Failed to read client certificate private key file'),
        readPem(tls.clientCertificate, 'Failed to read client certificate chain file'),
      );
  return {
    url: url.host,
    metadata: () => {
      const metadata = base.createEmptyMetadata();
      for (const [k, v] of Object.entries(cfg.headers)) metadata.set(k, v);
      return metadata;
    },
    credentials: () => credentials,
    compression: cfg.compression,
    timeoutMillis: cfg.timeoutMs,
    concurrencyLimit: CONCURRENCY_LIMIT,
    userAgent: undefined,
  };
}

/** The exporter of a signal over gRPC; its metric exporter's temporality is the reader's (exporters.ts). */
export function grpcExporter(signal: Signal, cfg: OtlpConfig): OTLPExporterBase<unknown> {
  const base = grpcBase(signal);
  const [name, path, componentType] = SERVICE[signal];
  const opts = options(base, cfg);
  switch (signal) {
    case 'traces':
      return new OTLPExporterBase(base.createOtlpGrpcExportDelegate(opts, ProtobufTraceSerializer, componentType, TraceExporterMetricsHelper, undefined, name, path));
    case 'logs':
      return new OTLPExporterBase(base.createOtlpGrpcExportDelegate(opts, ProtobufLogsSerializer, componentType, LogsExporterMetricsHelper, undefined, name, path));
    case 'metrics':
      return new OTLPMetricExporterBase(
        base.createOtlpGrpcExportDelegate(opts, ProtobufMetricsSerializer, componentType, MetricsExporterMetricsHelper, undefined, name, path),
        { temporalityPreference: AggregationTemporalityPreference.CUMULATIVE },
      );
  }
}

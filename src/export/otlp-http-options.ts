// The options of an OTLP/HTTP export delegate, made from otelkit's validated configuration alone.
// Upstream's exporters merge what they are given with what they read from process.env themselves
// (convertLegacyHttpOptions): headers from OTEL_EXPORTER_OTLP_HEADERS were sent beside those given
// to start({ env }), and an invalid timeout, compression or endpoint was warned about a second
// time at the first export. Here the configuration is the only source, as `otelkit doctor` shows it.
import type { createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';

export type OtlpHttpOptions = Parameters<typeof createOtlpHttpExportDelegate>[0];

/** What otelkit's exporters are constructed with (exporters.ts). */
export interface ExporterOptions {
  url: string;
  headers?: Record<string, string>;
  timeoutMillis: number;
  compression: 'gzip' | 'none';
}

// Upstream's default agent: keep-alive, http or https by the URL's protocol.
const agentFactory: OtlpHttpOptions['agentFactory'] = async (protocol) => {
  const mod = protocol === 'http:' ? await import('node:http') : await import('node:https');
  return new mod.Agent({ keepAlive: true });
};

/** Upstream's concurrency limit of exports in flight (getSharedConfigurationDefaults). */
const CONCURRENCY_LIMIT = 30;

export function otlpHttpOptions(options: ExporterOptions, contentType: string): OtlpHttpOptions {
  // Given headers first, the content type over them, as upstream merges its required headers.
  const headers = { ...options.headers, 'Content-Type': contentType };
  return {
    url: options.url,
    headers: async () => headers,
    timeoutMillis: options.timeoutMillis,
    compression: options.compression,
    concurrencyLimit: CONCURRENCY_LIMIT,
    agentFactory,
    userAgent: undefined,
  };
}

// The options of an OTLP/HTTP export delegate, made from otelkit's validated configuration alone.
// Upstream's exporters merge what they are given with what they read from process.env themselves
// (convertLegacyHttpOptions): headers from OTEL_EXPORTER_OTLP_HEADERS were sent beside those given
// to start({ env }), and an invalid timeout, compression or endpoint was warned about a second
// time at the first export. Here the configuration is the only source, as `otelkit doctor` shows it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diag } from '@opentelemetry/api';
import type { createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';

export type OtlpHttpOptions = Parameters<typeof createOtlpHttpExportDelegate>[0];

/** What otelkit's exporters are constructed with (exporters.ts). */
export interface ExporterOptions {
  url: string;
  headers?: Record<string, string>;
  timeoutMillis: number;
  compression: 'gzip' | 'none';
  /** PEM file paths for https endpoints (OtlpConfig.tlsFiles). */
  tlsFiles?: { certificate?: string; clientKey?: string; clientCertificate?: string };
}

/** A PEM file as upstream reads it: relative to the working directory; unreadable, its warning and none. */
export function readPem(file: string | undefined, warning: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(path.resolve(process.cwd(), file));
  } catch {
    diag.warn(warning);
    return undefined;
  }
}

/** Upstream's agent: keep-alive, http or https by the URL's protocol, https with the configured certificates. */
function agentFactory(tlsFiles: ExporterOptions['tlsFiles'] = {}): OtlpHttpOptions['agentFactory'] {
  const tls = {
    ca: readPem(tlsFiles.certificate, 'Failed to read root certificate file'),
    cert: readPem(tlsFiles.clientCertificate, 'Failed to read client certificate chain file'),
    key: readPem(tlsFiles.clientKey, 'Failed to read client certificate private key file'),
  };
  return async (protocol) => {
    if (protocol === 'http:') return new (await import('node:http')).Agent({ keepAlive: true });
    return new (await import('node:https')).Agent({ keepAlive: true, ...tls });
  };
}

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
    agentFactory: agentFactory(options.tlsFiles),
    userAgent: undefined,
  };
}

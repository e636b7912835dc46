// Exporters that load their implementation on first use. The OTLP exporters (protobuf
// serialisers, gRPC) are the largest part of an SDK's start-up cost, and nothing is exported
// until the first batch is due, seconds after start; the chosen protocol's package is the only
// one ever loaded.
import * as path from 'node:path';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AggregationTemporalitySelector, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { OtlpConfig, Signal } from '../config/types';
import { emit } from '../diag';
import { exportFailed, exportSucceeded } from './export-status';
import { GRPC_PACKAGES, grpcPackageMissing, isInstalled } from './grpc-packages';
import type { EncodedSpanExporter, EncodedSpans } from './encoding-span-processor';

/** The subset of the three exporter interfaces the lazy wrapper needs. */
interface AnyExporter<T> {
  export(items: T, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

type Kind = 'otlp' | 'console';

// http/protobuf and http/json come from otelkit's own bundles of the upstream exporters
// (otlp-proto-exporters.ts, whose traces and logs go to http: endpoints over otelkit's own
// transport, and otlp-json-exporters.ts); gRPC from otlp-grpc-exporters.ts over the gRPC
// packages, optional peer dependencies installed only by those who use it (grpc-packages.ts).
// Every one is made from the OtlpConfig alone: none reads process.env itself.

/** The module of a protocol's exporters: the three classes of an http protocol, the gRPC factory. */
function otlpModule(protocol: OtlpConfig['protocol'], signal: Signal): Record<string, unknown> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  // Computed paths, so that the main bundle does not take these modules in.
  if (protocol === 'grpc') {
    if (!isInstalled(GRPC_PACKAGES[signal])) throw new Error(grpcPackageMissing(signal));
    // Never bundled (it loads the optional packages' own dependencies): dist/export/ holds it,
    // beside this module in a tsc-only build, under the main bundle's directory otherwise.
    const inExport = path.basename(__dirname) === 'export' ? __dirname : path.join(__dirname, 'export');
    return require(path.join(inExport, 'otlp-grpc-exporters.js')) as Record<string, unknown>;
  }
  // From the main bundle (dist/) the exporters' bundles sit beside it; a tsc-only build has no
  // bundles and runs from dist/export/, where the same exporters are compiled modules.
  const name = protocol === 'http/protobuf' ? 'otlp-proto' : 'otlp-json';
  try {
    return require(path.join(__dirname, `${name}.bundle.js`)) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    return require(path.join(__dirname, `${name}-exporters.js`)) as Record<string, unknown>;
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
}

const OTLP_CLASS: Record<Signal, string> = {
  traces: 'OTLPTraceExporter',
  metrics: 'OTLPMetricExporter',
  logs: 'OTLPLogExporter',
};

type Ctor<T> = new (options?: Record<string, unknown>) => AnyExporter<T>;

function otlpOptions(cfg: OtlpConfig): Record<string, unknown> {
  return { url: cfg.endpoint, timeoutMillis: cfg.timeoutMs, compression: cfg.compression, headers: cfg.headers, tlsFiles: cfg.tlsFiles };
}

function load<T>(signal: Signal, kind: Kind, cfg: OtlpConfig): AnyExporter<T> {
  if (kind === 'console') {
    const [pkg, cls] = {
      traces: ['@opentelemetry/sdk-trace', 'ConsoleSpanExporter'],
      metrics: ['@opentelemetry/sdk-metrics', 'ConsoleMetricExporter'],
      logs: ['@opentelemetry/sdk-logs', 'ConsoleLogRecordExporter'],
    }[signal];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const C = (require(pkg) as Record<string, Ctor<T>>)[cls];
    return new C();
  }
  if (cfg.protocol === 'grpc') {
    const grpcExporter = otlpModule('grpc', signal).grpcExporter as (signal: Signal, cfg: OtlpConfig) => AnyExporter<T>;
    return grpcExporter(signal, cfg);
  }
  const C = otlpModule(cfg.protocol, signal)[OTLP_CLASS[signal]] as Ctor<T>;
  return new C(otlpOptions(cfg));
}

function countItems(items: unknown): number {
  if (Array.isArray(items)) return items.length;
  // Spans encoding-span-processor.ts has encoded
  if (typeof (items as EncodedSpans).count === 'number') return (items as EncodedSpans).count;
  // ResourceMetrics: count the metric streams
  const rm = items as ResourceMetrics;
  return rm.scopeMetrics?.reduce((n, s) => n + s.metrics.length, 0) ?? 1;
}

// Exports under way, each with a way to end it as failed. The SDK's log processor waits for an
// export on a referenced timer of its own: a process whose last flush ran out of time would wait
// for it. abandonExports() ends them all, as failed, so nothing of otelkit's holds the process.
const underWay = new Set<(error: Error) => void>();

/** Ends every export still under way as failed (the exporters' late answers are ignored). */
export function abandonExports(): void {
  const error = new Error('export abandoned: the process is exiting and the shutdown bound has passed');
  for (const end of [...underWay]) end(error);
}

class LazyExporter<T> implements AnyExporter<T> {
  private delegate?: AnyExporter<T>;
  private readonly where: string;

  constructor(
    private readonly signal: Signal,
    kind: Kind,
    cfg: OtlpConfig,
    private readonly make: () => AnyExporter<T> = () => load<T>(signal, kind, cfg),
  ) {
    this.where = kind === 'console' ? 'console' : cfg.endpoint;
    // Said at start, not only at the first export seconds later; each failed export says it again.
    if (kind === 'otlp' && cfg.protocol === 'grpc' && !isInstalled(GRPC_PACKAGES[signal])) emit('warn', grpcPackageMissing(signal));
  }

  private get(): AnyExporter<T> {
    if (!this.delegate) this.delegate = this.make();
    return this.delegate;
  }

  export(items: T, done: (result: ExportResult) => void): void {
    const n = countItems(items);
    let exporter: AnyExporter<T>;
    try {
      exporter = this.get();
    } catch (err) {
      exportFailed(this.signal, n, this.where, err);
      done({ code: 1, error: err instanceof Error ? err : new Error(String(err)) });
      return;
    }
    let ended = false;
    const end = (result: ExportResult): void => {
      if (ended) return;
      ended = true;
      underWay.delete(abandon);
      if (result.code === 0) exportSucceeded(this.signal, n, this.where);
      else exportFailed(this.signal, n, this.where, result.error);
      done(result);
    };
    const abandon = (error: Error): void => end({ code: 1, error });
    underWay.add(abandon);
    exporter.export(items, end);
  }

  async shutdown(): Promise<void> {
    // Never loaded means never exported: nothing to flush or close.
    await this.delegate?.shutdown();
  }

  async forceFlush(): Promise<void> {
    await this.delegate?.forceFlush?.();
  }
}

export function spanExporter(kind: Kind, cfg: OtlpConfig): SpanExporter {
  return new LazyExporter<ReadableSpan[]>('traces', kind, cfg);
}

/** OTLP/HTTP protobuf traces whose spans encoding-span-processor.ts has already encoded. */
export function encodedSpanExporter(cfg: OtlpConfig): EncodedSpanExporter {
  return new LazyExporter<EncodedSpans>('traces', 'otlp', cfg, () => {
    const create = otlpModule('http/protobuf', 'traces').createEncodedTraceExporter as (o: Record<string, unknown>) => AnyExporter<EncodedSpans>;
    return create(otlpOptions(cfg));
  });
}

/** Log records as the OTLP/HTTP log exporter's request body (for a crash: no export runs). */
export function encodeLogsNow(protocol: 'http/protobuf' | 'http/json', records: ReadableLogRecord[]): Uint8Array | undefined {
  const encode = otlpModule(protocol, 'logs').encodeLogs as ((r: ReadableLogRecord[]) => Uint8Array | undefined) | undefined;
  return encode?.(records);
}

/** Spans as the OTLP/HTTP JSON trace exporter's request body (for a crash: no export runs). */
export function encodeJsonSpansNow(spans: ReadableSpan[]): Uint8Array | undefined {
  const encode = otlpModule('http/json', 'traces').encodeSpans as ((s: ReadableSpan[]) => Uint8Array | undefined) | undefined;
  return encode?.(spans);
}

export function logExporter(kind: Kind, cfg: OtlpConfig): LogRecordExporter {
  return new LazyExporter<ReadableLogRecord[]>('logs', kind, cfg);
}

export function metricExporter(kind: Kind, cfg: OtlpConfig, temporality: AggregationTemporalitySelector): PushMetricExporter {
  const e = new LazyExporter<ResourceMetrics>('metrics', kind, cfg) as unknown as PushMetricExporter;
  // Decided here, from the validated preference, because the reader asks before the real
  // exporter exists (and the upstream exporter would read the environment itself).
  e.selectAggregationTemporality = temporality;
  return e;
}

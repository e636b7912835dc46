// Exporters that load their implementation on first use. The OTLP exporters (protobuf
// serialisers, gRPC) are the largest part of an SDK's start-up cost, and nothing is exported
// until the first batch is due, seconds after start; the chosen protocol's package is the only
// one ever loaded.
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { OtlpConfig, Signal } from './config';
import { exportFailed, exportSucceeded } from './export-health';

/** The subset of the three exporter interfaces the lazy wrapper needs. */
interface AnyExporter<T> {
  export(items: T, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

type Kind = 'otlp' | 'console';

const OTLP_PACKAGES: Record<Signal, Record<OtlpConfig['protocol'], string>> = {
  traces: {
    'http/protobuf': '@opentelemetry/exporter-trace-otlp-proto',
    'http/json': '@opentelemetry/exporter-trace-otlp-http',
    grpc: '@opentelemetry/exporter-trace-otlp-grpc',
  },
  metrics: {
    'http/protobuf': '@opentelemetry/exporter-metrics-otlp-proto',
    'http/json': '@opentelemetry/exporter-metrics-otlp-http',
    grpc: '@opentelemetry/exporter-metrics-otlp-grpc',
  },
  logs: {
    'http/protobuf': '@opentelemetry/exporter-logs-otlp-proto',
    'http/json': '@opentelemetry/exporter-logs-otlp-http',
    grpc: '@opentelemetry/exporter-logs-otlp-grpc',
  },
};

const OTLP_CLASS: Record<Signal, string> = {
  traces: 'OTLPTraceExporter',
  metrics: 'OTLPMetricExporter',
  logs: 'OTLPLogExporter',
};

type Ctor<T> = new (options?: Record<string, unknown>) => AnyExporter<T>;

function otlpOptions(cfg: OtlpConfig): Record<string, unknown> {
  const common: Record<string, unknown> = {
    url: cfg.endpoint,
    timeoutMillis: cfg.timeoutMs,
    compression: cfg.compression,
  };
  if (cfg.protocol !== 'grpc') return { ...common, headers: cfg.headers };
  if (Object.keys(cfg.headers).length === 0) return common;
  // gRPC takes headers as Metadata; @grpc/grpc-js is only present when grpc is in use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Metadata } = require('@grpc/grpc-js') as { Metadata: new () => { set(k: string, v: string): void } };
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(cfg.headers)) metadata.set(k, v);
  return { ...common, metadata };
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
  const pkg = OTLP_PACKAGES[signal][cfg.protocol];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const C = (require(pkg) as Record<string, Ctor<T>>)[OTLP_CLASS[signal]];
  return new C(otlpOptions(cfg));
}

function countItems(items: unknown): number {
  if (Array.isArray(items)) return items.length;
  // ResourceMetrics: count the metric streams
  const rm = items as ResourceMetrics;
  return rm.scopeMetrics?.reduce((n, s) => n + s.metrics.length, 0) ?? 1;
}

class LazyExporter<T> implements AnyExporter<T> {
  private delegate?: AnyExporter<T>;
  private readonly where: string;

  constructor(
    private readonly signal: Signal,
    private readonly kind: Kind,
    private readonly cfg: OtlpConfig,
  ) {
    this.where = kind === 'console' ? 'console' : cfg.endpoint;
  }

  private get(): AnyExporter<T> {
    if (!this.delegate) this.delegate = load<T>(this.signal, this.kind, this.cfg);
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
    exporter.export(items, (result) => {
      if (result.code === 0) exportSucceeded(this.signal, n, this.where);
      else exportFailed(this.signal, n, this.where, result.error);
      done(result);
    });
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

export function logExporter(kind: Kind, cfg: OtlpConfig): LogRecordExporter {
  return new LazyExporter<ReadableLogRecord[]>('logs', kind, cfg);
}

export function metricExporter(kind: Kind, cfg: OtlpConfig): PushMetricExporter {
  const e = new LazyExporter<ResourceMetrics>('metrics', kind, cfg) as unknown as PushMetricExporter;
  // Cumulative, like the OTLP exporter's default and what Prometheus-style backends expect;
  // decided here because the reader asks before the real exporter exists.
  e.selectAggregationTemporality = () => 1;
  return e;
}

// Metrics: one MeterProvider with a pull reader for Prometheus (served by the admin server),
// optionally an OTLP push reader, process CPU/memory gauges, Node runtime metrics and
// otelkit's own export counters. The Prometheus serialiser loads on the first scrape.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics, type Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, PeriodicExportingMetricReader, type MetricProducer, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Config, Signal } from '../config/types';
import { reportOnce } from '../diag';
import { metricExporter } from '../export/exporters';
import { exportStats } from '../export/export-status';
import { VERSION } from '../version';
import { HTTP_SCOPE, type HttpServerDuration } from './http-server-duration';
import { InstrumentMeterProvider } from './instrumentation-meters';
import { temporalitySelector, wantsDeltas } from './temporality';

interface Serializer {
  serialize(rm: unknown): string;
}

// The OTel-to-Prometheus naming rules (as the collector's Prometheus exporter applies them):
// the unit becomes a suffix, so `http.server.request.duration` (s) is scraped as
// `http_server_request_duration_seconds` here and behind the collector alike.
const UNIT_SUFFIX: Record<string, string> = {
  s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds',
  By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes', KBy: 'kilobytes', MBy: 'megabytes',
  '%': 'percent', '1': 'ratio',
};

function suffixFor(unit: string, isGauge: boolean): string | undefined {
  if (!unit || unit.startsWith('{')) return undefined;
  if (unit === '1') return isGauge ? 'ratio' : undefined;
  return UNIT_SUFFIX[unit];
}

function withUnitSuffixes(rm: ResourceMetrics): ResourceMetrics {
  return {
    ...rm,
    scopeMetrics: rm.scopeMetrics.map((sm) => ({
      ...sm,
      metrics: sm.metrics.map((m) => {
        const suffix = suffixFor(m.descriptor.unit, m.dataPointType === DataPointType.GAUGE);
        if (!suffix) return m;
        const base = m.descriptor.name.replace(/[^a-zA-Z0-9_:]/g, '_');
        if (base.endsWith(`_${suffix}`)) return m;
        return { ...m, descriptor: { ...m.descriptor, name: `${base}_${suffix}` } };
      }),
    })),
  };
}

/** A pull reader: /metrics collects on request. */
export class PrometheusReader extends MetricReader {
  private serializer?: Serializer;
  /**
   * Adds other processes' metrics to this one's (a cluster primary's workers,
   * cluster/primary-aggregator.ts), with their resources for target_info.
   */
  gather?: (own: ResourceMetrics) => Promise<{ metrics: ResourceMetrics; targets: Attributes[] }>;

  constructor(metricProducers: MetricProducer[]) {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE, metricProducers });
  }

  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}

  async render(): Promise<string> {
    if (!this.serializer) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PrometheusSerializer } = require('@opentelemetry/exporter-prometheus') as {
        PrometheusSerializer: new (prefix?: string, appendTimestamp?: boolean) => Serializer;
      };
      this.serializer = new PrometheusSerializer('', false);
    }
    const { resourceMetrics, errors } = await this.collect();
    for (const e of errors) reportOnce('metrics-collect', 'collecting metrics reported an error', e);
    if (!this.gather) return this.serializer.serialize(withUnitSuffixes(resourceMetrics));
    const { metrics, targets } = await this.gather(resourceMetrics);
    return withTargets(this.serializer.serialize(withUnitSuffixes(metrics)), targets.map((attributes) => this.targetLine(attributes)));
  }

  /** The target_info sample of another process's resource, as the serialiser writes this one's. */
  private targetLine(attributes: Attributes): string {
    const text = this.serializer!.serialize({ resource: { attributes } as Resource, scopeMetrics: [] });
    return text.split('\n').find((l) => l.startsWith('target_info')) ?? '';
  }

  readonly handle = (_req: IncomingMessage, res: ServerResponse): void => {
    this.render().then(
      (body) => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(body);
      },
      (err: unknown) => {
        reportOnce('metrics-render', 'rendering /metrics failed', err);
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('# metrics collection failed\n');
      },
    );
  };
}

/** More target_info samples, after this process's own (the family's # TYPE line comes once). */
function withTargets(text: string, lines: string[]): string {
  const extra = lines.filter(Boolean);
  const at = text.indexOf('\ntarget_info');
  if (extra.length === 0 || at === -1) return text;
  const end = text.indexOf('\n', at + 1);
  const cut = end === -1 ? text.length : end;
  return `${text.slice(0, cut)}\n${extra.join('\n')}${text.slice(cut)}`;
}

export interface MetricsSetup {
  provider: MeterProvider;
  prometheus?: PrometheusReader;
}

const SIGNALS: Signal[] = ['traces', 'metrics', 'logs'];

/** The scope of the process and export metrics. */
export const SELF_SCOPE = 'otelkit';

function registerProcessAndSelfMetrics(provider: MeterProvider): void {
  const meter = provider.getMeter(SELF_SCOPE, VERSION);
  const cpu = meter.createObservableCounter('process.cpu.time', { unit: 's', description: 'CPU time used by the process' });
  const mem = meter.createObservableUpDownCounter('process.memory.usage', { unit: 'By', description: 'Resident set size of the process' });
  const failures = meter.createObservableCounter('otelkit.export.failures', { unit: '{export}', description: 'Exports that failed, per signal' });
  const dropped = meter.createObservableCounter('otelkit.export.dropped', { unit: '{item}', description: 'Spans, log records or metric streams lost: failed exports and full queues, per signal' });
  meter.addBatchObservableCallback((r) => {
    const u = process.cpuUsage();
    r.observe(cpu, u.user / 1e6, { 'cpu.mode': 'user' });
    r.observe(cpu, u.system / 1e6, { 'cpu.mode': 'system' });
    r.observe(mem, process.memoryUsage.rss());
    for (const signal of SIGNALS) {
      const s = exportStats(signal);
      r.observe(failures, s.failedExports, { signal });
      r.observe(dropped, s.droppedItems, { signal });
    }
  }, [cpu, mem, failures, dropped]);
}

/**
 * duration: the HTTP server duration, aggregated outside the SDK and read by every reader, as are
 * the instrumentations' counters and histograms (instrumentation-meters.ts). Both aggregate
 * cumulatively: when the OTLP reader wants deltas, their instruments are the SDK's instead.
 */
export function buildMetrics(config: Config, resource: Resource, duration: HttpServerDuration): MetricsSetup {
  const readers: MetricReader[] = [];
  let prometheus: PrometheusReader | undefined;
  const ownAggregation = !(config.metrics.exporters.includes('otlp') && wantsDeltas(config.metrics.temporality));
  // The provider is made after its readers, which need the producer first.
  const sdk: { provider?: MeterProvider } = {};
  const instruments = ownAggregation ? new InstrumentMeterProvider(() => sdk.provider as MeterProvider) : undefined;
  const producers: MetricProducer[] = instruments ? [duration, instruments] : [];
  for (const kind of config.metrics.exporters) {
    if (kind === 'prometheus') {
      prometheus = new PrometheusReader(producers);
      readers.push(prometheus);
    } else {
      readers.push(new PeriodicExportingMetricReader({
        exporter: metricExporter(kind, config.metrics.otlp, kind === 'otlp' ? temporalitySelector(config.metrics.temporality) : temporalitySelector('cumulative')),
        exportIntervalMillis: config.metrics.exportIntervalMs,
        exportTimeoutMillis: Math.min(config.metrics.exportTimeoutMs, config.metrics.exportIntervalMs),
        metricProducers: producers,
      }));
    }
  }
  const provider = (sdk.provider = new MeterProvider({ resource, readers }));
  if (!ownAggregation) duration.recordThrough(provider.getMeter(HTTP_SCOPE, VERSION));
  // Without a reader nothing would collect what the instruments aggregate: the SDK's records
  // then cost nothing either.
  metrics.setGlobalMeterProvider(readers.length > 0 && instruments ? instruments : provider);
  if (readers.length > 0) registerProcessAndSelfMetrics(provider);
  return { provider, prometheus };
}

// A redacted summary of the effective configuration, as otelkit shows it: the "otelkit started"
// line, and which signals are exported over OTLP (the start line and `otelkit doctor` both report
// from that). OTLP header values are credentials: only their names are shown.
import type { Config, OtlpConfig, Signal } from './types';
import { VERSION } from '../version';
import { showEndpoint } from './env-reader';

/** Whether a signal is exported over OTLP. */
export function exportsOtlp(config: Config, signal: Signal): boolean {
  if (signal === 'traces') return config.traces.exporter === 'otlp';
  if (signal === 'logs') return config.logs.exporter === 'otlp';
  return config.metrics.exporters.includes('otlp');
}

/** An OTLP destination: endpoint, protocol and, when there are any, the headers' names. */
function otlpSummary(o: OtlpConfig): Record<string, unknown> {
  return {
    endpoint: showEndpoint(o.endpoint),
    protocol: o.protocol,
    ...(Object.keys(o.headers).length ? { headers: Object.fromEntries(Object.keys(o.headers).map((k) => [k, '[REDACTED]'])) } : {}),
  };
}

/** The sampler as OTEL_TRACES_SAMPLER names it, with the ratio of a ratio sampler: traceidratio(0.1). */
export function samplerSummary({ name, ratio }: Config['traces']['sampler']): string {
  return name.endsWith('traceidratio') ? `${name}(${ratio})` : name;
}

/** What is known only once the SDK is composed. */
export interface StartFacts {
  /** The instrumentations enabled at start (the others wait for their module's first load). */
  instrumentations: string[];
  /** How ES module imports reach the instrumentations (loading/lazy-instrumentations.ts's EsmHooks). */
  esmHooks: 'none' | 'bridge' | 'loader';
  /** Where the admin endpoints are served, when not on this process's own port (a cluster worker). */
  admin?: string;
}

/** The fields of the "otelkit started" line. */
export function startSummary(config: Config, facts: StartFacts): Record<string, unknown> {
  return {
    version: VERSION,
    service: config.serviceName,
    environment: config.environment,
    traces: exportsOtlp(config, 'traces') ? { exporter: 'otlp', ...otlpSummary(config.traces.otlp) } : { exporter: config.traces.exporter },
    metrics: {
      exporters: config.metrics.exporters,
      admin: facts.admin ?? `${config.admin.host}:${config.admin.port}`,
      ...(exportsOtlp(config, 'metrics') ? { otlp: otlpSummary(config.metrics.otlp) } : {}),
    },
    logs: exportsOtlp(config, 'logs') ? { exporter: 'otlp', ...otlpSummary(config.logs.otlp) } : { exporter: config.logs.exporter },
    sampler: samplerSummary(config.traces.sampler),
    esm_hooks: facts.esmHooks === 'none' ? false : facts.esmHooks,
    instrumentations_at_start: facts.instrumentations,
  };
}

/** Writes the "otelkit started" line to stderr. */
export function printStartLine(config: Config, facts: StartFacts): void {
  if (config.diagLevel !== 'none') {
    // Printed whatever OTEL_LOG_LEVEL says (unless none): which configuration a process runs
    // with is the first thing an operator needs.
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', name: 'otelkit', msg: 'otelkit started', ...startSummary(config, facts) }) + '\n');
  }
}

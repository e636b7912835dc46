// How a cluster worker's metrics travel to the primary and join the primary's own on /metrics.
// Each worker's series keep their values and gain a `cluster.worker.id` attribute (Prometheus
// label `cluster_worker_id`) rather than being summed: rate() must be taken per process before
// sum(), and a sum loses a dead worker's count (a counter reset on the merged series).
import type { Attributes } from '@opentelemetry/api';
import { DataPointType, type MetricData, type ResourceMetrics, type ScopeMetrics } from '@opentelemetry/sdk-metrics';

/** The attribute that tells one worker's series from another's. */
export const WORKER_ATTRIBUTE = 'cluster.worker.id';

/** What a worker sends: its resource attributes and what its Prometheus reader collected. */
export interface WorkerMetrics {
  resource: Attributes;
  scopeMetrics: ScopeMetrics[];
}

// JSON has no NaN or Infinity (a gauge may be NaN, a histogram's min of no values is Infinity):
// they travel as tagged strings.
const NON_FINITE = '__otelkit_number';

export function encodeWorkerMetrics(rm: ResourceMetrics): string {
  const payload: WorkerMetrics = { resource: rm.resource.attributes, scopeMetrics: rm.scopeMetrics };
  return JSON.stringify(payload, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? { [NON_FINITE]: String(value) } : value,
  );
}

export function decodeWorkerMetrics(text: string): WorkerMetrics | undefined {
  try {
    const parsed: unknown = JSON.parse(text, (_key, value: unknown) => {
      if (value !== null && typeof value === 'object' && NON_FINITE in value) {
        return Number((value as Record<string, unknown>)[NON_FINITE]);
      }
      return value;
    });
    if (parsed === null || typeof parsed !== 'object') return undefined;
    const p = parsed as Partial<WorkerMetrics>;
    if (!Array.isArray(p.scopeMetrics)) return undefined;
    return { resource: p.resource && typeof p.resource === 'object' ? p.resource : {}, scopeMetrics: p.scopeMetrics };
  } catch {
    return undefined;
  }
}

function scopeKey(s: ScopeMetrics['scope']): string {
  return `${s.name}\0${s.version ?? ''}\0${s.schemaUrl ?? ''}`;
}

function labelled(metric: MetricData, workerId: string): MetricData {
  const dataPoints = metric.dataPoints.map((p) => ({ ...p, attributes: { ...p.attributes, [WORKER_ATTRIBUTE]: workerId } }));
  return { ...metric, dataPoints } as MetricData;
}

/**
 * The primary's metrics with every worker's added: one metric family per scope and name (a
 * second # TYPE line for a name is an error to Prometheus), the workers' data points labelled.
 * A worker metric whose point type differs from the family's is left out (it cannot share it).
 * Neither input is modified.
 */
export function mergeWorkerMetrics(own: ResourceMetrics, workers: ReadonlyArray<{ id: string; metrics: WorkerMetrics }>): { merged: ResourceMetrics; conflicts: string[] } {
  const scopes = new Map<string, { scope: ScopeMetrics['scope']; metrics: MetricData[]; byName: Map<string, number> }>();
  const order: string[] = [];
  const scopeFor = (scope: ScopeMetrics['scope']) => {
    const key = scopeKey(scope);
    let s = scopes.get(key);
    if (!s) {
      s = { scope, metrics: [], byName: new Map() };
      scopes.set(key, s);
      order.push(key);
    }
    return s;
  };
  for (const sm of own.scopeMetrics) {
    const s = scopeFor(sm.scope);
    for (const m of sm.metrics) {
      s.byName.set(m.descriptor.name, s.metrics.length);
      s.metrics.push(m);
    }
  }
  const conflicts: string[] = [];
  for (const { id, metrics } of workers) {
    for (const sm of metrics.scopeMetrics) {
      if (!sm || typeof sm !== 'object' || !sm.scope || !Array.isArray(sm.metrics)) continue;
      const s = scopeFor(sm.scope);
      for (const m of sm.metrics) {
        if (!m?.descriptor || !Array.isArray(m.dataPoints)) continue;
        const theirs = labelled(m, id);
        const at = s.byName.get(m.descriptor.name);
        if (at === undefined) {
          s.byName.set(m.descriptor.name, s.metrics.length);
          s.metrics.push(theirs);
          continue;
        }
        const ours = s.metrics[at];
        if (ours.dataPointType !== theirs.dataPointType || (ours.dataPointType === DataPointType.SUM && theirs.dataPointType === DataPointType.SUM && ours.isMonotonic !== theirs.isMonotonic)) {
          conflicts.push(m.descriptor.name);
          continue;
        }
        s.metrics[at] = { ...ours, dataPoints: [...ours.dataPoints, ...theirs.dataPoints] } as MetricData;
      }
    }
  }
  const merged: ResourceMetrics = {
    resource: own.resource,
    scopeMetrics: order.map((key) => {
      const s = scopes.get(key)!;
      return { scope: s.scope, metrics: s.metrics };
    }),
  };
  return { merged, conflicts };
}

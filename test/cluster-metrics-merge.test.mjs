// A cluster worker's metrics on the wire and merged into the primary's (src/cluster/metrics-merge.ts),
// with real MeterProviders standing for the primary and two workers and upstream's Prometheus
// serialiser reading the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, MetricReader, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { encodeWorkerMetrics, decodeWorkerMetrics, mergeWorkerMetrics } from '../dist/cluster/metrics-merge.js';

class PullReader extends MetricReader {
  constructor() { super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE }); }
  async onForceFlush() {}
  async onShutdown() {}
}

async function process_(name, record) {
  const reader = new PullReader();
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'svc', 'process.pid': name.length }), readers: [reader] });
  record(provider.getMeter('app'));
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics;
}

test('worker metrics survive the wire (NaN and infinities included) and merge into one family a name', async () => {
  const primary = await process_('primary', (m) => {
    m.createCounter('requests').add(1, { route: '/a' });
    m.createObservableGauge('ratio').addCallback((r) => r.observe(0.5));
  });
  const worker = (n) => process_(`worker${n}`, (m) => {
    m.createCounter('requests').add(10 * n, { route: '/a' });
    m.createHistogram('latency', { unit: 's' }).record(n);
    m.createObservableGauge('ratio').addCallback((r) => r.observe(n === 1 ? NaN : Infinity));
  });
  const w1 = await worker(1);
  const w2 = await worker(2);
  const before = JSON.stringify(primary.scopeMetrics);

  const d1 = decodeWorkerMetrics(encodeWorkerMetrics(w1));
  const d2 = decodeWorkerMetrics(encodeWorkerMetrics(w2));
  assert.equal(d1.resource['process.pid'], 'worker1'.length);
  const ratio1 = d1.scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'ratio').dataPoints[0].value;
  assert.ok(Number.isNaN(ratio1));
  assert.equal(d2.scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'ratio').dataPoints[0].value, Infinity);
  assert.equal(decodeWorkerMetrics('not json'), undefined);
  assert.equal(decodeWorkerMetrics('{"scopeMetrics":3}'), undefined);

  const { merged, conflicts } = mergeWorkerMetrics(primary, [{ id: '1', metrics: d1 }, { id: '2', metrics: d2 }]);
  assert.deepEqual(conflicts, []);
  assert.equal(JSON.stringify(primary.scopeMetrics), before, 'the primary\'s own collection is not modified');
  const text = new PrometheusSerializer('', false).serialize(merged);
  const types = text.split('\n').filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]);
  assert.deepEqual(types.filter((t, i) => types.indexOf(t) !== i), []);
  const requests = text.split('\n').filter((l) => l.startsWith('requests_total{'));
  assert.equal(requests.length, 3);
  assert.ok(requests.some((l) => /route="\/a"/.test(l) && !/cluster_worker_id/.test(l) && / 1$/.test(l)), requests.join('\n'));
  assert.ok(requests.some((l) => /cluster_worker_id="1"/.test(l) && / 10$/.test(l)), requests.join('\n'));
  assert.ok(requests.some((l) => /cluster_worker_id="2"/.test(l) && / 20$/.test(l)), requests.join('\n'));
  assert.match(text, /ratio\{[^}]*cluster_worker_id="1"[^}]*\} NaN/);
  assert.match(text, /ratio\{[^}]*cluster_worker_id="2"[^}]*\} \+Inf/);
  assert.match(text, /latency_count\{[^}]*cluster_worker_id="2"[^}]*\} 1/);

  // A worker metric whose point type differs from the family's cannot join it.
  const clash = await process_('w3', (m) => m.createObservableGauge('requests').addCallback((r) => r.observe(5)));
  const r = mergeWorkerMetrics(primary, [{ id: '3', metrics: decodeWorkerMetrics(encodeWorkerMetrics(clash)) }]);
  assert.deepEqual(r.conflicts, ['requests']);
  const out = new PrometheusSerializer('', false).serialize(r.merged);
  assert.doesNotMatch(out, /cluster_worker_id="3"/);
});

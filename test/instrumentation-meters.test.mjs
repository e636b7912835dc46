// The instrumentations' counters and histograms, aggregated by otelkit instead of the SDK: what
// the readers receive is checked against the SDK's own instruments fed the same measurements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { ROOT } from './support/app.mjs';

const require = createRequire(import.meta.url);
const { InstrumentMeterProvider, isInstrumentationScope } = require(path.join(ROOT, 'dist/metrics/instrumentation-meters.js'));
const sdkMetrics = require(path.join(ROOT, 'node_modules/@opentelemetry/sdk-metrics'));
const { ValueType } = require(path.join(ROOT, 'node_modules/@opentelemetry/api'));

const SCOPE = '@opentelemetry/instrumentation-test';

class TestReader extends sdkMetrics.MetricReader {
  constructor(producers) {
    super({ aggregationTemporalitySelector: () => sdkMetrics.AggregationTemporality.CUMULATIVE, metricProducers: producers });
  }
  async onForceFlush() {}
  async onShutdown() {}
}

/** otelkit's meter for an instrumentation scope and an SDK meter, read by one reader. */
function pair() {
  let sdk;
  const instruments = new InstrumentMeterProvider(() => sdk);
  const reader = new TestReader([instruments]);
  sdk = new sdkMetrics.MeterProvider({ readers: [reader] });
  return { ours: instruments.getMeter(SCOPE, '1.2.3'), theirs: sdk.getMeter('sdk-reference'), instruments, sdk, reader };
}

/** Both meters' instruments of one kind, fed together. */
function both(p, kind, name, options) {
  const a = p.ours[kind](name, options);
  const b = p.theirs[kind](name, options);
  const call = kind === 'createHistogram' ? 'record' : 'add';
  return (value, attributes) => {
    a[call](value, attributes);
    b[call](value, attributes);
  };
}

function comparable(metric) {
  return {
    descriptor: { name: metric.descriptor.name, unit: metric.descriptor.unit, description: metric.descriptor.description, valueType: metric.descriptor.valueType, type: metric.descriptor.type },
    temporality: metric.aggregationTemporality,
    type: metric.dataPointType,
    isMonotonic: metric.isMonotonic,
    points: metric.dataPoints
      .map((d) => ({ attributes: d.attributes, value: d.value }))
      .sort((x, y) => JSON.stringify(x.attributes).localeCompare(JSON.stringify(y.attributes))),
  };
}

async function collected(reader) {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const scope = (name) => resourceMetrics.scopeMetrics.find((s) => s.scope.name === name);
  return {
    ours: scope(SCOPE),
    theirs: scope('sdk-reference'),
    metric(which, name) {
      const m = scope(which === 'ours' ? SCOPE : 'sdk-reference')?.metrics.find((x) => x.descriptor.name === name);
      assert.ok(m, `${which} reported ${name}`);
      return comparable(m);
    },
  };
}

test('only instrumentation scopes get otelkit instruments; other meters are the SDK provider\'s own', () => {
  const p = pair();
  assert.equal(isInstrumentationScope('@opentelemetry/instrumentation-pg'), true);
  assert.equal(isInstrumentationScope('my-app'), false);
  assert.equal(p.instruments.getMeter('my-app', '1'), p.sdk.getMeter('my-app', '1'));
  assert.notEqual(p.instruments.getMeter(SCOPE, '1.2.3'), p.sdk.getMeter(SCOPE, '1.2.3'));
  assert.equal(p.instruments.getMeter(SCOPE, '1.2.3'), p.ours, 'one meter per scope');
});

test('counters, up-down counters and histograms report what the SDK reports for the same measurements', async () => {
  const p = pair();
  const counter = both(p, 'createCounter', 'test.requests', { description: 'Requests.', unit: '{request}' });
  const updown = both(p, 'createUpDownCounter', 'db.client.connection.count', { unit: '{connection}' });
  const ints = both(p, 'createCounter', 'test.ints', { valueType: ValueType.INT });
  const advised = both(p, 'createHistogram', 'db.client.operation.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.5, 0.001, Infinity, 0.01, -Infinity, 0.1] } });
  const plain = both(p, 'createHistogram', 'test.sizes', { unit: 'By' });

  const pool = { 'db.client.connection.pool.name': 'localhost:5432/orders' };
  for (let i = 0; i < 5; i++) {
    counter(1, { 'http.request.method': 'GET', 'http.response.status_code': 200 });
    // The same attributes in another order are the same series.
    counter(2, { 'http.response.status_code': 200, 'http.request.method': 'GET' });
    // A number and a string of the same digits are not.
    counter(1, { 'http.request.method': 'GET', 'http.response.status_code': '200' });
    counter(1);
    updown(1, { ...pool, 'db.client.connection.state': 'used' });
    updown(-1, { ...pool, 'db.client.connection.state': 'idle' });
    updown(0, { ...pool });
  }
  updown(-3, { ...pool, 'db.client.connection.state': 'used' });
  // Dropped as the SDK drops them: a negative count, a negative duration, a non-number.
  counter(-1, { 'http.request.method': 'GET', 'http.response.status_code': 200 });
  counter('7', { 'http.request.method': 'GET', 'http.response.status_code': 200 });
  advised(-0.5, { 'db.operation.name': 'SELECT' });
  // NaN too, but the SDK still opens an empty series for it (count 0, no min or max): not here.
  p.ours.createHistogram('db.client.operation.duration').record(NaN, { 'db.operation.name': 'SELECT' });
  // INT instruments keep the integer part.
  ints(2.9, { kind: 'a' });
  ints(1, { kind: 'a' });
  // Bucket edges: a value equal to a boundary belongs to that boundary's bucket.
  for (const v of [0, 0.001, 0.0011, 0.01, 0.05, 0.1, 0.5, 0.51, 3]) advised(v, { 'db.operation.name': 'SELECT', 'db.namespace': 'orders' });
  advised(0.2, { 'db.operation.name': 'INSERT', 'db.namespace': 'orders', 'server.port': 5432 });
  for (const v of [0, 5, 7, 10000, 20000]) plain(v, { tags: ['a', 'b'] });
  plain(3, { tags: ['a', 'c'] });

  const c = await collected(p.reader);
  for (const name of ['test.requests', 'db.client.connection.count', 'test.ints', 'db.client.operation.duration', 'test.sizes']) {
    assert.deepEqual(c.metric('ours', name), c.metric('theirs', name), name);
  }
  assert.equal(c.ours.scope.version, '1.2.3');
  const requests = c.metric('ours', 'test.requests').points;
  assert.equal(requests.length, 3);
  assert.equal(requests.find((x) => x.attributes['http.response.status_code'] === 200).value, 15);
  const durations = c.metric('ours', 'db.client.operation.duration').points[1].value;
  assert.deepEqual(durations.buckets.boundaries, [0.001, 0.01, 0.1, 0.5]);
  assert.deepEqual(durations.buckets.counts, [2, 2, 2, 1, 2]);
  await p.sdk.shutdown();
});

test('past the cardinality limit a counter keeps one overflow series, as the SDK does', async () => {
  const p = pair();
  const counter = both(p, 'createCounter', 'test.routes');
  for (let i = 0; i < 2100; i++) counter(1, { 'http.route': `/r${i}` });
  // A series created before the limit still counts where it is.
  counter(5, { 'http.route': '/r3' });
  const c = await collected(p.reader);
  const mine = c.metric('ours', 'test.routes');
  assert.deepEqual(mine, c.metric('theirs', 'test.routes'));
  assert.equal(mine.points.length, 2000);
  assert.equal(mine.points.find((x) => x.attributes['otel.metric.overflow']).value, 101);
  assert.equal(mine.points.find((x) => x.attributes['http.route'] === '/r3').value, 6);
  await p.sdk.shutdown();
});

test('a series keeps the attributes it was created with, even when the caller reuses the object', async () => {
  const p = pair();
  const h = p.ours.createHistogram('test.reuse');
  const attributes = { 'db.operation.name': 'SELECT' };
  h.record(1, attributes);
  attributes['db.operation.name'] = 'UPDATE';
  h.record(2, attributes);
  const c = await collected(p.reader);
  const points = c.metric('ours', 'test.reuse').points;
  assert.deepEqual(points.map((x) => [x.attributes['db.operation.name'], x.value.count]), [['SELECT', 1], ['UPDATE', 1]]);
  await p.sdk.shutdown();
});

test('gauges and observable instruments of an instrumentation scope go to the SDK; unused instruments report nothing', async () => {
  const p = pair();
  p.ours.createHistogram('test.never.recorded');
  p.ours.createObservableGauge('test.observed').addCallback((r) => r.observe(42, { a: 'b' }));
  p.ours.createGauge('test.gauge').record(7);
  // Asking for an instrument again returns the same stream.
  p.ours.createCounter('test.twice').add(1);
  p.ours.createCounter('TEST.twice').add(1);
  const { resourceMetrics } = await p.reader.collect();
  const names = resourceMetrics.scopeMetrics.filter((s) => s.scope.name === SCOPE).flatMap((s) => s.metrics.map((m) => m.descriptor.name)).sort();
  assert.deepEqual(names, ['test.gauge', 'test.observed', 'test.twice']);
  const twice = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'test.twice');
  assert.equal(twice.dataPoints[0].value, 2);
  await p.sdk.shutdown();
});

test('a measurement otelkit cannot key is dropped with a warning, never thrown; one name with two kinds makes two streams', async () => {
  const p = pair();
  const h = p.ours.createHistogram('test.kinds');
  const c = p.ours.createCounter('test.kinds');
  assert.notEqual(h, c);
  // JSON cannot encode a BigInt: the SDK's own hash throws here, into the instrumentation.
  assert.doesNotThrow(() => h.record(1, { big: 10n }));
  assert.doesNotThrow(() => c.add(1, { big: 10n }));
  h.record(2, { ok: 'yes' });
  c.add(3, { ok: 'yes' });
  const { resourceMetrics } = await p.reader.collect();
  const streams = resourceMetrics.scopeMetrics.filter((s) => s.scope.name === SCOPE).flatMap((s) => s.metrics);
  assert.deepEqual(streams.map((m) => [m.descriptor.name, m.dataPointType, m.dataPoints.length]).sort(), [
    ['test.kinds', sdkMetrics.DataPointType.HISTOGRAM, 1],
    ['test.kinds', sdkMetrics.DataPointType.SUM, 1],
  ].sort());
  await p.sdk.shutdown();
});

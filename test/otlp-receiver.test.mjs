// Proves the in-process OTLP receiver (test/support/otlp-receiver.mjs) decodes exactly what
// the real OpenTelemetry JS exporters send, over http/protobuf and http/json, with and
// without gzip, and that its failure modes (bad payloads, simulated collector outage) work.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';

const require = createRequire(import.meta.url);
const api = require('@opentelemetry/api');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const { ExportResultCode } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = require('@opentelemetry/sdk-trace-base');
const {
  MeterProvider, PeriodicExportingMetricReader, AggregationType, AggregationTemporality, InMemoryMetricExporter,
} = require('@opentelemetry/sdk-metrics');
const { LoggerProvider, SimpleLogRecordProcessor, InMemoryLogRecordExporter } = require('@opentelemetry/sdk-logs');

const EXPORTERS = {
  protobuf: {
    traces: require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter,
    metrics: require('@opentelemetry/exporter-metrics-otlp-proto').OTLPMetricExporter,
    logs: require('@opentelemetry/exporter-logs-otlp-proto').OTLPLogExporter,
    contentType: 'application/x-protobuf',
  },
  json: {
    traces: require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter,
    metrics: require('@opentelemetry/exporter-metrics-otlp-http').OTLPMetricExporter,
    logs: require('@opentelemetry/exporter-logs-otlp-http').OTLPLogExporter,
    contentType: 'application/json',
  },
};

const RESOURCE_ATTRS = { 'service.name': 'receiver-test', 'service.version': '1.2.3', 'deployment.environment.name': 'test' };
const resource = () => resourceFromAttributes(RESOURCE_ATTRS);
// hrTime -> decimal nanosecond string, exactly (the receiver's time representation).
const hrNanos = ([s, ns]) => (BigInt(s) * 1_000_000_000n + BigInt(ns)).toString();

let rx;
before(async () => {
  rx = await startOtlpReceiver();
});
after(async () => {
  await rx.close();
});
beforeEach(() => {
  rx.setFailWith(null);
  rx.reset();
});

function assertRequests(signal, encoding, compression) {
  assert.ok(rx.requests.length >= 1, `no request received: ${rx.summary()}`);
  for (const r of rx.requests) {
    assert.equal(r.method, 'POST');
    assert.equal(r.path, `/v1/${signal}`);
    assert.equal(r.signal, signal);
    assert.equal(r.contentType, EXPORTERS[encoding].contentType);
    assert.equal(r.contentEncoding, compression === 'gzip' ? 'gzip' : '');
    assert.equal(r.status, 200);
    assert.equal(r.error, null);
    assert.ok(r.bytes > 0);
  }
}

for (const encoding of ['protobuf', 'json']) {
  for (const compression of ['none', 'gzip']) {
    describe(`real SDK exporters over http/${encoding}, compression=${compression}`, () => {
      test('traces: ids, parent, kind, times, attributes of every type, event, link, status, resource, scope', async () => {
        const Exporter = EXPORTERS[encoding].traces;
        const memory = new InMemorySpanExporter();
        const provider = new BasicTracerProvider({
          resource: resource(),
          spanProcessors: [
            new SimpleSpanProcessor(new Exporter({ url: `${rx.url}/v1/traces`, compression })),
            new SimpleSpanProcessor(memory),
          ],
        });
        const tracer = provider.getTracer('receiver-test-scope', '0.0.7');

        const linked = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
        const parent = tracer.startSpan('parent-op', { kind: api.SpanKind.SERVER, startTime: [1_700_000_000, 1] });
        const child = tracer.startSpan(
          'child-op',
          {
            kind: api.SpanKind.CLIENT,
            startTime: [1_700_000_000, 123_456_789],
            attributes: {
              'str.attr': 'hello',
              'int.attr': 42,
              'negative.int': -7,
              'double.attr': 2.5,
              'bool.attr': true,
              'false.attr': false,
              'str.array': ['a', 'b'],
              'int.array': [1, 2, 3],
              'double.array': [1.5, 2.25],
              'bool.array': [true, false],
            },
            links: [{ context: linked, attributes: { 'link.kind': 'follows' } }],
          },
          api.trace.setSpan(api.ROOT_CONTEXT, parent),
        );
        child.addEvent('cache.miss', { 'cache.key': 'user:1', attempt: 2 }, [1_700_000_000, 200_000_000]);
        child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom' });
        child.end([1_700_000_000, 987_654_321]);
        parent.end([1_700_000_001, 0]);
        await provider.forceFlush();

        const got = await rx.waitFor(() => rx.spans.length >= 2 && rx.spans);
        assertRequests('traces', encoding, compression);
        assert.equal(got.length, 2);
        const sdkSpans = Object.fromEntries(memory.getFinishedSpans().map((s) => [s.name, s]));
        const byName = Object.fromEntries(got.map((s) => [s.name, s]));
        const p = byName['parent-op'];
        const c = byName['child-op'];
        assert.ok(p && c, rx.summary());

        // ids: lowercase hex matching the SDK's span contexts; parent relationship.
        assert.equal(p.traceId, parent.spanContext().traceId);
        assert.equal(p.spanId, parent.spanContext().spanId);
        assert.equal(p.parentSpanId, '');
        assert.equal(c.traceId, parent.spanContext().traceId);
        assert.equal(c.spanId, child.spanContext().spanId);
        assert.equal(c.parentSpanId, parent.spanContext().spanId);
        assert.match(c.traceId, /^[0-9a-f]{32}$/);
        assert.match(c.spanId, /^[0-9a-f]{16}$/);

        // kind is the OTLP enum: API kind + 1.
        assert.equal(p.kind, 2); // SPAN_KIND_SERVER
        assert.equal(c.kind, 3); // SPAN_KIND_CLIENT
        // flags: W3C trace flags (sampled) | CONTEXT_HAS_IS_REMOTE (0x100).
        assert.equal(c.flags, 0x101);

        // times: exact nanosecond strings (beyond Number precision).
        assert.equal(c.startTimeUnixNano, '1700000000123456789');
        assert.equal(c.endTimeUnixNano, '1700000000987654321');
        assert.equal(p.startTimeUnixNano, '1700000000000000001');
        assert.equal(p.endTimeUnixNano, hrNanos(sdkSpans['parent-op'].endTime));

        assert.deepEqual(c.attributes, {
          'str.attr': 'hello',
          'int.attr': 42,
          'negative.int': -7,
          'double.attr': 2.5,
          'bool.attr': true,
          'false.attr': false,
          'str.array': ['a', 'b'],
          'int.array': [1, 2, 3],
          'double.array': [1.5, 2.25],
          'bool.array': [true, false],
        });
        assert.deepEqual(p.attributes, {});

        assert.deepEqual(c.events, [
          { name: 'cache.miss', timeUnixNano: '1700000000200000000', attributes: { 'cache.key': 'user:1', attempt: 2 }, droppedAttributesCount: 0 },
        ]);
        assert.equal(c.links.length, 1);
        assert.equal(c.links[0].traceId, linked.traceId);
        assert.equal(c.links[0].spanId, linked.spanId);
        assert.deepEqual(c.links[0].attributes, { 'link.kind': 'follows' });

        assert.deepEqual(c.status, { code: 2, message: 'boom' });
        assert.deepEqual(p.status, { code: 0, message: '' });

        for (const s of [p, c]) {
          assert.equal(s.resource['service.name'], 'receiver-test');
          assert.equal(s.resource['service.version'], '1.2.3');
          assert.equal(s.resource['deployment.environment.name'], 'test');
          assert.equal(s.scope.name, 'receiver-test-scope');
          assert.equal(s.scope.version, '0.0.7');
          assert.equal(s.encoding, encoding);
        }
        await provider.shutdown();
      });

      test('metrics: counter (sum), histogram, exponential histogram, int gauge', async () => {
        const Exporter = EXPORTERS[encoding].metrics;
        const reader = new PeriodicExportingMetricReader({
          exporter: new Exporter({ url: `${rx.url}/v1/metrics`, compression }),
          exportIntervalMillis: 60_000,
        });
        const provider = new MeterProvider({
          resource: resource(),
          readers: [reader],
          views: [{ instrumentName: 'test.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
        });
        const meter = provider.getMeter('receiver-test-meter', '3.2.1');

        const counter = meter.createCounter('test.requests', { description: 'handled requests', unit: '{request}' });
        counter.add(3, { route: '/a' });
        counter.add(2, { route: '/a' });
        counter.add(1, { route: '/b' });
        const histogram = meter.createHistogram('test.duration', { unit: 'ms', advice: { explicitBucketBoundaries: [10, 100, 1000] } });
        histogram.record(5, { route: '/a' });
        histogram.record(50, { route: '/a' });
        histogram.record(500, { route: '/a' });
        histogram.record(5000, { route: '/a' });
        const gauge = meter.createGauge('test.queue.depth', { valueType: api.ValueType.INT });
        gauge.record(17, { queue: 'q1' });
        const sizes = meter.createHistogram('test.size', { unit: 'By' });
        for (const v of [0, 2, 4, 8]) sizes.record(v); // histograms drop negative values

        await provider.forceFlush();
        const got = await rx.waitFor(() => rx.metrics.length >= 4 && rx.metrics);
        assertRequests('metrics', encoding, compression);
        const byName = Object.fromEntries(got.map((m) => [m.name, m]));

        const sum = byName['test.requests'];
        assert.equal(sum.type, 'sum');
        assert.equal(sum.description, 'handled requests');
        assert.equal(sum.unit, '{request}');
        assert.equal(sum.isMonotonic, true);
        assert.equal(sum.aggregationTemporality, 2); // CUMULATIVE (SDK default)
        const points = Object.fromEntries(sum.dataPoints.map((d) => [d.attributes.route, d]));
        assert.equal(points['/a'].value, 5);
        assert.equal(points['/a'].valueType, 'double'); // counters default to ValueType.DOUBLE
        assert.equal(points['/b'].value, 1);
        assert.match(points['/a'].timeUnixNano, /^\d{19}$/);
        assert.match(points['/a'].startTimeUnixNano, /^\d{19}$/);
        assert.ok(BigInt(points['/a'].timeUnixNano) >= BigInt(points['/a'].startTimeUnixNano));

        const hist = byName['test.duration'];
        assert.equal(hist.type, 'histogram');
        assert.equal(hist.unit, 'ms');
        assert.equal(hist.aggregationTemporality, 2);
        assert.equal(hist.dataPoints.length, 1);
        const hp = hist.dataPoints[0];
        assert.deepEqual(hp.attributes, { route: '/a' });
        assert.equal(hp.count, 4);
        assert.equal(hp.sum, 5555);
        assert.equal(hp.min, 5);
        assert.equal(hp.max, 5000);
        assert.deepEqual(hp.explicitBounds, [10, 100, 1000]);
        assert.deepEqual(hp.bucketCounts, [1, 1, 1, 1]);

        const g = byName['test.queue.depth'];
        assert.equal(g.type, 'gauge');
        assert.equal(g.aggregationTemporality, undefined);
        assert.deepEqual(g.dataPoints.map((d) => [d.attributes, d.value, d.valueType]), [[{ queue: 'q1' }, 17, 'int']]);

        const exp = byName['test.size'];
        assert.equal(exp.type, 'exponentialHistogram');
        assert.equal(exp.aggregationTemporality, 2);
        const ep = exp.dataPoints[0];
        assert.equal(ep.count, 4);
        assert.equal(ep.sum, 14);
        assert.equal(ep.min, 0);
        assert.equal(ep.max, 8);
        assert.equal(ep.zeroCount, 1);
        assert.equal(typeof ep.scale, 'number');
        assert.equal(ep.positive.bucketCounts.reduce((a, b) => a + b, 0), 3);
        assert.deepEqual(ep.negative.bucketCounts, []);

        for (const m of got) {
          assert.equal(m.resource['service.name'], 'receiver-test');
          assert.deepEqual(m.scope, { name: 'receiver-test-meter', version: '3.2.1', attributes: {} });
        }
        await provider.shutdown();
      });

      test('logs: body (string and map), severity, attributes incl. bytes/map, trace context, times', async () => {
        const Exporter = EXPORTERS[encoding].logs;
        const provider = new LoggerProvider({
          resource: resource(),
          // sdk-logs 0.223: SimpleLogRecordProcessor takes an options object, not the exporter.
          processors: [new SimpleLogRecordProcessor({ exporter: new Exporter({ url: `${rx.url}/v1/logs`, compression }) })],
        });
        const logger = provider.getLogger('receiver-test-logger', '9.9.9');
        const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
        const ctx = api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext);

        logger.emit({
          timestamp: [1_700_000_002, 345_678_901],
          severityNumber: SeverityNumber.WARN,
          severityText: 'WARN',
          body: 'disk almost full',
          attributes: { 'disk.free': 0.05, 'disk.path': '/var', retries: 3, ok: false, tags: ['a', 'b'] },
          context: ctx,
        });
        logger.emit({
          severityNumber: SeverityNumber.INFO,
          body: { msg: 'structured', nested: { n: 1, list: [1, 'two'] } },
          attributes: { blob: new Uint8Array([1, 2, 255]), obj: { k: 'v' } },
        });
        await provider.forceFlush();

        const got = await rx.waitFor(() => rx.logs.length >= 2 && rx.logs);
        assertRequests('logs', encoding, compression);
        const warn = got.find((l) => l.severityText === 'WARN');
        const info = got.find((l) => l.severityNumber === SeverityNumber.INFO);
        assert.ok(warn && info, rx.summary());

        assert.equal(warn.body, 'disk almost full');
        assert.equal(warn.severityNumber, 13);
        assert.equal(warn.timeUnixNano, '1700000002345678901');
        assert.match(warn.observedTimeUnixNano, /^\d{19}$/);
        assert.deepEqual(warn.attributes, { 'disk.free': 0.05, 'disk.path': '/var', retries: 3, ok: false, tags: ['a', 'b'] });
        assert.equal(warn.traceId, spanContext.traceId);
        assert.equal(warn.spanId, spanContext.spanId);
        assert.equal(warn.flags, 1);
        assert.equal(warn.resource['service.name'], 'receiver-test');
        assert.deepEqual(warn.scope, { name: 'receiver-test-logger', version: '9.9.9', attributes: {} });

        assert.deepEqual(info.body, { msg: 'structured', nested: { n: 1, list: [1, 'two'] } });
        assert.equal(info.severityText, '');
        assert.equal(info.traceId, '');
        assert.equal(info.spanId, '');
        assert.ok(Buffer.isBuffer(info.attributes.blob));
        assert.deepEqual([...info.attributes.blob], [1, 2, 255]);
        assert.deepEqual(info.attributes.obj, { k: 'v' });
        await provider.shutdown();
      });
    });
  }
}

describe('protobuf and JSON decode to identical objects', () => {
  // The same SDK records exported through both exporters must normalise to the same JS
  // values: this pins the hand-written otlp.proto against the SDK's JSON serializer.
  const exportWith = (exporter, items) => new Promise((resolve) => exporter.export(items, resolve));
  const strip = (records) => records.map(({ encoding, ...rest }) => {
    assert.ok(encoding === 'protobuf' || encoding === 'json');
    return rest;
  });

  async function both(signal, items) {
    const out = {};
    for (const encoding of ['protobuf', 'json']) {
      rx.reset();
      const exporter = new EXPORTERS[encoding][signal]({ url: `${rx.url}/v1/${signal}` });
      const result = await exportWith(exporter, items);
      await exporter.shutdown();
      assert.equal(result.code, ExportResultCode.SUCCESS, `${signal}/${encoding}: ${result.error}`);
      out[encoding] = strip(rx[signal === 'traces' ? 'spans' : signal]);
    }
    assert.ok(out.protobuf.length > 0);
    assert.deepEqual(out.protobuf, out.json);
    return out.protobuf;
  }

  test('spans', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resource(), spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('eq', '1');
    const root = tracer.startSpan('root', { kind: api.SpanKind.PRODUCER, attributes: { a: 1, b: 'x', c: [0.5], d: true } });
    const child = tracer.startSpan('child', { links: [{ context: root.spanContext() }] }, api.trace.setSpan(api.ROOT_CONTEXT, root));
    child.addEvent('e1', { n: 1 });
    child.recordException(new Error('kaput'));
    child.setStatus({ code: api.SpanStatusCode.OK });
    child.end();
    root.end();
    const spans = await both('traces', memory.getFinishedSpans());
    assert.deepEqual(spans.map((x) => x.name), ['child', 'root']);
    assert.equal(spans[0].events[1].name, 'exception');
    assert.equal(spans[0].events[1].attributes['exception.message'], 'kaput');
    await provider.shutdown();
  });

  test('metrics', async () => {
    const memory = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const provider = new MeterProvider({
      resource: resource(),
      readers: [new PeriodicExportingMetricReader({ exporter: memory, exportIntervalMillis: 60_000 })],
      views: [{ instrumentName: 'eq.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    const meter = provider.getMeter('eq', '1');
    meter.createCounter('eq.count').add(3, { k: 'v' });
    meter.createUpDownCounter('eq.updown', { valueType: api.ValueType.INT }).add(-4);
    meter.createHistogram('eq.hist').record(7.25);
    meter.createHistogram('eq.exp').record(3);
    meter.createObservableGauge('eq.gauge').addCallback((r) => r.observe(0.125, { g: true }));
    await provider.forceFlush();
    const [resourceMetrics] = memory.getMetrics();
    const metrics = await both('metrics', resourceMetrics);
    const types = Object.fromEntries(metrics.map((m) => [m.name, m.type]));
    assert.deepEqual(types, { 'eq.count': 'sum', 'eq.updown': 'sum', 'eq.hist': 'histogram', 'eq.exp': 'exponentialHistogram', 'eq.gauge': 'gauge' });
    const updown = metrics.find((m) => m.name === 'eq.updown');
    assert.equal(updown.isMonotonic, false);
    assert.deepEqual([updown.dataPoints[0].value, updown.dataPoints[0].valueType], [-4, 'int']);
    await provider.shutdown();
  });

  test('logs', async () => {
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource: resource(), processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
    const logger = provider.getLogger('eq', '1');
    logger.emit({ body: 'plain', severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', eventName: 'app.failure' });
    logger.emit({ body: ['list', 2, { deep: [true] }], attributes: { bytes: new Uint8Array([0, 16]) } });
    logger.emit({ attributes: { only: 'attrs' } });
    const logs = await both('logs', memory.getFinishedLogRecords());
    assert.equal(logs[0].eventName, 'app.failure');
    assert.deepEqual(logs[1].body, ['list', 2, { deep: [true] }]);
    assert.equal(logs[2].body, null);
    await provider.shutdown();
  });
});

describe('failure modes', () => {
  async function post(path, contentType, body, headers = {}) {
    const res = await fetch(`${rx.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
    return { status: res.status, contentType: res.headers.get('content-type'), reason: res.headers.get('x-otlp-receiver-error'), body: Buffer.from(await res.arrayBuffer()) };
  }

  test('hand-written OTLP/JSON (int64 as strings, enum numbers) and empty success responses', async () => {
    const payload = {
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hand' } }] },
        scopeSpans: [{
          scope: { name: 's' },
          spans: [{
            traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174', name: 'manual', kind: 'SPAN_KIND_CONSUMER',
            startTimeUnixNano: '1544712660000000000', endTimeUnixNano: 1544712661000000000,
            attributes: [{ key: 'big', value: { intValue: '9007199254740993' } }, { key: 'nan', value: { doubleValue: 'NaN' } }],
            status: { code: 1 },
          }],
        }],
      }],
    };
    const r = await post('/v1/traces', 'application/json; charset=utf-8', JSON.stringify(payload));
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'application/json');
    assert.equal(r.body.toString(), '{}');
    const [s] = rx.spans;
    assert.equal(s.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(s.kind, 5);
    assert.equal(s.startTimeUnixNano, '1544712660000000000');
    assert.equal(s.attributes.big, 9007199254740992); // int64 -> Number (documented as lossy)
    assert.ok(Number.isNaN(s.attributes.nan));
    assert.deepEqual(s.status, { code: 1, message: '' });
    assert.deepEqual(s.resource, { 'service.name': 'hand' });

    const summary = {
      resourceMetrics: [{
        scopeMetrics: [{
          metrics: [{
            name: 'legacy.summary',
            summary: { dataPoints: [{ timeUnixNano: '1', count: '3', sum: 6, quantileValues: [{ quantile: 0.5, value: 2 }, { quantile: 1, value: 3 }] }] },
          }],
        }],
      }],
    };
    assert.equal((await post('/v1/metrics', 'application/json', JSON.stringify(summary))).status, 200);
    assert.equal(rx.metrics[0].type, 'summary');
    assert.deepEqual(rx.metrics[0].dataPoints[0].quantileValues, [{ quantile: 0.5, value: 2 }, { quantile: 1, value: 3 }]);
    assert.equal(rx.metrics[0].dataPoints[0].count, 3);

    const pb = await post('/v1/logs', 'application/x-protobuf', new Uint8Array(0));
    assert.equal(pb.status, 200);
    assert.equal(pb.contentType, 'application/x-protobuf');
    assert.equal(pb.body.length, 0);
  });

  test('bad payloads get 400 with a reason and leave the store untouched', async () => {
    const cases = [
      ['/v1/traces', 'application/json', '{"resourceSpans": [', {}, /invalid JSON/],
      ['/v1/traces', 'application/json', '[]', {}, /must be an object/],
      ['/v1/logs', 'application/json', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ traceId: 'xyz' }] }] }] }), {}, /traceId is not a hex string/],
      ['/v1/metrics', 'application/json', JSON.stringify({ resourceMetrics: {} }), {}, /resourceMetrics must be an array/],
      ['/v1/traces', 'application/x-protobuf', Buffer.from([0x0a, 0xff, 0x01]), {}, /invalid protobuf ExportTraceServiceRequest/],
      ['/v1/metrics', 'application/x-protobuf', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }, /cannot decompress gzip/],
      ['/v1/logs', 'application/json', zlib.gzipSync('{}'), { 'content-encoding': 'br' }, /unsupported content-encoding: br/],
    ];
    for (const [path, type, body, headers, reason] of cases) {
      const r = await post(path, type, body, headers);
      assert.equal(r.status, 400, `${path} ${type} ${reason}`);
      assert.match(r.reason, reason);
      if (type === 'application/json') {
        const status = JSON.parse(r.body.toString());
        assert.equal(status.code, 3);
        assert.match(status.message, reason);
      } else {
        assert.equal(r.contentType, 'application/x-protobuf');
        assert.match(r.body.toString('latin1'), reason); // google.rpc.Status.message is a plain string field
      }
    }
    assert.equal(rx.spans.length + rx.logs.length + rx.metrics.length, 0);
    assert.equal(rx.requests.length, cases.length);
    assert.ok(rx.requests.every((q) => q.status === 400 && q.error && q.items === 0));

    assert.equal((await post('/v1/traces', 'text/plain', 'hi')).status, 415);
    assert.equal((await post('/v1/nope', 'application/json', '{}')).status, 404);
    assert.equal((await fetch(`${rx.url}/v1/traces`)).status, 405);
  });

  async function exportOneSpan(Exporter, options = {}) {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resource(), spanProcessors: [new SimpleSpanProcessor(memory)] });
    provider.getTracer('t').startSpan('to-export').end();
    const exporter = new Exporter({ url: `${rx.url}/v1/traces`, ...options });
    const result = await new Promise((resolve) => exporter.export(memory.getFinishedSpans(), resolve));
    await exporter.shutdown();
    await provider.shutdown();
    return result;
  }

  for (const encoding of ['protobuf', 'json']) {
    test(`setFailWith(503) makes the ${encoding} exporter report failure; null restores`, async () => {
      rx.setFailWith(503);
      const failed = await exportOneSpan(EXPORTERS[encoding].traces, { timeoutMillis: 500 });
      assert.equal(failed.code, ExportResultCode.FAILED);
      assert.ok(rx.requests.length >= 1);
      assert.ok(rx.requests.every((q) => q.status === 503));
      assert.equal(rx.spans.length, 0);

      rx.setFailWith(400); // non-retryable: fails on the first attempt
      const rejected = await exportOneSpan(EXPORTERS[encoding].traces);
      assert.equal(rejected.code, ExportResultCode.FAILED);

      rx.setFailWith(null);
      const ok = await exportOneSpan(EXPORTERS[encoding].traces);
      assert.equal(ok.code, ExportResultCode.SUCCESS);
      assert.deepEqual(rx.spans.map((s) => s.name), ['to-export']);
    });
  }

  test('failWith start option, waitFor timeout message summarises what arrived, reset()', async () => {
    const other = await startOtlpReceiver({ failWith: 502 });
    try {
      const r = await fetch(`${other.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(r.status, 502);
      other.setFailWith(null);
      const body = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'first log' } }] }] }] };
      await fetch(`${other.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(await other.waitFor((x) => x.logs.length === 1), true);
      await assert.rejects(
        other.waitFor(() => other.spans.find((s) => s.name === 'never'), { timeoutMs: 100 }),
        (err) => /timed out after 100ms/.test(err.message) && /0 span\(s\)/.test(err.message)
          && /1 log\(s\): \["first log"\]/.test(err.message) && /502/.test(err.message),
      );
      other.reset();
      assert.equal(other.logs.length + other.requests.length, 0);
      assert.throws(() => other.setFailWith('503'), TypeError);
    } finally {
      await other.close();
    }
  });
});

// Express under otelkit: the route of every request and the layer spans of sampled ones, checked
// against what the official register emits for the same application (otelkit replaces the
// express instrumentation's per-layer wrapper and must emit the same spans); the duration
// histogram otelkit aggregates itself, checked against the SDK's; context through body parsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import { receiverPerFile } from './support/receiver-per-file.mjs';
import { startApp, get, freePort, ROOT } from './support/app.mjs';

const require = createRequire(import.meta.url);
const { matchedRoute, constructedRoute } = require(path.join(ROOT, 'dist/instrument/patches/express-layers.js'));
const { HttpServerDuration, DURATION_BUCKETS } = require(path.join(ROOT, 'dist/metrics/http-server-duration.js'));
const upstream = require(path.join(ROOT, 'node_modules/@opentelemetry/instrumentation-express/build/src/utils.js'));
const sdkMetrics = require(path.join(ROOT, 'node_modules/@opentelemetry/sdk-metrics'));
const sdkTrace = require(path.join(ROOT, 'node_modules/@opentelemetry/sdk-trace'));
const contextAccess = require(path.join(ROOT, 'dist/trace/context-access.js'));
const { AsyncLocalStorageContextManager } = require(path.join(ROOT, 'node_modules/@opentelemetry/context-async-hooks'));
const { ROOT_CONTEXT: ROOT_CONTEXT_API } = require(path.join(ROOT, 'node_modules/@opentelemetry/api'));

const shared = receiverPerFile();
const { apps } = shared;

const BASE_ENV = { OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };

function launchOtelkit(service, env = {}) {
  const app = startApp('express-layers-app.js', {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: shared.rec.url, OTEL_SERVICE_NAME: service, OTELKIT_ENVIRONMENT: 'development', ...BASE_ENV, ...env },
  });
  apps.push(app);
  return app;
}

function launchOfficial() {
  const app = startApp('express-layers-app.js', {
    preload: ['--require', '@opentelemetry/auto-instrumentations-node/register'],
    env: {
      ...BASE_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: shared.rec.url,
      OTEL_SERVICE_NAME: 'official',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_NODE_RESOURCE_DETECTORS: 'env',
      OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,express',
    },
  });
  apps.push(app);
  return app;
}

const REQUESTS = [
  ['GET', '/api/items/7'],
  ['GET', '/api/trace'],
  ['POST', '/api/echo'],
  ['GET', '/api/broken'],
  ['GET', '/a'],
  ['GET', '/re/12'],
  ['GET', '/nope'],
];

const traceparent = (traceId, sampled) => `00-${traceId}-${crypto.randomBytes(8).toString('hex')}-${sampled ? '01' : '00'}`;

/** Sends every request with a trace id of our own; returns path -> { traceId, body }. */
async function drive(port, sampled) {
  const out = new Map();
  for (const [method, p] of REQUESTS) {
    const traceId = crypto.randomBytes(16).toString('hex');
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method,
      headers: { traceparent: traceparent(traceId, sampled), 'content-type': 'application/json' },
      body: method === 'POST' ? JSON.stringify({ n: 1 }) : undefined,
    });
    out.set(`${method} ${p}`, { traceId, status: res.status, body: await res.text() });
  }
  return out;
}

/** The express layer spans of one trace, as comparable rows. */
function layerRows(traceId) {
  const spans = shared.rec.spans.filter((s) => s.traceId === traceId);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  return spans
    .filter((s) => s.attributes['express.type'] !== undefined)
    .map((s) => {
      const parent = byId.get(s.parentSpanId);
      return JSON.stringify({
        name: s.name,
        type: s.attributes['express.type'],
        expressName: s.attributes['express.name'],
        route: s.attributes['http.route'] ?? null,
        status: s.status.code,
        exception: s.events.some((e) => e.name === 'exception'),
        parent: parent ? (parent.kind === 2 ? 'SERVER' : parent.name) : 'missing',
      });
    })
    .sort();
}

async function settled(traces, minSpansPerTrace = 1) {
  await shared.rec.waitFor(() => [...traces.values()].every((t) => shared.rec.spans.filter((s) => s.traceId === t.traceId).length >= minSpansPerTrace) || null, { timeoutMs: 15000 });
  // Layer spans end before or with the server span; give the last batch a moment.
  await new Promise((r) => setTimeout(r, 300));
}

test('layer spans match the official express instrumentation span for span (development)', async () => {
  const ours = launchOtelkit('otelkit-dev');
  const official = launchOfficial();
  const [oursPort, officialPort] = await Promise.all([ours.port(), official.port()]);
  const oursTraces = await drive(oursPort, true);
  const officialTraces = await drive(officialPort, true);
  await settled(oursTraces, 2);
  await settled(officialTraces, 2);
  for (const [key, t] of oursTraces) {
    const expected = layerRows(officialTraces.get(key).traceId);
    assert.ok(expected.length > 0, `the official register made layer spans for ${key}`);
    assert.deepEqual(layerRows(t.traceId), expected, `layer spans of ${key}`);
    assert.equal(t.status, officialTraces.get(key).status);
  }
  // The server span carries the route either way.
  const server = shared.rec.spans.find((s) => s.traceId === oursTraces.get('GET /api/items/7').traceId && s.kind === 2);
  assert.equal(server.name, 'GET /api/items/:id');
  assert.equal(server.attributes['http.route'], '/api/items/:id');
  const broken = shared.rec.spans.find((s) => s.traceId === oursTraces.get('GET /api/broken').traceId && s.kind === 2);
  assert.equal(broken.attributes['http.response.status_code'], 500);
});

test('production: no layer spans, the route on the server span, as the official register names it', async () => {
  const prod = launchOtelkit('otelkit-prod', { OTELKIT_ENVIRONMENT: 'production', OTEL_TRACES_SAMPLER_ARG: '1' });
  const official = launchOfficial();
  const [prodPort, officialPort] = await Promise.all([prod.port(), official.port()]);
  const traces = await drive(prodPort, true);
  const officialTraces = await drive(officialPort, true);
  await settled(traces, 1);
  await settled(officialTraces, 2);
  const server = (t) => shared.rec.spans.find((s) => s.traceId === t.traceId && s.kind === 2);
  for (const [key, t] of traces) {
    const spans = shared.rec.spans.filter((s) => s.traceId === t.traceId);
    assert.deepEqual(layerRows(t.traceId), [], `no layer spans for ${key}`);
    assert.equal(spans.filter((s) => s.kind === 2).length, 1, `one server span for ${key}`);
    // The route-only layer wrapper of production finds the route the full one finds.
    const theirs = server(officialTraces.get(key));
    assert.equal(server(t).attributes['http.route'], theirs.attributes['http.route'], `http.route of ${key}`);
    assert.equal(server(t).name, theirs.name, `server span name of ${key}`);
  }
  const serverOf = (key) => server(traces.get(key));
  assert.equal(serverOf('GET /api/items/7').name, 'GET /api/items/:id');
  assert.equal(serverOf('GET /api/items/7').attributes['http.route'], '/api/items/:id');
  assert.equal(serverOf('POST /api/echo').attributes['http.route'], '/api/echo');
  assert.equal(serverOf('GET /api/broken').attributes['http.response.status_code'], 500);
  assert.equal(serverOf('GET /nope').attributes['http.route'], undefined);
  assert.equal(serverOf('GET /nope').name, 'GET');
});

test('production with OTELKIT_EXPRESS_LAYER_SPANS=true: the official register\'s layer spans, span for span', async () => {
  const prod = launchOtelkit('otelkit-prod-layers', { OTELKIT_ENVIRONMENT: 'production', OTEL_TRACES_SAMPLER_ARG: '1', OTELKIT_EXPRESS_LAYER_SPANS: 'true' });
  const official = launchOfficial();
  const [prodPort, officialPort] = await Promise.all([prod.port(), official.port()]);
  const traces = await drive(prodPort, true);
  const officialTraces = await drive(officialPort, true);
  await settled(traces, 2);
  await settled(officialTraces, 2);
  for (const [key, t] of traces) {
    const expected = layerRows(officialTraces.get(key).traceId);
    assert.ok(expected.length > 0, `the official register made layer spans for ${key}`);
    assert.deepEqual(layerRows(t.traceId), expected, `layer spans of ${key}`);
  }
});

test('unsampled requests: no spans, the route still in the duration metric, the context through the body parser; exports are not client calls', async () => {
  const admin = await freePort();
  const app = launchOtelkit('otelkit-unsampled', { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: String(admin) });
  const port = await app.port();
  const traces = await drive(port, false);
  // A sampled request afterwards: its spans arriving means the unsampled ones had their chance.
  const sampled = await drive(port, true);
  await settled(sampled, 2);
  for (const t of traces.values()) assert.equal(shared.rec.spans.filter((s) => s.traceId === t.traceId).length, 0);

  const trace = traces.get('GET /api/trace');
  assert.deepEqual(JSON.parse(trace.body), { traceId: trace.traceId, sampled: false });
  const echo = traces.get('POST /api/echo');
  assert.deepEqual(JSON.parse(echo.body), { body: { n: 1 }, traceId: echo.traceId, sampled: false });
  const sampledEcho = sampled.get('POST /api/echo');
  assert.deepEqual(JSON.parse(sampledEcho.body), { body: { n: 1 }, traceId: sampledEcho.traceId, sampled: true });

  const { text } = await get(admin, '/metrics');
  const count = (route, status) => {
    const m = new RegExp(`http_server_request_duration_seconds_count\\{[^}]*http_route="${route.replace(/[/*]/g, '\\$&')}"[^}]*http_response_status_code="${status}"[^}]*\\} (\\d+)`).exec(text)
      ?? new RegExp(`http_server_request_duration_seconds_count\\{[^}]*http_response_status_code="${status}"[^}]*http_route="${route.replace(/[/*]/g, '\\$&')}"[^}]*\\} (\\d+)`).exec(text);
    return m ? Number(m[1]) : 0;
  };
  // The app makes no outgoing requests: otelkit's own span exports must not count as its calls.
  assert.doesNotMatch(text, /http_client_request_duration/, 'the exporter\'s requests were instrumented');
  assert.equal(count('/api/items/:id', 200), 2, text);
  assert.equal(count('/api/broken', 500), 2, text);
  // A path no route matched has no http.route.
  assert.match(text, /http_server_request_duration_seconds_count\{(?![^}]*http_route)[^}]*http_response_status_code="404"[^}]*\} 2/);
});

test('requests without a parent: sampled as the SDK ratio sampler decides their trace id, unsampled ones with valid ids and no spans', async () => {
  const ratio = 0.5;
  const app = launchOtelkit('otelkit-roots', { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(ratio) });
  const port = await app.port();
  const { TraceIdRatioBasedSampler, SamplingDecision } = sdkTrace;
  const sdk = new TraceIdRatioBasedSampler(ratio);
  const seen = [];
  for (let i = 0; i < 120; i++) seen.push(await (await fetch(`http://127.0.0.1:${port}/api/trace`)).json());
  for (const { traceId, sampled } of seen) {
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(traceId, '0'.repeat(32));
    assert.equal(sampled, sdk.shouldSample(ROOT_CONTEXT_API, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED, traceId);
  }
  assert.equal(new Set(seen.map((s) => s.traceId)).size, seen.length, 'trace ids repeat');
  const kept = seen.filter((s) => s.sampled).map((s) => s.traceId);
  assert.ok(kept.length >= 30 && kept.length <= 90, `${kept.length} of ${seen.length} sampled at ${ratio}`);
  await shared.rec.waitFor(() => kept.every((id) => shared.rec.spans.some((s) => s.traceId === id && s.kind === 2)) || null, { timeoutMs: 15000 });
  await new Promise((r) => setTimeout(r, 300));
  for (const { traceId, sampled } of seen) {
    if (!sampled) assert.equal(shared.rec.spans.filter((s) => s.traceId === traceId).length, 0, traceId);
  }
});

/** POSTs JSON on the agent's connection, the body sent 50 ms after the headers: a read of its own. */
function latePost(port, agent, traceId, path = '/raw') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { traceparent: traceparent(traceId, true), 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ body: JSON.parse(body), socket: res.socket }));
    });
    req.on('error', reject);
    req.flushHeaders();
    setTimeout(() => req.end(JSON.stringify({ n: 2 })), 50);
  });
}

test('the request context: a body read after the headers, requests in turn on one connection, a response ended from another context', async () => {
  const app = launchOtelkit('otelkit-context');
  const port = await app.port();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const ids = [crypto.randomBytes(16).toString('hex'), crypto.randomBytes(16).toString('hex')];
    const first = await latePost(port, agent, ids[0]);
    const second = await latePost(port, agent, ids[1]);
    const parsed = await latePost(port, agent, ids[0], '/api/echo');
    assert.equal(first.socket, second.socket, 'both requests on one connection');
    assert.deepEqual(first.body, { body: { n: 2 }, traceId: ids[0], sampled: true });
    assert.deepEqual(second.body, { body: { n: 2 }, traceId: ids[1], sampled: true });
    assert.deepEqual(parsed.body, { body: { n: 2 }, traceId: ids[0], sampled: true });

    const lost = crypto.randomBytes(16).toString('hex');
    const res = await fetch(`http://127.0.0.1:${port}/api/lost`, { headers: { traceparent: traceparent(lost, true) } });
    assert.deepEqual(await res.json(), { traceId: null }, 'the handler ended the response outside the request context');
    const seen = await (await fetch(`http://127.0.0.1:${port}/api/finished`)).json();
    assert.deepEqual(seen, { traceId: lost, sampled: true }, "the 'finish' listener ran in the request's context");
  } finally {
    agent.destroy();
  }
});

test('the request context on each Node line: an entered context lasts on its async resource with async hooks (Node 20, 22), not on AsyncContextFrame (Node 24)', () => {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const major = Number(process.versions.node.split('.')[0]);
  const frames = flags.includes('--experimental-async-context-frame') || (major >= 24 && !flags.includes('--no-async-context-frame'));
  const manager = new AsyncLocalStorageContextManager();
  contextAccess.useContextManager(manager);
  assert.equal(contextAccess.enteredContextEndsWithCallback(), frames, `Node ${process.version}`);
  assert.equal(manager.active(), ROOT_CONTEXT_API, 'the probe leaves no context behind');
});

test('route construction matches upstream for mount paths of every kind', () => {
  const pieces = ['/', '/*', '*', '/api', 'api', '/items/:id', '/{*splat}', '/a,/b', '/^\\/re\\/\\d+$/', '//x', '/v1/', '/users/:uid/'];
  const urls = ['/', '/api/items/1', '/api', '/x', '/v1/items', '/users/5/', '/a', '/other'];
  const stacks = [[]];
  for (const a of pieces) {
    stacks.push([a]);
    for (const b of pieces) {
      stacks.push([a, b]);
      for (const c of ['/', '/items/:id', '*']) stacks.push([a, b, c]);
    }
  }
  let compared = 0;
  for (const stack of stacks) {
    for (const url of urls) {
      const req = { __ot_middlewares: [...stack], originalUrl: url };
      assert.equal(matchedRoute(stack, url), upstream.getActualMatchedRoute(req), JSON.stringify({ stack, url }));
      assert.equal(constructedRoute(stack), upstream.getConstructedRoute(req), JSON.stringify({ stack }));
      compared++;
    }
  }
  assert.ok(compared > 1000);
});

class TestReader extends sdkMetrics.MetricReader {
  constructor(producers) {
    super({ aggregationTemporalitySelector: () => sdkMetrics.AggregationTemporality.CUMULATIVE, metricProducers: producers });
  }
  async onForceFlush() {}
  async onShutdown() {}
}

function points(resourceMetrics, scopeName) {
  const metric = resourceMetrics.scopeMetrics.find((s) => s.scope.name === scopeName)?.metrics.find((m) => m.descriptor.name === 'http.server.request.duration');
  assert.ok(metric, `${scopeName} reported the histogram`);
  return {
    descriptor: { name: metric.descriptor.name, unit: metric.descriptor.unit, description: metric.descriptor.description, valueType: metric.descriptor.valueType },
    temporality: metric.aggregationTemporality,
    type: metric.dataPointType,
    points: metric.dataPoints
      .map((p) => ({ attributes: p.attributes, value: p.value }))
      .sort((x, y) => JSON.stringify(x.attributes).localeCompare(JSON.stringify(y.attributes))),
  };
}

/** otelkit's duration histogram and the SDK's, read by one reader. */
function histogramPair() {
  const ours = new HttpServerDuration();
  const reader = new TestReader([ours]);
  const provider = new sdkMetrics.MeterProvider({ readers: [reader] });
  const sdk = provider.getMeter('sdk').createHistogram('http.server.request.duration', {
    description: 'Duration of HTTP server requests.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  return { ours, sdk, reader, provider };
}

test('the duration histogram reports what the SDK histogram would: buckets, edges, attributes', async () => {
  const { ours, sdk, reader, provider } = histogramPair();
  const record = (seconds, method, status, route, errorType) => {
    ours.record(seconds, method, 'http', '1.1', status, route, errorType);
    const attrs = { 'http.request.method': method, 'url.scheme': 'http', 'network.protocol.version': '1.1', 'http.response.status_code': status };
    if (route) attrs['http.route'] = route;
    if (errorType) attrs['error.type'] = errorType;
    sdk.record(seconds, attrs);
  };
  // Bucket edges (a value equal to a boundary belongs to that boundary's bucket), zero, huge.
  for (const v of [0, 0.005, 0.0050001, 0.01, 0.3, 1, 10, 10.0001, 99, NaN]) record(v, 'GET', 200, '/a/:id', undefined);
  record(0.2, 'POST', 500, '/a/:id', '500');
  record(0.2, 'GET', 200, undefined, undefined);
  record(0.4, 'GET', 500, '/b', 'TypeError');
  let { resourceMetrics } = await reader.collect();
  const mine = points(resourceMetrics, 'otelkit.http');
  assert.deepEqual(mine, points(resourceMetrics, 'sdk'));
  assert.equal(mine.points.length, 4);

  await provider.shutdown();
});

test('requests of one route with alternating method, status, version, scheme and error land in their own series', async () => {
  const { ours, sdk, reader, provider } = histogramPair();
  // The recorder remembers each route's last series. Successive records of /orders/:id here
  // differ in exactly one attribute, each attribute in turn, so a remembered series used for
  // the wrong set would show.
  const sets = [
    ['GET', 'http', '1.1', 200, '/orders/:id', undefined],
    ['GET', 'http', '1.1', 404, '/orders/:id', undefined],
    ['GET', 'http', '1.0', 404, '/orders/:id', undefined],
    ['GET', 'https', '1.0', 404, '/orders/:id', undefined],
    ['POST', 'https', '1.0', 404, '/orders/:id', undefined],
    ['POST', 'https', '1.0', 404, '/orders/:id', 'TypeError'],
    ['GET', 'http', '1.1', 200, undefined, undefined],
    ['GET', 'http', '1.1', 200, '/other', undefined],
  ];
  for (let i = 0; i < 40; i++) {
    // A version string built per request, as Node's parser makes it: equal, not the same object.
    const [method, scheme, version, status, route, errorType] = sets[i % sets.length];
    const v = `${version.slice(0, 1)}.${version.slice(2)}`;
    ours.record(0.001 * i, method, scheme, v, status, route, errorType);
    const attrs = { 'http.request.method': method, 'url.scheme': scheme, 'network.protocol.version': version, 'http.response.status_code': status };
    if (route) attrs['http.route'] = route;
    if (errorType) attrs['error.type'] = errorType;
    sdk.record(0.001 * i, attrs);
  }
  const { resourceMetrics } = await reader.collect();
  const mine = points(resourceMetrics, 'otelkit.http');
  assert.equal(mine.points.length, sets.length);
  assert.deepEqual(mine, points(resourceMetrics, 'sdk'));
  await provider.shutdown();
});

test('past the cardinality limit, the duration histogram keeps one overflow series, as the SDK does', async () => {
  const { ours, sdk, reader, provider } = histogramPair();
  for (let i = 0; i < 2100; i++) {
    ours.record(0.001 * (i % 7), 'GET', 'http', '1.1', 200, `/r${i}`, undefined);
    sdk.record(0.001 * (i % 7), { 'http.request.method': 'GET', 'url.scheme': 'http', 'network.protocol.version': '1.1', 'http.response.status_code': 200, 'http.route': `/r${i}` });
  }
  const { resourceMetrics } = await reader.collect();
  const mine = points(resourceMetrics, 'otelkit.http');
  const theirs = points(resourceMetrics, 'sdk');
  assert.equal(mine.points.length, 2000);
  assert.deepEqual(mine, theirs);
  const overflow = mine.points.filter((p) => p.attributes['otel.metric.overflow']);
  assert.equal(overflow.length, 1);
  assert.equal(overflow[0].value.count, 101);
  await provider.shutdown();
});

// `otelkit dev`, the local telemetry viewer: OTLP/HTTP in (protobuf and JSON, from a real
// application under the preload), the JSON API out, 400s for bad payloads, bounded memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startDevServer } from '../dist/cli/dev/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A tiny application inside the package (so `import 'otelkit'` resolves to this package).
const APP = path.join(ROOT, '.tmp', 'dev-viewer-app.mjs');
const APP_SOURCE = `
import http from 'node:http';
import { getLogger } from 'otelkit';
const log = getLogger('app');
const server = http.createServer((req, res) => {
  if (req.url === '/fail') {
    log.error('boom while serving', new Error('kaput'));
    res.writeHead(500); res.end('no');
    return;
  }
  setTimeout(() => { log.info('served ok', { path: req.url }); res.end('ok'); }, 5);
});
server.listen(0, '127.0.0.1', () => process.stdout.write('listening ' + server.address().port + '\\n'));
`;

async function waitFor(fn, what, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)?.slice(0, 500)}`);
}

async function startApp(otlpUrl, protocol, service) {
  const child = spawn(process.execPath, ['--import', 'otelkit/register', APP], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? os.tmpdir(),
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_BLRP_SCHEDULE_DELAY: '100',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      OTELKIT_ENVIRONMENT: 'development',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const port = await waitFor(() => /listening (\d+)/.exec(out)?.[1], `the app to listen (output: ${out})`);
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    },
  };
}

let viewer;
const api = async (p) => {
  const r = await fetch(new URL(p, viewer.uiUrl));
  assert.equal(r.status, 200, `${p}: HTTP ${r.status} ${await r.clone().text()}`);
  return r.json();
};
const post = (signal, body, headers) => fetch(`${viewer.otlpUrl}/v1/${signal}`, { method: 'POST', headers, body });

before(async () => {
  mkdirSync(path.dirname(APP), { recursive: true });
  writeFileSync(APP, APP_SOURCE);
  viewer = await startDevServer({ host: 'localhost', port: 0, uiPort: 0, maxSpans: 5000, maxLogs: 5000, maxPoints: 20000 });
});
after(async () => {
  await viewer?.close();
});

for (const protocol of ['http/protobuf', 'http/json']) {
  test(`receives traces, logs and metrics over ${protocol} from an application under the preload`, async () => {
    const service = `app-${protocol.split('/')[1]}`;
    const app = await startApp(viewer.otlpUrl, protocol, service);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${app.url}/ok?i=${i}`)).status, 200);
      assert.equal((await fetch(`${app.url}/fail`)).status, 500);

      const traces = await waitFor(async () => {
        const t = await api(`/api/traces?service=${service}`);
        return t.length >= 4 && t;
      }, `4 traces of ${service}`);
      assert.ok(traces.every((t) => t.service === service && t.traceId.length === 32));
      const failed = traces.filter((t) => t.error);
      assert.equal(failed.length, 1, JSON.stringify(traces));
      assert.equal(failed[0].httpStatus, 500);

      // Filters: status, duration, route.
      assert.deepEqual((await api(`/api/traces?service=${service}&status=error`)).map((t) => t.traceId), [failed[0].traceId]);
      assert.equal((await api(`/api/traces?service=${service}&status=ok`)).length, 3);
      assert.equal((await api(`/api/traces?service=${service}&minMs=600000`)).length, 0);
      assert.equal((await api(`/api/traces?service=${service}&route=no-such-route`)).length, 0);
      assert.equal((await api(`/api/traces?service=${service}&route=GET`)).length, 4);

      // The failed trace: spans with attributes, and its logs.
      const logs = await waitFor(async () => {
        const l = await api(`/api/logs?service=${service}&level=error`);
        return l.length >= 1 && l;
      }, 'the error log');
      assert.equal(logs[0].body, 'boom while serving');
      assert.equal(logs[0].traceId, failed[0].traceId);
      const detail = await api(`/api/traces/${failed[0].traceId}`);
      assert.equal(detail.spans[0].depth, 0);
      assert.equal(detail.spans[0].attributes['http.response.status_code'], 500);
      assert.equal(detail.spans[0].service, service);
      assert.ok(detail.logs.some((l) => l.body === 'boom while serving' && l.attributes['exception.message'] === 'kaput'), JSON.stringify(detail.logs));

      // Log filters: text and level.
      const served = await waitFor(async () => {
        const l = await api(`/api/logs?service=${service}&q=SERVED`);
        return l.length === 3 && l;
      }, 'three "served ok" logs');
      assert.ok(served.every((l) => l.level === 'info' && l.traceId));
      assert.equal((await api(`/api/logs?service=${service}&level=warn&q=served`)).length, 0);

      // Services and charts.
      const services = await api('/api/services');
      const me = services.find((s) => s.name === service);
      assert.ok(me && me.traces >= 4 && me.logs >= 4, JSON.stringify(services));
      const routes = await api(`/api/metrics/routes?service=${service}&windowMin=5&stepSec=10`);
      assert.equal(routes.routes.length, 1, JSON.stringify(routes.routes.map((r) => r.route)));
      const r = routes.routes[0];
      assert.equal(r.total, 4);
      assert.equal(r.errors, 1);
      assert.ok(r.p50 > 0 && r.p99 >= r.p95 && r.p95 >= r.p50, JSON.stringify(r));
      assert.ok(r.series.some((p) => p.rate > 0 && p.errorRatio > 0));

      const names = await waitFor(async () => {
        const m = await api(`/api/metrics?service=${service}`);
        const n = m.map((x) => x.name);
        return n.includes('http.server.request.duration') && n.includes('nodejs.eventloop.utilization') && n.includes('v8js.memory.heap.used') && n;
      }, 'runtime and HTTP metrics');
      assert.ok(names.length > 5);
      const heap = await waitFor(async () => {
        const s = await api(`/api/metrics/series?service=${service}&name=v8js.memory.heap.used`);
        return s.series.some((x) => x.points.length >= 2) && s;
      }, 'two heap points');
      assert.equal(heap.kind, 'value');
      assert.equal(heap.unit, 'By');
      assert.ok(heap.series.some((x) => x.points.every(([t, v]) => t > 1e12 && v >= 0)));
      const latency = await waitFor(async () => {
        const s = await api(`/api/metrics/series?service=${service}&name=http.server.request.duration`);
        return s.series.length > 0 && s;
      }, 'the request duration histogram');
      assert.equal(latency.kind, 'mean');
    } finally {
      await app.stop();
    }
  });
}

test('bad OTLP payloads get 400 with a reason and leave the store untouched', async () => {
  const before = await api('/api/stats');
  const validSpan = (id) => ({ traceId: id.repeat(32).slice(0, 32), spanId: 'ab'.repeat(8), name: 'good', startTimeUnixNano: '1', endTimeUnixNano: '2' });
  const cases = [
    ['traces', Buffer.from([0x0a, 0x05, 0x01]), 'application/x-protobuf', 400, /claims 5 bytes/],
    ['traces', Buffer.from('garbage'), 'application/x-protobuf', 400, /wire type/],
    ['logs', '{not json', 'application/json', 400, /invalid JSON/],
    ['traces', JSON.stringify({ resourceSpans: 5 }), 'application/json', 400, /resourceSpans must be an array/],
    ['traces', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [validSpan('c'), { ...validSpan('d'), traceId: 'xyz' }] }] }] }), 'application/json', 400, /traceId must be 32 hex digits/],
    ['metrics', JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', gauge: { dataPoints: [{ asDouble: 'lots' }] } }] }] }] }), 'application/json', 400, /asDouble is not a number/],
    ['logs', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityNumber: 'LOUD' }] }] }] }), 'application/json', 400, /severityNumber/],
    ['traces', '{}', 'text/plain', 415, /unsupported content-type/],
  ];
  for (const [signal, body, type, status, reason] of cases) {
    const r = await post(signal, body, { 'content-type': type });
    assert.equal(r.status, status, `${signal} ${type} ${String(body).slice(0, 40)}`);
    assert.match(r.headers.get('x-otelkit-error') ?? '', reason);
    if (type === 'application/json') assert.match((await r.json()).message, reason);
    else await r.arrayBuffer();
  }
  const gz = await post('traces', Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.equal(gz.status, 400);
  assert.match(gz.headers.get('x-otelkit-error'), /cannot decompress/);
  const get = await fetch(`${viewer.otlpUrl}/v1/traces`);
  assert.equal(get.status, 405);

  const afterBad = await api('/api/stats');
  assert.equal(afterBad.spans, before.spans);
  assert.equal(afterBad.logs, before.logs);
  assert.equal(afterBad.points, before.points);
  assert.equal(afterBad.rejectedRequests, before.rejectedRequests + cases.length + 1);
  assert.equal((await api('/api/traces?route=good')).length, 0, 'the valid span of a rejected request is not stored');

  // Valid requests still work, gzip included; an empty protobuf request is a valid empty export.
  const ok = await post('traces', zlib.gzipSync(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [validSpan('e')] }] }] })), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), {});
  const empty = await post('logs', Buffer.alloc(0), { 'content-type': 'application/x-protobuf' });
  assert.equal(empty.status, 200);
  assert.equal((await api('/api/stats')).spans, before.spans + 1);
});

/** OTLP/JSON with n spans (each its own trace), n logs and n gauge points (each its own series). */
function batch(offset, n) {
  const hex = (i, len) => i.toString(16).padStart(len, '0');
  const spans = [];
  const logs = [];
  const points = [];
  for (let i = offset; i < offset + n; i++) {
    spans.push({ traceId: hex(i + 1, 32), spanId: hex(i + 1, 16), name: `op ${i}`, kind: 2, startTimeUnixNano: String(1e18 + i * 1e6), endTimeUnixNano: String(1e18 + i * 1e6 + 5e5),
      attributes: [{ key: 'big', value: { stringValue: 'x'.repeat(200) } }] });
    logs.push({ timeUnixNano: String(1e18 + i), severityNumber: 9, body: { stringValue: `log ${i}` }, traceId: hex(i + 1, 32) });
    points.push({ asDouble: i, timeUnixNano: String(1e18 + i), attributes: [{ key: 'i', value: { intValue: String(i) } }] });
  }
  const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'flood' } }] };
  return {
    traces: JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ spans }] }] }),
    logs: JSON.stringify({ resourceLogs: [{ resource, scopeLogs: [{ logRecords: logs }] }] }),
    metrics: JSON.stringify({ resourceMetrics: [{ resource, scopeMetrics: [{ metrics: [{ name: 'flood.gauge', gauge: { dataPoints: points } }] }] }] }),
  };
}

test('memory stays bounded: far more than the caps arrives, the oldest is dropped first', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const small = await startDevServer({ host: '127.0.0.1', port: 0, uiPort: 0, maxSpans: 1000, maxLogs: 800, maxPoints: 1200 });
  try {
    const send = async (i, per) => {
      const b = batch(i * per, per);
      for (const signal of ['traces', 'logs', 'metrics']) {
        const r = await fetch(`${small.otlpUrl}/v1/${signal}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b[signal] });
        assert.equal(r.status, 200, await r.text());
      }
    };
    const per = 500;
    // Warm up to the caps, then measure while 40x the caps arrive.
    for (let i = 0; i < 4; i++) await send(i, per);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const rounds = 80;
    for (let i = 4; i < rounds; i++) await send(i, per);
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    const total = rounds * per;

    const stats = small.store.stats();
    assert.equal(stats.spans, 1000);
    assert.equal(stats.logs, 800);
    assert.equal(stats.points, 1200);
    assert.equal(stats.traces, 1000);
    assert.equal(stats.series, 1200);
    assert.deepEqual(stats.received, { spans: total, logs: total, points: total });
    assert.deepEqual(stats.dropped, { spans: total - 1000, logs: total - 800, points: total - 1200 });
    // Oldest first: only the newest items remain.
    const hex = (i) => (i + 1).toString(16).padStart(32, '0');
    assert.equal((await fetch(`${small.uiUrl}api/traces/${hex(0)}`)).status, 404);
    assert.equal((await fetch(`${small.uiUrl}api/traces/${hex(total - 1000 - 1)}`)).status, 404);
    assert.equal((await fetch(`${small.uiUrl}api/traces/${hex(total - 1000)}`)).status, 200);
    assert.equal((await fetch(`${small.uiUrl}api/traces/${hex(total - 1)}`)).status, 200);
    const logs = await (await fetch(`${small.uiUrl}api/logs?limit=100000`)).json();
    assert.equal(logs.length, 800);
    assert.equal(logs[0].body, `log ${total - 1}`);
    assert.equal(logs.at(-1).body, `log ${total - 800}`);
    // 38x the caps went through; the heap did not grow with it.
    const growth = heapAfter - heapBefore;
    assert.ok(growth < 20 * 1024 * 1024, `heap grew by ${(growth / 1048576).toFixed(1)} MiB`);
  } finally {
    await small.close();
  }
});

test('a long string attribute is cut so that one span cannot defeat the bounds', async () => {
  const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{
    traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), name: 'huge', startTimeUnixNano: '1', endTimeUnixNano: '2',
    attributes: [{ key: 'payload', value: { stringValue: 'y'.repeat(1_000_000) } }],
  }] }] }] });
  assert.equal((await post('traces', body, { 'content-type': 'application/json' })).status, 200);
  const t = await api(`/api/traces/${'f'.repeat(32)}`);
  assert.ok(t.spans[0].attributes.payload.length < 5000);
});

test('the page and the `otelkit dev` command: localhost only, Ctrl-C/SIGTERM exits 0', async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli', 'index.js'), 'dev', '--port', '0', '--ui-port', '0'], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    const uiUrl = await waitFor(() => /open (http:\/\/localhost:\d+\/)/.exec(out)?.[1], `the dev command to start (${out})`);
    assert.match(out, /receiving OTLP\/HTTP on http:\/\/localhost:\d+/);
    const page = await fetch(uiUrl.replace('localhost', '127.0.0.1'));
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /text\/html/);
    const html = await page.text();
    assert.match(html, /<title>otelkit dev<\/title>/);
    assert.match(html, /id="app"/);
    // Bound to loopback: another address of this machine is refused.
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) {
      const port = new URL(uiUrl).port;
      await assert.rejects(fetch(`http://${external.address}:${port}/`, { signal: AbortSignal.timeout(2000) }));
    }
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
  assert.equal(code, 0, out);
});

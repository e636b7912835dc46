// Faults, with the REAL collector (collector/_build/otelcol-otelkit running collector/config.yaml)
// between the service and in-test stand-ins for Tempo (OTLP gRPC) and Loki (OTLP/HTTP):
// the collector down at start, killed under load and restarted, SIGTERM under load, a crash,
// and secrets sent straight to the collector.
//
// The service is the example orders service in its in-memory mode (no database, no cache):
// GET /orders/<unknown id> answers 404 and writes one "order not found" warning with the id, so
// every request leaves one server span and one log record that the test can find by id.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { startApp, freePort, get, ROOT } from './support/app.mjs';
import { startBackends, startCollector } from './support/collector.mjs';

const ORDERS = path.join(ROOT, 'examples/orders-service/server.mjs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Everything a test starts is registered here and torn down after it, pass or fail.
const cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) {
    try { await fn(); } catch {}
  }
});

async function stack({ startCollectorNow = true, env = {} } = {}) {
  const backend = await startBackends();
  cleanup.push(() => backend.close());
  const collector = await startCollector({ backend, start: startCollectorNow });
  cleanup.push(() => collector.stop());
  const admin = await freePort();
  const app = startApp(ORDERS, {
    env: {
      OTEL_SERVICE_NAME: 'orders-service',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
      OTEL_EXPORTER_PROMETHEUS_PORT: String(admin),
      OTELKIT_ENVIRONMENT: 'development',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BLRP_SCHEDULE_DELAY: '200',
      // Fail fast while the collector is away (the default is 10 s of retries per export).
      OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      PORT: '0',
      PAYMENT_URL: 'http://127.0.0.1:9',
      ...env,
    },
  });
  cleanup.push(() => app.stop());
  const port = await app.port();
  const diagnostics = () => `\nbackend: ${backend.rx.summary().slice(0, 1500)}\nservice stderr (tail):\n${app.out.stderr.slice(-3000)}\ncollector output (tail):\n${collector.output().slice(-3000)}`;
  return { backend, collector, app, port, admin, diagnostics };
}

/** n GET /orders/<tag>-<i> requests, at most `concurrency` at a time; the outcome of each. */
async function load(port, tag, n, { concurrency = 10, onDone } = {}) {
  const results = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/orders/${tag}-${i}`, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        results[i] = { status: res.status, at: Date.now() };
      } catch (err) {
        results[i] = { error: err.cause?.code ?? err.message, at: Date.now() };
      }
      onDone?.(i, results[i]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

const ids = (tag, n) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);
const serverSpanFor = (rx, id) => rx.spans.find((s) => s.kind === 2 && s.attributes['url.path'] === `/orders/${id}`);
const logFor = (rx, id) => rx.logs.find((l) => l.body === 'order not found' && l.attributes.orderId === id);

/** Waits until every id has its server span and its log record at the backends. */
async function allArrived(backend, wanted, { timeoutMs = 20_000, diagnostics = () => '' } = {}) {
  try {
    await backend.rx.waitFor((rx) => wanted.every((id) => serverSpanFor(rx, id) && logFor(rx, id)), { timeoutMs, intervalMs: 100 });
  } catch {
    const missingSpans = wanted.filter((id) => !serverSpanFor(backend.rx, id));
    const missingLogs = wanted.filter((id) => !logFor(backend.rx, id));
    assert.fail(`${missingSpans.length} of ${wanted.length} server spans and ${missingLogs.length} log records never reached the backends ` +
      `(first missing: ${missingSpans.slice(0, 5).join(', ')} / ${missingLogs.slice(0, 5).join(', ')})${diagnostics()}`);
  }
}

function exportWarnings(app) {
  return app.diagLines().filter((l) => /export to .* failed/.test(String(l.msg)));
}

/** The service's /metrics as { 'name{labels}': value }. */
async function scrape(admin) {
  const { status, text } = await get(admin, '/metrics');
  assert.equal(status, 200);
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m) out[`${m[1]}${m[2] ?? ''}`] = Number(m[3]);
  }
  return out;
}
const metric = (all, name, signal) => {
  const key = Object.keys(all).find((k) => k.startsWith(`${name}{`) && k.includes(`signal="${signal}"`));
  return key === undefined ? undefined : all[key];
};

function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;

// ------------------------------------------------------------------------------------ tests

test('collector down when the service starts, started later: every request succeeds, later telemetry arrives, one warning per signal', async () => {
  const { backend, collector, app, port, diagnostics } = await stack({
    startCollectorNow: false,
    // All three signals go to the collector: metrics are pushed over OTLP as well.
    env: { OTEL_METRICS_EXPORTER: 'prometheus,otlp', OTEL_METRIC_EXPORT_INTERVAL: '1000' },
  });

  // ~4 s of traffic with nothing listening: every export fails.
  const before = [];
  for (let round = 0; round < 8; round++) {
    before.push(...await load(port, `down${round}`, 10, { concurrency: 5 }));
    await sleep(500);
  }
  assert.deepEqual(before.filter((r) => r.status !== 404), [], 'every request answered normally with the collector down');
  await app.waitFor(/traces export to .* failed/, { stream: 'stderr', timeoutMs: 15_000 });

  await collector.start();
  const after = await load(port, 'up', 20, { concurrency: 5 });
  assert.deepEqual(after.filter((r) => r.status !== 404), []);
  await allArrived(backend, ids('up', 20), { diagnostics });
  // Metrics pushed after the collector came up reach its Prometheus exporter.
  await waitForText(`http://127.0.0.1:${collector.ports.prometheus}/metrics`, /http_server_request_duration_seconds_count\{[^}]*job="orders-service"/, 20_000, diagnostics);
  await app.waitFor(/traces export to .* recovered/, { stream: 'stderr', timeoutMs: 15_000 });

  // At most one warning per signal in the minute (the test is shorter than a minute): the
  // outage is reported by otelkit's rate-limited warning and by nothing else on stderr.
  const warnings = exportWarnings(app);
  for (const signal of ['traces', 'metrics', 'logs']) {
    const mine = warnings.filter((w) => w.signal === signal || String(w.msg).startsWith(`${signal} `));
    assert.ok(mine.length <= 1, `${mine.length} export warnings for ${signal}: ${JSON.stringify(mine)}`);
  }
  assert.ok(warnings.length >= 1, 'the outage was reported');
  const noise = app.diagLines().filter((l) => ['warn', 'error'].includes(l.level) && !/export to .* (failed|recovered)/.test(String(l.msg)));
  assert.deepEqual(noise.map((l) => `${l.level}: ${String(l.msg).slice(0, 160)}`), [],
    `${noise.length} more warning/error lines on stderr during the outage, beyond the one warning per signal`);
  assert.equal(app.child.exitCode, null, 'the service is still running');
});

async function waitForText(url, re, timeoutMs, diagnostics) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      last = await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
      if (re.test(last)) return last;
    } catch (err) {
      last = err.message;
    }
    await sleep(250);
  }
  assert.fail(`${url} never matched ${re}; last: ${last.slice(0, 1500)}${diagnostics()}`);
}

// Memory bound while the collector is down: the batch span and log processors hold at most
// their queues (OTEL_BSP_MAX_QUEUE_SIZE / OTEL_BLRP_MAX_QUEUE_SIZE, 2048 items each, a few MiB)
// and a failed export is dropped, not kept for later. So 400 requests with the collector down
// (about 2400 spans and 400 log records) may raise the service's peak RSS by at most 32 MiB over
// its level after the same number of requests with the collector up; queues, V8 heap slack and
// the exporters' sockets fit in that. Measured: 5-8 MiB.
const RSS_BOUND = 32 * 1024 * 1024;
const OUTAGE_REQUESTS = 400;

test('collector killed under load and restarted: no added errors, bounded memory, drops counted on /metrics', async () => {
  const { backend, collector, app, port, admin, diagnostics } = await stack();
  const pid = app.child.pid;

  // Warm-up with the collector up, same request count as the outage.
  const warm = await load(port, 'warm', OUTAGE_REQUESTS);
  assert.deepEqual(warm.filter((r) => r.status !== 404), []);
  await allArrived(backend, ids('warm', 20), { diagnostics });
  const baseline = rssBytes(pid);
  const m0 = await scrape(admin);
  assert.equal(metric(m0, 'otelkit_export_failures_total', 'traces'), 0, 'no failures while the collector is up');

  // Kill the collector in the middle of a burst.
  let killed = null;
  const burstResults = await load(port, 'burst', 100, {
    onDone: (i) => { if (i === 30 && !killed) killed = collector.kill(); },
  });
  assert.ok(killed, 'the collector was killed during the burst');
  const { signal: killSignal } = await killed;
  assert.equal(killSignal, 'SIGKILL');
  assert.deepEqual(burstResults.filter((r) => r.status !== 404), [], 'no request failed because the collector died');

  // The outage: a fixed number of requests, RSS sampled throughout.
  let peak = rssBytes(pid);
  const sampler = setInterval(() => { try { peak = Math.max(peak, rssBytes(pid)); } catch {} }, 50);
  let outage;
  try {
    outage = await load(port, 'down', OUTAGE_REQUESTS);
    // Let the failing exports (2 s timeout) settle before the last sample.
    await sleep(2500);
    peak = Math.max(peak, rssBytes(pid));
  } finally {
    clearInterval(sampler);
  }
  assert.deepEqual(outage.filter((r) => r.status !== 404), [], 'every request answered normally with the collector down');
  const growth = peak - baseline;
  console.log(`# RSS baseline ${mib(baseline)}, peak during ${OUTAGE_REQUESTS} requests with the collector down ${mib(peak)}, growth ${mib(growth)} (bound ${mib(RSS_BOUND)})`);
  assert.ok(growth <= RSS_BOUND, `RSS grew by ${mib(growth)} with the collector down (bound ${mib(RSS_BOUND)}; baseline ${mib(baseline)}, peak ${mib(peak)})`);

  // The drops are counted on /metrics (once the queued batches have failed, 2 s per export).
  let m1;
  const countedBy = Date.now() + 20_000;
  do {
    m1 = await scrape(admin);
    if (metric(m1, 'otelkit_export_dropped_total', 'traces') >= OUTAGE_REQUESTS && metric(m1, 'otelkit_export_dropped_total', 'logs') >= OUTAGE_REQUESTS) break;
    await sleep(250);
  } while (Date.now() < countedBy);
  const failures = metric(m1, 'otelkit_export_failures_total', 'traces');
  const droppedSpans = metric(m1, 'otelkit_export_dropped_total', 'traces');
  const droppedLogs = metric(m1, 'otelkit_export_dropped_total', 'logs');
  assert.ok(failures >= 1, `otelkit_export_failures_total{signal="traces"} = ${failures}`);
  assert.ok(droppedSpans >= OUTAGE_REQUESTS, `otelkit_export_dropped_total{signal="traces"} = ${droppedSpans}: at least the ${OUTAGE_REQUESTS} server spans of the outage`);
  assert.ok(droppedLogs >= OUTAGE_REQUESTS, `otelkit_export_dropped_total{signal="logs"} = ${droppedLogs}: at least the ${OUTAGE_REQUESTS} log records of the outage`);
  assert.ok(metric(m1, 'otelkit_export_failures_total', 'logs') >= 1);
  assert.ok(exportWarnings(app).filter((w) => w.signal === 'traces').length <= 1, 'one warning per signal per minute');

  // Restart: telemetry made afterwards arrives again.
  await collector.start();
  const again = await load(port, 'again', 50);
  assert.deepEqual(again.filter((r) => r.status !== 404), []);
  await allArrived(backend, ids('again', 50), { diagnostics });
  const m2 = await scrape(admin);
  assert.ok(metric(m2, 'otelkit_export_dropped_total', 'traces') >= droppedSpans, 'the counter only grows');
  assert.equal(app.child.exitCode, null);
});

test('SIGTERM under load: every span and log record made before the signal arrives, exit 143 within the timeout', async () => {
  const SHUTDOWN_TIMEOUT_MS = 5000;
  const { backend, app, port, diagnostics } = await stack({
    // The default batch delay: much of the load is still queued in the service at the signal.
    env: { OTEL_BSP_SCHEDULE_DELAY: '5000', OTEL_BLRP_SCHEDULE_DELAY: '5000', OTELKIT_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
  });

  // One request first, to learn how many spans one request makes.
  assert.equal((await get(port, '/orders/probe-0')).status, 404);

  const done = [];
  let signalledAt = 0;
  const exited = app.exited.then((r) => ({ ...r, at: Date.now() }));
  const running = load(port, 'term', 300, {
    concurrency: 10,
    onDone: (i, r) => {
      if (!signalledAt && r.status === 404) done.push(i);
      if (done.length === 200 && !signalledAt) {
        signalledAt = Date.now();
        app.child.kill('SIGTERM');
      }
    },
  });
  const results = await running;
  const { code, signal, at } = await exited;
  assert.ok(signalledAt, 'the signal was sent under load');
  assert.equal(code, 143, `exit code (signal ${signal})\n${app.out.stderr.slice(-2000)}`);
  assert.ok(at - signalledAt <= SHUTDOWN_TIMEOUT_MS + 1000, `exited ${at - signalledAt} ms after SIGTERM (timeout ${SHUTDOWN_TIMEOUT_MS} ms)`);

  // Every request answered before the signal: its server span and its log record arrived.
  const before = done.map((i) => `term-${i}`);
  assert.equal(before.length, 200);
  await allArrived(backend, ['probe-0', ...before], { timeoutMs: 20_000, diagnostics });
  // ... and so did every other span of those requests (count them per trace).
  const probe = serverSpanFor(backend.rx, 'probe-0');
  const perRequest = backend.rx.spans.filter((s) => s.traceId === probe.traceId).length;
  assert.ok(perRequest >= 2, `spans per request: ${perRequest}`);
  const traces = new Set(before.map((id) => serverSpanFor(backend.rx, id).traceId));
  await backend.rx.waitFor((rx) => rx.spans.filter((s) => traces.has(s.traceId)).length >= traces.size * perRequest, { timeoutMs: 10_000 }).catch(() => {});
  const counted = backend.rx.spans.filter((s) => traces.has(s.traceId)).length;
  assert.equal(counted, before.length * perRequest, `spans of the ${before.length} requests answered before SIGTERM (${perRequest} each)`);
  const logs = backend.rx.logs.filter((l) => l.body === 'order not found' && before.includes(l.attributes.orderId));
  assert.equal(logs.length, before.length, 'one log record per request answered before SIGTERM');
  for (const l of logs) assert.ok(traces.has(l.traceId), 'each log record is in its request\'s trace');
  console.log(`# SIGTERM after ${before.length} answered requests (${results.filter((r) => r.error).length} later ones refused): ${counted} spans and ${logs.length} log records arrived; exit after ${at - signalledAt} ms`);
});

test('a crash: the exception with its stack reaches the backend, the process exits with code 1', async () => {
  const backend = await startBackends();
  cleanup.push(() => backend.close());
  const collector = await startCollector({ backend });
  cleanup.push(() => collector.stop());
  const app = startApp('express-app.js', {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
      OTELKIT_ENVIRONMENT: 'development',
      // Nothing is exported on a timer: what arrives was flushed by the crash handler.
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      OTEL_BLRP_SCHEDULE_DELAY: '60000',
    },
  });
  cleanup.push(() => app.stop());
  const port = await app.port();
  assert.equal((await get(port, '/orders/before-crash')).status, 200);
  assert.equal((await get(port, '/crash')).status, 200);
  const { code } = await app.exited;
  assert.equal(code, 1);
  assert.match(app.out.stderr, /Error: boom from crash route\n\s+at /, "Node's own stack on stderr");

  // The process is gone: what the collector forwards now, it received before the exit.
  const log = await backend.rx.waitFor((rx) => rx.logs.find((l) => l.attributes['exception.message'] === 'boom from crash route'), { timeoutMs: 15_000 })
    .catch((err) => assert.fail(`the crash record never reached the backend: ${err.message.slice(0, 1500)}\n${collector.output().slice(-2000)}`));
  assert.equal(log.attributes['exception.type'], 'Error');
  assert.match(String(log.attributes['exception.stacktrace']), /^Error: boom from crash route\n\s+at .*express-app\.js/);
  assert.equal(log.severityNumber, 17, 'ERROR');
  assert.equal(log.resource['service.name'], 'fixture-app');
  await backend.rx.waitFor((rx) => rx.spans.some((s) => s.attributes['url.path'] === '/orders/before-crash'), { timeoutMs: 10_000 });
});

test('a secret sent straight to the collector (not through otelkit) is scrubbed before the backends', async () => {
  const backend = await startBackends();
  cleanup.push(() => backend.close());
  const collector = await startCollector({ backend });
  cleanup.push(() => collector.stop());

  const marker = `raw-${Date.now()}`;
  const secrets = {
    password: 'hunter2-pw',
    bearer: 'abc123.def456.ghi789',
    jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl',
    aws: 'AKIAIOSFODNN7EXAMPLE',
    card: '4111 1111 1111 1111',
    email: 'carol@example.org',
    urlPass: 'url-pa55',
    token: 'qtok-998877',
    apiKey: 'k-3y-v4lue',
  };
  const kv = (key, v) => ({ key, value: { stringValue: v } });
  const now = BigInt(Date.now()) * 1_000_000n;
  const resource = { attributes: [kv('service.name', 'legacy-service')] };
  const traces = {
    resourceSpans: [{
      resource,
      scopeSpans: [{
        scope: { name: 'hand-made' },
        spans: [{
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          name: `GET /login ${marker}`,
          kind: 2,
          startTimeUnixNano: String(now - 5_000_000n),
          endTimeUnixNano: String(now),
          attributes: [
            kv('marker', marker),
            kv('user.password', secrets.password),
            kv('http.request.header.authorization', `Bearer ${secrets.bearer}`),
            kv('url.full', `https://bob:${secrets.urlPass}@api.example.com/login?token=${secrets.token}&page=1`),
            kv('X-Api-Key', secrets.apiKey),
            kv('note', `paid with ${secrets.card} by ${secrets.email}`),
            kv('keep.me', 'visible-span-value'),
          ],
          events: [{ name: 'auth', timeUnixNano: String(now - 1_000_000n), attributes: [kv('detail', `jwt ${secrets.jwt} key ${secrets.aws}`)] }],
        }],
      }],
    }],
  };
  const logs = {
    resourceLogs: [{
      resource,
      scopeLogs: [{
        scope: { name: 'hand-made' },
        logRecords: [{
          timeUnixNano: String(now),
          severityNumber: 13,
          severityText: 'WARN',
          body: { stringValue: `login ${marker} with Bearer ${secrets.bearer} from ${secrets.email}, key ${secrets.aws}` },
          attributes: [kv('marker', marker), kv('session_id', 'sess-abcdef'), kv('card', secrets.card), kv('keep.me', 'visible-log-value')],
        }],
      }],
    }],
  };
  for (const [signal, body] of [['traces', traces], ['logs', logs]]) {
    const res = await fetch(`${collector.otlpHttpUrl}/v1/${signal}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, `OTLP/HTTP ${signal} to the collector: ${res.status} ${await res.text()}`);
  }

  const span = await backend.rx.waitFor((rx) => rx.spans.find((s) => s.attributes.marker === marker), { timeoutMs: 15_000 });
  const log = await backend.rx.waitFor((rx) => rx.logs.find((l) => l.attributes.marker === marker), { timeoutMs: 15_000 });
  const arrived = JSON.stringify([span, log]);
  for (const [what, secret] of Object.entries(secrets)) {
    assert.ok(!arrived.includes(secret), `${what} (${secret}) reached a backend: ${arrived}`);
  }
  assert.equal(span.attributes['user.password'], '[REDACTED]');
  assert.equal(span.attributes['X-Api-Key'], '[REDACTED]');
  assert.equal(span.attributes['http.request.header.authorization'], '[REDACTED]', 'an authorization header is a secret key');
  assert.equal(span.attributes['url.full'], 'https://[REDACTED]@api.example.com/login?token=[REDACTED]&page=1');
  assert.equal(span.attributes.note, 'paid with [REDACTED] by [REDACTED]');
  assert.equal(span.attributes['keep.me'], 'visible-span-value');
  assert.equal(span.events[0].attributes.detail, 'jwt [REDACTED] key [REDACTED]');
  assert.equal(log.body, `login ${marker} with Bearer [REDACTED] from [REDACTED], key [REDACTED]`);
  assert.equal(log.attributes.session_id, '[REDACTED]');
  assert.equal(log.attributes.card, '[REDACTED]');
  assert.equal(log.attributes['keep.me'], 'visible-log-value');
  assert.equal(log.resource['service.name'], 'legacy-service');
});

// End to end through the REAL collector (collector/_build/otelcol-otelkit running the shipped
// collector/config.yaml): the example orders and payment services run under the preload against
// real PostgreSQL and Redis and export to the collector; the collector's traces exporter (OTLP
// gRPC) and logs exporter (OTLP/HTTP) point at stand-ins for Tempo and Loki inside this test,
// which decode what arrives. A real Prometheus (Debian's package) scrapes the service's /metrics
// and the collector's Prometheus exporter, and the test queries its HTTP API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { startApp, freePort, ROOT } from './support/app.mjs';
import { startBackends, startCollector } from './support/collector.mjs';
import { startPostgres, startRedis } from './support/services.mjs';
import { startPrometheus } from './support/prometheus.mjs';

const ORDERS = path.join(ROOT, 'examples/orders-service/server.mjs');
const PAYMENT = path.join(ROOT, 'examples/payment-service/server.mjs');
const RUN_ID = randomBytes(4).toString('hex');
const EMAIL = `alice.${RUN_ID}@example.com`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls a PromQL expression until it has at least one series (and pred accepts the result). */
async function waitForSeries(prom, expr, { timeoutMs = 30_000, pred = () => true } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = [];
  while (Date.now() < deadline) {
    try {
      last = await prom.query(expr);
      if (last.length > 0 && pred(last)) return last;
    } catch (err) {
      last = err.message;
    }
    await sleep(500);
  }
  const targets = await prom.targets().catch((e) => e.message);
  assert.fail(`Prometheus: no result for ${expr} within ${timeoutMs} ms; last: ${JSON.stringify(last)}\n` +
    `targets: ${JSON.stringify(Array.isArray(targets) ? targets.map((t) => [t.labels.job, t.health, t.lastError]) : targets)}\n${prom.output().slice(-2000)}`);
}

// ------------------------------------------------------------------------------- the stack
let pg;
let redis;
let backend;
let collector;
let payment;
let orders;
let prometheus;
let ordersPort;
let ordersAdmin;

function diagnostics() {
  return [
    `\nbackend: ${backend?.rx.summary()}`,
    `\ncollector output (tail):\n${collector?.output().slice(-3000)}`,
    `\norders stderr (tail):\n${orders?.out.stderr.slice(-2000)}`,
    `\npayment stderr (tail):\n${payment?.out.stderr.slice(-2000)}`,
  ].join('');
}

before(async () => {
  [pg, redis, backend] = await Promise.all([startPostgres(), startRedis(), startBackends()]);
  collector = await startCollector({ backend });
  const common = {
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
    OTELKIT_ENVIRONMENT: 'development',
    OTEL_RESOURCE_ATTRIBUTES: `e2e.run=${RUN_ID}`,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BLRP_SCHEDULE_DELAY: '200',
    PORT: '0',
  };
  const paymentAdmin = await freePort();
  payment = startApp(PAYMENT, { env: { ...common, OTEL_SERVICE_NAME: 'payment-service', OTEL_EXPORTER_PROMETHEUS_PORT: String(paymentAdmin) } });
  const paymentPort = await payment.port();
  ordersAdmin = await freePort();
  orders = startApp(ORDERS, {
    env: {
      ...common,
      OTEL_SERVICE_NAME: 'orders-service',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(ordersAdmin),
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      PAYMENT_URL: `http://127.0.0.1:${paymentPort}`,
    },
  });
  ordersPort = await orders.port();
  // Debian's prometheus on loopback, scraping every second.
  prometheus = await startPrometheus({
    scrapeConfigs: [
      { job_name: 'orders-service', static_configs: [{ targets: [`127.0.0.1:${ordersAdmin}`] }] },
      { job_name: 'collector', static_configs: [{ targets: [`127.0.0.1:${collector.ports.prometheus}`] }] },
    ],
  });
});

after(async () => {
  await Promise.allSettled([orders?.stop(), payment?.stop(), prometheus?.stop()]);
  await collector?.stop();
  await Promise.allSettled([backend?.close(), pg?.stop(), redis?.stop()]);
});

// A W3C traceparent with a fresh trace id: the test's own "client span", so every span of the
// request can be found by trace id.
function newParent() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
}

async function postOrder(body, parent) {
  const res = await fetch(`http://127.0.0.1:${ordersPort}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: parent.header },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const svc = (x) => x.resource['service.name'];
const isDb = (s, system) => s.attributes['db.system.name'] === system || s.attributes['db.system'] === system;

// The spans of one trace once the orders server span, the payment server span and the client
// span between them have all arrived at the Tempo stand-in.
async function completeTrace(traceId, { timeoutMs = 20_000 } = {}) {
  try {
    return await backend.rx.waitFor((rx) => {
      const spans = rx.spans.filter((s) => s.traceId === traceId);
      const ordersServer = spans.find((s) => svc(s) === 'orders-service' && s.kind === 2 && s.name === 'POST /orders');
      const paymentServer = spans.find((s) => svc(s) === 'payment-service' && s.kind === 2);
      const client = paymentServer && spans.find((s) => s.spanId === paymentServer.parentSpanId);
      return ordersServer && paymentServer && client ? { spans, ordersServer, paymentServer, client } : null;
    }, { timeoutMs });
  } catch (err) {
    const spans = backend.rx.spans.filter((s) => s.traceId === traceId);
    const paymentSpans = backend.rx.spans.filter((s) => svc(s) === 'payment-service' && s.kind === 2);
    assert.fail(`the order's trace ${traceId} never held both services joined by a client span: ${err.message.slice(0, 300)}\n` +
      `spans in the trace: ${JSON.stringify(spans.map((s) => [svc(s), s.name, s.kind]))}\n` +
      `payment-service server spans (trace, parent): ${JSON.stringify(paymentSpans.map((s) => [s.traceId, s.parentSpanId]))}${diagnostics()}`);
  }
}

let paid; // { order, parent } of the successful order, shared by the tests below

test('an order makes one trace across both services with HTTP, pg and redis children', async () => {
  const parent = newParent();
  const res = await postOrder({ item: 'book', quantity: 2, amountCents: 1250, customerEmail: EMAIL }, parent);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.status, 'paid');
  paid = { order: res.body, parent };

  const { spans, ordersServer, paymentServer, client } = await completeTrace(parent.traceId);
  // Wait for the rest of the orders service's spans of this request (database and cache).
  await backend.rx.waitFor((rx) => {
    const s = rx.spans.filter((x) => x.traceId === parent.traceId);
    return s.filter((x) => isDb(x, 'postgresql')).length >= 2 && s.some((x) => isDb(x, 'redis'));
  }, { timeoutMs: 10_000 }).catch(() => {});
  const all = backend.rx.spans.filter((s) => s.traceId === parent.traceId);
  assert.ok(all.length >= spans.length);

  // The orders server span continues the caller's trace.
  assert.equal(ordersServer.parentSpanId, parent.spanId, "the orders server span is a child of the caller's span");
  assert.equal(ordersServer.attributes['http.route'], '/orders');
  assert.equal(ordersServer.attributes['http.response.status_code'], 201);

  // orders -> payment: an HTTP client span of the orders service, parent of the payment server span.
  assert.equal(svc(client), 'orders-service');
  assert.equal(client.kind, 3, 'the span between the services is a client span');
  assert.equal(client.attributes['http.request.method'], 'POST');
  assert.equal(client.attributes['http.response.status_code'], 201);
  assert.equal(paymentServer.name, 'POST /charges');
  assert.equal(paymentServer.attributes['http.route'], '/charges');

  // pg and redis children of the orders service, in the same trace.
  const pgSpans = all.filter((s) => isDb(s, 'postgresql'));
  const redisSpans = all.filter((s) => isDb(s, 'redis'));
  assert.ok(pgSpans.length >= 2, `pg spans (INSERT and UPDATE) in the trace: ${JSON.stringify(all.map((s) => s.name))}`);
  assert.ok(pgSpans.some((s) => /INSERT/i.test(String(s.attributes['db.query.text'] ?? s.name))), 'the INSERT has a span');
  assert.ok(pgSpans.some((s) => /UPDATE/i.test(String(s.attributes['db.query.text'] ?? s.name))), 'the UPDATE has a span');
  assert.ok(redisSpans.some((s) => s.attributes['db.operation.name'] === 'SET'), `a redis SET span: ${JSON.stringify(redisSpans.map((s) => s.name))}`);
  for (const s of [...pgSpans, ...redisSpans]) {
    assert.equal(svc(s), 'orders-service');
    assert.equal(s.kind, 3, `${s.name} is a client span`);
  }

  // One tree: every span's parent is in the trace (or is the caller's span).
  const ids = new Set(all.map((s) => s.spanId));
  for (const s of all) {
    assert.ok(s.parentSpanId === parent.spanId || ids.has(s.parentSpanId), `${svc(s)} span "${s.name}" has a parent outside the trace (${s.parentSpanId})`);
  }
  assert.deepEqual(new Set(all.map(svc)), new Set(['orders-service', 'payment-service']));
});

test('log records carry the trace and span ids of their spans, severity and redacted fields', async () => {
  assert.ok(paid, 'the previous test placed an order');
  const { order, parent } = paid;
  const byOrder = (l) => l.attributes.orderId === order.id;
  const logs = await backend.rx.waitFor((rx) => {
    const mine = rx.logs.filter(byOrder);
    const want = ['order received', 'order paid', 'charge approved'];
    return want.every((b) => mine.some((l) => l.body === b)) ? mine : null;
  }, { timeoutMs: 20_000 }).catch((err) => assert.fail(`log records of the order did not arrive: ${err.message.slice(0, 2000)}${diagnostics()}`));
  const spanIds = new Set(backend.rx.spans.filter((s) => s.traceId === parent.traceId).map((s) => s.spanId));
  const spanOf = (l) => backend.rx.spans.find((s) => s.traceId === l.traceId && s.spanId === l.spanId);

  for (const body of ['order received', 'order paid']) {
    const l = logs.find((x) => x.body === body);
    assert.equal(svc(l), 'orders-service');
    assert.equal(l.traceId, parent.traceId, `"${body}" carries the order's trace id`);
    assert.ok(spanIds.has(l.spanId), `"${body}" carries the id of a span of that trace (${l.spanId})`);
    assert.equal(svc(spanOf(l)), 'orders-service', `"${body}"'s span is an orders-service span`);
    assert.equal(l.severityNumber, 9, 'INFO');
    assert.equal(String(l.severityText).toLowerCase(), 'info');
    assert.equal(l.attributes.customerEmail, '[REDACTED]', 'the e-mail address is redacted');
    assert.equal(l.attributes.amountCents, 1250);
  }
  const charge = logs.find((x) => x.body === 'charge approved');
  assert.equal(svc(charge), 'payment-service');
  assert.equal(charge.traceId, parent.traceId, "the payment service's log record carries the order's trace id");
  assert.ok(spanIds.has(charge.spanId), "the payment service's log record carries a span id of that trace");
  assert.equal(svc(spanOf(charge)), 'payment-service');

  // The address never reaches a backend, in any field of any record.
  const everything = JSON.stringify([backend.rx.logs, backend.rx.spans]);
  assert.ok(!everything.includes(EMAIL), 'the customer e-mail address reached a backend');
});

test('a failing payment: 502, an error log record with the exception, in the trace of the request', async () => {
  const parent = newParent();
  const res = await postOrder({ item: 'car', quantity: 1, amountCents: 500_000 }, parent);
  assert.equal(res.status, 502, JSON.stringify(res.body));
  const orderId = res.body.order.id;

  const log = await backend.rx.waitFor((rx) => rx.logs.find((l) => l.body === 'payment failed' && l.attributes.orderId === orderId), { timeoutMs: 20_000 })
    .catch((err) => assert.fail(`the error log record did not arrive: ${err.message.slice(0, 2000)}${diagnostics()}`));
  assert.equal(svc(log), 'orders-service');
  assert.equal(log.severityNumber, 17, 'ERROR');
  assert.equal(String(log.severityText).toLowerCase(), 'error');
  assert.equal(log.attributes['exception.type'], 'PaymentError');
  assert.match(String(log.attributes['exception.message']), /402/);
  assert.match(String(log.attributes['exception.stacktrace']), /PaymentError: charge rejected with 402[^\n]*\n\s+at /);
  assert.equal(log.traceId, parent.traceId);

  const server = await backend.rx.waitFor((rx) => rx.spans.find((s) => s.traceId === parent.traceId && s.kind === 2 && svc(s) === 'orders-service'), { timeoutMs: 20_000 });
  assert.equal(server.attributes['http.response.status_code'], 502);
  assert.equal(server.status.code, 2, 'a 5xx answer marks the server span as an error');
  await backend.rx.waitFor((rx) => rx.spans.some((s) => s.traceId === parent.traceId && s.spanId === log.spanId), { timeoutMs: 10_000 })
    .catch(() => assert.fail(`the error record's span ${log.spanId} is not a span of the trace`));
  // The payment service declined with a warning in the same trace.
  const declined = await backend.rx.waitFor((rx) => rx.logs.find((l) => l.body === 'card declined' && l.attributes.orderId === orderId), { timeoutMs: 10_000 });
  assert.equal(declined.severityNumber, 13, 'WARN');
  assert.equal(declined.traceId, parent.traceId, "the payment service's warning is in the order's trace");
});

test('the resource is on every span and log record that reaches the backends', async () => {
  // Everything either service made in this run (the start-up records included).
  const records = [...backend.rx.spans, ...backend.rx.logs].filter((r) => r.resource['e2e.run'] === RUN_ID);
  assert.ok(records.length >= 20, `records of this run: ${records.length}`);
  const strangers = [...backend.rx.spans, ...backend.rx.logs].filter((r) => r.resource['e2e.run'] !== RUN_ID);
  assert.deepEqual(strangers.map((r) => [r.name ?? r.body, r.resource]), [], 'every record carries OTEL_RESOURCE_ATTRIBUTES');
  const instances = new Map();
  for (const r of records) {
    const res = r.resource;
    const what = `${res['service.name']}: ${r.name ?? r.body}`;
    assert.ok(['orders-service', 'payment-service'].includes(res['service.name']), what);
    assert.equal(res['deployment.environment.name'], 'development', what);
    assert.equal(res['telemetry.distro.name'], 'otelkit', what);
    assert.equal(res['telemetry.sdk.language'], 'nodejs', what);
    assert.ok(res['service.instance.id'], `${what}: service.instance.id`);
    assert.ok(res['host.name'], `${what}: host.name`);
    assert.ok(res['process.pid'], `${what}: process.pid`);
    const seen = instances.get(res['service.name']) ?? new Set();
    seen.add(res['service.instance.id']);
    instances.set(res['service.name'], seen);
  }
  assert.equal(instances.get('orders-service')?.size, 1, 'one instance id per process');
  assert.equal(instances.get('payment-service')?.size, 1, 'one instance id per process');
  assert.ok(backend.rx.spans.length > 0 && backend.rx.logs.length > 0);
});

test('Prometheus scrapes the HTTP duration histogram and runtime metrics of the service, and the collector', async () => {
  // A little more traffic for the histogram (reads of the paid order: cache hits).
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`http://127.0.0.1:${ordersPort}/orders/${paid?.order.id ?? 'unknown'}`);
    await res.arrayBuffer();
  }

  const job = 'job="orders-service"';
  const count = await waitForSeries(prometheus, `sum by (http_route, http_request_method) (http_server_request_duration_seconds_count{${job}})`, {
    pred: (r) => r.some((s) => s.metric.http_route === '/orders' && s.metric.http_request_method === 'POST' && Number(s.value[1]) >= 2) &&
      r.some((s) => s.metric.http_route === '/orders/:id' && Number(s.value[1]) >= 5),
  });
  assert.ok(count.length >= 2, JSON.stringify(count));
  const buckets = await prometheus.query(`http_server_request_duration_seconds_bucket{${job}, http_route="/orders", le="+Inf"}`);
  assert.ok(buckets.length >= 1, 'the histogram has buckets');
  const p99 = await prometheus.query(`histogram_quantile(0.99, sum by (le) (http_server_request_duration_seconds_bucket{${job}}))`);
  assert.equal(p99.length, 1);
  assert.ok(Number(p99[0].value[1]) > 0 && Number(p99[0].value[1]) < 10, `p99 ${p99[0].value[1]} s`);
  // The outgoing call to the payment service is measured too.
  await waitForSeries(prometheus, `http_client_request_duration_seconds_count{${job}, http_request_method="POST"}`);

  // Runtime metrics of the service.
  for (const expr of [
    `v8js_memory_heap_used_bytes{${job}, v8js_heap_space_name="old_space"}`,
    `v8js_memory_heap_space_size_bytes{${job}, v8js_heap_space_name="old_space"}`,
    `nodejs_eventloop_time_seconds_total{${job}, nodejs_eventloop_state="idle"}`,
    `nodejs_eventloop_utilization_ratio{${job}}`,
    `process_memory_usage_bytes{${job}}`,
    `process_cpu_time_seconds_total{${job}}`,
  ]) {
    const r = await waitForSeries(prometheus, expr, { timeoutMs: 10_000 });
    assert.ok(Number(r[0].value[1]) > 0, `${expr} = ${r[0].value[1]}`);
  }
  const failures = await waitForSeries(prometheus, `otelkit_export_failures_total{${job}}`);
  assert.equal(failures.length, 3, 'one series per signal');
  for (const s of failures.filter((x) => x.metric.signal !== 'metrics')) {
    assert.equal(Number(s.value[1]), 0, `no failed exports of ${s.metric.signal} while the collector is up`);
  }

  // The collector's Prometheus exporter: span metrics (flushed every 15 s) of both services.
  // calls_total starts at 0 on a series' first flush (spanmetrics initialises new counters at 0),
  // so the request counts are read from the duration histogram, which is exact at once.
  const counted = await waitForSeries(prometheus, 'sum by (exported_job) (traces_span_metrics_duration_milliseconds_count{job="collector", span_kind="SPAN_KIND_SERVER"})', {
    timeoutMs: 45_000,
    pred: (r) => ['orders-service', 'payment-service'].every((j) => r.some((x) => x.metric.exported_job === j && Number(x.value[1]) > 0)),
  });
  assert.equal(counted.length, 2, JSON.stringify(counted));
  const calls = await prometheus.query('traces_span_metrics_calls_total{job="collector", exported_job="orders-service", http_route="/orders"}');
  assert.ok(calls.length >= 1, 'a calls counter per route');
  const duration = await prometheus.query('traces_span_metrics_duration_milliseconds_bucket{job="collector", http_route="/orders", le="+Inf"}');
  assert.ok(duration.length >= 1, 'span duration histogram by route');
});

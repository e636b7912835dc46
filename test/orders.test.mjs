// The example services end to end: orders-service and payment-service under
// `--import otelkit/register`, with REAL PostgreSQL and Redis (test/support/services.mjs) and the
// in-process OTLP receiver. Each request carries a traceparent of ours, so its trace is known.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { createClient } from 'redis';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';
import { startApp, get, freePort, ROOT } from './support/app.mjs';
import { startPostgres, startRedis } from './support/services.mjs';

const ORDERS = path.join(ROOT, 'examples/orders-service/server.mjs');
const PAYMENTS = path.join(ROOT, 'examples/payment-service/server.mjs');
const EMAIL = 'jane.doe@example.com';
const SEVERITY_WARN = 13;
const SEVERITY_ERROR = 17;

let rec;
let pg;
let redis;
let payments;
let orders;
let ordersPort;
let ordersAdminPort;

async function launch(script, serviceName, env) {
  const app = startApp(script, {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: rec.url,
      OTEL_SERVICE_NAME: serviceName,
      OTELKIT_ENVIRONMENT: 'development',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_BLRP_SCHEDULE_DELAY: '50',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()),
      PORT: '0',
      ...env,
    },
  });
  return app;
}

before(async () => {
  // No skip: a missing PostgreSQL or Redis fails the suite with the package to install.
  [pg, redis, rec] = await Promise.all([startPostgres(), startRedis(), startOtlpReceiver()]);
  payments = await launch(PAYMENTS, 'payment-service', {});
  const paymentPort = await payments.port();
  orders = await launch(ORDERS, 'orders-service', {
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    PAYMENT_URL: `http://127.0.0.1:${paymentPort}`,
  });
  ordersPort = await orders.port();
  ordersAdminPort = await orders.adminPort();
});

after(async () => {
  await Promise.all([orders?.stop(), payments?.stop()]);
  await Promise.all([pg?.stop(), redis?.stop(), rec?.close()]);
});

/** A fresh W3C trace context: the service's server span becomes a child of `spanId`. */
function traceContext() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, headers: { traceparent: `00-${traceId}-${spanId}-01` } };
}

async function request(method, p, { body, headers = {} } = {}) {
  const res = await fetch(`http://127.0.0.1:${ordersPort}${p}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch {}
  return { status: res.status, headers: res.headers, text, json };
}

const service = (s) => s.resource['service.name'];
const dbSystem = (s) => s.attributes['db.system.name'] ?? s.attributes['db.system'];
const dbStatement = (s) => s.attributes['db.query.text'] ?? s.attributes['db.statement'] ?? '';
const isPg = (s) => s.kind === 3 && dbSystem(s) === 'postgresql';
const isRedis = (s) => s.kind === 3 && dbSystem(s) === 'redis';
const isHttpClient = (s) => s.kind === 3 && typeof s.attributes['http.request.method'] === 'string';
const traceSpans = (traceId) => rec.spans.filter((s) => s.traceId === traceId);

function isDescendant(span, ancestor, spans) {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (let s = span, hops = 0; s && hops < 100; s = byId.get(s.parentSpanId), hops++) {
    if (s.parentSpanId === ancestor.spanId) return true;
  }
  return false;
}

function serverSpan(traceId, name, svc) {
  return traceSpans(traceId).find((s) => s.kind === 2 && s.name === name && service(s) === svc);
}

const describeTrace = (traceId) => traceSpans(traceId).map((s) => `${service(s)} kind=${s.kind} ${s.name}`).join('\n  ');

/** rec.waitFor, with what was awaited and the trace so far in the failure message. */
function waitFor(predicate, traceId, what, timeoutMs = 10000) {
  return rec.waitFor(predicate, { timeoutMs }).catch((err) => {
    throw new Error(`expected ${what}\n${err.message}\ntrace ${traceId} so far:\n  ${describeTrace(traceId)}`);
  });
}

async function createOrder(fields, ctx = traceContext()) {
  const res = await request('POST', '/orders', {
    body: { item: 'espresso beans', quantity: 2, amountCents: 2599, customerEmail: EMAIL, ...fields },
    headers: ctx.headers,
  });
  return { res, ctx };
}

test('POST /orders: one trace spans both services, with pg and redis client spans under the server span', async () => {
  const { res, ctx } = await createOrder({});
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.status, 'paid');
  assert.match(res.json.paymentId, /^pay_/);

  // First the orders-service part of the trace: the server span, its SQL and its cache writes.
  const t = await waitFor(() => {
    const spans = traceSpans(ctx.traceId);
    const server = serverSpan(ctx.traceId, 'POST /orders', 'orders-service');
    if (!server) return null;
    const mine = spans.filter((s) => service(s) === 'orders-service');
    const pgSpans = mine.filter(isPg);
    const redisSpans = mine.filter(isRedis);
    const statements = pgSpans.map(dbStatement).join('\n');
    if (!/INSERT INTO orders/.test(statements) || !/UPDATE orders/.test(statements) || redisSpans.length < 2) return null;
    return { server, pgSpans, redisSpans };
  }, ctx.traceId, 'POST /orders with its pg INSERT/UPDATE and redis SET spans');
  // Then the outgoing call: a client span in orders-service, and payment-service's server span
  // in the SAME trace as its child (the traceparent header went out with the request).
  Object.assign(t, await waitFor(() => {
    const spans = traceSpans(ctx.traceId);
    const client = spans.find((s) => service(s) === 'orders-service' && isHttpClient(s) && /\/charges$/.test(s.attributes['url.full'] ?? ''));
    const remote = serverSpan(ctx.traceId, 'POST /charges', 'payment-service');
    return client && remote ? { spans, client, remote } : null;
  }, ctx.traceId, 'the HTTP client span of the fetch() to payment-service and payment-service\'s POST /charges server span in the same trace ' +
    '(trace context propagated by the outgoing call)'));

  // The server span: named by the express route, a child of the caller's context.
  assert.equal(t.server.parentSpanId, ctx.spanId, 'the incoming traceparent is honoured');
  assert.equal(t.server.attributes['http.route'], '/orders');
  assert.equal(t.server.attributes['http.response.status_code'], 201);

  // PostgreSQL: client spans with the statement, all under the server span.
  for (const s of t.pgSpans) {
    assert.ok(isDescendant(s, t.server, t.spans), `pg span "${s.name}" is under POST /orders`);
  }
  const insert = t.pgSpans.find((s) => /INSERT INTO orders/.test(dbStatement(s)));
  assert.ok(insert, 'the INSERT has a span');
  assert.doesNotMatch(dbStatement(insert), /example\.com/, 'query parameters are not in the statement');

  // Redis: the cache writes, under the server span.
  for (const s of t.redisSpans) {
    assert.ok(isDescendant(s, t.server, t.spans), `redis span "${s.name}" is under POST /orders`);
  }
  assert.ok(t.redisSpans.some((s) => /^set$/i.test(s.name) || /^set\b/i.test(dbStatement(s))), 'a SET span');

  // The outgoing HTTP call and its continuation in the payment service.
  assert.ok(isDescendant(t.client, t.server, t.spans), 'the HTTP client span is under POST /orders');
  assert.equal(t.client.attributes['http.request.method'], 'POST');
  assert.equal(t.client.attributes['http.response.status_code'], 201);
  assert.equal(t.remote.traceId, t.server.traceId, 'the trace context propagated to the payment service');
  assert.equal(t.remote.parentSpanId, t.client.spanId, "payment-service's server span is a child of the client span");
  assert.equal(t.remote.attributes['http.route'], '/charges');
  assert.notEqual(service(t.remote), service(t.server));

  // The order's log records carry the trace and the redacted customer.
  const paid = await rec.waitFor(() => rec.logs.find((l) => l.body === 'order paid' && l.traceId === ctx.traceId));
  assert.equal(paid.attributes.orderId, res.json.id);
  assert.equal(paid.attributes.amountCents, 2599);
  assert.equal(paid.attributes.customerEmail, '[REDACTED]');
  assert.equal(paid.resource['service.name'], 'orders-service');
  const approved = await rec.waitFor(() => rec.logs.find((l) => l.body === 'charge approved' && l.traceId === ctx.traceId));
  assert.equal(approved.resource['service.name'], 'payment-service');
  assert.ok(traceSpans(ctx.traceId).some((s) => s.spanId === approved.spanId && service(s) === 'payment-service'),
    "payment-service's record is tied to one of its spans in the order's trace");
});

test('GET /orders/:id: from the Redis cache when cached (no SQL), else from PostgreSQL', async () => {
  const { res: created } = await createOrder({ item: 'filter papers', amountCents: 450 });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id;

  // Cached at creation: a hit, with a redis span and no pg span in the trace.
  const hitCtx = traceContext();
  const hit = await request('GET', `/orders/${id}`, { headers: hitCtx.headers });
  assert.equal(hit.status, 200, hit.text);
  assert.equal(hit.headers.get('x-cache'), 'hit');
  assert.equal(hit.json.id, id);
  assert.equal(hit.json.status, 'paid');
  const hitTrace = await rec.waitFor(() => {
    const server = serverSpan(hitCtx.traceId, 'GET /orders/:id', 'orders-service');
    const redisSpans = traceSpans(hitCtx.traceId).filter(isRedis);
    return server && redisSpans.length > 0 ? { server, redisSpans } : null;
  });
  assert.ok(hitTrace.redisSpans.every((s) => isDescendant(s, hitTrace.server, traceSpans(hitCtx.traceId))));
  await new Promise((r) => setTimeout(r, 300)); // anything late would have arrived by now
  assert.deepEqual(traceSpans(hitCtx.traceId).filter(isPg).map((s) => s.name), [], 'a cache hit runs no SQL');

  // Evicted behind the service's back: a miss, read from PostgreSQL, then cached again.
  const direct = createClient({ url: redis.url });
  direct.on('error', () => {});
  await direct.connect();
  try {
    assert.equal(await direct.del(`order:${id}`), 1);
  } finally {
    await direct.quit();
  }
  const missCtx = traceContext();
  const miss = await request('GET', `/orders/${id}`, { headers: missCtx.headers });
  assert.equal(miss.status, 200, miss.text);
  assert.equal(miss.headers.get('x-cache'), 'miss');
  assert.equal(miss.json.item, 'filter papers');
  const missTrace = await rec.waitFor(() => {
    const spans = traceSpans(missCtx.traceId);
    const server = serverSpan(missCtx.traceId, 'GET /orders/:id', 'orders-service');
    const select = spans.find((s) => isPg(s) && /SELECT .* FROM orders WHERE id/s.test(dbStatement(s)));
    return server && select ? { spans, server, select } : null;
  });
  assert.ok(isDescendant(missTrace.select, missTrace.server, missTrace.spans), 'the SELECT is under GET /orders/:id');
});

/** The count of db.client.operation.duration for SELECTs on the orders database, from /metrics. */
async function selectCount() {
  const text = await (await fetch(`http://127.0.0.1:${ordersAdminPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('db_client_operation_duration_seconds_count{') &&
    l.includes('db_operation_name="SELECT"') && l.includes('db_system_name="postgresql"') && l.includes('server_address="') && l.includes('db_namespace="'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

test('an unsampled request reads and writes Redis and PostgreSQL as a sampled one does, and records no spans', async () => {
  const { res: created } = await createOrder({ item: 'tamper mat', amountCents: 1250 });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id;
  const unsampled = () => {
    const traceId = randomBytes(16).toString('hex');
    return { traceId, headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-00` } };
  };
  // Under an unsampled parent the redis instrumentation is bypassed: the commands must still work.
  const hitCtx = unsampled();
  const hit = await request('GET', `/orders/${id}`, { headers: hitCtx.headers });
  assert.equal(hit.status, 200, hit.text);
  assert.equal(hit.headers.get('x-cache'), 'hit');
  assert.equal(hit.json.item, 'tamper mat');
  const direct = createClient({ url: redis.url });
  direct.on('error', () => {});
  await direct.connect();
  try {
    assert.equal(await direct.del(`order:${id}`), 1);
    const selectsBefore = await selectCount();
    const missCtx = unsampled();
    const miss = await request('GET', `/orders/${id}`, { headers: missCtx.headers });
    assert.equal(miss.status, 200, miss.text);
    assert.equal(miss.headers.get('x-cache'), 'miss');
    // The pg instrumentation is bypassed too, but its duration metric still counts the SELECT.
    assert.equal(await selectCount(), selectsBefore + 1, 'db.client.operation.duration counted the unsampled SELECT');
    // And the pool's connections (the counter pg updates on every acquire and release). pg
    // reads the pool's counts when it emits 'release', before the connection is idle again: the
    // last one released still counts as used.
    const metrics = await (await fetch(`http://127.0.0.1:${ordersAdminPort}/metrics`)).text();
    const connections = (state) => {
      const line = metrics.split('\n').find((l) => l.startsWith('db_client_connection_count{') && l.includes(`db_client_connection_state="${state}"`));
      assert.ok(line, `db.client.connection.count{state=${state}} is in /metrics`);
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const used = connections('used');
    const idle = connections('idle');
    assert.ok(used >= 0 && idle >= 0 && used + idle >= 1, `used ${used}, idle ${idle}: the pool has connections`);
    // The unsampled request cached the order again (SET through the bypassed instrumentation).
    assert.equal(JSON.parse(await direct.get(`order:${id}`)).id, id);

    // A sampled request afterwards still gets its redis span; by the time it arrives, anything
    // from the unsampled ones would have too.
    const sampledCtx = traceContext();
    assert.equal((await request('GET', `/orders/${id}`, { headers: sampledCtx.headers })).status, 200);
    await rec.waitFor(() => traceSpans(sampledCtx.traceId).some(isRedis) || null);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(traceSpans(hitCtx.traceId).length, 0);
    assert.equal(traceSpans(missCtx.traceId).length, 0);
  } finally {
    await direct.quit();
  }
});

test('ioredis under the preload: commands of unsampled requests work and make no spans, sampled ones get their spans', async () => {
  const app = await launch('ioredis-app.js', 'ioredis-app', { REDIS_URL: redis.url });
  try {
    const port = await app.port();
    const call = async (key, sampled) => {
      const traceId = randomBytes(16).toString('hex');
      const res = await fetch(`http://127.0.0.1:${port}/count/${key}`, {
        headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-${sampled ? '01' : '00'}` },
      });
      return { traceId, status: res.status, body: await res.json() };
    };
    const key = randomBytes(4).toString('hex');
    const first = await call(key, false);
    const second = await call(key, false);
    assert.deepEqual([first.status, first.body.value, second.body.value], [200, 1, 2]);
    const sampled = await call(key, true);
    assert.equal(sampled.body.value, 3);
    const spans = await rec.waitFor(() => {
      const s = traceSpans(sampled.traceId);
      return s.filter(isRedis).length >= 2 && s.some((x) => x.kind === 2) ? s : null;
    });
    const server = spans.find((x) => x.kind === 2);
    assert.deepEqual(spans.filter(isRedis).map((x) => x.name).sort(), ['get', 'incr']);
    assert.ok(spans.filter(isRedis).every((x) => x.parentSpanId === server.spanId));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(traceSpans(first.traceId).length + traceSpans(second.traceId).length, 0);
  } finally {
    await app.stop();
  }
});

test('GET /orders/:id for an unknown order: 404 and a warn log record in the request trace', async () => {
  const ctx = traceContext();
  const res = await request('GET', '/orders/unknown', { headers: ctx.headers });
  assert.equal(res.status, 404);
  assert.equal(res.json.error, 'order not found');

  const log = await rec.waitFor(() => rec.logs.find((l) => l.body === 'order not found' && l.attributes.orderId === 'unknown'));
  assert.equal(log.severityNumber, SEVERITY_WARN);
  assert.equal(log.severityText, 'warn');
  assert.equal(log.attributes['logger.name'], 'orders');
  assert.equal(log.traceId, ctx.traceId, 'the record carries the trace id of the request');
  const server = await rec.waitFor(() => serverSpan(ctx.traceId, 'GET /orders/:id', 'orders-service'));
  assert.equal(server.attributes['http.response.status_code'], 404);
  await rec.waitFor(() => traceSpans(ctx.traceId).some((s) => s.spanId === log.spanId));
  const logSpan = traceSpans(ctx.traceId).find((s) => s.spanId === log.spanId);
  assert.ok(logSpan === server || isDescendant(logSpan, server, traceSpans(ctx.traceId)), 'the record is tied to a span of the request');
});

test('a failing payment: 502, the order kept as payment_failed, an error log with the stack, correlated and redacted', async () => {
  const { res, ctx } = await createOrder({ item: 'espresso machine', amountCents: 250000 });
  assert.equal(res.status, 502, res.text);
  assert.equal(res.json.error, 'payment failed');
  assert.match(res.json.reason, /card declined/);
  assert.equal(res.json.order.status, 'payment_failed');

  const log = await rec.waitFor(() => rec.logs.find((l) => l.body === 'payment failed' && l.traceId === ctx.traceId));
  assert.equal(log.severityNumber, SEVERITY_ERROR);
  assert.equal(log.resource['service.name'], 'orders-service');
  assert.equal(log.attributes['exception.type'], 'PaymentError');
  assert.match(log.attributes['exception.message'], /charge rejected with 402: card declined/);
  assert.match(log.attributes['exception.stacktrace'], /^PaymentError: charge rejected with 402/);
  assert.match(log.attributes['exception.stacktrace'], /examples\/orders-service\/payments\.mjs:\d+/);
  assert.equal(log.attributes.orderId, res.json.order.id);
  assert.equal(log.attributes.amountCents, 250000);
  assert.equal(log.attributes.customerEmail, '[REDACTED]', 'the email address is redacted');

  // The record's ids are those of the request's spans.
  const server = await rec.waitFor(() => serverSpan(ctx.traceId, 'POST /orders', 'orders-service'));
  assert.equal(server.attributes['http.response.status_code'], 502);
  await rec.waitFor(() => traceSpans(ctx.traceId).some((s) => s.spanId === log.spanId));
  const logSpan = traceSpans(ctx.traceId).find((s) => s.spanId === log.spanId);
  assert.ok(logSpan === server || isDescendant(logSpan, server, traceSpans(ctx.traceId)), 'the record is tied to a span of the request');

  // The decline is visible in payment-service's part of the same trace.
  const remote = await waitFor(() => serverSpan(ctx.traceId, 'POST /charges', 'payment-service'), ctx.traceId,
    "payment-service's POST /charges server span in the order's trace (trace context propagated by the outgoing call)");
  assert.equal(remote.attributes['http.response.status_code'], 402);
  const declined = await rec.waitFor(() => rec.logs.find((l) => l.body === 'card declined' && l.traceId === ctx.traceId));
  assert.equal(declined.resource['service.name'], 'payment-service');

  // The stored order says what happened.
  const again = await request('GET', `/orders/${res.json.order.id}`);
  assert.equal(again.status, 200);
  assert.equal(again.json.status, 'payment_failed');

  // The raw address never left either process: not in log records, not in span attributes,
  // not on stdout.
  const exported = JSON.stringify({ logs: rec.logs, spans: rec.spans.map((s) => [s.name, s.attributes, s.events]) });
  assert.ok(!exported.includes(EMAIL), 'no raw email address in exported telemetry');
  assert.ok(!orders.out.stdout.includes(EMAIL), 'no raw email address on stdout');
  assert.match(orders.out.stdout, /"message":"payment failed".*"customerEmail":"\[REDACTED\]"/);
});

test('GET /orders lists the most recent orders', async () => {
  const res = await request('GET', '/orders?limit=2');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.length, 2);
  assert.ok(res.json[0].createdAt >= res.json[1].createdAt, 'newest first');
  const bad = await request('GET', '/orders?limit=0');
  assert.equal(bad.status, 400);
  const invalid = await request('POST', '/orders', { body: { item: '', quantity: 1, amountCents: 1 } });
  assert.equal(invalid.status, 400);
  assert.match(invalid.json.error, /item/);
});

test('/readyz: healthy with postgres and redis checks; 503 naming redis once Redis is stopped', async () => {
  const ready = await get(ordersAdminPort, '/readyz');
  assert.equal(ready.status, 200, ready.text);
  const report = JSON.parse(ready.text);
  assert.equal(report.status, 'healthy');
  assert.equal(report.checks.postgres.status, 'ok');
  assert.equal(report.checks.redis.status, 'ok');
  assert.equal(report.checks.payment.status, 'ok');
  // The same handler answers on the application port.
  const onApp = await get(ordersPort, '/readyz');
  assert.equal(onApp.status, 200, onApp.text);

  await redis.stop(); // the real server, shut down cleanly

  let last;
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    last = await get(ordersAdminPort, '/readyz');
    if (last.status === 503) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(last.status, 503, last.text);
  const down = JSON.parse(last.text);
  assert.equal(down.status, 'unhealthy');
  assert.notEqual(down.checks.redis.status, 'ok');
  assert.ok(down.checks.redis.error, 'the failing check says why');
  assert.equal(down.checks.postgres.status, 'ok');

  // A cache outage does not fail requests: reads fall through to PostgreSQL.
  const list = await request('GET', '/orders?limit=1');
  assert.equal(list.status, 200);
  const one = await request('GET', `/orders/${list.json[0].id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.headers.get('x-cache'), 'miss');
});

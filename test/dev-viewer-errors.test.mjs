// `otelkit dev`'s Errors view: error groups built from the exception records among the ingested
// logs (counts, first and last seen, the latest stack, a trace link only when the trace was
// received), bounded by count and bytes; and in the real Chromium, from an application under the
// preload: the group, its stack, its trace, its request's log lines.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevServer } from '../dist/cli/dev/server.js';
import { launchBrowser } from './support/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hex = (i, len) => i.toString(16).padStart(len, '0');
const MS = 1_000_000n;
const T0 = BigInt(Date.now() - 60_000) * MS;

async function waitFor(fn, what, timeoutMs = 20000) {
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

const kv = (key, v) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });

/** An exception record as src/errors makes it (README, "The record"). */
function exceptionRecord({ group, type, message, atMs, trace, span = 1, route = '/orders/:id', suppressed, source = 'express' }) {
  const attributes = [
    kv('exception.type', type), kv('exception.message', message),
    kv('exception.stacktrace', `${type}: ${message}\n    at handler (/app/routes/orders.js:${atMs}:7)\n    at Layer.handle (/app/node_modules/express/lib/router/layer.js:95:5)`),
    kv('otelkit.error.group', group), kv('otelkit.error.source', source),
    kv('http.request.method', 'GET'), kv('http.route', route), kv('url.path', '/orders/7'), kv('http.response.status_code', 500),
    kv('deployment.environment.name', 'development'),
  ];
  if (suppressed) attributes.push(kv('otelkit.error.suppressed', suppressed));
  return {
    timeUnixNano: String(T0 + BigInt(atMs) * MS), severityNumber: 17, severityText: 'ERROR', body: { stringValue: `${type}: ${message}` },
    attributes, traceId: hex(trace, 32), spanId: hex(span, 16),
  };
}
const logsJson = (logRecords, service = 'orders') =>
  JSON.stringify({ resourceLogs: [{ resource: { attributes: [kv('service.name', service)] }, scopeLogs: [{ scope: { name: 'otelkit.errors' }, logRecords }] }] });
const tracesJson = (spans, service = 'orders') =>
  JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', service)] }, scopeSpans: [{ spans }] }] });

async function post(viewer, signal, body) {
  const r = await fetch(`${viewer.otlpUrl}/v1/${signal}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(r.status, 200, await r.text());
}
async function get(viewer, p, status = 200) {
  const r = await fetch(new URL(p, viewer.uiUrl));
  assert.equal(r.status, status, `${p}: ${await r.clone().text()}`);
  return r.json();
}

test('the errors API: groups from exception records with counts, first and last seen, the latest stack, a trace link only for a received trace', async () => {
  const viewer = await startDevServer({ host: '127.0.0.1', port: 0, uiPort: 0, maxSpans: 1000, maxLogs: 1000, maxPoints: 1000 });
  try {
    const A = 'a1b2c3d4e5f60718';
    const B = '0f1e2d3c4b5a6978';
    // Out of order on purpose: the latest record is the one with the latest time, not the last to arrive.
    await post(viewer, 'logs', logsJson([
      exceptionRecord({ group: A, type: 'OrderError', message: 'order 2 failed', atMs: 2000, trace: 2 }),
      exceptionRecord({ group: A, type: 'OrderError', message: 'order 1 failed', atMs: 1000, trace: 1 }),
      exceptionRecord({ group: B, type: 'TypeError', message: 'x is undefined', atMs: 1500, trace: 9 }),
      // The same error's later log line carries the group but is no exception record (no source): not counted.
      { timeUnixNano: String(T0 + 2500n * MS), severityNumber: 17, body: { stringValue: 'retrying' }, attributes: [kv('otelkit.error.group', A)], traceId: hex(2, 32) },
      // An ordinary error log line: no group.
      { timeUnixNano: String(T0 + 2600n * MS), severityNumber: 17, body: { stringValue: 'plain error' }, attributes: [kv('exception.type', 'Error')] },
    ]));
    await post(viewer, 'logs', logsJson([exceptionRecord({ group: A, type: 'OrderError', message: 'order 3 failed', atMs: 3000, trace: 3, suppressed: 4 })]));
    // Only trace 3 (group A's latest) was sampled and received; B's trace 9 was not.
    await post(viewer, 'traces', tracesJson([{ traceId: hex(3, 32), spanId: hex(1, 16), name: 'GET /orders/:id', kind: 2, startTimeUnixNano: String(T0 + 2990n * MS), endTimeUnixNano: String(T0 + 3010n * MS), status: { code: 2 } }]));

    const list = await get(viewer, '/api/errors');
    assert.deepEqual(list.map((g) => g.group), [A, B], 'most recently seen first');
    const [a, b] = list;
    assert.equal(a.service, 'orders');
    assert.equal(a.type, 'OrderError');
    assert.equal(a.message, 'order 3 failed');
    assert.equal(a.records, 3);
    assert.equal(a.suppressed, 4);
    assert.equal(a.count, 7, 'records plus those flood control counted only');
    // The viewer's own conversion of nanoseconds (a float of milliseconds).
    assert.equal(a.firstSeenMs, Number(T0 + 1000n * MS) / 1e6);
    assert.equal(a.lastSeenMs, Number(T0 + 3000n * MS) / 1e6);
    assert.equal(a.route, '/orders/:id');
    assert.equal(a.traceId, hex(3, 32));
    assert.equal(a.traceReceived, true);
    assert.equal(b.count, 1);
    assert.equal(b.firstSeenMs, b.lastSeenMs);
    assert.equal(b.traceId, hex(9, 32));
    assert.equal(b.traceReceived, false, 'no link to a trace that never arrived');

    const detail = await get(viewer, `/api/errors/${A}`);
    assert.match(detail.stacktrace, /^OrderError: order 3 failed\n {4}at handler \(\/app\/routes\/orders\.js:3000:7\)/);
    assert.equal(detail.attributes['url.path'], '/orders/7');
    assert.deepEqual(detail.occurrences.map((o) => [o.message, o.traceReceived]), [['order 3 failed', true], ['order 2 failed', false], ['order 1 failed', false]]);
    // The logs view's filter by the latest record's trace id finds the request's lines.
    const lines = await get(viewer, `/api/logs?traceId=${a.traceId}`);
    assert.deepEqual(lines.map((l) => l.body), ['OrderError: order 3 failed']);

    // Filters and errors.
    assert.deepEqual((await get(viewer, '/api/errors?q=typeerror')).map((g) => g.group), [B]);
    assert.deepEqual(await get(viewer, '/api/errors?service=payments'), []);
    assert.equal((await get(viewer, '/api/errors?limit=1')).length, 1);
    await get(viewer, `/api/errors/${A}?service=payments`, 404);
    await get(viewer, '/api/errors/ffffffffffffffff', 404);
    await get(viewer, `/api/errors/${'x'.repeat(65)}`, 400);
    await get(viewer, '/api/errors/a%20b', 400);

    // No second copy of the record: the group holds the log store's own object.
    const group = viewer.store.errors.groups.get(`orders\u0000${A}`);
    assert.ok([...viewer.store.logs.oldest()].includes(group.latest));
    const stats = await get(viewer, '/api/stats');
    assert.equal(stats.errors.groups, 2);
    assert.ok(stats.errors.bytes > 0);
  } finally {
    await viewer.close();
  }
});

test('error groups are bounded by count and by bytes: the group updated longest ago goes first', async () => {
  const viewer = await startDevServer({ host: '127.0.0.1', port: 0, uiPort: 0, maxSpans: 100, maxLogs: 100_000, maxPoints: 100, maxErrorGroups: 50 });
  try {
    // Groups 0-49 fill the index; group 0 is seen again, then groups 50-89 arrive: 1-40 go, 0 stays.
    const rec = (i, atMs = i) => exceptionRecord({ group: hex(i, 16), type: 'E', message: `m${i}`, atMs, trace: i + 1 });
    await post(viewer, 'logs', logsJson(Array.from({ length: 50 }, (_, i) => rec(i))));
    await post(viewer, 'logs', logsJson([rec(0, 500)]));
    await post(viewer, 'logs', logsJson(Array.from({ length: 40 }, (_, i) => rec(50 + i))));
    const list = await get(viewer, '/api/errors?limit=1000');
    assert.equal(list.length, 50);
    assert.equal(list[0].group, hex(0, 16));
    assert.equal(list[0].count, 2);
    assert.deepEqual(list.slice(1).map((g) => Number.parseInt(g.group, 16)).sort((a, b) => a - b), Array.from({ length: 49 }, (_, i) => 41 + i));
    const stats = await get(viewer, '/api/stats');
    assert.deepEqual([stats.errors.groups, stats.errors.dropped], [50, 40]);
    // The logs themselves are untouched by the group cap.
    assert.equal(stats.logs, 91);
  } finally {
    await viewer.close();
  }
  // Bytes: a budget of 1 MiB gives the index 5% (52 KiB); records with 4 KiB stacks fill it long before 1000 groups.
  const small = await startDevServer({ host: '127.0.0.1', port: 0, uiPort: 0, maxSpans: 100, maxLogs: 10, maxPoints: 100, maxBytes: 1024 * 1024 });
  try {
    const big = (i) => {
      const r = exceptionRecord({ group: hex(i, 16), type: 'E', message: `m${i}`, atMs: i, trace: i + 1 });
      r.attributes.find((x) => x.key === 'exception.stacktrace').value.stringValue = `E: m${i}\n`.padEnd(4000, 's');
      return r;
    };
    for (let r = 0; r < 10; r++) await post(small, 'logs', logsJson(Array.from({ length: 20 }, (_, k) => big(r * 20 + k))));
    const stats = await get(small, '/api/stats');
    assert.ok(stats.errors.bytes <= 1024 * 1024 * 0.05, JSON.stringify(stats.errors));
    assert.ok(stats.errors.groups < 20 && stats.errors.dropped === 200 - stats.errors.groups, JSON.stringify(stats.errors));
    // The newest groups stay, with their stacks, though their records left the log store (10 records).
    const list = await get(small, '/api/errors?limit=1000');
    assert.equal(list[0].group, hex(199, 16));
    const detail = await get(small, `/api/errors/${hex(199 - stats.errors.groups + 1, 16)}`);
    assert.match(detail.stacktrace, /^E: m\d+\nsss/);
  } finally {
    await small.close();
  }
});

// ---------------------------------------------------------------------------------- browser

const APP = path.join(ROOT, '.tmp', 'dev-viewer-errors-app.mjs');
const APP_SOURCE = `
import http from 'node:http';
import { getLogger } from 'otelkit';
const log = getLogger('app');
function chargeCard(order) {
  throw new Error('card declined for order ' + order);
}
const server = http.createServer((req, res) => {
  log.info('handling ' + req.url);
  if (req.url.startsWith('/fail')) {
    try {
      chargeCard(req.url.slice(6));
    } catch (err) {
      log.error('payment failed', err);
    }
    res.writeHead(500); res.end('no');
    return;
  }
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => process.stdout.write('listening ' + server.address().port + '\\n'));
`;

let viewer;
let app;
let browser;

before(async () => {
  mkdirSync(path.dirname(APP), { recursive: true });
  writeFileSync(APP, APP_SOURCE);
  viewer = await startDevServer({ host: 'localhost', port: 0, uiPort: 0, maxSpans: 5000, maxLogs: 5000, maxPoints: 20000 });
  const child = spawn(process.execPath, ['--import', 'otelkit/register', APP], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME ?? os.tmpdir(),
      OTEL_SERVICE_NAME: 'shop', OTEL_EXPORTER_OTLP_ENDPOINT: viewer.otlpUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_METRICS_EXPORTER: 'none', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_BLRP_SCHEDULE_DELAY: '100', OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      OTELKIT_ENVIRONMENT: 'development',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const port = await waitFor(() => /listening (\d+)/.exec(out)?.[1], `the app to listen (output: ${out})`);
  app = { url: `http://127.0.0.1:${port}`, child };
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  if (app) {
    app.child.kill('SIGTERM');
    await new Promise((r) => (app.child.exitCode !== null ? r() : app.child.once('exit', r)));
  }
  await viewer?.close();
});

async function guard(name, fn) {
  try {
    await fn();
  } catch (err) {
    await browser.screenshot(`failed-${name}`).catch(() => {});
    throw err;
  }
}

test('the Errors view in Chromium: the group with its count and stack, through to its trace and to its request\'s log lines', () => guard('errors-view', async () => {
  for (const order of [1, 2, 3]) assert.equal((await fetch(`${app.url}/fail/${order}`)).status, 500);
  assert.equal((await fetch(`${app.url}/ok`)).status, 200);
  const [group] = await waitFor(async () => {
    const g = await get(viewer, '/api/errors?service=shop');
    return g.length === 1 && g[0].count === 3 && g[0].traceReceived && g;
  }, 'one group of three errors, its latest trace received');
  assert.equal(group.type, 'Error');
  assert.equal(group.message, 'card declined for order 3');
  assert.match(group.group, /^[0-9a-f]{16}$/);

  const { page } = browser;
  await page.goto(viewer.uiUrl);
  await page.click('header nav a[data-view="errors"]');
  await page.waitForFunction(() => document.body.dataset.ready === 'errors');
  const row = page.locator(`#error-list tr.error-row[data-group="${group.group}"]`);
  await row.waitFor();
  assert.equal(await page.locator('#error-list tr.error-row').count(), 1);
  assert.equal((await row.locator('.error-count').textContent()).trim(), '3');
  assert.match(await row.textContent(), /Error card declined for order 3/);
  assert.equal(await page.getAttribute('header nav a.active', 'data-view'), 'errors');
  await browser.screenshot('errors-01-list');

  await row.locator('.error-message').click();
  await page.waitForSelector('#error-stack');
  assert.match(await page.textContent('#error-title'), /Error\s+card declined for order 3/);
  assert.equal(await page.textContent('#error-count'), '3');
  const stack = await page.textContent('#error-stack');
  assert.match(stack, /^Error: card declined for order 3\n\s+at chargeCard \(.*dev-viewer-errors-app\.mjs:\d+:\d+\)/);
  assert.match(await page.textContent('#error-attributes'), /otelkit\.error\.group\s*[0-9a-f]{16}/);
  assert.equal(await page.locator('#error-occurrences tbody tr').count(), 3);
  await browser.screenshot('errors-02-group');

  // To the trace of the latest occurrence.
  await page.click('#error-links a.error-trace-link');
  await page.waitForSelector('#waterfall tr.span-row');
  assert.match(await page.textContent('#trace-title'), new RegExp(group.traceId));
  assert.equal(await page.locator('#waterfall tr.span-row.selected').getAttribute('data-span-id'), group.spanId);
  await browser.screenshot('errors-03-trace');

  // Back to the group, then to the request's log lines by trace id.
  await page.goBack();
  await page.waitForSelector('#error-links a.error-logs-link');
  await page.click('#error-links a.error-logs-link');
  await page.waitForFunction(() => document.body.dataset.ready === 'logs' && window.location.hash.includes('traceId='));
  assert.match(await page.textContent('#log-trace-filter'), new RegExp(group.traceId));
  await page.waitForSelector('#log-list tr.log-row');
  const ids = await page.locator('#log-list tr.log-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trace-id')));
  assert.deepEqual(new Set(ids), new Set([group.traceId]), 'only the request\'s lines');
  const lines = await page.locator('#log-list tr.log-row .log-body').allTextContents();
  assert.deepEqual(lines.sort(), ['handling /fail/3', 'payment failed']);
  await browser.screenshot('errors-04-request-logs');
}));

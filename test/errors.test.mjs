// Error tracking (issue 30): express 4 (CommonJS and ES module apps) and express 5 in
// production with sampling at 0.1: every error that becomes a server error is one exception log
// record, correlated with its request's trace (unsampled too), redacted, grouped, counted on
// /metrics; errors the app handles and logs are one record, not two; express answers exactly as
// it does without otelkit. Unit checks of the fingerprint and the flood control.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { receiverPerFile } from './support/receiver-per-file.mjs';
import { startApp, freePort, ROOT, FIXTURES } from './support/app.mjs';

const require = createRequire(import.meta.url);
const { fingerprint, parseFrame, appFrames } = require(path.join(ROOT, 'dist/errors/fingerprint.js'));
const { FloodControl, OVERFLOW_BUCKET } = require(path.join(ROOT, 'dist/errors/flood-control.js'));

const shared = receiverPerFile();

const PROD_ENV = {
  OTELKIT_ENVIRONMENT: 'production',
  // express's own environment: its final handler then answers without the stack (which otelkit's
  // layer wrappers appear in), as in production.
  NODE_ENV: 'production',
  OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
  OTEL_TRACES_SAMPLER_ARG: '0.1',
  OTEL_BSP_SCHEDULE_DELAY: '50',
  OTEL_BLRP_SCHEDULE_DELAY: '50',
  OTELKIT_ERROR_RECORDS_PER_MINUTE: '1000',
};

function launch(script, env = {}, preload) {
  const admin = env.OTEL_EXPORTER_PROMETHEUS_PORT;
  const app = startApp(script, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: shared.rec.url, OTEL_SERVICE_NAME: 'errors-app', ...PROD_ENV, ...env }, ...(preload ? { preload } : {}) });
  app.admin = admin === undefined ? undefined : Number(admin);
  shared.apps.push(app);
  return app;
}

function request(port, p, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, headers: { 'user-agent': 'errors-test/1.0', cookie: 'sid=s3cr3t-cookie', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, type: res.headers['content-type'] }));
    }).on('error', reject);
  });
}

const traceparent = (traceId, flags = '00') => `00-${traceId}-${crypto.randomBytes(8).toString('hex')}-${flags}`;
const exceptionRecords = (rec) => rec.logs.filter((l) => l.eventName === 'exception');

async function metricsText(app) {
  const port = app.admin;
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function exceptionsSeries(text) {
  return text.split('\n').filter((l) => l.startsWith('otelkit_exceptions_total{')).map((l) => {
    const m = /^otelkit_exceptions_total\{(.*)\} (\S+)/.exec(l);
    // otel_scope_* labels are the serialiser's, on every otelkit metric.
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].filter((x) => !x[1].startsWith('otel_scope_')).map((x) => [x[1], x[2]]));
    return { labels, value: Number(m[2]) };
  });
}

// The routes every app serves, and what express answers for each (checked against the app
// without otelkit).
const ROUTES = ['/ok', '/boom/1', '/next', '/secret', '/swallow', '/other', '/handled/fail', '/handled/client', '/nope', '/winston'];

async function answers(port, routes) {
  const out = {};
  for (const r of routes) {
    const a = await request(port, r);
    out[r] = { status: a.status, body: a.body, type: a.type };
  }
  return out;
}

/** Runs the whole scenario against one app (script) and checks every record. */
async function scenario(t, script, { express5 = false } = {}) {
  const routes = express5 ? [...ROUTES, '/async'] : ROUTES;
  // The host's behaviour: the same answers with and without otelkit.
  const plain = launch(script, {}, []);
  const plainAnswers = await answers(await plain.port(), routes);
  await plain.stop();

  const app = launch(script, { OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) });
  const port = await app.port();
  const major = Number(/express (\d+)/.exec(app.out.stdout)[1]);
  assert.equal(major, express5 ? 5 : 4, 'the express major under test');
  const got = await answers(port, routes);
  assert.deepEqual(got, plainAnswers, 'express answers exactly as without otelkit');
  assert.equal(got['/boom/1'].status, 500);
  assert.equal(got['/handled/fail'].status, 500);
  assert.equal(got['/handled/client'].status, 400);
  if (express5) assert.equal(got['/async'].status, 500);

  const rec = shared.rec;
  const expected = express5 ? 8 : 7; // boom, next, secret, swallow, other, handled/fail, winston (+ async)
  await rec.waitFor(() => exceptionRecords(rec).length >= expected);
  // Let anything extra arrive before counting.
  await new Promise((r) => setTimeout(r, 300));
  const records = exceptionRecords(rec);
  const byPath = Object.fromEntries(records.map((r) => [r.attributes['url.path'], r]));
  assert.equal(records.length, expected, `one record per server error: ${records.map((r) => r.attributes['url.path'])}`);
  for (const p of ['/ok', '/handled/client', '/nope']) assert.equal(byPath[p], undefined, `no record for ${p}`);

  for (const r of records) {
    assert.equal(r.severityNumber, 17);
    assert.equal(r.severityText.toUpperCase(), 'ERROR');
    assert.match(r.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(r.traceId, '0'.repeat(32));
    assert.match(r.spanId, /^[0-9a-f]{16}$/);
    assert.match(r.attributes['otelkit.error.group'], /^[0-9a-f]{16}$/);
    assert.equal(typeof r.attributes['exception.type'], 'string');
    assert.equal(typeof r.attributes['exception.stacktrace'], 'string');
    assert.equal(r.attributes['http.request.method'], 'GET');
    assert.equal(r.attributes['user_agent.original'], 'errors-test/1.0');
    assert.equal(r.attributes['deployment.environment.name'], 'production');
    // Never the client's address, cookies or headers.
    const flat = JSON.stringify(r.attributes);
    for (const forbidden of ['client.address', 'network.peer', 's3cr3t-cookie', 'http.request.header', '127.0.0.1']) assert.ok(!flat.includes(forbidden), `${forbidden} in ${flat}`);
  }
  const boom = byPath['/boom/1'];
  assert.equal(boom.attributes['exception.type'], 'OrderError');
  assert.equal(boom.attributes['exception.message'], 'order 1 failed');
  assert.equal(boom.attributes['http.route'], '/boom/:id');
  assert.equal(boom.attributes['http.response.status_code'], 500);
  assert.equal(boom.attributes['otelkit.error.source'], 'express');
  assert.match(boom.attributes['exception.stacktrace'], /at failOrder \(.*errors-routes\.cjs:\d+:\d+\)/);
  assert.equal(byPath['/next'].attributes['exception.type'], 'RangeError');
  assert.equal(byPath['/other'].attributes['exception.type'], 'OrderError');
  assert.notEqual(byPath['/other'].attributes['otelkit.error.group'], boom.attributes['otelkit.error.group'], 'another throw site, another group');
  if (express5) assert.equal(byPath['/async'].attributes['exception.message'], 'async order failed');

  // Redaction everywhere, the cause chain kept.
  const secret = byPath['/secret'];
  for (const k of ['exception.message', 'exception.stacktrace']) {
    assert.ok(!secret.attributes[k].includes('hunter2') && !secret.attributes[k].includes('jane.doe@example.com'), `${k}: ${secret.attributes[k]}`);
    assert.match(secret.attributes[k], /\[REDACTED\]/);
  }
  assert.ok(!String(secret.body).includes('hunter2'));
  assert.match(secret.attributes['exception.stacktrace'], /Caused by: TypeError: gateway timeout/);

  // Swallowed and reported: the app's attributes, redacted; the request's answer was 200.
  const swallowed = byPath['/swallow'];
  assert.equal(swallowed.attributes['otelkit.error.source'], 'api');
  assert.equal(swallowed.attributes['order.kind'], 'swallowed');
  assert.equal(swallowed.attributes.password, '[REDACTED]');

  // Handled by the app's error handler, which also logged it: one record, the log line.
  const handled = records.filter((r) => r.attributes['url.path'] === '/handled/fail');
  assert.equal(handled.length, 1);
  assert.equal(handled[0].body, 'request failed');
  assert.equal(handled[0].attributes['otelkit.error.source'], 'logger');
  assert.equal(handled[0].attributes['http.route'], '/handled/fail');

  // The application's winston logger: its record is the exception record, with the group.
  const logged = byPath['/winston'];
  assert.equal(logged.attributes['otelkit.error.source'], 'winston');
  assert.equal(logged.attributes['exception.message'], 'order w failed');
  assert.equal(logged.attributes['http.route'], '/winston');
  assert.equal(logged.scope.name, '@opentelemetry/winston-transport');
  assert.match(logged.body, /^winston failed/);
  assert.equal(rec.logs.filter((l) => l.scope.name === '@opentelemetry/winston-transport').length, 1, 'one winston record, not two');

  // Counted on /metrics by type, group and route.
  const series = exceptionsSeries(await metricsText(app));
  const boomSeries = series.find((s) => s.labels.http_route === '/boom/:id');
  assert.deepEqual(boomSeries?.labels, { exception_type: 'OrderError', otelkit_error_group: boom.attributes['otelkit.error.group'], http_route: '/boom/:id' });
  assert.equal(boomSeries.value, 1);
  assert.equal(series.reduce((n, s) => n + s.value, 0), expected);
  return { app, port, records };
}

test('express 4, CommonJS, production at 0.1: one redacted, grouped record per server error, express unchanged', async (t) => {
  await scenario(t, 'errors-app.cjs');
});

test('express 4, ES module app: the same records, and the same groups as the CommonJS app (stable across processes)', async (t) => {
  const cjs = await scenario(t, 'errors-app.cjs');
  const cjsGroups = Object.fromEntries(cjs.records.map((r) => [r.attributes['url.path'], r.attributes['otelkit.error.group']]));
  for (const a of shared.apps.splice(0)) await a.stop();
  shared.rec.reset();
  const esm = await scenario(t, 'errors-app.mjs');
  for (const r of esm.records) assert.equal(r.attributes['otelkit.error.group'], cjsGroups[r.attributes['url.path']], r.attributes['url.path']);
});

test('express 5 (the express5 alias, as express): the same capture, rejected async handlers included', async (t) => {
  // Instrumentations match the package by the name `express`, which the aliased directory does
  // not have: the app runs from a directory of its own (one a process: the Node lines run in
  // parallel) where express 5 is node_modules/express.
  const source = path.join(ROOT, 'node_modules/express5');
  assert.ok(fs.existsSync(source), 'express5 (npm:express@5) is installed as a development dependency');
  const dir = path.join(ROOT, '.tmp', `express5-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(source, path.join(dir, 'node_modules/express'), { recursive: true, dereference: true });
  fs.writeFileSync(path.join(dir, 'app.cjs'), [
    "const express = require('express');",
    `const mount = require(${JSON.stringify(path.join(FIXTURES, 'errors-routes.cjs'))});`,
    "const version = require('express/package.json').version;",
    'const app = express();',
    "mount(app, express, Number(version.split('.')[0]));",
    "const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port} express ${version}\\n`));",
    '',
  ].join('\n'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await scenario(t, path.join(dir, 'app.cjs'), { express5: true });
});

test('every error of 30 unsampled requests is one record carrying its request trace id', async () => {
  const app = launch('errors-app.cjs');
  const port = await app.port();
  const sent = [];
  for (let i = 0; i < 30; i++) {
    const traceId = crypto.randomBytes(16).toString('hex');
    sent.push(traceId);
    const r = await request(port, `/boom/${i}`, { traceparent: traceparent(traceId) });
    assert.equal(r.status, 500);
  }
  const rec = shared.rec;
  await rec.waitFor(() => exceptionRecords(rec).length >= 30);
  await new Promise((r) => setTimeout(r, 300));
  const records = exceptionRecords(rec);
  assert.equal(records.length, 30);
  assert.deepEqual(records.map((r) => r.traceId).sort(), [...sent].sort());
  assert.equal(new Set(records.map((r) => r.attributes['otelkit.error.group'])).size, 1, 'one group for one throw site');
  assert.equal(rec.spans.length, 0, 'unsampled: no spans exported');
});

test('sampled requests: the server span carries the exception event and status message, no layer spans in production', async () => {
  const app = launch('errors-app.cjs', { OTEL_TRACES_SAMPLER_ARG: '1' });
  const port = await app.port();
  assert.equal((await request(port, '/boom/7')).status, 500);
  const rec = shared.rec;
  const span = await rec.waitFor(() => rec.spans.find((s) => s.name === 'GET /boom/:id'));
  assert.equal(span.status.code, 2);
  assert.equal(span.status.message, 'order 7 failed');
  const ev = span.events.find((e) => e.name === 'exception');
  assert.ok(ev, 'exception event on the server span');
  assert.equal(ev.attributes['exception.message'], 'order 7 failed');
  assert.equal(rec.spans.length, 1, 'only the server span');
  const record = await rec.waitFor(() => exceptionRecords(rec)[0]);
  assert.equal(record.traceId, span.traceId);
  assert.equal(record.spanId, span.spanId);
});

test('flood control: at most N records a group a minute, every error counted', async () => {
  const app = launch('errors-app.cjs', { OTELKIT_ERROR_RECORDS_PER_MINUTE: '3', OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) });
  const port = await app.port();
  for (let i = 0; i < 8; i++) assert.equal((await request(port, `/boom/${i}`)).status, 500);
  assert.equal((await request(port, '/other')).status, 500);
  const rec = shared.rec;
  await rec.waitFor(() => exceptionRecords(rec).length >= 4);
  await new Promise((r) => setTimeout(r, 500));
  const records = exceptionRecords(rec);
  assert.equal(records.filter((r) => r.attributes['http.route'] === '/boom/:id').length, 3);
  assert.equal(records.filter((r) => r.attributes['url.path'] === '/other').length, 1, 'another group has its own budget');
  const series = exceptionsSeries(await metricsText(app));
  assert.equal(series.find((s) => s.labels.http_route === '/boom/:id').value, 8);
});

test('a crash is an exception record too (through the crash path), and exits as before', async () => {
  const script = path.join(FIXTURES, 'errors-crash.cjs');
  const app = launch(script);
  const { code } = await app.exited;
  assert.equal(code, 1);
  assert.match(app.out.stderr, /OrderError: crashed on purpose/);
  const rec = shared.rec;
  const record = await rec.waitFor(() => exceptionRecords(rec)[0]);
  assert.equal(record.attributes['exception.message'], 'crashed on purpose');
  assert.match(record.attributes['otelkit.error.group'], /^[0-9a-f]{16}$/);
  assert.equal(record.attributes['otelkit.error.source'], 'uncaughtException');
  assert.equal(record.attributes['http.route'], undefined);
});

test('fingerprint: line numbers, dependency frames and otelkit frames do not count; functions and modules do', () => {
  const root = '/srv/app';
  const stack = (line, fn = 'failOrder', dep = 'express/lib/router/layer.js') => [
    'OrderError: order 12 failed',
    `    at ${fn} (/srv/app/src/orders.js:${line}:9)`,
    `    at Layer.handle [as handle_request] (/srv/app/node_modules/${dep}:95:5)`,
    `    at async handler (file:///srv/app/src/routes.mjs:${line + 3}:2)`,
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
  ].join('\n');
  const g = fingerprint('OrderError', stack(10), 'order 12 failed', root);
  assert.match(g, /^[0-9a-f]{16}$/);
  assert.equal(fingerprint('OrderError', stack(99), 'order 13 failed', root), g, 'moved lines, other message');
  assert.equal(fingerprint('OrderError', stack(10, 'failOrder', 'express/lib/other.js'), 'x', root), g, 'dependency frames ignored');
  assert.notEqual(fingerprint('OrderError', stack(10, 'chargeCard'), 'x', root), g, 'another function');
  assert.notEqual(fingerprint('TypeError', stack(10), 'x', root), g, 'another type');
  assert.deepEqual(appFrames(stack(10), root).app, [
    { fn: 'failOrder', file: 'src/orders.js' },
    { fn: 'handler', file: 'src/routes.mjs' },
  ]);
  assert.deepEqual(parseFrame('    at new OrderError (/a/b.js:1:2)'), { fn: 'OrderError', file: '/a/b.js' });
  assert.deepEqual(parseFrame('    at /a/b.js:1:2'), { fn: '<anonymous>', file: '/a/b.js' });
  // No application frame: dependency frames; none at all: the message's shape, ids left out.
  assert.equal(fingerprint('Error', undefined, 'user 12 not found', root), fingerprint('Error', undefined, 'user 977 not found', root));
  assert.notEqual(fingerprint('Error', undefined, 'user 12 not found', root), fingerprint('Error', undefined, 'order 12 not found', root));
  // otelkit's own directory is never the application's.
  const own = 'Error: x\n    at wrap (/srv/app/dist/otelkit.js:18:1)\n    at f (/srv/app/src/a.js:1:1)';
  assert.equal(fingerprint('Error', own, 'x', root, '/srv/app/dist'), fingerprint('Error', 'Error: x\n    at f (/srv/app/src/a.js:9:9)', 'x', root));
});

test('flood control: budget per group per minute, the left-out count on the next record, bounded memory', () => {
  const f = new FloodControl(2, 3);
  const t0 = 1_000_000;
  assert.equal(f.admit('a', t0), 0);
  assert.equal(f.admit('a', t0 + 1), 0);
  assert.equal(f.admit('a', t0 + 2), -1);
  assert.equal(f.admit('a', t0 + 3), -1);
  assert.equal(f.admit('b', t0 + 4), 0, 'another group, its own budget');
  assert.equal(f.admit('a', t0 + 60_000), 2, 'the next minute: admitted, with the 2 left out');
  assert.equal(f.admit('a', t0 + 60_001), 0);
  // Bounded: past 3 groups, new groups share one bucket.
  f.admit('c', t0 + 60_002);
  f.admit('d', t0 + 60_003);
  f.admit('e', t0 + 60_004);
  assert.ok(f.size <= 4, `size ${f.size}`);
  assert.equal(f.admit(OVERFLOW_BUCKET, t0 + 60_005), -1, 'the shared bucket has used its budget');
  // Expired windows make room again.
  for (let i = 0; i < 100; i++) f.admit(`g${i}`, t0 + 10 * 60_000 + i);
  assert.ok(f.size <= 4);
});

test('koa: errors koa answers with a 5xx are records; 4xx and the app error listener unchanged', async () => {
  const routes = ['/ok', '/boom', '/async', '/missing', '/errors-seen'];
  const plain = launch('errors-koa.cjs', {}, []);
  const plainAnswers = await answers(await plain.port(), routes);
  await plain.stop();
  const app = launch('errors-koa.cjs');
  const got = await answers(await app.port(), routes);
  assert.deepEqual(got, plainAnswers, 'koa answers exactly as without otelkit');
  assert.equal(got['/boom'].status, 500);
  assert.equal(got['/missing'].status, 404);
  assert.equal(got['/errors-seen'].body, '3', "the app's error listener saw all three");
  const rec = shared.rec;
  await rec.waitFor(() => exceptionRecords(rec).length >= 2);
  await new Promise((r) => setTimeout(r, 300));
  const records = exceptionRecords(rec);
  assert.deepEqual(records.map((r) => [r.attributes['url.path'], r.attributes['exception.type'], r.attributes['otelkit.error.source'], r.attributes['http.response.status_code']]).sort(), [
    ['/async', 'TypeError', 'koa', 500],
    ['/boom', 'OrderError', 'koa', 500],
  ]);
  for (const r of records) assert.match(r.traceId, /^[0-9a-f]{32}$/);
});

test('capture in process: the left-out count on the group next record, 100 groups on the counter then _other, never throws', () => {
  const { configureErrorCapture, captureException, resetErrorCapture } = require(path.join(ROOT, 'dist/errors/capture.js'));
  const { createRedactor } = require(path.join(ROOT, 'dist/redact/redactor.js'));
  const records = [];
  const counted = [];
  let now = 5_000_000;
  configureErrorCapture({
    redactor: createRedactor({ enabled: true, extraKeys: [] }),
    meter: { createCounter: () => ({ add: (v, attrs) => counted.push(attrs) }) },
    emit: (r) => records.push(r),
    recordsPerMinute: 2,
    appRoot: ROOT,
    serviceVersion: '9.9.9',
    environment: 'staging',
    now: () => now,
  });
  try {
    const sameSite = () => new TypeError('same site');
    for (let i = 0; i < 5; i++) captureException(sameSite());
    assert.equal(records.length, 2);
    assert.equal(counted.length, 5);
    now += 60_000;
    captureException(sameSite());
    assert.equal(records.length, 3);
    assert.equal(records[2].attributes['otelkit.error.suppressed'], 3);
    assert.equal(records[0].attributes['otelkit.error.suppressed'], undefined);
    assert.equal(records[2].eventName, 'exception');
    assert.equal(records[2].attributes['service.version'], '9.9.9');
    assert.equal(records[2].attributes['deployment.environment.name'], 'staging');
    assert.equal(records[2].attributes['http.route'], undefined, 'outside a request');
    // The same object twice outside requests: one capture.
    const once = new Error('once');
    captureException(once);
    captureException(once);
    assert.equal(counted.length, 7);
    // A thrown string or object: recorded, never thrown back.
    captureException('plain string 42');
    captureException({ weird: true });
    captureException(undefined);
    assert.equal(records.at(-1).attributes['exception.type'], 'Error');
    // 100 distinct groups keep their own series; the rest share _other. Distinct messages
    // without a stack make distinct groups.
    counted.length = 0;
    for (let i = 0; i < 130; i++) captureException(`kind ${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + Math.floor(i / 26))}`);
    const groupsSeen = new Set(counted.map((a) => a['otelkit.error.group']));
    assert.ok(groupsSeen.has('_other'));
    assert.ok(groupsSeen.size <= 101, `${groupsSeen.size} series`);
  } finally {
    resetErrorCapture();
  }
  captureException(new Error('after reset: nothing, no throw'));
  assert.equal(records.filter((r) => r.attributes['exception.message'] === 'after reset: nothing, no throw').length, 0);
});

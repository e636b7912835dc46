// Health registry and handlers: check outcomes, timeouts, shared runs, shutdown, redaction, and
// the handlers mounted on plain http, express and fastify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import express from 'express';
import Fastify from 'fastify';
import { HealthRegistry } from '../dist/health/registry.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Stand-in for the real redactor (src/redact/redactor.ts): strips the password from URL userinfo.
const redactStandIn = (s) => s.replace(/(\/\/[^:/@\s]+):[^@\s]+@/g, '$1:[REDACTED]@');

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

async function serve(registry) {
  const server = http.createServer(registry.handler());
  const base = await listen(server);
  return { base, close: () => new Promise((r) => server.close(r)) };
}

async function get(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch {}
  return { status: res.status, headers: res.headers, text, json };
}

function captureStderr() {
  const original = process.stderr.write;
  const lines = [];
  process.stderr.write = (chunk, ...rest) => {
    lines.push(String(chunk));
    const cb = rest.find((a) => typeof a === 'function');
    if (cb) cb();
    return true;
  };
  return { lines, restore: () => { process.stderr.write = original; } };
}

test('livez answers 200 {"status":"ok"} as uncached JSON, ignoring the query string', async () => {
  const { base, close } = await serve(new HealthRegistry({ timeoutMs: 1000 }));
  try {
    for (const path of ['/livez', '/livez?probe=k8s']) {
      const r = await get(base + path);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { status: 'ok' });
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
    const head = await fetch(`${base}/livez`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  } finally { await close(); }
});

test('readyz with no checks is healthy; with passing checks reports each with a duration', async () => {
  const registry = new HealthRegistry({ timeoutMs: 1000 });
  const { base, close } = await serve(registry);
  try {
    let r = await get(`${base}/readyz`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'healthy', checks: {} });

    registry.addCheck('sync', () => true);
    registry.addCheck('async', async () => { await sleep(20); });
    r = await get(`${base}/readyz?verbose=1`);
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'healthy');
    assert.deepEqual(Object.keys(r.json.checks).sort(), ['async', 'sync']);
    for (const c of Object.values(r.json.checks)) {
      assert.equal(c.status, 'ok');
      assert.equal(typeof c.durationMs, 'number');
      assert.equal('error' in c, false);
    }
    assert.ok(r.json.checks.async.durationMs >= 15, `durationMs ${r.json.checks.async.durationMs}`);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  } finally { await close(); }
});

test('a critical failure is 503 unhealthy with the error; a non-critical one is 200 degraded', async () => {
  const registry = new HealthRegistry({ timeoutMs: 1000 });
  const { base, close } = await serve(registry);
  try {
    registry.addCheck('db', () => true);
    registry.addCheck('cache', async () => { throw new Error('cache is cold'); }, { critical: false });
    let r = await get(`${base}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'degraded');
    assert.equal(r.json.checks.cache.status, 'failed');
    assert.equal(r.json.checks.cache.critical, false);
    assert.equal(r.json.checks.cache.error, 'cache is cold');
    assert.equal(r.json.checks.db.status, 'ok');

    const err = Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' });
    registry.addCheck('db', () => Promise.reject(err));
    r = await get(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(r.json.status, 'unhealthy');
    assert.equal(r.json.checks.db.status, 'failed');
    assert.equal(r.json.checks.db.error, 'connect refused (ECONNREFUSED)');
    assert.equal(r.json.checks.cache.status, 'failed');
  } finally { await close(); }
});

test('a check that throws synchronously, or throws a non-Error, is a failure, not a crash', async () => {
  const registry = new HealthRegistry({ timeoutMs: 1000 });
  registry.addCheck('sync-throw', () => { throw new TypeError('boom'); });
  registry.addCheck('string-throw', () => { throw 'plain string'; });
  registry.addCheck('undefined-reject', () => Promise.reject(undefined));
  registry.addCheck('bad-thenable', () => ({ then() { throw new Error('thenable broke'); } }));
  registry.addCheck('long', () => { throw new Error('x'.repeat(5000)); });
  const report = await registry.check();
  assert.equal(report.status, 'unhealthy');
  assert.deepEqual(report.checks['sync-throw'], { status: 'failed', durationMs: report.checks['sync-throw'].durationMs, critical: true, error: 'boom' });
  assert.equal(report.checks['string-throw'].error, 'plain string');
  assert.equal(report.checks['undefined-reject'].status, 'failed');
  assert.equal(report.checks['bad-thenable'].error, 'thenable broke');
  assert.ok(report.checks.long.error.length <= 300, 'error trimmed to a sane length');
});

test('a slow check times out within its bound; a per-check timeout overrides the default', async () => {
  const registry = new HealthRegistry({ timeoutMs: 150 });
  registry.addCheck('slow', () => sleep(2000));
  registry.addCheck('patient', () => sleep(250), { timeoutMs: 1000 });
  const started = Date.now();
  const report = await registry.check();
  const elapsed = Date.now() - started;
  assert.equal(report.checks.slow.status, 'timeout');
  assert.match(report.checks.slow.error, /timed out after 150ms/);
  assert.ok(report.checks.slow.durationMs >= 140 && report.checks.slow.durationMs < 600, `slow took ${report.checks.slow.durationMs}`);
  assert.equal(report.checks.patient.status, 'ok');
  assert.ok(elapsed < 900, `whole run took ${elapsed}ms`);
  assert.equal(report.status, 'unhealthy');
});

test('a check that never settles is a timeout, and a rejection after the timeout is ignored', async () => {
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const registry = new HealthRegistry({ timeoutMs: 100 });
    registry.addCheck('forever', () => new Promise(() => {}));
    registry.addCheck('late-reject', () => new Promise((_, reject) => setTimeout(() => reject(new Error('too late')), 200)));
    const { base, close } = await serve(registry);
    try {
      const started = Date.now();
      const r = await get(`${base}/readyz`);
      assert.ok(Date.now() - started < 1000);
      assert.equal(r.status, 503);
      assert.equal(r.json.checks.forever.status, 'timeout');
      assert.equal(r.json.checks['late-reject'].status, 'timeout');
      await sleep(300);
      assert.deepEqual(unhandled, []);
    } finally { await close(); }
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a hung check is not called again while its last invocation is still pending', async () => {
  const registry = new HealthRegistry({ timeoutMs: 50 });
  let calls = 0;
  let release;
  registry.addCheck('stuck-db', () => { calls++; return new Promise((resolve) => { release = resolve; }); });
  for (let i = 0; i < 3; i++) {
    const report = await registry.check();
    assert.equal(report.checks['stuck-db'].status, 'timeout');
  }
  assert.equal(calls, 1, 'no pile-up of stuck queries');
  release();
  await sleep(10);
  // The late success is not reported for an old run; the next run calls the check afresh.
  await registry.check();
  assert.equal(calls, 2);
});

test('the timeout timer never holds the process open', () => {
  const healthJs = fileURLToPath(new URL('../dist/health/registry.js', import.meta.url));
  const script = `
    const { HealthRegistry } = require(${JSON.stringify(healthJs)});
    const r = new HealthRegistry({ timeoutMs: 60000 });
    r.addCheck('forever', () => new Promise(() => {}));
    r.check();`;
  const started = Date.now();
  const child = spawnSync(process.execPath, ['-e', script], { timeout: 20000, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.ok(Date.now() - started < 10000, 'process exited without waiting for the 60 s timeout');
});

test('concurrent probes share one run instead of stampeding the dependency', async () => {
  // The check lasts long enough for 20 connections to arrive on a loaded machine (at 100 ms a
  // second run sometimes started before the last probe came in).
  const registry = new HealthRegistry({ timeoutMs: 10_000 });
  let calls = 0;
  registry.addCheck('db', async () => { calls++; await sleep(1500); });
  const { base, close } = await serve(registry);
  try {
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(`${base}/readyz`)));
    assert.ok(answers.every((a) => a.status === 200 && a.json.status === 'healthy'));
    assert.equal(calls, 1);
    const direct = await Promise.all([registry.check(), registry.check()]);
    assert.equal(direct[0], direct[1]);
    assert.equal(calls, 2, 'a run that finished is not reused');
    await get(`${base}/readyz`);
    assert.equal(calls, 3);
  } finally { await close(); }
});

test('markShuttingDown flips readiness to 503 at once; liveness stays 200', async () => {
  const registry = new HealthRegistry({ timeoutMs: 1000 });
  let calls = 0;
  registry.addCheck('db', () => { calls++; });
  const { base, close } = await serve(registry);
  try {
    assert.equal((await get(`${base}/readyz`)).status, 200);
    assert.equal(registry.shuttingDown, false);
    registry.markShuttingDown();
    assert.equal(registry.shuttingDown, true);
    const r = await get(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(r.json.status, 'unhealthy');
    assert.equal(r.json.reason, 'shutting down');
    assert.equal(calls, 1, 'checks are not run once shutting down');
    assert.equal((await get(`${base}/livez`)).status, 200);
  } finally { await close(); }
});

test('a probe already running when shutdown begins answers 503 too', async () => {
  const registry = new HealthRegistry({ timeoutMs: 1000 });
  registry.addCheck('db', () => sleep(100));
  const { base, close } = await serve(registry);
  try {
    const pending = get(`${base}/readyz`);
    await sleep(30);
    registry.markShuttingDown();
    const r = await pending;
    assert.equal(r.status, 503);
    assert.equal(r.json.reason, 'shutting down');
  } finally { await close(); }
});

test('error messages are redacted: with the injected redactor and with the built-in fallback', async () => {
  const secretUrl = 'postgres://app:hunter2-s3cret@db.internal:5432/orders';
  for (const registry of [new HealthRegistry({ timeoutMs: 1000, redact: redactStandIn }), new HealthRegistry({ timeoutMs: 1000 })]) {
    registry.addCheck('db', () => { throw new Error(`could not connect to ${secretUrl}: timeout`); });
    registry.addCheck('dsn', () => { throw new Error('bad dsn host=db user=app password=hunter2-s3cret'); }, { critical: false });
    const { base, close } = await serve(registry);
    try {
      const r = await get(`${base}/readyz`);
      assert.equal(r.status, 503);
      assert.ok(!r.text.includes('hunter2'), r.text);
      // The built-in fallback is the default redactor, which masks the user name too.
      assert.match(r.json.checks.db.error, /^could not connect to postgres:\/\/(app:)?\[REDACTED\]@db\.internal:5432\/orders: timeout$/);
      assert.match(r.json.checks.dsn.error, /password=\[REDACTED\]/);
    } finally { await close(); }
  }
  // A redactor that throws must not leave the message unredacted, nor break the answer.
  const registry = new HealthRegistry({ timeoutMs: 1000, redact: () => { throw new Error('redactor bug'); } });
  registry.addCheck('db', () => { throw new Error(`down: ${secretUrl}`); });
  const report = await registry.check();
  assert.equal(report.checks.db.error, 'down: postgres://[REDACTED]@db.internal:5432/orders');
});

test('addCheck: same name replaces, removeCheck removes, bad arguments warn once and never throw', async () => {
  const registry = new HealthRegistry({ timeoutMs: 1000 });
  registry.addCheck('a', () => { throw new Error('old'); });
  registry.addCheck('a', () => true);
  let report = await registry.check();
  assert.deepEqual(Object.keys(report.checks), ['a']);
  assert.equal(report.checks.a.status, 'ok');
  assert.equal(registry.removeCheck('a'), true);
  assert.equal(registry.removeCheck('a'), false);

  const err = captureStderr();
  try {
    registry.addCheck('', () => true);
    registry.addCheck('nofn', 'not a function');
    registry.addCheck(undefined, undefined);
    registry.addCheck('badtimeout', () => sleep(50), { timeoutMs: -5 });
  } finally { err.restore(); }
  assert.equal(err.lines.length, 4, err.lines.join(''));
  assert.match(err.lines[0], /otelkit: health\.addCheck: the name must be a non-empty string/);
  assert.match(err.lines[1], /health\.addCheck\("nofn"\): the check must be a function/);
  assert.match(err.lines[3], /invalid timeoutMs -5, using 1000/);
  report = await registry.check();
  assert.deepEqual(Object.keys(report.checks), ['badtimeout']);
  assert.equal(report.checks.badtimeout.status, 'ok');
});

test('handler() on a plain http server: health paths answered, anything else 404', async () => {
  const registry = new HealthRegistry({ timeoutMs: 1000 });
  registry.addCheck('db', () => true);
  const { base, close } = await serve(registry);
  try {
    assert.equal((await get(`${base}/readyz`)).json.status, 'healthy');
    const other = await get(`${base}/orders`);
    assert.equal(other.status, 404);
    assert.equal((await get(`${base}/readyz`, { method: 'POST' })).status, 404);
  } finally { await close(); }
});

test('handler() as express middleware: answers health paths, passes the rest to next()', async () => {
  const registry = new HealthRegistry({ timeoutMs: 1000 });
  registry.addCheck('db', () => true);
  registry.addCheck('queue', () => { throw new Error('queue down'); }, { critical: false });
  const app = express();
  app.use(registry.handler());
  app.get('/orders', (_req, res) => res.json({ orders: [] }));
  app.use('/ops', registry.handler());
  const server = http.createServer(app);
  const base = await listen(server);
  try {
    let r = await get(`${base}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'degraded');
    assert.equal(r.json.checks.queue.error, 'queue down');
    assert.deepEqual((await get(`${base}/livez`)).json, { status: 'ok' });
    assert.deepEqual((await get(`${base}/orders`)).json, { orders: [] });
    assert.equal((await get(`${base}/ops/livez`)).status, 200, 'mounted under a prefix');
    assert.equal((await get(`${base}/nowhere`)).status, 404);
    registry.markShuttingDown();
    r = await get(`${base}/readyz`);
    assert.equal(r.status, 503);
  } finally { await new Promise((resolve) => server.close(resolve)); }
});

test('fastifyPlugin() registers GET /livez and /readyz on the root instance', async () => {
  const registry = new HealthRegistry({ timeoutMs: 100 });
  registry.addCheck('db', () => true);
  const app = Fastify();
  const plugin = registry.fastifyPlugin();
  // Without skip-override fastify would run the plugin in an encapsulated child context.
  assert.equal(plugin[Symbol.for('skip-override')], true);
  await app.register(plugin);
  app.get('/orders', async () => ({ orders: [] }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    let r = await get(`${base}/livez`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
    assert.equal(r.headers.get('cache-control'), 'no-store');
    r = await get(`${base}/readyz?x=1`);
    assert.equal(r.status, 200);
    assert.equal(r.json.checks.db.status, 'ok');
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual((await get(`${base}/orders`)).json, { orders: [] });

    registry.addCheck('hang', () => new Promise(() => {}));
    r = await get(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(r.json.checks.hang.status, 'timeout');

    registry.removeCheck('hang');
    registry.markShuttingDown();
    r = await get(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(r.json.reason, 'shutting down');
  } finally { await app.close(); }
});

test('fastifyPlugin() registered twice warns instead of failing the boot', async () => {
  const registry = new HealthRegistry({ timeoutMs: 1000 });
  const app = Fastify();
  const err = captureStderr();
  try {
    await app.register(registry.fastifyPlugin());
    await app.register(registry.fastifyPlugin());
    await app.ready();
  } finally { err.restore(); }
  assert.ok(err.lines.some((l) => /could not register fastify routes/.test(l)), err.lines.join(''));
  const r = await app.inject({ method: 'GET', url: '/livez' });
  assert.equal(r.statusCode, 200);
  await app.close();
});

test('an invalid registry timeout falls back to 2000 with a warning', async () => {
  const err = captureStderr();
  let registry;
  try { registry = new HealthRegistry({ timeoutMs: Number.NaN }); } finally { err.restore(); }
  assert.match(err.lines.join(''), /invalid timeoutMs NaN, using 2000/);
  registry.addCheck('ok', () => true);
  assert.equal((await registry.check()).status, 'healthy');
});

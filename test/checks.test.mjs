// Ready-made checks against REAL PostgreSQL and Redis servers (started from Debian's packages by
// test/support/services.mjs) and an HTTP dependency served in-test. A missing server binary
// fails these tests with the package to install; nothing is skipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import pg from 'pg';
import { createClient } from 'redis';
import Redis from 'ioredis';
import { HealthRegistry } from '../dist/health/registry.js';
import { checks } from '../dist/health/checks.js';
import { startPostgres, startRedis } from './support/services.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const redactStandIn = (s) => s.replace(/(\/\/[^:/@\s]*):[^@\s]+@/g, '$1:[REDACTED]@');
const cleanups = [];

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }));
  return `http://127.0.0.1:${server.address().port}`;
}

/** The admin-port side: a registry served on a plain http server, probed over HTTP. */
async function serveRegistry(registry) {
  const base = await listen(http.createServer(registry.handler()));
  return async () => {
    const res = await fetch(`${base}/readyz`);
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) };
  };
}

/** The dependency: /ok 200, /down 503, /slow never answers, /auth wants basic credentials. */
async function startDependency() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    if (req.url === '/ok') return res.end('fine');
    if (req.url === '/down') { res.statusCode = 503; return res.end('maintenance'); }
    if (req.url === '/created') { res.statusCode = 201; return res.end(); }
    if (req.url === '/auth') {
      res.statusCode = req.headers.authorization === `Basic ${Buffer.from('svc:p@ss w0rd').toString('base64')}` ? 200 : 401;
      return res.end();
    }
    if (req.url === '/slow') return; // never answers
    res.statusCode = 404;
    res.end();
  });
  const base = await listen(server);
  return { base, seen };
}

function nodeRedisClient(url) {
  // No reconnect back-off: a stopped server must make the client "not ready" quickly.
  const client = createClient({ url, socket: { reconnectStrategy: () => 100, connectTimeout: 1000 } });
  client.on('error', () => {});
  cleanups.push(async () => { try { client.destroy(); } catch {} });
  return client;
}

function ioredisClient(url, opts = {}) {
  const client = new Redis(url, { retryStrategy: () => 100, maxRetriesPerRequest: 1, ...opts });
  client.on('error', () => {});
  cleanups.push(async () => { client.disconnect(); });
  return client;
}

function pgPool(url) {
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 1000, max: 2 });
  pool.on('error', () => {});
  cleanups.push(() => pool.end().catch(() => {}));
  return pool;
}

let pgServer;
let redisServer;
let dependency;

before(async () => {
  [pgServer, redisServer, dependency] = await Promise.all([startPostgres(), startRedis(), startDependency()]);
});

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await Promise.all([pgServer?.stop(), redisServer?.stop()]);
});

test('healthy: real PostgreSQL (Pool and Client), real Redis (node-redis and ioredis), an HTTP dependency', async () => {
  assert.match(pgServer.url, /^postgres:\/\/otelkit:[^@]+@127\.0\.0\.1:\d+\/postgres$/);
  const pool = pgPool(pgServer.url);
  const client = new pg.Client({ connectionString: pgServer.url });
  await client.connect();
  cleanups.push(() => client.end().catch(() => {}));
  const nodeRedis = nodeRedisClient(redisServer.url);
  await nodeRedis.connect();
  const ioredis = ioredisClient(redisServer.url);

  const registry = new HealthRegistry({ timeoutMs: 2000, redact: redactStandIn });
  registry.addCheck('postgres', checks.postgres(pool));
  registry.addCheck('postgres-client', checks.postgres(client));
  registry.addCheck('redis', checks.redis(nodeRedis));
  registry.addCheck('ioredis', checks.redis(ioredis));
  registry.addCheck('payments', checks.http(`${dependency.base}/ok`, { expectStatus: 200 }));
  const probe = await serveRegistry(registry);
  const r = await probe();
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'healthy');
  assert.deepEqual(Object.keys(r.json.checks).sort(), ['ioredis', 'payments', 'postgres', 'postgres-client', 'redis']);
  for (const [name, c] of Object.entries(r.json.checks)) {
    assert.equal(c.status, 'ok', `${name}: ${c.error}`);
    assert.equal(typeof c.durationMs, 'number');
  }
});

test('redis check does a real set/get round trip with a short TTL (node-redis and ioredis)', async () => {
  const nodeRedis = nodeRedisClient(redisServer.url);
  await nodeRedis.connect();
  const ioredis = ioredisClient(redisServer.url);
  for (const [driver, client] of [['node-redis', nodeRedis], ['ioredis', ioredis]]) {
    const key = `otelkit-test:${driver}`;
    const check = checks.redis(client, { key });
    await check();
    const first = await nodeRedis.get(key);
    assert.match(first, /^[0-9a-f]{16}$/, driver);
    const ttl = await nodeRedis.ttl(key);
    assert.ok(ttl > 0 && ttl <= 10, `${driver} ttl ${ttl}`);
    await check();
    assert.notEqual(await nodeRedis.get(key), first, `${driver}: a fresh random value each run`);
  }
  // Default key: random per check, so instances sharing a Redis never read each other's value.
  const before = await nodeRedis.keys('otelkit:health:*');
  await checks.redis(ioredis)();
  await checks.redis(nodeRedis)();
  const afterKeys = await nodeRedis.keys('otelkit:health:*');
  assert.equal(afterKeys.length - before.length, 2);
});

test('redis check fails when the value read back differs or PING is not PONG (duck-typed clients)', async () => {
  const store = new Map();
  const liar = { status: 'ready', ping: async () => 'PONG', set: async (k, v) => { store.set(k, v); return 'OK'; }, get: async () => 'something else' };
  await assert.rejects(checks.redis(liar)(), /different value/);
  const honestIoredisStyle = { status: 'ready', ping: async () => 'PONG', set: async (k, v, ex, ttl) => { assert.equal(ex, 'EX'); assert.equal(ttl, 10); store.set(k, v); return 'OK'; }, get: async (k) => store.get(k) };
  await checks.redis(honestIoredisStyle)();
  const nodeRedisStyle = { isOpen: true, isReady: true, ping: async () => 'PONG', set: async (k, v, o) => { assert.deepEqual(o, { EX: 10 }); store.set(k, v); return 'OK'; }, get: async (k) => store.get(k) };
  await checks.redis(nodeRedisStyle)();
  await assert.rejects(checks.redis({ ...honestIoredisStyle, ping: async () => 'NOPE' })(), /PING answered "NOPE"/);
  await assert.rejects(checks.redis({})(), /expected a node-redis or ioredis client/);
  await assert.rejects(Promise.resolve().then(checks.postgres(null)), /expected a pg Pool or Client/);
});

test('http check: expected status, status lists, default 2xx, method and credentials from the URL', async () => {
  await checks.http(`${dependency.base}/ok`)();
  await checks.http(`${dependency.base}/created`, { expectStatus: [200, 201] })();
  await assert.rejects(checks.http(`${dependency.base}/down`, { expectStatus: 200 })(), { message: 'expected 200, got 503' });
  await assert.rejects(checks.http(`${dependency.base}/down`)(), { message: 'expected 2xx, got 503' });
  await assert.rejects(checks.http(`${dependency.base}/ok`, { expectStatus: [204, 201] })(), { message: 'expected 204 or 201, got 200' });
  await checks.http(`${dependency.base}/down`, { expectStatus: 503, method: 'HEAD', headers: { 'x-probe': '1' } })();
  assert.equal(dependency.seen.at(-1).method, 'HEAD');

  const withCreds = dependency.base.replace('http://', 'http://svc:p%40ss%20w0rd@');
  await checks.http(`${withCreds}/auth`)();
  await assert.rejects(checks.http('not a url')(), /invalid URL/);
});

test('http check: a dependency that never answers is bounded by the check timeout', async () => {
  const registry = new HealthRegistry({ timeoutMs: 300 });
  registry.addCheck('slow-dep', checks.http(`${dependency.base}/slow`, { timeoutMs: 5000 }));
  registry.addCheck('own-timeout', checks.http(`${dependency.base}/slow`, { timeoutMs: 100 }), { timeoutMs: 2000 });
  const started = Date.now();
  const report = await registry.check();
  assert.ok(Date.now() - started < 1500, `took ${Date.now() - started}ms`);
  assert.equal(report.checks['slow-dep'].status, 'timeout');
  assert.equal(report.checks['own-timeout'].status, 'failed');
  assert.match(report.checks['own-timeout'].error, /timeout|aborted/i);
});

test('PostgreSQL down: 503, the postgres check failing with ECONNREFUSED, the password never shown', async () => {
  const server = await startPostgres();
  let stopped = false;
  try {
    const pool = pgPool(server.url);
    const registry = new HealthRegistry({ timeoutMs: 3000, redact: redactStandIn });
    registry.addCheck('postgres', checks.postgres(pool));
    // Applications often wrap driver errors with the connection string: it must not leak.
    registry.addCheck('orders-db', async () => {
      try { await pool.query('SELECT 1'); } catch (err) { throw new Error(`query on ${server.url} failed: ${err.message}`); }
    });
    const probe = await serveRegistry(registry);
    assert.equal((await probe()).status, 200);

    await server.stop();
    stopped = true;
    const r = await probe();
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.status, 'unhealthy');
    assert.equal(r.json.checks.postgres.status, 'failed');
    assert.match(r.json.checks.postgres.error, /ECONNREFUSED/);
    assert.match(r.json.checks['orders-db'].error, /^query on postgres:\/\/otelkit:\[REDACTED\]@127\.0\.0\.1:\d+\/postgres failed: .*ECONNREFUSED/);
    assert.ok(!r.text.includes(server.password), 'password must not appear in the answer');
  } finally {
    if (!stopped) await server.stop();
  }
});

test('PostgreSQL wrong password: the check fails with the server\'s authentication error', async () => {
  const url = pgServer.url.replace(`:${pgServer.password}@`, ':wrong-password@');
  const pool = pgPool(url);
  const registry = new HealthRegistry({ timeoutMs: 3000 });
  registry.addCheck('postgres', checks.postgres(pool));
  const report = await registry.check();
  assert.equal(report.status, 'unhealthy');
  assert.match(report.checks.postgres.error, /password authentication failed/);
  assert.equal(report.checks.postgres.error.includes('wrong-password'), false);
});

test('Redis down: 503 with both redis checks failing; as a non-critical check: 200 degraded', async () => {
  const server = await startRedis();
  let stopped = false;
  try {
    const nodeRedis = nodeRedisClient(server.url);
    await nodeRedis.connect();
    const ioredis = ioredisClient(server.url);
    await ioredis.ping();
    const registry = new HealthRegistry({ timeoutMs: 1500 });
    registry.addCheck('redis', checks.redis(nodeRedis));
    registry.addCheck('ioredis', checks.redis(ioredis));
    registry.addCheck('postgres', checks.postgres(pgPool(pgServer.url)));
    const probe = await serveRegistry(registry);
    assert.equal((await probe()).status, 200);

    await server.stop();
    stopped = true;
    await sleep(300); // let both clients notice the closed connection
    let r = await probe();
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.checks.postgres.status, 'ok');
    for (const name of ['redis', 'ioredis']) {
      assert.equal(r.json.checks[name].status, 'failed', `${name}: ${JSON.stringify(r.json.checks[name])}`);
      assert.match(r.json.checks[name].error, /not ready|ECONNREFUSED|closed|retries/i);
      assert.ok(r.json.checks[name].durationMs < 500, 'fails fast instead of queueing until the timeout');
    }

    registry.addCheck('redis', checks.redis(nodeRedis), { critical: false });
    registry.addCheck('ioredis', checks.redis(ioredis), { critical: false });
    r = await probe();
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'degraded');
    assert.equal(r.json.checks.redis.critical, false);
  } finally {
    if (!stopped) await server.stop();
  }
});

test('Redis never connected: a node-redis client that was never opened fails with a clear error', async () => {
  const client = createClient({ url: redisServer.url });
  client.on('error', () => {});
  await assert.rejects(checks.redis(client)(), /closed/i);
  // ioredis with lazyConnect connects on the first command: the check does that.
  const lazy = ioredisClient(redisServer.url, { lazyConnect: true });
  assert.equal(lazy.status, 'wait');
  await checks.redis(lazy)();
});

test('HTTP dependency down: 503 with the http check failing with ECONNREFUSED', async () => {
  const server = http.createServer((_req, res) => res.end());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/health`;
  const registry = new HealthRegistry({ timeoutMs: 2000 });
  registry.addCheck('inventory', checks.http(url, { expectStatus: 200 }));
  const probe = await serveRegistry(registry);
  assert.equal((await probe()).status, 200);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  const r = await probe();
  assert.equal(r.status, 503, r.text);
  assert.equal(r.json.checks.inventory.status, 'failed');
  assert.match(r.json.checks.inventory.error, /ECONNREFUSED/);
});

test('support: a missing server binary is an error naming the Debian package, never a skip', async () => {
  await assert.rejects(startPostgres({ pgRoot: '/nonexistent/postgresql' }), /install the Debian package "postgresql"/);
  await assert.rejects(startRedis({ bin: '/nonexistent/redis-server' }), /install the Debian package "redis-server"/);
});

test('support: kill() ends a server abruptly and removes its data directory', async () => {
  const { existsSync } = await import('node:fs');
  const server = await startRedis({ password: 'pw-redis' });
  assert.match(server.url, /^redis:\/\/:pw-redis@127\.0\.0\.1:\d+$/);
  const client = ioredisClient(server.url);
  assert.equal(await client.ping(), 'PONG');
  await server.kill();
  assert.equal(existsSync(server.dataDir), false);
});

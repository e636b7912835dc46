// The framework matrix: for each framework a small real application (the framework installed as a
// dev dependency: fastify 4 and 5, express 4 and 5), run under the preload as CommonJS and as an
// ES module, in development and in production. Each request's spans, the duration metric and the
// application's log are checked: route-named server spans, the route label, the failure on the
// span, the log under the request's trace, no layer span twice. A second part checks that the
// preload leaves fastify's responses exactly as they are without it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { receiverPerFile } from './support/receiver-per-file.mjs';
import { startApp, ROOT, FIXTURES } from './support/app.mjs';

const shared = receiverPerFile();
const { apps } = shared;
const APPS = path.join(FIXTURES, 'frameworks');

// Copies of frameworks live in a directory of this process's own: the Node lines run in parallel.
const RUN_DIR = path.join(ROOT, '.tmp', `frameworks-${process.pid}`);

/**
 * A second major of a framework is the dev dependency `<alias>` (an npm alias). It must load under
 * its own name for the instrumentation to see it (require-in-the-middle names a module by its
 * directory): the application's entry files and the module they share are copied to RUN_DIR, and
 * the alias to node_modules/<name> beside them. Its own dependencies come along (npm's nested
 * node_modules), the rest resolve from the repository's.
 */
function installAs(alias, name, dir) {
  fs.cpSync(path.join(APPS, dir), path.join(RUN_DIR, dir), { recursive: true });
  fs.cpSync(path.join(ROOT, 'node_modules', alias), path.join(RUN_DIR, dir, 'node_modules', name), { recursive: true, dereference: true });
}

const appDir = (f) => path.join(f.alias ? RUN_DIR : APPS, f.dir);

after(() => fs.rmSync(RUN_DIR, { recursive: true, force: true }));

// [method, path, headers, expected status, expected route (undefined: none)]
const REQUESTS = [
  ['GET', '/items/42', {}, 200, '/items/:id'],
  ['POST', '/items', { 'content-type': 'application/json' }, 201, '/items'],
  ['GET', '/boom', {}, 500, '/boom'],
  ['GET', '/boom-sync', {}, 500, '/boom-sync'],
  ['GET', '/v1/users/ann', { authorization: 'yes' }, 200, '/v1/users/:name'],
  ['GET', '/missing', {}, 404, undefined],
];
// fastify: a request its own onRequest hook answers keeps its route (otelkit's hook runs first).
const FASTIFY_REQUESTS = [...REQUESTS, ['GET', '/v1/users/bob', {}, 401, '/v1/users/:name']];
// express: the answering middleware is mounted at /v1, the route so far.
const EXPRESS_REQUESTS = [...REQUESTS, ['GET', '/v1/users/bob', {}, 401, '/v1']];
const NEST_REQUESTS = [
  ['GET', '/items/42', {}, 200, '/items/:id'],
  ['POST', '/items', { 'content-type': 'application/json' }, 201, '/items'],
  ['GET', '/items/boom/now', {}, 500, '/items/boom/now'],
  ['GET', '/missing', {}, 404, undefined],
];
const HAPI_REQUESTS = [
  ['GET', '/items/42', {}, 200, '/items/{id}'],
  ['POST', '/items', { 'content-type': 'application/json' }, 201, '/items'],
  ['GET', '/boom', {}, 500, '/boom'],
  ['GET', '/missing', {}, 404, undefined],
];

const KOA_REQUESTS = [
  ['GET', '/items/42', {}, 200, '/items/:id'],
  ['POST', '/items', { 'content-type': 'application/json' }, 201, '/items'],
  ['GET', '/boom', {}, 500, '/boom'],
  ['GET', '/missing', {}, 404, undefined],
];

// layerSpans: express and fastify spans per layer in development only (otelkit's rule); NestJS
// and hapi keep their upstream instrumentations' spans in every environment.
const FRAMEWORKS = [
  { dir: 'fastify5', kind: 'fastify', major: 5, requests: FASTIFY_REQUESTS, errorSource: 'fastify', layerSpans: 'development' },
  { dir: 'fastify4', kind: 'fastify', major: 4, alias: ['fastify4', 'fastify'], requests: FASTIFY_REQUESTS, errorSource: 'fastify', layerSpans: 'development' },
  { dir: 'express4', kind: 'express', major: 4, requests: EXPRESS_REQUESTS, errorSource: 'express', layerSpans: 'development' },
  { dir: 'express5', kind: 'express', major: 5, alias: ['express5', 'express'], requests: EXPRESS_REQUESTS, errorSource: 'express', layerSpans: 'development' },
  { dir: 'nest', label: 'nest-express', kind: '@nestjs/core', major: 11, env: { NEST_ADAPTER: 'express' }, requests: NEST_REQUESTS, layerSpans: 'always' },
  { dir: 'nest', label: 'nest-fastify', kind: '@nestjs/core', major: 11, env: { NEST_ADAPTER: 'fastify' }, requests: NEST_REQUESTS, layerSpans: 'always' },
  { dir: 'hapi', kind: '@hapi/hapi', major: 21, requests: HAPI_REQUESTS, layerSpans: 'always' },
  { dir: 'koa', kind: 'koa', major: 2, requests: KOA_REQUESTS, errorSource: 'koa', layerSpans: 'always' },
];

before(() => {
  fs.rmSync(RUN_DIR, { recursive: true, force: true });
  fs.mkdirSync(RUN_DIR, { recursive: true });
  for (const shared of ['fastify-routes.cjs', 'express-routes.cjs', 'path-loaded.cjs']) fs.copyFileSync(path.join(APPS, shared), path.join(RUN_DIR, shared));
  for (const f of FRAMEWORKS) if (f.alias) installAs(f.alias[0], f.alias[1], f.dir);
  // The version each application really loads, so that a wrong copy fails here.
  for (const f of FRAMEWORKS) {
    const pkg = f.alias ? path.join(RUN_DIR, f.dir, 'node_modules', f.alias[1], 'package.json') : path.join(ROOT, 'node_modules', f.kind, 'package.json');
    assert.equal(Number(JSON.parse(fs.readFileSync(pkg, 'utf8')).version.split('.')[0]), f.major, `${f.dir} loads ${f.kind} ${f.major}`);
  }
});


const traceparent = (traceId) => `00-${traceId}-${crypto.randomBytes(8).toString('hex')}-01`;

async function drive(port, requests) {
  const out = [];
  for (const [method, p, headers, status, route] of requests) {
    const traceId = crypto.randomBytes(16).toString('hex');
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method,
      headers: { traceparent: traceparent(traceId), ...headers },
      body: method === 'POST' ? JSON.stringify({ n: 1 }) : undefined,
    });
    await res.text();
    out.push({ key: `${method} ${p}`, method, traceId, status: res.status, expectedStatus: status, route });
  }
  return out;
}

const serverSpan = (rec, traceId) => rec.spans.find((s) => s.traceId === traceId && s.kind === 2);

for (const f of FRAMEWORKS) {
  for (const module of ['cjs', 'mjs']) {
    for (const environment of ['development', 'production']) {
      test(`${f.label ?? f.dir} ${module === 'cjs' ? 'CommonJS' : 'ES module'} ${environment}: route-named spans and metric, failures on the span, logs in the trace`, async () => {
        const rec = shared.rec;
        const service = `${f.label ?? f.dir}-${module}-${environment}`;
        const app = startApp(path.join(appDir(f), `app.${module}`), {
          env: {
            OTEL_EXPORTER_OTLP_ENDPOINT: rec.url,
            OTEL_SERVICE_NAME: service,
            OTELKIT_ENVIRONMENT: environment,
            OTEL_BSP_SCHEDULE_DELAY: '50',
            OTEL_BLRP_SCHEDULE_DELAY: '50',
            OTEL_METRICS_EXPORTER: 'otlp',
            OTEL_METRIC_EXPORT_INTERVAL: '200',
            ...f.env,
          },
        });
        apps.push(app);
        const done = await drive(await app.port(), f.requests);
        await rec.waitFor(() => done.every((d) => serverSpan(rec, d.traceId)) || null, { timeoutMs: 20000 });
        await new Promise((r) => setTimeout(r, 300));

        for (const d of done) {
          assert.equal(d.status, d.expectedStatus, `${d.key}: status`);
          const span = serverSpan(rec, d.traceId);
          assert.equal(span.attributes['http.route'], d.route, `${d.key}: http.route`);
          assert.equal(span.name, d.route ? `${d.method} ${d.route}` : d.method, `${d.key}: span name`);
          assert.equal(span.attributes['http.response.status_code'], d.status, `${d.key}: status attribute`);
          if (d.status >= 500) {
            assert.equal(span.status.code, 2, `${d.key}: server span status ERROR`);
            const trace = rec.spans.filter((s) => s.traceId === d.traceId);
            const event = trace.flatMap((s) => s.events).find((e) => e.name === 'exception');
            if (f.errorSource) {
              // Error tracking (errors/capture.ts): one exception record under the request's trace.
              const record = await rec.waitFor(() => rec.logs.find((l) => l.eventName === 'exception' && l.traceId === d.traceId), { timeoutMs: 10000 });
              assert.equal(record.attributes['otelkit.error.source'], f.errorSource, `${d.key}: error source`);
              assert.match(String(record.attributes['exception.message']), /boom in handler|sent as an error/);
              assert.equal(record.attributes['http.route'], d.route, `${d.key}: the record's route`);
              assert.match(String(span.status.message), /boom in handler|sent as an error/, `${d.key}: status message`);
            }
            // express records the exception on its layer spans (development only), NestJS and hapi
            // on their instrumentations' spans.
            if (f.kind !== 'fastify' && (f.kind !== 'express' || environment === 'development')) {
              assert.ok(event, `${d.key}: an exception event in the trace`);
              assert.match(String(event.attributes['exception.message']), /boom in handler|sent as an error/);
            }
          }
        }

        // Layer spans: in development only, and never one layer traced twice (express 5's router
        // is also the router instrumentation's target).
        const traced = rec.spans.filter((s) => s.resource['service.name'] === service);
        assert.deepEqual(traced.filter((s) => s.scope.name === '@opentelemetry/instrumentation-router').map((s) => s.name), [], 'no router instrumentation spans');
        for (const d of done) {
          const trace = traced.filter((s) => s.traceId === d.traceId && s.kind !== 2);
          // One layer traced twice shows as a span of the same name from another scope, or as
          // a span wrapped in one of its own name.
          const byId = new Map(trace.map((s) => [s.spanId, s]));
          for (const s of trace) {
            const other = trace.find((o) => o !== s && o.name === s.name && (o.scope.name !== s.scope.name || byId.get(s.parentSpanId) === o));
            assert.equal(other, undefined, `${d.key}: ${s.name} traced twice (${s.scope.name}, ${other?.scope.name})`);
          }
          if (environment === 'production' && f.layerSpans === 'development') assert.deepEqual(trace.map((s) => s.name), [], `${d.key}: no layer spans in production`);
        }
        if (environment === 'development' && f.kind === 'express') {
          const names = traced.filter((s) => s.traceId === done[0].traceId && s.kind !== 2).map((s) => s.name);
          assert.ok(names.includes('request handler - /items/:id'), `express layer spans in development: ${names.join(', ')}`);
        }

        // The duration metric: one series per route, the route as a label.
        const point = await rec.waitFor(() => rec.metrics
          .filter((m) => m.name === 'http.server.request.duration' && m.resource['service.name'] === service)
          .flatMap((m) => m.dataPoints)
          .find((p) => p.attributes['http.route'] === f.requests[0][4] && p.attributes['http.response.status_code'] === 200 && p.count >= 1), { timeoutMs: 10000 });
        assert.equal(point.attributes['http.request.method'], 'GET');

        // The handler's log record belongs to its request's trace.
        const log = await rec.waitFor(() => rec.logs.find((l) => l.body === 'item read' && l.resource['service.name'] === service), { timeoutMs: 10000 });
        assert.equal(log.traceId, done[0].traceId);
        assert.equal(log.spanId.length, 16);
      });
    }
  }
}

// Requests whose answers fastify itself decides: validation, a hook's early reply, a bad body,
// its error handler, its 404, HEAD.
const IDENTITY_REQUESTS = [
  ['GET', '/items/7', {}],
  ['HEAD', '/items/7', {}],
  ['POST', '/items', { 'content-type': 'application/json' }, '{"n":1}'],
  ['POST', '/items', { 'content-type': 'application/json' }, '{"n":'],
  ['POST', '/items', { 'content-type': 'text/unknown' }, 'x'],
  ['GET', '/typed/12', {}],
  ['GET', '/typed/twelve', {}],
  ['GET', '/boom', {}],
  ['GET', '/boom-sync', {}],
  ['GET', '/v1/users/ann', { authorization: 'yes' }],
  ['GET', '/v1/users/ann', {}],
  ['GET', '/missing', {}],
  ['DELETE', '/items/7', {}],
];

async function answers(port) {
  const out = [];
  for (const [method, p, headers, body] of IDENTITY_REQUESTS) {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, { method, headers, body });
    const h = Object.fromEntries([...res.headers].filter(([k]) => k !== 'date'));
    out.push({ request: `${method} ${p}`, status: res.status, headers: h, body: await res.text() });
  }
  return out;
}

for (const f of FRAMEWORKS.filter((x) => x.kind === 'fastify')) {
  for (const environment of ['development', 'production']) {
    test(`${f.dir} ${environment}: responses identical with and without the preload`, async () => {
      const file = path.join(appDir(f), 'app.cjs');
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: shared.rec.url, OTELKIT_ENVIRONMENT: environment, OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '50' };
      const plain = startApp(file, { preload: [], env });
      const traced = startApp(file, { env });
      apps.push(plain, traced);
      const [plainPort, tracedPort] = await Promise.all([plain.port(), traced.port()]);
      const expected = await answers(plainPort);
      const actual = await answers(tracedPort);
      assert.deepEqual(actual, expected);
      // The preload did run: the requests were traced.
      await shared.rec.waitFor(() => shared.rec.spans.some((s) => s.name === 'GET /typed/:n') || null, { timeoutMs: 10000 });
      assert.deepEqual(new Set(expected.map((a) => a.status)), new Set([200, 201, 400, 401, 404, 415, 500]));
    });
  }
}

test('frameworks loaded by file path: express through require.resolve, a vendored fastify', async () => {
  // A vendored copy: outside any node_modules, loaded by a relative path.
  fs.cpSync(path.join(ROOT, 'node_modules/fastify'), path.join(RUN_DIR, 'vendor', 'fastify'), { recursive: true, dereference: true });
  const rec = shared.rec;
  const app = startApp(path.join(RUN_DIR, 'path-loaded.cjs'), {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: rec.url, OTELKIT_ENVIRONMENT: 'development', OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_METRICS_EXPORTER: 'none' },
  });
  apps.push(app);
  const expressPort = await app.port();
  const fastifyPort = Number((await app.waitFor(/fastify (\d+)/))[1]);
  assert.equal((await fetch(`http://127.0.0.1:${expressPort}/orders/3`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${fastifyPort}/carts/4`)).status, 200);
  const names = () => rec.spans.filter((s) => s.kind === 2).map((s) => s.name);
  await rec.waitFor(() => (names().length >= 2 ? true : null), { timeoutMs: 10000 });
  assert.deepEqual(names().sort(), ['GET /carts/:id', 'GET /orders/:id']);
  // express's own instrumentation patched the path-loaded copy: its layer spans are there.
  await rec.waitFor(() => rec.spans.find((s) => s.name === 'request handler - /orders/:id'), { timeoutMs: 10000 });
});

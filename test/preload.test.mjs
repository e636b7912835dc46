// The preload end to end: fixture apps under `--import otelkit/register` (and `--require`)
// against an in-process OTLP receiver that decodes what the SDK really sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';
import { receiverPerFile } from './support/receiver-per-file.mjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startApp, get, freePort, ROOT, FIXTURES } from './support/app.mjs';
import { supportsSyncHooks } from 'import-in-the-middle/supports-sync-hooks.mjs';

const shared = receiverPerFile();
const { apps } = shared;

function launch(script, env = {}, opts = {}) {
  const app = startApp(script, {
    ...opts,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: shared.rec.url,
      OTELKIT_ENVIRONMENT: 'development',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_BLRP_SCHEDULE_DELAY: '50',
      ...env,
    },
  });
  apps.push(app);
  return app;
}

const serverSpans = (name) => shared.rec.spans.filter((s) => s.kind === 2 && (!name || s.name === name));

for (const [label, script, preload] of [
  ['CommonJS express under --import', 'express-app.js', ['--import', 'otelkit/register']],
  ['ESM express under --import', 'express-app.mjs', ['--import', 'otelkit/register']],
  ['CommonJS express under --require', 'express-app.js', ['--require', 'otelkit/register']],
]) {
  test(`${label}: server span named by route, stable HTTP attributes, resource`, async () => {
    const app = launch(script, {}, { preload });
    const port = await app.port();
    const res = await get(port, '/orders/42');
    assert.equal(res.status, 200);
    const [span] = await shared.rec.waitFor(() => {
      const s = serverSpans('GET /orders/:id');
      return s.length ? s : null;
    });
    assert.equal(span.attributes['http.request.method'], 'GET');
    assert.equal(span.attributes['http.route'], '/orders/:id');
    assert.equal(span.attributes['http.response.status_code'], 200);
    assert.equal(span.attributes['url.path'], '/orders/42');
    assert.equal(span.attributes['url.scheme'], 'http');
    assert.equal(span.attributes['http.method'], undefined, 'old semantic conventions are not emitted');
    // service.name and version come from the app's package.json when OTEL_SERVICE_NAME is unset
    assert.equal(span.resource['service.name'], 'fixture-app');
    assert.equal(span.resource['service.version'], '1.2.3');
    assert.equal(span.resource['deployment.environment.name'], 'development');
    assert.equal(span.resource['telemetry.distro.name'], 'otelkit');
    assert.ok(span.resource['host.name'], 'host detector ran');
    assert.match(span.resource['host.arch'], /^(amd64|arm64|arm32|ppc32|ppc64|s390x|x86|ia32|mips\w*|riscv64|loong64)$/);
    assert.ok(span.resource['process.pid'], 'process detector ran');
    assert.ok(span.resource['service.instance.id'], 'service instance id set');
    assert.equal(shared.rec.requests.find((r) => r.signal === 'traces').contentType, 'application/x-protobuf', 'http/protobuf is the default');
  });
}

const startLine = async (app) => {
  await app.waitFor(/otelkit started/, { stream: 'stderr' });
  return app.diagLines().find((l) => l.msg === 'otelkit started');
};

test('ESM app with CommonJS packages: no loader thread; a built-in named import and a replaced export are instrumented', async () => {
  const app = launch('express-app.mjs');
  const port = await app.port();
  // Every instrumented package installed here loads as CommonJS, so the bridge is enough.
  assert.equal((await startLine(app)).esm_hooks, 'bridge');
  const res = await get(port, '/call/9');
  assert.deepEqual(JSON.parse(res.text), { called: 200 });
  const spans = await shared.rec.waitFor(() => {
    const outer = serverSpans('GET /call/:id')[0];
    const s = outer && shared.rec.spans.filter((x) => x.traceId === outer.traceId);
    return s?.length >= 3 ? s : null;
  });
  const outer = spans.find((s) => s.kind === 2 && s.name === 'GET /call/:id');
  const client = spans.find((s) => s.kind === 3);
  const inner = spans.find((s) => s.kind === 2 && s.name === 'GET /orders/:id');
  assert.ok(client, 'import { get } from "node:http" makes a client span in the request\'s trace');
  assert.equal(inner.parentSpanId, client.spanId, 'and propagates the context');
  // pino's instrumentation returns a new pino function; the ESM default import must be that one.
  const line = (await app.waitFor(/\{[^\n]*"calling orders"[^\n]*\}/))[0];
  assert.equal(JSON.parse(line).trace_id, outer.traceId, 'pino record correlated with the request');
});

test('ESM app on node:http alone: the first outgoing request is instrumented, once', async () => {
  const app = launch('http-client.mjs');
  const port = await app.port();
  assert.equal((await startLine(app)).esm_hooks, 'bridge');
  assert.equal(JSON.parse((await get(port, '/call')).text).called, 200);
  const spans = await shared.rec.waitFor(() => {
    const s = shared.rec.spans.filter((x) => x.attributes['url.path'] === '/inner' || x.kind === 3);
    return s.length >= 2 ? s : null;
  });
  await new Promise((r) => setTimeout(r, 200));
  const clients = shared.rec.spans.filter((x) => x.kind === 3);
  assert.equal(clients.length, 1, `one client span: ${clients.map((c) => c.name)}`);
  const inner = spans.find((x) => x.kind === 2 && x.attributes['url.path'] === '/inner');
  assert.equal(inner.parentSpanId, clients[0].spanId, 'the outgoing request carried the context');
});

for (const [mode, how] of [
  ['builtin', 'asked of process.getBuiltinModule'],
  ['late', 'imported after the instrumentation is on'],
]) {
  test(`ESM app: node:https ${how} is instrumented`, async () => {
    const app = launch('https-lazy.mjs', { MODE: mode });
    const port = await app.port();
    assert.ok(JSON.parse((await get(port, '/call')).text).error, 'the TLS handshake with a plain-HTTP server fails');
    const [client] = await shared.rec.waitFor(() => {
      const s = shared.rec.spans.filter((x) => x.kind === 3 && String(x.attributes['url.full']).startsWith('https://'));
      return s.length ? s : null;
    });
    assert.equal(client.status.code, 2, 'the failed https request is an error span');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(shared.rec.spans.filter((x) => x.kind === 3 && String(x.attributes['url.full']).startsWith('https://')).length, 1, 'one https client span');
  });
}

/** The built-in modules a fixture found loaded when it ran under the preload. */
async function loadedBuiltins(fixture) {
  const app = launch(fixture);
  const { code } = await app.exited;
  assert.equal(code, 0, app.out.stderr);
  return JSON.parse(app.out.stdout.split('\n').find((l) => l.startsWith('[')));
}

// Where Node has in-thread resolve hooks, node:https (with tls and crypto) is stubbed on its
// first use, so a process that never uses it does not load it; without them it is stubbed at start.
test('ESM hello world: node:https, tls and crypto load only where Node cannot tell their first use', async () => {
  const loaded = await loadedBuiltins('loaded-builtins.mjs');
  assert.ok(loaded.includes('http'), 'node:http is stubbed at start');
  const expected = typeof (await import('node:module')).registerHooks === 'function' ? [] : ['crypto', 'https', 'tls'];
  assert.deepEqual(loaded.filter((m) => ['https', 'tls', 'crypto'].includes(m)).sort(), expected);
});

test('ESM app with an installed ES module package: the import-in-the-middle loader, in-thread where the Node line allows', async () => {
  // A fake ES-module-only package under an instrumented name, found from the app's directory.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-esm-loader-'));
  fs.mkdirSync(path.join(dir, 'node_modules', 'openai'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules', 'openai', 'package.json'), JSON.stringify({ name: 'openai', version: '0.0.1', type: 'module', exports: './index.js' }));
  fs.writeFileSync(path.join(dir, 'node_modules', 'openai', 'index.js'), 'export const ok = true;\n');
  // The app's other imports (express, pino) resolve from the repository, as a hoisted install would.
  for (const pkg of ['express', 'pino']) fs.symlinkSync(path.join(ROOT, 'node_modules', pkg), path.join(dir, 'node_modules', pkg), 'dir');
  // The process report lists the loader thread module.register starts (an internal worker);
  // this app starts no worker of its own.
  const source = fs.readFileSync(path.join(FIXTURES, 'express-app.mjs'), 'utf8').replace("import pino from 'pino';", "import pino from 'pino';\nimport { ok } from 'openai';\nif (!ok) throw new Error('openai fake not loaded');")
    + "process.stdout.write(`worker threads ${process.report.getReport().workers.length}\\n`);\n";
  fs.writeFileSync(path.join(dir, 'app.mjs'), source);
  const admin = await freePort();
  const app = launch(path.join(dir, 'app.mjs'), { OTEL_LOG_LEVEL: 'debug', OTEL_EXPORTER_PROMETHEUS_PORT: String(admin) });
  const port = await app.port();
  assert.equal((await startLine(app)).esm_hooks, 'loader');
  // The admin server loads node:http past the module hooks, in-thread ones included.
  assert.equal((await get(admin, '/livez')).status, 200, app.out.stderr);
  const inThread = supportsSyncHooks();
  const threads = Number((await app.waitFor(/worker threads (\d+)/))[1]);
  const registered = app.diagLines().filter((l) => /^openai loads as an ES module/.test(l.msg)).map((l) => l.msg);
  if (inThread) {
    assert.deepEqual(registered, ['openai loads as an ES module: import-in-the-middle hooks registered in-thread (module.registerHooks)']);
    assert.equal(threads, 0, 'no loader thread');
  } else {
    assert.deepEqual(registered, ['openai loads as an ES module: import-in-the-middle loader registered on a loader thread (module.register)']);
    assert.equal(threads, 1, 'the loader thread');
  }
  const res = await get(port, '/call/3');
  assert.deepEqual(JSON.parse(res.text), { called: 200 });
  const [outer] = await shared.rec.waitFor(() => {
    const s = serverSpans('GET /call/:id');
    return s.length ? s : null;
  });
  assert.equal(outer.attributes['http.route'], '/call/:id', 'express patched through the loader');
  // express required node:http first (enabling the instrumentation); the app's named import of
  // it must carry the patch too: one client span, parent of the inner request's server span.
  const trace = await shared.rec.waitFor(() => {
    const t = shared.rec.spans.filter((x) => x.traceId === outer.traceId);
    return t.some((x) => x.kind === 3) && t.some((x) => x.name === 'GET /orders/:id') ? t : null;
  });
  const clients = trace.filter((x) => x.kind === 3);
  assert.equal(clients.length, 1, 'import { get } from "node:http" makes one client span');
  assert.equal(trace.find((x) => x.name === 'GET /orders/:id').parentSpanId, clients[0].spanId, 'and propagates the context');
  const line = (await app.waitFor(/\{[^\n]*"calling orders"[^\n]*\}/))[0];
  assert.equal(JSON.parse(line).trace_id, outer.traceId, 'pino (replaced export) correlated with the request');
  assert.doesNotMatch(app.out.stderr, /^\(node:\d+\) |ExperimentalWarning/m, 'Node printed no warning (require of the ES module hooks entry, registerHooks)');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('ignored paths create no spans; other paths do', async () => {
  const app = launch('express-app.js');
  const port = await app.port();
  await get(port, '/livez');
  await get(port, '/livez?probe=1');
  await get(port, '/orders/1');
  await shared.rec.waitFor(() => serverSpans('GET /orders/:id').length === 1);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(serverSpans().map((s) => s.attributes['url.path']), ['/orders/1']);
});

test('OTELKIT_IGNORE_PATHS replaces the default list', async () => {
  const app = launch('express-app.js', { OTELKIT_IGNORE_PATHS: '/orders/7' });
  const port = await app.port();
  await get(port, '/orders/7');
  await get(port, '/livez');
  await shared.rec.waitFor(() => serverSpans().length === 1);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(serverSpans().map((s) => s.attributes['url.path']), ['/livez']);
});

test('W3C trace context and baggage: incoming parent is honoured, outgoing calls carry it', async () => {
  const app = launch('express-app.js');
  const port = await app.port();
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = '00f067aa0ba902b7';
  await get(port, '/call/5', { traceparent: `00-${traceId}-${parent}-01`, baggage: 'tenant=acme' });
  // The three spans asked for, not any three: layer spans (development) can be exported before
  // the outer server span, which ends last.
  const spans = await shared.rec.waitFor(() => {
    const s = shared.rec.spans.filter((x) => x.traceId === traceId);
    return s.some((x) => x.kind === 2 && x.name === 'GET /call/:id') && s.some((x) => x.kind === 3) && s.some((x) => x.kind === 2 && x.name === 'GET /orders/:id') ? s : null;
  });
  const outer = spans.find((s) => s.kind === 2 && s.name === 'GET /call/:id');
  const client = spans.find((s) => s.kind === 3);
  const inner = spans.find((s) => s.kind === 2 && s.name === 'GET /orders/:id');
  assert.ok(outer && client && inner, `expected server, client, server spans; got ${spans.map((s) => `${s.kind}:${s.name}`)}`);
  assert.equal(outer.parentSpanId, parent);
  assert.equal(inner.parentSpanId, client.spanId, 'the outgoing call propagated the context');
});

test('trace context and baggage propagate to outgoing requests', async () => {
  const target = launch('plain-http.js');
  const targetPort = await target.port();
  const app = launch('express-app.js');
  const port = await app.port();
  const traceId = '11111111111111111111111111111111';
  const res = await get(port, `/proxy/${targetPort}`, { traceparent: `00-${traceId}-2222222222222222-01`, baggage: 'tenant=acme' });
  const seen = JSON.parse(res.text);
  assert.match(seen.traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  assert.match(seen.baggage, /tenant=acme/);
});

test('a request with baggage and no trace context, and b3 multi-headers under the b3 propagator, are extracted', async () => {
  const target = launch('plain-http.js');
  const targetPort = await target.port();
  const app = launch('express-app.js');
  const port = await app.port();
  const seen = JSON.parse((await get(port, `/proxy/${targetPort}`, { baggage: 'tenant=acme' })).text);
  assert.match(seen.baggage ?? '', /tenant=acme/);

  // b3 injects its single header but reads the multi-header form too.
  const b3 = launch('express-app.js', { OTEL_PROPAGATORS: 'b3' });
  const b3Port = await b3.port();
  const traceId = '33333333333333333333333333333333';
  const headers = { 'x-b3-traceid': traceId, 'x-b3-spanid': '4444444444444444', 'x-b3-sampled': '1' };
  const viaB3 = JSON.parse((await get(b3Port, `/proxy/${targetPort}`, headers)).text);
  assert.match(viaB3.b3 ?? '', new RegExp(`^${traceId}-[0-9a-f]{16}-1$`));
});

test('global fetch is traced: a client span and trace context on the outgoing request', async () => {
  const target = launch('plain-http.js');
  const targetPort = await target.port();
  const app = launch('express-app.js');
  const port = await app.port();
  const seen = JSON.parse((await get(port, `/fetch/${targetPort}`)).text);
  const server = await shared.rec.waitFor(() => serverSpans('GET /fetch/:port')[0]);
  const client = await shared.rec.waitFor(() => shared.rec.spans.find((s) => s.kind === 3 && s.traceId === server.traceId));
  assert.equal(client.attributes['http.request.method'], 'GET');
  assert.match(seen.traceparent, new RegExp(`^00-${server.traceId}-${client.spanId}-01$`));
});

test('sampling: ratio 0 samples nothing, production default samples a fraction, development everything', async () => {
  const off = launch('plain-http.js', { OTEL_TRACES_SAMPLER_ARG: '0' });
  const offPort = await off.port();
  for (let i = 0; i < 20; i++) await get(offPort, `/x${i}`);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(shared.rec.spans.length, 0, 'ratio 0: no span exported');

  const prod = launch('plain-http.js', { OTELKIT_ENVIRONMENT: 'production' });
  const prodPort = await prod.port();
  for (let i = 0; i < 300; i++) await get(prodPort, `/p${i}`);
  await new Promise((r) => setTimeout(r, 600));
  const n = shared.rec.spans.length;
  // 10% of 300 = 30; a binomial with p=0.1 stays within 8..60 with overwhelming probability
  assert.ok(n >= 8 && n <= 60, `production default samples ~10%, got ${n}/300`);
  assert.match(prod.out.stderr, /parentbased_traceidratio\(0\.1\)/);
});

test('an unsampled request without a parent propagates its own trace, marked unsampled, and exports nothing', async () => {
  const target = launch('plain-http.js');
  const targetPort = await target.port();
  const app = launch('express-app.js', { OTEL_TRACES_SAMPLER_ARG: '0' });
  const port = await app.port();
  const seen = [];
  for (let i = 0; i < 3; i++) seen.push(JSON.parse((await get(port, `/proxy/${targetPort}`)).text).traceparent);
  for (const tp of seen) {
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(tp ?? '');
    assert.ok(m, `traceparent ${tp}`);
    assert.notEqual(m[1], '0'.repeat(32));
    assert.notEqual(m[2], '0'.repeat(16));
  }
  assert.equal(new Set(seen.map((tp) => tp.slice(3, 35))).size, 3, 'each request has a trace of its own');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(shared.rec.spans.length, 0);
});

test('a sampled parent is followed even at ratio 0 (parent-based)', async () => {
  const app = launch('plain-http.js', { OTEL_TRACES_SAMPLER_ARG: '0' });
  const port = await app.port();
  await get(port, '/child', { traceparent: '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01' });
  const [span] = await shared.rec.waitFor(() => (shared.rec.spans.length ? shared.rec.spans : null));
  assert.equal(span.traceId, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
});

test('/metrics serves HTTP, runtime, process and otelkit counters', async () => {
  const admin = await freePort();
  const app = launch('express-app.js', { OTEL_EXPORTER_PROMETHEUS_PORT: String(admin) });
  const port = await app.port();
  await get(port, '/orders/1');
  await get(port, '/call/2');
  await get(port, '/livez');
  await new Promise((r) => setTimeout(r, 300));
  const { status, text, headers } = await get(admin, '/metrics');
  assert.equal(status, 200);
  assert.match(headers.get('content-type'), /text\/plain/);
  for (const name of [
    'http_server_request_duration_seconds_bucket',
    'http_client_request_duration_seconds_bucket',
    'nodejs_eventloop_delay_p99_seconds',
    'nodejs_eventloop_utilization_ratio',
    'v8js_memory_heap_used_bytes',
    'v8js_gc_duration_seconds',
    'process_cpu_time_seconds_total',
    'process_memory_usage_bytes',
    'otelkit_export_failures_total',
    'otelkit_export_dropped_total',
  ]) {
    assert.ok(text.includes(name), `${name} is on /metrics`);
  }
  assert.match(text, /http_server_request_duration_seconds_count\{[^}]*http_route="\/orders\/:id"[^}]*\} 2/, 'one direct request, one through /call');
  assert.doesNotMatch(text, /url_path="\/livez"|http_route="\/livez"/, 'ignored paths stay out of the HTTP metrics');
  // admin requests are neither traced nor counted
  assert.equal(serverSpans().filter((s) => s.attributes['url.path'] === '/metrics').length, 0);
  const live = await get(admin, '/livez');
  assert.equal(live.status, 200);
  assert.deepEqual(JSON.parse(live.text), { status: 'ok' });
  const ready = await get(admin, '/readyz');
  assert.equal(ready.status, 200);
  assert.equal(JSON.parse(ready.text).status, 'healthy');
});

test('OTEL_NODE_DISABLED_INSTRUMENTATIONS=runtime-node turns the runtime metrics off', async () => {
  const admin = await freePort();
  const app = launch('plain-http.js', { OTEL_EXPORTER_PROMETHEUS_PORT: String(admin), OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'runtime-node' });
  const port = await app.port();
  await get(port, '/a');
  const { text } = await get(admin, '/metrics');
  assert.match(text, /http_server_request_duration_seconds_count/);
  assert.doesNotMatch(text, /nodejs_eventloop|v8js_/);
});

test('OTEL_METRICS_EXPORTER=prometheus,otlp also pushes over OTLP', async () => {
  const app = launch('plain-http.js', { OTEL_METRICS_EXPORTER: 'prometheus,otlp', OTEL_METRIC_EXPORT_INTERVAL: '300' });
  const port = await app.port();
  await get(port, '/a');
  const m = await shared.rec.waitFor(() => shared.rec.metrics.find((x) => x.name === 'http.server.request.duration'));
  assert.equal(m.type, 'histogram');
  assert.equal(m.dataPoints[0].count, 1);
  assert.equal(m.resource['service.name'], 'fixture-app');
});

test('http/json protocol on request, and only the exporter in use is loaded', async () => {
  const app = launch('express-app.js', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
  const port = await app.port();
  await get(port, '/orders/3');
  await shared.rec.waitFor(() => serverSpans().length === 1);
  assert.equal(shared.rec.requests.find((r) => r.signal === 'traces').contentType, 'application/json');
  const modules = JSON.parse((await get(port, '/modules')).text).join('\n');
  // The JSON exporters come bundled (dist/otlp-json.bundle.js), without copies of the SDK's packages.
  assert.match(modules, /otlp-json\.bundle\.js/);
  assert.doesNotMatch(modules, /otlp-proto|exporter-trace-otlp|exporter-trace-otlp-grpc|@grpc\/grpc-js|exporter-zipkin/);
  assert.doesNotMatch(modules, /node_modules\/@opentelemetry\/(sdk-metrics|otlp-transformer|otlp-exporter-base|resources)\//);
});

test('instrumentations load lazily: a hello world loads none of the module instrumentations', async () => {
  const app = launch('hello.js', { PRINT_LOADED: '1' });
  const { code } = await app.exited;
  assert.equal(code, 0);
  const loaded = JSON.parse(app.out.stdout.split('\n')[1]).join('\n');
  assert.doesNotMatch(loaded, /instrumentation-(express|pg|http|mongodb|redis|graphql|aws-sdk)\//);
  assert.doesNotMatch(loaded, /exporter-trace-otlp|exporter-logs-otlp|otlp-(proto|json)\.bundle|protobufjs|sdk-node/);
});

test('a CommonJS hello world does not load node:crypto (service.instance.id is drawn without it)', async () => {
  const loaded = await loadedBuiltins('loaded-builtins.cjs');
  assert.ok(loaded.includes('http'), 'the preload ran (its admin server loads node:http)');
  assert.ok(!loaded.includes('crypto'), `crypto loaded: ${loaded.join(' ')}`);
});

test('OTEL_NODE_DISABLED_INSTRUMENTATIONS=express leaves express unpatched', async () => {
  const app = launch('express-app.js', { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'express' });
  const port = await app.port();
  await get(port, '/orders/9');
  await shared.rec.waitFor(() => serverSpans().length === 1);
  const [s] = serverSpans();
  assert.equal(s.name, 'GET', 'no route without the express instrumentation');
  assert.equal(shared.rec.spans.filter((x) => x.attributes['express.type']).length, 0);
});

test('OTEL_SDK_DISABLED=true hooks nothing', async () => {
  const app = launch('express-app.js', { OTEL_SDK_DISABLED: 'true' });
  const port = await app.port();
  await get(port, '/orders/1');
  const modules = JSON.parse((await get(port, '/modules')).text).join('\n');
  assert.doesNotMatch(modules, /@opentelemetry\/(instrumentation|sdk-trace|sdk-metrics)/);
  assert.doesNotMatch(app.out.stderr, /otelkit started/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(shared.rec.requests.length, 0);
});

test('worker threads do not start a second SDK', async () => {
  const app = launch('worker-app.js');
  await app.waitFor(/worker exited/);
  await app.exited;
  assert.match(app.out.stdout, /worker ran/);
  assert.equal(app.out.stderr.match(/otelkit started/g)?.length, 1);
});

test('admin port already in use: one clear error, the app keeps serving', async () => {
  const blocker = net.createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  const taken = blocker.address().port;
  try {
    const app = launch('express-app.js', { OTEL_EXPORTER_PROMETHEUS_PORT: String(taken) });
    const port = await app.port();
    assert.equal((await get(port, '/orders/1')).status, 200);
    await app.waitFor(/already in use/, { stream: 'stderr' });
    assert.equal(app.out.stderr.match(/already in use/g).length, 1);
    assert.match(app.out.stderr, new RegExp(`127\\.0\\.0\\.1:${taken}`));
  } finally {
    blocker.close();
  }
});

test('a script done before the event loop turns never opens the admin port: no error for a taken port, nothing of listen loaded', async () => {
  const blocker = net.createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  const taken = blocker.address().port;
  const atExit = `data:text/javascript,process.on('exit', () => process.stdout.write('loaded ' + JSON.stringify(process.moduleLoadList) + '\\n'))`;
  // Node 20's ES module loader closes a file handle asynchronously, so any process that uses
  // --import or has an ES module entry turns its event loop once (plain node too); there only
  // --require runs a script that is done before the first turn.
  const cases = [['--require', 'hello.js']];
  if (Number(process.versions.node.split('.')[0]) >= 22) cases.push(['--import', 'hello.js'], ['--import', 'hello.mjs']);
  try {
    for (const [flag, script] of cases) {
      const what = `${flag} ${script}`;
      const app = launch(script, { OTEL_EXPORTER_PROMETHEUS_PORT: String(taken), OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1' }, {
        preload: [flag, 'otelkit/register', '--import', atExit],
      });
      const { code } = await app.exited;
      assert.equal(code, 0, what);
      assert.match(app.out.stdout, /hello world/);
      assert.match(app.out.stderr, /otelkit started/, `${what}: the SDK did start`);
      assert.doesNotMatch(app.out.stderr, /already in use|could not listen/, `${what}: the admin server was never started`);
      const loaded = JSON.parse(/^loaded (.*)$/m.exec(app.out.stdout)[1]);
      for (const m of ['dns', 'cluster', 'child_process', 'dgram']) assert.ok(!loaded.includes(`NativeModule ${m}`), `${what}: ${m} not loaded`);
    }
  } finally {
    blocker.close();
  }
});

test('invalid configuration warns once per variable and falls back', async () => {
  const app = launch('express-app.js', { OTEL_TRACES_SAMPLER_ARG: 'lots', OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' });
  const port = await app.port();
  await get(port, '/orders/1');
  await shared.rec.waitFor(() => serverSpans().length === 1);
  const warns = app.diagLines().filter((l) => l.level === 'warn');
  assert.equal(warns.filter((w) => w.variable === 'OTEL_TRACES_SAMPLER_ARG').length, 1);
  assert.equal(warns.filter((w) => w.variable === 'OTEL_EXPORTER_OTLP_PROTOCOL').length, 1);
  const w = warns.find((x) => x.variable === 'OTEL_EXPORTER_OTLP_PROTOCOL');
  assert.equal(w.value, 'carrier-pigeon');
  assert.equal(w.fallback, 'http/protobuf');
});

test('unreachable collector: requests succeed, one warning per signal, failures counted on /metrics', async () => {
  const dead = await freePort();
  const admin = await freePort();
  const app = launch('express-app.js', {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${dead}`,
    OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(admin),
  });
  const port = await app.port();
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 10; i++) assert.equal((await get(port, `/orders/${i}`)).status, 200);
    await new Promise((r) => setTimeout(r, 300));
  }
  const failures = app.diagLines().filter((l) => /traces export to .* failed/.test(l.msg));
  assert.equal(failures.length, 1, `one warning for traces, got ${failures.length}`);
  const m = (await get(admin, '/metrics')).text;
  const failed = Number(/otelkit_export_failures_total\{[^}]*signal="traces"[^}]*\} (\d+)/.exec(m)?.[1]);
  assert.ok(failed >= 2, `failed trace exports counted: ${failed}`);
  const dropped = Number(/otelkit_export_dropped_total\{[^}]*signal="traces"[^}]*\} (\d+)/.exec(m)?.[1]);
  assert.ok(dropped >= 10, `dropped spans counted: ${dropped}`);
});

test('collector recovers: one recovery line, later telemetry arrives', async () => {
  const port0 = await freePort();
  const app = launch('plain-http.js', { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port0}`, OTEL_EXPORTER_OTLP_TIMEOUT: '300' });
  const port = await app.port();
  await get(port, '/before');
  await app.waitFor(/traces export to .* failed/, { stream: 'stderr' });
  const late = await startOtlpReceiver({ port: port0 });
  try {
    await get(port, '/after');
    await late.waitFor(() => late.spans.some((s) => s.attributes['url.path'] === '/after'));
    await app.waitFor(/traces export to .* recovered/, { stream: 'stderr' });
  } finally {
    await late.close();
  }
});

test('SIGTERM: spans made before the signal are flushed, exit code 143', async () => {
  const app = launch('plain-http.js', { OTEL_BSP_SCHEDULE_DELAY: '60000' });
  const port = await app.port();
  for (let i = 0; i < 5; i++) await get(port, `/t${i}`);
  assert.equal(shared.rec.spans.length, 0, 'nothing exported yet: the batch delay is a minute');
  const t0 = Date.now();
  app.child.kill('SIGTERM');
  const { code, signal } = await app.exited;
  assert.equal(code, 143);
  assert.equal(signal, null);
  assert.ok(Date.now() - t0 < 5000, 'exited within the shutdown timeout');
  assert.equal(shared.rec.spans.length, 5);
});

test('SIGINT exits 130 after flushing', async () => {
  const app = launch('plain-http.js', { OTEL_BSP_SCHEDULE_DELAY: '60000' });
  const port = await app.port();
  await get(port, '/i');
  app.child.kill('SIGINT');
  const { code } = await app.exited;
  assert.equal(code, 130);
  assert.equal(shared.rec.spans.length, 1);
});

test('SIGTERM with the application handling it: otelkit flushes, the app decides the exit', async () => {
  const app = launch('express-app.js', { OTEL_BSP_SCHEDULE_DELAY: '60000', APP_HANDLES_SIGTERM: '1' });
  const port = await app.port();
  await get(port, '/orders/1');
  app.child.kill('SIGTERM');
  await app.waitFor(/app got SIGTERM/);
  const { code } = await app.exited;
  assert.equal(code, 0, "the application's own exit code");
  assert.ok(shared.rec.spans.some((s) => s.name === 'GET /orders/:id'));
});

test('SIGTERM with the collector unreachable still exits within OTELKIT_SHUTDOWN_TIMEOUT_MS', async () => {
  const dead = await freePort();
  const app = launch('plain-http.js', {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://10.255.255.1:${dead}`.replace('10.255.255.1', '127.0.0.1'),
    OTEL_BSP_SCHEDULE_DELAY: '60000',
    OTELKIT_SHUTDOWN_TIMEOUT_MS: '1000',
  });
  const port = await app.port();
  await get(port, '/x');
  const t0 = Date.now();
  app.child.kill('SIGTERM');
  const { code } = await app.exited;
  assert.equal(code, 143);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

for (const [route, type, message, origin] of [
  ['/crash', 'Error', 'boom from crash route', 'uncaught exception'],
  ['/reject', 'TypeError', 'rejected on purpose', 'unhandled promise rejection'],
]) {
  test(`crash via ${route}: exception log record with stack arrives, stack on stderr, exit code 1`, async () => {
    const app = launch('express-app.js', { OTEL_BSP_SCHEDULE_DELAY: '60000', OTEL_BLRP_SCHEDULE_DELAY: '60000' });
    const port = await app.port();
    await get(port, '/orders/1');
    await get(port, route);
    const { code } = await app.exited;
    assert.equal(code, 1);
    assert.match(app.out.stderr, new RegExp(`${type}: ${message}\\n\\s+at `), "Node's own stack on stderr");
    const log = shared.rec.logs.find((l) => l.attributes['exception.message'] === message);
    assert.ok(log, `error log record arrived; logs: ${shared.rec.logs.map((l) => l.body)}`);
    assert.equal(log.severityText?.toLowerCase(), 'error');
    assert.equal(log.attributes['exception.type'], type);
    assert.match(log.attributes['exception.stacktrace'], new RegExp(`${type}: ${message}\\n\\s+at `));
    assert.match(String(log.body), new RegExp(origin));
    assert.ok(shared.rec.spans.some((s) => s.name === 'GET /orders/:id'), 'spans made before the crash arrived');
  });
}

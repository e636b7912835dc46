// Parity with the official OpenTelemetry setup (issue 28): what reaches an OTLP receiver or
// /metrics for the temporality preference, start({ env }) as the only configuration of the
// exporters, the resource (telemetry.sdk.version, container.id), the log record limits, pg outside
// a request, and ESM apps' outgoing requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { receiverPerFile } from './support/receiver-per-file.mjs';
import { startApp, get, freePort, FIXTURES } from './support/app.mjs';
import { startPostgres } from './support/services.mjs';

const require = createRequire(import.meta.url);
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

const DELTA = 1;
const CUMULATIVE = 2;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every exported metric of that name, in the order received. */
const exported = (name) => shared.rec.metrics.filter((m) => m.name === name);

/** The sum of a counter's point values, or of a histogram's counts, over every export. */
function total(name) {
  let n = 0;
  for (const m of exported(name)) for (const p of m.dataPoints) n += m.type === 'histogram' ? p.count : p.value;
  return n;
}

async function temporalityRun(preference) {
  const admin = await freePort();
  const env = { OTEL_METRICS_EXPORTER: 'otlp,prometheus', OTEL_METRIC_EXPORT_INTERVAL: '200', OTEL_EXPORTER_PROMETHEUS_PORT: String(admin) };
  if (preference !== undefined) env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE = preference;
  const app = launch('metrics-app.js', env);
  const port = await app.port();
  for (let i = 0; i < 2; i++) assert.equal((await get(port, '/')).status, 200);
  await shared.rec.waitFor(() => exported('app.jobs').length > 0);
  for (let i = 0; i < 3; i++) assert.equal((await get(port, '/')).status, 200);
  // Every request counted (five in one cumulative point, or deltas adding up to five), then two
  // more collections: anything still to come would be in them.
  const reached = (name, field) => total(name) === 5 || exported(name).some((m) => m.dataPoints.some((p) => p[field] === 5));
  await shared.rec.waitFor(() => reached('app.jobs', 'value') && reached('http.server.request.duration', 'count'));
  const n = exported('nodejs.eventloop.time').length;
  await shared.rec.waitFor(() => exported('nodejs.eventloop.time').length >= n + 2);
  const scrape = (await get(admin, '/metrics')).text;
  return { app, scrape };
}

const temporalities = (name) => [...new Set(exported(name).map((m) => m.aggregationTemporality))];

for (const [preference, expected] of [
  ['delta', { counter: DELTA, histogram: DELTA, upDown: CUMULATIVE, observableCounter: DELTA }],
  ['lowmemory', { counter: DELTA, histogram: DELTA, upDown: CUMULATIVE, observableCounter: CUMULATIVE }],
  ['cumulative', { counter: CUMULATIVE, histogram: CUMULATIVE, upDown: CUMULATIVE, observableCounter: CUMULATIVE }],
]) {
  test(`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=${preference}: each instrument kind as the specification says, Prometheus cumulative`, async () => {
    const { app, scrape } = await temporalityRun(preference.toUpperCase());
    assert.deepEqual(temporalities('app.jobs'), [expected.counter], 'the application counter');
    assert.deepEqual(temporalities('app.job.size'), [expected.histogram], 'the application histogram');
    assert.deepEqual(temporalities('http.server.request.duration'), [expected.histogram], "otelkit's HTTP server duration");
    assert.deepEqual(temporalities('app.queue.depth'), [expected.upDown], 'the up-down counter');
    assert.deepEqual(temporalities('nodejs.eventloop.time'), [expected.observableCounter], 'an observable counter');
    assert.deepEqual(temporalities('process.memory.usage'), [CUMULATIVE], 'an observable up-down counter');
    if (expected.counter === DELTA) {
      // Deltas add up to the five requests; cumulative points would add up to more.
      assert.equal(total('app.jobs'), 5);
      assert.equal(total('app.job.size'), 5);
      assert.equal(total('http.server.request.duration'), 5);
    } else {
      assert.equal(exported('app.jobs').at(-1).dataPoints[0].value, 5);
    }
    // The up-down counter is cumulative whatever the preference.
    assert.equal(exported('app.queue.depth').at(-1).dataPoints[0].value, 5);
    // The pull reader is cumulative whatever the preference.
    assert.match(scrape, /^app_jobs_total\S* 5$/m);
    assert.match(scrape, /^http_server_request_duration_seconds_count\{[^}]*\} 5$/m);
    assert.equal(app.diagLines().filter((l) => /TEMPORALITY/.test(JSON.stringify(l))).length, 0, 'no warning for a valid value');
  });
}

test("temporality selectors equal the upstream OTLP metric exporter's for every instrument kind", () => {
  const { temporalitySelector } = require('../dist/metrics/temporality.js');
  const upstream = require('@opentelemetry/exporter-metrics-otlp-http');
  const { InstrumentType } = require('@opentelemetry/sdk-metrics');
  for (const [preference, selector] of [['cumulative', upstream.CumulativeTemporalitySelector], ['delta', upstream.DeltaTemporalitySelector], ['lowmemory', upstream.LowMemoryTemporalitySelector]]) {
    for (const kind of Object.values(InstrumentType)) assert.equal(temporalitySelector(preference)(kind), selector(kind), `${preference} ${kind}`);
  }
});

test('an invalid temporality preference warns once, naming the value, and falls back to cumulative', async () => {
  const { app } = await temporalityRun('deltas');
  assert.deepEqual(temporalities('app.jobs'), [CUMULATIVE]);
  assert.deepEqual(temporalities('http.server.request.duration'), [CUMULATIVE]);
  const warnings = app.out.stderr.split('\n').filter((l) => l.includes('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE'));
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /deltas/);
  assert.match(warnings[0], /cumulative/);
});

/** A plain OTLP/HTTP endpoint (OTLP/HTTPS with `tls`) that records each request's path and headers and accepts it. */
async function headerSink(tls) {
  const requests = [];
  const server = (tls ? https.createServer.bind(null, tls) : http.createServer)((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push({ path: req.url, headers: req.headers });
      const json = String(req.headers['content-type']).includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { requests, url: `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

/** An OTLP/gRPC endpoint (plaintext) that records each call's method path and metadata and accepts it. */
async function grpcSink() {
  const grpc = require('@grpc/grpc-js');
  const requests = [];
  const server = new grpc.Server();
  const raw = (b) => b;
  for (const [service, signal] of [['trace.v1.TraceService', 'traces'], ['metrics.v1.MetricsService', 'metrics'], ['logs.v1.LogsService', 'logs']]) {
    const path = `/opentelemetry.proto.collector.${service}/Export`;
    server.addService(
      { Export: { path, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
      {
        Export: (call, callback) => {
          const headers = Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)]));
          requests.push({ path: `/v1/${signal}`, headers });
          callback(null, Buffer.alloc(0));
        },
      },
    );
  }
  const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { requests, url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.tryShutdown(() => r())) };
}

for (const protocol of ['http/protobuf', 'http/json', 'grpc']) {
  test(`start({ env }) is the exporters' only configuration (${protocol}): no header from process.env, one warning per invalid value`, async () => {
    const sink = protocol === 'grpc' ? await grpcSink() : await headerSink();
    try {
      const app = startApp('start-env-app.js', {
        preload: [],
        env: {
          // What the process environment says, and start() overrides or does not repeat.
          OTEL_EXPORTER_OTLP_HEADERS: 'x-a=1',
          OTEL_EXPORTER_OTLP_COMPRESSION: 'zip',
          START_ENV: JSON.stringify({
            OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
            OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
            OTEL_EXPORTER_OTLP_HEADERS: 'x-b=2',
            OTELKIT_ENVIRONMENT: 'development',
            OTEL_METRICS_EXPORTER: 'otlp',
            OTEL_METRIC_EXPORT_INTERVAL: '200',
            OTEL_BSP_SCHEDULE_DELAY: '50',
            OTEL_BLRP_SCHEDULE_DELAY: '50',
          }),
        },
      });
      apps.push(app);
      await app.waitFor(/started true/);
      const deadline = Date.now() + 15000;
      const signals = () => new Set(sink.requests.map((r) => r.path));
      while (signals().size < 3 && Date.now() < deadline) await sleep(50);
      assert.deepEqual([...signals()].sort(), ['/v1/logs', '/v1/metrics', '/v1/traces'], 'every signal exported');
      for (const r of sink.requests) {
        assert.equal(r.headers['x-b'], '2', `${r.path}: the header given to start()`);
        assert.equal(r.headers['x-a'], undefined, `${r.path}: no header from process.env`);
        assert.equal(r.headers['content-encoding'] ?? r.headers['grpc-encoding'] ?? 'identity', 'identity', `${r.path}: the fallback compression (none)`);
      }
      await sleep(300); // a few more exports
      const warnings = app.out.stderr.split('\n').filter((l) => /COMPRESSION|compression/.test(l));
      assert.equal(warnings.length, 1, `one warning for the invalid compression:\n${app.out.stderr}`);
      assert.match(warnings[0], /OTEL_EXPORTER_OTLP_COMPRESSION/);
    } finally {
      await sink.close();
    }
  });
}

/** A self-signed certificate for 127.0.0.1 in a new directory: { dir, key, cert }. */
function selfSigned() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  return { dir, key, cert };
}

test('OTEL_EXPORTER_OTLP_CERTIFICATE: an https endpoint with its own CA is trusted, as upstream trusts it', async () => {
  const pki = selfSigned();
  const sink = await headerSink({ key: fs.readFileSync(pki.key), cert: fs.readFileSync(pki.cert) });
  try {
    for (const certificate of [undefined, pki.cert]) {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', FIELDS: '{}' };
      if (certificate) env.OTEL_EXPORTER_OTLP_CERTIFICATE = certificate;
      const app = launch('log-limits-app.js', env);
      await app.waitFor(/logged/);
      // Without the CA nothing can arrive: a few export intervals show it.
      const deadline = Date.now() + (certificate ? 15000 : 3000);
      while (!sink.requests.some((r) => r.path === '/v1/logs') && Date.now() < deadline) await sleep(50);
      if (certificate) assert.ok(sink.requests.some((r) => r.path === '/v1/logs'), `logs reached the https endpoint with the CA given:\n${app.out.stderr}`);
      else assert.equal(sink.requests.length, 0, 'without the CA the self-signed endpoint is refused');
      await app.stop();
    }
  } finally {
    await sink.close();
    fs.rmSync(pki.dir, { recursive: true, force: true });
  }
});

test('resource: telemetry.sdk.* as upstream reports them, container.id as the container detector finds it', async () => {
  const { defaultResource } = require('@opentelemetry/resources');
  const { containerDetector } = require('@opentelemetry/resource-detector-container');
  const upstreamSdk = defaultResource().attributes;
  const upstreamContainer = await containerDetector.detect().attributes['container.id'];
  const app = launch('plain-http.js');
  const port = await app.port();
  await get(port, '/');
  const [span] = await shared.rec.waitFor(() => (shared.rec.spans.length ? shared.rec.spans : null));
  for (const key of ['telemetry.sdk.name', 'telemetry.sdk.language', 'telemetry.sdk.version']) {
    assert.ok(upstreamSdk[key], key);
    assert.equal(span.resource[key], upstreamSdk[key], key);
  }
  assert.equal(span.resource['container.id'], upstreamContainer, 'container.id');
});

test("container id: otelkit's synchronous detector reads the same id as upstream's from the same files", async () => {
  // The package exports the detector, not its class; its file paths are instance fields.
  const ContainerDetector = require('@opentelemetry/resource-detector-container').containerDetector.constructor;
  const { readContainerId } = require('../dist/resource/container-id.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-cgroup-'));
  const id64 = 'a'.repeat(32) + '0123456789abcdef0123456789abcdef';
  const cases = {
    'docker v1': [`12:memory:/docker/${id64}\n11:cpu:/docker/${id64}\n`, ''],
    'systemd containerd': [`0::/system.slice/containerd.service/kubepods-burstable.slice:cri-containerd:${id64}\n`, ''],
    'crio scope': [`1:name=systemd:/kubepods.slice/crio-${id64}.scope\n`, ''],
    'docker- prefix': [`1:name=systemd:/system.slice/docker-${id64}.scope\n`, ''],
    'short hex, like this machine': ['9:name=systemd:/\n4:memory:/process_api/449978d91557115b914673a1bac99ae4\n0::/\n', ''],
    'v2 from mountinfo': ['0::/\n', `1 2 0:1 / / rw - overlay overlay rw\n3 2 8:1 /var/lib/docker/containers/${id64}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n`],
    'v2 podman': ['0::/\n', `3 2 8:1 /home/u/.local/share/containers/storage/overlay-containers/${id64}/userdata/hostname /etc/hostname rw\n`],
    'v2 short id ignored': ['0::/\n', '3 2 8:1 /var/lib/docker/containers/abc/hostname /etc/hostname rw\n'],
    'no container': ['0::/\n', '1 2 0:1 / / rw - overlay overlay rw\n'],
    'empty v1 file': ['', ''],
    'no v1 file': [undefined, `3 2 8:1 /var/lib/docker/containers/${id64}/hostname /etc/hostname rw\n`],
  };
  try {
    for (const [label, [v1, v2]] of Object.entries(cases)) {
      const v1Path = path.join(dir, `${label}.cgroup`);
      const v2Path = path.join(dir, `${label}.mountinfo`);
      if (v1 !== undefined) fs.writeFileSync(v1Path, v1);
      fs.writeFileSync(v2Path, v2);
      const upstream = new ContainerDetector();
      upstream.DEFAULT_CGROUP_V1_PATH = v1Path;
      upstream.DEFAULT_CGROUP_V2_PATH = v2Path;
      const expected = await upstream.detect().attributes['container.id'];
      assert.equal(readContainerId(v1Path, v2Path), expected, label);
    }
    // The cases cover both outcomes.
    assert.equal(readContainerId(path.join(dir, 'docker v1.cgroup'), path.join(dir, 'docker v1.mountinfo')), id64);
    assert.equal(readContainerId(path.join(dir, 'no container.cgroup'), path.join(dir, 'no container.mountinfo')), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** What the logs SDK's Logger.emit makes of these attributes under these limits. */
function sdkLimited(attributes, countLimit, lengthLimit) {
  const { LoggerProvider } = require('@opentelemetry/sdk-logs');
  const emitted = [];
  const processor = { onEmit: (r) => emitted.push({ attributes: r.attributes, dropped: r.droppedAttributesCount }), forceFlush: async () => {}, shutdown: async () => {} };
  const provider = new LoggerProvider({ logRecordLimits: { attributeValueLengthLimit: lengthLimit, attributeCountLimit: countLimit }, processors: [processor] });
  provider.getLogger('limits').emit({ body: 'b', attributes });
  assert.equal(emitted.length, 1);
  return emitted[0];
}

test("OTEL_LOGRECORD_ATTRIBUTE_*_LIMIT apply to otelkit's own log records as the logs SDK applies them", async () => {
  const fields = { first: 'abcdefghijkl', list: ['123456789', 7, 'ab'], nested: { deep: 'zyxwvutsrq', n: 1 }, short: 'ok', extra1: 'x', extra2: 'y' };
  const app = launch('log-limits-app.js', { FIELDS: JSON.stringify(fields), OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: '5', OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: '4' });
  await app.waitFor(/logged/);
  const [record] = await shared.rec.waitFor(() => {
    const l = shared.rec.logs.filter((x) => x.body === 'limited');
    return l.length ? l : null;
  });
  const received = { attributes: record.attributes, dropped: record.droppedAttributesCount };

  // The logs SDK, given the attributes the record had before the limits.
  const sdk = sdkLimited({ 'logger.name': 'limits', ...fields }, 4, 5);
  assert.deepEqual(received, sdk);
  assert.equal(received.dropped, 3);
});

test('limitAttributes equals the logs SDK on random attribute sets and limits', () => {
  const { limitAttributes } = require('../dist/logs/otlp-bridge.js');
  let seed = 7;
  const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  const str = () => 'abcdefghijklmnopqrstuvwxyz'.slice(0, rand(20));
  const value = (depth) => {
    switch (rand(depth > 1 ? 4 : 6)) {
      case 0: return str();
      case 1: return rand(1000);
      case 2: return rand(2) === 0;
      case 3: return null;
      case 4: return [str(), rand(9), str()];
      default: return { a: str(), b: value(depth + 1) };
    }
  };
  for (let i = 0; i < 300; i++) {
    const attributes = {};
    for (let k = rand(12); k > 0; k--) attributes[`k${rand(15)}`] = value(0);
    const countLimit = 1 + rand(10);
    const lengthLimit = rand(3) === 0 ? Infinity : 1 + rand(15);
    const [ours, dropped] = limitAttributes(attributes, countLimit, lengthLimit);
    assert.deepEqual({ attributes: ours, dropped }, sdkLimited(attributes, countLimit, lengthLimit), JSON.stringify({ attributes, countLimit, lengthLimit }));
  }
});

let pg;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

const rootSpans = () => shared.rec.spans.filter((s) => s.parentSpanId === '');

test('pg outside a request: no span at all, not even tcp.connect; inside one: the connect and the query under the request', async () => {
  const app = launch('pg-app.js', { DATABASE_URL: pg.url });
  const port = await app.port();
  assert.equal((await get(port, '/q')).status, 200);
  const server = await shared.rec.waitFor(() => shared.rec.spans.find((s) => s.kind === 2));
  await shared.rec.waitFor(() => shared.rec.spans.some((s) => /SELECT/.test(s.name)));
  await sleep(300);
  // Everything that touched the database (pg spans, tcp.connect) is in the request's trace.
  const database = shared.rec.spans.filter((s) => s.attributes['server.port'] === pg.port);
  const outside = database.filter((s) => s.traceId !== server.traceId);
  assert.deepEqual(outside.map((s) => s.name), [], 'no span of the warm-up query or its connection');
  assert.ok(!rootSpans().some((s) => s.name === 'tcp.connect' || /^pg/.test(s.name)), `no orphan root: ${rootSpans().map((s) => s.name)}`);
  const inRequest = shared.rec.spans.filter((s) => s.traceId === server.traceId).map((s) => s.name);
  assert.ok(inRequest.includes('tcp.connect'), `the request's connection is traced: ${inRequest}`);
  assert.ok(inRequest.some((n) => /^pg\.connect/.test(n)), `the request's pg connect: ${inRequest}`);
  assert.ok(!shared.rec.spans.some((s) => /warmup/.test(JSON.stringify(s.attributes))), 'the warm-up query made no span');
});

test('pg outside a request: no span, but the query is counted in db.client.operation.duration, as the one inside a request', async () => {
  // Upstream's requireParentSpan skips the metric with the span: the warm-up would be missing.
  const app = launch('pg-app.js', { DATABASE_URL: pg.url, OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '200' });
  const port = await app.port();
  assert.equal((await get(port, '/q')).status, 200);
  // Cumulative: the last export holds every query so far; only this app's database is counted.
  const points = () => (exported('db.client.operation.duration').at(-1)?.dataPoints ?? []).filter((d) => d.attributes['server.port'] === pg.port);
  const selects = () => points().filter((d) => d.attributes['db.operation.name'] === 'SELECT').reduce((n, d) => n + d.count, 0);
  await shared.rec.waitFor(() => selects() >= 2).catch(() => {});
  assert.equal(selects(), 2, `the warm-up and the request's SELECT: ${JSON.stringify(points().map((d) => [d.attributes, d.count]))}`);
  const point = points().find((d) => d.attributes['db.operation.name'] === 'SELECT');
  assert.deepEqual(Object.keys(point.attributes).sort(), ['db.namespace', 'db.operation.name', 'db.system.name', 'server.address', 'server.port'], 'upstream\'s attributes');
  assert.ok(!shared.rec.spans.some((s) => /warmup/.test(JSON.stringify(s.attributes))), 'the warm-up query still made no span');
});

test('OTELKIT_PG_REQUIRE_PARENT_SPAN=false: pg outside a request makes root spans, as upstream does', async () => {
  const app = launch('pg-app.js', { DATABASE_URL: pg.url, OTELKIT_PG_REQUIRE_PARENT_SPAN: 'false' });
  await app.port();
  const warmup = await shared.rec.waitFor(() => shared.rec.spans.find((s) => /warmup/.test(JSON.stringify(s.attributes))));
  await sleep(300);
  const trace = shared.rec.spans.filter((s) => s.traceId === warmup.traceId);
  const root = trace.find((s) => s.parentSpanId === '');
  assert.match(root?.name ?? '', /^pg/, `the warm-up's trace starts at a pg span: ${trace.map((s) => s.name)}`);
  assert.ok(trace.some((s) => s.name === 'tcp.connect'), 'its connection is in it');
});

/** A copy of esm-clients.mjs in a directory of its own; with `loader`, beside an installed ES-module-only package under an instrumented name (which takes the import-in-the-middle loader). */
function esmClientsApp(dir, mode) {
  for (const f of ['esm-clients.mjs', 'cjs-client.cjs']) fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  if (mode === 'loader') {
    fs.mkdirSync(path.join(dir, 'node_modules', 'openai'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'node_modules', 'openai', 'package.json'), JSON.stringify({ name: 'openai', version: '0.0.1', type: 'module', exports: './index.js' }));
    fs.writeFileSync(path.join(dir, 'node_modules', 'openai', 'index.js'), 'export const ok = true;\n');
  }
  return path.join(dir, 'esm-clients.mjs');
}

for (const mode of ['bridge', 'loader']) {
  test(`ESM app (${mode}): every outgoing request through node:http or node:https, from ESM or a CommonJS dependency, is one client span and one duration`, async () => {
    const { dir, key, cert } = selfSigned();
    try {
      const app = launch(esmClientsApp(dir, mode), { TLS_KEY: key, TLS_CERT: cert, OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '200' });
      await app.waitFor(/done 200,200,200,200,200,200/);
      const started = app.diagLines().find((l) => l.msg === 'otelkit started');
      assert.equal(started.esm_hooks, mode);
      await shared.rec.waitFor(() => shared.rec.spans.filter((s) => s.kind === 3).length >= 6);
      await sleep(500);
      const clients = shared.rec.spans.filter((s) => s.kind === 3);
      const byScheme = (scheme) => clients.filter((s) => String(s.attributes['url.full']).startsWith(`${scheme}://`)).map((s) => new URL(s.attributes['url.full']).pathname).sort();
      assert.equal(clients.length, 6, `six client spans: ${clients.map((s) => s.attributes['url.full'])}`);
      assert.deepEqual(byScheme('http'), ['/cjs', '/default', '/named']);
      assert.deepEqual(byScheme('https'), ['/cjs', '/default', '/named']);
      assert.ok(clients.every((s) => clients.every((p) => p.spanId !== s.parentSpanId)), 'no client span nested in another');
      // The client duration (cumulative) of the last export after the spans: three per server.
      const ports = [...new Set(clients.map((s) => Number(new URL(s.attributes['url.full']).port)))];
      assert.equal(ports.length, 2);
      const durations = () => exported('http.client.request.duration').at(-1)?.dataPoints ?? [];
      const perPort = (p) => durations().filter((d) => d.attributes['server.port'] === p).reduce((n, d) => n + d.count, 0);
      await shared.rec.waitFor(() => ports.every((p) => perPort(p) >= 3)).catch(() => {});
      for (const p of ports) assert.equal(perPort(p), 3, `three durations for port ${p}: ${JSON.stringify(durations().map((d) => [d.attributes, d.count]))}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

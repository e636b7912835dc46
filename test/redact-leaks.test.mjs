// Issue 29 (leaks): a service under the preload with secrets on its command line, in
// OTEL_RESOURCE_ATTRIBUTES, in its OTLP endpoint, in its own logger's nested metadata, in a span
// name and in its health checks' errors. None of them may reach OTLP, /metrics, /readyz or stderr.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';
import { startApp, get, freePort } from './support/app.mjs';

const ARGS = [
  '--db-url=postgres://orders:ArgDbPw55@db.internal/orders',
  '--api-key=ArgApiKey123',
  '--password', 'ArgSpacedPw66',
];
const SECRETS = ['ArgDbPw55', 'ArgApiKey123', 'ArgSpacedPw66', 'EnvResPw44'];

let rec;
let app;
let port;
let adminPort;
before(async () => {
  rec = await startOtlpReceiver();
  adminPort = await freePort();
  // The endpoint carries credentials and a query secret; the signal path must go on its path.
  const endpoint = rec.url.replace('http://', 'http://collector:EndpointPw33@') + '/?api_key=EndpointKey22';
  app = startApp('secrets-app.js', {
    args: ARGS,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_RESOURCE_ATTRIBUTES: 'db.password=EnvResPw44,team=orders',
      OTELKIT_ENVIRONMENT: 'development',
      OTEL_SERVICE_NAME: 'secrets-fixture',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(adminPort),
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_BLRP_SCHEDULE_DELAY: '50',
    },
  });
  port = await app.port();
  assert.equal((await get(port, '/')).status, 200);
  await rec.waitFor(() => rec.logs.some((l) => l.body === 'app logger nested') && rec.spans.some((s) => s.kind === 2));
});
after(async () => {
  await app?.stop();
  await rec?.close();
});

test('item 1: command-line and OTEL_RESOURCE_ATTRIBUTES secrets are not in the resource (OTLP, /metrics)', async () => {
  const span = rec.spans.find((s) => s.kind === 2);
  const resource = JSON.stringify(span.resource);
  for (const s of SECRETS) assert.ok(!resource.includes(s), `${s} in the OTLP resource: ${resource}`);
  assert.equal(span.resource['db.password'], '[REDACTED]');
  assert.equal(span.resource.team, 'orders', 'ordinary resource attributes are kept');
  assert.ok(span.resource['process.command_args'].includes('--api-key=[REDACTED]'), JSON.stringify(span.resource['process.command_args']));
  assert.ok(span.resource['process.command_args'].includes('--db-url=postgres://[REDACTED]@db.internal/orders'));
  assert.deepEqual(span.resource['process.command_args'].slice(-2), ['--password', '[REDACTED]']);
  const metrics = await get(adminPort, '/metrics');
  const targetInfo = metrics.text.split('\n').filter((l) => l.startsWith('target_info')).join('\n');
  assert.match(targetInfo, /service_name="secrets-fixture"/);
  for (const s of SECRETS) assert.ok(!targetInfo.includes(s), `${s} on /metrics: ${targetInfo}`);
});

test('item 2: /readyz redacts the whole error before cutting it, and util.inspect messages', async () => {
  const res = await get(adminPort, '/readyz');
  assert.equal(res.status, 503);
  const body = JSON.parse(res.text);
  assert.ok(!res.text.includes('S3cr3t'), res.text);
  assert.ok(!res.text.includes('InspectPw77'), res.text);
  assert.ok(body.checks.db.error.length <= 300, 'still cut to 300 characters');
  assert.match(body.checks.cache.error, /password: '?\[REDACTED\]/);
});

test('item 3: the start line shows no endpoint credentials, and the signal path goes on the URL path', async () => {
  const line = app.diagLines().find((l) => l.msg === 'otelkit started');
  const text = JSON.stringify(line);
  assert.ok(!text.includes('EndpointPw33') && !text.includes('EndpointKey22'), text);
  assert.match(line.traces.endpoint, /\/v1\/traces\?api_key=\[REDACTED\]$/);
  assert.ok(!app.out.stderr.includes('EndpointPw33') && !app.out.stderr.includes('EndpointKey22'), app.out.stderr);
  // The receiver answers only /v1/traces and /v1/logs: data arriving proves the path is right.
  assert.ok(rec.requests.some((r) => r.signal === 'traces' && r.status === 200));
  assert.ok(rec.requests.some((r) => r.signal === 'logs' && r.status === 200));
});

test('item 4: nested objects of the application\'s own winston logger are redacted before OTLP', () => {
  const rec0 = rec.logs.find((l) => l.body === 'app logger nested');
  const text = JSON.stringify(rec0.attributes);
  assert.ok(!text.includes('NestedTok3nValue') && !text.includes('DeepPw99'), text);
  assert.equal(rec0.attributes.nested.authorization, '[REDACTED]');
});

test('item 5: span names are redacted', async () => {
  const span = await rec.waitFor(() => rec.spans.find((s) => s.name.startsWith('notify ')));
  assert.equal(span.name, 'notify [REDACTED]');
});

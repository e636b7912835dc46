// Logs under the preload: otelkit's logger and the application's own winston logger are both
// bridged to OTLP exactly once, correlated with the active span, and redacted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';
import { startApp, get } from './support/app.mjs';

let rec;
let app;
before(async () => {
  rec = await startOtlpReceiver();
  app = startApp('winston-app.js', {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: rec.url,
      OTELKIT_ENVIRONMENT: 'development',
      OTEL_SERVICE_NAME: 'winston-fixture',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_BLRP_SCHEDULE_DELAY: '50',
    },
  });
  const port = await app.port();
  assert.equal((await get(port, '/')).status, 200);
  await rec.waitFor(() => rec.logs.length >= 3 && rec.spans.some((s) => s.kind === 2));
  await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive in the next batch
});
after(async () => {
  await app?.stop();
  await rec?.close();
});

test('each record arrives exactly once', () => {
  const bodies = rec.logs.map((l) => String(l.body));
  assert.equal(bodies.filter((b) => b === 'order processed').length, 1);
  assert.equal(bodies.filter((b) => b === 'app logger line').length, 1);
  assert.equal(bodies.filter((b) => b === 'payment failed').length, 1);
});

test('records carry the trace and span ids of the request span', () => {
  const server = rec.spans.find((s) => s.kind === 2);
  for (const l of rec.logs) {
    assert.equal(l.traceId, server.traceId, `${l.body} correlated`);
    assert.equal(l.spanId, server.spanId);
  }
});

test('redaction applies to both loggers on OTLP and to otelkit stdout', () => {
  const dump = JSON.stringify(rec.logs);
  for (const secret of ['hunter2', 'alice@example.com', '4111 1111 1111 1111']) {
    assert.ok(!dump.includes(secret), `${secret} must not reach the receiver`);
    assert.ok(!app.out.stdout.split('\n').filter((l) => l.includes('"logger":"orders"')).join('\n').includes(secret), `${secret} not on otelkit's stdout lines`);
  }
  const own = rec.logs.find((l) => l.body === 'app logger line');
  assert.equal(own.attributes.password, '[REDACTED]');
  assert.match(own.attributes.note, /card \[REDACTED\]/);
});

test('errors keep type, message, stack, code and cause as exception attributes', () => {
  const e = rec.logs.find((l) => l.body === 'payment failed');
  assert.equal(e.severityText.toLowerCase(), 'error');
  assert.equal(e.attributes['exception.type'], 'Error');
  assert.equal(e.attributes['exception.message'], 'card declined');
  assert.match(e.attributes['exception.stacktrace'], /Error: card declined\n\s+at /);
  assert.match(e.attributes['exception.stacktrace'], /issuer said no/);
  assert.equal(e.resource['service.name'], 'winston-fixture');
  const line = app.out.stdout.split('\n').find((l) => l.includes('payment failed'));
  const json = JSON.parse(line);
  assert.equal(json.level, 'error');
  assert.equal(json.error.code, 'E_DECLINED');
  assert.equal(json.error.cause.message, 'issuer said no');
  assert.match(json.trace_id, /^[0-9a-f]{32}$/);
  assert.equal(json['service.name'], 'winston-fixture');
});

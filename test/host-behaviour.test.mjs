// The host's behaviour is untouched: applications built on express 4, koa 2 and winston 3 give
// the same answers under the preload (development: every request sampled, express layer spans
// on) as without it. Each case runs one fixture twice, plain and under the preload, sends both
// the same requests and compares status, headers (all but Date) and body; winston's fixture
// compares what the application can observe of its loggers and winston's own stderr. The
// preloaded run must also show the instrumentation really ran (layer spans, middleware spans,
// the application's log records on OTLP), or the comparison would prove nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { receiverPerFile } from './support/receiver-per-file.mjs';
import { startApp } from './support/app.mjs';

const shared = receiverPerFile();
const { apps } = shared;

const ENV = {
  OTELKIT_ENVIRONMENT: 'development',
  OTEL_BSP_SCHEDULE_DELAY: '50',
  OTEL_BLRP_SCHEDULE_DELAY: '50',
  OTEL_METRICS_EXPORTER: 'none',
};

function launch(fixture, preloaded) {
  const app = startApp(fixture, preloaded ? { env: { ...ENV, OTEL_EXPORTER_OTLP_ENDPOINT: shared.rec.url, OTEL_SERVICE_NAME: `host-${fixture}` } } : { preload: [], env: {} });
  apps.push(app);
  return app;
}

/** status, headers but Date, and body of one request. */
async function answer(port, path, headers) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  const kept = [...res.headers].filter(([name]) => name !== 'date' && name !== 'keep-alive' && name !== 'connection');
  return { status: res.status, headers: kept, body: await res.text() };
}

/** Sends each request to the plain and the preloaded app; asserts the answers are equal; returns the plain ones. */
async function sameAnswers(fixture, requests) {
  const plain = launch(fixture, false);
  const preloaded = launch(fixture, true);
  const [plainPort, preloadedPort] = await Promise.all([plain.port(), preloaded.port()]);
  const answers = [];
  for (const [path, headers = {}] of requests) {
    const expected = await answer(plainPort, path, headers);
    const actual = await answer(preloadedPort, path, headers);
    assert.deepEqual(actual, expected, `${path} with ${JSON.stringify(headers)}: the preloaded app answers as the plain one`);
    answers.push({ path, sent: headers, ...expected });
  }
  return answers;
}

test('express 4 res.format(): q-values, wildcards, charsets, .default and the next a handler gets are as without otelkit', async () => {
  const accept = (a) => ({ accept: a });
  const answers = await sameAnswers('host-express.js', [
    ['/mw', accept('text/html; q=.5, application/json, */*; q=.1')],
    ['/mw', accept('text/html; q=.5, application/*, */*; q=.1')],
    ['/mw', accept('application/json')],
    ['/mw', accept('text/html')],
    ['/mw', accept('text/plain')],
    ['/mw', accept('text/html; q=.5, text/plain')],
    ['/mw', {}],
    ['/mw', accept('image/png')],
    ['/default', accept('text/html')],
    ['/default', accept('*/*')],
    ['/fails', accept('application/json')],
    ['/fails', accept('text/plain')],
    ['/params', accept('text/html; q=.5, application/json, */*; q=.1')],
    ['/params', accept('text/html')],
    ['/params', accept('text/plain')],
    ['/route', accept('application/json')],
    ['/route', accept('text/plain')],
    ['/router/format', accept('application/json, text/html; q=0.9')],
    ['/router/format', accept('text/html')],
  ]);
  // The cases say what they should: the JSON handlers were chosen and saw their layer's next.
  const json = answers.find((a) => a.path === '/mw' && a.sent.accept?.startsWith('text/html; q=.5, application/json'));
  assert.deepEqual(JSON.parse(json.body), { format: 'json', sameRequest: true, sameNext: true });
  assert.ok(json.headers.some(([n, v]) => n === 'content-type' && v === 'application/json; charset=utf-8'));
  assert.equal(answers.find((a) => a.path === '/default' && a.sent.accept === 'text/html').body, 'default, same next: true');
  assert.equal(answers.find((a) => a.path === '/fails' && a.sent.accept === 'application/json').status, 503);
  assert.equal(answers.find((a) => a.path === '/mw' && a.sent.accept === 'image/png').status, 406);
  // The preloaded app did make layer spans: otelkit's layer wrapper was in the way of each request.
  await shared.rec.waitFor((r) => r.spans.some((s) => s.attributes['express.name'] === 'negotiate'), { timeoutMs: 15000 });
});

test('koa 2: app.use() rejects what is not middleware with koa\'s own error; the middleware chain answers as without otelkit', async () => {
  const answers = await sameAnswers('host-koa.js', [['/use-errors'], ['/chain'], ['/teapot'], ['/sync-throw'], ['/chain']]);
  const { useErrors } = JSON.parse(answers[0].body);
  assert.equal(useErrors.length, 8);
  for (const u of useErrors) assert.equal(u.thrown, 'TypeError: middleware must be a function!', `app.use(${u.value})`);
  assert.deepEqual(JSON.parse(answers[1].body).order, ['a', 'b', 'c']);
  assert.equal(answers[2].status, 418);
  assert.equal(answers[3].status, 500);
  // The koa instrumentation was active: middleware spans in the preloaded app's traces.
  await shared.rec.waitFor((r) => r.spans.some((s) => s.attributes['koa.type'] === 'middleware'), { timeoutMs: 15000 });
});

/** Runs the winston fixture; its one JSON line and winston's own stderr lines (otelkit's JSON lines left out). */
async function winstonRun(preloaded) {
  const app = launch('host-winston.js', preloaded);
  const { code } = await app.exited;
  assert.equal(code, 0, app.out.stderr);
  const stderr = app.out.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{"time"'));
  return { observed: JSON.parse(app.out.stdout.trim()), stderr };
}

test('winston 3: the application\'s loggers, their transports and records are as without otelkit, and still reach OTLP', async () => {
  const plain = await winstonRun(false);
  const preloaded = await winstonRun(true);
  assert.deepEqual(preloaded.observed, plain.observed);
  assert.deepEqual(preloaded.stderr, plain.stderr);
  // What was compared is what the application sees: its own transport only, records without
  // extra enumerable keys, and winston's warning about the logger without transports.
  assert.deepEqual(plain.observed.applicationArray, ['Keep']);
  assert.deepEqual(plain.observed.loggerTransports, ['Keep']);
  assert.deepEqual(plain.observed.bareTransports, []);
  assert.deepEqual(plain.observed.records.map((r) => r.message), ['order placed', 'stock low']);
  assert.ok(plain.stderr.some((l) => l.includes('Attempt to write logs with no transports')), plain.stderr.join('\n'));
  // The bridge still carries the application's records to OTLP, each once, with its attributes
  // and level; the one below the logger's level is not sent.
  const bodies = ['order placed', 'stock low', 'nobody is listening'];
  await shared.rec.waitFor((r) => bodies.every((b) => r.logs.some((l) => l.body === b)), { timeoutMs: 15000 });
  await new Promise((r) => setTimeout(r, 200));
  const appLogs = shared.rec.logs.filter((l) => l.scope?.name === '@opentelemetry/winston-transport');
  assert.deepEqual(appLogs.map((l) => l.body).sort(), [...bodies].sort());
  const placed = appLogs.find((l) => l.body === 'order placed');
  assert.equal(placed.attributes.orderId, 42);
  assert.equal(placed.severityText, 'info');
  assert.equal(appLogs.find((l) => l.body === 'stock low').severityText, 'warn');
});

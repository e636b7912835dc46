// The production logger (issue 3): stdout JSON/pretty, per-logger levels, rotated file, OTLP
// bridge (exactly once, also with the winston instrumentation active), trace correlation,
// errors, redaction, no mutation of application objects.
import { test, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { context } = require('@opentelemetry/api');
const { logs, SeverityNumber } = require('@opentelemetry/api-logs');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
const { LoggerProvider, SimpleLogRecordProcessor, InMemoryLogRecordExporter } = require('@opentelemetry/sdk-logs');
const winston = require('winston');

const { getLogger } = require('../dist/logs/logger.js');
const { initLogging, flushLogging, resetLogging } = require('../dist/logs/setup.js');
const { winstonInstrumentationConfig } = require('../dist/logs/winston-instrumentation-config.js');
const { createRedactor } = require('../dist/redact/redactor.js');
const { setupDiag } = require('../dist/diag.js');

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracer = new BasicTracerProvider().getTracer('test');
const exporter = new InMemoryLogRecordExporter();
const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
logs.setGlobalLoggerProvider(provider);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-logger-'));
after(() => {
  resetLogging();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function sink() {
  const chunks = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
  };
}

const CFG = { level: 'info', levels: [], format: 'json', captureConsole: false, bridge: true };

function init(overrides = {}, redact = true) {
  const out = sink();
  initLogging({ ...CFG, ...overrides }, {
    serviceName: 'orders-svc',
    redactor: createRedactor({ enabled: redact, extraKeys: [] }),
    stdout: out.stream,
  });
  return out;
}

const records = () => exporter.getFinishedLogRecords();

beforeEach(() => {
  resetLogging();
  exporter.reset();
});

test('JSON line on stdout: timestamp, level, logger, message, service.name, metadata', () => {
  const out = init();
  const log = getLogger('orders');
  assert.ok(log instanceof winston.Logger, 'a real winston Logger');
  log.info('order processed', { orderId: 42, userId: 'u-1', nested: { ok: true } });
  const [line] = out.lines();
  assert.match(line.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(line.level, 'info');
  assert.equal(line.logger, 'orders');
  assert.equal(line.message, 'order processed');
  assert.equal(line['service.name'], 'orders-svc');
  assert.equal(line.orderId, 42);
  assert.equal(line.userId, 'u-1');
  assert.deepEqual(line.nested, { ok: true });
  assert.equal(line.trace_id, undefined, 'no span, no ids');
});

test('default logger name is the service name; winston call shapes all work', () => {
  const out = init();
  const log = getLogger();
  log.log('warn', 'via log()', { a: 1 });
  log.log({ level: 'info', message: 'info object', b: 2 });
  log.info({ message: 'object form', c: 3 });
  log.info('hello %s, %d items', 'bob', 3, { d: 4 });
  log.warn('');
  const lines = out.lines();
  assert.deepEqual(lines.map((l) => [l.logger, l.level, l.message]), [
    ['orders-svc', 'warn', 'via log()'],
    ['orders-svc', 'info', 'info object'],
    ['orders-svc', 'info', 'object form'],
    ['orders-svc', 'info', 'hello bob, 3 items'],
    ['orders-svc', 'warn', ''],
  ]);
  assert.equal(lines[0].a, 1);
  assert.equal(lines[1].b, 2);
  assert.equal(lines[2].c, 3);
  assert.equal(lines[3].d, 4);
});

test('pretty format: one coloured readable line', () => {
  const out = init({ format: 'pretty' });
  getLogger('orders').warn('low stock', { sku: 'A1' });
  const text = out.text();
  assert.ok(text.includes('\x1b[33mWARN'), 'warn in yellow');
  assert.match(text, /\[orders\].*low stock/);
  assert.match(text, /sku=.*A1/);
  assert.equal(text.trim().split('\n').length, 1);
});

test('per-logger levels: name and dotted children, child() keeps the name, default info', () => {
  const out = init({ level: 'info', levels: [{ name: 'db.pool', level: 'error' }, { name: 'db', level: 'debug' }, { name: 'http', level: 'warn' }] });
  getLogger('db').debug('db debug');
  getLogger('db.query').debug('db.query debug');
  getLogger('db.pool').warn('db.pool warn (hidden)');
  getLogger('db.pool.x').error('db.pool.x error');
  getLogger('dbx').debug('dbx debug (hidden)');
  getLogger('http').info('http info (hidden)');
  getLogger('http.client').warn('http.client warn');
  getLogger('app').debug('app debug (hidden)');
  getLogger('app').info('app info');
  const child = getLogger('db').child({ requestId: 'r-1' });
  child.debug('child debug');
  const lines = out.lines();
  assert.deepEqual(lines.map((l) => l.message), ['db debug', 'db.query debug', 'db.pool.x error', 'http.client warn', 'app info', 'child debug']);
  const c = lines.at(-1);
  assert.equal(c.logger, 'db');
  assert.equal(c.requestId, 'r-1');
  assert.equal(getLogger('http').isLevelEnabled('info'), false);
  assert.equal(getLogger('http').isWarnEnabled(), true);
  assert.equal(getLogger('db').isDebugEnabled(), true);
  assert.equal(getLogger('db').level, 'debug');
});

test('usable before initLogging (info, JSON) and picks up the configuration when it runs', () => {
  const early = getLogger('early');
  assert.equal(early.isDebugEnabled(), false);
  const out = init({ levels: [{ name: 'early', level: 'debug' }] });
  assert.equal(getLogger('early'), early, 'cached per name');
  early.debug('now visible');
  const [line] = out.lines();
  assert.equal(line.message, 'now visible');
  assert.equal(line['service.name'], 'orders-svc');
});

test('setting logger.level by hand works and survives', () => {
  const out = init();
  const log = getLogger('manual');
  log.level = 'debug';
  log.debug('shown');
  log.level = 'error';
  log.warn('hidden');
  assert.deepEqual(out.lines().map((l) => l.message), ['shown']);
});

test('OTLP bridge: severity, body, attributes, logger name, exactly one record per call', () => {
  init();
  getLogger('orders').warn('low stock', { sku: 'A1', qty: 3, tags: ['x'], when: new Date(0) });
  getLogger('orders').http('GET /');
  getLogger('orders').debug('below level: not bridged');
  const recs = records();
  assert.equal(recs.length, 1);
  const [r, h] = recs;
  assert.equal(r.severityNumber, SeverityNumber.WARN);
  assert.equal(r.severityText, 'warn');
  assert.equal(r.body, 'low stock');
  assert.equal(r.attributes['logger.name'], 'orders');
  assert.equal(r.attributes.sku, 'A1');
  assert.equal(r.attributes.qty, 3);
  assert.deepEqual(r.attributes.tags, ['x']);
  assert.equal(r.attributes.when, '1970-01-01T00:00:00.000Z');
  assert.equal(r.instrumentationScope.name, 'orders');
  assert.equal(h, undefined, 'http is below info');
});

test('bridge off (OTEL_LOGS_EXPORTER=none): stdout only', () => {
  const out = init({ bridge: false });
  getLogger('orders').info('local only');
  assert.equal(out.lines().length, 1);
  assert.equal(records().length, 0);
});

test('trace correlation: ids of the span active at the call, in JSON and on the OTLP record', async () => {
  const out = init();
  const log = getLogger('orders');
  let expected;
  await tracer.startActiveSpan('work', async (span) => {
    expected = span.spanContext();
    await new Promise((r) => setTimeout(r, 5));
    log.info('inside span');
    span.end();
  });
  log.info('outside span');
  const [inside, outside] = out.lines();
  assert.equal(inside.trace_id, expected.traceId);
  assert.equal(inside.span_id, expected.spanId);
  assert.equal(outside.trace_id, undefined);
  const [rin, rout] = records();
  assert.equal(rin.spanContext.traceId, expected.traceId);
  assert.equal(rin.spanContext.spanId, expected.spanId);
  assert.equal(rout.spanContext, undefined);
});

test('trace ids are captured at call time even when the OTLP export happens later (batch)', async () => {
  // A batch processor exports after the span ended and the context is gone.
  const { BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
  const late = new InMemoryLogRecordExporter();
  const p2 = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: late, scheduledDelayMillis: 20 })] });
  logs.disable();
  logs.setGlobalLoggerProvider(p2);
  try {
    init();
    let expected;
    tracer.startActiveSpan('batched', (span) => {
      expected = span.spanContext();
      getLogger('orders').info('in span');
      span.end();
    });
    await p2.forceFlush();
    const [rec] = late.getFinishedLogRecords();
    assert.equal(rec.spanContext.traceId, expected.traceId);
    assert.equal(rec.spanContext.spanId, expected.spanId);
  } finally {
    logs.disable();
    logs.setGlobalLoggerProvider(provider);
  }
});

function paymentError() {
  const root = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  const err = new Error('card declined', { cause: root });
  err.code = 'E_CARD';
  return err;
}

test('errors: message + Error and Error alone keep type, message, stack, code and cause chain', () => {
  const out = init();
  const log = getLogger('payments');
  const err = paymentError();
  log.error('payment failed', err);
  log.error(err);
  log.error('with meta', { err: new TypeError('bad input'), orderId: 7 });
  class PaymentError extends Error {}
  log.error(new PaymentError('subclass'));
  const [a, b, c, d] = out.lines();
  assert.equal(a.message, 'payment failed');
  assert.equal(a.error.type, 'Error');
  assert.equal(a.error.message, 'card declined');
  assert.equal(a.error.code, 'E_CARD');
  assert.match(a.error.stack, /^Error: card declined\n\s+at /);
  assert.equal(a.error.cause.message, 'socket hang up');
  assert.equal(a.error.cause.code, 'ECONNRESET');
  assert.match(a.error.cause.stack, /socket hang up/);
  assert.equal(b.message, 'card declined');
  assert.equal(b.error.code, 'E_CARD');
  assert.equal(c.error.type, 'TypeError');
  assert.equal(c.orderId, 7);
  assert.equal(c.err, undefined, 'the error is not logged twice');
  assert.equal(d.error.type, 'PaymentError');

  const [ra, rb] = records();
  for (const r of [ra, rb]) {
    assert.equal(r.attributes['exception.type'], 'Error');
    assert.equal(r.attributes['exception.message'], 'card declined');
    assert.match(r.attributes['exception.stacktrace'], /^Error: card declined\n\s+at [\s\S]*\nCaused by: Error: socket hang up [\s\S]*\[code=ECONNRESET\]|Caused by: Error: socket hang up/);
    assert.equal(r.attributes['exception.code'], 'E_CARD');
    assert.equal(r.attributes['exception.cause'].message, 'socket hang up');
    assert.equal(r.attributes['exception.cause'].code, 'ECONNRESET');
  }
  assert.equal(ra.body, 'payment failed');
  assert.equal(rb.body, 'card declined');
});

test('redaction: password field, bearer token, email, nested keys, in stdout and OTLP; app objects untouched', () => {
  const out = init();
  const meta = { user: { email: 'alice@example.com', password: 'hunter2', profile: { apiKey: 'k-123' } }, list: [{ token: 't' }] };
  const before = structuredClone(meta);
  const err = new Error('login failed for bob@example.com');
  getLogger('auth').warn('got Authorization: Bearer abcdef0123456789abcdef for alice@example.com', meta);
  getLogger('auth').error('failed', err);
  assert.deepEqual(meta, before, 'metadata object not mutated');
  assert.equal(err.message, 'login failed for bob@example.com', 'error not mutated');
  const text = out.text();
  for (const secret of ['hunter2', 'k-123', 'alice@example.com', 'bob@example.com', 'abcdef0123456789abcdef']) {
    assert.ok(!text.includes(secret), `stdout leaks ${secret}`);
  }
  const [line] = out.lines();
  assert.equal(line.user.password, '[REDACTED]');
  assert.equal(line.user.profile.apiKey, '[REDACTED]');
  assert.equal(line.list[0].token, '[REDACTED]');
  assert.match(line.message, /Bearer \[REDACTED\]/);
  const otlp = JSON.stringify(records().map((r) => ({ body: r.body, attributes: r.attributes })));
  for (const secret of ['hunter2', 'k-123', 'alice@example.com', 'bob@example.com', 'abcdef0123456789abcdef']) {
    assert.ok(!otlp.includes(secret), `OTLP leaks ${secret}`);
  }
});

test('redaction off (OTELKIT_REDACT=false) leaves values alone', () => {
  const out = init({}, false);
  getLogger('auth').info('x', { password: 'hunter2' });
  assert.equal(out.lines()[0].password, 'hunter2');
});

test('child metadata is redacted once and merged; reserved names do not clash', () => {
  const out = init();
  const child = getLogger('api').child({ requestId: 'r-9', session: 's-secret' });
  child.info('hello', { level: 'not-a-level', message: 'not the message' });
  const [line] = out.lines();
  assert.equal(line.level, 'info');
  assert.equal(line.message, 'hello');
  assert.equal(line.requestId, 'r-9');
  assert.equal(line.session, '[REDACTED]');
  assert.equal(line._level, 'not-a-level');
  assert.equal(line._message, 'not the message');
});

test('odd metadata: cycles, bigint, functions, class instances, Map', () => {
  const out = init();
  const cyc = { name: 'loop' };
  cyc.self = cyc;
  class Point {
    constructor() {
      this.x = 1;
      this.y = 2;
    }
  }
  getLogger('odd').info('odd', { cyc, big: 10n, fn() {}, p: new Point(), m: new Map([['k', 'v']]), u: undefined });
  const [line] = out.lines();
  assert.equal(line.cyc.self, '[Circular]');
  assert.equal(line.big, '10');
  assert.equal('fn' in line, false);
  assert.deepEqual(line.p, { x: 1, y: 2 });
  assert.deepEqual(line.m, { k: 'v' });
  assert.equal(records().length, 1);
  assert.deepEqual(records()[0].attributes.p, { x: 1, y: 2 });
});

test('rotated file: own minimum level, size-based rotation, several files kept, redacted', async () => {
  const file = path.join(tmp, 'rot', 'app.log');
  init({ file: { path: file, level: 'warn', maxSizeBytes: 2000, maxFiles: 3 } });
  const log = getLogger('filetest');
  for (let i = 0; i < 60; i++) {
    log.info(`info ${i} (not in file)`);
    log.warn(`warn ${i} password=hunter2`, { i, pad: 'x'.repeat(60) });
  }
  await flushLogging();
  const files = fs.readdirSync(path.dirname(file)).sort();
  assert.deepEqual(files, ['app.log', 'app.log.1', 'app.log.2', 'app.log.3']);
  let all = '';
  for (const f of files) {
    const size = fs.statSync(path.join(path.dirname(file), f)).size;
    assert.ok(size <= 2000, `${f} is ${size} bytes`);
    all += fs.readFileSync(path.join(path.dirname(file), f), 'utf8');
  }
  const lines = all.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.ok(lines.length > 20);
  assert.ok(lines.every((l) => l.level === 'warn'), 'file level filter');
  assert.ok(!all.includes('hunter2'));
  // the newest lines are in the live file, the oldest kept ones in .3
  const live = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(live.at(-1).i, 59);
});

test('unwritable file path: one warning on stderr, stdout logging goes on', () => {
  const warnings = [];
  setupDiag('warn', (line) => warnings.push(line));
  try {
    const blocker = path.join(tmp, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const out = init({ file: { path: path.join(blocker, 'app.log'), level: 'info', maxSizeBytes: 1000, maxFiles: 2 } });
    getLogger('x').info('still logging');
    getLogger('x').error('and again');
    assert.equal(out.lines().length, 2);
    assert.equal(warnings.length, 1, warnings.join(''));
    assert.match(warnings[0], /log file/);
  } finally {
    setupDiag('warn', (line) => process.stderr.write(line));
  }
});

test('winstonInstrumentationConfig follows the bridge switch', () => {
  assert.equal(winstonInstrumentationConfig({ ...CFG, bridge: true }).disableLogSending, false);
  assert.equal(winstonInstrumentationConfig({ ...CFG, bridge: false }).disableLogSending, true);
});

test('zero allocation below the level', () => {
  init({ bridge: false });
  const log = getLogger('quiet');
  const meta = { orderId: 1, userId: 'u' };
  for (let i = 0; i < 2e5; i++) log.debug('order processed', meta);
  // 2e6 calls that each allocated even 16 bytes would grow the heap by 32 MB (or trigger GCs
  // that shrink it, which this bound also tolerates). The least of three runs: on a loaded
  // machine the optimising compilers can finish during a run, and their code and feedback live
  // on the heap too (up to 3 MB seen).
  let grown = Infinity;
  for (let run = 0; run < 3; run++) {
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 2e6; i++) log.debug('order processed', meta);
    grown = Math.min(grown, process.memoryUsage().heapUsed - h0);
  }
  assert.ok(grown < 1_000_000, `heap grew by ${grown} bytes`);
});

test('exactly once on OTLP with @opentelemetry/instrumentation-winston active (child process)', () => {
  const script = `
    const { WinstonInstrumentation } = require('@opentelemetry/instrumentation-winston');
    const { winstonInstrumentationConfig } = require('./dist/logs/winston-instrumentation-config.js');
    const { initLogging } = require('./dist/logs/setup.js');
    const { getLogger } = require('./dist/logs/logger.js');
    const cfg = { level: 'info', levels: [], format: 'json', captureConsole: false, bridge: true };
    const inst = new WinstonInstrumentation(winstonInstrumentationConfig(cfg));
    inst.enable();
    const { context } = require('@opentelemetry/api');
    const { logs } = require('@opentelemetry/api-logs');
    const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
    const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
    const { LoggerProvider, SimpleLogRecordProcessor, InMemoryLogRecordExporter } = require('@opentelemetry/sdk-logs');
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const exp = new InMemoryLogRecordExporter();
    logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: exp })] }));
    const { createRedactor } = require('./dist/redact/redactor.js');
    const { Writable } = require('node:stream');
    const lines = [];
    const stdout = new Writable({ write(c, e, cb) { lines.push(String(c)); cb(); } });
    initLogging(cfg, { serviceName: 'svc', redactor: createRedactor({ enabled: true, extraKeys: [] }), stdout });
    const winston = require('winston');
    const tracer = new BasicTracerProvider().getTracer('t');
    const appLogger = winston.createLogger({ transports: [new winston.transports.Stream({ stream: new Writable({ write(c, e, cb) { cb(); } }) })] });
    let ids;
    tracer.startActiveSpan('s', (span) => {
      ids = span.spanContext();
      getLogger('orders').info('ours');
      getLogger('orders').child({ a: 1 }).info('ours child');
      appLogger.info('theirs');
      span.end();
    });
    setTimeout(() => {
      const recs = exp.getFinishedLogRecords().map((r) => ({ body: r.body, traceId: r.spanContext && r.spanContext.traceId, scope: r.instrumentationScope.name }));
      process.stderr.write('@@' + JSON.stringify({ recs, ids, lines }) + '\\n');
    }, 50);
  `;
  const res = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
  const m = /@@(.*)/.exec(res.stderr);
  assert.ok(m, res.stderr);
  const { recs, ids, lines } = JSON.parse(m[1]);
  const count = (body) => recs.filter((r) => r.body === body).length;
  assert.equal(count('ours'), 1, JSON.stringify(recs));
  assert.equal(count('ours child'), 1, JSON.stringify(recs));
  assert.equal(count('theirs'), 1, 'the application logger is bridged by the instrumentation');
  assert.equal(recs.length, 3);
  for (const r of recs) assert.equal(r.traceId, ids.traceId);
  assert.equal(recs.find((r) => r.body === 'theirs').scope, '@opentelemetry/winston-transport');
  assert.equal(lines.length, 2);
  assert.equal(JSON.parse(lines[0]).trace_id, ids.traceId);
  assert.equal(JSON.parse(lines[0]).trace_flags, undefined, 'instrumentation patches do not touch our records');
});

test('flushLogging resolves (also with nothing to flush)', async () => {
  init();
  await flushLogging(100);
});

// Drift fails loudly. Each of otelkit's patches of an upstream instrumentation, against the
// pinned version: the private members it replaces or calls exist, and upstream still calls
// them, so the patch takes effect (a member moved by an upgrade fails here, not silently in
// production). And when a member is missing, the patch stays out, says so once on stderr and
// leaves upstream's behaviour as it was. Members and pins: ARCHITECTURE.md section 4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { ROOT } from './support/app.mjs';

const require = createRequire(path.join(ROOT, 'package.json'));
const { setupDiag } = require('./dist/diag.js');
const { useOwnLayerWrapper } = require('./dist/instrument/patches/express-layers.js');
const { koaUseChecksItsArgument } = require('./dist/instrument/patches/koa-use.js');
const { winstonLeavesLoggersAlone } = require('./dist/instrument/patches/winston-loggers.js');
const { sampledParentsOnly } = require('./dist/instrument/patches/sampled-parents-only.js');
const { redisCommandSpans } = require('./dist/instrument/patches/redis-commands.js');
const { captureExpressErrors } = require('./dist/instrument/patches/express-errors.js');
const { captureKoaErrors } = require('./dist/instrument/patches/koa-errors.js');
const { trackWinstonErrors, trackTransportErrors } = require('./dist/instrument/patches/winston-errors.js');
const { connectsOutsideRequestsUntraced } = require('./dist/instrument/patches/pg-connections.js');

/** What otelkit says on stderr while fn runs, as parsed JSON lines. */
function stderrOf(fn) {
  const lines = [];
  setupDiag('warn', (line) => lines.push(JSON.parse(line)));
  try {
    fn();
  } finally {
    setupDiag('warn');
  }
  return lines;
}

/** Wraps obj[name] with a call counter (after otelkit's patch replaced it); returns the counter. */
function countCalls(obj, name) {
  const counter = { calls: 0 };
  const fn = obj[name];
  obj[name] = function (...args) {
    counter.calls++;
    return fn.apply(this, args);
  };
  return counter;
}

/** The instrumentation, constructed disabled, then enabled after `patch` ran (as otelkit's loader does). */
function instrumentation(pkg, cls, config = {}) {
  const Cls = require(pkg)[cls];
  return new Cls({ ...config, enabled: false });
}

test('express-layers: _applyPatch and tracer exist, and express layers get otelkit\'s wrapper', () => {
  const inst = instrumentation('@opentelemetry/instrumentation-express', 'ExpressInstrumentation');
  const upstream = inst._applyPatch;
  assert.deepEqual(stderrOf(() => assert.equal(useOwnLayerWrapper(inst, { layerSpans: true }), true)), []);
  assert.notEqual(inst._applyPatch, upstream);
  const calls = countCalls(inst, '_applyPatch');
  inst.enable();
  try {
    const express = require('express');
    const app = express();
    app.use(function mw(_req, _res, next) {
      next();
    });
    app.get('/x', (_req, res) => res.end());
    assert.ok(calls.calls >= 2, `upstream called _applyPatch for the new layers (${calls.calls})`);
    const mw = app._router.stack.find((l) => l.name === 'mw');
    assert.equal(mw.handle.name, 'otelkitLayer', 'the middleware layer runs through otelkit\'s wrapper');
  } finally {
    inst.disable();
  }
});

test('koa-use: _getKoaUsePatch exists and is what patches koa\'s use()', () => {
  const inst = instrumentation('@opentelemetry/instrumentation-koa', 'KoaInstrumentation');
  assert.deepEqual(stderrOf(() => assert.equal(koaUseChecksItsArgument(inst), true)), []);
  const calls = countCalls(inst, '_getKoaUsePatch');
  inst.enable();
  try {
    const Koa = require('koa');
    assert.equal(calls.calls, 1, 'upstream built its use() patch from the member otelkit replaced');
    const app = new Koa();
    assert.throws(() => app.use(null), /^TypeError: middleware must be a function!$/);
    const mw = async () => {};
    app.use(mw);
    assert.notEqual(app.middleware[0], mw, 'a function still goes through upstream\'s patch (wrapped for spans)');
  } finally {
    inst.disable();
  }
});

/**
 * Logs records of every shape through a logger with upstream's OpenTelemetryTransportV3 piped, as
 * the application would pipe it: each record then reaches the logs API twice, through otelkit's
 * bridge and through the piped transport, and the two must be equal in every field but the
 * emission times.
 */
async function bridgeEqualsPipedTransport(winston, provider, exporter) {
  const { context, trace, ROOT_CONTEXT } = require('@opentelemetry/api');
  exporter.reset();
  const { OpenTelemetryTransportV3 } = require('@opentelemetry/winston-transport');
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.combine(winston.format.errors({ stack: true }), winston.format.splat(), winston.format.json()),
    transports: [new OpenTelemetryTransportV3()],
  });
  const child = logger.child({ component: 'billing' });
  const err = Object.assign(new Error('card declined'), { code: 'E_CARD' });
  const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
  logger.info('plain');
  logger.warn('with meta', { orderId: 7, nested: { a: [1, 2] }, 'otel.event.name': 'order.warned' });
  logger.debug('splat %s and %d', 'text', 3);
  logger.error('failed', err);
  logger.error(err);
  child.info('from a child', { extra: true });
  logger.log({ level: 'info', message: 'as an object', tags: ['x'] });
  logger.silly('below the level');
  context.with(trace.setSpan(ROOT_CONTEXT, span), () => logger.info('inside a span'));
  await provider.forceFlush();
  const rows = exporter.getFinishedLogRecords().map((r) =>
    JSON.stringify({
      body: r.body,
      severityNumber: r.severityNumber,
      severityText: r.severityText,
      attributes: r.attributes,
      eventName: r.eventName,
      spanContext: r.spanContext ?? null,
      scope: r.instrumentationScope,
      dropped: r.droppedAttributesCount,
    }),
  );
  assert.equal(rows.length, 16, 'eight records at or above the level, each twice');
  const counts = new Map();
  for (const row of rows) counts.set(row, (counts.get(row) ?? 0) + 1);
  for (const [row, n] of counts) assert.equal(n, 2, `emitted by the bridge and by the piped transport alike: ${row}`);
  const inSpan = JSON.parse(rows.find((r) => r.includes('inside a span')));
  assert.equal(inSpan.spanContext.spanId, 'b7ad6b7169203331');
}

test('winston-loggers: the members exist; a logger keeps its transports, its records reach the logs API once, as upstream\'s transport emits them', async () => {
  const { logs } = require('@opentelemetry/api-logs');
  const { LoggerProvider, SimpleLogRecordProcessor, InMemoryLogRecordExporter } = require('@opentelemetry/sdk-logs');
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  logs.setGlobalLoggerProvider(provider);
  const { context } = require('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const inst = instrumentation('@opentelemetry/instrumentation-winston', 'WinstonInstrumentation');
  assert.deepEqual(stderrOf(() => assert.equal(winstonLeavesLoggersAlone(inst, () => false), true)), []);
  const writes = countCalls(inst, '_getPatchedWrite');
  const configures = countCalls(inst, '_getPatchedConfigure');
  inst.enable();
  try {
    const winston = require('winston');
    assert.equal(writes.calls, 1, 'upstream built its write() patch from the member otelkit replaced');
    assert.equal(configures.calls, 1, 'upstream built its configure() patch from the member otelkit replaced');
    const seen = [];
    const Transport = require('winston-transport');
    const own = new (class extends Transport {
      log(info, cb) {
        seen.push(info);
        cb();
      }
    })();
    const transports = [own];
    const logger = winston.createLogger({ transports });
    logger.info('drift check', { n: 1 });
    logger.debug('below the level');
    assert.equal(transports.length, 1);
    assert.deepEqual(logger.transports, [own]);
    assert.equal(seen.length, 1);
    assert.equal(Object.prototype.propertyIsEnumerable.call(seen[0], Symbol.for('opentelemetry.js.contrib.winston.context')), false);
    await provider.forceFlush();
    const records = exporter.getFinishedLogRecords();
    assert.deepEqual(records.map((r) => [r.body, r.severityText, r.attributes.n]), [['drift check', 'info', 1]]);
    await bridgeEqualsPipedTransport(winston, provider, exporter);
  } finally {
    inst.disable();
    logs.disable();
    context.disable();
  }
});

test('winston-records: a winston whose Logger has no _transform of its own gets upstream\'s transport, said once', () => {
  const inst = instrumentation('@opentelemetry/instrumentation-winston', 'WinstonInstrumentation');
  assert.equal(winstonLeavesLoggersAlone(inst, () => false), true);
  const configured = [];
  const configure = inst._getPatchedConfigure()(function (options) {
    configured.push(options);
  });
  const lines = stderrOf(() => {
    configure.call({}, { transports: [] });
    configure.call(Object.create(null), {});
  });
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.match(lines[0].msg, /winston-records patch is not applied/);
  assert.deepEqual(configured.map((o) => o.transports.map((t) => t.constructor.name)), [['OpenTelemetryTransportV3'], ['OpenTelemetryTransportV3']]);
});

test('redis: instrumentationV4_V5, _traceClientCommand and the sendCommand factory exist, and node-redis runs through them', async () => {
  const outer = instrumentation('@opentelemetry/instrumentation-redis', 'RedisInstrumentation');
  const inner = outer.instrumentationV4_V5;
  const before = { trace: inner._traceClientCommand, factory: inner._getPatchRedisClientSendCommand };
  assert.deepEqual(stderrOf(() => sampledParentsOnly('redis', outer)), []);
  assert.notEqual(inner._traceClientCommand, before.trace, 'the unsampled-parent shortcut is installed');
  assert.notEqual(inner._getPatchRedisClientSendCommand, before.factory, 'the own command path is installed');
  const factory = countCalls(inner, '_getPatchRedisClientSendCommand');
  const traced = countCalls(inner, '_traceClientCommand');
  outer.enable();
  try {
    const { createClient } = require('redis');
    assert.ok(factory.calls >= 1, 'upstream patched sendCommand from the factory otelkit replaced');
    // A closed client: no server needed; without a parent the command takes upstream's path.
    await assert.rejects(createClient().sendCommand(['PING']));
    assert.equal(traced.calls, 1, 'the command ran through _traceClientCommand');
  } finally {
    outer.disable();
  }
});

test('ioredis: _traceSendCommand exists and wraps ioredis\'s sendCommand', () => {
  const inst = instrumentation('@opentelemetry/instrumentation-ioredis', 'IORedisInstrumentation');
  const before = inst._traceSendCommand;
  assert.deepEqual(stderrOf(() => sampledParentsOnly('ioredis', inst)), []);
  assert.notEqual(inst._traceSendCommand, before);
  const calls = countCalls(inst, '_traceSendCommand');
  inst.enable();
  try {
    const Redis = require('ioredis');
    assert.equal(calls.calls, 1, 'upstream wrapped sendCommand through the member otelkit replaced');
    assert.equal(Redis.prototype.sendCommand.name, 'sendCommand');
  } finally {
    inst.disable();
  }
});

test('pg: the query and pool-connect factories, the pool listeners and the duration recorder exist, and pg is patched through them', () => {
  const inst = instrumentation('@opentelemetry/instrumentation-pg', 'PgInstrumentation', { requireParentSpan: true });
  const before = { query: inst._getClientQueryPatch, connect: inst._getPoolConnectPatch };
  assert.deepEqual(stderrOf(() => sampledParentsOnly('pg', inst)), []);
  assert.equal(typeof inst._setPoolConnectEventListeners, 'function');
  assert.equal(typeof inst.recordOperationDuration, 'function');
  assert.notEqual(inst._getClientQueryPatch, before.query);
  assert.notEqual(inst._getPoolConnectPatch, before.connect);
  const query = countCalls(inst, '_getClientQueryPatch');
  const connect = countCalls(inst, '_getPoolConnectPatch');
  inst.enable();
  try {
    const pg = require('pg');
    assert.ok(query.calls >= 1, 'upstream patched Client.prototype.query from the factory otelkit replaced');
    assert.ok(connect.calls >= 1, 'upstream patched Pool.prototype.connect from the factory otelkit replaced');
    assert.equal(pg.Client.prototype.query.name, 'query');
  } finally {
    inst.disable();
  }
});

test('a patch whose upstream member is gone is not applied, said once on stderr, and upstream\'s behaviour stays', () => {
  // Each stand-in lacks one member the patch needs; the others are functions, as upstream's.
  const fn = () => {};
  const cases = [
    ['express-layers', () => ({ tracer: {} }), (o) => useOwnLayerWrapper(o, { layerSpans: true }), '_applyPatch'],
    ['koa-use', () => ({}), (o) => koaUseChecksItsArgument(o), '_getKoaUsePatch'],
    ['winston-loggers', () => ({ getConfig: () => ({}), _getPatchedWrite: fn, _handleLogCorrelation: fn }), (o) => winstonLeavesLoggersAlone(o, () => false), '_getPatchedConfigure'],
    ['redis-sampled-parents', () => ({ instrumentationV4_V5: { _getPatchRedisClientSendCommand: fn } }), (o) => sampledParentsOnly('redis', o), '_traceClientCommand'],
    ['redis-commands', () => ({ tracer: {}, _diag: {}, getConfig: fn, _getPatchRedisClientSendCommand: fn }), (o) => redisCommandSpans(o), '_endSpanWithResponse'],
    ['ioredis-sampled-parents', () => ({ _patchSendCommand: fn }), (o) => sampledParentsOnly('ioredis', o), '_traceSendCommand'],
    ['pg-sampled-parents', () => ({ _getClientQueryPatch: fn, _getPoolConnectPatch: fn, recordOperationDuration: fn }), (o) => sampledParentsOnly('pg', o), '_setPoolConnectEventListeners'],
    ['express-errors', () => ({ getModuleDefinitions: fn }), (o) => captureExpressErrors(o, fn), '_modules'],
    ['koa-errors', () => ({ getModuleDefinitions: fn }), (o) => captureKoaErrors(o, fn), '_modules'],
    ['winston-errors', () => ({ prototype: {} }), (o) => trackTransportErrors(o, () => undefined), 'log'],
    ['pg-connections', () => ({ _getClientQueryPatch: fn, recordOperationDuration: fn }), (o) => connectsOutsideRequestsUntraced(o), '_getClientConnectPatch'],
  ];
  for (const [patch, make, apply, missing] of cases) {
    const first = make();
    const before = Object.entries(first);
    const lines = stderrOf(() => {
      const result = apply(first);
      if (result !== undefined) assert.equal(result, false, `${patch} says it did not apply`);
      apply(make());
    });
    assert.equal(lines.length, 1, `${patch}: one line for two attempts: ${JSON.stringify(lines)}`);
    assert.equal(lines[0].level, 'error');
    assert.match(lines[0].msg, new RegExp(`${patch} patch is not applied .*${missing}.*upstream's behaviour is kept`));
    // Nothing of upstream's was replaced or added: the same members, the same functions.
    assert.deepEqual(Object.entries(first), before, `${patch}: the instrumentation is as it was`);
  }
});

/**
 * require(name) as a first load for the instrumentation under test: an earlier test's instance
 * already loaded it, and require-in-the-middle hands out what it patched then (keyed by the
 * cache entry) without running the new instance's module definitions.
 */
function freshRequire(name) {
  delete require.cache[require.resolve(name)];
  return require(name);
}

/** Serves `app` (a request listener) on a free port for one GET of `path`; the answer's status and body. */
async function getOnce(listener, path) {
  const http = require('node:http');
  const server = http.createServer(listener);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${server.address().port}${path}`);
    return { status: res.status, body: await res.text() };
  } finally {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('express-errors: _modules exists, express loads through it, and Router.handle and the Layer error method report errors the app still answers', async () => {
  const inst = instrumentation('@opentelemetry/instrumentation-express', 'ExpressInstrumentation');
  const reported = [];
  assert.deepEqual(stderrOf(() => assert.equal(captureExpressErrors(inst, (err) => reported.push(err)), true)), []);
  const patches = inst._modules.map((def) => countCalls(def, 'patch'));
  inst.enable();
  try {
    const express = freshRequire('express');
    assert.ok(patches.some((c) => c.calls >= 1), 'upstream ran the module definition otelkit wrapped when express loaded');
    assert.equal(express.Router.handle.name, 'otelkitRouterHandle');
    const app = express();
    app.set('env', 'test'); // express's final handler then answers without printing the stack
    const handled = new Error('handled by the app');
    const unhandled = new Error('left to the final handler');
    app.get('/handled', () => {
      throw handled;
    });
    app.get('/unhandled', (_req, _res, next) => next(unhandled));
    app.use((err, req, res, next) => (err === handled ? res.status(418).end('app handler') : next(err)));
    const lines = [];
    const a = await getOnce(app, '/handled');
    setupDiag('warn', (line) => lines.push(line));
    const b = await getOnce(app, '/unhandled');
    setupDiag('warn');
    assert.deepEqual(a, { status: 418, body: 'app handler' }, 'the application\'s error handler answers as without otelkit');
    assert.equal(b.status, 500, 'express\'s final handler answers');
    assert.ok(reported.includes(handled), 'the error the app handled went through the Layer error method otelkit wrapped');
    assert.ok(reported.includes(unhandled), 'the error leaving the router went through Router.handle\'s callback');
    assert.deepEqual(lines, []);
  } finally {
    inst.disable();
  }
});

test('koa-errors: _modules exists, koa loads through it, and Application.callback and ctx.onerror report errors koa still answers', async () => {
  const inst = instrumentation('@opentelemetry/instrumentation-koa', 'KoaInstrumentation');
  const reported = [];
  assert.deepEqual(stderrOf(() => assert.equal(captureKoaErrors(inst, (err) => reported.push(err)), true)), []);
  const patches = inst._modules.map((def) => countCalls(def, 'patch'));
  inst.enable();
  try {
    const Koa = freshRequire('koa');
    assert.ok(patches.some((c) => c.calls >= 1), 'upstream ran the module definition otelkit wrapped when koa loaded');
    assert.equal(Koa.prototype.callback.name, 'otelkitKoaCallback');
    const app = new Koa();
    app.silent = true;
    const thrown = Object.assign(new Error('boom'), { status: 502, expose: true });
    app.use(async () => {
      throw thrown;
    });
    const answer = await getOnce(app.callback(), '/');
    assert.deepEqual(answer, { status: 502, body: 'boom' }, 'koa answers the error as without otelkit');
    assert.deepEqual(reported, [thrown], 'ctx.onerror, wrapped through callback(), reported the error once');
  } finally {
    inst.disable();
  }
});

test('winston-errors: OpenTelemetryTransportV3.prototype.log and _logger exist; an error record is tracked and emitted with what tracking adds', async () => {
  const { logs } = require('@opentelemetry/api-logs');
  const { LoggerProvider, SimpleLogRecordProcessor, InMemoryLogRecordExporter } = require('@opentelemetry/sdk-logs');
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  logs.setGlobalLoggerProvider(provider);
  const tracked = [];
  const onError = (err, _ctx, source) => {
    tracked.push([err, source]);
    return { attributes: { 'error.group': 'g1' }, exception: true };
  };
  try {
    assert.deepEqual(stderrOf(() => assert.equal(trackWinstonErrors(onError), true)), []);
    const { OpenTelemetryTransportV3 } = require('@opentelemetry/winston-transport');
    const transport = new OpenTelemetryTransportV3();
    assert.equal(typeof transport._logger?.emit, 'function', 'upstream\'s transport still keeps its logger in _logger');
    const err = new Error('card declined');
    const lines = [];
    setupDiag('warn', (line) => lines.push(line));
    // Records as winston hands them to a transport (a logger here would also reach the bridge
    // an earlier test left on winston's Logger: two calls of log() a record).
    const LEVEL = Symbol.for('level');
    const SPLAT = Symbol.for('splat');
    transport.log({ level: 'error', message: 'failed', [LEVEL]: 'error', [SPLAT]: [err] }, () => {});
    transport.log({ level: 'info', message: 'fine', [LEVEL]: 'info' }, () => {});
    setupDiag('warn');
    await provider.forceFlush();
    assert.deepEqual(tracked, [[err, 'winston']]);
    const records = exporter.getFinishedLogRecords().map((r) => [r.body, r.severityText, r.attributes['error.group'], r.eventName]);
    assert.deepEqual(records, [['failed', 'error', 'g1', 'exception'], ['fine', 'info', undefined, undefined]]);
    assert.deepEqual(lines, []);
  } finally {
    logs.disable();
  }
});

test('pg-connections: _getClientConnectPatch exists and is what patches Client.connect; a connect outside a span then makes no span', async () => {
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const { context } = require('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  // requireParentSpan off, so that upstream's connect patch would make a root span: the patch must stop it.
  const inst = instrumentation('@opentelemetry/instrumentation-pg', 'PgInstrumentation', { requireParentSpan: false });
  inst.setTracerProvider(provider);
  assert.deepEqual(stderrOf(() => assert.equal(connectsOutsideRequestsUntraced(inst), true)), []);
  const factory = countCalls(inst, '_getClientConnectPatch');
  inst.enable();
  try {
    const pg = freshRequire('pg');
    assert.ok(factory.calls >= 1, 'upstream patched Client.prototype.connect from the factory otelkit replaced');
    // Nothing listens on port 1: the connect fails, as it would without otelkit.
    await assert.rejects(new pg.Client({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 5000 }).connect(), /ECONNREFUSED/);
    await provider.forceFlush();
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), [], 'no pg.connect root span');
  } finally {
    inst.disable();
    context.disable();
  }
});

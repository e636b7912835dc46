// Config module (src/config/load.ts -> dist/config/load.js): every variable it reads, with its default,
// a good value and a bad value (exactly one warning naming the variable, the bad value and the
// fallback; the fallback is used), plus settings provenance, secret hygiene and a fuzz pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { loadConfig, KNOWN_INSTRUMENTATIONS } = require('../dist/config/load.js');

// A temp dir with no package.json anywhere above it (os.tmpdir() is not inside a package), so
// service name/version do not leak in from this repository's own package.json.
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-config-test-'));
const NO_PKG_DIR = path.join(TMP, 'nopkg');
const PKG_DIR = path.join(TMP, 'withpkg');
fs.mkdirSync(NO_PKG_DIR, { recursive: true });
fs.mkdirSync(path.join(PKG_DIR, 'lib'), { recursive: true });
fs.writeFileSync(path.join(PKG_DIR, 'package.json'), JSON.stringify({ name: 'orders-api', version: '3.2.1' }));
const NO_PKG_CTX = { mainScript: path.join(NO_PKG_DIR, 'app.js') };
const PKG_CTX = { mainScript: path.join(PKG_DIR, 'lib', 'server.js') };
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

const load = (env, ctx = NO_PKG_CTX) => loadConfig(env, ctx);
const setting = (res, variable) => res.settings.find((s) => s.variable === variable);
const SIGNALS = ['traces', 'metrics', 'logs'];

function assertNoWarnings(res) {
  assert.deepEqual(res.warnings, [], `unexpected warnings: ${JSON.stringify(res.warnings)}`);
}

/** Exactly one warning, naming the variable, the bad value and the (non-empty) fallback. */
function assertOneWarning(res, variable, value, fallback) {
  assert.equal(res.warnings.length, 1, `expected exactly one warning, got ${JSON.stringify(res.warnings)}`);
  const w = res.warnings[0];
  assert.equal(w.variable, variable);
  if (value !== undefined) assert.equal(w.value, value);
  if (fallback !== undefined) assert.equal(w.fallback, fallback);
  assert.equal(typeof w.fallback, 'string');
  assert.notEqual(w.fallback.trim(), '', `warning for ${variable} must name its fallback: ${w.message}`);
  assert.ok(w.message.includes(variable), `message names the variable: ${w.message}`);
  assert.ok(w.message.includes(w.value), `message names the bad value: ${w.message}`);
  assert.ok(w.message.includes(w.fallback), `message names the fallback: ${w.message}`);
  return w;
}

function assertSource(res, variable, source) {
  const s = setting(res, variable);
  assert.ok(s, `no setting recorded for ${variable}`);
  assert.equal(s.source, source, `${variable} source: ${JSON.stringify(s)}`);
}

// ---------------------------------------------------------------------------------------------
// The table: scalar variables. get(config) -> effective value; def = default with env {};
// good = [[raw, expected]]; bad = [[raw, fallbackString]] (fallback value is `def`).
// ---------------------------------------------------------------------------------------------
const otlpPerSignal = (signal, key) => (c) => c[signal].otlp[key];
const allSignals = (key) => (c) => SIGNALS.map((s) => c[s].otlp[key]);

const TABLE = [
  // booleans
  { v: 'OTEL_SDK_DISABLED', get: (c) => c.disabled, def: false, good: [['true', true], ['TRUE', true], ['false', false]], bad: [['maybe', 'false']] },
  { v: 'OTELKIT_CAPTURE_CONSOLE', get: (c) => c.logging.captureConsole, def: false, good: [['true', true], ['1', true], ['off', false]], bad: [['sometimes', 'false']] },
  { v: 'OTELKIT_REDACT', get: (c) => c.redact.enabled, def: true, good: [['false', false], ['0', false], ['true', true]], bad: [['nah', 'true']] },
  // enums
  { v: 'OTEL_TRACES_EXPORTER', get: (c) => c.traces.exporter, def: 'otlp', good: [['otlp', 'otlp'], ['console', 'console'], ['none', 'none'], ['NONE', 'none']], bad: [['jaeger', 'otlp']] },
  { v: 'OTEL_LOGS_EXPORTER', get: (c) => c.logs.exporter, def: 'otlp', good: [['otlp', 'otlp'], ['console', 'console'], ['none', 'none']], bad: [['zipkin', 'otlp']] },
  { v: 'OTEL_LOG_LEVEL', get: (c) => c.diagLevel, def: 'warn', good: [['debug', 'debug'], ['NONE', 'none'], ['error', 'error'], ['all', 'all']], bad: [['loud', 'warn']] },
  { v: 'OTEL_TRACES_SAMPLER', get: (c) => c.traces.sampler.name, def: 'parentbased_traceidratio', good: [['always_on', 'always_on'], ['always_off', 'always_off'], ['traceidratio', 'traceidratio'], ['parentbased_always_on', 'parentbased_always_on'], ['parentbased_always_off', 'parentbased_always_off'], ['parentbased_traceidratio', 'parentbased_traceidratio']], bad: [['xray', 'parentbased_traceidratio']] },
  { v: 'OTEL_EXPORTER_OTLP_PROTOCOL', get: allSignals('protocol'), def: ['http/protobuf', 'http/protobuf', 'http/protobuf'], good: [['grpc', ['grpc', 'grpc', 'grpc']], ['http/json', ['http/json', 'http/json', 'http/json']], ['http/protobuf', ['http/protobuf', 'http/protobuf', 'http/protobuf']]], bad: [['http', 'http/protobuf']] },
  { v: 'OTEL_EXPORTER_OTLP_COMPRESSION', get: allSignals('compression'), def: ['none', 'none', 'none'], good: [['gzip', ['gzip', 'gzip', 'gzip']], ['none', ['none', 'none', 'none']]], bad: [['zstd', 'none']] },
  { v: 'OTELKIT_LOG_FORMAT', get: (c) => c.logging.format, def: 'json', good: [['pretty', 'pretty'], ['json', 'json']], bad: [['xml', 'json']] },
  // integers
  { v: 'OTEL_EXPORTER_OTLP_TIMEOUT', get: allSignals('timeoutMs'), def: [10000, 10000, 10000], good: [['5000', [5000, 5000, 5000]]], bad: [['abc', '10000'], ['0', '10000'], ['1.5', '10000']] },
  { v: 'OTEL_EXPORTER_PROMETHEUS_PORT', get: (c) => c.admin.port, def: 9464, good: [['9000', 9000], ['0', 0], ['65535', 65535]], bad: [['70000', '9464'], ['-1', '9464'], ['http', '9464']] },
  { v: 'OTEL_BSP_SCHEDULE_DELAY', get: (c) => c.traces.batch.scheduleDelayMs, def: 5000, good: [['200', 200], ['0', 0]], bad: [['soon', '5000'], ['-1', '5000']] },
  { v: 'OTEL_BSP_EXPORT_TIMEOUT', get: (c) => c.traces.batch.exportTimeoutMs, def: 30000, good: [['1000', 1000]], bad: [['0', '30000'], ['1s', '30000']] },
  { v: 'OTEL_BSP_MAX_QUEUE_SIZE', get: (c) => c.traces.batch.maxQueueSize, def: 2048, good: [['4096', 4096], ['512', 512]], bad: [['0', '2048'], ['big', '2048']] },
  { v: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', get: (c) => c.traces.batch.maxExportBatchSize, def: 512, good: [['256', 256], ['2048', 2048]], bad: [['0', '512'], ['x', '512']] },
  { v: 'OTEL_BLRP_SCHEDULE_DELAY', get: (c) => c.logs.batch.scheduleDelayMs, def: 1000, good: [['200', 200], ['0', 0]], bad: [['soon', '1000']] },
  { v: 'OTEL_BLRP_EXPORT_TIMEOUT', get: (c) => c.logs.batch.exportTimeoutMs, def: 30000, good: [['1000', 1000]], bad: [['0', '30000']] },
  { v: 'OTEL_BLRP_MAX_QUEUE_SIZE', get: (c) => c.logs.batch.maxQueueSize, def: 2048, good: [['4096', 4096]], bad: [['-5', '2048']] },
  { v: 'OTEL_BLRP_MAX_EXPORT_BATCH_SIZE', get: (c) => c.logs.batch.maxExportBatchSize, def: 512, good: [['128', 128]], bad: [['lots', '512']] },
  { v: 'OTEL_METRIC_EXPORT_INTERVAL', get: (c) => c.metrics.exportIntervalMs, def: 60000, good: [['15000', 15000], ['100', 100]], bad: [['abc', '60000'], ['50', '60000']] },
  { v: 'OTEL_METRIC_EXPORT_TIMEOUT', get: (c) => c.metrics.exportTimeoutMs, def: 30000, good: [['5000', 5000]], bad: [['0', '30000'], ['5s', '30000']] },
  { v: 'OTELKIT_LOG_FILE_MAX_FILES', get: (c) => (c.logging.file ?? {}).maxFiles, env: { OTELKIT_LOG_FILE: '/tmp/x.log' }, def: 5, good: [['10', 10], ['1', 1]], bad: [['0', '5'], ['many', '5']] },
  { v: 'OTELKIT_SHUTDOWN_TIMEOUT_MS', get: (c) => c.shutdownTimeoutMs, def: 5000, good: [['1000', 1000], ['0', 0]], bad: [['-1', '5000'], ['5s', '5000'], ['99999999999', '5000']] },
  { v: 'OTELKIT_HEALTH_TIMEOUT_MS', get: (c) => c.healthTimeoutMs, def: 2000, good: [['500', 500]], bad: [['0', '2000'], ['fast', '2000']] },
  // sizes and levels
  { v: 'OTELKIT_LOG_FILE_MAX_SIZE', get: (c) => (c.logging.file ?? {}).maxSizeBytes, env: { OTELKIT_LOG_FILE: '/tmp/x.log' }, def: 10 * 1024 * 1024, good: [['10m', 10 * 1024 * 1024], ['512k', 512 * 1024], ['1g', 1024 ** 3], ['1G', 1024 ** 3], ['4096', 4096]], bad: [['abc', '10485760 bytes'], ['0', '10485760 bytes'], ['-1m', '10485760 bytes']] },
  { v: 'OTELKIT_LOG_FILE_LEVEL', get: (c) => (c.logging.file ?? {}).level, env: { OTELKIT_LOG_FILE: '/tmp/x.log' }, def: 'warn', good: [['debug', 'debug'], ['ERROR', 'error']], bad: [['fatal', 'warn']] },
  { v: 'OTELKIT_LOG_LEVEL', get: (c) => c.logging.level, def: 'info', good: [['debug', 'debug'], ['warn', 'warn']], bad: [['loud', 'info'], ['db=loud', 'info']] },
  // free-form strings (no bad value possible)
  { v: 'OTEL_EXPORTER_PROMETHEUS_HOST', get: (c) => c.admin.host, def: '0.0.0.0', good: [['127.0.0.1', '127.0.0.1'], ['::', '::']], bad: [] },
  { v: 'OTEL_SERVICE_NAME', get: (c) => c.serviceName, def: 'unknown_service:node', good: [['checkout', 'checkout']], bad: [] },
  { v: 'OTELKIT_ENVIRONMENT', get: (c) => c.environment, def: 'production', good: [['staging', 'staging']], bad: [] },
  { v: 'OTELKIT_LOG_FILE', get: (c) => (c.logging.file ?? {}).path, def: undefined, good: [['/var/log/app.log', '/var/log/app.log']], bad: [] },
];

// Per-signal protocol, compression and timeout overrides.
for (const signal of SIGNALS) {
  const S = signal.toUpperCase();
  TABLE.push(
    { v: `OTEL_EXPORTER_OTLP_${S}_PROTOCOL`, get: otlpPerSignal(signal, 'protocol'), def: 'http/protobuf', good: [['grpc', 'grpc'], ['http/json', 'http/json']], bad: [['thrift', 'http/protobuf']] },
    { v: `OTEL_EXPORTER_OTLP_${S}_COMPRESSION`, get: otlpPerSignal(signal, 'compression'), def: 'none', good: [['gzip', 'gzip'], ['GZIP', 'gzip']], bad: [['brotli', 'none']] },
    { v: `OTEL_EXPORTER_OTLP_${S}_TIMEOUT`, get: otlpPerSignal(signal, 'timeoutMs'), def: 10000, good: [['2500', 2500]], bad: [['-5', '10000'], ['2.5s', '10000']] },
  );
}

// Attribute limits: unset means "SDK default" (undefined).
const LIMITS = [
  ['OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', (c) => [c.traces.limits.attributeValueLengthLimit, c.logs.limits.attributeValueLengthLimit], 2],
  ['OTEL_ATTRIBUTE_COUNT_LIMIT', (c) => [c.traces.limits.attributeCountLimit, c.logs.limits.attributeCountLimit], 2],
  ['OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', (c) => c.traces.limits.attributeValueLengthLimit, 1],
  ['OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', (c) => c.traces.limits.attributeCountLimit, 1],
  ['OTEL_SPAN_EVENT_COUNT_LIMIT', (c) => c.traces.limits.eventCountLimit, 1],
  ['OTEL_SPAN_LINK_COUNT_LIMIT', (c) => c.traces.limits.linkCountLimit, 1],
  ['OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT', (c) => c.traces.limits.attributePerEventCountLimit, 1],
  ['OTEL_LINK_ATTRIBUTE_COUNT_LIMIT', (c) => c.traces.limits.attributePerLinkCountLimit, 1],
  ['OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT', (c) => c.logs.limits.attributeValueLengthLimit, 1],
  ['OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT', (c) => c.logs.limits.attributeCountLimit, 1],
];
for (const [v, get, n] of LIMITS) {
  const rep = (x) => (n === 2 ? [x, x] : x);
  TABLE.push({ v, get, def: rep(undefined), good: [['128', rep(128)]], bad: [['-1', 'SDK default'], ['lots', 'SDK default']] });
}

for (const row of TABLE) {
  const base = row.env ?? {};
  test(`${row.v}: default`, () => {
    const res = load({ ...base });
    assert.deepEqual(row.get(res.config), row.def);
    assertNoWarnings(res);
    assertSource(res, row.v, 'default');
  });
  test(`${row.v}: blank counts as unset`, () => {
    const res = load({ ...base, [row.v]: '   ' });
    assert.deepEqual(row.get(res.config), row.def);
    assertNoWarnings(res);
    assertSource(res, row.v, 'default');
  });
  for (const [raw, expected] of row.good) {
    test(`${row.v}=${JSON.stringify(raw)}: used`, () => {
      const res = load({ ...base, [row.v]: raw });
      assert.deepEqual(row.get(res.config), expected);
      assertNoWarnings(res);
      assertSource(res, row.v, 'env');
    });
  }
  for (const [raw, fallback] of row.bad) {
    test(`${row.v}=${JSON.stringify(raw)}: one warning, fallback ${fallback}`, () => {
      const res = load({ ...base, [row.v]: raw });
      assertOneWarning(res, row.v, raw, fallback);
      assert.deepEqual(row.get(res.config), row.def);
      assertSource(res, row.v, 'fallback');
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Service name, version and resource attributes
// ---------------------------------------------------------------------------------------------
test('service name: package.json of the app (found upwards from mainScript), with its version', () => {
  const res = load({}, PKG_CTX);
  assert.equal(res.config.serviceName, 'orders-api');
  assert.equal(res.config.serviceVersion, '3.2.1');
  assertNoWarnings(res);
});

test('service name: no package.json -> unknown_service:node, no version', () => {
  const res = load({}, NO_PKG_CTX);
  assert.equal(res.config.serviceName, 'unknown_service:node');
  assert.equal(res.config.serviceVersion, undefined);
});

test('service name: service.name in OTEL_RESOURCE_ATTRIBUTES beats package.json', () => {
  const res = load({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs,service.version=9.9.9' }, PKG_CTX);
  assert.equal(res.config.serviceName, 'from-attrs');
  assert.equal(res.config.serviceVersion, '9.9.9');
  assertNoWarnings(res);
});

test('service name: OTEL_SERVICE_NAME beats service.name and package.json', () => {
  const res = load({ OTEL_SERVICE_NAME: 'from-env', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' }, PKG_CTX);
  assert.equal(res.config.serviceName, 'from-env');
  assert.equal(res.config.serviceVersion, '3.2.1');
  assertSource(res, 'OTEL_SERVICE_NAME', 'env');
});

test('OTEL_RESOURCE_ATTRIBUTES: default empty', () => {
  const res = load({});
  assert.deepEqual(res.config.resourceAttributes, {});
  assertSource(res, 'OTEL_RESOURCE_ATTRIBUTES', 'default');
});

test('OTEL_RESOURCE_ATTRIBUTES: key=value list, trimmed, URL-decoded values', () => {
  const res = load({ OTEL_RESOURCE_ATTRIBUTES: 'team=payments, region = eu%20west ,note=a%2Cb%3Dc,empty=' });
  assert.deepEqual(res.config.resourceAttributes, { team: 'payments', region: 'eu west', note: 'a,b=c', empty: '' });
  assertNoWarnings(res);
  assertSource(res, 'OTEL_RESOURCE_ATTRIBUTES', 'env');
});

for (const bad of ['novalue', '=x', 'a=1,broken', 'a=%E0%A4%A']) {
  test(`OTEL_RESOURCE_ATTRIBUTES=${JSON.stringify(bad)}: one warning, no attributes`, () => {
    const res = load({ OTEL_RESOURCE_ATTRIBUTES: bad });
    assertOneWarning(res, 'OTEL_RESOURCE_ATTRIBUTES', bad);
    assert.deepEqual(res.config.resourceAttributes, {});
    assertSource(res, 'OTEL_RESOURCE_ATTRIBUTES', 'fallback');
  });
}

// ---------------------------------------------------------------------------------------------
// Environment and sampling
// ---------------------------------------------------------------------------------------------
const ENV_CASES = [
  [{}, 'production', 0.1, 'info'],
  [{ NODE_ENV: 'development' }, 'development', 1.0, 'debug'],
  [{ NODE_ENV: 'staging' }, 'staging', 1.0, 'info'],
  [{ NODE_ENV: 'production' }, 'production', 0.1, 'info'],
  [{ OTELKIT_ENVIRONMENT: 'development', NODE_ENV: 'production' }, 'development', 1.0, 'debug'],
  [{ OTELKIT_ENVIRONMENT: 'production', NODE_ENV: 'development' }, 'production', 0.1, 'info'],
  [{ OTELKIT_ENVIRONMENT: 'staging' }, 'staging', 1.0, 'info'],
];
for (const [env, environment, ratio, level] of ENV_CASES) {
  test(`environment ${JSON.stringify(env)} -> ${environment}, sampler ratio ${ratio}, log level ${level}`, () => {
    const res = load(env);
    assert.equal(res.config.environment, environment);
    assert.deepEqual(res.config.traces.sampler, { name: 'parentbased_traceidratio', ratio });
    assert.equal(res.config.logging.level, level);
    assertNoWarnings(res);
  });
}

test('OTEL_TRACES_SAMPLER_ARG: a ratio is used by ratio samplers', () => {
  for (const name of ['traceidratio', 'parentbased_traceidratio']) {
    const res = load({ OTEL_TRACES_SAMPLER: name, OTEL_TRACES_SAMPLER_ARG: '0.25' });
    assert.deepEqual(res.config.traces.sampler, { name, ratio: 0.25 });
    assertNoWarnings(res);
    assertSource(res, 'OTEL_TRACES_SAMPLER_ARG', 'env');
  }
  for (const [raw, n] of [['0', 0], ['1', 1], ['0.5', 0.5]]) {
    assert.equal(load({ OTEL_TRACES_SAMPLER_ARG: raw }).config.traces.sampler.ratio, n);
  }
});

for (const [env, fallback, ratio] of [[{}, '0.1', 0.1], [{ NODE_ENV: 'development' }, '1', 1]]) {
  for (const bad of ['abc', '1.5', '-1']) {
    test(`OTEL_TRACES_SAMPLER_ARG=${bad} (${env.NODE_ENV ?? 'production'}): one warning, fallback ${fallback}`, () => {
      const res = load({ ...env, OTEL_TRACES_SAMPLER_ARG: bad });
      assertOneWarning(res, 'OTEL_TRACES_SAMPLER_ARG', bad, fallback);
      assert.equal(res.config.traces.sampler.ratio, ratio);
      assertSource(res, 'OTEL_TRACES_SAMPLER_ARG', 'fallback');
    });
  }
}

test('OTEL_TRACES_SAMPLER_ARG blank counts as unset: default ratio, no warning', () => {
  for (const blank of ['', '  ']) {
    const res = load({ OTEL_TRACES_SAMPLER_ARG: blank });
    assert.equal(res.config.traces.sampler.ratio, 0.1);
    assertNoWarnings(res);
  }
});

test('invalid OTEL_TRACES_SAMPLER falls back to parentbased_traceidratio and still honours the ratio', () => {
  const res = load({ OTEL_TRACES_SAMPLER: 'nope', OTEL_TRACES_SAMPLER_ARG: '0.3' });
  assertOneWarning(res, 'OTEL_TRACES_SAMPLER', 'nope', 'parentbased_traceidratio');
  assert.deepEqual(res.config.traces.sampler, { name: 'parentbased_traceidratio', ratio: 0.3 });
});

test('non-ratio samplers ignore OTEL_TRACES_SAMPLER_ARG', () => {
  const res = load({ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: 'abc' });
  assert.equal(res.config.traces.sampler.name, 'always_on');
  assertNoWarnings(res);
});

// ---------------------------------------------------------------------------------------------
// Exporters
// ---------------------------------------------------------------------------------------------
test('OTEL_METRICS_EXPORTER: default prometheus', () => {
  const res = load({});
  assert.deepEqual(res.config.metrics.exporters, ['prometheus']);
  assertSource(res, 'OTEL_METRICS_EXPORTER', 'default');
});

for (const [raw, expected] of [
  ['prometheus,otlp', ['prometheus', 'otlp']],
  [' otlp , console ', ['otlp', 'console']],
  ['OTLP', ['otlp']],
  ['none', []],
]) {
  test(`OTEL_METRICS_EXPORTER=${JSON.stringify(raw)} -> ${JSON.stringify(expected)}`, () => {
    const res = load({ OTEL_METRICS_EXPORTER: raw });
    assert.deepEqual(res.config.metrics.exporters, expected);
    assertNoWarnings(res);
    assertSource(res, 'OTEL_METRICS_EXPORTER', 'env');
  });
}

test('OTEL_METRICS_EXPORTER: unknown item dropped with one warning', () => {
  const res = load({ OTEL_METRICS_EXPORTER: 'prometheus,statsd,otlp' });
  const w = assertOneWarning(res, 'OTEL_METRICS_EXPORTER', 'prometheus,statsd,otlp', 'prometheus,otlp');
  assert.ok(w.message.includes('statsd'));
  assert.deepEqual(res.config.metrics.exporters, ['prometheus', 'otlp']);
});

test('OTEL_METRICS_EXPORTER: only unknown items -> default prometheus', () => {
  const res = load({ OTEL_METRICS_EXPORTER: 'statsd' });
  assertOneWarning(res, 'OTEL_METRICS_EXPORTER', 'statsd', 'prometheus');
  assert.deepEqual(res.config.metrics.exporters, ['prometheus']);
});

test('OTEL_LOGS_EXPORTER=none turns the OTLP log bridge off', () => {
  assert.equal(load({}).config.logging.bridge, true);
  assert.equal(load({ OTEL_LOGS_EXPORTER: 'console' }).config.logging.bridge, true);
  assert.equal(load({ OTEL_LOGS_EXPORTER: 'none' }).config.logging.bridge, false);
  assert.equal(load({ OTEL_LOGS_EXPORTER: 'bogus' }).config.logging.bridge, true);
});

// ---------------------------------------------------------------------------------------------
// OTLP protocol and endpoints
// ---------------------------------------------------------------------------------------------
test('endpoints: defaults for http/protobuf', () => {
  const res = load({});
  assert.equal(res.config.traces.otlp.endpoint, 'http://localhost:4318/v1/traces');
  assert.equal(res.config.metrics.otlp.endpoint, 'http://localhost:4318/v1/metrics');
  assert.equal(res.config.logs.otlp.endpoint, 'http://localhost:4318/v1/logs');
  assertSource(res, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'default');
});

test('endpoints: defaults for http/json', () => {
  const c = load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).config;
  assert.equal(c.traces.otlp.endpoint, 'http://localhost:4318/v1/traces');
  assert.equal(c.logs.otlp.endpoint, 'http://localhost:4318/v1/logs');
});

test('endpoints: grpc default is http://localhost:4317 without a path', () => {
  const c = load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).config;
  for (const s of SIGNALS) assert.equal(c[s].otlp.endpoint, 'http://localhost:4317');
});

test('per-signal protocol overrides the general one, default endpoint follows it', () => {
  const res = load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf' });
  const c = res.config;
  assert.equal(c.traces.otlp.protocol, 'grpc');
  assert.equal(c.metrics.otlp.protocol, 'http/protobuf');
  assert.equal(c.logs.otlp.protocol, 'grpc');
  assert.equal(c.traces.otlp.endpoint, 'http://localhost:4317');
  assert.equal(c.metrics.otlp.endpoint, 'http://localhost:4318/v1/metrics');
  assertNoWarnings(res);
});

test('invalid per-signal protocol falls back to the general protocol', () => {
  const res = load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'udp' });
  assertOneWarning(res, 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL', 'udp', 'grpc');
  assert.equal(res.config.logs.otlp.protocol, 'grpc');
});

test('invalid OTEL_EXPORTER_OTLP_PROTOCOL (read for three signals) warns once', () => {
  const res = load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http' });
  assertOneWarning(res, 'OTEL_EXPORTER_OTLP_PROTOCOL', 'http', 'http/protobuf');
  assert.equal(res.settings.filter((s) => s.variable === 'OTEL_EXPORTER_OTLP_PROTOCOL').length, 1);
});

for (const base of ['http://collector:4318', 'http://collector:4318/', 'http://collector:4318//']) {
  test(`OTEL_EXPORTER_OTLP_ENDPOINT=${base}: /v1/<signal> appended for http`, () => {
    const res = load({ OTEL_EXPORTER_OTLP_ENDPOINT: base });
    assert.equal(res.config.traces.otlp.endpoint, 'http://collector:4318/v1/traces');
    assert.equal(res.config.metrics.otlp.endpoint, 'http://collector:4318/v1/metrics');
    assert.equal(res.config.logs.otlp.endpoint, 'http://collector:4318/v1/logs');
    assertNoWarnings(res);
    assertSource(res, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'env');
  });
}

test('OTEL_EXPORTER_OTLP_ENDPOINT with a base path keeps it', () => {
  const c = load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/otlp/' }).config;
  assert.equal(c.traces.otlp.endpoint, 'https://otlp.example.com/otlp/v1/traces');
});

test('OTEL_EXPORTER_OTLP_ENDPOINT is used as is for grpc', () => {
  const c = load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }).config;
  for (const s of SIGNALS) assert.equal(c[s].otlp.endpoint, 'http://collector:4317');
});

for (const signal of SIGNALS) {
  const S = signal.toUpperCase();
  test(`OTEL_EXPORTER_OTLP_${S}_ENDPOINT is used as is and beats the base endpoint`, () => {
    const res = load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318', [`OTEL_EXPORTER_OTLP_${S}_ENDPOINT`]: 'https://special:9999/custom' });
    assert.equal(res.config[signal].otlp.endpoint, 'https://special:9999/custom');
    for (const other of SIGNALS.filter((s) => s !== signal)) {
      assert.equal(res.config[other].otlp.endpoint, `http://base:4318/v1/${other}`);
    }
    assertNoWarnings(res);
    assertSource(res, `OTEL_EXPORTER_OTLP_${S}_ENDPOINT`, 'env');
  });

  test(`OTEL_EXPORTER_OTLP_${S}_ENDPOINT invalid: one warning naming the effective fallback endpoint`, () => {
    const res = load({ [`OTEL_EXPORTER_OTLP_${S}_ENDPOINT`]: 'not a url' });
    assert.equal(res.config[signal].otlp.endpoint, `http://localhost:4318/v1/${signal}`);
    assertOneWarning(res, `OTEL_EXPORTER_OTLP_${S}_ENDPOINT`, 'not a url');
  });
}

test('invalid per-signal endpoint falls back to the (valid) base endpoint', () => {
  const res = load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://x' });
  assert.equal(res.config.traces.otlp.endpoint, 'http://base:4318/v1/traces');
  assert.equal(res.warnings.length, 1);
  assert.equal(res.warnings[0].variable, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
});

for (const bad of ['not a url', 'ftp://collector:4318', 'collector:4318', 'localhost']) {
  test(`OTEL_EXPORTER_OTLP_ENDPOINT=${JSON.stringify(bad)}: one warning, default endpoints`, () => {
    const res = load({ OTEL_EXPORTER_OTLP_ENDPOINT: bad });
    assertOneWarning(res, 'OTEL_EXPORTER_OTLP_ENDPOINT', bad, 'http://localhost:4318');
    for (const s of SIGNALS) assert.equal(res.config[s].otlp.endpoint, `http://localhost:4318/v1/${s}`);
    assertSource(res, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'fallback');
  });
}

// ---------------------------------------------------------------------------------------------
// Headers (secrets)
// ---------------------------------------------------------------------------------------------
test('headers: default none', () => {
  const res = load({});
  for (const s of SIGNALS) assert.deepEqual(res.config[s].otlp.headers, {});
  assertSource(res, 'OTEL_EXPORTER_OTLP_HEADERS', 'default');
});

test('headers: generic and per-signal merged, per-signal wins, values URL-decoded', () => {
  const res = load({
    OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20general,x-tenant=acme',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'Authorization=Bearer%20traces,x-extra=1',
  });
  assert.deepEqual(res.config.traces.otlp.headers, { Authorization: 'Bearer traces', 'x-tenant': 'acme', 'x-extra': '1' });
  assert.deepEqual(res.config.metrics.otlp.headers, { Authorization: 'Bearer general', 'x-tenant': 'acme' });
  assert.deepEqual(res.config.logs.otlp.headers, { Authorization: 'Bearer general', 'x-tenant': 'acme' });
  assertNoWarnings(res);
});

for (const signal of SIGNALS) {
  const v = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_HEADERS`;
  test(`${v}: good value applies to ${signal} only; malformed value -> one warning, generic headers kept`, () => {
    const good = load({ [v]: 'api-key=k1' });
    assert.deepEqual(good.config[signal].otlp.headers, { 'api-key': 'k1' });
    assertSource(good, v, 'env');
    const bad = load({ OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=acme', [v]: 'garbage' });
    assertOneWarning(bad, v, 'garbage');
    assert.deepEqual(bad.config[signal].otlp.headers, { 'x-tenant': 'acme' });
    assertSource(bad, v, 'fallback');
  });
}

// Header values are credentials: the warning shows the malformed value with its values hidden.
for (const [bad, shown] of [['noequals', 'noequals'], ['=value', '=[REDACTED]'], ['a=1,,b', 'a=[REDACTED],,b'], ['k=%zz', 'k=[REDACTED]']]) {
  test(`OTEL_EXPORTER_OTLP_HEADERS=${JSON.stringify(bad)}: one warning, no headers`, () => {
    const res = load({ OTEL_EXPORTER_OTLP_HEADERS: bad });
    if (bad === 'a=1,,b') {
      // Empty list items are skipped; `b` has no `=` and makes the value malformed.
      assert.equal(res.warnings.length, 1);
    }
    assertOneWarning(res, 'OTEL_EXPORTER_OTLP_HEADERS', shown);
    for (const s of SIGNALS) assert.deepEqual(res.config[s].otlp.headers, {});
    assertSource(res, 'OTEL_EXPORTER_OTLP_HEADERS', 'fallback');
  });
}

test('settings never contain header values: headers shown as name=[REDACTED]', () => {
  const res = load({
    OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20s3cr3t-general,x-api-key=k3y-general',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'Authorization=Bearer%20s3cr3t-traces',
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-token=t0k3n-metrics',
    OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-token=t0k3n-logs',
  });
  const dump = JSON.stringify(res.settings);
  for (const secret of ['s3cr3t', 'k3y-general', 't0k3n', 'Bearer']) assert.ok(!dump.includes(secret), `settings leak ${secret}: ${dump}`);
  assert.equal(setting(res, 'OTEL_EXPORTER_OTLP_HEADERS').value, 'Authorization=[REDACTED],x-api-key=[REDACTED]');
  assert.equal(setting(res, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS').value, 'Authorization=[REDACTED]');
  assert.equal(setting(res, 'OTEL_EXPORTER_OTLP_METRICS_HEADERS').value, 'x-token=[REDACTED]');
  assert.equal(setting(res, 'OTEL_EXPORTER_OTLP_HEADERS').source, 'env');
});

test('a malformed headers value does not echo its secrets in the warning (stderr)', () => {
  const res = load({ OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer s3cr3t-token,oops' });
  assert.equal(res.warnings.length, 1);
  assert.equal(res.warnings[0].variable, 'OTEL_EXPORTER_OTLP_HEADERS');
  assert.ok(!JSON.stringify(res.warnings).includes('s3cr3t-token'), `warning leaks the secret: ${JSON.stringify(res.warnings)}`);
  assert.ok(!JSON.stringify(res.settings).includes('s3cr3t-token'));
});

// ---------------------------------------------------------------------------------------------
// Batch processors: batch size larger than queue size
// ---------------------------------------------------------------------------------------------
for (const prefix of ['OTEL_BSP', 'OTEL_BLRP']) {
  const get = (c) => (prefix === 'OTEL_BSP' ? c.traces.batch : c.logs.batch);
  test(`${prefix}_MAX_EXPORT_BATCH_SIZE > ${prefix}_MAX_QUEUE_SIZE: one warning, clamped to the queue size`, () => {
    const res = load({ [`${prefix}_MAX_QUEUE_SIZE`]: '1000', [`${prefix}_MAX_EXPORT_BATCH_SIZE`]: '4000' });
    assertOneWarning(res, `${prefix}_MAX_EXPORT_BATCH_SIZE`, '4000', '1000');
    assert.equal(get(res.config).maxQueueSize, 1000);
    assert.equal(get(res.config).maxExportBatchSize, 1000);
    // The effective setting (for `otelkit doctor`) is the clamped value, from a fallback.
    assert.deepEqual(setting(res, `${prefix}_MAX_EXPORT_BATCH_SIZE`), { variable: `${prefix}_MAX_EXPORT_BATCH_SIZE`, value: '1000', source: 'fallback' });
  });

  test(`${prefix}_MAX_QUEUE_SIZE below the default batch size: batch size follows silently`, () => {
    const res = load({ [`${prefix}_MAX_QUEUE_SIZE`]: '100' });
    assert.equal(get(res.config).maxQueueSize, 100);
    assert.equal(get(res.config).maxExportBatchSize, 100);
    // Only a default was adjusted; the user gave no invalid value.
    assertNoWarnings(res);
  });

  test(`${prefix}: batch size equal to queue size is fine`, () => {
    const res = load({ [`${prefix}_MAX_QUEUE_SIZE`]: '512', [`${prefix}_MAX_EXPORT_BATCH_SIZE`]: '512' });
    assert.equal(get(res.config).maxExportBatchSize, 512);
    assertNoWarnings(res);
  });
}

// ---------------------------------------------------------------------------------------------
// Propagators, instrumentations, resource detectors
// ---------------------------------------------------------------------------------------------
test('OTEL_PROPAGATORS: default tracecontext,baggage', () => {
  const res = load({});
  assert.deepEqual(res.config.propagators, ['tracecontext', 'baggage']);
  assertSource(res, 'OTEL_PROPAGATORS', 'default');
});

for (const [raw, expected] of [['b3', ['b3']], ['tracecontext, B3multi ,jaeger', ['tracecontext', 'b3multi', 'jaeger']], ['none', []], ['baggage', ['baggage']]]) {
  test(`OTEL_PROPAGATORS=${JSON.stringify(raw)}`, () => {
    const res = load({ OTEL_PROPAGATORS: raw });
    assert.deepEqual(res.config.propagators, expected);
    assertNoWarnings(res);
  });
}

test('OTEL_PROPAGATORS: unknown items dropped with one warning; all unknown -> default', () => {
  let res = load({ OTEL_PROPAGATORS: 'tracecontext,xray' });
  assertOneWarning(res, 'OTEL_PROPAGATORS', 'tracecontext,xray', 'tracecontext');
  assert.deepEqual(res.config.propagators, ['tracecontext']);
  res = load({ OTEL_PROPAGATORS: 'xray' });
  assertOneWarning(res, 'OTEL_PROPAGATORS', 'xray', 'tracecontext,baggage');
  assert.deepEqual(res.config.propagators, ['tracecontext', 'baggage']);
});

test('OTEL_NODE_ENABLED_INSTRUMENTATIONS: default undefined (all but fs)', () => {
  const res = load({});
  assert.equal(res.config.instrumentations.enabled, undefined);
  assert.deepEqual(res.config.instrumentations.disabled, []);
  assertSource(res, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'default');
  assertSource(res, 'OTEL_NODE_DISABLED_INSTRUMENTATIONS', 'default');
});

test('OTEL_NODE_ENABLED_INSTRUMENTATIONS: known names', () => {
  const res = load({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http, Express,pg' });
  assert.deepEqual(res.config.instrumentations.enabled, ['http', 'express', 'pg']);
  assertNoWarnings(res);
  assertSource(res, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'env');
});

test('OTEL_NODE_ENABLED_INSTRUMENTATIONS: unknown names dropped with one warning', () => {
  const res = load({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,nosuchlib' });
  const w = assertOneWarning(res, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'http,nosuchlib', 'http');
  assert.ok(w.message.includes('nosuchlib'));
  assert.deepEqual(res.config.instrumentations.enabled, ['http']);
});

test('OTEL_NODE_ENABLED_INSTRUMENTATIONS: only unknown names -> warning, default (all but fs) kept', () => {
  const res = load({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'nosuchlib' });
  assertOneWarning(res, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'nosuchlib');
  assert.equal(res.config.instrumentations.enabled, undefined);
});

test('OTEL_NODE_DISABLED_INSTRUMENTATIONS: known names, unknown dropped with one warning', () => {
  let res = load({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'dns,net' });
  assert.deepEqual(res.config.instrumentations.disabled, ['dns', 'net']);
  assertNoWarnings(res);
  res = load({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'dns,bogus' });
  assertOneWarning(res, 'OTEL_NODE_DISABLED_INSTRUMENTATIONS', 'dns,bogus', 'dns');
  assert.deepEqual(res.config.instrumentations.disabled, ['dns']);
});

test('OTEL_NODE_DISABLED_INSTRUMENTATIONS: only unknown names -> one warning naming the fallback, nothing disabled', () => {
  const res = load({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'bogus' });
  assertOneWarning(res, 'OTEL_NODE_DISABLED_INSTRUMENTATIONS', 'bogus');
  assert.deepEqual(res.config.instrumentations.disabled, []);
});

test('KNOWN_INSTRUMENTATIONS includes the ones the contract relies on', () => {
  for (const n of ['http', 'express', 'pg', 'redis', 'ioredis', 'winston', 'runtime-node', 'undici', 'fs']) {
    assert.ok(KNOWN_INSTRUMENTATIONS.includes(n), n);
  }
});

test('OTEL_NODE_RESOURCE_DETECTORS: default env,host,os,process,serviceinstance,container', () => {
  const res = load({});
  assert.deepEqual(res.config.resourceDetectors, ['env', 'host', 'os', 'process', 'serviceinstance', 'container']);
  assertSource(res, 'OTEL_NODE_RESOURCE_DETECTORS', 'default');
});

test('OTEL_NODE_RESOURCE_DETECTORS: all, none, list', () => {
  const all = load({ OTEL_NODE_RESOURCE_DETECTORS: 'all' }).config.resourceDetectors;
  for (const d of ['env', 'host', 'os', 'process', 'serviceinstance', 'container', 'aws', 'gcp', 'azure']) assert.ok(all.includes(d), d);
  assert.deepEqual(load({ OTEL_NODE_RESOURCE_DETECTORS: 'none' }).config.resourceDetectors, []);
  const res = load({ OTEL_NODE_RESOURCE_DETECTORS: 'env,container' });
  assert.deepEqual(res.config.resourceDetectors, ['env', 'container']);
  assertNoWarnings(res);
});

test('OTEL_NODE_RESOURCE_DETECTORS: unknown dropped with one warning; all unknown -> default', () => {
  let res = load({ OTEL_NODE_RESOURCE_DETECTORS: 'env,mars' });
  assertOneWarning(res, 'OTEL_NODE_RESOURCE_DETECTORS', 'env,mars', 'env');
  assert.deepEqual(res.config.resourceDetectors, ['env']);
  res = load({ OTEL_NODE_RESOURCE_DETECTORS: 'mars' });
  assertOneWarning(res, 'OTEL_NODE_RESOURCE_DETECTORS', 'mars', 'env,host,os,process,serviceinstance,container');
  assert.deepEqual(res.config.resourceDetectors, ['env', 'host', 'os', 'process', 'serviceinstance', 'container']);
});

// ---------------------------------------------------------------------------------------------
// Attribute limits: specific beats general
// ---------------------------------------------------------------------------------------------
test('attribute limits: OTEL_SPAN_* / OTEL_LOGRECORD_* beat OTEL_ATTRIBUTE_*', () => {
  const res = load({
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '100', OTEL_ATTRIBUTE_COUNT_LIMIT: '50',
    OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '200', OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: '20',
  });
  assert.deepEqual(
    [res.config.traces.limits.attributeValueLengthLimit, res.config.traces.limits.attributeCountLimit],
    [200, 50],
  );
  assert.deepEqual(
    [res.config.logs.limits.attributeValueLengthLimit, res.config.logs.limits.attributeCountLimit],
    [100, 20],
  );
  assertNoWarnings(res);
});

test('attribute limits: invalid OTEL_ATTRIBUTE_COUNT_LIMIT (read for spans and logs) warns once', () => {
  const res = load({ OTEL_ATTRIBUTE_COUNT_LIMIT: 'x' });
  assertOneWarning(res, 'OTEL_ATTRIBUTE_COUNT_LIMIT', 'x', 'SDK default');
});

test('attribute limits: invalid specific limit names the general limit it falls back to', () => {
  const res = load({ OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: 'x', OTEL_ATTRIBUTE_COUNT_LIMIT: '64' });
  assert.equal(res.config.traces.limits.attributeCountLimit, 64);
  assertOneWarning(res, 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 'x', '64');
});

test('attribute limits: 0 allowed for event/link counts, not for value length', () => {
  const ok = load({ OTEL_SPAN_EVENT_COUNT_LIMIT: '0', OTEL_SPAN_LINK_COUNT_LIMIT: '0' });
  assert.equal(ok.config.traces.limits.eventCountLimit, 0);
  assert.equal(ok.config.traces.limits.linkCountLimit, 0);
  assertNoWarnings(ok);
  const bad = load({ OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '0' });
  assertOneWarning(bad, 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', '0', 'SDK default');
});

// ---------------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------------
test('OTELKIT_LOG_LEVEL=info,db=debug,http=warn: level and per-logger overrides', () => {
  const res = load({ OTELKIT_LOG_LEVEL: 'info,db=debug,http=warn' });
  assert.equal(res.config.logging.level, 'info');
  const byName = Object.fromEntries(res.config.logging.levels.map((l) => [l.name, l.level]));
  assert.deepEqual(byName, { db: 'debug', http: 'warn' });
  assertNoWarnings(res);
  assertSource(res, 'OTELKIT_LOG_LEVEL', 'env');
});

test('OTELKIT_LOG_LEVEL: overrides only keep the environment default level; longest names first', () => {
  const res = load({ NODE_ENV: 'development', OTELKIT_LOG_LEVEL: 'db=warn,db.pool=error' });
  assert.equal(res.config.logging.level, 'debug');
  assert.deepEqual(res.config.logging.levels.map((l) => l.name), ['db.pool', 'db']);
});

test('OTELKIT_LOG_LEVEL: default info, debug in development; bad value -> warning and environment default', () => {
  assert.deepEqual(load({}).config.logging.levels, []);
  assert.equal(load({ OTELKIT_ENVIRONMENT: 'development' }).config.logging.level, 'debug');
  for (const bad of ['loud', 'info,db', 'info,=debug', 'info,db=loud']) {
    const res = load({ NODE_ENV: 'development', OTELKIT_LOG_LEVEL: bad });
    assertOneWarning(res, 'OTELKIT_LOG_LEVEL', bad, 'debug');
    assert.equal(res.config.logging.level, 'debug');
    assert.deepEqual(res.config.logging.levels, []);
  }
});

test('OTELKIT_LOG_FORMAT: pretty when stdout is a TTY, env wins, bad value falls back to the TTY default', () => {
  assert.equal(load({}, { ...NO_PKG_CTX, stdoutIsTTY: true }).config.logging.format, 'pretty');
  assert.equal(load({}, { ...NO_PKG_CTX, stdoutIsTTY: false }).config.logging.format, 'json');
  assert.equal(load({ OTELKIT_LOG_FORMAT: 'json' }, { ...NO_PKG_CTX, stdoutIsTTY: true }).config.logging.format, 'json');
  const res = load({ OTELKIT_LOG_FORMAT: 'xml' }, { ...NO_PKG_CTX, stdoutIsTTY: true });
  assertOneWarning(res, 'OTELKIT_LOG_FORMAT', 'xml', 'pretty');
  assert.equal(res.config.logging.format, 'pretty');
});

test('OTELKIT_LOG_FILE: unset -> no file; set -> file with defaults', () => {
  assert.equal(load({}).config.logging.file, undefined);
  const res = load({ OTELKIT_LOG_FILE: '/var/log/app.log' });
  assert.deepEqual(res.config.logging.file, { path: '/var/log/app.log', level: 'warn', maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5 });
  assertNoWarnings(res);
});

test('OTELKIT_LOG_FILE: all file options together', () => {
  const res = load({ OTELKIT_LOG_FILE: 'logs/app.log', OTELKIT_LOG_FILE_LEVEL: 'info', OTELKIT_LOG_FILE_MAX_SIZE: '512k', OTELKIT_LOG_FILE_MAX_FILES: '3' });
  assert.deepEqual(res.config.logging.file, { path: 'logs/app.log', level: 'info', maxSizeBytes: 524288, maxFiles: 3 });
  assertNoWarnings(res);
});

test('OTELKIT_REDACT_KEYS: default none, list trimmed', () => {
  const d = load({});
  assert.deepEqual(d.config.redact.extraKeys, []);
  assertSource(d, 'OTELKIT_REDACT_KEYS', 'default');
  const res = load({ OTELKIT_REDACT_KEYS: 'customer_id, internalRef,,x-secret-thing ' });
  assert.deepEqual(res.config.redact.extraKeys, ['customer_id', 'internalRef', 'x-secret-thing']);
  assertNoWarnings(res);
  assertSource(res, 'OTELKIT_REDACT_KEYS', 'env');
});

test('OTELKIT_IGNORE_PATHS: default, custom list, path without leading slash -> warning + default', () => {
  const DEFAULT = ['/livez', '/readyz', '/healthz', '/metrics', '/favicon.ico'];
  const d = load({});
  assert.deepEqual(d.config.ignorePaths, DEFAULT);
  assertSource(d, 'OTELKIT_IGNORE_PATHS', 'default');
  const good = load({ OTELKIT_IGNORE_PATHS: '/ping, /internal/status' });
  assert.deepEqual(good.config.ignorePaths, ['/ping', '/internal/status']);
  assertNoWarnings(good);
  const bad = load({ OTELKIT_IGNORE_PATHS: '/ping,status' });
  const w = assertOneWarning(bad, 'OTELKIT_IGNORE_PATHS', '/ping,status', DEFAULT.join(','));
  assert.ok(w.message.includes('status'));
  assert.deepEqual(bad.config.ignorePaths, DEFAULT);
  assertSource(bad, 'OTELKIT_IGNORE_PATHS', 'fallback');
});

// ---------------------------------------------------------------------------------------------
// Settings provenance, general invariants, fuzz
// ---------------------------------------------------------------------------------------------
// Every variable the module reads (standard ones honoured and all OTELKIT_* ones).
const ALL_VARIABLES = [
  ...new Set([
    ...TABLE.map((r) => r.v),
    'OTEL_RESOURCE_ATTRIBUTES', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_METRICS_EXPORTER', 'OTEL_EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_PROPAGATORS', 'OTEL_NODE_ENABLED_INSTRUMENTATIONS',
    'OTEL_NODE_DISABLED_INSTRUMENTATIONS', 'OTEL_NODE_RESOURCE_DETECTORS', 'OTELKIT_REDACT_KEYS', 'OTELKIT_IGNORE_PATHS',
    ...SIGNALS.flatMap((s) => [`OTEL_EXPORTER_OTLP_${s.toUpperCase()}_ENDPOINT`, `OTEL_EXPORTER_OTLP_${s.toUpperCase()}_HEADERS`]),
  ]),
];

test('settings: every variable is recorded once with a valid source; empty env -> all default', () => {
  const res = load({});
  const seen = new Set();
  for (const s of res.settings) {
    assert.ok(!seen.has(s.variable), `recorded twice: ${s.variable}`);
    seen.add(s.variable);
    assert.ok(['env', 'default', 'fallback'].includes(s.source));
    assert.equal(typeof s.value, 'string');
    assert.equal(s.source, 'default', JSON.stringify(s));
  }
  const perSignalEndpoints = SIGNALS.map((s) => `OTEL_EXPORTER_OTLP_${s.toUpperCase()}_ENDPOINT`);
  for (const v of ALL_VARIABLES.filter((x) => !perSignalEndpoints.includes(x))) {
    assert.ok(seen.has(v), `no setting for ${v}`);
  }
});

test('settings: env/default/fallback reflect each variable', () => {
  const res = load({ OTEL_SERVICE_NAME: 'svc', OTEL_LOG_LEVEL: 'bogus' });
  assert.deepEqual(setting(res, 'OTEL_SERVICE_NAME'), { variable: 'OTEL_SERVICE_NAME', value: 'svc', source: 'env' });
  assert.deepEqual(setting(res, 'OTEL_LOG_LEVEL'), { variable: 'OTEL_LOG_LEVEL', value: 'warn', source: 'fallback' });
  assert.deepEqual(setting(res, 'OTEL_TRACES_EXPORTER'), { variable: 'OTEL_TRACES_EXPORTER', value: 'otlp', source: 'default' });
});

test('many bad values at once: one warning per variable, each naming variable, value and fallback', () => {
  const env = {};
  for (const row of TABLE) if (row.bad.length > 0) env[row.v] = row.bad[0][0];
  Object.assign(env, {
    OTEL_RESOURCE_ATTRIBUTES: 'broken', OTEL_TRACES_SAMPLER_ARG: '2', OTEL_METRICS_EXPORTER: 'x',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'nope', OTEL_PROPAGATORS: 'x', OTEL_NODE_RESOURCE_DETECTORS: 'x',
    OTELKIT_IGNORE_PATHS: 'x',
  });
  const res = load(env);
  const vars = res.warnings.map((w) => w.variable);
  assert.equal(new Set(vars).size, vars.length, `duplicate warnings: ${vars}`);
  for (const w of res.warnings) {
    assert.ok(w.message.includes(w.variable) && w.message.includes(w.value) && w.message.includes(w.fallback), w.message);
  }
  for (const v of Object.keys(env)) {
    // A bad batch size may be superseded by... nothing: every bad variable must warn.
    assert.ok(vars.includes(v), `no warning for ${v}=${env[v]}`);
  }
});

test('loadConfig never throws on garbage input (fuzz)', () => {
  let seed = 0x5eed;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const pieces = [
    '', ' ', ',', '=', '==', '%', '%zz', '%E0%A4%A', '\u0000', '\n', '\t', '"', "'", '\\', '/', '//', '?', '#',
    '-', '+', '.', '0', '1', '-1', '1e309', 'NaN', 'Infinity', '0x10', '99999999999999999999', '1.5', 'k', 'm', 'g',
    'true', 'none', 'all', 'grpc', 'http://', 'https://x', 'ftp://', '__proto__', 'constructor', 'toString',
    'prototype', 'service.name=', 'a=b', 'db=debug', 'é', '😀', '\uD800', 'null', 'undefined', '[]', '{}',
  ];
  const garbage = () => {
    let s = '';
    const n = Math.floor(rand() * 6);
    for (let i = 0; i < n; i++) {
      s += rand() < 0.7 ? pieces[Math.floor(rand() * pieces.length)] : String.fromCharCode(Math.floor(rand() * 0x2fff));
    }
    return s;
  };
  const ctxs = [NO_PKG_CTX, PKG_CTX, {}, { mainScript: '' }, { mainScript: '/nonexistent/dir/app.js', stdoutIsTTY: true }];
  const vars = [...ALL_VARIABLES, 'NODE_ENV'];
  for (let i = 0; i < 400; i++) {
    const env = {};
    const k = 1 + Math.floor(rand() * 12);
    for (let j = 0; j < k; j++) env[vars[Math.floor(rand() * vars.length)]] = garbage();
    if (i % 10 === 0) for (const v of vars) env[v] = garbage();
    let res;
    assert.doesNotThrow(() => {
      res = loadConfig(env, ctxs[i % ctxs.length]);
    }, `threw for ${JSON.stringify(env)}`);
    assert.ok(res.config && Array.isArray(res.warnings) && Array.isArray(res.settings));
    const wv = res.warnings.map((w) => w.variable);
    assert.equal(new Set(wv).size, wv.length, `duplicate warnings for ${JSON.stringify(env)}`);
    assert.ok(typeof res.config.serviceName === 'string' && res.config.serviceName !== '');
    for (const s of SIGNALS) assert.ok(/^https?:\/\//.test(res.config[s].otlp.endpoint), res.config[s].otlp.endpoint);
    assert.ok(res.config.traces.sampler.ratio >= 0 && res.config.traces.sampler.ratio <= 1);
    assert.ok(res.config.admin.port >= 0 && res.config.admin.port <= 65535);
    for (const b of [res.config.traces.batch, res.config.logs.batch]) assert.ok(b.maxExportBatchSize <= b.maxQueueSize);
  }
});

test('loadConfig with no arguments reads process.env without throwing', () => {
  assert.doesNotThrow(() => loadConfig());
});

test('OTELKIT_EXPRESS_LAYER_SPANS: off in production, on elsewhere, either way when set; invalid warns and keeps the default', () => {
  assert.equal(load({ OTELKIT_ENVIRONMENT: 'production' }).config.instrumentations.expressLayerSpans, false);
  assert.equal(load({ OTELKIT_ENVIRONMENT: 'development' }).config.instrumentations.expressLayerSpans, true);
  const on = load({ OTELKIT_ENVIRONMENT: 'production', OTELKIT_EXPRESS_LAYER_SPANS: 'true' });
  assertNoWarnings(on);
  assert.equal(on.config.instrumentations.expressLayerSpans, true);
  assert.equal(load({ OTELKIT_ENVIRONMENT: 'development', OTELKIT_EXPRESS_LAYER_SPANS: 'false' }).config.instrumentations.expressLayerSpans, false);
  const bad = load({ OTELKIT_ENVIRONMENT: 'production', OTELKIT_EXPRESS_LAYER_SPANS: 'sometimes' });
  assertOneWarning(bad, 'OTELKIT_EXPRESS_LAYER_SPANS', 'sometimes');
  assert.equal(bad.config.instrumentations.expressLayerSpans, false);
});

// Issue 29, item 11: values the host process cannot honour are refused at load, with one warning
// naming the variable, the value and the fallback: timeouts a Node.js timer cannot wait (2^31 ms
// or more: Node turns them into 1 ms), an admin host that is not an address, header values an
// HTTP request cannot carry. And an admin host that does not resolve is named as the fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort } from './support/app.mjs';

const require = createRequire(import.meta.url);
const { loadConfig } = require('../dist/config/load.js');

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-host-config-'));
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));
const load = (env) => loadConfig(env, { mainScript: path.join(TMP, 'app.js') });

const MAX_TIMER = 2 ** 31 - 1;

/** Exactly one warning, for this variable, naming its value and its fallback. */
function oneWarning(res, variable) {
  assert.equal(res.warnings.length, 1, `expected one warning for ${variable}, got ${JSON.stringify(res.warnings)}`);
  const w = res.warnings[0];
  assert.equal(w.variable, variable);
  assert.ok(w.message.includes(variable) && w.message.includes(w.value) && w.message.includes(w.fallback), w.message);
  return w;
}

const TIMERS = [
  ['OTEL_EXPORTER_OTLP_TIMEOUT', (c) => c.traces.otlp.timeoutMs, 10000],
  ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', (c) => c.traces.otlp.timeoutMs, 10000],
  ['OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', (c) => c.metrics.otlp.timeoutMs, 10000],
  ['OTEL_EXPORTER_OTLP_LOGS_TIMEOUT', (c) => c.logs.otlp.timeoutMs, 10000],
  ['OTEL_BSP_SCHEDULE_DELAY', (c) => c.traces.batch.scheduleDelayMs, 5000],
  ['OTEL_BSP_EXPORT_TIMEOUT', (c) => c.traces.batch.exportTimeoutMs, 30000],
  ['OTEL_BLRP_SCHEDULE_DELAY', (c) => c.logs.batch.scheduleDelayMs, 1000],
  ['OTEL_BLRP_EXPORT_TIMEOUT', (c) => c.logs.batch.exportTimeoutMs, 30000],
  ['OTEL_METRIC_EXPORT_INTERVAL', (c) => c.metrics.exportIntervalMs, 60000],
  ['OTEL_METRIC_EXPORT_TIMEOUT', (c) => c.metrics.exportTimeoutMs, 30000],
];

test('a timeout of 2^31 ms or more is refused with one warning and the default kept; 2^31 - 1 is taken', () => {
  for (const [variable, get, def] of TIMERS) {
    for (const bad of [String(2 ** 31), String(2 ** 32 + 5), '99999999999999']) {
      const res = load({ [variable]: bad });
      const w = oneWarning(res, variable);
      assert.equal(w.value, bad);
      assert.equal(get(res.config), def, `${variable}=${bad}`);
      assert.match(w.message, new RegExp(`${MAX_TIMER}`), `the warning says the largest value: ${w.message}`);
    }
    const res = load({ [variable]: String(MAX_TIMER) });
    assert.deepEqual(res.warnings, [], `${variable}=${MAX_TIMER}: ${JSON.stringify(res.warnings)}`);
    assert.equal(get(res.config), MAX_TIMER);
  }
});

test('OTEL_EXPORTER_PROMETHEUS_HOST: addresses and host names are taken, anything else warned about', () => {
  for (const [raw, expected] of [['0.0.0.0', '0.0.0.0'], ['127.0.0.1', '127.0.0.1'], ['::', '::'], ['::1', '::1'], ['[::1]', '::1'], ['localhost', 'localhost'], ['metrics.internal.example', 'metrics.internal.example'], ['garbage', 'garbage']]) {
    const res = load({ OTEL_EXPORTER_PROMETHEUS_HOST: raw });
    assert.deepEqual(res.warnings, [], `${raw}: ${JSON.stringify(res.warnings)}`);
    assert.equal(res.config.admin.host, expected);
  }
  for (const raw of ['http://0.0.0.0', '0.0.0.0:9464', 'two words', 'under_score.example', '-leading.example', 'a..b', '1.2.3.4.5/8', '%%%']) {
    const res = load({ OTEL_EXPORTER_PROMETHEUS_HOST: raw });
    const w = oneWarning(res, 'OTEL_EXPORTER_PROMETHEUS_HOST');
    assert.equal(w.value, raw);
    assert.equal(w.fallback, '0.0.0.0');
    assert.equal(res.config.admin.host, '0.0.0.0');
  }
});

test('header values with a line break or beyond Latin-1 are dropped with one warning; the other headers stay', () => {
  for (const variable of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    for (const bad of ['x-bad=a%0D%0AInjected: 1', 'x-bad=line%0Abreak', 'x-bad=check%E2%9C%93', 'x-bad=nul%00', 'x%20bad=v']) {
      const res = load({ [variable]: `authorization=Bearer%20s3cret,${bad}` });
      const w = oneWarning(res, variable);
      assert.ok(!w.message.includes('s3cret'), `header values stay hidden: ${w.message}`);
      assert.match(w.message, /Latin-1/);
      assert.deepEqual(res.config.traces.otlp.headers, { authorization: 'Bearer s3cret' }, `${variable}=${bad}`);
    }
    // Latin-1 (é is U+00E9) and tabs are sendable.
    const res = load({ [variable]: 'x-name=caf%C3%A9,x-tab=a%09b' });
    assert.deepEqual(res.warnings, []);
    assert.deepEqual(res.config.traces.otlp.headers, { 'x-name': 'café', 'x-tab': 'a\tb' });
  }
});

test('an admin host that does not resolve is named as the fault, not the port', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'otelkit/register', '-e', 'setTimeout(() => {}, 1500)'], {
    cwd: ROOT,
    env: {
      ...process.env,
      OTEL_EXPORTER_PROMETHEUS_HOST: 'no-such-host.invalid',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise((resolve) => child.on('close', resolve));
  const line = stderr.split('\n').find((l) => l.includes('admin server could not listen'));
  assert.ok(line, `no listen error in: ${stderr}`);
  assert.match(line, /OTEL_EXPORTER_PROMETHEUS_HOST/);
  assert.doesNotMatch(line, /OTEL_EXPORTER_PROMETHEUS_PORT/);
});

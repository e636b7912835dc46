// Console capture: console.* through a logger at the matching level, no recursion, restorable.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { installConsoleCapture, uninstallConsoleCapture, isConsoleCaptured } = require('../dist/logs/console-capture.js');
const { initLogging, resetLogging } = require('../dist/logs/setup.js');
const { createRedactor } = require('../dist/redact/redactor.js');

function fakeConsole() {
  const calls = [];
  const c = {};
  for (const m of ['log', 'info', 'warn', 'error', 'debug']) c[m] = (...args) => calls.push([m, ...args]);
  return { console: c, calls };
}

function recordingLogger() {
  const got = [];
  const l = {};
  for (const lvl of ['info', 'warn', 'error', 'debug']) l[lvl] = (m) => got.push([lvl, m]);
  return { logger: l, got };
}

afterEach(() => {
  uninstallConsoleCapture();
  resetLogging();
});

test('each console method goes to the logger at the matching level, formatted like console', () => {
  const fc = fakeConsole();
  const { logger, got } = recordingLogger();
  installConsoleCapture(logger, fc.console);
  fc.console.log('hello %s', 'world', 42);
  fc.console.info('info');
  fc.console.warn('warn');
  fc.console.error('error', { a: 1 });
  fc.console.debug('debug');
  assert.deepEqual(got, [
    ['info', 'hello world 42'],
    ['info', 'info'],
    ['warn', 'warn'],
    ['error', 'error { a: 1 }'],
    ['debug', 'debug'],
  ]);
  assert.equal(fc.calls.length, 0, 'nothing reached the real console');
  const err = new Error('boom');
  fc.console.error(err);
  assert.equal(got.at(-1)[1], err, 'a lone Error stays an Error');
});

test('no infinite recursion when the logger itself writes to the console', () => {
  const fc = fakeConsole();
  let depth = 0;
  const logger = {};
  for (const lvl of ['info', 'warn', 'error', 'debug']) {
    logger[lvl] = (m) => {
      depth++;
      fc.console.log(`transport echo: ${m}`);
    };
  }
  installConsoleCapture(logger, fc.console);
  fc.console.log('once');
  assert.equal(depth, 1);
  assert.deepEqual(fc.calls, [['log', 'transport echo: once']]);
});

test('a throwing logger does not lose the output', () => {
  const fc = fakeConsole();
  const logger = { info: () => { throw new Error('x'); }, warn() {}, error() {}, debug() {} };
  installConsoleCapture(logger, fc.console);
  fc.console.log('kept');
  assert.deepEqual(fc.calls, [['log', 'kept']]);
});

test('uninstall restores the original methods', () => {
  const fc = fakeConsole();
  const original = fc.console.log;
  const { logger } = recordingLogger();
  const uninstall = installConsoleCapture(logger, fc.console);
  assert.notEqual(fc.console.log, original);
  assert.equal(isConsoleCaptured(), true);
  uninstall();
  assert.equal(fc.console.log, original);
  assert.equal(isConsoleCaptured(), false);
});

test('OTELKIT_CAPTURE_CONSOLE via initLogging: the console logger, JSON, redacted', () => {
  const chunks = [];
  const stdout = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  const realLog = console.log;
  initLogging(
    { level: 'info', levels: [{ name: 'console', level: 'warn' }], format: 'json', captureConsole: true, bridge: false },
    { serviceName: 'svc', redactor: createRedactor({ enabled: true, extraKeys: [] }), stdout },
  );
  try {
    console.log('below the console logger level');
    console.warn('contact alice@example.com');
    console.error('token=%s', 'Bearer abcdefghijklmnopqrstuvwxyz');
  } finally {
    resetLogging();
  }
  assert.equal(console.log, realLog, 'reset restored the console');
  const lines = chunks.join('').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines.map((l) => [l.logger, l.level]), [['console', 'warn'], ['console', 'error']]);
  assert.ok(!chunks.join('').includes('alice@example.com'));
  assert.ok(!chunks.join('').includes('abcdefghijklmnopqrstuvwxyz'));
});

test('objects are redacted before formatting turns them into text', () => {
  const fc = fakeConsole();
  const { logger, got } = recordingLogger();
  const r = createRedactor({ enabled: true, extraKeys: [] });
  const secret = { password: 'hunter2', n: 1 };
  installConsoleCapture(logger, fc.console, (v) => r.redactValue(v));
  // Strings pass as they are here: the logger redacts the message text itself.
  fc.console.log('login', secret, 'for', 'bob');
  assert.equal(got.length, 1);
  assert.equal(got[0][0], 'info');
  assert.doesNotMatch(got[0][1], /hunter2/);
  assert.match(got[0][1], /password: '\[REDACTED\]', n: 1/);
  assert.equal(secret.password, 'hunter2', "the application's object is untouched");
});

// Issue 29, items 10 and 14: a crash under otelkit reads exactly as it does without it, and an
// uncaught error the application handles leaves the application's stdout alone.
//
// Item 10: the full stderr of a crashing application (ES module and CommonJS; an uncaught
// exception, an unhandled rejection, EADDRINUSE) is compared byte for byte with the same run
// without otelkit, once otelkit's start line is taken out (its only expected line there), plus the
// exit code. The baseline of a preload is the same flag with a preload that does nothing: any
// `--import` makes Node run a CommonJS entry through its ES module loader, which shows in stacks.
// otelkit's crash record goes to OTLP (checked here with a receiver) and to its structured log on
// stdout (one JSON line, checked too). With the collector down, the crash is as prompt as without it.
//
// Item 14: an application with its own 'uncaughtException' handler keeps its stdout byte for byte;
// the crash record still reaches OTLP.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ROOT, FIXTURES, freePort } from './support/app.mjs';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';

const CRASH = path.join(FIXTURES, 'crash');

const rx = await startOtlpReceiver();
after(() => rx.close());

// The port the EADDRINUSE applications try to take.
const taken = net.createServer();
await new Promise((r) => taken.listen(0, '127.0.0.1', r));
after(() => new Promise((r) => taken.close(r)));

function run(args, env = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(taken.address().port),
        OTEL_EXPORTER_PROMETHEUS_PORT: '0',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_TRACES_SAMPLER: 'always_on',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 }));
  });
}

/** stderr without otelkit's start line, the one line of otelkit's expected there. */
function withoutStartLine(stderr) {
  return stderr
    .split('\n')
    .filter((line) => {
      if (!line.startsWith('{')) return true;
      try {
        return JSON.parse(line).msg !== 'otelkit started';
      } catch {
        return true;
      }
    })
    .join('\n');
}

const CASES = [
  { app: 'throw', body: 'uncaught exception', message: 'card declined for order 42', type: 'Error' },
  { app: 'reject', body: 'unhandled promise rejection', message: 'user 7 has no profile', type: 'TypeError' },
  { app: 'addrinuse', body: 'uncaught exception', message: 'listen EADDRINUSE', type: 'Error' },
];
const RUNS = [
  // [entry extension, otelkit's preload flags, the baseline's]
  ['cjs', ['--require', 'otelkit/register'], []],
  ['cjs', ['--import', 'otelkit/register'], ['--import', path.join(CRASH, 'neutral.mjs')]],
  ['mjs', ['--import', 'otelkit/register'], []],
  ['mjs', ['--import', 'otelkit/register'], ['--import', path.join(CRASH, 'neutral.mjs')]],
];

// The http.Server emit patch (src/instrument/http-server.ts) is on the stack of every event a
// server emits, so an error made in a 'listening' listener shows one frame of otelkit's bundle
// ("at proto.emit (.../dist/otelkit.js:...)"), twice in Node's EADDRINUSE output. Not a part of
// the crash path: compared here without those frames, which is the one known difference (README,
// crash capture). upstream's http instrumentation patches the same emit and shows the same frame.
const OTELKIT_FRAME = /^ {4}at [^\n]*\/dist\/otelkit\.js:\d+:\d+\)?\n/gm;

for (const { app, body, message, type } of CASES) {
  for (const [ext, preload, baseline] of RUNS) {
    const entry = path.join(CRASH, `${app}.${ext}`);
    const label = `${app}.${ext} under ${preload.join(' ')} (baseline: node ${baseline.length ? baseline[0] + ' ' + path.basename(baseline[1]) : 'alone'})`;

    test(`${label}: stderr and exit code exactly as without otelkit, the crash record on OTLP and stdout`, async () => {
      const plain = await run([...baseline, entry]);
      rx.reset();
      const ours = await run([...preload, entry], { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
      assert.equal(plain.code, 1, plain.stderr);
      assert.equal(ours.code, plain.code, ours.stderr);
      assert.equal(ours.signal, plain.signal);
      const stderr = withoutStartLine(ours.stderr);
      assert.equal(app === 'addrinuse' ? stderr.replace(OTELKIT_FRAME, '') : stderr, plain.stderr);
      // otelkit's structured log: one line on stdout (the application writes nothing there).
      assert.equal(plain.stdout, '');
      const lines = ours.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assert.equal(lines.length, 1, ours.stdout);
      assert.equal(lines[0].message, body);
      // OTLP, sent before Node printed and exited.
      const record = rx.logs.find((l) => l.body === body);
      assert.ok(record, `no crash record on OTLP: ${rx.summary()}`);
      assert.equal(record.attributes['exception.type'], type);
      assert.ok(String(record.attributes['exception.message']).startsWith(message), record.attributes['exception.message']);
    });
  }
}

test('collector down: a crash is as prompt as without otelkit, no warning after the banner', async () => {
  const closed = await freePort();
  for (const app of ['throw.cjs', 'reject.mjs']) {
    const plain = await run([path.join(CRASH, app)]);
    const ours = await run(['--import', 'otelkit/register', path.join(CRASH, app)], {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
      OTELKIT_SHUTDOWN_TIMEOUT_MS: '30000',
    });
    assert.equal(ours.code, 1);
    const baseline = app.endsWith('.mjs') ? plain.stderr : (await run(['--import', path.join(CRASH, 'neutral.mjs'), path.join(CRASH, app)])).stderr;
    assert.equal(withoutStartLine(ours.stderr), baseline);
    // Behavioural: the crash does not wait out the 30 s bound for a collector that refuses.
    assert.ok(ours.ms < 15000, `${app}: the crash took ${ours.ms} ms with a 30000 ms bound`);
  }
});

test('the application handles an uncaught exception: its stdout is its own, the record goes to OTLP', async () => {
  const entry = path.join(CRASH, 'handled.cjs');
  const plain = await run([entry]);
  assert.equal(plain.code, 0, plain.stderr);
  for (const preload of [['--require', 'otelkit/register'], ['--import', 'otelkit/register']]) {
    rx.reset();
    const ours = await run([...preload, entry], { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_BLRP_SCHEDULE_DELAY: '100' });
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, plain.stdout);
    assert.equal(ours.stdout, 'handled: recoverable glitch\nstill running\n');
    // The error's exception record (error tracking), marked with its origin.
    const record = await rx.waitFor(() => rx.logs.find((l) => l.attributes['otelkit.error.source'] === 'uncaughtException'));
    assert.equal(record.attributes['exception.message'], 'recoverable glitch');
    assert.match(String(record.attributes['exception.stacktrace']), /^Error: recoverable glitch\n\s+at /);
    assert.equal(record.severityText, 'ERROR');
    assert.match(String(record.attributes['otelkit.error.group']), /^[0-9a-f]{16}$/);
  }
});

test('http/json: the crash record is sent as OTLP/JSON before Node exits, the crash reads as without otelkit', async () => {
  const entry = path.join(CRASH, 'throw.cjs');
  const plain = await run([entry]);
  rx.reset();
  const ours = await run(['--require', 'otelkit/register', entry], { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
  assert.equal(ours.code, plain.code);
  assert.equal(withoutStartLine(ours.stderr), plain.stderr);
  const record = rx.logs.find((l) => l.body === 'uncaught exception');
  assert.ok(record, rx.summary());
  assert.equal(record.encoding, 'json');
  assert.equal(record.attributes['exception.message'], 'card declined for order 42');
});

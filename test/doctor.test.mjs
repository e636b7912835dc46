// `otelkit doctor` run as a user runs it (the built bin, a clean environment), against a good
// setup and against each kind of mistake: exit code, one problem line per mistake, no secrets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';
import { freePort } from './support/app.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'index.js');

function runDoctor(vars, { args = ['--json'], cwd = ROOT } = {}) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? os.tmpdir(), ...vars };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'doctor', '--timeout', '1500', ...args], { env, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let report;
      if (args.includes('--json')) {
        try {
          report = JSON.parse(stdout);
        } catch {
          return reject(new Error(`doctor --json printed no JSON (exit ${code}):\n${stdout}\n${stderr}`));
        }
      }
      resolve({ code, stdout, stderr, report });
    });
  });
}


/** An HTTP server answering every request with one status (a wrong "collector"). */
async function answering(status) {
  const requests = [];
  const srv = http.createServer((req, res) => {
    requests.push({ url: req.url, headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`status ${status}`);
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}`, requests, close: () => new Promise((r) => { srv.close(r); srv.closeAllConnections(); }) };
}

let rx;
before(async () => {
  rx = await startOtlpReceiver();
});
after(async () => {
  await rx.close();
});

/** A healthy setup: every signal over OTLP to the in-test receiver, a free admin port. */
async function good(extra = {}) {
  return {
    OTEL_SERVICE_NAME: 'checkout',
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
    OTEL_METRICS_EXPORTER: 'prometheus,otlp',
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()),
    ...extra,
  };
}

function assertOneProblem(r, ...fragments) {
  assert.equal(r.code, 1, `exit code 1 expected; problems: ${JSON.stringify(r.report?.problems)}`);
  assert.equal(r.report.problems.length, 1, `exactly one problem expected, got:\n${r.report.problems.join('\n')}`);
  for (const f of fragments) assert.match(r.report.problems[0], f instanceof RegExp ? f : new RegExp(f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
}

test('good setup: exit 0, every setting with its source, every endpoint reachable and accepting', async () => {
  rx.reset();
  const r = await runDoctor(await good(), { args: [] });
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /healthy: no problems found/);
  assert.match(r.stdout, /OTEL_SERVICE_NAME\s+checkout\s+env/);
  assert.match(r.stdout, /OTEL_TRACES_SAMPLER\s+parentbased_traceidratio\s+default/);
  assert.match(r.stdout, /OTELKIT_SHUTDOWN_TIMEOUT_MS\s+5000\s+default/);
  for (const signal of ['traces', 'metrics', 'logs']) {
    assert.match(r.stdout, new RegExp(`ok\\s+${signal} http/protobuf ${rx.url}/v1/${signal}: reachable and accepting application/x-protobuf`));
  }
  assert.match(r.stdout, /ok\s+admin 127\.0\.0\.1:\d+ .*: free/);
  // The probe is a real, empty export request per signal.
  const posts = rx.requests.filter((q) => q.method === 'POST').map((q) => `${q.signal} ${q.status}`).sort();
  assert.deepEqual(posts, ['logs 200', 'metrics 200', 'traces 200']);
});

test('good setup over http/json: the probe sends {} as application/json', async () => {
  rx.reset();
  const r = await runDoctor(await good({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }));
  assert.equal(r.code, 0, JSON.stringify(r.report.problems));
  assert.ok(rx.requests.length === 3 && rx.requests.every((q) => q.contentType === 'application/json' && q.status === 200), rx.summary());
});

test('OTEL_SDK_DISABLED=true alone is healthy and probes nothing', async () => {
  const r = await runDoctor({ OTEL_SERVICE_NAME: 'x', OTEL_SDK_DISABLED: 'true' });
  assert.equal(r.code, 0, JSON.stringify(r.report.problems));
  assert.equal(r.report.probes.length, 0);
  assert.match(r.report.notes.join('\n'), /OTEL_SDK_DISABLED=true/);
});

test('invalid value: sampler ratio out of range', async () => {
  const r = await runDoctor(await good({ OTEL_TRACES_SAMPLER_ARG: '2' }));
  assertOneProblem(r, 'invalid OTEL_TRACES_SAMPLER_ARG="2" (expected a ratio from 0 to 1)', 'set OTEL_TRACES_SAMPLER_ARG to a valid value');
  const s = r.report.settings.find((x) => x.variable === 'OTEL_TRACES_SAMPLER_ARG');
  assert.deepEqual(s, { variable: 'OTEL_TRACES_SAMPLER_ARG', value: '0.1', source: 'fallback' }); // production default
});

test('invalid value: not a number, unknown exporter', async () => {
  const r = await runDoctor(await good({ OTEL_BSP_SCHEDULE_DELAY: 'soon', OTEL_TRACES_EXPORTER: 'jaeger' }));
  assert.equal(r.code, 1);
  assert.equal(r.report.problems.length, 2, r.report.problems.join('\n'));
  assert.match(r.report.problems.join('\n'), /OTEL_BSP_SCHEDULE_DELAY="soon".*set OTEL_BSP_SCHEDULE_DELAY/);
  assert.match(r.report.problems.join('\n'), /OTEL_TRACES_EXPORTER="jaeger".*expected one of otlp, console, none/);
});

test('unreachable endpoint: nothing listens there', async () => {
  const port = await freePort();
  const r = await runDoctor(await good({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_METRICS_EXPORTER: 'prometheus' }));
  assert.equal(r.code, 1);
  assert.equal(r.report.problems.length, 2, r.report.problems.join('\n'));
  for (const signal of ['traces', 'logs']) {
    assert.ok(r.report.problems.some((p) => p.startsWith(`${signal}: cannot reach http://127.0.0.1:${port}/v1/${signal}: nothing listens`) && p.includes('set OTEL_EXPORTER_OTLP_ENDPOINT')), r.report.problems.join('\n'));
  }
});

test('endpoint answering 404: wrong base URL', async () => {
  const srv = await answering(404);
  try {
    const r = await runDoctor(await good({ OTEL_EXPORTER_OTLP_ENDPOINT: srv.url, OTEL_LOGS_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'prometheus' }));
    assertOneProblem(r, `traces: ${srv.url}/v1/traces answered HTTP 404`, 'set OTEL_EXPORTER_OTLP_ENDPOINT to the collector\'s base URL');
  } finally {
    await srv.close();
  }
});

test('per-signal endpoint without /v1/traces: the receiver answers 404 and the fix says so', async () => {
  const r = await runDoctor(await good({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: rx.url }));
  assertOneProblem(r, 'answered HTTP 404', 'end OTEL_EXPORTER_OTLP_TRACES_ENDPOINT with /v1/traces');
});

test('endpoint answering 415: wrong protocol', async () => {
  const srv = await answering(415);
  try {
    const r = await runDoctor(await good({ OTEL_EXPORTER_OTLP_ENDPOINT: srv.url, OTEL_LOGS_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'prometheus' }));
    assertOneProblem(r, 'answered HTTP 415', 'set OTEL_EXPORTER_OTLP_PROTOCOL=http/json');
  } finally {
    await srv.close();
  }
});

test('endpoint refusing credentials (401): names the headers variable, never prints the secret', async () => {
  const srv = await answering(401);
  try {
    const r = await runDoctor(await good({
      OTEL_EXPORTER_OTLP_ENDPOINT: srv.url,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20s3cr3t-t0ken,x-api-key=k3y-v4lue',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'prometheus',
    }), { args: [] });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /answered HTTP 401.*check OTEL_EXPORTER_OTLP_HEADERS/);
    assert.match(r.stdout, /OTEL_EXPORTER_OTLP_HEADERS\s+authorization=\[REDACTED\],x-api-key=\[REDACTED\]\s+env/);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cr3t|k3y-v4lue/);
    // The probe did send the configured headers.
    assert.equal(srv.requests[0].headers.authorization, 'Bearer s3cr3t-t0ken');
  } finally {
    await srv.close();
  }
});

test('secrets: credentials in endpoint URLs and malformed header lists are redacted everywhere', async () => {
  const port = await freePort();
  const r = await runDoctor(await good({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://admin:hunter2pass@127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer abcdefsecret,broken',
  }));
  const text = JSON.stringify(r.report);
  assert.equal(r.code, 1);
  assert.doesNotMatch(text, /hunter2pass|abcdefsecret/);
  assert.match(text, /OTEL_EXPORTER_OTLP_TRACES_HEADERS/);
  const plain = await runDoctor(await good({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://admin:hunter2pass@127.0.0.1:${port}` }), { args: [] });
  assert.doesNotMatch(plain.stdout, /hunter2pass/);
});

test('Prometheus port taken', async () => {
  const blocker = net.createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  const port = blocker.address().port;
  try {
    const r = await runDoctor(await good({ OTEL_EXPORTER_PROMETHEUS_PORT: String(port) }));
    assertOneProblem(r, `OTEL_EXPORTER_PROMETHEUS_PORT: port ${port} on 127.0.0.1 is taken`, 'set OTEL_EXPORTER_PROMETHEUS_PORT to a free port');
    assert.ok(r.report.probes.some((p) => p.what === 'port' && !p.ok && p.detail === 'taken'));
  } finally {
    await new Promise((r) => blocker.close(r));
  }
});

test('contradiction: OTEL_SDK_DISABLED=true with exporters configured', async () => {
  const r = await runDoctor({ OTEL_SERVICE_NAME: 'x', OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: rx.url });
  assertOneProblem(r, /^OTEL_SDK_DISABLED=true switches otelkit off, yet OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT are set/, 'unset OTEL_SDK_DISABLED');
});

test('contradiction: OTEL_METRICS_EXPORTER=none while relying on /metrics', async () => {
  const r = await runDoctor(await good({ OTEL_METRICS_EXPORTER: 'none' }));
  assertOneProblem(r, /^OTEL_EXPORTER_PROMETHEUS_PORT and OTEL_EXPORTER_PROMETHEUS_HOST are set but OTEL_METRICS_EXPORTER=none/, '/metrics answers 404', 'add prometheus to OTEL_METRICS_EXPORTER');
});

test('contradiction: per-signal OTLP settings for a signal that is not exported over OTLP', async () => {
  const r = await runDoctor(await good({ OTEL_LOGS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${rx.url}/v1/logs` }));
  assertOneProblem(r, 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is set but OTEL_LOGS_EXPORTER=none', 'set OTEL_LOGS_EXPORTER=otlp');
});

test('contradiction: a sampler that records nothing while traces are exported', async () => {
  const r = await runDoctor(await good({ OTEL_TRACES_SAMPLER: 'always_off' }));
  assertOneProblem(r, 'OTEL_TRACES_SAMPLER=always_off records no traces');
  const zero = await runDoctor(await good({ OTEL_TRACES_SAMPLER_ARG: '0' }));
  assertOneProblem(zero, 'OTEL_TRACES_SAMPLER_ARG=0 samples no traces');
});

test('contradiction: gRPC protocol on the OTLP/HTTP port', async () => {
  const r = await runDoctor(await good({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }));
  assert.equal(r.code, 1);
  assert.ok(r.report.problems.some((p) => /OTEL_EXPORTER_OTLP_PROTOCOL=grpc but http:\/\/127\.0\.0\.1:4318 is the OTLP\/HTTP port 4318: use port 4317/.test(p)), r.report.problems.join('\n'));
});

test('grpc endpoint: TCP connect only', async () => {
  const r = await runDoctor(await good({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_METRICS_EXPORTER: 'prometheus', OTEL_LOGS_EXPORTER: 'none' }));
  assert.equal(r.code, 0, r.report.problems.join('\n'));
  assert.match(r.report.probes[0].detail, /reachable \(TCP connect/);
});

test('contradiction: log file settings without OTELKIT_LOG_FILE', async () => {
  const r = await runDoctor(await good({ OTELKIT_LOG_FILE_MAX_SIZE: '20m' }));
  assertOneProblem(r, 'OTELKIT_LOG_FILE_MAX_SIZE is set but OTELKIT_LOG_FILE is not', 'set OTELKIT_LOG_FILE to a path');
});

test('a service without a name', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'otelkit-doctor-'));
  try {
    const vars = await good();
    delete vars.OTEL_SERVICE_NAME;
    const r = await runDoctor(vars, { cwd: dir });
    assertOneProblem(r, 'the service has no name (unknown_service:node): set OTEL_SERVICE_NAME');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('text output: one line per problem, then the exit code', async () => {
  const port = await freePort();
  const r = await runDoctor(await good({ OTEL_TRACES_SAMPLER_ARG: '-1', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }), { args: [] });
  assert.equal(r.code, 1);
  const lines = r.stdout.split('\n');
  const head = lines.findIndex((l) => /^\d+ problems?:$/.test(l));
  assert.ok(head > 0, r.stdout);
  const problems = lines.slice(head + 1).filter((l) => l.startsWith('  x '));
  assert.equal(problems.length, Number(lines[head].split(' ')[0]));
  assert.equal(problems.length, 4, r.stdout); // the sampler arg and three unreachable signals
  assert.match(r.stdout, /FAIL\s+traces http\/protobuf/);
});

test('usage errors exit 2 with help', async () => {
  const r = await new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'doctor', '--bogus'], { env: { PATH: process.env.PATH } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, err }));
  });
  assert.equal(r.code, 2);
  assert.match(r.err, /Usage:/);
});

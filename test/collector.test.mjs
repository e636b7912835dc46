// The collector distribution (collector/): the built binary contains every component of the
// manifest, every shipped config validates, and a real run on loopback redacts secrets in logs
// before forwarding them over OTLP/HTTP.
//
// The binary is built by `bash collector/build.sh` (npm test runs it first). A missing binary is
// a failure, never a skip.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './support/app.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const COLLECTOR_DIR = join(ROOT, 'collector');
const BIN = join(COLLECTOR_DIR, '_build', 'otelcol-otelkit');
const MANIFEST = join(COLLECTOR_DIR, 'builder-config.yaml');

// Free loopback ports, chosen when the run starts: never the defaults of a running stack
// (4317/4318/8888/8889/13133), nor fixed ones another test run (another Node line) may hold.
const PORTS = {};

// Component names each manifest module must register (the new, non-deprecated names).
const EXPECTED_NAMES = {
  receivers: ['otlp'],
  processors: ['memory_limiter', 'batch', 'transform', 'redaction', 'attributes', 'tail_sampling'],
  exporters: ['debug', 'otlp_grpc', 'otlp_http', 'prometheus', 'load_balancing'],
  extensions: ['health_check'],
  connectors: ['span_metrics'],
};
const EXPECTED_SCHEMES = ['env', 'file', 'yaml'];

function requireBinary() {
  assert.ok(
    existsSync(BIN),
    `collector binary not found at ${relative(ROOT, BIN)}: build it with \`bash collector/build.sh\` (npm test does this first)`,
  );
}

// Environment without any collector variable, so the configs' defaults apply.
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('OTELKIT_COLLECTOR_') && !k.startsWith('OTELKIT_GATEWAY_')) env[k] = v;
  }
  return { ...env, ...extra };
}

// Top-level sections of a simple YAML document, each as its raw lines.
function sections(text) {
  const out = {};
  let current = null;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+):\s*$/.exec(line);
    if (m) {
      current = m[1];
      out[current] = [];
    } else if (current && line.trim() && !line.trimStart().startsWith('#')) {
      out[current].push(line);
    }
  }
  return out;
}

function manifestModules() {
  const result = {};
  for (const [section, lines] of Object.entries(sections(readFileSync(MANIFEST, 'utf8')))) {
    const mods = lines
      .map((l) => /^\s*-\s*gomod:\s*"?([^\s"]+)\s+([^\s"]+)"?\s*$/.exec(l))
      .filter(Boolean)
      .map((m) => `${m[1]} ${m[2]}`);
    if (mods.length) result[section] = mods;
  }
  return result;
}

function findConfigs(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findConfigs(path));
    // builder-config.yaml is the build manifest; kustomization.yaml mounts the configs for deploy/k8s.
    else if (/\.ya?ml$/.test(entry.name) && !['builder-config.yaml', 'kustomization.yaml'].includes(entry.name)) found.push(path);
  }
  return found.sort();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls fn until it returns something truthy; gives up at the deadline or as soon as stop() is true.
async function waitFor(what, fn, timeoutMs, diagnostics = () => '', stop = () => false) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (stop()) assert.fail(`gave up waiting for ${what}${diagnostics()}`);
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(200);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}${diagnostics()}`);
}

test('the collector binary contains every component of the manifest', () => {
  requireBinary();
  const res = spawnSync(BIN, ['components'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.status, 0, `\`otelcol-otelkit components\` failed:\n${res.stderr}`);
  const built = sections(res.stdout);

  const manifest = manifestModules();
  assert.ok(Object.keys(manifest).length >= 6, 'the manifest lists no components');
  for (const [section, mods] of Object.entries(manifest)) {
    const text = (built[section] ?? []).join('\n');
    for (const mod of mods) {
      assert.ok(text.includes(`module: ${mod}`), `${section}: ${mod} is in the manifest but not in the binary`);
    }
  }

  for (const [section, names] of Object.entries(EXPECTED_NAMES)) {
    const have = (built[section] ?? []).map((l) => /^\s*-\s*name:\s*(\S+)/.exec(l)?.[1]).filter(Boolean);
    for (const name of names) assert.ok(have.includes(name), `${section}: component "${name}" missing (have: ${have.join(', ')})`);
  }
  const schemes = (built.providers ?? []).map((l) => /^\s*-\s*scheme:\s*(\S+)/.exec(l)?.[1]).filter(Boolean);
  for (const scheme of EXPECTED_SCHEMES) assert.ok(schemes.includes(scheme), `provider "${scheme}" missing`);
});

test('every shipped collector config validates with the default environment', () => {
  requireBinary();
  const configs = findConfigs(COLLECTOR_DIR);
  const names = configs.map((c) => relative(COLLECTOR_DIR, c));
  for (const required of ['config.yaml', 'gateway.yaml', 'gateway-sampling.yaml']) {
    assert.ok(names.includes(required), `collector/${required} is missing (found: ${names.join(', ')})`);
  }
  for (const config of configs) {
    const res = spawnSync(BIN, ['validate', `--config=${config}`], { encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });
    assert.equal(res.status, 0, `validate failed for collector/${relative(COLLECTOR_DIR, config)}:\n${res.stderr}${res.stdout}`);
  }
});

// ---- a real run: OTLP/HTTP in, redaction, OTLP/HTTP out to an in-test receiver ----

let collector;
let receiver;

after(async () => {
  if (collector && collector.exitCode === null && collector.signalCode === null) {
    const exited = new Promise((resolve) => collector.once('exit', resolve));
    collector.kill('SIGTERM');
    const timer = setTimeout(() => collector.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  if (receiver) await new Promise((resolve) => receiver.close(resolve));
});

test('a running collector redacts secrets in logs and forwards them over OTLP/HTTP', async () => {
  requireBinary();
  for (const name of ['grpc', 'http', 'telemetry', 'prometheus', 'health']) PORTS[name] = await freePort();

  // Tiny OTLP/HTTP logs receiver: records every POST /v1/logs body (decompressed).
  const received = [];
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const enc = req.headers['content-encoding'];
      if (enc === 'gzip') body = gunzipSync(body);
      else if (enc === 'deflate') body = inflateSync(body);
      received.push({ method: req.method, url: req.url, contentType: req.headers['content-type'], encoding: enc, body });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end(); // an empty ExportLogsServiceResponse
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverPort = receiver.address().port;

  let output = '';
  collector = spawn(BIN, [`--config=${join(COLLECTOR_DIR, 'config.yaml')}`], {
    env: cleanEnv({
      OTELKIT_COLLECTOR_BIND: '127.0.0.1',
      OTELKIT_COLLECTOR_OTLP_GRPC_PORT: String(PORTS.grpc),
      OTELKIT_COLLECTOR_OTLP_HTTP_PORT: String(PORTS.http),
      OTELKIT_COLLECTOR_HEALTH_PORT: String(PORTS.health),
      OTELKIT_COLLECTOR_PROMETHEUS_PORT: String(PORTS.prometheus),
      OTELKIT_COLLECTOR_TELEMETRY_PORT: String(PORTS.telemetry),
      OTELKIT_COLLECTOR_LOGS_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
      // Nothing listens there; no spans are sent in this test.
      OTELKIT_COLLECTOR_TRACES_ENDPOINT: '127.0.0.1:9',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  collector.stdout.on('data', (d) => { output += d; });
  collector.stderr.on('data', (d) => { output += d; });
  const diagnostics = () => `\ncollector exit: ${collector.exitCode ?? collector.signalCode ?? 'running'}\ncollector output:\n${output.slice(-4000)}`;

  // Health check answers once every component has started.
  const exited = () => collector.exitCode !== null || collector.signalCode !== null;
  await waitFor(`the health check on :${PORTS.health}`, async () => {
    const res = await fetch(`http://127.0.0.1:${PORTS.health}/`);
    return res.status === 200;
  }, 30_000, diagnostics, exited);

  // No long digit runs: the collector's card-number pattern would redact a pid and a timestamp
  // joined by '-' (e.g. 4711-1764028456943), and the marker with it.
  const marker = `otelkit-collector-test-${process.pid.toString(36)}${Date.now().toString(36)}`;
  const payload = {
    resourceLogs: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'collector-test' } }] },
      scopeLogs: [{
        scope: { name: 'collector-test' },
        logRecords: [{
          timeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
          severityNumber: 9,
          severityText: 'INFO',
          body: { stringValue: `login for ${marker} with header Bearer abc.def.ghi accepted` },
          attributes: [
            { key: 'password', value: { stringValue: 'hunter2' } },
            { key: 'X-Api-Key', value: { stringValue: 'k3y-s3cr3t-value' } },
            { key: 'url.full', value: { stringValue: 'https://alice:pa55w0rd@db.example.com/path?token=tok-zzz&page=2' } },
            { key: 'user.contact', value: { stringValue: 'mail alice@example.com now' } },
            { key: 'keep.me', value: { stringValue: 'visible-value' } },
            { key: 'marker', value: { stringValue: marker } },
          ],
        }],
      }],
    }],
  };
  const post = await fetch(`http://127.0.0.1:${PORTS.http}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  assert.equal(post.status, 200, `OTLP/HTTP export to the collector failed: ${post.status} ${await post.text()}`);

  const forwarded = await waitFor('the log record at the in-test OTLP/HTTP receiver', () => {
    const hit = received.find((r) => r.body.includes(marker));
    return hit;
  }, 20_000, () => `\nrequests received: ${received.length}${received.map((r) => `\n  ${r.method} ${r.url} ${r.contentType} ${r.encoding ?? 'identity'} ${r.body.length} bytes: ${JSON.stringify(r.body.toString('latin1').slice(0, 600))}`).join('')}${diagnostics()}`, exited);

  assert.equal(forwarded.method, 'POST');
  assert.equal(forwarded.url, '/v1/logs');
  assert.match(String(forwarded.contentType), /application\/x-protobuf/);
  const body = forwarded.body.toString('latin1');
  for (const secret of ['hunter2', 'abc.def.ghi', 'k3y-s3cr3t-value', 'pa55w0rd', 'tok-zzz', 'alice@example.com']) {
    assert.ok(!body.includes(secret), `secret "${secret}" was forwarded unredacted`);
  }
  assert.ok(body.includes('[REDACTED]'), 'forwarded payload has no [REDACTED] marker');
  assert.ok(body.includes('visible-value'), 'a harmless attribute was lost');
  assert.ok(body.includes('db.example.com/path?token=[REDACTED]&page=2'), 'the rest of a redacted URL was not kept');
  assert.ok(body.includes('Bearer [REDACTED] accepted'), 'the rest of a redacted log body was not kept');

  // Health, span/OTLP metrics for Prometheus and the collector's own metrics all answer.
  const health = await fetch(`http://127.0.0.1:${PORTS.health}/`);
  assert.equal(health.status, 200);
  const prom = await fetch(`http://127.0.0.1:${PORTS.prometheus}/metrics`);
  assert.equal(prom.status, 200);
  await prom.arrayBuffer();
  const self = await fetch(`http://127.0.0.1:${PORTS.telemetry}/metrics`);
  assert.equal(self.status, 200);
  assert.match(await self.text(), /otelcol_/);
});

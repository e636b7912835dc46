// Process models: a real node:cluster service under the preload (one scrape target on the
// primary covering every worker, /readyz telling the workers' truth, a dead or stuck worker
// reflected, each worker exporting OTLP as its own instance), and children that inherit the
// preload through NODE_OPTIONS while their parent holds the admin port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { startApp, freePort, get, FIXTURES } from './support/app.mjs';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';
import { startPrometheus } from './support/prometheus.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value; the last value and error say why it did not. */
async function until(what, fn, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.stack : JSON.stringify(last)?.slice(0, 3000)}`);
    await sleep(100);
  }
}

/** Samples of one metric name: [{ labels, value }]. */
function samples(text, name) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** Requests answered per worker id, from the workers' own request counts on the primary's /metrics. */
function countsByWorker(text) {
  const counts = {};
  for (const s of samples(text, 'http_server_request_duration_seconds_count')) {
    if (s.labels.http_route !== undefined && s.labels.http_route !== '') continue;
    const id = s.labels.cluster_worker_id ?? 'primary';
    counts[id] = (counts[id] ?? 0) + s.value;
  }
  return counts;
}

async function readyz(port) {
  const r = await get(port, '/readyz');
  return { status: r.status, body: JSON.parse(r.text) };
}

async function startCluster({ workers = 2, env = {} } = {}) {
  const adminPort = await freePort();
  const appPort = await freePort();
  const failDir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-cluster-'));
  const app = startApp('cluster-app.js', {
    env: { OTEL_EXPORTER_PROMETHEUS_PORT: String(adminPort), APP_PORT: String(appPort), FAIL_DIR: failDir, WORKERS: String(workers), OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...env },
  });
  const pids = {};
  for (let i = 1; i <= workers; i++) {
    const m = await app.waitFor(new RegExp(`worker ${i} pid (\\d+) listening`));
    pids[i] = Number(m[1]);
  }
  const primaryPid = Number((await app.waitFor(/primary (\d+)/))[1]);
  return {
    app, adminPort, appPort, failDir, pids, primaryPid,
    async stop() {
      await app.stop();
      for (const pid of Object.values(pids)) {
        try { process.kill(pid, 'SIGKILL'); } catch {}
      }
      fs.rmSync(failDir, { recursive: true, force: true });
    },
  };
}

test('node:cluster: the primary serves every worker\'s metrics, one scrape target, no bind errors', async () => {
  const c = await startCluster({ workers: 2 });
  const prom = await startPrometheus({ scrapeConfigs: [{ job_name: 'cluster', static_configs: [{ targets: [`127.0.0.1:${c.adminPort}`] }] }] });
  try {
    // New connections, so the primary's round robin spreads them over the workers.
    const answeredBy = {};
    const sent = 40;
    for (let i = 0; i < sent; i++) {
      const res = await fetch(`http://127.0.0.1:${c.appPort}/hello`, { headers: { connection: 'close' } });
      const id = /^worker (\d+)/.exec(await res.text())[1];
      answeredBy[id] = (answeredBy[id] ?? 0) + 1;
    }
    assert.equal(Object.keys(answeredBy).length, 2, `both workers answered: ${JSON.stringify(answeredBy)}`);

    // Each worker's own count, labelled with its id, equals what it answered; none is the primary's.
    const text = await until('every request counted on the primary', async () => {
      const t = (await get(c.adminPort, '/metrics')).text;
      const counts = countsByWorker(t);
      return Object.values(counts).reduce((a, b) => a + b, 0) === sent ? t : undefined;
    });
    const counts = countsByWorker(text);
    assert.deepEqual(counts, Object.fromEntries(Object.entries(answeredBy).map(([k, v]) => [k, v])));

    // One # TYPE line per family: Prometheus refuses a second one.
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    assert.deepEqual(types.filter((t, i) => types.indexOf(t) !== i), [], 'no family typed twice');

    // target_info: the primary and each worker, each worker with its own service.instance.id.
    const targets = samples(text, 'target_info');
    assert.equal(targets.length, 3, JSON.stringify(targets));
    const byWorker = Object.fromEntries(targets.filter((t) => t.labels.cluster_worker_id).map((t) => [t.labels.cluster_worker_id, t.labels]));
    assert.deepEqual(Object.keys(byWorker).sort(), ['1', '2']);
    assert.equal(Number(byWorker['1'].process_pid), c.pids[1]);
    assert.equal(Number(byWorker['2'].process_pid), c.pids[2]);
    const instanceIds = new Set(targets.map((t) => t.labels.service_instance_id));
    assert.equal(instanceIds.size, 3, 'three processes, three service.instance.id');

    // Workers' runtime series stay apart (a sum of heap sizes or CPU times across processes
    // would hide which one grows).
    const rss = samples(text, 'process_memory_usage_bytes');
    assert.deepEqual(rss.map((s) => s.labels.cluster_worker_id ?? 'primary').sort(), ['1', '2', 'primary']);
    assert.deepEqual(samples(text, 'otelkit_cluster_workers').map((s) => [s.labels.state, s.value]).sort(), [['answered', 2], ['silent', 0]]);

    // The application's message listeners saw none of otelkit's IPC.
    assert.doesNotMatch(c.app.out.stdout, /APP MESSAGE/);

    // No process complained about the admin port.
    const complaints = c.app.diagLines().filter((l) => l.level === 'error' || l.level === 'warn');
    assert.deepEqual(complaints, []);
    const starts = c.app.diagLines().filter((l) => l.msg === 'otelkit started');
    assert.equal(starts.length, 3);
    assert.equal(starts.filter((l) => l.metrics.admin === 'cluster primary').length, 2, 'the workers say where their endpoints are');

    // A real Prometheus scrapes the one target and sums the workers' counts.
    await prom.waitForScrapes(1);
    const [target] = await prom.targets();
    assert.equal(target.health, 'up', target.lastError);
    const summed = await until('Prometheus sees every request', async () => {
      const r = await prom.query('sum(http_server_request_duration_seconds_count)');
      return Number(r[0]?.value[1]) === sent ? r : undefined;
    });
    assert.equal(Number(summed[0].value[1]), sent);
    const perWorker = await prom.query('sum by (cluster_worker_id) (http_server_request_duration_seconds_count)');
    assert.deepEqual(Object.fromEntries(perWorker.map((r) => [r.metric.cluster_worker_id, Number(r.value[1])])), answeredBy);
  } finally {
    await prom.stop();
    await c.stop();
  }
});

test('node:cluster: /readyz and /livez on the primary tell the workers\' truth; a failing, stuck or dead worker shows', async () => {
  const c = await startCluster({ workers: 2, env: { OTELKIT_HEALTH_TIMEOUT_MS: '1000', BLOCK_MS: '6000' } });
  try {
    let r = await until('both workers ready', async () => {
      const x = await readyz(c.adminPort);
      return x.status === 200 ? x : undefined;
    });
    assert.equal(r.body.status, 'healthy');
    assert.deepEqual(Object.keys(r.body.workers).sort(), ['1', '2']);
    assert.equal(r.body.workers['1'].pid, c.pids[1]);
    assert.equal(r.body.workers['2'].checks.dependency.status, 'ok');
    assert.equal((await get(c.adminPort, '/livez')).status, 200);

    // A worker whose check fails makes the host not ready, and says which.
    fs.writeFileSync(path.join(c.failDir, 'fail-2'), '');
    r = await readyz(c.adminPort);
    assert.equal(r.status, 503);
    assert.equal(r.body.status, 'unhealthy');
    assert.match(r.body.reason, /worker 2 unhealthy/);
    assert.equal(r.body.workers['2'].checks.dependency.status, 'failed');
    assert.match(r.body.workers['2'].checks.dependency.error, /dependency of worker 2 is down/);
    assert.equal(r.body.workers['1'].status, 'healthy');
    fs.rmSync(path.join(c.failDir, 'fail-2'));
    assert.equal((await readyz(c.adminPort)).status, 200);

    // A worker whose event loop is stuck does not answer: not ready.
    const blocked = fetch(`http://127.0.0.1:${c.appPort}/block`, { headers: { connection: 'close' } }).then((res) => res.text());
    const stuck = (await c.app.waitFor(/worker (\d+) blocking/))[1];
    r = await readyz(c.adminPort);
    assert.equal((await blocked).match(/^worker (\d+)/)[1], stuck);
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.workers[stuck].status, 'unanswered');
    assert.match(r.body.reason, new RegExp(`worker ${stuck} did not answer`));
    await until('the stuck worker answers again', async () => (await readyz(c.adminPort)).status === 200);

    // A worker that dies leaves /readyz and /metrics; the primary is still alive.
    process.kill(c.pids[1], 'SIGKILL');
    await c.app.waitFor(/worker 1 exited/);
    r = await readyz(c.adminPort);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body.workers), ['2']);
    const text = (await get(c.adminPort, '/metrics')).text;
    assert.deepEqual([...new Set(samples(text, 'process_memory_usage_bytes').map((s) => s.labels.cluster_worker_id).filter(Boolean))], ['2']);
    assert.deepEqual(samples(text, 'otelkit_cluster_workers').map((s) => [s.labels.state, s.value]).sort(), [['answered', 1], ['silent', 0]]);

    // No worker left: the host serves nothing, whatever the primary's own checks say.
    process.kill(c.pids[2], 'SIGKILL');
    await c.app.waitFor(/worker 2 exited/);
    r = await readyz(c.adminPort);
    assert.equal(r.status, 503);
    assert.match(r.body.reason, /no cluster worker alive/);
    assert.equal((await get(c.adminPort, '/livez')).status, 200, 'the primary itself is alive');
    assert.doesNotMatch(c.app.out.stdout, /APP MESSAGE/);
  } finally {
    await c.stop();
  }
});

test('node:cluster: each worker exports OTLP as its own instance', async () => {
  const receiver = await startOtlpReceiver();
  const c = await startCluster({ workers: 2, env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_TRACES_SAMPLER: 'always_on' } });
  try {
    for (let i = 0; i < 20; i++) await (await fetch(`http://127.0.0.1:${c.appPort}/hello`, { headers: { connection: 'close' } })).text();
    await receiver.waitFor((r) => new Set(r.spans.filter((s) => s.kind === 'SERVER' || s.kind === 2 || /GET/.test(s.name)).map((s) => s.resource['process.pid'])).size === 2, { timeoutMs: 20_000 });
    const byPid = new Map();
    for (const s of receiver.spans) byPid.set(s.resource['process.pid'], s.resource['service.instance.id']);
    assert.deepEqual([...byPid.keys()].sort(), [c.pids[1], c.pids[2]].sort());
    assert.equal(new Set(byPid.values()).size, 2, 'one service.instance.id a worker');
  } finally {
    await c.stop();
    await receiver.close();
  }
});

/** A free port whose next one is free too. */
async function twoFreePorts() {
  const net = await import('node:net');
  for (;;) {
    const p = await freePort();
    const srv = net.createServer();
    const ok = await new Promise((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(p + 1, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return p;
  }
}

test('PM2 cluster mode (a primary without otelkit, NODE_APP_INSTANCE in each worker): each instance serves on port + its instance number', async () => {
  const base = await twoFreePorts();
  const appPort = await freePort();
  const app = startApp('pm2-like-cluster.js', { preload: [], env: { OTEL_EXPORTER_PROMETHEUS_PORT: String(base), APP_PORT: String(appPort), OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
  try {
    const pids = [];
    for (const i of [0, 1]) pids[i] = Number((await app.waitFor(new RegExp(`instance ${i} pid (\\d+) listening`)))[1]);
    for (const i of [0, 1]) {
      const text = await until(`instance ${i}'s /metrics`, async () => (await get(base + i, '/metrics')).text);
      const [target] = samples(text, 'target_info');
      assert.equal(Number(target.labels.process_pid), pids[i], `port ${base + i} is instance ${i}'s own`);
      assert.equal((await get(base + i, '/livez')).status, 200);
      assert.equal((await get(base + i, '/readyz')).status, 200);
    }
    const admins = app.diagLines().filter((l) => l.msg === 'otelkit started').map((l) => l.metrics.admin).sort();
    assert.deepEqual(admins, [`127.0.0.1:${base}`, `127.0.0.1:${base + 1}`]);
    assert.deepEqual(app.diagLines().filter((l) => l.level === 'error' || l.level === 'warn'), []);
  } finally {
    await app.stop();
  }
});

for (const how of ['fork', 'spawn']) {
  test(`a child (${how}) that inherits the preload through NODE_OPTIONS while its parent holds the admin port: one info line, no error, still exports`, async () => {
    const receiver = await startOtlpReceiver();
    const adminPort = await freePort();
    const app = startApp(path.join(FIXTURES, 'forking-parent.js'), {
      preload: [],
      args: [how],
      env: {
        NODE_OPTIONS: '--import otelkit/register',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(adminPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_TRACES_SAMPLER: 'always_on',
      },
    });
    try {
      const parentPid = Number((await app.waitFor(/parent (\d+)/))[1]);
      const childPid = Number((await app.waitFor(/child (\d+) done/))[1]);
      const info = await until('the child\'s info line', async () => app.diagLines().find((l) => l.pid === childPid && /is held by process/.test(l.msg)));
      assert.equal(info.level, 'info');
      assert.equal(info.holder, parentPid);
      assert.deepEqual(app.diagLines().filter((l) => l.level === 'error' || l.level === 'warn'), []);
      // The parent's /livez is the parent's: the child never answers on that port.
      assert.equal((await get(adminPort, '/livez')).status, 200);
      // The child's traces still leave.
      await receiver.waitFor((r) => r.spans.some((s) => s.resource['process.pid'] === childPid), { timeoutMs: 20_000 });
    } finally {
      await app.stop();
      await receiver.close();
    }
  });
}

test('an unrelated process holding the admin port is still an error that names the variable', async () => {
  // A sibling, not an ancestor: the test process itself would be the application's parent.
  const port = await freePort();
  const blocker = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1', () => console.log('held'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((resolve, reject) => {
      blocker.stdout.once('data', resolve);
      blocker.once('exit', () => reject(new Error('blocker exited')));
    });
    // A service, not a script: the admin server binds on the first turn of the event loop.
    const app = startApp('plain-http.js', { env: { OTEL_EXPORTER_PROMETHEUS_PORT: String(port) } });
    await app.waitFor(/already in use/, { stream: 'stderr' });
    await app.stop();
    const errors = app.diagLines().filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, app.out.stderr);
    assert.match(errors[0].msg, /already in use.*OTEL_EXPORTER_PROMETHEUS_PORT/);
    assert.equal(app.diagLines().filter((l) => /is held by process/.test(l.msg)).length, 0);
  } finally {
    blocker.kill('SIGKILL');
  }
});

test('an ancestor that holds the admin port without running otelkit (here the test process) is still an error', async () => {
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  try {
    const app = startApp('plain-http.js', { env: { OTEL_EXPORTER_PROMETHEUS_PORT: String(blocker.address().port) } });
    await app.waitFor(/already in use/, { stream: 'stderr' });
    await app.stop();
    assert.equal(app.diagLines().filter((l) => l.level === 'error' && /already in use/.test(l.msg)).length, 1, app.out.stderr);
    assert.equal(app.diagLines().filter((l) => /is held by process/.test(l.msg)).length, 0);
  } finally {
    blocker.close();
  }
});

// The differential test: the same applications (CommonJS and ES module, express 4 and 5, node:http
// client and server, fetch, pg, node-redis and ioredis against real servers, winston, spans and
// metrics of their own through @opentelemetry/api) run under the official register
// (@opentelemetry/auto-instrumentations-node/register, stable HTTP conventions) and under
// otelkit, in development and in production. Everything each run sends over OTLP is normalised
// (test/support/otlp-normalise.mjs) and diffed; the only differences allowed are the entries of
// test/differential-allowlist.mjs. Sampling is forced to always_on on both sides, so the
// comparison sees every span (otelkit's per-environment sampling default is an allow-list entry
// of its own, not exercised here).
//
// OTELKIT_DIFFTEST_DUMP=<dir> writes each run's normalised output there (one file a run).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';
import { startPostgres, startRedis } from './support/services.mjs';
import { ROOT, FIXTURES } from './support/app.mjs';
import { normalise, diff, formatDiffs, multiScopeMetricNames, SEP } from './support/otlp-normalise.mjs';
import { ENTRIES, matchEntry, appliesTo } from './differential-allowlist.mjs';

const APPS_DIR = path.join(FIXTURES, 'difftest');
const APPS = [
  { app: 'express4', module: 'cjs', file: 'express4/app.cjs' },
  { app: 'express4', module: 'esm', file: 'express4/app.mjs' },
  { app: 'express5', module: 'cjs', file: `express5-${process.pid}/app.cjs` },
  { app: 'express5', module: 'esm', file: `express5-${process.pid}/app.mjs` },
];
const ENVIRONMENTS = ['development', 'production'];
const RUN_TIMEOUT_MS = 120_000;
const CONCURRENCY = 4;

let pg;
let redis;

// express 5 must be loaded under its own name for the express instrumentation to see it (require-
// in-the-middle names a module by its directory): the dev dependency `express5` (an npm alias) is
// copied to node_modules/express of a directory of this process's own (the Node lines run side
// by side), next to express5/, holding copies of the express 5 apps. Its dependencies resolve as
// npm laid them out (its nested node_modules, then the repository's).
const EXPRESS5_DIR = path.join(APPS_DIR, `express5-${process.pid}`);
function installExpress5() {
  fs.rmSync(EXPRESS5_DIR, { recursive: true, force: true });
  fs.cpSync(path.join(ROOT, 'node_modules/express5'), path.join(EXPRESS5_DIR, 'node_modules/express'), { recursive: true, dereference: true });
  for (const file of ['app.cjs', 'app.mjs']) fs.copyFileSync(path.join(APPS_DIR, 'express5', file), path.join(EXPRESS5_DIR, file));
}

before(async () => {
  installExpress5();
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
});

after(async () => {
  fs.rmSync(EXPRESS5_DIR, { recursive: true, force: true });
  await Promise.all([pg?.stop(), redis?.stop()]);
});

// The official setup for ES module applications is the one @opentelemetry/instrumentation's
// README gives: its import-in-the-middle hook as a loader. (Registering the hook from an --import
// module instead runs after the --require'd register has loaded node:http; on Node 22.23.5 seven
// starts in eight then failed with "No such built-in module: node:http?iitm=true".)
function preloadFlags(sdk, module) {
  if (sdk === 'otelkit') return ['--import', 'otelkit/register'];
  const official = ['--require', '@opentelemetry/auto-instrumentations-node/register'];
  return module === 'esm' ? ['--experimental-loader=@opentelemetry/instrumentation/hook.mjs', ...official] : official;
}

/** One run of one application under one SDK: what it sent over OTLP, and the ports it used. */
async function runOnce({ app, module, file, environment, env: extraEnv = {} }, sdk) {
  const rec = await startOtlpReceiver();
  try {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: environment,
      OTEL_SERVICE_NAME: `difftest-${app}-${module}`,
      OTEL_RESOURCE_ATTRIBUTES: 'service.namespace=difftest',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance,container',
      OTEL_EXPORTER_OTLP_ENDPOINT: rec.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_SEMCONV_STABILITY_OPT_IN: 'http',
      // One metric export, at shutdown: the applications end long before a minute.
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      PG_URL: pg.url,
      REDIS_URL: redis.url,
      ...extraEnv,
    };
    for (const [k, v] of Object.entries(env)) if (v === null) delete env[k];
    const child = spawn(process.execPath, [...preloadFlags(sdk, module), path.join(APPS_DIR, file)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const exit = await new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ timedOut: true });
      }, RUN_TIMEOUT_MS);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    const where = `${sdk} ${app} ${module} ${environment}`;
    const output = `\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`;
    assert.ok(!exit.timedOut, `${where}: did not exit within ${RUN_TIMEOUT_MS} ms${output}`);
    assert.equal(exit.code, 0, `${where}: exit ${exit.code} ${exit.signal ?? ''}${output}`);
    assert.match(stdout, /^results \[200,200,200,200,500,404\]$/m, `${where}: the application's own results${output}`);
    assert.ok(rec.spans.length > 0 && rec.metrics.length > 0 && rec.logs.length > 0,
      `${where}: every signal exported (${rec.summary()})${output}`);
    const appPort = Number(/^listening (\d+)$/m.exec(stdout)[1]);
    return {
      view: { spans: [...rec.spans], logs: [...rec.logs], metrics: [...rec.metrics] },
      ports: { [appPort]: 'app-port', [pg.port]: 'pg-port', [redis.port]: 'redis-port', [rec.port]: 'otlp-port' },
    };
  } finally {
    await rec.close();
  }
}

/** Runs `jobs` (functions returning promises) at most `limit` at a time; results in order. */
async function pool(jobs, limit) {
  const results = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]().then((value) => ({ value }), (error) => ({ error }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

const used = new Set();
const NODE_LINE = Number(process.versions.node.split('.')[0]);

function dump(flat, name) {
  if (!process.env.OTELKIT_DIFFTEST_DUMP) return;
  fs.mkdirSync(process.env.OTELKIT_DIFFTEST_DUMP, { recursive: true });
  fs.writeFileSync(path.join(process.env.OTELKIT_DIFFTEST_DUMP, `${name}.txt`),
    [...flat].map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n') + '\n');
}

/**
 * Diffs two runs after the allow-list's transforms; fails with every difference no entry allows.
 * `sides` names the two runs ({ expected: 'official', actual: 'otelkit' }); the transforms of an
 * entry apply to the side it names (`side`, official by default).
 */
function compare(runs, sides, context, name) {
  const views = {};
  for (const [role, sdk] of Object.entries(sides)) {
    const view = { ...runs[role].view };
    for (const entry of ENTRIES.filter((e) => e.transform && (e.side ?? 'official') === sdk && appliesTo(e, context))) {
      if (entry.transform(view, context) > 0) used.add(entry.id);
    }
    views[role] = view;
  }
  const multiScope = multiScopeMetricNames(views.expected, views.actual);
  const flat = {};
  for (const role of ['expected', 'actual']) {
    flat[role] = normalise(views[role], { ports: runs[role].ports, appScopes: ['difftest-app'], multiScope });
    dump(flat[role], `${name}-${role}-${sides[role]}`);
  }
  // Each run sent the whole scenario: a comparison of two empty outputs would prove nothing.
  for (const role of ['expected', 'actual']) {
    const keys = [...flat[role].keys()];
    for (const want of [/› SERVER GET \/api\/orders\/:id › .*CLIENT pg\.query:SELECT/, /› INTERNAL compute-total › event priced$/,
      /^log "order fetched"#4 › span$/, /^metric app\.orders › point \{order\.kind="lookup"\} › value$/,
      /^metric v8js\.memory\.heap\.used › /, /^resource › service\.name$/]) {
      assert.ok(keys.some((k) => want.test(k)), `${sides[role]} run of ${name}: nothing matches ${want}`);
    }
  }
  const unexplained = [];
  for (const d of diff(flat.expected, flat.actual)) {
    const entry = ENTRIES.find((e) => matchEntry(e, d, context));
    if (entry) used.add(entry.id);
    else unexplained.push(d);
  }
  assert.equal(unexplained.length, 0,
    `${unexplained.length} difference(s) not in test/differential-allowlist.mjs ` +
    `(path${SEP}field: ${sides.expected} vs ${sides.actual}):\n` +
    formatDiffs(unexplained, { expectedLabel: sides.expected, actualLabel: sides.actual }));
}

/** What an ES module run must share with the CommonJS run of the same app: all but its file. */
function asCommonJs(run) {
  const rename = (r) => ({
    ...r,
    resource: { ...r.resource, 'service.name': String(r.resource['service.name']).replace(/-esm$/, '-cjs'),
      'process.command': String(r.resource['process.command']).replace(/\.mjs$/, '.cjs') },
  });
  return { ...run, view: { spans: run.view.spans.map(rename), logs: run.view.logs.map(rename), metrics: run.view.metrics.map(rename) } };
}

test('the normaliser drops ids, times and ports, keeps the shape, and the diff names the path', () => {
  const resource = { 'service.name': 'svc', 'process.pid': 1 };
  const scope = { name: 'lib', version: '1.0', attributes: {} };
  const span = (id, parent, name, start, attributes = {}, kind = 2) => ({
    traceId: 't', spanId: id, parentSpanId: parent, name, kind, startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + 5), attributes, events: [], links: [], status: { code: 0, message: '' },
    resource, scope,
  });
  const run = (ids, t0, port, extra = {}) => ({
    spans: [
      span(ids[0], '', 'GET /a', t0, { 'server.port': port, 'network.peer.port': port + 1 }),
      span(ids[1], ids[0], 'child', t0 + 1, { 'db.query.text': 'SELECT 1', ...extra }, 3),
      span(ids[2], ids[0], 'child', t0 + 2, { 'db.query.text': 'SELECT 2' }, 3),
    ],
    logs: [{ timeUnixNano: String(t0), observedTimeUnixNano: String(t0), severityNumber: 9, severityText: 'info',
      body: 'hello', attributes: {}, traceId: 't', spanId: ids[2], resource, scope, flags: 1 }],
    metrics: [{ name: 'http.server.request.duration', type: 'histogram', unit: 's', description: '', aggregationTemporality: 2,
      dataPoints: [{ attributes: { 'server.port': port }, count: 2, sum: t0 / 1e9, bucketCounts: [2, 0], explicitBounds: [1] }],
      resource, scope }],
  });
  const a = normalise(run(['a1', 'a2', 'a3'], 1000, 4000), { ports: { 4000: 'app-port' } });
  const b = normalise(run(['b1', 'b2', 'b3'], 9000, 5000), { ports: { 5000: 'app-port' } });
  assert.deepEqual(diff(a, b), []);
  assert.equal(a.get('trace › SERVER GET /a (<app-port>) › CLIENT child#2 › attributes.db.query.text'), 'SELECT 2');
  assert.equal(a.get('log "hello" › span'), 'SERVER GET /a (<app-port>) > CLIENT child#2');
  assert.equal(a.get('metric http.server.request.duration › point {server.port="<app-port>"} › count'), 2);
  const c = normalise(run(['c1', 'c2', 'c3'], 1000, 4000, { 'db.system.name': 'postgresql' }), { ports: { 4000: 'app-port' } });
  assert.deepEqual(diff(a, c), [{ path: 'trace › SERVER GET /a (<app-port>) › CLIENT child › attributes.db.system.name', expected: '<absent>', actual: 'postgresql' }]);
  // The same spans hung differently: the moved span and the record that points at it differ.
  const moved = run(['d1', 'd2', 'd3'], 1000, 4000);
  moved.spans[2] = { ...moved.spans[2], parentSpanId: 'd2' };
  const paths = diff(a, normalise(moved, { ports: { 4000: 'app-port' } })).map((d) => d.path);
  assert.ok(paths.includes('trace › SERVER GET /a (<app-port>) › CLIENT child › CLIENT child › attributes.db.query.text'), paths.join('\n'));
  assert.ok(paths.includes('log "hello" › span'), paths.join('\n'));
});

test('otelkit sends what the official register sends, but for the allow-listed differences', async (t) => {
  const cases = [
    ...APPS.flatMap((a) => ENVIRONMENTS.map((environment) => ({ ...a, environment }))),
    // Standard variables that change what is sent, both sides given the same value.
    { ...APPS[0], environment: 'development', variant: 'delta', env: { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta' } },
    // Each side's own default resource detectors (the official register's: all of them).
    { ...APPS[0], environment: 'production', variant: 'default-detectors', env: { OTEL_NODE_RESOURCE_DETECTORS: null } },
  ];
  const keyOf = (sdk, c) => `${sdk} ${c.app} ${c.module} ${c.environment} ${c.variant ?? ''}`;
  const jobs = cases.flatMap((c) => ['official', 'otelkit'].map((sdk) => ({ key: keyOf(sdk, c), run: () => runOnce(c, sdk) })));
  const settled = await pool(jobs.map((j) => j.run), CONCURRENCY);
  const results = new Map(jobs.map((j, i) => [j.key, settled[i]]));
  const get = (key) => {
    const r = results.get(key);
    if (r.error) throw r.error;
    return r.value;
  };
  for (const c of cases) {
    const context = { app: c.app, module: c.module, environment: c.environment, variant: c.variant ?? 'default', node: NODE_LINE, compare: 'official' };
    const title = `${c.app} ${c.module} ${c.environment}${c.variant ? ` (${Object.entries(c.env).map(([k, v]) => `${k}=${v ?? 'unset'}`).join(' ')})` : ''}`;
    await t.test(`${title}: otelkit against the official register`, () => {
      compare({ expected: get(keyOf('official', c)), actual: get(keyOf('otelkit', c)) },
        { expected: 'official', actual: 'otelkit' }, context, `${c.app}-${c.module}-${c.environment}${c.variant ? `-${c.variant}` : ''}`);
    });
    if (c.module !== 'esm' || c.variant) continue;
    // Where the official register's ES module support falls short, the CommonJS run is the
    // reference: under otelkit an ES module application sends what its CommonJS twin sends.
    await t.test(`${c.app} esm ${c.environment}: otelkit, ES module against CommonJS`, () => {
      const cjs = { ...c, module: 'cjs' };
      compare({ expected: get(keyOf('otelkit', cjs)), actual: asCommonJs(get(keyOf('otelkit', c))) },
        { expected: 'otelkit-cjs', actual: 'otelkit-esm' }, { ...context, compare: 'esm-vs-cjs' },
        `${c.app}-esm-vs-cjs-${c.environment}`);
    });
  }
});

test('every allow-list entry still matches a difference (remove the ones that no longer do)', () => {
  const stale = ENTRIES.filter((e) => !e.optional && !used.has(e.id));
  assert.deepEqual(stale.map((e) => `${e.id} (${e.kind})`), []);
});

test('the allow-list: deliberate entries are in the README with a reason, pending ones name their issue', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  // Whitespace collapsed: rewrapping the README does not break the check.
  const section = (/^## Differences from the official register\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '').replace(/\s+/g, ' ');
  assert.ok(section, 'README.md has a section "Differences from the official register"');
  const ids = new Set();
  for (const e of ENTRIES) {
    assert.ok(!ids.has(e.id), `${e.id}: one entry an id`);
    ids.add(e.id);
    assert.ok(['deliberate', 'pending'].includes(e.kind), `${e.id}: kind is deliberate or pending`);
    assert.ok(typeof e.reason === 'string' && e.reason.length > 20, `${e.id}: has a reason`);
    assert.ok(Boolean(e.match) !== Boolean(e.transform) || e.optional, `${e.id}: a match or a transform`);
    if (e.kind === 'deliberate') {
      assert.ok(e.readme && section.includes(e.readme), `${e.id}: README's section mentions it (${JSON.stringify(e.readme)})`);
    } else {
      assert.ok(Number.isInteger(e.issue) && e.id.startsWith('pending-'), `${e.id}: names its issue`);
    }
  }
});

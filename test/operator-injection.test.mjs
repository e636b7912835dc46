// The OpenTelemetry Operator's Node.js injection, done as the operator does it, without Docker or a
// cluster: scripts/build-autoinstrumentation.sh builds the tree the image keeps at
// /autoinstrumentation (deploy/autoinstrumentation/Dockerfile); the init container's command
// (`cp -r /autoinstrumentation/. <mount>`) copies it into a fresh directory standing for the
// /otel-auto-instrumentation-nodejs volume; an application that knows nothing of otelkit (no
// node_modules, outside this repository) runs with the NODE_OPTIONS the operator sets and the
// environment an Instrumentation resource gives it, and its telemetry must reach an OTLP receiver.
//
// The operator's values (internal/instrumentation/nodejs.go): mount path
// /otel-auto-instrumentation-nodejs, NODE_OPTIONS " --require <mount>/autoinstrumentation.js"
// (appended to any NODE_OPTIONS the container has). Only the mount's location differs here: a
// temporary directory instead of the root directory, which tests running side by side share.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort, get } from './support/app.mjs';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';

const OPERATOR_MOUNT = 'otel-auto-instrumentation-nodejs';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

let work = '';
let tree = '';
let mount = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'otelkit-operator-'));
  tree = join(work, 'autoinstrumentation');
  const build = spawnSync('bash', [join(ROOT, 'scripts', 'build-autoinstrumentation.sh'), tree], {
    encoding: 'utf8', timeout: 300_000,
  });
  assert.equal(build.status, 0, `scripts/build-autoinstrumentation.sh failed:\n${build.stderr}${build.stdout}`);
  // The operator's init container: cp -r /autoinstrumentation/. /otel-auto-instrumentation-nodejs
  mount = join(work, OPERATOR_MOUNT);
  spawnSync('mkdir', ['-p', mount]);
  const cp = spawnSync('cp', ['-r', `${tree}/.`, mount], { encoding: 'utf8' });
  assert.equal(cp.status, 0, `cp -r failed: ${cp.stderr}`);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tree: autoinstrumentation.js at its root, otelkit of this version with its production dependencies only', () => {
  assert.ok(existsSync(join(tree, 'autoinstrumentation.js')), 'autoinstrumentation.js missing at the root of the tree');
  const installed = JSON.parse(readFileSync(join(tree, 'node_modules', 'otelkit', 'package.json'), 'utf8'));
  assert.equal(installed.version, pkg.version);
  assert.ok(existsSync(join(tree, 'node_modules', 'otelkit', 'dist', 'register.js')), 'otelkit/dist/register.js (the --require entry) missing');
  for (const dep of Object.keys(pkg.dependencies)) {
    const p = join(tree, 'node_modules', dep, 'package.json');
    assert.ok(existsSync(p), `dependency ${dep} missing from the tree`);
    assert.equal(JSON.parse(readFileSync(p, 'utf8')).version, pkg.dependencies[dep], `${dep}: not the pinned version`);
  }
  for (const dev of Object.keys(pkg.devDependencies)) {
    if (dev in pkg.dependencies) continue;
    // A dev dependency may still arrive as some production dependency's own dependency; the
    // tools never do.
    if (['eslint', 'esbuild', 'typescript', 'express', 'fastify'].includes(dev)) {
      assert.ok(!existsSync(join(tree, 'node_modules', dev)), `dev dependency ${dev} in the tree`);
    }
  }
  // No symbolic links (node_modules/.bin is removed): the volume is all the container gets, and
  // a link copied by `cp -r` could point anywhere.
  const links = spawnSync('find', [tree, '-type', 'l'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(links, '', `symbolic links in the tree:\n${links}`);
  // The copy the init container made is the same tree.
  assert.deepEqual(readdirSync(mount).sort(), readdirSync(tree).sort());
});

test('the image definition builds the tree with the same script and ships it at /autoinstrumentation with a cp', () => {
  const dockerfile = readFileSync(join(ROOT, 'deploy', 'autoinstrumentation', 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /^RUN .*bash scripts\/build-autoinstrumentation\.sh \/autoinstrumentation$/m);
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const last = stages[stages.length - 1];
  assert.match(last, /^busybox:/, 'the final stage needs cp for the init container (busybox)');
  assert.match(last, /^COPY --from=build \/autoinstrumentation \/autoinstrumentation$/m);
});

async function runInjected({ type, containerNodeOptions = '' }) {
  const rx = await startOtlpReceiver();
  const appDir = mkdtempSync(join(work, `app-${type}-`));
  const ext = type === 'esm' ? 'mjs' : 'js';
  const source = type === 'esm'
    ? "import { createServer } from 'node:http';\n"
    : "const { createServer } = require('node:http');\n";
  writeFileSync(join(appDir, `server.${ext}`), `${source}
const server = createServer((req, res) => { res.end(req.url === '/fail' ? 'no' : 'ok'); });
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`);
  const adminPort = await freePort();
  // What the operator puts in the container: NODE_OPTIONS appended to the container's own, the
  // Instrumentation's exporter endpoint, sampler, propagators and nodejs env, and the resource
  // attributes it derives from the pod.
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_OPTIONS: `${containerNodeOptions} --require ${join(mount, 'autoinstrumentation.js')}`,
    OTEL_SERVICE_NAME: 'orders',
    OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    OTEL_PROPAGATORS: 'tracecontext,baggage',
    OTEL_RESOURCE_ATTRIBUTES: 'k8s.namespace.name=otelkit,k8s.pod.name=orders-abc,k8s.container.name=orders',
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(adminPort),
  };
  const child = spawn(process.execPath, [`server.${ext}`], { cwd: appDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    let m;
    while (!(m = /listening (\d+)/.exec(stdout))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        assert.fail(`the application did not start (exit ${child.exitCode})\nstdout:\n${stdout}\nstderr:\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const port = Number(m[1]);
    const res = await get(port, '/orders/42');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok', 'the application answers as without injection');
    const ready = await get(adminPort, '/readyz');
    assert.equal(ready.status, 200, `admin /readyz: ${ready.status}`);
    const live = await get(adminPort, '/livez');
    assert.equal(live.status, 200, `admin /livez: ${live.status}`);
    const metrics = await get(adminPort, '/metrics');
    assert.match(metrics.text, /http_server_request_duration/);
    const span = await rx.waitFor(() => rx.spans.find((s) => s.kind === 2 && s.attributes['url.path'] === '/orders/42'), { timeoutMs: 20_000 })
      .catch((err) => assert.fail(`${err.message}\nstderr:\n${stderr}`));
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, `exit code changed under injection\nstderr:\n${stderr}`);
    return { span, stderr };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    await rx.close();
  }
}

for (const type of ['cjs', 'esm']) {
  test(`an unchanged ${type === 'esm' ? 'ES module' : 'CommonJS'} application under the operator's NODE_OPTIONS: server span at the receiver with the pod's resource, health and metrics on the admin port`, async () => {
    const { span } = await runInjected({ type, containerNodeOptions: type === 'esm' ? '--max-old-space-size=256' : '' });
    assert.equal(span.resource['service.name'], 'orders');
    assert.equal(span.resource['k8s.pod.name'], 'orders-abc');
    assert.equal(span.attributes['http.request.method'], 'GET');
    assert.equal(span.attributes['http.response.status_code'], 200);
  });
}

// The gRPC exporters are optional peer dependencies: a production install of otelkit does not
// bring @grpc/grpc-js, and a configuration that asks for gRPC without the package installed says
// what to install, keeps the application running and exports nothing for that signal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './support/app.mjs';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
const GRPC = ['@opentelemetry/exporter-trace-otlp-grpc', '@opentelemetry/exporter-metrics-otlp-grpc', '@opentelemetry/exporter-logs-otlp-grpc'];

test('a production install has no gRPC: the exporters are optional peers, @grpc/grpc-js is dev-only in the lock', () => {
  for (const name of GRPC) {
    assert.equal(pkg.dependencies[name], undefined, `${name} is not a dependency`);
    assert.match(pkg.peerDependencies[name], /^\d+\.\d+\.\d+$/, `${name} is a peer pinned exactly`);
    assert.equal(pkg.peerDependenciesMeta[name]?.optional, true, `${name} is optional`);
    assert.equal(pkg.devDependencies[name], pkg.peerDependencies[name], `${name}: the tests use the version users are told to install`);
  }
  const prodGrpc = Object.entries(lock.packages)
    .filter(([where, p]) => where !== '' && /grpc|sdk-node/.test(where) && p.dev !== true && !/instrumentation-grpc$/.test(where))
    .map(([where]) => where);
  assert.deepEqual(prodGrpc, [], 'nothing gRPC (or the SDK that loads every exporter) is installed without --include=dev');
});

// A directory laid out as an application with otelkit installed but without the gRPC exporters:
// otelkit's own files are copied (so resolution starts there), every other top-level package is linked.
function installWithoutGrpc() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-nogrpc-'));
  const nm = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(nm, 'otelkit'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist'), path.join(nm, 'otelkit', 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(nm, 'otelkit', 'package.json'));
  const src = path.join(ROOT, 'node_modules');
  for (const entry of fs.readdirSync(src)) {
    if (entry.startsWith('.') || entry === 'otelkit') continue;
    if (entry.startsWith('@')) {
      fs.mkdirSync(path.join(nm, entry));
      for (const sub of fs.readdirSync(path.join(src, entry))) {
        if (GRPC.includes(`${entry}/${sub}`)) continue;
        fs.symlinkSync(path.join(src, entry, sub), path.join(nm, entry, sub), 'dir');
      }
    } else {
      fs.symlinkSync(path.join(src, entry), path.join(nm, entry), 'dir');
    }
  }
  fs.writeFileSync(path.join(dir, 'app.js'), "console.log('app ran'); setTimeout(() => console.log('app done'), 200);\n");
  return dir;
}

test('gRPC asked for but not installed: one clear message at start naming the package and the fix; the app runs and exits 0', (t) => {
  const dir = installWithoutGrpc();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, ['--require', 'otelkit/register', 'app.js'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      PATH: process.env.PATH,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_METRICS_EXPORTER: 'none',
      OTELKIT_LOG_FORMAT: 'json',
    },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /app ran[\s\S]*app done/);
  const lines = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (const signal of ['traces', 'logs']) {
    const pkgName = `@opentelemetry/exporter-${signal === 'traces' ? 'trace' : 'logs'}-otlp-grpc`;
    const said = lines.filter((l) => l.level === 'warn' && l.msg.startsWith(`${signal}: OTLP over gRPC needs the optional package ${pkgName}`));
    assert.equal(said.length, 1, `one warning for ${signal}:\n${r.stderr}`);
    assert.match(said[0].msg, new RegExp(`npm install ${pkgName.replace(/\//g, '\\/')}@${pkg.peerDependencies[pkgName].replace(/\./g, '\\.')}`));
  }
  assert.ok(!lines.some((l) => /metrics: OTLP over gRPC/.test(l.msg)), 'metrics do not use OTLP here: no warning for them');
});

test('gRPC installed (this repository): no such warning', () => {
  const r = spawnSync(process.execPath, ['--require', 'otelkit/register', '-e', "console.log('ok')"], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRICS_EXPORTER: 'none' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /OTLP over gRPC needs/);
});

test('otelkit doctor names the missing package as a problem', (t) => {
  const dir = installWithoutGrpc();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [path.join(dir, 'node_modules', 'otelkit', 'dist', 'cli', 'index.js'), 'doctor', '--json'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRICS_EXPORTER: 'prometheus', OTEL_LOGS_EXPORTER: 'none' },
  });
  const out = r.stdout + r.stderr;
  assert.match(out, /traces: OTLP over gRPC needs the optional package @opentelemetry\/exporter-trace-otlp-grpc, which is not installed/);
  assert.doesNotMatch(out, /logs: OTLP over gRPC needs/);
});

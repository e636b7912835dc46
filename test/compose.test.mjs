// The local observability stack (docker-compose.yml + deploy/), checked without Docker:
//   - the compose file: the expected services, pinned image versions (and pinned FROM lines in the
//     Dockerfiles of built services), a healthcheck on every service, depends_on with
//     service_healthy (to existing services, no cycle, covering every service named in the
//     environment), every bind-mounted file present, named volumes declared and used, only UI
//     ports published (loopback only) and no port clash;
//   - wiring between the files: scrape targets, OTLP endpoints, service names and ports agree
//     across docker-compose.yml, prometheus.yml, tempo.yaml, loki.yaml and the Grafana provisioning;
//   - the collector: built from collector/ with collector/build.sh, runs collector/config.yaml, and
//     `otelcol-otelkit validate` accepts that config with the compose environment;
//   - `promtool check config` / `check rules`, and `amtool check-config` on the Alertmanager
//     configuration rendered from the environment by deploy/alertmanager/entrypoint.sh.
// Needs the Debian packages prometheus (promtool) and prometheus-alertmanager (amtool).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { ROOT } from './support/app.mjs';
import { COLLECTOR_BIN } from './support/collector.mjs';
import { promtool } from './support/prometheus.mjs';

const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const DEPLOY = path.join(ROOT, 'deploy');

const EXPECTED_SERVICES = [
  'otel-collector', 'prometheus', 'tempo', 'loki', 'grafana', 'alertmanager',
  'postgres', 'redis', 'orders-service', 'payment-service', 'loadgen',
];
// Services allowed to publish a port: the UIs, and the API of the service being observed.
const PUBLISHED = { grafana: 3000, prometheus: 9090, alertmanager: 9093, 'orders-service': 8080 };
// Services that keep state: it must live in a named volume.
const STATEFUL = { prometheus: '/prometheus', alertmanager: '/alertmanager', tempo: '/var/tempo', loki: '/loki', grafana: '/var/lib/grafana', postgres: '/var/lib/postgresql/data', redis: '/data' };

/** Compose variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $$ (with an empty environment). */
function interpolate(text, env = {}) {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (m, name, op, def) => {
    if (m === '$$') return '$';
    const v = env[name];
    if (op === ':-') return v ? v : def;
    if (op === '-') return v === undefined ? def : v;
    return v ?? '';
  });
}

function loadCompose(env = {}) {
  return YAML.parse(interpolate(readFileSync(COMPOSE_FILE, 'utf8'), env));
}
const compose = loadCompose();
const services = compose.services;

function envOf(svc) {
  const e = services[svc].environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Volumes as { type: 'bind' | 'volume', source, target, readOnly }. */
function volumesOf(svc) {
  return (services[svc].volumes ?? []).map((v) => {
    if (typeof v === 'object') return { type: v.type, source: v.source, target: v.target, readOnly: !!v.read_only };
    const [source, target, mode] = v.split(':');
    const bind = source.startsWith('.') || source.startsWith('/');
    return { type: bind ? 'bind' : 'volume', source, target, readOnly: mode === 'ro' };
  });
}

function bindSource(svc, target) {
  const v = volumesOf(svc).find((x) => x.type === 'bind' && x.target === target);
  assert.ok(v, `${svc} mounts something at ${target}`);
  return path.resolve(ROOT, v.source);
}

// name:tag with a full version (major.minor.patch; PostgreSQL versions are major.minor), never latest.
const IMAGE_PINNED = /^[a-z0-9./_-]+:v?\d+\.\d+(?:\.\d+)?(?:-[a-z0-9.-]+)?$/;

function dockerfileOf(svc) {
  const b = services[svc].build;
  const context = path.resolve(ROOT, typeof b === 'string' ? b : b.context);
  return { context, file: path.resolve(context, (typeof b === 'object' && b.dockerfile) || 'Dockerfile') };
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

// ------------------------------------------------------------------------------ compose file

test('compose: the expected services, each with a pinned image and a healthcheck', () => {
  assert.deepEqual(Object.keys(services).sort(), [...EXPECTED_SERVICES].sort());
  assert.deepEqual(services.loadgen.profiles, ['load'], 'the load generator is behind a profile');
  for (const [name, svc] of Object.entries(services)) {
    assert.ok(svc.image, `${name}: image`);
    assert.match(svc.image, IMAGE_PINNED, `${name}: image pinned to a full version (${svc.image})`);
    if (svc.build) {
      const { file } = dockerfileOf(name);
      assert.ok(existsSync(file), `${name}: ${path.relative(ROOT, file)} exists`);
      const froms = readFileSync(file, 'utf8').split('\n').filter((l) => /^FROM\s/i.test(l));
      assert.ok(froms.length > 0, `${name}: FROM lines`);
      for (const f of froms) {
        const image = f.split(/\s+/)[1];
        assert.match(image, IMAGE_PINNED, `${name}: base image pinned (${f})`);
      }
      assert.ok(existsSync(`${file}.dockerignore`), `${name}: ${path.relative(ROOT, file)}.dockerignore keeps the build context small`);
    }
    const hc = svc.healthcheck;
    assert.ok(hc && !hc.disable, `${name}: healthcheck`);
    assert.ok(Array.isArray(hc.test) && ['CMD', 'CMD-SHELL'].includes(hc.test[0]) && hc.test.length > 1, `${name}: healthcheck test`);
    for (const k of ['interval', 'timeout', 'retries']) assert.ok(hc[k] !== undefined, `${name}: healthcheck ${k}`);
  }
});

test('compose: depends_on waits for healthy services, covers every service named in the environment, no cycle', () => {
  const names = new Set(Object.keys(services));
  const deps = {};
  for (const [name, svc] of Object.entries(services)) {
    const d = svc.depends_on ?? {};
    assert.ok(!Array.isArray(d), `${name}: depends_on in the long form (with a condition)`);
    for (const [dep, spec] of Object.entries(d)) {
      assert.ok(names.has(dep), `${name} depends on unknown service ${dep}`);
      assert.equal(spec.condition, 'service_healthy', `${name} -> ${dep}: condition service_healthy`);
    }
    deps[name] = Object.keys(d);
    // Any other service named as a host in the environment (URLs, host:port) is waited for.
    for (const [k, v] of Object.entries(envOf(name))) {
      for (const other of names) {
        if (other === name) continue;
        if (new RegExp(`(^|//|@)${other.replace(/[-]/g, '\\-')}(:\\d+|/|$)`).test(v)) {
          assert.ok(deps[name].includes(other), `${name}: ${k}=${v} uses ${other}, so ${name} must depend on it`);
        }
      }
    }
  }
  const state = {};
  const visit = (n, trail) => {
    assert.notEqual(state[n], 'visiting', `dependency cycle: ${[...trail, n].join(' -> ')}`);
    if (state[n] === 'done') return;
    state[n] = 'visiting';
    for (const d of deps[n]) visit(d, [...trail, n]);
    state[n] = 'done';
  };
  for (const n of names) visit(n, []);
  // The collector waits for its backends; the services wait for the collector.
  assert.deepEqual(deps['otel-collector'].sort(), ['loki', 'tempo']);
  for (const s of ['orders-service', 'payment-service']) assert.ok(deps[s].includes('otel-collector'), `${s} waits for the collector`);
  for (const s of ['prometheus', 'loki', 'tempo']) assert.ok(deps.grafana.includes(s), `grafana waits for ${s}`);
});

test('compose: every mounted file exists, named volumes are declared and used, state lives in named volumes', () => {
  const declared = new Set(Object.keys(compose.volumes ?? {}));
  const used = new Set();
  for (const name of Object.keys(services)) {
    for (const v of volumesOf(name)) {
      if (v.type === 'bind') {
        const src = path.resolve(ROOT, v.source);
        assert.ok(existsSync(src), `${name}: mounted ${v.source} exists`);
        assert.ok(v.readOnly, `${name}: configuration ${v.source} is mounted read-only`);
        const rel = path.relative(ROOT, src);
        assert.ok(rel.startsWith(`deploy${path.sep}`) || rel === path.join('collector', 'config.yaml'), `${name}: ${v.source} comes from deploy/ (or is the collector's config)`);
        if (statSync(src).isDirectory()) assert.ok(readdirSync(src).length > 0, `${name}: ${v.source} is not empty`);
      } else {
        assert.ok(declared.has(v.source), `${name}: volume ${v.source} is declared at the top level`);
        used.add(v.source);
      }
    }
  }
  for (const v of declared) assert.ok(used.has(v), `volume ${v} is used`);
  for (const [svc, dir] of Object.entries(STATEFUL)) {
    assert.ok(volumesOf(svc).some((v) => v.type === 'volume' && v.target === dir), `${svc}: ${dir} is a named volume`);
  }
});

test('compose: only UI ports are published, on the loopback interface, without clashes', () => {
  const hostPorts = new Map();
  for (const [name, svc] of Object.entries(services)) {
    const ports = svc.ports ?? [];
    if (!(name in PUBLISHED)) {
      assert.deepEqual(ports, [], `${name} publishes no port`);
      continue;
    }
    assert.equal(ports.length, 1, `${name}: one published port`);
    for (const p of ports) {
      const m = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(String(p));
      assert.ok(m, `${name}: ${p} is published on 127.0.0.1 only`);
      const [, host, container] = m.map(Number);
      assert.equal(container, PUBLISHED[name], `${name}: publishes its UI port ${PUBLISHED[name]}`);
      assert.ok(!hostPorts.has(host), `${name}: host port ${host} clashes with ${hostPorts.get(host)}`);
      hostPorts.set(host, name);
    }
  }
  // The same with every port variable set: still no clash.
  const custom = loadCompose({ GRAFANA_PORT: '13000', PROMETHEUS_PORT: '19090', ALERTMANAGER_PORT: '19093', ORDERS_PORT: '18080' });
  const hosts = Object.values(custom.services).flatMap((s) => (s.ports ?? []).map((p) => String(p).split(':')[1]));
  assert.deepEqual(hosts.sort(), ['13000', '18080', '19090', '19093']);
});

// ------------------------------------------------------------------------------ wiring between files

test('wiring: Prometheus scrapes the services and the collector where they listen, labelled with their service names', () => {
  const prom = YAML.parse(readFileSync(bindSource('prometheus', '/etc/prometheus/prometheus.yml'), 'utf8'));
  assert.equal(bindSource('prometheus', '/etc/prometheus/rules'), path.join(DEPLOY, 'prometheus/rules'));
  const targets = new Map();
  for (const job of prom.scrape_configs) {
    for (const sc of job.static_configs) for (const t of sc.targets) targets.set(t, { job: job.job_name, labels: sc.labels ?? {} });
  }
  for (const svc of ['orders-service', 'payment-service']) {
    const env = envOf(svc);
    const t = targets.get(`${svc}:${env.OTEL_EXPORTER_PROMETHEUS_PORT}`);
    assert.ok(t, `${svc}: scraped on its otelkit admin port ${env.OTEL_EXPORTER_PROMETHEUS_PORT}`);
    assert.equal(t.job, 'node-services');
    assert.equal(t.labels.service, env.OTEL_SERVICE_NAME, `${svc}: the service label is its OTEL_SERVICE_NAME (Loki's service_name, Tempo's service.name)`);
    assert.equal(env.OTEL_EXPORTER_PROMETHEUS_HOST, '0.0.0.0', `${svc}: admin port reachable from Prometheus`);
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318', `${svc}: OTLP/HTTP to the collector`);
    const cmd = services[svc].command;
    assert.deepEqual(cmd.slice(0, 3), ['node', '--import', 'otelkit/register'], `${svc}: runs under the preload`);
    assert.ok(existsSync(path.join(ROOT, cmd[3])), `${svc}: ${cmd[3]} exists`);
  }
  assert.equal(targets.get('otel-collector:8888')?.job, 'otel-collector', 'the collector\'s own metrics');
  assert.ok(targets.get('otel-collector:8889'), 'the collector\'s Prometheus exporter (span metrics)');
  assert.deepEqual(prom.alerting.alertmanagers[0].static_configs[0].targets, ['alertmanager:9093']);
  assert.ok(services.prometheus.command.includes('--enable-feature=exemplar-storage'), 'exemplars are stored');
  assert.ok(services.prometheus.command.includes('--config.file=/etc/prometheus/prometheus.yml'));
});

test('wiring: the collector sends traces to Tempo and logs to Loki where they listen; Loki ruler and Grafana mounts line up', () => {
  const env = envOf('otel-collector');
  const tempo = YAML.parse(readFileSync(bindSource('tempo', '/etc/tempo/tempo.yaml'), 'utf8'));
  const [tHost, tPort] = env.OTELKIT_COLLECTOR_TRACES_ENDPOINT.split(':');
  assert.equal(tHost, 'tempo');
  assert.equal(tempo.distributor.receivers.otlp.protocols.grpc.endpoint, `0.0.0.0:${tPort}`, 'Tempo receives OTLP gRPC on every interface');
  assert.ok(services.tempo.command.includes('-config.file=/etc/tempo/tempo.yaml'));

  const loki = YAML.parse(readFileSync(bindSource('loki', '/etc/loki/loki.yaml'), 'utf8'));
  assert.equal(env.OTELKIT_COLLECTOR_LOGS_ENDPOINT, `http://loki:${loki.server.http_listen_port}/otlp`, 'logs go to Loki\'s OTLP endpoint');
  assert.equal(loki.limits_config.allow_structured_metadata, true, 'trace_id and severity_text are kept as structured metadata');
  assert.ok(services.loki.command.includes('-config.file=/etc/loki/loki.yaml'));
  // The ruler reads <directory>/<tenant>; without auth the tenant is "fake".
  assert.equal(loki.auth_enabled, false);
  assert.equal(bindSource('loki', `${loki.ruler.storage.local.directory}/fake`), path.join(DEPLOY, 'loki/rules'));
  assert.equal(loki.ruler.alertmanager_url, 'http://alertmanager:9093');

  // Grafana: provisioning mounted where Grafana reads it; the dashboards where the provider looks.
  const provider = YAML.parse(readFileSync(path.join(DEPLOY, 'grafana/provisioning/dashboards/dashboards.yaml'), 'utf8')).providers[0];
  assert.equal(bindSource('grafana', provider.options.path), path.join(DEPLOY, 'grafana/dashboards'));
  assert.equal(bindSource('grafana', '/etc/grafana/provisioning/datasources'), path.join(DEPLOY, 'grafana/provisioning/datasources'));
  assert.equal(bindSource('grafana', '/etc/grafana/provisioning/dashboards'), path.join(DEPLOY, 'grafana/provisioning/dashboards'));
  const home = envOf('grafana').GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
  assert.ok(home.startsWith(`${provider.options.path}/`), 'the home dashboard is a provisioned one');
  assert.ok(existsSync(path.join(DEPLOY, 'grafana/dashboards', path.basename(home))), `${home} exists`);
});

// ------------------------------------------------------------------------------ collector

test('collector: built from collector/ with build.sh, runs collector/config.yaml, which validates with the compose environment', () => {
  const { context, file } = dockerfileOf('otel-collector');
  assert.equal(context, ROOT);
  const dockerfile = readFileSync(file, 'utf8');
  assert.match(dockerfile, /COPY collector\/builder-config\.yaml collector\/build\.sh/);
  assert.match(dockerfile, /RUN bash collector\/build\.sh/);
  assert.match(dockerfile, /COPY collector\/config\.yaml \/etc\/otelkit\/config\.yaml/);
  const ignore = readFileSync(`${file}.dockerignore`, 'utf8');
  for (const f of ['collector/builder-config.yaml', 'collector/build.sh', 'collector/config.yaml']) assert.ok(ignore.includes(`!${f}`), `the build context keeps ${f}`);
  assert.equal(bindSource('otel-collector', '/etc/otelkit/config.yaml'), path.join(ROOT, 'collector/config.yaml'));
  assert.deepEqual(services['otel-collector'].command, ['--config=/etc/otelkit/config.yaml']);

  // Every OTELKIT_COLLECTOR_* variable the compose file sets is one the config reads.
  const config = readFileSync(path.join(ROOT, 'collector/config.yaml'), 'utf8');
  const env = envOf('otel-collector');
  for (const k of Object.keys(env).filter((x) => x.startsWith('OTELKIT_COLLECTOR_'))) {
    assert.ok(config.includes(`\${env:${k}`), `collector/config.yaml reads ${k}`);
  }
  // The healthcheck asks the health_check extension on its configured port.
  assert.match(services['otel-collector'].healthcheck.test.join(' '), /:13133\//);
  assert.match(config, /OTELKIT_COLLECTOR_HEALTH_PORT:-13133/);

  assert.ok(existsSync(COLLECTOR_BIN), 'the collector binary is missing: bash collector/build.sh');
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTELKIT_') && !k.startsWith('GOMEMLIMIT')));
  const r = run(COLLECTOR_BIN, ['validate', `--config=${path.join(ROOT, 'collector/config.yaml')}`], { env: { ...clean, ...env } });
  assert.equal(r.status, 0, `otelcol-otelkit validate with the compose environment:\n${r.output}`);
});

// ------------------------------------------------------------------------------ promtool, amtool

test('promtool check config and check rules accept deploy/prometheus', () => {
  const cfg = promtool('check', 'config', path.join(DEPLOY, 'prometheus/prometheus.yml'));
  assert.equal(cfg.status, 0, cfg.output);
  assert.match(cfg.output, /SUCCESS: [1-9]\d* rule files? found/, 'the config finds the rule files (relative path)');
  const rules = readdirSync(path.join(DEPLOY, 'prometheus/rules')).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(DEPLOY, 'prometheus/rules', f));
  assert.ok(rules.length > 0);
  const r = promtool('check', 'rules', ...rules);
  assert.equal(r.status, 0, r.output);
  // The alerts the stack promises.
  const alerts = rules.flatMap((f) => YAML.parse(readFileSync(f, 'utf8')).groups.flatMap((g) => g.rules.map((x) => x.alert)));
  for (const a of ['ServiceDown', 'HighHttp5xxRatio', 'HighHttpLatencyP95', 'EventLoopLag', 'CollectorDown',
    'CollectorRefusingSpans', 'CollectorRefusingLogRecords', 'CollectorRefusingMetricPoints',
    'CollectorDroppingSpans', 'CollectorDroppingLogRecords', 'OtelkitDroppingTelemetry']) {
    assert.ok(alerts.includes(a), `alert ${a}`);
  }
});

test('alertmanager: the configuration rendered from the environment passes amtool check-config; SMTP settings come from the environment', () => {
  const amtool = run('amtool', ['--version']);
  assert.equal(amtool.status, 0, `amtool is missing: apt-get install prometheus-alertmanager\n${amtool.output}`);
  const template = bindSource('alertmanager', '/etc/alertmanager/alertmanager.yml');
  const entrypoint = bindSource('alertmanager', '/etc/alertmanager/entrypoint.sh');
  assert.deepEqual(services.alertmanager.entrypoint, ['/bin/sh', '/etc/alertmanager/entrypoint.sh']);
  const text = readFileSync(template, 'utf8');
  for (const key of ['smtp_smarthost', 'smtp_from', 'smtp_auth_username', 'smtp_auth_password', 'smtp_require_tls']) {
    assert.match(text, new RegExp(`^\\s*${key}: "?\\$\\{ALERTMANAGER_[A-Z_]+\\}"?\\s*$`, 'm'), `${key} comes from the environment`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'otelkit-am-'));
  try {
    // With the defaults of docker-compose.yml, then with values that need escaping.
    const cases = [
      envOf('alertmanager'),
      {
        ALERTMANAGER_SMTP_SMARTHOST: 'smtp.example.com:587',
        ALERTMANAGER_SMTP_FROM: 'alerts@example.com',
        ALERTMANAGER_SMTP_USERNAME: 'alerts',
        ALERTMANAGER_SMTP_PASSWORD: 'p"a\\ss&w$rd #1',
        ALERTMANAGER_SMTP_REQUIRE_TLS: 'false',
        ALERTMANAGER_EMAIL_TO: 'oncall@example.com, lead@example.com',
      },
    ];
    for (const [i, env] of cases.entries()) {
      const out = path.join(dir, `alertmanager-${i}.yml`);
      const r = run('sh', [entrypoint, '--render-only', template, out], { env: { PATH: process.env.PATH, ...env } });
      assert.equal(r.status, 0, r.output);
      const check = run('amtool', ['check-config', out]);
      assert.equal(check.status, 0, check.output);
      const cfg = YAML.parse(readFileSync(out, 'utf8'));
      assert.equal(cfg.global.smtp_smarthost, env.ALERTMANAGER_SMTP_SMARTHOST);
      assert.equal(cfg.global.smtp_from, env.ALERTMANAGER_SMTP_FROM);
      assert.equal(cfg.global.smtp_auth_password, env.ALERTMANAGER_SMTP_PASSWORD);
      assert.equal(String(cfg.global.smtp_require_tls), env.ALERTMANAGER_SMTP_REQUIRE_TLS);
      const email = cfg.receivers.find((x) => x.name === cfg.route.receiver).email_configs[0];
      assert.equal(email.to, env.ALERTMANAGER_EMAIL_TO);
    }
    // A variable that is not set stops the container instead of mailing nowhere.
    const missing = run('sh', [entrypoint, '--render-only', template, path.join(dir, 'missing.yml')], { env: { PATH: process.env.PATH } });
    assert.notEqual(missing.status, 0);
    assert.match(missing.output, /ALERTMANAGER_SMTP_SMARTHOST is not set/);
    assert.ok(!existsSync(path.join(dir, 'missing.yml')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// deploy/k8s: every kustomization renders (kustomize's Go API, default load restrictions) and
// every resource decodes strictly into the Kubernetes API types (k8s.io/api, unknown fields
// rejected) through deploy/k8s/validate; then otelkit's own rules on the decoded objects: probes on
// the health endpoints, memory limits matching the collector's memory_limiter, Services that
// select their pods, the gateway's resolver list naming the sampling StatefulSet's pods; and every
// mounted collector config validated by the real collector binary with the container's environment.
//
// The validator is built by deploy/k8s/validate/build.sh into .cache/k8s-validate (reused while
// its sources are unchanged); the collector binary by collector/build.sh (npm test does that).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from './support/app.mjs';

const K8S = join(ROOT, 'deploy', 'k8s');
const KUSTOMIZATIONS = ['base', 'operator'];
const COLLECTOR_BIN = join(ROOT, 'collector', '_build', 'otelcol-otelkit');

let validator = '';
/** @type {Map<string, any[]>} kustomization -> decoded objects */
const rendered = new Map();
/** @type {any[]} */
let custom = [];

function runValidator(dirs) {
  return spawnSync(validator, dirs, { cwd: K8S, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
}

before(() => {
  const build = spawnSync('bash', [join(K8S, 'validate', 'build.sh')], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(build.status, 0, `deploy/k8s/validate/build.sh failed (Go and the module proxy are needed on first build):\n${build.stderr}${build.stdout}`);
  validator = build.stdout.trim().split('\n').pop() ?? '';
  assert.ok(existsSync(validator), `validator binary missing: ${validator}`);
  const res = runValidator(KUSTOMIZATIONS);
  assert.equal(res.status, 0, `strict validation failed:\n${res.stderr}`);
  const out = JSON.parse(res.stdout);
  for (const d of out) {
    if (d.custom) {
      custom.push(d);
      continue;
    }
    if (!rendered.has(d.dir)) rendered.set(d.dir, []);
    rendered.get(d.dir).push(d.object);
  }
  custom = custom.map((d) => ({ ...d.object, _dir: d.dir }));
});

function find(dir, kind, name) {
  const obj = (rendered.get(dir) ?? []).find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(obj, `${dir}: no ${kind}/${name}`);
  return obj;
}

function mebibytes(quantity) {
  const m = /^(\d+)(Mi|Gi)$/.exec(String(quantity));
  assert.ok(m, `memory quantity ${quantity}: expected <n>Mi or <n>Gi`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

function envOf(container) {
  const env = {};
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

function portNumber(container, port) {
  if (typeof port === 'number') return port;
  const p = (container.ports ?? []).find((q) => q.name === port);
  assert.ok(p, `container ${container.name}: no port named ${port}`);
  return p.containerPort;
}

const COLLECTORS = [
  ['DaemonSet', 'otelkit-agent'],
  ['Deployment', 'otelkit-gateway'],
  ['StatefulSet', 'otelkit-sampling'],
];

test('strict decoding rejects what the API would not keep (a misspelt field, a wrong type, an unknown kind)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otelkit-k8s-'));
  try {
    const service = readFileSync(join(K8S, 'base', 'service.yaml'), 'utf8');
    const cases = [
      ['misspelt', service.replace('livenessProbe:', 'livenesProbe:'), /unknown field "spec\.template\.spec\.containers\[0\]\.livenesProbe"/],
      ['wrong type', service.replace('replicas: 2', 'replicas: two'), /Deployment\/orders/],
      ['unknown kind', 'apiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: x\n', /Deploymnet/],
    ];
    for (const [name, manifest, expected] of cases) {
      const sub = join(dir, name.replace(' ', '-'));
      rmSync(sub, { recursive: true, force: true });
      spawnSync('mkdir', ['-p', sub]);
      writeFileSync(join(sub, 'kustomization.yaml'), 'resources: [m.yaml]\n');
      writeFileSync(join(sub, 'm.yaml'), manifest);
      const res = runValidator([sub]);
      assert.notEqual(res.status, 0, `${name}: accepted`);
      assert.match(res.stderr, expected, `${name}: ${res.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every kustomization renders the tiers: agent DaemonSet, gateway Deployment + HPA, sampling StatefulSet behind a headless Service, the service', () => {
  for (const dir of KUSTOMIZATIONS) {
    for (const [kind, name] of COLLECTORS) find(dir, kind, name);
    const hpa = find(dir, 'HorizontalPodAutoscaler', 'otelkit-gateway');
    assert.deepEqual(hpa.spec.scaleTargetRef, { kind: 'Deployment', name: 'otelkit-gateway', apiVersion: 'apps/v1' });
    assert.ok(hpa.spec.minReplicas >= 2, 'at least two gateways (one may be lost)');
    const sts = find(dir, 'StatefulSet', 'otelkit-sampling');
    const headless = find(dir, 'Service', sts.spec.serviceName);
    assert.equal(headless.spec.clusterIP, 'None');
    find(dir, 'Deployment', 'orders');
    // Each Service selects the pods of a workload, and its named target ports exist there.
    for (const svc of rendered.get(dir).filter((o) => o.kind === 'Service')) {
      const workloads = rendered.get(dir).filter((o) => o.spec?.template?.metadata?.labels);
      const target = workloads.find((w) =>
        Object.entries(svc.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
      assert.ok(target, `${dir}: Service ${svc.metadata.name} selects no workload`);
      const c = target.spec.template.spec.containers[0];
      for (const p of svc.spec.ports) portNumber(c, p.targetPort);
    }
  }
});

test('collector pods: probes on the health_check extension, memory limit = request, GOMEMLIMIT at the memory_limiter percentage', () => {
  for (const dir of KUSTOMIZATIONS) {
    for (const [kind, name] of COLLECTORS) {
      const pod = find(dir, kind, name).spec.template.spec;
      const c = pod.containers[0];
      const env = envOf(c);
      const healthPort = Number(env.OTELKIT_COLLECTOR_HEALTH_PORT ?? 13133);
      for (const probe of ['livenessProbe', 'readinessProbe']) {
        assert.ok(c[probe]?.httpGet, `${name}: no ${probe}`);
        assert.equal(portNumber(c, c[probe].httpGet.port), healthPort, `${name}: ${probe} not on the health_check port`);
      }
      const limit = mebibytes(c.resources.limits.memory);
      assert.equal(mebibytes(c.resources.requests.memory), limit, `${name}: memory request != limit (the limiter's percentages are of the limit)`);
      const percent = Number(env.OTELKIT_COLLECTOR_MEMORY_LIMIT_PERCENT);
      assert.ok(percent > 0 && percent <= 90, `${name}: OTELKIT_COLLECTOR_MEMORY_LIMIT_PERCENT=${env.OTELKIT_COLLECTOR_MEMORY_LIMIT_PERCENT}`);
      assert.equal(env.GOMEMLIMIT, `${Math.floor((limit * percent) / 100)}MiB`, `${name}: GOMEMLIMIT`);
      // The mounted config is rendered, and it has the memory_limiter in front of every pipeline.
      const volume = pod.volumes.find((v) => v.configMap);
      const mount = c.volumeMounts.find((m) => m.name === volume.name);
      assert.ok(c.args.includes(`--config=${mount.mountPath}/config.yaml`), `${name}: args ${c.args}`);
      const cm = find(dir, 'ConfigMap', volume.configMap.name);
      const config = cm.data['config.yaml'];
      assert.match(config, /memory_limiter:\n\s+check_interval/);
      assert.match(config, /limit_percentage: \$\{env:OTELKIT_COLLECTOR_MEMORY_LIMIT_PERCENT/);
      for (const m of config.matchAll(/processors: \[([^\]]*)\]/g)) {
        assert.equal(m[1].split(',')[0].trim(), 'memory_limiter', `${name}: a pipeline does not start with memory_limiter`);
      }
    }
  }
});

test('the gateway and sampling ConfigMaps are collector/gateway*.yaml byte for byte; every mounted config validates with the collector binary and the container environment', () => {
  assert.ok(existsSync(COLLECTOR_BIN), `collector binary not found at ${relative(ROOT, COLLECTOR_BIN)}: build it with \`bash collector/build.sh\``);
  const dir = mkdtempSync(join(tmpdir(), 'otelkit-k8s-config-'));
  try {
    for (const [kind, name] of COLLECTORS) {
      const pod = find('base', kind, name).spec.template.spec;
      const cm = find('base', 'ConfigMap', pod.volumes.find((v) => v.configMap).configMap.name);
      const source = { 'otelkit-gateway': 'collector/gateway.yaml', 'otelkit-sampling': 'collector/gateway-sampling.yaml', 'otelkit-agent': 'deploy/k8s/base/agent-config.yaml' }[name];
      assert.equal(cm.data['config.yaml'], readFileSync(join(ROOT, source), 'utf8'), `${name}: ConfigMap differs from ${source}`);
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, cm.data['config.yaml']);
      const env = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTELKIT_') && k !== 'GOMEMLIMIT') env[k] = v;
      const res = spawnSync(COLLECTOR_BIN, ['validate', `--config=${file}`], {
        encoding: 'utf8', timeout: 60_000, env: { ...env, ...envOf(pod.containers[0]) },
      });
      assert.equal(res.status, 0, `${name}: collector validate failed:\n${res.stderr}${res.stdout}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the gateway resolver lists exactly the sampling StatefulSet pods; agents send to the gateway Service; the service to the node-local agent', () => {
  const sts = find('base', 'StatefulSet', 'otelkit-sampling');
  const grpc = portNumber(sts.spec.template.spec.containers[0], 'otlp-grpc');
  const expected = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}:${grpc}`);
  const gwEnv = envOf(find('base', 'Deployment', 'otelkit-gateway').spec.template.spec.containers[0]);
  const listed = gwEnv.OTELKIT_GATEWAY_BACKENDS.replace(/^\[|\]$/g, '').split(',').map((s) => s.trim());
  assert.deepEqual(listed, expected);
  const samplingSvc = find('base', 'Service', sts.spec.serviceName);
  assert.equal(samplingSvc.spec.publishNotReadyAddresses, true);

  const agentEnv = envOf(find('base', 'DaemonSet', 'otelkit-agent').spec.template.spec.containers[0]);
  const gwSvc = find('base', 'Service', 'otelkit-gateway');
  assert.equal(agentEnv.OTELKIT_AGENT_GATEWAY_ENDPOINT, `${gwSvc.metadata.name}:${gwSvc.spec.ports.find((p) => p.name === 'otlp-grpc').port}`);

  const agentSvc = find('base', 'Service', 'otelkit-agent');
  assert.equal(agentSvc.spec.internalTrafficPolicy, 'Local');
  const orders = find('base', 'Deployment', 'orders').spec.template.spec.containers[0];
  const url = new URL(envOf(orders).OTEL_EXPORTER_OTLP_ENDPOINT);
  assert.equal(url.hostname, `${agentSvc.metadata.name}.${agentSvc.metadata.namespace}`);
  assert.equal(Number(url.port), agentSvc.spec.ports.find((p) => p.name === 'otlp-http').port);
});

test('the service: preload in its command, probes on otelkit /livez and /readyz on the admin port 9464', () => {
  const c = find('base', 'Deployment', 'orders').spec.template.spec.containers[0];
  assert.deepEqual(c.command.slice(0, 3), ['node', '--import', 'otelkit/register']);
  assert.equal(c.livenessProbe.httpGet.path, '/livez');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(portNumber(c, c.livenessProbe.httpGet.port), 9464);
  assert.equal(portNumber(c, c.readinessProbe.httpGet.port), 9464);
  assert.ok(c.resources.limits.memory, 'no memory limit');
});

test('operator overlay: the service unchanged (no preload), annotated for the Instrumentation, which names the injection image', () => {
  const pod = find('operator', 'Deployment', 'orders').spec.template;
  assert.ok(!pod.spec.containers[0].command.includes('otelkit/register'), 'the preload is still in the command');
  const inst = custom.find((o) => o._dir === 'operator' && o.kind === 'Instrumentation');
  assert.ok(inst, 'no Instrumentation in the operator overlay');
  assert.equal(inst.apiVersion, 'opentelemetry.io/v1alpha1');
  assert.equal(pod.metadata.annotations['instrumentation.opentelemetry.io/inject-nodejs'], inst.metadata.name);
  assert.equal(inst.metadata.namespace, find('operator', 'Deployment', 'orders').metadata.namespace);
  assert.match(inst.spec.nodejs.image, /^otelkit\/autoinstrumentation-nodejs:/);
  // The Instrumentation is a custom resource (not in k8s.io/api): its keys are checked here
  // against the operator's v1alpha1 Instrumentation spec fields used.
  assert.deepEqual(Object.keys(inst.spec).sort(), ['exporter', 'nodejs', 'propagators', 'sampler']);
  assert.deepEqual(Object.keys(inst.spec.nodejs).sort(), ['env', 'image']);
  const agentSvc = find('operator', 'Service', 'otelkit-agent');
  assert.equal(new URL(inst.spec.exporter.endpoint).hostname, `${agentSvc.metadata.name}.${agentSvc.metadata.namespace}`);
});

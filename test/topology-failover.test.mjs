// A tail-sampling instance killed mid-run, with the REAL collector binary and the shipped
// collector/gateway.yaml (static resolver): two services under the preload -> one load-balancing
// gateway -> two samplers (collector/gateway-sampling.yaml), each with its own backend. Sampler B
// is SIGKILLed after a first phase; a second phase of traffic follows.
//
// With the static resolver the gateway's list does NOT change when an instance dies (that needs
// the dns or k8s resolver, not run here): the traces hashed to B are retried and queued by the
// gateway, so about half of the second phase is lost (held in the gateway's queue for up to 300 s,
// then dropped), the rest is decided by A as before, and the loss shows in the gateway's
// log (not in its metrics, see below). This test pins that behaviour down; docs/scaling.md says what to use instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { startApp, ROOT } from './support/app.mjs';
import { startBackends, startCollector } from './support/collector.mjs';

const GATEWAY = path.join(ROOT, 'collector', 'gateway.yaml');
const SAMPLING = path.join(ROOT, 'collector', 'gateway-sampling.yaml');
const APP = path.join(ROOT, 'test', 'fixtures', 'topology-app.mjs');
const PER_PHASE = 100; // error traces only: every one is kept by a live sampler
const DECISION_WAIT_S = 2;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let backends = [];
let samplers = [];
let gateway;
let back;
let front;
let frontPort;
const phases = [[], []];
let metricsText = '';

async function send(phase) {
  const jobs = Array.from({ length: PER_PHASE }, (_, i) => i);
  const worker = async () => {
    for (let i = jobs.shift(); i !== undefined; i = jobs.shift()) {
      const traceId = randomBytes(16).toString('hex');
      const res = await fetch(`http://127.0.0.1:${frontPort}/work?fail=1&slow=0`, {
        headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      });
      await res.arrayBuffer();
      phases[phase].push(traceId);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function settle() {
  const count = () => backends.reduce((n, b) => n + b.rx.spans.length, 0);
  let last = -1;
  let stableSince = Date.now();
  for (const deadline = Date.now() + 40_000; Date.now() < deadline; await sleep(500)) {
    const n = count();
    if (n !== last) { last = n; stableSince = Date.now(); }
    if (n > 0 && Date.now() - stableSince > (DECISION_WAIT_S + 3) * 1000) return;
  }
}

before(async () => {
  backends = await Promise.all([startBackends(), startBackends()]);
  samplers = await Promise.all(backends.map((backend) => startCollector({
    backend,
    config: SAMPLING,
    env: { OTELKIT_COLLECTOR_SAMPLING_DECISION_WAIT: `${DECISION_WAIT_S}s`, OTELKIT_COLLECTOR_SAMPLING_PERCENT: '0' },
  })));
  const list = `[${samplers.map((s) => `127.0.0.1:${s.ports.grpc}`).join(', ')}]`;
  gateway = await startCollector({ config: GATEWAY, env: { OTELKIT_GATEWAY_BACKENDS: list } });
  const common = {
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BLRP_SCHEDULE_DELAY: '200',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_EXPORTER_OTLP_ENDPOINT: gateway.otlpHttpUrl,
  };
  back = startApp(APP, { env: { ...common, TOPOLOGY_ROLE: 'back', OTEL_SERVICE_NAME: 'failover-back' } });
  const backPort = await back.port();
  front = startApp(APP, {
    env: { ...common, TOPOLOGY_ROLE: 'front', TOPOLOGY_BACK_URL: `http://127.0.0.1:${backPort}`, OTEL_SERVICE_NAME: 'failover-front' },
  });
  frontPort = await front.port();

  await send(0);
  await settle();
  await samplers[1].kill();
  await send(1);
  await settle();
  const res = await fetch(`http://127.0.0.1:${gateway.ports.telemetry}/metrics`);
  metricsText = await res.text();
});

after(async () => {
  await Promise.all([front?.stop(), back?.stop()]);
  await gateway?.kill(); // its queue for the dead sampler would hold a SIGTERM for the retry time
  await Promise.all(samplers.map((s) => s.stop()));
  await Promise.all(backends.map((b) => b.close()));
});

const keptAt = (i, ids) => ids.filter((id) => backends[i].rx.spans.some((s) => s.traceId === id)).length;

function bound(n, p) {
  const sigma = Math.sqrt(n * p * (1 - p));
  return [n * p - 5 * sigma, n * p + 5 * sigma];
}

test('before the kill: every error trace is kept, spread over both samplers', () => {
  const a = keptAt(0, phases[0]);
  const b = keptAt(1, phases[0]);
  assert.equal(a + b, PER_PHASE, `kept ${a} at A and ${b} at B of ${PER_PHASE}`);
  const [lo, hi] = bound(PER_PHASE, 0.5);
  assert.ok(a >= lo && a <= hi, `A kept ${a} of ${PER_PHASE}, expected about half`);
});

test('after the kill: the survivor still decides its share; the dead one\'s share is lost, about half, and named in the gateway\'s log', () => {
  const a = keptAt(0, phases[1]);
  const b = keptAt(1, phases[1]);
  process.stdout.write(`# failover: after killing sampler B, kept ${a}/${PER_PHASE} error traces at A (static resolver: B's share lost)\n`);
  assert.equal(b, 0, 'the killed sampler exported nothing');
  const [lo, hi] = bound(PER_PHASE, 0.5);
  assert.ok(a >= lo && a <= hi, `A kept ${a} of ${PER_PHASE}: with the static resolver about half is lost, not ${PER_PHASE - a}`);
  // Whole: the front service's server and client spans and the back service's server span.
  for (const id of phases[1].filter((x) => backends[0].rx.spans.some((s) => s.traceId === x))) {
    const mine = backends[0].rx.spans.filter((s) => s.traceId === id);
    const names = mine.map((s) => `${s.resource['service.name']}:${s.name}:${s.kind}`).sort();
    for (const [service, kind] of [['failover-front', 2], ['failover-front', 3], ['failover-back', 2]]) {
      assert.ok(mine.some((s) => s.resource['service.name'] === service && s.kind === kind),
        `trace ${id} kept by the survivor is not whole; kept: ${names.join(', ')}`);
    }
    if (mine.length !== 3) process.stdout.write(`# failover: trace ${id} has ${mine.length} spans: ${names.join(', ')}\n`);
  }
  // Where the loss shows. In tier 1's metrics it does not (v0.159.0): the load_balancing exporter
  // counts a batch as sent once the per-backend exporter's queue took it, and its per-endpoint
  // outcome counter says success for the dead endpoint too; printed here, not asserted. It shows
  // in tier 1's log: the per-backend exporter's failed attempts name the dead endpoint.
  const sent = metricsText.split('\n').find((l) => l.startsWith('otelcol_exporter_sent_spans{')) ?? 'absent';
  const outcomes = metricsText.split('\n').filter((l) => l.startsWith('otelcol_loadbalancer_backend_outcome{')).join('; ');
  process.stdout.write(`# failover: gateway metrics: ${sent}; ${outcomes}\n`);
  const deadPort = samplers[1].ports.grpc;
  const failures = gateway.output().split('\n').filter((l) => l.includes(`127.0.0.1:${deadPort}`) && /connection refused|Exporting failed|Unavailable/i.test(l));
  assert.ok(failures.length > 0, `the gateway's log does not name the dead sampler 127.0.0.1:${deadPort}:\n${gateway.output().slice(-3000)}`);
});

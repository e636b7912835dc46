// The scale-out topology with the REAL collector binary (collector/_build/otelcol-otelkit):
//
//   front service ──(OTLP/HTTP)──> agent (collector/config.yaml) ──traces (gRPC)──> gateway 1 ─┐
//        │                                                      └──logs (HTTP)───> gateway 2 ─┤
//        │ HTTP call                                                                          │ load_balancing
//        v                                                                                    │ by trace id
//   back service ──(OTLP/HTTP, straight to the gateway tier)────────────────────> gateway 2 ─┤ (static resolver,
//                                                                                             │  both samplers)
//                           sampler A (collector/gateway-sampling.yaml) ──> backend A  <──────┤
//                           sampler B (collector/gateway-sampling.yaml) ──> backend B  <──────┘
//
// Gateways run collector/gateway.yaml, samplers collector/gateway-sampling.yaml, unchanged. Each
// sampler exports to its own in-process backend (test/support/collector.mjs startBackends), so
// which backend holds a span says which sampler decided its trace. The spans of one trace reach
// the samplers through BOTH gateways (the front service's through the agent and gateway 1, the back
// service's through gateway 2), and the front service's log records through gateway 2 while its
// spans go through gateway 1: the assertions below hold only if both gateways route by trace id
// the same way.
//
// Runs on the test runner's Node line, like every test; nothing in it depends on the line beyond
// the preload itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { startApp, ROOT } from './support/app.mjs';
import { startBackends, startCollector } from './support/collector.mjs';

const GATEWAY = path.join(ROOT, 'collector', 'gateway.yaml');
const SAMPLING = path.join(ROOT, 'collector', 'gateway-sampling.yaml');
const APP = path.join(ROOT, 'test', 'fixtures', 'topology-app.mjs');

const TRACES = 240;
const ERROR_EVERY = 10; // traces 0, 10, 20, ...: the back service answers 500
const SLOW_EVERY = 20; // traces 5, 25, 45, ...: the back service answers after 600 ms
const PERCENT = 50; // the samplers' probabilistic policy for everything else
const DECISION_WAIT_S = 3;
const SPANS_PER_TRACE = 3;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let backends = [];
let samplers = [];
let gateways = [];
let agent;
let back;
let front;
const sent = []; // { traceId, kind: 'error' | 'slow' | 'plain', status }

function diagnostics() {
  return [
    ...backends.map((b, i) => `\nbackend ${'AB'[i]}: ${b.rx.summary().slice(0, 600)}`),
    ...samplers.map((c, i) => `\nsampler ${'AB'[i]} output (tail):\n${c.output().slice(-1500)}`),
    ...gateways.map((c, i) => `\ngateway ${i + 1} output (tail):\n${c.output().slice(-1500)}`),
    `\nagent output (tail):\n${agent?.output().slice(-1500)}`,
    `\nfront stderr (tail):\n${front?.out.stderr.slice(-1000)}`,
    `\nback stderr (tail):\n${back?.out.stderr.slice(-1000)}`,
  ].join('');
}

before(async () => {
  backends = await Promise.all([startBackends(), startBackends()]);
  samplers = await Promise.all(backends.map((backend) => startCollector({
    backend,
    config: SAMPLING,
    env: {
      OTELKIT_COLLECTOR_SAMPLING_DECISION_WAIT: `${DECISION_WAIT_S}s`,
      OTELKIT_COLLECTOR_SAMPLING_LATENCY_MS: '500',
      OTELKIT_COLLECTOR_SAMPLING_PERCENT: String(PERCENT),
    },
  })));
  const list = `[${samplers.map((s) => `127.0.0.1:${s.ports.grpc}`).join(', ')}]`;
  gateways = await Promise.all([0, 1].map(() => startCollector({ config: GATEWAY, env: { OTELKIT_GATEWAY_BACKENDS: list } })));
  agent = await startCollector({
    env: {
      OTELKIT_COLLECTOR_TRACES_ENDPOINT: `127.0.0.1:${gateways[0].ports.grpc}`,
      OTELKIT_COLLECTOR_LOGS_ENDPOINT: gateways[1].otlpHttpUrl,
    },
  });
  const common = {
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BLRP_SCHEDULE_DELAY: '200',
    OTEL_METRICS_EXPORTER: 'none',
  };
  back = startApp(APP, {
    env: { ...common, TOPOLOGY_ROLE: 'back', OTEL_SERVICE_NAME: 'topology-back', OTEL_EXPORTER_OTLP_ENDPOINT: gateways[1].otlpHttpUrl },
  });
  const backPort = await back.port();
  front = startApp(APP, {
    env: {
      ...common,
      TOPOLOGY_ROLE: 'front',
      TOPOLOGY_BACK_URL: `http://127.0.0.1:${backPort}`,
      OTEL_SERVICE_NAME: 'topology-front',
      OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpHttpUrl,
    },
  });
  const frontPort = await front.port();

  // Each request starts a trace whose id the test chose (a sampled W3C parent), so the test knows
  // every trace that was sent, kept or not.
  const started = Date.now();
  const jobs = Array.from({ length: TRACES }, (_, i) => i);
  const worker = async () => {
    for (let i = jobs.shift(); i !== undefined; i = jobs.shift()) {
      const traceId = randomBytes(16).toString('hex');
      const kind = i % ERROR_EVERY === 0 ? 'error' : i % SLOW_EVERY === 5 ? 'slow' : 'plain';
      const q = `fail=${kind === 'error' ? 1 : 0}&slow=${kind === 'slow' ? 1 : 0}`;
      const res = await fetch(`http://127.0.0.1:${frontPort}/work?${q}`, {
        headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      });
      await res.arrayBuffer();
      sent.push({ traceId, kind, status: res.status });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const sendMs = Date.now() - started;

  // Every decision is taken DECISION_WAIT_S after a trace's first span reaches its sampler; wait
  // for the backends to stop changing for longer than that.
  const count = () => backends.reduce((n, b) => n + b.rx.spans.length + b.rx.logs.length, 0);
  let last = -1;
  let stableSince = Date.now();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(500)) {
    const n = count();
    if (n !== last) { last = n; stableSince = Date.now(); }
    if (n > 0 && Date.now() - stableSince > (DECISION_WAIT_S + 4) * 1000) break;
  }
  const spansIn = backends.reduce((n, b) => n + b.rx.spans.length, 0);
  process.stdout.write(`# topology: ${TRACES} traces (${TRACES * SPANS_PER_TRACE} spans) sent in ${sendMs} ms; ` +
    `kept spans A=${backends[0].rx.spans.length} B=${backends[1].rx.spans.length} (total ${spansIn}); ` +
    `logs A=${backends[0].rx.logs.length} B=${backends[1].rx.logs.length}\n`);
});

after(async () => {
  await Promise.all([front?.stop(), back?.stop()]);
  await agent?.stop();
  await Promise.all(gateways.map((g) => g.stop()));
  await Promise.all(samplers.map((s) => s.stop()));
  await Promise.all(backends.map((b) => b.close()));
});

/** traceId -> Set of backend indexes holding any of its spans (or logs). */
function placement(kind) {
  const where = new Map();
  backends.forEach((b, i) => {
    for (const item of b.rx[kind]) {
      if (!item.traceId) continue;
      if (!where.has(item.traceId)) where.set(item.traceId, new Set());
      where.get(item.traceId).add(i);
    }
  });
  return where;
}

test('every request was answered as the fixture says (500 for error traces)', () => {
  assert.equal(sent.length, TRACES);
  for (const s of sent) assert.equal(s.status, s.kind === 'error' ? 500 : 200, JSON.stringify(s));
});

test('every span of each kept trace is at exactly one sampler, whole, and both samplers got traffic', () => {
  const spans = placement('spans');
  const ours = new Set(sent.map((s) => s.traceId));
  assert.ok(spans.size > 0, `no span reached any backend${diagnostics()}`);
  for (const [traceId, where] of spans) {
    assert.ok(ours.has(traceId), `a span of a trace the test did not start: ${traceId}`);
    assert.equal(where.size, 1, `trace ${traceId} split across samplers ${[...where]}`);
    const mine = backends.flatMap((b) => b.rx.spans.filter((s) => s.traceId === traceId));
    const names = mine.map((s) => `${s.resource['service.name']}:${s.name}:${s.kind}`).sort();
    // The whole trace: the front service's server and client spans and the back service's server span.
    for (const [service, kind] of [['topology-front', 2], ['topology-front', 3], ['topology-back', 2]]) {
      assert.ok(mine.some((s) => s.resource['service.name'] === service && s.kind === kind),
        `trace ${traceId}: no ${service} span of kind ${kind} kept, expected the whole trace; kept: ${names.join(', ')}`);
    }
    if (mine.length !== SPANS_PER_TRACE) process.stdout.write(`# topology: trace ${traceId} has ${mine.length} spans: ${names.join(', ')}\n`);
  }
  for (const [i, b] of backends.entries()) {
    assert.ok(b.rx.spans.length > 0, `sampler ${'AB'[i]} decided no trace: the load balancer used one sampler only${diagnostics()}`);
  }
});

test('nothing is duplicated: each span and each log record arrives once', () => {
  const spanIds = backends.flatMap((b) => b.rx.spans.map((s) => s.spanId));
  assert.equal(new Set(spanIds).size, spanIds.length, 'a span arrived twice');
  const logKeys = backends.flatMap((b) => b.rx.logs.filter((l) => l.traceId).map((l) => `${l.traceId}/${l.spanId}/${l.body}`));
  assert.equal(new Set(logKeys).size, logKeys.length, 'a log record arrived twice');
});

test('error traces and slow traces are all kept', () => {
  const spans = placement('spans');
  for (const s of sent.filter((x) => x.kind !== 'plain')) {
    assert.ok(spans.has(s.traceId), `${s.kind} trace ${s.traceId} was not kept${diagnostics()}`);
  }
  const errors = sent.filter((x) => x.kind === 'error');
  const slow = sent.filter((x) => x.kind === 'slow');
  assert.ok(errors.length >= 20 && slow.length >= 10, 'the test sends enough of each kind to mean something');
});

test('the other traces are kept at the configured ratio (binomial bound, 5 sigma)', () => {
  const spans = placement('spans');
  const plain = sent.filter((x) => x.kind === 'plain');
  const kept = plain.filter((x) => spans.has(x.traceId)).length;
  const n = plain.length;
  const p = PERCENT / 100;
  const sigma = Math.sqrt(n * p * (1 - p));
  process.stdout.write(`# topology: plain traces kept ${kept}/${n} (${((100 * kept) / n).toFixed(1)} %, configured ${PERCENT} %)\n`);
  assert.ok(Math.abs(kept - n * p) <= 5 * sigma, `kept ${kept} of ${n}, expected ${n * p} ± ${(5 * sigma).toFixed(1)}`);
});

test('log records follow their trace id: all records of a trace at one sampler, through either gateway', () => {
  const logs = placement('logs');
  const spans = placement('spans');
  // Logs are not sampled: every trace's two records arrive (the front service's through the agent
  // and gateway 2, the back service's straight to gateway 2), at one sampler.
  let together = 0;
  let apart = 0;
  for (const s of sent) {
    const where = logs.get(s.traceId);
    assert.ok(where, `no log record of trace ${s.traceId}${diagnostics()}`);
    assert.equal(where.size, 1, `the log records of trace ${s.traceId} are split across samplers`);
    const n = backends.reduce((k, b) => k + b.rx.logs.filter((l) => l.traceId === s.traceId).length, 0);
    assert.equal(n, 2, `trace ${s.traceId}: ${n} log records, expected 2 (front and back)`);
    if (spans.has(s.traceId)) {
      if ([...where][0] === [...spans.get(s.traceId)][0]) together += 1;
      else apart += 1;
    }
  }
  process.stdout.write(`# topology: kept traces whose logs are at the same sampler as their spans: ${together}/${together + apart}
`);
  // loadbalancingexporter v0.159.0 hashes a different key for logs (the trace id as 32 hex
  // characters, log_exporter.go splitLogsByTraceID) than for spans (the 16 raw bytes,
  // trace_exporter.go routingIdentifiersFromTraces): a trace's logs go to one sampler, its spans to
  // one sampler, the same one only by chance (1 in 2 with two samplers). With over 100 kept traces
  // "never apart" has odds under 2^-100 while that holds, so this fails the day the exporter uses
  // one key for both: then require apart === 0 here (docs/scaling.md says the same).
  assert.ok(apart > 0, `every kept trace's logs are at its spans' sampler (${together}): the load-balancing exporter now routes both signals alike; make this assertion strict`);
});

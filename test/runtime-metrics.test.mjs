// otelkit's runtime metrics against @opentelemetry/instrumentation-runtime-node 0.36.1, the
// instrumentation they replace: both run in this process on the same sources (perf_hooks, v8 and
// process replaced by fixed values before either loads; garbage collections real, seen by both)
// and their full output is compared, collection after collection. Only times and the scope differ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as vm from 'node:vm';

const require = createRequire(import.meta.url);
const perfHooks = require('node:perf_hooks');
const v8 = require('node:v8');

// Fixed sources, installed before either implementation reads (upstream keeps a reference to
// eventLoopUtilization from its load on).
const elu = { idle: 2000, active: 1000, utilization: 1 / 3 };
perfHooks.performance.eventLoopUtilization = (a, b) => (a === undefined ? { ...elu } : { idle: a.idle - (b?.idle ?? 0), active: a.active - (b?.active ?? 0), utilization: 0.25 });
const delay = { count: 10, min: 1e6, max: 9e6, mean: 3e6, stddev: 5e5, enable() {}, disable() {}, reset() {}, percentile: (p) => p * 1e5 };
perfHooks.monitorEventLoopDelay = () => delay;
let spaces = [
  { space_name: 'new_space', space_size: 1024, space_used_size: 512, space_available_size: 256, physical_space_size: 1000 },
  { space_name: 'old_space', space_size: 4096, space_used_size: 2048, space_available_size: 1024, physical_space_size: 4000 },
];
v8.getHeapSpaceStatistics = () => spaces.map((s) => ({ ...s }));
let resources = ['TCPSocketWrap', 'Timeout', 'Timeout'];
process.getActiveResourcesInfo = () => [...resources];

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
const { RuntimeNodeInstrumentation } = require('@opentelemetry/instrumentation-runtime-node');
const { registerRuntimeMetrics, RUNTIME_SCOPE } = require('../dist/metrics/runtime-metrics.js');
const { VERSION } = require('../dist/version.js');

class PullReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

function comparable(resourceMetrics) {
  const metrics = resourceMetrics.scopeMetrics.flatMap((sm) => sm.metrics);
  return metrics
    .map((m) => ({
      descriptor: m.descriptor,
      temporality: m.aggregationTemporality,
      type: m.dataPointType,
      isMonotonic: m.isMonotonic,
      points: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })).sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes))),
    }))
    .sort((a, b) => a.descriptor.name.localeCompare(b.descriptor.name));
}

test('runtime metrics equal instrumentation-runtime-node 0.36.1: names, kinds, units, descriptions, attributes, buckets and values', async () => {
  const upstreamReader = new PullReader();
  const upstream = new RuntimeNodeInstrumentation();
  upstream.setMeterProvider(new MeterProvider({ readers: [upstreamReader] }));
  const ownReader = new PullReader();
  const stop = registerRuntimeMetrics(new MeterProvider({ readers: [ownReader] }));
  try {
    for (let round = 0; round < 3; round++) {
      // GC entries reach the observers on a later tick, and under load later still: wait for one
      // observed here (registered after both implementations'), then a little more.
      // An observer keeps nothing alive: a timer does, and ends the wait if the entry never comes
      // (both implementations then compare what they did observe).
      const seen = new Promise((resolve) => {
        const timer = setTimeout(() => {
          o.disconnect();
          resolve();
        }, 2000);
        const o = new perfHooks.PerformanceObserver(() => {
          clearTimeout(timer);
          o.disconnect();
          resolve();
        });
        o.observe({ entryTypes: ['gc'] });
      });
      gc();
      await seen;
      await new Promise((r) => setTimeout(r, 50));
      const [a, b] = await Promise.all([upstreamReader.collect(), ownReader.collect()]);
      assert.deepEqual(a.errors, []);
      assert.deepEqual(b.errors, []);
      const expected = comparable(a.resourceMetrics);
      const actual = comparable(b.resourceMetrics);
      assert.deepEqual(actual, expected, `round ${round}`);
      // The comparison covers every metric, GC durations included.
      const names = expected.map((m) => m.descriptor.name);
      for (const n of ['nodejs.eventloop.time', 'nodejs.eventloop.delay.p99', 'v8js.gc.duration', 'v8js.resource.active', 'v8js.memory.heap.space.size']) assert.ok(names.includes(n), n);
      assert.ok(!names.includes('v8js.memory.heap.limit'), 'no deprecated heap limit');
      assert.deepEqual(b.resourceMetrics.scopeMetrics.map((s) => s.scope), [{ name: RUNTIME_SCOPE, version: VERSION, schemaUrl: undefined }]);
      // Sources change between rounds: a resource type that goes away stays, as 0.
      resources = round === 0 ? ['Timeout'] : ['Timeout', 'FSReqCallback'];
      spaces = spaces.map((s) => ({ ...s, space_used_size: s.space_used_size + 100 }));
      delay.count = round === 0 ? 3 : 10;
    }
  } finally {
    stop();
    upstream.disable();
  }
});

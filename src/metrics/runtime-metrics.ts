// Node runtime metrics: the set @opentelemetry/instrumentation-runtime-node 0.36.1 reports (event
// loop delay, utilisation and time, heap spaces, GC durations, active resources), with its names,
// instrument kinds, units, descriptions, attributes and buckets, read straight from perf_hooks,
// v8 and process. The upstream instrumentation would load the instrumentation base at start for
// six observers. test/runtime-metrics.test.mjs runs both on the same sources and compares the
// full output; only the scope differs: otelkit.runtime with otelkit's version.
import { constants, monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization, type PerformanceEntry } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import { ValueType, type MeterProvider } from '@opentelemetry/api';
import type { Config } from '../config/types';
import { VERSION } from '../version';

/** The scope of the runtime metrics (upstream: @opentelemetry/instrumentation-runtime-node). */
export const RUNTIME_SCOPE = 'otelkit.runtime';

// Upstream's monitoringPrecision default, in milliseconds.
const DELAY_RESOLUTION_MS = 10;
const GC_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const GC_KIND: Array<string | undefined> = [];
GC_KIND[constants.NODE_PERFORMANCE_GC_MAJOR] = 'major';
GC_KIND[constants.NODE_PERFORMANCE_GC_MINOR] = 'minor';
GC_KIND[constants.NODE_PERFORMANCE_GC_INCREMENTAL] = 'incremental';
GC_KIND[constants.NODE_PERFORMANCE_GC_WEAKCB] = 'weakcb';

/**
 * On when metrics are exported at all and runtime-node is not switched off: runtime metrics are
 * otelkit's own but answer to the upstream instrumentation's name (OTEL_NODE_ENABLED_INSTRUMENTATIONS,
 * OTEL_NODE_DISABLED_INSTRUMENTATIONS).
 */
export function runtimeMetricsEnabled(config: Config): boolean {
  const runtime = config.instrumentations;
  const runtimeOn = !runtime.disabled.includes('runtime-node') && (!runtime.enabled || runtime.enabled.includes('runtime-node'));
  return runtimeOn && config.metrics.exporters.length > 0;
}

/** NaN (an empty histogram) reads as 0, as upstream's checkNan. */
const seconds = (ns: number): number => (Number.isNaN(ns / 1e9) ? 0 : ns / 1e9);

export function registerRuntimeMetrics(provider: MeterProvider): () => void {
  const meter = provider.getMeter(RUNTIME_SCOPE, VERSION);

  // Event loop utilisation since the previous collection.
  let lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  meter.createObservableGauge('nodejs.eventloop.utilization', { description: 'Event loop utilization', unit: '1' }).addCallback((r) => {
    const current = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(current, lastElu);
    lastElu = current;
    r.observe(delta.utilization);
  });

  // Time spent active and idle since the process started.
  const time = meter.createObservableCounter('nodejs.eventloop.time', { description: 'Cumulative duration of time the event loop has been in each state.', unit: 's' });
  meter.addBatchObservableCallback((r) => {
    const elu = performance.eventLoopUtilization();
    r.observe(time, elu.active / 1000, { 'nodejs.eventloop.state': 'active' });
    r.observe(time, elu.idle / 1000, { 'nodejs.eventloop.state': 'idle' });
  }, [time]);

  // Event loop delay over the collection interval; fewer than 5 samples describe a stalled loop's silence.
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  delay.enable();
  const delayGauge = (name: string, description: string) => meter.createObservableGauge(name, { description, unit: 's' });
  const min = delayGauge('nodejs.eventloop.delay.min', 'Event loop minimum delay.');
  const max = delayGauge('nodejs.eventloop.delay.max', 'Event loop maximum delay.');
  const mean = delayGauge('nodejs.eventloop.delay.mean', 'Event loop mean delay.');
  const stddev = delayGauge('nodejs.eventloop.delay.stddev', 'Event loop standard deviation delay.');
  const p50 = delayGauge('nodejs.eventloop.delay.p50', 'Event loop 50 percentile delay.');
  const p90 = delayGauge('nodejs.eventloop.delay.p90', 'Event loop 90 percentile delay.');
  const p99 = delayGauge('nodejs.eventloop.delay.p99', 'Event loop 99 percentile delay.');
  meter.addBatchObservableCallback((r) => {
    if (delay.count < 5) return;
    r.observe(min, seconds(delay.min));
    r.observe(max, seconds(delay.max));
    r.observe(mean, seconds(delay.mean));
    r.observe(stddev, seconds(delay.stddev));
    r.observe(p50, seconds(delay.percentile(50)));
    r.observe(p90, seconds(delay.percentile(90)));
    r.observe(p99, seconds(delay.percentile(99)));
    delay.reset();
  }, [min, max, mean, stddev, p50, p90, p99]);

  // Garbage collection durations by kind.
  const gcDuration = meter.createHistogram('v8js.gc.duration', {
    description: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    unit: 's',
    valueType: ValueType.DOUBLE,
    advice: { explicitBucketBoundaries: GC_DURATION_BUCKETS },
  });
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number }; kind?: number }>) {
      const kind = GC_KIND[(e.detail ? e.detail.kind : e.kind) ?? -1];
      // As upstream: a kind it does not know is recorded with an undefined type.
      gcDuration.record(e.duration / 1000, { 'v8js.gc.type': kind });
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  // Heap spaces.
  const spaceSize = meter.createObservableUpDownCounter('v8js.memory.heap.space.size', { description: 'Total heap memory size pre-allocated for a heap space.', unit: 'By' });
  const spaceUsed = meter.createObservableGauge('v8js.memory.heap.used', { description: 'Heap Memory size allocated.', unit: 'By' });
  const spaceAvailable = meter.createObservableGauge('v8js.memory.heap.space.available_size', { description: 'Heap space available size.', unit: 'By' });
  const spacePhysical = meter.createObservableGauge('v8js.memory.heap.space.physical_size', { description: 'Committed size of a heap space.', unit: 'By' });
  meter.addBatchObservableCallback((r) => {
    for (const space of v8.getHeapSpaceStatistics()) {
      const attributes = { 'v8js.heap.space.name': space.space_name };
      r.observe(spaceSize, space.space_size, attributes);
      r.observe(spaceUsed, space.space_used_size, attributes);
      r.observe(spaceAvailable, space.space_available_size, attributes);
      r.observe(spacePhysical, space.physical_space_size, attributes);
    }
  }, [spaceSize, spaceUsed, spaceAvailable, spacePhysical]);

  // Resources keeping the event loop alive, by type; a type seen once is reported (as 0) ever after.
  const active = meter.createObservableGauge('v8js.resource.active', { description: 'Count of the active resources that are currently keeping the event loop alive.', unit: '{resource}' });
  const knownTypes = new Set<string>();
  meter.addBatchObservableCallback((r) => {
    const counts = new Map<string, number>();
    for (const type of process.getActiveResourcesInfo()) {
      counts.set(type, (counts.get(type) ?? 0) + 1);
      knownTypes.add(type);
    }
    for (const type of knownTypes) r.observe(active, counts.get(type) ?? 0, { 'v8js.resource.type': type });
  }, [active]);

  return () => {
    delay.disable();
    gcObserver.disconnect();
  };
}

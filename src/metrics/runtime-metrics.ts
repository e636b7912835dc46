// Node runtime metrics under the semantic-convention names (nodejs.eventloop.*, v8js.*), read
// straight from perf_hooks and v8. The upstream runtime-node instrumentation emits the same
// names but pulls in the whole instrumentation base at start, for a few observers.
import { monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import type { MeterProvider } from '@opentelemetry/api';
import type { Config } from '../config/types';

// 20 ms resolution: fine enough to see stalls that hurt requests, coarse enough that the
// sampling timer costs nothing measurable.
const DELAY_RESOLUTION_MS = 20;

const GC_KIND: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };

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

export function registerRuntimeMetrics(provider: MeterProvider): () => void {
  const meter = provider.getMeter('otelkit.runtime');

  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  delay.enable();
  const gauge = (name: string, description: string, unit = 's') => meter.createObservableGauge(name, { description, unit });
  const delayGauges = {
    min: gauge('nodejs.eventloop.delay.min', 'Event loop minimum delay.'),
    max: gauge('nodejs.eventloop.delay.max', 'Event loop maximum delay.'),
    mean: gauge('nodejs.eventloop.delay.mean', 'Event loop mean delay.'),
    stddev: gauge('nodejs.eventloop.delay.stddev', 'Event loop standard deviation of the delay.'),
    p50: gauge('nodejs.eventloop.delay.p50', 'Event loop 50th percentile delay.'),
    p90: gauge('nodejs.eventloop.delay.p90', 'Event loop 90th percentile delay.'),
    p99: gauge('nodejs.eventloop.delay.p99', 'Event loop 99th percentile delay.'),
  };
  const utilization = gauge('nodejs.eventloop.utilization', 'Event loop utilization since the previous collection.', '1');
  const heapUsed = gauge('v8js.memory.heap.used', 'Heap memory in use, per heap space.', 'By');
  const heapSize = gauge('v8js.memory.heap.space.size', 'Heap space size, per heap space.', 'By');
  const heapAvailable = gauge('v8js.memory.heap.space.available_size', 'Heap space available size, per heap space.', 'By');
  const heapPhysical = gauge('v8js.memory.heap.space.physical_size', 'Committed physical memory, per heap space.', 'By');
  const heapLimit = gauge('v8js.memory.heap.limit', 'Heap size limit.', 'By');

  let lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  meter.addBatchObservableCallback((r) => {
    const ns = (v: number) => (Number.isFinite(v) ? v / 1e9 : 0);
    // Fewer samples than this describe a stalled loop's silence, not its delay.
    if (delay.count >= 5) {
      r.observe(delayGauges.min, ns(delay.min));
      r.observe(delayGauges.max, ns(delay.max));
      r.observe(delayGauges.mean, ns(delay.mean));
      r.observe(delayGauges.stddev, ns(delay.stddev));
      r.observe(delayGauges.p50, ns(delay.percentile(50)));
      r.observe(delayGauges.p90, ns(delay.percentile(90)));
      r.observe(delayGauges.p99, ns(delay.percentile(99)));
      delay.reset();
    }
    const elu = performance.eventLoopUtilization();
    r.observe(utilization, performance.eventLoopUtilization(elu, lastElu).utilization);
    lastElu = elu;
    for (const s of v8.getHeapSpaceStatistics()) {
      const attrs = { 'v8js.heap.space.name': s.space_name };
      r.observe(heapUsed, s.space_used_size, attrs);
      r.observe(heapSize, s.space_size, attrs);
      r.observe(heapAvailable, s.space_available_size, attrs);
      r.observe(heapPhysical, s.physical_space_size, attrs);
    }
    r.observe(heapLimit, v8.getHeapStatistics().heap_size_limit);
  }, [...Object.values(delayGauges), utilization, heapUsed, heapSize, heapAvailable, heapPhysical, heapLimit]);

  const gcDuration = meter.createHistogram('v8js.gc.duration', {
    description: 'Garbage collection duration, by kind.',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.01, 0.1, 1, 10] },
  });
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      gcDuration.record(e.duration / 1000, { 'v8js.gc.type': GC_KIND[kind ?? 0] ?? 'unknown' });
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  return () => {
    delay.disable();
    gcObserver.disconnect();
  };
}

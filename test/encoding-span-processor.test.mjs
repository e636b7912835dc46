// The default trace export encodes each span as it ends (otlp-span-encoder.ts) and batches the bytes
// (encoding-span-processor.ts). The bytes must be the upstream serialiser's, and the batching must keep the
// BatchSpanProcessor's behaviour: batch size, delay, queue limit, timeout, flush and shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTraceState, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { EncodingSpanProcessor } from '../dist/export/encoding-span-processor.js';
import { exportStats } from '../dist/export/export-status.js';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';
import { encodedSpanExporter } from '../dist/export/exporters.js';

// A small deterministic generator, so that a failure can be replayed.
function rng(seed, numbers) {
  let s = seed >>> 0;
  const r = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  r.numbers = numbers;
  return r;
}

const STRINGS = ['', 'GET', 'GET /orders/:id', 'x'.repeat(63), 'y'.repeat(64), 'w'.repeat(127), 'v'.repeat(128), 'u'.repeat(150), 'z'.repeat(300), 'é', 'naïve café ' + 'ü'.repeat(70), '日本語', '😀 emoji', 'a\u0000b', 'a'.repeat(20000)];
const NUMBERS = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32, 2 ** 40 + 5, 2 ** 53, 2 ** 63, -1, -128, -(2 ** 40), -(2 ** 63), 0.5, -2.25, 1e300, NaN, Infinity, -Infinity, Number.MIN_VALUE];

function value(r, depth = 0) {
  const k = Math.floor(r() * (depth > 1 ? 4 : 8));
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  switch (k) {
    case 0: return pick(STRINGS);
    case 1: return r() < 0.5;
    case 2: return pick(r.numbers);
    case 3: return null;
    case 4: return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
    case 5: return Uint8Array.from(randomBytesFrom(r, Math.floor(r() * 40)));
    case 6: return attributes(r, depth + 1, 3);
    default: return [pick(STRINGS), pick(r.numbers)];
  }
}

function randomBytesFrom(r, n) {
  return Array.from({ length: n }, () => Math.floor(r() * 256));
}

function hex(r, bytes) {
  return Buffer.from(randomBytesFrom(r, bytes)).toString('hex');
}

function attributes(r, depth = 0, max = 12) {
  const out = {};
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) out[`${STRINGS[Math.floor(r() * 4)]}key.${i}${r() < 0.1 ? 'ü' : ''}`] = value(r, depth);
  return out;
}

function time(r) {
  // Seconds across the whole 32-bit range and beyond, nanoseconds to the last one.
  const s = [0, 1, 65535, 65536, 1_700_000_000, 1_764_000_000, 2 ** 32 - 1, 2 ** 33 + 7][Math.floor(r() * 8)] + Math.floor(r() * 1000);
  return [s, r() < 0.2 ? 999_999_999 : Math.floor(r() * 1e9)];
}

function spanContext(r, flags) {
  return { traceId: hex(r, 16), spanId: hex(r, 8), traceFlags: flags, isRemote: r() < 0.5, traceState: r() < 0.3 ? createTraceState('vendor=a,other=b:c') : undefined };
}

/** ReadableSpan-shaped objects covering every field the serialiser reads. */
function spans(seed, n, resource, scopes, numbers = NUMBERS) {
  const r = rng(seed, numbers);
  return Array.from({ length: n }, () => {
    const ctx = spanContext(r, r() < 0.9 ? TraceFlags.SAMPLED : TraceFlags.SAMPLED | 2);
    const parent = r() < 0.6 ? spanContext(r, TraceFlags.SAMPLED) : undefined;
    return {
      name: STRINGS[Math.floor(r() * STRINGS.length)],
      kind: Math.floor(r() * 5),
      spanContext: () => ctx,
      parentSpanContext: parent,
      startTime: time(r),
      endTime: time(r),
      status: r() < 0.3 ? { code: SpanStatusCode.ERROR, message: r() < 0.5 ? 'boom ü' : undefined } : { code: Math.floor(r() * 2) },
      attributes: attributes(r),
      links: Array.from({ length: Math.floor(r() * 3) }, () => ({ context: spanContext(r, TraceFlags.SAMPLED), attributes: r() < 0.5 ? attributes(r) : undefined, droppedAttributesCount: Math.floor(r() * 3) })),
      events: Array.from({ length: Math.floor(r() * 3) }, () => ({ name: 'exception', time: time(r), attributes: r() < 0.7 ? attributes(r) : undefined, droppedAttributesCount: Math.floor(r() * 2) })),
      duration: [0, 0],
      ended: true,
      resource,
      instrumentationScope: scopes[Math.floor(r() * scopes.length)],
      droppedAttributesCount: Math.floor(r() * 3),
      droppedEventsCount: r() < 0.2 ? 130 : 0,
      droppedLinksCount: Math.floor(r() * 2),
    };
  });
}

/** An exporter that keeps what it is given; answers with result (or never, when result is null). */
function capture(result = { code: 0 }) {
  const batches = [];
  return {
    batches,
    shutdownCalls: 0,
    export(batch, done) {
      batches.push(batch);
      if (result) setImmediate(() => done(result));
    },
    async shutdown() {
      this.shutdownCalls++;
    },
  };
}

function processor(exporter, o = {}) {
  return new EncodingSpanProcessor({ exporter, maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 5000, exportTimeoutMillis: 30000, ...o });
}

const RESOURCE = resourceFromAttributes({ 'service.name': 'orders', 'service.version': '1.2.3', 'host.name': 'h', 'process.pid': 42, 'x.list': ['a', 'b'], 'x.unicode': 'ü' });
const SCOPES = [
  { name: 'otelkit.http', version: '0.1.0' },
  { name: '@opentelemetry/instrumentation-pg', version: '0.60.0', schemaUrl: 'https://opentelemetry.io/schemas/1.27.0' },
  { name: 'scoped', attributes: { 'scope.attr': 'v', n: 3 }, droppedAttributesCount: 2 },
  { name: '' },
];

test('a batch encodes to the same bytes as the upstream protobuf serialiser', async () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const input = spans(seed, 200, RESOURCE, SCOPES);
    const exporter = capture();
    const p = processor(exporter);
    for (const s of input) p.onEnd(s);
    await p.forceFlush();
    assert.equal(exporter.batches.length, 1, `seed ${seed}`);
    assert.equal(exporter.batches[0].count, 200);
    const expected = Buffer.from(ProtobufTraceSerializer.serializeRequest(input));
    assert.ok(Buffer.from(exporter.batches[0].bytes).equals(expected), `seed ${seed}: bytes differ from upstream's (${exporter.batches[0].bytes.length} vs ${expected.length})`);
  }
});

test('spans of a real tracer provider encode as upstream serialises them', async () => {
  const ended = [];
  const exporter = capture();
  const p = processor(exporter);
  const provider = new TracerProvider({ resource: RESOURCE, spanProcessors: [{ onStart() {}, onEnd: (s) => ended.push(s), forceFlush: async () => {}, shutdown: async () => {} }, p] });
  const tracer = provider.getTracer('real', '1.0.0', { schemaUrl: 'https://example.com/s' });
  for (let i = 0; i < 50; i++) {
    const root = tracer.startSpan(`GET /r/${i}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 + i } });
    root.addEvent('e', { i });
    if (i % 7 === 0) root.recordException(new Error(`failure ${i} ü`));
    root.end();
  }
  await p.forceFlush();
  assert.equal(exporter.batches.length, 1);
  assert.ok(Buffer.from(exporter.batches[0].bytes).equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(ended))));
});

test('full batches go at once, the rest after the delay, and unsampled spans never', async () => {
  const exporter = capture();
  const p = processor(exporter, { maxExportBatchSize: 10, scheduledDelayMillis: 50 });
  const input = spans(11, 25, RESOURCE, SCOPES);
  const unsampled = spans(12, 5, RESOURCE, SCOPES).map((s) => ({ ...s, spanContext: () => ({ ...s.spanContext(), traceFlags: TraceFlags.NONE }) }));
  const ended = Date.now();
  for (const s of [...input, ...unsampled]) p.onEnd(s);
  // Two full batches are due at once (one in flight, the next queued behind it); the partial
  // one only after the delay. Polled, not timed: on a loaded machine 10 ms may be 100.
  const until = async (n) => {
    while (exporter.batches.length < n) {
      assert.ok(Date.now() - ended < 10_000, `${exporter.batches.length} batches, waiting for ${n}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  await until(2);
  const fullAfter = Date.now() - ended;
  assert.deepEqual(exporter.batches.map((b) => b.count).slice(0, 2), [10, 10]);
  await until(3);
  assert.ok(Date.now() - ended >= 50 || fullAfter < 50, 'the partial batch waits for the delay');
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(exporter.batches.map((b) => b.count), [10, 10, 5]);
  // Each batch holds exactly its spans, in order.
  assert.ok(Buffer.from(exporter.batches[2].bytes).equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(input.slice(20)))));
  await p.shutdown();
});

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  async onForceFlush() {}
  async onShutdown() {}
}

/** The otel.sdk.processor.span.processed points collected now, by error.type ('' for none). */
async function processedCounts(reader) {
  const { resourceMetrics } = await reader.collect();
  const counts = {};
  for (const sm of resourceMetrics.scopeMetrics) {
    for (const m of sm.metrics) {
      if (m.descriptor.name !== 'otel.sdk.processor.span.processed') continue;
      for (const dp of m.dataPoints) counts[dp.attributes['error.type'] ?? ''] = dp.value;
    }
  }
  return counts;
}

test('a full queue drops spans and counts them', async () => {
  const before = exportStats('traces').droppedItems;
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const exporter = capture(null); // never answers: nothing leaves the queue but the first batch
  const p = processor(exporter, { maxQueueSize: 20, maxExportBatchSize: 10, exportTimeoutMillis: 60_000, meter: meterProvider.getMeter('@opentelemetry/sdk-trace') });
  for (const s of spans(21, 45, RESOURCE, SCOPES)) p.onEnd(s);
  // 10 in flight, 20 queued, 15 dropped.
  assert.equal(exporter.batches.length, 1);
  assert.equal(exportStats('traces').droppedItems - before, 15);
  // The drops reach the SDK's processor metric at each collection, each counted once.
  assert.deepEqual(await processedCounts(reader), { queue_full: 15 });
  for (const s of spans(22, 3, RESOURCE, SCOPES)) p.onEnd(s);
  assert.deepEqual(await processedCounts(reader), { queue_full: 18 });
  assert.deepEqual(await processedCounts(reader), { queue_full: 18 });
  await meterProvider.shutdown();
});

test('an export that never answers times out and the next batch goes', async () => {
  const errors = [];
  const { setGlobalErrorHandler } = await import('@opentelemetry/core');
  setGlobalErrorHandler((e) => errors.push(e));
  const exporter = capture(null);
  const p = processor(exporter, { maxExportBatchSize: 5, exportTimeoutMillis: 50 });
  for (const s of spans(31, 10, RESOURCE, SCOPES)) p.onEnd(s);
  assert.equal(exporter.batches.length, 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(exporter.batches.length, 2);
  assert.ok(errors.some((e) => e.message === 'Timeout'), `errors: ${errors.map((e) => e.message)}`);
});

test('forceFlush reports a failed export; shutdown flushes, closes the exporter, then ignores spans', async () => {
  const failing = capture({ code: 1, error: new Error('collector said no') });
  const p1 = processor(failing);
  p1.onEnd(spans(41, 1, RESOURCE, SCOPES)[0]);
  await assert.rejects(p1.forceFlush(), /collector said no/);

  const exporter = capture();
  const p = processor(exporter);
  for (const s of spans(42, 3, RESOURCE, SCOPES)) p.onEnd(s);
  await p.shutdown();
  assert.deepEqual(exporter.batches.map((b) => b.count), [3]);
  assert.equal(exporter.shutdownCalls, 1);
  p.onEnd(spans(43, 1, RESOURCE, SCOPES)[0]);
  await p.forceFlush();
  assert.equal(exporter.batches.length, 1);
});

test('a span the encoder cannot read is dropped alone', async () => {
  const exporter = capture();
  const p = processor(exporter);
  const [good1, bad, good2] = spans(51, 3, RESOURCE, SCOPES);
  const broken = { ...bad, instrumentationScope: good1.instrumentationScope, startTime: undefined };
  p.onEnd(good1);
  p.onEnd(broken);
  p.onEnd(good2);
  await p.forceFlush();
  assert.equal(exporter.batches[0].count, 2);
  assert.ok(Buffer.from(exporter.batches[0].bytes).equals(Buffer.from(ProtobufTraceSerializer.serializeRequest([good1, good2]))));
});

test('the encoded exporter sends to an OTLP receiver, which decodes every span', async () => {
  const rx = await startOtlpReceiver();
  try {
    const exporter = encodedSpanExporter({ endpoint: `${rx.url}/v1/traces`, protocol: 'http/protobuf', headers: { 'x-team': 'a' }, timeoutMs: 5000, compression: 'gzip' });
    const p = processor(exporter);
    // The receiver's decoder has no JSON form for NaN and the infinities.
    const input = spans(61, 40, RESOURCE, SCOPES, NUMBERS.filter(Number.isFinite));
    for (const s of input) p.onEnd(s);
    await p.forceFlush();
    assert.deepEqual(rx.requests.map((q) => q.error), [null]);
    assert.deepEqual(rx.spans.map((s) => s.spanId).sort(), input.map((s) => s.spanContext().spanId).sort());
    const first = rx.spans.find((s) => s.spanId === input[0].spanContext().spanId);
    assert.equal(first.name, input[0].name);
    assert.equal(first.resource['service.name'], 'orders');
    assert.equal(exportStats('traces').exportedItems >= 40, true);
    await p.shutdown();
  } finally {
    await rx.close();
  }
});

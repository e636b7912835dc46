// A sampled request's server span is otelkit's own (own-span.ts, started by root-span.ts), not
// the SDK's. What the processors and exporters read of it must be what the SDK's span would hold
// after the same calls: attributes under the limits, events, links, status, name, dropped counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { suppressTracing } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { AlwaysOnSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { OwnSpan, spanLimits } from '../dist/trace/own-span.js';
import { rootSpanStarter } from '../dist/trace/root-span.js';
import { DatabaseTracer } from '../dist/trace/database-tracer.js';
import { ProtoWriter, writeSpan } from '../dist/export/otlp-span-encoder.js';

/** Records what the processors see, in order: onStart, onEnding (span still writable), onEnd. */
class Recorder {
  calls = [];
  onStart(span) { this.calls.push(['start', span.name]); }
  onEnding(span) {
    this.calls.push(['ending', span.ended]);
    // Redaction edits the span here: it must still be writable.
    span.attributes['edited.in.onEnding'] = 'yes';
  }
  onEnd(span) { this.calls.push(['end', span.ended]); this.ended = span; }
  forceFlush() { return Promise.resolve(); }
  shutdown() { return Promise.resolve(); }
}

function pair(configured) {
  const limits = spanLimits(configured);
  const resource = resourceFromAttributes({ 'service.name': 'parity' });
  const sdkRec = new Recorder();
  const provider = new TracerProvider({ resource, spanLimits: limits, spanProcessors: [sdkRec] });
  const tracer = provider.getTracer('otelkit.http', '1.2.3');
  const sdkSpan = tracer.startSpan('GET', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
  const ownRec = new Recorder();
  const own = new OwnSpan({ resource, scope: tracer.instrumentationScope, limits, processors: [ownRec] }, sdkSpan.spanContext().traceId, sdkSpan.spanContext().spanId, 'GET', SpanKind.SERVER, performance.now());
  return { sdkSpan, own, sdkRec, ownRec, tracer, resource };
}

/** The same calls on both spans, including invalid ones and calls after end. */
function script(span, t0) {
  const out = [];
  const call = (fn) => out.push(fn() === span ? 'this' : 'other');
  call(() => span.setAttribute('http.request.method', 'GET'));
  call(() => span.setAttribute('', 'empty key'));
  call(() => span.setAttribute('bad', { nested: true }));
  call(() => span.setAttribute('null', null));
  call(() => span.setAttribute('undef', undefined));
  call(() => span.setAttribute('long', 'x'.repeat(40)));
  call(() => span.setAttribute('list', ['a'.repeat(30), 'b', 3]));
  call(() => span.setAttribute('mixed', ['a', 1]));
  call(() => span.setAttribute('num', 42));
  call(() => span.setAttribute('num', 43));
  call(() => span.setAttributes({ a1: 1, a2: true, a3: 'three', a4: [1, 2], a5: 5, a6: 6, a7: 7 }));
  call(() => span.addEvent('plain'));
  call(() => span.addEvent('with attributes', { k: 'v'.repeat(40), n: 1, bad: {}, m: 2, o: 3, p: 4 }));
  call(() => span.addEvent('epoch time', 1_700_000_000_123));
  call(() => span.addEvent('date time', new Date(1_700_000_000_456)));
  call(() => span.addEvent('hr time', { x: 1 }, [1_700_000_001, 5]));
  call(() => span.addEvent('perf time', { y: 2 }, t0 + 0.25));
  call(() => span.addEvent('attrs and time', { z: 3 }, 1_700_000_002_000));
  for (let i = 0; i < 4; i++) call(() => span.addEvent(`extra ${i}`));
  const ctx = { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: TraceFlags.SAMPLED };
  call(() => span.addLink({ context: ctx }));
  call(() => span.addLink({ context: ctx, attributes: { l1: 'w'.repeat(50), l2: 2, l3: 3, l4: 4, l5: 5 } }));
  call(() => span.addLinks([{ context: ctx, attributes: {} }, { context: ctx, attributes: { q: 1 } }, { context: ctx }]));
  call(() => span.setStatus({ code: SpanStatusCode.UNSET, message: 'ignored' }));
  call(() => span.setStatus({ code: SpanStatusCode.ERROR, message: 42 }));
  call(() => span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' }));
  call(() => span.updateName('GET /orders/:id'));
  span.recordException(ERRORS.db);
  span.recordException('just a message');
  span.recordException(ERRORS.type, 1_700_000_003_000);
  span.recordException({});
  out.push(span.isRecording());
  span.end();
  out.push(span.isRecording());
  // After end: every call is ignored.
  call(() => span.setAttribute('late', 1));
  call(() => span.addEvent('late'));
  call(() => span.setStatus({ code: SpanStatusCode.OK }));
  call(() => span.updateName('late'));
  span.end();
  return out;
}

const EXPLICIT_TIMES = new Set(['epoch time', 'date time', 'hr time', 'attrs and time']);
// One set of errors for both spans: their stacks are attributes.
const ERRORS = { db: Object.assign(new Error('db down'), { code: 'ECONNREFUSED' }), type: new TypeError('bad type') };

const view = (s) => ({
  name: s.name,
  kind: s.kind,
  attributes: s.attributes,
  // Explicit event times must match exactly; implicit ones are checked for order below.
  events: s.events.map((e) => ({ name: e.name, attributes: e.attributes, droppedAttributesCount: e.droppedAttributesCount, ...(EXPLICIT_TIMES.has(e.name) || e.attributes['exception.type'] === 'TypeError' ? { time: e.time } : {}) })),
  links: s.links,
  status: s.status,
  droppedAttributesCount: s.droppedAttributesCount,
  droppedEventsCount: s.droppedEventsCount,
  droppedLinksCount: s.droppedLinksCount,
  ended: s.ended,
  parentSpanContext: s.parentSpanContext,
  spanContext: s.spanContext(),
});

const hr = (t) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

for (const [label, configured] of [
  ['default limits', {}],
  ['tight limits', { attributeCountLimit: 8, attributeValueLengthLimit: 20, eventCountLimit: 6, linkCountLimit: 3, attributePerEventCountLimit: 3, attributePerLinkCountLimit: 2 }],
  ['no events, no links', { eventCountLimit: 0, linkCountLimit: 0 }],
]) {
  test(`the server span holds what the SDK's span holds after the same calls (${label})`, () => {
    const { sdkSpan, own, sdkRec, ownRec, tracer, resource } = pair(configured);
    const t0 = performance.now();
    const a = script(sdkSpan, t0);
    const b = script(own, t0);
    assert.deepEqual(b, a, 'return values and isRecording');
    assert.deepEqual(view(own), view(sdkSpan));
    assert.deepEqual(ownRec.calls, sdkRec.calls, 'processor calls');
    assert.equal(own.attributes['edited.in.onEnding'], 'yes');
    assert.equal(own.instrumentationScope, tracer.instrumentationScope, 'the tracer scope object itself, for batching');
    assert.equal(own.resource, resource);
    // Implicit times lie between start and end, in order; the duration is end - start.
    assert.ok(hr(own.startTime) <= hr(own.endTime));
    assert.equal(hr(own.duration), hr(own.endTime) - hr(own.startTime));
    const perfEvent = own.events.find((e) => e.name === 'perf time');
    if (perfEvent) assert.ok(hr(perfEvent.time) - hr(own.startTime) < 1_000_000_000n && hr(own.startTime) - hr(perfEvent.time) < 1_000_000_000n, 'a performance.now() time is read relative to the start');
    // The encoder reads both the same way: same bytes once the times are made equal.
    for (const s of [own, sdkSpan]) {
      s.startTime = [1_700_000_000, 0];
      s.endTime = [1_700_000_000, 5000];
      for (const e of s.events) e.time = [1_700_000_000, 100];
    }
    const bytes = (s) => {
      const w = new ProtoWriter();
      writeSpan(w, s);
      return Buffer.from(w.take());
    };
    assert.deepEqual(bytes(own), bytes(sdkSpan));
  });
}

test('roots are decided as the SDK ratio sampler decides their trace id; sampled ones are server spans ended into the processors', () => {
  const resource = resourceFromAttributes({ 'service.name': 'roots' });
  for (const ratio of [0, 0.1, 0.5, 0.999]) {
    for (const name of ['parentbased_traceidratio', 'traceidratio']) {
      const rec = new Recorder();
      const start = rootSpanStarter({ name, ratio }, { resource, scope: { name: 's' }, limits: spanLimits({}), processors: [rec] });
      const sdk = new TraceIdRatioBasedSampler(ratio);
      let sampled = 0;
      const traceIds = new Set();
      for (let i = 0; i < 3000; i++) {
        const span = start('GET', SpanKind.SERVER, performance.now());
        const sc = span.spanContext();
        const expected = sdk.shouldSample(ROOT_CONTEXT, sc.traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
        assert.equal(span.isRecording(), expected, `${name} ${ratio}: ${sc.traceId}`);
        assert.equal(span instanceof OwnSpan, expected);
        assert.equal(sc.traceFlags, expected ? TraceFlags.SAMPLED : TraceFlags.NONE);
        assert.ok(trace.isSpanContextValid(sc), JSON.stringify(sc));
        // Read again (lazily drawn ids must not change) and serialised as a plain span context.
        assert.deepEqual(JSON.parse(JSON.stringify(sc)), { traceId: sc.traceId, spanId: sc.spanId, traceFlags: sc.traceFlags, ...(expected ? {} : {}) });
        traceIds.add(sc.traceId);
        if (expected) sampled++;
        span.end();
      }
      assert.equal(traceIds.size, 3000);
      assert.equal(rec.calls.filter((c) => c[0] === 'end').length, sampled, 'each sampled root reaches onEnd once');
      if (ratio === 0) assert.equal(sampled, 0);
      else assert.ok(Math.abs(sampled / 3000 - ratio) < 0.05, `${name} ${ratio}: ${sampled} of 3000 sampled`);
    }
  }
  for (const [name, recording] of [['always_off', false], ['parentbased_always_off', false], ['always_on', true], ['parentbased_always_on', true], ['parentbased_traceidratio', true]]) {
    const start = rootSpanStarter({ name, ratio: 1 }, { resource, scope: { name: 's' }, limits: spanLimits({}), processors: [] });
    for (let i = 0; i < 100; i++) {
      const span = start('GET', SpanKind.SERVER, performance.now());
      assert.equal(span.isRecording(), recording, name);
      assert.ok(trace.isSpanContextValid(span.spanContext()));
    }
  }
});

test('the database tracer starts the sampled children of local spans as own spans, as the SDK tracer would start them', () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  try {
    const resource = resourceFromAttributes({ 'service.name': 'children' });
    const limits = spanLimits({ attributeValueLengthLimit: 12 });
    const rec = new Recorder();
    const provider = new TracerProvider({ resource, spanLimits: limits, sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors: [rec] });
    const sdk = provider.getTracer('@opentelemetry/instrumentation-redis', '0.71.0');
    const lean = new DatabaseTracer(sdk, { resource, scope: sdk.instrumentationScope, limits, processors: [rec] });
    const parent = sdk.startSpan('GET /orders/:id', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
    const ctx = trace.setSpan(ROOT_CONTEXT, parent);
    const options = { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'redis', 'server.address': undefined, 'server.port': 6379, 'db.query.text': 'GET order:12345678901234', bad: { x: 1 } } };
    const a = lean.startSpan('redis-GET', options, ctx);
    const b = sdk.startSpan('redis-GET', options, ctx);
    assert.ok(a instanceof OwnSpan);
    assert.ok(!(b instanceof OwnSpan));
    a.end();
    b.end();
    const strip = (v) => ({ ...v, spanContext: { ...v.spanContext, spanId: undefined } });
    assert.deepEqual(strip(view(a)), strip(view(b)));
    assert.equal(a.spanContext().traceId, parent.spanContext().traceId);
    assert.deepEqual(a.parentSpanContext, parent.spanContext());
    assert.notEqual(a.spanContext().spanId, parent.spanContext().spanId);
    assert.equal(a.instrumentationScope, b.instrumentationScope);
    assert.equal(a.attributes['db.query.text'], 'GET order:12', 'the value length limit applies');

    // Everything else is the SDK tracer's: a root, a remote or unsampled parent, suppressed
    // tracing, an explicit start time, root: true.
    const remote = trace.setSpanContext(ROOT_CONTEXT, { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: TraceFlags.SAMPLED, isRemote: true });
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: TraceFlags.NONE });
    for (const [what, span, recording] of [
      ['no parent', lean.startSpan('x', {}, ROOT_CONTEXT), true],
      ['remote parent', lean.startSpan('x', {}, remote), true],
      ['unsampled parent', lean.startSpan('x', {}, unsampled), false],
      ['suppressed', lean.startSpan('x', {}, suppressTracing(ctx)), false],
      ['start time', lean.startSpan('x', { startTime: 1_700_000_000_000 }, ctx), true],
      ['root', lean.startSpan('x', { root: true }, ctx), true],
    ]) {
      assert.ok(!(span instanceof OwnSpan), what);
      assert.equal(span.isRecording(), recording, what);
    }
    assert.equal(lean.startSpan('x', {}, remote).parentSpanContext?.spanId, 'cd'.repeat(8));

    // startActiveSpan, in its three forms: the span is active inside, and fn's value comes back.
    context.with(ctx, () => {
      const got = [
        lean.startActiveSpan('one', (s) => [s, trace.getActiveSpan()]),
        lean.startActiveSpan('two', { kind: SpanKind.CLIENT }, (s) => [s, trace.getActiveSpan()]),
        lean.startActiveSpan('three', {}, ctx, (s) => [s, trace.getActiveSpan()]),
      ];
      for (const [s, active] of got) {
        assert.ok(s instanceof OwnSpan);
        assert.equal(active, s);
        assert.deepEqual(s.parentSpanContext, parent.spanContext());
      }
      assert.equal(got[1][0].kind, SpanKind.CLIENT);
    });
    assert.equal(lean.startActiveSpan('no function'), undefined);
  } finally {
    context.disable();
  }
});

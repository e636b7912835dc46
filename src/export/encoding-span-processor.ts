// The batch span processor for OTLP/HTTP protobuf, the default export: the BatchSpanProcessor's
// behaviour (OTEL_BSP_* queue size, batch size, delay and timeout; drop and count when the queue
// is full; one export at a time; everything flushed at shutdown) with spans kept as encoded bytes
// instead of objects. A span is encoded when it ends (otlp-span-encoder.ts) and its objects become
// garbage at once, young; the queue is a few byte buffers.
import { context, diag, ROOT_CONTEXT, TraceFlags, type Attributes, type Context, type Meter, type ObservableResult } from '@opentelemetry/api';
import { globalErrorHandler, suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Resource } from '@opentelemetry/resources';
import { ProtoWriter, traceRequest, writeSpan, type ScopeRun } from './otlp-span-encoder';
import { itemsDropped } from './export-status';

/** What the exporter receives: a serialised ExportTraceServiceRequest and its span count. */
export interface EncodedSpans {
  readonly count: number;
  readonly bytes: Uint8Array;
}

export interface EncodedSpanExporter {
  export(batch: EncodedSpans, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

export interface SpanQueueOptions {
  exporter: EncodedSpanExporter;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  /** Where the SDK's processor metrics (otel.sdk.processor.span.*) are recorded. */
  meter?: Meter;
}

type Scope = ScopeRun['scope'];

/** A batch being filled: one writer per instrumentation scope, in order of first appearance. */
interface OpenBatch {
  resource?: Resource;
  runs: Map<Scope, ProtoWriter>;
  count: number;
}

interface SealedBatch {
  resource: Resource;
  runs: ScopeRun[];
  count: number;
}

const COMPONENT = 'batching_span_processor';
const MAX_SPARE_BYTES = 1024 * 1024;

export class EncodingSpanProcessor implements SpanProcessor {
  private readonly opts: SpanQueueOptions;
  private open: OpenBatch = { runs: new Map(), count: 0 };
  private readonly sealed: SealedBatch[] = [];
  /** Spans waiting: sealed batches and the open one (in-flight exports are not counted). */
  private queued = 0;
  private dropped = 0;
  private exporting = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly spare: ProtoWriter[] = [];
  private shutdownPromise: Promise<void> | undefined;
  private readonly processed?: { add(n: number, attrs: Attributes): void };
  private readonly attrs: Attributes = { 'otel.component.type': COMPONENT, 'otel.component.name': `${COMPONENT}/0` };
  private readonly queueFullAttrs: Attributes = { ...this.attrs, 'error.type': 'queue_full' };
  /**
   * Spans dropped on a full queue and not yet added to `processed`. A full queue means the
   * exporter is behind (a slow or unreachable collector), and then every span ends on the drop
   * path: there it costs a count, not a metric record (an attribute object and its hash in the
   * SDK: 25 -> 17 us a request measured on a plain http server). The count is added when metrics
   * are collected.
   */
  private unreportedDrops = 0;

  constructor(opts: SpanQueueOptions) {
    this.opts = opts;
    if (opts.meter) {
      // The SDK's BatchSpanProcessor self-observability, under the same names and attributes.
      this.processed = opts.meter.createCounter('otel.sdk.processor.span.processed', {
        unit: '{span}',
        description: 'The number of spans for which the processing has finished, either successful or failed.',
      });
      opts.meter
        .createUpDownCounter('otel.sdk.processor.span.queue.capacity', { unit: '{span}', description: 'The maximum number of spans the queue of a given instance of an SDK span processor can hold.' })
        .add(opts.maxQueueSize, this.attrs);
      opts.meter
        .createObservableUpDownCounter('otel.sdk.processor.span.queue.size', { unit: '{span}', description: 'The number of spans in the queue of a given instance of an SDK span processor.' })
        .addCallback((r: ObservableResult) => {
          // Observable callbacks run before the synchronous instruments are read, so the drops
          // added here are in this same collection.
          this.reportDrops();
          r.observe(this.queued, this.attrs);
        });
    }
  }

  onStart(_span: Span, _ctx: Context): void {}

  private reportDrops(): void {
    if (this.unreportedDrops === 0) return;
    this.processed?.add(this.unreportedDrops, this.queueFullAttrs);
    this.unreportedDrops = 0;
  }

  onEnd(span: ReadableSpan): void {
    if (this.shutdownPromise || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.queued >= this.opts.maxQueueSize) {
      if (this.dropped++ === 0) diag.debug('maxQueueSize reached, dropping spans');
      itemsDropped('traces', 1);
      this.unreportedDrops++;
      return;
    }
    if (this.dropped > 0) {
      diag.warn(`Dropped ${this.dropped} spans because maxQueueSize reached`);
      this.dropped = 0;
    }
    // One provider has one resource; a span from another (a second provider sharing this
    // processor) starts a batch of its own.
    if (this.open.resource !== undefined && this.open.resource !== span.resource) this.seal();
    const open = this.open;
    open.resource = span.resource;
    let w = open.runs.get(span.instrumentationScope);
    if (w === undefined) {
      w = this.spare.pop() ?? new ProtoWriter();
      open.runs.set(span.instrumentationScope, w);
    }
    const mark = w.pos;
    try {
      writeSpan(w, span);
    } catch (err) {
      // A span the encoder cannot read is dropped alone, never the batch or the application.
      w.pos = mark;
      globalErrorHandler(err as Error);
      return;
    }
    open.count++;
    this.queued++;
    if (open.count >= this.opts.maxExportBatchSize) this.seal();
    this.schedule();
  }

  forceFlush(): Promise<void> {
    return this.shutdownPromise ?? this.flushAll();
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.flushAll().then(() => this.opts.exporter.shutdown());
    return this.shutdownPromise;
  }

  /**
   * Every queued span as export requests, encoded now and taken off the queue: for a crash, where
   * the process ends before an export could run (lifecycle/crash-delivery.ts sends them). Exports
   * already under way are not included.
   */
  takeEncoded(): EncodedSpans[] {
    this.clearTimer();
    this.seal();
    const out: EncodedSpans[] = [];
    for (const batch of this.sealed.splice(0)) {
      this.queued -= batch.count;
      out.push({ count: batch.count, bytes: traceRequest(batch.resource, batch.runs) });
    }
    return out;
  }

  /** Closes the open batch: its runs are copied out and its writers kept for the next one. */
  private seal(): void {
    const open = this.open;
    if (open.count === 0 || open.resource === undefined) return;
    const runs: ScopeRun[] = [];
    for (const [scope, w] of open.runs) {
      runs.push({ scope, spans: w.take() });
      w.reset();
      // A writer one huge span grew is let go rather than kept for every batch after it.
      if (w.buf.length <= MAX_SPARE_BYTES) this.spare.push(w);
    }
    this.sealed.push({ resource: open.resource, runs, count: open.count });
    this.open = { runs: new Map(), count: 0 };
  }

  private schedule(): void {
    if (this.exporting) return;
    if (this.sealed.length > 0) {
      this.clearTimer();
      this.exporting = true;
      this.exportOne()
        .catch((err: Error) => globalErrorHandler(err))
        .finally(() => {
          this.exporting = false;
          if (this.sealed.length > 0 || this.open.count > 0) this.schedule();
        });
      return;
    }
    if (this.timer !== undefined || this.open.count === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.seal();
      this.schedule();
    }, this.opts.scheduledDelayMillis);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flushAll(): Promise<void> {
    this.clearTimer();
    this.seal();
    const all: Promise<void>[] = [...this.inFlight];
    while (this.sealed.length > 0) all.push(this.exportOne());
    return Promise.all(all).then(() => undefined);
  }

  /** Exports the oldest sealed batch; rejects on failure or after the export timeout. */
  private exportOne(): Promise<void> {
    const batch = this.sealed.shift();
    if (batch === undefined) return Promise.resolve();
    this.queued -= batch.count;
    const p = this.send(batch);
    this.inFlight.add(p);
    const forget = (): void => {
      this.inFlight.delete(p);
    };
    p.then(forget, forget);
    return p;
  }

  private async send(batch: SealedBatch): Promise<void> {
    const resource = batch.resource as Resource & { asyncAttributesPending?: boolean; waitForAsyncAttributes?: () => Promise<void> };
    if (resource.asyncAttributesPending && resource.waitForAsyncAttributes) await resource.waitForAsyncAttributes();
    const encoded: EncodedSpans = { count: batch.count, bytes: traceRequest(resource, batch.runs) };
    await new Promise<void>((resolve, reject) => {
      // Unreferenced: a hung export must not keep an exiting process alive by itself.
      const timer = setTimeout(() => reject(new Error('Timeout')), this.opts.exportTimeoutMillis).unref();
      // The exporter's own HTTP request must not be traced.
      context.with(suppressTracing(ROOT_CONTEXT), () => {
        this.opts.exporter.export(encoded, (result) => {
          clearTimeout(timer);
          if (result.code === 0) {
            this.processed?.add(batch.count, this.attrs);
            resolve();
          } else {
            const error = result.error ?? new Error('span export failed');
            this.processed?.add(batch.count, { ...this.attrs, 'error.type': error.name });
            reject(error);
          }
        });
      });
    });
  }
}

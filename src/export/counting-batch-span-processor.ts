// The SDK's BatchSpanProcessor for every span export but the default one (console, OTLP/HTTP
// JSON, gRPC), counting the sampled spans its full queue refuses into the dropped items /metrics
// serves (export-status.ts): the SDK's processor drops them without a count otelkit can read.
import { BatchSpanProcessor, type BatchSpanProcessorOptions } from '@opentelemetry/sdk-trace';
import { itemsDropped } from './export-status';

/** BatchSpanProcessor that counts the spans its full queue refuses. */
export class CountingBatchSpanProcessor extends BatchSpanProcessor {
  private readonly max: number;
  constructor(options: BatchSpanProcessorOptions) {
    super(options);
    this.max = options.maxQueueSize ?? 2048;
  }
  override onEnd(span: Parameters<BatchSpanProcessor['onEnd']>[0]): void {
    // _finishedSpans is the processor's queue; not public, so read defensively.
    const queue = (this as unknown as { _finishedSpans?: unknown[] })._finishedSpans;
    if (queue && queue.length >= this.max && span.spanContext().traceFlags & 1) itemsDropped('traces', 1);
    super.onEnd(span);
  }
}

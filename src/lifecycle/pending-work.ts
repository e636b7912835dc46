// Whether anything was recorded since the last flush: a span processor counts the sampled spans
// that end, so beforeExit flushes only when there is something new (shutdown.ts), instead of
// flushing again each time the flush itself empties the event loop.
import type { SpanProcessor } from '@opentelemetry/sdk-trace';

let pending = 0;

/** Counts what was recorded, so beforeExit flushes only when there is something new. */
export class PendingCounter implements SpanProcessor {
  onStart(): void {}
  onEnd(span: { spanContext(): { traceFlags: number } }): void {
    if (span.spanContext().traceFlags & 1) pending++;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

export function hasPendingWork(): boolean {
  return pending > 0;
}

/** Called as a flush or the shutdown begins: what was counted so far is on its way out. */
export function clearPendingWork(): void {
  pending = 0;
}

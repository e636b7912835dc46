// Redacts span data before any exporting processor sees it.
//
// Hook choice (read from the installed SDK, @opentelemetry/sdk-trace 2.12.0 behind
// sdk-trace-base's shim): Span.end() calls processor.onEnding(span) while the span is still
// writable, then marks it ended and calls onEnd(span) on every processor in registration order
// (MultiSpanProcessor). We redact in onEnding, so even processors registered before this one
// receive clean data in onEnd. onEnding is marked experimental; if an SDK does not call it, onEnd
// does the same work, which is still in time for every processor registered after this one
// (register it first). Either way the span's own attribute/event/link objects are edited in
// place: the span is ours to finish, and copying it would mean re-implementing ReadableSpan.
// Span names are scanned as text too: instrumentations keep them to route templates, but
// application code names spans after whatever it has at hand (an address, a card, a query).
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Redactor } from './redactor';

type MutableAttributes = Record<string, unknown>;

export class RedactingSpanProcessor implements SpanProcessor {
  // Set once the SDK is seen calling onEnding: from then on every span was redacted there (the
  // SDK calls it for every span it ends), and onEnd has nothing to do.
  private sdkCallsOnEnding = false;

  constructor(private readonly redactor: Redactor) {}

  onStart(_span: Span, _parentContext: Context): void {}

  onEnding(span: Span): void {
    this.sdkCallsOnEnding = true;
    if (this.redactor.enabled) this.redactSpan(span);
  }

  onEnd(span: ReadableSpan): void {
    if (this.sdkCallsOnEnding || !this.redactor.enabled) return;
    this.redactSpan(span);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  private redactSpan(span: ReadableSpan): void {
    try {
      const name: unknown = span.name;
      if (typeof name === 'string') {
        const cleanName = this.redactor.redactString(name);
        // Assigned rather than updateName(): that warns once the span has ended (the onEnd
        // path), and the SDK's Span and OwnSpan both hold the name as a plain field.
        if (cleanName !== name) (span as { name: string }).name = cleanName;
      }
      this.redactInPlace(span.attributes);
      for (const event of span.events) {
        if (event.attributes !== undefined) this.redactInPlace(event.attributes);
      }
      for (const link of span.links) {
        if (link.attributes !== undefined) this.redactInPlace(link.attributes);
      }
      // Instrumentations copy error messages into the status; they carry the same secrets.
      const message = span.status.message;
      if (message !== undefined) {
        const clean = this.redactor.redactString(message);
        // SpanStatus is a plain object owned by the span; its fields are not readonly.
        if (clean !== message) span.status.message = clean;
      }
    } catch {
      // Redaction must never break span export or the caller's span.end().
    }
  }

  private redactInPlace(attrs: MutableAttributes): void {
    const clean = this.redactor.redactAttributes(attrs);
    if (clean === attrs) return;
    for (const key in clean) {
      if (!Object.is(clean[key], attrs[key])) attrs[key] = clean[key];
    }
  }
}

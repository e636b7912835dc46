// Spans otelkit starts itself, without the SDK's tracer: the server span of a sampled request
// without a parent (root-span.ts), and the children of sampled spans that the database
// instrumentations start (database-tracer.ts). For the processors and exporters each is what the
// SDK's span would be, field for field (a ReadableSpan under the configured span limits). What is
// left out is the SDK's path to it: the tracer's context lookups and id generation, the sampler
// chain, the span-metrics hooks, the processor fan-out at start, the attribute checks of values
// otelkit builds itself. On the orders read path sampled at 10%, a sampled request cost several
// times what it costs when every request is sampled (README, issue 7): the less code a rare
// request runs, the less of it is cold.
import { diag, ROOT_CONTEXT, SpanStatusCode, TraceFlags, type Attributes, type AttributeValue, type Context, type Exception, type HrTime, type Link, type Span, type SpanContext, type SpanKind, type SpanStatus, type TimeInput, type Tracer } from '@opentelemetry/api';
import { addHrTimes, hrTimeDuration, isAttributeValue, isTimeInput, isTimeInputHrTime, millisToHrTime, sanitizeAttributes } from '@opentelemetry/core';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';
import type { Resource } from '@opentelemetry/resources';
import type { Config } from '../config/types';

type InstrumentationScope = ReadableSpan['instrumentationScope'];
type Limits = Required<Config['traces']['limits']>;

/** The span limits the SDK applies: the configured ones, else its defaults. */
export function spanLimits(configured: Config['traces']['limits']): Limits {
  return {
    attributeCountLimit: configured.attributeCountLimit ?? 128,
    attributeValueLengthLimit: configured.attributeValueLengthLimit ?? Infinity,
    eventCountLimit: configured.eventCountLimit ?? 128,
    linkCountLimit: configured.linkCountLimit ?? 128,
    attributePerEventCountLimit: configured.attributePerEventCountLimit ?? 128,
    attributePerLinkCountLimit: configured.attributePerLinkCountLimit ?? 128,
  };
}

/** What a span needs from the provider it stands in for. */
export interface SpanTarget {
  readonly resource: Resource;
  /** The scope of the tracer the SDK would have used: spans of one scope are exported together. */
  readonly scope: InstrumentationScope;
  readonly limits: Limits;
  /** The provider's processors, in their order. */
  readonly processors: readonly SpanProcessor[];
}

/**
 * The scope object of one of the provider's tracers: the span queue batches spans by it, so a
 * span started without the tracer must carry the same object. The SDK's Tracer has it as a
 * public field the API's interface does not declare. Without it, spans stay the SDK tracer's.
 */
export function tracerScope(tracer: Tracer): SpanTarget['scope'] | undefined {
  return (tracer as { instrumentationScope?: SpanTarget['scope'] }).instrumentationScope;
}

function truncate(value: AttributeValue, limit: number): AttributeValue {
  if (typeof value === 'string') return value.length <= limit ? value : value.substring(0, limit);
  if (Array.isArray(value)) return value.map((v: unknown) => (typeof v === 'string' && v.length > limit ? v.substring(0, limit) : v)) as AttributeValue;
  return value;
}

/** An attribute map under a count limit and a value length limit; how many were dropped. */
function limited(attributes: Attributes | undefined, count: number, length: number): [Attributes, number] {
  const sanitized = sanitizeAttributes(attributes);
  const out: Attributes = {};
  let kept = 0;
  let dropped = 0;
  for (const key in sanitized) {
    if (!Object.prototype.hasOwnProperty.call(sanitized, key)) continue;
    if (kept >= count) {
      dropped++;
      continue;
    }
    out[key] = truncate(sanitized[key] as AttributeValue, length);
    kept++;
  }
  return [out, dropped];
}

export class OwnSpan implements Span, ReadableSpan {
  name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  readonly attributes: Attributes = {};
  readonly links: Link[] = [];
  readonly events: TimedEvent[] = [];
  readonly startTime: HrTime;
  endTime: HrTime = [0, 0];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  droppedAttributesCount = 0;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  duration: HrTime = [-1, -1];
  ended = false;
  private attributeCount = 0;
  private readonly context: SpanContext;
  /** The wall clock at start, in ms, and performance.now() then: later times are offsets from it. */
  private readonly startWall: number;

  constructor(
    private readonly target: SpanTarget,
    traceId: string,
    spanId: string,
    name: string,
    kind: SpanKind,
    private readonly startPerf: number,
    parent?: SpanContext,
    parentContext: Context = ROOT_CONTEXT,
  ) {
    this.context = { traceId, spanId, traceFlags: TraceFlags.SAMPLED, traceState: parent?.traceState };
    this.parentSpanContext = parent;
    this.name = name;
    this.kind = kind;
    // As the SDK: the wall clock at start (not timeOrigin + now, which drifts from it in a
    // long-running process), and monotonic offsets from there.
    this.startWall = Date.now();
    this.startTime = millisToHrTime(this.startWall);
    this.resource = target.resource;
    this.instrumentationScope = target.scope;
    for (const p of target.processors) p.onStart(this, parentContext);
  }

  spanContext(): SpanContext {
    return this.context;
  }

  isRecording(): boolean {
    return !this.ended;
  }

  /**
   * Attributes otelkit computed itself (strings and numbers, keys it named): kept as given, under
   * the limits. Not for the application's attributes, which go through setAttribute's checks.
   */
  setOwnAttributes(attributes: Attributes): void {
    for (const key in attributes) {
      const value = attributes[key];
      if (value !== undefined) this.put(key, value);
    }
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (value == null || this.endedWarn()) return this;
    if (key.length === 0) {
      diag.warn(`Invalid attribute key: ${key}`);
      return this;
    }
    if (!isAttributeValue(value)) {
      diag.warn(`Invalid attribute value set for key: ${key}`);
      return this;
    }
    this.put(key, value);
    return this;
  }

  /** Stores a checked attribute under the count and value length limits. */
  private put(key: string, value: AttributeValue): void {
    const limits = this.target.limits;
    const isNew = !Object.prototype.hasOwnProperty.call(this.attributes, key);
    if (isNew && this.attributeCount >= limits.attributeCountLimit) {
      this.droppedAttributesCount++;
      return;
    }
    this.attributes[key] = truncate(value, limits.attributeValueLengthLimit);
    if (isNew) this.attributeCount++;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) {
      if (Object.prototype.hasOwnProperty.call(attributes, key)) this.setAttribute(key, attributes[key] as AttributeValue);
    }
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.endedWarn()) return this;
    const limits = this.target.limits;
    if (limits.eventCountLimit === 0) {
      diag.warn('No events allowed.');
      this.droppedEventsCount++;
      return this;
    }
    if (this.events.length >= limits.eventCountLimit) {
      if (this.droppedEventsCount === 0) diag.debug('Dropping extra events.');
      this.events.shift();
      this.droppedEventsCount++;
    }
    let attributes: Attributes | undefined;
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) time = attributesOrTime;
    } else {
      attributes = attributesOrTime;
    }
    const [kept, dropped] = limited(attributes, limits.attributePerEventCountLimit, limits.attributeValueLengthLimit);
    this.events.push({ name, attributes: kept, time: this.timeOf(time), droppedAttributesCount: dropped });
    return this;
  }

  addLink(link: Link): this {
    if (this.endedWarn()) return this;
    const limits = this.target.limits;
    if (limits.linkCountLimit === 0) {
      this.droppedLinksCount++;
      return this;
    }
    if (this.links.length >= limits.linkCountLimit) {
      if (this.droppedLinksCount === 0) diag.debug('Dropping extra links.');
      this.links.shift();
      this.droppedLinksCount++;
    }
    const [kept, dropped] = limited(link.attributes, limits.attributePerLinkCountLimit, limits.attributeValueLengthLimit);
    const out: Link = { context: link.context };
    if (Object.keys(kept).length > 0) out.attributes = kept;
    if (dropped > 0) out.droppedAttributesCount = dropped;
    this.links.push(out);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.endedWarn() || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    const next: SpanStatus = { code: status.code };
    if (status.code === SpanStatusCode.ERROR) {
      if (typeof status.message === 'string') next.message = status.message;
      else if (status.message != null) diag.warn(`Dropping invalid status.message of type '${typeof status.message}', expected 'string'`);
    }
    this.status = next;
    return this;
  }

  updateName(name: string): this {
    if (!this.endedWarn()) this.name = name;
    return this;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') {
      attributes['exception.message'] = exception;
    } else if (exception) {
      if (exception.code) attributes['exception.type'] = exception.code.toString();
      else if (exception.name) attributes['exception.type'] = exception.name;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] || attributes['exception.message']) this.addEvent('exception', attributes, time);
    else diag.warn(`Failed to record an exception ${String(exception)}`);
  }

  end(endTime?: TimeInput): void {
    if (this.ended) {
      diag.error(`${this.name} ${this.context.traceId}-${this.context.spanId} - You can only call end() on a span once.`);
      return;
    }
    this.endTime = this.timeOf(endTime);
    this.duration = hrTimeDuration(this.startTime, this.endTime);
    if (this.duration[0] < 0) {
      diag.warn('Inconsistent start and end time, startTime > endTime. Setting span duration to 0ms.', this.startTime, this.endTime);
      this.endTime = this.startTime.slice() as HrTime;
      this.duration = [0, 0];
    }
    if (this.droppedEventsCount > 0) diag.warn(`Dropped ${this.droppedEventsCount} events because eventCountLimit reached`);
    if (this.droppedLinksCount > 0) diag.warn(`Dropped ${this.droppedLinksCount} links because linkCountLimit reached`);
    const processors = this.target.processors;
    // Still writable in onEnding (redaction edits the span there), then ended for onEnd.
    for (const p of processors) p.onEnding?.(this);
    this.ended = true;
    for (const p of processors) p.onEnd(this);
  }

  /** The SDK's reading of a time input: performance.now() values, epoch ms, Dates or HrTimes. */
  private timeOf(input: TimeInput | undefined): HrTime {
    if (typeof input === 'number') {
      // A number not after performance.now() is a performance timestamp, else epoch milliseconds.
      return input <= performance.now() ? millisToHrTime(this.startWall + (input - this.startPerf)) : millisToHrTime(input);
    }
    if (input instanceof Date) return millisToHrTime(input.getTime());
    if (input !== undefined && isTimeInputHrTime(input)) return input;
    return addHrTimes(this.startTime, millisToHrTime(performance.now() - this.startPerf));
  }

  private endedWarn(): boolean {
    if (this.ended) diag.warn(`Cannot execute the operation on ended Span {traceId: ${this.context.traceId}, spanId: ${this.context.spanId}}`);
    return this.ended;
  }
}

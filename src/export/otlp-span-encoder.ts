// OTLP/protobuf encoding of spans, one span at a time, into reusable buffers. The upstream
// serialiser works on a whole batch at export time: it keeps every span alive until then (at
// 10% sampling, long enough to be promoted to the old generation), walks the batch twice (a size
// estimate, then the writing) and allocates a byte array per id. Here a span is written the
// moment it ends, ids go straight from hex to bytes, and the request is assembled from the
// per-scope byte runs when the batch is sent. The bytes are the upstream serialiser's, field for
// field (a test compares them).
import type { Attributes, AttributeValue, HrTime, Link, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import type { Resource } from '@opentelemetry/resources';
import type { InstrumentationScope } from '@opentelemetry/core';

const LEN = 2;
const VARINT = 0;
const I64 = 1;
const I32 = 5;

// Span flags: the low byte is the W3C trace flags; bit 8 says whether bit 9 (remote) is known.
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;
const TWO_32 = 2 ** 32;

/** A growable byte buffer with the few protobuf primitives spans need. */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = 4096) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  reset(): void {
    this.pos = 0;
  }

  /** The written bytes, copied out so that the writer can be reused. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  varint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    // Tags, counts and enums: nearly every varint of a span fits one byte.
    if (v >= 0 && v < 128) {
      b[this.pos++] = v;
      return;
    }
    if (v >= 0 && v < TWO_32) {
      while (v > 127) {
        b[this.pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      b[this.pos++] = v;
      return;
    }
    // 64-bit two's complement, as protobuf encodes int64 (negative numbers take ten bytes).
    const abs = Math.abs(v);
    let lo = abs >>> 0;
    let hi = Math.floor(abs / TWO_32) >>> 0;
    if (v < 0) {
      lo = ~lo >>> 0;
      hi = ~hi >>> 0;
      lo = (lo + 1) >>> 0;
      if (lo === 0) hi = (hi + 1) >>> 0;
    }
    while (hi > 0 || lo > 127) {
      b[this.pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[this.pos++] = lo;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.u32(v >>> 0);
  }

  /** Nanoseconds since the epoch of an [seconds, nanoseconds] time, exactly, as fixed64. */
  time(t: HrTime): void {
    // s * 1e9 + ns overflows 2^53; split s at 16 bits so that every partial product is exact.
    const s = t[0];
    const a = Math.floor(s / 65536) * 1e9; // the upper part, in units of 2^16 ns
    const low = (s % 65536) * 1e9 + t[1];
    const aLow = a % 65536;
    const sum = aLow * 65536 + low;
    const lo = sum % TWO_32;
    const hi = Math.floor(a / 65536) + Math.floor(sum / TWO_32);
    this.ensure(8);
    this.u32(lo >>> 0);
    this.u32(hi >>> 0);
  }

  /** Four little-endian bytes; Buffer's writeUInt32LE checks its arguments on every call. */
  private u32(v: number): void {
    const b = this.buf;
    let p = this.pos;
    b[p++] = v & 255;
    b[p++] = (v >>> 8) & 255;
    b[p++] = (v >>> 16) & 255;
    b[p++] = v >>> 24;
    this.pos = p;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  string(s: string): void {
    const n = s.length;
    // Short ASCII strings (almost every key and value) are copied in JS; a native call costs more.
    if (n < 64) {
      this.ensure(n + 1);
      const b = this.buf;
      const start = this.pos;
      b[start] = n;
      let p = start + 1;
      let seen = 0;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        seen |= c;
        b[p++] = c;
      }
      if (seen > 127) {
        // Not ASCII after all: written again as UTF-8 over the same place.
        this.utf8(s);
        return;
      }
      this.pos = p;
      return;
    }
    this.utf8(s);
  }

  private utf8(s: string): void {
    const bytes = Buffer.byteLength(s, 'utf8');
    this.varint(bytes);
    this.ensure(bytes);
    this.buf.write(s, this.pos, bytes, 'utf8');
    this.pos += bytes;
  }

  bytes(v: Uint8Array): void {
    this.varint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** A hex id as bytes (16 for a trace id, 8 for a span id), without an intermediate array. */
  hex(id: string): void {
    const n = id.length >> 1;
    this.ensure(n + 1);
    const b = this.buf;
    let p = this.pos;
    b[p++] = n;
    for (let i = 0; i < 2 * n; i += 2) b[p++] = (NIBBLE[id.charCodeAt(i) & 127] << 4) | NIBBLE[id.charCodeAt(i + 1) & 127];
    this.pos = p;
  }

  /** Reserves one byte for the length of the message that follows; returns where. */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Writes the length of the message started at `at`, moving it when the length needs more bytes. */
  end(at: number): void {
    const len = this.pos - at - 1;
    if (len < 128) {
      this.buf[at] = len;
      return;
    }
    const size = len < 1 << 14 ? 2 : len < 1 << 21 ? 3 : len < 1 << 28 ? 4 : 5;
    this.ensure(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    let v = len;
    let p = at;
    while (v > 127) {
      this.buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[p] = v;
  }
}

// Hex digit values by character code: 0-9, a-f, A-F; anything else (never in a valid id) is 0.
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) NIBBLE[97 + i] = NIBBLE[65 + i] = 10 + i;

function anyValue(w: ProtoWriter, v: unknown): void {
  switch (typeof v) {
    case 'string':
      w.tag(1, LEN);
      w.string(v);
      return;
    case 'boolean':
      w.tag(2, VARINT);
      w.varint(v ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(v) && v >= MIN_INT64 && v < MAX_INT64) {
        w.tag(3, VARINT);
        w.varint(v);
      } else {
        w.tag(4, I64);
        w.double(v);
      }
      return;
    case 'object':
      if (v === null) return;
      if (v instanceof Uint8Array) {
        w.tag(7, LEN);
        w.bytes(v);
      } else if (Array.isArray(v)) {
        w.tag(5, LEN);
        const list = w.begin();
        for (const item of v) {
          w.tag(1, LEN);
          const at = w.begin();
          anyValue(w, item);
          w.end(at);
        }
        w.end(list);
      } else {
        w.tag(6, LEN);
        const list = w.begin();
        keyValues(w, v as Record<string, unknown>, 1);
        w.end(list);
      }
      return;
    default:
      // undefined, functions, symbols: an empty AnyValue, as upstream writes.
      return;
  }
}

function keyValues(w: ProtoWriter, attrs: Attributes | Record<string, unknown>, field: number): void {
  for (const key in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
    w.tag(field, LEN);
    const kv = w.begin();
    w.tag(1, LEN);
    w.string(key);
    w.tag(2, LEN);
    const value = w.begin();
    anyValue(w, (attrs as Record<string, AttributeValue | unknown>)[key]);
    w.end(value);
    w.end(kv);
  }
}

function flags(ctx: SpanContext, remote: boolean | undefined): number {
  return (ctx.traceFlags & 0xff) | HAS_IS_REMOTE | (remote ? IS_REMOTE : 0);
}

function event(w: ProtoWriter, e: TimedEvent): void {
  w.tag(11, LEN);
  const at = w.begin();
  w.tag(1, I64);
  w.time(e.time);
  w.tag(2, LEN);
  w.string(e.name);
  if (e.attributes) keyValues(w, e.attributes, 3);
  w.tag(4, VARINT);
  w.varint(e.droppedAttributesCount || 0);
  w.end(at);
}

/** trace_id, span_id and trace_state: fields 1 to 3 of both Span and Span.Link. */
function identity(w: ProtoWriter, ctx: SpanContext): void {
  w.tag(1, LEN);
  w.hex(ctx.traceId);
  w.tag(2, LEN);
  w.hex(ctx.spanId);
  const state = ctx.traceState?.serialize();
  if (state) {
    w.tag(3, LEN);
    w.string(state);
  }
}

function link(w: ProtoWriter, l: Link & { droppedAttributesCount?: number }): void {
  w.tag(13, LEN);
  const at = w.begin();
  const ctx = l.context;
  identity(w, ctx);
  if (l.attributes) keyValues(w, l.attributes, 4);
  w.tag(5, VARINT);
  w.varint(l.droppedAttributesCount || 0);
  w.tag(6, I32);
  w.fixed32(flags(ctx, ctx.isRemote));
  w.end(at);
}

/** Appends one span to w as a ScopeSpans.spans entry (field 2). */
export function writeSpan(w: ProtoWriter, span: ReadableSpan): void {
  w.tag(2, LEN);
  const at = w.begin();
  const ctx = span.spanContext();
  identity(w, ctx);
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, LEN);
    w.hex(parent.spanId);
  }
  w.tag(5, LEN);
  w.string(span.name);
  if (span.kind != null) {
    w.tag(6, VARINT);
    w.varint(span.kind + 1);
  }
  w.tag(7, I64);
  w.time(span.startTime);
  w.tag(8, I64);
  w.time(span.endTime);
  if (span.attributes) keyValues(w, span.attributes, 9);
  w.tag(10, VARINT);
  w.varint(span.droppedAttributesCount);
  for (const e of span.events) event(w, e);
  w.tag(12, VARINT);
  w.varint(span.droppedEventsCount);
  for (const l of span.links) link(w, l);
  w.tag(14, VARINT);
  w.varint(span.droppedLinksCount);
  w.tag(15, LEN);
  const status = w.begin();
  if (span.status.message) {
    w.tag(2, LEN);
    w.string(span.status.message);
  }
  w.tag(3, VARINT);
  w.varint(span.status.code);
  w.end(status);
  w.tag(16, I32);
  w.fixed32(flags(ctx, parent?.isRemote));
  w.end(at);
}

/** The spans of one instrumentation scope, already encoded by writeSpan. */
export interface ScopeRun {
  scope: InstrumentationScope & { attributes?: Attributes; droppedAttributesCount?: number };
  spans: Uint8Array;
}

/** An ExportTraceServiceRequest holding one resource's scope runs. */
export function traceRequest(resource: Resource, runs: readonly ScopeRun[]): Uint8Array {
  // The resource and scope headers are small; the spans are most of the request.
  let size = 1024;
  for (const r of runs) size += r.spans.length + 64;
  const w = new ProtoWriter(size);
  w.tag(1, LEN);
  const resourceSpans = w.begin();
  w.tag(1, LEN);
  const res = w.begin();
  if (resource.attributes) keyValues(w, resource.attributes, 1);
  w.tag(2, VARINT);
  w.varint(0);
  w.end(res);
  for (const { scope, spans } of runs) {
    w.tag(2, LEN);
    const scopeSpans = w.begin();
    w.tag(1, LEN);
    const s = w.begin();
    w.tag(1, LEN);
    w.string(scope.name);
    if (scope.version) {
      w.tag(2, LEN);
      w.string(scope.version);
    }
    if (scope.attributes) keyValues(w, scope.attributes, 3);
    if (scope.droppedAttributesCount) {
      w.tag(4, VARINT);
      w.varint(scope.droppedAttributesCount);
    }
    w.end(s);
    w.ensure(spans.length);
    w.buf.set(spans, w.pos);
    w.pos += spans.length;
    if (scope.schemaUrl) {
      w.tag(3, LEN);
      w.string(scope.schemaUrl);
    }
    w.end(scopeSpans);
  }
  if (resource.schemaUrl) {
    w.tag(3, LEN);
    w.string(resource.schemaUrl);
  }
  w.end(resourceSpans);
  return w.buf.subarray(0, w.pos);
}

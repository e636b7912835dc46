// Estimated heap bytes of what the dev viewer keeps, for the byte budgets of the store and of one
// decoded request. The estimate leans high (a budget is a ceiling): a string counts its UTF-8
// length, which is at least what V8 stores for it (one byte a Latin-1 character, two a UTF-16
// unit), plus a quarter and a header; an object property counts a dictionary entry as well as its
// key and value. Measured on Node 20 and 24 (2026-12-06), after a GC: spans of 20 attributes of
// 4000 characters took 102 KB of heap each (estimated 103 KB), spans of 13 short HTTP attributes
// 1.6 KB (estimated 2.0 KB); test/dev-viewer-hostile.test.mjs checks the heap of the real command.
import type { AttrValue, Attrs, LogRecord, MetricPoint, SpanRecord } from './otlp-decode';

/** A string's header: map, hash and length, rounded up. */
const STRING_HEADER = 16;
/** A slot holding a number, boolean or null (a heap number for most doubles). */
const SCALAR = 16;
/** An object's or array's own header. */
const OBJECT_HEADER = 32;
/** One property of a dictionary-mode object (attribute maps have no prototype, so they are
 * dictionaries from the start): key, value and details slots, and the table's free half. */
const PROPERTY = 48;
/** One array element's slot. */
const ELEMENT = 8;
/** A span record's fixed part: its fields, the status and events objects. */
export const SPAN_OVERHEAD = 320;
/** An event's fixed part. */
export const EVENT_OVERHEAD = 96;
/** A log record's fixed part. */
export const LOG_OVERHEAD = 240;
/** A stored metric point's fixed part. */
export const POINT_OVERHEAD = 200;

export function stringBytes(s: string): number {
  // x1.25: long strings measured at ~1.2 bytes a character of heap (4000 one-byte characters
  // took 4.8-5.2 KB on Node 20 and 24), the allocator's pages not being filled to the brim.
  return STRING_HEADER + Math.ceil(Buffer.byteLength(s, 'utf8') * 1.25);
}

export function valueBytes(v: AttrValue): number {
  if (typeof v === 'string') return stringBytes(v);
  if (v === null || typeof v !== 'object') return SCALAR;
  if (Array.isArray(v)) {
    let n = OBJECT_HEADER;
    for (const e of v) n += ELEMENT + valueBytes(e);
    return n;
  }
  return attrsBytes(v);
}

export function attrsBytes(a: Attrs): number {
  let n = OBJECT_HEADER;
  for (const k in a) n += PROPERTY + stringBytes(k) + valueBytes(a[k]);
  return n;
}

/** A span without its resource, which the store keeps once for all the spans that share it. */
export function spanBytes(s: SpanRecord): number {
  let n = SPAN_OVERHEAD + stringBytes(s.traceId) + stringBytes(s.spanId) + stringBytes(s.parentSpanId) + stringBytes(s.name) +
    stringBytes(s.status.message) + stringBytes(s.service) + stringBytes(s.scope) + attrsBytes(s.attributes);
  for (const e of s.events) n += EVENT_OVERHEAD + stringBytes(e.name) + attrsBytes(e.attributes);
  return n;
}

export function logBytes(l: LogRecord): number {
  return LOG_OVERHEAD + stringBytes(l.severityText) + valueBytes(l.body) + attrsBytes(l.attributes) + stringBytes(l.traceId) +
    stringBytes(l.spanId) + stringBytes(l.service) + stringBytes(l.scope);
}

/** A point as the store keeps it: what varies; name, unit, service and attributes are the series'. */
export function pointBytes(p: MetricPoint): number {
  return POINT_OVERHEAD + ((p.bounds?.length ?? 0) + (p.buckets?.length ?? 0)) * ELEMENT;
}

/** What a series keeps besides its points: its key and identity fields. */
export function seriesBytes(key: string, p: MetricPoint): number {
  return OBJECT_HEADER * 2 + stringBytes(key) + stringBytes(p.name) + stringBytes(p.unit) + stringBytes(p.service) + attrsBytes(p.attributes);
}

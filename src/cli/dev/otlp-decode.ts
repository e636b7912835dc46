// Decodes OTLP export requests (protobuf or OTLP/JSON) into flat records for the dev viewer's
// store. Both encodings give the same shapes. Anything malformed throws DecodeError with a
// reason; nothing is stored from a request that does not decode completely.
//
// Memory: every string kept is at most MAX_STRING (values) or MAX_KEY (keys) long and, when cut,
// a copy: a V8 substring shares its parent's memory, so a 4 KiB piece of a 4 MiB attribute
// would keep all 4 MiB alive for as long as the store holds the span. Attribute maps have no
// prototype, so a key such as `__proto__` is a key like any other. One request may decode to at
// most MAX_DECODED estimated bytes (record-size.ts); more is a TooLargeError (HTTP 413).
import {
  DecodeError, bytesOf, doubleOf, eachField, fixed32Of, fixed64Of, int64Of, repeated64, sfixed64Of, uintOf,
  type Field,
} from './protobuf';
import { EVENT_OVERHEAD, LOG_OVERHEAD, POINT_OVERHEAD, SPAN_OVERHEAD } from './record-size';

export { DecodeError } from './protobuf';

/** The request decodes to more than MAX_DECODED estimated bytes. */
export class TooLargeError extends DecodeError {}

export type Signal = 'traces' | 'metrics' | 'logs';
export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attrs = Record<string, AttrValue>;

export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Attrs;
  events: Array<{ name: string; timeMs: number; attributes: Attrs }>;
  /** code: 0 unset, 1 ok, 2 error */
  status: { code: number; message: string };
  service: string;
  resource: Attrs;
  scope: string;
}

export interface LogRecord {
  timeMs: number;
  severityNumber: number;
  severityText: string;
  body: AttrValue;
  attributes: Attrs;
  traceId: string;
  spanId: string;
  service: string;
  scope: string;
}

export type MetricType = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';

export interface MetricPoint {
  name: string;
  unit: string;
  type: MetricType;
  /** 1 delta, 2 cumulative, 0 unspecified (gauges, summaries) */
  temporality: number;
  monotonic: boolean;
  service: string;
  attributes: Attrs;
  startMs: number;
  timeMs: number;
  /** gauge and sum */
  value?: number;
  /** histograms and summaries */
  count?: number;
  sum?: number;
  bounds?: number[];
  buckets?: number[];
}

export interface Decoded {
  spans: SpanRecord[];
  logs: LogRecord[];
  metrics: MetricPoint[];
}

/** Strings longer than this (UTF-16 units) are cut: one huge attribute must not defeat the store's bounds. */
export const MAX_STRING = 4096;
/** Attribute keys longer than this are cut. */
export const MAX_KEY = 256;
/** The estimated bytes one request may decode to (the inflated body is at most 64 MiB). */
export const MAX_DECODED = 64 * 1024 * 1024;
const MAX_DEPTH = 32;

/** Estimated bytes decoded so far in the current request: decoding is synchronous, one request at a time. */
let decoded = 0;
function charge(bytes: number): void {
  decoded += bytes;
  if (decoded > MAX_DECODED) throw new TooLargeError(`the request decodes to more than ${MAX_DECODED} bytes; send smaller batches`);
}

/** A new string with the same characters that shares no memory with `s` (see the top of this file). */
const detached = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/**
 * `s` if it has at most `max` UTF-16 units, else its first `max` (not splitting a surrogate pair)
 * and a marker of how many UTF-8 bytes were left out, as a detached copy. `totalBytes`: the UTF-8
 * length of the whole value when `s` is only its decoded beginning (protobuf).
 */
function cutTo(s: string, max: number, totalBytes?: number): string {
  if (s.length <= max) {
    charge(16 + s.length);
    return s;
  }
  let end = max;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  const kept = s.slice(0, end);
  const left = (totalBytes ?? Buffer.byteLength(s, 'utf8')) - Buffer.byteLength(kept, 'utf8');
  charge(16 + max * 3);
  return detached(`${kept}…[${left} more bytes]`);
}
const cut = (s: string): string => cutTo(s, MAX_STRING);

/** A protobuf string field, cut to `max`: only a bounded beginning of a long field is decoded. */
function pbString(f: Field, what: string, max = MAX_STRING): string {
  const b = bytesOf(f, what);
  // A UTF-16 unit takes at most 3 UTF-8 bytes (a pair, 4); a bad byte becomes one unit.
  const enough = max * 3 + 4;
  return b.length <= enough ? cutTo(b.toString('utf8'), max) : cutTo(b.subarray(0, enough).toString('utf8'), max, b.length);
}

/** Attribute maps have no prototype: `__proto__`, `constructor` are plain keys. */
const newAttrs = (): Attrs => Object.create(null) as Attrs;
const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

interface Resource { service: string; attrs: Attrs }
const resourceOf = (attrs: Attrs): Resource => ({ service: typeof attrs['service.name'] === 'string' ? attrs['service.name'] : 'unknown_service', attrs });

// ===================================================================================== protobuf

function pbAnyValue(b: Buffer, depth: number): AttrValue {
  if (depth > MAX_DEPTH) throw new DecodeError('AnyValue nested too deeply');
  let out: AttrValue = null;
  charge(16);
  eachField(b, 'AnyValue', (f) => {
    switch (f.no) {
      case 1: out = pbString(f, 'AnyValue.string_value'); break;
      case 2: out = uintOf(f, 'AnyValue.bool_value') !== 0; break;
      case 3: out = int64Of(f, 'AnyValue.int_value'); break;
      case 4: out = doubleOf(f, 'AnyValue.double_value'); break;
      case 5: {
        const arr: AttrValue[] = [];
        eachField(bytesOf(f, 'AnyValue.array_value'), 'ArrayValue', (g) => {
          if (g.no === 1) arr.push(pbAnyValue(bytesOf(g, 'ArrayValue.values'), depth + 1));
        });
        out = arr;
        break;
      }
      case 6: {
        const kv = newAttrs();
        eachField(bytesOf(f, 'AnyValue.kvlist_value'), 'KeyValueList', (g) => {
          if (g.no === 1) pbKeyValue(bytesOf(g, 'KeyValueList.values'), kv, depth + 1);
        });
        out = kv;
        break;
      }
      case 7: {
        // Only the bytes that show are encoded (3 bytes a 4 base64 characters).
        const raw = bytesOf(f, 'AnyValue.bytes_value');
        const shown = (MAX_STRING / 4) * 3;
        out = `base64:${raw.subarray(0, shown).toString('base64')}${raw.length > shown ? `…[${raw.length - shown} more bytes]` : ''}`;
        charge(16 + out.length);
        break;
      }
    }
  });
  return out;
}

function pbKeyValue(b: Buffer, into: Attrs, depth = 0): void {
  let key: string | undefined;
  let value: AttrValue = null;
  charge(32);
  eachField(b, 'KeyValue', (f) => {
    if (f.no === 1) key = pbString(f, 'KeyValue.key', MAX_KEY);
    else if (f.no === 2) value = pbAnyValue(bytesOf(f, 'KeyValue.value'), depth);
  });
  if (key === undefined) throw new DecodeError('KeyValue without a key');
  into[key] = value;
}

function pbResource(b: Buffer): Resource {
  const attrs = newAttrs();
  eachField(b, 'Resource', (f) => {
    if (f.no === 1) pbKeyValue(bytesOf(f, 'Resource.attributes'), attrs);
  });
  return resourceOf(attrs);
}

function pbScopeName(b: Buffer): string {
  let name = '';
  eachField(b, 'InstrumentationScope', (f) => {
    if (f.no === 1) name = pbString(f, 'InstrumentationScope.name');
  });
  return name;
}

function hexId(b: Buffer, size: number, what: string): string {
  if (b.length !== 0 && b.length !== size) throw new DecodeError(`${what} must be ${size} bytes, got ${b.length}`);
  return b.toString('hex');
}

/** Walks Export*ServiceRequest → Resource* → Scope* → items. */
function pbWalk(buf: Buffer, names: [string, string, string], onItem: (item: Buffer, r: Resource, scope: string) => void): void {
  const [resourceMsg, scopeMsg, itemName] = names;
  eachField(buf, 'ExportRequest', (top) => {
    if (top.no !== 1) return;
    let resource: Resource = resourceOf(newAttrs());
    const scopes: Buffer[] = [];
    eachField(bytesOf(top, resourceMsg), resourceMsg, (f) => {
      if (f.no === 1) resource = pbResource(bytesOf(f, `${resourceMsg}.resource`));
      else if (f.no === 2) scopes.push(bytesOf(f, scopeMsg));
    });
    for (const s of scopes) {
      let scope = '';
      const items: Buffer[] = [];
      eachField(s, scopeMsg, (f) => {
        if (f.no === 1) scope = pbScopeName(bytesOf(f, `${scopeMsg}.scope`));
        else if (f.no === 2) items.push(bytesOf(f, itemName));
      });
      for (const item of items) onItem(item, resource, scope);
    }
  });
}

function pbSpan(b: Buffer, r: Resource, scope: string): SpanRecord {
  charge(SPAN_OVERHEAD);
  const s: SpanRecord = {
    traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, startMs: 0, endMs: 0, attributes: newAttrs(), events: [],
    status: { code: 0, message: '' }, service: r.service, resource: r.attrs, scope,
  };
  eachField(b, 'Span', (f) => {
    switch (f.no) {
      case 1: s.traceId = hexId(bytesOf(f, 'Span.trace_id'), 16, 'Span.trace_id'); break;
      case 2: s.spanId = hexId(bytesOf(f, 'Span.span_id'), 8, 'Span.span_id'); break;
      case 4: s.parentSpanId = hexId(bytesOf(f, 'Span.parent_span_id'), 8, 'Span.parent_span_id'); break;
      case 5: s.name = pbString(f, 'Span.name'); break;
      case 6: s.kind = uintOf(f, 'Span.kind'); break;
      case 7: s.startMs = nsToMs(fixed64Of(f, 'Span.start_time_unix_nano')); break;
      case 8: s.endMs = nsToMs(fixed64Of(f, 'Span.end_time_unix_nano')); break;
      case 9: pbKeyValue(bytesOf(f, 'Span.attributes'), s.attributes); break;
      case 11: {
        charge(EVENT_OVERHEAD);
        const e = { name: '', timeMs: 0, attributes: newAttrs() };
        eachField(bytesOf(f, 'Span.events'), 'Span.Event', (g) => {
          if (g.no === 1) e.timeMs = nsToMs(fixed64Of(g, 'Event.time_unix_nano'));
          else if (g.no === 2) e.name = pbString(g, 'Event.name');
          else if (g.no === 3) pbKeyValue(bytesOf(g, 'Event.attributes'), e.attributes);
        });
        s.events.push(e);
        break;
      }
      case 15:
        eachField(bytesOf(f, 'Span.status'), 'Status', (g) => {
          if (g.no === 2) s.status.message = pbString(g, 'Status.message');
          else if (g.no === 3) s.status.code = uintOf(g, 'Status.code');
        });
        break;
      case 16: fixed32Of(f, 'Span.flags'); break;
    }
  });
  return checkSpan(s);
}

function pbLog(b: Buffer, r: Resource, scope: string): LogRecord {
  charge(LOG_OVERHEAD);
  const l: LogRecord = { timeMs: 0, severityNumber: 0, severityText: '', body: null, attributes: newAttrs(), traceId: '', spanId: '', service: r.service, scope };
  let observed = 0;
  eachField(b, 'LogRecord', (f) => {
    switch (f.no) {
      case 1: l.timeMs = nsToMs(fixed64Of(f, 'LogRecord.time_unix_nano')); break;
      case 11: observed = nsToMs(fixed64Of(f, 'LogRecord.observed_time_unix_nano')); break;
      case 2: l.severityNumber = uintOf(f, 'LogRecord.severity_number'); break;
      case 3: l.severityText = pbString(f, 'LogRecord.severity_text'); break;
      case 5: l.body = pbAnyValue(bytesOf(f, 'LogRecord.body'), 0); break;
      case 6: pbKeyValue(bytesOf(f, 'LogRecord.attributes'), l.attributes); break;
      case 8: fixed32Of(f, 'LogRecord.flags'); break;
      case 9: l.traceId = hexId(bytesOf(f, 'LogRecord.trace_id'), 16, 'LogRecord.trace_id'); break;
      case 10: l.spanId = hexId(bytesOf(f, 'LogRecord.span_id'), 8, 'LogRecord.span_id'); break;
    }
  });
  if (l.timeMs === 0) l.timeMs = observed || Date.now();
  return l;
}

interface MetricHead { name: string; unit: string; service: string }

function pbPoint(b: Buffer, head: MetricHead, type: MetricType, temporality: number, monotonic: boolean): MetricPoint {
  charge(POINT_OVERHEAD);
  const p: MetricPoint = { ...head, type, temporality, monotonic, attributes: newAttrs(), startMs: 0, timeMs: 0 };
  const number = type === 'gauge' || type === 'sum';
  const attrField = number || type === 'summary' ? 7 : type === 'histogram' ? 9 : 1;
  eachField(b, 'DataPoint', (f) => {
    if (f.no === attrField) return pbKeyValue(bytesOf(f, 'DataPoint.attributes'), p.attributes);
    if (f.no === 2) return void (p.startMs = nsToMs(fixed64Of(f, 'DataPoint.start_time_unix_nano')));
    if (f.no === 3) return void (p.timeMs = nsToMs(fixed64Of(f, 'DataPoint.time_unix_nano')));
    if (number) {
      if (f.no === 4) p.value = doubleOf(f, 'NumberDataPoint.as_double');
      else if (f.no === 6) p.value = sfixed64Of(f, 'NumberDataPoint.as_int');
      return;
    }
    if (f.no === 4) p.count = Number(fixed64Of(f, 'DataPoint.count'));
    else if (f.no === 5) p.sum = doubleOf(f, 'DataPoint.sum');
    else if (type === 'histogram' && (f.no === 6 || f.no === 7)) {
      const values = f.no === 6
        ? repeated64(f, 'HistogramDataPoint.bucket_counts', (x, o) => Number(x.readBigUInt64LE(o)))
        : repeated64(f, 'HistogramDataPoint.explicit_bounds', (x, o) => x.readDoubleLE(o));
      charge(values.length * 8);
      // One at a time: a spread of a very long packed field would overflow the call stack.
      const into = f.no === 6 ? (p.buckets ??= []) : (p.bounds ??= []);
      for (const v of values) into.push(v);
    }
  });
  return p;
}

function pbMetric(b: Buffer, r: Resource, out: MetricPoint[]): void {
  const head: MetricHead = { name: '', unit: '', service: r.service };
  const bodies: Array<{ type: MetricType; b: Buffer }> = [];
  const types: Record<number, MetricType> = { 5: 'gauge', 7: 'sum', 9: 'histogram', 10: 'exponentialHistogram', 11: 'summary' };
  eachField(b, 'Metric', (f) => {
    if (f.no === 1) head.name = pbString(f, 'Metric.name');
    else if (f.no === 3) head.unit = pbString(f, 'Metric.unit');
    else if (types[f.no]) bodies.push({ type: types[f.no], b: bytesOf(f, `Metric.${types[f.no]}`) });
  });
  if (!head.name) throw new DecodeError('Metric without a name');
  for (const body of bodies) {
    let temporality = 0;
    let monotonic = false;
    const points: Buffer[] = [];
    eachField(body.b, body.type, (f: Field) => {
      if (f.no === 1) points.push(bytesOf(f, `${body.type}.data_points`));
      else if (f.no === 2 && body.type !== 'gauge' && body.type !== 'summary') temporality = uintOf(f, `${body.type}.aggregation_temporality`);
      else if (f.no === 3 && body.type === 'sum') monotonic = uintOf(f, 'Sum.is_monotonic') !== 0;
    });
    for (const p of points) out.push(pbPoint(p, head, body.type, temporality, monotonic));
  }
}

export function decodeProtobuf(signal: Signal, buf: Buffer): Decoded {
  decoded = 0;
  const d: Decoded = { spans: [], logs: [], metrics: [] };
  if (signal === 'traces') pbWalk(buf, ['ResourceSpans', 'ScopeSpans', 'Span'], (b, r, s) => d.spans.push(pbSpan(b, r, s)));
  else if (signal === 'logs') pbWalk(buf, ['ResourceLogs', 'ScopeLogs', 'LogRecord'], (b, r, s) => d.logs.push(pbLog(b, r, s)));
  else pbWalk(buf, ['ResourceMetrics', 'ScopeMetrics', 'Metric'], (b, r) => pbMetric(b, r, d.metrics));
  return d;
}

function checkSpan(s: SpanRecord): SpanRecord {
  if (!s.traceId) throw new DecodeError(`span ${JSON.stringify(s.name)} has no trace id`);
  if (!s.spanId) throw new DecodeError(`span ${JSON.stringify(s.name)} has no span id`);
  if (/^0+$/.test(s.traceId)) throw new DecodeError(`span ${JSON.stringify(s.name)} has an all-zero trace id`);
  if (s.endMs < s.startMs) s.endMs = s.startMs;
  return s;
}

// ========================================================================================= JSON

type J = Record<string, unknown>;

/** OTLP/JSON uses lowerCamelCase; the proto names (snake_case) are accepted too. */
function get(o: unknown, name: string): unknown {
  if (o === null || typeof o !== 'object') return undefined;
  const obj = o as J;
  if (obj[name] !== undefined) return obj[name];
  const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return obj[snake];
}

function obj(v: unknown, what: string): J | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new DecodeError(`${what} must be an object`);
  return v as J;
}

function arr(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DecodeError(`${what} must be an array`);
  return v;
}

function jStr(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new DecodeError(`${what} must be a string`);
  return cut(v);
}

function jNum(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && (Number.isFinite(Number(v)) || ['NaN', 'Infinity', '-Infinity'].includes(v))) return Number(v);
  throw new DecodeError(`${what} is not a number: ${JSON.stringify(v)}`);
}

function jNanos(v: unknown, what: string): number {
  if (v === undefined || v === null || v === '') return 0;
  if ((typeof v === 'string' && /^\d+$/.test(v)) || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return nsToMs(BigInt(v));
  throw new DecodeError(`${what} is not an unsigned integer of nanoseconds: ${JSON.stringify(v)}`);
}

function jEnum(v: unknown, names: Record<string, number>, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && Object.hasOwn(names, v)) return names[v];
  throw new DecodeError(`${what} is not a valid enum value: ${JSON.stringify(v)}`);
}

function jHex(v: unknown, size: number, what: string): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v) || v.length !== size * 2) {
    throw new DecodeError(`${what} must be ${size * 2} hex digits, got ${JSON.stringify(v)}`);
  }
  return v.toLowerCase();
}

function jAnyValue(v: unknown, depth: number): AttrValue {
  if (depth > MAX_DEPTH) throw new DecodeError('AnyValue nested too deeply');
  const o = obj(v, 'AnyValue');
  charge(16);
  if (!o) return null;
  let x: unknown;
  if ((x = get(o, 'stringValue')) !== undefined) return jStr(x, 'stringValue');
  if ((x = get(o, 'boolValue')) !== undefined) {
    if (typeof x !== 'boolean') throw new DecodeError('boolValue must be a boolean');
    return x;
  }
  if ((x = get(o, 'intValue')) !== undefined) return jNum(x, 'intValue');
  if ((x = get(o, 'doubleValue')) !== undefined) return jNum(x, 'doubleValue');
  if ((x = get(o, 'arrayValue')) !== undefined) return arr(get(obj(x, 'arrayValue'), 'values'), 'arrayValue.values').map((e) => jAnyValue(e, depth + 1));
  if ((x = get(o, 'kvlistValue')) !== undefined) return jAttrs(get(obj(x, 'kvlistValue'), 'values'), depth + 1);
  if ((x = get(o, 'bytesValue')) !== undefined) return `base64:${jStr(x, 'bytesValue')}`;
  return null;
}

function jAttrs(v: unknown, depth = 0): Attrs {
  const out = newAttrs();
  for (const kv of arr(v, 'attributes')) {
    const key = get(kv, 'key');
    if (typeof key !== 'string') throw new DecodeError('KeyValue.key must be a string');
    charge(32);
    out[cutTo(key, MAX_KEY)] = jAnyValue(get(kv, 'value'), depth);
  }
  return out;
}

function jWalk(req: unknown, names: [string, string, string], onItem: (item: unknown, r: Resource, scope: string) => void): void {
  const [top, scopes, items] = names;
  const root = obj(req, 'export request');
  if (!root) throw new DecodeError('the body must be a JSON object');
  for (const rs of arr(get(root, top), top)) {
    obj(rs, top);
    const resource = resourceOf(jAttrs(get(obj(get(rs, 'resource'), 'resource'), 'attributes')));
    for (const ss of arr(get(rs, scopes), scopes)) {
      obj(ss, scopes);
      const scope = jStr(get(obj(get(ss, 'scope'), 'scope'), 'name'), 'scope.name');
      for (const item of arr(get(ss, items), items)) {
        if (!obj(item, items)) throw new DecodeError(`${items} must hold objects`);
        onItem(item, resource, scope);
      }
    }
  }
}

const SPAN_KINDS = { SPAN_KIND_UNSPECIFIED: 0, SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3, SPAN_KIND_PRODUCER: 4, SPAN_KIND_CONSUMER: 5 };
const STATUS_CODES = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const TEMPORALITIES = { AGGREGATION_TEMPORALITY_UNSPECIFIED: 0, AGGREGATION_TEMPORALITY_DELTA: 1, AGGREGATION_TEMPORALITY_CUMULATIVE: 2 };

function jSpan(s: unknown, r: Resource, scope: string): SpanRecord {
  charge(SPAN_OVERHEAD);
  const status = obj(get(s, 'status'), 'status');
  return checkSpan({
    traceId: jHex(get(s, 'traceId'), 16, 'traceId'),
    spanId: jHex(get(s, 'spanId'), 8, 'spanId'),
    parentSpanId: jHex(get(s, 'parentSpanId'), 8, 'parentSpanId'),
    name: jStr(get(s, 'name'), 'name'),
    kind: jEnum(get(s, 'kind'), SPAN_KINDS, 'kind'),
    startMs: jNanos(get(s, 'startTimeUnixNano'), 'startTimeUnixNano'),
    endMs: jNanos(get(s, 'endTimeUnixNano'), 'endTimeUnixNano'),
    attributes: jAttrs(get(s, 'attributes')),
    events: arr(get(s, 'events'), 'events').map((e) => (charge(EVENT_OVERHEAD), {
      name: jStr(get(e, 'name'), 'event.name'),
      timeMs: jNanos(get(e, 'timeUnixNano'), 'event.timeUnixNano'),
      attributes: jAttrs(get(e, 'attributes')),
    })),
    status: { code: jEnum(get(status, 'code'), STATUS_CODES, 'status.code'), message: jStr(get(status, 'message'), 'status.message') },
    service: r.service,
    resource: r.attrs,
    scope,
  });
}

function jLog(l: unknown, r: Resource, scope: string): LogRecord {
  charge(LOG_OVERHEAD);
  const time = jNanos(get(l, 'timeUnixNano'), 'timeUnixNano') || jNanos(get(l, 'observedTimeUnixNano'), 'observedTimeUnixNano');
  const sev = get(l, 'severityNumber');
  return {
    timeMs: time || Date.now(),
    severityNumber: typeof sev === 'string' && /^SEVERITY_NUMBER_/.test(sev) ? severityFromName(sev) : jEnum(sev, {}, 'severityNumber'),
    severityText: jStr(get(l, 'severityText'), 'severityText'),
    body: jAnyValue(get(l, 'body'), 0),
    attributes: jAttrs(get(l, 'attributes')),
    traceId: jHex(get(l, 'traceId'), 16, 'traceId'),
    spanId: jHex(get(l, 'spanId'), 8, 'spanId'),
    service: r.service,
    scope,
  };
}

const SEVERITY_NAMES = ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4',
  'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'];

function severityFromName(name: string): number {
  const i = SEVERITY_NAMES.indexOf(name.replace(/^SEVERITY_NUMBER_/, ''));
  if (i < 0) throw new DecodeError(`severityNumber is not a valid enum value: ${JSON.stringify(name)}`);
  return i;
}

function jMetric(m: unknown, r: Resource, out: MetricPoint[]): void {
  const head: MetricHead = { name: jStr(get(m, 'name'), 'metric.name'), unit: jStr(get(m, 'unit'), 'metric.unit'), service: r.service };
  if (!head.name) throw new DecodeError('Metric without a name');
  for (const type of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const) {
    const body = obj(get(m, type), `metric.${type}`);
    if (!body) continue;
    const temporality = jEnum(get(body, 'aggregationTemporality'), TEMPORALITIES, 'aggregationTemporality');
    const monotonic = get(body, 'isMonotonic') === true;
    for (const p of arr(get(body, 'dataPoints'), 'dataPoints')) {
      charge(POINT_OVERHEAD);
      const point: MetricPoint = {
        ...head, type, temporality, monotonic,
        attributes: jAttrs(get(p, 'attributes')),
        startMs: jNanos(get(p, 'startTimeUnixNano'), 'startTimeUnixNano'),
        timeMs: jNanos(get(p, 'timeUnixNano'), 'timeUnixNano'),
      };
      if (type === 'gauge' || type === 'sum') {
        const d = get(p, 'asDouble');
        point.value = d !== undefined ? jNum(d, 'asDouble') : jNum(get(p, 'asInt'), 'asInt');
      } else {
        point.count = jNum(get(p, 'count'), 'count');
        point.sum = jNum(get(p, 'sum'), 'sum');
        if (type === 'histogram') {
          point.buckets = arr(get(p, 'bucketCounts'), 'bucketCounts').map((x) => jNum(x, 'bucketCounts'));
          point.bounds = arr(get(p, 'explicitBounds'), 'explicitBounds').map((x) => jNum(x, 'explicitBounds'));
          charge((point.buckets.length + point.bounds.length) * 8);
        }
      }
      out.push(point);
    }
  }
}

export function decodeJson(signal: Signal, text: string): Decoded {
  let req: unknown;
  try {
    req = JSON.parse(text);
  } catch (e) {
    throw new DecodeError(`invalid JSON: ${(e as Error).message}`);
  }
  decoded = 0;
  const d: Decoded = { spans: [], logs: [], metrics: [] };
  if (signal === 'traces') jWalk(req, ['resourceSpans', 'scopeSpans', 'spans'], (s, r, sc) => d.spans.push(jSpan(s, r, sc)));
  else if (signal === 'logs') jWalk(req, ['resourceLogs', 'scopeLogs', 'logRecords'], (l, r, sc) => d.logs.push(jLog(l, r, sc)));
  else jWalk(req, ['resourceMetrics', 'scopeMetrics', 'metrics'], (m, r) => jMetric(m, r, d.metrics));
  return d;
}

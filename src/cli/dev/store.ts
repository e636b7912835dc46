// The dev viewer's in-memory store. Each signal is bounded twice: by count (maxSpans spans,
// maxLogs log records, maxPoints metric points) and by estimated bytes (its share of maxBytes,
// BYTE_SHARES; estimates from record-size.ts). Whichever bound is reached first drops the oldest,
// so memory stays bounded however much arrives and however big each item is (strings are cut and
// detached at decode time, see otlp-decode.ts). A resource is kept once for all the spans that
// share it, and a metric series' identity once for all its points.
//
// A new kind of item (a view of its own) is one more Ring with a count, a share in BYTE_SHARES
// and a size estimate in record-size.ts. The Errors view's groups are an index over the log
// records (error-groups.ts), bounded by a count and a share of their own.
import type { Attrs, Decoded, LogRecord, MetricPoint, SpanRecord } from './otlp-decode';
import { attrsBytes, logBytes, pointBytes, seriesBytes, spanBytes, stringBytes } from './record-size';
import { Ring } from './ring';
import { DEFAULT_MAX_ERROR_GROUPS, ErrorIndex } from './error-groups';

/** The default of maxBytes: 256 MiB of estimated data. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** Each signal's share of maxBytes. */
export const BYTE_SHARES = { spans: 0.5, logs: 0.2, errors: 0.05, points: 0.25 } as const;

export interface StoreLimits {
  maxSpans: number;
  maxLogs: number;
  maxPoints: number;
  /** Estimated bytes, all signals together (DEFAULT_MAX_BYTES when not given). */
  maxBytes?: number;
  /** Error groups in the Errors view's index (DEFAULT_MAX_ERROR_GROUPS when not given). */
  maxErrorGroups?: number;
}

/** One metric stream: the identity fields its points share, and the points. */
export interface Series extends Pick<MetricPoint, 'name' | 'unit' | 'type' | 'temporality' | 'monotonic' | 'service' | 'attributes'> {
  key: string;
  points: MetricPoint[];
  /** points[0..head) are evicted; compacted now and then. */
  head: number;
  /** Estimated bytes of the identity fields, charged while the series exists. */
  bytes: number;
}

type Counts = { spans: number; logs: number; points: number };

export interface Stats {
  spans: number;
  logs: number;
  points: number;
  traces: number;
  series: number;
  received: Counts;
  dropped: Counts;
  /** Estimated bytes held per signal. */
  bytes: Counts;
  rejectedRequests: number;
  /** The Errors view's index: groups held, groups dropped (least recently updated first), estimated bytes. */
  errors: { groups: number; dropped: number; bytes: number };
}

/** A resource as kept: one copy per distinct set of attributes, counted by the spans using it. */
interface SharedResource {
  key: string;
  attrs: Attrs;
  refs: number;
  bytes: number;
}

function stableKey(attrs: Attrs): string {
  return JSON.stringify(Object.keys(attrs).sort().map((k) => [k, attrs[k]]));
}

export class Store {
  readonly limits: Required<StoreLimits>;
  readonly spans: Ring<SpanRecord>;
  readonly logs: Ring<LogRecord>;
  readonly errors: ErrorIndex;
  private readonly pointQueue: Ring<Series>;
  /** traceId -> its spans still in the store, in arrival order. */
  readonly traces = new Map<string, SpanRecord[]>();
  readonly series = new Map<string, Series>();
  private readonly resources = new Map<string, SharedResource>();
  private readonly resourceOf = new Map<Attrs, SharedResource>();
  private readonly received = { spans: 0, logs: 0, points: 0 };
  private readonly dropped = { spans: 0, logs: 0, points: 0 };
  rejectedRequests = 0;

  constructor(limits: StoreLimits) {
    this.limits = { ...limits, maxBytes: limits.maxBytes ?? DEFAULT_MAX_BYTES, maxErrorGroups: limits.maxErrorGroups ?? DEFAULT_MAX_ERROR_GROUPS };
    const bytes = (signal: keyof typeof BYTE_SHARES) => Math.floor(this.limits.maxBytes * BYTE_SHARES[signal]);
    this.spans = new Ring(limits.maxSpans, bytes('spans'));
    this.logs = new Ring(limits.maxLogs, bytes('logs'));
    this.pointQueue = new Ring(limits.maxPoints, bytes('points'));
    this.errors = new ErrorIndex(this.limits.maxErrorGroups, bytes('errors'));
  }

  add(d: Decoded): void {
    // The spans of one request share their resource objects: look each up once.
    const shared = new Map<Attrs, SharedResource>();
    for (const s of d.spans) {
      let r = shared.get(s.resource);
      if (!r) shared.set(s.resource, (r = this.shareResource(s.resource)));
      this.addSpan(s, r);
    }
    for (const l of d.logs) {
      this.received.logs++;
      this.logs.push(l, logBytes(l));
      this.errors.add(l);
      for (let it = this.logs.overflow(); !it.next().done;) this.dropped.logs++;
    }
    for (const p of d.metrics) this.addPoint(p);
  }

  private shareResource(attrs: Attrs): SharedResource {
    const key = stableKey(attrs);
    let r = this.resources.get(key);
    if (!r) {
      r = { key, attrs, refs: 0, bytes: stringBytes(key) + attrsBytes(attrs) };
      this.resources.set(key, r);
      this.resourceOf.set(attrs, r);
      this.spans.charge(r.bytes);
    }
    return r;
  }

  private addSpan(s: SpanRecord, r: SharedResource): void {
    this.received.spans++;
    s.resource = r.attrs;
    r.refs++;
    let list = this.traces.get(s.traceId);
    if (!list) this.traces.set(s.traceId, (list = []));
    list.push(s);
    this.spans.push(s, spanBytes(s));
    for (const evicted of this.spans.overflow()) this.evictSpan(evicted);
  }

  private evictSpan(evicted: SpanRecord): void {
    this.dropped.spans++;
    const r = this.resourceOf.get(evicted.resource);
    if (r && --r.refs === 0) {
      this.resources.delete(r.key);
      this.resourceOf.delete(r.attrs);
      this.spans.release(r.bytes);
    }
    const spans = this.traces.get(evicted.traceId);
    if (!spans) return;
    // The evicted span is its trace's oldest: the first in the list but for duplicates.
    if (spans[0] === evicted) spans.shift();
    else {
      const i = spans.indexOf(evicted);
      if (i >= 0) spans.splice(i, 1);
    }
    if (spans.length === 0) this.traces.delete(evicted.traceId);
  }

  private addPoint(p: MetricPoint): void {
    this.received.points++;
    const key = `${p.service}\u0000${p.name}\u0000${p.type}\u0000${stableKey(p.attributes)}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        key, name: p.name, unit: p.unit, type: p.type, temporality: p.temporality, monotonic: p.monotonic,
        service: p.service, attributes: p.attributes, points: [], head: 0, bytes: seriesBytes(key, p),
      };
      this.series.set(key, s);
      this.pointQueue.charge(s.bytes);
    }
    // Points of one series share the metadata kept on the series: keep only what varies.
    s.points.push({ ...p, attributes: {}, name: '', unit: '', service: '' });
    this.pointQueue.push(s, pointBytes(p));
    // The oldest point overall is the oldest point of its series.
    for (const evicted of this.pointQueue.overflow()) this.evictPoint(evicted);
  }

  private evictPoint(evicted: Series): void {
    this.dropped.points++;
    evicted.head++;
    if (evicted.head >= evicted.points.length) {
      if (this.series.get(evicted.key) === evicted) {
        this.series.delete(evicted.key);
        this.pointQueue.release(evicted.bytes);
      }
      evicted.points = [];
      evicted.head = 0;
    } else if (evicted.head > 256 && evicted.head * 2 > evicted.points.length) {
      evicted.points = evicted.points.slice(evicted.head);
      evicted.head = 0;
    }
  }

  /** The points of a series still in the store. */
  pointsOf(s: Series): MetricPoint[] {
    return s.head === 0 ? s.points : s.points.slice(s.head);
  }

  stats(): Stats {
    return {
      spans: this.spans.size,
      logs: this.logs.size,
      points: this.pointQueue.size,
      traces: this.traces.size,
      series: this.series.size,
      received: { ...this.received },
      dropped: { ...this.dropped },
      bytes: { spans: this.spans.bytes, logs: this.logs.bytes, points: this.pointQueue.bytes },
      rejectedRequests: this.rejectedRequests,
      errors: { groups: this.errors.groups.size, dropped: this.errors.dropped, bytes: this.errors.bytes },
    };
  }
}

// The dev viewer's in-memory store. Bounded by counts: at most maxSpans spans, maxLogs log
// records and maxPoints metric points; the oldest are dropped first, so memory stays bounded
// however much arrives (strings are cut at decode time, see MAX_STRING).
import type { Attrs, Decoded, LogRecord, MetricPoint, SpanRecord } from './otlp-decode';
import { Ring } from './ring';

export interface StoreLimits {
  maxSpans: number;
  maxLogs: number;
  maxPoints: number;
}

/** One metric stream: the identity fields its points share, and the points. */
export interface Series extends Pick<MetricPoint, 'name' | 'unit' | 'type' | 'temporality' | 'monotonic' | 'service' | 'attributes'> {
  key: string;
  points: MetricPoint[];
  /** points[0..head) are evicted; compacted now and then. */
  head: number;
}

export interface Stats {
  spans: number;
  logs: number;
  points: number;
  traces: number;
  series: number;
  received: { spans: number; logs: number; points: number };
  dropped: { spans: number; logs: number; points: number };
  rejectedRequests: number;
}

function stableKey(attrs: Attrs): string {
  return JSON.stringify(Object.keys(attrs).sort().map((k) => [k, attrs[k]]));
}

export class Store {
  readonly spans: Ring<SpanRecord>;
  readonly logs: Ring<LogRecord>;
  private readonly pointQueue: Ring<Series>;
  /** traceId -> its spans still in the store, in arrival order. */
  readonly traces = new Map<string, SpanRecord[]>();
  readonly series = new Map<string, Series>();
  private readonly received = { spans: 0, logs: 0, points: 0 };
  private readonly dropped = { spans: 0, logs: 0, points: 0 };
  rejectedRequests = 0;

  constructor(readonly limits: StoreLimits) {
    this.spans = new Ring(limits.maxSpans);
    this.logs = new Ring(limits.maxLogs);
    this.pointQueue = new Ring(limits.maxPoints);
  }

  add(d: Decoded): void {
    for (const s of d.spans) this.addSpan(s);
    for (const l of d.logs) {
      this.received.logs++;
      if (this.logs.push(l)) this.dropped.logs++;
    }
    for (const p of d.metrics) this.addPoint(p);
  }

  private addSpan(s: SpanRecord): void {
    this.received.spans++;
    let list = this.traces.get(s.traceId);
    if (!list) this.traces.set(s.traceId, (list = []));
    list.push(s);
    const evicted = this.spans.push(s);
    if (!evicted) return;
    this.dropped.spans++;
    const spans = this.traces.get(evicted.traceId);
    if (!spans) return;
    const i = spans.indexOf(evicted);
    if (i >= 0) spans.splice(i, 1);
    if (spans.length === 0) this.traces.delete(evicted.traceId);
  }

  private addPoint(p: MetricPoint): void {
    this.received.points++;
    const key = `${p.service}\u0000${p.name}\u0000${p.type}\u0000${stableKey(p.attributes)}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        key, name: p.name, unit: p.unit, type: p.type, temporality: p.temporality, monotonic: p.monotonic,
        service: p.service, attributes: p.attributes, points: [], head: 0,
      };
      this.series.set(key, s);
    }
    // Points of one series share the metadata kept on the series: keep only what varies.
    s.points.push({ ...p, attributes: {}, name: '', unit: '', service: '' });
    const evicted = this.pointQueue.push(s);
    if (!evicted) return;
    // The oldest point overall is the oldest point of its series.
    this.dropped.points++;
    evicted.head++;
    if (evicted.head >= evicted.points.length) {
      this.series.delete(evicted.key);
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
      rejectedRequests: this.rejectedRequests,
    };
  }
}

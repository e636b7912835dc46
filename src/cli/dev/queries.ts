// Read-side of the dev viewer: what the JSON API answers, computed from the store on demand.
import type { AttrValue, LogRecord, SpanRecord } from './otlp-decode';
import type { Store } from './store';
import { exceptionOf, groupIdOf, type ErrorGroup } from './error-groups';

export interface TraceSummary {
  traceId: string;
  rootName: string;
  service: string;
  services: string[];
  route: string;
  method: string;
  httpStatus: number | null;
  error: boolean;
  startMs: number;
  durationMs: number;
  spanCount: number;
}

export interface TraceFilter {
  service?: string;
  route?: string;
  status?: 'ok' | 'error';
  minMs?: number;
  maxMs?: number;
  limit?: number;
}

const str = (v: AttrValue | undefined): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
const num = (v: AttrValue | undefined): number | null => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);

export function httpStatusOf(s: SpanRecord): number | null {
  return num(s.attributes['http.response.status_code'] ?? s.attributes['http.status_code']);
}

export function routeOf(s: SpanRecord): string {
  return str(s.attributes['http.route']) || s.name;
}

export function spanIsError(s: SpanRecord): boolean {
  const code = httpStatusOf(s);
  return s.status.code === 2 || (s.kind === 2 && code !== null && code >= 500);
}

function rootOf(spans: SpanRecord[]): SpanRecord {
  const ids = new Set(spans.map((s) => s.spanId));
  const roots = spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
  const pool = roots.length > 0 ? roots : spans;
  return pool.reduce((a, b) => (b.startMs < a.startMs ? b : a));
}

export function summarize(traceId: string, spans: SpanRecord[]): TraceSummary {
  const root = rootOf(spans);
  let start = Infinity;
  let end = -Infinity;
  for (const s of spans) {
    start = Math.min(start, s.startMs);
    end = Math.max(end, s.endMs);
  }
  return {
    traceId,
    rootName: root.name,
    service: root.service,
    services: [...new Set(spans.map((s) => s.service))],
    route: routeOf(root),
    method: str(root.attributes['http.request.method'] ?? root.attributes['http.method']),
    httpStatus: httpStatusOf(root),
    error: spans.some(spanIsError),
    startMs: start,
    durationMs: Math.max(0, end - start),
    spanCount: spans.length,
  };
}

export function listTraces(store: Store, f: TraceFilter): TraceSummary[] {
  const out: TraceSummary[] = [];
  const route = f.route?.toLowerCase();
  for (const [id, spans] of store.traces) {
    if (spans.length === 0) continue;
    if (f.service && !spans.some((s) => s.service === f.service)) continue;
    const t = summarize(id, spans);
    if (route && !t.route.toLowerCase().includes(route) && !t.rootName.toLowerCase().includes(route)) continue;
    if (f.status === 'error' && !t.error) continue;
    if (f.status === 'ok' && t.error) continue;
    if (f.minMs !== undefined && t.durationMs < f.minMs) continue;
    if (f.maxMs !== undefined && t.durationMs > f.maxMs) continue;
    out.push(t);
  }
  out.sort((a, b) => b.startMs - a.startMs);
  return out.slice(0, f.limit ?? 200);
}

export interface TraceDetail extends TraceSummary {
  spans: Array<SpanRecord & { depth: number; offsetMs: number; durationMs: number; error: boolean }>;
  logs: LogRecord[];
}

export function traceDetail(store: Store, traceId: string): TraceDetail | undefined {
  const spans = store.traces.get(traceId);
  if (!spans || spans.length === 0) return undefined;
  const summary = summarize(traceId, spans);
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, SpanRecord[]>();
  const roots: SpanRecord[] = [];
  for (const s of spans) {
    if (s.parentSpanId && s.parentSpanId !== s.spanId && ids.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else roots.push(s);
  }
  const byStart = (a: SpanRecord, b: SpanRecord) => a.startMs - b.startMs;
  for (const list of children.values()) list.sort(byStart);
  // Depth-first, children by start time: the waterfall order. Iterative (a chain of spans may be
  // deeper than the call stack) and each span once: span ids repeat (a retried export, a buggy
  // SDK) and parent links can form a cycle. A span the roots never reach (it is on a cycle) is
  // shown as a root of its own.
  const ordered: TraceDetail['spans'] = [];
  const seen = new Set<SpanRecord>();
  const expandedIds = new Set<string>();
  const walk = (root: SpanRecord) => {
    const stack: Array<[SpanRecord, number]> = [[root, 0]];
    while (stack.length > 0) {
      const [s, depth] = stack.pop() as [SpanRecord, number];
      if (seen.has(s)) continue;
      seen.add(s);
      ordered.push({ ...s, depth, offsetMs: s.startMs - summary.startMs, durationMs: s.endMs - s.startMs, error: spanIsError(s) });
      // Duplicates of an id share one list of children: it goes under the first of them.
      if (expandedIds.has(s.spanId)) continue;
      expandedIds.add(s.spanId);
      const kids = children.get(s.spanId) ?? [];
      for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
    }
  };
  for (const r of roots.sort(byStart)) walk(r);
  for (const s of [...spans].sort(byStart)) if (!seen.has(s)) walk(s);
  const logs = [...store.logs.oldest()].filter((l) => l.traceId === traceId).sort((a, b) => a.timeMs - b.timeMs);
  return { ...summary, spans: ordered, logs };
}

export interface LogFilter {
  level?: string;
  service?: string;
  q?: string;
  traceId?: string;
  limit?: number;
}

/** Minimum severity number per level name (OTel log data model ranges). */
export const LEVELS: Record<string, number> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };

export function levelName(severityNumber: number, text: string): string {
  if (severityNumber >= 21) return 'fatal';
  if (severityNumber >= 17) return 'error';
  if (severityNumber >= 13) return 'warn';
  if (severityNumber >= 9) return 'info';
  if (severityNumber >= 5) return 'debug';
  if (severityNumber >= 1) return 'trace';
  return text.toLowerCase() || 'info';
}

export function bodyText(body: AttrValue): string {
  return typeof body === 'string' ? body : JSON.stringify(body);
}

export function listLogs(store: Store, f: LogFilter): Array<LogRecord & { level: string }> {
  const min = f.level ? LEVELS[f.level.toLowerCase()] ?? 0 : 0;
  const q = f.q?.toLowerCase();
  const out: Array<LogRecord & { level: string }> = [];
  const limit = f.limit ?? 500;
  for (const l of store.logs.newest()) {
    if (out.length >= limit) break;
    if (min && l.severityNumber < min) continue;
    if (f.service && l.service !== f.service) continue;
    if (f.traceId && l.traceId !== f.traceId) continue;
    if (q && !bodyText(l.body).toLowerCase().includes(q) && !JSON.stringify(l.attributes).toLowerCase().includes(q)) continue;
    out.push({ ...l, level: levelName(l.severityNumber, l.severityText) });
  }
  return out;
}

export interface ServiceInfo {
  name: string;
  spans: number;
  traces: number;
  logs: number;
  series: number;
  lastSeenMs: number;
}

export function listServices(store: Store): ServiceInfo[] {
  const m = new Map<string, ServiceInfo & { traceIds: Set<string> }>();
  const get = (name: string) => {
    let s = m.get(name);
    if (!s) m.set(name, (s = { name, spans: 0, traces: 0, logs: 0, series: 0, lastSeenMs: 0, traceIds: new Set() }));
    return s;
  };
  for (const s of store.spans.oldest()) {
    const i = get(s.service);
    i.spans++;
    i.traceIds.add(s.traceId);
    i.lastSeenMs = Math.max(i.lastSeenMs, s.endMs);
  }
  for (const l of store.logs.oldest()) {
    const i = get(l.service);
    i.logs++;
    i.lastSeenMs = Math.max(i.lastSeenMs, l.timeMs);
  }
  for (const s of store.series.values()) {
    const i = get(s.service);
    i.series++;
    const pts = store.pointsOf(s);
    if (pts.length) i.lastSeenMs = Math.max(i.lastSeenMs, pts[pts.length - 1].timeMs);
  }
  return [...m.values()]
    .map(({ traceIds, ...rest }) => ({ ...rest, traces: traceIds.size }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

// ------------------------------------------------------------------------------ charts

export interface RouteStats {
  service: string;
  route: string;
  total: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  /** One entry per step: t (bucket start, ms), rate (req/s), errorRatio (0..1), latency percentiles (ms). */
  series: Array<{ t: number; count: number; rate: number; errorRatio: number | null; p50: number | null; p95: number | null; p99: number | null }>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Request rate, error ratio and latency percentiles per route, from the server spans in the store. */
/** At most this many steps in a window; the API refuses more, the query clamps (a 1 s step over days would be millions of buckets). */
export const MAX_STEPS = 1000;

export function routeStats(store: Store, opts: { service?: string; windowMs?: number; stepMs?: number; now?: number; limit?: number }): { from: number; to: number; stepMs: number; totalRoutes: number; routes: RouteStats[] } {
  const stepMs = Math.max(1000, opts.stepMs ?? 10_000);
  const windowMs = Math.min(opts.windowMs ?? 15 * 60_000, stepMs * MAX_STEPS);
  const to = Math.ceil((opts.now ?? Date.now()) / stepMs) * stepMs;
  const spans: SpanRecord[] = [];
  let earliest = to;
  for (const s of store.spans.oldest()) {
    if (s.kind !== 2 || s.endMs < to - windowMs || s.endMs >= to) continue;
    if (opts.service && s.service !== opts.service) continue;
    spans.push(s);
    earliest = Math.min(earliest, s.endMs);
  }
  // The window starts with the data (a step before it), not up to windowMs of empty buckets.
  const from = Math.max(to - windowMs, Math.floor(earliest / stepMs) * stepMs - stepMs);
  const nBuckets = Math.max(1, Math.ceil((to - from) / stepMs));
  // Buckets only where there are spans: the routes are many or the steps are, seldom both.
  const groups = new Map<string, { service: string; route: string; total: number; errors: number; buckets: Map<number, { durations: number[]; errors: number }> }>();
  for (const s of spans) {
    const method = str(s.attributes['http.request.method'] ?? s.attributes['http.method']);
    const route = str(s.attributes['http.route']) ? `${method ? `${method} ` : ''}${str(s.attributes['http.route'])}` : s.name;
    const key = `${s.service}\u0000${route}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { service: s.service, route, total: 0, errors: 0, buckets: new Map() }));
    const i = Math.min(nBuckets - 1, Math.floor((s.endMs - from) / stepMs));
    let b = g.buckets.get(i);
    if (!b) g.buckets.set(i, (b = { durations: [], errors: 0 }));
    b.durations.push(s.endMs - s.startMs);
    g.total++;
    if (spanIsError(s)) {
      b.errors++;
      g.errors++;
    }
  }
  // The busiest routes only: the answer is routes x steps entries.
  const top = [...groups.values()].sort((a, b) => b.total - a.total || a.route.localeCompare(b.route)).slice(0, opts.limit ?? 50);
  const routes: RouteStats[] = top.map((g) => {
    const all = [...g.buckets.values()].flatMap((b) => b.durations).sort((a, b) => a - b);
    const series: RouteStats['series'] = [];
    for (let i = 0; i < nBuckets; i++) {
      const b = g.buckets.get(i);
      const sorted = b ? b.durations.sort((x, y) => x - y) : [];
      const n = sorted.length;
      series.push({
        t: from + i * stepMs,
        count: n,
        rate: n / (stepMs / 1000),
        errorRatio: b && n ? b.errors / n : null,
        p50: n ? percentile(sorted, 50) : null,
        p95: n ? percentile(sorted, 95) : null,
        p99: n ? percentile(sorted, 99) : null,
      });
    }
    return { service: g.service, route: g.route, total: g.total, errors: g.errors, p50: percentile(all, 50), p95: percentile(all, 95), p99: percentile(all, 99), series };
  });
  return { from, to, stepMs, totalRoutes: groups.size, routes };
}

export interface MetricInfo {
  name: string;
  service: string;
  type: string;
  unit: string;
  series: number;
  points: number;
}

export function listMetrics(store: Store, service?: string): MetricInfo[] {
  const m = new Map<string, MetricInfo>();
  for (const s of store.series.values()) {
    if (service && s.service !== service) continue;
    const key = `${s.service}\u0000${s.name}`;
    const i = m.get(key) ?? { name: s.name, service: s.service, type: s.type, unit: s.unit, series: 0, points: 0 };
    i.series++;
    i.points += s.points.length - s.head;
    m.set(key, i);
  }
  return [...m.values()].sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name));
}

export interface MetricSeriesAnswer {
  name: string;
  unit: string;
  /** value: as reported; rate: per second (monotonic sums); mean: per interval (histograms, summaries) */
  kind: 'value' | 'rate' | 'mean';
  series: Array<{ service: string; attributes: Record<string, AttrValue>; points: Array<[number, number]> }>;
}

/** The plottable series of one metric: gauges as they are, counters as rates, histograms as means. */
export function metricSeries(store: Store, name: string, service?: string): MetricSeriesAnswer {
  const out: MetricSeriesAnswer = { name, unit: '', kind: 'value', series: [] };
  for (const s of store.series.values()) {
    if (s.name !== name || (service && s.service !== service)) continue;
    out.unit = s.unit;
    const pts = store.pointsOf(s);
    const points: Array<[number, number]> = [];
    if (s.type === 'gauge' || (s.type === 'sum' && !s.monotonic)) {
      for (const p of pts) points.push([p.timeMs, p.value ?? 0]);
    } else if (s.type === 'sum') {
      out.kind = 'rate';
      for (let i = 0; i < pts.length; i++) {
        const p = pts[i];
        if (s.temporality === 1) {
          const dt = (p.timeMs - p.startMs) / 1000;
          if (dt > 0) points.push([p.timeMs, (p.value ?? 0) / dt]);
        } else if (i > 0) {
          const q = pts[i - 1];
          const dt = (p.timeMs - q.timeMs) / 1000;
          const dv = (p.value ?? 0) - (q.value ?? 0);
          if (dt > 0 && dv >= 0) points.push([p.timeMs, dv / dt]);
        }
      }
    } else {
      out.kind = 'mean';
      for (let i = 0; i < pts.length; i++) {
        const p = pts[i];
        let dc = p.count ?? 0;
        let ds = p.sum ?? 0;
        if (s.temporality === 2 && i > 0) {
          dc -= pts[i - 1].count ?? 0;
          ds -= pts[i - 1].sum ?? 0;
        } else if (s.temporality === 2) continue;
        if (dc > 0) points.push([p.timeMs, ds / dc]);
      }
    }
    out.series.push({ service: s.service, attributes: s.attributes, points });
  }
  return out;
}

// ------------------------------------------------------------------------------- errors

export interface ErrorGroupSummary {
  group: string;
  service: string;
  type: string;
  /** The latest record's message. */
  message: string;
  /** Occurrences: records received plus those the application counted but did not send. */
  count: number;
  records: number;
  suppressed: number;
  firstSeenMs: number;
  lastSeenMs: number;
  /** The latest record's request, when it had one. */
  route: string;
  traceId: string;
  spanId: string;
  /** Whether the latest record's trace is in the store (it was sampled and received): the page links to it only then. */
  traceReceived: boolean;
}

function groupSummary(store: Store, g: ErrorGroup): ErrorGroupSummary {
  const e = exceptionOf(g.latest);
  return {
    group: g.group, service: g.service, type: e.type, message: e.message,
    count: g.records + g.suppressed, records: g.records, suppressed: g.suppressed,
    firstSeenMs: g.firstSeenMs, lastSeenMs: g.lastSeenMs,
    route: str(g.latest.attributes['http.route']),
    traceId: g.latest.traceId, spanId: g.latest.spanId,
    traceReceived: g.latest.traceId !== '' && (store.traces.get(g.latest.traceId)?.length ?? 0) > 0,
  };
}

/** Error groups, the most recently seen first. */
export function listErrors(store: Store, f: { service?: string; q?: string; limit?: number }): ErrorGroupSummary[] {
  const q = f.q?.toLowerCase();
  const out: ErrorGroupSummary[] = [];
  for (const g of store.errors.groups.values()) {
    if (f.service && g.service !== f.service) continue;
    const s = groupSummary(store, g);
    if (q && !`${s.type}\u0000${s.message}\u0000${s.route}\u0000${s.group}`.toLowerCase().includes(q)) continue;
    out.push(s);
  }
  out.sort((a, b) => b.lastSeenMs - a.lastSeenMs || a.group.localeCompare(b.group));
  return out.slice(0, f.limit ?? 200);
}

export interface ErrorGroupDetail extends ErrorGroupSummary {
  stacktrace: string;
  /** The latest record's attributes (request context, release, the exception's). */
  attributes: LogRecord['attributes'];
  /** The group's records still in the log store, newest first. */
  occurrences: Array<{ timeMs: number; traceId: string; spanId: string; traceReceived: boolean; message: string }>;
}

/** One group (of `service`, else the most recently seen of that id). */
export function errorDetail(store: Store, group: string, service?: string, limit = 20): ErrorGroupDetail | undefined {
  let found: ErrorGroup | undefined;
  for (const g of store.errors.groups.values()) {
    if (g.group !== group || (service && g.service !== service)) continue;
    if (!found || g.lastSeenMs >= found.lastSeenMs) found = g;
  }
  if (!found) return undefined;
  const occurrences: ErrorGroupDetail['occurrences'] = [];
  for (const l of store.logs.newest()) {
    if (occurrences.length >= limit) break;
    if (l.service !== found.service || groupIdOf(l) !== group) continue;
    occurrences.push({ timeMs: l.timeMs, traceId: l.traceId, spanId: l.spanId, traceReceived: l.traceId !== '' && (store.traces.get(l.traceId)?.length ?? 0) > 0, message: exceptionOf(l).message });
  }
  occurrences.sort((a, b) => b.timeMs - a.timeMs);
  return { ...groupSummary(store, found), stacktrace: exceptionOf(found.latest).stacktrace, attributes: found.latest.attributes, occurrences };
}

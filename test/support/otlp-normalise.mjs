// Normalises what an in-process OTLP receiver (./otlp-receiver.mjs) got from one run of an
// application into flat, path-like keys, so the runs of two SDKs on the same application can be
// diffed field by field (test/differential.test.mjs).
//
//   const flat = normalise(receiver, { ports: { 31337: 'app-port' } });   // Map path -> value
//   const diffs = diff(expectedFlat, actualFlat);                          // [{ path, expected, actual }]
//   formatDiffs(diffs)                                                     // readable lines
//
// What goes: trace, span and parent ids (the parent/child shape is kept as the path: a span's key
// is the chain of `KIND name` from its trace's root), start and end times, ports and pids (named
// placeholders), host names, instance ids, stacks, and metric values that depend on timing. What
// stays: span names, kinds, scopes (name@version), attributes (keys and values), events, links,
// status; resource attribute keys (values where stable); metric names, types, units,
// descriptions, temporality, monotonicity, attribute sets, data point counts, histogram counts
// and bounds; log severity, body, attributes, scope and the span a record belongs to.
// Siblings of the same `KIND name` (and records of the same body) are numbered in start order:
// the applications run one step at a time, so that order is the program's, not the exporter's.

export const SEP = ' › ';
export const ABSENT = '<absent>';

const KIND = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const TEMPORALITY = ['UNSPECIFIED', 'DELTA', 'CUMULATIVE'];

// Attribute values that differ from run to run by nature: the key stays, the value is a placeholder.
const VOLATILE_KEYS = new Map([
  ['process.pid', '<pid>'],
  ['process.parent_pid', '<pid>'],
  ['host.name', '<host>'],
  ['host.id', '<host-id>'],
  ['service.instance.id', '<instance-id>'],
  ['client.port', '<ephemeral-port>'],
  ['network.local.port', '<ephemeral-port>'],
  ['net.host.port', '<ephemeral-port>'],
  ['exception.stacktrace', '<stack>'],
  // The preload flag is in the command line: otelkit's and the official register's differ by design.
  ['process.command_args', '<command-args>'],
  ['process.command_line', '<command-line>'],
]);

const CONNECTION_SCOPES = new Set(['@opentelemetry/instrumentation-net', '@opentelemetry/instrumentation-dns']);

// The SDK's metrics about its own processors (otel.sdk.*): whether the "processed" counters exist
// at the last collection depends on whether a batch had finished by then. Left out.
const SDK_SELF_METRIC = /^otel\.sdk\./;

const PEER_PORT_KEYS = new Set(['network.peer.port', 'net.peer.port']);

// Metrics whose attribute sets (not only values) depend on timing: the garbage collections that
// happened to run, the handles alive at collection time.
const TIMING_ATTRIBUTE_SETS = new Set(['v8js.gc.duration', 'v8js.resource.active']);

// Metric values that depend on timing or on the machine: only their presence (and attribute sets)
// is compared. Histograms of these keep their count and bounds; sums, min, max, buckets go.
// The request and query durations count one measurement a request or query: their counts are the
// program's. Everything else outside the application's own scopes (runtime, process, pool state,
// SDK self-metrics) is counted or measured by the clock or the garbage collector.
const COUNTED_HISTOGRAMS = new Set([
  'http.server.request.duration',
  'http.client.request.duration',
  'db.client.operation.duration',
]);
function valuePolicy(metricName, scopeName, appScopes) {
  if (appScopes.has(scopeName)) return 'exact';
  if (COUNTED_HISTOGRAMS.has(metricName)) return 'count-only';
  return 'masked';
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);

function canon(v) {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (Buffer.isBuffer(v)) return `bytes:${v.toString('hex')}`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${k}=${canon(v[k])}`).join(',')}}`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Replaces known port numbers (and ports inside strings) with their names. */
function portMasker(ports) {
  const entries = Object.entries(ports).map(([p, name]) => [String(p), `<${name}>`]);
  return (value) => {
    if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) {
      const hit = entries.find(([p]) => p === String(value));
      return hit ? hit[1] : value;
    }
    if (typeof value === 'string') {
      let s = value;
      for (const [p, name] of entries) s = s.replace(new RegExp(`(?<=[:=])${p}(?!\\d)`, 'g'), name);
      return s;
    }
    return value;
  };
}

function addAttributes(out, prefix, attributes, maskPort) {
  for (const key of Object.keys(attributes ?? {}).sort()) {
    const raw = attributes[key];
    let value;
    if (VOLATILE_KEYS.has(key)) value = VOLATILE_KEYS.get(key);
    // The peer of a server span is the client's ephemeral port; of a client span, a known server.
    else if (PEER_PORT_KEYS.has(key)) value = maskPort(raw) === raw ? '<ephemeral-port>' : maskPort(raw);
    else if (Array.isArray(raw) || isObj(raw) || Buffer.isBuffer(raw)) value = canon(raw);
    else value = maskPort(raw);
    if (typeof value === 'string') value = maskPort(value);
    out.set([...prefix, `attributes.${key}`].join(SEP), value);
  }
}

const scopeOf = (s) => {
  if (!s) return '<none>';
  const attrs = Object.keys(s.attributes ?? {}).length ? ` ${canon(s.attributes)}` : '';
  return `${s.name}@${s.version ?? ''}${attrs}`;
};

/** Numbers items that share a label in the order given: `label`, `label#2`, `label#3`... */
function numbered(items, labelOf) {
  const seen = new Map();
  return items.map((item) => {
    const label = labelOf(item);
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return [n === 1 ? label : `${label}#${n}`, item];
  });
}

const byStart = (a, b) => {
  const d = BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
};

function normaliseResource(out, rec, maskPort) {
  // One resource per signal; a key whose value is the same in every signal is written once.
  const bySignal = {};
  for (const [signal, items] of [['traces', rec.spans], ['metrics', rec.metrics], ['logs', rec.logs]]) {
    // The last export's: an early export may precede part of the resource (seen with the
    // official register's first runtime-metrics export of an ES module application).
    if (items.length) bySignal[signal] = items[items.length - 1].resource ?? {};
  }
  const keys = new Set(Object.values(bySignal).flatMap((a) => Object.keys(a)));
  for (const key of [...keys].sort()) {
    const values = Object.entries(bySignal).map(([signal, attrs]) => {
      const m = new Map();
      addAttributes(m, [], key in attrs ? { [key]: attrs[key] } : {}, maskPort);
      return [signal, m.size ? [...m.values()][0] : ABSENT];
    });
    const distinct = new Set(values.map(([, v]) => canon(v)));
    if (distinct.size === 1) out.set(['resource', key].join(SEP), values[0][1]);
    else for (const [signal, v] of values) out.set(['resource', `${key} (${signal})`].join(SEP), v);
  }
}

/** Spans as trees: returns spanId -> path (array), for logs that point at a span. */
function normaliseSpans(out, spans, maskPort) {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map();
  const roots = [];
  for (const s of spans) {
    if (s.parentSpanId && byId.has(s.parentSpanId)) {
      if (!children.has(s.parentSpanId)) children.set(s.parentSpanId, []);
      children.get(s.parentSpanId).push(s);
    } else {
      roots.push(s);
    }
  }
  const pathOf = new Map();
  const label = (s) => `${KIND[s.kind] ?? s.kind} ${s.name}`;
  const visit = (s, path) => {
    pathOf.set(s.spanId, path);
    const put = (field, value) => out.set([...path, field].join(SEP), value);
    put('scope', scopeOf(s.scope));
    // A parent that was never exported (an orphan) is not the same shape as a true root.
    put('parent', s.parentSpanId ? (byId.has(s.parentSpanId) ? 'in trace' : 'not exported') : 'none');
    put('status', s.status?.code ? `${['UNSET', 'OK', 'ERROR'][s.status.code]}${s.status.message ? `: ${s.status.message}` : ''}` : 'UNSET');
    if (s.traceState) put('traceState', s.traceState);
    if (s.droppedAttributesCount) put('droppedAttributesCount', s.droppedAttributesCount);
    if (s.droppedEventsCount) put('droppedEventsCount', s.droppedEventsCount);
    if (s.droppedLinksCount) put('droppedLinksCount', s.droppedLinksCount);
    addAttributes(out, path, s.attributes, maskPort);
    for (const [name, e] of numbered(s.events ?? [], (e) => e.name)) {
      out.set([...path, `event ${name}`].join(SEP), 'present');
      addAttributes(out, [...path, `event ${name}`], e.attributes, maskPort);
    }
    if (s.links?.length) put('links', s.links.length);
    const kids = (children.get(s.spanId) ?? []).sort(byStart);
    for (const [name, c] of numbered(kids, label)) visit(c, [...path, name]);
  };
  // Roots also carry the port they talk to: work outside requests (start-up queries, connections
  // of pools and exporters) is not ordered against the requests, and one side may lack some.
  const rootLabel = (s) => {
    const port = s.attributes?.['server.port'];
    return port === undefined ? label(s) : `${label(s)} (${maskPort(port)})`;
  };
  // A connection made outside any span (fetch's pool, a client's reconnect) is a trace of one
  // span; how many such connections a pool opens depends on keep-alive timing, so identical ones
  // count once.
  const seen = new Set();
  const distinct = roots.sort(byStart).filter((r) => {
    if (children.has(r.spanId) || !CONNECTION_SCOPES.has(r.scope?.name)) return true;
    const key = canon({ name: r.name, kind: r.kind, attributes: Object.fromEntries(
      Object.entries(r.attributes ?? {}).filter(([k]) => !VOLATILE_KEYS.has(k)).map(([k, v]) => [k, maskPort(v)])) });
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  for (const [name, r] of numbered(distinct, rootLabel)) visit(r, ['trace', name]);
  // Links and span ids of logs are written as the path of the span they point at.
  return (spanId) => (pathOf.has(spanId) ? pathOf.get(spanId).slice(1).join(' > ') : spanId ? '<span not exported>' : ABSENT);
}

function normaliseLogs(out, logs, spanPath, maskPort) {
  const sorted = [...logs].sort((a, b) => {
    const d = BigInt(a.timeUnixNano || a.observedTimeUnixNano) - BigInt(b.timeUnixNano || b.observedTimeUnixNano);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
  const bodyOf = (l) => (typeof l.body === 'string' ? l.body : canon(l.body));
  for (const [name, l] of numbered(sorted, (l) => `log ${JSON.stringify(bodyOf(l))}`)) {
    const put = (field, value) => out.set([name, field].join(SEP), value);
    put('scope', scopeOf(l.scope));
    put('severity', `${l.severityNumber} ${l.severityText ?? ''}`.trim());
    if (l.eventName) put('eventName', l.eventName);
    put('trace', l.traceId ? 'set' : ABSENT);
    put('span', spanPath(l.spanId));
    put('flags', l.flags ?? 0);
    if (l.droppedAttributesCount) put('droppedAttributesCount', l.droppedAttributesCount);
    addAttributes(out, [name], l.attributes, maskPort);
  }
}

/** Metric names exported under more than one scope within any one of the runs given. */
export function multiScopeMetricNames(...views) {
  const out = new Set();
  for (const view of views) {
    const scopes = new Map();
    for (const m of view.metrics) {
      if (!scopes.has(m.name)) scopes.set(m.name, new Set());
      scopes.get(m.name).add(m.scope?.name);
    }
    for (const [name, set] of scopes) if (set.size > 1) out.add(name);
  }
  return out;
}

function normaliseMetrics(out, metrics, appScopes, maskPort, multiScope) {
  // Cumulative metrics: each export repeats the whole stream, so the last one seen holds it.
  // Delta metrics: every export carries its own points; they are all kept.
  const last = new Map();
  for (const m of metrics.filter((x) => !SDK_SELF_METRIC.test(x.name))) {
    const key = `${m.scope?.name}\u0000${m.name}`;
    const prev = last.get(key);
    if (prev && m.aggregationTemporality === 1) last.set(key, { ...m, dataPoints: [...prev.dataPoints, ...m.dataPoints] });
    else last.set(key, m);
  }
  for (const m of [...last.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const label = multiScope.has(m.name) ? `metric ${m.name} [${m.scope?.name}]` : `metric ${m.name}`;
    const put = (field, value) => out.set([label, field].join(SEP), value);
    put('scope', scopeOf(m.scope));
    put('type', m.type);
    put('unit', m.unit ?? '');
    put('description', m.description ?? '');
    if (m.aggregationTemporality !== undefined) put('temporality', TEMPORALITY[m.aggregationTemporality] ?? m.aggregationTemporality);
    if (m.isMonotonic !== undefined) put('monotonic', m.isMonotonic);
    const policy = valuePolicy(m.name, m.scope?.name, appScopes);
    if (TIMING_ATTRIBUTE_SETS.has(m.name)) {
      // Which sets exist depends on what the collector or the event loop happened to do.
      const keys = new Set(m.dataPoints.flatMap((p) => Object.keys(p.attributes ?? {})));
      put('attribute keys', [...keys].sort().join(', '));
      const p = m.dataPoints[0];
      if (p?.explicitBounds) put('bounds', canon(p.explicitBounds));
      if (p && 'valueType' in p) put('valueType', p.valueType ?? ABSENT);
      continue;
    }
    const points = new Map();
    for (const p of m.dataPoints) {
      const attrs = new Map();
      addAttributes(attrs, [], p.attributes, maskPort);
      const setKey = `{${[...attrs].map(([k, v]) => `${k.slice('attributes.'.length)}=${canon(v)}`).join(', ')}}`;
      points.set(setKey, (points.get(setKey) ?? []).concat([p]));
    }
    for (const [setKey, ps] of points) {
      const at = (field, value) => out.set([label, `point ${setKey}`, field].join(SEP), value);
      if (ps.length > 1) at('repeated', ps.length);
      const p = ps[ps.length - 1];
      if (m.type === 'histogram' || m.type === 'exponentialHistogram') {
        at('count', policy === 'masked' ? '<timing>' : p.count);
        if (p.explicitBounds) at('bounds', canon(p.explicitBounds));
        for (const f of ['sum', 'min', 'max']) {
          if (p[f] === undefined) at(f, ABSENT);
          else at(f, policy === 'exact' ? p[f] : '<timing>');
        }
        if (p.bucketCounts) at('buckets', policy === 'exact' ? canon(p.bucketCounts) : `<${p.bucketCounts.length} buckets>`);
      } else if (m.type === 'summary') {
        at('count', policy === 'masked' ? '<timing>' : p.count);
      } else {
        at('valueType', p.valueType ?? ABSENT);
        at('value', policy === 'exact' ? p.value : '<timing>');
      }
      if (p.exemplars?.length) at('exemplars', 'present');
    }
  }
}

/**
 * The receiver's spans, logs and metrics of one run as a Map of path -> value.
 * options.ports: { [port]: name } for ports that differ between runs; options.appScopes: scope
 * names whose metric values are the application's own (compared exactly); options.multiScope:
 * metric names keyed with their scope (multiScopeMetricNames of every run compared), since a
 * scope of its own is not comparable when the other run has the name once.
 */
export function normalise(rec, { ports = {}, appScopes = [], multiScope = multiScopeMetricNames(rec) } = {}) {
  const out = new Map();
  const maskPort = portMasker(ports);
  normaliseResource(out, rec, maskPort);
  const spanPath = normaliseSpans(out, rec.spans, maskPort);
  normaliseLogs(out, rec.logs, spanPath, maskPort);
  normaliseMetrics(out, rec.metrics, new Set(appScopes), maskPort, multiScope);
  return out;
}

/** Every key whose value differs, with ABSENT for a side that lacks it; in path order. */
export function diff(expected, actual) {
  const keys = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  const out = [];
  for (const path of keys) {
    const e = expected.has(path) ? expected.get(path) : ABSENT;
    const a = actual.has(path) ? actual.get(path) : ABSENT;
    if (canon(e) !== canon(a)) out.push({ path, expected: e, actual: a });
  }
  return out;
}

export function formatDiffs(diffs, { expectedLabel = 'official', actualLabel = 'otelkit' } = {}) {
  const show = (v) => (v === ABSENT ? ABSENT : JSON.stringify(v));
  return diffs.map((d) => `  ${d.path}\n      ${expectedLabel}: ${show(d.expected)}\n      ${actualLabel}: ${show(d.actual)}`).join('\n');
}

// The only differences test/differential.test.mjs allows between what the official register
// (@opentelemetry/auto-instrumentations-node/register, stable HTTP conventions) and otelkit send
// over OTLP for the same application. Two kinds, kept apart:
//
//   deliberate  otelkit differs on purpose; each has its reason here and a line in README.md
//               ("Differences from the official register") holding its `readme` text.
//   pending     a divergence that is a bug, to be fixed (issue 28). When the fix lands the entry
//               stops matching and the test's last check fails until the entry is removed.
//
// An entry either matches differences of the normalised output (`match`: a path regex and
// optionally the official and otelkit values: a value, a RegExp tested on the JSON of the value,
// or a predicate, plus `check(diff)`), or reshapes one run before normalisation (`transform`, for
// differences of shape: spans one side does not make, whose children hang on the span above).
// `when` limits an entry to some runs ({ app, module, environment, variant, node }: a value or a list;
// `compare`: 'official' (the default: otelkit against the official register) or 'esm-vs-cjs'
// (otelkit's ES module run against its CommonJS twin)). `side` says which run a transform
// reshapes ('official' by default, or 'otelkit').
// An entry that matches nothing in a whole run of the test fails it, unless it is `optional`
// (the value says why the difference need not show: not exercised here, or timing).

const VERSION = JSON.parse(
  (await import('node:fs')).readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
const q = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const json = (v) => new RegExp(`^${q(JSON.stringify(v))}$`);

/**
 * Removes the spans `drop` selects from a run: their children move up to the nearest kept
 * ancestor, log records that pointed at them point there too. Returns the number removed.
 */
export function removeSpans(view, drop) {
  const byId = new Map(view.spans.map((s) => [s.spanId, s]));
  const removed = new Set(view.spans.filter(drop).map((s) => s.spanId));
  const kept = (id) => {
    while (id && removed.has(id)) id = byId.get(id)?.parentSpanId ?? '';
    return id;
  };
  view.spans = view.spans.filter((s) => !removed.has(s.spanId)).map((s) => ({ ...s, parentSpanId: kept(s.parentSpanId) }));
  view.logs = view.logs.map((l) => (removed.has(l.spanId) ? { ...l, spanId: kept(l.spanId) } : l));
  return removed.size;
}

/** Removes whole traces whose root `drop` selects (the root and every span under it). */
export function removeTraces(view, drop) {
  const byId = new Map(view.spans.map((s) => [s.spanId, s]));
  const rootOf = (s) => {
    while (s.parentSpanId && byId.has(s.parentSpanId)) s = byId.get(s.parentSpanId);
    return s;
  };
  const gone = new Set(view.spans.filter((s) => drop(rootOf(s))).map((s) => s.spanId));
  view.spans = view.spans.filter((s) => !gone.has(s.spanId));
  view.logs = view.logs.map((l) => (gone.has(l.spanId) ? { ...l, spanId: '', traceId: '' } : l));
  return gone.size;
}

const scope = (s) => s.scope?.name ?? '';

export const ENTRIES = [
  // ------------------------------------------------------------------------- deliberate
  {
    id: 'server-span-error-type',
    readme: 'spans of 5xx responses carry `error.type`',
    kind: 'deliberate',
    reason: 'otelkit\'s server span of a 5xx response carries error.type (the status code), as the ' +
      'stable HTTP conventions require on the span when the request ends in an error; the http ' +
      'instrumentation sets it on the duration metric only',
    match: { path: /SERVER [^›]* › attributes\.error\.type$/, expected: /^<absent>$/, actual: /^"5\d\d"$/ },
  },
  {
    id: 'express5-handler-span-names',
    readme: 'express 5 request handler spans are named after their route',
    kind: 'deliberate',
    when: { app: 'express5', environment: 'development' },
    reason: 'under express 5 upstream names a route\'s handler span "request handler" (the route ' +
      'only in express.name); otelkit names it "request handler - <route>", as under express 4. ' +
      'The comparison renames upstream\'s to otelkit\'s',
    transform: (view) => {
      let renamed = 0;
      view.spans = view.spans.map((s) => {
        if (scope(s) !== '@opentelemetry/instrumentation-express' || s.name !== 'request handler' || typeof s.attributes['express.name'] !== 'string') return s;
        renamed++;
        return { ...s, name: `request handler - ${s.attributes['express.name']}` };
      });
      return renamed;
    },
  },
  {
    id: 'express5-router-spans-left-to-express',
    readme: 'express 5 requests have no router instrumentation spans',
    kind: 'deliberate',
    when: { app: 'express5' },
    reason: 'express 5 routes through the router package, which the router instrumentation traces ' +
      'again beside the express instrumentation (every layer twice); otelkit leaves express\'s ' +
      'requests to the express instrumentation (instrument/patches/router-under-express.ts), a ' +
      'router used without express keeps its spans',
    transform: (view) => removeSpans(view, (s) => scope(s) === '@opentelemetry/instrumentation-router'),
  },
  {
    id: 'scope-otelkit-http',
    readme: 'carry the scope `otelkit.http`',
    kind: 'deliberate',
    reason: 'otelkit serves incoming HTTP itself (instrument/http-server.ts) and aggregates ' +
      'http.server.request.duration itself (metrics/http-server-duration.ts): the server spans and ' +
      'that metric carry its scope, otelkit.http with otelkit\'s version, not the http instrumentation\'s',
    match: { path: /(SERVER [^›]*|metric http\.server\.request\.duration) › scope$/, expected: /^"@opentelemetry\/instrumentation-http@/, actual: json(`otelkit.http@${VERSION}`) },
  },
  {
    id: 'express-layers-production',
    readme: 'No express layer spans in `production`',
    kind: 'deliberate',
    when: { environment: 'production' },
    reason: 'in production otelkit makes no express layer spans (middleware, router, request ' +
      'handler): the route is on the server span; what ran inside a handler hangs on the server span ' +
      '(OTELKIT_EXPRESS_LAYER_SPANS=true gives upstream\'s back)',
    transform: (view) => removeSpans(view, (s) => scope(s) === '@opentelemetry/instrumentation-express'),
  },
  {
    id: 'pg-outside-request',
    readme: 'pg queries outside any request make no spans',
    kind: 'deliberate',
    reason: 'pg work outside any request (a query at start-up, a pool connecting) makes no spans ' +
      'under otelkit: without a request to belong to they are noise (database tracer only ' +
      'traces under a sampled parent)',
    transform: (view) => removeTraces(view, (root) => scope(root) === '@opentelemetry/instrumentation-pg'),
  },
  {
    id: 'resource-extra-attributes',
    readme: '`deployment.environment.name`, `service.version`',
    kind: 'deliberate',
    reason: 'otelkit adds deployment.environment.name (OTELKIT_ENVIRONMENT, else NODE_ENV), ' +
      'service.version (the application\'s package.json) and telemetry.distro.name/version to the resource',
    match: {
      path: /^resource › (deployment\.environment\.name|service\.version|telemetry\.distro\.name|telemetry\.distro\.version)$/,
      expected: /^<absent>$/,
    },
  },
  {
    id: 'otelkit-own-metrics',
    readme: '`otelkit.export.failures`, `otelkit.export.dropped`, `process.cpu.time`',
    kind: 'deliberate',
    reason: 'otelkit\'s own metrics: export failures and drops per signal, process CPU and memory ' +
      '(scope otelkit); the official register sends none of them. (The SDK\'s own otel.sdk.* ' +
      'metrics, which otelkit turns on too, are left out of the comparison: whether they exist at ' +
      'the last collection depends on timing.)',
    match: {
      path: /^metric (otelkit\.export\.(dropped|failures)|otelkit\.exceptions|process\.(cpu\.time|memory\.usage)) › /,
      expected: /^<absent>$/,
    },
  },
  {
    id: 'scope-otelkit-runtime',
    readme: 'runtime metrics the scope `otelkit.runtime`',
    kind: 'deliberate',
    reason: 'otelkit measures the Node runtime itself (metrics/runtime-metrics.ts): scope otelkit.runtime ' +
      'instead of @opentelemetry/instrumentation-runtime-node',
    match: { path: /^metric (nodejs|v8js)\.[^ ]* › scope$/, expected: /^"@opentelemetry\/instrumentation-runtime-node@/, actual: /^"otelkit\.runtime@/ },
  },
  {
    id: 'esm-named-node-http-client',
    readme: 'import { get } from \'node:http\'',
    kind: 'deliberate',
    side: 'otelkit',
    when: { module: 'esm' },
    reason: 'an ES module application that imports node:http\'s functions by name ' +
      '(import { get } from \'node:http\') gets client spans and http.client.request.duration ' +
      'under otelkit; under the official register and its documented loader hook it gets none ' +
      '(the CommonJS twin gets them from both; the ES module run is also compared with it). ' +
      'The comparison removes those spans and that metric from otelkit\'s run',
    transform: (view) => {
      const before = view.metrics.length;
      view.metrics = view.metrics.filter((m) => !(m.name === 'http.client.request.duration' && scope(m) === '@opentelemetry/instrumentation-http'));
      const client = (s) => s.kind === 3 && scope(s) === '@opentelemetry/instrumentation-http';
      // Without a client span nothing injects traceparent: the server side starts a trace of its own.
      const clients = new Set(view.spans.filter(client).map((s) => s.spanId));
      view.spans = view.spans.map((s) => (s.kind === 2 && clients.has(s.parentSpanId) ? { ...s, parentSpanId: '' } : s));
      return removeSpans(view, client) + (before - view.metrics.length);
    },
  },
  {
    id: 'exporter-traffic-not-measured',
    readme: 'own exports are not measured or traced',
    kind: 'deliberate',
    reason: 'otelkit\'s own OTLP exports are not the application\'s traffic: they make no ' +
      'http.client.request.duration point and no tcp.connect span; under the official register ' +
      'the exporter\'s requests are measured (and sometimes traced) as if the application made them',
    match: { path: /(server\.port="<otlp-port>"|^trace › [A-Z]+ [^›]*\(<otlp-port>\))/, actual: /^<absent>$/ },
    optional: 'the official register\'s export shows only when it ends before the last metric collection',
  },
  {
    id: 'error-tracking-records',
    readme: 'an exception log record (scope `otelkit.errors`)',
    kind: 'deliberate',
    reason: 'error tracking: an error that reaches express\'s error path is exported once as an ' +
      'exception log record (scope otelkit.errors, event name exception, error group, route), ' +
      'whatever the sampling; the official register sends no record',
    match: { path: /^log "[A-Za-z]*Error: [^"]*"(#\d+)? › /, expected: /^<absent>$/ },
  },
  {
    id: 'error-tracking-server-span',
    readme: 'the server span of that request carries the exception',
    kind: 'deliberate',
    reason: 'error tracking: the exception is also an event on the request\'s server span, whose ' +
      'status message is the error\'s message; under the official register only the express ' +
      'layer span that threw has them (and the server span is ERROR without a message)',
    match: {
      path: /SERVER [^›]* › (event exception( › attributes\.exception\.(message|stacktrace|type))?|status)$/,
      check: (d) => d.expected === '<absent>' || (d.expected === 'ERROR' && /^ERROR: /.test(d.actual)),
    },
  },
  {
    id: 'default-resource-detectors',
    readme: 'no cloud detectors by default',
    kind: 'deliberate',
    when: { variant: 'default-detectors' },
    reason: 'otelkit\'s default resource detectors leave out the cloud ones (alibaba, aws, azure, gcp), ' +
      'which probe metadata endpoints and stall off-cloud; the official register runs all of them',
    // Off-cloud the detectors find nothing; what shows is their probes, measured by the official
    // register as the application's outgoing requests when they end before the last collection.
    match: { path: /server\.address="(169\.254\.169\.254|metadata\.google\.internal\.?|100\.100\.100\.200)"/, actual: /^<absent>$/ },
    optional: 'whether a probe ends before the last collection depends on timing',
  },
  {
    id: 'sampling-defaults',
    readme: 'The sampler default',
    kind: 'deliberate',
    reason: 'otelkit samples parentbased_traceidratio at 0.1 in production and 1.0 elsewhere; the ' +
      'official register samples everything. Both sides run with OTEL_TRACES_SAMPLER=always_on here',
    optional: 'the comparison forces always_on on both sides (a ratio is not deterministic)',
  },
];

// -------------------------------------------------------------------------- pending (issue 28)
// Divergences the differential test found that are not decisions: each is to be fixed (or turned
// into a deliberate entry with a README line). Remove an entry in the change that fixes it.
// None is left (2026-12-06): the ones issue 28 found are fixed or deliberate.
export const pending = (entry) => ENTRIES.push({ kind: 'pending', issue: 28, ...entry });


function oneOf(want, have) {
  return want === undefined || (Array.isArray(want) ? want.includes(have) : want === have);
}

function valueMatches(want, value) {
  if (want === undefined) return true;
  const text = value === '<absent>' ? '<absent>' : JSON.stringify(value);
  if (want instanceof RegExp) return want.test(text);
  if (typeof want === 'function') return want(value);
  return JSON.stringify(want) === JSON.stringify(value);
}

/** Does this entry allow difference `d` ({ path, expected, actual }) in a run of `context`? */
export function matchEntry(entry, d, context) {
  if (!entry.match || !appliesTo(entry, context)) return false;
  const m = entry.match;
  return m.path.test(d.path) && valueMatches(m.expected, d.expected) && valueMatches(m.actual, d.actual) &&
    (m.check === undefined || m.check(d));
}

export function appliesTo(entry, context) {
  const w = entry.when ?? {};
  return oneOf(w.compare ?? 'official', context.compare) && oneOf(w.variant, context.variant) && oneOf(w.app, context.app) && oneOf(w.module, context.module) && oneOf(w.environment, context.environment) &&
    oneOf(w.node, context.node);
}

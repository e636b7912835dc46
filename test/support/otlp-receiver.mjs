// In-process OTLP/HTTP receiver for the integration tests.
//
//   const rx = await startOtlpReceiver();            // { port = 0, host = '127.0.0.1', failWith }
//   process.env.OTEL_EXPORTER_OTLP_ENDPOINT = rx.url; // http://127.0.0.1:PORT
//   ... run the code under test ...
//   const span = await rx.waitFor(() => rx.spans.find((s) => s.name === 'GET /'));
//   await rx.close();
//
// Accepts POST /v1/traces, /v1/metrics and /v1/logs as application/x-protobuf or
// application/json (OTLP/JSON), optionally Content-Encoding: gzip (or deflate), and
// answers 200 with an empty Export*ServiceResponse in the request's content type.
// Malformed payloads get 400 with the reason (google.rpc.Status encoded in the request's
// content type, plus an `x-otlp-receiver-error` header) and leave the store untouched.
//
// Decoded shapes (both encodings normalise to exactly the same JS values):
//   ids          traceId / spanId / parentSpanId: lowercase hex strings, '' when absent
//   times        every *UnixNano field: decimal string of nanoseconds since the epoch
//                ('0' when absent) -- use BigInt(x) for arithmetic
//   attributes   plain object key -> value; AnyValue maps to string | boolean | number
//                (int64 as Number, lossy beyond 2^53) | array | plain object (kvlist) |
//                Buffer (bytes) | null (empty AnyValue)
//   enums        numbers (span kind, status code, severity number, temporality)
//
//   spans[]   { traceId, spanId, parentSpanId, traceState, flags, name, kind,
//               startTimeUnixNano, endTimeUnixNano, attributes, droppedAttributesCount,
//               events: [{ name, timeUnixNano, attributes, droppedAttributesCount }],
//               droppedEventsCount,
//               links: [{ traceId, spanId, traceState, attributes, droppedAttributesCount,
//                         flags }], droppedLinksCount,
//               status: { code, message }, resource, scope: { name, version, attributes },
//               schemaUrl, encoding: 'protobuf' | 'json' }
//   logs[]    { timeUnixNano, observedTimeUnixNano, severityNumber, severityText, body,
//               attributes, droppedAttributesCount, flags, traceId, spanId, eventName,
//               resource, scope, schemaUrl, encoding }
//   metrics[] { name, description, unit, type: 'gauge' | 'sum' | 'histogram' |
//               'exponentialHistogram' | 'summary' | 'unknown', aggregationTemporality
//               (number; sum/histogram/exponentialHistogram), isMonotonic (sum), metadata,
//               dataPoints, resource, scope, schemaUrl, encoding }
//     gauge/sum points:   { attributes, startTimeUnixNano, timeUnixNano, value (Number),
//                           valueType: 'double' | 'int' | null, flags, exemplars }
//     histogram points:   { attributes, startTimeUnixNano, timeUnixNano, count, sum, min,
//                           max (Number or undefined), bucketCounts: Number[],
//                           explicitBounds: Number[], flags, exemplars }
//     exponential points: { ..., count, sum, min, max, scale, zeroCount, zeroThreshold,
//                           positive: { offset, bucketCounts }, negative: {...}, flags }
//     summary points:     { ..., count, sum, quantileValues: [{ quantile, value }], flags }
//   requests[] { method, path, signal: 'traces' | 'metrics' | 'logs' | null, contentType,
//               contentEncoding, bytes (body length on the wire), status (HTTP status we
//               answered), error (reason string or null), items (records stored) }
//
// Methods: waitFor(predicate, { timeoutMs = 10000, intervalMs = 25 }) -> Promise of the
// predicate's truthy result (predicate is called with the receiver; a throwing predicate
// counts as "not yet"; on timeout rejects with summary() in the message); summary() -> one
// line of counts, span names, log bodies, metric names, requests; reset() empties all four
// arrays in place (keep references); setFailWith(status | null) answers every request with
// that HTTP status (429/502/503/504 are retried by the SDK, others fail at once) until null;
// close() -> Promise, drops keep-alive connections too.
import http from 'node:http';
import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs');

const PROTO_PATH = fileURLToPath(new URL('./otlp.proto', import.meta.url));

// ------------------------------------------------------------------------------ schema
let schema;
function loadSchema() {
  if (schema) return schema;
  // otlp.proto holds one section per upstream package; protobufjs allows a single
  // `package` per parse, so parse the sections one by one into a shared Root.
  const text = readFileSync(PROTO_PATH, 'utf8');
  const sections = text.split(/^(?=package\s)/m);
  const header = sections.shift();
  const syntax = /^syntax\s*=\s*"proto3"\s*;/m.test(header) ? 'syntax = "proto3";\n' : '';
  const root = new protobuf.Root();
  for (const section of sections) {
    protobuf.parse(syntax + section, root, { keepCase: false });
  }
  root.resolveAll();
  const collector = 'opentelemetry.proto.collector';
  schema = {
    root,
    requests: {
      traces: root.lookupType(`${collector}.trace.v1.ExportTraceServiceRequest`),
      metrics: root.lookupType(`${collector}.metrics.v1.ExportMetricsServiceRequest`),
      logs: root.lookupType(`${collector}.logs.v1.ExportLogsServiceRequest`),
    },
    rpcStatus: root.lookupType('google.rpc.Status'),
    enums: {
      spanKind: root.lookupEnum('opentelemetry.proto.trace.v1.Span.SpanKind'),
      statusCode: root.lookupEnum('opentelemetry.proto.trace.v1.Status.StatusCode'),
      severity: root.lookupEnum('opentelemetry.proto.logs.v1.SeverityNumber'),
      temporality: root.lookupEnum('opentelemetry.proto.metrics.v1.AggregationTemporality'),
    },
  };
  return schema;
}

const SIGNALS = { '/v1/traces': 'traces', '/v1/metrics': 'metrics', '/v1/logs': 'logs' };
const TO_OBJECT = { longs: String, enums: Number, bytes: Buffer, defaults: false, arrays: true, oneofs: false };

class PayloadError extends Error {}

// ------------------------------------------------------------------- value normalisers
// Field access that accepts the OTLP/JSON camelCase name or the proto snake_case name.
function get(obj, name) {
  if (obj == null || typeof obj !== 'object') return undefined;
  if (obj[name] !== undefined) return obj[name];
  const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return snake === name ? undefined : obj[snake];
}

function list(value, what) {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PayloadError(`${what} must be an array`);
  return value;
}

function str(value) {
  return value === undefined || value === null ? '' : String(value);
}

function nanos(value, what) {
  if (value === undefined || value === null || value === '') return '0';
  if (typeof value === 'object' && typeof value.toString === 'function' && 'low' in value) {
    return value.toString(); // Long (not produced with longs: String, kept for safety)
  }
  try {
    return BigInt(value).toString();
  } catch {
    throw new PayloadError(`${what} is not an integer: ${JSON.stringify(value)}`);
  }
}

function num(value, what) {
  if (value === undefined || value === null) return 0;
  const n = Number(value);
  if (Number.isNaN(n) && value !== 'NaN') throw new PayloadError(`${what} is not a number: ${JSON.stringify(value)}`);
  return n;
}

function optNum(value, what) {
  return value === undefined || value === null ? undefined : num(value, what);
}

function enumNum(value, enumType, what) {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (/^-?\d+$/.test(value)) return Number(value);
    if (value in enumType.values) return enumType.values[value];
  }
  throw new PayloadError(`${what} is not a valid enum value: ${JSON.stringify(value)}`);
}

// trace/span ids: bytes (protobuf) or hex string (OTLP/JSON) -> lowercase hex.
function hexId(value, what) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') {
    if (!/^([0-9a-fA-F]{2})*$/.test(value)) throw new PayloadError(`${what} is not a hex string: ${JSON.stringify(value)}`);
    return value.toLowerCase();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  throw new PayloadError(`${what} has an unexpected type`);
}

function anyValue(v, depth = 0) {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object') throw new PayloadError('AnyValue must be an object');
  if (depth > 64) throw new PayloadError('AnyValue nested too deeply');
  let x;
  if ((x = get(v, 'stringValue')) !== undefined) return String(x);
  if ((x = get(v, 'boolValue')) !== undefined) return Boolean(x);
  if ((x = get(v, 'intValue')) !== undefined) return num(x, 'intValue');
  if ((x = get(v, 'doubleValue')) !== undefined) return num(x, 'doubleValue');
  if ((x = get(v, 'arrayValue')) !== undefined) {
    return list(get(x, 'values'), 'arrayValue.values').map((e) => anyValue(e, depth + 1));
  }
  if ((x = get(v, 'kvlistValue')) !== undefined) return keyValues(get(x, 'values'), depth + 1);
  if ((x = get(v, 'bytesValue')) !== undefined) {
    return typeof x === 'string' ? Buffer.from(x, 'base64') : Buffer.from(x);
  }
  return null;
}

function keyValues(kvs, depth = 0) {
  const out = {};
  for (const kv of list(kvs, 'attributes')) {
    const key = get(kv, 'key');
    if (typeof key !== 'string') throw new PayloadError('KeyValue.key must be a string');
    out[key] = anyValue(get(kv, 'value'), depth);
  }
  return out;
}

function resourceOf(r) {
  return keyValues(get(r, 'attributes'));
}

function scopeOf(s) {
  return { name: str(get(s, 'name')), version: str(get(s, 'version')), attributes: keyValues(get(s, 'attributes')) };
}

// --------------------------------------------------------------------- signal flattening
function flattenTraces(req, encoding) {
  const { enums } = loadSchema();
  const out = [];
  for (const rs of list(get(req, 'resourceSpans'), 'resourceSpans')) {
    const resource = resourceOf(get(rs, 'resource'));
    for (const ss of list(get(rs, 'scopeSpans'), 'scopeSpans')) {
      const scope = scopeOf(get(ss, 'scope'));
      const schemaUrl = str(get(ss, 'schemaUrl')) || str(get(rs, 'schemaUrl'));
      for (const s of list(get(ss, 'spans'), 'spans')) {
        const status = get(s, 'status');
        out.push({
          traceId: hexId(get(s, 'traceId'), 'traceId'),
          spanId: hexId(get(s, 'spanId'), 'spanId'),
          parentSpanId: hexId(get(s, 'parentSpanId'), 'parentSpanId'),
          traceState: str(get(s, 'traceState')),
          flags: num(get(s, 'flags'), 'flags'),
          name: str(get(s, 'name')),
          kind: enumNum(get(s, 'kind'), enums.spanKind, 'kind'),
          startTimeUnixNano: nanos(get(s, 'startTimeUnixNano'), 'startTimeUnixNano'),
          endTimeUnixNano: nanos(get(s, 'endTimeUnixNano'), 'endTimeUnixNano'),
          attributes: keyValues(get(s, 'attributes')),
          droppedAttributesCount: num(get(s, 'droppedAttributesCount')),
          events: list(get(s, 'events'), 'events').map((e) => ({
            name: str(get(e, 'name')),
            timeUnixNano: nanos(get(e, 'timeUnixNano'), 'event.timeUnixNano'),
            attributes: keyValues(get(e, 'attributes')),
            droppedAttributesCount: num(get(e, 'droppedAttributesCount')),
          })),
          droppedEventsCount: num(get(s, 'droppedEventsCount')),
          links: list(get(s, 'links'), 'links').map((l) => ({
            traceId: hexId(get(l, 'traceId'), 'link.traceId'),
            spanId: hexId(get(l, 'spanId'), 'link.spanId'),
            traceState: str(get(l, 'traceState')),
            attributes: keyValues(get(l, 'attributes')),
            droppedAttributesCount: num(get(l, 'droppedAttributesCount')),
            flags: num(get(l, 'flags'), 'link.flags'),
          })),
          droppedLinksCount: num(get(s, 'droppedLinksCount')),
          status: {
            code: enumNum(get(status, 'code'), enums.statusCode, 'status.code'),
            message: str(get(status, 'message')),
          },
          resource,
          scope,
          schemaUrl,
          encoding,
        });
      }
    }
  }
  return out;
}

function flattenLogs(req, encoding) {
  const { enums } = loadSchema();
  const out = [];
  for (const rl of list(get(req, 'resourceLogs'), 'resourceLogs')) {
    const resource = resourceOf(get(rl, 'resource'));
    for (const sl of list(get(rl, 'scopeLogs'), 'scopeLogs')) {
      const scope = scopeOf(get(sl, 'scope'));
      const schemaUrl = str(get(sl, 'schemaUrl')) || str(get(rl, 'schemaUrl'));
      for (const r of list(get(sl, 'logRecords'), 'logRecords')) {
        out.push({
          timeUnixNano: nanos(get(r, 'timeUnixNano'), 'timeUnixNano'),
          observedTimeUnixNano: nanos(get(r, 'observedTimeUnixNano'), 'observedTimeUnixNano'),
          severityNumber: enumNum(get(r, 'severityNumber'), enums.severity, 'severityNumber'),
          severityText: str(get(r, 'severityText')),
          body: anyValue(get(r, 'body')),
          attributes: keyValues(get(r, 'attributes')),
          droppedAttributesCount: num(get(r, 'droppedAttributesCount')),
          flags: num(get(r, 'flags'), 'flags'),
          traceId: hexId(get(r, 'traceId'), 'traceId'),
          spanId: hexId(get(r, 'spanId'), 'spanId'),
          eventName: str(get(r, 'eventName')),
          resource,
          scope,
          schemaUrl,
          encoding,
        });
      }
    }
  }
  return out;
}

function exemplarsOf(p) {
  return list(get(p, 'exemplars'), 'exemplars').map((e) => {
    const asDouble = get(e, 'asDouble');
    return {
      filteredAttributes: keyValues(get(e, 'filteredAttributes')),
      timeUnixNano: nanos(get(e, 'timeUnixNano'), 'exemplar.timeUnixNano'),
      value: asDouble !== undefined ? num(asDouble, 'asDouble') : num(get(e, 'asInt'), 'asInt'),
      traceId: hexId(get(e, 'traceId'), 'exemplar.traceId'),
      spanId: hexId(get(e, 'spanId'), 'exemplar.spanId'),
    };
  });
}

function pointBase(p) {
  return {
    attributes: keyValues(get(p, 'attributes')),
    startTimeUnixNano: nanos(get(p, 'startTimeUnixNano'), 'startTimeUnixNano'),
    timeUnixNano: nanos(get(p, 'timeUnixNano'), 'timeUnixNano'),
    flags: num(get(p, 'flags'), 'flags'),
  };
}

function numberPoint(p) {
  const asDouble = get(p, 'asDouble');
  const asInt = get(p, 'asInt');
  let value = null;
  let valueType = null;
  if (asDouble !== undefined) [value, valueType] = [num(asDouble, 'asDouble'), 'double'];
  else if (asInt !== undefined) [value, valueType] = [num(asInt, 'asInt'), 'int'];
  return { ...pointBase(p), value, valueType, exemplars: exemplarsOf(p) };
}

function histogramPoint(p) {
  return {
    ...pointBase(p),
    count: num(get(p, 'count'), 'count'),
    sum: optNum(get(p, 'sum'), 'sum'),
    min: optNum(get(p, 'min'), 'min'),
    max: optNum(get(p, 'max'), 'max'),
    bucketCounts: list(get(p, 'bucketCounts'), 'bucketCounts').map((c) => num(c, 'bucketCounts')),
    explicitBounds: list(get(p, 'explicitBounds'), 'explicitBounds').map((b) => num(b, 'explicitBounds')),
    exemplars: exemplarsOf(p),
  };
}

function buckets(b) {
  return {
    offset: num(get(b, 'offset'), 'offset'),
    bucketCounts: list(get(b, 'bucketCounts'), 'bucketCounts').map((c) => num(c, 'bucketCounts')),
  };
}

function exponentialPoint(p) {
  return {
    ...pointBase(p),
    count: num(get(p, 'count'), 'count'),
    sum: optNum(get(p, 'sum'), 'sum'),
    min: optNum(get(p, 'min'), 'min'),
    max: optNum(get(p, 'max'), 'max'),
    scale: num(get(p, 'scale'), 'scale'),
    zeroCount: num(get(p, 'zeroCount'), 'zeroCount'),
    zeroThreshold: num(get(p, 'zeroThreshold'), 'zeroThreshold'),
    positive: buckets(get(p, 'positive')),
    negative: buckets(get(p, 'negative')),
    exemplars: exemplarsOf(p),
  };
}

function summaryPoint(p) {
  return {
    ...pointBase(p),
    count: num(get(p, 'count'), 'count'),
    sum: num(get(p, 'sum'), 'sum'),
    quantileValues: list(get(p, 'quantileValues'), 'quantileValues').map((q) => ({
      quantile: num(get(q, 'quantile'), 'quantile'),
      value: num(get(q, 'value'), 'value'),
    })),
  };
}

const METRIC_TYPES = [
  ['gauge', numberPoint],
  ['sum', numberPoint],
  ['histogram', histogramPoint],
  ['exponentialHistogram', exponentialPoint],
  ['summary', summaryPoint],
];

function flattenMetrics(req, encoding) {
  const { enums } = loadSchema();
  const out = [];
  for (const rm of list(get(req, 'resourceMetrics'), 'resourceMetrics')) {
    const resource = resourceOf(get(rm, 'resource'));
    for (const sm of list(get(rm, 'scopeMetrics'), 'scopeMetrics')) {
      const scope = scopeOf(get(sm, 'scope'));
      const schemaUrl = str(get(sm, 'schemaUrl')) || str(get(rm, 'schemaUrl'));
      for (const m of list(get(sm, 'metrics'), 'metrics')) {
        const metric = {
          name: str(get(m, 'name')),
          description: str(get(m, 'description')),
          unit: str(get(m, 'unit')),
          type: 'unknown',
          aggregationTemporality: undefined,
          isMonotonic: undefined,
          metadata: keyValues(get(m, 'metadata')),
          dataPoints: [],
          resource,
          scope,
          schemaUrl,
          encoding,
        };
        for (const [type, toPoint] of METRIC_TYPES) {
          const data = get(m, type);
          if (data === undefined || data === null) continue;
          metric.type = type;
          metric.dataPoints = list(get(data, 'dataPoints'), `${type}.dataPoints`).map(toPoint);
          if (type === 'sum' || type === 'histogram' || type === 'exponentialHistogram') {
            metric.aggregationTemporality = enumNum(get(data, 'aggregationTemporality'), enums.temporality, 'aggregationTemporality');
          }
          if (type === 'sum') metric.isMonotonic = Boolean(get(data, 'isMonotonic'));
          break;
        }
        out.push(metric);
      }
    }
  }
  return out;
}

const FLATTEN = { traces: flattenTraces, metrics: flattenMetrics, logs: flattenLogs };

// ------------------------------------------------------------------------------ decode
function decodeBody(signal, encoding, body) {
  let request;
  if (encoding === 'json') {
    try {
      request = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new PayloadError(`invalid JSON: ${err.message}`);
    }
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      throw new PayloadError('JSON body must be an object');
    }
  } else {
    const type = loadSchema().requests[signal];
    try {
      request = type.toObject(type.decode(body), TO_OBJECT);
    } catch (err) {
      throw new PayloadError(`invalid protobuf ${type.name}: ${err.message}`);
    }
  }
  return FLATTEN[signal](request, encoding);
}

function mediaType(contentType) {
  const base = String(contentType || '').split(';')[0].trim().toLowerCase();
  if (base === 'application/x-protobuf' || base === 'application/protobuf') return 'protobuf';
  if (base === 'application/json') return 'json';
  return null;
}

function decompress(body, contentEncoding) {
  const enc = String(contentEncoding || '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  try {
    if (enc === 'gzip' || enc === 'x-gzip') return zlib.gunzipSync(body);
    if (enc === 'deflate') return zlib.inflateSync(body);
  } catch (err) {
    throw new PayloadError(`cannot decompress ${enc} body: ${err.message}`);
  }
  throw new PayloadError(`unsupported content-encoding: ${enc}`);
}

// ------------------------------------------------------------------------------ server
function checkStatus(status) {
  if (status === null || status === undefined) return null;
  if (!(Number.isInteger(status) && status >= 100 && status <= 599)) {
    throw new TypeError(`failWith expects an HTTP status code (100-599) or null, got ${JSON.stringify(status)}`);
  }
  return status;
}

export async function startOtlpReceiver({ port = 0, host = '127.0.0.1', failWith = null } = {}) {
  loadSchema(); // fail fast on a schema error, before any request arrives
  const spans = [];
  const logs = [];
  const metrics = [];
  const requests = [];
  const stores = { traces: spans, metrics, logs };
  let failStatus = checkStatus(failWith);

  function send(res, status, contentType, body, reason) {
    const headers = { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
    if (reason) headers['x-otlp-receiver-error'] = reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 500);
    res.writeHead(status, headers);
    res.end(body);
  }

  // Error body: google.rpc.Status in the request's encoding, or text when it is unknown.
  function sendError(res, status, encoding, reason) {
    const grpcCode = status === 400 ? 3 /* INVALID_ARGUMENT */ : 14; /* UNAVAILABLE */
    if (encoding === 'json') {
      send(res, status, 'application/json', JSON.stringify({ code: grpcCode, message: reason }), reason);
    } else if (encoding === 'protobuf') {
      const { rpcStatus } = loadSchema();
      const body = Buffer.from(rpcStatus.encode(rpcStatus.create({ code: grpcCode, message: reason })).finish());
      send(res, status, 'application/x-protobuf', body, reason);
    } else {
      send(res, status, 'text/plain; charset=utf-8', reason, reason);
    }
  }

  function handle(req, res, raw) {
    const path = (req.url || '').split('?')[0];
    const signal = SIGNALS[path] ?? null;
    const contentType = req.headers['content-type'] ?? '';
    const entry = {
      method: req.method,
      path,
      signal,
      contentType,
      contentEncoding: req.headers['content-encoding'] ?? '',
      bytes: raw.length,
      status: 0,
      error: null,
      items: 0,
    };
    requests.push(entry);
    const encoding = mediaType(contentType);
    const fail = (status, reason, enc = encoding) => {
      entry.status = status;
      entry.error = reason;
      sendError(res, status, enc, reason);
    };

    if (failStatus !== null) return fail(failStatus, `otlp-receiver: simulated failure (HTTP ${failStatus})`);
    if (!signal) return fail(404, `unknown path ${path}; expected /v1/traces, /v1/metrics or /v1/logs`, null);
    if (req.method !== 'POST') return fail(405, `method ${req.method} not allowed; use POST`, null);
    if (!encoding) return fail(415, `unsupported content-type ${JSON.stringify(contentType)}; use application/x-protobuf or application/json`, null);

    let items;
    try {
      items = decodeBody(signal, encoding, decompress(raw, entry.contentEncoding));
    } catch (err) {
      if (err instanceof PayloadError) return fail(400, err.message);
      return fail(500, `otlp-receiver internal error: ${err.stack || err}`);
    }
    stores[signal].push(...items);
    entry.status = 200;
    entry.items = items.length;
    if (encoding === 'json') send(res, 200, 'application/json', '{}');
    else send(res, 200, 'application/x-protobuf', Buffer.alloc(0));
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  server.keepAliveTimeout = 1000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const boundPort = server.address().port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const receiver = {
    url: `http://${urlHost}:${boundPort}`,
    port: boundPort,
    host,
    spans,
    logs,
    metrics,
    requests,

    /** One-line description of everything received so far (used in timeout messages). */
    summary() {
      const q = (v) => JSON.stringify(v);
      const bodies = logs.map((l) => (typeof l.body === 'string' ? l.body : q(l.body)));
      const reqs = requests.map((r) => `${r.method} ${r.path} ${r.status}${r.error ? ` (${r.error})` : ''}`);
      const cap = (a) => (a.length > 50 ? [...a.slice(0, 50), `... +${a.length - 50} more`] : a);
      return [
        `${spans.length} span(s): ${q(cap(spans.map((s) => s.name)))}`,
        `${logs.length} log(s): ${q(cap(bodies))}`,
        `${metrics.length} metric(s): ${q(cap([...new Set(metrics.map((m) => m.name))]))}`,
        `${requests.length} request(s): ${q(cap(reqs))}`,
      ].join('; ');
    },

    waitFor(predicate, { timeoutMs = 10000, intervalMs = 25 } = {}) {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        let lastError;
        const tick = () => {
          let result;
          try {
            result = predicate(receiver);
          } catch (err) {
            lastError = err;
          }
          if (result) return resolve(result);
          if (Date.now() - started >= timeoutMs) {
            const why = lastError ? ` (last predicate error: ${lastError.message})` : '';
            return reject(new Error(`otlp-receiver: waitFor timed out after ${timeoutMs}ms${why}. Received ${receiver.summary()}`));
          }
          setTimeout(tick, intervalMs);
        };
        tick();
      });
    },

    reset() {
      spans.length = 0;
      logs.length = 0;
      metrics.length = 0;
      requests.length = 0;
    },

    setFailWith(status) {
      failStatus = checkStatus(status);
    },

    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return receiver;
}

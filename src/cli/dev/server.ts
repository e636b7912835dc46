// `otelkit dev`: receives OTLP/HTTP (protobuf and JSON) and serves the viewer page and its
// JSON API. One request handler serves both listeners: the OTLP port (4318) and the page's
// port (16686); either answers everything, so a single --port is enough when they are equal.
//
// Who may talk to it (access.ts): a request must name an allowed Host (DNS rebinding), and a
// request from a browser page (an Origin header) must come from a page on the same host. Every
// query parameter is checked against a range; a body over MAX_BODY is read to its end and
// answered 413.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { DecodeError, TooLargeError, decodeJson, decodeProtobuf, type Decoded, type Signal } from './otlp-decode';
import { encodeStatus } from './protobuf';
import { DEFAULT_MAX_BYTES, Store, type StoreLimits } from './store';
import { LEVELS, MAX_STEPS, errorDetail, listErrors, listLogs, listMetrics, listServices, listTraces, metricSeries, routeStats, traceDetail } from './queries';
import { PAGE_HTML } from './page';
import { Access } from './access';
import { GROUP_ID } from './error-groups';

export const DEV_DEFAULTS = {
  host: 'localhost',
  port: 4318,
  uiPort: 16686,
  maxSpans: 50_000,
  maxLogs: 20_000,
  maxPoints: 100_000,
  maxBytes: DEFAULT_MAX_BYTES,
};

export interface DevOptions extends StoreLimits {
  host: string;
  port: number;
  uiPort: number;
}

export interface DevServer {
  store: Store;
  otlpUrl: string;
  uiUrl: string;
  otlpPort: number;
  uiPort: number;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024 * 1024;
const MAX_INFLATED = 64 * 1024 * 1024;
/** Past MAX_BODY a body is read and thrown away so that the client reads the 413 (closing with
 * unread data resets the connection); past this much more the connection is cut. */
const MAX_DISCARD = 256 * 1024 * 1024;
const SIGNAL_PATHS: Record<string, Signal> = { '/v1/traces': 'traces', '/v1/metrics': 'metrics', '/v1/logs': 'logs' };

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function mediaType(contentType: string | undefined): 'protobuf' | 'json' | undefined {
  const t = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (t === 'application/x-protobuf' || t === 'application/protobuf') return 'protobuf';
  if (t === 'application/json') return 'json';
  return undefined;
}

function readBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let cut = false;
    const tooLarge = () => new HttpError(413, `body larger than ${MAX_BODY} bytes; send smaller batches`);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) return void chunks.push(c);
      chunks.length = 0;
      if (size > MAX_BODY + MAX_DISCARD && !cut) {
        // Answer now and cut: the client may see a reset instead.
        cut = true;
        res.setHeader('connection', 'close');
        reject(tooLarge());
        req.pause();
        res.once('finish', () => req.destroy());
      }
    });
    req.on('end', () => (size > MAX_BODY ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function inflate(body: Buffer, encoding: string | undefined): Buffer {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  try {
    if (enc === 'gzip') return zlib.gunzipSync(body, { maxOutputLength: MAX_INFLATED });
    if (enc === 'deflate') return zlib.inflateSync(body, { maxOutputLength: MAX_INFLATED });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, `the ${enc} body inflates to more than ${MAX_INFLATED} bytes; send smaller batches`);
    throw new DecodeError(`cannot decompress the ${enc} body: ${(e as Error).message}`);
  }
  throw new HttpError(415, `unsupported content-encoding ${JSON.stringify(enc)}; use gzip or none`);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** CORS headers for an OTLP answer: only a page of an allowed origin (Access) gets any. */
function corsHeaders(req: http.IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (origin === undefined) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': 'content-type, content-encoding',
    vary: 'origin',
  };
}

async function ingest(store: Store, signal: Signal, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const enc = mediaType(req.headers['content-type']);
  const CORS = corsHeaders(req);
  const fail = (status: number, reason: string) => {
    store.rejectedRequests++;
    const headers = { ...CORS, 'x-otelkit-error': reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 300) };
    // google.rpc.Status, in the request's encoding (code 3: INVALID_ARGUMENT).
    if (enc === 'protobuf') {
      res.writeHead(status, { ...headers, 'content-type': 'application/x-protobuf' });
      res.end(encodeStatus(3, reason));
    } else {
      res.writeHead(status, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 3, message: reason }));
    }
  };
  if (!enc) return fail(415, `unsupported content-type ${JSON.stringify(req.headers['content-type'] ?? '')}; use application/x-protobuf or application/json`);
  let decoded: Decoded;
  try {
    const raw = inflate(await readBody(req, res), req.headers['content-encoding']);
    decoded = enc === 'json' ? decodeJson(signal, raw.toString('utf8')) : decodeProtobuf(signal, raw);
  } catch (e) {
    if (e instanceof HttpError) return fail(e.status, e.message);
    if (e instanceof TooLargeError) return fail(413, e.message);
    if (e instanceof DecodeError) return fail(400, `invalid OTLP ${signal} ${enc === 'json' ? 'JSON' : 'protobuf'} payload: ${e.message}`);
    return fail(400, `invalid OTLP ${signal} payload: ${(e as Error).message}`);
  }
  store.add(decoded);
  if (enc === 'json') {
    res.writeHead(200, { ...CORS, 'content-type': 'application/json' });
    res.end('{}');
  } else {
    res.writeHead(200, { ...CORS, 'content-type': 'application/x-protobuf' });
    res.end();
  }
}

/** The longest text a query parameter may hold (a service, a route, a search). */
const MAX_PARAM = 1024;
/** The most items one answer may be asked for (the most --max-spans allows). */
const MAX_LIMIT = 10_000_000;

/** A text parameter: absent or empty is undefined; given twice or too long is a 400. */
function strParam(q: URLSearchParams, name: string): string | undefined {
  const all = q.getAll(name);
  if (all.length > 1) throw new HttpError(400, `${name} is given ${all.length} times; give it once`);
  const v = all[0];
  if (v === undefined || v === '') return undefined;
  if (v.length > MAX_PARAM) throw new HttpError(400, `${name} is longer than ${MAX_PARAM} characters`);
  return v;
}

/** A number parameter within [min, max] (a whole number when `integer`); anything else is a 400. */
function numParam(q: URLSearchParams, name: string, min: number, max: number, integer = false): number | undefined {
  const v = strParam(q, name);
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new HttpError(400, `${name} must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}, got ${JSON.stringify(v.slice(0, 40))}`);
  }
  return n;
}

function oneOf<T extends string>(q: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const v = strParam(q, name)?.toLowerCase();
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new HttpError(400, `${name} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function traceIdParam(q: URLSearchParams, name: string): string | undefined {
  const v = strParam(q, name);
  if (v !== undefined && !/^[0-9a-fA-F]{32}$/.test(v)) throw new HttpError(400, `${name} must be 32 hex digits`);
  return v?.toLowerCase();
}

/** Durations: up to a year, in milliseconds. */
const MAX_MS = 365 * 24 * 3600 * 1000;

function api(store: Store, path: string, q: URLSearchParams, res: http.ServerResponse): void {
  const service = strParam(q, 'service');
  if (path === '/api/services') return sendJson(res, 200, listServices(store));
  if (path === '/api/stats') return sendJson(res, 200, { ...store.stats(), limits: store.limits });
  if (path === '/api/traces') {
    return sendJson(res, 200, listTraces(store, {
      service, route: strParam(q, 'route'), status: oneOf(q, 'status', ['ok', 'error'] as const),
      minMs: numParam(q, 'minMs', 0, MAX_MS), maxMs: numParam(q, 'maxMs', 0, MAX_MS), limit: numParam(q, 'limit', 1, MAX_LIMIT, true),
    }));
  }
  const m = /^\/api\/traces\/([0-9a-fA-F]{32})$/.exec(path);
  if (m) {
    const t = traceDetail(store, m[1].toLowerCase());
    return t ? sendJson(res, 200, t) : sendJson(res, 404, { error: `trace ${m[1]} not found` });
  }
  if (path === '/api/logs') {
    return sendJson(res, 200, listLogs(store, {
      level: oneOf(q, 'level', Object.keys(LEVELS)), service, q: strParam(q, 'q'), traceId: traceIdParam(q, 'traceId'),
      limit: numParam(q, 'limit', 1, MAX_LIMIT, true),
    }));
  }
  if (path === '/api/errors') {
    return sendJson(res, 200, listErrors(store, { service, q: strParam(q, 'q'), limit: numParam(q, 'limit', 1, MAX_LIMIT, true) }));
  }
  const e = /^\/api\/errors\/([^/]*)$/.exec(path);
  if (e) {
    if (!GROUP_ID.test(e[1])) throw new HttpError(400, 'an error group is 1 to 64 letters, digits, "_", "." or "-"');
    // Occurrences: the group's records still in the log store, newest first.
    const g = errorDetail(store, e[1], service, numParam(q, 'limit', 1, 1000, true));
    return g ? sendJson(res, 200, g) : sendJson(res, 404, { error: `error group ${e[1]} not found` });
  }
  if (path === '/api/metrics' || path === '/api/metrics/names') return sendJson(res, 200, listMetrics(store, service));
  if (path === '/api/metrics/routes') {
    // A week at most, steps of 1 s to a day, at most MAX_STEPS steps in the window.
    const windowMin = numParam(q, 'windowMin', 1, 7 * 24 * 60);
    const stepSec = numParam(q, 'stepSec', 1, 24 * 3600);
    const windowMs = (windowMin ?? 15) * 60_000;
    const stepMs = (stepSec ?? 10) * 1000;
    if (windowMs / stepMs > MAX_STEPS) throw new HttpError(400, `windowMin / stepSec gives more than ${MAX_STEPS} steps; raise stepSec`);
    return sendJson(res, 200, routeStats(store, { service, windowMs, stepMs, limit: numParam(q, 'limit', 1, 1000, true) }));
  }
  if (path === '/api/metrics/series') {
    const name = strParam(q, 'name');
    if (!name) throw new HttpError(400, 'name is required');
    return sendJson(res, 200, metricSeries(store, name, service));
  }
  throw new HttpError(404, `no such API: ${path}`);
}

export function createHandler(store: Store, access: Access): http.RequestListener {
  return (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendJson(res, 400, { error: 'malformed request target' });
    }
    const signal = SIGNAL_PATHS[url.pathname];
    const refused = access.check(req, signal !== undefined);
    if (refused) {
      // A read or a request cut short: drain nothing, say why, close.
      res.setHeader('connection', 'close');
      return sendJson(res, 403, { error: refused });
    }
    if (signal) {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, corsHeaders(req));
        return void res.end();
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' });
        return void res.end('use POST\n');
      }
      ingest(store, signal, req, res).catch((e: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: String(e) });
        else res.end();
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' });
      return void res.end('method not allowed\n');
    }
    try {
      if (url.pathname === '/' || url.pathname === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        return void res.end(PAGE_HTML);
      }
      if (url.pathname.startsWith('/api/')) return api(store, url.pathname, url.searchParams, res);
      throw new HttpError(404, `not found: ${url.pathname}`);
    } catch (e) {
      if (e instanceof HttpError) return sendJson(res, e.status, { error: e.message });
      sendJson(res, 500, { error: String(e) });
    }
  };
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use: stop what listens there or pick another port (--port / --ui-port)`) : err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** `localhost` means both loopback addresses, so that clients resolving it either way connect. */
async function listenAll(handler: http.RequestListener, host: string, port: number): Promise<{ servers: http.Server[]; port: number }> {
  const first = http.createServer(handler);
  first.keepAliveTimeout = 5000;
  const primary = host === 'localhost' ? '127.0.0.1' : host;
  const bound = await listen(first, port, primary);
  const servers = [first];
  if (host === 'localhost') {
    const v6 = http.createServer(handler);
    try {
      await listen(v6, bound, '::1');
      servers.push(v6);
    } catch {
      // no IPv6 loopback here: IPv4 is enough
    }
  }
  return { servers, port: bound };
}

export async function startDevServer(opts: DevOptions): Promise<DevServer> {
  const store = new Store({ maxSpans: opts.maxSpans, maxLogs: opts.maxLogs, maxPoints: opts.maxPoints, maxBytes: opts.maxBytes, maxErrorGroups: opts.maxErrorGroups });
  const handler = createHandler(store, new Access(opts.host));
  const otlp = await listenAll(handler, opts.host, opts.port);
  let ui = otlp;
  if (opts.uiPort !== opts.port || opts.port === 0) {
    try {
      ui = await listenAll(handler, opts.host, opts.uiPort);
    } catch (e) {
      await Promise.all(otlp.servers.map((s) => new Promise((r) => s.close(r))));
      throw e;
    }
  }
  const urlHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? 'localhost' : opts.host;
  const all = [...new Set([...otlp.servers, ...ui.servers])];
  return {
    store,
    otlpUrl: `http://${urlHost}:${otlp.port}`,
    uiUrl: `http://${urlHost}:${ui.port}/`,
    otlpPort: otlp.port,
    uiPort: ui.port,
    close: () => Promise.all(all.map((s) => new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    }))).then(() => undefined),
  };
}

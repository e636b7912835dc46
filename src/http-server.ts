// Incoming HTTP requests: server spans and the http.server.request.duration histogram, with
// the stable semantic conventions the upstream http instrumentation emits. It replaces that
// instrumentation's server side because most of its per-request cost (building every span
// attribute, header capture hooks, safe-execute wrappers) is paid before and regardless of the
// sampling decision; here an unsampled request costs the context, the two emitter bindings the
// application's callbacks need, and one histogram record. Outgoing requests stay upstream's.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { context, metrics, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Histogram, type Span, type Tracer } from '@opentelemetry/api';
import { RPCType, setRPCMetadata, suppressTracing, type RPCMetadata } from '@opentelemetry/core';
import { activeContext, withContext } from './fast-context';
import { VERSION } from './version';

export interface ServerInstrumentationOptions {
  /** Paths (without query) that are never traced nor counted. */
  ignorePaths: readonly string[];
  /** Requests to these servers (the admin server) are never traced nor counted. */
  ignoreServer: () => unknown;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
// Stable semantic-convention advice for http.server.request.duration.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const PATCHED = Symbol.for('otelkit.http.server.patched');

interface Instruments {
  tracer: Tracer;
  duration: Histogram;
}

let instruments: Instruments | undefined;
function getInstruments(): Instruments {
  if (!instruments) {
    const meter = metrics.getMeter('otelkit.http', VERSION);
    instruments = {
      tracer: trace.getTracer('otelkit.http', VERSION),
      duration: meter.createHistogram('http.server.request.duration', {
        description: 'Duration of HTTP server requests.',
        unit: 's',
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
      }),
    };
  }
  return instruments;
}

function splitTarget(url: string | undefined): [path: string, query: string | undefined] {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q === -1 ? [target, undefined] : [target.slice(0, q), target.slice(q + 1)];
}

function hostAndPort(req: IncomingMessage): [string | undefined, number | undefined] {
  const host = req.headers.host;
  if (!host) return [undefined, undefined];
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    const port = host.slice(end + 2);
    return [host.slice(1, end), port ? Number(port) : undefined];
  }
  const colon = host.lastIndexOf(':');
  return colon === -1 ? [host, undefined] : [host.slice(0, colon), Number(host.slice(colon + 1))];
}

/** Span attributes known at request start; computed only for sampled requests. */
function requestAttributes(req: IncomingMessage, method: string, scheme: string, path: string, query: string | undefined): Attributes {
  const [address, port] = hostAndPort(req);
  const a: Attributes = {
    'http.request.method': method,
    'url.scheme': scheme,
    'url.path': path,
    'network.protocol.version': req.httpVersion,
  };
  if (method === '_OTHER') a['http.request.method_original'] = req.method;
  if (query !== undefined) a['url.query'] = query;
  if (address !== undefined) a['server.address'] = address;
  if (port !== undefined && !Number.isNaN(port)) a['server.port'] = port;
  const socket = req.socket;
  if (socket) {
    if (socket.remoteAddress) a['network.peer.address'] = socket.remoteAddress;
    if (socket.remotePort) a['network.peer.port'] = socket.remotePort;
  }
  const forwarded = req.headers['x-forwarded-for'];
  const client = typeof forwarded === 'string' ? forwarded.split(',')[0].trim() : socket?.remoteAddress;
  if (client) a['client.address'] = client;
  const ua = req.headers['user-agent'];
  if (ua) a['user_agent.original'] = ua;
  return a;
}

function finish(
  span: Span,
  rpc: RPCMetadata,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  scheme: string,
  start: number,
  error: Error | undefined,
): void {
  const status = res.statusCode;
  const route = rpc.route;
  const metricAttrs: Attributes = {
    'http.request.method': method,
    'url.scheme': scheme,
    'network.protocol.version': req.httpVersion,
    'http.response.status_code': status,
  };
  if (route) metricAttrs['http.route'] = route;
  if (error) metricAttrs['error.type'] = error.name;
  else if (status >= 500) metricAttrs['error.type'] = String(status);
  getInstruments().duration.record((performance.now() - start) / 1000, metricAttrs);

  if (!span.isRecording()) return;
  span.setAttribute('http.response.status_code', status);
  if (route) {
    span.setAttribute('http.route', route);
    span.updateName(`${method === '_OTHER' ? 'HTTP' : method} ${route}`);
  }
  if (error) {
    span.recordException(error);
    span.setAttribute('error.type', error.name);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else if (status >= 500) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/**
 * Runs every listener of the emitter in ctx: one wrapper around emit, entered only when the
 * emitting context is another one. The ContextManager's bind(ctx, emitter) does the same per
 * listener by patching the emitter's seven listener methods and keeping a map of wrappers,
 * which costs every request several closures and a WeakMap per event name.
 */
function bindEmit(ctx: Context, ee: EventEmitter): void {
  const emit = ee.emit;
  ee.emit = function boundEmit(this: EventEmitter, ...args: [event: string | symbol, ...rest: unknown[]]): boolean {
    if (activeContext() === ctx) return emit.apply(this, args);
    return withContext(ctx, () => emit.apply(this, args));
  };
}

/** Patches the emit of a Server class so that every 'request' event is traced and timed. */
export function instrumentServer(ServerClass: { prototype: Server }, scheme: 'http' | 'https', opts: ServerInstrumentationOptions): void {
  const proto = ServerClass.prototype as Server & { [PATCHED]?: boolean };
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  const ignored = new Set(opts.ignorePaths);
  // Server.emit's overloads are per event name; here every event passes through untouched.
  const original = proto.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;

  proto.emit = function emit(this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'request') return original.call(this, event, ...args);
    const req = args[0] as IncomingMessage;
    const res = args[1] as ServerResponse;
    const [path, query] = splitTarget(req.url);
    if (ignored.has(path) || this === opts.ignoreServer()) {
      // Health probes and scrapes: no span, no metric, and nothing they call is traced.
      return context.with(suppressTracing(context.active()), () => original.call(this, event, ...args));
    }
    const start = performance.now();
    const rawMethod = req.method ?? 'GET';
    const method = KNOWN_METHODS.has(rawMethod) ? rawMethod : '_OTHER';
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const { tracer } = getInstruments();
    // Built-in samplers look at the trace id and the parent only: the attributes are computed
    // after the decision, for sampled requests alone.
    const span = tracer.startSpan(method === '_OTHER' ? 'HTTP' : method, { kind: SpanKind.SERVER }, parent);
    if (span.isRecording()) span.setAttributes(requestAttributes(req, method, scheme, path, query));
    const rpc: RPCMetadata = { type: RPCType.HTTP, span };
    const ctx = setRPCMetadata(trace.setSpan(parent, span), rpc);

    let done = false;
    const end = (error?: Error) => {
      if (done) return;
      done = true;
      finish(span, rpc, req, res, method, scheme, start, error);
    };
    res.once('close', () => end());
    // Listeners the application adds to req/res (body parsers, on-finished) would run from
    // the socket's context: their events are emitted in the request's.
    bindEmit(ctx, req);
    bindEmit(ctx, res);
    return withContext(ctx, () => {
      try {
        return original.call(this, event, ...args);
      } catch (err) {
        end(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    });
  };
}

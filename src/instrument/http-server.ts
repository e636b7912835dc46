// Incoming HTTP requests: server spans and the http.server.request.duration histogram, with
// the stable semantic conventions the upstream http instrumentation emits. It replaces that
// instrumentation's server side because most of its per-request cost (building every span
// attribute, header capture hooks, safe-execute wrappers, a context bound to every listener of
// req and res) is paid before and regardless of the sampling decision. Here an unsampled request
// costs its context, a few small objects and one histogram record. The request's context is
// entered on the connection's HTTP parser, so req's events run in it with no work per event
// (where that lasts beyond the parser's current callback: not on Node 24's AsyncContextFrame,
// where req's events go through one patch of IncomingMessage's emit instead); res's go through
// one patch of ServerResponse's emit, which also ends the exchange.
// Outgoing requests stay upstream's.
import { executionAsyncResource } from 'node:async_hooks';
import { IncomingMessage, ServerResponse, type Server } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { RPCType, suppressTracing } from '@opentelemetry/core';
import { activeContext, enterContext, enteredContextEndsWithCallback, LinkedContext, RPC_METADATA_KEY, SPAN_KEY, withContext } from '../trace/context-access';
import type { HttpServerDuration } from '../metrics/http-server-duration';
import type { RootSpanStarter } from '../trace/root-span';
import { OwnSpan } from '../trace/own-span';
import type { ServerRequestMetadata } from '../errors/request-context';
import { VERSION } from '../version';

export interface ServerInstrumentationOptions {
  /** Paths (without query) that are never traced nor counted. */
  ignorePaths: readonly string[];
  /** Requests to these servers (the admin server) are never traced nor counted. */
  ignoreServer: () => unknown;
  /** Where request durations are recorded. */
  duration: HttpServerDuration;
  /** Starts the span of a request without a parent, when the sampler allows deciding it here. */
  startRoot?: RootSpanStarter;
  /**
   * Called when a response ends for a request whose framework reported errors (error tracking);
   * returns the message for the server span's error status, if any.
   */
  settleErrors?: (rpc: ServerRequestMetadata, status: number) => string | undefined;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

const PATCHED = Symbol.for('otelkit.http.server.patched');

// Under express, every req and res ends up with a hidden class of its own: express sets their
// prototype, and a property added after that gives the object a new map in V8. A named property
// read of res or req after express's init then misses V8's megamorphic cache and goes to the
// runtime, about 0.1 us each, three a request here. What can be read before express runs is read
// then, when req still has Node's shared map; what cannot is read with a key held in a variable,
// which V8 looks up in the object's descriptors without the runtime (three times cheaper).
const STATUS_CODE = 'statusCode';
const EVENTS = '_events';
// The exchange's state, kept on res.
const kExchange = Symbol('otelkit.http.exchange');

interface InstrumentedResponse extends ServerResponse {
  [kExchange]?: Exchange;
}
// The request's context, kept on req only where entering it on the connection does not last.
const kRequestContext = Symbol('otelkit.http.request.context');

interface InstrumentedRequest extends IncomingMessage {
  [kRequestContext]?: Context;
}

/** One request/response pair being traced and timed. */
interface Exchange {
  readonly span: Span;
  readonly rpc: ServerRequestMetadata;
  readonly ctx: Context;
  readonly req: IncomingMessage;
  readonly method: string;
  /** req.httpVersion, read when the request arrives (below, on the hidden classes of req and res). */
  readonly version: string;
  readonly scheme: string;
  readonly start: number;
  readonly duration: HttpServerDuration;
  done: boolean;
}

/** The name of the tracer (the instrumentation scope) of server spans. */
export const SERVER_TRACER = 'otelkit.http';
let tracer: Tracer | undefined;
let settleErrors: ServerInstrumentationOptions['settleErrors'];
const getTracer = (): Tracer => (tracer ??= trace.getTracer(SERVER_TRACER, VERSION));

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

/**
 * Reads the socket's peer on every request, sampled or not. net.Socket caches the answer in a
 * property it adds to the socket (_peername). Read only for the attributes of sampled requests,
 * that property arrives at a random request of each connection, sockets end up with different
 * hidden classes, and the socket and stream code every request runs turns polymorphic: measured
 * +2.8 µs a request at sampling 0.1 and +1.6 µs at 1.0. Read here, each socket gets it at its
 * first request, and later reads are a getter returning the cached value.
 */
function readPeer(req: IncomingMessage): string | undefined {
  return req.socket?.remoteAddress;
}

/** Span attributes known at request start; computed only for sampled requests. */
function requestAttributes(req: IncomingMessage, method: string, version: string, scheme: string, path: string, query: string | undefined, peer: string | undefined): Attributes {
  const [address, port] = hostAndPort(req);
  const a: Attributes = {
    'http.request.method': method,
    'url.scheme': scheme,
    'url.path': path,
    'network.protocol.version': version,
  };
  if (method === '_OTHER') a['http.request.method_original'] = req.method;
  if (query !== undefined) a['url.query'] = query;
  if (address !== undefined) a['server.address'] = address;
  if (port !== undefined && !Number.isNaN(port)) a['server.port'] = port;
  const socket = req.socket;
  if (socket) {
    if (peer) a['network.peer.address'] = peer;
    if (socket.remotePort) a['network.peer.port'] = socket.remotePort;
  }
  const forwarded = req.headers['x-forwarded-for'];
  const client = typeof forwarded === 'string' ? forwarded.split(',')[0].trim() : peer;
  if (client) a['client.address'] = client;
  const ua = req.headers['user-agent'];
  if (ua) a['user_agent.original'] = ua;
  return a;
}

function finish(ex: Exchange, res: ServerResponse, error: Error | undefined): void {
  if (ex.done) return;
  ex.done = true;
  const status = (res as unknown as Record<string, number>)[STATUS_CODE];
  const route = ex.rpc.route;
  const errorType = error ? error.name : status >= 500 ? String(status) : undefined;
  ex.duration.record((performance.now() - ex.start) / 1000, ex.method, ex.scheme, ex.version, status, route, errorType);
  // Errors a framework reported during the request are recorded now that the status is known.
  const errorMessage = ex.rpc.errors !== undefined && settleErrors !== undefined ? settleErrors(ex.rpc, status) : undefined;

  const span = ex.span;
  if (!span.isRecording()) return;
  span.setAttribute('http.response.status_code', status);
  if (route) {
    span.setAttribute('http.route', route);
    span.updateName(`${ex.method === '_OTHER' ? 'HTTP' : ex.method} ${route}`);
  }
  if (error) {
    span.recordException(error);
    span.setAttribute('error.type', error.name);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else if (errorType) {
    span.setAttribute('error.type', errorType);
    span.setStatus(errorMessage === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message: errorMessage });
  }
  span.end();
}

type Emit<T> = (this: T, event: string | symbol, ...args: unknown[]) => boolean;

/**
 * Whether an emitter has listeners for an event, read from EventEmitter's listener table (stable
 * since Node 0.x, and cheaper than listenerCount()). Without the table, assume listeners.
 */
function hasListeners(emitter: object, event: string | symbol): boolean {
  const events = (emitter as Record<string, Record<string | symbol, unknown> | undefined>)[EVENTS];
  return events === undefined || events[event] !== undefined;
}

/** Replaces proto.emit once; make builds the replacement from the original. */
function patchEmit<T>(proto: T, make: (original: Emit<T>) => Emit<T>): void {
  const p = proto as unknown as { [PATCHED]?: true; emit: Emit<T> };
  if (p[PATCHED]) return;
  Object.defineProperty(p, PATCHED, { value: true });
  p.emit = make(p.emit);
}

/**
 * Ends the exchange when res emits 'close', and runs res's listeners in the request's context
 * when an event comes from another one (res.end() called from a callback that lost it): an
 * on-finished logger must still log under the request's trace. Patched once for the class: a
 * response pays a property read per event instead of a wrapper and a listener of its own. Events
 * nobody listens to, or already in the request's context, go straight through; `arguments` is
 * forwarded untouched, the cheapest call on this path.
 */
function patchResponseEmit(): void {
  patchEmit(ServerResponse.prototype as InstrumentedResponse, (original) =>
    function emit(this: InstrumentedResponse, event: string | symbol): boolean {
      // eslint-disable-next-line prefer-rest-params
      const args = arguments as unknown as [string | symbol, ...unknown[]];
      // Most events of a response ('prefinish', 'finish') have no listener: nothing to do.
      if (event !== 'close' && !hasListeners(this, event)) return original.apply(this, args);
      const ex = this[kExchange];
      if (ex === undefined) return original.apply(this, args);
      if (event === 'close') finish(ex, this, undefined);
      const ctx = ex.ctx;
      if (activeContext() === ctx || (event === 'close' && !hasListeners(this, event))) return original.apply(this, args);
      return withContext(ctx, () => original.apply(this, args));
    },
  );
}

/**
 * Runs req's listeners in the request's context when an event comes from another one. Only
 * where a context entered on the connection's parser is gone in the parser's later callbacks
 * (AsyncLocalStorage on AsyncContextFrame, the default from Node 24): there a body that arrives
 * after the headers, its 'end' and req's 'close' would run outside the request's context. The
 * same checks as for res: events nobody listens to, or already in the context, go straight through.
 */
function patchRequestEmit(): void {
  patchEmit(IncomingMessage.prototype as InstrumentedRequest, (original) =>
    function emit(this: InstrumentedRequest, event: string | symbol): boolean {
      // eslint-disable-next-line prefer-rest-params
      const args = arguments as unknown as [string | symbol, ...unknown[]];
      if (!hasListeners(this, event)) return original.apply(this, args);
      const ctx = this[kRequestContext];
      if (ctx === undefined || activeContext() === ctx) return original.apply(this, args);
      return withContext(ctx, () => original.apply(this, args));
    },
  );
}

/**
 * Enters ctx for good when Node's HTTP parser emitted this request: the current async resource is
 * then the parser's, for req's connection, and its later callbacks for this request (body
 * chunks, 'end') and all they schedule run in ctx with no per-event work. The next request on the
 * connection enters its own. False when 'request' was emitted by other code (a test, a proxy):
 * there the context must be scoped, not left on the caller's resource.
 */
function enterOnConnection(ctx: Context, req: IncomingMessage): boolean {
  const socket = req.socket as unknown;
  return socket != null && (executionAsyncResource() as { socket?: unknown }).socket === socket && enterContext(ctx);
}

/** Patches the emit of a Server class so that every 'request' event is traced and timed. */
export function instrumentServer(ServerClass: { prototype: Server }, scheme: 'http' | 'https', opts: ServerInstrumentationOptions): void {
  const proto = ServerClass.prototype as Server & { [PATCHED]?: boolean };
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  patchResponseEmit();
  // Node 24: entering on the connection covers only the parser's current callback; req's later
  // events are run in the request's context by IncomingMessage's emit (set on req below).
  const contextOnRequest = enteredContextEndsWithCallback();
  if (contextOnRequest) patchRequestEmit();
  const ignored = new Set(opts.ignorePaths);
  // The path is a new string every request: looking it up hashes it. Most paths are not as long
  // as any ignored one, and a length is looked up without hashing anything.
  const ignoredLengths = new Set(opts.ignorePaths.map((p) => p.length));
  const duration = opts.duration;
  const startRoot = opts.startRoot;
  settleErrors ??= opts.settleErrors;
  // Health probes and scrapes: no span, no metric, and nothing they call is traced. Their context
  // starts from the root, not from what a previous request left on the connection.
  const untraced = suppressTracing(ROOT_CONTEXT);
  // Server.emit's overloads are per event name; here every event passes through untouched.
  const original = proto.emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean;

  proto.emit = function emit(this: Server, event: string | symbol, request?: unknown, response?: unknown): boolean {
    // eslint-disable-next-line prefer-rest-params
    if (event !== 'request') return original.apply(this, arguments as unknown as [string | symbol, ...unknown[]]);
    const req = request as IncomingMessage;
    const res = response as InstrumentedResponse;
    const peer = readPeer(req);
    const [path, query] = splitTarget(req.url);
    if ((ignoredLengths.has(path.length) && ignored.has(path)) || this === opts.ignoreServer()) {
      if (contextOnRequest) (req as InstrumentedRequest)[kRequestContext] = untraced;
      if (enterOnConnection(untraced, req)) return original.call(this, event, req, res);
      return context.with(untraced, () => original.call(this, event, req, res));
    }
    const start = performance.now();
    const rawMethod = req.method ?? 'GET';
    const method = KNOWN_METHODS.has(rawMethod) ? rawMethod : '_OTHER';
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    // Built-in samplers look at the trace id and the parent only: the attributes are computed
    // after the decision, for sampled requests alone.
    const name = method === '_OTHER' ? 'HTTP' : method;
    const span = parent === ROOT_CONTEXT && startRoot !== undefined ? startRoot(name, SpanKind.SERVER, start) : getTracer().startSpan(name, { kind: SpanKind.SERVER }, parent);
    const version = req.httpVersion;
    if (span.isRecording()) {
      const attributes = requestAttributes(req, method, version, scheme, path, query, peer);
      if (span instanceof OwnSpan) span.setOwnAttributes(attributes);
      else span.setAttributes(attributes);
    }
    // req and res for error tracking's request context; errors stays undefined unless a framework reports one.
    const rpc: ServerRequestMetadata = { type: RPCType.HTTP, span, req, res, errors: undefined };
    // trace.setSpan and setRPCMetadata would copy the parent's value map twice.
    const ctx = new LinkedContext(new LinkedContext(parent, SPAN_KEY, span), RPC_METADATA_KEY, rpc);
    const ex: Exchange = { span, rpc, ctx, req, method, version, scheme, start, duration, done: false };
    res[kExchange] = ex;
    if (contextOnRequest) (req as InstrumentedRequest)[kRequestContext] = ctx;
    if (enterOnConnection(ctx, req)) return dispatch(this, original, ex, res);
    return withContext(ctx, () => dispatch(this, original, ex, res));
  };
}

/** Emits 'request' to the application; an exception it throws ends the exchange as an error. */
function dispatch(server: Server, original: (this: Server, event: string, ...args: unknown[]) => boolean, ex: Exchange, res: InstrumentedResponse): boolean {
  try {
    return original.call(server, 'request', ex.req, res);
  } catch (err) {
    finish(ex, res, err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

// Express layers: the route of every request (http.route on the server span and the duration
// metric) and, for sampled requests, a span per layer, named and attributed as the upstream
// express instrumentation does. Upstream's patching of Router.route/use and app.use stays; only
// its per-layer wrapper (_applyPatch) is replaced. That wrapper computes the route, the span
// name and three attribute objects in every layer of every request and only then asks whether
// the layer is ignored; here a request without layer spans costs a push and a pop per mounted
// path and one route computation, and a sampled one skips the per-call closures and Array copies.
import { SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { getRPCMetadata, RPCType, type RPCMetadata } from '@opentelemetry/core';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { activeContext, withContext } from '../../trace/context-access';
import { upstreamHas } from './upstream-members';

type Handle = ((this: unknown, ...args: unknown[]) => unknown) & { stack?: Layer[] };

interface Layer {
  name: string;
  path?: string;
  /** router 2.x (express 5): the declared path; such a layer never has `path`. */
  rawPath?: unknown;
  handle: Handle;
  route?: { path?: string };
  [kPatched]?: true;
}

interface Request {
  originalUrl: string;
  route?: unknown;
  /** The router's next, which express also hands to each layer (res.format calls it). */
  next?: unknown;
  res?: { removeListener(event: string, fn: () => void): unknown };
  [kStore]?: LayerStore;
}

interface Response {
  once(event: string, fn: () => void): unknown;
}

const kPatched = Symbol('otelkit.express.layer');
const kStore = Symbol('otelkit.express.layers');

const enum LayerType {
  Router = 'router',
  Middleware = 'middleware',
  RequestHandler = 'request_handler',
}

/** The mount paths of the layers a request is in, and the route they make, computed on demand. */
class LayerStore {
  readonly paths: string[] = [];
  private route: string | undefined;
  private dirty = true;
  /** The request's RPC metadata, read from the context of its first layer (null: none there). */
  rpc: RPCMetadata | null | undefined = undefined;

  constructor(private readonly originalUrl: string) {}

  push(path: string): void {
    this.paths.push(path);
    this.dirty = true;
  }

  pop(): void {
    this.paths.pop();
    this.dirty = true;
  }

  matchedRoute(): string | undefined {
    if (this.dirty) {
      this.route = matchedRoute(this.paths, this.originalUrl);
      this.dirty = false;
    }
    return this.route;
  }
}

function storeOf(req: Request): LayerStore {
  return (req[kStore] ??= new LayerStore(req.originalUrl));
}

// Upstream leaves out the root path and wildcards (/*, Express 5's /{*name}) when it joins mount
// paths into a route.
const WILDCARD_SEGMENT = /^\/\{[*][^}]*\}$/;
function meaningful(path: string): boolean {
  return path !== '/' && path !== '/*' && !(path.charCodeAt(1) === 123 /* { */ && WILDCARD_SEGMENT.test(path));
}

/** The mount paths joined, as upstream's getConstructedRoute. */
export function constructedRoute(paths: readonly string[]): string {
  let joined = '';
  let parts = 0;
  for (const p of paths) {
    if (!meaningful(p)) continue;
    joined += p;
    parts++;
  }
  if (parts === 1 && joined === '*') return '*';
  return joined.includes('//') ? joined.replace(/\/{2,}/g, '/') : joined;
}

/** The route for http.route, or undefined when none matched; upstream's getActualMatchedRoute. */
export function matchedRoute(paths: readonly string[], originalUrl: string): string | undefined {
  if (paths.length === 0) return undefined;
  if (paths.every((p) => p === '/')) return originalUrl === '/' ? '/' : undefined;
  const route = constructedRoute(paths);
  if (route === '*') return route;
  // RegExp routes and route arrays are returned as constructed.
  if (route.includes('/') && (route.includes(',') || route.includes('\\') || route.includes('*') || route.includes('['))) return route;
  const normalized = route.startsWith('/') ? route : `/${route}`;
  const valid = normalized.length > 0 && (originalUrl === normalized || originalUrl.startsWith(normalized) || normalized.includes(':') || normalized.includes('*'));
  return valid ? normalized : undefined;
}

function routerPath(path: string, layer: Layer): string {
  const first = layer.handle?.stack?.[0];
  if (first?.route?.path) return `${path}${first.route.path}`;
  if (first?.handle?.stack) return routerPath(path, first);
  return path;
}

function layerType(layer: Layer): LayerType {
  if (layer.name === 'router') return LayerType.Router;
  if (layer.name === 'bound dispatch' || layer.name === 'handle') return LayerType.RequestHandler;
  return LayerType.Middleware;
}

/** Span name and express.name, as upstream's getLayerMetadata. */
function layerNaming(type: LayerType, route: string, layer: Layer, layerPath: string | undefined): [name: string, expressName: string] {
  switch (type) {
    case LayerType.Router: {
      const path = routerPath('', layer) || layerPath || route || '/';
      return [`router - ${path}`, path];
    }
    case LayerType.RequestHandler: {
      const expressName = (route || layerPath) ?? 'request handler';
      // Upstream names a handler after its route only when the layer has a matched `path`, which
      // router 2.x (express 5) layers never have: every express 5 handler was "request handler".
      const named = Boolean(layer.path) || layer.rawPath !== undefined;
      return [`request handler${named ? ` - ${route || layerPath}` : ''}`, expressName];
    }
    default:
      return [`middleware - ${layer.name}`, layer.name];
  }
}

function isError(value: unknown): boolean {
  // express treats anything but an empty value, 'route' or 'router' passed to next as an error
  return value !== undefined && value !== null && value !== 'route' && value !== 'router';
}

function recordError(span: Span, value: unknown): void {
  const error = value instanceof Error ? value : String(value);
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: value instanceof Error ? value.message : String(value) });
}

export interface LayerOptions {
  /** Spans for the layers of sampled requests; the route is recorded either way. */
  layerSpans: boolean;
}

interface ExpressInternals {
  tracer: Tracer;
  _applyPatch(layer: Layer, layerPath: string | undefined): void;
}

/**
 * Replaces the express instrumentation's layer wrapper with otelkit's. False (said once on
 * stderr) when the instrumentation has no such wrapper to replace: upstream's stays.
 */
export function useOwnLayerWrapper(instrumentation: Instrumentation, opts: LayerOptions): boolean {
  const inst = instrumentation as unknown as ExpressInternals;
  if (!upstreamHas('express-layers', '@opentelemetry/instrumentation-express', inst, ['_applyPatch'], ['tracer'])) return false;
  inst._applyPatch = (layer, layerPath) => {
    if (layer[kPatched]) return;
    layer[kPatched] = true;
    const original = layer.handle;
    // Error handlers (four parameters) are left alone, as upstream does.
    if (typeof original !== 'function' || original.length === 4) return;
    layer.handle = opts.layerSpans ? wrapLayer(layer, layerPath, original, () => inst.tracer) : routeOnly(layer, layerPath, original);
    // handle can carry state (a router's stack); reads and writes go to the original.
    for (const key in original) {
      Object.defineProperty(layer.handle, key, {
        get: () => (original as unknown as Record<string, unknown>)[key],
        set: (value: unknown) => {
          (original as unknown as Record<string, unknown>)[key] = value;
        },
      });
    }
  };
  return true;
}

/**
 * The wrapper without layer spans (production): it keeps the request's route up to date, as the
 * full wrapper does for unsampled requests, reading the RPC metadata once per request.
 */
function routeOnly(layer: Layer, layerPath: string | undefined, original: Handle): Handle {
  const type = layerType(layer);
  // Express calls a request layer's handle with (req, res, next), never more: passed on as such,
  // without materialising `arguments` in every layer of every request.
  return function otelkitRoute(this: unknown, req: Request, res: unknown, next: unknown): unknown {
    const store = storeOf(req);
    const pushed = layerPath !== undefined;
    if (pushed) store.push(layerPath);
    let rpc = store.rpc;
    if (rpc === undefined) {
      const found = getRPCMetadata(activeContext());
      rpc = store.rpc = found?.type === RPCType.HTTP ? found : null;
    }
    if (rpc !== null) rpc.route = store.matchedRoute();
    // No wrapper of ours runs when the layer is done: its path goes now, but a router's stays
    // while the routes it mounts run.
    if (pushed && type !== LayerType.Router) store.pop();
    return original.call(this, req, res, next);
  } as Handle;
}

function wrapLayer(layer: Layer, layerPath: string | undefined, original: Handle, tracer: () => Tracer): Handle {
  const type = layerType(layer);
  return function otelkitLayer(this: unknown, req: Request, res: Response): unknown {
    // eslint-disable-next-line prefer-rest-params -- express's handle arity varies; forward what it passed
    const args = arguments as unknown as unknown[];
    const store = storeOf(req);
    const pushed = layerPath !== undefined;
    if (pushed) store.push(layerPath);
    const ctx = activeContext();
    const rpc = getRPCMetadata(ctx);
    const route = store.matchedRoute();
    if (rpc?.type === RPCType.HTTP) rpc.route = route;

    const parentSpan = trace.getSpan(ctx);
    if (parentSpan === undefined || !parentSpan.isRecording()) {
      // An ignored layer never calls back through a wrapper of ours to remove its path, so it
      // goes now; a router's path stays while the routes it mounts run.
      if (pushed && type !== LayerType.Router) store.pop();
      return original.apply(this, args);
    }

    const [name, expressName] = layerNaming(type, constructedRoute(store.paths), layer, layerPath);
    const span = tracer().startSpan(name, { attributes: { 'http.route': route, 'express.name': expressName, 'express.type': type } }, ctx);
    let ended = false;
    let spanContext: Context = trace.setSpan(ctx, span);
    if (type === LayerType.Router) {
      // Router spans end at once (their children are not nested under them), as upstream's.
      span.end();
      ended = true;
      spanContext = ctx;
    }
    const onClose = (): void => {
      if (!ended) {
        ended = true;
        span.end();
      }
    };
    let nextIdx = 0;
    while (nextIdx < args.length && typeof args[nextIdx] !== 'function') nextIdx++;
    if (nextIdx < args.length) {
      const next = args[nextIdx] as Handle;
      const otelkitNext = function otelkitNext(this: unknown, value: unknown): unknown {
        // eslint-disable-next-line prefer-rest-params -- forwarded to express's next as given
        const nextArgs = arguments as unknown as unknown[];
        if (req.next === otelkitNext) req.next = next;
        const failed = isError(value);
        if (!ended) {
          if (failed) recordError(span, value);
          ended = true;
          req.res?.removeListener('close', onClose);
          span.end();
        }
        if (!(req.route && failed) && pushed) store.pop();
        // The next layer runs beside this one: in the context active now (it may carry
        // baggage set by this layer), with the parent span as the active span.
        const active = activeContext();
        return withContext(trace.setSpan(active, parentSpan), () => next.apply(this, nextArgs));
      };
      args[nextIdx] = otelkitNext;
      // express gives a layer the very function it keeps in req.next, and code relies on that:
      // res.format() passes req.next to the chosen handler, which may compare it with its own
      // next (express's own tests do). The layer sees the wrapper in both places until it calls
      // it; upstream's wrapper replaces only the argument.
      if (req.next === next) req.next = otelkitNext;
    }
    try {
      return withContext(spanContext, () => original.apply(this, args));
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      // Not ended yet: the layer is asynchronous or ended the response itself.
      if (!ended) res.once('close', onClose);
    }
  } as Handle;
}

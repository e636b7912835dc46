// Express 5 routes through the `router` package (express.Router is router's Router), so both the
// express instrumentation and the router instrumentation traced each of its layers: two spans per
// middleware and handler, and the router instrumentation renamed the server span itself, in
// production too. With the express instrumentation selected, the router instrumentation's layer
// wrappers let requests that express serves (their `req.app`, which express sets on every request
// it handles through its request prototype) go straight to the layer; a router used without
// express keeps its spans.
import type { Instrumentation } from '@opentelemetry/instrumentation';

type Handler = (this: unknown, ...args: unknown[]) => unknown;
type Patcher = (original: Handler) => Handler;

/** The router instrumentation's per-layer patchers (0.67.0), called when router/lib/layer.js loads. */
interface RouterInternals {
  _requestHandlerPatcher?: Patcher;
  _errorHandlerPatcher?: Patcher;
}

const servedByExpress = (req: unknown): boolean => req !== null && typeof req === 'object' && (req as { app?: unknown }).app !== undefined;

export function leaveExpressLayersToExpress(instrumentation: Instrumentation): void {
  const inst = instrumentation as unknown as RouterInternals;
  const requestPatcher = inst._requestHandlerPatcher;
  const errorPatcher = inst._errorHandlerPatcher;
  // Either missing: an upstream change; its wrappers stay as they are (spans twice, not none).
  if (typeof requestPatcher !== 'function' || typeof errorPatcher !== 'function') return;
  // The wrappers keep their arity: router reads a handler's length to tell error handlers apart.
  inst._requestHandlerPatcher = function (original) {
    const traced = requestPatcher.call(this, original);
    return function handle_request(this: unknown, req: unknown, _res: unknown, _next: unknown) {
      // eslint-disable-next-line prefer-rest-params
      return (servedByExpress(req) ? original : traced).apply(this, arguments as unknown as unknown[]);
    };
  };
  inst._errorHandlerPatcher = function (original) {
    const traced = errorPatcher.call(this, original);
    return function handle_error(this: unknown, _error: unknown, req: unknown, _res: unknown, _next: unknown) {
      // eslint-disable-next-line prefer-rest-params
      return (servedByExpress(req) ? original : traced).apply(this, arguments as unknown as unknown[]);
    };
  };
}

// Express's error path, for error tracking: every error thrown in, or passed to next(err) by, a
// handler or middleware of express 4 or 5 is reported, whether the application's own error
// handler answers it or express's final handler does. Two points see them all: a layer's error
// method (handle_error in express 4, handleError in router 2 / express 5), which express calls
// for each later layer while an error travels, including the application's error handlers; and
// the callback a router calls when it is done (the final handler, or the parent router's next),
// which is where an error nobody handled ends up. Requests without an error go through one
// extra function per router and allocate one closure; the layer methods run only for errors.
// Express itself is left to behave exactly as before: the originals are called with what they
// were given and their return values are passed back.
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { reportPatchNotApplied, upstreamHas, wrapModulePatches } from './upstream-members';

type Report = (err: unknown) => void;
type Fn = (this: unknown, ...args: unknown[]) => unknown;

const kWrapped = Symbol('otelkit.express.errors');

interface RouterProto {
  handle?: Fn & { [kWrapped]?: true };
}

interface LayerLike {
  [kWrapped]?: true;
}

function isError(value: unknown): boolean {
  // express treats anything but an empty value, 'route' or 'router' passed to next as an error
  return value !== undefined && value !== null && value !== 'route' && value !== 'router';
}

/** Reports errors passed to the error methods of a Layer class (its prototype). */
function wrapLayerProto(proto: Record<string, unknown> & LayerLike, report: Report): void {
  if (Object.prototype.hasOwnProperty.call(proto, kWrapped)) return;
  Object.defineProperty(proto, kWrapped, { value: true });
  if (typeof proto.handle_error !== 'function' && typeof proto.handleError !== 'function') {
    // Errors leaving a router are still reported (otelkitRouterDone); those the app handles are not.
    reportPatchNotApplied('express-errors', "express's Layer has no handle_error (express 4) or handleError (router 2)");
    return;
  }
  for (const name of ['handle_error', 'handleError']) {
    const original = proto[name];
    if (typeof original !== 'function') continue;
    proto[name] = function otelkitLayerError(this: unknown, error: unknown): unknown {
      if (isError(error)) report(error);
      // eslint-disable-next-line prefer-rest-params -- forwarded to express as given
      return (original as Fn).apply(this, arguments as unknown as unknown[]);
    };
  }
}

/** Wraps Router's handle(req, res, out): out(err) is an error leaving the router. Exported for bench/errors.bench.mjs. */
export function wrapRouterProto(routerProto: RouterProto, report: Report): void {
  const original = routerProto.handle;
  if (original !== undefined && original[kWrapped]) return;
  if (!upstreamHas('express-errors', "express's Router", routerProto, ['handle'])) return;
  if (typeof original !== 'function') return;
  let layersWrapped = false;
  const handle = function otelkitRouterHandle(this: { stack?: unknown[] }, req: unknown, res: unknown, out: unknown): unknown {
    if (!layersWrapped) {
      // The Layer class is not exported: its prototype is reached through a router's first layer.
      const first = this.stack?.[0];
      if (first !== undefined && first !== null) {
        layersWrapped = true;
        wrapLayerProto(Object.getPrototypeOf(first) as Record<string, unknown>, report);
      }
    }
    if (typeof out !== 'function') {
      // eslint-disable-next-line prefer-rest-params -- forwarded to express as given
      return original.apply(this, arguments as unknown as unknown[]);
    }
    const done = out as Fn;
    return original.call(this, req, res, function otelkitRouterDone(this: unknown, err: unknown): unknown {
      if (isError(err)) report(err);
      // eslint-disable-next-line prefer-rest-params -- forwarded to the caller's callback as given
      return done.apply(this, arguments as unknown as unknown[]);
    });
  } as Fn & { [kWrapped]?: true };
  handle[kWrapped] = true;
  routerProto.handle = handle;
}

interface ExpressExports {
  Router?: RouterProto & { prototype?: RouterProto & { route?: unknown } };
}

/** express 5's Router is a class (router 2); express 4's Router object is the prototype itself. */
function routerProtoOf(exports: ExpressExports): RouterProto | undefined {
  const Router = exports?.Router;
  if (Router === undefined || Router === null) return undefined;
  return typeof Router.prototype?.route === 'function' ? Router.prototype : Router;
}

/**
 * Makes the express instrumentation's module patch also wrap express's error path. The
 * instrumentation is enabled before express is loaded (lazy-instrumentations.ts), so its
 * module definitions run on this very load. They are InstrumentationBase's private `_modules`:
 * the public getModuleDefinitions() builds new ones, which the require hook never calls.
 * False (said once on stderr) when `_modules` is gone: express errors are then not captured,
 * express and upstream's patch are untouched.
 */
export function captureExpressErrors(instrumentation: Instrumentation, report: Report): boolean {
  return wrapModulePatches('express-errors', '@opentelemetry/instrumentation', instrumentation, (exports) => {
    const proto = routerProtoOf(exports as ExpressExports);
    if (proto !== undefined) wrapRouterProto(proto, report);
    else reportPatchNotApplied('express-errors', 'express exports no Router');
  });
}

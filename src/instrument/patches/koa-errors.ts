// Koa's error path, for error tracking: every error koa answers (a middleware's throw or
// rejection, ctx.throw) goes through ctx.onerror(err), which then sets the status and writes the
// response. The method is wrapped where the application's context finds it (koa's own, or one the
// application set on app.context), once, when a server first asks the application for its request
// listener (app.callback(), which app.listen() calls). Requests without an error pay nothing.
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { reportPatchNotApplied, upstreamHas, wrapModulePatches } from './upstream-members';

type Report = (err: unknown) => void;
type Fn = (this: unknown, ...args: unknown[]) => unknown;

const kWrapped = Symbol('otelkit.koa.errors');

/** Wraps onerror on the object of ctx's prototype chain that holds it. */
function wrapOnerror(appContext: object, report: Report): void {
  let holder: object | null = appContext;
  while (holder !== null && !Object.prototype.hasOwnProperty.call(holder, 'onerror')) holder = Object.getPrototypeOf(holder) as object | null;
  if (holder === null) {
    reportPatchNotApplied('koa-errors', "koa's context has no onerror");
    return;
  }
  const h = holder as { onerror?: Fn; [kWrapped]?: true };
  const original = h.onerror;
  if (typeof original !== 'function' || Object.prototype.hasOwnProperty.call(h, kWrapped)) return;
  Object.defineProperty(h, kWrapped, { value: true });
  h.onerror = function otelkitKoaOnerror(this: unknown, err: unknown): unknown {
    if (err !== null && err !== undefined) report(err);
    // eslint-disable-next-line prefer-rest-params -- forwarded to koa as given
    return original.apply(this, arguments as unknown as unknown[]);
  };
}

interface KoaClass {
  prototype: { callback?: Fn & { [kWrapped]?: true } };
}

function wrapCallback(Koa: KoaClass, report: Report): void {
  const proto = Koa.prototype;
  const original = proto.callback;
  if (original !== undefined && original[kWrapped]) return;
  if (!upstreamHas('koa-errors', "koa's Application.prototype", proto, ['callback'])) return;
  if (typeof original !== 'function') return;
  const callback = function otelkitKoaCallback(this: { context?: object }): unknown {
    if (this.context !== undefined) wrapOnerror(this.context, report);
    // eslint-disable-next-line prefer-rest-params -- forwarded to koa as given
    return original.apply(this, arguments as unknown as unknown[]);
  } as Fn & { [kWrapped]?: true };
  callback[kWrapped] = true;
  proto.callback = callback;
}

/**
 * Makes the koa instrumentation's module patch also wrap koa's error path (see express-errors.ts
 * for why `_modules`). False (said once on stderr) when `_modules` is gone: koa errors are then
 * not captured, koa and upstream's patch are untouched.
 */
export function captureKoaErrors(instrumentation: Instrumentation, report: Report): boolean {
  return wrapModulePatches('koa-errors', '@opentelemetry/instrumentation', instrumentation, (exports) => {
    const m = exports as { default?: KoaClass; [Symbol.toStringTag]?: string } & KoaClass;
    const Koa = m[Symbol.toStringTag] === 'Module' ? m.default : m;
    if (Koa !== undefined && typeof Koa.prototype === 'object') wrapCallback(Koa, report);
    else reportPatchNotApplied('koa-errors', 'koa exports no Application class');
  });
}

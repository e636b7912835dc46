// Koa's error path, for error tracking: every error koa answers (a middleware's throw or
// rejection, ctx.throw) goes through ctx.onerror(err), which then sets the status and writes the
// response. The method is wrapped where the application's context finds it (koa's own, or one the
// application set on app.context), once, when a server first asks the application for its request
// listener (app.callback(), which app.listen() calls). Requests without an error pay nothing.
import type { Instrumentation, InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';

type Report = (err: unknown) => void;
type Fn = (this: unknown, ...args: unknown[]) => unknown;

const kWrapped = Symbol('otelkit.koa.errors');

/** Wraps onerror on the object of ctx's prototype chain that holds it. */
function wrapOnerror(appContext: object, report: Report): void {
  let holder: object | null = appContext;
  while (holder !== null && !Object.prototype.hasOwnProperty.call(holder, 'onerror')) holder = Object.getPrototypeOf(holder) as object | null;
  if (holder === null) return;
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
  if (typeof original !== 'function' || original[kWrapped]) return;
  const callback = function otelkitKoaCallback(this: { context?: object }): unknown {
    if (this.context !== undefined) wrapOnerror(this.context, report);
    // eslint-disable-next-line prefer-rest-params -- forwarded to koa as given
    return original.apply(this, arguments as unknown as unknown[]);
  } as Fn & { [kWrapped]?: true };
  callback[kWrapped] = true;
  proto.callback = callback;
}

/** Makes the koa instrumentation's module patch also wrap koa's error path (see express-errors.ts for why `_modules`). */
export function captureKoaErrors(instrumentation: Instrumentation, report: Report): void {
  const defs = (instrumentation as Instrumentation & { _modules?: InstrumentationModuleDefinition[] })._modules ?? [];
  for (const def of defs) {
    const patch = def.patch;
    if (typeof patch !== 'function') continue;
    def.patch = function otelkitKoaPatch(this: unknown, exports: unknown, version?: string): unknown {
      const result = patch.call(this, exports, version) as unknown;
      const m = (result ?? exports) as { default?: KoaClass; [Symbol.toStringTag]?: string } & KoaClass;
      const Koa = m[Symbol.toStringTag] === 'Module' ? m.default : m;
      if (Koa !== undefined && typeof Koa.prototype?.callback === 'function') wrapCallback(Koa, report);
      return result;
    } as typeof def.patch;
  }
}

// koa's app.use() under the koa instrumentation. Upstream's patch of use() reads `.router` of
// its argument and wraps whatever is not a router into an async middleware before koa sees it,
// so koa's own check no longer runs: app.use(null) or app.use(undefined) throws "Cannot read
// properties of null (reading 'router')", a number or string throws while upstream marks it,
// and an object is accepted and fails only when a request reaches it. koa itself throws
// TypeError('middleware must be a function!') for all of these. Here only functions go through
// upstream's patch; anything else goes to koa's own use(), which throws as it does without us.
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { upstreamHas } from './upstream-members';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** The koa instrumentation's member used here; it is not in its public typings. */
interface KoaInternals {
  _getKoaUsePatch(original: Fn): Fn;
}

/**
 * Makes the instrumentation's use() patch hand non-functions to koa's own use(). Applied before
 * koa loads (upstream builds the patch when it does). False (said once on stderr) when the
 * member is gone: upstream's patch stays as it is.
 */
export function koaUseChecksItsArgument(instrumentation: Instrumentation): boolean {
  const inst = instrumentation as unknown as KoaInternals;
  if (!upstreamHas('koa-use', '@opentelemetry/instrumentation-koa', inst, ['_getKoaUsePatch'])) return false;
  const makePatch = inst._getKoaUsePatch;
  inst._getKoaUsePatch = function (this: KoaInternals, original: Fn): Fn {
    const patched = makePatch.call(this, original);
    return function use(this: unknown, middleware: unknown): unknown {
      // eslint-disable-next-line prefer-rest-params -- koa's own use() gets exactly what it was given
      if (typeof middleware !== 'function') return original.apply(this, arguments as unknown as unknown[]);
      return patched.call(this, middleware);
    };
  };
  return true;
}

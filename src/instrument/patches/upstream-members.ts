// The drift check every patch of an upstream instrumentation runs before it touches anything:
// the private members it replaces or calls must still be there. The instrumentations are exact
// pins (package.json), so a miss means an upgrade moved a member; the patch then stays out,
// upstream's own behaviour is kept, and stderr says so once instead of the patch silently doing
// nothing.
import type { Instrumentation, InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import { reportOnce } from '../../diag';

/**
 * True when `target` has every method in `methods` (functions) and every field in `fields`
 * (anything but undefined). Otherwise reports once, under the patch's name, which members of
 * which package are missing, and returns false: the caller leaves upstream's behaviour alone.
 */
export function upstreamHas(patch: string, pkg: string, target: unknown, methods: readonly string[], fields: readonly string[] = []): boolean {
  const t = (target ?? undefined) as Record<string, unknown> | undefined;
  const missing = [
    ...methods.filter((m) => typeof t?.[m] !== 'function'),
    ...fields.filter((f) => t?.[f] === undefined),
  ];
  if (missing.length === 0) return true;
  reportPatchNotApplied(patch, `${pkg} has no ${missing.join(', ')}`);
  return false;
}

/** Says once that a patch is not applied and why; upstream's behaviour stays. */
export function reportPatchNotApplied(patch: string, why: string): void {
  reportOnce(`patch:${patch}`, `otelkit's ${patch} patch is not applied (${why}); upstream's behaviour is kept`);
}

/**
 * Wraps each of InstrumentationBase's private module definitions so that `after` sees the
 * exports the definition's patch returns (express-errors.ts, koa-errors.ts). False (said once
 * on stderr) when `_modules` is gone.
 */
export function wrapModulePatches(patchName: string, pkg: string, instrumentation: Instrumentation, after: (exports: unknown) => void): boolean {
  const holder = instrumentation as Instrumentation & { _modules?: InstrumentationModuleDefinition[] };
  if (!upstreamHas(patchName, pkg, holder, [], ['_modules'])) return false;
  const defs = Array.isArray(holder._modules) ? holder._modules : [];
  for (const def of defs) {
    const patch = def.patch;
    if (typeof patch !== 'function') continue;
    def.patch = function otelkitModulePatch(this: unknown, exports: unknown, version?: string): unknown {
      const result = patch.call(this, exports, version) as unknown;
      after(result ?? exports);
      return result;
    } as typeof def.patch;
  }
  return true;
}

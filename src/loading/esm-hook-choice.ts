// Which way an ES module application's imports reach the instrumentations (esm-hooks.ts): none
// for a CommonJS entry or without the preload's request, else the bridge, unless an installed
// instrumented package is ES module code (esm-packages.ts): that takes the import-in-the-middle
// loader, registered here (in-thread where the Node line allows, else on a loader thread).
import { emit, reportOnce } from '../diag';
import { registerEsmLoader } from './esm-hooks';
import { firstEsmPackage } from './esm-packages';
import { esmHookTargets, targetPackages, type EsmHooks, type InstrumentationSpec } from './lazy-instrumentations';

/** The application's entry, as the config describes it. */
export interface EntryPoint {
  entryIsEsm: boolean;
  entryDir: string;
}

/** Decides (and registers the loader when it is the choice); `requested` is the preload's esm option. */
export function chooseEsmHooks(selected: readonly InstrumentationSpec[], requested: boolean, entry: EntryPoint): EsmHooks {
  return requested && entry.entryIsEsm ? esmHooks(selected, entry.entryDir) : { kind: 'none' };
}

/** The bridge, unless an installed instrumented package is ES module code: that takes the loader. */
function esmHooks(selected: readonly InstrumentationSpec[], entryDir: string): EsmHooks {
  const packages = targetPackages(selected);
  let esmPackage: string | undefined;
  try {
    esmPackage = firstEsmPackage(packages, entryDir);
  } catch (err) {
    reportOnce('esm-packages', 'could not inspect the installed packages; the ESM loader hook is registered', err);
    esmPackage = '(unknown)';
  }
  const bridge: EsmHooks = { kind: 'bridge', fromDir: entryDir, packages };
  if (esmPackage === undefined) return bridge;
  const where = registerEsmLoader(esmHookTargets(selected));
  if (where === undefined) return bridge;
  emit('debug', where === 'in-thread'
    ? `${esmPackage} loads as an ES module: import-in-the-middle hooks registered in-thread (module.registerHooks)`
    : `${esmPackage} loads as an ES module: import-in-the-middle loader registered on a loader thread (module.register)`);
  return { kind: 'loader' };
}

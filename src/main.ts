// The package entry (`otelkit`, and what the preload loads). It loads the single-file bundle
// the build makes: Node parses one file far faster than the ~400 modules the SDK is made of,
// which is most of a preload's start-up cost. A tsc-only build falls back to the modules.
// The preload and the application must share this one instance (the health registry, the
// running SDK), so everything goes through here.
import type * as Api from './index';

function load(): typeof Api {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./otelkit.js') as typeof Api;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' || !String((err as Error).message).includes('otelkit.js')) throw err;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./index') as typeof Api;
  }
}

const api = load();

// Listed one by one so that `import { getLogger } from 'otelkit'` works from ES modules
// (Node detects a CommonJS module's named exports statically).
export const start = api.start;
export const shutdown = api.shutdown;
export const flush = api.flush;
export const getLogger = api.getLogger;
export const health = api.health;
export const checks = api.checks;
export type { StartOptions, StartResult, CheckFn, CheckOptions, CheckResult, ReadyReport, HealthRegistry, Config, LoggingConfig } from './index';

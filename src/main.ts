// The package entry (`otelkit`, and what the preload loads). It loads the single-file bundle
// the build makes (Node parses one file far faster than the ~400 modules the SDK is made of),
// through a V8 code cache (code-cache.ts). A tsc-only build falls back to the modules.
// The preload and the application must share this one instance (the health registry, the
// running SDK), so everything goes through here.
import * as path from 'node:path';
import type * as Api from './api';
import { persistCodeCache, requireWithCodeCache } from './loading/code-cache';

function load(): typeof Api {
  const bundled = requireWithCodeCache(path.join(__dirname, 'otelkit.js'), module);
  if (bundled) return bundled as typeof Api;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./api') as typeof Api;
}

const api = load();

// Listed one by one so that `import { getLogger } from 'otelkit'` works from ES modules
// (Node detects a CommonJS module's named exports statically).
export const start: typeof api.start = (options) => {
  const result = api.start(options);
  persistCodeCache();
  return result;
};
export const shutdown = api.shutdown;
export const flush = api.flush;
export const getLogger = api.getLogger;
export const health = api.health;
export const checks = api.checks;
export const captureException = api.captureException;
export type { StartOptions, StartResult, CheckFn, CheckOptions, CheckResult, ReadyReport, HealthRegistry, Config, LoggingConfig } from './api';

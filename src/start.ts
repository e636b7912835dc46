// start(): read and validate the configuration, report it, and only then load the SDK.
// A disabled SDK (OTEL_SDK_DISABLED=true) loads and hooks nothing.
import { envWithOverrides, loadConfig } from './config/load';
import type { Config, LoadedConfig } from './config/types';
import { emit, reportOnce, setupDiag } from './diag';

export interface StartOptions {
  /** Overrides for environment variables, by their names (OTEL_SERVICE_NAME, OTELKIT_LOG_LEVEL, ...). */
  env?: Record<string, string | undefined>;
  /** Shorthand for OTEL_SERVICE_NAME. */
  serviceName?: string;
  /** Register the ESM loader hook (the preload does this). */
  esm?: boolean;
}

export interface StartResult {
  started: boolean;
  config?: Config;
}

let result: StartResult | undefined;

// Both loaded only when the SDK starts: compose builds it, running-sdk flushes and stops it.
type Compose = typeof import('./compose');
type RunningSdk = typeof import('./lifecycle/running-sdk');
let sdk: RunningSdk | undefined;

/** Starts once; later calls return the first result. Never throws. */
export function start(options: StartOptions = {}): StartResult {
  if (result) return result;
  let loaded: LoadedConfig;
  try {
    const env = envWithOverrides(options.env, options.serviceName);
    loaded = loadConfig(env, { mainScript: process.argv[1], cwd: process.cwd(), stdoutIsTTY: process.stdout.isTTY === true });
  } catch (err) {
    reportOnce('config', 'otelkit could not read its configuration; the application runs uninstrumented', err);
    return (result = { started: false });
  }
  const { config } = loaded;
  setupDiag(config.diagLevel);
  for (const w of loaded.warnings) emit('warn', w.message, { variable: w.variable, value: w.value, fallback: w.fallback });
  if (config.disabled) return (result = { started: false, config });
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { compose } = require('./compose') as Compose;
    sdk = require('./lifecycle/running-sdk') as RunningSdk;
    /* eslint-enable @typescript-eslint/no-require-imports */
    compose(config, options.esm ?? false);
    return (result = { started: true, config });
  } catch (err) {
    reportOnce('start', 'otelkit failed to start; the application runs uninstrumented', err);
    return (result = { started: false, config });
  }
}

/** Flushes every signal; the SDK keeps running. */
export async function flush(): Promise<void> {
  await sdk?.flush();
}

/** Flushes and stops the SDK, bounded by OTELKIT_SHUTDOWN_TIMEOUT_MS. Safe to call twice. */
export async function shutdown(): Promise<void> {
  await sdk?.shutdown();
}

// The programmatic API. Under the preload the SDK is already running and start() is a no-op.
export { start, shutdown, flush, type StartOptions, type StartResult } from './start';
export { getLogger } from './logs/logger';
export { health } from './health/instance';
export { captureException } from './errors/capture';
export { checks } from './health/checks';
export type { CheckFn, CheckOptions, CheckResult, ReadyReport, HealthRegistry } from './health/registry';
export type { Config, LoggingConfig } from './config/types';

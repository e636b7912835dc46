// The programmatic API. Under the preload the SDK is already running and start() is a no-op.
export { start, shutdown, flush, type StartOptions, type StartResult } from './start';
export { getLogger } from './logger';
export { health } from './health-instance';
export { checks } from './checks';
export type { CheckFn, CheckOptions, CheckResult, ReadyReport, HealthRegistry } from './health';
export type { Config, LoggingConfig } from './config';

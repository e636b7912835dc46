// The process-wide health registry: the application may register checks before or without
// start(), so it exists from the first import and start() configures it.
import { DEFAULT_HEALTH_TIMEOUT_MS, HealthRegistry } from './registry';

export const health = new HealthRegistry({ timeoutMs: DEFAULT_HEALTH_TIMEOUT_MS });

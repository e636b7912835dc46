// The process-wide health registry: the application may register checks before or without
// start(), so it exists from the first import and start() configures it. A module of its own so
// that api.ts (which exports it) and compose.ts (which configures it, serves it on the admin port
// and marks it shutting down) share one instance, while registry.ts creates nothing at import.
import { DEFAULT_HEALTH_TIMEOUT_MS, HealthRegistry } from './registry';

export const health = new HealthRegistry({ timeoutMs: DEFAULT_HEALTH_TIMEOUT_MS });

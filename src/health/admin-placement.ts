// Where this process serves its admin endpoints, as its process model requires. Decided at
// start (the start line says it) and acted on by the admin server on the first turn.
// - a node:cluster worker binds nothing: the primary serves the cluster (cluster/);
// - under PM2 (NODE_APP_INSTANCE set), whose daemon runs no otelkit, each instance serves on
//   OTEL_EXPORTER_PROMETHEUS_PORT + NODE_APP_INSTANCE, bound by the process itself (a PM2
//   cluster-mode worker's listen() would otherwise be shared through the daemon);
// - any other process binds the port; a cluster primary answers for its workers too.
import type { Config } from '../config/types';
import { isClusterWorker } from '../cluster/process-role';

export type AdminPlacement =
  | { kind: 'cluster-worker'; address: string }
  | { kind: 'listen'; host: string; port: number; exclusive: boolean; pm2: boolean; address: string }
  | { kind: 'none'; address: string; problem: string };

export function adminPlacement(admin: Config['admin']): AdminPlacement {
  const worker = isClusterWorker();
  if (admin.pm2Instance !== undefined) {
    const port = admin.port === 0 ? 0 : admin.port + admin.pm2Instance;
    if (port > 65535) {
      return { kind: 'none', address: 'none', problem: `admin port ${admin.port} + NODE_APP_INSTANCE ${admin.pm2Instance} is past 65535: /metrics, /livez and /readyz are not served; set OTEL_EXPORTER_PROMETHEUS_PORT lower` };
    }
    // exclusive: a cluster worker binds the port itself instead of sharing the primary's handle.
    return { kind: 'listen', host: admin.host, port, exclusive: worker, pm2: true, address: `${admin.host}:${port}` };
  }
  if (worker) return { kind: 'cluster-worker', address: 'cluster primary' };
  return { kind: 'listen', host: admin.host, port: admin.port, exclusive: false, pm2: false, address: `${admin.host}:${admin.port}` };
}

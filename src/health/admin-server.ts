// The admin server: /metrics, /livez and /readyz on OTEL_EXPORTER_PROMETHEUS_HOST:PORT.
// It never keeps the process alive (unref) and a taken port is one clear error, not a crash.
// Process models (health/admin-placement.ts): a node:cluster worker binds nothing and answers its
// primary instead, whose server covers the whole cluster (cluster/); a child whose otelkit
// ancestor holds the port says so on one info line and serves nothing (its parent's /livez is
// not its own).
import type * as http from 'node:http';
import { emit } from '../diag';
import { loadBuiltin } from '../loading/builtin-modules';
import type { PrometheusReader } from '../metrics/meter-provider';
import type { HealthRegistry } from './registry';
import type { AdminPlacement } from './admin-placement';
import { otelkitAncestorHoldingPort } from './port-holder';
import { answerPrimary } from '../cluster/worker-channel';
import { clusterReadyz, gatherClusterMetrics } from '../cluster/primary-aggregator';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface AdminRoutes {
  metrics?: Handler;
  livez: Handler;
  readyz: Handler;
}

export interface AdminOptions {
  placement: AdminPlacement;
  /** A check's timeout (OTELKIT_HEALTH_TIMEOUT_MS): a worker's readiness takes as long. */
  healthTimeoutMs: number;
  /** OTEL_LOG_LEVEL=none: not even info lines. */
  silent: boolean;
  prometheus?: PrometheusReader;
  health: HealthRegistry;
}

// The primary gives a worker its whole check timeout plus time for the IPC round trip and the
// collection: a worker that misses this is stuck, not slow.
const IPC_MARGIN_MS = 1000;

/** Serves the admin endpoints where the placement says; the server, when this process has one. */
export function startAdmin(o: AdminOptions): http.Server | undefined {
  const { placement, prometheus, health } = o;
  if (placement.kind === 'none') {
    emit('error', placement.problem);
    return undefined;
  }
  if (placement.kind === 'cluster-worker') {
    answerPrimary({
      metrics: prometheus
        ? async () => {
          const { resourceMetrics } = await prometheus.collect();
          return resourceMetrics;
        }
        : undefined,
      ready: () => health.readyAnswer(),
    });
    return undefined;
  }
  if (placement.pm2) {
    // One PM2 instance a port: its own answers only.
    return startAdminServer(placement.host, placement.port, { metrics: prometheus?.handle, livez: health.livez, readyz: health.readyz }, o.silent, placement.exclusive);
  }
  const waitMs = o.healthTimeoutMs + IPC_MARGIN_MS;
  if (prometheus) prometheus.gather = (own) => gatherClusterMetrics(own, waitMs);
  return startAdminServer(placement.host, placement.port, {
    metrics: prometheus?.handle,
    livez: health.livez,
    readyz: clusterReadyz(() => health.readyAnswer(), waitMs),
  }, o.silent, placement.exclusive);
}

function info(msg: string, fields: Record<string, unknown>): void {
  try {
    // Said like the start line, whatever OTEL_LOG_LEVEL says (unless none): a process that
    // serves no admin endpoints must say so where its operator looks first.
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', name: 'otelkit', msg, ...fields }) + '\n');
  } catch {
    // stderr closed
  }
}

export function startAdminServer(host: string, port: number, routes: AdminRoutes, silent = false, exclusive = false): http.Server {
  const { createServer } = loadBuiltin<typeof http>('node:http');
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const p = q === -1 ? url : url.slice(0, q);
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' });
        res.end();
      } else if (p === '/metrics' && routes.metrics) routes.metrics(req, res);
      else if (p === '/livez') routes.livez(req, res);
      else if (p === '/readyz') routes.readyz(req, res);
      else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /metrics, /livez or /readyz\n');
      }
    } catch (err) {
      emit('error', 'admin request failed', { path: p, error: String(err) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  server.on('error', (err: NodeJS.ErrnoException) => {
    const holder = err.code === 'EADDRINUSE' ? otelkitAncestorHoldingPort(port) : undefined;
    if (holder !== undefined) {
      if (!silent) {
        info(`admin port ${host}:${port} is held by process ${holder}, an ancestor of this one that runs otelkit: this process serves no /metrics, /livez or /readyz of its own (the ancestor's answer for itself); its traces and logs are exported as usual, its metrics only over OTLP. Give it its own OTEL_EXPORTER_PROMETHEUS_PORT to scrape it`, { pid: process.pid, holder });
      }
      return;
    }
    const why = err.code === 'EADDRINUSE' ? 'the port is already in use' : err.message;
    // The advice names the setting at fault: a host that does not resolve, or is not an address
    // of this machine, is OTEL_EXPORTER_PROMETHEUS_HOST's; the rest is the port's.
    const hostAtFault = err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.code === 'EAI_FAIL' || err.code === 'EADDRNOTAVAIL';
    const advice = hostAtFault
      ? 'set OTEL_EXPORTER_PROMETHEUS_HOST to an address of this machine (0.0.0.0 for every IPv4 interface, :: for every interface, 127.0.0.1 for this host only)'
      : 'set OTEL_EXPORTER_PROMETHEUS_PORT to a free port';
    emit('error', `admin server could not listen on ${host}:${port} (${why}): /metrics, /livez and /readyz are not served; ${advice}`, {
      code: err.code,
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen({ port, host, exclusive });
  server.unref();
  return server;
}

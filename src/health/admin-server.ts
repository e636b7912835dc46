// The admin server: /metrics, /livez and /readyz on OTEL_EXPORTER_PROMETHEUS_HOST:PORT.
// It never keeps the process alive (unref) and a taken port is one clear error, not a crash.
import type * as http from 'node:http';
import { emit } from '../diag';
import { loadBuiltin } from '../loading/builtin-modules';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface AdminRoutes {
  metrics?: Handler;
  livez: Handler;
  readyz: Handler;
}

export function startAdminServer(host: string, port: number, routes: AdminRoutes): http.Server {
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
  server.listen(port, host);
  server.unref();
  return server;
}

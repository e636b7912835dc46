// The REAL collector binary (collector/_build/otelcol-otelkit, built by `bash collector/build.sh`)
// running the shipped collector/config.yaml, plus in-test stand-ins for its backends.
//
//   const backend = await startBackends();   // Tempo stand-in (OTLP gRPC) + Loki stand-in (OTLP/HTTP)
//   const col = await startCollector({ backend });
//   ... point otelkit at col.otlpHttpUrl ...
//   await backend.rx.waitFor((rx) => rx.spans.length > 0);
//   await col.kill();  await col.restart();  await col.stop();
//   await backend.close();
//
// startCollector({ backend?, env?, config?, waitHealthy = true, healthTimeoutMs = 30000, start = true })
//   Every listener gets a free loopback port (never the defaults, other tests may run); the same
//   ports are kept across kill()/restart(); with start: false the ports are chosen and nothing
//   runs until col.start(). `backend` points the traces exporter (OTLP gRPC) and
//   the logs exporter (OTLP/HTTP, <endpoint>/v1/logs) at the stand-ins; `env` overrides anything.
//   -> { ports: { grpc, http, health, telemetry, prometheus }, otlpHttpUrl, otlpGrpcUrl,
//        output() (stdout+stderr of every run), running(), pid, start(), waitHealthy(), stop() (SIGTERM, then
//        SIGKILL after 10 s), kill() (SIGKILL), restart() }
//
// startBackends()
//   One in-process OTLP receiver (./otlp-receiver.mjs) stores what both stand-ins receive:
//   the gRPC TraceService stand-in forwards each ExportTraceServiceRequest, as the protobuf bytes
//   it received, to the receiver's /v1/traces and answers the collector once it is stored, so
//   spans and logs are decoded by the same code the other tests rely on.
//   -> { rx (the receiver: spans, logs, waitFor, reset, setFailWith), tracesEndpoint
//        ('127.0.0.1:PORT', for OTELKIT_COLLECTOR_TRACES_ENDPOINT), logsEndpoint (the
//        receiver's base URL, for OTELKIT_COLLECTOR_LOGS_ENDPOINT), grpcCalls (count),
//        close() }
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { ROOT, freePort } from './app.mjs';
import { startOtlpReceiver } from './otlp-receiver.mjs';

const require = createRequire(import.meta.url);

export const COLLECTOR_BIN = path.join(ROOT, 'collector', '_build', 'otelcol-otelkit');
export const COLLECTOR_CONFIG = path.join(ROOT, 'collector', 'config.yaml');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const live = new Set();
// A failed test must not leave a collector behind.
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch {}
  }
});

// The test runner's environment without any collector variable, so only ours apply.
function baseEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('OTELKIT_') && !k.startsWith('OTEL_') && !k.startsWith('GOMEMLIMIT')) env[k] = v;
  }
  return env;
}

export async function startCollector({ backend, env = {}, config = COLLECTOR_CONFIG, waitHealthy = true, healthTimeoutMs = 30_000, start = true } = {}) {
  if (!existsSync(COLLECTOR_BIN)) {
    throw new Error(`collector binary not found at ${path.relative(ROOT, COLLECTOR_BIN)}: build it with \`bash collector/build.sh\``);
  }
  const ports = {
    grpc: await freePort(),
    http: await freePort(),
    health: await freePort(),
    telemetry: await freePort(),
    prometheus: await freePort(),
  };
  const fullEnv = {
    ...baseEnv(),
    OTELKIT_COLLECTOR_BIND: '127.0.0.1',
    OTELKIT_COLLECTOR_OTLP_GRPC_PORT: String(ports.grpc),
    OTELKIT_COLLECTOR_OTLP_HTTP_PORT: String(ports.http),
    OTELKIT_COLLECTOR_HEALTH_PORT: String(ports.health),
    OTELKIT_COLLECTOR_TELEMETRY_PORT: String(ports.telemetry),
    OTELKIT_COLLECTOR_PROMETHEUS_PORT: String(ports.prometheus),
    // Nothing listens on port 9 (discard): exports fail, the collector keeps running.
    OTELKIT_COLLECTOR_TRACES_ENDPOINT: backend ? backend.tracesEndpoint : '127.0.0.1:9',
    OTELKIT_COLLECTOR_TRACES_INSECURE: 'true',
    OTELKIT_COLLECTOR_LOGS_ENDPOINT: backend ? backend.logsEndpoint : 'http://127.0.0.1:9',
    ...env,
  };

  let output = '';
  let child = null;
  let exited = Promise.resolve();

  const running = () => child !== null && child.exitCode === null && child.signalCode === null;

  function spawnOnce() {
    output += `\n--- collector start ${new Date().toISOString()} ---\n`;
    const c = spawn(COLLECTOR_BIN, [`--config=${config}`], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(c);
    c.stdout.on('data', (d) => { output += d; });
    c.stderr.on('data', (d) => { output += d; });
    exited = new Promise((resolve) => c.once('exit', (code, signal) => {
      live.delete(c);
      output += `\n--- collector exited code=${code} signal=${signal} ---\n`;
      resolve({ code, signal });
    }));
    c.once('error', (err) => { output += `\nspawn error: ${err.message}\n`; });
    child = c;
  }

  const col = {
    ports,
    otlpHttpUrl: `http://127.0.0.1:${ports.http}`,
    otlpGrpcUrl: `http://127.0.0.1:${ports.grpc}`,
    healthUrl: `http://127.0.0.1:${ports.health}/`,
    output: () => output,
    running,
    get pid() { return child?.pid; },

    /** Resolves once the health check answers 200; rejects if the collector exits or at the deadline. */
    async waitHealthy(timeoutMs = healthTimeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer yet';
      while (Date.now() < deadline) {
        if (!running()) throw new Error(`the collector exited before it was healthy\n${output.slice(-4000)}`);
        try {
          const res = await fetch(col.healthUrl, { signal: AbortSignal.timeout(1000) });
          await res.arrayBuffer();
          if (res.status === 200) return;
          last = `HTTP ${res.status}`;
        } catch (err) {
          last = err.message;
        }
        await sleep(100);
      }
      throw new Error(`the collector's health check on :${ports.health} did not answer 200 within ${timeoutMs} ms (${last})\n${output.slice(-4000)}`);
    },

    async start() {
      if (running()) return;
      spawnOnce();
      if (waitHealthy) await col.waitHealthy();
    },

    /** SIGTERM (the collector drains its pipelines), SIGKILL after 10 s. */
    async stop() {
      if (!running()) return exited;
      const c = child;
      c.kill('SIGTERM');
      const timer = setTimeout(() => { try { c.kill('SIGKILL'); } catch {} }, 10_000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },

    /** SIGKILL: everything in the collector's queues is lost. */
    async kill() {
      if (!running()) return exited;
      child.kill('SIGKILL');
      return exited;
    },

    async restart() {
      await col.stop();
      await col.start();
    },
  };

  if (start) await col.start();
  return col;
}

// ------------------------------------------------------------------------------ backends

const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export async function startBackends() {
  const grpc = require('@grpc/grpc-js');
  const rx = await startOtlpReceiver();
  let grpcCalls = 0;

  const server = new grpc.Server();
  server.addService(
    {
      Export: {
        path: TRACE_EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: (x) => x,
        requestDeserialize: (buf) => buf,
        // An empty ExportTraceServiceResponse encodes to zero bytes.
        responseSerialize: () => Buffer.alloc(0),
        responseDeserialize: (b) => b,
      },
    },
    {
      Export(call, callback) {
        grpcCalls += 1;
        fetch(`${rx.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: call.request,
        }).then(async (res) => {
          const reason = res.headers.get('x-otlp-receiver-error');
          await res.arrayBuffer();
          if (res.status === 200) return callback(null, {});
          // 400 (undecodable) -> INVALID_ARGUMENT; a simulated failure -> UNAVAILABLE (retried).
          const code = res.status === 400 ? grpc.status.INVALID_ARGUMENT : grpc.status.UNAVAILABLE;
          callback({ code, details: reason ?? `HTTP ${res.status}` });
        }, (err) => callback({ code: grpc.status.INTERNAL, details: err.message }));
      },
    },
  );
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });

  return {
    rx,
    tracesEndpoint: `127.0.0.1:${port}`,
    logsEndpoint: rx.url,
    get grpcCalls() { return grpcCalls; },
    async close() {
      await new Promise((resolve) => {
        const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, 2000);
        server.tryShutdown(() => { clearTimeout(timer); resolve(); });
      });
      await rx.close();
    },
  };
}

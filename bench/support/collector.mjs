// The export target of bench/http.mjs: the real collector (collector/_build/otelcol-otelkit,
// built by `bash collector/build.sh`) running bench/support/collector.yaml, pinned to the load
// generator's core; or, when the collector is not built, the in-process OTLP sink (./sink.mjs).
//
//   const target = await startExportTarget({ cpu: 1, mode: 'auto' | 'collector' | 'sink' });
//   target.url          OTLP/HTTP base URL, for OTEL_EXPORTER_OTLP_ENDPOINT
//   target.description  one line for the benchmark's header
//   await target.close()
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnPinned, waitHttp } from './proc.mjs';
import { startSink } from './sink.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const COLLECTOR_BIN = path.join(ROOT, 'collector/_build/otelcol-otelkit');
export const COLLECTOR_CONFIG = path.join(ROOT, 'bench/support/collector.yaml');

function collectorEnv(ports) {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BENCH_COLLECTOR_OTLP_HTTP_PORT: String(ports.http),
    BENCH_COLLECTOR_HEALTH_PORT: String(ports.health),
  };
}

/** `otelcol-otelkit validate` on the bench config; throws with the collector's message. */
export function validateCollectorConfig() {
  const r = spawnSync(COLLECTOR_BIN, ['validate', `--config=${COLLECTOR_CONFIG}`], {
    env: collectorEnv({ http: 4318, health: 13133 }),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${path.relative(ROOT, COLLECTOR_CONFIG)} is invalid:\n${r.stderr}${r.stdout}`);
}

async function startCollector({ cpu }) {
  const ports = { http: await freePort(), health: await freePort() };
  const { child, output, exited } = spawnPinned(cpu, COLLECTOR_BIN, [`--config=${COLLECTOR_CONFIG}`], { env: collectorEnv(ports) });
  const kill = () => { try { child.kill('SIGKILL'); } catch {} };
  process.once('exit', kill);
  try {
    await waitHttp(`http://127.0.0.1:${ports.health}/`, {
      failed: () => exited() && `the collector exited during start-up (${exited()}):\n${output()}`,
    });
  } catch (err) {
    kill();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${ports.http}`,
    description: `real collector (otelcol-otelkit, bench/support/collector.yaml: batch -> debug exporter, discarded) on core ${cpu}`,
    output,
    async close() {
      if (exited()) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 5000);
      await done;
      clearTimeout(timer);
      process.removeListener('exit', kill);
    },
  };
}

/** `mode`: 'auto' (the collector when it is built, else the sink), 'collector' or 'sink'. */
export async function startExportTarget({ cpu = 1, mode = 'auto' } = {}) {
  const built = existsSync(COLLECTOR_BIN);
  if (mode === 'collector' && !built) {
    throw new Error(`collector binary not found at ${path.relative(ROOT, COLLECTOR_BIN)}: build it with \`bash collector/build.sh\``);
  }
  if (mode !== 'sink' && built) return startCollector({ cpu });
  const sink = await startSink();
  return {
    url: sink.url,
    description: `local OTLP sink in the benchmark process on core ${cpu} (${built ? 'HTTP_EXPORT=sink' : 'collector not built: bash collector/build.sh'})`,
    output: () => '',
    close: () => sink.close(),
  };
}

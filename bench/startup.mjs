// Start-up benchmark: wall time and peak RSS of a hello world, side by side in one run:
// plain node, the official auto-instrumentations-node register, and otelkit's preload
// (CommonJS and ESM entry, all three signals on). Configurations alternate every round.
//
//   node bench/startup.mjs [rounds]
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from './support/sink.mjs';
import { median, table } from './support/stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] || 10);
const rss = path.join(ROOT, 'bench/support/report-rss.cjs');
const hello = path.join(ROOT, 'test/fixtures/hello.js');
const helloEsm = path.join(ROOT, 'test/fixtures/hello.mjs');

const sink = await startSink();
const baseEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
  OTEL_SERVICE_NAME: 'bench-hello',
};
const otelkitEnv = {
  // All three signals on: OTLP traces and logs, Prometheus and OTLP metrics.
  OTEL_METRICS_EXPORTER: 'prometheus,otlp',
  OTEL_EXPORTER_PROMETHEUS_PORT: '0',
  OTEL_LOG_LEVEL: 'none',
};
const officialEnv = {
  OTEL_METRICS_EXPORTER: 'otlp',
  OTEL_LOGS_EXPORTER: 'otlp',
  OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance',
};
const configs = [
  { name: 'plain node (cjs)', args: [hello], env: {} },
  { name: 'plain node (esm)', args: [helloEsm], env: {} },
  { name: 'plain node + empty --import (cjs)', args: ['--import', path.join(ROOT, 'bench/support/empty.mjs'), hello], env: {} },
  // Same detectors as otelkit. With its exporters on, the official register's process does not
  // end for ~10 s after a hello world finishes (measured, not explained here); the row shows it.
  { name: 'official register (cjs)', args: ['--require', '@opentelemetry/auto-instrumentations-node/register', hello], env: { ...officialEnv } },
  { name: 'official register (esm)', args: ['--require', '@opentelemetry/auto-instrumentations-node/register', helloEsm], env: { ...officialEnv } },
  // Exporters off, as the field notes measured it: its start-up without the exit stall.
  {
    name: 'official register, exporters none (cjs)',
    args: ['--require', '@opentelemetry/auto-instrumentations-node/register', hello],
    env: { ...officialEnv, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
  },
  { name: 'otelkit --import (cjs)', args: ['--import', 'otelkit/register', hello], env: otelkitEnv },
  { name: 'otelkit --import (esm)', args: ['--import', 'otelkit/register', helloEsm], env: otelkitEnv },
  { name: 'otelkit --require (cjs)', args: ['--require', 'otelkit/register', hello], env: otelkitEnv },
];

function runOnce(c) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', rss, ...c.args], {
    cwd: ROOT,
    env: { ...baseEnv, ...c.env },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr}`);
  return { ms, rssKiB: Number(String(r.output[3]).trim()) };
}

const samples = new Map(configs.map((c) => [c.name, { ms: [], rss: [] }]));
for (const c of configs) runOnce(c); // warm the file system cache
for (let i = 0; i < rounds; i++) {
  for (const c of configs) {
    const { ms, rssKiB } = runOnce(c);
    samples.get(c.name).ms.push(ms);
    samples.get(c.name).rss.push(rssKiB);
  }
}
await sink.close();

const base = { cjs: samples.get('plain node (cjs)'), esm: samples.get('plain node (esm)') };
const rows = configs.map((c) => {
  const s = samples.get(c.name);
  const b = c.name.includes('esm') ? base.esm : base.cjs;
  const ms = median(s.ms);
  const mib = median(s.rss) / 1024;
  return {
    configuration: c.name,
    'median ms': ms.toFixed(1),
    'x plain': (ms / median(b.ms)).toFixed(2),
    'peak RSS MiB': mib.toFixed(1),
    '+MiB vs plain': (mib - median(b.rss) / 1024).toFixed(1),
  };
});
console.log(`start-up of a hello world, ${rounds} alternating rounds, node ${process.version}`);
console.log(table(rows, ['configuration', 'median ms', 'x plain', 'peak RSS MiB', '+MiB vs plain']));


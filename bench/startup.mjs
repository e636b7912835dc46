// Start-up benchmark: wall time and peak RSS of a hello world, side by side in one run:
// plain node, the official auto-instrumentations-node register, and otelkit's preload
// (CommonJS and ESM entry, all three signals on), on every Node line: the running node and the
// versions pinned in scripts/node-lines (installed by setup_node_lines in scripts/setup.sh).
// Configurations and lines alternate every round; ratios are against plain node of the same line.
//
//   node bench/startup.mjs [rounds] [--lines 20,22,24] [--stall-rounds n]
//
// OTELKIT_BENCH_LINES (e.g. "22 24") picks lines too. The official register with its exporters
// on lingers ~10 s at exit on every run, so its two rows run only in the first --stall-rounds
// rounds (OTELKIT_BENCH_STALL_ROUNDS, default 1; 0 leaves them out); the table says how many.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeLines, option } from './support/lines.mjs';
import { startSink } from './support/sink.mjs';
import { median, table } from './support/stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
let lines;
try {
  lines = nodeLines(argv);
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
const stallRounds = Number(option(argv, '--stall-rounds', 'OTELKIT_BENCH_STALL_ROUNDS') ?? 1);
const rounds = Number(argv[0] || 10);
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
  // end for ~10 s after a hello world finishes (measured, not explained here); the row shows it,
  // from the first stallRounds rounds only.
  { name: 'official register (cjs)', args: ['--require', '@opentelemetry/auto-instrumentations-node/register', hello], env: { ...officialEnv }, stall: true },
  { name: 'official register (esm)', args: ['--require', '@opentelemetry/auto-instrumentations-node/register', helloEsm], env: { ...officialEnv }, stall: true },
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

function runOnce(l, c) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(l.bin, ['--require', rss, ...c.args], {
    cwd: ROOT,
    env: { ...baseEnv, ...c.env },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c.name} on node ${l.version} exited ${r.status}: ${r.stderr}`);
  return { ms, rssKiB: Number(String(r.output[3]).trim()) };
}

const key = (l, c) => `${l.line}\0${c.name}`;
const samples = new Map(lines.flatMap((l) => configs.map((c) => [key(l, c), { ms: [], rss: [] }])));
// Warm the file system cache (the exporters-none row loads what the stalling rows load).
for (const l of lines) for (const c of configs) if (!c.stall) runOnce(l, c);
for (let i = 0; i < rounds; i++) {
  for (const l of lines) {
    for (const c of configs) {
      if (c.stall && i >= stallRounds) continue;
      const { ms, rssKiB } = runOnce(l, c);
      samples.get(key(l, c)).ms.push(ms);
      samples.get(key(l, c)).rss.push(rssKiB);
    }
  }
}
await sink.close();

const columns = ['configuration'];
for (const l of lines) columns.push(`${l.line}: ms`, `${l.line}: x plain`, `${l.line}: MiB`, `${l.line}: +MiB`);
const rows = configs
  .filter((c) => !c.stall || stallRounds > 0)
  .map((c) => {
    const n = c.stall ? Math.min(stallRounds, rounds) : rounds;
    const row = { configuration: n === rounds ? c.name : `${c.name} [${n} run${n === 1 ? '' : 's'}]` };
    for (const l of lines) {
      const s = samples.get(key(l, c));
      const b = samples.get(key(l, configs[c.name.includes('esm') ? 1 : 0]));
      const ms = median(s.ms);
      const mib = median(s.rss) / 1024;
      row[`${l.line}: ms`] = ms.toFixed(1);
      row[`${l.line}: x plain`] = (ms / median(b.ms)).toFixed(2);
      row[`${l.line}: MiB`] = mib.toFixed(1);
      row[`${l.line}: +MiB`] = (mib - median(b.rss) / 1024).toFixed(1);
    }
    return row;
  });
console.log(
  `start-up of a hello world, ${rounds} alternating rounds, per Node line: ` +
    lines.map((l) => `${l.line} = node ${l.version}`).join(', ') +
    '\nmedian ms and peak RSS; x plain and +MiB against plain node (cjs or esm) of the same line',
);
console.log(
  stallRounds > 0
    ? `official register with exporters on: ${Math.min(stallRounds, rounds)} run(s) a line only (each lingers ~10 s at exit; --stall-rounds n)`
    : 'official register with exporters on: left out (--stall-rounds 0); its exporters-none row stays',
);
console.log(table(rows, columns));

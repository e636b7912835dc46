// Request-path overhead: an express hello world under plain node, the official register, and
// otelkit at production sampling (0.1) and at 1.0, exporting over OTLP to a local sink.
// The server is pinned to core 0 and wrk to core 1; configurations alternate every round.
//
//   node bench/http.mjs [rounds] [seconds]
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from './support/sink.mjs';
import { median, table } from './support/stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] || 3);
const seconds = Number(process.argv[3] || 5);
const app = path.join(ROOT, 'bench/support/express-hello.js');

for (const tool of ['wrk', 'taskset']) {
  if (spawnSync('which', [tool]).status !== 0) {
    console.error(`${tool} is missing: apt-get install -y ${tool === 'wrk' ? 'wrk' : 'util-linux'}`);
    process.exit(1);
  }
}

const sink = await startSink();
const common = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
  OTEL_SERVICE_NAME: 'bench-http',
};
const otelkit = { OTEL_LOG_LEVEL: 'none', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTELKIT_ENVIRONMENT: 'production' };
const configs = [
  { name: 'plain node', args: [app], env: {} },
  {
    name: 'official register (1.0)',
    args: ['--require', '@opentelemetry/auto-instrumentations-node/register', app],
    env: { OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance', OTEL_METRICS_EXPORTER: 'otlp', OTEL_LOGS_EXPORTER: 'otlp' },
  },
  { name: 'otelkit (0.1)', args: ['--import', 'otelkit/register', app], env: { ...otelkit } },
  { name: 'otelkit (1.0)', args: ['--import', 'otelkit/register', app], env: { ...otelkit, OTEL_TRACES_SAMPLER_ARG: '1' } },
];

let nextPort = 18300;

async function runOnce(c) {
  const port = nextPort++;
  const child = spawn('taskset', ['-c', '0', process.execPath, ...c.args], {
    cwd: ROOT,
    env: { ...common, ...c.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`${c.name} exited ${code}`)));
  });
  const wrk = (secs) =>
    spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c32', `-d${secs}s`, '--latency', `http://127.0.0.1:${port}/hello/world`], { encoding: 'utf8' }).stdout;
  wrk(2); // warm-up: JIT, lazy loading, first exports
  const out = wrk(seconds);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const lat = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]];
  };
  return { rps, p50: lat(50), p99: lat(99), rss };
}

const samples = new Map(configs.map((c) => [c.name, []]));
for (let i = 0; i < rounds; i++) {
  for (const c of configs) samples.get(c.name).push(await runOnce(c));
}
await sink.close();

const base = median(samples.get('plain node').map((s) => s.rps));
const baseRss = median(samples.get('plain node').map((s) => s.rss));
const rows = configs.map((c) => {
  const s = samples.get(c.name);
  const rps = median(s.map((x) => x.rps));
  return {
    configuration: c.name,
    'req/s': rps.toFixed(0),
    'x plain': (rps / base).toFixed(2),
    'p50 ms': median(s.map((x) => x.p50)).toFixed(2),
    'p99 ms': median(s.map((x) => x.p99)).toFixed(2),
    'RSS MiB': median(s.map((x) => x.rss)).toFixed(1),
    '+MiB': (median(s.map((x) => x.rss)) - baseRss).toFixed(1),
  };
});
console.log(`express hello world, ${rounds} alternating rounds of ${seconds}s, wrk -c32 on core 1, server on core 0, node ${process.version}`);
console.log(table(rows, ['configuration', 'req/s', 'x plain', 'p50 ms', 'p99 ms', 'RSS MiB', '+MiB']));

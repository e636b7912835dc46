// A REAL Prometheus (Debian's `prometheus` binary) on the loopback interface, for tests that
// need PromQL evaluated over scraped data.
//
//   const prom = await startPrometheus({ scrapeConfigs: [{ job_name: 'app', static_configs: [{ targets: ['127.0.0.1:9464'] }] }] });
//   await prom.waitForScrapes(2);                 // every target scraped twice, all up
//   const series = await prom.query('up');         // -> [{ metric, value }] (instant vector)
//   await prom.stop();
//
// startPrometheus({ config?, scrapeConfigs?, ruleFiles?, scrapeInterval = '1s', evaluationInterval,
//                   flags = [], readyTimeoutMs = 30000 })
//   `config` is a whole configuration object (written as JSON, which is YAML); otherwise one is
//   made of `scrapeConfigs` (the scrape_configs list) and `ruleFiles`. Either way the global
//   scrape and evaluation intervals are set to `scrapeInterval` (default 1 s) unless the config
//   sets them. Every run gets a fresh temporary TSDB directory and a free loopback port
//   (--web.listen-address=127.0.0.1:<port>); exemplar storage is enabled.
//   -> { port, url, configFile, output() (stdout+stderr), query(expr, { time }?),
//        queryRaw(expr) (the whole API answer, never throws on a PromQL error), series(match,
//        { start, end }?), labelValues(name), exemplars(expr), targets(), rules(),
//        waitForScrapes(n, { timeoutMs }), stop() }
//   query() throws with Prometheus's error message when the expression does not parse or fails.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort } from './app.mjs';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN || 'prometheus';
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN || 'promtool';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch {}
  }
});

/** True when the prometheus binary can be run. */
export function prometheusAvailable() {
  const r = spawnSync(PROMETHEUS_BIN, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

export async function startPrometheus({
  config,
  scrapeConfigs = [],
  ruleFiles = [],
  scrapeInterval = '1s',
  evaluationInterval,
  flags = [],
  readyTimeoutMs = 30_000,
} = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'otelkit-prometheus-'));
  const port = await freePort();
  const cfg = config ? structuredClone(config) : { scrape_configs: scrapeConfigs, rule_files: ruleFiles };
  cfg.global = { ...(cfg.global ?? {}) };
  cfg.global.scrape_interval ??= scrapeInterval;
  cfg.global.evaluation_interval ??= evaluationInterval ?? scrapeInterval;
  if (cfg.global.scrape_timeout === undefined || parseDuration(cfg.global.scrape_timeout) > parseDuration(cfg.global.scrape_interval)) {
    cfg.global.scrape_timeout = cfg.global.scrape_interval;
  }
  const configFile = path.join(dir, 'prometheus.json.yml');
  writeFileSync(configFile, JSON.stringify(cfg, null, 2));

  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
    '--enable-feature=exemplar-storage',
    '--log.level=warn',
    ...flags,
  ];
  let output = '';
  const child = spawn(PROMETHEUS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    live.delete(child);
    resolve({ code, signal });
  }));
  child.once('error', (err) => { output += `\nspawn error: ${err.message}\n`; });
  const running = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${port}`;

  async function api(p, params = {}) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
    }
    const res = await fetch(`${url}${p}${qs.size ? `?${qs}` : ''}`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      return { status: 'error', errorType: `HTTP ${res.status}`, error: text.trim() };
    }
  }
  async function ok(p, params) {
    const r = await api(p, params);
    if (r.status !== 'success') throw new Error(`Prometheus ${p} ${JSON.stringify(params)}: ${r.errorType}: ${r.error}`);
    return r.data;
  }
  const nowSec = () => Date.now() / 1000;

  const prom = {
    port,
    url,
    configFile,
    output: () => output,
    queryRaw: (expr, { time } = {}) => api('/api/v1/query', { query: expr, time: time ?? nowSec() }),
    async query(expr, { time } = {}) {
      const data = await ok('/api/v1/query', { query: expr, time: time ?? nowSec() });
      // Scalars and strings come back as one [time, value] pair: make them a one-element list.
      return data.resultType === 'vector' || data.resultType === 'matrix' ? data.result : [{ metric: {}, value: data.result }];
    },
    series: (match, { start = nowSec() - 3600, end = nowSec() } = {}) => ok('/api/v1/series', { 'match[]': match, start, end }),
    labelValues: async (name) => ok(`/api/v1/label/${encodeURIComponent(name)}/values`),
    exemplars: (expr, { start = nowSec() - 3600, end = nowSec() } = {}) => ok('/api/v1/query_exemplars', { query: expr, start, end }),
    targets: async () => (await ok('/api/v1/targets')).activeTargets,
    rules: async () => (await ok('/api/v1/rules')).groups,

    /** Resolves once every active target has been scraped successfully `n` more times. */
    async waitForScrapes(n = 2, { timeoutMs = 30_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      const seen = new Map();
      let targets = [];
      while (Date.now() < deadline) {
        if (!running()) throw new Error(`prometheus exited\n${output.slice(-4000)}`);
        targets = await prom.targets();
        for (const t of targets) {
          const key = t.scrapeUrl;
          if (t.health !== 'up') continue;
          const s = seen.get(key) ?? new Set();
          s.add(t.lastScrape);
          seen.set(key, s);
        }
        if (targets.length > 0 && targets.every((t) => (seen.get(t.scrapeUrl)?.size ?? 0) > n)) return targets;
        await sleep(200);
      }
      const state = targets.map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError ?? ''}`).join('\n');
      throw new Error(`targets were not scraped ${n} times within ${timeoutMs} ms:\n${state}`);
    },

    async stop() {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch {} }, 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  // Ready when /-/ready answers 200.
  const deadline = Date.now() + readyTimeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (!running()) {
      await prom.stop();
      throw new Error(`prometheus exited before it was ready (${PROMETHEUS_BIN} ${args.join(' ')})\n${output.slice(-4000)}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) {
      await prom.stop();
      throw new Error(`prometheus was not ready within ${readyTimeoutMs} ms (${last})\n${output.slice(-4000)}`);
    }
    await sleep(100);
  }
  return prom;
}

/** Prometheus duration ('1s', '1m30s', '250ms') in milliseconds. */
export function parseDuration(d) {
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
  let total = 0;
  let m;
  let consumed = 0;
  while ((m = re.exec(String(d))) !== null) {
    total += Number(m[1]) * unit[m[2]];
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== String(d).length) throw new Error(`not a Prometheus duration: ${d}`);
  return total;
}

/** Runs promtool with the arguments; -> { status, output }. */
export function promtool(...args) {
  const r = spawnSync(PROMTOOL_BIN, args, { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

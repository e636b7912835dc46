// Logger throughput, side by side. Run: npm run build && node bench/logger.bench.mjs > /dev/null
// (the table goes to stderr; stdout is the log sink, so redirect it where you want to measure).
//
// Each case runs in its own child process (same stdout) so JIT state and heap do not leak between
// cases. Records: logger.info('order processed', { orderId, userId }). The loop yields every
// CHUNK records so the BatchLogRecordProcessor can export (a synchronous loop would only fill its
// queue and drop the rest, which would flatter every bridged case); the exporter counts and
// discards, and the table shows how many records reached it.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHUNK = 500;

const CASES = {
  'winston (bare)': 'bare',
  'winston + OpenTelemetryTransportV3': 'upstream',
  'otelkit (redaction + OTLP bridge)': 'otelkit',
  'otelkit (redaction, no bridge)': 'otelkit-nobridge',
  'otelkit debug() below level': 'otelkit-below',
};

function countingExporter() {
  const exp = {
    exported: 0,
    export(records, cb) {
      exp.exported += records.length;
      cb({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve(),
  };
  return exp;
}

function registerProvider() {
  const { logs } = require('@opentelemetry/api-logs');
  const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
  const exporter = countingExporter();
  const batch = new BatchLogRecordProcessor({ exporter });
  const provider = new LoggerProvider({ processors: [batch] });
  logs.setGlobalLoggerProvider(provider);
  return { provider, exporter, batch };
}

function setupTracing() {
  // A real context manager, as in production (its cost is in every case alike).
  const { context } = require('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

async function makeCase(kind) {
  setupTracing();
  const winston = require('winston');
  if (kind === 'bare') {
    const logger = winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Console()] });
    return { log: (i) => logger.info('order processed', { orderId: i, userId: 'user-42' }) };
  }
  if (kind === 'upstream') {
    const { provider, exporter } = registerProvider();
    const { OpenTelemetryTransportV3 } = require('@opentelemetry/winston-transport');
    const logger = winston.createLogger({
      format: winston.format.json(),
      transports: [new winston.transports.Console(), new OpenTelemetryTransportV3()],
    });
    return { log: (i) => logger.info('order processed', { orderId: i, userId: 'user-42' }), provider, exporter };
  }
  const { getLogger } = require('../dist/logs/logger.js');
  const { initLogging } = require('../dist/logs/setup.js');
  const { createRedactor } = require('../dist/redact/redactor.js');
  const bridge = kind !== 'otelkit-nobridge';
  const reg = bridge ? registerProvider() : {};
  // As the SDK composes it: otelkit's records go straight to the batch processor.
  const { ownRecordSink } = require('../dist/logs/otlp-bridge.js');
  const { resourceFromAttributes } = require('@opentelemetry/resources');
  const sink = bridge ? ownRecordSink(resourceFromAttributes({ 'service.name': 'orders' }), reg.batch) : undefined;
  initLogging(
    { level: 'info', levels: [], format: 'json', captureConsole: false, bridge },
    { serviceName: 'orders', redactor: createRedactor({ enabled: true, extraKeys: [] }), sink },
  );
  const logger = getLogger('orders');
  if (kind === 'otelkit-below') return { log: (i) => logger.debug('order processed', { orderId: i, userId: 'user-42' }) };
  return { log: (i) => logger.info('order processed', { orderId: i, userId: 'user-42' }), ...reg };
}

const tick = () => new Promise((r) => setImmediate(r));

async function child(kind) {
  const c = await makeCase(kind);
  // warm-up
  for (let i = 0; i < 20000; i++) {
    c.log(i);
    if (i % CHUNK === 0) await tick();
  }
  const rates = [];
  let total = 0;
  let gcBefore = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const t0 = performance.now();
    const end = t0 + DURATION_MS;
    while (performance.now() < end) {
      for (let i = 0; i < CHUNK; i++) c.log(n + i);
      n += CHUNK;
      await tick();
    }
    rates.push((n * 1000) / (performance.now() - t0));
    total += n;
  }
  if (c.provider) await c.provider.forceFlush();
  // Below-level allocation check: a long synchronous loop and heap growth per call.
  let bytesPerCall;
  if (kind === 'otelkit-below') {
    globalThis.gc?.();
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 5e6; i++) c.log(i);
    bytesPerCall = (process.memoryUsage().heapUsed - h0) / 5e6;
    gcBefore = h0;
  }
  rates.sort((a, b) => a - b);
  const result = { rate: rates[Math.floor(rates.length / 2)], total, exported: c.exporter?.exported, bytesPerCall, gcBefore };
  process.stderr.write(`\n@@RESULT ${JSON.stringify(result)}\n`);
}

async function main() {
  const results = {};
  for (const [label, kind] of Object.entries(CASES)) {
    const res = await new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--case', kind], {
        stdio: ['ignore', 'inherit', 'pipe'],
      });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => {
        const m = /@@RESULT (.*)/.exec(err);
        if (code !== 0 || !m) reject(new Error(`${kind} failed (${code}): ${err}`));
        else resolve(JSON.parse(m[1]));
      });
    });
    results[label] = res;
  }
  const base = results['winston (bare)'].rate;
  const rows = Object.entries(results).map(([label, r]) => [
    label,
    Math.round(r.rate).toLocaleString('en-US'),
    (r.rate / base).toFixed(2) + 'x',
    r.exported === undefined ? '-' : `${r.exported}/${r.total + 20000}`,
    r.bytesPerCall === undefined ? '' : `${r.bytesPerCall.toFixed(3)} B/call below level`,
  ]);
  const head = ['case', 'records/s', 'vs bare', 'OTLP exported', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  process.stderr.write(
    `node ${process.version}, ${DURATION_MS} ms x ${ROUNDS} rounds (median), stdout: ${describeStdout()}\n` +
      [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n') +
      '\n',
  );
}

function describeStdout() {
  try {
    const fs = require('node:fs');
    const st = fs.fstatSync(1);
    return st.isFIFO() ? 'pipe' : st.isCharacterDevice() ? 'character device (/dev/null or tty)' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'unknown';
  }
}

const ci = process.argv.indexOf('--case');
if (ci !== -1) await child(process.argv[ci + 1]);
else await main();

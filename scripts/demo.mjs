// The demo: the otelkit dev viewer, the payment and orders services under the preload, and a
// little traffic (paid orders, declined payments, unknown orders, cache hits). Run through
// `npm run demo` (scripts/demo.sh installs and builds first); Ctrl-C stops everything.
//
// Ports (override with environment variables; each must be free):
//   DEMO_OTLP_PORT 4318           the viewer's OTLP/HTTP receiver
//   DEMO_UI_PORT 16686            the viewer's page  <- open http://localhost:16686/
//   DEMO_ORDERS_PORT 8080         orders-service        (admin /metrics: DEMO_ORDERS_ADMIN_PORT 9464)
//   DEMO_PAYMENT_PORT 8081        payment-service       (admin /metrics: DEMO_PAYMENT_ADMIN_PORT 9465)
// DATABASE_URL / REDIS_URL are passed to orders-service when set; otherwise it uses its
// embedded in-memory store and cache. DEMO_TRAFFIC=burst sends one burst and no more.
// Service output goes to .tmp/demo/<service>.log.
//
// Also used by test/demo-browser.test.mjs: import { startDemo } from './demo.mjs'.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function waitHttp(url, child, what, timeoutMs = 20000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited early (code ${child.exitCode ?? child.signalCode}); see its log`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status < 500) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${what} did not answer at ${url} within ${timeoutMs} ms`);
}

/**
 * Starts the viewer and both services. Returns { uiUrl, otlpUrl, ordersUrl, paymentUrl,
 * traffic(), stop() }. Options: ports ({ otlp, ui, orders, payment, ordersAdmin, paymentAdmin }),
 * env (extra environment for the services), logDir, metricIntervalMs.
 */
export async function startDemo(opts = {}) {
  const ports = {
    otlp: 4318, ui: 16686, orders: 8080, payment: 8081, ordersAdmin: 9464, paymentAdmin: 9465,
    ...opts.ports,
  };
  for (const [name, port] of Object.entries(ports)) {
    if (!(await portFree(port))) {
      throw new Error(`port ${port} (${name}) is in use: stop what listens there, or set DEMO_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_PORT to a free port`);
    }
  }
  const logDir = opts.logDir ?? path.join(ROOT, '.tmp', 'demo');
  mkdirSync(logDir, { recursive: true });
  const children = [];

  const run = (name, args, env) => {
    const log = createWriteStream(path.join(logDir, `${name}.log`));
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.name = name;
    child.exited = new Promise((resolve) => child.once('exit', resolve));
    children.push(child);
    return child;
  };

  const stop = async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    }
    const all = Promise.all(children.map((c) => c.exited));
    const timeout = sleep(8000).then(() => 'timeout');
    if ((await Promise.race([all, timeout])) === 'timeout') {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await all;
    }
  };

  try {
    const baseEnv = { ...process.env, ...opts.baseEnv };
    const viewer = run('viewer', [path.join(ROOT, 'dist', 'cli', 'index.js'), 'dev', '--port', String(ports.otlp), '--ui-port', String(ports.ui)], baseEnv);
    const uiUrl = `http://localhost:${ports.ui}/`;
    await waitHttp(`http://127.0.0.1:${ports.ui}/api/stats`, viewer, 'the viewer');

    const serviceEnv = (name, port, adminPort) => ({
      ...baseEnv,
      OTEL_SERVICE_NAME: name,
      PORT: String(port),
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(adminPort),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ports.otlp}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_METRIC_EXPORT_INTERVAL: String(opts.metricIntervalMs ?? 5000),
      OTEL_BSP_SCHEDULE_DELAY: '500',
      OTEL_BLRP_SCHEDULE_DELAY: '500',
      OTELKIT_ENVIRONMENT: 'development',
      OTELKIT_LOG_FORMAT: 'json',
      ...opts.env,
    });
    const payment = run('payment-service', ['--import', 'otelkit/register', 'examples/payment-service/server.mjs'], {
      PAYMENT_FAIL_RATE: '0.05', PAYMENT_LATENCY_MS: '15', ...serviceEnv('payment-service', ports.payment, ports.paymentAdmin),
    });
    const orders = run('orders-service', ['--import', 'otelkit/register', 'examples/orders-service/server.mjs'], {
      ...serviceEnv('orders-service', ports.orders, ports.ordersAdmin),
      PAYMENT_URL: `http://127.0.0.1:${ports.payment}`,
    });
    await Promise.all([
      waitHttp(`http://127.0.0.1:${ports.payment}/livez`, payment, 'payment-service'),
      waitHttp(`http://127.0.0.1:${ports.orders}/livez`, orders, 'orders-service'),
    ]);

    const ordersUrl = `http://127.0.0.1:${ports.orders}`;
    return {
      uiUrl,
      otlpUrl: `http://localhost:${ports.otlp}`,
      ordersUrl,
      paymentUrl: `http://127.0.0.1:${ports.payment}`,
      ports,
      logDir,
      children,
      traffic: (n) => traffic(ordersUrl, n),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

const ITEMS = ['espresso beans', 'filter papers', 'grinder', 'milk jug', 'tamper'];

async function call(url, init) {
  try {
    const r = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
    const body = await r.json().catch(() => null);
    return { status: r.status, body };
  } catch (err) {
    return { status: 0, body: null, error: err };
  }
}

/** One round of traffic: n orders (every fifth is declined), reads that hit the cache, an unknown order, the list. */
export async function traffic(ordersUrl, n = 5) {
  const results = [];
  for (let i = 0; i < n; i++) {
    const declined = i % 5 === 4;
    const order = {
      item: ITEMS[i % ITEMS.length],
      quantity: 1 + (i % 3),
      amountCents: declined ? 250000 : 599 + i * 100,
      customerEmail: 'jane@example.com',
    };
    const r = await call(`${ordersUrl}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
    results.push(r.status);
    if (r.status === 201 && r.body?.id) results.push((await call(`${ordersUrl}/orders/${r.body.id}`)).status);
  }
  results.push((await call(`${ordersUrl}/orders/no-such-order`)).status);
  results.push((await call(`${ordersUrl}/orders?limit=5`)).status);
  return results;
}

async function main() {
  const envPort = (name, fallback) => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      console.error(`demo: ${name}=${raw} is not a port number`);
      process.exit(2);
    }
    return n;
  };
  const ports = {
    otlp: envPort('DEMO_OTLP_PORT', 4318),
    ui: envPort('DEMO_UI_PORT', 16686),
    orders: envPort('DEMO_ORDERS_PORT', 8080),
    payment: envPort('DEMO_PAYMENT_PORT', 8081),
    ordersAdmin: envPort('DEMO_ORDERS_ADMIN_PORT', 9464),
    paymentAdmin: envPort('DEMO_PAYMENT_ADMIN_PORT', 9465),
  };
  let demo;
  let stopping = false;
  let timer;
  const shutdown = async (signal) => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    console.log(`\ndemo: ${signal}: stopping the services and the viewer...`);
    await demo?.stop();
    console.log('demo: stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  console.log('demo: starting the viewer, payment-service and orders-service...');
  try {
    demo = await startDemo({ ports });
  } catch (err) {
    console.error(`demo: ${err.message}`);
    process.exit(1);
  }
  if (stopping) return;
  for (const c of demo.children) {
    c.once('exit', (code, sig) => {
      if (!stopping) console.error(`demo: ${c.name} exited unexpectedly (${code ?? sig}); see ${path.join(demo.logDir, `${c.name}.log`)}`);
    });
  }
  const first = await demo.traffic(10);
  const store = process.env.DATABASE_URL ? 'PostgreSQL' : 'in-memory store';
  const cache = process.env.REDIS_URL ? 'Redis' : 'in-memory cache';
  console.log(`
otelkit demo is running.

  Open the viewer:   ${demo.uiUrl}

  orders-service     ${demo.ordersUrl}  (${store}, ${cache}; /metrics on 127.0.0.1:${ports.ordersAdmin})
  payment-service    ${demo.paymentUrl}  (/metrics on 127.0.0.1:${ports.paymentAdmin})
  OTLP receiver      ${demo.otlpUrl}  (the viewer)
  service logs       ${path.relative(process.cwd(), demo.logDir) || '.'}/*.log

Sent ${first.length} requests (${first.filter((s) => s >= 400).length} of them errors or not-found); a few more every 3 seconds.
Try:  curl -s ${demo.ordersUrl}/orders -H 'content-type: application/json' -d '{"item":"beans","quantity":1,"amountCents":1299}'

Ctrl-C stops everything.`);
  if (process.env.DEMO_TRAFFIC === 'burst') return;
  let round = 0;
  const tick = async () => {
    if (stopping) return;
    await demo.traffic(1 + (round++ % 5 === 4 ? 4 : 0));
    if (!stopping) timer = setTimeout(tick, 3000);
  };
  timer = setTimeout(tick, 3000);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}

// Workload (b) of bench/http.mjs: the orders service's read path (examples/orders-service) on
// its real backends. Starts PostgreSQL and Redis from Debian's packages (test/support/services.mjs,
// loopback, throwaway data directories), creates the schema with the service's own store and seeds
// orders directly into the table (so the payment service is not needed), and writes the id lists
// for the wrk script (./orders.lua).
//
//   const orders = await startOrders({ cpu: 1, coldPerPhase: { warmup, measure, windows } });
//   orders.env                  DATABASE_URL, REDIS_URL, PAYMENT_URL for the service
//   orders.wrkScript(phase, i)  { script: orders.lua, args } for wrk, phase 'warmup' | 'measure'
//                               (measured window i of `windows`, each with cold orders of its own)
//   await orders.reset()        empties Redis: every run starts with a cold cache
//   orders.describe             one line for the benchmark's header
//   await orders.stop()
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { startPostgres, startRedis } from '../../test/support/services.mjs';
import { createStore } from '../../examples/orders-service/store.mjs';
import { pinTree } from './proc.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ORDERS_APP = path.resolve(HERE, '../../examples/orders-service/server.mjs');
export const HOT_ORDERS = 1000;
/** One request in MISS_EVERY reads an order that is not cached yet. */
export const MISS_EVERY = 20;

const SEED = `
INSERT INTO orders (id, item, quantity, amount_cents, customer_email, status, payment_id, created_at)
SELECT gen_random_uuid()::text, 'espresso beans, batch ' || g, 1 + g % 5, 500 + (g * 37) % 20000,
       'customer' || g || '@example.com', 'paid', 'pay_' || substr(md5(g::text), 1, 16), now() - g * interval '1 second'
FROM generate_series(1, $1) AS g
RETURNING id`;

async function startBackend(name, start) {
  try {
    return await start();
  } catch (err) {
    err.message = `bench/http.mjs (orders workload): cannot start ${name}: ${err.message}\n` +
      'Install the backends with `source scripts/setup.sh && setup_backends` (or run `npm run bench`), ' +
      'or run only the hello workload: HTTP_WORKLOADS=hello node bench/http.mjs';
    throw err;
  }
}

export async function startOrders({ cpu = 1, coldPerPhase }) {
  const pg = await startBackend('PostgreSQL', () => startPostgres());
  let redis;
  try {
    redis = await startBackend('Redis', () => startRedis());
  } catch (err) {
    await pg.stop();
    throw err;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-bench-orders-'));
  const cleanup = async () => {
    await Promise.allSettled([pg.stop(), redis.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The backends belong to the load side: the service's core runs nothing but the service.
    pinTree(pg.pid, cpu);
    pinTree(redis.pid, cpu);

    const quiet = { info() {}, warn() {}, error() {} };
    const store = await createStore({ url: pg.url, logger: quiet });
    const windows = coldPerPhase.windows ?? 1;
    const total = coldPerPhase.warmup + coldPerPhase.measure * windows;
    const hot = (await store.pool.query(SEED, [HOT_ORDERS])).rows.map((r) => r.id);
    const cold = (await store.pool.query(SEED, [total])).rows.map((r) => r.id);
    await store.pool.query('VACUUM ANALYZE orders');
    await store.close();
    const hotFile = path.join(dir, 'hot.txt');
    const coldFile = path.join(dir, 'cold.txt');
    fs.writeFileSync(hotFile, `${hot.join('\n')}\n`);
    fs.writeFileSync(coldFile, `${cold.join('\n')}\n`);

    const cache = createClient({ url: redis.url });
    cache.on('error', () => {});
    await cache.connect();

    return {
      env: {
        DATABASE_URL: pg.url,
        REDIS_URL: redis.url,
        // The read path never calls the payment service: nothing listens there.
        PAYMENT_URL: 'http://127.0.0.1:9',
      },
      wrkScript(phase, window = 0) {
        // The measured windows take their cold orders first, each its own; the warm-up those
        // after them: none repeats in a run.
        const offset = phase === 'warmup' ? coldPerPhase.measure * windows : coldPerPhase.measure * window;
        return { script: path.join(HERE, 'orders.lua'), args: [hotFile, coldFile, String(offset), String(MISS_EVERY)] };
      },
      async reset() {
        await cache.flushAll();
      },
      describe: `GET /orders/:id, ${MISS_EVERY - 1} of ${MISS_EVERY} over ${HOT_ORDERS} orders cached during the warm-up ` +
        `(Redis hit), 1 of ${MISS_EVERY} an order not requested before (Redis miss -> PostgreSQL -> cached); ` +
        `PostgreSQL and Redis on core ${cpu}`,
      async stop() {
        await cache.quit().catch(() => cache.destroy());
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

// A small load generator for the compose stack (`docker compose --profile load up`): creates
// orders, reads them back, asks for unknown ones, and now and then places an order the payment
// service declines (502 from the orders service), so every dashboard panel and alert has data.
//
// Environment: TARGET_URL (http://orders-service:8080), RATE (requests per second, 5),
// DECLINE_EVERY (every Nth order is declined, 10), HEARTBEAT_FILE (/tmp/loadgen-heartbeat,
// touched after every request; the compose healthcheck checks its age).
import { writeFileSync } from 'node:fs';

const TARGET = (process.env.TARGET_URL || 'http://orders-service:8080').replace(/\/$/, '');
const RATE = Math.max(0.1, Number(process.env.RATE) || 5);
const DECLINE_EVERY = Math.max(1, Number(process.env.DECLINE_EVERY) || 10);
const HEARTBEAT = process.env.HEARTBEAT_FILE || '/tmp/loadgen-heartbeat';

const ids = [];
let n = 0;
let stopping = false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const items = ['book', 'lamp', 'chair', 'kettle', 'socks'];

async function call(method, path, body) {
  const res = await fetch(`${TARGET}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text.startsWith('{') ? JSON.parse(text) : null };
}

async function once() {
  n += 1;
  const pick = n % 10;
  if (pick < 4 || ids.length === 0) {
    const declined = n % DECLINE_EVERY === 0;
    const r = await call('POST', '/orders', {
      item: items[n % items.length],
      quantity: 1 + (n % 3),
      // The payment service declines amounts at or above PAYMENT_DECLINE_CENTS (100000).
      amountCents: declined ? 250_000 : 500 + (n % 50) * 100,
      customerEmail: `customer${n % 20}@example.com`,
    });
    if (r.json?.id) ids.push(r.json.id);
    if (ids.length > 500) ids.shift();
  } else if (pick < 8) {
    await call('GET', `/orders/${ids[n % ids.length]}`);
  } else if (pick === 8) {
    await call('GET', '/orders?limit=10');
  } else {
    await call('GET', `/orders/unknown-${n}`);
  }
}

process.on('SIGTERM', () => { stopping = true; });
process.on('SIGINT', () => { stopping = true; });
console.log(`loadgen: ${RATE} req/s against ${TARGET}`);
while (!stopping) {
  const started = Date.now();
  try {
    await once();
  } catch (err) {
    console.error(`loadgen: ${err.message}`);
  }
  writeFileSync(HEARTBEAT, String(Date.now()));
  await sleep(Math.max(0, 1000 / RATE - (Date.now() - started)));
}

// The orders service of the example: express, PostgreSQL for orders, Redis as cache, and an HTTP
// call to the payment service, so one order's trace spans two services.
//
//   OTEL_SERVICE_NAME=orders-service node --import otelkit/register examples/orders-service/server.mjs
//
// Routes:
//   POST /orders          {item, quantity, amountCents, customerEmail?}: stores the order, caches
//                         it, charges it; 201 with the paid order, 400 on invalid input, 502 when
//                         the payment fails (the order is kept with status "payment_failed")
//   GET  /orders/:id      from the cache, else the database (x-cache: hit|miss); 404 when unknown
//   GET  /orders          the most recent orders (?limit=1..100, default 20)
//   GET  /livez, /readyz  health (also on otelkit's admin port)
//
// Environment: PORT (8080), DATABASE_URL (postgres://...; in-memory store when unset), REDIS_URL
// (redis://...; in-memory cache when unset), PAYMENT_URL (http://127.0.0.1:8081), CACHE_TTL_SECONDS (300).
import express from 'express';
import { getLogger, health, checks } from 'otelkit';
import { createStore } from './store.mjs';
import { createCache } from './cache.mjs';
import { createPaymentClient } from './payments.mjs';

const logger = getLogger('orders');
const dbLogger = getLogger('orders.db');
const cacheLogger = getLogger('orders.cache');

function numberFromEnv(name, fallback, { min = 0, max = Infinity } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  logger.warn(`invalid ${name}, using the default`, { value: raw, default: fallback });
  return fallback;
}

const PORT = numberFromEnv('PORT', 8080, { max: 65535 });
const PAYMENT_URL = process.env.PAYMENT_URL || 'http://127.0.0.1:8081';
const CACHE_TTL_SECONDS = numberFromEnv('CACHE_TTL_SECONDS', 300, { min: 1 });

const store = await createStore({ url: process.env.DATABASE_URL, logger: dbLogger });
const cache = await createCache({ url: process.env.REDIS_URL, logger: cacheLogger, ttlSeconds: CACHE_TTL_SECONDS });
const payments = createPaymentClient({ baseUrl: PAYMENT_URL });

if (store.pool) health.addCheck('postgres', checks.postgres(store.pool));
if (cache.client) health.addCheck('redis', checks.redis(cache.client));
// Orders cannot be paid without it, but the service still answers reads: degraded, not unhealthy.
health.addCheck('payment', checks.http(new URL('/livez', PAYMENT_URL).href), { critical: false });

const cacheKey = (id) => `order:${id}`;

/** express 4 does not catch rejected promises of async handlers: hand them to next(). */
const route = (fn) => (req, res, next) => fn(req, res, next).catch(next);

class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ValidationError';
    this.status = 400;
  }
}

function parseOrder(body) {
  const { item, quantity, amountCents, customerEmail } = body ?? {};
  if (typeof item !== 'string' || item.trim() === '' || item.length > 200) throw new ValidationError('item must be a non-empty string');
  if (!Number.isInteger(quantity) || quantity <= 0 || quantity > 10000) throw new ValidationError('quantity must be a positive integer');
  if (!Number.isInteger(amountCents) || amountCents <= 0 || amountCents > 100_000_000) throw new ValidationError('amountCents must be a positive integer');
  if (customerEmail !== undefined && (typeof customerEmail !== 'string' || !customerEmail.includes('@'))) {
    throw new ValidationError('customerEmail must be an email address');
  }
  return { item: item.trim(), quantity, amountCents, customerEmail };
}

const app = express();
app.use(express.json({ limit: '64kb' }));
app.use(health.handler());

app.post('/orders', route(async (req, res) => {
  const input = parseOrder(req.body);
  let order = await store.insert(input);
  // Every record about this order carries its id, amount and customer (the email is redacted).
  const log = logger.child({ orderId: order.id, amountCents: order.amountCents, customerEmail: order.customerEmail });
  log.info('order received', { item: order.item, quantity: order.quantity });
  await cache.set(cacheKey(order.id), order);

  let payment;
  try {
    payment = await payments.charge({ orderId: order.id, amountCents: order.amountCents });
  } catch (err) {
    order = await store.update(order.id, { status: 'payment_failed' });
    await cache.set(cacheKey(order.id), order);
    log.error('payment failed', err);
    return res.status(502).json({ error: 'payment failed', reason: err.message, order });
  }

  order = await store.update(order.id, { status: 'paid', paymentId: payment.paymentId });
  await cache.set(cacheKey(order.id), order);
  log.info('order paid', { paymentId: payment.paymentId });
  res.status(201).json(order);
}));

app.get('/orders/:id', route(async (req, res) => {
  const { id } = req.params;
  const cached = await cache.get(cacheKey(id));
  if (cached) {
    res.set('x-cache', 'hit');
    return res.json(cached);
  }
  const order = await store.get(id);
  if (!order) {
    logger.warn('order not found', { orderId: id });
    return res.status(404).json({ error: 'order not found', orderId: id });
  }
  await cache.set(cacheKey(id), order);
  res.set('x-cache', 'miss');
  res.json(order);
}));

app.get('/orders', route(async (req, res) => {
  const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ValidationError('limit must be an integer from 1 to 100');
  res.json(await store.list(limit));
}));

app.use((req, res) => {
  res.status(404).json({ error: 'not found' });
});

// express 4 error handler (four arguments): client errors are warnings, the rest errors with the stack.
app.use((err, req, res, _next) => {
  const status = err.status ?? err.statusCode ?? 500;
  if (status < 500) {
    logger.warn('bad request', { reason: err.message, method: req.method, path: req.path });
    if (!res.headersSent) res.status(status).json({ error: err.message });
    return;
  }
  logger.error('request failed', { err, method: req.method, path: req.path });
  if (!res.headersSent) res.status(500).json({ error: 'internal error' });
});

const server = app.listen(PORT, () => {
  const { port } = server.address();
  logger.info(`orders-service listening ${port}`, { port, store: store.kind, cache: cache.kind, paymentUrl: PAYMENT_URL });
});

// The payment service of the example: the second hop of an order's trace.
//
//   OTEL_SERVICE_NAME=payment-service node --import otelkit/register examples/payment-service/server.mjs
//
// POST /charges {orderId, amountCents} approves the charge (201), unless amountCents is at or
// above PAYMENT_DECLINE_CENTS (402 card declined) or a PAYMENT_FAIL_RATE draw fails it (503).
//
// Environment: PORT (8081), PAYMENT_DECLINE_CENTS (100000), PAYMENT_FAIL_RATE (0..1, 0),
// PAYMENT_LATENCY_MS (simulated processing time, 0).
import { randomUUID } from 'node:crypto';
import express from 'express';
import { getLogger, health } from 'otelkit';

const logger = getLogger('payments');

function numberFromEnv(name, fallback, { min = 0, max = Infinity } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (Number.isFinite(n) && n >= min && n <= max) return n;
  logger.warn(`invalid ${name}, using the default`, { value: raw, default: fallback });
  return fallback;
}

const PORT = numberFromEnv('PORT', 8081, { max: 65535 });
const DECLINE_CENTS = numberFromEnv('PAYMENT_DECLINE_CENTS', 100000, { min: 1 });
const FAIL_RATE = numberFromEnv('PAYMENT_FAIL_RATE', 0, { max: 1 });
const LATENCY_MS = numberFromEnv('PAYMENT_LATENCY_MS', 0, { max: 60000 });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const app = express();
app.use(express.json({ limit: '16kb' }));
app.use(health.handler());

app.post('/charges', async (req, res, next) => {
  try {
    const { orderId, amountCents } = req.body ?? {};
    if (typeof orderId !== 'string' || !orderId || !Number.isInteger(amountCents) || amountCents <= 0) {
      logger.warn('invalid charge request', { orderId, amountCents });
      return res.status(400).json({ error: 'orderId and a positive integer amountCents are required', code: 'invalid_request' });
    }
    const log = logger.child({ orderId, amountCents });
    if (LATENCY_MS > 0) await sleep(LATENCY_MS * (0.5 + Math.random()));
    if (amountCents >= DECLINE_CENTS) {
      log.warn('card declined', { limitCents: DECLINE_CENTS });
      return res.status(402).json({ error: 'card declined', code: 'card_declined' });
    }
    if (FAIL_RATE > 0 && Math.random() < FAIL_RATE) {
      log.error('payment processor unavailable');
      return res.status(503).json({ error: 'payment processor unavailable', code: 'processor_unavailable' });
    }
    const paymentId = `pay_${randomUUID()}`;
    log.info('charge approved', { paymentId });
    res.status(201).json({ paymentId, orderId, amountCents, status: 'approved' });
  } catch (err) {
    next(err);
  }
});

// express 4 error handler (four arguments): an unexpected failure, logged with its stack.
app.use((err, req, res, _next) => {
  const status = err.status ?? err.statusCode ?? 500;
  if (status >= 500) logger.error('request failed', { err, method: req.method, path: req.path });
  else logger.warn('bad request', { err, method: req.method, path: req.path });
  if (!res.headersSent) res.status(status).json({ error: status >= 500 ? 'internal error' : err.message });
});

const server = app.listen(PORT, () => {
  logger.info(`payment-service listening ${server.address().port}`, { port: server.address().port, declineCents: DECLINE_CENTS, failRate: FAIL_RATE });
});

// Micro-benchmark for the redaction hot path: `npm run build && node bench/redact.bench.mjs`.
// The clean cases are what every log record and span pays; the dirty ones are the rare path.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createRedactor } = require('../dist/redact/redactor.js');

const r = createRedactor({ enabled: true, extraKeys: [] });

const order = {
  orderId: 'o-123',
  userId: 'u-9',
  amount: 42,
  currency: 'EUR',
  items: [
    { sku: 'sku-1', qty: 1, price: 10.5 },
    { sku: 'sku-2', qty: 3, price: 7 },
  ],
};
const message = 'order o-123 placed by u-9: 2 items, total 42.00 EUR in 35 ms';
const attrs = {
  'http.request.method': 'GET',
  'url.full': 'https://shop.example.com/api/orders/o-123?page=2',
  'http.response.status_code': 200,
  'server.address': 'shop.example.com',
};
// What a server span of a request with a query carries, and a log line with a "word:" prefix
// (the free-text `key: value` rule has to look at those).
const queryAttrs = {
  'http.request.method': 'GET',
  'url.full': 'https://shop.example.com/api/orders?page=2&sort=desc&q=shoes',
  'url.query': 'page=2&sort=desc&q=shoes',
  'http.route': '/api/orders',
  'http.response.status_code': 200,
  'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
};
const errorMessage = 'Error: connect ECONNREFUSED 10.0.0.12:5432 while loading order 8842113409927561';
const dirtyMessage = 'charge failed for alice@example.com with card 4111 1111 1111 1111 at 12:00';
const dirtyObject = { ...order, password: 'hunter2', note: 'contact bob@example.com' };

function bench(name, fn) {
  for (let i = 0; i < 20_000; i++) fn(); // warm up the JIT
  const iterations = 500_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - start);
  const opsPerSec = Math.round((iterations / ns) * 1e9);
  console.log(`${name.padEnd(44)} ${opsPerSec.toLocaleString('en-US').padStart(12)} ops/s  ${(ns / iterations).toFixed(0)} ns/op`);
}

bench('redactValue(clean order object)', () => r.redactValue(order));
bench('redactString(clean log message)', () => r.redactString(message));
bench('redactAttributes(clean http span attributes)', () => r.redactAttributes(attrs));
bench('redactAttributes(span attributes, query)', () => r.redactAttributes(queryAttrs));
bench('redactString(clean error message)', () => r.redactString(errorMessage));
bench('redactString(message with email + card)', () => r.redactString(dirtyMessage));
bench('redactValue(object with password + email)', () => r.redactValue(dirtyObject));

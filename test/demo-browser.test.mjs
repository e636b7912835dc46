// The demo as a person uses it: start it (viewer + orders and payment services under the
// preload + traffic), open the viewer in headless Chromium, find the orders trace and its
// waterfall, follow an error log line to its trace, and check that the charts render.
// Screenshots go to test/artifacts/ (or OTELKIT_TEST_ARTIFACTS). Needs Debian's chromium: fails (never skips) without it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startDemo } from '../scripts/demo.mjs';
import { ARTIFACTS, launchBrowser } from './support/browser.mjs';
import { freePort } from './support/app.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


async function waitApi(url, pred, what, timeoutMs = 30000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      last = await (await fetch(url)).json();
      const v = pred(last);
      if (v) return v;
    } catch {}
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}; last answer: ${JSON.stringify(last)?.slice(0, 400)}`);
}

let demo;
let browser;

before(async () => {
  // Launch the browser first: a missing chromium fails fast with its install hint.
  browser = await launchBrowser();
  const ports = {};
  for (const name of ['otlp', 'ui', 'orders', 'payment', 'ordersAdmin', 'paymentAdmin']) ports[name] = await freePort();
  demo = await startDemo({ ports, logDir: path.join(ARTIFACTS, 'demo-logs'), metricIntervalMs: 1000 });
  const statuses = [...(await demo.traffic(10)), ...(await demo.traffic(5))];
  assert.ok(statuses.includes(201) && statuses.includes(502) && statuses.includes(404), `traffic answered ${statuses}`);
  // The telemetry reaches the viewer within a second or two (batch delays of 500 ms).
  const api = (p) => new URL(p, demo.uiUrl).href;
  await waitApi(api('/api/traces?service=orders-service&route=/orders&status=ok'), (t) => t.some((x) => x.rootName === 'POST /orders' && x.services.includes('payment-service')), 'a paid order trace spanning both services');
  await waitApi(api('/api/logs?level=error&q=payment%20failed'), (l) => l.some((x) => x.traceId), 'the "payment failed" error log');
  await waitApi(api('/api/metrics?service=orders-service'), (m) => m.some((x) => x.name === 'v8js.memory.heap.used' && x.points >= 2), 'runtime metrics');
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

async function guard(name, fn) {
  try {
    await fn();
  } catch (err) {
    await browser.screenshot(`failed-${name}`).catch(() => {});
    throw err;
  }
}

test('finds the orders trace and opens its waterfall with span attributes', () => guard('waterfall', async () => {
  const { page } = browser;
  await page.goto(demo.uiUrl);
  await page.waitForSelector('#services .service[data-service="orders-service"]');
  await page.waitForSelector('#services .service[data-service="payment-service"]');

  // Filter as a user would: service, route, status.
  await page.selectOption('#trace-filters select[name="service"]', 'orders-service');
  await page.waitForFunction(() => window.location.hash.includes('service=orders-service'));
  await page.fill('#trace-filters input[name="route"]', '/orders');
  await page.selectOption('#trace-filters select[name="status"]', 'ok');
  await page.waitForFunction(() => window.location.hash.includes('status=ok') && document.body.dataset.ready === 'traces');
  const row = page.locator('#trace-list tr.trace-row[data-error="false"]', { hasText: 'POST /orders' }).first();
  await row.waitFor();
  await browser.screenshot('01-trace-list');
  await row.click();

  await page.waitForSelector('#waterfall tr.span-row');
  assert.match(await page.textContent('#trace-title'), /POST \/orders/);
  const spans = page.locator('#waterfall tr.span-row');
  assert.ok((await spans.count()) >= 5, `waterfall has ${await spans.count()} spans`);
  const services = await page.locator('#waterfall tr.span-row td:nth-child(2)').allTextContents();
  assert.ok(services.includes('orders-service') && services.includes('payment-service'), services.join(','));
  // The root span is selected: its attributes are shown.
  assert.match(await page.textContent('#span-attributes'), /http\.route\s*\/orders/);
  // Open the payment service's server span.
  await page.locator('#waterfall tr.span-row', { hasText: 'POST /charges' }).filter({ hasText: 'payment-service' }).first().click();
  await page.waitForSelector('#waterfall tr.span-row.selected');
  assert.match(await page.textContent('#span-detail'), /payment-service/);
  assert.match(await page.textContent('#span-attributes'), /http\.response\.status_code\s*201/);
  // Bars are laid out on the timeline.
  const widths = await page.$$eval('#waterfall .bar', (bars) => bars.map((b) => b.getBoundingClientRect().width));
  assert.ok(widths.every((w) => w > 0));
  await browser.screenshot('02-trace-waterfall');
}));

test('follows an error log line to its trace, which shows its logs', () => guard('log-to-trace', async () => {
  const { page } = browser;
  await page.click('header nav a[data-view="logs"]');
  await page.waitForSelector('#log-filters');
  await page.selectOption('#log-filters select[name="level"]', 'error');
  await page.fill('#log-filters input[name="q"]', 'payment failed');
  await page.click('#log-filters button[type="submit"]');
  await page.waitForFunction(() => window.location.hash.includes('level=error') && document.body.dataset.ready === 'logs');
  const line = page.locator('#log-list tr.log-row', { hasText: 'payment failed' }).first();
  await line.waitFor();
  assert.match(await line.textContent(), /error/);
  await browser.screenshot('03-logs');
  const traceId = await line.getAttribute('data-trace-id');
  assert.match(traceId, /^[0-9a-f]{32}$/);
  await line.locator('a.trace-link').click();

  await page.waitForSelector('#waterfall tr.span-row');
  assert.match(await page.textContent('#trace-title'), new RegExp(traceId));
  assert.match(await page.textContent('#trace-title'), /POST \/orders/);
  // The trace is an error, and lists its logs: the error and the payment service's warning.
  assert.ok((await page.locator('#waterfall .err').count()) > 0);
  const logs = await page.locator('#trace-logs tr.log-row').allTextContents();
  assert.ok(logs.some((l) => l.includes('payment failed')), logs.join('\n'));
  assert.ok(logs.some((l) => l.includes('card declined')), logs.join('\n'));
  // The log line linked to its span: that span is selected.
  assert.equal(await page.locator('#waterfall tr.span-row.selected').count(), 1);
  await browser.screenshot('04-log-to-trace');
}));

test('charts render: request rate, error ratio and latency per route, and runtime metrics', () => guard('charts', async () => {
  const { page } = browser;
  await page.click('header nav a[data-view="charts"]');
  await page.waitForFunction(() => document.body.dataset.ready === 'charts');
  await page.waitForSelector('#route-charts .chart-box[data-chart="request rate"] path.line');
  const titles = await page.locator('#route-charts h2.route-title').allTextContents();
  assert.ok(titles.some((t) => t.startsWith('POST /orders') && t.includes('orders-service')), titles.join('\n'));
  assert.ok(titles.some((t) => t.startsWith('POST /charges') && t.includes('payment-service')), titles.join('\n'));
  for (const chart of ['request rate', 'error ratio', 'latency']) {
    assert.ok((await page.locator(`#route-charts .chart-box[data-chart="${chart}"] svg.chart path.line`).count()) > 0, `${chart} has a line`);
  }
  // The latency chart draws three percentiles for the busiest route.
  assert.equal(await page.locator('#route-charts .route-charts').first().locator('.chart-box[data-chart="latency"] path.line').count(), 3);
  await page.waitForSelector('#runtime-charts .chart-box[data-chart="heap used"] path.line');
  const runtime = await page.locator('#runtime-charts .chart-box').evaluateAll((boxes) => boxes.map((b) => b.dataset.chart));
  assert.ok(runtime.includes('event loop delay p99') && runtime.includes('event loop utilization'), runtime.join(','));
  // Lines have real extent, not a collapsed path.
  const box = await page.locator('#runtime-charts .chart-box[data-chart="heap used"] path.line').first().boundingBox();
  assert.ok(box && box.width > 10, JSON.stringify(box));
  await browser.screenshot('05-charts');
}));

// Error alerting end to end, with real parts: the orders example under the preload fails its
// payments (the payment service is unreachable), otelkit counts each exception on /metrics, a
// real Prometheus (Debian's) scrapes it and evaluates the shipped alert rules, a real
// Alertmanager (Debian's prometheus-alertmanager) with the shipped configuration, rendered by the
// shipped entrypoint, sends the alerts as mail, and an SMTP receiver (test/support/smtp.mjs)
// gets them. The mails must name the service, the route and the exception type.
//
// What differs from the compose stack, and why: the rules' `for:` durations are set to 0 (a test
// cannot wait five minutes; the expressions, labels and annotations are the shipped ones), the
// scrape and evaluation intervals are 1 s, and the SMTP server is plain (no STARTTLS, no auth).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROOT, freePort, startApp } from './support/app.mjs';
import { startPrometheus } from './support/prometheus.mjs';
import { startSmtpReceiver } from './support/smtp.mjs';

const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN || 'prometheus-alertmanager';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cleanup = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function startAlertmanager(smtpPort) {
  const dir = mkdtempSync(path.join(tmpdir(), 'otelkit-alertmanager-'));
  const config = path.join(dir, 'alertmanager.yml');
  const render = spawnSync('sh', [path.join(ROOT, 'deploy/alertmanager/entrypoint.sh'), '--render-only', path.join(ROOT, 'deploy/alertmanager/alertmanager.yml'), config], {
    env: {
      PATH: process.env.PATH,
      ALERTMANAGER_SMTP_SMARTHOST: `127.0.0.1:${smtpPort}`,
      ALERTMANAGER_SMTP_FROM: 'alertmanager@otelkit.test',
      ALERTMANAGER_SMTP_USERNAME: '',
      ALERTMANAGER_SMTP_PASSWORD: '',
      ALERTMANAGER_SMTP_REQUIRE_TLS: 'false',
      ALERTMANAGER_EMAIL_TO: 'oncall@otelkit.test',
    },
    encoding: 'utf8',
  });
  assert.equal(render.status, 0, `entrypoint.sh --render-only failed: ${render.stderr}`);
  const port = await freePort();
  const version = spawnSync(ALERTMANAGER_BIN, ['--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, `${ALERTMANAGER_BIN} cannot run (apt-get install prometheus-alertmanager; scripts/setup.sh installs it): ${version.error?.message ?? version.stderr}`);
  let output = '';
  const child = spawn(ALERTMANAGER_BIN, [
    `--config.file=${config}`,
    `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // One instance: no gossip port.
    '--cluster.listen-address=',
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  cleanup.push(() => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  }));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/-/ready`)).ok) break;
    } catch {}
    assert.ok(child.exitCode === null, `alertmanager exited: ${output}`);
    assert.ok(Date.now() < deadline, `alertmanager not ready within 30 s: ${output}`);
    await sleep(200);
  }
  return { port, output: () => output };
}

test('an exception in a route reaches the on-call mailbox: Prometheus rule, Alertmanager, SMTP, naming service, route and exception type', { timeout: 180_000 }, async () => {
  const smtp = await startSmtpReceiver();
  cleanup.push(() => smtp.close());
  const am = await startAlertmanager(smtp.port);

  // The orders example, its payment service unreachable: every order's charge fails with a
  // PaymentError that the route logs with log.error(err), then answers 502.
  const [ordersPort, ordersAdmin, deadPayment] = [await freePort(), await freePort(), await freePort()];
  const orders = startApp(path.join(ROOT, 'examples/orders-service/server.mjs'), {
    env: {
      OTEL_SERVICE_NAME: 'orders-service',
      PORT: String(ordersPort),
      OTEL_EXPORTER_PROMETHEUS_PORT: String(ordersAdmin),
      PAYMENT_URL: `http://127.0.0.1:${deadPayment}`,
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    },
  });
  cleanup.push(async () => {
    orders.child.kill('SIGTERM');
    await orders.exited;
  });
  await orders.waitFor(/listening/, { timeoutMs: 30_000 });

  // The shipped rules, with `for:` set to 0.
  const dir = mkdtempSync(path.join(tmpdir(), 'otelkit-rules-'));
  const rules = path.join(dir, 'otelkit.yml');
  const shipped = readFileSync(path.join(ROOT, 'deploy/prometheus/rules/otelkit.yml'), 'utf8');
  assert.match(shipped, /alert: NewErrorGroup/);
  assert.match(shipped, /alert: HighExceptionRate/);
  writeFileSync(rules, shipped.replace(/^(\s+)for: .+$/gm, '$1for: 0s'));
  const prom = await startPrometheus({
    config: {
      rule_files: [rules],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${am.port}`] }] }] },
      scrape_configs: [{ job_name: 'node-services', static_configs: [{ targets: [`127.0.0.1:${ordersAdmin}`], labels: { service: 'orders-service' } }] }],
    },
  });
  cleanup.push(() => prom.stop());

  // Failed orders, one every 200 ms until both mails are in: a rate a real outage would have
  // (Prometheus's rate() needs the counter to grow between its scrapes, not only to exist).
  let sending = true;
  const statuses = new Set();
  const traffic = (async () => {
    while (sending) {
      const res = await fetch(`http://127.0.0.1:${ordersPort}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item: 'book', quantity: 1, amountCents: 1200 }),
      });
      statuses.add(res.status);
      await res.arrayBuffer();
      await sleep(200);
    }
  })();
  cleanup.push(async () => {
    sending = false;
    await traffic.catch(() => {});
  });
  let counted = [];
  for (const deadline = Date.now() + 30_000; counted.length === 0; await sleep(250)) {
    assert.ok(Date.now() < deadline, 'otelkit_exceptions_total never counted the PaymentError on /metrics');
    const metrics = await (await fetch(`http://127.0.0.1:${ordersAdmin}/metrics`)).text();
    counted = metrics.split('\n').filter((l) => l.startsWith('otelkit_exceptions_total{') && l.includes('exception_type="PaymentError"'));
  }
  assert.deepEqual([...statuses], [502], 'the payment failure is answered as the example answers it');
  assert.match(counted.join('\n'), /http_route="\/orders"/);

  const timeoutMs = 120_000;
  const named = (m) => m.to.includes('oncall@otelkit.test');
  const newGroup = await smtp.waitFor((m) => named(m) && m.subject.includes('NewErrorGroup'), { timeoutMs }).catch((err) => {
    throw new Error(`${err.message}\nPrometheus alerts: ${prom.output().slice(-2000)}\nAlertmanager: ${am.output().slice(-2000)}`);
  });
  const rate = await smtp.waitFor((m) => named(m) && m.subject.includes('HighExceptionRate'), { timeoutMs });
  sending = false;
  await traffic;
  for (const mail of [newGroup, rate]) {
    assert.equal(mail.from, 'alertmanager@otelkit.test');
    assert.match(mail.subject, /FIRING/);
    for (const must of ['orders-service', '/orders', 'PaymentError']) {
      assert.ok(mail.text.includes(must), `the ${mail.subject} mail names ${must}:\n${mail.text}`);
    }
  }
  // The new-group mail carries the group's fingerprint, the key to its records in the logs.
  const group = /otelkit_error_group="([^"]+)"[^\n]*exception_type="PaymentError"|exception_type="PaymentError"[^\n]*otelkit_error_group="([^"]+)"/.exec(counted.join('\n'));
  const fingerprint = group?.[1] ?? group?.[2];
  assert.ok(fingerprint, 'the counter carries the group');
  assert.ok(newGroup.text.includes(fingerprint), `the new-group mail names group ${fingerprint}:\n${newGroup.text}`);
});

// Issue 29, item 13: a process that is done exits, collector or not. Exports never keep the event
// loop alive by themselves: a finished process flushes once (beforeExit), within
// OTELKIT_SHUTDOWN_TIMEOUT_MS at most, without waiting out retry backoffs; while the process is
// alive, failed exports are still retried; with the collector up the last flush still delivers.
//
// The bounds asserted are behavioural (the shutdown bound plus slack for a loaded machine), not
// speed targets: before the fix these processes lived 8 to 40 s after their work was done.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, freePort, get } from './support/app.mjs';
import { startOtlpReceiver } from './support/otlp-receiver.mjs';

const BOUND_MS = 3000;
const SLACK_MS = 2000;

const servers = [];
after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
});

/** A collector that accepts connections and never answers. */
async function blackHole() {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const s of sockets) s.destroy();
    close(cb);
  };
  servers.push(server);
  return { url: `http://127.0.0.1:${server.address().port}`, connections: () => sockets.size };
}

/** Runs serve-and-close.js; how long it lived after its own work ended, and its exit. */
async function runToEnd(env, requests = 10) {
  const app = startApp('serve-and-close.js', {
    args: [String(requests)],
    env: { OTEL_TRACES_SAMPLER: 'always_on', OTELKIT_SHUTDOWN_TIMEOUT_MS: String(BOUND_MS), ...env },
  });
  try {
    await app.waitFor(/^done$/m, { timeoutMs: 60000 });
    const doneAt = Date.now();
    const { code, signal } = await Promise.race([
      app.exited,
      new Promise((resolve) => setTimeout(() => resolve({ code: 'still running', signal: null }), 60000)),
    ]);
    return { app, code, signal, livedMs: Date.now() - doneAt };
  } finally {
    await app.stop();
  }
}

test('collector port closed: a finished process exits within the shutdown bound, exit code 0', async () => {
  const closed = await freePort();
  for (const requests of [10, 600]) {
    const { app, code, livedMs } = await runToEnd({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}` }, requests);
    assert.equal(code, 0, app.out.stderr);
    assert.ok(livedMs < BOUND_MS + SLACK_MS, `${requests} requests: lived ${livedMs} ms after its work was done (bound ${BOUND_MS} ms)\n${app.out.stderr}`);
    assert.ok(app.diagLines().some((l) => /traces export to .* failed/.test(l.msg)), `the failed export is still reported:\n${app.out.stderr}`);
  }
});

test('collector accepts and never answers: a finished process exits within the shutdown bound, exit code 0', async () => {
  const hole = await blackHole();
  for (const requests of [10, 600]) {
    const { app, code, livedMs } = await runToEnd({ OTEL_EXPORTER_OTLP_ENDPOINT: hole.url, OTEL_EXPORTER_OTLP_TIMEOUT: '20000' }, requests);
    assert.equal(code, 0, app.out.stderr);
    assert.ok(hole.connections() > 0, 'the exporter did try the collector');
    assert.ok(livedMs < BOUND_MS + SLACK_MS, `${requests} requests: lived ${livedMs} ms after its work was done (bound ${BOUND_MS} ms)\n${app.out.stderr}`);
  }
});

test('collector up: the last flush before exit delivers every span, exit code 0', async () => {
  const rx = await startOtlpReceiver();
  try {
    const { app, code } = await runToEnd({ OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_BSP_SCHEDULE_DELAY: '60000' }, 10);
    assert.equal(code, 0, app.out.stderr);
    const names = rx.spans.filter((s) => s.kind === 2).map((s) => s.attributes['url.path']).sort();
    assert.deepEqual(names, Array.from({ length: 10 }, (_, i) => `/items/${i}`).sort(), rx.summary());
  } finally {
    await rx.close();
  }
});

test('while the process is alive, a failed export is retried until the collector answers', async () => {
  const rx = await startOtlpReceiver();
  rx.setFailWith(503);
  const app = startApp('plain-http.js', {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_EXPORTER_OTLP_TIMEOUT: '30000' },
  });
  try {
    const port = await app.port();
    await get(port, '/retried');
    await rx.waitFor(() => rx.requests.some((r) => r.signal === 'traces' && r.status === 503), { timeoutMs: 15000 });
    assert.equal(rx.spans.length, 0);
    rx.setFailWith(null);
    const span = await rx.waitFor(() => rx.spans.find((s) => s.attributes['url.path'] === '/retried'), { timeoutMs: 20000 });
    assert.ok(span, 'the span arrived on a retry');
    const attempts = rx.requests.filter((r) => r.signal === 'traces');
    assert.ok(attempts.length >= 2 && attempts.at(-1).status === 200, JSON.stringify(attempts.map((r) => r.status)));
  } finally {
    await app.stop();
    await rx.close();
  }
});

// otelkit's HTTP/1.1 export transport (src/export/otlp-http-transport.ts, http-response-reader.ts,
// retrying-transport.ts): the response reader on every split of its input, and the transport
// against real node:http servers (keep-alive, a connection the server closed, gzip, statuses,
// Retry-After, timeouts, refused connections, shutdown).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { ROOT } from './support/app.mjs';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const { ResponseReader, MAX_RESPONSE_BODY_SIZE } = require(path.join(ROOT, 'dist/export/http-response-reader.js'));
const { RawHttpTransport } = require(path.join(ROOT, 'dist/export/otlp-http-transport.js'));
const { RetryingTransport, retryAfterMillis } = require(path.join(ROOT, 'dist/export/retrying-transport.js'));

/** Feeds `raw` to a fresh reader in the given pieces; the response, once complete. */
function readIn(pieces) {
  const reader = new ResponseReader();
  let res;
  for (const p of pieces) {
    assert.equal(res, undefined, 'complete before its last byte');
    res = reader.feed(Buffer.from(p, 'latin1'));
  }
  return { res, reader };
}

/** Every way of cutting `raw` in two, and byte by byte. */
function splits(raw) {
  const out = [[raw], raw.split('')];
  for (let i = 1; i < raw.length; i++) out.push([raw.slice(0, i), raw.slice(i)]);
  return out;
}

test('the response reader: Content-Length, chunked with extensions and trailers, 1xx, 204, on every split', () => {
  const cases = [
    ['HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 5\r\n\r\nhello', 200, 'hello', false],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: t\r\n\r\n', 200, 'hello', false],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n', 200, '0123456789', false],
    ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad', 400, 'bad', true],
    ['HTTP/1.1 204 No Content\r\n\r\n', 204, '', false],
    ['HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', 200, 'ok', true],
    ['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok', 200, 'ok', false],
  ];
  for (const [raw, status, body, close] of cases) {
    for (const pieces of splits(raw)) {
      const { res } = readIn(pieces);
      assert.ok(res, `incomplete: ${JSON.stringify(pieces)}`);
      assert.equal(res.status, status);
      assert.equal(res.body.toString('latin1'), body, JSON.stringify(pieces));
      assert.equal(res.close, close, raw);
    }
  }
});

test('the response reader: a body read until the close, and bad or oversized responses', () => {
  const reader = new ResponseReader();
  assert.equal(reader.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\npart one, ')), undefined);
  assert.equal(reader.feed(Buffer.from('part two')), undefined);
  const res = reader.end();
  assert.equal(res.body.toString(), 'part one, part two');
  assert.equal(res.close, true);
  // Nothing to finish when the head never arrived or the length is known.
  assert.equal(new ResponseReader().end(), undefined);
  const short = new ResponseReader();
  short.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc'));
  assert.equal(short.end(), undefined);

  assert.throws(() => new ResponseReader().feed(Buffer.from('SMTP ready\r\n\r\n')), /not HTTP\/1\.x/);
  assert.throws(() => new ResponseReader().feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n')), /invalid Content-Length/);
  assert.throws(() => new ResponseReader().feed(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${MAX_RESPONSE_BODY_SIZE + 1}\r\n\r\n`)), /size limit/);
  assert.throws(() => new ResponseReader().feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')), /invalid chunk size/);
  const big = new ResponseReader();
  big.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'));
  assert.throws(() => big.feed(Buffer.alloc(MAX_RESPONSE_BODY_SIZE + 1)), /size limit/);
});

test('Retry-After is read as upstream reads it', () => {
  assert.equal(retryAfterMillis(undefined), undefined);
  assert.equal(retryAfterMillis('3'), 3000);
  assert.equal(retryAfterMillis('0'), -1);
  const inTwoSeconds = new Date(Date.now() + 2500).toUTCString();
  const ms = retryAfterMillis(inTwoSeconds);
  assert.ok(ms > 500 && ms <= 2500, String(ms));
  assert.equal(retryAfterMillis(new Date(Date.now() - 60_000).toUTCString()), 0);
});

/** A node:http server answering with `handler`; records requests and connections. */
async function server(handler, tune = () => {}) {
  const requests = [];
  const sockets = new Set();
  const s = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks), socket: req.socket });
      handler(req, res, requests.length);
    });
  });
  s.on('connection', (sock) => sockets.add(sock));
  tune(s);
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${s.address().port}/v1/traces?tenant=a`,
    requests,
    sockets,
    close: () => new Promise((r) => { s.closeAllConnections(); s.close(r); }),
  };
}

const params = (url, extra = {}) => ({ url, headers: async () => ({ 'Content-Type': 'application/x-protobuf', 'X-Tenant': 'acme' }), compression: 'none', ...extra });

test('the transport posts the body with the headers, on one kept-alive connection', async () => {
  const srv = await server((req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end(Buffer.from([1, 2, 3]));
  });
  const t = new RawHttpTransport(params(srv.url, { userAgent: 'my-service/1.0' }));
  try {
    const body = Buffer.from('0123456789'.repeat(20_000));
    const first = await t.send(body, 5000);
    const second = await t.send(Buffer.from('second'), 5000);
    assert.equal(first.status, 'success');
    assert.deepEqual([...first.data], [1, 2, 3]);
    assert.equal(second.status, 'success');
    const [a, b] = srv.requests;
    assert.equal(a.method, 'POST');
    assert.equal(a.url, '/v1/traces?tenant=a');
    assert.deepEqual(a.body, body);
    assert.equal(b.body.toString(), 'second');
    assert.equal(a.headers['content-type'], 'application/x-protobuf');
    assert.equal(a.headers['x-tenant'], 'acme');
    assert.equal(a.headers['content-length'], String(body.length));
    assert.match(a.headers['user-agent'], /^my-service\/1\.0 otelkit\/\d/);
    assert.equal(a.socket, b.socket, 'the second export reused the connection');
    assert.equal(srv.sockets.size, 1);
  } finally {
    t.shutdown();
    await srv.close();
  }
});

test('gzip: the body is compressed and marked', async () => {
  const srv = await server((req, res) => res.end());
  const t = new RawHttpTransport(params(srv.url, { compression: 'gzip' }));
  try {
    const body = Buffer.from('compress me '.repeat(1000));
    assert.equal((await t.send(body, 5000)).status, 'success');
    const [r] = srv.requests;
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.ok(r.body.length < body.length / 10);
    assert.deepEqual(gunzipSync(r.body), body);
  } finally {
    t.shutdown();
    await srv.close();
  }
});

test('a kept-alive connection the server closed, or dropped with the request unanswered, is replaced without failing the export', async () => {
  const srv = await server((req, res, n) => {
    // The third request: the connection dies before an answer, as when a server closes an idle
    // connection the client has just written on.
    if (n === 3) req.socket.destroy();
    else res.end('ok');
  }, (s) => { s.keepAliveTimeout = 50; });
  const t = new RawHttpTransport(params(srv.url));
  try {
    assert.equal((await t.send(Buffer.from('one'), 5000)).status, 'success');
    const [first] = [...srv.sockets];
    await new Promise((r) => (first.destroyed ? r() : first.once('close', r))); // the idle timeout
    assert.equal((await t.send(Buffer.from('two'), 5000)).status, 'success');
    assert.equal((await t.send(Buffer.from('three'), 5000)).status, 'success');
    assert.deepEqual(srv.requests.map((r) => r.body.toString()), ['one', 'two', 'three', 'three']);
    assert.equal(srv.sockets.size, 3);
  } finally {
    t.shutdown();
    await srv.close();
  }
});

test('statuses: 2xx chunked success, 503 retryable with Retry-After, 400 a failure with the body; a silent server times out', async () => {
  const srv = await server((req, res, n) => {
    if (n === 1) {
      res.writeHead(200);
      res.write('par');
      setTimeout(() => res.end('tial'), 20);
    } else if (n === 2) {
      res.writeHead(503, { 'retry-after': '2' });
      res.end();
    } else if (n === 3) {
      res.writeHead(400, 'Bad Request');
      res.end('invalid batch');
    }
    // n === 4: never answers
  });
  const t = new RawHttpTransport(params(srv.url));
  try {
    const ok = await t.send(Buffer.from('a'), 5000);
    assert.equal(ok.status, 'success');
    assert.equal(ok.data.toString(), 'partial');
    assert.deepEqual(await t.send(Buffer.from('b'), 5000), { status: 'retryable', retryInMillis: 2000 });
    const bad = await t.send(Buffer.from('c'), 5000);
    assert.equal(bad.status, 'failure');
    assert.equal(bad.error.code, 400);
    assert.match(bad.error.data, /invalid batch/);
    const started = Date.now();
    const slow = await t.send(Buffer.from('d'), 200);
    assert.equal(slow.status, 'retryable');
    assert.match(slow.error.message, /timed out/);
    assert.ok(Date.now() - started < 2000);
    // The timed-out connection is gone; the next export opens another.
    assert.equal(srv.requests.length, 4);
  } finally {
    t.shutdown();
    await srv.close();
  }
});

test('exports queued behind one in flight go in turn; those still queued at shutdown fail', async () => {
  const srv = await server((req, res, n) => setTimeout(() => res.end(String(n)), n === 1 ? 100 : n === 3 ? 500 : 0));
  const t = new RawHttpTransport(params(srv.url));
  try {
    const answers = await Promise.all([t.send(Buffer.from('a'), 5000), t.send(Buffer.from('b'), 5000)]);
    assert.deepEqual(answers.map((a) => a.data.toString()), ['1', '2']);
    assert.deepEqual(srv.requests.map((r) => r.body.toString()), ['a', 'b']);
    const pending = [t.send(Buffer.from('c'), 5000), t.send(Buffer.from('d'), 5000)];
    await new Promise((r) => setTimeout(r, 20));
    t.shutdown();
    const [c, d] = await Promise.all(pending);
    // c was in flight: its connection closed under it, and it is not sent again.
    assert.notEqual(c.status, 'success');
    assert.equal(srv.requests.length, 3);
    assert.equal(d.status, 'failure');
    assert.match(d.error.message, /shut down/);
  } finally {
    t.shutdown();
    await srv.close();
  }
});

test('a refused connection is retryable; after shutdown nothing is sent', async () => {
  const srv = await server((req, res) => res.end());
  const url = srv.url;
  await srv.close();
  const t = new RawHttpTransport(params(url));
  const refused = await t.send(Buffer.from('x'), 2000);
  assert.equal(refused.status, 'retryable');
  assert.equal(refused.error.code, 'ECONNREFUSED');
  t.shutdown();
  const after = await t.send(Buffer.from('x'), 2000);
  assert.equal(after.status, 'failure');
  assert.throws(() => new RawHttpTransport(params('https://127.0.0.1:4318/v1/traces')), /http: URLs/);
});

test('retries follow the response: Retry-After honoured, none beyond the deadline', async () => {
  const calls = [];
  const answers = [{ status: 'retryable', retryInMillis: 20 }, { status: 'retryable', retryInMillis: 20 }, { status: 'success' }];
  const inner = { send: async (data, timeout) => { calls.push(timeout); return answers.shift(); }, shutdown() {} };
  const result = await new RetryingTransport(inner).send(Buffer.from('x'), 5000);
  assert.equal(result.status, 'success');
  assert.equal(calls.length, 3);
  assert.ok(calls[2] <= 5000 && calls[2] > 4000, String(calls[2]));

  let n = 0;
  const late = { send: async () => { n++; return { status: 'retryable', retryInMillis: 10_000 }; }, shutdown() {} };
  const gaveUp = await new RetryingTransport(late).send(Buffer.from('x'), 1000);
  assert.equal(gaveUp.status, 'retryable');
  assert.equal(n, 1);

  const failing = { send: async () => ({ status: 'failure', error: new Error('no') }), shutdown() {} };
  assert.equal((await new RetryingTransport(failing).send(Buffer.from('x'), 1000)).status, 'failure');
});

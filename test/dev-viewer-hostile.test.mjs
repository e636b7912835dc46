// `otelkit dev` against hostile input (issue 29, items 7-9): other hosts and web pages, bad query
// parameters, oversized bodies, prototype keys, broken span trees, and memory under a flood of
// big items. Each test talks to the real command in a child process, so a crash shows as its
// exit, and the memory test measures that process (heap after a full GC, and RSS).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Access } from '../dist/cli/dev/access.js';
import { MAX_KEY, MAX_STRING } from '../dist/cli/dev/otlp-decode.js';
import { MAX_STEPS } from '../dist/cli/dev/queries.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'index.js');
const HEAP_REPORT = path.join(ROOT, 'test', 'support', 'heap-report.cjs');
const MiB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, what, timeoutMs = 20000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    last = await fn();
    if (last) return last;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const viewers = [];
after(async () => {
  for (const v of viewers) await v.stop();
});

/** The real `otelkit dev` in a child process, on free ports, with the heap-report preload. */
async function startViewer(args = []) {
  const child = spawn(process.execPath, ['--expose-gc', '--require', HEAP_REPORT, CLI, 'dev', '--port', '0', '--ui-port', '0', ...args], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const ports = await waitFor(() => {
    const o = /receiving OTLP\/HTTP on http:\/\/[^:]+:(\d+)/.exec(out);
    const u = /open http:\/\/[^:]+:(\d+)\//.exec(out);
    return o && u && { otlp: Number(o[1]), ui: Number(u[1]) };
  }, `otelkit dev to start (${out}${err})`);
  const v = {
    ...ports,
    output: () => out + err,
    alive: () => child.exitCode === null && child.signalCode === null,
    /** heapUsed and rss in bytes, after a full GC in the child. */
    memory: async () => {
      const from = err.length;
      child.kill('SIGUSR2');
      const m = await waitFor(() => /heap-report (\d+) (\d+)/.exec(err.slice(from)), 'the heap report');
      return { heap: Number(m[1]), rss: Number(m[2]) };
    },
    stop: async () => {
      if (v.alive()) child.kill('SIGTERM');
      return exited;
    },
  };
  viewers.push(v);
  return v;
}

/** One HTTP request with full control of the headers (Host included); never throws on a status. */
function request(port, { method = 'GET', path: p = '/', headers = {}, body, chunks } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: { host: `localhost:${port}`, ...headers }, agent: false }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (chunks) {
      (async () => {
        for (const c of chunks) if (!req.write(c)) await new Promise((r) => req.once('drain', r));
        req.end();
      })().catch(reject);
    } else req.end(body);
  });
}

const hex = (i, len) => i.toString(16).padStart(len, '0');
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

function tracesJson(spans, service = 'hostile') {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }] });
}
function logsJson(logRecords, service = 'hostile') {
  return JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeLogs: [{ logRecords }] }] });
}
function span(trace, id, extra = {}) {
  return { traceId: hex(trace, 32), spanId: hex(id, 16), name: `op ${id}`, kind: 2, startTimeUnixNano: String(NOW_NS), endTimeUnixNano: String(NOW_NS + 1_000_000n), ...extra };
}
const post = (v, signal, body, headers = {}) => request(v.otlp, { method: 'POST', path: `/v1/${signal}`, headers: { 'content-type': 'application/json', ...headers }, body });

// ---------------------------------------------------------------------------- protobuf encoding
// Just enough of the wire format to build ExportTraceServiceRequests by hand.
function varint(n) {
  const out = [];
  let v = BigInt(n);
  while (v > 0x7fn) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const pbBytes = (no, buf) => Buffer.concat([varint((no << 3) | 2), varint(buf.length), buf]);
const pbString = (no, s) => pbBytes(no, Buffer.from(s, 'utf8'));
const pbVarint = (no, n) => Buffer.concat([varint(no << 3), varint(n)]);
const pbFixed64 = (no, n) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return Buffer.concat([varint((no << 3) | 1), b]);
};
/** A KeyValue message; a string value is a string AnyValue, a Buffer an encoded AnyValue. */
const pbKv = (key, value) => Buffer.concat([pbString(1, key), pbBytes(2, typeof value === 'string' ? pbString(1, value) : value)]);
/** spans: [{ trace, id, parent?, attrs: [[key, value]] }] */
function tracesProto(spans, service = 'hostile') {
  const resource = pbBytes(1, pbBytes(1, pbKv('service.name', service)));
  const encoded = spans.map((s) => pbBytes(2, Buffer.concat([
    pbBytes(1, Buffer.from(hex(s.trace, 32), 'hex')), pbBytes(2, Buffer.from(hex(s.id, 16), 'hex')),
    ...(s.parent ? [pbBytes(4, Buffer.from(hex(s.parent, 16), 'hex'))] : []),
    pbString(5, `op ${s.id}`), pbVarint(6, 2), pbFixed64(7, NOW_NS), pbFixed64(8, NOW_NS + 1_000_000n),
    ...s.attrs.map(([k, v]) => pbBytes(9, pbKv(k, v))),
  ])));
  return pbBytes(1, Buffer.concat([resource, pbBytes(2, Buffer.concat(encoded))]));
}

// ==================================================================================== item 8

test('Host: localhost, an IP address or the --host name answer; any other name is refused (DNS rebinding)', async () => {
  const v = await startViewer();
  assert.equal((await post(v, 'logs', logsJson([{ body: { stringValue: 'a secret log line' }, severityNumber: 9 }]))).status, 200);
  for (const host of [`localhost:${v.ui}`, 'localhost', `127.0.0.1:${v.ui}`, `[::1]:${v.ui}`, '10.1.2.3']) {
    const r = await request(v.ui, { path: '/api/logs', headers: { host } });
    assert.equal(r.status, 200, `Host ${host}: ${r.text}`);
    assert.match(r.text, /a secret log line/);
  }
  for (const host of [`attacker.example:${v.ui}`, 'attacker.example', 'localhost.attacker.example', `127.0.0.1.nip.io:${v.ui}`, 'localhost.', 'a@localhost', 'localhost/x']) {
    for (const p of ['/api/logs', '/', '/api/stats']) {
      const r = await request(v.ui, { path: p, headers: { host } });
      assert.equal(r.status, 403, `Host ${JSON.stringify(host)} ${p}: ${r.status}`);
      assert.doesNotMatch(r.text, /secret/);
      assert.match(r.json().error, /not allowed/);
    }
  }
  // The rules, including a name given to --host.
  const named = new Access('devbox.local');
  assert.ok(named.hostAllowed('devbox.local') && named.hostAllowed('localhost') && named.hostAllowed('[::1]') && named.hostAllowed('192.168.1.9'));
  assert.ok(!named.hostAllowed('devbox.local.attacker.example') && !named.hostAllowed('attacker.example'));
  assert.ok(!new Access('localhost').hostAllowed('devbox.local'));
  assert.ok(new Access('0.0.0.0').hostAllowed('192.168.1.9'));
  assert.ok(v.alive());
});

test('Origin: only pages on the viewer\'s own host may post OTLP or call the API, and only they get CORS headers', async () => {
  const v = await startViewer();
  const body = (text) => logsJson([{ body: { stringValue: text }, severityNumber: 9 }]);
  const refused = async (origin, host = `localhost:${v.otlp}`) => {
    const pre = await request(v.otlp, { method: 'OPTIONS', path: '/v1/logs', headers: { host, origin, 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 403, `preflight from ${origin}`);
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    const r = await post(v, 'logs', body(`from ${origin}`), { host, origin });
    assert.equal(r.status, 403, `POST from ${origin} to ${host}`);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  };
  await refused('http://attacker.example');
  await refused('https://attacker.example:4318');
  await refused('null');
  await refused('http://1.2.3.4:8080');
  await refused('file://');
  // DNS rebinding of a POST: the page's own origin, under the attacker's name.
  await refused(`http://attacker.example:${v.otlp}`, `attacker.example:${v.otlp}`);

  const allowed = async (origin) => {
    const pre = await request(v.otlp, { method: 'OPTIONS', path: '/v1/logs', headers: { origin, 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 204, `preflight from ${origin}`);
    assert.equal(pre.headers['access-control-allow-origin'], origin);
    assert.match(pre.headers.vary ?? '', /origin/i);
    const r = await post(v, 'logs', body(`from ${origin}`), { origin });
    assert.equal(r.status, 200, `POST from ${origin}`);
    assert.equal(r.headers['access-control-allow-origin'], origin);
  };
  await allowed('http://localhost:3000'); // a front end in development, same host, another port
  await allowed('http://127.0.0.1:5173'); // loopback to loopback
  await allowed(`http://localhost:${v.ui}`); // the viewer's own page

  // An exporter (no Origin) in another container, addressing the viewer by a name of its own.
  assert.equal((await post(v, 'logs', body('from a container'), { host: 'otelkit-dev:4318' })).status, 200);
  // Without an Origin, no CORS headers at all (the old answer was `*` to everyone).
  assert.equal((await post(v, 'logs', body('plain'))).headers['access-control-allow-origin'], undefined);

  // The API from another page: refused.
  const read = await request(v.ui, { path: '/api/logs', headers: { origin: 'http://attacker.example' } });
  assert.equal(read.status, 403);
  const logs = (await request(v.ui, { path: '/api/logs' })).json().map((l) => l.body).sort();
  assert.deepEqual(logs, ['from a container', 'from http://127.0.0.1:5173', 'from http://localhost:3000', `from http://localhost:${v.ui}`, 'plain'].sort());
  assert.ok(v.alive());
});

test('every API query parameter, given hostile values: a 4xx or a clean answer, and the process lives', async () => {
  const v = await startViewer();
  // A server span dated 1970 (the old bucket count was (now - 1970) / step), and 300 routes.
  const old = span(1, 1, { startTimeUnixNano: '1000', endTimeUnixNano: '2000', attributes: [{ key: 'http.route', value: { stringValue: '/old' } }] });
  const many = Array.from({ length: 300 }, (_, i) => span(100 + i, 100 + i, { attributes: [{ key: 'http.route', value: { stringValue: `/r${i}` } }] }));
  assert.equal((await post(v, 'traces', tracesJson([old, ...many]))).status, 200);
  assert.equal((await post(v, 'logs', logsJson([{ body: { stringValue: 'hello' }, severityNumber: 13, traceId: hex(1, 32) }]))).status, 200);
  // An exception record, so that the Errors view's routes have a group to answer with.
  const exception = [['exception.type', 'OrderError'], ['exception.message', 'boom'], ['exception.stacktrace', 'OrderError: boom\n    at f (/app/a.js:1:1)'],
    ['otelkit.error.group', 'a1b2c3d4e5f60718'], ['otelkit.error.source', 'api']].map(([key, s]) => ({ key, value: { stringValue: s } }));
  assert.equal((await post(v, 'logs', logsJson([{ body: { stringValue: 'OrderError: boom' }, severityNumber: 17, traceId: hex(1, 32), attributes: exception }]))).status, 200);

  const crash = await request(v.ui, { path: '/api/metrics/routes?windowMin=1e9&stepSec=1' });
  assert.equal(crash.status, 400);
  assert.match(crash.json().error, /windowMin/);
  assert.ok(v.alive(), 'the process lives');

  const routes = {
    '/api/traces': ['service', 'route', 'status', 'minMs', 'maxMs', 'limit'],
    [`/api/traces/${hex(1, 32)}`]: ['service'],
    '/api/logs': ['level', 'service', 'q', 'traceId', 'limit'],
    '/api/services': ['service'],
    '/api/stats': ['service'],
    '/api/metrics': ['service'],
    '/api/metrics/names': ['service'],
    '/api/metrics/routes': ['service', 'windowMin', 'stepSec', 'limit'],
    '/api/metrics/series': ['name', 'service'],
    '/api/errors': ['service', 'q', 'limit'],
    '/api/errors/a1b2c3d4e5f60718': ['service', 'limit'],
  };
  const values = ['NaN', '-1', '0', '1', '1.5', '1e308', 'Infinity', '-Infinity', '1e9', '0x10', '', ' ', 'abc', '__proto__', 'constructor',
    'toString', '%00', '%FF', '%', 'x'.repeat(5000), '9'.repeat(400), 'ERROR', hex(1, 32)];
  let answered = 0;
  for (const [route, params] of Object.entries(routes)) {
    const queries = [''];
    for (const p of params) {
      for (const x of values) queries.push(`?${p}=${encodeURIComponent(x).replace(/%25(00|FF)$/, '%$1').replace(/^%25$/, '%')}`);
      queries.push(`?${p}=1&${p}=2`, `?${p}[]=1`, `?${p}`);
    }
    for (const q of queries) {
      const r = await request(v.ui, { path: route + q });
      assert.ok(r.status === 200 || r.status === 400 || (r.status === 404 && /^\/api\/(traces|errors)\//.test(route)), `${route}${q.slice(0, 80)}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
      const body = r.json();
      if (r.status === 400) assert.equal(typeof body.error, 'string');
      if (route === '/api/metrics/routes' && r.status === 200) {
        assert.ok(body.routes.length <= 1000 && body.routes.every((x) => x.series.length <= MAX_STEPS + 1), `${q}: ${body.routes.length} routes`);
      }
      answered++;
    }
    assert.ok(v.alive(), `the process lives after ${route}`);
  }
  assert.ok(answered > 500, `${answered} requests`);

  // Ranges that are refused, and what the defaults answer.
  for (const [q, status] of [['windowMin=10080&stepSec=1', 400], ['windowMin=0.5', 400], ['windowMin=1&stepSec=1', 200], ['windowMin=10080&stepSec=86400', 200], ['stepSec=0', 400]]) {
    assert.equal((await request(v.ui, { path: `/api/metrics/routes?${q}` })).status, status, q);
  }
  const r = (await request(v.ui, { path: '/api/metrics/routes' })).json();
  assert.equal(r.totalRoutes, 300, 'the span dated 1970 is outside the window');
  assert.equal(r.routes.length, 50);
  assert.equal((await request(v.ui, { path: '/api/metrics/routes?limit=1000' })).json().routes.length, 300);
  assert.equal((await request(v.ui, { path: '/api/logs?level=constructor' })).status, 400);
  // The warning and the exception record (ERROR).
  assert.equal((await request(v.ui, { path: '/api/logs?level=WARN' })).json().length, 2);
  assert.equal((await request(v.ui, { path: '/api/traces?limit=2' })).json().length, 2);
  // The Errors view: the group answers; hostile group ids in the path are a 400 or a 404.
  assert.equal((await request(v.ui, { path: '/api/errors' })).json()[0].group, 'a1b2c3d4e5f60718');
  assert.equal((await request(v.ui, { path: '/api/errors/a1b2c3d4e5f60718?limit=1000' })).json().occurrences.length, 1);
  assert.equal((await request(v.ui, { path: '/api/errors/a1b2c3d4e5f60718?limit=1001' })).status, 400);
  for (const [p, status] of [['__proto__', 404], ['constructor', 404], ['toString', 404], ['x'.repeat(5000), 400], ['%00', 400], ['%FF', 400], ['a%2Fb', 400], ['..', 404],
    ['', 400], ['a/b', 404], ['a1b2c3d4e5f60718/', 404]]) {
    const r = await request(v.ui, { path: `/api/errors/${p}` });
    assert.equal(r.status, status, `/api/errors/${p.slice(0, 40)}: ${r.text.slice(0, 200)}`);
    assert.equal(typeof r.json().error, 'string');
  }
  assert.ok(v.alive());
});

// ==================================================================================== item 9

test('a body over 16 MiB gets 413 with a reason (with or without a length), so does one inflating past 64 MiB', async () => {
  const v = await startViewer();
  const big = Buffer.alloc(17 * MiB, 0x20);
  const sized = await post(v, 'traces', big);
  assert.equal(sized.status, 413);
  assert.match(sized.headers['x-otelkit-error'], /larger than 16777216 bytes/);
  assert.match(sized.json().message, /larger than/);

  const chunked = await request(v.otlp, {
    method: 'POST', path: '/v1/logs', headers: { 'content-type': 'application/x-protobuf', 'transfer-encoding': 'chunked' },
    chunks: Array.from({ length: 17 }, () => Buffer.alloc(MiB)),
  });
  assert.equal(chunked.status, 413);
  assert.match(chunked.headers['x-otelkit-error'], /larger than/);

  const bomb = zlib.gzipSync(Buffer.alloc(70 * MiB, 0x20));
  assert.ok(bomb.length < MiB);
  const inflated = await post(v, 'traces', bomb, { 'content-encoding': 'gzip' });
  assert.equal(inflated.status, 413);
  assert.match(inflated.headers['x-otelkit-error'], /inflates to more than/);

  assert.equal((await post(v, 'traces', tracesJson([span(7, 7)]))).status, 200);
  const stats = (await request(v.ui, { path: '/api/stats' })).json();
  assert.equal(stats.spans, 1);
  assert.equal(stats.rejectedRequests, 3);
  assert.ok(v.alive());
});

test('attribute keys `__proto__` and `constructor` are kept as plain keys (JSON and protobuf)', async () => {
  const v = await startViewer();
  const kv = { kvlistValue: { values: [{ key: 'polluted', value: { stringValue: 'yes' } }] } };
  const attributes = [
    { key: '__proto__', value: kv },
    { key: 'constructor', value: { stringValue: 'c' } },
    { key: 'http.route', value: { stringValue: '/p' } },
  ];
  assert.equal((await post(v, 'traces', tracesJson([span(0x51, 1, { attributes })]))).status, 200);
  assert.equal((await post(v, 'logs', logsJson([{ body: { stringValue: 'proto log' }, severityNumber: 9, attributes }]))).status, 200);
  const kvEncoded = pbBytes(6, pbBytes(1, pbKv('polluted', 'yes')));
  const proto = tracesProto([{ trace: 0x52, id: 1, attrs: [['__proto__', kvEncoded], ['constructor', 'c'], ['http.route', '/p']] }]);
  assert.equal((await post(v, 'traces', proto, { 'content-type': 'application/x-protobuf' })).status, 200);
  // An enum given as an inherited property name is not a value.
  const badKind = await post(v, 'traces', tracesJson([span(0x53, 1, { kind: 'constructor' })]));
  assert.equal(badKind.status, 400);

  for (const trace of [0x51, 0x52]) {
    const t = (await request(v.ui, { path: `/api/traces/${hex(trace, 32)}` })).json();
    const attrs = t.spans[0].attributes;
    assert.deepEqual(Object.keys(attrs).sort(), ['__proto__', 'constructor', 'http.route'], JSON.stringify(attrs));
    assert.equal(attrs.constructor, 'c');
    assert.equal(Object.getOwnPropertyDescriptor(attrs, '__proto__').value.polluted, 'yes');
    assert.equal(t.route, '/p');
  }
  const log = (await request(v.ui, { path: '/api/logs?q=proto' })).json()[0];
  assert.deepEqual(Object.keys(log.attributes).sort(), ['__proto__', 'constructor', 'http.route']);
  assert.ok(v.alive());
});

test('duplicate span ids, a span its own parent, a parent cycle and a chain of 20000: the trace answers 200, every span once', async () => {
  const v = await startViewer();
  const T = 0xd0;
  const spans = [
    span(T, 1),
    span(T, 2, { parentSpanId: hex(1, 16) }),
    span(T, 2, { parentSpanId: hex(2, 16), name: 'duplicate, its own parent' }),
    span(T, 3, { parentSpanId: hex(4, 16) }),
    span(T, 4, { parentSpanId: hex(3, 16) }),
    span(T, 1, { name: 'duplicate root' }),
  ];
  assert.equal((await post(v, 'traces', tracesJson(spans))).status, 200);
  const r = await request(v.ui, { path: `/api/traces/${hex(T, 32)}` });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  const t = r.json();
  assert.equal(t.spans.length, spans.length);
  assert.deepEqual(t.spans.map((s) => s.name).sort(), spans.map((s) => s.name).sort());
  const child = t.spans.find((s) => s.name === 'op 2');
  assert.equal(child.depth, 1);

  const chain = Array.from({ length: 20000 }, (_, i) => span(0xd1, i + 1, i ? { parentSpanId: hex(i, 16) } : {}));
  assert.equal((await post(v, 'traces', tracesJson(chain))).status, 200);
  const deep = await request(v.ui, { path: `/api/traces/${hex(0xd1, 32)}` });
  assert.equal(deep.status, 200, deep.text.slice(0, 300));
  const d = deep.json();
  assert.equal(d.spans.length, 20000);
  assert.equal(d.spans.at(-1).depth, 19999);
  assert.ok(v.alive());
});

// ==================================================================================== item 7

test('memory is bounded by bytes: huge values and keys keep no more than their cut, many big items no more than --max-mb', async () => {
  const budget = 16 * MiB;
  const v = await startViewer(['--max-mb', String(budget / MiB)]);
  assert.equal((await post(v, 'traces', tracesJson([span(1, 1)]))).status, 200);
  const base = await v.memory();

  // 1. Values of 3 MiB and keys of 1 MiB, in JSON and protobuf: only the cut parts stay. A cut
  //    kept as a V8 substring would keep each whole value (8 x 15 x 4 MiB = 480 MiB here).
  const huge = (i) => `${i}:`.padEnd(3 * MiB, 'v');
  const hugeKey = (i) => `${i}:`.padEnd(MiB, 'k');
  for (let r = 0; r < 4; r++) {
    const json = tracesJson(Array.from({ length: 15 }, (_, i) => span(0x1000 + r, i + 1, {
      attributes: [{ key: 'payload', value: { stringValue: huge(r * 100 + i) } }, { key: hugeKey(r * 100 + i), value: { stringValue: 'v' } }],
    })));
    const a = await post(v, 'traces', zlib.gzipSync(json, { level: 1 }), { 'content-encoding': 'gzip' });
    assert.equal(a.status, 200, a.text);
    const proto = tracesProto(Array.from({ length: 15 }, (_, i) => ({ trace: 0x2000 + r, id: i + 1, attrs: [['payload', huge(r * 100 + i)], [hugeKey(r * 100 + i), 'v']] })));
    const b = await post(v, 'traces', zlib.gzipSync(proto, { level: 1 }), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    assert.equal(b.status, 200, b.text);
  }
  const afterHuge = await v.memory();
  const t = (await request(v.ui, { path: `/api/traces/${hex(0x2000, 32)}` })).json();
  const keys = Object.keys(t.spans[0].attributes);
  assert.ok(keys.every((k) => k.length <= MAX_KEY + 40), `a key of ${Math.max(...keys.map((k) => k.length))} characters`);
  assert.ok(t.spans[0].attributes.payload.length <= MAX_STRING + 40);
  assert.match(t.spans[0].attributes.payload, /…\[\d+ more bytes\]$/);
  const hugeGrowth = afterHuge.heap - base.heap;
  assert.ok(hugeGrowth < 16 * MiB, `120 spans with cut values: heap grew by ${(hugeGrowth / MiB).toFixed(1)} MiB`);

  // 2. Far more than the byte budget in items well under the count caps: spans with 20
  //    attributes of 4000 characters (4x the span share), logs and metric series alike.
  const attrs = (seed) => Array.from({ length: 20 }, (_, k) => ({ key: `a${k}`, value: { stringValue: `${seed}-${k}-`.padEnd(4000, 'z') } }));
  let n = 0;
  for (let r = 0; r < 10; r++) {
    const spans = Array.from({ length: 40 }, () => span(0x10000 + n, ++n, { attributes: attrs(n) }));
    assert.equal((await post(v, 'traces', zlib.gzipSync(tracesJson(spans), { level: 1 }), { 'content-encoding': 'gzip' })).status, 200);
  }
  for (let r = 0; r < 5; r++) {
    // Half of them exception records of groups of their own: the Errors view's index is bounded by its share too.
    const logs = Array.from({ length: 40 }, (_, k) => ({ body: { stringValue: `log ${++n}` }, severityNumber: 9, attributes: [...attrs(n),
      ...(k % 2 ? [] : [['otelkit.error.group', hex(n, 16)], ['otelkit.error.source', 'api'], ['exception.type', 'E']].map(([key, x]) => ({ key, value: { stringValue: x } })))] }));
    assert.equal((await post(v, 'logs', zlib.gzipSync(logsJson(logs), { level: 1 }), { 'content-encoding': 'gzip' })).status, 200);
    const dataPoints = Array.from({ length: 40 }, () => ({ asDouble: 1, timeUnixNano: String(NOW_NS), attributes: attrs(++n) }));
    const metrics = JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'big.gauge', gauge: { dataPoints } }] }] }] });
    assert.equal((await post(v, 'metrics', zlib.gzipSync(metrics, { level: 1 }), { 'content-encoding': 'gzip' })).status, 200);
  }
  const stats = (await request(v.ui, { path: '/api/stats' })).json();
  const end = await v.memory();
  assert.equal(stats.limits.maxBytes, budget);
  assert.ok(stats.bytes.spans <= budget / 2 && stats.bytes.logs <= budget / 4 && stats.bytes.points <= budget / 4, JSON.stringify(stats.bytes));
  assert.ok(stats.errors.bytes <= budget * 0.05 && stats.errors.groups > 0 && stats.errors.dropped > 0, JSON.stringify(stats.errors));
  // Evicted by bytes, not by count: far fewer items than the caps, the oldest gone.
  assert.ok(stats.spans < 400 / 2 && stats.dropped.spans > 0, JSON.stringify(stats));
  assert.ok(stats.logs < 200 / 2 && stats.dropped.logs > 0, JSON.stringify(stats));
  assert.ok(stats.points < 200 / 2 && stats.dropped.points > 0 && stats.series === stats.points, JSON.stringify(stats));
  assert.equal((await request(v.ui, { path: `/api/traces/${hex(0x10000, 32)}` })).status, 404);
  assert.equal((await request(v.ui, { path: `/api/traces/${hex(0x10000 + 399, 32)}` })).status, 200);

  const heapGrowth = end.heap - base.heap;
  const rssGrowth = end.rss - base.rss;
  process.stdout.write(`# memory: budget ${budget / MiB} MiB; heap ${(base.heap / MiB).toFixed(1)} -> ${(afterHuge.heap / MiB).toFixed(1)} -> ${(end.heap / MiB).toFixed(1)} MiB; ` +
    `rss ${(base.rss / MiB).toFixed(1)} -> ${(afterHuge.rss / MiB).toFixed(1)} -> ${(end.rss / MiB).toFixed(1)} MiB; estimated ${((stats.bytes.spans + stats.bytes.logs + stats.bytes.points + stats.errors.bytes) / MiB).toFixed(1)} MiB\n`);
  // The estimate leans high: what the store holds, after a GC, is within the budget (x1.5 for slack).
  assert.ok(heapGrowth < budget * 1.5, `heap grew by ${(heapGrowth / MiB).toFixed(1)} MiB with a budget of ${budget / MiB} MiB`);
  // RSS also holds freed pages and the largest request's buffers (a 64 MiB inflated body at most, decoded).
  assert.ok(rssGrowth < budget * 3 + 192 * MiB, `RSS grew by ${(rssGrowth / MiB).toFixed(1)} MiB with a budget of ${budget / MiB} MiB`);
  assert.ok(v.alive());
});

test('the store keeps a resource once for all its spans, counts its bytes once, and gives them back with its last span', async () => {
  const { Store } = await import('../dist/cli/dev/store.js');
  const { decodeJson } = await import('../dist/cli/dev/otlp-decode.js');
  const { attrsBytes, spanBytes } = await import('../dist/cli/dev/record-size.js');
  const store = new Store({ maxSpans: 3, maxLogs: 1, maxPoints: 1, maxBytes: 1e9 });
  const resourceA = [{ key: 'service.name', value: { stringValue: 'a' } }, { key: 'host.name', value: { stringValue: 'h'.repeat(3000) } }];
  const resourceB = [{ key: 'service.name', value: { stringValue: 'b' } }];
  const req = (resource, ids) => decodeJson('traces', JSON.stringify({ resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ spans: ids.map((i) => span(0xe0, i)) }] }] }));
  const held = () => {
    const spans = [...store.spans.oldest()];
    return { spans, resources: store.stats().bytes.spans - spans.reduce((n, s) => n + spanBytes(s), 0) };
  };
  store.add(req(resourceA, [1, 2]));
  store.add(req(resourceA, [3])); // another request, the same resource: the kept copy
  const a = held();
  assert.equal(a.spans[0].resource, a.spans[2].resource);
  const sizeA = attrsBytes(a.spans[0].resource);
  assert.ok(a.resources >= sizeA && a.resources < 2 * sizeA, `resource bytes ${a.resources}, one copy ${sizeA}`);

  store.add(req(resourceB, [4, 5, 6])); // evicts 1-3: resource A goes with its last span
  const b = held();
  assert.deepEqual(b.spans.map((s) => s.service), ['b', 'b', 'b']);
  assert.ok(b.resources > 0 && b.resources < sizeA / 4, `resource bytes ${b.resources} after A left (A alone: ${sizeA})`);
  assert.equal(store.stats().dropped.spans, 3);
});

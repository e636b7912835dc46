// Cost of one captured error (error tracking, issue 30). Run: npm run build && node bench/errors.bench.mjs
//
// In one process, through the real parts: captureException() into error tracking configured
// with the default redactor, a MeterProvider's counter and a LoggerProvider whose
// BatchLogRecordProcessor exports to a counting exporter (records reach it: the loop yields
// every CHUNK captures). Errors are made before the timed loop; their stack is formatted on
// first read (V8 formats lazily), which the capture pays, as it would in production.
//   admitted     every capture is a record (budget large): the stack formatted, fingerprint,
//                redaction, the record
//   stack read   the same, the stack already formatted (an app or express's logger read it)
//   flooded      the group is over its budget: fingerprint and count only
//   same object  the same error again in the same place: one WeakMap lookup
//   new Error()  for scale: making the error the application throws
//   mapped       as admitted, the error made in a TypeScript module compiled with a source map
//                (tsc's transpileModule into a temp dir): its frames mapped to the .ts source
//                for the record and the group, the map read on the round's first error
//   mapped flood as flooded, for that module: the group is cached per stack, nothing mapped
// And, alone: first of file, one captured error whose file's map is read and parsed (the cache
// emptied before each): what the first error from a compiled file pays once.
// The request path without errors is measured by bench/http.mjs (hello), against main.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as os from 'node:os';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'package.json'));
const { configureErrorCapture, captureException } = require(path.join(ROOT, 'dist/errors/capture.js'));
const { createRedactor } = require(path.join(ROOT, 'dist/redact/redactor.js'));
const { clearSourceMaps } = require(path.join(ROOT, 'dist/errors/source-maps.js'));
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { MeterProvider } = require('@opentelemetry/sdk-metrics');

const N = Number(process.env.BENCH_ERRORS ?? 20000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CHUNK = 500;

const exporter = { exported: 0, export(records, cb) { this.exported += records.length; cb({ code: 0 }); }, shutdown: async () => {}, forceFlush: async () => {} };
const processor = new BatchLogRecordProcessor({ exporter, maxQueueSize: 100000, maxExportBatchSize: 512, scheduledDelayMillis: 10 });
const logger = new LoggerProvider({ processors: [processor] }).getLogger('otelkit.errors');
const meter = new MeterProvider().getMeter('otelkit');

function configure(recordsPerMinute, appRoot = ROOT) {
  configureErrorCapture({ redactor: createRedactor({ enabled: true, extraKeys: [] }), meter, emit: (r) => logger.emit(r), recordsPerMinute, appRoot, serviceVersion: '1.0.0', environment: 'production' });
}

// A compiled TypeScript module with its map next to it (what tsc's sourceMap gives).
const TS_SOURCE = `export class OrderError extends Error {}

function failOrder(id: number): OrderError {
  return new OrderError(\`order \${id} failed for user@example.com\`);
}

function validate(id: number): OrderError {
  return failOrder(id);
}

export function placeOrder(id: number): OrderError {
  return validate(id);
}
`;
const tsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-bench-sm-'));
process.on('exit', () => fs.rmSync(tsDir, { recursive: true, force: true }));
{
  const ts = require('typescript');
  const out = ts.transpileModule(TS_SOURCE, { fileName: 'orders.ts', compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, sourceMap: true } });
  fs.mkdirSync(path.join(tsDir, 'src'));
  fs.mkdirSync(path.join(tsDir, 'dist'));
  fs.writeFileSync(path.join(tsDir, 'src/orders.ts'), TS_SOURCE);
  const map = JSON.parse(out.sourceMapText);
  map.sources = ['../src/orders.ts'];
  fs.writeFileSync(path.join(tsDir, 'dist/orders.js'), out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, '//# sourceMappingURL=orders.js.map'));
  fs.writeFileSync(path.join(tsDir, 'dist/orders.js.map'), JSON.stringify(map));
}
const { placeOrder } = require(path.join(tsDir, 'dist/orders.js'));
function makeMappedErrors(n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = placeOrder(i);
  return out;
}

class OrderError extends Error {}
function failOrder(id) {
  return new OrderError(`order ${id} failed for user@example.com`);
}
function makeErrors(n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = failOrder(i);
  return out;
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i += CHUNK) {
    for (let j = i; j < i + CHUNK && j < N; j++) fn(j);
    await new Promise((r) => setImmediate(r));
  }
  return Number(process.hrtime.bigint() - start) / 1000 / N;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { admitted: [], 'stack read': [], flooded: [], 'same object': [], 'new Error()': [], mapped: [], 'mapped flood': [], 'first of file': [] };
for (let round = 0; round < ROUNDS; round++) {
  configure(1e9);
  let errs = makeErrors(N);
  results.admitted.push(await timed((i) => captureException(errs[i])));
  errs = makeErrors(N);
  for (const e of errs) void e.stack;
  results['stack read'].push(await timed((i) => captureException(errs[i])));
  configure(0);
  errs = makeErrors(N);
  results.flooded.push(await timed((i) => captureException(errs[i])));
  const one = failOrder(1);
  captureException(one);
  results['same object'].push(await timed(() => captureException(one)));
  results['new Error()'].push(await timed((i) => failOrder(i)));
  configure(1e9, tsDir);
  clearSourceMaps();
  errs = makeMappedErrors(N);
  results.mapped.push(await timed((i) => captureException(errs[i])));
  configure(0, tsDir);
  errs = makeMappedErrors(N);
  results['mapped flood'].push(await timed((i) => captureException(errs[i])));
  // The first error of a file: the map read and parsed for its record each time.
  const F = Math.min(N, 500);
  configure(1e9, tsDir);
  errs = makeMappedErrors(F);
  const start = process.hrtime.bigint();
  for (let i = 0; i < F; i++) {
    clearSourceMaps();
    captureException(errs[i]);
  }
  results['first of file'].push(Number(process.hrtime.bigint() - start) / 1000 / F);
  await new Promise((r) => setImmediate(r));
}
await processor.forceFlush();
process.stderr.write(`error capture, ${N} errors x ${ROUNDS} rounds, node ${process.version} (median us per error; spread min-max)\n`);
for (const [k, v] of Object.entries(results)) process.stderr.write(`  ${k.padEnd(13)} ${median(v).toFixed(2).padStart(8)} us   (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)})\n`);
process.stderr.write(`  records exported: ${exporter.exported} (admitted: ${3 * N * ROUNDS + Math.min(N, 500) * ROUNDS})\n`);

// A request without an error: what error tracking adds to it is the wrapper of express's
// Router.handle (one call and one closure per router a request goes through). Measured on
// express 4's router alone, dispatching GET /hello/world to a handler that does nothing, with
// and without the wrapper, alternating, in this process: the difference against the whole
// request's CPU time (bench/http.mjs: about 90-110 us a request on this machine's loaded cores).
{
  const { wrapRouterProto } = require(path.join(ROOT, 'dist/instrument/patches/express-errors.js'));
  const express = require('express');
  const proto = express.Router;
  const plain = proto.handle;
  wrapRouterProto(proto, () => {});
  const wrapped = proto.handle;
  const app = express.Router();
  app.get('/hello/world', (req, res) => {
    res.done++;
  });
  const res = { done: 0 };
  const D = Number(process.env.BENCH_DISPATCHES ?? 200000);
  const dispatch = () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < D; i++) app({ url: '/hello/world', method: 'GET' }, res, () => {});
    return Number(process.hrtime.bigint() - start) / D;
  };
  const ns = { without: [], with: [] };
  for (let round = 0; round < ROUNDS * 4; round++) {
    proto.handle = round % 2 === 0 ? plain : wrapped;
    ns[round % 2 === 0 ? 'without' : 'with'].push(dispatch());
  }
  proto.handle = plain;
  if (res.done !== D * ROUNDS * 4) throw new Error(`dispatched ${res.done}, expected ${D * ROUNDS * 4}`);
  process.stderr.write(`express 4 router dispatch, ${D} requests x ${ROUNDS * 2} rounds each, alternating (median ns a request; spread)\n`);
  for (const [k, v] of Object.entries(ns)) process.stderr.write(`  ${(k + ' wrapper').padEnd(16)} ${median(v).toFixed(0).padStart(6)} ns   (${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)})\n`);
  process.stderr.write(`  difference       ${(median(ns.with) - median(ns.without)).toFixed(0).padStart(6)} ns a request\n`);
}

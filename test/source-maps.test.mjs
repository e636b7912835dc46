// Source maps for error tracking (issue 30, part 7): a TypeScript express app built by the real
// tsc with `sourceMap` (and, as an ES module, with `inlineSourceMap`), run under the preload
// without --enable-source-maps: the exception record's stack trace names src/app.ts at the right
// line and column, its group is the same for every build (another output directory, an ES module
// build, an edit that shifts lines), and what the app prints (express writes the error's stack
// on stderr) is what it prints without otelkit. In-process: broken, missing and oversized maps
// leave frames as they are, the cache stays within its bounds, err.stack and
// Error.prepareStackTrace are never touched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { receiverPerFile } from './support/receiver-per-file.mjs';
import { startApp, ROOT } from './support/app.mjs';

const require = createRequire(import.meta.url);
const { fingerprint } = require(path.join(ROOT, 'dist/errors/fingerprint.js'));
const sourceMaps = require(path.join(ROOT, 'dist/errors/source-maps.js'));
const { configureErrorCapture, resetErrorCapture, captureException, loggedError } = require(path.join(ROOT, 'dist/errors/capture.js'));
const { createRedactor } = require(path.join(ROOT, 'dist/redact/redactor.js'));
const { context } = require('@opentelemetry/api');
const ts = require('typescript');

const shared = receiverPerFile();
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const temps = [];
after(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix) {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  temps.push(d);
  return d;
}

// The app under test. `shift` lines of unrelated code go before everything (an edit that moves
// the throw site down).
function appSource(shift = 0) {
  const extra = shift === 0 ? '' : `// an unrelated edit\n${Array.from({ length: shift - 1 }, (_, i) => `export const unrelated${i} = ${i};`).join('\n')}\n`;
  return `${extra}import express from 'express';

export class OrderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrderError';
  }
}

function failOrder(id: string): never {
  throw new OrderError(\`order \${id} failed\`);
}

const app = express();
app.get('/boom/:id', (req, res) => {
  failOrder(req.params.id);
});
app.get('/stack', (_req, res) => {
  console.error(new Error('printed by the app').stack);
  res.send('ok');
});
const server = app.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  console.log(\`listening \${typeof addr === 'object' && addr !== null ? addr.port : 0}\`);
});
`;
}

/** 1-based line and column of `needle` in `text` (V8 and the source map count so). */
function position(text, needle) {
  const at = text.indexOf(needle);
  assert.notEqual(at, -1, needle);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** A temp project built by tsc: CommonJS or ES module, map file or inline map. */
function build({ esm = false, inline = false, outDir = 'dist', shift = 0 }) {
  const dir = tempDir('otelkit-sm-');
  const source = appSource(shift);
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src/app.ts'), source);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ts-orders', version: '1.0.0', private: true, ...(esm ? { type: 'module' } : {}) }));
  // The packages it uses, from this repository's install (tsc and Node follow the links).
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(path.join(ROOT, 'node_modules/express'), path.join(dir, 'node_modules/express'), 'dir');
  fs.symlinkSync(path.join(ROOT, 'node_modules/@types'), path.join(dir, 'node_modules/@types'), 'dir');
  const compilerOptions = {
    target: 'ES2022',
    module: esm ? 'nodenext' : 'commonjs',
    moduleResolution: esm ? 'nodenext' : 'node10',
    esModuleInterop: true,
    strict: true,
    skipLibCheck: true,
    types: ['node', 'express'],
    rootDir: 'src',
    outDir,
    ...(inline ? { inlineSourceMap: true } : { sourceMap: true }),
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }));
  execFileSync(process.execPath, [TSC, '-p', dir], { stdio: 'pipe' });
  const entry = path.join(dir, outDir, 'app.js');
  const js = fs.readFileSync(entry, 'utf8');
  assert.match(js, inline ? /\/\/# sourceMappingURL=data:application\/json;base64,/ : /\/\/# sourceMappingURL=app\.js\.map\s*$/);
  return {
    dir,
    entry,
    throwAt: position(source, 'new OrderError(`order'),
    callAt: position(source, 'failOrder(req.params.id)'),
  };
}

const ENV = { OTEL_SERVICE_NAME: 'ts-orders', NODE_ENV: 'production', OTEL_BLRP_SCHEDULE_DELAY: '50', OTEL_BSP_SCHEDULE_DELAY: '50', OTELKIT_ERROR_RECORDS_PER_MINUTE: '1000' };

async function request(port, p) {
  const res = await fetch(`http://127.0.0.1:${port}${p}`);
  await res.text();
  return res.status;
}

/** The lines of the app's stderr that name its own files (express's dump of the error's stack, /stack's print). */
function appLines(stderr, dir) {
  return stderr.split('\n').filter((l) => l.includes(dir) && !l.startsWith('{'));
}

/** Runs the build without and with otelkit: the record of /boom/7 and the app's own stderr lines of both runs. */
async function run(b) {
  const plain = startApp(b.entry, { env: ENV, preload: [] });
  shared.apps.push(plain);
  const plainPort = await plain.port();
  assert.equal(await request(plainPort, '/boom/7'), 500);
  assert.equal(await request(plainPort, '/stack'), 200);
  // /stack's print is the last thing the app writes: everything before it has arrived.
  await plain.waitFor(/printed by the app\n\s+at /, { stream: 'stderr' });
  await plain.stop();

  const rec = shared.rec;
  rec.reset();
  const app = startApp(b.entry, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: rec.url, ...ENV } });
  shared.apps.push(app);
  const port = await app.port();
  assert.equal(await request(port, '/boom/7'), 500);
  assert.equal(await request(port, '/stack'), 200);
  const record = await rec.waitFor(() => rec.logs.find((l) => l.eventName === 'exception'));
  await app.waitFor(/printed by the app\n\s+at /, { stream: 'stderr' });
  await app.stop();
  return { record, plainLines: appLines(plain.out.stderr, b.dir), lines: appLines(app.out.stderr, b.dir) };
}

function checkRecord(b, { record, plainLines, lines }, outDir) {
  const st = record.attributes['exception.stacktrace'];
  assert.equal(record.attributes['exception.type'], 'OrderError');
  assert.equal(record.attributes['exception.message'], 'order 7 failed');
  const src = path.join(b.dir, 'src/app.ts');
  // The throw site and the route handler's call, at the TypeScript source's line and column.
  assert.ok(st.includes(`at failOrder (${src}:${b.throwAt.line}:${b.throwAt.column})`), st);
  assert.ok(st.includes(`${src}:${b.callAt.line}:${b.callAt.column}`), st);
  assert.ok(!st.includes(`${path.sep}${outDir}${path.sep}app.js`), `no compiled frame left: ${st}`);
  // The group is made of the mapped frames.
  assert.equal(record.attributes['otelkit.error.group'], fingerprint('OrderError', st, 'order 7 failed', b.dir));

  // The app's own output: the same lines as without otelkit, and Node's compiled frames in them.
  assert.deepEqual(lines, plainLines, 'the app prints the same stacks as without otelkit');
  const dumped = lines.filter((l) => l.includes(`${outDir}${path.sep}app.js`) || l.includes(`${outDir}/app.js`));
  assert.ok(dumped.length >= 3, `express's dump of err.stack and /stack's print name the compiled file: ${lines.join('\n')}`);
  assert.ok(!lines.some((l) => l.includes('app.ts')), 'the app\'s stacks are not mapped');
  // The compiled stack (as express printed it) would have made another group.
  const compiled = ['OrderError: order 7 failed', ...lines.filter((l) => /^\s+at /.test(l))].join('\n');
  assert.notEqual(fingerprint('OrderError', compiled, 'order 7 failed', b.dir), record.attributes['otelkit.error.group']);
  return record.attributes['otelkit.error.group'];
}

test('tsc builds (map file, inline map as ES module, lines shifted): the record names src/app.ts:LINE:COL, one group, the app\'s stderr unchanged', async () => {
  const cjs = build({});
  const group = checkRecord(cjs, await run(cjs), 'dist');

  // An unrelated edit above everything: the throw site moves down, the group stays.
  const shifted = build({ shift: 5 });
  assert.equal(shifted.throwAt.line, cjs.throwAt.line + 5);
  assert.equal(checkRecord(shifted, await run(shifted), 'dist'), group, 'same group after lines moved');

  // An ES module build with an inline map into another directory: file:// frames, a data: URL.
  const esm = build({ esm: true, inline: true, outDir: 'out' });
  assert.equal(checkRecord(esm, await run(esm), 'out'), group, 'same group for the ES module build with an inline map');
});

// In process: maps written by hand (and by tsc's transpileModule) next to compiled files.

function writeCompiled(dir, name, mapComment, map) {
  const file = path.join(dir, `${name}.js`);
  fs.writeFileSync(file, `'use strict';\nthrow new Error('never run');\n${mapComment}\n`);
  if (map !== undefined) fs.writeFileSync(path.join(dir, `${name}.js.map`), typeof map === 'string' ? map : JSON.stringify(map));
  return file;
}

// "AAAA" maps generated 0:0 to sources[0] 0:0; ";AAEA" maps line 1 to two lines further down.
const simpleMap = (name) => ({ version: 3, file: `${name}.js`, sources: [`src/${name}.ts`], names: [], mappings: 'AAAA;AAEA' });
const stackOf = (file, line = 2, column = 7) => `Error: never run\n    at thrower (${file}:${line}:${column})\n    at node:internal/main:1:1`;

test('maps from files and data: URLs; broken, missing, oversized or unmapped positions leave the frame as it is; nothing throws', () => {
  sourceMaps.clearSourceMaps();
  const dir = tempDir('otelkit-sm-unit-');
  const src = (n) => path.join(dir, `src/${n}.ts`);

  const good = writeCompiled(dir, 'good', '//# sourceMappingURL=good.js.map', simpleMap('good'));
  assert.equal(sourceMaps.mapStack(stackOf(good), undefined), `Error: never run\n    at thrower (${src('good')}:3:1)\n    at node:internal/main:1:1`);
  // ES module frames (file:// URLs) too; a position before any mapping of its line is left.
  assert.equal(sourceMaps.mapStack(`E\n    at ${pathToFileURL(good).href}:1:5`, undefined), `E\n    at ${src('good')}:1:1`);
  const unmappedLine = stackOf(good, 3, 1);
  assert.equal(sourceMaps.mapStack(unmappedLine, undefined), unmappedLine);

  const b64 = Buffer.from(JSON.stringify(simpleMap('inline'))).toString('base64');
  const inline = writeCompiled(dir, 'inline', `//# sourceMappingURL=data:application/json;charset=utf-8;base64,${b64}`);
  assert.match(sourceMaps.mapStack(stackOf(inline), undefined), new RegExp(`at thrower \\(${src('inline')}:3:1\\)`));
  const pct = writeCompiled(dir, 'pct', `//# sourceMappingURL=data:application/json,${encodeURIComponent(JSON.stringify(simpleMap('pct')))}`);
  assert.match(sourceMaps.mapStack(stackOf(pct), undefined), new RegExp(`at thrower \\(${src('pct')}:3:1\\)`));

  const untouched = [
    writeCompiled(dir, 'missing', '//# sourceMappingURL=missing.js.map'),
    writeCompiled(dir, 'broken', '//# sourceMappingURL=broken.js.map', '{"version":3,"sources":['),
    writeCompiled(dir, 'nomappings', '//# sourceMappingURL=nomappings.js.map', { version: 3, sources: ['a.ts'] }),
    writeCompiled(dir, 'badurl', '//# sourceMappingURL=data:application/json;base64'),
    writeCompiled(dir, 'http', '//# sourceMappingURL=https://example.com/x.js.map'),
    writeCompiled(dir, 'nocomment', '// nothing here'),
    writeCompiled(dir, 'toobig', '//# sourceMappingURL=toobig.js.map', { ...simpleMap('toobig'), sourcesContent: ['x'.repeat(sourceMaps.MAX_MAP_BYTES)] }),
    writeCompiled(dir, 'toomany', '//# sourceMappingURL=toomany.js.map', { ...simpleMap('toomany'), mappings: 'AAAA;'.repeat(sourceMaps.MAX_MAPPINGS / 5 + 1) }),
    path.join(dir, 'does-not-exist.js'),
    dir, // a directory
  ];
  for (const f of untouched) {
    const s = stackOf(f);
    assert.equal(sourceMaps.mapStack(s, undefined), s, `unchanged for ${path.basename(f)}`);
  }
  // Frames in node_modules and in the excluded directory (otelkit's own) are not even read.
  const nm = path.join(dir, 'node_modules/dep');
  fs.mkdirSync(nm, { recursive: true });
  const dep = writeCompiled(nm, 'good', '//# sourceMappingURL=good.js.map', simpleMap('good'));
  assert.equal(sourceMaps.mapStack(stackOf(dep), undefined), stackOf(dep));
  assert.equal(sourceMaps.mapStack(stackOf(good), dir), stackOf(good));
  assert.equal(sourceMaps.mapStack('not a stack', undefined), 'not a stack');
});

test('the map cache keeps at most MAX_MAPS maps and MAX_CACHED_MAPPINGS mappings characters', () => {
  sourceMaps.clearSourceMaps();
  const dir = tempDir('otelkit-sm-cache-');
  for (let i = 0; i < sourceMaps.MAX_MAPS + 6; i++) {
    const f = writeCompiled(dir, `f${i}`, `//# sourceMappingURL=f${i}.js.map`, simpleMap(`f${i}`));
    assert.match(sourceMaps.mapStack(stackOf(f), undefined), /src\/f\d+\.ts:3:1/);
    assert.ok(sourceMaps.sourceMapCacheStats().maps <= sourceMaps.MAX_MAPS);
  }
  assert.equal(sourceMaps.sourceMapCacheStats().maps, sourceMaps.MAX_MAPS);
  // Big maps (each just under the parse bound): the total stays under its bound.
  const big = 'AAAA;'.repeat(Math.floor(sourceMaps.MAX_MAPPINGS / 5) - 1);
  for (let i = 0; i < 6; i++) {
    const f = writeCompiled(dir, `big${i}`, `//# sourceMappingURL=big${i}.js.map`, { ...simpleMap(`big${i}`), mappings: big });
    assert.match(sourceMaps.mapStack(stackOf(f, 1, 1), undefined), /src\/big\d+\.ts:1:1/);
    const stats = sourceMaps.sourceMapCacheStats();
    assert.ok(stats.mappings <= sourceMaps.MAX_CACHED_MAPPINGS, `${stats.mappings} mappings cached`);
  }
  // An evicted map is read again when needed.
  const first = path.join(dir, 'f0.js');
  assert.match(sourceMaps.mapStack(stackOf(first), undefined), /src\/f0\.ts:3:1/);
  sourceMaps.clearSourceMaps();
});

test('capture: the record and the logged error get mapped stacks (cause too), err.stack and Error.prepareStackTrace untouched', () => {
  sourceMaps.clearSourceMaps();
  const dir = tempDir('otelkit-sm-capture-');
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"lib"}');
  const source = [
    'export class PaymentError extends Error {}',
    '',
    'export function charge(amount: number): never {',
    '  const cause = new TypeError(`gateway refused ${amount}`);',
    '  throw new PaymentError(`charge failed`, { cause });',
    '}',
    '',
  ].join('\n');
  const out = ts.transpileModule(source, { fileName: 'lib.ts', compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, sourceMap: true } });
  fs.mkdirSync(path.join(dir, 'src'));
  fs.mkdirSync(path.join(dir, 'dist'));
  fs.writeFileSync(path.join(dir, 'src/lib.ts'), source);
  const map = JSON.parse(out.sourceMapText);
  map.sources = ['../src/lib.ts'];
  fs.writeFileSync(path.join(dir, 'dist/lib.js'), out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, '//# sourceMappingURL=lib.js.map'));
  fs.writeFileSync(path.join(dir, 'dist/lib.js.map'), JSON.stringify(map));
  const { charge } = require(path.join(dir, 'dist/lib.js'));

  const records = [];
  configureErrorCapture({ redactor: createRedactor({ enabled: true, extraKeys: [] }), emit: (r) => records.push(r), recordsPerMinute: 100, appRoot: dir, environment: 'test' });
  const prepare = Error.prepareStackTrace;
  let err;
  try {
    charge(12);
  } catch (e) {
    err = e;
  }
  const stack = err.stack;
  try {
    captureException(err);
    assert.equal(records.length, 1);
    const st = records[0].attributes['exception.stacktrace'];
    const src = path.join(dir, 'src/lib.ts');
    assert.ok(st.includes(`at charge (${src}:5:9)`), st);
    assert.ok(st.includes(`Caused by: TypeError: gateway refused 12\n    at charge (${src}:4:17)`), st);
    assert.ok(!st.includes('dist/lib.js'), st);
    // Nothing of the application's error or Node's formatting changed.
    assert.equal(err.stack, stack);
    assert.match(err.stack, /dist\/lib\.js:\d+:\d+/);
    assert.equal(Error.prepareStackTrace, prepare);
    assert.equal(new Error('x').stack.includes('lib.ts'), false);

    // otelkit's logger: the record's stack trace attribute is replaced by the mapped one.
    const err2 = (() => { try { charge(13); } catch (e) { return e; } })();
    const logged = loggedError(err2, context.active());
    assert.ok(logged.attributes['exception.stacktrace'].includes(`at charge (${src}:5:9)`), logged.attributes['exception.stacktrace']);
    assert.equal(logged.attributes['otelkit.error.group'], records[0].attributes['otelkit.error.group']);
    // An error without any mapped frame: the logger's own attribute is kept.
    assert.equal(loggedError(new Error('plain'), context.active()).attributes['exception.stacktrace'], undefined);
  } finally {
    resetErrorCapture();
    sourceMaps.clearSourceMaps();
  }
});

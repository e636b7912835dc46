// Which installed packages load as ES module code under `import`: that alone decides whether an
// ES module application gets the import-in-the-middle loader or only the require bridge; and
// where that loader runs (in-thread hooks, or a loader thread on older Node lines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { supportsSyncHooks } from 'import-in-the-middle/supports-sync-hooks.mjs';
import { firstEsmPackage } from '../dist/loading/esm-packages.js';
import { packageOfFile } from '../dist/loading/esm-hooks.js';
import { ROOT } from './support/app.mjs';

function tree(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-esm-packages-'));
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(dir, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const nm = (name, files) => Object.fromEntries(Object.entries(files).map(([f, c]) => [`node_modules/${name}/${f}`, c]));

test('CommonJS packages, and ES module entries that only re-export their CommonJS build, need no loader', () => {
  const dir = tree({
    ...nm('plain', { 'package.json': { main: 'lib/main' }, 'lib/main.js': 'module.exports = 1' }),
    ...nm('noexports', { 'package.json': {}, 'index.js': 'module.exports = 1' }),
    ...nm('wrapped', {
      'package.json': { exports: { '.': { import: './esm/index.mjs', require: './lib/index.js' } } },
      'lib/index.js': 'module.exports = { a: 1 }',
      'esm/index.mjs': "// re-export\nimport lib from '../lib/index.js'\nexport const a = lib.a\nexport default lib\n",
    }),
    ...nm('cjs-file', { 'package.json': { type: 'module', exports: { import: './index.cjs' } }, 'index.cjs': 'module.exports = 1' }),
    ...nm('@scope/pkg', { 'package.json': { exports: { node: { import: './w.mjs' }, default: './i.js' } }, 'w.mjs': "export * from './i.js'", 'i.js': 'exports.x = 1' }),
  });
  assert.equal(firstEsmPackage(['plain', 'noexports', 'wrapped', 'cjs-file', '@scope/pkg', 'not-installed'], dir), undefined);
});

test('a package whose import entry is ES module code of its own needs the loader', () => {
  const cases = {
    'type-module': { 'package.json': { type: 'module', main: 'index.js' }, 'index.js': 'export default 1' },
    'exports-mjs': { 'package.json': { exports: { '.': { import: './index.mjs', require: './index.cjs' } } }, 'index.mjs': 'export const a = 1', 'index.cjs': '' },
    'imports-esm': { 'package.json': { exports: { import: './index.mjs', default: './index.js' } }, 'index.mjs': "import { b } from './b.mjs'\nexport const a = b", 'b.mjs': 'export const b = 1', 'index.js': '' },
    'imports-dependency': { 'package.json': { exports: { import: './index.mjs' } }, 'index.mjs': "import x from 'other'\nexport default x" },
    'dynamic-import': { 'package.json': { exports: { import: './index.mjs' } }, 'index.mjs': "import a from './a.js'\nexport const later = () => import('./b.js')", 'a.js': '', 'b.js': '' },
    'nested-type': { 'package.json': { exports: { import: './esm/index.js', require: './cjs/index.js' } }, 'esm/package.json': { type: 'module' }, 'esm/index.js': "import c from './c.js'\nexport default c", 'esm/c.js': 'export default 1', 'cjs/index.js': '' },
    'array-target': { 'package.json': { exports: { '.': [{ import: './index.mjs' }, './index.js'] } }, 'index.mjs': 'export default 1', 'index.js': '' },
  };
  for (const [name, files] of Object.entries(cases)) {
    const dir = tree({ ...nm('plain', { 'package.json': {}, 'index.js': '' }), ...nm(name, files) });
    assert.equal(firstEsmPackage(['plain', name], dir), name, name);
  }
});

test('packages are found as Node finds them: upwards from the entry directory, the nearest copy first', () => {
  const dir = tree({
    ...nm('pkg', { 'package.json': { type: 'module' }, 'index.js': 'export default 1' }),
    'app/src/main.js': '',
    'app/node_modules/pkg/package.json': {},
    'app/node_modules/pkg/index.js': 'module.exports = 1',
  });
  assert.equal(firstEsmPackage(['pkg'], path.join(dir, 'app', 'src')), undefined, 'the nearer CommonJS copy wins');
  assert.equal(firstEsmPackage(['pkg'], path.join(dir, 'other')), 'pkg', 'the outer copy is ES module code');
});

test('the installed pg, pg-pool, express, redis and winston take the bridge', () => {
  // pg and pg-pool have ES module entries that re-export their CommonJS builds.
  const pg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/pg/package.json'), 'utf8'));
  assert.equal(typeof pg.exports['.'].import, 'string', 'pg has an import entry: this test checks it is seen as a wrapper');
  assert.equal(firstEsmPackage(['pg', 'pg-pool', 'express', 'redis', '@redis/client', 'winston', 'ioredis', 'pino'], path.join(ROOT, 'examples/orders-service')), undefined);
});

test('packageOfFile names the package a file under node_modules belongs to', () => {
  const p = (...parts) => path.join(path.sep, 'srv', ...parts);
  assert.equal(packageOfFile(p('node_modules', 'express', 'index.js')), 'express');
  assert.equal(packageOfFile(p('node_modules', 'a', 'node_modules', '@redis', 'client', 'dist', 'index.js')), '@redis/client');
  assert.equal(packageOfFile(p('node_modules', '@scope')), undefined);
  assert.equal(packageOfFile(p('app', 'server.js')), undefined);
});

test('registerEsmLoader: in-thread hooks where the Node line allows, else the loader thread; a Hook of the CommonJS entry reaches them', () => {
  const dir = tree({
    ...nm('esm-only', { 'package.json': { type: 'module', exports: './index.js' }, 'index.js': "export const value = 'original';\n" }),
    // Run before the ES module entry, as the preload is; the Hook is made after registration, as
    // the lazy instrumentations make theirs, through the CommonJS entry the instrumentations use.
    // The loader thread runs the preload too (Node 20): like register.ts, it does nothing there.
    'preload.cjs': `
      if (!require('node:worker_threads').isMainThread) return;
      const { registerEsmLoader } = require(${JSON.stringify(path.join(ROOT, 'dist/loading/esm-hooks.js'))});
      globalThis.where = registerEsmLoader(['esm-only']);
      const { Hook } = require(${JSON.stringify(path.join(ROOT, 'node_modules/import-in-the-middle'))});
      new Hook(['esm-only'], (exports) => { exports.value = 'hooked'; });
    `,
    'app.mjs': "import { value } from 'esm-only';\nconsole.log(JSON.stringify({ where: globalThis.where, value, workers: process.report.getReport().workers.length }));\n",
  });
  const out = spawnSync(process.execPath, ['--require', path.join(dir, 'preload.cjs'), path.join(dir, 'app.mjs')], { cwd: dir, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  // No ExperimentalWarning or any other warning, from require() of the ES module entry or from registerHooks.
  assert.equal(out.stderr, '');
  const inThread = supportsSyncHooks();
  assert.deepEqual(JSON.parse(out.stdout), { where: inThread ? 'in-thread' : 'loader-thread', value: 'hooked', workers: inThread ? 0 : 1 });
  fs.rmSync(dir, { recursive: true, force: true });
});

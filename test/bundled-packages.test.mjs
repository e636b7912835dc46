// One copy of @opentelemetry/api, core and api-logs (src/loading/bundled-packages.ts): under the preload
// the installed packages' requirers (the instrumentations, the exporters' bundles, the
// application) get the bundle's modules, with the installed packages' exports; a package of
// another version, one loaded already or one not installed keeps its own copy. The semantic
// conventions' entry is shared as the constants the installed packages read, in front of the
// installed entry for every other name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { sharePackages, withInstalledFallback } from '../dist/loading/bundled-packages.js';
import { ROOT } from './support/app.mjs';

const require = createRequire(import.meta.url);
const PACKAGES = ['@opentelemetry/api', '@opentelemetry/core', '@opentelemetry/api-logs'];

/** name -> sorted [export, typeof] pairs of a module's exports. */
function surface(mod) {
  return Object.keys(mod).sort().map((k) => [k, typeof mod[k]]);
}

/** Runs `script` (CommonJS, cwd at the repository root) under the preload; returns its JSON output. */
function underPreload(script, env = {}) {
  const r = spawnSync(process.execPath, ['--require', 'otelkit/register', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, OTEL_LOG_LEVEL: 'none', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...env },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `child failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

const PROBE = `
  const fs = require('node:fs');
  const path = require('node:path');
  const names = ${JSON.stringify(PACKAGES)};
  // What the http instrumentation loads, and what it requires of the API and core.
  require('node:http');
  require('@opentelemetry/instrumentation-http');
  const surface = (m) => Object.keys(m).sort().map((k) => [k, typeof m[k]]);
  const out = {};
  for (const name of names) {
    const entry = require.resolve(name);
    const pkgDir = entry.slice(0, entry.lastIndexOf(path.sep + 'build' + path.sep));
    out[name] = {
      surface: surface(require(name)),
      esModule: require(name).__esModule === true,
      // Files of the installed package that were loaded besides its entry.
      ownFiles: Object.keys(require.cache).filter((f) => f.startsWith(pkgDir + path.sep) && f !== entry).length,
    };
  }
  // Spans through the shared API are the SDK's (always_on below): recording, with ids.
  const span = require('@opentelemetry/api').trace.getTracer('t').startSpan('s');
  out.recording = span.isRecording();
  process.stdout.write(JSON.stringify(out));
`;

test('under the preload, the installed API, core and logs API resolve to the bundle\'s modules, with the same exports', () => {
  const out = underPreload(PROBE, { OTEL_TRACES_SAMPLER: 'always_on' });
  for (const name of PACKAGES) {
    const real = require(name);
    assert.deepEqual(out[name].surface, surface(real), `${name}: the same exports, of the same kinds`);
    assert.equal(out[name].esModule, real.__esModule === true, `${name}: __esModule as installed`);
    assert.equal(out[name].ownFiles, 0, `${name}: none of the installed package's modules was loaded`);
  }
  assert.equal(out.recording, true, 'the shared API reaches the SDK');
});

test('with the SDK disabled nothing is shared: the installed packages load as they are', () => {
  const out = underPreload(PROBE, { OTEL_SDK_DISABLED: 'true' });
  assert.ok(out['@opentelemetry/api'].ownFiles > 0, 'the installed API loaded its own modules');
});

test('sharePackages: only an installed package of the same version that nothing loaded yet', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-share-'));
  const install = (name, version) => {
    const pkg = path.join(dir, 'node_modules', ...name.split('/'));
    fs.mkdirSync(path.join(pkg, 'build'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name, version, main: 'build/index.js' }));
    fs.writeFileSync(path.join(pkg, 'build', 'index.js'), 'exports.installed = true;');
    return path.join(pkg, 'build', 'index.js');
  };
  const same = install('@t/same', '1.2.3');
  const other = install('@t/other', '1.2.3');
  const loaded = install('@t/loaded', '1.2.3');
  const preloaded = require(loaded);
  const entries = { '@t/same': same, '@t/other': other, '@t/loaded': loaded };
  const resolve = (name) => {
    if (!entries[name]) throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
    return entries[name];
  };
  const bundled = (name, version) => ({ name, version, exports: { bundled: name } });
  const shared = sharePackages([bundled('@t/same', '1.2.3'), bundled('@t/other', '1.2.4'), bundled('@t/loaded', '1.2.3'), bundled('@t/missing', '1.0.0')], resolve);
  assert.deepEqual(shared, ['@t/same']);
  assert.equal(require(same).bundled, '@t/same', 'the same version: the bundle\'s module');
  assert.equal(require(same).__esModule, true);
  assert.equal(require(other).installed, true, 'another version: its own');
  assert.equal(require(loaded), preloaded, 'already loaded: left as it is');
  fs.rmSync(dir, { recursive: true, force: true });
});

const SEMCONV = '@opentelemetry/semantic-conventions';
// Values as JSON carries them: functions (header attribute names) by what they return.
const comparable = (v) => (typeof v === 'function' ? { returns: v('x-probe') } : v);

const SEMCONV_PROBE = `
  const path = require('node:path');
  const entry = require.resolve('${SEMCONV}');
  const pkgDir = path.dirname(entry);
  const loaded = () => Object.keys(require.cache).filter((f) => f.startsWith(pkgDir + path.sep));
  // Instrumentations that read the conventions, as the application's first loads trigger them.
  require('node:http');
  require('node:net');
  require('express');
  require('pg');
  require('redis');
  for (const name of ['http', 'express', 'net', 'pg', 'redis']) require('@opentelemetry/instrumentation-' + name);
  const s = require('${SEMCONV}');
  const out = { loadedBefore: loaded(), own: Object.keys(s), esModule: s.__esModule === true, values: {} };
  const comparable = ${comparable};
  for (const key of ${JSON.stringify(Object.keys(require(SEMCONV)))}) out.values[key] = comparable(s[key]);
  out.inOperator = ['ATTR_HTTP_ROUTE' in s, 'ATTR_ASPNETCORE_RATE_LIMITING_RESULT' in s, 'NOT_A_CONVENTION' in s];
  out.loadedAfter = loaded().length;
  process.stdout.write(JSON.stringify(out));
`;

test('under the preload, the semantic conventions are the constants the instrumentations read, with the installed values for every name', () => {
  const out = underPreload(SEMCONV_PROBE);
  const installed = require(SEMCONV);
  const entry = require.resolve(SEMCONV);
  assert.deepEqual(out.loadedBefore, [entry], 'the instrumentations loaded none of the installed files: only the shared entry is in the cache');
  assert.ok(out.own.includes('ATTR_HTTP_ROUTE') && out.own.includes('METRIC_HTTP_SERVER_REQUEST_DURATION'), 'the constants the instrumentations read are its own');
  assert.ok(out.own.length < Object.keys(installed).length / 4, `a subset: ${out.own.length} of ${Object.keys(installed).length} names`);
  for (const key of Object.keys(installed)) assert.deepEqual(out.values[key], comparable(installed[key]), `${key}: the installed value, own or through the fallback`);
  assert.equal(out.esModule, installed.__esModule === true, '__esModule as installed');
  assert.deepEqual(out.inOperator, [true, true, false], "'in' answers for the subset and, through the fallback, for the rest");
  assert.ok(out.loadedAfter > 1, 'a name outside the subset loaded the installed entry');
});

test('withInstalledFallback: own names as given, others from the installed exports loaded once, on the first miss', () => {
  let loads = 0;
  const exports = withInstalledFallback({ A: 'a' }, () => {
    loads++;
    return { A: 'installed a', B: 'b' };
  });
  assert.equal(exports.A, 'a');
  assert.deepEqual(Object.keys(exports), ['A']);
  assert.equal(loads, 0, 'an own name does not load the installed package');
  assert.equal(exports.B, 'b');
  assert.equal(exports.C, undefined);
  assert.equal('B' in exports, true);
  assert.equal(loads, 1);
});

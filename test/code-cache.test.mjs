// The bundle's V8 code cache: written once, used after, and never a reason to fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './support/app.mjs';

function run(tmpdir) {
  // Loads the package through main.js, as the preload and `require('otelkit')` do.
  const r = spawnSync(process.execPath, ['-e', "const ok = require('./dist/main.js'); ok.start(); console.log(typeof ok.getLogger)"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, TMPDIR: tmpdir, OTEL_LOG_LEVEL: 'none', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function');
}

function cacheFiles(tmpdir) {
  const dirs = fs.readdirSync(tmpdir).filter((d) => d.startsWith('otelkit-code-cache-'));
  return dirs.flatMap((d) => fs.readdirSync(path.join(tmpdir, d)).map((f) => path.join(tmpdir, d, f)));
}

test('the first start writes the cache in a private directory; later starts keep it', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-cc-'));
  try {
    run(tmp);
    const [file] = cacheFiles(tmp);
    assert.ok(file, 'a cache file was written');
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.ok(fs.statSync(file).size > 10_000);
    const before = fs.statSync(file).mtimeMs;
    run(tmp);
    assert.equal(fs.statSync(file).mtimeMs, before, 'an accepted cache is not rewritten');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a corrupt cache is rejected by V8, replaced, and the package still loads', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-cc-'));
  try {
    run(tmp);
    const [file] = cacheFiles(tmp);
    fs.writeFileSync(file, Buffer.alloc(4096, 7));
    run(tmp);
    assert.notDeepEqual(fs.readFileSync(file).subarray(0, 16), Buffer.alloc(16, 7), 'rewritten after rejection');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a cache directory others can write is not used', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-cc-'));
  try {
    const uid = process.getuid();
    const dir = path.join(tmp, `otelkit-code-cache-${uid}`);
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o777);
    run(tmp);
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing read from or written to a world-writable directory');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

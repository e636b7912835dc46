// service.instance.id: otelkit's detector against upstream's serviceInstanceIdDetector, which it
// replaces (resource/service-instance-id.ts): same attribute, same UUID form, one id a process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from './support/app.mjs';

const require = createRequire(import.meta.url);
const ours = require('../dist/resource/service-instance-id.js');
const upstream = require('@opentelemetry/resources');
const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('uuidV4 of the bytes of randomUUID() ids gives those ids back, every one', () => {
  for (let i = 0; i < 2000; i++) {
    const id = randomUUID();
    assert.equal(ours.uuidV4(Buffer.from(id.replaceAll('-', ''), 'hex')), id);
  }
});

test('uuidV4 sets the version and variant bits of any 16 bytes, as randomUUID() does', () => {
  for (const fill of [0x00, 0xff, 0x5a]) assert.match(ours.uuidV4(Buffer.alloc(16, fill)), V4);
  assert.equal(ours.uuidV4(Buffer.alloc(16, 0xff)), 'ffffffff-ffff-4fff-bfff-ffffffffffff');
  assert.equal(ours.uuidV4(Buffer.alloc(16, 0)), '00000000-0000-4000-8000-000000000000');
});

test('the detector gives the attributes upstream gives, in its form, the same for every call', () => {
  const a = ours.serviceInstanceIdDetector.detect().attributes;
  const b = upstream.serviceInstanceIdDetector.detect().attributes;
  assert.deepEqual(Object.keys(a), Object.keys(b));
  assert.match(a['service.instance.id'], V4);
  assert.match(b['service.instance.id'], V4);
  assert.equal(ours.serviceInstanceIdDetector.detect().attributes['service.instance.id'], a['service.instance.id']);
});

test('another process draws another id, and none loads node:crypto to do it', () => {
  const script = `const d = require(${JSON.stringify(`${ROOT}/dist/resource/service-instance-id.js`)}).serviceInstanceIdDetector;
    process.stdout.write(JSON.stringify({ id: d.detect().attributes['service.instance.id'], crypto: process.moduleLoadList.includes('NativeModule crypto') }));`;
  // A file, not -e: node -e loads node:crypto itself.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otelkit-instance-id-'));
  fs.writeFileSync(path.join(dir, 'draw.cjs'), script);
  const runs = [0, 1, 2].map(() => JSON.parse(spawnSync(process.execPath, [path.join(dir, 'draw.cjs')], { encoding: 'utf8' }).stdout));
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(new Set(runs.map((r) => r.id)).size, 3);
  for (const r of runs) {
    assert.match(r.id, V4);
    if (process.platform === 'linux') assert.equal(r.crypto, false, 'on Linux the bytes come from /dev/urandom');
  }
});

// Head sampling: otelkit's ratio sampler must decide exactly as the SDK's, so that a trace is
// kept or dropped alike by every service sampling it by ratio.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { buildSampler, RatioSampler } from '../dist/trace/sampler.js';
import { traceIdWithXor } from '../dist/trace/root-span.js';

const RATIOS = [0, 1e-9, 0.001, 0.1, 0.25, 0.5, 0.999, 1];

function ids() {
  const out = [];
  for (let i = 0; i < 20000; i++) out.push(randomBytes(16).toString('hex'));
  out.push(...out.slice(0, 200).map((id) => id.toUpperCase()));
  out.push(
    '0'.repeat(32), // the invalid trace id
    '0'.repeat(31) + '1',
    'f'.repeat(32),
    'F'.repeat(32),
    'ffffffff00000000ffffffff00000000',
    'g'.repeat(32), // not hex
    '0af7651916cd43dd8448eb211c80319', // 31 characters
    '0af7651916cd43dd8448eb211c80319cc', // 33
    '0af7651916cd43dd8448eb211c80319 ',
    '0af7651916cd43dd8448eb211c80319:', // ':' is just after '9'
    '0af7651916cd43dd8448eb211c80319@', // '@' is just before 'A'
    '0af7651916cd43dd8448eb211c80319`', // '`' is just before 'a'
    '',
  );
  return out;
}

test('the ratio sampler decides as the SDK TraceIdRatioBasedSampler for every id and ratio', () => {
  const all = ids();
  for (const ratio of RATIOS) {
    const ours = new RatioSampler(ratio);
    const sdk = new TraceIdRatioBasedSampler(ratio);
    let sampled = 0;
    for (const id of all) {
      const expected = sdk.shouldSample(ROOT_CONTEXT, id).decision;
      const got = ours.shouldSample(ROOT_CONTEXT, id).decision;
      assert.equal(got, expected, `ratio ${ratio}, trace id ${JSON.stringify(id)}`);
      if (got === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
    }
    assert.equal(ours.toString(), sdk.toString());
    // The comparison means something only if both outcomes occur where the ratio allows them.
    if (ratio > 0.05 && ratio < 0.95) assert.ok(sampled > 0 && sampled < all.length, `ratio ${ratio}: ${sampled} of ${all.length}`);
  }
});

test('parentbased_traceidratio: a sampled parent is followed, an unsampled one too, a root goes by ratio', () => {
  const sampler = buildSampler({ name: 'parentbased_traceidratio', ratio: 0 });
  const parent = (flags) => trace.setSpanContext(ROOT_CONTEXT, { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: flags, isRemote: true });
  const id = 'f'.repeat(32);
  assert.equal(sampler.shouldSample(parent(TraceFlags.SAMPLED), id, 'x', SpanKind.SERVER, {}, []).decision, SamplingDecision.RECORD_AND_SAMPLED);
  assert.equal(sampler.shouldSample(parent(TraceFlags.NONE), id, 'x', SpanKind.SERVER, {}, []).decision, SamplingDecision.NOT_RECORD);
  assert.equal(sampler.shouldSample(ROOT_CONTEXT, id, 'x', SpanKind.SERVER, {}, []).decision, SamplingDecision.NOT_RECORD);
  const all = buildSampler({ name: 'parentbased_traceidratio', ratio: 1 });
  assert.equal(all.shouldSample(ROOT_CONTEXT, id, 'x', SpanKind.SERVER, {}, []).decision, SamplingDecision.RECORD_AND_SAMPLED);
  assert.equal(all.toString(), 'ParentBased{root=TraceIdRatioBased{1}, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}');
});

const xorOf = (id) => [0, 8, 16, 24].reduce((acc, i) => (acc ^ parseInt(id.slice(i, i + 8), 16)) >>> 0, 0);

test('a trace id built for a drawn number has that XOR of its words, and is valid and lowercase', () => {
  const values = [0, 1, 2 ** 31, 2 ** 32 - 1, ...RATIOS.map((r) => Math.floor(r * (2 ** 32 - 1)))];
  for (let i = 0; i < 2000; i++) values.push(randomBytes(4).readUInt32BE(0));
  const seen = new Set();
  for (const x of values) {
    const id = traceIdWithXor(x);
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.notEqual(id, '0'.repeat(32));
    assert.equal(xorOf(id), x, id);
    seen.add(id);
  }
  assert.equal(seen.size, values.length, 'ids repeat');
});

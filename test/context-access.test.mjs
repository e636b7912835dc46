// The context access of the request path: what it reads and enters is the global manager's
// context, and LinkedContext answers every read as the API's BaseContext would after the same
// calls, so instrumentations reading the request's context through the API see the same values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  activeContext, enterContext, LinkedContext, RPC_METADATA_KEY, SPAN_KEY, useContextManager, withContext,
} from '../dist/trace/context-access.js';

test('the context keys are the API\'s own symbols', () => {
  assert.equal(SPAN_KEY, createContextKey('OpenTelemetry Context Key SPAN'));
  assert.equal(RPC_METADATA_KEY, createContextKey('OpenTelemetry SDK Context Key RPC_METADATA'));
});

test('active and with follow the global manager, through the API and through otelkit alike', async () => {
  const manager = new AsyncLocalStorageContextManager().enable();
  assert.ok(context.setGlobalContextManager(manager));
  try {
    useContextManager(manager);
    const key = createContextKey('test');
    const ctx = new LinkedContext(ROOT_CONTEXT, key, 1);
    assert.equal(activeContext(), ROOT_CONTEXT);
    const seen = await withContext(ctx, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return [activeContext(), context.active()];
    });
    assert.deepEqual(seen, [ctx, ctx]);
    assert.equal(activeContext(), ROOT_CONTEXT);
    context.with(ctx, () => assert.equal(activeContext(), ctx));
    await new Promise((resolve) => setImmediate(() => {
      assert.equal(enterContext(ctx), true);
      assert.equal(context.active(), ctx);
      resolve();
    }));
  } finally {
    context.disable();
    useContextManager(context);
  }
});

test('LinkedContext reads as BaseContext after the same setValue and deleteValue calls', () => {
  const keys = [SPAN_KEY, RPC_METADATA_KEY, createContextKey('a'), createContextKey('b')];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let run = 0; run < 200; run++) {
    let linked = ROOT_CONTEXT;
    let based = ROOT_CONTEXT;
    for (let step = 0; step < 8; step++) {
      const key = keys[next() % keys.length];
      if (next() % 4 === 0) {
        linked = linked.deleteValue(key);
        based = based.deleteValue(key);
      } else {
        const value = { step };
        linked = step === 0 ? new LinkedContext(ROOT_CONTEXT, key, value) : linked.setValue(key, value);
        based = based.setValue(key, value);
      }
      for (const k of keys) assert.equal(linked.getValue(k), based.getValue(k));
    }
  }
});

// The own node-redis command path (src/instrument/patches/redis-commands.ts) against upstream's: the same command
// on a REAL Redis through upstream's sendCommand patch and through otelkit's, under the same
// parent, must give the same span (name, kind, parent, scope, attributes in order, status,
// exception event) and the same reply. Also what stays upstream's: no parent, a configured
// serializer or response hook honoured, and no span at all under an unsampled parent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { createClient } from 'redis';
import { redisCommandSpans } from '../dist/instrument/patches/redis-commands.js';
import { startRedis } from './support/services.mjs';

let server;
let client;
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors: [new SimpleSpanProcessor(exporter)] });

before(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  server = await startRedis();
  client = createClient({ url: server.url });
  await client.connect();
});

after(async () => {
  await client?.quit();
  await server?.stop();
  context.disable();
});

/** Upstream's and otelkit's sendCommand patches of one instrumentation, around node-redis's own. */
function patches(config = {}) {
  const outer = new RedisInstrumentation({ ...config, enabled: false });
  outer.setTracerProvider(provider);
  const inst = outer.instrumentationV4_V5;
  const upstreamFactory = inst._getPatchRedisClientSendCommand.bind(inst);
  redisCommandSpans(inst);
  assert.notEqual(inst._getPatchRedisClientSendCommand, upstreamFactory, 'the lean patch was installed');
  const original = client.sendCommand;
  return { upstream: upstreamFactory()(original), lean: inst._getPatchRedisClientSendCommand()(original) };
}

/** Runs send(args) under a new parent span (flags: sampled or not; null: no parent), returns the reply or error and the command's spans. */
async function under(flags, send, args) {
  exporter.reset();
  const parent = flags === null ? undefined : trace.wrapSpanContext({ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: flags });
  const ctx = parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
  let reply;
  let error;
  try {
    reply = await context.with(ctx, () => send.call(client, args));
  } catch (err) {
    error = err;
  }
  // The span ends in the reply's promise reaction: one more turn.
  await new Promise((r) => setImmediate(r));
  return { reply, error, parent: parent?.spanContext(), spans: exporter.getFinishedSpans() };
}

function shape(span, parent) {
  const events = span.events.map((e) => ({ name: e.name, attributes: Object.entries(e.attributes ?? {}).filter(([k]) => k !== 'exception.stacktrace') }));
  return {
    name: span.name,
    kind: span.kind,
    attributes: Object.entries(span.attributes),
    status: span.status,
    events,
    hasStack: span.events.map((e) => typeof e.attributes?.['exception.stacktrace'] === 'string'),
    scope: span.instrumentationScope,
    sameTrace: parent ? span.spanContext().traceId === parent.traceId : undefined,
    parentSpanId: parent ? span.parentSpanContext?.spanId === parent.spanId : span.parentSpanContext === undefined,
    sampled: (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0,
    ended: span.ended,
  };
}

async function compare(p, args, flags = TraceFlags.SAMPLED, prepare = async () => {}) {
  await prepare();
  const a = await under(flags, p.upstream, args);
  await prepare();
  const b = await under(flags, p.lean, args);
  assert.deepEqual(b.reply, a.reply, `${args[0]}: same reply`);
  assert.equal(b.error?.message, a.error?.message, `${args[0]}: same error`);
  assert.equal(b.spans.length, a.spans.length, `${args[0]}: as many spans (${a.spans.length})`);
  for (let i = 0; i < a.spans.length; i++) assert.deepEqual(shape(b.spans[i], b.parent), shape(a.spans[i], a.parent), `${args[0]}: span ${i}`);
  return { upstream: a, lean: b };
}

test('under a sampled parent, commands get the span upstream gives them: replies, errors, statements', async () => {
  const p = patches();
  const key = `k:${randomBytes(4).toString('hex')}`;
  const set = await compare(p, ['SET', key, 'secret-value', 'EX', '60']);
  assert.equal(set.lean.spans.length, 1);
  const attrs = set.lean.spans[0].attributes;
  assert.equal(attrs['db.operation.name'], 'SET');
  // upstream's serialiser keeps the key and drops the value
  assert.equal(attrs['db.query.text'], `SET ${key} [3 other arguments]`);
  assert.equal(set.lean.spans[0].name, 'redis-SET');
  const get = await compare(p, ['GET', key]);
  assert.equal(get.lean.reply, 'secret-value');
  assert.equal(get.lean.spans[0].attributes['server.port'], server.port);
  await compare(p, ['HSET', `${key}:h`, 'field', 'value'], TraceFlags.SAMPLED, () => client.del(`${key}:h`));
  await compare(p, ['ECHO', 'hello']);
  await compare(p, ['PING']);
  // INCR on a string value: a WRONGTYPE-like error reply, recorded as the span's exception.
  const failed = await compare(p, ['INCR', key]);
  assert.ok(failed.lean.error, 'INCR on a non-integer fails');
  assert.equal(failed.lean.spans[0].status.code, 2, 'error status');
  assert.equal(failed.lean.spans[0].events[0]?.name, 'exception');
});

test('a command with no active span is upstream\'s (its root span, decided by the sampler)', async () => {
  const p = patches();
  const r = await compare(p, ['PING'], null);
  assert.equal(r.lean.spans.length, 1, 'a root span, as upstream starts one');
  assert.equal(r.lean.spans[0].parentSpanContext, undefined);
});

test('under an unsampled parent a command runs with no span at all, and replies as usual', async () => {
  const p = patches();
  const key = `u:${randomBytes(4).toString('hex')}`;
  const r = await under(TraceFlags.NONE, p.lean, ['SET', key, '1']);
  assert.equal(r.reply, 'OK');
  assert.equal(r.spans.length, 0);
  assert.equal(await client.get(key), '1');
});

test('a configured statement serializer and response hook are used as upstream uses them', async () => {
  const hooked = [];
  const p = patches({
    dbStatementSerializer: (cmd, args) => `${cmd} with ${args.length} args`,
    responseHook: (span, cmd, args, reply) => {
      hooked.push(cmd);
      span.setAttribute('test.reply', String(reply));
    },
  });
  const key = `s:${randomBytes(4).toString('hex')}`;
  const r = await compare(p, ['SET', key, 'v']);
  assert.equal(r.lean.spans[0].attributes['db.query.text'], 'SET with 2 args');
  assert.equal(r.lean.spans[0].attributes['test.reply'], 'OK');
  assert.deepEqual(hooked, ['SET', 'SET'], 'the hook ran for both paths');
  const throwing = patches({ dbStatementSerializer: () => { throw new Error('serializer bug'); } });
  const t = await compare(throwing, ['GET', key]);
  assert.equal(t.lean.reply, 'v', 'a throwing serializer never reaches the application');
  assert.equal(t.lean.spans[0].attributes['db.query.text'], undefined);
});

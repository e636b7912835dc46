// Micro-benchmark of src/trace/context-access.ts against what it replaces, on one Node line:
// `npm run build && node bench/context.bench.mjs [rounds]` (run it with each line's binary).
// Inside a request-like context (the manager enabled and global, a span and RPC metadata set):
// active() and with() straight on the manager's AsyncLocalStorage (what context-access.ts did
// until 2026-12-05) against the manager's own methods (what it does now) and the API facade, and a LinkedContext pair against BaseContext.setValue twice.
// Variants alternate inside every round; the table gives the median ns per call and the
// spread (min-max) over the rounds.
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LinkedContext, RPC_METADATA_KEY, SPAN_KEY } from '../dist/trace/context-access.js';
import { median } from './support/stats.mjs';

const rounds = Number(process.argv[2] ?? 15);
const N = 2_000_000;
const manager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(manager);
const storage = manager._asyncLocalStorage;

const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
const rpc = { type: 'http', span };
const linked = new LinkedContext(new LinkedContext(ROOT_CONTEXT, SPAN_KEY, span), RPC_METADATA_KEY, rpc);
const based = ROOT_CONTEXT.setValue(SPAN_KEY, span).setValue(RPC_METADATA_KEY, rpc);

let sink = 0;
const noop = () => 1;
const variants = {
  'active: storage.getStore()': () => { for (let i = 0; i < N; i++) if ((storage.getStore() ?? ROOT_CONTEXT) === ROOT_CONTEXT) sink++; },
  'active: manager.active()': () => { for (let i = 0; i < N; i++) if (manager.active() === ROOT_CONTEXT) sink++; },
  'active: context.active() (API)': () => { for (let i = 0; i < N; i++) if (context.active() === ROOT_CONTEXT) sink++; },
  'with: storage.run()': () => { for (let i = 0; i < N; i++) sink += storage.run(linked, noop); },
  'with: manager.with()': () => { for (let i = 0; i < N; i++) sink += manager.with(linked, noop); },
  'with: context.with() (API)': () => { for (let i = 0; i < N; i++) sink += context.with(linked, noop); },
  'build 2 keys: LinkedContext': () => { for (let i = 0; i < N; i++) sink += new LinkedContext(new LinkedContext(linked, SPAN_KEY, span), RPC_METADATA_KEY, rpc) === linked ? 1 : 0; },
  'build 2 keys: BaseContext.setValue': () => { for (let i = 0; i < N; i++) sink += based.setValue(SPAN_KEY, span).setValue(RPC_METADATA_KEY, rpc) === based ? 1 : 0; },
  'read span: LinkedContext (4 deep)': () => { const c = linked.setValue(Symbol.for('x'), 1).setValue(Symbol.for('y'), 2); for (let i = 0; i < N; i++) if (c.getValue(SPAN_KEY) === span) sink++; },
  'read span: BaseContext': () => { const c = based.setValue(Symbol.for('x'), 1).setValue(Symbol.for('y'), 2); for (let i = 0; i < N; i++) if (c.getValue(SPAN_KEY) === span) sink++; },
};

const names = Object.keys(variants);
const samples = new Map(names.map((n) => [n, []]));
manager.with(linked, () => {
  for (const n of names) variants[n](); // warm-up
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const n of order) {
      const t0 = process.hrtime.bigint();
      variants[n]();
      samples.get(n).push(Number(process.hrtime.bigint() - t0) / N);
    }
  }
});

console.log(`node ${process.versions.node}, ${rounds} rounds of ${N} calls (sink ${sink > 0})`);
console.log('| variant | ns/call median | min-max |');
console.log('|---|---|---|');
for (const n of names) {
  const s = samples.get(n);
  console.log(`| ${n} | ${median(s).toFixed(1)} | ${Math.min(...s).toFixed(1)}-${Math.max(...s).toFixed(1)} |`);
}

// Micro-benchmark of the request-path replacements that ARCHITECTURE §4 keeps for speed, each
// against the upstream code it replaces, on every Node line side by side:
// `npm run build && node bench/replacements.bench.mjs [rounds] [--lines 20,22,24]`.
//
// Each line runs this file again as a child (`--child`); inside it the variants of a pair
// alternate every round (order reversed every other round), and the table gives the median ns a
// call over the rounds with its spread (min-max). A replacement pays on a line when its median is
// below upstream's and the spreads do not overlap.
//
//   sampler      trace/sampler.ts RatioSampler against the SDK's TraceIdRatioBasedSampler (0.1)
//   duration     metrics/http-server-duration.ts HttpServerDuration.record against the SDK
//                histogram's record with the attributes built per request, as upstream does
//   instrument   metrics/instrumentation-meters.ts: a histogram record of an instrumentation's
//                meter (pg's db.client.operation.duration shape) against the SDK's
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { median } from './support/stats.mjs';
import { nodeLines } from './support/lines.mjs';

const argv = process.argv.slice(2);
const child = argv.includes('--child');
const rounds = Number(argv.filter((a) => !a.startsWith('--'))[0] ?? 15);

async function measure() {
  const { ROOT_CONTEXT } = await import('@opentelemetry/api');
  const { TraceIdRatioBasedSampler } = await import('@opentelemetry/sdk-trace');
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  const { RatioSampler } = await import('../dist/trace/sampler.js');
  const { HttpServerDuration, DURATION_BUCKETS } = await import('../dist/metrics/http-server-duration.js');
  const { InstrumentMeterProvider } = await import('../dist/metrics/instrumentation-meters.js');

  class Reader extends MetricReader {
    async onForceFlush() {}
    async onShutdown() {}
  }
  const sdkMeters = new MeterProvider({ readers: [new Reader()] });
  const ownMeters = new InstrumentMeterProvider(() => sdkMeters);
  const N = 200_000;
  let sink = 0;

  const ids = Array.from({ length: 1024 }, () => randomBytes(16).toString('hex'));
  const ours = new RatioSampler(0.1);
  const sdk = new TraceIdRatioBasedSampler(0.1);

  const duration = new HttpServerDuration();
  const sdkDuration = sdkMeters.getMeter('@opentelemetry/instrumentation-http').createHistogram('http.server.request.duration', { unit: 's', advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] } });
  const route = '/hello/:name';

  const pgAttributes = { 'db.system.name': 'postgresql', 'db.namespace': 'orders', 'server.address': '127.0.0.1', 'server.port': 5432, 'db.operation.name': 'SELECT' };
  const ownPg = ownMeters.getMeter('@opentelemetry/instrumentation-pg', '0.76.0').createHistogram('db.client.operation.duration', { unit: 's' });
  const sdkPg = sdkMeters.getMeter('@opentelemetry/instrumentation-pg-sdk', '0.76.0').createHistogram('db.client.operation.duration', { unit: 's' });

  const pairs = {
    sampler: {
      'RatioSampler': () => { for (let i = 0; i < N; i++) sink += ours.shouldSample(ROOT_CONTEXT, ids[i & 1023]).decision; },
      'TraceIdRatioBasedSampler (SDK)': () => { for (let i = 0; i < N; i++) sink += sdk.shouldSample(ROOT_CONTEXT, ids[i & 1023]).decision; },
    },
    duration: {
      'HttpServerDuration.record': () => { for (let i = 0; i < N; i++) duration.record((i & 255) / 10_000, 'GET', 'http', '1.1', 200, route, undefined); },
      'SDK histogram.record': () => {
        for (let i = 0; i < N; i++) {
          sdkDuration.record((i & 255) / 10_000, { 'http.request.method': 'GET', 'url.scheme': 'http', 'network.protocol.version': '1.1', 'http.response.status_code': 200, 'http.route': route });
        }
      },
    },
    instrument: {
      'InstrumentMeter histogram.record': () => { for (let i = 0; i < N; i++) ownPg.record((i & 255) / 10_000, { ...pgAttributes }); },
      'SDK histogram.record': () => { for (let i = 0; i < N; i++) sdkPg.record((i & 255) / 10_000, { ...pgAttributes }); },
    },
  };

  const out = {};
  for (const [pair, variants] of Object.entries(pairs)) {
    const vnames = Object.keys(variants);
    const samples = new Map(vnames.map((n) => [n, []]));
    for (const n of vnames) variants[n](); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const n of r % 2 ? [...vnames].reverse() : vnames) {
        const t0 = process.hrtime.bigint();
        variants[n]();
        samples.get(n).push(Number(process.hrtime.bigint() - t0) / N);
      }
    }
    out[pair] = vnames.map((n) => {
      const s = samples.get(n);
      return { variant: n, median: median(s), min: Math.min(...s), max: Math.max(...s) };
    });
  }
  if (sink === 0.5) console.error('unreachable'); // keeps the loops' results alive
  return out;
}

if (child) {
  process.stdout.write(JSON.stringify(await measure()));
} else {
  const lines = nodeLines(argv);
  const self = fileURLToPath(import.meta.url);
  const results = lines.map((l) => {
    const r = spawnSync(l.bin, [self, String(rounds), '--child'], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`Node ${l.version}: ${r.stderr}`);
    return { ...l, out: JSON.parse(r.stdout) };
  });
  console.log(`${rounds} rounds a line; median ns a call (min-max over the rounds)`);
  console.log(`| pair | variant | ${results.map((r) => `Node ${r.version}`).join(' | ')} |`);
  console.log(`|---|---|${results.map(() => '---').join('|')}|`);
  for (const pair of Object.keys(results[0].out)) {
    results[0].out[pair].forEach((v, i) => {
      const cells = results.map((r) => { const x = r.out[pair][i]; return `${x.median.toFixed(1)} (${x.min.toFixed(1)}-${x.max.toFixed(1)})`; });
      console.log(`| ${pair} | ${v.variant} | ${cells.join(' | ')} |`);
    });
  }
}

// Micro-benchmark of the span encoding: `npm run build && node bench/encode.bench.mjs`.
// otelkit encodes each span as it ends (src/export/otlp-span-encoder.ts); upstream's serialiser encodes a batch
// of 512 at export. Same spans (an orders request: a server span and a redis span), same bytes.
import { SpanKind } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { ProtoWriter, writeSpan } from '../dist/export/otlp-span-encoder.js';

const ended = [];
const provider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'orders' }),
  spanProcessors: [{ onStart() {}, onEnd: (s) => ended.push(s), forceFlush: async () => {}, shutdown: async () => {} }],
});
const http = provider.getTracer('otelkit.http', '0.1.0');
const redis = provider.getTracer('@opentelemetry/instrumentation-redis', '0.60.0');
for (let i = 0; i < 512; i++) {
  http.startSpan('GET /orders/:id', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'GET', 'url.scheme': 'http', 'url.path': `/orders/${i}`, 'network.protocol.version': '1.1',
      'server.address': '127.0.0.1', 'server.port': 8080, 'network.peer.address': '127.0.0.1', 'network.peer.port': 40000 + i,
      'client.address': '127.0.0.1', 'user_agent.original': 'wrk/4.2.0', 'http.response.status_code': 200, 'http.route': '/orders/:id',
    },
  }).end();
  redis.startSpan('GET', {
    kind: SpanKind.CLIENT,
    attributes: { 'db.system.name': 'redis', 'db.query.text': `GET order:${i}`, 'server.address': '127.0.0.1', 'server.port': 6379, 'db.operation.name': 'GET' },
  }).end();
}

function measure(name, batches, fn) {
  fn(); // warm-up
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < batches; k++) fn();
    runs.push(Number(process.hrtime.bigint() - t0) / (batches * ended.length));
  }
  runs.sort((a, b) => a - b);
  return { name, ns: runs[2] };
}

const w = new ProtoWriter(1 << 20);
const rows = [
  measure('upstream ProtobufTraceSerializer, batch of 1,024', 40, () => ProtobufTraceSerializer.serializeRequest(ended)),
  measure('otelkit writeSpan, one span at a time', 200, () => {
    w.reset();
    for (const s of ended) writeSpan(w, s);
  }),
];
console.log('| encoder | ns per span | x upstream |');
console.log('|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.ns.toFixed(0)} | ${(rows[0].ns / r.ns).toFixed(2)} |`);

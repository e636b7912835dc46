// A local OTLP/HTTP sink that accepts everything, so exports cost what they cost on loopback.
import * as http from 'node:http';

export async function startSink() {
  let requests = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      const json = String(req.headers['content-type'] || '').includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get requests() { return requests; },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

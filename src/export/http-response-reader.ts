// The HTTP/1.1 response parser of otelkit's export transport (otlp-http-transport.ts): status,
// headers and a body framed by Content-Length, chunked, or the connection's close, with upstream's
// 4 MiB response limit. Kept apart from the socket so that it is read, and tested on every split
// of its input, on its own.

export const MAX_RESPONSE_BODY_SIZE = 4 * 1024 * 1024;
const MAX_HEAD_SIZE = 64 * 1024;

export interface Response {
  status: number;
  reason: string;
  headers: Map<string, string>;
  body: Buffer;
  /** The server closes the connection after this response. */
  close: boolean;
}

/**
 * Reads one HTTP/1.1 response from the bytes fed to it. feed() returns the response once it is
 * complete, undefined while more bytes are needed, and throws on a malformed or oversized one.
 */
export class ResponseReader {
  private pending: Buffer = Buffer.alloc(0);
  private head: Omit<Response, 'body'> | undefined;
  private mode: 'length' | 'chunked' | 'close' | 'none' = 'none';
  private remaining = 0;
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes after the response (a server must not send any before the next request). */
  rest: Buffer = Buffer.alloc(0);

  feed(data: Buffer): Response | undefined {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    for (;;) {
      if (this.head === undefined) {
        const end = this.pending.indexOf('\r\n\r\n');
        if (end === -1) {
          if (this.pending.length > MAX_HEAD_SIZE) throw new Error('OTLP export response head too large');
          return undefined;
        }
        const head = parseHead(this.pending.toString('latin1', 0, end));
        this.pending = this.pending.subarray(end + 4);
        // 1xx responses precede the real one.
        if (head.status >= 100 && head.status < 200) continue;
        this.head = head;
        const te = head.headers.get('transfer-encoding');
        const cl = head.headers.get('content-length');
        if (head.status === 204 || head.status === 304) this.mode = 'none';
        else if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) this.mode = 'chunked';
        else if (cl !== undefined) {
          if (!/^\d+$/.test(cl.trim())) throw new Error(`OTLP export response has an invalid Content-Length: ${cl}`);
          this.mode = 'length';
          this.remaining = Number(cl.trim());
          if (this.remaining > MAX_RESPONSE_BODY_SIZE) throw new Error(`OTLP export response body exceeded size limit of ${MAX_RESPONSE_BODY_SIZE} bytes`);
        } else this.mode = 'close';
      }
      return this.body();
    }
  }

  /** The connection closed: the response, if it was one read until the close. */
  end(): Response | undefined {
    if (this.head !== undefined && this.mode === 'close') return this.done(true);
    return undefined;
  }

  private take(n: number): void {
    this.size += n;
    if (this.size > MAX_RESPONSE_BODY_SIZE) throw new Error(`OTLP export response body exceeded size limit of ${MAX_RESPONSE_BODY_SIZE} bytes`);
    this.chunks.push(this.pending.subarray(0, n));
    this.pending = this.pending.subarray(n);
  }

  private body(): Response | undefined {
    switch (this.mode) {
      case 'none':
        return this.done(false);
      case 'close':
        if (this.pending.length > 0) this.take(this.pending.length);
        return undefined;
      case 'length': {
        const n = Math.min(this.remaining, this.pending.length);
        if (n > 0) this.take(n);
        this.remaining -= n;
        return this.remaining === 0 ? this.done(false) : undefined;
      }
      case 'chunked':
        for (;;) {
          if (this.remaining > 0) {
            const n = Math.min(this.remaining, this.pending.length);
            if (n === 0) return undefined;
            this.take(n);
            this.remaining -= n;
            if (this.remaining > 0) return undefined;
            // The CRLF after the chunk's data.
            this.remaining = -2;
          }
          if (this.remaining === -2) {
            if (this.pending.length < 2) return undefined;
            this.pending = this.pending.subarray(2);
            this.remaining = 0;
          }
          const eol = this.pending.indexOf('\r\n');
          if (eol === -1) {
            if (this.pending.length > MAX_HEAD_SIZE) throw new Error('OTLP export response has an invalid chunk');
            return undefined;
          }
          const line = this.pending.toString('latin1', 0, eol);
          const sizeText = line.split(';')[0].trim();
          if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`OTLP export response has an invalid chunk size: ${line}`);
          const size = parseInt(sizeText, 16);
          if (size > 0) {
            this.pending = this.pending.subarray(eol + 2);
            this.remaining = size;
            continue;
          }
          // The last chunk: trailers (ignored), then an empty line.
          const after = eol + 2;
          let end: number;
          if (this.pending.length >= after + 2 && this.pending[after] === 13 && this.pending[after + 1] === 10) end = after + 2;
          else {
            const blank = this.pending.indexOf('\r\n\r\n', after);
            if (blank === -1) {
              if (this.pending.length > MAX_HEAD_SIZE) throw new Error('OTLP export response has invalid trailers');
              return undefined;
            }
            end = blank + 4;
          }
          this.pending = this.pending.subarray(end);
          return this.done(false);
        }
    }
  }

  private done(closed: boolean): Response {
    const head = this.head as Omit<Response, 'body'>;
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.rest = this.pending;
    return { ...head, body, close: head.close || closed };
  }
}

function parseHead(text: string): Omit<Response, 'body'> {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (m === null) throw new Error(`OTLP export response is not HTTP/1.x: ${JSON.stringify(lines[0].slice(0, 100))}`);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon <= 0) continue;
    const name = lines[i].slice(0, colon).trim().toLowerCase();
    const value = lines[i].slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  const connection = (headers.get('connection') ?? '').toLowerCase();
  const close = m[1] === '0' ? !connection.includes('keep-alive') : connection.includes('close');
  return { status: Number(m[2]), reason: m[3] ?? '', headers, close };
}

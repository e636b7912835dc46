// OTLP/HTTP exports to an http: endpoint, on one kept-alive HTTP/1.1 connection of otelkit's own.
//
// Why not node:http: the service's own requests and responses run through the same functions of
// node's http, net and stream modules as an exporter's ClientRequest, its response, parser,
// Agent and the Readable upstream pipes the body from. Once those objects have passed through
// them, V8's inline caches there see several shapes instead of one, and every request of the
// service pays for it, sampled or not. Measured on an express hello world (alternating runs, 5
// each): 103.1 -> 97.9 µs of CPU per request at sampling 0.1, 107.4 -> 105.8 µs at 1.0, and
// 2-5 MiB less RSS. An export is a POST with a known body and a small response, which needs
// little of HTTP/1.1: the head and body are written on a net.Socket, and the response's status,
// headers and body (Content-Length, chunked, or until the connection closes) are read here.
//
// Upstream's transport semantics are kept: the headers, gzip, the timeout per attempt, 2xx as
// success with the body (for partial-success responses), 429/502/503/504 and network errors as
// retryable (Retry-After honoured), the 4 MiB response limit, and its retry schedule (5 retries,
// backoff from 1 s by 1.5x up to 5 s with 20% jitter, within the export's timeout).
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { OTLPExporterError, type ExportResponse, type IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import { VERSION } from '../version';

export const MAX_RESPONSE_BODY_SIZE = 4 * 1024 * 1024;
const MAX_HEAD_SIZE = 64 * 1024;
const USER_AGENT = `otelkit/${VERSION}`;

export interface RawHttpParameters {
  url: string;
  headers: () => Record<string, string> | Promise<Record<string, string>>;
  compression: 'gzip' | 'none';
  /** Prepended to the User-Agent, as upstream's userAgent option. */
  userAgent?: string;
}

const RETRYABLE_NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH']);

function retryableStatus(code: number): boolean {
  return code === 429 || code === 502 || code === 503 || code === 504;
}

/** Retry-After in milliseconds, as upstream reads it: seconds, or an HTTP date. */
export function retryAfterMillis(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number.parseInt(value, 10);
  if (Number.isInteger(seconds)) return seconds > 0 ? seconds * 1000 : -1;
  const delay = new Date(value).getTime() - Date.now();
  return delay >= 0 ? delay : 0;
}

function networkFailure(error: Error): ExportResponse {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && RETRYABLE_NETWORK_ERRORS.has(code) ? { status: 'retryable', error } : { status: 'failure', error };
}

interface Response {
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

function toResponse(res: Response): ExportResponse {
  if (res.status >= 200 && res.status <= 299) return { status: 'success', data: res.body };
  if (retryableStatus(res.status)) return { status: 'retryable', retryInMillis: retryAfterMillis(res.headers.get('retry-after')) };
  return { status: 'failure', error: new OTLPExporterError(res.reason, res.status, res.body.toString()) };
}

function gzip(data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => zlib.gzip(data, (err, out) => (err ? reject(err) : resolve(out))));
}

interface Job {
  head: string;
  body: Uint8Array;
  timeoutMillis: number;
  resolve(r: ExportResponse): void;
}

/** One attempt per send; retries are RetryingTransport's. */
export class RawHttpTransport implements IExporterTransport {
  private readonly host: string;
  private readonly port: number;
  private readonly target: string;
  private readonly hostHeader: string;
  private socket: net.Socket | undefined;
  private readonly queue: Job[] = [];
  private busy = false;
  private closed = false;

  constructor(private readonly params: RawHttpParameters) {
    const url = new URL(params.url);
    if (url.protocol !== 'http:') throw new Error(`RawHttpTransport takes http: URLs, not ${url.protocol}`);
    // URL keeps IPv6 hosts bracketed; net.connect wants them bare.
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === '' ? 80 : Number(url.port);
    this.target = `${url.pathname}${url.search}`;
    this.hostHeader = url.host;
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    if (this.closed) return { status: 'failure', error: new Error('the OTLP exporter is shut down') };
    let body: Uint8Array = data;
    let head: string;
    try {
      const headers = { ...(await this.params.headers()) };
      if (this.params.compression === 'gzip') {
        body = await gzip(data);
        headers['Content-Encoding'] = 'gzip';
      }
      headers['User-Agent'] = this.params.userAgent ? `${this.params.userAgent} ${USER_AGENT}` : USER_AGENT;
      head = `POST ${this.target} HTTP/1.1\r\nHost: ${this.hostHeader}\r\nConnection: keep-alive\r\nContent-Length: ${body.length}\r\n`;
      for (const [name, value] of Object.entries(headers)) {
        // A header value cannot carry a line break (it would split the request).
        if (/[\r\n]/.test(name) || /[\r\n]/.test(String(value))) continue;
        const lower = name.toLowerCase();
        if (lower === 'content-length' || lower === 'host' || lower === 'connection' || lower === 'transfer-encoding') continue;
        head += `${name}: ${value}\r\n`;
      }
      head += '\r\n';
    } catch (err) {
      return { status: 'failure', error: err instanceof Error ? err : new Error(String(err)) };
    }
    return new Promise((resolve) => {
      this.queue.push({ head, body, timeoutMillis, resolve });
      this.next();
    });
  }

  shutdown(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
  }

  private next(): void {
    if (this.busy) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    if (this.closed) {
      job.resolve({ status: 'failure', error: new Error('the OTLP exporter is shut down') });
      this.next();
      return;
    }
    this.busy = true;
    this.attempt(job, true);
  }

  /** `mayRetryStale`: a kept-alive socket the server closed meanwhile gets one fresh connection. */
  private attempt(job: Job, mayRetryStale: boolean): void {
    const reused = this.socket !== undefined && !this.socket.destroyed;
    const socket = reused ? (this.socket as net.Socket) : this.connect();
    const reader = new ResponseReader();
    let received = false;
    let settled = false;
    /** Ends this attempt's hold on the socket: kept idle for the next export, or closed. */
    const release = (keep: boolean): void => {
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (keep) socket.unref();
      else {
        socket.destroy();
        if (this.socket === socket) this.socket = undefined;
      }
    };
    const finish = (result: ExportResponse, keep: boolean): void => {
      if (settled) return;
      release(keep && reader.rest.length === 0);
      job.resolve(result);
      this.busy = false;
      this.next();
    };
    const onData = (chunk: Buffer): void => {
      received = true;
      let res: Response | undefined;
      try {
        res = reader.feed(chunk);
      } catch (err) {
        finish({ status: 'failure', error: err as Error }, false);
        return;
      }
      if (res !== undefined) finish(toResponse(res), !res.close);
    };
    const onFailure = (err: Error): void => {
      if (settled) return;
      const res = reader.end();
      if (res !== undefined) {
        finish(toResponse(res), false);
        return;
      }
      if (reused && !received && mayRetryStale && !this.closed) {
        // A kept-alive connection that died before any answer, most often closed by the server
        // as idle just as it was reused: once more on a fresh one, without the retry backoff.
        // (Exports are at least once: the server may have taken the request before it closed.)
        release(false);
        this.attempt(job, false);
        return;
      }
      finish(networkFailure(err), false);
    };
    const onError = (err: Error): void => onFailure(err);
    const onClose = (): void => {
      const err: NodeJS.ErrnoException = new Error('socket hang up');
      err.code = 'ECONNRESET';
      onFailure(err);
    };
    const timer = setTimeout(() => finish({ status: 'retryable', error: new Error('Request timed out') }, false), job.timeoutMillis);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.ref();
    socket.write(job.head, 'latin1');
    socket.write(job.body);
  }

  private connect(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    // Errors are answered by the attempt's listener; this one keeps an error between attempts
    // (an idle socket reset by the server) from being thrown as an unhandled 'error' event.
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
    });
    this.socket = socket;
    return socket;
  }
}

const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF = 1000;
const MAX_BACKOFF = 5000;
const BACKOFF_MULTIPLIER = 1.5;
const JITTER = 0.2;

/** Upstream's retry schedule around a transport (its RetryingTransport is not exported). */
export class RetryingTransport implements IExporterTransport {
  constructor(private readonly transport: IExporterTransport) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    let result = await this.transport.send(data, timeoutMillis);
    let attempts = MAX_ATTEMPTS;
    let nextBackoff = INITIAL_BACKOFF;
    while (result.status === 'retryable' && attempts > 0) {
      attempts--;
      const backoff = Math.max(Math.min(nextBackoff * (1 + (Math.random() * 2 * JITTER - JITTER)), MAX_BACKOFF), 0);
      nextBackoff *= BACKOFF_MULTIPLIER;
      const retryIn = result.retryInMillis ?? backoff;
      const remaining = deadline - Date.now();
      if (retryIn > remaining) return result;
      await new Promise((r) => setTimeout(r, retryIn));
      result = await this.transport.send(data, deadline - Date.now());
    }
    return result;
  }

  shutdown(): void {
    this.transport.shutdown();
  }
}

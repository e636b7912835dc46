// The request an error happened in, as otelkit's server instrumentation keeps it in the context
// (its RPC metadata): the server span, the route, req and res, and the errors a framework
// reported during the request, held until the response says whether they became a server error.
// Only what identifies the request without identifying a person is read from it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType, type RPCMetadata } from '@opentelemetry/core';
import type { Redactor } from '../redact/redactor';

/** An error a framework reported during a request; recorded, or not, when the response ends. */
export interface PendingError {
  error: unknown;
  source: string;
  timeMs: number;
}

/** otelkit's RPC metadata of an incoming HTTP request (instrument/http-server.ts makes it). */
export interface ServerRequestMetadata extends RPCMetadata {
  req?: IncomingMessage;
  res?: ServerResponse;
  /** Framework errors of the request not recorded yet; undefined for most requests. */
  errors: PendingError[] | undefined;
}

/** The server request of a context, when otelkit's server instrumentation made it. */
export function serverRequest(ctx: Context): ServerRequestMetadata | undefined {
  const rpc = getRPCMetadata(ctx) as ServerRequestMetadata | undefined;
  return rpc !== undefined && rpc.type === RPCType.HTTP && rpc.req !== undefined ? rpc : undefined;
}

/** The context a request's records are correlated with: its server span's. */
export function requestSpanContext(rpc: ServerRequestMetadata): Context {
  return rpc.span === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, rpc.span);
}

/**
 * Method, route, redacted path, status code (when the response has one) and user agent. Never
 * the client's address, headers, cookies, query string or body.
 */
export function requestAttributes(rpc: ServerRequestMetadata, redactor: Redactor, status: number | undefined, into: Record<string, unknown>): void {
  const req = rpc.req;
  if (req === undefined) return;
  if (typeof req.method === 'string') into['http.request.method'] = req.method;
  if (rpc.route) into['http.route'] = rpc.route;
  // Routers rewrite req.url below their mount path; express keeps the original beside it.
  const original = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
  const url = typeof original === 'string' ? original : (req.url ?? '/');
  const q = url.indexOf('?');
  into['url.path'] = redactor.redactUrl(q === -1 ? url : url.slice(0, q));
  if (status !== undefined) into['http.response.status_code'] = status;
  const ua = req.headers['user-agent'];
  if (typeof ua === 'string' && ua !== '') into['user_agent.original'] = redactor.redactString(ua);
}

/** The response's status code once it has been sent, else undefined. */
export function sentStatus(rpc: ServerRequestMetadata): number | undefined {
  const res = rpc.res;
  return res !== undefined && res.headersSent ? res.statusCode : undefined;
}

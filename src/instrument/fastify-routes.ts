// Fastify (4 and 5): the route of every request (http.route on the server span, its name and the
// duration metric's label) and the error of a failed request for error tracking. Fastify
// publishes each new instance on the diagnostics channel `fastify.initialization` (both majors),
// before the application can add anything to it; otelkit adds two hooks there. Nothing of
// fastify is wrapped or replaced, and the hooks only read: responses are fastify's own.
//
// Why not @fastify/otel (upstream's fastify instrumentation, 0.21.2): it depends on
// @opentelemetry/instrumentation ^0.222.0, a second copy beside otelkit's 0.223.0 pin, and
// minimatch; it makes a span for every hook and handler of every request (the cost otelkit
// avoids for express in production); and its route lands on the server span through the same
// RPC metadata this module sets.
import * as diagnosticsChannel from 'node:diagnostics_channel';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { Instrumentation, InstrumentationConfig } from '@opentelemetry/instrumentation';
import { reportOnce } from '../diag';
import { activeContext } from '../trace/context-access';

/** The parts of a fastify instance and request this module uses (public API of fastify 4 and 5). */
interface FastifyRequest {
  routeOptions?: { url?: string };
}
type Done = (err?: Error) => void;
interface FastifyInstance {
  addHook(name: 'onRequest', fn: (req: FastifyRequest, reply: unknown, done: Done) => void): unknown;
  addHook(name: 'onError', fn: (req: FastifyRequest, reply: unknown, error: unknown, done: Done) => void): unknown;
}

const CHANNEL = 'fastify.initialization';
const kRouted = Symbol.for('otelkit.fastify.routes');

/** Names the request's route on the server span's RPC metadata, read when the response closes. */
function onRequest(req: FastifyRequest, _reply: unknown, done: Done): void {
  try {
    const rpc = getRPCMetadata(activeContext());
    if (rpc?.type === RPCType.HTTP) {
      // routeOptions.url is the route's declared path with its prefix (/items/:id); undefined for
      // fastify's 404 handler, which has no route.
      const url = req.routeOptions?.url;
      if (url) rpc.route = url;
    }
  } catch (err) {
    // A getter of a future fastify that throws must not fail the request.
    reportOnce('fastify-route', 'fastify route not read; requests keep their method as span name', err);
  }
  done();
}

/** Where a request's error goes: error tracking's framework entry (errors/capture.ts). */
let reportError: ((err: unknown) => void) | undefined;

/**
 * Hands the error of a failed request to error tracking, which records it once the response
 * shows a server error (as express's and koa's). onError hooks run before fastify's error
 * handler sends the error response and cannot change it.
 */
function onError(_req: FastifyRequest, _reply: unknown, error: unknown, done: Done): void {
  if (reportError !== undefined) reportError(error);
  done();
}

function onInitialization(message: unknown): void {
  const fastify = (message as { fastify?: FastifyInstance & { [kRouted]?: true } } | null)?.fastify;
  if (!fastify || typeof fastify.addHook !== 'function' || fastify[kRouted]) return;
  try {
    fastify.addHook('onRequest', onRequest);
    fastify.addHook('onError', onError);
    Object.defineProperty(fastify, kRouted, { value: true });
  } catch (err) {
    reportOnce('fastify-hooks', 'fastify routes not instrumented: its hooks could not be added', err);
  }
}

/** Lazily enabled as the instrumentation `fastify` (loading/lazy-instrumentations.ts). */
export class FastifyRoutesInstrumentation implements Instrumentation {
  readonly instrumentationName = 'otelkit-fastify';
  readonly instrumentationVersion = '1';
  private config: InstrumentationConfig;
  private subscribed = false;

  constructor(config: InstrumentationConfig = {}) {
    this.config = config;
    if (config.enabled !== false) this.enable();
  }

  enable(): void {
    if (this.subscribed) return;
    diagnosticsChannel.subscribe(CHANNEL, onInitialization);
    this.subscribed = true;
  }

  disable(): void {
    if (!this.subscribed) return;
    diagnosticsChannel.unsubscribe(CHANNEL, onInitialization);
    this.subscribed = false;
  }

  // No spans or metrics of its own: the route goes to otelkit's server span, errors to error tracking.
  setTracerProvider(_provider: TracerProvider): void {}
  setMeterProvider(_provider: MeterProvider): void {}
  setConfig(config: InstrumentationConfig): void {
    this.config = config;
  }
  getConfig(): InstrumentationConfig {
    return this.config;
  }

  /** Where the errors of failed requests go (instrument/instrumentation-setup.ts). */
  reportErrorsTo(report: (err: unknown) => void): void {
    reportError = report;
  }
}

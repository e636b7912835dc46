// How otelkit sets up the instrumentations it loads: each one's configuration, and what is done
// to it the moment it is enabled (otelkit's own server spans for https, express layer spans, the
// shortcuts of the database instrumentations under a parent-based sampler). One place for every
// rule that names an instrumentation; the loading itself is loading/lazy-instrumentations.ts.
import * as http from 'node:http';
import { context, type Tracer } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { TracerProvider } from '@opentelemetry/sdk-trace';
import type { Config } from '../config/types';
import { winstonInstrumentationConfig } from '../logs/winston-instrumentation-config';
import { selectInstrumentations, type AfterActivate, type ConfigFor, type InstrumentationSpec } from '../loading/lazy-instrumentations';
import { databaseTracerProvider } from '../trace/database-tracer';
import type { SpanTarget } from '../trace/own-span';
import { FastifyRoutesInstrumentation } from './fastify-routes';
import { instrumentServer, type ServerInstrumentationOptions } from './http-server';
import { isOtelkitLogger } from '../logs/logger';
import { useOwnLayerWrapper } from './patches/express-layers';
import { captureExpressErrors } from './patches/express-errors';
import { trackWinstonErrors } from './patches/winston-errors';
import { captureKoaErrors } from './patches/koa-errors';
import type { LoggedErrorHook } from '../logs/logging-state';
import { guard } from '../diag';
import { koaUseChecksItsArgument } from './patches/koa-use';
import { leaveExpressLayersToExpress } from './patches/router-under-express';
import { sampledParentsOnly } from './patches/sampled-parents-only';
import { connectsOutsideRequestsUntraced } from './patches/pg-connections';
import { winstonLeavesLoggersAlone } from './patches/winston-loggers';

/** The instrumentations whose spans are the children of sampled requests' spans, under a parent-based sampler. */
const DATABASE_CLIENTS = new Set(['redis', 'ioredis', 'pg']);

export function instrumentationConfigs(config: Config): ConfigFor {
  return (name) => {
    switch (name) {
      case 'http':
        return {
          // Incoming requests are otelkit's own (http-server.ts); upstream keeps the client side.
          disableIncomingRequestInstrumentation: true,
          // Requests made with tracing suppressed (the exporters' own, a health check's) skip the
          // instrumentation altogether. It would otherwise compute their attributes, record their
          // duration and bind listener methods onto each request and response as own properties:
          // objects of new hidden classes running through Node's shared http and stream code,
          // which then turns polymorphic for every request the service serves.
          ignoreOutgoingRequestHook: () => isTracingSuppressed(context.active()),
        } as InstrumentationConfig;
      case 'pg':
        // Pool health checks and connection chatter outside a request are noise, not traces
        // (OTELKIT_PG_REQUIRE_PARENT_SPAN=false: upstream's root spans).
        return { requireParentSpan: config.instrumentations.pgRequireParentSpan } as InstrumentationConfig;
      case 'winston':
        return winstonInstrumentationConfig(config.logging);
      default:
        return undefined;
    }
  };
}

/**
 * otelkit's own server instrumentation of node:http, when the http instrumentation is selected.
 * node:http is already loaded (the admin server); https is patched when the application loads
 * it, by onInstrumentationEnabled.
 */
export function instrumentHttpServer(selected: readonly InstrumentationSpec[], serverOptions: ServerInstrumentationOptions): void {
  const httpSelected = selected.some((s) => s.name === 'http');
  if (httpSelected) instrumentServer(http.Server, 'http', serverOptions);
}

export interface EnableContext {
  serverOptions: ServerInstrumentationOptions;
  tracerProvider: TracerProvider;
  /** Whether tracerProvider is the global one (otelkit's spans may stand in for its tracers' then). */
  ours: boolean;
  /** Where each SDK tracer's spans go, if they can be started without it (own-span.ts). */
  target: (tracer: Tracer) => SpanTarget | undefined;
  /** Where frameworks' error paths report errors (error tracking); none: not captured. */
  reportError?: (err: unknown, source: string) => void;
  /** Where the application's winston loggers report `logger.error(err)` (error tracking). */
  loggedError?: LoggedErrorHook;
}

/** What is done to each instrumentation as the lazy loader enables it. */
export function onInstrumentationEnabled(config: Config, { serverOptions, tracerProvider, ours, target, reportError, loggedError }: EnableContext): AfterActivate {
  const sampler = config.traces.sampler.name;
  const dropsUnsampledChildren = sampler.startsWith('parentbased_') || sampler === 'always_off';
  const expressSelected = selectInstrumentations(config.instrumentations).some((s) => s.name === 'express');
  return (name, instrumentation) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (name === 'http') instrumentServer((require('node:https') as typeof import('node:https')).Server, 'https', serverOptions);
    // Express layer spans (middleware, routers, route handlers) only for sampled requests, and
    // none in production: there each would cost a span, its export and its serialisation for a
    // few microseconds of mostly fixed work (measured: 15% of the throughput of a fully sampled
    // hello world). Every request keeps its route, on the server span and the duration metric.
    if (name === 'express') useOwnLayerWrapper(instrumentation, { layerSpans: config.instrumentations.expressLayerSpans });
    if (name === 'express' && reportError !== undefined) captureExpressErrors(instrumentation, (err) => reportError(err, 'express'));
    if (name === 'koa' && reportError !== undefined) captureKoaErrors(instrumentation, (err) => reportError(err, 'koa'));
    if (name === 'fastify' && reportError !== undefined && instrumentation instanceof FastifyRoutesInstrumentation) instrumentation.reportErrorsTo((err) => reportError(err, 'fastify'));
    if (name === 'winston' && loggedError !== undefined) guard('winston-errors', 'tracking errors logged with winston', () => trackWinstonErrors(loggedError));
    // Their sockets neither: no orphan tcp.connect or dns.lookup roots (pg-connections.ts).
    if (name === 'pg' && config.instrumentations.pgRequireParentSpan) connectsOutsideRequestsUntraced(instrumentation);
    // The application's own koa and winston behave as they do without otelkit (see each patch).
    if (name === 'koa') koaUseChecksItsArgument(instrumentation);
    if (name === 'winston') winstonLeavesLoggersAlone(instrumentation, isOtelkitLogger);
    // Express 5's layers are express's to trace; the router instrumentation keeps routers used alone.
    if (name === 'router' && expressSelected) leaveExpressLayersToExpress(instrumentation);
    if (dropsUnsampledChildren) sampledParentsOnly(name, instrumentation);
    if (dropsUnsampledChildren && ours && DATABASE_CLIENTS.has(name)) instrumentation.setTracerProvider(databaseTracerProvider(tracerProvider, target));
  };
}

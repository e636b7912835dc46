// Composes the running SDK from the validated config: providers for the three signals, the
// lazily loaded instrumentations, the admin server and the shutdown handlers. This is the one
// place that wires modules together; each module does one thing.
import * as http from 'node:http';
import { context, propagation, trace, type Span, type Tracer } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchSpanProcessor, TracerProvider, type BatchSpanProcessorOptions, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Config } from './config/config';
import { emit, guard, handleSdkError, reportOnce } from './diag';
import { isTracingSuppressed, setGlobalErrorHandler } from '@opentelemetry/core';
import { buildResource } from './resource/resource';
import { buildPropagator, buildSampler, extractedHeaders } from './trace/sampling';
import { encodedSpanExporter, logExporter, spanExporter } from './export/exporters';
import { EncodingSpanProcessor } from './export/encoding-span-processor';
import { rootSpanStarter } from './trace/root-span';
import { spanLimits, type SpanTarget } from './trace/own-span';
import { leanTracerProvider } from './trace/database-tracer';
import { isReportedExportError, itemsDropped } from './export/export-status';
import { buildMetrics } from './metrics/meter-provider';
import { registerRuntimeMetrics } from './metrics/runtime-metrics';
import { instrumentServer, SERVER_TRACER } from './instrument/http-server';
import { useOwnLayerWrapper } from './instrument/patches/express-layers';
import { sampledParentsOnly } from './instrument/patches/sampled-parents-only';
import { HttpServerDuration } from './metrics/http-server-duration';
import { startAdminServer } from './health/admin-server';
import { useContextManager } from './trace/context-access';
import { esmHookTargets, installLazyInstrumentations, selectInstrumentations, targetPackages, type EsmHooks, type InstrumentationSpec } from './loading/lazy-instrumentations';
import { registerEsmLoader } from './loading/esm-hooks';
import { firstEsmPackage } from './loading/esm-packages';
import { bounded, installShutdownHandlers } from './lifecycle/shutdown';
import { createRedactor, type Redactor } from './redact/redactor';
import { RedactingSpanProcessor } from './redact/span-processor';
import { RedactingLogRecordProcessor } from './redact/log-record-processor';
import { ownRecordSink } from './logs/otlp-bridge';
import { getLogger } from './logs/logger';
import { flushLogging, initLogging } from './logs/setup';
import { winstonInstrumentationConfig } from './logs/winston-instrumentation-config';
import { health } from './health/instance';
import { VERSION } from './version';
import { shareBundledPackages } from './loading/bundled-packages';

interface Running {
  config: Config;
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
  loggerProvider: LoggerProvider;
  admin?: http.Server;
  stopped: boolean;
}

let running: Running | undefined;
let pending = 0;

/** Counts what was recorded, so beforeExit flushes only when there is something new. */
class PendingCounter implements SpanProcessor {
  onStart(): void {}
  onEnd(span: { spanContext(): { traceFlags: number } }): void {
    if (span.spanContext().traceFlags & 1) pending++;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** BatchSpanProcessor that counts the spans its full queue refuses. */
class CountingBatchSpanProcessor extends BatchSpanProcessor {
  private readonly max: number;
  constructor(options: BatchSpanProcessorOptions) {
    super(options);
    this.max = options.maxQueueSize ?? 2048;
  }
  override onEnd(span: Parameters<BatchSpanProcessor['onEnd']>[0]): void {
    // _finishedSpans is the processor's queue; not public, so read defensively.
    const queue = (this as unknown as { _finishedSpans?: unknown[] })._finishedSpans;
    if (queue && queue.length >= this.max && span.spanContext().traceFlags & 1) itemsDropped('traces', 1);
    super.onEnd(span);
  }
}

/**
 * The scope object of one of the provider's tracers: the span queue batches spans by it, so a
 * span started without the tracer must carry the same object. The SDK's Tracer has it as a
 * public field the API's interface does not declare. Without it, spans stay the SDK tracer's.
 */
function tracerScope(tracer: Tracer): SpanTarget['scope'] | undefined {
  return (tracer as { instrumentationScope?: SpanTarget['scope'] }).instrumentationScope;
}

/** The instrumentations whose spans are the children of sampled requests' spans, under a parent-based sampler. */
const LEAN_CHILDREN = new Set(['redis', 'ioredis', 'pg']);

function instrumentationConfigs(config: Config): (name: string) => InstrumentationConfig | undefined {
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
        // Pool health checks and connection chatter outside a request are noise, not traces.
        return { requireParentSpan: true } as InstrumentationConfig;
      case 'winston':
        return winstonInstrumentationConfig(config.logging) as InstrumentationConfig;
      default:
        return undefined;
    }
  };
}

function startLine(config: Config, enabledNow: string[], esm: EsmHooks): Record<string, unknown> {
  const endpoint = (o: Config['traces']['otlp']) => ({
    endpoint: o.endpoint,
    protocol: o.protocol,
    ...(Object.keys(o.headers).length ? { headers: Object.fromEntries(Object.keys(o.headers).map((k) => [k, '[REDACTED]'])) } : {}),
  });
  return {
    version: VERSION,
    service: config.serviceName,
    environment: config.environment,
    traces: config.traces.exporter === 'otlp' ? { exporter: 'otlp', ...endpoint(config.traces.otlp) } : { exporter: config.traces.exporter },
    metrics: {
      exporters: config.metrics.exporters,
      admin: `${config.admin.host}:${config.admin.port}`,
      ...(config.metrics.exporters.includes('otlp') ? { otlp: endpoint(config.metrics.otlp) } : {}),
    },
    logs: config.logs.exporter === 'otlp' ? { exporter: 'otlp', ...endpoint(config.logs.otlp) } : { exporter: config.logs.exporter },
    sampler: config.traces.sampler.name.endsWith('traceidratio') ? `${config.traces.sampler.name}(${config.traces.sampler.ratio})` : config.traces.sampler.name,
    esm_hooks: esm.kind === 'none' ? false : esm.kind,
    instrumentations_at_start: enabledNow,
  };
}

function recordCrash(error: unknown, origin: string): void {
  const span: Span | undefined = trace.getActiveSpan();
  const err = error instanceof Error ? error : new Error(String(error));
  if (span) {
    span.recordException(err);
    span.setStatus({ code: 2, message: err.message });
  }
  getLogger('otelkit').error(origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception', err);
}

/** The bridge, unless an installed instrumented package is ES module code: that takes the loader. */
function esmHooks(selected: readonly InstrumentationSpec[], entryDir: string): EsmHooks {
  const packages = targetPackages(selected);
  let esmPackage: string | undefined;
  try {
    esmPackage = firstEsmPackage(packages, entryDir);
  } catch (err) {
    reportOnce('esm-packages', 'could not inspect the installed packages; the ESM loader hook is registered', err);
    esmPackage = '(unknown)';
  }
  const bridge: EsmHooks = { kind: 'bridge', fromDir: entryDir, packages };
  if (esmPackage === undefined) return bridge;
  emit('debug', `${esmPackage} loads as an ES module: registering the import-in-the-middle loader`);
  return registerEsmLoader(esmHookTargets(selected)) ? { kind: 'loader' } : bridge;
}

/** Builds and starts everything; called once by start() with a config that is not disabled. */
export function compose(config: Config, esmRequested: boolean): void {
  if (running) return;
  running = build(config, esmRequested);
}

function build(config: Config, esmRequested: boolean): Running {
  // Before anything requires the installed OpenTelemetry packages: instrumentations, exporters.
  guard('shared-packages', 'sharing the bundled OpenTelemetry packages', () => shareBundledPackages());
  const redactor: Redactor = createRedactor(config.redact);
  health.configure({ timeoutMs: config.healthTimeoutMs, redact: (m: string) => redactor.redactString(m) });
  const resource = buildResource(config);

  const selected = selectInstrumentations(config.instrumentations);
  // Decided (and a loader registered) first: it must be in place before the application's imports.
  const esm: EsmHooks = esmRequested && config.entryIsEsm ? esmHooks(selected, config.entryDir) : { kind: 'none' };

  setGlobalErrorHandler((err) => handleSdkError(err, isReportedExportError));
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(contextManager)) useContextManager(contextManager);
  propagation.setGlobalPropagator(buildPropagator(config.propagators));

  const httpDuration = new HttpServerDuration();
  httpDuration.enabled = config.metrics.exporters.length > 0;
  const { provider: meterProvider, prometheus } = buildMetrics(config, resource, [httpDuration]);

  const spanProcessors: SpanProcessor[] = [new RedactingSpanProcessor(redactor), new PendingCounter()];
  const batch = config.traces.batch;
  if (config.traces.exporter === 'otlp' && config.traces.otlp.protocol === 'http/protobuf') {
    // The default export: spans encoded as they end (span-queue.ts).
    spanProcessors.push(new EncodingSpanProcessor({
      exporter: encodedSpanExporter(config.traces.otlp),
      maxQueueSize: batch.maxQueueSize,
      maxExportBatchSize: batch.maxExportBatchSize,
      exportTimeoutMillis: batch.exportTimeoutMs,
      scheduledDelayMillis: batch.scheduleDelayMs,
      meter: meterProvider.getMeter('@opentelemetry/sdk-trace'),
    }));
  } else if (config.traces.exporter !== 'none') {
    spanProcessors.push(new CountingBatchSpanProcessor({
      exporter: spanExporter(config.traces.exporter, config.traces.otlp),
      maxQueueSize: batch.maxQueueSize,
      maxExportBatchSize: batch.maxExportBatchSize,
      exportTimeoutMillis: batch.exportTimeoutMs,
      scheduledDelayMillis: batch.scheduleDelayMs,
      selfObsMeterProvider: meterProvider,
    }));
  }
  const limits = spanLimits(config.traces.limits);
  const tracerProvider = new TracerProvider({
    resource,
    sampler: buildSampler(config.traces.sampler),
    spanLimits: limits,
    spanProcessors,
  });
  // Requests' root spans are decided and started here only when they are this provider's, with
  // its sampler, limits and processors, under its tracer's scope.
  const ours = trace.setGlobalTracerProvider(tracerProvider);
  const target = (tracer: Tracer): SpanTarget | undefined => {
    const scope = tracerScope(tracer);
    return scope === undefined ? undefined : { resource, scope, limits, processors: spanProcessors };
  };
  const serverTarget = ours ? target(tracerProvider.getTracer(SERVER_TRACER, VERSION)) : undefined;
  const startRoot = serverTarget === undefined ? undefined : rootSpanStarter(config.traces.sampler, serverTarget);

  const logBatch = config.logs.exporter === 'none' ? undefined : new BatchLogRecordProcessor({
    exporter: logExporter(config.logs.exporter, config.logs.otlp),
    maxQueueSize: config.logs.batch.maxQueueSize,
    maxExportBatchSize: config.logs.batch.maxExportBatchSize,
    exportTimeoutMillis: config.logs.batch.exportTimeoutMs,
    scheduledDelayMillis: config.logs.batch.scheduleDelayMs,
    selfObsMeterProvider: meterProvider,
  });
  const loggerProvider = new LoggerProvider({
    resource,
    logRecordLimits: config.logs.limits,
    processors: logBatch ? [new RedactingLogRecordProcessor(redactor), logBatch] : [],
  });
  logs.setGlobalLoggerProvider(loggerProvider);

  // The admin server requires node:http before the lazy hooks exist, so serving /metrics does
  // not by itself load the http (client) instrumentation at start.
  const admin = guard('admin', 'starting the admin server', () =>
    startAdminServer(config.admin.host, config.admin.port, {
      metrics: prometheus?.handle,
      livez: health.livez,
      readyz: health.readyz,
    }),
  );

  initLogging(config.logging, { serviceName: config.serviceName, redactor, sink: logBatch ? ownRecordSink(resource, logBatch) : undefined });

  const serverOptions = { ignorePaths: config.ignorePaths, ignoreServer: () => admin, duration: httpDuration, extractHeaders: extractedHeaders(config.propagators), startRoot };
  const httpSelected = selected.some((s) => s.name === 'http');
  // node:http is already loaded (the admin server); https is patched when the application loads it.
  if (httpSelected) instrumentServer(http.Server, 'http', serverOptions);
  const sampler = config.traces.sampler.name;
  const dropsUnsampledChildren = sampler.startsWith('parentbased_') || sampler === 'always_off';
  const enabledNow = installLazyInstrumentations(selected, instrumentationConfigs(config), (name, instrumentation) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (name === 'http') instrumentServer((require('node:https') as typeof import('node:https')).Server, 'https', serverOptions);
    // Express layer spans (middleware, routers, route handlers) only for sampled requests, and
    // none in production: there each would cost a span, its export and its serialisation for a
    // few microseconds of mostly fixed work (measured: 15% of the throughput of a fully sampled
    // hello world). Every request keeps its route, on the server span and the duration metric.
    if (name === 'express') useOwnLayerWrapper(instrumentation, { layerSpans: config.environment !== 'production' });
    if (dropsUnsampledChildren) sampledParentsOnly(name, instrumentation);
    if (dropsUnsampledChildren && ours && LEAN_CHILDREN.has(name)) instrumentation.setTracerProvider(leanTracerProvider(tracerProvider, target));
  }, esm);
  // Runtime metrics are otelkit's own but answer to the upstream instrumentation's name.
  const runtime = config.instrumentations;
  const runtimeOn = !runtime.disabled.includes('runtime-node') && (!runtime.enabled || runtime.enabled.includes('runtime-node'));
  if (runtimeOn && config.metrics.exporters.length > 0) guard('runtime-metrics', 'enabling Node runtime metrics', () => registerRuntimeMetrics(meterProvider));

  installShutdownHandlers({
    timeoutMs: config.shutdownTimeoutMs,
    onShutdownStart: () => health.markShuttingDown(),
    flush: () => flush(),
    shutdown: () => shutdown(),
    hasPending: () => pending > 0,
    recordCrash,
  });
  const state: Running = { config, tracerProvider, meterProvider, loggerProvider, admin, stopped: false };

  if (config.diagLevel !== 'none') {
    // Printed whatever OTEL_LOG_LEVEL says (unless none): which configuration a process runs
    // with is the first thing an operator needs.
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', name: 'otelkit', msg: 'otelkit started', ...startLine(config, enabledNow, esm) }) + '\n');
  }
  return state;
}

/** Flushes every signal; the SDK keeps running. */
export async function flush(): Promise<void> {
  const r = running;
  if (!r || r.stopped) return;
  pending = 0;
  await Promise.allSettled([
    flushLogging(r.config.shutdownTimeoutMs),
    r.loggerProvider.forceFlush(),
    r.tracerProvider.forceFlush(),
    r.meterProvider.forceFlush(),
  ]);
}

/** Flushes and stops the SDK, bounded by OTELKIT_SHUTDOWN_TIMEOUT_MS. Safe to call twice. */
export async function shutdown(): Promise<void> {
  const r = running;
  if (!r || r.stopped) return;
  r.stopped = true;
  health.markShuttingDown();
  pending = 0;
  const work = (async () => {
    await flushLogging(r.config.shutdownTimeoutMs).catch(() => {});
    await Promise.allSettled([r.tracerProvider.shutdown(), r.loggerProvider.shutdown(), r.meterProvider.shutdown()]);
    r.admin?.close();
  })();
  await bounded(work, r.config.shutdownTimeoutMs, 'otelkit shutdown');
}

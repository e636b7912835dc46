// Composes the running SDK from the validated config: providers for the three signals, the
// lazily loaded instrumentations, the admin server and the shutdown handlers. This is the one
// place that wires modules together, and it holds no policy of its own: no classes, no rule
// naming an instrumentation, no constants. Each step below calls the module that decides; the
// order of the steps is the one thing decided here, and it matters (see the comments).
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import type { Config } from './config/types';
import { printStartLine } from './config/summary';
import { guard, handleSdkError } from './diag';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { buildResource } from './resource/resource';
import { buildSampler } from './trace/sampler';
import { buildPropagator } from './trace/propagators';
import { logExporter } from './export/exporters';
import { spanExportProcessor } from './export/span-export-processor';
import { rootSpanStarter } from './trace/root-span';
import { spanLimits, tracerScope, type SpanTarget } from './trace/own-span';
import { isReportedExportError } from './export/export-status';
import { buildMetrics } from './metrics/meter-provider';
import { SERVER_TRACER } from './instrument/http-server';
import { instrumentationConfigs, instrumentHttpServer, onInstrumentationEnabled } from './instrument/instrumentation-setup';
import { registerRuntimeMetrics, runtimeMetricsEnabled } from './metrics/runtime-metrics';
import { HttpServerDuration } from './metrics/http-server-duration';
import type { Server } from 'node:http';
import { useContextManager } from './trace/context-access';
import { installLazyInstrumentations, selectInstrumentations } from './loading/lazy-instrumentations';
import { chooseEsmHooks } from './loading/esm-hook-choice';
import { installShutdownHandlers } from './lifecycle/shutdown';
import { PendingCounter, hasPendingWork } from './lifecycle/pending-work';
import { recordUncaught } from './lifecycle/crash';
import { pendingLogRequests, pendingSpanRequests } from './export/pending-requests';
import { onFirstTurn } from './lifecycle/first-turn';
import { adminPlacement } from './health/admin-placement';
import { flush, isRunning, setRunning, shutdown, type RunningSdk } from './lifecycle/running-sdk';
import { createRedactor, type Redactor } from './redact/redactor';
import { RedactingSpanProcessor } from './redact/span-processor';
import { RedactingLogRecordProcessor } from './redact/log-record-processor';
import { redactResource } from './redact/resource-redaction';
import { ownRecordSink } from './logs/otlp-bridge';
import { initLogging } from './logs/setup';
import { health } from './health/instance';
import { VERSION } from './version';
import { shareBundledPackages } from './loading/bundled-packages';
import { configureErrorCapture, loggedError, reportRequestError, settleRequestErrors } from './errors/capture';
import { OWN_SCOPE_VERSION } from './redact/log-record-processor';

/** Builds and starts everything; called once by start() with a config that is not disabled. */
export function compose(config: Config, esmRequested: boolean): void {
  if (isRunning()) return;
  setRunning(build(config, esmRequested));
}

function build(config: Config, esmRequested: boolean): RunningSdk {
  // Before anything requires the installed OpenTelemetry packages: instrumentations, exporters.
  guard('shared-packages', 'sharing the bundled OpenTelemetry packages', () => shareBundledPackages());

  // Redactor and resource.
  const redactor: Redactor = createRedactor(config.redact);
  health.configure({ timeoutMs: config.healthTimeoutMs, redact: (m: string) => redactor.redactString(m) });
  const resource = redactResource(buildResource(config), redactor);

  // ESM hooks. Decided (and a loader registered) first: it must be in place before the
  // application's imports.
  const selected = selectInstrumentations(config.instrumentations);
  const esm = chooseEsmHooks(selected, esmRequested, config);

  // Context manager and propagators.
  setGlobalErrorHandler((err) => handleSdkError(err, isReportedExportError));
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(contextManager)) useContextManager(contextManager);
  propagation.setGlobalPropagator(buildPropagator(config.propagators));

  // Meters.
  const httpDuration = new HttpServerDuration();
  httpDuration.enabled = config.metrics.exporters.length > 0;
  const { provider: meterProvider, prometheus } = buildMetrics(config, resource, httpDuration);

  // Span processors, in their order: redaction, the pending-work count, the export.
  const spanProcessors: SpanProcessor[] = [new RedactingSpanProcessor(redactor), new PendingCounter()];
  const exportProcessor = spanExportProcessor(config.traces, meterProvider);
  if (exportProcessor) spanProcessors.push(exportProcessor);

  // Tracer provider.
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

  // Logger provider.
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

  // Error tracking: exception records through otelkit's logger provider, counted on its meters.
  const errorLogger = loggerProvider.getLogger('otelkit.errors', OWN_SCOPE_VERSION);
  guard('error-capture', 'setting up error tracking', () =>
    configureErrorCapture({
      redactor,
      meter: meterProvider.getMeter('otelkit', VERSION),
      emit: (record) => errorLogger.emit(record),
      recordsPerMinute: config.errors.recordsPerMinute,
      appRoot: config.errors.appRoot,
      serviceVersion: config.serviceVersion,
      environment: config.environment,
    }),
  );

  // Logging.
  initLogging(config.logging, { serviceName: config.serviceName, redactor, sink: logBatch ? ownRecordSink(resource, logBatch, config.logs.limits) : undefined, onError: loggedError });

  // HTTP server.
  let admin: Server | undefined;
  const serverOptions = { ignorePaths: config.ignorePaths, ignoreServer: () => admin, duration: httpDuration, startRoot, settleErrors: settleRequestErrors };
  instrumentHttpServer(selected, serverOptions);

  // Lazy instrumentations.
  const enabledNow = installLazyInstrumentations(selected, instrumentationConfigs(config), onInstrumentationEnabled(config, { serverOptions, tracerProvider, ours, target, reportError: reportRequestError, loggedError }), esm);

  // Runtime metrics. At start, not on the first turn: the garbage collections of the
  // application's own loading are part of what they report.
  if (runtimeMetricsEnabled(config)) guard('runtime-metrics', 'enabling Node runtime metrics', () => registerRuntimeMetrics(meterProvider));

  // Shutdown handlers.
  installShutdownHandlers({
    timeoutMs: config.shutdownTimeoutMs,
    onShutdownStart: () => health.markShuttingDown(),
    flush: (options) => flush(options),
    shutdown: () => shutdown(),
    hasPending: () => hasPendingWork(),
    recordUncaught,
    takePending: () => [...pendingSpanRequests(exportProcessor, config.traces.exporter, config.traces.otlp), ...pendingLogRequests(logBatch, config.logs.exporter, config.logs.otlp)],
  });
  const state: RunningSdk = { config, tracerProvider, meterProvider, loggerProvider, stopped: false };

  // Where the admin endpoints are served (a cluster worker: by its primary); decided now for the
  // start line.
  const placement = adminPlacement(config.admin);

  // Admin server, on the event loop's first turn (lifecycle/first-turn.ts); its module is loaded
  // only then. Not if a crash or a signal stopped the SDK meanwhile.
  onFirstTurn('admin', 'starting the admin server', () => {
    if (state.stopped) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startAdmin } = require('./health/admin-server') as typeof import('./health/admin-server');
    state.admin = admin = startAdmin({ placement, healthTimeoutMs: config.healthTimeoutMs, silent: config.diagLevel === 'none', prometheus, health });
  });

  // Start line.
  printStartLine(config, { instrumentations: enabledNow, esmHooks: esm.kind, admin: placement.address });
  return state;
}

// loadConfig: the only module that reads the environment (process.env, with start()'s overrides).
// Everything downstream receives the validated, typed Config object built here; an invalid value
// becomes one warning and its fallback. The known values and the defaults live here too.
import { entryDir, entryIsEsm, findAppPackage } from './app-package';
import { EnvReader, parseKeyValueList, splitSendableHeaders, parseListenHost, parseLogLevel, parseLogLevelSpec, parseSize, parseUrl, splitList } from './env-reader';
import type {
  BatchConfig, Config, DiagLevelName, Env, LoadContext, LoadedConfig, LoggingConfig, LogLevel, OtlpConfig, OtlpProtocol,
  SamplerName, Signal,
} from './types';

/** Every instrumentation otelkit knows, by its OTEL_NODE_ENABLED_INSTRUMENTATIONS short name. */
export const KNOWN_INSTRUMENTATIONS: readonly string[] = [
  'amqplib', 'aws-lambda', 'aws-sdk', 'bunyan', 'cassandra-driver', 'connect', 'cucumber',
  'dataloader', 'dns', 'express', 'fastify', 'fs', 'generic-pool', 'graphql', 'grpc', 'hapi', 'http',
  'ioredis', 'kafkajs', 'knex', 'koa', 'lru-memoizer', 'memcached', 'mongodb', 'mongoose',
  'mysql', 'mysql2', 'nestjs-core', 'net', 'openai', 'oracledb', 'pg', 'pino', 'redis', 'restify',
  'router', 'runtime-node', 'socket.io', 'tedious', 'undici', 'winston',
];

const KNOWN_DETECTORS = ['env', 'host', 'os', 'process', 'serviceinstance', 'container', 'alibaba', 'aws', 'azure', 'gcp'];
// container reads two files under /proc, as host reads /etc/machine-id: no network, no wait.
const DEFAULT_DETECTORS = ['env', 'host', 'os', 'process', 'serviceinstance', 'container'];
const KNOWN_PROPAGATORS = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none'];
const DIAG_LEVELS: readonly DiagLevelName[] = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'];
const SAMPLERS: readonly SamplerName[] = [
  'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio',
];
const DEFAULT_IGNORE_PATHS = ['/livez', '/readyz', '/healthz', '/metrics', '/favicon.ico'];

const SIGNAL_PATH: Record<Signal, string> = { traces: 'v1/traces', metrics: 'v1/metrics', logs: 'v1/logs' };

/**
 * The signal's path appended to the base endpoint's path: before its query and fragment, so
 * `http://h/?api_key=k` gives `http://h/v1/traces?api_key=k` (upstream's string append would put
 * the path inside the query).
 */
export function withSignalPath(base: string, path: string): string {
  const cut = base.search(/[?#]/);
  const head = cut < 0 ? base : base.slice(0, cut);
  const tail = cut < 0 ? '' : base.slice(cut);
  return `${head.replace(/\/+$/, '')}/${path}${tail}`;
}

function readOtlp(r: EnvReader, signal: Signal): OtlpConfig {
  const S = signal.toUpperCase();
  const protocols: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
  const generalProtocol = r.oneOf('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/protobuf', protocols);
  const protocol = r.oneOf(`OTEL_EXPORTER_OTLP_${S}_PROTOCOL`, generalProtocol, protocols);
  const defaultBase = protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318';

  const base = r.read('OTEL_EXPORTER_OTLP_ENDPOINT', defaultBase, parseUrl);
  const fromBase = protocol === 'grpc' ? base : withSignalPath(base, SIGNAL_PATH[signal]);
  const endpoint = r.read(`OTEL_EXPORTER_OTLP_${S}_ENDPOINT`, fromBase, parseUrl);

  const showHeaders = (h: Record<string, string>) => Object.keys(h).map((k) => `${k}=[REDACTED]`).join(',');
  const readHeaders = (variable: string): Record<string, string> => {
    const { good, bad } = splitSendableHeaders(r.read(variable, {}, parseKeyValueList, showHeaders));
    if (bad.length > 0) {
      const kept = Object.keys(good).join(',') || 'none';
      r.warn(variable, r.raw(variable) ?? '', `the other headers (${kept})`,
        `header ${bad.map((b) => JSON.stringify(b)).join(', ')} has a line break, a control character or a character outside Latin-1, which an HTTP header cannot carry; dropped`);
      r.override(variable, showHeaders(good), 'fallback');
    }
    return good;
  };
  const headers = { ...readHeaders('OTEL_EXPORTER_OTLP_HEADERS'), ...readHeaders(`OTEL_EXPORTER_OTLP_${S}_HEADERS`) };
  const timeoutMs = r.ms(`OTEL_EXPORTER_OTLP_${S}_TIMEOUT`, r.ms('OTEL_EXPORTER_OTLP_TIMEOUT', 10000, 1), 1);
  const compression = r.oneOf(
    `OTEL_EXPORTER_OTLP_${S}_COMPRESSION`,
    r.oneOf('OTEL_EXPORTER_OTLP_COMPRESSION', 'none', ['gzip', 'none'] as const),
    ['gzip', 'none'] as const,
  );
  // Files read by the exporter when it is made (first export), as upstream reads them.
  const file = (name: string): string | undefined => r.read(`OTEL_EXPORTER_OTLP_${S}_${name}`, r.read(`OTEL_EXPORTER_OTLP_${name}`, '', (raw) => raw), (raw) => raw) || undefined;
  const tlsFiles = { certificate: file('CERTIFICATE'), clientKey: file('CLIENT_KEY'), clientCertificate: file('CLIENT_CERTIFICATE') };
  return { endpoint, protocol, headers, timeoutMs, compression, tlsFiles };
}

function readBatch(r: EnvReader, prefix: 'OTEL_BSP' | 'OTEL_BLRP', scheduleDelayMs: number): BatchConfig {
  const maxQueueSize = r.int(`${prefix}_MAX_QUEUE_SIZE`, 2048, 1);
  const batchVar = `${prefix}_MAX_EXPORT_BATCH_SIZE`;
  const batchSet = r.raw(batchVar) !== undefined;
  // The default batch quietly follows a smaller queue; an explicit one larger than the queue is an error.
  let maxExportBatchSize = r.int(batchVar, Math.min(512, maxQueueSize), 1);
  if (maxExportBatchSize > maxQueueSize) {
    if (batchSet) r.warn(batchVar, String(maxExportBatchSize), String(maxQueueSize), `larger than ${prefix}_MAX_QUEUE_SIZE`);
    maxExportBatchSize = maxQueueSize;
    r.override(batchVar, String(maxQueueSize), 'fallback');
  }
  return {
    scheduleDelayMs: r.ms(`${prefix}_SCHEDULE_DELAY`, scheduleDelayMs, 0),
    exportTimeoutMs: r.ms(`${prefix}_EXPORT_TIMEOUT`, 30000, 1),
    maxQueueSize,
    maxExportBatchSize,
  };
}

/**
 * start()'s environment: the process's, under the caller's overrides (`start({ env })`);
 * `serviceName`, the shorthand for OTEL_SERVICE_NAME, wins over both.
 */
export function envWithOverrides(overrides: Env | undefined, serviceName: string | undefined): Env {
  const env = { ...process.env, ...overrides };
  if (serviceName) env.OTEL_SERVICE_NAME = serviceName;
  return env;
}

export function loadConfig(env: Env = process.env, ctx: LoadContext = {}): LoadedConfig {
  const r = new EnvReader(env);

  const disabled = r.bool('OTEL_SDK_DISABLED', false);
  const resourceAttributes = r.read('OTEL_RESOURCE_ATTRIBUTES', {}, parseKeyValueList, (a) => Object.keys(a).join(','));

  const environment = r.read(
    'OTELKIT_ENVIRONMENT',
    r.raw('NODE_ENV') ?? resourceAttributes['deployment.environment.name'] ?? 'production',
    (raw) => raw,
  );
  const production = environment === 'production';

  const appPkg = findAppPackage(ctx);
  const serviceName = r.read(
    'OTEL_SERVICE_NAME',
    resourceAttributes['service.name'] ?? appPkg.name ?? 'unknown_service:node',
    (raw) => raw,
  );
  const serviceVersion = resourceAttributes['service.version'] ?? appPkg.version;

  const sampler = r.oneOf('OTEL_TRACES_SAMPLER', 'parentbased_traceidratio', SAMPLERS);
  const defaultRatio = production ? 0.1 : 1.0;
  const ratio = sampler.endsWith('traceidratio')
    ? r.read('OTEL_TRACES_SAMPLER_ARG', defaultRatio, (raw) => {
        const n = Number(raw);
        if (!Number.isFinite(n) || n < 0 || n > 1) throw 'expected a ratio from 0 to 1';
        return n;
      })
    : 1;

  const metricsExporters = r.list('OTEL_METRICS_EXPORTER', ['prometheus'], ['prometheus', 'otlp', 'console', 'none']);
  const logsExporter = r.oneOf('OTEL_LOGS_EXPORTER', 'otlp', ['otlp', 'console', 'none'] as const);

  const enabledRaw = r.raw('OTEL_NODE_ENABLED_INSTRUMENTATIONS');
  // A list of only unknown names must not switch every instrumentation off: keep the default.
  const allButFs = ['all but fs'];
  const listed = enabledRaw === undefined ? allButFs : r.list('OTEL_NODE_ENABLED_INSTRUMENTATIONS', allButFs, KNOWN_INSTRUMENTATIONS);
  const enabled = listed === allButFs ? undefined : listed;
  if (enabledRaw === undefined) r.record('OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'all but fs', 'default');
  const disabledInstr = r.list('OTEL_NODE_DISABLED_INSTRUMENTATIONS', [], KNOWN_INSTRUMENTATIONS);

  const defaultLogLevel: LogLevel = environment === 'development' ? 'debug' : 'info';
  const levelSpec = r.read('OTELKIT_LOG_LEVEL', parseLogLevelSpec(defaultLogLevel, defaultLogLevel), (raw) =>
    parseLogLevelSpec(raw, defaultLogLevel),
    (spec) => [spec.defaultLevel, ...spec.map((l) => `${l.name}=${l.level}`)].join(','),
  );
  const logFile = r.read('OTELKIT_LOG_FILE', '', (raw) => raw);
  const logging: LoggingConfig = {
    level: levelSpec.defaultLevel ?? defaultLogLevel,
    levels: [...levelSpec],
    format: r.oneOf('OTELKIT_LOG_FORMAT', ctx.stdoutIsTTY ? 'pretty' : 'json', ['json', 'pretty'] as const),
    captureConsole: r.bool('OTELKIT_CAPTURE_CONSOLE', false),
    bridge: logsExporter !== 'none',
  };
  const fileLevel = r.read('OTELKIT_LOG_FILE_LEVEL', 'warn', parseLogLevel);
  const maxSizeBytes = r.read('OTELKIT_LOG_FILE_MAX_SIZE', 10 * 1024 * 1024, parseSize, (n) => `${n} bytes`);
  const maxFiles = r.int('OTELKIT_LOG_FILE_MAX_FILES', 5, 1, 1000);
  if (logFile) logging.file = { path: logFile, level: fileLevel, maxSizeBytes, maxFiles };

  const ignorePaths = r.read('OTELKIT_IGNORE_PATHS', DEFAULT_IGNORE_PATHS, (raw) => {
    const paths = splitList(raw);
    const bad = paths.find((p) => !p.startsWith('/'));
    if (bad !== undefined) throw `path ${JSON.stringify(bad)} does not start with /`;
    return paths;
  }, (p) => p.join(','));

  const config: Config = {
    disabled,
    entryIsEsm: entryIsEsm(ctx.mainScript, appPkg.type),
    entryDir: entryDir(ctx),
    serviceName,
    serviceVersion,
    environment,
    resourceAttributes,
    resourceDetectors: (() => {
      const d = r.list('OTEL_NODE_RESOURCE_DETECTORS', DEFAULT_DETECTORS, [...KNOWN_DETECTORS, 'all', 'none']);
      if (d.includes('none')) return [];
      if (d.includes('all')) return [...KNOWN_DETECTORS];
      return d;
    })(),
    diagLevel: r.oneOf('OTEL_LOG_LEVEL', 'warn', DIAG_LEVELS),
    propagators: r.list('OTEL_PROPAGATORS', ['tracecontext', 'baggage'], KNOWN_PROPAGATORS).filter((p) => p !== 'none'),
    traces: {
      exporter: r.oneOf('OTEL_TRACES_EXPORTER', 'otlp', ['otlp', 'console', 'none'] as const),
      otlp: readOtlp(r, 'traces'),
      sampler: { name: sampler, ratio },
      batch: readBatch(r, 'OTEL_BSP', 5000),
      limits: {
        attributeValueLengthLimit: r.optionalInt('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', 1, r.optionalInt('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 1)),
        attributeCountLimit: r.optionalInt('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 1, r.optionalInt('OTEL_ATTRIBUTE_COUNT_LIMIT', 1)),
        eventCountLimit: r.optionalInt('OTEL_SPAN_EVENT_COUNT_LIMIT', 0),
        linkCountLimit: r.optionalInt('OTEL_SPAN_LINK_COUNT_LIMIT', 0),
        attributePerEventCountLimit: r.optionalInt('OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT', 0),
        attributePerLinkCountLimit: r.optionalInt('OTEL_LINK_ATTRIBUTE_COUNT_LIMIT', 0),
      },
    },
    metrics: {
      exporters: metricsExporters.filter((e): e is 'prometheus' | 'otlp' | 'console' => e !== 'none'),
      otlp: readOtlp(r, 'metrics'),
      exportIntervalMs: r.ms('OTEL_METRIC_EXPORT_INTERVAL', 60000, 100),
      exportTimeoutMs: r.ms('OTEL_METRIC_EXPORT_TIMEOUT', 30000, 1),
      temporality: r.oneOf('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', 'cumulative', ['cumulative', 'delta', 'lowmemory'] as const),
    },
    logs: {
      exporter: logsExporter,
      otlp: readOtlp(r, 'logs'),
      batch: readBatch(r, 'OTEL_BLRP', 1000),
      limits: {
        attributeValueLengthLimit: r.optionalInt('OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT', 1, r.optionalInt('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 1)),
        attributeCountLimit: r.optionalInt('OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT', 1, r.optionalInt('OTEL_ATTRIBUTE_COUNT_LIMIT', 1)),
      },
    },
    admin: {
      host: r.read('OTEL_EXPORTER_PROMETHEUS_HOST', '0.0.0.0', parseListenHost),
      port: r.int('OTEL_EXPORTER_PROMETHEUS_PORT', 9464, 0, 65535),
      // PM2 numbers the instances of an app 0..n-1 in NODE_APP_INSTANCE (health/admin-server.ts).
      pm2Instance: r.optionalInt('NODE_APP_INSTANCE', 0),
    },
    instrumentations: {
      enabled,
      disabled: disabledInstr,
      pgRequireParentSpan: r.bool('OTELKIT_PG_REQUIRE_PARENT_SPAN', true),
      expressLayerSpans: r.bool('OTELKIT_EXPRESS_LAYER_SPANS', environment !== 'production'),
    },
    logging,
    redact: {
      enabled: r.bool('OTELKIT_REDACT', true),
      extraKeys: r.list('OTELKIT_REDACT_KEYS', []),
    },
    ignorePaths,
    shutdownTimeoutMs: r.ms('OTELKIT_SHUTDOWN_TIMEOUT_MS', 5000, 0, 10 * 60 * 1000),
    healthTimeoutMs: r.ms('OTELKIT_HEALTH_TIMEOUT_MS', 2000, 1, 10 * 60 * 1000),
    errors: {
      recordsPerMinute: r.int('OTELKIT_ERROR_RECORDS_PER_MINUTE', 10, 0, 1_000_000),
      appRoot: appPkg.dir ?? entryDir(ctx),
    },
  };
  return { config, warnings: r.warnings, settings: r.settings };
}

// The only module that reads the environment. Everything downstream receives the validated,
// typed Config object built here; an invalid value becomes one warning and its fallback.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Signal = 'traces' | 'metrics' | 'logs';
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
export type DiagLevelName = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';
export type LogLevel = 'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export interface OtlpConfig {
  /** Full URL: for http protocols it includes the /v1/<signal> path. */
  endpoint: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'gzip' | 'none';
}

export interface BatchConfig {
  scheduleDelayMs: number;
  exportTimeoutMs: number;
  maxQueueSize: number;
  maxExportBatchSize: number;
}

export interface LoggingConfig {
  /** Level of every logger without an override. */
  level: LogLevel;
  /** Per-logger overrides; a name matches itself and its dotted children (`db` matches `db.pool`). */
  levels: ReadonlyArray<{ name: string; level: LogLevel }>;
  format: 'json' | 'pretty';
  file?: { path: string; level: LogLevel; maxSizeBytes: number; maxFiles: number };
  captureConsole: boolean;
  /** Whether log records are bridged to the OTel logs SDK (OTEL_LOGS_EXPORTER is not none). */
  bridge: boolean;
}

export interface AttributeLimits {
  attributeValueLengthLimit?: number;
  attributeCountLimit?: number;
}

export interface SpanLimits extends AttributeLimits {
  eventCountLimit?: number;
  linkCountLimit?: number;
  attributePerEventCountLimit?: number;
  attributePerLinkCountLimit?: number;
}

export interface Config {
  disabled: boolean;
  /** The application's entry script is an ES module. */
  entryIsEsm: boolean;
  /** The directory the application's packages are resolved from: its entry script's, else the working directory. */
  entryDir: string;
  serviceName: string;
  serviceVersion?: string;
  environment: string;
  /** From OTEL_RESOURCE_ATTRIBUTES. */
  resourceAttributes: Record<string, string>;
  resourceDetectors: string[];
  diagLevel: DiagLevelName;
  propagators: string[];
  traces: {
    exporter: 'otlp' | 'console' | 'none';
    otlp: OtlpConfig;
    sampler: { name: SamplerName; ratio: number };
    batch: BatchConfig;
    limits: SpanLimits;
  };
  metrics: {
    exporters: Array<'prometheus' | 'otlp' | 'console'>;
    otlp: OtlpConfig;
    exportIntervalMs: number;
    exportTimeoutMs: number;
  };
  logs: {
    exporter: 'otlp' | 'console' | 'none';
    otlp: OtlpConfig;
    batch: BatchConfig;
    limits: AttributeLimits;
  };
  /** The admin server: /metrics, /livez, /readyz. */
  admin: { host: string; port: number };
  instrumentations: { enabled?: string[]; disabled: string[] };
  logging: LoggingConfig;
  redact: { enabled: boolean; extraKeys: string[] };
  ignorePaths: string[];
  shutdownTimeoutMs: number;
  healthTimeoutMs: number;
}

/** Where each effective setting came from, for `otelkit doctor`. */
export interface Setting {
  variable: string;
  value: string;
  source: 'env' | 'default' | 'fallback';
}

export interface ConfigWarning {
  variable: string;
  value: string;
  fallback: string;
  message: string;
}

export interface LoadedConfig {
  config: Config;
  warnings: ConfigWarning[];
  settings: Setting[];
}

export interface LoadContext {
  /** The application's entry script, used to find its package.json. */
  mainScript?: string;
  cwd?: string;
  stdoutIsTTY?: boolean;
}

/** Every instrumentation otelkit knows, by its OTEL_NODE_ENABLED_INSTRUMENTATIONS short name. */
export const KNOWN_INSTRUMENTATIONS: readonly string[] = [
  'amqplib', 'aws-lambda', 'aws-sdk', 'bunyan', 'cassandra-driver', 'connect', 'cucumber',
  'dataloader', 'dns', 'express', 'fs', 'generic-pool', 'graphql', 'grpc', 'hapi', 'http',
  'ioredis', 'kafkajs', 'knex', 'koa', 'lru-memoizer', 'memcached', 'mongodb', 'mongoose',
  'mysql', 'mysql2', 'nestjs-core', 'net', 'openai', 'oracledb', 'pg', 'pino', 'redis', 'restify',
  'router', 'runtime-node', 'socket.io', 'tedious', 'undici', 'winston',
];

const KNOWN_DETECTORS = ['env', 'host', 'os', 'process', 'serviceinstance', 'container', 'alibaba', 'aws', 'azure', 'gcp'];
const DEFAULT_DETECTORS = ['env', 'host', 'os', 'process', 'serviceinstance'];
const KNOWN_PROPAGATORS = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none'];
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];
const DIAG_LEVELS: readonly DiagLevelName[] = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'];
const SAMPLERS: readonly SamplerName[] = [
  'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio',
];
const DEFAULT_IGNORE_PATHS = ['/livez', '/readyz', '/healthz', '/metrics', '/favicon.ico'];

type Env = Record<string, string | undefined>;

/** Reads variables, records where each value came from and collects warnings. */
class EnvReader {
  readonly warnings: ConfigWarning[] = [];
  readonly settings: Setting[] = [];
  constructor(private readonly env: Env) {}

  /** The raw value, or undefined when unset or blank (blank counts as unset, as in the OTel spec). */
  raw(name: string): string | undefined {
    const v = this.env[name];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === '' ? undefined : t;
  }

  /** Replaces what was recorded for a variable whose value a later rule changed. */
  override(variable: string, value: string, source: Setting['source']): void {
    const s = this.settings.find((x) => x.variable === variable);
    if (s) Object.assign(s, { value, source });
  }

  // Shared variables (OTEL_EXPORTER_OTLP_PROTOCOL, ...) are read once per signal: record and
  // warn about each only once.
  record(variable: string, value: unknown, source: Setting['source']): void {
    if (this.settings.some((s) => s.variable === variable)) return;
    this.settings.push({ variable, value: typeof value === 'string' ? value : JSON.stringify(value), source });
  }

  warn(variable: string, value: string, fallback: string, why: string): void {
    if (this.warnings.some((w) => w.variable === variable)) return;
    // Header values are credentials: a malformed list is shown with its values hidden.
    if (variable.endsWith('_HEADERS')) value = value.replace(/=[^,]*/g, '=[REDACTED]');
    this.warnings.push({
      variable,
      value,
      fallback,
      message: `invalid ${variable}=${JSON.stringify(value)} (${why}); using ${fallback}`,
    });
  }

  /** Generic read: parse returns undefined (or throws a reason string) when the value is invalid. */
  read<T>(name: string, fallback: T, parse: (raw: string) => T | undefined, showValue: (v: T) => string = String): T {
    const show = (v: T) => showValue(v) || 'none';
    const raw = this.raw(name);
    if (raw === undefined) {
      this.record(name, show(fallback), 'default');
      return fallback;
    }
    let value: T | undefined;
    let why = 'not a valid value';
    try {
      value = parse(raw);
    } catch (e) {
      why = typeof e === 'string' ? e : why;
    }
    if (value === undefined) {
      this.warn(name, raw, show(fallback), why);
      this.record(name, show(fallback), 'fallback');
      return fallback;
    }
    this.record(name, show(value), 'env');
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    return this.read(name, fallback, (raw) => {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw 'expected true or false';
    });
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    return this.read(name, fallback, (raw) => {
      if (!/^-?\d+$/.test(raw)) throw 'expected a whole number';
      const n = Number(raw);
      if (n < min || n > max) throw `expected a number from ${min} to ${max}`;
      return n;
    });
  }

  optionalInt(name: string, min: number, fallback?: number): number | undefined {
    return this.read<number | undefined>(name, fallback, (raw) => {
      if (!/^\d+$/.test(raw) || Number(raw) < min) throw `expected a whole number of at least ${min}`;
      return Number(raw);
    }, (v) => (v === undefined ? 'SDK default' : String(v)));
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    return this.read(name, fallback, (raw) => {
      const v = raw.toLowerCase() as T;
      if (allowed.includes(v)) return v;
      throw `expected one of ${allowed.join(', ')}`;
    });
  }

  /** A comma-separated list whose items must all be in `allowed`; unknown items are dropped with a warning. */
  list(name: string, fallback: string[], allowed?: readonly string[]): string[] {
    const raw = this.raw(name);
    if (raw === undefined) {
      this.record(name, fallback.join(','), 'default');
      return fallback;
    }
    const items = splitList(raw);
    if (!allowed) {
      this.record(name, items.join(','), 'env');
      return items;
    }
    const good = items.filter((i) => allowed.includes(i.toLowerCase())).map((i) => i.toLowerCase());
    const bad = items.filter((i) => !allowed.includes(i.toLowerCase()));
    if (bad.length > 0) {
      const result = good.length > 0 ? good : fallback;
      this.warn(name, raw, result.join(',') || 'none', `unknown ${bad.map((b) => JSON.stringify(b)).join(', ')}; known: ${allowed.join(', ')}`);
      this.record(name, result.join(','), 'fallback');
      return result;
    }
    this.record(name, good.join(','), 'env');
    return good;
  }
}

function splitList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `k=v,k2=v2` with URL-encoded values, as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES use. */
export function parseKeyValueList(raw: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of splitList(raw)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    try {
      out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return out;
}

/** `10m`, `512k`, `1g`, or plain bytes. */
export function parseSize(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg])?b?$/i.exec(raw.trim());
  if (!m) return undefined;
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  const n = Math.round(Number(m[1]) * mult);
  return n > 0 ? n : undefined;
}

function parseUrl(raw: string): string | undefined {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw 'expected an http:// or https:// URL';
    return raw;
  } catch (e) {
    if (typeof e === 'string') throw e;
    throw 'not a URL';
  }
}

function parseLogLevel(raw: string): LogLevel | undefined {
  const v = raw.toLowerCase() as LogLevel;
  return LOG_LEVELS.includes(v) ? v : undefined;
}

/** `info,db=debug,http=warn`: a bare level sets the default, `name=level` pairs override. */
export function parseLogLevelSpec(raw: string, fallbackLevel: LogLevel): LoggingConfig['levels'] & { defaultLevel?: LogLevel } {
  let defaultLevel: LogLevel | undefined;
  const levels: Array<{ name: string; level: LogLevel }> = [];
  for (const part of splitList(raw)) {
    const eq = part.indexOf('=');
    if (eq === -1) {
      const l = parseLogLevel(part);
      if (!l) throw `unknown level ${JSON.stringify(part)}; known: ${LOG_LEVELS.join(', ')}`;
      defaultLevel = l;
      continue;
    }
    const name = part.slice(0, eq).trim();
    const l = parseLogLevel(part.slice(eq + 1).trim());
    if (!name || !l) throw `bad pair ${JSON.stringify(part)}; expected name=level`;
    levels.push({ name, level: l });
  }
  // Longest names first so `db.pool=warn` wins over `db=debug` for db.pool.x.
  levels.sort((a, b) => b.name.length - a.name.length);
  return Object.assign(levels, { defaultLevel: defaultLevel ?? fallbackLevel });
}

function entryDir(ctx: LoadContext): string {
  return ctx.mainScript ? path.dirname(path.resolve(ctx.mainScript)) : (ctx.cwd ?? process.cwd());
}

/** The application's package.json (name, version, module type), found upwards from its entry script. */
function findAppPackage(ctx: LoadContext): { name?: string; version?: string; type?: string } {
  let dir = entryDir(ctx);
  for (let i = 0; i < 20; i++) {
    const file = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown; type?: unknown };
      return {
        name: typeof pkg.name === 'string' && pkg.name ? pkg.name : undefined,
        version: typeof pkg.version === 'string' && pkg.version ? pkg.version : undefined,
        type: typeof pkg.type === 'string' ? pkg.type : undefined,
      };
    } catch {
      // no (readable) package.json here: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return {};
}

/** Whether the entry script loads as an ES module (which decides whether the ESM loader hook is needed). */
function entryIsEsm(mainScript: string | undefined, pkgType: string | undefined): boolean {
  if (!mainScript) return true; // -e, REPL, stdin: unknown, so be safe
  const ext = path.extname(mainScript);
  if (ext === '.mjs' || ext === '.mts') return true;
  if (ext === '.cjs' || ext === '.cts') return false;
  return pkgType === 'module';
}

const SIGNAL_PATH: Record<Signal, string> = { traces: 'v1/traces', metrics: 'v1/metrics', logs: 'v1/logs' };

function readOtlp(r: EnvReader, signal: Signal): OtlpConfig {
  const S = signal.toUpperCase();
  const protocols: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
  const generalProtocol = r.oneOf('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/protobuf', protocols);
  const protocol = r.oneOf(`OTEL_EXPORTER_OTLP_${S}_PROTOCOL`, generalProtocol, protocols);
  const defaultBase = protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318';

  const base = r.read('OTEL_EXPORTER_OTLP_ENDPOINT', defaultBase, parseUrl);
  const fromBase = protocol === 'grpc' ? base : `${base.replace(/\/+$/, '')}/${SIGNAL_PATH[signal]}`;
  const endpoint = r.read(`OTEL_EXPORTER_OTLP_${S}_ENDPOINT`, fromBase, parseUrl);

  const showHeaders = (h: Record<string, string>) => Object.keys(h).map((k) => `${k}=[REDACTED]`).join(',');
  const headers = {
    ...r.read('OTEL_EXPORTER_OTLP_HEADERS', {}, parseKeyValueList, showHeaders),
    ...r.read(`OTEL_EXPORTER_OTLP_${S}_HEADERS`, {}, parseKeyValueList, showHeaders),
  };
  const timeoutMs = r.int(`OTEL_EXPORTER_OTLP_${S}_TIMEOUT`, r.int('OTEL_EXPORTER_OTLP_TIMEOUT', 10000, 1), 1);
  const compression = r.oneOf(
    `OTEL_EXPORTER_OTLP_${S}_COMPRESSION`,
    r.oneOf('OTEL_EXPORTER_OTLP_COMPRESSION', 'none', ['gzip', 'none'] as const),
    ['gzip', 'none'] as const,
  );
  return { endpoint, protocol, headers, timeoutMs, compression };
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
    scheduleDelayMs: r.int(`${prefix}_SCHEDULE_DELAY`, scheduleDelayMs, 0),
    exportTimeoutMs: r.int(`${prefix}_EXPORT_TIMEOUT`, 30000, 1),
    maxQueueSize,
    maxExportBatchSize,
  };
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
  const fileLevel = r.read('OTELKIT_LOG_FILE_LEVEL', 'warn' as LogLevel, parseLogLevel);
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
      exportIntervalMs: r.int('OTEL_METRIC_EXPORT_INTERVAL', 60000, 100),
      exportTimeoutMs: r.int('OTEL_METRIC_EXPORT_TIMEOUT', 30000, 1),
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
      host: r.read('OTEL_EXPORTER_PROMETHEUS_HOST', '0.0.0.0', (raw) => raw),
      port: r.int('OTEL_EXPORTER_PROMETHEUS_PORT', 9464, 0, 65535),
    },
    instrumentations: { enabled, disabled: disabledInstr },
    logging,
    redact: {
      enabled: r.bool('OTELKIT_REDACT', true),
      extraKeys: r.list('OTELKIT_REDACT_KEYS', []),
    },
    ignorePaths,
    shutdownTimeoutMs: r.int('OTELKIT_SHUTDOWN_TIMEOUT_MS', 5000, 0, 10 * 60 * 1000),
    healthTimeoutMs: r.int('OTELKIT_HEALTH_TIMEOUT_MS', 2000, 1, 10 * 60 * 1000),
  };
  return { config, warnings: r.warnings, settings: r.settings };
}

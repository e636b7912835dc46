// The typed configuration and its parts, as loadConfig returns them, and what it reports beside
// them (each setting's source, the warnings). Types only: every module downstream imports these.

export type Signal = 'traces' | 'metrics' | 'logs';
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
export type DiagLevelName = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';
export type LogLevel = 'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';
export type TemporalityPreference = 'cumulative' | 'delta' | 'lowmemory';
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
  /** PEM files for https endpoints (OTEL_EXPORTER_OTLP_[<SIGNAL>_]CERTIFICATE, _CLIENT_KEY, _CLIENT_CERTIFICATE), as given. */
  tlsFiles: { certificate?: string; clientKey?: string; clientCertificate?: string };
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
    /** OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: what the OTLP reader asks for (Prometheus stays cumulative). */
    temporality: TemporalityPreference;
  };
  logs: {
    exporter: 'otlp' | 'console' | 'none';
    otlp: OtlpConfig;
    batch: BatchConfig;
    limits: AttributeLimits;
  };
  /** The admin server: /metrics, /livez, /readyz. */
  admin: {
    host: string;
    port: number;
    /** NODE_APP_INSTANCE: the instance number PM2 gives each process of an app. */
    pm2Instance?: number;
  };
  instrumentations: {
    enabled?: string[];
    disabled: string[];
    /** OTELKIT_PG_REQUIRE_PARENT_SPAN: pg work outside a request makes no spans (false: upstream's root spans). */
    pgRequireParentSpan: boolean;
    /** OTELKIT_EXPRESS_LAYER_SPANS: express layer spans (default: not in production). */
    expressLayerSpans: boolean;
  };
  logging: LoggingConfig;
  redact: { enabled: boolean; extraKeys: string[] };
  ignorePaths: string[];
  shutdownTimeoutMs: number;
  healthTimeoutMs: number;
  errors: {
    /** Exception records exported per error group per minute; the rest are counted (OTELKIT_ERROR_RECORDS_PER_MINUTE). */
    recordsPerMinute: number;
    /** Stack frames under this directory (outside node_modules) are the application's own: they make an error's group. */
    appRoot: string;
  };
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

/** Variables by name, as process.env holds them. */
export type Env = Record<string, string | undefined>;

// `otelkit doctor`: the effective configuration the preload would use (every setting, its value
// and where it came from, secrets redacted), the problems in it (invalid values, contradictory
// settings) and a probe of every endpoint it would talk to. One line per problem says what to change.
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { loadConfig } from '../config/load';
import type { Config, OtlpConfig, Setting, Signal } from '../config/types';
import { exportsOtlp } from '../config/summary';
import { GRPC_PACKAGES, grpcPackageMissing, isInstalled } from '../export/grpc-packages';
import { createRedactor } from '../redact/redactor';
import { VERSION } from '../version';

type Env = Record<string, string | undefined>;

export interface DoctorOptions {
  /** Defaults to the process environment (read by loadConfig). */
  env?: Env;
  /** Upper bound for each probe. */
  timeoutMs?: number;
}

export interface Probe {
  target: string;
  what: string;
  ok: boolean;
  detail: string;
}

export interface DoctorReport {
  version: string;
  service: string;
  environment: string;
  disabled: boolean;
  settings: Setting[];
  probes: Probe[];
  /** One line each: what is wrong and what to change. */
  problems: string[];
  notes: string[];
}

const redactor = createRedactor({ enabled: true, extraKeys: [] });
/** Everything printed goes through here: URL credentials, tokens and the like become [REDACTED]. */
export const safe = (s: string): string => redactor.redactString(s);

const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

function exporterVar(signal: Signal): string {
  return `OTEL_${signal.toUpperCase()}_EXPORTER`;
}

// ------------------------------------------------------------------------------ contradictions

function contradictions(config: Config, settings: Setting[]): string[] {
  const isSet = (v: string) => settings.some((s) => s.variable === v && s.source !== 'default');
  const value = (v: string) => settings.find((s) => s.variable === v)?.value ?? '';
  const out: string[] = [];

  if (config.disabled) {
    const exporterVars = settings
      .filter((s) => s.source !== 'default')
      .map((s) => s.variable)
      .filter((v) => /^OTEL_(TRACES|METRICS|LOGS)_EXPORTER$/.test(v) || v.startsWith('OTEL_EXPORTER_'));
    if (exporterVars.length > 0) {
      out.push(`OTEL_SDK_DISABLED=true switches otelkit off, yet ${exporterVars.join(', ')} ${exporterVars.length > 1 ? 'are' : 'is'} set: nothing will be exported; unset OTEL_SDK_DISABLED (or set it to false) to export, or unset the exporter settings`);
    }
    return out;
  }

  if (config.serviceName.startsWith('unknown_service')) {
    out.push(`the service has no name (${config.serviceName}): set OTEL_SERVICE_NAME (or a "name" in the application's package.json)`);
  }

  if (!config.metrics.exporters.includes('prometheus')) {
    const promVars = ['OTEL_EXPORTER_PROMETHEUS_PORT', 'OTEL_EXPORTER_PROMETHEUS_HOST'].filter(isSet);
    if (promVars.length > 0) {
      out.push(`${promVars.join(' and ')} ${promVars.length > 1 ? 'are' : 'is'} set but OTEL_METRICS_EXPORTER=${value('OTEL_METRICS_EXPORTER') || 'none'} does not include prometheus, so /metrics answers 404: add prometheus to OTEL_METRICS_EXPORTER (e.g. OTEL_METRICS_EXPORTER=prometheus) or unset ${promVars.join(' and ')}`);
    }
  }

  for (const signal of SIGNALS) {
    if (exportsOtlp(config, signal)) continue;
    const S = signal.toUpperCase();
    const perSignal = ['ENDPOINT', 'PROTOCOL', 'HEADERS', 'TIMEOUT', 'COMPRESSION']
      .map((k) => `OTEL_EXPORTER_OTLP_${S}_${k}`)
      .filter(isSet);
    if (perSignal.length > 0) {
      const exp = signal === 'metrics' ? value('OTEL_METRICS_EXPORTER') || 'none' : value(exporterVar(signal));
      out.push(`${perSignal.join(', ')} ${perSignal.length > 1 ? 'are' : 'is'} set but ${exporterVar(signal)}=${exp} does not export ${signal} over OTLP: set ${exporterVar(signal)}=otlp${signal === 'metrics' ? ' (or prometheus,otlp)' : ''} or unset ${perSignal.join(', ')}`);
    }
  }
  if (!SIGNALS.some((s) => exportsOtlp(config, s))) {
    const general = ['ENDPOINT', 'PROTOCOL', 'HEADERS'].map((k) => `OTEL_EXPORTER_OTLP_${k}`).filter(isSet);
    if (general.length > 0) {
      out.push(`${general.join(', ')} ${general.length > 1 ? 'are' : 'is'} set but no signal is exported over OTLP (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER): set one of them to otlp or unset ${general.join(', ')}`);
    }
  }

  if (config.traces.exporter !== 'none') {
    const { name, ratio } = config.traces.sampler;
    if ((name === 'always_off' || name === 'parentbased_always_off') && isSet('OTEL_TRACES_SAMPLER')) {
      out.push(`OTEL_TRACES_SAMPLER=${name} records no traces while OTEL_TRACES_EXPORTER=${config.traces.exporter} expects them: set OTEL_TRACES_SAMPLER=parentbased_traceidratio (or OTEL_TRACES_EXPORTER=none)`);
    } else if (name.endsWith('traceidratio') && ratio === 0 && isSet('OTEL_TRACES_SAMPLER_ARG')) {
      out.push(`OTEL_TRACES_SAMPLER_ARG=0 samples no traces while OTEL_TRACES_EXPORTER=${config.traces.exporter} expects them: set OTEL_TRACES_SAMPLER_ARG to a ratio above 0 (e.g. 0.1) or OTEL_TRACES_EXPORTER=none`);
    }
  }

  // A gRPC endpoint on the HTTP port (or the reverse) is the most common copy-paste mistake.
  for (const signal of SIGNALS) {
    if (!exportsOtlp(config, signal)) continue;
    const o = signalOtlp(config, signal);
    const port = urlPort(o.endpoint);
    const protoVar = endpointVar(settings, signal, 'PROTOCOL');
    if (o.protocol === 'grpc' && port === 4318) {
      out.push(`${signal}: ${protoVar}=grpc but ${safe(o.endpoint)} is the OTLP/HTTP port 4318: use port 4317 for gRPC, or set ${protoVar}=http/protobuf`);
    } else if (o.protocol !== 'grpc' && port === 4317) {
      out.push(`${signal}: ${protoVar}=${o.protocol} but ${safe(o.endpoint)} is the OTLP/gRPC port 4317: use port 4318 for HTTP, or set ${protoVar}=grpc`);
    }
  }

  for (const signal of SIGNALS) {
    if (exportsOtlp(config, signal) && signalOtlp(config, signal).protocol === 'grpc' && !isInstalled(GRPC_PACKAGES[signal])) out.push(grpcPackageMissing(signal));
  }

  if (!config.logging.file) {
    const fileVars = ['OTELKIT_LOG_FILE_LEVEL', 'OTELKIT_LOG_FILE_MAX_SIZE', 'OTELKIT_LOG_FILE_MAX_FILES'].filter(isSet);
    if (fileVars.length > 0) {
      out.push(`${fileVars.join(', ')} ${fileVars.length > 1 ? 'are' : 'is'} set but OTELKIT_LOG_FILE is not, so no log file is written: set OTELKIT_LOG_FILE to a path or unset ${fileVars.join(', ')}`);
    }
  }
  return out;
}

function signalOtlp(config: Config, signal: Signal): OtlpConfig {
  return config[signal].otlp;
}

/** The variable that decided a signal's OTLP setting: the per-signal one when set, else the general one. */
function endpointVar(settings: Setting[], signal: Signal, key: 'ENDPOINT' | 'PROTOCOL' | 'HEADERS'): string {
  const perSignal = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_${key}`;
  return settings.some((s) => s.variable === perSignal && s.source === 'env') ? perSignal : `OTEL_EXPORTER_OTLP_${key}`;
}

function urlPort(u: string): number | undefined {
  try {
    const url = new URL(u);
    if (url.port) return Number(url.port);
    return url.protocol === 'https:' ? 443 : 80;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------- probes

interface HttpAnswer {
  status?: number;
  error?: NodeJS.ErrnoException;
  ms: number;
}

function post(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<HttpAnswer> {
  const started = Date.now();
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: Omit<HttpAnswer, 'ms'>) => {
      if (done) return;
      done = true;
      resolve({ ...a, ms: Date.now() - started });
    };
    const req = mod.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(body.length), 'user-agent': `otelkit-doctor/${VERSION}` },
      timeout: timeoutMs,
      agent: false,
    }, (res) => {
      res.resume();
      finish({ status: res.statusCode });
    });
    req.on('timeout', () => {
      const err: NodeJS.ErrnoException = new Error(`no answer within ${timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      finish({ error: err });
      req.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish({ error }));
    req.end(body);
  });
}

function connectError(err: NodeJS.ErrnoException, where: string): string {
  switch (err.code) {
    case 'ECONNREFUSED': return `nothing listens at ${where} (connection refused)`;
    case 'ENOTFOUND': case 'EAI_AGAIN': return `the host of ${where} is not found (DNS)`;
    case 'ETIMEDOUT': return `${where} does not answer (${err.message})`;
    case 'ECONNRESET': return `${where} closed the connection`;
    default: return `${where}: ${err.code ? `${err.code} ` : ''}${err.message}`;
  }
}

async function probeOtlp(config: Config, settings: Setting[], signal: Signal, timeoutMs: number): Promise<{ probe: Probe; problem?: string }> {
  const o = signalOtlp(config, signal);
  const epVar = endpointVar(settings, signal, 'ENDPOINT');
  const shown = safe(o.endpoint);
  const target = `${signal} ${o.protocol} ${shown}`;
  const timeout = Math.min(timeoutMs, o.timeoutMs);
  let url: URL;
  try {
    url = new URL(o.endpoint);
  } catch {
    return { probe: { target, what: 'otlp', ok: false, detail: 'not a URL' }, problem: `${signal}: ${epVar}=${shown} is not a URL: set it to e.g. http://localhost:4318` };
  }

  if (o.protocol === 'grpc') {
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 4317);
    const where = `${url.hostname}:${port}`;
    const err = await tcpConnect(url.hostname.replace(/^\[|\]$/g, ''), port, timeout);
    if (!err) return { probe: { target, what: 'otlp', ok: true, detail: `reachable (TCP connect to ${where}; gRPC is not probed further)` } };
    return {
      probe: { target, what: 'otlp', ok: false, detail: connectError(err, where) },
      problem: `${signal}: cannot reach the OTLP/gRPC endpoint ${shown}: ${connectError(err, where)}; start a collector there (otelkit dev for local work) or set ${epVar} to where it runs`,
    };
  }

  const json = o.protocol === 'http/json';
  const contentType = json ? 'application/json' : 'application/x-protobuf';
  let body: Buffer = Buffer.from(json ? '{}' : '');
  const headers: Record<string, string> = { ...o.headers, 'content-type': contentType };
  if (o.compression === 'gzip') {
    body = zlib.gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  const a = await post(url, headers, body, timeout);
  const where = url.host;
  if (a.error) {
    return {
      probe: { target, what: 'otlp', ok: false, detail: connectError(a.error, where) },
      problem: `${signal}: cannot reach ${shown}: ${connectError(a.error, where)}; start a collector there (otelkit dev for local work) or set ${epVar} to where it runs`,
    };
  }
  const status = a.status ?? 0;
  if (status >= 200 && status < 300) {
    return { probe: { target, what: 'otlp', ok: true, detail: `reachable and accepting ${contentType} (HTTP ${status} in ${a.ms} ms)` } };
  }
  const headersVar = endpointVar(settings, signal, 'HEADERS');
  const protoVar = endpointVar(settings, signal, 'PROTOCOL');
  const suffix = `/v1/${signal}`;
  let fix: string;
  if (status === 404 || status === 405) {
    fix = epVar.endsWith(`_${signal.toUpperCase()}_ENDPOINT`)
      ? (url.pathname.endsWith(suffix)
        ? `no OTLP receiver at this URL: check host and port in ${epVar}`
        : `per-signal endpoints are used as given: end ${epVar} with ${suffix}`)
      : `no OTLP receiver at this URL: set ${epVar} to the collector's base URL (e.g. http://localhost:4318, without ${suffix})`;
  } else if (status === 415) {
    fix = `the endpoint does not accept ${contentType}: set ${protoVar}=${json ? 'http/protobuf' : 'http/json'} (or grpc if it is a gRPC receiver)`;
  } else if (status === 401 || status === 403) {
    fix = `the endpoint refused the credentials: check ${headersVar}`;
  } else if (status === 413) {
    fix = 'the endpoint refused even an empty request as too large: check the receiver';
  } else if (status >= 300 && status < 400) {
    fix = `the endpoint redirects, which exporters do not follow: set ${epVar} to the final URL`;
  } else if (status === 429 || status === 502 || status === 503 || status === 504) {
    fix = 'the endpoint is overloaded or its backend is down: check the collector';
  } else {
    fix = `the endpoint refused an empty, valid export request: check that ${epVar} points at an OTLP/HTTP receiver`;
  }
  return {
    probe: { target, what: 'otlp', ok: false, detail: `answered HTTP ${status}` },
    problem: `${signal}: ${shown} answered HTTP ${status} to an empty export request: ${fix}`,
  };
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (err?: NodeJS.ErrnoException) => {
      sock.destroy();
      resolve(err);
    };
    sock.setTimeout(timeoutMs, () => {
      const err: NodeJS.ErrnoException = new Error(`no answer within ${timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      done(err);
    });
    sock.once('connect', () => done());
    sock.once('error', (err: NodeJS.ErrnoException) => done(err));
  });
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

async function probeAdmin(config: Config): Promise<{ probe: Probe; problem?: string }> {
  const { host, port } = config.admin;
  const target = `admin ${host}:${port} (/metrics, /livez, /readyz)`;
  if (port === 0) return { probe: { target, what: 'port', ok: true, detail: 'port 0: a free port is picked at start' } };
  const err = await tryListen(host, port);
  if (!err) return { probe: { target, what: 'port', ok: true, detail: 'free' } };
  let problem: string;
  switch (err.code) {
    case 'EADDRINUSE':
      problem = `OTEL_EXPORTER_PROMETHEUS_PORT: port ${port} on ${host} is taken by another process (if that is this service already running, ignore this): set OTEL_EXPORTER_PROMETHEUS_PORT to a free port`;
      break;
    case 'EACCES':
      problem = `OTEL_EXPORTER_PROMETHEUS_PORT: port ${port} needs privileges to listen on: set OTEL_EXPORTER_PROMETHEUS_PORT to a port above 1023`;
      break;
    case 'EADDRNOTAVAIL': case 'ENOTFOUND': case 'EAI_AGAIN':
      problem = `OTEL_EXPORTER_PROMETHEUS_HOST=${host} is not an address of this machine: set it to 0.0.0.0, 127.0.0.1 or one of its addresses`;
      break;
    default:
      problem = `OTEL_EXPORTER_PROMETHEUS_PORT: cannot listen on ${host}:${port} (${err.code ?? err.message}): set OTEL_EXPORTER_PROMETHEUS_HOST/PORT to a free local address`;
  }
  return { probe: { target, what: 'port', ok: false, detail: err.code === 'EADDRINUSE' ? 'taken' : (err.code ?? err.message) }, problem };
}

// --------------------------------------------------------------------------------------- run

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const { config, warnings, settings } = loadConfig(opts.env);
  const timeoutMs = opts.timeoutMs ?? 3000;
  const problems: string[] = [];
  const notes: string[] = [];

  for (const w of warnings) {
    problems.push(`${safe(w.message)}: set ${w.variable} to a valid value or unset it`);
  }
  problems.push(...contradictions(config, settings));

  const probes: Probe[] = [];
  if (config.disabled) {
    notes.push('OTEL_SDK_DISABLED=true: the preload does nothing, no endpoint is probed');
  } else {
    const jobs: Array<Promise<{ probe: Probe; problem?: string }>> = [];
    for (const signal of SIGNALS) {
      if (exportsOtlp(config, signal)) jobs.push(probeOtlp(config, settings, signal, timeoutMs));
    }
    jobs.push(probeAdmin(config));
    for (const r of await Promise.all(jobs)) {
      probes.push(r.probe);
      if (r.problem) problems.push(r.problem);
    }
    if (config.traces.exporter === 'none') notes.push('traces are not exported (OTEL_TRACES_EXPORTER=none)');
    if (config.logs.exporter === 'none') notes.push('logs are not exported over OTLP (OTEL_LOGS_EXPORTER=none); stdout logging is unaffected');
    if (config.metrics.exporters.length === 0) notes.push('metrics are off (OTEL_METRICS_EXPORTER=none): /metrics answers 404');
  }

  return {
    version: VERSION,
    service: config.serviceName,
    environment: config.environment,
    disabled: config.disabled,
    settings: settings.map((s) => ({ ...s, value: safe(s.value) })),
    probes,
    problems,
    notes,
  };
}

export function formatReport(r: DoctorReport): string {
  const lines: string[] = [];
  lines.push(`otelkit doctor ${r.version}: service "${safe(r.service)}", environment "${safe(r.environment)}"`);
  lines.push('');
  lines.push('Configuration (source: env = set in the environment, default = not set, fallback = invalid value replaced)');
  const w1 = Math.max(...r.settings.map((s) => s.variable.length));
  const w2 = Math.min(48, Math.max(...r.settings.map((s) => s.value.length)));
  for (const s of r.settings) {
    lines.push(`  ${s.variable.padEnd(w1)}  ${s.value.padEnd(w2)}  ${s.source}`);
  }
  lines.push('');
  if (r.probes.length > 0) {
    lines.push('Endpoints');
    for (const p of r.probes) lines.push(`  ${p.ok ? 'ok  ' : 'FAIL'}  ${p.target}: ${p.detail}`);
    lines.push('');
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.notes.length > 0) lines.push('');
  if (r.problems.length === 0) {
    lines.push('healthy: no problems found');
  } else {
    lines.push(`${r.problems.length} problem${r.problems.length > 1 ? 's' : ''}:`);
    for (const p of r.problems) lines.push(`  x ${p}`);
  }
  return lines.join('\n') + '\n';
}

// Reading variables: EnvReader records where each value came from and turns an invalid value into
// one warning and its fallback; the parsers below turn a raw value into a typed one or a reason.
import { isIP } from 'node:net';
import type { ConfigWarning, Env, LoggingConfig, LogLevel, Setting } from './types';

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];

/**
 * The longest delay a Node.js timer keeps: a larger one is turned into 1 ms (with a
 * TimeoutOverflowWarning), so a timeout of 2^31 ms or more would fire at once instead of never.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Reads variables, records where each value came from and collects warnings. */
export class EnvReader {
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
    if (variable.endsWith('_ENDPOINT')) value = showEndpoint(value);
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

  /** Milliseconds for a timer: a whole number from `min` to `max`, never beyond what a timer can wait. */
  ms(name: string, fallback: number, min: number, max = MAX_TIMER_MS): number {
    const top = Math.min(max, MAX_TIMER_MS);
    return this.read(name, fallback, (raw) => {
      if (!/^-?\d+$/.test(raw)) throw 'expected a whole number of milliseconds';
      const n = Number(raw);
      if (n > MAX_TIMER_MS) throw `expected a number from ${min} to ${top}: a Node.js timer cannot wait longer than ${MAX_TIMER_MS} ms and would fire after 1 ms`;
      if (n < min || n > top) throw `expected a number from ${min} to ${top}`;
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

export function splitList(raw: string): string[] {
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

// An HTTP header name is a token (RFC 9110 5.6.2); a value is visible Latin-1 with spaces and tabs,
// nothing a request could be split on (CR, LF) and nothing a header cannot carry (code points
// above U+00FF: otelkit's transport would mangle them, Node's http refuses them).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The headers an HTTP request can carry, and the names of those it cannot. */
export function splitSendableHeaders(headers: Record<string, string>): { good: Record<string, string>; bad: string[] } {
  const good: Record<string, string> = {};
  const bad: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (HEADER_NAME.test(name) && HEADER_VALUE.test(value)) good[name] = value;
    else bad.push(name);
  }
  return { good, bad };
}

/** `10m`, `512k`, `1g`, or plain bytes. */
export function parseSize(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg])?b?$/i.exec(raw.trim());
  if (!m) return undefined;
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  const n = Math.round(Number(m[1]) * mult);
  return n > 0 ? n : undefined;
}

export function parseUrl(raw: string): string | undefined {
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw 'expected an http:// or https:// URL';
    return raw;
  } catch (e) {
    if (typeof e === 'string') throw e;
    throw 'not a URL';
  }
}

const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * An address to listen on: an IPv4 or IPv6 address (brackets allowed, taken off) or a host name
 * (RFC 1123 labels). A URL, a host:port pair or anything with spaces is refused here; whether a
 * well-formed name resolves to an address of this machine only the listen can tell.
 */
export function parseListenHost(raw: string): string {
  const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (isIP(bare) !== 0) return bare;
  if (raw.includes('://')) throw 'expected a host name or an IP address, not a URL';
  if (/^[^:]+:\d+$/.test(raw)) throw 'expected a host name or an IP address without a port (the port is OTEL_EXPORTER_PROMETHEUS_PORT)';
  const name = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  if (name.length > 253 || !name.split('.').every((label) => HOST_LABEL.test(label))) throw 'expected a host name or an IP address';
  return raw;
}

export function parseLogLevel(raw: string): LogLevel | undefined {
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

/**
 * An endpoint as otelkit shows it: userinfo and every query value hidden. Whatever an endpoint
 * carries there (`http://user:pw@host/?api_key=...`) is a credential for the collector.
 */
export function showEndpoint(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1[REDACTED]@')
    .replace(/([?&][^=&#]*)=[^&#]*/g, '$1=[REDACTED]');
}

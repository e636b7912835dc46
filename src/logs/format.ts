// Turning a record into bytes. Metadata is normalised once into plain, acyclic, JSON-safe data
// (which is also exactly what OTLP attributes accept), so the JSON line can use the native
// JSON.stringify fast path and the same object can be handed to the OTel SDK.
import { serializeError, type SerializedError } from './serialize-error';
import type { LogLevel } from '../config/types';

const MAX_DEPTH = 10;
const DROP: unique symbol = Symbol('drop');
type Norm = unknown;

function isPlainProto(o: object): boolean {
  const p: unknown = Object.getPrototypeOf(o);
  return p === Object.prototype || p === null;
}

interface Walk {
  ancestors: object[];
}

function normalizeObject(o: object, depth: number, w: Walk): Norm {
  if (w.ancestors.includes(o)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  if (o instanceof Error) return serializeError(o);
  if (o instanceof Date) return Number.isNaN(o.getTime()) ? 'Invalid Date' : o.toISOString();
  if (o instanceof Uint8Array) return Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64');
  w.ancestors.push(o);
  try {
    if (Array.isArray(o)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < o.length; i++) {
        const v: unknown = o[i];
        let n = normalizeValue(v, depth + 1, w);
        if (n === DROP) n = null;
        if (out === undefined) {
          if (n === v) continue;
          out = o.slice(0, i);
        }
        out.push(n);
      }
      return out ?? o;
    }
    if (o instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of o) {
        const n = normalizeValue(v, depth + 1, w);
        if (n !== DROP) out[String(k)] = n;
      }
      return out;
    }
    if (o instanceof Set) return normalizeObject([...o], depth, w);
    if (!isPlainProto(o)) {
      const toJSON = (o as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return normalizeValue((toJSON as () => unknown).call(o), depth, w);
      // A class instance: its own enumerable data, as JSON.stringify would see it.
      return normalizeRecord(o as Record<string, unknown>, depth, w, true);
    }
    return normalizeRecord(o as Record<string, unknown>, depth, w, false);
  } finally {
    w.ancestors.pop();
  }
}

function normalizeRecord(o: Record<string, unknown>, depth: number, w: Walk, forceCopy: boolean): Record<string, unknown> {
  let out: Record<string, unknown> | undefined = forceCopy ? {} : undefined;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    const v = o[k];
    const n = normalizeValue(v, depth + 1, w);
    if (out === undefined) {
      if (n === v) continue;
      // First change: copy what came before, then carry on into the copy (copy-on-write).
      out = {};
      for (const j in o) {
        if (j === k) break;
        if (Object.prototype.hasOwnProperty.call(o, j)) out[j] = o[j];
      }
    }
    if (n !== DROP) out[k] = n;
  }
  return out ?? o;
}

function normalizeValue(v: unknown, depth: number, w: Walk): Norm {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'bigint':
      return String(v);
    case 'undefined':
    case 'function':
    case 'symbol':
      return DROP;
    default:
      return v === null ? null : normalizeObject(v as object, depth, w);
  }
}

/**
 * Plain, acyclic, JSON- and OTLP-safe copy of `v`; the same reference when nothing had to change.
 * Never mutates `v`. Errors become {type, message, stack, code, cause}; Dates ISO strings;
 * bigints strings; functions and undefined are dropped; cycles become '[Circular]'.
 */
export function normalize(v: unknown): unknown {
  if (v === null || typeof v !== 'object') {
    const n = normalizeValue(v, 0, { ancestors: [] });
    return n === DROP ? undefined : n;
  }
  try {
    return normalizeObject(v, 0, { ancestors: [] });
  } catch {
    // a throwing getter or toJSON: do not let the application's data break its logging
    return '[Unserializable]';
  }
}

/** Normalised top-level metadata; undefined when there is nothing to log. */
export function normalizeFields(meta: object): Record<string, unknown> | undefined {
  const n = normalize(meta);
  if (n === null || typeof n !== 'object' || Array.isArray(n)) return n === undefined ? undefined : { value: n };
  for (const k in n) if (Object.prototype.hasOwnProperty.call(n, k)) return n as Record<string, unknown>;
  return undefined;
}

let lastMs = -1;
let lastIso = '';
/** Many records share a millisecond under load: format it once. */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export interface LineParts {
  timeMs: number;
  level: LogLevel;
  /** `,"logger":"…","service.name":"…"`, JSON-encoded once per logger. */
  namePart: string;
  loggerName: string;
  message: string;
  traceId?: string;
  spanId?: string;
  error?: SerializedError;
  fields?: Record<string, unknown>;
}

const LEVEL_PART: Record<LogLevel, string> = {
  error: '","level":"error"',
  warn: '","level":"warn"',
  info: '","level":"info"',
  http: '","level":"http"',
  verbose: '","level":"verbose"',
  debug: '","level":"debug"',
  silly: '","level":"silly"',
};

// Strings that need no escaping (the common case) are quoted by hand: cheaper than
// JSON.stringify for short values. Anything with a quote, backslash, control or non-ASCII
// character, or that is long, takes the native path.
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
function quote(s: string): string {
  return s.length < 200 && !NEEDS_ESCAPE.test(s) ? '"' + s + '"' : JSON.stringify(s);
}

// Messages and field names repeat from record to record (usually the very same literal): a small
// memo turns their quoting into one lookup.
const QUOTED_LIMIT = 4096;
const quoted = new Map<string, string>();
function quoteKnown(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    q = quote(s);
    if (s.length <= 200) {
      if (quoted.size >= QUOTED_LIMIT) quoted.clear();
      quoted.set(s, q);
    }
  }
  return q;
}

/** `,"k":v,...}` for already-normalised fields (see normalize), without a second walk. */
function fieldsTail(f: Record<string, unknown>): string {
  let s = '';
  for (const k in f) {
    const v = f[k];
    s += ',' + quoteKnown(k) + ':' + (typeof v === 'string' ? quote(v) : typeof v === 'number' ? '' + v : JSON.stringify(v));
  }
  return s + '}';
}

export function jsonLine(p: LineParts): string {
  let s = '{"timestamp":"' + isoTime(p.timeMs) + LEVEL_PART[p.level] + p.namePart + ',"message":' + quoteKnown(p.message);
  if (p.traceId !== undefined) s += ',"trace_id":"' + p.traceId + '","span_id":"' + p.spanId + '"';
  if (p.error !== undefined) s += ',"error":' + JSON.stringify(p.error);
  return s + (p.fields !== undefined ? fieldsTail(p.fields) : '}') + '\n';
}

const COLOR: Record<LogLevel, string> = {
  error: '\x1b[31m',
  warn: '\x1b[33m',
  info: '\x1b[32m',
  http: '\x1b[35m',
  verbose: '\x1b[36m',
  debug: '\x1b[34m',
  silly: '\x1b[90m',
};
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

function indent(text: string, pad: string): string {
  return pad + text.replace(/\n/g, '\n' + pad);
}

/** One readable line for a developer's terminal: time, level, logger, message, fields, stack. */
export function prettyLine(p: LineParts): string {
  const time = isoTime(p.timeMs).slice(11, 23);
  let s = `${DIM}${time}${RESET} ${COLOR[p.level]}${p.level.toUpperCase().padEnd(7)}${RESET} ${DIM}[${p.loggerName}]${RESET} ${p.message}`;
  if (p.fields !== undefined) {
    for (const k in p.fields) {
      const v = p.fields[k];
      s += ` ${DIM}${k}=${RESET}${typeof v === 'string' ? v : JSON.stringify(v)}`;
    }
  }
  if (p.traceId !== undefined) s += ` ${DIM}trace_id=${p.traceId} span_id=${p.spanId}${RESET}`;
  if (p.error !== undefined) {
    const e = p.error;
    s += '\n' + indent(`${COLOR.error}${e.stack ?? `${e.type}: ${e.message}`}${RESET}`, '  ');
    if (e.code !== undefined) s += ` ${DIM}code=${String(e.code)}${RESET}`;
    let c: unknown = e.cause;
    for (let i = 0; c !== undefined && i < 8; i++) {
      const ce = c as Partial<SerializedError>;
      const isErr = typeof c === 'object' && c !== null && typeof ce.message === 'string';
      s += '\n' + indent(`Caused by: ${isErr ? (ce.stack ?? `${ce.type}: ${ce.message}`) : JSON.stringify(c)}`, '  ');
      if (isErr && ce.code !== undefined) s += ` ${DIM}code=${String(ce.code)}${RESET}`;
      c = isErr ? ce.cause : undefined;
    }
  }
  return s + '\n';
}

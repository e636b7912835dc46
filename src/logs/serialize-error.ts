// Errors as log data. `JSON.stringify(err)` is `{}` (message and stack are not enumerable) and
// OTLP attributes only accept plain values, so an Error becomes a plain object that keeps what an
// on-call engineer needs: type, message, stack, code and the cause chain.

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  cause?: unknown;
  errors?: unknown[];
  [extra: string]: unknown;
}

const MAX_CAUSE_DEPTH = 8;
const MAX_AGGREGATE = 10;
const SKIP = new Set(['name', 'message', 'stack', 'code', 'cause', 'errors']);

export function isError(v: unknown): v is Error {
  return v instanceof Error;
}

/** `class PaymentError extends Error {}` keeps name "Error": the constructor says more. */
export function errorType(err: Error): string {
  if (typeof err.name === 'string' && err.name !== '' && err.name !== 'Error') return err.name;
  const ctor = (err as { constructor?: { name?: unknown } }).constructor;
  return ctor && typeof ctor.name === 'string' && ctor.name !== '' ? ctor.name : 'Error';
}

function plainCause(v: unknown, depth: number): unknown {
  if (v instanceof Error) return serializeError(v, depth + 1);
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? String(v) : v;
  try {
    // A non-Error cause (an object): keep it if it is JSON-safe, else its string form.
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch {
    return String(v);
  }
}

/**
 * The error as a plain, acyclic object. Own enumerable primitive properties (statusCode, errno,
 * syscall, ...) are kept; object-valued ones are not, because client errors often carry whole
 * requests with credentials and sockets.
 */
export function serializeError(err: Error, depth = 0): SerializedError {
  const out: SerializedError = { type: errorType(err), message: typeof err.message === 'string' ? err.message : String(err.message) };
  if (typeof err.stack === 'string') out.stack = err.stack;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  for (const k of Object.keys(err)) {
    if (SKIP.has(k)) continue;
    const v = (err as unknown as Record<string, unknown>)[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  if (depth < MAX_CAUSE_DEPTH) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause !== undefined) out.cause = plainCause(cause, depth);
    const errors = (err as { errors?: unknown }).errors;
    if (Array.isArray(errors)) out.errors = errors.slice(0, MAX_AGGREGATE).map((e) => plainCause(e, depth));
  }
  return out;
}

function isSerializedError(v: unknown): v is SerializedError {
  return typeof v === 'object' && v !== null && typeof (v as SerializedError).type === 'string' && typeof (v as SerializedError).message === 'string';
}

/** The stack with the cause chain appended, Java style, so one attribute tells the whole story. */
export function fullStack(e: SerializedError): string {
  let s = e.stack ?? `${e.type}: ${e.message}`;
  let c: unknown = e.cause;
  for (let i = 0; c !== undefined && i < MAX_CAUSE_DEPTH; i++) {
    if (isSerializedError(c)) {
      s += `\nCaused by: ${c.stack ?? `${c.type}: ${c.message}`}${c.code !== undefined ? ` [code=${c.code}]` : ''}`;
      c = c.cause;
    } else {
      s += `\nCaused by: ${typeof c === 'string' ? c : JSON.stringify(c)}`;
      break;
    }
  }
  return s;
}

/** The cause chain without stacks (they are in exception.stacktrace already). */
function causeSummary(c: unknown): unknown {
  if (!isSerializedError(c)) return c;
  const out: Record<string, unknown> = { type: c.type, message: c.message };
  if (c.code !== undefined) out.code = c.code;
  if (c.cause !== undefined) out.cause = causeSummary(c.cause);
  return out;
}

/** Semantic-convention exception attributes (plus code and cause) for the OTLP record. */
export function exceptionAttributes(e: SerializedError, into: Record<string, unknown>): void {
  into['exception.type'] = e.type;
  into['exception.message'] = e.message;
  into['exception.stacktrace'] = fullStack(e);
  if (e.code !== undefined) into['exception.code'] = e.code;
  if (e.cause !== undefined) into['exception.cause'] = causeSummary(e.cause);
}

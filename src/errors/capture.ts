// Error tracking: every captured error becomes one OpenTelemetry exception log record (event
// name `exception`, severity ERROR, the semantic conventions' exception.* attributes, its group),
// correlated with its request's trace whatever the sampling decided, and one count on the
// `otelkit.exceptions` counter. Entry points: captureException() (public), framework error
// paths (reportRequestError, held until the response shows a server error), otelkit's logger
// (loggedError) and, through the logger, the crash path. Nothing here throws into the caller.
import { inspect } from 'node:util';
import * as path from 'node:path';
import { type Attributes, type Context, type Counter, type Meter } from '@opentelemetry/api';
import { SeverityNumber, type LogAttributes, type LogRecord } from '@opentelemetry/api-logs';
import { reportOnce } from '../diag';
import { activeContext } from '../trace/context-access';
import type { Redactor } from '../redact/redactor';
import { errorType, exceptionAttributes, fullStack, serializeError, type SerializedError } from '../logs/serialize-error';
import { appFrames, fingerprint } from './fingerprint';
import { mapStack } from './source-maps';
import { FloodControl, OVERFLOW_BUCKET } from './flood-control';
import { requestAttributes, requestSpanContext, sentStatus, serverRequest, type ServerRequestMetadata } from './request-context';

export const EXCEPTIONS_COUNTER = 'otelkit.exceptions';
export const GROUP_ATTRIBUTE = 'otelkit.error.group';
/** Records of the group left out by flood control since the group's previous record. */
export const SUPPRESSED_ATTRIBUTE = 'otelkit.error.suppressed';
/** Where the error was captured: express, koa, logger, api. */
export const SOURCE_ATTRIBUTE = 'otelkit.error.source';
export const EXCEPTION_EVENT = 'exception';
/** Distinct groups on the counter; the rest share the `_other` series. */
export const MAX_METRIC_GROUPS = 100;
/** Framework errors held per request until its response ends. */
const MAX_PENDING = 8;
const MAX_NON_ERROR_MESSAGE = 500;

export interface ErrorCaptureOptions {
  redactor: Redactor;
  /** Where the `otelkit.exceptions` counter is made; none: nothing counted. */
  meter?: Meter;
  /** Where exception records go (otelkit's logger provider); none: not exported. */
  emit?: (record: LogRecord) => void;
  recordsPerMinute: number;
  appRoot: string;
  serviceVersion?: string;
  environment: string;
  /** Milliseconds since the epoch; tests replace it. */
  now?: () => number;
}

interface CaptureState {
  opts: ErrorCaptureOptions;
  counter: Counter | undefined;
  flood: FloodControl;
  metricGroups: Set<string>;
  now: () => number;
  /** otelkit's own directory: its frames are never the application's. */
  ownDir: string;
}

let state: CaptureState | undefined;

// The same error object reported again where it was already captured (an express error the
// application also logs) is not a second record. Weak: errors are never kept alive by this.
const captured = new WeakMap<object, object>();
const OUTSIDE_REQUESTS = {};
const groups = new WeakMap<object, string>();
// Most errors come from a few throw sites: the group of a stack's frames (its text below the
// message line) is kept, so a repeated error costs a lookup instead of parsing its stack.
const byFrames = new Map<string, string>();
const MAX_CACHED_FRAMES = 2000;
// Errors the crash path is about to log, with their origin (uncaughtException, unhandledRejection).
const crashes = new WeakMap<object, string>();

/**
 * The crash path (lifecycle/crash.ts) says the error it logs next is a crash: its record's
 * source is the origin, and the span already has the exception (recordCrash put it there).
 */
export function noteCrash(err: unknown, origin: string): void {
  if (err !== null && typeof err === 'object') crashes.set(err, origin);
}

export function configureErrorCapture(opts: ErrorCaptureOptions): void {
  const counter = opts.meter?.createCounter(EXCEPTIONS_COUNTER, {
    unit: '{exception}',
    description: 'Errors captured by otelkit (records left out by flood control included), by exception type, error group and route',
  });
  byFrames.clear();
  state = {
    opts,
    counter,
    flood: new FloodControl(opts.recordsPerMinute),
    metricGroups: new Set(),
    now: opts.now ?? Date.now,
    // dist/ for the bundle, dist/errors/ for the compiled module: otelkit's own code is dist/.
    ownDir: path.basename(__dirname) === 'errors' ? path.dirname(__dirname) : __dirname,
  };
}

/** For tests: forget the configuration (nothing is captured until the next configure). */
export function resetErrorCapture(): void {
  state = undefined;
  byFrames.clear();
}

interface Normalized {
  error: Error | undefined;
  type: string;
  message: string;
  stack: string | undefined;
}

function normalize(value: unknown): Normalized {
  if (value instanceof Error) {
    const message = typeof value.message === 'string' ? value.message : String(value.message);
    return { error: value, type: errorType(value), message, stack: typeof value.stack === 'string' ? value.stack : undefined };
  }
  // A thrown string or object: no stack, its text is the message.
  const text = typeof value === 'string' ? value : inspect(value, { depth: 2, breakLength: Infinity });
  return { error: undefined, type: 'Error', message: text.slice(0, MAX_NON_ERROR_MESSAGE), stack: undefined };
}

function groupOf(s: CaptureState, n: Normalized): string {
  if (n.error !== undefined) {
    const known = groups.get(n.error);
    if (known !== undefined) return known;
  }
  const nl = n.stack === undefined ? -1 : n.stack.indexOf('\n');
  // Without frames the message decides the group: nothing worth caching.
  const key = n.stack === undefined || nl === -1 ? undefined : `${n.type}${n.stack.slice(nl)}`;
  let g = key === undefined ? undefined : byFrames.get(key);
  if (g === undefined) {
    g = fingerprint(n.type, groupStack(s, n.stack), n.message, s.opts.appRoot, s.ownDir);
    if (key !== undefined) {
      if (byFrames.size >= MAX_CACHED_FRAMES) byFrames.clear();
      byFrames.set(key, g);
    }
  }
  if (n.error !== undefined) groups.set(n.error, g);
  return g;
}

/**
 * The stack the group is made of: with the application's frames mapped to their original
 * sources when its compiled files have source maps, so that the group is the same across
 * rebuilds, output directories and bundlers. A map whose sources lie outside the application's
 * root (an absolute sourceRoot of the build machine, webpack:// URLs) would leave the group
 * without application frames: then the compiled frames make it, as without a map.
 */
function groupStack(s: CaptureState, stack: string | undefined): string | undefined {
  if (stack === undefined) return undefined;
  const mapped = mapStack(stack, s.ownDir);
  if (mapped === stack || appFrames(mapped, s.opts.appRoot, s.ownDir).app.length > 0) return mapped;
  return appFrames(stack, s.opts.appRoot, s.ownDir).app.length > 0 ? stack : mapped;
}

/** Maps the stacks of an error and its cause chain in place; true when one changed. */
function mapSerialized(s: CaptureState, e: SerializedError): boolean {
  let changed = false;
  let c: unknown = e;
  for (let i = 0; i <= 8 && c !== null && typeof c === 'object'; i++) {
    const se = c as SerializedError;
    if (typeof se.stack === 'string') {
      const mapped = mapStack(se.stack, s.ownDir);
      if (mapped !== se.stack) {
        se.stack = mapped;
        changed = true;
      }
    }
    c = se.cause;
  }
  return changed;
}

/** True the first time this error object is seen in this request (or outside requests). */
function firstReport(value: unknown, rpc: ServerRequestMetadata | undefined): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return true;
  const where = rpc ?? OUTSIDE_REQUESTS;
  if (captured.get(value) === where) return false;
  captured.set(value, where);
  return true;
}

function count(s: CaptureState, type: string, group: string, rpc: ServerRequestMetadata | undefined): void {
  if (s.counter === undefined) return;
  let g = group;
  if (!s.metricGroups.has(g)) {
    if (s.metricGroups.size >= MAX_METRIC_GROUPS) g = OVERFLOW_BUCKET;
    else s.metricGroups.add(g);
  }
  const attrs: Attributes = { 'exception.type': type, [GROUP_ATTRIBUTE]: g };
  if (rpc?.route) attrs['http.route'] = rpc.route;
  s.counter.add(1, attrs);
}

/** The attributes every exception record carries besides exception.*: group, source, request, release. */
function contextAttributes(s: CaptureState, group: string, left: number, source: string, rpc: ServerRequestMetadata | undefined, status: number | undefined, into: Record<string, unknown>): void {
  into[GROUP_ATTRIBUTE] = group;
  if (left > 0) into[SUPPRESSED_ATTRIBUTE] = left;
  into[SOURCE_ATTRIBUTE] = source;
  if (rpc !== undefined) requestAttributes(rpc, s.opts.redactor, status, into);
  if (s.opts.serviceVersion !== undefined) into['service.version'] = s.opts.serviceVersion;
  into['deployment.environment.name'] = s.opts.environment;
}

function onServerSpan(s: CaptureState, rpc: ServerRequestMetadata | undefined, n: Normalized): void {
  const span = rpc?.span;
  if (span === undefined || !span.isRecording()) return;
  const err = n.error;
  const mapped = n.stack === undefined ? undefined : mapStack(n.stack, s.ownDir);
  if (err === undefined || mapped === n.stack) {
    span.recordException(err ?? { name: n.type, message: n.message });
    return;
  }
  // What recordException reads of an Error (code, name, message, stack), the stack mapped.
  const code = (err as { code?: unknown }).code;
  span.recordException({ code: typeof code === 'string' || typeof code === 'number' ? code : undefined, name: err.name, message: err.message, stack: mapped });
}

/** Counts, flood-controls and exports one error. Returns the redacted message when a record was made. */
function capture(s: CaptureState, value: unknown, source: string, ctx: Context, rpc: ServerRequestMetadata | undefined, status: number | undefined, extra: Attributes | undefined, timeMs: number): string | undefined {
  const n = normalize(value);
  const group = groupOf(s, n);
  count(s, n.type, group, rpc);
  onServerSpan(s, rpc, n);
  const left = s.flood.admit(group, timeMs);
  if (left < 0) return undefined;
  const r = s.opts.redactor;
  const attributes: Record<string, unknown> = {};
  if (extra !== undefined) {
    const clean = r.redactAttributes(extra);
    for (const k in clean) attributes[k] = clean[k];
  }
  const plain = n.error !== undefined ? serializeError(n.error) : { type: n.type, message: n.message };
  // Mapped before redaction: redaction may rewrite text the frames' locations are found by.
  mapSerialized(s, plain);
  const serialized = r.redactValue(plain);
  exceptionAttributes(serialized, attributes);
  contextAttributes(s, group, left, source, rpc, status, attributes);
  const body = `${serialized.type}: ${serialized.message}`;
  s.opts.emit?.({
    eventName: EXCEPTION_EVENT,
    timestamp: timeMs,
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body,
    // plain, acyclic data: serializeError's output and the request's strings
    attributes: attributes as LogAttributes,
    context: ctx,
  });
  return serialized.message;
}

function warnFailure(err: unknown): void {
  // Error tracking must never break the application; a failure here is reported once.
  reportOnce('error-capture', 'error capture failed; this error is not recorded', err);
}

/** One error reported now, with the active request's context if any (status: as sent so far). Never throws. */
function captureNow(err: unknown, source: string, attributes: Attributes | undefined, withStatus: boolean): void {
  const s = state;
  if (s === undefined) return;
  try {
    const ctx = activeContext();
    const rpc = serverRequest(ctx);
    if (!firstReport(err, rpc)) return;
    capture(s, err, source, ctx, rpc, withStatus && rpc !== undefined ? sentStatus(rpc) : undefined, attributes, s.now());
  } catch (e) {
    warnFailure(e);
  }
}

/**
 * Records an error the application caught (public API): one exception record with the request's
 * context when called during a request, `attributes` added (redacted). Never throws.
 */
export function captureException(err: unknown, attributes?: Attributes): void {
  captureNow(err, 'api', attributes, true);
}

/**
 * An uncaught exception or unhandled rejection that the application handles itself (origin
 * 'uncaughtException' or 'unhandledRejection'): one exception record, exported only, since the
 * application's stdout is its own. Never throws.
 */
export function captureUncaught(err: unknown, origin: string): void {
  captureNow(err, origin, undefined, false);
}

/**
 * A framework's error path saw an error (express's next(err) or a throw, koa's onerror). During
 * a request it is held until the response ends (settleRequestErrors): it is recorded when the
 * response is a server error. Outside a request it is recorded now.
 */
export function reportRequestError(err: unknown, source: string): void {
  const s = state;
  if (s === undefined || err === undefined || err === null) return;
  try {
    const ctx = activeContext();
    const rpc = serverRequest(ctx);
    if (rpc === undefined) {
      if (firstReport(err, undefined)) capture(s, err, source, ctx, undefined, undefined, undefined, s.now());
      return;
    }
    const pending = (rpc.errors ??= []);
    for (const p of pending) if (p.error === err) return;
    if (pending.length < MAX_PENDING) pending.push({ error: err, source, timeMs: s.now() });
  } catch (e) {
    warnFailure(e);
  }
}

/**
 * The response of a request with framework errors ended with this status. Server errors (5xx)
 * record each error not captured in the request yet. Returns the message for the span's status.
 */
export function settleRequestErrors(rpc: ServerRequestMetadata, status: number): string | undefined {
  const pending = rpc.errors;
  rpc.errors = undefined;
  const s = state;
  if (pending === undefined || s === undefined || !(status >= 500)) return undefined;
  let message: string | undefined;
  try {
    const ctx = requestSpanContext(rpc);
    for (const p of pending) {
      if (!firstReport(p.error, rpc)) continue;
      const m = capture(s, p.error, p.source, ctx, rpc, status, undefined, p.timeMs);
      message ??= m;
    }
    if (message === undefined) message = normalize(pending[0].error).message;
    return s.opts.redactor.redactString(message);
  } catch (e) {
    warnFailure(e);
    return undefined;
  }
}

/**
 * A logged error's `exception.stacktrace` (cause chain included, redacted) with its frames
 * mapped to the original sources, when a source map changed any; the log record's own attribute
 * (from the unmapped stack) is replaced by it. Undefined when nothing maps.
 */
function mappedStacktrace(s: CaptureState, err: Error): string | undefined {
  // Most logged errors have no mapped frame and no cause: nothing serialised for them.
  const stack = typeof err.stack === 'string' ? err.stack : undefined;
  if ((stack === undefined || mapStack(stack, s.ownDir) === stack) && !((err as { cause?: unknown }).cause instanceof Error)) return undefined;
  const plain = serializeError(err);
  if (!mapSerialized(s, plain)) return undefined;
  return fullStack(s.opts.redactor.redactValue(plain));
}

function withStacktrace(attributes: Record<string, unknown>, stacktrace: string | undefined): Record<string, unknown> {
  if (stacktrace !== undefined) attributes['exception.stacktrace'] = stacktrace;
  return attributes;
}

/** What otelkit's logger adds to its record of `log.error(..., err)`. */
export interface LoggedError {
  attributes: Record<string, unknown>;
  /** The record stands as the error's exception record (within the group's budget, first report). */
  exception: boolean;
}

/**
 * otelkit's logger (or the application's winston logger: source `winston`) logs an error at level error. The log line is the application's and is always
 * written; it carries the error's group, and it is the error's exception record (event name
 * `exception`, counted) unless the error was captured in this request already or its group is
 * over its budget.
 */
export function loggedError(err: Error, ctx: Context, source = 'logger'): LoggedError | undefined {
  const s = state;
  if (s === undefined) return undefined;
  try {
    const rpc = serverRequest(ctx);
    const n = normalize(err);
    const group = groupOf(s, n);
    const stacktrace = mappedStacktrace(s, err);
    if (!firstReport(err, rpc)) return { attributes: withStacktrace({ [GROUP_ATTRIBUTE]: group }, stacktrace), exception: false };
    count(s, n.type, group, rpc);
    const crash = crashes.get(err);
    if (crash !== undefined) source = crash;
    else onServerSpan(s, rpc, n);
    const left = s.flood.admit(group, s.now());
    if (left < 0) return { attributes: withStacktrace({ [GROUP_ATTRIBUTE]: group }, stacktrace), exception: false };
    const attributes: Record<string, unknown> = {};
    contextAttributes(s, group, left, source, rpc, rpc === undefined ? undefined : sentStatus(rpc), attributes);
    return { attributes: withStacktrace(attributes, stacktrace), exception: true };
  } catch (e) {
    warnFailure(e);
    return undefined;
  }
}


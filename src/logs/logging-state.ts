// The logging module state every part of the logger reads live: the configuration initLogging
// applied, the loggers made so far (by name), winston once loaded, and the warn-once memory.
// Fields are read through `state` on every use, so setup.ts's reassignments are seen at once.
import type * as Winston from 'winston';
import type { LoggingConfig } from '../config/types';
import { emit as diagEmit } from '../diag';
import { createRedactor, type Redactor } from '../redact/redactor';
import type { RotatingFileSink } from './file-sink';
import type { OtelkitLogger } from './logger';
import type { OwnLogRecord } from './record';
import type { Context } from '@opentelemetry/api';

/** Error tracking's view of `log.error(..., err)`: attributes to add, and whether the record is the error's exception record. */
export type LoggedErrorHook = (err: Error, ctx: Context, source?: string) => { attributes: Record<string, unknown>; exception: boolean } | undefined;

export type LogRedactor = Pick<Redactor, 'redactString' | 'redactValue'>;
export type WinstonModule = typeof Winston;

interface State {
  cfg: LoggingConfig;
  initialized: boolean;
  serviceName: string | undefined;
  redactor: LogRedactor | undefined;
  out: NodeJS.WritableStream | undefined;
  pretty: boolean;
  file: RotatingFileSink | undefined;
  /** LEVEL_VALUES of the file's minimum level; -1 without a file. */
  fileLevel: number;
  bridge: boolean;
  sink: ((record: OwnLogRecord) => void) | undefined;
  onError: LoggedErrorHook | undefined;
  /** Bumped by init/reset so per-logger caches (name part, OTel logger) refresh. */
  generation: number;
  /** winston, once getLogger has loaded it; kept across resetLogging, like the Logger class. */
  winston: WinstonModule | undefined;
}

// Before initLogging: info, JSON, redaction on, no file, no bridge (nothing is configured yet).
export const DEFAULT_CONFIG: LoggingConfig = { level: 'info', levels: [], format: 'json', captureConsole: false, bridge: false };

export const state: State = {
  cfg: DEFAULT_CONFIG,
  initialized: false,
  serviceName: undefined,
  redactor: undefined,
  out: undefined,
  pretty: false,
  file: undefined,
  fileLevel: -1,
  bridge: false,
  sink: undefined,
  onError: undefined,
  generation: 0,
  winston: undefined,
};

/** The loggers getLogger made, by name (the root of each name; children are not cached). */
export const cache = new Map<string, OtelkitLogger>();

export function redactor(): LogRedactor {
  // Redaction is on by default (spec); before initLogging hands us the configured redactor, use
  // the built-in rules.
  return (state.redactor ??= createRedactor({ enabled: true, extraKeys: [] }));
}

export function warnOnce(key: string, message: string, err?: unknown): void {
  if (warned.has(key)) return;
  warned.add(key);
  const e = err instanceof Error ? { type: err.name, message: err.message, ...('code' in err ? { code: (err as { code: unknown }).code } : {}) } : err;
  diagEmit('warn', message, e === undefined ? undefined : { error: e });
}
export const warned = new Set<string>();

// Routes console.log/info/warn/error/debug through a logger, so stray console output gets the
// same JSON shape, trace ids, redaction and OTLP bridge as everything else.
import { format } from 'node:util';

type Method = 'log' | 'info' | 'warn' | 'error' | 'debug';
const METHODS: readonly Method[] = ['log', 'info', 'warn', 'error', 'debug'];
const LEVEL: Readonly<Record<Method, 'info' | 'warn' | 'error' | 'debug'>> = {
  log: 'info',
  info: 'info',
  warn: 'warn',
  error: 'error',
  debug: 'debug',
};

/** What capture needs from a logger: the four level methods, each taking a string or an Error. */
export interface CaptureLogger {
  info(message: string | Error): unknown;
  warn(message: string | Error): unknown;
  error(message: string | Error): unknown;
  debug(message: string | Error): unknown;
}

type ConsoleFn = (...args: unknown[]) => void;

interface Installed {
  target: Console;
  originals: Record<Method, ConsoleFn>;
  replacements: Record<Method, ConsoleFn>;
}

let installed: Installed | undefined;
// Set while a captured call is inside the logger: anything that then writes to the console (a
// console exporter, a transport, a debug hook) goes to the real console instead of recursing.
let busy = false;

/**
 * `redactArg` cleans each non-string argument before console.log's formatting turns it into
 * text, where `{ password: 'x' }` would no longer be recognisable as a field.
 */
export function installConsoleCapture(logger: CaptureLogger, target: Console = console, redactArg: (v: unknown) => unknown = (v) => v): () => void {
  if (installed) uninstallConsoleCapture();
  const originals = {} as Record<Method, ConsoleFn>;
  const replacements = {} as Record<Method, ConsoleFn>;
  for (const m of METHODS) {
    const original = target[m] as ConsoleFn;
    originals[m] = original;
    const level = LEVEL[m];
    replacements[m] = function captured(...args: unknown[]): void {
      if (busy) {
        original.apply(target, args);
        return;
      }
      busy = true;
      try {
        // A lone Error stays an Error so it gets the structured error fields, not just a stack string.
        const one = args.length === 1 ? args[0] : undefined;
        logger[level](typeof one === 'string' || one instanceof Error ? one : format(...args.map((a) => (typeof a === 'string' ? a : redactArg(a)))));
      } catch {
        // the logger failed: the application's console output must not be lost
        original.apply(target, args);
      } finally {
        busy = false;
      }
    };
    target[m] = replacements[m];
  }
  installed = { target, originals, replacements };
  return uninstallConsoleCapture;
}

/** Puts the original methods back, unless someone replaced ours since (then theirs stay). */
export function uninstallConsoleCapture(): void {
  if (!installed) return;
  const { target, originals, replacements } = installed;
  for (const m of METHODS) {
    if (target[m] === replacements[m]) target[m] = originals[m];
  }
  installed = undefined;
}

export function isConsoleCaptured(): boolean {
  return installed !== undefined;
}

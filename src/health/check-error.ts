// A failed check's error as /readyz answers it: one line with the message, code and cause that
// say why (drivers nest them), redacted whole and then cut to 300 characters (cut first, a
// credential straddling the cut loses the context that marks it), and fallbackRedact, the
// credential scrub applied after any injected redactor. Checks' errors are untrusted text.
import { createRedactor, REDACTED } from '../redact/redactor';

const MAX_ERROR_LENGTH = 300;

/**
 * Last line of defence when no redactor is injected (or the injected one throws): driver errors
 * and check messages most often leak credentials as URL userinfo or libpq-style key=value pairs.
 */
let defaultRedactor: ReturnType<typeof createRedactor> | undefined;

export function fallbackRedact(message: string, injected: boolean): string {
  // Without an injected redactor (health.handler() in a process started without otelkit's
  // preload), the default one: secrets in health answers are never a configuration choice.
  const scanned = injected ? message : (defaultRedactor ??= createRedactor({ enabled: true, extraKeys: [] })).redactString(message);
  return scanned
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, `$1:${REDACTED}@`)
    .replace(/\b(password|passwd|pwd)=("[^"]*"|'[^']*'|[^\s&;]+)/gi, `$1=${REDACTED}`);
}

function describeOne(err: unknown): string {
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err)) {
    const e = err as { message?: unknown; code?: unknown; errors?: unknown; cause?: unknown };
    let message = typeof e.message === 'string' ? e.message : '';
    // net.connect to a host with several addresses rejects with an AggregateError whose own
    // message is empty; the useful text sits on the first inner error.
    if (!message && Array.isArray(e.errors) && e.errors.length > 0) message = describeOne(e.errors[0]);
    const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : '';
    if (code && !message.includes(code)) message = message ? `${message} (${code})` : code;
    // fetch() reports only "fetch failed"; the reason (ECONNREFUSED, DNS...) is on the cause.
    if (e.cause !== undefined && e.cause !== err) {
      const cause = describeOne(e.cause);
      if (cause && !message.includes(cause)) message = message ? `${message}: ${cause}` : cause;
    }
    return message || (err instanceof Error ? err.name : 'error');
  }
  if (err === undefined) return 'failed';
  try {
    return String(err);
  } catch {
    return 'failed';
  }
}

/** The whole error on one line; redact it, then cutError. */
export function describeError(err: unknown): string {
  try {
    return describeOne(err).replace(/\s+/g, ' ').trim();
  } catch {
    return 'failed';
  }
}

/** At most 300 characters, for text that has been redacted already. */
export function cutError(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

// A failed check's error as /readyz answers it: one line of at most 300 characters, with the
// message, code and cause that say why (drivers nest them), and fallbackRedact, the credential
// scrub applied after any injected redactor. Checks' errors are untrusted text from application code.
import { REDACTED } from '../redact/redactor';

const MAX_ERROR_LENGTH = 300;

/**
 * Last line of defence when no redactor is injected (or the injected one throws): driver errors
 * and check messages most often leak credentials as URL userinfo or libpq-style key=value pairs.
 */
export function fallbackRedact(message: string): string {
  return message
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

export function describeError(err: unknown): string {
  let text: string;
  try {
    text = describeOne(err).replace(/\s+/g, ' ').trim();
  } catch {
    text = 'failed';
  }
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

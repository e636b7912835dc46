// Redaction: secrets and personal data must never leave the process (SPEC "Redaction").
// This runs on every log record and every span end, so the common case (nothing to redact)
// is a single cheap regex test per string and a cached Map lookup per key, and allocates nothing.
// The parts: keys.ts (which keys are secret), text-patterns.ts (secret values inside strings),
// deep-redactor.ts (objects, collections and span attributes); this file puts them together.
import { DeepRedactor, makeAttributeRedactor } from './deep-redactor';
import { makeKeyMatcher } from './keys';
import { scanString, URL_REDACTED } from './text-patterns';

export { REDACTED, URL_REDACTED } from './text-patterns';

export interface RedactOptions {
  enabled: boolean;
  extraKeys: readonly string[];
}

/** Every method returns its input (same reference) when nothing needed redacting, never throws and never mutates. */
export interface Redactor {
  readonly enabled: boolean;
  /** Case- and separator-insensitive; see the key rule in keys.ts. Cached. */
  isSensitiveKey(key: string): boolean;
  /** Replaces secret value patterns anywhere in the text; the rest of the text is kept. */
  redactString(s: string): string;
  /** redactString for a URL or query string: also treats a leading `name=` as a query parameter. */
  redactUrl(s: string): string;
  /**
   * Deep copy-on-write. Cycles become "[Circular]", containers deeper than MAX_DEPTH become
   * "[Truncated]", and containers over MAX_ENTRIES are cut with a marker.
   */
  redactValue<T>(v: T): T;
  /**
   * OTel attribute maps: key check, string and string-array values, nested maps deep. URL keys
   * (url.full, url.query...) as redactUrl but with the semantic conventions' marker, REDACTED.
   */
  redactAttributes(attrs: Record<string, unknown>): Record<string, unknown>;
}

function identity<T>(v: T): T {
  return v;
}

export function createRedactor(opts: RedactOptions): Redactor {
  if (!opts.enabled) {
    return {
      enabled: false,
      isSensitiveKey: () => false,
      redactString: identity,
      redactUrl: identity,
      redactValue: identity,
      redactAttributes: identity,
    };
  }

  const isSensitiveKey = makeKeyMatcher(opts.extraKeys);
  const redactString = (s: string): string => scanString(s, false, isSensitiveKey);
  const redactUrl = (s: string): string => scanString(s, true, isSensitiveKey);
  const redactUrlAttribute = (s: string): string => scanString(s, true, isSensitiveKey, URL_REDACTED);
  const deep = new DeepRedactor(isSensitiveKey, redactString, redactUrl);
  const redactAttributes = makeAttributeRedactor(isSensitiveKey, redactString, redactUrlAttribute, (v) => deep.run(v));

  return {
    enabled: true,
    isSensitiveKey,
    redactString,
    redactUrl,
    redactValue<T>(v: T): T {
      // The deep walker preserves shapes except for masked, truncated or circular spots, which
      // become strings; callers treat the result as the same loosely typed log/attribute data.
      return deep.run(v) as T;
    },
    redactAttributes,
  };
}

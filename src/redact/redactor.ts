// Redaction: secrets and personal data must never leave the process (SPEC "Redaction").
// This runs on every log record and every span end, so the common case (nothing to redact)
// is a single cheap regex test per string and a cached Map lookup per key, and allocates nothing.
import { types as utilTypes } from 'node:util';

export interface RedactOptions {
  enabled: boolean;
  extraKeys: readonly string[];
}

export const REDACTED = '[REDACTED]';

/** Every method returns its input (same reference) when nothing needed redacting, never throws and never mutates. */
export interface Redactor {
  readonly enabled: boolean;
  /** Case- and separator-insensitive; see the key rule below. Cached. */
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
  /** OTel attribute maps: key check, string and string-array values, URL keys via redactUrl. */
  redactAttributes(attrs: Record<string, unknown>): Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Key matching.
//
// A key is split into lower-case words at separators (`_ - . space /` ...) and camelCase /
// acronym boundaries (`APIKey` -> api key). Then, with `joined` = the words concatenated:
//  - CONTAINS terms match anywhere in `joined`. They are long enough to be unambiguous and this
//    catches prefixed and compound forms: db_password, dbpassword, pass_word, client_secret,
//    x-api-key, sessionId, set-cookie, creditCard, card_number, privateKey, cookieConsent.
//  - WORD terms are short and must be a whole word: `ssn` (not in "classname" or
//    "address_number"), `pwd`, `auth` (not "author"), `jwt`.
//  - token: the LAST word must end in "token" (accessToken, refresh_token, x-auth-token,
//    csrftoken). This keeps counters such as tokens_used, gen_ai.usage.input_tokens,
//    llm.token_count.prompt and words like tokenizer readable.
//  - extraKeys (OTELKIT_REDACT_KEYS) match a contiguous run of whole words, so `customer_ref`
//    matches customerRef and x-customer-ref, and a short extra key like `pin` does not match
//    "shipping".
// Under a sensitive key, booleans, null and undefined are kept (a flag carries no secret, so
// `cookieConsent: true` stays) and every other value becomes REDACTED.
// ---------------------------------------------------------------------------------------------

const CONTAINS_TERMS = [
  'password', 'passwd', 'passphrase', 'secret', 'apikey', 'authorization', 'cookie', 'session',
  'creditcard', 'cardnumber', 'cvv', 'cvc', 'privatekey', 'credential', 'socialsecurity',
];
const WORD_TERMS = new Set(['ssn', 'pwd', 'auth', 'jwt']);
const KEY_CACHE_LIMIT = 2048;
const KEY_CACHE_MAX_KEY_LENGTH = 256;

function splitWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function matchesBuiltIn(words: readonly string[], joined: string): boolean {
  for (const term of CONTAINS_TERMS) if (joined.includes(term)) return true;
  for (const w of words) if (WORD_TERMS.has(w)) return true;
  const lastWord = words[words.length - 1];
  return lastWord !== undefined && lastWord.endsWith('token');
}

function matchesWordRun(words: readonly string[], wanted: string): boolean {
  for (let i = 0; i < words.length; i++) {
    let run = '';
    for (let j = i; j < words.length && run.length < wanted.length; j++) {
      run += words[j];
      if (run === wanted) return true;
    }
  }
  return false;
}

function makeKeyMatcher(extraKeys: readonly string[]): (key: string) => boolean {
  const extras = extraKeys.map(normalizeKey).filter((k) => k.length > 0);
  const cache = new Map<string, boolean>();
  return (key: string): boolean => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const words = splitWords(key);
    const joined = words.join('');
    const sensitive = matchesBuiltIn(words, joined) || extras.some((e) => matchesWordRun(words, e));
    if (key.length <= KEY_CACHE_MAX_KEY_LENGTH) {
      // Keys come from code, so the working set is small; a full clear keeps the bound simple.
      if (cache.size >= KEY_CACHE_LIMIT) cache.clear();
      cache.set(key, sensitive);
    }
    return sensitive;
  };
}

// ---------------------------------------------------------------------------------------------
// Value patterns.
//
// TRIGGER is a cheap necessary condition: every pattern below needs one of these substrings, so
// a string that fails it is returned untouched after one regex test. Strings that pass run one
// small regex per pattern family (most behind an includes() gate): a single alternation of all
// families was 2-3x slower on clean URLs. Patterns start behind a lookbehind boundary or a literal
// and use bounded or non-overlapping quantifiers, so a scan stays linear in the string length
// (no catastrophic backtracking on megabyte strings).
// ---------------------------------------------------------------------------------------------

const TRIGGER = /[@=]|"\s*:|[Bb]earer|BEARER|[Bb]asic|BASIC|eyJ|A[KS]IA|-----BEGIN|[2-6]\d{3}[ -]?\d{4}[ -]?\d{2}/;

type KeyTest = (key: string) => boolean;

/** One pattern family. `replace` returns the replacement, or undefined to keep the match. */
interface Pass {
  gate?: string; // literal every match contains: skip the regex when absent
  re: RegExp;
  replace(m: RegExpExecArray, isSensitiveKey: KeyTest): string | undefined;
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function looksLikeBasicCredentials(b64: string): boolean {
  const decoded = Buffer.from(b64, 'base64').toString('latin1');
  if (!decoded.includes(':')) return false;
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Prose like "Bearer authentication" must survive; real tokens have a digit or symbol, or are long.
function looksLikeToken(t: string): boolean {
  return t.length >= 24 || /[\d.~+/=_-]/.test(t);
}

// In a URL query (and only there) these short names hold secrets too: ?key=, ?sig=, OAuth ?code=,
// X-Amz-Signature. Outside a query "code=500" is a status, so they are not general keys.
const QUERY_ONLY_NAME = /^(?:key|sig|code|otp)$|signature$/i;

function pairPass(value: string, urlMode: boolean): Pass {
  return {
    gate: '=',
    re: new RegExp(String.raw`(^|[\s?&;,])([A-Za-z_][\w.-]{0,63})=(${value})`, 'g'),
    replace(m, isSensitiveKey) {
      const [, b = '', name = '', v = ''] = m;
      if (v === '' || v === REDACTED) return undefined;
      const queryContext = b === '?' || b === '&' || (urlMode && (b === '' || b === ';'));
      const sensitive = isSensitiveKey(name) || (queryContext && QUERY_ONLY_NAME.test(name));
      return sensitive ? `${b}${name}=${REDACTED}` : undefined;
    },
  };
}

const whole = (): string => REDACTED;

// Order matters only for tidiness: userinfo before email (so the host survives) and JWT, bearer
// and email before name=value (so a later pass sees [REDACTED] and leaves it).
const COMMON_PASSES: readonly Pass[] = [
  {
    // PEM private key; an unterminated block (cut by a length limit) is redacted to the end.
    gate: '-----BEGIN',
    re: /-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)/g,
    replace: whole,
  },
  {
    // scheme://userinfo@: all of the userinfo goes. A lone "user" is often a token
    // (https://ghp_x@github.com), and a username is personal data often enough.
    // Anchored on the literal "://" rather than the scheme, which keeps the scan cheap.
    gate: '://',
    re: /:\/\/[^\s/?#@"'<>]{1,512}@/g,
    replace: () => `://${REDACTED}@`,
  },
  { gate: 'eyJ', re: /(?<![\w-])eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, replace: whole },
  {
    re: /(?<![\w-])((?:[Bb]earer|BEARER)\s+)([\w.~+/-]{8,}=*)/g,
    replace: (m) => (looksLikeToken(m[2] ?? '') ? `${m[1] ?? ''}${REDACTED}` : undefined),
  },
  {
    re: /(?<![\w-])((?:[Bb]asic|BASIC)\s+)([A-Za-z0-9+/]{4,}={0,2})(?![\w+/=])/g,
    replace: (m) => (looksLikeBasicCredentials(m[2] ?? '') ? `${m[1] ?? ''}${REDACTED}` : undefined),
  },
  { re: /(?<![A-Za-z0-9])A[KS]IA[A-Z0-9]{16}(?![A-Za-z0-9])/g, replace: whole },
  {
    gate: '@',
    re: /(?<![\w.%+-])[\w.%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])/g,
    replace: whole,
  },
  {
    // "name": "value" and "name": 123 inside serialized JSON.
    gate: '"',
    re: /("([^"\\\n]{1,128})"\s*:\s*)("[^"\\\n]*(?:\\.[^"\\\n]*)*"|-?\d[\d.eE+-]{0,40})/g,
    replace: (m, isSensitiveKey) =>
      isSensitiveKey(m[2] ?? '') && m[3] !== `"${REDACTED}"` ? `${m[1] ?? ''}"${REDACTED}"` : undefined,
  },
];

// Card numbers: major industry identifier 2-6 (so 13-digit epoch-millisecond timestamps, which
// start with 1, are never candidates), contiguous or in 4-4-4-x / 4-6-5 groups, Luhn-checked.
const CARD_PASS: Pass = {
  re: /(?<![\w.-])(?:[2-6]\d{12,18}|[2-6]\d{3}([ -])\d{4}\1\d{4}\1\d{1,7}|[2-6]\d{3}([ -])\d{6}\2\d{4,5})(?![\w-]|\.\d)/g,
  replace(m) {
    const digits = m[0].replace(/[ -]/g, '');
    return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? REDACTED : undefined;
  },
};

// Free text ends a value at separators and honours quotes; in a URL only & and # end a value.
const TEXT_PASSES = [...COMMON_PASSES, pairPass(String.raw`"[^"\n]*"|'[^'\n]*'|[^\s&#,;"']*`, false), CARD_PASS];
const URL_PASSES = [...COMMON_PASSES, pairPass(String.raw`[^\s&#]*`, true), CARD_PASS];

function runPass(s: string, pass: Pass, isSensitiveKey: KeyTest): string {
  if (pass.gate !== undefined && !s.includes(pass.gate)) return s;
  const re = pass.re;
  re.lastIndex = 0;
  let out = '';
  let last = 0;
  let changed = false;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const rep = pass.replace(m, isSensitiveKey);
    if (rep === undefined || rep === m[0]) {
      // Rejected candidates (a non-sensitive name=value, a Luhn failure) are rescanned from the
      // next character so that patterns inside them are still found.
      re.lastIndex = m.index + 1;
      continue;
    }
    out += s.slice(last, m.index) + rep;
    last = m.index + m[0].length;
    changed = true;
  }
  return changed ? out + s.slice(last) : s;
}

function scanString(s: string, urlMode: boolean, isSensitiveKey: KeyTest): string {
  if (s.length < 3 || !TRIGGER.test(s)) return s;
  try {
    let out = s;
    for (const pass of urlMode ? URL_PASSES : TEXT_PASSES) out = runPass(out, pass, isSensitiveKey);
    return out;
  } catch {
    // A regex engine failure (e.g. backtrack stack exhaustion) must not leak the raw value.
    return REDACTED;
  }
}

// ---------------------------------------------------------------------------------------------
// Deep values.
// ---------------------------------------------------------------------------------------------

const MAX_DEPTH = 10;
const MAX_ENTRIES = 10_000; // per array/object/Map/Set; the rest is dropped with a marker
const MAX_NODES = 1_000_000; // per redactValue call, guards against huge shared-reference DAGs
const TRUNCATED = '[Truncated]';
const CIRCULAR = '[Circular]';

// Attribute keys holding a URL or a query string (OTel semantic conventions, old and new).
// url.path is deliberately not here: only userinfo and the query carry credentials.
const URL_ATTRIBUTE_KEYS = new Set([
  'url.full', 'url.original', 'url.query', 'http.url', 'http.target', 'http.request.header.referer',
]);

// Attribute keys whose values come from code or a closed vocabulary (a normalised method, a
// route template, an enum): nothing a request can put a secret into. Skipping their scan is most
// of the redaction cost of a server span. Their raw counterparts (http.request.method_original)
// are scanned.
const CLOSED_ATTRIBUTE_KEYS = new Set([
  'http.request.method', 'url.scheme', 'network.protocol.version', 'network.protocol.name', 'network.transport', 'network.type',
  'http.route', 'express.type', 'express.name', 'db.system', 'db.system.name', 'db.operation.name', 'rpc.system', 'messaging.system',
]);

const enum AttributeKind {
  Closed,
  Sensitive,
  Url,
  Text,
}

function maskValue(v: unknown): unknown {
  if (v === null || v === undefined || typeof v === 'boolean' || v === REDACTED) return v;
  return REDACTED;
}

const hasOwn = Object.prototype.hasOwnProperty;

// Objects left exactly as they are: nothing secret is reachable through own enumerable data,
// or copying them would break them (buffers are binary, promises/weak collections are opaque).
function isOpaque(o: object): boolean {
  return (
    o instanceof Date ||
    o instanceof RegExp ||
    ArrayBuffer.isView(o) ||
    o instanceof ArrayBuffer ||
    o instanceof Promise ||
    o instanceof WeakMap ||
    o instanceof WeakSet
  );
}

class DeepRedactor {
  private readonly stack: object[] = [];
  private nodes = 0;

  constructor(
    private readonly isSensitiveKey: (k: string) => boolean,
    private readonly text: (s: string) => string,
    private readonly url: (s: string) => string,
  ) {}

  run(v: unknown): unknown {
    // Every push is popped in a finally, so the stack is already empty; truncating it anyway
    // would free its backing store and make the next call allocate.
    this.nodes = 0;
    try {
      return this.value(v, 0);
    } catch {
      // Only a throwing getter on the input gets here; fail closed rather than pass it through.
      return REDACTED;
    }
  }

  private entry(key: string, v: unknown, depth: number): unknown {
    return this.isSensitiveKey(key) ? maskValue(v) : this.value(v, depth);
  }

  private value(v: unknown, depth: number): unknown {
    if (typeof v === 'string') return this.text(v);
    if (typeof v !== 'object' || v === null) return v; // numbers, bigint, symbols, functions...
    const proto: unknown = Object.getPrototypeOf(v);
    const plain = proto === Object.prototype || proto === null;
    if (!plain && !Array.isArray(v) && isOpaque(v)) return v;
    if (depth > MAX_DEPTH || ++this.nodes > MAX_NODES) return TRUNCATED;
    // The output never points back into the input: a back reference would expose the
    // unredacted original through the copy, so cycles become a marker.
    if (this.stack.includes(v)) return CIRCULAR;
    this.stack.push(v);
    try {
      if (plain) return this.object(v as Record<string, unknown>, depth);
      if (Array.isArray(v)) return this.array(v, depth);
      if (v instanceof Map) return this.map(v, depth);
      if (v instanceof Set) return this.set(v, depth);
      if (utilTypes.isNativeError(v) || v instanceof Error) return this.error(v, depth);
      if (v instanceof URL) return this.urlObject(v);
      if (v instanceof URLSearchParams) {
        const s = v.toString();
        const r = this.url(s);
        return r === s ? v : r;
      }
      return this.object(v as Record<string, unknown>, depth);
    } finally {
      this.stack.pop();
    }
  }

  private array(a: readonly unknown[], depth: number): unknown {
    let out: unknown[] | undefined;
    const n = Math.min(a.length, MAX_ENTRIES);
    for (let i = 0; i < n; i++) {
      const before = a[i];
      const after = this.value(before, depth + 1);
      if (!Object.is(after, before)) {
        out ??= a.slice(0, n);
        out[i] = after;
      }
    }
    if (a.length > n) {
      out ??= a.slice(0, n);
      out.push(`${TRUNCATED} ${a.length - n} more items`);
    }
    return out ?? a;
  }

  private object(o: Record<string, unknown>, depth: number): unknown {
    let out: Record<string, unknown> | undefined;
    let count = 0;
    // for..in + hasOwn instead of Object.keys: no key array allocated on the clean path.
    for (const key in o) {
      if (!hasOwn.call(o, key)) continue;
      if (++count > MAX_ENTRIES) {
        out ??= this.shallowCopy(o);
        let kept = 0;
        for (const k in out) {
          if (++kept > MAX_ENTRIES) delete out[k];
        }
        out[TRUNCATED] = 'more keys omitted';
        break;
      }
      const before = o[key];
      const after = this.entry(key, before, depth + 1);
      if (!Object.is(after, before)) {
        out ??= this.shallowCopy(o);
        out[key] = after;
      }
    }
    return out ?? o;
  }

  // Keeps the prototype so class instances still answer instanceof and their methods.
  private shallowCopy(o: Record<string, unknown>): Record<string, unknown> {
    const copy = Object.create(Object.getPrototypeOf(o) as object | null) as Record<string, unknown>;
    for (const key in o) if (hasOwn.call(o, key)) copy[key] = o[key];
    return copy;
  }

  private map(m: Map<unknown, unknown>, depth: number): unknown {
    let changed = m.size > MAX_ENTRIES;
    const entries: [unknown, unknown][] = [];
    for (const [k, before] of m) {
      if (entries.length >= MAX_ENTRIES) break;
      const after = typeof k === 'string' ? this.entry(k, before, depth + 1) : this.value(before, depth + 1);
      if (!Object.is(after, before)) changed = true;
      entries.push([k, after]);
    }
    if (!changed) return m;
    const out = new Map(entries);
    if (m.size > MAX_ENTRIES) out.set(TRUNCATED, `${m.size - MAX_ENTRIES} more entries`);
    return out;
  }

  private set(s: Set<unknown>, depth: number): unknown {
    let changed = s.size > MAX_ENTRIES;
    const values: unknown[] = [];
    for (const before of s) {
      if (values.length >= MAX_ENTRIES) break;
      const after = this.value(before, depth + 1);
      if (!Object.is(after, before)) changed = true;
      values.push(after);
    }
    if (!changed) return s;
    const out = new Set(values);
    if (s.size > MAX_ENTRIES) out.add(`${TRUNCATED} ${s.size - MAX_ENTRIES} more items`);
    return out;
  }

  // Errors carry message, stack and cause as own non-enumerable properties, so they are walked
  // by descriptor; the copy keeps the prototype and the original enumerability.
  private error(e: Error, depth: number): unknown {
    let changes: Map<string, unknown> | undefined;
    for (const name of Object.getOwnPropertyNames(e)) {
      const d = Object.getOwnPropertyDescriptor(e, name);
      if (d === undefined) continue;
      let before: unknown;
      if ('value' in d) before = d.value;
      else if (name === 'stack') before = e.stack; // V8's own accessor; other getters are not called
      else continue;
      const after = this.entry(name, before, depth + 1);
      if (!Object.is(after, before)) (changes ??= new Map()).set(name, after);
    }
    if (changes === undefined) return e;
    const copy = Object.create(Object.getPrototypeOf(e) as object | null) as Error;
    for (const name of Object.getOwnPropertyNames(e)) {
      const d = Object.getOwnPropertyDescriptor(e, name);
      if (d === undefined) continue;
      if (changes.has(name)) {
        Object.defineProperty(copy, name, {
          value: changes.get(name),
          writable: true,
          enumerable: d.enumerable ?? false,
          configurable: true,
        });
      } else {
        Object.defineProperty(copy, name, d);
      }
    }
    return copy;
  }

  // URL objects have no own data: their secrets sit behind prototype getters and toJSON.
  private urlObject(u: URL): unknown {
    const href = u.href;
    const r = this.url(href);
    return r === href ? u : r;
  }
}

// ---------------------------------------------------------------------------------------------

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
  const deep = new DeepRedactor(isSensitiveKey, redactString, redactUrl);

  // What an attribute key asks for, looked up once per key instead of in three sets: spans
  // carry the same few dozen keys over and over.
  const kinds = new Map<string, AttributeKind>();
  const kindOf = (key: string): AttributeKind => {
    let kind = kinds.get(key);
    if (kind !== undefined) return kind;
    kind = CLOSED_ATTRIBUTE_KEYS.has(key) ? AttributeKind.Closed : isSensitiveKey(key) ? AttributeKind.Sensitive : URL_ATTRIBUTE_KEYS.has(key) ? AttributeKind.Url : AttributeKind.Text;
    if (key.length <= KEY_CACHE_MAX_KEY_LENGTH) {
      if (kinds.size >= KEY_CACHE_LIMIT) kinds.clear();
      kinds.set(key, kind);
    }
    return kind;
  };

  const redactAttributeValue = (key: string, v: unknown): unknown => {
    const kind = kindOf(key);
    if (kind === AttributeKind.Closed) return v;
    if (kind === AttributeKind.Sensitive) return maskValue(v);
    const str = kind === AttributeKind.Url ? redactUrl : redactString;
    if (typeof v === 'string') return str(v);
    if (!Array.isArray(v)) return v;
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const before: unknown = v[i];
      if (typeof before !== 'string') continue;
      const after = str(before);
      if (!Object.is(after, before)) (out ??= v.slice())[i] = after;
    }
    return out ?? v;
  };

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
    redactAttributes(attrs: Record<string, unknown>): Record<string, unknown> {
      let out: Record<string, unknown> | undefined;
      for (const key in attrs) {
        if (!hasOwn.call(attrs, key)) continue;
        const before = attrs[key];
        const after = redactAttributeValue(key, before);
        if (!Object.is(after, before)) {
          out ??= { ...attrs };
          out[key] = after;
        }
      }
      return out ?? attrs;
    },
  };
}

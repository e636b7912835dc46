// Text patterns for redaction: secret values found anywhere in a string (bearer and basic
// credentials, JWTs, AWS keys, PEM blocks, Luhn-checked cards, emails, URL userinfo, name=value
// pairs). REDACTED is defined here, the lowest layer that writes it; redactor.ts re-exports it, so
// the deep walker takes it from here without an import cycle.

export const REDACTED = '[REDACTED]';

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

export function scanString(s: string, urlMode: boolean, isSensitiveKey: KeyTest): string {
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

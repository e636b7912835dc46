// Text patterns for redaction: secret values found anywhere in a string (bearer and basic
// credentials, JWTs, AWS keys, vendor tokens, PEM blocks, card numbers, emails, URL userinfo,
// name=value and name: value pairs). REDACTED is defined here, the lowest layer that writes it;
// redactor.ts re-exports it, so the deep walker takes it from here without an import cycle.

export const REDACTED = '[REDACTED]';
/**
 * The marker of the OpenTelemetry HTTP semantic conventions for url.full and url.query
 * (`https://REDACTED:REDACTED@host/?sig=REDACTED`): URL attributes carry it instead of
 * REDACTED, so otelkit's and upstream instrumentations' spans agree and neither re-redacts
 * the other's.
 */
export const URL_REDACTED = 'REDACTED';

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

// The triggers added for issue 29 are tested apart from TRIGGER, by indexOf and startsWith: as
// branches of TRIGGER they made a clean string's test 2-3x slower (lookbehinds and branches that
// start with a letter class defeat the regex engine's quick scan for a first character).

// "word: value", "'word': 'value'": a letter or quote, an optional space, ":", then a space or
// a quote. URLs ("https://"), times ("12:00") and ports ("host:80") do not qualify.
function colonTrigger(s: string): boolean {
  for (let i = s.indexOf(':'); i > 0; i = s.indexOf(':', i + 1)) {
    const next = s.charCodeAt(i + 1);
    if (next !== 32 && next !== 9 && next !== 39 && next !== 34) continue;
    let prev = s.charCodeAt(i - 1);
    if (prev === 32 && i > 1) prev = s.charCodeAt(i - 2);
    if ((prev >= 65 && prev <= 90) || (prev >= 97 && prev <= 122) || prev === 39 || prev === 34) return true;
  }
  return false;
}

// Vendor token prefixes end in "_" or "-" (AIza aside): the ones with "_" are looked for behind
// each "_" of the string.
const VENDOR_BEFORE_UNDERSCORE = ['ghp', 'gho', 'ghu', 'ghs', 'ghr', 'github_pat', 'sk_live', 'sk_test', 'rk_live', 'rk_test', 'whsec', 'npm'];

function prefixBefore(s: string, sep: string, prefixes: readonly string[]): boolean {
  for (let i = s.indexOf(sep); i > 0; i = s.indexOf(sep, i + 1)) {
    for (const p of prefixes) if (i >= p.length && s.startsWith(p, i - p.length)) return true;
  }
  return false;
}

function vendorTrigger(s: string): boolean {
  // "-" is in most ids and user agents; the three dash prefixes are cheaper as substrings.
  return s.includes('AIza') || s.includes('xox') || s.includes('sk-') || s.includes('glpat-') || prefixBefore(s, '_', VENDOR_BEFORE_UNDERSCORE);
}

// The shortest vendor token (xoxb- and ten characters) is 15 long.
const VENDOR_MIN_LENGTH = 15;

/** Whether any pass can match: TRIGGER for all of them, or one of the issue 29 triggers for its own passes. */
function extraTriggered(s: string): boolean {
  return s.includes('%40') || colonTrigger(s) || (s.length >= VENDOR_MIN_LENGTH && vendorTrigger(s));
}

type KeyTest = (key: string) => boolean;

/** What a pass's replace function can use besides the match. */
interface ScanContext {
  isSensitiveKey: KeyTest;
  marker: string;
  /** The whole text scan, for a value that had to be decoded first. */
  rescan(s: string): string;
}

/** One pattern family. `replace` returns the replacement, or undefined to keep the match. */
interface Pass {
  gate?: string; // literal every match contains: skip the regex when absent
  gate2?: string; // a second literal that may stand for the first (%40 for @)
  when?: (s: string) => boolean; // a gate that is not one literal
  extra?: true; // can match where TRIGGER does not (see extraTriggered)
  re: RegExp;
  replace(m: RegExpExecArray, ctx: ScanContext): string | undefined;
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

/**
 * Whether the digits have the issuer prefix (IIN) and a length of a card scheme that issues
 * with it: Visa, Mastercard (51-55, 2221-2720), Amex, Discover, UnionPay, JCB, Diners, Maestro.
 * yyyyMMdd... timestamps start with 19 or 20, which no scheme uses (Mastercard's 2-series
 * starts at 2221), so they are never candidates.
 */
function cardSchemeValid(d: string): boolean {
  const len = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  const p6 = Number(d.slice(0, 6));
  if (d[0] === '4') return len === 13 || len === 16 || len === 19;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return len === 16;
  if (p2 === 34 || p2 === 37) return len === 15;
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925) || p2 === 62) return len >= 16 && len <= 19;
  if (p4 >= 3528 && p4 <= 3589) return len >= 16 && len <= 19;
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return len >= 14 && len <= 19;
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return len >= 12 && len <= 19;
  return false;
}

// Words that say the next number is a card: within CARD_CONTEXT_CHARS before an unseparated
// candidate. Without one, a run of digits is an id (orders, payments, snowflakes) and is kept.
// "payment" and "order" are not among them: payment_id=4242... is an id.
const CARD_CONTEXT = /card|(?<![a-z])(?:cc|ccn|pan)(?![a-z])|visa|mastercard|amex|american express|jcb|diners|maestro|unionpay|credit|debit/i;
const CARD_CONTEXT_CHARS = 32;

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

function safeDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A value that is already a marker (ours, or upstream's REDACTED in a URL) is left alone. */
function isMarker(v: string): boolean {
  const c = v.charCodeAt(0);
  // Most values start with neither "[", "R" nor a quote: one comparison decides.
  if (c !== 91 && c !== 82 && c !== 34 && c !== 39) return false;
  return v === URL_REDACTED || v.startsWith(REDACTED) || v === `"${REDACTED}"` || v === `'${REDACTED}'`;
}

// In a URL query (and only there) these short names hold secrets too: ?key=, OAuth ?code=.
// Outside a query "code=500" is a status, so they are not general keys.
const QUERY_ONLY_NAME = /^(?:key|code)$/i;

function pairPass(value: string, urlMode: boolean): Pass {
  return {
    gate: '=',
    // Names may be percent-encoded (api%5Fkey) or be a command-line flag (--api-key=).
    re: new RegExp(String.raw`(^|[\s?&;,])(-{0,2})([A-Za-z_%][\w.%-]{0,63})=(${value})`, 'g'),
    replace(m, ctx) {
      // Indexing, not destructuring: this runs for every name=value of every query.
      const v = m[4] ?? '';
      if (v === '' || isMarker(v)) return undefined;
      const b = m[1] ?? '';
      const dashes = m[2] ?? '';
      const rawName = m[3] ?? '';
      const name = rawName.includes('%') ? safeDecode(rawName) : rawName;
      const queryContext = dashes === '' && (b === '?' || b === '&' || (urlMode && (b === '' || b === ';')));
      const sensitive = ctx.isSensitiveKey(name) || (queryContext && QUERY_ONLY_NAME.test(name));
      if (sensitive) return `${b}${dashes}${rawName}=${ctx.marker}`;
      // A percent-encoded value hides what the other patterns look for (a%40b.com, a nested
      // URL's token%3D...): decoded, it is scanned again, and any find masks the whole value.
      if (!v.includes('%')) return undefined;
      const decoded = safeDecode(v);
      if (decoded !== v && ctx.rescan(decoded) !== decoded) return `${b}${dashes}${rawName}=${ctx.marker}`;
      return undefined;
    },
  };
}

// "password: x", "{ password: 'x' }" (util.inspect), "'token': 'x'", YAML "secret: x", header
// lines "Authorization: Token x". An authentication scheme word is kept and the credential after
// it masked.
const AUTH_SCHEME = '(?:Bearer|Basic|Token|Digest|Negotiate|NTLM|Bot|ApiKey|Api-Key|Key|OAuth|SSWS|AWS4-HMAC-SHA256|HOBA|Mutual)';
// Cookie and authorization header lines hold several credentials (`Cookie: theme=dark; sid=x`,
// `Authorization: Digest username="u", response="..."`): the whole value to the end of the line.
const HEADER_LINE_PASS: Pass = {
  extra: true,
  when: colonTrigger,
  re: new RegExp(
    String.raw`((?:^|[\s{,;(\[])(['"]?)(?:set-cookie|cookie|(?:proxy-)?authorization)\2[ \t]*:[ \t]*(?:${AUTH_SCHEME}[ \t]+)?)('[^'\n]*'|"[^"\n]*"|[^\s'"][^\n]*)`,
    'gi',
  ),
  replace(m, ctx) {
    const [, head = '', , v = ''] = m;
    if (isMarker(v) || m.input.startsWith(REDACTED, m.index + head.length)) return undefined;
    const q = v[0] === "'" || v[0] === '"' ? v[0] : '';
    return `${head}${q}${ctx.marker}${q}`;
  },
};

const COLON_PASS: Pass = {
  extra: true,
  when: colonTrigger,
  re: new RegExp(
    String.raw`((?:^|[\s{,;(\[])(['"]?)([A-Za-z_][\w.-]{0,63})\2[ \t]*:[ \t]*(?:${AUTH_SCHEME}[ \t]+)?)('[^'\n]*'|"[^"\n]*"|[^\s,;'"}\])]+)`,
    'gi',
  ),
  replace(m, ctx) {
    const [, head = '', , name = '', v = ''] = m;
    if (v.length === 0 || isMarker(v) || !ctx.isSensitiveKey(name)) return undefined;
    // The value pattern stops at "]", so an earlier pass's [REDACTED] shows up cut.
    if (m.input.startsWith(REDACTED, m.index + head.length)) return undefined;
    if (v === "''" || v === '""') return undefined;
    const q = v[0] === "'" || v[0] === '"' ? v[0] : '';
    return `${head}${q}${ctx.marker}${q}`;
  },
};

// Order matters only for tidiness: userinfo before email (so the host survives) and JWT, bearer
// and email before name=value (so a later pass sees the marker and leaves it).
const COMMON_PASSES: readonly Pass[] = [
  {
    // PEM private key; an unterminated block (cut by a length limit) is redacted to the end.
    gate: '-----BEGIN',
    re: /-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)/g,
    replace: (_m, ctx) => ctx.marker,
  },
  {
    // scheme://userinfo@: all of the userinfo goes. A lone "user" is often a token
    // (https://ghp_x@github.com), and a username is personal data often enough.
    // Anchored on the literal "://" rather than the scheme, which keeps the scan cheap.
    gate: '://',
    re: /:\/\/([^\s/?#@"'<>]{1,512})@/g,
    replace: (m, ctx) => {
      const info = m[1] ?? '';
      if (info === 'REDACTED:REDACTED' || isMarker(info)) return undefined;
      return ctx.marker === URL_REDACTED ? '://REDACTED:REDACTED@' : `://${ctx.marker}@`;
    },
  },
  { gate: 'eyJ', re: /(?<![\w-])eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, replace: (_m, ctx) => ctx.marker },
  {
    re: /(?<![\w-])((?:[Bb]earer|BEARER)\s+)([\w.~+/-]{8,}=*)/g,
    replace: (m, ctx) => (looksLikeToken(m[2] ?? '') ? `${m[1] ?? ''}${ctx.marker}` : undefined),
  },
  {
    re: /(?<![\w-])((?:[Bb]asic|BASIC)\s+)([A-Za-z0-9+/]{4,}={0,2})(?![\w+/=])/g,
    replace: (m, ctx) => (looksLikeBasicCredentials(m[2] ?? '') ? `${m[1] ?? ''}${ctx.marker}` : undefined),
  },
  { re: /(?<![A-Za-z0-9])A[KS]IA[A-Z0-9]{16}(?![A-Za-z0-9])/g, replace: (_m, ctx) => ctx.marker },
  {
    // Vendor tokens with a published, fixed shape: GitHub (classic and fine-grained), Stripe
    // secret, restricted and webhook keys, Slack, Google API keys, GitLab, npm, OpenAI.
    extra: true,
    when: vendorTrigger,
    re: /(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_\w{22,244}|[rs]k_(?:live|test)_[A-Za-z0-9]{10,247}|whsec_[A-Za-z0-9]{20,250}|xox[abposr]-[A-Za-z0-9-]{10,250}|AIza[\w-]{35}|glpat-[\w-]{20,250}|npm_[A-Za-z0-9]{36}|sk-(?:proj-|ant-)?[\w-]{32,250})(?![\w-])/g,
    replace: (_m, ctx) => ctx.marker,
  },
  {
    // Also percent-encoded (a%40b.com in a query). user@host:path is an SSH/git remote, not an
    // address, so a domain followed by ":" and a path character is not taken. The local part
    // takes RFC 5322's symbols; those that delimit a value around it (' / = ? { | }) only as its
    // last character, so that key=alice@x.com keeps "key=".
    extra: true,
    gate: '@',
    gate2: '%40',
    re: /(?<![\w.!#$%&*+^`~-])[\w.!#$%&*+^`~-]{0,63}[\w.!#$%&'*+/=?^`{|}~-](?:@|%40)(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9]|:[\w~/.-])/g,
    // REDACTED@host is a URL's userinfo already masked (REDACTED:REDACTED@host), not an address.
    replace: (m, ctx) => (m[0].startsWith('REDACTED@') ? undefined : ctx.marker),
  },
  {
    // "name": "value" and "name": 123 inside serialized JSON.
    gate: '"',
    re: /("([^"\\\n]{1,128})"\s*:\s*)("[^"\\\n]*(?:\\.[^"\\\n]*)*"|-?\d[\d.eE+-]{0,40})/g,
    replace: (m, ctx) =>
      ctx.isSensitiveKey(m[2] ?? '') && !isMarker(m[3] ?? '') && m[3] !== `"${ctx.marker}"` ? `${m[1] ?? ''}"${ctx.marker}"` : undefined,
  },
  HEADER_LINE_PASS,
  COLON_PASS,
];

// Card numbers: grouped 4-4-4-x, 4-4-4-4-x or 4-6-5 with one separator, or a run of 12-19 digits, that
// carries a card scheme's issuer prefix and length and passes the Luhn check. A run without
// separators is a card only after a card word (CARD_CONTEXT): about one in ten 16-digit ids
// passes Luhn, and ids are far more common in telemetry than unformatted cards.
const CARD_PASS: Pass = {
  re: /(?<![\w.-])(?:[2-6]\d{11,18}|[2-6]\d{3}([ -])\d{4}\1\d{4}(?:\1\d{4})?\1\d{1,7}|[2-6]\d{3}([ -])\d{6}\2\d{4,5})(?![\w-]|\.\d)/g,
  replace(m, ctx) {
    const grouped = m[1] !== undefined || m[2] !== undefined;
    const digits = grouped ? m[0].replace(/[ -]/g, '') : m[0];
    if (digits.length < 12 || digits.length > 19 || !cardSchemeValid(digits) || !luhnValid(digits)) return undefined;
    if (!grouped && !CARD_CONTEXT.test(m.input.slice(Math.max(0, m.index - CARD_CONTEXT_CHARS), m.index))) return undefined;
    return ctx.marker;
  },
};

// Free text ends a value at separators and honours quotes; in a URL only & and # end a value.
const TEXT_PASSES = [...COMMON_PASSES, pairPass(String.raw`"[^"\n]*"|'[^'\n]*'|[^\s&#,;"']*`, false), CARD_PASS];
const URL_PASSES = [...COMMON_PASSES, pairPass(String.raw`[^\s&#]*`, true), CARD_PASS];

function runPass(s: string, pass: Pass, ctx: ScanContext): string {
  if (pass.gate !== undefined && !s.includes(pass.gate) && (pass.gate2 === undefined || !s.includes(pass.gate2))) return s;
  if (pass.when !== undefined && !pass.when(s)) return s;
  const re = pass.re;
  re.lastIndex = 0;
  let out = '';
  let last = 0;
  let changed = false;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const rep = pass.replace(m, ctx);
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

// A decoded value can itself be encoded (%2540): two levels are followed, deeper ones are not.
const MAX_RESCAN_DEPTH = 2;

function scan(s: string, urlMode: boolean, isSensitiveKey: KeyTest, marker: string, depth: number): string {
  if (s.length < 3) return s;
  // Without TRIGGER only the passes an issue 29 trigger stands for run ("Error: x" runs the
  // two colon passes, not all fourteen).
  const all = TRIGGER.test(s);
  if (!all && !extraTriggered(s)) return s;
  const ctx: ScanContext = {
    isSensitiveKey,
    marker,
    rescan: (t) => (depth >= MAX_RESCAN_DEPTH ? t : scan(t, false, isSensitiveKey, marker, depth + 1)),
  };
  try {
    let out = s;
    for (const pass of urlMode ? URL_PASSES : TEXT_PASSES) if (all || pass.extra === true) out = runPass(out, pass, ctx);
    return out;
  } catch {
    // A regex engine failure (e.g. backtrack stack exhaustion) must not leak the raw value.
    return marker;
  }
}

export function scanString(s: string, urlMode: boolean, isSensitiveKey: KeyTest, marker: string = REDACTED): string {
  return scan(s, urlMode, isSensitiveKey, marker, 0);
}

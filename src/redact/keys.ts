// Key matching for redaction: which field names hold secrets (the key rule below), as a cached
// predicate. createRedactor makes one per redactor and hands it to the text patterns (name=value
// pairs) and the deep walker (object and attribute keys).

// ---------------------------------------------------------------------------------------------
// Key matching: the secret word must be the key's head.
//
// A key is split into lower-case words at separators (`_ - . space /` ...) and camelCase /
// acronym boundaries (`APIKey` -> api key); a word's trailing digits are dropped (password2).
// Trailing QUALIFIER words that say how or which a value is, not what it is (id, value, hash,
// confirm, new, prod...), are dropped too. What remains names the thing; its last word is the
// head. The key is sensitive when
//  - the head, or the head joined with the one or two words before it, ENDS WITH a HEAD_TERM:
//    password, dbpassword, pass_word, client_secret, accessToken, x-auth-token, set-cookie,
//    x-api-key, private_key, card_number, aws_access_key_id (id dropped, "accesskey"),
//    X-Goog-Signature, session_id;
//  - or it EQUALS a short EXACT_TERM (pass, pwd, pin, otp, ssn, jwt, auth, cvv, sig...), which
//    must be whole so that bypass, spin, author and classname stay readable.
// So a secret word that only qualifies another head is not a secret: session_count,
// authorization_status, cookie_consent, password_changed_at, credential_type, token_type,
// tokens_used, gen_ai.usage.input_tokens, secretary. The CONTAINS-anywhere rule this replaces
// masked all of those.
//  - extraKeys (OTELKIT_REDACT_KEYS) match a contiguous run of whole words anywhere, so
//    `customer_ref` matches customerRef and x-customer-ref, and `pin` does not match "shipping".
// Under a sensitive key, booleans, null and undefined are kept (a flag carries no secret) and
// every other value becomes REDACTED.
// ---------------------------------------------------------------------------------------------

const HEAD_TERMS = [
  'password', 'passwords', 'passwd', 'passphrase', 'passcode', 'secret', 'secrets', 'token', 'apikey', 'apikeys',
  'authorization', 'cookie', 'cookies', 'session', 'sessionid', 'sessid', 'creditcard', 'cardnumber', 'cvv', 'cvc',
  'privatekey', 'secretkey', 'accesskey', 'signingkey', 'encryptionkey', 'masterkey', 'sessionkey', 'authkey',
  'licensekey', 'hmackey', 'credential', 'credentials', 'socialsecurity', 'socialsecuritynumber', 'signature',
  'mfacode', 'otpcode', 'authcode', 'pincode', 'securitycode', 'verificationcode', 'recoverycode',
];
const EXACT_TERMS = new Set(['pass', 'pwd', 'pin', 'otp', 'totp', 'hotp', 'ssn', 'jwt', 'auth', 'sig', 'pan', 'ccn']);
// Words after the head that do not change what the value is.
const QUALIFIERS = new Set([
  'id', 'value', 'val', 'str', 'string', 'text', 'data', 'raw', 'plain', 'plaintext', 'enc', 'encrypted', 'encoded',
  'b64', 'base64', 'hex', 'pem', 'hash', 'hashed', 'digest', 'header', 'headers', 'confirm', 'confirmation',
  'confirmed', 'new', 'old', 'current', 'prev', 'previous', 'repeat', 'again', 'verify', 'tmp', 'temp', 'prod',
  'production', 'dev', 'staging', 'test', 'live', 'env', 'field', 'input', 'param', 'var', '',
]);
export const KEY_CACHE_LIMIT = 2048;
export const KEY_CACHE_MAX_KEY_LENGTH = 256;

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

function matchesBuiltIn(allWords: readonly string[]): boolean {
  const words = allWords.map((w) => w.replace(/\d+$/, ''));
  let end = words.length;
  while (end > 1 && QUALIFIERS.has(words[end - 1] ?? '')) end--;
  let suffix = '';
  for (let n = 1; n <= 3 && end - n >= 0; n++) {
    suffix = (words[end - n] ?? '') + suffix;
    if (n === 1 && EXACT_TERMS.has(suffix)) return true;
    for (const term of HEAD_TERMS) if (suffix.endsWith(term)) return true;
  }
  return false;
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

export function makeKeyMatcher(extraKeys: readonly string[]): (key: string) => boolean {
  const extras = extraKeys.map(normalizeKey).filter((k) => k.length > 0);
  const cache = new Map<string, boolean>();
  return (key: string): boolean => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const words = splitWords(key);
    const sensitive = matchesBuiltIn(words) || extras.some((e) => matchesWordRun(words, e));
    if (key.length <= KEY_CACHE_MAX_KEY_LENGTH) {
      // Keys come from code, so the working set is small; a full clear keeps the bound simple.
      if (cache.size >= KEY_CACHE_LIMIT) cache.clear();
      cache.set(key, sensitive);
    }
    return sensitive;
  };
}

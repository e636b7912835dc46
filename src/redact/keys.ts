// Key matching for redaction: which field names hold secrets (the key rule below), as a cached
// predicate. createRedactor makes one per redactor and hands it to the text patterns (name=value
// pairs) and the deep walker (object and attribute keys).

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

export function makeKeyMatcher(extraKeys: readonly string[]): (key: string) => boolean {
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

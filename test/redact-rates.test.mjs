// Issue 29 item 6: the redactor's leak and false-positive rates, measured with property-based
// generators (fast-check) on a corpus of card numbers, ids, timestamps, emails and keys in the
// places a service puts them. Each property asserts the rate the README states; the measured
// rates are printed as test diagnostics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRedactor } from '../dist/redact/redactor.js';

const r = createRedactor({ enabled: true, extraKeys: [] });
const RUNS = 3000;
const SEED = 29; // reproducible rates; a failure prints its counterexample either way

const digits = (min, max) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((a) => a.join(''));

function luhnCheckDigit(body) {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = body.charCodeAt(body.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

// Issuer prefixes and lengths of the schemes (ISO/IEC 7812 ranges as the schemes publish them).
const SCHEMES = [
  { name: 'visa', prefixes: ['4'], lengths: [13, 16, 19] },
  { name: 'mastercard', prefixes: ['51', '52', '53', '54', '55', '2221', '2500', '2720'], lengths: [16] },
  { name: 'amex', prefixes: ['34', '37'], lengths: [15] },
  { name: 'discover', prefixes: ['6011', '65', '644', '649'], lengths: [16, 19] },
  { name: 'jcb', prefixes: ['3528', '3589'], lengths: [16] },
  { name: 'diners', prefixes: ['300', '305', '36', '38'], lengths: [14] },
  { name: 'unionpay', prefixes: ['62'], lengths: [16, 19] },
];
const card = fc
  .constantFrom(...SCHEMES)
  .chain((s) => fc.tuple(fc.constantFrom(...s.prefixes), fc.constantFrom(...s.lengths)))
  .chain(([prefix, length]) => digits(length - prefix.length - 1, length - prefix.length - 1).map((mid) => {
    const body = prefix + mid;
    return body + luhnCheckDigit(body);
  }));

const group4 = (c) => c.match(/.{1,4}/g).join(' ');
const CARD_FORMATS = {
  'grouped with spaces': (c) => `paid with ${group4(c)} today`,
  'grouped with dashes': (c) => `charge ${group4(c).replace(/ /g, '-')} declined`,
  'unseparated after a card word': (c) => `card ${c} declined`,
  'unseparated under a key (JSON)': (c) => JSON.stringify({ order: 'o-1', cardNumber: c }),
  'unseparated in a query (?cc=)': (c) => `/checkout?cc=${c}&step=2`,
  'unseparated, no card word (by design)': (c) => `charge ${c} declined`,
};

function rate(hits, total) {
  return `${hits}/${total} (${((100 * hits) / total).toFixed(2)}%)`;
}

test('card numbers: leak rate per format', (t) => {
  const samples = fc.sample(card, { numRuns: RUNS, seed: SEED });
  for (const [format, render] of Object.entries(CARD_FORMATS)) {
    let leaks = 0;
    for (const c of samples) {
      const out = r.redactString(render(c));
      if (out.includes(c) || out.includes(group4(c)) || out.includes(group4(c).replace(/ /g, '-'))) leaks++;
    }
    t.diagnostic(`card leak rate, ${format}: ${rate(leaks, samples.length)}`);
    if (format.includes('by design')) assert.equal(leaks, samples.length, 'an unseparated run without a card word is kept');
    else assert.equal(leaks, 0, `${format}: ${leaks} leaks`);
  }
});

// Ids as services print them: any digits, 12-19 long, the first not 0 (a card-valid prefix and
// Luhn digit come up by chance: about one in ten pass Luhn).
const id = fc.tuple(fc.integer({ min: 1, max: 9 }), digits(11, 18)).map(([a, b]) => `${a}${b}`);
const ID_FORMATS = [
  (v) => `order ${v} created`,
  (v) => JSON.stringify({ orderId: v, amount: 42 }),
  (v) => `/api/orders/${v}?expand=items`,
  (v) => `payment_id=${v} status=ok`,
  (v) => `trace ${v} snowflake ${v}`,
];

test('ids and timestamps: false-positive rate is zero', (t) => {
  let candidates = 0;
  let redacted = 0;
  fc.assert(
    fc.property(id, fc.constantFrom(...ID_FORMATS), (v, render) => {
      const s = render(v);
      if (/^[2-6]/.test(v)) candidates++;
      const out = r.redactString(s);
      if (out !== s) redacted++;
      return out === s;
    }),
    { numRuns: RUNS * 3, seed: SEED },
  );
  // Luhn-valid ids with a real card scheme's prefix and length: the ones a Luhn-only rule took.
  const luhnIds = fc.sample(card, { numRuns: RUNS, seed: SEED + 1 });
  for (const v of luhnIds) {
    for (const render of ID_FORMATS) {
      const s = render(v);
      if (r.redactString(s) !== s) redacted++;
    }
  }
  // yyyyMMddHHmmssSSS, yyyyMMddHHmmss and epoch milliseconds and microseconds, 2000-2099.
  const stamp = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true });
  const stamps = fc.sample(stamp, { numRuns: RUNS, seed: SEED + 2 });
  for (const d of stamps) {
    const iso = d.toISOString();
    const compact = iso.replace(/[-:TZ.]/g, '');
    for (const s of [compact, compact.slice(0, 14), String(d.getTime()), `${d.getTime()}123`]) {
      const line = `at ${s} done`;
      if (r.redactString(line) !== line) redacted++;
    }
  }
  const total = RUNS * 3 + luhnIds.length * ID_FORMATS.length + stamps.length * 4;
  t.diagnostic(`id/timestamp false-positive rate: ${rate(redacted, total)} (${candidates} generated ids had a card-like first digit, ${luhnIds.length * ID_FORMATS.length} were card-valid)`);
  assert.equal(redacted, 0);
});

test('emails: leak rate on generated addresses, and SSH remotes are not addresses', (t) => {
  // Addresses as people have them: letters, digits and . _ % + - in the local part.
  const common = fc.emailAddress().filter((e) => /^[\w.%+-]+@/.test(e.split('@')[0] + '@'));
  let leaks = 0;
  const samples = fc.sample(common, { numRuns: RUNS, seed: SEED });
  for (const e of samples) {
    for (const s of [`contact ${e} now`, `/users?email=${encodeURIComponent(e)}`, JSON.stringify({ to: e })]) {
      const out = r.redactString(s);
      if (out.includes(e) || out.includes(encodeURIComponent(e))) leaks++;
    }
  }
  t.diagnostic(`email leak rate (common local parts): ${rate(leaks, samples.length * 3)}`);
  assert.equal(leaks, 0);
  // Any RFC 5322 local part (! # $ & ' * / = ? ^ ` { | } ~): measured, the part after the last
  // such character is masked with the domain.
  const any = fc.sample(fc.emailAddress(), { numRuns: RUNS, seed: SEED });
  let whole = 0;
  let partial = 0;
  for (const e of any) {
    const out = r.redactString(`contact ${e} now`);
    if (out.includes(e)) whole++;
    else if (out !== 'contact [REDACTED] now') partial++;
  }
  t.diagnostic(`any RFC 5322 address: kept whole ${rate(whole, any.length)}, start of the local part kept ${rate(partial, any.length)}`);
  assert.equal(whole, 0);
  const remote = fc.tuple(fc.constantFrom('github.com', 'gitlab.example.org'), fc.stringMatching(/^[a-z][a-z0-9-]{0,15}\/[a-z][a-z0-9._-]{0,20}$/));
  fc.assert(fc.property(remote, ([host, path]) => {
    const s = `git clone git@${host}:${path}`;
    return r.redactString(s) === s;
  }), { numRuns: 500, seed: SEED });
});

// Keys: a sensitive word as the head of a key, with a modifier before it or a qualifier after it,
// in any casing and separator, is masked; the same word qualifying another head is kept.
const SECRET_WORDS = ['password', 'passwd', 'secret', 'token', 'api_key', 'authorization', 'cookie', 'session', 'credential', 'private_key', 'pass', 'pin', 'otp', 'signature', 'access_key_id', 'card_number', 'cvv', 'ssn'];
const MODIFIERS = ['', 'db', 'user', 'client', 'x', 'aws', 'admin', 'smtp'];
const QUALIFIERS = ['', 'value', 'hash', 'confirmation', 'new', 'prod', 'id'];
const HARMLESS_HEADS = ['count', 'status', 'type', 'consent', 'changed_at', 'policy', 'length', 'enabled', 'expires_at', 'required', 'attempts', 'timeout', 'version'];
const styles = {
  snake: (w) => w.join('_'),
  kebab: (w) => w.join('-'),
  dotted: (w) => w.join('.'),
  camel: (w) => w.map((x, i) => (i === 0 ? x : x[0].toUpperCase() + x.slice(1))).join(''),
  upper: (w) => w.join('_').toUpperCase(),
};
const split = (...parts) => parts.filter(Boolean).flatMap((p) => p.split('_'));

test('keys: leak and false-positive rates', (t) => {
  let leaks = 0;
  let fps = 0;
  let n = 0;
  fc.assert(
    fc.property(fc.constantFrom(...SECRET_WORDS), fc.constantFrom(...MODIFIERS), fc.constantFrom(...QUALIFIERS), fc.constantFrom(...HARMLESS_HEADS), fc.constantFrom(...Object.values(styles)), (word, mod, qual, head, style) => {
      n++;
      const secretKey = style(split(mod, word, qual));
      const harmlessKey = style(split(mod, word, head));
      const leak = !r.isSensitiveKey(secretKey);
      const fp = r.isSensitiveKey(harmlessKey);
      if (leak) leaks++;
      if (fp) fps++;
      return !leak && !fp;
    }),
    { numRuns: RUNS, seed: SEED },
  );
  t.diagnostic(`key leak rate: ${rate(leaks, n)}; key false-positive rate: ${rate(fps, n)}`);
});

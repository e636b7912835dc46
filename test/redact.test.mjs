// Redaction (SPEC "Redaction"): keys, value patterns, deep values, limits and the span processor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor, REDACTED } from '../dist/redact/redactor.js';
import { RedactingSpanProcessor } from '../dist/redact/span-processor.js';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

const r = createRedactor({ enabled: true, extraKeys: ['customer_ref', 'pin'] });

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM =
  '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq9pemSECRET\nQ2xhc3NpYw==\n-----END RSA PRIVATE KEY-----';

function assertClean(output, secret, label) {
  const json = JSON.stringify(output, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  assert.ok(!json.includes(secret), `${label}: "${secret}" leaked in ${json}`);
  assert.ok(json.includes(REDACTED), `${label}: no ${REDACTED} marker in ${json}`);
}

test('span attributes from a closed vocabulary are not scanned; their raw and free-text neighbours are', () => {
  // A route template or a normalised method comes from code, never from the request.
  const attrs = {
    'http.route': '/users/:email@domain',
    'http.request.method': 'GET',
    'http.request.method_original': 'token=abc123secret',
    'url.query': 'password=hunter2',
    'user_agent.original': `Bearer ${JWT}`,
    pin: 1234,
  };
  const out = r.redactAttributes(attrs);
  assert.equal(out['http.route'], '/users/:email@domain');
  assert.equal(out['http.request.method'], 'GET');
  assertClean(out['http.request.method_original'], 'abc123secret', 'method_original');
  assert.equal(out['url.query'], 'password=REDACTED', 'URL attributes carry the semantic conventions\' marker');
  assertClean(out['user_agent.original'], JWT, 'user agent');
  assert.equal(out.pin, REDACTED, 'a number under a sensitive key is still masked');
});

// ---- keys ------------------------------------------------------------------------------------

const SENSITIVE_KEYS = [
  'password', 'Password', 'PASSWORD', 'pass_word', 'passwd', 'db_password', 'dbPassword', 'pwd',
  'secret', 'client_secret', 'clientSecret', 'token', 'accessToken', 'refresh_token', 'x-auth-token',
  'api_key', 'apiKey', 'API-KEY', 'API_KEY', 'APIKey', 'x-api-key', 'Authorization',
  'proxy-authorization', 'auth', 'cookie', 'Cookie', 'set-cookie', 'Set-Cookie', 'session',
  'sessionId', 'session_id', 'creditCard', 'credit_card', 'card_number', 'cardNumber', 'cvv', 'CVC',
  'ssn', 'SSN', 'privateKey', 'private_key', 'credentials', 'jwt',
  // issue 29: short whole-word terms, signatures, AWS key ids, qualifier words after the head
  'pass', 'db_pass', 'otp', 'signature', 'X-Goog-Signature', 'AWSAccessKeyId', 'aws_access_key_id',
  'aws_secret_access_key', 'x-amz-security-token', 'password_confirmation', 'password2', 'newPassword',
  'password_hash', 'secret_key', 'sig', 'cvv2', 'social_security_number', 'otp_code', 'jsessionid',
  'http.request.header.authorization', 'http.request.header.x-api-key',
  // extraKeys: whole-word runs, separator- and case-insensitive
  'customer_ref', 'customerRef', 'x-customer-ref', 'pin', 'card_pin',
];
// Rule: the last word must end in "token" (counters and "tokenizer" stay); short terms are whole
// words (ssn is not in "classname"); booleans under sensitive keys stay (cookieConsent: true).
const ORDINARY_KEYS = [
  'orderId', 'userId', 'timestamp', 'author', 'keyboard', 'tokenizer', 'tokens_used',
  'gen_ai.usage.input_tokens', 'llm.token_count.prompt', 'classname', 'address_number', 'shipping',
  'publicKey', 'key', 'code', 'status', 'email', 'url.full', 'authored_by', 'oauth_provider',
  // issue 29: a secret word that qualifies another head is not a secret
  'session_count', 'secretary', 'authorization_status', 'cookie_consent', 'cookieConsent', 'password_changed_at',
  'credential_type', 'token_type', 'bypass', 'spin', 'compass', 'sessions_active', 'passage', 'pinned',
];

test('sensitive keys are recognised case- and separator-insensitively', () => {
  for (const k of SENSITIVE_KEYS) assert.equal(r.isSensitiveKey(k), true, k);
  for (const k of ORDINARY_KEYS) assert.equal(r.isSensitiveKey(k), false, k);
  // under a sensitive key a boolean carries no secret
  assert.deepEqual(r.redactValue({ cookie: true, cookieConsent: 'granted' }), { cookie: true, cookieConsent: 'granted' });
});

test('values under sensitive keys are replaced, wherever the key is', () => {
  for (const k of SENSITIVE_KEYS) {
    const secret = `S3cr3t-${k.length}-value`;
    assertClean(r.redactValue({ [k]: secret, ok: 1 }), secret, `object ${k}`);
    assertClean(r.redactValue({ a: [{ b: { [k]: secret } }] }), secret, `nested ${k}`);
    assertClean(r.redactValue(new Map([[k, secret]])).get(k), secret, `Map ${k}`);
    assertClean(r.redactAttributes({ [k]: secret }), secret, `attributes ${k}`);
  }
  const out = r.redactValue({ password: 'hunter2', cvv: 123, ssn: 123456789n, token: { v: 'x' }, user: 'bob' });
  assert.deepEqual(out, { password: REDACTED, cvv: REDACTED, ssn: REDACTED, token: REDACTED, user: 'bob' });
  assert.deepEqual(r.redactValue({ password: null, secret: undefined }), { password: null, secret: undefined });
});

// ---- value patterns --------------------------------------------------------------------------

const SECRETS = [
  ['email', 'alice.smith+tag@example.co.uk'],
  ['bearer', 'Bearer abcDEF123456ghiJKL'],
  ['basic', 'Basic dXNlcjpodW50ZXIy'], // user:hunter2
  ['jwt', JWT],
  ['aws key', 'AKIAIOSFODNN7EXAMPLE'],
  ['aws session key', 'ASIAY34FZKBOKMUTVV7A'],
  ['pem', PEM],
  ['visa', 'card 4111111111111111'],
  ['visa spaced', '4111 1111 1111 1111'],
  ['mastercard dashed', '5555-5555-5555-4444'],
  ['amex grouped', '3782 822463 10005'],
  ['url userinfo', 'postgres://app:s3cretpw@db.internal:5432/orders'],
  ['url token param', 'https://api.example.com/v1/items?page=2&access_token=tok_9f8e7d6c'],
  ['url password param', 'https://h.example/login?user=bob&password=hunter2x'],
  ['url signature', 'https://bucket.s3.amazonaws.com/k?X-Amz-Signature=ab12cd34ef&X-Amz-Expires=60'],
  ['url api_key', 'https://maps.example.com/api?api_key=KEY123abc&q=berlin'],
  ['url code', 'https://app.example.com/callback?code=oauthcode777&state=xyz'],
  ['logfmt', 'login failed user=bob password=hunter2x retry=3'],
  ['json in text', 'body={"user":"bob","password":"hunter2x"}'],
];
// What must disappear for each case (the scheme word or URL host may stay).
const SECRET_PART = {
  'email': 'alice.smith', 'bearer': 'abcDEF123456ghiJKL', 'basic': 'dXNlcjpodW50ZXIy', 'jwt': 'eyJhbGci',
  'aws key': 'AKIAIOSFODNN7EXAMPLE', 'aws session key': 'ASIAY34FZKBOKMUTVV7A', 'pem': 'pemSECRET',
  'visa': '4111111111111111', 'visa spaced': '4111 1111', 'mastercard dashed': '5555-5555',
  'amex grouped': '822463', 'url userinfo': 's3cretpw', 'url token param': 'tok_9f8e7d6c',
  'url password param': 'hunter2x', 'url signature': 'ab12cd34ef', 'url api_key': 'KEY123abc',
  'url code': 'oauthcode777', 'logfmt': 'hunter2x', 'json in text': 'hunter2x',
};

test('value patterns are redacted in messages and the rest of the text is kept', () => {
  assert.equal(
    r.redactString('charge failed for alice@example.com at 12:00'),
    'charge failed for [REDACTED] at 12:00',
  );
  assert.equal(r.redactString('Authorization: Bearer abcDEF123456ghiJKL'), 'Authorization: Bearer [REDACTED]');
  assert.equal(r.redactString('connect postgres://app:pw@db:5432/x failed'), 'connect postgres://[REDACTED]@db:5432/x failed');
  assert.equal(r.redactString('GET /x?token=abc&page=2'), 'GET /x?token=[REDACTED]&page=2');
  assert.equal(r.redactString(`key: ${PEM}\ndone`), 'key: [REDACTED]\ndone');
  assert.equal(r.redactString('paid with 4111-1111-1111-1111.'), 'paid with [REDACTED].');
  for (const [label, secret] of SECRETS) {
    const part = SECRET_PART[label];
    const msg = `before ${secret} after`;
    const out = r.redactString(msg);
    assert.ok(!out.includes(part), `${label}: ${out}`);
    assert.ok(out.startsWith('before ') && out.endsWith(' after'), `${label}: context lost: ${out}`);
    assert.equal(r.redactString(out), out, `${label}: redaction is idempotent`);
  }
});

test('value patterns are redacted nested in objects, arrays, Maps, Sets, Errors and URLs', () => {
  for (const [label, secret] of SECRETS) {
    const part = SECRET_PART[label];
    const msg = `x ${secret} y`;
    const cause = new Error(`inner ${secret}`);
    const err = new Error(`outer ${secret}`, { cause });
    err.code = 'E_FAIL';
    err.detail = { note: msg };
    const input = {
      message: msg,
      list: ['ok', msg, 3],
      nested: { deeper: { text: msg } },
      map: new Map([['note', msg]]),
      set: new Set([msg]),
      err,
    };
    const out = r.redactValue(input);
    const json = JSON.stringify({
      ...out,
      map: [...out.map],
      set: [...out.set],
      err: { message: out.err.message, stack: out.err.stack, cause: out.err.cause.message,
        causeStack: out.err.cause.stack, detail: out.err.detail, code: out.err.code },
    });
    assert.ok(!json.includes(part), `${label}: leaked in ${json}`);
    assert.ok(out.err instanceof Error, 'error copy keeps its prototype');
    assert.equal(out.err.code, 'E_FAIL');
    assert.equal(Object.keys(out.err).includes('message'), false, 'message stays non-enumerable');
    assert.equal(err.message, `outer ${secret}`, 'original error untouched');
  }
  assert.equal(r.redactValue(new URL('https://u:p4ss@h.example/?token=t0k')), 'https://[REDACTED]@h.example/?token=[REDACTED]');
});

test('redactUrl: userinfo and sensitive query parameters, path kept', () => {
  assert.equal(r.redactUrl('https://user:pass@host.example/a/b?x=1'), 'https://[REDACTED]@host.example/a/b?x=1');
  assert.equal(r.redactUrl('https://ghp_abc123@github.com/o/r.git'), 'https://[REDACTED]@github.com/o/r.git');
  assert.equal(
    r.redactUrl('https://h/p?token=a&Password=b&api_key=c&apikey=d&signature=e&sig=f&secret=g&access_token=h&auth=i&key=j&session=k&code=l&page=2#frag'),
    'https://h/p?token=[REDACTED]&Password=[REDACTED]&api_key=[REDACTED]&apikey=[REDACTED]&signature=[REDACTED]&sig=[REDACTED]&secret=[REDACTED]&access_token=[REDACTED]&auth=[REDACTED]&key=[REDACTED]&session=[REDACTED]&code=[REDACTED]&page=2#frag',
  );
  // url.query values have no leading "?"; in a URL a value runs to the next & or #
  assert.equal(r.redactUrl('code=abc,def&state=1'), 'code=[REDACTED]&state=1');
  assert.equal(r.redactUrl('/users/42/orders?sort=desc'), '/users/42/orders?sort=desc');
  // outside a query, "code" and "key" are ordinary words
  assert.equal(r.redactString('exit code=1 key=value'), 'exit code=1 key=value');
});

const NEGATIVES = [
  'order ord_8f3a2c created',
  '2024-01-15T12:00:00.000Z',
  'request 550e8400-e29b-41d4-a716-446655440000 done',
  'amount 4111111111111112 fails Luhn',
  'epoch ms 1718000000000 and ns 1718000000000123456',
  'random float 0.5488135039273248',
  'phone +1 415 555 0100',
  'https://shop.example.com/api/orders/o-123?page=2&sort=desc',
  'GET /api/users/42 200 12ms',
  'Bearer authentication is required',
  'the basic plan costs 10 EUR',
  'status code=500 retry=3 attempt=2',
  'tokenizer ready, tokens_used=1234',
  'installed express@4.22.3 and @scope/pkg',
  '{"orderId":"o-1","amount":42,"currency":"EUR"}',
  'ordinary words: author keyboard passage session-less',
  '',
];

test('ordinary values stay byte-identical', () => {
  for (const s of NEGATIVES) {
    assert.equal(r.redactString(s), s);
    assert.equal(r.redactUrl(s), s);
  }
  const obj = { orderId: 'ord_8f3a2c', at: '2024-01-15T12:00:00.000Z', n: 4111111111111112, list: [...NEGATIVES] };
  assert.equal(r.redactValue(obj), obj);
});

// ---- structure -------------------------------------------------------------------------------

test('inputs are never mutated and unchanged values keep their identity', () => {
  const input = {
    user: { name: 'bob', password: 'hunter2', tags: ['a', 'alice@example.com'] },
    clean: { a: 1, b: ['x'] },
    headers: new Map([['authorization', 'Bearer abcdef123456'], ['accept', 'json']]),
  };
  const before = structuredClone(input);
  const out = r.redactValue(input);
  assert.deepEqual(input, before);
  assert.notEqual(out, input);
  assert.equal(out.clean, input.clean, 'untouched subtree is shared, not copied');
  assert.equal(out.user.tags[0], 'a');
  assert.equal(out.user.tags[1], REDACTED);
  assert.equal(out.headers.get('authorization'), REDACTED);

  const clean = { a: 'x', b: [1, 'two'], c: new Map([['k', 'v']]), d: new Set(['s']) };
  assert.equal(r.redactValue(clean), clean);
  const attrs = { 'http.route': '/x', 'http.response.status_code': 200 };
  assert.equal(r.redactAttributes(attrs), attrs);
  const s = 'nothing to see here';
  assert.equal(r.redactString(s), s);
  assert.equal(r.redactValue(s), s);
});

test('class instances keep their prototype; exotic values do not throw', () => {
  class Account {
    constructor() { this.id = 'acc-1'; this.apiKey = 'k-123456'; }
    describe() { return `account ${this.id}`; }
  }
  const acc = new Account();
  const out = r.redactValue(acc);
  assert.ok(out instanceof Account);
  assert.equal(out.apiKey, REDACTED);
  assert.equal(out.describe(), 'account acc-1');
  assert.equal(acc.apiKey, 'k-123456');

  const buf = Buffer.from('password=hunter2');
  const date = new Date(0);
  const sym = Symbol('s');
  const fn = () => 1;
  const odd = [buf, date, null, undefined, sym, 10n, fn, new Uint8Array(4), /re/g, Promise.resolve(), NaN];
  const res = r.redactValue(odd);
  assert.equal(res, odd);
  assert.equal(r.redactValue(null), null);
  assert.equal(r.redactValue(undefined), undefined);
  assert.equal(r.redactValue(42n), 42n);
  const nullProto = Object.create(null);
  nullProto.secret = 'x';
  assert.equal(r.redactValue(nullProto).secret, REDACTED);
  const throwing = { get boom() { throw new Error('getter'); } };
  assert.doesNotThrow(() => r.redactValue(throwing));
});

test('cycles, depth and size limits', () => {
  const a = { name: 'a', password: 'hunter2' };
  a.self = a;
  a.list = [a];
  const out = r.redactValue(a);
  assert.equal(out.password, REDACTED);
  assert.equal(out.self, '[Circular]');
  assert.equal(a.self, a);

  const cleanCycle = { n: 1 };
  cleanCycle.me = cleanCycle;
  assert.doesNotThrow(() => r.redactValue(cleanCycle));

  let deep = { secret: 'bottom' };
  for (let i = 0; i < 50; i++) deep = { child: deep };
  assert.ok(!JSON.stringify(r.redactValue(deep)).includes('bottom'));

  let t = performance.now();
  const big = Array.from({ length: 100_000 }, (_, i) => ({ id: i, note: i === 99_999 ? 'x@y.com' : 'ok' }));
  const bigOut = r.redactValue(big);
  assert.ok(performance.now() - t < 2000, 'large array is fast');
  assert.ok(!JSON.stringify(bigOut).includes('x@y.com'));

  const numbers = Array.from({ length: 100_000 }, (_, i) => i);
  assert.doesNotThrow(() => r.redactValue(numbers));

  t = performance.now();
  const mb = 'a'.repeat(1 << 20);
  assert.equal(r.redactString(mb), mb);
  const mixed = `${'word = @ "x": 4111 '.repeat(50_000)} alice@example.com ${'z'.repeat(500_000)}`;
  const mixedOut = r.redactString(mixed);
  assert.ok(!mixedOut.includes('alice@'));
  const tail = `${'b'.repeat(1 << 20)}@example.com token=secretvalue`;
  assert.ok(!r.redactString(tail).includes('secretvalue'));
  assert.ok(performance.now() - t < 3000, `1 MB strings are linear (${performance.now() - t} ms)`);
});

test('enabled: false is the identity', () => {
  const off = createRedactor({ enabled: false, extraKeys: ['x'] });
  assert.equal(off.enabled, false);
  const input = { password: 'hunter2', msg: 'alice@example.com' };
  assert.equal(off.redactValue(input), input);
  assert.equal(off.redactString('alice@example.com'), 'alice@example.com');
  assert.equal(off.redactUrl('https://u:p@h'), 'https://u:p@h');
  assert.equal(off.redactAttributes(input), input);
  assert.equal(off.isSensitiveKey('password'), false);
});

// ---- spans -----------------------------------------------------------------------------------

test('RedactingSpanProcessor cleans span, event and link attributes and status before export', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new RedactingSpanProcessor(r), new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('redact-test');
  const linked = tracer.startSpan('linked');
  linked.end();
  const span = tracer.startSpan('GET /users/:id', {
    attributes: { 'http.request.method': 'GET', 'url.full': 'https://u:pw99@api.example.com/x?token=tk-777&page=2' },
    links: [{ context: linked.spanContext(), attributes: { 'db.password': 'linkpw' } }],
  });
  span.setAttribute('user.password', 'hunter2x');
  span.setAttribute('http.request.header.authorization', ['Bearer abc123def456']);
  span.setAttribute('note', 'mail alice@example.com');
  span.setAttribute('http.response.status_code', 500);
  span.addEvent('login', { secret: 'evsecret', who: 'bob' });
  const err = new Error('charge failed for carol@example.com with 4111 1111 1111 1111');
  span.recordException(err);
  span.setStatus({ code: 2, message: 'failed for carol@example.com' });
  span.end();
  await provider.forceFlush();

  const exported = exporter.getFinishedSpans().find((s) => s.name === 'GET /users/:id');
  assert.ok(exported);
  const json = JSON.stringify({
    attributes: exported.attributes, events: exported.events, links: exported.links.map((l) => l.attributes),
    status: exported.status,
  });
  for (const secret of ['pw99', 'tk-777', 'hunter2x', 'abc123def456', 'alice@', 'evsecret', 'carol@', '4111 1111', 'linkpw']) {
    assert.ok(!json.includes(secret), `${secret} leaked: ${json}`);
  }
  assert.equal(exported.name, 'GET /users/:id');
  assert.equal(exported.attributes['http.request.method'], 'GET');
  assert.equal(exported.attributes['http.response.status_code'], 500);
  assert.equal(exported.attributes['url.full'], 'https://REDACTED:REDACTED@api.example.com/x?token=REDACTED&page=2');
  assert.equal(exported.events[0].attributes.who, 'bob');
  assert.equal(exported.events[1].attributes['exception.type'], 'Error');
  assert.equal(err.message, 'charge failed for carol@example.com with 4111 1111 1111 1111', 'error object untouched');
  await provider.shutdown();
});

test('RedactingSpanProcessor falls back to onEnd when the SDK has no onEnding hook', () => {
  const p = new RedactingSpanProcessor(r);
  const span = { attributes: { password: 'x1', ok: 'y' }, events: [], links: [], status: { code: 0 } };
  p.onEnd(span);
  assert.deepEqual(span.attributes, { password: REDACTED, ok: 'y' });
});

test('redaction happens in onEnding, so processors registered earlier also export clean data', async () => {
  const seen = [];
  const spy = {
    onStart() {},
    onEnd(span) { seen.push({ ...span.attributes }); },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new BasicTracerProvider({ spanProcessors: [spy, new RedactingSpanProcessor(r)] });
  const span = provider.getTracer('t').startSpan('s');
  span.setAttribute('api_key', 'k-999');
  span.end();
  assert.deepEqual(seen, [{ api_key: REDACTED }]);
  await provider.shutdown();
});

test('objects with very many keys are capped without throwing', () => {
  const wide = {};
  for (let i = 0; i < 20_000; i++) wide[`k${i}`] = i;
  wide.password = 'late-secret';
  const out = r.redactValue(wide);
  assert.ok(!JSON.stringify(out).includes('late-secret'));
  assert.ok(Object.keys(out).length <= 10_001);
});

// ---- issue 29: real-world shapes (item 5) and false positives (item 6) -----------------------

const GHP = `ghp_${'a1B2c3D4e5'.repeat(3)}x9Y8z7`;
const STRIPE = 'sk_live_51HqLyjWDarjtT1zdp7dcXYZ';
const SLACK = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const GOOGLE = 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q';

test('issue 29 item 5: percent-encoding, free text, authorization schemes, pass=, vendor tokens, CLI flags', () => {
  const cases = [
    ['GET /signup?email=alice%40example.com&plan=pro', 'alice%40example.com'],
    ['GET /x?api%5Fkey=Sup3rKeyValue&page=2', 'Sup3rKeyValue'],
    ['GET /cb?redirect=https%3A%2F%2Fapp.example%2Fdone%3Ftoken%3DNest3dTok&x=1', 'Nest3dTok'],
    ['login failed, password: Hunter2xyz', 'Hunter2xyz'],
    ["options { user: 'bob', password: 'Hunter2xyz' }", 'Hunter2xyz'],
    ["config {'secret': 'S3cretValue'}", 'S3cretValue'],
    ['Authorization: Token Tok3nValue99', 'Tok3nValue99'],
    ['proxy-authorization: Digest abcdef0123', 'abcdef0123'],
    ['Cookie: theme=dark; sid=S1dCookie9', 'S1dCookie9'],
    ['Authorization: Digest username="bob", realm="api", response="6629fae49393a05397450978507c4ef1"', '6629fae4'],
    ['mysql connect host=db pass=Hunter2xyz', 'Hunter2xyz'],
    ['started with --api-key=CliKey123 --port=80', 'CliKey123'],
    [`push with ${GHP}`, GHP],
    [`charge with ${STRIPE}`, STRIPE],
    [`slack ${SLACK} posted`, SLACK],
    [`maps key ${GOOGLE} in use`, GOOGLE],
  ];
  for (const [input, secret] of cases) {
    const out = r.redactString(input);
    assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
    assert.ok(out.includes(REDACTED), `${input}: no marker in ${out}`);
    assert.equal(r.redactString(out), out, `${input}: idempotent`);
  }
  assert.equal(r.redactString('Authorization: Token Tok3nValue99'), 'Authorization: Token [REDACTED]');
  assert.equal(r.redactString("{ user: 'bob', password: 'x1' }"), "{ user: 'bob', password: '[REDACTED]' }");
  assert.equal(r.redactString('started with --api-key=CliKey123 --port=80'), 'started with --api-key=[REDACTED] --port=80');
  // prose with a secret word and no value shape stays
  assert.equal(r.redactString('Error: password reset required'), 'Error: password reset required');
});

test('issue 29 item 5: keys pass, pin, otp, signature, aws_access_key_id are masked in objects and attributes', () => {
  const input = { pass: 'a1', pin: 1234, otp: '654321', signature: 'c2lnbmF0dXJl', aws_access_key_id: 'AKIA-less-value', ok: 'kept' };
  const out = r.redactValue(input);
  assert.deepEqual(out, { pass: REDACTED, pin: REDACTED, otp: REDACTED, signature: REDACTED, aws_access_key_id: REDACTED, ok: 'kept' });
  assert.deepEqual(r.redactAttributes({ 'app.otp': '123456', 'app.pin': '0000' }), { 'app.otp': REDACTED, 'app.pin': REDACTED });
});

test('issue 29 item 5: url.query and url.full use the semantic conventions\' REDACTED, and upstream\'s is left as it is', () => {
  const q = 'AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D&Expires=1141889120&sig=s1g&X-Goog-Signature=g00g&page=2';
  assert.equal(
    r.redactAttributes({ 'url.query': q })['url.query'],
    'AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1141889120&sig=REDACTED&X-Goog-Signature=REDACTED&page=2',
  );
  const full = 'https://u:p4ss@bucket.s3.example.com/k?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=abc&page=2';
  assert.equal(r.redactAttributes({ 'url.full': full })['url.full'], 'https://REDACTED:REDACTED@bucket.s3.example.com/k?AWSAccessKeyId=REDACTED&Signature=REDACTED&page=2');
  const upstream = { 'url.full': 'https://REDACTED:REDACTED@h.example/p?sig=REDACTED&Signature=REDACTED&x=1', 'url.query': 'sig=REDACTED' };
  assert.equal(r.redactAttributes(upstream), upstream, 'already redacted by upstream: same object back');
});

test('issue 29 item 5: span names are redacted', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new RedactingSpanProcessor(r), new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('names');
  tracer.startSpan('send mail to alice@example.com').end();
  tracer.startSpan('charge 4111 1111 1111 1111').end();
  tracer.startSpan('GET /orders/:id').end();
  await provider.forceFlush();
  assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), ['send mail to [REDACTED]', 'charge [REDACTED]', 'GET /orders/:id']);
  const fallback = { name: 'notify bob@example.com', attributes: {}, events: [], links: [], status: { code: 0 } };
  new RedactingSpanProcessor(r).onEnd(fallback);
  assert.equal(fallback.name, 'notify [REDACTED]');
  await provider.shutdown();
});

test('issue 29 item 4: nested maps in attributes (log records) are walked', () => {
  const attrs = { nested: { authorization: 'Bearer abcdef123456', deeper: [{ password: 'x1' }], ok: 1 }, msg: 'fine' };
  const out = r.redactAttributes(attrs);
  assert.deepEqual(out, { nested: { authorization: REDACTED, deeper: [{ password: REDACTED }], ok: 1 }, msg: 'fine' });
  assert.equal(attrs.nested.authorization, 'Bearer abcdef123456', 'input untouched');
});

test('issue 29 item 6: 16-digit ids, compact timestamps, SSH remotes and harmless keys are kept', () => {
  const kept = [
    'order 4242424242424242 created', // Luhn-valid, Visa prefix, no card word
    '{"orderId":"5555555555554444"}',
    'batch 20261206123045123 done', // yyyyMMddHHmmssSSS
    'at 20261206123045',
    'git clone git@github.com:org/repo.git',
    'remote git@gitlab.example.org:group/sub/repo',
  ];
  for (const s of kept) assert.equal(r.redactString(s), s);
  const harmless = { session_count: 3, secretary: 'Ann', authorization_status: 'approved', cookie_consent: 'granted', password_changed_at: '2026-01-01', credential_type: 'oauth' };
  assert.equal(r.redactValue(harmless), harmless);
  // with a card word, or grouped, the same numbers are cards
  assert.equal(r.redactString('card 4242424242424242 declined'), 'card [REDACTED] declined');
  assert.equal(r.redactString('paid 4242 4242 4242 4242'), 'paid [REDACTED]');
});

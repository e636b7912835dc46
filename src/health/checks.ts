// Ready-made health checks. The drivers are typed structurally: otelkit must not depend on (or
// load) pg, redis or ioredis, and the application hands in whichever client it already uses.
import type { CheckFn } from './registry';

// node:crypto is loaded by the first redis check, not with otelkit: on Node 24 it is not in the
// start-up snapshot and loading it costs a few milliseconds of every start (docs/performance.md).
function randomHex(bytes: number): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:crypto') as typeof import('node:crypto')).randomBytes(bytes).toString('hex');
}

/** A pg Pool or Client (anything with a promise-returning query). */
export interface PgLike {
  query(sql: string): Promise<unknown>;
}

/**
 * node-redis v4/v5 (`isOpen`/`isReady`, `set(k, v, { EX })`) or ioredis (`status`,
 * `set(k, v, 'EX', n)`). Methods are loosely typed because the two drivers' overloads differ.
 */
export interface RedisLike {
  ping(): Promise<unknown>;
  set(key: string, value: string, ...args: unknown[]): Promise<unknown>;
  get(key: string): Promise<unknown>;
  isOpen?: boolean;
  isReady?: boolean;
  status?: string;
}

export interface RedisCheckOptions {
  /** Key used for the set/get round trip; defaults to a per-check random key. */
  key?: string;
}

export interface HttpCheckOptions {
  /** Expected status or statuses; default any 2xx. */
  expectStatus?: number | number[];
  method?: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

const REDIS_TTL_SECONDS = 10;
const DEFAULT_HTTP_TIMEOUT_MS = 2000;

// Misuse becomes a failing check rather than an exception at registration: the application
// keeps starting and /readyz names the problem.
function failing(message: string): CheckFn {
  return () => Promise.reject(new Error(message));
}

function hasMethods(value: unknown, ...names: string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return names.every((n) => typeof record[n] === 'function');
}

function postgres(poolOrClient: PgLike): CheckFn {
  if (!hasMethods(poolOrClient, 'query')) return failing('checks.postgres: expected a pg Pool or Client');
  return async () => {
    await poolOrClient.query('SELECT 1');
  };
}

function isNodeRedis(client: RedisLike): boolean {
  return typeof client.isOpen === 'boolean';
}

function redis(client: RedisLike, opts?: RedisCheckOptions): CheckFn {
  if (!hasMethods(client, 'ping', 'set', 'get')) {
    return failing('checks.redis: expected a node-redis or ioredis client');
  }
  // Random per check so that several instances sharing one Redis never read each other's value.
  const key = typeof opts?.key === 'string' && opts.key ? opts.key : `otelkit:health:${randomHex(6)}`;
  const nodeRedis = isNodeRedis(client);
  return async () => {
    // Both drivers queue commands while disconnected and would hold the probe until it times
    // out; a client that lost its connection is simply not ready, and saying so is more useful.
    // ioredis' first "connecting" is let through: its queue is flushed as soon as it connects.
    if (nodeRedis) {
      if (client.isOpen && client.isReady === false) throw new Error('redis client is not ready (reconnecting)');
    } else if (typeof client.status === 'string' && ['reconnecting', 'close', 'end'].includes(client.status)) {
      throw new Error(`redis client is not ready (status: ${client.status})`);
    }
    const pong = await client.ping();
    if (String(pong) !== 'PONG') throw new Error(`redis PING answered ${JSON.stringify(pong)}`);
    const value = randomHex(8);
    if (nodeRedis) await client.set(key, value, { EX: REDIS_TTL_SECONDS });
    else await client.set(key, value, 'EX', REDIS_TTL_SECONDS);
    const read = await client.get(key);
    if (read !== value) throw new Error('redis round trip returned a different value');
  };
}

function statusMatches(status: number, expect: number | number[] | undefined): boolean {
  if (expect === undefined) return status >= 200 && status < 300;
  return Array.isArray(expect) ? expect.includes(status) : status === expect;
}

function describeExpected(expect: number | number[] | undefined): string {
  if (expect === undefined) return '2xx';
  return Array.isArray(expect) ? expect.join(' or ') : String(expect);
}

function http(url: string, opts?: HttpCheckOptions): CheckFn {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return failing('checks.http: invalid URL');
  }
  const headers: Record<string, string> = { ...(opts?.headers ?? {}) };
  // fetch refuses URLs with userinfo; move it into an Authorization header instead.
  if (target.username || target.password) {
    const credentials = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
      headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    target.username = '';
    target.password = '';
  }
  const method = opts?.method ?? 'GET';
  const timeoutMs = opts?.timeoutMs !== undefined && opts.timeoutMs > 0 ? opts.timeoutMs : DEFAULT_HTTP_TIMEOUT_MS;
  const expect = opts?.expectStatus;
  return async () => {
    const res = await fetch(target, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
    // Release the connection: the body is never needed.
    try {
      await res.body?.cancel();
    } catch {}
    if (!statusMatches(res.status, expect)) {
      throw new Error(`expected ${describeExpected(expect)}, got ${res.status}`);
    }
  };
}

export const checks: {
  postgres(poolOrClient: PgLike): CheckFn;
  redis(client: RedisLike, opts?: RedisCheckOptions): CheckFn;
  http(url: string, opts?: HttpCheckOptions): CheckFn;
} = { postgres, redis, http };

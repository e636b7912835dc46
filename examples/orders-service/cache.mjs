// Order cache. Two implementations behind one small interface:
//
//   const cache = await createCache({ url, logger, ttlSeconds });
//   cache.kind                      'redis' | 'memory'
//   await cache.get(key)            -> parsed JSON value | null (a miss, or the cache is down)
//   await cache.set(key, value)     JSON-encoded, with the TTL
//   await cache.del(key)
//   cache.client                    the node-redis client (redis only), for checks.redis
//   await cache.close()
//
// A cache must never fail a request: when Redis is unreachable, reads are misses and writes are
// skipped, with a warning. Readiness (/readyz) is where an unreachable Redis shows.
import { createClient } from 'redis';

async function createRedisCache(url, logger, ttlSeconds) {
  const client = createClient({
    url,
    // Fail commands at once while disconnected instead of queueing them until Redis is back.
    disableOfflineQueue: true,
    socket: { connectTimeout: 5000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 3000) },
  });
  let down = false;
  // node-redis emits 'error' on every failed reconnect; log the transition, not each attempt.
  client.on('error', (err) => {
    if (down) return;
    down = true;
    logger.warn('redis unavailable, reconnecting', { err });
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('redis connection restored');
  });
  await client.connect();
  logger.info('using Redis order cache');

  const failed = (op, key, err) => logger.warn(`cache ${op} failed`, { key, err });
  return {
    kind: 'redis',
    client,
    async get(key) {
      try {
        const raw = await client.get(key);
        return raw === null ? null : JSON.parse(raw);
      } catch (err) {
        failed('get', key, err);
        return null;
      }
    },
    async set(key, value) {
      try {
        await client.set(key, JSON.stringify(value), { EX: ttlSeconds });
      } catch (err) {
        failed('set', key, err);
      }
    },
    async del(key) {
      try {
        await client.del(key);
      } catch (err) {
        failed('del', key, err);
      }
    },
    async close() {
      try {
        await client.quit();
      } catch {
        client.destroy();
      }
    },
  };
}

function createMemoryCache(logger, ttlSeconds) {
  const entries = new Map();
  logger.warn('REDIS_URL not set: using the in-memory order cache');
  return {
    kind: 'memory',
    async get(key) {
      const e = entries.get(key);
      if (!e) return null;
      if (e.expires <= Date.now()) {
        entries.delete(key);
        return null;
      }
      return JSON.parse(e.raw);
    },
    async set(key, value) {
      entries.set(key, { raw: JSON.stringify(value), expires: Date.now() + ttlSeconds * 1000 });
    },
    async del(key) {
      entries.delete(key);
    },
    async close() {
      entries.clear();
    },
  };
}

export async function createCache({ url, logger, ttlSeconds = 300 }) {
  return url ? createRedisCache(url, logger, ttlSeconds) : createMemoryCache(logger, ttlSeconds);
}

// Order storage. Two implementations behind one small interface:
//
//   const store = await createStore({ url, logger });
//   store.kind                          'postgres' | 'memory'
//   await store.insert(fields)          -> order (with id, status 'pending', createdAt)
//   await store.get(id)                 -> order | null
//   await store.update(id, changes)     -> order | null   (changes: { status?, paymentId? })
//   await store.list(limit)             -> orders, newest first
//   store.pool                          the pg Pool (postgres only), for checks.postgres
//   await store.close()
//
// PostgreSQL when DATABASE_URL is set, an in-memory map otherwise (demo without a database).
import { randomUUID } from 'node:crypto';
import pg from 'pg';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  id             TEXT PRIMARY KEY,
  item           TEXT NOT NULL,
  quantity       INTEGER NOT NULL,
  amount_cents   INTEGER NOT NULL,
  customer_email TEXT,
  status         TEXT NOT NULL,
  payment_id     TEXT,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

const COLUMNS = 'id, item, quantity, amount_cents, customer_email, status, payment_id, created_at';

function fromRow(row) {
  return {
    id: row.id,
    item: row.item,
    quantity: row.quantity,
    amountCents: row.amount_cents,
    customerEmail: row.customer_email ?? undefined,
    status: row.status,
    paymentId: row.payment_id ?? undefined,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function createPostgresStore(url, logger, { attempts = 30, retryMs = 1000 } = {}) {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it would crash.
  pool.on('error', (err) => logger.warn('idle postgres connection failed', { err }));

  // The database may start after us (compose): retry the schema creation for a while.
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query(SCHEMA);
      break;
    } catch (err) {
      if (attempt >= attempts) throw err;
      logger.warn('postgres not reachable yet, retrying', { attempt, err });
      await sleep(retryMs);
    }
  }
  logger.info('using PostgreSQL order store');

  return {
    kind: 'postgres',
    pool,
    async insert({ item, quantity, amountCents, customerEmail }) {
      const { rows } = await pool.query(
        `INSERT INTO orders (id, item, quantity, amount_cents, customer_email, status)
         VALUES ($1, $2, $3, $4, $5, 'pending') RETURNING ${COLUMNS}`,
        [randomUUID(), item, quantity, amountCents, customerEmail ?? null],
      );
      return fromRow(rows[0]);
    },
    async get(id) {
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM orders WHERE id = $1`, [id]);
      return rows.length ? fromRow(rows[0]) : null;
    },
    async update(id, { status, paymentId }) {
      const { rows } = await pool.query(
        `UPDATE orders SET status = COALESCE($2, status), payment_id = COALESCE($3, payment_id)
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, status ?? null, paymentId ?? null],
      );
      return rows.length ? fromRow(rows[0]) : null;
    },
    async list(limit) {
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM orders ORDER BY created_at DESC LIMIT $1`, [limit]);
      return rows.map(fromRow);
    },
    close: () => pool.end(),
  };
}

function createMemoryStore(logger) {
  const orders = new Map();
  logger.warn('DATABASE_URL not set: using the in-memory order store (orders are lost at exit)');
  const copy = (o) => (o ? { ...o } : null);
  return {
    kind: 'memory',
    async insert({ item, quantity, amountCents, customerEmail }) {
      const order = { id: randomUUID(), item, quantity, amountCents, customerEmail, status: 'pending', paymentId: undefined, createdAt: new Date().toISOString() };
      orders.set(order.id, order);
      return copy(order);
    },
    async get(id) {
      return copy(orders.get(id));
    },
    async update(id, { status, paymentId }) {
      const order = orders.get(id);
      if (!order) return null;
      if (status !== undefined) order.status = status;
      if (paymentId !== undefined) order.paymentId = paymentId;
      return copy(order);
    },
    async list(limit) {
      return [...orders.values()].reverse().slice(0, limit).map(copy);
    },
    async close() {},
  };
}

export async function createStore({ url, logger }) {
  return url ? createPostgresStore(url, logger) : createMemoryStore(logger);
}

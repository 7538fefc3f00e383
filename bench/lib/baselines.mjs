// Baselines that need no server: B3 (PostgreSQL alone, the chat's message insert on its own
// schema) and argon2id verification alone (what a login costs at least).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { verify } from '@node-rs/argon2';

const INSERT = `INSERT INTO chat.messages (id, room_id, seq, sender_id, sender_name, body, client_id)`;

/** Rows/s for `connections` loops of single-row inserts, then of `batch`-row inserts (unnest). */
export async function runB3(db, { ms, connections, batch }) {
  const url = db.options.connectionString;
  const pool = new pg.Pool({ connectionString: url, max: connections });
  const sender = randomUUID();
  const rooms = Array.from({ length: connections }, () => randomUUID());
  await db.query(`INSERT INTO chat.rooms (id, name, kind, created_by) SELECT r, 'b3 ' || r, 'public', $2 FROM unnest($1::uuid[]) AS r`, [rooms, sender]);
  const seqs = new Map(rooms.map((r) => [r, 0]));
  const body = (room, n) => `b|b3|${room.slice(0, 8)}|${n}|${Date.now()}`;
  const loop = async (room, rowsPer) => {
    const c = await pool.connect();
    let rows = 0;
    const end = performance.now() + ms;
    try {
      while (performance.now() < end) {
        if (rowsPer === 1) {
          const n = seqs.get(room) + 1;
          seqs.set(room, n);
          await c.query(`${INSERT} VALUES ($1, $2, $3, $4, 'b3', $5, $6)`, [randomUUID(), room, n, sender, body(room, n), randomUUID()]);
        } else {
          const first = seqs.get(room) + 1;
          seqs.set(room, first + rowsPer - 1);
          const ns = Array.from({ length: rowsPer }, (_, i) => first + i);
          await c.query(
            `${INSERT} SELECT id, $2, seq, $3, 'b3', body, cid FROM unnest($1::uuid[], $4::bigint[], $5::text[], $6::text[]) AS t(id, seq, body, cid)`,
            [ns.map(() => randomUUID()), room, sender, ns, ns.map((n) => body(room, n)), ns.map(() => randomUUID())],
          );
        }
        rows += rowsPer;
      }
    } finally {
      c.release();
    }
    return rows;
  };
  const measure = async (rowsPer) => {
    const t0 = performance.now();
    const rows = (await Promise.all(rooms.map((r) => loop(r, rowsPer)))).reduce((a, b) => a + b, 0);
    return { rows, perSec: Math.round((rows / (performance.now() - t0)) * 1000), rowsPerStatement: rowsPer, connections };
  };
  const single = await measure(1);
  const multi = await measure(batch);
  await pool.end();
  return { single, multi };
}

/** argon2id verifications per second with the chat's stored hash, `concurrency` at a time. */
export async function runArgon(hash, password, n, concurrency) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) if (!(await verify(hash, password))) throw new Error('argon2 verify failed');
    }),
  );
  return { verifies: n, concurrency, perSec: Math.round((n / (performance.now() - t0)) * 1000) };
}

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../src/common/database/migrate.js';
import { allMigrations } from '../src/common/database/registry.js';

describe('migrations', () => {
  const url = process.env.TEST_DATABASE_URL!;
  const real = Boolean(process.env.TEST_DATABASE_NAME);

  // A throwaway database so migrations start from nothing (the embedded server has one database).
  (real ? test : test.skip)('two migrators started at once apply each migration exactly once', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const name = `${process.env.TEST_DATABASE_NAME}_m`;
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const target = new URL(url);
      target.pathname = `/${name}`;
      const cfg = { DATABASE_URL: target.toString(), DATABASE_SSL: false };
      const [a, b] = await Promise.all([runMigrations(cfg), runMigrations(cfg)]);
      expect([...a, ...b].sort()).toEqual(allMigrations.map((m) => m.name).sort());
      expect(await runMigrations(cfg)).toEqual([]);
      const db = new pg.Client({ connectionString: cfg.DATABASE_URL });
      await db.connect();
      const { rows } = await db.query(`SELECT schema_name FROM information_schema.schemata WHERE schema_name IN ('auth','users','chat') ORDER BY 1`);
      expect(rows.map((r) => r.schema_name)).toEqual(['auth', 'chat', 'users']);
      const idx = await db.query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'chat' ORDER BY 1`);
      expect(idx.rows.map((r) => r.indexname)).toEqual(
        expect.arrayContaining(['messages_room_seq', 'messages_sender_client', 'members_user', 'messages_room_change', 'messages_thread_seq']),
      );
      await db.end();
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  // The chart's database user is "chat", the name of one of our schemas: "$user" in the
  // search_path then points at it once it exists.
  (real ? test : test.skip)('a database user named like a schema (chat) migrates once, and re-runs apply nothing', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const name = `${process.env.TEST_DATABASE_NAME}_u`;
    const roleExisted = (await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = 'chat'`)).rowCount === 1;
    if (!roleExisted) await admin.query(`CREATE ROLE chat LOGIN`);
    await admin.query(`CREATE DATABASE ${name} OWNER chat`);
    try {
      const target = new URL(url);
      target.pathname = `/${name}`;
      target.username = 'chat';
      const cfg = { DATABASE_URL: target.toString(), DATABASE_SSL: false };
      expect(await runMigrations(cfg)).toEqual(allMigrations.map((m) => m.name));
      expect(await runMigrations(cfg)).toEqual([]);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      if (!roleExisted) await admin.query(`DROP ROLE IF EXISTS chat`);
      await admin.end();
    }
  });

  // Version 2's migration on a database holding version 1 data: duplicate public names
  // (case-insensitively) are renamed deterministically, creators become owners, nothing is lost.
  (real ? test : test.skip)('people and mentions: existing rooms, members and messages survive; duplicate public names get suffixes', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const name = `${process.env.TEST_DATABASE_NAME}_v`;
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const target = new URL(url);
      target.pathname = `/${name}`;
      const cfg = { DATABASE_URL: target.toString(), DATABASE_SSL: false };
      const later = ['ChatPeopleMentions1733000000000', 'ChatThreadsReactionsChanges1734000000000', 'ChatSearch1735000000000', 'ChatUploads1736000000000'];
      const v1 = allMigrations.filter((m) => !later.includes(m.name));
      const old = new DataSource({ ...dataSourceOptions(cfg), migrations: v1 });
      await old.initialize();
      await old.runMigrations({ transaction: 'each' });
      await old.destroy();

      const db = new pg.Client({ connectionString: cfg.DATABASE_URL });
      await db.connect();
      const [u1, u2, u3] = [randomUUID(), randomUUID(), randomUUID()];
      const room = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
      // Oldest first: "Lobby" keeps its name; "lobby" and "LOBBY" are renamed, skipping the "(2)" already taken.
      const rooms: Array<[string, string, string, string]> = [
        [room(1), 'Lobby', 'public', '2026-01-01T00:00:00Z'],
        [room(2), 'lobby', 'public', '2026-01-02T00:00:00Z'],
        [room(3), 'LOBBY', 'public', '2026-01-03T00:00:00Z'],
        [room(4), 'lobby (2)', 'public', '2026-01-04T00:00:00Z'],
        [room(5), 'Lobby', 'private', '2026-01-05T00:00:00Z'],
        [room(6), 'x'.repeat(80), 'public', '2026-01-06T00:00:00Z'],
        [room(7), 'X'.repeat(80), 'public', '2026-01-07T00:00:00Z'],
      ];
      for (const [id, n, kind, at] of rooms)
        await db.query(`INSERT INTO chat.rooms (id, name, kind, created_by, created_at, last_seq) VALUES ($1, $2, $3, $4, $5, 1)`, [id, n, kind, u1, at]);
      await db.query(`INSERT INTO chat.rooms (id, name, kind, created_by, direct_key, last_seq) VALUES ($1, 'a & b', 'direct', $2, $3, 0)`, [
        room(8),
        u1,
        `${u1}:${u2}`,
      ]);
      for (const id of rooms.map((r) => r[0])) await db.query(`INSERT INTO chat.members (room_id, user_id) VALUES ($1, $2), ($1, $3)`, [id, u1, u2]);
      await db.query(`INSERT INTO chat.members (room_id, user_id) VALUES ($1, $2), ($1, $3)`, [room(8), u1, u2]);
      // A room whose creator is no longer a member: its longest-standing member becomes the owner.
      await db.query(`INSERT INTO chat.rooms (id, name, kind, created_by) VALUES ($1, 'orphan', 'private', $2)`, [room(9), u3]);
      await db.query(`INSERT INTO chat.members (room_id, user_id, joined_at) VALUES ($1, $2, '2026-02-02Z'), ($1, $3, '2026-02-01Z')`, [room(9), u1, u2]);
      await db.query(`INSERT INTO chat.messages (id, room_id, seq, sender_id, sender_name, body, client_id) VALUES ($1, $2, 1, $3, 'one', 'kept @b', 'c1')`, [
        randomUUID(),
        room(1),
        u1,
      ]);

      expect(await runMigrations(cfg)).toEqual(later);
      const names = (await db.query(`SELECT id, name FROM chat.rooms ORDER BY id`)).rows.map((r) => r.name);
      expect(names).toEqual(['Lobby', 'lobby (3)', 'LOBBY (4)', 'lobby (2)', 'Lobby', 'x'.repeat(80), `${'X'.repeat(76)} (2)`, 'a & b', 'orphan']);
      const roles = (await db.query(`SELECT room_id, user_id, role, muted FROM chat.members ORDER BY room_id, role`)).rows;
      for (const id of rooms.map((r) => r[0]))
        expect(roles.filter((r) => r.room_id === id).map((r) => [r.user_id, r.role])).toEqual([
          [u2, 'member'],
          [u1, 'owner'],
        ]);
      expect(roles.filter((r) => r.room_id === room(8)).map((r) => r.role)).toEqual(['member', 'member']);
      expect(roles.filter((r) => r.room_id === room(9)).map((r) => [r.user_id, r.role])).toEqual([
        [u1, 'member'],
        [u2, 'owner'],
      ]);
      expect(roles.every((r) => r.muted === false)).toBe(true);
      const msg = (await db.query(`SELECT body, mentions FROM chat.messages`)).rows;
      expect(msg).toEqual([{ body: 'kept @b', mentions: [] }]);
      // Search: existing messages are in the new index.
      await db.query(`SET enable_seqscan = off`);
      const found = await db.query(`SELECT body FROM chat.messages WHERE words @@ websearch_to_tsquery('simple', 'KEPT') AND NOT deleted`);
      expect(found.rows).toEqual([{ body: 'kept @b' }]);
      await db.query(`RESET enable_seqscan`);
      // Catch-up on old data: a message's change is its seq, a room's counter its last seq; no thread, no reactions.
      expect((await db.query(`SELECT seq, change, thread_id, reply_count, last_reply_at, reactions FROM chat.messages`)).rows).toEqual([
        { seq: '1', change: '1', thread_id: null, reply_count: 0, last_reply_at: null, reactions: [] },
      ]);
      const counters = (await db.query(`SELECT last_seq, last_change FROM chat.rooms ORDER BY id`)).rows;
      expect(counters.every((c) => c.last_change === c.last_seq)).toBe(true);
      expect(counters[0]).toEqual({ last_seq: '1', last_change: '1' });
      expect((await db.query(`SELECT topic FROM chat.rooms WHERE id = $1`, [room(1)])).rows).toEqual([{ topic: null }]);
      await expect(db.query(`INSERT INTO chat.rooms (id, name, kind, created_by) VALUES ($1, 'LoBbY', 'public', $2)`, [randomUUID(), u1])).rejects.toThrow(
        /rooms_public_name_unique/,
      );
      await db.end();
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  test('re-running migrations on a migrated database applies nothing', async () => {
    await runMigrations({ DATABASE_URL: url, DATABASE_SSL: false });
    expect(await runMigrations({ DATABASE_URL: url, DATABASE_SSL: false })).toEqual([]);
  });
});

import pg from 'pg';
import { runMigrations } from '../src/common/database/migrate.js';
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
      expect(idx.rows.map((r) => r.indexname)).toEqual(expect.arrayContaining(['messages_room_seq', 'messages_sender_client', 'members_user']));
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

  test('re-running migrations on a migrated database applies nothing', async () => {
    await runMigrations({ DATABASE_URL: url, DATABASE_SSL: false });
    expect(await runMigrations({ DATABASE_URL: url, DATABASE_SSL: false })).toEqual([]);
  });
});

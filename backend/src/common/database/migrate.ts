import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config.schema.js';
import { allMigrations } from './registry.js';

// Any constant works; it only has to be the same for every migrator of this app.
const MIGRATION_LOCK = 72_616_321;

export function dataSourceOptions(config: Pick<AppConfig, 'DATABASE_URL' | 'DATABASE_SSL'> & { DATABASE_POOL_SIZE?: number }) {
  return {
    type: 'postgres' as const,
    url: config.DATABASE_URL,
    ssl: config.DATABASE_SSL ? { rejectUnauthorized: true } : false,
    // No entity classes: the queries are hand-written SQL (row locks, ON CONFLICT ... RETURNING).
    entities: [],
    migrations: allMigrations,
    // Pinned to public: with search_path "$user", public, a database user named like one of
    // our schemas (the chart's user is "chat") would otherwise move the table mid-run.
    schema: 'public',
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    extra: { max: config.DATABASE_POOL_SIZE ?? 10, connectionTimeoutMillis: 10_000 },
  };
}

/**
 * Applies pending migrations under a session advisory lock, so two migrators started at
 * once (two Job pods, or a Job and an all-in-one) run them one after the other.
 */
export async function runMigrations(config: Pick<AppConfig, 'DATABASE_URL' | 'DATABASE_SSL'>): Promise<string[]> {
  const ds = new DataSource(dataSourceOptions({ ...config, DATABASE_POOL_SIZE: 2 }));
  await ds.initialize();
  const lock = ds.createQueryRunner();
  try {
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.release();
    await ds.destroy();
  }
}

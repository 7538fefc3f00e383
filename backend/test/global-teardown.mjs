import { rm } from 'node:fs/promises';
import pg from 'pg';

export default async function teardown() {
  await globalThis.__embedded?.stop();
  if (globalThis.__embeddedDir) await rm(globalThis.__embeddedDir, { recursive: true, force: true });
  const name = process.env.TEST_DATABASE_NAME;
  if (name && process.env.DATABASE_URL) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

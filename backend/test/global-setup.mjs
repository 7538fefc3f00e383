// One database per test run: a fresh database on the server named by DATABASE_URL, or an
// in-memory embedded PostgreSQL (PGlite over the wire protocol) when none is set.
// Jest loads global setup outside its ESM transform, so this imports the compiled server
// when it exists and otherwise compiles that one file on the fly with swc.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export default async function setup() {
  const base = process.env.DATABASE_URL;
  if (base) {
    const name = `chat_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    process.env.TEST_DATABASE_URL = url.toString();
    process.env.TEST_DATABASE_NAME = name;
  } else {
    const { startEmbeddedPostgres } = await loadEmbedded();
    const embedded = await startEmbeddedPostgres('memory://');
    globalThis.__embedded = embedded;
    process.env.TEST_DATABASE_URL = embedded.url;
  }
  process.stdout.write(`\ntests use ${base ? `database ${process.env.TEST_DATABASE_NAME} on DATABASE_URL` : 'an embedded in-memory PostgreSQL (PGlite)'}\n`);
}

async function loadEmbedded() {
  const { transformFile } = await import('@swc/core');
  const { writeFile, mkdtemp } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { pathToFileURL, fileURLToPath } = await import('node:url');
  const src = fileURLToPath(new URL('../src/common/database/embedded.ts', import.meta.url));
  const out = await transformFile(src, { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } });
  // Written beside the sources' node_modules so its imports resolve.
  const dir = await mkdtemp(join(fileURLToPath(new URL('.', import.meta.url)), '.embedded-'));
  const file = join(dir, 'embedded.mjs');
  await writeFile(file, out.code);
  globalThis.__embeddedDir = dir;
  return import(pathToFileURL(file).href);
}

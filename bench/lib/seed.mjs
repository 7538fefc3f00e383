// The benchmark database: created fresh, migrated by the chat's own migrate process, then
// filled with users, rooms and memberships straight through SQL (registering 10k users over
// HTTP would spend minutes hashing passwords). Access tokens are signed here with the key the
// server is given, exactly as the auth module signs them (ES256, kid, iss, aud).
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { root } from './procs.mjs';

export const KEY_ID = 'bench';
export const PASSWORD = 'bench-password-1';

export function signingKey() {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey;
}

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
export function mint(key, user, ttlSeconds = 3600) {
  const iat = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'ES256', typ: 'JWT', kid: KEY_ID })}.${b64({ sub: user.id, username: user.username, displayName: user.username, iat, exp: iat + ttlSeconds, iss: 'chat-auth', aud: 'chat' })}`;
  return `${head}.${sign('sha256', Buffer.from(head), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

export async function freshDatabase(adminUrl, name) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const migrated = spawnSync(process.execPath, ['backend/dist/apps/migrate.main.js'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  if (migrated.status !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  return url.toString();
}

/** `count` users named prefix0.., in rooms of `roomSize` (one room of all when roomSize = count). */
export async function seedGroup(db, prefix, count, roomSize, { passwordHash } = {}) {
  const users = Array.from({ length: count }, (_, i) => ({ id: randomUUID(), username: `${prefix}${i}` }));
  const rooms = [];
  for (let i = 0; i < count; i += roomSize) rooms.push({ id: randomUUID(), name: `${prefix}-room-${i / roomSize}`, members: users.slice(i, i + roomSize) });
  for (let i = 0; i < count; i += 5000) {
    const chunk = users.slice(i, i + 5000);
    await db.query(`INSERT INTO users.users (id, username, display_name) SELECT * FROM unnest($1::uuid[], $2::text[], $2::text[])`, [
      chunk.map((u) => u.id),
      chunk.map((u) => u.username),
    ]);
    if (passwordHash)
      await db.query(`INSERT INTO auth.credentials (user_id, username, password_hash) SELECT u, n, $3 FROM unnest($1::uuid[], $2::text[]) AS t(u, n)`, [
        chunk.map((u) => u.id),
        chunk.map((u) => u.username),
        passwordHash,
      ]);
  }
  await db.query(`INSERT INTO chat.rooms (id, name, kind, created_by) SELECT r, n, 'public', c FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS t(r, n, c)`, [
    rooms.map((r) => r.id),
    rooms.map((r) => r.name),
    rooms.map((r) => r.members[0].id),
  ]);
  const pairs = rooms.flatMap((r) => r.members.map((u) => [r.id, u.id]));
  for (let i = 0; i < pairs.length; i += 20_000) {
    const chunk = pairs.slice(i, i + 20_000);
    await db.query(`INSERT INTO chat.members (room_id, user_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])`, [
      chunk.map((p) => p[0]),
      chunk.map((p) => p[1]),
    ]);
  }
  return { users, rooms };
}

/** One more user who belongs to every given room (posts while the storm's clients are away). */
export async function seedPoster(db, name, rooms) {
  const user = { id: randomUUID(), username: name };
  await db.query(`INSERT INTO users.users (id, username, display_name) VALUES ($1, $2, $2)`, [user.id, user.username]);
  await db.query(`INSERT INTO chat.members (room_id, user_id) SELECT r, $2 FROM unnest($1::uuid[]) AS r`, [rooms.map((r) => r.id), user.id]);
  return user;
}

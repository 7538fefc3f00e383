import { generateKeyPairSync } from 'node:crypto';
import type { Service } from '../src/common/app.js';
import { ConfigError, acceptedKeys, parseConfig, requiredKeys } from '../src/common/config/config.schema.js';
import { client, connect, next, register, start, uniq } from './harness.js';

describe('auth, users and chat as three services (tokens verified through the JWKS)', () => {
  let auth: Service;
  let users: Service;
  let chat: Service;

  beforeAll(async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    auth = await start('auth', { JWT_PRIVATE_KEY: pem.replace(/\n/g, '\\n'), JWT_KEY_ID: 'test-key-1' });
    const jwks = { AUTH_JWKS_URL: `${auth.url}/api/auth/jwks.json` };
    [users, chat] = await Promise.all([start('users', jwks), start('chat', jwks)]);
  });
  afterAll(async () => {
    await Promise.all([users?.close(), chat?.close()]);
    await auth?.close();
  });

  test('a token issued by auth is accepted by users and chat', async () => {
    const u = await register(auth.url, 'split');
    const header = JSON.parse(Buffer.from(u.accessToken.split('.')[0], 'base64url').toString());
    expect(header.kid).toBe('test-key-1');
    const me = await client(users.url)('GET', '/api/users/me', { token: u.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(u.user.id);
    const room = await client(chat.url)('POST', '/api/chat/rooms', { token: u.accessToken, body: { name: uniq('split'), kind: 'public' } });
    expect(room.status).toBe(201);
    const s = await connect(chat.url, u.accessToken);
    try {
      const live = next(s, 'message:new');
      expect(await s.emitWithAck('message:send', { roomId: room.body.id, body: 'across services', clientId: 'split-1' })).toMatchObject({ ok: true });
      expect((await live).body).toBe('across services');
    } finally {
      s.close();
    }
  });

  test('each service serves only its own module', async () => {
    expect((await client(users.url)('POST', '/api/auth/register', { body: {} })).status).toBe(404);
    expect((await client(chat.url)('GET', '/api/users/me')).status).toBe(404);
    expect((await client(auth.url)('GET', '/api/chat/rooms')).status).toBe(404);
    for (const s of [auth, users, chat]) {
      expect((await client(s.url)('GET', '/health/ready')).status).toBe(200);
      expect((await client(s.url)('GET', '/health/live')).status).toBe(200);
      const metrics = await fetch(`${s.url}/metrics`).then((r) => r.text());
      expect(metrics).toContain('http_requests_total');
      // The dashboard's and the alerts' database series (docs/operations.md).
      expect(metrics).toMatch(/^dependency_reachable\{dependency="database"\} 1$/m);
      expect(Number(/^db_query_duration_seconds_count\{outcome="ok"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      expect(metrics).toMatch(/^db_pool_connections\{state="total"\} [1-9]/m);
      expect(metrics).toMatch(/^db_pool_max 10$/m);
    }
    const chatMetrics = await fetch(`${chat.url}/metrics`).then((r) => r.text());
    expect(chatMetrics).toMatch(/chat_messages_total\{result="new"\} \d+/);
    expect(chatMetrics).toContain('socketio_connections');
  });

  test('users and chat are not ready until they have the auth public keys', async () => {
    const orphan = await start('chat', { AUTH_JWKS_URL: 'http://127.0.0.1:9/api/auth/jwks.json' });
    try {
      const res = await client(orphan.url)('GET', '/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.message).toMatch(/JWKS/);
      expect((await client(orphan.url)('GET', '/health/live')).status).toBe(200);
    } finally {
      await orphan.close();
    }
  });

  test('a token signed by another key is refused by users and chat', async () => {
    const other = await start('all');
    try {
      const stranger = await register(other.url, 'stranger');
      expect((await client(users.url)('GET', '/api/users/me', { token: stranger.accessToken })).status).toBe(401);
      await expect(connect(chat.url, stranger.accessToken)).rejects.toThrow('unauthorized');
    } finally {
      await other.close();
    }
  });
});

describe('configuration is validated at boot', () => {
  const problems = (role: Parameters<typeof parseConfig>[0], env: Record<string, string>) => {
    try {
      parseConfig(role, env);
      return [];
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).problems;
    }
  };

  test('every missing or wrong variable is named at once', () => {
    expect(problems('chat', { PORT: 'eighty', REDIS_URL: 'http://x' })).toEqual([
      expect.stringMatching(/^PORT: /),
      'DATABASE_URL: is required but not set',
      expect.stringMatching(/^REDIS_URL: must be a redis/),
      'AUTH_JWKS_URL: is required but not set',
    ]);
    expect(problems('auth', { DATABASE_URL: 'postgres://db/x' })).toEqual(['JWT_PRIVATE_KEY: JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE is required']);
    expect(problems('users', { DATABASE_URL: 'mysql://db', AUTH_JWKS_URL: 'x', LOG_LEVEL: 'loud' })).toEqual([
      expect.stringMatching(/^LOG_LEVEL: /),
      'DATABASE_URL: must be a postgres:// URL',
      expect.stringMatching(/^AUTH_JWKS_URL: /),
    ]);
  });

  test('each role lists what it accepts and what it requires (read by the chart checks)', () => {
    expect(requiredKeys('chat')).toEqual(['AUTH_JWKS_URL', 'DATABASE_URL']);
    expect(requiredKeys('auth')).toEqual(['DATABASE_URL', 'JWT_PRIVATE_KEY|JWT_PRIVATE_KEY_FILE']);
    expect(requiredKeys('all')).toEqual([]);
    expect(acceptedKeys('users')).not.toContain('JWT_PRIVATE_KEY');
    expect(acceptedKeys('chat')).toEqual(expect.arrayContaining(['REDIS_URL', 'SEND_RATE_LIMIT', 'AUTH_JWKS_URL']));
  });

  test('the all-in-one needs nothing: embedded database, generated key, port 3000', () => {
    expect(parseConfig('all', {})).toMatchObject({ PORT: 3000, DATA_DIR: './.data', MIGRATE_ON_START: true });
  });
});

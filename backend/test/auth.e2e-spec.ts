import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Service } from '../src/common/app.js';
import { client, register, start } from './harness.js';

describe('auth over HTTP (real database)', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    svc = await start('all');
    api = client(svc.url);
  });
  afterAll(() => svc.close());

  test('register answers 201 with the user and a token pair', async () => {
    const res = await api('POST', '/api/auth/register', { body: { username: 'Reg_User1', password: 'password-123', displayName: ' Reggie ' } });
    expect(res.status).toBe(201);
    expect(res.body.user).toEqual({ id: expect.any(String), username: 'reg_user1', displayName: 'Reggie', createdAt: expect.any(String) });
    expect(res.body.accessToken.split('.')).toHaveLength(3);
    expect(res.body.refreshToken).toEqual(expect.any(String));
    expect(res.body.expiresIn).toBe(900);
    const header = JSON.parse(Buffer.from(res.body.accessToken.split('.')[0], 'base64url').toString());
    expect(header).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    const claims = JSON.parse(Buffer.from(res.body.accessToken.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: res.body.user.id, username: 'reg_user1', displayName: 'Reggie', exp: expect.any(Number), iat: expect.any(Number) });
  });

  test('usernames are unique case-insensitively: 409', async () => {
    await api('POST', '/api/auth/register', { body: { username: 'dupe.name', password: 'password-123' } });
    const res = await api('POST', '/api/auth/register', { body: { username: 'DUPE.NAME', password: 'password-456' } });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ statusCode: 409, error: 'Conflict', message: expect.any(String) });
  });

  test.each([
    [{ username: 'ab', password: 'password-123' }, 'username'],
    [{ username: 'has space', password: 'password-123' }, 'username'],
    [{ username: 'x'.repeat(33), password: 'password-123' }, 'username'],
    [{ username: 'okname', password: 'short' }, 'password'],
    [{ username: 'okname', password: 'p'.repeat(129) }, 'password'],
    [{ username: 'okname', password: 'password-123', displayName: '' }, 'displayName'],
    [{ username: 'okname', password: 'password-123', admin: true }, 'admin'],
    [{ username: 42, password: 'password-123' }, 'username'],
  ])('invalid registration %j is 400 naming %s', async (body, field) => {
    const res = await api('POST', '/api/auth/register', { body });
    expect(res.status).toBe(400);
    expect(res.body.statusCode).toBe(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  test('malformed JSON is 400 and an oversized body is 413, never 500', async () => {
    const bad = await api('POST', '/api/auth/register', { raw: '{"username": ' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('Bad Request');
    const big = await api('POST', '/api/auth/register', { raw: JSON.stringify({ username: 'x', password: 'y'.repeat(100_000) }) });
    expect(big.status).toBe(413);
    expect(big.body.statusCode).toBe(413);
  });

  test('login: one 401 message for unknown user and wrong password', async () => {
    const u = await register(svc.url, 'login');
    const ok = await api('POST', '/api/auth/login', { body: { username: u.user.username.toUpperCase(), password: 'correct horse battery' } });
    expect(ok.status).toBe(200);
    expect(ok.body.user).toEqual(u.user);
    const wrong = await api('POST', '/api/auth/login', { body: { username: u.user.username, password: 'wrong password' } });
    const unknown = await api('POST', '/api/auth/login', { body: { username: 'nobody_here', password: 'wrong password' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.message).toBe(unknown.body.message);
  });

  test('refresh rotates; a replayed refresh token revokes the whole family', async () => {
    const u = await register(svc.url, 'rot');
    const first = await api('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(u.refreshToken);
    const second = await api('POST', '/api/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
    expect(second.status).toBe(200);
    // The first token is spent: presenting it again is reuse.
    const replay = await api('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
    expect(replay.status).toBe(401);
    // ...and the legitimate newest token of that family dies with it.
    const after = await api('POST', '/api/auth/refresh', { body: { refreshToken: second.body.refreshToken } });
    expect(after.status).toBe(401);
    // Another login is a new family and still works.
    const again = await api('POST', '/api/auth/login', { body: { username: u.user.username, password: 'correct horse battery' } });
    expect((await api('POST', '/api/auth/refresh', { body: { refreshToken: again.body.refreshToken } })).status).toBe(200);
  });

  test('concurrent refreshes with one token: exactly one wins', async () => {
    const u = await register(svc.url, 'race');
    const results = await Promise.all([1, 2, 3].map(() => api('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });

  test('refresh rejects garbage and forged secrets', async () => {
    const u = await register(svc.url, 'forge');
    const [id] = u.refreshToken.split('.');
    expect((await api('POST', '/api/auth/refresh', { body: { refreshToken: 'garbage' } })).status).toBe(401);
    expect((await api('POST', '/api/auth/refresh', { body: { refreshToken: `${id}.${'A'.repeat(43)}` } })).status).toBe(401);
    expect((await api('POST', '/api/auth/refresh', { body: {} })).status).toBe(400);
  });

  test('logout revokes the family: 204, then refresh is 401', async () => {
    const u = await register(svc.url, 'out');
    const out = await api('POST', '/api/auth/logout', { body: { refreshToken: u.refreshToken } });
    expect(out.status).toBe(204);
    expect((await api('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } })).status).toBe(401);
  });

  test('JWKS publishes the public key only', async () => {
    const res = await api('GET', '/api/auth/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys).toHaveLength(1);
    expect(res.body.keys[0]).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      kid: expect.any(String),
      x: expect.any(String),
      y: expect.any(String),
    });
    expect(res.body.keys[0].d).toBeUndefined();
  });

  test('tokens: missing, garbage, forged with the right kid, expired and alg=none are all 401', async () => {
    const u = await register(svc.url, 'tok');
    const { kid } = JSON.parse(Buffer.from(u.accessToken.split('.')[0], 'base64url').toString());
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const claims = { sub: u.user.id, username: u.user.username, displayName: u.user.displayName };
    const forged = jwt.sign(claims, other, { algorithm: 'ES256', keyid: kid, issuer: 'chat-auth', audience: 'chat', expiresIn: 600 });
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    expect((await api('GET', '/api/users/me', { token: u.accessToken })).status).toBe(200);
    for (const token of [undefined, 'garbage', forged, none]) {
      const res = await api('GET', '/api/users/me', { token });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    }
  });

  test('an expired token is 401', async () => {
    const short = await start('all', { ACCESS_TOKEN_TTL_SECONDS: '30' });
    try {
      const u = await register(short.url, 'exp');
      const payload = JSON.parse(Buffer.from(u.accessToken.split('.')[1], 'base64url').toString());
      expect(payload.exp - payload.iat).toBe(30);
      // Same key, already expired: signed by this instance's own key file.
      const { readFile } = await import('node:fs/promises');
      const pem = await readFile(`${short.config.DATA_DIR}/jwt-signing-key.pem`, 'utf8');
      const { kid } = JSON.parse(Buffer.from(u.accessToken.split('.')[0], 'base64url').toString());
      const expired = jwt.sign({ sub: u.user.id, username: u.user.username, displayName: 'x', exp: Math.floor(Date.now() / 1000) - 10 }, pem, {
        algorithm: 'ES256',
        keyid: kid,
        issuer: 'chat-auth',
        audience: 'chat',
      });
      expect((await client(short.url)('GET', '/api/users/me', { token: expired })).status).toBe(401);
    } finally {
      await short.close();
    }
  });
});

describe('login throttling', () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await start('all', { LOGIN_RATE_LIMIT_PER_USERNAME: '3', AUTH_RATE_LIMIT_PER_IP: '100000' });
  });
  afterAll(() => svc.close());

  test('per username: the 4th attempt in the window is 429 with Retry-After', async () => {
    const api = client(svc.url);
    const u = await register(svc.url, 'thr');
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await api('POST', '/api/auth/login', { body: { username: u.user.username, password: 'wrong-password' } })).status);
    expect(codes).toEqual([401, 401, 401, 429]);
    const limited = await api('POST', '/api/auth/login', { body: { username: u.user.username, password: 'correct horse battery' } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another username from the same IP is not affected.
    const v = await register(svc.url, 'thr2');
    expect((await api('POST', '/api/auth/login', { body: { username: v.user.username, password: 'correct horse battery' } })).status).toBe(200);
  });

  test('per IP', async () => {
    const ipSvc = await start('all', { AUTH_RATE_LIMIT_PER_IP: '2' });
    try {
      const api = client(ipSvc.url);
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await api('POST', '/api/auth/login', { body: { username: `ip_${i}`, password: 'whatever-1' } })).status);
      expect(codes).toEqual([401, 401, 429]);
    } finally {
      await ipSvc.close();
    }
  });
});

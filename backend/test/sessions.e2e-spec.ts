import { generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Service } from '../src/common/app.js';
import type { AuthResult } from '../src/contract/events.js';
import { ClientSocket, client, connect, next, redisAvailable, register, sleep, start, startReplicas, uniq } from './harness.js';

const newKey = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const COOKIE = { 'x-chat-session': 'cookie' };

/** A POST with raw headers, for the cookie cases (the harness client sends no cookies). */
async function post(base: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, setCookie: res.headers.get('set-cookie') ?? '' };
}
const cookieOf = (setCookie: string) => /chat_refresh=([^;]*)/.exec(setCookie)?.[1] ?? '';

/** Resolves with the reason when the socket is disconnected. */
const disconnected = (s: ClientSocket, ms = 5000) =>
  new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('still connected')), ms);
    s.once('disconnect', (reason) => {
      clearTimeout(t);
      resolve(reason);
    });
  });

async function login(base: string, u: AuthResult, headers: Record<string, string> = {}) {
  const r = await post(base, '/api/auth/login', headers, { username: u.user.username, password: 'correct horse battery' });
  expect(r.status).toBe(200);
  return r;
}

describe('sessions: the refresh-token cookie, socket expiry and logout (one process)', () => {
  const key = newKey();
  let svc: Service;
  let kid: string;
  let u: AuthResult;
  const sockets: ClientSocket[] = [];
  /** An access token of u, signed with the real key, expiring in `seconds`. */
  const shortToken = (seconds: number, sub = u.user.id) =>
    jwt.sign({ sub, username: u.user.username, sid: randomUUID() }, key, {
      algorithm: 'ES256',
      keyid: kid,
      issuer: 'chat-auth',
      audience: 'chat',
      expiresIn: seconds,
    });

  beforeAll(async () => {
    svc = await start('all', { JWT_PRIVATE_KEY: key, TRUST_PROXY: '1', SOCKET_REAUTH_GRACE_MS: '1000' });
    kid = (await client(svc.url)('GET', '/api/auth/jwks.json')).body.keys[0].kid;
    u = await register(svc.url, 'ss');
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => svc?.close());

  test('a browser login gets the refresh token as an HttpOnly SameSite=Strict cookie on /api/auth, not in the JSON', async () => {
    const r = await login(svc.url, u, COOKIE);
    expect(r.body.refreshToken).toBeUndefined();
    expect(r.body.accessToken).toEqual(expect.any(String));
    expect(r.setCookie).toMatch(/^chat_refresh=[0-9a-f-]{36}\.[\w-]{43}; /);
    expect(r.setCookie).toMatch(/; Path=\/api\/auth/);
    expect(r.setCookie).toMatch(/; HttpOnly/);
    expect(r.setCookie).toMatch(/; SameSite=Strict/);
    expect(r.setCookie).not.toMatch(/Secure/);
    // Behind a trusted proxy that terminated TLS, the cookie is Secure.
    expect((await login(svc.url, u, { ...COOKIE, 'x-forwarded-proto': 'https' })).setCookie).toMatch(/; Secure/);
    // Clients without the header keep the contract's body token.
    const plain = await login(svc.url, u);
    expect(plain.body.refreshToken).toEqual(expect.any(String));
    expect(plain.setCookie).toBe('');
  });

  test('refresh reads the cookie, rotates it, and a replayed cookie revokes the family', async () => {
    const first = cookieOf((await login(svc.url, u, COOKIE)).setCookie);
    const r = await post(svc.url, '/api/auth/refresh', { ...COOKIE, cookie: `chat_refresh=${first}` });
    expect(r.status).toBe(200);
    expect(r.body.refreshToken).toBeUndefined();
    const second = cookieOf(r.setCookie);
    expect(second).not.toBe(first);
    expect((await post(svc.url, '/api/auth/refresh', { ...COOKIE, cookie: `chat_refresh=${first}` })).status).toBe(401);
    expect((await post(svc.url, '/api/auth/refresh', { ...COOKIE, cookie: `chat_refresh=${second}` })).status).toBe(401);
  });

  test('the cookie is not honoured cross-site: without the header (400) or from a foreign Origin (403)', async () => {
    const c = cookieOf((await login(svc.url, u, COOKIE)).setCookie);
    expect((await post(svc.url, '/api/auth/refresh', { cookie: `chat_refresh=${c}` })).status).toBe(400);
    expect((await post(svc.url, '/api/auth/refresh', { ...COOKIE, cookie: `chat_refresh=${c}`, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(svc.url, '/api/auth/logout', { ...COOKIE, cookie: `chat_refresh=${c}`, origin: 'https://evil.example' })).status).toBe(403);
    const same = await post(svc.url, '/api/auth/refresh', { ...COOKIE, cookie: `chat_refresh=${c}`, origin: svc.url });
    expect(same.status).toBe(200);
    // Behind the gateway the browser's scheme and port differ from what this process sees.
    const proxied = await post(svc.url, '/api/auth/refresh', {
      ...COOKIE,
      cookie: `chat_refresh=${cookieOf(same.setCookie)}`,
      origin: 'https://127.0.0.1:30443',
      'x-forwarded-proto': 'https',
    });
    expect(proxied.status).toBe(200);
    expect((await post(svc.url, '/api/auth/refresh', { ...COOKIE, cookie: `chat_refresh=${cookieOf(proxied.setCookie)}`, origin: 'null' })).status).toBe(403);
  });

  test('logout with the cookie clears it and ends the session', async () => {
    const c = cookieOf((await login(svc.url, u, COOKIE)).setCookie);
    const out = await post(svc.url, '/api/auth/logout', { ...COOKIE, cookie: `chat_refresh=${c}` });
    expect(out.status).toBe(204);
    expect(out.setCookie).toMatch(/^chat_refresh=; Path=\/api\/auth; Expires=Thu, 01 Jan 1970/);
    expect((await post(svc.url, '/api/auth/refresh', { ...COOKIE, cookie: `chat_refresh=${c}` })).status).toBe(401);
  });

  test('a socket whose token expires is told, re-authenticates over the open connection, and stays', async () => {
    const s = await connect(svc.url, shortToken(2));
    sockets.push(s);
    const expired = await next(s, 'auth:expired', () => true, 4000);
    expect(expired).toEqual({ graceMs: 1000 });
    const fresh = (await login(svc.url, u)).body as AuthResult;
    const ack = await s.emitWithAck('auth:refresh', { token: fresh.accessToken });
    expect(ack).toEqual({ ok: true, expiresAt: expect.any(String) });
    await sleep(1500);
    expect(s.connected).toBe(true);
    const r = (await client(svc.url)('POST', '/api/chat/rooms', { token: fresh.accessToken, body: { name: uniq('still here'), kind: 'public' } })).body;
    expect((await s.emitWithAck('message:send', { roomId: r.id, body: 'after re-auth', clientId: randomUUID() })).ok).toBe(true);
  });

  test('a socket that does not re-authenticate is disconnected after the grace period', async () => {
    const s = await connect(svc.url, shortToken(2));
    sockets.push(s);
    const gone = disconnected(s, 6000);
    const t0 = Date.now();
    await next(s, 'auth:expired', () => true, 4000);
    expect(await gone).toBe('io server disconnect');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  test('auth:refresh refuses a bad token and a token of another user', async () => {
    const s = await connect(svc.url, u.accessToken);
    sockets.push(s);
    const other = await register(svc.url, 'so');
    expect(await s.emitWithAck('auth:refresh', { token: 'x.y.z' })).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await s.emitWithAck('auth:refresh', { token: other.accessToken })).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await s.emitWithAck('auth:refresh', { token: 5 } as never)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  test('logout disconnects the sockets of that session only, and their access token no longer connects', async () => {
    const mine = (await login(svc.url, u)).body as AuthResult;
    const otherDevice = (await login(svc.url, u)).body as AuthResult;
    const [s1, s2, keep] = await Promise.all([
      connect(svc.url, mine.accessToken),
      connect(svc.url, mine.accessToken),
      connect(svc.url, otherDevice.accessToken),
    ]);
    sockets.push(s1, s2, keep);
    const gone = Promise.all([disconnected(s1), disconnected(s2)]);
    expect((await client(svc.url)('POST', '/api/auth/logout', { body: { refreshToken: mine.refreshToken } })).status).toBe(204);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    await expect(connect(svc.url, mine.accessToken)).rejects.toThrow('unauthorized');
    await sleep(200);
    expect(keep.connected).toBe(true);
  });

  test("logout ends REST access too: that session's access token gets 401 at once, another device's still works", async () => {
    const mine = (await login(svc.url, u)).body as AuthResult;
    const other = (await login(svc.url, u)).body as AuthResult;
    const api = client(svc.url);
    for (const path of ['/api/users/me', '/api/chat/rooms']) expect((await api('GET', path, { token: mine.accessToken })).status).toBe(200);
    expect((await api('POST', '/api/auth/logout', { body: { refreshToken: mine.refreshToken } })).status).toBe(204);
    for (const path of ['/api/users/me', '/api/chat/rooms']) {
      const r = await api('GET', path, { token: mine.accessToken });
      expect([r.status, (r.body as { message?: string }).message]).toEqual([401, 'Session ended']);
      expect((await api('GET', path, { token: other.accessToken })).status).toBe(200);
    }
  });
});

const redisUp = await redisAvailable('sessions.e2e-spec');
(redisUp ? describe : describe.skip)('sessions across two chat replicas on Redis', () => {
  const prefix = `s${randomUUID().slice(0, 8)}`;
  const key = newKey();
  let a: Service; // all-in-one
  let b: Service; // a chat replica verifying with a's JWKS
  let close: () => Promise<void>;
  let u: AuthResult;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    ({ a, b, close } = await startReplicas(prefix, { SOCKET_REAUTH_GRACE_MS: '1000' }, { JWT_PRIVATE_KEY: key }));
    u = await register(a.url, 'sr');
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => close?.());

  test('logout on one replica disconnects the session on both, and neither accepts its token again', async () => {
    const mine = (await login(a.url, u)).body as AuthResult;
    const [sa, sb] = await Promise.all([connect(a.url, mine.accessToken), connect(b.url, mine.accessToken)]);
    sockets.push(sa, sb);
    const gone = Promise.all([disconnected(sa), disconnected(sb)]);
    expect((await client(a.url)('POST', '/api/auth/logout', { body: { refreshToken: mine.refreshToken } })).status).toBe(204);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    await expect(connect(b.url, mine.accessToken)).rejects.toThrow('unauthorized');
    await expect(connect(a.url, mine.accessToken)).rejects.toThrow('unauthorized');
    // REST on the chat-only replica, which learnt of the logout through Redis.
    expect((await client(b.url)('GET', '/api/chat/rooms', { token: mine.accessToken })).status).toBe(401);
  });

  test('a replayed refresh token revokes the family and disconnects its sockets on both replicas', async () => {
    const mine = (await login(a.url, u)).body as AuthResult;
    const [sa, sb] = await Promise.all([connect(a.url, mine.accessToken), connect(b.url, mine.accessToken)]);
    sockets.push(sa, sb);
    expect((await client(a.url)('POST', '/api/auth/refresh', { body: { refreshToken: mine.refreshToken } })).status).toBe(200);
    const gone = Promise.all([disconnected(sa), disconnected(sb)]);
    expect((await client(a.url)('POST', '/api/auth/refresh', { body: { refreshToken: mine.refreshToken } })).status).toBe(401);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
  });

  test('expiry on the chat-only replica: told, then disconnected without auth:refresh', async () => {
    const kid = (await client(a.url)('GET', '/api/auth/jwks.json')).body.keys[0].kid;
    const token = jwt.sign({ sub: u.user.id, username: u.user.username }, key, {
      algorithm: 'ES256',
      keyid: kid,
      issuer: 'chat-auth',
      audience: 'chat',
      expiresIn: 2,
    });
    const s = await connect(b.url, token);
    sockets.push(s);
    const gone = disconnected(s, 6000);
    expect(await next(s, 'auth:expired', () => true, 4000)).toEqual({ graceMs: 1000 });
    expect(await gone).toBe('io server disconnect');
  });
});

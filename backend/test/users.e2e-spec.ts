import type { Service } from '../src/common/app.js';
import { client, register, start } from './harness.js';

describe('users over HTTP', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    svc = await start('all');
    api = client(svc.url);
  });
  afterAll(() => svc.close());

  test('me, and a display-name update that the next token carries', async () => {
    const u = await register(svc.url, 'prof');
    const me = await api('GET', '/api/users/me', { token: u.accessToken });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(u.user);
    const upd = await api('PATCH', '/api/users/me', { token: u.accessToken, body: { displayName: '  Zed Zebra ' } });
    expect(upd.status).toBe(200);
    expect(upd.body.displayName).toBe('Zed Zebra');
    const refreshed = await api('POST', '/api/auth/refresh', { body: { refreshToken: u.refreshToken } });
    const claims = JSON.parse(Buffer.from(refreshed.body.accessToken.split('.')[1], 'base64url').toString());
    expect(claims.displayName).toBe('Zed Zebra');
  });

  test('bad updates are 400 with field details', async () => {
    const u = await register(svc.url, 'prof');
    for (const body of [{}, { displayName: '' }, { displayName: 'x'.repeat(65) }, { displayName: 'ok', role: 'admin' }, { displayName: 5 }]) {
      const res = await api('PATCH', '/api/users/me', { token: u.accessToken, body });
      expect(res.status).toBe(400);
      expect(res.body.details.length).toBeGreaterThan(0);
    }
  });

  test('prefix search by username or display name, limited, wildcards literal', async () => {
    const tag = `srch${Date.now() % 100000}`;
    const a = await client(svc.url)('POST', '/api/auth/register', { body: { username: `${tag}_anna`, password: 'password-123', displayName: 'Anna' } });
    const b = await client(svc.url)('POST', '/api/auth/register', { body: { username: `${tag}_bob`, password: 'password-123', displayName: `${tag} Bobby` } });
    const token = a.body.accessToken;
    const res = await api('GET', `/api/users?query=${tag}&limit=50`, { token });
    expect(res.status).toBe(200);
    expect(res.body.map((u: { username: string }) => u.username).sort()).toEqual([`${tag}_anna`, `${tag}_bob`]);
    expect(Object.keys(res.body[0]).sort()).toEqual(['displayName', 'id', 'username']);
    const byName = await api('GET', `/api/users?query=${tag.toUpperCase()} BOB`, { token });
    expect(byName.body.map((u: { id: string }) => u.id)).toEqual([b.body.user.id]);
    expect((await api('GET', `/api/users?query=${tag}&limit=1`, { token })).body).toHaveLength(1);
    expect((await api('GET', `/api/users?query=%25`, { token })).body).toEqual([]);
    for (const q of ['limit=0', 'limit=51', 'limit=abc', 'foo=1']) expect((await api('GET', `/api/users?query=a&${q}`, { token })).status).toBe(400);
  });

  test('get by id: 200, 404, 400 for a malformed id, 401 without a token', async () => {
    const u = await register(svc.url, 'byid');
    expect((await api('GET', `/api/users/${u.user.id}`, { token: u.accessToken })).body).toEqual(u.user);
    expect((await api('GET', `/api/users/00000000-0000-4000-8000-000000000000`, { token: u.accessToken })).status).toBe(404);
    expect((await api('GET', `/api/users/not-a-uuid`, { token: u.accessToken })).status).toBe(400);
    expect((await api('GET', `/api/users/${u.user.id}`)).status).toBe(401);
  });
});

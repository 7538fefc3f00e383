import type { Service } from '../src/common/app.js';
import type { Member, Room } from '../src/contract/events.js';
import { parseConfig } from '../src/common/config/config.schema.js';
import { client, register, start, uniq } from './harness.js';

/** DEFAULT_ROOM: every new account starts in one public room, created by the first. */
describe('default room on registration', () => {
  const name = uniq('General');
  let svc: Service;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    svc = await start('all', { DEFAULT_ROOM: name });
    api = client(svc.url);
  });
  afterAll(() => svc.close());

  const rooms = async (token: string): Promise<Room[]> => (await api('GET', '/api/chat/rooms', { token })).body;

  it('the first account creates and owns it, later ones join as members, concurrent ones make one room', async () => {
    const first = await register(svc.url, 'dr');
    const [mine] = await rooms(first.accessToken);
    expect(mine).toMatchObject({ name, kind: 'public', role: 'owner', memberCount: 1 });

    // Same name in any case: found, not a second room (public names are unique case-insensitively).
    const others = await Promise.all(Array.from({ length: 8 }, () => register(svc.url, 'dr')));
    for (const o of others) {
      const list = await rooms(o.accessToken);
      expect(list.map((r) => [r.id, r.role])).toEqual([[mine.id, 'member']]);
    }
    const members = await api('GET', `/api/chat/rooms/${mine.id}/members?limit=50`, { token: first.accessToken });
    expect(members.status).toBe(200);
    expect((members.body.members as Member[]).length).toBe(9);
    const found = await api('GET', `/api/chat/rooms/public?query=${encodeURIComponent(name.toLowerCase())}`, { token: first.accessToken });
    expect((found.body as Room[]).filter((r) => r.name.toLowerCase() === name.toLowerCase())).toHaveLength(1);
  });

  it('concurrent first registrations create exactly one room', async () => {
    const fresh = uniq('Lobby');
    const other = await start('all', { DEFAULT_ROOM: fresh });
    try {
      const accounts = await Promise.all(Array.from({ length: 6 }, () => register(other.url, 'dc')));
      const lists = await Promise.all(accounts.map(async (a) => (await client(other.url)('GET', '/api/chat/rooms', { token: a.accessToken })).body as Room[]));
      const ids = new Set(lists.map((l) => (l.length === 1 ? l[0].id : `count ${l.length}`)));
      expect(ids.size).toBe(1);
      expect(lists.flat().filter((r) => r.role === 'owner')).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('empty turns it off, and a name the contract would refuse stops the boot', async () => {
    const off = await start('all', { DEFAULT_ROOM: '' });
    try {
      const a = await register(off.url, 'dn');
      expect(await client(off.url)('GET', '/api/chat/rooms', { token: a.accessToken }).then((r) => r.body)).toEqual([]);
    } finally {
      await off.close();
    }
    expect(() => parseConfig('auth', { DATABASE_URL: 'postgres://x/y', JWT_PRIVATE_KEY: 'k', DEFAULT_ROOM: 'x'.repeat(81) })).toThrow(/DEFAULT_ROOM/);
    expect(() => parseConfig('auth', { DATABASE_URL: 'postgres://x/y', JWT_PRIVATE_KEY: 'k', DEFAULT_ROOM: 'a\u0000b' })).toThrow(/DEFAULT_ROOM/);
    expect(parseConfig('all', {}).DEFAULT_ROOM).toBe('general');
    expect(parseConfig('auth', { DATABASE_URL: 'postgres://x/y', JWT_PRIVATE_KEY: 'k' }).DEFAULT_ROOM).toBe('');
  });
});

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ROOM_MENTION_MAX_MEMBERS } from '../src/chat/mentions.js';
import type { Service } from '../src/common/app.js';
import type { AuthResult, Member, Message, Room } from '../src/contract/events.js';
import { ClientSocket, client, collect, connect, next, register, sleep, start, uniq } from './harness.js';

/** Version 2: rooms and people (roles, members, rename, leave, remove) and mentions. */
describe('rooms and people', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    svc = await start('all');
    api = client(svc.url);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => svc.close());

  const users = (n: number, prefix = 'rp') => Promise.all(Array.from({ length: n }, () => register(svc.url, prefix)));
  const open = async (who: AuthResult) => {
    const s = await connect(svc.url, who.accessToken);
    sockets.push(s);
    return s;
  };
  const create = async (who: AuthResult, kind: 'public' | 'private' = 'public', name = uniq('people')): Promise<Room> => {
    const res = await api('POST', '/api/chat/rooms', { token: who.accessToken, body: { name, kind } });
    expect(res.status).toBe(201);
    return res.body;
  };
  const add = async (by: AuthResult, room: Room, ...who: AuthResult[]) => {
    for (const u of who)
      expect((await api('POST', `/api/chat/rooms/${room.id}/members`, { token: by.accessToken, body: { userId: u.user.id } })).status).toBe(201);
  };
  const setRole = (by: AuthResult, room: Room, who: AuthResult, role: string) =>
    api('PATCH', `/api/chat/rooms/${room.id}/members/${who.user.id}`, { token: by.accessToken, body: { role } });
  const mine = async (who: AuthResult, roomId: string): Promise<Room | undefined> =>
    (await api('GET', '/api/chat/rooms', { token: who.accessToken })).body.find((r: Room) => r.id === roomId);
  const send = (who: AuthResult, roomId: string, body: string) =>
    api('POST', `/api/chat/rooms/${roomId}/messages`, { token: who.accessToken, body: { body, clientId: randomUUID() } });
  const allMembers = async (who: AuthResult, roomId: string, limit = 200): Promise<Member[]> => {
    const out: Member[] = [];
    let after = '';
    for (;;) {
      const res = await api('GET', `/api/chat/rooms/${roomId}/members?limit=${limit}${after ? `&after=${after}` : ''}`, { token: who.accessToken });
      expect(res.status).toBe(200);
      out.push(...res.body.members);
      if (!res.body.hasMore) return out;
      after = res.body.members.at(-1).userId;
    }
  };

  test('a room says its topic, my role, member count, unread mentions and my mute setting', async () => {
    const [ann, ben] = await users(2);
    const r = await create(ann, 'private');
    expect(r).toMatchObject({ topic: null, role: 'owner', memberCount: 1, mentions: 0, muted: false, unread: 0 });
    await add(ann, r, ben);
    expect(await mine(ben, r.id)).toMatchObject({ role: 'member', memberCount: 2, muted: false });
    expect(await mine(ann, r.id)).toMatchObject({ role: 'owner', memberCount: 2 });
    const d = (await api('POST', '/api/chat/direct', { token: ann.accessToken, body: { userId: ben.user.id } })).body as Room;
    expect(d).toMatchObject({ kind: 'direct', role: 'member', memberCount: 2 });
    expect(await mine(ben, d.id)).toMatchObject({ role: 'member' });
    // Discovery shows rooms I am not in with role null.
    const pub = await create(ann, 'public', uniq('discover me'));
    const found = (await api('GET', `/api/chat/rooms/public?query=${encodeURIComponent(pub.name)}`, { token: ben.accessToken })).body as Room[];
    expect(found).toEqual([expect.objectContaining({ id: pub.id, role: null, memberCount: 1, mentions: 0, muted: false })]);
  });

  test('members: keyset pages ordered by user id, with role, online and joinedAt; members only', async () => {
    const [ann, ben, cid, dan, out] = await users(5);
    const r = await create(ann, 'private');
    await add(ann, r, ben, cid, dan);
    await open(ben);
    const list = await allMembers(cid, r.id, 2);
    expect(list.map((m) => m.userId)).toEqual([ann, ben, cid, dan].map((u) => u.user.id).sort());
    const byId = new Map(list.map((m) => [m.userId, m]));
    expect(byId.get(ann.user.id)).toEqual({
      userId: ann.user.id,
      username: ann.user.username,
      displayName: ann.user.displayName,
      role: 'owner',
      online: false,
      joinedAt: expect.any(String),
    });
    expect(byId.get(ben.user.id)).toMatchObject({ role: 'member', online: true });
    const first = await api('GET', `/api/chat/rooms/${r.id}/members?limit=3`, { token: ann.accessToken });
    expect(first.body.hasMore).toBe(true);
    expect(first.body.members).toHaveLength(3);
    // Outsiders: 404 for a private room, 403 for a public one; bad input 400.
    expect((await api('GET', `/api/chat/rooms/${r.id}/members`, { token: out.accessToken })).status).toBe(404);
    const pub = await create(ann);
    expect((await api('GET', `/api/chat/rooms/${pub.id}/members`, { token: out.accessToken })).status).toBe(403);
    for (const q of ['limit=0', 'limit=201', 'after=nope', 'offset=1'])
      expect((await api('GET', `/api/chat/rooms/${r.id}/members?${q}`, { token: ann.accessToken })).status).toBe(400);
    expect((await api('GET', `/api/chat/rooms/${r.id}/members?limit=200`, { token: ann.accessToken })).status).toBe(200);
  });

  test('members: rate limited like history (READ_RATE_LIMIT), 429 with Retry-After', async () => {
    const limited = await start('all', { READ_RATE_LIMIT: '2' });
    try {
      const c = client(limited.url);
      const u = await register(limited.url, 'rl');
      const r = (await c('POST', '/api/chat/rooms', { token: u.accessToken, body: { name: uniq('rl members'), kind: 'private' } })).body;
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await c('GET', `/api/chat/rooms/${r.id}/members`, { token: u.accessToken })).status);
      expect(codes).toEqual([200, 200, 429]);
      const last = await c('GET', `/api/chat/rooms/${r.id}/members`, { token: u.accessToken });
      expect(last.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await limited.close();
    }
  });

  test('permission matrix: rename, topic, remove, change role, leave for outsider, member, admin and owner', async () => {
    const [owner, admin, member, outsider, victim1, victim2] = await users(6);
    const r = await create(owner, 'public');
    await add(owner, r, admin, member, victim1, victim2);
    expect((await setRole(owner, r, admin, 'admin')).status).toBe(200);
    const patch = (who: AuthResult, body: unknown) => api('PATCH', `/api/chat/rooms/${r.id}`, { token: who.accessToken, body });
    const removeUser = (who: AuthResult, target: AuthResult) => api('DELETE', `/api/chat/rooms/${r.id}/members/${target.user.id}`, { token: who.accessToken });

    // Rename and topic: owner and admin only; an outsider of a public room gets 403.
    expect((await patch(outsider, { name: uniq('hijack') })).status).toBe(403);
    expect((await patch(member, { name: uniq('hijack') })).status).toBe(403);
    expect((await patch(member, { topic: 'mine now' })).status).toBe(403);
    const byAdmin = await patch(admin, { name: uniq('renamed'), topic: '  the topic  ' });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ id: r.id, topic: 'the topic', role: 'admin' });
    const byOwner = await patch(owner, { topic: null });
    expect(byOwner.status).toBe(200);
    expect(byOwner.body).toMatchObject({ name: byAdmin.body.name, topic: null, role: 'owner' });
    expect((await patch(owner, { topic: 'again' })).body.topic).toBe('again');
    expect((await patch(owner, { topic: '' })).body.topic).toBeNull();

    // Change role: owner only; the owner's own role cannot change; a non-member is 404.
    expect((await setRole(outsider, r, member, 'admin')).status).toBe(403);
    expect((await setRole(member, r, member, 'admin')).status).toBe(403);
    expect((await setRole(admin, r, member, 'admin')).status).toBe(403);
    expect((await setRole(owner, r, owner, 'member')).status).toBe(403);
    expect((await setRole(owner, r, outsider, 'admin')).status).toBe(404);
    expect((await setRole(owner, r, member, 'owner')).status).toBe(400);
    const promoted = await setRole(owner, r, victim2, 'admin');
    expect(promoted.status).toBe(200);
    expect(promoted.body).toEqual({
      userId: victim2.user.id,
      username: victim2.user.username,
      displayName: victim2.user.displayName,
      role: 'admin',
      online: false,
      joinedAt: expect.any(String),
    });

    // Remove: owner or admin, never the owner; admins may remove members and admins.
    expect((await removeUser(outsider, member)).status).toBe(403);
    expect((await removeUser(member, victim1)).status).toBe(403);
    expect((await removeUser(admin, owner)).status).toBe(403);
    expect((await removeUser(admin, outsider)).status).toBe(404);
    expect((await removeUser(admin, victim1)).status).toBe(204);
    expect((await removeUser(admin, victim2)).status).toBe(204);
    expect((await allMembers(owner, r.id)).map((m) => m.userId).sort()).toEqual([owner, admin, member].map((u) => u.user.id).sort());
    // A removed member is an outsider again: history 403 on a public room.
    expect((await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: victim1.accessToken })).status).toBe(403);
    expect(await mine(victim1, r.id)).toBeUndefined();

    // Leave: anyone but an outsider; an admin, a member.
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/me`, { token: outsider.accessToken })).status).toBe(403);
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/me`, { token: member.accessToken })).status).toBe(204);
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/${admin.user.id}`, { token: admin.accessToken })).status).toBe(204);
    expect((await allMembers(owner, r.id)).map((m) => m.userId)).toEqual([owner.user.id]);
    expect((await mine(owner, r.id))?.memberCount).toBe(1);
  });

  test('private and direct rooms: outsiders get 404; a direct room cannot be renamed, left or managed', async () => {
    const [ann, ben, out] = await users(3);
    const priv = await create(ann, 'private');
    for (const [m, p, body] of [
      ['PATCH', `/api/chat/rooms/${priv.id}`, { name: 'x' }],
      ['PATCH', `/api/chat/rooms/${priv.id}/settings`, { muted: true }],
      ['DELETE', `/api/chat/rooms/${priv.id}/members/me`, undefined],
      ['DELETE', `/api/chat/rooms/${priv.id}/members/${ann.user.id}`, undefined],
      ['PATCH', `/api/chat/rooms/${priv.id}/members/${ann.user.id}`, { role: 'admin' }],
      ['GET', `/api/chat/rooms/${priv.id}/members`, undefined],
    ] as const)
      expect([m, p, (await api(m, p, { token: out.accessToken, body })).status]).toEqual([m, p, 404]);
    const d = (await api('POST', '/api/chat/direct', { token: ann.accessToken, body: { userId: ben.user.id } })).body as Room;
    expect((await api('PATCH', `/api/chat/rooms/${d.id}`, { token: ann.accessToken, body: { name: 'ours' } })).status).toBe(403);
    expect((await api('DELETE', `/api/chat/rooms/${d.id}/members/me`, { token: ann.accessToken })).status).toBe(403);
    expect((await api('DELETE', `/api/chat/rooms/${d.id}/members/${ben.user.id}`, { token: ann.accessToken })).status).toBe(403);
    expect((await api('PATCH', `/api/chat/rooms/${d.id}/members/${ben.user.id}`, { token: ann.accessToken, body: { role: 'admin' } })).status).toBe(403);
    expect((await api('GET', `/api/chat/rooms/${d.id}/members`, { token: out.accessToken })).status).toBe(404);
    expect((await api('GET', `/api/chat/rooms/${d.id}/members`, { token: ben.accessToken })).body.members).toHaveLength(2);
  });

  test('bad input is 400 naming the field (NUL, lengths, unknown fields, empty change, bad ids)', async () => {
    const [ann] = await users(1);
    const r = await create(ann);
    const patch = (body: unknown) => api('PATCH', `/api/chat/rooms/${r.id}`, { token: ann.accessToken, body });
    const fields = (res: { body: { details?: Array<{ field: string }> } }) => res.body.details?.map((d) => d.field);
    for (const [body, field] of [
      [{ name: 'a\u0000b' }, 'name'],
      [{ topic: 'a\u0000b' }, 'topic'],
      [{ name: '\uD800' }, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(81) }, 'name'],
      [{ topic: 't'.repeat(251) }, 'topic'],
      [{ topic: 5 }, 'topic'],
      [{}, 'name'],
      [{ name: 'ok', extra: 1 }, 'extra'],
    ] as const) {
      const res = await patch(body);
      expect([body, res.status]).toEqual([body, 400]);
      expect(fields(res)).toContain(field);
    }
    expect((await patch({ topic: 't'.repeat(250) })).status).toBe(200);
    const settings = (body: unknown) => api('PATCH', `/api/chat/rooms/${r.id}/settings`, { token: ann.accessToken, body });
    for (const body of [{}, { muted: 'yes' }, { muted: null }, { muted: true, x: 1 }]) expect((await settings(body)).status).toBe(400);
    expect((await api('PATCH', `/api/chat/rooms/${r.id}/members/nope`, { token: ann.accessToken, body: { role: 'admin' } })).status).toBe(400);
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/nope`, { token: ann.accessToken })).status).toBe(400);
    expect((await api('DELETE', `/api/chat/rooms/nope/members/me`, { token: ann.accessToken })).status).toBe(400);
    expect((await api('PATCH', `/api/chat/rooms/${r.id}/members/${ann.user.id}`, { token: ann.accessToken, body: { role: 'king' } })).status).toBe(400);
    for (const [m, p] of [
      ['GET', `/api/chat/rooms/${r.id}/members`],
      ['PATCH', `/api/chat/rooms/${r.id}`],
      ['DELETE', `/api/chat/rooms/${r.id}/members/me`],
      ['PATCH', `/api/chat/rooms/${r.id}/settings`],
    ])
      expect((await api(m, p)).status).toBe(401);
  });

  test('public room names are unique case-insensitively: 409 on create and on rename; private names may repeat', async () => {
    const [ann, ben] = await users(2);
    const name = uniq('Unique Name');
    await create(ann, 'public', name);
    const again = await api('POST', '/api/chat/rooms', { token: ben.accessToken, body: { name: name.toUpperCase(), kind: 'public' } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ statusCode: 409, error: 'Conflict', message: expect.any(String) });
    expect((await api('POST', '/api/chat/rooms', { token: ben.accessToken, body: { name: `  ${name.toLowerCase()} `, kind: 'public' } })).status).toBe(409);
    expect((await api('POST', '/api/chat/rooms', { token: ben.accessToken, body: { name, kind: 'private' } })).status).toBe(201);
    expect((await api('POST', '/api/chat/rooms', { token: ben.accessToken, body: { name, kind: 'private' } })).status).toBe(201);
    const other = await create(ben, 'public');
    const renamed = await api('PATCH', `/api/chat/rooms/${other.id}`, { token: ben.accessToken, body: { name: name.toLowerCase() } });
    expect(renamed.status).toBe(409);
    expect((await api('PATCH', `/api/chat/rooms/${other.id}`, { token: ben.accessToken, body: { name: other.name.toUpperCase() } })).status).toBe(200);
    // Two at once: exactly one wins.
    const race = uniq('race');
    const results = await Promise.all(
      [ann, ben, ann, ben].map((u) => api('POST', '/api/chat/rooms', { token: u.accessToken, body: { name: race, kind: 'public' } })),
    );
    expect(results.map((x) => x.status).sort()).toEqual([201, 409, 409, 409]);
  });

  test('ownership: the owner leaving hands it to the longest-standing admin, else the longest-standing member; the last one out deletes the room', async () => {
    const [owner, early, late, admin] = await users(4);
    const r = await create(owner, 'private');
    await add(owner, r, early);
    await sleep(5);
    await add(owner, r, late);
    await sleep(5);
    await add(owner, r, admin);
    expect((await setRole(owner, r, admin, 'admin')).status).toBe(200);
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/me`, { token: owner.accessToken })).status).toBe(204);
    expect((await mine(admin, r.id))?.role).toBe('owner');
    expect((await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: owner.accessToken })).status).toBe(404);
    // No admin left: the longest-standing member.
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/me`, { token: admin.accessToken })).status).toBe(204);
    expect((await mine(early, r.id))?.role).toBe('owner');
    expect((await mine(late, r.id))?.role).toBe('member');
    const members = await allMembers(late, r.id);
    expect(members.filter((m) => m.role === 'owner').map((m) => m.userId)).toEqual([early.user.id]);
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/me`, { token: early.accessToken })).status).toBe(204);
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/me`, { token: late.accessToken })).status).toBe(204);
    // The room is gone, so its public name (if it had one) is free again.
    expect((await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: late.accessToken })).status).toBe(404);
    expect((await api('POST', `/api/chat/rooms/${r.id}/join`, { token: late.accessToken })).status).toBe(404);
    const pub = await create(owner, 'public');
    expect((await api('DELETE', `/api/chat/rooms/${pub.id}/members/me`, { token: owner.accessToken })).status).toBe(204);
    expect((await create(late, 'public', pub.name)).name).toBe(pub.name);
  });

  test('my settings: muted is mine alone; my other sockets hear room:updated', async () => {
    const [ann, ben] = await users(2);
    const r = await create(ann, 'private');
    await add(ann, r, ben);
    const s = await open(ann);
    const updated = next(s, 'room:updated', (x) => x.id === r.id);
    const res = await api('PATCH', `/api/chat/rooms/${r.id}/settings`, { token: ann.accessToken, body: { muted: true } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: r.id, muted: true, role: 'owner' });
    expect(await updated).toMatchObject({ id: r.id, muted: true });
    expect((await mine(ann, r.id))?.muted).toBe(true);
    expect((await mine(ben, r.id))?.muted).toBe(false);
    expect((await api('PATCH', `/api/chat/rooms/${r.id}/settings`, { token: ann.accessToken, body: { muted: false } })).body.muted).toBe(false);
  });

  test('events: member:joined, room:updated (each member their own view), member:updated, member:left and room:removed', async () => {
    const [owner, ben, cid] = await users(3);
    const r = await create(owner, 'public');
    await api('POST', `/api/chat/rooms/${r.id}/join`, { token: ben.accessToken });
    const so = await open(owner);
    const sb = await open(ben);
    const sc = await open(cid);
    const joined = next(so, 'member:joined', (p) => p.roomId === r.id);
    await api('POST', `/api/chat/rooms/${r.id}/join`, { token: cid.accessToken });
    expect(await joined).toEqual({
      roomId: r.id,
      member: {
        userId: cid.user.id,
        username: cid.user.username,
        displayName: cid.user.displayName,
        role: 'member',
        online: true,
        joinedAt: expect.any(String),
      },
    });

    const views = [so, sb, sc].map((s) => next(s, 'room:updated', (x) => x.id === r.id));
    const name = uniq('events renamed');
    expect((await api('PATCH', `/api/chat/rooms/${r.id}`, { token: owner.accessToken, body: { name, topic: 'news' } })).status).toBe(200);
    const [vo, vb, vc] = await Promise.all(views);
    for (const v of [vo, vb, vc]) expect(v).toMatchObject({ id: r.id, name, topic: 'news', memberCount: 3 });
    expect([vo.role, vb.role, vc.role]).toEqual(['owner', 'member', 'member']);

    const roleEvent = next(sc, 'member:updated', (p) => p.roomId === r.id);
    const benView = next(sb, 'room:updated', (x) => x.id === r.id);
    expect((await setRole(owner, r, ben, 'admin')).status).toBe(200);
    expect(await roleEvent).toMatchObject({ roomId: r.id, member: { userId: ben.user.id, role: 'admin' } });
    expect((await benView).role).toBe('admin');

    const left = next(so, 'member:left', (p) => p.roomId === r.id);
    const removed = next(sc, 'room:removed', (p) => p.roomId === r.id);
    const cidLeft = collect(sc, 'member:left');
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/${cid.user.id}`, { token: ben.accessToken })).status).toBe(204);
    expect(await left).toEqual({ roomId: r.id, userId: cid.user.id, removedBy: ben.user.id });
    expect(await removed).toEqual({ roomId: r.id });
    // The removed member hears nothing more of the room, at once.
    const after = collect(sc, 'message:new');
    const ownerSees = next(so, 'message:new', (m) => m.roomId === r.id);
    expect((await send(ben, r.id, 'after the removal')).status).toBe(201);
    await ownerSees;
    await sleep(200);
    expect(after.seen).toEqual([]);
    expect(cidLeft.seen).toEqual([]);
    expect(await sc.emitWithAck('typing', { roomId: r.id, typing: true })).toMatchObject({ ok: false, error: { code: 'not_found' } });

    const benLeft = next(so, 'member:left', (p) => p.roomId === r.id);
    const benRemoved = next(sb, 'room:removed', (p) => p.roomId === r.id);
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/me`, { token: ben.accessToken })).status).toBe(204);
    expect(await benLeft).toEqual({ roomId: r.id, userId: ben.user.id, removedBy: null });
    await benRemoved;
  });

  test('a socket that connects after a removal does not subscribe to the room', async () => {
    const [owner, ben] = await users(2);
    const r = await create(owner, 'private');
    await add(owner, r, ben);
    expect((await api('DELETE', `/api/chat/rooms/${r.id}/members/${ben.user.id}`, { token: owner.accessToken })).status).toBe(204);
    const sb = await open(ben);
    const got = collect(sb, 'message:new');
    const so = await open(owner);
    const seen = next(so, 'message:new', (m) => m.roomId === r.id);
    await send(owner, r.id, 'not for ben');
    await seen;
    await sleep(150);
    expect(got.seen).toEqual([]);
  });

  test('sync after leaving one room: that room is answered gone, the others are caught up as usual', async () => {
    const [ann, ben] = await users(2, 'sg');
    const [stay, leave] = [await create(ann, 'private'), await create(ann, 'private')];
    await add(ann, stay, ben);
    await add(ann, leave, ben);
    await send(ann, stay.id, 'still here');
    await send(ann, leave.id, 'in the room ben leaves');
    expect((await api('DELETE', `/api/chat/rooms/${leave.id}/members/me`, { token: ben.accessToken })).status).toBe(204);
    const s = await open(ben);
    const ack = await s.emitWithAck('sync', {
      rooms: [
        { roomId: leave.id, afterSeq: 0, afterChange: 0 },
        { roomId: stay.id, afterSeq: 0, afterChange: 0 },
      ],
    });
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    const [gone, kept] = ack.rooms;
    expect(gone).toEqual({ roomId: leave.id, messages: [], updated: [], hasMore: false, lastChange: 0, gone: true });
    expect(kept.roomId).toBe(stay.id);
    expect(kept.gone).toBeUndefined();
    expect(kept.messages.map((m) => m.body)).toEqual(['still here']);
  });
});

describe('mentions', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    svc = await start('all');
    api = client(svc.url);
  });
  afterAll(() => svc.close());

  const send = (who: AuthResult, roomId: string, body: string) =>
    api('POST', `/api/chat/rooms/${roomId}/messages`, { token: who.accessToken, body: { body, clientId: randomUUID() } });
  const mine = async (who: AuthResult, roomId: string): Promise<Room> =>
    (await api('GET', '/api/chat/rooms', { token: who.accessToken })).body.find((r: Room) => r.id === roomId);

  test('@username (any case) of members, @room for everyone; others and look-alikes are not mentioned', async () => {
    const [ann, ben, cid, out] = await Promise.all([1, 2, 3, 4].map(() => register(svc.url, 'mn')));
    const r = (await api('POST', '/api/chat/rooms', { token: ann.accessToken, body: { name: uniq('mentions'), kind: 'private' } })).body as Room;
    for (const u of [ben, cid]) await api('POST', `/api/chat/rooms/${r.id}/members`, { token: ann.accessToken, body: { userId: u.user.id } });
    const m1 = (await send(ann, r.id, `hi @${ben.user.username.toUpperCase()}, and @${out.user.username} and mail x@${cid.user.username}`)).body as Message;
    expect(m1.mentions).toEqual([ben.user.id]);
    const m2 = (await send(ann, r.id, `@${cid.user.username}. done @nobody_here`)).body as Message;
    expect(m2.mentions).toEqual([cid.user.id]);
    const m3 = (await send(ann, r.id, 'heads up @room!')).body as Message;
    expect([...m3.mentions].sort()).toEqual([ann, ben, cid].map((u) => u.user.id).sort());
    expect(((await send(ann, r.id, 'no mention here')).body as Message).mentions).toEqual([]);
    // History carries them too.
    const hist = (await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: cid.accessToken })).body.messages as Message[];
    expect(hist.map((m) => m.mentions.length)).toEqual([1, 1, 3, 0]);

    expect(await mine(ben, r.id)).toMatchObject({ unread: 4, mentions: 2 });
    expect(await mine(cid, r.id)).toMatchObject({ unread: 4, mentions: 2 });
    // Mentioning myself never counts (my own messages move my read marker anyway).
    expect(await mine(ann, r.id)).toMatchObject({ unread: 0, mentions: 0 });
    // Someone else's @room counts for the sender of earlier messages too.
    await send(ben, r.id, 'and @room again');
    expect(await mine(ann, r.id)).toMatchObject({ unread: 1, mentions: 1 });
    expect(await mine(cid, r.id)).toMatchObject({ unread: 5, mentions: 3 });
    // The read marker passes them.
    await api('POST', `/api/chat/rooms/${r.id}/read`, { token: cid.accessToken, body: { seq: 2 } });
    expect(await mine(cid, r.id)).toMatchObject({ unread: 3, mentions: 2 });
    await api('POST', `/api/chat/rooms/${r.id}/read`, { token: cid.accessToken, body: { seq: 5 } });
    expect(await mine(cid, r.id)).toMatchObject({ unread: 0, mentions: 0 });
  });

  test(`@room mentions every member up to ${ROOM_MENTION_MAX_MEMBERS}, nobody beyond; @username still works there`, async () => {
    const [ann, ben] = await Promise.all([1, 2].map(() => register(svc.url, 'mb')));
    const r = (await api('POST', '/api/chat/rooms', { token: ann.accessToken, body: { name: uniq('crowd'), kind: 'private' } })).body as Room;
    await api('POST', `/api/chat/rooms/${r.id}/members`, { token: ann.accessToken, body: { userId: ben.user.id } });
    // The other members as bare rows: registering a thousand accounts would take minutes.
    const db = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await db.connect();
    const addRows = (n: number) => db.query(`INSERT INTO chat.members (room_id, user_id) SELECT $1, gen_random_uuid() FROM generate_series(1, $2)`, [r.id, n]);
    try {
      await addRows(ROOM_MENTION_MAX_MEMBERS - 2);
      expect(((await send(ben, r.id, 'all @room')).body as Message).mentions).toHaveLength(ROOM_MENTION_MAX_MEMBERS);
      await addRows(1);
      const over = (await send(ben, r.id, `all @room and @${ann.user.username}`)).body as Message;
      expect(over.mentions).toEqual([ann.user.id]);
    } finally {
      await db.end();
    }
  });

  test('edits re-read mentions and a deleted message no longer counts', async () => {
    const [ann, ben] = await Promise.all([1, 2].map(() => register(svc.url, 'me')));
    const r = (await api('POST', '/api/chat/rooms', { token: ann.accessToken, body: { name: uniq('edits'), kind: 'private' } })).body as Room;
    await api('POST', `/api/chat/rooms/${r.id}/members`, { token: ann.accessToken, body: { userId: ben.user.id } });
    const m = (await send(ann, r.id, 'no one yet')).body as Message;
    expect((await mine(ben, r.id)).mentions).toBe(0);
    const edited = await api('PATCH', `/api/chat/messages/${m.id}`, { token: ann.accessToken, body: { body: `now @${ben.user.username}` } });
    expect(edited.body.mentions).toEqual([ben.user.id]);
    expect((await mine(ben, r.id)).mentions).toBe(1);
    expect((await api('DELETE', `/api/chat/messages/${m.id}`, { token: ann.accessToken })).status).toBe(204);
    expect((await mine(ben, r.id)).mentions).toBe(0);
    const hist = (await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: ben.accessToken })).body.messages as Message[];
    expect(hist[0]).toMatchObject({ deleted: true, mentions: [] });
  });

  test('unbatched sends (SEND_BATCH_MAX=1) resolve mentions the same way', async () => {
    const single = await start('all', { SEND_BATCH_MAX: '1' });
    try {
      const c = client(single.url);
      const [ann, ben] = await Promise.all([1, 2].map(() => register(single.url, 'm1')));
      const r = (await c('POST', '/api/chat/rooms', { token: ann.accessToken, body: { name: uniq('single'), kind: 'private' } })).body as Room;
      await c('POST', `/api/chat/rooms/${r.id}/members`, { token: ann.accessToken, body: { userId: ben.user.id } });
      const m = await c('POST', `/api/chat/rooms/${r.id}/messages`, { token: ann.accessToken, body: { body: `@${ben.user.username} look`, clientId: 'one' } });
      expect(m.status).toBe(201);
      expect(m.body.mentions).toEqual([ben.user.id]);
      const again = await c('POST', `/api/chat/rooms/${r.id}/messages`, {
        token: ann.accessToken,
        body: { body: `@${ben.user.username} look`, clientId: 'one' },
      });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(m.body);
      const room = (await c('GET', '/api/chat/rooms', { token: ben.accessToken })).body.find((x: Room) => x.id === r.id);
      expect(room).toMatchObject({ unread: 1, mentions: 1 });
    } finally {
      await single.close();
    }
  });

  test('in a direct room every unread message counts as a mention', async () => {
    const [ann, ben] = await Promise.all([1, 2].map(() => register(svc.url, 'md')));
    const d = (await api('POST', '/api/chat/direct', { token: ann.accessToken, body: { userId: ben.user.id } })).body as Room;
    for (const t of ['one', 'two', 'three']) await send(ann, d.id, t);
    expect(await mine(ben, d.id)).toMatchObject({ unread: 3, mentions: 3 });
    expect(await mine(ann, d.id)).toMatchObject({ unread: 0, mentions: 0 });
    await api('POST', `/api/chat/rooms/${d.id}/read`, { token: ben.accessToken, body: { seq: 2 } });
    expect(await mine(ben, d.id)).toMatchObject({ unread: 1, mentions: 1 });
  });

  test('batched sends (sockets, many at once) resolve each message its own mentions, seq without gaps', async () => {
    const people = await Promise.all([1, 2, 3, 4].map(() => register(svc.url, 'mb')));
    const [ann, ...rest] = people;
    const r = (await api('POST', '/api/chat/rooms', { token: ann.accessToken, body: { name: uniq('batch mentions'), kind: 'private' } })).body as Room;
    for (const u of rest) await api('POST', `/api/chat/rooms/${r.id}/members`, { token: ann.accessToken, body: { userId: u.user.id } });
    const sockets = await Promise.all(people.map((u) => connect(svc.url, u.accessToken)));
    try {
      const N = 10;
      const acks = await Promise.all(
        people.flatMap((u, i) =>
          Array.from({ length: N }, (_, k) => {
            const target = people[(i + 1 + (k % 3)) % people.length];
            const body = k === N - 1 ? `all of you @room` : k % 2 ? `ping @${target.user.username}` : 'plain';
            return sockets[i].emitWithAck('message:send', { roomId: r.id, body, clientId: randomUUID() }).then((a) => ({ a, body, target }));
          }),
        ),
      );
      const seqs: number[] = [];
      for (const { a, body, target } of acks) {
        expect(a.ok).toBe(true);
        if (!a.ok) continue;
        seqs.push(a.message.seq);
        if (body === 'plain') expect(a.message.mentions).toEqual([]);
        else if (body.includes('@room')) expect(a.message.mentions).toHaveLength(people.length);
        else expect(a.message.mentions).toEqual([target.user.id]);
      }
      expect(seqs.sort((x, y) => x - y)).toEqual(Array.from({ length: people.length * N }, (_, i) => i + 1));
      // Each person: mentioned by the others' @room (3) and by the pings aimed at them by others.
      for (const u of people) {
        const expected = acks.filter(
          ({ a, body, target }) => a.ok && a.message.senderId !== u.user.id && (body.includes('@room') || (body.startsWith('ping') && target === u)),
        ).length;
        const room = await mine(u, r.id);
        // Own messages move my read marker, so only mentions after my last own message count.
        const myLast = Math.max(...acks.filter(({ a }) => a.ok && a.message.senderId === u.user.id).map(({ a }) => (a.ok ? a.message.seq : 0)));
        const unreadExpected = acks.filter(
          ({ a, body, target }) =>
            a.ok && a.message.senderId !== u.user.id && a.message.seq > myLast && (body.includes('@room') || (body.startsWith('ping') && target === u)),
        ).length;
        expect(room.mentions).toBe(unreadExpected);
        expect(expected).toBeGreaterThanOrEqual(unreadExpected);
      }
    } finally {
      for (const s of sockets) s.close();
    }
  });
});

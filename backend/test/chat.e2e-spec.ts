import type { Service } from '../src/common/app.js';
import type { AuthResult, Message, Room } from '../src/contract/events.js';
import { client, register, start, uniq } from './harness.js';

describe('chat over HTTP', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  let alice: AuthResult;
  let bob: AuthResult;
  let carol: AuthResult;

  beforeAll(async () => {
    svc = await start('all');
    api = client(svc.url);
    [alice, bob, carol] = await Promise.all([register(svc.url, 'alice'), register(svc.url, 'bob'), register(svc.url, 'carol')]);
  });
  afterAll(() => svc.close());

  const room = async (who: AuthResult, kind: 'public' | 'private', name = uniq(`room-${kind}`)): Promise<Room> => {
    const res = await api('POST', '/api/chat/rooms', { token: who.accessToken, body: { name, kind } });
    expect(res.status).toBe(201);
    return res.body;
  };
  const send = (who: AuthResult, roomId: string, body: string, clientId: string = crypto.randomUUID()) =>
    api('POST', `/api/chat/rooms/${roomId}/messages`, { token: who.accessToken, body: { body, clientId } });

  test('create, list, discover and join a public room', async () => {
    const r = await room(alice, 'public', 'Lobby Talk');
    expect(r).toEqual({
      id: expect.any(String),
      name: 'Lobby Talk',
      kind: 'public',
      topic: null,
      createdBy: alice.user.id,
      createdAt: expect.any(String),
      lastSeq: 0,
      unread: 0,
      mentions: 0,
      role: 'owner',
      memberCount: 1,
      muted: false,
      lastChange: 0,
    });
    expect((await api('GET', '/api/chat/rooms', { token: alice.accessToken })).body.map((x: Room) => x.id)).toContain(r.id);
    const found = await api('GET', '/api/chat/rooms/public?query=lobby', { token: bob.accessToken });
    expect(found.body.map((x: Room) => x.id)).toContain(r.id);
    const joined = await api('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken });
    expect(joined.status).toBe(200);
    expect(joined.body.id).toBe(r.id);
    expect((await api('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken })).status).toBe(200);
    expect((await api('GET', '/api/chat/rooms', { token: bob.accessToken })).body.map((x: Room) => x.id)).toContain(r.id);
  });

  test('private rooms: join is 403, unknown is 404, outsiders can neither read nor post', async () => {
    const r = await room(alice, 'private', 'secret plans');
    expect((await api('POST', `/api/chat/rooms/${r.id}/join`, { token: carol.accessToken })).status).toBe(403);
    expect((await api('POST', `/api/chat/rooms/00000000-0000-4000-8000-000000000000/join`, { token: carol.accessToken })).status).toBe(404);
    expect((await api('GET', '/api/chat/rooms/public?query=secret', { token: carol.accessToken })).body).toEqual([]);
    expect((await send(alice, r.id, 'top secret')).status).toBe(201);
    expect((await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: carol.accessToken })).status).toBe(404);
    expect((await send(carol, r.id, 'let me in')).status).toBe(404);
    expect((await api('POST', `/api/chat/rooms/${r.id}/read`, { token: carol.accessToken, body: { seq: 1 } })).status).toBe(404);
    // A member adds carol; now she can read.
    expect((await api('POST', `/api/chat/rooms/${r.id}/members`, { token: alice.accessToken, body: { userId: carol.user.id } })).status).toBe(201);
    const hist = await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: carol.accessToken });
    expect(hist.status).toBe(200);
    expect(hist.body.messages.map((m: Message) => m.body)).toEqual(['top secret']);
  });

  test('public rooms: a non-member gets 403 for history and posting', async () => {
    const r = await room(alice, 'public');
    expect((await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: carol.accessToken })).status).toBe(403);
    expect((await send(carol, r.id, 'hi')).status).toBe(403);
  });

  test('adding members: only members may add, the user must exist', async () => {
    const r = await room(alice, 'private');
    expect((await api('POST', `/api/chat/rooms/${r.id}/members`, { token: bob.accessToken, body: { userId: bob.user.id } })).status).toBe(404);
    expect(
      (await api('POST', `/api/chat/rooms/${r.id}/members`, { token: alice.accessToken, body: { userId: '00000000-0000-4000-8000-000000000000' } })).status,
    ).toBe(404);
    expect((await api('POST', `/api/chat/rooms/${r.id}/members`, { token: alice.accessToken, body: { userId: 'nope' } })).status).toBe(400);
  });

  test('direct rooms: the same room every time, from either side', async () => {
    const a = await api('POST', '/api/chat/direct', { token: alice.accessToken, body: { userId: bob.user.id } });
    expect(a.status).toBe(200);
    expect(a.body.kind).toBe('direct');
    const b = await api('POST', '/api/chat/direct', { token: bob.accessToken, body: { userId: alice.user.id } });
    expect(b.body.id).toBe(a.body.id);
    const again = await Promise.all([1, 2, 3].map(() => api('POST', '/api/chat/direct', { token: alice.accessToken, body: { userId: bob.user.id } })));
    expect(new Set(again.map((r) => r.body.id))).toEqual(new Set([a.body.id]));
    expect((await api('GET', `/api/chat/rooms/${a.body.id}/messages`, { token: carol.accessToken })).status).toBe(404);
    expect((await api('POST', `/api/chat/rooms/${a.body.id}/join`, { token: carol.accessToken })).status).toBe(404);
    expect((await api('POST', `/api/chat/rooms/${a.body.id}/members`, { token: alice.accessToken, body: { userId: carol.user.id } })).status).toBe(403);
    expect((await api('POST', '/api/chat/direct', { token: alice.accessToken, body: { userId: alice.user.id } })).status).toBe(400);
  });

  test('sending is idempotent by (sender, clientId)', async () => {
    const r = await room(alice, 'public');
    const first = await send(alice, r.id, 'once', 'same-client-id');
    const second = await send(alice, r.id, 'once again?', 'same-client-id');
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const concurrent = await Promise.all([1, 2, 3, 4].map(() => send(alice, r.id, 'race', 'race-client-id')));
    expect(new Set(concurrent.map((c) => c.body.id)).size).toBe(1);
    const hist = await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken });
    expect(hist.body.messages.map((m: Message) => m.seq)).toEqual([1, 2]);
  });

  test('concurrent senders get seq 1..N with no gap or duplicate', async () => {
    const r = await room(alice, 'public', uniq('busy'));
    for (const u of [bob, carol]) await api('POST', `/api/chat/rooms/${r.id}/join`, { token: u.accessToken });
    const N = 20;
    const results = await Promise.all([alice, bob, carol].flatMap((u) => Array.from({ length: N }, (_, i) => send(u, r.id, `${u.user.username} ${i}`))));
    expect(results.every((x) => x.status === 201)).toBe(true);
    const seqs = results.map((x) => x.body.seq).sort((a: number, b: number) => a - b);
    expect(seqs).toEqual(Array.from({ length: 3 * N }, (_, i) => i + 1));
    const all: Message[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await api('GET', `/api/chat/rooms/${r.id}/messages?limit=7${before ? `&before=${before}` : ''}`, { token: bob.accessToken });
      all.unshift(...page.body.messages);
      if (!page.body.hasMore) break;
      before = page.body.messages[0].seq;
    }
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 3 * N }, (_, i) => i + 1));
  });

  test('sends that arrive together share a transaction, and each still gets its own answer', async () => {
    const batches = async () => {
      const text = await (await fetch(`${svc.url}/metrics`)).text();
      const get = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
      return { sum: get('chat_send_batch_size_sum'), count: get('chat_send_batch_size_count') };
    };
    const [dave, erin] = await Promise.all([register(svc.url, 'dave'), register(svc.url, 'erin')]);
    const rooms = await Promise.all([1, 2, 3].map((i) => room(dave, 'public', uniq(`batch-${i}`))));
    for (const r of rooms) await api('POST', `/api/chat/rooms/${r.id}/join`, { token: erin.accessToken });
    const secret = await room(dave, 'private', 'batch-secret');
    const before = await batches();
    const N = 12;
    const load = Promise.all(rooms.flatMap((r) => [dave, erin].flatMap((u) => Array.from({ length: N }, (_, i) => send(u, r.id, `${u.user.username} ${i}`)))));
    // The same clientId twice in one room and once in another; an outsider in a private room.
    const trio = Promise.all([
      send(dave, rooms[0].id, 'dup', 'batch-dup'),
      send(dave, rooms[0].id, 'dup', 'batch-dup'),
      send(dave, rooms[1].id, 'dup', 'batch-dup'),
    ]);
    const outsider = send(carol, secret.id, 'let me in');
    const [results, dups, out] = await Promise.all([load, trio, outsider]);
    const after = await batches();

    expect(results.every((x) => x.status === 201)).toBe(true);
    expect(out.status).toBe(404);
    const winners = dups.filter((x) => x.status === 201);
    expect(winners).toHaveLength(1);
    const winner = winners[0].body as Message;
    dups.forEach((x, i) => {
      if (x === winners[0]) return;
      const sameRoom = (i < 2 ? rooms[0].id : rooms[1].id) === winner.roomId;
      expect(x.status).toBe(sameRoom ? 200 : 409);
      if (sameRoom) expect(x.body).toEqual(winner);
    });
    for (const r of rooms) {
      const page = await api('GET', `/api/chat/rooms/${r.id}/messages?limit=100`, { token: erin.accessToken });
      const stored = page.body.messages as Message[];
      const expected = 2 * N + (winner.roomId === r.id ? 1 : 0);
      expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
      expect(new Set(stored.map((m) => `${m.senderId} ${m.clientId}`)).size).toBe(expected);
    }
    // More sends than transactions: some batch carried several.
    expect(after.sum - before.sum).toBeGreaterThan(after.count - before.count);
  });

  test('history: keyset pages with before and after, ascending, hasMore', async () => {
    const r = await room(alice, 'public');
    for (let i = 1; i <= 12; i++) await send(alice, r.id, `m${i}`);
    const latest = await api('GET', `/api/chat/rooms/${r.id}/messages?limit=5`, { token: alice.accessToken });
    expect(latest.body.messages.map((m: Message) => m.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(latest.body.hasMore).toBe(true);
    const older = await api('GET', `/api/chat/rooms/${r.id}/messages?limit=5&before=3`, { token: alice.accessToken });
    expect(older.body).toEqual({ messages: expect.any(Array), hasMore: false });
    expect(older.body.messages.map((m: Message) => m.seq)).toEqual([1, 2]);
    const after = await api('GET', `/api/chat/rooms/${r.id}/messages?after=9&limit=2`, { token: alice.accessToken });
    expect(after.body.messages.map((m: Message) => m.seq)).toEqual([10, 11]);
    expect(after.body.hasMore).toBe(true);
    const tail = await api('GET', `/api/chat/rooms/${r.id}/messages?after=11`, { token: alice.accessToken });
    expect(tail.body).toEqual({
      messages: [
        expect.objectContaining({ seq: 12, body: 'm12', senderId: alice.user.id, senderName: alice.user.displayName, deleted: false, editedAt: null }),
      ],
      hasMore: false,
    });
    for (const q of ['limit=0', 'limit=101', 'before=-1', 'after=x', 'offset=5'])
      expect((await api('GET', `/api/chat/rooms/${r.id}/messages?${q}`, { token: alice.accessToken })).status).toBe(400);
  });

  test('edit and delete: sender only; delete leaves an empty deleted message', async () => {
    const r = await room(alice, 'public');
    await api('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken });
    const m = (await send(alice, r.id, 'typo hre')).body as Message;
    expect((await api('PATCH', `/api/chat/messages/${m.id}`, { token: bob.accessToken, body: { body: 'hijack' } })).status).toBe(403);
    expect((await api('PATCH', `/api/chat/messages/${m.id}`, { token: carol.accessToken, body: { body: 'hijack' } })).status).toBe(404);
    const edited = await api('PATCH', `/api/chat/messages/${m.id}`, { token: alice.accessToken, body: { body: 'typo here' } });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ id: m.id, seq: m.seq, body: 'typo here', editedAt: expect.any(String), deleted: false });
    expect((await api('PATCH', `/api/chat/messages/${m.id}`, { token: alice.accessToken, body: { body: '' } })).status).toBe(400);
    expect((await api('DELETE', `/api/chat/messages/${m.id}`, { token: bob.accessToken })).status).toBe(403);
    expect((await api('DELETE', `/api/chat/messages/${m.id}`, { token: alice.accessToken })).status).toBe(204);
    expect((await api('DELETE', `/api/chat/messages/${m.id}`, { token: alice.accessToken })).status).toBe(204);
    expect((await api('PATCH', `/api/chat/messages/${m.id}`, { token: alice.accessToken, body: { body: 'back' } })).status).toBe(409);
    const hist = await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: bob.accessToken });
    expect(hist.body.messages[0]).toMatchObject({ id: m.id, body: '', deleted: true });
    expect((await api('DELETE', `/api/chat/messages/00000000-0000-4000-8000-000000000000`, { token: alice.accessToken })).status).toBe(404);
  });

  test('read markers drive unread counts', async () => {
    const r = await room(alice, 'public');
    await api('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken });
    for (let i = 0; i < 5; i++) await send(alice, r.id, `n${i}`);
    const unread = async (who: AuthResult) => (await api('GET', '/api/chat/rooms', { token: who.accessToken })).body.find((x: Room) => x.id === r.id);
    expect(await unread(alice)).toMatchObject({ lastSeq: 5, unread: 0 });
    expect(await unread(bob)).toMatchObject({ lastSeq: 5, unread: 5 });
    expect((await api('POST', `/api/chat/rooms/${r.id}/read`, { token: bob.accessToken, body: { seq: 3 } })).status).toBe(204);
    expect((await unread(bob)).unread).toBe(2);
    // Markers never move back, nor past the last message.
    await api('POST', `/api/chat/rooms/${r.id}/read`, { token: bob.accessToken, body: { seq: 1 } });
    expect((await unread(bob)).unread).toBe(2);
    await api('POST', `/api/chat/rooms/${r.id}/read`, { token: bob.accessToken, body: { seq: 999 } });
    await send(alice, r.id, 'n5');
    expect((await unread(bob)).unread).toBe(1);
    expect((await api('POST', `/api/chat/rooms/${r.id}/read`, { token: bob.accessToken, body: { seq: 'x' } })).status).toBe(400);
  });

  test('bad message input: empty, oversized, unknown fields, missing clientId', async () => {
    const r = await room(alice, 'public');
    const post = (body: unknown) => api('POST', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken, body });
    expect((await post({ body: '   ', clientId: 'a' })).status).toBe(400);
    expect((await post({ body: 'hi' })).status).toBe(400);
    expect((await post({ body: 'hi', clientId: 'c'.repeat(65) })).status).toBe(400);
    expect((await post({ body: 'hi', clientId: 'a', roomId: r.id })).status).toBe(400);
    const big = await post({ body: 'x'.repeat(4001), clientId: 'big' });
    expect(big.status).toBe(413);
    expect(big.body.details[0].field).toBe('body');
    expect((await post({ body: 'x'.repeat(4000), clientId: 'max' })).status).toBe(201);
    expect((await api('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: 'x', kind: 'secret' } })).status).toBe(400);
    expect((await api('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: '', kind: 'public' } })).status).toBe(400);
  });

  test('rate limit on sends: 429 with Retry-After', async () => {
    const limited = await start('all', { SEND_RATE_LIMIT: '3' });
    try {
      const u = await register(limited.url, 'rl');
      const c = client(limited.url);
      const r = (await c('POST', '/api/chat/rooms', { token: u.accessToken, body: { name: uniq('rl'), kind: 'public' } })).body;
      const codes: number[] = [];
      for (let i = 0; i < 4; i++)
        codes.push((await c('POST', `/api/chat/rooms/${r.id}/messages`, { token: u.accessToken, body: { body: 'x', clientId: `rl${i}` } })).status);
      expect(codes).toEqual([201, 201, 201, 429]);
    } finally {
      await limited.close();
    }
  });

  test('every chat route needs a token', async () => {
    for (const [m, p] of [
      ['GET', '/api/chat/rooms'],
      ['POST', '/api/chat/rooms'],
      ['GET', '/api/chat/rooms/public'],
      ['POST', '/api/chat/direct'],
    ]) {
      expect((await api(m, p)).status).toBe(401);
    }
  });
});

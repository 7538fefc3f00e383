import type { Service } from '../src/common/app.js';
import type { AuthResult, Message, Room } from '../src/contract/events.js';
import { ClientSocket, client, collect, connect, next, register, sleep, start, uniq } from './harness.js';

describe('realtime over socket.io-client', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  let alice: AuthResult;
  let bob: AuthResult;
  let eve: AuthResult;
  const sockets: ClientSocket[] = [];
  const open = async (u: AuthResult) => {
    const s = await connect(svc.url, u.accessToken);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    svc = await start('all');
    api = client(svc.url);
    [alice, bob, eve] = await Promise.all([register(svc.url, 'ra'), register(svc.url, 'rb'), register(svc.url, 're')]);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => svc.close());

  const publicRoom = async (owner: AuthResult, ...members: AuthResult[]): Promise<Room> => {
    const r = (await api('POST', '/api/chat/rooms', { token: owner.accessToken, body: { name: uniq('rt'), kind: 'public' } })).body;
    for (const m of members) await api('POST', `/api/chat/rooms/${r.id}/join`, { token: m.accessToken });
    return r;
  };

  test('the handshake refuses missing, garbage and forged tokens with "unauthorized"', async () => {
    for (const token of [undefined, '', 'garbage', alice.accessToken.slice(0, -4) + 'AAAA']) {
      await expect(connect(svc.url, token)).rejects.toThrow('unauthorized');
    }
  });

  test('message:send is acked after commit and reaches the other member live', async () => {
    const r = await publicRoom(alice, bob);
    const [a, b] = await Promise.all([open(alice), open(bob)]);
    const arrival = next(b, 'message:new');
    const ack = await a.emitWithAck('message:send', { roomId: r.id, body: 'hello bob', clientId: 'rt-1' });
    expect(ack).toEqual({ ok: true, message: expect.objectContaining({ roomId: r.id, seq: 1, body: 'hello bob', senderId: alice.user.id, clientId: 'rt-1' }) });
    expect(await arrival).toEqual((ack as { message: Message }).message);
    // Committed: the REST history already has it.
    const hist = await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: bob.accessToken });
    expect(hist.body.messages).toEqual([(ack as { message: Message }).message]);
    // The same clientId is answered with the same message, not a second one.
    const again = await a.emitWithAck('message:send', { roomId: r.id, body: 'hello bob', clientId: 'rt-1' });
    expect(again).toEqual(ack);
  });

  test('non-members cannot post or type into a room, and do not receive its events', async () => {
    const priv = (await api('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: 'p', kind: 'private' } })).body;
    const pub = await publicRoom(alice);
    const [a, e] = await Promise.all([open(alice), open(eve)]);
    const leaked = collect(e, 'message:new');
    expect(await e.emitWithAck('message:send', { roomId: priv.id, body: 'x', clientId: 'eve-1' })).toEqual({
      ok: false,
      error: { code: 'not_found', message: expect.any(String) },
    });
    expect(await e.emitWithAck('message:send', { roomId: pub.id, body: 'x', clientId: 'eve-2' })).toEqual({
      ok: false,
      error: { code: 'forbidden', message: expect.any(String) },
    });
    expect(await e.emitWithAck('typing', { roomId: priv.id, typing: true })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await e.emitWithAck('sync', { rooms: [{ roomId: priv.id, afterSeq: 0 }] })).toEqual({
      ok: true,
      rooms: [{ roomId: priv.id, messages: [], updated: [], hasMore: false, lastChange: 0, gone: true }],
    });
    await a.emitWithAck('message:send', { roomId: priv.id, body: 'secret', clientId: 'a-sec' });
    await sleep(200);
    expect(leaked.seen).toEqual([]);
  });

  test('bad payloads get an error ack, never a crash or silence', async () => {
    const r = await publicRoom(alice);
    const a = await open(alice);
    const cases: Array<[unknown, string]> = [
      [{ roomId: r.id, body: '', clientId: 'e1' }, 'bad_request'],
      [{ roomId: r.id, body: 'x'.repeat(4001), clientId: 'e2' }, 'too_large'],
      [{ roomId: r.id, body: 'ok', clientId: 'e3', admin: true }, 'bad_request'],
      [{ roomId: 'not-a-uuid', body: 'ok', clientId: 'e4' }, 'bad_request'],
      ['just a string', 'bad_request'],
      [null, 'bad_request'],
      [42, 'bad_request'],
      [{ roomId: r.id, body: { nested: true }, clientId: 'e5' }, 'bad_request'],
    ];
    for (const [payload, code] of cases) {
      const ack = await a.timeout(3000).emitWithAck('message:send', payload as never);
      expect(ack).toMatchObject({ ok: false, error: { code } });
    }
    expect(await a.timeout(3000).emitWithAck('typing', { roomId: r.id } as never)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await a.timeout(3000).emitWithAck('read', { roomId: r.id, seq: -1 } as never)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await a.timeout(3000).emitWithAck('sync', { rooms: 'all' } as never)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    // Still connected and working afterwards.
    expect(a.connected).toBe(true);
    expect(await a.emitWithAck('message:send', { roomId: r.id, body: 'still here', clientId: 'e-ok' })).toMatchObject({ ok: true });
  });

  test('typing is relayed to the other members, not echoed to the sender', async () => {
    const r = await publicRoom(alice, bob);
    const [a, b] = await Promise.all([open(alice), open(bob)]);
    const echoed = collect(a, 'typing');
    const seen = next(b, 'typing');
    expect(await a.emitWithAck('typing', { roomId: r.id, typing: true })).toEqual({ ok: true });
    expect(await seen).toEqual({ roomId: r.id, userId: alice.user.id, username: alice.user.username, typing: true });
    await sleep(100);
    expect(echoed.seen).toEqual([]);
  });

  test('presence: online when the first socket connects, offline when the last one closes', async () => {
    await publicRoom(alice, bob);
    const b = await open(bob);
    const online = next(b, 'presence', (p) => p.userId === alice.user.id && p.online);
    const a1 = await open(alice);
    const a2 = await open(alice);
    await online;
    const events = collect(b, 'presence');
    a1.close();
    await sleep(200);
    expect(events.seen.filter((p) => p.userId === alice.user.id)).toEqual([]);
    const offline = next(b, 'presence', (p) => p.userId === alice.user.id && !p.online);
    a2.close();
    await offline;
  });

  test('a new socket learns who of its roommates is online', async () => {
    await publicRoom(alice, bob);
    await open(alice);
    // The snapshot is sent right after connect, so listen before the handshake.
    let got!: Promise<unknown>;
    const b = await connect(svc.url, bob.accessToken, (s) => (got = next(s, 'presence', (p) => p.userId === alice.user.id)));
    sockets.push(b);
    expect(await got).toEqual({ userId: alice.user.id, online: true });
  });

  test('room:added reaches every socket of a user who joined elsewhere, and then its messages do', async () => {
    const r = (await api('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: 'later', kind: 'private' } })).body;
    const [a, b1, b2] = await Promise.all([open(alice), open(bob), open(bob)]);
    const added = Promise.all([next(b1, 'room:added', (x) => x.id === r.id), next(b2, 'room:added', (x) => x.id === r.id)]);
    expect((await api('POST', `/api/chat/rooms/${r.id}/members`, { token: alice.accessToken, body: { userId: bob.user.id } })).status).toBe(201);
    const [first] = await added;
    expect(first).toMatchObject({ id: r.id, kind: 'private', name: 'later' });
    const live = Promise.all([next(b1, 'message:new'), next(b2, 'message:new')]);
    await a.emitWithAck('message:send', { roomId: r.id, body: 'welcome', clientId: `w-${r.id}` });
    expect((await live).map((m) => m.body)).toEqual(['welcome', 'welcome']);
  });

  test('edits and deletes arrive as message:updated', async () => {
    const r = await publicRoom(alice, bob);
    const [a, b] = await Promise.all([open(alice), open(bob)]);
    const sent = (await a.emitWithAck('message:send', { roomId: r.id, body: 'draft', clientId: `ed-${r.id}` })) as { message: Message };
    const edited = next(b, 'message:updated', (m) => m.body === 'final');
    await api('PATCH', `/api/chat/messages/${sent.message.id}`, { token: alice.accessToken, body: { body: 'final' } });
    expect(await edited).toMatchObject({ id: sent.message.id, body: 'final', editedAt: expect.any(String) });
    const deleted = next(b, 'message:updated', (m) => m.deleted);
    await api('DELETE', `/api/chat/messages/${sent.message.id}`, { token: alice.accessToken });
    expect(await deleted).toMatchObject({ id: sent.message.id, body: '', deleted: true });
  });

  test('sync returns what was missed, in order, with hasMore for long gaps', async () => {
    const r = await publicRoom(alice, bob);
    const a = await open(alice);
    for (let i = 1; i <= 5; i++) await a.emitWithAck('message:send', { roomId: r.id, body: `m${i}`, clientId: `s-${r.id}-${i}` });
    const b = await open(bob);
    const ack = await b.emitWithAck('sync', { rooms: [{ roomId: r.id, afterSeq: 2 }] });
    expect(ack).toEqual({ ok: true, rooms: [{ roomId: r.id, messages: expect.any(Array), updated: [], hasMore: false, lastChange: 5 }] });
    expect((ack as { rooms: Array<{ messages: Message[] }> }).rooms[0].messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    for (let i = 6; i <= 105; i++)
      await api('POST', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken, body: { body: `m${i}`, clientId: `s-${r.id}-${i}` } });
    const big = (await b.emitWithAck('sync', { rooms: [{ roomId: r.id, afterSeq: 0 }] })) as { rooms: Array<{ messages: Message[]; hasMore: boolean }> };
    expect(big.rooms[0].messages).toHaveLength(100);
    expect(big.rooms[0].hasMore).toBe(true);
    expect(big.rooms[0].messages.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  test('read over the socket moves the marker', async () => {
    const r = await publicRoom(alice, bob);
    await api('POST', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken, body: { body: 'one', clientId: `rd-${r.id}` } });
    const b = await open(bob);
    expect(await b.emitWithAck('read', { roomId: r.id, seq: 1 })).toEqual({ ok: true });
    const rooms = (await api('GET', '/api/chat/rooms', { token: bob.accessToken })).body as Room[];
    expect(rooms.find((x) => x.id === r.id)?.unread).toBe(0);
  });

  test('concurrent socket senders on one room: seq 1..N, no gap, every message delivered once', async () => {
    const r = await publicRoom(alice, bob, eve);
    const [a, b, e] = await Promise.all([open(alice), open(bob), open(eve)]);
    const received = collect(e, 'message:new');
    const N = 25;
    const acks = await Promise.all(
      [a, b].flatMap((s, k) =>
        Array.from({ length: N }, (_, i) => s.emitWithAck('message:send', { roomId: r.id, body: `${k}-${i}`, clientId: `c-${r.id}-${k}-${i}` })),
      ),
    );
    expect(acks.every((x) => x.ok)).toBe(true);
    const seqs = acks.map((x) => (x as { message: Message }).message.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 2 * N }, (_, i) => i + 1));
    for (let i = 0; i < 50 && received.seen.length < 2 * N; i++) await sleep(50);
    expect(received.seen.map((m) => m.seq).sort((x, y) => x - y)).toEqual(seqs);
  });
});

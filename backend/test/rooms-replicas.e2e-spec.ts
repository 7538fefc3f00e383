import { randomUUID } from 'node:crypto';
import type { Service } from '../src/common/app.js';
import type { AuthResult, Room } from '../src/contract/events.js';
import { ClientSocket, client, collect, connect, next, redisAvailable, register, sleep, startReplicas, uniq } from './harness.js';

// Leaving and removal across two chat replicas on one Redis (skipped, and says so, without one).
const redisUp = await redisAvailable('rooms-replicas.e2e-spec');
const describeWithRedis = redisUp ? describe : describe.skip;

describeWithRedis('rooms and people across two chat replicas', () => {
  const prefix = `p${randomUUID().slice(0, 8)}`;
  let a: Service;
  let b: Service;
  let close: () => Promise<void>;
  const sockets: ClientSocket[] = [];
  const open = async (svc: Service, u: AuthResult) => {
    const s = await connect(svc.url, u.accessToken);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    ({ a, b, close } = await startReplicas(prefix, { SEND_RATE_LIMIT: '100000' }));
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => close?.());

  const setup = async () => {
    const [owner, gone, stays] = await Promise.all(['po', 'pg', 'ps'].map((p) => register(a.url, p)));
    const r = (await client(a.url)('POST', '/api/chat/rooms', { token: owner.accessToken, body: { name: uniq('across'), kind: 'private' } })).body as Room;
    for (const u of [gone, stays])
      expect((await client(b.url)('POST', `/api/chat/rooms/${r.id}/members`, { token: owner.accessToken, body: { userId: u.user.id } })).status).toBe(201);
    return { owner, gone, stays, r };
  };

  /** Sends right after the removal from both replicas; `stays` must get both, `gone` none. */
  const nothingMoreFor = async (r: Room, owner: AuthResult, goneSockets: ClientSocket[], watcher: ClientSocket, ownerSocket: ClientSocket) => {
    const leaked = goneSockets.map((s) => collect(s, 'message:new'));
    const typed = goneSockets.map((s) => collect(s, 'typing'));
    const bodies = ['via REST on B', 'via socket on A'];
    const seen = new Promise<void>((resolve) => {
      const got = new Set<string>();
      watcher.on('message:new', (m) => {
        if (m.roomId !== r.id) return;
        got.add(m.body);
        if (bodies.every((x) => got.has(x))) resolve();
      });
    });
    const [rest, ack] = await Promise.all([
      client(b.url)('POST', `/api/chat/rooms/${r.id}/messages`, { token: owner.accessToken, body: { body: bodies[0], clientId: randomUUID() } }),
      ownerSocket.emitWithAck('message:send', { roomId: r.id, body: bodies[1], clientId: randomUUID() }),
    ]);
    expect(rest.status).toBe(201);
    expect(ack.ok).toBe(true);
    await ownerSocket.emitWithAck('typing', { roomId: r.id, typing: true });
    await seen;
    await sleep(300);
    for (const l of [...leaked, ...typed]) expect(l.seen).toEqual([]);
  };

  test('a removed member stops receiving the room at once, on every replica and every socket', async () => {
    const { owner, gone, stays, r } = await setup();
    const [so, sgA, sgB, ss] = await Promise.all([open(a, owner), open(a, gone), open(b, gone), open(b, stays)]);
    // Both of gone's sockets are live in the room before the removal.
    const before = [sgA, sgB].map((s) => next(s, 'message:new', (m) => m.body === 'before'));
    await so.emitWithAck('message:send', { roomId: r.id, body: 'before', clientId: randomUUID() });
    await Promise.all(before);

    const removed = [sgA, sgB].map((s) => next(s, 'room:removed', (p) => p.roomId === r.id));
    const left = next(ss, 'member:left', (p) => p.roomId === r.id);
    expect((await client(a.url)('DELETE', `/api/chat/rooms/${r.id}/members/${gone.user.id}`, { token: owner.accessToken })).status).toBe(204);
    await nothingMoreFor(r, owner, [sgA, sgB], ss, so);
    expect(await Promise.all(removed)).toEqual([{ roomId: r.id }, { roomId: r.id }]);
    expect(await left).toEqual({ roomId: r.id, userId: gone.user.id, removedBy: owner.user.id });
    for (const svc of [a, b]) expect((await client(svc.url)('GET', `/api/chat/rooms/${r.id}/messages`, { token: gone.accessToken })).status).toBe(404);
    expect(await sgB.emitWithAck('typing', { roomId: r.id, typing: true })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  test('someone who leaves on one replica stops receiving on the other at once', async () => {
    const { owner, gone, stays, r } = await setup();
    const [so, sgA, ss] = await Promise.all([open(a, owner), open(a, gone), open(b, stays)]);
    const removed = next(sgA, 'room:removed', (p) => p.roomId === r.id);
    expect((await client(b.url)('DELETE', `/api/chat/rooms/${r.id}/members/me`, { token: gone.accessToken })).status).toBe(204);
    await nothingMoreFor(r, owner, [sgA], ss, so);
    await removed;
  });

  test('room:updated and member:joined reach sockets on the other replica', async () => {
    const { owner, stays, r } = await setup();
    const newcomer = await register(a.url, 'pn');
    const ss = await open(b, stays);
    const so = await open(a, owner);
    const joined = next(ss, 'member:joined', (p) => p.roomId === r.id);
    await client(a.url)('POST', `/api/chat/rooms/${r.id}/members`, { token: owner.accessToken, body: { userId: newcomer.user.id } });
    expect((await joined).member.userId).toBe(newcomer.user.id);
    const updated = [ss, so].map((s) => next(s, 'room:updated', (x) => x.id === r.id));
    expect((await client(b.url)('PATCH', `/api/chat/rooms/${r.id}`, { token: owner.accessToken, body: { topic: 'across replicas' } })).status).toBe(200);
    const [vs, vo] = await Promise.all(updated);
    expect([vs.topic, vs.role, vo.role]).toEqual(['across replicas', 'member', 'owner']);
  });
});

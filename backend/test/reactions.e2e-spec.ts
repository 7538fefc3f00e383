import { randomUUID } from 'node:crypto';
import type { Service } from '../src/common/app.js';
import type { AuthResult, Message, Room } from '../src/contract/events.js';
import { type ClientSocket, client, collect, connect, next, redisAvailable, register, sleep, start, startReplicas, uniq } from './harness.js';

describe('reactions', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  let alice: AuthResult;
  let bob: AuthResult;
  let eve: AuthResult;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    svc = await start();
    api = client(svc.url);
    [alice, bob, eve] = await Promise.all([register(svc.url, 'rxa'), register(svc.url, 'rxb'), register(svc.url, 'rxe')]);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => svc?.close());

  const room = async (kind: 'public' | 'private' = 'public'): Promise<Room> => {
    const r = (await api('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: uniq('rx'), kind } })).body as Room;
    if (kind === 'public') await api('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken });
    else await api('POST', `/api/chat/rooms/${r.id}/members`, { token: alice.accessToken, body: { userId: bob.user.id } });
    return r;
  };
  const send = async (r: Room, body = 'hi'): Promise<Message> =>
    (await api('POST', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken, body: { body, clientId: randomUUID() } })).body as Message;
  const react = (who: AuthResult, method: 'PUT' | 'DELETE', id: string, emoji: string) =>
    api(method, `/api/chat/messages/${id}/reactions/${encodeURIComponent(emoji)}`, { token: who.accessToken });

  test('add, add again (no-op), another user, remove, remove again (no-op); each real change is one message:updated', async () => {
    const r = await room();
    const m = await send(r);
    expect(m.reactions).toEqual([]);
    const s = await connect(svc.url, alice.accessToken);
    sockets.push(s);
    const events = collect(s, 'message:updated');

    const one = await react(bob, 'PUT', m.id, '👍');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: m.id, reactions: [{ emoji: '👍', count: 1, userIds: [bob.user.id] }] });
    expect(one.body.change).toBeGreaterThan(m.change);
    const again = await react(bob, 'PUT', m.id, '👍');
    expect(again.status).toBe(200);
    expect(again.body).toEqual(one.body);
    const two = await react(alice, 'PUT', m.id, '👍');
    expect(two.body.reactions).toEqual([{ emoji: '👍', count: 2, userIds: [bob.user.id, alice.user.id] }]);
    expect(two.body.change).toBe(one.body.change + 1);
    const flag = await react(alice, 'PUT', m.id, '🇫🇷');
    expect(flag.body.reactions.map((x: { emoji: string }) => x.emoji)).toEqual(['👍', '🇫🇷']);
    const gone = await react(bob, 'DELETE', m.id, '👍');
    expect(gone.status).toBe(200);
    expect(gone.body.reactions).toEqual([
      { emoji: '👍', count: 1, userIds: [alice.user.id] },
      { emoji: '🇫🇷', count: 1, userIds: [alice.user.id] },
    ]);
    const goneAgain = await react(bob, 'DELETE', m.id, '👍');
    expect(goneAgain.status).toBe(200);
    expect(goneAgain.body).toEqual(gone.body);
    expect((await react(alice, 'DELETE', m.id, '👍')).body.reactions).toEqual([{ emoji: '🇫🇷', count: 1, userIds: [alice.user.id] }]);

    await sleep(300);
    events.stop();
    // 👍 bob, 👍 alice, 🇫🇷, bob's removal, alice's removal: five changes, five events; the no-ops sent none.
    expect(events.seen.map((e) => e.change)).toEqual([one.body.change, two.body.change, flag.body.change, gone.body.change, gone.body.change + 1]);
    const hist = (await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: bob.accessToken })).body.messages as Message[];
    expect(hist[0].reactions).toEqual([{ emoji: '🇫🇷', count: 1, userIds: [alice.user.id] }]);
  });

  test('emoji must be exactly one emoji grapheme: 400 with a clear message otherwise', async () => {
    const r = await room();
    const m = await send(r);
    for (const bad of ['ab', '👍👍', 'a', '1', '👍 ', 'x'.repeat(200), '🇫', '<b>', '%', '\u200d'])
      for (const method of ['PUT', 'DELETE'] as const) {
        const res = await react(bob, method, m.id, bad);
        expect([bad, method, res.status]).toEqual([bad, method, 400]);
        expect(res.body).toMatchObject({ statusCode: 400, message: 'emoji must be exactly one emoji', details: [{ field: 'emoji' }] });
      }
    for (const method of ['PUT', 'DELETE']) {
      const empty = await api(method, `/api/chat/messages/${m.id}/reactions/`, { token: bob.accessToken });
      expect(empty.status).toBe(400);
      expect(empty.body.message).toBe('emoji must be exactly one emoji');
    }
    for (const ok of ['👩‍👩‍👧', '👍🏽', '1️⃣', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '❤️']) expect((await react(bob, 'PUT', m.id, ok)).status).toBe(200);
    expect((await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: bob.accessToken })).body.messages[0].reactions.length).toBe(5);
    expect((await react(bob, 'PUT', 'not-a-uuid', '👍')).status).toBe(400);
    // Not valid percent-encoding, or the bytes of a lone surrogate: 400 in the usual shape, never a 5xx.
    for (const raw of ['%E0%A4%A', '%ED%A0%80', '%F0%9F%91', '%00'])
      expect(await api('PUT', `/api/chat/messages/${m.id}/reactions/${raw}`, { token: bob.accessToken })).toMatchObject({
        status: 400,
        body: { statusCode: 400, error: 'Bad Request' },
      });
  });

  test('members only: outsiders get 403 (public) or 404 (private); unknown message 404; deleted message 409', async () => {
    const pub = await room('public');
    const priv = await room('private');
    const a = await send(pub);
    const b = await send(priv);
    expect((await react(eve, 'PUT', a.id, '👍')).status).toBe(403);
    expect((await react(eve, 'DELETE', a.id, '👍')).status).toBe(403);
    expect((await react(eve, 'PUT', b.id, '👍')).status).toBe(404);
    expect((await react(eve, 'PUT', randomUUID(), '👍')).status).toBe(404);
    expect((await react(bob, 'PUT', a.id, '👍')).status).toBe(200);
    await api('DELETE', `/api/chat/messages/${a.id}`, { token: alice.accessToken });
    expect((await react(bob, 'PUT', a.id, '🎉')).status).toBe(409);
    // Deleting a message drops its reactions with its text.
    const hist = (await api('GET', `/api/chat/rooms/${pub.id}/messages`, { token: bob.accessToken })).body.messages as Message[];
    expect(hist[0]).toMatchObject({ deleted: true, reactions: [] });
  });

  test('at most 50 different emoji per message (400 beyond); userIds lists up to 50 reactors, count has them all', async () => {
    const r = await room();
    const m = await send(r);
    const emoji = Array.from({ length: 51 }, (_, i) => String.fromCodePoint(0x1f600 + i));
    for (const e of emoji.slice(0, 50)) expect((await react(alice, 'PUT', m.id, e)).status).toBe(200);
    const over = await react(alice, 'PUT', m.id, emoji[50]);
    expect(over.status).toBe(400);
    expect(over.body.details).toEqual([{ field: 'emoji', message: 'a message has at most 50 different reactions' }]);
    // One more reactor on an emoji already there is fine.
    expect((await react(bob, 'PUT', m.id, emoji[0])).body.reactions[0]).toMatchObject({ emoji: emoji[0], count: 2 });

    const m2 = await send(r);
    const people = await Promise.all(Array.from({ length: 52 }, () => register(svc.url, 'rxp')));
    for (const p of people) await api('POST', `/api/chat/rooms/${r.id}/join`, { token: p.accessToken });
    await Promise.all(people.map((p) => react(p, 'PUT', m2.id, '🎉')));
    const [summary] = (await react(alice, 'PUT', m2.id, '🎉')).body.reactions;
    expect(summary.count).toBe(53);
    expect(summary.userIds).toHaveLength(50);
    expect(new Set(summary.userIds).size).toBe(50);
  });
});

const redisUp = await redisAvailable('reactions.e2e-spec');
(redisUp ? describe : describe.skip)('reactions across two chat replicas', () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  let a: Service;
  let b: Service;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ a, b, close } = await startReplicas(prefix));
  });
  afterAll(() => close?.());

  test('a reaction made on one replica reaches sockets on the other as message:updated with the whole message', async () => {
    const [alice, bob] = await Promise.all([register(a.url, 'rra'), register(a.url, 'rrb')]);
    const r = (await client(a.url)('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: uniq('rr'), kind: 'public' } })).body as Room;
    await client(b.url)('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken });
    const m = (await client(a.url)('POST', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken, body: { body: 'x', clientId: randomUUID() } }))
      .body as Message;
    const sa = await connect(a.url, alice.accessToken);
    try {
      const seen = next(sa, 'message:updated', (x) => x.id === m.id);
      const res = await client(b.url)('PUT', `/api/chat/messages/${m.id}/reactions/${encodeURIComponent('🚀')}`, { token: bob.accessToken });
      expect(res.status).toBe(200);
      expect(await seen).toEqual(res.body);
      expect(res.body.reactions).toEqual([{ emoji: '🚀', count: 1, userIds: [bob.user.id] }]);
    } finally {
      sa.close();
    }
  });
});

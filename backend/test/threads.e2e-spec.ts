import { randomUUID } from 'node:crypto';
import type { Service } from '../src/common/app.js';
import type { AuthResult, Message, Room } from '../src/contract/events.js';
import { type ClientSocket, client, connect, next, register, start, uniq } from './harness.js';

describe('threads', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  let alice: AuthResult;
  let bob: AuthResult;
  let eve: AuthResult;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    svc = await start();
    api = client(svc.url);
    [alice, bob, eve] = await Promise.all([register(svc.url, 'tha'), register(svc.url, 'thb'), register(svc.url, 'the')]);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => svc?.close());

  const room = async (kind: 'public' | 'private' = 'public'): Promise<Room> => {
    const r = (await api('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: uniq('th'), kind } })).body as Room;
    if (kind === 'public') await api('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken });
    else await api('POST', `/api/chat/rooms/${r.id}/members`, { token: alice.accessToken, body: { userId: bob.user.id } });
    return r;
  };
  const send = (who: AuthResult, r: Room, body: string, threadId?: string) =>
    api('POST', `/api/chat/rooms/${r.id}/messages`, { token: who.accessToken, body: { body, clientId: randomUUID(), ...(threadId ? { threadId } : {}) } });
  const thread = (who: AuthResult, id: string, q = '') => api('GET', `/api/chat/messages/${id}/thread${q}`, { token: who.accessToken });

  test('a reply has its own seq and threadId; the root counts it and is sent as message:updated', async () => {
    const r = await room();
    const root = (await send(alice, r, 'root')).body as Message;
    expect(root).toMatchObject({ threadId: null, replyCount: 0, lastReplyAt: null, reactions: [] });
    const s = await connect(svc.url, alice.accessToken);
    sockets.push(s);
    const updated = next(s, 'message:updated', (m) => m.id === root.id);
    const res = await send(bob, r, 'first reply', root.id);
    expect(res.status).toBe(201);
    const reply = res.body as Message;
    expect(reply).toMatchObject({ threadId: root.id, seq: 2, body: 'first reply', replyCount: 0 });
    const u = await updated;
    expect(u).toMatchObject({ id: root.id, body: 'root', replyCount: 1, lastReplyAt: reply.createdAt });
    expect(u.change).toBe(reply.change + 1);

    // Over the socket too; the reply is a message of the room's timeline as well.
    const b = await connect(svc.url, bob.accessToken);
    sockets.push(b);
    const ack = await b.emitWithAck('message:send', { roomId: r.id, body: 'second', clientId: randomUUID(), threadId: root.id });
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    expect(ack.message).toMatchObject({ threadId: root.id, seq: 3 });
    const hist = (await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken })).body.messages as Message[];
    expect(hist.map((m) => [m.seq, m.threadId])).toEqual([
      [1, null],
      [2, root.id],
      [3, root.id],
    ]);
    expect(hist[0]).toMatchObject({ replyCount: 2, lastReplyAt: ack.message.createdAt });
    // Editing a root keeps its thread fields.
    const edited = await api('PATCH', `/api/chat/messages/${root.id}`, { token: alice.accessToken, body: { body: 'root!' } });
    expect(edited.body).toMatchObject({ replyCount: 2, body: 'root!' });
  });

  test('thread pages: root plus replies ascending by seq, after/limit, hasMore', async () => {
    const r = await room();
    const root = (await send(alice, r, 'root')).body as Message;
    await send(alice, r, 'not in the thread');
    const replies: Message[] = [];
    for (let i = 1; i <= 5; i++) replies.push((await send(i % 2 ? bob : alice, r, `r${i}`, root.id)).body);
    const first = await thread(bob, root.id, '?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.root).toMatchObject({ id: root.id, replyCount: 5, lastReplyAt: replies[4].createdAt });
    expect(first.body.messages.map((m: Message) => m.body)).toEqual(['r1', 'r2']);
    expect(first.body.hasMore).toBe(true);
    const rest = await thread(bob, root.id, `?after=${first.body.messages[1].seq}&limit=100`);
    expect(rest.body.messages.map((m: Message) => m.body)).toEqual(['r3', 'r4', 'r5']);
    expect(rest.body.hasMore).toBe(false);
    const all = await thread(bob, root.id);
    expect(all.body.messages.map((m: Message) => m.seq)).toEqual(replies.map((m) => m.seq));
    expect((await thread(bob, (await send(alice, r, 'lonely')).body.id)).body).toMatchObject({ messages: [], hasMore: false });
    for (const q of ['?limit=0', '?limit=101', '?after=-1', '?after=x', '?before=3']) expect((await thread(bob, root.id, q)).status).toBe(400);
    // A reply has no thread of its own.
    expect((await thread(bob, replies[0].id)).status).toBe(400);
  });

  test('400 for a reply to a reply, to another room, to a deleted or unknown message', async () => {
    const r = await room();
    const other = await room();
    const root = (await send(alice, r, 'root')).body as Message;
    const reply = (await send(bob, r, 'reply', root.id)).body as Message;
    const elsewhere = (await send(alice, other, 'elsewhere')).body as Message;
    const gone = (await send(alice, r, 'to delete')).body as Message;
    await api('DELETE', `/api/chat/messages/${gone.id}`, { token: alice.accessToken });
    const cases: Array<[string, string]> = [
      [reply.id, 'must be a thread root, not a reply'],
      [elsewhere.id, 'must be a message of the same room'],
      [gone.id, 'must not be a deleted message'],
      [randomUUID(), 'no such message'],
    ];
    for (const [threadId, why] of cases) {
      const res = await send(bob, r, 'x', threadId);
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'threadId', message: why }]);
    }
    expect((await send(bob, r, 'x', 'nope')).status).toBe(400);
    const s = await connect(svc.url, bob.accessToken);
    sockets.push(s);
    const ack = await s.emitWithAck('message:send', { roomId: r.id, body: 'x', clientId: randomUUID(), threadId: reply.id });
    expect(ack).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    // Nothing was stored and no seq was used by the refused replies.
    const hist = (await api('GET', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken })).body.messages as Message[];
    expect(hist.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(hist[0].replyCount).toBe(1);
    // A deleted root keeps its thread readable.
    await api('DELETE', `/api/chat/messages/${root.id}`, { token: alice.accessToken });
    expect((await thread(bob, root.id)).body).toMatchObject({ root: { deleted: true, replyCount: 1 }, messages: [{ id: reply.id }] });
  });

  test('outsiders: 403 for a public room, 404 for a private one or an unknown message', async () => {
    const pub = await room('public');
    const priv = await room('private');
    const a = (await send(alice, pub, 'pub')).body as Message;
    const b = (await send(alice, priv, 'priv')).body as Message;
    expect((await thread(eve, a.id)).status).toBe(403);
    expect((await thread(eve, b.id)).status).toBe(404);
    expect((await thread(eve, randomUUID())).status).toBe(404);
    expect((await send(eve, pub, 'x', a.id)).status).toBe(403);
    expect((await send(eve, priv, 'x', b.id)).status).toBe(404);
  });
});

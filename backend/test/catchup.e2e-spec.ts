import { randomUUID } from 'node:crypto';
import type { Service } from '../src/common/app.js';
import type { AuthResult, Message, Room, SyncRoom } from '../src/contract/events.js';
import { type ClientSocket, client, connect, redisAvailable, register, start, startReplicas, uniq } from './harness.js';

type Api = ReturnType<typeof client>;

/**
 * A client that keeps a room's messages by id and catches up with sync the documented way:
 * afterSeq = the last seq it got, afterChange = lastChange; again while hasMore.
 */
class Mirror {
  readonly byId = new Map<string, Message>();
  afterSeq = 0;
  afterChange = 0;
  /** Every `updated` item ever received, to check each change arrives once. */
  readonly updates: Message[] = [];
  constructor(
    private readonly socket: ClientSocket,
    private readonly roomId: string,
  ) {}

  async syncOnce(): Promise<SyncRoom> {
    const ack = await this.socket.emitWithAck('sync', { rooms: [{ roomId: this.roomId, afterSeq: this.afterSeq, afterChange: this.afterChange }] });
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    const [r] = ack.rooms;
    const changes = r.updated.map((m) => m.change);
    expect(changes).toEqual([...changes].sort((x, y) => x - y));
    for (const m of r.updated) {
      expect(m.seq).toBeLessThanOrEqual(this.afterSeq);
      expect(m.change).toBeGreaterThan(this.afterChange);
      this.updates.push(m);
      this.byId.set(m.id, m);
    }
    for (const m of r.messages) {
      expect(m.seq).toBeGreaterThan(this.afterSeq);
      this.byId.set(m.id, m);
    }
    if (r.messages.length) this.afterSeq = r.messages[r.messages.length - 1].seq;
    expect(r.lastChange).toBeGreaterThanOrEqual(this.afterChange);
    this.afterChange = r.lastChange;
    return r;
  }

  async syncAll(): Promise<number> {
    let rounds = 0;
    for (;;) {
      rounds += 1;
      if (!(await this.syncOnce()).hasMore) return rounds;
    }
  }
}

async function history(api: Api, token: string, roomId: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let after = 0; ;) {
    const page = (await api('GET', `/api/chat/rooms/${roomId}/messages?after=${after}&limit=100`, { token })).body as { messages: Message[]; hasMore: boolean };
    out.push(...page.messages);
    if (!page.hasMore) return out;
    after = page.messages[page.messages.length - 1].seq;
  }
}

describe('catch-up of changes', () => {
  let svc: Service;
  let small: Service; // a sync answer holds at most 3 messages
  let api: Api;
  let alice: AuthResult;
  let bob: AuthResult;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    svc = await start();
    small = await start('all', { SYNC_MAX_MESSAGES: '3' });
    api = client(svc.url);
    [alice, bob] = await Promise.all([register(svc.url, 'cua'), register(svc.url, 'cub')]);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await small?.close();
    await svc?.close();
  });

  const room = async (): Promise<Room> => {
    const r = (await api('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: uniq('cu'), kind: 'public' } })).body as Room;
    await api('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken });
    return r;
  };
  const send = async (r: Room, body: string, threadId?: string): Promise<Message> =>
    (
      await api('POST', `/api/chat/rooms/${r.id}/messages`, {
        token: alice.accessToken,
        body: { body, clientId: randomUUID(), ...(threadId ? { threadId } : {}) },
      })
    ).body as Message;
  const open = async (base: string, who: AuthResult) => {
    const s = await connect(base, who.accessToken);
    sockets.push(s);
    return s;
  };
  const lastChange = async (r: Room) =>
    ((await api('GET', '/api/chat/rooms', { token: bob.accessToken })).body as Room[]).find((x) => x.id === r.id)!.lastChange;

  test('every change bumps the room counter once; a new message takes its own number', async () => {
    const r = await room();
    const m1 = await send(r, 'one');
    const m2 = await send(r, 'two');
    expect([m1.change, m2.change]).toEqual([1, 2]);
    expect(await lastChange(r)).toBe(2);
    const edited = (await api('PATCH', `/api/chat/messages/${m1.id}`, { token: alice.accessToken, body: { body: 'one!' } })).body as Message;
    expect(edited.change).toBe(3);
    const reply = await send(r, 'reply', m2.id);
    expect(reply).toMatchObject({ seq: 3, change: 4 });
    expect(await lastChange(r)).toBe(5); // the root's reply count changed too
    await api('DELETE', `/api/chat/messages/${m1.id}`, { token: alice.accessToken });
    expect(await lastChange(r)).toBe(6);
    // A batch of concurrent sends: one number each, all distinct.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => send(r, `b${i}`)));
    expect(new Set(many.map((m) => m.change)).size).toBe(20);
    expect(Math.min(...many.map((m) => m.change))).toBe(7);
    expect(await lastChange(r)).toBe(26);
  });

  test('a client that was away sees each changed older message once, with its latest state, and new messages as before', async () => {
    const r = await room();
    const m = [];
    for (let i = 1; i <= 5; i++) m.push(await send(r, `m${i}`));
    const s = await open(svc.url, bob);
    const mirror = new Mirror(s, r.id);
    await mirror.syncAll();
    expect(mirror.afterSeq).toBe(5);
    expect(mirror.afterChange).toBe(5);

    // Bob goes away; meanwhile:
    await api('PATCH', `/api/chat/messages/${m[0].id}`, { token: alice.accessToken, body: { body: 'm1 edited' } });
    await api('DELETE', `/api/chat/messages/${m[1].id}`, { token: alice.accessToken });
    await api('PUT', `/api/chat/messages/${m[2].id}/reactions/${encodeURIComponent('👍')}`, { token: alice.accessToken });
    const reply = await send(r, 'reply to m4', m[3].id);
    await api('PATCH', `/api/chat/messages/${m[0].id}`, { token: alice.accessToken, body: { body: 'm1 edited twice' } });
    const fresh = await send(r, 'm7');

    const answer = await mirror.syncOnce();
    expect(answer.hasMore).toBe(false);
    expect(answer.updated.map((x) => x.id)).toEqual([m[1].id, m[2].id, m[3].id, m[0].id]);
    expect(answer.updated.map((x) => [x.body, x.deleted, x.reactions.length, x.replyCount])).toEqual([
      ['', true, 0, 0],
      ['m3', false, 1, 0],
      ['m4', false, 0, 1],
      ['m1 edited twice', false, 0, 0],
    ]);
    expect(answer.messages.map((x) => x.id)).toEqual([reply.id, fresh.id]);
    expect(answer.lastChange).toBe(await lastChange(r));
    // Caught up: nothing more.
    expect(await mirror.syncOnce()).toMatchObject({ messages: [], updated: [], hasMore: false });

    // Without afterChange (an older client) updated stays empty.
    await api('PATCH', `/api/chat/messages/${m[4].id}`, { token: alice.accessToken, body: { body: 'm5 edited' } });
    const old = await s.emitWithAck('sync', { rooms: [{ roomId: r.id, afterSeq: 7 }] });
    expect(old).toEqual({ ok: true, rooms: [{ roomId: r.id, messages: [], updated: [], hasMore: false, lastChange: await lastChange(r) }] });
  });

  test('bounded answers continue without missing or repeating a change, also when changes happen between pages', async () => {
    const r = await room();
    const m: Message[] = [];
    for (let i = 1; i <= 8; i++) m.push(await send(r, `m${i}`));
    // Tokens are signed by each all-in-one's own key: this reader registers there.
    const carl = await register(small.url, 'cuc');
    await client(small.url)('POST', `/api/chat/rooms/${r.id}/join`, { token: carl.accessToken });
    const s = await open(small.url, carl);
    const mirror = new Mirror(s, r.id);
    expect(await mirror.syncAll()).toBe(3); // 3 + 3 + 2 messages
    for (const x of m.slice(0, 7)) await api('PATCH', `/api/chat/messages/${x.id}`, { token: alice.accessToken, body: { body: `${x.body}'` } });
    for (let i = 9; i <= 12; i++) m.push(await send(r, `m${i}`));

    const first = await mirror.syncOnce();
    expect(first).toMatchObject({ hasMore: true, messages: [] });
    expect(first.updated.map((x) => x.body)).toEqual(["m1'", "m2'", "m3'"]);
    // Between pages: one message already delivered and one not yet delivered change again.
    await api('PATCH', `/api/chat/messages/${m[0].id}`, { token: alice.accessToken, body: { body: "m1''" } });
    await api('PATCH', `/api/chat/messages/${m[5].id}`, { token: alice.accessToken, body: { body: "m6''" } });
    await mirror.syncAll();

    // m1 twice (two changes), m6 once (its latest state), every other edited message once.
    expect(mirror.updates.map((x) => x.body)).toEqual(["m1'", "m2'", "m3'", "m4'", "m5'", "m7'", "m1''", "m6''"]);
    const truth = await history(api, bob.accessToken, r.id);
    expect([...mirror.byId.values()].sort((x, y) => x.seq - y.seq)).toEqual(truth);
    expect(mirror.afterChange).toBe(await lastChange(r));
  });

  test('sync validates afterChange', async () => {
    const r = await room();
    const s = await open(svc.url, bob);
    for (const afterChange of [-1, 1.5, '3', null])
      expect(await s.emitWithAck('sync', { rooms: [{ roomId: r.id, afterSeq: 0, afterChange }] } as never)).toMatchObject({
        ok: false,
        error: { code: 'bad_request' },
      });
  });
});

const redisUp = await redisAvailable('catchup.e2e-spec');
(redisUp ? describe : describe.skip)('catch-up under concurrent changes from two replicas', () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  let a: Service;
  let b: Service;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ a, b, close } = await startReplicas(prefix));
  });
  afterAll(() => close?.());

  test('~200 mixed changes on both replicas: distinct numbers, no gaps, and a client syncing all along ends with the exact state', async () => {
    const [alice, bob, carol] = await Promise.all([register(a.url, 'cca'), register(a.url, 'ccb'), register(a.url, 'ccc')]);
    const apiA = client(a.url);
    const apiB = client(b.url);
    const r = (await apiA('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: uniq('cc'), kind: 'public' } })).body as Room;
    await apiB('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken });
    await apiA('POST', `/api/chat/rooms/${r.id}/join`, { token: carol.accessToken });
    const seed: Message[] = [];
    for (let i = 0; i < 20; i++)
      seed.push((await apiA('POST', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken, body: { body: `s${i}`, clientId: randomUUID() } })).body);
    // Bob's, to be deleted during the run, each once.
    const victims: Message[] = [];
    for (let i = 0; i < 40; i++)
      victims.push((await apiB('POST', `/api/chat/rooms/${r.id}/messages`, { token: bob.accessToken, body: { body: `v${i}`, clientId: randomUUID() } })).body);

    const socket = await connect(b.url, carol.accessToken);
    try {
      const mirror = new Mirror(socket, r.id);
      await mirror.syncAll();
      const start = mirror.afterChange;

      // Every operation below changes something (no no-ops), so the counter moves by a known amount.
      const emoji = Array.from({ length: 40 }, (_, i) => String.fromCodePoint(0x1f600 + i));
      const ops: Array<() => Promise<{ status: number }>> = [];
      let expected = 0;
      for (let i = 0; i < 200; i++) {
        const api = i % 2 ? apiA : apiB;
        const target = seed[i % 20];
        switch (i % 5) {
          case 0: // a new message
            ops.push(() => api('POST', `/api/chat/rooms/${r.id}/messages`, { token: bob.accessToken, body: { body: `n${i}`, clientId: randomUUID() } }));
            expected += 1;
            break;
          case 1: // an edit (seed 1, 6, 11, 16 are never deleted)
            ops.push(() => api('PATCH', `/api/chat/messages/${target.id}`, { token: alice.accessToken, body: { body: `e${i}` } }));
            expected += 1;
            break;
          case 2: // a reaction, each (user, emoji) once
            ops.push(() => api('PUT', `/api/chat/messages/${target.id}/reactions/${encodeURIComponent(emoji[Math.floor(i / 5)])}`, { token: bob.accessToken }));
            expected += 1;
            break;
          case 3: // a reply: the reply and its root's count
            ops.push(() =>
              api('POST', `/api/chat/rooms/${r.id}/messages`, {
                token: carol.accessToken,
                body: { body: `r${i}`, clientId: randomUUID(), threadId: seed[(i + 1) % 20].id },
              }),
            );
            expected += 2;
            break;
          default: // a delete
            ops.push(() => api('DELETE', `/api/chat/messages/${victims[Math.floor(i / 5)].id}`, { token: bob.accessToken }));
            expected += 1;
            break;
        }
      }
      // Reactions to remove during the run (added now, before the mirror's next sync).
      for (let i = 0; i < 40; i++) {
        await apiA('PUT', `/api/chat/messages/${seed[i % 20].id}/reactions/${encodeURIComponent(emoji[i])}`, { token: carol.accessToken });
        expected += 1;
        ops.push(() =>
          (i % 2 ? apiA : apiB)('DELETE', `/api/chat/messages/${seed[i % 20].id}/reactions/${encodeURIComponent(emoji[i])}`, { token: carol.accessToken }),
        );
        expected += 1;
      }
      let done = false;
      const syncing = (async () => {
        while (!done) await mirror.syncOnce();
      })();
      const results = await Promise.all(ops.map((op) => op()));
      done = true;
      await syncing;
      expect(results.filter((x) => x.status >= 300)).toEqual([]);
      await mirror.syncAll();

      const truth = await history(apiA, alice.accessToken, r.id);
      const final = ((await apiA('GET', '/api/chat/rooms', { token: alice.accessToken })).body as Room[]).find((x) => x.id === r.id)!;
      expect(final.lastChange - start).toBe(expected);
      expect(mirror.afterChange).toBe(final.lastChange);
      // Each message's last change is its own number: all distinct, none above the counter.
      const changes = truth.map((x) => x.change);
      expect(new Set(changes).size).toBe(changes.length);
      expect(Math.max(...changes)).toBe(final.lastChange);
      // The client that synced while the changes happened holds exactly the final state.
      expect([...mirror.byId.values()].sort((x, y) => x.seq - y.seq)).toEqual(truth);
      // And no update was delivered twice for the same change.
      const seen = mirror.updates.map((x) => `${x.id}:${x.change}`);
      expect(new Set(seen).size).toBe(seen.length);
    } finally {
      socket.close();
    }
  }, 60_000);
});

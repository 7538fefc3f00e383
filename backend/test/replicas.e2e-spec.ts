import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Service } from '../src/common/app.js';
import type { AuthResult, Message, Room } from '../src/contract/events.js';
import {
  ClientSocket,
  client,
  collect,
  connect,
  dropKeys,
  freePort,
  next,
  redisAvailable,
  redisUrl,
  register,
  sleep,
  start,
  startReplicas,
  uniq,
} from './harness.js';

// Several chat replicas on one Redis and one PostgreSQL. Needs a Redis: REDIS_URL, or the
// one on 127.0.0.1:6379; the suite is skipped (and says so) when none answers.
const redisUp = await redisAvailable('replicas.e2e-spec');
const describeWithRedis = redisUp ? describe : describe.skip;

describeWithRedis('two chat replicas on the Redis adapter', () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  let a: Service; // all-in-one: auth + users + chat
  let b: Service; // a second chat replica
  let alice: AuthResult;
  let bob: AuthResult;
  const sockets: ClientSocket[] = [];
  const open = async (svc: Service, u: AuthResult) => {
    const s = await connect(svc.url, u.accessToken);
    sockets.push(s);
    return s;
  };

  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ a, b, close } = await startReplicas(prefix, { SEND_RATE_LIMIT: '100000' }));
    [alice, bob] = await Promise.all([register(a.url, 'ra'), register(a.url, 'rb')]);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(() => close?.());

  const sharedRoom = async (): Promise<Room> => {
    const r = (await client(a.url)('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: uniq('x'), kind: 'public' } })).body;
    await client(b.url)('POST', `/api/chat/rooms/${r.id}/join`, { token: bob.accessToken });
    return r;
  };

  test('each replica reports both Redis connections (command, adapter subscriber) and Redis reachable', async () => {
    for (const svc of [a, b]) {
      expect((await client(svc.url)('GET', '/health/ready')).status).toBe(200);
      const metrics = await fetch(`${svc.url}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/^redis_connected\{connection="command"\} 1$/m);
      expect(metrics).toMatch(/^redis_connected\{connection="subscriber"\} 1$/m);
      expect(metrics).toMatch(/^dependency_reachable\{dependency="redis"\} 1$/m);
    }
  });

  test('message:new, message:updated and typing cross replicas', async () => {
    const r = await sharedRoom();
    const [sa, sb] = await Promise.all([open(a, alice), open(b, bob)]);
    const live = next(sb, 'message:new');
    const ack = (await sa.emitWithAck('message:send', { roomId: r.id, body: 'from A', clientId: randomUUID() })) as { ok: true; message: Message };
    expect(await live).toEqual(ack.message);
    const back = next(sa, 'message:new');
    await sb.emitWithAck('message:send', { roomId: r.id, body: 'from B', clientId: randomUUID() });
    expect((await back).body).toBe('from B');
    const updated = next(sa, 'message:updated');
    await client(b.url)('PATCH', `/api/chat/messages/${ack.message.id}`, { token: alice.accessToken, body: { body: 'edited on B' } });
    expect((await updated).body).toBe('edited on B');
    const typing = next(sa, 'typing');
    await sb.emitWithAck('typing', { roomId: r.id, typing: true });
    expect(await typing).toMatchObject({ roomId: r.id, userId: bob.user.id, typing: true });
  });

  test('room:added reaches a socket on the other replica, which then gets the room messages', async () => {
    const r = (await client(a.url)('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: 'later', kind: 'private' } })).body;
    const [sa, sb] = await Promise.all([open(a, alice), open(b, bob)]);
    const added = next(sb, 'room:added', (x) => x.id === r.id);
    await client(a.url)('POST', `/api/chat/rooms/${r.id}/members`, { token: alice.accessToken, body: { userId: bob.user.id } });
    await added;
    const live = next(sb, 'message:new');
    await sa.emitWithAck('message:send', { roomId: r.id, body: 'welcome across', clientId: randomUUID() });
    expect((await live).body).toBe('welcome across');
  });

  test('presence: online while any socket on any replica is connected', async () => {
    await sharedRoom();
    const watcher = await open(a, alice);
    const online = next(watcher, 'presence', (p) => p.userId === bob.user.id && p.online);
    const b1 = await open(b, bob);
    await online;
    const b2 = await open(a, bob);
    const seen = collect(watcher, 'presence');
    b1.close();
    await sleep(300);
    expect(seen.seen.filter((p) => p.userId === bob.user.id)).toEqual([]);
    const offline = next(watcher, 'presence', (p) => p.userId === bob.user.id && !p.online);
    b2.close();
    await offline;
  });

  test('the send rate limit is shared by the replicas', async () => {
    const c = await start('chat', { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `${prefix}rl`, SEND_RATE_LIMIT: '4', AUTH_JWKS_URL: `${a.url}/api/auth/jwks.json` });
    const d = await start('chat', { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `${prefix}rl`, SEND_RATE_LIMIT: '4', AUTH_JWKS_URL: `${a.url}/api/auth/jwks.json` });
    try {
      const r = (await client(c.url)('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: uniq('rl'), kind: 'public' } })).body;
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) {
        const target = i % 2 ? d : c;
        codes.push(
          (await client(target.url)('POST', `/api/chat/rooms/${r.id}/messages`, { token: alice.accessToken, body: { body: `n${i}`, clientId: randomUUID() } }))
            .status,
        );
      }
      expect(codes).toEqual([201, 201, 201, 201, 429, 429]);
    } finally {
      await Promise.all([c.close(), d.close()]);
    }
  });

  test('a draining replica does not mark its users offline when they reconnect elsewhere', async () => {
    await sharedRoom();
    const extra = await start('chat', { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, AUTH_JWKS_URL: `${a.url}/api/auth/jwks.json` });
    const watcher = await open(a, alice);
    const online = next(watcher, 'presence', (p) => p.userId === bob.user.id && p.online);
    const doomed = await connect(extra.url, bob.accessToken);
    await online;
    const seen = collect(watcher, 'presence');
    const gone = new Promise((resolve) => doomed.on('disconnect', resolve));
    const closing = extra.close();
    await gone;
    const moved = await open(b, bob); // the client reconnects to another replica
    await closing;
    await sleep(300);
    expect(seen.seen.filter((p) => p.userId === bob.user.id && !p.online)).toEqual([]);
    expect(moved.connected).toBe(true);
  });
});

// Real processes, so one can be SIGKILLed mid-stream. Uses the compiled entry point.
const chatMain = fileURLToPath(new URL('../dist/apps/chat.main.js', import.meta.url));
const describeKill = redisUp && existsSync(chatMain) ? describe : describe.skip;
if (redisUp && !existsSync(chatMain)) process.stdout.write('\nreplicas.e2e-spec: build the backend first (npm run build -w backend) for the SIGKILL test\n');

describeKill('a chat process killed mid-stream (SIGKILL)', () => {
  let auth: Service;
  const procs: ChildProcess[] = [];
  const prefix = `k${randomUUID().slice(0, 8)}`;

  const spawnChat = async (port: number) => {
    const child = spawn(process.execPath, [chatMain], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: process.env.TEST_DATABASE_URL,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        AUTH_JWKS_URL: `${auth.url}/api/auth/jwks.json`,
        LOG_LEVEL: 'error',
        SEND_RATE_LIMIT: '100000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    procs.push(child);
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`${url}/health/ready`)
          .then((r) => r.ok)
          .catch(() => false)
      )
        return { child, url };
      await sleep(100);
    }
    throw new Error(`chat process on ${port} did not become ready`);
  };

  beforeAll(async () => {
    auth = await start('all');
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await auth.close();
    await dropKeys(prefix);
  });

  test('no acknowledged message is lost, and the clients recover on the other process', async () => {
    const [x, y] = await Promise.all([freePort().then(spawnChat), freePort().then(spawnChat)]);
    const [sender, reader] = await Promise.all([register(auth.url, 'ks'), register(auth.url, 'kr')]);
    const room = (await client(auth.url)('POST', '/api/chat/rooms', { token: sender.accessToken, body: { name: uniq('kill'), kind: 'public' } })).body;
    await client(auth.url)('POST', `/api/chat/rooms/${room.id}/join`, { token: reader.accessToken });

    const readerSocket = await connect(y.url, reader.accessToken);
    const received = collect(readerSocket, 'message:new');
    let senderSocket = await connect(x.url, sender.accessToken);
    const acked = new Map<string, Message>();
    const pending = new Map<string, string>(); // clientId -> body, sent but not acknowledged
    const TOTAL = 60;
    let killed = false;
    for (let i = 0; i < TOTAL; i++) {
      const clientId = `kill-${room.id}-${i}`;
      pending.set(clientId, `m${i}`);
      if (i === 25) {
        // Kill with messages in flight: fire a burst without waiting, then SIGKILL.
        for (let j = i; j < i + 5; j++) {
          const id = `kill-${room.id}-${j}`;
          pending.set(id, `m${j}`);
          senderSocket
            .timeout(2000)
            .emitWithAck('message:send', { roomId: room.id, body: `m${j}`, clientId: id })
            .then((ack) => ack.ok && (acked.set(id, ack.message), pending.delete(id)))
            .catch(() => undefined);
        }
        await sleep(2);
        x.child.kill('SIGKILL');
        killed = true;
        i += 4;
        await sleep(50);
        senderSocket.close();
        senderSocket = await connect(y.url, sender.accessToken); // the client's reconnect lands on Y
        continue;
      }
      const ack = await senderSocket.timeout(5000).emitWithAck('message:send', { roomId: room.id, body: `m${i}`, clientId });
      if (ack.ok) {
        acked.set(clientId, ack.message);
        pending.delete(clientId);
      }
    }
    expect(killed).toBe(true);
    // The client retries what was never acknowledged, with the same clientIds.
    for (const [clientId, body] of pending) {
      const ack = await senderSocket.timeout(5000).emitWithAck('message:send', { roomId: room.id, body, clientId });
      expect(ack.ok).toBe(true);
      if (ack.ok) acked.set(clientId, ack.message);
    }
    expect(acked.size).toBe(TOTAL);
    const seqs = [...acked.values()].map((m) => m.seq).sort((p, q) => p - q);
    expect(seqs).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));

    // Everything acknowledged is stored exactly once.
    const hist = await client(auth.url)('GET', `/api/chat/rooms/${room.id}/messages?limit=100`, { token: reader.accessToken });
    expect(hist.body.messages.map((m: Message) => m.seq)).toEqual(seqs);
    for (const m of acked.values()) expect(hist.body.messages.find((h: Message) => h.id === m.id)).toEqual(m);

    // The reader merges live events with a sync: every message exactly once, in order.
    const lastLive = Math.max(0, ...received.seen.map((m) => m.seq));
    const sync = (await readerSocket.emitWithAck('sync', { rooms: [{ roomId: room.id, afterSeq: 0 }] })) as { ok: true; rooms: Array<{ messages: Message[] }> };
    const merged = new Map<number, Message>();
    for (const m of [...received.seen, ...sync.rooms[0].messages]) merged.set(m.seq, m);
    expect([...merged.keys()].sort((p, q) => p - q)).toEqual(seqs);
    expect(lastLive).toBeGreaterThan(0);
    process.stdout.write(`\nSIGKILL test: ${TOTAL} acknowledged, 0 lost, 0 duplicated; ${received.seen.length} arrived live on the other process\n`);
    readerSocket.close();
    senderSocket.close();
  });
});

import { readFile } from 'node:fs/promises';
import { connect as tcp } from 'node:net';
import jwt from 'jsonwebtoken';
import type { Service } from '../src/common/app.js';
import { ConfigError, parseConfig } from '../src/common/config/config.schema.js';
import type { AuthResult, Message, Room } from '../src/contract/events.js';
import { UNSTORABLE } from '../src/contract/schemas.js';
import { ClientSocket, client, connect, register, sleep, start, uniq } from './harness.js';

// Hostile input (issue 14): every case here answered 500, an `internal` ack, silence, or
// coerced the value before the hardening.
const NUL = 'a\u0000b';
const LONE = 'a\uD800b';
const UNIT = 'x'.repeat(8);

const fieldsOf = (body: { details?: Array<{ field: string; message: string }> }) =>
  (body.details ?? []).filter((d) => d.message === UNSTORABLE).map((d) => d.field);

describe('hostile input: rejected before the database', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  let me: AuthResult;
  let room: Room;
  let message: Message;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    svc = await start('all');
    api = client(svc.url);
    me = await register(svc.url, 'hard');
    room = (await api('POST', '/api/chat/rooms', { token: me.accessToken, body: { name: uniq('hardening'), kind: 'public' } })).body;
    message = (await api('POST', `/api/chat/rooms/${room.id}/messages`, { token: me.accessToken, body: { body: 'hello', clientId: 'h-1' } })).body;
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await svc.close();
  });

  const bodies: Array<[string, string, string, (bad: string) => unknown, string]> = [
    ['login (no account)', 'POST', '/api/auth/login', (bad) => ({ username: bad, password: UNIT }), 'username'],
    ['login password', 'POST', '/api/auth/login', (bad) => ({ username: 'nobody', password: bad + UNIT }), 'password'],
    ['register username', 'POST', '/api/auth/register', (bad) => ({ username: `u${bad}xyz`, password: UNIT }), 'username'],
    ['register password', 'POST', '/api/auth/register', (bad) => ({ username: 'fine_name', password: bad + UNIT }), 'password'],
    ['register displayName', 'POST', '/api/auth/register', (bad) => ({ username: 'fine_name', password: UNIT, displayName: bad }), 'displayName'],
    ['refresh', 'POST', '/api/auth/refresh', (bad) => ({ refreshToken: bad }), 'refreshToken'],
    ['logout', 'POST', '/api/auth/logout', (bad) => ({ refreshToken: bad }), 'refreshToken'],
    ['display name', 'PATCH', '/api/users/me', (bad) => ({ displayName: bad }), 'displayName'],
    ['room name', 'POST', '/api/chat/rooms', (bad) => ({ name: bad, kind: 'public' }), 'name'],
    ['message body', 'POST', '/messages', (bad) => ({ body: bad, clientId: 'c-1' }), 'body'],
    ['message clientId', 'POST', '/messages', (bad) => ({ body: 'hi', clientId: bad }), 'clientId'],
    ['edit', 'PATCH', '/edit', (bad) => ({ body: bad }), 'body'],
  ];
  const path = (p: string) => (p === '/messages' ? `/api/chat/rooms/${room.id}/messages` : p === '/edit' ? `/api/chat/messages/${message.id}` : p);

  test.each(bodies.flatMap(([name, ...rest]) => [[`${name} with NUL`, ...rest, NUL] as const, [`${name} with a lone surrogate`, ...rest, LONE] as const]))(
    '%s is 400 naming the field',
    async (_name, method, p, make, field, bad) => {
      const res = await api(method, path(p), { token: me.accessToken, body: make(bad) });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(fieldsOf(res.body)).toContain(field);
    },
  );

  test.each([
    ['user search', '/api/users?query='],
    ['public room search', '/api/chat/rooms/public?query='],
  ])('%s with %00 in the query is 400 naming the field', async (_name, p) => {
    const res = await api('GET', `${p}a%00b`, { token: me.accessToken });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toContain('query');
  });

  test('nothing was stored by the refused writes', async () => {
    const profile = await api('GET', '/api/users/me', { token: me.accessToken });
    expect(profile.body.displayName).toBe(me.user.displayName);
    const page = await api('GET', `/api/chat/rooms/${room.id}/messages`, { token: me.accessToken });
    expect(page.body.messages.map((m: Message) => m.body)).toEqual(['hello']);
  });

  test.each([true, null, '', [], '3', 1.5, -1, {}])('read seq %j is 400, not coerced', async (seq) => {
    const res = await api('POST', `/api/chat/rooms/${room.id}/read`, { token: me.accessToken, body: { seq } });
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { field: string }) => d.field)).toContain('seq');
  });

  test.each(['before=', 'after=', 'before=1e3', 'after=0x10', 'before=%205', 'after=-1', 'limit=', 'limit=1e1', 'limit=5&limit=6', 'after=99999999999999999'])(
    'history query %s is 400',
    async (q) => {
      const res = await api('GET', `/api/chat/rooms/${room.id}/messages?${q}`, { token: me.accessToken });
      expect(res.status).toBe(400);
      expect(res.body.statusCode).toBe(400);
    },
  );

  test('socket: NUL, lone surrogates and non-number seqs get a bad_request ack naming the field', async () => {
    const s = await connect(svc.url, me.accessToken);
    sockets.push(s);
    const emit = (event: string, payload: unknown) => s.timeout(3000).emitWithAck(event as 'read', payload as never) as Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const bad of [NUL, LONE]) {
      const sent = await emit('message:send', { roomId: room.id, body: bad, clientId: 's-1' });
      expect(sent).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(fieldsOf(sent.error)).toContain('body');
      expect(fieldsOf((await emit('message:send', { roomId: room.id, body: 'ok', clientId: bad })).error)).toContain('clientId');
    }
    for (const seq of [true, null, '', [], '1']) {
      expect(await emit('read', { roomId: room.id, seq })).toMatchObject({ ok: false, error: { code: 'bad_request', details: [{ field: 'seq' }] } });
      expect(await emit('sync', { rooms: [{ roomId: room.id, afterSeq: seq }] })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    expect(await emit('read', { roomId: room.id, seq: 1 })).toEqual({ ok: true });
  });

  test('socket: an unknown event with an ack gets a bad_request ack; the socket stays usable', async () => {
    const s = await connect(svc.url, me.accessToken);
    sockets.push(s);
    const raw = s as unknown as { timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> } };
    expect(await raw.timeout(3000).emitWithAck('no:such:event', { x: 1 })).toEqual({ ok: false, error: { code: 'bad_request', message: 'Unknown event' } });
    expect(await raw.timeout(3000).emitWithAck('error')).toEqual({ ok: false, error: { code: 'bad_request', message: 'Unknown event' } });
    expect(await s.timeout(3000).emitWithAck('typing', { roomId: room.id, typing: true })).toEqual({ ok: true });
  });

  test('malformed JSON and an unsupported charset answer a generic message that echoes nothing of the request', async () => {
    for (const raw of ['{"username": "SECRET-1234', '"SECRET-1234"', '{"a":1}SECRET-1234']) {
      const res = await api('POST', '/api/auth/login', { raw });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Malformed JSON body' });
    }
    const res = await fetch(`${svc.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json; charset=SECRET-1234' }, body: '{}' });
    expect(res.status).toBe(415);
    expect(await res.text()).not.toContain('SECRET');
  });

  describe('tokens signed with the real key', () => {
    const sign = async (claims: Record<string, unknown>, withExp: boolean) => {
      const pem = await readFile(`${svc.config.DATA_DIR}/jwt-signing-key.pem`, 'utf8');
      const { kid } = JSON.parse(Buffer.from(me.accessToken.split('.')[0], 'base64url').toString());
      return jwt.sign(claims, pem, { algorithm: 'ES256', keyid: kid, issuer: 'chat-auth', audience: 'chat', ...(withExp ? { expiresIn: 600 } : {}) });
    };
    const claims = () => ({ sub: me.user.id, username: me.user.username, displayName: me.user.displayName });

    test('control: the same claims with exp are accepted', async () => {
      expect((await api('GET', '/api/users/me', { token: await sign(claims(), true) })).status).toBe(200);
    });

    test.each([
      ['no exp', () => claims(), false],
      ['a non-UUID sub', () => ({ ...claims(), sub: 'not-a-uuid' }), true],
      ['a NUL in sub', () => ({ ...claims(), sub: `${me.user.id}\u0000` }), true],
      ['a numeric sub', () => ({ ...claims(), sub: 42 }), true],
    ])('a token with %s is 401 over REST and refused at the socket handshake', async (_name, make, withExp) => {
      const token = await sign(make(), withExp as boolean);
      for (const p of ['/api/users/me', '/api/chat/rooms']) {
        const res = await api('GET', p, { token });
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      }
      await expect(connect(svc.url, token)).rejects.toThrow('unauthorized');
    });
  });

  test('a refresh token whose id is not a UUID is 401, not 500', async () => {
    const res = await api('POST', '/api/auth/refresh', { body: { refreshToken: `${'-'.repeat(36)}.${'a'.repeat(43)}` } });
    expect(res.status).toBe(401);
  });
});

describe('bounded work', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  const sockets: ClientSocket[] = [];
  const LIMITS = { SYNC_MAX_ROOMS: '3', SYNC_MAX_MESSAGES: '5', MESSAGES_MAX_BYTES: '16384', SYNC_RATE_LIMIT: '4', READ_RATE_LIMIT: '6' };

  beforeAll(async () => {
    svc = await start('all', LIMITS);
    api = client(svc.url);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await svc.close();
  });

  const roomWith = async (u: AuthResult, bodies: string[]): Promise<Room> => {
    const r: Room = (await api('POST', '/api/chat/rooms', { token: u.accessToken, body: { name: 'bounded', kind: 'private' } })).body;
    for (const [i, body] of bodies.entries()) {
      const res = await api('POST', `/api/chat/rooms/${r.id}/messages`, { token: u.accessToken, body: { body, clientId: `${r.id}-${i}` } });
      expect(res.status).toBe(201);
    }
    return r;
  };
  const sync = async (u: AuthResult, rooms: Array<{ roomId: string; afterSeq: number }>) => {
    const s = await connect(svc.url, u.accessToken);
    sockets.push(s);
    return s.timeout(5000).emitWithAck('sync', { rooms });
  };

  test('sync answers each room once, however often it is named', async () => {
    const u = await register(svc.url, 'dup');
    const r = await roomWith(u, ['one', 'two']);
    const ack = await sync(
      u,
      Array.from({ length: 200 }, () => ({ roomId: r.id, afterSeq: 0 })),
    );
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    expect(ack.rooms).toHaveLength(1);
    expect(ack.rooms[0].messages.map((m: Message) => m.body)).toEqual(['one', 'two']);
  });

  test('sync refuses more distinct rooms than SYNC_MAX_ROOMS with bad_request naming rooms', async () => {
    const u = await register(svc.url, 'many');
    const rooms = await Promise.all([1, 2, 3, 4].map(() => roomWith(u, [])));
    const ack = await sync(
      u,
      rooms.map((r) => ({ roomId: r.id, afterSeq: 0 })),
    );
    expect(ack).toMatchObject({ ok: false, error: { code: 'bad_request', details: [{ field: 'rooms' }] } });
  });

  test('sync caps messages per answer; rooms past the cap say hasMore and history pages the rest, nothing lost', async () => {
    const u = await register(svc.url, 'cap');
    const a = await roomWith(u, ['a1', 'a2', 'a3', 'a4']);
    const b = await roomWith(u, ['b1', 'b2', 'b3']);
    const c = await roomWith(u, []);
    const ack = await sync(u, [
      { roomId: a.id, afterSeq: 0 },
      { roomId: b.id, afterSeq: 0 },
      { roomId: c.id, afterSeq: 0 },
    ]);
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    const [ra, rb, rc] = ack.rooms;
    expect(ra.messages.map((m: Message) => m.body)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(ra.hasMore).toBe(false);
    expect(rb.messages.map((m: Message) => m.body)).toEqual(['b1']);
    expect(rb.hasMore).toBe(true);
    expect(rc).toEqual({ roomId: c.id, messages: [], updated: [], hasMore: false, lastChange: 0 });
    const rest = await api('GET', `/api/chat/rooms/${b.id}/messages?after=1`, { token: u.accessToken });
    expect(rest.body.messages.map((m: Message) => m.body)).toEqual(['b2', 'b3']);
  });

  test('sync and history cap bytes per answer; paging with hasMore returns every message once', async () => {
    const u = await register(svc.url, 'bytes');
    const big = (i: number) => `${i}`.padEnd(4000, 'é');
    const r = await roomWith(u, [1, 2, 3, 4, 5].map(big));
    const ack = await sync(u, [{ roomId: r.id, afterSeq: 0 }]);
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    expect(Buffer.byteLength(JSON.stringify(ack))).toBeLessThanOrEqual(16384 + 200);
    expect(ack.rooms[0].messages.length).toBeGreaterThan(0);
    expect(ack.rooms[0].messages.length).toBeLessThan(5);
    expect(ack.rooms[0].hasMore).toBe(true);
    // History forward from 0 and backward from the newest, each at most 16 KiB of messages.
    const forward: number[] = [];
    for (let after = 0, more = true; more;) {
      const page = await api('GET', `/api/chat/rooms/${r.id}/messages?after=${after}&limit=100`, { token: u.accessToken });
      expect(page.status).toBe(200);
      expect(Buffer.byteLength(JSON.stringify(page.body.messages))).toBeLessThanOrEqual(16384);
      forward.push(...page.body.messages.map((m: Message) => m.seq));
      more = page.body.hasMore;
      after = forward.at(-1)!;
    }
    expect(forward).toEqual([1, 2, 3, 4, 5]);
    const page = await api('GET', `/api/chat/rooms/${r.id}/messages?limit=100`, { token: u.accessToken });
    expect(page.body.hasMore).toBe(true);
    expect(page.body.messages.at(-1).seq).toBe(5);
  });

  test('sync is rate-limited per user: rate_limited ack past SYNC_RATE_LIMIT', async () => {
    const u = await register(svc.url, 'srl');
    const s = await connect(svc.url, u.accessToken);
    sockets.push(s);
    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await s.timeout(3000).emitWithAck('sync', { rooms: [] }));
    expect(acks.slice(0, 4).every((a) => a.ok)).toBe(true);
    expect(acks[4]).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
  });

  test('history and the three searches share READ_RATE_LIMIT: 429 with Retry-After', async () => {
    const u = await register(svc.url, 'rrl');
    const r = await roomWith(u, []);
    const calls = [`/api/chat/rooms/${r.id}/messages`, '/api/users?query=a', '/api/chat/rooms/public?query=b', '/api/chat/search?q=c'];
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await api('GET', calls[i % 4], { token: u.accessToken })).status);
    expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    const limited = await api('GET', calls[3], { token: u.accessToken });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('server timeouts', () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await start('all', { HTTP_REQUEST_TIMEOUT_MS: '1500', HTTP_HEADERS_TIMEOUT_MS: '1000' });
  });
  afterAll(() => svc.close());

  /** Sends `data` on a raw connection and resolves with what came back and when it closed. */
  const stall = (data: string) =>
    new Promise<{ ms: number; answer: string }>((resolve, reject) => {
      const started = Date.now();
      const { port } = new URL(svc.url);
      const sock = tcp(Number(port), '127.0.0.1', () => sock.write(data));
      let answer = '';
      sock.on('data', (d) => (answer += d.toString()));
      sock.on('close', () => resolve({ ms: Date.now() - started, answer }));
      sock.on('error', reject);
      setTimeout(() => (sock.destroy(), reject(new Error('connection still open after 8 s'))), 8000).unref();
    });

  test('a body that never arrives is cut within seconds with 408', async () => {
    const r = await stall('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user');
    expect(r.ms).toBeLessThan(4000);
    expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
  });

  test('headers that never finish are cut within seconds', async () => {
    const r = await stall('GET /health/live HTTP/1.1\r\nHost: x\r\n');
    expect(r.ms).toBeLessThan(4000);
  });

  test('an open WebSocket is not cut by the request timeout', async () => {
    const u = await register(svc.url, 'ws');
    const s = await connect(svc.url, u.accessToken);
    try {
      await sleep(3500);
      expect(s.connected).toBe(true);
      expect(await s.timeout(2000).emitWithAck('sync', { rooms: [] })).toEqual({ ok: true, rooms: [] });
    } finally {
      s.close();
    }
  });

  test('config refuses a headers timeout longer than the request timeout', () => {
    expect(() =>
      parseConfig('chat', { AUTH_JWKS_URL: 'http://a/jwks', DATABASE_URL: 'postgres://x/y', HTTP_HEADERS_TIMEOUT_MS: '9000', HTTP_REQUEST_TIMEOUT_MS: '5000' }),
    ).toThrow(ConfigError);
  });
});

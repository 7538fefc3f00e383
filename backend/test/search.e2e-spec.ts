import { randomUUID } from 'node:crypto';
import type { Service } from '../src/common/app.js';
import type { AuthResult, Message, Room, SearchPage } from '../src/contract/events.js';
import { client, register, start, uniq } from './harness.js';

describe('message search', () => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  let alice: AuthResult;
  let bob: AuthResult;
  let eve: AuthResult;

  beforeAll(async () => {
    svc = await start();
    api = client(svc.url);
    [alice, bob, eve] = await Promise.all([register(svc.url, 'sra'), register(svc.url, 'srb'), register(svc.url, 'sre')]);
  });
  afterAll(() => svc?.close());

  /** A word no other message of this run has: each test searches only its own messages. */
  const word = () => `w${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const room = async (owner: AuthResult, kind: 'public' | 'private' = 'public', name = uniq('sr')): Promise<Room> =>
    (await api('POST', '/api/chat/rooms', { token: owner.accessToken, body: { name, kind } })).body as Room;
  const join = (who: AuthResult, r: Room) => api('POST', `/api/chat/rooms/${r.id}/join`, { token: who.accessToken });
  const send = async (who: AuthResult, r: Room, body: string, threadId?: string): Promise<Message> => {
    const res = await api('POST', `/api/chat/rooms/${r.id}/messages`, {
      token: who.accessToken,
      body: { body, clientId: randomUUID(), ...(threadId ? { threadId } : {}) },
    });
    expect(res.status).toBe(201);
    return res.body as Message;
  };
  const search = (who: AuthResult, params: Record<string, string>) =>
    api('GET', `/api/chat/search?${new URLSearchParams(params).toString()}`, { token: who.accessToken });
  /** Bodies of the hits, newest first. */
  const bodies = async (who: AuthResult, q: string, extra: Record<string, string> = {}) => {
    const res = await search(who, { q, limit: '50', ...extra });
    expect(res.status).toBe(200);
    return (res.body as SearchPage).results.map((r) => r.message.body);
  };

  test('words all match, "phrases", -excluded, or; newest first', async () => {
    const [w, x] = [word(), word()];
    const r = await room(alice);
    await send(alice, r, `${w} alpha beta`);
    await send(alice, r, `${w} beta alpha`);
    await send(alice, r, `${w} alpha gamma`);
    await send(alice, r, `${x} only`);
    expect(await bodies(alice, w)).toEqual([`${w} alpha gamma`, `${w} beta alpha`, `${w} alpha beta`]);
    expect(await bodies(alice, `${w} beta`)).toEqual([`${w} beta alpha`, `${w} alpha beta`]);
    expect(await bodies(alice, `${w.toUpperCase()} BETA`)).toEqual([`${w} beta alpha`, `${w} alpha beta`]);
    expect(await bodies(alice, `"${w} alpha beta"`)).toEqual([`${w} alpha beta`]);
    expect(await bodies(alice, `${w} "alpha beta"`)).toEqual([`${w} alpha beta`]);
    expect(await bodies(alice, `${w} -beta`)).toEqual([`${w} alpha gamma`]);
    expect(await bodies(alice, `${w} -gamma -beta`)).toEqual([]);
    expect(await bodies(alice, `${x} or gamma ${w}`)).toEqual([`${x} only`, `${w} alpha gamma`]);
  });

  test('from:username and in:roomname (case-insensitive); operators alone; unknown ones give nothing', async () => {
    const w = word();
    const name = `Search Room ${randomUUID().slice(0, 6)}`;
    const r1 = await room(alice, 'public', name);
    const r2 = await room(alice);
    await join(bob, r1);
    await join(bob, r2);
    await send(alice, r1, `${w} one`);
    await send(bob, r1, `${w} two`);
    await send(bob, r2, `${w} three`);
    expect(await bodies(alice, `${w} from:${bob.user.username}`)).toEqual([`${w} three`, `${w} two`]);
    expect(await bodies(alice, `from:${bob.user.username.toUpperCase()} ${w}`)).toEqual([`${w} three`, `${w} two`]);
    expect(await bodies(alice, `${w} from:@${alice.user.username}`)).toEqual([`${w} one`]);
    expect(await bodies(alice, `${w} in:"${name.toLowerCase()}"`)).toEqual([`${w} two`, `${w} one`]);
    expect(await bodies(alice, `${w} in:"${name}" from:${bob.user.username}`)).toEqual([`${w} two`]);
    // No words: every message of that sender in my rooms.
    expect(await bodies(alice, `in:"${name}" from:${bob.user.username}`)).toEqual([`${w} two`]);
    const onlyFrom = await search(alice, { q: `from:${bob.user.username}`, roomId: r2.id });
    expect(onlyFrom.body.results).toHaveLength(1);
    expect(onlyFrom.body.results[0].highlight).toBe(`${w} three`);
    expect(await bodies(alice, `${w} from:nosuchuser${w}`)).toEqual([]);
    expect(await bodies(alice, `${w} in:nosuchroom${w}`)).toEqual([]);
    // An operator without a value is a word.
    expect(await bodies(alice, `${w} from:`)).toEqual([]);
    // Only punctuation: no lexemes, no results, no error.
    expect(await bodies(alice, '!!! ,,, ...')).toEqual([]);
  });

  test('only rooms I am a member of now: not others’ private rooms, not after leaving', async () => {
    const w = word();
    const shared = await room(alice);
    await join(bob, shared);
    const secret = await room(eve, 'private');
    await send(eve, secret, `${w} secret of eve`);
    const publicNotJoined = await room(eve);
    await send(eve, publicNotJoined, `${w} public but not joined`);
    await send(alice, shared, `${w} shared`);
    expect(await bodies(bob, w)).toEqual([`${w} shared`]);
    expect(await bodies(eve, w)).toEqual([`${w} public but not joined`, `${w} secret of eve`]);
    expect((await api('DELETE', `/api/chat/rooms/${shared.id}/members/me`, { token: bob.accessToken })).status).toBeLessThan(300);
    expect(await bodies(bob, w)).toEqual([]);
    expect(await bodies(alice, w)).toEqual([`${w} shared`]);
  });

  test('deleted messages never match; an edit changes what matches; replies match with their threadId', async () => {
    const [w, old, fresh] = [word(), word(), word()];
    const r = await room(alice);
    const root = await send(alice, r, `${w} root ${old}`);
    const reply = await send(alice, r, `${w} reply`, root.id);
    const gone = await send(alice, r, `${w} to be deleted`);
    expect(await bodies(alice, w)).toEqual([`${w} to be deleted`, `${w} reply`, `${w} root ${old}`]);
    expect((await api('DELETE', `/api/chat/messages/${gone.id}`, { token: alice.accessToken })).status).toBe(204);
    const hits = (await search(alice, { q: w })).body as SearchPage;
    expect(hits.results.map((h) => [h.message.id, h.message.threadId])).toEqual([
      [reply.id, root.id],
      [root.id, null],
    ]);
    expect(await bodies(alice, `deleted from:${alice.user.username}`)).toEqual([]);
    // Without words every message of the sender would do: the deleted one still does not.
    expect(await bodies(alice, `from:${alice.user.username}`, { roomId: r.id })).toEqual([`${w} reply`, `${w} root ${old}`]);
    expect((await api('PATCH', `/api/chat/messages/${root.id}`, { token: alice.accessToken, body: { body: `${w} root ${fresh}` } })).status).toBe(200);
    expect(await bodies(alice, old)).toEqual([]);
    expect(await bodies(alice, fresh)).toEqual([`${w} root ${fresh}`]);
  });

  test('highlight: the body HTML-escaped, matched words in <mark>', async () => {
    const w = word();
    const r = await room(alice);
    await send(alice, r, `<script>alert(1)</script> ${w}`);
    await send(alice, r, `Tom & "Jerry" 'say' ${w}-${w.toUpperCase()} <b>x</b>`);
    await send(alice, r, `${w} \u0001fake\u0002 markers`);
    const res = await search(alice, { q: w });
    expect(res.body.results.map((h: { highlight: string }) => h.highlight)).toEqual([
      // The body's own \x01 and \x02 (ts_headline's markers) are spaces in the highlight.
      `<mark>${w}</mark>  fake  markers`,
      `Tom &amp; &quot;Jerry&quot; &#39;say&#39; <mark>${w}</mark>-<mark>${w.toUpperCase()}</mark> &lt;b&gt;x&lt;/b&gt;`,
      `&lt;script&gt;alert(1)&lt;/script&gt; <mark>${w}</mark>`,
    ]);
    expect(res.body.results[0].message.body).toBe(`${w} \u0001fake\u0002 markers`);
  });

  test('pages: newest first, no duplicates, next null at the end; roomId limits to one room', async () => {
    const w = word();
    const r1 = await room(alice);
    const r2 = await room(alice);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await send(alice, i % 2 ? r2 : r1, `${w} n${i}`)).id);
    const p1 = await search(alice, { q: w, limit: '3' });
    expect(p1.status).toBe(200);
    expect(p1.body.results.map((h: { message: Message }) => h.message.id)).toEqual([sent[4], sent[3], sent[2]]);
    expect(typeof p1.body.next).toBe('string');
    const p2 = await search(alice, { q: w, limit: '3', before: p1.body.next });
    expect(p2.body.results.map((h: { message: Message }) => h.message.id)).toEqual([sent[1], sent[0]]);
    expect(p2.body.next).toBeNull();
    const exact = await search(alice, { q: w, limit: '5' });
    expect(exact.body.results).toHaveLength(5);
    expect(exact.body.next).toBeNull();
    expect(await bodies(alice, w, { roomId: r2.id })).toEqual([`${w} n3`, `${w} n1`]);
    // Default limit 20.
    expect((await search(alice, { q: w })).body.results).toHaveLength(5);
  });

  test('roomId of a room I am not in: 403 public, 404 private or missing (as for its messages)', async () => {
    const pub = await room(eve);
    const priv = await room(eve, 'private');
    expect((await search(alice, { q: 'x', roomId: pub.id })).status).toBe(403);
    expect((await api('GET', `/api/chat/rooms/${pub.id}/messages`, { token: alice.accessToken })).status).toBe(403);
    expect((await search(alice, { q: 'x', roomId: priv.id })).status).toBe(404);
    expect((await search(alice, { q: 'x', roomId: randomUUID() })).status).toBe(404);
    expect((await search(alice, { q: 'x', roomId: 'nope' })).status).toBe(400);
  });

  test('odd queries are answered 200, never 500', async () => {
    const odd = [
      "'",
      '"',
      '"unclosed',
      '-',
      '--x',
      '<->',
      '!',
      '& | !',
      ':*',
      'a:*',
      'in:"',
      'from:"ann"',
      'in:"a" in:"b" from:x from:y',
      '😀 🎉',
      '日本語のテキスト',
      'שלום עולם',
      '\\',
      '"" ""',
      'or or or',
      '-or',
      'a <-> b',
      "o'reilly",
      'x'.repeat(200),
      `${'or '.repeat(66)}x`,
      '\u0001hello\u0002',
      'from:',
      'in:',
      'NOT',
      '(a | b) & !c',
      'hello-world',
      'user@example.com',
      'http://example.com/a?b=1',
    ];
    for (const q of odd) {
      const res = await search(alice, { q });
      expect([q, res.status]).toEqual([q, 200]);
      expect(Array.isArray(res.body.results)).toBe(true);
    }
  });

  test('bad input is 400 with details; no token is 401', async () => {
    const cursor = Buffer.from(`1:1:${randomUUID()}`).toString('base64url');
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'q'],
      [{ q: '' }, 'q'],
      [{ q: '   ' }, 'q'],
      [{ q: 'x'.repeat(201) }, 'q'],
      [{ q: 'x', limit: '0' }, 'limit'],
      [{ q: 'x', limit: '51' }, 'limit'],
      [{ q: 'x', limit: 'ten' }, 'limit'],
      [{ q: 'x', before: 'not a cursor!' }, 'before'],
      [{ q: 'x', before: Buffer.from('garbage').toString('base64url') }, 'before'],
      [{ q: 'x', before: `${cursor}A` }, 'before'],
      [{ q: 'x', extra: '1' }, ''],
    ];
    for (const [params, field] of cases) {
      const res = await search(alice, params);
      expect([JSON.stringify(params), res.status]).toEqual([JSON.stringify(params), 400]);
      if (field) expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    expect((await search(alice, { q: 'x'.repeat(200) })).status).toBe(200);
    expect((await search(alice, { q: 'x', before: cursor })).status).toBe(200);
    expect((await api('GET', '/api/chat/search?q=x')).status).toBe(401);
  });
});

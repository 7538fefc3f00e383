import type { Message } from '../src/contract/events.js';
import { client, connect, register, start, uniq } from './harness.js';

describe('graceful shutdown', () => {
  test('no acknowledged message is lost; later sends are refused; clients are told to reconnect', async () => {
    const svc = await start('all');
    const u = await register(svc.url, 'shut');
    const room = (await client(svc.url)('POST', '/api/chat/rooms', { token: u.accessToken, body: { name: uniq('shut'), kind: 'public' } })).body;
    const s = await connect(svc.url, u.accessToken);
    const reason = new Promise<string>((resolve) => s.on('disconnect', (r) => resolve(r)));
    const acks = Array.from({ length: 40 }, (_, i) =>
      s
        .timeout(5000)
        .emitWithAck('message:send', { roomId: room.id, body: `m${i}`, clientId: `shut-${i}` })
        .catch(() => ({ ok: false as const, error: { code: 'timeout' } })),
    );
    await new Promise((r) => setTimeout(r, 5));
    const closing = svc.close();
    const results = await Promise.all(acks);
    await closing;
    // "transport close" (not "io server disconnect") is the reason a client reconnects by itself.
    expect(await reason).toBe('transport close');
    const acked = results.filter((r): r is { ok: true; message: Message } => r.ok).map((r) => r.message);
    const refused = results.filter((r) => !r.ok);
    expect(acked.length + refused.length).toBe(40);
    for (const r of refused) expect((r as { error: { code: string } }).error.code).toMatch(/unavailable|timeout/);

    const again = await start('all');
    try {
      const login = await client(again.url)('POST', '/api/auth/login', { body: { username: u.user.username, password: 'correct horse battery' } });
      const hist = await client(again.url)('GET', `/api/chat/rooms/${room.id}/messages?limit=100`, { token: login.body.accessToken });
      const stored = new Map((hist.body.messages as Message[]).map((m) => [m.id, m]));
      for (const m of acked) expect(stored.get(m.id)).toEqual(m);
      expect([...stored.values()].map((m) => m.seq)).toEqual(Array.from({ length: stored.size }, (_, i) => i + 1));
    } finally {
      await again.close();
    }
  });
});

import { randomUUID } from 'node:crypto';
import type { Service } from '../src/common/app.js';
import type { AuthResult, Message } from '../src/contract/events.js';
import { ClientSocket, client, connect, register, sleep, start, uniq } from './harness.js';

/**
 * The client side of per-sender order, as the browser's outbox does it: per room one
 * `message:send` in flight; a rate-limited or unanswered one is sent again (same clientId)
 * before anything typed after it; after a reconnect the unsent ones go out in typed order.
 */
async function sendInOrder(socket: () => ClientSocket, roomId: string, bodies: string[], seen: { rateLimited: number }) {
  for (const body of bodies) {
    const clientId = randomUUID();
    for (let attempt = 0; ; attempt++) {
      const s = socket();
      if (!s.connected) {
        await sleep(50);
        continue;
      }
      const ack = await s
        .timeout(5000)
        .emitWithAck('message:send', { roomId, body, clientId })
        .catch(() => undefined);
      if (ack?.ok) break;
      if (ack && ack.error.code !== 'rate_limited') throw new Error(`refused: ${ack.error.code}`);
      if (ack) seen.rateLimited++;
      await sleep(Math.min(2000, 250 * 2 ** attempt));
    }
  }
}

describe('per-sender order', () => {
  let svc: Service;
  let u: AuthResult;
  beforeAll(async () => {
    svc = await start('all', { SEND_RATE_LIMIT: '6' });
    u = await register(svc.url, 'or');
  });
  afterAll(() => svc?.close());

  test('messages are stored in the order typed across rate-limit retries and a reconnect', async () => {
    const room = (await client(svc.url)('POST', '/api/chat/rooms', { token: u.accessToken, body: { name: uniq('order'), kind: 'public' } })).body;
    let socket = await connect(svc.url, u.accessToken);
    const bodies = Array.from({ length: 12 }, (_, i) => `n${i + 1}`);
    const seen = { rateLimited: 0 };
    const sending = sendInOrder(() => socket, room.id, bodies, seen);
    // Cut the connection while messages are queued, and come back on a new one.
    await sleep(100);
    socket.close();
    await sleep(300);
    socket = await connect(svc.url, u.accessToken);
    await sending;
    socket.close();
    const page = (await client(svc.url)('GET', `/api/chat/rooms/${room.id}/messages?limit=100`, { token: u.accessToken })).body as { messages: Message[] };
    expect(page.messages.map((m) => m.body)).toEqual(bodies);
    expect(page.messages.map((m) => m.seq)).toEqual(bodies.map((_, i) => i + 1));
    expect(seen.rateLimited).toBeGreaterThan(0);
  }, 40_000);
});

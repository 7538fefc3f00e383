import { randomUUID } from 'node:crypto';
import type { Socket as NetSocket } from 'node:net';
import type { Service } from '../src/common/app.js';
import type { AuthResult } from '../src/contract/events.js';
import { ClientSocket, client, connect, register, sleep, start } from './harness.js';

// A client that asks for big answers and never reads them: each `sync` answer is about
// 512 KiB; 20 of them (the sync rate limit) overflow the kernel's buffers and queue in the server.
const BIG = 'x'.repeat(3990);
const tcpOf = (s: ClientSocket) => (s.io.engine.transport as unknown as { ws: { _socket: NetSocket } }).ws._socket;
const cutCount = async (base: string) => Number(/^socketio_slow_consumer_disconnects_total (\d+)/m.exec((await client(base)('GET', '/metrics')).body)?.[1]);

async function scenario(maxQueued: string) {
  const svc: Service = await start('all', { SOCKET_MAX_QUEUED_BYTES: maxQueued, SEND_RATE_LIMIT: '100000' });
  const sockets: ClientSocket[] = [];
  try {
    const u: AuthResult = await register(svc.url, 'sb');
    const room = (await client(svc.url)('POST', '/api/chat/rooms', { token: u.accessToken, body: { name: 'big', kind: 'private' } })).body.id as string;
    const writer = await connect(svc.url, u.accessToken);
    sockets.push(writer);
    for (let i = 0; i < 150; i += 25)
      await Promise.all(Array.from({ length: 25 }, () => writer.emitWithAck('message:send', { roomId: room, body: BIG, clientId: randomUUID() })));
    const reader = await connect(svc.url, u.accessToken);
    sockets.push(reader);
    const acks: unknown[] = [];
    let reason = '';
    reader.on('disconnect', (r) => (reason = r));
    tcpOf(reader).pause();
    for (let i = 0; i < 20; i++) reader.emit('sync', { rooms: [{ roomId: room, afterSeq: 0 }] }, (a: unknown) => acks.push(a));
    let cut = 0;
    for (let i = 0; i < 50 && !cut; i++) {
      await sleep(100);
      cut = await cutCount(svc.url);
    }
    tcpOf(reader).resume();
    for (let i = 0; i < 100 && acks.length < 20 && !reason; i++) await sleep(100);
    return { cut, acks: acks.length, reason, writerConnected: writer.connected };
  } finally {
    for (const s of sockets) s.close();
    await svc.close();
  }
}

describe('a socket whose client does not read is cut past SOCKET_MAX_QUEUED_BYTES', () => {
  test('1 MiB budget: the non-reading socket is cut before its 20 answers (10 MiB) are queued; the other stays', async () => {
    const r = await scenario('1048576');
    expect(r.cut).toBe(1);
    expect(r.acks).toBeLessThan(20);
    expect(r.reason).toBe('transport close');
    expect(r.writerConnected).toBe(true);
  }, 60_000);

  test('control: with a 256 MiB budget the same client is never cut and gets all 20 answers once it reads', async () => {
    const r = await scenario('268435456');
    expect(r).toEqual({ cut: 0, acks: 20, reason: '', writerConnected: true });
  }, 60_000);
});

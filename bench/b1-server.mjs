// Baseline B1 (B1r with REDIS_URL): a bare Socket.IO broadcast server with the chat's socket
// settings (WebSocket only, default JSON parser, no compression). A socket joins the rooms
// named in its handshake; `message:send` is acknowledged and broadcast to the room as a
// message shaped like the chat's, but nothing is checked or stored.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 4100);
const http = createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404).end();
});
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, maxHttpBufferSize: 64 * 1024, pingInterval: 20_000, pingTimeout: 20_000 });

if (process.env.REDIS_URL) {
  const { createClient } = await import('redis');
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub, { key: `bench-b1r-${process.env.B1R_KEY ?? 'x'}` }));
}

const seqs = new Map();
io.on('connection', (socket) => {
  const rooms = Array.isArray(socket.handshake.auth?.rooms) ? socket.handshake.auth.rooms : [];
  socket.join(rooms);
  socket.on('message:send', (p, ack) => {
    const seq = (seqs.get(p.roomId) ?? 0) + 1;
    seqs.set(p.roomId, seq);
    const message = {
      id: randomUUID(),
      roomId: p.roomId,
      seq,
      senderId: socket.id,
      senderName: socket.handshake.auth?.user ?? 'user',
      body: p.body,
      clientId: p.clientId,
      createdAt: new Date().toISOString(),
      editedAt: null,
      deleted: false,
    };
    io.to(p.roomId).emit('message:new', message);
    if (typeof ack === 'function') ack({ ok: true, message });
  });
  socket.on('sync', (p, ack) => typeof ack === 'function' && ack({ ok: true, rooms: [] }));
});
http.listen(port, '127.0.0.1', () => process.send?.('listening'));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));

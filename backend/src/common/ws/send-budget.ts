import type { Socket } from 'socket.io';

interface EnginePacket {
  data?: unknown;
  options?: { wsPreEncodedFrame?: unknown };
}
interface EngineConn {
  writeBuffer: EnginePacket[];
  transport?: { socket?: { _socket?: { writableLength?: number }; terminate?: () => void } };
}

const lengthOf = (d: unknown): number => {
  if (typeof d === 'string' || Buffer.isBuffer(d)) return d.length;
  if (Array.isArray(d)) return d.reduce((n: number, x) => n + lengthOf(x), 0);
  return 0;
};

/**
 * Bytes written to this socket that its client has not taken yet: engine.io's queue plus what
 * the TCP socket holds in the process. The kernel's own buffers fill first and are not counted.
 */
export function queuedBytes(socket: Socket): number {
  const conn = socket.conn as unknown as EngineConn;
  let n = conn.transport?.socket?._socket?.writableLength ?? 0;
  for (const p of conn.writeBuffer) n += lengthOf(p.options?.wsPreEncodedFrame ?? p.data);
  return n;
}

/**
 * A client that stops reading (or asks for more than it reads) would make the server hold its
 * answers without bound. Past maxBytes queued, the connection is cut; the client reconnects and
 * catches up with `sync`. Checked whenever a packet is queued, so nothing grows unseen.
 */
export function enforceSendBudget(socket: Socket, maxBytes: number, onCut: (bytes: number) => void): void {
  const conn = socket.conn as unknown as EngineConn;
  let cut = false;
  socket.conn.on('packetCreate', () => {
    if (cut) return;
    const bytes = queuedBytes(socket);
    if (bytes <= maxBytes) return;
    cut = true;
    onCut(bytes);
    // Not socket.disconnect(): engine.io would wait for the queue to drain, which a client
    // that does not read never lets happen. Dropping the TCP connection frees it now.
    const ws = conn.transport?.socket;
    if (ws?.terminate) ws.terminate();
    else socket.disconnect(true);
  });
}

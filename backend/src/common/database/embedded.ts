import { mkdir } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { PGlite } from '@electric-sql/pglite';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'

/**
 * Who may talk to the single PGlite backend. A connection keeps it from the start of a
 * Sync-terminated batch until the batch ends outside a transaction, so neither an
 * extended-protocol query (Parse/Bind/Execute/Sync) nor a transaction is interleaved.
 */
class Turn {
  private owner?: number;
  private readonly waiting: Array<{ id: number; go: () => void }> = [];

  async take(id: number) {
    if (this.owner === undefined || this.owner === id) {
      this.owner = id;
      return;
    }
    await new Promise<void>((go) => this.waiting.push({ id, go }));
  }

  give(id: number) {
    if (this.owner !== id) return;
    const next = this.waiting.shift();
    this.owner = next?.id;
    next?.go();
  }

  holds(id: number) {
    return this.owner === id;
  }
}

/**
 * PGlite served over the Postgres wire protocol on loopback, so TypeORM and `pg` work
 * unchanged, with any number of connections. @electric-sql/pglite-socket's multiplexer
 * queues single messages, which lets two connections' Parse/Bind pairs interleave; this
 * server queues whole Sync-terminated batches instead.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(inMemory ? dataDir : `${dataDir}/pgdata`);
  const turn = new Turn();
  const sockets = new Set<Socket>();
  let ids = 0;

  const server = createServer((socket) => {
    const id = ++ids;
    sockets.add(socket);
    // Replies go out in several small writes; Nagle would hold each one back.
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let started = false;
    let batch: Buffer[] = [];
    let chain = Promise.resolve();

    const run = (messages: Buffer[]) => {
      chain = chain.then(async () => {
        await turn.take(id);
        try {
          for (const m of messages) {
            await db.execProtocolRawStream(new Uint8Array(m), { onRawData: (data) => socket.writable && socket.write(Buffer.from(data)) });
          }
        } catch {
          socket.destroy();
        } finally {
          if (!db.isInTransaction()) turn.give(id);
        }
      });
    };

    socket.on('data', (data) => {
      buf = Buffer.concat([buf, data]);
      for (;;) {
        if (!started) {
          if (buf.length < 8) return;
          const len = buf.readInt32BE(0);
          const code = buf.readInt32BE(4);
          if (len === 8 && code === SSL_REQUEST) {
            socket.write('N');
            buf = buf.subarray(8);
            continue;
          }
          if (len === 16 && code === CANCEL_REQUEST) return void socket.end();
          if (buf.length < len) return;
          started = true;
          run([buf.subarray(0, len)]);
          buf = buf.subarray(len);
          continue;
        }
        if (buf.length < 5) return;
        const len = 1 + buf.readInt32BE(1);
        if (buf.length < len) return;
        const message = buf.subarray(0, len);
        buf = buf.subarray(len);
        if (message[0] === TERMINATE) return void socket.end();
        batch.push(message);
        if (message[0] === SYNC || message[0] === QUERY) {
          run(batch);
          batch = [];
        }
      }
    });

    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      sockets.delete(socket);
      chain = chain.then(async () => {
        // A client that vanished inside a transaction must not keep the backend.
        if (turn.holds(id)) {
          await db.exec('ROLLBACK').catch(() => undefined);
          turn.give(id);
        }
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.close();
    },
  };
}

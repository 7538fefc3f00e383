import type { INestApplicationContext } from '@nestjs/common';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Server, ServerOptions } from 'socket.io';
import { LeanIoAdapter } from '../ws/lean-io.adapter.js';
import type { SharedRedis } from './redis.module.js';

/** Socket.IO on the Redis adapter: rooms and broadcasts span every chat replica. */
export class RedisIoAdapter extends LeanIoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly redis: NonNullable<SharedRedis>,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, options) as Server;
    server.adapter(createAdapter(this.redis.client, this.redis.sub, { key: `${this.redis.prefix}:socket.io` }));
    return server;
  }
}

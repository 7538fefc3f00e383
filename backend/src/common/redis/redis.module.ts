import { DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { createClient } from 'redis';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';

export type RedisClient = ReturnType<typeof createClient>;
/** Null when REDIS_URL is not set: one process, state kept in memory. */
export type SharedRedis = { client: RedisClient; sub: RedisClient; prefix: string } | null;
export const REDIS = Symbol('REDIS');
export const InjectRedis = () => Inject(REDIS);

const AUTH_ERROR = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i;

async function connect(config: AppConfig): Promise<SharedRedis> {
  if (!config.REDIS_URL) return null;
  const log = new Logger('redis');
  let started = false;
  // A refused password at boot stops the process with that error instead of retrying forever;
  // once running, every failure is retried (Redis may be restarting).
  const reconnectStrategy = (n: number, cause: Error) => (!started && AUTH_ERROR.test(cause?.message ?? '') ? cause : Math.min(n * 200, 5000));
  const client = createClient({ url: config.REDIS_URL, socket: { reconnectStrategy, connectTimeout: 5000 } });
  const sub = client.duplicate();
  for (const c of [client, sub]) c.on('error', (e: Error) => log.warn({ msg: 'redis error', err: e.message }));
  await Promise.all([client.connect(), sub.connect()]);
  started = true;
  return { client, sub, prefix: config.REDIS_KEY_PREFIX };
}

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly redis: SharedRedis) {}
  async onApplicationShutdown() {
    if (!this.redis) return;
    // close() lets pending commands finish (quit() is deprecated in node-redis 5); bounded, so a
    // connection that never answers cannot hold the shutdown past its grace period.
    await Promise.allSettled(
      [this.redis.client, this.redis.sub].map(async (c) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const bounded = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 2000)));
        const outcome = await Promise.race([c.close().then(() => 'closed' as const), bounded]);
        clearTimeout(timer);
        if (outcome === 'late') c.destroy();
      }),
    );
  }
}

/** The Redis connection shared by the Socket.IO adapter, presence and rate limits. */
@Global()
@Module({})
export class RedisModule {
  static forRoot(): DynamicModule {
    return {
      module: RedisModule,
      providers: [{ provide: REDIS, useFactory: connect, inject: [APP_CONFIG] }, RedisCloser],
      exports: [REDIS],
    };
  }
}

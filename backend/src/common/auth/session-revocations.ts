import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { InjectRedis, type SharedRedis } from '../redis/redis.module.js';

export interface Revoked {
  sessionId: string;
  userId: string;
}

/**
 * Ended sessions (a token family revoked by logout or reuse detection). Auth records one for
 * as long as an access token of that family can live, and announces it; chat refuses sockets
 * of a revoked session at the handshake and disconnects the open ones on every replica. With
 * REDIS_URL the record is a Redis key and the announcement a pub/sub message (auth and chat
 * may be separate processes); without it both stay in this process.
 */
@Injectable()
export class SessionRevocations implements OnModuleDestroy {
  private readonly log = new Logger('auth');
  private readonly local = new EventEmitter();
  private readonly until = new Map<string, number>();
  private readonly unsubscribe: Array<() => Promise<unknown> | void> = [];

  constructor(@InjectRedis() private readonly redis: SharedRedis = null) {}

  private get channel() {
    return `${this.redis!.prefix}:session-revoked`;
  }

  async revoke(r: Revoked, ttlSeconds: number): Promise<void> {
    if (!this.redis) {
      const now = Date.now();
      for (const [id, t] of this.until) if (t <= now) this.until.delete(id);
      this.until.set(r.sessionId, now + ttlSeconds * 1000);
      this.local.emit('revoked', r);
      return;
    }
    const key = `${this.redis.prefix}:revoked:${r.sessionId}`;
    await this.redis.client
      .multi()
      .set(key, r.userId)
      .pExpire(key, ttlSeconds * 1000)
      .publish(this.channel, JSON.stringify(r))
      .exec();
  }

  async isRevoked(sessionId: string | undefined): Promise<boolean> {
    if (!sessionId) return false;
    if (!this.redis) return (this.until.get(sessionId) ?? 0) > Date.now();
    return (await this.redis.client.exists(`${this.redis.prefix}:revoked:${sessionId}`)) > 0;
  }

  /** Calls fn in this process for every revocation, whichever process made it. */
  async onRevoked(fn: (r: Revoked) => void): Promise<void> {
    if (!this.redis) {
      this.local.on('revoked', fn);
      this.unsubscribe.push(() => void this.local.off('revoked', fn));
      return;
    }
    const channel = this.channel;
    const listener = (raw: string) => {
      try {
        fn(JSON.parse(raw) as Revoked);
      } catch (e) {
        this.log.warn({ msg: 'bad revocation message', err: String(e) });
      }
    };
    await this.redis.sub.subscribe(channel, listener);
    this.unsubscribe.push(() => this.redis?.sub.unsubscribe(channel, listener));
  }

  async onModuleDestroy() {
    // async: a client that already closed may throw at once rather than reject.
    await Promise.allSettled(this.unsubscribe.splice(0).map(async (u) => u()));
  }
}

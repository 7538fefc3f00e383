import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { RateLimited } from '../http/errors.js';
import { InjectRedis, type SharedRedis } from '../redis/redis.module.js';

/**
 * Window of the per-user read budget (`read:<userId>`, READ_RATE_LIMIT), which history pages,
 * member lists, user search and public-room search share, as does `sync` with its own key.
 */
export const READ_WINDOW_MS = 10_000;

export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

/**
 * Fixed-window counters: in Redis when REDIS_URL is set, so every replica counts against the
 * same limit; in this process otherwise.
 */
@Injectable()
export class RateLimiter implements OnModuleDestroy {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private readonly sweeper = setInterval(() => this.sweep(), 60_000).unref();

  constructor(@InjectRedis() private readonly redis: SharedRedis = null) {}

  async consume(key: string, limit: number, windowMs: number, now = Date.now()): Promise<RateDecision> {
    if (this.redis) return this.consumeShared(key, limit, windowMs);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    if (w.count <= limit) return { allowed: true, retryAfterSeconds: 0 };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((w.resetAt - now) / 1000)) };
  }

  /** Counts one call and throws RateLimited (429 / rate_limited, with Retry-After) over the limit. */
  async enforce(key: string, limit: number, windowMs: number): Promise<void> {
    const d = await this.consume(key, limit, windowMs);
    if (!d.allowed) throw new RateLimited(d.retryAfterSeconds);
  }

  private async consumeShared(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const { client, prefix } = this.redis!;
    const k = `${prefix}:rl:${key}`;
    // INCR then set the expiry only when the key is new: one window per first hit.
    const [count, , ttl] = (await client.multi().incr(k).pExpire(k, windowMs, 'NX').pTTL(k).exec()) as unknown as [number, unknown, number];
    if (count <= limit) return { allowed: true, retryAfterSeconds: 0 };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((ttl > 0 ? ttl : windowMs) / 1000)) };
  }

  private sweep(now = Date.now()) {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }

  onModuleDestroy() {
    clearInterval(this.sweeper);
  }
}

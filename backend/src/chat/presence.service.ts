import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { LifecycleService } from '../common/lifecycle.service.js';
import { InjectRedis, type SharedRedis } from '../common/redis/redis.module.js';

// A socket's presence entry lives this long unless its replica refreshes it.
const ENTRY_TTL_MS = 30_000;
const HEARTBEAT_MS = 10_000;

/**
 * Who is online: a user is online while any of their sockets on any replica is connected.
 * With Redis, each socket is an entry with an expiry that its replica keeps refreshing; a
 * replica that dies stops refreshing and a sweeper on the others reports the users it left
 * offline, unless they reconnected elsewhere meanwhile. A draining replica leaves its entries
 * to expire, so users who reconnect to another replica never flicker offline.
 */
@Injectable()
export class PresenceService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('presence');
  private readonly local = new Map<string, Set<string>>();
  private timer?: NodeJS.Timeout;
  private offlineHandler: (userId: string) => void = () => undefined;

  constructor(
    private readonly lifecycle: LifecycleService,
    @InjectRedis() private readonly redis: SharedRedis = null,
  ) {}

  onModuleInit() {
    if (this.redis)
      this.timer = setInterval(() => void this.tick().catch((e) => this.log.warn({ msg: 'presence tick failed', err: String(e) })), HEARTBEAT_MS).unref();
  }

  onModuleDestroy() {
    clearInterval(this.timer);
  }

  /** Called for users found offline by the sweeper (their replica went away). */
  onOffline(handler: (userId: string) => void) {
    this.offlineHandler = handler;
  }

  /** Returns true when this is the user's first socket anywhere. */
  async connected(userId: string, socketId: string): Promise<boolean> {
    const mine = this.local.get(userId) ?? new Set<string>();
    mine.add(socketId);
    this.local.set(userId, mine);
    if (!this.redis) return mine.size === 1;
    const now = Date.now();
    const { client } = this.redis;
    const [, , count] = (await client
      .multi()
      .zAdd(this.userKey(userId), { score: now + ENTRY_TTL_MS, value: socketId })
      .zAdd(this.allKey(), { score: now + ENTRY_TTL_MS, value: `${userId}/${socketId}` })
      .zCount(this.userKey(userId), now, '+inf')
      .exec()) as unknown as [number, number, number];
    return count === 1;
  }

  /** Returns true when the user has no socket left anywhere. */
  async disconnected(userId: string, socketId: string): Promise<boolean> {
    const mine = this.local.get(userId);
    mine?.delete(socketId);
    if (mine && mine.size === 0) this.local.delete(userId);
    if (!this.redis) return !this.local.has(userId);
    if (this.lifecycle.isDraining) return false;
    const { client } = this.redis;
    const [, , count] = (await client
      .multi()
      .zRem(this.userKey(userId), socketId)
      .zRem(this.allKey(), `${userId}/${socketId}`)
      .zCount(this.userKey(userId), Date.now(), '+inf')
      .exec()) as unknown as [number, number, number];
    return count === 0;
  }

  async onlineAmong(userIds: string[]): Promise<string[]> {
    if (!this.redis) return userIds.filter((id) => this.local.has(id));
    if (userIds.length === 0) return [];
    const now = Date.now();
    const multi = this.redis.client.multi();
    for (const id of userIds) multi.zCount(this.userKey(id), now, '+inf');
    const counts = (await multi.exec()) as unknown as number[];
    return userIds.filter((_, i) => counts[i] > 0);
  }

  /** Refreshes this replica's entries, then reports users whose every entry expired. */
  async tick(now = Date.now()) {
    if (!this.redis) return;
    const { client } = this.redis;
    if (this.local.size && !this.lifecycle.isDraining) {
      const multi = client.multi();
      for (const [userId, sockets] of this.local) {
        for (const socketId of sockets) {
          multi.zAdd(this.userKey(userId), { score: now + ENTRY_TTL_MS, value: socketId });
          multi.zAdd(this.allKey(), { score: now + ENTRY_TTL_MS, value: `${userId}/${socketId}` });
        }
      }
      await multi.exec();
    }
    const expired = await client.zRangeByScore(this.allKey(), '-inf', now, { LIMIT: { offset: 0, count: 500 } });
    for (const entry of expired) {
      // Whoever removes the entry reports it, so two sweepers never both do.
      if ((await client.zRem(this.allKey(), entry)) !== 1) continue;
      const [userId, socketId] = entry.split('/');
      await client.zRem(this.userKey(userId), socketId);
      if ((await client.zCount(this.userKey(userId), now, '+inf')) === 0) this.offlineHandler(userId);
    }
  }

  private userKey(userId: string) {
    return `${this.redis!.prefix}:presence:${userId}`;
  }

  private allKey() {
    return `${this.redis!.prefix}:presence:all`;
  }
}

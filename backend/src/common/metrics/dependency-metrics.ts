import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';
import { InjectRedis, type SharedRedis } from '../redis/redis.module.js';
import { MetricsService } from './metrics.service.js';

/** node-postgres' Pool counters (absent on the embedded database). */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options?: { max?: number };
}

/** Query times, pool use and Redis connection state, for the dashboard and the alerts. */
@Injectable()
export class DependencyMetrics implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly metrics: MetricsService,
    @InjectRedis() private readonly redis: SharedRedis,
  ) {}

  onModuleInit() {
    const { registry, dbQueryDuration } = this.metrics;
    // TypeORM times only the queries that succeed: a failed one is counted with 0 s, so its
    // _count is the error rate and the latency quantiles read outcome="ok".
    this.db.subscribers.push({
      afterQuery: (e) => dbQueryDuration.observe({ outcome: e.success ? 'ok' : 'error' }, (e.executionTime ?? 0) / 1000),
    });
    const pool = () => (this.db.driver as unknown as { master?: PgPool }).master;
    if (typeof pool()?.totalCount === 'number') {
      new Gauge({
        name: 'db_pool_connections',
        help: 'Connections of the database pool: total (open), idle, waiting (callers queued for one)',
        labelNames: ['state'] as const,
        registers: [registry],
        collect() {
          const p = pool();
          if (!p) return;
          this.set({ state: 'total' }, p.totalCount);
          this.set({ state: 'idle' }, p.idleCount);
          this.set({ state: 'waiting' }, p.waitingCount);
        },
      });
      new Gauge({
        name: 'db_pool_max',
        help: 'Size limit of the database pool (DATABASE_POOL_SIZE)',
        registers: [registry],
        collect() {
          this.set(pool()?.options?.max ?? 10);
        },
      });
    }
    const redis = this.redis;
    if (redis) {
      // The command connection (presence, rate limits, publishing) and the subscriber of the
      // Socket.IO adapter: fan-out to the other pods needs both.
      new Gauge({
        name: 'redis_connected',
        help: '1 while the Redis connection is ready, by connection (command, subscriber)',
        labelNames: ['connection'] as const,
        registers: [registry],
        collect() {
          this.set({ connection: 'command' }, redis.client.isReady ? 1 : 0);
          this.set({ connection: 'subscriber' }, redis.sub.isReady ? 1 : 0);
        },
      });
    }
  }
}

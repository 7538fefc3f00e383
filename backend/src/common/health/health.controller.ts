import { Controller, Get, Header, Optional, ServiceUnavailableException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Public } from '../auth/public.decorator.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import { LifecycleService } from '../lifecycle.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { InjectRedis, type SharedRedis } from '../redis/redis.module.js';

@Public()
@Controller()
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: MetricsService,
    @InjectRedis() private readonly redis: SharedRedis,
    // Present in users, chat and the all-in-one: they cannot serve without the auth keys.
    @Optional() private readonly verifier?: TokenVerifier,
  ) {}

  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  @Get('health/ready')
  async ready() {
    if (this.lifecycle.isDraining) throw new ServiceUnavailableException('Shutting down');
    try {
      await this.db.query('SELECT 1');
      this.metrics.dependencyReachable.set({ dependency: 'database' }, 1);
    } catch {
      this.metrics.dependencyReachable.set({ dependency: 'database' }, 0);
      throw new ServiceUnavailableException('Database unreachable');
    }
    if (this.verifier && !(await this.verifier.ensureKeys())) throw new ServiceUnavailableException('Auth public keys (JWKS) not loaded yet');
    if (!this.redis) return { status: 'ok', database: 'ok' };
    try {
      await this.redis.client.ping();
      this.metrics.dependencyReachable.set({ dependency: 'redis' }, 1);
    } catch {
      this.metrics.dependencyReachable.set({ dependency: 'redis' }, 0);
      throw new ServiceUnavailableException('Redis unreachable');
    }
    return { status: 'ok', database: 'ok', redis: 'ok' };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape() {
    return this.metrics.registry.metrics();
  }
}

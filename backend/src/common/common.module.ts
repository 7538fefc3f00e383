import { DynamicModule, Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConfigModule } from './config/config.module.js';
import type { AppConfig } from './config/config.schema.js';
import { dataSourceOptions } from './database/migrate.js';
import { HealthController } from './health/health.controller.js';
import { HttpExceptionFilter } from './http/http-exception.filter.js';
import { RequestLogMiddleware } from './http/request-log.middleware.js';
import { LifecycleService } from './lifecycle.service.js';
import { DependencyMetrics } from './metrics/dependency-metrics.js';
import { MetricsService } from './metrics/metrics.service.js';
import { RateLimiter } from './ratelimit/rate-limiter.js';
import { RedisModule } from './redis/redis.module.js';
import { SessionRevocations } from './auth/session-revocations.js';

/** What every service shares: config, database, Redis, health, metrics, errors, limits, shutdown. */
@Global()
@Module({})
export class CommonModule implements NestModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CommonModule,
      imports: [ConfigModule.forRoot(config), TypeOrmModule.forRoot(dataSourceOptions(config)), RedisModule.forRoot()],
      controllers: [HealthController],
      providers: [MetricsService, DependencyMetrics, RateLimiter, LifecycleService, SessionRevocations, { provide: APP_FILTER, useClass: HttpExceptionFilter }],
      exports: [MetricsService, RateLimiter, LifecycleService, SessionRevocations],
    };
  }

  configure(consumer: MiddlewareConsumer) {
    consumer.apply(RequestLogMiddleware).forRoutes('*path');
  }
}

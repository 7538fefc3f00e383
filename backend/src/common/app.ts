import 'reflect-metadata';
import type { DynamicModule, INestApplication, ModuleMetadata } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { existsSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { join, resolve } from 'node:path';
import { CommonModule } from './common.module.js';
import { AppConfig, ConfigError, Role, parseConfig } from './config/config.schema.js';
import type { EmbeddedPostgres } from './database/embedded.js';
import { runMigrations } from './database/migrate.js';
import { LifecycleService } from './lifecycle.service.js';
import { REDIS, type SharedRedis } from './redis/redis.module.js';
import { RedisIoAdapter } from './redis/redis-io.adapter.js';
import { LeanIoAdapter } from './ws/lean-io.adapter.js';
import { createLogger } from './logging/logger.js';

export interface Service {
  app: NestExpressApplication;
  config: AppConfig;
  url: string;
  /** Drains writes, closes sockets and the server, then the embedded database. */
  close(): Promise<void>;
}

const API_PREFIXES = ['/api/', '/socket.io', '/health/', '/metrics'];

/** Parses config for a role, or prints every problem and exits 1. */
export function configOrExit(role: Role, env: NodeJS.ProcessEnv = process.env): AppConfig {
  try {
    return parseConfig(role, env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${JSON.stringify({ level: 'fatal', context: role, message: e.message, problems: e.problems })}\n`);
      process.exit(1);
    }
    throw e;
  }
}

/**
 * Builds and starts one service. `features` are the module(s) this process runs; the
 * all-in-one passes all three.
 */
export async function startService(config: AppConfig, features: (c: AppConfig) => ModuleMetadata['imports']): Promise<Service> {
  let embedded: EmbeddedPostgres | undefined;
  if (!config.DATABASE_URL) {
    // Only the all-in-one gets here (its schema makes DATABASE_URL optional).
    // Loaded only here: the service images leave PGlite out.
    const { startEmbeddedPostgres } = await import('./database/embedded.js');
    embedded = await startEmbeddedPostgres(config.DATA_DIR ?? './.data');
    config = { ...config, DATABASE_URL: embedded.url };
  }
  const logger = createLogger(config, config.role);
  if (config.MIGRATE_ON_START) {
    const applied = await runMigrations(config);
    if (applied.length) logger.log({ msg: 'migrations applied', applied });
  }

  @Module({})
  class RootModule {}
  const root: DynamicModule = { module: RootModule, imports: [CommonModule.forRoot(config), ...(features(config) ?? [])] };

  const app = await NestFactory.create<NestExpressApplication>(root, { logger, bodyParser: false });
  const redis = app.get<SharedRedis>(REDIS);
  app.useWebSocketAdapter(redis ? new RedisIoAdapter(app, redis) : new LeanIoAdapter(app));
  app.useBodyParser('json', { limit: '32kb' });
  app.set('trust proxy', config.TRUST_PROXY);
  app.disable('x-powered-by');
  const origins = (config.CORS_ORIGIN ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (origins.length) app.enableCors({ origin: origins, maxAge: 600 });
  serveClient(app, config);
  applyServerTimeouts(app.getHttpServer() as HttpServer, config);

  // Socket.IO attaches its request handler during init; ours goes in front of it after.
  await app.init();
  applySecurityHeaders(app.getHttpServer() as HttpServer);
  await app.listen(config.PORT, config.HOST);
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  logger.log({ msg: 'listening', url, role: config.role, embeddedDatabase: Boolean(embedded) });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const lifecycle = app.get(LifecycleService);
      lifecycle.startDraining();
      const drained = await lifecycle.settled(Math.max(0, config.SHUTDOWN_GRACE_MS - 1000));
      if (!drained) logger.warn({ msg: 'writes still in flight at the end of the grace period' });
      await app.close();
      await embedded?.stop();
    })());
  return { app, config, url, close };
}

/**
 * The security headers of every answer: the API's, the client's files, and Socket.IO's own
 * (its errors never pass through Express). No inline styles or scripts; the gateway's nginx
 * sends the same set (docker/nginx/chat.conf.template; a test compares them).
 */
export const securityHeaders = helmet({
  contentSecurityPolicy: {
    // No upgrade-insecure-requests: kind and minikube serve plain http on a NodePort.
    directives: {
      defaultSrc: ["'self'"],
      connectSrc: ["'self'"],
      // blob:: the client shows uploaded images from bytes it fetched with the access token.
      imgSrc: ["'self'", 'data:', 'blob:'],
      styleSrc: ["'self'"],
      upgradeInsecureRequests: null,
    },
  },
});

function applySecurityHeaders(server: HttpServer) {
  server.prependListener('request', (req, res) => securityHeaders(req, res, () => undefined));
}

/**
 * Slow or stalled clients are cut in seconds: Node answers 408 and closes a connection whose
 * headers (or whole request) have not arrived in time. Node checks open requests every
 * `connectionsCheckingInterval` (30 s by default, read when the server starts listening),
 * so the check runs at a fraction of the headers timeout. Upgraded (WebSocket) connections
 * are not HTTP requests any more and are not affected.
 */
function applyServerTimeouts(server: HttpServer, config: AppConfig) {
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  server.headersTimeout = config.HTTP_HEADERS_TIMEOUT_MS;
  (server as HttpServer & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(250, Math.floor(config.HTTP_HEADERS_TIMEOUT_MS / 5));
}

function serveClient(app: NestExpressApplication, config: AppConfig) {
  const dir = config.STATIC_DIR ? resolve(config.STATIC_DIR) : '';
  if (!dir || !existsSync(join(dir, 'index.html'))) return;
  app.useStaticAssets(dir, { index: false, maxAge: '1h' });
  // Client-side routes fall back to index.html; API paths keep their own 404s.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' || API_PREFIXES.some((p) => req.path.startsWith(p))) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(join(dir, 'index.html'));
  });
}

/** Entry-point helper: start, log fatal errors, and shut down cleanly on SIGTERM/SIGINT. */
export async function main(role: Role, features: (c: AppConfig) => ModuleMetadata['imports'], env = process.env) {
  const config = configOrExit(role, env);
  let service: Service;
  try {
    service = await startService(config, features);
  } catch (e) {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', context: role, message: 'startup failed', error: String(e), stack: (e as Error)?.stack })}\n`);
    process.exit(1);
  }
  const stop = (signal: string) => {
    const deadline = setTimeout(() => {
      process.stderr.write(
        `${JSON.stringify({ level: 'error', context: role, message: 'shutdown took longer than SHUTDOWN_GRACE_MS', ms: config.SHUTDOWN_GRACE_MS })}\n`,
      );
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS).unref();
    process.stderr.write(`${JSON.stringify({ level: 'log', context: role, message: 'shutting down', signal })}\n`);
    service.close().then(
      () => {
        clearTimeout(deadline);
        process.exit(0);
      },
      (e: unknown) => {
        process.stderr.write(
          `${JSON.stringify({ level: 'error', context: role, message: 'shutdown failed', error: String(e), stack: (e as Error)?.stack })}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return service;
}

export type { INestApplication };

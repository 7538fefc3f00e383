import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createClient } from 'redis';
import { io, type Socket } from 'socket.io-client';
import { startService, type Service } from '../src/common/app.js';
import { parseConfig, type Role } from '../src/common/config/config.schema.js';
import { features } from '../src/apps/modules.js';
import type { AuthResult, ClientToServerEvents, ServerToClientEvents } from '../src/contract/events.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const quiet = {
  // Tests share one database: a default room would collect every test's accounts.
  DEFAULT_ROOM: '',
  LOG_LEVEL: 'error',
  LOG_FORMAT: 'json',
  AUTH_RATE_LIMIT_PER_IP: '100000',
  LOGIN_RATE_LIMIT_PER_USERNAME: '1000',
  SEND_RATE_LIMIT: '100000',
  READ_RATE_LIMIT: '100000',
  SYNC_RATE_LIMIT: '100000',
};

/** Starts a real service process-in-process on a random port against the test database. */
export async function start(role: Exclude<Role, 'migrate'> = 'all', env: Record<string, string> = {}): Promise<Service> {
  const dataDir = `/tmp/chat-test-${randomUUID()}`;
  const config = parseConfig(role, {
    ...quiet,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    MIGRATE_ON_START: 'true',
    DATA_DIR: dataDir,
    STATIC_DIR: '',
    SHUTDOWN_GRACE_MS: '3000',
    ...env,
  });
  const svc = await startService(config, features[role]);
  // The all-in-one writes its generated dev key there: leave nothing behind.
  return { ...svc, close: () => svc.close().finally(() => rm(dataDir, { recursive: true, force: true })) };
}

export interface Api {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

/** A tiny fetch wrapper: JSON in, JSON out, status kept. */
export function client(base: string) {
  return async function call(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string } = {}): Promise<Api> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, headers: res.headers };
  };
}

let n = 0;
/** Registers a fresh user with a unique name. */
export async function register(base: string, prefix = 'user'): Promise<AuthResult> {
  const username = `${prefix}_${process.pid}_${++n}_${randomUUID().slice(0, 6)}`.slice(0, 32);
  const res = await client(base)('POST', '/api/auth/register', { body: { username, password: 'correct horse battery' } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as AuthResult;
}

/** Connects; `before` runs before the handshake, to catch events sent right after it. */
export function connect(base: string, token: string | undefined, before: (s: ClientSocket) => void = () => undefined): Promise<ClientSocket> {
  const socket: ClientSocket = io(base, {
    path: '/socket.io',
    transports: ['websocket'],
    auth: token === undefined ? {} : { token },
    reconnection: false,
    forceNew: true,
  });
  before(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (e) => {
      socket.close();
      reject(e);
    });
  });
}

/** Resolves with the next event of that name (or rejects after a timeout). */
export function next<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  filter: (...args: Parameters<ServerToClientEvents[E]>) => boolean = () => true,
  ms = 5000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler as never);
      reject(new Error(`timed out waiting for ${String(event)}`));
    }, ms);
    const handler = (...args: Parameters<ServerToClientEvents[E]>) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      socket.off(event, handler as never);
      resolve(args[0]);
    };
    socket.on(event, handler as never);
  });
}

/** Collects every event of that name until stopped. */
export function collect<E extends keyof ServerToClientEvents>(socket: ClientSocket, event: E) {
  const seen: Array<Parameters<ServerToClientEvents[E]>[0]> = [];
  const handler = (arg: Parameters<ServerToClientEvents[E]>[0]) => seen.push(arg);
  socket.on(event, handler as never);
  return { seen, stop: () => socket.off(event, handler as never) };
}

/** A unique room name: public room names are unique (case-insensitively) across the test database. */
export const uniq = (prefix: string) => `${prefix} ${randomUUID().slice(0, 8)}`;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The Redis multi-replica suites use: REDIS_URL, or the one on 127.0.0.1:6379. */
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether that Redis answers; says so when it does not (the suite is then skipped). */
export async function redisAvailable(suite: string): Promise<boolean> {
  const c = createClient({ url: redisUrl, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.ping();
    await c.quit();
    return true;
  } catch {
    process.stdout.write(`\n${suite}: no Redis at ${redisUrl}; the multi-replica suite is skipped\n`);
    return false;
  }
}

/** Leaves nothing behind in the shared Redis. */
export async function dropKeys(prefix: string) {
  const c = createClient({ url: redisUrl });
  await c.connect();
  for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 200 })) if (keys.length) await c.del(keys);
  await c.quit();
}

/** An all-in-one (a) and a chat-only replica (b) on the shared Redis; close() also drops their keys. */
export async function startReplicas(prefix: string, env: Record<string, string> = {}, allEnv: Record<string, string> = {}) {
  const shared = { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, ...env };
  const a = await start('all', { ...shared, ...allEnv });
  const b = await start('chat', { ...shared, AUTH_JWKS_URL: `${a.url}/api/auth/jwks.json` });
  const close = async () => {
    await b.close();
    await a.close();
    await dropKeys(prefix);
  };
  return { a, b, close };
}

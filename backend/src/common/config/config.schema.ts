import { z } from 'zod';
import { roomName } from '../../contract/schemas.js';

/** The processes this codebase runs as; each validates only the variables it uses. */
export type Role = 'auth' | 'users' | 'chat' | 'all' | 'migrate';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const common = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'verbose']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  /** Comma-separated origins allowed by CORS; empty means same-origin only. */
  CORS_ORIGIN: z.string().default(''),
  /** Hops of reverse proxies to trust for the client IP (the gateway is one). */
  TRUST_PROXY: int(0, 10).default(0),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  /** Replaces the password in DATABASE_URL; needs no URL escaping (a Secret's value as is). */
  DATABASE_PASSWORD: z.string().min(1).optional(),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  DATABASE_SSL: bool.default(false),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional(),
  /** Replaces the password in REDIS_URL; needs no URL escaping. */
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** Prefix of every Redis key and channel, so several installs can share one Redis. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,32}$/, 'may contain only a-z A-Z 0-9 _ . - (1 to 32)')
    .default('chat'),
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
  /** A request whose headers and body have not fully arrived by then is answered 408 and closed. */
  HTTP_REQUEST_TIMEOUT_MS: int(1000, 600_000).default(10_000),
  /** The same for the headers alone; at most HTTP_REQUEST_TIMEOUT_MS. */
  HTTP_HEADERS_TIMEOUT_MS: int(1000, 600_000).default(5_000),
  MIGRATE_ON_START: bool.default(false),
};

const verify = {
  /** Where users and chat fetch the public keys that verify access tokens. */
  AUTH_JWKS_URL: z.string().url(),
  JWT_ISSUER: z.string().min(1).default('chat-auth'),
  JWT_AUDIENCE: z.string().min(1).default('chat'),
};

const sign = {
  /** PKCS#8 PEM of a P-256 (ES256) private key; `\n` escapes are accepted. */
  JWT_PRIVATE_KEY: z.string().min(1).optional(),
  JWT_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  JWT_KEY_ID: z.string().min(1).max(64).optional(),
  /**
   * Keys retired by a rotation, still published in the JWKS (never used to sign) so tokens
   * they signed verify until they expire: one or more PEM blocks (public or private).
   */
  JWT_PREVIOUS_KEYS: z.string().min(1).optional(),
  JWT_PREVIOUS_KEYS_FILE: z.string().min(1).optional(),
  JWT_ISSUER: verify.JWT_ISSUER,
  JWT_AUDIENCE: verify.JWT_AUDIENCE,
  ACCESS_TOKEN_TTL_SECONDS: int(30, 86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: int(300, 31_536_000).default(2_592_000),
  /** Login attempts per username per 15 minutes. */
  LOGIN_RATE_LIMIT_PER_USERNAME: int(1, 1_000_000).default(10),
  /** Register and login calls per client IP per minute. */
  AUTH_RATE_LIMIT_PER_IP: int(1, 1_000_000).default(60),
};

const registration = {
  /** Public room every new account joins (created by the first); empty: none. */
  DEFAULT_ROOM: z.union([z.literal(''), roomName]).default(''),
};

/** Per-user budget for calls whose answers can grow: history and both searches. */
const reads = {
  /** History pages and searches one user may ask for per 10 seconds. */
  READ_RATE_LIMIT: int(1, 1_000_000).default(100),
};

/** Files in messages (docs/backend.md, "Uploads"). */
const uploads = {
  /** Where the bytes go: PostgreSQL (chat.upload_chunks) or an S3-compatible bucket. */
  UPLOAD_STORAGE: z.enum(['postgres', 's3']).default('postgres'),
  /** Largest file accepted, in bytes (25 MiB); the gateway's client_max_body_size is set from the same value. */
  UPLOAD_MAX_BYTES: int(1024, 1_073_741_824).default(26_214_400),
  /** Uploads being received at once by this process; one more is answered 503 with Retry-After. */
  UPLOAD_CONCURRENCY: int(1, 1000).default(8),
  /** Seconds an upload may stay unattached to any message before the sweep removes it. */
  UPLOAD_ORPHAN_AGE: int(1, 31_536_000).default(86_400),
  /** How often each replica sweeps (orphans, files of deleted messages); 0 never. */
  UPLOAD_SWEEP_INTERVAL_MS: int(0, 86_400_000).default(600_000),
  S3_BUCKET: z.string().min(3).max(63).optional(),
  /** Empty: AWS itself; else the S3-compatible server's URL (MinIO, Ceph, SeaweedFS, GCS interop...). */
  S3_ENDPOINT: z.union([z.literal(''), z.string().url()]).default(''),
  S3_REGION: z.string().min(1).default('us-east-1'),
  /** Bucket in the path rather than the host name, as most self-hosted servers need. */
  S3_FORCE_PATH_STYLE: bool.default(false),
  /** Read by the AWS SDK itself (listed so they are known); unset: its other sources (workload identity...). */
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
};

// S3 needs a bucket; credentials come from the SDK's standard chain (AWS_ACCESS_KEY_ID... or a role).
const bucketForS3: [(c: { UPLOAD_STORAGE: string; S3_BUCKET?: string }) => boolean, { message: string; path: string[] }] = [
  (c) => c.UPLOAD_STORAGE !== 's3' || Boolean(c.S3_BUCKET),
  { message: 'is required when UPLOAD_STORAGE=s3', path: ['S3_BUCKET'] },
];

const chat = {
  ...reads,
  /** `sync` calls one user may make per 10 seconds. */
  SYNC_RATE_LIMIT: int(1, 1_000_000).default(20),
  /** Distinct rooms one `sync` may name (the payload schema's hard bound is 200). */
  SYNC_MAX_ROOMS: int(1, 200).default(100),
  /** Messages in one `sync` answer, over all its rooms; the rest is left to `hasMore`. */
  SYNC_MAX_MESSAGES: int(1, 10_000).default(500),
  /** UTF-8 bytes of messages in one `sync` answer or history page; the rest is left to `hasMore`. */
  MESSAGES_MAX_BYTES: int(16_384, 16_777_216).default(524_288),
  /** Messages one user may send per 10 seconds (REST and socket together). */
  SEND_RATE_LIMIT: int(1, 1_000_000).default(50),
  /** Concurrent sends written in one transaction, at most; 1 writes each send on its own. */
  SEND_BATCH_MAX: int(1, 1000).default(64),
  /** After `auth:expired`, how long a socket has to send `auth:refresh` before it is disconnected. */
  SOCKET_REAUTH_GRACE_MS: int(0, 300_000).default(10_000),
  /** Bytes queued for one socket whose client does not read, before the connection is cut. */
  SOCKET_MAX_QUEUED_BYTES: int(65_536, 268_435_456).default(2_097_152),
  ...uploads,
};

const allInOne = {
  /** Embedded PostgreSQL data and the generated dev signing key live here. */
  DATA_DIR: z.string().min(1).default('./.data'),
  /** Built browser client served at `/`; empty disables it. */
  STATIC_DIR: z.string().default(''),
};

// Node requires headersTimeout <= requestTimeout.
const headersWithinRequest: [(c: { HTTP_HEADERS_TIMEOUT_MS: number; HTTP_REQUEST_TIMEOUT_MS: number }) => boolean, { message: string; path: string[] }] = [
  (c) => c.HTTP_HEADERS_TIMEOUT_MS <= c.HTTP_REQUEST_TIMEOUT_MS,
  { message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS', path: ['HTTP_HEADERS_TIMEOUT_MS'] },
];

const needsKey = (c: { JWT_PRIVATE_KEY?: string; JWT_PRIVATE_KEY_FILE?: string }) => Boolean(c.JWT_PRIVATE_KEY || c.JWT_PRIVATE_KEY_FILE);

export const configSchemas = {
  auth: z
    .object({ ...common, ...sign, ...registration })
    .refine(needsKey, { message: 'JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE is required', path: ['JWT_PRIVATE_KEY'] })
    .refine(...headersWithinRequest),
  users: z.object({ ...common, ...verify, ...reads }).refine(...headersWithinRequest),
  chat: z
    .object({ ...common, ...verify, ...chat })
    .refine(...headersWithinRequest)
    .refine(...bucketForS3),
  all: z
    .object({
      ...common,
      ...sign,
      ...chat,
      ...allInOne,
      DEFAULT_ROOM: registration.DEFAULT_ROOM.default('general'),
      DATABASE_URL: common.DATABASE_URL.optional(),
      MIGRATE_ON_START: bool.default(true),
      NODE_ENV: common.NODE_ENV.default('development'),
    })
    .refine(...headersWithinRequest)
    .refine(...bucketForS3),
  migrate: z.object({
    DATABASE_URL: common.DATABASE_URL,
    DATABASE_PASSWORD: common.DATABASE_PASSWORD,
    DATABASE_SSL: common.DATABASE_SSL,
    LOG_LEVEL: common.LOG_LEVEL,
    LOG_FORMAT: common.LOG_FORMAT,
  }),
} as const;

type Parsed<R extends Role> = z.infer<(typeof configSchemas)[R]>;
type AllConfig = Parsed<'all'>;
/**
 * What a process reads from its config: every role's keys, those its role lacks left
 * undefined; the ones every service role has are always set.
 */
export type AppConfig = Partial<AllConfig & Parsed<'chat'> & Parsed<'users'>> &
  Pick<
    AllConfig,
    | 'PORT'
    | 'HOST'
    | 'LOG_LEVEL'
    | 'LOG_FORMAT'
    | 'NODE_ENV'
    | 'SHUTDOWN_GRACE_MS'
    | 'HTTP_REQUEST_TIMEOUT_MS'
    | 'HTTP_HEADERS_TIMEOUT_MS'
    | 'DATABASE_POOL_SIZE'
    | 'DATABASE_SSL'
    | 'REDIS_KEY_PREFIX'
  > & {
    role: Role;
    DATABASE_URL: string;
  };

/** Every environment variable a role reads, for the chart checks. */
export function acceptedKeys(role: Role): string[] {
  return Object.keys(configSchemas[role].shape).sort();
}

/** The variables a role cannot start without (no default, not optional). */
export function requiredKeys(role: Role): string[] {
  const shape = configSchemas[role].shape as Record<string, z.ZodType>;
  const required = Object.keys(shape).filter((k) => !shape[k].safeParse(undefined).success);
  // Auth needs one of the two key variables; the refinement says so, the shape cannot.
  return role === 'auth' ? [...required, 'JWT_PRIVATE_KEY|JWT_PRIVATE_KEY_FILE'].sort() : required.sort();
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parses the environment for a role; throws ConfigError naming every bad variable. */
export function parseConfig(role: Role, env: NodeJS.ProcessEnv = process.env) {
  const result = configSchemas[role].safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = i.path.join('.') || '(environment)';
        const value = env[String(i.path[0])];
        return value === undefined && i.code === 'invalid_type' ? `${key}: is required but not set` : `${key}: ${i.message}`;
      }),
    );
  }
  const data: Record<string, unknown> = { ...result.data };
  const problems: string[] = [];
  for (const [url, password] of [
    ['DATABASE_URL', 'DATABASE_PASSWORD'],
    ['REDIS_URL', 'REDIS_PASSWORD'],
  ] as const) {
    const u = data[url];
    const pw = data[password];
    if (typeof u !== 'string' || typeof pw !== 'string') continue;
    try {
      const parsed = new URL(u);
      // Percent-encoded here so any character works; the drivers decode it.
      parsed.password = encodeURIComponent(pw);
      // A URL without a host cannot hold a password: the setter ignores it.
      if (!parsed.password) throw new Error('no host');
      data[url] = parsed.toString();
    } catch {
      problems.push(`${url}: must be a URL with a host when ${password} is set`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return { ...data, role } as unknown as AppConfig;
}

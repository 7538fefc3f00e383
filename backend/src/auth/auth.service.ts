import { ConflictException, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { InjectConfig } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import { isUniqueViolation, returning } from '../common/database/sql.js';
import { RateLimiter } from '../common/ratelimit/rate-limiter.js';
import { SessionRevocations } from '../common/auth/session-revocations.js';
import type { AuthResult, User } from '../contract/events.js';
import { joinDefaultRoom } from '../chat/default-room.js';
import { KeysService } from './keys.service.js';
import { dummyHash, hashPassword, verifyPassword } from './passwords.js';

interface AccountRow {
  user_id: string;
  username: string;
  password_hash: string;
  display_name: string;
  created_at: Date;
}

interface TokenRow {
  id: string;
  family_id: string;
  user_id: string;
  token_hash: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const BAD_LOGIN = 'Invalid username or password';
const BAD_REFRESH = 'Invalid refresh token';

/**
 * Credentials and tokens. Registration also writes the public profile row into the users
 * schema in the same transaction, so a username is taken in one place, atomically.
 */
@Injectable()
export class AuthService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly jwt: JwtService,
    private readonly keys: KeysService,
    private readonly limiter: RateLimiter,
    private readonly revocations: SessionRevocations,
  ) {}

  async register(input: { username: string; password: string; displayName?: string }, ip: string): Promise<AuthResult> {
    await this.limiter.enforce(`ip:${ip}`, this.config.AUTH_RATE_LIMIT_PER_IP!, 60_000);
    const hash = await hashPassword(input.password);
    const id = randomUUID();
    const displayName = input.displayName ?? input.username;
    try {
      return await this.db.transaction(async (tx) => {
        const [row] = await tx.query<Array<{ created_at: Date }>>(
          `INSERT INTO users.users (id, username, display_name) VALUES ($1, $2, $3) RETURNING created_at`,
          [id, input.username, displayName],
        );
        await tx.query(`INSERT INTO auth.credentials (user_id, username, password_hash) VALUES ($1, $2, $3)`, [id, input.username, hash]);
        if (this.config.DEFAULT_ROOM) await joinDefaultRoom(tx, id, this.config.DEFAULT_ROOM);
        const user: User = { id, username: input.username, displayName, createdAt: row.created_at.toISOString() };
        return this.issue(tx, user, randomUUID());
      });
    } catch (e) {
      if (isUniqueViolation(e, 'users_username_key')) throw new ConflictException('Username is already taken');
      throw e;
    }
  }

  async login(input: { username: string; password: string }, ip: string): Promise<AuthResult> {
    const username = input.username.trim().toLowerCase();
    await this.limiter.enforce(`ip:${ip}`, this.config.AUTH_RATE_LIMIT_PER_IP!, 60_000);
    await this.limiter.enforce(`login:${username}`, this.config.LOGIN_RATE_LIMIT_PER_USERNAME!, 15 * 60_000);
    const [account] = await this.db.query<AccountRow[]>(
      `SELECT c.user_id, c.username, c.password_hash, u.display_name, u.created_at
         FROM auth.credentials c JOIN users.users u ON u.id = c.user_id WHERE c.username = $1`,
      [username],
    );
    const ok = await verifyPassword(account?.password_hash ?? (await dummyHash()), input.password);
    if (!account || !ok) throw new UnauthorizedException(BAD_LOGIN);
    return this.db.transaction((tx) => this.issue(tx, this.userOf(account), randomUUID()));
  }

  async refresh(presented: string): Promise<AuthResult> {
    const parsed = this.parseRefresh(presented);
    if (!parsed) throw new UnauthorizedException(BAD_REFRESH);
    const outcome = await this.db.transaction(async (tx) => {
      const [token] = await tx.query<TokenRow[]>(`SELECT * FROM auth.refresh_tokens WHERE id = $1 FOR UPDATE`, [parsed.id]);
      if (!token || !this.matches(token, parsed.secret)) return { error: true as const };
      if (token.revoked_at || token.expires_at.getTime() <= Date.now()) return { error: true as const };
      if (token.used_at) {
        // A spent token came back: someone holds a copy. Revoke the whole family.
        await this.revokeFamily(tx, token.family_id);
        return { error: true as const, revoked: token };
      }
      await tx.query(`UPDATE auth.refresh_tokens SET used_at = now() WHERE id = $1`, [token.id]);
      const [account] = await tx.query<AccountRow[]>(
        `SELECT c.user_id, c.username, c.password_hash, u.display_name, u.created_at
           FROM auth.credentials c JOIN users.users u ON u.id = c.user_id WHERE c.user_id = $1`,
        [token.user_id],
      );
      if (!account) return { error: true as const };
      return { result: await this.issue(tx, this.userOf(account), token.family_id) };
    });
    if ('error' in outcome) {
      if ('revoked' in outcome && outcome.revoked) await this.announce(outcome.revoked);
      throw new UnauthorizedException(BAD_REFRESH);
    }
    return outcome.result;
  }

  async logout(presented: string): Promise<void> {
    const parsed = this.parseRefresh(presented);
    if (!parsed) return;
    const [token] = await this.db.query<TokenRow[]>(`SELECT * FROM auth.refresh_tokens WHERE id = $1`, [parsed.id]);
    if (!token || !this.matches(token, parsed.secret)) return;
    await this.revokeFamily(this.db.manager, token.family_id);
    await this.announce(token);
  }

  /** After commit: the family's sockets are cut on every replica, its access tokens refused there. */
  private announce(token: TokenRow) {
    return this.revocations.revoke({ sessionId: token.family_id, userId: token.user_id }, this.config.ACCESS_TOKEN_TTL_SECONDS! + 60);
  }

  private async issue(tx: EntityManager, user: User, familyId: string): Promise<AuthResult> {
    const ttl = this.config.ACCESS_TOKEN_TTL_SECONDS!;
    const accessToken = await this.jwt.signAsync(
      // sid: the token family, so a socket knows which login session it belongs to.
      { sub: user.id, username: user.username, displayName: user.displayName, sid: familyId },
      {
        algorithm: 'ES256',
        privateKey: this.keys.signingPem,
        keyid: this.keys.kid,
        expiresIn: ttl,
        issuer: this.config.JWT_ISSUER,
        audience: this.config.JWT_AUDIENCE,
      },
    );
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    await tx.query(
      `INSERT INTO auth.refresh_tokens (id, family_id, user_id, token_hash, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [id, familyId, user.id, sha256(secret), this.config.REFRESH_TOKEN_TTL_SECONDS],
    );
    return { user, accessToken, refreshToken: `${id}.${secret}`, expiresIn: ttl };
  }

  private async revokeFamily(tx: Pick<EntityManager, 'query'>, familyId: string) {
    returning(await tx.query(`UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, [familyId]));
  }

  private parseRefresh(token: string): { id: string; secret: string } | undefined {
    const m = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    return m ? { id: m[1], secret: m[2] } : undefined;
  }

  private matches(row: TokenRow, secret: string) {
    return timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(sha256(secret)));
  }

  private userOf(a: AccountRow): User {
    return { id: a.user_id, username: a.username, displayName: a.display_name, createdAt: a.created_at.toISOString() };
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { KeyObject, createPublicKey, type JsonWebKey } from 'node:crypto';
import { z } from 'zod';
import { text } from '../../contract/schemas.js';
import { InjectConfig } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type { AuthUser } from './public.decorator.js';

export interface Jwks {
  keys: Array<JsonWebKey & { kid: string }>;
}

/** Where public verification keys come from: the auth service's JWKS, over HTTP or in-process. */
export interface JwksSource {
  fetch(): Promise<Jwks>;
}
export const JWKS_SOURCE = Symbol('JWKS_SOURCE');

export class RemoteJwks implements JwksSource {
  constructor(private readonly url: string) {}
  async fetch(): Promise<Jwks> {
    const res = await fetch(this.url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`JWKS ${this.url} answered ${res.status}`);
    return (await res.json()) as Jwks;
  }
}

export class InvalidToken extends Error {}

/** The claims a verified token must carry before its `sub` is used in a query. */
const validClaims = z.object({ sub: z.uuid(), username: text(), displayName: text().optional(), sid: z.uuid().optional() });

/**
 * Verifies access tokens with public keys only. The JWKS is fetched at start and again when a
 * token names an unknown kid (at most every 2 s after a success — a key rotation is picked up that
 * fast even when a rolling update answered the first fetch from an old pod — every second after a failure);
 * readiness waits for the first successful fetch.
 */
@Injectable()
export class TokenVerifier implements OnApplicationBootstrap {
  private readonly log = new Logger('auth');
  private keys = new Map<string, KeyObject>();
  private lastFetch = 0;
  private lastFetchFailed = false;
  private loaded = false;
  private fetching?: Promise<void>;

  constructor(
    private readonly jwt: JwtService,
    @Inject(JWKS_SOURCE) private readonly source: JwksSource,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap() {
    void this.refreshOlderThan(0);
  }

  /** For readiness: tries again (throttled) when the keys are not loaded yet. */
  async ensureKeys(): Promise<boolean> {
    if (!this.loaded) await this.refreshOlderThan(1000);
    return this.loaded;
  }

  async verify(token: unknown): Promise<AuthUser> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) throw new InvalidToken('missing token');
    const decoded = this.jwt.decode<{ header?: { kid?: string; alg?: string } } | null>(token, { complete: true });
    const kid = decoded?.header?.kid;
    if (!kid || decoded?.header?.alg !== 'ES256') throw new InvalidToken('malformed token');
    const key = await this.key(kid);
    if (!key) throw new InvalidToken('unknown key');
    try {
      const claims = await this.jwt.verifyAsync<{ sub: unknown; username: unknown; displayName: unknown; exp: unknown }>(token, {
        publicKey: key as unknown as string,
        algorithms: ['ES256'],
        issuer: this.config.JWT_ISSUER,
        audience: this.config.JWT_AUDIENCE,
      });
      // jsonwebtoken accepts a token without exp; ours always have one, and sub is a user id.
      if (typeof claims.exp !== 'number') throw new InvalidToken('token without exp');
      if (!validClaims.safeParse(claims).success) throw new InvalidToken('bad claims');
      const { sub, username, displayName, sid } = claims as { sub: string; username: string; displayName?: string; sid?: string };
      return { id: sub, username, displayName: displayName ?? username, sessionId: sid, expiresAt: claims.exp * 1000 };
    } catch (e) {
      throw new InvalidToken((e as Error).message);
    }
  }

  private async key(kid: string): Promise<KeyObject | undefined> {
    if (!this.keys.has(kid)) await this.refreshOlderThan(this.lastFetchFailed ? 1000 : 2000);
    return this.keys.get(kid);
  }

  /** One fetch at a time: joins the one in flight, or starts one if the last is older than ms. */
  private refreshOlderThan(ms: number): Promise<void> {
    if (!this.fetching && Date.now() - this.lastFetch > ms) this.fetching = this.refresh().finally(() => (this.fetching = undefined));
    return this.fetching ?? Promise.resolve();
  }

  private async refresh() {
    this.lastFetch = Date.now();
    try {
      const jwks = await this.source.fetch();
      const next = new Map<string, KeyObject>();
      for (const jwk of jwks.keys ?? []) if (jwk.kid) next.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
      this.keys = next;
      this.loaded = true;
      this.lastFetchFailed = false;
    } catch (e) {
      this.lastFetchFailed = true;
      this.log.warn({ msg: 'could not fetch JWKS', err: String(e) });
    }
  }
}

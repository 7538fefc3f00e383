import { Inject, Injectable, Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { KeyObject, createPublicKey, type JsonWebKey } from 'node:crypto';
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

/** Verifies access tokens with public keys only; unknown kids trigger a (throttled) refetch. */
@Injectable()
export class TokenVerifier {
  private readonly log = new Logger('auth');
  private keys = new Map<string, KeyObject>();
  private lastFetch = 0;
  private fetching?: Promise<void>;

  constructor(
    private readonly jwt: JwtService,
    @Inject(JWKS_SOURCE) private readonly source: JwksSource,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async verify(token: unknown): Promise<AuthUser> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) throw new InvalidToken('missing token');
    const decoded = this.jwt.decode<{ header?: { kid?: string; alg?: string } } | null>(token, { complete: true });
    const kid = decoded?.header?.kid;
    if (!kid || decoded?.header?.alg !== 'ES256') throw new InvalidToken('malformed token');
    const key = await this.key(kid);
    if (!key) throw new InvalidToken('unknown key');
    try {
      const claims = await this.jwt.verifyAsync<{ sub: string; username: string; displayName: string }>(token, {
        publicKey: key as unknown as string,
        algorithms: ['ES256'],
        issuer: this.config.JWT_ISSUER,
        audience: this.config.JWT_AUDIENCE,
      });
      if (typeof claims.sub !== 'string' || typeof claims.username !== 'string') throw new InvalidToken('bad claims');
      return { id: claims.sub, username: claims.username, displayName: claims.displayName ?? claims.username };
    } catch (e) {
      throw new InvalidToken((e as Error).message);
    }
  }

  private async key(kid: string): Promise<KeyObject | undefined> {
    if (!this.keys.has(kid) && Date.now() - this.lastFetch > 10_000) {
      this.fetching ??= this.refresh().finally(() => (this.fetching = undefined));
      await this.fetching;
    }
    return this.keys.get(kid);
  }

  private async refresh() {
    this.lastFetch = Date.now();
    try {
      const jwks = await this.source.fetch();
      const next = new Map<string, KeyObject>();
      for (const jwk of jwks.keys ?? []) if (jwk.kid) next.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
      this.keys = next;
    } catch (e) {
      this.log.warn({ msg: 'could not fetch JWKS', err: String(e) });
    }
  }
}

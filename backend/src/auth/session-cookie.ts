import { ForbiddenException, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InjectConfig } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import { ValidationFailed } from '../common/http/errors.js';
import type { AuthResult, BrowserAuthResult } from '../contract/events.js';

/** The header a browser sends to keep its refresh token in the cookie (and out of JavaScript). */
export const SESSION_HEADER = 'x-chat-session';
export const SESSION_COOKIE = 'chat_refresh';
const COOKIE_PATH = '/api/auth';

/**
 * Where a refresh token travels. Browser clients send `X-Chat-Session: cookie`: the token is
 * then set as an HttpOnly, SameSite=Strict cookie scoped to /api/auth (Secure when the request
 * came over TLS, directly or per X-Forwarded-Proto from a trusted proxy) and left out of the
 * JSON; refresh and logout read it from the cookie. The cookie is only honoured with that
 * header (a cross-site form cannot set it, and a cross-site script needs a CORS preflight the
 * server refuses) and from this origin or a CORS_ORIGIN. Without the header the contract's
 * body token is used, as before, for non-browser clients.
 */
@Injectable()
export class SessionCookie {
  private readonly origins: Set<string>;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    this.origins = new Set(
      (config.CORS_ORIGIN ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  }

  /** The refresh token of a refresh or logout call. */
  presented(req: Request, body: { refreshToken?: string }): string {
    if (body.refreshToken !== undefined) return body.refreshToken;
    if (!this.cookieMode(req)) throw new ValidationFailed([{ field: 'refreshToken', message: 'is required' }]);
    this.checkOrigin(req);
    return readCookie(req.headers.cookie, SESSION_COOKIE) ?? '';
  }

  /** The answer of register, login and refresh: in cookie mode the refresh token goes to the cookie only. */
  deliver(req: Request, res: Response, result: AuthResult): AuthResult | BrowserAuthResult {
    if (!this.cookieMode(req)) return result;
    this.checkOrigin(req);
    const { refreshToken, ...rest } = result;
    res.cookie(SESSION_COOKIE, refreshToken, { ...this.options(req), maxAge: this.config.REFRESH_TOKEN_TTL_SECONDS! * 1000 });
    return rest;
  }

  clear(req: Request, res: Response) {
    if (this.cookieMode(req)) res.clearCookie(SESSION_COOKIE, this.options(req));
  }

  private cookieMode(req: Request) {
    return req.get(SESSION_HEADER) === 'cookie';
  }

  private options(req: Request) {
    return { httpOnly: true, secure: req.secure, sameSite: 'strict' as const, path: COOKIE_PATH };
  }

  /**
   * A browser names the page's origin; its host must be the one the request was sent to (or
   * the origin an allowed one). Host names only: behind the gateway and an ingress the scheme
   * and port the browser used are not the ones this process sees.
   */
  private checkOrigin(req: Request) {
    const origin = req.get('origin');
    if (origin === undefined || this.origins.has(origin)) return;
    let host: string | undefined;
    try {
      host = new URL(origin).hostname;
    } catch {
      host = undefined;
    }
    if (host !== undefined && host === req.hostname) return;
    throw new ForbiddenException('Cross-site session request refused');
  }
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

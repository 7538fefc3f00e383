import { CanActivate, ExecutionContext, Injectable, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { IS_PUBLIC, type AuthUser } from './public.decorator.js';
import { SessionRevocations } from './session-revocations.js';
import { TokenVerifier } from './token-verifier.js';

/**
 * Global guard: every route needs a valid Bearer token unless marked @Public(), of a session
 * that has not ended (logout or refresh-token reuse end it at once, not when the token expires).
 */
@Injectable()
export class TokenAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: TokenVerifier,
    private readonly revocations: SessionRevocations,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<Request & { user?: AuthUser }>();
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    if (scheme !== 'Bearer' || !token) throw new UnauthorizedException('Missing bearer token');
    let user: AuthUser;
    try {
      user = await this.verifier.verify(token);
    } catch {
      throw new UnauthorizedException('Invalid or expired token');
    }
    let revoked: boolean;
    try {
      revoked = await this.revocations.isRevoked(user.sessionId);
    } catch {
      // Redis unreachable: refuse rather than let an ended session through.
      throw new ServiceUnavailableException('Session store unavailable');
    }
    if (revoked) throw new UnauthorizedException('Session ended');
    req.user = user;
    return true;
  }
}

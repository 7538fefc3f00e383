import { SetMetadata, createParamDecorator, ExecutionContext } from '@nestjs/common';

export const IS_PUBLIC = 'isPublic';
/** Opts a route out of the global token guard. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The verified token's subject, as users and chat see it. */
export interface AuthUser {
  id: string;
  username: string;
  displayName: string;
  /** The token family (login session) the access token belongs to, when it names one. */
  sessionId?: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt?: number;
}

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => {
  return ctx.switchToHttp().getRequest<{ user: AuthUser }>().user;
});

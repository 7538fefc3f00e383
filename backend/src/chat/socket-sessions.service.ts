import { Injectable, Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import type { AuthUser } from '../common/auth/public.decorator.js';
import { SessionRevocations } from '../common/auth/session-revocations.js';
import { InvalidToken, TokenVerifier } from '../common/auth/token-verifier.js';
import { InjectConfig } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../contract/events.js';
import type { ChatServer } from './realtime.service.js';

type AuthedSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { user: AuthUser }>;
export const sessionChannel = (sessionId: string) => `session:${sessionId}`;
// setTimeout holds at most 2^31-1 ms; a longer wait is re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A socket lives only as long as its access token and its login session. At expiry it is told
 * (`auth:expired`) and has SOCKET_REAUTH_GRACE_MS to send `auth:refresh` with a new token for
 * the same user, or it is disconnected. A revoked session (logout, refresh-token reuse) is
 * refused at the handshake and its open sockets are disconnected on every replica.
 */
@Injectable()
export class SocketSessions {
  private readonly log = new Logger('socket');
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly revocations: SessionRevocations,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  attach(server: ChatServer) {
    // Every replica hears every revocation and cuts its own sockets of that session.
    this.revocations
      .onRevoked(({ sessionId }) => server.local.in(sessionChannel(sessionId)).disconnectSockets(true))
      .catch((e) => this.log.warn({ msg: 'could not subscribe to revocations', err: String(e) }));
  }

  /** The handshake's token: verified, and of a session that has not ended. */
  async authenticate(token: unknown): Promise<AuthUser> {
    const user = await this.verifier.verify(token);
    if (await this.revocations.isRevoked(user.sessionId)) throw new InvalidToken('session ended');
    return user;
  }

  /** After connect: the socket joins its session's channel and its expiry is armed. */
  watch(socket: AuthedSocket) {
    const { sessionId } = socket.data.user;
    if (sessionId) void socket.join(sessionChannel(sessionId));
    this.arm(socket);
    socket.on('disconnect', () => this.disarm(socket.id));
  }

  /** `auth:refresh`: a new token for the same user renews the connection. */
  async reauth(socket: AuthedSocket, token: string): Promise<Ack<{ expiresAt: string }>> {
    let user: AuthUser;
    try {
      user = await this.authenticate(token);
    } catch (e) {
      if (!(e instanceof InvalidToken)) throw e;
      return { ok: false, error: { code: 'unauthorized', message: 'Invalid or expired token' } };
    }
    if (user.id !== socket.data.user.id) return { ok: false, error: { code: 'unauthorized', message: 'Token of another user' } };
    if (!socket.connected) return { ok: false, error: { code: 'unauthorized', message: 'Disconnected' } };
    const before = socket.data.user.sessionId;
    if (before !== user.sessionId) {
      if (before) void socket.leave(sessionChannel(before));
      if (user.sessionId) void socket.join(sessionChannel(user.sessionId));
    }
    socket.data.user = user;
    this.arm(socket);
    return { ok: true, expiresAt: new Date(user.expiresAt!).toISOString() };
  }

  private arm(socket: AuthedSocket) {
    this.disarm(socket.id);
    const expiresAt = socket.data.user.expiresAt ?? Date.now();
    const wait = expiresAt - Date.now();
    if (wait > MAX_TIMER_MS) {
      this.timers.set(
        socket.id,
        setTimeout(() => this.arm(socket), MAX_TIMER_MS),
      );
      return;
    }
    this.timers.set(
      socket.id,
      setTimeout(() => this.expired(socket), Math.max(0, wait)),
    );
  }

  private expired(socket: AuthedSocket) {
    const graceMs = this.config.SOCKET_REAUTH_GRACE_MS ?? 10_000;
    socket.emit('auth:expired', { graceMs });
    this.timers.set(
      socket.id,
      setTimeout(() => {
        this.timers.delete(socket.id);
        socket.disconnect(true);
      }, graceMs),
    );
  }

  private disarm(id: string) {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }
}

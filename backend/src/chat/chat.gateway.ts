import { Logger } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { InvalidToken } from '../common/auth/token-verifier.js';
import { InjectConfig } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import type { AuthUser } from '../common/auth/public.decorator.js';
import { MetricsService } from '../common/metrics/metrics.service.js';
import { enforceSendBudget } from '../common/ws/send-budget.js';
import { CLIENT_EVENTS, type Ack, type AckError, type ClientToServerEvents, type ServerToClientEvents } from '../contract/events.js';
import { AuthRefreshPayload, ReadPayload, SendPayload, SyncPayload, TypingPayload } from '../contract/schemas.js';
import { ChatService } from './chat.service.js';
import { PresenceService } from './presence.service.js';
import { ChatServer, RealtimeService, roomChannel, userChannel } from './realtime.service.js';
import { ackError, parsePayload } from './socket-ack.js';
import { SocketSessions } from './socket-sessions.service.js';

type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { user: AuthUser; rooms: string[] }>;

// Frames above this close the connection (engine.io); bodies above 4000 chars get a too_large ack.
export const MAX_FRAME_BYTES = 64 * 1024;

const KNOWN_EVENTS: ReadonlySet<unknown> = new Set(CLIENT_EVENTS);
const UNKNOWN_EVENT: AckError = { ok: false, error: { code: 'bad_request', message: 'Unknown event' } };

/** Socket.IO entry: WebSocket transport only, token checked at the handshake. Thin: the service decides. */
@WebSocketGateway({ path: '/socket.io', transports: ['websocket'], maxHttpBufferSize: MAX_FRAME_BYTES, pingInterval: 20_000, pingTimeout: 20_000 })
export class ChatGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly log = new Logger('socket');

  constructor(
    private readonly chat: ChatService,
    private readonly realtime: RealtimeService,
    private readonly presence: PresenceService,
    private readonly sessions: SocketSessions,
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  afterInit(server: ChatServer) {
    this.realtime.attach(server);
    this.sessions.attach(server);
    // Users left behind by a replica that went away, and who did not come back elsewhere.
    this.presence.onOffline((userId) => {
      this.chat.roomIdsOf(userId).then(
        (rooms) => this.realtime.presenceToRooms(rooms, userId, false),
        (e) => this.log.warn({ msg: 'offline broadcast failed', err: String(e) }),
      );
    });
    // Rooms are looked up before the connection completes, so the socket is subscribed
    // by the time the client sees `connect` and emits its first event.
    server.use((socket, next) => {
      this.sessions
        .authenticate((socket.handshake.auth as { token?: unknown } | undefined)?.token)
        .then(async (user) => {
          (socket as ChatSocket).data.user = user;
          (socket as ChatSocket).data.rooms = await this.chat.roomIdsOf(user.id);
          next();
        })
        .catch((e) => next(new Error(e instanceof InvalidToken ? 'unauthorized' : 'unavailable')));
    });
  }

  async handleConnection(socket: ChatSocket) {
    const { user, rooms } = socket.data;
    if (!user) return socket.disconnect(true);
    // An event outside the contract still gets an answer when the client asked for one.
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const ack = args.at(-1);
      if (KNOWN_EVENTS.has(event) || typeof ack !== 'function') return;
      this.metrics.socketEvents.inc({ event: 'unknown', outcome: 'bad_request' });
      ack(UNKNOWN_EVENT);
    });
    this.metrics.socketConnections.inc();
    enforceSendBudget(socket, this.config.SOCKET_MAX_QUEUED_BYTES ?? 2_097_152, (bytes) => {
      this.metrics.socketsCut.inc();
      this.log.warn({ msg: 'socket cut: its client left too much unread', userId: user.id, bytes });
    });
    this.sessions.watch(socket);
    void socket.join([userChannel(user.id), ...rooms.map(roomChannel)]);
    // Rooms were looked up before this socket joined its user channel: a leave, removal or
    // join in between could not reach it. Looked up again now, the difference is applied here.
    void this.chat.roomIdsOf(user.id).then(
      (now) => {
        const current = new Set(now);
        for (const id of rooms) if (!current.has(id)) void socket.leave(roomChannel(id));
        const before = new Set(rooms);
        for (const id of now) if (!before.has(id)) void socket.join(roomChannel(id));
      },
      (e) => this.log.warn({ msg: 'room re-check failed', err: String(e) }),
    );
    let registered: Promise<boolean> | undefined;
    socket.on('disconnecting', () => {
      const current = [...socket.rooms].filter((r) => r.startsWith('room:')).map((r) => r.slice(5));
      // Wait for the connect bookkeeping so a quick disconnect is not counted before it.
      void (registered ?? Promise.resolve(false))
        .then(() => this.presence.disconnected(user.id, socket.id))
        .then((last) => last && this.realtime.presenceToRooms(current, user.id, false))
        .catch((e) => this.log.warn({ msg: 'presence update failed', err: String(e) }));
    });
    try {
      registered = this.presence.connected(user.id, socket.id);
      if (await registered) this.realtime.presenceToRooms(rooms, user.id, true);
      // A snapshot of who among the roommates is online right now.
      for (const other of await this.presence.onlineAmong(await this.chat.roommatesOf(user.id))) socket.emit('presence', { userId: other, online: true });
    } catch (e) {
      this.log.warn({ msg: 'presence snapshot failed', err: String(e) });
    }
  }

  handleDisconnect() {
    this.metrics.socketConnections.dec();
  }

  @SubscribeMessage('message:send')
  send(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: unknown) {
    return this.handle('message:send', SendPayload, payload, async (p) => {
      const { message } = await this.chat.send(socket.data.user, p.roomId, p.body, p.clientId, p.threadId, p.attachments);
      return { ok: true as const, message };
    });
  }

  @SubscribeMessage('typing')
  typing(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: unknown) {
    return this.handle('typing', TypingPayload, payload, async (p) => {
      // Membership is mirrored by the socket's rooms, so typing needs no database round trip.
      if (!socket.rooms.has(roomChannel(p.roomId))) return { ok: false as const, error: { code: 'not_found' as const, message: 'No such room' } };
      const { id, username } = socket.data.user;
      socket.to(roomChannel(p.roomId)).emit('typing', { roomId: p.roomId, userId: id, username, typing: p.typing });
      return { ok: true as const };
    });
  }

  @SubscribeMessage('read')
  read(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: unknown) {
    return this.handle('read', ReadPayload, payload, async (p) => {
      await this.chat.markRead(socket.data.user.id, p.roomId, p.seq);
      return { ok: true as const };
    });
  }

  @SubscribeMessage('sync')
  sync(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: unknown) {
    return this.handle('sync', SyncPayload, payload, async (p) => ({ ok: true as const, rooms: await this.chat.sync(socket.data.user.id, p.rooms) }));
  }

  @SubscribeMessage('auth:refresh')
  reauth(@ConnectedSocket() socket: ChatSocket, @MessageBody() payload: unknown) {
    return this.handle('auth:refresh', AuthRefreshPayload, payload, (p) => this.sessions.reauth(socket, p.token));
  }

  private async handle<S extends z.ZodType, R extends object>(
    event: string,
    schema: S,
    payload: unknown,
    run: (p: z.infer<S>) => Promise<Ack<R> | R>,
  ): Promise<Ack<R> | R> {
    const parsed = parsePayload(schema, payload);
    if ('error' in parsed) {
      this.metrics.socketEvents.inc({ event, outcome: parsed.error.error.code });
      return parsed.error;
    }
    try {
      const result = await run(parsed.data);
      this.metrics.socketEvents.inc({ event, outcome: 'ok' });
      return result;
    } catch (e) {
      const err = ackError(e);
      this.metrics.socketEvents.inc({ event, outcome: err.error.code });
      return err;
    }
  }
}

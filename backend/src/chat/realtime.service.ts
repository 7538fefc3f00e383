import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Server } from 'socket.io';
import { PresenceService } from './presence.service.js';
import type { ClientToServerEvents, Member, Message, Room, ServerToClientEvents } from '../contract/events.js';

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents>;
export const roomChannel = (roomId: string) => `room:${roomId}`;
export const userChannel = (userId: string) => `user:${userId}`;

/**
 * Fan-out of chat events. Socket.IO rooms name the audience (`room:<id>`, `user:<id>`),
 * so the same calls reach every replica once an adapter shares them.
 */
@Injectable()
export class RealtimeService implements OnModuleDestroy {
  private server?: ChatServer;
  private readonly log = new Logger('realtime');

  constructor(private readonly presence: PresenceService) {}

  attach(server: ChatServer) {
    this.server = server;
  }

  messageNew(m: Message) {
    this.server?.to(roomChannel(m.roomId)).emit('message:new', m);
  }

  messageUpdated(m: Message) {
    this.server?.to(roomChannel(m.roomId)).emit('message:updated', m);
  }

  /** Subscribes every socket of the user to the room, then tells them about it. */
  roomAdded(userId: string, room: Room) {
    if (!this.server) return;
    this.server.in(userChannel(userId)).socketsJoin(roomChannel(room.id));
    this.server.to(userChannel(userId)).emit('room:added', room);
  }

  /** Each user's own view of a room (name, topic, their role or settings changed). */
  roomUpdated(views: Array<{ userId: string; room: Room }>) {
    for (const { userId, room } of views) this.server?.to(userChannel(userId)).emit('room:updated', room);
  }

  memberJoined(roomId: string, member: Member) {
    this.server?.to(roomChannel(roomId)).emit('member:joined', { roomId, member });
  }

  memberUpdated(roomId: string, member: Member) {
    this.server?.to(roomChannel(roomId)).emit('member:updated', { roomId, member });
  }

  /**
   * The user left the room or was removed: every socket of theirs, on every replica, leaves
   * the room's channel before this resolves; then the room hears `member:left` and the user
   * `room:removed`. The Redis adapter only publishes a leave request (even to this replica),
   * so the local sockets leave here at once, and a fetchSockets round trip on the same request
   * channel serves as a barrier: each replica answers it only after handling the leave.
   */
  async memberRemoved(userId: string, roomId: string, removedBy: string | null) {
    const server = this.server;
    if (!server) return;
    server.local.in(userChannel(userId)).socketsLeave(roomChannel(roomId));
    server.in(userChannel(userId)).socketsLeave(roomChannel(roomId));
    try {
      await server.in(userChannel(userId)).fetchSockets();
    } catch (e) {
      // A replica that did not answer in time (it is going away); its sockets will reconnect.
      this.log.warn({ msg: 'leave barrier incomplete', err: String(e) });
    }
    server.to(roomChannel(roomId)).emit('member:left', { roomId, userId, removedBy });
    server.to(userChannel(userId)).emit('room:removed', { roomId });
  }

  onlineAmong(userIds: string[]): Promise<string[]> {
    return this.presence.onlineAmong(userIds);
  }

  /** A user newly shares a room: each side learns whether the other is online (one lookup). */
  async introduce(userId: string, roomId: string, memberIds: string[]) {
    if (!this.server) return;
    const online = await this.presence.onlineAmong([...new Set([userId, ...memberIds])]);
    for (const id of online) {
      if (id === userId) this.presenceToRooms([roomId], userId, true);
      else this.server.to(userChannel(userId)).emit('presence', { userId: id, online: true });
    }
  }

  presenceToRooms(roomIds: string[], userId: string, online: boolean) {
    if (!this.server || roomIds.length === 0) return;
    this.server.to(roomIds.map(roomChannel)).emit('presence', { userId, online });
  }

  /**
   * On shutdown (after writes drained) drop every local connection at the transport level:
   * unlike a server-side "disconnect", clients then reconnect on their own, to another replica.
   */
  onModuleDestroy() {
    for (const socket of this.server?.of('/').sockets.values() ?? []) socket.conn.close();
  }
}

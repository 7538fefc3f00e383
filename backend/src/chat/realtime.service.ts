import { Injectable, OnModuleDestroy } from '@nestjs/common';
import type { Server } from 'socket.io';
import { PresenceService } from './presence.service.js';
import type { ClientToServerEvents, Message, Room, ServerToClientEvents } from '../contract/events.js';

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

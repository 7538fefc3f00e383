import { Module } from '@nestjs/common';
import { ChatController } from './chat.controller.js';
import { ChatGateway } from './chat.gateway.js';
import { ChatService } from './chat.service.js';
import { PresenceService } from './presence.service.js';
import { RealtimeService } from './realtime.service.js';
import { RoomsController } from './rooms.controller.js';
import { RoomsService } from './rooms.service.js';
import { SearchService } from './search.service.js';
import { SocketSessions } from './socket-sessions.service.js';

@Module({
  controllers: [ChatController, RoomsController],
  providers: [ChatService, RoomsService, ChatGateway, RealtimeService, PresenceService, SocketSessions, SearchService],
})
export class ChatModule {}

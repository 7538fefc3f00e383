import { Module } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import { ChatController } from './chat.controller.js';
import { ChatGateway } from './chat.gateway.js';
import { ChatService } from './chat.service.js';
import { PresenceService } from './presence.service.js';
import { RealtimeService } from './realtime.service.js';
import { RoomsController } from './rooms.controller.js';
import { RoomsService } from './rooms.service.js';
import { SearchService } from './search.service.js';
import { SocketSessions } from './socket-sessions.service.js';
import { PostgresStorage, S3Storage, UPLOAD_STORAGE } from './uploads/storage.js';
import { UploadsController } from './uploads/uploads.controller.js';
import { UploadsService } from './uploads/uploads.service.js';

@Module({
  controllers: [ChatController, RoomsController, UploadsController],
  providers: [
    ChatService,
    RoomsService,
    ChatGateway,
    RealtimeService,
    PresenceService,
    SocketSessions,
    SearchService,
    UploadsService,
    {
      provide: UPLOAD_STORAGE,
      inject: [APP_CONFIG, getDataSourceToken()],
      useFactory: (config: AppConfig, db: DataSource) => (config.UPLOAD_STORAGE === 's3' ? new S3Storage(config) : new PostgresStorage(db)),
    },
  ],
})
export class ChatModule {}

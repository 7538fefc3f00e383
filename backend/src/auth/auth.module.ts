import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { KeysService } from './keys.service.js';
import { SessionCookie } from './session-cookie.js';

@Module({
  imports: [JwtModule.register({})],
  controllers: [AuthController],
  providers: [AuthService, KeysService, SessionCookie],
  exports: [KeysService],
})
export class AuthModule {}

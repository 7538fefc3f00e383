import { Body, Controller, Get, HttpCode, Ip, Post } from '@nestjs/common';
import type { z } from 'zod';
import { Public } from '../common/auth/public.decorator.js';
import { ZodPipe } from '../common/http/zod.pipe.js';
import { LoginBody, RefreshBody, RegisterBody } from '../contract/schemas.js';
import { AuthService } from './auth.service.js';
import { KeysService } from './keys.service.js';

@Public()
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly keys: KeysService,
  ) {}

  @Post('register')
  register(@Body(new ZodPipe(RegisterBody)) body: z.infer<typeof RegisterBody>, @Ip() ip: string) {
    return this.auth.register(body, ip);
  }

  @Post('login')
  @HttpCode(200)
  login(@Body(new ZodPipe(LoginBody)) body: z.infer<typeof LoginBody>, @Ip() ip: string) {
    return this.auth.login(body, ip);
  }

  @Post('refresh')
  @HttpCode(200)
  refresh(@Body(new ZodPipe(RefreshBody)) body: z.infer<typeof RefreshBody>) {
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Body(new ZodPipe(RefreshBody)) body: z.infer<typeof RefreshBody>) {
    await this.auth.logout(body.refreshToken);
  }

  @Get('jwks.json')
  jwks() {
    return this.keys.publicJwks();
  }
}

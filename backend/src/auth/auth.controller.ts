import { Body, Controller, Get, HttpCode, Ip, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { Public } from '../common/auth/public.decorator.js';
import { ZodPipe } from '../common/http/zod.pipe.js';
import { LoginBody, RegisterBody, SessionBody } from '../contract/schemas.js';
import { AuthService } from './auth.service.js';
import { KeysService } from './keys.service.js';
import { SessionCookie } from './session-cookie.js';

@Public()
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly keys: KeysService,
    private readonly cookie: SessionCookie,
  ) {}

  @Post('register')
  async register(
    @Body(new ZodPipe(RegisterBody)) body: z.infer<typeof RegisterBody>,
    @Ip() ip: string,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.cookie.deliver(req, res, await this.auth.register(body, ip));
  }

  @Post('login')
  @HttpCode(200)
  async login(@Body(new ZodPipe(LoginBody)) body: z.infer<typeof LoginBody>, @Ip() ip: string, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.cookie.deliver(req, res, await this.auth.login(body, ip));
  }

  @Post('refresh')
  @HttpCode(200)
  async refresh(@Body(new ZodPipe(SessionBody)) body: z.infer<typeof SessionBody>, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.cookie.deliver(req, res, await this.auth.refresh(this.cookie.presented(req, body)));
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Body(new ZodPipe(SessionBody)) body: z.infer<typeof SessionBody>, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.auth.logout(this.cookie.presented(req, body));
    this.cookie.clear(req, res);
  }

  @Get('jwks.json')
  jwks() {
    return this.keys.publicJwks();
  }
}

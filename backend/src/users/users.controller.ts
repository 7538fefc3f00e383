import { Body, Controller, Get, Patch, Query } from '@nestjs/common';
import { CurrentUser, type AuthUser } from '../common/auth/public.decorator.js';
import { ZodPipe } from '../common/http/zod.pipe.js';
import { UpdateProfileBody, UserSearchQuery } from '../contract/schemas.js';
import type { z } from 'zod';
import { UsersService } from './users.service.js';
import { UuidParam } from '../common/http/params.js';

@Controller('api/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  me(@CurrentUser() user: AuthUser) {
    return this.users.get(user.id);
  }

  @Patch('me')
  update(@CurrentUser() user: AuthUser, @Body(new ZodPipe(UpdateProfileBody)) body: z.infer<typeof UpdateProfileBody>) {
    return this.users.updateDisplayName(user.id, body.displayName);
  }

  @Get()
  search(@CurrentUser() user: AuthUser, @Query(new ZodPipe(UserSearchQuery)) q: z.infer<typeof UserSearchQuery>) {
    return this.users.search(user.id, q.query, q.limit);
  }

  @Get(':id')
  get(@UuidParam() id: string) {
    return this.users.get(id);
  }
}

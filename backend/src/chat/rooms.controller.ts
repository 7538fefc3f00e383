import { Body, Controller, Delete, Get, HttpCode, Patch, Query } from '@nestjs/common';
import type { z } from 'zod';
import { CurrentUser, type AuthUser } from '../common/auth/public.decorator.js';
import { UuidParam as Id } from '../common/http/params.js';
import { ZodPipe } from '../common/http/zod.pipe.js';
import { MembersQuery, RoomSettingsBody, UpdateMemberBody, UpdateRoomBody } from '../contract/schemas.js';
import { RoomsService } from './rooms.service.js';

/** Rooms and people (Version 2): members, rename and topic, leave, remove, roles, my settings. */
@Controller('api/chat')
export class RoomsController {
  constructor(private readonly rooms: RoomsService) {}

  @Get('rooms/:id/members')
  members(@CurrentUser() user: AuthUser, @Id() id: string, @Query(new ZodPipe(MembersQuery)) q: z.infer<typeof MembersQuery>) {
    return this.rooms.members(user.id, id, q);
  }

  @Patch('rooms/:id')
  update(@CurrentUser() user: AuthUser, @Id() id: string, @Body(new ZodPipe(UpdateRoomBody)) body: z.infer<typeof UpdateRoomBody>) {
    return this.rooms.update(user, id, body);
  }

  @Patch('rooms/:id/settings')
  settings(@CurrentUser() user: AuthUser, @Id() id: string, @Body(new ZodPipe(RoomSettingsBody)) body: z.infer<typeof RoomSettingsBody>) {
    return this.rooms.settings(user, id, body);
  }

  // Declared before members/:userId so "me" is not parsed as an id.
  @Delete('rooms/:id/members/me')
  @HttpCode(204)
  async leave(@CurrentUser() user: AuthUser, @Id() id: string) {
    await this.rooms.leave(user, id);
  }

  @Delete('rooms/:id/members/:userId')
  @HttpCode(204)
  async remove(@CurrentUser() user: AuthUser, @Id() id: string, @Id('userId') userId: string) {
    await this.rooms.remove(user, id, userId);
  }

  @Patch('rooms/:id/members/:userId')
  setRole(
    @CurrentUser() user: AuthUser,
    @Id() id: string,
    @Id('userId') userId: string,
    @Body(new ZodPipe(UpdateMemberBody)) body: z.infer<typeof UpdateMemberBody>,
  ) {
    return this.rooms.setRole(user, id, userId, body.role);
  }
}

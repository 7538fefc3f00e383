import { Body, Controller, Delete, Get, HttpCode, Param, Patch, PipeTransform, Post, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { z } from 'zod';
import { CurrentUser, type AuthUser } from '../common/auth/public.decorator.js';
import { ValidationFailed } from '../common/http/errors.js';
import { UuidParam as Id } from '../common/http/params.js';
import { ZodPipe } from '../common/http/zod.pipe.js';
import {
  AddMemberBody,
  CreateRoomBody,
  DirectBody,
  EditBody,
  HistoryQuery,
  isOneEmoji,
  PublicRoomsQuery,
  ReadBody,
  SearchQuery,
  SendBody,
  ThreadQuery,
} from '../contract/schemas.js';
import { ChatService } from './chat.service.js';
import { SearchService } from './search.service.js';

/** The `:emoji` path segment (URL-decoded by the router): exactly one emoji grapheme, else 400. */
class EmojiPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value === 'string' && isOneEmoji(value)) return value;
    throw new ValidationFailed(
      [{ field: 'emoji', message: 'must be exactly one emoji: one pictograph (with its skin tone, ZWJ sequence or tags), one flag or one keycap' }],
      'emoji must be exactly one emoji',
    );
  }
}

@Controller('api/chat')
export class ChatController {
  constructor(
    private readonly chat: ChatService,
    private readonly searcher: SearchService,
  ) {}

  @Get('search')
  search(@CurrentUser() user: AuthUser, @Query(new ZodPipe(SearchQuery)) q: z.infer<typeof SearchQuery>) {
    return this.searcher.search(user.id, q);
  }

  @Post('rooms')
  create(@CurrentUser() user: AuthUser, @Body(new ZodPipe(CreateRoomBody)) body: z.infer<typeof CreateRoomBody>) {
    return this.chat.createRoom(user, body.name, body.kind);
  }

  @Get('rooms')
  mine(@CurrentUser() user: AuthUser) {
    return this.chat.myRooms(user.id);
  }

  @Get('rooms/public')
  discover(@CurrentUser() user: AuthUser, @Query(new ZodPipe(PublicRoomsQuery)) q: z.infer<typeof PublicRoomsQuery>) {
    return this.chat.publicRooms(user.id, q.query);
  }

  @Post('rooms/:id/join')
  @HttpCode(200)
  join(@CurrentUser() user: AuthUser, @Id() id: string) {
    return this.chat.join(user, id);
  }

  @Post('rooms/:id/members')
  addMember(@CurrentUser() user: AuthUser, @Id() id: string, @Body(new ZodPipe(AddMemberBody)) body: z.infer<typeof AddMemberBody>) {
    return this.chat.addMember(user, id, body.userId);
  }

  @Post('direct')
  @HttpCode(200)
  direct(@CurrentUser() user: AuthUser, @Body(new ZodPipe(DirectBody)) body: z.infer<typeof DirectBody>) {
    return this.chat.direct(user, body.userId);
  }

  @Get('rooms/:id/messages')
  history(@CurrentUser() user: AuthUser, @Id() id: string, @Query(new ZodPipe(HistoryQuery)) q: z.infer<typeof HistoryQuery>) {
    return this.chat.history(user.id, id, q);
  }

  @Post('rooms/:id/messages')
  async send(
    @CurrentUser() user: AuthUser,
    @Id() id: string,
    @Body(new ZodPipe(SendBody)) body: z.infer<typeof SendBody>,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { message, created } = await this.chat.send(user, id, body.body, body.clientId, body.threadId, body.attachments);
    // A repeated clientId answers with the stored message; 200 tells the client it was a replay.
    res.status(created ? 201 : 200);
    return message;
  }

  @Patch('messages/:id')
  edit(@CurrentUser() user: AuthUser, @Id() id: string, @Body(new ZodPipe(EditBody)) body: z.infer<typeof EditBody>) {
    return this.chat.edit(user.id, id, body.body);
  }

  @Delete('messages/:id')
  @HttpCode(204)
  async remove(@CurrentUser() user: AuthUser, @Id() id: string) {
    await this.chat.remove(user.id, id);
  }

  @Get('messages/:id/thread')
  thread(@CurrentUser() user: AuthUser, @Id() id: string, @Query(new ZodPipe(ThreadQuery)) q: z.infer<typeof ThreadQuery>) {
    return this.chat.thread(user.id, id, q);
  }

  @Put('messages/:id/reactions/:emoji')
  react(@CurrentUser() user: AuthUser, @Id() id: string, @Param('emoji', new EmojiPipe()) emoji: string) {
    return this.chat.react(user.id, id, emoji, true);
  }

  @Delete('messages/:id/reactions/:emoji')
  @HttpCode(200)
  unreact(@CurrentUser() user: AuthUser, @Id() id: string, @Param('emoji', new EmojiPipe()) emoji: string) {
    return this.chat.react(user.id, id, emoji, false);
  }

  /** No emoji at all (an empty path segment): the same 400 as a bad one, not a 404. */
  @Put('messages/:id/reactions')
  noEmoji(@Id() _id: string, @Param('emoji', new EmojiPipe()) emoji: string) {
    return emoji;
  }

  @Delete('messages/:id/reactions')
  noEmojiDelete(@Id() _id: string, @Param('emoji', new EmojiPipe()) emoji: string) {
    return emoji;
  }

  @Post('rooms/:id/read')
  @HttpCode(204)
  async read(@CurrentUser() user: AuthUser, @Id() id: string, @Body(new ZodPipe(ReadBody)) body: z.infer<typeof ReadBody>) {
    await this.chat.markRead(user.id, id, body.seq);
  }
}

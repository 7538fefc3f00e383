import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CurrentUser, type AuthUser } from '../../common/auth/public.decorator.js';
import { UuidParam as Id } from '../../common/http/params.js';
import { contentDisposition, IMAGE_TYPES } from './file-types.js';
import { type Served, UploadsService } from './uploads.service.js';

/** Served files may be opened directly: nothing in them runs (the gateway sends the same: docker/nginx). */
export const FILE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox";

@Controller('api/chat')
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  /** Multipart with one field `file`; the body is streamed by the service (no body parser runs on it). */
  @Post('rooms/:id/uploads')
  upload(@CurrentUser() user: AuthUser, @Id() id: string, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.uploads.receive(user, id, req).catch((e: unknown) => {
      // Refused before the whole body was read: the rest is not worth keeping the connection for.
      if (!req.complete) res.setHeader('Connection', 'close');
      throw e;
    });
  }

  @Get('uploads/:id')
  async download(@CurrentUser() user: AuthUser, @Id() id: string, @Res() res: Response) {
    await send(res, await this.uploads.open(user.id, id), false);
  }

  @Get('uploads/:id/thumbnail')
  async thumbnail(@CurrentUser() user: AuthUser, @Id() id: string, @Res() res: Response) {
    await send(res, await this.uploads.openThumbnail(user.id, id), true);
  }
}

async function send(res: Response, served: Served, thumbnail: boolean) {
  const { upload, body, contentType } = served;
  const image = IMAGE_TYPES.has(contentType);
  res.status(200);
  res.setHeader('Content-Type', contentType === 'text/plain' ? 'text/plain; charset=utf-8' : contentType);
  if (Buffer.isBuffer(body)) res.setHeader('Content-Length', String(body.length));
  else res.setHeader('Content-Length', String(upload.size));
  res.setHeader('Content-Disposition', contentDisposition(image ? 'inline' : 'attachment', thumbnail ? `thumbnail-${upload.name}` : upload.name));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', FILE_CSP);
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  // Never changes (a new file is a new id); only this user's browser may keep it.
  res.setHeader('Cache-Control', 'private, max-age=86400, immutable');
  if (Buffer.isBuffer(body)) {
    res.end(body);
    return;
  }
  await pipeline(body as Readable, res).catch(() => res.destroy());
}

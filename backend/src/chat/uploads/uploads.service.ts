import { BadRequestException, ForbiddenException, Inject, Injectable, Logger, NotFoundException, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import busboy from 'busboy';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import sharp from 'sharp';
import type { DataSource } from 'typeorm';
import type { AuthUser } from '../../common/auth/public.decorator.js';
import { InjectConfig } from '../../common/config/config.module.js';
import type { AppConfig } from '../../common/config/config.schema.js';
import { returning } from '../../common/database/sql.js';
import { Busy, PayloadTooLarge, UnsupportedType, ValidationFailed } from '../../common/http/errors.js';
import type { Upload } from '../../contract/events.js';
import { memberRoom, type Queryable } from '../room-access.js';
import { cleanName, IMAGE_TYPES, SNIFF_BYTES, sniff, TextCheck } from './file-types.js';
import { asBuffer, UPLOAD_STORAGE, type UploadStorage } from './storage.js';

/** Thumbnails fit in this square (WebP), made when the image is uploaded. */
export const THUMBNAIL_PX = 320;
/** Images with more pixels are refused: decoding one would cost far more memory than its file size. */
const MAX_PIXELS = 50_000_000;
/** Room for the multipart framing around the file when Content-Length is checked up front. */
const MULTIPART_OVERHEAD = 64 * 1024;
/** Rows the sweep handles per transaction. */
const SWEEP_BATCH = 100;

interface UploadRow {
  id: string;
  room_id: string | null;
  uploader_id: string;
  name: string;
  size: string;
  content_type: string;
  width: number | null;
  height: number | null;
  state: 'receiving' | 'ready' | 'gone';
  message_id: string | null;
}

export const toUpload = (r: Pick<UploadRow, 'id' | 'name' | 'size' | 'content_type' | 'width' | 'height'>): Upload => ({
  id: r.id,
  name: r.name,
  size: Number(r.size),
  contentType: r.content_type,
  ...(r.width != null && r.height != null ? { width: r.width, height: r.height } : {}),
});

/** A file being served: what it is and its bytes as a stream. */
export interface Served {
  upload: Upload;
  body: Readable | Buffer;
  /** The served bytes' type (a thumbnail is WebP whatever the original was). */
  contentType: string;
}

/**
 * Files in rooms: receiving (streamed, checked and stored as they arrive), serving to members,
 * attaching to messages, and the sweep of uploads no message kept.
 */
@Injectable()
export class UploadsService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('uploads');
  private active = 0;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<number>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    @Inject(UPLOAD_STORAGE) readonly storage: UploadStorage,
  ) {}

  onModuleInit() {
    const every = this.config.UPLOAD_SWEEP_INTERVAL_MS ?? 0;
    if (every > 0) {
      this.timer = setInterval(() => void this.sweep().catch((e: Error) => this.log.warn({ msg: 'upload sweep failed', err: String(e) })), every);
      this.timer.unref();
    }
  }

  async onModuleDestroy() {
    clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
    (this.storage as { destroy?: () => void }).destroy?.();
  }

  private get max() {
    return this.config.UPLOAD_MAX_BYTES!;
  }

  /**
   * Receives one multipart upload (field `file`) into the room. Order of checks: membership,
   * Content-Length, the concurrency bound, then while streaming: the size (counted, never
   * trusted), the type from the first bytes (and for text every byte). Whatever fails, the
   * bytes stored so far are removed before the answer.
   */
  async receive(user: AuthUser, roomId: string, req: IncomingMessage): Promise<Upload> {
    await memberRoom(this.db, user.id, roomId);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.max + MULTIPART_OVERHEAD) throw this.tooLarge();
    if (!/^multipart\/form-data\b/i.test(req.headers['content-type'] ?? ''))
      throw new ValidationFailed([{ field: 'file', message: 'send the file as multipart/form-data in a field named file' }], 'Expected multipart/form-data');
    if (this.active >= this.config.UPLOAD_CONCURRENCY!) throw new Busy(2, 'Too many uploads at once, try again shortly');
    this.active++;
    try {
      return await this.parse(user, roomId, req);
    } finally {
      this.active--;
    }
  }

  private tooLarge() {
    return new PayloadTooLarge(`Files may be at most ${this.max} bytes`, [{ field: 'file', message: `must be at most ${this.max} bytes` }]);
  }

  private parse(user: AuthUser, roomId: string, req: IncomingMessage): Promise<Upload> {
    return new Promise<Upload>((resolve, reject) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fileSize: this.max + 1, fields: 10, fieldSize: 1024, parts: 20 } });
      } catch {
        reject(new ValidationFailed([{ field: 'file', message: 'send the file as multipart/form-data in a field named file' }], 'Malformed multipart body'));
        return;
      }
      let work: Promise<Upload> | undefined;
      let settled = false;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        // Stop parsing; Node reads and drops the rest of the body after the answer.
        req.unpipe(bb);
        req.resume();
        reject(e);
      };
      bb.on('file', (field, stream, info) => {
        if (field !== 'file' || work) {
          stream.resume();
          return;
        }
        work = this.store(user, roomId, cleanName(info.filename), stream);
        work.catch(fail);
      });
      bb.on('error', () =>
        fail(new ValidationFailed([{ field: 'file', message: 'the multipart body is malformed or incomplete' }], 'Malformed multipart body')),
      );
      bb.on('close', () => {
        if (!work) return fail(new ValidationFailed([{ field: 'file', message: 'is required' }]));
        work.then((u) => {
          if (!settled) {
            settled = true;
            resolve(u);
          }
        }, fail);
      });
      req.on('aborted', () => fail(new BadRequestException('Upload aborted')));
      req.pipe(bb);
    });
  }

  /** Streams one file to the storage under a new id, checking size and type on the way. */
  private async store(user: AuthUser, roomId: string, name: string, stream: Readable): Promise<Upload> {
    const id = randomUUID();
    await this.db.query(`INSERT INTO chat.uploads (id, room_id, uploader_id, name) VALUES ($1, $2, $3, $4)`, [id, roomId, user.id, name]);
    const max = this.max;
    let size = 0;
    let type: string | undefined;
    let text: TextCheck | undefined;
    const decide = async (head: Buffer) => {
      const found = await sniff(head);
      if (!found.allowed) throw new UnsupportedType(`Files of type ${found.type} are not allowed`);
      type = found.type;
      if (type === 'text/plain') text = new TextCheck();
    };
    const tooLarge = () => this.tooLarge();
    const notText = () => new UnsupportedType('Only images (PNG, JPEG, GIF, WebP), PDF and plain UTF-8 text are allowed');
    async function* checked(): AsyncGenerator<Buffer> {
      let head: Buffer[] = [];
      let headBytes = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > max) throw tooLarge();
        if (type === undefined) {
          head.push(chunk);
          headBytes += chunk.length;
          if (headBytes < SNIFF_BYTES) continue;
          const all = Buffer.concat(head);
          head = [];
          await decide(all);
          text?.push(all);
          yield all;
          continue;
        }
        text?.push(chunk);
        if (text && !text.ok) throw notText();
        yield chunk;
      }
      if (type === undefined) {
        const all = Buffer.concat(head);
        await decide(all);
        text?.push(all);
        if (all.length) yield all;
      }
      if (text && !text.end()) throw notText();
    }
    try {
      await this.storage.write(id, checked());
      if (size > max) throw this.tooLarge();
      let width: number | null = null;
      let height: number | null = null;
      let thumbnail: Buffer | null = null;
      if (IMAGE_TYPES.has(type!)) ({ width, height, thumbnail } = await this.thumbnail(id));
      const [row] = returning<UploadRow>(
        await this.db.query(
          `UPDATE chat.uploads SET size = $2, content_type = $3, width = $4, height = $5, thumbnail = $6, state = 'ready'
            WHERE id = $1 AND state = 'receiving' AND room_id IS NOT NULL RETURNING id, name, size, content_type, width, height`,
          [id, size, type, width, height, thumbnail],
        ),
      );
      // The room went away meanwhile (its last member left).
      if (!row) throw new NotFoundException('No such room');
      return toUpload(row);
    } catch (e) {
      stream.resume();
      await this.purge([id]).catch((err: Error) => this.log.warn({ msg: 'could not remove a failed upload', id, err: String(err) }));
      throw e;
    }
  }

  /** Dimensions and a WebP thumbnail, read back from the storage (sharp holds the image, not the JS heap). */
  private async thumbnail(id: string): Promise<{ width: number; height: number; thumbnail: Buffer }> {
    const input = await this.storage.read(id);
    const image = sharp({ limitInputPixels: MAX_PIXELS, animated: false });
    input.on('error', (e) => image.destroy(e));
    input.pipe(image);
    try {
      const [meta, thumb] = await Promise.all([
        image.clone().metadata(),
        image.clone().rotate().resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 75 }).toBuffer(),
      ]);
      // Orientations 5 to 8 turn the picture a quarter: width and height are as it is shown.
      const turned = (meta.orientation ?? 1) >= 5;
      return { width: turned ? meta.height! : meta.width!, height: turned ? meta.width! : meta.height!, thumbnail: thumb };
    } catch (e) {
      if (/pixel limit/i.test(String(e)))
        throw new PayloadTooLarge(`Images may have at most ${MAX_PIXELS} pixels`, [{ field: 'file', message: 'has too many pixels' }]);
      throw new UnsupportedType('The image could not be read');
    }
  }

  /** An upload I may see: a member of its room; else 403 for a public room, 404 where it is not visible. */
  private async visible(userId: string, id: string, withThumbnail = false): Promise<UploadRow & { thumbnail?: Buffer | Uint8Array | string | null }> {
    const [row] = (await this.db.query(
      `SELECT u.id, u.room_id, u.uploader_id, u.name, u.size, u.content_type, u.width, u.height, u.state, u.message_id, r.kind${withThumbnail ? ', u.thumbnail' : ''},
              EXISTS (SELECT 1 FROM chat.members x WHERE x.room_id = u.room_id AND x.user_id = $2) AS member
         FROM chat.uploads u JOIN chat.rooms r ON r.id = u.room_id WHERE u.id = $1 AND u.state = 'ready'`,
      [id, userId],
    )) as Array<UploadRow & { kind: string; member: boolean }>;
    if (!row) throw new NotFoundException('No such file');
    if (!row.member) throw row.kind === 'public' ? new ForbiddenException('Join this room first') : new NotFoundException('No such file');
    return row;
  }

  async open(userId: string, id: string): Promise<Served> {
    const row = await this.visible(userId, id);
    return { upload: toUpload(row), body: await this.storage.read(id), contentType: row.content_type };
  }

  async openThumbnail(userId: string, id: string): Promise<Served> {
    const row = await this.visible(userId, id, true);
    if (!row.thumbnail) throw new NotFoundException('This file has no thumbnail');
    return { upload: toUpload(row), body: asBuffer(row.thumbnail), contentType: 'image/webp' };
  }

  /**
   * Attaches uploads to a message being sent, in its transaction (after the message row is
   * in, so a concurrent resend of the same clientId fails on that row first and replays).
   * Each must be a ready upload of this room, by this sender, on no other message; else 400
   * naming each one that is not.
   */
  static async attach(tx: Queryable, messageId: string, roomId: string, userId: string, ids: string[]): Promise<Upload[]> {
    const rows = (await tx.query(
      `SELECT id, room_id, uploader_id, name, size, content_type, width, height, state, message_id FROM chat.uploads WHERE id = ANY($1::uuid[]) FOR UPDATE`,
      [ids],
    )) as UploadRow[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const problems: Array<{ field: string; message: string }> = [];
    ids.forEach((id, i) => {
      const r = byId.get(id);
      const problem =
        !r || r.state !== 'ready'
          ? 'no such upload'
          : r.room_id !== roomId
            ? 'must be uploaded to this room'
            : r.uploader_id !== userId
              ? 'must be an upload of yours'
              : r.message_id
                ? 'is already attached to another message'
                : undefined;
      if (problem) problems.push({ field: `attachments.${i}`, message: problem });
    });
    if (problems.length) throw new ValidationFailed(problems, 'Attachments cannot be used');
    await tx.query(`UPDATE chat.uploads SET message_id = $1 WHERE id = ANY($2::uuid[])`, [messageId, ids]);
    return ids.map((id) => toUpload(byId.get(id)!));
  }

  /** Marks a deleted message's uploads gone, in its transaction; purge() them after the commit. */
  static async detach(tx: Queryable, messageId: string): Promise<string[]> {
    const rows = returning<{ id: string }>(await tx.query(`UPDATE chat.uploads SET state = 'gone' WHERE message_id = $1 RETURNING id`, [messageId]));
    return rows.map((r) => r.id);
  }

  /** Removes uploads and their bytes now (a failed or deleted one); the sweep retries what fails here. */
  async purge(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.db.query(`UPDATE chat.uploads SET state = 'gone' WHERE id = ANY($1::uuid[])`, [ids]);
    await this.storage.remove(ids);
    await this.db.query(`DELETE FROM chat.uploads WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /**
   * Removes, a batch at a time, uploads no message took within UPLOAD_ORPHAN_AGE (one still
   * being received is given an hour at least), those of deleted messages, and those whose room
   * is gone, bytes first. Rows are locked FOR UPDATE SKIP LOCKED, so replicas sweeping at the
   * same moment take different rows, and an attach in progress (which locks its rows) wins.
   */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepAll().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepAll(): Promise<number> {
    const age = this.config.UPLOAD_ORPHAN_AGE!;
    let total = 0;
    for (;;) {
      const n = await this.db.transaction(async (tx) => {
        const rows = (await tx.query(
          `SELECT id FROM chat.uploads
            WHERE state = 'gone' OR room_id IS NULL
               OR (message_id IS NULL AND created_at < now() - make_interval(secs => $1)
                   AND (state <> 'receiving' OR created_at < now() - make_interval(secs => GREATEST($1, 3600))))
            ORDER BY created_at LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED`,
          [age],
        )) as Array<{ id: string }>;
        const ids = rows.map((r) => r.id);
        if (!ids.length) return 0;
        await this.storage.remove(ids, tx);
        await tx.query(`DELETE FROM chat.uploads WHERE id = ANY($1::uuid[])`, [ids]);
        return ids.length;
      });
      total += n;
      if (n < SWEEP_BATCH) break;
    }
    if (total) this.log.log({ msg: 'uploads swept', removed: total });
    return total;
  }
}

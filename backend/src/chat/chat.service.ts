import { BadRequestException, ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { AuthUser } from '../common/auth/public.decorator.js';
import { InjectConfig } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import { likePrefix, returning } from '../common/database/sql.js';
import { RateLimited, ValidationFailed } from '../common/http/errors.js';
import { BatchQueue } from '../common/batch-queue.js';
import { LifecycleService } from '../common/lifecycle.service.js';
import { MetricsService } from '../common/metrics/metrics.service.js';
import { READ_WINDOW_MS, RateLimiter } from '../common/ratelimit/rate-limiter.js';
import type { Message, Page, Room, SyncRoom, ThreadPage } from '../contract/events.js';
import { LIMITS } from '../contract/schemas.js';
import { resolveMentions, uuidArrayLiteral } from './mentions.js';
import { RealtimeService } from './realtime.service.js';
import { UploadsService } from './uploads/uploads.service.js';
import { memberRoom, publicNameTaken, type Queryable, roomFor, roomView } from './room-access.js';
import { MEMBER_COLUMNS, MESSAGE_COLUMNS, MESSAGE_COLUMNS_OF_M, MemberRow, MessageRow, ROOM_COLUMNS, RoomRow, toMember, toMessage, toRoom } from './rows.js';

const SYNC_PAGE = 100;

/**
 * Keeps messages (in the order given) while their JSON fits in `budget` bytes; with
 * `atLeastOne`, the first is kept whatever its size. `trimmed` says something was left out.
 */
function fitBytes(messages: Message[], budget: number, atLeastOne: boolean): { messages: Message[]; bytes: number; trimmed: boolean } {
  let bytes = 0;
  let n = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(JSON.stringify(m));
    if (bytes + size > budget && !(atLeastOne && n === 0)) break;
    bytes += size;
    n += 1;
  }
  return { messages: n === messages.length ? messages : messages.slice(0, n), bytes, trimmed: n < messages.length };
}

/** One chat.mentions row per mentioned member (not the sender), for unread-mention counts. */
async function insertMentionRows(tx: Queryable, messages: Array<{ roomId: string; seq: number; senderId: string; mentions: string[] }>) {
  const users: string[] = [];
  const rooms: string[] = [];
  const seqs: number[] = [];
  for (const m of messages)
    for (const u of m.mentions) {
      if (u === m.senderId) continue;
      users.push(u);
      rooms.push(m.roomId);
      seqs.push(m.seq);
    }
  if (users.length === 0) return;
  await tx.query(`INSERT INTO chat.mentions (user_id, room_id, seq) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) ON CONFLICT DO NOTHING`, [
    users,
    rooms,
    seqs,
  ]);
}

/**
 * Takes the room's next change number (catch-up): the row lock it takes is held until commit,
 * so changes of one room commit in the order of their numbers, whatever replica made them, and
 * a rolled-back change rolls its number back. 404 if the room is gone (its last member left).
 */
async function bumpChange(tx: Queryable, roomId: string): Promise<number> {
  const [row] = returning<{ last_change: string }>(
    await tx.query(`UPDATE chat.rooms SET last_change = last_change + 1 WHERE id = $1 RETURNING last_change`, [roomId]),
  );
  if (!row) throw new NotFoundException('No such message');
  return Number(row.last_change);
}

/** A message's reaction summary from chat.reactions: per emoji in order of first use, up to 50 reactors each. */
const REACTIONS_OF = `COALESCE((
    SELECT jsonb_agg(jsonb_build_object('emoji', e.emoji, 'count', e.n, 'userIds', e.users) ORDER BY e.first, e.emoji)
      FROM (SELECT emoji, count(*) AS n, min(created_at) AS first, (array_agg(user_id ORDER BY created_at, user_id))[1:${LIMITS.reactionUserIds}] AS users
              FROM chat.reactions WHERE message_id = $1 GROUP BY emoji) e
  ), '[]'::jsonb)`;

/** Thrown inside a send transaction to undo the seq bump when the clientId was already used. */
class DuplicateSend extends Error {}
/** Thrown inside a reaction transaction that changed nothing, to undo its change bump. */
class NoChange extends Error {}

interface SendRequest {
  user: AuthUser;
  roomId: string;
  body: string;
  clientId: string;
  /** A reply: the root of its thread. */
  threadId?: string;
  /** Upload ids to attach (UploadsService.attach checks them). */
  attachments?: string[];
}
type SendResult = { message: Message; created: boolean };

/** Rooms, memberships and messages. Every read and write checks membership here. */
@Injectable()
export class ChatService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly realtime: RealtimeService,
    private readonly limiter: RateLimiter,
    private readonly lifecycle: LifecycleService,
    private readonly metrics: MetricsService,
    private readonly uploads: UploadsService,
  ) {
    const max = config.SEND_BATCH_MAX ?? 1;
    // Two batches in flight: one commits while the next fills.
    this.batches = max > 1 ? new BatchQueue<SendRequest, SendResult>(max, 2, (items) => this.writeBatch(items)) : undefined;
  }

  private readonly batches?: BatchQueue<SendRequest, SendResult>;

  /** The creator is the owner. Public names are unique case-insensitively (409). */
  async createRoom(user: AuthUser, name: string, kind: 'public' | 'private'): Promise<Room> {
    const id = randomUUID();
    const room = await this.db
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO chat.rooms (id, name, kind, created_by) VALUES ($1, $2, $3, $4)`, [id, name, kind, user.id]);
        await tx.query(`INSERT INTO chat.members (room_id, user_id, role) VALUES ($1, $2, 'owner')`, [id, user.id]);
        return roomView(tx, user.id, id);
      })
      .catch((e: unknown) => {
        throw publicNameTaken(e) ?? e;
      });
    this.realtime.roomAdded(user.id, room);
    return room;
  }

  async myRooms(userId: string): Promise<Room[]> {
    const rows = await this.db.query<RoomRow[]>(
      `SELECT ${ROOM_COLUMNS} FROM chat.members m JOIN chat.rooms r ON r.id = m.room_id
        WHERE m.user_id = $1 ORDER BY r.last_seq DESC, r.created_at DESC`,
      [userId],
    );
    return rows.map(toRoom);
  }

  async publicRooms(userId: string, query: string): Promise<Room[]> {
    await this.limiter.enforce(`read:${userId}`, this.config.READ_RATE_LIMIT!, READ_WINDOW_MS);
    const rows = await this.db.query<RoomRow[]>(
      `SELECT ${ROOM_COLUMNS} FROM chat.rooms r
         LEFT JOIN chat.members m ON m.room_id = r.id AND m.user_id = $1
        WHERE r.kind = 'public' AND lower(r.name) LIKE $2
        ORDER BY lower(r.name) LIMIT 100`,
      [userId, likePrefix(query)],
    );
    return rows.map(toRoom);
  }

  async join(user: AuthUser, roomId: string): Promise<Room> {
    const room = await roomFor(this.db, user.id, roomId);
    if (room.last_read_seq != null) return this.roomView(user.id, roomId);
    if (room.kind !== 'public') throw room.kind === 'private' ? new ForbiddenException('This room is private') : new NotFoundException('No such room');
    return this.addMemberRow(user.id, roomId);
  }

  async addMember(actor: AuthUser, roomId: string, userId: string): Promise<Room> {
    const room = await this.memberRoom(actor.id, roomId);
    if (room.kind === 'direct') throw new ForbiddenException('Members cannot be added to a direct conversation');
    await this.requireUser(userId);
    return this.addMemberRow(userId, roomId);
  }

  async direct(actor: AuthUser, userId: string): Promise<Room> {
    if (userId === actor.id)
      throw new BadRequestException({
        message: 'Cannot open a direct conversation with yourself',
        details: [{ field: 'userId', message: 'must be another user' }],
      });
    const other = await this.requireUser(userId);
    const key = [actor.id, userId].sort().join(':');
    const created = await this.db.transaction(async (tx) => {
      const inserted = await tx.query<Array<{ id: string }>>(
        `INSERT INTO chat.rooms (id, name, kind, created_by, direct_key) VALUES ($1, $2, 'direct', $3, $4)
         ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
        [randomUUID(), [actor.username, other.username].sort().join(' & '), actor.id, key],
      );
      if (inserted.length === 0) return undefined;
      await tx.query(`INSERT INTO chat.members (room_id, user_id) VALUES ($1, $2), ($1, $3)`, [inserted[0].id, actor.id, userId]);
      return inserted[0].id;
    });
    const [row] = await this.db.query<Array<{ id: string }>>(`SELECT id FROM chat.rooms WHERE direct_key = $1`, [key]);
    const mine = await this.roomView(actor.id, row.id);
    if (created) {
      this.realtime.roomAdded(userId, await this.roomView(userId, row.id));
      this.realtime.roomAdded(actor.id, mine);
      await this.realtime.introduce(userId, row.id, [actor.id, userId]);
    }
    return mine;
  }

  async history(userId: string, roomId: string, q: { before?: number; after?: number; limit: number }): Promise<Page> {
    await this.limiter.enforce(`read:${userId}`, this.config.READ_RATE_LIMIT!, READ_WINDOW_MS);
    await this.memberRoom(userId, roomId);
    const { messages, hasMore } = await this.page(this.db, roomId, q, this.config.MESSAGES_MAX_BYTES!, true);
    return { messages, hasMore };
  }

  /**
   * Draining refuses a send before it touches the database; one already running is waited for.
   * Replies (threadId) and messages with attachments are not batched: each is one transaction
   * that also updates its root or its uploads.
   */
  send(user: AuthUser, roomId: string, body: string, clientId: string, threadId?: string, attachments?: string[]): Promise<SendResult> {
    const files = attachments?.length ? attachments : undefined;
    return this.lifecycle.track(() =>
      this.batches && !threadId && !files
        ? this.sendBatched({ user, roomId, body, clientId })
        : this.sendOne({ user, roomId, body, clientId, threadId, attachments: files }, true),
    );
  }

  /**
   * Concurrent sends share one transaction (see writeBatch). The rate limit is taken first;
   * a limited send that repeats a stored clientId still gets its message back.
   */
  private async sendBatched(req: SendRequest): Promise<SendResult> {
    const d = await this.limiter.consume(`send:${req.user.id}`, this.config.SEND_RATE_LIMIT!, 10_000);
    if (!d.allowed) {
      const earlier = await this.findSent(req.user.id, req.clientId);
      if (earlier) return this.replay(earlier, req.roomId);
      throw new RateLimited(d.retryAfterSeconds);
    }
    return this.batches!.submit(req);
  }

  private replay(earlier: Message, roomId: string): SendResult {
    if (earlier.roomId !== roomId) throw new ConflictException('clientId was already used for another room');
    this.metrics.messages.inc({ result: 'duplicate' });
    return { message: earlier, created: false };
  }

  /** One send, one transaction: SEND_BATCH_MAX=1, and the fallback when a batch cannot commit. */
  private async sendOne(req: SendRequest, limit: boolean): Promise<SendResult> {
    const { user, roomId, body, clientId, threadId, attachments } = req;
    const earlier = await this.findSent(user.id, clientId);
    if (earlier) return this.replay(earlier, roomId);
    if (limit) {
      const d = await this.limiter.consume(`send:${user.id}`, this.config.SEND_RATE_LIMIT!, 10_000);
      if (!d.allowed) throw new RateLimited(d.retryAfterSeconds);
    }
    await this.memberRoom(user.id, roomId);
    const timer = this.metrics.messagePersist.startTimer();
    try {
      const { message, root } = await this.db.transaction(async (tx) => {
        const [mentions] = await resolveMentions(tx, [{ roomId, body }]);
        // The row lock on the room serialises senders, so seq has no gaps or duplicates;
        // a rolled-back send also rolls back its increment. A reply is two changes: itself, then its root.
        const [bumped] = returning<{ last_seq: string; last_change: string }>(
          await tx.query(`UPDATE chat.rooms SET last_seq = last_seq + 1, last_change = last_change + $2 WHERE id = $1 RETURNING last_seq, last_change`, [
            roomId,
            threadId ? 2 : 1,
          ]),
        );
        // The room's last member left meanwhile and the room is gone.
        if (!bumped) throw new NotFoundException('No such room');
        const { last_seq } = bumped;
        const change = Number(bumped.last_change);
        // Every change to the root takes the room lock first, so what is read here holds until commit.
        if (threadId) await this.checkRoot(tx, roomId, threadId);
        const rows = await tx.query<MessageRow[]>(
          `INSERT INTO chat.messages (id, room_id, seq, sender_id, sender_name, body, client_id, mentions, change, thread_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING ${MESSAGE_COLUMNS}`,
          [randomUUID(), roomId, last_seq, user.id, user.displayName, body, clientId, mentions, threadId ? change - 1 : change, threadId ?? null],
        );
        if (rows.length === 0) throw new DuplicateSend();
        // After the message row: a concurrent resend of this clientId replays (DuplicateSend) rather than finding its uploads taken.
        if (attachments) {
          const files = await UploadsService.attach(tx, rows[0].id, roomId, user.id, attachments);
          rows[0] = returning<MessageRow>(
            await tx.query(`UPDATE chat.messages SET attachments = $2 WHERE id = $1 RETURNING ${MESSAGE_COLUMNS}`, [rows[0].id, JSON.stringify(files)]),
          )[0];
        }
        await insertMentionRows(tx, [{ roomId, seq: Number(last_seq), senderId: user.id, mentions }]);
        await tx.query(`UPDATE chat.members SET last_read_seq = GREATEST(last_read_seq, $3) WHERE room_id = $1 AND user_id = $2`, [roomId, user.id, last_seq]);
        let root: Message | undefined;
        if (threadId) {
          const [r] = returning<MessageRow>(
            await tx.query(
              `UPDATE chat.messages SET reply_count = reply_count + 1, last_reply_at = $2, change = $3 WHERE id = $1 RETURNING ${MESSAGE_COLUMNS}`,
              [threadId, rows[0].created_at, change],
            ),
          );
          root = toMessage(r);
        }
        return { message: toMessage(rows[0]), root };
      });
      timer();
      this.metrics.messages.inc({ result: 'new' });
      this.realtime.messageNew(message);
      if (root) this.realtime.messageUpdated(root);
      return { message, created: true };
    } catch (e) {
      if (!(e instanceof DuplicateSend)) throw e;
      // A concurrent send with the same clientId committed first: answer with its message.
      this.metrics.messages.inc({ result: 'duplicate' });
      return { message: (await this.findSent(user.id, clientId))!, created: false };
    }
  }

  /**
   * A reply's root: a message of the same room that is not itself a reply and not deleted
   * (replying to a deleted message is refused: its thread is closed); else 400.
   */
  private async checkRoot(tx: Queryable, roomId: string, threadId: string): Promise<void> {
    const [root] = (await tx.query(`SELECT room_id, thread_id, deleted FROM chat.messages WHERE id = $1`, [threadId])) as Array<{
      room_id: string;
      thread_id: string | null;
      deleted: boolean;
    }>;
    const problem = !root
      ? 'no such message'
      : root.room_id !== roomId
        ? 'must be a message of the same room'
        : root.thread_id
          ? 'must be a thread root, not a reply'
          : root.deleted
            ? 'must not be a deleted message'
            : undefined;
    if (problem) throw new ValidationFailed([{ field: 'threadId', message: problem }]);
  }

  /**
   * Writes a batch in one transaction: one lookup of earlier sends, one membership check, one
   * seq bump per room (rooms locked in id order, so concurrent batches cannot deadlock), one
   * multi-row insert, one read-marker update, one commit. Acks and broadcasts follow the
   * commit. If anything fails, each send is retried on its own (sendOne) and gets its own answer.
   */
  private async writeBatch(items: SendRequest[]): Promise<Array<SendResult | Error>> {
    this.metrics.sendBatchSize.observe(items.length);
    const timer = this.metrics.messagePersist.startTimer();
    const key = (userId: string, clientId: string) => `${userId} ${clientId}`;
    // The same (sender, clientId) twice in one batch: the first is written, the rest replay it.
    const first = new Map<string, SendRequest>();
    for (const p of items) if (!first.has(key(p.user.id, p.clientId))) first.set(key(p.user.id, p.clientId), p);
    const unique = [...first.values()];
    const done = new Map<SendRequest, SendResult | Error>();
    const notMember: SendRequest[] = [];
    let created: Message[];
    try {
      created = await this.db.transaction(async (tx) => {
        const earlier = await tx.query<MessageRow[]>(
          `SELECT ${MESSAGE_COLUMNS} FROM chat.messages WHERE (sender_id, client_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))`,
          [unique.map((p) => p.user.id), unique.map((p) => p.clientId)],
        );
        const stored = new Map(earlier.map((r) => [key(r.sender_id, r.client_id), toMessage(r)]));
        const members = await tx.query<Array<{ room_id: string; user_id: string }>>(
          `SELECT t.room_id, t.user_id FROM unnest($1::uuid[], $2::uuid[]) AS t(room_id, user_id)
             JOIN chat.members m ON m.room_id = t.room_id AND m.user_id = t.user_id`,
          [unique.map((p) => p.roomId), unique.map((p) => p.user.id)],
        );
        const isMember = new Set(members.map((m) => key(m.user_id, m.room_id)));
        const fresh: SendRequest[] = [];
        for (const p of unique) {
          const e = stored.get(key(p.user.id, p.clientId));
          if (e) done.set(p, e.roomId === p.roomId ? { message: e, created: false } : new ConflictException('clientId was already used for another room'));
          else if (!isMember.has(key(p.user.id, p.roomId))) notMember.push(p);
          else fresh.push(p);
        }
        if (fresh.length === 0) return [];
        // Mentions of the whole batch in one query (none when no body has an '@'), before the room locks.
        const mentions = await resolveMentions(tx, fresh);
        const perRoom = new Map<string, number>();
        for (const p of fresh) perRoom.set(p.roomId, (perRoom.get(p.roomId) ?? 0) + 1);
        const rooms = [...perRoom.keys()];
        if (rooms.length > 1) await tx.query(`SELECT id FROM chat.rooms WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [rooms]);
        const bumped = returning<{ id: string; last_seq: string; last_change: string }>(
          await tx.query(
            `UPDATE chat.rooms r SET last_seq = r.last_seq + t.n, last_change = r.last_change + t.n
               FROM unnest($1::uuid[], $2::int[]) AS t(id, n) WHERE r.id = t.id RETURNING r.id, r.last_seq, r.last_change`,
            [rooms, rooms.map((r) => perRoom.get(r))],
          ),
        );
        // A room deleted meanwhile (its last member left): each send then gets its own answer.
        if (bumped.length !== rooms.length) throw new NotFoundException('No such room');
        // Each room's new seqs (and change numbers, one per message) go to its sends in arrival order.
        const next = new Map(bumped.map((r) => [r.id, Number(r.last_seq) - perRoom.get(r.id)! + 1]));
        const nextChange = new Map(bumped.map((r) => [r.id, Number(r.last_change) - perRoom.get(r.id)! + 1]));
        const seqs = fresh.map((p) => {
          const seq = next.get(p.roomId)!;
          next.set(p.roomId, seq + 1);
          return seq;
        });
        const changes = fresh.map((p) => {
          const change = nextChange.get(p.roomId)!;
          nextChange.set(p.roomId, change + 1);
          return change;
        });
        const rows = await tx.query<MessageRow[]>(
          `INSERT INTO chat.messages (id, room_id, seq, sender_id, sender_name, body, client_id, mentions, change)
             SELECT id, room_id, seq, sender_id, sender_name, body, client_id, mentions::uuid[], change
               FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])
                 AS t(id, room_id, seq, sender_id, sender_name, body, client_id, mentions, change)
             ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING ${MESSAGE_COLUMNS}`,
          [
            fresh.map(() => randomUUID()),
            fresh.map((p) => p.roomId),
            seqs,
            fresh.map((p) => p.user.id),
            fresh.map((p) => p.user.displayName),
            fresh.map((p) => p.body),
            fresh.map((p) => p.clientId),
            mentions.map(uuidArrayLiteral),
            changes,
          ],
        );
        // Another process stored one of these clientIds meanwhile: a seq would be skipped.
        if (rows.length !== fresh.length) throw new DuplicateSend();
        await insertMentionRows(
          tx,
          fresh.map((p, i) => ({ roomId: p.roomId, seq: seqs[i], senderId: p.user.id, mentions: mentions[i] })),
        );
        const marks = new Map<string, { roomId: string; userId: string; seq: number }>();
        fresh.forEach((p, i) => marks.set(key(p.user.id, p.roomId), { roomId: p.roomId, userId: p.user.id, seq: seqs[i] }));
        const m = [...marks.values()];
        await tx.query(
          `UPDATE chat.members m SET last_read_seq = GREATEST(m.last_read_seq, t.seq)
             FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS t(room_id, user_id, seq) WHERE m.room_id = t.room_id AND m.user_id = t.user_id`,
          [m.map((x) => x.roomId), m.map((x) => x.userId), m.map((x) => x.seq)],
        );
        const byKey = new Map(rows.map((r) => [key(r.sender_id, r.client_id), toMessage(r)]));
        const messages = fresh.map((p) => byKey.get(key(p.user.id, p.clientId))!);
        fresh.forEach((p, i) => done.set(p, { message: messages[i], created: true }));
        return messages;
      });
    } catch {
      return Promise.all(items.map((p) => this.sendOne(p, false).catch((e: Error) => e)));
    }
    timer();
    // Committed: broadcast in seq order (fresh is in seq order within each room), then answer.
    for (const message of created) this.realtime.messageNew(message);
    if (created.length) this.metrics.messages.inc({ result: 'new' }, created.length);
    // Not members when checked: the single path says why (403 or 404), or sends if they joined since.
    for (const p of notMember) done.set(p, await this.sendOne(p, false).catch((e: Error) => e));
    return items.map((p) => {
      const firstOne = first.get(key(p.user.id, p.clientId))!;
      const r = done.get(firstOne)!;
      if (p === firstOne) {
        if (!(r instanceof Error) && !r.created) this.metrics.messages.inc({ result: 'duplicate' });
        return r;
      }
      if (r instanceof Error) return r;
      this.metrics.messages.inc({ result: 'duplicate' });
      return r.message.roomId === p.roomId ? { message: r.message, created: false } : new ConflictException('clientId was already used for another room');
    });
  }

  edit(userId: string, messageId: string, body: string): Promise<Message> {
    return this.lifecycle.track(async () => {
      const current = await this.ownMessage(userId, messageId);
      if (current.deleted) throw new ConflictException('A deleted message cannot be edited');
      // Mentions follow the new text: the rows of the old one go, the new one's are added.
      const message = await this.db.transaction(async (tx) => {
        const [mentions] = await resolveMentions(tx, [{ roomId: current.room_id, body }]);
        const change = await bumpChange(tx, current.room_id);
        const [row] = returning<MessageRow>(
          // Not deleted: a delete that committed since the check above wins (under the room lock now).
          await tx.query(
            `UPDATE chat.messages SET body = $2, mentions = $3, edited_at = now(), change = $4 WHERE id = $1 AND NOT deleted RETURNING ${MESSAGE_COLUMNS}`,
            [messageId, body, mentions, change],
          ),
        );
        if (!row) throw new ConflictException('A deleted message cannot be edited');
        await tx.query(`DELETE FROM chat.mentions WHERE room_id = $1 AND seq = $2`, [current.room_id, current.seq]);
        await insertMentionRows(tx, [{ roomId: current.room_id, seq: Number(current.seq), senderId: userId, mentions }]);
        return toMessage(row);
      });
      this.realtime.messageUpdated(message);
      return message;
    });
  }

  remove(userId: string, messageId: string): Promise<void> {
    return this.lifecycle.track(async () => {
      const current = await this.ownMessage(userId, messageId);
      if (current.deleted) return;
      let files: string[] = [];
      const row = await this.db
        .transaction(async (tx) => {
          const change = await bumpChange(tx, current.room_id);
          // Deleted meanwhile by a concurrent request: nothing changes (and no change number is used).
          const [{ deleted }] = (await tx.query(`SELECT deleted FROM chat.messages WHERE id = $1`, [messageId])) as Array<{ deleted: boolean }>;
          if (deleted) throw new NoChange();
          await tx.query(`DELETE FROM chat.mentions WHERE room_id = $1 AND seq = $2`, [current.room_id, current.seq]);
          // Its reactions go with its text; its replies stay (the thread keeps its root as deleted).
          await tx.query(`DELETE FROM chat.reactions WHERE message_id = $1`, [messageId]);
          // Its files go too: marked gone here, their bytes removed after the commit (or by the sweep).
          files = await UploadsService.detach(tx, messageId);
          const [updated] = returning<MessageRow>(
            await tx.query(
              `UPDATE chat.messages SET body = '', mentions = '{}', reactions = '[]', attachments = '[]', deleted = true, edited_at = now(), change = $2 WHERE id = $1 RETURNING ${MESSAGE_COLUMNS}`,
              [messageId, change],
            ),
          );
          if (!updated) throw new NotFoundException('No such message');
          return updated;
        })
        .catch((e: unknown) => {
          if (e instanceof NoChange) return undefined;
          throw e;
        });
      if (row) this.realtime.messageUpdated(toMessage(row));
      await this.uploads.purge(files).catch(() => undefined);
    });
  }

  async markRead(userId: string, roomId: string, seq: number): Promise<void> {
    await this.memberRoom(userId, roomId);
    await this.db.query(
      `UPDATE chat.members m SET last_read_seq = LEAST(GREATEST(m.last_read_seq, $3), r.last_seq)
         FROM chat.rooms r WHERE r.id = m.room_id AND m.room_id = $1 AND m.user_id = $2`,
      [roomId, userId, seq],
    );
  }

  /**
   * What a socket missed, bounded: each room once (the lowest afterSeq and afterChange named
   * win), at most SYNC_MAX_ROOMS rooms, SYNC_MAX_MESSAGES messages and MESSAGES_MAX_BYTES bytes
   * per answer (`updated` and `messages` together; the first message of an answer is kept
   * whatever its size, so paging always moves on).
   *
   * Each room is read in one snapshot: first `updated` (seq <= afterSeq, change > afterChange,
   * ascending by change), then, only if that was complete, `messages` (seq > afterSeq).
   * `lastChange` is the change up to which the answer is complete: the room's counter in the
   * snapshot, or the change of the last `updated` message when `updated` was cut short (then
   * `messages` is empty). A room cut short answers `hasMore: true`; the client continues with
   * afterSeq = the last seq it got in `messages` (else the same) and afterChange = lastChange,
   * and so sees every change exactly once.
   */
  async sync(userId: string, rooms: Array<{ roomId: string; afterSeq: number; afterChange?: number }>): Promise<SyncRoom[]> {
    await this.limiter.enforce(`sync:${userId}`, this.config.SYNC_RATE_LIMIT!, READ_WINDOW_MS);
    const wanted = new Map<string, { afterSeq: number; afterChange?: number }>();
    for (const r of rooms) {
      const w = wanted.get(r.roomId);
      const afterChange = r.afterChange === undefined ? w?.afterChange : Math.min(r.afterChange, w?.afterChange ?? Number.MAX_SAFE_INTEGER);
      wanted.set(r.roomId, { afterSeq: Math.min(r.afterSeq, w?.afterSeq ?? Number.MAX_SAFE_INTEGER), afterChange });
    }
    const maxRooms = this.config.SYNC_MAX_ROOMS!;
    if (wanted.size > maxRooms) throw new ValidationFailed([{ field: 'rooms', message: `at most ${maxRooms} distinct rooms per sync` }]);
    const ids = [...wanted.keys()];
    const member = await this.db.query<Array<{ room_id: string; last_seq: string; last_change: string }>>(
      `SELECT m.room_id, r.last_seq, r.last_change FROM chat.members m JOIN chat.rooms r ON r.id = m.room_id WHERE m.user_id = $1 AND m.room_id = ANY($2::uuid[])`,
      [userId, ids],
    );
    const last = new Map(member.map((m) => [m.room_id, { seq: Number(m.last_seq), change: Number(m.last_change) }]));
    const left = { messages: this.config.SYNC_MAX_MESSAGES!, bytes: this.config.MESSAGES_MAX_BYTES!, first: true };
    const out: SyncRoom[] = [];
    for (const [roomId, { afterSeq, afterChange }] of wanted) {
      const now = last.get(roomId);
      // One room I left must not cost the catch-up of all the others.
      if (!now) {
        out.push({ roomId, messages: [], updated: [], hasMore: false, lastChange: afterChange ?? 0, gone: true });
        continue;
      }
      const behind = now.seq > afterSeq;
      const changed = afterChange !== undefined && now.change > afterChange;
      if (!behind && !changed) out.push({ roomId, messages: [], updated: [], hasMore: false, lastChange: now.change });
      else if (left.messages <= 0 || left.bytes <= 0) out.push({ roomId, messages: [], updated: [], hasMore: true, lastChange: afterChange ?? now.change });
      else out.push(await this.syncRoom(roomId, afterSeq, afterChange, left));
    }
    return out;
  }

  /** One room of a sync in one snapshot (see sync); `left` is the answer's remaining budget. */
  private syncRoom(
    roomId: string,
    afterSeq: number,
    afterChange: number | undefined,
    left: { messages: number; bytes: number; first: boolean },
  ): Promise<SyncRoom> {
    return this.db.transaction('REPEATABLE READ', async (tx) => {
      const [room] = (await tx.query(`SELECT last_seq, last_change FROM chat.rooms WHERE id = $1`, [roomId])) as Array<{
        last_seq: string;
        last_change: string;
      }>;
      // The room went away (its last member left) since membership was checked.
      if (!room) return { roomId, messages: [], updated: [], hasMore: false, lastChange: afterChange ?? 0 };
      let updated: Message[] = [];
      if (afterChange !== undefined) {
        const limit = Math.min(SYNC_PAGE, left.messages);
        const rows = await tx.query<MessageRow[]>(
          `SELECT ${MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND change > $2 AND seq <= $3 ORDER BY change ASC LIMIT $4`,
          [roomId, afterChange, afterSeq, limit + 1],
        );
        const fit = fitBytes(rows.slice(0, limit).map(toMessage), left.bytes, left.first);
        updated = fit.messages;
        left.messages -= updated.length;
        left.bytes -= fit.bytes;
        if (updated.length) left.first = false;
        if (rows.length > limit || fit.trimmed)
          return { roomId, messages: [], updated, hasMore: true, lastChange: updated.length ? updated[updated.length - 1].change : afterChange };
      }
      const lastChange = Number(room.last_change);
      if (Number(room.last_seq) <= afterSeq) return { roomId, messages: [], updated, hasMore: false, lastChange };
      if (left.messages <= 0 || left.bytes <= 0) return { roomId, messages: [], updated, hasMore: true, lastChange };
      const page = await this.page(tx, roomId, { after: afterSeq, limit: Math.min(SYNC_PAGE, left.messages) }, left.bytes, left.first);
      left.messages -= page.messages.length;
      left.bytes -= page.bytes;
      if (page.messages.length) left.first = false;
      return { roomId, messages: page.messages, updated, hasMore: page.hasMore, lastChange };
    });
  }

  /**
   * A thread: its root and a page of replies ascending by seq (`after` pages on). Members of
   * the root's room only (403 for a public room, 404 where it is not visible); 400 for a reply.
   */
  async thread(userId: string, messageId: string, q: { after?: number; limit: number }): Promise<ThreadPage> {
    await this.limiter.enforce(`read:${userId}`, this.config.READ_RATE_LIMIT!, READ_WINDOW_MS);
    const root = toMessage(await this.visibleMessage(userId, messageId));
    if (root.threadId) throw new ValidationFailed([{ field: 'id', message: 'is a reply; its thread is that of its root' }], 'Not a thread root');
    const rows = await this.db.query<MessageRow[]>(`SELECT ${MESSAGE_COLUMNS} FROM chat.messages WHERE thread_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3`, [
      messageId,
      q.after ?? 0,
      q.limit + 1,
    ]);
    const budget = this.config.MESSAGES_MAX_BYTES! - Buffer.byteLength(JSON.stringify(root));
    const fit = fitBytes(rows.slice(0, q.limit).map(toMessage), budget, true);
    return { root, messages: fit.messages, hasMore: rows.length > q.limit || fit.trimmed };
  }

  /**
   * Adds (or removes) my reaction. Members only; a reaction already there (or not there) is a
   * no-op: no change number, no event. At most LIMITS.reactionsPerMessage distinct emoji per
   * message (a new one beyond is 400); a deleted message takes no new reactions (409).
   * Counts on the send budget.
   */
  react(userId: string, messageId: string, emoji: string, add: boolean): Promise<Message> {
    return this.lifecycle.track(async () => {
      const d = await this.limiter.consume(`send:${userId}`, this.config.SEND_RATE_LIMIT!, 10_000);
      if (!d.allowed) throw new RateLimited(d.retryAfterSeconds);
      const current = await this.visibleMessage(userId, messageId);
      if (add && current.deleted) throw new ConflictException('A deleted message cannot be reacted to');
      let message: Message;
      try {
        message = await this.db.transaction(async (tx) => {
          // The room lock first (as every change takes it), then the reaction rows.
          const change = await bumpChange(tx, current.room_id);
          if (add) {
            const [{ deleted }] = (await tx.query(`SELECT deleted FROM chat.messages WHERE id = $1`, [messageId])) as Array<{ deleted: boolean }>;
            if (deleted) throw new ConflictException('A deleted message cannot be reacted to');
            const inserted = (await tx.query(
              `INSERT INTO chat.reactions (message_id, emoji, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING user_id`,
              [messageId, emoji, userId],
            )) as unknown[];
            if (inserted.length === 0) throw new NoChange();
            const [{ n }] = (await tx.query(`SELECT count(DISTINCT emoji) AS n FROM chat.reactions WHERE message_id = $1`, [messageId])) as Array<{
              n: string;
            }>;
            if (Number(n) > LIMITS.reactionsPerMessage)
              throw new ValidationFailed([{ field: 'emoji', message: `a message has at most ${LIMITS.reactionsPerMessage} different reactions` }]);
          } else {
            const removed = returning<unknown>(
              await tx.query(`DELETE FROM chat.reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3 RETURNING user_id`, [messageId, emoji, userId]),
            );
            if (removed.length === 0) throw new NoChange();
          }
          const [row] = returning<MessageRow>(
            await tx.query(`UPDATE chat.messages SET change = $2, reactions = ${REACTIONS_OF} WHERE id = $1 RETURNING ${MESSAGE_COLUMNS}`, [messageId, change]),
          );
          return toMessage(row);
        });
      } catch (e) {
        if (!(e instanceof NoChange)) throw e;
        const [row] = await this.db.query<MessageRow[]>(`SELECT ${MESSAGE_COLUMNS} FROM chat.messages WHERE id = $1`, [messageId]);
        // Its room was deleted meanwhile (the last member left).
        if (!row) throw new NotFoundException('No such message');
        return toMessage(row);
      }
      this.realtime.messageUpdated(message);
      return message;
    });
  }

  /** Room ids the user belongs to, for subscribing a new socket. */
  async roomIdsOf(userId: string): Promise<string[]> {
    const rows = await this.db.query<Array<{ room_id: string }>>(`SELECT room_id FROM chat.members WHERE user_id = $1`, [userId]);
    return rows.map((r) => r.room_id);
  }

  /** Users who share at least one room with this user. */
  async roommatesOf(userId: string): Promise<string[]> {
    const rows = await this.db.query<Array<{ user_id: string }>>(
      `SELECT DISTINCT o.user_id FROM chat.members mine JOIN chat.members o ON o.room_id = mine.room_id
        WHERE mine.user_id = $1 AND o.user_id <> $1`,
      [userId],
    );
    return rows.map((r) => r.user_id);
  }

  async membersOf(roomId: string): Promise<string[]> {
    const rows = await this.db.query<Array<{ user_id: string }>>(`SELECT user_id FROM chat.members WHERE room_id = $1`, [roomId]);
    return rows.map((r) => r.user_id);
  }

  /**
   * One keyset page: `after` reads forward, otherwise backward from `before` (or the newest).
   * Messages past `maxBytes` are left for the next page (hasMore), nearest to the cursor kept.
   */
  private async page(
    db: Queryable,
    roomId: string,
    q: { before?: number; after?: number; limit: number },
    maxBytes: number,
    atLeastOne: boolean,
  ): Promise<Page & { bytes: number }> {
    const forward = q.after !== undefined;
    const rows: MessageRow[] = await db.query(
      forward
        ? `SELECT ${MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND seq < $2 AND seq > $4 ORDER BY seq ASC LIMIT $3`
        : `SELECT ${MESSAGE_COLUMNS} FROM chat.messages WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
      [roomId, q.before ?? Number.MAX_SAFE_INTEGER, q.limit + 1, ...(forward ? [q.after] : [])],
    );
    const fit = fitBytes(rows.slice(0, q.limit).map(toMessage), maxBytes, atLeastOne);
    const hasMore = rows.length > q.limit || fit.trimmed;
    return { messages: forward ? fit.messages : fit.messages.reverse(), hasMore, bytes: fit.bytes };
  }

  private async findSent(senderId: string, clientId: string): Promise<Message | undefined> {
    const [row] = await this.db.query<MessageRow[]>(`SELECT ${MESSAGE_COLUMNS} FROM chat.messages WHERE sender_id = $1 AND client_id = $2`, [
      senderId,
      clientId,
    ]);
    return row ? toMessage(row) : undefined;
  }

  /** Members pass; others get 403 on a public room and 404 where they may not even see it. */
  private memberRoom(userId: string, roomId: string): Promise<RoomRow> {
    return memberRoom(this.db, userId, roomId);
  }

  private roomView(userId: string, roomId: string): Promise<Room> {
    return roomView(this.db, userId, roomId);
  }

  /** A new member: their sockets join the room, the room's sockets hear `member:joined`. */
  private async addMemberRow(userId: string, roomId: string): Promise<Room> {
    const inserted = await this.db
      .query<Array<{ user_id: string }>>(
        `INSERT INTO chat.members (room_id, user_id, last_read_seq) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING RETURNING user_id`,
        [roomId, userId],
      )
      .catch((e: { code?: string; driverError?: { code?: string } }) => {
        // The room's last member left and the room went away meanwhile.
        if ((e?.code ?? e?.driverError?.code) === '23503') throw new NotFoundException('No such room');
        throw e;
      });
    const room = await this.roomView(userId, roomId);
    if (inserted.length > 0) {
      const [row] = await this.db.query<MemberRow[]>(
        `SELECT ${MEMBER_COLUMNS} FROM chat.members m JOIN users.users u ON u.id = m.user_id WHERE m.room_id = $1 AND m.user_id = $2`,
        [roomId, userId],
      );
      const online = (await this.realtime.onlineAmong([userId])).length > 0;
      if (row) this.realtime.memberJoined(roomId, toMember(row, online));
      this.realtime.roomAdded(userId, room);
      await this.realtime.introduce(userId, roomId, await this.membersOf(roomId));
    }
    return room;
  }

  private async requireUser(userId: string): Promise<{ id: string; username: string }> {
    // The users schema is the directory of who exists; chat only reads it.
    const [row] = await this.db.query<Array<{ id: string; username: string }>>(`SELECT id, username FROM users.users WHERE id = $1`, [userId]);
    if (!row) throw new NotFoundException('No such user');
    return row;
  }

  /** A message of a room I am a member of; else 403 for a public room, 404 where it is not visible. */
  private async visibleMessage(userId: string, messageId: string): Promise<MessageRow> {
    const [row] = await this.db.query<Array<MessageRow & { member: boolean; kind: string }>>(
      `SELECT ${MESSAGE_COLUMNS_OF_M}, r.kind,
              EXISTS (SELECT 1 FROM chat.members x WHERE x.room_id = m.room_id AND x.user_id = $2) AS member
         FROM chat.messages m JOIN chat.rooms r ON r.id = m.room_id WHERE m.id = $1`,
      [messageId, userId],
    );
    if (!row) throw new NotFoundException('No such message');
    if (!row.member) throw row.kind === 'public' ? new ForbiddenException('Join this room first') : new NotFoundException('No such message');
    return row;
  }

  private async ownMessage(userId: string, messageId: string): Promise<MessageRow> {
    const [row] = await this.db.query<Array<MessageRow & { member: boolean }>>(
      `SELECT ${MESSAGE_COLUMNS_OF_M},
              EXISTS (SELECT 1 FROM chat.members x WHERE x.room_id = m.room_id AND x.user_id = $2) AS member
         FROM chat.messages m WHERE m.id = $1`,
      [messageId, userId],
    );
    if (!row || !row.member) throw new NotFoundException('No such message');
    if (row.sender_id !== userId) throw new ForbiddenException('Only the sender can change a message');
    return row;
  }
}

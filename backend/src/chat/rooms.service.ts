import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { AuthUser } from '../common/auth/public.decorator.js';
import { InjectConfig } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import { LifecycleService } from '../common/lifecycle.service.js';
import { READ_WINDOW_MS, RateLimiter } from '../common/ratelimit/rate-limiter.js';
import type { Member, MemberPage, Room, RoomRole } from '../contract/events.js';
import { RealtimeService } from './realtime.service.js';
import { memberRoom, publicNameTaken, type Queryable, roomView } from './room-access.js';
import { MEMBER_COLUMNS, MENTION_COUNT, MemberRow, ROOM_BASE, RoomRow, toMember, toRoom } from './rows.js';

/** Who may do what: see docs/backend.md ("Rooms and people"). */
const canManage = (role: RoomRole | null | undefined) => role === 'owner' || role === 'admin';

/**
 * Rooms and people: the member list, rename and topic, leaving, removing, roles and my own
 * settings. Membership changes of one room take its row lock (FOR UPDATE), so two of them,
 * or one and a join, are ordered and the room always has exactly one owner while it has members.
 */
@Injectable()
export class RoomsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly realtime: RealtimeService,
    private readonly limiter: RateLimiter,
    private readonly lifecycle: LifecycleService,
  ) {}

  /** A keyset page of members ordered by user id; members only (403/404 like history). */
  async members(userId: string, roomId: string, q: { after?: string; limit: number }): Promise<MemberPage> {
    await this.limiter.enforce(`read:${userId}`, this.config.READ_RATE_LIMIT!, READ_WINDOW_MS);
    await memberRoom(this.db, userId, roomId);
    const rows = await this.db.query<MemberRow[]>(
      `SELECT ${MEMBER_COLUMNS} FROM chat.members m JOIN users.users u ON u.id = m.user_id
        WHERE m.room_id = $1 AND ($2::uuid IS NULL OR m.user_id > $2::uuid) ORDER BY m.user_id LIMIT $3`,
      [roomId, q.after ?? null, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    const online = new Set(await this.realtime.onlineAmong(page.map((r) => r.user_id)));
    return { members: page.map((r) => toMember(r, online.has(r.user_id))), hasMore: rows.length > q.limit };
  }

  /** Rename and/or set the topic: owner or admin, not in a direct room; every member hears `room:updated`. */
  update(user: AuthUser, roomId: string, change: { name?: string; topic?: string | null }): Promise<Room> {
    return this.lifecycle.track(async () => {
      const room = await memberRoom(this.db, user.id, roomId);
      if (room.kind === 'direct') throw new ForbiddenException('A direct conversation cannot be renamed');
      if (!canManage(room.role)) throw new ForbiddenException('Only the owner or an admin can change the room');
      const topic = change.topic === undefined ? undefined : change.topic || null;
      await this.db
        .query(`UPDATE chat.rooms SET name = COALESCE($2, name), topic = CASE WHEN $3 THEN $4 ELSE topic END WHERE id = $1`, [
          roomId,
          change.name ?? null,
          topic !== undefined,
          topic ?? null,
        ])
        .catch((e: unknown) => {
          throw publicNameTaken(e) ?? e;
        });
      const views = await this.viewsOfAll(roomId);
      this.realtime.roomUpdated(views);
      return views.find((v) => v.userId === user.id)?.room ?? roomView(this.db, user.id, roomId);
    });
  }

  /**
   * Leave. A direct room cannot be left. An owner hands ownership to the longest-standing
   * admin, else the longest-standing member; the last member leaving deletes the room.
   */
  leave(user: AuthUser, roomId: string): Promise<void> {
    return this.lifecycle.track(async () => {
      const heir = await this.db.transaction(async (tx) => {
        const room = await memberRoom(tx, user.id, roomId, true);
        if (room.kind === 'direct') throw new ForbiddenException('A direct conversation cannot be left');
        await this.deleteMember(tx, roomId, user.id);
        if (room.role !== 'owner') return undefined;
        const [next] = await tx.query<Array<{ user_id: string }>>(
          `SELECT user_id FROM chat.members WHERE room_id = $1 ORDER BY (role = 'admin') DESC, joined_at, user_id LIMIT 1`,
          [roomId],
        );
        if (!next) {
          await tx.query(`DELETE FROM chat.rooms WHERE id = $1`, [roomId]);
          return undefined;
        }
        await tx.query(`UPDATE chat.members SET role = 'owner' WHERE room_id = $1 AND user_id = $2`, [roomId, next.user_id]);
        return next.user_id;
      });
      await this.realtime.memberRemoved(user.id, roomId, null);
      if (heir) await this.roleChanged(roomId, heir);
    });
  }

  /** Remove someone: owner or admin, never the owner. Removing myself is leaving. */
  remove(actor: AuthUser, roomId: string, userId: string): Promise<void> {
    if (userId === actor.id) return this.leave(actor, roomId);
    return this.lifecycle.track(async () => {
      await this.db.transaction(async (tx) => {
        const room = await memberRoom(tx, actor.id, roomId, true);
        if (room.kind === 'direct') throw new ForbiddenException('Nobody can be removed from a direct conversation');
        if (!canManage(room.role)) throw new ForbiddenException('Only the owner or an admin can remove members');
        const target = await this.memberRole(tx, roomId, userId);
        if (target === 'owner') throw new ForbiddenException('The owner cannot be removed');
        await this.deleteMember(tx, roomId, userId);
      });
      await this.realtime.memberRemoved(userId, roomId, actor.id);
    });
  }

  /** Make a member an admin or a member again: owner only. */
  setRole(actor: AuthUser, roomId: string, userId: string, role: 'admin' | 'member'): Promise<Member> {
    return this.lifecycle.track(async () => {
      await this.db.transaction(async (tx) => {
        const room = await memberRoom(tx, actor.id, roomId, true);
        if (room.kind === 'direct') throw new ForbiddenException('A direct conversation has no roles');
        if (room.role !== 'owner') throw new ForbiddenException('Only the owner can change roles');
        const target = await this.memberRole(tx, roomId, userId);
        if (target === 'owner') throw new ForbiddenException("The owner's role cannot be changed");
        await tx.query(`UPDATE chat.members SET role = $3 WHERE room_id = $1 AND user_id = $2`, [roomId, userId, role]);
      });
      return this.roleChanged(roomId, userId);
    });
  }

  /** My own settings of a room (muted); my other sockets hear `room:updated`. */
  async settings(user: AuthUser, roomId: string, s: { muted: boolean }): Promise<Room> {
    await memberRoom(this.db, user.id, roomId);
    await this.db.query(`UPDATE chat.members SET muted = $3 WHERE room_id = $1 AND user_id = $2`, [roomId, user.id, s.muted]);
    const room = await roomView(this.db, user.id, roomId);
    this.realtime.roomUpdated([{ userId: user.id, room }]);
    return room;
  }

  /** The target's role; 404 when they are not a member. */
  private async memberRole(tx: Queryable, roomId: string, userId: string): Promise<RoomRole> {
    const [row] = (await tx.query(`SELECT role FROM chat.members WHERE room_id = $1 AND user_id = $2`, [roomId, userId])) as Array<{ role: RoomRole }>;
    if (!row) throw new NotFoundException('No such member');
    return row.role;
  }

  /** The membership and its mention rows (a later re-join starts clean). */
  private async deleteMember(tx: Queryable, roomId: string, userId: string) {
    await tx.query(`DELETE FROM chat.members WHERE room_id = $1 AND user_id = $2`, [roomId, userId]);
    await tx.query(`DELETE FROM chat.mentions WHERE user_id = $1 AND room_id = $2`, [userId, roomId]);
  }

  /** After a role change: the room hears `member:updated`, the member gets their new view of the room. */
  private async roleChanged(roomId: string, userId: string): Promise<Member> {
    const [row] = await this.db.query<MemberRow[]>(
      `SELECT ${MEMBER_COLUMNS} FROM chat.members m JOIN users.users u ON u.id = m.user_id WHERE m.room_id = $1 AND m.user_id = $2`,
      [roomId, userId],
    );
    if (!row) throw new NotFoundException('No such member');
    const member = toMember(row, (await this.realtime.onlineAmong([userId])).length > 0);
    this.realtime.memberUpdated(roomId, member);
    this.realtime.roomUpdated([{ userId, room: await roomView(this.db, userId, roomId) }]);
    return member;
  }

  /** Every member's own view of the room, in one query (the member count is counted once). */
  private async viewsOfAll(roomId: string): Promise<Array<{ userId: string; room: Room }>> {
    const rows = await this.db.query<Array<RoomRow & { user_id: string }>>(
      `SELECT m.user_id, ${ROOM_BASE}, count(*) OVER () AS member_count, ${MENTION_COUNT}
         FROM chat.members m JOIN chat.rooms r ON r.id = m.room_id WHERE m.room_id = $1`,
      [roomId],
    );
    return rows.map((r) => ({ userId: r.user_id, room: toRoom(r) }));
  }
}

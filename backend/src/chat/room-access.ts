import { ConflictException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { isUniqueViolation } from '../common/database/sql.js';
import { ROOM_BASE, ROOM_COLUMNS, type RoomRow, toRoom } from './rows.js';
import type { Room } from '../contract/events.js';

/** A DataSource or a transaction's EntityManager. */
export interface Queryable {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(sql: string, params?: unknown[]): Promise<any>;
}

/**
 * The room and this user's membership (last_read_seq, role, muted are null when not a
 * member), without counts: what access checks need. `lock` takes the room row FOR UPDATE,
 * which orders membership changes of one room (and waits for a join being inserted).
 */
export async function roomFor(db: Queryable, userId: string, roomId: string, lock = false): Promise<RoomRow> {
  // Locked first, then read: the read (a new snapshot) sees what the lock holder before us committed.
  if (lock && ((await db.query(`SELECT id FROM chat.rooms WHERE id = $1 FOR UPDATE`, [roomId])) as unknown[]).length === 0)
    throw new NotFoundException('No such room');
  const [row] = (await db.query(`SELECT ${ROOM_BASE} FROM chat.rooms r LEFT JOIN chat.members m ON m.room_id = r.id AND m.user_id = $2 WHERE r.id = $1`, [
    roomId,
    userId,
  ])) as RoomRow[];
  if (!row) throw new NotFoundException('No such room');
  return row;
}

/** Members pass; others get 403 on a public room and 404 where they may not even see it. */
export async function memberRoom(db: Queryable, userId: string, roomId: string, lock = false): Promise<RoomRow> {
  const room = await roomFor(db, userId, roomId, lock);
  if (room.last_read_seq != null) return room;
  if (room.kind === 'public') throw new ForbiddenException('Join this room first');
  throw new NotFoundException('No such room');
}

/** The whole room (counts included) as this user sees it. */
export async function roomView(db: Queryable, userId: string, roomId: string): Promise<Room> {
  const [row] = (await db.query(`SELECT ${ROOM_COLUMNS} FROM chat.rooms r LEFT JOIN chat.members m ON m.room_id = r.id AND m.user_id = $2 WHERE r.id = $1`, [
    roomId,
    userId,
  ])) as RoomRow[];
  if (!row) throw new NotFoundException('No such room');
  return toRoom(row);
}

/** 409 for a unique-violation of public room names, else undefined. */
export function publicNameTaken(e: unknown): ConflictException | undefined {
  return isUniqueViolation(e, 'rooms_public_name_unique') ? new ConflictException('A public room with this name already exists') : undefined;
}

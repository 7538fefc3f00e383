import { randomUUID } from 'node:crypto';
import { returning } from '../common/database/sql.js';
import type { Queryable } from './room-access.js';

/**
 * Puts a new account into the public room named `name` (case-insensitive), in the
 * registration's transaction, so a new user's first screen has a room to talk in. The room
 * is created when missing; whoever creates it owns it (the first account of a new install).
 * Found by name: after a rename the next registration creates a room with this name again.
 */
export async function joinDefaultRoom(tx: Queryable, userId: string, name: string): Promise<void> {
  // ON CONFLICT waits for a concurrent registration creating it, then does nothing.
  const created = returning<{ id: string }>(
    await tx.query(
      `INSERT INTO chat.rooms (id, name, kind, created_by) VALUES ($1, $2, 'public', $3)
       ON CONFLICT (lower(name)) WHERE kind = 'public' DO NOTHING RETURNING id`,
      [randomUUID(), name, userId],
    ),
  );
  if (created.length > 0) {
    await tx.query(`INSERT INTO chat.members (room_id, user_id, role) VALUES ($1, $2, 'owner')`, [created[0].id, userId]);
    return;
  }
  await tx.query(
    `INSERT INTO chat.members (room_id, user_id, role)
     SELECT id, $2, 'member' FROM chat.rooms WHERE kind = 'public' AND lower(name) = lower($1)
     ON CONFLICT DO NOTHING`,
    [name, userId],
  );
}

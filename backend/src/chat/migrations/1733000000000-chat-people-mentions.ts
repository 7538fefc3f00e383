import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Longest room name (varchar(80) in ChatInit). */
const NAME_MAX = 80;

/**
 * Version 2, rooms and people, and mentions: a topic per room; a role and a mute flag per
 * membership; the users each message mentions, and one row per (user, mention) so unread
 * mentions are counted from an index; public room names unique case-insensitively.
 *
 * Existing data is kept: each room's creator, if still a member, becomes its owner (any other
 * non-direct room without one gets its longest-standing member as owner), everyone else is a
 * member. Public rooms whose names were equal case-insensitively keep the oldest room's name
 * (created_at, then id); each later one is renamed "<name> (2)", "<name> (3)", … (the name cut
 * to fit 80 characters), skipping any suffix another public room already uses.
 */
export class ChatPeopleMentions1733000000000 implements MigrationInterface {
  name = 'ChatPeopleMentions1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE chat.rooms ADD COLUMN topic varchar(250)`);
    await q.query(`ALTER TABLE chat.members ADD COLUMN role varchar(8) NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member'))`);
    await q.query(`ALTER TABLE chat.members ADD COLUMN muted boolean NOT NULL DEFAULT false`);
    await q.query(`UPDATE chat.members m SET role = 'owner' FROM chat.rooms r WHERE r.id = m.room_id AND r.kind <> 'direct' AND m.user_id = r.created_by`);
    await q.query(`UPDATE chat.members m SET role = 'owner' FROM (
        SELECT DISTINCT ON (x.room_id) x.room_id, x.user_id FROM chat.members x JOIN chat.rooms r ON r.id = x.room_id
         WHERE r.kind <> 'direct' AND NOT EXISTS (SELECT 1 FROM chat.members o WHERE o.room_id = x.room_id AND o.role = 'owner')
         ORDER BY x.room_id, x.joined_at, x.user_id
      ) first WHERE m.room_id = first.room_id AND m.user_id = first.user_id`);
    // At most one owner per room.
    await q.query(`CREATE UNIQUE INDEX members_one_owner ON chat.members (room_id) WHERE role = 'owner'`);

    await this.renameDuplicates(q);
    await q.query(`CREATE UNIQUE INDEX rooms_public_name_unique ON chat.rooms (lower(name)) WHERE kind = 'public'`);

    await q.query(`ALTER TABLE chat.messages ADD COLUMN mentions uuid[] NOT NULL DEFAULT '{}'`);
    await q.query(`CREATE TABLE chat.mentions (
      user_id uuid NOT NULL,
      room_id uuid NOT NULL REFERENCES chat.rooms(id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      PRIMARY KEY (user_id, room_id, seq)
    )`);
    // Deleting a message, or a room's mentions of someone who left, finds its rows by room.
    await q.query(`CREATE INDEX mentions_room_seq ON chat.mentions (room_id, seq)`);
  }

  private async renameDuplicates(q: QueryRunner): Promise<void> {
    const dups: Array<{ id: string; name: string }> = await q.query(`
      SELECT id, name FROM (
        SELECT id, name, row_number() OVER (PARTITION BY lower(name) ORDER BY created_at, id) AS n
          FROM chat.rooms WHERE kind = 'public'
      ) ranked WHERE n > 1 ORDER BY lower(name), n`);
    for (const room of dups) {
      for (let n = 2; ; n++) {
        const suffix = ` (${n})`;
        const candidate = room.name.slice(0, NAME_MAX - suffix.length) + suffix;
        const taken: unknown[] = await q.query(`SELECT 1 FROM chat.rooms WHERE kind = 'public' AND lower(name) = lower($1)`, [candidate]);
        if (taken.length > 0) continue;
        await q.query(`UPDATE chat.rooms SET name = $2 WHERE id = $1`, [room.id, candidate]);
        break;
      }
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE chat.mentions`);
    await q.query(`ALTER TABLE chat.messages DROP COLUMN mentions`);
    await q.query(`DROP INDEX chat.rooms_public_name_unique`);
    await q.query(`DROP INDEX chat.members_one_owner`);
    await q.query(`ALTER TABLE chat.members DROP COLUMN muted`);
    await q.query(`ALTER TABLE chat.members DROP COLUMN role`);
    await q.query(`ALTER TABLE chat.rooms DROP COLUMN topic`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Version 2, threads, reactions and catch-up of changes: a per-room change counter
 * (rooms.last_change) and the change that last touched each message (messages.change); a
 * message's thread root (thread_id), reply count and last reply time; who reacted with what
 * (chat.reactions), with each message's summary kept on the message (reactions jsonb) so reads
 * need no join.
 *
 * Existing data: a message's change is its seq and a room's last_change its last_seq, which
 * is what the counter would hold had it been there from the start (one change per message).
 */
export class ChatThreadsReactionsChanges1734000000000 implements MigrationInterface {
  name = 'ChatThreadsReactionsChanges1734000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE chat.rooms ADD COLUMN last_change bigint NOT NULL DEFAULT 0`);
    await q.query(`UPDATE chat.rooms SET last_change = last_seq`);
    await q.query(`ALTER TABLE chat.messages
      ADD COLUMN change bigint NOT NULL DEFAULT 0,
      ADD COLUMN thread_id uuid REFERENCES chat.messages(id) ON DELETE CASCADE,
      ADD COLUMN reply_count integer NOT NULL DEFAULT 0,
      ADD COLUMN last_reply_at timestamptz,
      ADD COLUMN reactions jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`UPDATE chat.messages SET change = seq`);
    // Catch-up reads a room's messages changed after a point, in change order.
    await q.query(`CREATE INDEX messages_room_change ON chat.messages (room_id, change)`);
    // A thread's replies in seq order.
    await q.query(`CREATE INDEX messages_thread_seq ON chat.messages (thread_id, seq) WHERE thread_id IS NOT NULL`);
    await q.query(`CREATE TABLE chat.reactions (
      message_id uuid NOT NULL REFERENCES chat.messages(id) ON DELETE CASCADE,
      emoji varchar(64) NOT NULL,
      user_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (message_id, emoji, user_id)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE chat.reactions`);
    await q.query(`DROP INDEX chat.messages_thread_seq`);
    await q.query(`DROP INDEX chat.messages_room_change`);
    await q.query(
      `ALTER TABLE chat.messages DROP COLUMN reactions, DROP COLUMN last_reply_at, DROP COLUMN reply_count, DROP COLUMN thread_id, DROP COLUMN change`,
    );
    await q.query(`ALTER TABLE chat.rooms DROP COLUMN last_change`);
  }
}

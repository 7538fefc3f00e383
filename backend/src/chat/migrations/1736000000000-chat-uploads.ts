import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Files in messages. `chat.uploads` holds what is known about each file (the type detected
 * from its bytes, never the client's claim); with UPLOAD_STORAGE=postgres its bytes are rows of
 * `chat.upload_chunks` (about 256 KB each, written as they arrive and read back one by one).
 * An upload belongs to a room and, once sent, to one message. Rows the sweep removes: never
 * attached within UPLOAD_ORPHAN_AGE, marked `gone` (their message was deleted), or whose room
 * went away (room_id set null); the sweep deletes their bytes from the storage first.
 * `chat.messages.attachments` is the message's copy of its uploads' public fields.
 */
export class ChatUploads1736000000000 implements MigrationInterface {
  name = 'ChatUploads1736000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chat.uploads (
        id uuid PRIMARY KEY,
        room_id uuid REFERENCES chat.rooms(id) ON DELETE SET NULL,
        uploader_id uuid NOT NULL,
        name text NOT NULL,
        size bigint NOT NULL DEFAULT 0,
        content_type text NOT NULL DEFAULT 'application/octet-stream',
        width int,
        height int,
        thumbnail bytea,
        state text NOT NULL DEFAULT 'receiving' CHECK (state IN ('receiving', 'ready', 'gone')),
        message_id uuid REFERENCES chat.messages(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX uploads_message ON chat.uploads (message_id) WHERE message_id IS NOT NULL`);
    // What the sweep looks for: never attached (by age), gone, or without a room.
    await q.query(`CREATE INDEX uploads_unattached ON chat.uploads (created_at) WHERE message_id IS NULL OR state = 'gone' OR room_id IS NULL`);
    await q.query(`
      CREATE TABLE chat.upload_chunks (
        upload_id uuid NOT NULL REFERENCES chat.uploads(id) ON DELETE CASCADE,
        n int NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (upload_id, n)
      )`);
    await q.query(`ALTER TABLE chat.messages ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]'::jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE chat.messages DROP COLUMN attachments`);
    await q.query(`DROP TABLE chat.upload_chunks`);
    await q.query(`DROP TABLE chat.uploads`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The chat schema: rooms with their seq counter, memberships with read markers, messages. */
export class ChatInit1732000000002 implements MigrationInterface {
  name = 'ChatInit1732000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS chat`);
    await q.query(`CREATE TABLE chat.rooms (
      id uuid PRIMARY KEY,
      name varchar(80) NOT NULL,
      kind varchar(8) NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
      created_by uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seq bigint NOT NULL DEFAULT 0,
      direct_key varchar(73) UNIQUE
    )`);
    await q.query(`CREATE INDEX rooms_public_name ON chat.rooms (lower(name) text_pattern_ops) WHERE kind = 'public'`);
    await q.query(`CREATE TABLE chat.members (
      room_id uuid NOT NULL REFERENCES chat.rooms(id) ON DELETE CASCADE,
      user_id uuid NOT NULL,
      joined_at timestamptz NOT NULL DEFAULT now(),
      last_read_seq bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (room_id, user_id)
    )`);
    await q.query(`CREATE INDEX members_user ON chat.members (user_id)`);
    await q.query(`CREATE TABLE chat.messages (
      id uuid PRIMARY KEY,
      room_id uuid NOT NULL REFERENCES chat.rooms(id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      sender_id uuid NOT NULL,
      sender_name varchar(64) NOT NULL,
      body text NOT NULL,
      client_id varchar(64) NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      edited_at timestamptz,
      deleted boolean NOT NULL DEFAULT false
    )`);
    // History and catch-up walk (room_id, seq); idempotent sends look up (sender_id, client_id).
    await q.query(`CREATE UNIQUE INDEX messages_room_seq ON chat.messages (room_id, seq)`);
    await q.query(`CREATE UNIQUE INDEX messages_sender_client ON chat.messages (sender_id, client_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SCHEMA chat CASCADE`);
  }
}

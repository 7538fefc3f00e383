import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The users schema: public profiles, searchable by username or display-name prefix. */
export class UsersInit1732000000000 implements MigrationInterface {
  name = 'UsersInit1732000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS users`);
    await q.query(`CREATE TABLE users.users (
      id uuid PRIMARY KEY,
      username varchar(32) NOT NULL,
      display_name varchar(64) NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT users_username_lower CHECK (username = lower(username))
    )`);
    await q.query(`CREATE UNIQUE INDEX users_username_key ON users.users (username text_pattern_ops)`);
    await q.query(`CREATE INDEX users_display_name_prefix ON users.users (lower(display_name) text_pattern_ops)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SCHEMA users CASCADE`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The auth schema: password hashes and refresh-token families. */
export class AuthInit1732000000001 implements MigrationInterface {
  name = 'AuthInit1732000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS auth`);
    await q.query(`CREATE TABLE auth.credentials (
      user_id uuid PRIMARY KEY,
      username varchar(32) NOT NULL UNIQUE,
      password_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE auth.refresh_tokens (
      id uuid PRIMARY KEY,
      family_id uuid NOT NULL,
      user_id uuid NOT NULL REFERENCES auth.credentials(user_id) ON DELETE CASCADE,
      token_hash char(64) NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      revoked_at timestamptz
    )`);
    await q.query(`CREATE INDEX refresh_tokens_family ON auth.refresh_tokens (family_id)`);
    await q.query(`CREATE INDEX refresh_tokens_expiry ON auth.refresh_tokens (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SCHEMA auth CASCADE`);
  }
}

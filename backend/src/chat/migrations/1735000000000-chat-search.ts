import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Full-text search of messages: a GIN index on their words, 'simple' configuration (see
 * search.service.ts for why), over non-deleted messages only, so a deleted message never
 * matches and costs nothing in the index. Queries must use the same expression and predicate.
 *
 * Built in the migration's transaction (CREATE INDEX CONCURRENTLY cannot run in one): on a
 * large existing table it blocks sends while it builds.
 */
export class ChatSearch1735000000000 implements MigrationInterface {
  name = 'ChatSearch1735000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX messages_search ON chat.messages USING gin (to_tsvector('simple', body)) WHERE NOT deleted`);
    // Newest first across rooms: the order search results come in when a query matches many.
    await q.query(`CREATE INDEX messages_created ON chat.messages (created_at DESC, seq DESC, id DESC) WHERE NOT deleted`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX chat.messages_created`);
    await q.query(`DROP INDEX chat.messages_search`);
  }
}

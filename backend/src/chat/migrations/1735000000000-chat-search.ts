import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Full-text search of messages: a GIN index on their words, 'simple' configuration (see
 * search.service.ts for why); queries must use the same expression. Not partial: the planner
 * ignores a partial index's expression statistics, and without them it takes a word in most
 * messages for a rare one (seconds instead of milliseconds at 1M messages); a deleted message's body is empty, so
 * it has no entries anyway.
 *
 * Built in the migration's transaction (CREATE INDEX CONCURRENTLY cannot run in one): on a
 * large existing table it blocks sends while it builds.
 */
export class ChatSearch1735000000000 implements MigrationInterface {
  name = 'ChatSearch1735000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX messages_search ON chat.messages USING gin (to_tsvector('simple', body))`);
    // Newest first across rooms: the order search results come in when a query matches many.
    await q.query(`CREATE INDEX messages_created ON chat.messages (created_at DESC, seq DESC, id DESC) WHERE NOT deleted`);
    // The new index's statistics now, not at autovacuum's next analyze (a sample: cheap on a large table).
    await q.query(`ANALYZE chat.messages`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX chat.messages_created`);
    await q.query(`DROP INDEX chat.messages_search`);
  }
}

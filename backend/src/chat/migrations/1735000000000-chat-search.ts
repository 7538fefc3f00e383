import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Full-text search of messages: each message's words as a stored tsvector (`words`, computed
 * by PostgreSQL from the body on every insert and edit; 'simple' configuration, see
 * search.service.ts for why) with a GIN index on it, and a newest-first index.
 *
 * Stored, not an expression index: a search walking newest-first tests each row's words, and
 * reading them costs far less than parsing the body again (2-5x faster searches for words in
 * some thousands of messages, measured at 1M messages). Not partial: the planner ignores a
 * partial index's statistics on its expression, and without them took a word in most messages
 * for a rare one (seconds instead of milliseconds); a deleted message's body is empty, so it
 * has no entries anyway.
 *
 * Adding the column rewrites chat.messages inside the migration's transaction (about 40 s per
 * million messages on the benchmark machine, sends blocked meanwhile).
 */
export class ChatSearch1735000000000 implements MigrationInterface {
  name = 'ChatSearch1735000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE chat.messages ADD COLUMN words tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED`);
    await q.query(`CREATE INDEX messages_words ON chat.messages USING gin (words)`);
    // Newest first across rooms: the order search results come in when a query matches many.
    await q.query(`CREATE INDEX messages_created ON chat.messages (created_at DESC, seq DESC, id DESC) WHERE NOT deleted`);
    // The new statistics now, not at autovacuum's next analyze (a sample: cheap on a large table).
    await q.query(`ANALYZE chat.messages`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX chat.messages_created`);
    await q.query(`ALTER TABLE chat.messages DROP COLUMN words`);
  }
}

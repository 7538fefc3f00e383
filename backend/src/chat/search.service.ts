import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { InjectConfig } from '../common/config/config.module.js';
import type { AppConfig } from '../common/config/config.schema.js';
import { READ_WINDOW_MS, RateLimiter } from '../common/ratelimit/rate-limiter.js';
import { ValidationFailed } from '../common/http/errors.js';
import type { SearchPage } from '../contract/events.js';
import { SEARCH_CURSOR_INVALID } from '../contract/schemas.js';
import { memberRoom } from './room-access.js';
import { MESSAGE_COLUMNS_OF_M, type MessageRow, toMessage } from './rows.js';
import { decodeCursor, encodeCursor, escapeHtml, parseSearch, renderHighlight } from './search-query.js';

/**
 * The text search configuration of the query; messages.words (migration 1735000000000) is
 * built with the same. 'simple': lowercased words, no stemming and no stop words, so no
 * language's rules are applied to another's text.
 */
export const SEARCH_CONFIG = 'simple';
// Markers are START_SEL/STOP_SEL of search-query.ts.
const HEADLINE_OPTIONS = `'HighlightAll=true, StartSel=' || chr(1) || ', StopSel=' || chr(2)`;

export interface SearchRequest {
  q: string;
  roomId?: string;
  /** The `next` of the previous page. */
  before?: string;
  limit: number;
}

type Row = MessageRow & { micros: string; headline: string | null };

/** Full-text search over the messages of the rooms a user is a member of now. */
@Injectable()
export class SearchService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
  ) {}

  async search(userId: string, req: SearchRequest): Promise<SearchPage> {
    const before = req.before === undefined ? undefined : decodeCursor(req.before);
    if (req.before !== undefined && !before) throw new ValidationFailed([{ field: 'before', message: SEARCH_CURSOR_INVALID }]);
    await this.limiter.enforce(`read:${userId}`, this.config.READ_RATE_LIMIT!, READ_WINDOW_MS);
    // Same answers as reading the room's messages: 403 for a public room I am not in, else 404.
    if (req.roomId) await memberRoom(this.db, userId, req.roomId);
    const parsed = parseSearch(req.q);
    let tsquery: string | undefined;
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    if (parsed.text) {
      // Only punctuation (no lexemes): nothing can match; websearch_to_tsquery never rejects input.
      const [{ n }] = await this.db.query<Array<{ n: number }>>(`SELECT numnode(websearch_to_tsquery('${SEARCH_CONFIG}', $1)) AS n`, [parsed.text]);
      if (Number(n) === 0) return { results: [], next: null };
      tsquery = `websearch_to_tsquery('${SEARCH_CONFIG}', ${p(parsed.text)})`;
    }
    // My rooms now (narrowed by roomId and in:), read in this request: leaving a room hides its
    // messages from the next search. Passed as a list, the planner sees how many there are, and
    // the cheap room test runs before the word test on every row it walks.
    const rooms = (
      await this.db.query<Array<{ id: string }>>(
        `SELECT r.id FROM chat.members x JOIN chat.rooms r ON r.id = x.room_id WHERE x.user_id = $1
           ${req.roomId ? 'AND r.id = $2' : ''}
           ${parsed.in.length ? `AND lower(r.name) IN (SELECT lower(v) FROM unnest($${req.roomId ? 3 : 2}::text[]) v)` : ''}`,
        [userId, ...(req.roomId ? [req.roomId] : []), ...(parsed.in.length ? [parsed.in] : [])],
      )
    ).map((r) => r.id);
    if (rooms.length === 0) return { results: [], next: null };
    const where = [`m.room_id = ANY(${p(rooms)}::uuid[])`, 'NOT m.deleted'];
    if (tsquery) where.push(`m.words @@ ${tsquery}`);
    if (parsed.from.length) where.push(`m.sender_id IN (SELECT u.id FROM users.users u WHERE u.username = ANY(${p(parsed.from)}::text[]))`);
    if (before) {
      const at = `(timestamptz 'epoch' + ${p(before.micros)}::bigint * interval '1 microsecond')`;
      where.push(`(m.created_at, m.seq, m.id) < (${at}, ${p(before.seq)}::bigint, ${p(before.id)}::uuid)`);
    }
    // The page first, then the headlines of only its rows (ts_headline re-parses each body).
    // The body's own \x01/\x02 become spaces there, so every marker in the headline is ours.
    const rows = await this.db.query<Row[]>(
      `SELECT page.*, ${tsquery ? `ts_headline('${SEARCH_CONFIG}', translate(page.body, chr(1) || chr(2), '  '), ${tsquery}, ${HEADLINE_OPTIONS})` : 'NULL'} AS headline
         FROM (SELECT ${MESSAGE_COLUMNS_OF_M}, (extract(epoch FROM m.created_at) * 1000000)::bigint::text AS micros
                 FROM chat.messages m
                WHERE ${where.join(' AND ')}
                ORDER BY m.created_at DESC, m.seq DESC, m.id DESC
                LIMIT ${p(req.limit + 1)}) page
        ORDER BY page.created_at DESC, page.seq DESC, page.id DESC`,
      params,
    );
    const page = rows.slice(0, req.limit);
    const last = page[page.length - 1];
    return {
      results: page.map((r) => ({ message: toMessage(r), highlight: r.headline == null ? escapeHtml(r.body) : renderHighlight(r.headline) })),
      next: rows.length > req.limit ? encodeCursor({ micros: last.micros, seq: Number(last.seq), id: last.id }) : null,
    };
  }
}

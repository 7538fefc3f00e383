/**
 * Message search, the parts that need no database: splitting `q` into its text and its
 * `from:` / `in:` operators, the opaque paging cursor, and turning ts_headline's output into
 * safe HTML.
 */

export interface ParsedSearch {
  /** What is left for websearch_to_tsquery: words, "quoted phrases", -excluded, `or`. */
  text: string;
  /** Usernames (lowercased); a message matches if its sender is any of them. */
  from: string[];
  /** Room names as typed; a message matches if its room's name equals any of them, case-insensitively. */
  in: string[];
}

// An operator starts a whitespace-separated token; its value is one token or a "quoted" run
// (room names may hold spaces). Without a value (`from:`) it is just text.
const OPERATOR = /(?<=^|\s)(from|in):(?:"([^"]+)"|([^\s"]+))(?=\s|$)/giu;

export function parseSearch(q: string): ParsedSearch {
  const from: string[] = [];
  const rooms: string[] = [];
  const text = q.replace(OPERATOR, (_all, op: string, quoted: string | undefined, bare: string | undefined) => {
    const value = (quoted ?? bare ?? '').trim();
    if (!value) return ' ';
    if (op.toLowerCase() === 'from') from.push(value.replace(/^@/, '').toLowerCase());
    else rooms.push(value);
    return ' ';
  });
  return { text: text.replace(/\s+/gu, ' ').trim(), from: [...new Set(from)], in: [...new Set(rooms)] };
}

/**
 * A position in the newest-first order (created_at, seq, id), all descending. created_at is
 * kept in whole microseconds (PostgreSQL's precision; a JS Date would round it to ms).
 */
export interface SearchCursor {
  micros: string;
  seq: number;
  id: string;
}

const CURSOR = /^([0-9]{1,18}):([0-9]{1,16}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function encodeCursor(c: SearchCursor): string {
  return Buffer.from(`${c.micros}:${c.seq}:${c.id}`).toString('base64url');
}

/** The cursor, or undefined when it is not one this server made (the caller answers 400). */
export function decodeCursor(s: string): SearchCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(s)) return undefined;
  const m = CURSOR.exec(Buffer.from(s, 'base64url').toString('latin1'));
  if (!m) return undefined;
  const c = { micros: m[1], seq: Number(m[2]), id: m[3] };
  // Only the canonical spelling: base64url has several for one byte string (trailing bits).
  return encodeCursor(c) === s ? c : undefined;
}

/** ts_headline's markers; the body handed to it has these replaced (see STRIP_SENTINELS), so every one in its output is ours. */
export const START_SEL = '\u0001';
export const STOP_SEL = '\u0002';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** HTML of a headline: everything escaped, then the markers become <mark> tags (so no tag comes from the body). */
export function renderHighlight(headline: string): string {
  return escapeHtml(headline).replaceAll(START_SEL, '<mark>').replaceAll(STOP_SEL, '</mark>');
}

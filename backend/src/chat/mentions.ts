/**
 * `@name` tokens of a message body, for mention resolution. A token starts after anything
 * that is not a username character (so `bob@example.com` mentions nobody) and runs over
 * username characters (a-z 0-9 _ . -); trailing dots and hyphens are punctuation, so
 * `@bob.` and `@bob...` still name bob. Names are lower-cased (usernames are stored so).
 */
const TOKEN = /(?<![A-Za-z0-9_.-])@([A-Za-z0-9_.-]+)/g;
/** `@room` mentions every member of the room. */
export const ROOM_MENTION = 'room';
/**
 * Above this many members `@room` mentions nobody: each mention is a row per member and the
 * member ids travel in the message to every member (a default room holds every account).
 */
export const ROOM_MENTION_MAX_MEMBERS = 1000;
const MAX_NAMES = 50;

export interface MentionCandidates {
  names: string[];
  room: boolean;
}

export function mentionCandidates(body: string): MentionCandidates {
  if (!body.includes('@')) return { names: [], room: false };
  const names = new Set<string>();
  let room = false;
  for (const match of body.matchAll(TOKEN)) {
    const raw = match[1].toLowerCase();
    for (const name of new Set([raw, raw.replace(/[.-]+$/, '')])) {
      if (name === ROOM_MENTION) room = true;
      // A body may hold many @s; only so many names are looked up.
      else if (name.length >= 3 && name.length <= 32 && names.size < MAX_NAMES) names.add(name);
    }
  }
  return { names: [...names], room };
}

/** A DataSource or a transaction's EntityManager. */
interface Queryable {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(sql: string, params?: unknown[]): Promise<any>;
}

/**
 * The member ids each message mentions, for a whole batch in one query (none when no body
 * has an `@`): `@username` of a member of that room, and every member for `@room` in rooms
 * of up to ROOM_MENTION_MAX_MEMBERS.
 */
export async function resolveMentions(db: Queryable, messages: Array<{ roomId: string; body: string }>): Promise<string[][]> {
  const out = messages.map(() => [] as string[]);
  const idx: number[] = [];
  const rooms: string[] = [];
  const names: string[] = [];
  messages.forEach((m, i) => {
    const c = mentionCandidates(m.body);
    // '@room' cannot be a username (no '@' in those), so it marks "everyone" in the same list.
    for (const name of c.room ? [...c.names, `@${ROOM_MENTION}`] : c.names) {
      idx.push(i);
      rooms.push(m.roomId);
      names.push(name);
    }
  });
  if (idx.length === 0) return out;
  const rows = (await db.query(
    `WITH t AS (SELECT * FROM unnest($1::int[], $2::uuid[], $3::text[]) AS t(i, room_id, name))
     SELECT t.i, m.user_id FROM t JOIN users.users u ON u.username = t.name JOIN chat.members m ON m.room_id = t.room_id AND m.user_id = u.id
     UNION
     SELECT t.i, m.user_id FROM t JOIN chat.members m ON m.room_id = t.room_id
      WHERE t.name = $4 AND (SELECT count(*) FROM (SELECT 1 FROM chat.members c WHERE c.room_id = t.room_id LIMIT $5 + 1) n) <= $5
     ORDER BY 1, 2`,
    [idx, rooms, names, `@${ROOM_MENTION}`, ROOM_MENTION_MAX_MEMBERS],
  )) as Array<{ i: number; user_id: string }>;
  for (const r of rows) out[Number(r.i)].push(r.user_id);
  return out;
}

/** The literal of a uuid[] parameter, for arrays of arrays passed through unnest. */
export const uuidArrayLiteral = (ids: string[]) => `{${ids.join(',')}}`;

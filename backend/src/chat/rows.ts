import type { Member, Message, Reaction, Room, RoomKind, RoomRole, Upload } from '../contract/events.js';

export interface RoomRow {
  id: string;
  name: string;
  kind: RoomKind;
  topic?: string | null;
  created_by: string;
  created_at: Date;
  last_seq: string;
  last_change?: string;
  /** The viewer's membership: all null when not a member. */
  last_read_seq?: string | null;
  role?: RoomRole | null;
  muted?: boolean | null;
  member_count?: string | number;
  mention_count?: string | number | null;
}

export interface MessageRow {
  id: string;
  room_id: string;
  seq: string;
  sender_id: string;
  sender_name: string;
  body: string;
  client_id: string;
  created_at: Date;
  edited_at: Date | null;
  deleted: boolean;
  mentions?: string[] | string | null;
  change: string;
  thread_id: string | null;
  reply_count: number;
  last_reply_at: Date | null;
  reactions: Reaction[] | string;
  attachments?: Upload[] | string;
}

export interface MemberRow {
  user_id: string;
  username: string;
  display_name: string;
  role: RoomRole;
  joined_at: Date;
}

/** pg parses uuid[] to an array; a driver that does not hands over the '{a,b}' text form. */
function uuidArray(v: string[] | string | null | undefined): string[] {
  if (Array.isArray(v)) return v;
  if (!v || v === '{}') return [];
  return v.replace(/^\{|\}$/g, '').split(',');
}

// bigint columns arrive as strings from pg; seq values stay far below 2^53.
export const toRoom = (r: RoomRow): Room => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  topic: r.topic ?? null,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  lastSeq: Number(r.last_seq),
  unread: r.last_read_seq == null ? 0 : Math.max(0, Number(r.last_seq) - Number(r.last_read_seq)),
  mentions: r.last_read_seq == null ? 0 : Number(r.mention_count ?? 0),
  role: r.last_read_seq == null ? null : (r.role ?? 'member'),
  memberCount: Number(r.member_count ?? 0),
  muted: r.muted ?? false,
  lastChange: Number(r.last_change ?? 0),
});

export const toMessage = (m: MessageRow): Message => ({
  id: m.id,
  roomId: m.room_id,
  seq: Number(m.seq),
  senderId: m.sender_id,
  senderName: m.sender_name,
  body: m.body,
  clientId: m.client_id,
  createdAt: m.created_at.toISOString(),
  editedAt: m.edited_at ? m.edited_at.toISOString() : null,
  deleted: m.deleted,
  mentions: uuidArray(m.mentions),
  threadId: m.thread_id,
  replyCount: Number(m.reply_count),
  lastReplyAt: m.last_reply_at ? m.last_reply_at.toISOString() : null,
  // jsonb arrives parsed from pg; kept as text by a driver that does not parse it.
  reactions: typeof m.reactions === 'string' ? (JSON.parse(m.reactions) as Reaction[]) : m.reactions,
  change: Number(m.change),
  attachments: typeof m.attachments === 'string' ? (JSON.parse(m.attachments) as Upload[]) : (m.attachments ?? []),
});

export const toMember = (m: MemberRow, online: boolean): Member => ({
  userId: m.user_id,
  username: m.username,
  displayName: m.display_name,
  role: m.role,
  online,
  joinedAt: m.joined_at.toISOString(),
});

/** A room and one user's membership: `r` is chat.rooms, `m` that user's chat.members row (all null for a non-member). */
export const ROOM_BASE = 'r.id, r.name, r.kind, r.topic, r.created_by, r.created_at, r.last_seq, r.last_change, m.last_read_seq, m.role, m.muted';
/** Unread mentions: the user's mention rows past the read marker; in a direct room every unread message. */
export const MENTION_COUNT = `CASE WHEN m.user_id IS NULL THEN 0
       WHEN r.kind = 'direct' THEN GREATEST(r.last_seq - m.last_read_seq, 0)
       ELSE (SELECT count(*) FROM chat.mentions x WHERE x.user_id = m.user_id AND x.room_id = r.id AND x.seq > m.last_read_seq) END AS mention_count`;
/** The whole room as one user sees it (ROOM_BASE, the member count and unread mentions). */
export const ROOM_COLUMNS = `${ROOM_BASE}, (SELECT count(*) FROM chat.members c WHERE c.room_id = r.id) AS member_count, ${MENTION_COUNT}`;
export const MESSAGE_COLUMNS =
  'id, room_id, seq, sender_id, sender_name, body, client_id, created_at, edited_at, deleted, mentions, change, thread_id, reply_count, last_reply_at, reactions, attachments';
/** The same columns qualified with the alias `m`, for joins. */
export const MESSAGE_COLUMNS_OF_M = MESSAGE_COLUMNS.split(', ')
  .map((c) => `m.${c}`)
  .join(', ');
export const MEMBER_COLUMNS = 'm.user_id, u.username, u.display_name, m.role, m.joined_at';

import type { Message, Room, RoomKind } from '../contract/events.js';

export interface RoomRow {
  id: string;
  name: string;
  kind: RoomKind;
  created_by: string;
  created_at: Date;
  last_seq: string;
  last_read_seq?: string | null;
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
}

// bigint columns arrive as strings from pg; seq values stay far below 2^53.
export const toRoom = (r: RoomRow): Room => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  lastSeq: Number(r.last_seq),
  unread: r.last_read_seq == null ? 0 : Math.max(0, Number(r.last_seq) - Number(r.last_read_seq)),
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
});

export const ROOM_COLUMNS = 'r.id, r.name, r.kind, r.created_by, r.created_at, r.last_seq';
export const MESSAGE_COLUMNS = 'id, room_id, seq, sender_id, sender_name, body, client_id, created_at, edited_at, deleted';
/** The same columns qualified with the alias `m`, for joins. */
export const MESSAGE_COLUMNS_OF_M = MESSAGE_COLUMNS.split(', ')
  .map((c) => `m.${c}`)
  .join(', ');

import type { Message, Reaction, Upload } from '@contract/events';

/** A message as the client holds it: confirmed by the server, or still pending its ack. */
export interface ChatMessage extends Message {
  pending?: boolean;
  failed?: boolean;
}

/** A message typed here, shown at once, before the server has stored it. */
export function pendingMessage(p: {
  roomId: string;
  body: string;
  clientId: string;
  senderId: string;
  senderName: string;
  threadId?: string;
  attachments?: Upload[];
  now?: Date;
}): ChatMessage {
  return {
    id: `pending:${p.clientId}`,
    roomId: p.roomId,
    seq: Number.POSITIVE_INFINITY,
    senderId: p.senderId,
    senderName: p.senderName,
    body: p.body,
    clientId: p.clientId,
    createdAt: (p.now ?? new Date()).toISOString(),
    editedAt: null,
    deleted: false,
    mentions: [],
    threadId: p.threadId ?? null,
    replyCount: 0,
    lastReplyAt: null,
    reactions: [],
    change: 0,
    attachments: p.attachments ?? [],
    pending: true,
  };
}

/** What `message:send` carries for a message: the same on every retry (same clientId, same upload ids), so it is stored once. */
export function sendPayload(m: ChatMessage) {
  return {
    roomId: m.roomId,
    body: m.body,
    clientId: m.clientId,
    ...(m.threadId ? { threadId: m.threadId } : {}),
    ...(m.attachments.length ? { attachments: m.attachments.map((a) => a.id) } : {}),
  };
}

// The room's change counter orders versions of a message (reactions and replies leave editedAt alone).
const newer = (a: Message, b: Message) => (a.change !== b.change ? a.change > b.change : (a.editedAt ?? a.createdAt) >= (b.editedAt ?? b.createdAt));

/**
 * Merges server messages into a room's list: dedupes by id and by seq, replaces the pending
 * copy that has the same sender and clientId, keeps the latest edit, and orders confirmed
 * messages by seq with pending ones after them in the order they were typed.
 */
export function merge(existing: ChatMessage[], incoming: Message[]): ChatMessage[] {
  const confirmed = new Map<number, ChatMessage>();
  const pending: ChatMessage[] = [];
  for (const m of existing) {
    if (m.pending || m.failed) pending.push(m);
    else confirmed.set(m.seq, m);
  }
  for (const m of incoming) {
    const had = confirmed.get(m.seq);
    if (!had || had.id !== m.id || newer(m, had)) confirmed.set(m.seq, { ...m });
  }
  const settled = new Set([...confirmed.values()].map((m) => `${m.senderId}|${m.clientId}`));
  const stillPending = pending.filter((p) => !settled.has(`${p.senderId}|${p.clientId}`));
  return [...[...confirmed.values()].sort((a, b) => a.seq - b.seq), ...stillPending];
}

export function addPending(existing: ChatMessage[], p: ChatMessage): ChatMessage[] {
  if (existing.some((m) => m.clientId === p.clientId && m.senderId === p.senderId && !m.pending && !m.failed)) return existing;
  return [...existing.filter((m) => !(m.clientId === p.clientId && (m.pending || m.failed))), p];
}

/** Marks a pending message as failed (shown with a retry that reuses its clientId). */
export function markFailed(existing: ChatMessage[], clientId: string): ChatMessage[] {
  return existing.map((m) => (m.clientId === clientId && m.pending ? { ...m, pending: false, failed: true } : m));
}

export function markPending(existing: ChatMessage[], clientId: string): ChatMessage[] {
  return existing.map((m) => (m.clientId === clientId && m.failed ? { ...m, pending: true, failed: false } : m));
}

/** Highest confirmed seq: the point a `sync` resumes from. */
export function lastSeq(messages: ChatMessage[]): number {
  let max = 0;
  for (const m of messages) if (!m.pending && !m.failed && m.seq > max) max = m.seq;
  return max;
}

export function firstSeq(messages: ChatMessage[]): number | undefined {
  for (const m of messages) if (!m.pending && !m.failed) return m.seq;
  return undefined;
}

export function unsent(messages: ChatMessage[]): ChatMessage[] {
  return messages.filter((m) => m.pending || m.failed);
}

/** The main timeline: roots and plain messages; thread replies show in their thread only. */
export function timeline(messages: ChatMessage[]): ChatMessage[] {
  return messages.filter((m) => !m.threadId);
}

/** Where the "New messages" line goes in the timeline: the first shown message at or after the first unread seq. */
export function lineSeq(shown: ChatMessage[], unreadFrom: number | undefined): number | undefined {
  if (unreadFrom === undefined) return undefined;
  return shown.find((m) => !m.pending && !m.failed && m.seq >= unreadFrom)?.seq;
}

/** Who reacted, in words: "You, Ann and 3 others" (names the store does not know yet show as "someone"). */
export function reactedBy(r: Reaction, meId: string, nameOf: (userId: string) => string | undefined): string {
  const names = r.userIds.map((id) => (id === meId ? 'You' : (nameOf(id) ?? 'someone')));
  const others = Math.max(0, r.count - names.length);
  if (others > 0) names.push(`${others} ${others === 1 ? 'other' : 'others'}`);
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/**
 * A search highlight (the server's HTML: the body escaped, matched words in <mark>) as text
 * parts to render as text nodes. Only `<mark>`/`</mark>` and the five escapes are understood;
 * anything else stays literal text, so whatever the server sent, no element but mark is made.
 */
export function highlightParts(html: string): Array<{ text: string; mark: boolean }> {
  const parts: Array<{ text: string; mark: boolean }> = [];
  let mark = false;
  for (const piece of html.split(/(<mark>|<\/mark>)/)) {
    if (piece === '<mark>') mark = true;
    else if (piece === '</mark>') mark = false;
    else if (piece) parts.push({ text: piece.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]), mark });
  }
  return parts;
}

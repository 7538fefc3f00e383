import type { Member, Message, RoomRole } from '@contract/events';

/** Messages closer than this from one sender share one name and time. */
export const GROUP_WINDOW_MS = 5 * 60_000;

/** Whether `m` continues the run of `prev`: same sender, within the window, nothing in between. */
export function continuesGroup(prev: Message | undefined, m: Message, breakBefore = false): boolean {
  if (!prev || breakBefore || prev.senderId !== m.senderId) return false;
  const gap = Date.parse(m.createdAt) - Date.parse(prev.createdAt);
  return gap >= 0 && gap < GROUP_WINDOW_MS;
}

/** The `@word` being typed just before the caret (what autocomplete completes), or null. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const m = /(?<![A-Za-z0-9_.-])@([A-Za-z0-9_.-]{0,32})$/.exec(text.slice(0, caret));
  return m ? { start: m.index, query: m[1].toLowerCase() } : null;
}

/** Replaces the `@word` at `start` (up to the caret) with `@username `; returns the text and the new caret. */
export function insertMention(text: string, start: number, caret: number, username: string): { text: string; caret: number } {
  const inserted = `@${username} `;
  return { text: text.slice(0, start) + inserted + text.slice(caret).replace(/^\s/, ''), caret: start + inserted.length };
}

/** Members whose username or display name starts with the query (then contains it), best first. */
export function mentionCandidates(members: Member[], query: string, meId: string, max = 8): Member[] {
  const q = query.toLowerCase();
  const starts: Member[] = [];
  const contains: Member[] = [];
  for (const m of members) {
    if (m.userId === meId) continue;
    const u = m.username.toLowerCase();
    const d = m.displayName.toLowerCase();
    if (u.startsWith(q) || d.startsWith(q) || d.split(/\s+/).some((w) => w.startsWith(q))) starts.push(m);
    else if (u.includes(q) || d.includes(q)) contains.push(m);
  }
  return [...starts, ...contains].slice(0, max);
}

const TOKEN = /(?<![A-Za-z0-9_.-])@([A-Za-z0-9_.-]+)/g;

/**
 * Splits text into plain parts and `@name` mentions, the same tokens the server resolves
 * (trailing dots and hyphens are punctuation). `me` marks mentions of me and `@room`.
 */
export function splitMentions(text: string, myUsername: string): Array<{ text: string; mention?: 'me' | 'other' }> {
  const parts: Array<{ text: string; mention?: 'me' | 'other' }> = [];
  let last = 0;
  const mine = myUsername.toLowerCase();
  for (const match of text.matchAll(TOKEN)) {
    const name = match[1].replace(/[.-]+$/, '');
    const at = match.index ?? 0;
    const end = at + 1 + name.length;
    if (name.length === 0) continue;
    if (at > last) parts.push({ text: text.slice(last, at) });
    const lower = name.toLowerCase();
    parts.push({ text: text.slice(at, end), mention: lower === mine || lower === 'room' ? 'me' : 'other' });
    last = end;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** The tab title: the number of unread messages first, when there are any. */
export function titleWithCount(unread: number, base = 'Chat'): string {
  return unread > 0 ? `(${unread > 999 ? '999+' : unread}) ${base}` : base;
}

/**
 * The seq of the first unread message when a room opens: the `unread`-th newest message from
 * someone else (the server counts only others' messages past my read marker).
 */
export function firstUnreadSeq(messages: Message[], unread: number, meId: string): number | null {
  if (unread <= 0) return null;
  let left = unread;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.senderId === meId) continue;
    if (--left === 0) return m.seq;
  }
  return messages.length ? messages[0].seq : null;
}

export const canManage = (role: RoomRole | null | undefined) => role === 'owner' || role === 'admin';

/** What my role lets me do to a member (the server checks again). */
export function allowedOn(myRole: RoomRole | null | undefined, target: Member, meId: string) {
  const other = target.userId !== meId;
  return {
    remove: other && canManage(myRole) && target.role !== 'owner',
    changeRole: other && myRole === 'owner' && target.role !== 'owner',
  };
}

/** Inserts or replaces a member in a list kept in the server's order (by user id). */
export function upsertMember(list: Member[], member: Member): Member[] {
  const rest = list.filter((m) => m.userId !== member.userId);
  const at = rest.findIndex((m) => m.userId > member.userId);
  return at < 0 ? [...rest, member] : [...rest.slice(0, at), member, ...rest.slice(at)];
}

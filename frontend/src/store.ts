import { io, type Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  Member,
  MemberPage,
  Message,
  Page,
  Room,
  SearchPage,
  ThreadPage,
  RoomRole,
  ServerToClientEvents,
  SyncRoom,
  User,
  UserSummary,
} from '@contract/events';
import { ApiError, Cancelled, Session } from './api';
import { addFiles, composerKey, noAttachments, progressed, ready, refused, removed, uploaded, uploadProblem, type Attachments, type Upload } from './files';
import { addPending, firstSeq, lastSeq, markFailed, markPending, merge, pendingMessage, sendPayload, unsent, type ChatMessage } from './messages';
import { Outbox } from './outbox';
import { firstUnreadSeq, upsertMember } from './people';

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type Connection = 'connecting' | 'online' | 'offline';

const PAGE = 50;
/** Sync rounds for rooms whose answers keep being cut short, before history takes over. */
const SYNC_ROUNDS = 20;
/** Rooms per `sync` call, under the server's SYNC_MAX_ROOMS. */
const SYNC_CHUNK = 50;
const ACK_TIMEOUT_MS = 10_000;
const TYPING_SHOWN_MS = 6_000;
const MEMBER_PAGE = 50;
/** History pages (100 each) a jump to a search hit may load back through. */
const JUMP_PAGES = 20;
/** The last open room, per user, so a reload reopens it. */
const lastRoomKey = (userId: string) => `chat.lastRoom.${userId}`;

/** An open (or once opened) thread: its root and the replies loaded so far, ascending by seq. */
export interface ThreadState {
  root: Message;
  replies: Message[];
  /** More replies after the last loaded one (the thread endpoint pages forward). */
  hasMore: boolean;
}

export interface MemberList {
  members: Member[];
  hasMore: boolean;
}

/**
 * Everything the screens show, and the actions on it. Screens re-render on `subscribe`.
 * The database's seq is the truth: live events and `sync` answers merge by seq and id.
 */
export class ChatStore {
  rooms = new Map<string, Room>();
  messages = new Map<string, ChatMessage[]>();
  olderAvailable = new Map<string, boolean>();
  typing = new Map<string, Map<string, { username: string; until: number }>>();
  online = new Set<string>();
  names = new Map<string, string>();
  private readSeq = new Map<string, number>();
  /**
   * Per loaded room, the change counter up to which its held messages are known to be current:
   * the room's lastChange when its history was first fetched, then each sync's `lastChange`.
   * Live events never advance it, so a sync after a reconnect re-sends anything missed.
   */
  private changeSeen = new Map<string, number>();
  activeRoomId: string | null = null;
  /** Loaded member pages per room (the panel, autocomplete, direct-message names). */
  members = new Map<string, MemberList>();
  /** Threads by root id. Replies also sit in their room's list (by seq, for sync and read markers); the timeline hides them. */
  threads = new Map<string, ThreadState>();
  /** A message to scroll to and highlight once its room (and thread) is on screen: a search hit. */
  focus: { roomId: string; messageId: string; rootId: string | null } | null = null;
  /** Where the "New messages" line goes in each room opened this session. */
  unreadFrom = new Map<string, number>();
  /** Why the open room went away (left, removed), shown once. */
  notice: string | null = null;
  /** Whether the first room list has arrived (the empty state waits for it). */
  loaded = false;
  connection: Connection = 'connecting';
  error: string | null = null;

  private socket?: ChatSocket;
  private readonly listeners = new Set<() => void>();
  private unwatchSession?: () => void;
  /** Sends one message at a time per room, in the order typed (see outbox.ts). */
  private readonly outbox = new Outbox({
    send: (m) => this.socket!.timeout(ACK_TIMEOUT_MS).emitWithAck('message:send', sendPayload(m)),
    connected: () => Boolean(this.socket?.connected),
    stillPending: (m) => (this.messages.get(m.roomId) ?? []).some((x) => x.clientId === m.clientId && x.pending),
    delivered: (message) => this.receive([message]),
    failed: (m, reason) => this.fail(m, reason),
    wait: (ms) => new Promise((r) => setTimeout(r, ms)),
  });
  private typingSentAt = 0;
  /** Files attached to each composer (key: room id, or room id and thread id), and their uploads in flight. */
  attachments = new Map<string, Attachments>();
  private readonly uploads = new Map<string, () => void>();
  /** The server's upload size limit, when it says (else a 413 tells). */
  maxUploadBytes: number | null = null;

  constructor(readonly session: Session) {}

  subscribe(fn: () => void) {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  private changed() {
    for (const fn of this.listeners) fn();
  }

  get me(): User {
    return this.session.user!;
  }

  async start() {
    await this.loadRooms();
    this.connect();
    document.addEventListener('visibilitychange', this.onVisible);
    const last = this.storage()?.getItem(lastRoomKey(this.me.id));
    if (last && this.rooms.has(last) && !this.activeRoomId) await this.openRoom(last);
  }

  private storage(): Storage | undefined {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  }

  /** Coming back to the tab reads the open room. */
  private readonly onVisible = () => {
    if (document.visibilityState === 'visible' && this.activeRoomId) this.markRead(this.activeRoomId);
  };

  stop() {
    document.removeEventListener('visibilitychange', this.onVisible);
    this.unwatchSession?.();
    this.socket?.removeAllListeners();
    this.socket?.close();
    this.socket = undefined;
  }

  // ---- realtime -------------------------------------------------------------------------

  private connect() {
    const socket: ChatSocket = io({
      path: '/socket.io',
      transports: ['websocket'],
      // A callback, so every reconnect presents the current access token.
      auth: (cb) => cb({ token: this.session.accessToken ?? '' }),
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.connection = 'online';
      this.changed();
      void this.catchUp();
    });
    socket.on('disconnect', (reason) => {
      this.connection = 'offline';
      this.online.clear();
      this.changed();
      // The server said goodbye on purpose: Socket.IO will not retry by itself.
      if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 500);
    });
    socket.on('connect_error', async (err) => {
      this.connection = 'offline';
      this.changed();
      if (err.message === 'unauthorized') {
        if (!(await this.session.refresh())) return;
      }
      // A refused handshake is not retried automatically either.
      if (!socket.active) setTimeout(() => socket.connect(), 1000);
    });
    // The connection lives as long as its access token: hand it every new one, and get one
    // when the server says it expired (else it disconnects us and we reconnect with a new one).
    let presented = this.session.accessToken;
    const reauth = () => {
      const token = this.session.accessToken;
      if (!token || token === presented || !socket.connected) return;
      presented = token;
      void socket
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck('auth:refresh', { token })
        .catch(() => undefined);
    };
    this.unwatchSession = this.session.onChange(reauth);
    socket.on('connect', () => (presented = this.session.accessToken));
    socket.on('auth:expired', () => void this.session.refresh().then((ok) => ok && reauth()));
    socket.on('message:new', (m) => {
      try {
        this.notify(m);
      } catch {
        // A browser that refuses notifications must not lose the message.
      }
      this.receive([m]);
    });
    socket.on('message:updated', (m) => this.receive([m]));
    socket.on('room:added', (room) => {
      this.rooms.set(room.id, room);
      if (room.kind === 'direct') void this.loadMembers(room.id);
      this.changed();
    });
    socket.on('room:updated', (room) => {
      if (!this.rooms.has(room.id)) return;
      this.rooms.set(room.id, room);
      this.changed();
    });
    socket.on('room:removed', ({ roomId }) => this.dropRoom(roomId));
    socket.on('member:joined', ({ roomId, member }) => {
      this.names.set(member.userId, member.displayName);
      this.updateMembers(roomId, (l) =>
        l.hasMore && member.userId > (l.members.at(-1)?.userId ?? '') ? l : { ...l, members: upsertMember(l.members, member) },
      );
      // My own join arrives with a room whose count already includes me.
      if (member.userId !== this.me.id) this.bumpCount(roomId, 1);
    });
    socket.on('member:updated', ({ roomId, member }) => {
      this.updateMembers(roomId, (l) => (l.members.some((m) => m.userId === member.userId) ? { ...l, members: upsertMember(l.members, member) } : l));
    });
    socket.on('member:left', ({ roomId, userId }) => {
      this.updateMembers(roomId, (l) => ({ ...l, members: l.members.filter((m) => m.userId !== userId) }));
      this.bumpCount(roomId, -1);
    });
    socket.on('presence', ({ userId, online }) => {
      if (online) this.online.add(userId);
      else this.online.delete(userId);
      for (const [roomId, l] of this.members)
        if (l.members.some((m) => m.userId === userId && m.online !== online))
          this.members.set(roomId, { ...l, members: l.members.map((m) => (m.userId === userId ? { ...m, online } : m)) });
      if (online) void this.nameOf(userId);
      this.changed();
    });
    socket.on('typing', (t) => {
      if (t.userId === this.me.id) return;
      const room = this.typing.get(t.roomId) ?? new Map();
      if (t.typing) room.set(t.userId, { username: t.username, until: Date.now() + TYPING_SHOWN_MS });
      else room.delete(t.userId);
      this.typing.set(t.roomId, room);
      this.changed();
      setTimeout(() => this.changed(), TYPING_SHOWN_MS + 50);
    });
  }

  /** After every (re)connect: fresh room list, what was missed, then the unsent messages. */
  private async catchUp() {
    try {
      await this.loadRooms();
      const loaded = [...this.messages.entries()].filter(([id]) => this.rooms.has(id));
      // The server caps rooms per sync and messages per answer: ask in chunks, page on with
      // history where it says hasMore, and fall back to history if a sync is refused.
      // New messages and every older one changed meanwhile (edits, deletes, reactions, replies);
      // a room whose answer was cut short is asked again from where it stopped.
      for (let i = 0; i < loaded.length && this.socket; i += SYNC_CHUNK) {
        let pending: string[] = loaded.slice(i, i + SYNC_CHUNK).map(([roomId]) => roomId);
        for (let round = 0; pending.length > 0 && this.socket; round++) {
          const ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('sync', {
            rooms: pending.map((roomId) => ({ roomId, afterSeq: lastSeq(this.messages.get(roomId) ?? []), afterChange: this.changeSeen.get(roomId) ?? 0 })),
          });
          if (!ack.ok) {
            // Refused: new messages by history; changes wait for the next sync.
            for (const roomId of pending) await this.loadNewer(roomId);
            break;
          }
          for (const r of ack.rooms) {
            if (r.gone) {
              // Left or removed meanwhile: the room list just reloaded has dropped it already.
              this.messages.delete(r.roomId);
              this.changeSeen.delete(r.roomId);
              continue;
            }
            this.receive([...r.updated, ...r.messages]);
            this.changeSeen.set(r.roomId, r.lastChange);
          }
          pending = ack.rooms.filter((r: SyncRoom) => r.hasMore).map((r: SyncRoom) => r.roomId);
          if (round + 1 >= SYNC_ROUNDS) {
            for (const roomId of pending) await this.loadNewer(roomId);
            break;
          }
        }
      }
      // Failed ones too, in list order: the outbox keeps each room's order.
      for (const [, list] of this.messages) for (const m of unsent(list)) void this.deliver(this.retryable(m));
      if (this.activeRoomId) this.markRead(this.activeRoomId);
    } catch (e) {
      this.error = `Could not catch up: ${(e as Error).message}`;
      this.changed();
    }
  }

  private receive(incoming: Message[]) {
    const byRoom = new Map<string, Message[]>();
    for (const m of incoming) byRoom.set(m.roomId, [...(byRoom.get(m.roomId) ?? []), m]);
    for (const [roomId, list] of byRoom) {
      for (const m of list) this.names.set(m.senderId, m.senderName);
      const room = this.rooms.get(roomId);
      const top = Math.max(...list.map((m) => m.seq));
      if (room && top > room.lastSeq) {
        const fresh = list.filter((m) => m.seq > room.lastSeq && m.senderId !== this.me.id);
        const mentions = fresh.filter((m) => room.kind === 'direct' || m.mentions.includes(this.me.id)).length;
        this.rooms.set(roomId, { ...room, lastSeq: top, unread: room.unread + fresh.length, mentions: room.mentions + mentions });
      }
      if (this.messages.has(roomId)) this.messages.set(roomId, merge(this.messages.get(roomId)!, list));
      for (const m of list) this.intoThread(m);
      const typing = this.typing.get(roomId);
      for (const m of list) typing?.delete(m.senderId);
    }
    this.changed();
    if (this.activeRoomId && byRoom.has(this.activeRoomId)) this.markRead(this.activeRoomId);
  }

  /** A reply goes to its loaded thread (unless it lies past a page not loaded yet); a root refreshes its copy. */
  private intoThread(m: Message) {
    const root = this.threads.get(m.id);
    if (root && m.change >= root.root.change) this.threads.set(m.id, { ...root, root: m });
    const t = m.threadId ? this.threads.get(m.threadId) : undefined;
    if (t && (!t.hasMore || m.seq <= lastSeq(t.replies))) this.threads.set(t.root.id, { ...t, replies: merge(t.replies, [m]) });
  }

  // ---- threads and reactions ------------------------------------------------------------

  /** Loads a thread's root and first page of replies (again, on every open: counts may have moved). */
  async openThread(rootId: string) {
    const page = await this.session.call<ThreadPage>('GET', `/api/chat/messages/${rootId}/thread?limit=${PAGE}`);
    for (const m of [page.root, ...page.messages]) this.names.set(m.senderId, m.senderName);
    const had = this.threads.get(rootId);
    // Replies that arrived live while the page was on its way are kept.
    const replies = merge(page.hasMore ? [] : (had?.replies ?? []), page.messages);
    this.threads.set(rootId, { root: page.root, replies, hasMore: page.hasMore });
    this.changed();
  }

  async loadMoreReplies(rootId: string) {
    const t = this.threads.get(rootId);
    if (!t?.hasMore) return;
    const page = await this.session.call<ThreadPage>('GET', `/api/chat/messages/${rootId}/thread?limit=${PAGE}&after=${lastSeq(t.replies)}`);
    const now = this.threads.get(rootId) ?? t;
    this.threads.set(rootId, { root: page.root, replies: merge(now.replies, page.messages), hasMore: page.hasMore });
    this.changed();
  }

  /** What the thread panel shows: loaded replies, plus my pending ones and any newer copies the room holds. */
  threadReplies(rootId: string): ChatMessage[] {
    const t = this.threads.get(rootId);
    if (!t) return [];
    const upTo = t.hasMore ? lastSeq(t.replies) : Number.POSITIVE_INFINITY;
    const inRoom = (this.messages.get(t.root.roomId) ?? []).filter((m) => m.threadId === rootId && (m.pending || m.failed || m.seq <= upTo));
    return merge(inRoom, t.replies);
  }

  /** Adds or takes back my reaction; the answer (and everyone's copy) is the whole message. */
  async react(messageId: string, emoji: string, add: boolean) {
    try {
      this.receive([await this.session.call<Message>(add ? 'PUT' : 'DELETE', `/api/chat/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`)]);
    } catch (e) {
      this.error = `Reaction not saved: ${(e as Error).message}`;
      this.changed();
    }
  }

  // ---- search ---------------------------------------------------------------------------

  search(q: string, before?: string | null) {
    return this.session.call<SearchPage>('GET', `/api/chat/search?q=${encodeURIComponent(q)}&limit=20${before ? `&before=${encodeURIComponent(before)}` : ''}`);
  }

  /**
   * Opens a message's room with the message (a reply: its root) loaded, and asks the screen to
   * show it. Older history is paged in back to it, so the room's list stays without gaps.
   */
  async jumpTo(m: Message) {
    await this.openRoom(m.roomId);
    const target = m.threadId ?? m.id;
    const seq = m.threadId ? undefined : m.seq;
    const has = () => (this.messages.get(m.roomId) ?? []).some((x) => x.id === target);
    for (let i = 0; i < JUMP_PAGES && !has() && this.olderAvailable.get(m.roomId); i++) {
      const before = firstSeq(this.messages.get(m.roomId) ?? []);
      if (before === undefined || (seq !== undefined && before <= seq)) break;
      const page = await this.pageBefore(m.roomId, before, 100);
      if (page.messages.length === 0) break;
    }
    if (!has() && !m.threadId) {
      this.error = 'That message is too far back to show here.';
      this.changed();
      return;
    }
    this.focus = { roomId: m.roomId, messageId: m.id, rootId: m.threadId };
    this.changed();
  }

  /** The screen showed the focused message. */
  focused() {
    this.focus = null;
  }

  /** Pages a thread forward until it holds this reply (or has no more). */
  async loadRepliesUntil(rootId: string, replyId: string) {
    for (let i = 0; i < JUMP_PAGES; i++) {
      const t = this.threads.get(rootId);
      if (!t || t.replies.some((r) => r.id === replyId) || !t.hasMore) return;
      await this.loadMoreReplies(rootId);
    }
  }

  // ---- rooms ----------------------------------------------------------------------------

  async loadRooms() {
    const rooms = await this.session.call<Room[]>('GET', '/api/chat/rooms');
    this.rooms = new Map(rooms.map((r) => [r.id, r]));
    this.loaded = true;
    this.changed();
    // Direct rooms are named after usernames; their members give the display name.
    for (const r of rooms) if (r.kind === 'direct' && !this.members.has(r.id)) void this.loadMembers(r.id).catch(() => undefined);
  }

  /** Total unread messages of rooms that are not muted (the tab title). */
  totalUnread(): number {
    let n = 0;
    for (const r of this.rooms.values()) if (!r.muted) n += r.unread;
    return n;
  }

  sortedRooms(): Room[] {
    return [...this.rooms.values()].sort((a, b) => b.lastSeq - a.lastSeq || a.name.localeCompare(b.name));
  }

  async openRoom(roomId: string | null) {
    this.activeRoomId = roomId;
    this.notice = null;
    if (roomId) this.storage()?.setItem(lastRoomKey(this.me.id), roomId);
    this.changed();
    if (!roomId) return;
    const unread = this.rooms.get(roomId)?.unread ?? 0;
    if (!this.messages.has(roomId)) {
      // Read before the history: a change in between comes again at the next sync (merged by change).
      this.changeSeen.set(roomId, this.rooms.get(roomId)?.lastChange ?? 0);
      const page = await this.session.call<Page>('GET', `/api/chat/rooms/${roomId}/messages?limit=${PAGE}`);
      this.messages.set(roomId, merge(this.messages.get(roomId) ?? [], page.messages));
      this.olderAvailable.set(roomId, page.hasMore);
      for (const m of page.messages) this.names.set(m.senderId, m.senderName);
    }
    const from = firstUnreadSeq(this.messages.get(roomId) ?? [], unread, this.me.id);
    if (from !== null) this.unreadFrom.set(roomId, from);
    else this.unreadFrom.delete(roomId);
    this.changed();
    this.markRead(roomId);
  }

  /**
   * One page back from the oldest loaded message; false when there is nothing older. A page of
   * thread replies only adds nothing to the timeline, so up to a few more pages follow it.
   */
  async loadOlder(roomId: string): Promise<boolean> {
    for (let i = 0; i < 5; i++) {
      const list = this.messages.get(roomId) ?? [];
      const before = firstSeq(list);
      if (!this.olderAvailable.get(roomId) || before === undefined) return false;
      const page = await this.pageBefore(roomId, before, PAGE);
      this.changed();
      if (page.messages.length === 0) return false;
      if (page.messages.some((m) => !m.threadId)) return true;
    }
    return true;
  }

  /** A page of history before `before`, merged into the room's list; it says whether older remains. */
  private async pageBefore(roomId: string, before: number, limit: number): Promise<Page> {
    const page = await this.session.call<Page>('GET', `/api/chat/rooms/${roomId}/messages?limit=${limit}&before=${before}`);
    this.messages.set(roomId, merge(this.messages.get(roomId) ?? [], page.messages));
    this.olderAvailable.set(roomId, page.hasMore);
    return page;
  }

  private async loadNewer(roomId: string) {
    for (;;) {
      const after = lastSeq(this.messages.get(roomId) ?? []);
      const page = await this.session.call<Page>('GET', `/api/chat/rooms/${roomId}/messages?limit=100&after=${after}`);
      this.receive(page.messages);
      if (!page.hasMore || page.messages.length === 0) return;
    }
  }

  markRead(roomId: string) {
    const room = this.rooms.get(roomId);
    if (!room || (typeof document !== 'undefined' && document.visibilityState === 'hidden')) return;
    const seq = Math.max(room.lastSeq, lastSeq(this.messages.get(roomId) ?? []));
    if (room.unread === 0 && seq <= (this.readSeq.get(roomId) ?? 0)) return;
    this.readSeq.set(roomId, seq);
    this.rooms.set(roomId, { ...room, unread: 0, mentions: 0 });
    this.changed();
    if (seq > 0 && this.socket?.connected)
      void this.socket
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck('read', { roomId, seq })
        .catch(() => undefined);
  }

  async createRoom(name: string, kind: 'public' | 'private') {
    const room = await this.session.call<Room>('POST', '/api/chat/rooms', { name, kind });
    this.rooms.set(room.id, room);
    await this.openRoom(room.id);
  }

  discover(query: string) {
    return this.session.call<Room[]>('GET', `/api/chat/rooms/public?query=${encodeURIComponent(query)}`);
  }

  async join(roomId: string) {
    const room = await this.session.call<Room>('POST', `/api/chat/rooms/${roomId}/join`);
    this.rooms.set(room.id, room);
    await this.openRoom(room.id);
  }

  searchUsers(query: string) {
    return this.session
      .call<UserSummary[]>('GET', `/api/users?query=${encodeURIComponent(query)}&limit=10`)
      .then((users) => users.filter((u) => u.id !== this.me.id));
  }

  async startDirect(userId: string) {
    const room = await this.session.call<Room>('POST', '/api/chat/direct', { userId });
    this.rooms.set(room.id, room);
    await this.openRoom(room.id);
  }

  async addMember(roomId: string, userId: string) {
    await this.session.call('POST', `/api/chat/rooms/${roomId}/members`, { userId });
  }

  /** A readable name for a room: direct rooms show the other person's display name. */
  roomTitle(room: Room): string {
    if (room.kind !== 'direct') return room.name;
    const other = this.members.get(room.id)?.members.find((m) => m.userId !== this.me.id);
    if (other) return other.displayName;
    const others = room.name.split(' & ').filter((n) => n !== this.me.username);
    return others[0] ?? room.name;
  }

  // ---- people ---------------------------------------------------------------------------

  /** The first page of members, or the next one (`more`). */
  async loadMembers(roomId: string, more = false) {
    const have = this.members.get(roomId);
    if (more && !have?.hasMore) return;
    const after = more ? have?.members.at(-1)?.userId : undefined;
    const page = await this.session.call<MemberPage>('GET', `/api/chat/rooms/${roomId}/members?limit=${MEMBER_PAGE}${after ? `&after=${after}` : ''}`);
    for (const m of page.members) this.names.set(m.userId, m.displayName);
    const before = more ? (this.members.get(roomId)?.members ?? []) : [];
    this.members.set(roomId, { members: page.members.reduce(upsertMember, before), hasMore: page.hasMore });
    this.changed();
  }

  private updateMembers(roomId: string, fn: (l: MemberList) => MemberList) {
    const l = this.members.get(roomId);
    if (l) this.members.set(roomId, fn(l));
    this.changed();
  }

  private bumpCount(roomId: string, by: number) {
    const room = this.rooms.get(roomId);
    if (room) this.rooms.set(roomId, { ...room, memberCount: Math.max(0, room.memberCount + by) });
    this.changed();
  }

  /** I left or was removed: the room, its messages and members go, on every tab of mine. */
  private dropRoom(roomId: string) {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.rooms.delete(roomId);
    this.messages.delete(roomId);
    this.members.delete(roomId);
    this.olderAvailable.delete(roomId);
    for (const [id, t] of this.threads) if (t.root.roomId === roomId) this.threads.delete(id);
    if (this.activeRoomId === roomId) {
      this.activeRoomId = null;
      this.notice = `You are no longer in ${this.roomTitle(room)}.`;
      this.storage()?.removeItem(lastRoomKey(this.me.id));
    }
    this.changed();
  }

  async updateRoom(roomId: string, change: { name?: string; topic?: string | null }) {
    const room = await this.session.call<Room>('PATCH', `/api/chat/rooms/${roomId}`, change);
    this.rooms.set(room.id, room);
    this.changed();
  }

  async setMuted(roomId: string, muted: boolean) {
    const room = await this.session.call<Room>('PATCH', `/api/chat/rooms/${roomId}/settings`, { muted });
    this.rooms.set(room.id, room);
    this.changed();
  }

  async leave(roomId: string) {
    await this.session.call('DELETE', `/api/chat/rooms/${roomId}/members/me`);
    this.dropRoom(roomId);
  }

  async removeMember(roomId: string, userId: string) {
    await this.session.call('DELETE', `/api/chat/rooms/${roomId}/members/${userId}`);
  }

  async setRole(roomId: string, userId: string, role: Exclude<RoomRole, 'owner'>) {
    const member = await this.session.call<Member>('PATCH', `/api/chat/rooms/${roomId}/members/${userId}`, { role });
    this.updateMembers(roomId, (l) => ({ ...l, members: upsertMember(l.members, member) }));
  }

  // ---- notifications --------------------------------------------------------------------

  /** A desktop notification for a mention of me or a direct message, only while the tab is hidden. */
  private notify(m: Message) {
    const room = this.rooms.get(m.roomId);
    if (!room || room.muted || m.senderId === this.me.id) return;
    if (room.kind !== 'direct' && !m.mentions.includes(this.me.id)) return;
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted' || document.visibilityState !== 'hidden') return;
    const title = room.kind === 'direct' ? m.senderName : `${m.senderName} in ${this.roomTitle(room)}`;
    const n = new Notification(title, { body: m.body.slice(0, 200) || (m.attachments.length ? 'Sent a file' : ''), tag: m.roomId });
    n.onclick = () => {
      window.focus();
      void this.openRoom(m.roomId);
      n.close();
    };
  }

  async nameOf(userId: string): Promise<string> {
    const known = this.names.get(userId);
    if (known) return known;
    try {
      const user = await this.session.call<User>('GET', `/api/users/${userId}`);
      this.names.set(userId, user.displayName);
      this.changed();
      return user.displayName;
    } catch {
      return userId.slice(0, 8);
    }
  }

  typingIn(roomId: string): string[] {
    const now = Date.now();
    return [...(this.typing.get(roomId)?.entries() ?? [])].filter(([, t]) => t.until > now).map(([id, t]) => this.names.get(id) ?? t.username);
  }

  // ---- messages -------------------------------------------------------------------------

  // ---- files ----------------------------------------------------------------------------

  attachmentsOf(key: string): Attachments {
    return this.attachments.get(key) ?? noAttachments;
  }

  private setAttachments(key: string, fn: (a: Attachments) => Attachments) {
    this.attachments.set(key, fn(this.attachmentsOf(key)));
    this.changed();
  }

  /** Starts uploading files to the room for the composer `key`; chips show their progress. */
  attach(key: string, roomId: string, files: File[]) {
    const { next, accepted } = addFiles({ ...this.attachmentsOf(key), problems: [] }, files, () => crypto.randomUUID(), this.maxUploadBytes);
    this.attachments.set(key, next);
    this.changed();
    for (const { index, key: fileKey } of accepted) {
      const file = files[index];
      const { done, abort } = this.session.upload<Upload>(`/api/chat/rooms/${roomId}/uploads`, file, (loaded) =>
        this.setAttachments(key, (a) => progressed(a, fileKey, loaded)),
      );
      this.uploads.set(fileKey, abort);
      done
        .then(
          (u) => this.setAttachments(key, (a) => uploaded(a, fileKey, u)),
          (e) => {
            if (e instanceof Cancelled) return;
            const status = e instanceof ApiError ? e.status : 0;
            this.setAttachments(key, (a) => refused(a, fileKey, uploadProblem(file.name, status, (e as Error).message, this.maxUploadBytes)));
          },
        )
        .finally(() => this.uploads.delete(fileKey));
    }
  }

  /** Removes a chip; one still uploading is cancelled. */
  detach(key: string, fileKey: string) {
    this.uploads.get(fileKey)?.();
    this.setAttachments(key, (a) => removed(a, fileKey));
  }

  dismissFileProblems(key: string) {
    if (this.attachmentsOf(key).problems.length) this.setAttachments(key, (a) => ({ ...a, problems: [] }));
  }

  /** The bytes of an upload (or its thumbnail) for a blob: URL; the token goes in a header. */
  fileBlob(uploadId: string, thumbnail = false) {
    return this.session.blob(`/api/chat/uploads/${uploadId}${thumbnail ? '/thumbnail' : ''}`);
  }

  /**
   * Sends to the room, or as a reply in the thread of `threadId`, with the composer's finished
   * uploads. False (nothing sent) while an upload is still running or there is nothing to send.
   */
  send(roomId: string, body: string, threadId?: string): boolean {
    const text = body.trim();
    const key = composerKey(roomId, threadId);
    const attachments = ready(this.attachmentsOf(key));
    if (!attachments || (!text && attachments.length === 0)) return false;
    this.attachments.delete(key);
    const p = pendingMessage({
      roomId,
      body: text,
      clientId: crypto.randomUUID(),
      senderId: this.me.id,
      senderName: this.me.displayName,
      threadId,
      attachments,
    });
    this.messages.set(roomId, addPending(this.messages.get(roomId) ?? [], p));
    this.changed();
    void this.deliver(p);
    this.typingSentAt = 0;
    if (this.socket?.connected) this.socket.emit('typing', { roomId, typing: false }, () => undefined);
    return true;
  }

  /** A failed message goes back to pending before it is sent again. */
  private retryable(m: ChatMessage): ChatMessage {
    if (!m.failed) return m;
    this.messages.set(m.roomId, markPending(this.messages.get(m.roomId) ?? [], m.clientId));
    return { ...m, pending: true, failed: false };
  }

  retry(roomId: string, clientId: string) {
    this.messages.set(roomId, markPending(this.messages.get(roomId) ?? [], clientId));
    this.changed();
    const m = this.messages.get(roomId)!.find((x) => x.clientId === clientId);
    if (m) void this.deliver(m);
  }

  /** Queues (or re-queues, same clientId) a message; the server stores it at most once. */
  private deliver(m: ChatMessage) {
    return this.outbox.enqueue(m);
  }

  private fail(m: ChatMessage, reason: string) {
    this.messages.set(m.roomId, markFailed(this.messages.get(m.roomId) ?? [], m.clientId));
    this.error = `Message not sent: ${reason}`;
    this.changed();
  }

  async edit(messageId: string, body: string) {
    this.receive([await this.session.call<Message>('PATCH', `/api/chat/messages/${messageId}`, { body })]);
  }

  async remove(message: Message) {
    await this.session.call('DELETE', `/api/chat/messages/${message.id}`);
    this.receive([{ ...message, body: '', deleted: true, editedAt: new Date().toISOString() }]);
  }

  /** Tells the room I am typing, at most every 3 s. */
  typingNow(roomId: string) {
    const now = Date.now();
    if (now - this.typingSentAt < 3000 || !this.socket?.connected) return;
    this.typingSentAt = now;
    this.socket.emit('typing', { roomId, typing: true }, () => undefined);
  }

  clearError() {
    this.error = null;
    this.changed();
  }
}

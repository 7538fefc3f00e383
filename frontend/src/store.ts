import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, Message, Page, Room, ServerToClientEvents, User, UserSummary } from '@contract/events';
import { Session } from './api';
import { addPending, firstSeq, lastSeq, markFailed, markPending, merge, pendingMessage, unsent, type ChatMessage } from './messages';
import { Outbox } from './outbox';

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type Connection = 'connecting' | 'online' | 'offline';

const PAGE = 50;
/** Rooms per `sync` call, under the server's SYNC_MAX_ROOMS. */
const SYNC_CHUNK = 50;
const ACK_TIMEOUT_MS = 10_000;
const TYPING_SHOWN_MS = 6_000;

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
  activeRoomId: string | null = null;
  connection: Connection = 'connecting';
  error: string | null = null;

  private socket?: ChatSocket;
  private readonly listeners = new Set<() => void>();
  private unwatchSession?: () => void;
  /** Sends one message at a time per room, in the order typed (see outbox.ts). */
  private readonly outbox = new Outbox({
    send: (m) => this.socket!.timeout(ACK_TIMEOUT_MS).emitWithAck('message:send', { roomId: m.roomId, body: m.body, clientId: m.clientId }),
    connected: () => Boolean(this.socket?.connected),
    stillPending: (m) => (this.messages.get(m.roomId) ?? []).some((x) => x.clientId === m.clientId && x.pending),
    delivered: (message) => this.receive([message]),
    failed: (m, reason) => this.fail(m, reason),
    wait: (ms) => new Promise((r) => setTimeout(r, ms)),
  });
  private typingSentAt = 0;

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
  }

  stop() {
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
    socket.on('message:new', (m) => this.receive([m]));
    socket.on('message:updated', (m) => this.receive([m]));
    socket.on('room:added', (room) => {
      this.rooms.set(room.id, room);
      this.changed();
    });
    socket.on('presence', ({ userId, online }) => {
      if (online) this.online.add(userId);
      else this.online.delete(userId);
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
      for (let i = 0; i < loaded.length && this.socket; i += SYNC_CHUNK) {
        const chunk = loaded.slice(i, i + SYNC_CHUNK);
        const ack = await this.socket
          .timeout(ACK_TIMEOUT_MS)
          .emitWithAck('sync', { rooms: chunk.map(([roomId, list]) => ({ roomId, afterSeq: lastSeq(list) })) });
        const answers = ack.ok ? ack.rooms : chunk.map(([roomId]) => ({ roomId, messages: [], hasMore: true }));
        for (const r of answers) {
          this.receive(r.messages);
          if (r.hasMore) await this.loadNewer(r.roomId);
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
        const fromOthers = list.filter((m) => m.seq > room.lastSeq && m.senderId !== this.me.id).length;
        this.rooms.set(roomId, { ...room, lastSeq: top, unread: room.unread + fromOthers });
      }
      if (this.messages.has(roomId)) this.messages.set(roomId, merge(this.messages.get(roomId)!, list));
      const typing = this.typing.get(roomId);
      for (const m of list) typing?.delete(m.senderId);
    }
    this.changed();
    if (this.activeRoomId && byRoom.has(this.activeRoomId)) this.markRead(this.activeRoomId);
  }

  // ---- rooms ----------------------------------------------------------------------------

  async loadRooms() {
    const rooms = await this.session.call<Room[]>('GET', '/api/chat/rooms');
    this.rooms = new Map(rooms.map((r) => [r.id, r]));
    this.changed();
  }

  sortedRooms(): Room[] {
    return [...this.rooms.values()].sort((a, b) => b.lastSeq - a.lastSeq || a.name.localeCompare(b.name));
  }

  async openRoom(roomId: string | null) {
    this.activeRoomId = roomId;
    this.changed();
    if (!roomId) return;
    if (!this.messages.has(roomId)) {
      const page = await this.session.call<Page>('GET', `/api/chat/rooms/${roomId}/messages?limit=${PAGE}`);
      this.messages.set(roomId, merge(this.messages.get(roomId) ?? [], page.messages));
      this.olderAvailable.set(roomId, page.hasMore);
      for (const m of page.messages) this.names.set(m.senderId, m.senderName);
      this.changed();
    }
    this.markRead(roomId);
  }

  /** One page back from the oldest loaded message; false when there is nothing older. */
  async loadOlder(roomId: string): Promise<boolean> {
    const list = this.messages.get(roomId) ?? [];
    const before = firstSeq(list);
    if (!this.olderAvailable.get(roomId) || before === undefined) return false;
    const page = await this.session.call<Page>('GET', `/api/chat/rooms/${roomId}/messages?limit=${PAGE}&before=${before}`);
    this.messages.set(roomId, merge(this.messages.get(roomId) ?? [], page.messages));
    this.olderAvailable.set(roomId, page.hasMore);
    this.changed();
    return page.messages.length > 0;
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
    this.rooms.set(roomId, { ...room, unread: 0 });
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

  /** A readable name for a room: direct rooms show the other person. */
  roomTitle(room: Room): string {
    if (room.kind !== 'direct') return room.name;
    const others = room.name.split(' & ').filter((n) => n !== this.me.username);
    return others[0] ?? room.name;
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

  send(roomId: string, body: string) {
    const text = body.trim();
    if (!text) return;
    const p = pendingMessage({ roomId, body: text, clientId: crypto.randomUUID(), senderId: this.me.id, senderName: this.me.displayName });
    this.messages.set(roomId, addPending(this.messages.get(roomId) ?? [], p));
    this.changed();
    void this.deliver(p);
    this.typingSentAt = 0;
    if (this.socket?.connected) this.socket.emit('typing', { roomId, typing: false }, () => undefined);
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

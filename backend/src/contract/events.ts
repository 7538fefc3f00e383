/**
 * The Socket.IO event map of the wire contract, shared by the gateway and the browser
 * client (types, and the list of client event names).
 */
export type RoomKind = 'public' | 'private' | 'direct';

export interface User {
  id: string;
  username: string;
  displayName: string;
  createdAt: string;
}

export type UserSummary = Pick<User, 'id' | 'username' | 'displayName'>;

/** A member's role in a room: the creator is its owner; both people in a direct room are members. */
export type RoomRole = 'owner' | 'admin' | 'member';

export interface Room {
  id: string;
  name: string;
  kind: RoomKind;
  topic: string | null;
  createdBy: string;
  createdAt: string;
  lastSeq: number;
  unread: number;
  /** Unread messages that mention me (every unread message in a direct room). */
  mentions: number;
  /** My role; null only in public-room discovery, for rooms I am not a member of. */
  role: RoomRole | null;
  memberCount: number;
  /** My own setting. */
  muted: boolean;
  /** The room's change counter: the `change` of the last change to any of its messages. */
  lastChange: number;
}

export interface Member {
  userId: string;
  username: string;
  displayName: string;
  role: RoomRole;
  online: boolean;
  joinedAt: string;
}

export interface MemberPage {
  members: Member[];
  hasMore: boolean;
}

export interface Message {
  id: string;
  roomId: string;
  seq: number;
  senderId: string;
  senderName: string;
  body: string;
  clientId: string;
  createdAt: string;
  editedAt: string | null;
  deleted: boolean;
  /** Ids of the room's members this message mentions (`@username`, or everyone with `@room`). */
  mentions: string[];
  /** The thread root this message replies to; null for a message in the main timeline (or a root). */
  threadId: string | null;
  /** On roots: how many replies were sent in its thread (deleted replies included). */
  replyCount: number;
  lastReplyAt: string | null;
  /** One entry per emoji, in the order they were first used; `userIds` holds up to 50 of those who reacted. */
  reactions: Reaction[];
  /** The room-wide counter of the last change that touched this message (its sending counts too). */
  change: number;
  /** Files sent with the message, in the order given (emptied when the message is deleted). */
  attachments: Upload[];
}

/**
 * A file uploaded to a room (`POST /api/chat/rooms/:id/uploads`). `contentType` is what the
 * server detected from the bytes; images also have `width` and `height` (and a thumbnail).
 */
export interface Upload {
  id: string;
  name: string;
  size: number;
  contentType: string;
  width?: number;
  height?: number;
}

export interface Reaction {
  emoji: string;
  count: number;
  userIds: string[];
}

/** A thread: its root and a page of replies, ascending by seq. */
export interface ThreadPage {
  root: Message;
  messages: Message[];
  hasMore: boolean;
}

/**
 * One search hit: the message (a reply has its threadId) and its body as HTML, everything
 * escaped except the <mark>…</mark> around matched words.
 */
export interface SearchResult {
  message: Message;
  highlight: string;
}

/** A page of search hits, newest first; `next` is the `before` of the next page, null at the end. */
export interface SearchPage {
  results: SearchResult[];
  next: string | null;
}

export interface AuthResult {
  user: User;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

/** What register, login and refresh answer a browser that keeps the refresh token in the cookie. */
export type BrowserAuthResult = Omit<AuthResult, 'refreshToken'>;

export interface Page {
  messages: Message[];
  hasMore: boolean;
}

export type AckErrorCode = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'rate_limited' | 'too_large' | 'unavailable' | 'internal';

export interface AckError {
  ok: false;
  error: { code: AckErrorCode; message: string; details?: Array<{ field: string; message: string }> };
}

export type Ack<T extends object = object> = ({ ok: true } & T) | AckError;

/**
 * `updated`: messages with seq <= afterSeq whose change > afterChange, ascending by change
 * (empty without afterChange). `lastChange`: the change up to which this answer is complete;
 * continue with afterChange = lastChange (see docs/backend.md).
 */
export interface SyncRoom extends Page {
  roomId: string;
  updated: Message[];
  lastChange: number;
  /**
   * Set when I am not a member of this room (left, removed, deleted, or never was): nothing is
   * sent for it and the client drops it; the other rooms of the sync are answered as usual.
   */
  gone?: true;
}

export interface ClientToServerEvents {
  /**
   * Send a message (with threadId: a reply in that thread; with attachments: uploads of this room, the body may then be empty). Idempotent per (sender, clientId): a repeat is
   * acked with the stored message. Acked after commit; one in flight per room keeps a sender's order.
   */
  'message:send': (
    p: { roomId: string; body?: string; clientId: string; threadId?: string; attachments?: string[] },
    ack: (a: Ack<{ message: Message }>) => void,
  ) => void;
  /** I started or stopped typing in a room I am in: relayed to its other sockets, not stored. */
  typing: (p: { roomId: string; typing: boolean }, ack: (a: Ack) => void) => void;
  /** Move my read marker in a room up to seq (never back, never past the room's last seq). */
  read: (p: { roomId: string; seq: number }, ack: (a: Ack) => void) => void;
  /** Catch up after (re)connecting: per room, what came after afterSeq and changed after afterChange. */
  sync: (p: { rooms: Array<{ roomId: string; afterSeq: number; afterChange?: number }> }, ack: (a: Ack<{ rooms: SyncRoom[] }>) => void) => void;
  /** A new access token for this open connection (same user); `unauthorized` when it does not verify. */
  'auth:refresh': (p: { token: string }, ack: (a: Ack<{ expiresAt: string }>) => void) => void;
}

/** Every client → server event name, at run time (the gateway acks anything else as unknown). */
export const CLIENT_EVENTS = ['message:send', 'typing', 'read', 'sync', 'auth:refresh'] as const satisfies ReadonlyArray<keyof ClientToServerEvents>;
// Fails to compile when an event is added to the map but not to the list.
export type MissingClientEvents = Exclude<keyof ClientToServerEvents, (typeof CLIENT_EVENTS)[number]> extends never ? true : never;
export const allClientEventsListed: MissingClientEvents = true;

export interface ServerToClientEvents {
  /** A new message in a room I am in (my own included), after its commit. */
  'message:new': (m: Message) => void;
  /** Every change after sending: edit, delete, reaction, a new reply on a root; the whole message. */
  'message:updated': (m: Message) => void;
  /** Someone else in a room I am in started or stopped typing. */
  typing: (t: { roomId: string; userId: string; username: string; typing: boolean }) => void;
  /** A roommate came online or went offline; right after connecting, one for each roommate online. */
  presence: (p: { userId: string; online: boolean }) => void;
  /** I created, joined or was added to a room, or a direct room with me was opened: my view of it. */
  'room:added': (r: Room) => void;
  /** A room I am in changed (name, topic, my role, my settings): my own view of it. */
  'room:updated': (r: Room) => void;
  /** I left or was removed: no more events of that room reach me. */
  'room:removed': (p: { roomId: string }) => void;
  /** Someone joined or was added to a room I am in. */
  'member:joined': (p: { roomId: string; member: Member }) => void;
  /** Someone left or was removed from a room I am in; `removedBy` is null when they left on their own. */
  'member:left': (p: { roomId: string; userId: string; removedBy: string | null }) => void;
  /** A member's role changed (by the owner, or ownership handed over when the owner left). */
  'member:updated': (p: { roomId: string; member: Member }) => void;
  /** The connection's access token expired: send `auth:refresh` within graceMs or be disconnected. */
  'auth:expired': (p: { graceMs: number }) => void;
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Array<{ field: string; message: string }>;
}

import { z } from 'zod';
import type { ClientToServerEvents } from './events.js';

/**
 * Input rules of the wire contract (docs/openapi.json, docs/asyncapi.json), shared by REST pipes,
 * socket handlers and the browser client. Objects are strict: unknown fields are rejected.
 */
export const LIMITS = {
  username: { min: 3, max: 32 },
  password: { min: 8, max: 128 },
  displayName: { min: 1, max: 64 },
  roomName: { min: 1, max: 80 },
  topic: { max: 250 },
  body: { min: 1, max: 4000 },
  clientId: { min: 1, max: 64 },
  pageSize: { min: 1, max: 100, default: 50 },
  searchLimit: { min: 1, max: 50, default: 20 },
  /** Message search: characters of q. */
  searchQuery: { max: 200 },
  memberPage: { min: 1, max: 200, default: 50 },
  syncRooms: 200,
  /** Distinct emoji on one message; a new one beyond is 400. */
  reactionsPerMessage: 50,
  /** Reactors listed per emoji (`count` has them all). */
  reactionUserIds: 50,
  /** UTF-16 units of one emoji (the longest ZWJ and tag sequences are far below). */
  emojiLength: 64,
  /** Uploads one message may carry. */
  attachments: 10,
} as const;

const uuid = z.uuid({ message: 'must be a UUID' });
/** A seq in a JSON body or socket payload: a JSON number, never coerced from true, null, "" or []. */
const seq = z.number({ message: 'must be a number' }).int('must be an integer').min(0).max(Number.MAX_SAFE_INTEGER);
/** A whole number in a query string: decimal digits only (no "", "1e3", "0x10", " 5"). */
const digits = (n: z.ZodNumber) =>
  z
    .string({ message: 'must be a whole number' })
    .regex(/^[0-9]{1,16}$/, 'must be a whole number')
    .transform(Number)
    .pipe(n);
const seqQuery = digits(seq);

/**
 * True for text PostgreSQL can store: no NUL (`text` cannot hold it) and no unpaired UTF-16
 * surrogate (it has no UTF-8 encoding).
 */
export function storable(s: string): boolean {
  return !s.includes('\u0000') && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}
export const UNSTORABLE = 'must not contain NUL or unpaired surrogate characters';
/** Every string field of the contract starts here, so nothing unstorable reaches the database. */
export const text = () => z.string({ message: 'must be a string' }).refine(storable, UNSTORABLE);

export const username = text()
  .trim()
  .min(LIMITS.username.min)
  .max(LIMITS.username.max)
  .regex(/^[a-zA-Z0-9_.-]+$/, 'may contain only a-z, 0-9, _ . -')
  .transform((s) => s.toLowerCase());
export const displayName = text().trim().min(LIMITS.displayName.min).max(LIMITS.displayName.max);
export const password = text().min(LIMITS.password.min).max(LIMITS.password.max);
export const messageBody = text().trim().min(LIMITS.body.min, 'must not be empty').max(LIMITS.body.max);
export const clientId = text().min(LIMITS.clientId.min).max(LIMITS.clientId.max);

export const RegisterBody = z.strictObject({ username, password, displayName: displayName.optional() });
export const LoginBody = z.strictObject({
  username: text()
    .min(1)
    .max(LIMITS.username.max * 4),
  password: text().min(1).max(LIMITS.password.max),
});
export const RefreshBody = z.strictObject({ refreshToken: text().min(1).max(512) });
/** Refresh and logout: the body token, or none when a browser sends it as the session cookie. */
export const SessionBody = z.strictObject({ refreshToken: RefreshBody.shape.refreshToken.optional() });

export const UpdateProfileBody = z.strictObject({ displayName });
export const UserSearchQuery = z.strictObject({
  query: text().trim().max(64).default(''),
  limit: digits(z.number().int().min(LIMITS.searchLimit.min).max(LIMITS.searchLimit.max)).default(LIMITS.searchLimit.default),
});

export const roomName = text().trim().min(LIMITS.roomName.min).max(LIMITS.roomName.max);
export const CreateRoomBody = z.strictObject({
  name: roomName,
  kind: z.enum(['public', 'private']),
});
/** Rename and/or set the topic; an empty or null topic clears it. At least one field. */
export const UpdateRoomBody = z
  .strictObject({
    name: roomName.optional(),
    topic: text().trim().max(LIMITS.topic.max).nullable().optional(),
  })
  .refine((b) => b.name !== undefined || b.topic !== undefined, { message: 'name or topic is required', path: ['name'] });
export const MembersQuery = z.strictObject({
  after: uuid.optional(),
  limit: digits(z.number().int().min(LIMITS.memberPage.min).max(LIMITS.memberPage.max)).default(LIMITS.memberPage.default),
});
export const UpdateMemberBody = z.strictObject({ role: z.enum(['admin', 'member']) });
export const RoomSettingsBody = z.strictObject({ muted: z.boolean({ message: 'must be a boolean' }) });
export const PublicRoomsQuery = z.strictObject({ query: text().trim().max(80).default('') });
export const AddMemberBody = z.strictObject({ userId: uuid });
export const DirectBody = z.strictObject({ userId: uuid });
export const HistoryQuery = z.strictObject({
  before: seqQuery.optional(),
  after: seqQuery.optional(),
  limit: digits(z.number().int().min(LIMITS.pageSize.min).max(LIMITS.pageSize.max)).default(LIMITS.pageSize.default),
});
/** Message text on send: may be empty when the message carries at least one attachment. */
const sendText = text().trim().max(LIMITS.body.max).default('');
const attachmentIds = z
  .array(uuid)
  .max(LIMITS.attachments, `at most ${LIMITS.attachments} attachments`)
  .refine((ids) => new Set(ids).size === ids.length, 'must not name an upload twice')
  .optional();
const textOrAttachments = (v: { body: string; attachments?: string[] }, ctx: z.RefinementCtx) => {
  if (v.body.length === 0 && !v.attachments?.length)
    ctx.addIssue({ code: 'custom', path: ['body'], message: 'must not be empty (unless the message has attachments)' });
};
export const SendBody = z.strictObject({ body: sendText, clientId, threadId: uuid.optional(), attachments: attachmentIds }).superRefine(textOrAttachments);
export const ThreadQuery = z.strictObject({
  after: seqQuery.optional(),
  limit: digits(z.number().int().min(LIMITS.pageSize.min).max(LIMITS.pageSize.max)).default(LIMITS.pageSize.default),
});
/** The opaque `next` of a search page; the server also checks it is one it made (else 400). */
export const SEARCH_CURSOR_INVALID = 'must be the next cursor of a previous page';
export const searchCursor = text().regex(/^[A-Za-z0-9_-]{1,100}$/, SEARCH_CURSOR_INVALID);
export const SearchQuery = z.strictObject({
  q: text().trim().min(1, 'must not be empty').max(LIMITS.searchQuery.max),
  roomId: uuid.optional(),
  before: searchCursor.optional(),
  limit: digits(z.number().int().min(LIMITS.searchLimit.min).max(LIMITS.searchLimit.max)).default(LIMITS.searchLimit.default),
});
export const EditBody = z.strictObject({ body: messageBody });
export const ReadBody = z.strictObject({ seq });
export const IdParam = uuid;

export const SendPayload = z
  .strictObject({ roomId: uuid, body: sendText, clientId, threadId: uuid.optional(), attachments: attachmentIds })
  .superRefine(textOrAttachments);
export const TypingPayload = z.strictObject({ roomId: uuid, typing: z.boolean() });
export const ReadPayload = z.strictObject({ roomId: uuid, seq });
export const AuthRefreshPayload = z.strictObject({ token: text().min(1).max(4096) });
export const SyncPayload = z.strictObject({
  rooms: z.array(z.strictObject({ roomId: uuid, afterSeq: seq, afterChange: seq.optional() })).max(LIMITS.syncRooms),
});

const RI = '\\p{Regional_Indicator}';
/** Characters an emoji sequence is made of: emoji and emoji components (ZWJ, VS16, keycap, tags, skin tones), or VS15. */
const EMOJI_CHARS = /^(?:[\p{Emoji}\p{Emoji_Component}]|\uFE0E)+$/u;
const EMOJI_START = new RegExp(`^(?:(?!${RI})(?:\\p{Extended_Pictographic}|\\p{Emoji_Presentation})|${RI}${RI}$|[0-9#*]\\uFE0F?\\u20E3$)`, 'u');
let segmenter: Intl.Segmenter | undefined;

/**
 * Exactly one emoji grapheme: one extended grapheme cluster (Intl.Segmenter) made only of
 * emoji characters, that is a pictographic emoji (with its modifiers, ZWJ sequence or tags),
 * a flag (a regional-indicator pair) or a keycap. "a", "ab", "👍👍", "" and text are not.
 */
export function isOneEmoji(s: string): boolean {
  if (s.length === 0 || s.length > LIMITS.emojiLength || !storable(s)) return false;
  segmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  const it = segmenter.segment(s)[Symbol.iterator]();
  const first = it.next();
  if (first.done || first.value.segment !== s) return false;
  return EMOJI_CHARS.test(s) && EMOJI_START.test(s);
}
export const emoji = text().refine(isOneEmoji, 'must be exactly one emoji');

/**
 * The payload schema of each client event, as chat.gateway.ts parses it (the AsyncAPI document
 * and the fuzz suite read it here); a client event without one fails to compile.
 */
export const CLIENT_PAYLOADS: { [E in keyof ClientToServerEvents]: z.ZodType } = {
  'message:send': SendPayload,
  typing: TypingPayload,
  read: ReadPayload,
  sync: SyncPayload,
  'auth:refresh': AuthRefreshPayload,
};

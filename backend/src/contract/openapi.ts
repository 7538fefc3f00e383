import { z } from 'zod';
import * as S from './schemas.js';

/** The REST half of the contract as OpenAPI 3.1, built from the same zod schemas the pipes use. */
const json = (schema: z.ZodType, io: 'input' | 'output' = 'input') => z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
const strip = (s: Record<string, unknown>) => {
  delete s.$schema;
  return s;
};

const time = z.iso.datetime();
const User = z.object({ id: z.uuid(), username: z.string(), displayName: z.string(), createdAt: time });
const UserSummary = User.omit({ createdAt: true });
const Room = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: z.enum(['public', 'private', 'direct']),
  topic: z.string().nullable(),
  createdBy: z.uuid(),
  createdAt: time,
  lastSeq: z.int(),
  unread: z.int(),
  mentions: z.int().describe('my unread mentions (every unread message in a direct room)'),
  role: z.enum(['owner', 'admin', 'member']).nullable().describe('my role; null only in public-room discovery for rooms I am not in'),
  memberCount: z.int(),
  muted: z.boolean().describe('my own setting'),
  lastChange: z.int().describe('the change number of the last change to any message of the room (catch-up)'),
});
const Member = z.object({
  userId: z.uuid(),
  username: z.string(),
  displayName: z.string(),
  role: z.enum(['owner', 'admin', 'member']),
  online: z.boolean(),
  joinedAt: time,
});
const MemberPage = z.object({ members: z.array(Member), hasMore: z.boolean() });
const Upload = z.object({
  id: z.uuid(),
  name: z.string().describe('the file name the client gave, cleaned (last path segment, no control characters)'),
  size: z.int(),
  contentType: z
    .string()
    .describe('detected from the bytes, never the client claim: image/png, image/jpeg, image/gif, image/webp, application/pdf or text/plain'),
  width: z.int().optional().describe('images only'),
  height: z.int().optional().describe('images only'),
});
const Message = z.object({
  id: z.uuid(),
  roomId: z.uuid(),
  seq: z.int(),
  senderId: z.uuid(),
  senderName: z.string(),
  body: z.string(),
  clientId: z.string(),
  createdAt: time,
  editedAt: time.nullable(),
  deleted: z.boolean(),
  mentions: z.array(z.uuid()).describe('members this message mentions: @username, or everyone with @room'),
  threadId: z.uuid().nullable().describe('the thread root this message replies to'),
  replyCount: z.int().describe('on roots: replies sent in its thread (deleted ones included)'),
  lastReplyAt: time.nullable(),
  reactions: z
    .array(z.object({ emoji: z.string(), count: z.int(), userIds: z.array(z.uuid()).describe(`up to ${S.LIMITS.reactionUserIds} of those who reacted`) }))
    .describe('per emoji, in order of first use'),
  change: z.int().describe('the room-wide change number of the last change that touched this message (sending it counts)'),
  attachments: z.array(Upload).describe('files sent with the message, in the order given; emptied when it is deleted'),
});
const ThreadPage = z.object({ root: Message, messages: z.array(Message), hasMore: z.boolean() });
// refreshToken is left out (it is in the cookie) when the request carried X-Chat-Session: cookie.
const AuthResult = z.object({ user: User, accessToken: z.string(), refreshToken: z.string().optional(), expiresIn: z.int() });
const Page = z.object({ messages: z.array(Message), hasMore: z.boolean() });
const ErrorBody = z.object({
  statusCode: z.int(),
  error: z.string(),
  message: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

const SearchPage = z.object({
  results: z.array(
    z.object({
      message: Message,
      highlight: z.string().describe('the body as HTML: everything escaped, matched words wrapped in <mark>…</mark>'),
    }),
  ),
  next: z.string().nullable().describe('pass as before for the next page; null at the end'),
});

const components = { User, UserSummary, Room, Member, MemberPage, Message, Upload, AuthResult, Page, ThreadPage, SearchPage, Error: ErrorBody };
const ref = (name: keyof typeof components) => ({ $ref: `#/components/schemas/${name}` });
const content = (schema: object) => ({ content: { 'application/json': { schema } } });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: `error ${c}`, ...content(ref('Error')) }]));
const body = (schema: z.ZodType) => ({ required: true, ...content(strip(json(schema))) });
const queryParams = (schema: z.ZodObject) =>
  // Query values arrive as digit strings and are parsed to numbers: the parsed (output) type says more.
  Object.entries((strip(json(schema, 'output')) as { properties: Record<string, object> }).properties).map(([name, schema]) => ({ name, in: 'query', schema }));
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const emojiParam = {
  name: 'emoji',
  in: 'path',
  required: true,
  description: 'exactly one emoji grapheme, URL-encoded (a pictograph with its modifiers or ZWJ sequence, a flag, a keycap)',
  schema: { type: 'string', minLength: 1, maxLength: S.LIMITS.emojiLength },
};
const userIdParam = { name: 'userId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const secured = { security: [{ bearer: [] }] };
const sessionHeader = {
  name: 'X-Chat-Session',
  in: 'header',
  required: false,
  description:
    'Browsers send `cookie`: the refresh token is set as the HttpOnly, SameSite=Strict cookie `chat_refresh` (path /api/auth) instead of the JSON, and refresh/logout read it from there (then `{}` or no body)',
  schema: { type: 'string', enum: ['cookie'] },
};

type Op = Record<string, unknown>;
const op = (summary: string, o: Op): Op => ({ summary, ...o });

export function openApiDocument() {
  const paths: Record<string, Record<string, Op>> = {
    '/api/auth/register': {
      post: op('Create an account', {
        parameters: [sessionHeader],
        requestBody: body(S.RegisterBody),
        responses: { 201: { description: 'registered', ...content(ref('AuthResult')) }, ...errors(400, 403, 409, 429) },
      }),
    },
    '/api/auth/login': {
      post: op('Log in', {
        parameters: [sessionHeader],
        requestBody: body(S.LoginBody),
        responses: { 200: { description: 'logged in', ...content(ref('AuthResult')) }, ...errors(400, 401, 403, 429) },
      }),
    },
    '/api/auth/refresh': {
      post: op('Rotate the refresh token; a spent token revokes its family', {
        parameters: [sessionHeader],
        requestBody: { ...body(S.SessionBody), required: false },
        responses: { 200: { description: 'a new pair', ...content(ref('AuthResult')) }, ...errors(400, 401, 403) },
      }),
    },
    '/api/auth/logout': {
      post: op('Revoke the token family (its sockets are disconnected)', {
        parameters: [sessionHeader],
        requestBody: { ...body(S.SessionBody), required: false },
        responses: { 204: { description: 'revoked' }, ...errors(400, 403) },
      }),
    },
    '/api/auth/jwks.json': { get: op('Public keys that verify access tokens', { responses: { 200: { description: 'JWKS' } } }) },
    '/api/users/me': {
      get: op('My profile', { ...secured, responses: { 200: { description: 'me', ...content(ref('User')) }, ...errors(401) } }),
      patch: op('Change my display name', {
        ...secured,
        requestBody: body(S.UpdateProfileBody),
        responses: { 200: { description: 'updated', ...content(ref('User')) }, ...errors(400, 401) },
      }),
    },
    '/api/users': {
      get: op('Prefix search by username or display name', {
        ...secured,
        parameters: queryParams(S.UserSearchQuery),
        responses: { 200: { description: 'matches', ...content({ type: 'array', items: ref('UserSummary') }) }, ...errors(400, 401) },
      }),
    },
    '/api/users/{id}': {
      get: op('A user', { ...secured, parameters: [idParam], responses: { 200: { description: 'user', ...content(ref('User')) }, ...errors(400, 401, 404) } }),
    },
    '/api/chat/rooms': {
      post: op('Create a room; the creator is its owner. Public names are unique case-insensitively', {
        ...secured,
        requestBody: body(S.CreateRoomBody),
        responses: { 201: { description: 'created', ...content(ref('Room')) }, ...errors(400, 401, 409) },
      }),
      get: op('My rooms with unread counts', {
        ...secured,
        responses: { 200: { description: 'rooms', ...content({ type: 'array', items: ref('Room') }) }, ...errors(401) },
      }),
    },
    '/api/chat/rooms/public': {
      get: op('Discover public rooms by name prefix', {
        ...secured,
        parameters: queryParams(S.PublicRoomsQuery),
        responses: { 200: { description: 'rooms', ...content({ type: 'array', items: ref('Room') }) }, ...errors(400, 401) },
      }),
    },
    '/api/chat/rooms/{id}/join': {
      post: op('Join a public room', {
        ...secured,
        parameters: [idParam],
        responses: { 200: { description: 'joined', ...content(ref('Room')) }, ...errors(400, 401, 403, 404) },
      }),
    },
    '/api/chat/rooms/{id}': {
      patch: op('Rename and/or set the topic (owner or admin; not for direct rooms); an empty or null topic clears it', {
        ...secured,
        parameters: [idParam],
        requestBody: body(S.UpdateRoomBody),
        responses: { 200: { description: 'updated', ...content(ref('Room')) }, ...errors(400, 401, 403, 404, 409) },
      }),
    },
    '/api/chat/rooms/{id}/settings': {
      patch: op('My own settings of a room', {
        ...secured,
        parameters: [idParam],
        requestBody: body(S.RoomSettingsBody),
        responses: { 200: { description: 'my view of the room', ...content(ref('Room')) }, ...errors(400, 401, 403, 404) },
      }),
    },
    '/api/chat/rooms/{id}/members/me': {
      delete: op('Leave (not a direct room); an owner hands ownership to the longest-standing admin, else member; the last member leaving deletes the room', {
        ...secured,
        parameters: [idParam],
        responses: { 204: { description: 'left' }, ...errors(400, 401, 403, 404) },
      }),
    },
    '/api/chat/rooms/{id}/members/{userId}': {
      delete: op('Remove a member (owner or admin; never the owner); my own id is the same as leaving', {
        ...secured,
        parameters: [idParam, userIdParam],
        responses: { 204: { description: 'removed' }, ...errors(400, 401, 403, 404) },
      }),
      patch: op("Change a member's role (owner only)", {
        ...secured,
        parameters: [idParam, userIdParam],
        requestBody: body(S.UpdateMemberBody),
        responses: { 200: { description: 'the member', ...content(ref('Member')) }, ...errors(400, 401, 403, 404) },
      }),
    },
    '/api/chat/rooms/{id}/members': {
      get: op('Members, ordered by user id; keyset pages with after', {
        ...secured,
        parameters: [idParam, ...queryParams(S.MembersQuery)],
        responses: { 200: { description: 'page', ...content(ref('MemberPage')) }, ...errors(400, 401, 403, 404, 429) },
      }),
      post: op('Add a member (members only; not for direct rooms)', {
        ...secured,
        parameters: [idParam],
        requestBody: body(S.AddMemberBody),
        responses: { 201: { description: 'added', ...content(ref('Room')) }, ...errors(400, 401, 403, 404) },
      }),
    },
    '/api/chat/direct': {
      post: op('The one direct room with a user', {
        ...secured,
        requestBody: body(S.DirectBody),
        responses: { 200: { description: 'room', ...content(ref('Room')) }, ...errors(400, 401, 404) },
      }),
    },
    '/api/chat/rooms/{id}/messages': {
      get: op('History, ascending by seq; keyset pages with before/after', {
        ...secured,
        parameters: [idParam, ...queryParams(S.HistoryQuery)],
        responses: { 200: { description: 'page', ...content(ref('Page')) }, ...errors(400, 401, 403, 404) },
      }),
      post: op(
        'Send; idempotent by (sender, clientId). With threadId, a reply in that thread (400 if it is a reply, deleted, missing or of another room). ' +
          `attachments: up to ${S.LIMITS.attachments} upload ids, uploaded to this room by me and on no other message (else 400 naming each); body may then be empty`,
        {
          ...secured,
          parameters: [idParam],
          requestBody: body(S.SendBody),
          responses: {
            201: { description: 'stored', ...content(ref('Message')) },
            200: { description: 'this clientId was sent before: the stored message', ...content(ref('Message')) },
            ...errors(400, 401, 403, 404, 409, 413, 429, 503),
          },
        },
      ),
    },
    '/api/chat/rooms/{id}/uploads': {
      post: op('Upload a file to the room (members only), to attach to a message within UPLOAD_ORPHAN_AGE (24 h by default)', {
        ...secured,
        description:
          'multipart/form-data with one field `file`, streamed to storage. The type is detected from the bytes: PNG, JPEG, GIF, WebP, PDF and UTF-8 text ' +
          '(anything else 415). Over UPLOAD_MAX_BYTES (25 MiB by default) 413, also when Content-Length says so up front. ' +
          'More than UPLOAD_CONCURRENCY uploads at once on one replica: 503 with Retry-After.',
        parameters: [idParam],
        requestBody: {
          required: true,
          content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } } },
        },
        responses: { 201: { description: 'stored', ...content(ref('Upload')) }, ...errors(400, 401, 403, 404, 413, 415, 503) },
      }),
    },
    '/api/chat/uploads/{id}': {
      get: op('The bytes of an upload, to members of its room', {
        ...secured,
        description:
          'Content-Type is the detected type; images inline, everything else Content-Disposition: attachment (RFC 6266 file name); ' +
          "X-Content-Type-Options: nosniff and Content-Security-Policy: default-src 'none'; sandbox.",
        parameters: [idParam],
        responses: { 200: { description: 'the file', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } }, ...errors(400, 401, 403, 404) },
      }),
    },
    '/api/chat/uploads/{id}/thumbnail': {
      get: op('A WebP thumbnail (at most 320×320) of an image upload; 404 for other files', {
        ...secured,
        parameters: [idParam],
        responses: {
          200: { description: 'the thumbnail', content: { 'image/webp': { schema: { type: 'string', format: 'binary' } } } },
          ...errors(400, 401, 403, 404),
        },
      }),
    },
    '/api/chat/search': {
      get: op('Full-text search over the messages of the rooms I am a member of, newest first (deleted messages never match)', {
        ...secured,
        description:
          'q: words (all must match), "quoted phrases", -excluded, `or` between alternatives, from:username, in:roomname (or in:"room name"); ' +
          'an unknown from:/in: gives no results. roomId limits it to one room (403/404 as for its messages). Keyset pages: pass next as before.',
        parameters: queryParams(S.SearchQuery).map((p) => (p.name === 'q' ? { ...p, required: true } : p)),
        responses: { 200: { description: 'page', ...content(ref('SearchPage')) }, ...errors(400, 401, 403, 404, 429) },
      }),
    },
    '/api/chat/messages/{id}': {
      patch: op('Edit my message', {
        ...secured,
        parameters: [idParam],
        requestBody: body(S.EditBody),
        responses: { 200: { description: 'edited', ...content(ref('Message')) }, ...errors(400, 401, 403, 404, 409, 413) },
      }),
      delete: op('Delete my message (kept as deleted, empty body)', {
        ...secured,
        parameters: [idParam],
        responses: { 204: { description: 'deleted' }, ...errors(400, 401, 403, 404) },
      }),
    },
    '/api/chat/messages/{id}/thread': {
      get: op('A thread: its root and its replies ascending by seq; keyset pages with after', {
        ...secured,
        parameters: [idParam, ...queryParams(S.ThreadQuery)],
        responses: { 200: { description: 'thread', ...content(ref('ThreadPage')) }, ...errors(400, 401, 403, 404, 429) },
      }),
    },
    '/api/chat/messages/{id}/reactions/{emoji}': {
      put: op(`Add my reaction (members only; adding twice is a no-op; at most ${S.LIMITS.reactionsPerMessage} different emoji per message)`, {
        ...secured,
        parameters: [idParam, emojiParam],
        responses: { 200: { description: 'the message', ...content(ref('Message')) }, ...errors(400, 401, 403, 404, 409, 429) },
      }),
      delete: op('Remove my reaction (a no-op if it is not there)', {
        ...secured,
        parameters: [idParam, emojiParam],
        responses: { 200: { description: 'the message', ...content(ref('Message')) }, ...errors(400, 401, 403, 404, 429) },
      }),
    },
    '/api/chat/rooms/{id}/read': {
      post: op('Move my read marker', {
        ...secured,
        parameters: [idParam],
        requestBody: body(S.ReadBody),
        responses: { 204: { description: 'moved' }, ...errors(400, 401, 404) },
      }),
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'chat', version: '0.1.0', description: 'REST half of the wire contract; the realtime half (Socket.IO events) is docs/asyncapi.json.' },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: Object.fromEntries(Object.entries(components).map(([k, v]) => [k, strip(json(v))])),
    },
  };
}

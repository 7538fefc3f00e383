import { z } from 'zod';

/**
 * Input rules of the wire contract (../shared/design/contract.md), shared by REST pipes,
 * socket handlers and the browser client. Objects are strict: unknown fields are rejected.
 */
export const LIMITS = {
  username: { min: 3, max: 32 },
  password: { min: 8, max: 128 },
  displayName: { min: 1, max: 64 },
  roomName: { min: 1, max: 80 },
  body: { min: 1, max: 4000 },
  clientId: { min: 1, max: 64 },
  pageSize: { min: 1, max: 100, default: 50 },
  searchLimit: { min: 1, max: 50, default: 20 },
  syncRooms: 200,
} as const;

const uuid = z.uuid({ message: 'must be a UUID' });
const seq = z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(0).max(Number.MAX_SAFE_INTEGER);

export const username = z
  .string()
  .trim()
  .min(LIMITS.username.min)
  .max(LIMITS.username.max)
  .regex(/^[a-zA-Z0-9_.-]+$/, 'may contain only a-z, 0-9, _ . -')
  .transform((s) => s.toLowerCase());
export const displayName = z.string().trim().min(LIMITS.displayName.min).max(LIMITS.displayName.max);
export const password = z.string().min(LIMITS.password.min).max(LIMITS.password.max);
export const messageBody = z.string().trim().min(LIMITS.body.min, 'must not be empty').max(LIMITS.body.max);
export const clientId = z.string().min(LIMITS.clientId.min).max(LIMITS.clientId.max);

export const RegisterBody = z.strictObject({ username, password, displayName: displayName.optional() });
export const LoginBody = z.strictObject({
  username: z
    .string()
    .min(1)
    .max(LIMITS.username.max * 4),
  password: z.string().min(1).max(LIMITS.password.max),
});
export const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });

export const UpdateProfileBody = z.strictObject({ displayName });
export const UserSearchQuery = z.strictObject({
  query: z.string().trim().max(64).default(''),
  limit: z.coerce.number().int().min(LIMITS.searchLimit.min).max(LIMITS.searchLimit.max).default(LIMITS.searchLimit.default),
});

export const CreateRoomBody = z.strictObject({
  name: z.string().trim().min(LIMITS.roomName.min).max(LIMITS.roomName.max),
  kind: z.enum(['public', 'private']),
});
export const PublicRoomsQuery = z.strictObject({ query: z.string().trim().max(80).default('') });
export const AddMemberBody = z.strictObject({ userId: uuid });
export const DirectBody = z.strictObject({ userId: uuid });
export const HistoryQuery = z.strictObject({
  before: seq.optional(),
  after: seq.optional(),
  limit: z.coerce.number().int().min(LIMITS.pageSize.min).max(LIMITS.pageSize.max).default(LIMITS.pageSize.default),
});
export const SendBody = z.strictObject({ body: messageBody, clientId });
export const EditBody = z.strictObject({ body: messageBody });
export const ReadBody = z.strictObject({ seq });
export const IdParam = uuid;

export const SendPayload = z.strictObject({ roomId: uuid, body: messageBody, clientId });
export const TypingPayload = z.strictObject({ roomId: uuid, typing: z.boolean() });
export const ReadPayload = z.strictObject({ roomId: uuid, seq });
export const SyncPayload = z.strictObject({
  rooms: z.array(z.strictObject({ roomId: uuid, afterSeq: seq })).max(LIMITS.syncRooms),
});

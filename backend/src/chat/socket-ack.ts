import { HttpException, Logger } from '@nestjs/common';
import type { z } from 'zod';
import type { AckError, AckErrorCode } from '../contract/events.js';
import { codeForStatus } from '../common/http/errors.js';
import { onlyTooBig, zodProblems } from '../common/http/zod.pipe.js';

const log = new Logger('socket');

/** Turns any failure of a socket handler into an error ack; a handler never throws to Socket.IO. */
export function ackError(e: unknown): AckError {
  if (e instanceof HttpException) {
    const status = e.getStatus();
    const raw = e.getResponse() as { message?: string | string[]; details?: AckError['error']['details'] };
    const code = codeForStatus(status);
    const mapped: AckErrorCode = code === 'conflict' ? 'bad_request' : code === 'unauthorized' ? 'forbidden' : (code as AckErrorCode);
    const message = Array.isArray(raw?.message) ? raw.message.join('; ') : (raw?.message ?? e.message);
    return { ok: false, error: { code: mapped, message, ...(raw?.details ? { details: raw.details } : {}) } };
  }
  log.error({ msg: 'socket handler failed', err: String(e), stack: (e as Error)?.stack });
  return { ok: false, error: { code: 'internal', message: 'Internal error' } };
}

/** Validates a payload; a failure is an ack naming the fields, never an exception. */
export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): { data: z.infer<S> } | { error: AckError } {
  const r = schema.safeParse(payload);
  if (r.success) return { data: r.data };
  const details = zodProblems(r.error);
  const code: AckErrorCode = onlyTooBig(r.error) ? 'too_large' : 'bad_request';
  return { error: { ok: false, error: { code, message: code === 'too_large' ? 'Payload field too large' : 'Invalid payload', details } } };
}

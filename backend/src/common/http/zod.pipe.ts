import { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { FieldProblem, PayloadTooLarge, ValidationFailed } from './errors.js';

export function zodProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({
    field: i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(',') : '(body)'),
    message: i.message,
  }));
}

/** True when the only problem is message text over its maximum (answered 413 / too_large). */
export function onlyTooBig(error: z.ZodError): boolean {
  return error.issues.length > 0 && error.issues.every((i) => i.code === 'too_big' && i.path.at(-1) === 'body');
}

/** Parses with a zod schema and turns failures into 400 (or 413 for oversized message text) with field details. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const details = zodProblems(result.error);
  if (onlyTooBig(result.error)) throw new PayloadTooLarge('Field too large', details);
  throw new ValidationFailed(details);
}

export class ZodPipe<S extends z.ZodType> implements PipeTransform {
  constructor(private readonly schema: S) {}
  transform(value: unknown): z.infer<S> {
    return parseOrThrow(this.schema, value);
  }
}

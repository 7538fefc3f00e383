/** Escapes LIKE wildcards so user input matches literally in a prefix search. */
export function likePrefix(input: string): string {
  return input.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

/** Postgres unique-violation check (SQLSTATE 23505), optionally for one constraint. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = err?.code ?? err?.driverError?.code;
  const name = err?.constraint ?? err?.driverError?.constraint;
  return code === '23505' && (!constraint || name === constraint);
}

export const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

/** TypeORM's postgres driver answers UPDATE/DELETE ... RETURNING with [rows, count]. */
export function returning<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

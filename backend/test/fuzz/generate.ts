/**
 * Hand-rolled, seeded input generators for the fuzz suite: values shaped by a JSON schema
 * (from docs/openapi.json or the socket payload schemas), with boundary and hostile values
 * mixed in. The same seed gives the same inputs.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: Json[];
  const?: Json;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  anyOf?: Schema[];
  default?: Json;
}

/** mulberry32: small, fast, good enough to pick inputs; reproducible from a 32-bit seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
export type Rng = ReturnType<typeof prng>;

const ZERO_UUID = '00000000-0000-4000-8000-000000000000';
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDC00y',
  '\uDBFF\uDFFF',
  '\u202E\u200B\uFEFF',
  '😀👩‍👩‍👧',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '%00',
  '%',
  '../../etc/passwd',
  '\\',
  '%_\\%',
  '\r\n\t',
  'null',
  'true',
  '-1',
  '1e309',
  '0x10',
  ' 5 ',
  '__proto__',
  ZERO_UUID,
  '------------------------------------',
  'ÿ'.repeat(300),
];
const NASTY_NUMBERS = [0, -1, 1, 1.5, -0, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324];

/** Any JSON value, bounded in depth and size. */
export function anyJson(r: Rng, depth = 0): Json {
  switch (r.int(0, depth > 2 ? 4 : 6)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick(NASTY_NUMBERS);
    case 3:
      return r.pick(NASTY_STRINGS);
    case 4:
      return randomString(r, 0, 40);
    case 5:
      return Array.from({ length: r.int(0, 4) }, () => anyJson(r, depth + 1));
    default: {
      const o: Record<string, Json> = {};
      for (let i = r.int(0, 3); i > 0; i--) setKey(o, r.pick(['a', '__proto__', 'constructor', 'toString', randomString(r, 1, 8)]), anyJson(r, depth + 1));
      return o;
    }
  }
}

/** An own key even for "__proto__" (plain assignment would set the prototype instead). */
function setKey(o: Record<string, Json>, k: string, v: Json) {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

const ALPHABETS = ['abcdefghijklmnopqrstuvwxyz0123456789_.-', 'ABCxyz 019 !?*%&$#@', 'éüßøñ漢字한국어', '😀🎉👍', '\u0000\u0001\u001f\u007f\uD800\uDFFF\u2028'];

export function randomString(r: Rng, min: number, max: number): string {
  const len = r.int(min, max);
  const alphabet = r.pick(ALPHABETS);
  const chars = [...alphabet];
  let s = '';
  for (let i = 0; i < len; i++) s += r.pick(chars);
  return s;
}

/** Lengths around the schema's bounds, where off-by-one mistakes live. */
function stringFor(r: Rng, s: Schema, ids: () => string): string {
  if (s.format === 'uuid') return r.chance(0.7) ? ids() : r.pick([ZERO_UUID, crypto.randomUUID(), randomString(r, 30, 40), ZERO_UUID.toUpperCase()]);
  if (s.pattern === '^[0-9]{1,16}$') return String(r.pick([0, 1, 2, 5, 49, 50, 100, 101, 9007199254740991, r.int(0, 1000)]));
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? 64;
  const len = r.pick([min, min + 1, Math.max(0, min - 1), max, max + 1, r.int(min, Math.min(max, 40))]);
  return randomString(r, len, len);
}

/** A value for the schema: mostly well-formed, sometimes hostile anywhere in the tree. */
export function fromSchema(r: Rng, s: Schema | undefined, ids: () => string, depth = 0): Json {
  if (!s || r.chance(depth === 0 ? 0.08 : 0.06)) return anyJson(r, depth);
  if (s.anyOf) return fromSchema(r, r.pick(s.anyOf), ids, depth);
  if (s.const !== undefined) return s.const;
  if (s.enum) return r.chance(0.85) ? r.pick(s.enum) : r.pick(['PUBLIC', 'direct', '', 'public\u0000']);
  const type = Array.isArray(s.type) ? r.pick(s.type) : s.type;
  switch (type) {
    case 'string':
      return stringFor(r, s, ids);
    case 'integer':
    case 'number': {
      const lo = s.minimum ?? -10;
      const hi = Math.min(s.maximum ?? 1000, 1e6);
      return r.pick([lo, lo - 1, hi, hi + 1, r.int(lo, hi), r.int(lo, hi) + 0.5, s.maximum ?? 2 ** 53]);
    }
    case 'boolean':
      return r.chance(0.9) ? r.chance(0.5) : r.pick(['true', 1, 0, null]);
    case 'array': {
      const max = s.maxItems ?? 10;
      const len = r.chance(0.05) ? max + 1 : r.int(s.minItems ?? 0, Math.min(max, 6));
      return Array.from({ length: len }, () => fromSchema(r, s.items, ids, depth + 1));
    }
    case 'object': {
      const o: Record<string, Json> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        const required = s.required?.includes(k);
        if (r.chance(required ? 0.93 : 0.6)) o[k] = fromSchema(r, v, ids, depth + 1);
      }
      if (r.chance(0.05)) setKey(o, r.pick(['extra', '__proto__', 'constructor', 'admin']), anyJson(r, depth + 1));
      return o;
    }
    default:
      return anyJson(r, depth);
  }
}

import { fileTypeFromBuffer } from 'file-type';

/** Types accepted, by what the bytes are (never by the client's claim). No executables, archives, HTML or SVG. */
export const ALLOWED_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'text/plain'] as const;
/** Shown inline and given a thumbnail; everything else is served as a download. */
export const IMAGE_TYPES = new Set<string>(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Bytes looked at before a type is decided (file-type needs at most 4100 of most formats). */
export const SNIFF_BYTES = 64 * 1024;

export type Sniffed = { type: string; allowed: true } | { type: string; allowed: false };

/**
 * The type of a file from its first bytes: a format file-type recognises by its magic number,
 * else `text/plain` provisionally (the caller checks every byte is UTF-8 without NUL: TextCheck).
 */
export async function sniff(head: Buffer): Promise<Sniffed> {
  const found = await fileTypeFromBuffer(head);
  if (found) return (ALLOWED_TYPES as readonly string[]).includes(found.mime) ? { type: found.mime, allowed: true } : { type: found.mime, allowed: false };
  return { type: 'text/plain', allowed: true };
}

/** Plain text is valid UTF-8 with no NUL byte, checked chunk by chunk as the bytes stream. */
export class TextCheck {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  ok = true;

  push(chunk: Buffer) {
    if (!this.ok) return;
    try {
      if (chunk.includes(0)) this.ok = false;
      else this.decoder.decode(chunk, { stream: true });
    } catch {
      this.ok = false;
    }
  }

  /** False if the text ended in the middle of a character. */
  end(): boolean {
    if (!this.ok) return false;
    try {
      this.decoder.decode();
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * A file name safe to store and to send back: the last path segment only, no control or
 * bidi-override characters, at most 200 characters; `file` if nothing is left.
 */
export function cleanName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  return [...clean].slice(0, 200).join('') || 'file';
}

/** RFC 6266 Content-Disposition: an ASCII fallback plus the exact UTF-8 name (RFC 8187). */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

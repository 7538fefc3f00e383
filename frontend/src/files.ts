import type { Upload } from '@contract/events';

export type { Upload };

/** Uploads one message may carry (the server's limit too). */
export const MAX_ATTACHMENTS = 10;

/** A file on its way to (or already in) the room, shown as a chip above the composer. */
export interface PendingFile {
  key: string;
  name: string;
  size: number;
  /** Bytes sent so far. */
  loaded: number;
  state: 'uploading' | 'done';
  upload?: Upload;
}

/** The attachments of one composer, and why the last files were refused (shown until the next change). */
export interface Attachments {
  files: PendingFile[];
  problems: string[];
}

export const noAttachments: Attachments = { files: [], problems: [] };

const UNITS = ['KB', 'MB', 'GB'];

/** "512 bytes", "1.5 KB", "25 MB": one decimal under 10, none above. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  let n = bytes / 1024;
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  const shown = n < 10 ? Math.round(n * 10) / 10 : Math.round(n);
  // 1023.9 KB rounds to 1024 KB: say 1 MB instead.
  if (shown >= 1024 && unit < UNITS.length - 1) return `1 ${UNITS[unit + 1]}`;
  return `${shown} ${UNITS[unit]}`;
}

/** Whole percent uploaded, for a progress bar's text. */
export function percent(f: Pick<PendingFile, 'loaded' | 'size'>): number {
  return f.size > 0 ? Math.min(100, Math.floor((f.loaded / f.size) * 100)) : 0;
}

/** Images the browser shows inline (the server decides the type from the bytes). */
export function isImage(u: Pick<Upload, 'contentType'>): boolean {
  return /^image\/(png|jpeg|gif|webp)$/.test(u.contentType);
}

/** The box a thumbnail takes (set before it loads, so nothing jumps): the image scaled down to fit, never up. */
export function fitBox(width: number | undefined, height: number | undefined, maxW = 320, maxH = 240): { width: number; height: number } {
  if (!width || !height || width <= 0 || height <= 0) return { width: Math.min(maxW, maxH), height: Math.min(maxW, maxH) };
  const scale = Math.min(1, maxW / width, maxH / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Plain words for an upload the server (or the size check) refused. */
export function uploadProblem(name: string, status: number, message?: string, maxBytes?: number | null): string {
  if (status === 413) return `“${name}” is too large to send${maxBytes ? ` (files can be up to ${formatSize(maxBytes)})` : ''}.`;
  if (status === 415) return `“${name}” cannot be sent: that type of file is not allowed. Images, PDFs and plain text files can be sent.`;
  if (status === 0) return `“${name}” was not uploaded: the server cannot be reached.`;
  if (status === 403 || status === 404) return `“${name}” was not uploaded: you are no longer in this room.`;
  return `“${name}” was not uploaded${message ? `: ${message}` : '.'}`;
}

/**
 * Adds files as chips: up to MAX_ATTACHMENTS in all, and (when the limit is known) only files
 * within it. The rest are refused with a reason. `keys` names the files that were accepted.
 */
export function addFiles(
  a: Attachments,
  files: Array<{ name: string; size: number }>,
  newKey: () => string,
  maxBytes?: number | null,
): { next: Attachments; accepted: Array<{ index: number; key: string }> } {
  const list = [...a.files];
  const problems: string[] = [];
  const accepted: Array<{ index: number; key: string }> = [];
  let over = 0;
  files.forEach((f, index) => {
    if (maxBytes && f.size > maxBytes) return void problems.push(uploadProblem(f.name, 413, undefined, maxBytes));
    if (list.length >= MAX_ATTACHMENTS) return void over++;
    const key = newKey();
    list.push({ key, name: f.name, size: f.size, loaded: 0, state: 'uploading' });
    accepted.push({ index, key });
  });
  if (over) problems.push(`A message can carry up to ${MAX_ATTACHMENTS} files; ${over} ${over === 1 ? 'was' : 'were'} left out.`);
  return { next: { files: list, problems }, accepted };
}

export function progressed(a: Attachments, key: string, loaded: number): Attachments {
  return { ...a, files: a.files.map((f) => (f.key === key && f.state === 'uploading' ? { ...f, loaded: Math.min(loaded, f.size) } : f)) };
}

export function uploaded(a: Attachments, key: string, upload: Upload): Attachments {
  return { ...a, files: a.files.map((f) => (f.key === key ? { ...f, state: 'done', loaded: f.size, upload } : f)) };
}

/** A refused upload leaves the chips and says why. */
export function refused(a: Attachments, key: string, problem: string): Attachments {
  if (!a.files.some((f) => f.key === key)) return a;
  return { files: a.files.filter((f) => f.key !== key), problems: [...a.problems, problem] };
}

export function removed(a: Attachments, key: string): Attachments {
  return { ...a, files: a.files.filter((f) => f.key !== key) };
}

/** The uploads a message sent now would carry, or null while any is still uploading. */
export function ready(a: Attachments): Upload[] | null {
  if (a.files.some((f) => f.state !== 'done')) return null;
  return a.files.map((f) => f.upload!);
}

/** Which composer a set of attachments belongs to: the room's, or a thread's. */
export const composerKey = (roomId: string, threadId?: string) => (threadId ? `${roomId}:${threadId}` : roomId);

/** The files of a paste or a drop (text pastes carry none). */
export function filesOf(data: DataTransfer | null | undefined): File[] {
  return data ? [...data.files] : [];
}

import { describe, expect, test } from 'vitest';
import { LIMITS } from '../../backend/src/contract/schemas';
import {
  addFiles,
  composerKey,
  fitBox,
  formatSize,
  isImage,
  MAX_ATTACHMENTS,
  noAttachments,
  percent,
  progressed,
  ready,
  refused,
  removed,
  uploaded,
  uploadProblem,
} from './files';

describe('formatSize', () => {
  test.each([
    [0, '0 bytes'],
    [1, '1 byte'],
    [1023, '1023 bytes'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [10 * 1024 + 300, '10 KB'],
    [1024 * 1024 - 1, '1 MB'],
    [25 * 1024 * 1024, '25 MB'],
    [3.25 * 1024 ** 3, '3.3 GB'],
    [5000 * 1024 ** 3, '5000 GB'],
  ])('%d → %s', (n, s) => expect(formatSize(n)).toBe(s));

  test('nonsense is blank, not NaN', () => {
    expect(formatSize(Number.NaN)).toBe('');
    expect(formatSize(-1)).toBe('');
  });
});

describe('fitBox', () => {
  test('scales down to fit, keeping the ratio', () => {
    expect(fitBox(1280, 720)).toEqual({ width: 320, height: 180 });
    expect(fitBox(600, 1200)).toEqual({ width: 120, height: 240 });
  });
  test('never scales up, and a missing size gets a square', () => {
    expect(fitBox(40, 30)).toEqual({ width: 40, height: 30 });
    expect(fitBox(undefined, 10)).toEqual({ width: 240, height: 240 });
    expect(fitBox(10000, 1)).toEqual({ width: 320, height: 1 });
  });
});

test('isImage: only the types the browser shows inline', () => {
  expect(isImage({ contentType: 'image/png' })).toBe(true);
  expect(isImage({ contentType: 'image/webp' })).toBe(true);
  expect(isImage({ contentType: 'image/svg+xml' })).toBe(false);
  expect(isImage({ contentType: 'text/plain' })).toBe(false);
});

test('uploadProblem says what went wrong in plain words', () => {
  expect(uploadProblem('big.bin', 413)).toBe('“big.bin” is too large to send.');
  expect(uploadProblem('big.bin', 413, undefined, 25 * 1024 * 1024)).toBe('“big.bin” is too large to send (files can be up to 25 MB).');
  expect(uploadProblem('a.exe', 415)).toMatch(/that type of file is not allowed/);
  expect(uploadProblem('a.txt', 0)).toMatch(/cannot be reached/);
  expect(uploadProblem('a.txt', 500, 'Internal')).toBe('“a.txt” was not uploaded: Internal');
});

test('composerKey tells the room composer from a thread composer', () => {
  expect(composerKey('r')).toBe('r');
  expect(composerKey('r', 't')).toBe('r:t');
});

test('the cap on files per message is the server’s', () => {
  expect(MAX_ATTACHMENTS).toBe(LIMITS.attachments);
});

describe('attachments', () => {
  let n = 0;
  const key = () => `k${++n}`;
  const file = (name: string, size = 10) => ({ name, size });
  const upload = (id: string) => ({ id, name: id, size: 10, contentType: 'text/plain' });

  test('a chip per file; the message is ready once every upload is done', () => {
    const { next, accepted } = addFiles(noAttachments, [file('a'), file('b')], key);
    expect(next.files.map((f) => [f.name, f.state])).toEqual([
      ['a', 'uploading'],
      ['b', 'uploading'],
    ]);
    expect(ready(next)).toBeNull();
    const [a, b] = accepted.map((x) => x.key);
    let s = progressed(next, a, 5);
    expect(percent(s.files[0])).toBe(50);
    s = uploaded(s, a, upload('A'));
    expect(ready(s)).toBeNull();
    s = uploaded(s, b, upload('B'));
    expect(ready(s)?.map((u) => u.id)).toEqual(['A', 'B']);
  });

  test('no more than ten, the rest are refused with a reason', () => {
    const many = Array.from({ length: MAX_ATTACHMENTS + 2 }, (_, i) => file(`f${i}`));
    const { next, accepted } = addFiles(noAttachments, many, key);
    expect(next.files).toHaveLength(MAX_ATTACHMENTS);
    expect(accepted).toHaveLength(MAX_ATTACHMENTS);
    expect(next.problems).toEqual(['A message can carry up to 10 files; 2 were left out.']);
    // Full already: one more is refused too.
    expect(addFiles(next, [file('x')], key).next.files).toHaveLength(MAX_ATTACHMENTS);
  });

  test('a file over a known limit is refused before uploading', () => {
    const { next, accepted } = addFiles(noAttachments, [file('small', 10), file('big', 2000)], key, 1000);
    expect(next.files.map((f) => f.name)).toEqual(['small']);
    expect(accepted.map((x) => x.index)).toEqual([0]);
    expect(next.problems).toEqual(['“big” is too large to send (files can be up to 1000 bytes).']);
  });

  test('a refused upload leaves with its reason; a removed one leaves quietly; progress never passes the size', () => {
    const { next, accepted } = addFiles(noAttachments, [file('a'), file('b')], key);
    const s = refused(next, accepted[0].key, 'nope');
    expect(s.files.map((f) => f.name)).toEqual(['b']);
    expect(s.problems).toEqual(['nope']);
    // Cancelled first, refused after: nothing more to say.
    expect(refused(removed(next, accepted[0].key), accepted[0].key, 'late')).toEqual(removed(next, accepted[0].key));
    expect(progressed(next, accepted[1].key, 99).files[1].loaded).toBe(10);
    // Nothing left uploading: an empty list is ready (a message with text only).
    expect(ready(removed(s, accepted[1].key))).toEqual([]);
  });
});

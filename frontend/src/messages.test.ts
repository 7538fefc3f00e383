import { describe, expect, test } from 'vitest';
import type { Message } from '@contract/events';
import {
  addPending,
  firstSeq,
  highlightParts,
  lastSeq,
  lineSeq,
  markFailed,
  markPending,
  merge,
  pendingMessage,
  reactedBy,
  timeline,
  unsent,
} from './messages';

const msg = (seq: number, extra: Partial<Message> = {}): Message => ({
  id: `id-${seq}`,
  roomId: 'r',
  attachments: [],
  seq,
  senderId: 'u1',
  senderName: 'Ann',
  body: `m${seq}`,
  clientId: `c${seq}`,
  createdAt: new Date(2026, 0, 1, 0, 0, seq).toISOString(),
  editedAt: null,
  deleted: false,
  mentions: [],
  threadId: null,
  replyCount: 0,
  lastReplyAt: null,
  reactions: [],
  change: seq,
  ...extra,
});

describe('merge', () => {
  test('the higher change wins, whatever the times say: a reaction replaces, a stale copy does not', () => {
    const base = msg(5, { change: 5 });
    const reacted = msg(5, { change: 9, reactions: [{ emoji: '👍', count: 1, userIds: ['u2'] }] });
    const after = merge([base], [reacted]);
    expect(after[0].reactions).toHaveLength(1);
    // The older version (say, from a history page fetched earlier) arrives late: kept out.
    expect(merge(after, [base])[0].change).toBe(9);
  });
  test('orders by seq and drops duplicates by id and by seq', () => {
    const out = merge([msg(2), msg(1)], [msg(3), msg(2), msg(1)]);
    expect(out.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  test('a sync after reconnect fills the gap in order, exactly once', () => {
    const live = merge([], [msg(1), msg(2), msg(6)]);
    const synced = merge(live, [msg(3), msg(4), msg(5), msg(6)]);
    expect(synced.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(synced.map((m) => m.id)).size).toBe(6);
  });

  test('keeps the newest edit whichever arrives last', () => {
    const edited = msg(1, { body: 'edited', editedAt: new Date(2026, 0, 2).toISOString() });
    expect(merge([msg(1)], [edited])[0].body).toBe('edited');
    expect(merge([edited], [msg(1)])[0].body).toBe('edited');
    const deleted = msg(1, { body: '', deleted: true, editedAt: new Date(2026, 0, 3).toISOString() });
    expect(merge([edited], [deleted])[0]).toMatchObject({ deleted: true, body: '' });
  });
});

describe('pending messages', () => {
  const p = () => pendingMessage({ roomId: 'r', body: 'hello', clientId: 'c9', senderId: 'u1', senderName: 'Ann' });

  test('show at once after the confirmed ones, then settle when the ack (or echo) arrives', () => {
    let list = addPending(merge([], [msg(1)]), p());
    expect(list.map((m) => [m.body, !!m.pending])).toEqual([
      ['m1', false],
      ['hello', true],
    ]);
    list = merge(list, [msg(2, { body: 'hello', clientId: 'c9' })]);
    expect(list.map((m) => [m.seq, !!m.pending])).toEqual([
      [1, false],
      [2, false],
    ]);
    // The echo of the same message over message:new changes nothing.
    expect(merge(list, [msg(2, { body: 'hello', clientId: 'c9' })])).toEqual(list);
  });

  test('a failed send keeps its clientId for the retry, so nothing is doubled', () => {
    let list = addPending([], p());
    list = markFailed(list, 'c9');
    expect(list[0]).toMatchObject({ failed: true, pending: false, clientId: 'c9' });
    expect(unsent(list)).toHaveLength(1);
    list = markPending(list, 'c9');
    expect(list[0]).toMatchObject({ pending: true, failed: false, clientId: 'c9' });
    list = addPending(list, p());
    expect(list).toHaveLength(1);
    list = merge(list, [msg(5, { clientId: 'c9', body: 'hello' })]);
    expect(list).toHaveLength(1);
    expect(unsent(list)).toEqual([]);
  });

  test('another sender with the same clientId does not settle mine', () => {
    const list = merge(addPending([], p()), [msg(3, { clientId: 'c9', senderId: 'u2' })]);
    expect(list.map((m) => !!m.pending)).toEqual([false, true]);
  });

  test('sync resumes from the highest confirmed seq; pages go back from the lowest', () => {
    const list = addPending(merge([], [msg(4), msg(7)]), p());
    expect(lastSeq(list)).toBe(7);
    expect(firstSeq(list)).toBe(4);
    expect(lastSeq([])).toBe(0);
  });
});

describe('threads in the timeline', () => {
  const reply = (seq: number, threadId: string) => msg(seq, { threadId });
  test('replies are left out of the timeline; the unread line moves to the next shown message', () => {
    const list = [msg(1), msg(2), reply(3, 'id-2'), reply(4, 'id-2'), msg(5)];
    const shown = timeline(list);
    expect(shown.map((m) => m.seq)).toEqual([1, 2, 5]);
    expect(lineSeq(shown, 3)).toBe(5);
    expect(lineSeq(shown, 2)).toBe(2);
    expect(lineSeq(shown, 6)).toBeUndefined();
    expect(lineSeq(shown, undefined)).toBeUndefined();
    // Every seq is still held, so the room's resume point covers the replies: no gap.
    expect(lastSeq(list)).toBe(5);
  });
});

describe('reactedBy', () => {
  const names = new Map([
    ['a', 'Ann'],
    ['b', 'Ben'],
  ]);
  test('names who reacted, me as You, and how many more', () => {
    expect(reactedBy({ emoji: '👍', count: 1, userIds: ['me'] }, 'me', (id) => names.get(id))).toBe('You');
    expect(reactedBy({ emoji: '👍', count: 2, userIds: ['a', 'me'] }, 'me', (id) => names.get(id))).toBe('Ann and You');
    expect(reactedBy({ emoji: '👍', count: 3, userIds: ['a', 'b', 'x'] }, 'me', (id) => names.get(id))).toBe('Ann, Ben and someone');
    expect(reactedBy({ emoji: '👍', count: 53, userIds: ['a', 'b'] }, 'me', (id) => names.get(id))).toBe('Ann, Ben and 51 others');
  });
});

describe('highlightParts', () => {
  test('marks the matched words and unescapes the rest as text', () => {
    expect(highlightParts('a <mark>deploy</mark> &lt;b&gt; &amp;amp; &quot;x&quot; &#39;y&#39;')).toEqual([
      { text: 'a ', mark: false },
      { text: 'deploy', mark: true },
      { text: ' <b> &amp; "x" \'y\'', mark: false },
    ]);
  });
  test('any other tag stays literal text', () => {
    expect(highlightParts('<img src=x onerror=alert(1)><mark>hit</mark>')).toEqual([
      { text: '<img src=x onerror=alert(1)>', mark: false },
      { text: 'hit', mark: true },
    ]);
  });
});

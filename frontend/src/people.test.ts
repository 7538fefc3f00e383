import { describe, expect, test } from 'vitest';
import type { Member, Message } from '@contract/events';
import {
  allowedOn,
  continuesGroup,
  firstUnreadSeq,
  insertMention,
  mentionCandidates,
  mentionQuery,
  splitMentions,
  titleWithCount,
  upsertMember,
} from './people';

const at = (min: number) => new Date(Date.UTC(2026, 0, 1, 12, min)).toISOString();
const msg = (seq: number, senderId: string, min: number): Message => ({
  id: `m${seq}`,
  roomId: 'r',
  attachments: [],
  seq,
  senderId,
  senderName: senderId,
  body: `b${seq}`,
  clientId: `c${seq}`,
  createdAt: at(min),
  editedAt: null,
  deleted: false,
  mentions: [],
  threadId: null,
  replyCount: 0,
  lastReplyAt: null,
  reactions: [],
  change: seq,
});
const member = (userId: string, username: string, displayName: string, role: Member['role'] = 'member'): Member => ({
  userId,
  username,
  displayName,
  role,
  online: false,
  joinedAt: at(0),
});

describe('continuesGroup', () => {
  test('same sender within five minutes continues the group', () => {
    expect(continuesGroup(msg(1, 'a', 0), msg(2, 'a', 4))).toBe(true);
  });
  test('another sender, a long gap, a line in between, or no previous message start a new one', () => {
    expect(continuesGroup(msg(1, 'a', 0), msg(2, 'b', 1))).toBe(false);
    expect(continuesGroup(msg(1, 'a', 0), msg(2, 'a', 5))).toBe(false);
    expect(continuesGroup(msg(1, 'a', 0), msg(2, 'a', 1), true)).toBe(false);
    expect(continuesGroup(undefined, msg(2, 'a', 1))).toBe(false);
  });
});

describe('mentionQuery / insertMention', () => {
  test('finds the @word before the caret', () => {
    expect(mentionQuery('hi @Be', 6)).toEqual({ start: 3, query: 'be' });
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' });
  });
  test('ignores e-mail addresses and finished words', () => {
    expect(mentionQuery('mail bob@example', 16)).toBeNull();
    expect(mentionQuery('hi @ben ', 8)).toBeNull();
  });
  test('replaces the word with the username and a space, caret after it', () => {
    expect(insertMention('hi @be there', 3, 6, 'ben')).toEqual({ text: 'hi @ben there', caret: 8 });
  });
});

describe('mentionCandidates', () => {
  const list = [member('1', 'ann', 'Ann Lee'), member('2', 'bob', 'Robert Benson'), member('3', 'ben', 'Ben'), member('4', 'zed', 'Zed Ober')];
  test('prefix matches first (username, display name or one of its words), then substring; never me', () => {
    expect(mentionCandidates(list, 'be', '1').map((m) => m.username)).toEqual(['bob', 'ben', 'zed']);
    expect(mentionCandidates(list, 'ann', '1')).toEqual([]);
  });
});

describe('splitMentions', () => {
  test('marks mentions of me and @room; others plain mentions', () => {
    expect(splitMentions('hey @Ann and @bob. @room!', 'ann')).toEqual([
      { text: 'hey ' },
      { text: '@Ann', mention: 'me' },
      { text: ' and ' },
      { text: '@bob', mention: 'other' },
      { text: '. ' },
      { text: '@room', mention: 'me' },
      { text: '!' },
    ]);
  });
  test('an e-mail address is not a mention', () => {
    expect(splitMentions('write to ann@example.com', 'ann')).toEqual([{ text: 'write to ann@example.com' }]);
  });
});

describe('titleWithCount', () => {
  test('prefixes the unread count', () => {
    expect(titleWithCount(0)).toBe('Chat');
    expect(titleWithCount(3)).toBe('(3) Chat');
    expect(titleWithCount(5000)).toBe('(999+) Chat');
  });
});

describe('firstUnreadSeq', () => {
  test('the unread-th newest message from someone else', () => {
    const list = [msg(1, 'a', 0), msg(2, 'me', 1), msg(3, 'b', 2), msg(4, 'me', 3), msg(5, 'a', 4)];
    expect(firstUnreadSeq(list, 2, 'me')).toBe(3);
    expect(firstUnreadSeq(list, 0, 'me')).toBeNull();
    // More unread than loaded: the line goes at the top of what is loaded.
    expect(firstUnreadSeq(list, 9, 'me')).toBe(1);
  });
});

describe('allowedOn / upsertMember', () => {
  const owner = member('o', 'own', 'Own', 'owner');
  const admin = member('a', 'adm', 'Adm', 'admin');
  const plain = member('p', 'pla', 'Pla');
  test('owner changes roles and removes; admin removes; nobody touches the owner or themselves', () => {
    expect(allowedOn('owner', plain, 'o')).toEqual({ remove: true, changeRole: true });
    expect(allowedOn('admin', plain, 'a')).toEqual({ remove: true, changeRole: false });
    expect(allowedOn('admin', owner, 'a')).toEqual({ remove: false, changeRole: false });
    expect(allowedOn('member', plain, 'x')).toEqual({ remove: false, changeRole: false });
    expect(allowedOn('owner', owner, 'o')).toEqual({ remove: false, changeRole: false });
  });
  test('keeps the server order (by user id) and replaces in place', () => {
    expect(upsertMember([admin, plain], owner).map((m) => m.userId)).toEqual(['a', 'o', 'p']);
    expect(upsertMember([admin, plain], { ...plain, role: 'admin' })[1].role).toBe('admin');
  });
});

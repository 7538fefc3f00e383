import { mentionCandidates } from './mentions.js';

describe('mentionCandidates (unit)', () => {
  test.each([
    ['no at sign', { names: [], room: false }],
    ['hi @Bob and @bob', { names: ['bob'], room: false }],
    ['@alice.', { names: ['alice.', 'alice'], room: false }],
    ['mail bob@example.com', { names: [], room: false }],
    ['(@carol) @room!', { names: ['carol'], room: true }],
    ['@ROOM', { names: [], room: true }],
    ['@ab too short, @x', { names: [], room: false }],
    [`@${'a'.repeat(33)}`, { names: [], room: false }],
    ['@dan-- @eve_1', { names: ['dan--', 'dan', 'eve_1'], room: false }],
  ])('%s', (body, expected) => {
    expect(mentionCandidates(body)).toEqual(expected);
  });

  test('at most 50 names are looked up', () => {
    const body = Array.from({ length: 80 }, (_, i) => `@user${i}`).join(' ');
    expect(mentionCandidates(body).names.length).toBe(50);
  });
});

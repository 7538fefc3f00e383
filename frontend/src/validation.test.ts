import { describe, expect, test } from 'vitest';
import { LIMITS } from '../../backend/src/contract/schemas';
import { RULES, checkField, plainRequestError, plainServerProblem } from './validation';

describe('checkField', () => {
  test('register rules in plain words', () => {
    expect(checkField('username', 'ab')).toBe('Username must be at least 3 characters');
    expect(checkField('username', 'a b c')).toBe('Username may only use letters, digits and _ . -');
    expect(checkField('password', 'short')).toBe('Password must be at least 8 characters');
    expect(checkField('password', 'long enough')).toBeNull();
    expect(checkField('displayName', '')).toBeNull();
    expect(checkField('name', '  ')).toBe('Give the room a name');
    expect(checkField('topic', 'x'.repeat(251))).toBe('Topic must be at most 250 characters');
  });
  test('login only asks for something in each field', () => {
    expect(checkField('username', 'ab', 'login')).toBeNull();
    expect(checkField('password', '', 'login')).toBe('Enter a password');
  });
});

describe('plainServerProblem', () => {
  test('turns validator text into the rule', () => {
    expect(plainServerProblem('password', 'Too small: expected string to have >=8 characters')).toBe('Password must be at least 8 characters');
    expect(plainServerProblem('username', 'Too big: expected string to have <=32 characters')).toBe('Username must be at most 32 characters');
    expect(plainServerProblem('username', 'may contain only a-z, 0-9, _ . -')).toBe('Username may only use letters, digits and _ . -');
    expect(plainServerProblem('name', 'Too small: expected string to have >=1 characters')).toBe('Room name is required');
    expect(plainServerProblem('weird', 'Invalid input')).toBe('This field is not valid');
  });
  test('never passes raw validator text through', () => {
    for (const f of ['username', 'password', 'displayName', 'name', 'topic', 'other'])
      expect(plainServerProblem(f, 'Too small: expected string to have >=8 characters')).not.toMatch(/expected|>=|Too small/);
  });
});

describe('plainRequestError', () => {
  test('network, rate limit and server errors', () => {
    expect(plainRequestError(0, undefined)).toMatch(/cannot be reached/);
    expect(plainRequestError(429, 'Too many requests')).toMatch(/Too many attempts/);
    expect(plainRequestError(503, 'x')).toMatch(/server/);
    expect(plainRequestError(403, 'Only the owner can change roles')).toBe('Only the owner can change roles');
  });
});

test('the rules mirror the backend limits', () => {
  expect(RULES.username).toEqual(LIMITS.username);
  expect(RULES.password).toEqual(LIMITS.password);
  expect(RULES.displayName).toEqual(LIMITS.displayName);
  expect(RULES.roomName).toEqual(LIMITS.roomName);
  expect(RULES.topic).toEqual(LIMITS.topic);
});

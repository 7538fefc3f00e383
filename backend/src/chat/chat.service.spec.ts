import { jest } from '@jest/globals';
import { ForbiddenException, NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { APP_CONFIG } from '../common/config/config.module.js';
import { REDIS } from '../common/redis/redis.module.js';
import { LifecycleService } from '../common/lifecycle.service.js';
import { MetricsService } from '../common/metrics/metrics.service.js';
import { RateLimiter } from '../common/ratelimit/rate-limiter.js';
import { ChatService } from './chat.service.js';
import { PresenceService } from './presence.service.js';
import { RealtimeService } from './realtime.service.js';
import { UploadsService } from './uploads/uploads.service.js';

// Unit tests: the DataSource is a mock, scripted per query, so the decision logic is tested
// without a database. The e2e suites cover the same paths against real PostgreSQL.
const user = { id: '11111111-1111-4111-8111-111111111111', username: 'u', displayName: 'U' };
const roomId = '22222222-2222-4222-8222-222222222222';
const stored = {
  id: '33333333-3333-4333-8333-333333333333',
  room_id: roomId,
  seq: '7',
  sender_id: user.id,
  sender_name: 'U',
  body: 'hi',
  client_id: 'c1',
  created_at: new Date('2026-01-01T00:00:00Z'),
  edited_at: null,
  deleted: false,
};

async function build(answers: Array<unknown[]>) {
  const query = jest.fn(async () => answers.shift() ?? []);
  const transaction = jest.fn();
  const db = { query, transaction } as unknown as DataSource;
  const moduleRef = await Test.createTestingModule({
    providers: [
      ChatService,
      RealtimeService,
      PresenceService,
      RateLimiter,
      LifecycleService,
      MetricsService,
      { provide: getDataSourceToken(), useValue: db },
      { provide: APP_CONFIG, useValue: { SEND_RATE_LIMIT: 2 } },
      { provide: REDIS, useValue: null },
      // Never reached here: sends with attachments are covered by test/uploads.e2e-spec.ts.
      { provide: UploadsService, useValue: {} },
    ],
  }).compile();
  return { svc: moduleRef.get(ChatService), query, transaction };
}

describe('ChatService.send (unit, mocked DataSource)', () => {
  test('a repeated clientId answers with the stored message and opens no transaction', async () => {
    const { svc, transaction } = await build([[stored]]);
    const out = await svc.send(user, roomId, 'hi', 'c1');
    expect(out.created).toBe(false);
    expect(out.message).toMatchObject({ id: stored.id, seq: 7, clientId: 'c1' });
    expect(transaction).not.toHaveBeenCalled();
  });

  test('a repeated clientId for another room is refused', async () => {
    const { svc } = await build([[{ ...stored, room_id: '44444444-4444-4444-8444-444444444444' }]]);
    await expect(svc.send(user, roomId, 'hi', 'c1')).rejects.toThrow('clientId was already used');
  });

  test('non-members: 403 on a public room, 404 on a private one, before any write', async () => {
    const room = { id: roomId, name: 'r', created_by: user.id, created_at: new Date(), last_seq: '0', last_read_seq: null };
    const pub = await build([[], [{ ...room, kind: 'public' }]]);
    await expect(pub.svc.send(user, roomId, 'hi', 'x')).rejects.toBeInstanceOf(ForbiddenException);
    expect(pub.transaction).not.toHaveBeenCalled();
    const priv = await build([[], [{ ...room, kind: 'private' }]]);
    await expect(priv.svc.send(user, roomId, 'hi', 'x')).rejects.toBeInstanceOf(NotFoundException);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService } from '../src/common/app.js';
import { parseConfig } from '../src/common/config/config.schema.js';
import { features } from '../src/apps/modules.js';
import { client } from './harness.js';

// The all-in-one with no DATABASE_URL: its own PGlite in DATA_DIR, migrated at start.
const boot = (dataDir: string) =>
  startService(parseConfig('all', { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'error', STATIC_DIR: '' }), features.all);

describe('all-in-one on the embedded database', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat-embedded-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('data, the signing key and issued tokens survive a restart', async () => {
    const first = await boot(dir);
    const api1 = client(first.url);
    const reg = await api1('POST', '/api/auth/register', { body: { username: 'persist_me', password: 'password-123' } });
    expect(reg.status).toBe(201);
    const room = await api1('POST', '/api/chat/rooms', { token: reg.body.accessToken, body: { name: 'kept', kind: 'public' } });
    await api1('POST', `/api/chat/rooms/${room.body.id}/messages`, { token: reg.body.accessToken, body: { body: 'still here?', clientId: 'k1' } });
    await first.close();

    const second = await boot(dir);
    try {
      const api2 = client(second.url);
      // The access token issued before the restart still verifies: the dev key was persisted.
      const hist = await api2('GET', `/api/chat/rooms/${room.body.id}/messages`, { token: reg.body.accessToken });
      expect(hist.status).toBe(200);
      expect(hist.body.messages.map((m: { body: string }) => m.body)).toEqual(['still here?']);
      expect((await api2('POST', '/api/auth/login', { body: { username: 'persist_me', password: 'password-123' } })).status).toBe(200);
      expect((await api2('POST', '/api/auth/refresh', { body: { refreshToken: reg.body.refreshToken } })).status).toBe(200);
    } finally {
      await second.close();
    }
  });
});

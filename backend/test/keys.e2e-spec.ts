import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import type { Service } from '../src/common/app.js';
import type { AuthResult } from '../src/contract/events.js';
import { client, connect, freePort, register, sleep, start } from './harness.js';

const newKey = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const kidOf = (token: string) => (jwt.decode(token, { complete: true }) as { header: { kid: string } }).header.kid;

/**
 * A rotation as the chart does it: the auth service restarts with a new signing key and the
 * old one as a previous key. Users and chat (separate processes here) verify with the JWKS.
 */
describe('signing-key rotation', () => {
  const keyA = newKey();
  const keyB = newKey();
  let port: number;
  let auth: Service | undefined;
  let chat: Service;
  let dir: string;
  const startAuth = async (env: Record<string, string>) => {
    auth = await start('auth', { PORT: String(port), ACCESS_TOKEN_TTL_SECONDS: '30', ...env });
  };
  const me = (token: string) => client(chat.url)('GET', '/api/chat/rooms', { token });
  /** A verifier refetches the JWKS for an unknown kid at most every 2 s. */
  const eventually = async (token: string) => {
    for (let i = 0; i < 30; i++) {
      const r = await me(token);
      if (r.status !== 401) return r.status;
      await sleep(200);
    }
    return 401;
  };

  beforeAll(async () => {
    port = await freePort();
    dir = await mkdtemp(join(tmpdir(), 'chat-keys-'));
    await startAuth({ JWT_PRIVATE_KEY: keyA });
    chat = await start('chat', { AUTH_JWKS_URL: `http://127.0.0.1:${port}/api/auth/jwks.json` });
  });
  afterAll(async () => {
    await chat?.close();
    await auth?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('tokens of the old key keep working until they expire; new tokens use the new key; nobody is logged out', async () => {
    const api = client(`http://127.0.0.1:${port}`);
    const before: AuthResult = await register(`http://127.0.0.1:${port}`, 'kr');
    expect(await eventually(before.accessToken)).toBe(200);
    const jwksA = (await api('GET', '/api/auth/jwks.json')).body.keys as Array<{ kid: string }>;
    expect(jwksA.map((k) => k.kid)).toEqual([kidOf(before.accessToken)]);
    // A short-lived token of the old key, to see it refused once it expires.
    const shortA = jwt.sign({ sub: before.user.id, username: before.user.username, sid: randomUUID() }, keyA, {
      algorithm: 'ES256',
      keyid: jwksA[0].kid,
      issuer: 'chat-auth',
      audience: 'chat',
      expiresIn: 3,
    });

    // Rotate: B signs, A (here as its public key, in a file) is published for verification.
    await auth!.close();
    const previousFile = join(dir, 'previous-keys.pem');
    await writeFile(previousFile, createPublicKey(keyA).export({ format: 'pem', type: 'spki' }) as string);
    await startAuth({ JWT_PRIVATE_KEY: keyB, JWT_PREVIOUS_KEYS_FILE: previousFile });

    const jwks = (await api('GET', '/api/auth/jwks.json')).body.keys as Array<{ kid: string }>;
    expect(jwks).toHaveLength(2);
    expect(jwks[1].kid).toBe(jwksA[0].kid);
    // The old access token still works everywhere, and so does the refresh token it came with.
    expect((await me(before.accessToken)).status).toBe(200);
    expect((await client(chat.url)('GET', '/api/chat/rooms', { token: shortA })).status).toBe(200);
    const socket = await connect(chat.url, before.accessToken);
    socket.close();
    const refreshed = await api('POST', '/api/auth/refresh', { body: { refreshToken: before.refreshToken } });
    expect(refreshed.status).toBe(200);
    // New tokens name the new key; the chat replica fetches it on first sight (unknown kid).
    expect(kidOf(refreshed.body.accessToken)).toBe(jwks[0].kid);
    expect(kidOf(refreshed.body.accessToken)).not.toBe(jwksA[0].kid);
    expect(await eventually(refreshed.body.accessToken)).toBe(200);
    // A token of the old key is refused once it has expired.
    await sleep(3200);
    expect((await me(shortA)).status).toBe(401);
    // A key that was never published is refused.
    const stranger = jwt.sign({ sub: before.user.id, username: before.user.username }, newKey(), {
      algorithm: 'ES256',
      keyid: 'not-a-published-kid',
      issuer: 'chat-auth',
      audience: 'chat',
      expiresIn: 60,
    });
    expect((await me(stranger)).status).toBe(401);
  });

  test('previous keys may be given inline, as private keys; the active key is never listed twice', async () => {
    const other = await start('auth', { JWT_PRIVATE_KEY: keyB, JWT_PREVIOUS_KEYS: `${keyA}\n${keyB}` });
    try {
      const keys = (await client(other.url)('GET', '/api/auth/jwks.json')).body.keys as Array<{ kid: string; d?: string }>;
      expect(keys).toHaveLength(2);
      expect(keys.every((k) => k.d === undefined)).toBe(true);
    } finally {
      await other.close();
    }
  });
});

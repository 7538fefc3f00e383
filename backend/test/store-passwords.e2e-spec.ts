import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Service } from '../src/common/app.js';
import { connect, freePort, register, sleep, start } from './harness.js';

/**
 * REDIS_PASSWORD: a password the URL could not carry unescaped (a managed Redis's AUTH token,
 * an existingSecret) reaches a real redis-server that requires it.
 */
describe('a Redis password outside the URL', () => {
  const password = `p@ss:w/rd#?%25 "q'\\&=+!`;
  let redis: ChildProcess;
  let dir: string;
  let port: number;
  let svc: Service | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redis-pw-'));
    port = await freePort();
    const quoted = password.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    await writeFile(join(dir, 'redis.conf'), `requirepass "${quoted}"\nport ${port}\nbind 127.0.0.1\nsave ""\ndir ${dir}\n`);
    redis = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: 'ignore' });
    await sleep(300);
  });
  afterAll(async () => {
    await svc?.close();
    redis.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('the service connects with it and shares state through it', async () => {
    svc = await start('all', { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_PASSWORD: password, REDIS_KEY_PREFIX: 'pwtest' });
    expect((await fetch(`${svc.url}/health/ready`)).status).toBe(200);
    const ann = await register(svc.url, 'pw');
    const socket = await connect(svc.url, ann.accessToken);
    socket.close();
  });

  it('a wrong password stops the process at boot with the reason, instead of retrying forever', async () => {
    // A process of its own: Nest ends the process on a failed boot.
    const main = fileURLToPath(new URL('../dist/apps/chat.main.js', import.meta.url));
    if (!existsSync(main)) throw new Error('build the backend first (npm run build -w backend)');
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        DATABASE_URL: process.env.TEST_DATABASE_URL,
        AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
        REDIS_URL: `redis://127.0.0.1:${port}`,
        REDIS_PASSWORD: 'wrong',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const s of [child.stdout!, child.stderr!]) s.on('data', (d: Buffer) => (output += d.toString()));
    const code = await Promise.race([new Promise((r) => child.once('exit', r)), sleep(20_000).then(() => 'still running')]);
    child.kill('SIGKILL');
    expect(code).toBe(1);
    expect(output).toMatch(/WRONGPASS/);
  });
});

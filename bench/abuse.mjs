#!/usr/bin/env node
// Abuse test (issue 14): one user sends the worst sync / history / search calls the limits allow,
// as fast as they are answered, while another user chats. Passes when the server's RSS grows by
// less than 256 MB and the chatting user's ack p99 stays under 250 ms.
//   npm run abuse            30 s
//   npm run abuse:short      5 s (ABUSE_SECONDS overrides either)
// Runs the built all-in-one (backend/dist) as a child process on DATABASE_URL, or on its
// embedded database in a temp dir; the limits are the defaults, except sends (seeding).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';

const root = fileURLToPath(new URL('..', import.meta.url));
const seconds = Number(process.env.ABUSE_SECONDS ?? (process.argv.includes('--short') ? 5 : 30));
const RSS_BUDGET_MB = 256;
const P99_BUDGET_MS = 250;
// Parallel loops of the abusing user; ABUSE_WORKERS=0 measures the chatting user alone (the machine's baseline).
const WORKERS = Number(process.env.ABUSE_WORKERS ?? 8);
const BIG = 'x'.repeat(3990);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = await mkdtemp(join(tmpdir(), 'chat-abuse-'));
const server = spawn(process.execPath, [join(root, 'backend/dist/apps/all.main.js')], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, STATIC_DIR: '', LOG_LEVEL: 'error', SEND_RATE_LIMIT: '1000000' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const rssMb = async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024;

async function api(method, path, token, body) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
const user = async (p) =>
  (await api('POST', '/api/auth/register', null, { username: `${p}_${randomUUID().slice(0, 8)}`, password: 'correct horse battery' })).body;
const connect = (token) =>
  new Promise((resolve, reject) => {
    const s = io(base, { path: '/socket.io', transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
let exitCode = 1;
try {
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error('server not ready');
    await sleep(100);
  }
  // Seed the worst answers: 100 rooms of 4 kB messages (sync answers hit their byte cap), one
  // room with 150 of them (full history pages), 100 public rooms (the public search's cap).
  const mallory = await user('mallory');
  const alice = await user('alice');
  const bob = await user('bob');
  const rooms = [];
  // Public room names are unique: a run's own suffix lets it repeat on the same database.
  const run = randomUUID().slice(0, 8);
  for (let i = 0; i < 100; i++) rooms.push((await api('POST', '/api/chat/rooms', mallory.accessToken, { name: `big ${i} ${run}`, kind: 'public' })).body.id);
  const ms = await connect(mallory.accessToken);
  const seed = (roomId, n) => Promise.all(Array.from({ length: n }, () => ms.emitWithAck('message:send', { roomId, body: BIG, clientId: randomUUID() })));
  for (let i = 0; i < rooms.length; i += 10) await Promise.all(rooms.slice(i, i + 10).map((r) => seed(r, 6)));
  await seed(rooms[0], 150);
  const chatRoom = (await api('POST', '/api/chat/rooms', alice.accessToken, { name: 'talk', kind: 'private' })).body.id;
  await api('POST', `/api/chat/rooms/${chatRoom}/members`, alice.accessToken, { userId: bob.user.id });
  const [sa, sb] = await Promise.all([connect(alice.accessToken), connect(bob.accessToken)]);
  global.gc?.();
  await sleep(1000);
  const rssStart = await rssMb();

  const counts = { sync: 0, history: 0, users: 0, publicRooms: 0, limited: 0 };
  const until = Date.now() + seconds * 1000;
  let rssMax = rssStart;
  const sampler = setInterval(
    () =>
      rssMb().then(
        (v) => (rssMax = Math.max(rssMax, v)),
        () => undefined,
      ),
    250,
  );
  const syncAll = { rooms: rooms.map((roomId) => ({ roomId, afterSeq: 0 })) };
  const worst = [
    async () => {
      const a = await ms.timeout(10_000).emitWithAck('sync', syncAll);
      if (a.ok) counts.sync++;
      else counts.limited++;
    },
    async () =>
      (await api('GET', `/api/chat/rooms/${rooms[0]}/messages?limit=100`, mallory.accessToken)).status === 200 ? counts.history++ : counts.limited++,
    async () => ((await api('GET', '/api/users?query=&limit=50', mallory.accessToken)).status === 200 ? counts.users++ : counts.limited++),
    async () => ((await api('GET', '/api/chat/rooms/public?query=', mallory.accessToken)).status === 200 ? counts.publicRooms++ : counts.limited++),
  ];
  const abuse = Array.from({ length: WORKERS }, async (_, w) => {
    for (let i = w; Date.now() < until; i++) await worst[i % worst.length]().catch(() => counts.limited++);
  });
  // The other user chats: one message every 50 ms, ack latency measured.
  const latencies = [];
  let failed = 0;
  const chat = (async () => {
    for (let i = 0; Date.now() < until; i++) {
      const t0 = performance.now();
      const a = await sa
        .timeout(5000)
        .emitWithAck('message:send', { roomId: chatRoom, body: `hello ${i}`, clientId: randomUUID() })
        .catch(() => undefined);
      if (a?.ok) latencies.push(performance.now() - t0);
      else failed++;
      await sleep(50);
    }
  })();
  await Promise.all([...abuse, chat]);
  clearInterval(sampler);
  const rssEnd = await rssMb();
  for (const s of [ms, sa, sb]) s.close();

  const sorted = latencies.sort((x, y) => x - y);
  const p99 = pct(sorted, 99);
  const growth = rssMax - rssStart;
  console.log(`abuse test: ${seconds} s, ${WORKERS} parallel loops of the worst sync / history / search calls, default read and sync limits`);
  console.log(
    `  abuser answered: ${counts.sync} sync (100 rooms), ${counts.history} history pages (100 × 4 kB), ${counts.users} user searches, ${counts.publicRooms} public-room searches; ${counts.limited} rate-limited`,
  );
  console.log(
    `  server RSS: ${rssStart.toFixed(0)} MB before, ${rssMax.toFixed(0)} MB peak, ${rssEnd.toFixed(0)} MB after; growth ${growth.toFixed(0)} MB (budget < ${RSS_BUDGET_MB})`,
  );
  console.log(
    `  other user's acks: ${sorted.length} ok, ${failed} failed; p50 ${pct(sorted, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms (budget p99 < ${P99_BUDGET_MS})`,
  );
  const ok = growth < RSS_BUDGET_MB && p99 < P99_BUDGET_MS && failed === 0 && sorted.length > 0;
  console.log(ok ? 'PASS' : 'FAIL');
  exitCode = ok ? 0 : 1;
} catch (e) {
  console.log(`abuse test failed: ${e.stack}`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);

// npm run bench [-- --quick] [-- --only fanout,small,...] [-- --out DIR]
// Runs the chat (the real all-in-one process on the machine's PostgreSQL) and its baselines in
// one run on the same settings, then writes the table, the JSON and the plot. The full run
// rewrites docs/benchmarks.md's results section; --quick (CI) only checks nothing is lost.
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { io } from 'socket.io-client';
import { summary } from './lib/hist.mjs';
import { generators, root, rssOf, startProcess } from './lib/procs.mjs';
import { KEY_ID, PASSWORD, freshDatabase, mint, seedGroup, seedPoster, signingKey } from './lib/seed.mjs';
import { report } from './lib/report.mjs';
import { runB3, runArgon } from './lib/baselines.mjs';
import { runSearch, searchMarkdown } from './lib/search.mjs';
import { runUploads, startS3 } from './lib/uploads.mjs';

const argv = process.argv.slice(2);
const opt = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const quick = argv.includes('--quick');
const only = opt('--only')?.split(',');
const wants = (s) => !only || only.includes(s);
// --systems chat: leave the others out (for profiling one system; the report then lacks ratios).
const onlySystems = opt('--systems')?.split(',');
const runs_ = (name) => !onlySystems || onlySystems.includes(name);
const outDir = opt('--out') ?? (quick ? mkdtempSync(join(tmpdir(), 'chat-bench-')) : join(root, 'docs', 'benchmarks'));
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// Sizes: the full run is what docs/benchmarks.md reports; quick is a smoke test of the bench.
const P = quick
  ? {
      stepMs: 1000,
      maxSteps: 1,
      fan: 50,
      fanGens: 1,
      fanStart: 20,
      rooms: 5,
      smallGens: 1,
      smallStart: 20,
      persist: 10,
      storm: 200,
      stormGens: 1,
      logins: 10,
      loginConc: 4,
      startups: 1,
      b3Ms: 500,
      search: { messages: 20_000, rooms: 1000, roomSize: 10, myRooms: 100, vocab: 500, runs: 1, requests: 5, inserts: 500, insertConns: 4 },
    }
  : {
      stepMs: 4000,
      maxSteps: 9,
      fan: 1000,
      fanGens: 2,
      fanStart: 20,
      rooms: 100,
      smallGens: 2,
      smallStart: 200,
      persist: 200,
      storm: 10_000,
      stormGens: 4,
      logins: 400,
      loginConc: 32,
      startups: 3,
      b3Ms: 5000,
      search: { messages: 1_000_000, rooms: 1000, roomSize: 10, myRooms: 100, vocab: 5000, runs: 3, requests: 100, inserts: 20_000, insertConns: 8 },
    };
const P99_LIMIT_MS = 250;
const BATCH = 64; // SEND_BATCH_MAX the chat runs with, and the rows per statement of B3's multi-row insert

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
let runs = 0;
const problems = [];

// ---- set-up -------------------------------------------------------------------------------
const key = signingKey();
const pem = key.export({ type: 'pkcs8', format: 'pem' });
log(`database: fresh chat_bench on ${new URL(ADMIN_URL).host}`);
const dbUrl = await freshDatabase(ADMIN_URL, 'chat_bench');
const db = new pg.Pool({ connectionString: dbUrl, max: 4 });
const { hashPassword } = await import(join(root, 'backend/dist/auth/passwords.js'));
// The search scenario seeds its own database; the others share these users.
const groups = ['fanout', 'small', 'persist', 'replicas', 'storm'].some(wants)
  ? {
      fan: await seedGroup(db, 'fan', P.fan + 1, P.fan + 1),
      small: await seedGroup(db, 'sm', P.rooms * 10, 10),
      persist: await seedGroup(db, 'ps', P.persist, 1),
      storm: await seedGroup(db, 'st', P.storm, 10, { passwordHash: await hashPassword(PASSWORD) }),
    }
  : {};
const poster = groups.storm ? await seedPoster(db, 'poster', groups.storm.rooms) : undefined;
log(`seeded ${Object.values(groups).reduce((n, g) => n + g.users.length, 0) + (poster ? 1 : 0)} users`);

const chatEnv = (port, extra = {}) => ({
  PORT: String(port),
  HOST: '127.0.0.1',
  DATABASE_URL: dbUrl,
  JWT_PRIVATE_KEY: pem,
  JWT_KEY_ID: KEY_ID,
  SEND_RATE_LIMIT: '1000000',
  AUTH_RATE_LIMIT_PER_IP: '1000000',
  LOGIN_RATE_LIMIT_PER_USERNAME: '1000000',
  LOG_LEVEL: 'warn',
  NODE_ENV: 'production',
  STATIC_DIR: '',
  MIGRATE_ON_START: 'false',
  REDIS_URL: undefined,
  ...extra,
});
const systems = {
  b1: {
    label: 'B1 bare Socket.IO',
    dialect: 'bare',
    start: (port, extra) => startProcess('B1', 'bench/b1-server.mjs', { PORT: String(port), ...extra }, '/health'),
  },
  before: {
    label: 'chat, batching off',
    dialect: 'chat',
    start: (port, extra) => startProcess('chat', 'backend/dist/apps/all.main.js', chatEnv(port, { SEND_BATCH_MAX: '1', ...extra }), '/health/ready'),
  },
  chat: {
    label: 'chat',
    dialect: 'chat',
    start: (port, extra) => startProcess('chat', 'backend/dist/apps/all.main.js', chatEnv(port, { SEND_BATCH_MAX: String(BATCH), ...extra }), '/health/ready'),
  },
};

const specsOf = (group) => {
  const idx = new Map(group.users.map((u, i) => [u, i]));
  return group.rooms.flatMap((r) => r.members.map((u) => ({ idx: idx.get(u), user: u, rooms: [r.id] }))).sort((a, b) => a.idx - b.idx);
};
const toWire = (dialect, s) => (dialect === 'chat' ? { idx: s.idx, token: mint(key, s.user), rooms: s.rooms } : { idx: s.idx, rooms: s.rooms });

/** Connects a group's clients, spread round-robin over the generators (and over `urls`). */
async function connectGroup(pool, urls, dialect, group, parallel = 200) {
  const specs = specsOf(group);
  const n = pool.gens.length;
  const res = await pool.all('connect', (i) => ({
    url: urls[i % urls.length],
    dialect,
    parallel,
    specs: specs.filter((s) => s.idx % n === i).map((s) => toWire(dialect, s)),
  }));
  return {
    connected: res.reduce((a, r) => a + r.connected, 0),
    connectErrors: res.reduce((a, r) => a + r.connectErrors, 0),
    ms: Math.max(...res.map((r) => r.ms)),
    hist: summary(res.map((r) => r.hist)),
  };
}

/** One measured step: `rate` messages/s from `senders` for stepMs (open loop) or closed loop. */
async function step(pool, senders, rate, { mode = 'open', inflight = 1, fanout, durationMs = P.stepMs } = {}) {
  const id = `r${++runs}`;
  const n = pool.gens.length;
  const per = pool.gens.map((_, i) => senders.filter((s) => s % n === i));
  const res = await pool.all('run', (i) => ({ id, mode, inflight, durationMs, rate: (rate * per[i].length) / senders.length, senders: per[i] }));
  const ackedBits = Object.assign({}, ...res.map((r) => r.ackedBits));
  const sentTo = Object.assign({}, ...res.map((r) => r.sentTo));
  // Deliveries still queued (in the server or the sockets) are late, not lost: wait until none
  // has arrived for a second (at most 60 s) before counting.
  let last = -1;
  for (const t0 = Date.now(); Date.now() - t0 < 60_000; await sleep(1000)) {
    const now = (await pool.all('progress')).reduce((a, p) => a + p.delivered, 0);
    if (now === last) break;
    last = now;
  }
  const col = await pool.all('collect', { ackedBits, sentTo });
  const windowS = Math.max(...res.map((r) => r.windowMs)) / 1000;
  const sum = (arr, f) => arr.reduce((a, x) => a + f(x), 0);
  const errors = {};
  for (const r of res) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const out = {
    rate: Math.round(rate),
    offeredDeliveries: Math.round(rate * fanout),
    sent: sum(res, (r) => r.sent),
    acked: sum(res, (r) => r.acked),
    skipped: sum(res, (r) => r.skipped),
    errors,
    ackedPerSec: Math.round(sum(res, (r) => r.acked) / windowS),
    deliveredPerSec: Math.round(sum(col, (c) => c.inWindow) / windowS),
    delivered: sum(col, (c) => c.delivered),
    expected: sum(col, (c) => c.expected),
    lost: sum(col, (c) => c.missing),
    dup: sum(col, (c) => c.dup),
    latency: summary(col.map((c) => c.latHist)),
    ack: summary(res.map((r) => r.ackHist)),
  };
  out.pass =
    out.latency.p99 <= P99_LIMIT_MS &&
    out.lost === 0 &&
    out.dup === 0 &&
    out.skipped === 0 &&
    Object.keys(errors).length === 0 &&
    out.deliveredPerSec >= 0.9 * out.offeredDeliveries;
  return out;
}

const checkLoss = (what, r) => {
  if (r.lost || r.dup || Object.keys(r.errors ?? {}).length) problems.push(`${what}: lost ${r.lost}, duplicated ${r.dup}, errors ${JSON.stringify(r.errors)}`);
};

/** Warm-up steps (not reported) until p99 is under 100 ms: after a burst of connections the
 * server may still be sending the presence events they caused. At most 60 s. */
async function settle(pool, senders, rate, fanout) {
  for (const t0 = Date.now(); Date.now() - t0 < 60_000;) {
    const r = await step(pool, senders, rate, { fanout, durationMs: Math.min(P.stepMs, 2000) });
    if (r.latency.p99 < 100) return;
  }
}

/** The highest rate whose p99 stays within the limit with nothing lost: doubling, then bisecting. */
async function saturate(what, pool, senders, start, fanout) {
  await settle(pool, senders, start / 2, fanout);
  const curve = [];
  let lo, hi;
  let rate = start;
  for (let i = 0; i < P.maxSteps; i++) {
    const r = await step(pool, senders, rate, { fanout });
    checkLoss(`${what} at ${r.rate} msg/s`, r);
    curve.push(r);
    log(
      `  ${what}: ${r.rate} msg/s → ${r.deliveredPerSec} deliveries/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, lost ${r.lost}, dup ${r.dup}, skipped ${r.skipped} ${r.pass ? 'ok' : 'over'}`,
    );
    if (r.pass) lo = r;
    else hi = r;
    if (quick || (lo && hi && hi.rate / lo.rate < 1.15)) break;
    rate = lo && hi ? Math.sqrt(lo.rate * hi.rate) : lo ? rate * 2 : rate / 2;
    if (rate < 1) break;
    await sleep(500);
  }
  return { best: lo ?? null, curve };
}

const results = { quick, startedAt: new Date().toISOString(), settings: { ...P, p99LimitMs: P99_LIMIT_MS, batch: BATCH }, systems: {} };
const bySystem = (name) => (results.systems[name] ??= {});

// ---- throughput and latency: fan-out 1000 and rooms of 10, one process --------------------
const fanSenders = [0];
const smallSenders = groups.small?.users.map((_, i) => i);
for (const name of ['b1', 'before', 'chat'].filter(runs_)) {
  if (!wants('fanout') && !wants('small') && !wants('persist')) break;
  const sys = systems[name];
  const out = bySystem(name);
  log(`${sys.label}`);
  const server = await sys.start(4100);
  try {
    if (wants('fanout')) {
      const pool = generators(P.fanGens);
      out.fanoutConnect = await connectGroup(pool, [server.url], sys.dialect, groups.fan);
      out.fanout = await saturate('fan-out', pool, fanSenders, P.fanStart, P.fan + 1);
      const half = results.systems.b1?.fanout?.best?.rate / 2;
      if (half) {
        await settle(pool, fanSenders, half, P.fan + 1);
        out.fanoutHalf = await step(pool, fanSenders, half, { fanout: P.fan + 1 });
        checkLoss(`fan-out at half of B1`, out.fanoutHalf);
        log(`  fan-out at ${Math.round(half)} msg/s (half of B1's): p50 ${out.fanoutHalf.latency.p50} ms, p99 ${out.fanoutHalf.latency.p99} ms`);
      }
      await pool.all('closeAll');
      pool.close();
    }
    if (wants('small')) {
      const pool = generators(P.smallGens);
      out.smallConnect = await connectGroup(pool, [server.url], sys.dialect, groups.small);
      out.small = await saturate('rooms of 10', pool, smallSenders, P.smallStart, 10);
      const half = results.systems.b1?.small?.best?.rate / 2;
      if (half) {
        await settle(pool, smallSenders, Math.min(half, out.small.best?.rate ?? half), 10);
        out.smallHalf = await step(pool, smallSenders, half, { fanout: 10 });
        checkLoss(`rooms of 10 at half of B1`, out.smallHalf);
        log(`  rooms of 10 at ${Math.round(half)} msg/s (half of B1's): p50 ${out.smallHalf.latency.p50} ms, p99 ${out.smallHalf.latency.p99} ms`);
      }
      await pool.all('closeAll');
      pool.close();
    }
    if (wants('persist')) {
      // Each client alone in its room, two sends in flight: how fast acknowledged sends go.
      const pool = generators(1);
      await connectGroup(pool, [server.url], sys.dialect, groups.persist);
      const senders = groups.persist.users.map((_, i) => i);
      await step(pool, senders, 0, { mode: 'closed', inflight: 2, fanout: 1, durationMs: Math.min(P.stepMs, 2000) });
      out.persist = await step(pool, senders, 0, { mode: 'closed', inflight: 2, fanout: 1, durationMs: P.stepMs });
      checkLoss('acknowledged sends, closed loop', out.persist);
      log(`  closed loop, ${senders.length} senders × 2 in flight: ${out.persist.ackedPerSec} acknowledged/s, ack p99 ${out.persist.ack.p99} ms`);
      await pool.all('closeAll');
      pool.close();
    }
  } finally {
    await server.stop();
  }
}
if (wants('persist') && !quick) {
  // The messages the chat acknowledged are in the database, each once.
  const { rows } = await db.query(`SELECT count(*)::int AS n, count(DISTINCT (sender_id, client_id))::int AS d FROM chat.messages`);
  results.storedMessages = rows[0];
  if (rows[0].n !== rows[0].d) problems.push(`stored messages: ${rows[0].n} rows but ${rows[0].d} distinct clientIds`);
}

// ---- two replicas on Redis: fan-out, sender on one, receivers split --------------------------
if (wants('replicas')) {
  for (const name of ['b1', 'chat'].filter(runs_)) {
    const sys = systems[name];
    const prefix = `bench${Date.now() % 100000}`;
    log(`${sys.label} ×2 on Redis`);
    const a = await sys.start(4101, { REDIS_URL, REDIS_KEY_PREFIX: prefix, B1R_KEY: prefix });
    const b = await sys.start(4102, { REDIS_URL, REDIS_KEY_PREFIX: prefix, B1R_KEY: prefix });
    try {
      const pool = generators(2);
      bySystem(name).replicasConnect = await connectGroup(pool, [a.url, b.url], sys.dialect, groups.fan);
      bySystem(name).replicas = await saturate('fan-out, 2 replicas', pool, fanSenders, P.fanStart, P.fan + 1);
      await pool.all('closeAll');
      pool.close();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }
}

// ---- idle connections per GB, then a reconnect storm with sync -------------------------------
if (wants('storm')) {
  for (const name of ['b1', 'chat'].filter(runs_)) {
    const sys = systems[name];
    const out = bySystem(name);
    log(`${sys.label}: ${P.storm} connections`);
    const server = await sys.start(4103);
    try {
      await sleep(1000);
      const before = rssOf(server.pid);
      const pool = generators(P.stormGens);
      out.stormConnect = await connectGroup(pool, [server.url], sys.dialect, groups.storm, 500);
      await sleep(3000);
      const after = rssOf(server.pid);
      out.idle = {
        connections: out.stormConnect.connected,
        rssBefore: before,
        rssAfter: after,
        perGB: Math.round(out.stormConnect.connected / ((after - before) / 2 ** 30)),
        kbEach: Math.round((after - before) / 1024 / out.stormConnect.connected),
      };
      log(`  idle: RSS ${Math.round(before / 2 ** 20)} → ${Math.round(after / 2 ** 20)} MB, ${out.idle.kbEach} KB each, ${out.idle.perGB} per GB`);
      await pool.all('disconnectAll');
      await sleep(2000);
      const expectedPerRoom = {};
      if (sys.dialect === 'chat') {
        // While everyone is away, one message lands in every room; sync must bring each back once.
        const s = io(server.url, { transports: ['websocket'], auth: { token: mint(key, poster) }, forceNew: true });
        await new Promise((r, j) => (s.once('connect', r), s.once('connect_error', j)));
        await Promise.all(
          groups.storm.rooms.map(async (room) => {
            const ack = await s.timeout(30_000).emitWithAck('message:send', { roomId: room.id, body: 'while you were away', clientId: randomUUID() });
            if (!ack.ok) throw new Error(`poster send failed: ${JSON.stringify(ack)}`);
            expectedPerRoom[room.id] = 1;
          }),
        );
        s.disconnect();
      }
      const res = await pool.all('storm', { sync: sys.dialect === 'chat', expectedPerRoom });
      out.storm = {
        clients: res.reduce((a, r) => a + r.clients, 0),
        done: res.reduce((a, r) => a + r.done, 0),
        failed: res.reduce((a, r) => a + r.failed, 0),
        connectErrors: res.reduce((a, r) => a + r.connectErrors, 0),
        lost: res.reduce((a, r) => a + r.missing, 0),
        extra: res.reduce((a, r) => a + r.extra, 0),
        ms: Math.round(Math.max(...res.map((r) => r.ms))),
        perClient: summary(res.map((r) => r.hist)),
        sync: sys.dialect === 'chat',
      };
      if (out.storm.failed || out.storm.lost || out.storm.extra) problems.push(`${sys.label} storm: ${JSON.stringify(out.storm)}`);
      log(
        `  storm: ${out.storm.done}/${out.storm.clients} back${out.storm.sync ? ' and synced' : ''} in ${out.storm.ms} ms, p99 ${out.storm.perClient.p99} ms, lost ${out.storm.lost}, failed ${out.storm.failed}`,
      );
      await pool.all('closeAll');
      pool.close();

      if (sys.dialect === 'chat' && wants('logins')) {
        out.logins = await loginBurst(server.url, groups.storm.users.slice(0, P.logins));
        log(
          `  logins: ${out.logins.perSec}/s, p99 ${out.logins.latency.p99} ms, event loop lag p99 ${out.logins.lagP99Ms} ms (idle ${out.logins.idleLagP99Ms} ms)`,
        );
      }
    } finally {
      await server.stop();
    }
  }
}

async function eventLoopLag(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (name) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { p99: Math.round(get('nodejs_eventloop_lag_p99_seconds') * 10) / 10, max: Math.round(get('nodejs_eventloop_lag_max_seconds') * 10) / 10 };
}

/** Concurrent logins over HTTP; the event-loop lag comes from the server's own /metrics. */
async function loginBurst(url, users) {
  await eventLoopLag(url); // prom-client resets its lag histogram at every scrape
  await sleep(2000);
  const idle = await eventLoopLag(url);
  const { newHist, encodeHist } = await import('./lib/hist.mjs');
  const hist = newHist();
  const codes = {};
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: P.loginConc }, async () => {
      while (next < users.length) {
        const u = users[next++];
        const s = performance.now();
        const res = await fetch(`${url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: u.username, password: PASSWORD }),
        });
        await res.arrayBuffer();
        codes[res.status] = (codes[res.status] ?? 0) + 1;
        hist.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
      }
    }),
  );
  const ms = performance.now() - t0;
  const lag = await eventLoopLag(url);
  if (Object.keys(codes).some((c) => c !== '200')) problems.push(`logins: ${JSON.stringify(codes)}`);
  return {
    logins: users.length,
    concurrency: P.loginConc,
    codes,
    perSec: Math.round((users.length / ms) * 1000),
    latency: summary([encodeHist(hist)]),
    lagP99Ms: lag.p99,
    lagMaxMs: lag.max,
    idleLagP99Ms: idle.p99,
  };
}

// ---- baselines without Socket.IO: argon2 alone, PostgreSQL alone -----------------------------
if (wants('logins')) {
  results.argon = await runArgon(await hashPassword(PASSWORD), PASSWORD, P.logins, P.loginConc);
  log(`argon2id verify alone: ${results.argon.perSec}/s at concurrency ${P.loginConc}`);
}
if (wants('b3')) {
  results.b3 = await runB3(db, { ms: P.b3Ms, connections: 10, batch: BATCH });
  log(`B3 PostgreSQL alone: single-row ${results.b3.single.perSec} rows/s, ${BATCH}-row ${results.b3.multi.perSec} rows/s`);
}

// ---- uploads: MB/s and heap per upload in flight, PostgreSQL chunks and S3 (s3rver) -----------
if (wants('uploads')) {
  const shape = quick ? { count: 4, sizeMB: 2, concurrency: 2 } : { count: 16, sizeMB: 25, concurrency: 4 };
  for (const backend of ['postgres', 's3']) {
    let s3;
    let server;
    try {
      s3 = backend === 's3' ? await startS3() : undefined;
      server = await systems.chat.start(4105, { ...(s3?.env ?? {}), UPLOAD_CONCURRENCY: String(shape.concurrency), HTTP_REQUEST_TIMEOUT_MS: '300000' });
      const r = await runUploads(server, shape);
      (bySystem('chat').uploads ??= {})[backend] = r;
      if (!r.complete) problems.push(`uploads on ${backend}: downloads incomplete`);
      log(
        `uploads on ${backend}: ${r.uploadMBps} MB/s up, ${r.downloadMBps} MB/s down, heap +${r.heapPerUploadMB} MB per upload in flight (${r.count} × ${r.sizeMB} MB, ${r.concurrency} at a time)`,
      );
    } catch (e) {
      problems.push(`uploads on ${backend}: ${e.message}`);
    } finally {
      await server?.stop();
      await s3?.stop();
    }
  }
}

// ---- start-up: process start to ready -----------------------------------------------------
if (wants('startup')) {
  for (const name of ['b1', 'chat']) {
    const times = [];
    for (let i = 0; i < P.startups; i++) {
      const server = await systems[name].start(4104);
      times.push(Math.round(server.readyMs));
      await server.stop();
    }
    bySystem(name).startup = { runs: times, medianMs: times.sort((a, b) => a - b)[Math.floor(times.length / 2)] };
    log(`${systems[name].label}: start to ready ${times.join(', ')} ms`);
  }
}

// ---- search: 1M messages, the search endpoint's latency, the indexes' insert cost -------------
if (wants('search')) {
  log(`search: ${P.search.messages} messages in ${P.search.rooms} rooms`);
  results.search = await runSearch({
    adminUrl: ADMIN_URL,
    key,
    P: P.search,
    startChat: (url) => systems.chat.start(4105, { DATABASE_URL: url, READ_RATE_LIMIT: '1000000' }),
    log,
    problems,
  });
}

await db.end();

// ---- machine, report ------------------------------------------------------------------------
const pgVersion = await (async () => {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  const v = (await c.query('SHOW server_version')).rows[0].server_version;
  await c.end();
  return v;
})();
results.machine = {
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memoryGB: Math.round(totalmem() / 2 ** 30),
  freeGBAtStart: Math.round(freemem() / 2 ** 30),
  kernel: release(),
  node: process.version,
  postgres: pgVersion,
  redis: await redisVersion(),
};
results.finishedAt = new Date().toISOString();
results.problems = problems;

async function redisVersion() {
  const { createClient } = await import('redis');
  const c = createClient({ url: REDIS_URL });
  await c.connect();
  const v = /redis_version:(\S+)/.exec(await c.info('server'))?.[1];
  await c.quit();
  return v;
}

mkdirSync(outDir, { recursive: true });
const { markdown, svg } = report(results, systems);
writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
writeFileSync(join(outDir, 'latest.md'), markdown);
writeFileSync(join(outDir, 'latency.svg'), svg);
/** Replaces what lies between `<!-- name:start -->` and `<!-- name:end -->` in docs/benchmarks.md, formatted as `npm run lint` expects, so a fresh run leaves the tree clean. */
async function rewriteSection(name, md) {
  const doc = join(root, 'docs', 'benchmarks.md');
  const text = readFileSync(doc, 'utf8');
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const next = text.slice(0, text.indexOf(start) + start.length) + '\n' + md + '\n' + text.slice(text.indexOf(end));
  const prettier = await import('prettier');
  writeFileSync(doc, await prettier.format(next, { ...(await prettier.resolveConfig(doc)), filepath: doc }));
}
if (!quick && !only) await rewriteSection('results', markdown);
// The Search section has its own markers: it is rewritten by any full run that searched.
if (!quick && results.search)
  await rewriteSection('search', searchMarkdown(results.search, results.machine, `npm run bench${only ? ` -- --only ${only.join(',')}` : ''}`));
console.log('\n' + markdown);
console.log(`results in ${outDir}`);
if (problems.length) {
  console.log(`bench: ${problems.length} failed\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('bench: 1 passed, 0 failed');
process.exit(0);

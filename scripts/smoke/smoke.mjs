#!/usr/bin/env node
// The chat round trip that `helm test` runs, usable against any URL:
//   node scripts/smoke/smoke.mjs http://localhost:3000
// Env: SMOKE_URL (instead of the argument), SMOKE_CHAT_HEADLESS (a headless Service name whose
// A records are the chat pods: one client connects to each pod to prove fan-out crosses pods),
// SMOKE_CHAT_PORT (default 3000), SMOKE_TIMEOUT_MS (default 10000), SMOKE_UPLOAD_MAX_BYTES (the
// chart's upload limit: a file of exactly that size must pass the gateway and the service, one
// byte more must be refused with 413).
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { io } from 'socket.io-client';

const base = (process.argv[2] ?? process.env.SMOKE_URL ?? 'http://localhost:3000').replace(/\/$/, '');
const timeoutMs = Number(process.env.SMOKE_TIMEOUT_MS ?? 10_000);
const headless = process.env.SMOKE_CHAT_HEADLESS;
const chatPort = Number(process.env.SMOKE_CHAT_PORT ?? 3000);
const uploadMax = process.env.SMOKE_UPLOAD_MAX_BYTES ? Number(process.env.SMOKE_UPLOAD_MAX_BYTES) : undefined;
const results = [];
const sockets = [];

function fail(step, detail) {
  const err = new Error(`${step}: ${detail}`);
  err.step = step;
  throw err;
}

async function call(method, path, { token, body, expect: expected, origin = base } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(origin + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    fail(`${method} ${path}`, `no answer from ${origin} (${e.cause?.code ?? e.message})`);
  }
  const text = await res.text();
  if (expected && !expected.includes(res.status)) fail(`${method} ${path}`, `expected ${expected.join('/')}, got ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

function connect(origin, token, label) {
  return new Promise((resolve, reject) => {
    const s = io(origin, { path: '/socket.io', transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true, timeout: timeoutMs });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => reject(new Error(`socket ${label} to ${origin}: connect_error ${e.message}`)));
  });
}

function waitFor(socket, event, predicate, label) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no ${event} within ${timeoutMs} ms`)), timeoutMs);
    socket.on(event, (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

// Multipart through the same origin as a browser; large bodies get a longer time limit.
async function postUpload(token, roomId, body, headers = {}) {
  const path = `/api/chat/rooms/${roomId}/uploads`;
  let res;
  try {
    res = await fetch(base + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...headers },
      body,
      duplex: 'half',
      signal: AbortSignal.timeout(timeoutMs * 6),
    });
  } catch (e) {
    fail(`POST ${path}`, `no answer from ${base} (${e.cause?.code ?? e.message})`);
  }
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text };
}

function upload(token, roomId, name, bytes) {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'text/plain' }), name);
  return postUpload(token, roomId, form);
}

// A text file of `size` bytes, generated while it is sent: the test pod's memory limit is far
// below what a 25 MiB file copied into a Blob and a multipart body takes.
function uploadOfSize(token, roomId, size) {
  const boundary = `smoke-${randomUUID()}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="limit.txt"\r\nContent-Type: text/plain\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const block = Buffer.alloc(64 * 1024, 'a');
  let left = size;
  let started = false;
  const body = new ReadableStream({
    pull(c) {
      if (!started) return ((started = true), c.enqueue(head));
      if (left === 0) return (c.enqueue(tail), c.close());
      const n = Math.min(left, block.length);
      left -= n;
      c.enqueue(block.subarray(0, n));
    },
  });
  return postUpload(token, roomId, body, {
    'content-type': `multipart/form-data; boundary=${boundary}`,
    'content-length': String(head.length + size + tail.length),
  });
}

async function step(name, fn) {
  const t = Date.now();
  try {
    const out = await fn();
    results.push({ name, ok: true });
    console.log(`PASS ${name} (${Date.now() - t} ms)`);
    return out;
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.message}`);
    throw e;
  }
}

async function register(tag) {
  const username = `smoke_${tag}_${randomUUID().slice(0, 8)}`;
  const password = `pw-${randomUUID()}`;
  return { ...(await call('POST', '/api/auth/register', { body: { username, password }, expect: [201] })), password };
}

async function main() {
  console.log(`smoke check against ${base}`);
  const [a, b] = await step('two users register', () => Promise.all([register('a'), register('b')]));
  await step('login: wrong password refused, right one accepted', async () => {
    await call('POST', '/api/auth/login', { body: { username: a.user.username, password: 'wrong-password' }, expect: [401] });
    await call('POST', '/api/auth/login', { body: { username: a.user.username, password: a.password }, expect: [200] });
  });
  const room = await step('a creates a room, b joins it', async () => {
    const r = await call('POST', '/api/chat/rooms', {
      token: a.accessToken,
      body: { name: `smoke ${new Date().toISOString()}`, kind: 'public' },
      expect: [201],
    });
    await call('POST', `/api/chat/rooms/${r.id}/join`, { token: b.accessToken, expect: [200] });
    return r;
  });
  const [sa, sb] = await step('both connect over Socket.IO (websocket)', () =>
    Promise.all([connect(base, a.accessToken, 'a'), connect(base, b.accessToken, 'b')]),
  );
  const sent = await step('a message from a reaches b live', async () => {
    const clientId = randomUUID();
    const arrival = waitFor(sb, 'message:new', (m) => m.clientId === clientId, 'b');
    const ack = await sa.timeout(timeoutMs).emitWithAck('message:send', { roomId: room.id, body: 'hello from the smoke check', clientId });
    if (!ack?.ok) fail('message:send', JSON.stringify(ack));
    const got = await arrival;
    if (got.id !== ack.message.id) fail('message:new', `got ${got.id}, acked ${ack.message.id}`);
    return ack.message;
  });
  await step('a reply from b reaches a', async () => {
    const clientId = randomUUID();
    const arrival = waitFor(sa, 'message:new', (m) => m.clientId === clientId, 'a');
    const ack = await sb.timeout(timeoutMs).emitWithAck('message:send', { roomId: room.id, body: 'hello back', clientId });
    if (!ack?.ok) fail('message:send', JSON.stringify(ack));
    await arrival;
  });
  await step('history returns the messages in order', async () => {
    const page = await call('GET', `/api/chat/rooms/${room.id}/messages?limit=10`, { token: b.accessToken, expect: [200] });
    const seqs = page.messages.map((m) => m.seq);
    if (page.messages[0]?.id !== sent.id || seqs.join() !== '1,2') fail('history', `seqs ${seqs.join()}`);
  });

  await step('a file through the gateway: uploaded, attached to a message, downloaded by b byte for byte', async () => {
    // Two of the service's 256 KiB storage chunks and a bit, so reading back crosses a chunk edge.
    const bytes = Buffer.from(`smoke file ${randomUUID()}\n`.repeat(15_000));
    const up = await upload(a.accessToken, room.id, 'smoke.txt', bytes);
    if (up.status !== 201) fail('upload', `expected 201, got ${up.status} ${up.text.slice(0, 200)}`);
    const file = JSON.parse(up.text);
    if (file.size !== bytes.length || file.contentType !== 'text/plain') fail('upload', `stored ${file.size} bytes as ${file.contentType}`);
    const clientId = randomUUID();
    const arrival = waitFor(sb, 'message:new', (m) => m.clientId === clientId, 'b');
    const ack = await sa.timeout(timeoutMs).emitWithAck('message:send', { roomId: room.id, body: 'a file', clientId, attachments: [file.id] });
    if (!ack?.ok || ack.message.attachments?.[0]?.id !== file.id) fail('message:send', JSON.stringify(ack).slice(0, 300));
    await arrival;
    const res = await fetch(`${base}/api/chat/uploads/${file.id}`, {
      headers: { authorization: `Bearer ${b.accessToken}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const got = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200 || !got.equals(bytes)) fail('download', `status ${res.status}, ${got.length} bytes of ${bytes.length}, equal: ${got.equals(bytes)}`);
    if (res.headers.get('x-content-type-options') !== 'nosniff' || !res.headers.get('content-disposition')?.startsWith('attachment'))
      fail('download', `headers nosniff=${res.headers.get('x-content-type-options')} disposition=${res.headers.get('content-disposition')}`);
    console.log(`     ${bytes.length} bytes up and down`);
  });

  if (uploadMax) {
    await step(`the gateway and chat agree on the upload limit: ${uploadMax} bytes accepted, one more refused with 413`, async () => {
      const at = await uploadOfSize(a.accessToken, room.id, uploadMax);
      if (at.status !== 201) fail('upload at the limit', `expected 201, got ${at.status} ${at.text.slice(0, 200)}`);
      const over = await uploadOfSize(a.accessToken, room.id, uploadMax + 1);
      if (over.status !== 413 || !over.type.includes('json'))
        fail('upload over the limit', `expected a JSON 413, got ${over.status} ${over.type} ${over.text.slice(0, 200)}`);
    });
  }

  if (headless) {
    await step(`fan-out across every chat pod behind ${headless}`, async () => {
      const pods = (await lookup(headless, { all: true })).map((r) => (r.family === 6 ? `[${r.address}]` : r.address));
      if (pods.length < 2) fail('headless', `found ${pods.length} chat pod(s); need 2 or more to prove cross-pod fan-out`);
      const listeners = await Promise.all(pods.map((p, i) => connect(`http://${p}:${chatPort}`, b.accessToken, `b@pod${i}`)));
      for (let i = 0; i < pods.length; i++) {
        const sender = await connect(`http://${pods[i]}:${chatPort}`, a.accessToken, `a@pod${i}`);
        const clientId = randomUUID();
        const arrivals = listeners.map((l, j) => waitFor(l, 'message:new', (m) => m.clientId === clientId, `b on pod ${pods[j]}`));
        const ack = await sender.timeout(timeoutMs).emitWithAck('message:send', { roomId: room.id, body: `from pod ${pods[i]}`, clientId });
        if (!ack?.ok) fail('message:send', JSON.stringify(ack));
        await Promise.all(arrivals);
      }
      console.log(`     ${pods.length} pods: ${pods.join(', ')}`);
    });
  }

  // Auth ends the session; chat (every pod) and users hear of it through Redis.
  await step('logout ends the session everywhere: sockets cut, its token refused', async () => {
    const mine = sockets.filter((s) => s.auth.token === a.accessToken && s.connected);
    const cut = mine.map(
      (s) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`a socket of the ended session still connected after ${timeoutMs} ms`)), timeoutMs);
          s.once('disconnect', (reason) => (clearTimeout(timer), resolve(reason)));
        }),
    );
    await call('POST', '/api/auth/logout', { body: { refreshToken: a.refreshToken }, expect: [204] });
    const reasons = await Promise.all(cut);
    if (reasons.some((r) => r !== 'io server disconnect')) fail('disconnect', reasons.join(', '));
    await call('GET', '/api/chat/rooms', { token: a.accessToken, expect: [401] });
    await call('GET', '/api/users/me', { token: a.accessToken, expect: [401] });
    await call('GET', '/api/users/me', { token: b.accessToken, expect: [200] });
    console.log(`     ${mine.length} socket(s) cut; chat and users refuse the token`);
  });
}

let code = 0;
try {
  await main();
} catch {
  code = 1;
} finally {
  for (const s of sockets) s.close();
}
const passed = results.filter((r) => r.ok).length;
console.log(`smoke: ${passed} passed, ${results.length - passed} failed`);
if (code) console.log('smoke check FAILED: the chat round trip did not complete (see the FAIL line above)');
process.exit(code);

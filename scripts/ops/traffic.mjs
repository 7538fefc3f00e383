#!/usr/bin/env node
// A little of every kind of traffic the dashboard shows, against a running chat:
// registrations (one a duplicate), logins (right, wrong, then rate-limited), a room, socket sends
// from two users (some together, so they share a transaction), sends past SEND_RATE_LIMIT, and the
// readiness check the kubelet would call. Run it twice with a pause so rates see two scrapes.
// With a second URL (a chat-only process on the same Redis), bob's socket is there and every
// message alice sends through the first must reach it (fan-out across pods).
//   node scripts/ops/traffic.mjs http://127.0.0.1:3000 [round] [http://127.0.0.1:3001]
// Expects the server to run with LOGIN_RATE_LIMIT_PER_USERNAME=3 and SEND_RATE_LIMIT=20.
import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';

const base = process.argv[2].replace(/\/$/, '');
const round = process.argv[3] ?? '1';
const chatBase = (process.argv[4] ?? base).replace(/\/$/, '');
const counts = {};
const seen = (what) => (counts[what] = (counts[what] ?? 0) + 1);

async function call(method, path, { token, body } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  seen(`${method} ${path.replace(/[0-9a-f-]{36}/g, ':id')} ${res.status}`);
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const connect = (token, origin = base) =>
  new Promise((resolve, reject) => {
    const s = io(origin, { path: '/socket.io', transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });

const tag = `${round}${randomUUID().slice(0, 6)}`;
const password = `pw-${randomUUID()}`;
const users = [];
for (const name of ['alice', 'bob']) {
  const r = await call('POST', '/api/auth/register', { body: { username: `ops_${name}_${tag}`, password } });
  if (r.status !== 201) throw new Error(`register ${name}: ${r.status}`);
  users.push(r.body);
}
const [alice, bob] = users;
await call('POST', '/api/auth/register', { body: { username: alice.user.username, password } }); // 409
await call('POST', '/api/auth/login', { body: { username: alice.user.username, password } }); // 200
for (let i = 0; i < 4; i++) await call('POST', '/api/auth/login', { body: { username: bob.user.username, password: 'wrong-password' } }); // 401 x3, then 429
const room = await call('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: `ops ${tag}`, kind: 'public' } });
await call('POST', `/api/chat/rooms/${room.body.id}/join`, { token: bob.accessToken });
await call('GET', `/api/chat/rooms/${room.body.id}/messages?limit=10`, { token: bob.accessToken });
const [sa, sb] = await Promise.all([connect(alice.accessToken), connect(bob.accessToken, chatBase)]);
const fromAlice = new Set();
sb.on('message:new', (m) => m.senderId === alice.user.id && fromAlice.add(m.id));
const send = (s, i) => s.timeout(10_000).emitWithAck('message:send', { roomId: room.body.id, body: `ops ${tag} ${i}`, clientId: randomUUID() });
// Bob: 10 sends at once (batched). Alice: 25 at once, past SEND_RATE_LIMIT=20 (rate_limited).
const acks = await Promise.all([...Array.from({ length: 10 }, (_, i) => send(sb, i)), ...Array.from({ length: 25 }, (_, i) => send(sa, i))]);
for (const a of acks) seen(`socket message:send ${a.ok ? 'ok' : a.error?.code}`);
const aliceAcked = acks
  .slice(10)
  .filter((a) => a.ok)
  .map((a) => a.message.id);
for (let i = 0; i < 50 && aliceAcked.some((id) => !fromAlice.has(id)); i++) await new Promise((r) => setTimeout(r, 100));
const arrived = aliceAcked.filter((id) => fromAlice.has(id)).length;
counts[`alice's acked messages live on bob's socket${chatBase === base ? '' : ' (other process)'}`] = `${arrived}/${aliceAcked.length}`;
await call('GET', '/health/ready');
sa.close();
sb.close();
console.log(
  `traffic round ${round}: ${Object.entries(counts)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? `x${v}` : v}`)
    .join(', ')}`,
);
if (arrived !== aliceAcked.length) {
  console.log(`FAIL traffic: ${aliceAcked.length - arrived} of alice's acknowledged messages never reached bob`);
  process.exit(1);
}
if (!counts['socket message:send rate_limited'] || !counts['POST /api/auth/login 429']) {
  console.log('FAIL traffic: no rate-limited send or login (is the server running with SEND_RATE_LIMIT=20 and LOGIN_RATE_LIMIT_PER_USERNAME=3?)');
  process.exit(1);
}

// Messages through the gateway while a chat replica goes away: every send is retried with
// its clientId until acknowledged (as the browser client does); at the end every acknowledged
// message must be in the history exactly once, with seq 1..N and no gap.
//   node traffic.mjs http://gateway:8080 [seconds=8] [per-second=4]
// seconds `until-signal`: sends until SIGUSR2 (the end of a rollout), and the sender's socket
// must be connected again at the end.
import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';

// The default pace stays under the chart's per-user send limit (50 per 10 s).
const [base, seconds = '8', rate = '4'] = process.argv.slice(2);
const post = async (path, body, token) => {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
};
const sender = await post('/api/auth/register', { username: `traffic_${randomUUID().slice(0, 8)}`, password: 'traffic-password' });
const room = await post('/api/chat/rooms', { name: `traffic ${randomUUID().slice(0, 8)}`, kind: 'public' }, sender.accessToken);
const socket = io(base, {
  path: '/socket.io',
  transports: ['websocket'],
  auth: { token: sender.accessToken },
  reconnectionDelay: 200,
  reconnectionDelayMax: 1000,
});
let disconnects = 0;
socket.on('disconnect', () => (disconnects += 1));
await new Promise((r) => socket.once('connect', r));

const acked = new Map();
const sendUntilAcked = async (clientId, body) => {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const ack = await socket.timeout(3000).emitWithAck('message:send', { roomId: room.id, body, clientId });
      if (ack.ok) return acked.set(clientId, ack.message);
      // A draining replica answers `unavailable`; both it and a rate limit mean: try again soon.
      if (ack.error.code !== 'unavailable' && ack.error.code !== 'rate_limited') throw new Error(JSON.stringify(ack.error));
    } catch (e) {
      if (String(e.message).startsWith('{')) throw e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no ack for ${clientId}`);
};
const untilSignal = seconds === 'until-signal';
let stop = false;
process.on('SIGUSR2', () => (stop = true));
const total = untilSignal ? Infinity : Number(seconds) * Number(rate);
const inflight = [];
for (let i = 0; i < total && !stop; i++) {
  inflight.push(sendUntilAcked(randomUUID(), `m${i}`));
  await new Promise((r) => setTimeout(r, 1000 / Number(rate)));
}
await Promise.all(inflight);
const history = [];
for (let after = 0; ;) {
  const res = await fetch(`${base}/api/chat/rooms/${room.id}/messages?after=${after}&limit=100`, {
    headers: { authorization: `Bearer ${sender.accessToken}` },
  }).then((r) => r.json());
  history.push(...res.messages);
  if (!res.hasMore) break;
  after = res.messages.at(-1).seq;
}
// The socket reconnects on its own after its pod goes; give it the reconnection delay.
for (let i = 0; untilSignal && !socket.connected && i < 50; i++) await new Promise((r) => setTimeout(r, 100));
const connected = socket.connected;
socket.close();
const stored = new Map(history.map((m) => [m.id, m]));
const lost = [...acked.values()].filter((m) => !stored.has(m.id)).length;
const dupes = history.length - new Set(history.map((m) => m.clientId)).size;
const gaps = history.some((m, i) => m.seq !== i + 1);
console.log(
  `traffic: ${acked.size} acknowledged, ${lost} lost, ${dupes} duplicated, seq gap: ${gaps ? 'yes' : 'no'}, sender disconnects: ${disconnects}${untilSignal ? `, connected at the end: ${connected}` : ''}`,
);
process.exit(lost || dupes || gaps || acked.size !== inflight.length || (untilSignal && !connected) ? 1 : 0);

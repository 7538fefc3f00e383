// A load generator process: socket.io-client sockets driven by the harness over IPC.
// Every socket receives; some also send. Bodies carry the sender's index, a counter and the
// send time, so a receiver measures delivery latency and spots losses and duplicates.
import { performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';
import { newHist, encodeHist } from './lib/hist.mjs';

const now = () => performance.timeOrigin + performance.now();
const clients = []; // {idx, rooms, socket, seen: Map<sender, Uint8Array>, lastSeq: Map<room, seq>}
let current; // the run being measured

function track(c, body, seq, roomId) {
  if (seq !== undefined) c.lastSeq.set(roomId, Math.max(c.lastSeq.get(roomId) ?? 0, seq));
  const p = body.split('|');
  if (p[0] !== 'b' || !current || p[1] !== current.id) return;
  const at = now();
  const sender = Number(p[2]);
  const n = Number(p[3]);
  let seen = c.seen.get(sender);
  if (!seen || seen.length <= n) {
    const grown = new Uint8Array(Math.max(1024, (n + 1) * 2));
    if (seen) grown.set(seen);
    c.seen.set(sender, (seen = grown));
  }
  if (seen[n]) current.dup++;
  else {
    seen[n] = 1;
    current.delivered++;
    if (at <= current.end) current.inWindow++;
    current.lat.recordValue(Math.max(1, Math.round((at - Number(p[4])) * 1000)));
  }
}

function open(spec, url, dialect) {
  const c = { idx: spec.idx, rooms: spec.rooms, seen: new Map(), lastSeq: new Map() };
  const auth = dialect === 'chat' ? { token: spec.token } : { rooms: spec.rooms, user: `u${spec.idx}` };
  c.socket = io(url, { transports: ['websocket'], auth, forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 2000, autoConnect: false });
  c.socket.on('message:new', (m) => track(c, m.body, m.seq, m.roomId));
  return c;
}

/** Resolves when the socket is connected; counts connect errors (socket.io-client retries them). */
function connectOne(c, errors) {
  return new Promise((resolve) => {
    const onError = () => errors.n++;
    c.socket.on('connect_error', onError);
    c.socket.once('connect', () => {
      c.socket.off('connect_error', onError);
      resolve();
    });
    c.socket.connect();
  });
}

async function connect({ url, dialect, specs, parallel }) {
  const t0 = now();
  const hist = newHist();
  const errors = { n: 0 };
  const mine = specs.map((s) => open(s, url, dialect));
  clients.push(...mine);
  let next = 0;
  const worker = async () => {
    while (next < mine.length) {
      const c = mine[next++];
      const s = now();
      await connectOne(c, errors);
      hist.recordValue(Math.max(1, Math.round((now() - s) * 1000)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel || mine.length, mine.length) }, worker));
  return { connected: mine.length, connectErrors: errors.n, ms: now() - t0, hist: encodeHist(hist) };
}

/** Open loop: `rate` messages/s spread over this process's senders; closed loop: `inflight` each. */
async function run({ id, mode, rate, inflight, durationMs, senders, maxInflight = 2000 }) {
  const run = (current = { id, delivered: 0, inWindow: 0, dup: 0, lat: newHist(), end: Infinity });
  const ackLat = newHist();
  const acked = new Map();
  const errors = {};
  let sent = 0,
    ok = 0,
    pending = 0,
    skipped = 0;
  const by = clients.filter((c) => senders.includes(c.idx));
  const counters = new Map(by.map((c) => [c.idx, 0]));
  const send = (c) => {
    const n = counters.get(c.idx);
    counters.set(c.idx, n + 1);
    const t = now();
    const payload = { roomId: c.rooms[0], body: `b|${id}|${c.idx}|${n}|${t}`, clientId: `${id}-${c.idx}-${n}` };
    sent++;
    pending++;
    c.socket.timeout(30_000).emit('message:send', payload, (err, ack) => {
      pending--;
      if (err || !ack?.ok) {
        const code = err ? 'timeout' : (ack?.error?.code ?? 'bad_ack');
        errors[code] = (errors[code] ?? 0) + 1;
      } else {
        ok++;
        ackLat.recordValue(Math.max(1, Math.round((now() - t) * 1000)));
        let bits = acked.get(c.idx);
        if (!bits || bits.length <= n) {
          const grown = new Uint8Array(Math.max(1024, (n + 1) * 2));
          if (bits) grown.set(bits);
          acked.set(c.idx, (bits = grown));
        }
        bits[n] = 1;
      }
      if (mode === 'closed' && now() < run.end) send(c);
    });
  };
  const start = now();
  run.end = start + durationMs;
  if (mode === 'closed') {
    for (const c of by) for (let i = 0; i < inflight; i++) send(c);
    await new Promise((r) => setTimeout(r, durationMs));
  } else if (by.length > 0 && rate > 0) {
    // 5 ms ticks; a sender far behind (maxInflight unacked) skips, which marks saturation.
    let due = 0,
      rr = 0;
    await new Promise((resolve) => {
      const tick = setInterval(() => {
        const t = now();
        if (t >= run.end) return (clearInterval(tick), resolve());
        const target = Math.floor(((t - start) / 1000) * rate);
        for (; due < target; due++) {
          const c = by[rr++ % by.length];
          if (pending >= maxInflight) skipped++;
          else send(c);
        }
      }, 5);
    });
  }
  const windowMs = now() - start;
  // Drain: acks (or their timeouts) first, then the deliveries still on the wire.
  const drainStart = now();
  while (pending > 0 && now() - drainStart < 35_000) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));
  const bits = Object.fromEntries([...acked].map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return {
    sent,
    acked: ok,
    errors,
    skipped,
    windowMs,
    ackHist: encodeHist(ackLat),
    ackedBits: bits,
    sentTo: Object.fromEntries(by.map((c) => [c.idx, c.rooms[0]])),
  };
}

/** After every process finished sending: deliveries, losses and duplicates of acked messages. */
function collect({ ackedBits, sentTo }) {
  const run = current;
  const bits = Object.fromEntries(Object.entries(ackedBits).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  let expected = 0,
    missing = 0;
  for (const c of clients) {
    for (const [sender, room] of Object.entries(sentTo)) {
      if (!c.rooms.includes(room) || !bits[sender]) continue;
      const seen = c.seen.get(Number(sender));
      const b = bits[sender];
      for (let n = 0; n < b.length; n++) {
        if (!b[n]) continue;
        expected++;
        if (!seen || !seen[n]) missing++;
      }
    }
    c.seen.clear();
  }
  current = undefined;
  return { delivered: run.delivered, inWindow: run.inWindow, dup: run.dup, expected, missing, latHist: encodeHist(run.lat) };
}

function disconnectAll() {
  for (const c of clients) c.socket.disconnect();
  return { disconnected: clients.length };
}

/** Every socket reconnects at once; with `sync`, asks for what it missed since its last seq. */
async function storm({ sync, expectedPerRoom, timeoutMs = 120_000 }) {
  const t0 = now();
  const hist = newHist();
  const errors = { n: 0 };
  let missing = 0,
    extra = 0,
    failed = 0,
    done = 0;
  await Promise.all(
    clients.map(async (c) => {
      const s = now();
      const connected = connectOne(c, errors);
      const timedOut = new Promise((r) => setTimeout(() => r('timeout'), timeoutMs));
      if ((await Promise.race([connected, timedOut])) === 'timeout') return void failed++;
      if (sync) {
        const rooms = c.rooms.map((roomId) => ({ roomId, afterSeq: c.lastSeq.get(roomId) ?? 0 }));
        const ack = await c.socket
          .timeout(timeoutMs)
          .emitWithAck('sync', { rooms })
          .catch(() => undefined);
        if (!ack?.ok) return void failed++;
        for (const r of ack.rooms) {
          const want = expectedPerRoom[r.roomId] ?? 0;
          const got = r.messages.length;
          if (got < want) missing += want - got;
          if (got > want) extra += got - want;
          for (const m of r.messages) c.lastSeq.set(r.roomId, Math.max(c.lastSeq.get(r.roomId) ?? 0, m.seq));
        }
      }
      done++;
      hist.recordValue(Math.max(1, Math.round((now() - s) * 1000)));
    }),
  );
  return { clients: clients.length, done, failed, connectErrors: errors.n, missing, extra, ms: now() - t0, hist: encodeHist(hist) };
}

function closeAll() {
  for (const c of clients) c.socket.disconnect();
  clients.length = 0;
  return {};
}

const handlers = {
  connect,
  run,
  collect,
  progress: () => ({ delivered: current?.delivered ?? 0 }),
  disconnectAll,
  storm,
  closeAll,
  memory: () => ({ rss: process.memoryUsage().rss }),
};
process.on('message', async ({ id, cmd, args }) => {
  try {
    process.send({ id, result: await handlers[cmd](args ?? {}) });
  } catch (e) {
    process.send({ id, error: String(e?.stack ?? e) });
  }
});
process.on('disconnect', () => process.exit(0));

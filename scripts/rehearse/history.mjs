// The backup drill's history through the real API (the gateway), and its check after a restore.
//   node history.mjs write <base> [messages=40]   registers two users, a room they share, N
//        messages (one edited, one with a reaction); prints what it wrote as JSON
//   node history.mjs check <base> <file.json>     each user logs in with the old password and
//        reads the room: every message back, same id, same body (the edit kept), the reaction
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const [mode, base, arg] = process.argv.slice(2);
const call = async (method, path, body, token) => {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
};
const history = async (roomId, token) => {
  const out = [];
  for (let after = 0; ;) {
    const page = await call('GET', `/api/chat/rooms/${roomId}/messages?after=${after}&limit=100`, undefined, token);
    out.push(...page.messages);
    if (!page.hasMore) break;
    after = page.messages.at(-1).seq;
  }
  return out;
};

if (mode === 'write') {
  const n = Number(arg ?? 40);
  const tag = randomUUID().slice(0, 8);
  const users = [];
  for (const who of ['alice', 'bob']) {
    const u = { username: `${who}_${tag}`, password: `${who}-drill-password` };
    users.push({ ...u, token: (await call('POST', '/api/auth/register', u)).accessToken });
  }
  const room = await call('POST', '/api/chat/rooms', { name: `drill ${tag}`, kind: 'public' }, users[0].token);
  await call('POST', `/api/chat/rooms/${room.id}/join`, {}, users[1].token);
  const messages = [];
  // Alternating senders keep each under the per-user send limit.
  for (let i = 0; i < n; i++) {
    const m = await call('POST', `/api/chat/rooms/${room.id}/messages`, { body: `drill message ${i} ${tag}`, clientId: randomUUID() }, users[i % 2].token);
    messages.push({ id: m.id, body: m.body });
  }
  const edited = await call('PATCH', `/api/chat/messages/${messages[0].id}`, { body: `edited ${tag}` }, users[0].token);
  messages[0].body = edited.body;
  await call('PUT', `/api/chat/messages/${messages[1].id}/reactions/${encodeURIComponent('👍')}`, undefined, users[0].token);
  console.log(JSON.stringify({ users: users.map(({ username, password }) => ({ username, password })), roomId: room.id, messages, reacted: messages[1].id }));
} else if (mode === 'check') {
  const want = JSON.parse(readFileSync(arg, 'utf8'));
  let bad = 0;
  for (const u of want.users) {
    const login = await call('POST', '/api/auth/login', { username: u.username, password: u.password }).catch((e) => e);
    if (login instanceof Error) {
      console.log(`api: ${u.username} cannot log in: ${login.message}`);
      bad += 1;
      continue;
    }
    const { accessToken } = login;
    const got = await history(want.roomId, accessToken);
    const byId = new Map(got.map((m) => [m.id, m]));
    const missing = want.messages.filter((m) => byId.get(m.id)?.body !== m.body).length;
    const reaction = (byId.get(want.reacted)?.reactions ?? []).length > 0;
    console.log(
      `api: ${u.username} logged in; room history ${got.length} messages, ${missing} of ${want.messages.length} missing or changed, reaction ${reaction ? 'kept' : 'LOST'}`,
    );
    if (missing || got.length !== want.messages.length || !reaction) bad += 1;
  }
  process.exit(bad ? 1 : 0);
} else {
  console.error('usage: history.mjs write <base> [n] | check <base> <file>');
  process.exit(2);
}

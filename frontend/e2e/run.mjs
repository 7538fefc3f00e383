#!/usr/bin/env node
// Browser end-to-end tests: the real all-in-one backend (built), headless Debian Chromium
// driven by playwright-core, two users in two browser contexts.
//   node frontend/e2e/run.mjs        (after `npm run build`)
// Uses DATABASE_URL when set; otherwise the backend's embedded database in a temp dir.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../..', import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshot = join(root, 'docs', 'screenshot.png');
const results = [];
let server;
let port;
let dataDir;
let browser;
/** Content-Security-Policy violations reported by any page (console and securitypolicyviolation). */
const cspViolations = [];

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });

async function startServer() {
  server = spawn(process.execPath, [join(root, 'backend/dist/apps/all.main.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, STATIC_DIR: join(root, 'frontend/dist'), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.exited = exited;
  // Up to 60 s: the embedded database boots in about 25 s on a busy shared machine.
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(`${base()}/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(100);
  }
  throw new Error('backend did not become ready');
}

async function stopServer() {
  server.kill('SIGTERM');
  const code = await server.exited;
  if (code !== 0) throw new Error(`backend exited ${code} on SIGTERM`);
}

const base = () => `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const uniq = (p) => `${p}${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 1e4)}`;

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

async function test(name, fn) {
  const t = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`  ✓ ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`  ✕ ${name}\n      ${e.stack?.split('\n').slice(0, 3).join('\n      ')}`);
  }
}

/** Records every CSP violation of the context's pages. */
async function watchCsp(context, label) {
  await context.addInitScript(() =>
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)),
  );
  context.on('console', (m) => {
    if (/Content Security Policy|CSP violation/i.test(m.text())) cspViolations.push(`${label}: ${m.text()}`);
  });
}

async function newUser(label) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  await watchCsp(context, label);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`    [${label} page error] ${e.message}`));
  await page.goto(base());
  const username = uniq(label);
  await page.getByTestId('tab-register').click();
  await page.getByTestId('username').fill(username);
  await page.getByTestId('displayName').fill(label[0].toUpperCase() + label.slice(1));
  await page.getByTestId('password').fill('correct horse battery');
  await page.getByTestId('auth-submit').click();
  await page.getByTestId('me').waitFor();
  await page.getByTestId('connection-banner').waitFor({ state: 'detached' });
  return { context, page, username, name: label[0].toUpperCase() + label.slice(1) };
}

/** Creates a room through the UI; it opens in the conversation pane. */
async function createRoom(page, name, kind = 'public') {
  await page.getByTestId('open-create').click();
  await page.getByTestId('room-name').fill(name);
  if (kind !== 'public') await page.getByTestId('room-kind').selectOption(kind);
  await page.getByTestId('create-submit').click();
  await page.getByTestId('room-title').getByText(name).waitFor();
}

/** Adds a user to the open room through the member search. */
async function addMember(page, user) {
  await page.getByTestId('open-add-member').click();
  await page.getByTestId('user-query').fill(user.username);
  await page.locator(`[data-testid=user-result][data-username="${user.username}"]`).click();
  await page.getByText('was added').waitFor();
}

async function send(page, text) {
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('composer').press('Enter');
}

const bodies = (page) => page.getByTestId('message-body').allTextContents();

async function waitForText(page, text, timeout = 8000) {
  await page.getByTestId('messages').getByText(text, { exact: true }).first().waitFor({ timeout });
}

/** A REST session of its own (a separate token family), so the page's session is untouched. */
async function apiLogin(user) {
  const res = await fetch(`${base()}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: 'correct horse battery' }),
  });
  expect(res.status === 200, `REST login ${res.status}`);
  const { accessToken } = await res.json();
  return (path, init = {}) =>
    fetch(`${base()}${path}`, { ...init, headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', ...init.headers } });
}

async function main() {
  port = await freePort();
  dataDir = await mkdtemp(join(tmpdir(), 'chat-e2e-'));
  await startServer();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  console.log(`browser e2e against ${base()} (${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded database'})`);

  const ann = await newUser('ann');
  const ben = await newUser('ben');
  const roomName = uniq('lobby');

  await test('no token is readable from JavaScript: the refresh token is an HttpOnly cookie, storage holds none', async () => {
    const seen = await ann.page.evaluate(() => ({
      cookie: document.cookie,
      storage: [...Object.entries(localStorage), ...Object.entries(sessionStorage)].map(([k, v]) => `${k}=${v}`).join(' '),
    }));
    const tokenLike = /eyJ|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.|refresh|access/i;
    expect(!tokenLike.test(seen.cookie), `document.cookie: ${seen.cookie}`);
    expect(!tokenLike.test(seen.storage), `storage: ${seen.storage}`);
    const cookies = await ann.context.cookies();
    const refresh = cookies.find((c) => c.name === 'chat_refresh');
    expect(refresh, `cookies: ${cookies.map((c) => c.name).join(', ')}`);
    expect(refresh.httpOnly && refresh.sameSite === 'Strict' && refresh.path === '/api/auth', `cookie flags ${JSON.stringify(refresh)}`);
  });

  await test('the CSP check works: an injected inline style is refused and reported', async () => {
    const ctx = await browser.newContext();
    const before = cspViolations.length;
    await watchCsp(ctx, 'probe');
    const p = await ctx.newPage();
    await p.goto(base());
    await p.evaluate(() => document.head.insertAdjacentHTML('beforeend', '<style>body { outline: 1px solid red }</style>'));
    await sleep(300);
    expect(cspViolations.length > before, 'the injected inline style was not reported');
    cspViolations.splice(before);
    await ctx.close();
  });

  await test('register errors are shown next to the field', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(base());
    await p.getByTestId('tab-register').click();
    await p.getByTestId('username').fill('x');
    await p.getByTestId('password').fill('short');
    await p.getByTestId('auth-submit').click();
    const u = await p.getByTestId('error-username').textContent();
    const pw = await p.getByTestId('error-password').textContent();
    expect(u && pw, `field errors: ${u} / ${pw}`);
    await p.getByTestId('tab-login').click();
    await p.getByTestId('username').fill('nobody_at_all');
    await p.getByTestId('password').fill('wrong password');
    await p.getByTestId('auth-submit').click();
    expect((await p.getByTestId('auth-error').textContent()).includes('Invalid'), 'login error shown');
    await ctx.close();
  });

  await test('ann creates a public room; ben discovers and joins it', async () => {
    await createRoom(ann.page, roomName);
    await ben.page.getByTestId('open-discover').click();
    await ben.page.getByTestId('discover-query').fill(roomName.slice(0, 6));
    await ben.page.locator(`[data-testid=join][data-room-name="${roomName}"]`).click();
    await ben.page.getByTestId('room-title').getByText(roomName).waitFor();
  });

  await test('messages both ways, live, own messages marked', async () => {
    await send(ann.page, 'Hi Ben, welcome to the lobby!');
    await waitForText(ben.page, 'Hi Ben, welcome to the lobby!');
    await send(ben.page, 'Thanks Ann. Docs: https://example.org/docs');
    await waitForText(ann.page, 'Thanks Ann. Docs: https://example.org/docs');
    const mine = await ann.page.locator('[data-testid=message][data-mine=true]').count();
    expect(mine === 1, `ann sees ${mine} own messages`);
    const link = await ann.page.locator('[data-testid=message-body] a').first().getAttribute('href');
    expect(link === 'https://example.org/docs', `link ${link}`);
  });

  await test('text is rendered as text, never as HTML', async () => {
    await send(ann.page, '<img src=x onerror="window.__pwned=1"><b>bold?</b>');
    await waitForText(ben.page, '<img src=x onerror="window.__pwned=1"><b>bold?</b>');
    expect((await ben.page.evaluate(() => window.__pwned)) === undefined, 'script ran');
    expect((await ben.page.locator('[data-testid=message-body] b').count()) === 0, 'HTML was rendered');
  });

  await test('typing indicator and presence', async () => {
    await ben.page.getByTestId('composer').pressSequentially('typing something', { delay: 20 });
    await ann.page
      .getByTestId('typing')
      .getByText(/typing/)
      .waitFor();
    await ben.page.getByTestId('composer').fill('');
    await ann.page.getByTestId('online-list').getByText('Ben').waitFor();
    await ben.page.getByTestId('online-list').getByText('Ann').waitFor();
  });

  await test('Shift+Enter makes a new line; Enter sends', async () => {
    await ann.page.getByTestId('composer').fill('line one');
    await ann.page.getByTestId('composer').press('Shift+Enter');
    await ann.page.getByTestId('composer').pressSequentially('line two');
    await ann.page.getByTestId('composer').press('Enter');
    await waitForText(ben.page, 'line one\nline two');
  });

  await test('edit and delete reach the other user', async () => {
    await send(ann.page, 'teh typo');
    await waitForText(ben.page, 'teh typo');
    const msg = ann.page.locator('[data-testid=message][data-mine=true]').filter({ hasText: 'teh typo' });
    await msg.getByTestId('edit').click();
    await ann.page.getByTestId('edit-input').fill('the typo, fixed');
    await ann.page.getByTestId('edit-save').click();
    await waitForText(ben.page, 'the typo, fixed');
    const fixed = ann.page.locator('[data-testid=message][data-mine=true]').filter({ hasText: 'the typo, fixed' });
    await fixed.getByTestId('delete').click();
    await ben.page.getByTestId('messages').getByText('the typo, fixed').waitFor({ state: 'detached' });
    await ben.page.getByTestId('messages').getByText('message deleted').first().waitFor();
  });

  await test('a reload keeps the session and shows the history', async () => {
    await ben.page.reload();
    await ben.page.getByTestId('me').waitFor();
    await ben.page.locator(`[data-testid=room-item][data-room-name="${roomName}"]`).click();
    await waitForText(ben.page, 'Hi Ben, welcome to the lobby!');
    const all = await bodies(ben.page);
    expect(all.indexOf('Hi Ben, welcome to the lobby!') < all.indexOf('Thanks Ann. Docs: https://example.org/docs'), `order: ${all.join(' | ')}`);
  });

  await test('unread counts for a room that is not open', async () => {
    const other = uniq('side');
    await createRoom(ann.page, other);
    await addMember(ann.page, ben);
    await send(ann.page, 'ping in the side room');
    await send(ann.page, 'second ping');
    const item = ben.page.locator(`[data-testid=room-item][data-room-name="${other}"]`);
    await item.getByTestId('unread').getByText('2').waitFor();
    await item.click();
    await waitForText(ben.page, 'second ping');
    await item.getByTestId('unread').waitFor({ state: 'detached' });
    await ben.page.locator(`[data-testid=room-item][data-room-name="${roomName}"]`).click();
    await ann.page.locator(`[data-testid=room-item][data-room-name="${roomName}"]`).click();
  });

  await test('a third user cannot see a private room', async () => {
    const secret = uniq('secret');
    await createRoom(ann.page, secret, 'private');
    await send(ann.page, 'for ann only');
    await ann.page.locator('[data-testid=message]').filter({ hasText: 'for ann only' }).locator('[data-testid=pending]').waitFor({ state: 'detached' });
    const cal = await newUser('cal');
    await cal.page.getByTestId('open-discover').click();
    await cal.page.getByTestId('discover-query').fill(secret);
    await sleep(500);
    expect((await cal.page.locator('[data-testid=join]').count()) === 0, 'private room discoverable');
    expect((await cal.page.locator(`[data-testid=room-item][data-room-name="${secret}"]`).count()) === 0, 'private room listed');
    const asAnn = await apiLogin(ann);
    const asCal = await apiLogin(cal);
    const secretRoom = (await asAnn('/api/chat/rooms').then((r) => r.json())).find((r) => r.name === secret);
    const res = await asCal(`/api/chat/rooms/${secretRoom.id}/messages`);
    expect(res.status === 404, `third user got ${res.status} for the private history`);
    await ann.page.locator(`[data-testid=room-item][data-room-name="${roomName}"]`).click();
    await cal.context.close();
  });

  await test('screenshot of a real conversation for the README', async () => {
    await mkdir(join(root, 'docs'), { recursive: true });
    const team = uniq('release-');
    await createRoom(ann.page, team);
    await addMember(ann.page, ben);
    await ben.page.locator(`[data-testid=room-item][data-room-name="${team}"]`).click();
    const lines = [
      [ann, 'Morning! The chart installed cleanly on kind with two chat replicas.'],
      [ben, 'Nice. Did helm test pass across both pods?'],
      [ann, 'Yes, the smoke check sent one message through each pod and both arrived.'],
      [ben, 'Great, I will tag the release after lunch. Notes: https://example.org/release-notes'],
    ];
    for (const [who, text] of lines) {
      await send(who.page, text);
      await waitForText(who === ann ? ben.page : ann.page, text);
    }
    await ann.page.getByTestId('composer').pressSequentially('Sounds good', { delay: 15 });
    await ben.page
      .getByTestId('typing')
      .getByText(/typing/)
      .waitFor();
    await ben.page.screenshot({ path: screenshot });
    await ann.page.getByTestId('composer').fill('');
    await ann.page.locator(`[data-testid=room-item][data-room-name="${roomName}"]`).click();
    await ben.page.locator(`[data-testid=room-item][data-room-name="${roomName}"]`).click();
  });

  await test('server stopped and restarted mid-conversation: the client recovers and shows what was sent meanwhile', async () => {
    await stopServer();
    await ann.page.getByTestId('connection-banner').waitFor();
    await ben.page.getByTestId('connection-banner').waitFor();
    // Ben types while the server is down: the message waits, pending, and is sent on reconnect.
    await send(ben.page, 'sent while the server was down');
    await ben.page.locator('[data-testid=message]').filter({ hasText: 'sent while the server was down' }).waitFor();
    // Ben stays cut off while the server comes back, so what Ann sends reaches him only by sync.
    await ben.context.setOffline(true);
    await startServer();
    const asAnn = await apiLogin(ann);
    const lobby = (await asAnn('/api/chat/rooms').then((r) => r.json())).find((r) => r.name === roomName);
    for (const text of ['missed one', 'missed two', 'missed three']) {
      const r = await asAnn(`/api/chat/rooms/${lobby.id}/messages`, {
        method: 'POST',
        body: JSON.stringify({ body: text, clientId: `rest-${text}-${Date.now()}` }),
      });
      expect(r.status === 201, `REST send ${r.status}`);
    }
    await sleep(300);
    expect((await bodies(ben.page)).indexOf('missed one') === -1, 'ben saw a message while offline');
    await ben.context.setOffline(false);
    await ben.page.getByTestId('connection-banner').waitFor({ state: 'detached', timeout: 15000 });
    await waitForText(ben.page, 'missed three', 15000);
    const all = await bodies(ben.page);
    const idx = ['missed one', 'missed two', 'missed three'].map((t) => all.indexOf(t));
    expect(
      idx.every((i, k) => i >= 0 && (k === 0 || i > idx[k - 1])),
      `order after sync: ${all.join(' | ')}`,
    );
    expect(all.filter((t) => t === 'missed two').length === 1, 'duplicate after sync');
    // Ben's message written offline went out exactly once.
    await waitForText(ann.page, 'sent while the server was down', 15000);
    await ben.page.locator('[data-testid=pending]').first().waitFor({ state: 'detached', timeout: 15000 });
    const benHistory = await asAnn(`/api/chat/rooms/${lobby.id}/messages?limit=100`).then((r) => r.json());
    expect(benHistory.messages.filter((m) => m.body === 'sent while the server was down').length === 1, 'offline message stored once');
  });

  await test('usable on a phone-sized screen', async () => {
    const ctx = await browser.newContext({ viewport: { width: 375, height: 720 }, isMobile: true, hasTouch: true });
    await watchCsp(ctx, 'phone');
    const p = await ctx.newPage();
    await p.goto(base());
    await p.getByTestId('tab-register').click();
    await p.getByTestId('username').fill(uniq('dee'));
    await p.getByTestId('password').fill('correct horse battery');
    await p.getByTestId('auth-submit').click();
    await p.getByTestId('open-discover').click();
    await p.getByTestId('discover-query').fill(roomName);
    await p.locator(`[data-testid=join][data-room-name="${roomName}"]`).click();
    await p.getByTestId('composer').waitFor();
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    expect(width <= 375, `page is ${width}px wide on a 375px screen`);
    await send(p, 'hello from a phone');
    await waitForText(ann.page, 'hello from a phone');
    await ctx.close();
  });

  await test('no page reported a Content-Security-Policy violation', async () => {
    expect(cspViolations.length === 0, cspViolations.join('\n'));
  });

  await test('logging out returns to the login screen and forgets the session', async () => {
    await ben.page.getByTestId('logout').click();
    await ben.page.getByTestId('auth-form').waitFor();
    // The screen changes at once; the logout answer clears the cookie a moment later.
    const cookieLeft = async () => (await ben.context.cookies()).some((c) => c.name === 'chat_refresh');
    for (let i = 0; i < 30 && (await cookieLeft()); i++) await sleep(100);
    expect(!(await cookieLeft()), 'the refresh cookie outlived the logout');
    await ben.page.reload();
    await ben.page.getByTestId('auth-form').waitFor();
  });
}

let failedHard = false;
try {
  await main();
} catch (e) {
  failedHard = true;
  console.log(`e2e setup failed: ${e.stack}`);
} finally {
  await browser?.close().catch(() => undefined);
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await server.exited;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed + (failedHard ? 1 : 0);
console.log(`\ne2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

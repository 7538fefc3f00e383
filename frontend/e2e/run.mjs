#!/usr/bin/env node
// Browser end-to-end tests: the real all-in-one backend (built), headless Debian Chromium
// driven by playwright-core, two users in two browser contexts.
//   node frontend/e2e/run.mjs        (after `npm run build`)
// Uses DATABASE_URL when set; otherwise the backend's embedded database in a temp dir.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../..', import.meta.url));
const axeSource = createRequire(import.meta.url)('axe-core').source;
const PASSWORD = 'correct horse battery';
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshot = join(root, 'docs', 'screenshot.png');
const results = [];
/** The upload size limit of the e2e server (small, so the too-large case is quick). */
const UPLOAD_LIMIT = 1024 * 1024;
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
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      STATIC_DIR: join(root, 'frontend/dist'),
      LOG_LEVEL: 'warn',
      // Every account of this run registers and logs in from 127.0.0.1.
      AUTH_RATE_LIMIT_PER_IP: '1000',
      // Small, so the browser test of a file too large sends little.
      UPLOAD_MAX_BYTES: String(UPLOAD_LIMIT),
    },
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

async function newUser(label, options = {}, init) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 }, ...options });
  await watchCsp(context, label);
  if (init) await context.addInitScript(init);
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
  // The form closes once the room has loaded; a click before that would be undone.
  await page.getByTestId('create-form').waitFor({ state: 'detached' });
}

/** Adds a user to the open room through the member search. */
async function addMember(page, user) {
  await openMembers(page);
  await page.getByTestId('open-add-member').click();
  await page.getByTestId('user-query').fill(user.username);
  await page.locator(`[data-testid=user-result][data-username="${user.username}"]`).click();
  await page.getByTestId('member-notice').getByText('was added').waitFor();
  await page.getByTestId('close-panel').click();
}

/** Opens the member panel of the open room (if it is not open already). */
async function openMembers(page) {
  if (await page.getByTestId('member-panel').count()) return;
  await page.getByTestId('open-members').click();
  await page.getByTestId('member-panel').waitFor();
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

/** Registers an account over REST only: a member who has never opened the app (offline). */
async function restUser(label) {
  const username = uniq(label);
  const displayName = label[0].toUpperCase() + label.slice(1);
  const res = await fetch(`${base()}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD, displayName }),
  });
  expect(res.status === 201, `REST register ${res.status}`);
  return { username, name: displayName, id: (await res.json()).user.id };
}

/** Joins a public room through Discover; waits until the panel has closed (it closes after the room opened). */
async function joinRoom(page, name) {
  await page.getByTestId('open-discover').click();
  await page.getByTestId('discover-query').fill(name);
  await page.locator(`[data-testid=join][data-room-name="${name}"]`).click();
  await page.getByTestId('room-title').getByText(name).waitFor();
  await page.getByTestId('discover').waitFor({ state: 'detached' });
}

const roomItem = (page, name) => page.locator(`[data-testid=room-item][data-room-name="${name}"]`);
const memberRow = (page, username) => page.locator(`[data-testid=member][data-username="${username}"]`);

/**
 * Runs axe-core on the page; fails on any critical or serious violation and prints the
 * counts per impact for the screen.
 */
async function axe(page, screen) {
  // Evaluated over the DevTools protocol: the app's CSP (rightly) refuses an inline script tag.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.length,
      target: v.nodes[0]?.target.join(' '),
      summary: v.nodes[0]?.failureSummary,
    }));
  });
  const count = (impact) => violations.filter((v) => v.impact === impact).reduce((n, v) => n + v.nodes, 0);
  console.log(`    axe: ${screen} critical=${count('critical')} serious=${count('serious')} moderate=${count('moderate')} minor=${count('minor')}`);
  for (const v of violations) if (v.impact === 'moderate' || v.impact === 'minor') console.log(`      (${v.impact}) ${v.id} ×${v.nodes}: ${v.target}`);
  // Collected, so one run reports every screen; the test fails at its end.
  for (const v of violations)
    if (v.impact === 'critical' || v.impact === 'serious') axeProblems.push(`${screen}: ${v.impact} ${v.id} ×${v.nodes} at ${v.target}: ${v.summary}`);
}
const axeProblems = [];

/** Presses Tab (keyboard only) until the element with this test id has focus. */
async function tabTo(page, testid, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) === testid) return;
  }
  throw new Error(`Tab never reached ${testid}`);
}

/** Logs an existing account in through the login form. */
async function logIn(page, user) {
  await page.goto(base());
  await page.getByTestId('username').fill(user.username);
  await page.getByTestId('password').fill(PASSWORD);
  await page.getByTestId('auth-submit').click();
  await page.getByTestId('me').waitFor();
}

/**
 * Captures desktop notifications (the real Notification constructor runs, with the permission
 * the context granted) and lets the test hide the page: headless Chromium keeps a page
 * "visible" even behind another tab, so visibilityState is overridden.
 */
function notificationProbe() {
  window.__notes = [];
  let hidden = false;
  window.__setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  const Real = window.Notification;
  window.Notification = new Proxy(Real, {
    construct(target, args) {
      window.__notes.push({ title: args[0], body: args[1]?.body });
      return Reflect.construct(target, args);
    },
    get: (target, prop) => target[prop],
  });
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
    expect((await p.getByTestId('auth-error').textContent()) === 'Wrong username or password.', 'login error shown');
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
    // Nothing is deleted until confirmed.
    await sleep(300);
    expect((await bodies(ben.page)).includes('the typo, fixed'), 'deleted before the confirmation');
    await fixed.getByTestId('delete-confirm').click();
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
    const asAnn = await apiLogin(ann);
    const teamRoom = (await asAnn('/api/chat/rooms').then((r) => r.json())).find((r) => r.name === team);
    await asAnn(`/api/chat/rooms/${teamRoom.id}`, { method: 'PATCH', body: JSON.stringify({ topic: 'Shipping 1.0: chart, images, release notes' }) });
    await ben.page.getByTestId('room-topic').waitFor();
    await openMembers(ben.page);
    await memberRow(ben.page, ann.username).waitFor();
    await ben.page.screenshot({ path: screenshot });
    await ben.page.getByTestId('close-panel').click();
    await ann.page.getByTestId('composer').fill('');
    await ann.page.locator(`[data-testid=room-item][data-room-name="${roomName}"]`).click();
    await ben.page.locator(`[data-testid=room-item][data-room-name="${roomName}"]`).click();
  });

  await test('server stopped and restarted mid-conversation: the client recovers and shows what was sent and edited meanwhile', async () => {
    await send(ann.page, 'to be edited while Ben is away');
    await waitForText(ben.page, 'to be edited while Ben is away');
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
    // An older message Ben already holds is edited: only sync's `updated` can tell him.
    const held = (await asAnn(`/api/chat/rooms/${lobby.id}/messages?limit=100`).then((r) => r.json())).messages.find(
      (m) => m.body === 'to be edited while Ben is away',
    );
    const edit = await asAnn(`/api/chat/messages/${held.id}`, { method: 'PATCH', body: JSON.stringify({ body: 'edited while Ben was away' }) });
    expect(edit.status === 200, `REST edit ${edit.status}`);
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
    await waitForText(ben.page, 'edited while Ben was away', 15000);
    expect(!(await bodies(ben.page)).includes('to be edited while Ben is away'), 'the edit made while away was not applied');
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

  // ---- Rooms and people (issue 15) ------------------------------------------------------

  const team = uniq('team-');
  const dee = await restUser('dee');
  let cal;

  await test('member panel: display names, roles and who is online, live', async () => {
    await createRoom(ann.page, team);
    await addMember(ann.page, ben);
    await addMember(ann.page, dee);
    await roomItem(ben.page, team).click();
    await openMembers(ann.page);
    await memberRow(ann.page, ann.username).getByText('Ann (you)').waitFor();
    await memberRow(ann.page, ann.username).getByText('Owner').waitFor();
    await memberRow(ann.page, ben.username).getByText('Ben', { exact: true }).waitFor();
    expect((await memberRow(ann.page, ben.username).getAttribute('data-online')) === 'true', 'ben online');
    // Dee has an account but never opened the app.
    expect((await memberRow(ann.page, dee.username).getAttribute('data-online')) === 'false', 'dee offline');
    expect(!(await ann.page.getByTestId('member-list').textContent()).includes(ben.username), 'usernames shown instead of names');
    // A member who comes online while the panel is open turns online there.
    cal = await newUser('cal');
    await addMember(ann.page, cal);
    await openMembers(ann.page);
    await memberRow(ann.page, cal.username).waitFor();
    await ann.page.locator(`[data-testid=member][data-username="${cal.username}"][data-online=true]`).waitFor();
    await cal.page.close();
    await ann.page.locator(`[data-testid=member][data-username="${cal.username}"][data-online=false]`).waitFor();
    cal.page = await cal.context.newPage();
    await cal.page.goto(base());
    await cal.page.getByTestId('me').waitFor();
    await ann.page.locator(`[data-testid=member][data-username="${cal.username}"][data-online=true]`).waitFor();
    // Ben is a member: he sees no role or remove controls.
    await openMembers(ben.page);
    await memberRow(ben.page, cal.username).waitFor();
    expect((await ben.page.getByTestId('member-remove').count()) === 0, 'a member is offered Remove');
    expect((await ben.page.getByTestId('member-role').count()) === 0, 'a member is offered role changes');
    await ben.page.getByTestId('close-panel').click();
  });

  await test('rename and topic: the owner changes them, everyone sees them in the header', async () => {
    await ann.page.getByTestId('open-settings').click();
    await ann.page.getByTestId('settings-topic').fill('Release planning for 2.0');
    await ann.page.getByTestId('settings-save').click();
    await ben.page.getByTestId('room-topic').getByText('Release planning for 2.0').waitFor();
    await ann.page.getByTestId('room-topic').getByText('Release planning for 2.0').waitFor();
    // A member cannot rename: the form is not offered.
    await ben.page.getByTestId('open-settings').click();
    await ben.page.getByTestId('mute-toggle').waitFor();
    expect((await ben.page.getByTestId('settings-name').count()) === 0, 'a member is offered rename');
    await ben.page.getByTestId('close-panel').click();
    await ann.page.getByTestId('close-panel').click();
  });

  await test('an owner makes someone admin; the admin removes a member, whose client drops the room live', async () => {
    await openMembers(ann.page);
    await memberRow(ann.page, ben.username).getByTestId('member-role').selectOption('admin');
    await ann.page.locator(`[data-testid=member][data-username="${ben.username}"][data-role=admin]`).waitFor();
    // Ben now sees the room as an admin: rename is offered.
    await ben.page.getByTestId('open-settings').click();
    await ben.page.getByTestId('settings-name').waitFor();
    await ben.page.getByTestId('close-panel').click();
    await roomItem(cal.page, team).click();
    await cal.page.getByTestId('room-title').getByText(team).waitFor();
    await openMembers(ben.page);
    await memberRow(ben.page, cal.username).getByTestId('member-remove').click();
    await memberRow(ben.page, cal.username).getByTestId('member-remove-confirm').click();
    await cal.page.getByTestId('room-notice').getByText(`You are no longer in ${team}`).waitFor();
    await roomItem(cal.page, team).waitFor({ state: 'detached' });
    await memberRow(ann.page, cal.username).waitFor({ state: 'detached' });
    // The owner cannot be removed, so nobody is offered that.
    expect((await memberRow(ben.page, ann.username).getByTestId('member-remove').count()) === 0, 'remove offered on the owner');
    await ben.page.getByTestId('close-panel').click();
    await ann.page.getByTestId('close-panel').click();
    await cal.context.close();
  });

  await test('leave (with confirmation) and rejoin a public room', async () => {
    await openMembers(ann.page);
    await ben.page.getByTestId('open-settings').click();
    await ben.page.getByTestId('leave').click();
    await ben.page.getByTestId('leave-cancel').click();
    expect((await roomItem(ben.page, team).count()) === 1, 'left without confirming');
    await ben.page.getByTestId('leave').click();
    await ben.page.getByTestId('leave-confirm').click();
    await roomItem(ben.page, team).waitFor({ state: 'detached' });
    await memberRow(ann.page, ben.username).waitFor({ state: 'detached' });
    await joinRoom(ben.page, team);
    await memberRow(ann.page, ben.username).waitFor();
    await ann.page.getByTestId('close-panel').click();
  });

  await test('consecutive messages from one sender are grouped: name and time once', async () => {
    for (const t of ['group one', 'group two', 'group three']) {
      await send(ann.page, t);
      await waitForText(ben.page, t);
    }
    await send(ben.page, 'ben interrupts');
    await waitForText(ann.page, 'ben interrupts');
    await send(ann.page, 'group four');
    await waitForText(ben.page, 'group four');
    const rows = ben.page.getByTestId('message');
    const n = await rows.count();
    const last = [];
    for (let i = n - 5; i < n; i++) last.push(await rows.nth(i).getAttribute('data-grouped'));
    expect(last.join() === 'false,true,true,false,false', `grouped flags: ${last.join()}`);
    expect(
      (await rows
        .nth(n - 4)
        .getByTestId('sender')
        .count()) === 0,
      'a grouped message repeats the name',
    );
    expect(
      (await rows
        .nth(n - 5)
        .getByTestId('sender')
        .textContent()) === 'Ann',
      'the first of a group names the sender',
    );
  });

  await test('@-autocomplete from the keyboard; mentions of me are highlighted', async () => {
    const box = ann.page.getByTestId('composer');
    await box.fill('');
    await box.pressSequentially('thanks @be');
    await ann.page.locator(`[data-testid=mention-option][data-username="${ben.username}"]`).waitFor();
    await box.press('Escape');
    await ann.page.getByTestId('mention-options').waitFor({ state: 'detached' });
    await box.pressSequentially('n');
    await ann.page.getByTestId('mention-options').waitFor();
    // Ben is the only other member starting with "ben"; then @room.
    await box.press('ArrowDown');
    await box.press('ArrowUp');
    const activeId = await box.getAttribute('aria-activedescendant');
    expect(activeId && (await ann.page.locator(`#${activeId}`).getAttribute('data-username')) === ben.username, `active option ${activeId}`);
    await box.press('Enter');
    expect((await box.inputValue()) === `thanks @${ben.username} `, `composer: ${await box.inputValue()}`);
    await box.pressSequentially('for the review');
    await box.press('Enter');
    const text = `thanks @${ben.username} for the review`;
    await waitForText(ben.page, text);
    const msg = ben.page.getByTestId('message').filter({ hasText: text });
    expect((await msg.getByTestId('mention-me').textContent()) === `@${ben.username}`, 'mention of me not highlighted');
    await send(ben.page, 'ok @room listen up');
    await waitForText(ann.page, 'ok @room listen up');
    await ann.page.getByTestId('message').filter({ hasText: 'ok @room listen up' }).getByTestId('mention-me').waitFor();
  });

  const fayName = uniq('fay');
  let fay;
  await test('a mention raises the badge and the tab title, and a desktop notification while the tab is hidden', async () => {
    fay = await newUser('fay', { permissions: ['notifications'] }, notificationProbe);
    expect((await fay.page.evaluate(() => Notification.permission)) === 'granted', 'permission not granted');
    expect((await fay.page.getByTestId('enable-notifications').count()) === 0, 'asks again although granted');
    const alerts = uniq('alerts-');
    await createRoom(ann.page, alerts);
    await joinRoom(fay.page, alerts);
    await createRoom(fay.page, fayName);
    await send(ann.page, 'no mention here');
    await send(ann.page, `@${fay.username} can you look?`);
    await roomItem(fay.page, alerts).getByTestId('mentions').getByText('@1').waitFor();
    await roomItem(fay.page, alerts).getByTestId('unread').getByText('2').waitFor();
    expect((await fay.page.title()) === '(2) Chat', `title ${await fay.page.title()}`);
    // Visible tab: no notification.
    expect((await fay.page.evaluate(() => window.__notes.length)) === 0, 'notified while visible');
    await fay.page.evaluate(() => window.__setHidden(true));
    await send(ann.page, 'still no mention');
    await send(ann.page, `@${fay.username} ping while you are away`);
    await roomItem(fay.page, alerts).getByTestId('mentions').getByText('@2').waitFor();
    await fay.page.waitForFunction(() => window.__notes.length > 0);
    const notes = await fay.page.evaluate(() => window.__notes);
    expect(notes.length === 1 && notes[0].title === `Ann in ${alerts}` && notes[0].body.includes('ping while you are away'), JSON.stringify(notes));
    // A muted room never notifies and leaves the title count.
    const asFay = await apiLogin(fay);
    const room = (await asFay('/api/chat/rooms').then((r) => r.json())).find((r) => r.name === alerts);
    await asFay(`/api/chat/rooms/${room.id}/settings`, { method: 'PATCH', body: JSON.stringify({ muted: true }) });
    await roomItem(fay.page, alerts).getByTestId('muted-mark').waitFor();
    await send(ann.page, `@${fay.username} muted now`);
    await roomItem(fay.page, alerts).getByTestId('mentions').getByText('@3').waitFor();
    await sleep(300);
    expect((await fay.page.evaluate(() => window.__notes.length)) === 1, 'a muted room notified');
    expect((await fay.page.title()) === 'Chat', `title with a muted room ${await fay.page.title()}`);
    await asFay(`/api/chat/rooms/${room.id}/settings`, { method: 'PATCH', body: JSON.stringify({ muted: false }) });
    await roomItem(fay.page, alerts).getByTestId('muted-mark').waitFor({ state: 'detached' });
    // Reading the room clears both badges and the title.
    await fay.page.evaluate(() => window.__setHidden(false));
    await roomItem(fay.page, alerts).click();
    await roomItem(fay.page, alerts).getByTestId('mentions').waitFor({ state: 'detached' });
    expect((await fay.page.title()) === 'Chat', `title after reading ${await fay.page.title()}`);
  });

  await test('a direct message is titled with the display name and notifies while hidden', async () => {
    await ann.page.getByTestId('open-direct').click();
    await ann.page.getByTestId('user-query').fill(fay.username);
    await ann.page.locator(`[data-testid=user-result][data-username="${fay.username}"]`).click();
    await ann.page.getByTestId('room-title').getByText('Fay', { exact: true }).waitFor();
    await fay.page.evaluate(() => window.__setHidden(true));
    const before = await fay.page.evaluate(() => window.__notes.length);
    await send(ann.page, 'a private word');
    await fay.page.waitForFunction((n) => window.__notes.length > n, before);
    expect((await fay.page.evaluate(() => window.__notes.at(-1).title)) === 'Ann', 'direct notification title');
    await fay.page.locator('[data-testid=room-item]').filter({ hasText: 'Ann' }).getByTestId('mentions').waitFor();
    await fay.page.evaluate(() => window.__setHidden(false));
    await roomItem(ann.page, roomName).click();
  });

  await test('opening a room with unread messages shows a "New messages" line and a jump to it', async () => {
    await roomItem(ben.page, roomName).click();
    await roomItem(fay.page, fayName).click();
    await joinRoom(fay.page, roomName);
    await roomItem(fay.page, fayName).click();
    // Someone else (over REST, so nobody's send budget runs low) writes 20 messages.
    const ivy = await restUser('ivy');
    const asIvy = await apiLogin(ivy);
    const lobby = (await (await apiLogin(ann))('/api/chat/rooms').then((r) => r.json())).find((r) => r.name === roomName);
    expect((await asIvy(`/api/chat/rooms/${lobby.id}/join`, { method: 'POST' })).status < 300, 'ivy joins');
    for (let i = 1; i <= 20; i++) {
      const r = await asIvy(`/api/chat/rooms/${lobby.id}/messages`, {
        method: 'POST',
        body: JSON.stringify({ body: `unread number ${i}`, clientId: uniq('u') }),
      });
      expect(r.status === 201, `REST send ${r.status}`);
    }
    await roomItem(fay.page, roomName).getByTestId('unread').getByText('20').waitFor();
    await roomItem(fay.page, roomName).click();
    await waitForText(fay.page, 'unread number 20');
    const line = fay.page.getByTestId('new-messages');
    await line.waitFor();
    const next = await line.evaluate((el) => el.nextElementSibling.querySelector('[data-testid=message-body]').textContent);
    expect(next === 'unread number 1', `line is before "${next}"`);
    await fay.page.getByTestId('jump-unread').click();
    await fay.page.getByTestId('jump-unread').waitFor({ state: 'detached' });
    expect(await line.isVisible(), 'line not shown after the jump');
    const inView = await line.evaluate((el) => {
      const box = el.getBoundingClientRect();
      const list = el.closest('[data-testid=messages]').getBoundingClientRect();
      return box.top >= list.top && box.bottom <= list.bottom;
    });
    expect(inView, 'the jump did not scroll to the line');
  });

  await test('the last open room is remembered across a reload', async () => {
    await roomItem(ben.page, team).click();
    await ben.page.getByTestId('room-title').getByText(team).waitFor();
    await ben.page.reload();
    await ben.page.getByTestId('room-title').getByText(team).waitFor();
    await roomItem(ben.page, roomName).click();
    await ben.page.getByTestId('room-title').getByText(roomName).waitFor();
    await ben.page.reload();
    await ben.page.getByTestId('room-title').getByText(roomName).waitFor();
  });

  await test('validation messages in plain words, while typing and after a failed submit', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(base());
    await p.getByTestId('tab-register').click();
    await p.getByTestId('username').fill('ab');
    await p.getByTestId('username').blur();
    expect((await p.getByTestId('error-username').textContent()) === 'Username must be at least 3 characters', 'username rule');
    await p.getByTestId('password').fill('short');
    await p.getByTestId('password').blur();
    expect((await p.getByTestId('error-password').textContent()) === 'Password must be at least 8 characters', 'password rule');
    await p.getByTestId('username').fill('no spaces');
    await p.getByTestId('error-username').getByText('Username may only use letters, digits and _ . -').waitFor();
    // Typing a valid value clears the message at once.
    await p.getByTestId('password').fill('long enough now');
    await p.getByTestId('error-password').waitFor({ state: 'detached' });
    // Taken username: the server's 409, in plain words, next to the field.
    await p.getByTestId('username').fill(ann.username);
    await p.getByTestId('auth-submit').click();
    await p.getByTestId('error-username').getByText('That username is already taken. Try another one.').waitFor();
    const all = await p.locator('main').textContent();
    expect(!/too small|too big|expected string|>=|invalid_/i.test(all), `raw validator text: ${all}`);
    // The room form says what is wrong before anything is sent.
    await logIn(p, ben);
    await p.getByTestId('open-create').click();
    await p.getByTestId('create-submit').click();
    await p.getByTestId('create-error').getByText('Give the room a name').waitFor();
    await p.getByTestId('room-name').fill(team.toUpperCase());
    await p.getByTestId('create-submit').click();
    await p.getByTestId('create-error').getByText('A public room with this name already exists').waitFor();
    await ctx.close();
  });

  await test('keyboard only: register, create a room, send, open the member panel, with a visible focus ring', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    const p = await ctx.newPage();
    const k = p.keyboard;
    await p.goto(base());
    await tabTo(p, 'tab-register');
    await k.press('Enter');
    await tabTo(p, 'username');
    const outline = await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    expect(outline !== 'none', 'no focus ring on the username field');
    await k.type(uniq('kim'));
    await k.press('Tab');
    await k.type('Kim');
    await k.press('Tab');
    await k.type(PASSWORD);
    await k.press('Enter');
    await p.getByTestId('me').waitFor();
    await tabTo(p, 'open-create');
    await k.press('Enter');
    await tabTo(p, 'room-name');
    const room = uniq('keys-');
    await k.type(room);
    await k.press('Enter');
    await p.getByTestId('room-title').getByText(room).waitFor();
    await tabTo(p, 'composer');
    await k.type('typed without a mouse');
    await k.press('Enter');
    await waitForText(p, 'typed without a mouse');
    await tabTo(p, 'open-members');
    const ring = await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    expect(ring !== 'none', 'no focus ring on a button');
    await k.press('Enter');
    await p.getByTestId('member-panel').waitFor();
    await p.getByTestId('member').first().waitFor();
    await k.press('Escape');
    await p.getByTestId('member-panel').waitFor({ state: 'detached' });
    await ctx.close();
  });

  await test('a new account starts in the default room; with no room at all it gets a welcome screen', async () => {
    const gus = await newUser('gus');
    // npm start's default: every new account joins the public room "general".
    await roomItem(gus.page, 'general').click();
    await gus.page.getByTestId('open-settings').click();
    await gus.page.getByTestId('leave').click();
    await gus.page.getByTestId('leave-confirm').click();
    await roomItem(gus.page, 'general').waitFor({ state: 'detached' });
    await gus.page.getByRole('heading', { name: 'Welcome, Gus' }).waitFor();
    await axe(gus.page, 'welcome');
    await gus.page.getByTestId('welcome-discover').click();
    await gus.page.getByTestId('discover').waitFor();
    await gus.page.getByTestId('welcome-create').click();
    await gus.page.getByTestId('create-form').waitFor();
    await gus.context.close();
  });

  await test('notification permission is asked only when the user presses the button', async () => {
    const asked = () => {
      window.__asked = 0;
      const real = Notification.requestPermission.bind(Notification);
      Notification.requestPermission = (...a) => (window.__asked++, real(...a));
    };
    const jo = await newUser('jo', {}, asked);
    expect((await jo.page.evaluate(() => Notification.permission)) === 'default', 'permission already decided');
    expect((await jo.page.evaluate(() => window.__asked)) === 0, 'asked without a user action');
    await jo.page.getByTestId('enable-notifications').click();
    await jo.page.waitForFunction(() => window.__asked === 1);
    await jo.context.close();
  });

  await test('a big room pages its member list: load more', async () => {
    const asAnn = await apiLogin(ann);
    const big = uniq('big-');
    const room = await asAnn('/api/chat/rooms', { method: 'POST', body: JSON.stringify({ name: big, kind: 'private' }) }).then((r) => r.json());
    const people = [];
    for (let i = 0; i < 56; i += 8) people.push(...(await Promise.all(Array.from({ length: 8 }, () => restUser('many')))));
    for (const u of people) {
      const r = await asAnn(`/api/chat/rooms/${room.id}/members`, { method: 'POST', body: JSON.stringify({ userId: u.id }) });
      expect(r.status < 300, `add member ${r.status}`);
    }
    await roomItem(ann.page, big).click();
    await ann.page.getByTestId('room-title').getByText(big).waitFor();
    await openMembers(ann.page);
    await ann.page.getByTestId('members-more').waitFor();
    const first = await ann.page.getByTestId('member').count();
    expect(first === 50, `first page ${first}`);
    await ann.page.getByTestId('members-more').click();
    await ann.page.getByTestId('members-more').waitFor({ state: 'detached' });
    const all = await ann.page.getByTestId('member').count();
    expect(all === 57, `after load more ${all}`);
    await ann.page.getByTestId('close-panel').click();
    await roomItem(ann.page, roomName).click();
  });

  // ---- Markdown, reactions, threads (issue 16) ---------------------------------------------

  const talk = uniq('talk-');
  const inLog = (page, text) => page.getByTestId('messages').getByTestId('message').filter({ hasText: text });
  /** Dialogs (alert, confirm, prompt) opened by any page from here on: a script from a message would open one. */
  const dialogs = [];
  for (const p of [ann.page, ben.page])
    p.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss().catch(() => undefined);
    });

  await test('Markdown is rendered: emphasis, strikethrough, code, tables, links in a new tab', async () => {
    await createRoom(ann.page, talk);
    await addMember(ann.page, ben);
    await roomItem(ben.page, talk).click();
    await ben.page.getByTestId('room-title').getByText(talk).waitFor();
    await send(
      ann.page,
      '**bold** _it_ ~~gone~~ `inline` [docs](https://example.org/md) ![logo](https://example.org/logo.png)\n\n```\nconst x = 1;\n  indented();\n```\n\n| a | b |\n|---|--:|\n| 1 | 2 |',
    );
    await inLog(ben.page, 'const x = 1;').waitFor();
    const m = inLog(ben.page, 'const x = 1;').getByTestId('message-body');
    expect((await m.locator('strong').textContent()) === 'bold', 'strong');
    expect((await m.locator('em').textContent()) === 'it', 'em');
    expect((await m.locator('s').textContent()) === 'gone', 'strikethrough');
    expect((await m.locator('pre code').textContent()) === 'const x = 1;\n  indented();', `code block: ${await m.locator('pre').textContent()}`);
    expect((await m.locator('pre').evaluate((el) => getComputedStyle(el).whiteSpace)) === 'pre', 'code block keeps white space');
    expect((await m.locator('td').count()) === 2, 'table cells');
    const a = m.locator('a', { hasText: 'docs' });
    expect((await a.getAttribute('href')) === 'https://example.org/md', 'link href');
    expect((await a.getAttribute('target')) === '_blank' && (await a.getAttribute('rel')) === 'noopener noreferrer nofollow', 'link target/rel');
    // An image is never loaded: it is a link to it.
    expect((await m.locator('img').count()) === 0, 'an image element was made');
    expect((await m.locator('a.md-image').getAttribute('href')) === 'https://example.org/logo.png', 'image as a link');
    await axe(ben.page, 'markdown-message');
  });

  await test('an XSS corpus sent as messages stays inert text: no dialog, no script, iframe, img or on* handler, no javascript: link', async () => {
    const corpus = [
      '<script>alert("script")</script>',
      '<img src=x onerror=alert("img")>',
      '<svg onload=alert("svg")><circle r="1"/></svg>',
      '<iframe src="javascript:alert(`iframe`)"></iframe>',
      '<a href="javascript:alert(`a`)">raw link</a>',
      '<p style="color:red" onclick="alert(`p`)">styled</p>',
      '[md link](javascript:alert("md"))',
      '[tab link](jav&#x09;ascript:alert("tab"))',
      '[entity link](&#106;avascript:alert("entity"))',
      '[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
      '<javascript:alert("autolink")>',
      'javascript:alert("bare")',
      '[quote](https://example.org/" onmouseover="alert(`quote`))',
      '![pic](https://example.org/x.png" onerror="alert(`pic`))',
      '&lt;script&gt;alert("entities")&lt;/script&gt;',
      '<details open ontoggle=alert("details")>',
      'xss corpus end',
    ];
    await send(ann.page, corpus.join('\n\n'));
    await send(ann.page, '<img src=x onerror="window.__pwned=1;alert(1)">');
    await inLog(ben.page, 'xss corpus end').waitFor();
    await waitForText(ben.page, '<img src=x onerror="window.__pwned=1;alert(1)">');
    await sleep(500);
    for (const p of [ann.page, ben.page]) {
      const found = await p.getByTestId('messages').evaluate((log) => {
        const bad = [];
        for (const el of log.querySelectorAll('[data-testid=message-body] *')) {
          if (
            ![
              'P',
              'BR',
              'STRONG',
              'EM',
              'S',
              'CODE',
              'PRE',
              'BLOCKQUOTE',
              'UL',
              'OL',
              'LI',
              'HR',
              'A',
              'TABLE',
              'THEAD',
              'TBODY',
              'TR',
              'TH',
              'TD',
              'SPAN',
            ].includes(el.tagName)
          )
            bad.push(el.tagName);
          for (const attr of el.attributes) if (/^on/i.test(attr.name) || attr.name === 'style') bad.push(`${el.tagName}[${attr.name}]`);
          if (el.tagName === 'A' && !/^(https?:\/\/|mailto:)/.test(el.getAttribute('href') ?? '')) bad.push(`a href=${el.getAttribute('href')}`);
        }
        return { bad, pwned: 'window' in globalThis && window.__pwned !== undefined };
      });
      expect(found.bad.length === 0 && !found.pwned, JSON.stringify(found));
    }
    expect(dialogs.length === 0, `dialogs: ${dialogs.join(', ')}`);
    const text = await inLog(ben.page, 'xss corpus end').getByTestId('message-body').textContent();
    expect(text.includes('<script>alert("script")</script>') && text.includes('[md link](javascript:alert("md"))'), `shown as text: ${text}`);
  });

  await test('reactions both ways: counts, who reacted, pressed state, keyboard picker, toggle off', async () => {
    await send(ann.page, 'react to me');
    await waitForText(ben.page, 'react to me');
    const onAnn = inLog(ann.page, 'react to me');
    const onBen = inLog(ben.page, 'react to me');
    // Ann picks ❤️ from the keyboard: the picker takes focus, → moves, Enter picks.
    await onAnn.getByTestId('react-open').click();
    await ann.page.getByTestId('reaction-picker').waitFor();
    await axe(ann.page, 'reaction-picker');
    expect((await ann.page.evaluate(() => document.activeElement?.getAttribute('data-emoji'))) === '👍', 'focus not in the picker');
    await ann.page.keyboard.press('ArrowRight');
    await ann.page.keyboard.press('Enter');
    await ann.page.getByTestId('reaction-picker').waitFor({ state: 'detached' });
    const heartBen = onBen.locator('[data-testid=reaction][data-emoji="❤️"]');
    await heartBen.getByTestId('reaction-count').getByText('1', { exact: true }).waitFor();
    expect((await heartBen.getAttribute('aria-pressed')) === 'false', 'pressed for someone who did not react');
    expect((await onBen.getByTestId('reaction-who').textContent()) === 'Ann reacted with ❤️', `who: ${await onBen.getByTestId('reaction-who').textContent()}`);
    await heartBen.hover();
    expect(await onBen.getByTestId('reaction-who').isVisible(), 'who reacted is not shown on hover');
    // Ben adds his by pressing the chip; Ann sees 2 and both names.
    await heartBen.click();
    const heartAnn = onAnn.locator('[data-testid=reaction][data-emoji="❤️"]');
    await heartAnn.getByTestId('reaction-count').getByText('2', { exact: true }).waitFor();
    // The tooltip is shown on hover or focus only; its text (the chip's description) is always there.
    await onAnn.getByTestId('reaction-who').getByText('You and Ben reacted with ❤️').waitFor({ state: 'attached' });
    await onBen.locator('[data-testid=reaction][data-emoji="❤️"][aria-pressed=true]').waitFor();
    // Escape closes the picker and gives focus back to its button.
    await onBen.getByTestId('react-open').click();
    await ben.page.getByTestId('reaction-picker').waitFor();
    await ben.page.keyboard.press('Escape');
    await ben.page.getByTestId('reaction-picker').waitFor({ state: 'detached' });
    expect((await ben.page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) === 'react-open', 'focus not back on the button');
    // Toggle off: Ben's goes, then Ann's, and the chip disappears for both.
    await heartBen.click();
    await heartAnn.getByTestId('reaction-count').getByText('1', { exact: true }).waitFor();
    await onBen.locator('[data-testid=reaction][data-emoji="❤️"][aria-pressed=false]').waitFor();
    await heartAnn.click();
    await heartBen.waitFor({ state: 'detached' });
    await heartAnn.waitFor({ state: 'detached' });
  });

  await test('threads: replies reach both people live in the panel, stay out of the timeline, and the root counts them', async () => {
    await send(ann.page, 'Root of a thread');
    await waitForText(ben.page, 'Root of a thread');
    await inLog(ben.page, 'Root of a thread').getByTestId('reply-in-thread').click();
    await ben.page.getByTestId('thread-panel').getByTestId('thread-root').getByText('Root of a thread').waitFor();
    await ben.page.getByTestId('thread-composer').fill('first reply from ben');
    await ben.page.getByTestId('thread-composer').press('Enter');
    await ben.page.getByTestId('thread-replies').getByText('first reply from ben').waitFor();
    await axe(ben.page, 'thread-panel');
    // Ann's timeline shows the count on the root (live), not the reply; the link opens the thread.
    const link = inLog(ann.page, 'Root of a thread').getByTestId('thread-link');
    await link.getByText(/^1 reply · last reply /).waitFor();
    await link.click();
    await ann.page.getByTestId('thread-replies').getByText('first reply from ben').waitFor();
    await ann.page.getByTestId('thread-composer').fill('reply from **ann**');
    await ann.page.getByTestId('thread-composer').press('Enter');
    await ben.page.getByTestId('thread-replies').getByText('reply from ann').waitFor();
    await inLog(ben.page, 'Root of a thread')
      .getByTestId('thread-link')
      .getByText(/^2 replies/)
      .waitFor();
    await ben.page.getByTestId('thread-panel').getByTestId('thread-count').getByText('2 replies').waitFor();
    for (const p of [ann.page, ben.page])
      expect(
        (await p
          .getByTestId('messages')
          .getByText(/reply from/)
          .count()) === 0,
        'a reply shows in the main timeline',
      );
    // A reply sent while Ben is cut off reaches his open panel by sync after the reconnect.
    await ben.context.setOffline(true);
    await ben.page.getByTestId('connection-banner').waitFor();
    await ann.page.getByTestId('thread-composer').fill('reply while ben was away');
    await ann.page.getByTestId('thread-composer').press('Enter');
    await ann.page.getByTestId('thread-replies').getByText('reply while ben was away').waitFor();
    await ben.context.setOffline(false);
    await ben.page.getByTestId('thread-replies').getByText('reply while ben was away').waitFor({ timeout: 15000 });
    await inLog(ben.page, 'Root of a thread')
      .getByTestId('thread-link')
      .getByText(/^3 replies/)
      .waitFor();
    expect((await ben.page.getByTestId('messages').getByText('reply while ben was away').count()) === 0, 'a synced reply shows in the timeline');
    await ben.page.locator('#thread-heading').press('Escape');
    await ben.page.getByTestId('thread-panel').waitFor({ state: 'detached' });
    await ann.page.getByTestId('close-panel').click();
  });

  await test('a reply counts as unread, and the "New messages" line skips it to the next message in the timeline', async () => {
    await roomItem(ben.page, roomName).click();
    await ben.page.getByTestId('room-title').getByText(roomName).waitFor();
    await inLog(ann.page, 'Root of a thread').getByTestId('thread-link').click();
    await ann.page.getByTestId('thread-composer').fill('late reply');
    await ann.page.getByTestId('thread-composer').press('Enter');
    await ann.page.getByTestId('thread-replies').getByText('late reply').waitFor();
    await ann.page.getByTestId('close-panel').click();
    await send(ann.page, 'after the late reply');
    await roomItem(ben.page, talk).getByTestId('unread').getByText('2').waitFor();
    await roomItem(ben.page, talk).click();
    await waitForText(ben.page, 'after the late reply');
    const next = await ben.page.getByTestId('new-messages').evaluate((el) => el.nextElementSibling.querySelector('[data-testid=message-body]').textContent);
    expect(next === 'after the late reply', `line is before "${next}"`);
    await roomItem(ben.page, talk).getByTestId('unread').waitFor({ state: 'detached' });
    // After a reload the timeline still leaves the replies out (they come with the history too).
    await ben.page.reload();
    await waitForText(ben.page, 'after the late reply');
    const leaked =
      (await ben.page.getByTestId('messages').getByText('late reply', { exact: true }).count()) +
      (await ben.page
        .getByTestId('messages')
        .getByText(/^reply from/)
        .count());
    expect(leaked === 0, 'replies in the reloaded timeline');
    await inLog(ben.page, 'Root of a thread')
      .getByTestId('thread-link')
      .getByText(/^4 replies/)
      .waitFor();
  });

  await test('search: room, sender, time and the matched words; load more; a hit opens its message in context, a reply in its thread', async () => {
    const word = uniq('zebra');
    await send(ann.page, `findme ${word} early`);
    await waitForText(ben.page, `findme ${word} early`);
    // 56 newer hits from two people over REST push it out of the first page a room loads.
    const talkRoom = (await (await apiLogin(ann))('/api/chat/rooms').then((r) => r.json())).find((r) => r.name === talk);
    for (const label of ['kit', 'lou']) {
      const as = await apiLogin(await restUser(label));
      expect((await as(`/api/chat/rooms/${talkRoom.id}/join`, { method: 'POST' })).status < 300, `${label} joins`);
      for (let i = 1; i <= 28; i++) {
        const r = await as(`/api/chat/rooms/${talkRoom.id}/messages`, {
          method: 'POST',
          body: JSON.stringify({ body: `${word} filler ${label} ${i}`, clientId: uniq('f') }),
        });
        expect(r.status === 201, `REST send ${r.status}`);
      }
    }
    await inLog(ann.page, 'Root of a thread').getByTestId('thread-link').click();
    await ann.page.getByTestId('thread-composer').fill(`${word} in a reply`);
    await ann.page.getByTestId('thread-composer').press('Enter');
    await ann.page.getByTestId('thread-replies').getByText(`${word} in a reply`).waitFor();
    await ann.page.getByTestId('close-panel').click();
    await ben.page.reload();
    await waitForText(ben.page, `${word} filler lou 28`);
    expect((await inLog(ben.page, 'findme').count()) === 0, 'the early message is loaded already: the jump would not page');
    await ben.page.getByTestId('search-input').fill(word);
    await ben.page.getByTestId('search-input').press('Enter');
    const results = ben.page.getByTestId('search-result');
    await results.first().waitFor();
    expect((await results.count()) === 20, `first page ${await results.count()}`);
    const first = results.first();
    expect((await first.getByTestId('search-highlight').textContent()) === `${word} in a reply`, `newest first: ${await first.textContent()}`);
    expect((await first.locator('mark').textContent()) === word, 'matched word not marked');
    const meta = await first.locator('.result-meta').textContent();
    expect(meta.includes(talk) && meta.includes('Ann') && meta.includes('in a thread'), `meta: ${meta}`);
    expect((await ben.page.getByTestId('search-results').locator('.result-text *:not(mark)').count()) === 0, 'an element other than mark in a highlight');
    await axe(ben.page, 'search-results');
    await ben.page.getByTestId('search-more').click();
    await results.nth(39).waitFor();
    await ben.page.getByTestId('search-more').click();
    await results.nth(56).waitFor();
    await ben.page.getByTestId('search-more').waitFor({ state: 'detached' });
    expect((await results.count()) === 58, `all pages ${await results.count()}`);
    // The oldest hit: its room opens, older history is paged in, and the message is shown highlighted.
    await results.filter({ hasText: 'findme' }).click();
    await ben.page.getByTestId('search-results').waitFor({ state: 'detached' });
    const hit = ben.page
      .getByTestId('messages')
      .locator('[data-testid=message].flash')
      .filter({ hasText: `findme ${word} early` });
    await hit.waitFor();
    const inView = await hit.evaluate((el) => {
      const box = el.getBoundingClientRect();
      const list = el.closest('[data-testid=messages]').getBoundingClientRect();
      return box.top >= list.top && box.bottom <= list.bottom;
    });
    expect(inView, 'the hit is not scrolled into view');
    // A reply opens its thread, with the reply highlighted there.
    await ben.page.getByTestId('search-submit').click();
    await results.first().click();
    await ben.page
      .getByTestId('thread-panel')
      .locator('[data-testid=thread-reply].flash')
      .filter({ hasText: `${word} in a reply` })
      .waitFor();
    await ben.page.getByTestId('close-panel').click();
  });

  await test('files: a pasted image reaches the other person as a thumbnail (sized before it loads) that opens full size', async () => {
    await ann.page.getByTestId('composer').click();
    // A real PNG drawn in the page, pasted into the composer as the clipboard's only file.
    await ann.page.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 48;
      const g = canvas.getContext('2d');
      g.fillStyle = '#d33';
      g.fillRect(0, 0, 64, 48);
      const blob = await new Promise((r) => canvas.toBlob(r, 'image/png'));
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'pasted.png', { type: 'image/png' }));
      document.querySelector('[data-testid=composer]').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    });
    const chip = ann.page.locator('[data-testid=pending-file][data-name="pasted.png"]');
    await chip.waitFor();
    await ann.page.locator('[data-testid=pending-file][data-state=done]').waitFor();
    await axe(ann.page, 'composer-with-attachment');
    await send(ann.page, 'a pasted picture');
    await ann.page.getByTestId('pending-files').waitFor({ state: 'detached' });
    const msg = inLog(ben.page, 'a pasted picture');
    const thumb = msg.getByTestId('thumbnail');
    await thumb.waitFor();
    expect((await thumb.getAttribute('src')).startsWith('blob:'), 'thumbnail from a blob: URL');
    expect((await thumb.getAttribute('width')) === '64' && (await thumb.getAttribute('height')) === '48', 'thumbnail box from the upload size');
    await ben.page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await thumb.elementHandle());
    await msg.getByTestId('attachment-image').click();
    const full = ben.page.getByTestId('full-image');
    await full.waitFor();
    await ben.page.waitForFunction((el) => el.complete && el.naturalWidth === 64 && el.naturalHeight === 48, await full.elementHandle());
    await axe(ben.page, 'image-viewer');
    await ben.page.keyboard.press('Escape');
    await ben.page.getByTestId('image-viewer').waitFor({ state: 'detached' });
    expect((await ben.page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) === 'attachment-image', 'focus back on the thumbnail');
    // The thread panel, if any, and the room stay as they were.
    await ben.page.getByTestId('conversation').waitFor();
  });

  await test('files: a text file dropped on the room, sent without text, downloads byte for byte on the other side', async () => {
    const content = `notes ${uniq('n')}\nsecond line ünïcödé ✓\n`;
    await ann.page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'notes.txt', { type: 'text/plain' }));
      const zone = document.querySelector('[data-testid=drop-zone]');
      for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, content);
    await ann.page.locator('[data-testid=pending-file][data-name="notes.txt"][data-state=done]').waitFor();
    // Attachments only: Enter in the empty composer sends them.
    await ann.page.getByTestId('composer').press('Enter');
    await ann.page.getByTestId('pending-files').waitFor({ state: 'detached' });
    const card = ben.page.getByTestId('messages').locator('[data-testid=attachment-file][data-name="notes.txt"]').last();
    await card.waitFor();
    const bytes = Buffer.from(content);
    const size = await card.getByTestId('attachment-size').textContent();
    expect(size === `${bytes.length} bytes`, `size shown: ${size}`);
    const [download] = await Promise.all([ben.page.waitForEvent('download'), card.getByTestId('download').click()]);
    expect(download.suggestedFilename() === 'notes.txt', `saved as ${download.suggestedFilename()}`);
    const got = await readFile(await download.path());
    expect(Buffer.compare(got, bytes) === 0, `downloaded ${got.length} bytes, sent ${bytes.length}: ${got.toString()}`);
    await axe(ben.page, 'message-with-image-and-file');
  });

  await test('files: a type not allowed and a file too large are refused in plain words; cancel stops an upload and removes it', async () => {
    const input = ann.page.getByTestId('file-input');
    // An executable (ELF header) under an innocent name: the server decides from the bytes.
    await input.setInputFiles({
      name: 'tool.txt',
      mimeType: 'text/plain',
      buffer: Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(256)]),
    });
    const problems = ann.page.getByTestId('file-problems');
    await problems.getByText('“tool.txt” cannot be sent: that type of file is not allowed.', { exact: false }).waitFor();
    expect((await problems.getAttribute('role')) === 'alert', 'problems are announced');
    await input.setInputFiles({ name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.alloc(UPLOAD_LIMIT + 1024, 'a') });
    await problems.getByText('“big.txt” is too large to send', { exact: false }).waitFor({ timeout: 20_000 });
    expect((await ann.page.getByTestId('pending-file').count()) === 0, 'refused files left no chip');
    await axe(ann.page, 'composer-with-file-problems');
    await ann.page.getByTestId('dismiss-file-problems').click();
    await problems.getByTestId('file-problem').first().waitFor({ state: 'detached' });
    // A slow link: the upload is still running when it is cancelled.
    const cdp = await ann.context.newCDPSession(ann.page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 16 * 1024 });
    try {
      await input.setInputFiles({ name: 'slow.txt', mimeType: 'text/plain', buffer: Buffer.alloc(512 * 1024, 'b') });
      const chip = ann.page.locator('[data-testid=pending-file][data-name="slow.txt"]');
      await chip.locator('[data-testid=upload-progress]').waitFor();
      expect((await chip.getAttribute('data-state')) === 'uploading', 'still uploading');
      // Enter while it uploads sends nothing and says why.
      await ann.page.getByTestId('composer').fill('waits for the upload');
      await ann.page.getByTestId('composer').press('Enter');
      await ann.page.getByTestId('uploads-waiting').waitFor();
      await axe(ann.page, 'composer-uploading');
      await chip.getByTestId('remove-file').click();
      await chip.waitFor({ state: 'detached' });
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await cdp.detach();
    }
    await ann.page.getByTestId('composer').press('Enter');
    await waitForText(ben.page, 'waits for the upload');
    expect((await inLog(ben.page, 'waits for the upload').getByTestId('attachments').count()) === 0, 'the cancelled file was not attached');
  });

  await test('accessibility: no critical or serious axe-core violation on any screen', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    const p = await ctx.newPage();
    await p.goto(base());
    await p.getByTestId('auth-form').waitFor();
    await axe(p, 'login');
    await p.getByTestId('tab-register').click();
    await p.getByTestId('username').fill('x');
    await p.getByTestId('password').fill('short');
    await p.getByTestId('auth-submit').click();
    await p.getByTestId('error-password').waitFor();
    await axe(p, 'register-with-errors');
    const hal = { username: uniq('hal') };
    await p.getByTestId('username').fill(hal.username);
    await p.getByTestId('displayName').fill('Hal');
    await p.getByTestId('password').fill(PASSWORD);
    await p.getByTestId('auth-submit').click();
    await p.getByTestId('me').waitFor();
    await p.getByTestId('connection-banner').waitFor({ state: 'detached' });
    await axe(p, 'empty-home');
    await joinRoom(p, team);
    await joinRoom(p, roomName);
    await waitForText(p, 'unread number 20');
    await axe(p, 'room-list');
    await send(p, 'hello @room from hal');
    await waitForText(p, 'hello @room from hal');
    await axe(p, 'conversation');
    await p.locator('[data-testid=message][data-mine=true]').last().getByTestId('edit').click();
    await p.getByTestId('edit-input').waitFor();
    await axe(p, 'editing-a-message');
    await p.getByTestId('edit-input').press('Escape');
    await p.locator('[data-testid=message][data-mine=true]').last().getByTestId('delete').click();
    await axe(p, 'delete-confirmation');
    await p.getByTestId('delete-cancel').click();
    await openMembers(p);
    await p.getByTestId('member').first().waitFor();
    await axe(p, 'member-panel');
    await p.getByTestId('open-settings').click();
    await p.getByTestId('settings-panel').waitFor();
    await axe(p, 'settings');
    await ctx.close();
    // The owner's view: role and remove controls, rename form.
    await openMembers(ann.page);
    await ann.page.getByTestId('member-role').first().waitFor();
    await axe(ann.page, 'member-panel-owner');
    await ann.page.getByTestId('open-settings').click();
    await ann.page.getByTestId('rename-form').waitFor();
    await axe(ann.page, 'settings-owner');
    await ann.page.getByTestId('close-panel').click();
    const phone = await browser.newContext({ viewport: { width: 375, height: 720 }, isMobile: true, hasTouch: true });
    const pp = await phone.newPage();
    await logIn(pp, hal);
    await axe(pp, 'phone-room-list');
    await roomItem(pp, roomName).click();
    await waitForText(pp, 'hello @room from hal');
    await axe(pp, 'phone-conversation');
    await pp.getByTestId('open-members').click();
    await pp.getByTestId('member').first().waitFor();
    await axe(pp, 'phone-member-panel');
    await pp.getByTestId('close-panel').click();
    await inLog(pp, 'hello @room from hal').getByTestId('reply-in-thread').click();
    await pp.getByTestId('thread-composer').waitFor();
    const wide = await pp.evaluate(() => document.documentElement.scrollWidth);
    expect(wide <= 375, `the thread panel makes the page ${wide}px wide on a 375px screen`);
    await axe(pp, 'phone-thread-panel');
    await phone.close();
    const dark = await browser.newContext({ viewport: { width: 1100, height: 720 }, colorScheme: 'dark' });
    const dp = await dark.newPage();
    await dp.goto(base());
    await dp.getByTestId('auth-form').waitFor();
    await axe(dp, 'dark-login');
    await logIn(dp, hal);
    await roomItem(dp, roomName).click();
    await waitForText(dp, 'hello @room from hal');
    await axe(dp, 'dark-conversation');
    await openMembers(dp);
    await dp.getByTestId('member').first().waitFor();
    await axe(dp, 'dark-member-panel');
    await dp.getByTestId('open-settings').click();
    await axe(dp, 'dark-settings');
    await dark.close();
    expect(axeProblems.length === 0, axeProblems.join('\n'));
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

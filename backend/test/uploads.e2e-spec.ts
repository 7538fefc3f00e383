import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import S3rver from 's3rver';
import sharp from 'sharp';
import type { Service } from '../src/common/app.js';
import { UploadsService } from '../src/chat/uploads/uploads.service.js';
import type { AuthResult, Message } from '../src/contract/events.js';
import { client, connect, freePort, register, sleep, start, uniq } from './harness.js';

/**
 * Uploads on both storage backends: PostgreSQL (chat.upload_chunks; this file runs on the real
 * server with DATABASE_URL and on the embedded PGlite without it) and S3, against s3rver
 * started here (a real S3 API server on loopback; it does not check signatures).
 */

const MAX = 1024 * 1024;
const BUCKET = 'chat-uploads-test';
const pdf = (n: number) => Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(n - 9)]);

interface Part {
  field?: string;
  name: string;
  type?: string;
  data: Buffer | AsyncIterable<Buffer>;
}

/** A multipart/form-data body, streamed part by part. */
function multipart(parts: Part[]): { boundary: string; body: AsyncIterable<Buffer> } {
  const boundary = `----chat${randomUUID()}`;
  async function* body() {
    for (const p of parts) {
      yield Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.field ?? 'file'}"; filename="${p.name}"\r\nContent-Type: ${p.type ?? 'application/octet-stream'}\r\n\r\n`,
      );
      if (Buffer.isBuffer(p.data)) yield p.data;
      else yield* p.data;
      yield Buffer.from('\r\n');
    }
    yield Buffer.from(`--${boundary}--\r\n`);
  }
  return { boundary, body: body() };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A raw HTTP request: a streamed body (chunked) unless a Content-Length is given. */
function http(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; headers?: Record<string, string>; body?: Buffer | AsyncIterable<Buffer> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const headers: Record<string, string> = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers };
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(body.toString());
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (e) => (/EPIPE|ECONNRESET/.test(String(e)) ? undefined : reject(e)));
    if (!opts.body) return req.end();
    if (Buffer.isBuffer(opts.body)) return req.end(opts.body);
    Readable.from(opts.body).on('error', reject).pipe(req);
  });
}

function upload(base: string, token: string, roomId: string, part: Part, headers: Record<string, string> = {}) {
  const { boundary, body } = multipart([part]);
  return http(base, 'POST', `/api/chat/rooms/${roomId}/uploads`, {
    token,
    body,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers },
  });
}

const backends = ['postgres', 's3'] as const;

describe.each(backends)('uploads on %s', (storage) => {
  let svc: Service;
  let api: ReturnType<typeof client>;
  let db: pg.Client;
  let s3server: S3rver | undefined;
  let s3: S3Client | undefined;
  let s3dir: string | undefined;
  let alice: AuthResult;
  let bob: AuthResult;
  let eve: AuthResult;
  let priv: string;
  let pub: string;
  const env: Record<string, string> = {};

  beforeAll(async () => {
    if (storage === 's3') {
      s3dir = await mkdtemp(join(tmpdir(), 's3rver-'));
      s3server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir });
      const { port } = await s3server.run();
      const endpoint = `http://127.0.0.1:${port}`;
      // The SDK reads credentials from the standard variables, as it does in a pod.
      process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
      process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
      s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      Object.assign(env, { UPLOAD_STORAGE: 's3', S3_BUCKET: BUCKET, S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', S3_REGION: 'us-east-1' });
    }
    svc = await start('all', { ...env, UPLOAD_MAX_BYTES: String(MAX), UPLOAD_ORPHAN_AGE: '2', UPLOAD_SWEEP_INTERVAL_MS: '0', UPLOAD_CONCURRENCY: '2' });
    api = client(svc.url);
    db = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await db.connect();
    [alice, bob, eve] = await Promise.all([register(svc.url, 'ua'), register(svc.url, 'ub'), register(svc.url, 'ue')]);
    priv = (await api('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: uniq('files'), kind: 'private' } })).body.id;
    pub = (await api('POST', '/api/chat/rooms', { token: alice.accessToken, body: { name: uniq('pubfiles'), kind: 'public' } })).body.id;
    await api('POST', `/api/chat/rooms/${priv}/members`, { token: alice.accessToken, body: { userId: bob.user.id } });
  });

  afterAll(async () => {
    await db?.end();
    await svc?.close();
    s3?.destroy();
    await s3server?.close();
    if (s3dir) await rm(s3dir, { recursive: true, force: true });
  });

  /** Whether any bytes of the upload are in the storage (chunks or the bucket's object). */
  const stored = async (id: string) => {
    if (storage === 'postgres') return (await db.query(`SELECT 1 FROM chat.upload_chunks WHERE upload_id = $1`, [id])).rowCount! > 0;
    try {
      await s3!.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `uploads/${id}` }));
      return true;
    } catch {
      return false;
    }
  };
  const rowsOf = async (userId: string) => Number((await db.query(`SELECT count(*) AS n FROM chat.uploads WHERE uploader_id = $1`, [userId])).rows[0].n);

  test('round trip: the bytes come back byte for byte, as a download with the safety headers', async () => {
    const data = pdf(700 * 1024);
    const up = await upload(svc.url, alice.accessToken, priv, { name: '../../etc/report.pdf', type: 'image/png', data });
    expect(up.status).toBe(201);
    expect(up.json).toEqual({ id: expect.any(String), name: 'report.pdf', size: data.length, contentType: 'application/pdf' });
    if (storage === 'postgres') {
      // About 256 KB a row, numbered from 0.
      const chunks = await db.query(`SELECT n, length(data) AS len FROM chat.upload_chunks WHERE upload_id = $1 ORDER BY n`, [up.json.id]);
      expect(chunks.rows.map((r) => Number(r.len))).toEqual([262144, 262144, data.length - 2 * 262144]);
    }
    const got = await http(svc.url, 'GET', `/api/chat/uploads/${up.json.id}`, { token: bob.accessToken });
    expect(got.status).toBe(200);
    expect(Buffer.compare(got.body, data)).toBe(0);
    expect(got.headers['content-type']).toBe('application/pdf');
    expect(got.headers['content-disposition']).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(got.headers['content-security-policy']).toMatch(/sandbox/);
    expect(got.headers['content-security-policy']).toMatch(/default-src 'none'/);
  });

  test('exactly the limit is accepted; one byte more, streamed without a length, is 413 and leaves nothing stored', async () => {
    const exact = await upload(svc.url, bob.accessToken, priv, { name: 'a.txt', data: Buffer.alloc(MAX, 'a') });
    expect(exact.status).toBe(201);
    expect(exact.json.size).toBe(MAX);
    const before = await rowsOf(bob.user.id);
    async function* slowly() {
      for (let i = 0; i < 16; i++) yield Buffer.alloc(MAX / 16, 'b');
      yield Buffer.from('b');
      yield Buffer.alloc(MAX, 'b');
    }
    const over = await upload(svc.url, bob.accessToken, priv, { name: 'b.txt', data: slowly() });
    expect(over.status).toBe(413);
    expect(over.json).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    expect(await rowsOf(bob.user.id)).toBe(before);
    if (storage === 'postgres')
      expect(
        (await db.query(`SELECT count(*) AS n FROM chat.upload_chunks c LEFT JOIN chat.uploads u ON u.id = c.upload_id WHERE u.id IS NULL`)).rows[0].n,
      ).toBe('0');
  });

  test('a Content-Length over the limit is refused before the body is read', async () => {
    const t0 = Date.now();
    const res = await new Promise<number>((resolve, reject) => {
      const req = request(new URL(`/api/chat/rooms/${priv}/uploads`, svc.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(50 * MAX) },
      });
      req.on('response', (r) => {
        r.resume();
        resolve(r.statusCode!);
        req.destroy();
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    expect(res).toBe(413);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test.each([
    ['an ELF executable', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(4000)])],
    [
      'a Windows PE executable',
      (() => {
        const b = Buffer.alloc(4096);
        b.write('MZ', 0);
        b.writeUInt32LE(0x80, 0x3c);
        b.write('PE\0\0', 0x80, 'latin1');
        return b;
      })(),
    ],
    ['a zip archive', Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'), randomBytes(2000)])],
    ['binary bytes that are no known type (not text)', Buffer.concat([Buffer.from('hello'), Buffer.from([0]), randomBytes(100)])],
    ['invalid UTF-8 after the first 64 KB', Buffer.concat([Buffer.alloc(100 * 1024, 'x'), Buffer.from([0xc3, 0x28])])],
  ])('%s is 415 and nothing is kept', async (_what, data) => {
    const before = await rowsOf(eve.user.id);
    await api('POST', `/api/chat/rooms/${pub}/join`, { token: eve.accessToken });
    const res = await upload(svc.url, eve.accessToken, pub, { name: 'tool.png', type: 'image/png', data });
    expect(res.status).toBe(415);
    expect(res.json).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
    expect(await rowsOf(eve.user.id)).toBe(before);
  });

  test('HTML claimed as image/png is served as a plain-text download, never as HTML', async () => {
    const html = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');
    const up = await upload(svc.url, alice.accessToken, priv, { name: 'cat.png', type: 'image/png', data: html });
    expect(up.status).toBe(201);
    expect(up.json.contentType).toBe('text/plain');
    const got = await http(svc.url, 'GET', `/api/chat/uploads/${up.json.id}`, { token: alice.accessToken });
    expect(got.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(got.headers['content-disposition']).toMatch(/^attachment;/);
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(got.body.equals(html)).toBe(true);
    expect((await http(svc.url, 'GET', `/api/chat/uploads/${up.json.id}/thumbnail`, { token: alice.accessToken })).status).toBe(404);
  });

  test('a file name is cleaned and sent back safely (RFC 6266)', async () => {
    // Browsers send the name as raw UTF-8 in the part's header.
    const up = await upload(svc.url, alice.accessToken, priv, { name: 'C:\\x\\r\u00e9sum\u00e9;\u202e1.txt', data: Buffer.from('hello\n') });
    expect(up.json.name).toBe('r\u00e9sum\u00e9;1.txt');
    const got = await http(svc.url, 'GET', `/api/chat/uploads/${up.json.id}`, { token: alice.accessToken });
    expect(got.headers['content-disposition']).toBe(`attachment; filename="r_sum__1.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%3B1.txt`);
  });

  test('images: dimensions, shown inline, and a thumbnail of the right size (PNG and JPEG)', async () => {
    const png = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#36c' } })
      .png()
      .toBuffer();
    const jpeg = await sharp({ create: { width: 600, height: 1000, channels: 3, background: '#c63' } })
      .jpeg()
      .toBuffer();
    for (const [data, type, w, h, tw, th] of [
      [png, 'image/png', 800, 600, 320, 240],
      [jpeg, 'image/jpeg', 600, 1000, 192, 320],
    ] as const) {
      const up = await upload(svc.url, alice.accessToken, priv, { name: 'pic', type: 'text/html', data });
      expect(up.status).toBe(201);
      expect(up.json).toMatchObject({ contentType: type, width: w, height: h, size: data.length });
      const got = await http(svc.url, 'GET', `/api/chat/uploads/${up.json.id}`, { token: bob.accessToken });
      expect(got.headers['content-type']).toBe(type);
      expect(got.headers['content-disposition']).toMatch(/^inline;/);
      expect(got.body.equals(data)).toBe(true);
      const thumb = await http(svc.url, 'GET', `/api/chat/uploads/${up.json.id}/thumbnail`, { token: bob.accessToken });
      expect(thumb.status).toBe(200);
      expect(thumb.headers['content-type']).toBe('image/webp');
      const meta = await sharp(thumb.body).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', tw, th]);
    }
  });

  test('outsiders: 404 for a private room, 403 for a public one, for upload, download and thumbnail', async () => {
    const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const inPriv = await upload(svc.url, alice.accessToken, priv, { name: 'p.png', data: png });
    const inPub = await upload(svc.url, alice.accessToken, pub, { name: 'p.png', data: png });
    const stranger = await register(svc.url, 'us');
    expect((await upload(svc.url, stranger.accessToken, priv, { name: 'x.txt', data: Buffer.from('x') })).status).toBe(404);
    expect((await upload(svc.url, stranger.accessToken, pub, { name: 'x.txt', data: Buffer.from('x') })).status).toBe(403);
    for (const path of ['', '/thumbnail']) {
      expect((await http(svc.url, 'GET', `/api/chat/uploads/${inPriv.json.id}${path}`, { token: stranger.accessToken })).status).toBe(404);
      expect((await http(svc.url, 'GET', `/api/chat/uploads/${inPub.json.id}${path}`, { token: stranger.accessToken })).status).toBe(403);
      expect((await http(svc.url, 'GET', `/api/chat/uploads/${inPriv.json.id}${path}`)).status).toBe(401);
      expect((await http(svc.url, 'GET', `/api/chat/uploads/${randomUUID()}${path}`, { token: alice.accessToken })).status).toBe(404);
    }
    expect(await rowsOf(stranger.user.id)).toBe(0);
  });

  test('bad requests: not multipart, no file field, a bad room id', async () => {
    const json = await api('POST', `/api/chat/rooms/${priv}/uploads`, { token: alice.accessToken, body: { file: 'x' } });
    expect(json.status).toBe(400);
    const { boundary, body } = multipart([{ field: 'other', name: 'x.txt', data: Buffer.from('x') }]);
    const noFile = await http(svc.url, 'POST', `/api/chat/rooms/${priv}/uploads`, {
      token: alice.accessToken,
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(noFile.status).toBe(400);
    expect(noFile.json.details).toEqual([{ field: 'file', message: 'is required' }]);
    expect((await upload(svc.url, alice.accessToken, 'nope', { name: 'x', data: Buffer.from('x') })).status).toBe(400);
  });

  test('attachments on a REST send: empty text allowed, an idempotent resend replays, reuse and foreign uploads are 400', async () => {
    const a = await upload(svc.url, alice.accessToken, priv, { name: 'one.txt', data: Buffer.from('one') });
    const b = await upload(svc.url, alice.accessToken, priv, { name: 'two.pdf', data: pdf(1000) });
    const clientId = randomUUID();
    const sent = await api('POST', `/api/chat/rooms/${priv}/messages`, { token: alice.accessToken, body: { clientId, attachments: [a.json.id, b.json.id] } });
    expect(sent.status).toBe(201);
    expect(sent.body.body).toBe('');
    expect(sent.body.attachments).toEqual([a.json, b.json]);
    const again = await api('POST', `/api/chat/rooms/${priv}/messages`, { token: alice.accessToken, body: { clientId, attachments: [a.json.id, b.json.id] } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(sent.body.id);
    const reuse = await api('POST', `/api/chat/rooms/${priv}/messages`, {
      token: alice.accessToken,
      body: { body: 'x', clientId: randomUUID(), attachments: [a.json.id] },
    });
    expect(reuse.status).toBe(400);
    expect(reuse.body.details).toEqual([{ field: 'attachments.0', message: 'is already attached to another message' }]);
    const hers = await upload(svc.url, alice.accessToken, priv, { name: 'h.txt', data: Buffer.from('h') });
    const foreign = await api('POST', `/api/chat/rooms/${priv}/messages`, {
      token: bob.accessToken,
      body: { body: 'x', clientId: randomUUID(), attachments: [randomUUID(), hers.json.id] },
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.details).toEqual([
      { field: 'attachments.0', message: 'no such upload' },
      { field: 'attachments.1', message: 'must be an upload of yours' },
    ]);
    const otherRoom = await api('POST', `/api/chat/rooms/${pub}/messages`, {
      token: alice.accessToken,
      body: { body: 'x', clientId: randomUUID(), attachments: [hers.json.id] },
    });
    expect(otherRoom.body.details).toEqual([{ field: 'attachments.0', message: 'must be uploaded to this room' }]);
    const empty = await api('POST', `/api/chat/rooms/${priv}/messages`, { token: alice.accessToken, body: { body: ' ', clientId: randomUUID() } });
    expect(empty.status).toBe(400);
    const tooMany = await api('POST', `/api/chat/rooms/${priv}/messages`, {
      token: alice.accessToken,
      body: { clientId: randomUUID(), attachments: Array.from({ length: 11 }, () => randomUUID()) },
    });
    expect(tooMany.status).toBe(400);
    // Failed sends used no seq: the history holds the one message.
    const page = await api('GET', `/api/chat/rooms/${priv}/messages?limit=100`, { token: bob.accessToken });
    const last = page.body.messages.at(-1) as Message;
    expect(last.id).toBe(sent.body.id);
    expect(last.attachments.map((x) => x.id)).toEqual([a.json.id, b.json.id]);
  });

  test('attachments on a socket send reach the room in message:new', async () => {
    const up = await upload(svc.url, alice.accessToken, priv, { name: 's.txt', data: Buffer.from('socket') });
    const [sa, sb] = await Promise.all([connect(svc.url, alice.accessToken), connect(svc.url, bob.accessToken)]);
    try {
      const heard = new Promise<Message>((resolve) => sb.on('message:new', (m) => m.attachments.length && resolve(m)));
      const ack = await sa.emitWithAck('message:send', { roomId: priv, body: 'see file', clientId: randomUUID(), attachments: [up.json.id] });
      expect(ack).toMatchObject({ ok: true });
      const m = await heard;
      expect(m.attachments).toEqual([up.json]);
      const bad = await sa.emitWithAck('message:send', { roomId: priv, body: '', clientId: randomUUID(), attachments: [up.json.id] });
      expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    } finally {
      sa.close();
      sb.close();
    }
  });

  test('deleting the message deletes its files, bytes too', async () => {
    const up = await upload(svc.url, alice.accessToken, priv, { name: 'd.pdf', data: pdf(300 * 1024) });
    expect(await stored(up.json.id)).toBe(true);
    const sent = await api('POST', `/api/chat/rooms/${priv}/messages`, {
      token: alice.accessToken,
      body: { body: 'bye', clientId: randomUUID(), attachments: [up.json.id] },
    });
    expect((await api('DELETE', `/api/chat/messages/${sent.body.id}`, { token: alice.accessToken })).status).toBe(204);
    expect((await http(svc.url, 'GET', `/api/chat/uploads/${up.json.id}`, { token: alice.accessToken })).status).toBe(404);
    expect(await stored(up.json.id)).toBe(false);
    expect((await db.query(`SELECT 1 FROM chat.uploads WHERE id = $1`, [up.json.id])).rowCount).toBe(0);
    const page = await api('GET', `/api/chat/rooms/${priv}/messages?limit=100`, { token: alice.accessToken });
    expect(page.body.messages.find((m: Message) => m.id === sent.body.id).attachments).toEqual([]);
  });

  test('the sweep removes uploads no message took within UPLOAD_ORPHAN_AGE, and keeps attached ones', async () => {
    const orphan = await upload(svc.url, alice.accessToken, priv, { name: 'o.txt', data: Buffer.from('orphan') });
    const kept = await upload(svc.url, alice.accessToken, priv, { name: 'k.txt', data: Buffer.from('kept') });
    await api('POST', `/api/chat/rooms/${priv}/messages`, { token: alice.accessToken, body: { clientId: randomUUID(), attachments: [kept.json.id] } });
    const sweeper = svc.app.get(UploadsService);
    await sweeper.sweep();
    // Younger than the age (2 s): still there.
    expect((await http(svc.url, 'GET', `/api/chat/uploads/${orphan.json.id}`, { token: alice.accessToken })).status).toBe(200);
    await sleep(2500);
    expect(await sweeper.sweep()).toBeGreaterThanOrEqual(1);
    expect((await http(svc.url, 'GET', `/api/chat/uploads/${orphan.json.id}`, { token: alice.accessToken })).status).toBe(404);
    expect(await stored(orphan.json.id)).toBe(false);
    expect((await http(svc.url, 'GET', `/api/chat/uploads/${kept.json.id}`, { token: alice.accessToken })).body.toString()).toBe('kept');
  });

  test('uploads beyond UPLOAD_CONCURRENCY are 503 with Retry-After', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* held() {
      yield Buffer.from('held ');
      await gate;
      yield Buffer.from('done');
    }
    const slow = [
      upload(svc.url, alice.accessToken, priv, { name: 'h1.txt', data: held() }),
      upload(svc.url, alice.accessToken, priv, { name: 'h2.txt', data: held() }),
    ];
    await sleep(300);
    const third = await upload(svc.url, alice.accessToken, priv, { name: 'h3.txt', data: Buffer.from('x') });
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('2');
    release();
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([201, 201]);
    expect((await upload(svc.url, alice.accessToken, priv, { name: 'h4.txt', data: Buffer.from('x') })).status).toBe(201);
  });
});

/**
 * A 25 MB upload into a separate server process (the built dist), its heap sampled from
 * /metrics while the bytes stream: growth must stay far below the file's size.
 */
describe.each(backends)('memory during a 25 MB upload on %s', (storage) => {
  const main = fileURLToPath(new URL('../dist/apps/all.main.js', import.meta.url));
  let child: ChildProcess;
  let base: string;
  let s3server: S3rver | undefined;
  let s3dir: string | undefined;
  let dataDir: string;

  beforeAll(async () => {
    const env: Record<string, string> = {};
    if (storage === 's3') {
      s3dir = await mkdtemp(join(tmpdir(), 's3rver-'));
      s3server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir });
      const { port } = await s3server.run();
      const s3 = new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      s3.destroy();
      Object.assign(env, {
        UPLOAD_STORAGE: 's3',
        S3_BUCKET: BUCKET,
        S3_ENDPOINT: `http://127.0.0.1:${port}`,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
      });
    }
    dataDir = await mkdtemp(join(tmpdir(), 'chat-heap-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--max-semi-space-size=1', main], {
      env: {
        ...process.env,
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: process.env.TEST_DATABASE_URL,
        DATA_DIR: dataDir,
        DEFAULT_ROOM: '',
        STATIC_DIR: '',
        LOG_LEVEL: 'error',
        HTTP_REQUEST_TIMEOUT_MS: '120000',
        AUTH_RATE_LIMIT_PER_IP: '100000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`${base}/health/live`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await sleep(200);
    }
    throw new Error('the server did not start');
  }, 60_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    await new Promise((r) => child?.once('exit', r));
    await s3server?.close();
    if (s3dir) await rm(s3dir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  const heapUsed = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)![1]);
  };

  test('heap growth stays under 15 MB and the bytes come back whole', async () => {
    const me = await register(base, 'uh');
    const api = client(base);
    const room = (await api('POST', '/api/chat/rooms', { token: me.accessToken, body: { name: uniq('heap'), kind: 'private' } })).body.id;
    const size = 25 * 1024 * 1024 - 1024;
    const head = Buffer.from('%PDF-1.4\n');
    const block = randomBytes(64 * 1024);
    const baseline = await heapUsed();
    let peak = baseline;
    let sent = 0;
    async function* body() {
      yield head;
      sent += head.length;
      while (sent < size) {
        const b = block.subarray(0, Math.min(block.length, size - sent));
        sent += b.length;
        yield b;
        // Sample the server's heap every megabyte or so.
        if (sent % (1024 * 1024) < block.length) peak = Math.max(peak, await heapUsed());
      }
    }
    const up = await upload(base, me.accessToken, room, { name: 'big.pdf', data: body() });
    peak = Math.max(peak, await heapUsed());
    expect(up.status).toBe(201);
    expect(up.json.size).toBe(size);
    const growth = peak - baseline;
    process.stdout.write(`\n${storage}: heap ${Math.round(baseline / 1e6)} MB before, peak +${(growth / 1e6).toFixed(1)} MB during a 25 MB upload\n`);
    expect(growth).toBeLessThan(15 * 1024 * 1024);
    const got = await http(base, 'GET', `/api/chat/uploads/${up.json.id}`, { token: me.accessToken });
    expect(got.body.length).toBe(size);
    expect(got.body.subarray(0, 9).equals(head)).toBe(true);
  }, 120_000);
});

// Uploads: throughput (MB/s) of files streamed to the chat and back, and the heap each upload
// in flight costs, on one storage backend (PostgreSQL chunks or S3 through s3rver).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const BUCKET = 'chat-bench-uploads';

/** An S3-compatible server on loopback for the s3 backend (s3rver, a devDependency of the backend). */
export async function startS3() {
  const { default: S3rver } = await import('s3rver');
  const dir = mkdtempSync(join(tmpdir(), 'bench-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    env: {
      UPLOAD_STORAGE: 's3',
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function post(url, token, size) {
  const boundary = `----bench${randomUUID()}`;
  const block = randomBytes(64 * 1024);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` } },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 201 ? resolve(JSON.parse(body)) : reject(new Error(`upload: ${res.statusCode} ${body.slice(0, 200)}`))));
      },
    );
    req.on('error', reject);
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n`);
    let sent = 9;
    const pump = () => {
      while (sent < size) {
        const b = block.subarray(0, Math.min(block.length, size - sent));
        sent += b.length;
        if (!req.write(b)) return req.once('drain', pump);
      }
      req.end(`\r\n--${boundary}--\r\n`);
    };
    pump();
  });
}

async function download(url, token) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  let n = 0;
  for await (const chunk of res.body) n += chunk.length;
  return n;
}

const metric = (text, name) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);

/**
 * `count` uploads of `sizeMB` each, `concurrency` at a time, into one room; then the same files
 * downloaded. The server's heap (nodejs_heap_size_used_bytes) and RSS are sampled every 100 ms.
 */
export async function runUploads(server, { count, sizeMB, concurrency }) {
  const base = server.url;
  const reg = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `up${Date.now() % 1e9}`, password: 'correct horse battery' }),
  }).then((r) => r.json());
  const token = reg.accessToken;
  const room = await fetch(`${base}/api/chat/rooms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `uploads ${randomUUID().slice(0, 8)}`, kind: 'private' }),
  }).then((r) => r.json());
  const sample = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return { heap: metric(text, 'nodejs_heap_size_used_bytes'), rss: metric(text, 'process_resident_memory_bytes') };
  };
  // A settled baseline: the heap right after a collection is not available from outside, so the lowest of a few samples.
  let baseline = { heap: Infinity, rss: Infinity };
  for (let i = 0; i < 5; i++) {
    const s = await sample();
    baseline = { heap: Math.min(baseline.heap, s.heap), rss: Math.min(baseline.rss, s.rss) };
    await new Promise((r) => setTimeout(r, 100));
  }
  let peak = { ...baseline };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const s = await sample();
      peak = { heap: Math.max(peak.heap, s.heap), rss: Math.max(peak.rss, s.rss) };
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const size = Math.round(sizeMB * 1024 * 1024);
  const ids = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        ids.push((await post(`${base}/api/chat/rooms/${room.id}/uploads`, token, size)).id);
      }
    }),
  );
  const upSec = (performance.now() - t0) / 1000;
  sampling = false;
  await sampler;
  const t1 = performance.now();
  let got = 0;
  for (let i = 0; i < ids.length; i += concurrency)
    got += (await Promise.all(ids.slice(i, i + concurrency).map((id) => download(`${base}/api/chat/uploads/${id}`, token)))).reduce((a, b) => a + b, 0);
  const downSec = (performance.now() - t1) / 1000;
  const mb = (count * size) / 2 ** 20;
  return {
    count,
    sizeMB,
    concurrency,
    uploadMBps: Math.round((mb / upSec) * 10) / 10,
    downloadMBps: Math.round((got / 2 ** 20 / downSec) * 10) / 10,
    heapPerUploadMB: Math.round(((peak.heap - baseline.heap) / concurrency / 2 ** 20) * 10) / 10,
    rssPerUploadMB: Math.round(((peak.rss - baseline.rss) / concurrency / 2 ** 20) * 10) / 10,
    complete: got === count * size,
  };
}

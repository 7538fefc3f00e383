import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { FILE_CSP } from '../src/chat/uploads/uploads.controller.js';
import type { Service } from '../src/common/app.js';
import { start } from './harness.js';

const SECURITY = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

describe('security headers on every answer', () => {
  let svc: Service;
  beforeAll(async () => {
    svc = await start('all');
  });
  afterAll(() => svc?.close());

  const headersOf = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(svc.url + path, init);
    await res.arrayBuffer();
    return { status: res.status, headers: Object.fromEntries(SECURITY.map((h) => [h, res.headers.get(h)])) };
  };

  test('API answers, errors, health, and Socket.IO’s own errors carry the same set; the CSP allows no inline style or script', async () => {
    const reference = await headersOf('/health/live');
    expect(reference.headers['content-security-policy']).toMatch(/style-src 'self'(;|$)/);
    expect(reference.headers['content-security-policy']).not.toContain('unsafe-inline');
    for (const h of SECURITY) expect([h, reference.headers[h]]).toEqual([h, expect.any(String)]);
    const cases = await Promise.all([
      headersOf('/api/users/me'), // 401
      headersOf('/api/nope'), // 404
      headersOf('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }), // 400
      headersOf('/socket.io/?EIO=4&transport=polling'), // engine.io: transport unknown
      headersOf('/socket.io/?EIO=2&transport=websocket'), // engine.io: unsupported protocol version
      headersOf('/socket.io/?EIO=4&transport=websocket&sid=nope'), // engine.io: no upgrade header
    ]);
    expect(cases.map((c) => c.status)).toEqual([401, 404, 400, 400, 400, 400]);
    for (const c of cases) expect(c.headers).toEqual(reference.headers);
  });

  test('the nginx gateway sends the same values, once, on every location', async () => {
    const reference = await headersOf('/health/live');
    const template = await readFile(fileURLToPath(new URL('../../docker/nginx/chat.conf.template', import.meta.url)), 'utf8');
    const added = Object.fromEntries([...template.matchAll(/^\s*add_header\s+([\w-]+)\s+"([^"]*)"\s+always;/gm)].map((m) => [m[1].toLowerCase(), m[2]]));
    // The CSP comes from a map: the backend's by default, the sandboxing one of served files for uploads.
    expect(template).toMatch(/^\s*add_header Content-Security-Policy \$gateway_csp always;/m);
    const csp = /map \$uri \$gateway_csp \{([^}]*)\}/.exec(template)![1];
    added['content-security-policy'] = /^\s*default "([^"]*)";/m.exec(csp)![1];
    expect(added).toEqual(reference.headers);
    expect(/^\s*~\^\/api\/chat\/uploads\/ "([^"]*)";/m.exec(csp)![1]).toBe(FILE_CSP);
    const hidden = [...template.matchAll(/^\s*proxy_hide_header\s+([\w-]+);/gm)].map((m) => m[1].toLowerCase());
    expect(hidden.sort()).toEqual([...SECURITY].sort());
    // A location with an add_header of its own would drop the inherited ones there.
    const locations = template.slice(template.indexOf('location'));
    expect(locations).not.toMatch(/add_header/);
  });
});

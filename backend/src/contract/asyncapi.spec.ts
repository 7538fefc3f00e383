import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type Plugin } from 'ajv';
import { asyncApiDocument, EVENTS_FILE } from './asyncapi.js';
import { CLIENT_EVENTS } from './events.js';
import * as S from './schemas.js';

const require = createRequire(import.meta.url);
const addFormats = require('ajv-formats') as Plugin<unknown>;
const specs = require('@asyncapi/specs') as { schemas: Record<string, object> };

type Json = Record<string, unknown>;
let generated: Json;

beforeAll(() => {
  // Compiling events.ts takes a few seconds.
  generated = JSON.parse(JSON.stringify(asyncApiDocument()));
}, 120_000);

/** Every `$ref` string in the document, with where it is. */
function refs(node: unknown, at = '#'): Array<[string, string]> {
  if (Array.isArray(node)) return node.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [[at, v] as [string, string]] : refs(v, `${at}/${k}`)));
}

function resolve(doc: Json, pointer: string): unknown {
  return pointer
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Json)[key] : undefined), doc);
}

describe('docs/asyncapi.json', () => {
  test('is up to date with the event map and the payload schemas (run `npm run asyncapi`)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../../docs/asyncapi.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(generated);
  });

  test('is valid against the AsyncAPI 3.0.0 JSON Schema', () => {
    // The bundled schema embeds the draft-07 meta-schema itself, so Ajv must not add its own.
    const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
    addFormats(ajv);
    const validate = ajv.compile(specs.schemas['3.0.0']);
    expect(validate(generated) ? [] : validate.errors).toEqual([]);
  });

  test('every $ref resolves, and operations and replies use messages of their own channel', () => {
    const dangling = refs(generated).filter(([, ref]) => !ref.startsWith('#/') || resolve(generated, ref) === undefined);
    expect(dangling).toEqual([]);
    for (const [name, op] of Object.entries(generated.operations as Record<string, Json>)) {
      const channel = (op.channel as Json).$ref as string;
      for (const m of op.messages as Json[]) expect([name, m.$ref]).toEqual([name, expect.stringMatching(`^${channel}/messages/`)]);
      const reply = op.reply as { channel: Json; messages: Json[] } | undefined;
      for (const m of reply?.messages ?? []) expect([name, m.$ref]).toEqual([name, expect.stringMatching(`^${reply!.channel.$ref as string}/messages/`)]);
    }
  });

  test('every client event is a send operation with a reply; the ack error is one shared message', () => {
    const ops = Object.values(generated.operations as Record<string, Json>);
    const channels = generated.channels as Record<string, Json>;
    const sent = ops.filter((o) => o.action === 'send').map((o) => resolve(generated, (o.channel as Json).$ref as string) as Json);
    expect(sent.map((c) => c.address).sort()).toEqual([...CLIENT_EVENTS].sort());
    for (const o of ops.filter((o) => o.action === 'send')) {
      expect((o.reply as { messages: Json[] }).messages.map((m) => m.$ref)).toContain(`${(o.channel as Json).$ref as string}/messages/ackError`);
    }
    expect(Object.keys(channels).length).toBeGreaterThanOrEqual(CLIENT_EVENTS.length);
  });

  test('docs/realtime.md lists every event in its table, in the right direction', () => {
    const page = readFileSync(new URL('../../../docs/realtime.md', import.meta.url), 'utf8');
    const rows = new Set([...page.matchAll(/^\|\s*`([^`]+)`\s*\|\s*(client → server|server → client)\s*\|/gm)].map((m) => `${m[1]} ${m[2]}`));
    const missing = Object.values(generated.operations as Record<string, Json>)
      .map(
        (o) =>
          `${(resolve(generated, (o.channel as Json).$ref as string) as Json).address as string} ${o.action === 'send' ? 'client → server' : 'server → client'}`,
      )
      .filter((row) => !rows.has(row));
    expect(missing).toEqual([]);
  });

  test('each client payload is documented from the zod schema the gateway parses it with', () => {
    const gateway = readFileSync(new URL('../chat/chat.gateway.ts', import.meta.url), 'utf8');
    const handled = Object.fromEntries([...gateway.matchAll(/this\.handle\('([^']+)',\s*(\w+),/g)].map((m) => [m[1], m[2]]));
    const schemas = S as unknown as Record<string, unknown>;
    for (const event of CLIENT_EVENTS) {
      expect([event, handled[event] && schemas[handled[event]] === S.CLIENT_PAYLOADS[event]]).toEqual([event, true]);
    }
  });

  describe('the generator, on events.ts with additions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'asyncapi-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    /** events.ts plus `extra` (interfaces merge, so an event can be added to a map from below). */
    const generate = (extra: string, edit = (s: string) => s) => {
      const file = join(dir, `events-${Math.random().toString(36).slice(2)}.ts`);
      writeFileSync(file, `${edit(readFileSync(EVENTS_FILE, 'utf8'))}\n${extra}\n`);
      return JSON.parse(JSON.stringify(asyncApiDocument(file))) as Json;
    };

    test('records, tuples, literal unions with null, Pick in an array, optional fields, doc comments', () => {
      const doc = generate(`
        /** Extra doc. */
        export interface Extra {
          counts: Record<string, number>;
          pair: [string, number];
          kind: 'a' | 'b' | null;
          picked: Array<Pick<Message, 'id' | 'seq'>>;
          /** Only sometimes. */
          flag?: boolean;
        }
        export interface ServerToClientEvents {
          'x:test': (p: Extra) => void;
        }`);
      expect((doc.components as Json).schemas).toMatchObject({
        Extra: {
          description: 'Extra doc.',
          type: 'object',
          required: ['counts', 'pair', 'kind', 'picked'],
          properties: {
            counts: { type: 'object', properties: {}, additionalProperties: { type: 'number' } },
            pair: { type: 'array', items: [{ type: 'string' }, { type: 'number' }], minItems: 2, maxItems: 2 },
            kind: { anyOf: [{ type: 'string', enum: ['a', 'b'] }, { type: 'null' }] },
            picked: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, seq: { type: 'number' } }, required: ['id', 'seq'] } },
            flag: { type: 'boolean', description: 'Only sometimes.' },
          },
        },
      });
      expect((doc.channels as Record<string, Json>)['x.test']).toMatchObject({ address: 'x:test' });
      expect((doc.operations as Record<string, Json>)['receive.x.test']).toMatchObject({ action: 'receive' });
    }, 120_000);

    test('a type with no JSON form is refused', () => {
      expect(() => generate(`export interface ServerToClientEvents { 'x:date': (p: { at: Date }) => void; }`)).toThrow(/no JSON Schema for Date/);
    }, 120_000);

    test('a client event without a zod schema is refused', () => {
      const listed = (s: string) => s.replace(`'auth:refresh'] as const`, `'auth:refresh', 'x:send'] as const`);
      expect(() => generate(`export interface ClientToServerEvents { 'x:send': (p: { a: string }, ack: (a: Ack) => void) => void; }`, listed)).toThrow(
        /client event x:send has no zod schema/,
      );
    }, 120_000);
  });
});

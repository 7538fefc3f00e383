import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { z } from 'zod';
import * as S from './schemas.js';

/**
 * The realtime half of the contract as AsyncAPI 3.0, read from the event map in events.ts with
 * the TypeScript compiler (so a new event or field changes the document) and, for what clients
 * send, from the zod schemas the gateway parses payloads with (they hold the limits).
 */

// The same relative path from src/contract (Jest) and dist/contract (`npm run asyncapi`).
export const EVENTS_FILE = fileURLToPath(new URL('../../src/contract/events.ts', import.meta.url));

type Schema = Record<string, unknown>;
const NULL: Schema = { type: 'null' };
const isRef = (s: Schema) => typeof s.$ref === 'string';
const describe = (s: Schema, description: string): Schema => (description ? { ...s, description } : s);

/** Turns the types of events.ts into JSON Schema; its named interfaces and aliases become components. */
class TypeConverter {
  readonly components = new Map<string, Schema>();

  constructor(
    private readonly checker: ts.TypeChecker,
    private readonly file: ts.SourceFile,
  ) {}

  doc(symbol: ts.Symbol): string {
    // The comment at the top of events.ts is about the file, not about its first declaration.
    const decl = symbol.declarations?.[0];
    if (decl && (decl as ts.Node) === this.file.statements[0]) {
      const docs = (ts.getLeadingCommentRanges(this.file.text, decl.getFullStart()) ?? []).filter((r) => this.file.text.startsWith('/**', r.pos));
      if (docs.length === 1 && docs[0].pos === 0) return '';
    }
    return ts
      .displayPartsToString(symbol.getDocumentationComment(this.checker))
      .replace(/\s*\n\s*/g, ' ')
      .trim();
  }

  /** A non-generic interface or alias of events.ts: it is a component, referred to by name. */
  private named(symbol: ts.Symbol | undefined): ts.Symbol | undefined {
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = this.checker.getAliasedSymbol(symbol);
    const decl = symbol?.declarations?.[0];
    if (!symbol || !decl || decl.getSourceFile() !== this.file) return undefined;
    if (!ts.isInterfaceDeclaration(decl) && !ts.isTypeAliasDeclaration(decl)) return undefined;
    return decl.typeParameters?.length ? undefined : symbol;
  }

  ref(symbol: ts.Symbol): Schema {
    const name = symbol.name;
    if (!this.components.has(name)) {
      this.components.set(name, {}); // taken before converting, so a recursive type terminates
      const decl = symbol.declarations![0];
      const schema = ts.isTypeAliasDeclaration(decl) ? this.node(decl.type) : this.object(this.checker.getDeclaredTypeOfSymbol(symbol));
      this.components.set(name, describe(schema, this.doc(symbol)));
    }
    return { $ref: `#/components/schemas/${name}` };
  }

  /** From the written type where it names things (`RoomRole | null` keeps RoomRole), else from the checked type. */
  node(n: ts.TypeNode): Schema {
    if (ts.isParenthesizedTypeNode(n)) return this.node(n.type);
    if (ts.isArrayTypeNode(n)) return { type: 'array', items: this.node(n.elementType) };
    if (ts.isUnionTypeNode(n)) return this.union(n.types.map((t) => this.node(t)));
    if (ts.isTypeReferenceNode(n)) {
      const symbol = this.named(this.checker.getSymbolAtLocation(n.typeName));
      if (symbol && !n.typeArguments) return this.ref(symbol);
      if (ts.isIdentifier(n.typeName) && n.typeName.text === 'Array' && n.typeArguments?.length === 1)
        return { type: 'array', items: this.node(n.typeArguments[0]) };
    }
    return this.type(this.checker.getTypeFromTypeNode(n));
  }

  type(t: ts.Type): Schema {
    const alias = !t.aliasTypeArguments && this.named(t.aliasSymbol);
    if (alias) return this.ref(alias);
    const f = t.flags;
    if (f & ts.TypeFlags.String) return { type: 'string' };
    if (f & ts.TypeFlags.Number) return { type: 'number' };
    if (f & ts.TypeFlags.Boolean) return { type: 'boolean' };
    if (f & ts.TypeFlags.Null) return NULL;
    if (t.isStringLiteral()) return { type: 'string', const: t.value };
    if (t.isNumberLiteral()) return { type: 'number', const: t.value };
    if (f & ts.TypeFlags.BooleanLiteral) return { type: 'boolean', const: this.checker.typeToString(t) === 'true' };
    if (t.isUnion()) {
      const members = t.types.filter((m) => !(m.flags & ts.TypeFlags.Undefined));
      const bools = members.filter((m) => m.flags & ts.TypeFlags.BooleanLiteral);
      const rest = bools.length === 2 ? [...members.filter((m) => !bools.includes(m)), this.checker.getBooleanType()] : members;
      return rest.length === 1 ? this.type(rest[0]) : this.union(rest.map((m) => this.type(m)));
    }
    if (this.checker.isArrayType(t)) return { type: 'array', items: this.type(this.checker.getTypeArguments(t as ts.TypeReference)[0]) };
    if (this.checker.isTupleType(t)) {
      const items = this.checker.getTypeArguments(t as ts.TypeReference).map((m) => this.type(m));
      return { type: 'array', items, minItems: items.length, maxItems: items.length };
    }
    const iface = t.symbol && t.symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class) ? t.symbol : undefined;
    if (iface) {
      const own = this.named(iface);
      if (own && !(t as ts.TypeReference).typeArguments?.length) return this.ref(own);
      // Date, Map and the like have no JSON form: the wire carries strings and plain objects.
      if (iface.declarations?.[0]?.getSourceFile() !== this.file) throw new Error(`asyncapi: no JSON Schema for ${this.checker.typeToString(t)} (not JSON)`);
    }
    if (t.getCallSignatures().length) throw new Error(`asyncapi: no JSON Schema for the function type ${this.checker.typeToString(t)}`);
    if (f & ts.TypeFlags.Object || t.isIntersection()) return this.object(t);
    throw new Error(`asyncapi: no JSON Schema for the type ${this.checker.typeToString(t)}`);
  }

  /** An object's properties, with their doc comments; optional ones are not required. */
  object(t: ts.Type): Schema {
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const p of this.checker.getPropertiesOfType(t)) {
      const decl = p.valueDeclaration;
      // A written type that mentions a type parameter (of a generic) is read from the instance instead.
      const written = decl && (ts.isPropertySignature(decl) || ts.isPropertyDeclaration(decl)) && decl.type && !this.generic(decl.type) ? decl.type : undefined;
      const schema = written ? this.node(written) : this.type(this.checker.getTypeOfSymbol(p));
      properties[p.name] = describe(schema, this.doc(p));
      if (!(p.flags & ts.SymbolFlags.Optional)) required.push(p.name);
    }
    // Record<string, X> and other index signatures.
    const index = this.checker.getIndexInfosOfType(t).find((i) => i.keyType.flags & ts.TypeFlags.String);
    return { type: 'object', properties, ...(required.length ? { required } : {}), ...(index ? { additionalProperties: this.type(index.type) } : {}) };
  }

  private generic(n: ts.Node): boolean {
    if (ts.isTypeReferenceNode(n) && this.checker.getTypeFromTypeNode(n).flags & ts.TypeFlags.TypeParameter) return true;
    return ts.forEachChild(n, (c) => this.generic(c) || undefined) ?? false;
  }

  /** String literals become one enum, null stays a separate branch. */
  union(schemas: Schema[]): Schema {
    const literals = schemas.filter((s) => s.type === 'string' && 'const' in s && !s.description);
    const others = schemas.filter((s) => !literals.includes(s));
    const merged = literals.length > 1 ? [{ type: 'string', enum: literals.map((s) => s.const) }, ...others] : schemas;
    const flat = merged.flatMap((s) => (Array.isArray(s.anyOf) && Object.keys(s).length === 1 ? (s.anyOf as Schema[]) : [s]));
    return flat.length === 1 ? flat[0] : { anyOf: flat };
  }
}

interface EventSig {
  name: string;
  doc: string;
  payload: Schema;
  ack?: Schema;
}

function findInterface(file: ts.SourceFile, name: string): ts.InterfaceDeclaration {
  const decl = file.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
  if (!decl) throw new Error(`asyncapi: no interface ${name} in events.ts`);
  return decl;
}

function readEvents(conv: TypeConverter, checker: ts.TypeChecker, file: ts.SourceFile, map: string): EventSig[] {
  const decl = findInterface(file, map);
  return checker.getPropertiesOfType(checker.getTypeAtLocation(decl)).map((p) => {
    const sig = checker.getTypeOfSymbol(p).getCallSignatures()[0];
    if (!sig) throw new Error(`asyncapi: ${map}['${p.name}'] is not a function type`);
    const [payload, ack] = sig.getParameters().map((param) => param.valueDeclaration as ts.ParameterDeclaration);
    const event: EventSig = { name: p.name, doc: conv.doc(p), payload: payload?.type ? conv.node(payload.type) : NULL };
    if (ack?.type) {
      // The ack callback's one parameter is what the server answers.
      const answer = ts.isFunctionTypeNode(ack.type) ? ack.type.parameters[0]?.type : undefined;
      if (!answer) throw new Error(`asyncapi: the ack of ${map}['${p.name}'] is not written as (answer: T) => void`);
      event.ack = conv.node(answer);
    }
    return event;
  });
}

/** The zod schema as JSON Schema draft-07 (the dialect AsyncAPI 3.0 schemas extend). */
const zodJson = (schema: z.ZodType): Schema => {
  const s = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-07' }) as Schema;
  delete s.$schema;
  return s;
};

const JSON_TYPES: Record<string, string[]> = { number: ['number', 'integer'], integer: ['number', 'integer'] };

/**
 * The typed payload and the zod schema must describe the same fields: a field added to one only
 * fails here (and so the drift test) instead of being documented one way and enforced another.
 * Descriptions written in events.ts are carried over to the zod side.
 */
function reconcile(event: string, written: Schema, parsed: Schema, resolve: (s: Schema) => Schema, path = 'payload'): void {
  const typed = resolve(written);
  const description = written.description ?? typed.description;
  const tType = typed.type as string | undefined;
  const pType = parsed.type as string | undefined;
  if (tType && pType && tType !== pType && !JSON_TYPES[tType]?.includes(pType)) {
    throw new Error(`asyncapi: ${event} ${path} is ${tType} in events.ts but ${pType} in its zod schema`);
  }
  if (description && !parsed.description) parsed.description = description;
  if (typed.properties && parsed.properties) {
    const tp = typed.properties as Record<string, Schema>;
    const pp = parsed.properties as Record<string, Schema>;
    const keys = (o: object) => Object.keys(o).sort().join(', ');
    if (keys(tp) !== keys(pp)) throw new Error(`asyncapi: ${event} ${path} has fields {${keys(tp)}} in events.ts but {${keys(pp)}} in its zod schema`);
    const req = (s: Schema) => ((s.required as string[] | undefined) ?? []).slice().sort().join(', ');
    if (req(typed) !== req(parsed)) throw new Error(`asyncapi: ${event} ${path} requires {${req(typed)}} in events.ts but {${req(parsed)}} in its zod schema`);
    for (const k of Object.keys(tp)) reconcile(event, tp[k], pp[k], resolve, `${path}.${k}`);
  }
  if (typed.items && parsed.items) reconcile(event, typed.items as Schema, parsed.items as Schema, resolve, `${path}[]`);
}

/** Ids in components must match ^[\w\d.\-_]+$: `message:send` becomes `message.send`. */
const id = (event: string) => event.replace(/[^\w.-]/g, '.');
const pointer = (...parts: string[]) => `#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** `eventsFile` is another copy of events.ts only in tests. */
export function asyncApiDocument(eventsFile = EVENTS_FILE) {
  const program = ts.createProgram([eventsFile], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts'],
    types: [],
  });
  const file = program.getSourceFile(eventsFile)!;
  const problems = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
  if (problems.length) throw new Error(`asyncapi: events.ts does not compile: ${ts.flattenDiagnosticMessageText(problems[0].messageText, '\n')}`);
  const checker = program.getTypeChecker();
  const conv = new TypeConverter(checker, file);
  const ackErrorRef = conv.ref(checker.getSymbolAtLocation(findInterface(file, 'AckError').name)!);
  const clientEvents = readEvents(conv, checker, file, 'ClientToServerEvents');
  const serverEvents = readEvents(conv, checker, file, 'ServerToClientEvents');
  const resolve = (s: Schema): Schema => (isRef(s) ? resolve(conv.components.get((s.$ref as string).split('/').pop()!)!) : s);

  const messages: Record<string, Schema> = {};
  const channels: Record<string, { address: string; description?: string; messages: Record<string, Schema> }> = {};
  const operations: Record<string, Schema> = {};
  const docs = new Map<string, string[]>();
  const channelOf = (event: string, doc: string, direction: string) => {
    channels[id(event)] ??= { address: event, messages: {} };
    if (doc) docs.set(id(event), [...(docs.get(id(event)) ?? []), `${direction}: ${doc}`]);
  };
  /** Lists a message in a channel (defined once in components) and returns the operation's pointer to it. */
  const use = (channel: string, key: string, message?: Schema) => {
    if (message) messages[key] = message;
    channels[channel].messages[key] = { $ref: pointer('components', 'messages', key) };
    return { $ref: pointer('channels', channel, 'messages', key) };
  };

  for (const e of clientEvents) {
    const zod = (S.CLIENT_PAYLOADS as Record<string, z.ZodType | undefined>)[e.name];
    if (!zod) throw new Error(`asyncapi: client event ${e.name} has no zod schema in CLIENT_PAYLOADS (schemas.ts)`);
    const payload = zodJson(zod);
    reconcile(e.name, e.payload, payload, resolve);
    const zodName = Object.entries(S).find(([, v]) => v === zod)?.[0] ?? 'its schema';
    const ch = id(e.name);
    channelOf(e.name, e.doc, 'Client → server');
    const sent = use(ch, `send.${ch}`, {
      name: e.name,
      title: `${e.name} (client → server)`,
      ...(e.doc ? { summary: e.doc } : {}),
      description: `Validated with \`${zodName}\` (backend/src/contract/schemas.ts): that zod schema is what the server enforces and is authoritative for limits; unknown fields are refused with a \`bad_request\` ack.`,
      payload,
    });
    const op: Schema = { action: 'send', channel: { $ref: pointer('channels', ch) }, messages: [sent], ...(e.doc ? { summary: e.doc } : {}) };
    if (e.ack) {
      // The ack callback's argument: the success shape(s), and AckError as its own message.
      const branches = ((e.ack.anyOf as Schema[] | undefined) ?? [e.ack]).sort(
        (a, b) => Number(a.$ref === ackErrorRef.$ref) - Number(b.$ref === ackErrorRef.$ref),
      );
      op.reply = {
        channel: { $ref: pointer('channels', ch) },
        messages: branches.map((b, i) => {
          if (b.$ref === ackErrorRef.$ref) return use(ch, 'ackError');
          return use(ch, `send.${ch}.ack${branches.length > 2 ? i : ''}`, { name: `${e.name} ack`, title: `${e.name} acknowledgement`, payload: b });
        }),
      };
    }
    operations[`send.${ch}`] = op;
  }
  for (const e of serverEvents) {
    const ch = id(e.name);
    channelOf(e.name, e.doc, 'Server → client');
    const received = use(ch, `receive.${ch}`, { name: e.name, title: `${e.name} (server → client)`, ...(e.doc ? { summary: e.doc } : {}), payload: e.payload });
    operations[`receive.${ch}`] = { action: 'receive', channel: { $ref: pointer('channels', ch) }, messages: [received], ...(e.doc ? { summary: e.doc } : {}) };
  }
  // An event name used both ways (typing) is one channel; its description says which is which.
  for (const [ch, parts] of docs) channels[ch].description = parts.length === 1 ? parts[0].replace(/^[^:]*: /, '') : parts.join(' ');
  // The error ack is one message, listed in every channel of a client event.
  messages.ackError = {
    name: 'ack error',
    title: 'Error acknowledgement',
    summary: 'Any client event can be answered with this instead of its success shape.',
    payload: ackErrorRef,
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'chat realtime API',
      version: '0.1.0',
      description: [
        'Realtime half of the wire contract (the REST half is docs/openapi.json), generated from the typed Socket.IO event map in backend/src/contract/events.ts by `npm run asyncapi`.',
        'Each channel is one Socket.IO event name. Client events are sent with an acknowledgement callback, and the ack is the reply: `{ok: true, ...}` or an AckError.',
        'Payloads of client events are the zod schemas the server parses them with; they are authoritative (limits, formats), and the generator refuses to run when they and events.ts disagree on the fields. Server payloads are the TypeScript types; clients should ignore fields they do not know.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    servers: {
      chat: {
        host: 'localhost:3000',
        protocol: 'ws',
        pathname: '/socket.io',
        title: 'chat (the chat process, or the all-in-one)',
        description:
          'Socket.IO 4 (Engine.IO protocol 4) at path /socket.io, WebSocket transport only (no long-polling; no sticky sessions needed), on the same origin as the REST API (wss behind TLS). Frames over 64 KiB close the connection.',
        security: [{ $ref: '#/components/securitySchemes/accessToken' }],
      },
    },
    channels,
    operations,
    components: {
      schemas: Object.fromEntries([...conv.components.entries()].sort(([a], [b]) => a.localeCompare(b))),
      messages,
      securitySchemes: {
        accessToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "The access token from /api/auth/register, login or refresh, sent in the Socket.IO handshake's auth object (`io({ path: '/socket.io', transports: ['websocket'], auth: { token } })`), not in an HTTP header. A missing, invalid or expired token, or one of an ended session, fails the connection with `connect_error` 'unauthorized' ('unavailable' when it could not be checked). When the token expires the server sends auth:expired; auth:refresh with a new token keeps the connection.",
        },
      },
    },
  };
}

// The search scenario: a fresh database seeded straight through SQL with many messages in many
// rooms (bodies from a Zipf-distributed vocabulary, so words range from in most messages to in
// a handful), one user in a tenth of the rooms, then the real process's GET /api/chat/search
// timed for a mix of queries, every answer checked against a SQL ground truth; and the insert
// cost of the search indexes (the app's send SQL with and without them).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { newHist } from './hist.mjs';
import { freshDatabase, mint } from './seed.mjs';

/** Deterministic pseudo-random numbers (mulberry32), so every run searches the same history. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` distinct lowercase words made of syllables; rank 0 is the most frequent. */
function vocabulary(size, rnd) {
  const syl = ['ka', 'lo', 'mi', 're', 'su', 'ta', 'ne', 'po', 'vi', 'da', 'gu', 'shi', 'zo', 'fe', 'ri', 'an', 'el', 'or', 'ul', 'ber'];
  const words = new Set();
  while (words.size < size) {
    const n = 2 + Math.floor(rnd() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += syl[Math.floor(rnd() * syl.length)];
    words.add(w);
  }
  return [...words];
}

/** Zipf (s = 1) sampling by inverse CDF over ranks. */
function zipf(size, rnd) {
  const cdf = new Float64Array(size);
  let sum = 0;
  for (let r = 0; r < size; r++) cdf[r] = sum += 1 / (r + 1);
  return () => {
    const x = rnd() * sum;
    let lo = 0;
    let hi = size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * P: { messages, rooms, roomSize, myRooms, runs, requests, inserts, insertConns, vocab }.
 * startChat(dbUrl) starts the real process on that database and returns { url, stop }.
 */
export async function runSearch({ adminUrl, key, P, startChat, log, problems }) {
  const t0 = performance.now();
  const dbUrl = await freshDatabase(adminUrl, 'chat_bench_search');
  const db = new pg.Pool({ connectionString: dbUrl, max: P.insertConns + 2 });
  const rnd = prng(16);
  const words = vocabulary(P.vocab, rnd);
  const pick = zipf(P.vocab, rnd);
  const body = () => {
    const n = 4 + Math.floor(rnd() * 12);
    const out = [];
    for (let i = 0; i < n; i++) out.push(words[pick()]);
    return out.join(' ');
  };

  // ---- seed: users, rooms of roomSize, the searcher in myRooms of them ----------------------
  const users = Array.from({ length: P.rooms * P.roomSize }, (_, i) => ({ id: randomUUID(), username: `se${i}` }));
  const me = { id: randomUUID(), username: 'searcher' };
  // A busy member of twice my rooms' count (half of them mine): sends 5% of their messages.
  const poster = { id: randomUUID(), username: 'poster' };
  await db.query(`INSERT INTO users.users (id, username, display_name) SELECT * FROM unnest($1::uuid[], $2::text[], $2::text[])`, [
    [...users, me, poster].map((u) => u.id),
    [...users, me, poster].map((u) => u.username),
  ]);
  const rooms = Array.from({ length: P.rooms }, (_, i) => ({
    id: randomUUID(),
    name: `search-room-${i}`,
    members: users.slice(i * P.roomSize, (i + 1) * P.roomSize),
  }));
  await db.query(`INSERT INTO chat.rooms (id, name, kind, created_by) SELECT r, n, 'public', c FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS t(r, n, c)`, [
    rooms.map((r) => r.id),
    rooms.map((r) => r.name),
    rooms.map((r) => r.members[0].id),
  ]);
  const pairs = rooms.flatMap((r, i) => [
    ...r.members.map((u) => [r.id, u.id]),
    ...(i < P.myRooms ? [[r.id, me.id]] : []),
    ...(i < 2 * P.myRooms ? [[r.id, poster.id]] : []),
  ]);
  await db.query(`INSERT INTO chat.members (room_id, user_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])`, [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);

  // Messages: loaded without the search indexes, which are then built once (as the migration
  // would on an existing history); 1% deleted as the app deletes (empty body, deleted = true).
  const seedStart = performance.now();
  await dropSearch(db);
  const seqs = new Array(P.rooms).fill(0);
  const start = Date.now() - P.messages * 1000;
  const CHUNK = 10_000;
  for (let i = 0; i < P.messages; i += CHUNK) {
    const cols = { id: [], room: [], seq: [], sender: [], name: [], body: [], client: [], at: [], deleted: [] };
    for (let j = i; j < Math.min(i + CHUNK, P.messages); j++) {
      const r = Math.floor(rnd() * P.rooms);
      const sender = r < 2 * P.myRooms && rnd() < 0.05 ? poster : rooms[r].members[Math.floor(rnd() * P.roomSize)];
      // 1% deleted; 10% of the poster's, so from: queries (the only ones a deleted, empty body could match) meet many.
      const deleted = rnd() < (sender === poster ? 0.1 : 0.01);
      cols.id.push(randomUUID());
      cols.room.push(rooms[r].id);
      cols.seq.push(++seqs[r]);
      cols.sender.push(sender.id);
      cols.name.push(sender.username);
      cols.body.push(deleted ? '' : body());
      cols.client.push(`c${j}`);
      // One a second, with some sharing a timestamp (as a batch of sends does).
      cols.at.push(new Date(start + j * 1000 - (j % 7 === 0 ? 1000 : 0)).toISOString());
      cols.deleted.push(deleted);
    }
    await db.query(
      `INSERT INTO chat.messages (id, room_id, seq, change, sender_id, sender_name, body, client_id, created_at, deleted)
       SELECT id, room, seq, seq, sender, name, body, client, at, deleted
         FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::bool[])
           AS t(id, room, seq, sender, name, body, client, at, deleted)`,
      [cols.id, cols.room, cols.seq, cols.sender, cols.name, cols.body, cols.client, cols.at, cols.deleted],
    );
    if (i > 0 && i % 200_000 === 0) log(`  search: ${i} messages loaded`);
  }
  await db.query(`UPDATE chat.rooms r SET last_seq = x.n, last_change = x.n FROM unnest($1::uuid[], $2::bigint[]) AS x(id, n) WHERE r.id = x.id`, [
    rooms.map((r) => r.id),
    seqs,
  ]);
  const loadMs = performance.now() - seedStart;
  const indexStart = performance.now();
  await createIndexes(db);
  await db.query(`VACUUM ANALYZE chat.messages`);
  await db.query(`ANALYZE chat.members`);
  const indexMs = performance.now() - indexStart;
  const { rows: sizeRows } = await db.query(
    `SELECT pg_relation_size('chat.messages') AS t, pg_relation_size('chat.messages_words') AS g, pg_relation_size('chat.messages_created') AS c`,
  );
  const seed = {
    messages: P.messages,
    rooms: P.rooms,
    myRooms: P.myRooms,
    loadS: Math.round(loadMs / 100) / 10,
    indexS: Math.round(indexMs / 100) / 10,
    tableMB: Math.round(sizeRows[0].t / 2 ** 20),
    ginMB: Math.round(sizeRows[0].g / 2 ** 20),
    createdMB: Math.round(sizeRows[0].c / 2 ** 20),
  };
  log(`  search: seeded ${P.messages} messages in ${seed.loadS} s, indexes built in ${seed.indexS} s (GIN ${seed.ginMB} MB, table ${seed.tableMB} MB)`);

  // ---- the queries and their ground truth --------------------------------------------------
  const queries = [
    { name: 'common word', q: words[0], sql: `string_to_array(m.body, ' ') @> ARRAY[$2]`, args: [words[0]] },
    { name: 'mid word', q: words[60], sql: `string_to_array(m.body, ' ') @> ARRAY[$2]`, args: [words[60]] },
    { name: 'rare word', q: words[P.vocab - 50], sql: `string_to_array(m.body, ' ') @> ARRAY[$2]`, args: [words[P.vocab - 50]] },
    { name: 'two words', q: `${words[3]} ${words[30]}`, sql: `string_to_array(m.body, ' ') @> ARRAY[$2, $3]`, args: [words[3], words[30]] },
    { name: 'phrase', q: `"${words[1]} ${words[2]}"`, sql: `(' ' || m.body || ' ') LIKE $2`, args: [`% ${words[1]} ${words[2]} %`] },
    {
      name: 'excluded',
      q: `${words[20]} -${words[0]}`,
      sql: `string_to_array(m.body, ' ') @> ARRAY[$2] AND NOT string_to_array(m.body, ' ') @> ARRAY[$3]`,
      args: [words[20], words[0]],
    },
    { name: 'from: only', q: `from:${poster.username}`, sql: `m.sender_id = $2`, args: [poster.id] },
    {
      name: 'from: + word',
      q: `from:${poster.username} ${words[5]}`,
      sql: `m.sender_id = $2 AND string_to_array(m.body, ' ') @> ARRAY[$3]`,
      args: [poster.id, words[5]],
    },
  ];
  for (const q of queries) {
    const { rows } = await db.query(
      `SELECT m.id FROM chat.messages m JOIN chat.members x ON x.room_id = m.room_id AND x.user_id = $1
        WHERE NOT m.deleted AND ${q.sql} ORDER BY m.created_at DESC, m.seq DESC, m.id DESC`,
      [me.id, ...q.args],
    );
    q.truth = rows.map((r) => r.id);
  }

  const server = await startChat(dbUrl);
  const token = mint(key, me, 24 * 3600);
  const get = async (params) => {
    const res = await fetch(`${server.url}/api/chat/search?${new URLSearchParams(params)}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`search ${JSON.stringify(params)}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  const out = { seed, vocab: P.vocab, runs: P.runs, requests: P.requests, queries: [], insert: null };
  try {
    // Correctness: the first page exactly; and every page when there are at most 5000 hits.
    for (const q of queries) {
      const first = await get({ q: q.q, limit: '20' });
      const ids = first.results.map((r) => r.message.id);
      if (JSON.stringify(ids) !== JSON.stringify(q.truth.slice(0, 20))) problems.push(`search "${q.name}": first page differs from SQL ground truth`);
      if (q.truth.length <= 5000) {
        const all = [...ids];
        for (let next = first.next; next;) {
          const page = await get({ q: q.q, limit: '50', before: next });
          all.push(...page.results.map((r) => r.message.id));
          next = page.next;
        }
        if (JSON.stringify(all) !== JSON.stringify(q.truth)) problems.push(`search "${q.name}": ${all.length} hits over all pages, SQL says ${q.truth.length}`);
      }
      if (q.truth.length === 0) problems.push(`search "${q.name}": the ground truth is empty (a useless query)`);
    }

    // Latency: each query `requests` times in a row (one in flight), `runs` rounds.
    for (const q of queries) {
      const perRun = [];
      for (let run = 0; run < P.runs; run++) {
        const hist = newHist();
        for (let i = 0; i < P.requests; i++) {
          const s = performance.now();
          await get({ q: q.q, limit: '20' });
          hist.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
        }
        const ms = (p) => Math.round(hist.getValueAtPercentile(p) / 10) / 100;
        perRun.push({ p50: ms(50), p95: ms(95), p99: ms(99) });
      }
      const m = (k) => median(perRun.map((r) => r[k]));
      const spread = (k) => [Math.min(...perRun.map((r) => r[k])), Math.max(...perRun.map((r) => r[k]))];
      const entry = {
        name: q.name,
        q: q.q,
        hits: q.truth.length,
        p50: m('p50'),
        p95: m('p95'),
        p99: m('p99'),
        p50Spread: spread('p50'),
        p99Spread: spread('p99'),
      };
      out.queries.push(entry);
      log(
        `  search "${q.name}" (${entry.hits} hits): p50 ${entry.p50} ms, p95 ${entry.p95} ms, p99 ${entry.p99} ms (p99 over runs ${entry.p99Spread.join('–')})`,
      );
    }
  } finally {
    await server.stop();
  }

  // ---- insert cost: the app's one-send transaction, with the search indexes and without ------
  out.insert = await insertCost(db, rooms, body, P, log);
  await db.end();
  out.totalS = Math.round((performance.now() - t0) / 1000);
  return out;
}

/** The words column and its GIN index: the migration's definitions (1735000000000-chat-search.ts). */
async function createWords(db) {
  await db.query(`ALTER TABLE chat.messages ADD COLUMN IF NOT EXISTS words tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED`);
  await db.query(`CREATE INDEX IF NOT EXISTS messages_words ON chat.messages USING gin (words)`);
}

/** Everything the migration adds: the words column and GIN index, and the newest-first index. */
async function createIndexes(db) {
  await createWords(db);
  await db.query(`CREATE INDEX IF NOT EXISTS messages_created ON chat.messages (created_at DESC, seq DESC, id DESC) WHERE NOT deleted`);
}

/** Back to the table before the migration (dropping a column is instant; adding it rewrites the table). */
const dropSearch = (db) => db.query(`DROP INDEX IF EXISTS chat.messages_created; ALTER TABLE chat.messages DROP COLUMN IF EXISTS words`);

/**
 * `inserts` sends over `insertConns` connections, each a transaction like ChatService.sendOne's:
 * bump the room's counters, insert the message. Variants alternate run by run so table growth
 * and caching fall on each alike.
 */
async function insertCost(db, rooms, body, P, log) {
  const variants = {
    none: () => dropSearch(db),
    gin: async () => {
      await db.query(`DROP INDEX IF EXISTS chat.messages_created`);
      await createWords(db);
    },
    both: () => createIndexes(db),
  };
  const rates = { none: [], gin: [], both: [] };
  const batched = { none: [], gin: [], both: [] };
  const senders = rooms.map((r) => r.members[0]);
  /** `total` messages in transactions of `per` (one room each, as a batch of sends commits), `insertConns` at a time; msgs/s. */
  const load = async (total, per) => {
    let next = 0;
    const s = performance.now();
    await Promise.all(
      Array.from({ length: P.insertConns }, async () => {
        const c = await db.connect();
        try {
          while (next < total) {
            const i = next;
            next += per;
            const r = rooms[(i / per) % rooms.length];
            await c.query('BEGIN');
            const { rows } = await c.query(
              `UPDATE chat.rooms SET last_seq = last_seq + $2, last_change = last_change + $2 WHERE id = $1 RETURNING last_seq, last_change`,
              [r.id, per],
            );
            const last = Number(rows[0].last_seq);
            const seqs = Array.from({ length: per }, (_, k) => last - per + 1 + k);
            await c.query(
              `INSERT INTO chat.messages (id, room_id, seq, sender_id, sender_name, body, client_id, mentions, change)
               SELECT id, $2, seq, $3, 'x', b, cid, '{}', seq FROM unnest($1::uuid[], $4::bigint[], $5::text[], $6::text[]) AS t(id, seq, b, cid)`,
              [seqs.map(() => randomUUID()), r.id, senders[(i / per) % rooms.length].id, seqs, seqs.map(() => body()), seqs.map(() => randomUUID())],
            );
            await c.query('COMMIT');
          }
        } finally {
          c.release();
        }
      }),
    );
    return Math.round(total / ((performance.now() - s) / 1000));
  };
  for (let run = 0; run < P.runs; run++)
    for (const [name, prepare] of Object.entries(variants)) {
      await prepare();
      await db.query(`CHECKPOINT`);
      await sleep(200);
      rates[name].push(await load(P.inserts, 1));
      // 64 a transaction (SEND_BATCH_MAX): the commit is shared, so the per-row work shows.
      batched[name].push(await load(P.inserts * 4, 64));
    }
  await createIndexes(db);
  const summarise = (r) => {
    const res = {};
    for (const [name, xs] of Object.entries(r)) res[name] = { median: median(xs), runs: xs };
    res.ratioGin = Math.round((res.gin.median / res.none.median) * 100) / 100;
    res.ratioBoth = Math.round((res.both.median / res.none.median) * 100) / 100;
    return res;
  };
  const res = summarise(rates);
  const res64 = summarise(batched);
  for (const [what, r] of [
    ['one a transaction', res],
    ['64 a transaction', res64],
  ])
    log(
      `  search inserts/s, ${what}: no words column or index ${r.none.median}, words + GIN ${r.gin.median} (×${r.ratioGin}), + newest-first ${r.both.median} (×${r.ratioBoth})`,
    );
  return { inserts: P.inserts, connections: P.insertConns, ...res, batched: { inserts: P.inserts * 4, ...res64 } };
}

/** The Search section of docs/benchmarks.md. */
export function searchMarkdown(r, machine, command) {
  /** msgs/s with no search index, the words column + GIN, and both indexes (as shipped). */
  const insertTable = (x) => [
    '| indexes | msgs/s | runs | vs none |',
    '| --- | ---: | --- | ---: |',
    `| none (before the migration) | ${x.none.median} | ${x.none.runs.join(', ')} | 1 |`,
    `| words column + GIN | ${x.gin.median} | ${x.gin.runs.join(', ')} | ×${x.ratioGin} |`,
    `| words + GIN + newest-first (shipped) | ${x.both.median} | ${x.both.runs.join(', ')} | ×${x.ratioBoth} |`,
  ];
  const lines = [
    `Command: \`${command}\`. Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, PostgreSQL ${machine.postgres}, Node ${machine.node}.`,
    '',
    `History: ${r.seed.messages.toLocaleString('en')} messages in ${r.seed.rooms.toLocaleString('en')} rooms (1% deleted, 10% of the poster's), bodies of 4–15 words drawn Zipf-wise from ${r.vocab.toLocaleString('en')} words; the searcher is in ${r.seed.myRooms} rooms. ` +
      `Loading took ${r.seed.loadS} s without the words column and search indexes, adding them ${r.seed.indexS} s (words column + GIN index: GIN ${r.seed.ginMB} MB, newest-first index ${r.seed.createdMB} MB, table ${r.seed.tableMB} MB).`,
    '',
    `Latency of GET /api/chat/search (first page, limit 20) through the real process, one request in flight, ${r.requests} requests per query per run, median of ${r.runs} runs (spread: lowest–highest run):`,
    '',
    '| query | q | hits in my rooms | p50 ms | p95 ms | p99 ms | p50 spread | p99 spread |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | --- |',
    ...r.queries.map(
      (q) =>
        `| ${q.name} | \`${q.q}\` | ${q.hits.toLocaleString('en')} | ${q.p50} | ${q.p95} | ${q.p99} | ${q.p50Spread.join('–')} | ${q.p99Spread.join('–')} |`,
    ),
    '',
    `Insert cost: ${r.insert.inserts.toLocaleString('en')} sends as the app's one-send transaction (bump the room, insert the message) over ${r.insert.connections} connections, median of ${r.runs} runs:`,
    '',
    ...insertTable(r.insert),
    '',
    `The same with 64 messages a transaction (as \`SEND_BATCH_MAX\` batches commit; ${r.insert.batched.inserts.toLocaleString('en')} messages a run), where the commit is shared and the per-row work shows:`,
    '',
    ...insertTable(r.insert.batched),
  ];
  return lines.join('\n');
}

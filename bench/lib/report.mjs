// The results table (Markdown) and the latency plot (SVG) from one run's results.
const fmt = (n) => (n === undefined || n === null || Number.isNaN(n) ? '—' : typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
const ratio = (a, b) => (a == null || !b ? undefined : Math.round((a / b) * 100) / 100);

export function report(r, systems) {
  const s = r.systems;
  const b1 = s.b1 ?? {};
  const chat = s.chat ?? {};
  const before = s.before ?? {};
  const rows = [];
  const row = (figure, ours, base, baseName, target, met) =>
    rows.push({ figure, ours, base, baseName, ratio: typeof ours === 'number' && typeof base === 'number' ? ratio(ours, base) : undefined, target, met });
  const sat = (x) => x?.best?.deliveredPerSec;
  const when = (cond, fn) => (cond ? fn() : undefined);

  for (const [key, name, target] of [
    ['fanout', `Fan-out 1 → ${r.settings.fan}`, 0.8],
    ['small', `Rooms of 10 (${r.settings.rooms} rooms)`, 0.5],
  ]) {
    when(b1[key], () => {
      const [ours, base] = [sat(chat[key]), sat(b1[key])];
      row(`${name}: deliveries/s at p99 ≤ ${r.settings.p99LimitMs} ms`, ours, base, 'B1', `≥ ${target}× B1`, ratio(ours, base) >= target);
      row('  … same, batching off (before)', sat(before[key]), base, 'B1', '', undefined);
    });
  }
  for (const [key, name] of [
    ['fanoutHalf', 'Fan-out'],
    ['smallHalf', 'Rooms of 10'],
  ]) {
    when(b1[key] && chat[key], () => {
      const limit = Math.round((1.5 * b1[key].latency.p99 + 10) * 10) / 10;
      row(`${name} at half B1's rate (${fmt(b1[key].rate)} msg/s): p50 ms`, chat[key].latency.p50, b1[key].latency.p50, 'B1', '', undefined);
      row(
        `${name} at half B1's rate: p99 ms`,
        chat[key].latency.p99,
        b1[key].latency.p99,
        'B1',
        `≤ 1.5× B1 + 10 ms = ${limit}`,
        chat[key].latency.p99 <= limit,
      );
      if (before[key]) row(`  … p99 ms, batching off (before)`, before[key].latency.p99, b1[key].latency.p99, 'B1', '', undefined);
    });
  }
  when(r.b3 && chat.persist, () => {
    row(
      `Persisted messages/s (acknowledged, closed loop, ${r.settings.persist} senders)`,
      chat.persist.ackedPerSec,
      r.b3.multi.perSec,
      `B3 ${r.settings.batch}-row inserts`,
      '≥ 0.4× B3 multi-row',
      ratio(chat.persist.ackedPerSec, r.b3.multi.perSec) >= 0.4,
    );
    if (before.persist)
      row('  … same, batching off (before)', before.persist.ackedPerSec, r.b3.multi.perSec, `B3 ${r.settings.batch}-row inserts`, '', undefined);
    row('  … against B3 single-row inserts', chat.persist.ackedPerSec, r.b3.single.perSec, 'B3 single-row', '', undefined);
    if (b1.persist) row('  … against B1 acknowledging without storing', chat.persist.ackedPerSec, b1.persist.ackedPerSec, 'B1', '', undefined);
  });
  when(b1.replicas, () =>
    row(
      `Two replicas on Redis, fan-out 1 → ${r.settings.fan}: deliveries/s at p99 ≤ ${r.settings.p99LimitMs} ms`,
      sat(chat.replicas),
      sat(b1.replicas),
      'B1r',
      '',
      undefined,
    ),
  );
  when(b1.idle, () =>
    row(
      `Idle connections per GB of server RSS (${fmt(b1.idle.connections)} connected)`,
      chat.idle?.perGB,
      b1.idle.perGB,
      'B1',
      '≥ 0.5× B1',
      ratio(chat.idle?.perGB, b1.idle.perGB) >= 0.5,
    ),
  );
  when(b1.storm, () => {
    row(
      `Reconnect storm of ${fmt(b1.storm.clients)}: ms until all back (chat: and synced)`,
      chat.storm?.ms,
      b1.storm.ms,
      'B1 (no sync)',
      'lower is better',
      undefined,
    );
    row('  … p99 ms per client', chat.storm?.perClient.p99, b1.storm.perClient.p99, 'B1 (no sync)', '', undefined);
  });
  when(chat.logins && r.argon, () => {
    row(
      `Logins/s (${chat.logins.logins} logins, ${chat.logins.concurrency} at a time)`,
      chat.logins.perSec,
      r.argon.perSec,
      'argon2id verify alone',
      '',
      undefined,
    );
    row('  … event-loop lag p99 ms during the burst (idle)', `${chat.logins.lagP99Ms} (${chat.logins.idleLagP99Ms})`, undefined, '', '', undefined);
  });
  for (const [backend, u] of Object.entries(chat.uploads ?? {})) {
    row(
      `Uploads on ${backend}: MB/s up (${u.count} × ${u.sizeMB} MB, ${u.concurrency} at a time; down ${u.downloadMBps} MB/s)`,
      u.uploadMBps,
      undefined,
      '',
      '',
      undefined,
    );
    row(
      // Streamed: an upload in flight holds a chunk or an S3 part, never its file (quick mode files are too small to tell).
      `  … heap (RSS) growth per upload in flight, MB`,
      `${u.heapPerUploadMB} (${u.rssPerUploadMB})`,
      undefined,
      '',
      r.quick ? '' : `heap < ${u.sizeMB / 2} MB`,
      r.quick ? undefined : u.heapPerUploadMB < u.sizeMB / 2,
    );
  }
  when(chat.startup && b1.startup, () => row('Process start to ready, ms (median)', chat.startup.medianMs, b1.startup.medianMs, 'B1', '', undefined));

  const scen = Object.values(s).flatMap((x) =>
    [x.fanout?.curve, x.small?.curve, x.replicas?.curve, [x.fanoutHalf, x.smallHalf, x.persist]].flat().filter(Boolean).flat(),
  );
  const lost = scen.reduce((a, x) => a + (x.lost ?? 0), 0) + (chat.storm?.lost ?? 0);
  const dup = scen.reduce((a, x) => a + (x.dup ?? 0), 0) + (chat.storm?.extra ?? 0);
  const checked = scen.reduce((a, x) => a + (x.expected ?? 0), 0);
  row(
    `Lost / duplicated deliveries of acknowledged messages (of ${fmt(checked)} checked), every scenario`,
    `${lost} / ${dup}`,
    undefined,
    '',
    '0 / 0',
    lost === 0 && dup === 0,
  );

  const m = r.machine;
  const lines = [
    `Run ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC${r.quick ? ' (quick mode: tiny sizes, no figures to quote)' : ''} — ${m.cores} × ${m.cpu}, ${m.memoryGB} GB, Linux ${m.kernel}, Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}. Load generators run on the same cores.`,
    '',
    '| Figure | chat | baseline | ratio | target | met |',
    '|---|--:|--:|--:|---|---|',
    ...rows.map(
      (x) =>
        `| ${x.figure.replace(/^ {2}/, '&nbsp;&nbsp;')} | ${fmt(x.ours)} | ${x.base === undefined ? '' : `${fmt(x.base)} (${x.baseName})`} | ${x.ratio === undefined ? '' : `${x.ratio}×`} | ${x.target} | ${x.met === undefined ? '' : x.met ? 'yes' : '**no**'} |`,
    ),
    '',
    r.problems.length ? `Problems: ${r.problems.join('; ')}` : 'No errors, losses or duplicates in any scenario.',
    '',
  ];
  return { markdown: lines.join('\n'), svg: plot(r, systems) };
}

const COLORS = { b1: '#888888', before: '#e07b39', chat: '#2a6fdb' };

/** p99 delivery latency against achieved deliveries/s, one panel per scenario. */
function plot(r, systems) {
  const panels = [
    ['fanout', `Fan-out 1 → ${r.settings.fan}, one process`],
    ['small', 'Rooms of 10, one process'],
    ['replicas', `Fan-out 1 → ${r.settings.fan}, two replicas on Redis`],
  ];
  const W = 360,
    H = 260,
    M = { l: 56, r: 12, t: 28, b: 44 };
  const parts = [];
  panels.forEach(([key, title], i) => {
    const series = Object.entries(r.systems)
      .filter(([, v]) => v[key]?.curve?.length)
      .map(([name, v]) => ({ name, points: [...v[key].curve].sort((a, b) => a.deliveredPerSec - b.deliveredPerSec) }));
    const x0 = i * W;
    const maxX = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.deliveredPerSec))) * 1.05;
    const ly = (ms) => Math.log10(Math.min(Math.max(ms, 0.5), 20_000));
    const [lo, hi] = [ly(0.5), ly(20_000)];
    const px = (v) => x0 + M.l + (v / maxX) * (W - M.l - M.r);
    const py = (ms) => M.t + (1 - (ly(ms) - lo) / (hi - lo)) * (H - M.t - M.b);
    parts.push(`<text x="${x0 + W / 2}" y="16" text-anchor="middle" font-weight="bold">${title}</text>`);
    parts.push(`<rect x="${x0 + M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#ccc"/>`);
    for (const ms of [1, 10, 100, 1000, 10000])
      parts.push(`<text x="${x0 + M.l - 4}" y="${py(ms) + 4}" text-anchor="end" font-size="10">${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`}</text>`);
    parts.push(
      `<line x1="${x0 + M.l}" x2="${x0 + W - M.r}" y1="${py(250)}" y2="${py(250)}" stroke="#c00" stroke-dasharray="4 3"/><text x="${x0 + W - M.r - 2}" y="${py(250) - 3}" text-anchor="end" font-size="9" fill="#c00">250 ms</text>`,
    );
    for (let k = 0; k <= 4; k++) {
      const v = (maxX / 4) * k;
      parts.push(`<text x="${px(v)}" y="${H - M.b + 14}" text-anchor="middle" font-size="10">${v >= 1000 ? `${Math.round(v / 1000)}k` : Math.round(v)}</text>`);
    }
    parts.push(
      `<text x="${x0 + M.l + (W - M.l - M.r) / 2}" y="${H - 8}" text-anchor="middle" font-size="10">deliveries/s achieved (p99 latency, log scale)</text>`,
    );
    series.forEach((s, j) => {
      const color = COLORS[s.name] ?? '#000';
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.points.map((p) => `${px(p.deliveredPerSec).toFixed(1)},${py(p.latency.p99).toFixed(1)}`).join(' ')}"/>`,
      );
      for (const p of s.points) parts.push(`<circle cx="${px(p.deliveredPerSec).toFixed(1)}" cy="${py(p.latency.p99).toFixed(1)}" r="3" fill="${color}"/>`);
      const label = key === 'replicas' ? (s.name === 'b1' ? 'B1r' : 'chat ×2') : (systems[s.name]?.label ?? s.name);
      parts.push(`<text x="${x0 + M.l + 6}" y="${M.t + 14 + j * 13}" font-size="10" fill="${color}">${label}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}

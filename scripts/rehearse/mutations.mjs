#!/usr/bin/env node
// Proves the rehearsal fails where a cluster would: renders the kind profile (NetworkPolicies
// on) once, breaks a copy of it in one way per mutation, rehearses each copy, and requires a
// failure for the expected reason (the output must match). A mutation the rehearsal lets
// through fails this script. MUTATION_JOBS rehearsals run side by side, each on its own
// network and subnet; the default is 1: two at once on 2 cores failed PostgreSQL's and Valkey's
// probes, which is a failure for the wrong reason.
//   node scripts/rehearse/mutations.mjs [--short] [name ...]
// --short (CI) leaves out the mutations marked slow whose render a static check also refuses.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { render, root } from './render.mjs';

const rendered = render({ profile: 'kind' });
const fresh = () =>
  parseAllDocuments(rendered)
    .map((d) => d.toJS())
    .filter((o) => o && o.kind);
const find = (objs, kind, name) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`mutation target ${kind}/${name} not rendered`);
  return o;
};
const container = (objs, deploy) => find(objs, 'Deployment', deploy).spec.template.spec.containers[0];

const MUTATIONS = [
  // The slowest first, so the side-by-side runs end together.
  {
    name: 'auth-without-redis',
    what: 'auth without REDIS_URL (before this chart gave it to one-pod services): its logouts stay in its own memory',
    // A whole install and helm test (about 130 s); scripts/chart/validate.mjs refuses the same
    // render statically, with its own mutation in scripts/chart/ci.sh.
    slow: true,
    expect: /a socket of the ended session still connected/,
    apply(objs) {
      const c = container(objs, 'chat-auth');
      c.env = c.env.filter((e) => !e.name.startsWith('REDIS_'));
    },
  },
  {
    name: 'upstream-without-cluster-domain',
    what: "the gateway's auth upstream as <svc>.<ns>.svc (no cluster domain)",
    expect: /chat-auth\.default\.svc could not be resolved \(3: Host not found\)/,
    apply(objs) {
      const env = container(objs, 'chat-frontend').env.find((e) => e.name === 'AUTH_UPSTREAM');
      env.value = env.value.replace('.svc.cluster.local', '.svc');
    },
  },
  {
    name: 'networkpolicy-drops-dns',
    what: "the chat pods' NetworkPolicy without its DNS egress rule",
    expect: /networkpolicy-egress dropped \d+ packets/,
    apply(objs) {
      const np = find(objs, 'NetworkPolicy', 'chat-chat');
      np.spec.egress = np.spec.egress.filter((r) => !(r.ports ?? []).some((p) => p.port === 53));
    },
  },
  {
    name: 'service-selects-no-pod',
    what: "the auth Service's selector matching no pod",
    expect: /Service chat-auth: 0 endpoints/,
    apply(objs) {
      find(objs, 'Service', 'chat-auth').spec.selector['app.kubernetes.io/component'] = 'authentication';
    },
  },
  {
    name: 'read-only-root-writes-outside-volumes',
    what: 'the gateway without its /tmp volume (nginx writes its config there; the root filesystem is read-only)',
    expect: /Read-only file system/,
    apply(objs) {
      const c = container(objs, 'chat-frontend');
      c.volumeMounts = c.volumeMounts.filter((m) => m.mountPath !== '/tmp');
    },
  },
  {
    name: 'gateway-upload-limit-below-chat',
    what: "the gateway's upload limit (UPLOAD_MAX_BYTES) at 1 MiB while chat takes global.uploads.maxBytes: files chat would take are cut at the gateway",
    expect: /upload at the limit: expected 201, got 413/,
    apply(objs) {
      container(objs, 'chat-frontend').env.find((e) => e.name === 'UPLOAD_MAX_BYTES').value = String(1 << 20);
    },
  },
  {
    name: 'secret-key-missing',
    what: 'the database Secret without the key the pods read the password from',
    expect: /CreateContainerConfigError: couldn't find key password in Secret default\/chat-database/,
    apply(objs) {
      const s = find(objs, 'Secret', 'chat-database');
      const data = s.data ?? s.stringData;
      data.passw0rd = data.password;
      delete data.password;
    },
  },
];

const short = process.argv.includes('--short');
const only = process.argv.slice(2).filter((a) => a !== '--short');
for (const m of MUTATIONS.filter((x) => short && x.slow && !only.includes(x.name))) console.log(`skipped in --short mode: ${m.name} (${m.what})`);
const jobs = Math.max(1, Number(process.env.MUTATION_JOBS ?? 1));
const work = mkdtempSync(join(tmpdir(), 'chat-mutations-'));
let passed = 0;
let failed = 0;

function rehearse(file, subnet) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'scripts/rehearse/rehearse.mjs'), '--manifests', file, '--timeout', '75'], {
      env: { ...process.env, REHEARSE_SUBNET: String(subnet) },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (status) => resolve({ status, out }));
  });
}

async function one(m, slot) {
  const objs = fresh();
  m.apply(objs);
  const file = join(work, `${m.name}.yaml`);
  writeFileSync(file, objs.map((o) => stringify(o)).join('---\n'));
  const t = Date.now();
  // A subnet per slot: rehearsals side by side never share one.
  const { status, out } = await rehearse(file, 240 + slot);
  const secs = ((Date.now() - t) / 1000).toFixed(0);
  const caught = status !== 0 && m.expect.test(out);
  if (caught) {
    passed += 1;
    console.log(`PASS mutation ${m.name}: the rehearsal failed as a cluster would (${secs} s): ${out.match(m.expect)[0]}`);
  } else {
    failed += 1;
    console.log(`FAIL mutation ${m.name} (${m.what}): ${status === 0 ? 'the rehearsal PASSED' : `it failed, but not with ${m.expect}`} (${secs} s)`);
    console.log(out.split('\n').slice(-40).join('\n').replace(/^/gm, '    '));
  }
}

const queue = MUTATIONS.filter((x) => (only.length ? only.includes(x.name) : !(short && x.slow)));
await Promise.all(
  Array.from({ length: Math.min(jobs, queue.length) }, async (_, slot) => {
    for (let m = queue.shift(); m; m = queue.shift()) await one(m, slot);
  }),
);
rmSync(work, { recursive: true, force: true });
console.log(`mutations: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

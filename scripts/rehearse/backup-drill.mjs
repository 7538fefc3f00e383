// `--backup-drill`: the restore procedure of docs/operations.md, run against the rehearsal's
// cluster. History through the API, a Job from the backup CronJob (as `kubectl create job
// --from=cronjob/...`), the database pod and its volume deleted, the StatefulSet's empty
// replacement, the restore Job (the same Job with RESTORE=latest, as the docs' `kubectl set
// env`), migrations and the Deployments back (`helm upgrade`); then rows and checksums
// compared, and the old users read the old history through the API.
// `--backup-drill-break stale` takes the backup before the history is written (the restore
// must then come up short and FAIL); `no-egress` removes the backup pods' egress to PostgreSQL.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './cluster.mjs';

const component = (o) => o.spec?.template?.metadata?.labels?.['app.kubernetes.io/component'] ?? o.metadata?.labels?.['app.kubernetes.io/component'];

/** The rendered objects with the deliberate break applied (before install). */
export function breakBackup(objects, mode) {
  if (mode !== 'no-egress') return;
  const np = objects.find((o) => o.kind === 'NetworkPolicy' && component(o) === 'postgresql-backup');
  if (!np) throw new Error('--backup-drill-break no-egress: no backup NetworkPolicy rendered');
  np.spec.egress = np.spec.egress.filter((r) => !(r.ports ?? []).some((p) => p.port === 5432));
}

function node(script, args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => resolve({ code, out: out.trim() }));
  });
}

// Rows of every table the services own, and a checksum of each table's rows in key order.
const TABLES = ['users.users', 'auth.credentials', 'chat.rooms', 'chat.members', 'chat.messages', 'chat.reactions'];
const SNAPSHOT = TABLES.map((t) => `SELECT '${t}', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM ${t} x`).join(' UNION ALL ');

export async function backupDrill({ cluster, objects, workloads, runJob, runHooks, deploymentPod, replicasOf, statefulSetPods, deadline, log, root, brk }) {
  const cron = objects.find((o) => o.kind === 'CronJob' && component(o) === 'postgresql-backup');
  if (!cron) throw new Error('--backup-drill: no backup CronJob rendered (postgresql.backup.enabled=true)');
  const cj = cron.metadata.name;
  const jobFrom = (name, env = []) => {
    const spec = structuredClone(cron.spec.jobTemplate.spec);
    for (const c of spec.template.spec.containers) c.env = [...(c.env ?? []), ...env];
    return { kind: 'Job', metadata: { name, labels: cron.spec.jobTemplate.metadata?.labels ?? {} }, spec };
  };
  const pg = workloads.find((w) => w.owner.kind === 'StatefulSet' && component(w.owner) === 'postgresql');
  const psql = async (sql) => {
    const pod = pg.pods[0];
    const c = pod.containers.get('postgresql');
    const user = pod.spec.containers[0].env.find((e) => e.name === 'POSTGRES_USER').value;
    const db = pod.spec.containers[0].env.find((e) => e.name === 'POSTGRES_DB').value;
    const r = await sh('podman', ['exec', c.name, 'psql', '-h', '/var/run/postgresql', '-U', user, '-d', db, '-v', 'ON_ERROR_STOP=1', '-AtF', ' ', '-c', sql]);
    if (r.code !== 0) throw new Error(`psql: ${r.out.trim()}`);
    return r.out.trim();
  };
  const snapshot = async () =>
    Object.fromEntries(
      (await psql(SNAPSHOT))
        .split('\n')
        .map((l) => l.split(' '))
        .map(([t, n, sum]) => [t, { n: Number(n), sum }]),
    );
  const gw = workloads.find((w) => component(w.owner) === 'frontend').pods[0];
  const base = `http://${gw.ip}:${gw.spec.containers[0].ports[0].containerPort}`;
  const secs = (t) => ((Date.now() - t) / 1000).toFixed(1);
  const times = {};
  let failed = 0;

  log(
    `backup drill: CronJob ${cj} (schedule "${cron.spec.schedule}"): the schedule is not emulated; its Job is created as \`kubectl create job --from=cronjob/${cj}\` does`,
  );
  const backup = async () => {
    const t = Date.now();
    log(`backup drill: kubectl create job ${cj}-drill --from=cronjob/${cj}`);
    const out = await runJob(jobFrom(`${cj}-drill`));
    times.backup = secs(t);
    console.log(out.trim().replace(/^/gm, '    '));
    log(`backup drill: backup Job succeeded in ${times.backup} s`);
  };
  if (brk === 'stale') {
    log('backup drill (broken on purpose): the backup is taken BEFORE the history is written');
    await backup();
  }
  const wrote = await node(join(root, 'scripts/rehearse/history.mjs'), ['write', base, '40']);
  if (wrote.code !== 0) throw new Error(`backup drill: writing history failed: ${wrote.out}`);
  const file = join(cluster.work, 'history.json');
  writeFileSync(file, wrote.out.split('\n').pop());
  const before = await snapshot();
  log(`backup drill: history written through the API; rows: ${TABLES.map((t) => `${t} ${before[t].n}`).join(', ')}`);
  if (brk !== 'stale') await backup();

  // Restore procedure, as docs/operations.md gives it.
  log('backup drill: kubectl scale deployment chat-auth chat-users chat-chat --replicas=0');
  const apps = workloads.filter((w) => w.owner.kind === 'Deployment' && ['auth', 'users', 'chat'].includes(component(w.owner)));
  for (const w of apps) {
    await Promise.all(w.pods.map((p) => cluster.deletePod(p)));
    w.pods = [];
  }
  const old = pg.pods[0];
  const volume = `${cluster.run}-pvc-${old.claims.data}`;
  const tDown = Date.now();
  log(`backup drill: the disk dies: pod ${old.name} deleted and its volume (PVC ${old.claims.data}) with it`);
  await cluster.deletePod(old);
  await sh('podman', ['volume', 'rm', '-f', volume]);
  cluster.volumes.splice(cluster.volumes.indexOf(volume), 1);
  pg.pods = await statefulSetPods(pg.owner);
  await cluster.waitReady(pg.pods, deadline());
  const empty = await psql(`SELECT count(*) FROM pg_tables WHERE schemaname IN ('users', 'auth', 'chat')`);
  log(`backup drill: StatefulSet recreated ${pg.pods[0].name} on a new empty volume in ${secs(tDown)} s (tables of the services: ${empty})`);
  if (empty !== '0') {
    log('backup drill: FAILED: the new database is not empty, the drill proves nothing');
    failed += 1;
  }

  const tRestore = Date.now();
  log(
    `backup drill: kubectl create job chat-restore --from=cronjob/${cj} --dry-run=client -o yaml | kubectl set env --local -f - RESTORE=latest -o yaml | kubectl apply -f -`,
  );
  const out = await runJob(jobFrom('chat-restore', [{ name: 'RESTORE', value: 'latest' }]));
  times.restore = secs(tRestore);
  console.log(out.trim().replace(/^/gm, '    '));
  log(`backup drill: restore Job succeeded in ${times.restore} s`);
  const after = await snapshot();

  log('backup drill: helm upgrade --reuse-values: the migration hook on the restored schema, the Deployments back to their replicas');
  const tUp = Date.now();
  await runHooks('pre-upgrade');
  const pods = [];
  for (const w of apps) for (let i = 0; i < replicasOf(w.owner); i++) pods.push(deploymentPod(w.owner).then((p) => (w.pods.push(p), p)));
  await cluster.waitReady(await Promise.all(pods), deadline());
  await runHooks('post-upgrade');
  times.servicesBack = secs(tUp);
  log(`backup drill: auth, users and chat Ready again in ${times.servicesBack} s`);

  console.log('    table              rows before  rows after  checksum');
  for (const t of TABLES) {
    const same = before[t].n === after[t]?.n && before[t].sum === after[t]?.sum;
    if (!same) failed += 1;
    console.log(`    ${t.padEnd(18)} ${String(before[t].n).padStart(11)}  ${String(after[t]?.n ?? '-').padStart(10)}  ${same ? 'same' : 'DIFFERS'}`);
  }
  const api = await node(join(root, 'scripts/rehearse/history.mjs'), ['check', base, file]);
  console.log(api.out.replace(/^/gm, '    '));
  if (api.code !== 0) failed += 1;
  log(`backup drill: backup ${times.backup} s, restore ${times.restore} s, services back ${times.servicesBack} s; ${failed ? 'FAILED' : 'PASSED'}`);
  return failed;
}

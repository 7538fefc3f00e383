// Starting and stopping the systems under test and the load generator processes.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Polls until `url` answers 200; returns the milliseconds since `since`. */
export async function waitHttp(url, since = performance.now(), timeoutMs = 60_000, child) {
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return performance.now() - since;
    } catch {
      /* not listening yet */
    }
    if (performance.now() - since > timeoutMs) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** A system under test: a node process and the URL that says it is ready. */
export async function startProcess(label, script, env, readyPath) {
  const t0 = performance.now();
  const merged = { ...process.env, ...env };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  // BENCH_NODE_OPTIONS, e.g. --cpu-prof, goes to the systems under test only.
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_OPTIONS?.split(' ').filter(Boolean) ?? []), script], {
    cwd: root,
    env: merged,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${env.PORT}`;
  try {
    const readyMs = await waitHttp(url + readyPath, t0, 60_000, child);
    return { label, child, url, readyMs, pid: child.pid, stop: () => stopProcess(child), stderr: () => stderr };
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${label} did not start: ${e.message}\n${stderr}`, { cause: e });
  }
}

export async function stopProcess(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Load generator processes (gen.mjs) with a promise-based call over IPC. */
export function generators(n) {
  const gens = Array.from({ length: n }, () => {
    const child = fork(new URL('../gen.mjs', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=4096'] });
    const waiting = new Map();
    let next = 0;
    child.on('message', ({ id, result, error }) => {
      const w = waiting.get(id);
      waiting.delete(id);
      if (error) w.reject(new Error(error));
      else w.resolve(result);
    });
    child.on('exit', (code) => {
      for (const w of waiting.values()) w.reject(new Error(`load generator exited with ${code}`));
    });
    const call = (cmd, args) =>
      new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        child.send({ id, cmd, args });
      });
    return { child, call };
  });
  return {
    gens,
    all: (cmd, argsOf) => Promise.all(gens.map((g, i) => g.call(cmd, typeof argsOf === 'function' ? argsOf(i) : argsOf))),
    close: () => gens.forEach((g) => g.child.disconnect()),
  };
}

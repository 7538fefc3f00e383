// A one-node "cluster" on podman for the rehearsal. Each pod is a podman pod (its own network
// namespace, hostname, kubelet-style /etc/resolv.conf and /etc/hosts) on a network without
// podman's DNS; the rehearsal's kube-dns pod answers cluster names; Service addresses are
// virtual IPs translated to ready endpoints by nftables inside each pod's namespace, where its
// NetworkPolicies are enforced too. A kubelet loop runs the probes, restarts crashed or
// unhealthy containers with back-off, and moves pods in and out of their Services' endpoints.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { chmodSync, chownSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { ConfigError, DNS_SERVICE_IP, containerEnv, dnsRecords, dropCounts, podRuleset, quantity, resolvePort, serviceLinks } from './kube.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const EXEC_OVERHEAD_MS = 5000;

/** Runs a command; resolves { code, out } (stdout + stderr). */
export function sh(cmd, args, { timeoutMs = 0, input } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = timeoutMs ? setTimeout(() => p.kill('SIGKILL'), timeoutMs) : undefined;
    p.on('error', (e) => resolve({ code: -1, out: String(e) }));
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
    if (input !== undefined) {
      p.stdin.on('error', () => {}); // the command may exit before reading (a pod that just went)
      p.stdin.end(input);
    }
  });
}
const podman = (...a) => sh('podman', a);
async function shOk(cmd, args) {
  const r = await sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.out.trim()}`);
  return r.out.trim();
}
async function podmanOk(...a) {
  const r = await sh('podman', a);
  if (r.code !== 0) throw new Error(`podman ${a.slice(0, 3).join(' ')}: ${r.out.trim().slice(-500)}`);
  return r.out.trim();
}

/** One DNS question to a server; resolves { rcode, ips }. */
export function dnsQuery(server, name, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
    const q = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
    const t = setTimeout(() => (s.close(), resolve({ rcode: -1, ips: [] })), timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      const ips = [];
      for (let i = 0, off = 12 + q.length - 12; i < m.readUInt16BE(6); i++, off += 16) ips.push([...m.subarray(off + 12, off + 16)].join('.'));
      resolve({ rcode: m.readUInt16BE(2) & 0xf, ips });
    });
    s.send(q, 53, server);
  });
}

export class Cluster {
  constructor({ domain, ns = 'default', work, log, dnsImage, maxRestarts = 2 }) {
    Object.assign(this, { domain, ns, work, log, dnsImage, maxRestarts });
    this.run = `rh${process.pid}`;
    this.net = `chat-${this.run}`;
    // REHEARSE_SUBNET (0-249) keeps rehearsals run side by side apart (mutations.mjs sets it).
    this.subnet = `10.250.${process.env.REHEARSE_SUBNET ?? process.pid % 250}`;
    this.nodeIp = `${this.subnet}.1`;
    this.nextIp = 10;
    this.nextVip = 20;
    this.pods = [];
    this.services = [];
    this.policies = [];
    this.secrets = new Map();
    this.configMaps = new Map();
    this.claims = new Set();
    this.volumes = [];
    this.namespaces = {
      [ns]: { 'kubernetes.io/metadata.name': ns },
      'kube-system': { 'kubernetes.io/metadata.name': 'kube-system' },
    };
    this.imageUsers = new Map();
  }

  // ---- objects ---------------------------------------------------------------------------
  apply(o) {
    const ns = o.metadata.namespace ?? this.ns;
    const key = `${ns}/${o.metadata.name}`;
    if (o.kind === 'Secret') {
      const data = Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
      this.secrets.set(key, { ...data, ...(o.stringData ?? {}) });
    } else if (o.kind === 'ConfigMap') this.configMaps.set(key, { ...(o.data ?? {}) });
    else if (o.kind === 'NetworkPolicy') this.policies.push({ ns, name: o.metadata.name, spec: o.spec });
    else if (o.kind === 'PersistentVolumeClaim') this.claims.add(key);
    else if (o.kind === 'Service') {
      const headless = o.spec?.clusterIP === 'None';
      const clusterIP = headless ? undefined : o.spec?.clusterIP || (o.metadata.name === 'kube-dns' ? DNS_SERVICE_IP : `10.96.1.${this.nextVip++}`);
      this.services.push({ ns, name: o.metadata.name, spec: o.spec ?? {}, clusterIP });
    } else return false;
    this.sync();
    return true;
  }

  // ---- network and DNS -------------------------------------------------------------------
  async up() {
    await podmanOk('network', 'create', '--disable-dns', '--subnet', `${this.subnet}.0/24`, this.net);
    mkdirSync(join(this.work, 'dns'), { recursive: true });
    this.writeDns();
    this.apply({ kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ port: 443 }] } });
    this.apply({
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system' },
      spec: {
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      },
    });
    const spec = {
      containers: [
        {
          name: 'coredns',
          image: this.dnsImage,
          command: ['node', '/dns/dns-server.mjs', '/state'],
          ports: [
            { name: 'dns', containerPort: 53, protocol: 'UDP' },
            { name: 'dns-tcp', containerPort: 53 },
          ],
          securityContext: { runAsUser: 0, runAsGroup: 0 },
        },
      ],
    };
    const here = dirname(new URL(import.meta.url).pathname);
    const mounts = [`${here}:/dns:ro`, `${join(this.work, 'dns')}:/state:ro`];
    const dns = await this.createPod({ name: 'coredns', ns: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, spec, system: true, mounts });
    await this.waitReady([dns], Date.now() + 30_000);
    this.dnsIp = dns.ip;
    // Behaves like CoreDNS: a Service resolves, anything else in the domain is NXDOMAIN.
    let ok;
    for (let i = 0; i < 50 && !ok?.ips.length; i++) {
      ok = await dnsQuery(dns.ip, `kubernetes.default.svc.${this.domain}`, 200);
    }
    const nx = await dnsQuery(dns.ip, `kubernetes.default.svc`);
    const nx2 = await dnsQuery(dns.ip, `nothing.default.svc.${this.domain}`);
    if (ok.ips[0] !== '10.96.0.1' || nx.rcode !== 3 || nx2.rcode !== 3) throw new Error(`cluster DNS misbehaves: ${JSON.stringify({ ok, nx, nx2 })}`);
    this.log(
      `cluster DNS at ${DNS_SERVICE_IP} (pod ${dns.ip}): kubernetes.default.svc.${this.domain} → 10.96.0.1, kubernetes.default.svc → NXDOMAIN, nothing.default.svc.${this.domain} → NXDOMAIN`,
    );
  }

  writeDns() {
    const records = dnsRecords(this.services, this.pods, this.domain);
    const file = join(this.work, 'dns', 'dns.json');
    writeFileSync(`${file}.tmp`, JSON.stringify({ domain: this.domain, records }));
    renameSync(`${file}.tmp`, file);
  }

  /** Endpoints changed (a pod came, went, or changed readiness): DNS and every pod's rules. */
  sync() {
    this.dirty = true;
    if (this.syncing) return this.syncing;
    this.syncing = (async () => {
      while (this.dirty) {
        this.dirty = false;
        this.writeDns();
        await Promise.all(this.pods.filter((p) => p.pid && !p.system).map((p) => this.applyRules(p)));
      }
      this.syncing = undefined;
    })();
    return this.syncing;
  }

  async applyRules(pod) {
    const rules = podRuleset(pod, this);
    if (rules === pod.rules) return;
    const text = `${pod.rules ? 'delete table ip rehearsal\n' : ''}${rules}`;
    const r = await sh('nsenter', ['-t', String(pod.pid), '-n', 'nft', '-f', '-'], { input: text });
    if (r.code !== 0 && !pod.gone) throw new Error(`nft in ${pod.name}: ${r.out}\n${text}`);
    pod.rules = rules;
  }

  async rulesOf(pod) {
    return (await sh('nsenter', ['-t', String(pod.pid), '-n', 'nft', 'list', 'chain', 'ip', 'rehearsal', 'services'])).out;
  }

  /** Freezes (or thaws) a pod's containers: its probes time out as they would on a hung process. */
  async pause(pod) {
    for (const cs of pod.containers.values()) await podmanOk('pause', cs.name);
  }

  async unpause(pod) {
    for (const cs of pod.containers.values()) await podmanOk('unpause', cs.name);
  }

  async drops(pod) {
    if (!pod.pid || pod.gone) return {};
    const r = await sh('nsenter', ['-t', String(pod.pid), '-n', 'nft', 'list', 'table', 'ip', 'rehearsal']);
    return dropCounts(r.out);
  }

  // ---- pods ------------------------------------------------------------------------------
  /** Creates a pod and starts it in the background (init containers, then containers). */
  async createPod({ name, ns = this.ns, labels = {}, annotations = {}, spec, hostname, subdomain, claims = {}, system = false, mounts = [] }) {
    const pod = {
      name,
      ns,
      labels,
      annotations,
      spec,
      hostname: hostname ?? name,
      subdomain,
      claims,
      system,
      mounts,
      uid: randomUUID(),
      ip: `${this.subnet}.${this.nextIp++}`,
      nodeIp: this.nodeIp,
      podman: `${this.run}-${name}`,
      containers: new Map(),
      phase: 'Pending',
      ready: false,
      events: [],
    };
    this.pods.push(pod);
    const dir = join(this.work, 'pods', name);
    mkdirSync(dir, { recursive: true });
    // kubelet's /etc/hosts: localhost, and the pod's own name (FQDN with a subdomain).
    const fqdn = subdomain ? `${pod.hostname}.${subdomain}.${ns}.svc.${this.domain}\t` : '';
    writeFileSync(join(dir, 'hosts'), `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${pod.ip}\t${fqdn}${pod.hostname}\n`);
    const search = [`${ns}.svc.${this.domain}`, `svc.${this.domain}`, this.domain];
    await podmanOk(
      'pod',
      'create',
      '--name',
      pod.podman,
      '--network',
      this.net,
      '--ip',
      pod.ip,
      '--hostname',
      pod.hostname,
      '--no-hosts',
      '--dns',
      DNS_SERVICE_IP,
      ...search.flatMap((s) => ['--dns-search', s]),
      '--dns-option',
      'ndots:5',
      '--label',
      `rehearsal=${this.run}`,
    );
    await podmanOk('pod', 'start', pod.podman);
    const infra = await podmanOk('pod', 'inspect', '--format', '{{.InfraContainerID}}', pod.podman);
    pod.pid = Number(await podmanOk('inspect', '--format', '{{.State.Pid}}', infra));
    await this.sync(); // the pod's own rules before any of its containers runs, as CNI does
    pod.started = this.startContainers(pod).catch((e) => this.fail(pod, e));
    return pod;
  }

  fail(pod, e) {
    pod.failed = e instanceof ConfigError ? `CreateContainerConfigError: ${e.message}` : e.message;
    pod.phase = 'Failed';
    this.log(`pod ${pod.name}: ${pod.failed}`);
  }

  async startContainers(pod) {
    const restartPolicy = pod.spec.restartPolicy ?? 'Always';
    for (const c of pod.spec.initContainers ?? []) {
      if (c.restartPolicy === 'Always') throw new Error(`init container ${c.name}: sidecar containers (restartPolicy Always) are not rehearsed`);
      for (let attempt = 0; ; attempt++) {
        const name = `${pod.podman}-init-${c.name}`;
        const r = await sh('podman', await this.runArgs(pod, c, name, false));
        const logs = r.out.trim().split('\n').slice(-15).join('\n');
        await podman('rm', '-f', name);
        if (r.code === 0) break;
        pod.events.push(`init container ${c.name} exited ${r.code}:\n${logs}`);
        if (restartPolicy === 'Never' || attempt >= this.maxRestarts)
          throw new Error(`init container ${c.name} failed (exit ${r.code}, ${attempt + 1} attempts):\n${logs}`);
        await sleep(10_000 * 2 ** attempt); // kubelet's back-off
      }
    }
    pod.phase = 'Running';
    for (const c of pod.spec.containers) {
      const name = `${pod.podman}-${c.name}`;
      await podmanOk(...(await this.runArgs(pod, c, name, true)));
      pod.containers.set(c.name, { spec: c, name, since: Date.now(), started: !c.startupProbe, ready: false, restarts: 0, fails: {}, oks: {}, last: {} });
    }
    this.kubelet(pod);
  }

  async imageUser(image) {
    if (!this.imageUsers.has(image)) this.imageUsers.set(image, (await podmanOk('image', 'inspect', '--format', '{{.Config.User}}', image)) || 'root');
    return this.imageUsers.get(image);
  }

  /** `podman run` for one container of a pod, as kubelet would create it. */
  async runArgs(pod, c, name, detach) {
    const sc = { ...(pod.spec.securityContext ?? {}), ...(c.securityContext ?? {}) };
    const links = pod.spec.enableServiceLinks === false ? {} : serviceLinks(this.services, pod.ns);
    const { env, expand } = containerEnv(c, pod, { secrets: this.secrets, configMaps: this.configMaps, serviceLinks: links });
    const a = ['run', '--pod', pod.podman, '--name', name, '--label', `rehearsal=${this.run}`, '--pull=never', '--no-healthcheck', '--log-driver', 'k8s-file'];
    if (detach) a.push('-d');
    const user = sc.runAsUser ?? (await this.imageUser(c.image)).split(':')[0];
    if (sc.runAsNonRoot) {
      if (!/^\d+$/.test(String(user))) throw new ConfigError(`container ${c.name}: image has non-numeric user (${user}), cannot verify user is non-root`);
      if (Number(user) === 0) throw new ConfigError(`container ${c.name}: container has runAsNonRoot and image will run as root`);
    }
    if (sc.runAsUser !== undefined) a.push('--user', `${sc.runAsUser}:${sc.runAsGroup ?? 0}`);
    else if (sc.runAsGroup !== undefined) a.push('--user', `${user}:${sc.runAsGroup}`);
    for (const g of [...(pod.spec.securityContext?.supplementalGroups ?? []), pod.spec.securityContext?.fsGroup].filter((x) => x !== undefined))
      a.push('--group-add', String(g));
    // Like Kubernetes: a read-only root with no implicit tmpfs; writable paths are volumes.
    if (sc.readOnlyRootFilesystem) a.push('--read-only', '--read-only-tmpfs=false');
    if (sc.allowPrivilegeEscalation === false) a.push('--security-opt', 'no-new-privileges');
    if (sc.privileged) a.push('--privileged');
    if (sc.seccompProfile?.type === 'Unconfined') a.push('--security-opt', 'seccomp=unconfined');
    for (const cap of sc.capabilities?.drop ?? []) a.push('--cap-drop', cap);
    for (const cap of sc.capabilities?.add ?? []) a.push('--cap-add', cap);
    const limits = c.resources?.limits ?? {};
    if (limits.memory) a.push('--memory', String(Math.floor(quantity(limits.memory))));
    if (limits.cpu) a.push('--cpus', String(quantity(limits.cpu)));
    for (const [k, v] of Object.entries(env)) a.push('-e', `${k}=${v}`);
    a.push('-v', `${join(this.work, 'pods', pod.name, 'hosts')}:/etc/hosts:ro`);
    a.push(...(await this.volumeArgs(pod, c)));
    for (const m of pod.mounts) a.push('-v', m);
    if (c.workingDir) a.push('-w', c.workingDir);
    if (c.command) a.push('--entrypoint', JSON.stringify(c.command.map(expand)));
    a.push(c.image, ...(c.args ?? []).map(expand));
    return a;
  }

  async volumeArgs(pod, c) {
    const out = [];
    const fsGroup = pod.spec.securityContext?.fsGroup;
    for (const m of c.volumeMounts ?? []) {
      const v =
        (pod.spec.volumes ?? []).find((x) => x.name === m.name) ??
        (pod.claims[m.name] ? { persistentVolumeClaim: { claimName: pod.claims[m.name] } } : undefined);
      if (!v) throw new ConfigError(`volumeMount ${m.name}: no such volume`);
      const ro = m.readOnly ? ':ro' : '';
      if (v.emptyDir?.medium === 'Memory') {
        // A tmpfs on the node, shared by the pod's containers, sized by sizeLimit.
        const dir = join(this.work, 'pods', pod.name, 'memory', m.name);
        if (!pod.emptyDirs?.[m.name]) {
          mkdirSync(dir, { recursive: true });
          const size = v.emptyDir.sizeLimit ? `size=${Math.floor(quantity(v.emptyDir.sizeLimit))},` : '';
          await shOk('mount', ['-t', 'tmpfs', '-o', `${size}mode=${fsGroup !== undefined ? `2777,gid=${fsGroup}` : '0777'}`, 'tmpfs', dir]);
          (pod.emptyDirs ??= {})[m.name] = { dir, tmpfs: true };
        }
        out.push('-v', `${join(dir, m.subPath ?? '')}:${m.mountPath}${ro}`);
      } else if (v.emptyDir) {
        // On the node's disk, like kubelet's emptyDir (0777; the fsGroup's with setgid).
        const dir = join(this.work, 'pods', pod.name, 'empty', m.name);
        if (!pod.emptyDirs?.[m.name]) {
          mkdirSync(dir, { recursive: true });
          if (fsGroup !== undefined) chownSync(dir, 0, fsGroup);
          chmodSync(dir, fsGroup !== undefined ? 0o2777 : 0o777);
          (pod.emptyDirs ??= {})[m.name] = { dir, sizeLimit: v.emptyDir.sizeLimit };
        }
        out.push('-v', `${join(dir, m.subPath ?? '')}:${m.mountPath}${ro}`);
      } else if (v.secret || v.configMap) {
        const src = v.secret ?? v.configMap;
        const key = `${pod.ns}/${v.secret ? v.secret.secretName : v.configMap.name}`;
        const data = (v.secret ? this.secrets : this.configMaps).get(key);
        if (!data && !src.optional) throw new ConfigError(`FailedMount: ${v.secret ? 'secret' : 'configmap'} "${key}" not found`);
        const dir = join(this.work, 'pods', pod.name, 'files', m.name);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const items = src.items ?? Object.keys(data ?? {}).map((k) => ({ key: k, path: k }));
        for (const it of items) {
          if (!(it.key in (data ?? {}))) {
            if (src.optional) continue;
            throw new ConfigError(`FailedMount: ${v.secret ? 'secret' : 'configmap'} ${key} has no key ${it.key}`);
          }
          const f = join(dir, it.path);
          mkdirSync(dirname(f), { recursive: true });
          writeFileSync(f, data[it.key]);
          if (fsGroup !== undefined) chownSync(f, 0, fsGroup);
          chmodSync(f, it.mode ?? src.defaultMode ?? 0o644);
        }
        out.push('-v', `${join(dir, m.subPath ?? '')}:${m.mountPath}:ro`);
      } else if (v.persistentVolumeClaim) {
        const claim = `${pod.ns}/${v.persistentVolumeClaim.claimName}`;
        if (!this.claims.has(claim)) throw new ConfigError(`persistentvolumeclaim "${claim}" not found (the pod stays Pending)`);
        const name = `${this.run}-pvc-${v.persistentVolumeClaim.claimName}`;
        if (!this.volumes.includes(name)) {
          await podmanOk('volume', 'create', name);
          this.volumes.push(name);
          // A fresh volume: root-owned 0755; fsGroup makes it the group's (setgid, g+rwx).
          const mp = await podmanOk('volume', 'inspect', '--format', '{{.Mountpoint}}', name);
          chmodSync(mp, 0o755);
          if (fsGroup !== undefined) {
            chownSync(mp, 0, fsGroup);
            chmodSync(mp, 0o2775);
          }
        }
        out.push('-v', `${name}:${m.mountPath}${ro || (v.persistentVolumeClaim.readOnly ? ':ro' : '')}`);
      } else throw new ConfigError(`volume ${m.name}: kind ${Object.keys(v).filter((k) => k !== 'name')} is not rehearsed`);
    }
    return out;
  }

  // ---- kubelet ---------------------------------------------------------------------------
  async probe(pod, cs, probe) {
    const timeout = (probe.timeoutSeconds ?? 1) * 1000;
    // `podman exec` starts a whole runtime process, far heavier than kubelet's CRI exec: the
    // command keeps its timeoutSeconds, plus 5 s for podman itself.
    if (probe.exec) return (await sh('podman', ['exec', cs.name, ...probe.exec.command], { timeoutMs: timeout + EXEC_OVERHEAD_MS })).code === 0;
    if (probe.httpGet) {
      const port = resolvePort(pod.spec, probe.httpGet.port);
      const headers = Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
      // A new connection per probe, as kubelet does (no keep-alive).
      return new Promise((resolve) => {
        const req = http.get({ host: pod.ip, port, path: probe.httpGet.path ?? '/', headers, agent: false, timeout }, (res) => {
          res.resume();
          resolve(res.statusCode >= 200 && res.statusCode < 400);
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
      });
    }
    if (probe.tcpSocket) {
      const port = resolvePort(pod.spec, probe.tcpSocket.port);
      return new Promise((resolve) => {
        const s = net.connect({ host: pod.ip, port, timeout });
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
        s.once('timeout', () => (s.destroy(), resolve(false)));
      });
    }
    this.log(`pod ${pod.name}: probe kind ${Object.keys(probe)} is not rehearsed; counted as passing`);
    return true;
  }

  /** Probes at their periods, restarts with back-off, readiness into endpoints. */
  /**
   * Container states of the whole cluster from one `podman ps`, shared by every pod's loop (one
   * call per pod every 250 ms kept both cores busy), at most 1 s old like kubelet's PLEG relist,
   * and never taken before notBefore (a container's start), so a fresh one is not seen missing.
   */
  async containerStates(notBefore) {
    for (;;) {
      if (this.snap && this.snap.at >= notBefore && Date.now() - this.snap.at < 1000) return this.snap.out;
      if (!this.snapping) {
        const at = Date.now();
        this.snapping = podman('ps', '-a', '--filter', `name=^${this.run}-`, '--format', '{{.Names}} {{.State}}').then(
          (r) => {
            this.snap = { at, out: r.out };
            this.snapping = null;
          },
          (e) => {
            this.snapping = null;
            throw e;
          },
        );
      }
      await this.snapping;
    }
  }

  kubelet(pod) {
    const due = (cs, kind, probe) => {
      const initial = (probe.initialDelaySeconds ?? 0) * 1000;
      const period = (probe.periodSeconds ?? 10) * 1000;
      return Date.now() - cs.since >= initial && Date.now() - (cs.last[kind] ?? 0) >= period && !cs.inflight?.[kind];
    };
    const runProbe = async (cs, kind, probe) => {
      (cs.inflight ??= {})[kind] = true;
      cs.last[kind] = Date.now();
      const ok = await this.probe(pod, cs, probe);
      cs.inflight[kind] = false;
      if (ok) {
        cs.fails[kind] = 0;
        cs.oks[kind] = (cs.oks[kind] ?? 0) + 1;
      } else {
        cs.oks[kind] = 0;
        cs.fails[kind] = (cs.fails[kind] ?? 0) + 1;
        cs.lastFailure = `${kind} probe failed`;
      }
      return ok;
    };
    const tick = async () => {
      if (pod.gone || pod.terminating) return;
      const states = await this.containerStates(Math.max(...[...pod.containers.values()].map((c) => c.since)));
      if (pod.gone || pod.terminating) return; // deleted while asking
      for (const cs of pod.containers.values()) {
        const running = new RegExp(`^${cs.name} (Up |Paused)`, 'm').test(states); // paused: a hung process, still running
        if (!running && !cs.restarting) {
          cs.ready = false;
          this.restart(pod, cs, 'exited');
          continue;
        }
        if (cs.restarting) continue;
        const c = cs.spec;
        if (!cs.started) {
          if (due(cs, 'startup', c.startupProbe)) {
            runProbe(cs, 'startup', c.startupProbe).then((ok) => {
              if (ok) cs.started = true;
              else if (cs.fails.startup >= (c.startupProbe.failureThreshold ?? 3)) this.restart(pod, cs, 'startup probe failed');
            });
          }
          continue;
        }
        if (c.readinessProbe) {
          if (due(cs, 'readiness', c.readinessProbe)) {
            runProbe(cs, 'readiness', c.readinessProbe).then(() => {
              if (cs.oks.readiness >= (c.readinessProbe.successThreshold ?? 1)) cs.ready = true;
              if (cs.fails.readiness >= (c.readinessProbe.failureThreshold ?? 3)) cs.ready = false;
            });
          }
        } else cs.ready = true;
        if (c.livenessProbe && due(cs, 'liveness', c.livenessProbe)) {
          runProbe(cs, 'liveness', c.livenessProbe).then(() => {
            if (cs.fails.liveness >= (c.livenessProbe.failureThreshold ?? 3)) this.restart(pod, cs, 'liveness probe failed');
          });
        }
      }
      const ready = [...pod.containers.values()].every((cs) => cs.ready);
      if (ready !== pod.ready) {
        pod.ready = ready;
        this.log(`pod ${pod.name}: ${ready ? 'Ready' : 'not ready'}`);
        await this.sync();
      }
      pod.kubeletTimer = setTimeout(tick, 250);
    };
    tick();
  }

  async restart(pod, cs, why) {
    if (cs.restarting || pod.terminating) return;
    cs.restarting = true;
    cs.ready = false;
    const logs = (await podman('logs', '--tail', '15', cs.name)).out.trim();
    pod.events.push(`container ${cs.spec.name} ${why}; last log lines:\n${logs}`);
    if ((pod.spec.restartPolicy ?? 'Always') === 'Never') {
      cs.exitCode = Number((await podman('inspect', '--format', '{{.State.ExitCode}}', cs.name)).out.trim());
      return;
    }
    if (cs.restarts >= this.maxRestarts) {
      pod.failed = `CrashLoopBackOff: container ${cs.spec.name} ${why} ${cs.restarts + 1} times (a cluster keeps restarting it and \`helm install --wait\` times out); last log lines:\n${logs}`;
      pod.phase = 'Failed';
      return;
    }
    this.log(`pod ${pod.name}: container ${cs.spec.name} ${why}; restarting in ${10 * 2 ** cs.restarts} s (kubelet back-off)`);
    await podman('stop', '-t', String(pod.spec.terminationGracePeriodSeconds ?? 30), cs.name);
    await sleep(10_000 * 2 ** cs.restarts);
    cs.restarts += 1;
    await podman('start', cs.name);
    Object.assign(cs, { since: Date.now(), started: !cs.spec.startupProbe, fails: {}, oks: {}, last: {}, restarting: false });
  }

  /** Resolves when every pod is Ready; rejects when one failed or at the deadline. */
  async waitReady(pods, deadline) {
    for (;;) {
      const failed = pods.find((p) => p.failed);
      if (failed) throw new Error(`pod ${failed.name}: ${failed.failed}`);
      if (pods.every((p) => p.ready)) return;
      if (Date.now() > deadline) {
        const lines = [];
        for (const p of pods.filter((x) => !x.ready))
          lines.push(
            `pod ${p.name} never became ready (${[...p.containers.values()].map((c) => `${c.spec.name}: ${c.lastFailure ?? 'starting'}`).join(', ') || p.phase})`,
          );
        throw new Error(lines.join('\n'));
      }
      await sleep(250);
    }
  }

  /** Runs a pod whose containers exit (a Job's or a test's) and resolves its exit code and logs. */
  async runToCompletion(pod, deadline) {
    for (;;) {
      if (pod.failed) return { code: -1, logs: pod.failed };
      const cs = pod.containers.get(pod.spec.containers[0].name);
      if (cs) {
        const st = (await podman('inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', cs.name)).out.trim().split(' ');
        if (st[0] === 'exited') return { code: Number(st[1]), logs: (await podman('logs', cs.name)).out };
      }
      if (Date.now() > deadline) return { code: -1, logs: `still running at the deadline\n${cs ? (await podman('logs', '--tail', '30', cs.name)).out : ''}` };
      await sleep(300);
    }
  }

  /**
   * Deletes a pod as Kubernetes does: out of every Service's endpoints at once, preStop hooks,
   * then SIGTERM and SIGKILL when terminationGracePeriodSeconds (which includes preStop) ends.
   */
  async deletePod(pod) {
    if (pod.gone) return;
    pod.terminating = true;
    clearTimeout(pod.kubeletTimer);
    await this.sync();
    const grace = (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const t0 = Date.now();
    await Promise.all(
      [...pod.containers.values()].map(async (cs) => {
        const pre = cs.spec.lifecycle?.preStop;
        if (pre?.exec) await sh('podman', ['exec', cs.name, ...pre.exec.command], { timeoutMs: grace });
        else if (pre?.sleep) await sleep(Math.min(grace, pre.sleep.seconds * 1000));
        else if (pre?.httpGet)
          await fetch(`http://${pod.ip}:${resolvePort(pod.spec, pre.httpGet.port)}${pre.httpGet.path ?? '/'}`, { signal: AbortSignal.timeout(grace) }).catch(
            () => {},
          );
        const left = Math.max(0, Math.ceil((grace - (Date.now() - t0)) / 1000));
        await podman('stop', '-t', String(left), cs.name);
        cs.exitCode = Number((await podman('inspect', '--format', '{{.State.ExitCode}}', cs.name)).out.trim());
      }),
    );
    pod.stoppedMs = Date.now() - t0;
    await this.removePod(pod);
  }

  async removePod(pod) {
    pod.gone = true;
    clearTimeout(pod.kubeletTimer);
    await podman('pod', 'rm', '-f', '-t', '0', pod.podman);
    for (const name of this.volumes.filter((v) => v.startsWith(`${pod.podman}-`))) {
      await podman('volume', 'rm', '-f', name);
      this.volumes.splice(this.volumes.indexOf(name), 1);
    }
    this.checkEmptyDirs(pod);
    await this.unmount(pod);
    this.pods.splice(this.pods.indexOf(pod), 1);
    await this.sync();
  }

  async unmount(pod) {
    for (const e of Object.values(pod.emptyDirs ?? {}))
      if (e.tmpfs && !e.unmounted) {
        e.unmounted = true;
        await sh('umount', ['-l', e.dir]);
      }
  }

  /** kubelet evicts a pod whose on-disk emptyDir outgrows its sizeLimit; checked when it goes. */
  checkEmptyDirs(pod) {
    for (const [name, e] of Object.entries(pod.emptyDirs ?? {})) {
      const { dir, sizeLimit } = e;
      if (!sizeLimit || e.tmpfs) continue;
      const size = du(dir);
      if (size > quantity(sizeLimit))
        this.evictions = [...(this.evictions ?? []), `${pod.name}: emptyDir ${name} holds ${size} bytes, over its sizeLimit ${sizeLimit}`];
    }
  }

  async logs(pod, cs, tail = 8) {
    return (await podman('logs', '--tail', String(tail), cs.name)).out.trim();
  }

  async down() {
    for (const p of this.pods) {
      clearTimeout(p.kubeletTimer);
      p.gone = true;
    }
    for (const p of this.pods) await this.unmount(p);
    const ids = (await podman('pod', 'ps', '-q', '--filter', `label=rehearsal=${this.run}`)).out.split('\n').filter(Boolean);
    if (ids.length) await podman('pod', 'rm', '-f', '-t', '0', ...ids);
    await podman('network', 'rm', '-f', this.net);
    for (const v of this.volumes) await podman('volume', 'rm', '-f', v);
    rmSync(this.work, { recursive: true, force: true });
  }
}

function du(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return total;
}

export const shortId = () => randomBytes(3).toString('hex').slice(0, 5);

// What Kubernetes does with rendered objects, as pure functions the rehearsal acts on:
// label selectors, Service endpoints, the cluster DNS records, NetworkPolicies as nftables
// rules in each pod's network namespace, container environment, and which fields of the
// rendered objects the rehearsal acts on (the rest is printed, never skipped silently).

export const SERVICE_CIDR = '10.96.0.0/12';
export const DNS_SERVICE_IP = '10.96.0.10';

// ---- selectors -------------------------------------------------------------------------
/** A LabelSelector (matchLabels + matchExpressions) or a plain map (Service selector). */
export function selects(selector, labels = {}) {
  if (!selector) return false;
  const plain = !('matchLabels' in selector) && !('matchExpressions' in selector);
  const matchLabels = plain ? selector : (selector.matchLabels ?? {});
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  for (const e of plain ? [] : (selector.matchExpressions ?? [])) {
    const has = e.key in labels;
    const ok =
      e.operator === 'In'
        ? has && e.values.includes(labels[e.key])
        : e.operator === 'NotIn'
          ? !has || !e.values.includes(labels[e.key])
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

/** A container port by number or name, looked up in a pod's containers. */
export function resolvePort(podSpec, port) {
  if (typeof port === 'number' || /^\d+$/.test(String(port))) return Number(port);
  for (const c of podSpec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

// ---- Services and DNS ------------------------------------------------------------------
const isHeadless = (svc) => svc.spec?.clusterIP === 'None';

/** Ready, not terminating pods a Service selects (publishNotReadyAddresses: every pod). */
export function endpoints(svc, pods) {
  if (!svc.spec?.selector) return [];
  return pods.filter(
    (p) => p.ns === svc.ns && p.ip && !p.terminating && (p.ready || svc.spec.publishNotReadyAddresses) && selects(svc.spec.selector, p.labels),
  );
}

/**
 * The A records CoreDNS serves (kubernetes plugin, "pods insecure"): `<svc>.<ns>.svc.<domain>`
 * to the cluster IP, or to the endpoints of a headless Service; `<hostname>.<subdomain>.<ns>.svc.<domain>`
 * for a pod whose subdomain names a headless Service that selects it.
 */
export function dnsRecords(services, pods, domain) {
  const records = {};
  const add = (name, ip) => (records[name.toLowerCase()] ??= []).push(ip);
  for (const svc of services) {
    const fqdn = `${svc.name}.${svc.ns}.svc.${domain}`;
    if (!isHeadless(svc)) {
      add(fqdn, svc.clusterIP);
      continue;
    }
    for (const p of endpoints(svc, pods)) {
      add(fqdn, p.ip);
      if (p.subdomain === svc.name && p.hostname) add(`${p.hostname}.${fqdn}`, p.ip);
    }
  }
  return records;
}

// ---- NetworkPolicies as nftables -------------------------------------------------------
const policyTypes = (np) => np.spec.policyTypes ?? ['Ingress', ...(np.spec.egress ? ['Egress'] : [])];

/** Pods (any namespace) a NetworkPolicyPeer names; `cidr` for ipBlock peers. */
function peerTargets(peer, np, pods, namespaces) {
  if (peer.ipBlock) return { cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] };
  const inNs = (p) => (peer.namespaceSelector ? selects(peer.namespaceSelector, namespaces[p.ns] ?? {}) : p.ns === np.ns);
  return { pods: pods.filter((p) => p.ip && inNs(p) && (!peer.podSelector || selects(peer.podSelector, p.labels))) };
}

const nftSet = (ips) => (ips.length === 1 ? ips[0] : `{ ${ips.join(', ')} }`);

/** nft match fragments for a rule's ports against one peer pod's (or the target's) spec. */
function portMatches(ports, podSpec) {
  if (!ports?.length) return [''];
  const out = [];
  for (const p of ports) {
    const proto = (p.protocol ?? 'TCP').toLowerCase();
    if (p.port === undefined) {
      out.push(`meta l4proto ${proto}`);
      continue;
    }
    const n = resolvePort(podSpec, p.port);
    if (n === undefined) continue; // a named port this pod does not have matches nothing
    out.push(`meta l4proto ${proto} th dport ${p.endPort ? `${n}-${p.endPort}` : n}`);
  }
  return out;
}

/**
 * One direction of one pod's policy: null when no policy isolates it that way, else the
 * accept rules (the chain then drops everything else).
 */
function directionRules(pod, dir, { pods, policies, namespaces }) {
  const selecting = policies.filter((np) => np.ns === pod.ns && selects(np.spec.podSelector ?? {}, pod.labels) && policyTypes(np).includes(dir));
  if (!selecting.length) return null;
  const addr = dir === 'Ingress' ? 'saddr' : 'daddr';
  const rules = [];
  for (const np of selecting) {
    for (const rule of (dir === 'Ingress' ? np.spec.ingress : np.spec.egress) ?? []) {
      const peers = dir === 'Ingress' ? rule.from : rule.to;
      if (!peers?.length) {
        // Any peer: ports of the target (ingress) or, for named ports, of any pod (egress).
        const specs = dir === 'Ingress' ? [pod.spec] : [undefined, ...pods.map((p) => p.spec)];
        for (const spec of specs) for (const m of portMatches(rule.ports, spec)) rules.push(`${m} accept`.trim());
        continue;
      }
      for (const peer of peers) {
        const t = peerTargets(peer, np, pods, namespaces);
        if (t.cidr) {
          const except = t.except.length ? `ip ${addr} != ${nftSet(t.except)} ` : '';
          for (const m of portMatches(rule.ports, dir === 'Ingress' ? pod.spec : undefined))
            rules.push(`ip ${addr} ${t.cidr} ${except}${m} accept`.replace(/ +/g, ' '));
          continue;
        }
        if (dir === 'Ingress') {
          if (!t.pods.length) continue;
          for (const m of portMatches(rule.ports, pod.spec)) rules.push(`ip saddr ${nftSet(t.pods.map((p) => p.ip))} ${m} accept`.replace(/ +/g, ' '));
        } else {
          for (const peerPod of t.pods)
            for (const m of portMatches(rule.ports, peerPod.spec)) rules.push(`ip daddr ${peerPod.ip} ${m} accept`.replace(/ +/g, ' '));
        }
      }
    }
  }
  return [...new Set(rules)];
}

/**
 * The nftables ruleset of one pod's network namespace: Service addresses translated to a
 * ready endpoint in the output path (what kube-proxy does on the node), then the pod's
 * NetworkPolicies on what leaves (after that translation, as a CNI sees it) and what arrives.
 * Traffic from the node (kubelet probes) is allowed, as CNIs do.
 */
export function podRuleset(pod, cluster) {
  const { services, pods, nodeIp } = cluster;
  const nat = [];
  for (const svc of services) {
    if (isHeadless(svc) || !svc.clusterIP) continue;
    const eps = endpoints(svc, pods);
    for (const port of svc.spec.ports ?? []) {
      const proto = (port.protocol ?? 'TCP').toLowerCase();
      const targets = eps.map((p) => ({ ip: p.ip, port: resolvePort(p.spec, port.targetPort ?? port.port) })).filter((t) => t.port !== undefined);
      if (!targets.length) continue; // no endpoint: rejected below, as kube-proxy does
      const match = `ip daddr ${svc.clusterIP} meta l4proto ${proto} th dport ${port.port}`;
      if (targets.length === 1) nat.push(`${match} dnat to ${targets[0].ip}:${targets[0].port}`);
      else {
        const map = targets.map((t, i) => `${i} : ${t.ip} . ${t.port}`).join(', ');
        nat.push(`${match} dnat ip to numgen random mod ${targets.length} map { ${map} }`);
      }
    }
  }
  const egress = directionRules(pod, 'Egress', cluster);
  const ingress = directionRules(pod, 'Ingress', cluster);
  const chain = (name, hook, prio, body) =>
    `  chain ${name} {\n    type ${hook} priority ${prio}; policy accept;\n${body.map((l) => `    ${l}\n`).join('')}  }\n`;
  return (
    'table ip rehearsal {\n' +
    chain('services', 'nat hook output', -100, nat) +
    chain('egress', 'filter hook output', 0, [
      'oif "lo" accept',
      'ct state established,related accept',
      `ip daddr ${SERVICE_CIDR} counter reject comment "service-without-endpoints"`,
      ...(egress ? [...egress, 'counter drop comment "networkpolicy-egress"'] : []),
    ]) +
    chain('ingress', 'filter hook input', 0, [
      'iif "lo" accept',
      'ct state established,related accept',
      `ip saddr ${nodeIp} accept`,
      ...(ingress ? [...ingress, 'counter drop comment "networkpolicy-ingress"'] : []),
    ]) +
    '}\n'
  );
}

/** Packets the rules dropped or rejected, from `nft list table ip rehearsal`. */
export function dropCounts(listing) {
  const out = {};
  for (const m of listing.matchAll(/counter packets (\d+) bytes \d+ (?:drop|reject)[^\n]*comment "([^"]+)"/g)) out[m[2]] = Number(m[1]);
  return out;
}

// ---- environment -----------------------------------------------------------------------
export class ConfigError extends Error {} // kubelet: CreateContainerConfigError

/** A container's environment as kubelet builds it, with $(VAR) expansion. */
export function containerEnv(container, pod, { secrets, configMaps, serviceLinks }) {
  const env = {};
  const expand = (v) => String(v).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => (name in env ? env[name] : m));
  const source = (kind, name) => (kind === 'secret' ? secrets : configMaps).get(`${pod.ns}/${name}`);
  for (const [k, v] of Object.entries(serviceLinks ?? {})) env[k] = v;
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    const src = source(from.secretRef ? 'secret' : 'configmap', ref.name);
    if (!src && !ref.optional) throw new ConfigError(`${from.secretRef ? 'secret' : 'configmap'} "${ref.name}" not found`);
    for (const [k, v] of Object.entries(src ?? {})) env[(from.prefix ?? '') + k] = v;
  }
  for (const e of container.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) env[e.name] = expand(e.value ?? '');
    else if (vf.secretKeyRef || vf.configMapKeyRef) {
      const ref = vf.secretKeyRef ?? vf.configMapKeyRef;
      const kind = vf.secretKeyRef ? 'secret' : 'configmap';
      const src = source(kind, ref.name);
      if (!src && !ref.optional) throw new ConfigError(`${kind} "${ref.name}" not found`);
      if (src && !(ref.key in src) && !ref.optional)
        throw new ConfigError(`couldn't find key ${ref.key} in ${kind === 'secret' ? 'Secret' : 'ConfigMap'} ${pod.ns}/${ref.name}`);
      if (src?.[ref.key] !== undefined) env[e.name] = src[ref.key];
    } else if (vf.fieldRef) env[e.name] = fieldRef(vf.fieldRef.fieldPath, pod);
    else if (vf.resourceFieldRef) env[e.name] = resourceField(vf.resourceFieldRef, container);
  }
  return { env, expand };
}

function fieldRef(path, pod) {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.labels : pod.annotations)?.[m[2]] ?? '';
  const fields = {
    'metadata.name': pod.name,
    'metadata.namespace': pod.ns,
    'metadata.uid': pod.uid,
    'spec.nodeName': 'rehearsal-node',
    'spec.serviceAccountName': pod.spec.serviceAccountName ?? 'default',
    'status.hostIP': pod.nodeIp,
    'status.hostIPs': pod.nodeIp,
    'status.podIP': pod.ip,
    'status.podIPs': pod.ip,
  };
  if (!(path in fields)) throw new ConfigError(`fieldRef ${path} is not supported`);
  return fields[path];
}

const QUANTITY = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3, '': 1 };
export function quantity(q) {
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(String(q));
  if (!m || !(m[2] in QUANTITY)) throw new ConfigError(`bad quantity ${q}`);
  return Number(m[1]) * QUANTITY[m[2]];
}

function resourceField(ref, container) {
  const [kind, res] = ref.resource.split('.');
  const v = container.resources?.[kind]?.[res];
  const divisor = quantity(ref.divisor ?? '1');
  if (v === undefined) return res === 'cpu' ? '2' : String(24 * 2 ** 30); // node allocatable
  return String(Math.ceil(quantity(v) / divisor));
}

/** The docker-link variables enableServiceLinks (default true) adds for a namespace's Services. */
export function serviceLinks(services, ns) {
  const env = {};
  for (const svc of services.filter((s) => s.ns === ns && s.clusterIP && !isHeadless(s))) {
    const n = svc.name.toUpperCase().replace(/-/g, '_');
    const first = svc.spec.ports?.[0];
    env[`${n}_SERVICE_HOST`] = svc.clusterIP;
    if (first) env[`${n}_SERVICE_PORT`] = String(first.port);
    for (const p of svc.spec.ports ?? []) {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      if (p.name) env[`${n}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
      env[`${n}_PORT_${p.port}_${proto.toUpperCase()}`] = `${proto}://${svc.clusterIP}:${p.port}`;
    }
  }
  return env;
}

// ---- what the rehearsal acts on --------------------------------------------------------
const CONTAINER = [
  'name',
  'image',
  'imagePullPolicy',
  'command',
  'args',
  'workingDir',
  'env',
  'envFrom',
  'ports',
  'resources.limits.memory',
  'resources.limits.cpu',
  'securityContext',
  'volumeMounts',
  'startupProbe',
  'readinessProbe',
  'livenessProbe',
  'lifecycle.preStop',
  'restartPolicy',
];
const POD_SPEC = [
  ...CONTAINER.map((f) => `containers.${f}`),
  ...CONTAINER.map((f) => `initContainers.${f}`),
  'volumes.name',
  'volumes.emptyDir',
  'volumes.secret',
  'volumes.configMap',
  'volumes.persistentVolumeClaim',
  'securityContext.runAsUser',
  'securityContext.runAsGroup',
  'securityContext.runAsNonRoot',
  'securityContext.fsGroup',
  'securityContext.supplementalGroups',
  'securityContext.seccompProfile',
  'terminationGracePeriodSeconds',
  'restartPolicy',
  'enableServiceLinks',
  'hostname',
  'subdomain',
  'automountServiceAccountToken',
];
const META = [
  'metadata.name',
  'metadata.namespace',
  'metadata.labels',
  'metadata.annotations.helm.sh/hook',
  'metadata.annotations.helm.sh/hook-weight',
  'metadata.annotations.helm.sh/hook-delete-policy',
  'apiVersion',
  'kind',
];
const podFields = (prefix) => [`${prefix}metadata.labels`, ...POD_SPEC.map((f) => `${prefix}spec.${f}`)];
export const ACTED_ON = {
  Deployment: [...META, 'spec.replicas', 'spec.selector', ...podFields('spec.template.')],
  StatefulSet: [
    ...META,
    'spec.replicas',
    'spec.selector',
    'spec.serviceName',
    'spec.podManagementPolicy',
    'spec.volumeClaimTemplates.metadata.name',
    'spec.volumeClaimTemplates.spec.accessModes',
    ...podFields('spec.template.'),
  ],
  Job: [...META, 'spec.backoffLimit', 'spec.activeDeadlineSeconds', ...podFields('spec.template.')],
  // Only --backup-drill runs a Job from it; the schedule and history limits are never acted on.
  CronJob: [
    ...META,
    'spec.jobTemplate.metadata',
    'spec.jobTemplate.spec.backoffLimit',
    'spec.jobTemplate.spec.activeDeadlineSeconds',
    ...podFields('spec.jobTemplate.spec.template.'),
  ],
  Pod: [...META, ...POD_SPEC.map((f) => `spec.${f}`)],
  Service: [
    ...META,
    'spec.selector',
    'spec.clusterIP',
    'spec.ports.name',
    'spec.ports.port',
    'spec.ports.targetPort',
    'spec.ports.protocol',
    'spec.publishNotReadyAddresses',
    'spec.type',
  ],
  NetworkPolicy: [...META, 'spec'],
  Secret: [...META, 'type', 'data', 'stringData'],
  ConfigMap: [...META, 'data'],
};

/** Field paths (array indices dropped) of an object that the rehearsal does not act on. */
export function notActedOn(obj) {
  const handled = ACTED_ON[obj.kind];
  if (!handled) return null; // the whole kind
  const out = new Set();
  const walk = (v, path) => {
    if (handled.some((h) => path === h || path.startsWith(`${h}.`))) return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, path));
    if (v && typeof v === 'object' && Object.keys(v).length) {
      // A prefix of something handled: descend; otherwise report this branch once.
      if (!path || handled.some((h) => h.startsWith(`${path}.`))) {
        for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
        return;
      }
    }
    if (v === null || v === undefined || (typeof v === 'object' && !Object.keys(v).length)) return;
    out.add(path);
  };
  walk(obj, '');
  return [...out];
}

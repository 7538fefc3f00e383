// Unit tests of the rehearsal's Kubernetes semantics (pure functions, no podman):
//   node --test scripts/rehearse/
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, containerEnv, dnsRecords, endpoints, notActedOn, podRuleset, selects } from './kube.mjs';

const spec = (port = 3000, name = 'http') => ({ containers: [{ name: 'c', ports: [{ name, containerPort: port }] }] });
const pod = (name, ip, labels, extra = {}) => ({ name, ns: 'default', ip, labels, spec: spec(), ready: true, ...extra });
const api = pod('api-1', '10.0.0.11', { app: 'api' });
const api2 = pod('api-2', '10.0.0.12', { app: 'api' }, { ready: false });
const web = pod('web-1', '10.0.0.13', { app: 'web' });
const dns = { ...pod('coredns', '10.0.0.10', { 'k8s-app': 'kube-dns' }), ns: 'kube-system', spec: spec(53, 'dns') };
const services = [
  { ns: 'default', name: 'api', clusterIP: '10.96.1.20', spec: { selector: { app: 'api' }, ports: [{ port: 80, targetPort: 'http' }] } },
  { ns: 'default', name: 'api-headless', spec: { clusterIP: 'None', selector: { app: 'api' }, ports: [{ port: 3000 }] } },
];
const namespaces = { default: { 'kubernetes.io/metadata.name': 'default' }, 'kube-system': { 'kubernetes.io/metadata.name': 'kube-system' } };
const cluster = (policies = []) => ({ services, pods: [api, api2, web, dns], policies, namespaces, nodeIp: '10.0.0.1' });

test('selectors: matchLabels, matchExpressions, plain maps, empty selects all', () => {
  assert.ok(selects({ app: 'api' }, { app: 'api', x: 'y' }));
  assert.ok(!selects({ app: 'api' }, { app: 'web' }));
  assert.ok(selects({ matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'web'] }] }, { app: 'web' }));
  assert.ok(!selects({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, { app: 'web' }));
  assert.ok(selects({}, { anything: 'x' }));
  assert.ok(!selects(undefined, { app: 'api' }));
});

test('endpoints are the ready pods; DNS: ClusterIP for a Service, ready pods for a headless one', () => {
  assert.deepEqual(
    endpoints(services[0], cluster().pods).map((p) => p.name),
    ['api-1'],
  );
  const r = dnsRecords(services, cluster().pods, 'cluster.local');
  assert.deepEqual(r['api.default.svc.cluster.local'], ['10.96.1.20']);
  assert.deepEqual(r['api-headless.default.svc.cluster.local'], ['10.0.0.11']);
  assert.equal(r['api.default.svc'], undefined);
});

test('a Service address is translated to a ready endpoint on the named targetPort', () => {
  const rules = podRuleset(web, cluster());
  assert.match(rules, /ip daddr 10\.96\.1\.20 meta l4proto tcp th dport 80 dnat to 10\.0\.0\.11:3000/);
  assert.doesNotMatch(rules, /10\.0\.0\.12/); // not ready
  assert.doesNotMatch(rules, /networkpolicy/); // no policy: nothing dropped
});

test('NetworkPolicy: default deny, allowed peers and ports, DNS egress by port, node allowed in', () => {
  const policies = [
    {
      ns: 'default',
      name: 'api',
      spec: {
        podSelector: { matchLabels: { app: 'api' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'http' }] }],
        egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
      },
    },
  ];
  const rules = podRuleset(api, cluster(policies));
  assert.match(rules, /ip saddr 10\.0\.0\.13 meta l4proto tcp th dport 3000 accept/);
  assert.match(rules, /meta l4proto udp th dport 53 accept/);
  assert.match(rules, /ip saddr 10\.0\.0\.1 accept/);
  assert.match(rules, /counter drop comment "networkpolicy-ingress"/);
  assert.match(rules, /counter drop comment "networkpolicy-egress"/);
  // The web pod is not selected: not isolated.
  assert.doesNotMatch(podRuleset(web, cluster(policies)), /networkpolicy/);
});

test('NetworkPolicy: namespaceSelector reaches kube-dns; ipBlock with except; ingress: null denies all', () => {
  const policies = [
    {
      ns: 'default',
      name: 'web',
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: null,
        egress: [
          { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }], ports: [{ port: 53, protocol: 'UDP' }] },
          { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.11/32'] } }] },
        ],
      },
    },
  ];
  const rules = podRuleset(web, cluster(policies));
  assert.match(rules, /ip daddr 10\.0\.0\.10 meta l4proto udp th dport 53 accept/);
  assert.match(rules, /ip daddr 10\.0\.0\.0\/8 ip daddr != 10\.0\.0\.11\/32 accept/);
  const ingress = rules.slice(rules.indexOf('chain ingress'));
  assert.doesNotMatch(ingress, /th dport/);
  assert.match(ingress, /networkpolicy-ingress/);
});

test('env: $(VAR) expansion, fieldRef, and CreateContainerConfigError for a missing key', () => {
  const secrets = new Map([['default/db', { password: 's3cret' }]]);
  const c = {
    env: [
      { name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'URL', value: 'postgres://u:$(PW)@h/db' },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
  };
  const { env } = containerEnv(c, { ...api, ns: 'default' }, { secrets, configMaps: new Map() });
  assert.equal(env.URL, 'postgres://u:s3cret@h/db');
  assert.equal(env.POD, 'api-1');
  const bad = { env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'pass' } } }] };
  assert.throws(() => containerEnv(bad, api, { secrets, configMaps: new Map() }), ConfigError);
  const optional = { env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'nope', key: 'x', optional: true } } }] };
  assert.deepEqual(containerEnv(optional, api, { secrets, configMaps: new Map() }).env, {});
});

test('fields the rehearsal does not act on are listed; unknown kinds are whole', () => {
  const d = {
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: { replicas: 1, strategy: { type: 'RollingUpdate' }, template: { spec: { containers: [{ name: 'c', resources: { requests: { cpu: '1' } } }] } } },
  };
  assert.deepEqual(notActedOn(d).sort(), ['spec.strategy', 'spec.template.spec.containers.resources.requests']);
  assert.equal(notActedOn({ kind: 'PodDisruptionBudget' }), null);
});

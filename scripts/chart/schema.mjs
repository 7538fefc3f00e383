#!/usr/bin/env node
// Generates every chart's values.schema.json from its values.yaml (types inferred from the
// defaults; maps with keys are closed with additionalProperties: false, so a typo'd key is
// rejected) plus the few rules below that a default cannot say (enums, ranges, free maps).
// The umbrella's schema nests each subchart's, so `helm install` rejects typos at any depth.
//   node scripts/chart/schema.mjs          write the files
//   node scripts/chart/schema.mjs --check  fail when a file is not what this script writes
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(process.env.CHAT_REPO ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'charts', 'chat');
const SUBCHARTS = ['auth', 'users', 'chat', 'frontend', 'postgresql', 'redis'];

const str = { type: 'string' };
const quantity = { type: ['string', 'number'], pattern: '^[0-9.]+[a-zA-Z]*$' };
const quantityMap = { type: 'object', additionalProperties: quantity };
const resources = { type: 'object', additionalProperties: false, properties: { requests: quantityMap, limits: quantityMap } };
const stringMap = { type: 'object', additionalProperties: str };
const pullPolicy = { type: 'string', enum: ['', 'Always', 'IfNotPresent', 'Never'] };
const logLevel = { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'verbose'] };
const intOrPercent = {
  anyOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^([0-9]+%?)?$' },
  ],
};

// Rules by path ("*" matches one segment); the first match wins.
const RULES = [
  ['**.resources', resources],
  ['global.migrations.resources', resources],
  ['tests.resources', resources],
  ['**.image.tag', { type: ['string', 'number'] }],
  ['**.image.digest', { type: 'string', pattern: '^(sha256:[a-f0-9]{64})?$' }],
  ['**.image.pullPolicy', pullPolicy],
  ['global.imagePullPolicy', { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'] }],
  ['global.imageTag', { type: ['string', 'number'] }],
  ['global.imagePullSecrets', { type: 'array', items: { type: 'string', minLength: 1 } }],
  ['global.clusterDomain', { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\.?$', maxLength: 253 }],
  ['global.trustProxy', { type: 'integer', minimum: 0, maximum: 10 }],
  ['global.uploads.maxBytes', { type: 'integer', minimum: 1024, maximum: 1073741824 }],
  ['uploads.storage', { type: 'string', enum: ['postgres', 's3'] }],
  ['uploads.concurrency', { type: 'integer', minimum: 1, maximum: 1000 }],
  ['uploads.orphanAgeSeconds', { type: 'integer', minimum: 1, maximum: 31536000 }],
  ['uploads.requestTimeoutSeconds', { type: 'integer', minimum: 10, maximum: 3600 }],
  ['uploads.s3.bucket', { type: 'string', pattern: '^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$' }],
  ['uploads.s3.endpoint', { type: 'string', pattern: '^(https?://.+)?$' }],
  ['global.database.port', { type: 'integer', minimum: 1, maximum: 65535 }],
  ['global.redis.port', { type: 'integer', minimum: 1, maximum: 65535 }],
  ['global.database.name', { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]{0,62}$' }],
  ['global.database.user', { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]{0,62}$' }],
  ['global.fullnameOverride', { type: 'string', pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$', maxLength: 40 }],
  ['global.migrations.attempts', { type: 'integer', minimum: 1, maximum: 1000 }],
  ['**.logLevel', logLevel],
  ['replicaCount', { type: 'integer', minimum: 1 }],
  ['terminationGracePeriodSeconds', { type: 'integer', minimum: 1, maximum: 3600 }],
  ['preStopSleepSeconds', { type: 'integer', minimum: 0, maximum: 300 }],
  ['databasePoolSize', { type: 'integer', minimum: 1, maximum: 200 }],
  ['sendRateLimit', { type: 'integer', minimum: 1 }],
  ['sendBatchMax', { type: 'integer', minimum: 1, maximum: 1000 }],
  ['accessTokenTtlSeconds', { type: 'integer', minimum: 30, maximum: 86400 }],
  ['refreshTokenTtlSeconds', { type: 'integer', minimum: 300, maximum: 31536000 }],
  // A room name (1 to 80 characters, not only spaces), or empty for none.
  ['defaultRoom', { type: 'string', maxLength: 80, pattern: '^(|.*\\S.*)$' }],
  ['extraEnv', { type: 'object', propertyNames: { pattern: '^[A-Z][A-Z0-9_]*$' }, additionalProperties: { type: ['string', 'number', 'boolean'] } }],
  ['securityContext.*', { type: 'integer', minimum: 1 }],
  ['probes.*.*', { type: 'integer', minimum: 1 }],
  ['autoscaling.minReplicas', { type: 'integer', minimum: 1 }],
  ['autoscaling.maxReplicas', { type: 'integer', minimum: 1 }],
  ['autoscaling.targetCPUUtilizationPercentage', { type: 'integer', minimum: 1, maximum: 100 }],
  ['autoscaling.targetMemoryUtilizationPercentage', { type: 'integer', minimum: 0, maximum: 100 }],
  ['pdb.minAvailable', intOrPercent],
  ['pdb.maxUnavailable', intOrPercent],
  ['topologySpread.whenUnsatisfiable', { type: 'string', enum: ['ScheduleAnyway', 'DoNotSchedule'] }],
  ['service.type', { type: 'string', enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }],
  ['service.port', { type: 'integer', minimum: 1, maximum: 65535 }],
  [
    'service.nodePort',
    {
      anyOf: [
        { type: 'integer', const: 0 },
        { type: 'integer', minimum: 30000, maximum: 32767 },
      ],
    },
  ],
  ['networkPolicy.ingressFrom', { type: 'array', items: { type: 'object' } }],
  ['networkPolicy.metricsNamespaceSelector', { type: 'object' }],
  ['**.labels', stringMap],
  ['**.annotations', stringMap],
  ['podAnnotations', stringMap],
  ['podLabels', stringMap],
  ['nodeSelector', stringMap],
  ['global.commonLabels', stringMap],
  ['global.commonAnnotations', stringMap],
  ['global.namespaceOverride', { type: 'string', pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$', maxLength: 63 }],
  ['global.compatibility.openshift.adaptSecurityContext', { type: 'string', enum: ['auto', 'force', 'disabled'] }],
  ['extraVolumes', { type: 'array', items: { type: 'object', required: ['name'] } }],
  ['extraVolumeMounts', { type: 'array', items: { type: 'object', required: ['name', 'mountPath'] } }],
  ['tolerations', { type: 'array', items: { type: 'object' } }],
  ['workerProcesses', { type: 'integer', minimum: 1, maximum: 64 }],
  ['maxMemory', { type: 'string', pattern: '^[0-9]+(b|k|kb|m|mb|g|gb)?$' }],
  ['cnpg.instances', { type: 'integer', minimum: 1 }],
  ['ingress.host', { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }],
  ['httpRoute.parentRefs', { type: 'array', items: { type: 'object', required: ['name'], properties: { name: str } } }],
  ['httpRoute.hostnames', { type: 'array', items: str }],
  ['tests.timeoutMs', { type: 'integer', minimum: 1000 }],
  ['**.size', { type: 'string', pattern: '^[0-9]+(Mi|Gi|Ti)$' }],
  ['monitoring.dashboards.namespace', { type: 'string', pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$', maxLength: 63 }],
  ['monitoring.alerts.for.*', { type: 'string', pattern: '^([0-9]+(ms|s|m|h|d|w|y))+$' }],
  ['monitoring.alerts.thresholds.http5xxRatio', { type: 'number', exclusiveMinimum: 0, maximum: 1 }],
  ['monitoring.alerts.thresholds.volumeAvailableRatio', { type: 'number', exclusiveMinimum: 0, maximum: 1 }],
  ['monitoring.alerts.thresholds.*', { type: 'number', exclusiveMinimum: 0 }],
];

function matches(pattern, path) {
  const p = pattern.split('.');
  const s = path.split('.');
  if (p[0] === '**') return s.length >= p.length - 1 && matches(p.slice(1).join('.'), s.slice(s.length - (p.length - 1)).join('.'));
  if (p.length !== s.length) return false;
  return p.every((seg, i) => seg === '*' || seg === s[i]);
}

function infer(value, path) {
  const rule = RULES.find(([pattern]) => matches(pattern, path));
  if (rule) return structuredClone(rule[1]);
  if (Array.isArray(value)) return { type: 'array' };
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return { type: 'object' };
    const properties = {};
    for (const k of keys) properties[k] = infer(value[k], path ? `${path}.${k}` : k);
    return { type: 'object', additionalProperties: false, properties };
  }
  if (typeof value === 'boolean') return { type: 'boolean' };
  if (Number.isInteger(value)) return { type: 'integer' };
  if (typeof value === 'number') return { type: 'number' };
  return { type: 'string' };
}

function chartSchema(dir, title) {
  const values = parse(readFileSync(join(dir, 'values.yaml'), 'utf8')) ?? {};
  const schema = infer(values, '');
  return { $schema: 'http://json-schema.org/draft-07/schema#', title, ...schema };
}

const outputs = {};
const sub = {};
for (const name of SUBCHARTS) {
  const s = chartSchema(join(root, 'charts', name), `chat/${name} values`);
  s.properties.global = { type: 'object' };
  s.properties.common = { type: 'object' }; // the library dependency's (empty) section
  outputs[join(root, 'charts', name, 'values.schema.json')] = s;
  sub[name] = s;
}
const umbrella = chartSchema(root, 'chat values');
for (const name of SUBCHARTS) {
  const { $schema: _s, title: _t, ...rest } = sub[name];
  umbrella.properties[name] = structuredClone(rest);
}
// global is shared with whatever embeds or deploys the chart (Rancher's global.cattle.*, a
// parent chart's own globals): open to unknown keys, while ours (global.database...) stay typed
// and closed below the top.
umbrella.properties.global.additionalProperties = true;
// Helm validates the coalesced values: the library chart's (empty) section is there too.
umbrella.properties.common = { type: 'object' };
outputs[join(root, 'values.schema.json')] = umbrella;

const check = process.argv.includes('--check');
let stale = 0;
for (const [file, schema] of Object.entries(outputs)) {
  const text = `${JSON.stringify(schema, null, 2)}\n`;
  if (check) {
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
      console.log(`FAIL schema: ${file} is stale; run node scripts/chart/schema.mjs`);
      stale++;
    }
  } else writeFileSync(file, text);
}
if (check && !stale) console.log(`PASS schema: ${Object.keys(outputs).length} values.schema.json files match values.yaml`);
process.exit(stale ? 1 : 0);
